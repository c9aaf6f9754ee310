// index.d.ts: TypeScript declarations for cffi, the bun:ffi API for Node.js.
// Hand-written from the API contract (SPEC.md). Sync obligation: the type names
// and numbers in `TypeCodes` must match lib/types.js and src/types.inc, the
// conversions in `ArgValues`/`ReturnValues` must match SPEC §2, and the layout types
// (`struct`/`union`/`array`, `LayoutValue`/`LayoutInput`, `"..."`) SPEC §17.
// Needs TypeScript >= 5.3 (`const` type parameters infer declarations literally,
// so users need not write `as const`; 5.0-5.2 infer `args` as arrays, not tuples).
// Type-checked by `npm run test:types`.

/// <reference types="node" />

export {}; // only what is marked `export` below is public

// ---------------------------------------------------------------------------
// Type names

/** Every type name and alias accepted in `args`/`returns`, with its number. */
interface TypeCodes {
  char: 0;
  int8_t: 1; i8: 1;
  uint8_t: 2; u8: 2;
  int16_t: 3; i16: 3;
  uint16_t: 4; u16: 4;
  int32_t: 5; i32: 5; int: 5; c_int: 5;
  uint32_t: 6; u32: 6; c_uint: 6;
  int64_t: 7; i64: 7; isize: 7;
  uint64_t: 8; u64: 8; usize: 8; size_t: 8;
  double: 9; f64: 9;
  float: 10; f32: 10;
  bool: 11;
  ptr: 12; pointer: 12; "void*": 12; "char*": 12;
  void: 13;
  cstring: 14;
  i64_fast: 15;
  u64_fast: 16;
  function: 17; callback: 17; fn: 17;
  napi_env: 18;
  napi_value: 19;
  buffer: 20;
  buffer_length: 21;
}

/** A type name or alias usable in `args`/`returns` (e.g. `"i32"`, `"int"`, `"void*"`). */
export type FFITypeName = keyof TypeCodes;

/**
 * The numbers of the FFI types (0…21); also the type of every `FFIType.*` member.
 * `FFIType` is both this type and the runtime object.
 */
export type FFIType = TypeCodes[FFITypeName];

/**
 * Plain object mapping each type name (canonical or alias) to its number; the
 * keys `"0"`…`"17"` map to themselves. `size_t` is accepted in declarations as a
 * string only and is not a key. Use `FFIType.i32` etc. in `args`/`returns`.
 */
export declare const FFIType: {
  readonly [K in Exclude<FFITypeName, "size_t">]: TypeCodes[K];
} & {
  readonly "0": 0; readonly "1": 1; readonly "2": 2; readonly "3": 3;
  readonly "4": 4; readonly "5": 5; readonly "6": 6; readonly "7": 7;
  readonly "8": 8; readonly "9": 9; readonly "10": 10; readonly "11": 11;
  readonly "12": 12; readonly "13": 13; readonly "14": 14; readonly "15": 15;
  readonly "16": 16; readonly "17": 17;
};

/** The names whose number is in `C`. */
type NamesOf<C> = { [K in FFITypeName]: TypeCodes[K] extends C ? K : never }[FFITypeName];
/** The number of a type given by name or number. */
type CodeOf<T> = T extends number ? T : T extends FFITypeName ? TypeCodes[T] : never;

// Which types each kind of declaration position accepts (SPEC §1.1).
type ArgCode = Exclude<FFIType, 13 | 18 | 19>;
type ReturnCode = Exclude<FFIType, 18 | 19 | 20 | 21>;
type CallbackArgCode = Exclude<FFIType, 13 | 18 | 19 | 20 | 21>;
type CallbackReturnCode = ReturnCode;
type CcArgCode = Exclude<FFIType, 13>;
type CcReturnCode = Exclude<FFIType, 18 | 20 | 21>;

/** A type (name, alias or number) allowed as an argument of `dlopen`/`linkSymbols`/`CFunction`. */
export type FFIArgType = ArgCode | NamesOf<ArgCode>;
/** A type (name, alias or number) allowed as the `returns` of `dlopen`/`linkSymbols`/`CFunction`. */
export type FFIReturnType = ReturnCode | NamesOf<ReturnCode>;
/** A type allowed as an argument of a `JSCallback` (what C passes to JS). */
export type JSCallbackArgType = CallbackArgCode | NamesOf<CallbackArgCode>;
/** A type allowed as the `returns` of a `JSCallback`. */
export type JSCallbackReturnType = CallbackReturnCode | NamesOf<CallbackReturnCode>;
/** A type allowed as an argument in `cc()` (adds `napi_env`, `napi_value`). */
export type CcArgType = CcArgCode | NamesOf<CcArgCode>;
/** A type allowed as the `returns` in `cc()` (adds `napi_value`). */
export type CcReturnType = CcReturnCode | NamesOf<CcReturnCode>;
/** Any type name, alias or number. */
export type FFITypeOrString = FFIType | FFITypeName;

// ---------------------------------------------------------------------------
// JS values

/** A C address as JavaScript sees it: a number, or a BigInt above 2^53 − 1. */
export type Address = number | bigint;

/** Any view of memory that can be passed where C expects a pointer. */
export type MemoryView = NodeJS.TypedArray | DataView | ArrayBuffer;

/**
 * What a `ptr` argument accepts: an address, `null` (NULL), or a TypedArray,
 * Buffer, DataView or ArrayBuffer (its first byte). Strings are rejected: encode
 * them into a Buffer, or declare the argument `cstring`.
 */
export type Pointer = Address | null | MemoryView;

/** What a `function` argument accepts: a `JSCallback`, anything with a `.ptr` address, an address, or `null`. */
export type FunctionPointer = JSCallback<any> | { readonly ptr: Address } | Address | null;

/** What a numeric argument accepts (integers wrap, BigInts wrap modulo 2^width). */
export type NumberLike = number | bigint;
type View = NodeJS.TypedArray | DataView;

/** JS → C: what each argument type accepts (SPEC §2.1). */
interface ArgValues {
  0: NumberLike; 1: NumberLike; 2: NumberLike; 3: NumberLike; 4: NumberLike;
  5: NumberLike; 6: NumberLike; 7: NumberLike; 8: NumberLike;
  9: NumberLike; 10: NumberLike;
  11: boolean;
  12: Pointer;
  13: never;
  14: Pointer | string;
  15: NumberLike; 16: NumberLike;
  17: FunctionPointer;
  18: void | null | undefined; // napi_env: cffi passes the environment; the JS value is ignored
  19: unknown;
  20: View | null;
  21: View | null;
}

/** C → JS: what each return type produces; also what a `JSCallback` receives (SPEC §2.2). */
interface ReturnValues {
  0: number; 1: number; 2: number; 3: number; 4: number; 5: number; 6: number;
  7: bigint; 8: bigint;
  9: number; 10: number;
  11: boolean;
  12: Address | null;
  13: undefined;
  14: string | null;
  15: number | bigint; 16: number | bigint;
  17: Address | null;
  18: never;
  19: unknown;
  20: never;
  21: never;
}

// A layout type (SPEC §17) maps to its JS values; a scalar to the tables above.
type ArgValue<T> = T extends LayoutType ? LayoutInput<T>
  : CodeOf<T> extends infer C extends keyof ArgValues ? ArgValues[C] : never;
type ReturnValue<T> = T extends LayoutType ? LayoutValue<T>
  : CodeOf<T> extends infer C extends keyof ReturnValues ? ReturnValues[C] : never;

/** Maps a tuple of types to the JS values they accept. */
type ArgValuesOf<A extends readonly unknown[]> = AsList<{ -readonly [K in keyof A]: ArgValue<A[K]> }>;
/** Restates that a mapped tuple is an array (TypeScript 5.0 cannot see it). */
type AsList<T> = T extends infer L extends unknown[] ? L : never;
/** The `args` of a declaration: `[]` when absent. */
type ArgsField<D> = D extends { readonly args?: infer A }
  ? Exclude<A, undefined> extends infer B extends readonly unknown[] ? B : []
  : [];
/** The `returns` of a declaration: 13 (`void`) when absent or optional. */
type ReturnsField<D> = D extends { readonly returns?: infer R }
  ? unknown extends R ? 13 : Exclude<R, undefined> | (undefined extends R ? 13 : never)
  : 13;

/**
 * `args` without the variadic marker `"..."` (SPEC §17.5): the arguments after it are
 * passed like the others. A non-tuple array of types loses `"..."` from its element type.
 */
type WithoutVariadic<A extends readonly unknown[]> = "..." extends A[number] ? DropVariadic<A> : A;
type DropVariadic<A extends readonly unknown[]> =
  A extends readonly [infer H, ...infer R] ? H extends "..." ? DropVariadic<R> : [H, ...DropVariadic<R>]
  : A extends readonly [] ? []
  : Exclude<A[number], "...">[];

/** The JS parameter list of a declaration. */
export type FFIArgs<D> = ArgValuesOf<WithoutVariadic<ArgsField<D>>>;
/** The JS result of a declaration (`undefined` when `returns` is missing or `void`). */
export type FFIReturn<D> = ReturnValue<ReturnsField<D>>;
type CcArgs<D> = ArgValuesOf<WithoutVariadic<ArgsField<D>>>;

// ---------------------------------------------------------------------------
// Declarations

/**
 * One C function declared with bun:ffi's types only: `args` default `[]`, `returns`
 * default `"void"`. `dlopen` and the others accept the wider `FFIDeclaration`.
 */
export interface FFIFunction {
  readonly args?: readonly FFIArgType[];
  readonly returns?: FFIReturnType;
  /** The function's address: skips the symbol lookup. */
  readonly ptr?: Address;
  /** The C symbol to look up when it differs from the declaration's key (SPEC §17.5). */
  readonly name?: string;
}

/** A declaration with the required `ptr`, for `linkSymbols` and `CFunction`. */
export interface FFIFunctionWithPtr extends FFIFunction {
  /** The function's address (non-zero). */
  readonly ptr: Address;
}

/**
 * The variadic marker in `args` (SPEC §17.5): the types after it are this declaration's
 * variable arguments (`["cstring", "...", "i32", "f64"]` is `printf(const char *, ...)`
 * called with an `int` and a `double`). Not allowed in a `JSCallback` definition.
 */
export type Variadic = "...";

/**
 * One C function declared for `dlopen`, `linkSymbols`, `CFunction`: bun:ffi's types,
 * plus struct/union layout types by value (SPEC §17.3) and `"..."` (SPEC §17.5).
 */
export interface FFIDeclaration {
  readonly args?: readonly (FFIArgType | ByValueType | Variadic)[];
  readonly returns?: FFIReturnType | ByValueType;
  /** The function's address: skips the symbol lookup. */
  readonly ptr?: Address;
  /** The C symbol to look up when it differs from the declaration's key (SPEC §17.5). */
  readonly name?: string;
}

/** An `FFIDeclaration` with the required `ptr`, for `linkSymbols` and `CFunction`. */
export interface FFIDeclarationWithPtr extends FFIDeclaration {
  /** The function's address (non-zero). */
  readonly ptr: Address;
}

/** One C function declared for `cc()`; `napi_env`/`napi_value` are allowed. */
export interface CcFunction {
  readonly args?: readonly (CcArgType | ByValueType | Variadic)[];
  readonly returns?: CcReturnType | ByValueType;
  /** The C symbol to look up when it differs from the declaration's key (SPEC §17.5). */
  readonly name?: string;
}

/**
 * The signature of a `JSCallback`, also the argument of `viewSource(def, true)`.
 * Struct/union layout types are passed by value; `"..."` is not allowed.
 */
export interface JSCallbackDefinition {
  readonly args?: readonly (JSCallbackArgType | ByValueType)[];
  readonly returns?: JSCallbackReturnType | ByValueType;
  /**
   * Default `false`. With `true` and a `void` return, calls from any thread are
   * queued to the JS thread and the C caller returns at once.
   */
  readonly threadsafe?: boolean;
}

// ---------------------------------------------------------------------------
// Callable results

/**
 * A C function callable from JS. Numeric arguments take number or BigInt;
 * see SPEC §2 for every conversion.
 */
export interface FFISymbol<A extends unknown[] = any[], R = unknown> {
  (...args: A): R;
  /** The C function's address. */
  readonly ptr: number;
  /** The function itself. */
  readonly native: this;
  /**
   * Calls the C function on a libuv worker thread. Arguments are converted now
   * (a conversion error rejects the promise); the result converts on the JS thread.
   */
  async(...args: A): Promise<R>;
}

/** A function made by `CFunction`: an `FFISymbol` with `close()`. */
export interface CFunctionResult<A extends unknown[] = any[], R = unknown> extends FFISymbol<A, R> {
  /** Frees the trampoline (idempotent); later calls throw "function is closed". */
  close(): undefined;
}

/**
 * Maps of declarations (`dlopen`, `linkSymbols`, `native.dlopen`, `cc`) take
 * `Fns & Checked<Fns, F>`: `Fns` is inferred from the map as written under a loose bound,
 * and `Checked` requires each declaration to be an `F`. A bad declaration is then an error
 * at that declaration only; with `Fns extends Record<string, F>`, TypeScript fell back to
 * the bound for the whole map and every symbol lost its types (any arguments, any name).
 */
type Declarations = Record<string, object>;
type Checked<Fns, F> = { readonly [K in keyof Fns]: Fns[K] & DeclarationRules<Fns[K]> & ArraysLetThrough<F> };

/**
 * `F` with array layout types also allowed in `args`/`returns`, so that `DeclarationRules`
 * rejects them with SPEC §17.3's message rather than a list of every allowed type.
 */
type ArraysLetThrough<F> = Omit<F, "args" | "returns"> & {
  readonly args?: readonly (ArgsElement<F> | ArrayType<any, number>)[];
  readonly returns?: ReturnsElement<F> | ArrayType<any, number>;
};
type ArgsElement<F> = F extends { readonly args?: readonly (infer E)[] } ? E : never;
type ReturnsElement<F> = F extends { readonly returns?: infer R } ? Exclude<R, undefined> : never;

/**
 * SPEC §17.3's and §17.5's rules that the element types alone cannot express: no C array
 * by value; `"..."` after at least one fixed argument, at most once, with no `f32` after it
 * (checked where `args` is a tuple). A broken rule requires a property named after it, so
 * the error message states the rule.
 */
type DeclarationRules<D> = [RuleBroken<D>] extends [never] ? unknown
  : { readonly [P in RuleBroken<D>]: never };
type RuleBroken<D> =
  | ([Extract<ArgsField<D>[number] | ReturnsField<D>, { readonly kind: "array" }>] extends [never] ? never
    : "C arrays cannot be passed by value; use ptr or wrap the array in a struct")
  | VariadicError<ArgsField<D>>;
type VariadicError<A extends readonly unknown[]> =
  A extends readonly [Variadic, ...unknown[]] ? 'at least one fixed argument before "..."'
  : Variadic extends AfterVariadic<A>[number] ? '"..." at most once'
  : 10 extends CodeOf<AfterVariadic<A>[number]> ? "float is promoted to double in variadic arguments; declare f64"
  : never;
/** The types after the first `"..."` of a tuple (`[]` without one, or for a non-tuple). */
type AfterVariadic<A extends readonly unknown[]> =
  A extends readonly [infer H, ...infer R] ? H extends Variadic ? R : AfterVariadic<R> : [];

/** The JS functions for a map of declarations. */
export type ConvertFns<Fns> = {
  readonly [K in keyof Fns]: FFISymbol<FFIArgs<Fns[K]>, FFIReturn<Fns[K]>>;
};
type ConvertCcFns<Fns> = {
  readonly [K in keyof Fns]: FFISymbol<CcArgs<Fns[K]>, FFIReturn<Fns[K]>>;
};

/** The result of `dlopen`, `linkSymbols` and `cc`. */
export interface Library<Symbols> {
  /** One function per declared symbol, in declaration order. */
  readonly symbols: Symbols;
  /**
   * Unloads the library and frees the trampolines (idempotent, bound). Later
   * calls throw "library is closed"; async calls in flight finish first.
   */
  close(): void;
}

// ---------------------------------------------------------------------------
// Functions

/**
 * Opens a shared library and binds the declared C functions.
 * `path`: file path, library name, `file:` URL (string or `URL`), or `null`
 * for the running process (libc etc.). Throws an `Error` with code
 * `ERR_DLOPEN_FAILED` if the library cannot be loaded.
 * @example
 * const { symbols } = dlopen(`libm.${suffix}`, { cos: { args: ["f64"], returns: "f64" } });
 * symbols.cos(0); // 1
 */
export declare function dlopen<const Fns extends Declarations>(
  path: string | URL | null,
  symbols: Fns & Checked<Fns, FFIDeclaration>,
): Library<ConvertFns<Fns>>;

/**
 * Like `dlopen` without a library: binds functions by address. Every entry
 * needs a non-zero `ptr`. Freed when garbage-collected unless closed first.
 */
export declare function linkSymbols<const Fns extends Declarations>(
  symbols: Fns & Checked<Fns, FFIDeclarationWithPtr>,
): Library<ConvertFns<Fns>>;

/** The callable and constructible type of `CFunction`. */
export interface CFunctionConstructor {
  <const D extends ArraysLetThrough<FFIDeclarationWithPtr>>(
    definition: D & DeclarationRules<D>,
  ): CFunctionResult<FFIArgs<D>, FFIReturn<D>>;
  new <const D extends ArraysLetThrough<FFIDeclarationWithPtr>>(
    definition: D & DeclarationRules<D>,
  ): CFunctionResult<FFIArgs<D>, FFIReturn<D>>;
}

/**
 * Makes one JS function from a C function address: `{ ptr, args?, returns? }`,
 * with or without `new`. The result has `.ptr`, `.native`, `.async` and `.close()`.
 */
export declare const CFunction: CFunctionConstructor;

/** The value the callback must return for `returns` (`void` when missing or `"void"`). */
type CallbackReturn<D> = CallbackResultOf<ReturnsField<D>>;
type CallbackResultOf<R> = R extends LayoutType ? LayoutInput<R> : CallbackResult<CodeOf<R>>;
// A `cstring` result is an address like `ptr` (a JS string has no memory C could keep).
type CallbackResult<C> = C extends 13 ? void : C extends 14 ? ArgValue<12> : ArgValue<C>;
/** The values the callback receives for `args`. */
type CallbackArgs<D> = ReturnValuesOf<ArgsField<D>>;
type ReturnValuesOf<A extends readonly unknown[]> = AsList<{ -readonly [K in keyof A]: ReturnValue<A[K]> }>;
/** What the `JSCallback` constructor lets through to `CallbackRules`, which names what is wrong. */
type CallbackShape = Omit<JSCallbackDefinition, "args" | "returns"> & {
  readonly args?: readonly (JSCallbackArgType | LayoutType | Variadic)[];
  readonly returns?: JSCallbackReturnType | LayoutType;
};
/** SPEC §17.3 and §17.5 for callbacks: no C array by value, no `"..."`. */
type CallbackRules<D> = [CallbackRuleBroken<D>] extends [never] ? unknown
  : { readonly [P in CallbackRuleBroken<D>]: never };
type CallbackRuleBroken<D> =
  | Extract<RuleBroken<D>, "C arrays cannot be passed by value; use ptr or wrap the array in a struct">
  | (Variadic extends ArgsField<D>[number] ? '"..." is not allowed in a JSCallback definition' : never);

/**
 * A JS function with a C function pointer (`.ptr`), to pass to C. Its
 * parameters are typed from `args`, its required result from `returns`. Call
 * `close()` when C no longer uses it; until then `callback` stays alive.
 * @example
 * const cb = new JSCallback((a, b) => a - b, { args: ["i32", "i32"], returns: "i32" });
 */
export declare class JSCallback<const D extends CallbackShape = JSCallbackDefinition> {
  constructor(callback: (...args: CallbackArgs<D>) => CallbackReturn<D>, definition: D & CallbackRules<D>);
  /** The C function pointer; `null` after `close()`. */
  readonly ptr: number | null;
  /** Whether the callback was created with `threadsafe: true`. */
  readonly threadsafe: boolean;
  /** Frees the trampoline and releases the JS function (idempotent). */
  close(): void;
  /** The pointer (0 when closed), so a `JSCallback` converts to its address. */
  [Symbol.toPrimitive](): number;
  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void;
}

/**
 * The address of a view's first byte plus `byteOffset` (an integer, may be
 * negative, at most the view's byteLength; never coerced or wrapped).
 * Stable for the view; keep the view alive while C uses the address.
 */
export declare function ptr(view: MemoryView, byteOffset?: number): number;

/**
 * Reads a value at `ptr + byteOffset` (unaligned, native byte order). `ptr`
 * must not be NULL; `byteOffset` is an integer number or BigInt, may be
 * negative and is never wrapped to 32 bits.
 */
export declare const read: {
  /** Unsigned 8-bit. */
  u8(ptr: Address, byteOffset?: number | bigint): number;
  /** Signed 8-bit. */
  i8(ptr: Address, byteOffset?: number | bigint): number;
  /** Unsigned 16-bit. */
  u16(ptr: Address, byteOffset?: number | bigint): number;
  /** Signed 16-bit. */
  i16(ptr: Address, byteOffset?: number | bigint): number;
  /** Unsigned 32-bit. */
  u32(ptr: Address, byteOffset?: number | bigint): number;
  /** Signed 32-bit. */
  i32(ptr: Address, byteOffset?: number | bigint): number;
  /** 32-bit float. */
  f32(ptr: Address, byteOffset?: number | bigint): number;
  /** 64-bit float. */
  f64(ptr: Address, byteOffset?: number | bigint): number;
  /** Signed 64-bit, as a BigInt. */
  i64(ptr: Address, byteOffset?: number | bigint): bigint;
  /** Unsigned 64-bit, as a BigInt. */
  u64(ptr: Address, byteOffset?: number | bigint): bigint;
  /** A pointer (unsigned 64-bit) as a number. */
  ptr(ptr: Address, byteOffset?: number | bigint): number;
  /** A signed 64-bit integer (intptr_t) as a number. */
  intptr(ptr: Address, byteOffset?: number | bigint): number;
};

/**
 * A zero-copy ArrayBuffer over the memory at `ptr + byteOffset`; without
 * `byteLength` its length is the `strlen` there. Without a deallocator the
 * memory is borrowed and never freed.
 */
export declare function toArrayBuffer(ptr: Address, byteOffset?: number, byteLength?: number): ArrayBuffer;
/**
 * With a deallocator (a C function pointer, e.g. `JSCallback#ptr`): called once
 * on the JS thread after the ArrayBuffer is garbage-collected.
 */
export declare function toArrayBuffer(
  ptr: Address, byteOffset: number | undefined, byteLength: number | undefined,
  deallocator: Address,
): ArrayBuffer;
/**
 * With a context and a deallocator `void (*)(void *bytes, void *ctx)`,
 * `bytes = ptr + byteOffset`: called once after the ArrayBuffer is garbage-collected.
 */
export declare function toArrayBuffer(
  ptr: Address, byteOffset: number | undefined, byteLength: number | undefined,
  context: Address, deallocator: Address,
): ArrayBuffer;

/** As `toArrayBuffer`, as a Buffer (length at most 2^32; an ArrayBuffer has no such limit of cffi's). */
export declare function toBuffer(ptr: Address, byteOffset?: number, byteLength?: number): Buffer;
/** As `toArrayBuffer` with a deallocator, as a Buffer. */
export declare function toBuffer(
  ptr: Address, byteOffset: number | undefined, byteLength: number | undefined,
  deallocator: Address,
): Buffer;
/** As `toArrayBuffer` with a context and a deallocator, as a Buffer. */
export declare function toBuffer(
  ptr: Address, byteOffset: number | undefined, byteLength: number | undefined,
  context: Address, deallocator: Address,
): Buffer;

/** A String object holding a copy of a C string, with where it came from. */
export interface CString extends String {
  /** The address given (0 if it was falsy). */
  readonly ptr: Address;
  /** Present only when given to the constructor. */
  readonly byteOffset?: number;
  /** Present only when given to the constructor. */
  readonly byteLength?: number;
  /** `toArrayBuffer(ptr, byteOffset, byteLength)`, computed once (empty for NULL). */
  readonly arrayBuffer: ArrayBuffer;
}

/** The type of `CString`: constructible (String object) and callable (string primitive). */
export interface CStringConstructor {
  /**
   * Decodes UTF-8 at `ptr + byteOffset`: `byteLength` bytes, else up to the NUL.
   * A falsy `ptr` gives `""`.
   */
  new (ptr: Address | null | undefined, byteOffset?: number, byteLength?: number): CString;
  /** Without `new`: the decoded text as a string primitive. */
  (ptr: Address | null | undefined, byteOffset?: number, byteLength?: number): string;
  readonly prototype: CString;
}

/**
 * Reads a NUL-terminated (or `byteLength`-long) UTF-8 C string into JS. The
 * text is copied. `new CString(p)` gives a `String` object with `ptr`;
 * `CString(p)` gives a string primitive.
 */
export declare const CString: CStringConstructor;

/**
 * The C source cffi generates for the trampolines of `symbols` (one string per
 * symbol); nothing is loaded. Signatures on the libffi path say so instead.
 */
export declare function viewSource<const Fns extends Record<string, FFIDeclaration>>(
  symbols: Fns, isCallback?: false,
): string[];
/** The C source cffi generates for one `JSCallback` signature. */
export declare function viewSource<const D extends JSCallbackDefinition>(
  definition: D, isCallback: true,
): string;

/** The platform's shared library extension without a dot: `"so"`, `"dylib"` or `"dll"`. */
export declare const suffix: string;

/** Low-level entry points kept for bun:ffi compatibility. */
export declare const native: {
  /** `dlopen` that returns its Error instead of throwing it. */
  dlopen<const Fns extends Declarations>(
    path: string | URL | null,
    symbols: Fns & Checked<Fns, FFIDeclaration>,
  ): Library<ConvertFns<Fns>> | Error;
  /** Deprecated: always throws. Use `new JSCallback(fn, definition)`. */
  callback(...args: unknown[]): never;
};

/**
 * C `errno` right after the C function of the most recent synchronous FFI call
 * on this JS thread returned; 0 before any call. Async calls leave it unchanged.
 */
export declare function errno(): number;

/** Options of `cc()`. */
export interface CcOptions<Fns> {
  /** C file(s): path, `file:` URL string or `URL`, relative to `process.cwd()`. */
  source: string | URL | readonly (string | URL)[];
  /** The functions to link, as for `dlopen`; `napi_env`/`napi_value` allowed. */
  symbols: Fns;
  /** Libraries to link, like `-l`. */
  library?: string | readonly string[];
  /** Include directories, like `-I`. */
  include?: string | readonly string[];
  /** Macros, like `-D` (a non-string value defines an empty macro). */
  define?: Record<string, string>;
  /** TinyCC flags: a string replaces the defaults `-std=c11 -O2`; an array is appended. */
  flags?: string | readonly string[];
}

/**
 * Compiles C source in memory with TinyCC and links the declared symbols, which
 * are called like `dlopen`'s. As in Bun, a `napi_env` parameter keeps its
 * argument position: cffi passes the calling environment and ignores the JS
 * value there (pass nothing, `null` or `undefined`); `napi_value` passes JS
 * values unconverted. The code is freed only by `close()`.
 */
export declare function cc<const Fns extends Declarations>(
  options: CcOptions<Fns & Checked<Fns, CcFunction>>,
): Library<ConvertCcFns<Fns>>;

// ---------------------------------------------------------------------------
// Layout types: structs, unions, fixed arrays (SPEC §17)

/**
 * Type-level only (no such property at run time): what a layout type was made from,
 * its fields (struct/union) or its element type (array).
 */
declare const madeOf: unique symbol;

type FieldCode = Exclude<FFIType, 13 | 14 | 18 | 19 | 20 | 21>;
/**
 * A scalar type allowed as a field or array element: every type but `void`, `cstring`,
 * `buffer`, `buffer_length`, `napi_env`, `napi_value`.
 */
export type FieldScalarType = FieldCode | NamesOf<FieldCode>;
/** A field or element type: a scalar type or another layout type (nesting to any depth). */
export type FieldType = FieldScalarType | LayoutType;
/** The `fields` of `struct`/`union`: field name → type; the order is the key order. */
export type LayoutFields = { readonly [name: string]: FieldType };
/** Any layout type made by `struct`, `union` or `array`. */
export type LayoutType = StructType<any> | UnionType<any> | ArrayType<any, number>;
/** A layout type that can be passed and returned by value: a struct or a union (not an array). */
export type ByValueType = StructType<any> | UnionType<any>;

/** Options of `struct`/`union`. */
export interface LayoutOptions {
  /** `true`: alignment 1 and no padding, as `__attribute__((packed))`. */
  readonly packed?: boolean;
  /** Raises the alignment to this power of two; the size rounds up to it. */
  readonly align?: number;
}

/** One entry of a struct's or union's `.fields`. */
export interface LayoutField<N extends string = string, T = FieldScalarCode | LayoutType> {
  readonly name: N;
  /** The field's type: a scalar as its `FFIType` number, a layout type as itself. */
  readonly type: T;
  /** Byte offset in the struct (0 for every union field). */
  readonly offset: number;
}
/** The scalar type numbers allowed as a field or element type. */
export type FieldScalarCode = FieldCode;
/** A field or element type as `.fields[i].type` and `.type` give it: scalars as their number. */
type MemberType<T> = T extends LayoutType ? T : CodeOf<T>;
type FieldList<F> = readonly { [K in keyof F & string]: LayoutField<K, MemberType<F[K]>> }[keyof F & string][];
/** What `offsetOf` takes: a field name, or a dotted path into nested structs/unions (`"pos.x"`). */
export type FieldPath<F> = {
  [K in keyof F & string]: K | (F[K] extends { readonly kind: "struct" | "union"; readonly [madeOf]: infer G }
    ? `${K}.${FieldPath<G>}` : never);
}[keyof F & string];
/** Rejects `{}`: a struct or union needs at least one field. */
type NonEmpty<F> = [keyof F] extends [never] ? { "at least one field": FieldType } : unknown;

/**
 * The JS value a layout produces: in results, from `read`, as a `JSCallback`'s argument
 * (SPEC §17.2). Struct: one property per field; union: every field, each decoded from the
 * same bytes; array: a TypedArray copy (`boolean[]` for `bool`, `(Address | null)[]` for
 * `ptr`/`function`, an Array of values for layout elements).
 */
export type LayoutValue<L> =
  L extends { readonly kind: "array"; readonly [madeOf]: infer E } ? ArrayValue<E>
  : L extends { readonly [madeOf]: infer F } ? { -readonly [K in keyof F]: ReturnValue<F[K]> }
  : never;
/** The TypedArray (or Array) an array of each scalar type produces. */
interface ArrayValues {
  0: Int8Array; 1: Int8Array; 2: Uint8Array;
  3: Int16Array; 4: Uint16Array;
  5: Int32Array; 6: Uint32Array;
  7: BigInt64Array; 8: BigUint64Array;
  9: Float64Array; 10: Float32Array;
  11: boolean[];
  12: (Address | null)[];
  15: BigInt64Array; 16: BigUint64Array;
  17: (Address | null)[];
}
type ArrayValue<E> = E extends LayoutType ? LayoutValue<E>[]
  : CodeOf<E> extends infer C extends keyof ArrayValues ? ArrayValues[C] : never;

/** The raw bytes accepted for a struct or union: at least `.size` bytes, copied. */
export type LayoutBytes = ArrayBufferView | ArrayBuffer;
/**
 * The JS values a layout accepts: as an argument, in `write` and `alloc`, as a
 * `JSCallback`'s result (SPEC §17.2). Struct: an object whose fields are all optional
 * (missing → 0/NULL/false; unknown keys are errors), or its raw bytes; union: the same
 * with at most one field set; array: an array-like or iterable of at most `length`
 * elements, or a TypedArray or ArrayBuffer of exactly `.size` bytes (copied raw).
 */
export type LayoutInput<L> =
  L extends { readonly kind: "array"; readonly [madeOf]: infer E } ? ArrayInput<E>
  : L extends { readonly kind: "union"; readonly [madeOf]: infer F } ? UnionInput<F> | LayoutBytes
  : L extends { readonly [madeOf]: infer F } ? { -readonly [K in keyof F]?: ArgValue<F[K]> } | LayoutBytes
  : never;
/** One object type per field, each allowing only that field: at most one is set. */
type UnionInput<F> = {
  [K in keyof F]: { -readonly [P in keyof F]?: P extends K ? ArgValue<F[P]> : never };
}[keyof F];
type ArrayInput<E> = ArrayLike<ArgValue<E>> | Iterable<ArgValue<E>> | NodeJS.TypedArray | ArrayBuffer;

/**
 * The live object `view()` returns: each field a getter/setter on the memory itself;
 * struct/union fields are nested live views, array fields live TypedArrays over the bytes
 * (a DataView where the bytes are not aligned for one; `Uint8Array` for `bool`,
 * `BigUint64Array` for `ptr`/`function`) or frozen Arrays of live views. A field's type is
 * what reading gives; its setter also takes what the layout accepts (`LayoutInput`).
 */
export type LayoutView<L> = L extends { readonly kind: "struct" | "union"; readonly [madeOf]: infer F }
  ? { -readonly [K in keyof F]: ViewMember<F[K]> }
  : never;
type ViewMember<T> = T extends { readonly kind: "array"; readonly [madeOf]: infer E } ? LiveArray<E>
  : T extends LayoutType ? LayoutView<T> : ReturnValue<T>;
type LiveArray<E> = E extends LayoutType ? readonly ViewMember<E>[]
  : CodeOf<E> extends infer C extends keyof LiveArrays ? LiveArrays[C] | DataView : never;
interface LiveArrays extends Omit<ArrayValues, 11 | 12 | 17> {
  11: Uint8Array; 12: BigUint64Array; 17: BigUint64Array;
}

/**
 * A struct or union layout type (`kind`), made by `struct(fields, options?)` or
 * `union(fields, options?)`; a union's fields are all at offset 0 and its value has every field,
 * each read from the same bytes, while a written one sets at most one.
 */
export interface RecordLayoutType<K extends "struct" | "union", F extends LayoutFields = LayoutFields> {
  readonly kind: K;
  /** Size in bytes, including the padding (as C's `sizeof`). */
  readonly size: number;
  /** Alignment in bytes (as C's `_Alignof`). */
  readonly align: number;
  /** The fields in order, with their byte offsets. */
  readonly fields: FieldList<F>;
  /** The byte offset of a field, or of a dotted path (`"pos.x"`); unknown → TypeError. */
  offsetOf(name: FieldPath<F>): number;
  /**
   * Reads the value at `ptr + byteOffset`: an address (the rules of `read.*`) or a view
   * (a RangeError when too small).
   */
  read(ptr: Address | MemoryView, byteOffset?: number | bigint): LayoutValue<RecordLayoutType<K, F>>;
  /**
   * Writes `value`'s bytes at `target + byteOffset`: an address, or a view (a RangeError
   * when the view is too small).
   */
  write(target: Address | MemoryView, value: LayoutInput<RecordLayoutType<K, F>>, byteOffset?: number): void;
  /** A new `Uint8Array` of `.size` bytes aligned to `.align`, filled from `value` (else zero). */
  alloc(value?: LayoutInput<RecordLayoutType<K, F>>): Uint8Array;
  /**
   * A live object over the memory at `viewOrPtr + byteOffset` (keep the view or C memory
   * alive while it is used).
   */
  view(viewOrPtr: Address | MemoryView, byteOffset?: number | bigint): LayoutView<RecordLayoutType<K, F>>;
  readonly [madeOf]: F;
}

/** A struct layout type, made by `struct(fields, options?)`. */
export type StructType<F extends LayoutFields = LayoutFields> = RecordLayoutType<"struct", F>;

/** A union layout type, made by `union(fields, options?)`: every field at offset 0. */
export type UnionType<F extends LayoutFields = LayoutFields> = RecordLayoutType<"union", F>;

/**
 * A fixed-length C array type, made by `array(type, length)`: a field or element type,
 * never passed by value itself (wrap it in a struct, or pass a `ptr`).
 */
export interface ArrayType<T extends FieldType = FieldType, N extends number = number> {
  readonly kind: "array";
  /** `length` × the element's size. */
  readonly size: number;
  /** The element's alignment. */
  readonly align: number;
  /** The number of elements. */
  readonly length: N;
  /** The element type: a scalar as its `FFIType` number, a layout type as itself. */
  readonly type: MemberType<T>;
  /** The byte offset of element `index` (0 … length − 1, else a TypeError). */
  offsetOf(index: number): number;
  /** Reads the array at `ptr + byteOffset`: an address (the rules of `read.*`) or a view. */
  read(ptr: Address | MemoryView, byteOffset?: number | bigint): LayoutValue<ArrayType<T, N>>;
  /**
   * Writes `value`'s elements at `target + byteOffset` (the rest zero): an address, or a
   * view (a RangeError when the view is too small).
   */
  write(target: Address | MemoryView, value: LayoutInput<ArrayType<T, N>>, byteOffset?: number): void;
  /** A new `Uint8Array` of `.size` bytes aligned to `.align`, filled from `value` (else zero). */
  alloc(value?: LayoutInput<ArrayType<T, N>>): Uint8Array;
  readonly [madeOf]: T;
}

/**
 * A C struct type (SPEC §17.1): usable in `args`/`returns` (by value), in `JSCallback`
 * definitions, and as a field or element type. Values are typed from `fields`.
 * @example
 * const Point = struct({ x: "f64", y: "f64" });
 * const { symbols } = dlopen(lib, { norm: { args: [Point], returns: "f64" } });
 * symbols.norm({ x: 3, y: 4 }); // 5
 */
export declare function struct<const F extends LayoutFields>(
  fields: F & NonEmpty<F>, options?: LayoutOptions,
): StructType<F>;

/** A C union type (SPEC §17.1): as `struct`, every field at offset 0. */
export declare function union<const F extends LayoutFields>(
  fields: F & NonEmpty<F>, options?: LayoutOptions,
): UnionType<F>;

/**
 * A fixed-length C array type (SPEC §17.1) of `length` (a positive integer) elements:
 * a field or element type, or read and written through pointers. Not by value.
 */
export declare function array<const T extends FieldType, const N extends number>(
  type: T, length: N,
): ArrayType<T, N>;

// The default export. `import cffi from "cffi"` is the module object itself:
// index.mjs exports it as default, and for CommonJS TypeScript synthesizes it
// (esModuleInterop, on by default with module "nodenext"). lib/index.js has no
// `default` property, so none is declared here: `require("cffi").default` is
// undefined and must not type-check.
