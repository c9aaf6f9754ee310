/* codegen.c: writes the C source of the JIT trampolines (compiled by call_jit.c, shown by
 * viewSource). One emitter per shape, writing into a sticky-error growable buffer; type
 * facts come from cffi_types[] (types.inc). The behaviour must match the libffi path
 * (call_ffi.c + convert.c) bit for bit: the trampolines inline the common conversions and
 * call the convert.c helpers for the rest.
 *
 * A trampoline is a napi_callback. With only scalar arguments it makes no Node-API call: it
 * copies every argument out of the shared buffer into locals (a callback may re-enter and
 * reuse the buffer), calls the target, stores errno and the result in slot 0, and returns
 * NULL (undefined) for JS to read the slot. Pointer-like arguments passed as JS objects or
 * strings (tags VIEW..STRING) take the slow path: one napi_get_cb_info, then cffi_load_arg. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prelude.h"

/* ---- sticky-error string buffer -------------------------------------------------------- */

typedef struct {
  char *p;
  size_t len, cap;
  bool error; /* an allocation failed: further appends are ignored, check once at the end */
} sbuf_t;

static void sb_reserve(sbuf_t *b, size_t extra) {
  if (b->error || b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->error = true;
    return;
  }
  b->p = p;
  b->cap = cap;
}

static void sb_puts(sbuf_t *b, const char *s) {
  size_t n = strlen(s);
  sb_reserve(b, n);
  if (b->error) return;
  memcpy(b->p + b->len, s, n + 1);
  b->len += n;
}

static void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->error = true;
    return;
  }
  sb_reserve(b, (size_t)n);
  if (b->error) return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* Returns the string (caller frees) or NULL after any allocation failure. */
static char *sb_finish(sbuf_t *b) {
  if (b->error || !b->p) {
    free(b->p);
    return NULL;
  }
  return b->p;
}

/* ---- which signatures the JIT takes ------------------------------------------------------ */

bool cffi_jit_supports(const cffi_sig_t *sig) {
  if (sig->nargs > CFFI_MAX_ARGS || sig->ret >= CFFI_T_COUNT) return false;
  uint8_t rk = cffi_types[sig->ret].kind;
  if (rk == CFFI_K_NAPI || sig->ret == CFFI_T_BUFFER || sig->ret == CFFI_T_BUFFER_LENGTH) return false;
  for (int i = 0; i < sig->nargs; i++) {
    if (sig->args[i] >= CFFI_T_COUNT) return false;
    uint8_t k = cffi_types[sig->args[i]].kind;
    if (k == CFFI_K_NAPI || k == CFFI_K_VOID) return false;
  }
  return true;
}

/* ---- emitters --------------------------------------------------------------------------- */

/* A label safe inside a #line string and a comment: [A-Za-z0-9_.$] kept, others '_'. */
static void emit_label(sbuf_t *b, const char *name) {
  char buf[96];
  size_t i = 0;
  for (; name && name[i] && i < sizeof buf - 1; i++) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '$';
    buf[i] = ok ? c : '_';
  }
  buf[i] = 0;
  sb_puts(b, i ? buf : "fn");
}

/* The C spelling of a type as the target sees it. bool results are read as uint8_t and
 * tested like convert.c does ((v & 0xff) != 0), so a non-canonical bool in AL agrees too. */
static const char *c_type(uint8_t t, bool is_ret) {
  if (is_ret && t == CFFI_T_BOOL) return "uint8_t";
  return cffi_types[t].c_name;
}

/* "double(int32_t, void *)": used in #line and comments. */
static void emit_sig_text(sbuf_t *b, const cffi_sig_t *sig) {
  sb_puts(b, cffi_types[sig->ret].c_name);
  sb_puts(b, "(");
  for (int i = 0; i < sig->nargs; i++) {
    if (i) sb_puts(b, ", ");
    sb_puts(b, cffi_types[sig->args[i]].c_name);
  }
  sb_puts(b, ")");
}

static bool sig_has_object_args(const cffi_sig_t *sig) {
  for (int i = 0; i < sig->nargs; i++)
    if (cffi_types[sig->args[i]].kind == CFFI_K_PTR) return true;
  return false;
}

/* Loads argument k into local a<k>. */
static void emit_arg_load(sbuf_t *b, const cffi_sig_t *sig, int k) {
  uint8_t t = sig->args[k];
  int s = 1 + k;
  switch (cffi_types[t].kind) {
    case CFFI_K_INT32:
      if (t == CFFI_T_BOOL)
        sb_printf(b, "  a%d = S[%d].i32 != 0;\n", k, s);
      else
        sb_printf(b, "  a%d = (%s)S[%d].i32;\n", k, cffi_types[t].c_name, s);
      return;
    case CFFI_K_F64:
      sb_printf(b, "  a%d = S[%d].f64;\n", k, s);
      return;
    case CFFI_K_F32:
      sb_printf(b, "  a%d = (float)S[%d].f64;\n", k, s);
      return;
    case CFFI_K_I64:
    case CFFI_K_U64:
      /* A number (tag F64) truncates toward zero, wrapping like convert.c's cffi_f64_to_i64;
       * below 2^63 in magnitude that is the plain conversion. */
      sb_printf(b,
                "  if (T[%d] != CFFI_TAG_F64) a%d = S[%d].i64;\n"
                "  else if (CFFI_F64_SMALL(S[%d].u64)) a%d = (int64_t)S[%d].f64;\n"
                "  else a%d = cffi_f64_to_i64(S[%d].f64);\n",
                s, k, s, s, k, s, k, s);
      return;
    case CFFI_K_PTR:
      sb_printf(b,
                "  g = T[%d];\n"
                "  if (g == CFFI_TAG_RAW) a%d = S[%d].ptr;\n"
                "  else if (g == CFFI_TAG_F64) a%d = CFFI_F64_SMALL(S[%d].u64) ?\n"
                "    (void *)(int64_t)S[%d].f64 : (void *)(uint64_t)S[%d].f64;\n"
                "  else {\n"
                "    if (!have_argv) {\n"
                "      size_t argc = %d;\n"
                "      if (napi_get_cb_info(env, info, &argc, argv, 0, 0) != 0) {\n"
                "        cffi_throw_last(env);\n"
                "        goto fail;\n"
                "      }\n"
                "      have_argv = 1;\n"
                "    }\n"
                "    if (!have_tmp) {\n"
                "      tmp.used = 0;\n"
                "      tmp.nheap = 0;\n"
                "      have_tmp = 1;\n"
                "    }\n"
                "    if (cffi_load_arg(env, %d, &S[%d], g, argv[%d], &tmp, &o) != 0) goto fail;\n"
                "    a%d = o.ptr;\n"
                "  }\n",
                s, k, s, k, s, s, s, sig->nargs, t, s, k, k);
      return;
    default:
      return;
  }
}

/* Stores the result r into slot 0 / tag 0 exactly like convert.c's cffi_store_value. */
static void emit_result_store(sbuf_t *b, uint8_t t) {
  switch (t) {
    case CFFI_T_BOOL:
      sb_puts(b, "  S[0].i32 = r != 0;\n");
      return;
    case CFFI_T_F64:
    case CFFI_T_F32:
      sb_puts(b,
              "  S[0].f64 = r;\n"
              "  if (CFFI_IS_NAN(S[0].u64)) S[0].u64 = CFFI_CANONICAL_NAN;\n");
      return;
    case CFFI_T_I64:
    case CFFI_T_U64:
      sb_puts(b, "  S[0].i64 = r;\n");
      return;
    case CFFI_T_I64_FAST:
      sb_puts(b,
              "  if (r >= -CFFI_MAX_SAFE && r <= CFFI_MAX_SAFE) {\n"
              "    S[0].f64 = (double)r;\n"
              "    T[0] = CFFI_RTAG_NUMBER;\n"
              "  } else {\n"
              "    S[0].i64 = r;\n"
              "    T[0] = CFFI_RTAG_BIGINT;\n"
              "  }\n");
      return;
    case CFFI_T_U64_FAST:
    case CFFI_T_PTR:
    case CFFI_T_FUNCTION: {
      bool ptr = t != CFFI_T_U64_FAST;
      sb_printf(b, "  u = (uint64_t)r;\n");
      if (ptr)
        sb_puts(b,
                "  if (!u) {\n"
                "    S[0].u64 = 0;\n"
                "    T[0] = CFFI_RTAG_NULL;\n"
                "  } else ");
      else
        sb_puts(b, "  ");
      sb_puts(b,
              "if (u <= (uint64_t)CFFI_MAX_SAFE) {\n"
              "    S[0].f64 = (double)(int64_t)u;\n"
              "    T[0] = CFFI_RTAG_NUMBER;\n"
              "  } else {\n"
              "    S[0].u64 = u;\n"
              "    T[0] = CFFI_RTAG_BIGINT;\n"
              "  }\n");
      return;
    }
    case CFFI_T_VOID: /* like libffi's path: slot 0 holds zero bits */
      sb_puts(b, "  S[0].u64 = 0;\n");
      return;
    default: /* the other INT32 kinds: the local already has the declared width */
      sb_puts(b, "  S[0].i32 = (int32_t)r;\n");
      return;
  }
}

/* Base addresses of the env's fields, as the batch's constants. */
static void emit_env_constants(sbuf_t *b, const cffi_codegen_env_t *e) {
  sb_printf(b,
            "#define CFFI_ST ((cffi_env_t *)%#lxUL)\n"
            "#define CFFI_SLOTS ((cffi_slot_t *)%#lxUL)\n"
            "#define CFFI_TAGS ((uint8_t *)%#lxUL)\n"
            "#define CFFI_DEPTH (*(int *)%#lxUL)\n"
            "#define CFFI_ERRNO (*(int *)%#lxUL)\n"
            "#define CFFI_PENDING (*(napi_ref *)%#lxUL)\n",
            (unsigned long)e->st, (unsigned long)e->slots, (unsigned long)e->tags,
            (unsigned long)e->depth, (unsigned long)e->last_errno, (unsigned long)e->pending);
}

static void emit_trampoline(sbuf_t *b, const cffi_sig_t *sig, const void *addr, size_t idx,
                            const char *name) {
  uint8_t rt = sig->ret;
  bool objects = sig_has_object_args(sig);
  int n = sig->nargs;

  sb_puts(b, "#line 1 \"cffi:");
  emit_label(b, name);
  sb_puts(b, ":");
  emit_sig_text(b, sig);
  sb_puts(b, "\"\n");

  /* the target's type */
  sb_printf(b, "typedef %s (*cffi_target_%zu_t)(", c_type(rt, true), idx);
  for (int k = 0; k < n; k++) sb_printf(b, "%s%s", k ? ", " : "", c_type(sig->args[k], false));
  sb_printf(b, "%s);\n", n ? "" : "void");

  sb_printf(b, "napi_value cffi_call_%zu(napi_env env, napi_callback_info info) {\n", idx);
  sb_puts(b, "  cffi_slot_t *S = CFFI_SLOTS;\n  uint8_t *T = CFFI_TAGS;\n");
  for (int k = 0; k < n; k++) sb_printf(b, "  %s a%d;\n", c_type(sig->args[k], false), k);
  if (rt != CFFI_T_VOID) sb_printf(b, "  %s r;\n", c_type(rt, true));
  if (rt == CFFI_T_U64_FAST || rt == CFFI_T_PTR || rt == CFFI_T_FUNCTION) sb_puts(b, "  uint64_t u;\n");
  if (objects)
    sb_printf(b,
              "  uint8_t g;\n"
              "  int have_argv = 0, have_tmp = 0;\n"
              "  napi_value argv[%d];\n"
              "  cffi_tmp_t tmp;\n"
              "  cffi_slot_t o;\n",
              n);

  /* every argument is copied out of the buffer before the call */
  for (int k = 0; k < n; k++) emit_arg_load(b, sig, k);

  sb_puts(b, "  CFFI_DEPTH++;\n");
  sb_printf(b, "  %s((cffi_target_%zu_t)%#lxUL)(", rt == CFFI_T_VOID ? "" : "r = ", idx,
            (unsigned long)addr);
  for (int k = 0; k < n; k++) sb_printf(b, "%sa%d", k ? ", " : "", k);
  sb_puts(b, ");\n");
  sb_puts(b, "  CFFI_ERRNO = *__errno_location();\n  CFFI_DEPTH--;\n");
  if (objects) sb_puts(b, "  if (have_tmp) cffi_tmp_free(&tmp);\n");
  sb_puts(b, "  if (CFFI_PENDING) return cffi_rethrow_pending(env, CFFI_ST);\n");
  if (rt == CFFI_T_CSTRING) {
    sb_puts(b, "  return cffi_cstring_value(env, r);\n");
  } else {
    emit_result_store(b, rt);
    sb_puts(b, "  return 0;\n");
  }
  if (objects)
    sb_puts(b,
            "fail:\n"
            "  if (have_tmp) cffi_tmp_free(&tmp);\n"
            "  return 0;\n");
  sb_puts(b, "}\n");
}

char *cffi_codegen_batch(const cffi_codegen_env_t *e, cffi_fn_t *const *fns, size_t n,
                         const char *const *names) {
  sbuf_t b = {0};
  sb_puts(&b, "#line 1 \"cffi:prelude\"\n");
  sb_puts(&b, CFFI_PRELUDE);
  emit_env_constants(&b, e);
  for (size_t i = 0; i < n; i++)
    emit_trampoline(&b, &fns[i]->sig, fns[i]->addr, i, names ? names[i] : NULL);
  return sb_finish(&b);
}

char *cffi_codegen_call_source(const cffi_sig_t *sig, const char *name) {
  if (!cffi_jit_supports(sig)) return NULL;
  cffi_fn_t fn;
  memset(&fn, 0, sizeof fn);
  fn.sig = *sig;
  const cffi_fn_t *list[1] = {&fn};
  const char *names[1] = {name};
  cffi_codegen_env_t e = {0}; /* viewSource: nothing is loaded, addresses print as 0 */
  return cffi_codegen_batch(&e, (cffi_fn_t *const *)list, 1, names);
}

/* JS callbacks run on libffi closures (DESIGN.md: within ~10% of compiled C, the cost is
 * napi_call_function), so there is no generated source: lib/ prints the libffi message. */
char *cffi_codegen_callback_source(const cffi_sig_t *sig) { return NULL; }
