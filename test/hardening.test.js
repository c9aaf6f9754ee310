// hardening.test.js: regression tests for the defects outside testing found (issue 10), each
// checking what C actually received through the probes of test/fixtures/hardening.c, not only
// that a call returned or threw. Covered: offsets never wrapped to 32 bits or coerced (SPEC
// §10, §16), NUL bytes in library paths and symbol names (§16), buffer_length taken from the
// built-in byteLength whatever the view's class says (§2.1), detached and out-of-bounds views
// (§16), the "__proto__" symbol key and CFFI_JIT_THRESHOLD validation.
// Runs on whichever call path the suite runs (JIT, or libffi with CFFI_JIT=0); the view tests
// also run in a child at a high CFFI_JIT_THRESHOLD, i.e. before tier-up (callAt).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const { pathToFileURL } = require("node:url");
const path = require("node:path");
const { fixtures, cffiPath, cffiDir, expectError, expectTypeError, expectTypeErrorContaining } = require("./helpers.js");
const cffi = require(cffiPath);
const { dlopen, linkSymbols, CFunction, viewSource, ptr, read, toArrayBuffer, toBuffer, CString } = cffi;

const DECL = {
  probe_ptr: { args: ["ptr"], returns: "u64" },
  probe_cstring: { args: ["cstring"], returns: "u64" },
  probe_buf: { args: ["buffer", "buffer_length"], returns: "u64" },
  probe_int_buf: { args: ["i32", "buffer", "buffer_length"], returns: "u64" },
  probe_last_ptr: { returns: "u64" },
  probe_last_len: { returns: "u64" },
  probe_last_int: { returns: "i32" },
  probe_set_int: { args: ["i32"], returns: "i32" },
  probe_neg: { args: ["i32"], returns: "i32" },
  probe_far_pages: { returns: "u64" },
};
const lib = dlopen(fixtures.hardening, DECL);
const S = lib.symbols;
test.after(() => lib.close());

// ---- Defect 1: read.* offsets are never wrapped to 32 bits ----------------------------------

test("read.*: a byteOffset of 2^32 and more is added in full, never wrapped (SPEC §16)", (t) => {
  const base = Number(S.probe_far_pages());
  if (base === 0) return t.skip("could not reserve 4 GiB of address space");
  const far = 2 ** 32;
  assert.equal(read.u8(base), 0x11);
  assert.equal(read.u8(base, far), 0x22, "base + 2^32, not base");
  assert.equal(read.u8(base, 2n ** 32n), 0x22, "BigInt offset");
  assert.equal(read.u8(BigInt(base), far), 0x22, "BigInt ptr, number offset");
  assert.equal(read.u8(base + far, -far), 0x11);
  assert.equal(read.u8(base + far, -(2n ** 32n)), 0x11);
  assert.equal(read.u16(base, far), 0x22);
  assert.equal(read.u64(base, far), 0x22n);
  // the other offsets of SPEC §16 take the same path
  assert.equal(new Uint8Array(toArrayBuffer(base, far, 1))[0], 0x22);
  assert.equal(toBuffer(base + far, -far, 1)[0], 0x11);
  assert.equal(CString(base, far), "\x22");
});

test("read.*: an offset that leaves the address space throws, whatever the address", () => {
  const u8 = new Uint8Array(8);
  const p = ptr(u8);
  for (const fn of Object.keys(read)) {
    expectTypeError(() => read[fn](p, -p), "ptr cannot be zero");
    expectTypeError(() => read[fn](p, -p - 1), "ptr cannot be zero");
    expectTypeError(() => read[fn](p, -p - 2 ** 32), "ptr cannot be zero");
    expectTypeError(() => read[fn](p, BigInt(-p)), "ptr cannot be zero");
    expectTypeError(() => read[fn](p, -p + 100)); // below 4096
    expectTypeError(() => read[fn](p, 2 ** 64), "Expected a pointer");
    expectTypeError(() => read[fn](BigInt(p), 2n ** 64n), "Expected a pointer");
  }
});

// ---- Defect 5: unclean offsets --------------------------------------------------------------

test("read.*: byteOffset is never coerced or truncated", () => {
  const u8 = new Uint8Array([5, 6, 7, 8]);
  const p = ptr(u8);
  for (const fn of Object.keys(read)) {
    for (const bad of ["1", "", true, {}, [], [1], null, NaN, 1.5, -0.5]) {
      expectTypeError(() => read[fn](p, bad));
    }
    expectTypeError(() => read[fn](p, "1"), "Expected number for byteOffset");
    for (const bad of [Infinity, -Infinity]) expectError(RangeError, () => read[fn](p, bad));
  }
  assert.equal(read.u8(p, 1), 6);
  assert.equal(read.u8(p, -0), 5);
});

test("ptr(): the result is an address in 4096 … 2^64 − 1 or it throws", () => {
  const u8 = new Uint8Array(8);
  const a = ptr(u8);
  expectError(RangeError, () => ptr(u8, -Infinity));
  expectError(RangeError, () => ptr(u8, Infinity));
  expectError(RangeError, () => ptr(u8, -a));
  expectError(RangeError, () => ptr(u8, -a - 1));
  expectError(RangeError, () => ptr(u8, -a + 4095));
  expectError(RangeError, () => ptr(u8, -1e300));
  expectTypeError(() => ptr(u8, 1.5));
  expectTypeError(() => ptr(u8, "1"), "Expected number for byteOffset");
  assert.equal(ptr(u8, -a + 4096), 4096);
  assert.equal(ptr(u8, 8), a + 8);
  assert.equal(ptr(u8, -8), a - 8);
});

test("toArrayBuffer/toBuffer/CString: fractional, infinite or string offsets throw", () => {
  const p = ptr(Buffer.from("hello\0"));
  for (const f of [toArrayBuffer, toBuffer, CString]) {
    expectTypeError(() => f(p, "1", 1), "Expected number for byteOffset");
    expectTypeError(() => f(p, NaN, 1), "Expected number for byteOffset");
    expectTypeError(() => f(p, 1.5, 1));
    expectError(RangeError, () => f(p, -Infinity, 1));
  }
  assert.equal(CString(p, 1), "ello");
});

test("ptr(): a subclass's byteLength getter is not asked; views whose bytes are gone throw", () => {
  class Lying extends Uint8Array {
    get byteLength() { return 2 ** 40; }
  }
  const l = new Lying(4);
  expectTypeError(() => ptr(l, 5), "byteOffset out of bounds");
  expectTypeError(() => ptr(new Lying(0)), /length > 0/);
  const ab = new ArrayBuffer(8);
  const v = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  expectTypeErrorContaining(() => ptr(v), "detached");
  const rab = new ArrayBuffer(16, { maxByteLength: 16 });
  const fixed = new Uint8Array(rab, 8, 8);
  rab.resize(4);
  expectTypeErrorContaining(() => ptr(fixed), "out of bounds");
});

// ---- Defects 10 and 5: views whose bytes are gone never reach C -----------------------------

// The view cases, as a function so that a child can run them before tier-up too.
function viewCases(S, assert) {
  const results = [];
  const gone = (name, make, part) => results.push({ name, make, part });
  gone("detached Uint8Array", () => {
    const ab = new ArrayBuffer(8);
    const v = new Uint8Array(ab);
    structuredClone(ab, { transfer: [ab] });
    return v;
  }, "detached");
  gone("detached DataView", () => {
    const ab = new ArrayBuffer(8);
    const v = new DataView(ab);
    structuredClone(ab, { transfer: [ab] });
    return v;
  }, "detached");
  gone("detached Buffer", () => {
    const ab = new ArrayBuffer(8);
    const v = Buffer.from(ab);
    structuredClone(ab, { transfer: [ab] });
    return v;
  }, "detached");
  gone("fixed-length view past the end of a shrunk resizable buffer", () => {
    const rab = new ArrayBuffer(16, { maxByteLength: 16 });
    const v = new Uint8Array(rab, 8, 8);
    rab.resize(4);
    return v;
  }, "out of bounds");
  gone("fixed-length view at 0, longer than the shrunk buffer", () => {
    const rab = new ArrayBuffer(16, { maxByteLength: 16 });
    const v = new Uint32Array(rab, 0, 4);
    rab.resize(8);
    return v;
  }, "out of bounds");
  gone("length-tracking view whose offset is past the end", () => {
    const rab = new ArrayBuffer(16, { maxByteLength: 16 });
    const v = new Uint8Array(rab, 8);
    rab.resize(4);
    return v;
  }, "out of bounds");
  gone("DataView past the end of a shrunk buffer", () => {
    const rab = new ArrayBuffer(16, { maxByteLength: 16 });
    const v = new DataView(rab, 4, 8);
    rab.resize(8);
    return v;
  }, "out of bounds");
  const failures = [];
  for (const { name, make, part } of results) {
    const calls = {
      ptr: (v) => S.probe_ptr(v),
      cstring: (v) => S.probe_cstring(v),
      buffer: (v) => S.probe_buf(v, new Uint8Array(1)),
      "buffer + buffer_length": (v) => S.probe_buf(v, v),
      buffer_length: (v) => S.probe_buf(new Uint8Array(1), v),
    };
    for (const [how, call] of Object.entries(calls)) {
      const v = make();
      S.probe_buf(null, null); // reset what C last saw
      let err;
      try {
        call(v);
      } catch (e) {
        err = e;
      }
      if (!(err instanceof TypeError) || !err.message.includes(part)) {
        failures.push(`${name} as ${how}: ${err ? `${err.name}: ${err.message}` : `C got ${S.probe_last_ptr()}, ${S.probe_last_len()}`}`);
      }
    }
  }
  // an ArrayBuffer itself, detached
  const ab = new ArrayBuffer(8);
  structuredClone(ab, { transfer: [ab] });
  try {
    S.probe_ptr(ab);
    failures.push("detached ArrayBuffer as ptr: no error");
  } catch (e) {
    if (!(e instanceof TypeError) || !e.message.includes("detached")) failures.push(`detached ArrayBuffer: ${e.message}`);
  }
  // empty views are not gone: NULL or their address, length 0
  const empty = new Uint8Array(0);
  assert.equal(S.probe_buf(empty, empty), S.probe_last_ptr());
  assert.equal(S.probe_last_len(), 0n);
  const rab = new ArrayBuffer(16, { maxByteLength: 16 });
  const tracking = new Uint8Array(rab, 4);
  rab.resize(4); // a length-tracking view at the very end: empty, in bounds
  S.probe_buf(tracking, tracking);
  assert.equal(S.probe_last_len(), 0n);
  rab.resize(12);
  assert.equal(S.probe_buf(tracking, tracking), BigInt(ptr(new Uint8Array(rab))) + 4n);
  assert.equal(S.probe_last_len(), 8n);
  return failures;
}

test("views whose ArrayBuffer is detached or shrunk below them throw a TypeError (SPEC §16)", () => {
  assert.deepEqual(viewCases(S, assert), []);
});

test("the same before tier-up (counted calls through callAt) and at the default threshold", () => {
  const code = `
    const assert = require("node:assert/strict");
    const cffi = require(${JSON.stringify(cffiPath)});
    const lib = cffi.dlopen(${JSON.stringify(fixtures.hardening)}, ${JSON.stringify(DECL)});
    const ptr = cffi.ptr;
    const failures = (${viewCases.toString()})(lib.symbols, assert);
    process.stdout.write(JSON.stringify(failures));`;
  for (const threshold of ["1000000", "100"]) {
    const r = spawnSync(process.execPath, ["-e", code], {
      env: { ...process.env, CFFI_JIT_THRESHOLD: threshold }, encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
  }
});

test(".async: a detached view rejects with the TypeError and never reaches C", async () => {
  const ab = new ArrayBuffer(8);
  const v = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  await assert.rejects(S.probe_ptr.async(v), (e) => e instanceof TypeError && e.message.includes("detached"));
  await assert.rejects(S.probe_buf.async(v, v), (e) => e instanceof TypeError && e.message.includes("detached"));
});

// ---- Defect 8: buffer_length is the built-in byteLength ---------------------------------------

test("buffer_length: a subclass's or an own byteLength property is never read (SPEC §2.1)", () => {
  let asked = 0;
  class Lying extends Uint8Array {
    get byteLength() {
      asked++;
      return 2 ** 40;
    }
  }
  const l = new Lying(4);
  assert.equal(S.probe_buf(l, l), BigInt(ptr(new Uint8Array(l.buffer))));
  assert.equal(S.probe_last_len(), 4n, "C got the real length");
  const own = new Uint8Array(6);
  Object.defineProperty(own, "byteLength", { value: 2 ** 40 });
  S.probe_buf(own, own);
  assert.equal(S.probe_last_len(), 6n);
  const dv = new DataView(new ArrayBuffer(12), 2);
  Object.defineProperty(dv, "byteLength", { get() { asked++; return 2 ** 40; } });
  S.probe_buf(dv, dv);
  assert.equal(S.probe_last_len(), 10n);
  const reproto = new Uint16Array(3);
  Object.setPrototypeOf(reproto, { get byteLength() { asked++; return 2 ** 40; } });
  S.probe_buf(reproto, reproto);
  assert.equal(S.probe_last_len(), 6n);
  assert.equal(asked, 0, "no user getter ran");
});

test("buffer_length: a getter making an FFI call cannot overwrite slots already written", () => {
  class Evil extends Uint8Array {
    get byteLength() {
      S.probe_set_int(99); // would reuse the shared buffer if it ran mid-call
      return 2 ** 30;
    }
  }
  const e = new Evil(4);
  assert.equal(S.probe_int_buf(7, e, e), 4n);
  assert.equal(S.probe_last_int(), 7, "C got a = 7");
  assert.equal(S.probe_last_len(), 4n);
});

test("buffer_length: any TypedArray or DataView in its place gives its own byteLength", () => {
  const a = new Uint8Array(3);
  assert.equal(S.probe_buf(a, new Float32Array(5)), BigInt(ptr(a)));
  assert.equal(S.probe_last_len(), 20n);
  assert.equal(S.probe_int_buf(1, a, null), 0n);
  assert.equal(S.probe_int_buf(1, a), 0n, "missing → 0");
  expectTypeErrorContaining(() => S.probe_int_buf(1, a, undefined), "buffer_length");
  expectTypeErrorContaining(() => S.probe_int_buf(1, a, 3), "buffer_length");
  expectTypeErrorContaining(() => S.probe_int_buf(1, a, new ArrayBuffer(3)), "buffer_length");
  expectTypeErrorContaining(() => S.probe_int_buf(1, a, new Proxy(a, {})), "buffer_length");
});

// ---- Defect 3: NUL bytes in paths and names ---------------------------------------------------

test("dlopen: a NUL inside the library path throws ERR_INVALID_ARG_VALUE naming it", () => {
  const decl = { abs: { args: ["i32"], returns: "i32" } };
  for (const p of ["libc.so.6\0.evil", `${fixtures.hardening}\0x`, "\0"]) {
    const err = expectTypeError(() => dlopen(p, decl), undefined, "ERR_INVALID_ARG_VALUE");
    assert.ok(err.message.includes(JSON.stringify(p)), err.message);
    const returned = cffi.native.dlopen(p, decl);
    assert.ok(returned instanceof TypeError && returned.code === "ERR_INVALID_ARG_VALUE");
  }
  const url = new URL(`${pathToFileURL(fixtures.hardening).href}%00.evil`);
  expectTypeError(() => dlopen(url, decl), /null bytes/, "ERR_INVALID_ARG_VALUE");
  expectTypeError(() => dlopen(url.href, decl), /null bytes/, "ERR_INVALID_ARG_VALUE");
});

test("dlopen: a library name of PATH_MAX bytes or more fails cleanly (glibc's dlopen crashed on 16 MB)", () => {
  const decl = { abs: { args: ["i32"], returns: "i32" } };
  for (const p of ["x".repeat(1 << 24), "é".repeat(2048), `/${"d/".repeat(3000)}lib.so`]) {
    const err = expectError(Error, () => dlopen(p, decl), /File name too long/, "ERR_DLOPEN_FAILED");
    assert.ok(err.message.length < 200, "the message does not repeat the whole name");
  }
  expectError(Error, () => dlopen("x".repeat(4000), decl), /cannot open shared object file/, "ERR_DLOPEN_FAILED");
});

test("dlopen/linkSymbols/viewSource: a NUL inside a symbol name throws, never binds the prefix", () => {
  const def = { args: ["i32"], returns: "i32" };
  const err = expectTypeError(() => dlopen(fixtures.hardening, { "probe_neg\0junk": def }), undefined, "ERR_INVALID_ARG_VALUE");
  assert.ok(err.message.includes(JSON.stringify("probe_neg\0junk")), err.message);
  expectTypeError(() => dlopen(null, { "abs\0junk": def }), /abs\\u0000junk/, "ERR_INVALID_ARG_VALUE");
  expectTypeError(() => linkSymbols({ "f\0": { ...def, ptr: S.probe_neg.ptr } }), /null bytes/, "ERR_INVALID_ARG_VALUE");
  expectTypeError(() => viewSource({ "f\0": def }), /null bytes/, "ERR_INVALID_ARG_VALUE");
  // a definition string with a NUL is an unknown type (§1.1)
  expectTypeError(() => CFunction({ ptr: S.probe_neg.ptr, args: ["i32\0"], returns: "i32" }), /Unknown type/, "ERR_INVALID_ARG_VALUE");
  expectTypeError(() => CFunction({ ptr: S.probe_neg.ptr, args: ["i32"], returns: "i32\0x" }), /Unknown return type/, "ERR_INVALID_ARG_VALUE");
});

// ---- Defect 11 -----------------------------------------------------------------------------------

test('a symbol key "__proto__" defines a function, never the prototype of symbols', () => {
  const def = { args: ["i32"], returns: "i32", ptr: S.probe_neg.ptr };
  for (const open of [(d) => linkSymbols(d), (d) => dlopen(fixtures.hardening, d)]) {
    const l = open({ ["__proto__"]: def, probe_neg: { ...def } });
    try {
      assert.equal(Object.getPrototypeOf(l.symbols), Object.prototype);
      assert.ok(Object.hasOwn(l.symbols, "__proto__"));
      assert.deepEqual(Object.keys(l.symbols), ["__proto__", "probe_neg"]);
      assert.equal(l.symbols["__proto__"](5), -5);
      assert.equal(typeof l.symbols.toString, "function", "still an ordinary object");
    } finally {
      l.close();
    }
  }
});

test("CFFI_JIT_THRESHOLD: anything but a non-negative integer warns once and uses the default", () => {
  const code = `
    const { Worker } = require("node:worker_threads");
    const { state } = require(${JSON.stringify(path.join(cffiDir, "lib", "abi.js"))});
    const w = new Worker(\`require(${JSON.stringify(path.join(cffiDir, "lib", "abi.js"))})\`, { eval: true });
    w.on("exit", () => process.stdout.write(String(state.jitThreshold)));`;
  for (const [value, expected, warns] of [["abc", 100, true], ["12abc", 100, true], ["-1", 100, true],
    ["1e3", 100, true], [" 5", 100, true], ["99999999999", 100, true], ["0", 0, false], ["250", 250, false], ["", 100, false]]) {
    const r = spawnSync(process.execPath, ["-e", code], {
      env: { ...process.env, CFFI_JIT_THRESHOLD: value }, encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(Number(r.stdout), expected, `CFFI_JIT_THRESHOLD=${JSON.stringify(value)}`);
    const warnings = r.stderr.split("CFFI_JIT_THRESHOLD").length - 1;
    assert.equal(warnings, warns ? 1 : 0, `warnings for ${JSON.stringify(value)}: ${r.stderr}`);
  }
});
