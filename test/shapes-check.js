// shapes-check.js: how test/struct-shapes.test.js judges a result: diff() compares a value cffi
// produced with the one test/shapes.js expects, bit for bit; knownBug() names the bugs of the
// implementation these tests found and that are not fixed yet (their failures are reported as
// todo; remove a line when its fix lands) and the documented limits.
"use strict";
const { inspect } = require("node:util");
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
// `rejected`: a documented limit, not a bug: declaring the shape as an argument must throw
// that TypeError (structs aligned to more than 16 bytes, which libffi places on the stack
// differently from gcc), and everything else about it must work.
const maxAlign = (n) => (n.k === "s" ? 0 : n.k === "array" ? maxAlign(n.elem) : Math.max(n.over, ...n.fields.map((f) => maxAlign(f.type))));
function knownBug(shape, mode) {
  if (mode === "memory") return undefined; // no by-value call
  if (maxAlign(shape.node) > 16) return { rejected: /^Argument \d+: structs aligned to more than 16 bytes cannot be passed by value; pass a pointer$/ };
}

module.exports = { diff, show, knownBug };
