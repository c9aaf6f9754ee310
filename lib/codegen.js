// codegen.js: builds the per-signature JS functions of the shared-buffer convention.
//  - makeCallers(sigs): one factory per signature,
//    (call, closedError, callAsync, tierUp, threshold) -> { fn, async, read, swap, close }:
//    `fn(a0, …)` writes its arguments into the buffer, calls the native trampoline and reads
//    the result. Until `swap(entry)` names the fast entry (a JIT trampoline, or `call`
//    itself when there is none), calls go through the libffi entry `call` and are counted;
//    the `threshold`-th calls `tierUp()`, which compiles the batch and swaps. The fast
//    entry's call site only ever sees one target, so V8 can call it directly. `read()` reads
//    a result left in slot 0 (async completions); after `close()`, `fn` throws
//    `closedError()` and `async` rejects with it.
//  - makeCallbackWrapper(sig, userFn): the function native code calls for a JSCallback: reads
//    the C arguments from the buffer, calls userFn, writes its result into slot 0.
// One source text per signature, cached; the new ones of one declaration are compiled
// together by a single `new Function` (each call of it has a fixed cost).
"use strict";
const abi = require("./abi.js");
const { T, cName } = require("./types.js");

const INT32 = new Set([T.char, T.int8_t, T.uint8_t, T.int16_t, T.uint16_t, T.int32_t, T.uint32_t]);
const I64 = new Set([T.int64_t, T.uint64_t, T.i64_fast, T.u64_fast]);
const PTRLIKE = new Set([T.ptr, T.cstring, T.function, T.buffer]);

const MAX_SAFE = "9007199254740991";

// The common case of an address argument, an exact positive number: the double goes into the
// slot with tag 1 (CFFI_TAG_F64); `else` continues with the other cases.
const addressFast = (v, s) =>
  `if (typeof ${v} === "number" && ${v} > 0 && ${v} <= ${MAX_SAFE} && ${v} % 1 === 0) { F64[${s}] = ${v}; T[${s}] = 1; } else `;

// `function` values that are objects (a JSCallback, a symbol function) become their `.ptr`.
const objectAddress = (v) =>
  `if (${v} !== null && (typeof ${v} === "object" || typeof ${v} === "function")) ${v} = functionAddress(${v});`;

// Statement(s) writing JS value `v` (an expression naming a variable) into slot `s`.
// `idx` is what error messages name: a 0-based argument index, or a quoted label.
function emitWrite(type, v, s, idx, missing) {
  const cn = JSON.stringify(cName[type]);
  if (INT32.has(type)) return `if (typeof ${v} === "number") I32[${2 * s}] = ${v}; else I32[${2 * s}] = toInt32(${v}, ${idx}, ${cn});`;
  if (type === T.bool) return `I32[${2 * s}] = ${v} ? 1 : 0;`;
  if (type === T.double || type === T.float) {
    const slow = missing ? `(${missing} ? 0 : toF64(${v}, ${idx}, ${cn}))` : `toF64(${v}, ${idx}, ${cn})`;
    return `F64[${s}] = typeof ${v} === "number" ? ${v} : ${slow};`;
  }
  if (I64.has(type)) {
    return `if (typeof ${v} === "bigint") { B64[${s}] = ${v}; T[${s}] = 0; } else write64(${v}, ${s}, ${idx}, ${cn});`;
  }
  if (type === T.ptr || type === T.cstring) {
    // a view: tag 2 (CFFI_TAG_VIEW), the trampoline reads it from its JS arguments
    return addressFast(v, s) +
      `if (ArrayBuffer.isView(${v})) T[${s}] = 2; else writePointer(${v}, ${s}, ${type === T.cstring});`;
  }
  if (type === T.function || type === T.buffer) {
    const miss = missing ? `if (${missing}) { F64[${s}] = 0; T[${s}] = 1; } else ` : "";
    return type === T.function
      ? `${addressFast(v, s)}${miss}writeFunction(${v}, ${s});`
      : `${miss}writeBuffer(${v}, ${s});`;
  }
  throw new Error(`cffi internal: no writer for type ${type}`);
}

// Expression reading slot `s` as a JS value of `type` (results and callback arguments).
// Result tags: 0 a number, 1 a BigInt, 2 null (CFFI_RTAG_* in src/cffi.h).
function emitRead(type, s) {
  switch (type) {
    case T.uint32_t: return `U32[${2 * s}]`;
    case T.bool: return `(I32[${2 * s}] !== 0)`;
    case T.double: case T.float: return `F64[${s}]`;
    case T.int64_t: return `B64[${s}]`;
    case T.uint64_t: return `BU64[${s}]`;
    case T.i64_fast: return `(T[${s}] === 0 ? F64[${s}] : B64[${s}])`;
    case T.u64_fast: return `(T[${s}] === 0 ? F64[${s}] : BU64[${s}])`;
    case T.ptr: case T.function: case T.cstring: case T.buffer:
      return `(T[${s}] === 0 ? F64[${s}] : T[${s}] === 2 ? null : BU64[${s}])`;
    case T.void: return "undefined";
    default:
      if (INT32.has(type)) return `I32[${2 * s}]`;
      throw new Error(`cffi internal: no reader for type ${type}`);
  }
}

const PRELUDE = "const { I32, U32, F64, B64, BU64, T } = H.H;\n" +
  "const { toInt32, toF64, write64, writePointer, writeFunction, functionAddress, writeBuffer, bufferLength } = H;\n";
const CB_PRELUDE = "const addressOf = H.addressOf;\n";

function callerSource(sig) {
  const n = sig.args.length;
  const params = Array.from({ length: n }, (_, k) => `a${k}`);
  const passArgs = sig.args.some((t) => PTRLIKE.has(t));
  const needsCount = sig.args.some((t) => t === T.function || t === T.buffer || t === T.double || t === T.float);
  const body = [];
  // JSCallbacks' addresses first: reading `.ptr` may run user code (see abi.functionAddress)
  for (let k = 0; k < n; k++) {
    if (sig.args[k] === T.function) body.push(objectAddress(`a${k}`));
  }
  let lastBuffer = null;
  for (let k = 0; k < n; k++) {
    const t = sig.args[k];
    const s = k + 1;
    const missing = needsCount ? `n <= ${k}` : null;
    if (t === T.buffer_length) {
      body.push(`F64[${s}] = bufferLength(a${k}, ${lastBuffer}, ${k}); T[${s}] = 1;`);
      continue;
    }
    if (t === T.buffer) lastBuffer = `a${k}`;
    body.push(emitWrite(t, `a${k}`, s, k, missing));
  }
  // Only what depends on the signature is generated (compiling it is most of what declaring
  // a function costs): `w` writes the arguments (used by the sync and async entry points;
  // `n` is the number of arguments actually passed, where a missing argument differs from an
  // explicit undefined), `read` reads the result, and `mk(slow)` makes the symbol function
  // with its fast-entry variable. The rest is the ordinary code of `instantiate`.
  const wParams = (needsCount ? ["n", ...params] : params).join(", ");
  const wCall = `w(${(needsCount ? ["arguments.length", ...params] : params).join(", ")});`;
  const callArgs = passArgs ? params.join(", ") : "";
  const callExpr = `(g !== null ? g(${callArgs}) : slow(${callArgs}))`;
  const ret = sig.returns;
  let tail = "const g = fn;\n";
  if (ret === T.cstring) tail += `return ${callExpr};`;
  else if (ret === T.void) tail += `${callExpr};`;
  else tail += `${callExpr};\nreturn ${emitRead(ret, 0)};`;
  return PRELUDE +
    `function w(${wParams}) {\n${body.join("\n")}\n}\n` +
    `function read() { return ${ret === T.cstring ? "undefined" : emitRead(ret, 0)}; }\n` +
    "return { w, read, counts: " + needsCount + ", mk(slow) {\nlet fn = null;\n" +
    `return [function f(${params.join(", ")}) {\n${wCall}\n${tail}\n}, (e) => { fn = e; }];\n} };`;
}

// (call, closedError, callAsync, tierUp, threshold) -> { fn, async, read, swap, close } from the
// generated parts of one signature (see callerSource and the header of this file).
function instantiate(parts) {
  const { w, read, counts } = parts;
  return function make(call, closedError, callAsync, tierUp, threshold) {
    let isClosed = false;
    let count = 0;
    const slow = (...args) => {
      if (++count >= threshold && !isClosed) tierUp();
      return call(...args);
    };
    const [f, setEntry] = parts.mk(slow);
    const fAsync = (...args) => {
      if (isClosed) return Promise.reject(closedError());
      try {
        if (counts) w(args.length, ...args);
        else w(...args);
      } catch (e) {
        return Promise.reject(e);
      }
      return callAsync(call, read, ...args);
    };
    return {
      fn: f, async: fAsync, read,
      swap(entry) { if (!isClosed) setEntry(entry); },
      close() {
        isClosed = true;
        setEntry(() => { throw closedError(); });
      },
    };
  };
}

function callbackSource(sig) {
  const n = sig.args.length;
  const params = Array.from({ length: n }, (_, k) => `a${k}`);
  const reads = sig.args.map((t, k) => (t === T.cstring ? `a${k}` : emitRead(t, k + 1)));
  const ret = sig.returns;
  let write = "";
  if (ret !== T.void) {
    const v = "r";
    let pre = "";
    if (ret === T.function) pre = objectAddress("r") + "\n";
    else if (PTRLIKE.has(ret)) pre = `if (r !== null && typeof r === "object" && (ArrayBuffer.isView(r) || r instanceof ArrayBuffer)) r = addressOf(r);\n`;
    write = pre + emitWrite(ret === T.cstring ? T.ptr : ret, v, 0, JSON.stringify("Return value"), null);
  }
  return PRELUDE + CB_PRELUDE +
    "return function make(userFn) {\n" +
    `return function (${params.join(", ")}) {\n` +
    `let r = userFn(${reads.join(", ")});\n${write}\n};\n}`;
}

const cache = new Map();

// Compiled sources for `keys` (cache keys); `source(i)` gives the body of the i-th, which
// starts with the prelude: the batch is the prelude once plus each body in its own scope.
function compileAll(keys, source) {
  const missing = [];
  for (let i = 0; i < keys.length; i++) {
    if (!cache.has(keys[i]) && !missing.some((j) => keys[j] === keys[i])) missing.push(i);
  }
  if (missing.length) {
    const makes = missing.map((i) => source(i).slice(PRELUDE.length + (keys[i][0] === "b" ? CB_PRELUDE.length : 0)));
    const prelude = PRELUDE + (missing.some((i) => keys[i][0] === "b") ? CB_PRELUDE : "");
    const body = `${prelude}return [\n${makes.map((m) => `(() => { ${m} })()`).join(",\n")}\n];`;
    const made = new Function("H", body)(helpers);
    missing.forEach((i, k) => cache.set(keys[i], made[k]));
  }
  return keys.map((k) => cache.get(k));
}

const helpers = {
  ...abi,
  addressOf(v) {
    return require("./memory.js").ptr(v);
  },
};

function sigKey(sig) {
  return `${sig.returns}:${sig.args.join(",")}`;
}

function makeCallers(sigs) {
  const keys = sigs.map((s) => "c" + sigKey(s));
  const parts = compileAll(keys, (i) => callerSource(sigs[i]));
  return parts.map((p, i) => {
    let make = makes.get(keys[i]);
    if (!make) makes.set(keys[i], (make = instantiate(p)));
    return make;
  });
}
const makes = new Map();

function makeCallbackWrapper(sig) {
  return compileAll(["b" + sigKey(sig)], () => callbackSource(sig))[0];
}

module.exports = { makeCallers, makeCallbackWrapper, callerSource, callbackSource };
