// esm.test.mjs: the package as an ES module. `import { dlopen } from "cffi"` and the default
// export work, and the default export is the very object `require("cffi")` returns.
import test from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import cffiDefault, * as ns from "cffi";
import { dlopen, FFIType, JSCallback, suffix, errno, ptr, CString, viewSource } from "cffi";

const require = createRequire(import.meta.url);
const { fixtures } = require("./helpers.js");

test("default export is the same object as require('cffi') and require('../lib/index.js')", () => {
  assert.equal(cffiDefault, require("cffi"));
  assert.equal(cffiDefault, require("../lib/index.js"));
});

test("named exports are the CommonJS exports", () => {
  const names = ["FFIType", "dlopen", "linkSymbols", "CFunction", "JSCallback", "ptr", "read", "toArrayBuffer",
    "toBuffer", "CString", "viewSource", "suffix", "native", "cc", "errno"];
  for (const n of names) {
    assert.ok(n in ns, `named export ${n}`);
    assert.equal(ns[n], cffiDefault[n], n);
  }
  assert.equal(dlopen, cffiDefault.dlopen);
  assert.equal(FFIType.i32, 5);
  assert.equal(suffix, "so");
  assert.equal(typeof errno, "function");
  assert.equal(typeof viewSource, "function");
});

test("a library opened through the ES module works", () => {
  const lib = dlopen(fixtures.basic, {
    add_i32: { args: ["i32", "i32"], returns: "i32" },
    hello: { returns: "cstring" },
    call_i32: { args: ["function", "i32"], returns: "i32" },
    static_text_ptr: { returns: "ptr" },
  });
  assert.equal(lib.symbols.add_i32(20, 22), 42);
  assert.equal(lib.symbols.hello(), "Hello, world!");
  const cb = new JSCallback((x) => x * 3, { args: ["i32"], returns: "i32" });
  assert.equal(lib.symbols.call_i32(cb, 5), 15);
  cb.close();
  assert.equal(CString(lib.symbols.static_text_ptr()), "static text");
  assert.ok(ptr(new Uint8Array(1)) > 0);
  lib.close();
});

test("dynamic import gives the same module", async () => {
  const m = await import("cffi");
  assert.equal(m.default, cffiDefault);
  assert.equal(m.dlopen, dlopen);
});
