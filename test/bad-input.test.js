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
