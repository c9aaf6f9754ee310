// sqlite-version.js: the first example of Bun's bun:ffi documentation, unchanged except that it
// loads cffi instead of "bun:ffi". Prints the version of the system SQLite library
// (libsqlite3.so; on Debian it comes with the libsqlite3-dev package).
// Run from the repository root: node examples/sqlite-version.js
"use strict";
const { dlopen, FFIType, suffix } = require("cffi");

// `suffix` is either "dylib", "so", or "dll" depending on the platform
// you don't have to use "suffix", it's just there for convenience
const path = `libsqlite3.${suffix}`;

const {
  symbols: {
    sqlite3_libversion, // the function to call
  },
} = dlopen(
  path, // a library name or file path
  {
    sqlite3_libversion: {
      // no arguments, returns a string
      args: [],
      returns: FFIType.cstring,
    },
  },
);

console.log(`SQLite 3 version: ${sqlite3_libversion()}`);
