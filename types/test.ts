// types/test.ts: compile-time test of index.d.ts (CommonJS import of "cffi").
// Never run: `tsc -p types/tsconfig.json` must pass. Positive checks use exact
// type equality; each `@ts-expect-error` line must be rejected by the compiler.

import {
  FFIType, dlopen, linkSymbols, CFunction, JSCallback, ptr, read, toArrayBuffer,
  toBuffer, CString, viewSource, suffix, native, cc, errno,
} from "cffi";
import type { Address, Pointer, FFISymbol, Library, FFITypeName } from "cffi";
import cffiDefault = require("cffi");
import cffi from "cffi";

// Exact type equality (distinguishes any, unions, optional parameters).
type Equal<X, Y> =
  (<T>() => T extends X ? 1 : 2) extends (<T>() => T extends Y ? 1 : 2) ? true : false;
declare function check<T extends true>(): void;
declare const u8: Uint8Array;
declare const buf: Buffer;
declare const dv: DataView;
declare const ab: ArrayBuffer;
declare const f64a: Float64Array;

// --- FFIType ---------------------------------------------------------------
check<Equal<typeof FFIType.i32, 5>>();
check<Equal<typeof FFIType.int32_t, 5>>();
check<Equal<typeof FFIType.c_int, 5>>();
check<Equal<typeof FFIType.usize, 8>>();
check<Equal<typeof FFIType["void*"], 12>>();
check<Equal<typeof FFIType.callback, 17>>();
check<Equal<typeof FFIType.buffer_length, 21>>();
check<Equal<typeof FFIType["5"], 5>>();
check<Equal<FFIType, 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15 | 16 | 17 | 18 | 19 | 20 | 21>>();
// @ts-expect-error size_t is a string name only, not a key
FFIType.size_t;
// @ts-expect-error no such type
FFIType.i128;
const tn: FFITypeName = "size_t";

// --- dlopen: inference of args/returns, names, aliases, enum members, numbers
const lib = dlopen("libm.so.6", {
  cos: { args: ["f64"], returns: "f64" },
  add: { args: ["i32", "i32"], returns: "i32" },
  addEnum: { args: [FFIType.i32, FFIType.int], returns: FFIType.int32_t },
  addNum: { args: [5, 5], returns: 5 },
  addAlias: { args: ["int", "c_int"], returns: "c_int" },
  u64: { args: ["usize"], returns: "u64" },
  i64: { args: [], returns: "i64" },
  fast: { returns: "i64_fast" },
  ufast: { returns: FFIType.u64_fast },
  str: { args: ["cstring"], returns: "cstring" },
  p: { args: ["ptr", "void*", "pointer", "char*"], returns: "ptr" },
  fnp: { args: ["function", "callback", "fn"], returns: "callback" },
  buf: { args: ["buffer", "buffer_length"], returns: "u32" },
  flag: { args: ["bool"], returns: "bool" },
  v: { args: [], returns: "void" },
  noret: { args: ["u8"] },
  nothing: {},
  f32: { args: ["f32", "float", "double"], returns: "float" },
  small: { args: ["char", "i8", "u8", "i16", "u16", "u32", "c_uint", "int8_t", "uint64_t", "isize", "size_t"], returns: "char" },
});
type N = number | bigint;
check<Equal<Parameters<typeof lib.symbols.cos>, [N]>>();
check<Equal<ReturnType<typeof lib.symbols.cos>, number>>();
check<Equal<Parameters<typeof lib.symbols.add>, [N, N]>>();
check<Equal<typeof lib.symbols.add, FFISymbol<[N, N], number>>>();
check<Equal<typeof lib.symbols.addEnum, typeof lib.symbols.add>>();
check<Equal<typeof lib.symbols.addNum, typeof lib.symbols.add>>();
check<Equal<typeof lib.symbols.addAlias, typeof lib.symbols.add>>();
check<Equal<ReturnType<typeof lib.symbols.u64>, bigint>>();
check<Equal<ReturnType<typeof lib.symbols.i64>, bigint>>();
check<Equal<Parameters<typeof lib.symbols.i64>, []>>();
check<Equal<ReturnType<typeof lib.symbols.fast>, number | bigint>>();
check<Equal<ReturnType<typeof lib.symbols.ufast>, number | bigint>>();
check<Equal<Parameters<typeof lib.symbols.fast>, []>>();
check<Equal<ReturnType<typeof lib.symbols.str>, string | null>>();
check<Equal<Parameters<typeof lib.symbols.str>, [Pointer | string]>>();
check<Equal<ReturnType<typeof lib.symbols.p>, number | bigint | null>>();
check<Equal<Parameters<typeof lib.symbols.p>, [Pointer, Pointer, Pointer, Pointer]>>();
check<Equal<Pointer, number | bigint | null | NodeJS.TypedArray | DataView | ArrayBuffer>>();
check<Equal<ReturnType<typeof lib.symbols.fnp>, Address | null>>();
check<Equal<ReturnType<typeof lib.symbols.buf>, number>>();
check<Equal<ReturnType<typeof lib.symbols.flag>, boolean>>();
check<Equal<Parameters<typeof lib.symbols.flag>, [boolean]>>();
check<Equal<ReturnType<typeof lib.symbols.v>, undefined>>();
check<Equal<ReturnType<typeof lib.symbols.noret>, undefined>>();
check<Equal<typeof lib.symbols.nothing, FFISymbol<[], undefined>>>();
check<Equal<ReturnType<typeof lib.symbols.f32>, number>>();
check<Equal<ReturnType<typeof lib.symbols.small>, number>>();
check<Equal<Parameters<typeof lib.symbols.small>, [N, N, N, N, N, N, N, N, N, N, N]>>();

// the example: (a: number) => number
const f: (a: number) => number = dlopen("x", { f: { args: ["i32"], returns: "f64" } }).symbols.f;

// calls
const c1: number = lib.symbols.cos(1);
lib.symbols.cos(1n);
lib.symbols.add(1, 2n);
lib.symbols.u64(2n ** 63n);
lib.symbols.str("hello");
lib.symbols.str(buf);
lib.symbols.str(null);
lib.symbols.p(null, u8, dv, ab);
lib.symbols.p(0x1000, 0x1000n, f64a, buf);
lib.symbols.buf(u8, u8);
lib.symbols.buf(null, null);
lib.symbols.buf(dv, dv);
lib.symbols.flag(true);
// @ts-expect-error strings are rejected for numeric types
lib.symbols.add("1", 2);
// @ts-expect-error booleans are rejected for numeric types
lib.symbols.cos(true);
// @ts-expect-error strings are rejected for ptr
lib.symbols.p("hello", null, null, null);
// @ts-expect-error plain objects are not pointers
lib.symbols.p({}, null, null, null);
// @ts-expect-error buffer takes a view, not an ArrayBuffer
lib.symbols.buf(ab, ab);
// @ts-expect-error buffer takes a view, not a number
lib.symbols.buf(1, 1);
// @ts-expect-error too few arguments
lib.symbols.add(1);
// @ts-expect-error unknown symbol
lib.symbols.sin(1);
// @ts-expect-error symbols are read-only
lib.symbols.cos = lib.symbols.cos;
// @ts-expect-error result is not a string
const c2: string = lib.symbols.cos(1);

// .ptr / .native / .async
check<Equal<typeof lib.symbols.cos.ptr, number>>();
check<Equal<typeof lib.symbols.cos.native, typeof lib.symbols.cos>>();
check<Equal<ReturnType<typeof lib.symbols.cos.async>, Promise<number>>>();
check<Equal<ReturnType<typeof lib.symbols.u64.async>, Promise<bigint>>>();
check<Equal<ReturnType<typeof lib.symbols.v.async>, Promise<undefined>>>();
check<Equal<Parameters<typeof lib.symbols.add.async>, [N, N]>>();
async function useAsync(): Promise<void> {
  const r: number = await lib.symbols.add.async(1, 2);
  // @ts-expect-error async arguments are checked too
  await lib.symbols.add.async("1", 2);
}
check<Equal<ReturnType<typeof lib.close>, void>>();
lib.close();

// function arguments: JSCallback, anything with .ptr, address, null
const cb = new JSCallback((a, b) => a + b, { args: ["i32", "i32"], returns: "i32" });
lib.symbols.fnp(cb, lib.symbols.cos, 0x1000);
lib.symbols.fnp(null, 1n, cb);
// @ts-expect-error a plain JS function is not a C function pointer
lib.symbols.fnp(() => 1, null, null);
// @ts-expect-error undefined is rejected for function
lib.symbols.fnp(undefined, null, null);

// declaration errors
// @ts-expect-error unknown type name
dlopen("x", { f: { args: ["i33"] } });
// @ts-expect-error unknown return type name
dlopen("x", { f: { returns: "int128" } });
// @ts-expect-error number that is no type
dlopen("x", { f: { args: [99] } });
// @ts-expect-error void is not an argument type
dlopen("x", { f: { args: ["void"] } });
// @ts-expect-error buffer cannot be returned
dlopen("x", { f: { returns: "buffer" } });
// @ts-expect-error napi types only in cc()
dlopen("x", { f: { args: ["napi_value"] } });
// @ts-expect-error args must be an array
dlopen("x", { f: { args: "i32" } });
// @ts-expect-error path must be a string, URL or null
dlopen(42, { f: {} });
// one bad declaration is an error at that declaration only: the others keep their types
const oneBad = dlopen("x", {
  abs: { args: ["i32"], returns: "i32" },
  // @ts-expect-error unknown type name in one declaration
  bad: { args: ["nosuchtype"], returns: "i32" },
  // @ts-expect-error unknown return type name in another
  bad2: { returns: "nosuchtype" },
  hypot: { args: ["f64", "f64"], returns: "f64" },
});
check<Equal<Parameters<typeof oneBad.symbols.abs>, [N]>>();
check<Equal<ReturnType<typeof oneBad.symbols.hypot>, number>>();
// @ts-expect-error a string for i32, after a bad declaration
oneBad.symbols.abs("5");
// @ts-expect-error a symbol never declared, after a bad declaration
oneBad.symbols.missing();
const oneBadLinked = linkSymbols({
  abs: { ptr: 0x1000, args: ["i32"], returns: "i32" },
  // @ts-expect-error unknown type name in one linkSymbols declaration
  bad: { ptr: 0x1000, args: ["nosuchtype"] },
});
// @ts-expect-error a string for i32, after a bad linkSymbols declaration
oneBadLinked.symbols.abs("5");
// @ts-expect-error a symbol never declared, after a bad linkSymbols declaration
oneBadLinked.symbols.missing();
const oneBadNative = native.dlopen("x", {
  abs: { args: ["i32"], returns: "i32" },
  // @ts-expect-error unknown type name in one native.dlopen declaration
  bad: { args: ["nosuchtype"] },
});
if (!(oneBadNative instanceof Error)) {
  // @ts-expect-error a string for i32, after a bad native.dlopen declaration
  oneBadNative.symbols.abs("5");
  // @ts-expect-error a symbol never declared, after a bad native.dlopen declaration
  oneBadNative.symbols.missing();
}
const oneBadCc = cc({
  source: "a.c",
  symbols: {
    abs: { args: ["i32"], returns: "i32" },
    // @ts-expect-error unknown type name in one cc declaration
    bad: { args: ["nosuchtype"] },
  },
});
// @ts-expect-error a string for i32, after a bad cc declaration
oneBadCc.symbols.abs("5");
// @ts-expect-error a symbol never declared, after a bad cc declaration
oneBadCc.symbols.missing();
dlopen(null, { f: { ptr: 0x1000n } });
dlopen(new URL("file:///lib/libm.so.6"), { f: {} });
// declarations kept in a variable need `as const`
const decl = { g: { args: ["f64", "f64"], returns: "f64" } } as const;
const declLib = dlopen("x", decl);
check<Equal<Parameters<typeof declLib.symbols.g>, [N, N]>>();
check<Equal<ReturnType<ReturnType<typeof dlopen<typeof decl>>["symbols"]["g"]>, number>>();
// declarations typed only as FFIFunction: loosely typed functions that still take arguments
import type { FFIFunction, FFIArgType } from "cffi";
declare const loose: Record<string, FFIFunction>;
const looseLib = dlopen("x", loose);
looseLib.symbols.anything(1, "s", null, u8);
check<Equal<ReturnType<typeof looseLib.symbols.anything>,
  number | bigint | boolean | string | null | undefined>>();
declare const someArgs: FFIArgType[];
const semi = dlopen("x", { f: { args: someArgs, returns: "i32" } }).symbols.f;
check<Equal<ReturnType<typeof semi>, number>>();
semi();
semi(1, 2, 3);
// numeric keys
check<Equal<ReturnType<ReturnType<typeof dlopen<{ 0: { returns: "u8" } }>>["symbols"][0]>, number>>();

// --- linkSymbols -----------------------------------------------------------
const linked = linkSymbols({
  cos: { ptr: lib.symbols.cos.ptr, args: ["double"], returns: "double" },
  big: { ptr: 0x1000n, returns: "u64" },
});
check<Equal<Parameters<typeof linked.symbols.cos>, [N]>>();
check<Equal<ReturnType<typeof linked.symbols.big>, bigint>>();
check<Equal<typeof linked, Library<{ readonly cos: FFISymbol<[N], number>; readonly big: FFISymbol<[], bigint> }>>>();
// @ts-expect-error ptr is required
linkSymbols({ f: { args: [] } });
// @ts-expect-error ptr must be a number or BigInt
linkSymbols({ f: { ptr: "0x1000" } });

// --- CFunction -------------------------------------------------------------
const cf = CFunction({ ptr: 0x1000, args: ["cstring"], returns: "i32" });
const cfNew = new CFunction({ ptr: 0x1000n, args: ["u64"], returns: "u64" });
check<Equal<Parameters<typeof cf>, [Pointer | string]>>();
check<Equal<ReturnType<typeof cf>, number>>();
check<Equal<ReturnType<typeof cfNew>, bigint>>();
check<Equal<ReturnType<typeof cf.close>, undefined>>();
check<Equal<ReturnType<typeof cf.async>, Promise<number>>>();
check<Equal<typeof cf.ptr, number>>();
cf.native.close();
// @ts-expect-error ptr is required
CFunction({ args: [], returns: "void" });
// @ts-expect-error wrong argument
cf(1 as unknown as object);

// --- JSCallback ------------------------------------------------------------
const cbI64 = new JSCallback((a, b, s, p, flag) => {
  check<Equal<typeof a, bigint>>();
  check<Equal<typeof b, number | bigint>>();
  check<Equal<typeof s, string | null>>();
  check<Equal<typeof p, Address | null>>();
  check<Equal<typeof flag, boolean>>();
  return a;
}, { args: ["i64", "u64_fast", "cstring", "ptr", "bool"], returns: "i64" });
new JSCallback(() => {}, { args: [], returns: "void", threadsafe: true });
new JSCallback(() => {}, {});
new JSCallback((x) => { check<Equal<typeof x, number>>(); }, { args: [FFIType.f64] });
new JSCallback(() => 1.5, { returns: FFIType.f32 });
new JSCallback(() => null, { returns: "ptr" });
new JSCallback(() => true, { returns: "bool" });
// @ts-expect-error i32 callback must return a number or BigInt
new JSCallback(() => "1", { args: [], returns: "i32" });
// @ts-expect-error i32 callback must return something
new JSCallback(() => {}, { returns: "i32" });
// @ts-expect-error callback parameters are typed from args
new JSCallback((s: number) => 0, { args: ["cstring"], returns: "i32" });
// @ts-expect-error buffer is not a callback argument type
new JSCallback(() => {}, { args: ["buffer"] });
// @ts-expect-error threadsafe is a boolean
new JSCallback(() => {}, { threadsafe: 1 });
// @ts-expect-error needs a definition
new JSCallback(() => {});
// @ts-expect-error without new
JSCallback(() => {}, {});
check<Equal<typeof cb.ptr, number | null>>();
check<Equal<typeof cb.threadsafe, boolean>>();
check<Equal<ReturnType<typeof cb.close>, void>>();
check<Equal<ReturnType<typeof cb[typeof Symbol.dispose]>, void>>();
check<Equal<ReturnType<typeof cb[typeof Symbol.toPrimitive]>, number>>();
cb.close();
cbI64[Symbol.dispose]();
{
  using scoped = new JSCallback(() => {}, {});
}

// --- ptr / read / toArrayBuffer / toBuffer -----------------------------------
check<Equal<ReturnType<typeof ptr>, number>>();
const p1: number = ptr(u8);
ptr(buf, 4);
ptr(dv);
ptr(ab, -1);
// @ts-expect-error strings are not views
ptr("abc");
// @ts-expect-error byteOffset is a number
ptr(u8, 1n);
check<Equal<ReturnType<typeof read.u8>, number>>();
check<Equal<ReturnType<typeof read.i8>, number>>();
check<Equal<ReturnType<typeof read.u16>, number>>();
check<Equal<ReturnType<typeof read.i16>, number>>();
check<Equal<ReturnType<typeof read.u32>, number>>();
check<Equal<ReturnType<typeof read.i32>, number>>();
check<Equal<ReturnType<typeof read.f32>, number>>();
check<Equal<ReturnType<typeof read.f64>, number>>();
check<Equal<ReturnType<typeof read.i64>, bigint>>();
check<Equal<ReturnType<typeof read.u64>, bigint>>();
check<Equal<ReturnType<typeof read.ptr>, number>>();
check<Equal<ReturnType<typeof read.intptr>, number>>();
read.u8(p1);
read.u64(BigInt(p1), 8);
// @ts-expect-error no read.u128
read.u128(p1);
// @ts-expect-error read takes an address, not a view
read.u8(u8);

const ab1: ArrayBuffer = toArrayBuffer(p1);
toArrayBuffer(p1, 0, 16);
toArrayBuffer(1n << 40n, -4, 16);
toArrayBuffer(p1, 0, 16, cb.ptr!);
toArrayBuffer(p1, 0, 16, 0n, cb.ptr!);
// @ts-expect-error ptr must be an address
toArrayBuffer(u8);
// @ts-expect-error length must be a number
toArrayBuffer(p1, 0, "16");
// @ts-expect-error at most 5 arguments
toArrayBuffer(p1, 0, 16, 1, 2, 3);
// @ts-expect-error the deallocator is an address (use cb.ptr)
toArrayBuffer(p1, 0, 16, () => {});
check<Equal<ReturnType<typeof toBuffer>, Buffer>>();
const b1: Buffer = toBuffer(p1, 0, 4);
toBuffer(p1, 0, 4, cb.ptr!);
toBuffer(p1, 0, 4, 1, cb.ptr!);

// --- CString -----------------------------------------------------------------
const cs = new CString(p1);
check<Equal<typeof cs, CString>>();
check<Equal<typeof cs.ptr, Address>>();
check<Equal<typeof cs.byteOffset, number | undefined>>();
check<Equal<typeof cs.byteLength, number | undefined>>();
check<Equal<typeof cs.arrayBuffer, ArrayBuffer>>();
const s1: string = cs.toString();
const s2: string = `${cs}`;
const s3: String = cs;
const prim = CString(p1, 0, 5);
check<Equal<typeof prim, string>>();
CString(null);
new CString(1n << 60n, 8);
const mixed: unknown = cs;
if (mixed instanceof CString) check<Equal<typeof mixed, CString>>();
class MyCString extends CString {}
// @ts-expect-error not a string argument
CString("abc");

// --- viewSource, suffix, native, errno, cc -------------------------------------
const srcs = viewSource({ f: { args: ["i32"], returns: "i32" } });
check<Equal<typeof srcs, string[]>>();
const src1 = viewSource({ args: ["i32"], returns: "void" }, true);
check<Equal<typeof src1, string>>();
viewSource({ f: {} }, false);
// @ts-expect-error unknown type in viewSource
viewSource({ f: { args: ["nope"] } });
check<Equal<typeof suffix, string>>();
check<Equal<ReturnType<typeof errno>, number>>();
const nl = native.dlopen("x", { f: { args: ["i32"], returns: "i32" } });
if (nl instanceof Error) {
  const m: string = nl.message;
} else {
  check<Equal<ReturnType<typeof nl.symbols.f>, number>>();
}
check<Equal<ReturnType<typeof native.callback>, never>>();
const compiled = cc({
  source: "./hello.c",
  symbols: {
    hello: { args: ["napi_env"], returns: "napi_value" },
    isNumber: { args: ["napi_env", "napi_value"], returns: "bool" },
    add: { args: ["i32", "i32"], returns: "i32" },
  },
  library: ["m"],
  include: "/usr/include",
  define: { DEBUG: "1" },
  flags: ["-O0"],
});
compiled.symbols.hello();
compiled.symbols.hello(null);
check<Equal<ReturnType<typeof compiled.symbols.hello>, unknown>>();
compiled.symbols.isNumber(undefined, 5);
// @ts-expect-error the napi_env position takes no value
compiled.symbols.isNumber(1, 5);
check<Equal<Parameters<typeof compiled.symbols.add>, [N, N]>>();
cc({ source: [new URL("file:///a.c"), "b.c"], symbols: { f: {} } });
// @ts-expect-error napi_env cannot be returned
cc({ source: "a.c", symbols: { f: { returns: "napi_env" } } });
// @ts-expect-error source is required
cc({ symbols: { f: {} } });

// --- default export (same object) ------------------------------------------------
check<Equal<typeof cffi.dlopen, typeof dlopen>>();
check<Equal<typeof cffi.JSCallback, typeof JSCallback>>();
check<Equal<typeof cffiDefault.dlopen, typeof dlopen>>();
// @ts-expect-error require("cffi") has no `default` property at run time
cffiDefault.default;
cffi.errno();

export {};

// A JSCallback declared to return `cstring` returns an address, not a JS string (SPEC §2.1).
new JSCallback(() => null, { returns: "cstring" });
new JSCallback(() => new Uint8Array(4), { returns: "cstring" });
// @ts-expect-error a JS string has no memory C could keep
new JSCallback(() => "abc", { returns: "cstring" });
