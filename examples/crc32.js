// crc32.js: zlib's crc32 over a Buffer, checked against a pure-JS CRC-32 and, where Node has it
// (20.15+, 22.2+), against node:zlib's crc32. Shows a Buffer passed as a pointer, and 64-bit
// integers (C `unsigned long`) arriving as BigInt and going back in as BigInt.
// Run from the repository root: node examples/crc32.js
"use strict";
const { dlopen } = require("cffi");
const zlib = require("node:zlib");

const libz = dlopen("libz.so.1", {
  // uLong crc32(uLong crc, const Bytef *buf, uInt len); uLong is 64-bit on Linux x86-64/arm64.
  crc32: { args: ["u64", "ptr", "u32"], returns: "u64" },
  zlibVersion: { args: [], returns: "cstring" },
});
const { crc32 } = libz.symbols;

// The table-driven CRC-32 (polynomial 0xEDB88320) that zlib implements.
const table = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32js(buf, crc = 0) {
  crc = ~crc >>> 0;
  for (const byte of buf) crc = table[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

const hex = (n) => `0x${Number(n).toString(16).padStart(8, "0")}`;
const data = Buffer.from("The quick brown fox jumps over the lazy dog");

const viaC = crc32(0n, data, data.length); // a BigInt, because the return type is u64
console.log(`zlib ${libz.symbols.zlibVersion()}`);
console.log(`crc32 (cffi -> libz):  ${hex(viaC)}`);
console.log(`crc32 (JavaScript):    ${hex(crc32js(data))}`);
if (typeof zlib.crc32 === "function") {
  console.log(`crc32 (node:zlib):     ${hex(zlib.crc32(data))}`);
} else {
  console.log(`crc32 (node:zlib):     not available in Node ${process.version}`);
}

// Incremental use: feed the previous result back in, over two halves of the same data.
const half = 20;
const a = crc32(0n, data.subarray(0, half), half);
const b = crc32(a, data.subarray(half), data.length - half);
console.log(`crc32 in two parts:    ${hex(b)}`);
const ok = Number(viaC) === crc32js(data) && b === viaC;
console.log(ok ? "match" : "MISMATCH");
if (!ok) process.exitCode = 1;

libz.close();
