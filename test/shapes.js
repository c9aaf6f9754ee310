// shapes.js: the struct/union shape generator behind test/struct-shapes.test.js (SPEC §17.3).
// From a fixed seed it makes ~120 shapes (1 to 300 bytes; every scalar type; mixed
// integer/float eightbytes; nested structs; arrays inside structs; unions of int and float and
// of structs; packed and over-aligned structs; sizes around the 8/16/32-byte class
// boundaries) and emits, for each shape S, C functions compiled with gcc (or CFFI_TEST_CC) into
// build/test-fixtures[-arch]/shapes/ (cached by content):
//   S make_S(uint32_t seed)             every field from mixk(seed, leaf index), by value
//   uint64_t hash_S(int32_t a, S s, double d)   FNV-1a over each field's value bits (never
//                                        padding; a union hashes its active member), a and d
//   uint64_t hash_made_S(a, seed, d)    = hash_S(a, make_S(seed), d), the expected hash
//   S echo_S(S s);  S echo3_S(S a, S b, S c) returns b
//   uint64_t hash3_S(S a, int32_t x, S b, double y, S c) (+ hash3_made_S(sa, x, sb, y, sc))
//   uint64_t hash_stack_S(int32_t x6, double x8, S s, int32_t tail) (+ hash_stack_made_S)
//   uint64_t through_cb_S(S (*mk)(uint32_t), uint64_t (*take)(S), uint32_t seed)
//                                        = take(mk(seed)) ^ hash_S(7, mk(seed), 0.5)
//   uint64_t hash_stack2_S(nine int32_t, S s, int32_t tail) (+ hash_stack2_made_S(seed, tail)), and
//   uint64_t through_cb_stack2_S(take, seed) = take(1, …, 9, make_S(seed), -7) ^ hash_S(7, …):
//                                        S after an odd number of stack slots on both ABIs
//   uint64_t through_cb_late_S(mk, take, seed): the same with the structs after five int32_t
//                                        and seven doubles (CB_LATE), so that they come in the
//                                        last free registers or on the stack: mk(…, seed, 4.5),
//                                        take(…, mk(…), -9, make_S(seed + 1), 4.5)
//   uint32_t layout_S(uint32_t *out)    sizeof, _Alignof, then offset/size/align of each
//                                        (nested) field path; returns the count written
//   void bytes_S(seed, uint8_t *out), uint64_t hash_bytes_S(a, const uint8_t *in, d): the same
//                                        through memory, to check the test's own model
// and, in JS, the matching layout type (jsLayout), the argument value of a seed (argValue:
// unions set only their active member) and the value cffi must produce for the bytes C makes
// (expected: an independent model of the C layout, checked against gcc's by the test).
"use strict";
const { execFileSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { root, testCC } = require("./helpers.js");

const outDir = path.join(root, "build", process.arch === "x64" ? "test-fixtures" : `test-fixtures-${process.arch}`, "shapes");

// name → C spelling, size, DataView accessor, TypedArray for arrays of it.
const SCALARS = {
  char: { c: "signed char", size: 1, dv: "Int8", ta: Int8Array, signed: true },
  i8: { c: "int8_t", size: 1, dv: "Int8", ta: Int8Array, signed: true },
  u8: { c: "uint8_t", size: 1, dv: "Uint8", ta: Uint8Array },
  i16: { c: "int16_t", size: 2, dv: "Int16", ta: Int16Array, signed: true },
  u16: { c: "uint16_t", size: 2, dv: "Uint16", ta: Uint16Array },
  i32: { c: "int32_t", size: 4, dv: "Int32", ta: Int32Array, signed: true },
  u32: { c: "uint32_t", size: 4, dv: "Uint32", ta: Uint32Array },
  i64: { c: "int64_t", size: 8, dv: "BigInt64", ta: BigInt64Array, signed: true },
  u64: { c: "uint64_t", size: 8, dv: "BigUint64", ta: BigUint64Array },
  f32: { c: "float", size: 4, dv: "Float32", ta: Float32Array },
  f64: { c: "double", size: 8, dv: "Float64", ta: Float64Array },
  bool: { c: "_Bool", size: 1 },
  ptr: { c: "void *", size: 8 },
};
const SCALAR_NAMES = Object.keys(SCALARS);

// ---- shape nodes: { k: "s", t } | { k: "struct"|"union", fields: [{ name, type }], packed,
// over (the aligned(n) option, 0 if none), act (union: index of the active member) } |
// { k: "array", elem, n }; layout() adds size, align and each field's offset ----------------
const sc = (t) => (typeof t === "string" ? { k: "s", t } : t);
const fieldsOf = (types) => types.map((t, i) => ({ name: `f${i}`, type: sc(t) }));
const S = (types, o = {}) => ({ k: "struct", fields: fieldsOf(types), packed: !!o.packed, over: o.align || 0 });
const U = (types, act = 0) => ({ k: "union", fields: fieldsOf(types), packed: false, over: 0, act });
const A = (t, n) => ({ k: "array", elem: sc(t), n });
const P = { packed: true };

// The hand-picked shapes: the ABI classes that go wrong first.
function curated() {
  return [
    S(["f64", "i64"]), S(["i64", "f64"]), S(["f32", "i32", "f32"]), S(["i32", "f32"]), S(["f32", "i32"]),
    S(["f32", "f32"]), S(["f32", "f32", "f32"]), S(["f32", "f32", "f32", "f32"]), S(["f32", "f32", "f32", "f32", "f32"]),
    S(["f64"]), S(["f64", "f64"]), S(["f64", "f64", "f64"]), S(["f64", "f64", "f64", "f64"]), S(["f64", "f32"]),
    S(["f32", "f64"]), S(["f32", "f32", "f64"]), S(["u8"]), S(["char"]), S(["bool"]), S(["i8", "u8", "i16"]),
    S(["u8", "u8", "u8"]), S(["i16", "u8"]), S(["u16", "u16", "u16"]), S(["ptr"]), S(["ptr", "i32"]),
    S(["i32", "ptr"]), S(["i64", "i64"]), S(["u64", "u64", "u64"]), S(["i32", "i32", "i32"]),
    S(["i32", "i32", "i32", "i32"]), S(["u32", "i16", "char", "bool", "f32"]), S(["bool", "f32", "bool"]),
    S(["u8", "f64"]), S(["f32", "u8", "u8", "i16", "f64"]), S(["i64", "f32", "f32"]), S(["f32", "f32", "i64"]),
    // arrays of floats and doubles inside structs
    S([A("f32", 2)]), S([A("f32", 3)]), S([A("f32", 4)]), S([A("f32", 5)]), S([A("f64", 2)]), S([A("f64", 3)]),
    S([A("f64", 4)]), S(["i32", A("f32", 3)]), S([A("f32", 2), "f64"]), S([A("u8", 3), "f32"]), S([A("f32", 8)]),
    S([A("bool", 3), A("ptr", 2)]), S([A("i64", 3), A("u16", 5)]),
    // nested
    S([S(["f32", "f32"]), "f32"]), S([S(["f32", "f32"]), S(["f32", "f32"])]), S([S(["i32", "f32"]), "f64"]),
    S(["u8", S(["f64", "i64"])]), S([S([S(["f32"])]), "i32"]), S([S(["f64"]), S(["f64"]), S(["f64"]), S(["f64"])]),
    S([A(S(["f32", "f32"]), 2)]), S([A(S(["u8", "f64"]), 3), "char"]),
    // unions: of int and float, of structs, inside structs
    U(["i32", "f32"], 0), U(["i32", "f32"], 1), U(["i64", "f64"], 1), U(["f32", S(["f32", "f32"])], 1),
    U([S(["i32", "i32"]), "f64"], 0), U(["f64", A("f32", 2)], 1), U([A("u8", 3), "u16"], 0), U(["u8", A("i32", 5)], 1),
    U(["ptr", "f64"], 1), U(["i64", "ptr"], 1), U([S(["u8", "u32"]), "u32", "f32"], 0),
    U([S(["f64", "f64"]), S(["i64", "i64"])], 0), U([S(["f32", "f32", "f32"]), A("u16", 7)], 0),
    S(["f32", U(["i32", "f32"], 1)]), S([U(["f32", "i32"]), "f32"]), S(["f64", U(["f64", "i64"], 0), "i32"]),
    // packed
    S(["u8", "i32"], P), S(["u8", "f64"], P), S(["i16", "f32", "u8"], P), S(["f32", "u8", "f32"], P),
    S(["u8", "f64", "u8", "f64"], P), S(["u8", S(["f64", "i32"])], P), S(["f64", "u8"], P),
    S(["i32", "u8"], { packed: true, align: 8 }), S([S(["u8", "i32"], P), "f32"]), S(["u16", A("f32", 3)], P),
    // over-aligned
    S(["i32"], { align: 16 }), S(["f32", "f32"], { align: 16 }), S(["f64", "f64"], { align: 32 }),
    S(["u8"], { align: 32 }), S(["i64"], { align: 16 }), S(["f32", S(["f64"], { align: 16 })]),
    S(["f64", "i32"], { align: 16 }), S(["u8", S(["i32"], { align: 32 }), "u8"]),
    // sizes around the 8/16/32-byte class boundaries, and large ones
    S([A("u8", 7)]), S([A("u8", 8)]), S([A("u8", 9)]), S([A("u8", 15)]), S([A("u8", 16)]), S([A("u8", 17)]),
    S([A("u16", 12)]), S([A("u8", 31)]), S([A("u8", 32)]), S([A("u8", 33)]), S([A("i32", 16)]), S([A("u8", 65)]),
    S([A("f64", 16)]), S([A("u8", 255)]), S([A("i64", 32)]), S(["i32", A("f32", 74)]), S([A("u8", 300)]),
  ];
}

// ---- random shapes (mulberry32, so the seed replays) ------------------------------------------
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)], chance: (p) => next() < p };
}

// Unions never contain bool: C reads a _Bool from another member's bytes as undefined behaviour.
function randType(r, depth, inUnion) {
  const x = r.next();
  const scalars = inUnion ? SCALAR_NAMES.filter((t) => t !== "bool") : SCALAR_NAMES;
  if (depth < 2 && x < 0.12) return randAggregate(r, "struct", depth + 1, inUnion);
  if (depth < 2 && x < 0.18) return randAggregate(r, "union", depth + 1, inUnion);
  if (x < 0.3) {
    const elem = depth < 2 && r.chance(0.15) ? randAggregate(r, "struct", depth + 1, inUnion) : sc(r.pick(scalars));
    return A(elem, 1 + r.int(r.chance(0.2) ? 24 : 5));
  }
  return sc(r.pick(scalars));
}

function randAggregate(r, kind, depth, inUnion) {
  const n = kind === "union" ? 2 + r.int(3) : 1 + r.int(depth > 1 ? 3 : 7);
  const types = [];
  for (let i = 0; i < n; i++) types.push(randType(r, depth, inUnion || kind === "union"));
  if (kind === "union") return U(types, r.int(n));
  const node = S(types, { packed: r.chance(0.1), align: r.chance(0.1) ? r.pick([8, 16, 32]) : 0 });
  // no over-aligned types inside packed ones (gcc's rules there are not ours to test)
  if (node.packed) for (const f of node.fields) stripAlign(f.type);
  return node;
}

function stripAlign(node) {
  if (node.k === "array") stripAlign(node.elem);
  else if (node.k !== "s") {
    node.over = 0;
    for (const f of node.fields) stripAlign(f.type);
  }
}

// ---- the model of the C layout (x86-64 SysV / AAPCS64: natural alignment) ----------------------
function layout(node) {
  if (node.size !== undefined) return node;
  if (node.k === "s") {
    node.size = node.align = SCALARS[node.t].size;
  } else if (node.k === "array") {
    layout(node.elem);
    node.size = node.elem.size * node.n;
    node.align = node.elem.align;
  } else {
    let off = 0;
    let size = 0;
    let align = 1;
    for (const f of node.fields) {
      layout(f.type);
      const a = node.packed ? 1 : f.type.align;
      if (node.k === "struct") off = Math.ceil(off / a) * a;
      f.offset = node.k === "struct" ? off : 0;
      if (node.k === "struct") off += f.type.size;
      size = Math.max(size, f.offset + f.type.size);
      align = Math.max(align, a);
    }
    node.align = Math.max(align, node.over);
    node.size = Math.ceil(size / node.align) * node.align;
  }
  return node;
}

// Every shape of the run, each { name, node, decl (its C declaration), paths }.
function generate(seed = 12, count = 120) {
  const nodes = curated();
  const r = rng(seed);
  while (nodes.length < count) {
    const node = randAggregate(r, r.chance(0.15) ? "union" : "struct", 0, false);
    if (layout(node).size <= 300) nodes.push(node);
  }
  return nodes.map((node, i) => {
    const name = `S${i}`;
    layout(node);
    const typedefs = [];
    nameTypes(node, name, typedefs, { n: 0 });
    return { name, node, decl: typedefs.join("\n"), paths: fieldPaths(node, "") };
  });
}

// Names the aggregates of a shape (S3, S3_1, ...) and writes their typedefs, innermost first.
function nameTypes(node, name, out, counter) {
  if (node.k === "s") return SCALARS[node.t].c;
  if (node.k === "array") return nameTypes(node.elem, name, out, counter);
  if (!node.cname) {
    node.cname = counter.n++ ? `${name}_${counter.n - 1}` : name;
    const members = node.fields.map((f) => {
      const t = nameTypes(f.type, name, out, counter);
      return `${t} ${f.name}${f.type.k === "array" ? `[${f.type.n}]` : ""};`;
    });
    const attrs = [node.packed && "packed", node.over && `aligned(${node.over})`].filter(Boolean);
    out.push(`typedef ${node.k} ${attrs.length ? `__attribute__((${attrs.join(", ")})) ` : ""}${node.cname}_tag ` +
      `{ ${members.join(" ")} } ${node.cname};`);
  }
  return node.cname;
}

// Field paths for layout_S: "f1", "f1.f0", ... (into nested structs/unions, not into arrays).
function fieldPaths(node, prefix) {
  const out = [];
  for (const f of node.fields) {
    const p = prefix + f.name;
    out.push(p);
    if (f.type.k === "struct" || f.type.k === "union") out.push(...fieldPaths(f.type, `${p}.`));
  }
  return out;
}

// ---- values: leaf k of seed s is mixk(s, k), converted to the leaf's type -------------------
const M64 = (1n << 64n) - 1n;
function mixk(seed, k) {
  let x = (BigInt(seed >>> 0) * 0x9e3779b97f4a7c15n + (BigInt(k) + 1n) * 0xd1b54a32d192ed03n) & M64;
  x ^= x >> 29n;
  x = (x * 0xbf58476d1ce4e5b9n) & M64;
  return x ^ (x >> 32n);
}
function leafValue(t, x) {
  switch (t) {
    case "f32": return Number(BigInt.asIntN(16, x >> 16n)) / 16;
    case "f64": return Number(BigInt.asIntN(64, x) >> 11n) / 1024;
    case "bool": return ((x >> 3n) & 1n) === 1n;
    case "ptr": return Number((x & 0xfffffffffff8n) | 0x1000n);
    case "i64": return BigInt.asIntN(64, x);
    case "u64": return x;
    default: {
      const bits = SCALARS[t].size * 8;
      return Number(SCALARS[t].signed ? BigInt.asIntN(bits, x) : BigInt.asUintN(bits, x));
    }
  }
}
function leafCount(node) {
  if (node.k === "s") return 1;
  if (node.k === "array") return node.n * leafCount(node.elem);
  if (node.k === "union") return leafCount(node.fields[node.act].type);
  return node.fields.reduce((n, f) => n + leafCount(f.type), 0);
}

// The JS argument value of a seed, written into `m.dv` at `off` as its C bytes, marking the
// bytes it sets in `m.known` (padding and bytes outside a union's active member stay 0 and
// unknown: C need not keep them across a by-value call). Arrays are TypedArrays, or plain
// Arrays when `plain` (both are accepted, §17.2).
function build(node, seed, k, m, off, plain) {
  if (node.k === "s") {
    const v = leafValue(node.t, mixk(seed, k));
    if (node.t === "bool") m.dv.setUint8(off, v ? 1 : 0);
    else if (node.t === "ptr") m.dv.setBigUint64(off, BigInt(v), true);
    else m.dv[`set${SCALARS[node.t].dv}`](off, v, true);
    m.known.fill(1, off, off + node.size);
    return v;
  }
  if (node.k === "array") {
    const n = leafCount(node.elem);
    const vals = [];
    for (let i = 0; i < node.n; i++) vals.push(build(node.elem, seed, k + i * n, m, off + i * node.elem.size, plain));
    const ta = node.elem.k === "s" && SCALARS[node.elem.t].ta;
    return ta && !plain ? ta.from(vals) : vals;
  }
  const obj = {};
  let kk = k;
  node.fields.forEach((f, i) => {
    if (node.k === "union" && i !== node.act) return;
    obj[f.name] = build(f.type, seed, kk, m, off + f.offset, plain);
    kk += leafCount(f.type);
  });
  return obj;
}

// Expected values: ANY where any byte of a scalar is unknown (a union member read from bytes
// the active member does not set); a TypedArray with such elements is a Partial.
const ANY = Symbol("any value");
class Partial {
  constructor(ta, unknown) {
    this.ta = ta;
    this.unknown = unknown;
  }
}

// The JS value cffi produces from C bytes (§17.2): unions give every member.
function decode(node, m, off) {
  if (node.k === "s") {
    if (m.known.subarray(off, off + node.size).includes(0)) return ANY;
    if (node.t === "bool") return m.dv.getUint8(off) !== 0;
    if (node.t === "ptr") {
      const v = m.dv.getBigUint64(off, true);
      return v === 0n ? null : v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    return m.dv[`get${SCALARS[node.t].dv}`](off, true);
  }
  if (node.k === "array") {
    const vals = [];
    for (let i = 0; i < node.n; i++) vals.push(decode(node.elem, m, off + i * node.elem.size));
    const ta = node.elem.k === "s" && SCALARS[node.elem.t].ta;
    if (!ta) return vals;
    const unknown = new Set(vals.flatMap((v, i) => (v === ANY ? [i] : [])));
    const typed = ta.from(vals, (v) => (v !== ANY ? v : ta === BigInt64Array || ta === BigUint64Array ? 0n : 0));
    return unknown.size ? new Partial(typed, unknown) : typed;
  }
  const obj = {};
  for (const f of node.fields) obj[f.name] = decode(f.type, m, off + f.offset);
  return obj;
}

const memory = (shape) => ({ dv: new DataView(new ArrayBuffer(shape.node.size)), known: new Uint8Array(shape.node.size) });
function argValue(shape, seed, plain = false) {
  return build(shape.node, seed, 0, memory(shape), 0, plain);
}
// The C bytes of a seed's value, and which of them are set (1) or unknown (0).
function bytes(shape, seed) {
  const m = memory(shape);
  build(shape.node, seed, 0, m, 0, false);
  return { bytes: new Uint8Array(m.dv.buffer), known: m.known };
}
function expected(shape, seed) {
  const m = memory(shape);
  build(shape.node, seed, 0, m, 0, false);
  return decode(shape.node, m, 0);
}

// The cffi layout type of a shape: `L` is { struct, union, array } from cffi.
function jsLayout(node, L) {
  if (node.k === "s") return node.t;
  if (node.k === "array") return L.array(jsLayout(node.elem, L), node.n);
  const fields = {};
  for (const f of node.fields) fields[f.name] = jsLayout(f.type, L);
  const opts = {};
  if (node.packed) opts.packed = true;
  if (node.over) opts.align = node.over;
  return node.k === "struct" ? L.struct(fields, opts) : L.union(fields);
}

// ---- C source --------------------------------------------------------------------------------
const MK = { f32: "mk_f32", f64: "mk_f64", bool: "mk_bool", ptr: "mk_ptr" };
const BITS = { f32: "fbits", f64: "dbits" };

// Emits statements visiting each active leaf: fn(type, lvalue, leaf index expression).
function visit(node, lv, kx, depth, out, fn) {
  if (node.k === "s") {
    out.push(fn(node.t, lv, kx));
  } else if (node.k === "array") {
    const i = `i${depth}`;
    out.push(`for (int ${i} = 0; ${i} < ${node.n}; ${i}++) {`);
    visit(node.elem, `${lv}[${i}]`, `${kx} + ${i} * ${leafCount(node.elem)}`, depth + 1, out, fn);
    out.push("}");
  } else {
    let k = 0;
    node.fields.forEach((f, i) => {
      if (node.k === "union" && i !== node.act) return;
      visit(f.type, `${lv}.${f.name}`, `${kx} + ${k}`, depth, out, fn);
      k += leafCount(f.type);
    });
  }
}
const fill = (t, lv, kx) => `${lv} = ${MK[t] || `(${SCALARS[t].c})`}(mixk(seed, ${kx}));`;
const hash = (t, lv) => `h = fnv(h, ${BITS[t] ? `${BITS[t]}(${lv})` : t === "ptr" ? `(uint64_t)(uintptr_t)${lv}`
  : SCALARS[t].signed ? `(uint64_t)(int64_t)${lv}` : `(uint64_t)${lv}`});`;

// The arguments before the structs in through_cb_late_S: most registers of both ABIs taken.
// CB_LATE and CB_LATE_VALUES: their C types and values, each followed by ", ".
const CB_LATE_ARGS = { types: ["i32", "i32", "i32", "i32", "i32", "f64", "f64", "f64", "f64", "f64", "f64", "f64"],
  values: [1, 2, 3, 4, 5, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5] };
const CB_LATE = CB_LATE_ARGS.types.map((t) => `${SCALARS[t].c}, `).join("");
const CB_LATE_VALUES = CB_LATE_ARGS.values.map((v) => `${v}, `).join("");

function shapeSource({ name: n, node, decl, paths }) {
  const mk = [];
  const hs = [];
  visit(node, "s", "0", 0, mk, fill);
  visit(node, "s", "0", 0, hs, hash);
  const lay = paths.map((p, i) => `out[${2 + 3 * i}] = offsetof(${n}, ${p}); out[${3 + 3 * i}] = sizeof(((${n} *)0)->${p}); ` +
    `out[${4 + 3 * i}] = _Alignof(__typeof__(((${n} *)0)->${p}));`);
  return `${decl}
${n} make_${n}(uint32_t seed) { ${n} s; memset(&s, 0, sizeof s); ${mk.join(" ")} return s; }
uint64_t hash_${n}(int32_t a, ${n} s, double d) { uint64_t h = fnv(FNV0, (uint64_t)(int64_t)a); ${hs.join(" ")} return fnv(h, dbits(d)); }
uint64_t hash_made_${n}(int32_t a, uint32_t seed, double d) { return hash_${n}(a, make_${n}(seed), d); }
${n} echo_${n}(${n} s) { return s; }
${n} echo3_${n}(${n} a, ${n} b, ${n} c) { (void)a; (void)c; return b; }
uint64_t hash3_${n}(${n} a, int32_t x, ${n} b, double y, ${n} c) { return fnv(fnv(fnv(hash_${n}(1, a, 0.0), (uint64_t)(int64_t)x), hash_${n}(2, b, y)), hash_${n}(3, c, 0.0)); }
uint64_t hash3_made_${n}(uint32_t sa, int32_t x, uint32_t sb, double y, uint32_t sc) { return hash3_${n}(make_${n}(sa), x, make_${n}(sb), y, make_${n}(sc)); }
uint64_t hash_stack_${n}(int32_t a1, int32_t a2, int32_t a3, int32_t a4, int32_t a5, int32_t a6, double d1, double d2, double d3, double d4, double d5, double d6, double d7, double d8, ${n} s, int32_t tail) {
  return fnv(hash_${n}(a1 + 3 * a2 + 5 * a3 + 7 * a4 + 11 * a5 + 13 * a6, s, d1 + 2 * d2 + 3 * d3 + 4 * d4 + 5 * d5 + 6 * d6 + 7 * d7 + 8 * d8), (uint64_t)(int64_t)tail); }
uint64_t hash_stack_made_${n}(uint32_t seed, int32_t tail) { return hash_stack_${n}(1, 2, 3, 4, 5, 6, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, make_${n}(seed), tail); }
uint64_t through_cb_${n}(${n} (*mk)(uint32_t), uint64_t (*take)(${n}), uint32_t seed) { ${n} s = mk(seed); return take(s) ^ hash_${n}(7, s, 0.5); }
uint64_t hash_stack2_${n}(int32_t a1, int32_t a2, int32_t a3, int32_t a4, int32_t a5, int32_t a6, int32_t a7, int32_t a8, int32_t a9, ${n} s, int32_t tail) {
  return fnv(hash_${n}(a1 + 3 * a2 + 5 * a3 + 7 * a4 + 11 * a5 + 13 * a6 + 17 * a7 + 19 * a8 + 23 * a9, s, 0.5), (uint64_t)(int64_t)tail); }
uint64_t hash_stack2_made_${n}(uint32_t seed, int32_t tail) { return hash_stack2_${n}(1, 2, 3, 4, 5, 6, 7, 8, 9, make_${n}(seed), tail); }
uint64_t through_cb_stack2_${n}(uint64_t (*take)(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, ${n}, int32_t), uint32_t seed) {
  ${n} s = make_${n}(seed);
  return take(1, 2, 3, 4, 5, 6, 7, 8, 9, s, -7) ^ hash_${n}(7, s, 0.5); }
uint64_t through_cb_late_${n}(${n} (*mk)(${CB_LATE}uint32_t, double), uint64_t (*take)(${CB_LATE}${n}, int32_t, ${n}, double), uint32_t seed) {
  ${n} s = mk(${CB_LATE_VALUES}seed, 4.5);
  return take(${CB_LATE_VALUES}s, -9, make_${n}(seed + 1), 4.5) ^ hash_${n}(7, s, 0.5); }
void bytes_${n}(uint32_t seed, uint8_t *out) { ${n} s = make_${n}(seed); memcpy(out, &s, sizeof s); }
uint64_t hash_bytes_${n}(int32_t a, const uint8_t *in, double d) { ${n} s; memcpy(&s, in, sizeof s); return hash_${n}(a, s, d); }
uint32_t layout_${n}(uint32_t *out) { out[0] = sizeof(${n}); out[1] = _Alignof(${n}); ${lay.join(" ")} return ${2 + 3 * paths.length}; }
`;
}

const PRELUDE = `/* generated by test/shapes.js: struct/union shapes for test/struct-shapes.test.js */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#define FNV0 0xcbf29ce484222325ull
static uint64_t fnv(uint64_t h, uint64_t v) { for (int i = 0; i < 8; i++) { h ^= (v >> (8 * i)) & 0xff; h *= 0x100000001b3ull; } return h; }
static uint64_t mixk(uint32_t seed, uint64_t k) {
  uint64_t x = (uint64_t)seed * 0x9e3779b97f4a7c15ull + (k + 1) * 0xd1b54a32d192ed03ull;
  x ^= x >> 29; x *= 0xbf58476d1ce4e5b9ull; return x ^ (x >> 32);
}
static float mk_f32(uint64_t x) { return (float)(int16_t)(x >> 16) / 16.0f; }
static double mk_f64(uint64_t x) { return (double)((int64_t)x >> 11) / 1024.0; }
static _Bool mk_bool(uint64_t x) { return (x >> 3) & 1; }
static void *mk_ptr(uint64_t x) { return (void *)(uintptr_t)((x & 0xfffffffffff8ull) | 0x1000); }
static uint64_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static uint64_t dbits(double f) { uint64_t u; memcpy(&u, &f, 8); return u; }
`;

// Writes and compiles the C source of `shapes` (cached by content); returns the .so path.
function compile(shapes) {
  const src = PRELUDE + shapes.map(shapeSource).join("\n");
  const hash = crypto.createHash("sha256").update(src).update(testCC).digest("hex").slice(0, 16);
  const so = path.join(outDir, `shapes-${hash}.so`);
  if (!fs.existsSync(so)) {
    fs.mkdirSync(outDir, { recursive: true });
    const c = path.join(outDir, `shapes-${hash}.c`);
    fs.writeFileSync(c, src);
    const tmp = `${so}.${process.pid}.tmp`;
    execFileSync(testCC, ["-shared", "-fPIC", "-O1", "-Wall", "-Wno-packed-not-aligned", "-Wno-psabi", "-o", tmp, c], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    fs.renameSync(tmp, so);
    // older generations of the source are not needed any more
    for (const f of fs.readdirSync(outDir)) {
      if (f.startsWith("shapes-") && !f.startsWith(`shapes-${hash}`) && !f.endsWith(".tmp")) fs.rmSync(path.join(outDir, f), { force: true });
    }
  }
  return so;
}

module.exports = { generate, compile, jsLayout, argValue, bytes, expected, ANY, Partial, CB_LATE_ARGS };
