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
// A sibling is compiled from the V8 code cache the package ships when the cache's copy of its
// source is the same text: jscache/<arch>-<V8 version>/ (build/jscache/ in a clone), written
// by scripts/jscache.js at pack time for each Node.js release it was run with, and by
// `npm run build`. V8 then deserializes the module's bytecode instead of parsing it:
// require("cffi") -0.06 to -0.29 ms on Node 20, -0.37 to -0.53 on Node 24, -0.38 to -0.63 on
// Node 26 here (paired medians, series of 15-31; it reads two more files per module). A cache
// V8 refuses (other V8 flags) costs a normal compile; an edited lib/ file is compiled as usual.
// CFFI_DEBUG_JSCACHE=1 prints, per module, which happened.
//
// Node's built-in modules ("node:fs", ...) come from process.getBuiltinModule where Node has it
// (>= 20.16 and 22.3), here and for the siblings' require(): the first require() of a
// built-in from user code runs Node's loader path for them for the first time, ~80 us of
// require("cffi") on Node 20 (process.getBuiltinModule("node:fs"): ~11 us).
"use strict";
const ReflectApply = Reflect.apply;
const getBuiltinModule = typeof process.getBuiltinModule === "function" ? process.getBuiltinModule : undefined;
const builtin = (id) => (getBuiltinModule !== undefined && ReflectApply(getBuiltinModule, process, [id])) || require(id);
const { readFileSync, existsSync } = builtin("node:fs");

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
    compile(m, name, filename);
    ok = true;
  } finally {
    if (!ok) delete require.cache[filename];
  }
  m.loaded = true;
  return m.exports;
});

// The code cache: <base>/lib/<module>, the sources as compiled, and V8's cache of each in
// <base>/<arch>-<V8 version>/<module>.bin. `undefined` until the first sibling is loaded, then
// the folder that has one for this Node.js, or null.
let jsCache;
let debugJsCache = false;
// Node.js options that are not V8 flags (the arguments of those that take one do not start with
// "-"): eval/print, preloading, ESM loaders, source maps, warnings, the inspector, --env-file,
// --watch, --test's own, --conditions, --input-type, --title, --unhandled-rejections. A
// dictionary, not a regular expression: V8 compiled that one on its first use, ~140 us. Made
// (and compiled) only when Node.js has options.
function nodeOnlyOptions() {
  return {
    __proto__: null, "-e": true, "-r": true, "-p": true, "-C": true, "--eval": true, "--print": true,
    "--require": true, "--import": true, "--loader": true, "--experimental-loader": true,
    "--enable-source-maps": true, "--no-warnings": true, "--no-deprecation": true, "--trace-warnings": true,
    "--trace-uncaught": true, "--env-file": true, "--conditions": true, "--input-type": true, "--inspect": true,
    "--inspect-brk": true, "--inspect-port": true, "--inspect-wait": true, "--watch": true, "--watch-path": true,
    "--title": true, "--unhandled-rejections": true, "--test": true, "--test-reporter": true,
    "--test-reporter-destination": true,
  };
}
// existsSync throws under Node's permission model for a path the process may not read (Node
// 20): that folder has no cache for us.
const exists = (function exists(file) {
  try {
    return existsSync(file);
  } catch {
    return false;
  }
});

const findJsCache = (function findJsCache() {
  const key = `${process.arch}-${process.versions.v8}`;
  debugJsCache = !!process.env.CFFI_DEBUG_JSCACHE;
  // With V8 flags (on the command line or in NODE_OPTIONS: --max-old-space-size,
  // --stack-trace-limit, --expose-gc, ...) V8 refuses every cache, and trying cost require()
  // ~1 ms more than not: Node compiles its own modules (node:vm here) from source then too.
  // So the cache is tried only when every option is one of Node's own that leaves V8's flags
  // alone; any other option, even a harmless one, means lib/ is compiled as usual.
  const opts = process.env.NODE_OPTIONS;
  const args = opts ? [...process.execArgv, ...opts.split(" ")] : process.execArgv;
  const nodeOnly = args.length > 0 ? nodeOnlyOptions() : null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    if (arg[0] === "-" && nodeOnly[eq < 0 ? arg : arg.slice(0, eq)] !== true) {
      if (debugJsCache) process._rawDebug(`cffi: option ${arg.slice(0, 40)} may be a V8 flag, with which V8 refuses the code cache: lib/ is compiled from source`);
      return null;
    }
  }
  const base = [`${__dirname}/../jscache`, `${__dirname}/../build/jscache`].find((d) => exists(`${d}/${key}`));
  if (base === undefined) {
    if (debugJsCache) process._rawDebug(`cffi: no code cache jscache/${key}: lib/ is compiled from source`);
    return null;
  }
  return { sources: `${base}/lib`, caches: `${base}/${key}` };
});

// Compiles and runs sibling `name` into module `m`: from the code cache when it has this very
// source, else with Node's own Module#_compile. The wrapper is CommonJS's own (scripts/jscache.js
// writes the cache with the same one: V8 refuses a cache made for another source length).
const compile = (function compile(m, name, filename) {
  const where = jsCache === undefined ? (jsCache = findJsCache()) : jsCache;
  // (a missing file: readFileSync's own error)
  const source = read(filename, true) ?? readFileSync(filename, "utf8");
  let cached = null;
  if (where !== null) {
    if (read(`${where.sources}/${name}`, true) === source) cached = read(`${where.caches}/${name}.bin`, false) ?? null;
    else if (debugJsCache) process._rawDebug(`cffi: lib/${name} differs from the code cache's copy (or it has none): compiled from source`);
  }
  if (cached === null) return m._compile(source, filename);
  const { Script } = builtin("node:vm");
  const script = new Script(`${WRAPPER}${source}${WRAPPER_END}`, { filename, cachedData: cached });
  // refused: V8 runs with other flags (or is not the one that wrote it), and would refuse the
  // other modules' caches too; they are compiled as usual, without reading them
  if (script.cachedDataRejected) jsCache = null;
  if (debugJsCache) process._rawDebug(`cffi: lib/${name}: code cache ${script.cachedDataRejected ? "refused by V8: compiled from source" : "used"}`);
  const require = function require(id) {
    return ReflectApply(siblingRequire, m, [id]);
  };
  ReflectApply(script.runInThisContext(), m.exports, [m.exports, require, m, filename, __dirname]);
});
// How compile() reads a file, as a string (text) or a Buffer, undefined when it cannot: fs until
// lib/abi.js has loaded the addon, then the addon's own read (binding.readFile says why).
let read = (function readFs(file, text) {
  try {
    return text ? readFileSync(file, "utf8") : readFileSync(file);
  } catch {
    return undefined;
  }
});
const WRAPPER = "(function (exports, require, module, __filename, __dirname) { ";
const WRAPPER_END = "\n});";

const siblingRequire = (function siblingRequire(id) {
  if (typeof id === "string") {
    if (id.startsWith("./") && SIBLINGS[id.slice(2)] !== undefined) return sibling(id.slice(2));
    if (id.startsWith("node:")) return builtin(id);
  }
  return ReflectApply(plainRequire, this, [id]);
});

const { later, ptr, binding } = sibling("abi.js");
read = binding.readFile;
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
