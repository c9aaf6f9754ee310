#!/usr/bin/env node
// package.js: `npm run package`, the one command that turns a clone into the package users
// install. It builds cffi.node from scratch, checks it is self-contained (scripts/check-binary.js:
// only glibc's own libraries, an old glibc symbol floor), stages the package in dist/package/
// with a package.json of its own, and packs it into dist/cffi-<version>.tgz.
//
// The staged package differs from the repository on purpose: it has no install-time scripts and
// no binding.gyp at its root (npm 12 treats either as an install script: a warning by default, a
// failure with --strict-allow-scripts, and a root binding.gyp makes npm run `node-gyp rebuild`),
// it carries the binary under prebuilds/<platform>-<arch>/, and the C sources build from src/
// (src/binding.gyp includes src/cffi.gypi) with `npm run build` for platforms without a binary.
// Options: --no-build (package the existing build/Release/cffi.node), --out=DIR (default dist).
"use strict";
const { execFileSync, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const args = process.argv.slice(2);
const outDir = path.resolve(root, (args.find((a) => a.startsWith("--out=")) || "--out=dist").slice(6));
const stage = path.join(outDir, "package");
const platform = `${process.platform}-${process.arch}`;

function step(msg) {
  console.log(`package: ${msg}`);
}

function fail(msg) {
  console.error(`package: ${msg}`);
  process.exit(1);
}

function run(cmd, cmdArgs, opts = {}) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: "inherit", ...opts });
  if (r.status !== 0) fail(`${cmd} ${cmdArgs.join(" ")} failed (exit ${r.status})`);
}

// 1. A clean release build of the binary, then the self-containment checks.
const built = path.join(root, "build", "Release", "cffi.node");
if (!args.includes("--no-build")) {
  step("building build/Release/cffi.node from scratch");
  fs.rmSync(path.join(root, "build", "Release"), { recursive: true, force: true });
  run(process.execPath, [path.join(__dirname, "build.js"), "--rebuild"],
    { env: { ...process.env, CFFI_DEBUG_BUILD: "" } });
}
if (!fs.existsSync(built)) fail(`${built} is missing: run without --no-build`);

// 2. Stage: only what users need, from the working tree.
step(`staging ${path.relative(root, stage)}/`);
fs.rmSync(stage, { recursive: true, force: true });
fs.mkdirSync(stage, { recursive: true });
const copy = (rel, to = rel) => {
  const dst = path.join(stage, to);
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.cpSync(path.join(root, rel), dst, { recursive: true });
};
for (const f of ["lib", "index.mjs", "index.d.ts", "README.md", "LICENSE", "docs", "examples",
  "bench/README.md", "bench/results.md", "scripts/build.js", "scripts/gyp.js", "cc-runtime", "src/cc-runtime"]) copy(f);
for (const f of fs.readdirSync(path.join(root, "src"))) {
  if (/\.(c|h|inc|gypi)$/.test(f)) copy(path.join("src", f));
}
fs.writeFileSync(path.join(stage, "src", "binding.gyp"),
  "# Builds cffi.node from source in an installed package: `npm run build` (see scripts/build.js).\n" +
  "# The description is cffi.gypi, the same file the repository builds with.\n" +
  '{ "includes": ["cffi.gypi"] }\n');

// The binary, stripped of its symbol table (the dynamic symbols stay).
const prebuilt = path.join(stage, "prebuilds", platform, "cffi.node");
fs.mkdirSync(path.dirname(prebuilt), { recursive: true });
execFileSync("strip", ["--strip-unneeded", "-o", prebuilt, built]);
step(`checking prebuilds/${platform}/cffi.node`);
run(process.execPath, [path.join(__dirname, "check-binary.js"), prebuilt]);

// Licence texts of what the binary links in, and what TinyCC's LGPL asks of a static link.
writeLicenses(path.join(stage, "licenses"));

// package.json: the repository's, less what only a clone needs.
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
delete pkg.devDependencies;
delete pkg.private;
pkg.scripts = { build: "node scripts/build.js" };
pkg.gypfile = false;
pkg.files = undefined;
fs.writeFileSync(path.join(stage, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);

// 3. Pack. npm pack of a folder with no scripts runs nothing.
step("packing");
const out = execFileSync("npm", ["pack", "--json", "--pack-destination", outDir, stage],
  { cwd: outDir, encoding: "utf8", env: { ...process.env, npm_config_update_notifier: "false" } });
const info = JSON.parse(out)[0];
const tgz = path.join(outDir, info.filename);
const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
step(`${path.relative(process.cwd(), tgz)}: ${info.entryCount} files, ${kb(info.size)} packed, ` +
  `${kb(info.unpackedSize)} unpacked (cffi.node ${kb(fs.statSync(prebuilt).size)})`);

function writeLicenses(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const texts = [
    ["libffi.txt", "/usr/share/doc/libffi-dev/copyright"],
    ["tinycc-copyright.txt", "/usr/share/doc/libtcc-dev/copyright"],
    ["LGPL-2.1.txt", "/usr/share/common-licenses/LGPL-2.1"],
  ];
  for (const [name, src] of texts) {
    if (!fs.existsSync(src)) fail(`licence text ${src} is missing (Debian packages libffi-dev, libtcc-dev, base-files)`);
    fs.copyFileSync(src, path.join(dir, name));
  }
  const version = (p) => {
    try {
      return execFileSync("dpkg-query", ["-W", "-f=${Version}", p], { encoding: "utf8" }).trim();
    } catch {
      return "unknown";
    }
  };
  fs.writeFileSync(path.join(dir, "README.md"), `# Third-party code in the prebuilt binary

\`prebuilds/${platform}/cffi.node\` links two libraries statically, as Debian 12 ships them:

| library | Debian package (version) | licence | text |
| --- | --- | --- | --- |
| libffi | libffi-dev (${version("libffi-dev")}) | MIT-style (Expat) | [libffi.txt](libffi.txt) |
| TinyCC (libtcc) | libtcc-dev (${version("libtcc-dev")}) | LGPL 2.1 or later | [tinycc-copyright.txt](tinycc-copyright.txt), [LGPL-2.1.txt](LGPL-2.1.txt) |

cffi itself is MIT-licensed (../LICENSE).

## TinyCC and the LGPL: replacing the library

The LGPL lets you run cffi with a modified TinyCC. Everything needed to relink is in this
package: the complete C source of cffi (\`src/\`) and its build description
(\`src/cffi.gypi\`). TinyCC's source is Debian's source package \`tcc\` at the version above
(\`apt-get source tcc\`) or upstream TinyCC (https://bellard.org/tcc/).

To relink against your own \`libtcc.a\` (and \`libtcc.h\`): install gcc, make, python3 and
libffi-dev, then, in this package's folder (\`node_modules/cffi\`):

\`\`\`sh
LIBRARY_PATH=/path/to/your/lib C_INCLUDE_PATH=/path/to/your/include npm run build
\`\`\`

This writes \`src/build/Release/cffi.node\`, which \`require("cffi")\` loads in preference to
the prebuilt binary.
`);
}
