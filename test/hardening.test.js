// hardening.test.js: regression tests for the defects outside testing found (issue 10), each
// checking what C actually received through the probes of test/fixtures/hardening.c, not only
// that a call returned or threw. Covered: NUL bytes in library paths and symbol names (§16),
// the "__proto__" symbol key, CFFI_JIT_THRESHOLD validation and the cc() message.
// Runs on whichever call path the suite runs (JIT, or libffi with CFFI_JIT=0).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const { pathToFileURL } = require("node:url");
const { fixtures, cffiPath, expectError, expectTypeError } = require("./helpers.js");
const cffi = require(cffiPath);
const { dlopen, linkSymbols, CFunction, viewSource } = cffi;

const DECL = {
  probe_ptr: { args: ["ptr"], returns: "u64" },
  probe_cstring: { args: ["cstring"], returns: "u64" },
  probe_buf: { args: ["buffer", "buffer_length"], returns: "u64" },
  probe_int_buf: { args: ["i32", "buffer", "buffer_length"], returns: "u64" },
  probe_last_ptr: { returns: "u64" },
  probe_last_len: { returns: "u64" },
  probe_last_int: { returns: "i32" },
  probe_set_int: { args: ["i32"], returns: "i32" },
  probe_neg: { args: ["i32"], returns: "i32" },
  probe_far_pages: { returns: "u64" },
};
const lib = dlopen(fixtures.hardening, DECL);
const S = lib.symbols;
test.after(() => lib.close());

// ---- Defect 3: NUL bytes in paths and names ---------------------------------------------------

test("dlopen: a NUL inside the library path throws ERR_INVALID_ARG_VALUE naming it", () => {
  const decl = { abs: { args: ["i32"], returns: "i32" } };
  for (const p of ["libc.so.6\0.evil", `${fixtures.hardening}\0x`, "\0"]) {
    const err = expectTypeError(() => dlopen(p, decl), undefined, "ERR_INVALID_ARG_VALUE");
    assert.ok(err.message.includes(JSON.stringify(p)), err.message);
    const returned = cffi.native.dlopen(p, decl);
    assert.ok(returned instanceof TypeError && returned.code === "ERR_INVALID_ARG_VALUE");
  }
  const url = new URL(`${pathToFileURL(fixtures.hardening).href}%00.evil`);
  expectTypeError(() => dlopen(url, decl), /null bytes/, "ERR_INVALID_ARG_VALUE");
  expectTypeError(() => dlopen(url.href, decl), /null bytes/, "ERR_INVALID_ARG_VALUE");
});

test("dlopen/linkSymbols/viewSource: a NUL inside a symbol name throws, never binds the prefix", () => {
  const def = { args: ["i32"], returns: "i32" };
  const err = expectTypeError(() => dlopen(fixtures.hardening, { "probe_neg\0junk": def }), undefined, "ERR_INVALID_ARG_VALUE");
  assert.ok(err.message.includes(JSON.stringify("probe_neg\0junk")), err.message);
  expectTypeError(() => dlopen(null, { "abs\0junk": def }), /abs\\u0000junk/, "ERR_INVALID_ARG_VALUE");
  expectTypeError(() => linkSymbols({ "f\0": { ...def, ptr: S.probe_neg.ptr } }), /null bytes/, "ERR_INVALID_ARG_VALUE");
  expectTypeError(() => viewSource({ "f\0": def }), /null bytes/, "ERR_INVALID_ARG_VALUE");
  // a definition string with a NUL is an unknown type (§1.1)
  expectTypeError(() => CFunction({ ptr: S.probe_neg.ptr, args: ["i32\0"], returns: "i32" }), /Unknown type/, "ERR_INVALID_ARG_VALUE");
  expectTypeError(() => CFunction({ ptr: S.probe_neg.ptr, args: ["i32"], returns: "i32\0x" }), /Unknown return type/, "ERR_INVALID_ARG_VALUE");
});

// ---- Defect 11 -----------------------------------------------------------------------------------

test('a symbol key "__proto__" defines a function, never the prototype of symbols', () => {
  const def = { args: ["i32"], returns: "i32", ptr: S.probe_neg.ptr };
  for (const open of [(d) => linkSymbols(d), (d) => dlopen(fixtures.hardening, d)]) {
    const l = open({ ["__proto__"]: def, probe_neg: { ...def } });
    try {
      assert.equal(Object.getPrototypeOf(l.symbols), Object.prototype);
      assert.ok(Object.hasOwn(l.symbols, "__proto__"));
      assert.deepEqual(Object.keys(l.symbols), ["__proto__", "probe_neg"]);
      assert.equal(l.symbols["__proto__"](5), -5);
      assert.equal(typeof l.symbols.toString, "function", "still an ordinary object");
    } finally {
      l.close();
    }
  }
});

test("CFFI_JIT_THRESHOLD: anything but a non-negative integer warns once and uses the default", () => {
  const code = `
    const { Worker } = require("node:worker_threads");
    const { state } = require(${JSON.stringify(require.resolve("../lib/abi.js"))});
    const w = new Worker(\`require(${JSON.stringify(require.resolve("../lib/abi.js"))})\`, { eval: true });
    w.on("exit", () => process.stdout.write(String(state.jitThreshold)));`;
  for (const [value, expected, warns] of [["abc", 100, true], ["12abc", 100, true], ["-1", 100, true],
    ["1e3", 100, true], [" 5", 100, true], ["99999999999", 100, true], ["0", 0, false], ["250", 250, false], ["", 100, false]]) {
    const r = spawnSync(process.execPath, ["-e", code], {
      env: { ...process.env, CFFI_JIT_THRESHOLD: value }, encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(Number(r.stdout), expected, `CFFI_JIT_THRESHOLD=${JSON.stringify(value)}`);
    const warnings = r.stderr.split("CFFI_JIT_THRESHOLD").length - 1;
    assert.equal(warnings, warns ? 1 : 0, `warnings for ${JSON.stringify(value)}: ${r.stderr}`);
  }
});

test("cc(): says it is not implemented, without pointing to a document users do not have", () => {
  const err = expectError(Error, () => cffi.cc({}));
  assert.match(err.message, /not implemented/);
  assert.doesNotMatch(err.message, /SPEC|§/);
});
