// gyp.js: finds what an offline native build needs: the headers of the running Node (the
// prefix node-gyp's --nodedir takes) and node-gyp itself (it ships with npm). Used by
// scripts/build.js and bench/setup.js.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

// Headers of the running Node: <prefix>/include/node/node_api.h (Debian: /usr, official
// tarballs: their own prefix). CFFI_NODEDIR overrides.
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

module.exports = { findNodeDir, findNodeGyp };
