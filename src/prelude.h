/* prelude.h: the fixed C text compiled by TinyCC before every batch of generated trampolines
 * (CFFI_PRELUDE), and the small interface between the emitter (codegen.c) and the compile
 * pipeline (call_jit.c). TinyCC runs with -nostdlib -nostdinc, so the prelude declares its own
 * integer types and the few Node-API and cffi_* functions the trampolines call; call_jit.c
 * registers each of them with tcc_add_symbol. A name used here but not registered there is a
 * clean compile error (and the batch falls back to libffi), never a crash.
 *
 * Must be kept in sync with src/cffi.h (cffi_slot_t, the tag numbers 0..2, the helper
 * prototypes) and with call_jit.c (jit_cx_t's size and the cffi_jit_* helpers; checked
 * there with static asserts). */
#ifndef CFFI_PRELUDE_H
#define CFFI_PRELUDE_H

#include "cffi.h"

#define CFFI_PRELUDE                                                                      \
  "/* cffi prelude: fixed text, see src/prelude.h */\n"                                   \
  "typedef signed char int8_t;\n"                                                         \
  "typedef unsigned char uint8_t;\n"                                                      \
  "typedef short int16_t;\n"                                                              \
  "typedef unsigned short uint16_t;\n"                                                    \
  "typedef int int32_t;\n"                                                                \
  "typedef unsigned int uint32_t;\n"                                                      \
  "typedef long int64_t;\n"                                                               \
  "typedef unsigned long uint64_t;\n"                                                     \
  "typedef unsigned long size_t;\n"                                                       \
  "typedef struct napi_env__ *napi_env;\n"                                                \
  "typedef struct napi_value__ *napi_value;\n"                                            \
  "typedef struct napi_callback_info__ *napi_callback_info;\n"                            \
  "typedef struct napi_ref__ *napi_ref;\n"                                                \
  "typedef struct cffi_env_s cffi_env_t;\n"                                               \
  "typedef union { int32_t i32; uint32_t u32; int64_t i64; uint64_t u64; double f64;\n"   \
  "  float f32; void *ptr; } cffi_slot_t;\n"                                              \
  "/* Per-call state of the object path (call_jit.c's jit_cx_t: argv, string copies). */\n" \
  "typedef struct { long state; void *priv[194]; } cffi_jit_cx_t;\n"                     \
  "/* what = slot | type << 8 | nargs << 16 */\n"                                        \
  "void *cffi_jit_ptr_arg(napi_env, napi_callback_info, cffi_jit_cx_t *, cffi_slot_t *,\n" \
  "  uint32_t);\n"                                                                       \
  "void cffi_jit_end(cffi_jit_cx_t *);\n"                                                \
  "int64_t cffi_f64_to_i64(double);\n"                                                   \
  "napi_value cffi_jit_fail(cffi_jit_cx_t *);\n"                                         \
  "napi_value cffi_cstring_value(napi_env, const char *);\n"                             \
  "napi_ref cffi_take_pending(cffi_env_t *);\n"                                               \
  "napi_value cffi_rethrow_ref(napi_env, napi_ref);\n"                           \
  "int *__errno_location(void);\n"                                                       \
  "/* The generated code below writes its tests out in full rather than through macros:\n" \
  "   TinyCC's macro expansion is a measurable part of the compile time. Reading guide:\n" \
  "   (u << 1) < 0x87c0000000000000 : the double with bits u is below 2^63 in magnitude\n" \
  "     (and not NaN/Inf), so the plain int64 conversion is exact truncation;\n"          \
  "   (u << 1) > 0xffe0000000000000 : the double with bits u is a NaN;\n"                \
  "   9007199254740991 = 2^53 - 1, the largest safe integer;\n"                           \
  "   tags: 0 raw bits / number result, 1 a double / BigInt result, 2 NULL result. */\n"  \
  "/* --- generated code --- */\n"

/* Addresses baked into a batch as constants (all from one cffi_env_t). NULL members are
 * printed as 0: that is the viewSource form, which is never compiled. */
typedef struct {
  const void *st, *slots, *tags, *depth, *last_errno, *pending;
  /* &errno of the thread that compiles, the env's JS thread: the only thread its trampolines
   * run on (napi callbacks), so the address is fixed and needs no __errno_location() call */
  const void *errno_loc;
} cffi_codegen_env_t;

/* The whole C source for n trampolines `cffi_call_<i>` calling fns[i]->addr with
 * fns[i]->sig (every signature must pass cffi_jit_supports). names[i] (may be NULL) only
 * labels the code. Returns a malloc'd string, or NULL when out of memory. */
char *cffi_codegen_batch(const cffi_codegen_env_t *e, cffi_fn_t *const *fns, size_t n,
                         const char *const *names);

/* The C source of a JSCallback's JIT trampoline `cffi_call_0` (a C function of the callback's
 * own signature): it points an array at its arguments and calls
 * dispatch(cb, &result, args), the libffi closure handler's body (callback.c), then returns
 * the result the way libffi does. Compiled per callback instance (cb is a constant). Needs no
 * prelude; returns a malloc'd string or NULL. */
char *cffi_codegen_cb_trampoline(const cffi_sig_t *sig, const void *cb, const void *dispatch);
/* Compiles that source in its own TinyCC state (call_jit.c). On success sets *entry and
 * *code (one reference, released with cffi_code_release) and returns 0; -1 on failure. */
int cffi_jit_callback(cffi_env_t *st, const cffi_sig_t *sig, const void *cb,
                      const void *dispatch, void **entry, cffi_code_t **code);

#endif
