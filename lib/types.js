// types.js: the FFIType table (names, aliases, numbers) and the reading of declarations
// ({ args, returns }) into type numbers, with every definition error of SPEC 1.1 and SPEC 17
// (layout types by value: their lib/layout.js info stands in the signature; "..." marks the
// variable arguments of a variadic function and is kept as VARIADIC for the native side).
// Must be kept in sync with src/types.inc (numbers, C types), src/jsgen.c (the names its
// messages use) and index.d.ts (FFIType).
// The functions that read declarations are parenthesised: see lib/library.js.
"use strict";
const { codedTypeError } = require("./abi.js");

// The tables are null-prototype literals: V8 makes one a dictionary in a single step, where an
// ordinary literal builds a hidden class per property (in a fresh process here these tables
// took ~200 us that way, ~90 us so). They are only read while declaring.
const T = {
  __proto__: null,
  char: 0, int8_t: 1, uint8_t: 2, int16_t: 3, uint16_t: 4, int32_t: 5, uint32_t: 6,
  int64_t: 7, uint64_t: 8, double: 9, float: 10, bool: 11, ptr: 12, void: 13, cstring: 14,
  i64_fast: 15, u64_fast: 16, function: 17, napi_env: 18, napi_value: 19, buffer: 20,
  buffer_length: 21,
};
const COUNT = 22;
const VARIADIC = 255; // "..." in a signature's args (src/cffi.h CFFI_T_VARIADIC)

const aliases = {
  __proto__: null,
  i8: T.int8_t, u8: T.uint8_t, i16: T.int16_t, u16: T.uint16_t,
  i32: T.int32_t, int: T.int32_t, c_int: T.int32_t, u32: T.uint32_t, c_uint: T.uint32_t,
  i64: T.int64_t, isize: T.int64_t, u64: T.uint64_t, usize: T.uint64_t,
  f64: T.double, f32: T.float,
  pointer: T.ptr, "void*": T.ptr, "char*": T.ptr,
  callback: T.function, fn: T.function,
};

// FFIType: name -> number for every canonical name and alias, and "0".."17" -> themselves.
const FFIType = {};
for (let i = 0; i <= 17; i++) FFIType[i] = i; // SPEC 1: "0"..."17" only
Object.assign(FFIType, T, aliases);

// What a type name in a declaration means (typeOf): the names and aliases, and size_t.
const byName = Object.assign({ __proto__: null, size_t: T.uint64_t }, T, aliases);

// lib/layout.js's layoutInfo, once a declaration names something that is not a type name or
// number (loading it costs require() time that plain bun:ffi code need not pay).
let layoutInfo = null;
const infoOf = (x) => (layoutInfo ??= require("./layout.js").layoutInfo)(x);

const typeOf = (function typeOf(x, isReturn) {
  if (x !== null && (typeof x === "object" || typeof x === "function")) {
    const info = infoOf(x);
    if (info !== undefined) {
      if (info.desc[2] === 2) throw new TypeError("C arrays cannot be passed by value; use ptr or wrap the array in a struct");
      return info;
    }
  }
  if (typeof x === "number") {
    if (Number.isInteger(x) && x >= 0 && x < COUNT) return x;
    throw new TypeError("invalid ABI type");
  }
  if (typeof x === "string") {
    const t = byName[x];
    if (t !== undefined) return t;
    throw codedTypeError("ERR_INVALID_ARG_VALUE", isReturn ? `Unknown return type ${x}` : `Unknown type ${x}`);
  }
  throw new TypeError("param must be a string (type name) or number");
});

const NAPI_ONLY = "napi_env / napi_value are only supported in cffi cc()";

// Reads one declaration. `where`: "call" (dlopen/linkSymbols/CFunction/viewSource),
// "callback" (JSCallback, viewSource(..., true)) or "cc".
const readSignature = (function readSignature(def, where) {
  let args = def.args;
  if (args === undefined) args = [];
  else if (!Array.isArray(args)) throw new TypeError('Expected an object with "args" as an array');
  if (def.returns === "...") throw new TypeError('"..." cannot be a return type');
  const ret = def.returns === undefined ? T.void : typeOf(def.returns, true);
  const types = new Array(args.length);
  let fixed = -1;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "...") {
      if (where === "callback") throw new TypeError('"..." is not supported in JSCallback arguments');
      if (fixed >= 0) throw new TypeError('"..." may appear only once');
      if (i === 0) throw new TypeError('A variadic function needs at least one fixed argument before "..."');
      fixed = i;
      types[i] = VARIADIC;
      continue;
    }
    const t = typeOf(args[i], false);
    if (typeof t === "object" && t.desc[1] > 16) {
      // libffi places them on the stack from its own 16-aligned base, where gcc aligns the
      // argument area to them: a silently wrong value (x86-64), or a crash (arm64)
      throw new TypeError(`Argument ${i}: structs aligned to more than 16 bytes cannot be passed by value; pass a pointer`);
    }
    if (fixed >= 0 && t === T.float) throw new TypeError("float is promoted to double in variadic arguments; declare f64");
    types[i] = t;
  }
  checkSignature(fixed >= 0 ? types.filter((t) => t !== VARIADIC) : types, ret, where);
  return { args: types, returns: ret };
});

const checkSignature = (function checkSignature(args, ret, where) {
  const isCC = where === "cc";
  if (ret === T.napi_env) throw new TypeError("Cannot return napi_env to JavaScript");
  if (!isCC && (ret === T.napi_value)) throw new TypeError(NAPI_ONLY);
  if (ret === T.buffer) throw new TypeError("buffer cannot be a return type: byteLength and byteOffset are unknown");
  if (ret === T.buffer_length) throw new TypeError("buffer_length cannot be a return type");
  let sawBuffer = false;
  for (let i = 0; i < args.length; i++) {
    const t = args[i];
    if (t === T.void) throw new TypeError(`Argument ${i}: void is not a valid argument type`);
    if (!isCC && (t === T.napi_env || t === T.napi_value)) throw new TypeError(NAPI_ONLY);
    if (t === T.buffer) {
      if (where === "callback") throw new TypeError("buffer cannot be a JSCallback argument: byteLength and byteOffset are unknown");
      sawBuffer = true;
    }
    if (t === T.buffer_length) {
      if (where !== "call" || !sawBuffer) {
        throw new TypeError(where !== "call"
          ? `Argument ${i}: buffer_length is not supported here`
          : `Argument ${i}: buffer_length must follow a buffer argument`);
      }
    }
  }
  if (args.length > 64) throw new TypeError(`Too many arguments: ${args.length} (at most 64)`);
});

module.exports = { __proto__: null, FFIType, T, COUNT, VARIADIC, typeOf, readSignature };
