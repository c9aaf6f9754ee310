// memory.js: read.*, toArrayBuffer(), toBuffer() and CString (SPEC 10-12), plus toAddress()
// and readOffset(), the address validation other modules reuse (lib/layout.js), and
// hardenDataView(); ptr() (SPEC 9) is lib/abi.js's, exported here too.
// JS validates and throws; src/memory.c does the raw loads, address lookups and external
// buffers.
//
// read.* reads memory it keeps returning to through DataViews over 1 MiB regions of it
// ("windows", below). Its other reads use the per-environment scratch buffer of src/memory.c
// (keep in sync): JS writes the address as a uint64 into word 0, calls a zero-argument native
// function, and reads the result from word 1 through the typed array of the right type.
"use strict";
const { binding, builtins, ptr, offsetArg, MIN_ADDRESS } = require("./abi.js");
const floor = Math.floor;

// This module's native functions and the scratch buffer (lib/abi.js's ptr() shares them).
const mb = binding.memory();
const scratch = mb.memScratch;
const U8 = new Uint8Array(scratch);
const I8 = new Int8Array(scratch);
const U16 = new Uint16Array(scratch);
const I16 = new Int16Array(scratch);
const U32 = new Uint32Array(scratch);
const I32 = new Int32Array(scratch);
const F32 = new Float32Array(scratch);
const F64 = new Float64Array(scratch);
const I64 = new BigInt64Array(scratch);
const U64 = new BigUint64Array(scratch);
// Word 1 (the result) seen through each view.
const R8 = 8, R16 = 4, R32 = 2, R64 = 1;

const {
  memLoad1: load1, memLoad2: load2, memLoad4: load4, memLoad8: load8,
  memMakeExternal: makeExternal, memDecodeUtf8: decodeUtf8, memStrlen: strlen,
} = mb;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO32 = 4294967296;
const MAX_U64 = (1n << 64n) - 1n;
const MAX_U64_NUMBER = 18446744073709551615; // rounds to 2^64: numbers must be below it
const BUFFER_MAX_LENGTH = 2 ** 32;

// ---- Addresses ------------------------------------------------------------------------

// Error wording per caller (SPEC 10, SPEC 11, SPEC 12). `type`: ptr is not a number/BigInt or is a
// negative number; `negBig`/`big`: a BigInt below 0 / above 2^64 - 1 (RangeError when
// `range`); `big` is also used for numbers >= 2^64.
const READ = { type: "Expected a pointer", negBigRange: false, bigRange: false };
const BUFFER = { type: "ptr must be a number.", negBigRange: false, bigRange: true };
const CSTRING = { type: "ptr must be a number", negBigRange: true, bigRange: true };
const ADDRESS_MODES = { read: READ, buffer: BUFFER, cstring: CSTRING };

function outOfRange(value) {
  return new RangeError(`ptr ${value} is out of range (0 to 2^64 - 1)`);
}

function lowAddressError(addr) {
  return new TypeError(`ptr ${addr} is not a valid address: addresses below ${MIN_ADDRESS} are never mapped`);
}

// Checks `p + byteOffset` (byteOffset: an integer number or BigInt, may be negative; see
// offsetArg/readOffset) and returns the
// address as a number when it is exact (<= 2^53 - 1), else as a BigInt. `mode` is one of
// "read", "buffer", "cstring" (or one of the objects above) and chooses the messages.
// Throws TypeError "ptr cannot be zero" for results <= 0 and a TypeError below 4096.
function toAddress(p, byteOffset = 0, mode = READ) {
  const m = typeof mode === "string" ? ADDRESS_MODES[mode] : mode;
  if (typeof p === "number") {
    if (!(p >= 0)) {
      if (p !== p) return checkLow(0); // NaN: no address
      throw new TypeError(m.type);
    }
    if (p >= MAX_U64_NUMBER) {
      if (m.bigRange) throw outOfRange(p);
      throw new TypeError(m.type);
    }
    p = Math.trunc(p);
    if (p <= MAX_SAFE && typeof byteOffset === "number") {
      const a = p + byteOffset;
      if (a >= -MAX_SAFE && a <= MAX_SAFE) return checkLow(a);
    }
    return bigAddress(BigInt(p), byteOffset, m);
  }
  if (typeof p === "bigint") {
    if (p < 0n) {
      if (m.negBigRange) throw outOfRange(p);
      throw new TypeError(m.type);
    }
    if (p > MAX_U64) {
      if (m.bigRange) throw outOfRange(p);
      throw new TypeError(m.type);
    }
    return bigAddress(p, byteOffset, m);
  }
  throw new TypeError(m.type);
}

function bigAddress(p, byteOffset, m) {
  const a = p + BigInt(byteOffset);
  if (a > MAX_U64) {
    if (m.bigRange) throw outOfRange(a);
    throw new TypeError(m.type);
  }
  if (a <= BigInt(MAX_SAFE)) return checkLow(Number(a));
  return a;
}

function checkLow(a) {
  if (a <= 0) throw new TypeError("ptr cannot be zero");
  if (a < MIN_ADDRESS) throw lowAddressError(a);
  return a;
}

// read.* also take a BigInt byteOffset (SPEC 10).
function readOffset(byteOffset) {
  return typeof byteOffset === "bigint" ? byteOffset : offsetArg(byteOffset);
}

// Writes a validated address (number or BigInt) into scratch word 0.
function setAddress(a) {
  if (typeof a === "number") {
    U32[0] = a >>> 0;
    U32[1] = (a / TWO32) >>> 0;
  } else {
    U64[0] = a;
  }
}

// ---- read.* ------------------------------------------------------------------------------

// Reads go through a window when they can: a DataView over an external ArrayBuffer on
// WINDOW + 8 bytes of the process's memory starting at a multiple of WINDOW, made once and
// kept. V8 inlines a DataView load into the caller, so a read inside the current window costs
// a few ns against ~18 for the native load (a Node-API call and the scratch buffer). The bytes
// are the same either way: a window is a view of the address, not a copy, and a bad address
// faults as the native load would. A window is made for a region only once it has been read
// WINDOW_AFTER times while not in a window (a one-off read of a scattered address stays a
// native load; a loop over a C array gets its window after a few reads); at most
// MAX_WINDOWS are kept (~1 MiB of address space each, no memory of their own, but V8 counts
// each as 1 MiB of external memory: process.memoryUsage().external, and its GC heuristics).
const WINDOW = 1 << 20;
const WINDOW_AFTER = 8;
const MAX_WINDOWS = 16;
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
// hardenDataView(dv) gives dv the DataView get/set methods as own, read-only properties: the
// built-ins captured here, never a replacement on DataView.prototype (SPEC 16). Code calls
// them with method syntax, which V8 inlines (an uncurried call is 3x slower once inlined into
// a caller). The windows have them, and so do the DataViews lib/layout.js encodes through.
const DVP = DataView.prototype;
const DV_METHODS = {};
for (const n of ["Int8", "Uint8", "Int16", "Uint16", "Int32", "Uint32", "Float32", "Float64", "BigInt64", "BigUint64"]) {
  for (const k of [`get${n}`, `set${n}`]) DV_METHODS[k] = { value: DVP[k], writable: false, enumerable: false, configurable: false };
}
const defineProperties = Object.defineProperties;
const hardenDataView = (dv) => defineProperties(dv, DV_METHODS);

const windows = new Map(); // region number (address / WINDOW) -> its window
const windowsGet = builtins.uncurry(Map.prototype.get);
const windowsSet = builtins.uncurry(Map.prototype.set);
const windowsClear = builtins.uncurry(Map.prototype.clear);
const windowsSize = builtins.getter(Map.prototype, "size");
const DataViewCtor = DataView;
let win = hardenDataView(new DataViewCtor(new ArrayBuffer(8))); // the current window
let winBase = -(2 ** 60); // its first address (none yet: no address is within WINDOW of it)
let missRegion = -1; // the last region read outside any window, and how many times in a row
let missCount = 0;
let windowsOff = false;

// Validates (p, byteOffset). Returns the offset of the address in the current window, or -1
// after storing the address into scratch word 0 for a native load. The common case (a safe
// number well inside the address space, no offset or an integer number one) is checked
// inline; anything else goes through toAddress, which never wraps (SPEC 16).
function at(p, byteOffset) {
  if (typeof p === "number") {
    let a = p;
    if (byteOffset !== undefined) a = typeof byteOffset === "number" && floor(byteOffset) === byteOffset ? p + byteOffset : -1;
    if (p >= 0 && a >= MIN_ADDRESS && a <= MAX_SAFE) {
      const o = a - winBase;
      if (o >= 0 && o < WINDOW) return o;
      return enterWindow(a);
    }
  }
  setAddress(toAddress(p, readOffset(byteOffset), READ));
  return -1;
}

// `a` (a checked number) is outside the current window: switch to its region's window, making
// it when the region has been read often enough; else -1 with `a` in scratch word 0.
function enterWindow(a) {
  const region = floor(a / WINDOW);
  let w = windowsGet(windows, region);
  if (w === undefined) {
    if (region !== missRegion) {
      missRegion = region;
      missCount = 0;
    }
    if (++missCount < WINDOW_AFTER || region === 0 || windowsOff) {
      U32[0] = a >>> 0;
      U32[1] = (a / TWO32) >>> 0;
      return -1;
    }
    if (windowsSize(windows) >= MAX_WINDOWS) windowsClear(windows);
    try {
      w = hardenDataView(new DataViewCtor(makeExternal(false, region * WINDOW, WINDOW + 8, 0, 0)));
    } catch {
      // No external ArrayBuffers here (a V8 sandbox, as in Electron): native loads only.
      windowsOff = true;
      return enterWindow(a);
    }
    windowsSet(windows, region, w);
    missRegion = -1;
  }
  win = w;
  winBase = region * WINDOW;
  return a - winBase;
}

const read = {
  u8(p, byteOffset) { const o = at(p, byteOffset); if (o >= 0) return win.getUint8(o); load1(); return U8[R8]; },
  i8(p, byteOffset) { const o = at(p, byteOffset); if (o >= 0) return win.getInt8(o); load1(); return I8[R8]; },
  u16(p, byteOffset) { const o = at(p, byteOffset); if (o >= 0) return win.getUint16(o, LE); load2(); return U16[R16]; },
  i16(p, byteOffset) { const o = at(p, byteOffset); if (o >= 0) return win.getInt16(o, LE); load2(); return I16[R16]; },
  u32(p, byteOffset) { const o = at(p, byteOffset); if (o >= 0) return win.getUint32(o, LE); load4(); return U32[R32]; },
  i32(p, byteOffset) { const o = at(p, byteOffset); if (o >= 0) return win.getInt32(o, LE); load4(); return I32[R32]; },
  f32(p, byteOffset) { const o = at(p, byteOffset); if (o >= 0) return win.getFloat32(o, LE); load4(); return F32[R32]; },
  f64(p, byteOffset) { const o = at(p, byteOffset); if (o >= 0) return win.getFloat64(o, LE); load8(); return F64[R64]; },
  i64(p, byteOffset) { const o = at(p, byteOffset); if (o >= 0) return win.getBigInt64(o, LE); load8(); return I64[R64]; },
  u64(p, byteOffset) { const o = at(p, byteOffset); if (o >= 0) return win.getBigUint64(o, LE); load8(); return U64[R64]; },
  // Unsigned 64-bit as a double: one rounding (the high half times 2^32 is exact).
  ptr(p, byteOffset) {
    const o = at(p, byteOffset);
    if (o >= 0) return win.getUint32(o, LE) + win.getUint32(o + 4, LE) * TWO32;
    load8();
    return U32[2] + U32[3] * TWO32;
  },
  intptr(p, byteOffset) {
    const o = at(p, byteOffset);
    if (o >= 0) return win.getInt32(o + 4, LE) * TWO32 + win.getUint32(o, LE);
    load8();
    return I32[3] * TWO32 + U32[2];
  },
};

// ---- toArrayBuffer / toBuffer --------------------------------------------------------------

// A C pointer argument (deallocator or context): number or BigInt, 0 -> NULL.
function cPointer(v, message) {
  if (typeof v === "number") {
    if (v >= 0 && v < MAX_U64_NUMBER && Number.isInteger(v)) return v;
  } else if (typeof v === "bigint") {
    if (v >= 0n && v <= MAX_U64) return v;
  } else if (v === undefined || v === null) {
    return 0;
  }
  throw new TypeError(message);
}

const CALLBACK_MSG = "Expected callback to be a C pointer (number or BigInt)";
const CONTEXT_MSG = "Expected user data to be a C pointer (number or BigInt)";

function external(asBuffer, nargs, p, byteOffset, byteLength, ctxOrDeallocator, deallocator) {
  const a = toAddress(p, offsetArg(byteOffset), BUFFER);
  let len = -1; // strlen
  if (byteLength !== undefined) {
    if (typeof byteLength !== "number") throw new TypeError("length must be a number.");
    len = Math.trunc(byteLength);
    if (!(len > 0)) throw new TypeError("length must be > 0. This usually means a bug in your code.");
    // SPEC 11 limits toBuffer only; an ArrayBuffer can be as long as the runtime allows
    // (makeExternal throws a RangeError where Node-API cannot make one that long).
    if (asBuffer ? len > BUFFER_MAX_LENGTH : len > MAX_SAFE) {
      throw new RangeError(`length ${len} is larger than the maximum of ${asBuffer ? BUFFER_MAX_LENGTH : MAX_SAFE} bytes`);
    }
  }
  let fn = 0;
  let ctx = 0;
  if (nargs >= 5) {
    ctx = cPointer(ctxOrDeallocator, CONTEXT_MSG);
    fn = cPointer(deallocator, CALLBACK_MSG);
  } else if (nargs === 4) {
    fn = cPointer(ctxOrDeallocator, CALLBACK_MSG);
  }
  return makeExternal(asBuffer, a, len, fn, ctx);
}

function toArrayBuffer(p, byteOffset, byteLength, ctxOrDeallocator, deallocator) {
  return external(false, arguments.length, p, byteOffset, byteLength, ctxOrDeallocator, deallocator);
}

function toBuffer(p, byteOffset, byteLength, ctxOrDeallocator, deallocator) {
  return external(true, arguments.length, p, byteOffset, byteLength, ctxOrDeallocator, deallocator);
}

// ---- CString ------------------------------------------------------------------------------

function isLength(n) {
  return typeof n === "number" && n >= 0 && Number.isSafeInteger(n);
}

// The decoded text of CString(p, byteOffset, byteLength).
function cstringText(p, byteOffset, byteLength) {
  if (!p) {
    if (p === 0 || p === 0n || p === null || p === undefined || p !== p) return "";
    if (p === false || p === "") throw new TypeError(CSTRING.type);
  }
  const a = toAddress(p, offsetArg(byteOffset), CSTRING);
  return decodeUtf8(a, isLength(byteLength) ? byteLength : -1);
}

const cached = new WeakMap(); // CString object -> its arrayBuffer

// Behaves as `class CString extends String`, but is also callable without `new` (then it
// returns a string primitive), which a class cannot be.
function CString(p, byteOffset, byteLength) {
  const text = cstringText(p, byteOffset, byteLength);
  if (new.target === undefined) return text;
  const self = Reflect.construct(String, [text], new.target);
  self.ptr = p ? p : 0;
  if (typeof self.ptr === "bigint" && self.ptr <= BigInt(MAX_SAFE)) self.ptr = Number(self.ptr);
  if (byteOffset !== undefined) self.byteOffset = byteOffset;
  if (byteLength !== undefined) self.byteLength = byteLength;
  return self;
}
Object.setPrototypeOf(CString, String);
CString.prototype = Object.create(String.prototype, {
  constructor: { value: CString, writable: true, configurable: true },
  arrayBuffer: {
    configurable: true,
    get() {
      let ab = cached.get(this);
      if (ab === undefined) {
        ab = cstringArrayBuffer(this.ptr, this.byteOffset, this.byteLength);
        cached.set(this, ab);
      }
      return ab;
    },
  },
});

function cstringArrayBuffer(p, byteOffset, byteLength) {
  if (!p) return new ArrayBuffer(0);
  const a = toAddress(p, offsetArg(byteOffset), CSTRING);
  const len = isLength(byteLength) ? byteLength : strlen(a);
  if (len === 0) return new ArrayBuffer(0);
  return toArrayBuffer(a, 0, len);
}

module.exports = { ptr, read, toArrayBuffer, toBuffer, CString, toAddress, readOffset, hardenDataView };
