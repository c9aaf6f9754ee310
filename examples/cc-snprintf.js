// cc-snprintf.js: cc() compiles C at run time with the embedded TinyCC: a wrapper around the
// variadic snprintf (something a plain FFI declaration needs one signature per format for) and
// a function that builds a JS object through Node-API. The C source is written to a temporary
// folder first; cc() reads files, as Bun's cc does.
// Run from the repository root: node examples/cc-snprintf.js
// Needs: /usr/include/stdio.h (the C library's headers: libc6-dev)
// Needs: /usr/include/<multiarch>/bits (the same headers' part for this architecture: libc6-dev)
"use strict";
const { cc } = require("cffi");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cffi-example-"));
const source = path.join(dir, "format.c");
fs.writeFileSync(source, `
#include <stdio.h>
#include <node_api.h>

/* A fixed signature JS can call; the variadic call happens in C. */
const char *price(const char *item, int qty, double each) {
  static char buf[128];
  snprintf(buf, sizeof buf, "%-8s x%3d @ %8.2f = %10.2f", item, qty, each, qty * each);
  return buf;
}

/* napi_env: cffi passes the calling environment (the JS value in its position is ignored). */
napi_value point(napi_env env, double x, double y) {
  napi_value obj, vx, vy;
  napi_create_object(env, &obj);
  napi_create_double(env, x, &vx);
  napi_create_double(env, y, &vy);
  napi_set_named_property(env, obj, "x", vx);
  napi_set_named_property(env, obj, "y", vy);
  return obj;
}
`);

const { symbols, close } = cc({
  source,
  symbols: {
    price: { args: ["cstring", "i32", "f64"], returns: "cstring" },
    point: { args: ["napi_env", "f64", "f64"], returns: "napi_value" },
  },
});
try {
  console.log(symbols.price("apples", 12, 0.35));
  console.log(symbols.price("pears", 3, 1.2));
  console.log(symbols.point(null, 1.5, -2)); // { x: 1.5, y: -2 }
} finally {
  close(); // frees the compiled code; GC never does
  fs.rmSync(dir, { recursive: true, force: true });
}
