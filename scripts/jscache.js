#!/usr/bin/env node
// jscache.js: writes the V8 code cache of lib/'s modules for the Node.js that runs it. When a
// module's source is the one the cache was made from, lib/index.js compiles it from the cache:
// V8 deserializes its bytecode instead of parsing it (require("cffi") -0.06 to -0.29 ms on
// Node 20, -0.37 to -0.63 ms on Node 24 and 26 here).
//
//   node scripts/jscache.js [--root=DIR] [--out=DIR]
//
// --root: the clone or staged package whose lib/ it reads (default: this clone); --out: the
// folder it writes (default: <root>/build/jscache, where a clone's lib/index.js looks; a package
// has it as jscache/). It writes <out>/lib/, a copy of the sources as compiled (what
// lib/index.js compares lib/'s files with), and <out>/<arch>-<V8 version>/<module>.bin, the
// caches, which only that V8 version accepts, and only with the V8 flags they were made with
// (else lib/index.js compiles as usual). Every cache in <out> is made from the sources in
// <out>/lib/: when those change, the caches of other versions there are removed.
// `npm run build` runs it for the Node.js that built the addon, scripts/package.js for every
// Node.js release it finds, bench/setup.js for the bench's other runtimes.
//
// Each module is compiled, not run: a cache made after running a usual program (so that it
// also held the functions that program compiled) made require() no faster, and moved V8's
// baseline compiles into a program's first calls.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const arg = (name, dflt) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? path.resolve(a.slice(name.length + 3)) : dflt;
};
const root = arg("root", path.resolve(__dirname, ".."));
const outDir = arg("out", path.join(root, "build", "jscache"));
const libDir = path.join(root, "lib");
// lib/index.js's WRAPPER and WRAPPER_END: V8 refuses a cache made for a source of another length.
const WRAPPER = "(function (exports, require, module, __filename, __dirname) { ";
const WRAPPER_END = "\n});";

// lib/index.js's siblings (it is itself loaded by require(), without a cache).
const modules = fs.readdirSync(libDir).filter((f) => f.endsWith(".js") && f !== "index.js").sort();
const sources = new Map(modules.map((name) => [name, fs.readFileSync(path.join(libDir, name), "utf8")]));
const copyDir = path.join(outDir, "lib");
const sameCopy = (name) => {
  try {
    return fs.readFileSync(path.join(copyDir, name), "utf8") === sources.get(name);
  } catch {
    return false;
  }
};
if (![...sources.keys()].every(sameCopy) || fs.readdirSync(copyDir).length !== sources.size) {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(copyDir, { recursive: true });
  for (const [name, source] of sources) fs.writeFileSync(path.join(copyDir, name), source);
}
const dir = path.join(outDir, `${process.arch}-${process.versions.v8}`);
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });
let bytes = 0;
for (const [name, source] of sources) {
  const filename = path.join(libDir, name);
  const data = new vm.Script(`${WRAPPER}${source}${WRAPPER_END}`, { filename }).createCachedData();
  fs.writeFileSync(path.join(dir, `${name}.bin`), data);
  bytes += data.length;
}
console.log(`cffi: wrote ${path.relative(process.cwd(), dir) || dir}/ (Node.js ${process.version}, ` +
  `${modules.length} modules, ${(bytes / 1024).toFixed(0)} KiB)`);
