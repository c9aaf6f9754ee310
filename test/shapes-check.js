// shapes-check.js: how test/struct-shapes.test.js judges a result: diff() compares a value cffi
// produced with the one test/shapes.js expects, bit for bit; knownBug() names the bugs of the
// implementation these tests found and that are not fixed yet (their failures are reported as
// todo; remove a line when its fix lands).
"use strict";
const { inspect } = require("node:util");
const { jit } = require("./helpers.js");
const { ANY, Partial } = require("./shapes.js");

const show = (v) => (typeof v === "bigint" ? `${v}n` : inspect(v, { depth: 3, breakLength: Infinity, maxArrayLength: 8 }));

// The first difference between a value cffi produced and the expected one, bit for bit
// (Object.is: -0 and NaN count; number and BigInt differ), or null.
function diff(actual, expected, at = "value") {
  if (expected === ANY) return null; // bytes C need not keep (see shapes.js)
  const skip = expected instanceof Partial && expected.unknown; // indices C need not keep
  if (skip) expected = expected.ta;
  if (ArrayBuffer.isView(expected)) {
    if (!ArrayBuffer.isView(actual) || Object.getPrototypeOf(actual) !== Object.getPrototypeOf(expected)) {
      return `${at}: ${show(actual)}, expected a ${expected.constructor.name}`;
    }
    if (actual.length !== expected.length) return `${at}: length ${actual.length}, expected ${expected.length}`;
    for (let i = 0; i < expected.length; i++) {
      if (!(skip && skip.has(i)) && !Object.is(actual[i], expected[i])) return `${at}[${i}]: ${show(actual[i])}, expected ${show(expected[i])}`;
    }
    return null;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${at}: ${show(actual)}, expected ${show(expected)}`;
    for (let i = 0; i < expected.length; i++) {
      const d = diff(actual[i], expected[i], `${at}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual) || ArrayBuffer.isView(actual)) {
      return `${at}: ${show(actual)}, expected an object`;
    }
    if (Object.keys(actual).join() !== Object.keys(expected).join()) {
      return `${at}: keys ${Object.keys(actual).join()}, expected ${Object.keys(expected).join()}`;
    }
    for (const k of Object.keys(expected)) {
      const d = diff(actual[k], expected[k], `${at}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return Object.is(actual, expected) ? null : `${at}: ${show(actual)}, expected ${show(expected)}`;
}

// Known bugs of the implementation, found by these tests: a failing shape that matches one is
// reported, but as a todo (the run stays green); any other failing shape fails the test.
// Remove a line when its fix lands. Shapes whose bug is a crash are not run (`crash`).
const maxAlign = (n) => (n.k === "s" ? 0 : n.k === "array" ? maxAlign(n.elem) : Math.max(n.over, ...n.fields.map((f) => maxAlign(f.type))));
const misaligned = (n) => (n.k === "array" ? misaligned(n.elem) : n.k !== "s" &&
  n.fields.some((f) => f.offset % f.type.align !== 0 || misaligned(f.type)));
const leafTypes = (n) => (n.k === "s" ? [n.t] : n.k === "array" ? leafTypes(n.elem) : n.fields.flatMap((f) => leafTypes(f.type)));
const arm64 = process.arch === "arm64";
function knownBug(shape, mode) {
  if (mode === "memory") return undefined; // no by-value call
  const isAsync = mode === "async";
  const n = shape.node;
  const types = new Set(leafTypes(n));
  if (isAsync && maxAlign(n) >= 16 && n.size > 16) {
    return { crash: true, bug: ".async returning an over-aligned (16, 32) struct in memory segfaults (likely: its result buffer is not aligned to it, and gcc stores it with movaps)" };
  }
  if (maxAlign(n) > 16) {
    return arm64 ? { crash: true, bug: "arm64: aligned(32) structs by value crash or reach C wrongly" }
      : { bug: "aligned(32) arguments (both paths) reach C wrongly, depending on the stack's alignment at the call (likely: gcc expects them at the call's 32-aligned stack pointer, libffi aligns the slot from a 16-aligned base and pads before it)" };
  }
  if (arm64 && types.size === 1 && (types.has("f32") || types.has("f64")) && (n.align > (types.has("f32") ? 4 : 8) || /union/.test(shape.decl))) {
    return { bug: "arm64: floating-point aggregates gcc classifies differently (a union of float members is an HFA; a padded over-aligned one is not)" };
  }
  if (!arm64 && jit && misaligned(n)) return { bug: "JIT: packed structs with misaligned fields (MEMORY class in SysV) reach C wrongly" };
}

module.exports = { diff, show, knownBug };
