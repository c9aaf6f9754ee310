// types/test.mts: compile-time test of index.d.ts as seen from an ES module
// (index.mjs at run time): named imports and the default export.

import cffi, { dlopen, FFIType, JSCallback, struct, union, array, type FFISymbol } from "cffi";
import * as ns from "cffi";

type Equal<X, Y> =
  (<T>() => T extends X ? 1 : 2) extends (<T>() => T extends Y ? 1 : 2) ? true : false;
declare function check<T extends true>(): void;

const { symbols } = dlopen(`libm.${cffi.suffix}`, {
  cos: { args: [FFIType.f64], returns: FFIType.f64 },
  abs: { args: ["int"], returns: "int" },
});
check<Equal<typeof symbols.cos, FFISymbol<[number | bigint], number>>>();
const x: number = symbols.cos(0) + symbols.abs(-1);
const viaDefault = cffi.dlopen(null, { labs: { args: ["i64"], returns: "i64" } });
check<Equal<ReturnType<typeof viaDefault.symbols.labs>, bigint>>();
check<Equal<typeof cffi.JSCallback, typeof JSCallback>>();
check<Equal<typeof ns.dlopen, typeof dlopen>>();
const r: Promise<number> = symbols.abs.async(-3);
// @ts-expect-error unknown symbol
symbols.sin(0);
// @ts-expect-error strings are rejected for numeric types
symbols.abs("1");

// layout types (SPEC §17) from the ES module: named exports and the default export
const Div = struct({ quot: "int", rem: "int" });
check<Equal<typeof cffi.struct, typeof struct>>();
check<Equal<typeof ns.union, typeof union>>();
check<Equal<typeof cffi.array, typeof array>>();
const divLib = dlopen(null, {
  div: { args: ["int", "int"], returns: Div },
  snprintf: { args: ["ptr", "u64", "cstring", "...", "f64"], returns: "i32" },
});
check<Equal<ReturnType<typeof divLib.symbols.div>, { quot: number; rem: number }>>();
check<Equal<Parameters<typeof divLib.symbols.snprintf>[3], number | bigint>>();
const cell = union({ n: "i32", b: array("u8", 4) }).read(0x1000);
check<Equal<typeof cell, { n: number; b: Uint8Array }>>();
// @ts-expect-error wrong field name
divLib.symbols.div(1, 2).quotient;
