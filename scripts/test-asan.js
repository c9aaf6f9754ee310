#!/usr/bin/env node
// test-asan.js: the `npm run test:asan` lane. Builds the addon with AddressSanitizer and
// UndefinedBehaviorSanitizer (CFFI_SANITIZE=1, see src/cffi.gypi) in a staging copy of the
// package (build/asan/: package.json, lib/, index.*, binding.gyp, src/, the build scripts), so
// this clone's build/Release is never touched, then runs the whole test suite against that copy
// (CFFI_TEST_PACKAGE=build/asan) on the JIT path and on the libffi path.
// Node itself is not instrumented: gcc's libasan is preloaded (LD_PRELOAD) into every node
// process, children included. V8 handles SIGSEGV itself (WebAssembly guard pages), so ASan must
// not install a handler for it; leak checking is off (V8 and Node keep memory until exit by
// design). Tests that cannot work under ASan (valgrind, RSS measurements) see CFFI_ASAN=1 and
// skip with a reason. Any ASan or UBSan report aborts the process that made it, which fails
// the test that ran it.
// Usage: npm run test:asan [-- --jit | --ffi] [-- <test file filters>]
"use strict";
const { spawnSync, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const stage = path.join(root, "build", "asan");
const started = Date.now();

function fail(msg) {
  console.error(`cffi test:asan: ${msg}`);
  process.exit(1);
}

// gcc's runtime: the one the addon was linked against.
let libasan;
try {
  libasan = execFileSync("gcc", ["-print-file-name=libasan.so"], { encoding: "utf8" }).trim();
} catch (e) {
  fail(`gcc is needed (${e.message})`);
}
if (!path.isAbsolute(libasan) || !fs.existsSync(libasan)) {
  fail(`gcc has no libasan.so (got ${JSON.stringify(libasan)}); on Debian: apt-get install libasan8 (or gcc's)`);
}

// The staging copy: what the packed package holds plus the build description. Timestamps are
// kept, so make rebuilds only what changed.
fs.mkdirSync(stage, { recursive: true });
for (const f of ["package.json", "lib", "index.mjs", "index.d.ts", "binding.gyp", "src",
  "scripts/build.js", "scripts/gyp.js"]) {
  const from = path.join(root, f);
  const to = path.join(stage, f);
  if (fs.statSync(from).isDirectory()) {
    fs.rmSync(to, { recursive: true, force: true }); // drop files deleted here
  }
  fs.cpSync(from, to, { recursive: true, preserveTimestamps: true,
    filter: (src) => !path.relative(root, src).split(path.sep).includes("build") });
}
console.log(`cffi test:asan: building the ASan+UBSan addon in ${path.relative(root, stage)}/build/Release`);
const b = spawnSync(process.execPath, [path.join(stage, "scripts", "build.js")], {
  cwd: stage, stdio: "inherit", env: { ...process.env, CFFI_SANITIZE: "1" },
});
if (b.status !== 0) fail("the sanitizer build failed");
const built = fs.readFileSync(path.join(stage, "build", "Release", "cffi.node"));
if (!built.includes("__asan_init")) fail("build/asan/build/Release/cffi.node is not instrumented");

const env = {
  ...process.env,
  CFFI_TEST_PACKAGE: stage,
  CFFI_ASAN: "1",
  LD_PRELOAD: [libasan, process.env.LD_PRELOAD].filter(Boolean).join(":"),
  // handle_segv=0 and friends: V8 owns these signals. detect_leaks=0: V8 and Node free much at
  // exit only. detect_odr_violation=0: node and the addon both carry copies of some symbols.
  // abort_on_error: a report ends the process with SIGABRT, which the tests see as a crash.
  ASAN_OPTIONS: ["detect_leaks=0", "handle_segv=0", "handle_sigbus=0", "handle_sigfpe=0",
    "allow_user_segv_handler=1", "detect_odr_violation=0", "detect_stack_use_after_return=0",
    "abort_on_error=1", "halt_on_error=1", "print_summary=1", "strict_init_order=0",
    process.env.ASAN_OPTIONS].filter(Boolean).join(":"),
  UBSAN_OPTIONS: ["print_stacktrace=1", "halt_on_error=1", "abort_on_error=1",
    process.env.UBSAN_OPTIONS].filter(Boolean).join(":"),
};

const args = process.argv.slice(2);
const only = args.includes("--jit") ? ["jit"] : args.includes("--ffi") ? ["ffi"] : ["jit", "ffi"];
const rest = args.filter((a) => a !== "--jit" && a !== "--ffi");
let status = 0;
for (const mode of only) {
  const e = { ...env };
  if (mode === "ffi") e.CFFI_JIT = "0";
  else delete e.CFFI_JIT;
  console.log(`\ncffi test:asan: the suite on the ${mode === "ffi" ? "libffi" : "JIT"} path, under ASan+UBSan`);
  const r = spawnSync(process.execPath, [path.join(__dirname, "test.js"), ...rest], { cwd: root, stdio: "inherit", env: e });
  if (r.status !== 0) status = 1;
}
console.log(`cffi test:asan: ${status ? "FAILED" : "passed"} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.exit(status);
