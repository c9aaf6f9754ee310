// fuzzer.js: the differential fuzzer behind test/fuzz.test.js and scripts/fuzz.js.
// From a seed it generates random C functions (0-32 arguments of every scalar type, plus
// functions that call a JSCallback with their arguments), writes them to one C file,
// compiles it with gcc or CFFI_TEST_CC (test/helpers.js; cached in build/fuzz/, or
// build/fuzz-<arch>/ on a Node that is not x64), and calls every function with values at the
// edges of each type (0, -1, min/max of each width, values that must wrap, NaN, ±Infinity, -0,
// 2^53±1, BigInt edges, null/undefined, missing arguments, a few values that must throw).
// Each C function writes every argument it received into a global record (64 bits each) and
// returns one of them; a callback driver passes its arguments to the callback and returns its
// result. The calls run in child processes, one per call path: libffi (CFFI_JIT=0, and .async),
// the TinyCC trampolines (CFFI_JIT_THRESHOLD=0) and the untiered first calls
// (CFFI_JIT_THRESHOLD=1000000). Each child checks what C received and what JS got back
// against a JS model of SPEC §2 (modelArg, modelRet), and the parent checks the paths give
// identical outcomes. A failure names the seed, the function's signature and the values, and
// `node scripts/fuzz.js --seed=N` replays it.
"use strict";
const { spawnSync, execFileSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { testCC } = require("./helpers.js");

const root = path.resolve(__dirname, "..");
const outDir = path.join(root, "build", process.arch === "x64" ? "fuzz" : `fuzz-${process.arch}`);

// ---- random numbers: mulberry32, so a seed replays the same run everywhere ----------------
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    chance: (p) => next() < p,
  };
}

// ---- types ---------------------------------------------------------------------------------
// name → C spelling, kind, width (bits) and signedness.
const TYPES = {
  char: { c: "signed char", kind: "int", bits: 8, signed: true },
  i8: { c: "int8_t", kind: "int", bits: 8, signed: true },
  u8: { c: "uint8_t", kind: "int", bits: 8, signed: false },
  i16: { c: "int16_t", kind: "int", bits: 16, signed: true },
  u16: { c: "uint16_t", kind: "int", bits: 16, signed: false },
  i32: { c: "int32_t", kind: "int", bits: 32, signed: true },
  u32: { c: "uint32_t", kind: "int", bits: 32, signed: false },
  i64: { c: "int64_t", kind: "int64", bits: 64, signed: true },
  u64: { c: "uint64_t", kind: "int64", bits: 64, signed: false },
  i64_fast: { c: "int64_t", kind: "int64", bits: 64, signed: true, fast: true },
  u64_fast: { c: "uint64_t", kind: "int64", bits: 64, signed: false, fast: true },
  f32: { c: "float", kind: "f32" },
  f64: { c: "double", kind: "f64" },
  bool: { c: "_Bool", kind: "bool" },
  ptr: { c: "void *", kind: "ptr" },
  function: { c: "void *", kind: "ptr" },
  cstring: { c: "const char *", kind: "cstring" },
};
const ARG_TYPES = Object.keys(TYPES);
const RET_TYPES = [...ARG_TYPES, "void"];
const CB_ARG_TYPES = ARG_TYPES;
const CB_RET_TYPES = ARG_TYPES.filter((t) => t !== "cstring").concat("void");

// Strings C returns (cstring results), with what JS must decode them to.
const C_STRINGS = [
  ["", ""], ["abc", "abc"], ["h\\xc3\\xa9llo", "héllo"], ["\\xff\\xfe", "\ufffd\ufffd"],
  ["\\xf0\\x9f\\x98\\x80!", "😀!"], ["\\xe2\\x82", "\ufffd"],
];

// ---- values ---------------------------------------------------------------------------------
// A value is a descriptor the child turns into a JS value (BigInts, views and callbacks do not
// cross JSON): { n: "<number>" } | { b: "<bigint>" } | { s: string } | { k: "null" | "undef" |
// "true" | "false" | "obj" | "view" | "ab" | "nulview" | "cb" }.
const num = (v) => ({ n: Object.is(v, -0) ? "-0" : String(v) });
const big = (v) => ({ b: String(v) });
const K = (k) => ({ k });

const INT_EDGES = [0, -0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769, 65535, 65536,
  2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 5e9, -5e9,
  2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53) - 2, 2 ** 63, -(2 ** 63), 2 ** 64, 1e300, -1e300,
  1.5, -1.5, -5.7, 0.9999, 5e-324, NaN, Infinity, -Infinity].map(num);
const BIG_EDGES = [0n, 1n, -1n, 127n, 128n, 255n, 256n, -129n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n,
  2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, 2n ** 63n, -(2n ** 63n),
  -(2n ** 63n) - 1n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 64n + 5n, -(2n ** 64n), 2n ** 200n + 7n].map(big);
const F_EDGES = [0, -0, 1, -1, 0.1, 1 / 3, 5e-324, -5e-324, 2.2250738585072014e-308, 1.401298464324817e-45,
  3.4028234663852886e38, 3.4028235677973366e38, 1e39, Number.MAX_VALUE, -Number.MAX_VALUE, 2 ** 53 + 1,
  16777217, NaN, Infinity, -Infinity].map(num);
const F_BIG = [0n, -1n, 2n ** 53n + 1n, 2n ** 1024n, -(2n ** 1024n), 2n ** 64n + 1n].map(big);
const NULLISH = [K("null"), K("undef")];
const PTR_VALUES = [num(0), num(-0), num(NaN), big(0n), K("null"), K("undef"), K("false"), num(4096),
  num(0x7fff12345678), num(2 ** 53 - 1), num(2 ** 53), num(2 ** 63), big(2n ** 64n - 1n), big(2n ** 63n),
  big(0xdeadbeefn), K("view"), K("ab")];
const STRINGS = ["", "a", "héllo wörld", "😀", "\ud800x", "a\u0000b", "x".repeat(300)].map((s) => ({ s }));
const BAD_NUMERIC = [{ s: "42" }, K("true"), K("obj")];
const BAD_PTR = [num(-1), num(1.5), big(-1n), big(2n ** 64n), { s: "abc" }, K("true"), K("obj")];

function valuesFor(type, r) {
  const t = TYPES[type];
  switch (t.kind) {
    case "int": case "int64":
      return r.chance(0.6) ? INT_EDGES : r.chance(0.85) ? BIG_EDGES : NULLISH;
    case "f32": case "f64":
      return r.chance(0.7) ? F_EDGES : r.chance(0.6) ? F_BIG : NULLISH;
    case "bool":
      return [num(0), num(1), num(-0), num(NaN), big(0n), big(5n), { s: "" }, { s: "x" }, K("obj"), K("null"),
        K("undef"), K("true"), K("false")];
    case "ptr":
      return type === "function"
        ? [num(0), K("null"), num(4096), big(2n ** 63n), num(2 ** 53), K("cb")]
        : PTR_VALUES;
    case "cstring":
      return r.chance(0.8) ? STRINGS : [K("null"), K("undef"), num(0), K("nulview")];
  }
  throw new Error(type);
}

function badValueFor(type, r) {
  const t = TYPES[type];
  if (t.kind === "ptr" && type === "function") return r.pick([K("undef"), K("obj"), { s: "f" }, num(-1)]);
  if (t.kind === "ptr" || t.kind === "cstring") return r.pick(t.kind === "cstring" ? BAD_PTR.filter((v) => !v.s) : BAD_PTR);
  if (t.kind === "bool") return null;
  return r.pick(BAD_NUMERIC);
}

// JS results a callback may return for its result type (converted by §2.1).
function cbResultFor(type, r) {
  if (type === "void") return r.pick([K("undef"), num(5)]);
  const t = TYPES[type];
  if (t.kind === "ptr") return r.pick([num(0), K("null"), num(4096), num(2 ** 53), big(2n ** 64n - 1n), big(0n)]);
  return r.pick(valuesFor(type, r).filter((v) => !v.s || t.kind === "bool"));
}

// ---- generation -----------------------------------------------------------------------------
// One case: { name, args, returns, ret, konst, cb?, calls: [{ args: [desc], cbResult? }] } where
// `ret` is the index of the argument the function returns (-1: it returns the constant `konst`,
// for cstring results an index into C_STRINGS), and `cb` marks a driver: argument 0 is the callback
// { args, returns }, the rest are passed on to it.
function generate(seed, count) {
  const r = rng(seed);
  const cases = [];
  for (let k = 0; k < count; k++) {
    const isCb = r.chance(0.2);
    const nargs = r.chance(0.15) ? 32 - r.int(4) : r.int(isCb ? 9 : 17);
    const args = [];
    for (let i = 0; i < nargs; i++) args.push(r.pick(isCb ? CB_ARG_TYPES : ARG_TYPES));
    let returns, ret = -1, konst;
    if (isCb) {
      returns = r.pick(CB_RET_TYPES);
    } else {
      const choices = args.map((t, i) => i).filter((i) => args[i] !== "cstring");
      if (choices.length && r.chance(0.8)) {
        ret = r.pick(choices);
        returns = args[ret];
        // a 64-bit argument may come back as its _fast twin, and the other way round
        if (TYPES[returns].kind === "int64" && r.chance(0.5)) returns = returns.endsWith("_fast") ? returns.slice(0, -5) : `${returns}_fast`;
      } else {
        returns = r.pick(["void", "cstring", "i32"]);
        konst = returns === "cstring" ? r.int(C_STRINGS.length) : r.int(1000) - 500;
      }
    }
    const calls = [];
    const ncalls = 2 + r.int(3);
    for (let c = 0; c < ncalls; c++) {
      const vals = args.map((t) => r.pick(valuesFor(t, r)));
      // some calls pass fewer arguments (missing ones are 0/NULL/false) or extra ones
      if (nargs && r.chance(0.15)) vals.length = r.int(nargs);
      else if (r.chance(0.1)) vals.push(num(7), K("obj"));
      // a few carry a value that must be rejected
      if (vals.length && r.chance(0.08)) {
        const i = r.int(Math.min(vals.length, nargs));
        const bad = nargs ? badValueFor(args[i], r) : null;
        if (bad) vals[i] = bad;
      }
      const call = { args: vals };
      if (isCb) call.cbResult = r.chance(0.05) && returns !== "void" && TYPES[returns].kind !== "bool"
        ? { s: "not a number" } : cbResultFor(returns, r);
      calls.push(call);
    }
    cases.push({ name: `fz${k}`, args, returns, ret, konst, cb: isCb || undefined, calls });
  }
  return cases;
}

const cName = (t) => (t === "void" ? "void" : TYPES[t].c);

// The C source of a run. Record layout (uint64_t fz_rec[]): [0] function index + 1, [1] the
// number of arguments C received, [2 + i] argument i (integers sign- or zero-extended, floats as
// their bits, bool 0/1, pointers as addresses, C strings as an FNV-1a hash of their bytes,
// 0 for NULL).
function cSource(seed, cases) {
  const out = [`/* generated by test/fuzzer.js, seed ${seed} */`, "#include <stdint.h>", "#include <string.h>", "",
    "uint64_t fz_rec[40];", "uint64_t *fz_record(void) { return fz_rec; }",
    "static uint64_t fz_hash(const char *s) {",
    "  if (!s) return 0;",
    "  uint64_t h = 0xcbf29ce484222325ull;",
    "  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;",
    "  return h;",
    "}",
    "static uint64_t fz_f32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }",
    "static uint64_t fz_f64(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }", ""];
  const store = (t, v) => {
    const d = TYPES[t];
    switch (d.kind) {
      case "int": case "int64": return d.signed ? `(uint64_t)(int64_t)${v}` : `(uint64_t)${v}`;
      case "f32": return `fz_f32(${v})`;
      case "f64": return `fz_f64(${v})`;
      case "bool": return `(uint64_t)${v}`;
      case "ptr": return `(uint64_t)(uintptr_t)${v}`;
      case "cstring": return `fz_hash(${v})`;
    }
    throw new Error(t);
  };
  cases.forEach((c, k) => {
    const params = c.args.map((t, i) => `${cName(t)} a${i}`);
    const body = [`  fz_rec[0] = ${k + 1}; fz_rec[1] = ${c.args.length};`];
    c.args.forEach((t, i) => body.push(`  fz_rec[${2 + i}] = ${store(t, `a${i}`)};`));
    if (c.cb) {
      const cbParams = c.args.map((t) => cName(t)).join(", ") || "void";
      out.push(`typedef ${cName(c.returns)} (*${c.name}_cb)(${cbParams});`);
      params.unshift(`${c.name}_cb cb`);
      const call = `cb(${c.args.map((t, i) => `a${i}`).join(", ")})`;
      body.push(c.returns === "void" ? `  ${call};` : `  return ${call};`);
    } else if (c.returns === "cstring") {
      body.push(`  return "${C_STRINGS[c.konst][0]}";`);
    } else if (c.returns !== "void") {
      body.push(c.ret >= 0 ? `  return a${c.ret};` : `  return ${c.konst};`);
    }
    out.push(`${cName(c.returns)} ${c.name}(${params.join(", ") || "void"}) {`, ...body, "}", "");
  });
  return out.join("\n");
}

// Compiles the C source of a run into build/fuzz/ (cached by content); returns the .so path.
function compile(seed, cases) {
  const src = cSource(seed, cases);
  const hash = crypto.createHash("sha256").update(src).digest("hex").slice(0, 16);
  const so = path.join(outDir, `fuzz-${seed}-${hash}.so`);
  if (!fs.existsSync(so)) {
    fs.mkdirSync(outDir, { recursive: true });
    const c = path.join(outDir, `fuzz-${seed}-${hash}.c`);
    fs.writeFileSync(c, src);
    const tmp = `${so}.${process.pid}.tmp`;
    execFileSync(testCC, ["-shared", "-fPIC", "-O1", "-w", "-o", tmp, c], { stdio: ["ignore", "inherit", "inherit"] });
    fs.renameSync(tmp, so);
  }
  return so;
}

// ---- the model of SPEC §2 -------------------------------------------------------------------
const MAX_SAFE = 2 ** 53 - 1;
const TWO64 = 2n ** 64n;
const f32 = new Float32Array(1);
const u32v = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const u64v = new BigUint64Array(f64.buffer);

class Rejected {
  constructor(code) { this.code = code; }
}

// §2.1: what C receives for JS value v of `type` (v === MISSING: not passed), as the record
// holds it: a BigInt, or for addresses of views/callbacks/strings a token the child resolves.
const MISSING = Symbol("missing");
function truncNum(v) {
  return Number.isFinite(v) ? Math.trunc(v) : 0;
}
function modelArg(type, v, ctx) {
  const t = TYPES[type];
  if (v === MISSING) return t.kind === "cstring" ? 0n : t.kind === "f64" || t.kind === "f32" ? bitsOf(type, 0) : 0n;
  switch (t.kind) {
    case "int": case "int64": {
      let b;
      if (typeof v === "number") b = BigInt(truncNum(v));
      else if (typeof v === "bigint") b = v;
      else if (v === null || v === undefined) b = 0n;
      else return new Rejected("ERR_INVALID_ARG_TYPE");
      b = t.signed ? BigInt.asIntN(t.bits, b) : BigInt.asUintN(t.bits, b);
      return BigInt.asUintN(64, b);
    }
    case "f32": case "f64": {
      let d;
      if (typeof v === "number") d = v;
      else if (typeof v === "bigint") d = Number(v);
      else if (v === undefined) d = NaN;
      else if (v === null) d = 0;
      else return new Rejected("ERR_INVALID_ARG_TYPE");
      return bitsOf(type, d);
    }
    case "bool":
      return v ? 1n : 0n;
    case "ptr":
    case "cstring": {
      if (type === "function") {
        if (v === null) return 0n;
        if (v !== undefined && typeof v === "object" && v.ptr) return BigInt(v.ptr);
        if (typeof v !== "number" && typeof v !== "bigint") return new Rejected(undefined);
      }
      if (v === null || v === undefined || v === false || v === 0 || Number.isNaN(v) || v === 0n) return 0n;
      if (typeof v === "number") return v > 0 && Number.isInteger(v) && v < 2 ** 64 ? BigInt(v) : new Rejected(undefined);
      if (typeof v === "bigint") return v >= 0n && v < TWO64 ? v : new Rejected(undefined);
      if (type === "cstring") {
        if (typeof v === "string") return fnv(Buffer.from(v, "utf8"));
        if (ArrayBuffer.isView(v)) return fnv(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
        return new Rejected(undefined);
      }
      if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return BigInt(ctx.ptr(v));
      return new Rejected(undefined);
    }
  }
  throw new Error(type);
}

function bitsOf(type, d) {
  if (type === "f32") {
    f32[0] = d;
    return BigInt(u32v[0]);
  }
  f64[0] = d;
  return u64v[0];
}

// FNV-1a 64 of the bytes up to the first NUL (what C's fz_hash sees).
function fnv(bytes) {
  let h = 0xcbf29ce484222325n;
  for (const c of bytes) {
    if (c === 0) break;
    h = BigInt.asUintN(64, (h ^ BigInt(c)) * 0x100000001b3n);
  }
  return h;
}

// §2.2: the JS value C's `bits` (as the record holds them) come back as for `type`.
function modelRet(type, bits) {
  if (type === "void") return undefined;
  const t = TYPES[type];
  switch (t.kind) {
    case "int": {
      const b = t.signed ? BigInt.asIntN(t.bits, bits) : BigInt.asUintN(t.bits, bits);
      return Number(b);
    }
    case "int64": {
      const b = t.signed ? BigInt.asIntN(64, bits) : BigInt.asUintN(64, bits);
      if (t.fast && b >= -MAX_SAFE && b <= MAX_SAFE) return Number(b);
      return b;
    }
    case "f32": u32v[0] = Number(bits); return f32[0];
    case "f64": u64v[0] = bits; return f64[0];
    case "bool": return bits !== 0n;
    case "ptr": return bits === 0n ? null : bits <= BigInt(MAX_SAFE) ? Number(bits) : bits;
  }
  throw new Error(type);
}

// The JS string a callback receives for a C string argument that came from JS value v.
function modelCbString(v) {
  if (v === null || v === undefined || v === 0) return null;
  const bytes = typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const nul = bytes.indexOf(0);
  return (nul >= 0 ? bytes.subarray(0, nul) : bytes).toString("utf8");
}

// ---- the child: calls every case on one path ------------------------------------------------
function show(v) {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…(${v.length})` : v);
  if (typeof v === "symbol") return "<missing>";
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.length})`;
  if (v instanceof ArrayBuffer) return `ArrayBuffer(${v.byteLength})`;
  if (v && typeof v.close === "function" && "ptr" in v) return "JSCallback";
  return Object.prototype.toString.call(v);
}
const same = (a, b) => Object.is(a, b) || (typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b));

// Runs in the child process: returns { outcomes: [per call, path-independent text],
// mismatches: [model violations] }.
async function runCases(cffi, so, cases, withAsync) {
  const keep = [];
  const ctx = { ptr: cffi.ptr };
  const decode = (d) => {
    if ("n" in d) return d.n === "-0" ? -0 : Number(d.n);
    if ("b" in d) return BigInt(d.b);
    if ("s" in d) return d.s;
    switch (d.k) {
      case "null": return null;
      case "undef": return undefined;
      case "true": return true;
      case "false": return false;
      case "obj": return { valueOf() { return 1; } };
      case "view": { const u = new Uint8Array(16); keep.push(u); return u.subarray(3); }
      case "ab": { const a = new ArrayBuffer(8); keep.push(a); return a; }
      case "nulview": { const u = Buffer.from("view\0tail"); keep.push(u); return u; }
      case "cb": { const cb = new cffi.JSCallback(() => {}, {}); keep.push(cb); return cb; }
    }
    throw new Error(JSON.stringify(d));
  };
  const decls = {};
  for (const c of cases) decls[c.name] = { args: c.cb ? ["function", ...c.args] : c.args, returns: c.returns };
  decls.fz_record = { args: [], returns: "ptr" };
  const L = cffi.dlopen(so, decls);
  const recPtr = L.symbols.fz_record();
  const rec = new BigUint64Array(cffi.toArrayBuffer(recPtr, 0, 8 * 40));
  const outcomes = [];
  const mismatches = [];

  const describeCase = (c) => `${c.name}(${c.cb ? `cb: (${c.args.join(", ")}) => ${c.returns}${c.args.length ? ", " : ""}` : ""}${c.args.join(", ")}) => ${c.returns}`;

  for (const c of cases) {
    const f = L.symbols[c.name];
    for (const call of c.calls) {
      const jsArgs = call.args.map(decode);
      const expArgs = c.args.map((t, i) => modelArg(t, i < jsArgs.length ? jsArgs[i] : MISSING, ctx));
      const rejected = expArgs.find((e) => e instanceof Rejected);
      let cb, cbGot, cbResult;
      if (c.cb) {
        cbResult = decode(call.cbResult);
        cb = new cffi.JSCallback((...a) => { cbGot = a; return cbResult; }, { args: c.args, returns: c.returns });
      }
      const where = `${describeCase(c)} called with (${jsArgs.map(show).join(", ")})${c.cb ? `, callback returning ${show(cbResult)}` : ""}`;
      const bad = (what) => mismatches.push(`${where}: ${what}`);
      const fullArgs = c.cb ? [cb, ...jsArgs] : jsArgs;
      rec.fill(0xeeeeeeeeeeeeeeeen);
      let result, error;
      try {
        result = f(...fullArgs);
      } catch (e) {
        error = e;
      }
      let outcome;
      if (error) {
        outcome = `throws ${error.name} ${error.code || ""}: ${error.message}`;
        const cbThrew = c.cb && !rejected && call.cbResult.s !== undefined && c.returns !== "bool";
        if (!(error instanceof TypeError)) bad(`threw ${error.name}: ${error.message}`);
        else if (!rejected && !cbThrew) bad(`threw ${error.message}`);
        else if (rejected && rejected.code && error.code !== rejected.code) bad(`error code ${error.code}, expected ${rejected.code}`);
      } else {
        if (rejected) bad(`returned ${show(result)} instead of throwing a TypeError`);
        const got = [...rec.subarray(0, 2 + c.args.length)];
        const isAddr = (i) => typeof jsArgs[i] === "object" && jsArgs[i] !== null && TYPES[c.args[i]].kind === "ptr";
        outcome = `returns ${!c.cb && c.ret >= 0 && isAddr(c.ret) ? "an address" : show(result)}; C got ${got.slice(2).map((b, i) => {
          const e = expArgs[i];
          // addresses of views and callbacks differ per process: shown relative to the expected one
          return isAddr(i) ? `addr${b === e ? "=" : "!="}expected` : String(b);
        }).join(",")}`;
        if (got[0] !== BigInt(cases.indexOf(c) + 1)) bad("C did not record this call");
        c.args.forEach((t, i) => {
          if (got[2 + i] !== expArgs[i]) bad(`argument ${i} (${t}): C got ${got[2 + i]} (0x${got[2 + i].toString(16)}), expected ${expArgs[i]} (0x${expArgs[i].toString(16)})`);
        });
        // the result
        let expected;
        if (c.cb) {
          const cbBits = c.returns === "void" ? 0n : modelArg(c.returns, cbResult, ctx);
          if (cbBits instanceof Rejected) {
            bad(`returned ${show(result)} although the callback returned ${show(cbResult)}, which must throw`);
          } else {
            expected = modelRet(c.returns, cbBits);
          }
          // what the callback received
          if (!cbGot) bad("the callback was not called");
          else {
            c.args.forEach((t, i) => {
              const exp = t === "cstring" ? modelCbString(i < jsArgs.length ? jsArgs[i] : null) : modelRet(t, expArgs[i]);
              if (!same(cbGot[i], exp)) bad(`callback argument ${i} (${t}): got ${show(cbGot[i])}, expected ${show(exp)}`);
            });
            outcome += `; callback got ${cbGot.map((v, i) => (isAddr(i) ? "addr" : show(v))).join(",")}`;
          }
        } else if (c.returns === "cstring") {
          expected = C_STRINGS[c.konst][1];
        } else if (c.returns === "void") {
          expected = undefined;
        } else if (c.ret >= 0) {
          expected = modelRet(c.returns, expArgs[c.ret]);
        } else {
          expected = c.konst;
        }
        if (!same(result, expected) && !(cbGot === undefined && c.cb)) {
          bad(`returned ${show(result)}, expected ${show(expected)}`);
        }
      }
      outcomes.push(`${c.name}: ${outcome}`);
      // .async: the same value (not for callback drivers: their callback runs on another thread)
      if (withAsync && !c.cb) {
        let aresult, aerror;
        try {
          aresult = await f.async(...fullArgs);
        } catch (e) {
          aerror = e;
        }
        if (!!aerror !== !!error) bad(`.async ${aerror ? `rejected with ${aerror.message}` : `resolved to ${show(aresult)}`} but the call ${error ? `threw ${error.message}` : `returned ${show(result)}`}`);
        else if (!error && !same(aresult, result) && !(typeof result === "bigint" && aresult === result)) bad(`.async resolved to ${show(aresult)}, the call returned ${show(result)}`);
      }
      if (cb) cb.close();
    }
  }
  L.close();
  for (const k of keep) if (k && typeof k.close === "function") k.close();
  return { outcomes, mismatches };
}

// The call paths, each a child process: name → environment.
const PATHS = {
  libffi: { CFFI_JIT: "0" },
  jit: { CFFI_JIT: "1", CFFI_JIT_THRESHOLD: "0" },
  untiered: { CFFI_JIT: "1", CFFI_JIT_THRESHOLD: "1000000" },
};

// Runs one seed: generates, compiles, runs every path; returns a list of failure texts
// (empty when all agree with the model and with each other).
function runSeed(seed, count, cffiDir, paths = Object.keys(PATHS)) {
  const cases = generate(seed, count);
  const so = compile(seed, cases);
  const specFile = path.join(outDir, `fuzz-${seed}-${count}-${process.pid}.json`);
  fs.writeFileSync(specFile, JSON.stringify({ so, cases, cffiDir }));
  const failures = [];
  const results = {};
  try {
    for (const p of paths) {
      const r = spawnSync(process.execPath, [__filename, specFile, p], {
        encoding: "utf8", env: { ...process.env, ...PATHS[p] }, maxBuffer: 1 << 28, timeout: 120_000,
      });
      if (r.status !== 0) {
        failures.push(`seed ${seed}, path ${p}: the child ${r.signal ? `died with ${r.signal}` : `exited with ${r.status}`}\n${(r.stderr || "").slice(-3000)}`);
        continue;
      }
      const out = JSON.parse(r.stdout);
      results[p] = out.outcomes;
      for (const m of out.mismatches.slice(0, 20)) failures.push(`seed ${seed}, path ${p}: ${m}`);
      if (out.mismatches.length > 20) failures.push(`seed ${seed}, path ${p}: … ${out.mismatches.length - 20} more`);
    }
    const names = Object.keys(results);
    for (let i = 1; i < names.length; i++) {
      const a = results[names[0]], b = results[names[i]];
      for (let j = 0; j < Math.max(a.length, b.length); j++) {
        if (a[j] !== b[j]) {
          failures.push(`seed ${seed}: ${names[0]} and ${names[i]} differ at call ${j}:\n  ${names[0]}: ${a[j]}\n  ${names[i]}: ${b[j]}`);
          break;
        }
      }
    }
  } finally {
    fs.rmSync(specFile, { force: true });
  }
  return failures;
}

if (require.main === module) {
  const [specFile, p] = process.argv.slice(2);
  const { so, cases, cffiDir } = JSON.parse(fs.readFileSync(specFile, "utf8"));
  const cffi = require(cffiDir);
  runCases(cffi, so, cases, p === "libffi").then((out) => {
    process.stdout.write(JSON.stringify(out));
  }, (e) => {
    console.error(e && e.stack);
    process.exit(2);
  });
}

module.exports = { runCases, generate, cSource, compile, runSeed, modelArg, modelRet, PATHS, TYPES };
