// errno.test.js: SPEC §7, errno() — C errno captured right after the C function of the most
// recent synchronous FFI call on the calling JS thread returned; 0 before any call; per
// thread (Workers); unchanged by async calls and by JS that runs afterwards.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const { Worker } = require("node:worker_threads");
const { fixtures, cffiPath } = require("./helpers.js");
const cffi = require(cffiPath);
const { dlopen, JSCallback } = cffi;

const ENOENT = 2, EINTR = 4, EBADF = 9, EACCES = 13, ERANGE = 34;

test("errno() is 0 before any FFI call", () => {
  assert.equal(typeof cffi.errno, "function");
  assert.equal(cffi.errno(), 0);
});

const lib = dlopen(fixtures.basic, {
  set_errno: { args: ["i32"], returns: "i32" },
  get_errno: { returns: "i32" },
  set_errno_after_cb: { args: ["function", "i32"], returns: "i32" },
  call_void: { args: ["function"] },
  add_i32: { args: ["i32", "i32"], returns: "i32" },
});
const S = lib.symbols;

test("errno() is the errno a C function set", () => {
  assert.equal(S.set_errno(EACCES), -1);
  assert.equal(cffi.errno(), EACCES);
  S.set_errno(12345);
  assert.equal(cffi.errno(), 12345);
  S.set_errno(0);
  assert.equal(cffi.errno(), 0);
});

test("errno() is not disturbed by JS that runs afterwards (fs calls, timers)", async () => {
  S.set_errno(ERANGE);
  try { fs.readFileSync("/nonexistent/cffi/file"); } catch {}
  try { fs.statSync("/nonexistent"); } catch {}
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(cffi.errno(), ERANGE);
  assert.equal(cffi.errno(), ERANGE, "reading it does not clear it");
});

test("libc sets errno: open() of a missing file, strtol overflow, close(-1)", () => {
  const libc = dlopen(null, {
    open: { args: ["cstring", "i32"], returns: "i32" },
    close: { args: ["i32"], returns: "i32" },
    strtol: { args: ["cstring", "ptr", "i32"], returns: "i64" },
  });
  try {
    assert.equal(libc.symbols.open("/nonexistent/cffi/errno-test", 0), -1);
    assert.equal(cffi.errno(), ENOENT);
    assert.equal(libc.symbols.close(-1), -1);
    assert.equal(cffi.errno(), EBADF);
    assert.equal(libc.symbols.strtol("99999999999999999999999", null, 10), 2n ** 63n - 1n);
    assert.equal(cffi.errno(), ERANGE);
  } finally {
    libc.close();
  }
});

test("nested calls: errno of the call that returned last (the outer one)", () => {
  const cb = new JSCallback(() => { S.set_errno(EBADF); }, { returns: "void" });
  try {
    S.set_errno_after_cb(cb, EACCES);
    assert.equal(cffi.errno(), EACCES);
    // A callback's own FFI call is visible inside the callback.
    let inside;
    const cb2 = new JSCallback(() => { S.set_errno(ERANGE); inside = cffi.errno(); }, { returns: "void" });
    S.set_errno_after_cb(cb2, ENOENT);
    assert.equal(inside, ERANGE);
    assert.equal(cffi.errno(), ENOENT);
    cb2.close();
  } finally {
    cb.close();
  }
});

test("async calls leave errno() unchanged", async (t) => {
  S.set_errno(EINTR);
  let r;
  try {
    r = await S.set_errno.async(EACCES);
  } catch (e) {
    return t.skip(`.async unavailable: ${e.message}`);
  }
  assert.equal(r, -1);
  assert.equal(cffi.errno(), EINTR);
});

test("errno() is per JS thread (Workers)", async () => {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const cffi = require(workerData.cffiPath);
    const before = cffi.errno();
    const lib = cffi.dlopen(workerData.lib, { set_errno: { args: ["i32"], returns: "i32" } });
    const seen = [];
    for (let i = 0; i < 2000; i++) {
      lib.symbols.set_errno(workerData.value + (i % 3));
      seen.push(cffi.errno() === workerData.value + (i % 3));
    }
    lib.symbols.set_errno(workerData.value);
    parentPort.postMessage({ before, ok: seen.every(Boolean), last: cffi.errno() });
    lib.close();
  `;
  S.set_errno(EBADF);
  const results = await Promise.all([100, 200, 300].map((value) => new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { cffiPath, lib: fixtures.basic, value } });
    w.once("message", resolve);
    w.once("error", reject);
  })));
  for (let i = 0; i < 2000; i++) S.add_i32(1, 1);
  S.set_errno(EACCES);
  results.forEach((r, k) => {
    assert.equal(r.before, 0, "0 before any call in a new Worker");
    assert.equal(r.ok, true);
    assert.equal(r.last, [100, 200, 300][k]);
  });
  assert.equal(cffi.errno(), EACCES, "the main thread's errno is its own");
});
