// cc.js: cc(options) (SPEC 15): compiles C at run time with the embedded TinyCC and binds the
// symbols exactly like dlopen (lib/library.js linkLibrary). This module validates the options
// and turns them into TinyCC's settings (include paths, defines, options, libraries); the
// native side (src/cc.c) compiles and relocates under the TinyCC lock and returns addresses
// or TinyCC's messages, which become the SPEC's errors here. Loaded on the first cc() call
// (lib/index.js), so require("cffi") does not pay for it.
//
// The files TinyCC reads at run time ship in the package's cc-runtime/ folder (written by
// scripts/build.js): TinyCC's own headers (include/), the Node-API headers (node/), a stdint.h
// used only where the system's C headers for this architecture are missing (fallback/), and per
// architecture (<process.arch>/) libtcc1.a and an empty libc.so linker script (libc is already
// in the process).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { binding, later, codedTypeError, codedError } = require("./abi.js");
const { linkLibrary, nulError, readSymbols, filePath } = require("./library.js");

const runtimeDir = path.join(__dirname, "..", "cc-runtime");
const archRuntimeDir = path.join(runtimeDir, process.arch);
const DEFAULT_FLAGS = ["-std=c11", "-O2"];
const MULTIARCH = { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" }[process.arch];

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function noNul(what, s) {
  if (s.includes("\0")) throw nulError(what, s);
  return s;
}

// `source`: a path, file: URL string or URL, or an array of them -> absolute paths.
function readSources(source) {
  const list = Array.isArray(source) ? source : [source];
  if (list.length === 0) throw new TypeError("Expected source to be a string to a file path");
  return list.map((s) => {
    const file = s === "" ? undefined : filePath(s, "cc source path");
    if (file === undefined) throw new TypeError("Expected source to be a string to a file path");
    return path.resolve(process.cwd(), file);
  });
}

// `library`, `include`: a string or an array of strings.
function readStrings(value, name) {
  if (value === undefined) return [];
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || !list.every((s) => typeof s === "string")) {
    throw new TypeError(`Expected ${name} to be a string or an array of strings`);
  }
  return list.map((s) => noNul(`cc ${name}`, s));
}

// TinyCC flags -> settings. TinyCC exits the process on some malformed options (a -I without
// its directory, an unknown -Wl, option), so only the flags below reach it, each checked.
const WITH_VALUE = new Set(["-D", "-U", "-I", "-isystem", "-L", "-l"]);
function readFlags(flags, out) {
  let tokens;
  if (typeof flags === "string") tokens = flags.split(/\s+/).filter(Boolean);
  else if (flags === undefined || Array.isArray(flags)) {
    if (Array.isArray(flags) && !flags.every((s) => typeof s === "string")) {
      throw new TypeError("Expected flags to be a string or an array of strings");
    }
    const env = process.env.CFFI_TCC_OPTIONS;
    tokens = [...(env !== undefined ? env.split(/\s+/).filter(Boolean) : DEFAULT_FLAGS), ...(flags || [])];
  } else {
    throw new TypeError("Expected flags to be a string or an array of strings");
  }
  for (let i = 0; i < tokens.length; i++) {
    const t = noNul("cc flag", tokens[i]);
    const head = t === "-isystem" ? t : t.slice(0, 2);
    if (WITH_VALUE.has(head)) {
      let v = head === "-isystem" ? "" : t.slice(2);
      if (v === "") {
        if (i + 1 >= tokens.length) throw new TypeError(`cc(): the flag ${t} needs a value`);
        v = noNul("cc flag", tokens[++i]);
      }
      if (head === "-D") {
        const eq = v.indexOf("=");
        out.defines.push(eq < 0 ? v : v.slice(0, eq), eq < 0 ? "1" : v.slice(eq + 1));
      } else if (head === "-I") out.includes.push(path.resolve(process.cwd(), v));
      else if (head === "-isystem") out.sysincludes.push(path.resolve(process.cwd(), v));
      else if (head === "-l") out.libraries.push(v);
      else if (head === "-L" || head === "-U") out.options.push(head + noSpace(t, v));
      continue;
    }
    if (/^-(std=\S+|O\S*|g\d?|w|W(?!l,|p,|a,)\S+|f\S+)$/.test(t)) {
      out.options.push(t);
      continue;
    }
    throw new TypeError(`cc(): unsupported TinyCC flag "${t}" (supported: -D, -U, -I, -isystem, -L, -l, -std=, -O, -g, -w, -W, -f)`);
  }
}

function noSpace(flag, v) {
  if (/\s/.test(v)) throw new TypeError(`cc(): the value of ${flag} cannot contain spaces`);
  return v;
}

// The system's C headers, where installed for this process's architecture (libc6-dev on
// Debian/Ubuntu): /usr/include alone is not enough, glibc's headers include bits/ from the
// architecture's folder, which an x86-64 machine running an arm64 Node (qemu) does not have.
function hasSystemHeaders() {
  if (!fs.existsSync("/usr/include/stdio.h")) return false;
  return MULTIARCH ? fs.existsSync(path.join("/usr/include", MULTIARCH, "bits")) : true;
}
function systemIncludes() {
  if (!hasSystemHeaders()) return [];
  return [...(MULTIARCH ? [path.join("/usr/include", MULTIARCH)] : []), "/usr/include"];
}
// Debian's package of them for this architecture (on another architecture's machine, as multiarch)
const libcDev = process.arch === "x64" ? "libc6-dev" : `libc6-dev (libc6-dev:${process.arch} on a machine of another architecture)`;

function compileError(files, count, text) {
  let msg = `${count || 1} errors while compiling ${files.join(", ")}\n${text || "error: compilation failed"}`;
  const missing = /include file '([^']+)' not found/.exec(text);
  if (missing && !hasSystemHeaders()) {
    msg += `\nThe system C headers for ${process.arch} are not installed: '${missing[1]}' is not among TinyCC's own headers. ` +
      `Install the C library's development package (${libcDev} on Debian/Ubuntu), or include only ` +
      "TinyCC's headers (stddef.h, stdarg.h, stdbool.h, stdint.h, float.h, stdalign.h, stdnoreturn.h) and node_api.h.";
  }
  return new Error(msg);
}

// Structs by value between cffi (gcc's convention) and code TinyCC compiled: only the shapes
// this TinyCC passes and returns as gcc does (src/layout.c cffi_layout_tcc_agrees, which the
// JIT uses too; x86-64 only).
function checkLayouts(e) {
  const types = [e.sig.returns, ...e.sig.args];
  for (const t of types) {
    if (typeof t !== "object" || later().tccAgrees(t)) continue;
    throw new TypeError(`cc(): "${e.name}": ${process.arch !== "x64" ? `structs by value in cc() are supported on x86-64 only` :
      "TinyCC passes this struct by value differently from gcc (16 bytes or less with an integer and a floating-point half, misaligned fields, or aligned to more than 8 bytes)"}; pass a pointer`);
  }
}

function cc(options) {
  if (!isObject(options)) throw new TypeError("Expected options to be an object");
  const files = readSources(options.source);
  const list = readSymbols(options.symbols, "cc");
  for (const e of list) checkLayouts(e);
  const s = { includes: [], sysincludes: [], defines: [], options: [], libraries: readStrings(options.library, "library") };
  for (const dir of readStrings(options.include, "include")) s.includes.push(path.resolve(process.cwd(), dir));
  const define = options.define;
  if (define !== undefined) {
    if (!isObject(define)) throw new TypeError("Expected define to be an object");
    for (const k of Object.keys(define)) {
      const v = define[k];
      s.defines.push(noNul("cc define name", k), typeof v === "string" ? noNul("cc define value", v) : "");
    }
  }
  readFlags(options.flags, s);

  if (!fs.existsSync(path.join(runtimeDir, "include", "stdarg.h")) || !fs.existsSync(path.join(archRuntimeDir, "libtcc1.a"))) {
    throw codedError("ERR_CFFI_NO_CC_RUNTIME", `cffi: cc() needs TinyCC's runtime files in ${runtimeDir}, which are ` +
      "missing: rebuild with `npm run build` on a machine with the tcc package (apt-get install tcc)");
  }
  const sysincludes = [...s.sysincludes, path.join(runtimeDir, "include"), path.join(runtimeDir, "node"),
    ...systemIncludes(), path.join(runtimeDir, "fallback")];
  const r = later().ccCompile(archRuntimeDir, s.includes, sysincludes, s.defines, s.options, s.libraries, files,
    list.map((e) => e.cname));
  const [handle, result] = r;
  if (handle === null) {
    if (result === -1) {
      throw new Error(`cc(): cannot find library "${r[2]}" (like -l${r[2]}: lib${r[2]}.so in TinyCC's and the system's ` +
        "library paths, which its development package installs; or give the library's path)");
    }
    if (r[3]) {
      const loc = /^(.*?:\d+):/.exec(r[3]);
      throw new Error(`${loc ? `${loc[1]}: ` : ""}thread-local storage is not supported (__thread, _Thread_local, ` +
        "thread_local): TinyCC cannot compile it; use pthread_key_create / pthread_getspecific");
    }
    throw compileError(files, result, r[2]);
  }
  for (let i = 0; i < list.length; i++) {
    if (result[i] === null) {
      binding.close(handle);
      throw new Error(`"${list[i].cname}" is missing from ${files.join(", ")}. Was it included in the source code?`);
    }
    list[i].addr = result[i];
  }
  return linkLibrary(list, handle);
}

module.exports = { cc };
