// binding.js: loads the native addon (build/Release/cffi.node, or the Debug build when
// CFFI_DEBUG_BUILD is set) and says how to build it when it is missing.
"use strict";
const path = require("node:path");

function load() {
  const root = path.join(__dirname, "..", "build");
  const order = process.env.CFFI_DEBUG_BUILD ? ["Debug", "Release"] : ["Release", "Debug"];
  let firstError;
  for (const dir of order) {
    try {
      return require(path.join(root, dir, "cffi.node"));
    } catch (e) {
      if (e.code !== "MODULE_NOT_FOUND") throw e;
      firstError ??= e;
    }
  }
  const err = new Error("cffi: the native addon is not built. Run `npm install` (or `npm run build`) in " +
    path.join(__dirname, ".."));
  err.cause = firstError;
  throw err;
}

module.exports = load();
