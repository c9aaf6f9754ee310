#!/usr/bin/env node
// check-binary.js: checks that a built cffi.node is fit to ship as a prebuilt Linux binary, with
// binutils' readelf and objdump: (a) it needs only glibc's own shared libraries (libffi and
// libtcc are linked in statically), (b) the newest GLIBC_x.y symbol version it requires is at
// most --max-glibc (default 2.17; src/glibc_compat.c keeps it there), (c) no text relocations
// and no exported symbols but the Node-API entry points.
// Usage: node scripts/check-binary.js [path/to/cffi.node] [--max-glibc=2.28]. Exit 1 on failure.
"use strict";
const { execFileSync } = require("node:child_process");
const path = require("node:path");

const args = process.argv.slice(2);
const maxArg = args.find((a) => a.startsWith("--max-glibc="));
const max = maxArg ? maxArg.slice("--max-glibc=".length) : "2.17";
const file = args.find((a) => !a.startsWith("--")) ?? path.join(__dirname, "..", "build", "Release", "cffi.node");

const run = (cmd, ...a) => {
  try {
    return execFileSync(cmd, [...a, file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    console.error(`check-binary: ${cmd} ${a.join(" ")} ${file} failed: ${e.stderr || e.message}`.trim());
    process.exit(1);
  }
};
const dynamic = run("readelf", "-d", "-W");
const symbols = run("objdump", "-T", "-w");

let failed = false;
const report = (ok, line) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${line}`);
  if (!ok) failed = true;
};

// (a) DT_NEEDED
const allowedLibs = /^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|ld-linux[\w.-]*\.so\.\d+)$/;
const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
const badLibs = needed.filter((l) => !allowedLibs.test(l));
report(badLibs.length === 0, badLibs.length ? `needs libraries other than glibc's: ${badLibs.join(", ")}`
  : `needs only glibc's libraries: ${needed.join(", ")}`);

// (b) newest GLIBC_x.y version among the symbols it imports
const cmp = (a, b) => {
  const x = a.split(".").map(Number), y = b.split(".").map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
};
const imports = [...symbols.matchAll(/\*UND\*\s+\S+\s+\(?GLIBC_([\d.]+)\)?\s+(\S+)$/gm)].map((m) => ({ ver: m[1], name: m[2] }));
const newest = imports.reduce((n, s) => (cmp(s.ver, n) > 0 ? s.ver : n), "0");
const tooNew = imports.filter((s) => cmp(s.ver, max) > 0).map((s) => `${s.name}@GLIBC_${s.ver}`);
report(tooNew.length === 0, `newest glibc version required: ${newest === "0" ? "none" : "GLIBC_" + newest} (max ${max})` +
  (tooNew.length ? `; too new: ${tooNew.join(", ")}` : ""));

// (c) no text relocations, nothing exported but the Node-API entry points
const textrel = /\bTEXTREL\b/.test(dynamic); // the TEXTREL tag or the TEXTREL flag in FLAGS
report(!textrel, textrel ? "has text relocations (TEXTREL)" : "no text relocations");
const allowedExports = new Set(["napi_register_module_v1", "node_api_module_get_api_version_v1"]);
const exported = symbols.split("\n")
  .filter((l) => /^[0-9a-f]+\s/.test(l) && !l.includes("*UND*") && /\s[gwu]\s/.test(l.slice(0, 24)))
  .map((l) => l.trim().split(/\s+/).pop());
const extra = exported.filter((s) => !allowedExports.has(s));
report(extra.length === 0, extra.length ? `exports more than the Node-API entry points: ${extra.join(", ")}`
  : `exports only ${exported.join(", ")}`);

process.exit(failed ? 1 : 0);
