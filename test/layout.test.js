// layout.test.js: the layout types of SPEC §17.1 (struct, union, array: sizes, alignments and
// offsets against what gcc computes for the same declarations in test/fixtures/layouts.c),
// their values (§17.2), read/write/alloc/view through real C memory (§17.4), the internal
// layoutInfo() the call path uses, and every definition and value error.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const { fixtures, cffiPath, cffiDir, expectTypeError } = require("./helpers.js");
const cffi = require(cffiPath);
const { struct, union, array, dlopen, ptr, read, JSCallback } = cffi;
const { layoutInfo } = require(path.join(cffiDir, "lib", "layout.js"));

const lib = dlopen(fixtures.layouts, {
  layout_table: { returns: "ptr" },
  sum_a: { args: ["ptr"], returns: "f64" },
  fill_h: { args: ["ptr"] },
  sum_h: { args: ["ptr"], returns: "f64" },
  marker_address: { returns: "ptr" },
  fill_l: { args: ["ptr"] },
  check_l: { args: ["ptr"], returns: "i32" },
  fill_points: { args: ["ptr", "i32"] },
  sum_points: { args: ["ptr", "i32"], returns: "f64" },
  sum_j: { args: ["ptr"], returns: "i32" },
  union_as_double: { args: ["ptr"], returns: "f64" },
  union_arr: { args: ["ptr", "i32"], returns: "i32" },
}).symbols;

// The layouts of test/fixtures/layouts.c, in its table's order.
const A = struct({ c: "char", d: "f64", i: "int" });
const B = struct({ a: "u8", b: "u16", c: "uint8_t", d: "u32", e: "u64" });
const C = struct({ b: "bool", p: "ptr", f: "f32" });
const D = struct({ a: A, c: "char", b: B });
const E = struct({ c: "char", d: "double", s: "i16", a: A }, { packed: true });
const F = struct({ i: "i32", c: "char" }, { align: 32 });
const G = struct({ c: "char", x: "i64" }, { packed: true, align: 4 });
const U = union({ c: "char", d: "f64", arr: array("i32", 3) });
const H = struct({ v: array("f32", 3), t: array("i8", 5), d: "f64", u: U });
const I = struct({ arr: array(A, 3), tail: "u16" });
const V = union({ a: A, x: "i64", s: array("char", 30) });
const J = struct({ m: array(array("i32", 3), 2), c: "char" });
const KIn = struct({ b: "char", c: "i32" }, { packed: true });
const K = struct({ a: "char", in: KIn, d: "char" });
const L = struct({ fn: "function", big: "i64", u: "u64", i: "i32", ok: "bool" });
const M = struct({ c: "char", f: F });
const N = struct({ a: "u16", pair: array(struct({ x: "u8", y: "u32" }), 2), z: "u8" });
const P = struct({ id: "i32", x: "f32", y: "f64" });
const ALL = { A, B, C, D, E, F, G, U, H, I, V, J, K, L, M, N, P };

test("sizes, alignments and offsets match gcc", () => {
  const t = lib.layout_table();
  let k = 0;
  const next = () => read.i32(t, 4 * k++);
  for (const [name, Lt] of Object.entries(ALL)) {
    const gcc = { size: next(), align: next(), offsets: Array.from({ length: next() }, next) };
    assert.deepEqual({ size: Lt.size, align: Lt.align, offsets: Lt.fields.map((f) => f.offset) }, gcc, name);
  }
  assert.equal(next(), -1);
});

test("layout objects: kind, fields, offsetOf, array length/type, frozen", () => {
  assert.equal(A.kind, "struct");
  assert.equal(U.kind, "union");
  assert.equal(H.fields[0].type.kind, "array");
  assert.deepEqual(A.fields, [{ name: "c", type: 0, offset: 0 }, { name: "d", type: 9, offset: 8 }, { name: "i", type: 5, offset: 16 }]);
  assert.equal(D.fields[0].type, A);
  assert.equal(D.offsetOf("b"), 32);
  assert.equal(D.offsetOf("b.e"), 48);
  const arr = array(P, 4);
  assert.deepEqual([arr.kind, arr.length, arr.type, arr.size, arr.align, arr.offsetOf(2)], ["array", 4, P, 64, 8, 32]);
  assert.equal(array("u16", 3).type, 4);
  for (const x of [A, A.fields, A.fields[0], arr]) assert.ok(Object.isFrozen(x));
  assert.throws(() => A.offsetOf("nope"), { name: "TypeError", message: 'No field "nope" in this struct' });
  assert.equal(struct({ b: "bool", c: "char" }).size, 2);
  assert.equal(struct({ f: "fn", p: "void*", s: "size_t" }).size, 24);
  assert.equal(cffi.struct, struct);
});

test("definition errors (§17.1)", () => {
  const FIELDS = "Expected an object with at least one field";
  for (const bad of [undefined, null, 5, "x", [], {}, new Map(), [["x", "i32"]]]) {
    expectTypeError(() => struct(bad), FIELDS);
    expectTypeError(() => union(bad), FIELDS);
  }
  assert.throws(() => struct({ x: "nope" }), { name: "TypeError", code: "ERR_INVALID_ARG_VALUE", message: 'Field "x": Unknown type nope' });
  expectTypeError(() => struct({ x: 99 }), 'Field "x": invalid ABI type');
  expectTypeError(() => struct({ x: {} }), 'Field "x": param must be a string (type name) or number');
  expectTypeError(() => struct({ x: "void" }), 'Field "x": void is not a valid field type');
  for (const t of ["cstring", "buffer", "buffer_length", "napi_env", "napi_value"]) {
    assert.throws(() => struct({ x: t }), (e) => e instanceof TypeError && e.message.startsWith(`Field "x": ${t} is not a valid field type`));
  }
  expectTypeError(() => array("nope", 2), "Element type: Unknown type nope");
  for (const n of [0, -1, 1.5, "3", undefined, NaN]) {
    assert.throws(() => array("i32", n), (e) => e instanceof TypeError && e.message.startsWith("array length must be a positive integer"));
  }
  assert.throws(() => array("f64", 2 ** 30), RangeError);
  expectTypeError(() => struct({ x: "i32" }, { align: 3 }), "options.align must be a power of two, received 3");
  expectTypeError(() => struct({ x: "i32" }, { packed: 1 }), "options.packed must be a boolean");
  expectTypeError(() => struct({ x: "i32" }, { pack: true }), 'Unknown option "pack" (options: packed, align)');
  expectTypeError(() => struct({ x: "i32" }, 4), "options must be an object");
});

test("layoutInfo: id, desc (flattened leaves), enc/dec on a DataView", () => {
  assert.equal(layoutInfo({}), undefined);
  assert.equal(layoutInfo("i32"), undefined);
  const ia = layoutInfo(A);
  const ib = layoutInfo(B);
  assert.ok(ia.id > 0 && ib.id > 0 && ia.id !== ib.id);
  assert.equal(layoutInfo(A), ia);
  assert.deepEqual(Array.from(ia.desc), [24, 8, 0, 3, 0, 0, 1, 8, 9, 1, 16, 5, 1, 8]);
  // nested: absolute offsets; arrays of scalars one leaf; arrays of layouts repeated
  assert.deepEqual(Array.from(layoutInfo(H).desc), [48, 8, 0, 6, 0, 10, 3, 12, 1, 5, 24, 9, 1, 32, 0, 1, 32, 9, 1, 32, 5, 3, 8]);
  assert.deepEqual(Array.from(layoutInfo(I).desc).slice(0, 4), [80, 8, 0, 10]);
  assert.deepEqual(Array.from(layoutInfo(I).desc).slice(-7), [64, 5, 1, 72, 4, 1, 8]);
  assert.deepEqual(Array.from(layoutInfo(U).desc), [16, 8, 1, 3, 0, 0, 1, 0, 9, 1, 0, 5, 3, 8]);
  assert.deepEqual(Array.from(layoutInfo(array("u8", 7)).desc), [7, 1, 2, 1, 0, 2, 7, 1]);
  // the last element: the natural alignment, before an `align` option (AAPCS64 passes by it)
  assert.deepEqual(Array.from(layoutInfo(struct({ a: "i32" }, { align: 16 })).desc), [16, 16, 0, 1, 0, 5, 1, 4]);
  assert.equal(layoutInfo(struct({ a: struct({ b: "i8" }, { align: 16 }) })).desc.at(-1), 16);
  assert.equal(layoutInfo(struct({ a: "f64", b: "i8" }, { packed: true })).desc.at(-1), 1);
  const dv = new DataView(new ArrayBuffer(64));
  new Uint8Array(dv.buffer).fill(0xee);
  ia.enc(dv, 8, { c: 1, d: 2.5 }, 0);
  assert.deepEqual(ia.dec(dv, 8), { c: 1, d: 2.5, i: 0 });
  assert.deepEqual([...new Uint8Array(dv.buffer, 8, 24)].filter((b) => b === 0xee), []); // padding zeroed
  assert.throws(() => ia.enc(dv, 0, { d: "x" }, 1), {
    name: "TypeError", code: "ERR_INVALID_ARG_TYPE", message: 'Argument 1: field "d": expected a number or BigInt for double, received string',
  });
  expectTypeError(() => layoutInfo(D).enc(dv, 0, { b: { e: {} } }, "Return value"),
    'Return value: field "b.e": expected a number or BigInt for uint64_t, received object');
  expectTypeError(() => layoutInfo(I).enc(dv, 0, { arr: [{}, { d: [] }] }, 2),
    'Argument 2: field "arr[1].d": expected a number or BigInt for double, received object');
  expectTypeError(() => layoutInfo(J).enc(dv, 0, { m: [[1], [2, 3, "x"]] }, 0),
    'Argument 0: field "m[1][2]": expected a number or BigInt for int32_t, received string');
});

test("values: scalars convert as arguments (§2.1) and results (§2.2)", () => {
  const S = struct({
    c: "char", u8: "u8", i16: "i16", u32: "u32", i64: "i64", u64: "u64", f32: "f32", f64: "f64",
    b: "bool", p: "ptr", i64f: "i64_fast", u64f: "u64_fast", fn: "function",
  });
  const rt = (v) => S.read(S.alloc(v));
  assert.deepEqual(rt({}), { c: 0, u8: 0, i16: 0, u32: 0, i64: 0n, u64: 0n, f32: 0, f64: 0, b: false, p: null, i64f: 0, u64f: 0, fn: null });
  const r = rt({
    c: 200, u8: -1, i16: 40000, u32: -1, i64: -5.7, u64: -1, f32: 0.1, f64: 10n, b: "yes", p: 4096n,
    i64f: 2 ** 53, u64f: 2n ** 64n - 1n, fn: { ptr: 8192 },
  });
  assert.deepEqual(r, {
    c: -56, u8: 255, i16: -25536, u32: 4294967295, i64: -5n, u64: 2n ** 64n - 1n, f32: Math.fround(0.1), f64: 10,
    b: true, p: 4096, i64f: 2n ** 53n, u64f: 2n ** 64n - 1n, fn: 8192,
  });
  assert.deepEqual(rt({ u32: 5e9, i64: 2 ** 64 + 2 ** 12, u64: 1n << 64n, i16: NaN, i64f: -(2 ** 53) + 1, p: 2 ** 60 }),
    { ...rt({}), u32: 705032704, i64: 4096n, u64: 0n, i16: 0, i64f: -(2 ** 53) + 1, p: 2n ** 60n });
  assert.ok(Number.isNaN(rt({ f64: undefined }).f64)); // explicit undefined → NaN, missing → 0
  assert.equal(rt({ c: 5n, b: 0, p: null, fn: null }).c, 5);
  const bytes = new Uint8Array(4);
  assert.equal(rt({ p: bytes }).p, ptr(bytes));
  const cb = new JSCallback(() => 0, { returns: "i32" });
  try {
    assert.equal(rt({ fn: cb }).fn, cb.ptr);
  } finally {
    cb.close();
  }
  expectTypeError(() => S.alloc({ p: "x" }), 'Field "p": To convert a string to a pointer, encode it as a buffer');
  expectTypeError(() => S.alloc({ p: -1 }), 'Field "p": Unable to convert -1 to a pointer');
  expectTypeError(() => S.alloc({ fn: undefined }), 'Field "fn": Expected function to be a JSCallback or a number');
  expectTypeError(() => S.alloc({ fn: {} }), 'Field "fn": Expected function to be a JSCallback or a number');
  expectTypeError(() => S.alloc({ i64: "1" }), 'Field "i64": expected a number or BigInt for int64_t, received string');
  expectTypeError(() => S.alloc({ c: true }), 'Field "c": expected a number or BigInt for char, received boolean');
});

test("values: arrays, unions, raw bytes, unknown keys (§17.2)", () => {
  const W = struct({
    f: array("f64", 2), c: array("char", 2), q: array("u64", 1), qf: array("i64_fast", 1),
    b: array("bool", 2), p: array("ptr", 2), s: array(A, 2),
  });
  const w = W.read(W.alloc({ f: new Set([1.5]), c: [-1], q: [1], b: [1, 0], p: [4096], s: [{ i: 3 }] }));
  assert.deepEqual(w.f, new Float64Array([1.5, 0]));
  assert.deepEqual(w.c, new Int8Array([-1, 0]));
  assert.deepEqual(w.q, new BigUint64Array([1n]));
  assert.deepEqual(w.qf, new BigInt64Array([0n]));
  assert.deepEqual(w.b, [true, false]);
  assert.deepEqual(w.p, [4096, null]);
  assert.deepEqual(w.s, [{ c: 0, d: 0, i: 3 }, { c: 0, d: 0, i: 0 }]);
  assert.deepEqual(W.read(W.alloc({ f: new Float32Array([1, 2]), c: { length: 1, 0: 7 } })).f, new Float64Array([1, 2]));
  assert.deepEqual(W.read(W.alloc({ f: new Uint8Array(new Float64Array([3, 4]).buffer) })).f, new Float64Array([3, 4]));
  expectTypeError(() => W.alloc({ f: [1, 2, 3] }), 'Field "f": expected at most 2 elements for double[2], received 3');
  expectTypeError(() => W.alloc({ f: 5 }), 'Field "f": expected an array, iterable, TypedArray or ArrayBuffer for double[2], received number');
  expectTypeError(() => W.alloc({ f: new ArrayBuffer(8) }), 'Field "f": expected exactly 16 bytes for double[2], received 8');
  // raw bytes: a TypedArray/DataView/ArrayBuffer of at least .size bytes
  const src = A.alloc({ c: 9, d: 1, i: 2 });
  assert.deepEqual(A.read(A.alloc(src)), { c: 9, d: 1, i: 2 });
  assert.deepEqual(A.read(A.alloc(new DataView(src.buffer))), { c: 9, d: 1, i: 2 });
  expectTypeError(() => A.alloc(new Uint8Array(23)), "Expected at least 24 bytes for struct, received 23");
  expectTypeError(() => A.alloc({ c: 1, e: 2 }), 'Unknown field "e" for struct (fields: c, d, i)');
  expectTypeError(() => D.alloc({ a: { z: 1 } }), 'Field "a": unknown field "z" for struct (fields: c, d, i)');
  expectTypeError(() => A.alloc(5), "Expected an object, TypedArray, DataView or ArrayBuffer for struct, received number");
  // unions: every field decoded from the same bytes; at most one set
  const u = U.read(U.alloc({ d: -0.0 }));
  assert.deepEqual([Object.is(u.d, -0), u.c, Array.from(u.arr)], [true, 0, [0, -2147483648, 0]]);
  assert.deepEqual(U.read(U.alloc({ d: undefined, c: 3 })).c, 3);
  expectTypeError(() => U.alloc({ c: 1, d: 2 }), 'A union takes at most one field, received "c", "d"');
  const proto = struct(JSON.parse('{"__proto__": "i32", "constructor": "u8"}'));
  const pv = proto.read(proto.alloc(JSON.parse('{"__proto__": 5, "constructor": 6}')));
  assert.deepEqual([Object.getPrototypeOf(pv), Object.keys(pv), pv.constructor], [Object.prototype, ["__proto__", "constructor"], 6]);
});

test("read/write through C memory: nested structs, arrays, unions (§17.4)", () => {
  const h = H.alloc();
  assert.equal(h.length, 48);
  lib.fill_h(ptr(h));
  const v = H.read(ptr(h));
  assert.deepEqual(v.v, new Float32Array([0.5, 1, 1.5]));
  assert.deepEqual(v.t, new Int8Array([0, -1, -2, -3, -4]));
  assert.equal(v.d, 1e100);
  assert.deepEqual(Array.from(v.u.arr), [7, -8, 9]);
  assert.deepEqual(H.read(h), v);
  H.write(ptr(h), { v: [1, 2, 3], t: [1], d: 0.25, u: { arr: [1, 1, 1] } });
  assert.equal(lib.sum_h(ptr(h)), 6 + 1 + 0.25 + 3);
  H.write(h, { d: 2 });
  assert.equal(lib.sum_h(ptr(h)), 2);
  const a = A.alloc({ c: 1, d: 2.5, i: -4 });
  assert.equal(lib.sum_a(a), -0.5);
  A.write(ptr(a), { c: -2, d: 0.5, i: 8 });
  assert.equal(lib.sum_a(a), 6.5);
  const u = U.alloc();
  U.write(u, { d: 0.125 });
  assert.equal(lib.union_as_double(u), 0.125);
  U.write(ptr(u), { arr: [1, 2, 3] });
  assert.deepEqual([0, 1, 2].map((k) => lib.union_arr(u, k)), [1, 2, 3]);
  const j = J.alloc({ m: [[1, 2, 3], new Int32Array([4, 5, 6])], c: 100 });
  assert.equal(lib.sum_j(j), 1 + 4 + 9 + 16 + 25 + 36 + 100);
  assert.deepEqual(J.read(j).m.map((r) => Array.from(r)), [[1, 2, 3], [4, 5, 6]]);
  // 64-bit integers, function pointers and bool from C, and back
  const l = L.alloc();
  lib.fill_l(l);
  const lv = L.read(ptr(l));
  assert.deepEqual(lv, { fn: lib.marker_address(), big: -(2n ** 63n), u: 2n ** 64n - 1n, i: -1, ok: true });
  const l2 = L.alloc(lv);
  assert.equal(lib.check_l(l2), 1);
  L.write(l2, { ...lv, ok: false });
  assert.equal(lib.check_l(l2), 0);
  // an array of structs in C memory, with byteOffset
  const pts = array(P, 10).alloc();
  lib.fill_points(pts, 10);
  assert.deepEqual(P.read(ptr(pts), 3 * P.size), { id: 3, x: 1.5, y: 6 });
  assert.deepEqual(array(P, 10).read(ptr(pts))[9], { id: 9, x: 4.5, y: 18 });
  P.write(ptr(pts), { id: 100 }, 2 * P.size);
  assert.equal(lib.sum_points(pts, 3), 0 + 1 + 0.5 + 2 + 100);
  // big layouts (more than the layout area) go straight to C memory
  const big = array("f64", 20000);
  const bb = big.alloc(new Float64Array(20000).fill(2));
  assert.equal(big.read(ptr(bb))[19999], 2);
  big.write(ptr(bb), [5]);
  assert.deepEqual([read.f64(ptr(bb)), read.f64(ptr(bb), 8 * 19999)], [5, 0]);
});

test("alloc aligns to .align; read/write/view errors", () => {
  for (const Lt of [F, struct({ x: "i8" }, { align: 64 }), P]) {
    for (let k = 0; k < 20; k++) {
      const u8 = Lt.alloc();
      assert.equal(u8.length, Lt.size);
      assert.equal(ptr(u8) % Lt.align, 0);
    }
  }
  assert.throws(() => A.read(0), { name: "TypeError", message: "ptr cannot be zero" });
  assert.throws(() => A.read(100), TypeError);
  assert.throws(() => A.read(-1n), { message: "Expected a pointer" });
  assert.throws(() => A.write(0, {}), { message: "ptr cannot be zero" });
  assert.throws(() => A.write(new Uint8Array(23), {}), RangeError);
  assert.throws(() => A.write(new Uint8Array(30), {}, 8), RangeError);
  assert.throws(() => A.read(new Uint8Array(24), 1), RangeError);
  assert.throws(() => A.view(new ArrayBuffer(10)), RangeError);
  assert.throws(() => A.view(0), { message: "ptr cannot be zero" });
  assert.equal(array("i8", 2).view, undefined);
  const ab = new ArrayBuffer(24);
  structuredClone(ab, { transfer: [ab] });
  assert.throws(() => A.write(ab, {}), { name: "TypeError", message: /detached/ });
});

test("view: live fields over JS and C memory", () => {
  const u8 = H.alloc();
  const v = H.view(u8);
  lib.fill_h(u8);
  assert.equal(v.d, 1e100);
  assert.ok(v.v instanceof Float32Array);
  assert.deepEqual(Array.from(v.v), [0.5, 1, 1.5]);
  v.v[1] = 10; // a live TypedArray over the same bytes
  v.t = [5, 5];
  assert.equal(lib.sum_h(u8), 1e100 + 12 + 10 + 8);
  assert.equal(v.u, v.u); // nested views are cached
  v.u.arr[2] = 100;
  const pu = ptr(u8) + H.offsetOf("u");
  assert.equal(lib.union_arr(pu, 2), 100);
  v.u = { d: 1 };
  assert.equal(lib.union_as_double(pu), 1);
  assert.throws(() => { v.d = "x"; }, { message: 'Field "d": expected a number or BigInt for double, received string' });
  assert.throws(() => { v.u = { d: 1, c: 1 }; }, { message: 'Field "u": a union takes at most one field, received "d", "c"' });
  // over C memory by address, with byteOffset; arrays of structs give live element views
  const pts = array(P, 4).alloc();
  const pv = P.view(ptr(pts), 2 * P.size);
  pv.id = 42;
  pv.y = 0.5;
  assert.equal(lib.sum_points(pts, 4), 42.5);
  const ib = I.alloc({ arr: [{ d: 1 }, { d: 2 }, { d: 3 }] });
  const iv = I.view(ib);
  assert.deepEqual(iv.arr.map((x) => x.d), [1, 2, 3]);
  iv.arr[1].i = 7;
  assert.equal(I.read(ptr(ib)).arr[1].i, 7);
  const packedArr = struct({ c: "char", f: array("f64", 2) }, { packed: true });
  const pa = packedArr.view(packedArr.alloc({ f: [1, 2] }));
  assert.ok(pa.f instanceof DataView); // unaligned: a DataView over the bytes
  assert.equal(pa.f.getFloat64(8, true), 2);
});

test("copyIn/copyOut: the layout area only", () => {
  const { binding: { memory }, H } = require(path.join(cffiDir, "lib", "abi.js"));
  const binding = memory();
  const src = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const dst = new Uint8Array(8);
  const b = H.AT[0];
  binding.copyIn(ptr(src), b, 8);
  binding.copyOut(BigInt(ptr(dst)), b, 8);
  assert.deepEqual(dst, src);
  for (const [off, size] of [[1016, 8], [65536 - 4, 8], [b, -1], [-8, 8]]) {
    assert.throws(() => binding.copyIn(ptr(src), off, size), RangeError);
    assert.throws(() => binding.copyOut(ptr(dst), off, size), RangeError);
  }
  assert.throws(() => binding.copyIn(0, b, 8), TypeError);
});

test("user code: getters that write layouts meanwhile, replaced DataView methods", () => {
  const inner = A.alloc();
  const target = A.alloc();
  const value = { c: 1, get d() { A.write(ptr(inner), { c: 5, d: 5, i: 5 }); return 2.5; }, i: 2 };
  A.write(ptr(target), value); // the outer value's bytes are reserved before the getter runs
  assert.deepEqual([A.read(target), A.read(inner)], [{ c: 1, d: 2.5, i: 2 }, { c: 5, d: 5, i: 5 }]);
  const { getFloat64, setFloat64 } = DataView.prototype;
  DataView.prototype.getFloat64 = DataView.prototype.setFloat64 = () => { throw new Error("user code ran"); };
  try {
    assert.deepEqual(A.read(A.alloc({ d: 2 })), { c: 0, d: 2, i: 0 });
    const { H } = require(path.join(cffiDir, "lib", "abi.js"));
    layoutInfo(A).enc(H.DV, H.AT[0], { d: 3 }, 0);
    assert.equal(layoutInfo(A).dec(H.DV, H.AT[0]).d, 3);
  } finally {
    Object.assign(DataView.prototype, { getFloat64, setFloat64 });
  }
  // results are built without assignments an inherited setter could catch
  const many = array(A, 70);
  const bools = array("bool", 5);
  const bytes = many.alloc(Array.from({ length: 70 }, (_, k) => ({ i: k })));
  Object.defineProperty(Array.prototype, "3", { configurable: true, set() { throw new Error("setter ran"); } });
  try {
    const r = many.read(bytes);
    assert.deepEqual([r.length, r[3].i, r[69].i], [70, 3, 69]);
    assert.deepEqual(bools.read(new Uint8Array([0, 1, 0, 1, 0])), [false, true, false, true, false]);
  } finally {
    delete Array.prototype[3];
  }
});
