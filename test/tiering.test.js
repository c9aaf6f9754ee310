// tiering.test.js: functions start on libffi and move to a JIT-compiled trampoline after
// CFFI_JIT_THRESHOLD calls (default 100). Each case runs in a child process with its own
// environment; CFFI_DEBUG_SOURCE=1 makes every compile visible on stderr, so the tests
// see when the batch is compiled, and check that results never change across the switch.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const { fixtures, cffiPath } = require("./helpers.js");


// Runs `body` (source of a function (cffi, lib, mark) => void) in a child. `mark(label)`
// writes a marker to stderr, so compiles can be placed between markers.
function run(body, env) {
  const src = `
    const cffi = require(${JSON.stringify(cffiPath)});
    const lib = cffi.dlopen(${JSON.stringify(fixtures.basic)}, {
      add_i32: { args: ["i32", "i32"], returns: "i32" },
      add_f64: { args: ["f64", "f64"], returns: "f64" },
      call_twice: { args: ["function"], returns: "i32" },
    });
    const mark = (label) => process.stderr.write("@@" + label + "\\n");
    (${body})(cffi, lib, mark);
  `;
  const childEnv = { ...process.env, CFFI_DEBUG_SOURCE: "1", ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const r = spawnSync(process.execPath, ["-e", src], { env: childEnv, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  // stderr as a list of markers and compiles, in order
  const events = r.stderr.split("\n").flatMap((l) => {
    if (l.startsWith("@@")) return [l.slice(2)];
    if (/^napi_value cffi_call_\d+\(/.test(l)) return ["compiled"];
    return [];
  });
  return { events, stdout: r.stdout };
}

const countCompiles = (events) => events.filter((e) => e === "compiled").length;

test("default: libffi until the 100th call, then the whole batch is compiled once", { skip: process.env.CFFI_JIT === "0" }, () => {
  const { events, stdout } = run(`(cffi, lib, mark) => {
    const s = lib.symbols;
    const out = [];
    mark("declared");
    for (let i = 0; i < 99; i++) out.push(s.add_i32(i, -2 * i));
    mark("after 99");
    for (let i = 99; i < 300; i++) out.push(s.add_i32(i, -2 * i));
    mark("after 300");
    for (let i = 0; i < 300; i++) out.push(s.add_f64(i, 0.5));
    mark("end");
    console.log(JSON.stringify(out));
  }`, { CFFI_JIT_THRESHOLD: undefined });
  assert.deepEqual(events.filter((e) => e !== "compiled").length, 4);
  const at = (label) => events.indexOf(label);
  assert.equal(countCompiles(events.slice(0, at("after 99"))), 0, "nothing compiled before the threshold");
  assert.equal(countCompiles(events.slice(at("after 99"), at("after 300"))), 3, "the batch (3 functions) compiled once");
  assert.equal(countCompiles(events.slice(at("after 300"))), 0, "the other functions of the batch came along");
  const out = JSON.parse(stdout);
  const expected = [];
  for (let i = 0; i < 300; i++) expected.push(i - 2 * i);
  for (let i = 0; i < 300; i++) expected.push(i + 0.5);
  assert.deepEqual(out, expected);
});

test("CFFI_JIT_THRESHOLD=0 compiles when declared; =5 after five calls", { skip: process.env.CFFI_JIT === "0" }, () => {
  let { events } = run(`(cffi, lib, mark) => { mark("declared"); }`, { CFFI_JIT_THRESHOLD: "0" });
  assert.deepEqual(events, ["compiled", "compiled", "compiled", "declared"]);
  ({ events } = run(`(cffi, lib, mark) => {
    for (let i = 0; i < 4; i++) lib.symbols.add_i32(1, 2);
    mark("four");
    lib.symbols.add_i32(1, 2);
    mark("five");
  }`, { CFFI_JIT_THRESHOLD: "5" }));
  assert.deepEqual(events, ["four", "compiled", "compiled", "compiled", "five"]);
});

test("tier-up inside a callback, during an outer call, changes no result", { skip: process.env.CFFI_JIT === "0" }, () => {
  const { events, stdout } = run(`(cffi, lib, mark) => {
    const s = lib.symbols;
    const seen = [];
    // The callback makes the 10th call of add_i32 while call_twice is in flight.
    const cb = new cffi.JSCallback((x) => {
      let r = 0;
      for (let i = 0; i < 6; i++) r += s.add_i32(x, i);
      seen.push(r);
      return r;
    }, { args: ["i32"], returns: "i32" });
    const total = s.call_twice(cb);
    cb.close();
    console.log(JSON.stringify({ total, seen }));
  }`, { CFFI_JIT_THRESHOLD: "10" });
  assert.equal(countCompiles(events), 3);
  // cb(1) = sum(1 + i) = 21, cb(2) = sum(2 + i) = 27
  assert.deepEqual(JSON.parse(stdout), { total: 48, seen: [21, 27] });
});

test("closed before the threshold: calls keep throwing, nothing is compiled", { skip: process.env.CFFI_JIT === "0" }, () => {
  const { events, stdout } = run(`(cffi, lib, mark) => {
    const f = lib.symbols.add_i32;
    f(1, 2);
    lib.close();
    const msgs = [];
    for (let i = 0; i < 5; i++) { try { f(1, 2); } catch (e) { msgs.push(e.message); } }
    console.log(JSON.stringify(msgs));
  }`, { CFFI_JIT_THRESHOLD: "3" });
  assert.equal(countCompiles(events), 0);
  assert.deepEqual(JSON.parse(stdout), Array(5).fill("library is closed"));
});
