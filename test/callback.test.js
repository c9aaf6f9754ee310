// callback.test.js: SPEC §8 and §8.2 on the JS thread (no other threads): JSCallback
// construction errors, every type in and out, exceptions (rethrown to the JS caller of the
// innermost call, first one wins, a result conversion error counts), Symbol.toPrimitive,
// close semantics and lifetime, and callbacks re-entering cffi during a call.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { fixtures, cffiPath, cffiDir, expectTypeError, collect, jit, mappedFileOf } = require("./helpers.js");
const cffi = require(cffiPath);
const { dlopen, JSCallback } = cffi;

const TYPES = ["char", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64", "bool", "ptr", "fn"];
const FFI_NAME = { fn: "function" };
const defs = {};
for (const t of TYPES) {
  const ft = FFI_NAME[t] || t;
  defs[`call_${t}`] = { args: ["function", ft], returns: ft };
  defs[`get_last_${t}`] = { returns: ft };
  defs[`set_last_${t}`] = { args: [ft] };
}
Object.assign(defs, {
  call_with_cstring: { args: ["function", "cstring"], returns: "i32" },
  call_with_hello: { args: ["function"], returns: "i32" },
  call_with_invalid_utf8: { args: ["function"], returns: "i32" },
  call_with_null_cstring: { args: ["function"], returns: "i32" },
  call_with_volatile_cstring: { args: ["function"], returns: "i32" },
  call_void: { args: ["function"] },
  get_void_calls: { returns: "i32" },
  call_void_n: { args: ["function", "i32"] },
  call_twice: { args: ["function"], returns: "i32" },
  call_twice_counted: { args: ["function"], returns: "i32" },
  get_after_calls: { returns: "i32" },
  call_mixed34: { args: ["function"], returns: "f64" },
  call_limits: { args: ["function"], returns: "i32" },
  outer_i64: { args: ["i64", "i64", "function", "f64", "i32"], returns: "i64" },
  outer_f64: { args: ["f64", "function", "f64", "f32"], returns: "f64" },
  nest: { args: ["function", "i32"], returns: "i32" },
  outer_void_cb: { args: ["function", "i32"], returns: "i32" },
  many_i64: { args: Array(40).fill("i64"), returns: "u64" },
  many_f64: { args: Array(40).fill("f64"), returns: "f64" },
  add_i32: { args: ["i32", "i32"], returns: "i32" },
  add_f64: { args: ["f64", "f64"], returns: "f64" },
  hello: { returns: "cstring" },
  echo_cstring: { args: ["cstring"], returns: "cstring" },
  id_u64: { args: ["u64"], returns: "u64" },
  id_i64_fast: { args: ["i64_fast"], returns: "i64_fast" },
});
const lib = dlopen(fixtures.basic, defs);
const S = lib.symbols;

// Makes a callback, runs body(cb), closes it.
function withCb(fn, def, body) {
  const cb = new JSCallback(fn, def);
  try {
    return body(cb);
  } finally {
    cb.close();
  }
}

// ---- construction ----------------------------------------------------------------------------

test("JSCallback: construction errors", () => {
  for (const d of [undefined, null, 5, "i32"]) expectTypeError(() => new JSCallback(() => {}, d), "Expected object");
  for (const f of [undefined, null, 5, "f", {}]) expectTypeError(() => new JSCallback(f, {}), "Expected callback function");
  expectTypeError(() => JSCallback(() => {}, {}), "Class constructor JSCallback cannot be invoked without 'new'");
  expectTypeError(() => new JSCallback(() => {}, { args: "i32" }), 'Expected an object with "args" as an array');
  expectTypeError(() => new JSCallback(() => {}, { returns: "nope" }), "Unknown return type nope", "ERR_INVALID_ARG_VALUE");
});

// `new JSCallback` has the native side read declarations of the usual kind (src/decl.c) and
// leaves the others, errors included, to lib/types.js: whatever it reads, it must read as
// readSignature does, and it must take every name and number readSignature takes.
test("JSCallback: the native reader of declarations agrees with readSignature or leaves the declaration to it", () => {
  const { binding } = require(`${cffiDir}/lib/abi.js`);
  const { readSignature, FFIType } = require(`${cffiDir}/lib/types.js`);
  const point = cffi.struct({ x: "i32", y: "i32" });
  const values = [...Object.keys(FFIType), "size_t", "...", "i32\0", "I32", "", " i32", "buffer_length_", "x".repeat(40),
    "i32€", "buffer_length€", "buffer_length😀", "i32" + "€".repeat(9), "€".repeat(9), ...Array.from({ length: 25 }, (_, i) => i - 1), -0, 1.5, NaN, Infinity, 5n, null, true, {}, [], point];
  const read = (def) => {
    try {
      return readSignature(def, "callback");
    } catch {
      return "throws";
    }
  };
  let taken = 0;
  const check = (def, label) => {
    const js = read(def);
    const native = binding.later().declSig(def.args, def.returns);
    if (native === undefined) {
      // declined: only what readSignature refuses, or a layout (whose codec is JS)
      assert.ok(js === "throws" || def.returns === point || (def.args ?? []).includes(point), `${label}: declined`);
      return;
    }
    taken++;
    assert.notEqual(js, "throws", `${label}: readSignature refuses it`);
    const zero = (t) => t + 0; // readSignature keeps an FFIType number -0 as it was given
    assert.deepEqual(native, { args: js.args.map(zero), returns: zero(js.returns) }, label);
  };
  for (const v of values) {
    check({ args: [v], returns: "void" }, `argument ${String(v)}`);
    check({ args: ["i32", v, "ptr"] }, `second argument ${String(v)}`);
    check({ returns: v }, `result ${String(v)}`);
  }
  for (const def of [{}, { args: undefined }, { args: [] }, { args: "i32" }, { args: { length: 1, 0: "i32" } },
    { args: Array(64).fill("u8") }, { args: Array(65).fill("u8") }, { args: ["i32", "..."] }, { args: [, "i32"] }]) {
    check(def, JSON.stringify(def));
  }
  assert.ok(taken > 100, `the native reader took ${taken} declarations`);
  // every valid name and number is taken
  for (const v of [...Object.keys(FFIType).filter((k) => !/^\d/.test(k)), "size_t", ...Array.from({ length: 18 }, (_, i) => i)]) {
    if (read({ args: [v] }) !== "throws") assert.notEqual(binding.later().declSig([v], undefined), undefined, `argument ${v}`);
    if (read({ returns: v }) !== "throws") assert.notEqual(binding.later().declSig(undefined, v), undefined, `result ${v}`);
  }
  // a getter that throws throws from `new JSCallback`, as from readSignature
  const boom = { get args() { throw new RangeError("boom"); } };
  assert.throws(() => new JSCallback(() => {}, boom), /boom/);
});

test("JSCallback: instance shape, defaults, toPrimitive, close", () => {
  const cb = new JSCallback(() => {}, {});
  assert.ok(cb instanceof JSCallback);
  assert.equal(typeof cb.ptr, "number");
  assert.ok(cb.ptr > 0);
  assert.equal(cb.threadsafe, false);
  assert.equal(+cb, cb.ptr, "Symbol.toPrimitive → ptr");
  assert.equal(cb[Symbol.toPrimitive](), cb.ptr);
  assert.equal(S.call_void(cb), undefined, "args [] and returns void by default");
  assert.equal(cb.close(), undefined);
  assert.equal(cb.ptr, null, "ptr is null after close");
  assert.equal(cb[Symbol.toPrimitive](), 0, "toPrimitive is 0 when closed");
  assert.equal(+cb, 0);
  cb.close();
  cb.close();
  const ts = new JSCallback(() => {}, { threadsafe: true });
  assert.equal(ts.threadsafe, true);
  // `threadsafe` is any value, taken as !!value
  for (const v of [undefined, null, false, 0, -0, NaN, "", 0n, true, 1, "no", {}, [], 1n, Symbol("x"), () => {}]) {
    const cb = new JSCallback(() => {}, { returns: "void", threadsafe: v });
    assert.equal(cb.threadsafe, !!v, `threadsafe: ${String(v)}`);
    cb.close();
  }
  ts.close();
  const cbs = Array.from({ length: 50 }, () => new JSCallback(() => 1, { returns: "i32" }));
  assert.equal(new Set(cbs.map((c) => c.ptr)).size, 50, "distinct pointers");
  for (const c of cbs) c.close();
});

test("JSCallback behaves as a class: prototype methods not enumerable, subclasses, foreign `this`", () => {
  assert.deepEqual(Object.keys(JSCallback.prototype), []);
  assert.equal(Object.getOwnPropertyDescriptor(JSCallback, "prototype").writable, false);
  class Counted extends JSCallback {
    constructor(fn, def) {
      super(fn, def);
      this.made = true;
    }
  }
  const cb = new Counted((x) => x + 1, { args: ["i32"], returns: "i32" });
  assert.ok(cb instanceof Counted && cb instanceof JSCallback);
  assert.deepEqual(Object.keys(cb), ["ptr", "threadsafe", "made"]);
  assert.equal(S.call_i32(cb, 41), 42);
  cb.close();
  assert.equal(cb.ptr, null);
  // close() and the other methods work on JSCallbacks only (a class's private field would refuse too)
  for (const other of [{}, { ptr: 5 }, Object.create(JSCallback.prototype), null, 1]) {
    expectTypeError(() => JSCallback.prototype.close.call(other), "JSCallback.prototype.close called on an object that is not a JSCallback");
  }
});

test("JSCallback: Symbol.dispose closes it (where the runtime has Symbol.dispose)", (t) => {
  if (typeof Symbol.dispose !== "symbol") return t.skip("no Symbol.dispose in this Node");
  const cb = new JSCallback(() => {}, {});
  cb[Symbol.dispose]();
  assert.equal(cb.ptr, null);
});

test("JSCallback: fn stays alive until close(), then is collectable", async () => {
  let collected = 0;
  const reg = new FinalizationRegistry(() => { collected++; });
  let cb;
  (() => {
    const fn = (x) => x + 1;
    reg.register(fn, "fn");
    cb = new JSCallback(fn, { args: ["i32"], returns: "i32" });
  })();
  await collect(5);
  assert.equal(collected, 0, "fn kept alive by the open JSCallback");
  assert.equal(S.call_i32(cb, 41), 42);
  cb.close();
  await collect(5);
  assert.equal(collected, 1, "fn released after close()");
});

test("JSCallback: fn of a failed construction is collectable", async () => {
  let collected = 0;
  const reg = new FinalizationRegistry(() => { collected++; });
  (() => {
    const fn = () => 0;
    reg.register(fn, "fn");
    assert.throws(() => new JSCallback(fn, { args: ["nope"] }));
  })();
  await collect(5);
  assert.equal(collected, 1);
});

// ---- every type in and out ---------------------------------------------------------------------

// [type, value C passes, what JS receives, what JS returns, what C gets back (as JS reads it)]
const ROUND = [
  ["char", -5, -5, 100, 100],
  ["char", 200, -56, 300, 44],
  ["i8", -128, -128, 127, 127],
  ["i8", 127, 127, 129, -127],
  ["u8", 255, 255, -1, 255],
  ["i16", -32768, -32768, 40000, -25536],
  ["u16", 65535, 65535, 65536, 0],
  ["i32", -2147483648, -2147483648, 2 ** 31, -2147483648],
  ["i32", 7, 7, -3.9, -3],
  ["u32", 4294967295, 4294967295, -1, 4294967295],
  ["u32", 2 ** 31, 2 ** 31, 5e9, 705032704],
  ["i64", -(2n ** 63n), -(2n ** 63n), 5, 5n],
  ["i64", 1n, 1n, 2n ** 63n, -(2n ** 63n)],
  ["i64", 0n, 0n, -5.7, -5n],
  ["u64", 2n ** 64n - 1n, 2n ** 64n - 1n, -1n, 2n ** 64n - 1n],
  ["u64", 3n, 3n, 1n << 64n, 0n],
  ["f32", 0.1, Math.fround(0.1), 0.2, Math.fround(0.2)],
  ["f32", 1e40, Infinity, 1e40, Infinity],
  ["f64", Math.PI, Math.PI, -0.5, -0.5],
  ["f64", 2 ** 60, 2 ** 60, 2n ** 1024n, Infinity],
  ["bool", true, true, 0, false],
  ["bool", false, false, "yes", true],
  ["ptr", 4096, 4096, 8192, 8192],
  ["ptr", null, null, 0, null],
  ["ptr", 2n ** 63n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n - 1n],
  ["ptr", 2 ** 52, 2 ** 52, 2n ** 53n, 2n ** 53n],
  ["fn", 4096, 4096, 12288, 12288],
  ["fn", null, null, null, null],
];

for (const [t, cIn, jsSees, jsRet, cGets] of ROUND) {
  test(`callback ${t}: receives ${String(cIn)} as ${String(jsSees)}, returns ${String(jsRet)} → ${String(cGets)}`, () => {
    const ft = FFI_NAME[t] || t;
    let seen;
    const r = withCb((x) => { seen = x; return jsRet; }, { args: [ft], returns: ft }, (cb) => S[`call_${t}`](cb, cIn));
    if (typeof jsSees === "number" && Number.isNaN(jsSees)) assert.ok(Number.isNaN(seen));
    else assert.equal(seen, jsSees);
    assert.equal(typeof seen, typeof jsSees === "object" ? "object" : typeof jsSees);
    assert.equal(r, cGets);
    assert.equal(S[`get_last_${t}`](), cGets);
  });
}

test("callback u32 argument never negative; i64/u64 arguments are always BigInt", () => {
  withCb((x) => { assert.equal(x, 4294967295); return x; }, { args: ["u32"], returns: "u32" }, (cb) => S.call_u32(cb, -1));
  withCb((x) => { assert.equal(typeof x, "bigint"); return x; }, { args: ["i64"], returns: "i64" }, (cb) => S.call_i64(cb, 0));
  withCb((x) => { assert.equal(typeof x, "bigint"); return x; }, { args: ["u64"], returns: "u64" }, (cb) => S.call_u64(cb, 1));
});

test("callback i64_fast/u64_fast arguments: number when safe, else BigInt", () => {
  const got = [];
  withCb((x) => { got.push(x); return x; }, { args: ["i64_fast"], returns: "i64_fast" }, (cb) => {
    assert.equal(S.call_i64(cb, 5n), 5n);
    assert.equal(S.call_i64(cb, 2n ** 60n), 2n ** 60n);
    assert.equal(S.call_i64(cb, -(2n ** 53n) + 1n), -(2n ** 53n) + 1n);
  });
  assert.deepEqual(got, [5, 2n ** 60n, -(2 ** 53) + 1]);
  got.length = 0;
  withCb((x) => { got.push(x); return x; }, { args: ["u64_fast"], returns: "u64_fast" }, (cb) => {
    assert.equal(S.call_u64(cb, 2n ** 64n - 1n), 2n ** 64n - 1n);
    assert.equal(S.call_u64(cb, 9n), 9n);
  });
  assert.deepEqual(got, [2n ** 64n - 1n, 9]);
});

test("callback receiving limit values of every kind (15 arguments)", () => {
  let got;
  const def = { args: ["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "i64_fast", "u64_fast", "f32", "f64", "bool", "ptr", "char"], returns: "i32" };
  const r = withCb((...a) => { got = a; return 99; }, def, (cb) => S.call_limits(cb));
  assert.equal(r, 99);
  assert.deepEqual(got.slice(0, 10), [-128, 255, -32768, 65535, -2147483648, 4294967295, -(2n ** 63n), 2n ** 64n - 1n,
    2 ** 53 - 1, 2n ** 53n]);
  assert.equal(got[10], Math.fround(0.1));
  assert.ok(Object.is(got[11], -0), "-0.0 kept");
  assert.equal(got[12], true);
  assert.equal(got[13], 0xFFFFFFFFFFFFFFF0n);
  assert.equal(got[14], -1);
});

test("callback with 34 mixed arguments (stack-passed, integer and floating)", () => {
  const kinds = ["i32", "f64", "i64", "f32", "u8", "f64", "u32", "i16"];
  const args = Array.from({ length: 34 }, (_, k) => kinds[k % 8]);
  let got;
  const r = withCb((...a) => { got = a; return a.reduce((s, v, k) => s + (k + 1) * Number(v), 0); },
    { args, returns: "f64" }, (cb) => S.call_mixed34(cb));
  const want = args.map((t, k) => (["f64", "f32"].includes(t) ? k + 1.5 : t === "i64" ? BigInt(k + 1) : k + 1));
  assert.deepEqual(got, want);
  assert.equal(r, want.reduce((s, v, k) => s + (k + 1) * Number(v), 0));
});

test("callback cstring arguments: copied when C calls; UTF-8; NULL → null", () => {
  let seen;
  const def = { args: ["cstring"], returns: "i32" };
  withCb((s) => { seen = s; return s === null ? -1 : s.length; }, def, (cb) => {
    assert.equal(S.call_with_hello(cb), 12);
    assert.equal(seen, "hello from C");
    assert.equal(typeof seen, "string");
    assert.equal(S.call_with_cstring(cb, "héllo 😀"), 8);
    assert.equal(seen, "héllo 😀");
    assert.equal(S.call_with_invalid_utf8(cb), 3);
    assert.equal(seen, "x\uFFFDy");
    assert.equal(S.call_with_null_cstring(cb), -1);
    assert.equal(seen, null);
    S.call_with_volatile_cstring(cb);
  });
  assert.equal(seen, "volatile", "the text was copied when C called");
});

test("callback results convert as arguments do: undefined, null, BigInt, booleans", () => {
  const run = (t, ret) => withCb(() => ret, { args: [FFI_NAME[t] || t], returns: FFI_NAME[t] || t }, (cb) => S[`call_${t}`](cb, 0));
  assert.equal(run("i32", undefined), 0);
  assert.equal(run("i32", null), 0);
  assert.equal(run("i32", 2n ** 32n + 5n), 5);
  assert.ok(Number.isNaN(run("f64", undefined)), "undefined → NaN for f64");
  assert.ok(Number.isNaN(run("f32", undefined)), "undefined → NaN for f32");
  assert.equal(run("f64", null), 0);
  assert.equal(run("f64", 3n), 3);
  assert.equal(run("u64", undefined), 0n);
  assert.equal(run("ptr", undefined), null);
  assert.equal(run("ptr", false), null);
  assert.equal(run("bool", undefined), false);
  assert.equal(run("bool", {}), true);
  const buf = new Uint8Array(8);
  assert.equal(run("ptr", buf), cffi.ptr(buf), "a view returned as ptr passes its address");
});

test("void callback: return value ignored; C continues", () => {
  const before = S.get_void_calls();
  let n = 0;
  withCb(() => { n++; return 42; }, { returns: "void" }, (cb) => {
    assert.equal(S.call_void(cb), undefined);
    S.call_void_n(cb, 1000);
  });
  assert.equal(n, 1001);
  assert.equal(S.get_void_calls(), before + 1);
});

// ---- exceptions ----------------------------------------------------------------------------

test("a throwing callback: C gets zero, the JS caller gets the exception", () => {
  for (const [t, init] of [["i32", 5], ["u8", 5], ["i64", 5n], ["u64", 5n], ["f64", 5.5], ["f32", 5.5], ["bool", true], ["ptr", 4096], ["char", 5], ["fn", 4096]]) {
    const ft = FFI_NAME[t] || t;
    S[`set_last_${t}`](init);
    const err = new Error(`boom ${t}`);
    withCb(() => { throw err; }, { args: [ft], returns: ft }, (cb) => {
      assert.throws(() => S[`call_${t}`](cb, init), (e) => e === err, `${t}: the same exception object`);
    });
    const zeros = { i64: 0n, u64: 0n, bool: false, ptr: null, fn: null };
    const z = t in zeros ? zeros[t] : 0;
    assert.equal(S[`get_last_${t}`](), z, `${t}: C got zero`);
  }
});

test("non-Error thrown values are rethrown as they are", () => {
  for (const v of [42, "str", null, undefined, { a: 1 }]) {
    withCb(() => { throw v; }, { returns: "i32" }, (cb) => {
      let caught = Symbol("none");
      try {
        S.call_i32(cb, 0);
      } catch (e) {
        caught = e;
      }
      assert.equal(caught, v);
    });
  }
});

test("a throwing callback does not stop the C function; first exception wins", () => {
  const before = S.get_after_calls();
  const calls = [];
  withCb((x) => { calls.push(x); throw new Error(`e${x}`); }, { args: ["i32"], returns: "i32" }, (cb) => {
    assert.throws(() => S.call_twice_counted(cb), { message: "e1" });
  });
  assert.deepEqual(calls, [1, 2], "C called the callback twice");
  assert.equal(S.get_after_calls(), before + 2, "the C function ran to the end");
});

test("a callback result that fails to convert counts as a throw", () => {
  S.set_last_i32(9);
  withCb(() => "not a number", { args: ["i32"], returns: "i32" }, (cb) => {
    expectTypeError(() => S.call_i32(cb, 1), /expected a number or BigInt/);
  });
  assert.equal(S.get_last_i32(), 0);
  S.set_last_ptr(4096);
  withCb(() => ({}), { args: ["ptr"], returns: "ptr" }, (cb) => {
    expectTypeError(() => S.call_ptr(cb, 1), /^Unable to convert .* to a pointer$/);
  });
  assert.equal(S.get_last_ptr(), null);
  withCb(() => "s", { args: ["ptr"], returns: "ptr" }, (cb) => {
    expectTypeError(() => S.call_ptr(cb, 1), "To convert a string to a pointer, encode it as a buffer");
  });
  // First wins also between a conversion error and a later throw.
  let n = 0;
  withCb(() => (n++ === 0 ? "bad" : (() => { throw new Error("second"); })()), { args: ["i32"], returns: "i32" }, (cb) => {
    expectTypeError(() => S.call_twice(cb), /expected a number or BigInt/);
  });
});

test("after an exception the next calls work normally", () => {
  let fail = true;
  withCb((x) => { if (fail) throw new Error("x"); return x * 2; }, { args: ["i32"], returns: "i32" }, (cb) => {
    assert.throws(() => S.call_i32(cb, 1));
    fail = false;
    assert.equal(S.call_i32(cb, 21), 42);
    assert.equal(S.add_i32(1, 2), 3);
  });
});

test("exceptions go to the JS caller of the innermost FFI call", () => {
  const inner = new Error("inner");
  let caughtInside;
  const cbB = new JSCallback(() => { throw inner; }, { returns: "void" });
  const cbA = new JSCallback(() => {
    try {
      S.call_void(cbB); // nested FFI call: its callback throws
    } catch (e) {
      caughtInside = e;
    }
    return 5;
  }, { args: ["i32"], returns: "i32" });
  try {
    assert.equal(S.call_i32(cbA, 0), 5, "the outer call is not affected");
    assert.equal(caughtInside, inner, "rethrown inside the callback, to the nested call's caller");
    // If the callback lets it propagate, it becomes the outer callback's exception.
    const cbC = new JSCallback(() => { S.call_void(cbB); return 1; }, { args: ["i32"], returns: "i32" });
    S.set_last_i32(7);
    assert.throws(() => S.call_i32(cbC, 0), (e) => e === inner);
    assert.equal(S.get_last_i32(), 0);
    cbC.close();
  } finally {
    cbA.close();
    cbB.close();
  }
});

// ---- re-entrancy ---------------------------------------------------------------------------

test("re-entering cffi in a callback does not corrupt the outer call's arguments or result", () => {
  const intsA = Array.from({ length: 40 }, (_, k) => BigInt(k * 7 + 1));
  const dblB = Array.from({ length: 40 }, (_, k) => k * 1.25);
  let want40 = 0n;
  intsA.forEach((v, k) => { want40 += BigInt(k + 1) * v; });
  let want40f = 0;
  dblB.forEach((v, k) => { want40f += (k + 1) * v; });
  const cb = new JSCallback((d) => {
    // Many different signatures while the outer call is in flight.
    assert.equal(S.many_i64(...intsA), want40);
    assert.equal(S.many_f64(...dblB), want40f);
    assert.equal(S.add_f64(0.5, 0.25), 0.75);
    assert.equal(S.hello(), "Hello, world!");
    assert.equal(S.echo_cstring("nested"), "nested");
    assert.equal(S.id_u64(-1), 2n ** 64n - 1n);
    assert.equal(S.id_i64_fast(2n ** 60n), 2n ** 60n);
    return d + 1000;
  }, { args: ["i32"], returns: "i32" });
  try {
    for (let i = 0; i < 50; i++) {
      const a = BigInt(i) - 25n, b = 1n << 40n, c = 77.9, d = i * 3;
      const r = S.outer_i64(a, b, cb, c, d);
      assert.equal(r, a * 3n + b * 5n + 77n * 7n + BigInt(d) * 11n + BigInt(d + 1000), `round ${i}`);
      const f = S.outer_f64(1.5, cb, -2.25, 0.5);
      assert.equal(f, 1.5 * 2 + -2.25 * 3 + 0.5 * 4 + 1001);
    }
  } finally {
    cb.close();
  }
});

test("recursive re-entry: C → JS → C → JS … 20 levels", () => {
  let cb;
  cb = new JSCallback((n) => S.nest(cb, n - 1) + 1, { args: ["i32"], returns: "i32" });
  try {
    // nest(n) = n*100 + nest(n-1) + 1, nest(0) = 0
    const want = (n) => (n <= 0 ? 0 : n * 100 + want(n - 1) + 1);
    assert.equal(S.nest(cb, 20), want(20));
    assert.equal(S.nest(cb, 3), 603);
  } finally {
    cb.close();
  }
});

test("a callback may close another callback and create new ones during a call", () => {
  const other = new JSCallback(() => 3, { returns: "i32" });
  const cb = new JSCallback(() => {
    const tmp = new JSCallback((x) => x * 2, { args: ["i32"], returns: "i32" });
    const r = S.call_i32(tmp, 21);
    tmp.close();
    other.close();
    return r;
  }, { returns: "i32" });
  try {
    assert.equal(S.call_i32(cb, 0), 42);
    assert.equal(other.ptr, null);
  } finally {
    cb.close();
  }
});

test("a callback may close itself during its own invocation", () => {
  // Its memory (and compiled trampoline) is freed once the call has returned through it.
  for (let round = 0; round < 3; round++) {
    let cb;
    cb = new JSCallback((x) => { cb.close(); return x + 1; }, { args: ["i32"], returns: "i32" });
    assert.equal(S.call_i32(cb, 41), 42);
    assert.equal(cb.ptr, null);
  }
  assert.equal(S.add_i32(1, 2), 3);
});

test("a callback can be called directly from JS through CFunction", () => {
  withCb((a, b) => a - b, { args: ["f64", "f64"], returns: "f64" }, (cb) => {
    const f = cffi.CFunction({ ptr: cb.ptr, args: ["f64", "f64"], returns: "f64" });
    assert.equal(f(10, 2.5), 7.5);
    f.close();
  });
});

// Direct entries (src/cb_direct.c): on x86-64 and arm64 Linux a callback's address is in
// cffi.node's own code, structs by value included, unless CFFI_JIT=0 (a libffi closure, the
// reference path) or its result is aligned to more than 16 bytes (a closure too).
test("a callback's address: a direct entry in cffi.node's code (x86-64/arm64 Linux), else a libffi closure", (t) => {
  if (process.platform !== "linux" || !["x64", "arm64"].includes(process.arch)) return t.skip("no direct entries here");
  const scalar = new JSCallback((x) => x + 1, { args: ["i32"], returns: "i32" });
  const withStruct = new JSCallback((p) => p.a, { args: [cffi.struct({ a: "i32", b: "f64" })], returns: "i32" });
  // a result aligned to more than 16 bytes: a libffi closure on both paths
  const overAligned = new JSCallback(() => ({ a: 1 }), { returns: cffi.struct({ a: "i32" }, { align: 32 }) });
  const where = (cb) => mappedFileOf(cb.ptr);
  try {
    assert.equal(S.call_i32(scalar, 41), 42);
    assert.equal(where(scalar).endsWith("/cffi.node"), jit, `scalar callback at ${where(scalar)}`);
    assert.equal(where(withStruct).endsWith("/cffi.node"), jit, `struct callback at ${where(withStruct)}`);
    assert.equal(where(overAligned).endsWith("/cffi.node"), false, `over-aligned struct callback at ${where(overAligned)}`);
  } finally {
    scalar.close();
    withStruct.close();
    overAligned.close();
  }
});

// The callbacks that C makes during one FFI call share a handle scope, renewed every 64
// callbacks (src/callback.c): their handles must not pile up over a long C loop (over
// 3,000,000 callbacks the process grew by 36 MB when the scope was never renewed; renewed,
// by ~4 MB), and results stay right.
test("three million callbacks in one FFI call: results right, memory flat", () => {
  let n = 0;
  withCb(() => { n++; }, { returns: "void" }, (cb) => {
    S.call_void_n(cb, 1000);
    const before = process.memoryUsage().rss;
    S.call_void_n(cb, 3_000_000);
    const grown = process.memoryUsage().rss - before;
    assert.equal(n, 3_001_000);
    assert.ok(grown < 14 * 1024 * 1024, `rss grew by ${grown} bytes during the call`);
  });
  withCb((x) => x + 1, { args: ["i32"], returns: "i32" }, (cb) => {
    for (let k = 0; k < 3; k++) assert.equal(S.call_twice(cb), 5);
  });
});

// 1,100: more than cffi.node's 1,024 direct entries (x86-64 and arm64 Linux, src/cb_direct.c),
// so the last ones run through libffi closures (behind stubs on x86-64); closing them all
// makes every entry reusable.
test("many callbacks alive at once, each distinct", () => {
  for (let round = 0; round < 2; round++) {
    const cbs = Array.from({ length: 1100 }, (_, k) => new JSCallback((x) => x + k * 3 + round, { args: ["i32"], returns: "i32" }));
    try {
      assert.equal(new Set(cbs.map((c) => c.ptr)).size, 1100);
      for (let k = 0; k < 1100; k++) assert.equal(S.call_i32(cbs[k], 1000), 1000 + k * 3 + round);
    } finally {
      for (const c of cbs) c.close();
    }
  }
});

// Callbacks start on a direct entry (x86-64 and arm64 Linux) or a libffi closure and, once hot, jump to a
// JIT-compiled trampoline behind the same address (src/callback.c). With CFFI_JIT_THRESHOLD=0
// (npm test) every callback tiers up at its first call, and with a huge threshold never, so
// this whole file runs again at the other setting: every expectation above holds on the
// compiled trampolines and on the entries callbacks start on. The threshold also says when a
// signature's JS wrapper is compiled: at 0 before the first call, at a huge one never (every
// call is a cold call, converted by the native side), so both are covered here too.
if (jit && !process.env.CFFI_CB_TIER_CHILD) {
  const other = process.env.CFFI_JIT_THRESHOLD === "0" ? "1000000" : "0";
  test(`the same tests with CFFI_JIT_THRESHOLD=${other} (callbacks ${other === "0" ? "compiled at their first call" : "never compiled"})`, () => {
    const r = require("node:child_process").spawnSync(process.execPath, ["--test", __filename], {
      env: { ...process.env, CFFI_JIT_THRESHOLD: other, CFFI_CB_TIER_CHILD: "1" },
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
}

test("a callback tiering up mid-call keeps its address and its results", () => {
  // default threshold (CFFI_JIT_THRESHOLD 100 x 100 calls): a call in the middle switches paths
  withCb((x) => x * 2, { args: ["i32"], returns: "i32" }, (cb) => {
    const p = cb.ptr;
    let sum = 0;
    for (let i = 0; i < 30; i++) sum += S.call_i32(cb, i);
    for (let n = 0; n < 20000; n++) assert.equal(S.call_i32(cb, n), 2 * n);
    assert.equal(cb.ptr, p);
    assert.equal(sum, 870);
    assert.equal(S.call_i32(cb, 21), 42);
  });
});

// Until a signature's JS wrapper is compiled (a callback's CFFI_JIT_THRESHOLD-th call), the
// native side calls fn itself and converts arguments and results (src/callback.c, cold calls).
// Every row of ROUND plus results that need the wrapper's helpers (errors included), each
// called six times by C in children: with CFFI_JIT_THRESHOLD=1000000 (cold calls only), =3
// (cold, then the call that compiles the wrapper, then wrapped; later rows of a signature
// find its wrapper made) and =0 (wrapped from the start). All must agree, call by call.
test("a callback's cold calls and its wrapped calls agree on every value and error", () => {
  const rows = [
    ...ROUND.map(([t, cIn, , jsRet]) => [t, cIn, jsRet]),
    ["i32", 1, undefined], ["i32", 1, null], ["i32", 1, "not a number"], ["i32", 1, 2n ** 32n + 5n], ["u8", 1, NaN],
    ["i16", 1, -0], ["u32", 1, Infinity], ["f64", 1, undefined], ["f64", 1, 3n], ["f32", 1, "2.5"], ["i64", 1n, 1.5],
    ["u64", 1n, undefined], ["u64", 1n, "7"], ["bool", true, null], ["bool", true, {}], ["ptr", 4096, undefined],
    ["ptr", 4096, false], ["ptr", 4096, {}], ["ptr", 4096, "s"], ["ptr", 4096, -1], ["ptr", 4096, 4096.5],
    ["fn", 4096, 2 ** 53], ["fn", 4096, () => 0], ["char", 1, 1e10],
  ];
  // The rows as source text: BigInts, NaN, -0 and functions do not survive JSON.
  const lit = (v) => (typeof v === "bigint" ? `${v}n` : Object.is(v, -0) ? "-0" : typeof v === "function" ? String(v)
    : v === undefined ? "undefined" : typeof v === "number" ? String(v) : JSON.stringify(v));
  const src = `
    const { dlopen, JSCallback } = require(${JSON.stringify(cffiPath)});
    const show = (v) => (typeof v === "function" ? "function" : \`\${typeof v}:\${Object.is(v, -0) ? "-0" : String(v)}\`);
    const out = [];
    for (const [t, cIn, jsRet] of [${rows.map((row) => `[${row.map(lit).join(", ")}]`).join(", ")}]) {
      const ft = t === "fn" ? "function" : t;
      const call = dlopen(${JSON.stringify(fixtures.basic)}, { ["call_" + t]: { args: ["function", ft], returns: ft } }).symbols["call_" + t];
      let seen;
      const cb = new JSCallback((x) => { seen = x; return jsRet; }, { args: [ft], returns: ft });
      const calls = [];
      for (let k = 0; k < 6; k++) {
        seen = "nothing";
        try { calls.push(\`\${show(call(cb, cIn))}, saw \${show(seen)}\`); }
        catch (e) { calls.push(\`\${e.constructor.name}: \${e.message}, saw \${show(seen)}\`); }
      }
      cb.close();
      out.push(calls);
    }
    console.log(JSON.stringify(out));`;
  const run = (threshold) => {
    const r = require("node:child_process").spawnSync(process.execPath, ["-e", src], {
      encoding: "utf8", env: { ...process.env, CFFI_JIT_THRESHOLD: threshold },
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    return JSON.parse(r.stdout);
  };
  const [cold, crossing, wrapped] = ["1000000", "3", "0"].map(run);
  assert.equal(wrapped.length, rows.length);
  for (let i = 0; i < rows.length; i++) {
    const name = `${rows[i][0]} returning ${String(rows[i][2])}`;
    assert.equal(new Set(wrapped[i]).size, 1, `${name}: every wrapped call alike`);
    assert.deepEqual(cold[i], wrapped[i], `${name}: cold calls`);
    assert.deepEqual(crossing[i], wrapped[i], `${name}: cold calls, the tier-up call and wrapped calls`);
  }
});

test("an exception pending for an outer call stays with it; a nested call gets its own", () => {
  // qsort (outer): its comparator throws E1 on the first call; on the second it makes a nested
  // qsort whose comparator throws E3, inside try/catch.
  const { qsort } = dlopen(null, { qsort: { args: ["ptr", "u64", "u64", "function"] } }).symbols;
  const inner = new JSCallback(() => { throw new Error("E3"); }, { args: ["ptr", "ptr"], returns: "i32" });
  let n = 0;
  let caughtInside = null;
  const outer = new JSCallback(() => {
    n++;
    if (n === 1) throw new Error("E1");
    if (n === 2) {
      try {
        qsort(new Int32Array([2, 1]), 2, 4, inner);
      } catch (e) {
        caughtInside = e.message;
      }
    }
    return 0;
  }, { args: ["ptr", "ptr"], returns: "i32" });
  assert.throws(() => qsort(new Int32Array([3, 2, 1, 0]), 4, 4, outer), { message: "E1" });
  assert.equal(caughtInside, "E3");
  inner.close();
  outer.close();
});

test("exceptions pending at 100 nested call depths at once each reach their own caller", () => {
  // Level k's call_twice: cb(1) throws Ek (pending for level k), cb(2) makes the call of level
  // k + 1 inside try/catch. 100 levels: more than any fixed table (it once held 16, and a 17th
  // nested exception was a fatal uncaught exception), so in a child process. Under ASan
  // (bigger native frames) V8's stack limit comes at ~95 levels, a RangeError: 50 there.
  const N = process.env.CFFI_ASAN === "1" ? 50 : 100;
  const src = `
    const { dlopen, JSCallback } = require(${JSON.stringify(cffiPath)});
    const S = dlopen(${JSON.stringify(fixtures.basic)}, { call_twice: { args: ["function"], returns: "i32" } }).symbols;
    const N = ${N}, caught = [];
    let depth = 1, cb;
    cb = new JSCallback((x) => {
      if (x === 1) throw new Error("E" + depth);
      if (depth < N) {
        depth++;
        try { S.call_twice(cb); } catch (e) { caught.push(e.message); }
        depth--;
      }
      return 0;
    }, { args: ["i32"], returns: "i32" });
    let top = null;
    try { S.call_twice(cb); } catch (e) { top = e.message; }
    cb.close();
    console.log(JSON.stringify({ top, caught }));`;
  const r = require("node:child_process").spawnSync(process.execPath, ["-e", src], { encoding: "utf8", env: process.env });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const { top, caught } = JSON.parse(r.stdout);
  assert.equal(top, "E1");
  assert.deepEqual(caught, Array.from({ length: N - 1 }, (_, k) => `E${N - k}`));
});
