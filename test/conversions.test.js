// conversions.test.js: SPEC §2.1 (JS → C arguments) and §2.2 (C → JS returns) for every
// type at its limits: wrap-around, BigInt, i64_fast, f32 rounding, pointers from numbers,
// BigInts, views and ArrayBuffers, cstring both ways, buffer/buffer_length, missing / extra /
// explicit-undefined arguments, and 32+ mixed integer/floating-point arguments.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { fixtures, cffiPath, expectTypeError, expectTypeErrorContaining } = require("./helpers.js");
const cffi = require(cffiPath);
const { dlopen, JSCallback } = cffi;

const I = (t) => ({ args: [t], returns: t });
const lib = dlopen(fixtures.basic, {
  id_char: I("char"), id_i8: I("i8"), id_u8: I("u8"), id_i16: I("i16"), id_u16: I("u16"),
  id_i32: I("i32"), id_u32: I("u32"), id_i64: I("i64"), id_u64: I("u64"),
  id_i64_fast: I("i64_fast"), id_u64_fast: I("u64_fast"), id_f32: I("f32"), id_f64: I("f64"),
  id_bool: I("bool"), id_ptr: I("ptr"), id_cstring: I("cstring"), id_fn: I("function"),
  wid_char: { args: ["char"], returns: "i64" },
  wid_i8: { args: ["i8"], returns: "i64" },
  wid_u8: { args: ["u8"], returns: "u64" },
  wid_i16: { args: ["i16"], returns: "i64" },
  wid_u16: { args: ["u16"], returns: "u64" },
  wid_i32: { args: ["i32"], returns: "i64" },
  wid_u32: { args: ["u32"], returns: "u64" },
  stack_i8: { args: ["i64", "i64", "i64", "i64", "i64", "i64", "i8"], returns: "i64" },
  bool_to_int: { args: ["bool"], returns: "i32" },
  f32_to_f64: { args: ["f32"], returns: "f64" },
  f64_bits: { args: ["f64"], returns: "u64" },
  ptr_to_u64: { args: ["ptr"], returns: "u64" },
  fn_to_u64: { args: ["function"], returns: "u64" },
  is_null: { args: ["ptr"], returns: "i32" },
  read_u8_at: { args: ["ptr"], returns: "i32" },
  ret_u32_max: { returns: "u32" }, ret_i32_min: { returns: "i32" },
  ret_i64_min: { returns: "i64" }, ret_u64_max: { returns: "u64" },
  ret_i64_small: { returns: "i64" }, ret_u64_small: { returns: "u64" },
  ret_u8_max: { returns: "u8" }, ret_i8_min: { returns: "i8" }, ret_char_neg: { returns: "char" },
  ret_null: { returns: "ptr" }, ret_ptr_high: { returns: "ptr" }, ret_ptr_2_53: { returns: "ptr" },
  ret_ptr_safe_max: { returns: "ptr" }, ret_fn_null: { returns: "function" },
  ret_nan_payload: { returns: "f64" }, ret_f32_nan_payload: { returns: "f32" },
  ret_neg_zero: { returns: "f64" }, ret_bool_true: { returns: "bool" },
  hello: { returns: "cstring" }, ret_cstring_null: { returns: "cstring" }, ret_utf8: { returns: "cstring" },
  ret_invalid_utf8: { returns: "cstring" }, ret_empty: { returns: "cstring" },
  cstr_len: { args: ["cstring"], returns: "i64" },
  cstr_sum: { args: ["cstring"], returns: "u64" },
  echo_cstring: { args: ["cstring"], returns: "cstring" },
  buf_sum: { args: ["buffer", "buffer_length"], returns: "u64" },
  buf_len: { args: ["buffer", "buffer_length"], returns: "u64" },
  buf_addr: { args: ["buffer", "buffer_length"], returns: "u64" },
  buf2_len: { args: ["buffer", "buffer", "buffer_length"], returns: "u64" },
  fill_bytes: { args: ["ptr", "i32", "i32"] },
  add_i32: { args: ["i32", "i32"], returns: "i32" },
});
const S = lib.symbols;

// Oracles: a TypedArray store is the reference for the narrow integer wrap.
const WRAP = {
  char: (v) => new Int8Array([v])[0], i8: (v) => new Int8Array([v])[0], u8: (v) => new Uint8Array([v])[0],
  i16: (v) => new Int16Array([v])[0], u16: (v) => new Uint16Array([v])[0],
  i32: (v) => new Int32Array([v])[0], u32: (v) => new Uint32Array([v])[0],
};
const WIDTH = { char: 8, i8: 8, u8: 8, i16: 16, u16: 16, i32: 32, u32: 32 };
const SIGNED = { char: true, i8: true, u8: false, i16: true, u16: false, i32: true, u32: false };
const NUMBERS = [0, -0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769, 40000,
  65535, 65536, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 5e9,
  -5e9, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 2 ** 63, 2 ** 64, 2 ** 64 + 4096, 1e20, -1e20, 1.5e300,
  0.5, -0.5, 0.9, -0.9, 3.9, -3.9, 255.99, -255.99, NaN, Infinity, -Infinity, Number.MIN_VALUE,
  Number.MAX_VALUE, -Number.MAX_VALUE];
const BIGINTS = [0n, 1n, -1n, 127n, 128n, 255n, 256n, -129n, 65535n, 65536n, 2n ** 31n, 2n ** 32n - 1n,
  2n ** 32n, 2n ** 32n + 7n, 2n ** 40n + 7n, -(2n ** 40n) - 7n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n,
  2n ** 64n + 3n, -(2n ** 64n), 2n ** 100n + 5n, -(2n ** 100n) - 5n];

// ---- narrow integers -----------------------------------------------------------------------

for (const t of Object.keys(WRAP)) {
  test(`${t}: numbers wrap like a TypedArray store (identity and widened)`, () => {
    for (const v of NUMBERS) {
      const want = WRAP[t](v);
      assert.equal(S[`id_${t === "char" ? "char" : t}`](v), want, `id_${t}(${v})`);
      assert.equal(S[`wid_${t}`](v), BigInt(want), `wid_${t}(${v}) (what C received)`);
    }
  });

  test(`${t}: BigInt wraps modulo 2^width`, () => {
    for (const v of BIGINTS) {
      const w = SIGNED[t] ? BigInt.asIntN(WIDTH[t], v) : BigInt.asUintN(WIDTH[t], v);
      assert.equal(S[`id_${t}`](v), Number(w), `id_${t}(${v}n)`);
      assert.equal(S[`wid_${t}`](v), w, `wid_${t}(${v}n)`);
    }
  });

  test(`${t}: null, undefined, missing → 0; result is a number`, () => {
    assert.equal(S[`id_${t}`](null), 0);
    assert.equal(S[`id_${t}`](undefined), 0);
    assert.equal(S[`id_${t}`](), 0);
    assert.equal(typeof S[`id_${t}`](3), "number");
  });
}

test("narrow integers: the examples of the SPEC", () => {
  assert.equal(S.id_u8(256), 0);
  assert.equal(S.id_u8(-1), 255);
  assert.equal(S.id_i16(40000), -25536);
  assert.equal(S.id_u32(-1), 4294967295);
  assert.equal(S.id_u32(5e9), 705032704);
  assert.equal(S.id_i32(-3.9), -3);
  assert.equal(S.id_i32(NaN), 0);
  assert.equal(S.id_i32(-Infinity), 0);
  assert.equal(S.id_char(200), -56, "char is signed");
});

test("narrow integer passed on the stack", () => {
  assert.equal(S.stack_i8(1, 2, 3, 4, 5, 6, 200), -56n);
  assert.equal(S.stack_i8(1, 2, 3, 4, 5, 6, -1n), -1n);
});

test("narrow integer returns at the limits; u32 never negative", () => {
  assert.equal(S.ret_u32_max(), 4294967295);
  assert.equal(S.ret_i32_min(), -2147483648);
  assert.equal(S.ret_u8_max(), 255);
  assert.equal(S.ret_i8_min(), -128);
  assert.equal(S.ret_char_neg(), -100);
  for (const v of [2 ** 31, 2 ** 32 - 1, -1]) assert.ok(S.id_u32(v) >= 0);
});

// ---- 64-bit integers -------------------------------------------------------------------------

const NUM64 = [0, -0, 1, -1, 5.7, -5.7, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 2 ** 60, -(2 ** 62), NaN,
  Infinity, -Infinity, 0.999, -0.999];
test("i64/u64: numbers truncate toward 0; NaN, ±Infinity → 0; negative into unsigned wraps", () => {
  for (const v of NUM64) {
    const n = Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
    assert.equal(S.id_i64(v), n, `id_i64(${v})`);
    assert.equal(S.id_u64(v), BigInt.asUintN(64, n), `id_u64(${v})`);
  }
  assert.equal(S.id_i64(-5.7), -5n);
  assert.equal(S.id_u64(-1), 2n ** 64n - 1n);
});

test("i64/u64: BigInt wraps modulo 2^64; result is always a BigInt", () => {
  for (const v of BIGINTS) {
    assert.equal(S.id_i64(v), BigInt.asIntN(64, v), `id_i64(${v}n)`);
    assert.equal(S.id_u64(v), BigInt.asUintN(64, v), `id_u64(${v}n)`);
  }
  assert.equal(S.id_u64(1n << 64n), 0n);
  assert.equal(typeof S.id_i64(1), "bigint");
  assert.equal(typeof S.ret_i64_small(), "bigint");
  assert.equal(S.ret_i64_small(), -42n);
  assert.equal(S.ret_u64_small(), 42n);
  assert.equal(S.ret_i64_min(), -(2n ** 63n));
  assert.equal(S.ret_u64_max(), 2n ** 64n - 1n);
  assert.equal(S.id_i64(null), 0n);
  assert.equal(S.id_u64(undefined), 0n);
  assert.equal(S.id_i64(), 0n);
});

test("i64_fast/u64_fast: number when safe, else BigInt", () => {
  const MAX = Number.MAX_SAFE_INTEGER;
  assert.equal(S.id_i64_fast(5), 5);
  assert.equal(S.id_i64_fast(-5n), -5);
  assert.equal(S.id_i64_fast(MAX), MAX);
  assert.equal(S.id_i64_fast(-MAX), -MAX);
  assert.equal(S.id_i64_fast(BigInt(MAX) + 1n), BigInt(MAX) + 1n);
  assert.equal(S.id_i64_fast(-(BigInt(MAX) + 1n)), -(BigInt(MAX) + 1n));
  assert.equal(S.id_i64_fast(2n ** 63n), -(2n ** 63n));
  assert.equal(S.id_i64_fast(-5.7), -5);
  assert.equal(S.id_i64_fast(NaN), 0);
  assert.equal(S.id_u64_fast(MAX), MAX);
  assert.equal(S.id_u64_fast(BigInt(MAX) + 1n), BigInt(MAX) + 1n);
  assert.equal(S.id_u64_fast(-1), 2n ** 64n - 1n);
  assert.equal(S.id_u64_fast(-1n), 2n ** 64n - 1n);
  assert.equal(S.id_u64_fast(1n << 64n), 0);
  assert.equal(S.id_u64_fast(), 0);
  assert.equal(S.id_i64_fast(null), 0);
  for (const v of BIGINTS) {
    const i = BigInt.asIntN(64, v);
    const u = BigInt.asUintN(64, v);
    const fast = (x) => (x >= -BigInt(MAX) && x <= BigInt(MAX) ? Number(x) : x);
    assert.equal(S.id_i64_fast(v), fast(i), `id_i64_fast(${v}n)`);
    assert.equal(S.id_u64_fast(v), fast(u), `id_u64_fast(${v}n)`);
  }
});

// ---- floating point ------------------------------------------------------------------------

test("f64: numbers unchanged, NaN and -0 kept, integers exact", () => {
  for (const v of [0, 1.5, -2.25, Math.PI, 1e-310, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE,
    Infinity, -Infinity, 2 ** 53 + 2, -(2 ** 60), 123456789.123456789]) {
    assert.equal(S.id_f64(v), v, `id_f64(${v})`);
  }
  assert.ok(Object.is(S.id_f64(-0), -0), "-0 kept");
  assert.ok(Number.isNaN(S.id_f64(NaN)));
  assert.equal(S.f64_bits(-0), 0x8000000000000000n, "C receives -0.0");
  assert.equal(S.f64_bits(1), 0x3ff0000000000000n);
  assert.ok(Object.is(S.ret_neg_zero(), -0));
});

test("f64: BigInt → nearest double, sign kept; undefined → NaN; null and missing → 0", () => {
  assert.equal(S.id_f64(5n), 5);
  assert.equal(S.id_f64(-5n), -5);
  assert.equal(S.id_f64(2n ** 53n + 1n), 2 ** 53);
  assert.equal(S.id_f64(2n ** 64n), 2 ** 64);
  assert.equal(S.id_f64(2n ** 1024n), Infinity);
  assert.equal(S.id_f64(-(2n ** 1024n)), -Infinity);
  assert.equal(S.id_f64(2n ** 1023n * 3n / 2n), 1.5 * 2 ** 1023);
  assert.equal(S.id_f64(12345678901234567890123n), 12345678901234567890123);
  assert.ok(Number.isNaN(S.id_f64(undefined)), "explicit undefined → NaN");
  assert.ok(Object.is(S.id_f64(null), 0));
  assert.equal(S.id_f64(), 0, "missing → 0");
});

test("f32: as f64 then Math.fround", () => {
  for (const v of [0.1, 1 / 3, 16777217, 3.4028235677973366e38, 3.5e38, 1e40, -1e40, 1e-46, 1.4e-45, Math.PI,
    -2.5, 65504.7]) {
    assert.equal(S.id_f32(v), Math.fround(v), `id_f32(${v})`);
    assert.equal(S.f32_to_f64(v), Math.fround(v), `f32_to_f64(${v})`);
  }
  assert.equal(S.id_f32(1e40), Infinity);
  assert.ok(Object.is(S.id_f32(-0), -0));
  assert.ok(Number.isNaN(S.id_f32(NaN)));
  assert.ok(Number.isNaN(S.id_f32(undefined)), "explicit undefined → NaN");
  assert.equal(S.id_f32(), 0, "missing → 0");
  assert.equal(S.id_f32(null), 0);
  assert.equal(S.id_f32(16777217n), 16777216);
  assert.equal(S.id_f32(2n ** 200n), Infinity);
});

test("NaN returns are ordinary NaNs", () => {
  assert.ok(Number.isNaN(S.ret_nan_payload()));
  assert.ok(Number.isNaN(S.ret_f32_nan_payload()));
  const f = new Float64Array([S.ret_nan_payload()]);
  // Whatever bits, the value must behave as NaN when stored and loaded again.
  assert.ok(Number.isNaN(f[0]));
});

// ---- bool ------------------------------------------------------------------------------------

test("bool: !!x for any value; returns a boolean", () => {
  const values = [true, false, 0, 1, -1, 2, NaN, 0.5, "", "0", "a", null, undefined, {}, [], 0n, 1n, Symbol("s"), () => 0];
  for (const v of values) {
    assert.equal(S.bool_to_int(v), v ? 1 : 0, `bool_to_int(${String(v)})`);
    assert.equal(S.id_bool(v), !!v, `id_bool(${String(v)})`);
  }
  assert.equal(S.id_bool(), false);
  assert.equal(S.ret_bool_true(), true);
});

// ---- numeric argument type errors -------------------------------------------------------------

test("numeric types reject strings, booleans, objects with ERR_INVALID_ARG_TYPE", () => {
  expectTypeError(() => S.add_i32(1, "42"), "Argument 1: expected a number or BigInt for int32_t, received string", "ERR_INVALID_ARG_TYPE");
  expectTypeError(() => S.add_i32(true, 1), "Argument 0: expected a number or BigInt for int32_t, received boolean", "ERR_INVALID_ARG_TYPE");
  const cases = [
    ["id_char", "char"], ["id_i8", "int8_t"], ["id_u8", "uint8_t"], ["id_i16", "int16_t"],
    ["id_u16", "uint16_t"], ["id_i32", "int32_t"], ["id_u32", "uint32_t"], ["id_i64", "int64_t"],
    ["id_u64", "uint64_t"], ["id_f64", "double"], ["id_f32", "float"], ["id_i64_fast", "i64_fast"],
    ["id_u64_fast", "u64_fast"],
  ];
  for (const [fn, tname] of cases) {
    for (const [v, what] of [["42", "string"], [false, "boolean"], [{}, "object"], [[1], "object"], [Symbol("x"), "symbol"], [() => 1, "function"]]) {
      expectTypeError(() => S[fn](v), `Argument 0: expected a number or BigInt for ${tname}, received ${what}`, "ERR_INVALID_ARG_TYPE");
    }
  }
  expectTypeError(() => S.wid_i8(new Number(1)), /received object/, "ERR_INVALID_ARG_TYPE");
  expectTypeError(() => S.stack_i8(1, 2, 3, 4, 5, 6, "x"), /^Argument 6: .* for int8_t, received string$/, "ERR_INVALID_ARG_TYPE");
});

// ---- pointers -------------------------------------------------------------------------------

test("ptr: null-like values → NULL", () => {
  for (const v of [null, undefined, false, 0, -0, NaN, 0n]) {
    assert.equal(S.is_null(v), 1, `is_null(${String(v)})`);
    assert.equal(S.id_ptr(v), null, `id_ptr(${String(v)})`);
  }
  assert.equal(S.is_null(), 1, "missing → NULL");
});

test("ptr: numbers and BigInts are addresses; returns number, null, or BigInt above 2^53−1", () => {
  assert.equal(S.ptr_to_u64(4096), 4096n);
  assert.equal(S.ptr_to_u64(4096n), 4096n);
  assert.equal(S.ptr_to_u64(2 ** 52 + 8), BigInt(2 ** 52 + 8));
  assert.equal(S.ptr_to_u64(2 ** 60), 2n ** 60n);
  assert.equal(S.ptr_to_u64(2n ** 64n - 1n), 2n ** 64n - 1n);
  assert.equal(S.id_ptr(4096), 4096);
  assert.equal(S.id_ptr(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
  assert.equal(S.id_ptr(2 ** 53), 2n ** 53n);
  assert.equal(S.id_ptr(2n ** 63n + 5n), 2n ** 63n + 5n);
  assert.equal(S.id_ptr(2n ** 64n - 1n), 2n ** 64n - 1n);
  assert.equal(S.ret_null(), null);
  assert.equal(S.ret_ptr_high(), 0xFFFFFFFFFFFFFFF0n);
  assert.equal(S.ret_ptr_2_53(), 2n ** 53n);
  assert.equal(S.ret_ptr_safe_max(), Number.MAX_SAFE_INTEGER);
  assert.equal(typeof S.id_ptr(123456789), "number");
});

test("ptr: views pass their first byte (with byteOffset); ArrayBuffer its data", () => {
  const ab = new ArrayBuffer(64);
  const u8 = new Uint8Array(ab);
  for (let i = 0; i < 64; i++) u8[i] = i + 100;
  const base = S.ptr_to_u64(u8);
  assert.ok(base > 0n);
  assert.equal(S.ptr_to_u64(ab), base, "ArrayBuffer → its data");
  assert.equal(S.read_u8_at(ab), 100);
  assert.equal(S.ptr_to_u64(u8.subarray(5)), base + 5n);
  assert.equal(S.read_u8_at(u8.subarray(5)), 105);
  assert.equal(S.read_u8_at(new DataView(ab, 7)), 107);
  assert.equal(S.ptr_to_u64(new DataView(ab, 7, 3)), base + 7n);
  assert.equal(S.ptr_to_u64(new Float64Array(ab, 16, 2)), base + 16n);
  assert.equal(S.ptr_to_u64(new Uint16Array(ab, 2)), base + 2n);
  assert.equal(S.ptr_to_u64(new BigInt64Array(ab, 8)), base + 8n);
  assert.equal(S.read_u8_at(Buffer.from(ab, 9, 4)), 109);
  assert.equal(S.ptr_to_u64(u8), base, "address is stable");
  // A pooled Buffer has a non-zero byteOffset into a shared ArrayBuffer.
  const small = Buffer.from([42, 43]);
  assert.equal(S.read_u8_at(small), 42);
  assert.equal(S.ptr_to_u64(small), S.ptr_to_u64(small.buffer) + BigInt(small.byteOffset));
  // C writes through the pointer.
  S.fill_bytes(u8.subarray(60), 4, 7);
  assert.deepEqual([...u8.subarray(58)], [158, 159, 7, 7, 7, 7]);
  assert.equal(S.id_ptr(u8), Number(base));
  if (typeof cffi.ptr === "function") assert.equal(S.ptr_to_u64(u8), BigInt(cffi.ptr(u8)));
});

test("ptr: strings and other values are rejected", () => {
  expectTypeError(() => S.id_ptr("abc"), "To convert a string to a pointer, encode it as a buffer");
  expectTypeError(() => S.id_ptr(""), "To convert a string to a pointer, encode it as a buffer");
  for (const v of [{}, true, -1, 1.5, -1n, 2n ** 64n, 2 ** 64, Symbol("s"), [1], () => 1, Infinity]) {
    expectTypeError(() => S.id_ptr(v), /^Unable to convert .* to a pointer$/);
  }
});

// ---- cstring ------------------------------------------------------------------------------------

test("cstring argument: JS string → NUL-terminated UTF-8 copy", () => {
  assert.equal(S.cstr_len("hello"), 5n);
  assert.equal(S.cstr_len(""), 0n, "empty string is not NULL");
  assert.equal(S.cstr_len("héllo"), 6n);
  assert.equal(S.cstr_len("€"), 3n);
  assert.equal(S.cstr_len("😀"), 4n);
  const s = "héllo € 😀 ok";
  const bytes = Buffer.from(s, "utf8");
  let sum = 0n;
  bytes.forEach((b, i) => { sum += BigInt(b) * BigInt(i + 1); });
  assert.equal(S.cstr_sum(s), sum);
  assert.equal(S.echo_cstring(s), s);
  assert.equal(S.echo_cstring("a\0b"), "a", "stops at an embedded NUL");
  // Lone surrogates encode as U+FFFD (3 bytes), as Buffer.from does; no crash.
  assert.equal(S.cstr_len("\uD800ab"), BigInt(Buffer.byteLength("\uD800ab")));
  const long = "x".repeat(1 << 20);
  assert.equal(S.cstr_len(long), BigInt(1 << 20));
  // Many temporary strings in one call of many arguments are all valid during the call.
  for (let i = 0; i < 1000; i++) assert.equal(S.cstr_len("abc".repeat(i % 7)), BigInt(3 * (i % 7)));
});

test("cstring argument: null, missing, views, addresses", () => {
  assert.equal(S.cstr_len(null), -1n);
  assert.equal(S.cstr_len(undefined), -1n);
  assert.equal(S.cstr_len(), -1n);
  assert.equal(S.cstr_len(0), -1n);
  assert.equal(S.cstr_len(Buffer.from("abc\0def")), 3n);
  assert.equal(S.cstr_len(new Uint8Array([65, 66, 0])), 2n);
  assert.equal(S.cstr_len(new Uint8Array([65, 66, 67, 0]).subarray(1)), 2n);
  assert.equal(S.cstr_len(new DataView(new Uint8Array([65, 66, 67, 0]).buffer, 2)), 1n);
  assert.equal(S.cstr_len(new Uint8Array([65, 0]).buffer), 1n);
  const buf = Buffer.from("address\0");
  assert.equal(S.cstr_len(S.ptr_to_u64(buf)), 7n, "BigInt address");
  assert.equal(S.cstr_len(Number(S.ptr_to_u64(buf))), 7n, "number address");
  expectTypeError(() => S.cstr_len({}), /^Unable to convert .* to a pointer$/);
});

test("cstring returns: UTF-8 string primitive, bad sequences → U+FFFD, NULL → null", () => {
  assert.equal(S.hello(), "Hello, world!");
  assert.equal(typeof S.hello(), "string");
  assert.equal(S.ret_utf8(), "héllo € 😀");
  assert.equal(S.ret_invalid_utf8(), "a\uFFFDb\uFFFDc");
  assert.equal(S.ret_cstring_null(), null);
  assert.equal(S.ret_empty(), "");
  const b = Buffer.from("from a buffer\0");
  assert.equal(S.id_cstring(b), "from a buffer");
  assert.equal(S.id_cstring(null), null);
});

// ---- function -----------------------------------------------------------------------------------

test("function: addresses, JSCallback, objects with .ptr, null; returns like ptr", () => {
  const cb = new JSCallback(() => 1, { returns: "i32" });
  try {
    assert.equal(S.fn_to_u64(cb), BigInt(cb.ptr));
    assert.equal(S.id_fn(cb), cb.ptr);
    assert.equal(S.id_fn(cb.ptr), cb.ptr);
    assert.equal(S.id_fn(BigInt(cb.ptr)), cb.ptr);
    assert.equal(S.id_fn({ ptr: 8192 }), 8192);
    assert.equal(S.id_fn(4096), 4096);
    assert.equal(S.id_fn(2n ** 63n), 2n ** 63n);
    assert.equal(S.id_fn(null), null);
    assert.equal(S.id_fn(0), null);
    assert.equal(S.id_fn(0n), null);
    assert.equal(S.id_fn(), null, "missing → NULL");
    assert.equal(S.ret_fn_null(), null);
  } finally {
    cb.close();
  }
  const msg = "Expected function to be a JSCallback or a number";
  expectTypeError(() => S.id_fn(undefined), msg);
  expectTypeError(() => S.id_fn(cb), msg, undefined); // closed JSCallback
  expectTypeError(() => S.id_fn({}), msg);
  expectTypeError(() => S.id_fn({ ptr: 0 }), msg);
  expectTypeError(() => S.id_fn("f"), msg);
  expectTypeError(() => S.id_fn(() => 1), msg);
});

// ---- buffer / buffer_length -----------------------------------------------------------------

test("buffer: TypedArray, Buffer, DataView with byteOffset; length is byteLength", () => {
  const u8 = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(S.buf_sum(u8, u8), 36n);
  const sub = u8.subarray(2, 5);
  assert.equal(S.buf_sum(sub, sub), 12n);
  assert.equal(S.buf_addr(sub, sub), S.ptr_to_u64(u8) + 2n);
  const dv = new DataView(u8.buffer, 4, 4);
  assert.equal(S.buf_sum(dv, dv), 26n);
  const f64 = new Float64Array(3);
  assert.equal(S.buf_len(f64, f64), 24n);
  const b = Buffer.from("hello");
  assert.equal(S.buf_len(b, b), 5n);
  const empty = new Uint8Array(0);
  assert.equal(S.buf_len(empty, empty), 0n);
  assert.equal(S.buf_len(null, null), 0n, "null, null → 0");
  assert.equal(S.buf_addr(null, null), 0n);
  assert.equal(S.buf_len(), 0n, "missing → NULL and 0");
  assert.equal(S.buf_addr(), 0n);
  const a = new Uint8Array(3);
  const c = new Uint8Array(11);
  assert.equal(S.buf2_len(a, c, c), 11n, "pairs with the nearest preceding buffer");
});

test("buffer: anything else is rejected", () => {
  const msg = "Expected a TypedArray or DataView";
  for (const v of [undefined, new ArrayBuffer(4), 4096, 4096n, "str", {}, true]) {
    expectTypeError(() => S.buf_len(v, v), msg);
  }
});

test("buffer_length: the byteLength of any view in its place; null and missing → 0 (SPEC §2.1)", () => {
  const u8 = new Uint8Array(4);
  assert.equal(S.buf_len(u8, new Uint8Array(9)), 9n, "another view: its own byteLength");
  assert.equal(S.buf_len(u8, new Float64Array(3)), 24n);
  assert.equal(S.buf_len(u8, new DataView(new ArrayBuffer(10), 3)), 7n);
  assert.equal(S.buf_len(u8, null), 0n);
  assert.equal(S.buf_len(u8), 0n, "a missing buffer_length is 0");
  assert.equal(S.buf_len(null, u8), 4n);
  const a = new Uint8Array(3);
  const c = new Uint8Array(11);
  assert.equal(S.buf2_len(a, c, a), 3n);
  for (const v of [4, 4n, "4", new ArrayBuffer(4), {}, undefined, true]) {
    expectTypeErrorContaining(() => S.buf_len(u8, v), "buffer_length");
  }
});

// ---- arity ----------------------------------------------------------------------------------

test("extra arguments are ignored; missing ones are zero", () => {
  assert.equal(S.add_i32(1, 2, 3, "x", {}), 3);
  assert.equal(S.add_i32(5), 5);
  assert.equal(S.add_i32(), 0);
  assert.equal(S.id_bool(), false);
  assert.equal(S.id_ptr(), null);
  assert.equal(S.id_cstring(), null);
  assert.equal(S.id_u64(), 0n);
  assert.ok(Object.is(S.id_f64(), 0));
});

test("explicit undefined converts as in the table", () => {
  assert.equal(S.add_i32(undefined, 4), 4);
  assert.equal(S.id_bool(undefined), false);
  assert.equal(S.id_ptr(undefined), null);
  assert.equal(S.cstr_len(undefined), -1n);
  assert.ok(Number.isNaN(S.id_f64(undefined)));
  assert.equal(S.id_u8(undefined), 0);
});

// ---- 32+ arguments ----------------------------------------------------------------------------

const MIX_KINDS = ["i32", "f64", "i64", "f32", "u8", "f64", "u32", "i16"];
const MIX = Array.from({ length: 34 }, (_, k) => MIX_KINDS[k % 8]);

function mixChecksum(values) {
  let s = 0;
  values.forEach((v, k) => { s += (k + 1) * Number(v); });
  return s;
}

test("34 mixed integer/floating arguments, returning f64, f32 and i64", () => {
  const L = dlopen(fixtures.basic, {
    mixed34: { args: MIX, returns: "f64" },
    mixed34_f32: { args: MIX, returns: "f32" },
    mixed34_i64: { args: MIX, returns: "i64" },
  });
  try {
    for (let round = 0; round < 20; round++) {
      const vals = MIX.map((t, k) => {
        const r = (round * 37 + k * 11) % 97;
        switch (t) {
          case "i32": return -r * 1000 - k;
          case "f64": return r + 0.25 * (k % 4);
          case "i64": return round % 2 ? BigInt(r * 100000 + k) : -(r * 100000 + k);
          case "f32": return r + 0.5;
          case "u8": return (r * 3 + k) & 255;
          case "u32": return 3000000000 + r;
          case "i16": return -r * 300;
        }
      });
      const want = mixChecksum(vals);
      assert.equal(L.symbols.mixed34(...vals), want, `round ${round}`);
      assert.equal(L.symbols.mixed34_f32(...vals), Math.fround(want));
      assert.equal(L.symbols.mixed34_i64(...vals), BigInt(Math.trunc(want)));
    }
    // Wrap-around applies to stack-passed arguments too.
    const vals = MIX.map((t) => (t === "u8" ? 257 : t === "i16" ? 65537 : t === "u32" ? -1 : 1));
    const conv = vals.map((v, k) => (MIX[k] === "u8" ? 1 : MIX[k] === "i16" ? 1 : MIX[k] === "u32" ? 4294967295 : 1));
    assert.equal(L.symbols.mixed34(...vals), mixChecksum(conv));
  } finally {
    L.close();
  }
});

test("40 i64 and 40 f64 arguments", () => {
  const L = dlopen(fixtures.basic, {
    many_i64: { args: Array(40).fill("i64"), returns: "u64" },
    many_f64: { args: Array(40).fill("f64"), returns: "f64" },
  });
  try {
    const ints = Array.from({ length: 40 }, (_, k) => (k % 2 ? BigInt(k) * 2n ** 40n : -(k * 1000)));
    let want = 0n;
    ints.forEach((v, k) => { want = BigInt.asUintN(64, want + BigInt(k + 1) * BigInt.asUintN(64, BigInt(v))); });
    assert.equal(L.symbols.many_i64(...ints), want);
    const dbl = Array.from({ length: 40 }, (_, k) => k * 0.5 - 7);
    let s = 0;
    dbl.forEach((v, k) => { s += (k + 1) * v; });
    assert.equal(L.symbols.many_f64(...dbl), s);
    // Missing trailing arguments are zero, also on the stack.
    let s2 = 0;
    dbl.slice(0, 20).forEach((v, k) => { s2 += (k + 1) * v; });
    assert.equal(L.symbols.many_f64(...dbl.slice(0, 20)), s2);
  } finally {
    L.close();
  }
});

test("33 pointer arguments (stack-passed pointers)", () => {
  const L = dlopen(fixtures.basic, { pick_ptr33: { args: ["i32", ...Array(32).fill("ptr")], returns: "ptr" } });
  try {
    const bufs = Array.from({ length: 32 }, (_, k) => new Uint8Array([k]));
    const addrs = bufs.map((b) => S.id_ptr(b));
    for (let k = 0; k < 32; k++) assert.equal(L.symbols.pick_ptr33(k, ...bufs), addrs[k], `pointer ${k}`);
    const nums = Array.from({ length: 32 }, (_, k) => 4096 * (k + 1));
    for (let k = 0; k < 32; k++) assert.equal(L.symbols.pick_ptr33(k, ...nums), nums[k]);
    assert.equal(L.symbols.pick_ptr33(31, ...nums.slice(0, 31)), null, "missing → NULL");
  } finally {
    L.close();
  }
});

// ---- Found in review ------------------------------------------------------------------------

test("ptr: a SharedArrayBuffer is rejected (a view over one works)", () => {
  const sab = new SharedArrayBuffer(8);
  new Uint8Array(sab)[0] = 42;
  expectTypeError(() => S.is_null(sab), /^Unable to convert .* to a pointer$/);
  assert.equal(S.is_null(new Uint8Array(sab)), 0);
});

test("function: reading a JSCallback's .ptr cannot disturb arguments already converted", () => {
  const { outer_i64 } = dlopen(fixtures.basic, {
    outer_i64: { args: ["i64", "i64", "function", "f64", "i32"], returns: "i64" },
  }).symbols;
  const cb = new JSCallback((x) => x, { args: ["i32"], returns: "i32" });
  const expected = outer_i64(1n, 2n, cb, 3, 4); // 3 + 10 + 21 + 44 + 4
  assert.equal(expected, 82n);
  // a getter that makes an FFI call of its own while the call's arguments are being written
  const lazy = { get ptr() { S.add_i32(100, 200); return cb.ptr; } };
  assert.equal(outer_i64(1n, 2n, lazy, 3, 4), expected);
  const proxy = new Proxy({}, { get: (t, k) => (k === "ptr" ? (S.add_i32(7, 8), cb.ptr) : undefined) });
  assert.equal(outer_i64(1n, 2n, proxy, 3, 4), expected);
  // an object whose .ptr is not an address
  for (const bad of [{ ptr: "x" }, { ptr: {} }, { ptr: true }]) {
    expectTypeError(() => outer_i64(1n, 2n, bad, 3, 4), "Expected function to be a JSCallback or a number");
  }
  cb.close();
});
