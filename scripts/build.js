#!/usr/bin/env node
// Builds the native addon from source, offline: checks the system libraries first (naming the
// Debian package to install when one is missing), then runs node-gyp against the headers of the
// running Node instead of letting node-gyp download them. Works without any user npm
// configuration. In a clone it builds build/Release/cffi.node from the root binding.gyp; in an
// installed package (which has no root binding.gyp, see scripts/package.js) it builds
// src/build/Release/cffi.node from src/binding.gyp. Both are loaded before a prebuilt binary.
// Flags: --rebuild (configure again). CFFI_SANITIZE=1 builds with ASan+UBSan, for
// scripts/test-asan.js (which builds a staging copy of the package, never this build/Release).
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { findNodeDir, findNodeGyp } = require("./gyp.js");

const root = path.resolve(__dirname, "..");
const gypDir = fs.existsSync(path.join(root, "binding.gyp")) ? root : path.join(root, "src");

function fail(msg) {
  console.error(`cffi: ${msg}`);
  process.exit(1);
}

// Each system dependency: a file that must exist (any of), and the package that provides it.
const deps = [
  { what: "libffi headers (ffi.h)", pkg: "libffi-dev",
    files: ["/usr/include/ffi.h", "/usr/include/x86_64-linux-gnu/ffi.h", "/usr/include/aarch64-linux-gnu/ffi.h", "/usr/local/include/ffi.h"] },
  { what: "TinyCC library (libtcc.h)", pkg: "libtcc-dev",
    files: ["/usr/include/libtcc.h", "/usr/local/include/libtcc.h"] },
];
for (const d of deps) {
  if (!d.files.some((f) => fs.existsSync(f))) {
    fail(`missing ${d.what}. Install it with: apt-get install ${d.pkg}`);
  }
}

const nodedir = findNodeDir();
if (!nodedir) {
  fail("cannot find the headers of this Node.js (include/node/node_api.h). On Debian install " +
    "nodejs's headers (package libnode-dev or nodejs-dev), or set CFFI_NODEDIR to the prefix that has include/node.");
}
const gyp = findNodeGyp();
if (!gyp) fail("cannot find node-gyp (it ships with npm). Install npm, or `npm install -g node-gyp`.");

// configure once (or when binding.gyp changed, or CFFI_SANITIZE changed), then an
// incremental build.
const sanitize = process.env.CFFI_SANITIZE === "1" ? "1" : "0";
function gypRun(cmd) {
  const args = [gyp, cmd, `--nodedir=${nodedir}`];
  if (cmd === "configure") args.push("--", `-Dcffi_sanitize=${sanitize}`);
  if (cmd === "build") args.push("--jobs=max");
  if (process.env.CFFI_DEBUG_BUILD) args.push("--debug");
  const r = spawnSync(process.execPath, args, { cwd: gypDir, stdio: "inherit",
    env: { ...process.env, npm_config_nodedir: nodedir } });
  if (r.status !== 0) fail(`native build failed (node-gyp ${cmd}, exit ${r.status}). See the output above.`);
}
const makefile = path.join(gypDir, "build", "Makefile");
const newest = Math.max(...["binding.gyp", path.join("src", "cffi.gypi")]
  .map((f) => path.join(root, f)).filter((f) => fs.existsSync(f)).map((f) => fs.statSync(f).mtimeMs));
const sanitizeMark = path.join(gypDir, "build", "cffi-sanitize");
const readMark = () => { try { return fs.readFileSync(sanitizeMark, "utf8"); } catch { return "0"; } };
const stale = !fs.existsSync(makefile) || fs.statSync(makefile).mtimeMs < newest || readMark() !== sanitize;
if (stale || process.argv.includes("--rebuild")) {
  gypRun("configure");
  fs.writeFileSync(sanitizeMark, sanitize);
}
gypRun("build");
console.log(`cffi: built ${path.join(gypDir, "build", process.env.CFFI_DEBUG_BUILD ? "Debug" : "Release", "cffi.node")}`);
ccRuntime();

// cc-runtime/: the files cc() hands TinyCC at run time (lib/cc.js), so that an installed package
// compiles C with no compiler and no tcc package on the machine: TinyCC's own headers and
// libtcc1.a (from Debian's tcc package), an empty libc.so linker script (libc is already loaded
// in the process; TinyCC only needs to find one), the running Node's Node-API headers, and a
// stdint.h for machines without the system's C headers (src/cc-runtime/). An installed package
// already has the folder: without the tcc package it is left as it is.
function ccRuntime() {
  const out = path.join(root, "cc-runtime");
  const multiarch = { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" }[process.arch] || "";
  const tccDir = [path.join("/usr/lib", multiarch, "tcc"), "/usr/lib/tcc", "/usr/local/lib/tcc"]
    .find((d) => fs.existsSync(path.join(d, "include", "stdarg.h")) && fs.existsSync(path.join(d, "libtcc1.a")));
  if (!tccDir) {
    if (fs.existsSync(path.join(out, "include", "stdarg.h"))) return;
    console.warn("cffi: TinyCC's headers and libtcc1.a were not found (Debian package tcc): cc() will not work. " +
      "Install it with: apt-get install tcc, then build again");
    return;
  }
  // Files are written only where they differ, never removed first: a cc() running meanwhile
  // (tests in parallel with a build) must never find the folder half there.
  const put = (rel, data) => {
    const dst = path.join(out, rel);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    const cur = fs.existsSync(dst) ? fs.readFileSync(dst) : null;
    if (cur && Buffer.compare(cur, Buffer.from(data)) === 0) return;
    const tmp = `${dst}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, dst);
  };
  for (const h of fs.readdirSync(path.join(tccDir, "include"))) {
    put(path.join("include", h), fs.readFileSync(path.join(tccDir, "include", h)));
  }
  put("libtcc1.a", fs.readFileSync(path.join(tccDir, "libtcc1.a")));
  put("libc.so", "/* cffi cc(): libc is already loaded in the process */\n");
  for (const h of ["node_api.h", "node_api_types.h", "js_native_api.h", "js_native_api_types.h"]) {
    put(path.join("node", h), fs.readFileSync(path.join(nodedir, "include", "node", h)));
  }
  put(path.join("fallback", "stdint.h"), fs.readFileSync(path.join(root, "src", "cc-runtime", "stdint.h")));
  put("README.md", "# cc-runtime\n\nWritten by scripts/build.js: the files `cc()` hands " +
    `TinyCC at run time (lib/cc.js). From ${tccDir} (Debian package tcc), ${path.join(nodedir, "include", "node")} ` +
    "and src/cc-runtime/. Not in git.\n");
}
