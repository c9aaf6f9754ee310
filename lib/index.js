// index.js: the cffi package: the bun:ffi API for Node.js (SPEC). Gathers the exports of the
// other modules; `index.mjs` re-exports this object for ESM.
"use strict";
const { binding } = require("./abi.js");
const { FFIType } = require("./types.js");
const { dlopen, linkSymbols, CFunction, viewSource } = require("./library.js");
const { JSCallback } = require("./callback.js");
const { ptr, read, toArrayBuffer, toBuffer, CString } = require("./memory.js");

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

function cc() {
  throw new Error("cffi: cc() is not available yet (planned, see SPEC §15)");
}

function errno() {
  return binding.errno();
}

module.exports = {
  FFIType, dlopen, linkSymbols, CFunction, JSCallback, ptr, read, toArrayBuffer, toBuffer,
  CString, viewSource, suffix, native, cc, errno,
};
try { require("./async.js"); } catch (e) { if (e.code !== "MODULE_NOT_FOUND" || !/async\.js/.test(e.message)) throw e; }
