// load.test.js: how require("cffi") loads lib/ (lib/index.js, sibling()). Every module of lib/
// is loaded once, as a Module in require.cache under its own file name, so that a plain
// require() of the file gets the same instance (the same addon state); and loading them,
// eagerly or on first use (memory.js, async.js, layout.js), resolves none of them
// through require()'s resolution, which cost ~0.35 ms per module in a fresh process; and what
// loads on first use loads no sooner.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { cffiPath, cffiDir } = require("./helpers.js");

if (process.env.CFFI_LOAD_CHILD === "bundler") {
  // lib/index.js run as a bundler or test runner would: a `module` that is a plain object and
  // a require() of its own (here createRequire's), which must see every module of lib/ by name
  const { createRequire } = require("node:module");
  const vm = require("node:vm");
  const index = require.resolve(cffiPath);
  const own = createRequire(index);
  const seen = [];
  const shim = (id) => {
    seen.push(id);
    return own(id);
  };
  const m = { exports: {} };
  const wrapper = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(index, "utf8")}\n})`,
    { filename: index });
  wrapper.call(m.exports, m.exports, shim, m, index, path.dirname(index));
  const cffi = m.exports;
  const libc = cffi.dlopen(null, { abs: { args: ["i32"], returns: "i32" } });
  const ok = [libc.symbols.abs(-7) === 7, cffi.read.i32(cffi.ptr(new Int32Array([42]))) === 42];
  libc.close();
  process.stdout.write(JSON.stringify({ ok, seen: seen.filter((r) => r.startsWith("./")) }));
  return;
}

if (process.env.CFFI_LOAD_CHILD === "lazy") {
  const cffi = require(cffiPath);
  const lib = fs.realpathSync(path.join(cffiDir, "lib"));
  const ours = () => Object.keys(require.cache).filter((f) => path.dirname(f) === lib).map((f) => path.basename(f)).sort().join();
  const steps = [["require", ours()]];
  const libc = cffi.dlopen(null, { abs: { args: ["i32"], returns: "i32" }, strlen: { args: ["ptr"], returns: "usize" } });
  libc.symbols.abs(-1);
  libc.symbols.strlen(new Uint8Array([104, 105, 0]));
  new cffi.JSCallback((x) => x, { args: ["i32"], returns: "i32" }).close();
  steps.push(["dlopen, calls, a JSCallback", ours()]);
  const hi = new Uint8Array([104, 105, 0]); // kept alive below: p is its address
  const p = cffi.ptr(hi);
  steps.push(["ptr", ours()]);
  new cffi.JSCallback(() => p, { args: [], returns: "ptr" }).close();
  steps.push(["a JSCallback returning ptr", ours()]);
  const ok = libc.symbols.strlen(p) === 2n && cffi.read.u8(p) === 104 && hi[0] === 104;
  steps.push(["read", ours()]);
  libc.close();
  process.stdout.write(JSON.stringify({ ok, steps }));
  return;
}

if (process.env.CFFI_LOAD_CHILD === "1") {
  const Module = require("node:module");
  const resolved = [];
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    resolved.push(request);
    return Reflect.apply(resolve, this, [request, ...rest]);
  };
  const cffi = require(cffiPath);
  const libc = cffi.dlopen(null, { abs: { args: ["i32"], returns: "i32" } });
  const ok = [libc.symbols.abs(-7) === 7, cffi.read.i32(cffi.ptr(new Int32Array([42]))) === 42,
    cffi.struct({ a: "i32", b: "f64" }).size === 16];
  libc.symbols.abs.async(-9).then((nine) => {
    ok.push(nine === 9);
    const lib = path.join(cffiDir, "lib");
    const ours = Object.keys(require.cache).filter((f) => path.dirname(f) === fs.realpathSync(lib)).map((f) => path.basename(f));
    const same = require(path.join(lib, "abi.js")).binding === require.cache[path.join(fs.realpathSync(lib), "abi.js")].exports.binding;
    libc.close();
    process.stdout.write(JSON.stringify({ ok, resolved: resolved.filter((r) => r.startsWith("./")), ours: ours.sort(), same }));
  });
  return;
}

test("lib/'s modules load once, in require.cache, without require()'s resolution", () => {
  const r = spawnSync(process.execPath, [__filename], { env: { ...process.env, CFFI_LOAD_CHILD: "1" }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.ok, [true, true, true, true], "abs, read.i32, struct and abs.async work");
  assert.deepEqual(out.resolved, [], "no module of lib/ went through Module._resolveFilename");
  assert.deepEqual(out.ours, ["abi.js", "async.js", "index.js", "layout.js", "library.js", "memory.js", "types.js"]);
  assert.equal(out.same, true, "a plain require() of lib/abi.js returns the instance cffi uses");
});

test("lib/ and index.mjs are ASCII: V8 keeps a source with any other character as UTF-16", () => {
  // twice the memory for the source, which V8 keeps for compiling functions on first use:
  // require("cffi") took 11 page faults and ~0.1 ms more (paired fresh processes)
  const lib = path.join(cffiDir, "lib");
  const files = fs.readdirSync(lib).filter((n) => n.endsWith(".js")).map((n) => path.join(lib, n));
  assert.ok(files.length >= 8, `lib/ has ${files.length} modules`);
  for (const file of [...files, path.join(cffiDir, "index.mjs")]) {
    const text = fs.readFileSync(file, "latin1");
    const at = text.search(/[^\x00-\x7f]/);
    const line = at < 0 ? 0 : text.slice(0, at).split("\n").length;
    assert.equal(at, -1, `${path.relative(cffiDir, file)}:${line}: a non-ASCII character (write it as an escape in strings)`);
  }
});

test("src/ writes to stdout and stderr only through file descriptors (tcc_glibc.c)", { skip: !fs.existsSync(path.join(cffiDir, "src", "tcc_glibc.c")) && "no src/ here" }, () => {
  // Inside cffi.node, stdout, stderr and environ name libtcc's copies, which are filled only
  // when TinyCC first runs: code that used them before would crash
  const src = path.join(cffiDir, "src");
  for (const name of fs.readdirSync(src).filter((n) => /\.[ch]$/.test(n) && n !== "tcc_glibc.c")) {
    const text = fs.readFileSync(path.join(src, name), "utf8").replace(/\/\*[^]*?\*\//g, "").replace(/"(?:[^"\\\n]|\\.)*"/g, '""');
    const m = /\b(stdout|stderr|environ)\b/.exec(text);
    assert.equal(m, null, `src/${name} uses ${m && m[1]}: write with dprintf(STDOUT_FILENO/STDERR_FILENO, ...) instead`);
  }
});

test("where `module` is not Node's (a bundler, a test runner), lib/ loads through its require()", () => {
  const r = spawnSync(process.execPath, [__filename], { env: { ...process.env, CFFI_LOAD_CHILD: "bundler" }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.ok, [true, true], "abs and read.i32 work");
  assert.deepEqual(out.seen, ["./abi.js", "./types.js", "./library.js", "./memory.js"]);
});

test("the memory helpers load on first use, except ptr(), which lib/abi.js has", () => {
  const r = spawnSync(process.execPath, [__filename], { env: { ...process.env, CFFI_LOAD_CHILD: "lazy" }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const core = "abi.js,index.js,library.js,types.js";
  assert.deepEqual(JSON.parse(r.stdout), {
    ok: true,
    steps: [
      ["require", core],
      ["dlopen, calls, a JSCallback", core],
      ["ptr", core],
      ["a JSCallback returning ptr", core],
      ["read", "abi.js,index.js,library.js,memory.js,types.js"],
    ],
  });
});

test("where Node.js refuses addons (--no-addons, --permission), require says so; with --allow-addons cffi works", (t) => {
  const flags = process.allowedNodeEnvironmentFlags;
  const permission = flags.has("--permission") ? "--permission" : flags.has("--experimental-permission") ? "--experimental-permission" : null;
  if (!permission || !flags.has("--allow-addons")) return t.skip("this Node.js has no permission model with --allow-addons");
  const src = `
    let cffi;
    try { cffi = require(${JSON.stringify(cffiPath)}); } catch (e) { console.log(JSON.stringify([e.code, e.message, e.cause && e.cause.code])); process.exit(0); }
    console.log(JSON.stringify(cffi.dlopen(null, { abs: { args: ["i32"], returns: "i32" } }).symbols.abs(-7)));`;
  const run = (...extra) => {
    const r = spawnSync(process.execPath, [permission, "--allow-fs-read=*", ...extra, "-e", src], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    return JSON.parse(r.stdout);
  };
  const [code, message, cause] = run();
  assert.equal(code, "ERR_DLOPEN_DISABLED");
  assert.equal(cause, "ERR_DLOPEN_DISABLED");
  assert.match(message, /--allow-addons/);
  assert.doesNotMatch(message, /npm run build/);
  assert.equal(run("--allow-addons"), 7);
  // node --no-addons: the same error
  const r = spawnSync(process.execPath, ["--no-addons", "-e", src], { encoding: "utf8" });
  assert.equal(JSON.parse(r.stdout)[0], "ERR_DLOPEN_DISABLED", r.stdout + r.stderr);
  // reads allowed only where lib/ and the binary are: the other places cffi looks (the other
  // binaries' folders, the code cache) are skipped, not errors (Node 20's existsSync throws there)
  const binary = ["build/Release", "src/build/Release", `prebuilds/${process.platform}-${process.arch}`]
    .map((d) => path.join(cffiDir, d)).find((d) => fs.existsSync(path.join(d, "cffi.node")));
  const narrow = spawnSync(process.execPath, [permission, "--allow-addons", `--allow-fs-read=${path.join(cffiDir, "lib")}`,
    `--allow-fs-read=${binary}`, `--allow-fs-read=${path.join(cffiDir, "package.json")}`, "-e", src], { encoding: "utf8" });
  assert.equal(narrow.stdout.trim(), "7", narrow.stderr);
});
