// installed-smoke.mjs: run by .ci/install-test from inside a fresh project that installed the
// packed cffi tarball. Checks what a user gets right after `npm install`: `import` and `require`
// both work, a libc call and a JSCallback work on both call paths, the binary loaded is the
// package's prebuilt one (or $CFFI_SMOKE_BINARY/cffi.node), and neither libffi nor libtcc is loaded as a shared library.
// Usage: node installed-smoke.mjs   (cwd: the project; exit 1 with a message on failure)
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dlopen, FFIType, JSCallback, ptr, CString } from "cffi";

const require = createRequire(`${process.cwd()}/`);
const cffi = require("cffi");
assert.equal(cffi.dlopen, dlopen, "import and require give the same module");

const libc = dlopen("libc.so.6", {
  abs: { args: [FFIType.i32], returns: FFIType.i32 },
  strlen: { args: [FFIType.ptr], returns: FFIType.u64 },
  qsort: { args: [FFIType.ptr, FFIType.u64, FFIType.u64, FFIType.function], returns: FFIType.void },
});
for (let i = 0; i < 150; i++) assert.equal(libc.symbols.abs(-i), i); // past the JIT's tier-up
assert.equal(libc.symbols.strlen(Buffer.from("hello\0")), 5n);

const data = new Int32Array([5, -3, 9, 0, 2]);
const cmp = new JSCallback((a, b) => cffi.read.i32(a) - cffi.read.i32(b),
  { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 });
libc.symbols.qsort(data, BigInt(data.length), 4n, cmp);
assert.deepEqual([...data], [-3, 0, 2, 5, 9]);
cmp.close();
const text = Buffer.from("installed\0");
assert.equal(new CString(ptr(text)).toString(), "installed");
libc.close();

const maps = readFileSync("/proc/self/maps", "utf8");
const loaded = maps.split("\n").map((l) => l.split(/\s+/)[5]).filter(Boolean);
const addon = loaded.find((f) => f.endsWith("cffi.node"));
const expected = process.env.CFFI_SMOKE_BINARY ?? `prebuilds/${process.platform}-${process.arch}`;
assert.ok(addon && addon.endsWith(`/node_modules/cffi/${expected}/cffi.node`), `${expected}/cffi.node is loaded (got ${addon})`);
const foreign = loaded.filter((f) => /libffi|libtcc/.test(f));
assert.deepEqual([...new Set(foreign)], [], "no libffi or libtcc shared library is loaded");
console.log(`installed-smoke: ok on Node ${process.version} (CFFI_JIT=${process.env.CFFI_JIT ?? "default"}), ${addon}`);
