/* prelude.h: the fixed C text compiled by TinyCC before every batch of generated trampolines
 * (CFFI_PRELUDE), and the small interface between the emitter (codegen.c) and the compile
 * pipeline (call_jit.c). TinyCC runs with -nostdlib -nostdinc, so the prelude declares its own
 * integer types and the few Node-API and cffi_* functions the trampolines call; call_jit.c
 * registers each of them with tcc_add_symbol. A name used here but not registered there is a
 * clean compile error (and the batch falls back to libffi), never a crash.
 *
 * Must be kept in sync with src/cffi.h: cffi_slot_t, cffi_tmp_t (call_jit.c checks the
 * layout with static asserts), the tag numbers and the helper prototypes. */
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
  "typedef struct { char inline_buf[512]; size_t used; void *heap[64]; int nheap; }\n"    \
  "  cffi_tmp_t;\n"                                                                       \
  "int napi_get_cb_info(napi_env, napi_callback_info, size_t *, napi_value *,\n"          \
  "  napi_value *, void **);\n"                                                           \
  "void cffi_throw_last(napi_env);\n"                                                     \
  "int64_t cffi_f64_to_i64(double);\n"                                                    \
  "int cffi_load_arg(napi_env, uint8_t, const cffi_slot_t *, uint8_t, napi_value,\n"      \
  "  cffi_tmp_t *, cffi_slot_t *);\n"                                                     \
  "void cffi_tmp_free(cffi_tmp_t *);\n"                                                   \
  "napi_value cffi_cstring_value(napi_env, const char *);\n"                              \
  "napi_value cffi_rethrow_pending(napi_env, cffi_env_t *);\n"                            \
  "int *__errno_location(void);\n"                                                        \
  "/* argument tags (JS -> C) and result tags (C -> JS) */\n"                             \
  "#define CFFI_TAG_RAW 0\n"                                                              \
  "#define CFFI_TAG_F64 1\n"                                                              \
  "#define CFFI_RTAG_NUMBER 0\n"                                                          \
  "#define CFFI_RTAG_BIGINT 1\n"                                                          \
  "#define CFFI_RTAG_NULL 2\n"                                                            \
  "#define CFFI_MAX_SAFE 9007199254740991L /* 2^53 - 1 */\n"                              \
  "#define CFFI_CANONICAL_NAN 0x7ff8000000000000UL\n"                                     \
  "/* A double's bits say whether it is below 2^63 in magnitude (and not NaN/Inf): then\n" \
  "   the plain int64 conversion is exact truncation. Integer tests only: no NaN rules. */\n" \
  "#define CFFI_F64_SMALL(bits) ((((bits) >> 52) & 0x7ff) < 1086)\n"                      \
  "#define CFFI_IS_NAN(bits) (((bits) & 0x7fffffffffffffffUL) > 0x7ff0000000000000UL)\n"   \
  "/* --- generated code --- */\n"

/* Addresses baked into a batch as constants (all from one cffi_env_t). NULL members are
 * printed as 0: that is the viewSource form, which is never compiled. */
typedef struct {
  const void *st, *slots, *tags, *depth, *last_errno, *pending;
} cffi_codegen_env_t;

/* The whole C source for n trampolines `cffi_call_<i>` calling fns[i]->addr with
 * fns[i]->sig (every signature must pass cffi_jit_supports). names[i] (may be NULL) only
 * labels the code. Returns a malloc'd string, or NULL when out of memory. */
char *cffi_codegen_batch(const cffi_codegen_env_t *e, cffi_fn_t *const *fns, size_t n,
                         const char *const *names);

#endif
