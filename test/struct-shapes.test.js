// struct-shapes.test.js: SPEC §17.1-17.4 against gcc. test/shapes.js generates ~120
// struct/union shapes and their C functions (compiled with gcc); for each shape, on the call
// path this run uses (JIT, or libffi with CFFI_JIT=0), the layout type's size, alignment and
// field offsets must equal gcc's, and values must cross by value bit for bit: returned
// (make_S), as an argument (hash_S, checked against the hash C computes itself; also as raw
// bytes), both ways (echo_S), on the stack after the registers are used up (hash_stack_S) and
// behind an odd number of stack slots (hash_stack2_S), among several struct arguments (echo3_S,
// hash3_S), through JSCallbacks in both directions (through_cb_S; after most argument
// registers are taken, through_cb_late_S; behind an odd number of stack slots,
// through_cb_stack2_S), with .async, declared through linkSymbols and CFunction; and L.read,
// L.write, L.alloc and L.view must agree with the bytes C makes. One test per property; a
// failure names the shapes and the C declaration of the first with each problem.
// test/shapes-check.js holds the comparison and the known bugs (reported as todo until fixed).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { cffiPath, hasTool, testCC } = require("./helpers.js");
const cffi = require(cffiPath);
const { dlopen, linkSymbols, CFunction, JSCallback, ptr } = cffi;
const shapes = require("./shapes.js");
const { diff, show, knownBug } = require("./shapes-check.js");

const SHAPES = shapes.generate();
const SEEDS = [1, 0xdeadbeef];
const A = -123456789;
const D = 1234.5678;
const noCC = !hasTool(testCC) && `${testCC} is not on PATH (the shapes are compiled per run)`;

let so;
const lib = () => (so ??= shapes.compile(SHAPES));
// The shape's own C functions (no layout types in the signature): work without §17.
let plain;
function C(shape) {
  if (!plain) {
    const defs = {};
    for (const { name: n } of SHAPES) {
      defs[`hash_made_${n}`] = { args: ["i32", "u32", "f64"], returns: "u64" };
      defs[`hash3_made_${n}`] = { args: ["u32", "i32", "u32", "f64", "u32"], returns: "u64" };
      defs[`hash_stack_made_${n}`] = { args: ["u32", "i32"], returns: "u64" };
      defs[`hash_stack2_made_${n}`] = { args: ["u32", "i32"], returns: "u64" };
      defs[`layout_${n}`] = { args: ["ptr"], returns: "u32" };
      defs[`bytes_${n}`] = { args: ["u32", "ptr"] };
      defs[`hash_bytes_${n}`] = { args: ["i32", "ptr", "f64"], returns: "u64" };
    }
    plain = dlopen(lib(), defs).symbols;
  }
  const s = shape.name;
  return { hashMade: plain[`hash_made_${s}`], hash3Made: plain[`hash3_made_${s}`],
    stackMade: plain[`hash_stack_made_${s}`], stack2Made: plain[`hash_stack2_made_${s}`], layout: plain[`layout_${s}`], bytes: plain[`bytes_${s}`],
    hashBytes: plain[`hash_bytes_${s}`] };
}

// The layout type of a shape, and its by-value functions, declared on first use.
const decls = new Map();
function layoutOf(shape) {
  if (!decls.has(shape)) decls.set(shape, { L: shapes.jsLayout(shape.node, cffi), fns: {} });
  return decls.get(shape).L;
}
function fn(shape, what) {
  const L = layoutOf(shape);
  const d = decls.get(shape);
  if (!d.fns[what]) {
    const sig = {
      make: { args: ["u32"], returns: L },
      hash: { args: ["i32", L, "f64"], returns: "u64" },
      echo: { args: [L], returns: L },
      echo3: { args: [L, L, L], returns: L },
      hash3: { args: [L, "i32", L, "f64", L], returns: "u64" },
      hash_stack: { args: [...Array(6).fill("i32"), ...Array(8).fill("f64"), L, "i32"], returns: "u64" },
      through_cb: { args: ["function", "function", "u32"], returns: "u64" },
      through_cb_late: { args: ["function", "function", "u32"], returns: "u64" },
      hash_stack2: { args: [...Array(9).fill("i32"), L, "i32"], returns: "u64" },
      through_cb_stack2: { args: ["function", "u32"], returns: "u64" },
    }[what];
    d.fns[what] = dlopen(lib(), { [`${what}_${shape.name}`]: sig }).symbols[`${what}_${shape.name}`];
  }
  return d.fns[what];
}

// Runs check(shape) for each shape (an async one when given); collects each failing shape
// (a thrown error or a returned difference) into one assertion naming the shapes, shapes with
// the same problem together; when every failing shape is a known bug, the test is a todo.
// `mode`: "sync" or "async" by-value calls, "memory" none.
async function eachShape(t, list, check, mode = "sync") {
  const problems = new Map(); // problem → failing shapes
  const known = new Map(); // known bug → its failing shapes' names
  for (const shape of list) {
    const bug = knownBug(shape, mode);
    let problem = bug && bug.crash && `not run: ${bug.bug}`;
    try {
      problem ||= await check(shape);
    } catch (e) {
      problem = `threw ${e && e.name}: ${e && e.message}`;
    }
    if (bug && bug.rejected) {
      // only this rejection, or a correct result (a struct returned, no argument of it)
      if (!problem || (problem.startsWith("threw TypeError: ") && bug.rejected.test(problem.slice(17)))) continue;
    }
    if (!problem) continue;
    problems.set(problem, [...(problems.get(problem) || []), shape]);
    if (bug) known.set(bug.bug, [...(known.get(bug.bug) || []), shape.name]);
  }
  if (problems.size) {
    const n = [...problems.values()].reduce((k, v) => k + v.length, 0);
    const nKnown = [...known.values()].reduce((k, v) => k + v.length, 0);
    if (n === nKnown) t.todo(`known bugs: ${[...known].map(([bug, names]) => `${bug} (${names.join(", ")})`).join("; ")}`);
    const text = [...problems].slice(0, 6).map(([p, [s, ...more]]) => `${s.name} (${s.node.size} bytes): ${p}` +
      `\n    ${s.decl.replace(/\n/g, "\n    ")}${more.length ? `\n    (also ${more.map((x) => x.name).join(", ")})` : ""}`);
    assert.fail(`${n} of ${list.length} shapes failed${nKnown ? ` (${nKnown} by known bugs)` : ""}:\n  ${text.join("\n  ")}` +
      (problems.size > 6 ? `\n  ... and ${problems.size - 6} more problems, in ${[...problems.values()].slice(6).flat().map((x) => x.name).join(", ")}` : ""));
  }
}
const hasUnion = (node) => node.k === "union" || (node.k === "array" ? hasUnion(node.elem)
  : node.k === "struct" && node.fields.some((f) => hasUnion(f.type)));
const opts = { skip: noCC };

test("struct shapes: size, alignment and field offsets equal gcc's", opts, (t) => eachShape(t, SHAPES, (shape) => {
  const out = new Uint32Array(2 + 3 * shape.paths.length);
  C(shape).layout(out);
  // the test's own model first (it computes the expected values)
  const model = [shape.node.size, shape.node.align];
  for (const p of shape.paths) {
    let t = shape.node;
    let off = 0;
    for (const name of p.split(".")) {
      const f = t.fields.find((x) => x.name === name);
      off += f.offset;
      t = f.type;
    }
    model.push(off, t.size, t.align);
  }
  if (model.join() !== out.join()) return `test/shapes.js's layout model ${model} differs from gcc's ${out}`;
  const L = layoutOf(shape);
  if (L.size !== out[0] || L.align !== out[1] || L.kind !== shape.node.k) {
    return `size ${L.size}, align ${L.align}, kind ${L.kind}; gcc: size ${out[0]}, align ${out[1]}, kind ${shape.node.k}`;
  }
  for (const [i, p] of shape.paths.entries()) {
    let t = L;
    let off = 0;
    for (const name of p.split(".")) {
      off += t.offsetOf(name);
      t = t.fields.find((x) => x.name === name).type;
    }
    if (off !== out[2 + 3 * i]) return `offset of ${p}: ${off}, gcc: ${out[2 + 3 * i]}`;
    if (typeof t === "object" && (t.size !== out[3 + 3 * i] || t.align !== out[4 + 3 * i])) {
      return `${p}: size ${t.size}, align ${t.align}; gcc: size ${out[3 + 3 * i]}, align ${out[4 + 3 * i]}`;
    }
  }
}, "memory"));

// The test's own model of the values first (through memory, no §17): the bytes C makes and
// hashes must be the model's.
function checkModel(shape, seed) {
  const cBytes = new Uint8Array(shape.node.size);
  C(shape).bytes(seed, cBytes);
  const { bytes, known } = shapes.bytes(shape, seed);
  if (bytes.some((b, i) => known[i] && b !== cBytes[i])) return `test/shapes.js's bytes for seed ${seed} differ from C's: ${bytes} / ${cBytes}`;
  if (C(shape).hashBytes(A, bytes, D) !== C(shape).hashMade(A, seed, D)) return `test/shapes.js's hash model is wrong for seed ${seed}`;
}

test("struct shapes: a struct returned by value (make_S) decodes to the fields C set", opts, (t) => eachShape(t, SHAPES, (shape) => {
  for (const seed of SEEDS) {
    const problem = checkModel(shape, seed);
    if (problem) return problem;
  }
  const make = fn(shape, "make");
  for (const seed of SEEDS) {
    const v = make(seed);
    const d = diff(v, shapes.expected(shape, seed));
    if (d) return `make_${shape.name}(${seed}): ${d}`;
    if (make(seed) === v) return "a by-value result is not a fresh object";
  }
}));

test("struct shapes: a struct argument (hash_S) reaches C bit for bit", opts, (t) => eachShape(t, SHAPES, (shape) => {
  const hash = fn(shape, "hash");
  for (const [i, seed] of SEEDS.entries()) {
    const got = hash(A, shapes.argValue(shape, seed, i === 1), D); // the second seed passes arrays as plain Arrays
    const want = C(shape).hashMade(A, seed, D);
    if (got !== want) return `hash_${shape.name}(a, make_${shape.name}(${seed}) as JS, d) = ${got}, C computes ${want}`;
  }
  // raw bytes: a Uint8Array, or an ArrayBuffer, of the C bytes (§17.2)
  const raw = shapes.bytes(shape, SEEDS[0]).bytes;
  const want = C(shape).hashMade(A, SEEDS[0], D);
  if (hash(A, raw, D) !== want) return "hash_S(a, <its bytes as a Uint8Array>, d) differs from C's hash";
  if (hash(A, raw.buffer, D) !== want) return "hash_S(a, <its bytes as an ArrayBuffer>, d) differs from C's hash";
}));

test("struct shapes: echo_S returns the struct it was given", opts, (t) => eachShape(t, SHAPES, (shape) => {
  const echo = fn(shape, "echo");
  for (const seed of SEEDS) {
    const d = diff(echo(shapes.argValue(shape, seed)), shapes.expected(shape, seed));
    if (d) return `echo_${shape.name}(value of seed ${seed}): ${d}`;
    // a produced value is accepted back (unions produce every member, which an argument may not set)
    if (!hasUnion(shape.node)) {
      const d2 = diff(echo(fn(shape, "make")(seed)), shapes.expected(shape, seed));
      if (d2) return `echo_${shape.name}(make_${shape.name}(${seed})): ${d2}`;
    }
  }
}));

test("struct shapes: a struct after 6 int and 8 double arguments (on the stack)", opts, (t) => eachShape(t, SHAPES, (shape) => {
  const stack = fn(shape, "hash_stack");
  for (const seed of SEEDS) {
    const got = stack(1, 2, 3, 4, 5, 6, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, shapes.argValue(shape, seed), -77);
    const want = C(shape).stackMade(seed, -77);
    if (got !== want) return `hash_stack_${shape.name}(..., seed ${seed}, -77) = ${got}, C computes ${want}`;
  }
}));

// After nine int32_t: behind an odd number of stack slots on both ABIs, where a struct aligned
// to 16 goes to the next 16-byte slot on x86-64, and on arm64 only when its members are.
test("struct shapes: a struct after 9 int arguments (an odd stack slot), called and in a JSCallback", opts, (t) => eachShape(t, SHAPES, (shape) => {
  const L = layoutOf(shape);
  const ints = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  let got;
  const take = new JSCallback((...a) => {
    got = a;
    return 5n;
  }, { args: [...Array(9).fill("i32"), L, "i32"], returns: "u64" });
  try {
    for (const seed of SEEDS) {
      const r = fn(shape, "hash_stack2")(...ints, shapes.argValue(shape, seed), -77);
      const want = C(shape).stack2Made(seed, -77);
      if (r !== want) return `hash_stack2_${shape.name}(..., seed ${seed}, -77) = ${r}, C computes ${want}`;
      got = undefined;
      const back = fn(shape, "through_cb_stack2")(take, seed);
      const where = `through_cb_stack2_${shape.name}(seed ${seed})`;
      if (!got) return `${where}: take was not called`;
      if (got.slice(0, 9).join() !== ints.join() || got[10] !== -7) return `${where}: the int32_t arguments arrived as ${got.slice(0, 9)} and ${got[10]}`;
      const d = diff(got[9], shapes.expected(shape, seed));
      if (d) return `${where}: the struct take received ${d}`;
      if (back !== (5n ^ C(shape).hashMade(7, seed, 0.5))) return `${where} = ${back}: the callback's result did not reach C`;
    }
  } finally {
    take.close();
  }
}));

test("struct shapes: several struct arguments (echo3_S returns the 2nd; hash3_S)", opts, (t) => eachShape(t, SHAPES, (shape) => {
  const [s1, s2, s3] = [11, 22, 33];
  const v = (s) => shapes.argValue(shape, s);
  const d = diff(fn(shape, "echo3")(v(s1), v(s2), v(s3)), shapes.expected(shape, s2));
  if (d) return `echo3_${shape.name}: ${d}`;
  const got = fn(shape, "hash3")(v(s1), -5, v(s2), 0.25, v(s3));
  const want = C(shape).hash3Made(s1, -5, s2, 0.25, s3);
  if (got !== want) return `hash3_${shape.name} = ${got}, C computes ${want}`;
}));

test("struct shapes: JSCallbacks return a struct to C and receive one from C", opts, (t) => eachShape(t, SHAPES, (shape) => {
  const L = layoutOf(shape);
  const K = 0x1234567890abcdefn;
  let got;
  const mk = new JSCallback((seed) => shapes.argValue(shape, seed), { args: ["u32"], returns: L });
  const take = new JSCallback((s) => {
    got = s;
    return K;
  }, { args: [L], returns: "u64" });
  try {
    for (const seed of SEEDS) {
      got = undefined;
      const r = fn(shape, "through_cb")(mk, take, seed);
      const d = diff(got, shapes.expected(shape, seed));
      if (d) return `through_cb_${shape.name}(seed ${seed}): the callback received ${d}`;
      const want = K ^ C(shape).hashMade(7, seed, 0.5);
      if (r !== want) return `through_cb_${shape.name}(seed ${seed}) = ${r}, expected ${want} (the struct C got from the callback is wrong)`;
    }
  } finally {
    mk.close();
    take.close();
  }
}));

test("struct shapes: JSCallbacks with structs after most argument registers are taken", opts, (t) => eachShape(t, SHAPES, (shape) => {
  const L = layoutOf(shape);
  const { types, values } = shapes.CB_LATE_ARGS;
  const K = 0x0fedcba987654321n;
  let got, mkGot;
  const mk = new JSCallback((...a) => {
    mkGot = a;
    return shapes.argValue(shape, a[types.length]);
  }, { args: [...types, "u32", "f64"], returns: L });
  const take = new JSCallback((...a) => {
    got = a;
    return K;
  }, { args: [...types, L, "i32", L, "f64"], returns: "u64" });
  try {
    for (const seed of SEEDS) {
      got = mkGot = undefined;
      const r = fn(shape, "through_cb_late")(mk, take, seed);
      const where = `through_cb_late_${shape.name}(seed ${seed})`;
      if (!got) return `${where}: take was not called`;
      // mk's arguments (a struct result in memory takes the first integer register on x86-64)
      assert.deepEqual(mkGot, [...values, seed, 4.5], `${where}: the arguments of mk`);
      assert.deepEqual(got.slice(0, types.length), values, `${where}: the arguments before the structs`);
      assert.deepEqual(got.slice(types.length + 1, types.length + 2), [-9], `${where}: the int32_t between the structs`);
      assert.equal(got[types.length + 3], 4.5, `${where}: the last double`);
      let d = diff(got[types.length], shapes.expected(shape, seed));
      if (d) return `${where}: the first struct take received ${d}`;
      d = diff(got[types.length + 2], shapes.expected(shape, seed + 1));
      if (d) return `${where}: the second struct take received ${d}`;
      const want = K ^ C(shape).hashMade(7, seed, 0.5);
      if (r !== want) return `${where} = ${r}, expected ${want} (the struct C got from mk is wrong)`;
    }
  } finally {
    mk.close();
    take.close();
  }
}));

// A few shapes of every kind for the other entry points.
const FEW = SHAPES.filter((s, i) => [0, 2, 9, 14, 44, 58, 62, 75, 80, 86, 102, 107].includes(i));

test("struct shapes: linkSymbols and CFunction declarations", opts, (t) => eachShape(t, FEW, (shape) => {
  const L = layoutOf(shape);
  const { symbols, close } = linkSymbols({
    echo: { ptr: fn(shape, "echo").ptr, args: [L], returns: L },
    hash: { ptr: fn(shape, "hash").ptr, args: ["i32", L, "f64"], returns: "u64" },
  });
  const echo = CFunction({ ptr: fn(shape, "echo").ptr, args: [L], returns: L });
  try {
    const seed = SEEDS[1];
    const d = diff(symbols.echo(shapes.argValue(shape, seed)), shapes.expected(shape, seed));
    if (d) return `linkSymbols echo_${shape.name}: ${d}`;
    const got = symbols.hash(A, shapes.argValue(shape, seed), D);
    if (got !== C(shape).hashMade(A, seed, D)) return `linkSymbols hash_${shape.name} = ${got}, C differs`;
    const d2 = diff(echo(shapes.argValue(shape, seed)), shapes.expected(shape, seed));
    if (d2) return `CFunction echo_${shape.name}: ${d2}`;
  } finally {
    close();
    echo.close();
  }
}));

// A view's fields against the expected value: scalars and nested structs/unions (arrays skipped).
function viewDiff(node, view, want, at = "view") {
  for (const f of node.fields) {
    if (f.type.k === "s") {
      if (want[f.name] !== shapes.ANY && !Object.is(view[f.name], want[f.name])) {
        return `${at}.${f.name}: ${show(view[f.name])}, expected ${show(want[f.name])}`;
      }
    } else if (f.type.k !== "array") {
      const d = viewDiff(f.type, view[f.name], want[f.name], `${at}.${f.name}`);
      if (d) return d;
    }
  }
  return null;
}

test("struct shapes: read, write, alloc and view through pointers agree with C's bytes", opts, (t) => eachShape(t, SHAPES, (shape) => {
  const L = layoutOf(shape);
  for (const seed of SEEDS) {
    const want = shapes.expected(shape, seed);
    const { bytes, known } = shapes.bytes(shape, seed);
    const sameBytes = (u8) => u8.length === L.size && bytes.every((b, i) => !known[i] || u8[i] === b);
    const cmem = new Uint8Array(L.size + 8);
    C(shape).bytes(seed, ptr(cmem) + 8);
    let d = diff(L.read(ptr(cmem), 8), want, "L.read");
    if (d) return d;
    const a = L.alloc(shapes.argValue(shape, seed));
    if (!(a instanceof Uint8Array) || !sameBytes(a)) return `L.alloc(value of seed ${seed}) = ${show(a)}, C's bytes ${bytes}`;
    if (ptr(a) % L.align) return `L.alloc's bytes are not aligned to ${L.align}`;
    if (C(shape).hashBytes(A, a, D) !== C(shape).hashMade(A, seed, D)) return "C's hash of L.alloc's bytes differs";
    const w = new Uint8Array(L.size + 8);
    L.write(w, shapes.argValue(shape, seed, true), 8);
    if (!sameBytes(w.subarray(8))) return `L.write(view, value of seed ${seed}, 8) wrote ${w.subarray(8)}, C's bytes ${bytes}`;
    w.fill(0);
    L.write(ptr(w), shapes.argValue(shape, seed));
    if (!sameBytes(w.subarray(0, L.size))) return `L.write(address, value of seed ${seed}) wrote ${w.subarray(0, L.size)}`;
    d = viewDiff(shape.node, L.view(cmem.subarray(8)), want);
    if (d) return d;
  }
}, "memory"));

// Last: a crash here (a known one is not run) would not hide the other tests' results.
test("struct shapes: .async passes and returns structs by value", opts, (t) => eachShape(t, FEW, async (shape) => {
  for (const seed of SEEDS) {
    const d = diff(await fn(shape, "make").async(seed), shapes.expected(shape, seed));
    if (d) return `make_${shape.name}.async(${seed}): ${d}`;
    const d2 = diff(await fn(shape, "echo").async(shapes.argValue(shape, seed)), shapes.expected(shape, seed));
    if (d2) return `echo_${shape.name}.async: ${d2}`;
    const got = await fn(shape, "hash").async(A, shapes.argValue(shape, seed), D);
    const want = C(shape).hashMade(A, seed, D);
    if (got !== want) return `hash_${shape.name}.async = ${got}, C computes ${want}`;
  }
}, "async"));
