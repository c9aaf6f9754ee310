// bad-input.test.js: "nothing a user can pass from JavaScript may crash the process". Every
// argument type, the async path, and every JSCallback result type get a pool of hostile
// values (wrong types, out-of-range numbers, detached and empty buffers, proxies, symbols,
// objects whose valueOf throws, missing and extra arguments). Each call must return or throw
// a TypeError/RangeError (reject, for .async). It runs in a child process, so that a crash
// is reported as this test failing with the signal, not as a dead test runner.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const { fixtures, cffiDir } = require("./helpers.js");


function child(lib, cffiDir) {
  const cffi = require(cffiDir);
  const detached = new ArrayBuffer(16);
  structuredClone(detached, { transfer: [detached] });
  const detachedView = new Uint8Array(new ArrayBuffer(8));
  structuredClone(detachedView.buffer, { transfer: [detachedView.buffer] });
  const hostile = [
    0, -0, 1, -1, 1.5, -1.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 63, 2 ** 64, 1e308, -1e308,
    0n, 1n, -1n, 2n ** 63n, -(2n ** 63n), 2n ** 64n, -(2n ** 64n), 2n ** 200n,
    "", "abc", "42", "\u0000", "\ud800", true, false, null, undefined,
    {}, [], [1], () => 1, Symbol("s"), new Date(0), /re/, new Map(), Object.create(null),
    new Proxy({}, {}), { valueOf() { throw new Error("valueOf must not be called"); } },
    { get ptr() { throw new Error("ptr getter"); } }, { ptr: "x" }, { ptr: -1 }, { ptr: 4096 },
    new Uint8Array(0), new Uint8Array(8), new Float64Array(2), new BigInt64Array(1), Buffer.alloc(3),
    new DataView(new ArrayBuffer(4)), new ArrayBuffer(0), new ArrayBuffer(8), new SharedArrayBuffer(8),
    detached, detachedView,
  ];
  const isOk = (e) => e instanceof TypeError || e instanceof RangeError ||
    (e instanceof Error && /valueOf must not be called|ptr getter/.test(e.message));
  const types = ["char", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "i64_fast", "u64_fast",
    "f32", "f64", "bool", "ptr", "fn"];
  const decl = {};
  for (const t of types) decl[`id_${t}`] = { args: [t === "fn" ? "function" : t], returns: t === "fn" ? "function" : t };
  decl.buf_len = { args: ["buffer", "buffer_length"], returns: "u64" };
  const L = cffi.dlopen(lib, decl);
  // cstring arguments, through id_ptr: C never dereferences them
  const asCstring = cffi.CFunction({ ptr: L.symbols.id_ptr.ptr, args: ["cstring"], returns: "ptr" });
  let calls = 0;
  const unexpected = [];
  const pending = [];
  const show = (v) => { try { return typeof v === "bigint" ? `${v}n` : typeof v === "symbol" ? v.toString() : typeof v === "function" ? "function" : JSON.stringify(v) ?? String(v); } catch { return Object.prototype.toString.call(v); } };
  const run = (name, f, args) => {
    calls++;
    try {
      f(...args);
    } catch (e) {
      if (!isOk(e)) unexpected.push(`${name}(${args.map(show).join(", ")}) threw ${e && e.name}: ${e && e.message}`);
    }
    if (typeof f.async === "function") {
      let p;
      try {
        p = f.async(...args);
      } catch (e) {
        unexpected.push(`${name}.async threw synchronously: ${e && e.message}`);
        return;
      }
      pending.push(p.then(() => {}, (e) => {
        if (!isOk(e)) unexpected.push(`${name}.async(${args.map(show).join(", ")}) rejected with ${e && e.message}`);
      }));
    }
  };
  for (const v of hostile) run("cstring", asCstring, [v]);
  for (const [name, f] of Object.entries(L.symbols)) {
    run(name, f, []);
    for (const v of hostile) {
      run(name, f, [v]);
      run(name, f, [v, v, v]);
    }
  }
  for (const a of hostile) for (const b of [null, a, new Uint8Array(2)]) run("buf_len", L.symbols.buf_len, [a, b]);

  // JSCallback results of every type: C calls the callback and returns what it got.
  const cbTypes = ["char", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64", "bool", "ptr", "fn"];
  const callers = {};
  for (const t of cbTypes) {
    const ct = t === "fn" ? "function" : t;
    callers[`call_${t}`] = { args: ["function", ct], returns: ct };
  }
  const C = cffi.dlopen(lib, callers);
  for (const t of cbTypes) {
    const ct = t === "fn" ? "function" : t;
    for (const v of hostile) {
      const cb = new cffi.JSCallback(() => v, { args: [ct], returns: ct });
      run(`call_${t}<returns ${show(v)}>`, C.symbols[`call_${t}`], [cb, 0]);
      cb.close();
    }
  }
  // definitions that are wrong in every way
  for (const bad of hostile) {
    for (const make of [
      () => cffi.dlopen(lib, bad), () => cffi.dlopen(lib, { id_i32: bad }), () => cffi.dlopen(bad, { id_i32: {} }),
      () => cffi.dlopen(lib, { id_i32: { args: bad } }), () => cffi.dlopen(lib, { id_i32: { args: [bad] } }),
      () => cffi.dlopen(lib, { id_i32: { returns: bad } }), () => cffi.linkSymbols({ f: { ptr: bad } }),
      () => cffi.CFunction(bad), () => new cffi.JSCallback(bad, {}), () => new cffi.JSCallback(() => 0, bad),
      () => cffi.ptr(bad), () => cffi.ptr(new Uint8Array(4), bad), () => cffi.viewSource(bad),
      () => cffi.viewSource(bad, true),
      // these read memory at a number: only non-addresses (a wrong address is not detectable)
      ...(typeof bad === "number" || typeof bad === "bigint" ? [] : [() => cffi.toArrayBuffer(bad), () => cffi.CString(bad)]),
    ]) {
      calls++;
      try { make(); } catch (e) { if (!isOk(e) && !(e && e.code === "ERR_DLOPEN_FAILED")) unexpected.push(`definition ${show(bad)}: ${e && e.message}`); }
    }
  }
  L.close();
  for (const make of [() => L.symbols.id_i32(1), () => L.symbols.id_ptr(new Uint8Array(1))]) {
    calls++;
    try { make(); unexpected.push("a call after close() returned"); } catch (e) { if (e.message !== "library is closed") unexpected.push(e.message); }
  }
  Promise.all(pending).then(() => {
    C.close();
    process.stdout.write(JSON.stringify({ calls, unexpected: unexpected.slice(0, 20), count: unexpected.length }));
  });
}

test("hostile values for every argument and result type: errors, never a crash", () => {
  const src = `(${child})(${JSON.stringify(fixtures.basic)}, ${JSON.stringify(cffiDir)})`;
  const r = spawnSync(process.execPath, ["-e", src], { encoding: "utf8", env: process.env, timeout: 120_000 });
  assert.equal(r.signal, null, `the child died with ${r.signal}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok(out.calls > 3000, `only ${out.calls} calls`);
  assert.deepEqual(out.unexpected, [], `${out.count} unexpected outcomes`);
});

// ---- the table walk: every argument position of every export × hostile values -------------
// Each site is an export with all its arguments valid but one, which takes each value of the
// table below in turn. Outcomes allowed: a result, a TypeError or RangeError with a message,
// a failed dlopen (ERR_DLOPEN_FAILED), or the hostile value's own exception (message starting
// "hostile"). Calls to the probe (test/fixtures/hostile.c) also check what C received: the
// neighbouring int arguments untouched (a valueOf/getter/toPrimitive that makes an FFI call
// of its own must not change them), the address and the byteLength of a view exactly those of
// the view, NULL for the null-ish values, a C string up to its first NUL.
async function walk(lib, cffiDir) {
  const cffi = require(cffiDir);
  const { dlopen, linkSymbols, CFunction, JSCallback, ptr, read, toArrayBuffer, toBuffer, CString, viewSource } = cffi;
  const P = dlopen(lib, {
    hp_clobber: { args: ["i32"], returns: "i32" },
    hp_last_a: { returns: "i32" }, hp_last_b: { returns: "i32" }, hp_last_p: { returns: "u64" },
    hp_last_n: { returns: "u64" }, hp_calls: { returns: "u64" }, hp_last_s: { returns: "cstring" },
  }).symbols;
  const clobber = () => P.hp_clobber(99);
  const hostileError = (what) => new Error(`hostile ${what}`);
  const detach = (ab) => { structuredClone(ab, { transfer: [ab] }); return ab; };
  const shrunk = () => { const ab = new ArrayBuffer(16, { maxByteLength: 32 }); const v = new Uint8Array(ab, 8, 8); ab.resize(4); return v; };
  class Lying extends Uint8Array { get byteLength() { return 2 ** 40; } get byteOffset() { return 2 ** 40; } }
  // [label, factory]: a fresh value per use (some are consumed or changed by a call)
  const table = [
    ["-0", () => -0], ["NaN", () => NaN], ["Infinity", () => Infinity], ["-Infinity", () => -Infinity],
    ["1.5", () => 1.5], ["-1", () => -1], ["2^32", () => 2 ** 32], ["2^53", () => 2 ** 53], ["2^64", () => 2 ** 64],
    ["-2^64", () => -(2 ** 64)], ["1e300", () => 1e300], ["0n", () => 0n], ["-1n", () => -1n], ["2n^64", () => 2n ** 64n],
    ["2n^200", () => 2n ** 200n], ['""', () => ""], ['"1"', () => "1"], ['"a\\0b"', () => "a\0b"],
    ['"libc.so.6\\0.evil"', () => "libc.so.6\0.evil"], ['"\\ud800"', () => "\ud800"], ["16M string", () => "x".repeat(1 << 24)],
    ["null", () => null], ["undefined", () => undefined], ["true", () => true], ["Symbol", () => Symbol("s")],
    ["function", () => function f() {}],
    ["Proxy(Uint8Array)", () => new Proxy(new Uint8Array(8), {})],
    ["Proxy throwing on every trap", () => new Proxy({}, new Proxy({}, { get: (_, trap) => () => { throw hostileError(`trap ${String(trap)}`); } }))],
    ["throwing getters", () => ({ get ptr() { throw hostileError("getter"); }, get args() { throw hostileError("getter"); }, get returns() { throw hostileError("getter"); }, get length() { throw hostileError("getter"); } })],
    ["valueOf throws", () => ({ valueOf() { throw hostileError("valueOf"); } })],
    ["toString throws", () => ({ toString() { throw hostileError("toString"); } })],
    ["Symbol.toPrimitive throws", () => ({ [Symbol.toPrimitive]() { throw hostileError("toPrimitive"); } })],
    ["valueOf makes an FFI call", () => ({ valueOf() { clobber(); return 1; } })],
    ["Symbol.toPrimitive makes an FFI call", () => ({ [Symbol.toPrimitive]() { clobber(); return 1; } })],
    ["ptr getter makes an FFI call", () => ({ get ptr() { clobber(); return 4096; } })],
    ["Lying byteLength/byteOffset", () => new Lying(4)],
    ["detached ArrayBuffer", () => detach(new ArrayBuffer(8))],
    ["detached Uint8Array", () => { const v = new Uint8Array(8); detach(v.buffer); return v; }],
    ["detached DataView", () => { const v = new DataView(new ArrayBuffer(8)); detach(v.buffer); return v; }],
    ["view out of bounds of a shrunk resizable buffer", shrunk],
    ["length-tracking view of a resizable buffer", () => new Uint8Array(new ArrayBuffer(8, { maxByteLength: 32 }))],
    ["resizable ArrayBuffer", () => new ArrayBuffer(8, { maxByteLength: 32 })],
    ["SharedArrayBuffer", () => new SharedArrayBuffer(8)],
    ["view of a SharedArrayBuffer", () => new Uint8Array(new SharedArrayBuffer(8))],
    ["empty Uint8Array", () => new Uint8Array(0)], ["DataView", () => new DataView(new ArrayBuffer(8), 2)],
    ["Float64Array at an offset", () => new Float64Array(new ArrayBuffer(32), 8, 2)],
  ];
  // values that are addresses (or would make an address) must not reach code that reads
  // memory at them: a wrong address is not detectable (SPEC §10)
  const converts = /valueOf|toPrimitive/; // labels of objects that convert to a number
  const isAddressLike = (v, label) => typeof v === "number" || typeof v === "bigint" || converts.test(label);
  // offsets that could make a valid-looking address (others must be rejected)
  const isSmallOffset = (v, label) => converts.test(label) ||
    (typeof v === "number" && Number.isInteger(v) && Math.abs(v) < 2 ** 63) ||
    (typeof v === "bigint" && v > -(2n ** 63n) && v < 2n ** 63n);
  const buf = Buffer.from("hello\0");
  const p = ptr(buf);
  const sites = [];
  const site = (name, f, opts = {}) => sites.push({ name, f, ...opts });
  site("dlopen path", (v) => dlopen(v, { hp_calls: { returns: "u64" } }).close());
  site("dlopen symbols", (v) => dlopen(lib, v).close());
  site("dlopen symbol definition", (v) => dlopen(lib, { hp_calls: v }).close());
  site("dlopen args[0]", (v) => dlopen(lib, { hp_call: { args: [v] } }).close());
  site("dlopen args", (v) => dlopen(lib, { hp_call: { args: v } }).close());
  site("dlopen returns", (v) => dlopen(lib, { hp_calls: { returns: v } }).close());
  site("linkSymbols symbols", (v) => linkSymbols(v).close());
  site("linkSymbols ptr", (v) => linkSymbols({ f: { ptr: v, returns: "u64" } }).close());
  site("CFunction definition", (v) => CFunction(v).close());
  site("CFunction args", (v) => CFunction({ ptr: P.hp_calls.ptr, args: v }).close());
  site("JSCallback fn", (v) => new JSCallback(v, {}).close());
  site("JSCallback definition", (v) => new JSCallback(() => 0, v).close());
  site("JSCallback args[0]", (v) => new JSCallback(() => 0, { args: [v] }).close());
  site("JSCallback returns", (v) => new JSCallback(() => 0, { returns: v }).close());
  site("JSCallback result", (v) => {
    const cb = new JSCallback(() => v, { returns: "i32" });
    try { return CFunction({ ptr: cb.ptr, returns: "i32" })(); } finally { cb.close(); }
  });
  site("ptr view", (v) => ptr(v));
  site("ptr byteOffset", (v) => ptr(buf, v));
  for (const k of Object.keys(read)) {
    site(`read.${k} ptr`, (v) => read[k](v), { skip: isAddressLike });
    site(`read.${k} byteOffset`, (v) => read[k](p, v), { skip: isSmallOffset });
  }
  for (const [fname, f] of [["toArrayBuffer", toArrayBuffer], ["toBuffer", toBuffer]]) {
    site(`${fname} ptr`, (v) => f(v, 0, 4), { skip: isAddressLike });
    site(`${fname} byteOffset`, (v) => f(p, v, 4), { skip: isSmallOffset });
    site(`${fname} byteLength`, (v) => f(p, 0, v)); // a too-long alias is never read here
    site(`${fname} deallocator`, (v) => f(p, 0, 4, v), { skip: isAddressLike });
    site(`${fname} context`, (v) => f(p, 0, 4, v, 0), { skip: isAddressLike });
  }
  site("CString ptr", (v) => String(CString(v)), { skip: isAddressLike });
  site("CString byteOffset", (v) => String(CString(p, v)), { skip: isSmallOffset });
  site("CString byteLength", (v) => String(new CString(p, 0, v)), { skip: (v, l) => typeof v === "number" && Number.isSafeInteger(v) && v > 6 || converts.test(l) });
  site("viewSource definition", (v) => viewSource(v));
  site("viewSource isCallback", (v) => viewSource({ args: ["i32"] }, v));

  // the probe calls: (a = 1, X, n, b = 2) with X of each pointer-ish type, sync and .async
  const probes = {};
  for (const t of ["ptr", "cstring", "function", "buffer"]) {
    probes[t] = { args: ["i32", t, t === "buffer" ? "buffer_length" : "u64", "i32"], returns: "u64" };
  }
  const hp = dlopen(lib, { hp_call: {}, hp_string: {} }).symbols;
  const probeLib = linkSymbols(Object.fromEntries(Object.entries(probes).map(([t, d]) =>
    [`hp_${t}`, { ...d, ptr: t === "cstring" ? hp.hp_string.ptr : hp.hp_call.ptr }])));

  let count = 0;
  const unexpected = [];
  const allowed = (e) => (e instanceof TypeError || e instanceof RangeError) && typeof e.message === "string" && e.message.length > 0 ||
    e instanceof Error && (e.code === "ERR_DLOPEN_FAILED" || /^hostile/.test(e.message));
  const note = (where, e) => unexpected.push(`${where}: ${e instanceof Error ? `${e.constructor.name}${e.code ? ` ${e.code}` : ""}: ${e.message.slice(0, 200)}` : e}`);
  for (const s of sites) {
    for (const [label, make] of table) {
      const v = make();
      if (s.skip && s.skip(v, label)) continue;
      count++;
      try { s.f(v); } catch (e) { if (!allowed(e)) note(`${s.name} ← ${label}`, e); }
    }
  }
  // what C receives: the expectation for X = v (null-ish → NULL; a usable view → its address
  // and byteLength; else the call must throw), computed before the call
  const NULLISH = new Set([null, undefined, false, 0, -0, 0n]);
  for (const [t, fn] of Object.entries(probeLib.symbols)) {
    for (const [label, make] of table) {
      for (const pos of [1, 2, 0]) {
        const v = make();
        if (pos === 1 && t !== "buffer" && isAddressLike(v, label) && !NULLISH.has(v)) continue; // C never dereferences; still, keep to the table's meaning
        const args = [1, null, 0, 2];
        args[pos] = v;
        if (t === "buffer" && pos === 1) args[2] = v;
        let expected = null;
        if (pos === 1) {
          if (NULLISH.has(v) || Number.isNaN(v)) expected = { p: 0n };
          else if (t === "cstring" && typeof v === "string") expected = { s: v.split("\0")[0].slice(0, 63) };
          else if ((t === "ptr" || t === "cstring" || t === "buffer") && v !== null && typeof v === "object" && !(v instanceof Lying)) {
            try { expected = { p: BigInt(ptr(v)), n: t === "buffer" ? BigInt(v.byteLength) : 0n }; } catch { expected = "throws"; }
            if (t === "buffer" && !ArrayBuffer.isView(v)) expected = "throws";
          }
        }
        const where = `${t}(arg ${pos} ← ${label})`;
        const before = P.hp_calls();
        count++;
        let threw = null;
        try {
          fn(...args);
        } catch (e) {
          threw = e;
          if (!allowed(e)) note(where, e);
        }
        if (!threw) {
          if (P.hp_calls() !== before + 1n) note(where, "C was not called exactly once");
          if (pos !== 0 && P.hp_last_a() !== 1) note(where, `C got a = ${P.hp_last_a()}, not 1`);
          if (P.hp_last_b() !== 2) note(where, `C got b = ${P.hp_last_b()}, not 2`);
          if (expected === "throws") note(where, `returned; C got address 0x${P.hp_last_p().toString(16)}, length ${P.hp_last_n()}, but ptr() rejects this value`);
          else if (expected && expected.p !== undefined && P.hp_last_p() !== expected.p) note(where, `C got address 0x${P.hp_last_p().toString(16)}, expected 0x${expected.p.toString(16)}`);
          else if (expected && t === "buffer" && expected.n !== undefined && P.hp_last_n() !== expected.n) note(where, `C got length ${P.hp_last_n()}, expected ${expected.n}`);
          else if (expected && expected.s !== undefined && P.hp_last_s() !== expected.s) note(where, `C got the string ${JSON.stringify(P.hp_last_s())}, expected ${JSON.stringify(expected.s)}`);
          if (v instanceof Lying && t === "buffer" && pos === 1 && P.hp_last_n() !== 4n) note(where, `C got length ${P.hp_last_n()}, not the real 4`);
        }
        // .async: the same outcome (rejects where the call threw)
        const v2 = make();
        const args2 = args.slice();
        args2[pos] = v2;
        if (t === "buffer" && pos === 1) args2[2] = v2;
        let pr;
        try {
          pr = fn.async(...args2);
        } catch (e) {
          note(`${where}.async`, `threw synchronously: ${e && e.message}`);
          continue;
        }
        count++;
        // awaited before the next call: an async call still running would change the record
        await pr.then(() => {
          if (expected === "throws") note(`${where}.async`, "resolved, but ptr() rejects this value");
        }, (e) => {
          if (!allowed(e)) note(`${where}.async`, e);
        });
      }
    }
  }
  // names with a NUL never bind or open something else (SPEC §16)
  for (const [what, f] of [["path", () => dlopen(`${lib}\0.evil`, { hp_calls: { returns: "u64" } })],
    ["symbol name", () => dlopen(lib, { "hp_calls\0junk": { returns: "u64" } })]]) {
    count++;
    try { f(); note(`NUL in the ${what}`, "accepted"); } catch (e) { if (!(e instanceof TypeError)) note(`NUL in the ${what}`, e); }
  }
  process.stdout.write(JSON.stringify({ count, unexpected: unexpected.slice(0, 40), total: unexpected.length }));
}

test("hostile-input table walk: every argument of every export; what C receives", () => {
  const src = `(${walk})(${JSON.stringify(fixtures.hostile)}, ${JSON.stringify(cffiDir)})`;
  const r = spawnSync(process.execPath, ["-e", src], { encoding: "utf8", env: process.env, timeout: 120_000, maxBuffer: 1 << 26 });
  assert.equal(r.signal, null, `the child died with ${r.signal}\n${r.stderr.slice(-5000)}`);
  assert.equal(r.status, 0, r.stderr.slice(-5000));
  const out = JSON.parse(r.stdout);
  assert.ok(out.count > 2000, `only ${out.count} cases`);
  assert.deepEqual(out.unexpected, [], `${out.total} unexpected outcomes`);
});
