// jscache.test.js: lib/'s modules compiled from V8's code cache (scripts/jscache.js writes it,
// lib/index.js reads it). In a copy of the package under test with a cache written for this
// Node.js: the modules load from the cache and work; a module whose source differs from the
// cache's copy, a cache V8 refuses (damaged, or other V8 flags) and a missing cache each fall
// back to compiling the source, with the same results; options that may be V8 flags skip the
// cache. CFFI_DEBUG_JSCACHE=1 says which.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { root, cffiDir } = require("./helpers.js");

const key = `${process.arch}-${process.versions.v8}`;

// What the child runs: declarations, calls, a callback from C, the memory helpers and a struct,
// through every module of lib/ that a program loads (cc.js aside). Prints "ok" or what failed.
const PROGRAM = `
const cffi = require(process.argv[1]);
const libc = cffi.dlopen("libc.so.6", {
  abs: { args: ["i32"], returns: "i32" },
  qsort: { args: ["ptr", "usize", "usize", "function"], returns: "void" },
});
const cmp = new cffi.JSCallback((a, b) => cffi.read.i32(a) - cffi.read.i32(b), { args: ["ptr", "ptr"], returns: "i32" });
const nums = new Int32Array([3, 1, 2]);
libc.symbols.qsort(nums, 3, 4, cmp);
const P = cffi.struct({ x: "i32", y: "f64" });
const got = [libc.symbols.abs(-5), nums.join(), P.read(P.alloc({ x: 1, y: 0.5 })).y];
cmp.close();
libc.close();
const want = [5, "1,2,3", 0.5];
console.log(JSON.stringify(got) === JSON.stringify(want) ? "ok" : "got " + JSON.stringify(got));
`;

// A copy of the package under test (lib/, package.json, its cffi.node) with a code cache for
// this Node.js in build/jscache/, as `npm run build` writes it in a clone.
function packageCopy(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cffi-jscache-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const rel of ["lib", "package.json", "build/Release/cffi.node", "src/build/Release/cffi.node", "prebuilds"]) {
    const from = path.join(cffiDir, rel);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dir, rel), { recursive: true });
  }
  const w = spawnSync(process.execPath, [path.join(root, "scripts", "jscache.js"), `--root=${dir}`], { encoding: "utf8" });
  assert.equal(w.status, 0, w.stderr);
  assert.ok(fs.existsSync(path.join(dir, "build", "jscache", key, "abi.js.bin")), w.stdout);
  return dir;
}

// Runs PROGRAM against the copy; returns the per-module report lines.
function run(dir, nodeFlags = []) {
  const r = spawnSync(process.execPath, [...nodeFlags, "-e", PROGRAM, path.join(dir, "lib", "index.js")],
    { encoding: "utf8", env: { ...process.env, CFFI_DEBUG_JSCACHE: "1" } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "ok");
  return r.stderr.split("\n").filter((l) => l.startsWith("cffi: "));
}

test("lib/'s modules load from the code cache written for this Node.js", (t) => {
  const lines = run(packageCopy(t));
  for (const m of ["abi.js", "types.js", "library.js", "memory.js", "layout.js"]) {
    assert.ok(lines.includes(`cffi: lib/${m}: code cache used`), `${m}: ${lines.join("; ")}`);
  }
});

test("an edited module is compiled from its source, the others still from the cache", (t) => {
  const dir = packageCopy(t);
  // the same length, so V8's own check (the source's length) would not notice
  const file = path.join(dir, "lib", "types.js");
  const src = fs.readFileSync(file, "utf8");
  fs.writeFileSync(file, src.replace("// types.js", "// TYPES.js"));
  assert.equal(fs.readFileSync(file, "utf8").length, src.length);
  assert.notEqual(fs.readFileSync(file, "utf8"), src);
  const lines = run(dir);
  assert.ok(lines.includes("cffi: lib/types.js differs from the code cache's copy (or it has none): compiled from source"), lines.join("; "));
  assert.ok(lines.includes("cffi: lib/abi.js: code cache used"), lines.join("; "));
});

test("a cache V8 refuses is compiled from source: damaged, or V8 flags set at run time", (t) => {
  const dir = packageCopy(t);
  const bin = path.join(dir, "build", "jscache", key, "library.js.bin");
  fs.writeFileSync(bin, Buffer.alloc(fs.statSync(bin).size, 0x5a));
  let lines = run(dir);
  assert.ok(lines.includes("cffi: lib/library.js: code cache refused by V8: compiled from source"), lines.join("; "));
  assert.ok(lines.includes("cffi: lib/abi.js: code cache used"), lines.join("; "));
  // flags V8 hashes, changed before require(): the first module is refused, the others are
  // then compiled from source without trying their caches
  const preload = path.join(dir, "flags.js");
  fs.writeFileSync(preload, 'require("node:v8").setFlagsFromString("--stack-trace-limit=20");\n');
  lines = run(dir, ["-r", preload]);
  assert.deepEqual(lines, ["cffi: lib/abi.js: code cache refused by V8: compiled from source"]);
});

test("options that may be V8 flags skip the cache; Node.js's own options keep it", (t) => {
  const dir = packageCopy(t);
  for (const flags of [["--stack-trace-limit=20"], ["--max-old-space-size=512", "--enable-source-maps"]]) {
    const lines = run(dir, flags);
    assert.deepEqual(lines, [`cffi: option ${flags[0]} may be a V8 flag, with which V8 refuses the code cache: lib/ is compiled from source`]);
  }
  assert.ok(run(dir, ["--enable-source-maps", "--no-warnings"]).includes("cffi: lib/abi.js: code cache used"));
  const viaEnv = spawnSync(process.execPath, ["-e", PROGRAM, path.join(dir, "lib", "index.js")],
    { encoding: "utf8", env: { ...process.env, CFFI_DEBUG_JSCACHE: "1", NODE_OPTIONS: "--stack-trace-limit=30" } });
  assert.equal(viaEnv.stdout.trim(), "ok", viaEnv.stderr);
  assert.match(viaEnv.stderr, /option --stack-trace-limit=30 may be a V8 flag/);
});

test("without a cache for this Node.js, lib/ is compiled from source", (t) => {
  const dir = packageCopy(t);
  fs.rmSync(path.join(dir, "build", "jscache"), { recursive: true });
  assert.deepEqual(run(dir), [`cffi: no code cache jscache/${key}: lib/ is compiled from source`]);
});

test("binding.readFile: a file's bytes or text, or undefined for anything it cannot read", (t) => {
  const { binding } = require(path.join(cffiDir, "lib", "abi.js"));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cffi-readfile-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bytes = Buffer.from([0, 1, 2, 250, 255, 10]);
  fs.writeFileSync(path.join(dir, "f.bin"), bytes);
  fs.writeFileSync(path.join(dir, "empty"), "");
  assert.deepEqual(binding.readFile(path.join(dir, "f.bin")), bytes);
  assert.equal(binding.readFile(path.join(dir, "empty")).length, 0);
  fs.writeFileSync(path.join(dir, "t.txt"), "h\u00e9llo \u2192\n");
  assert.equal(binding.readFile(path.join(dir, "t.txt"), true), "h\u00e9llo \u2192\n");
  assert.equal(binding.readFile(path.join(dir, "empty"), true), "");
  assert.deepEqual(binding.readFile(path.join(dir, "t.txt"), false), fs.readFileSync(path.join(dir, "t.txt")));
  assert.equal(binding.readFile(path.join(dir, "missing"), true), undefined);
  for (const bad of [path.join(dir, "missing"), dir, "", "x".repeat(5000), 42, undefined, null, {}]) {
    assert.equal(binding.readFile(bad), undefined, String(bad).slice(0, 40));
  }
  assert.equal(binding.readFile(), undefined);
});
