// index.mjs: ESM entry point. Named exports and the default export are the CommonJS exports.
import { createRequire } from "node:module";

const cffi = createRequire(import.meta.url)("./lib/index.js");

export default cffi;
export const {
  FFIType, dlopen, linkSymbols, CFunction, JSCallback, ptr, read, toArrayBuffer, toBuffer,
  CString, viewSource, suffix, native, cc, errno, struct, union, array,
} = cffi;
