#!/usr/bin/env node
// test.js: the `npm test` command. Compiles the C fixtures once, then runs every
// test/*.test.js and test/*.test.mjs with `node --expose-gc --test`, passing through the exit
// code. Extra arguments: ones starting with "-" go to node (e.g. --test-name-pattern=x); others
// select test files by substring (e.g. `npm test -- callback`). CFFI_JIT=0 forces libffi.
// In JIT mode every batch is compiled when declared (CFFI_JIT_THRESHOLD=0, unless set), so
// every test call runs a compiled trampoline; test/tiering.test.js covers the default.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const testDir = path.join(root, "test");

const env = { CFFI_JIT_THRESHOLD: "0", ...process.env };
const mode = process.env.CFFI_JIT === "0" ? "libffi (CFFI_JIT=0)"
  : `JIT (TinyCC trampolines, libffi fallback; CFFI_JIT_THRESHOLD=${env.CFFI_JIT_THRESHOLD})`;
console.log(`cffi tests: call path = ${mode}`);

try {
  const built = require(path.join(testDir, "helpers.js")).buildFixtures();
  console.log(`cffi tests: fixtures ready: ${Object.keys(built).join(", ")}`);
} catch (e) {
  console.error(`cffi tests: compiling the fixtures failed: ${e.message}`);
  process.exit(1);
}

const nodeFlags = [];
const filters = [];
for (const a of process.argv.slice(2)) (a.startsWith("-") ? nodeFlags : filters).push(a);

let files = fs.readdirSync(testDir)
  .filter((f) => f.endsWith(".test.js") || f.endsWith(".test.mjs"))
  .sort()
  .map((f) => path.join("test", f));
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s) || path.resolve(root, s) === path.resolve(root, f)));
if (!files.length) {
  console.error(`cffi tests: no test file matches ${filters.join(" ")}`);
  process.exit(1);
}

const r = spawnSync(process.execPath, ["--expose-gc", "--test", ...nodeFlags, ...files], {
  cwd: root,
  stdio: "inherit",
  env,
});
if (r.error) {
  console.error(r.error.message);
  process.exit(1);
}
process.exit(r.status === null ? 1 : r.status);
