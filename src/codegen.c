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
#include "sbuf.h"

/* ---- which signatures the JIT takes ------------------------------------------------------ */

/* How the JIT passes a by-value layout (x86-64 only; elsewhere libffi does): in registers as
 * its eightbytes, each a uint64_t or a double read from the frame (the same registers the
 * struct itself takes, when all of them are free: then nothing of it goes on the stack), or,
 * when it is passed in memory and at most 8-aligned, as a struct of its bytes, which TinyCC
 * copies onto the stack as gcc does. A result comes back as a struct of one uint64_t or
 * double per eightbyte, or of its bytes (memory). This TinyCC returns structs that mix
 * integer and floating-point eightbytes wrongly (DESIGN.md), and the JIT leaves those, packed
 * structs with misaligned fields and over-aligned memory values to libffi. */
enum { LJ_NO, LJ_REGS, LJ_MEMORY };

static int layout_jit(const cffi_layout_t *L, bool is_ret, int *gpr, int *sse) {
#if defined(__x86_64__)
  const uint8_t *cls = L->cls;
  if (cls[0] == CFFI_CLS_MEMORY) return cffi_layout_tcc_agrees(L) ? LJ_MEMORY : LJ_NO;
  if (is_ret) return cffi_layout_tcc_agrees(L) ? LJ_REGS : LJ_NO;
  /* arguments in registers are passed as their eightbytes: any class mix */
  int ni = (cls[0] == CFFI_CLS_INT) + (cls[1] == CFFI_CLS_INT);
  int ns = (cls[0] == CFFI_CLS_SSE) + (cls[1] == CFFI_CLS_SSE);
  if (*gpr + ni > 6 || *sse + ns > 8) return LJ_NO;
  *gpr += ni;
  *sse += ns;
  return LJ_REGS;
#else
  return LJ_NO;
#endif
}

/* Can the JIT pass sig's layouts (see layout_jit)? Simulates the argument registers. */
static bool layouts_jit_ok(const cffi_sig_t *sig) {
  int gpr = 0, sse = 0;
  if (sig->ret == CFFI_T_LAYOUT) {
    int how = layout_jit(sig->x->layout[0], true, &gpr, &sse);
    if (how == LJ_NO) return false;
    if (how == LJ_MEMORY) gpr = 1; /* the hidden result pointer */
  }
  for (int k = 0; k < sig->nargs; k++) {
    uint8_t t = sig->args[k];
    if (t == CFFI_T_LAYOUT) {
      if (layout_jit(sig->x->layout[1 + k], false, &gpr, &sse) == LJ_NO) return false;
    } else if (cffi_types[t].kind == CFFI_K_F64 || cffi_types[t].kind == CFFI_K_F32) {
      sse++;
    } else {
      gpr++;
    }
  }
  return true;
}

bool cffi_jit_supports(const cffi_sig_t *sig) {
  if (sig->nargs > CFFI_MAX_ARGS || sig->ret >= CFFI_T_COUNT) return false;
  if (sig->x && !layouts_jit_ok(sig)) return false;
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

/* The C type standing for one register-class eightbyte of a layout. */
static const char *eightbyte_type(uint8_t cls) { return cls == CFFI_CLS_SSE ? "double" : "uint64_t"; }

/* The struct types the target's prototype uses for a by-value layout, `struct cffi_l<idx>_<pos>`
 * (pos 0: the result, 1 + k: argument k), declared before trampoline idx: a result's (one
 * member per eightbyte, or its bytes when in memory) and each memory-class argument's (its
 * bytes). Register-class arguments are passed as their eightbytes (emit_layout_arg). */
static void emit_layout_types(sbuf_t *b, const cffi_sig_t *sig, size_t idx) {
  if (!sig->x) return;
  for (int pos = 0; pos <= sig->nargs; pos++) {
    const cffi_layout_t *L = sig->x->layout[pos];
    if (!L || (pos > 0 && L->cls[0] != CFFI_CLS_MEMORY)) continue;
    sb_printf(b, "struct cffi_l%zu_%d { ", idx, pos);
    if (L->cls[0] == CFFI_CLS_MEMORY) sb_printf(b, "uint8_t b[%u]; ", (unsigned)L->size);
    else
      for (int e = 0; e < 2 && L->cls[e] != CFFI_CLS_NONE; e++) sb_printf(b, "%s e%d; ", eightbyte_type(L->cls[e]), e);
    sb_puts(b, "};\n");
  }
}

/* Argument k, a layout: its parameter type(s) in the target's prototype (`decl`), or its
 * value(s) read from the call's frame F (see cffi.h). */
static void emit_layout_arg(sbuf_t *b, const cffi_sig_t *sig, size_t idx, int k, bool decl) {
  const cffi_layout_t *L = sig->x->layout[1 + k];
  uint32_t off = sig->x->off[1 + k];
  if (L->cls[0] == CFFI_CLS_MEMORY) {
    if (decl) sb_printf(b, "struct cffi_l%zu_%d", idx, 1 + k);
    else sb_printf(b, "*(struct cffi_l%zu_%d *)(F + %u)", idx, 1 + k, (unsigned)off);
    return;
  }
  for (int e = 0; e < 2 && L->cls[e] != CFFI_CLS_NONE; e++) {
    if (decl) sb_printf(b, "%s%s", e ? ", " : "", eightbyte_type(L->cls[e]));
    else sb_printf(b, "%s*(%s *)(F + %u)", e ? ", " : "", eightbyte_type(L->cls[e]), (unsigned)(off + 8 * e));
  }
}

/* The expression for argument k as passed to the target. Scalars are read from the buffer
 * while the call's arguments are evaluated, i.e. before the call; addresses were loaded into
 * locals p<k> first (they may need cffi_load_arg). */
static void emit_arg_expr(sbuf_t *b, const cffi_sig_t *sig, int k) {
  uint8_t t = sig->args[k];
  int s = 1 + k;
  switch (cffi_types[t].kind) {
    case CFFI_K_INT32:
      if (t == CFFI_T_BOOL)
        sb_printf(b, "S[%d].i32 != 0", s);
      else if (t == CFFI_T_I32)
        sb_printf(b, "S[%d].i32", s);
      else if (k >= sig->nfixed) /* promoted to int explicitly (arm64 TinyCC does not) */
        sb_printf(b, "(%s)(%s)S[%d].i32", t == CFFI_T_U32 ? "uint32_t" : "int32_t", cffi_types[t].c_name, s);
      else
        sb_printf(b, "(%s)S[%d].i32", cffi_types[t].c_name, s);
      return;
    case CFFI_K_F64: sb_printf(b, "S[%d].f64", s); return;
    case CFFI_K_F32: sb_printf(b, "(float)S[%d].f64", s); return;
    case CFFI_K_I64:
    case CFFI_K_U64:
      /* raw bits (a BigInt), or a number truncated toward zero and wrapped mod 2^64 */
      sb_printf(b,
                "T[%d] != 1 ? S[%d].i64 : (S[%d].u64 << 1) < 0x87c0000000000000UL ?\n"
                "      (int64_t)S[%d].f64 : cffi_f64_to_i64(S[%d].f64)",
                s, s, s, s, s);
      return;
    case CFFI_K_PTR: sb_printf(b, "p%d", k); return;
    default: return;
  }
}

/* Calls the target (expression `call`) and stores the result into slot 0 / tag 0 exactly
 * like convert.c's cffi_store_value; errno and depth are updated right after the call. A
 * cstring result is left in local r. */
static void emit_call_and_store(sbuf_t *b, uint8_t t, const char *call) {
  static const char after[] = "  *cffi_errno = *cffi_errno_loc;\n  --*cffi_depth;\n";
  switch (t) {
    case CFFI_T_VOID: /* slot 0 holds zero bits, like the libffi path */
      sb_printf(b, "  %s;\n  S[0].u64 = 0;\n%s", call, after);
      return;
    case CFFI_T_BOOL: /* read as uint8_t: a non-canonical bool in AL agrees with libffi */
      sb_printf(b, "  S[0].i32 = %s != 0;\n%s", call, after);
      return;
    case CFFI_T_F64:
    case CFFI_T_F32: /* any NaN becomes the canonical one */
      sb_printf(b,
                "  S[0].f64 = %s;\n%s"
                "  if ((S[0].u64 << 1) > 0xffe0000000000000UL) S[0].u64 = 0x7ff8000000000000UL;\n",
                call, after);
      return;
    case CFFI_T_I64:
    case CFFI_T_U64:
      sb_printf(b, "  S[0].i64 = %s;\n%s", call, after);
      return;
    case CFFI_T_I64_FAST:
      sb_printf(b,
                "  int64_t r = %s;\n%s"
                "  if (r >= -9007199254740991L && r <= 9007199254740991L) {\n"
                "    S[0].f64 = (double)r;\n    T[0] = 0;\n"
                "  } else {\n    S[0].i64 = r;\n    T[0] = 1;\n  }\n",
                call, after);
      return;
    case CFFI_T_U64_FAST:
    case CFFI_T_PTR:
    case CFFI_T_FUNCTION:
      sb_printf(b, "  uint64_t r = (uint64_t)%s;\n%s", call, after);
      if (t != CFFI_T_U64_FAST) sb_puts(b, "  if (!r) {\n    S[0].u64 = 0;\n    T[0] = 2;\n  } else");
      else sb_puts(b, " ");
      sb_puts(b,
              " if (r <= 9007199254740991UL) {\n"
              "    S[0].f64 = (double)(int64_t)r;\n    T[0] = 0;\n"
              "  } else {\n    S[0].u64 = r;\n    T[0] = 1;\n  }\n");
      return;
    case CFFI_T_CSTRING:
      sb_printf(b, "  char *r = %s;\n%s", call, after);
      return;
    default: /* the other INT32 kinds: extended from the declared width */
      sb_printf(b, "  S[0].i32 = %s;\n%s", call, after);
      return;
  }
}

/* The env's addresses as file-scope constants (one load each; no per-function setup). */
static void emit_env_constants(sbuf_t *b, const cffi_codegen_env_t *e) {
  sb_printf(b,
            "static cffi_env_t *const cffi_st = (cffi_env_t *)%#lxUL;\n"
            "static cffi_slot_t *const S = (cffi_slot_t *)%#lxUL; /* the shared buffer */\n"
            "static uint8_t *const T = (uint8_t *)%#lxUL; /* its tags */\n"
            "static int *const cffi_depth = (int *)%#lxUL;\n"
            "static int *const cffi_errno = (int *)%#lxUL;\n"
            "static napi_ref *const cffi_pending = (napi_ref *)%#lxUL;\n"
            "static int *const cffi_errno_loc = (int *)%#lxUL; /* errno of the env's JS thread */\n",
            (unsigned long)e->st, (unsigned long)e->slots, (unsigned long)e->tags,
            (unsigned long)e->depth, (unsigned long)e->last_errno, (unsigned long)e->pending,
            (unsigned long)e->errno_loc);
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

  emit_layout_types(b, sig, idx);
  sb_printf(b, "napi_value cffi_call_%zu(napi_env env, napi_callback_info info) {\n", idx);
  if (sig->x) /* the frame of this call's layouts: at the layout area's top */
    sb_printf(b, "  uint8_t *F = (uint8_t *)S + *(int32_t *)((uint8_t *)S + %d);\n", CFFI_AREA_TOP_OFFSET);
  if (objects) {
    /* Addresses first: raw bits, a number below 2^63, else (a JS object or string, or a
     * larger number) cffi_load_arg through cffi_jit_ptr_arg. */
    sb_puts(b, "  cffi_jit_cx_t cx;\n");
    for (int k = 0; k < n; k++)
      if (cffi_types[sig->args[k]].kind == CFFI_K_PTR) sb_printf(b, "  void *p%d;\n", k);
    sb_puts(b, "  cx.state = 0;\n");
    for (int k = 0; k < n; k++) {
      if (cffi_types[sig->args[k]].kind != CFFI_K_PTR) continue;
      int s = 1 + k;
      sb_printf(b,
                "  if (!T[%d]) p%d = S[%d].ptr;\n"
                "  else if (T[%d] == 1 && (S[%d].u64 << 1) < 0x87c0000000000000UL)"
                " p%d = (void *)(int64_t)S[%d].f64;\n"
                "  else p%d = cffi_jit_ptr_arg(env, info, &cx, S, %#x);\n",
                s, k, s, s, s, k, s, k, s | sig->args[k] << 8 | n << 16);
    }
    sb_puts(b, "  if (cx.state & 4) return cffi_jit_fail(&cx);\n");
  }

  /* the call expression: a cast of the target's address, arguments read in place */
  sbuf_t call = {0};
  if (rt == CFFI_T_LAYOUT) sb_printf(&call, "((struct cffi_l%zu_0 (*)(", idx);
  else sb_printf(&call, "((%s (*)(", c_type(rt, true));
  /* a variadic target's prototype ends in "...": C promotes the arguments after it */
  int nproto = sig->variadic ? sig->nfixed : n;
  for (int k = 0; k < nproto; k++) {
    if (k) sb_puts(&call, ", ");
    if (sig->args[k] == CFFI_T_LAYOUT) emit_layout_arg(&call, sig, idx, k, true);
    else sb_puts(&call, c_type(sig->args[k], false));
  }
  if (sig->variadic) sb_puts(&call, ", ...");
  sb_printf(&call, "%s))%#lxUL)(", n ? "" : "void", (unsigned long)addr);
  for (int k = 0; k < n; k++) {
    if (k) sb_puts(&call, ",\n      ");
    if (sig->args[k] == CFFI_T_LAYOUT) emit_layout_arg(&call, sig, idx, k, false);
    else emit_arg_expr(&call, sig, k);
  }
  sb_puts(&call, ")");
  if (call.error) {
    b->error = true;
    free(call.p);
    return;
  }

  sb_puts(b, "  ++*cffi_depth;\n");
  if (rt == CFFI_T_LAYOUT) { /* into the frame's start, where the JS wrapper decodes it */
    sb_printf(b, "  *(struct cffi_l%zu_0 *)F = %s;\n  *cffi_errno = *cffi_errno_loc;\n  --*cffi_depth;\n", idx, call.p);
  } else {
    emit_call_and_store(b, rt, call.p);
  }
  free(call.p);
  if (objects && rt == CFFI_T_CSTRING) {
    /* the result may point into a temporary string copy: read it before freeing those */
    sb_puts(b,
            "  napi_ref cffi_mine;\n"
            "  if (*cffi_pending && (cffi_mine = cffi_take_pending(cffi_st))) {\n"
            "    if (cx.state) cffi_jit_end(&cx);\n"
            "    return cffi_rethrow_ref(env, cffi_mine);\n  }\n"
            "  napi_value v = cffi_cstring_value(env, r);\n"
            "  if (cx.state) cffi_jit_end(&cx);\n  return v;\n}\n");
    return;
  }
  if (objects) sb_puts(b, "  if (cx.state) cffi_jit_end(&cx);\n");
  sb_puts(b, "  napi_ref cffi_mine;\n"
             "  if (*cffi_pending && (cffi_mine = cffi_take_pending(cffi_st)))\n"
             "    return cffi_rethrow_ref(env, cffi_mine);\n");
  sb_puts(b, rt == CFFI_T_CSTRING ? "  return cffi_cstring_value(env, r);\n" : "  return 0;\n");
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

/* A callback trampoline's own types: no prelude, so that the compile is as small as TinyCC
 * allows (its fixed cost dominates anyway). The result union is laid out like the 8 bytes
 * libffi hands a closure for its result. */
static const char cb_prelude[] =
    "typedef signed char int8_t;\n"
    "typedef unsigned char uint8_t;\n"
    "typedef short int16_t;\n"
    "typedef unsigned short uint16_t;\n"
    "typedef int int32_t;\n"
    "typedef unsigned int uint32_t;\n"
    "typedef long int64_t;\n"
    "typedef unsigned long uint64_t;\n"
    "typedef union { int64_t i; uint64_t u; double d; float f; void *p; } cffi_ret_t;\n";

/* The trampoline's C return type and value. Integer results come back as all 64 bits of
 * what the dispatcher stored, exactly what libffi's closure leaves in the register (ffi_sarg
 * or ffi_arg, then copied whole); the caller reads only the declared width. */
static void cb_ret_parts(uint8_t t, const char **type, const char **expr) {
  switch (t) {
    case CFFI_T_VOID: *type = "void"; *expr = NULL; return;
    case CFFI_T_F32: *type = "float"; *expr = "r.f"; return;
    case CFFI_T_F64: *type = "double"; *expr = "r.d"; return;
    default: *type = "uint64_t"; *expr = "r.u"; return; /* every integer and address */
  }
}

char *cffi_codegen_cb_trampoline(const cffi_sig_t *sig, const void *cb, const void *dispatch) {
  if (sig->x || !cffi_jit_supports(sig)) return NULL; /* layouts: callbacks stay on libffi */
  sbuf_t b = {0};
  const char *rtype, *rexpr;
  cb_ret_parts(sig->ret, &rtype, &rexpr);
  int n = sig->nargs;
  sb_puts(&b, "#line 1 \"cffi:callback:");
  emit_sig_text(&b, sig);
  sb_puts(&b, "\"\n");
  sb_puts(&b, cb_prelude);
  /* parameters as the C caller passes them; bool as uint8_t (only its low byte is defined) */
  sb_printf(&b, "%s cffi_call_0(", rtype);
  for (int k = 0; k < n; k++) {
    uint8_t t = sig->args[k];
    sb_printf(&b, "%s%s a%d", k ? ", " : "", t == CFFI_T_BOOL ? "uint8_t" : cffi_types[t].c_name, k);
  }
  sb_printf(&b, "%s) {\n  void *args[%d];\n  cffi_ret_t r;\n", n ? "" : "void", n ? n : 1);
  for (int k = 0; k < n; k++) sb_printf(&b, "  args[%d] = &a%d;\n", k, k);
  sb_printf(&b, "  r.u = 0;\n  ((void (*)(void *, void *, void **))%#lxUL)((void *)%#lxUL, &r, args);\n",
            (unsigned long)dispatch, (unsigned long)cb);
  if (rexpr) sb_printf(&b, "  return %s;\n", rexpr);
  sb_puts(&b, "}\n");
  return sb_finish(&b);
}

/* JS callbacks start on libffi closures; hot ones get the trampoline above, compiled per
 * instance with its addresses. viewSource shows it with the addresses left as 0. */
char *cffi_codegen_callback_source(const cffi_sig_t *sig) { return cffi_codegen_cb_trampoline(sig, NULL, NULL); }
