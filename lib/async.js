// async.js: fn.async() (SPEC §6). `callAsync` is what every `.async` ends in (lib/library.js
// loads this module on the first one): the arguments are already in the shared buffer; the native side
// (src/async.c) copies them into a job, runs the C function on the libuv pool and settles the
// promise. While calls are in flight the library stays loaded: `owner.inflight` counts them
// and the last one to settle performs a close() that was deferred because of them.
"use strict";
const { binding } = require("./abi.js");

function settle(owner) {
  if (--owner.inflight === 0 && owner.closed && owner.handle) binding.close(owner.handle);
}

function callAsync(call, read, sig, owner, args) {
  let p;
  try {
    p = binding.callAsync(call, read, ...args);
  } catch (e) {
    return Promise.reject(e);
  }
  owner.inflight++;
  return p.then((v) => {
    settle(owner);
    return v;
  }, (e) => {
    settle(owner);
    throw e;
  });
}

module.exports = { callAsync };
