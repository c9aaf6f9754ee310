#!/usr/bin/env node
// fuzz.js: the long run of the differential fuzzer (test/fuzzer.js) by hand: `npm run fuzz`.
// For each seed it generates `--count` random C functions (build/fuzz/fuzz-<seed>-*.c), calls
// them on every call path (libffi + .async, JIT, untiered) and checks the results against the
// model of SPEC §2 and against each other. Prints each failing seed with what differed and
// exits 1 if any failed.
// Usage: node scripts/fuzz.js [--seed=N] [--seeds=K] [--count=M] [--paths=libffi,jit,untiered]
//   --seed=N   the first seed (default: random); a failure message names its seed: replay it
//              with --seed=N --seeds=1 and the same --count
//   --seeds=K  how many consecutive seeds (default 20)
//   --count=M  functions per seed (default 60)
// CFFI_TEST_PACKAGE=<dir> fuzzes an installed copy instead of this clone.
"use strict";
const path = require("node:path");
const { runSeed, PATHS } = require("../test/fuzzer.js");

const opt = {};
for (const a of process.argv.slice(2)) {
  const m = /^--(\w+)=(.*)$/.exec(a);
  if (!m) {
    console.error(`fuzz: unknown argument ${a}`);
    process.exit(2);
  }
  opt[m[1]] = m[2];
}
const first = opt.seed !== undefined ? Number(opt.seed) : Math.floor(Math.random() * 2 ** 31);
const seeds = Number(opt.seeds || 20);
const count = Number(opt.count || 60);
const paths = opt.paths ? opt.paths.split(",") : Object.keys(PATHS);
if (![first, seeds, count].every(Number.isSafeInteger) || paths.some((p) => !PATHS[p])) {
  console.error("fuzz: --seed, --seeds and --count take integers; --paths a list of " + Object.keys(PATHS).join(","));
  process.exit(2);
}
const cffiDir = process.env.CFFI_TEST_PACKAGE ? path.resolve(process.env.CFFI_TEST_PACKAGE) : path.resolve(__dirname, "..");
const started = Date.now();
let bad = 0;
for (let s = first; s < first + seeds; s++) {
  const failures = runSeed(s, count, cffiDir, paths);
  if (failures.length) {
    bad++;
    console.log(`FAIL seed ${s} (replay: node scripts/fuzz.js --seed=${s} --seeds=1 --count=${count})`);
    for (const f of failures) console.log(`  ${f.replace(/\n/g, "\n  ")}`);
  } else {
    console.log(`ok seed ${s}`);
  }
}
console.log(`fuzz: ${seeds} seeds × ${count} functions from seed ${first} on ${paths.join(", ")}: ` +
  `${bad} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.exit(bad ? 1 : 0);
