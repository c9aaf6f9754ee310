// abi.js: the native addon and the JS side of its calling convention (see src/cffi.h):
//  - loads cffi.node: a from-source build, else the package's prebuilt binary, and says how to
//    build it when there is none for this platform;
//  - the error constructors with Node-style `code` properties that every module throws;
//  - typed-array views over this environment's call buffer, and the slow-path conversions
//    the generated wrappers (src/jsgen.c) call when an argument is not of the common type;
//    `helpers` is what those wrappers are compiled against;
//  - ptr() (SPEC 9) and the byteOffset rule lib/memory.js shares: the memory helper most
//    programs use, often alone, so it does not wait for lib/memory.js.
// One module rather than three: each module costs ~0.15 ms at require() on its own.
// Must be kept in sync with src/cffi.h (CFFI_MAX_ARGS, CFFI_TAGS_OFFSET, the layout area, tag
// values).
"use strict";
const { existsSync } = require("node:fs");
const { isArrayBuffer } = require("node:util").types;

// The addon: a from-source build first (a clone's build/, or src/build/ of an installed package
// built with `npm run build`), then the prebuilt binary the package ships for this platform.
// process.dlopen rather than require(): the module loader's resolution (stat, realpath,
// package scope lookups) cost ~0.3 ms of the ~0.45 ms a require() of cffi.node took in a fresh
// process; nothing else loads cffi.node, so its require cache entry is never needed.
// Functions that run while this module loads are written as parenthesized function
// expressions (here and in lib/index.js): V8 compiles those with the module, where a function it
// compiles lazily on its first call cost 10-25 us more in a fresh process.
const loadAddon = (function loadAddon() {
  const root = `${__dirname}/..`;
  const platform = `${process.platform}-${process.arch}`;
  const kinds = process.env.CFFI_DEBUG_BUILD ? ["Debug", "Release"] : ["Release"];
  const candidates = [];
  for (const dir of ["build", "src/build"]) for (const k of kinds) candidates.push(`${root}/${dir}/${k}/cffi.node`);
  candidates.push(`${root}/prebuilds/${platform}/cffi.node`);
  // An existence check per candidate: a load that misses costs ~0.2 ms (it builds an Error).
  // Under Node's permission model, a candidate the process may not read throws (Node 20): skip it.
  let file;
  for (const f of candidates) {
    let found = false;
    try {
      found = existsSync(f);
    } catch {
      // not readable here
    }
    if (found) {
      file = f;
      break;
    }
  }
  let cause;
  if (file) {
    try {
      const mod = { exports: {} };
      process.dlopen(mod, file);
      return mod.exports;
    } catch (e) {
      cause = e; // a binary that cannot load here (another C library, too old a glibc)
    }
  }
  if (cause && cause.code === "ERR_DLOPEN_DISABLED") {
    // node --no-addons, or the permission model without --allow-addons: building would not help
    const err = new Error("cffi: this process does not allow native addons, and cffi is one: start Node.js " +
      "without --no-addons, and with --allow-addons when it runs with --permission (or --experimental-permission)");
    err.code = "ERR_DLOPEN_DISABLED";
    err.cause = cause;
    throw err;
  }
  const why = cause && `${cause.message}`.replace(/\.$/, "");
  const err = new Error(`cffi: ${cause ? "the cffi.node binary for" : "no prebuilt binary for"} ` +
    `${platform} ${cause ? `cannot be loaded: ${why}` : "(prebuilt: linux-x64 and linux-arm64 with glibc)"}. ` +
    `Build it from source (needs gcc, make, python3 and the Debian/Ubuntu packages libffi-dev and ` +
    `libtcc-dev): cd ${require("node:path").resolve(root)} && npm run build`);
  err.code = "ERR_CFFI_NO_BINARY";
  err.cause = cause;
  throw err;
});

const binding = loadAddon();
// binding.later(): the native functions that loading, declaring, calling and making callbacks
// do not need (tier-up, close(), viewSource, .async, cc(), errno()), which src/addon.c makes on
// the first call rather than with the binding.
let laterBinding = null;
const later = (function later() { // parenthesized: compiled with this module (see loadAddon)
  return (laterBinding ??= binding.later());
});


const MAX_ARGS = 64;
const TAGS_OFFSET = 8 * (MAX_ARGS + 1);
const AREA_TOP_OFFSET = 1016;
const AREA_OFFSET = 1024; // the layout area: [AREA_OFFSET, buffer end), see src/cffi.h
const TAG = { RAW: 0, F64: 1, VIEW: 2, DATAVIEW: 3, ARRAYBUF: 4, STRING: 5 };

// ---- Built-ins, captured at load ----------------------------------------------------------
// Everything a call reaches between writing its first argument slot and the native call (the
// generated wrappers, the helpers below, lib/library.js's callAt path, lib/async.js) uses only
// these captures, never a global, a built-in's method or a prototype looked up at call time:
// user code that replaced one (Number, BigInt.asIntN, ArrayBuffer.isView,
// Array.prototype[Symbol.iterator], Function.prototype.apply, ...) would run there, and an FFI
// call it made would overwrite the slots (SPEC 16). Lengths and the state of views come from
// the built-in getters, called on the object itself: a subclass's `byteLength` getter is never
// asked (SPEC 2.1).
const uncurry = (function uncurry(f) {
  return Function.prototype.call.bind(f);
});
const ReflectApply = Reflect.apply;
const NumberCtor = Number;
const BigIntAsIntN = BigInt.asIntN;
const StringCtor = String;
const TypeErrorCtor = TypeError;
const RangeErrorCtor = RangeError;
const ErrorCtor = Error;
const ObjectDefineProperty = Object.defineProperty;
const FunctionCtor = Function;
const MapCtor = Map;
const MapGet = uncurry(Map.prototype.get);
const MapSet = uncurry(Map.prototype.set);
const PromiseCtor = Promise;
const PromiseReject = Promise.reject;
// Promise.reject(e) without looking `Promise` or its `reject` up
const rejected = (e) => ReflectApply(PromiseReject, PromiseCtor, [e]);
const getter = (function getter(o, k) {
  return uncurry(Object.getOwnPropertyDescriptor(o, k).get);
});
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
const Uint32ArrayCtor = Uint32Array;
// the integer test of address arguments: `x % 1` on a double is a call into C in V8's
// optimised code (~25 ns a call); Math.floor is one instruction
const floor = Math.floor;

function withCode(err, code) {
  if (code) ObjectDefineProperty(err, "code", { __proto__: null, value: code, enumerable: true, writable: true, configurable: true });
  return err;
}

const codedTypeError = (code, msg) => withCode(new TypeErrorCtor(msg), code);
const codedError = (code, msg) => withCode(new ErrorCtor(msg), code);
const codedRangeError = (code, msg) => withCode(new RangeErrorCtor(msg), code);

// `new Function(...paramsAndBody)`, the way cffi compiles the JavaScript of every declared
// function, JSCallback wrapper and layout codec. Where the process refuses code generation
// from strings (node --disallow-code-generation-from-strings), V8's bare EvalError becomes one
// that says what cffi needed it for.
const EvalErrorCtor = EvalError;
const ReflectConstruct = Reflect.construct;
const newFunction = (function newFunction(paramsAndBody) {
  try {
    return ReflectConstruct(FunctionCtor, paramsAndBody);
  } catch (e) {
    if (!(e instanceof EvalErrorCtor)) throw e;
    const err = codedError("ERR_CFFI_NO_CODEGEN", "cffi: this process does not allow code generation from strings " +
      "(node --disallow-code-generation-from-strings), which cffi needs: it compiles the JavaScript side of each " +
      "declared function, JSCallback and struct layout with new Function. Run Node.js without that option to use cffi");
    err.cause = e;
    throw err;
  }
});

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

const buffer = binding.state(viewGone);
const H = {
  I32: new Int32Array(buffer, 0, 2 * (MAX_ARGS + 1)),
  U32: new Uint32Array(buffer, 0, 2 * (MAX_ARGS + 1)),
  F64: new Float64Array(buffer, 0, MAX_ARGS + 1),
  B64: new BigInt64Array(buffer, 0, MAX_ARGS + 1),
  BU64: new BigUint64Array(buffer, 0, MAX_ARGS + 1),
  T: new Uint8Array(buffer, TAGS_OFFSET, MAX_ARGS + 1),
  // the whole buffer, where layouts are encoded into its layout area: made by lib/layout.js
  // when it loads (dataView()), as only layouts use it (a first DataView costs ~25 us here)
  DV: null,
  AT: new Int32Array(buffer, AREA_TOP_OFFSET, 1), // AT[0]: the layout area's top (byte offset)
};
H.AT[0] = AREA_OFFSET;
const dataView = () => (H.DV ??= new DataView(buffer));
// A pointer result the native side left in slot s (src/cffi.h CFFI_RTAG_*: a number, a BigInt's
// 64 bits, or NULL).
const pointerAt = (s) => (H.T[s] === 0 ? H.F64[s] : H.T[s] === 2 ? null : H.BU64[s]);
// binding.state() left these in the buffer's first slots (src/addon.c)
const state = { buffer, jit: H.I32[0] !== 0, jitThreshold: H.U32[2] };

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
  if (typeof v === "bigint") return NumberCtor(BigIntAsIntN(32, v));
  if (v === undefined || v === null) return 0;
  throw numberError(v, index, cname);
}

function toF64(v, index, cname) {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return NumberCtor(v);
  if (v === undefined) return NaN;
  if (v === null) return 0;
  throw numberError(v, index, cname);
}

// 64-bit integers: BigInt -> raw bits; number -> double the C side truncates and wraps.
function write64(v, slot, index, cname) {
  if (typeof v === "bigint") {
    H.B64[slot] = BigIntAsIntN(64, v);
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
  if (typeof v === "string") return new TypeErrorCtor("To convert a string to a pointer, encode it as a buffer");
  let shown;
  // (the call is abandoned: user code in v's toString may run here)
  try { shown = StringCtor(v); } catch { shown = typeof v; }
  return new TypeErrorCtor(`Unable to convert ${shown} to a pointer`);
}

// Address-valued arguments (ptr, cstring, function) that are not a plain non-negative
// integer number: everything SPEC 2.1 allows, or a TypeError.
function writePointer(v, slot, allowString) {
  const T = H.T;
  if (typeof v === "number") {
    if (v >= 0 && v < TWO64 && floor(v) === v) { H.F64[slot] = v; T[slot] = TAG.F64; return; }
    if (v === 0 || v !== v) { H.F64[slot] = 0; T[slot] = TAG.F64; return; } // -0, NaN
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
    if (isArrayBuffer(v)) { T[slot] = TAG.ARRAYBUF; return; } // not a SharedArrayBuffer (SPEC 2.1)
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
  throw new TypeErrorCtor(FUNCTION_MSG);
}

// `function` arguments: an address, a JSCallback's address (see functionAddress) or null.
function writeFunction(v, slot) {
  if (v === null) { H.F64[slot] = 0; H.T[slot] = TAG.F64; return; }
  if (typeof v === "number" || typeof v === "bigint") {
    try { writePointer(v, slot, false); return; } catch {}
  }
  throw new TypeErrorCtor(FUNCTION_MSG);
}

// `buffer` arguments: a TypedArray/DataView or null.
function writeBuffer(v, slot) {
  if (v === null) { H.F64[slot] = 0; H.T[slot] = TAG.F64; return; }
  if (isView(v)) { H.T[slot] = TAG.VIEW; return; }
  throw new TypeErrorCtor("Expected a TypedArray or DataView");
}

// `buffer_length` arguments (SPEC 2.1): the byteLength of any TypedArray or DataView, from
// the built-in getter (never a property the view or its class may override); null -> 0. No
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

// A call's frame of n bytes in the layout area (src/cffi.h): its start b; the area's top moves
// to b + n until the wrapper puts it back (AT[0] = b, in a finally).
const BUF_SIZE = buffer.byteLength; // src/cffi.h CFFI_BUF_SIZE
function reserve(n) {
  const b = H.AT[0];
  if (b + n > BUF_SIZE) {
    throw codedRangeError("ERR_OUT_OF_RANGE", "cffi: structs passed by value are nested too deeply (the layout area is full)");
  }
  H.AT[0] = b + n;
  return b;
}

// ---- ptr() (SPEC 9) ------------------------------------------------------------------------
// Here rather than in lib/memory.js: it is the memory helper most programs use, often alone,
// and loading lib/memory.js for it cost a first ptr() ~0.8 ms in a fresh process (a module of
// its own, ~0.35 ms). Compiled on its first call; src/memory.c's functions and scratch buffer
// (binding.memory(), shared with lib/memory.js) are taken then too. The native side writes
// the address into scratch word 1.
let ptrView, ptrArrayBuffer, PU32;
const TWO32 = 4294967296;
// Addresses below this are never mapped (the zero page and the usual guard area).
const MIN_ADDRESS = 4096;

function ptr(view, byteOffset) {
  if (PU32 === undefined) {
    const mb = binding.memory();
    ptrView = mb.memPtrView;
    ptrArrayBuffer = mb.memPtrArrayBuffer;
    PU32 = new Uint32ArrayCtor(mb.memScratch);
  }
  let len;
  if (isView(view)) {
    len = viewByteLength(view); // the built-in's: a subclass's byteLength getter is not asked
    if (len === 0) throw emptyView(view);
    ptrView(view);
  } else if (isArrayBuffer(view)) { // (other realms too; not a SharedArrayBuffer)
    len = abByteLength(view);
    if (len === 0) throw emptyView(view);
    ptrArrayBuffer(view);
  } else {
    throw new TypeError(`Expected ArrayBufferView but received ${view === null ? "null" : typeof view}`);
  }
  const a = PU32[2] + PU32[3] * TWO32;
  if (byteOffset === undefined) return a;
  const off = offsetArg(byteOffset);
  if (off > len) throw new TypeError("byteOffset out of bounds");
  const r = a + off;
  if (r < MIN_ADDRESS) throw offsetRange(byteOffset); // (a negative offset past the start of memory)
  return r;
}

// A view or ArrayBuffer of length 0: empty, or its bytes are gone (SPEC 16).
function emptyView(view) {
  const gone = viewGone(view);
  if (gone) return new TypeError(`Cannot take the address of this view: ${gone}`);
  return new TypeError("ArrayBufferView must have a length > 0. A pointer to empty memory doesn't work");
}

// An optional byteOffset of ptr/toArrayBuffer/toBuffer/CString (SPEC 16): undefined -> 0,
// else an integer number, never coerced, truncated or wrapped. NaN and other non-numbers ->
// "Expected number for byteOffset"; fractions -> TypeError; +/-Infinity -> RangeError.
function offsetArg(byteOffset) {
  if (byteOffset === undefined) return 0;
  if (typeof byteOffset !== "number" || byteOffset !== byteOffset) throw new TypeError("Expected number for byteOffset");
  if (!Number.isInteger(byteOffset)) {
    if (byteOffset === Infinity || byteOffset === -Infinity) throw offsetRange(byteOffset);
    throw new TypeError(`byteOffset must be an integer, received ${byteOffset}`);
  }
  return byteOffset;
}

function offsetRange(byteOffset) {
  return new RangeError(`byteOffset ${byteOffset} is out of range`);
}

// What the generated wrappers see as `H`. This object, `builtins` and the exports below (and
// those of lib/types.js and lib/library.js) are null-prototype literals, which V8 makes a
// dictionary in one step (lib/types.js says why): each is read once per generated source or
// per module that takes from it, never per call.
const helpers = {
  __proto__: null,
  H, toInt32, toF64, write64, writePointer, writeFunction, functionAddress, writeBuffer, bufferLength,
  isView, isArrayBuffer, floor, reserve,
  // a JSCallback's pointer result given as a view or ArrayBuffer
  addressOf: ptr,
};

// The codecs of the layouts (SPEC 17) that signatures pass by value, in the order the
// generated sources number them (src/jsgen.c): per signature, the result, then the arguments.
const zlist = (function zlist(sigs) { // parenthesized: compiled with this module (see loadAddon)
  const z = [];
  for (let i = 0; i < sigs.length; i++) {
    const sig = sigs[i];
    if (typeof sig.returns === "object") z[z.length] = sig.returns;
    for (let k = 0; k < sig.args.length; k++) if (typeof sig.args[k] === "object") z[z.length] = sig.args[k];
  }
  return z;
});

// Written as a parenthesized function: compiled with this module rather than on the first
// JSCallback or .async of a process (a lazy compile of even a one-line function cost ~10 us).
const typeKey = (function typeKey(t) {
  return typeof t === "object" ? `L${t.id}` : t;
});

// Per-signature code from a source the native side writes (src/jsgen.c): `gen` is
// binding.later().jsAsync or binding.jsCallback, and what the source returns is cached per signature.
// With `ifMade`, only what is in the cache (else undefined): nothing is compiled, and while
// the cache is empty (a first JSCallback) not even the key is made.
const perSignature = new MapCtor();
let compiledCount = 0;
const compiledFor = (function compiledFor(gen, sig, ifMade) {
  if (ifMade && compiledCount === 0) return undefined;
  let key = `${gen.name}:${typeKey(sig.returns)}:`;
  for (let k = 0; k < sig.args.length; k++) key += `${typeKey(sig.args[k])},`;
  let made = MapGet(perSignature, key);
  if (made === undefined && !ifMade) {
    made = newFunction(["H", "Z", gen(sig.returns, sig.args)])(helpers, zlist([sig]));
    MapSet(perSignature, key, made);
    compiledCount++;
  }
  return made;
});

// The captures lazily loaded modules share (lib/layout.js), taken here at require("cffi").
const builtins = {
  __proto__: null,
  uncurry, getter, NumberCtor, BigIntAsIntN, StringCtor, TypeErrorCtor, RangeErrorCtor, ObjectDefineProperty,
  newFunction, Uint8ArrayCtor,
};

module.exports = {
  __proto__: null,
  builtins, binding, later, H, dataView, pointerAt, TAG, MAX_ARGS, AREA_OFFSET, BUF_SIZE, state, helpers, compiledFor, zlist, reserve, ReflectApply, newFunction, rejected,
  codedTypeError, codedError, codedRangeError,
  toInt32, toF64, write64, writePointer, writeFunction, functionAddress, writeBuffer, bufferLength,
  pointerError, isView, viewByteLength, abByteLength, viewGone, ptr, offsetArg, MIN_ADDRESS,
};
