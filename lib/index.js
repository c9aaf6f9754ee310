// index.js: the cffi package: the bun:ffi API for Node.js (SPEC). Gathers the exports of the
// other modules; `index.mjs` re-exports this object for ESM. The memory helpers other than
// ptr() and the layout types (struct, union, array) are loaded on first use, cc() on its first
// call.
//
// lib/'s modules load each other through `sibling()`: what require() does for them (a Module
// in require.cache under the same file name, compiled and run by Node's own Module#_compile),
// without require()'s resolution (stat, realpath, package scope, extension lookup): in fresh
// processes require("cffi") went from 3.66 to 3.19 ms (medians of 21). A module's own require()
// of a sibling ("./x.js") comes here too (its `module.require`); anything else, and a Node
// without Module#_compile, uses require().
//
// Node's built-in modules ("node:fs", ...) come from process.getBuiltinModule where Node has it
// (>= 20.16 and 22.3), here and for the siblings' require(): the first require() of a
// built-in from user code runs Node's loader path for them for the first time, ~80 us of
// require("cffi") on Node 20 (process.getBuiltinModule("node:fs"): ~11 us).
"use strict";
const ReflectApply = Reflect.apply;
const getBuiltinModule = typeof process.getBuiltinModule === "function" ? process.getBuiltinModule : undefined;
const builtin = (id) => (getBuiltinModule !== undefined && ReflectApply(getBuiltinModule, process, [id])) || require(id);
const { readFileSync } = builtin("node:fs");

const ModuleCtor = module.constructor;
// Each sibling also as a plain require() with a literal name: where `module` is not Node's
// (a bundler's or a test runner's module system) that is what runs, and what they can see.
const SIBLINGS = {
  __proto__: null,
  "abi.js": () => require("./abi.js"),
  "types.js": () => require("./types.js"),
  "library.js": () => require("./library.js"),
  "memory.js": () => require("./memory.js"),
  "async.js": () => require("./async.js"),
  "cc.js": () => require("./cc.js"),
  "layout.js": () => require("./layout.js"),
};
const nodeModules = typeof ModuleCtor === "function" && ModuleCtor.prototype !== undefined &&
  typeof ModuleCtor.prototype._compile === "function" && typeof ModuleCtor.prototype.require === "function" &&
  require.cache !== null && typeof require.cache === "object";
const plainRequire = nodeModules ? ModuleCtor.prototype.require : null;

const sibling = (function sibling(name) { // parenthesized: compiled with this module (lib/abi.js says why)
  if (!nodeModules) return SIBLINGS[name]();
  const filename = `${__dirname}/${name}`;
  const done = require.cache[filename];
  if (done) return done.exports;
  const m = new ModuleCtor(filename, module);
  m.filename = filename;
  m.paths = module.paths; // the same directory
  m.require = siblingRequire;
  require.cache[filename] = m;
  let ok = false;
  try {
    m._compile(readFileSync(filename, "utf8"), filename);
    ok = true;
  } finally {
    if (!ok) delete require.cache[filename];
  }
  m.loaded = true;
  return m.exports;
});

const siblingRequire = (function siblingRequire(id) {
  if (typeof id === "string") {
    if (id.startsWith("./") && SIBLINGS[id.slice(2)] !== undefined) return sibling(id.slice(2));
    if (id.startsWith("node:")) return builtin(id);
  }
  return ReflectApply(plainRequire, this, [id]);
});

const { later, ptr } = sibling("abi.js");
const { FFIType } = sibling("types.js");
const { dlopen, linkSymbols, CFunction, viewSource, JSCallback } = sibling("library.js");

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
  return (ccModule ??= sibling("cc.js")).cc(options);
}

function errno() {
  return later().errno();
}

module.exports = { FFIType, dlopen, linkSymbols, CFunction, viewSource, JSCallback, ptr, suffix, native, cc, errno };

// Lazily loaded exports: an enumerable getter that loads the module once.
const lazy = (function lazy(names, file) {
  let mod = null;
  for (const name of names) {
    Object.defineProperty(module.exports, name, {
      enumerable: true,
      configurable: true,
      get: () => (mod ??= sibling(file))[name],
    });
  }
});
lazy(["read", "toArrayBuffer", "toBuffer", "CString"], "memory.js");
lazy(["struct", "union", "array"], "layout.js");
