// examples.test.js: runs every examples/*.js as a child process (same CFFI_JIT mode) and
// checks it exits 0 with output and without writing to stderr. An example may state its exact
// expected stdout in a trailing comment block, each line starting with "// " after a line
// "// Expected output:"; then stdout must match it exactly (lines, trailing spaces trimmed).
// Examples require("cffi"): from examples/ that is this clone; with CFFI_TEST_PACKAGE each
// example runs as a copy in a temporary project whose node_modules/cffi is the installed copy.
// An example that needs a file of the system says so in a line "// Needs: <path> (<package>)";
// where that file is missing (as in .ci/install-test's sandbox) the example is skipped. In the
// path, <multiarch> stands for this Node's Debian multiarch triplet (x86_64-linux-gnu,
// aarch64-linux-gnu): an arm64 Node under qemu on an x86-64 machine lacks arm64 C headers.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { root, cffiDir, installed } = require("./helpers.js");

const dir = path.join(root, "examples");
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".js")).sort() : [];

function expectedOutput(src) {
  const lines = src.split("\n");
  const start = lines.findIndex((l) => /^\/\/\s*Expected output:\s*$/.test(l.trim()));
  if (start < 0) return null;
  const out = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith("//")) break;
    out.push(l.replace(/^\/\/ ?/, "").trimEnd());
  }
  return out.join("\n").trim();
}

if (files.length === 0) {
  test("examples", (t) => t.skip("examples/ has no .js files yet"));
}

// Where the examples run: this clone, or a temporary project using the installed copy.
let runDir = root;
if (installed && files.length) {
  runDir = fs.mkdtempSync(path.join(os.tmpdir(), "cffi-examples-"));
  fs.mkdirSync(path.join(runDir, "node_modules"));
  fs.mkdirSync(path.join(runDir, "examples"));
  fs.symlinkSync(cffiDir, path.join(runDir, "node_modules", "cffi"), "dir");
  fs.writeFileSync(path.join(runDir, "package.json"), '{ "private": true }\n');
  for (const f of files) fs.copyFileSync(path.join(dir, f), path.join(runDir, "examples", f));
  process.on("exit", () => fs.rmSync(runDir, { recursive: true, force: true }));
}

// The first "// Needs: <path> (<package>)" of an example whose path is missing here, or null.
const multiarch = { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" }[process.arch] || "";
function missingNeed(src) {
  for (const m of src.matchAll(/^\/\/\s*Needs:\s*(\S+)\s*(.*)$/gm)) {
    const need = m[1].replace("<multiarch>", multiarch);
    if (!fs.existsSync(need)) return `${need} is missing ${m[2]}`.trim();
  }
  return null;
}

for (const f of files) {
  const missing = missingNeed(fs.readFileSync(path.join(dir, f), "utf8"));
  test(`examples/${f}`, { skip: missing || false }, () => {
    const r = spawnSync(process.execPath, [path.join("examples", f)], {
      cwd: runDir,
      env: process.env,
      encoding: "utf8",
      timeout: 120000,
    });
    assert.equal(r.error, undefined, r.error && r.error.message);
    assert.equal(r.signal, null, `killed by ${r.signal}\n${r.stderr}`);
    assert.equal(r.status, 0, `exit code ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.equal(r.stderr, "", "nothing on stderr");
    assert.ok(r.stdout.trim().length > 0, "prints something");
    const want = expectedOutput(fs.readFileSync(path.join(dir, f), "utf8"));
    if (want !== null) {
      const got = r.stdout.split("\n").map((l) => l.trimEnd()).join("\n").trim();
      assert.equal(got, want);
    }
  });
}
