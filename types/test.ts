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

// --- struct / union / array layout types (SPEC §17) ------------------------------
import { struct, union, array } from "cffi";
import type {
  StructType, UnionType, ArrayType, LayoutType, LayoutValue, LayoutInput, LayoutView,
  LayoutBytes, FFIDeclaration,
} from "cffi";
type NL = number | bigint;
const Tagged = struct({ x: "f64", tag: array("u8", 4) });
// SPEC §17.6's example: the value in results, and what arguments accept
check<Equal<LayoutValue<typeof Tagged>, { x: number; tag: Uint8Array }>>();
const taggedOut: { x: number; tag: Uint8Array } = Tagged.read(p1);
check<Equal<LayoutInput<typeof Tagged>,
  { x?: NL; tag?: ArrayLike<NL> | Iterable<NL> | NodeJS.TypedArray | ArrayBuffer } | ArrayBufferView | ArrayBuffer>>();
const taggedIn: { x?: number; tag?: ArrayLike<number> } | ArrayBufferView = {};
Tagged.write(u8, taggedIn);
check<Equal<LayoutBytes, ArrayBufferView | ArrayBuffer>>();
// the layout type itself: kind literal, numbers, fields, offsetOf restricted to field names
check<Equal<typeof Tagged, StructType<{ readonly x: "f64"; readonly tag: ArrayType<"u8", 4> }>>>();
check<Equal<typeof Tagged.kind, "struct">>();
check<Equal<typeof Tagged.size, number>>();
check<Equal<typeof Tagged.align, number>>();
check<Equal<typeof Tagged.fields[number]["name"], "x" | "tag">>();
check<Equal<typeof Tagged.fields[number]["offset"], number>>();
check<Equal<ReturnType<typeof Tagged.offsetOf>, number>>();
Tagged.offsetOf("tag");
// @ts-expect-error offsetOf takes a field name
Tagged.offsetOf("y");
// @ts-expect-error no path into an array field
Tagged.offsetOf("tag.0");
// @ts-expect-error layout types are frozen
Tagged.size = 8;
const Tag = array("u8", 4);
check<Equal<typeof Tag.kind, "array">>();
check<Equal<typeof Tag.length, 4>>();
check<Equal<typeof Tag.type, 2>>(); // fields and elements give scalars as their FFIType number
check<Equal<typeof Tagged.fields[number]["type"], 9 | typeof Tag>>();
check<Equal<ReturnType<typeof Tag.offsetOf>, number>>();
Tag.offsetOf(3);
// @ts-expect-error an array's offsetOf takes an element index
Tag.offsetOf("x");
check<Equal<typeof Tag.size, number>>();
// @ts-expect-error arrays have no view()
Tag.view(p1);
// @ts-expect-error arrays have no fields
Tag.fields;
// every scalar type inside a layout: §2.2 in results, §2.1 in arguments
const AllScalars = struct({
  c: "char", i8: "i8", u8: "uint8_t", i16: "i16", u16: "u16", i32: "int", u32: "c_uint",
  i64: "i64", u64: "size_t", f64: "double", f32: FFIType.f32, b: "bool", p: "ptr", fp: "function",
  i64f: "i64_fast", u64f: "u64_fast",
});
check<Equal<LayoutValue<typeof AllScalars>, {
  c: number; i8: number; u8: number; i16: number; u16: number; i32: number; u32: number;
  i64: bigint; u64: bigint; f64: number; f32: number; b: boolean; p: Address | null;
  fp: Address | null; i64f: number | bigint; u64f: number | bigint;
}>>();
check<Equal<LayoutInput<typeof AllScalars>, {
  c?: NL; i8?: NL; u8?: NL; i16?: NL; u16?: NL; i32?: NL; u32?: NL; i64?: NL; u64?: NL;
  f64?: NL; f32?: NL; b?: boolean; p?: Pointer; fp?: import("cffi").FunctionPointer;
  i64f?: NL; u64f?: NL;
} | LayoutBytes>>();
// every scalar array type: the matching TypedArray, boolean[], (number | null)[]
const AllArrays = struct({
  c: array("char", 2), i8: array("i8", 2), u8: array("u8", 2), i16: array("i16", 2),
  u16: array("u16", 2), i32: array("i32", 2), u32: array("u32", 2), i64: array("i64", 2),
  u64: array("u64", 2), f64: array("f64", 2), f32: array("f32", 2), b: array("bool", 2),
  p: array("ptr", 2), fp: array("function", 2),
});
check<Equal<LayoutValue<typeof AllArrays>, {
  c: Int8Array; i8: Int8Array; u8: Uint8Array;
  i16: Int16Array; u16: Uint16Array;
  i32: Int32Array; u32: Uint32Array;
  i64: BigInt64Array; u64: BigUint64Array;
  f64: Float64Array; f32: Float32Array;
  b: boolean[]; p: (Address | null)[]; fp: (Address | null)[];
}>>();
type ArraysIn = Exclude<LayoutInput<typeof AllArrays>, LayoutBytes>;
check<Equal<ArraysIn["b"], ArrayLike<boolean> | Iterable<boolean> | NodeJS.TypedArray | ArrayBuffer | undefined>>();
check<Equal<ArraysIn["u64"], ArrayLike<NL> | Iterable<NL> | NodeJS.TypedArray | ArrayBuffer | undefined>>();
check<Equal<ArraysIn["p"], ArrayLike<Pointer> | Iterable<Pointer> | NodeJS.TypedArray | ArrayBuffer | undefined>>();
AllArrays.write(u8, { i8: [1, 2], u64: new BigUint64Array(2), f64: new Set([1, 2]), b: [true], p: [null, u8] });
// @ts-expect-error a string in a numeric array
AllArrays.write(u8, { i32: ["1"] });
// nesting: structs in structs, arrays of structs, unions
const Vec2 = struct({ x: "f32", y: "f32" });
const Num = union({ i: "i64", d: "f64", bytes: array("u8", 8) });
const Body = struct({ pos: Vec2, path: array(Vec2, 3), n: Num }, { align: 16 });
check<Equal<LayoutValue<typeof Body>, {
  pos: { x: number; y: number };
  path: { x: number; y: number }[];
  n: { i: bigint; d: number; bytes: Uint8Array };
}>>();
Body.write(p1, { pos: { x: 1 }, path: [{ x: 1, y: 2 }, { y: 3 }], n: { d: 1.5 } });
Body.write(u8, { pos: new Float32Array(2), n: new ArrayBuffer(8) }, 16);
// @ts-expect-error wrong field name
Body.write(u8, { position: { x: 1 } });
// @ts-expect-error wrong field name in a nested struct
Body.write(u8, { pos: { z: 1 } });
// @ts-expect-error wrong field value type
Body.write(u8, { pos: { x: "1" } });
// @ts-expect-error a struct where an array of structs is expected
Body.write(u8, { path: { x: 1 } });
// unions: results have every field, arguments at most one
check<Equal<UnionType<{ readonly i: "i64"; readonly d: "f64"; readonly bytes: ArrayType<"u8", 8> }>, typeof Num>>();
check<Equal<typeof Num.kind, "union">>();
// offsetOf: field names and dotted paths into nested structs and unions
check<Equal<Parameters<typeof Body.offsetOf>[0], "pos" | "pos.x" | "pos.y" | "path" | "n" | "n.i" | "n.d" | "n.bytes">>();
Body.offsetOf("pos.y");
// @ts-expect-error no field z in pos
Body.offsetOf("pos.z");
Num.write(u8, { i: 1n });
Num.write(u8, { bytes: [1, 2, 3] });
Num.write(u8, {});
// @ts-expect-error a union takes at most one field
Num.write(u8, { i: 1n, d: 2 });
// @ts-expect-error wrong union field name
Num.write(u8, { f: 1 });
struct({ a: "u8" }, { packed: true });
union({ a: "u8" }, { align: 8 });
// @ts-expect-error a struct needs at least one field
struct({});
// @ts-expect-error cstring is not a field type
struct({ s: "cstring" });
// @ts-expect-error void is not a field type
union({ v: "void" });
// @ts-expect-error unknown field type
struct({ x: "f65" });
// @ts-expect-error buffer is not an element type
array("buffer", 2);
// @ts-expect-error packed is a boolean
struct({ a: "u8" }, { packed: 1 });
// read / write / alloc / view (SPEC §17.4)
check<Equal<ReturnType<typeof Body.read>, LayoutValue<typeof Body>>>();
Body.read(p1, 8);
Body.read(BigInt(p1), 8n);
Body.read(u8);
Body.read(dv, 16);
// @ts-expect-error read takes an address or a view
Body.read("0x1000");
check<Equal<ReturnType<typeof Body.write>, void>>();
Body.write(1n << 40n, {});
Body.write(ab, new Uint8Array(64));
check<Equal<ReturnType<typeof Body.alloc>, Uint8Array>>();
const bodyBytes = Body.alloc({ pos: { x: 1, y: 2 } });
Body.alloc();
check<Equal<ReturnType<typeof Tag.read>, Uint8Array>>();
Tag.write(u8, [1, 2, 3, 4]);
Tag.alloc(new Uint8Array(4));
const live = Body.view(bodyBytes);
check<Equal<typeof live, LayoutView<typeof Body>>>();
check<Equal<typeof live.pos.x, number>>();
live.pos.x += 1;
const liveN = Num.view(p1);
check<Equal<typeof liveN.i, bigint>>();
liveN.i = 5n;
// array fields of a view: live TypedArrays (DataView where misaligned), arrays of live views
check<Equal<typeof live.path, readonly { x: number; y: number }[]>>();
live.path[0].y = 2;
check<Equal<typeof live.n.bytes, Uint8Array | DataView>>();
const liveAll = AllArrays.view(p1, 8);
check<Equal<typeof liveAll.f64, Float64Array | DataView>>();
check<Equal<typeof liveAll.b, Uint8Array | DataView>>();
check<Equal<typeof liveAll.p, BigUint64Array | DataView>>();
check<Equal<typeof liveAll.u64, BigUint64Array | DataView>>();
check<Equal<LayoutView<typeof Tag>, never>>();
// @ts-expect-error no such field in the view
live.pos.z;
// @ts-expect-error view fields are typed
live.pos.x = "1";
// layout types by value in args/returns: dlopen, linkSymbols, CFunction, .async, cc
const Div = struct({ quot: "int", rem: "int" });
const structs = dlopen(null, {
  div: { args: ["int", "int"], returns: Div },
  norm: { args: [Vec2, "f64"], returns: "f64" },
  echo: { args: [Tagged], returns: Tagged },
  num: { args: [Num], returns: Num },
  body: { args: [Body], returns: Body, name: "body_echo" },
});
check<Equal<ReturnType<typeof structs.symbols.div>, { quot: number; rem: number }>>();
check<Equal<ReturnType<typeof structs.symbols.div.async>, Promise<{ quot: number; rem: number }>>>();
check<Equal<Parameters<typeof structs.symbols.norm>,
  [{ x?: NL; y?: NL } | ArrayBufferView | ArrayBuffer, NL]>>();
check<Equal<ReturnType<typeof structs.symbols.echo>, { x: number; tag: Uint8Array }>>();
check<Equal<Parameters<typeof structs.symbols.echo>, [LayoutInput<typeof Tagged>]>>();
check<Equal<ReturnType<typeof structs.symbols.num>, { i: bigint; d: number; bytes: Uint8Array }>>();
structs.symbols.norm({ x: 3, y: 4 }, 1);
structs.symbols.norm(new Float32Array(2), 1);
structs.symbols.echo({ x: 1, tag: [1, 2, 3, 4] });
structs.symbols.echo({ tag: new Uint8Array(4) });
structs.symbols.num({ d: 1 });
structs.symbols.body({ pos: { x: 1 } });
structs.symbols.norm.async({}, 1);
// @ts-expect-error wrong field name in an argument
structs.symbols.norm({ x: 3, z: 4 }, 1);
// @ts-expect-error wrong field value type in an argument
structs.symbols.norm({ x: "3" }, 1);
// @ts-expect-error wrong element type in an array field
structs.symbols.echo({ tag: ["a"] });
// @ts-expect-error a union argument takes at most one field
structs.symbols.num({ i: 1, d: 1 });
// @ts-expect-error a number is not a struct
structs.symbols.norm(1, 1);
// @ts-expect-error the result's fields are typed
const divBad: { quot: string } = structs.symbols.div(7, 2);
// @ts-expect-error an array by value in args
dlopen(null, { f: { args: [Tag] } });
// @ts-expect-error an array by value in returns
dlopen(null, { f: { returns: array("f64", 2) } });
// @ts-expect-error an array by value in a CFunction
CFunction({ ptr: 0x1000, args: [Tag] });
// @ts-expect-error an array by value in a linkSymbols declaration
linkSymbols({ f: { ptr: 0x1000, returns: Tag } });
const structLinked = linkSymbols({ div: { ptr: 0x1000, args: [Div], returns: Div } });
check<Equal<ReturnType<typeof structLinked.symbols.div>, { quot: number; rem: number }>>();
const structCf = CFunction({ ptr: 0x1000, args: [Div, "ptr"], returns: Num });
check<Equal<Parameters<typeof structCf>, [LayoutInput<typeof Div>, Pointer]>>();
check<Equal<ReturnType<typeof structCf>, LayoutValue<typeof Num>>>();
const structCc = cc({ source: "a.c", symbols: { f: { args: ["napi_env", Div], returns: Div } } });
check<Equal<ReturnType<typeof structCc.symbols.f>, { quot: number; rem: number }>>();
// a struct-typed declaration: FFIDeclaration; FFIFunction stays bun:ffi's
const divDecl: FFIDeclaration = { args: [Div, "...", "i32"], returns: Num, name: "div" };
// @ts-expect-error FFIFunction has bun:ffi's types only
const divFn: FFIFunction = { returns: Div };
// JSCallback: layouts by value in args (received as values) and returns (accepted values)
const cmp = new JSCallback((a, b) => {
  check<Equal<typeof a, { quot: number; rem: number }>>();
  check<Equal<typeof b, { x: number; tag: Uint8Array }>>();
  return { x: a.quot, tag: b.tag };
}, { args: [Div, Tagged], returns: Tagged });
new JSCallback((n) => n.bytes.length, { args: [Num], returns: "i32" });
new JSCallback(() => new Uint8Array(8), { returns: Num });
new JSCallback(() => ({ d: 1 }), { returns: Num });
// @ts-expect-error a callback's struct result is checked
new JSCallback(() => ({ quot: "1" }), { returns: Div });
// @ts-expect-error a callback's union result sets at most one field
new JSCallback(() => ({ i: 1, d: 2 }), { returns: Num });
// @ts-expect-error an array by value in a callback
new JSCallback(() => {}, { args: [Tag] });
// @ts-expect-error "..." is not allowed in a JSCallback definition
new JSCallback(() => 0, { args: ["cstring", "...", "i32"], returns: "i32" });
// @ts-expect-error "..." is not a return type
new JSCallback(() => 0, { returns: "..." });
// layout types are FieldTypes, StructType is a LayoutType
const asLayout: LayoutType = Body;
const asLayout2: LayoutType = Tag;

// --- variadic functions (SPEC §17.5) ---------------------------------------------
const varLib = dlopen(null, {
  printf: { args: ["cstring", "...", "i32", "f64"], returns: "i32" },
  printfS: { args: ["cstring", "...", "cstring", "ptr", "u64"], returns: "i32", name: "printf" },
  open: { args: ["cstring", "i32", "...", "u32"], returns: "i32" },
  promoted: { args: ["ptr", "...", "u8", "bool", "f64", "char"] },
  byValue: { args: ["i32", "...", Div] },
  noVar: { args: ["cstring", "..."], returns: "i32" },
});
check<Equal<Parameters<typeof varLib.symbols.printf>, [Pointer | string, NL, NL]>>();
check<Equal<Parameters<typeof varLib.symbols.printfS>, [Pointer | string, Pointer | string, Pointer, NL]>>();
check<Equal<Parameters<typeof varLib.symbols.open>, [Pointer | string, NL, NL]>>();
check<Equal<Parameters<typeof varLib.symbols.promoted>, [Pointer, NL, boolean, NL, NL]>>();
check<Equal<Parameters<typeof varLib.symbols.byValue>, [NL, LayoutInput<typeof Div>]>>();
check<Equal<Parameters<typeof varLib.symbols.noVar>, [Pointer | string]>>();
check<Equal<Parameters<typeof varLib.symbols.printf.async>, [Pointer | string, NL, NL]>>();
varLib.symbols.printf("%d %f\n", 1, 2.5);
varLib.symbols.printfS("%s %p %lu\n", "s", null, 5n);
// @ts-expect-error a string for the variadic i32
varLib.symbols.printf("%d %f\n", "1", 2.5);
// @ts-expect-error a string for the variadic f64
varLib.symbols.printf("%d %f\n", 1, "2.5");
// @ts-expect-error too few variadic arguments
varLib.symbols.printf("%d %f\n", 1);
// @ts-expect-error a number for the variadic cstring
varLib.symbols.printfS("%s", true, null, 1);
const varCf = CFunction({ ptr: 0x1000, args: ["cstring", "...", "f64"], returns: "i32" });
check<Equal<Parameters<typeof varCf>, [Pointer | string, NL]>>();
// @ts-expect-error f32 is promoted to double in variadic arguments
dlopen(null, { f: { args: ["cstring", "...", "f32"] } });
// @ts-expect-error float (by number) after "..."
linkSymbols({ f: { ptr: 0x1000, args: ["cstring", "...", FFIType.float] } });
// @ts-expect-error at least one fixed argument before "..."
dlopen(null, { f: { args: ["...", "i32"] } });
// @ts-expect-error "..." at most once
CFunction({ ptr: 0x1000, args: ["i32", "...", "i32", "...", "i32"] });
// @ts-expect-error "..." is not a return type
dlopen(null, { f: { returns: "..." } });
// f32 before "..." is a fixed argument
dlopen(null, { f: { args: ["f32", "...", "f64"] } });
// @ts-expect-error name is a string
dlopen(null, { f: { name: 1 } });
// viewSource takes the same declarations
viewSource({ div: { args: ["int", "int"], returns: Div }, printf: { args: ["cstring", "...", "i32"] } });
viewSource({ args: [Div], returns: Num }, true);
