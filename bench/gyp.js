// gyp.js: offline node-gyp builds for bench/setup.js (the addon, ffi-napi), with the search
// for node-gyp and the Node headers shared with the package's own build (scripts/gyp.js).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { findNodeDir, findNodeGyp } = require("../scripts/gyp.js");

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
