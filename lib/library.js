// library.js: dlopen, linkSymbols, CFunction and viewSource (SPEC 3-5, SPEC 13), and JSCallback
// (SPEC 8: here rather than in a module of its own, whose loading cost ~0.3 ms of the first
// `new JSCallback`). Validates the
// declarations, resolves addresses, asks the native side for one call function per symbol
// (binding.link: the batch, libffi, later JIT-compiled as a whole) and for the JS source of
// the symbol functions (src/jsgen.c), and compiles that (bindBatch).
//
// Functions on the dlopen path are written `const f = (function f(...) { ... });` here and in
// types.js: V8 compiles a parenthesised function along with its script instead of on its
// first call, which costs less in all (in a fresh process, dlopen + 9 declarations went from
// 0.85 to 0.48 ms and require() from 2.42 to 2.60 ms).
"use strict";
const {
  binding, later, state, helpers, codedTypeError, codedError, codedRangeError, ReflectApply, newFunction, rejected, zlist,
  compiledFor, H, pointerAt, MAX_ARGS, builtins: { uncurry },
} = require("./abi.js");
const { readSignature, T } = require("./types.js");
const { fileURLToPath } = require("node:url");
const path = require("node:path");

const MAX_U64 = (1n << 64n) - 1n;
const ArrayCtor = Array;

// lib/async.js, loaded on the first .async call (most programs never make one).
let callAsync = null;
let asyncParts = null;

const isPlainObject = (function isPlainObject(v) {
  return v !== null && typeof v === "object";
});

// The declarations of dlopen/linkSymbols/viewSource (where: "call", "viewsource") and cc
// (where: "cc", whose messages SPEC 15 words differently) as [{ name, cname, def, sig }]:
// cname is the C symbol, the declaration's `name` when it has one (SPEC 17.5: one C function
// declared under several keys, e.g. a variadic one with different argument types).
const readSymbols = (function readSymbols(symbols, where) {
  if (!isPlainObject(symbols) || Array.isArray(symbols)) {
    if (where === "cc") throw codedTypeError("ERR_INVALID_ARG_TYPE", "Expected symbols to be an object");
    throw new TypeError("Expected an options object with symbol names");
  }
  const names = Object.keys(symbols);
  if (names.length === 0) throw new TypeError(where === "cc" ? "Expected at least one exported symbol" : "Expected at least one symbol");
  const out = [];
  for (const name of names) {
    if (name.includes("\0")) throw nulError("symbol name", name);
    const def = symbols[name];
    if (!isPlainObject(def)) throw new TypeError(`Expected an object for key "${name}"`);
    let cname = def.name;
    if (cname === undefined) cname = name;
    else if (typeof cname !== "string" || cname === "") throw new TypeError(`Expected "name" of "${name}" to be a symbol name string`);
    else if (cname.includes("\0")) throw nulError("symbol name", cname);
    out.push({ name, cname, def, sig: readSignature(def, where) });
  }
  return out;
});

// A name or path with a NUL inside, which C would silently cut short there (SPEC 16).
const nulError = (function nulError(what, value) {
  return codedTypeError("ERR_INVALID_ARG_VALUE",
    `The ${what} must be a string without null bytes. Received ${JSON.stringify(value)}`);
});

// `symbols` of a dlopen/linkSymbols result: a plain object with the functions under the
// given keys; "__proto__" is defined as a key, never taken as the prototype.
const symbolsObject = (function symbolsObject(list, fns) {
  const out = {};
  for (let i = 0; i < list.length; i++) {
    const name = list[i].name;
    if (name === "__proto__") {
      Object.defineProperty(out, name, { value: fns[i], writable: true, enumerable: true, configurable: true });
    } else {
      out[name] = fns[i];
    }
  }
  return out;
});

// A `ptr` field: number or BigInt, 1 ... 2^64-1.
function readPtrField(name, v) {
  if (v === undefined || v === null || v === 0 || v === 0n || (typeof v !== "number" && typeof v !== "bigint")) {
    throw new TypeError(`Symbol "${name}" is missing a "ptr" field. When using linkSymbols() or CFunction(), ` +
      'you must provide a "ptr" field with the memory address of the native function.');
  }
  if (typeof v === "number") {
    if (!(v >= 0) || v >= 2 ** 64 || !Number.isInteger(v)) {
      if (v < 0 || v >= 2 ** 64) throw new RangeError(`Symbol "${name}": ptr is out of range`);
      throw new TypeError(`Symbol "${name}": ptr must be an integer`);
    }
    return v;
  }
  if (v < 0n || v > MAX_U64) throw new RangeError(`Symbol "${name}": ptr is out of range`);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

// The functions of one batch (dlopen, linkSymbols or CFunction), from the JS source the
// native side wrote for it (src/jsgen.c), compiled by one `new Function` (each costs a fixed
// amount); every function has code of its own, so its call sites stay monomorphic.
// `fns[i](a0, ...)` writes its arguments into the buffer, calls its native entry and reads the
// result. Until `swap(entries)` names the fast entries (JIT trampolines, or the libffi calls
// themselves where there are none), each call is counted by `count(i)` before it writes
// anything (the `threshold`-th calls `tierUp()`, which compiles the batch and swaps) and goes
// to libffi through the batch's `callAt`, which the generated code calls directly. The fast
// entry's call site only ever sees one target, so V8 can call it directly. A large batch
// keeps the array given to swap() as it is: it must not change afterwards.
// After `close()`, the functions throw `closedError()` and `asyncs[i]` reject with it.
// Nothing user code can replace runs between a call's first slot write and its native call
// (SPEC 16): see lib/abi.js.
// `key` is what callAt takes (the `key` of binding.link's batch); the generated functions keep the
// batch alive through `count`, whose tierUp holds the handle.
const bindBatch = (function bindBatch(key, n, source, sigs, closedError, tierUp, threshold, callAsync) {
  let isClosed = false;
  // a plain array: a typed array's first increment cost 7-16 us on Node 26 (3 us on Node 20),
  // most of a first call there; this one's costs 1-2 us on both
  const counts = new ArrayCtor(n);
  for (let i = 0; i < n; i++) counts[i] = 0;
  const count = (function count(i) {
    if (++counts[i] >= threshold && !isClosed) tierUp();
  });
  const made = newFunction(["H", "S", "A", "K", "Z", source])(helpers, count, binding.callAt, key, zlist(sigs));
  const fns = made[0], set = made[1];
  const asyncs = new ArrayCtor(n);
  for (let i = 0; i < n; i++) {
    // a cc() function taking or returning Node-API values can only run on the JS thread
    const args = sigs[i].args;
    let napi = sigs[i].returns === T.napi_value;
    for (let k = 0; k < args.length; k++) if (args[k] === T.napi_env || args[k] === T.napi_value) napi = true;
    asyncs[i] = (...args) => {
      if (isClosed) return rejected(closedError());
      if (napi) return rejected(new TypeError("napi_env / napi_value functions cannot run with .async: Node-API works only on the JS thread"));
      const parts = (asyncParts ??= require("./async.js").asyncParts)(sigs[i]);
      try {
        ReflectApply(parts.write, undefined, args);
      } catch (e) {
        return rejected(e);
      }
      return callAsync(i, parts.read, args);
    };
  }
  return {
    fns,
    asyncs,
    swap(entries) {
      if (!isClosed) set(entries);
    },
    close() {
      isClosed = true;
      const thrower = () => { throw closedError(); };
      set(new ArrayCtor(n).fill(thrower));
    },
  };
});

// Builds the JS functions for resolved entries [{ name, sig, addr }]. Returns the functions
// (same order) and a close() that disables them all. Until the batch tiers up, calls go
// through one native function for all (binding.callAt); a symbol gets a libffi call function
// of its own (binding.later().entry) only if it stays on libffi after tiering up. Declaring many
// functions and calling few stays cheap.
// Tiering: every function starts on its libffi entry. After state.jitThreshold calls of any
// of them (CFFI_JIT_THRESHOLD; 0: at once), tierUp compiles the whole batch with the JIT in
// one TinyCC state and swaps each wrapper to its compiled trampoline (or, where the JIT
// cannot help, to the libffi entry without counting). Declaring stays cheap, functions
// called a few times never pay for compiling, and hot ones get the JIT. state.jit is false
// with CFFI_JIT=0; whether the system gives executable memory is only asked when compiling.
const bindAll = (function bindAll(entries, closedMessage, owner) {
  const n = entries.length;
  const list = new ArrayCtor(n);
  const sigs = new ArrayCtor(n);
  for (let i = 0; i < n; i++) {
    sigs[i] = entries[i].sig;
    list[i] = [entries[i].addr, sigs[i].returns, sigs[i].args, entries[i].name];
  }
  const handle = binding.link(list);
  const source = handle.source, key = handle.key;
  handle.source = null; // the handle lives as long as the functions: their source need not
  let tiered = false;
  const tierUp = () => {
    if (tiered) return;
    tiered = true;
    let jits = [];
    try {
      if (state.jit) jits = later().jit(handle);
    } catch {
      // compiling never changes behaviour: whatever went wrong, the batch stays on libffi
    }
    const fast = new ArrayCtor(n);
    const { entry } = later();
    for (let i = 0; i < n; i++) fast[i] = jits[i] || entry(handle, i);
    batch.swap(fast);
  };
  const callAsyncAt = (i, read, args) =>
    (callAsync ??= require("./async.js").callAsync)(handle, i, read, sigs[i], owner, args);
  const batch = bindBatch(key, n, source, sigs, () => new Error(closedMessage), tierUp, state.jitThreshold, callAsyncAt);
  const fns = batch.fns;
  for (let i = 0; i < n; i++) {
    const f = fns[i];
    // the generated source names it when the name is a plain identifier (src/jsgen.c)
    if (f.name !== entries[i].name) Object.defineProperty(f, "name", { value: entries[i].name, configurable: true });
    f.ptr = entries[i].addr;
    f.native = f;
    f.async = batch.asyncs[i];
  }
  if (!state.jit || state.jitThreshold === 0) tierUp();
  return {
    fns,
    close() {
      batch.close();
      // the native side (libffi data, compiled code) goes now, without waiting for the event
      // loop; or once the outermost call returned if one is running, or once the last .async
      // call settled (src/library.c)
      later().release(handle);
    },
  };
});

const libraryPath = (function libraryPath(p) {
  if (p === null) return null;
  if (p === "") throw new TypeError("Invalid library name");
  const file = filePath(p, "library path");
  if (file !== undefined) return file;
  throw codedTypeError("ERR_INVALID_ARG_TYPE",
    `The "path" argument must be a string, a URL or null. Received ${p === undefined ? "undefined" : typeof p}`);
});

// A file given as a path string, a file: URL string or a URL -> its path, undefined for any
// other value; a NUL inside -> ERR_INVALID_ARG_VALUE naming `what` (dlopen's library path,
// cc's sources).
const filePath = (function filePath(p, what) {
  let file;
  if (typeof p === "string") file = p.startsWith("file:") ? fileURLToPath(p) : p;
  else if (p instanceof URL) file = fileURLToPath(p);
  else return undefined;
  if (file.includes("\0")) throw nulError(what, typeof p === "string" ? p : p.href);
  return file;
});

// Longer names are refused before glibc sees them: its dlopen overflows its stack on a name of
// ~16 MB without a slash (a plain C program crashes the same way).
const PATH_MAX = 4096;

// `file`: a path from libraryPath(), or null for the process itself.
const openLibrary = (function openLibrary(file) {
  if (file !== null && file.length >= PATH_MAX / 3 && Buffer.byteLength(file) >= PATH_MAX) {
    const err = codedError("ERR_DLOPEN_FAILED",
      `Failed to open library "${file.slice(0, 64)}\u2026" (${Buffer.byteLength(file)} bytes): File name too long`);
    err.syscall = "dlopen";
    throw err;
  }
  let h = binding.open(file);
  if (typeof h === "string" && file !== null && !path.isAbsolute(file)) {
    const retry = binding.open(path.resolve(process.cwd(), file));
    if (typeof retry !== "string") h = retry;
  }
  if (typeof h === "string") {
    const err = codedError("ERR_DLOPEN_FAILED", `Failed to open library "${file}": ${h}`);
    err.syscall = "dlopen";
    throw err;
  }
  return { handle: h, file };
});

// The addresses of `names` in the library `handle`, null where one is missing:
// binding.sym leaves those of up to MAX_ARGS + 1 names in the shared buffer's slots, each as
// a pointer result.
const lookUp = (function lookUp(handle, names) {
  const n = names.length;
  const out = new ArrayCtor(n);
  for (let from = 0; from < n; from += MAX_ARGS + 1) {
    binding.sym(handle, names, from);
    for (let s = 0; s <= MAX_ARGS && from + s < n; s++) out[from + s] = pointerAt(s);
  }
  return out;
});

const dlopen = (function dlopen(p, symbols) {
  const file = libraryPath(p); // argument errors first
  const list = readSymbols(symbols, "call");
  const { handle } = openLibrary(file);
  const lib = { handle, closed: false, inflight: 0 };
  try {
    // a `ptr` field overrides the lookup; the others are looked up in one native call
    const names = [];
    for (const e of list) {
      e.ptr = e.def.ptr; // read once: it may be a getter
      if (e.ptr === undefined || e.ptr === null) names.push(e.cname);
    }
    const found = lookUp(handle, names);
    let k = 0;
    for (const e of list) {
      if (e.ptr !== undefined && e.ptr !== null) {
        e.addr = readPtrField(e.name, e.ptr);
        continue;
      }
      const addr = found[k++];
      if (addr === null) {
        throw codedTypeError("ERR_INVALID_ARG_TYPE", `Symbol "${e.cname}" not found in "${file === null ? "(process)" : file}"`);
      }
      e.addr = addr;
    }
  } catch (err) {
    binding.close(handle);
    throw err;
  }
  return linkLibrary(list, handle, lib);
});

// The { symbols, close } of an open library handle (binding.open, or cc()'s compiled code)
// whose entries [{ name, sig, addr }] are resolved. close() disables the functions, then
// unloads the handle: at once, once the outermost synchronous call returned, or when the last
// async call settled (lib/async.js).
const linkLibrary = (function linkLibrary(list, handle, lib = { handle, closed: false, inflight: 0 }) {
  let bound;
  try {
    bound = bindAll(list, "library is closed", lib);
  } catch (err) {
    binding.close(handle);
    throw err;
  }
  const out = symbolsObject(list, bound.fns);
  const close = () => {
    if (lib.closed) return;
    lib.closed = true;
    bound.close();
    if (lib.inflight !== 0) return; // lib/async.js unloads it when the last call settles
    // Closed from a callback while C code (maybe this library's) is on the stack: unload once
    // the outermost call has returned.
    if (later().inCall()) setImmediate(() => binding.close(handle));
    else binding.close(handle);
  };
  return { symbols: out, close };
});

function linkSymbols(symbols) {
  const list = readSymbols(symbols, "call");
  for (const e of list) e.addr = readPtrField(e.name, e.def.ptr);
  const lib = { handle: null, closed: false, inflight: 0 };
  const bound = bindAll(list, "library is closed", lib);
  const out = symbolsObject(list, bound.fns);
  return {
    symbols: out,
    close() {
      if (lib.closed) return;
      lib.closed = true;
      bound.close();
    },
  };
}

function CFunction(def) {
  if (!isPlainObject(def)) throw new TypeError('Symbol "CFunction" is missing a "ptr" field. When using linkSymbols() or CFunction(), ' +
    'you must provide a "ptr" field with the memory address of the native function.');
  const sig = readSignature(def, "call");
  const addr = readPtrField("CFunction", def.ptr);
  const lib = { handle: null, closed: false, inflight: 0 };
  const bound = bindAll([{ name: "CFunction", def, sig, addr }], "function is closed", lib);
  const f = bound.fns[0];
  f.close = () => {
    if (lib.closed) return undefined;
    lib.closed = true;
    bound.close();
    return undefined;
  };
  return f;
}

const LIBFFI_NOTE = (name) => `// ${name}: this signature runs on the libffi path (no JIT-compiled trampoline)`;

function viewSource(symbols, isCallback = false) {
  // With the JIT off (CFFI_JIT=0, or no executable memory) every signature runs on libffi, and
  // says so.
  if (isCallback) {
    if (!isPlainObject(symbols)) throw new TypeError("Expected an object");
    const sig = readSignature(symbols, "callback");
    const { jitAvailable, source } = later();
    // With the JIT, a JSCallback starts on a direct entry or a libffi closure and, after
    // 100 x CFFI_JIT_THRESHOLD calls on its thread, runs this trampoline.
    return (jitAvailable() && source(sig.returns, sig.args, true)) || LIBFFI_NOTE("JSCallback");
  }
  const list = readSymbols(symbols, "viewsource");
  const { jitAvailable, source } = later();
  const jit = jitAvailable();
  return list.map((e) => (jit && source(e.sig.returns, e.sig.args, false)) || LIBFFI_NOTE(e.name));
}

// ---- JSCallback -----------------------------------------------------------------------------
// The native side (src/callback.c) gives the function a C address, `.ptr` (a direct entry or a
// libffi closure, later a compiled trampoline behind the same address); when C calls it, the
// per-signature wrapper (makeCallbackWrapper) reads the C arguments from the shared buffer and
// calls `fn`.
//
// A signature's wrapper is compiled only once one of its callbacks has been called
// state.jitThreshold times (or at once, with CFFI_JIT_THRESHOLD=0 or layouts by value). Until
// then the native side calls `fn` itself with arguments it converts ("cold" calls): most of
// the cost of a first `new JSCallback` was V8 compiling and first running that wrapper, which
// a callback called a few times never needs.
//
// A declaration of the usual kind (type names or numbers, no layouts) is read by the native
// side too (src/decl.c, binding.callbackOf), which then makes the callback cold; anything
// else, and every error, goes through readSignature and createCallback here.

// The four functions below are plain declarations, compiled on their first call: a
// `new JSCallback` of the usual kind runs none of them (binding.callbackOf), a cold callback
// calls coldLater when it tiers up. Parenthesized, they cost require() ~50 us more (paired
// median of 25).

// (userFn) -> the function native code calls for a JSCallback of `sig`: reads the C arguments
// from the buffer, calls userFn, writes its result into slot 0. One per signature.
function makeCallbackWrapper(sig) {
  return compiledFor(binding.jsCallback, sig);
}

// What a cold callback of `fn` hands over (src/callback.c, cb_later): with tierUp, fn's
// wrapper, which the native side calls from then on; else a result r of fn that the native
// side does not store itself (an object for a pointer, a string for a number, ...), stored by
// the wrapper's own code: same values, same errors.
function coldLater(tierUp, r, fn, sig) {
  const make = makeCallbackWrapper(sig);
  return tierUp ? make(fn) : make(() => r)();
}

// Can the native side call a callback of `sig` itself? Not with layouts: their codecs are JS.
function startsCold(sig) {
  if (state.jitThreshold === 0 || typeof sig.returns === "object") return false;
  for (let k = 0; k < sig.args.length; k++) if (typeof sig.args[k] === "object") return false;
  return true;
}

// The native side of `new JSCallback(fn, def)` where binding.callbackOf declined it: the
// callback's handle (see JSCallback for the rest of what it returns).
function createCallback(fn, def) {
  if (def === null || typeof def !== "object") throw new TypeError("Expected object");
  if (typeof fn !== "function") throw new TypeError("Expected callback function");
  const sig = readSignature(def, "callback");
  const threadsafe = !!def.threadsafe;
  const makeWrapper = compiledFor(binding.jsCallback, sig, true); // this signature's, if compiled
  return makeWrapper === undefined && startsCold(sig)
    ? binding.callback(fn, sig.returns, sig.args, threadsafe, coldLater)
    : binding.callback((makeWrapper ?? makeCallbackWrapper(sig))(fn), sig.returns, sig.args, threadsafe, undefined);
}

// What each JSCallback keeps out of reach of user code: `callbacks` holds its native handle
// (null once closed); handleOf(x) is undefined for anything else. `pinned` holds, only while
// `.async` calls in flight were passed it, their count and whether close() was called
// meanwhile (closing: freed when the last pin goes). The methods below are the only ones that
// see them; another object as `this` is a TypeError, as a class's private field would be. The
// handle alone, not an object per callback: the object literal cost ~1 us of a second
// `new JSCallback` (paired fresh processes), which V8 runs without feedback yet.
const callbacks = new WeakMap();
const pinned = new WeakMap();
const weakGet = uncurry(WeakMap.prototype.get);
const weakSet = uncurry(WeakMap.prototype.set);
const weakDelete = uncurry(WeakMap.prototype.delete);
const handleOf = (cb) => (cb !== null && typeof cb === "object" ? weakGet(callbacks, cb) : undefined);

// JSCallback is a function, not a class, though it behaves as one (`new` only, methods on its
// prototype, not enumerable): V8 compiles a parenthesized function with this module, where a
// class constructor is compiled on the first `new` of the process, ~30 us of the first
// JSCallback (141.7 -> 111.2 us, medians of 21 fresh processes).
const JSCallback = (function JSCallback(fn, def) {
  if (new.target === undefined) throw new TypeError("Class constructor JSCallback cannot be invoked without 'new'");
  // def's fields are read here (JS reads them cheaper than Node-API), their types natively
  const handle = (typeof fn === "function" && def !== null && typeof def === "object" &&
    binding.callbackOf(fn, def.args, def.returns, def.threadsafe, coldLater)) || createCallback(fn, def);
  // the native side leaves the address in slot 0 as a pointer result (src/cffi.h: never NULL
  // here) and `threadsafe` in slot 1: one value returned, not an array of three
  this.ptr = pointerAt(0);
  this.threadsafe = H.I32[2] !== 0;
  weakSet(callbacks, this, handle);
});

const methods = {
  close() {
    const h = handleOf(this);
    if (h === undefined) throw new TypeError("JSCallback.prototype.close called on an object that is not a JSCallback");
    if (h === null) return;
    const p = weakGet(pinned, this);
    if (p !== undefined && p.closing) return;
    this.ptr = null;
    if (p !== undefined) {
      p.closing = true;
      return;
    }
    weakSet(callbacks, this, null);
    binding.callbackClose(h);
  },
  [Symbol.toPrimitive]() {
    return this.ptr ?? 0;
  },
};
if (typeof Symbol.dispose === "symbol") {
  methods[Symbol.dispose] = function dispose() {
    this.close();
  };
}
for (const key of Reflect.ownKeys(methods)) {
  Object.defineProperty(JSCallback.prototype, key, { value: methods[key], writable: true, enumerable: false, configurable: true });
}
Object.defineProperty(JSCallback, "prototype", { writable: false });

// pin(cb) / unpin(cb): an `.async` call that was given `cb` keeps its native side alive until
// the call settles, because the C function may still call it after the JS caller closed it.
const pin = (cb) => {
  const h = handleOf(cb);
  if (h === undefined || h === null) return false;
  const p = weakGet(pinned, cb);
  if (p === undefined) weakSet(pinned, cb, { n: 1, closing: false });
  else if (p.closing) return false;
  else p.n++;
  return true;
};
const unpin = (cb) => {
  const p = weakGet(pinned, cb);
  if (--p.n > 0) return;
  weakDelete(pinned, cb);
  if (p.closing) ReflectApply(methods.close, cb, []); // the close() it deferred
};

module.exports = {
  __proto__: null, // a dictionary at once (lib/abi.js's exports say why)
  dlopen, linkSymbols, CFunction, viewSource, readPtrField, openLibrary, linkLibrary, readSymbols, nulError, filePath, T,
  JSCallback, pin, unpin,
};
