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
