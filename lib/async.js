// async.js: fn.async() (SPEC 6). `callAsync` is what every `.async` ends in (lib/library.js
// loads this module on the first one): the arguments are already in the shared buffer; the native side
// (src/async.c) copies them into a job, runs the C function on the libuv pool and settles the
// promise. While calls are in flight the library stays loaded: `owner.inflight` counts them
// and the last one to settle performs a close() that was deferred because of them. As on the
// synchronous path, nothing user code can replace runs between the writer and the native call
// (lib/abi.js), and settling uses no Promise method either: the native side calls `settle`.
"use strict";
const { binding, later, compiledFor, rejected } = require("./abi.js");
const { T, VARIADIC } = require("./types.js");
const { pin, unpin } = require("./library.js");

// A signature's `.async` parts, { write(a0, ...), read() }, compiled on its first `.async` call.
const asyncParts = (sig) => compiledFor(later().jsAsync, sig);

// JSCallbacks passed as `function` arguments stay alive until the call settles, even if the
// caller closes them meanwhile (JSCallback, lib/library.js): the C function may still call them.
function pinCallbacks(sig, args) {
  let pinned = null;
  // (k: the declared type of args[i]; a variadic declaration's "..." is no argument)
  for (let i = 0, k = 0; i < args.length && k < sig.args.length; i++, k++) {
    if (sig.args[k] === VARIADIC) k++;
    const a = args[i];
    // pin() tells a JSCallback by its private field: no instanceof, no Symbol.hasInstance
    if (sig.args[k] === T.function && a !== null && typeof a === "object" && pin(a)) {
      if (pinned === null) pinned = [a];
      else pinned[pinned.length] = a;
    }
  }
  return pinned;
}

// Function `index` of the batch `handle` (lib/library.js), with its arguments in the buffer
// and `args` the array of them (the native side reads views and strings from it). The native
// side calls `settle` once C has returned, just before it settles the promise.
function callAsync(handle, index, read, sig, owner, args) {
  let pinned = null;
  const settle = () => {
    if (pinned !== null) for (let i = 0; i < pinned.length; i++) unpin(pinned[i]);
    if (--owner.inflight === 0 && owner.closed && owner.handle) binding.close(owner.handle);
  };
  let p;
  try {
    p = later().callAsync(handle, index, read, args, settle);
  } catch (e) {
    return rejected(e);
  }
  owner.inflight++;
  pinned = pinCallbacks(sig, args);
  return p;
}

module.exports = { callAsync, asyncParts };
