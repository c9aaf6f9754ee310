// index.js: the cffi package: the bun:ffi API for Node.js (SPEC). Gathers the exports of the
// other modules; `index.mjs` re-exports this object for ESM. The memory helpers and the layout
// types (struct, union, array) are loaded on first use, cc() on its first call (each module
// costs a few hundred µs at require time).
"use strict";
const { binding } = require("./abi.js");
const { FFIType } = require("./types.js");
const { dlopen, linkSymbols, CFunction, viewSource, JSCallback } = require("./library.js");

const suffix = process.platform === "darwin" ? "dylib" : process.platform === "win32" ? "dll" : "so";

const native = {
  dlopen(p, symbols) {
    try {
      return dlopen(p, symbols);
    } catch (e) {
      return e;
    }
  },
  callback() {
    throw new Error("Deprecated. Use new JSCallback(options, fn) instead");
  },
};

// lib/cc.js, loaded on the first cc() call.
let ccModule = null;
function cc(options) {
  return (ccModule ??= require("./cc.js")).cc(options);
}

function errno() {
  return binding.errno();
}

module.exports = { FFIType, dlopen, linkSymbols, CFunction, viewSource, JSCallback, suffix, native, cc, errno };

// Lazily loaded exports: an enumerable getter that loads the module once.
function lazy(names, file) {
  let mod = null;
  for (const name of names) {
    Object.defineProperty(module.exports, name, {
      enumerable: true,
      configurable: true,
      get: () => (mod ??= require(file))[name],
    });
  }
}
lazy(["ptr", "read", "toArrayBuffer", "toBuffer", "CString"], "./memory.js");
lazy(["struct", "union", "array"], "./layout.js");
