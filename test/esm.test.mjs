// esm.test.mjs: the package as an ES module. `import { dlopen } from "cffi"` and the default
// export work, the default export is the very object `require("cffi")` returns, and importing
// loads the memory and layout modules no sooner than require does.
// The package under test is imported by its path (helpers.js's cffiEsmUrl: this clone's
// index.mjs, or the installed copy's with CFFI_TEST_PACKAGE), the way `import "cffi"` finds it.
import test from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { spawnSync } from "node:child_process";
import path from "node:path";

const require = createRequire(import.meta.url);
const { fixtures, cffiDir, cffiPath, cffiEsmUrl, installed } = require("./helpers.js");
const ns = await import(cffiEsmUrl);
const cffiDefault = ns.default;
const { dlopen, FFIType, JSCallback, suffix, errno, ptr, CString, viewSource } = ns;

test("default export is the same object as require('cffi')", () => {
  assert.equal(cffiDefault, require(cffiPath));
});

// The exports lib/index.js loads on first use; index.mjs binds stand-ins until then.
const LAZY = ["read", "toArrayBuffer", "toBuffer", "CString", "struct", "union", "array"];

test("named exports are the CommonJS exports (the lazily loaded ones from their first use)", () => {
  const names = ["FFIType", "dlopen", "linkSymbols", "CFunction", "JSCallback", "ptr", "read", "toArrayBuffer",
    "toBuffer", "CString", "viewSource", "suffix", "native", "cc", "errno", "struct", "union", "array"];
  for (const n of names) {
    assert.ok(n in ns, `named export ${n}`);
    if (LAZY.includes(n)) assert.equal(Reflect.has(ns[n], "no such key"), false); // a first use
    assert.equal(ns[n], cffiDefault[n], n);
  }
  assert.equal(dlopen, cffiDefault.dlopen);
  assert.equal(FFIType.i32, 5);
  assert.equal(suffix, "so");
  assert.equal(typeof errno, "function");
  assert.equal(typeof viewSource, "function");
  // the layout types (SPEC §17) from the ES module: one the call path accepts by value
  const Div = ns.struct({ quot: "int", rem: "int" });
  assert.equal(Div.size, 8);
  assert.equal(ns.array("u8", 4).size, 4);
  assert.equal(ns.union({ i: "i32", d: "f64" }).size, 8);
  const { symbols, close } = dlopen(null, { div: { args: ["int", "int"], returns: Div } });
  assert.deepEqual(symbols.div(7, 2), { quot: 3, rem: 1 });
  close();
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

test("import loads neither lib/memory.js nor lib/layout.js; a stand-in works as its export until the first use rebinds it", () => {
  const src = `
    import * as ns from ${JSON.stringify(cffiEsmUrl)};
    import { createRequire } from "node:module";
    import { inspect } from "node:util";
    const require = createRequire(import.meta.url);
    const loaded = () => Object.keys(require.cache).filter((f) => /[\\\\/]lib[\\\\/](memory|layout)\\.js$/.test(f))
      .map((f) => f.replace(/^.*[\\\\/]/, "")).sort();
    const out = { atImport: loaded(), types: [typeof ns.ptr, typeof ns.read, typeof ns.CString] };
    const s = { ...ns }; // the stand-ins, kept: copies made before a first use keep working through them
    const cjs = ns.default;
    const u8 = new Uint8Array([104, 105, 0, 0, 42, 0, 0, 0]);
    out.ptr = s.ptr === cjs.ptr && s.ptr(u8) === cjs.ptr(u8); // no stand-in: lib/abi.js has it
    out.afterPtr = loaded();
    out.rebound = ns.read !== cjs.read;
    out.readKeys = Object.keys(s.read).join() === Object.keys(cjs.read).join() && "i32" in s.read;
    out.readValue = s.read.i32(cjs.ptr(u8), 4);
    out.inspect = [inspect(s.read).includes("i32: [Function: i32]"), inspect(s.CString)]; // what console.log shows
    const text = new cjs.CString(cjs.ptr(u8));
    out.cstring = [text instanceof s.CString, String(new s.CString(cjs.ptr(u8))), new s.CString(cjs.ptr(u8)) instanceof cjs.CString,
      String(s.CString(cjs.ptr(u8))), s.CString.name];
    out.struct = s.struct({ a: "i32", b: "f64" }).size;
    out.afterStruct = loaded();
    out.used = ["read", "CString", "struct"].every((n) => ns[n] === cjs[n]);
    out.unused = ["toArrayBuffer", "toBuffer", "union", "array"].every((n) => ns[n] !== cjs[n]);
    out.copies = ${JSON.stringify(LAZY)}.every((n) => s[n] !== cjs[n]);
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", src], { encoding: "utf8", env: process.env });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    atImport: [], types: ["function", "object", "function"], ptr: true, afterPtr: [], rebound: true,
    readKeys: true, readValue: 42, inspect: [true, "[Function: CString]"], cstring: [true, "hi", true, "hi", "CString"], struct: 16,
    afterStruct: ["layout.js", "memory.js"], used: true, unused: true, copies: true,
  });
});

test("dynamic import gives the same module", async () => {
  const m = await import(cffiEsmUrl);
  assert.equal(m.default, cffiDefault);
  assert.equal(m.dlopen, dlopen);
});

// By name, from where a user's code would name it: this clone (self-reference through
// "exports") or the project the installed copy is in.
const userDir = !installed ? cffiDir
  : path.basename(path.dirname(cffiDir)) === "node_modules" ? path.dirname(path.dirname(cffiDir)) : null;
test("import \"cffi\" and require(\"cffi\") by name load the package under test", { skip: !userDir && "CFFI_TEST_PACKAGE is not in a node_modules directory" }, () => {
  const src = `
    import cffi, { dlopen } from "cffi";
    import { createRequire } from "node:module";
    const req = createRequire(process.cwd() + "/");
    const byPath = await import(${JSON.stringify(cffiEsmUrl)});
    console.log(JSON.stringify({ resolved: req.resolve("cffi"), sameAsRequire: cffi === req("cffi"),
      sameAsPath: cffi === byPath.default && dlopen === byPath.dlopen }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", src], { cwd: userDir, encoding: "utf8", env: process.env });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { resolved: cffiPath, sameAsRequire: true, sameAsPath: true });
});
