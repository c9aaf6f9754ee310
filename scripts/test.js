#!/usr/bin/env node
// test.js: the `npm test` command. Compiles the C fixtures once, then runs every
// test/*.test.js and test/*.test.mjs with `node --test`, test files in parallel (one per CPU,
// at least 2, where Node has --test-concurrency). In a clone it first writes build/jscache/
// for this Node.js (scripts/jscache.js), so that the tests load lib/ the way a user's program
// does: from V8's code cache. Node runs without --expose-gc for the same reason (V8 refuses a
// cache made with other flags); the tests that need gc() enable it at run time (test/helpers.js).
//
// The terminal shows a first line (package under test, call path, where the full output
// goes), each failure with its error, and a closing line "N passed, N failed, N skipped (T s)".
// The full TAP output of every test, with per-file durations at its end, is in
// build/test-output.txt; with --verbose it goes to stdout instead. The exit status is
// non-zero when anything failed.
//
// Extra arguments: --verbose (above); other ones starting with "-" go to node (e.g.
// --test-name-pattern=x; tests it filters out are counted as neither passed nor skipped);
// others select test files by substring (e.g. `npm test -- callback`).
// Environment: CFFI_JIT=0 forces libffi. In JIT mode every batch is compiled when declared
// (CFFI_JIT_THRESHOLD=0, unless set), so every test call runs a compiled trampoline;
// test/tiering.test.js covers the default. CFFI_TEST_PACKAGE=<dir> tests an installed copy
// of the package (e.g. /some/project/node_modules/cffi) instead of this clone; the fixtures
// are still compiled here, in build/test-fixtures.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { pathToFileURL } = require("node:url");

const started = process.hrtime.bigint();
const root = path.resolve(__dirname, "..");
const testDir = path.join(root, "test");
const buildDir = path.join(root, "build");
const outputFile = path.join(buildDir, "test-output.txt");
const summaryFile = path.join(buildDir, "test-summary.json");

const env = { CFFI_JIT_THRESHOLD: "0", ...process.env };

// Arguments. Options of node's that take a value may also be given as two arguments.
const valueOptions = new Set(["--test-name-pattern", "--test-skip-pattern", "--test-concurrency",
  "--test-timeout", "--test-reporter", "--test-reporter-destination"]);
const nodeFlags = [];
const filters = [];
let verbose = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === "--verbose") verbose = true;
  else if (valueOptions.has(a) && i + 1 < argv.length) nodeFlags.push(`${a}=${argv[++i]}`);
  else (a.startsWith("-") ? nodeFlags : filters).push(a);
}

// The package under test.
let pkgLine;
if (process.env.CFFI_TEST_PACKAGE) {
  const dir = path.resolve(process.env.CFFI_TEST_PACKAGE);
  let pkg;
  try {
    pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  } catch (e) {
    console.error(`cffi tests: CFFI_TEST_PACKAGE=${process.env.CFFI_TEST_PACKAGE}: no readable package.json there (${e.message})`);
    process.exit(1);
  }
  if (pkg.name !== "cffi") {
    console.error(`cffi tests: CFFI_TEST_PACKAGE=${dir} holds package ${JSON.stringify(pkg.name)}, not cffi`);
    process.exit(1);
  }
  env.CFFI_TEST_PACKAGE = dir;
  pkgLine = `installed cffi ${pkg.version} at ${dir}`;
} else {
  pkgLine = `cffi from this clone (${root})`;
}
const mode = process.env.CFFI_JIT === "0" ? "libffi (CFFI_JIT=0)"
  : `JIT (TinyCC trampolines, libffi fallback; CFFI_JIT_THRESHOLD=${env.CFFI_JIT_THRESHOLD})`;
const where = verbose ? "full output below" : `full output in ${path.relative(process.cwd(), outputFile) || outputFile}`;
console.log(`cffi tests: ${pkgLine}; call path = ${mode}; ${where}`);

if (!process.env.CFFI_TEST_PACKAGE) {
  const w = spawnSync(process.execPath, [path.join(__dirname, "jscache.js")], { cwd: root, encoding: "utf8" });
  if (w.status !== 0) {
    console.error(`cffi tests: writing the code cache failed (scripts/jscache.js):\n${w.stderr}`);
    process.exit(1);
  }
}

try {
  require(path.join(testDir, "helpers.js")).buildFixtures();
} catch (e) {
  console.error(`cffi tests: compiling the fixtures failed: ${e.message}`);
  process.exit(1);
}

let files = fs.readdirSync(testDir)
  .filter((f) => f.endsWith(".test.js") || f.endsWith(".test.mjs"))
  .sort()
  .map((f) => path.join("test", f));
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s) || path.resolve(root, s) === path.resolve(root, f)));
if (!files.length) {
  console.error(`cffi tests: no test file matches ${filters.join(" ")}`);
  process.exit(1);
}

// Test files in parallel: node --test runs availableParallelism() - 1 at a time by default,
// i.e. one after another on a 2-CPU machine, while most files mostly wait for child processes.
const [major, minor] = process.versions.node.split(".").map(Number);
const hasConcurrency = major > 20 || (major === 20 && minor >= 10);
const has = (flag) => nodeFlags.some((f) => f === flag || f.startsWith(`${flag}=`));
const runFlags = [];
if (hasConcurrency && !has("--test-concurrency")) {
  const cpus = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  runFlags.push(`--test-concurrency=${Math.max(2, cpus)}`);
}
// Reporters: the full TAP to the output file (to stdout with --verbose), the short summary
// to stdout; unless the caller chose reporters. (Node 20 warns about listeners with three.)
const ownReporters = !has("--test-reporter");
if (ownReporters) {
  fs.mkdirSync(buildDir, { recursive: true });
  fs.rmSync(summaryFile, { force: true });
  fs.rmSync(outputFile, { force: true });
  runFlags.push("--test-reporter=tap", `--test-reporter-destination=${verbose ? "stdout" : outputFile}`);
  runFlags.push(`--test-reporter=${pathToFileURL(path.join(__dirname, "test-reporter.mjs")).href}`,
    "--test-reporter-destination=stdout");
  env.CFFI_TEST_SUMMARY = summaryFile;
}

const r = spawnSync(process.execPath, ["--test", ...runFlags, ...nodeFlags, ...files], {
  cwd: root,
  stdio: "inherit",
  env,
});
if (r.error) {
  console.error(`cffi tests: could not run node --test: ${r.error.message}`);
  process.exit(1);
}
let status = r.status === null ? 1 : r.status;
if (!ownReporters) process.exit(status);

const seconds = (Number(process.hrtime.bigint() - started) / 1e9).toFixed(1);
let s;
try {
  s = JSON.parse(fs.readFileSync(summaryFile, "utf8"));
} catch {
  console.log(`cffi tests: node --test ended (${r.signal ? `signal ${r.signal}` : `exit status ${r.status}`}) without a summary; see ${outputFile}`);
  console.log(`0 passed, 1 failed, 0 skipped (${seconds} s)`);
  process.exit(status || 1);
}
// Per-file durations at the end of the full output (the files ran concurrently: these overlap).
try {
  const lines = s.files.map((f) => `#   ${(f.ms / 1000).toFixed(1).padStart(6)} s  ${f.file} (${f.tests} tests)`);
  const text = `# duration per test file (${runFlags.find((f) => f.startsWith("--test-concurrency")) || "default concurrency"}):\n${lines.join("\n")}\n` +
    `# ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped, ${s.todo} todo, ${s.filtered} filtered out; ${seconds} s in all\n`;
  if (verbose) process.stdout.write(text);
  else fs.appendFileSync(outputFile, text);
} catch {}

let failed = s.failed;
if (status !== 0 && failed === 0) {
  console.log(`cffi tests: node --test exited with ${r.signal ? `signal ${r.signal}` : `status ${r.status}`} although no test failed; see ${outputFile}`);
  failed = 1;
} else if (failed > 0 && status === 0) {
  status = 1;
}
if (s.filtered) console.log(`cffi tests: ${s.filtered} tests filtered out (not run, not counted)`);
console.log(`${s.passed} passed, ${failed} failed, ${s.skipped} skipped (${seconds} s)`);
process.exit(status);
