// callback.js: JSCallback (SPEC §8). The native side (src/callback.c) gives the function a
// C address, `.ptr` (a libffi closure, later a compiled trampoline, behind a stable stub);
// when C calls it, the per-signature wrapper (makeCallbackWrapper) reads the C arguments from the
// shared buffer and calls `fn`.
"use strict";
const { binding, compiledFor } = require("./abi.js");
const { readSignature, T } = require("./types.js");

// (userFn) -> the function native code calls for a JSCallback of `sig`: reads the C arguments
// from the buffer, calls userFn, writes its result into slot 0. One per signature.
const makeCallbackWrapper = (sig) => compiledFor(binding.jsCallback, sig);

// pin(cb) / unpin(cb): an `.async` call that was given `cb` keeps its native side alive until
// the call settles, because the C function may still call it after the JS caller closed it.
let pin, unpin;

class JSCallback {
  #handle = null;
  #pins = 0;       // .async calls in flight that were passed this callback
  #closing = false; // close() was called while pinned: free when the last pin goes

  constructor(fn, def) {
    if (def === null || typeof def !== "object") throw new TypeError("Expected object");
    if (typeof fn !== "function") throw new TypeError("Expected callback function");
    const sig = readSignature(def, "callback");
    // A pointer result given as a view is converted by lib/memory.js's ptr()
    // (abi.helpers.addressOf): loaded before such a callback can run, so a callback's result
    // never waits for require. Other callbacks do not need it (loading it cost ~0.7 ms).
    if (sig.returns === T.ptr || sig.returns === T.cstring) require("./memory.js");
    const threadsafe = !!def.threadsafe;
    const wrapper = makeCallbackWrapper(sig)(fn);
    const [handle, address] = binding.callback(wrapper, sig.returns, sig.args, threadsafe);
    this.#handle = handle;
    this.ptr = address;
    this.threadsafe = threadsafe;
  }

  close() {
    if (this.#handle === null || this.#closing) return;
    this.ptr = null;
    if (this.#pins > 0) {
      this.#closing = true;
      return;
    }
    const h = this.#handle;
    this.#handle = null;
    binding.callbackClose(h);
  }

  static {
    pin = (cb) => {
      if (!(#handle in cb) || cb.#handle === null || cb.#closing) return false;
      cb.#pins++;
      return true;
    };
    unpin = (cb) => {
      if (--cb.#pins === 0 && cb.#closing) {
        cb.#closing = false;
        cb.close();
      }
    };
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

module.exports = { JSCallback, pin, unpin };
