// dlopen.test.js: SPEC §3 (dlopen), §4 (linkSymbols), §5 (CFunction) and §14 (suffix,
// native): paths (URL, file:, cwd retry, null = the process), symbol validation and
// order, .ptr/.native/.async, close semantics, unloading (seen in /proc/self/maps), GC.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { pathToFileURL } = require("node:url");
const { spawnSync } = require("node:child_process");
const { fixtures, cffiPath, expectTypeError, expectError, collect, isMapped, rss, getGC, asanSkip } = require("./helpers.js");
const cffi = require(cffiPath);
const { dlopen, linkSymbols, CFunction, JSCallback, native, suffix } = cffi;

const ID32 = { args: ["i32"], returns: "i32" };
const PTR_MSG = (name) =>
  `Symbol "${name}" is missing a "ptr" field. When using linkSymbols() or CFunction(), you must provide a "ptr" field with the memory address of the native function.`;

// A private copy of unload.so at a unique path, so /proc/self/maps tells whether it is loaded.
let copies = 0;
const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "cffi-dlopen-"));
function privateCopy() {
  const p = path.join(tmpDir, `unload-${process.pid}-${copies++}.so`);
  fs.copyFileSync(fixtures.unload, p);
  return p;
}
test.after(() => fs.rmSync(tmpDir, { recursive: true, force: true }));

// ---- §3 paths ------------------------------------------------------------------------------

test("dlopen: absolute path, file: URL string, URL object", () => {
  for (const p of [fixtures.basic, pathToFileURL(fixtures.basic).href, pathToFileURL(fixtures.basic)]) {
    const lib = dlopen(p, { add_i32: { args: ["i32", "i32"], returns: "i32" } });
    assert.equal(lib.symbols.add_i32(2, 3), 5, String(p));
    lib.close();
  }
});

test("dlopen: relative paths are retried against process.cwd()", () => {
  const old = process.cwd();
  process.chdir(path.dirname(fixtures.basic));
  try {
    const lib = dlopen(path.basename(fixtures.basic), { add_i32: { args: ["i32", "i32"], returns: "i32" } });
    assert.equal(lib.symbols.add_i32(40, 2), 42);
    lib.close();
    const lib2 = dlopen(`./${path.basename(fixtures.basic)}`, { noop_i32: { returns: "i32" } });
    assert.equal(lib2.symbols.noop_i32(), 7);
    lib2.close();
  } finally {
    process.chdir(old);
  }
});

test("dlopen: library names resolved by the system loader", () => {
  const lib = dlopen("libc.so.6", { abs: ID32 });
  assert.equal(lib.symbols.abs(-9), 9);
  lib.close();
});

test("dlopen(null) opens the running process", () => {
  const lib = dlopen(null, { getpid: { returns: "i32" }, strlen: { args: ["cstring"], returns: "u64" } });
  assert.equal(lib.symbols.getpid(), process.pid);
  assert.equal(lib.symbols.strlen("four"), 4n);
  lib.close();
});

test("dlopen: bad path types", () => {
  expectTypeError(() => dlopen("", { f: {} }), "Invalid library name");
  for (const v of [42, {}, true, 1n, [fixtures.basic]]) {
    expectTypeError(() => dlopen(v, { add_i32: {} }), undefined, "ERR_INVALID_ARG_TYPE");
  }
});

test("dlopen: load failure is an Error with code, syscall and the loader's reason", () => {
  const missing = path.join(tmpDir, "does-not-exist.so");
  const err = expectError(Error, () => dlopen(missing, { f: {} }));
  assert.ok(!(err instanceof TypeError), "not a TypeError");
  assert.equal(err.code, "ERR_DLOPEN_FAILED");
  assert.equal(err.syscall, "dlopen");
  assert.ok(err.message.includes("Failed to open library"), err.message);
  assert.ok(err.message.includes(missing), err.message);
  assert.ok(err.message.includes("No such file or directory"), `loader's reason in: ${err.message}`);
  // Not a shared object at all.
  const bogus = path.join(tmpDir, "bogus.so");
  fs.writeFileSync(bogus, "not an ELF file");
  const err2 = expectError(Error, () => dlopen(bogus, { f: {} }));
  assert.equal(err2.code, "ERR_DLOPEN_FAILED");
  assert.ok(err2.message.includes("bogus.so"), err2.message);
  assert.ok(/invalid ELF header|file too short/.test(err2.message), err2.message);
});

// ---- §3 symbols ---------------------------------------------------------------------------

test("dlopen: symbols validation errors", () => {
  for (const v of [undefined, null, 5, "add_i32", true]) {
    expectTypeError(() => dlopen(fixtures.basic, v), "Expected an options object with symbol names");
  }
  expectTypeError(() => dlopen(fixtures.basic, {}), "Expected at least one symbol");
  for (const v of [5, "i32", null, true]) {
    expectTypeError(() => dlopen(fixtures.basic, { add_i32: v }), 'Expected an object for key "add_i32"');
  }
});

test("dlopen: missing symbol → ERR_INVALID_ARG_TYPE, and the library is closed first", () => {
  const p = privateCopy();
  const err = expectTypeError(() => dlopen(p, { unload_marker: { returns: "i32" }, nope: {} }),
    `Symbol "nope" not found in "${p}"`, "ERR_INVALID_ARG_TYPE");
  assert.ok(err);
  assert.equal(isMapped(p), false, "the library is unloaded after the failed dlopen");
});

test("dlopen: result shape; symbols in JS key order; array-index keys", () => {
  const helper = dlopen(fixtures.basic, { n_7: { returns: "i32" } });
  const lib = dlopen(fixtures.basic, {
    noop_i32: { returns: "i32" },
    add_i32: { args: ["i32", "i32"], returns: "i32" },
    1: { ptr: helper.symbols.n_7.ptr, returns: "i32" },
    0: { ptr: BigInt(helper.symbols.n_7.ptr), returns: "i32" },
  });
  try {
    assert.ok("symbols" in lib);
    assert.equal(typeof lib.close, "function");
    assert.equal(Object.getPrototypeOf(lib.symbols), Object.prototype, "plain object");
    assert.deepEqual(Object.keys(lib.symbols), ["0", "1", "noop_i32", "add_i32"]);
    assert.equal(lib.symbols[0](), 7);
    assert.equal(lib.symbols[1](), 7);
    assert.equal(lib.symbols.noop_i32(), 7);
    assert.equal(lib.symbols.add_i32(1, 2), 3);
    for (const k of Object.keys(lib.symbols)) {
      const f = lib.symbols[k];
      assert.equal(typeof f, "function", k);
      assert.equal(f.native, f, `${k}.native is itself`);
      assert.equal(typeof f.async, "function", `${k}.async`);
      assert.equal(typeof f.ptr, "number", `${k}.ptr`);
      assert.ok(f.ptr > 0);
    }
    assert.equal(lib.symbols[0].ptr, helper.symbols.n_7.ptr, "ptr skips the lookup");
  } finally {
    lib.close();
    helper.close();
  }
});

test("dlopen: .ptr is the symbol's address (same in every dlopen, callable via CFunction)", () => {
  const a = dlopen(fixtures.basic, { add_i32: { args: ["i32", "i32"], returns: "i32" } });
  const b = dlopen(fixtures.basic, { add_i32: { args: ["i32", "i32"], returns: "i32" } });
  try {
    assert.equal(a.symbols.add_i32.ptr, b.symbols.add_i32.ptr);
    const f = CFunction({ ptr: a.symbols.add_i32.ptr, args: ["i32", "i32"], returns: "i32" });
    assert.equal(f(20, 22), 42);
    f.close();
  } finally {
    a.close();
    b.close();
  }
});

test("dlopen: the same symbol under several signatures via ptr", async () => {
  const base = dlopen(fixtures.basic, { id_u64: { args: ["u64"], returns: "u64" } });
  const lib = dlopen(fixtures.basic, {
    as_u64: { ptr: base.symbols.id_u64.ptr, args: ["u64"], returns: "u64" },
    as_i64: { ptr: base.symbols.id_u64.ptr, args: ["i64"], returns: "i64" },
    as_fast: { ptr: base.symbols.id_u64.ptr, args: ["u64"], returns: "u64_fast" },
  });
  assert.equal(lib.symbols.as_u64(-1), 2n ** 64n - 1n);
  assert.equal(lib.symbols.as_i64(-1), -1n);
  assert.equal(lib.symbols.as_fast(5), 5);
  assert.equal(await lib.symbols.as_fast.async(6), 6);
  lib.close();
  base.close();
});

// Runs in children with CFFI_JIT_THRESHOLD=0 (every call takes the fast entry) and =1000 (all
// take the counting libffi entry): the generated code differs between the two.
function symbolNamesScenario(cffiPath, basic) {
  const { dlopen, linkSymbols, JSCallback, ptr } = require(cffiPath);
  const base = dlopen(basic, {
    add_i32: { args: ["i32", "i32"], returns: "i32" },
    add_f64: { args: ["f64", "f64"], returns: "f64" },
    cstr_len: { args: ["cstring"], returns: "i64" },
    call_twice: { args: ["function"], returns: "i32" },
  });
  const b = base.symbols;
  // kind -> [address, how to call it with k = 0…4]
  const cb = new JSCallback((x) => x * 10, { args: ["i32"], returns: "i32" });
  // a string, or the address of its bytes (a number: the fast path of address arguments)
  const str = (k) => (k % 2 ? ptr(Buffer.from(`${"hello".slice(k)}\0`)) : "hello".slice(k));
  const strPtr = (k) => ptr(Buffer.from(`${"hello".slice(k)}\0`));
  const kinds = {
    I: [b.add_i32.ptr, (f, k) => f(40, k)],
    D: [b.add_f64.ptr, (f, k) => f(0.25, k)],
    C: [b.cstr_len.ptr, (f, k) => Number(f(str(k)))],
    P: [b.cstr_len.ptr, (f, k) => Number(f(k % 2 ? Buffer.from(`${"hello".slice(k)}\0`) : strPtr(k)))],
    F: [b.call_twice.ptr, (f) => f(cb)],
  };
  // [name, kind, args, returns]. Names the generated source uses (helpers, the slow entries S,
  // function i's entry g<i>, the writer w<i> of the signature function i is the first to
  // have), reserved words, and names that are not identifiers. Functions
  // whose signature repeats in the batch call a shared writer; those with a signature of their
  // own (the second group) write inline, where a helper's name would be shadowed. (An extra
  // integer argument, which the C function ignores, makes a signature of its own.)
  const list = [
    ["w0", "I", ["i32", "i32"], "i32"], ["S", "F", ["function"], "i32"], ["g2", "D", ["f64", "f64"], "f64"],
    ["f2", "C", ["cstring"], "i64"], ["eval", "I", ["i32", "i32"], "i32"], ["delete", "D", ["f64", "f64"], "f64"],
    ["arguments", "C", ["cstring"], "i64"], ["undefined", "F", ["function"], "i32"], ["a.b", "D", ["f64", "f64"], "f64"],
    ["$x", "C", ["cstring"], "i64"], ["plain", "I", ["i32", "i32"], "i32"], ["é", "F", ["function"], "i32"],
    ["floor", "P", ["ptr"], "i64"], ["ArrayBuffer", "P", ["ptr"], "u64"], ["T", "P", ["ptr"], "i64_fast"],
    ["writePointer", "C", ["cstring"], "u64"], ["I32", "I", ["u32", "i32"], "i32"], ["toInt32", "I", ["i32", "u32"], "i32"],
    ["F64", "D", ["f64", "f64", "i8"], "f64"], ["toF64", "D", ["f64", "f64", "i32"], "f64"], ["functionAddress", "F", ["function"], "u32"],
    ["writeFunction", "F", ["function"], "i16"], ["H", "I", ["i16", "i32"], "i32"], ["U32", "I", ["i32", "i32"], "u32"],
  ];
  const defs = {};
  for (const [name, kind, args, returns] of list) defs[name] = { ptr: kinds[kind][0], args, returns };
  const lib = linkSymbols(defs);
  const out = [];
  for (const [name, kind] of list) {
    const f = lib.symbols[name];
    const results = [];
    for (let k = 0; k < 5; k++) results.push(kinds[kind][1](f, k));
    out.push([name, kind, f.name, f.ptr === defs[name].ptr, results]);
  }
  return Promise.all([lib.symbols.w0.async(1, 2), lib.symbols.f2.async("four")]).then((a) => {
    cb.close();
    lib.close();
    base.close();
    return { out, async: [a[0], Number(a[1])] };
  });
}

test("linkSymbols: any symbol name names its function, also names the generated code uses; repeated signatures", () => {
  const src = `(${symbolNamesScenario})(${JSON.stringify(cffiPath)}, ${JSON.stringify(fixtures.basic)})` +
    ".then((r) => console.log(JSON.stringify(r)))";
  const expected = {
    I: [40, 41, 42, 43, 44], D: [0.25, 1.25, 2.25, 3.25, 4.25], C: [5, 4, 3, 2, 1], P: [5, 4, 3, 2, 1],
    F: [30, 30, 30, 30, 30],
  };
  for (const threshold of ["0", "1000"]) {
    const r = spawnSync(process.execPath, ["-e", src], {
      env: { ...process.env, CFFI_JIT_THRESHOLD: threshold }, encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    const { out, async } = JSON.parse(r.stdout);
    assert.equal(out.length, 24);
    for (const [name, kind, fname, samePtr, results] of out) {
      assert.equal(fname, name);
      assert.ok(samePtr, name);
      assert.deepEqual(results, expected[kind], `${name} (CFFI_JIT_THRESHOLD=${threshold})`);
    }
    assert.deepEqual(async, [3, 4]);
  }
});

test("dlopen: more than 63 symbols", () => {
  const defs = {};
  for (let k = 0; k < 70; k++) defs[`n_${k}`] = { returns: "i32" };
  const lib = dlopen(fixtures.basic, defs);
  try {
    for (let k = 0; k < 70; k++) assert.equal(lib.symbols[`n_${k}`](), k);
  } finally {
    lib.close();
  }
});

// ---- §3 close --------------------------------------------------------------------------

test("dlopen: close is bound and idempotent; calls afterwards throw; .async rejects", async () => {
  const lib = dlopen(fixtures.basic, { add_i32: { args: ["i32", "i32"], returns: "i32" } });
  const { add_i32 } = lib.symbols;
  const { close } = lib;
  assert.equal(close(), undefined);
  assert.equal(lib.close(), undefined, "second close is a no-op");
  const err = expectError(Error, () => add_i32(1, 2), "library is closed");
  assert.ok(!(err instanceof TypeError));
  await assert.rejects(add_i32.async(1, 2), (e) => e instanceof Error && e.message === "library is closed");
});

test("dlopen: after close, every argument list throws (also a leading `true` before a pointer)", () => {
  for (const threshold of [0, 1]) {
    const lib = dlopen(fixtures.basic, { buf_len: { args: ["bool", "ptr"], returns: "u64", ptr: undefined } });
    const f = lib.symbols.buf_len;
    for (let i = 0; i < threshold; i++) f(true, null);
    lib.close();
    for (const args of [[true, null], [true, new Uint8Array(1)], [false, null], []]) {
      expectError(Error, () => f(...args), "library is closed");
    }
  }
});

// A dlopen of more than 32 declarations is generated differently (src/jsgen.c, EAGER_MAX): its
// functions are compiled on their first call and share one array of entries.
test("dlopen: a library of many declarations calls each function before and after it tiers up, and none after close", () => {
  const defs = {};
  for (let k = 0; k < 36; k++) defs[`n_${k}`] = { returns: "i32" };
  for (let k = 0; k < 4; k++) {
    defs[`add${k}`] = { name: "add_i32", args: ["i32", "i32"], returns: "i32" };
    defs[`addf${k}`] = { name: "add_f64", args: ["f64", "f64"], returns: "f64" };
  }
  const lib = dlopen(fixtures.basic, defs);
  const S = lib.symbols;
  // past any CFFI_JIT_THRESHOLD the suite runs with (0, 100): the batch tiers up in the loop
  for (let i = 0; i < 120; i++) {
    for (let k = 0; k < 36; k += 7) assert.equal(S[`n_${k}`](), k);
    for (let k = 0; k < 4; k++) {
      assert.equal(S[`add${k}`](i, k), i + k);
      assert.equal(S[`addf${k}`](i, 0.25 * k), i + 0.25 * k);
    }
  }
  for (let k = 0; k < 36; k++) assert.equal(S[`n_${k}`](), k, "called first after the batch tiered up");
  assert.equal(S.add3(7n, 1), 8, "the conversions of a shared writer");
  assert.equal(S.addf2(), 0, "missing f64 arguments read as 0");
  lib.close();
  for (const name of Object.keys(defs)) expectError(Error, () => S[name](1, 2), "library is closed");
});

test("dlopen: 150 declarations of 36 functions: each finds its function and address; a missing one is named", () => {
  // several declarations per C function (`name`), more of them than a call has argument slots
  const defs = {};
  for (let i = 0; i < 150; i++) defs[`s${i}`] = { name: `n_${i % 36}`, returns: "i32" };
  const lib = dlopen(fixtures.basic, defs);
  try {
    for (let i = 0; i < 150; i++) {
      const f = lib.symbols[`s${i}`];
      assert.equal(f(), i % 36, `s${i}`);
      assert.equal(typeof f.ptr, "number");
      assert.equal(f.ptr, lib.symbols[`s${i % 36}`].ptr, `s${i}: the address of n_${i % 36}`);
    }
    assert.notEqual(lib.symbols.s0.ptr, lib.symbols.s1.ptr);
  } finally {
    lib.close();
  }
  // a missing one late in the list is named
  defs.s140 = { name: "no_such_symbol_140", returns: "i32" };
  expectError(TypeError, () => dlopen(fixtures.basic, defs), `Symbol "no_such_symbol_140" not found in "${fixtures.basic}"`);
});

test("dlopen: close() from a callback while the library's C code is on the stack unloads it after the call", async () => {
  const p = privateCopy();
  const lib = dlopen(p, { unload_call: { args: ["function"], returns: "i32" } });
  let mappedInside = null;
  const cb = new JSCallback(() => {
    lib.close();
    mappedInside = isMapped(p);
  }, {});
  assert.equal(lib.symbols.unload_call(cb), 4243, "the C function returned normally");
  assert.equal(mappedInside, true, "still loaded while its frame was live");
  expectError(Error, () => lib.symbols.unload_call(cb), "library is closed");
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(isMapped(p), false, "unloaded once the call had returned");
  cb.close();
});

test("dlopen: close() unloads the library (/proc/self/maps)", () => {
  const p = privateCopy();
  const lib = dlopen(p, { unload_marker: { returns: "i32" } });
  assert.equal(lib.symbols.unload_marker(), 4242);
  assert.equal(isMapped(p), true);
  lib.close();
  assert.equal(isMapped(p), false, "unloaded after close()");
});

test("dlopen: an async call in flight keeps the library loaded", async () => {
  const p = privateCopy();
  const lib = dlopen(p, { unload_marker: { returns: "i32" } });
  const pending = lib.symbols.unload_marker.async();
  lib.close();
  assert.equal(await pending, 4242);
  await collect();
  assert.equal(isMapped(p), false, "unloaded once the async call finished");
});

test("dlopen: GC never closes a dlopen result", async () => {
  const p = privateCopy();
  let fn;
  (() => {
    const lib = dlopen(p, { unload_marker: { returns: "i32" } });
    fn = lib.symbols.unload_marker.ptr;
  })();
  await collect(5);
  assert.equal(isMapped(p), true, "still loaded after the result became garbage");
  const f = CFunction({ ptr: fn, returns: "i32" });
  assert.equal(f(), 4242);
  f.close();
});

test("dlopen: a declared function kept alone outlives its library object and tiers up", async () => {
  let add;
  let declaredOnly;
  (() => {
    const lib = dlopen(fixtures.basic, {
      add_i32: { args: ["i32", "i32"], returns: "i32" },
      add_f64: { args: ["f64", "f64"], returns: "f64" },
    });
    add = lib.symbols.add_i32;
    declaredOnly = lib.symbols.add_f64; // never called before the collection
  })();
  await collect(5); // the library object and its symbols object are garbage now
  for (let i = 0; i < 3000; i++) assert.equal(add(i, 1), i + 1); // past any JIT threshold
  await collect(3);
  assert.equal(declaredOnly(0.5, 0.25), 0.75);
  assert.equal(add(-7, 2), -5);
});

// ---- §4 linkSymbols ------------------------------------------------------------------------

test("linkSymbols: works with number and BigInt ptr; shape; close", async () => {
  const base = dlopen(fixtures.basic, { add_i32: {}, id_f64: {} });
  const { add_i32, id_f64 } = base.symbols;
  const linked = linkSymbols({
    add: { ptr: add_i32.ptr, args: ["i32", "i32"], returns: "i32" },
    idf: { ptr: BigInt(id_f64.ptr), args: ["f64"], returns: "f64" },
    3: { ptr: add_i32.ptr, args: ["i32", "i32"], returns: "i32" },
  });
  try {
    assert.deepEqual(Object.keys(linked.symbols), ["3", "add", "idf"]);
    assert.equal(linked.symbols.add(2, 2), 4);
    assert.equal(linked.symbols[3](3, 3), 6);
    assert.equal(linked.symbols.idf(1.25), 1.25);
    assert.equal(linked.symbols.add.ptr, add_i32.ptr);
    assert.equal(linked.symbols.idf.ptr, id_f64.ptr);
    assert.equal(linked.symbols.add.native, linked.symbols.add);
    assert.equal(await linked.symbols.add.async(5, 6), 11);
  } finally {
    linked.close();
  }
  linked.close();
  expectError(Error, () => linked.symbols.add(1, 1), "library is closed");
  const { close } = linkSymbols({ add: { ptr: add_i32.ptr, args: ["i32", "i32"], returns: "i32" } });
  close();
  base.close();
});

test("linkSymbols: errors", () => {
  const base = dlopen(fixtures.basic, { add_i32: {} });
  const p = base.symbols.add_i32.ptr;
  expectTypeError(() => linkSymbols({ add: { args: ["i32"] } }), PTR_MSG("add"));
  expectTypeError(() => linkSymbols({ add: { ptr: 0 } }), PTR_MSG("add"));
  expectTypeError(() => linkSymbols({ add: { ptr: 0n } }), PTR_MSG("add"));
  expectTypeError(() => linkSymbols({ ok: { ptr: p }, add: { ptr: null } }), PTR_MSG("add"));
  for (const bad of [-1, -1n, 2n ** 64n, 2 ** 64]) {
    const err = expectError(RangeError, () => linkSymbols({ add: { ptr: bad } }));
    assert.ok(err.message.includes("out of range"), err.message);
  }
  for (const v of [undefined, null, 5, "x"]) {
    expectTypeError(() => linkSymbols(v), "Expected an options object with symbol names");
  }
  expectTypeError(() => linkSymbols({}), "Expected at least one symbol");
  expectTypeError(() => linkSymbols({ add: 5 }), 'Expected an object for key "add"');
  expectTypeError(() => linkSymbols({ add: { ptr: p, args: ["nope"] } }), "Unknown type nope", "ERR_INVALID_ARG_VALUE");
  base.close();
});

test("linkSymbols: more than 63 symbols", () => {
  const base = dlopen(fixtures.basic, Object.fromEntries(Array.from({ length: 70 }, (_, k) => [`n_${k}`, {}])));
  const defs = {};
  for (let k = 0; k < 70; k++) defs[`f${k}`] = { ptr: base.symbols[`n_${k}`].ptr, returns: "i32" };
  const linked = linkSymbols(defs);
  try {
    for (let k = 0; k < 70; k++) assert.equal(linked.symbols[`f${k}`](), k);
  } finally {
    linked.close();
    base.close();
  }
});

test("linkSymbols: a reachable symbol function keeps the result alive across GC", async () => {
  const base = dlopen(fixtures.basic, { add_i32: {} });
  let add = linkSymbols({ add: { ptr: base.symbols.add_i32.ptr, args: ["i32", "i32"], returns: "i32" } }).symbols.add;
  for (let i = 0; i < 3; i++) {
    // Churn memory so that anything unreferenced would be collected and freed.
    for (let j = 0; j < 2000; j++) linkSymbols({ x: { ptr: base.symbols.add_i32.ptr, args: ["i32", "i32"], returns: "i32" } });
    await collect(3);
    assert.equal(add(i, 10), i + 10);
  }
  add = null;
  base.close();
});

test("linkSymbols and CFunction: unclosed results are freed once garbage-collected (RSS bounded)", { skip: asanSkip }, async () => {
  const base = dlopen(fixtures.basic, { add_i32: {}, id_f64: {} });
  const p = base.symbols.add_i32.ptr;
  const N = 20000;
  const gc = getGC();
  const samples = [];
  for (let i = 0; i < N; i++) {
    const l = linkSymbols({
      a: { ptr: p, args: ["i32", "i32"], returns: "i32" },
      b: { ptr: base.symbols.id_f64.ptr, args: ["f64"], returns: "f64" },
    });
    if (l.symbols.a(i, 1) !== i + 1) assert.fail("bad result");
    const f = CFunction({ ptr: p, args: ["i32", "i32"], returns: "i32" });
    if (f(i, 2) !== i + 2) assert.fail("bad result");
    if (i % (N / 4) === N / 4 - 1) {
      await collect(3);
      gc();
      samples.push(rss());
    }
  }
  const first = samples[1] - samples[0];
  const last = samples[3] - samples[2];
  const MB = 1024 * 1024;
  assert.ok(last < 24 * MB, `RSS grew ${(last / MB).toFixed(1)} MB over the last quarter (${(first / MB).toFixed(1)} MB over the second); samples ${samples.map((s) => (s / MB).toFixed(0))}`);
  base.close();
});

// ---- §5 CFunction ------------------------------------------------------------------------

test("CFunction: with or without new; .ptr, .native, .async, .close()", async () => {
  const base = dlopen(fixtures.basic, { add_i32: {} });
  const p = base.symbols.add_i32.ptr;
  for (const make of [(d) => CFunction(d), (d) => new CFunction(d)]) {
    const f = make({ ptr: p, args: ["i32", "i32"], returns: "i32" });
    assert.equal(typeof f, "function");
    assert.equal(f(4, 5), 9);
    assert.equal(f.ptr, p);
    assert.equal(f.native, f);
    assert.equal(await f.async(1, 1), 2);
    assert.equal(f.close(), undefined);
    assert.equal(f.close(), undefined, "idempotent");
    const err = expectError(Error, () => f(1, 2), "function is closed");
    assert.ok(!(err instanceof TypeError));
    await assert.rejects(f.async(1, 2), (e) => e.message === "function is closed");
  }
  const g = CFunction({ ptr: BigInt(p), args: ["i32", "i32"], returns: "i32" });
  assert.equal(g(1, 2), 3);
  g.close();
  const h = CFunction({ ptr: p }); // args [] and returns void by default
  assert.equal(h(), undefined);
  h.close();
  base.close();
});

test("CFunction: errors", () => {
  expectTypeError(() => CFunction({ args: ["i32"] }), PTR_MSG("CFunction"));
  expectTypeError(() => CFunction({ ptr: 0 }), PTR_MSG("CFunction"));
  for (const bad of [-5, -1n, 2n ** 64n]) {
    const err = expectError(RangeError, () => CFunction({ ptr: bad }));
    assert.ok(err.message.includes("out of range"), err.message);
  }
  expectTypeError(() => CFunction({ ptr: 4096, args: "i32" }), 'Expected an object with "args" as an array');
  expectTypeError(() => CFunction({ ptr: 4096, returns: "nope" }), "Unknown return type nope", "ERR_INVALID_ARG_VALUE");
});

test("CFunction: a JSCallback's pointer is callable", () => {
  const cb = new JSCallback((a, b) => a * b, { args: ["i32", "i32"], returns: "i32" });
  const f = CFunction({ ptr: cb.ptr, args: ["i32", "i32"], returns: "i32" });
  assert.equal(f(6, 7), 42);
  f.close();
  cb.close();
});

// ---- §14 suffix, native ------------------------------------------------------------------

test("suffix", () => {
  assert.equal(suffix, "so");
  const lib = dlopen(fixtures.basic.replace(/\.so$/, `.${suffix}`), { noop_i32: { returns: "i32" } });
  lib.close();
});

test("native.dlopen returns its Error instead of throwing; native.callback is deprecated", () => {
  assert.equal(typeof native.dlopen, "function");
  const missing = path.join(tmpDir, "missing.so");
  const err = native.dlopen(missing, { f: {} });
  assert.ok(err instanceof Error);
  assert.equal(err.code, "ERR_DLOPEN_FAILED");
  const lib = native.dlopen(fixtures.basic, { add_i32: { args: ["i32", "i32"], returns: "i32" } });
  assert.ok(!(lib instanceof Error));
  assert.equal(lib.symbols.add_i32(1, 1), 2);
  lib.close();
  const err2 = native.dlopen(fixtures.basic, {});
  assert.ok(err2 instanceof TypeError);
  assert.equal(err2.message, "Expected at least one symbol");
  expectError(Error, () => native.callback(), "Deprecated. Use new JSCallback(options, fn) instead");
  expectError(Error, () => native.callback({}, () => {}), "Deprecated. Use new JSCallback(options, fn) instead");
});

test("cc is exported", () => {
  assert.equal(typeof cffi.cc, "function");
});

test("a process that refuses code generation from strings gets an error that says why cffi needs it", () => {
  // cffi compiles the JavaScript side of declared functions, callback wrappers and layouts
  // with new Function, which `node --disallow-code-generation-from-strings` refuses
  const src = `
    const cffi = require(${JSON.stringify(cffiPath)});
    const out = [];
    const attempt = (what, f) => {
      try { f(); out.push(what + ": ok"); } catch (e) { out.push(what + ": " + e.code + " " + (e.cause && e.cause.constructor.name)); }
    };
    attempt("dlopen", () => cffi.dlopen(${JSON.stringify(fixtures.basic)}, { add_i32: { args: ["i32", "i32"], returns: "i32" } }));
    attempt("linkSymbols", () => cffi.linkSymbols({ f: { ptr: 4096, returns: "i32" } }));
    attempt("struct", () => cffi.struct({ x: "i32" }));
    // a callback with a plain declaration needs no compiled code until called often
    attempt("JSCallback", () => new cffi.JSCallback(() => 0, { args: ["i32"], returns: "i32" }).close());
    console.log(JSON.stringify(out));
    try { cffi.dlopen(${JSON.stringify(fixtures.basic)}, { add_i32: { args: ["i32", "i32"], returns: "i32" } }); } catch (e) { console.log(e.message); }`;
  const r = spawnSync(process.execPath, ["--disallow-code-generation-from-strings", "-e", src],
    { encoding: "utf8", env: { ...process.env, CFFI_JIT_THRESHOLD: "100" } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const [results, message] = r.stdout.trim().split("\n");
  assert.deepEqual(JSON.parse(results), [
    "dlopen: ERR_CFFI_NO_CODEGEN EvalError", "linkSymbols: ERR_CFFI_NO_CODEGEN EvalError",
    "struct: ERR_CFFI_NO_CODEGEN EvalError", "JSCallback: ok",
  ]);
  assert.match(message, /--disallow-code-generation-from-strings/);
});
