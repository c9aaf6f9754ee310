// worker.js: measures one (system, op) pair in a fresh process and prints one JSON line.
// Usage: <runtime> bench/worker.js <system> <op> [--quick]
// Hot ops: calibrate, warm up, then several timed samples of a plain loop; the result is ns
// per call (per callback for cb1000). Op "setup": require time, dlopen + declare 9
// functions (for a cc system: cc() of fixture/bench.c + declare 9), first call; bench/run.js
// runs it in several fresh processes.
// Thread ops (THREAD_OPS): async calls and callbacks from foreign threads; the same
// calibration and samples, timed by the wall clock, reported as ns per call (run.js shows
// µs or calls/s).
// Runs under Node 20, Node 26 and Bun, so it sticks to what all three provide.
"use strict";
const path = require("path");

const now = () => process.hrtime.bigint();
const { systems, benchDir, noThreads } = require("./systems.js");

const libPath = path.join(benchDir, "build", "libbench.so");
// build/libmany.so (bench/setup.js writes and compiles it): MANY functions many_<i> of three
// shapes, MANY_SIGS[i % 3], for the "declare 300 functions and call 3" setup row.
const manyPath = path.join(benchDir, "build", "libmany.so");
const MANY = 300;
const MANY_SIGS = [
  { args: ["i32", "i32"], returns: "i32" },
  { args: ["f64"], returns: "f64" },
  { args: ["u32", "u32"], returns: "u32" },
];
const [systemName, opName] = process.argv.slice(2);
const quick = process.argv.includes("--quick");

// bun:ffi-style signatures of libbench's functions.
const SIGS = {
  noop: { args: [], returns: "void" },
  add_i32: { args: ["i32", "i32"], returns: "i32" },
  add_f64: { args: ["f64", "f64"], returns: "f64" },
  add_u64: { args: ["u64", "u64"], returns: "u64" },
  add6_i32: { args: ["i32", "i32", "i32", "i32", "i32", "i32"], returns: "i32" },
  sum_u8: { args: ["ptr", "usize"], returns: "u32" },
  hello: { args: [], returns: "cstring" },
  call_cb_i32: { args: ["function", "i32"], returns: "i32" },
  setup_1: { args: ["i32"], returns: "i32" },
  setup_2: { args: ["f64", "f64"], returns: "f64" },
  setup_3: { args: ["u64"], returns: "u64" },
  setup_4: { args: ["i32", "i32", "i32"], returns: "i32" },
  setup_5: { args: ["f32"], returns: "f32" },
  setup_6: { args: ["ptr"], returns: "ptr" },
  setup_7: { args: ["i8", "u8"], returns: "i8" },
  setup_8: { args: ["i16", "u16", "i32", "f64"], returns: "i16" },
  setup_9: { args: ["cstring"], returns: "u32" },
  // `cb: "tick"`: the function argument is a void (i32, i32) callback (systems with typed
  // callback parameters need to know).
  ts_start: { args: ["function", "i32", "i32"], returns: "ptr", cb: "tick" },
  blocking_start: { args: ["function", "i32", "i32"], returns: "ptr" },
  run_join: { args: ["ptr"], returns: "i32" },
};
const CB_SIG = { args: ["i32"], returns: "i32" };

const bytes = new Uint8Array(64);
for (let i = 0; i < 64; i++) bytes[i] = i;
const BYTES_SUM = (63 * 64) / 2;
// sum_u8_100k: the same function over 100,000 bytes, so that the C loop (gcc's -O2 code or
// TinyCC's) dominates the call. Byte i is (i * 7) & 0xff: one 256-byte period, copied, and
// no loop over all 100,000 at load. That loop, run by every worker, had Node 24's V8 compile
// this script's top level in the background (Maglev, on-stack replacement, ~6 ms on another
// thread) while the setup op timed its first calls; the second JSCallback of the (Node 24)
// columns read 9-16 us or 24-65 us depending on where that compile finished.
const big = new Uint8Array(100000);
for (let i = 0; i < 256; i++) big[i] = (i * 7) & 0xff;
for (let n = 256; n < big.length; n *= 2) big.copyWithin(n, 0, Math.min(n, big.length - n));
// a period holds each byte value once: the whole periods, then the bytes after them
const BIG_PERIODS = Math.floor(big.length / 256);
let BIG_SUM = BIG_PERIODS * ((255 * 256) / 2);
for (let i = BIG_PERIODS * 256; i < big.length; i++) BIG_SUM += big[i];

// Each op: the symbol it calls, two argument lists that calls alternate between (a callback
// goes where CB is) and the value each must return, and how many C-side operations one call
// counts as (cb1000: per callback). Alternating arguments keep a JIT from treating a call as
// loop-invariant; the two lists are preallocated constants, so no system allocates for them.
const CB = Symbol("callback");
const PTR = Symbol("pointer");
const CELLS = new Int32Array([11, 22]);
const OPS = {
  noop: { sym: "noop", args: [[], []], expect: [undefined, undefined] },
  add_i32: { sym: "add_i32", args: [[1, 2], [3, 4]], expect: [3, 7] },
  add_f64: { sym: "add_f64", args: [[1.5, 2.25], [0.5, 4.25]], expect: [3.75, 4.75] },
  add_u64: { sym: "add_u64", args: [[1n, 2n], [3n, 4n]], expect: [3n, 7n] },
  add6_i32: { sym: "add6_i32", args: [[1, 2, 3, 4, 5, 6], [2, 3, 4, 5, 6, 7]], expect: [21, 27] },
  sum_u8: { sym: "sum_u8", args: [[bytes, 64], [bytes, 63]], expect: [BYTES_SUM, BYTES_SUM - 63] },
  sum_u8_100k: { sym: "sum_u8", args: [[big, 100000], [big, 99999]], expect: [BIG_SUM, BIG_SUM - big[99999]] },
  hello: { sym: "hello", args: [[], []], expect: ["hello, world", "hello, world"] },
  cb1: { sym: "call_cb_i32", args: [[CB, 1], [CB, 2]], expect: [1, 3] },
  cb1000: { sym: "call_cb_i32", args: [[CB, 1000], [CB, 1000]], expect: [500500, 500500], per: 1000 },
  // read an int32 from memory: (pointer, byteOffset) with the system's read function
  // (sys.readI32); PTR stands for the pointer to CELLS.
  read_i32: { read: true, args: [[PTR, 0], [PTR, 4]], expect: [11, 22] },
};

// Thread ops. async: add_i32 through the system's async call, `width` calls in flight (each
// lane awaits its call before making the next one). ts: `threads` foreign threads call a
// threadsafe void callback as fast as they can; the time runs until JS has seen every call.
// blocking: foreign threads call an (i32) -> i32 callback and wait for each result.
const THREAD_OPS = {
  async_add_i32: { kind: "async", width: 1 },
  async_add_i32_x64: { kind: "async", width: 64 },
  ts_cb_1thread: { kind: "ts", threads: 1 },
  ts_cb_4threads: { kind: "ts", threads: 4 },
  blocking_cb_roundtrip: { kind: "blocking", threads: 1 },
};

// One loop per arity so that every call site is a plain, monomorphic call; each process
// builds exactly one of them. Argument k of iteration i is vk[i & 1].
function makeLoop(f, [a, b]) {
  const v = a.map((x, k) => [x, b[k]]);
  let sink;
  switch (a.length) {
    case 0: return (n) => { for (let i = 0; i < n; i++) sink = f(); return sink; };
    case 2: {
      const [v0, v1] = v;
      return (n) => { for (let i = 0; i < n; i++) sink = f(v0[i & 1], v1[i & 1]); return sink; };
    }
    case 6: {
      const [v0, v1, v2, v3, v4, v5] = v;
      return (n) => {
        for (let i = 0; i < n; i++) {
          const j = i & 1;
          sink = f(v0[j], v1[j], v2[j], v3[j], v4[j], v5[j]);
        }
        return sink;
      };
    }
    default: throw new Error(`no loop for ${a.length} arguments`);
  }
}

// Results compare loosely across systems that box differently (CString objects, numbers for
// 64-bit values); the note in `adapt` says where a system's value is not the bun:ffi type.
function same(got, want) {
  if (want === undefined) return got === undefined || got === null;
  if (typeof want === "string") return got != null && String(got) === want;
  if (typeof want === "bigint") return got != null && (typeof got === "bigint" ? got === want : BigInt(got) === want);
  return got === want;
}

function show(v) {
  return typeof v === "bigint" ? `${v}n` : typeof v === "string" ? JSON.stringify(v) : String(v);
}

const ns = (a, b) => Number(b - a);

// The machine is shared: a process that is descheduled mid-sample would count the other
// processes' time as its own. So a sample's time is the smaller of its wall-clock time and
// the process's CPU time (user + system): CPU time excludes descheduling, wall time excludes
// V8's helper threads working in parallel. Below 1 ms CPU time is too coarse; wall is used.
function measure(fn) {
  const c0 = process.cpuUsage();
  const w0 = now();
  const r = fn();
  const wall = ns(w0, now());
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) * 1000;
  return { t: wall < 1e6 ? wall : Math.min(wall, cpu), wall, cpu, r };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Op "setup": require, dlopen + 9 declarations (bun:ffi type names), the first call, then the
// first `new JSCallback` (or the system's equivalent) and a second one of the same signature.
// "setup_num": require, then dlopen + the same 9 declared with FFIType numbers (systems with
// `numbers`). "setup_300": require, then dlopen of build/libmany.so declaring its 300
// functions and calling 3 of them. Each runs in fresh processes (bench/run.js).
// The first call of `f` (a declared function; a system's callback()), timed around the call
// alone: a closure handed to measure() would be compiled by V8 inside the timed region on its
// first (and only) call, ~15 us on every column. now() and ns() have run by then.
function firstCall(f, ...args) {
  const w0 = now();
  const r = f(...args);
  const t = ns(w0, now());
  return { t, r };
}

function runSetup(sys, kind) {
  const req = measure(() => sys.load());
  const mod = req.r;
  const out = { require_ns: req.t, require_wall_ns: req.wall };
  if (kind === "setup_num") {
    // (cc systems compile C instead of opening a library: their row is the cc() one)
    if (!sys.numbers || sys.cc) return { ...out, dlopen9_num_ns: null };
    const T = sys.numbers(mod);
    const nine = {};
    for (let i = 1; i <= 9; i++) {
      const s = SIGS[`setup_${i}`];
      nine[`setup_${i}`] = { args: s.args.map((t) => T[t]), returns: T[s.returns] };
    }
    const open = measure(() => sys.open(mod, libPath, nine));
    if (open.r.fns.setup_4(1, 2, 3) !== 6) throw new Error("setup_4(1, 2, 3) (FFIType numbers) returned a wrong value");
    return { ...out, dlopen9_num_ns: open.t };
  }
  if (kind === "setup_300") {
    if (sys.linked || sys.cc) return { ...out, dlopen300_ns: null };
    const many = {};
    for (let i = 0; i < MANY; i++) many[`many_${i}`] = MANY_SIGS[i % 3];
    const run = measure(() => {
      const l = sys.open(mod, manyPath, many);
      return [l.fns.many_0(1, 2), l.fns.many_151(0.5), l.fns.many_299(1, 2)];
    });
    const want = [3, 151.5, 302];
    if (run.r.some((v, k) => Number(v) !== want[k])) throw new Error(`many_*: returned ${run.r.map(show)}, expected ${want}`);
    return { ...out, dlopen300_ns: run.t };
  }
  // What a system declares once per callback signature (koffi's prototype), untimed, as the
  // other systems' declaration objects are made before they are timed.
  if (sys.declareCallback) sys.declareCallback(mod);
  let opened;
  if (sys.linked) {
    // Linked at build time: there is nothing to open; the first call is still measured.
    opened = sys.open(mod, libPath, { add_i32: SIGS.add_i32 });
    const first = firstCall(opened.fns.add_i32, 1, 2);
    const r = first.r;
    out.first_call_ns = first.t;
    if (r !== 3) throw new Error(`add_i32(1, 2) returned ${show(r)}`);
    out.dlopen9_ns = null;
    out.cc9_ns = null;
  } else {
    const nine = {};
    for (let i = 1; i <= 9; i++) nine[`setup_${i}`] = SIGS[`setup_${i}`];
    const open = measure(() => sys.open(mod, libPath, nine));
    const first = firstCall(open.r.fns.setup_4, 1, 2, 3);
    if (first.r !== 6) throw new Error(`setup_4(1, 2, 3) returned ${show(first.r)}`);
    // A cc system compiled fixture/bench.c instead of opening libbench.so: its own row.
    out.dlopen9_ns = sys.cc ? null : open.t;
    out.cc9_ns = sys.cc ? open.t : null;
    out.first_call_ns = first.t;
    opened = open.r;
  }
  // The first callback (includes loading whatever the system loads for callbacks) and a
  // second one of the same signature. The napi columns register a JS function with their
  // addon: not comparable, so not shown.
  if (sys.linked || sys.cc) return { ...out, first_cb_ns: null, next_cb_ns: null };
  const cb1 = firstCall(sys.callback, mod, opened, (x) => x + 1, CB_SIG);
  const cb2 = firstCall(sys.callback, mod, opened, (x) => x + 2, CB_SIG);
  out.first_cb_ns = cb1.t;
  out.next_cb_ns = cb2.t;
  return out;
}

function runHot(sys, op) {
  const adapt = (sys.adapt && sys.adapt[opName]) || {};
  if (adapt.skip) throw new Error(adapt.skip);
  const mod = sys.load();
  let f;
  let opened = null;
  if (op.read) {
    if (!sys.readI32) throw new Error("no memory read function");
    const r = sys.readI32(mod, CELLS);
    f = r.f;
    op.args = op.args.map((l) => l.map((a) => (a === PTR ? r.p : a)));
  } else {
    opened = sys.open(mod, libPath, { [op.sym]: SIGS[op.sym] });
    f = opened.fns[op.sym];
  }
  if (adapt.wrap) f = adapt.wrap(f, mod);
  let args = typeof adapt.args === "function" ? adapt.args(op.args) : adapt.args || op.args;
  if (adapt.buffer) args = args.map((l) => l.map((a) => (a instanceof Uint8Array ? Buffer.from(a) : a)));
  if (args[0].includes(CB)) {
    const cb = sys.callback(mod, opened, (x) => x + 1, CB_SIG);
    args = args.map((l) => l.map((a) => (a === CB ? cb : a)));
  }
  for (let k = 0; k < 2; k++) {
    const got = f(...args[k]);
    if (!same(got, op.expect[k])) {
      throw new Error(`wrong result: ${op.sym || opName} returned ${show(got)}, expected ${show(op.expect[k])}`);
    }
  }
  const loop = makeLoop(f, args);
  const per = op.per || 1;
  const target = quick ? 10e6 : 100e6; // ns per sample
  const samplesWanted = quick ? 3 : 7;

  // Calibrate (this also warms up): grow n until one run takes a tenth of a sample.
  let n = 16;
  for (;;) {
    const { t } = measure(() => loop(n));
    if (t > target / 10 || n > 1e9) {
      n = Math.max(2, Math.round((n * target) / Math.max(t, 1)));
      break;
    }
    n *= 4;
  }
  loop(n); // one full-size warm-up sample
  const samples = [];
  const wallSamples = [];
  for (let s = 0; s < samplesWanted; s++) {
    const { t, wall, r } = measure(() => loop(n));
    wallSamples.push(wall / n / per);
    const want = op.expect[(n - 1) & 1];
    if (!same(r, want)) throw new Error(`wrong result in the loop: ${show(r)}, expected ${show(want)}`);
    samples.push(t / n / per);
  }
  samples.sort((a, b) => a - b);
  return {
    ns: median(samples),
    min: samples[0],
    max: samples[samples.length - 1],
    samples,
    wall_median: median(wallSamples),
    iterations: n,
    note: adapt.note || null,
  };
}

// Waits until `done` is called; a run that does not finish in 60 s fails (the pending timer
// also keeps the event loop alive: callbacks from threads alone need not).
function waitFor(what, arm) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what()}`)), 60e3);
    arm(() => { clearTimeout(timer); resolve(); });
  });
}

// One run of `n` calls of a thread op: returns a function n -> Promise (resolved when the
// run is complete and checked).
function threadRun(sys, op) {
  const th = sys.threads;
  if (!th) throw new Error(noThreads);
  const need = op.kind === "async" ? th.async : op.kind === "ts" ? th.tsCallback : th.blocking;
  if (typeof need === "string") throw new Error(need);
  const mod = sys.load();
  if (op.kind === "async") {
    const opened = sys.open(mod, libPath, { add_i32: SIGS.add_i32 });
    const f = th.async(opened.fns.add_i32);
    const A = [1, 3];
    const B = [2, 4];
    const R = [3, 7];
    return async (n) => {
      let next = 0;
      let bad = 0;
      const lane = async () => {
        while (next < n) {
          const j = next++ & 1;
          if ((await f(A[j], B[j])) !== R[j]) bad++;
        }
      };
      const lanes = [];
      for (let k = 0; k < op.width; k++) lanes.push(lane());
      await Promise.all(lanes);
      if (bad) throw new Error(`${bad} wrong results from add_i32`);
    };
  }
  const opened = sys.open(mod, libPath, { ts_start: SIGS.ts_start, blocking_start: SIGS.blocking_start, run_join: SIGS.run_join });
  const { ts_start, blocking_start, run_join } = opened.fns;
  let got = 0;
  let sum = 0;
  let want = 0;
  let done = null;
  let cb;
  if (op.kind === "ts") {
    cb = th.tsCallback(mod, opened, (t, i) => {
      sum += i;
      if (++got === want) done();
    });
  } else {
    cb = sys.callback(mod, opened, (x) => {
      sum += x;
      if (++got === want) done();
      return x + 1;
    }, CB_SIG);
  }
  const start = op.kind === "ts" ? ts_start : blocking_start;
  return async (n) => {
    const per = Math.max(1, Math.ceil(n / op.threads));
    got = 0;
    sum = 0;
    want = per * op.threads;
    let run;
    await waitFor(() => `${want} callbacks (got ${got})`, (d) => {
      done = d;
      run = start(cb, op.threads, per);
    });
    const bad = run_join(run);
    if (bad !== 0) throw new Error(bad < 0 ? "could not start the threads" : `${bad} wrong callback results seen in C`);
    const wantSum = (op.threads * per * (per - 1)) / 2;
    if (sum !== wantSum) throw new Error(`callback arguments sum to ${sum}, expected ${wantSum}`);
  };
}

// Wall-clock time only: CPU time counts the other threads' work and none of the waiting
// for a wake-up, which is what these ops measure.
async function runThreads(sys, op) {
  const run = await threadRun(sys, op);
  const target = quick ? 10e6 : 100e6; // ns per sample
  const samplesWanted = quick ? 3 : 7;
  const timed = async (n) => {
    const w0 = now();
    await run(n);
    return ns(w0, now());
  };
  let n = op.kind === "async" ? 4 * op.width : 16;
  for (;;) {
    const t = await timed(n);
    if (t > target / 10 || n > 1e8) {
      n = Math.max(op.width || op.threads, Math.round((n * target) / Math.max(t, 1)));
      break;
    }
    n *= 4;
  }
  // A run has fixed costs (starting threads, the first wake-ups, a cold JIT) that make the
  // first estimate too small: rescale until a run takes at least half a sample. These runs
  // are the warm-up.
  for (let k = 0; k < 4; k++) {
    if (op.threads) n = Math.ceil(n / op.threads) * op.threads;
    const t = await timed(n);
    if (t >= target / 2 || n > 1e8) break;
    n = Math.round((n * target) / Math.max(t, 1));
  }
  if (op.threads) n = Math.ceil(n / op.threads) * op.threads;
  await run(n); // one full-size warm-up sample
  const samples = [];
  for (let s = 0; s < samplesWanted; s++) samples.push((await timed(n)) / n);
  samples.sort((a, b) => a - b);
  const note = op.kind === "ts" && sys.threads.tsNote ? sys.threads.tsNote : null;
  return {
    ns: median(samples), min: samples[0], max: samples[samples.length - 1], samples,
    wall_median: median(samples), iterations: n, note,
  };
}

// The qsort workload (ops qsort_read, qsort_direct): libc qsort of QSORT_N pseudo-random
// int32 with a JS comparator; one warm-up sort, then samples of sorting a fresh copy of the
// same data (CPU-or-wall time as the hot ops); the result is ns per sort, checked sorted.
const QSORT_N = 200000;
function runQsort(sys, mode) {
  if (!sys.qsort) throw new Error("not adapted to the qsort workload");
  const sort = sys.qsort(sys.load(), mode);
  const data = new Int32Array(QSORT_N);
  let x = 12345;
  for (let i = 0; i < QSORT_N; i++) data[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 2; // < 2^30
  const sorted = Int32Array.from(data).sort();
  const once = () => {
    const a = Int32Array.from(data);
    const m = measure(() => sort(a));
    for (let i = 0; i < QSORT_N; i++) if (a[i] !== sorted[i]) throw new Error(`not sorted at index ${i}`);
    return m.t;
  };
  once(); // warm-up
  const samples = [];
  for (let s = 0; s < (quick ? 2 : 5); s++) samples.push(once());
  samples.sort((a, b) => a - b);
  return { ns: median(samples), min: samples[0], max: samples[samples.length - 1], samples };
}

function main() {
  const sys = systems[systemName];
  if (!sys) throw new Error(`unknown system ${systemName}`);
  if (opName === "setup" || opName === "setup_num" || opName === "setup_300") return runSetup(sys, opName);
  if (THREAD_OPS[opName]) return runThreads(sys, THREAD_OPS[opName]);
  if (opName === "qsort_read" || opName === "qsort_direct") return runQsort(sys, opName.slice(6));
  const op = OPS[opName];
  if (!op) throw new Error(`unknown op ${opName}`);
  return runHot(sys, op);
}

Promise.resolve().then(main).then(
  (r) => ({ ok: true, ...r }),
  (e) => ({ ok: false, error: String((e && e.message) || e).split("\n")[0] }),
).then((result) => {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // Some systems keep the event loop alive (callbacks, threads); the measurement is done.
  process.exit(0);
});
