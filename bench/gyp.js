// gyp.js: finds node-gyp and the headers of the running Node, so that bench/setup.js can build
// native code offline (the same search as scripts/build.js, which runs a build when required
// and so cannot be reused as a module).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

// Prefix whose include/node has node_api.h and common.gypi (node-gyp's --nodedir).
function findNodeDir() {
  const candidates = [];
  if (process.env.CFFI_NODEDIR) candidates.push(process.env.CFFI_NODEDIR);
  candidates.push(path.resolve(path.dirname(process.execPath), ".."), "/usr", "/usr/local");
  return candidates.find((c) =>
    fs.existsSync(path.join(c, "include", "node", "node_api.h")) &&
    fs.existsSync(path.join(c, "include", "node", "common.gypi"))) || null;
}

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try { candidates.push(require.resolve("node-gyp/bin/node-gyp.js")); } catch {}
  const npmRoot = path.resolve(path.dirname(process.execPath), "..", "lib", "node_modules", "npm");
  candidates.push(path.join(npmRoot, "node_modules", "node-gyp", "bin", "node-gyp.js"),
    "/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
    "/usr/share/nodejs/node-gyp/bin/node-gyp.js");
  return candidates.find((c) => c && fs.existsSync(c)) || null;
}

// Runs `node-gyp rebuild` in dir. Returns null on success, else a one-line reason; the full
// output goes to <dir>/build-bench.log.
function gypRebuild(dir, extraEnv = {}) {
  const nodedir = findNodeDir();
  if (!nodedir) return "no Node headers (include/node/node_api.h) found; set CFFI_NODEDIR";
  const gyp = findNodeGyp();
  if (!gyp) return "node-gyp not found (it ships with npm)";
  const r = spawnSync(process.execPath, [gyp, "rebuild", `--nodedir=${nodedir}`, "--jobs=max"], {
    cwd: dir, encoding: "utf8", env: { ...process.env, npm_config_nodedir: nodedir, ...extraEnv },
  });
  const log = path.join(dir, "build-bench.log");
  fs.writeFileSync(log, `${r.stdout || ""}\n${r.stderr || ""}`);
  if (r.status === 0) return null;
  const firstError = `${r.stdout}\n${r.stderr}`.split("\n").find((l) => /error:/.test(l));
  return `node-gyp rebuild failed (exit ${r.status})${firstError ? `: ${firstError.trim()}` : ""}; see ${log}`;
}

module.exports = { findNodeDir, findNodeGyp, gypRebuild };
