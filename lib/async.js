// async.js: fn.async() (SPEC §6). `callAsync` is what every `.async` ends in (lib/library.js
// loads this module on the first one): the arguments are already in the shared buffer; the native side
// (src/async.c) copies them into a job, runs the C function on the libuv pool and settles the
// promise. While calls are in flight the library stays loaded: `owner.inflight` counts them
// and the last one to settle performs a close() that was deferred because of them.
"use strict";
const { binding, compiledFor } = require("./abi.js");
const { T } = require("./types.js");

// A signature's `.async` parts, [writer, reader, whether the writer takes the argument
// count], compiled on its first `.async` call.
const asyncParts = (sig) => compiledFor(binding.jsAsync, sig);

// JSCallbacks passed as `function` arguments stay alive until the call settles, even if the
// caller closes them meanwhile (lib/callback.js): the C function may still call them.
function pinCallbacks(sig, args) {
  let pinned = null;
  for (let i = 0; i < args.length && i < sig.args.length; i++) {
    const a = args[i];
    if (sig.args[i] === T.function && a !== null && typeof a === "object") {
      const { JSCallback, pin } = require("./callback.js");
      if (a instanceof JSCallback && pin(a)) (pinned ??= []).push(a);
    }
  }
  return pinned;
}

// Function `index` of the batch `handle` (lib/library.js), with its arguments in the buffer.
function callAsync(handle, index, read, sig, owner, args) {
  let p;
  try {
    p = binding.callAsync(handle, index, read, ...args);
  } catch (e) {
    return Promise.reject(e);
  }
  owner.inflight++;
  const pinned = pinCallbacks(sig, args);
  const settle = () => {
    if (pinned) for (const cb of pinned) require("./callback.js").unpin(cb);
    if (--owner.inflight === 0 && owner.closed && owner.handle) binding.close(owner.handle);
  };
  return p.then((v) => {
    settle();
    return v;
  }, (e) => {
    settle();
    throw e;
  });
}

module.exports = { callAsync, asyncParts };
