// layout.js: the layout types of SPEC 17 -- struct(), union(), array() -- with their C layout
// (x86-64 SysV / AAPCS64: natural alignment, `packed`, `align`), their JS values (SPEC 17.2) and
// their read/write/alloc/view through pointers (SPEC 17.4).
//
// Every layout gets code generated for it with `new Function` (one source per layout, so every
// call site in it stays monomorphic): `encI` writes a JS value as the layout's bytes into a
// DataView, `dec` reads them back, `read` copies the bytes into the shared buffer's layout area
// (C memory: memCopyIn, src/memory.c) and decodes them there; write and alloc encode there and
// copy out. The generated code uses only the built-ins captured below (DataView methods: see
// harden), so that a replaced built-in never runs inside it; `dec` runs no user code at
// all, `encI` only the user's own getters (and iterators).
//
// INTERNAL API for the call path (lib/types.js puts a layout's info into signatures; src/jsgen.c's
// generated wrappers call enc/dec on the frame in the layout area, src/cffi.h; src/layout.c reads
// desc): layoutInfo(x) -> { id, desc, enc(dv, off, value, where), dec(dv, off) } or undefined.
// desc: Int32Array [size, align, kind (0 struct, 1 union, 2 array), n, (offset, FFIType, count)
// x n, natural], the scalar leaves with absolute offsets (nested layouts flattened, union
// members overlapping, an array of scalars one leaf), then the natural alignment: that of the
// most aligned member, before `align` (AAPCS64 passes arguments by it). `where`: an argument
// index or a label for messages.
// `dv` is H.DV (hardened at load, see harden); any other DataView works but is not
// protected against a replaced DataView.prototype method.
"use strict";
const { isArrayBuffer } = require("node:util").types;
const {
  builtins, binding, H, dataView, BUF_SIZE, reserve, codedTypeError, isView, viewByteLength, abByteLength, viewGone, MIN_ADDRESS,
} = require("./abi.js");
const { T, typeOf } = require("./types.js");
const memory = require("./memory.js");

// ---- Built-ins, captured at load (see lib/abi.js) -----------------------------------------
// Those lib/abi.js also uses come from there (captured at require("cffi")); the rest here, when
// this module first loads.
const {
  uncurry, getter, NumberCtor, BigIntAsIntN, StringCtor, TypeErrorCtor, RangeErrorCtor, ObjectDefineProperty,
  newFunction, Uint8ArrayCtor,
} = builtins;
const DVP = DataView.prototype;
const TAP = Object.getPrototypeOf(Uint8Array.prototype);
const DataViewCtor = DataView;
const ArrayBufferCtor = ArrayBuffer;
const ArrayCtor = Array;
const ObjectKeys = Object.keys;
const ObjectFreeze = Object.freeze;
const ArrayIsArray = Array.isArray;
const hasOwn = uncurry(Object.prototype.hasOwnProperty);
const floor = Math.floor;
const trunc = Math.trunc;
const SymbolIterator = Symbol.iterator;
const taTag = getter(TAP, Symbol.toStringTag);
const taBuffer = getter(TAP, "buffer");
const taByteOffset = getter(TAP, "byteOffset");
const taByteLength = getter(TAP, "byteLength");
const taLength = getter(TAP, "length");
const taSet = uncurry(TAP.set);
const taFill = uncurry(TAP.fill);
const dvBuffer = getter(DVP, "buffer");
const dvByteOffset = getter(DVP, "byteOffset");
const dvByteLength = getter(DVP, "byteLength");
const WeakMapGet = uncurry(WeakMap.prototype.get);
const WeakMapSet = uncurry(WeakMap.prototype.set);
const SetHas = uncurry(Set.prototype.has);
// The generated code calls DataView methods with method syntax. The DataViews it is given (H.DV
// and harden()ed ones) have them as own, read-only properties (lib/memory.js hardenDataView).
// The DataViews of L.view() objects are plain: their getters and setters run no FFI call, so a
// replaced prototype method only affects the user.
const harden = memory.hardenDataView;
harden(dataView());
const AREA_BUFFER = dvBuffer(H.DV); // the shared buffer (its layout area: lib/abi.js)
const TA = {
  Int8Array, Uint8Array, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array,
  Float64Array, BigInt64Array, BigUint64Array,
};

const TWO32 = 4294967296;
const TWO64 = 18446744073709551616;
const MAX_U64 = (1n << 64n) - 1n;
const MAX_SAFE = 9007199254740991;
const HI_SAFE = 2097152; // 2^21: a high word below it keeps a 64-bit value safe
const MAX_SIZE = 0x7fffffff;

const mb = binding.memory(); // src/memory.c's functions (lib/memory.js says more)
const { memCopyIn, memCopyOut, memPtrView, memPtrArrayBuffer } = mb;
// src/memory.c's scratch words: [0] address, [1] result, [2] area offset, [3] size
const SC32 = new Uint32Array(mb.memScratch);
const SC64 = new BigUint64Array(mb.memScratch);

// copyIn/copyOut (src/memory.c) with the arguments in the scratch words: C memory at address
// `a` (validated) <-> the layout area at byte b.
function scratchArgs(a, b, size) {
  if (typeof a === "number") {
    SC32[0] = a >>> 0;
    SC32[1] = (a / TWO32) >>> 0;
  } else {
    SC64[0] = a;
  }
  SC32[4] = b;
  SC32[5] = 0;
  SC32[6] = size;
  SC32[7] = 0;
}
function copyIn(a, b, size) {
  scratchArgs(a, b, size);
  memCopyIn();
}
function copyOut(a, b, size) {
  scratchArgs(a, b, size);
  memCopyOut();
}

// ---- Scalars ------------------------------------------------------------------------------
// Per FFIType number allowed in a layout: size, DataView accessor name, TypedArray of an array.
const SCALAR = [];
const sc = (t, size, acc, ta) => { SCALAR[t] = { size, acc, ta, name: typeName(t) }; };
function typeName(t) {
  for (const k in T) if (T[k] === t) return k;
  return StringCtor(t);
}
sc(T.char, 1, "Int8", "Int8Array");
sc(T.int8_t, 1, "Int8", "Int8Array");
sc(T.uint8_t, 1, "Uint8", "Uint8Array");
sc(T.int16_t, 2, "Int16", "Int16Array");
sc(T.uint16_t, 2, "Uint16", "Uint16Array");
sc(T.int32_t, 4, "Int32", "Int32Array");
sc(T.uint32_t, 4, "Uint32", "Uint32Array");
sc(T.int64_t, 8, "BigInt64", "BigInt64Array");
sc(T.uint64_t, 8, "BigUint64", "BigUint64Array");
sc(T.double, 8, "Float64", "Float64Array");
sc(T.float, 4, "Float32", "Float32Array");
sc(T.bool, 1, "Uint8", null);
sc(T.ptr, 8, "BigUint64", null);
sc(T.i64_fast, 8, "BigInt64", "BigInt64Array");
sc(T.u64_fast, 8, "BigUint64", "BigUint64Array");
sc(T.function, 8, "BigUint64", null);

const NOT_IN_LAYOUT = {
  [T.void]: "void is not a valid field type",
  [T.cstring]: 'cstring is not a valid field type (declare a char * field as "ptr" and read it with CString)',
  [T.napi_env]: "napi_env is not a valid field type",
  [T.napi_value]: "napi_value is not a valid field type",
  [T.buffer]: 'buffer is not a valid field type (use "ptr")',
  [T.buffer_length]: "buffer_length is not a valid field type",
};

// ---- Value errors --------------------------------------------------------------------------
// A conversion deep inside a value throws a Fail (a plain object, cheap to make); each enclosing
// layout prepends its field name or index (up) and the entry point turns it into the TypeError
// (done), e.g. `Argument 1: field "pos.x": expected a number or BigInt for double, received string`.
let pending = null;

function joinPath(part, rest) {
  const head = typeof part === "number" ? `[${part}]` : part;
  if (rest === "") return head;
  return rest[0] === "[" ? head + rest : `${head}.${rest}`;
}

function fail(text, code, part) {
  pending = { path: part === undefined ? "" : joinPath(part, ""), text, code };
  return pending;
}

function up(e, part) {
  if (e === pending) e.path = joinPath(part, e.path);
  return e;
}

// `where`: an argument index, a label ("Return value"), or undefined (read/write/alloc/view).
function done(e, where) {
  if (e !== pending) return e;
  pending = null;
  let msg = e.path === "" ? e.text : `${e.path[0] === "[" ? `element ${e.path}` : `field "${e.path}"`}: ${e.text}`;
  if (where === undefined) msg = msg[0].toUpperCase() + msg.slice(1);
  else msg = `${typeof where === "number" ? `Argument ${where}` : where}: ${msg}`;
  return codedTypeError(e.code, msg);
}

function describe(v) {
  return v === null ? "null" : typeof v;
}

function numberFail(v, t, part) {
  return fail(`expected a number or BigInt for ${SCALAR[t].name}, received ${describe(v)}`, "ERR_INVALID_ARG_TYPE", part);
}

function pointerFail(v, part) {
  if (typeof v === "string") return fail("To convert a string to a pointer, encode it as a buffer", undefined, part);
  let shown;
  try { shown = StringCtor(v); } catch { shown = typeof v; }
  return fail(`Unable to convert ${shown} to a pointer`, undefined, part);
}

const FUNCTION_MSG = "Expected function to be a JSCallback or a number";

// ---- Scalar conversions called by the generated code ---------------------------------------

// Integers up to 32 bits that are not numbers (SPEC 2.1): the DataView store wraps.
function toI32(x, t, part) {
  if (typeof x === "bigint") return NumberCtor(BigIntAsIntN(32, x));
  if (x === undefined || x === null) return 0;
  throw numberFail(x, t, part);
}

function toF64(x, t, part) {
  if (typeof x === "bigint") return NumberCtor(x);
  if (x === undefined) return NaN;
  if (x === null) return 0;
  throw numberFail(x, t, part);
}

// A double as a 64-bit integer: truncated, NaN/+/-Infinity -> 0, wrapped modulo 2^64 (as
// src/convert.c cffi_f64_to_i64). The high word's ToInt32 does the wrapping exactly.
function w64n(dv, o, x) {
  const t = trunc(x);
  const hi = floor(t / TWO32);
  dv.setUint32(o, t - hi * TWO32, true);
  dv.setInt32(o + 4, hi, true);
}

// i64 u64 i64_fast u64_fast given as something other than a BigInt.
function w64(dv, o, x, t, part) {
  if (typeof x === "number") return w64n(dv, o, x);
  if (x === undefined || x === null) return dv.setFloat64(o, 0, true);
  throw numberFail(x, t, part);
}

function validAddress(x) {
  if (typeof x === "number") return (x >= 0 && x < TWO64 && floor(x) === x) || x === 0 || x !== x;
  return typeof x === "bigint" && x >= 0n && x <= MAX_U64;
}

function wAddress(dv, o, x) {
  if (typeof x === "bigint") dv.setBigUint64(o, x, true);
  else if (x > 0) w64n(dv, o, x);
  else dv.setFloat64(o, 0, true);
}

// The address of a view's or ArrayBuffer's first byte (its bytes stay where they are).
function viewAddress(x, part) {
  const view = isView(x);
  if ((view ? viewByteLength(x) : abByteLength(x)) === 0) {
    const gone = viewGone(x);
    if (gone) throw fail(`cannot pass this view to C: ${gone}`, "ERR_INVALID_ARG_VALUE", part);
  }
  if (view) memPtrView(x);
  else memPtrArrayBuffer(x);
  return SC32[2] + SC32[3] * TWO32;
}

function wptr(dv, o, x, part) {
  if (validAddress(x)) return wAddress(dv, o, x);
  if (x === null || x === undefined || x === false) return dv.setFloat64(o, 0, true);
  if (typeof x === "object" && (isView(x) || isArrayBuffer(x))) return wAddress(dv, o, viewAddress(x, part));
  throw pointerFail(x, part);
}

function wfn(dv, o, x, part) {
  if (x === null) return dv.setFloat64(o, 0, true);
  if (typeof x === "object") {
    const p = x.ptr;
    if (p && validAddress(p)) return wAddress(dv, o, p);
  } else if (validAddress(x)) {
    return wAddress(dv, o, x);
  }
  throw fail(FUNCTION_MSG, undefined, part);
}

function gi64f(dv, o) {
  const hi = dv.getInt32(o + 4, true);
  if (hi >= -HI_SAFE && hi < HI_SAFE) {
    const n = hi * TWO32 + dv.getUint32(o, true);
    if (n !== -MAX_SAFE - 1) return n;
  }
  return dv.getBigInt64(o, true);
}

function gu64f(dv, o) {
  const hi = dv.getUint32(o + 4, true);
  if (hi < HI_SAFE) return hi * TWO32 + dv.getUint32(o, true);
  return dv.getBigUint64(o, true);
}

function gptr(dv, o) {
  const hi = dv.getUint32(o + 4, true);
  if (hi < HI_SAFE) {
    const n = hi * TWO32 + dv.getUint32(o, true);
    return n === 0 ? null : n;
  }
  return dv.getBigUint64(o, true);
}

// ---- Bytes ----------------------------------------------------------------------------------

function bytesOf(dv, o, n) {
  return new Uint8ArrayCtor(dvBuffer(dv), dvByteOffset(dv) + o, n);
}

function zero(dv, o, n) {
  if (n <= 32) {
    for (let i = 0; i < n; i++) dv.setUint8(o + i, 0);
  } else {
    taFill(bytesOf(dv, o, n), 0);
  }
}

// {buffer, byteOffset, byteLength} of a TypedArray, DataView or ArrayBuffer; null otherwise.
function source(v) {
  if (isView(v)) {
    if (taTag(v) !== undefined) return { buffer: taBuffer(v), byteOffset: taByteOffset(v), byteLength: taByteLength(v) };
    let n = 0;
    try { n = dvByteLength(v); } catch {}
    return { buffer: dvBuffer(v), byteOffset: n === 0 ? 0 : dvByteOffset(v), byteLength: n };
  }
  if (isArrayBuffer(v)) return { buffer: v, byteOffset: 0, byteLength: abByteLength(v) };
  return null;
}

// A TypedArray, DataView or ArrayBuffer given as a layout value: its bytes, copied raw
// (`exact`: arrays take exactly .size bytes, structs and unions at least .size).
function raw(dv, off, v, size, exact, what) {
  const s = source(v);
  if (s.byteLength === 0) {
    const gone = viewGone(v);
    if (gone) throw fail(`cannot read this view: ${gone}`, "ERR_INVALID_ARG_VALUE");
  }
  if (exact ? s.byteLength !== size : s.byteLength < size) {
    throw fail(`expected ${exact ? "exactly" : "at least"} ${size} bytes for ${what}, received ${s.byteLength}`, "ERR_INVALID_ARG_VALUE");
  }
  taSet(bytesOf(dv, off, size), new Uint8ArrayCtor(s.buffer, s.byteOffset, size));
}

function notObject(v, what) {
  return fail(`expected an object, TypedArray, DataView or ArrayBuffer for ${what}, received ${describe(v)}`, "ERR_INVALID_ARG_TYPE");
}

// A struct/union value with an own key that is no field (or, for a union, several fields).
function badKeys(v, rec) {
  const keys = ObjectKeys(v);
  const set = [];
  for (let i = 0; i < keys.length; i++) {
    if (!SetHas(rec.names, keys[i])) {
      throw fail(`unknown field "${keys[i]}" for ${rec.what} (fields: ${rec.fields.map((f) => f.name).join(", ")})`, "ERR_INVALID_ARG_VALUE");
    }
    if (v[keys[i]] !== undefined) set[set.length] = `"${keys[i]}"`;
  }
  if (rec.kind === "union" && set.length > 1) {
    throw fail(`a union takes at most one field, received ${set.join(", ")}`, "ERR_INVALID_ARG_VALUE");
  }
}

// An array layout's value other than an Array: a fresh Array of its elements, or null when it
// is to be copied raw (a TypedArray or ArrayBuffer of exactly .size bytes).
function list(v, rec) {
  const max = rec.length;
  const tooMany = (n) => fail(`expected at most ${max} elements for ${rec.what}, received ${n}`, "ERR_INVALID_ARG_VALUE");
  if (isView(v) || isArrayBuffer(v)) {
    const s = source(v);
    if (s.byteLength === rec.size && (isArrayBuffer(v) || taTag(v) !== undefined)) return null;
    if (taTag(v) === undefined) {
      throw fail(`expected exactly ${rec.size} bytes for ${rec.what}, received ${s.byteLength}`, "ERR_INVALID_ARG_VALUE");
    }
    const n = taLength(v);
    if (n > max) throw tooMany(n);
    const out = [];
    for (let i = 0; i < n; i++) out[i] = v[i];
    return out;
  }
  if ((typeof v === "object" && v !== null) || typeof v === "function") {
    const len = v.length;
    if (typeof len === "number") {
      const n = len > 0 ? trunc(len) : 0;
      if (n > max) throw tooMany(n);
      const out = [];
      for (let i = 0; i < n; i++) out[i] = v[i];
      return out;
    }
    if (typeof v[SymbolIterator] === "function") {
      const out = [];
      for (const x of v) {
        if (out.length === max) throw tooMany(`more`);
        out[out.length] = x;
      }
      return out;
    }
  }
  throw fail(`expected an array, iterable, TypedArray or ArrayBuffer for ${rec.what}, received ${describe(v)}`, "ERR_INVALID_ARG_TYPE");
}

// An Array of n elements item(i) for arrays longer than the generated code spells out as a
// literal. Array.from defines the elements (an assignment could run a setter inherited from
// Array.prototype); its source has no prototype, so no iterator is looked up.
const ArrayFrom = Array.from;
const ReflectApply = Reflect.apply;
function arrayOf(n, item) {
  return ReflectApply(ArrayFrom, ArrayCtor, [{ __proto__: null, length: n }, item]);
}

// A live view of an array field inside L.view(): a TypedArray over the same bytes when the
// element type has one and the offset is aligned to it, else a DataView over them; arrays of
// layouts and of bool/ptr/function give a frozen Array of live element views.
function liveArray(dv, o, rec) {
  const t = rec.elem;
  const at = dvByteOffset(dv) + o;
  if (typeof t === "number") {
    const s = SCALAR[t];
    const ta = t === T.bool ? "Uint8Array" : s.ta ?? "BigUint64Array";
    const C = TA[ta];
    if (at % C.BYTES_PER_ELEMENT === 0) return new C(dvBuffer(dv), at, rec.length);
    return new DataViewCtor(dvBuffer(dv), at, rec.size);
  }
  const out = new ArrayCtor(rec.length);
  for (let i = 0; i < rec.length; i++) {
    out[i] = t.kind === "array" ? liveArray(dv, o + i * t.size, t) : new (viewClass(t))(dv, o + i * t.size);
  }
  return ObjectFreeze(out);
}

// ---- Addresses and byte sources of read/write/view -----------------------------------------

// ptr (+ byteOffset) -> a validated address (number or BigInt), as read.* checks it (SPEC 10).
function address(p, byteOffset) {
  if (typeof p === "number" && p >= 0) {
    let a = p;
    if (byteOffset !== undefined) a = typeof byteOffset === "number" && floor(byteOffset) === byteOffset ? p + byteOffset : -1;
    if (a >= MIN_ADDRESS && a <= MAX_SAFE) return a;
  }
  return memory.toAddress(p, memory.readOffset(byteOffset), "read");
}

// A DataView over `size` bytes of a TypedArray/DataView/ArrayBuffer at byteOffset; RangeError
// when they do not fit.
function viewOver(v, byteOffset, size) {
  const s = source(v);
  const off = byteOffset === undefined ? 0 : byteOffset;
  if (typeof off !== "number" || floor(off) !== off) throw new TypeErrorCtor("Expected an integer byteOffset");
  if (s.byteLength === 0) {
    const gone = viewGone(v);
    if (gone) throw new TypeErrorCtor(`Cannot use this view: ${gone}`);
  }
  if (off < 0 || off + size > s.byteLength) {
    throw new RangeErrorCtor(`${size} bytes at byteOffset ${off} do not fit in a view of ${s.byteLength} bytes`);
  }
  return new DataViewCtor(s.buffer, s.byteOffset + off, size);
}

const isSource = (v) => typeof v === "object" && v !== null && (isView(v) || isArrayBuffer(v));

// A view's bytes -> the layout area at b (L.read).
function copyFrom(v, byteOffset, b, size) {
  taSet(new Uint8ArrayCtor(AREA_BUFFER, b, size), viewBytes(viewOver(v, byteOffset, size)));
}

const viewBytes = (dv) => new Uint8ArrayCtor(dvBuffer(dv), dvByteOffset(dv), dvByteLength(dv));

// The bytes of a layout too large for the layout area's free part, where they are (C memory
// through an external ArrayBuffer).
function bigView(p, byteOffset, size) {
  if (isSource(p)) return harden(viewOver(p, byteOffset, size));
  return harden(externalView(address(p, byteOffset), size));
}

function externalView(a, size) {
  return new DataViewCtor(memory.toArrayBuffer(a, 0, size));
}

// ---- Code generation --------------------------------------------------------------------------

const q = (s) => JSON.stringify(s);
const R = {
  H, BUF_SIZE, toI32, toF64, w64, wptr, wfn, gi64f, gu64f, gptr, zero, raw, notObject, badKeys, list,
  arrayOf, liveArray, up, done, fail, hasOwn, isView, isArrayBuffer, ArrayIsArray, TA, copyIn, address,
  isSource, copyFrom, bigView,
};

// Statements storing JS value `x` as scalar type t at DataView `dv`, byte offset expression `o`.
// `part`: the field name (a JS literal) or index variable errors name.
function setScalar(t, o, x, part) {
  const s = SCALAR[t];
  switch (t) {
    case T.bool: return `dv.setUint8(${o}, ${x} ? 1 : 0);`;
    case T.double: case T.float:
      return `dv.set${s.acc}(${o}, typeof ${x} === "number" ? ${x} : R.toF64(${x}, ${t}, ${part}), true);`;
    case T.int64_t: case T.uint64_t: case T.i64_fast: case T.u64_fast:
      return `if (typeof ${x} === "bigint") dv.setBigInt64(${o}, ${x}, true); else R.w64(dv, ${o}, ${x}, ${t}, ${part});`;
    case T.ptr: return `R.wptr(dv, ${o}, ${x}, ${part});`;
    case T.function: return `R.wfn(dv, ${o}, ${x}, ${part});`;
    default:
      return `dv.set${s.acc}(${o}, typeof ${x} === "number" ? ${x} : R.toI32(${x}, ${t}, ${part})${s.size > 1 ? ", true" : ""});`;
  }
}

function getScalar(t, o) {
  const s = SCALAR[t];
  switch (t) {
    case T.bool: return `dv.getUint8(${o}) !== 0`;
    case T.i64_fast: return `R.gi64f(dv, ${o})`;
    case T.u64_fast: return `R.gu64f(dv, ${o})`;
    case T.ptr: case T.function: return `R.gptr(dv, ${o})`;
    default: return `dv.get${s.acc}(${o}${s.size > 1 ? ", true" : ""})`;
  }
}

// Statements zeroing n bytes at offset expression `off + k`.
function zeroCode(k, n) {
  if (n > 64) return `R.zero(dv, off + ${k}, ${n});`;
  let out = "";
  for (; n >= 8; n -= 8, k += 8) out += `dv.setFloat64(off + ${k}, 0, true); `;
  for (; n >= 4; n -= 4, k += 4) out += `dv.setInt32(off + ${k}, 0, true); `;
  for (; n >= 1; n -= 1, k += 1) out += `dv.setUint8(off + ${k}, 0); `;
  return out;
}

// Makes rec.encI/enc/dec/read (per-layout source: every call site in it sees one layout).
function compile(rec) {
  const kids = [];
  const kid = (r) => { kids.push(r); return kids.length - 1; };
  let enc = "";
  let dec = "";
  if (rec.kind === "array") {
    const t = rec.elem;
    const es = typeof t === "number" ? SCALAR[t].size : t.size;
    const n = rec.length;
    const dk = typeof t === "number" ? -1 : kid(t);
    enc += "let a = v, n;\n";
    enc += "if (R.ArrayIsArray(v)) n = v.length;\n";
    enc += "else { a = R.list(v, rec); if (a === null) { R.raw(dv, off, v, SIZE, true, rec.what); return; } n = a.length; }\n";
    enc += `if (n > ${n}) throw R.fail(\`expected at most ${n} elements for \${rec.what}, received \${n}\`, "ERR_INVALID_ARG_VALUE");\n`;
    enc += "for (let i = 0; i < n; i++) {\n  const x = a[i];\n";
    if (typeof t === "number") {
      enc += `  ${setScalar(t, `off + i * ${es}`, "x", "i")}\n`;
    } else {
      const k = dk;
      enc += `  if (x === undefined) R.zero(dv, off + i * ${es}, ${es});\n`;
      enc += `  else try { E${k}(dv, off + i * ${es}, x); } catch (e) { throw R.up(e, i); }\n`;
    }
    enc += `}\nif (n < ${n}) R.zero(dv, off + n * ${es}, (${n} - n) * ${es});\n`;
    // decoding
    const item = (o) => (dk < 0 ? getScalar(t, o) : `D${dk}(dv, ${o})`);
    const ta = typeof t === "number" ? SCALAR[t].ta : null;
    if (ta) {
      dec += `const r = new R.TA.${ta}(${n});\n`;
      const get = `dv.get${SCALAR[t].acc}(off + i * ${es}${es > 1 ? ", true" : ""})`; // (64-bit: BigInts)
      dec += `for (let i = 0; i < ${n}; i++) r[i] = ${get};\nreturn r;\n`;
    } else if (n <= 64) {
      const items = [];
      for (let i = 0; i < n; i++) items.push(item(`off + ${i * es}`));
      dec += `return [${items.join(", ")}];\n`;
    } else {
      dec += `return R.arrayOf(${n}, (u, i) => ${item(`off + i * ${es}`)});\n`;
    }
  } else {
    const union = rec.kind === "union";
    enc += "if (typeof v !== \"object\" || v === null) throw R.notObject(v, rec.what);\n";
    enc += "if (R.isView(v)) { R.raw(dv, off, v, SIZE, false, rec.what); return; }\n";
    enc += "let n = 0, x;\n";
    if (union) enc += zeroCode(0, rec.size) + "\n";
    let end = 0;
    const props = [];
    for (const f of rec.fields) {
      const t = f.type;
      const fsize = typeof t === "number" ? SCALAR[t].size : t.size;
      const name = q(f.name);
      if (!union && f.offset > end) enc += zeroCode(end, f.offset - end) + "\n";
      const o = `off + ${f.offset}`;
      enc += `x = v[${name}];\n`;
      const k = typeof t === "number" ? -1 : kid(t);
      let set;
      if (k < 0) {
        set = setScalar(t, o, "x", name);
      } else {
        set = `try { E${k}(dv, ${o}, x); } catch (e) { throw R.up(e, ${name}); }`;
      }
      const explicit = t === T.double || t === T.float || t === T.function; // undefined is not 0
      const present = explicit ? `x !== undefined || R.hasOwn(v, ${name})` : "x !== undefined";
      if (union) {
        enc += `if (x !== undefined) { if (n++ !== 0) R.badKeys(v, rec); ${set} }\n`; // (undefined: not set)
      } else {
        enc += `if (${present}) { n++; ${set} } else { ${zeroCode(f.offset, fsize)} }\n`;
      }
      end = f.offset + fsize;
      const key = f.name === "__proto__" ? `[${name}]` : name;
      props.push(`${key}: ${k < 0 ? getScalar(t, o) : `D${k}(dv, ${o})`}`);
    }
    if (!union && rec.size > end) enc += zeroCode(end, rec.size - end) + "\n";
    // every own key is a field: counted by for-in (faster than Object.keys); an ArrayBuffer has
    // no keys (util.types.isArrayBuffer is a call into C++: asked only then)
    enc += "let c = 0;\nfor (const k in v) c++;\n";
    enc += "if (c !== n || n === 0) { if (R.isArrayBuffer(v)) { R.raw(dv, off, v, SIZE, false, rec.what); return; } R.badKeys(v, rec); }\n";
    dec += `return { ${props.join(", ")} };\n`;
  }
  const src = `"use strict";
const { H } = R;
${kids.map((r, i) => `const E${i} = K[${i}].encI, D${i} = K[${i}].dec;`).join("\n")}
const SIZE = ${rec.size};
function encI(dv, off, v) {
${enc}}
function dec(dv, off) {
${dec}}
function enc(dv, off, v, where) {
  try { encI(dv, off, v); } catch (e) { throw R.done(e, where); }
}
// L.read: the bytes -> the layout area (no user code runs between the copy and the decoding)
function read(p, byteOffset) {
  const b = H.AT[0];
  if (b + SIZE > R.BUF_SIZE) return dec(R.bigView(p, byteOffset, SIZE), 0);
  if (R.isSource(p)) R.copyFrom(p, byteOffset, b, SIZE);
  else R.copyIn(R.address(p, byteOffset), b, SIZE);
  return dec(H.DV, b);
}
return { encI, dec, enc, read };`;
  const made = newFunction(["R", "rec", "K", src])(R, rec, kids);
  rec.encI = made.encI;
  rec.dec = made.dec;
  rec.enc = made.enc;
  rec.read = made.read;
}

// The class of L.view() objects: an accessor per field on its prototype, over a DataView.
function viewClass(rec) {
  if (rec.View) return rec.View;
  const kids = [];
  let body = "";
  let cached = 0;
  for (const f of rec.fields) {
    const t = f.type;
    const name = q(f.name);
    const o = `this.#o + ${f.offset}`;
    if (typeof t === "number") {
      body += `get [${name}]() { const dv = this.#d; return ${getScalar(t, o)}; }\n`;
      body += `set [${name}](x) { const dv = this.#d; try { ${setScalar(t, o, "x", name)} } catch (e) { throw R.done(e); } }\n`;
    } else {
      const k = kids.push(t) - 1;
      const c = `#c${cached++}`;
      body = `${c};\n` + body;
      const make = t.kind === "array" ? `R.liveArray(this.#d, ${o}, K[${k}])` : `new (V(K[${k}]))(this.#d, ${o})`;
      body += `get [${name}]() { return this.${c} ??= ${make}; }\n`;
      body += `set [${name}](x) { try { K[${k}].encI(this.#d, ${o}, x); } catch (e) { throw R.done(R.up(e, ${name})); } }\n`;
    }
  }
  const src = `"use strict";
return class View {
#d; #o;
constructor(d, o) { this.#d = d; this.#o = o; }
${body}};`;
  rec.View = newFunction(["R", "K", "V", src])(R, kids, viewClass);
  return rec.View;
}

// ---- Layout types ----------------------------------------------------------------------------

const infos = new WeakMap(); // layout object -> its record
let nextId = 1;

// The internal description of the call path (see the top of this file). undefined unless x is
// a layout type.
function layoutInfo(x) {
  if (typeof x !== "object" || x === null) return undefined;
  const rec = WeakMapGet(infos, x);
  return rec === undefined ? undefined : rec.info;
}

// Flattened scalar leaves: [offset, type, count] triples with absolute offsets.
function leaves(rec, base, out) {
  if (rec.kind === "array") {
    if (typeof rec.elem === "number") out.push(base, rec.elem, rec.length);
    else for (let i = 0; i < rec.length; i++) leaves(rec.elem, base + i * rec.elem.size, out);
  } else {
    for (const f of rec.fields) {
      if (typeof f.type === "number") out.push(base + f.offset, f.type, 1);
      else leaves(f.type, base + f.offset, out);
    }
  }
  return out;
}

const KIND = { struct: 0, union: 1, array: 2 };

// A field or element type: a scalar FFIType number or a layout record. `label` prefixes errors.
function memberType(x, label) {
  if (typeof x === "object" && x !== null) {
    const rec = WeakMapGet(infos, x);
    if (rec !== undefined) return rec;
  }
  let t;
  try {
    t = typeOf(x, false);
  } catch (e) {
    e.message = `${label}: ${e.message}`;
    throw e;
  }
  if (NOT_IN_LAYOUT[t]) throw new TypeErrorCtor(`${label}: ${NOT_IN_LAYOUT[t]}`);
  return t;
}

const sizeOf = (t) => (typeof t === "number" ? SCALAR[t].size : t.size);
const alignOf = (t) => (typeof t === "number" ? SCALAR[t].size : t.align);
const roundUp = (n, a) => Math.ceil(n / a) * a;
const publicType = (t) => (typeof t === "number" ? t : t.L);

function readOptions(options) {
  if (options === undefined || options === null) return { packed: false, align: 0 };
  if (typeof options !== "object") throw new TypeErrorCtor("options must be an object");
  for (const k of ObjectKeys(options)) {
    if (k !== "packed" && k !== "align") throw new TypeErrorCtor(`Unknown option "${k}" (options: packed, align)`);
  }
  const { packed = false, align = 0 } = options;
  if (typeof packed !== "boolean") throw new TypeErrorCtor("options.packed must be a boolean");
  if (options.align !== undefined &&
      !(typeof align === "number" && Number.isInteger(align) && align >= 1 && align <= 1 << 28 && (align & (align - 1)) === 0)) {
    throw new TypeErrorCtor(`options.align must be a power of two, received ${StringCtor(align)}`);
  }
  return { packed, align };
}

function defineRecord(kind, fields, options) {
  if (typeof fields !== "object" || fields === null || ArrayIsArray(fields) ||
      (Object.getPrototypeOf(fields) !== Object.prototype && Object.getPrototypeOf(fields) !== null) ||
      ObjectKeys(fields).length === 0) {
    throw new TypeErrorCtor("Expected an object with at least one field");
  }
  const opts = readOptions(options);
  const list = [];
  let size = 0;
  let align = 1;
  for (const name of ObjectKeys(fields)) {
    const t = memberType(fields[name], `Field "${name}"`);
    const a = opts.packed ? 1 : alignOf(t);
    const offset = kind === "union" ? 0 : roundUp(size, a);
    list.push({ name, type: t, offset });
    size = kind === "union" ? Math.max(size, sizeOf(t)) : offset + sizeOf(t);
    align = Math.max(align, a);
  }
  const natural = align;
  if (opts.align) align = Math.max(align, opts.align);
  size = roundUp(size, align);
  if (size > MAX_SIZE) throw new RangeErrorCtor(`${kind} too large: ${size} bytes`);
  const rec = { kind, size, align, natural, fields: list, what: kind, names: new Set(list.map((f) => f.name)) };
  return finish(rec);
}

function array(type, length) {
  const t = memberType(type, "Element type");
  if (typeof length !== "number" || !Number.isSafeInteger(length) || length < 1) {
    throw new TypeErrorCtor(`array length must be a positive integer, received ${typeof length === "number" ? length : describe(length)}`);
  }
  const size = sizeOf(t) * length;
  if (size > MAX_SIZE) throw new RangeErrorCtor(`array too large: ${size} bytes`);
  const what = `${typeof t === "number" ? SCALAR[t].name : t.what}[${length}]`;
  return finish({ kind: "array", size, align: alignOf(t), natural: alignOf(t), elem: t, length, what }).L;
}

function struct(fields, options) {
  return defineRecord("struct", fields, options).L;
}

function union(fields, options) {
  return defineRecord("union", fields, options).L;
}

// Generates the code, builds the frozen public object and the internal info.
function finish(rec) {
  compile(rec);
  const info = { id: nextId++, desc: null, enc: rec.enc, dec: rec.dec };
  let desc = null; // computed on first use: an array of many structs has many leaves
  ObjectDefineProperty(info, "desc", {
    enumerable: true,
    get() {
      if (desc === null) {
        const l = leaves(rec, 0, []);
        desc = new Int32Array(5 + l.length);
        desc.set([rec.size, rec.align, KIND[rec.kind], l.length / 3], 0);
        desc.set(l, 4);
        desc[4 + l.length] = rec.natural;
      }
      return desc;
    },
  });
  rec.info = info;
  const L = { kind: rec.kind, size: rec.size, align: rec.align };
  if (rec.kind === "array") {
    L.length = rec.length;
    L.type = publicType(rec.elem);
    L.offsetOf = (i) => {
      if (typeof i !== "number" || !Number.isInteger(i) || i < 0 || i >= rec.length) {
        throw new TypeErrorCtor(`No element ${StringCtor(i)} in ${rec.what}`);
      }
      return i * sizeOf(rec.elem);
    };
  } else {
    L.fields = ObjectFreeze(rec.fields.map((f) => ObjectFreeze({ name: f.name, type: publicType(f.type), offset: f.offset })));
    L.offsetOf = (name) => offsetOf(rec, name);
  }
  L.read = rec.read;
  L.write = (target, value, byteOffset) => write(rec, target, value, byteOffset);
  L.alloc = (value) => alloc(rec, value);
  if (rec.kind !== "array") L.view = (v, byteOffset) => view(rec, v, byteOffset);
  rec.L = ObjectFreeze(L);
  WeakMapSet(infos, rec.L, rec);
  return rec;
}

// offsetOf("x"), also a dotted path into nested layouts ("pos.x").
function offsetOf(rec, name) {
  const f = rec.fields.find((x) => x.name === name);
  if (f) return f.offset;
  if (typeof name === "string" && name.includes(".")) {
    const dot = name.indexOf(".");
    const g = rec.fields.find((x) => x.name === name.slice(0, dot));
    if (g && typeof g.type === "object" && g.type.kind !== "array") return g.offset + offsetOf(g.type, name.slice(dot + 1));
  }
  throw new TypeErrorCtor(`No field "${StringCtor(name)}" in this ${rec.kind}`);
}

// Encodes `value` in the layout area, then `out(b)` copies the bytes to their place. The bytes
// are reserved first (abi.reserve; the callers checked that they fit): a getter making FFI
// calls meanwhile uses the ones above.
function encodeThrough(rec, value, out) {
  const b = reserve(rec.size);
  try {
    rec.enc(H.DV, b, value, undefined);
    out(b);
  } finally {
    H.AT[0] = b;
  }
}

function write(rec, target, value, byteOffset) {
  const size = rec.size;
  if (H.AT[0] + size > BUF_SIZE) {
    rec.enc(bigView(target, byteOffset, size), 0, value, undefined);
  } else if (isSource(target)) {
    const dest = viewOver(target, byteOffset, size); // (checked before any getter runs)
    encodeThrough(rec, value, (b) => taSet(viewBytes(dest), new Uint8ArrayCtor(AREA_BUFFER, b, size)));
  } else {
    const a = address(target, byteOffset);
    encodeThrough(rec, value, (b) => copyOut(a, b, size));
  }
}

// A Uint8Array of .size bytes at an address aligned to .align (ArrayBuffer data is normally
// 16-byte aligned; a larger alignment takes a few bytes more and an offset into them).
function alloc(rec, value) {
  const size = rec.size;
  let ab = new ArrayBufferCtor(size);
  let off = 0;
  if (rec.align > 1 && memory.ptr(ab) % rec.align !== 0) {
    ab = new ArrayBufferCtor(size + rec.align - 1);
    off = (rec.align - (memory.ptr(ab) % rec.align)) % rec.align;
  }
  const u8 = new Uint8ArrayCtor(ab, off, size);
  if (value === undefined) return u8;
  if (H.AT[0] + size > BUF_SIZE) rec.enc(harden(new DataViewCtor(ab, off, size)), 0, value, undefined);
  else encodeThrough(rec, value, (b) => taSet(u8, new Uint8ArrayCtor(AREA_BUFFER, b, size)));
  return u8;
}

function view(rec, v, byteOffset) {
  const View = viewClass(rec);
  if (isSource(v)) return new View(viewOver(v, byteOffset, rec.size), 0);
  return new View(externalView(address(v, byteOffset), rec.size), 0);
}

module.exports = { struct, union, array, layoutInfo };
