// callback.js: JSCallback (SPEC §8). The native side (src/callback.c) gives the function a
// C address, `.ptr` (a libffi closure, later a compiled trampoline, behind a stable stub);
// when C calls it, the per-signature wrapper from lib/codegen.js reads the C arguments from the
// shared buffer and calls `fn`.
"use strict";
const { binding } = require("./abi.js");
const { readSignature } = require("./types.js");
const { makeCallbackWrapper } = require("./codegen.js");

class JSCallback {
  #handle = null;

  constructor(fn, def) {
    if (def === null || typeof def !== "object") throw new TypeError("Expected object");
    if (typeof fn !== "function") throw new TypeError("Expected callback function");
    const sig = readSignature(def, "callback");
    const threadsafe = !!def.threadsafe;
    const wrapper = makeCallbackWrapper(sig)(fn);
    const [handle, address] = binding.callback(wrapper, sig.returns, sig.args, threadsafe);
    this.#handle = handle;
    this.ptr = address;
    this.threadsafe = threadsafe;
  }

  close() {
    if (this.#handle === null) return;
    const h = this.#handle;
    this.#handle = null;
    this.ptr = null;
    binding.callbackClose(h);
  }

  [Symbol.toPrimitive]() {
    return this.ptr ?? 0;
  }
}

if (typeof Symbol.dispose === "symbol") {
  JSCallback.prototype[Symbol.dispose] = function dispose() {
    this.close();
  };
}

module.exports = { JSCallback };
