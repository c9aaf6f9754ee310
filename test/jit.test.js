// jit.test.js: the TinyCC call path against the libffi reference. The same scenarios run in
// two child processes, one with the JIT (default) and one with CFFI_JIT=0, calling the
// native binding directly through the shared buffer; every result (slot 0's 64 bits, tag 0,
// the returned JS value, errno) must be identical, and a few are also checked against known
// values. Also: no memory is writable and executable during or after compiling and TinyCC's
// data pages are read-only (test/fixtures/execmem_shim.c logs the requests), viewSource's
// native half, and (when valgrind is on PATH, on the JIT pass) one run under valgrind.
"use strict";
const { test } = require("node:test");
const assert = require("node:assert/strict");
const { spawnSync, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { fixtures, cffiDir, hasTool, asanSkip, emulated } = require("./helpers.js");

const CHILD = process.env.CFFI_JIT_TEST_CHILD === "1";

// ---- the scenarios (run in the child) -----------------------------------------------------

const T = { char: 0, i8: 1, u8: 2, i16: 3, u16: 4, i32: 5, u32: 6, i64: 7, u64: 8, f64: 9, f32: 10,
  bool: 11, ptr: 12, void: 13, cstring: 14, i64_fast: 15, u64_fast: 16, function: 17, buffer: 20,
  buffer_length: 21 };
const TAG = { RAW: 0, F64: 1, VIEW: 2, DATAVIEW: 3, ARRAYBUF: 4, STRING: 5 };

// An argument: {i32}, {f64}, {big} (raw 64 bits, tag RAW), {num} (double, tag F64),
// {js, tag} (object path: the JS value is passed positionally).
const i32 = (v) => ({ i32: v });
const f64 = (v) => ({ f64: v });
const big = (v) => ({ big: v });
const num = (v) => ({ num: v });
const obj = (js, tag) => ({ js, tag });

const specials = [0, -0, 1, -1, -5.7, 5.7, 2 ** 31, -(2 ** 31), 2 ** 32 + 3, 2 ** 53, 2 ** 53 + 2,
  2 ** 63, -(2 ** 63), 2 ** 64, 2 ** 64 + 4096, -(2 ** 64) - 4096, 1e300, -1e300, NaN, Infinity,
  -Infinity, 5e-324];
const ints32 = [0, 1, -1, 127, 128, 255, 256, -129, 32767, 32768, 65535, 65536, 2 ** 31 - 1, -(2 ** 31)];
const bigs = [0n, 1n, -1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), -(2n ** 53n) - 1n];

function scenarios() {
  const s = [];
  for (const [name, t] of [["id_i8", T.i8], ["id_u8", T.u8], ["id_i16", T.i16], ["id_u16", T.u16],
    ["id_i32", T.i32], ["id_u32", T.u32], ["id_i8", T.char], ["id_bool", T.bool], ["bool_as_int", T.bool]]) {
    s.push({ sym: name, ret: name === "bool_as_int" ? T.i32 : t, args: [t], calls: ints32.map((v) => [i32(v)]) });
  }
  for (const t of [T.i64, T.u64, T.i64_fast, T.u64_fast]) {
    const name = t === T.i64 || t === T.i64_fast ? "id_i64" : "id_u64";
    s.push({ sym: name, ret: t, args: [t], calls: [...specials.map((v) => [num(v)]), ...bigs.map((v) => [big(v)])] });
  }
  s.push({ sym: "id_u64", ret: T.u64, args: [T.buffer_length], calls: [[num(12)], [big(99n)]] });
  s.push({ sym: "id_f64", ret: T.f64, args: [T.f64], calls: specials.map((v) => [f64(v)]) });
  s.push({ sym: "id_f32", ret: T.f32, args: [T.f32], calls: specials.map((v) => [f64(v)]) });
  for (const t of [T.ptr, T.function]) {
    s.push({ sym: "ptr_bits", ret: T.u64, args: [t],
      calls: [[num(0)], [num(4096)], [num(2 ** 53)], [num(2 ** 63)], [num(2 ** 63 + 2 ** 12)], [big(-1n)],
        [big(2n ** 60n)]] });
    s.push({ sym: "bits_ptr", ret: t, args: [T.u64],
      calls: [[big(0n)], [big(1n)], [big(2n ** 53n - 1n)], [big(2n ** 53n)], [big(-1n)]] });
  }
  s.push({ sym: "garbage_u8", ret: T.u8, args: [], calls: [[]] });
  s.push({ sym: "garbage_u8", ret: T.i8, args: [], calls: [[]] });
  s.push({ sym: "garbage_u8", ret: T.char, args: [], calls: [[]] });
  s.push({ sym: "garbage_u16", ret: T.u16, args: [], calls: [[]] });
  s.push({ sym: "garbage_u16", ret: T.i16, args: [], calls: [[]] });
  s.push({ sym: "garbage_i32", ret: T.i32, args: [], calls: [[]] });
  s.push({ sym: "garbage_i32", ret: T.u32, args: [], calls: [[]] });
  s.push({ sym: "garbage_bool0", ret: T.bool, args: [], calls: [[]] });
  s.push({ sym: "garbage_bool2", ret: T.bool, args: [], calls: [[]] });
  for (const t of [T.i8, T.u8, T.i16, T.u16, T.bool, T.char])
    s.push({ sym: "raw_edi", ret: T.u32, args: [t], calls: ints32.map((v) => [i32(v)]) });
  s.push({ sym: "raw_esi", ret: T.u32, args: [T.i32, T.i8], calls: [[i32(1), i32(-1)], [i32(2), i32(200)]] });
  s.push({ sym: "raw_esi", ret: T.u32, args: [T.f64, T.i32, T.u16], calls: [[f64(1), i32(5), i32(-1)]] });
  s.push({ sym: "nan_f64", ret: T.f64, args: [T.i32], calls: [[i32(0)], [i32(1)], [i32(2)]] });
  s.push({ sym: "nan_f32", ret: T.f32, args: [T.i32], calls: [[i32(0)], [i32(1)]] });
  s.push({ sym: "set_errno", ret: T.i32, args: [T.i32], calls: [[i32(2)], [i32(0)], [i32(34)]] });
  s.push({ sym: "noop", ret: T.i32, args: [], calls: [[]] });
  s.push({ sym: "nothing", ret: T.void, args: [], calls: [[]] });

  // 64 mixed arguments
  const cyc = [T.i32, T.f64, T.i64, T.f32, T.u8, T.ptr, T.i16, T.u64];
  const args64 = [];
  for (let k = 0; k < 64; k++) args64.push(cyc[k % 8]);
  const call64 = (seed) => args64.map((t, k) => {
    const v = (k + 1) * seed;
    switch (t) {
      case T.f64: return f64(v / 7);
      case T.f32: return f64(v / 3);
      case T.i64: return k % 16 === 2 ? num(-v * 1e9) : big(BigInt(-v) * 1000000007n);
      case T.u64: return k % 16 === 7 ? num(v * 1e12) : big(BigInt(v) << 40n);
      case T.ptr: return k % 16 === 5 ? num(v * 4096) : big(BigInt(v) << 12n);
      default: return i32(v * 1000003 * (k % 3 === 0 ? -1 : 1));
    }
  });
  s.push({ sym: "hash64", ret: T.u64, args: args64, calls: [call64(1), call64(-3), call64(77)] });
  const args36 = [...Array(33).fill(T.f64), T.i32, T.i64, T.f32];
  s.push({ sym: "sum_mixed36", ret: T.f64, args: args36,
    calls: [args36.map((t, k) => (t === T.i64 ? num(-5) : t === T.i32 ? i32(3) : f64(k * 0.25 - 2)))] });

  // the object path: strings and views (one napi_get_cb_info, cffi_load_arg)
  const bytes = new Uint8Array([1, 2, 3, 250, 251]);
  s.push({ sym: "str_len", ret: T.u64, args: [T.cstring],
    calls: [[obj("hello", TAG.STRING)], [obj("héllo wörld", TAG.STRING)], [obj("x".repeat(600), TAG.STRING)],
      [num(0)], [obj(Buffer.from("abc\0"), TAG.VIEW)]] });
  s.push({ sym: "str_len2", ret: T.u64_fast, args: [T.cstring, T.cstring],
    calls: [[obj("y".repeat(700), TAG.STRING), obj("z".repeat(300), TAG.STRING)],
      [obj("ab", TAG.STRING), num(0)]] });
  s.push({ sym: "id_cstring", ret: T.cstring, args: [T.cstring],
    calls: [[obj("round trip ✓", TAG.STRING)], [num(0)]] });
  s.push({ sym: "sum_bytes", ret: T.u32, args: [T.buffer, T.buffer_length],
    calls: [[obj(bytes, TAG.VIEW), num(5)], [obj(new DataView(bytes.buffer, 1, 2), TAG.DATAVIEW), num(2)],
      [obj(bytes.buffer, TAG.ARRAYBUF), num(3)], [obj(bytes.subarray(3), TAG.VIEW), num(2)]] });
  s.push({ sym: "id_ptr", ret: T.ptr, args: [T.ptr], calls: [[num(0)], [big(2n ** 60n)], [num(8)]] });
  s.push({ sym: "id_cstring", ret: T.cstring, args: [T.cstring], calls: [[obj("long ".repeat(200), TAG.STRING)]] });
  const lateArgs = [...Array(7).fill(T.i32), ...Array(9).fill(T.f64), T.buffer, T.buffer_length, T.cstring];
  s.push({ sym: "late_bytes", ret: T.u32, args: lateArgs,
    calls: [lateArgs.map((t, k) => (t === T.i32 ? i32(k) : t === T.f64 ? f64(k + 0.5) : t === T.buffer ? obj(bytes, TAG.VIEW)
      : t === T.buffer_length ? num(5) : obj("stack", TAG.STRING)))] });
  return s;
}

function allMaps() {
  return fs.readFileSync("/proc/self/maps", "utf8").split("\n").filter(Boolean);
}
function executableMaps() {
  return allMaps().filter((l) => /^\S+ ..x/.test(l));
}

function runChild() {
  const binding = require(path.join(cffiDir, "lib", "abi.js")).binding;
  const buf = binding.state();
  const I32 = new Int32Array(buf, 0, 130);
  const F64 = new Float64Array(buf, 0, 65);
  const U64 = new BigUint64Array(buf, 0, 65);
  const TG = new Uint8Array(buf, 8 * 65, 65);
  const lib = binding.open(process.env.CFFI_JIT_TEST_LIB);
  const list = scenarios();
  const address = (name) => { // binding.sym leaves it in slot 0 as a pointer result
    binding.sym(lib, [name], 0);
    return TG[0] === 0 ? F64[0] : TG[0] === 2 ? null : U64[0];
  };
  const defs = list.map((c) => [address(c.sym), c.ret, c.args, null]);
  const exBefore = executableMaps();
  const mapsBefore = allMaps();
  const batch = binding.link(defs); // the batch (its .source: the JS of its symbol functions)
  const jit = process.env.CFFI_JIT === "0" ? [] : binding.later().jit(batch); // one batch: one TinyCC state
  const fns = defs.map((d, i) => jit[i] || binding.later().entry(batch, i)); // JIT, or libffi
  const exAfter = executableMaps();
  const mapsAfter = allMaps();
  const out = { results: [], jit: fns.map((_, i) => Boolean(jit[i])) };
  list.forEach((c, i) => {
    for (const call of c.calls) {
      const js = [];
      call.forEach((a, k) => {
        const slot = 1 + k;
        U64[slot] = 0xdeadbeefdeadbeefn; // garbage above 32-bit values
        if ("i32" in a) I32[2 * slot] = a.i32;
        else if ("f64" in a) F64[slot] = a.f64;
        else if ("big" in a) { U64[slot] = BigInt.asUintN(64, a.big); TG[slot] = TAG.RAW; }
        else if ("num" in a) { F64[slot] = a.num; TG[slot] = TAG.F64; }
        else TG[slot] = a.tag;
        js.push(a.js);
      });
      U64[0] = 0x5a5a5a5a5a5a5a5an;
      TG[0] = 9;
      const rv = fns[i](...js);
      out.results.push({ sym: c.sym, ret: c.ret, args: call.map((a) => ("js" in a ? `<${a.tag}>` : String(Object.values(a)[0]))).join(","),
        slot: U64[0].toString(16), tag: TG[0], rv: rv === undefined ? "undefined" : JSON.stringify(rv),
        errno: binding.later().errno() });
    }
  });
  // Linking must not add a writable+executable mapping (the JIT relocates into RW pages,
  // then makes them RX). V8 keeps one of its own, so compare with the state just before; an
  // rwx line inside a range mapped before is V8 committing its reserved code space (arm64 V8
  // does so as it compiles), never the JIT's code, which is a fresh mmap.
  const range = (l) => l.split(" ")[0].split("-").map((h) => BigInt(`0x${h}`));
  const mappedBefore = []; // contiguous ranges: one region may be split into several lines
  for (const [lo, hi] of mapsBefore.map(range)) {
    const last = mappedBefore[mappedBefore.length - 1];
    if (last && last[1] === lo) last[1] = hi;
    else mappedBefore.push([lo, hi]);
  }
  out.newExec = exAfter.filter((l) => !exBefore.includes(l) &&
    !(/^\S+ rwx/.test(l) && mappedBefore.some(([lo, hi]) => range(l)[0] >= lo && range(l)[1] <= hi)));
  out.newMaps = mapsAfter.filter((l) => !mapsBefore.includes(l));
  process.stdout.write(JSON.stringify(out));
}

if (CHILD) {
  runChild();
  return;
}

// ---- the tests (parent) -------------------------------------------------------------------

function child(env, prefix = []) {
  const r = spawnSync(prefix.length ? prefix[0] : process.execPath,
    [...prefix.slice(1), ...(prefix.length ? [process.execPath] : []), __filename], {
      env: { ...process.env, CFFI_JIT_TEST_CHILD: "1", CFFI_JIT_TEST_LIB: fixtures.jit, ...env },
      encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `child failed (${JSON.stringify(env)}):\n${r.stderr}`);
  return { ...JSON.parse(r.stdout), stderr: r.stderr };
}

let jitRun, ffiRun;
function runs() {
  jitRun ??= child({ CFFI_JIT: "1" });
  ffiRun ??= child({ CFFI_JIT: "0" });
  return { jitRun, ffiRun };
}

test("every scenario signature is JIT-compiled in one batch (and none with CFFI_JIT=0)", () => {
  const { jitRun, ffiRun } = runs();
  assert.ok(jitRun.jit.every(Boolean), `not JIT: ${jitRun.jit.map((j, i) => (j ? "" : i)).filter(String)}`);
  assert.ok(ffiRun.jit.every((j) => !j));
});

test("JIT and libffi agree bit for bit", () => {
  const { jitRun, ffiRun } = runs();
  assert.equal(jitRun.results.length, ffiRun.results.length);
  for (let i = 0; i < jitRun.results.length; i++) {
    assert.deepEqual(jitRun.results[i], ffiRun.results[i], `case ${i}: ${jitRun.results[i].sym}(${jitRun.results[i].args})`);
  }
});

test("known values: narrow results, bools, NaN, 64-bit conversions, errno, strings", () => {
  const { jitRun } = runs();
  const get = (sym, ret, args) => {
    const r = jitRun.results.find((x) => x.sym === sym && x.ret === ret && x.args === args);
    assert.ok(r, `${sym} ${ret} ${args}`);
    return r;
  };
  const low32 = (r) => Number(BigInt.asIntN(32, BigInt(`0x${r.slot}`)));
  assert.equal(low32(get("garbage_u8", T.u8, "")), 128);
  assert.equal(low32(get("garbage_u8", T.i8, "")), -128);
  assert.equal(low32(get("garbage_u16", T.u16, "")), 32769);
  assert.equal(low32(get("garbage_u16", T.i16, "")), -32767);
  assert.equal(low32(get("garbage_i32", T.i32, "")), -2147483643);
  assert.equal(low32(get("garbage_bool0", T.bool, "")), 0);
  assert.equal(low32(get("garbage_bool2", T.bool, "")), 1);
  // narrow arguments arrive extended to 32 bits (what clang-compiled callees rely on)
  assert.equal(get("nan_f64", T.f64, "1").slot, "7ff8000000000000");
  assert.equal(get("nan_f32", T.f32, "0").slot, "7ff8000000000000");
  assert.equal(get("id_i64", T.i64, "-5.7").slot, BigInt.asUintN(64, -5n).toString(16));
  assert.equal(get("id_i64", T.i64, "18446744073709556000").slot, "1000");
  assert.equal(get("id_i64", T.i64, "NaN").slot, "0");
  const safe = get("id_u64", T.u64_fast, "9007199254740992");
  assert.equal(safe.tag, 1); // 2^53 is not safe: BigInt
  assert.equal(get("id_i64", T.i64_fast, "-1").tag, 0);
  assert.equal(get("bits_ptr", T.ptr, "0").tag, 2);
  assert.equal(get("bits_ptr", T.ptr, "-1").tag, 1);
  assert.equal(get("set_errno", T.i32, "34").errno, 34);
  assert.equal(get("str_len", T.u64, "<5>").slot, "5"); // "hello"
  assert.equal(get("id_cstring", T.cstring, "<5>").rv, JSON.stringify("round trip ✓"));
  assert.equal(get("id_cstring", T.cstring, "0").rv, "null");
  assert.equal(get("sum_bytes", T.u32, "<2>,5").slot.slice(-8), (1 + 2 + 3 + 250 + 251).toString(16).padStart(8, "0"));
});

// During the compile too: the child runs with test/fixtures/execmem_shim.c preloaded, which
// logs every request cffi.node makes (libtcc's included) for memory writable and executable.
const shimSkip = process.env.CFFI_ASAN === "1" && "under ASan (CFFI_ASAN=1): LD_PRELOAD is libasan's";
test("no memory is ever writable and executable, and TinyCC's data pages are not executable", { skip: shimSkip }, (t) => {
  const log = path.join(fs.mkdtempSync(path.join(require("node:os").tmpdir(), "cffi-jit-wx-")), "wx.log");
  let r, wx;
  try {
    r = child({ CFFI_JIT: "1", LD_PRELOAD: fixtures.execmem_shim, CFFI_TEST_EXECMEM: "record", CFFI_TEST_EXECMEM_LOG: log });
    wx = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
  } finally {
    fs.rmSync(path.dirname(log), { recursive: true, force: true });
  }
  assert.equal(wx, "", "requests for writable+executable memory (mprotect|mmap, prot, length)");
  assert.ok(r.jit.every(Boolean));
  assert.ok(r.newExec.length >= 1, "the compiled code should be in a new executable mapping");
  assert.deepEqual(r.newExec.filter((l) => /^\S+ .w/.test(l)), []);
  // the block's data pages (TinyCC's .data, .bss, GOT) follow its code, read-only. Not visible
  // under qemu-user: its /proc/self/maps prints the host's mappings, where a guest's executable
  // pages are mapped read-only like the data pages next to them, so the block is one line with
  // its first page's flags (measured: a 10-page mapping mprotected 4 pages r-x + 6 pages r--
  // shows as one r-xp line under qemu-aarch64 7.2, as two lines natively).
  if (emulated) t.diagnostic("under emulation: /proc/self/maps cannot show the data pages' protection");
  else for (const code of r.newExec) {
    const end = code.split(/[- ]/)[1];
    const data = r.newMaps.find((l) => l.startsWith(`${end}-`));
    assert.ok(data && /^\S+ r--p /.test(data), `after the code ${code}: ${data}`);
  }
});

test("CFFI_DEBUG_SOURCE prints the generated C", () => {
  const r = child({ CFFI_JIT: "1", CFFI_DEBUG_SOURCE: "1" });
  assert.match(r.stderr, /#line 1 "cffi:/);
  assert.match(r.stderr, /napi_value cffi_call_0\(napi_env env, napi_callback_info info\)/);
});

test("viewSource's native half: C for JIT signatures and for the callback trampolines", () => {
  const binding = require(path.join(cffiDir, "lib", "abi.js")).binding;
  const src = binding.later().source(T.f64, [T.i32, T.cstring, T.u64], false);
  assert.equal(typeof src, "string");
  assert.match(src, /^#line 1 "cffi:prelude"/);
  assert.match(src, /#line 1 "cffi:[^"]*:double\(int32_t, char \*, uint64_t\)"/);
  const cb = binding.later().source(T.f64, [T.i32, T.cstring], true); // what a hot JSCallback runs
  assert.match(cb, /#line 1 "cffi:callback:double\(int32_t, char \*\)"/);
  assert.match(cb, /double cffi_call_0\(int32_t a0, char \* a1\)/);
});

// The valgrind child always runs with CFFI_JIT=1, so the libffi pass (CFFI_JIT=0) would only
// repeat the JIT pass's run (~11 s).
const valgrindSkip = asanSkip || (process.env.CFFI_JIT === "0" ? "runs on the JIT pass only (the child is CFFI_JIT=1 either way)"
  : !hasTool("valgrind") ? "valgrind is not on PATH"
  // an arm64 Node under qemu-user (.ci/arm64-test) finds the x86-64 valgrind, which cannot run it
  : process.arch !== "x64" && spawnSync("valgrind", ["--tool=none", "-q", process.execPath, "-e", "0"]).status !== 0 &&
    `valgrind cannot run this ${process.arch} Node`);
test("under valgrind: no invalid reads or writes in compiled code", { skip: valgrindSkip, timeout: 600000 }, () => {
  const r = child({ CFFI_JIT: "1" }, ["valgrind", "--error-exitcode=99", "--quiet", "--smc-check=all"]);
  const { jitRun } = runs();
  assert.ok(r.jit.every(Boolean));
  assert.deepEqual(r.results, jitRun.results);
});

// ---- through the public API (runs in whichever mode the suite runs: CFFI_JIT=0 or not) ----

const { jit, cffiPath, collect } = require("./helpers.js");

test("a callback that re-enters cffi does not disturb the outer call's arguments", () => {
  const cffi = require(cffiPath);
  const lib = cffi.dlopen(fixtures.jit, {
    reenter: { args: ["function", "i32", "f64", "i64", "cstring", "f32"], returns: "f64" },
    id_f64: { args: ["f64"], returns: "f64" },
    str_len: { args: ["cstring"], returns: "u64" },
  });
  const { reenter, id_f64, str_len } = lib.symbols;
  const cb = new cffi.JSCallback((a) => {
    // overwrite every slot the outer call used
    assert.equal(id_f64(-1e9), -1e9);
    assert.equal(str_len("a string long enough".repeat(40)), 800n);
    return a * 2;
  }, { args: ["i32"], returns: "i32" });
  try {
    assert.equal(reenter(cb, 21, 0.5, 1000n, "héllo", 0.25), 42 + 0.5 + 1000 + 6 + 0.25);
    assert.equal(reenter(cb.ptr, 1, 1, 1, "x".repeat(700), 1), 2 + 1 + 1 + 700 + 1);
  } finally {
    cb.close();
    lib.close();
  }
});

test("an exception thrown by a callback is rethrown by the call, and the next call works", () => {
  const cffi = require(cffiPath);
  const lib = cffi.dlopen(fixtures.jit, {
    reenter: { args: ["function", "i32", "f64", "i64", "cstring", "f32"], returns: "f64" },
    set_errno: { args: ["i32"], returns: "i32" },
  });
  const boom = new Error("boom");
  const cb = new cffi.JSCallback(() => {
    throw boom;
  }, { args: ["i32"], returns: "i32" });
  const ok = new cffi.JSCallback((a) => a, { args: ["i32"], returns: "i32" });
  try {
    assert.throws(() => lib.symbols.reenter(cb, 1, 2, 3, "s", 4), (e) => e === boom);
    assert.equal(lib.symbols.reenter(ok, 1, 2, 3n, "s", 4), 1 + 2 + 3 + 1 + 4);
    assert.equal(lib.symbols.set_errno(33), -1);
    assert.equal(cffi.errno(), 33);
  } finally {
    cb.close();
    ok.close();
    lib.close();
  }
});

test("worker threads compile and call their own trampolines concurrently", async () => {
  const { Worker } = require("node:worker_threads");
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const cffi = require(workerData.cffiPath);
    let sum = 0;
    for (let round = 0; round < 20; round++) {
      const lib = cffi.dlopen(workerData.lib, {
        id_i32: { args: ["i32"], returns: "i32" },
        id_f64: { args: ["f64"], returns: "f64" },
        id_u64: { args: ["u64"], returns: "u64" },
        str_len: { args: ["cstring"], returns: "u64" },
      });
      for (let i = 0; i < 200; i++) {
        sum += lib.symbols.id_i32(i) + lib.symbols.id_f64(i / 2) + Number(lib.symbols.id_u64(i)) +
          Number(lib.symbols.str_len("ab"));
      }
      lib.close();
    }
    parentPort.postMessage(sum);`;
  const expected = 20 * Array.from({ length: 200 }, (_, i) => i + i / 2 + i + 2).reduce((a, b) => a + b, 0);
  const results = await Promise.all([0, 1, 2].map(() => new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { cffiPath, lib: fixtures.jit } });
    w.once("message", resolve);
    w.once("error", reject);
  })));
  assert.deepEqual(results, [expected, expected, expected]);
});

// 120 calls compile a batch at thresholds up to 119 (the default is 100; a larger one, as in
// `CFFI_JIT_THRESHOLD=1000000 npm test`, compiles nothing here to unmap)
const threshold = /^\d+$/.test(process.env.CFFI_JIT_THRESHOLD ?? "") ? Number(process.env.CFFI_JIT_THRESHOLD) : 100;
const notCompiled = !jit ? "libffi mode" : threshold >= 120 && `CFFI_JIT_THRESHOLD=${threshold}: 120 calls compile nothing`;

test("compiled code is unmapped by close(), and by GC for what is never closed", { skip: notCompiled }, async () => {
  const cffi = require(cffiPath);
  // bytes in anonymous read+execute mappings (adjacent ones merge, so count bytes)
  const codeMaps = () => fs.readFileSync("/proc/self/maps", "utf8").split("\n")
    .filter((l) => /^\S+ r-xp 00000000 00:00 0\s*$/.test(l))
    .map((l) => l.split(" ")[0].split("-").map((h) => parseInt(h, 16)))
    .reduce((sum, [a, b]) => sum + (b - a), 0);
  await collect();
  const before = codeMaps();
  const keep = []; // the symbol functions stay reachable: only close() can free their code
  const open = [];
  for (let i = 0; i < 40; i++) {
    const lib = cffi.dlopen(fixtures.jit, { noop: { returns: "i32" }, id_i32: { args: ["i32"], returns: "i32" } });
    // past the threshold (see notCompiled), so the batch is compiled
    for (let k = 0; k < 120; k++) assert.equal(lib.symbols.noop(), 7);
    keep.push(lib.symbols);
    open.push(lib);
  }
  const compiled = codeMaps();
  assert.ok(compiled >= before + 40 * 4096, `40 batches should take 40 pages: ${compiled - before} bytes`);
  for (const lib of open) lib.close();
  const closed = codeMaps();
  assert.ok(closed <= before + 4 * 4096, `close() frees the code: ${before} before, ${compiled} compiled, ${closed} after close()`);
  // linkSymbols results that are never closed: freed once garbage-collected
  const target = cffi.dlopen(fixtures.jit, { noop: { returns: "i32" } }); // stays loaded
  for (let i = 0; i < 40; i++) {
    const l = cffi.linkSymbols({ f: { ptr: target.symbols.noop.ptr, returns: "i32" } });
    for (let k = 0; k < 120; k++) assert.equal(l.symbols.f(), 7);
  }
  const unclosed = codeMaps();
  assert.ok(unclosed >= before + 40 * 4096, `40 more batches: ${unclosed - before} bytes`);
  keep.length = 0;
  await collect(6);
  const after = codeMaps();
  target.close();
  // A batch or two may still be referenced (V8's caches of the last calls): up to 4 batches
  // stay. Natively a batch shows as one r-xp page; under qemu-user its data pages too (its
  // /proc/self/maps shows the whole block as one r-xp line, see the test above), measured 3
  // pages on arm64: the allowance is 4 batches of what one batch shows here.
  const perBatch = emulated ? Math.max(4096, Math.floor((unclosed - closed) / 40 / 4096) * 4096) : 4096;
  assert.ok(after <= before + 4 * perBatch, `code bytes: ${before} before, ${unclosed} with 40 unclosed batches, ${after} after GC`);
});
