// viewsource.test.js: SPEC §13, viewSource(symbols, isCallback) — the C source cffi would
// generate, one string per symbol (or one string for a callback); nothing is loaded; the
// libffi path says so; definition errors as in §1.1.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { cffiPath, jit, expectTypeError } = require("./helpers.js");
const cffi = require(cffiPath);
const { viewSource } = cffi;

test("viewSource(symbols): one string per symbol, in key order, nothing loaded", () => {
  const src = viewSource({
    not_a_real_symbol_anywhere: { args: ["f64", "f64"], returns: "f64" },
    another_missing_one: { args: ["u8", "ptr"], returns: "void" },
    2: { args: [], returns: "i64" },
  });
  assert.ok(Array.isArray(src));
  assert.equal(src.length, 3);
  for (const s of src) {
    assert.equal(typeof s, "string");
    assert.ok(s.length > 0);
  }
  if (jit) {
    // Key order is "2", then the others: each source mentions its own C types.
    assert.match(src[0], /int64_t/);
    assert.match(src[1], /double/);
    assert.match(src[2], /uint8_t/);
  }
});

test("viewSource: defaults (args [], returns void) and every argument type", () => {
  assert.equal(viewSource({ f: {} }).length, 1);
  const all = ["char", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f64", "f32", "bool", "ptr", "cstring",
    "i64_fast", "u64_fast", "function", "buffer"]; // buffer_length is refused by viewSource (§1.1)
  const [s] = viewSource({ f: { args: all, returns: "u64_fast" } });
  assert.equal(typeof s, "string");
  for (const r of ["char", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f64", "f32", "bool", "ptr", "cstring",
    "i64_fast", "u64_fast", "function", "void"]) {
    assert.equal(typeof viewSource({ f: { returns: r } })[0], "string", r);
  }
});

test("viewSource(def, true): one string for a callback", () => {
  const s = viewSource({ args: ["i32", "f64", "ptr", "cstring"], returns: "i32" }, true);
  assert.equal(typeof s, "string");
  assert.ok(s.length > 0);
  assert.equal(typeof viewSource({}, true), "string");
});

test("the libffi path says so", () => {
  const calls = viewSource({ a: { args: ["i32", "i32"], returns: "i32" }, b: { args: Array(40).fill("f64"), returns: "f64" } });
  const cb = viewSource({ args: ["i32"], returns: "i32" }, true);
  if (!jit) {
    // CFFI_JIT=0: every signature runs on libffi.
    for (const s of calls) assert.match(s, /libffi/);
    assert.match(cb, /libffi/);
  } else {
    assert.match(calls[0], /int32_t/, "a simple signature gets C source in JIT mode");
  }
});

test("viewSource: errors", () => {
  for (const v of [undefined, null, 5, "x"]) {
    expectTypeError(() => viewSource(v), "Expected an options object with symbol names");
    expectTypeError(() => viewSource(v, true), "Expected an object");
  }
  expectTypeError(() => viewSource({ f: 5 }), 'Expected an object for key "f"');
  expectTypeError(() => viewSource({ f: { args: ["nope"] } }), "Unknown type nope", "ERR_INVALID_ARG_VALUE");
  expectTypeError(() => viewSource({ returns: "nope" }, true), "Unknown return type nope", "ERR_INVALID_ARG_VALUE");
  expectTypeError(() => viewSource({ f: { args: 1 } }), 'Expected an object with "args" as an array');
  expectTypeError(() => viewSource({ f: { args: [99] } }), "invalid ABI type");
  expectTypeError(() => viewSource({ f: { args: ["napi_value"] } }), "napi_env / napi_value are only supported in cffi cc()");
});
