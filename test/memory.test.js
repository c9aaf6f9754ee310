// memory.test.js: ptr(), read.*, toArrayBuffer(), toBuffer() and CString (SPEC §9–12),
// against real memory: JS typed arrays, and C memory and deallocators from
// test/fixtures/memory.c. Run with `node --expose-gc --test test/memory.test.js`.
"use strict";
const assert = require("node:assert/strict");
const { test } = require("node:test");
const { Worker } = require("node:worker_threads");
const {
  fixtures, cffiPath, expectError, expectTypeError, expectTypeErrorContaining, getGC, collect, emulated,
} = require("./helpers.js");
const cffi = require(cffiPath);
const { ptr, read, toArrayBuffer, toBuffer, CString } = cffi;
const { toAddress } = require(require("node:path").join(require("./helpers.js").cffiDir, "lib", "memory.js"));

const TWO32 = 2 ** 32;
const gc = getGC();

// The fixture library: a counting deallocator and malloc'd strings.
let lib;
function fixture() {
  lib ??= cffi.dlopen(fixtures.memory, {
    count_dealloc: { args: ["ptr", "ptr"] },
    free_dealloc: { args: ["ptr", "ptr"] },
    dealloc_count: { returns: "i32" },
    free_count: { returns: "i32" },
    dealloc_last_bytes: { returns: "ptr" },
    dealloc_last_ctx: { returns: "ptr" },
    dup_string: { args: ["cstring"], returns: "ptr" },
  });
  return lib.symbols;
}

// ---- §9 ptr ------------------------------------------------------------------------------

test("ptr: address of the first byte of every kind of view", () => {
  const u8 = new Uint8Array([10, 20, 30, 40, 50, 60, 70, 80]);
  const p = ptr(u8);
  assert.equal(typeof p, "number");
  assert.ok(Number.isSafeInteger(p) && p >= 4096);
  assert.equal(read.u8(p), 10);
  assert.equal(ptr(u8.buffer), p);
  assert.equal(ptr(new DataView(u8.buffer)), p);
  assert.equal(ptr(new DataView(u8.buffer, 3)), p + 3);
  assert.equal(ptr(u8.subarray(2)), p + 2);
  assert.equal(ptr(new Uint16Array(u8.buffer, 4)), p + 4);
  const f64 = new Float64Array([1.5, 2.5]);
  assert.equal(read.f64(ptr(f64)), 1.5);
  assert.equal(read.f64(ptr(f64, 8)), 2.5);
  const buf = Buffer.from("xyz");
  assert.equal(read.u8(ptr(buf)), 0x78);
  assert.equal(read.u8(ptr(buf, 2)), 0x7a);
  const big = new BigInt64Array([-5n]);
  assert.equal(read.i64(ptr(big)), -5n);
  const shared = new Int32Array(new SharedArrayBuffer(8));
  shared[1] = 1234;
  assert.equal(read.i32(ptr(shared), 4), 1234);
  // An ArrayBuffer from another realm.
  const foreign = require("node:vm").runInNewContext("new Uint8Array([7, 8]).buffer");
  assert.equal(read.u8(ptr(foreign), 1), 8);
});

test("ptr: byteOffset may be negative and may equal byteLength", () => {
  const u8 = new Uint8Array(16);
  u8[5] = 99;
  const sub = u8.subarray(8);
  const p = ptr(sub);
  assert.equal(ptr(sub, -3), p - 3);
  assert.equal(read.u8(ptr(sub, -3)), 99);
  assert.equal(ptr(sub, 8), p + 8);
  assert.equal(ptr(sub, 0), p);
});

test("ptr: stable across calls, .buffer and garbage collection (small on-heap arrays too)", async () => {
  const arrays = [];
  for (let i = 0; i < 64; i++) arrays.push(new Uint8Array(4 + (i % 8)));
  const first = arrays.map((a, i) => {
    a[0] = i;
    return ptr(a);
  });
  assert.deepEqual(arrays.map((a) => ptr(a)), first);
  for (const a of arrays) void a.buffer;
  assert.deepEqual(arrays.map((a) => ptr(a)), first);
  // Churn the young generation so that scavenges and a full GC move whatever V8 can move.
  for (let r = 0; r < 3; r++) {
    let junk = [];
    for (let i = 0; i < 20000; i++) junk.push(new Uint8Array(8), { i });
    junk = null;
    gc();
    await new Promise((res) => setImmediate(res));
  }
  assert.deepEqual(arrays.map((a) => ptr(a)), first);
  arrays.forEach((a, i) => assert.equal(read.u8(first[i]), i));
  // Writes through the view are seen at the address and the other way round.
  arrays[3][0] = 200;
  assert.equal(read.u8(first[3]), 200);
  const ab = toArrayBuffer(first[4], 0, 1);
  new Uint8Array(ab)[0] = 77;
  assert.equal(arrays[4][0], 77);
});

test("ptr: errors", () => {
  for (const [v, type] of [[1, "number"], ["s", "string"], [null, "null"], [undefined, "undefined"],
    [{}, "object"], [[1], "object"], [1n, "bigint"], [true, "boolean"], [new SharedArrayBuffer(8), "object"]]) {
    expectTypeError(() => ptr(v), `Expected ArrayBufferView but received ${type}`);
  }
  expectTypeError(() => ptr(), "Expected ArrayBufferView but received undefined");
  const empty = "ArrayBufferView must have a length > 0. A pointer to empty memory doesn't work";
  expectTypeError(() => ptr(new Uint8Array(0)), empty);
  expectTypeError(() => ptr(new ArrayBuffer(0)), empty);
  expectTypeError(() => ptr(new DataView(new ArrayBuffer(4), 4)), empty);
  expectTypeError(() => ptr(Buffer.alloc(0)), empty);
  const u8 = new Uint8Array(8);
  for (const off of ["1", 1n, null, {}, NaN]) {
    expectTypeError(() => ptr(u8, off), "Expected number for byteOffset");
  }
  expectTypeError(() => ptr(u8, 9), "byteOffset out of bounds");
  expectTypeError(() => ptr(u8.buffer, 9), "byteOffset out of bounds");
  // A detached ArrayBuffer has no address (SPEC §16).
  const ab = new ArrayBuffer(8);
  structuredClone(ab, { transfer: [ab] });
  expectTypeErrorContaining(() => ptr(ab), "detached");
});

// ---- §10 read.* --------------------------------------------------------------------------

test("read: every type at every alignment matches DataView (little-endian)", () => {
  const bytes = new Uint8Array(64);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + 11) & 0xff;
  const dv = new DataView(bytes.buffer);
  const p = ptr(bytes);
  for (let off = 0; off < 24; off++) {
    assert.equal(read.u8(p, off), dv.getUint8(off));
    assert.equal(read.i8(p, off), dv.getInt8(off));
    assert.equal(read.u16(p, off), dv.getUint16(off, true));
    assert.equal(read.i16(p, off), dv.getInt16(off, true));
    assert.equal(read.u32(p, off), dv.getUint32(off, true));
    assert.equal(read.i32(p, off), dv.getInt32(off, true));
    assert.ok(Object.is(read.f32(p, off), dv.getFloat32(off, true)));
    assert.ok(Object.is(read.f64(p, off), dv.getFloat64(off, true)));
    assert.equal(read.i64(p, off), dv.getBigInt64(off, true));
    assert.equal(read.u64(p, off), dv.getBigUint64(off, true));
    assert.equal(read.ptr(p, off), Number(dv.getBigUint64(off, true)));
    assert.equal(read.intptr(p, off), Number(dv.getBigInt64(off, true)));
    // The same with the address already offset, and as a BigInt.
    assert.equal(read.u32(p + off), dv.getUint32(off, true));
    assert.equal(read.u32(BigInt(p + off)), dv.getUint32(off, true));
    assert.equal(read.u64(BigInt(p), off), dv.getBigUint64(off, true));
  }
  // Negative offsets.
  assert.equal(read.u8(p + 10, -10), bytes[0]);
  assert.equal(read.u32(p + 10, -7), dv.getUint32(3, true));
  // byteOffset: an integer number or BigInt (SPEC §10); undefined is 0.
  assert.equal(read.u8(p, 2n), bytes[2]);
  assert.equal(read.u8(BigInt(p), 3n), bytes[3]);
  assert.equal(read.u8(p, undefined), bytes[0]);
  // Result types.
  assert.equal(typeof read.u32(p), "number");
  assert.equal(typeof read.i64(p), "bigint");
  assert.equal(typeof read.u64(p), "bigint");
  assert.equal(typeof read.ptr(p), "number");
  assert.equal(typeof read.intptr(p), "number");
});

test("read: limits of the integer types", () => {
  const dv = new DataView(new ArrayBuffer(16));
  const p = ptr(dv);
  const check = (setter, value, fn, expected) => {
    dv[setter](1, value, true);
    assert.ok(Object.is(read[fn](p, 1), expected), `${fn} of ${value}: ${read[fn](p, 1)}`);
  };
  check("setUint8", 255, "u8", 255);
  check("setUint8", 255, "i8", -1);
  check("setUint8", 128, "i8", -128);
  check("setUint16", 0xffff, "u16", 65535);
  check("setUint16", 0x8000, "i16", -32768);
  check("setUint32", 0xffffffff, "u32", 4294967295);
  check("setUint32", 0xffffffff, "i32", -1);
  check("setUint32", 0x80000000, "i32", -2147483648);
  check("setBigUint64", 2n ** 64n - 1n, "u64", 2n ** 64n - 1n);
  check("setBigUint64", 2n ** 64n - 1n, "i64", -1n);
  check("setBigUint64", 2n ** 63n, "i64", -(2n ** 63n));
  check("setBigUint64", 2n ** 63n - 1n, "i64", 2n ** 63n - 1n);
  check("setBigUint64", 2n ** 63n, "u64", 2n ** 63n);
  // ptr: unsigned 64-bit as a double; intptr: signed.
  check("setBigUint64", 2n ** 64n - 1n, "ptr", 2 ** 64);
  check("setBigUint64", 2n ** 64n - 1n, "intptr", -1);
  check("setBigUint64", 2n ** 53n + 1n, "ptr", 2 ** 53); // rounds once, to even
  check("setBigUint64", 2n ** 53n + 3n, "ptr", 2 ** 53 + 4);
  check("setBigUint64", 2n ** 63n, "intptr", -(2 ** 63));
  check("setBigUint64", 123456789012345n, "ptr", 123456789012345);
  check("setBigInt64", -123456789012345n, "intptr", -123456789012345);
  check("setBigUint64", 0n, "ptr", 0);
  check("setBigUint64", 0n, "intptr", 0);
  check("setFloat64", -0, "f64", -0);
  check("setFloat64", Infinity, "f64", Infinity);
  check("setFloat64", 5e-324, "f64", 5e-324);
  check("setFloat32", -0, "f32", -0);
  check("setFloat32", 3.4028234663852886e38, "f32", 3.4028234663852886e38);
});

test("read: NaN payloads read as NaN; the bits are intact for the integer reads", () => {
  const dv = new DataView(new ArrayBuffer(16));
  const p = ptr(dv);
  dv.setBigUint64(0, 0x7ff4000000000123n, true); // signalling NaN with a payload
  assert.ok(Number.isNaN(read.f64(p)));
  assert.equal(read.u64(p), 0x7ff4000000000123n);
  dv.setBigUint64(0, 0xfff8000000000000n, true); // negative quiet NaN
  assert.ok(Number.isNaN(read.f64(p)));
  dv.setUint32(8, 0x7fa00001, true); // f32 signalling NaN
  assert.ok(Number.isNaN(read.f32(p, 8)));
  assert.equal(read.u32(p, 8), 0x7fa00001);
  // The NaN read must not have modified memory.
  assert.equal(dv.getUint32(8, true), 0x7fa00001);
});

test("read: C memory from the fixture", () => {
  const s = fixture();
  const p = s.dup_string("Hello");
  assert.equal(read.u8(p), 72);
  assert.equal(read.u32(p, 1), 0x6f6c6c65);
  assert.equal(read.u8(p, 5), 0);
});

// read.* of a region read often goes through a DataView over that 1 MiB region (lib/memory.js,
// "windows"); the first reads, and scattered ones, are native loads. Both must give the bytes.
test("read: repeated reads in 1 MiB regions (windows): edges, live bytes, more regions than are kept", async () => {
  const MiB = 1 << 20;
  const bytes = new Uint8Array(6 * MiB);
  for (let i = 0; i < bytes.length; i += 4093) bytes[i] = (i * 7) & 0xff;
  const dv = new DataView(bytes.buffer);
  const p = ptr(bytes);
  const check = (off) => {
    assert.equal(read.u8(p, off), dv.getUint8(off));
    assert.equal(read.i16(p, off), dv.getInt16(off, true));
    assert.equal(read.i32(p, off), dv.getInt32(off, true));
    assert.equal(read.u32(p + off), dv.getUint32(off, true));
    assert.ok(Object.is(read.f64(p, off), dv.getFloat64(off, true)));
    assert.equal(read.u64(p, off), dv.getBigUint64(off, true));
    assert.equal(read.ptr(p, off), Number(dv.getBigUint64(off, true)));
    assert.equal(read.intptr(p, off), Number(dv.getBigInt64(off, true)));
  };
  // Around every region edge inside the buffer: values that straddle two regions included.
  const first = MiB - (p % MiB); // the first region edge at or after p
  for (let round = 0; round < 3; round++) {
    for (let edge = first; edge + 16 < bytes.length; edge += MiB) {
      for (let off = edge - 9; off <= edge + 8; off++) {
        bytes[off] = (off * 31 + round) & 0xff;
        check(off);
      }
    }
  }
  // The memory is read, not a copy of it: a write after a region's reads is seen.
  for (let i = 0; i < 20; i++) assert.equal(read.u8(p, 100 + i), bytes[100 + i]);
  bytes[100] ^= 0xff;
  dv.setInt32(104, -123456, true);
  assert.equal(read.u8(p, 100), bytes[100]);
  assert.equal(read.i32(p, 104), -123456);
  // More regions than are kept (16): 100 regions of a 100 MiB buffer, each read 20 times, twice.
  const big = new Uint8Array(100 * MiB);
  const q = ptr(big);
  // V8 counts each window as 1 MiB of external memory: after 24 regions, only the kept ones are
  // still counted once the others are collected.
  const external = () => require("node:v8").getHeapStatistics().external_memory;
  if (gc) {
    await collect(2);
    const before = external();
    for (let r = 0; r < 24; r++) for (let i = 0; i < 20; i++) assert.equal(read.u8(q, r * MiB + i), 0);
    await collect(3);
    assert.ok(external() - before <= 17 * MiB, `external memory grew by ${(external() - before) / MiB} MiB`);
  }
  for (let round = 0; round < 2; round++) {
    for (let r = 0; r < 100; r++) {
      big[r * MiB + round] = (r + round + 1) & 0xff;
      for (let i = 0; i < 20; i++) assert.equal(read.u8(q, r * MiB + round), (r + round + 1) & 0xff);
    }
  }
});

test("read: errors", () => {
  const p = ptr(new Uint8Array(8));
  for (const fn of Object.keys(read)) {
    for (const bad of [-1n, 2n ** 64n, -1, 2 ** 64, "4096", null, undefined, {}, true, -Infinity, Infinity]) {
      expectTypeError(() => read[fn](bad), "Expected a pointer");
    }
    expectTypeError(() => read[fn](0), "ptr cannot be zero");
    expectTypeError(() => read[fn](0n), "ptr cannot be zero");
    expectTypeError(() => read[fn](1, -5), "ptr cannot be zero");
    expectTypeError(() => read[fn](1, -1), "ptr cannot be zero");
    expectTypeError(() => read[fn](p, -p), "ptr cannot be zero");
    expectTypeError(() => read[fn](1));
    expectTypeError(() => read[fn](100));
    expectTypeError(() => read[fn](4095));
    expectTypeError(() => read[fn](4095n));
    expectTypeError(() => read[fn](4096, -1));
    expectTypeError(() => read[fn](5000, -1000));
  }
  // byteOffset is never coerced or truncated (SPEC §16); the rest is in hardening.test.js.
  expectTypeError(() => read.u8(p, "1"), "Expected number for byteOffset");
  expectTypeError(() => read.u8(p, 1.5));
});

// ---- toAddress (shared validator) ------------------------------------------------------

test("toAddress: exact numbers, BigInt above 2^53, offsets and the per-caller messages", () => {
  assert.equal(toAddress(4096), 4096);
  assert.equal(toAddress(8192, -4096), 4096);
  assert.equal(toAddress(4096n), 4096);
  assert.equal(toAddress(2 ** 53 - 1), 2 ** 53 - 1);
  assert.equal(toAddress(2n ** 53n), 2n ** 53n);
  assert.equal(toAddress(2n ** 64n - 1n), 2n ** 64n - 1n);
  assert.equal(toAddress(2n ** 64n - 2n, 1), 2n ** 64n - 1n);
  assert.equal(toAddress(2 ** 53, 1), 2n ** 53n + 1n);
  assert.equal(toAddress(2n ** 53n + 5n, -10), 2 ** 53 - 5);
  assert.equal(toAddress(4096.7), 4096);
  expectTypeError(() => toAddress(2n ** 64n - 1n, 1, "read"), "Expected a pointer");
  expectError(RangeError, () => toAddress(2n ** 64n - 1n, 1, "buffer"), /out of range/);
  expectError(RangeError, () => toAddress(2 ** 64, 0, "buffer"), /out of range/);
  expectTypeError(() => toAddress(-1n, 0, "buffer"), "ptr must be a number.");
  expectError(RangeError, () => toAddress(-1n, 0, "cstring"), /out of range/);
  expectTypeError(() => toAddress(-1, 0, "cstring"), "ptr must be a number");
  expectTypeError(() => toAddress(NaN), "ptr cannot be zero");
  expectTypeErrorContaining(() => toAddress(4095), "4096");
});

// ---- §11 toArrayBuffer / toBuffer ------------------------------------------------------

test("toArrayBuffer / toBuffer alias the memory (zero-copy, both directions)", () => {
  const u8 = new Uint8Array(32);
  for (let i = 0; i < 32; i++) u8[i] = i;
  const p = ptr(u8);
  const ab = toArrayBuffer(p, 4, 8);
  assert.ok(ab instanceof ArrayBuffer);
  assert.equal(ab.byteLength, 8);
  assert.deepEqual([...new Uint8Array(ab)], [4, 5, 6, 7, 8, 9, 10, 11]);
  new Uint8Array(ab)[0] = 200;
  assert.equal(u8[4], 200);
  u8[11] = 201;
  assert.equal(new Uint8Array(ab)[7], 201);
  assert.equal(ptr(ab), p + 4);

  const buf = toBuffer(p, 16, 4);
  assert.ok(Buffer.isBuffer(buf));
  assert.equal(buf.length, 4);
  assert.deepEqual([...buf], [16, 17, 18, 19]);
  buf[1] = 99;
  assert.equal(u8[17], 99);
  u8[18] = 98;
  assert.equal(buf[2], 98);
  assert.equal(ptr(buf), p + 16);

  // Negative byteOffset, BigInt ptr, fractional length truncates.
  assert.deepEqual([...new Uint8Array(toArrayBuffer(p + 10, -2, 2))], [8, 9]);
  assert.deepEqual([...toBuffer(BigInt(p), 1, 2.9)], [1, 2]);
  // Two aliases of the same memory.
  const a1 = new Uint8Array(toArrayBuffer(p, 0, 4));
  const a2 = new Uint8Array(toArrayBuffer(p, 0, 4));
  a1[2] = 123;
  assert.equal(a2[2], 123);
});

test("toArrayBuffer / toBuffer without byteLength: strlen", () => {
  const b = Buffer.from("héllo\0world\0");
  const p = ptr(b);
  assert.equal(toArrayBuffer(p).byteLength, 6);
  assert.equal(toBuffer(p).toString(), "héllo");
  assert.equal(toBuffer(p, 7).toString(), "world");
  assert.equal(toBuffer(p, 7, undefined).toString(), "world");
  assert.equal(toArrayBuffer(p, 6).byteLength, 0); // empty string
  const c = fixture().dup_string("from C");
  assert.equal(toBuffer(c).toString(), "from C");
  assert.equal(toBuffer(c, 5, 1).toString(), "C");
});

test("toBuffer: 2^32 bytes allowed, more is a RangeError (memory is not touched)", () => {
  const p = ptr(new Uint8Array(16));
  const big = toBuffer(p, 0, TWO32);
  assert.equal(big.length, TWO32);
  expectError(RangeError, () => toBuffer(p, 0, TWO32 + 1));
  expectError(RangeError, () => toBuffer(p, 0, Infinity));
});

test("toArrayBuffer: no limit of its own (SPEC §11); over what Node-API can make, a RangeError", () => {
  // Node-API makes external ArrayBuffers as Buffers, so Node's Buffer limit applies
  // (2^32 on Node 20, 2^53 - 1 on newer): within it the ArrayBuffer is made (memory is
  // not touched), beyond it Node's ERR_BUFFER_TOO_LARGE, as the RangeError it is in JS.
  const p = ptr(new Uint8Array(16));
  const max = require("node:buffer").constants.MAX_LENGTH;
  assert.equal(toArrayBuffer(p, 0, TWO32).byteLength, TWO32);
  if (max > TWO32) {
    assert.equal(toArrayBuffer(p, 0, TWO32 + 1).byteLength, TWO32 + 1);
  } else {
    expectError(RangeError, () => toArrayBuffer(p, 0, TWO32 + 1), /ArrayBuffer of 4294967297 bytes/, "ERR_BUFFER_TOO_LARGE");
  }
  if (max < Number.MAX_SAFE_INTEGER) {
    expectError(RangeError, () => toArrayBuffer(p, 0, max + 1), undefined, "ERR_BUFFER_TOO_LARGE");
  }
  // no ArrayBuffer is longer than 2^53 - 1 bytes
  expectError(RangeError, () => toArrayBuffer(p, 0, 2 ** 53));
  expectError(RangeError, () => toArrayBuffer(p, 0, Infinity));
});

test("toArrayBuffer / toBuffer: errors", () => {
  const p = ptr(new Uint8Array(16));
  for (const f of [toArrayBuffer, toBuffer]) {
    for (const bad of ["4096", null, undefined, {}, true, -1, -4096, -1n]) {
      expectTypeError(() => f(bad, 0, 1), "ptr must be a number.");
    }
    expectError(RangeError, () => f(2n ** 64n, 0, 1), /out of range/);
    expectError(RangeError, () => f(2n ** 64n - 1n, 1, 1), /out of range/);
    expectTypeError(() => f(0, 0, 1), "ptr cannot be zero");
    expectTypeError(() => f(0n, 0, 1), "ptr cannot be zero");
    expectTypeError(() => f(5000, -5000, 1), "ptr cannot be zero");
    expectTypeError(() => f(5000, -6000, 1), "ptr cannot be zero");
    expectTypeError(() => f(100, 0, 1));
    expectTypeError(() => f(4096, -1, 1));
    for (const len of ["1", null, 1n, {}, true]) {
      expectTypeError(() => f(p, 0, len), "length must be a number.");
    }
    for (const len of [0, -1, 0.5, NaN, -Infinity]) {
      expectTypeError(() => f(p, 0, len), "length must be > 0. This usually means a bug in your code.");
    }
    const cb = "Expected callback to be a C pointer (number or BigInt)";
    const ud = "Expected user data to be a C pointer (number or BigInt)";
    for (const bad of ["1", {}, -1, 1.5, -1n, 2n ** 64n, true, () => {}]) {
      expectTypeError(() => f(p, 0, 1, bad), cb);
      expectTypeError(() => f(p, 0, 1, 0, bad), cb);
      expectTypeError(() => f(p, 0, 1, bad, 0), ud);
    }
    expectTypeError(() => f(p, "1", 1), "Expected number for byteOffset");
  }
});

test("deallocator: runs exactly once, after GC, outside the collector, with (bytes, ctx)", async () => {
  const s = fixture();
  const dealloc = s.count_dealloc.ptr;
  const before = s.dealloc_count();
  const mem = new Uint8Array(64);
  const p = ptr(mem);
  (() => {
    toArrayBuffer(p, 8, 16, 0x1234, dealloc);
  })();
  gc();
  // Never inside the collector: nothing ran synchronously.
  assert.equal(s.dealloc_count(), before);
  await collect();
  assert.equal(s.dealloc_count(), before + 1);
  assert.equal(s.dealloc_last_bytes(), p + 8);
  assert.equal(s.dealloc_last_ctx(), 0x1234);
  await collect();
  assert.equal(s.dealloc_count(), before + 1);

  // 4 arguments: the 4th is the deallocator, ctx is NULL; BigInt pointers; toBuffer.
  (() => {
    toBuffer(p, 0, 4, BigInt(dealloc));
  })();
  await collect();
  assert.equal(s.dealloc_count(), before + 2);
  assert.equal(s.dealloc_last_bytes(), p);
  assert.equal(s.dealloc_last_ctx(), null);

  // Many at once, and an alive one does not run.
  const keep = toArrayBuffer(p, 0, 1, dealloc);
  (() => {
    for (let i = 0; i < 100; i++) toArrayBuffer(p, i % 32, 4, i + 1, dealloc);
  })();
  await collect(5);
  assert.equal(s.dealloc_count(), before + 102);
  assert.equal(keep.byteLength, 1);
  const afterKeep = before + 103; // once `keep` is collected too

  // Without a deallocator (or with 0 / null), nothing runs.
  (() => {
    toArrayBuffer(p, 0, 4);
    toArrayBuffer(p, 0, 4, 0);
    toBuffer(p, 0, 4, null);
  })();
  await collect();
  assert.ok([before + 102, afterKeep].includes(s.dealloc_count()));
});

test("deallocator frees malloc'd memory (C string)", async () => {
  const s = fixture();
  const before = s.free_count();
  (() => {
    const str = s.dup_string("freed by the deallocator");
    assert.equal(toBuffer(str, 0, undefined, s.free_dealloc.ptr).toString(), "freed by the deallocator");
  })();
  await collect();
  assert.equal(s.free_count(), before + 1);
});

test("deallocator: a JSCallback runs from the event loop", async () => {
  const calls = [];
  const cb = new cffi.JSCallback((bytes, ctx) => {
    calls.push([bytes, ctx]);
  }, { args: ["ptr", "ptr"], returns: "void" });
  const mem = new Uint8Array(8);
  const p = ptr(mem);
  (() => {
    toArrayBuffer(p, 2, 4, 777, cb.ptr);
  })();
  gc();
  assert.equal(calls.length, 0);
  await collect();
  assert.deepEqual(calls, [[p + 2, 777]]);
  cb.close();
});

test("deallocators pending at Worker termination neither hang nor crash", async () => {
  // The Worker only takes function addresses from dlopen (it calls no C function itself);
  // the fixture's counter is process-wide, so the main thread reads it.
  const s = fixture();
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const cffi = require(workerData.cffiPath);
    const lib = cffi.dlopen(workerData.fixture, { count_dealloc: { args: ["ptr", "ptr"] } });
    const dealloc = lib.symbols.count_dealloc.ptr;
    const mem = new Uint8Array(64);
    const p = cffi.ptr(mem);
    const keep = [];
    for (let i = 0; i < 10; i++) keep.push(cffi.toArrayBuffer(p, i, 4, dealloc));
    (() => { for (let i = 0; i < 10; i++) cffi.toBuffer(p, i, 4, i, dealloc); })();
    require("node:v8").setFlagsFromString("--expose-gc");
    const collectNow = require("node:vm").runInNewContext("gc");
    collectNow();
    const wait = () => new Promise((r) => setImmediate(r));
    wait().then(wait).then(() => {
      collectNow();
      // Collected but not yet run: queued when the Worker is terminated.
      (() => { for (let i = 0; i < 10; i++) cffi.toBuffer(p, i, 4, i, dealloc); })();
      collectNow();
      parentPort.postMessage("ready");
      setInterval(() => {}, 1000); // stay alive until terminated
    });
  `;
  for (let round = 0; round < 3; round++) {
    const before = s.dealloc_count();
    const w = new Worker(code, { eval: true, workerData: { cffiPath, fixture: fixtures.memory } });
    const msg = await new Promise((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
    assert.equal(msg, "ready");
    await w.terminate();
    // The 10 collected before "ready" ran in the Worker; the rest may run or be dropped, never twice.
    const ran = s.dealloc_count() - before;
    assert.ok(ran >= 10 && ran <= 30, `ran ${ran}`);
  }
  // A Worker that exits by itself with live external buffers.
  const w = new Worker(`
    const { workerData } = require("node:worker_threads");
    const cffi = require(workerData.cffiPath);
    const lib = cffi.dlopen(workerData.fixture, { count_dealloc: { args: ["ptr", "ptr"] } });
    globalThis.keep = cffi.toArrayBuffer(cffi.ptr(new Uint8Array(8)), 0, 8, lib.symbols.count_dealloc.ptr);
  `, { eval: true, workerData: { cffiPath, fixture: fixtures.memory } });
  const exitCode = await new Promise((resolve) => w.once("exit", resolve));
  assert.equal(exitCode, 0);
});

// ---- §12 CString ---------------------------------------------------------------------------

test("CString: called without new returns a string primitive", () => {
  const b = Buffer.from("hello\0world\0");
  const p = ptr(b);
  assert.equal(CString(p), "hello");
  assert.equal(typeof CString(p), "string");
  assert.equal(CString(p, 6), "world");
  assert.equal(CString(p, 1, 3), "ell");
  assert.equal(CString(p, 0, 11), "hello\0world"); // byteLength bytes, NUL included
  assert.equal(CString(p, 0, 0), "");
  assert.equal(CString(BigInt(p), 6), "world");
  assert.equal(CString(p + 8, -2), "world");
  // byteLength not a safe non-negative integer → up to the NUL.
  for (const len of [-1, 1.5, NaN, "3", null, 2 ** 53]) assert.equal(CString(p, 0, len), "hello");
  assert.equal(CString.name, "CString");
});

test("CString: UTF-8, bad sequences become U+FFFD", () => {
  const s = "héllo wörld — 日本語 🎉";
  const b = Buffer.concat([Buffer.from(s), Buffer.from([0])]);
  assert.equal(CString(ptr(b)), s);
  const bad = Buffer.from([0x61, 0xff, 0x62, 0xc3, 0x63, 0xe2, 0x82, 0x00]);
  const out = CString(ptr(bad));
  assert.equal(out[0], "a");
  assert.equal(out[1], "\ufffd");
  assert.equal(out[2], "b");
  assert.ok(out.includes("c"));
  assert.ok(out.endsWith("\ufffd"));
  assert.ok(!out.includes("\0"));
  // Truncated in the middle of a character with an explicit byteLength.
  assert.equal(CString(ptr(Buffer.from("é")), 0, 1), "\ufffd");
  // The text is copied.
  const m = Buffer.from("abc\0");
  const copy = CString(ptr(m));
  m[0] = 0x7a;
  assert.equal(copy, "abc");
});

test("CString: falsy ptr gives the empty string", () => {
  for (const p of [0, 0n, null, undefined, -0, NaN]) {
    assert.equal(CString(p), "");
    assert.equal(CString(p, 10, 5), "");
  }
  assert.equal(CString(), "");
  const o = new CString(null);
  assert.equal(o.ptr, 0);
  assert.equal(o.toString(), "");
  assert.equal(o.arrayBuffer.byteLength, 0);
});

test("new CString: a String object with ptr/byteOffset/byteLength and a cached arrayBuffer", () => {
  const b = Buffer.from("hello\0world\0");
  const p = ptr(b);
  const o = new CString(p);
  assert.equal(typeof o, "object");
  assert.ok(o instanceof CString);
  assert.ok(o instanceof String);
  assert.equal(o.toString(), "hello");
  assert.equal(o.valueOf(), "hello");
  assert.ok(o == "hello"); // eslint-disable-line eqeqeq
  assert.equal(`${o}!`, "hello!");
  assert.equal(o.length, 5);
  assert.equal(o.toUpperCase(), "HELLO");
  assert.equal(o.ptr, p);
  assert.ok(!Object.hasOwn(o, "byteOffset"));
  assert.ok(!Object.hasOwn(o, "byteLength"));
  assert.equal(Object.getPrototypeOf(o), CString.prototype);
  assert.equal(o.constructor, CString);
  const ab = o.arrayBuffer;
  assert.ok(ab instanceof ArrayBuffer);
  assert.equal(ab.byteLength, 5);
  assert.equal(o.arrayBuffer, ab); // cached
  assert.equal(ptr(ab), p); // zero-copy
  assert.equal(Buffer.from(ab).toString(), "hello");

  const o2 = new CString(p, 6, 3);
  assert.equal(o2.toString(), "wor");
  assert.equal(o2.byteOffset, 6);
  assert.equal(o2.byteLength, 3);
  assert.equal(o2.arrayBuffer.byteLength, 3);
  assert.equal(ptr(o2.arrayBuffer), p + 6);

  const o3 = new CString(p, 6);
  assert.equal(o3.byteOffset, 6);
  assert.ok(!Object.hasOwn(o3, "byteLength"));
  assert.equal(Buffer.from(o3.arrayBuffer).toString(), "world");

  // BigInt ptr: a number when safe.
  assert.equal(new CString(BigInt(p)).ptr, p);
  // Subclassing works like a class extending String.
  class Sub extends CString {}
  const sub = new Sub(p);
  assert.ok(sub instanceof Sub && sub instanceof CString);
  assert.equal(sub.toString(), "hello");
});

// V8's longest string is 2^29 - 24 UTF-16 units here. Node's napi_create_string_utf8 ended the
// process (a failed V8 check) when asked for a longer one up to the NUL.
test("C strings longer than a JavaScript string can be: a RangeError, not a crash", { skip: emulated && "slow under qemu" }, () => {
  const TOO_LONG = { name: "RangeError", code: "ERR_STRING_TOO_LONG", message: /a C string of 600000000 bytes is longer than a JavaScript string can be/ };
  const big = Buffer.alloc(600e6 + 1, 0x61);
  big[600e6] = 0;
  const p = ptr(big);
  assert.throws(() => CString(p), TOO_LONG);
  assert.throws(() => new CString(p), TOO_LONG);
  assert.throws(() => CString(p, 0, 600e6), TOO_LONG);
  // over INT_MAX bytes Node-API refuses to look at them at all (nothing is read here)
  assert.throws(() => CString(p, 0, 2 ** 40), { name: "RangeError", code: "ERR_STRING_TOO_LONG", message: /1099511627776 bytes/ });
  // a cstring result, and a cstring argument of a callback (rethrown by the call)
  const libc = cffi.dlopen("libc.so.6", { strchr: { args: ["ptr", "i32"], returns: "cstring" } });
  for (let i = 0; i < 2; i++) assert.throws(() => libc.symbols.strchr(big, 0x61), TOO_LONG);
  libc.close();
  const basic = cffi.dlopen(fixtures.basic, { call_with_cstring: { args: ["function", "cstring"], returns: "i32" } });
  let called = false;
  const cb = new cffi.JSCallback(() => (called = true, 1), { args: ["cstring"], returns: "i32" });
  assert.throws(() => basic.symbols.call_with_cstring(cb, big), TOO_LONG);
  assert.equal(called, false);
  assert.equal(CString(p, 599999990), "aaaaaaaaaa", "shorter texts of the same memory still convert");
  cb.close();
  basic.close();
});

test("CString: errors", () => {
  for (const bad of [-1, -4096, "4096", {}, true, false, "", () => {}]) {
    expectTypeError(() => CString(bad), "ptr must be a number");
    expectTypeError(() => new CString(bad), "ptr must be a number");
  }
  expectError(RangeError, () => CString(-1n), /out of range/);
  expectError(RangeError, () => CString(2n ** 64n), /out of range/);
  expectError(RangeError, () => new CString(2n ** 64n), /out of range/);
  expectTypeError(() => CString(128));
  expectTypeError(() => CString(4095));
  expectTypeError(() => CString(65536, -65536), "ptr cannot be zero");
  expectTypeError(() => CString(65536, -70000), "ptr cannot be zero");
  expectTypeError(() => CString(65536, -65000));
  expectTypeError(() => CString(ptr(new Uint8Array(4)), "1"), "Expected number for byteOffset");
});
