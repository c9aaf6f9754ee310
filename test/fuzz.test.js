// fuzz.test.js: a short fixed-seed run of the differential fuzzer (test/fuzzer.js): random
// signatures of 0-32 arguments of every scalar type and callback drivers, values at the edges
// of each type, checked against the model of SPEC §2 on the libffi path (and .async), the JIT
// path and the untiered first calls, and between them. The long run is `npm run fuzz`; a
// failure names its seed: replay it with `node scripts/fuzz.js --seed=N --seeds=1 --count=40`.
"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const { cffiDir, hasTool, testCC } = require("./helpers.js");
const { runSeed } = require("./fuzzer.js");

const SEEDS = [1, 2];
const COUNT = 40;

test("fuzz: random signatures agree with SPEC §2 and across call paths (fixed seeds)",
  { skip: !hasTool(testCC) && `${testCC} is not on PATH (the fuzzer compiles its C functions per seed)` }, () => {
    const failures = [];
    for (const seed of SEEDS) failures.push(...runSeed(seed, COUNT, cffiDir));
    assert.deepEqual(failures, [], `replay with: node scripts/fuzz.js --seed=N --seeds=1 --count=${COUNT}\n${failures.join("\n")}`);
  });
