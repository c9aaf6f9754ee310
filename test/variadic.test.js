// variadic.test.js: SPEC §17.5 variadic functions, on the call path this run uses: libc's
// snprintf (ints, doubles, strings, pointers, long long, doubles past the registers, no
// variable arguments at all), printf's count (in a child process, whose stdout is checked),
// open(path, flags, mode); test/fixtures/variadic.c's walk() reading 20 mixed va_arg
// arguments (int, double, long long, string, pointer, JSCallback; the stack overflow area
// included), also with .async, against the hash gcc-compiled C computes for the same call,
// and promo() showing the default argument promotions; the same C symbol declared under
// several keys ({ name }) and via ptr; the definition errors.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { fixtures, cffiPath, expectTypeError, expectError } = require("./helpers.js");
const cffi = require(cffiPath);
const { dlopen, linkSymbols, CFunction, JSCallback, CString, ptr } = cffi;

const FMT = ["ptr", "usize", "cstring"]; // snprintf(char *buf, size_t n, const char *fmt, ...)

// snprintf into a fresh buffer through `fn`; returns [return value, text].
function format(fn, ...args) {
  const buf = Buffer.alloc(256);
  const n = fn(buf, buf.length, ...args);
  return [n, CString(ptr(buf))];
}

test("variadic: snprintf with int, double, string, pointer, long long, unsigned, promoted char", () => {
  const { symbols: c, close } = dlopen(null, {
    snprintf: { args: [...FMT, "...", "i32", "f64", "cstring", "ptr", "i64", "u32", "i8"], returns: "i32" },
    snprintf10: { name: "snprintf", args: [...FMT, "...", ...Array(10).fill("f64"), "i32", "cstring"], returns: "i32" },
    snprintf0: { name: "snprintf", args: [...FMT, "..."], returns: "i32" },
  });
  try {
    const want = "-42|3.142|héllo|0xdeadbeef|-9007199254740993|4000000000|A";
    assert.deepEqual(format(c.snprintf, "%d|%.3f|%s|%p|%lld|%u|%c", -42, 3.14159, "héllo", 0xdeadbeef,
      -9007199254740993n, 4000000000, 65), [Buffer.byteLength(want), want]);
    // ten doubles: more than the eight floating-point argument registers
    const ds = [0.5, -1.25, 2, 3.75, 1e10, -0.001, 7, 8.5, 9.25, -10];
    const want10 = "0.5 -1.25 2 3.75 1e+10 -0.001 7 8.5 9.25 -10 77 end";
    assert.deepEqual(format(c.snprintf10, "%g %g %g %g %g %g %g %g %g %g %d %s", ...ds, 77, "end"),
      [Buffer.byteLength(want10), want10]);
    assert.deepEqual(format(c.snprintf0, "no arguments"), [12, "no arguments"]);
  } finally {
    close();
  }
});

test("variadic: printf returns the number of bytes it wrote to stdout", () => {
  const r = spawnSync(process.execPath, ["-e", `
    const { dlopen } = require(${JSON.stringify(cffiPath)});
    const { symbols: c } = dlopen(null, {
      printf: { args: ["cstring", "...", "i32", "f64", "cstring"], returns: "i32" },
      fflush: { args: ["ptr"], returns: "i32" },
    });
    const n = c.printf("%d %.2f %s\\n", 7, 2.5, "ok");
    c.fflush(null);
    process.stderr.write(String(n));`], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "7 2.50 ok\n");
  assert.equal(r.stderr, "10");
});

test("variadic: open(path, O_CREAT | O_WRONLY, 0640) creates the file with that mode", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cffi-variadic-"));
  const { symbols: c, close } = dlopen(null, { open: { args: ["cstring", "i32", "...", "u32"], returns: "i32" } });
  const mask = process.umask(0o022);
  try {
    for (const mode of [0o640, 0o600]) {
      const file = path.join(dir, `f${mode.toString(8)}`);
      const fd = c.open(file, fs.constants.O_CREAT | fs.constants.O_WRONLY, mode);
      assert.ok(fd >= 0, `open returned ${fd}, errno ${cffi.errno()}`);
      try {
        assert.equal(fs.fstatSync(fd).mode & 0o777, mode);
        assert.equal(fs.statSync(file).mode & 0o777, mode);
      } finally {
        fs.closeSync(fd);
      }
    }
  } finally {
    process.umask(mask);
    close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// The value of variable argument i of each kind, as test/fixtures/variadic.c's V* macros.
const KIND = { i: "i32", d: "f64", l: "i64", s: "cstring", p: "ptr", f: "function" };
const VALUE = {
  i: (i) => i * 7919 - 50000,
  d: (i) => (i - 7) / 3,
  l: (i) => BigInt(i + 1) * -0x123456789abcdn,
  s: (i) => `s${i}é`,
  p: (i) => 0x10000 + i * 0x1111,
  f: () => VF, // a JSCallback computing VF(i) = 3i - 100, called by C with the index
};
let VF;
const PATTERNS = { mixed: "idlsidlsidlsidlsidls", doubles: "dddddddddddddddddddd", ptrs: "pdlipdlipdlipdlipdli",
  calls: "fidlfidlfidlfidlfidl" };
const walkDefs = () => {
  const defs = {};
  for (const [k, fmt] of Object.entries(PATTERNS)) {
    defs[`walk_${k}`] = { name: "walk", args: ["cstring", "...", ...[...fmt].map((ch) => KIND[ch])], returns: "u64" };
    defs[`walk_expect_${k}`] = { returns: "u64" };
  }
  return defs;
};
const walkArgs = (fmt) => [...fmt].map((ch, i) => VALUE[ch](i));

test("variadic: 20 mixed va_arg arguments (registers and stack) hash as in gcc-compiled C", async () => {
  const { symbols: s, close } = dlopen(fixtures.variadic, walkDefs());
  VF = new JSCallback((i) => 3 * i - 100, { args: ["i32"], returns: "i32" });
  try {
    for (const [k, fmt] of Object.entries(PATTERNS)) {
      const want = s[`walk_expect_${k}`]();
      assert.equal(s[`walk_${k}`](fmt, ...walkArgs(fmt)), want, `walk("${fmt}", ...)`);
      assert.equal(await s[`walk_${k}`].async(fmt, ...walkArgs(fmt)), want, `walk("${fmt}", ...).async`);
    }
    assert.equal(s.walk_mixed.ptr, s.walk_doubles.ptr);
  } finally {
    VF.close();
    close();
  }
});

test("variadic: the same symbol declared again via ptr (linkSymbols, CFunction)", () => {
  const { symbols: s, close } = dlopen(fixtures.variadic, walkDefs());
  const fmt = PATTERNS.ptrs;
  const args = ["cstring", "...", ...[...fmt].map((ch) => KIND[ch])];
  const linked = linkSymbols({ w: { ptr: s.walk_mixed.ptr, args, returns: "u64" } });
  const fn = CFunction({ ptr: s.walk_mixed.ptr, args, returns: "u64" });
  try {
    const want = s.walk_expect_ptrs();
    assert.equal(linked.symbols.w(fmt, ...walkArgs(fmt)), want);
    assert.equal(fn(fmt, ...walkArgs(fmt)), want);
  } finally {
    fn.close();
    linked.close();
    close();
  }
});

// (on arm64 the variable arguments from the 8th on go on the stack, where TinyCC left small
// integers at their own width until the JIT cast them to int itself)
test("variadic: i8 u8 i16 u16 char bool after ... pass as int (default argument promotions)", () => {
  const types = ["u8", "i16", "bool", "i8", "char", "u16"];
  const { symbols: s, close } = dlopen(fixtures.variadic, {
    promo: { args: ["i32", "...", ...types, ...types], returns: "i32" },
    promo_get: { args: ["i32"], returns: "i32" },
  });
  try {
    const vals = [300, -40000, 5, -1, 200, 70000, 255, 32767, 0, -128, -1, 65535];
    assert.equal(s.promo(12, ...vals), 12);
    const seen = vals.map((_, i) => s.promo_get(i));
    assert.deepEqual(seen, [44, 25536, 1, -1, -56, 4464, 255, 32767, 0, -128, -1, 65535]);
  } finally {
    close();
  }
});

test("variadic: definition errors", () => {
  const floatMsg = "float is promoted to double in variadic arguments; declare f64";
  expectTypeError(() => dlopen(null, { snprintf: { args: [...FMT, "...", "f32"], returns: "i32" } }), floatMsg);
  expectTypeError(() => dlopen(null, { snprintf: { args: [...FMT, "...", "i32", "float"], returns: "i32" } }), floatMsg);
  const p = dlopen(null, { snprintf: { args: [...FMT, "...", "i32"], returns: "i32" } });
  try {
    const at = p.symbols.snprintf.ptr;
    expectTypeError(() => CFunction({ ptr: at, args: [...FMT, "...", "f32"], returns: "i32" }), floatMsg);
    expectTypeError(() => linkSymbols({ f: { ptr: at, args: [...FMT, "...", 10], returns: "i32" } }), floatMsg);
    // "..." needs a fixed argument before it, and has no meaning in returns or callbacks
    expectError(TypeError, () => CFunction({ ptr: at, args: ["...", "i32"], returns: "i32" }));
    expectError(TypeError, () => dlopen(null, { snprintf: { args: ["...", "ptr"], returns: "i32" } }));
    expectError(TypeError, () => CFunction({ ptr: at, args: ["i32"], returns: "..." }));
    expectError(TypeError, () => new JSCallback(() => 0, { args: ["i32", "...", "i32"], returns: "i32" }));
    expectError(TypeError, () => new JSCallback(() => 0, { args: ["i32"], returns: "..." }));
  } finally {
    p.close();
  }
});
