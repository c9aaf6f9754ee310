// system-libs.test.js: real system libraries through cffi — libc (strlen, abs, qsort with a
// JSCallback comparator, getpid), libm (cos, pow, floor, fabsf), libz (crc32, compressBound,
// zlibVersion, compress/uncompress), libsqlite3 (version, :memory: database, exec with a
// row callback).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { cffiPath } = require("./helpers.js");
const cffi = require(cffiPath);
const { dlopen, JSCallback, CString, read, suffix } = cffi;

test("libc: strlen, abs, getpid, qsort with a JSCallback comparator", () => {
  const libc = dlopen("libc.so.6", {
    strlen: { args: ["cstring"], returns: "usize" },
    abs: { args: ["int"], returns: "int" },
    labs: { args: ["i64"], returns: "i64" },
    getpid: { returns: "i32" },
    qsort: { args: ["ptr", "usize", "usize", "function"] },
    atoi: { args: ["cstring"], returns: "int" },
    toupper: { args: ["int"], returns: "int" },
    snprintf: { args: ["ptr", "usize", "cstring", "i32"], returns: "i32" }, // fixed-arity use of a variadic
  });
  const c = libc.symbols;
  try {
    assert.equal(c.strlen("hello, world"), 12n);
    assert.equal(c.strlen(""), 0n);
    assert.equal(c.strlen("日本語"), 9n);
    assert.equal(c.abs(-42), 42);
    assert.equal(c.abs(-2147483647), 2147483647);
    assert.equal(c.labs(-(2n ** 62n)), 2n ** 62n);
    assert.equal(c.getpid(), process.pid);
    assert.equal(c.atoi("  -123xyz"), -123);
    assert.equal(String.fromCharCode(c.toupper("q".charCodeAt(0))), "Q");

    const values = Int32Array.from({ length: 500 }, (_, i) => ((i * 7919) % 1009) - 500);
    let calls = 0;
    const cmp = new JSCallback((a, b) => {
      calls++;
      const x = read.i32(a), y = read.i32(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }, { args: ["ptr", "ptr"], returns: "i32" });
    c.qsort(values, values.length, 4, cmp);
    cmp.close();
    assert.ok(calls > 500);
    assert.deepEqual([...values], [...values].sort((a, b) => a - b));

    // Sorting doubles descending through a comparator that reads f64.
    const dbl = new Float64Array([3.5, -1, 1e10, 0, 2.25]);
    const desc = new JSCallback((a, b) => Math.sign(read.f64(b) - read.f64(a)), { args: ["ptr", "ptr"], returns: "i32" });
    c.qsort(dbl, dbl.length, 8, desc);
    desc.close();
    assert.deepEqual([...dbl], [1e10, 3.5, 2.25, 0, -1]);

    const out = Buffer.alloc(32);
    assert.equal(c.snprintf(out, 32, "n=%d!", 77), 5);
    assert.equal(CString(cffi.ptr(out)), "n=77!");
  } finally {
    libc.close();
  }
});

test("libm: cos, pow, floor, fabsf", () => {
  const libm = dlopen("libm.so.6", {
    cos: { args: ["f64"], returns: "f64" },
    pow: { args: ["f64", "f64"], returns: "f64" },
    floor: { args: ["double"], returns: "double" },
    fabsf: { args: ["f32"], returns: "f32" },
    sqrtf: { args: ["float"], returns: "float" },
    ldexp: { args: ["f64", "i32"], returns: "f64" },
  });
  const m = libm.symbols;
  try {
    assert.equal(m.cos(0), 1);
    assert.equal(m.cos(Math.PI), -1);
    assert.ok(Math.abs(m.cos(1) - Math.cos(1)) < 1e-15);
    assert.equal(m.pow(2, 10), 1024);
    assert.equal(m.pow(2, 0.5), Math.SQRT2);
    assert.equal(m.pow(-8, 1 / 3) !== m.pow(-8, 1 / 3), true, "NaN");
    assert.equal(m.floor(-2.5), -3);
    assert.ok(Object.is(m.floor(-0), -0));
    assert.equal(m.floor(Infinity), Infinity);
    assert.equal(m.fabsf(-1.1), Math.fround(1.1));
    assert.equal(m.sqrtf(2), Math.fround(Math.SQRT2));
    assert.equal(m.ldexp(1, 1023) * 2, Infinity);
    assert.equal(m.ldexp(3, -2), 0.75);
  } finally {
    libm.close();
  }
});

test("libz: crc32, compressBound, zlibVersion, compress/uncompress", () => {
  const libz = dlopen("libz.so.1", {
    crc32: { args: ["u64", "ptr", "u32"], returns: "u64" },
    adler32: { args: ["u64", "buffer", "buffer_length"], returns: "u64" },
    compressBound: { args: ["u64"], returns: "u64_fast" },
    zlibVersion: { returns: "cstring" },
    compress: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i32" },
    uncompress: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i32" },
  });
  const z = libz.symbols;
  try {
    const data = Buffer.from("hello world");
    assert.equal(z.crc32(0, data, data.length), 0x0d4a1185n);
    assert.equal(z.crc32(0n, null, 0), 0n);
    const fox = Buffer.from("The quick brown fox jumps over the lazy dog");
    assert.equal(z.crc32(0, fox, fox.length), 0x414fa339n);
    // Incremental: crc of the second half continues from the first.
    const part = z.crc32(0, fox.subarray(0, 10), 10);
    assert.equal(z.crc32(part, fox.subarray(10), fox.length - 10), 0x414fa339n);
    assert.equal(z.adler32(1, fox, fox), 0x5bdc0fdan);
    for (const n of [0, 1, 1000, 1 << 20]) {
      assert.equal(z.compressBound(n), n + (n >> 12) + (n >> 14) + (n >> 25) + 13);
    }
    assert.match(z.zlibVersion(), /^1\.\d+\.\d+/);
    const src = Buffer.from("abcabcabc".repeat(1000));
    const dst = Buffer.alloc(z.compressBound(src.length));
    const dstLen = new BigUint64Array([BigInt(dst.length)]);
    assert.equal(z.compress(dst, dstLen, src, src.length), 0);
    assert.ok(dstLen[0] < 200n, `compressed to ${dstLen[0]} bytes`);
    const back = Buffer.alloc(src.length);
    const backLen = new BigUint64Array([BigInt(back.length)]);
    assert.equal(z.uncompress(back, backLen, dst, dstLen[0]), 0);
    assert.equal(backLen[0], BigInt(src.length));
    assert.ok(back.equals(src));
  } finally {
    libz.close();
  }
});

test("libsqlite3: version, :memory: database, exec with a row callback", () => {
  const sq = dlopen(`libsqlite3.${suffix}.0`, {
    sqlite3_libversion: { returns: "cstring" },
    sqlite3_libversion_number: { returns: "i32" },
    sqlite3_open: { args: ["cstring", "ptr"], returns: "i32" },
    sqlite3_exec: { args: ["ptr", "cstring", "function", "ptr", "ptr"], returns: "i32" },
    sqlite3_errmsg: { args: ["ptr"], returns: "cstring" },
    sqlite3_free: { args: ["ptr"] },
    sqlite3_close: { args: ["ptr"], returns: "i32" },
  });
  const s = sq.symbols;
  try {
    const version = s.sqlite3_libversion();
    assert.match(version, /^3\.\d+\.\d+$/);
    const [maj, min, pat] = version.split(".").map(Number);
    assert.equal(s.sqlite3_libversion_number(), maj * 1000000 + min * 1000 + pat);

    const pdb = new BigUint64Array(1);
    assert.equal(s.sqlite3_open(":memory:", pdb), 0);
    const db = pdb[0];
    assert.ok(db > 0n);
    const exec = (sql, cb = null) => {
      const err = new BigUint64Array(1);
      const rc = s.sqlite3_exec(db, sql, cb, null, err);
      if (err[0]) {
        const msg = CString(err[0]);
        s.sqlite3_free(err[0]);
        return { rc, msg };
      }
      return { rc };
    };
    assert.equal(exec("CREATE TABLE t (id INTEGER, name TEXT, score REAL)").rc, 0);
    assert.equal(exec("INSERT INTO t VALUES (1, 'ann', 1.5), (2, 'bob', NULL), (3, 'çé😀', -2)").rc, 0);
    const rows = [];
    const onRow = new JSCallback((ctx, n, values, names) => {
      assert.equal(ctx, null);
      const row = {};
      for (let i = 0; i < n; i++) {
        const name = CString(read.ptr(names, i * 8));
        const v = read.ptr(values, i * 8);
        row[name] = v ? CString(v) : null;
      }
      rows.push(row);
      return 0;
    }, { args: ["ptr", "i32", "ptr", "ptr"], returns: "i32" });
    assert.equal(exec("SELECT id, name, score FROM t ORDER BY id", onRow).rc, 0);
    assert.deepEqual(rows, [
      { id: "1", name: "ann", score: "1.5" },
      { id: "2", name: "bob", score: null },
      { id: "3", name: "çé😀", score: "-2.0" },
    ]);
    // A non-zero result from the callback aborts the query (SQLITE_ABORT = 4).
    const stop = new JSCallback(() => 1, { args: ["ptr", "i32", "ptr", "ptr"], returns: "i32" });
    assert.equal(exec("SELECT * FROM t", stop).rc, 4);
    stop.close();
    // A callback that throws: sqlite sees 0 (continue) and the exception reaches the caller.
    const boom = new JSCallback(() => { throw new Error("row boom"); }, { args: ["ptr", "i32", "ptr", "ptr"], returns: "i32" });
    assert.throws(() => exec("SELECT * FROM t", boom), { message: "row boom" });
    boom.close();
    const bad = exec("SELEKT nonsense");
    assert.equal(bad.rc, 1);
    assert.match(bad.msg, /syntax error/);
    assert.match(s.sqlite3_errmsg(db), /syntax error/);
    onRow.close();
    assert.equal(s.sqlite3_close(db), 0);
  } finally {
    sq.close();
  }
});
