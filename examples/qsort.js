// qsort.js: C calls JavaScript. libc's qsort sorts an Int32Array in place, asking a JSCallback
// to compare two elements; the callback receives two pointers and reads the ints with read.i32.
// Run from the repository root: node examples/qsort.js
"use strict";
const { dlopen, JSCallback, read } = require("cffi");

const libc = dlopen("libc.so.6", {
  // void qsort(void *base, size_t nmemb, size_t size, int (*compar)(const void *, const void *))
  qsort: { args: ["ptr", "usize", "usize", "function"], returns: "void" },
});

const compare = new JSCallback(
  (a, b) => {
    const x = read.i32(a);
    const y = read.i32(b);
    return x < y ? -1 : x > y ? 1 : 0;
  },
  { args: ["ptr", "ptr"], returns: "i32" },
);

const numbers = new Int32Array([42, -7, 19, 0, 2147483647, -2147483648, 3, 3, 1000]);
console.log(`before: ${numbers.join(" ")}`);
// A TypedArray passed as "ptr" is a pointer to its first element; usize takes a plain number.
libc.symbols.qsort(numbers, numbers.length, Int32Array.BYTES_PER_ELEMENT, compare);
console.log(`sorted: ${numbers.join(" ")}`);

compare.close();
libc.close();

// Expected output:
// before: 42 -7 19 0 2147483647 -2147483648 3 3 1000
// sorted: -2147483648 -7 0 3 3 19 42 1000 2147483647
