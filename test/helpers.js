// helpers.js: shared setup for the black-box tests. Compiles test/fixtures/*.c with gcc into
// build/test-fixtures/<name>.so (cached by mtime, written atomically so parallel test files
// can share it), exports their paths, and small assertion and memory utilities, and
// asanSkip for tests that cannot run under the ASan lane.
// On a Node that is not x64 the fixtures go to build/test-fixtures-<arch>; CFFI_TEST_CC names
// another compiler (.ci/arm64-test: aarch64-linux-gnu-gcc for an arm64 Node under qemu), for the
// fixtures and for test/fuzzer.js (testCC).
// A fixture may ask for extra gcc flags with a line `// cffi-test-flags: -lz` in its source.
// The fixtures always live in this clone; the package under test is this clone or, with
// CFFI_TEST_PACKAGE=<dir>, an installed copy (cffiDir, cffiPath, cffiEsmUrl below).
"use strict";
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { pathToFileURL } = require("node:url");

const root = path.resolve(__dirname, "..");
const fixtureDir = path.join(__dirname, "fixtures");
const outDir = path.join(root, "build", process.arch === "x64" ? "test-fixtures" : `test-fixtures-${process.arch}`);
const cc = process.env.CFFI_TEST_CC || "gcc";

function extraFlags(src) {
  const m = /^\s*(?:\/\/|\/\*)\s*cffi-test-flags:\s*(.*?)\s*(?:\*\/)?\s*$/m.exec(fs.readFileSync(src, "utf8"));
  return m ? m[1].split(/\s+/).filter(Boolean) : [];
}

// Compiles one fixture if its .so is missing or older than the .c; returns the .so path.
function compileFixture(name) {
  const src = path.join(fixtureDir, `${name}.c`);
  const out = path.join(outDir, `${name}.so`);
  let stale = true;
  try {
    stale = fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs;
  } catch {}
  if (stale) {
    if (!hasTool(cc)) {
      throw new Error(`test fixture ${name}: ${fs.existsSync(out) ? path.relative(root, out) + " is older than its source" : "not compiled"}, ` +
        `and ${cc} is not on PATH: compile the fixtures where ${cc} is (node -e 'require("./test/helpers.js").buildFixtures()')`);
    }
    fs.mkdirSync(outDir, { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    execFileSync(cc, ["-shared", "-fPIC", "-O1", "-pthread", "-o", tmp, src, ...extraFlags(src)], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    fs.renameSync(tmp, out);
  }
  return out;
}

// Compiles every fixture; returns { name: path }.
function buildFixtures() {
  const result = {};
  for (const f of fs.readdirSync(fixtureDir).sort()) {
    if (f.endsWith(".c")) result[f.slice(0, -2)] = compileFixture(f.slice(0, -2));
  }
  return result;
}

// Lazily compiled fixture paths: fixtures.basic, fixtures.unload, ...
const fixtures = new Proxy({}, {
  get(cache, name) {
    if (typeof name !== "string") return undefined;
    if (!(name in cache)) {
      if (!fs.existsSync(path.join(fixtureDir, `${name}.c`))) return undefined;
      cache[name] = compileFixture(name);
    }
    return cache[name];
  },
});

// The package under test, as the tests see it: this clone, or with CFFI_TEST_PACKAGE=<dir> an
// installed copy (e.g. /some/project/node_modules/cffi). cffiDir is its directory, cffiPath
// what require("cffi") loads there, cffiEsmUrl what import "cffi" loads there.
const cffiDir = process.env.CFFI_TEST_PACKAGE ? path.resolve(process.env.CFFI_TEST_PACKAGE) : root;
const installed = cffiDir !== root;
const cffiPkg = JSON.parse(fs.readFileSync(path.join(cffiDir, "package.json"), "utf8"));
const cffiPath = require.resolve(cffiDir);
const cffiEsmUrl = (() => {
  const dot = cffiPkg.exports && (typeof cffiPkg.exports === "string" ? cffiPkg.exports : cffiPkg.exports["."]);
  const entry = typeof dot === "string" ? dot : dot && (dot.import || dot.default);
  return pathToFileURL(typeof entry === "string" ? path.join(cffiDir, entry) : cffiPath).href;
})();
const jit = process.env.CFFI_JIT !== "0";

// Under the ASan+UBSan lane (scripts/test-asan.js sets CFFI_ASAN=1) RSS measurements mean
// nothing (ASan's shadow memory and quarantine) and valgrind cannot run: such tests pass
// `{ skip: asanSkip }`, which is a reason string there and false otherwise.
const asanSkip = process.env.CFFI_ASAN === "1" &&
  "under ASan (CFFI_ASAN=1): its shadow memory and quarantine make RSS and valgrind meaningless";

// Is a program on PATH (e.g. "valgrind")? Tests that run a tool skip with a reason when not.
function hasTool(name) {
  return (process.env.PATH || "").split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir || ".", name), fs.constants.X_OK);
      return fs.statSync(path.join(dir || ".", name)).isFile();
    } catch {
      return false;
    }
  });
}

// Asserts fn() throws an error of class `cls` whose message equals a string or matches a
// RegExp, and (when given) whose .code equals `code`. Returns the error.
function expectError(cls, fn, message, code) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err !== undefined, `expected a ${cls.name} to be thrown${message ? `: ${message}` : ""}`);
  assert.ok(err instanceof cls, `expected a ${cls.name}, got ${err && err.constructor && err.constructor.name}: ${err && err.message}`);
  if (typeof message === "string") assert.equal(err.message, message);
  else if (message instanceof RegExp) assert.match(err.message, message);
  if (code !== undefined) assert.equal(err.code, code, `error code of "${err.message}"`);
  return err;
}
const expectTypeError = (fn, message, code) => expectError(TypeError, fn, message, code);

// Asserts an error message contains `part`.
function expectTypeErrorContaining(fn, part, code) {
  const err = expectError(TypeError, fn, undefined, code);
  assert.ok(err.message.includes(part), `message ${JSON.stringify(err.message)} should contain ${JSON.stringify(part)}`);
  return err;
}

// The gc() function: --expose-gc when given, else enabled at run time.
function getGC() {
  if (typeof globalThis.gc === "function") return globalThis.gc;
  require("node:v8").setFlagsFromString("--expose-gc");
  return require("node:vm").runInNewContext("gc");
}

// Collects garbage and lets finalizers and queued work run.
async function collect(rounds = 3) {
  const gc = getGC();
  for (let i = 0; i < rounds; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 1));
  }
}

// Resident set size in bytes, from /proc (more direct than process.memoryUsage on Linux).
function rss() {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

// Bytes of the C heap in use (glibc's main arena and mmap'ed chunks; test/fixtures/heapstat.c),
// through cffi itself: a leak of native memory shows here whatever V8 or the kernel do to RSS.
let heapStat;
function heapInUse() {
  if (!heapStat) {
    const { dlopen } = require(cffiPath);
    heapStat = dlopen(fixtures.heapstat, { heap_in_use: { returns: "u64" } }).symbols.heap_in_use;
  }
  return Number(heapStat());
}

// Is this Node an emulated one (qemu-user: an arm64 Node on an x86 machine, .ci/arm64-test)?
// qemu-user passes the host's /proc/cpuinfo through, which then names an x86 vendor. Under it
// /proc/self/status's VmRSS is the emulator's, including its translated-code cache.
const emulated = process.arch !== "x64" && process.arch !== "ia32" && (() => {
  try {
    return /^vendor_id\s*:\s*(GenuineIntel|AuthenticAMD)/m.test(fs.readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    return false;
  }
})();

// Is a file mapped into this process (i.e. a library still loaded)?
function isMapped(file) {
  return fs.readFileSync("/proc/self/maps", "utf8").includes(file);
}

// The file of the mapping that holds address `a` in this process ("" for an anonymous one,
// null when none does).
function mappedFileOf(a) {
  for (const line of fs.readFileSync("/proc/self/maps", "utf8").split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m && BigInt(`0x${m[1]}`) <= BigInt(a) && BigInt(a) < BigInt(`0x${m[2]}`)) return m[3];
  }
  return null;
}

module.exports = {
  root,
  testCC: cc,
  fixtures,
  buildFixtures,
  compileFixture,
  cffiDir,
  cffiPath,
  cffiEsmUrl,
  installed,
  hasTool,
  jit,
  asanSkip,
  expectError,
  expectTypeError,
  expectTypeErrorContaining,
  getGC,
  collect,
  rss,
  heapInUse,
  emulated,
  isMapped,
  mappedFileOf,
};
