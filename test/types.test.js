// types.test.js: SPEC §1 (the FFIType table, names, aliases and numbers accepted in
// definitions) and §1.1 (definition errors, wherever a definition is read).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { fixtures, cffiPath, expectTypeError, expectTypeErrorContaining } = require("./helpers.js");
const cffi = require(cffiPath);
const { FFIType, dlopen, linkSymbols, CFunction, JSCallback, viewSource } = cffi;

const TABLE = [
  [0, "char", []],
  [1, "int8_t", ["i8"]],
  [2, "uint8_t", ["u8"]],
  [3, "int16_t", ["i16"]],
  [4, "uint16_t", ["u16"]],
  [5, "int32_t", ["i32", "int", "c_int"]],
  [6, "uint32_t", ["u32", "c_uint"]],
  [7, "int64_t", ["i64", "isize"]],
  [8, "uint64_t", ["u64", "usize"]], // size_t: accepted as a string only
  [9, "double", ["f64"]],
  [10, "float", ["f32"]],
  [11, "bool", []],
  [12, "ptr", ["pointer", "void*", "char*"]],
  [13, "void", []],
  [14, "cstring", []],
  [15, "i64_fast", []],
  [16, "u64_fast", []],
  [17, "function", ["callback", "fn"]],
  [18, "napi_env", []],
  [19, "napi_value", []],
  [20, "buffer", []],
  [21, "buffer_length", []],
];

// Identity function in basic.so for each scalar type number.
const ID_FOR = {
  0: "id_char", 1: "id_i8", 2: "id_u8", 3: "id_i16", 4: "id_u16", 5: "id_i32", 6: "id_u32",
  7: "id_i64", 8: "id_u64", 9: "id_f64", 10: "id_f32", 11: "id_bool", 12: "id_ptr",
  15: "id_i64_fast", 16: "id_u64_fast", 17: "id_fn",
};
// A value and what comes back, per type number.
const SAMPLE = {
  0: [-5, -5], 1: [-5, -5], 2: [200, 200], 3: [-300, -300], 4: [60000, 60000], 5: [-7, -7],
  6: [4000000000, 4000000000], 7: [-9n, -9n], 8: [9n, 9n], 9: [1.5, 1.5], 10: [2.5, 2.5],
  11: [true, true], 12: [4096, 4096], 15: [-9, -9], 16: [9, 9], 17: [8192, 8192],
};

test("FFIType: every canonical name and alias maps to its number", () => {
  assert.equal(Object.getPrototypeOf(FFIType), Object.prototype);
  for (const [n, name, aliases] of TABLE) {
    assert.equal(FFIType[name], n, `FFIType.${name}`);
    for (const a of aliases) assert.equal(FFIType[a], n, `FFIType[${JSON.stringify(a)}]`);
  }
  assert.equal(FFIType.size_t, undefined, "size_t is not a key");
});

test('FFIType: keys "0"…"17" map to themselves', () => {
  for (let n = 0; n <= 17; n++) assert.equal(FFIType[String(n)], n, `FFIType["${n}"]`);
});

test("every name, alias, size_t and number works in args and returns", () => {
  for (const [n, name, aliases] of TABLE) {
    if (!(n in ID_FOR)) continue;
    const names = [name, ...aliases, n, FFIType[name]];
    if (n === 8) names.push("size_t");
    for (const t of names) {
      const lib = dlopen(fixtures.basic, { [ID_FOR[n]]: { args: [t], returns: t } });
      try {
        const [input, expected] = SAMPLE[n];
        assert.equal(lib.symbols[ID_FOR[n]](input), expected, `type ${JSON.stringify(t)} (${name})`);
      } finally {
        lib.close();
      }
    }
  }
});

test("cstring type (14) by name and number", () => {
  for (const t of ["cstring", 14, FFIType.cstring]) {
    const lib = dlopen(fixtures.basic, { hello: { returns: t }, cstr_len: { args: [t], returns: "i64" } });
    assert.equal(lib.symbols.hello(), "Hello, world!");
    assert.equal(lib.symbols.cstr_len("abc"), 3n);
    lib.close();
  }
});

test('"char*" is an alias of ptr, not cstring', () => {
  const lib = dlopen(fixtures.basic, { hello: { returns: "char*" } });
  assert.equal(typeof lib.symbols.hello(), "number");
  lib.close();
});

test("void return: by name, by number and by default", () => {
  const lib = dlopen(fixtures.basic, {
    counter_inc: { returns: "void" },
    ret_void: { returns: 13 },
    noop_i32: {},
  });
  assert.equal(lib.symbols.counter_inc(), undefined);
  assert.equal(lib.symbols.ret_void(), undefined);
  assert.equal(lib.symbols.noop_i32(), undefined, "default return is void");
  lib.close();
});

test("buffer / buffer_length by name and number", () => {
  const lib = dlopen(fixtures.basic, { buf_sum: { args: [20, 21], returns: "u64" } });
  const u8 = new Uint8Array([1, 2, 3]);
  assert.equal(lib.symbols.buf_sum(u8, u8), 6n);
  lib.close();
});

// ---- §1.1 definition errors, for every reader of a definition -----------------------------

const fakePtr = () => dlopen(fixtures.basic, { id_i32: { args: ["i32"], returns: "i32" } });
let held;
test.before(() => { held = fakePtr(); });
test.after(() => held.close());

// Each reader: (def) => read it. def is { args, returns }.
const READERS = {
  dlopen: (def) => dlopen(fixtures.basic, { id_i32: def }).close(),
  linkSymbols: (def) => linkSymbols({ f: { ...def, ptr: held.symbols.id_i32.ptr } }).close(),
  CFunction: (def) => CFunction({ ...def, ptr: held.symbols.id_i32.ptr }).close(),
  JSCallback: (def) => new JSCallback(() => 0, def).close(),
  viewSource: (def) => viewSource({ f: def }),
  viewSourceCallback: (def) => viewSource(def, true),
};

for (const [reader, read] of Object.entries(READERS)) {
  test(`${reader}: unknown type name`, () => {
    expectTypeError(() => read({ args: ["int128"] }), "Unknown type int128", "ERR_INVALID_ARG_VALUE");
    expectTypeError(() => read({ args: ["i32", "size_t ", "i32"] }), "Unknown type size_t ", "ERR_INVALID_ARG_VALUE");
    expectTypeError(() => read({ args: [], returns: "int128" }), "Unknown return type int128", "ERR_INVALID_ARG_VALUE");
    expectTypeError(() => read({ args: ["I32"] }), "Unknown type I32", "ERR_INVALID_ARG_VALUE");
    // names an object inherits are no type names (the table of names has no prototype)
    for (const name of ["toString", "__proto__", "constructor", "hasOwnProperty", "valueOf"]) {
      expectTypeError(() => read({ args: [name] }), `Unknown type ${name}`, "ERR_INVALID_ARG_VALUE");
      expectTypeError(() => read({ args: [], returns: name }), `Unknown return type ${name}`, "ERR_INVALID_ARG_VALUE");
    }
  });

  test(`${reader}: number that is no type`, () => {
    for (const n of [22, 99, -1, 1.5]) {
      expectTypeError(() => read({ args: [n] }), "invalid ABI type");
      expectTypeError(() => read({ args: [], returns: n }), "invalid ABI type");
    }
  });

  test(`${reader}: type neither string nor number`, () => {
    for (const v of [{}, true, 5n, [], Symbol("x")]) {
      expectTypeError(() => read({ args: [v] }), "param must be a string (type name) or number");
      expectTypeError(() => read({ args: [], returns: v }), "param must be a string (type name) or number");
    }
  });

  test(`${reader}: args not an array`, () => {
    for (const v of ["i32", 5, { 0: "i32", length: 1 }, true]) {
      expectTypeError(() => read({ args: v }), 'Expected an object with "args" as an array');
    }
  });

  test(`${reader}: void as an argument`, () => {
    expectTypeErrorContaining(() => read({ args: ["void"] }), "void");
    expectTypeErrorContaining(() => read({ args: ["i32", 13] }), "void");
  });

  test(`${reader}: napi_env / napi_value outside cc()`, () => {
    const msg = "napi_env / napi_value are only supported in cffi cc()";
    expectTypeError(() => read({ args: ["napi_env"] }), msg);
    expectTypeError(() => read({ args: ["napi_value"] }), msg);
    expectTypeError(() => read({ args: [], returns: "napi_value" }), msg);
    expectTypeError(() => read({ args: [18] }), msg);
    // napi_env as a return has its own message; outside cc() either message is acceptable.
    const err = expectTypeError(() => read({ args: [], returns: "napi_env" }));
    assert.ok([msg, "Cannot return napi_env to JavaScript"].includes(err.message), err.message);
  });

  test(`${reader}: buffer as a return type`, () => {
    expectTypeErrorContaining(() => read({ args: [], returns: "buffer" }), "byteLength and byteOffset are unknown");
    expectTypeErrorContaining(() => read({ args: [], returns: 20 }), "byteLength and byteOffset are unknown");
  });

  test(`${reader}: buffer_length as return or without a buffer before it`, () => {
    expectTypeErrorContaining(() => read({ args: [], returns: "buffer_length" }), "buffer_length");
    expectTypeErrorContaining(() => read({ args: ["buffer_length"] }), "buffer_length");
    expectTypeErrorContaining(() => read({ args: ["buffer_length", "buffer"] }), "buffer_length");
    expectTypeErrorContaining(() => read({ args: ["ptr", "buffer_length"] }), "buffer_length");
  });
}

test("JSCallback: buffer as argument", () => {
  expectTypeErrorContaining(() => new JSCallback(() => {}, { args: ["buffer"] }), "byteLength and byteOffset are unknown");
});

test("JSCallback and viewSource: buffer_length even after a buffer", () => {
  expectTypeErrorContaining(() => new JSCallback(() => {}, { args: ["ptr", "buffer_length"] }), "buffer_length");
  expectTypeErrorContaining(() => viewSource({ f: { args: ["buffer", "buffer_length"] } }), "buffer_length");
  expectTypeErrorContaining(() => viewSource({ args: ["ptr", "buffer_length"] }, true), "buffer_length");
});

test("dlopen/linkSymbols/CFunction accept buffer followed by buffer_length", () => {
  const ptr = held.symbols.id_i32.ptr;
  dlopen(fixtures.basic, { buf_len: { args: ["buffer", "buffer_length"], returns: "u64" } }).close();
  linkSymbols({ f: { args: ["buffer", "buffer_length"], returns: "u64", ptr } }).close();
  CFunction({ args: ["buffer", "buffer_length"], returns: "u64", ptr }).close();
});

test("definition errors leave nothing half-open: a good definition still works afterwards", () => {
  assert.throws(() => dlopen(fixtures.basic, { id_i32: { args: ["i32"] }, id_u8: { args: ["bogus"] } }));
  const lib = dlopen(fixtures.basic, { id_i32: { args: ["i32"], returns: "i32" } });
  assert.equal(lib.symbols.id_i32(3), 3);
  lib.close();
});
