// structs.js: what structs cost (SPEC §17), cffi next to koffi in the same run: a 2 × f64
// struct argument, a 4 × i32 struct result, a C loop calling a JS callback with a 2 × f64
// struct 100 times, and a loop reading 100 structs of a C array through a pointer (cffi:
// L.read; koffi: koffi.decode); and, cffi only, a field read through a live L.view next to
// read.f64 of the same field.
// Each (system, op) runs in a fresh process (like bench/worker.js): calibrate, warm up, then
// 7 timed samples; the median is reported in ns per call (per loop of 100 for the array).
// Usage: node bench/structs.js [--quick] [--out=<file>]   (koffi from bench/setup.js)
"use strict";
const { execFileSync, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const benchDir = __dirname;
const lib = path.join(benchDir, "build", "libstructs.so");
const OPS = {
  pt_arg: "pt_norm2(pt_t {f64 x, y}): a 2 × f64 struct argument",
  quad_ret: "quad_from(i32) → quad_t {i32 a, b, c, d}: a 4 × i32 struct result",
  pt_cb100: "pt_cb_sum(cb, 100): C calls a JS callback taking a pt_t by value (per loop of 100)",
  read100: "100 × read of a pt_t from a C array (per loop of 100)",
};
const SYSTEMS = {
  cffi: { env: {} },
  "cffi (CFFI_JIT=0)": { env: { CFFI_JIT: "0" } },
  koffi: { env: {} },
};

// ---- one measurement (child process) -----------------------------------------------------
function cffiOps() {
  const { dlopen, struct, read, JSCallback } = require("../lib/index.js");
  const Pt = struct({ x: "f64", y: "f64" });
  const Quad = struct({ a: "i32", b: "i32", c: "i32", d: "i32" });
  const { symbols: s } = dlopen(lib, {
    pt_norm2: { args: [Pt], returns: "f64" },
    quad_from: { args: ["i32"], returns: Quad },
    pt_cb_sum: { args: ["function", "i32"], returns: "f64" },
    points_array: { returns: "ptr" },
  });
  const cb = new JSCallback((p) => p.x + p.y, { args: [Pt], returns: "f64" });
  const base = s.points_array();
  const view = Pt.view(base + 7 * 16); // a live view of points[7]
  return {
    pt_arg: [(p) => s.pt_norm2(p), [{ x: 3, y: 4 }, { x: 1, y: 2 }], [25, 5]],
    quad_ret: [(k) => s.quad_from(k).d, [1, 2], [4, 5]],
    pt_cb100: [() => s.pt_cb_sum(cb, 100), [undefined, undefined], [7425, 7425]],
    read100: [() => {
      let sum = 0;
      for (let i = 0; i < 100; i++) sum += Pt.read(base, 16 * i).y;
      return sum;
    }, [undefined, undefined], [2475, 2475]],
    view_field: [() => view.y, [undefined, undefined], [3.5, 3.5]],
    read_f64: [() => read.f64(base, 7 * 16 + 8), [undefined, undefined], [3.5, 3.5]],
  };
}

function koffiOps() {
  const koffi = require(path.join(benchDir, "node_modules", "koffi"));
  const Pt = koffi.struct("pt_t", { x: "double", y: "double" });
  const Quad = koffi.struct("quad_t", { a: "int32_t", b: "int32_t", c: "int32_t", d: "int32_t" });
  const L = koffi.load(lib);
  const ptNorm2 = L.func("double pt_norm2(pt_t p)");
  const quadFrom = L.func("quad_t quad_from(int32_t s)");
  const PtCb = koffi.proto("double pt_cb(pt_t p)");
  const ptCbSum = L.func("double pt_cb_sum(pt_cb *cb, int32_t n)");
  const cb = koffi.register((p) => p.x + p.y, koffi.pointer(PtCb));
  const pointsArray = L.func("pt_t *points_array(void)");
  const base = pointsArray();
  return {
    pt_arg: [(p) => ptNorm2(p), [{ x: 3, y: 4 }, { x: 1, y: 2 }], [25, 5]],
    quad_ret: [(k) => quadFrom(k).d, [1, 2], [4, 5]],
    pt_cb100: [() => ptCbSum(cb, 100), [undefined, undefined], [7425, 7425]],
    read100: [() => {
      let sum = 0;
      for (let i = 0; i < 100; i++) sum += koffi.decode(base, 16 * i, Pt).y;
      return sum;
    }, [undefined, undefined], [2475, 2475]],
  };
}

function measureChild(system, op, quick) {
  const ops = system === "koffi" ? koffiOps() : cffiOps();
  if (!ops[op]) return { na: `${system} has no ${op}` };
  const [f, [a, b], [wa, wb]] = ops[op];
  if (f(a) !== wa || f(b) !== wb) throw new Error(`${system} ${op}: wrong result ${f(a)} / ${f(b)}`);
  const loop = (n) => {
    let sink = 0;
    for (let i = 0; i < n; i++) sink = f(i & 1 ? b : a);
    return sink;
  };
  let n = 1000;
  for (;;) { // calibrate to ~20 ms (2 ms with --quick) per sample
    const t0 = process.hrtime.bigint();
    loop(n);
    const t = Number(process.hrtime.bigint() - t0);
    if (t > (quick ? 2e6 : 2e7) || n > 1e8) break;
    n *= 4;
  }
  const samples = [];
  for (let k = 0; k < (quick ? 3 : 7); k++) {
    const t0 = process.hrtime.bigint();
    loop(n);
    samples.push(Number(process.hrtime.bigint() - t0) / n);
  }
  samples.sort((x, y) => x - y);
  return { ns: samples[samples.length >> 1], min: samples[0], max: samples[samples.length - 1] };
}

// ---- the table (parent) --------------------------------------------------------------------
function main() {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const outArg = args.find((a) => a.startsWith("--out="));
  fs.mkdirSync(path.join(benchDir, "build"), { recursive: true });
  execFileSync("cc", ["-shared", "-fPIC", "-O2", "-o", lib, path.join(benchDir, "fixture", "structs.c")]);
  const hasKoffi = fs.existsSync(path.join(benchDir, "node_modules", "koffi"));
  const rows = [];
  const ops = {
    ...OPS,
    view_field: "a field read through a live L.view (cffi only)",
    read_f64: "read.f64(ptr, offset) of the same field, for comparison (cffi only)",
  };
  for (const [op, label] of Object.entries(ops)) {
    const cells = {};
    for (const [name, sys] of Object.entries(SYSTEMS)) {
      if (name === "koffi" && !hasKoffi) { cells[name] = "n/a (run bench/setup.js)"; continue; }
      const r = spawnSync(process.execPath, [__filename, "--child", name, op, ...(quick ? ["--quick"] : [])],
        { env: { ...process.env, ...sys.env }, encoding: "utf8" });
      if (r.status !== 0) { cells[name] = `failed: ${(r.stderr || "").trim().split("\n").pop()}`; continue; }
      cells[name] = JSON.parse(r.stdout.trim().split("\n").pop());
    }
    rows.push({ op, label, cells });
    process.stderr.write(".");
  }
  process.stderr.write("\n");
  const fmt = (c) => (typeof c === "string" ? c : c.na ? "—" : `${c.ns.toFixed(1)}`);
  const lines = [
    `# Structs (SPEC §17): ns per call, median of ${quick ? 3 : 7} samples (lower is faster)`,
    "",
    `Node ${process.version}, ${new Date().toISOString().slice(0, 10)}${quick ? ", --quick (not a measurement)" : ""}`,
    "",
    `| op | ${Object.keys(SYSTEMS).join(" | ")} | koffi / cffi |`,
    `| --- | ${Object.keys(SYSTEMS).map(() => "---:").join(" | ")} | ---: |`,
  ];
  for (const { label, cells } of rows) {
    const c = cells.cffi, k = cells.koffi;
    const ratio = c && k && c.ns && k.ns ? `${(k.ns / c.ns).toFixed(2)}×` : "—";
    lines.push(`| ${label} | ${Object.keys(SYSTEMS).map((s) => fmt(cells[s])).join(" | ")} | ${ratio} |`);
  }
  const text = lines.join("\n") + "\n";
  process.stdout.write(text);
  const out = outArg ? outArg.slice(6) : quick ? null : path.join(benchDir, "results-structs.md");
  if (out) fs.writeFileSync(out, text);
  const failed = rows.some((r) => ["cffi", "cffi (CFFI_JIT=0)"].some((s) => typeof r.cells[s] === "string"));
  process.exit(failed ? 1 : 0);
}

if (process.argv[2] === "--child") {
  const [system, op] = process.argv.slice(3);
  process.stdout.write(JSON.stringify(measureChild(system, op, process.argv.includes("--quick"))) + "\n");
} else {
  main();
}
