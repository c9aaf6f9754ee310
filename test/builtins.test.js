// builtins.test.js: user code that replaced built-ins never runs inside a call (issue 10, defect
// 9; SPEC §16). A call writes its arguments into a buffer shared by every call and then calls
// C: a replaced built-in that cffi looked up at call time (Array.prototype[Symbol.iterator] for
// a spread, Number, BigInt.asIntN, ArrayBuffer.isView, Symbol.hasInstance, …) would run in
// between, and an FFI call it made would overwrite the arguments. Each case runs in a child
// that loads cffi, then replaces the built-ins with versions that record that they ran and
// make an FFI call of their own (or throw), then checks what C received
// (test/fixtures/builtins.c) before tier-up (the first calls, through callAt), after it, on
// libffi (CFFI_JIT=0), through .async and through JSCallback results.
// Also: a view passed to .async stays alive until the call settles even when JS drops it.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const { fixtures, cffiPath, getGC } = require("./helpers.js");
const { dlopen } = require(cffiPath);

// The child: `mode` is "ffi" (a replaced built-in makes an FFI call) or "throw".
function child(cffiPath, fixture, mode) {
  const { dlopen, linkSymbols, JSCallback, ptr } = require(cffiPath);
  const lib = dlopen(fixture, {
    probe_mix: { args: ["i32", "i64", "f64", "buffer", "buffer_length"], returns: "f64" },
    probe_last: { args: [], returns: "cstring" },
    probe_addr: { args: ["ptr"], returns: "u64" },
    probe_cb_ptr: { args: ["function"], returns: "u64" },
    probe_cb_i32: { args: ["function"], returns: "i32" },
    probe_cb_i64: { args: ["function"], returns: "i64" },
    probe_cb_f64: { args: ["function"], returns: "f64" },
  });
  const S = lib.symbols;
  // the same C function, its pointer argument as a `ptr` (another batch)
  const P = linkSymbols({
    mix: { args: ["i32", "i64", "f64", "ptr", "u64"], returns: "f64", ptr: S.probe_mix.ptr },
  }).symbols;

  const u8 = new Uint8Array(8).fill(42);
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint8(0, 42);
  const ab = new Uint8Array(16).fill(42).buffer;
  const addr = BigInt(ptr(u8));
  const abAddr = BigInt(ptr(ab));
  const callbacks = {
    view: new JSCallback(() => u8, { returns: "ptr" }),
    arrayBuffer: new JSCallback(() => ab, { returns: "ptr" }),
    i32: new JSCallback(() => 7n, { returns: "i32" }),
    i64: new JSCallback(() => -5n, { returns: "i64" }),
    f64: new JSCallback(() => 2n, { returns: "f64" }),
  };

  // ---- replace the built-ins ----
  const apply = Reflect.apply;
  const construct = Reflect.construct;
  const ran = [];
  let watching = false;
  let busy = false;
  const hit = (name) => {
    if (!watching || busy) return;
    ran[ran.length] = name;
    if (mode === "throw") throw new Error(`replaced ${name} ran`);
    busy = true;
    try {
      S.probe_mix(9, 9n, 9, null, null); // overwrites the argument slots
    } finally {
      busy = false;
    }
  };
  const wrap = (name, orig) => function (...a) {
    hit(name);
    return new.target ? construct(orig, a, new.target) : apply(orig, this, a);
  };
  const replace = (obj, key, name) => {
    const d = Object.getOwnPropertyDescriptor(obj, key);
    if (d.get) {
      Object.defineProperty(obj, key, { ...d, get: wrap(name, d.get) });
    } else {
      Object.defineProperty(obj, key, { ...d, value: wrap(name, d.value) });
    }
  };
  const arrayIteratorProto = Object.getPrototypeOf([][Symbol.iterator]());
  const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
  const targets = [
    [Array.prototype, Symbol.iterator, "Array.prototype[Symbol.iterator]"],
    [arrayIteratorProto, "next", "%ArrayIteratorPrototype%.next"],
    [Array.prototype, "join", "Array.prototype.join"],
    [Array.prototype, "push", "Array.prototype.push"],
    [Array.prototype, "fill", "Array.prototype.fill"],
    [Function.prototype, "apply", "Function.prototype.apply"],
    [Function.prototype, "call", "Function.prototype.call"],
    [Function.prototype, "bind", "Function.prototype.bind"],
    [Reflect, "apply", "Reflect.apply"],
    [globalThis, "Number", "Number"],
    [Number, "isInteger", "Number.isInteger"],
    [Number, "isNaN", "Number.isNaN"],
    [Number, "isSafeInteger", "Number.isSafeInteger"],
    [globalThis, "BigInt", "BigInt"],
    [BigInt, "asIntN", "BigInt.asIntN"],
    [BigInt, "asUintN", "BigInt.asUintN"],
    [Math, "floor", "Math.floor"],
    [Math, "trunc", "Math.trunc"],
    [globalThis, "String", "String"],
    [ArrayBuffer, "isView", "ArrayBuffer.isView"],
    [ArrayBuffer.prototype, "byteLength", "ArrayBuffer.prototype.byteLength"],
    [typedArrayProto, "byteLength", "%TypedArray%.prototype.byteLength"],
    [typedArrayProto, "buffer", "%TypedArray%.prototype.buffer"],
    [typedArrayProto, Symbol.toStringTag, "%TypedArray%.prototype[Symbol.toStringTag]"],
    [DataView.prototype, "byteLength", "DataView.prototype.byteLength"],
    [Map.prototype, "get", "Map.prototype.get"],
    [Map.prototype, "set", "Map.prototype.set"],
    [Promise.prototype, "then", "Promise.prototype.then"],
    [Promise, "reject", "Promise.reject"],
    [Promise, "resolve", "Promise.resolve"],
    [Object, "defineProperty", "Object.defineProperty"],
    [globalThis, "Array", "Array"],
    [globalThis, "Uint8Array", "Uint8Array"],
    [globalThis, "Uint32Array", "Uint32Array"],
    [globalThis, "TypeError", "TypeError"],
    [globalThis, "Function", "Function"],
    [globalThis, "Map", "Map"],
  ];
  for (const [obj, key, name] of targets) replace(obj, key, name);
  const hasInstance = Function.prototype[Symbol.hasInstance];
  for (const [C, name] of [[ArrayBuffer, "ArrayBuffer"], [JSCallback, "JSCallback"], [Uint8Array, "Uint8Array"]]) {
    Object.defineProperty(C, Symbol.hasInstance, {
      value(v) {
        hit(`${name}[Symbol.hasInstance]`);
        return apply(hasInstance, this, [v]);
      },
    });
  }

  // ---- the calls ----
  const out = {};
  const watch = (label, f) => {
    watching = true;
    try {
      out[label] = f();
    } catch (e) {
      out[label] = `threw: ${e && e.message}`;
    } finally {
      watching = false;
    }
    return out[label];
  };
  const last = () => S.probe_last();
  const round = async (tag) => {
    watch(`${tag} buffer`, () => [S.probe_mix(5n, -3n, 2n, u8, u8), last()]);
    watch(`${tag} buffer, numbers, DataView`, () => [S.probe_mix(5, -3, 2.5, dv, dv), last()]);
    watch(`${tag} ptr view`, () => [P.mix(5n, -3n, 2n, u8, 8), last()]);
    watch(`${tag} ptr BigInt`, () => [P.mix(5, 3, 1, addr, 8), last()]);
    watch(`${tag} ptr -0`, () => [P.mix(1, 1, 1, -0, 0), last()]);
    watch(`${tag} ptr ArrayBuffer`, () => [P.mix(1, 1, 1, ab, 16), last()]);
    watch(`${tag} probe_addr BigInt`, () => S.probe_addr(addr) === addr);
    watch(`${tag} callback view`, () => S.probe_cb_ptr(callbacks.view) === addr);
    watch(`${tag} callback ArrayBuffer`, () => S.probe_cb_ptr(callbacks.arrayBuffer) === abAddr);
    watch(`${tag} callback i32 from BigInt`, () => S.probe_cb_i32(callbacks.i32));
    watch(`${tag} callback i64`, () => S.probe_cb_i64(callbacks.i64));
    watch(`${tag} callback f64 from BigInt`, () => S.probe_cb_f64(callbacks.f64));
    // .async: the synchronous part is watched, the result checked when it settles
    const pending = {
      [`${tag} async buffer`]: watch(`${tag} async buffer`, () => S.probe_mix.async(5n, -3n, 2n, u8, u8)),
      [`${tag} async ptr`]: watch(`${tag} async ptr`, () => P.mix.async(5n, -3n, 2n, u8, 8)),
      [`${tag} async callback`]: watch(`${tag} async callback`, () => S.probe_cb_i32.async(callbacks.i32)),
    };
    for (const k of Object.keys(pending)) {
      try {
        out[k] = await pending[k];
      } catch (e) {
        out[k] = `rejected: ${e && e.message}`;
      }
    }
  };
  (async () => {
    await round("first");
    // past CFFI_JIT_THRESHOLD (100 by default): every batch tiers up
    for (let i = 0; i < 120; i++) {
      S.probe_mix(0, 0, 0, null, null);
      P.mix(0, 0, 0, null, 0);
    }
    await round("tiered");
    process.stdout.write(JSON.stringify({ out, ran }, (k, v) => (typeof v === "bigint" ? `${v}n` : v)));
  })();
}

const expected = (tag) => ({
  [`${tag} buffer`]: [54, "5 -3 2 1 8 42"],
  [`${tag} buffer, numbers, DataView`]: [50.5, "5 -3 2.5 1 4 42"],
  [`${tag} ptr view`]: [54, "5 -3 2 1 8 42"],
  [`${tag} ptr BigInt`]: [59, "5 3 1 1 8 42"],
  [`${tag} ptr -0`]: [2, "1 1 1 0 0 -1"],
  [`${tag} ptr ArrayBuffer`]: [61, "1 1 1 1 16 42"],
  [`${tag} probe_addr BigInt`]: true,
  [`${tag} callback view`]: true,
  [`${tag} callback ArrayBuffer`]: true,
  [`${tag} callback i32 from BigInt`]: 7,
  [`${tag} callback i64`]: "-5n",
  [`${tag} callback f64 from BigInt`]: 2,
  [`${tag} async buffer`]: 54,
  [`${tag} async ptr`]: 54,
  [`${tag} async callback`]: 7,
});

const configurations = [
  ["default threshold (first calls through callAt, then tier-up)", { CFFI_JIT_THRESHOLD: undefined }],
  ["CFFI_JIT_THRESHOLD=0", { CFFI_JIT_THRESHOLD: "0" }],
  ["libffi (CFFI_JIT=0)", { CFFI_JIT: "0", CFFI_JIT_THRESHOLD: undefined }],
];

for (const [name, env] of configurations) {
  for (const mode of ["ffi", "throw"]) {
    test(`replaced built-ins never run inside a call: ${name}, a replacement that ${mode === "ffi" ? "makes an FFI call" : "throws"}`, () => {
      const code = `(${child})(${JSON.stringify(cffiPath)}, ${JSON.stringify(fixtures.builtins)}, ${JSON.stringify(mode)})`;
      const childEnv = { ...process.env, ...env };
      for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
      const r = spawnSync(process.execPath, ["-e", code], { env: childEnv, encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const { out, ran } = JSON.parse(r.stdout);
      assert.deepEqual(out, { ...expected("first"), ...expected("tiered") });
      assert.deepEqual(ran, [], "replaced built-ins that ran inside a call");
    });
  }
}

// ---- .async and the lifetime of views (issue 10, defect 2; SPEC §16) ------------------------

test(".async: a view whose only reference is dropped stays alive until the call settles", async () => {
  const gc = getGC();
  const lib = dlopen(fixtures.builtins, { probe_sleep_read: { args: ["ptr", "i32"], returns: "i32" } });
  try {
    const calls = [];
    for (let i = 0; i < 4; i++) {
      // the view (and its ArrayBuffer) exist only as this argument
      calls.push(lib.symbols.probe_sleep_read.async(new Uint8Array(1 << 16).fill(42 + i), 200));
    }
    for (let i = 0; i < 8; i++) {
      gc();
      // garbage that would reuse the memory if it had been freed
      for (let k = 0; k < 16; k++) new Uint8Array(1 << 16).fill(214);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(await Promise.all(calls), [42, 43, 44, 45]);
  } finally {
    lib.close();
  }
});
