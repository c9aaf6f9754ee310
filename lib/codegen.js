// codegen.js: builds the per-signature JS functions of the shared-buffer convention.
//  - makeCaller(sig): (call, closed) -> { fn, read, close } where `fn(a0, …)` writes its
//    arguments into the buffer, calls the native trampoline `call`, and reads the result;
//    `read()` reads a result left in slot 0 (async completions use it); `close()` makes `fn`
//    throw `closed()` from then on.
//  - makeCallbackWrapper(sig, userFn): the function native code calls for a JSCallback: reads
//    the C arguments from the buffer, calls userFn, writes its result into slot 0.
// One source text per signature, compiled once with `new Function` and cached.
"use strict";
const abi = require("./abi.js");
const { T, cName } = require("./types.js");

const INT32 = new Set([T.char, T.int8_t, T.uint8_t, T.int16_t, T.uint16_t, T.int32_t, T.uint32_t]);
const I64 = new Set([T.int64_t, T.uint64_t, T.i64_fast, T.u64_fast]);
const PTRLIKE = new Set([T.ptr, T.cstring, T.function, T.buffer]);

const MAX_SAFE = "9007199254740991";

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
    return `if (typeof ${v} === "number" && ${v} > 0 && ${v} <= ${MAX_SAFE} && ${v} % 1 === 0) { F64[${s}] = ${v}; T[${s}] = 1; } else writePointer(${v}, ${s}, ${type === T.cstring});`;
  }
  if (type === T.function || type === T.buffer) {
    const w = type === T.function ? "writeFunction" : "writeBuffer";
    const fast = type === T.function
      ? `if (typeof ${v} === "number" && ${v} > 0 && ${v} <= ${MAX_SAFE} && ${v} % 1 === 0) { F64[${s}] = ${v}; T[${s}] = 1; } else `
      : "";
    const miss = missing ? `if (${missing}) { F64[${s}] = 0; T[${s}] = 1; } else ` : "";
    return `${fast}${miss}${w}(${v}, ${s});`;
  }
  throw new Error(`cffi internal: no writer for type ${type}`);
}

// Expression reading slot `s` as a JS value of `type` (results and callback arguments).
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
  "const { toInt32, toF64, write64, writePointer, writeFunction, writeBuffer, bufferLength } = H;\n";

function callerSource(sig) {
  const n = sig.args.length;
  const params = Array.from({ length: n }, (_, k) => `a${k}`);
  const passArgs = sig.args.some((t) => PTRLIKE.has(t));
  const needsCount = sig.args.some((t) => t === T.function || t === T.buffer || t === T.double || t === T.float);
  const body = [];
  let lastBuffer = null;
  for (let k = 0; k < n; k++) {
    const t = sig.args[k];
    const s = k + 1;
    const missing = needsCount ? `arguments.length <= ${k}` : null;
    if (t === T.buffer_length) {
      body.push(`F64[${s}] = bufferLength(a${k}, ${lastBuffer}, ${k}); T[${s}] = 1;`);
      continue;
    }
    if (t === T.buffer) lastBuffer = `a${k}`;
    body.push(emitWrite(t, `a${k}`, s, k, missing));
  }
  const callExpr = `fn(${passArgs ? params.join(", ") : ""})`;
  const ret = sig.returns;
  let tail;
  if (ret === T.cstring) tail = `return ${callExpr};`;
  else if (ret === T.void) tail = `${callExpr};`;
  else tail = `${callExpr};\nreturn ${emitRead(ret, 0)};`;
  const asyncCall = `callAsync(call, read${params.map((p) => ", " + p).join("")})`;
  return PRELUDE +
    "return function make(call, closed, callAsync) {\n" +
    "let fn = call;\n" +
    `function f(${params.join(", ")}) {\n${body.join("\n")}\n${tail}\n}\n` +
    `function read() { return ${ret === T.cstring ? "undefined" : emitRead(ret, 0)}; }\n` +
    `function fAsync(${params.join(", ")}) {\n` +
    "if (fn !== call) return Promise.reject(closed(true));\n" +
    `try {\n${body.join("\n")}\n} catch (e) { return Promise.reject(e); }\n` +
    `return ${asyncCall};\n}\n` +
    "return { fn: f, async: fAsync, read, close() { fn = closed; } };\n}";
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
    if (PTRLIKE.has(ret)) pre = `if (r !== null && typeof r === "object" && (ArrayBuffer.isView(r) || r instanceof ArrayBuffer)) r = addressOf(r);\n`;
    write = pre + emitWrite(ret === T.cstring ? T.ptr : ret, v, 0, JSON.stringify("Return value"), null);
  }
  return PRELUDE + "const addressOf = H.addressOf;\n" +
    "return function make(userFn) {\n" +
    `return function (${params.join(", ")}) {\n` +
    `let r = userFn(${reads.join(", ")});\n${write}\n};\n}`;
}

const cache = new Map();
function compile(key, source) {
  let factory = cache.get(key);
  if (!factory) {
    factory = new Function("H", source())(helpers);
    cache.set(key, factory);
  }
  return factory;
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

function makeCaller(sig) {
  return compile("c" + sigKey(sig), () => callerSource(sig));
}

function makeCallbackWrapper(sig) {
  return compile("b" + sigKey(sig), () => callbackSource(sig));
}

module.exports = { makeCaller, makeCallbackWrapper, callerSource, callbackSource };
