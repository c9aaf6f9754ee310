// async.test.js: SPEC §6, fn.async(). Results of every kind, argument errors as rejections,
// 10,000 concurrent calls, calls that provably overlap while the event loop keeps running,
// views kept alive until the promise settles, JSCallbacks called on the pool thread (relayed,
// exceptions reject the promise), close() with calls in flight, errno left unchanged, and
// linkSymbols/CFunction.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { fixtures, cffiPath, getGC, isMapped } = require("./helpers.js");
const cffi = require(cffiPath);
const { dlopen, linkSymbols, CFunction, JSCallback, errno, ptr } = cffi;

const lib = dlopen(fixtures.threads, {
  add_i32: { args: ["i32", "i32"], returns: "i32" },
  neg_i64: { args: ["i64"], returns: "i64" },
  mul_f64: { args: ["f64", "f64"], returns: "f64" },
  big_u64: { returns: "u64" },
  str_dup_upper: { args: ["cstring"], returns: "cstring" },
  null_str: { returns: "cstring" },
  ptr_plus: { args: ["ptr", "i32"], returns: "ptr" },
  sum_bytes: { args: ["ptr", "i32"], returns: "i32" },
  fill_later: { args: ["ptr", "i32", "i32", "i32"] },
  fill_at_gate: { args: ["ptr", "i32", "i32"] },
  gate_set: { args: ["i32"] },
  sleep_ms_ret: { args: ["i32", "i32"], returns: "i32" },
  rendezvous: { args: ["i32"], returns: "i32" },
  rendezvous_reset: {},
  call_twice: { args: ["function", "i32"], returns: "i32" },
  call_mix: { args: ["function", "i32"], returns: "f64" },
  call_blocking_threads: { args: ["function", "i32", "i32"], returns: "i32" },
  set_errno: { args: ["i32"], returns: "i32" },
});
const S = lib.symbols;

test("results convert as for synchronous calls", async () => {
  const p = S.add_i32.async(40, 2);
  assert.ok(p instanceof Promise);
  assert.equal(await p, 42);
  assert.equal(await S.neg_i64.async(5n), -5n);
  assert.equal(await S.neg_i64.async(7), -7n);
  assert.equal(await S.mul_f64.async(1.5, -4), -6);
  assert.equal(await S.big_u64.async(), 18446744073709551614n);
  assert.equal(await S.str_dup_upper.async("hello, wörld"), "HELLO, WöRLD");
  assert.equal(await S.null_str.async(), null);
  assert.equal(await S.ptr_plus.async(4096, 16), 4112);
  assert.equal(await S.ptr_plus.async(null, 0), null);
  assert.equal(await S.ptr_plus.async(2n ** 60n, 1), 2n ** 60n + 1n);
});

test("argument errors reject the promise instead of throwing", async () => {
  let p;
  assert.doesNotThrow(() => { p = S.add_i32.async({}, 1); });
  await assert.rejects(p, TypeError);
  await assert.rejects(S.sum_bytes.async("not a pointer", 1), TypeError);
  // the same call succeeds afterwards (nothing left half-done)
  assert.equal(await S.add_i32.async(1, 1), 2);
});

test("10,000 concurrent calls all resolve with their own result", async () => {
  const N = 10000;
  const ps = [];
  for (let i = 0; i < N; i++) ps.push(S.add_i32.async(i, 1000000));
  const rs = await Promise.all(ps);
  for (let i = 0; i < N; i++) assert.equal(rs[i], i + 1000000);
});

test("calls overlap in time on the pool while the event loop keeps ticking", async () => {
  S.rendezvous_reset();
  let ticks = 0;
  const iv = setInterval(() => { ticks++; }, 1);
  // each call waits inside C until both are inside at once: only possible if they overlap
  const [a, b] = await Promise.all([S.rendezvous.async(2), S.rendezvous.async(2)]);
  clearInterval(iv);
  assert.deepEqual([a, b], [1, 1]);
  // slow C calls do not block the JS thread
  ticks = 0;
  const iv2 = setInterval(() => { ticks++; }, 1);
  const r = await Promise.all([S.sleep_ms_ret.async(100, 1), S.sleep_ms_ret.async(100, 2)]);
  clearInterval(iv2);
  assert.deepEqual(r, [1, 2]);
  assert.ok(ticks > 0, "timers ran while the calls were in flight");
});

test("views, Buffers, DataViews and ArrayBuffers as arguments", async () => {
  const u8 = Uint8Array.from([1, 2, 3, 4, 250]);
  assert.equal(await S.sum_bytes.async(u8, 5), 260);
  assert.equal(await S.sum_bytes.async(Buffer.from([9, 9]), 2), 18);
  assert.equal(await S.sum_bytes.async(new DataView(u8.buffer, 1, 2), 2), 5);
  assert.equal(await S.sum_bytes.async(u8.buffer, 3), 6);
  assert.equal(await S.sum_bytes.async(ptr(u8), 5), 260);
});

test("a view argument stays alive until the promise settles", async () => {
  const gc = getGC();
  let weak;
  S.gate_set(0);
  const p = (() => {
    const big = new Uint8Array(8 << 20); // own mapping: freeing it early would fault
    weak = new WeakRef(big);
    return S.fill_at_gate.async(big, big.length, 7); // waits in C until the gate opens
  })();
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  const big = weak.deref();
  assert.ok(big !== undefined, "collected while the C function was using it");
  S.gate_set(1);
  assert.equal(await p, undefined);
  assert.equal(big[12345], 7);
  assert.equal(await S.fill_later.async(big, 10, 3, 1), undefined);
  assert.equal(big[9], 3);
});

test("a JSCallback called on the pool thread is relayed to the JS thread", async () => {
  let onJsThread = 0;
  const cb = new JSCallback((x) => {
    onJsThread++;
    return 2 * x + 1;
  }, { args: ["i32"], returns: "i32" });
  assert.equal(await S.call_twice.async(cb.ptr, 20), 41);
  assert.equal(onJsThread, 1);
  // threads started by the async call, blocking in their callbacks, while the pool thread joins
  assert.equal(await S.call_blocking_threads.async(cb.ptr, 4, 250), 0);
  // several async calls relaying at once
  const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => S.call_twice.async(cb.ptr, i)));
  assert.deepEqual(rs, Array.from({ length: 20 }, (_, i) => 2 * i + 1));
  cb.close();
});

test("a JSCallback given to .async and closed while the call runs stays alive until it settles", async () => {
  let calls = 0;
  const cb = new JSCallback((x) => {
    calls++;
    return 2 * x + 1;
  }, { args: ["i32"], returns: "i32" });
  // 4 threads × 250 blocking calls from C after the JS caller has closed the callback
  const p = S.call_blocking_threads.async(cb, 4, 250);
  cb.close();
  assert.equal(cb.ptr, null, "closed at once as far as JS can see");
  assert.equal(+cb, 0);
  assert.equal(await p, 0, "every call from C got its right result");
  assert.equal(calls, 1000);
  cb.close(); // still idempotent after the deferred release
  // a callback closed before the call is passed is rejected like any closed JSCallback
  await assert.rejects(S.call_twice.async(cb, 1), { message: "Expected function to be a JSCallback or a number" });
  // given to two calls at once and closed meanwhile: alive until the last of them settles
  const twice = new JSCallback((x) => 2 * x + 1, { args: ["i32"], returns: "i32" });
  const both = [S.call_blocking_threads.async(twice, 2, 50), S.call_twice.async(twice, 8)];
  twice.close();
  assert.equal(twice.ptr, null);
  assert.deepEqual(await Promise.all(both), [0, 17]);
  await assert.rejects(S.call_twice.async(twice, 1), { message: "Expected function to be a JSCallback or a number" });
});

test("an exception in a relayed callback rejects the promise (first wins), C gets zero", async () => {
  const cb = new JSCallback(() => { throw new Error("from the callback"); }, { args: ["i32"], returns: "i32" });
  await assert.rejects(S.call_twice.async(cb.ptr, 1), { message: "from the callback" });
  let n = 0;
  const many = new JSCallback((d, f, i, u, s, c) => {
    n++;
    if (n >= 3) throw new Error(`call ${n}`);
    return 1;
  }, { args: ["f64", "f32", "i64", "u64", "cstring", "i8"], returns: "f64" });
  await assert.rejects(S.call_mix.async(many.ptr, 6), { message: "call 3" });
  assert.equal(n, 6, "the C function ran to completion");
  // the same callback called synchronously: the exception is rethrown to the caller
  assert.throws(() => S.call_twice(cb.ptr, 1), { message: "from the callback" });
  // a return value of the wrong type counts as an exception
  const badRet = new JSCallback(() => "nope", { args: ["i32"], returns: "i32" });
  await assert.rejects(S.call_twice.async(badRet.ptr, 1), TypeError);
  cb.close();
  many.close();
  badRet.close();
});

test("close() with calls in flight: the library stays loaded until they finish", async () => {
  const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cffi-async-")), "threads-copy.so");
  fs.copyFileSync(fixtures.threads, copy);
  const l = dlopen(copy, { sleep_ms_ret: { args: ["i32", "i32"], returns: "i32" } });
  const p1 = l.symbols.sleep_ms_ret.async(100, 7);
  const p2 = l.symbols.sleep_ms_ret.async(150, 8);
  l.close();
  assert.ok(isMapped(copy), "unloaded while calls were in flight");
  assert.throws(() => l.symbols.sleep_ms_ret(0, 0), { message: "library is closed" });
  await assert.rejects(l.symbols.sleep_ms_ret.async(0, 0), { message: "library is closed" });
  assert.equal(await p1, 7);
  assert.ok(isMapped(copy));
  assert.equal(await p2, 8);
  await new Promise((r) => setImmediate(r));
  assert.ok(!isMapped(copy), "the deferred close() unloaded the library");
  l.close(); // still idempotent
  fs.rmSync(path.dirname(copy), { recursive: true, force: true });
});

test("async calls leave errno() unchanged", async () => {
  assert.equal(S.set_errno(5), -1);
  assert.equal(errno(), 5);
  assert.equal(await S.set_errno.async(9), -1);
  assert.equal(errno(), 5);
});

test("linkSymbols and CFunction functions have .async", async () => {
  const l = linkSymbols({ add: { args: ["i32", "i32"], returns: "i32", ptr: S.add_i32.ptr } });
  assert.equal(await l.symbols.add.async(2, 3), 5);
  l.close();
  await assert.rejects(l.symbols.add.async(2, 3), { message: "library is closed" });
  const f = CFunction({ args: ["f64", "f64"], returns: "f64", ptr: S.mul_f64.ptr });
  assert.equal(await f.async(3, 4), 12);
  f.close();
  await assert.rejects(f.async(3, 4), { message: "function is closed" });
});

test("a pending async call survives the function object being collected", async () => {
  const gc = getGC();
  const p = (() => {
    const f = CFunction({ args: ["i32", "i32"], returns: "i32", ptr: S.sleep_ms_ret.ptr });
    return f.async(50, 99);
  })();
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(await p, 99);
});
