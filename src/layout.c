/* layout.c: structs, unions and arrays by value (SPEC §17) on the native side. lib/layout.js
 * describes a layout type once, as its size, alignment and scalar leaves (offset, FFIType,
 * count; nested layouts flattened, union members overlapping); this file reads that
 * description into a cffi_layout_t and derives from it everything the call paths need:
 *  - where each by-value value of a signature sits in its call's frame of the layout area
 *    (cffi.h, "the shared-buffer calling convention"): the generated JS wrapper encodes there,
 *    the libffi and async paths and the callbacks read and write there;
 *  - the ffi_type libffi is given. On x86-64 it is not a copy of the fields: cffi classifies
 *    the layout by the SysV rules itself (what gcc does: a misaligned field or more than 16
 *    bytes → memory; per eightbyte, INTEGER wins over SSE) and gives libffi a stand-in whose
 *    eightbytes libffi classifies the same way. libffi has no union type and its own walk of
 *    packed fields disagrees with gcc; the stand-in needs neither. On arm64 (AAPCS64) the
 *    floats of a homogeneous floating-point aggregate, or bytes.
 * Signatures with layouts also own a cffi_sigx_t (cffi_sig_free releases it). */
#include <ffi.h>
#include <stdlib.h>
#include <string.h>

#include "cffi.h"


#if defined(__x86_64__)
/* A stand-in that libffi's x86-64 classifier sends to memory: larger than 32 bytes. Only its
 * size and type are read (the outer type's size is preset, so it is never laid out). */
static ffi_type memory_marker = {64, 1, FFI_TYPE_STRUCT, NULL};
#endif

static ffi_type *scalar_type(uint8_t type) {
  static ffi_type *const tab[CFFI_T_COUNT] = {
#define CFFI_TYPE(id, NAME, ctype, ffitype, size, kind) [id] = &ffitype,
#include "types.inc"
  };
  return tab[type];
}

static bool is_float(uint8_t t) { return t == CFFI_T_F32 || t == CFFI_T_F64; }

/* The x86-64 SysV classes of the (at most two) eightbytes of L, or CFFI_CLS_MEMORY in cls[0]. */
static void classify(const cffi_layout_t *L, uint8_t cls[2]) {
  cls[0] = cls[1] = CFFI_CLS_NONE;
  if (L->size > 16) {
    cls[0] = CFFI_CLS_MEMORY;
    return;
  }
  for (uint32_t i = 0; i < L->nleaves; i++) {
    const cffi_leaf_t *f = &L->leaves[i];
    uint32_t sz = cffi_types[f->type].size;
    for (uint32_t j = 0; j < f->count; j++) {
      uint32_t off = f->offset + j * sz;
      if (off % sz) { /* a misaligned field: gcc passes the whole value in memory */
        cls[0] = CFFI_CLS_MEMORY;
        return;
      }
      uint8_t c = is_float(f->type) ? CFFI_CLS_SSE : CFFI_CLS_INT;
      uint8_t *e = &cls[off / 8];
      if (c > *e) *e = c;
    }
  }
}

/* AAPCS64: the number of members (1 to 4) of L as a homogeneous floating-point aggregate, all
 * of type *type, else 0: floats only, or doubles only, covering every byte (no padding, which
 * gcc's rule implies and libffi's walk of listed fields would not see; union members
 * included). Computed on every architecture; used on arm64. */
static uint8_t hfa_of(const cffi_layout_t *L, uint8_t *type) {
  uint8_t ft = L->leaves[0].type;
  uint32_t fsize = cffi_types[ft].size;
  if (!is_float(ft) || L->size % fsize != 0 || L->size / fsize > 4) return 0;
  for (uint32_t i = 0; i < L->nleaves; i++)
    if (L->leaves[i].type != ft || L->leaves[i].offset % fsize != 0) return 0;
  for (uint32_t slot = 0; slot < L->size / fsize; slot++) { /* every float slot covered by some leaf */
    bool covered = false;
    for (uint32_t i = 0; i < L->nleaves && !covered; i++)
      covered = slot * fsize >= L->leaves[i].offset && slot * fsize < L->leaves[i].offset + L->leaves[i].count * fsize;
    if (!covered) return 0;
  }
  *type = ft;
  return (uint8_t)(L->size / fsize);
}

/* The ffi_type stand-in of L (see the top of this file), in L->ffi. */
static int build_ffi_type(cffi_layout_t *L) {
  ffi_type *t = calloc(1, sizeof(ffi_type) + (L->size + 2) * sizeof(ffi_type *));
  if (!t) return -1;
  ffi_type **el = (ffi_type **)(t + 1);
  size_t n = 0;
  t->size = L->size;
#if defined(__aarch64__)
  /* AAPCS64 places an argument by its natural alignment (gcc 9 and later), which libffi
   * reads from here: an `align` asked of the whole would move it to the next 16-byte stack
   * slot where gcc uses the next 8-byte one. A non-HFA larger than 16 bytes is passed by
   * reference, and libffi's calls place that pointer's stack slot by this alignment too: at
   * most 8 then. */
  t->alignment = (unsigned short)(!L->hfa && L->size > 16 && L->natural > 8 ? 8 : L->natural);
#else
  t->alignment = (unsigned short)L->align;
#endif
  t->type = FFI_TYPE_STRUCT;
  t->elements = el;
#if defined(__x86_64__)
  const uint8_t *cls = L->cls;
  if (cls[0] == CFFI_CLS_MEMORY) {
    el[n++] = &memory_marker;
  } else {
    /* one element per eightbyte (the last one may be partial): the same classes, and libffi
     * copies each eightbyte's bytes as they are */
    for (uint32_t e = 0; e < 2 && 8 * e < L->size; e++) {
      uint32_t bytes = L->size - 8 * e < 8 ? L->size - 8 * e : 8;
      if (cls[e] == CFFI_CLS_NONE) break; /* only padding (an over-aligned tail): nothing passed */
      if (cls[e] == CFFI_CLS_SSE) {
        el[n++] = bytes == 8 ? &ffi_type_double : &ffi_type_float;
      } else if (bytes == 8) {
        el[n++] = &ffi_type_uint64;
      } else if (bytes == 4) {
        el[n++] = &ffi_type_uint32;
      } else if (bytes == 2) {
        el[n++] = &ffi_type_uint16;
      } else {
        for (uint32_t k = 0; k < bytes; k++) el[n++] = &ffi_type_uint8;
      }
    }
  }
#else
  /* AAPCS64: a homogeneous floating-point aggregate (hfa_of) goes in FP registers; any other
   * aggregate of up to 16 bytes in integer registers, a larger one by reference. libffi is
   * given the floats for an HFA, else bytes, which it treats like any other non-HFA. */
  if (L->hfa) {
    for (uint32_t k = 0; k < L->hfa; k++) el[n++] = scalar_type(L->hfa_type);
  } else {
    for (uint32_t k = 0; k < L->size; k++) el[n++] = &ffi_type_uint8;
  }
#endif
  el[n] = NULL;
  L->ffi = t;
  return 0;
}

bool cffi_sysv_in_regs(const cffi_layout_t *L, int *gp, int *fp) {
  const uint8_t *cls = L->cls;
  int ni = (cls[0] == CFFI_CLS_INT) + (cls[1] == CFFI_CLS_INT);
  int ns = (cls[0] == CFFI_CLS_SSE) + (cls[1] == CFFI_CLS_SSE);
  if (cls[0] == CFFI_CLS_MEMORY || *gp + ni > 6 || *fp + ns > 8) return false;
  *gp += ni;
  *fp += ns;
  return true;
}

#if defined(__x86_64__)
/* One eightbyte of each class, for cffi_closure_arg_types. */
static ffi_type *half_int_el[] = {&ffi_type_uint64, NULL};
static ffi_type *half_sse_el[] = {&ffi_type_double, NULL};
static ffi_type half_int = {8, 8, FFI_TYPE_STRUCT, half_int_el};
static ffi_type half_sse = {8, 8, FFI_TYPE_STRUCT, half_sse_el};
#endif

void cffi_closure_arg_types(const cffi_sig_t *sig, void **atypes) {
  for (int i = 0; i < sig->nargs; i++) atypes[i] = cffi_sig_ffi_type(sig, 1 + i);
#if defined(__x86_64__)
  if (!sig->x) return;
  const cffi_layout_t *R = sig->ret == CFFI_T_LAYOUT ? sig->x->layout[0] : NULL;
  int gp = R && R->cls[0] == CFFI_CLS_MEMORY, fp = 0; /* rdi: where a MEMORY-class result goes */
  for (int i = 0; i < sig->nargs; i++) {
    uint8_t t = sig->args[i];
    if (t == CFFI_T_LAYOUT) {
      const cffi_layout_t *L = sig->x->layout[1 + i];
      if (cffi_sysv_in_regs(L, &gp, &fp) && L->size > 8 && L->cls[1] == CFFI_CLS_NONE)
        atypes[i] = L->cls[0] == CFFI_CLS_SSE ? &half_sse : &half_int;
    } else if (t == CFFI_T_F32 || t == CFFI_T_F64) {
      fp += fp < 8;
    } else {
      gp += gp < 6;
    }
  }
#endif
}

void *cffi_sig_ffi_type(const cffi_sig_t *sig, int pos) {
  uint8_t t = pos == 0 ? sig->ret : sig->args[pos - 1];
  if (t == CFFI_T_LAYOUT) return sig->x->layout[pos]->ffi;
  /* after "...", C's default argument promotions: small integers pass as int */
  if (pos > sig->nfixed && cffi_types[t].kind == CFFI_K_INT32) return t == CFFI_T_U32 ? &ffi_type_uint32 : &ffi_type_sint32;
  return scalar_type(t);
}

static void layout_free(cffi_layout_t *L) {
  if (!L) return;
  free(L->ffi);
  free(L);
}

/* Reads lib/layout.js's description (an Int32Array [size, align, kind, n, (offset, type,
 * count) × n, natural alignment]); NULL with a TypeError pending when it is malformed. */
static cffi_layout_t *layout_from_js(napi_env env, napi_value desc) {
  napi_typedarray_type tt;
  size_t len = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, desc, &tt, &len, &data, NULL, NULL) != napi_ok || tt != napi_int32_array || len < 8) {
    cffi_throw_type(env, "ERR_INVALID_ARG_VALUE", "invalid ABI type");
    return NULL;
  }
  const int32_t *d = data;
  int32_t size = d[0], align = d[1], kind = d[2], n = d[3], natural = d[len - 1];
  if (size <= 0 || size > CFFI_LAYOUT_MAX || align <= 0 || (align & (align - 1)) || n <= 0 || (size_t)n * 3 + 5 != len ||
      kind < 0 || kind > 1 || natural <= 0 || natural > align || (natural & (natural - 1))) {
    cffi_throw_type(env, "ERR_INVALID_ARG_VALUE", "invalid ABI type");
    return NULL;
  }
  cffi_layout_t *L = calloc(1, sizeof(*L) + n * sizeof(cffi_leaf_t));
  if (!L) {
    cffi_throw_error(env, "ERR_CFFI_OUT_OF_MEMORY", "cffi: out of memory");
    return NULL;
  }
  L->size = (uint32_t)size;
  L->align = (uint32_t)align;
  L->natural = (uint32_t)natural;
  L->kind = (uint8_t)kind;
  L->nleaves = (uint32_t)n;
  for (int32_t i = 0; i < n; i++) {
    int32_t off = d[4 + 3 * i], type = d[5 + 3 * i], count = d[6 + 3 * i];
    bool ok = type >= 0 && type < CFFI_T_COUNT && count > 0 && off >= 0;
    if (ok) {
      uint8_t k = cffi_types[type].kind;
      ok = k != CFFI_K_VOID && k != CFFI_K_NAPI && type != CFFI_T_CSTRING && type != CFFI_T_BUFFER &&
           type != CFFI_T_BUFFER_LENGTH && (int64_t)off + (int64_t)count * cffi_types[type].size <= size;
    }
    if (!ok) {
      free(L);
      cffi_throw_type(env, "ERR_INVALID_ARG_VALUE", "invalid ABI type");
      return NULL;
    }
    L->leaves[i] = (cffi_leaf_t){(uint32_t)off, (uint32_t)count, (uint8_t)type};
  }
  classify(L, L->cls);
  L->hfa = hfa_of(L, &L->hfa_type);
  if (build_ffi_type(L) != 0) {
    free(L);
    cffi_throw_error(env, "ERR_CFFI_OUT_OF_MEMORY", "cffi: out of memory");
    return NULL;
  }
  return L;
}

static uint32_t round8(uint32_t n) { return (n + 7) & ~7u; }

/* The layout at position i of a signature being read (0: the return value, 1 + k: argument
 * k): records it and its place in the call's frame. */
static int sig_add_layout(napi_env env, cffi_sig_t *sig, int i, napi_value desc) {
  if (!sig->x) {
    sig->x = calloc(1, sizeof(cffi_sigx_t));
    if (!sig->x) {
      cffi_throw_error(env, "ERR_CFFI_OUT_OF_MEMORY", "cffi: out of memory");
      return -1;
    }
  }
  napi_value d; /* the layout's info object (lib/layout.js layoutInfo): its `desc` */
  if (napi_get_named_property(env, desc, "desc", &d) != napi_ok) {
    cffi_throw_last(env);
    return -1;
  }
  cffi_layout_t *L = layout_from_js(env, d);
  if (!L) return -1;
  sig->x->layout[i] = L;
  return 0;
}

/* Frame offsets: the return value first (with room for what libffi may store of registers
 * beyond a small struct's size), then each argument, 8-byte aligned. */
static int sig_frame(napi_env env, cffi_sig_t *sig) {
  cffi_sigx_t *x = sig->x;
  uint32_t off = 0;
  for (int i = 0; i <= sig->nargs; i++) {
    const cffi_layout_t *L = x->layout[i];
    if (!L) continue;
    x->off[i] = off;
    off += round8(L->size) + (i == 0 ? 32 : 0);
  }
  if (off > CFFI_LAYOUT_MAX) {
    cffi_throw_type(env, "ERR_INVALID_ARG_VALUE", "Structs passed by value take more than 16384 bytes in one call");
    return -1;
  }
  x->frame = off;
  return 0;
}

/* A type of a signature lib/types.js read: a number is asked for first, as most are, and
 * anything else is a layout's info object (no napi_typeof: a Node-API call fewer per type, and
 * a dlopen binds no napi_get_value_uint32). Returns 1 for a number (*t: 0 ... COUNT - 1 but
 * LAYOUT, or VARIADIC), 0 for an object, -1 with an exception pending. */
static int sig_type(napi_env env, napi_value v, uint32_t *t) {
  double d;
  napi_status s = napi_get_value_double(env, v, &d);
  if (s == napi_number_expected) return 0;
  if (s != napi_ok) {
    cffi_throw_last(env);
    return -1;
  }
  if (!cffi_is_index(d, 256)) d = CFFI_T_LAYOUT; /* invalid below */
  *t = (uint32_t)d;
  return 1;
}

int cffi_sig_from_js(napi_env env, napi_value ret, napi_value args, cffi_sig_t *out) {
  uint32_t n, r;
  memset(out, 0, sizeof(*out));
  CFFI_CALL_INT(env, napi_get_array_length(env, args, &n));
  int kind = sig_type(env, ret, &r);
  if (kind < 0) return -1;
  if (kind == 0) {
    out->ret = CFFI_T_LAYOUT;
    if (sig_add_layout(env, out, 0, ret) != 0) goto fail;
  } else {
    if (r >= CFFI_T_COUNT || r == CFFI_T_LAYOUT) {
      cffi_throw_type(env, "ERR_INVALID_ARG_VALUE", "invalid ABI type");
      return -1;
    }
    out->ret = (uint8_t)r;
  }
  int k = 0, nfixed = -1;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    uint32_t t;
    if (napi_get_element(env, args, i, &e) != napi_ok) {
      cffi_throw_last(env);
      goto fail;
    }
    if (k >= CFFI_MAX_ARGS) {
      cffi_throw_type(env, "ERR_INVALID_ARG_VALUE", "Too many arguments (at most 64)");
      goto fail;
    }
    kind = sig_type(env, e, &t);
    if (kind < 0) goto fail;
    if (kind == 0) {
      out->args[k] = CFFI_T_LAYOUT;
      if (sig_add_layout(env, out, 1 + k++, e) != 0) goto fail;
      continue;
    }
    if (t == CFFI_T_VARIADIC && nfixed < 0) {
      nfixed = k;
      continue;
    }
    if (t >= CFFI_T_COUNT || t == CFFI_T_LAYOUT) {
      cffi_throw_type(env, "ERR_INVALID_ARG_VALUE", "invalid ABI type");
      goto fail;
    }
    out->args[k] = (uint8_t)t;
    if (cffi_types[t].kind == CFFI_K_PTR || t == CFFI_T_NAPI_VALUE) out->has_objects = true;
    k++;
  }
  out->nargs = (uint8_t)k;
  out->nfixed = (uint8_t)(nfixed < 0 ? k : nfixed);
  out->variadic = nfixed >= 0;
  if (out->x && sig_frame(env, out) != 0) goto fail;
  return 0;
fail:
  cffi_sig_free(out);
  return -1;
}

void cffi_sig_free(cffi_sig_t *sig) {
  if (!sig->x) return;
  for (int i = 0; i <= CFFI_MAX_ARGS; i++) layout_free(sig->x->layout[i]);
  free(sig->x);
  sig->x = NULL;
}

uint8_t *cffi_area_base(const cffi_env_t *st) {
  int32_t top;
  memcpy(&top, (const uint8_t *)st->slots + CFFI_AREA_TOP_OFFSET, sizeof top);
  if (top < CFFI_AREA_OFFSET || top > CFFI_BUF_SIZE) top = CFFI_AREA_OFFSET; /* never trusted blindly */
  return (uint8_t *)st->slots + top;
}

bool cffi_area_fits(const cffi_env_t *st, const cffi_sig_t *sig) {
  return !sig->x || cffi_area_base(st) + sig->x->frame <= (uint8_t *)st->slots + CFFI_BUF_SIZE;
}

bool cffi_layout_tcc_agrees(const cffi_layout_t *L) {
#if defined(__x86_64__)
  if (L->cls[0] == CFFI_CLS_MEMORY) return L->size > 16 && L->align <= 8;
  return !((L->cls[0] == CFFI_CLS_SSE && L->cls[1] == CFFI_CLS_INT) || (L->cls[0] == CFFI_CLS_INT && L->cls[1] == CFFI_CLS_SSE));
#else
  (void)L;
  return false;
#endif
}

/* tccAgrees(info) -> whether TinyCC-compiled code passes and returns this layout by value as
 * gcc does (cffi_layout_tcc_agrees): lib/cc.js keeps the other shapes out of cc(). */
static napi_value tcc_agrees(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], d, out;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return cffi_throw_type(env, NULL, "cffi: tccAgrees(info)");
  CFFI_CALL(env, napi_get_named_property(env, argv[0], "desc", &d));
  cffi_layout_t *L = layout_from_js(env, d);
  if (!L) return NULL;
  bool ok = cffi_layout_tcc_agrees(L);
  layout_free(L);
  CFFI_CALL(env, napi_get_boolean(env, ok, &out));
  return out;
}

napi_status cffi_init_layout_later(napi_env env, napi_value later) {
  CFFI_EXPORT_FN(env, later, "tccAgrees", tcc_agrees);
  return napi_ok;
}
