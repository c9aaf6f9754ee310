// abi.js: the native addon and the JS side of its calling convention (see src/cffi.h):
//  - loads cffi.node: a from-source build, else the package's prebuilt binary, and says how to
//    build it when there is none for this platform;
//  - the error constructors with Node-style `code` properties that every module throws;
//  - typed-array views over this environment's call buffer, and the slow-path conversions
//    the generated wrappers (src/jsgen.c) call when an argument is not of the common type;
//    `helpers` is what those wrappers are compiled against.
// One module rather than three: each module costs ~0.15 ms at require() on its own.
// Must be kept in sync with src/cffi.h (CFFI_MAX_ARGS, CFFI_TAGS_OFFSET, tag values).
"use strict";
const path = require("node:path");
const { statSync } = require("node:fs");
const { isArrayBuffer } = require("node:util").types;

// The addon: a from-source build first (a clone's build/, or src/build/ of an installed package
// built with `npm run build`), then the prebuilt binary the package ships for this platform.
function loadAddon() {
  const root = path.join(__dirname, "..");
  const platform = `${process.platform}-${process.arch}`;
  const kinds = process.env.CFFI_DEBUG_BUILD ? ["Debug", "Release"] : ["Release"];
  const candidates = [
    ...kinds.map((k) => path.join(root, "build", k, "cffi.node")),
    ...kinds.map((k) => path.join(root, "src", "build", k, "cffi.node")),
    path.join(root, "prebuilds", platform, "cffi.node"),
  ];
  // A stat per candidate: a require() that misses costs ~0.2 ms (it builds an Error).
  const file = candidates.find((f) => statSync(f, { throwIfNoEntry: false }));
  let cause;
  if (file) {
    try {
      return require(file);
    } catch (e) {
      cause = e; // a binary that cannot load here (another C library, too old a glibc)
    }
  }
  const err = new Error(`cffi: ${cause ? "the cffi.node binary for" : "no prebuilt binary for"} ` +
    `${platform} ${cause ? `cannot be loaded: ${cause.message}` : "(prebuilt: linux-x64 with glibc)"}. ` +
    `Build it from source (needs gcc, make, python3 and the Debian/Ubuntu packages libffi-dev and ` +
    `libtcc-dev): cd ${root} && npm run build`);
  err.code = "ERR_CFFI_NO_BINARY";
  err.cause = cause;
  throw err;
}

const binding = loadAddon();

function withCode(err, code) {
  if (code) Object.defineProperty(err, "code", { value: code, enumerable: true, writable: true, configurable: true });
  return err;
}

const codedTypeError = (code, msg) => withCode(new TypeError(msg), code);
const codedError = (code, msg) => withCode(new Error(msg), code);
const codedRangeError = (code, msg) => withCode(new RangeError(msg), code);

const MAX_ARGS = 64;
const TAGS_OFFSET = 8 * (MAX_ARGS + 1);
const TAG = { RAW: 0, F64: 1, VIEW: 2, DATAVIEW: 3, ARRAYBUF: 4, STRING: 5 };

// ---- Built-ins, captured at load ----------------------------------------------------------
// Lengths and the state of views come from the built-in getters, called on the object itself:
// a subclass's `byteLength` getter, a patched prototype or a replaced global is never asked,
// so no user code runs while a call writes its arguments (SPEC §2.1, §16).
const uncurry = (f) => Function.prototype.call.bind(f);
const getter = (o, k) => uncurry(Object.getOwnPropertyDescriptor(o, k).get);
const TypedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
const taTag = getter(TypedArrayProto, Symbol.toStringTag); // undefined unless a TypedArray
const taByteLength = getter(TypedArrayProto, "byteLength"); // 0 when detached / out of bounds
const taBuffer = getter(TypedArrayProto, "buffer");
const taAt = uncurry(TypedArrayProto.at); // throws when detached / out of bounds
const dvByteLength = getter(DataView.prototype, "byteLength"); // throws when ... too
const dvBuffer = getter(DataView.prototype, "buffer");
const abByteLength = getter(ArrayBuffer.prototype, "byteLength");
const isView = ArrayBuffer.isView;
const Uint8ArrayCtor = Uint8Array;

// byteLength of a TypedArray or DataView (isView(v)); 0 when its bytes are gone.
function viewByteLength(v) {
  if (taTag(v) !== undefined) return taByteLength(v);
  try {
    return dvByteLength(v);
  } catch {
    return 0;
  }
}

function isDetached(ab) {
  if (abByteLength(ab) !== 0) return false;
  try {
    new Uint8ArrayCtor(ab); // (ArrayBuffer.prototype.detached is newer than Node 20)
    return false;
  } catch {
    return true;
  }
}

// Why the bytes of a view (or ArrayBuffer) of length 0 are gone, or null when it is merely
// empty. Also called by src/convert.c for empty views passed to C (see binding.state).
function viewGone(v) {
  if (isArrayBuffer(v)) return isDetached(v) ? "its ArrayBuffer is detached" : null;
  if (!isView(v)) return null;
  const typed = taTag(v) !== undefined;
  if (isDetached(typed ? taBuffer(v) : dvBuffer(v))) return "its ArrayBuffer is detached";
  try {
    if (typed) taAt(v, 0);
    else dvByteLength(v);
  } catch {
    return "it is out of bounds of its (shrunk) resizable ArrayBuffer";
  }
  return null;
}

const state = binding.state(viewGone);
const buffer = state.buffer;
const H = {
  I32: new Int32Array(buffer, 0, 2 * (MAX_ARGS + 1)),
  U32: new Uint32Array(buffer, 0, 2 * (MAX_ARGS + 1)),
  F64: new Float64Array(buffer, 0, MAX_ARGS + 1),
  B64: new BigInt64Array(buffer, 0, MAX_ARGS + 1),
  BU64: new BigUint64Array(buffer, 0, MAX_ARGS + 1),
  T: new Uint8Array(buffer, TAGS_OFFSET, MAX_ARGS + 1),
};

function describe(v) {
  if (v === null) return "null";
  return typeof v;
}

// `index` is the 0-based argument index, or a label such as "Return value" (callbacks).
function numberError(v, index, cname) {
  const where = typeof index === "number" ? `Argument ${index}` : index;
  return codedTypeError("ERR_INVALID_ARG_TYPE",
    `${where}: expected a number or BigInt for ${cname}, received ${describe(v)}`);
}

// Integer types up to 32 bits: the result is stored into an Int32Array, which wraps.
function toInt32(v, index, cname) {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(BigInt.asIntN(32, v));
  if (v === undefined || v === null) return 0;
  throw numberError(v, index, cname);
}

function toF64(v, index, cname) {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (v === undefined) return NaN;
  if (v === null) return 0;
  throw numberError(v, index, cname);
}

// 64-bit integers: BigInt -> raw bits; number -> double the C side truncates and wraps.
function write64(v, slot, index, cname) {
  if (typeof v === "bigint") {
    H.B64[slot] = BigInt.asIntN(64, v);
    H.T[slot] = TAG.RAW;
  } else if (typeof v === "number") {
    H.F64[slot] = v;
    H.T[slot] = TAG.F64;
  } else if (v === undefined || v === null) {
    H.F64[slot] = 0;
    H.T[slot] = TAG.F64;
  } else {
    throw numberError(v, index, cname);
  }
}

const MAX_U64 = (1n << 64n) - 1n;
const TWO64 = 18446744073709551616; // 2^64, exact as a double

function pointerError(v) {
  if (typeof v === "string") return new TypeError("To convert a string to a pointer, encode it as a buffer");
  let shown;
  try { shown = typeof v === "symbol" ? v.toString() : String(v); } catch { shown = typeof v; }
  return new TypeError(`Unable to convert ${shown} to a pointer`);
}

// Address-valued arguments (ptr, cstring, function) that are not a plain non-negative
// integer number: everything SPEC §2.1 allows, or a TypeError.
function writePointer(v, slot, allowString) {
  const T = H.T;
  if (typeof v === "number") {
    if (v >= 0 && Number.isInteger(v) && v < TWO64) { H.F64[slot] = v; T[slot] = TAG.F64; return; }
    if (v === 0 || Number.isNaN(v)) { H.F64[slot] = 0; T[slot] = TAG.F64; return; }
    throw pointerError(v);
  }
  if (typeof v === "bigint") {
    if (v < 0n || v > MAX_U64) throw pointerError(v);
    H.BU64[slot] = v;
    T[slot] = TAG.RAW;
    return;
  }
  if (v === null || v === undefined || v === false) { H.F64[slot] = 0; T[slot] = TAG.F64; return; }
  if (typeof v === "object") {
    // internal-slot checks only: no user code (Proxy traps, getters) may run while slots are
    // being written, since it could make an FFI call that reuses them
    if (isView(v)) { T[slot] = TAG.VIEW; return; } // C tells TypedArray from DataView
    if (isArrayBuffer(v)) { T[slot] = TAG.ARRAYBUF; return; } // not a SharedArrayBuffer (SPEC §2.1)
  }
  if (allowString && typeof v === "string") { T[slot] = TAG.STRING; return; }
  throw pointerError(v);
}

const FUNCTION_MSG = "Expected function to be a JSCallback or a number";

// A `function` argument that is an object (a JSCallback): its `.ptr`. Generated writers call
// this for every such argument before writing any slot, because reading `.ptr` may run user
// code (a getter) that makes FFI calls of its own.
function functionAddress(v) {
  const p = v.ptr;
  if (p && (typeof p === "number" || typeof p === "bigint")) return p;
  throw new TypeError(FUNCTION_MSG);
}

// `function` arguments: an address, a JSCallback's address (see functionAddress) or null.
function writeFunction(v, slot) {
  if (v === null) { H.F64[slot] = 0; H.T[slot] = TAG.F64; return; }
  if (typeof v === "number" || typeof v === "bigint") {
    try { writePointer(v, slot, false); return; } catch {}
  }
  throw new TypeError(FUNCTION_MSG);
}

// `buffer` arguments: a TypedArray/DataView or null.
function writeBuffer(v, slot) {
  if (v === null) { H.F64[slot] = 0; H.T[slot] = TAG.F64; return; }
  if (isView(v)) { H.T[slot] = TAG.VIEW; return; }
  throw new TypeError("Expected a TypedArray or DataView");
}

// `buffer_length` arguments (SPEC §2.1): the byteLength of any TypedArray or DataView, from
// the built-in getter (never a property the view or its class may override); null → 0. No
// user code runs here, so nothing can reuse the slots already written. A view whose bytes
// are gone throws like the `buffer` argument does.
function bufferLength(v, index) {
  if (isView(v)) {
    const n = viewByteLength(v);
    if (n === 0) {
      const gone = viewGone(v);
      if (gone) throw codedTypeError("ERR_INVALID_ARG_VALUE", `Argument ${index}: cannot pass this view to C: ${gone}`);
    }
    return n;
  }
  if (v === null) return 0;
  throw codedTypeError("ERR_INVALID_ARG_TYPE",
    `Argument ${index}: buffer_length must be a TypedArray, Buffer, DataView or null, received ${describe(v)}`);
}

// What the generated wrappers see as `H`.
const helpers = {
  H, toInt32, toF64, write64, writePointer, writeFunction, functionAddress, writeBuffer, bufferLength,
  isView,
  // the integer test of address arguments: `x % 1` on a double is a call into C in V8's
  // optimised code (~25 ns a call); Math.floor, taken here before user code can replace it,
  // is one instruction
  floor: Math.floor,
  addressOf(v) {
    return require("./memory.js").ptr(v);
  },
};

// Per-signature code from a source the native side writes (src/jsgen.c): `gen` is
// binding.jsAsync or binding.jsCallback, and what the source returns is cached per signature.
const perSignature = new Map();
function compiledFor(gen, sig) {
  const key = `${gen.name}:${sig.returns}:${sig.args.join(",")}`;
  let made = perSignature.get(key);
  if (made === undefined) {
    made = new Function("H", gen(sig.returns, sig.args))(helpers);
    perSignature.set(key, made);
  }
  return made;
}

module.exports = {
  binding, H, TAG, MAX_ARGS, state, helpers, compiledFor,
  codedTypeError, codedError, codedRangeError,
  toInt32, toF64, write64, writePointer, writeFunction, functionAddress, writeBuffer, bufferLength,
  pointerError, isView, viewByteLength, abByteLength, viewGone,
};
