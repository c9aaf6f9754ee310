// structs.js: C structs by value and through pointers, and a variadic function, all with libc:
// div() returns a div_t by value; gettimeofday() fills a struct timeval through a pointer;
// qsort() sorts a C array of structs with a JavaScript comparator that reads the two elements
// through live views; snprintf() takes variable arguments.
// Run from the repository root: node examples/structs.js
"use strict";
const { dlopen, JSCallback, struct, ptr } = require("cffi");

const DivT = struct({ quot: "i32", rem: "i32" }); // typedef struct { int quot; int rem; } div_t;
const Timeval = struct({ tv_sec: "i64", tv_usec: "i64" }); // struct timeval on 64-bit Linux
const Point = struct({ x: "f64", y: "f64", tag: "u8" }); // 24 bytes: 7 bytes of padding at the end

const libc = dlopen("libc.so.6", {
  div: { args: ["i32", "i32"], returns: DivT },
  gettimeofday: { args: ["ptr", "ptr"], returns: "i32" },
  qsort: { args: ["ptr", "usize", "usize", "function"], returns: "void" },
  // int snprintf(char *str, size_t size, const char *format, ...): the types after "..." are
  // those of this declaration's variable arguments
  snprintf: { args: ["buffer", "usize", "cstring", "...", "cstring", "i32", "f64"], returns: "i32" },
});
const { div, gettimeofday, qsort, snprintf } = libc.symbols;

// 1. A struct returned by value is a plain object.
console.log("div(17, 5) =", div(17, 5));

// 2. An out-parameter: alloc() gives bytes the size of the struct, read() decodes them.
const tv = Timeval.alloc();
if (gettimeofday(tv, null) !== 0) throw new Error("gettimeofday failed");
const now = Timeval.read(ptr(tv));
console.log("gettimeofday agrees with Date.now():", Math.abs(Number(now.tv_sec) * 1000 - Date.now()) < 5000);

// 3. An array of structs in one buffer, sorted by C, compared in JS.
const points = [{ x: 3, y: 1, tag: 1 }, { x: -2, y: 5, tag: 2 }, { x: 0.5, y: -1, tag: 3 }, { x: 1, y: 1, tag: 4 }];
const bytes = new Uint8Array(points.length * Point.size);
points.forEach((p, i) => Point.write(bytes, p, i * Point.size));
const byDistance = new JSCallback(
  (a, b) => {
    const p = Point.view(a); // live views over the two elements C is comparing
    const q = Point.view(b);
    return Math.sign(p.x * p.x + p.y * p.y - (q.x * q.x + q.y * q.y));
  },
  { args: ["ptr", "ptr"], returns: "i32" },
);
qsort(bytes, points.length, Point.size, byDistance);
const sorted = points.map((_, i) => Point.read(ptr(bytes), i * Point.size).tag);
console.log("tags by distance from the origin:", sorted.join(" "));

// 4. A variadic call.
const out = Buffer.alloc(64);
const n = snprintf(out, out.length, "%s has %d items costing %.2f", "cart", 3, 9.5);
console.log(out.toString("utf8", 0, n));

byDistance.close();
libc.close();

// Expected output:
// div(17, 5) = { quot: 3, rem: 2 }
// gettimeofday agrees with Date.now(): true
// tags by distance from the origin: 3 4 1 2
// cart has 3 items costing 9.50
