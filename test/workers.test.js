// workers.test.js: everything basic works inside worker_threads Workers, several at once,
// while the main thread keeps calling: dlopen, conversions, callbacks (on the Worker's own
// thread), exceptions, errno, memory helpers, linkSymbols/CFunction, close; and Workers that
// exit or are terminated with libraries and callbacks still open do not crash the process,
// even when C threads they started keep running the library's code and calling their
// callbacks (SPEC §16: the libraries, and cffi itself, stay loaded; the callbacks answer zero);
// the same for code compiled by cc() in a Worker.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const { Worker } = require("node:worker_threads");
const { fixtures, cffiPath } = require("./helpers.js");
const cffi = require(cffiPath);

// The body run in each Worker (and once on the main thread): returns a list of failures.
const BODY = `
function body(cffi, libPath, seed, rounds) {
  const { dlopen, JSCallback, linkSymbols, CFunction, ptr, read, toArrayBuffer, CString } = cffi;
  const fails = [];
  const eq = (a, b, what) => { if (!(a === b || (a !== a && b !== b))) fails.push(what + ": " + String(a) + " !== " + String(b)); };
  const lib = dlopen(libPath, {
    add_i32: { args: ["i32", "i32"], returns: "i32" },
    id_u8: { args: ["u8"], returns: "u8" },
    id_i64: { args: ["i64"], returns: "i64" },
    id_u64_fast: { args: ["u64"], returns: "u64_fast" },
    id_f32: { args: ["f32"], returns: "f32" },
    id_f64: { args: ["f64"], returns: "f64" },
    id_ptr: { args: ["ptr"], returns: "ptr" },
    hello: { returns: "cstring" },
    echo_cstring: { args: ["cstring"], returns: "cstring" },
    cstr_len: { args: ["cstring"], returns: "i64" },
    call_i32: { args: ["function", "i32"], returns: "i32" },
    call_f64: { args: ["function", "f64"], returns: "f64" },
    call_void_n: { args: ["function", "i32"] },
    nest: { args: ["function", "i32"], returns: "i32" },
    set_errno: { args: ["i32"], returns: "i32" },
    static_text_ptr: { returns: "ptr" },
    buf_sum: { args: ["buffer", "buffer_length"], returns: "u64" },
    many_f64: { args: Array(40).fill("f64"), returns: "f64" },
  });
  const S = lib.symbols;
  for (let r = 0; r < rounds; r++) {
    const k = seed * 1000 + r;
    eq(S.add_i32(k, 1), k + 1, "add_i32");
    eq(S.id_u8(k), k & 255, "id_u8");
    eq(S.id_i64(-k), BigInt(-k), "id_i64");
    eq(S.id_u64_fast(2n ** 60n + BigInt(k)), 2n ** 60n + BigInt(k), "id_u64_fast");
    eq(S.id_f32(k + 0.1), Math.fround(k + 0.1), "id_f32");
    eq(S.id_f64(-k / 3), -k / 3, "id_f64");
    eq(S.echo_cstring("w" + k + "é"), "w" + k + "é", "echo_cstring");
    eq(S.cstr_len("x".repeat(r % 50)), BigInt(r % 50), "cstr_len");
    const arr = Array.from({ length: 40 }, (_, i) => i + seed);
    eq(S.many_f64(...arr), arr.reduce((s, v, i) => s + (i + 1) * v, 0), "many_f64");
    const u8 = new Uint8Array([1, 2, 3, seed & 255]);
    eq(S.buf_sum(u8, u8), BigInt(6 + (seed & 255)), "buf_sum");
    eq(S.id_ptr(u8), ptr(u8), "id_ptr(view)");
    const cb = new JSCallback((x) => x * 2 + seed, { args: ["i32"], returns: "i32" });
    eq(S.call_i32(cb, k), k * 2 + seed, "callback");
    cb.close();
    const cbf = new JSCallback((x) => x / 2, { args: ["f64"], returns: "f64" });
    eq(S.call_f64(cbf, k), k / 2, "f64 callback");
    cbf.close();
    let n = 0;
    const cbv = new JSCallback(() => { n++; }, {});
    S.call_void_n(cbv, 10);
    cbv.close();
    eq(n, 10, "void callback count");
    let rec;
    rec = new JSCallback((d) => S.nest(rec, d - 1) + 1, { args: ["i32"], returns: "i32" });
    eq(S.nest(rec, 5), 1505, "re-entrant nest");
    rec.close();
    const err = new Error("w" + k);
    const thrower = new JSCallback(() => { throw err; }, { args: ["i32"], returns: "i32" });
    try { S.call_i32(thrower, 1); fails.push("no throw"); } catch (e) { eq(e, err, "exception"); }
    thrower.close();
    S.set_errno(100 + seed);
    eq(cffi.errno(), 100 + seed, "errno");
    const p = S.static_text_ptr();
    eq(CString(p), "static text", "CString");
    eq(read.u8(p), 115, "read.u8");
    eq(new Uint8Array(toArrayBuffer(p, 0, 6))[5], 99, "toArrayBuffer");
    const linked = linkSymbols({ add: { ptr: S.add_i32.ptr, args: ["i32", "i32"], returns: "i32" } });
    eq(linked.symbols.add(k, k), 2 * k, "linkSymbols");
    linked.close();
    const cf = CFunction({ ptr: S.add_i32.ptr, args: ["i32", "i32"], returns: "i32" });
    eq(cf(k, 2), k + 2, "CFunction");
    cf.close();
  }
  lib.close();
  try { S.add_i32(1, 1); fails.push("call after close did not throw"); } catch (e) { eq(e.message, "library is closed", "closed"); }
  return fails;
}
`;
const body = new Function(`${BODY}; return body;`)();

function runWorker(code, workerData) {
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData });
    let msg;
    w.on("message", (m) => { msg = m; });
    w.on("error", reject);
    w.on("exit", (codeNum) => (codeNum === 0 ? resolve(msg) : reject(new Error(`worker exited with ${codeNum}`))));
  });
}

const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
${BODY}
const cffi = require(workerData.cffiPath);
parentPort.postMessage(body(cffi, workerData.lib, workerData.seed, workerData.rounds));
`;

test("the main thread alone", () => {
  assert.deepEqual(body(cffi, fixtures.basic, 0, 50), []);
});

test("4 Workers at once, concurrently with the main thread", async () => {
  const workers = [1, 2, 3, 4].map((seed) => runWorker(WORKER, { cffiPath, lib: fixtures.basic, seed, rounds: 300 }));
  let done = false;
  const all = Promise.all(workers).finally(() => { done = true; });
  let mainRounds = 0;
  while (!done) {
    assert.deepEqual(body(cffi, fixtures.basic, 9, 5), []);
    mainRounds++;
    await new Promise((r) => setImmediate(r));
  }
  const results = await all;
  results.forEach((fails, i) => assert.deepEqual(fails, [], `worker ${i + 1}`));
  assert.ok(mainRounds > 0);
});

test("Workers that exit with libraries and callbacks still open", async () => {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const cffi = require(workerData.cffiPath);
    const lib = cffi.dlopen(workerData.lib, { call_i32: { args: ["function", "i32"], returns: "i32" } });
    const cbs = Array.from({ length: 20 }, (_, i) => new cffi.JSCallback((x) => x + i, { args: ["i32"], returns: "i32" }));
    parentPort.postMessage(lib.symbols.call_i32(cbs[7], 1));
    // no close(): the environment teardown must cope
  `;
  for (let i = 0; i < 10; i++) assert.equal(await runWorker(code, { cffiPath, lib: fixtures.basic }), 8);
});

test("terminate() a Worker busy in FFI calls and callbacks", async () => {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const cffi = require(workerData.cffiPath);
    const lib = cffi.dlopen(workerData.lib, { call_void_n: { args: ["function", "i32"] }, add_i32: { args: ["i32", "i32"], returns: "i32" } });
    let n = 0;
    const cb = new cffi.JSCallback(() => { n++; lib.symbols.add_i32(n, 1); }, {});
    parentPort.postMessage("started");
    for (;;) lib.symbols.call_void_n(cb, 1000);
  `;
  for (let i = 0; i < 5; i++) {
    const w = new Worker(code, { eval: true, workerData: { cffiPath, lib: fixtures.basic } });
    await new Promise((resolve, reject) => { w.once("message", resolve); w.once("error", reject); });
    await new Promise((r) => setTimeout(r, 20));
    const exitCode = await w.terminate();
    assert.equal(exitCode, 1);
  }
  // The main thread still works afterwards.
  assert.deepEqual(body(cffi, fixtures.basic, 5, 3), []);
});

// In a child process (a crash fails the test, not the runner) whose main thread does not load
// cffi until the Worker is gone: the Worker is cffi's only user, so Node unloads cffi.node
// with it unless cffi keeps itself loaded. The Worker's C thread (test/fixtures/linger.c)
// keeps running the library's code for 300 ms and calling a blocking and a queued callback
// that were never closed.
test("terminate() a Worker whose C thread still runs its library's code and calls its callbacks", () => {
  const src = `"use strict";
const { Worker } = require("node:worker_threads");
const fs = require("node:fs");
const LIB = ${JSON.stringify(fixtures.linger)};
const CFFI = ${JSON.stringify(cffiPath)};
const w = new Worker(\`
  const { parentPort } = require("node:worker_threads");
  const { dlopen, JSCallback } = require(\${JSON.stringify(CFFI)});
  const lib = dlopen(\${JSON.stringify(LIB)}, { linger_start: { args: ["function", "function", "i32"], returns: "i32" } });
  let n = 0;
  const blocking = new JSCallback((i) => { n++; return i; }, { args: ["i32"], returns: "i32" });
  const queued = new JSCallback(() => { n++; }, { args: ["i32"], threadsafe: true });
  lib.symbols.linger_start(blocking, queued, 300);
  const iv = setInterval(() => { if (n > 20) { clearInterval(iv); parentPort.postMessage("busy"); } }, 1);
\`, { eval: true });
w.on("error", (e) => { console.log("worker error " + e.message); process.exit(4); });
w.once("message", async () => {
  await w.terminate();
  await new Promise((r) => setTimeout(r, 50)); // the thread keeps calling meanwhile
  const mapped = fs.readFileSync("/proc/self/maps", "utf8").includes(LIB);
  const { dlopen } = require(CFFI);
  const lib = dlopen(LIB, { linger_ticks: { returns: "i32" }, linger_zeros: { returns: "i32" }, linger_done: { returns: "i32" } });
  const t0 = Date.now();
  while (lib.symbols.linger_done() < 1) {
    if (Date.now() - t0 > 20000) { console.log("HANG"); process.exit(3); }
    await new Promise((r) => setTimeout(r, 10));
  }
  console.log("mapped " + mapped + " ticks " + lib.symbols.linger_ticks() + " zeros>0 " + (lib.symbols.linger_zeros() > 0));
});
`;
  const r = spawnSync(process.execPath, ["-e", src], { encoding: "utf8", timeout: 60000 });
  assert.equal(r.signal, null, `crashed: ${r.stderr}`);
  assert.equal(r.error, undefined, "hung");
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // the library stayed loaded, the thread ran to the end, and the callbacks of the dead
  // Worker answered zero
  assert.match(r.stdout, /^mapped true ticks 300 zeros>0 true$/m);
});

// cc() in Workers (SPEC §15, §16): compiled code is freed by close() only. A Worker that ends
// without close() leaves its code mapped, like a dlopen'ed library, because a C thread it
// started may still run it: here one runs the compiled loop for 300 ms after terminate(),
// calling a blocking and a queued callback of the dead Worker (which answer zero). Workers
// also compile, call and end normally (with and without close()) and are terminated in a
// busy loop of calls; the main thread compiles and calls afterwards. The C source includes
// no header (it declares what it uses), so the test needs no libc6-dev. In a child process,
// so that a crash fails the test, not the runner.
test("cc() in Workers: ended normally, terminated, and with a C thread still running the compiled code", () => {
  const src = `"use strict";
const { Worker } = require("node:worker_threads");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const CFFI = ${JSON.stringify(cffiPath)};
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cffi-cc-worker-"));
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
const SRC = path.join(dir, "linger.c");
fs.writeFileSync(SRC, \`
typedef unsigned long thread_t;
int pthread_create(thread_t *, const void *, void *(*)(void *), void *);
int pthread_detach(thread_t);
int usleep(unsigned);
void *malloc(unsigned long);
void free(void *);
typedef int (*blocking_fn)(int);
typedef void (*queued_fn)(int);
struct arg { blocking_fn blocking; queued_fn queued; int ms; volatile int *st; };
int add(int a, int b) { return a + b; }
/* st[0]: iterations, st[1]: blocking calls that answered zero, st[2]: 1 when done */
static void *run(void *p) {
  struct arg a = *(struct arg *)p;
  free(p);
  for (int i = 1; i <= a.ms; i++) {
    usleep(1000);
    if (a.blocking(i) == 0) a.st[1]++;
    a.queued(i);
    a.st[0]++;
  }
  a.st[2] = 1;
  return 0;
}
int linger_start(blocking_fn blocking, queued_fn queued, int ms, volatile int *st) {
  struct arg *a = malloc(sizeof *a);
  thread_t t;
  a->blocking = blocking; a->queued = queued; a->ms = ms; a->st = st;
  if (pthread_create(&t, 0, run, a) != 0) return 0;
  pthread_detach(t);
  return 1;
}
\`);
const WORKER = \`
const { parentPort, workerData } = require("node:worker_threads");
const { cc, JSCallback, ptr } = require(workerData.cffi);
const lib = cc({ source: workerData.src, symbols: {
  add: { args: ["i32", "i32"], returns: "i32" },
  linger_start: { args: ["function", "function", "i32", "ptr"], returns: "i32" },
} });
const S = lib.symbols;
if (workerData.mode === "normal") {
  parentPort.postMessage(S.add(2, 3));
  if (workerData.close) lib.close();
} else if (workerData.mode === "busy") {
  parentPort.postMessage("busy");
  for (;;) S.add(1, 2);
} else {
  let n = 0;
  const blocking = new JSCallback((i) => { n++; return i; }, { args: ["i32"], returns: "i32" });
  const queued = new JSCallback(() => { n++; }, { args: ["i32"], threadsafe: true });
  if (S.linger_start(blocking, queued, 300, ptr(new Int32Array(workerData.sab))) !== 1) throw new Error("no thread");
  const iv = setInterval(() => { if (n > 20) { clearInterval(iv); parentPort.postMessage("busy"); } }, 1);
}
\`;
const start = (data) => {
  const w = new Worker(WORKER, { eval: true, workerData: { cffi: CFFI, src: SRC, ...data } });
  w.on("error", (e) => { console.log("worker error " + e.message); process.exit(4); });
  return w;
};
const first = (w) => new Promise((r) => w.once("message", r));
const exited = (w) => new Promise((r) => w.once("exit", r));
(async () => {
  for (let i = 0; i < 6; i++) {
    const w = start({ mode: "normal", close: i % 2 === 0 });
    const [msg, code] = await Promise.all([first(w), exited(w)]); // "exit" may follow at once
    if (msg !== 5 || code !== 0) { console.log("normal " + msg + " " + code); process.exit(5); }
  }
  for (let i = 0; i < 3; i++) {
    const w = start({ mode: "busy" });
    await first(w);
    await new Promise((r) => setTimeout(r, 20));
    if ((await w.terminate()) !== 1) { console.log("busy: not terminated"); process.exit(6); }
  }
  const sab = new SharedArrayBuffer(12);
  const st = new Int32Array(sab);
  const w = start({ mode: "linger", sab });
  await first(w);
  await w.terminate();
  const t0 = Date.now();
  while (Atomics.load(st, 2) !== 1) {
    if (Date.now() - t0 > 20000) { console.log("HANG"); process.exit(3); }
    await new Promise((r) => setTimeout(r, 10));
  }
  const { cc } = require(CFFI);
  const lib = cc({ source: SRC, symbols: { add: { args: ["i32", "i32"], returns: "i32" } } });
  console.log("ticks " + Atomics.load(st, 0) + " zeros>0 " + (Atomics.load(st, 1) > 0) + " main " + lib.symbols.add(40, 2));
  lib.close();
})();
`;
  const r = spawnSync(process.execPath, ["-e", src], { encoding: "utf8", timeout: 60000 });
  assert.equal(r.signal, null, `crashed: ${r.stderr}`);
  assert.equal(r.error, undefined, "hung");
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // the compiled code stayed mapped: the thread ran to the end, the dead Worker's callbacks
  // answered zero, and the main thread compiles and calls
  assert.match(r.stdout, /^ticks 300 zeros>0 true main 42$/m);
});
