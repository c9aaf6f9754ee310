// threads.test.js: SPEC §8.1 and §8.2 with real pthreads (test/fixtures/threads.c).
// Threadsafe void callbacks queued from many threads (nothing lost, nothing duplicated, FIFO
// per thread, string arguments copied), the callback scope relayed invocations run in
// (async id, nextTick and microtasks), blocking callbacks called from foreign threads,
// exceptions on each path, close() with invocations still queued, and environment teardown
// (worker.terminate() while a foreign thread is blocked in a callback). Scenarios that must
// end the process (uncaught exceptions, teardown) run in a child process with a timeout, so a
// crash or a hang fails the test instead of the runner.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const { fixtures, cffiPath } = require("./helpers.js");
const cffi = require(cffiPath);
const { dlopen, JSCallback } = cffi;

const lib = dlopen(fixtures.threads, {
  run_ticks: { args: ["function", "i32", "i32"], returns: "ptr" },
  join_run: { args: ["ptr"], returns: "i32" },
  tick_here: { args: ["function", "i32"] },
  call_blocking_threads: { args: ["function", "i32", "i32"], returns: "i32" },
  call_twice: { args: ["function", "i32"], returns: "i32" },
  call_mix_thread: { args: ["function", "i32"], returns: "f64" },
  strings_from_thread: { args: ["function"] },
  structs_from_thread: { args: ["function"] },
  struct_blocking_from_thread: { args: ["function"], returns: "i64" },
});
const S = lib.symbols;

const TICK = { args: ["i32", "i32"], threadsafe: true };
const TWICE = { args: ["i32"], returns: "i32" };

// Lets the event loop run until cond() holds (the relay is unref'd: something must keep the
// loop alive while invocations are on their way; setImmediate does).
async function until(cond, what, limit = 20000) {
  for (let i = 0; !cond(); i++) {
    if (i > limit) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, i < 100 ? 0 : 5));
  }
}

// Runs `body` (JS source) in a fresh node process with cffi, the fixture library `lib` and
// `S` (its symbols) in scope. Returns { status, signal, stdout, stderr }.
function runChild(body, timeout = 60000) {
  const src = `"use strict";
const cffi = require(${JSON.stringify(cffiPath)});
const { dlopen, JSCallback } = cffi;
const FIXTURE = ${JSON.stringify(fixtures.threads)};
${body}`;
  const r = spawnSync(process.execPath, ["-e", src], { encoding: "utf8", timeout });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, error: r.error };
}

test("threadsafe: 8 threads × 2,000 calls, nothing lost or duplicated, FIFO per thread", async () => {
  const THREADS = 8;
  const N = 2000;
  const seen = Array.from({ length: THREADS }, () => new Uint8Array(N));
  const next = new Int32Array(THREADS);
  let total = 0;
  let outOfOrder = 0;
  const cb = new JSCallback((t, i) => {
    seen[t][i]++;
    if (next[t] !== i) outOfOrder++;
    next[t] = i + 1;
    total++;
  }, TICK);
  assert.equal(cb.threadsafe, true);
  const run = S.run_ticks(cb.ptr, THREADS, N);
  // joining on a pool thread keeps the loop alive while the threads run
  assert.equal(await S.join_run.async(run), THREADS);
  await until(() => total >= THREADS * N, "all invocations");
  await new Promise((r) => setTimeout(r, 20)); // nothing extra arrives
  assert.equal(total, THREADS * N);
  for (let t = 0; t < THREADS; t++) {
    for (let i = 0; i < N; i++) assert.equal(seen[t][i], 1, `thread ${t} call ${i}`);
  }
  assert.equal(outOfOrder, 0);
  cb.close();
});

test("threadsafe void on the JS thread is queued: the C caller returns before fn runs", async () => {
  const got = [];
  const cb = new JSCallback((t, i) => got.push(i), TICK);
  S.tick_here(cb.ptr, 5);
  assert.deepEqual(got, []); // queued, not run yet
  await until(() => got.length === 5, "queued invocations");
  assert.deepEqual(got, [0, 1, 2, 3, 4]);
  cb.close();
});

test("relayed invocations run in a callback scope: an async id of their own; nextTick, then microtasks, before setImmediate", async () => {
  // as Node runs its own callbacks (and a threadsafe function's): outside one,
  // executionAsyncId() would be 0 and what they queue would wait for another callback's scope
  const { executionAsyncId } = require("node:async_hooks");
  const order = [];
  const ids = [];
  const cb = new JSCallback((t, i) => {
    ids.push(executionAsyncId());
    order.push(`cb${i}`);
    setImmediate(() => order.push(`immediate${i}`));
    Promise.resolve().then(() => order.push(`micro${i}`));
    process.nextTick(() => order.push(`tick${i}`));
  }, TICK);
  S.tick_here(cb.ptr, 2); // two queued invocations: one wake-up delivers both
  await until(() => order.length === 8, "the invocations and what they queued");
  assert.deepEqual(order, ["cb0", "cb1", "tick0", "tick1", "micro0", "micro1", "immediate0", "immediate1"]);
  S.join_run(S.run_ticks(cb.ptr, 2, 3)); // and from two other threads
  await until(() => ids.length === 8, "the invocations from other threads");
  for (const id of ids) assert.ok(id > 0, `executionAsyncId() in a relayed invocation: ${ids}`);
  cb.close();
});

test("threadsafe void callbacks receive structs by value from another thread (queued copies)", async () => {
  const Rec = cffi.struct({ d: "f64", i: "i64", f: cffi.array("f32", 3) });
  const Pair = cffi.struct({ x: "f32", k: "i32" });
  const got = [];
  const cb = new cffi.JSCallback((r, p) => got.push([r, p]), { args: [Rec, Pair], threadsafe: true });
  S.structs_from_thread(cb.ptr);
  await until(() => got.length === 100, "struct invocations");
  for (let i = 0; i < 100; i++) {
    assert.deepEqual(got[i], [{ d: i + 0.5, i: BigInt(-i), f: new Float32Array([i, 2 * i, 0.25]) }, { x: i / 4, k: 1000 + i }]);
  }
  cb.close();
});

test("a blocking callback takes and returns structs by value from another thread", async () => {
  const Rec = cffi.struct({ d: "f64", i: "i64", f: cffi.array("f32", 3) });
  const Pair = cffi.struct({ x: "f32", k: "i32" });
  const Big = cffi.struct({ a: "i64", b: "i64", c: "i64" });
  let seen;
  const cb = new JSCallback((k, r, p) => {
    seen = [k, r, p];
    return { a: BigInt(k), b: r.i, c: BigInt(p.k) };
  }, { args: ["i32", Rec, Pair], returns: Big });
  try {
    // .async: the JS thread stays free to answer the other thread's blocking call
    assert.equal(await S.struct_blocking_from_thread.async(cb), 7n * 10000n - 3n * 100n + 42n);
    assert.deepEqual(seen, [7, { d: 2.5, i: -3n, f: new Float32Array([1, 2, 3]) }, { x: 0.75, k: 42 }]);
  } finally {
    cb.close();
  }
});

test("threadsafe: invocations queued before close() are still delivered", async () => {
  let total = 0;
  const cb = new JSCallback(() => { total++; }, TICK);
  S.tick_here(cb.ptr, 100); // queued on the JS thread
  S.join_run(S.run_ticks(cb.ptr, 4, 500)); // threadsafe: joining synchronously cannot deadlock
  cb.close();
  assert.equal(cb.ptr, null);
  await until(() => total >= 2100, "delivery after close");
  assert.equal(total, 2100);
});

test("threadsafe: cstring arguments are copied when C calls (the buffer is reused at once)", async () => {
  const got = [];
  const cb = new JSCallback((s, i) => got.push([s, i]), { args: ["cstring", "i32"], threadsafe: true });
  S.strings_from_thread(cb.ptr);
  await until(() => got.length === 100, "string invocations");
  for (let i = 0; i < 100; i++) {
    let want = "";
    for (let k = 0; k < 10; k++) want += String.fromCharCode(97 + ((i + k) % 26));
    assert.deepEqual(got[i], [want, i]);
  }
  cb.close();
});

test("a non-void threadsafe callback runs synchronously on the JS thread", () => {
  const cb = new JSCallback((x) => 2 * x + 1, { ...TWICE, threadsafe: true });
  assert.equal(S.call_twice(cb.ptr, 20), 41);
  cb.close();
});

test("blocking: foreign threads call a non-void callback 1,000 times with correct results", async () => {
  let calls = 0;
  const seenThreads = new Set();
  const cb = new JSCallback((x) => {
    calls++;
    seenThreads.add(Math.floor(x / 100000));
    return 2 * x + 1;
  }, TWICE);
  // 4 threads × 250: call_blocking_threads joins them, so it must not run on the JS thread
  assert.equal(await S.call_blocking_threads.async(cb.ptr, 4, 250), 0);
  assert.equal(calls, 1000);
  assert.equal(seenThreads.size, 4);
  // threadsafe: true changes nothing for a non-void callback on another thread
  const ts = new JSCallback((x) => 2 * x + 1, { ...TWICE, threadsafe: true });
  assert.equal(await S.call_blocking_threads.async(ts.ptr, 8, 125), 0);
  cb.close();
  ts.close();
});

test("blocking: every argument type is relayed exactly, cstring included", async () => {
  const rows = [];
  const cb = new JSCallback((d, f, i, u, s, c) => {
    rows.push([d, f, i, u, s, c]);
    return d + c;
  }, { args: ["f64", "f32", "i64", "u64", "cstring", "i8"], returns: "f64" });
  const n = 10;
  const sum = await S.call_mix_thread.async(cb.ptr, n);
  assert.equal(rows.length, n);
  let want = 0;
  for (let i = 0; i < n; i++) {
    assert.deepEqual(rows[i], [0.5 * i, 1.5, -(1n << 60n) - BigInt(i), (1n << 63n) + BigInt(i), "abc", i === 0 ? 0 : -i]);
    want += 0.5 * i - i;
  }
  assert.equal(sum, want);
  cb.close();
});

test("blocking: a callback throwing on a foreign thread gives C zero and is an uncaught exception", () => {
  const r = runChild(`
const lib = dlopen(FIXTURE, { call_blocking_threads: { args: ["function", "i32", "i32"], returns: "i32" } });
const caught = [];
process.on("uncaughtException", (e) => caught.push(e.message));
let n = 0;
const cb = new JSCallback((x) => { if (n++ === 3) throw new Error("boom " + x); return 2 * x + 1; }, { args: ["i32"], returns: "i32" });
const cb2 = new JSCallback(() => { throw new Error("again"); }, { args: ["i32"], returns: "i32" });
(async () => {
  const bad = await lib.symbols.call_blocking_threads.async(cb.ptr, 1, 10);
  console.log(JSON.stringify({ bad, caught }));
})();
`);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop());
  assert.equal(out.bad, 1); // the one call that threw returned 0 instead of 2x + 1
  assert.deepEqual(out.caught, ["boom 3"]);
});

test("threadsafe: an exception from a queued invocation is uncaught; delivery goes on", () => {
  const r = runChild(`
const lib = dlopen(FIXTURE, {
  run_ticks: { args: ["function", "i32", "i32"], returns: "ptr" },
  join_run: { args: ["ptr"], returns: "i32" },
});
const caught = [];
process.on("uncaughtException", (e) => caught.push(e.message));
let total = 0;
const cb = new JSCallback((t, i) => { total++; if (i % 100 === 7) throw new Error("tick " + i); }, { args: ["i32", "i32"], threadsafe: true });
lib.symbols.join_run(lib.symbols.run_ticks(cb.ptr, 1, 300));
const iv = setInterval(() => {
  if (total < 300) return;
  clearInterval(iv);
  console.log(JSON.stringify({ total, caught }));
}, 5);
`);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop());
  assert.equal(out.total, 300);
  assert.deepEqual(out.caught, ["tick 7", "tick 107", "tick 207"]);
});

test("an unhandled exception from a threadsafe callback ends the process like any uncaught error", () => {
  const r = runChild(`
const lib = dlopen(FIXTURE, { tick_here: { args: ["function", "i32"] } });
const cb = new JSCallback(() => { throw new Error("nobody catches this"); }, { args: ["i32", "i32"], threadsafe: true });
lib.symbols.tick_here(cb.ptr, 1);
setTimeout(() => {}, 1000);
`);
  assert.equal(r.signal, null);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /nobody catches this/);
});

test("an open, idle callback does not keep the process alive", () => {
  const r = runChild(`
const cb = new JSCallback(() => {}, { args: ["i32", "i32"], threadsafe: true });
const cb2 = new JSCallback((x) => x, { args: ["i32"], returns: "i32" });
globalThis.keep = [cb, cb2];
console.log("done");
`, 30000);
  assert.equal(r.error, undefined, "the process did not exit by itself");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "done");
});

test("worker.terminate() while a foreign thread is blocked in a callback: no crash, no hang", () => {
  const r = runChild(`
const { Worker } = require("node:worker_threads");
const lib = dlopen(FIXTURE, {
  loops_finished: { returns: "i32" },
  loops_begun: { returns: "i32" },
});
const before = lib.symbols.loops_finished();
const w = new Worker(\`
  const { parentPort } = require("node:worker_threads");
  const { dlopen, JSCallback } = require(\${JSON.stringify(${JSON.stringify(cffiPath)})});
  const lib = dlopen(\${JSON.stringify(FIXTURE)}, {
    start_loop: { args: ["function", "i32", "i32"] },
  });
  let n = 0;
  const slow = new JSCallback((x) => { n++; const t = Date.now(); while (Date.now() - t < 2) {} return x; }, { args: ["i32"], returns: "i32" });
  const ts = new JSCallback(() => { n++; }, { args: ["i32", "i32"], threadsafe: true });
  lib.symbols.start_loop(slow.ptr, 400, 500);   // blocking callback, called again after teardown
  lib.symbols.start_loop(slow.ptr, 400, 0);
  const iv = setInterval(() => { if (n > 20) { clearInterval(iv); parentPort.postMessage("busy"); } }, 1);
\`, { eval: true });
w.on("message", async () => {
  await w.terminate();
  // the detached threads keep calling the dead environment's callback: they must get zero
  // and run to completion
  const t0 = Date.now();
  while (lib.symbols.loops_finished() < before + 2) {
    if (Date.now() - t0 > 30000) { console.log("HANG"); process.exit(3); }
    await new Promise((r) => setTimeout(r, 10));
  }
  console.log("ok " + lib.symbols.loops_begun());
});
w.on("error", (e) => { console.log("worker error " + e.message); process.exit(4); });
`);
  assert.equal(r.signal, null, `crashed: ${r.stderr}`);
  assert.equal(r.error, undefined, "hung");
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^ok 2/m);
});

test("worker.terminate() with async calls in flight whose threads call back (blocking and queued)", () => {
  const r = runChild(`
const { Worker } = require("node:worker_threads");
let done = 0;
for (let k = 0; k < 3; k++) {
  const w = new Worker(\`
    const { parentPort } = require("node:worker_threads");
    const { dlopen, JSCallback } = require(\${JSON.stringify(${JSON.stringify(cffiPath)})});
    const lib = dlopen(\${JSON.stringify(FIXTURE)}, {
      call_blocking_threads: { args: ["function", "i32", "i32"], returns: "i32" },
      sleep_ms_ret: { args: ["i32", "i32"], returns: "i32" },
      run_ticks: { args: ["function", "i32", "i32"], returns: "ptr" },
      join_run: { args: ["ptr"], returns: "i32" },
    });
    let n = 0;
    const slow = new JSCallback((x) => { n++; return 2 * x + 1; }, { args: ["i32"], returns: "i32" });
    const ts = new JSCallback(() => { n++; }, { args: ["i32", "i32"], threadsafe: true });
    lib.symbols.call_blocking_threads.async(slow.ptr, 3, 20000);
    lib.symbols.join_run.async(lib.symbols.run_ticks(ts.ptr, 2, 200000));
    lib.symbols.sleep_ms_ret.async(300, 1);
    const iv = setInterval(() => { if (n > 1000) { clearInterval(iv); parentPort.postMessage("busy"); } }, 1);
  \`, { eval: true });
  w.on("message", async () => {
    await w.terminate();
    if (++done === 3) console.log("all terminated");
  });
  w.on("error", (e) => { console.log("worker error " + e.message); process.exit(4); });
}
`);
  assert.equal(r.signal, null, `crashed: ${r.stderr}`);
  assert.equal(r.error, undefined, "hung");
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /all terminated/);
});

test("a Worker's callback called from the main thread's async call: runs in the Worker, its exception stays there", () => {
  const r = runChild(`
const { Worker } = require("node:worker_threads");
const lib = dlopen(FIXTURE, { call_twice: { args: ["function", "i32"], returns: "i32" } });
const w = new Worker(\`
  const { parentPort } = require("node:worker_threads");
  const { JSCallback } = require(\${JSON.stringify(${JSON.stringify(cffiPath)})});
  const ok = new JSCallback((x) => 2 * x + 1, { args: ["i32"], returns: "i32" });
  const bad = new JSCallback(() => { throw new Error("in the worker"); }, { args: ["i32"], returns: "i32" });
  parentPort.postMessage([ok.ptr, bad.ptr]);
  setInterval(() => {}, 1000);
\`, { eval: true });
let workerError = null;
w.on("error", (e) => { workerError = e.message; });
w.once("message", async ([ok, bad]) => {
  const a = await lib.symbols.call_twice.async(ok, 20);
  let b;
  try { b = await lib.symbols.call_twice.async(bad, 1); } catch (e) { b = "rejected " + e.message; }
  while (workerError === null) await new Promise((r) => setTimeout(r, 5));
  console.log(JSON.stringify({ a, b, workerError }));
  process.exit(0);
});
`);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop());
  assert.deepEqual(out, { a: 41, b: 0, workerError: "in the worker" });
});

test("process exit with a foreign thread blocked in a callback: no hang", () => {
  const r = runChild(`
const lib = dlopen(FIXTURE, { start_loop: { args: ["function", "i32", "i32"] } });
const cb = new JSCallback((x) => x, { args: ["i32"], returns: "i32" });
lib.symbols.start_loop(cb.ptr, 1000000, 0);
setTimeout(() => console.log("leaving"), 50);
`, 30000);
  assert.equal(r.error, undefined, "hung");
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
});

test("many callbacks created and closed (relay bookkeeping)", async () => {
  let hits = 0;
  for (let i = 0; i < 2000; i++) {
    const cb = new JSCallback(() => { hits++; }, TICK);
    if (i % 100 === 0) S.tick_here(cb.ptr, 1);
    cb.close();
  }
  await until(() => hits === 20, "queued invocations of closed callbacks");
});
