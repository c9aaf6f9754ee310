// codegen.js: compiles the JS half of the shared-buffer convention, whose source the native
// side writes (src/jsgen.c), and gives each function its per-function state.
//  - bindBatch(calls, source, sigs, closedError, tierUp, threshold, callAsync): the functions
//    of one batch (dlopen, linkSymbols or CFunction). `fn(a0, …)` writes its arguments into
//    the buffer, calls its native entry and reads the result. Until `swap(entry)` names the
//    fast entry (a JIT trampoline, or the libffi call itself when there is none), calls go
//    through the libffi entry and are counted; the `threshold`-th calls `tierUp()`, which
//    compiles the batch and swaps. The fast entry's call site only ever sees one target, so
//    V8 can call it directly. After `close()`, `fn` throws `closedError()` and `async`
//    rejects with it. The `.async` writer and reader of a signature are compiled on its first
//    `.async` call.
//  - makeCallbackWrapper(sig): (userFn) -> the function native code calls for a JSCallback:
//    reads the C arguments from the buffer, calls userFn, writes its result into slot 0.
// A batch is compiled by one `new Function` (each costs a fixed amount) and every function in
// it has code of its own, so its call sites stay monomorphic.
"use strict";
const abi = require("./abi.js");

const helpers = {
  ...abi,
  addressOf(v) {
    return require("./memory.js").ptr(v);
  },
};

function bindBatch(calls, source, sigs, closedError, tierUp, threshold, callAsync) {
  const n = calls.length;
  let isClosed = false;
  const slows = new Array(n);
  for (let i = 0; i < n; i++) {
    const call = calls[i];
    let count = 0;
    slows[i] = (...args) => {
      if (++count >= threshold && !isClosed) tierUp();
      return call(...args);
    };
  }
  const [fns, set] = new Function("H", "S", source)(helpers, slows);
  const asyncs = new Array(n);
  for (let i = 0; i < n; i++) {
    asyncs[i] = (...args) => {
      if (isClosed) return Promise.reject(closedError());
      const [w, read, withCount] = asyncParts(sigs[i]);
      try {
        if (withCount) w(args.length, ...args);
        else w(...args);
      } catch (e) {
        return Promise.reject(e);
      }
      return callAsync(i, read, args);
    };
  }
  return {
    fns,
    asyncs,
    swap(i, entry) {
      if (!isClosed) set(i, entry);
    },
    close() {
      isClosed = true;
      const thrower = () => { throw closedError(); };
      for (let i = 0; i < n; i++) set(i, thrower);
    },
  };
}

const sigKey = (sig) => `${sig.returns}:${sig.args.join(",")}`;

// A signature's `.async` parts, [writer, reader, whether the writer takes the argument
// count], compiled on its first `.async` call.
const asyncMakers = new Map();
function asyncParts(sig) {
  const key = sigKey(sig);
  let parts = asyncMakers.get(key);
  if (!parts) {
    parts = new Function("H", abi.binding.jsAsync(sig.returns, sig.args))(helpers);
    asyncMakers.set(key, parts);
  }
  return parts;
}

const callbackMakers = new Map();

function makeCallbackWrapper(sig) {
  const key = sigKey(sig);
  let make = callbackMakers.get(key);
  if (!make) {
    make = new Function("H", abi.binding.jsCallback(sig.returns, sig.args))(helpers);
    callbackMakers.set(key, make);
  }
  return make;
}

module.exports = { bindBatch, makeCallbackWrapper };
