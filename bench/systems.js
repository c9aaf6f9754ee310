// systems.js: the systems the benchmark compares, each one adapting a library to one common
// shape so that bench/worker.js can run the same loops everywhere. Runs under Node 20, Bun
// and Node 26 (the runtime of each system), so it uses only plain CommonJS.
//
// A system is { runtime, env?, load(), open(mod, libPath, sigs), callback(mod, opened, fn, sig),
// adapt? }:
//   load()           requires the library (timed as the "require" setup cost);
//   open(...)        opens libbench and declares `sigs` (name -> bun:ffi-style { args,
//                    returns }), returns { fns: { name: function } } (timed as "dlopen");
//   callback(...)    turns a JS function (i32) -> i32 into what call_cb_i32 takes (written as
//                    a parenthesized function expression, which V8 compiles with this file,
//                    so that the first-callback timing holds the system's work alone);
//   adapt[op]        where a system cannot take the common arguments: { args? (the two
//                    argument lists, or a function of the common ones), wrap?(f, mod),
//                    buffer? (pass Buffers for Uint8Arrays), note?, skip? (a reason) };
//   cc               true for the cc() columns: open() compiles fixture/bench.c with cc()
//                    instead of opening libbench.so (its setup time is the "cc()" row);
//   threads          the "Threads and async" ops (absent: none of them, see `noThreads`):
//                    async(f) -> (...args) => Promise of f's result, or a string (the reason
//                    there is none); tsCallback(mod, opened, fn) -> a threadsafe callback
//                    void (i32, i32) that foreign threads may call, or a reason; tsNote (shown
//                    when that callback is not a queued one); blocking: true, or a reason
//                    (`callback()`'s function called from a foreign thread, which waits).
"use strict";
const path = require("path");

const benchDir = __dirname;
const root = path.resolve(benchDir, "..");
const addonPath = path.join(benchDir, "addon", "build", "Release", "bench_addon.node");

// ---- hand-written Node-API addon -------------------------------------------------------

// Declared functions must exist in the addon; the napi systems have no run-time declaration,
// so "open" only picks the functions (dlopen + declare is not applicable to them).
function pickAddon(obj, sigs) {
  const fns = {};
  for (const name of Object.keys(sigs)) {
    if (typeof obj[name] !== "function") throw new Error(`the addon has no ${name}`);
    fns[name] = obj[name];
  }
  return { fns };
}

const noAddonThreads = "not written: the addon has no async or thread code";

const napiUsual = {
  runtime: "node",
  linked: true,
  threads: { async: noAddonThreads, tsCallback: noAddonThreads, blocking: noAddonThreads },
  load: () => require(addonPath),
  open: (addon, lib, sigs) => pickAddon(addon.usual, sigs),
  callback: (addon, opened, fn) => fn,
};

// The floor: per-signature wrappers over the shared buffer, as cffi's JS layer writes them.
function bufferWrappers(addon) {
  const ab = addon.sharedBuffer;
  const i32 = new Int32Array(ab);
  const u32 = new Uint32Array(ab);
  const f64 = new Float64Array(ab);
  const u64 = new BigUint64Array(ab);
  const cb = new Int32Array(ab, addon.callbackOffset);
  const b = addon.buffer;
  return {
    noop: () => { b.noop(); },
    add_i32: (x, y) => { i32[2] = x; i32[4] = y; b.add_i32(); return i32[0]; },
    add_f64: (x, y) => { f64[1] = x; f64[2] = y; b.add_f64(); return f64[0]; },
    add_u64: (x, y) => { u64[1] = x; u64[2] = y; b.add_u64(); return u64[0]; },
    add6_i32: (p, q, r, s, t, u) => {
      i32[2] = p; i32[4] = q; i32[6] = r; i32[8] = s; i32[10] = t; i32[12] = u;
      b.add6_i32();
      return i32[0];
    },
    sum_u8: (view, n) => { f64[2] = n; b.sum_u8(view); return u32[0]; },
    hello: () => b.hello(),
    call_cb_i32: (id, n) => { i32[2] = id; i32[4] = n; b.call_cb_i32(); return i32[0]; },
    // A JS callback: the trampoline leaves the argument in the callback area and reads the
    // result from it.
    callback: (fn) => b.registerCallback(() => { cb[0] = fn(cb[2]); }),
  };
}

const napiBuffer = {
  runtime: "node",
  linked: true,
  threads: napiUsual.threads,
  load: () => {
    const addon = require(addonPath);
    return { addon, wrappers: bufferWrappers(addon) };
  },
  open: (mod, lib, sigs) => pickAddon(mod.wrappers, sigs),
  callback: (mod, opened, fn) => mod.wrappers.callback(fn),
};

// ---- bun:ffi API: cffi (this repository) and Bun itself ---------------------------------

const bunStyle = (load) => ({
  load,
  open: (ffi, lib, sigs) => {
    const l = ffi.dlopen(lib, sigs);
    return { fns: l.symbols, close: () => l.close() };
  },
  callback: (function callback(ffi, opened, fn, sig) { return new ffi.JSCallback(fn, sig); }),
  // FFIType numbers for bun:ffi type names (the "dlopen + 9 declarations, FFIType numbers" row)
  numbers: (ffi) => new Proxy({}, { get: (_, name) => ffi.FFIType[name] }),
  // read.i32(pointer, byteOffset) over `cells` (the read_i32 op)
  readI32: (ffi, cells) => ({ f: ffi.read.i32, p: ffi.ptr(cells) }),
  // The qsort workload: libc qsort of an Int32Array with a JS comparator that reads the two
  // elements through read.i32 (mode "read") or from the array itself (mode "direct").
  qsort: (ffi, mode) => {
    const libc = ffi.dlopen(LIBC, { qsort: { args: ["ptr", "usize", "usize", "function"], returns: "void" } });
    const read = ffi.read;
    let arr = null;
    let base = 0;
    const cmp = mode === "read"
      ? (a, b) => read.i32(a) - read.i32(b)
      : (a, b) => arr[(a - base) / 4] - arr[(b - base) / 4];
    const cb = new ffi.JSCallback(cmp, { args: ["ptr", "ptr"], returns: "i32" });
    const qsort = libc.symbols.qsort;
    return (a) => {
      arr = a;
      base = ffi.ptr(a);
      qsort(a, a.length, 4, cb);
    };
  },
});

const LIBC = "libc.so.6";
const TICK_SIG = { args: ["i32", "i32"], returns: "void", threadsafe: true };
const bunTsCallback = (ffi, opened, fn) => new ffi.JSCallback(fn, TICK_SIG);

const cffi = {
  runtime: "node",
  ...bunStyle(() => require(path.join(root, "lib", "index.js"))),
  // fn.async needs no receiver: the promise-returning function as it is.
  threads: { async: (f) => f.async, tsCallback: bunTsCallback, blocking: true },
};
const cffiNoJit = { ...cffi, env: { CFFI_JIT: "0" } };
// The same package under Node 26, beside node:ffi in the same runtime (Node-API is ABI-stable:
// the one cffi.node serves both).
const cffiNode26 = { ...cffi, runtime: "node26" };
// cffi and koffi under Node 24, the LTS most users run (the other columns run on the machine's
// Node 20): the same packages, another runtime.
const cffiNode24 = { ...cffi, runtime: "node24" };
const bun = {
  runtime: "bun",
  ...bunStyle(() => require("bun:ffi")),
  threads: {
    async: "bun:ffi has no async calls",
    tsCallback: bunTsCallback,
    // Tried: the process hung (bun:ffi documents only threadsafe callbacks for other threads).
    blocking: "not measured: hung in a trial (not a threadsafe callback)",
  },
};

// ---- cc(): the same functions compiled at run time by TinyCC --------------------------------

// The cc columns compile fixture/bench.c (the source gcc built libbench.so from) with cc()
// instead of opening libbench.so, then call exactly as their dlopen columns do: a cc column
// next to its dlopen column compares the same function built by TinyCC and by gcc -O2.
const ccSource = path.join(benchDir, "fixture", "bench.c");
const ccStyle = (base) => ({
  ...base,
  cc: true,
  open: (ffi, lib, sigs) => {
    const l = ffi.cc({ source: ccSource, symbols: sigs });
    return { fns: l.symbols, close: () => l.close() };
  },
});

const cffiCc = ccStyle(cffi);
const bunCc = ccStyle(bun);

// ---- koffi ------------------------------------------------------------------------------

const koffiTypes = {
  void: "void", i8: "int8_t", u8: "uint8_t", i16: "int16_t", u16: "uint16_t", i32: "int32_t",
  u32: "uint32_t", i64: "int64_t", u64: "uint64_t", usize: "size_t", f32: "float",
  f64: "double", ptr: "void *", cstring: "const char *",
};
// koffi's callback prototypes, declared once: before the setup rows' timed parts (worker.js
// calls declareCallback), or by the first declaration with a function-pointer argument.
const koffiDeclare = (k) => {
  if (!k.__benchProto) {
    k.__benchProto = k.proto("int32_t cb_i32(int32_t)");
    k.__benchTick = k.proto("void tick_fn(int32_t, int32_t)");
  }
};

// koffi and ffi-napi take a Node-style callback as the last argument of f.async.
const promised = (f) => (...args) => new Promise((resolve, reject) => {
  f.async(...args, (err, res) => (err ? reject(err) : resolve(res)));
});

const koffi = {
  runtime: "node",
  load: () => require(path.join(benchDir, "node_modules", "koffi")),
  open: (k, lib, sigs) => {
    const l = k.load(lib);
    const fns = {};
    for (const [name, s] of Object.entries(sigs)) {
      const type = (t) => (t === "function" ? (koffiDeclare(k), s.cb === "tick" ? "tick_fn *" : "cb_i32 *") : koffiTypes[t]);
      fns[name] = l.func(name, type(s.returns), s.args.map(type));
    }
    return { fns, close: () => l.unload() };
  },
  declareCallback: koffiDeclare,
  // A registered callback is a stable C pointer: the fast way to pass the same callback often.
  callback: (function callback(k, opened, fn) { koffiDeclare(k); return k.register(fn, k.pointer(k.__benchProto)); }),
  // koffi.decode(pointer, byteOffset, type); the pointer object from memchr over `cells`
  readI32: (k, cells) => {
    const memchr = k.load(LIBC).func("void *memchr(const void *s, int c, size_t n)");
    return { f: (p, off) => k.decode(p, off, "int32_t"), p: memchr(cells, cells[0] & 0xff, 4) };
  },
  // Pointers reach the comparator as koffi pointer objects: koffi.decode reads one, and
  // koffi.address gives its address (a BigInt; memchr's result gives the array's).
  qsort: (k, mode) => {
    const libc = k.load(LIBC);
    const proto = k.proto("int bench_qsort_cmp(const void *, const void *)");
    const qsort = libc.func("void qsort(void *base, size_t n, size_t size, bench_qsort_cmp *cmp)");
    const memchr = libc.func("void *memchr(const void *s, int c, size_t n)");
    let arr = null;
    let base = 0n;
    const cmp = mode === "read"
      ? (a, b) => k.decode(a, "int32_t") - k.decode(b, "int32_t")
      : (a, b) => arr[Number(k.address(a) - base) / 4] - arr[Number(k.address(b) - base) / 4];
    const cb = k.register(cmp, k.pointer(proto));
    return (a) => {
      arr = a;
      base = k.address(memchr(a, a[0] & 0xff, 4));
      qsort(a, a.length, 4, cb);
    };
  },
  adapt: {
    add_u64: { note: "returns a number when the value is safe, not a BigInt" },
  },
  threads: {
    async: promised,
    tsCallback: (k, opened, fn) => k.register(fn, k.pointer(k.__benchTick)),
    tsNote: "koffi has no queued mode: each call from the thread waits until JS has run it (its blocking mode, the closest equivalent)",
    blocking: true,
  },
};

// ---- ffi-napi + ref-napi -----------------------------------------------------------------

const ffiNapiTypes = {
  void: "void", i8: "int8", u8: "uint8", i16: "int16", u16: "uint16", i32: "int32",
  u32: "uint32", i64: "int64", u64: "uint64", usize: "size_t", f32: "float", f64: "double",
  ptr: "pointer", cstring: "string", function: "pointer",
};

const ffiNapi = {
  runtime: "node",
  load: () => require(path.join(benchDir, "node_modules", "ffi-napi")),
  open: (ffi, lib, sigs) => {
    const decl = {};
    for (const [name, s] of Object.entries(sigs)) {
      decl[name] = [ffiNapiTypes[s.returns], s.args.map((t) => ffiNapiTypes[t])];
    }
    return { fns: ffi.Library(lib, decl) };
  },
  callback: (function callback(ffi, opened, fn) { return ffi.Callback("int32", ["int32"], fn); }),
  adapt: {
    // ref-napi reads and writes 64-bit integers as numbers or strings, never BigInts.
    add_u64: { args: [[1, 2], [3, 4]], note: "numbers in and out: ref-napi has no BigInt" },
    // ref-napi passes only a Buffer as a pointer.
    sum_u8: { buffer: true, note: "a Buffer (ref-napi takes no Uint8Array)" },
  },
  threads: {
    async: promised,
    // Tried with ffi-napi 4.0.3: both hung the process (its JS thread stopped responding).
    tsCallback: "not measured: callbacks from a foreign thread hung in a trial",
    blocking: "not measured: callbacks from a foreign thread hung in a trial",
  },
};

// ---- node:ffi (Node >= 26) ---------------------------------------------------------------

const nodeFfiTypes = {
  void: "void", i8: "i8", u8: "u8", i16: "i16", u16: "u16", i32: "i32", u32: "u32",
  i64: "i64", u64: "u64", usize: "u64", f32: "f32", f64: "f64", ptr: "buffer",
  cstring: "string", function: "pointer",
};
// node:ffi returns no strings: a char * comes back as a pointer (a BigInt) to decode.
const nodeFfiReturns = { ...nodeFfiTypes, cstring: "pointer" };

const nodeFfi = {
  runtime: "node26",
  load: () => require("node:ffi"),
  open: (ffi, lib, sigs) => {
    const l = new ffi.DynamicLibrary(lib);
    const fns = {};
    for (const [name, s] of Object.entries(sigs)) {
      fns[name] = l.getFunction(name, {
        arguments: s.args.map((t) => nodeFfiTypes[t]),
        return: nodeFfiReturns[s.returns],
      });
    }
    return { fns, lib: l, close: () => l.close() };
  },
  callback: (function callback(ffi, opened, fn) { return opened.lib.registerCallback({ arguments: ["i32"], return: "i32" }, fn); }),
  // ffi.getInt32(pointer, byteOffset), the pointer a BigInt
  readI32: (ffi, cells) => ({ f: ffi.getInt32, p: ffi.getRawPointer(cells) }),
  // Pointers reach the comparator as BigInts: ffi.getInt32 reads one.
  qsort: (ffi, mode) => {
    const libc = new ffi.DynamicLibrary(LIBC);
    const qsort = libc.getFunction("qsort", { arguments: ["buffer", "u64", "u64", "pointer"], return: "void" });
    let arr = null;
    let base = 0n;
    const cmp = mode === "read"
      ? (a, b) => ffi.getInt32(a) - ffi.getInt32(b)
      : (a, b) => arr[Number(a - base) / 4] - arr[Number(b - base) / 4];
    const cb = libc.registerCallback({ arguments: ["pointer", "pointer"], return: "i32" }, cmp);
    return (a) => {
      arr = a;
      base = ffi.getRawPointer(a);
      qsort(a, BigInt(a.length), 4n, cb);
    };
  },
  adapt: {
    hello: { wrap: (f, ffi) => () => ffi.toString(f()), note: "returns a pointer, decoded with ffi.toString()" },
    sum_u8: {
      args: (lists) => lists.map(([view, n]) => [view, BigInt(n)]),
      note: "size_t as a BigInt (node:ffi takes no number for u64)" },
  },
};

// Systems without a `threads` entry.
const noThreads = "not adapted to the thread and async ops";

module.exports = {
  systems: {
    "cffi": cffi,
    "cffi (CFFI_JIT=0)": cffiNoJit,
    "napi-usual": napiUsual,
    "napi-buffer": napiBuffer,
    "koffi": koffi,
    "ffi-napi": ffiNapi,
    "bun": bun,
    "cffi-cc": cffiCc,
    "bun-cc": bunCc,
    "node:ffi": nodeFfi,
    "cffi (Node 26)": cffiNode26,
    "cffi (Node 24)": cffiNode24,
    "koffi (Node 24)": { ...koffi, runtime: "node24" },
  },
  addonPath,
  benchDir,
  noThreads,
};
