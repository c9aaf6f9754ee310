// leak.test.js: create and release things 100,000 times and check that the resident set size
// stays bounded: dlopen+close of the fixture, JSCallback create+call+close, toArrayBuffer
// (borrowed memory, and malloc'ed memory with a C deallocator). The check compares RSS growth
// over the last quarter of the iterations (after a full GC) to a generous bound; a leak of a
// few hundred bytes per iteration exceeds it. Never timing-based.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { fixtures, cffiPath, collect, rss } = require("./helpers.js");
const cffi = require(cffiPath);
const { dlopen, JSCallback, toArrayBuffer, toBuffer } = cffi;

const N = 100000;
const MB = 1024 * 1024;
const LIMIT = 16 * MB; // over the last 25,000 iterations: ~670 bytes per iteration

// Runs step(i) N times; samples RSS after a full collection at 0, 25, 50, 75 and 100 %.
// settle(i), when given, is awaited before each sample (e.g. until deferred deallocators ran).
async function measure(step, { collectEvery = 0, settle = null } = {}) {
  await collect();
  const samples = [rss()];
  for (let i = 0; i < N; i++) {
    step(i);
    if (collectEvery && i % collectEvery === collectEvery - 1) await collect(1);
    if (i % (N / 4) === N / 4 - 1) {
      await collect();
      if (settle) await settle(i);
      samples.push(rss());
    }
  }
  const first = samples[1] - samples[0];
  const last = samples[4] - samples[3];
  const info = `RSS growth: first quarter ${(first / MB).toFixed(1)} MB, last quarter ${(last / MB).toFixed(1)} MB ` +
    `(samples ${samples.map((s) => (s / MB).toFixed(0)).join(", ")} MB)`;
  return { first, last, info };
}

const defs = {
  add_i32: { args: ["i32", "i32"], returns: "i32" },
  id_f64: { args: ["f64"], returns: "f64" },
  hello: { returns: "cstring" },
  call_i32: { args: ["function", "i32"], returns: "i32" },
};

test("dlopen + close of the fixture, 100,000 times", { timeout: 30 * 60 * 1000 }, async (t) => {
  const r = await measure((i) => {
    const lib = dlopen(fixtures.basic, defs);
    if (lib.symbols.add_i32(i, 1) !== i + 1) assert.fail("add_i32");
    lib.close();
  });
  t.diagnostic(r.info);
  assert.ok(r.last < LIMIT, r.info);
});

test("JSCallback create + call + close, 100,000 times", { timeout: 30 * 60 * 1000 }, async (t) => {
  const lib = dlopen(fixtures.basic, defs);
  const r = await measure((i) => {
    const captured = { i, pad: new Array(16).fill(i) }; // fn holds some memory: released by close()
    const cb = new JSCallback((x) => x + captured.i, { args: ["i32"], returns: "i32" });
    if (lib.symbols.call_i32(cb, 1) !== i + 1) assert.fail("callback");
    cb.close();
  });
  lib.close();
  t.diagnostic(r.info);
  assert.ok(r.last < LIMIT, r.info);
});

test("toArrayBuffer / toBuffer of borrowed memory, 100,000 times", { timeout: 30 * 60 * 1000 }, async (t) => {
  const lib = dlopen(fixtures.basic, { static_text_ptr: { returns: "ptr" } });
  const p = lib.symbols.static_text_ptr();
  const r = await measure((i) => {
    const ab = i % 2 ? toArrayBuffer(p, 0, 11) : toBuffer(p, 0, 11);
    if (ab.byteLength !== 11) assert.fail("length");
  }, { collectEvery: 10000 });
  lib.close();
  t.diagnostic(r.info);
  assert.ok(r.last < LIMIT, r.info);
});

test("toArrayBuffer of malloc'ed memory with a C deallocator, 100,000 times", { timeout: 30 * 60 * 1000 }, async (t) => {
  const lib = dlopen(fixtures.basic, {
    alloc_bytes: { args: ["i32"], returns: "ptr" },
    count_free: { args: ["ptr", "ptr"] },
    get_deallocs: { returns: "i32" },
  });
  const S = lib.symbols;
  const before = S.get_deallocs();
  const SIZE = 4096; // 100,000 × 4 KiB = 400 MiB if the deallocator never ran
  const r = await measure((i) => {
    const p = S.alloc_bytes(SIZE);
    const ab = i % 2 ? toArrayBuffer(p, 0, SIZE, S.count_free.ptr) : toArrayBuffer(p, 0, SIZE, null, S.count_free.ptr);
    new Uint8Array(ab)[SIZE - 1] = 1;
  }, {
    collectEvery: 5000,
    // Deallocators run from the event loop after GC: let them catch up (bounded) before sampling.
    settle: async (i) => { for (let k = 0; k < 50 && S.get_deallocs() - before < i + 1; k++) await collect(1); },
  });
  t.diagnostic(r.info);
  assert.equal(S.get_deallocs() - before, N, "every deallocator ran exactly once");
  assert.ok(r.last < LIMIT, r.info);
  lib.close();
});
