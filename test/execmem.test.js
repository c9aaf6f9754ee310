// execmem.test.js: cffi where the system refuses executable memory (issue 10, defect 7).
// Each test runs a child node with the LD_PRELOAD library test/fixtures/execmem_shim.c, which
// refuses cffi.node's requests as a policy would: "nowx" (nothing writable and executable:
// PaX, hardened kernels), "noanon" (SELinux deny_execmem: no anonymous executable memory at
// all; a read+execute shared file mapping is allowed) and "noexec" (nothing executable). In
// every case 200 calls at the default CFFI_JIT_THRESHOLD (so past the 100th, where the batch
// is compiled) give the right results, the process ends normally with status 0 and runs its
// 'exit' handlers, nothing on stderr, and cffi.node never asks for memory writable and
// executable at once. The child always has the JIT on (CFFI_JIT=1), on both passes of the suite.
// JSCallbacks called from C (x86-64 only: elsewhere closures come from libffi's allocator,
// which maps them writable and executable): a scalar one and one taking a struct work under
// every policy, through direct entries in cffi.node's own code (src/cb_direct.c: nothing
// mapped); one returning a struct aligned to 32 needs a libffi closure, in cffi's memfd pages
// (never writable+executable memory) where some executable memory is allowed, and is a clear
// error where none is.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { fixtures, cffiPath, cffiDir, mappedFileOf } = require("./helpers.js");

const withCallback = process.arch === "x64";

if (process.env.CFFI_EXECMEM_CHILD === "1") {
  const cffi = require(cffiPath);
  const lib = cffi.dlopen(fixtures.jit, {
    id_i32: { args: ["i32"], returns: "i32" },
    id_f64: { args: ["f64"], returns: "f64" },
    str_len: { args: ["cstring"], returns: "u64" },
  });
  let ok = 0;
  for (let i = 0; i < 200; i++) {
    if (lib.symbols.id_i32(i * 7 - 50) === i * 7 - 50 && lib.symbols.id_f64(i / 4) === i / 4 &&
      lib.symbols.str_len("x".repeat(i)) === BigInt(i)) ok++;
  }
  let cb = null, cbStruct = null, direct = null, sumIn = null, cbClosure = null, wideIn = null;
  if (process.env.CFFI_EXECMEM_CALLBACK === "1") {
    const twice = new cffi.JSCallback((x) => x * 2, { args: ["i32"], returns: "i32" });
    const r = cffi.dlopen(fixtures.jit, { reenter: { args: ["function", "i32", "f64", "i64", "cstring", "f32"], returns: "f64" } });
    cb = r.symbols.reenter(twice, 21, 0.5, 1n, "abc", 0.25); // 42 + 0.5 + 1 + 3 + 0.25
    const Pair = cffi.struct({ x: "i32", y: "f64" });
    let sum = null;
    try {
      sum = new cffi.JSCallback((p) => p.x + p.y, { args: [Pair], returns: "f64" });
      cbStruct = cffi.CFunction({ ptr: sum.ptr, args: [Pair], returns: "f64" })({ x: 3, y: 0.5 });
    } catch (e) {
      cbStruct = `${e.name}: ${e.message}`;
    }
    // a result aligned to more than 16 bytes: a direct entry does not take it, a closure does
    const Wide = cffi.struct({ x: "f64" }, { align: 32 });
    let wide = null;
    try {
      wide = new cffi.JSCallback(() => ({ x: 3.5 }), { returns: Wide });
      cbClosure = cffi.CFunction({ ptr: wide.ptr, returns: Wide })().x;
    } catch (e) {
      cbClosure = `${e.name}: ${e.message}`;
    }
    direct = mappedFileOf(twice.ptr);
    sumIn = sum && mappedFileOf(sum.ptr);
    wideIn = wide && mappedFileOf(wide.ptr);
    twice.close();
    if (sum) sum.close();
    if (wide) wide.close();
    r.close();
  }
  const maps = fs.readFileSync("/proc/self/maps", "utf8");
  const out = {
    ok,
    cb,
    cbStruct,
    cbClosure,
    direct,
    sumIn,
    wideIn,
    closures: /\/memfd:cffi-closures/.test(maps),
    jit: require(path.join(cffiDir, "lib", "abi.js")).binding.later().jitAvailable(),
    memfd: /\/memfd:cffi-jit/.test(maps),
    note: cffi.viewSource({ f: { args: ["i32"], returns: "i32" } })[0],
  };
  lib.close();
  process.on("exit", (code) => process.stdout.write(JSON.stringify({ ...out, exitHandler: code })));
  return;
}

// The ASan lane (scripts/test-asan.js) preloads libasan, which must come first and intercepts
// mmap itself, so the shim would not see cffi.node's calls.
const skip = process.env.CFFI_ASAN === "1" && "under ASan (CFFI_ASAN=1): LD_PRELOAD is libasan's";

function runPolicy(mode, env = {}) {
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cffi-execmem-")), "wx.log");
  const r = spawnSync(process.execPath, [__filename], {
    env: { ...process.env, CFFI_EXECMEM_CHILD: "1", CFFI_JIT: "1", CFFI_JIT_THRESHOLD: "", CFFI_DEBUG_SOURCE: "",
      LD_PRELOAD: fixtures.execmem_shim, CFFI_TEST_EXECMEM: mode, CFFI_TEST_EXECMEM_LOG: log, ...env },
    encoding: "utf8",
  });
  const wx = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
  fs.rmSync(path.dirname(log), { recursive: true, force: true });
  assert.equal(r.status, 0, `child (${mode}) ended with status ${r.status} signal ${r.signal}, stdout ${JSON.stringify(r.stdout)}, stderr:\n${r.stderr}`);
  assert.equal(wx, "", `cffi.node asked for writable+executable memory (${mode}):\n${wx}`);
  const out = JSON.parse(r.stdout);
  assert.equal(out.ok, 200, `${mode}: ${out.ok} of 200 calls right`);
  assert.equal(out.exitHandler, 0, "'exit' handlers ran with status 0");
  return { ...out, stderr: r.stderr };
}

test("nothing writable+executable allowed: the JIT works (code written, then made read+execute)", { skip }, () => {
  const out = runPolicy("nowx", withCallback ? { CFFI_EXECMEM_CALLBACK: "1" } : {});
  assert.equal(out.stderr, "");
  assert.equal(out.jit, true);
  assert.equal(out.memfd, false);
  if (withCallback) {
    assert.equal(out.cb, 46.75, "a JSCallback called from C");
    assert.match(out.direct, /\/cffi\.node$/, "its address is a direct entry in cffi.node's code");
    assert.equal(out.cbStruct, 3.5, "a JSCallback taking a struct, called from C");
    assert.match(out.sumIn, /\/cffi\.node$/, "a direct entry too");
    assert.equal(out.cbClosure, 3.5, "a JSCallback returning a 32-aligned struct, called from C");
    assert.equal(out.wideIn, "/memfd:cffi-closures (deleted)", "its closure is in cffi's memfd pages");
    assert.equal(out.closures, true);
  }
});

test("no anonymous executable memory (SELinux deny_execmem): the JIT works through a memfd", { skip }, () => {
  const out = runPolicy("noanon", withCallback ? { CFFI_EXECMEM_CALLBACK: "1" } : {});
  assert.equal(out.stderr, "");
  assert.equal(out.jit, true);
  assert.equal(out.memfd, true);
  if (withCallback) {
    assert.equal(out.cb, 46.75, "a JSCallback called from C");
    assert.match(out.direct, /\/cffi\.node$/, "its address is a direct entry in cffi.node's code");
    assert.equal(out.cbStruct, 3.5, "a JSCallback taking a struct, called from C");
    assert.match(out.sumIn, /\/cffi\.node$/, "a direct entry too");
    assert.equal(out.cbClosure, 3.5, "a JSCallback returning a 32-aligned struct, called from C");
    assert.equal(out.wideIn, "/memfd:cffi-closures (deleted)", "its closure is in cffi's memfd pages");
    assert.equal(out.closures, true);
  }
});

test("no executable memory at all: everything runs on libffi, silently; CFFI_DEBUG_SOURCE says why", { skip }, () => {
  const out = runPolicy("noexec", withCallback ? { CFFI_EXECMEM_CALLBACK: "1" } : {});
  assert.equal(out.stderr, "");
  assert.equal(out.jit, false);
  assert.match(out.note, /libffi/);
  if (withCallback) {
    // a direct entry needs no executable memory (struct arguments too); a libffi closure (an
    // over-aligned result) cannot be made
    assert.equal(out.cb, 46.75, "a JSCallback called from C");
    assert.match(out.direct, /\/cffi\.node$/, "its address is a direct entry in cffi.node's code");
    assert.equal(out.cbStruct, 3.5, "a JSCallback taking a struct, called from C");
    assert.match(out.sumIn, /\/cffi\.node$/, "a direct entry too");
    assert.equal(out.cbClosure, "Error: cffi: could not allocate a closure: the system refuses executable memory");
    assert.equal(out.closures, false);
  }
  const dbg = runPolicy("noexec", { CFFI_DEBUG_SOURCE: "1" });
  assert.match(dbg.stderr, /^cffi: executable memory is refused \(.*Permission denied.*\): the JIT is off, calls use libffi\n$/);
});
