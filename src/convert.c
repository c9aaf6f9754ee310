/* convert.c: value conversions shared by every call path (libffi, JIT, callbacks, async).
 * JS writes arguments into the shared buffer's slots (see cffi.h); these functions turn a
 * slot, its tag and, for objects, the JS argument into a C value, and turn a C result back
 * into a slot for JS to read. The JIT inlines the common cases and calls these for the rest,
 * so they define the behaviour both paths must agree on. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cffi.h"

/* A JS number for a 64-bit integer: truncate toward zero; NaN and infinities give 0; values
 * outside the int64 range wrap modulo 2^64 like a BigInt would. */
int64_t cffi_f64_to_i64(double d) {
  if (!(d == d) || d == INFINITY || d == -INFINITY) return 0;
  d = trunc(d);
  if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) return (int64_t)d;
  double m = fmod(d, 18446744073709551616.0); /* exact for doubles */
  if (m < 0) m += 18446744073709551616.0;
  return (int64_t)(uint64_t)m; /* 0 <= m < 2^64: well defined */
}

/* A view or ArrayBuffer of length 0: empty, or are its bytes gone (detached, or out of bounds
 * of a shrunk resizable ArrayBuffer, which Node-API reports as length 0 with the old
 * address)? lib/abi.js's viewGone (handed to binding.state) tells, with built-ins captured at
 * load: no user code runs. Returns 0, or -1 with a TypeError pending (SPEC §16). Rare: only
 * empty views get here, so the common case pays nothing for the check. */
static int check_empty(napi_env env, napi_value v) {
  cffi_env_t *st = cffi_env_get(env);
  napi_value fn, global, why;
  napi_valuetype t;
  if (!st || !st->view_gone) return 0;
  if (napi_get_reference_value(env, st->view_gone, &fn) != napi_ok || !fn ||
      napi_get_global(env, &global) != napi_ok || napi_call_function(env, global, fn, 1, &v, &why) != napi_ok ||
      napi_typeof(env, why, &t) != napi_ok) {
    cffi_throw_last(env);
    return -1;
  }
  if (t != napi_string) return 0;
  char msg[128] = "Cannot pass this view to C: ";
  size_t used = strlen(msg), n;
  napi_get_value_string_utf8(env, why, msg + used, sizeof msg - used, &n);
  cffi_throw_type(env, "ERR_INVALID_ARG_VALUE", msg);
  return -1;
}

int cffi_object_ptr(napi_env env, napi_value v, uint8_t tag, void **out) {
  void *data = NULL;
  size_t len = 0;
  *out = NULL;
  switch (tag) { /* only the outputs that are needed: each one costs V8 work */
    case CFFI_TAG_VIEW: /* any ArrayBuffer view: a TypedArray (the common case) or a DataView */
    case CFFI_TAG_DATAVIEW:
      if (napi_get_typedarray_info(env, v, NULL, &len, &data, NULL, NULL) != napi_ok &&
          napi_get_dataview_info(env, v, &len, &data, NULL, NULL) != napi_ok)
        return 0;
      break;
    case CFFI_TAG_ARRAYBUF:
      if (napi_get_arraybuffer_info(env, v, &data, &len) != napi_ok) return 0;
      break;
    default:
      return 0;
  }
  if (len == 0 && check_empty(env, v) != 0) return -1;
  *out = data;
  return 0;
}

char *cffi_tmp_string(napi_env env, napi_value v, cffi_tmp_t *tmp) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    cffi_throw_last(env);
    return NULL;
  }
  char *p;
  if (len + 1 <= sizeof(tmp->inline_buf) - tmp->used) {
    p = tmp->inline_buf + tmp->used;
    tmp->used += len + 1;
  } else {
    p = malloc(len + 1);
    if (!p || tmp->nheap >= CFFI_MAX_ARGS) {
      free(p);
      cffi_throw_error(env, "ERR_CFFI_OUT_OF_MEMORY", "cffi: out of memory copying a string argument");
      return NULL;
    }
    tmp->heap[tmp->nheap++] = p;
  }
  napi_get_value_string_utf8(env, v, p, len + 1, &len);
  return p;
}

void cffi_tmp_free(cffi_tmp_t *tmp) {
  for (int i = 0; i < tmp->nheap; i++) free(tmp->heap[i]);
  tmp->nheap = 0;
  tmp->used = 0;
}

int cffi_load_arg(napi_env env, uint8_t type, const cffi_slot_t *slot, uint8_t tag,
                  napi_value jsval, cffi_tmp_t *tmp, cffi_slot_t *out) {
  out->u64 = 0;
  switch (cffi_types[type].kind) {
    case CFFI_K_INT32:
      switch (type) {
        case CFFI_T_CHAR:
        case CFFI_T_I8: out->i64 = (int8_t)slot->i32; break;
        case CFFI_T_U8: out->u64 = (uint8_t)slot->i32; break;
        case CFFI_T_I16: out->i64 = (int16_t)slot->i32; break;
        case CFFI_T_U16: out->u64 = (uint16_t)slot->i32; break;
        case CFFI_T_BOOL: out->u64 = slot->i32 != 0; break;
        case CFFI_T_U32: out->u64 = slot->u32; break;
        default: out->i64 = slot->i32; break;
      }
      return 0;
    case CFFI_K_F64: out->f64 = slot->f64; return 0;
    case CFFI_K_F32: out->f32 = (float)slot->f64; return 0;
    case CFFI_K_I64:
    case CFFI_K_U64:
      out->i64 = tag == CFFI_TAG_F64 ? cffi_f64_to_i64(slot->f64) : slot->i64;
      return 0;
    case CFFI_K_PTR:
      switch (tag) {
        case CFFI_TAG_RAW: out->ptr = slot->ptr; return 0;
        /* wrapped like a 64-bit integer, as the JIT's fast path does: a plain (uint64_t) of a
         * negative double is undefined (x86-64 wraps, AArch64's fcvtzu gives 0) */
        case CFFI_TAG_F64: out->i64 = cffi_f64_to_i64(slot->f64); return 0;
        case CFFI_TAG_STRING:
          out->ptr = cffi_tmp_string(env, jsval, tmp);
          return out->ptr ? 0 : -1;
        default: return cffi_object_ptr(env, jsval, tag, &out->ptr);
      }
    default: return 0;
  }
}

void cffi_store_value(uint8_t type, cffi_slot_t v, cffi_slot_t *slot, uint8_t *tag) {
  switch (type) {
    case CFFI_T_CHAR:
    case CFFI_T_I8: slot->i32 = (int8_t)v.i64; return;
    case CFFI_T_U8: slot->i32 = (uint8_t)v.u64; return;
    case CFFI_T_I16: slot->i32 = (int16_t)v.i64; return;
    case CFFI_T_U16: slot->i32 = (uint16_t)v.u64; return;
    case CFFI_T_I32:
    case CFFI_T_U32: slot->i32 = (int32_t)v.i64; return;
    case CFFI_T_BOOL: slot->i32 = (v.u64 & 0xff) != 0; return;
    case CFFI_T_F64: slot->f64 = v.f64 == v.f64 ? v.f64 : NAN; return;
    case CFFI_T_F32: slot->f64 = v.f32 == v.f32 ? (double)v.f32 : NAN; return;
    case CFFI_T_I64:
    case CFFI_T_U64: slot->i64 = v.i64; return;
    case CFFI_T_I64_FAST:
      if (v.i64 >= -(int64_t)CFFI_MAX_SAFE && v.i64 <= (int64_t)CFFI_MAX_SAFE) {
        slot->f64 = (double)v.i64;
        *tag = CFFI_RTAG_NUMBER;
      } else {
        slot->i64 = v.i64;
        *tag = CFFI_RTAG_BIGINT;
      }
      return;
    case CFFI_T_U64_FAST:
      if (v.u64 <= (uint64_t)CFFI_MAX_SAFE) {
        slot->f64 = (double)v.u64;
        *tag = CFFI_RTAG_NUMBER;
      } else {
        slot->u64 = v.u64;
        *tag = CFFI_RTAG_BIGINT;
      }
      return;
    case CFFI_T_PTR:
    case CFFI_T_FUNCTION:
    case CFFI_T_CSTRING:
    case CFFI_T_BUFFER:
      if (!v.ptr) {
        slot->u64 = 0;
        *tag = CFFI_RTAG_NULL;
      } else if (v.u64 <= (uint64_t)CFFI_MAX_SAFE) {
        slot->f64 = (double)v.u64;
        *tag = CFFI_RTAG_NUMBER;
      } else {
        slot->u64 = v.u64;
        *tag = CFFI_RTAG_BIGINT;
      }
      return;
    default: slot->u64 = v.u64; return;
  }
}

napi_value cffi_slot_value(napi_env env, uint8_t type, const cffi_slot_t *slot, uint8_t tag) {
  napi_value v = NULL;
  napi_status s;
  switch (type) {
    case CFFI_T_U32: s = napi_create_uint32(env, slot->u32, &v); break;
    case CFFI_T_BOOL: s = napi_get_boolean(env, slot->i32 != 0, &v); break;
    case CFFI_T_F64:
    case CFFI_T_F32: s = napi_create_double(env, slot->f64, &v); break;
    case CFFI_T_I64_FAST:
    case CFFI_T_I64:
      s = type == CFFI_T_I64_FAST && tag == CFFI_RTAG_NUMBER ? napi_create_double(env, slot->f64, &v)
                                                              : napi_create_bigint_int64(env, slot->i64, &v);
      break;
    case CFFI_T_U64_FAST:
    case CFFI_T_U64:
      s = type == CFFI_T_U64_FAST && tag == CFFI_RTAG_NUMBER ? napi_create_double(env, slot->f64, &v)
                                                              : napi_create_bigint_uint64(env, slot->u64, &v);
      break;
    case CFFI_T_PTR:
    case CFFI_T_FUNCTION:
    case CFFI_T_CSTRING:
    case CFFI_T_BUFFER:
      s = tag == CFFI_RTAG_NUMBER ? napi_create_double(env, slot->f64, &v)
          : tag == CFFI_RTAG_NULL ? napi_get_null(env, &v)
                                  : napi_create_bigint_uint64(env, slot->u64, &v);
      break;
    default:
      s = cffi_types[type].kind == CFFI_K_INT32 ? napi_create_int32(env, slot->i32, &v) : napi_get_undefined(env, &v);
  }
  if (s == napi_ok) return v;
  cffi_throw_last(env);
  return NULL;
}

napi_value cffi_cstring_value(napi_env env, const char *s) {
  napi_value v;
  if (!s) {
    if (napi_get_null(env, &v) != napi_ok) return NULL;
    return v;
  }
  return cffi_utf8_value(env, s, strlen(s));
}

/* Always with an explicit length: given NAPI_AUTO_LENGTH, Node's napi_create_string_utf8 ends
 * the process (a failed V8 check) when the text is longer than V8 allows, where with a length
 * it fails and can be reported. Lengths over INT_MAX it refuses outright. */
napi_value cffi_utf8_value(napi_env env, const char *s, size_t len) {
  napi_value v;
  if (len <= INT_MAX && napi_create_string_utf8(env, s, len, &v) == napi_ok) return v;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    char msg[160];
    snprintf(msg, sizeof msg, "cffi: a C string of %zu bytes is longer than a JavaScript string can be", len);
    cffi_throw_range(env, "ERR_STRING_TOO_LONG", msg);
  }
  return NULL;
}

/* Exceptions wait in st->pend[], tagged with the depth of the call they belong to (see
 * cffi_cb_report_exception), so a nested call never rethrows one that an outer call's
 * callback threw before it. st->pending is non-NULL while one waits or the callbacks' shared
 * scope is open, for the trampolines' one-load check. */
napi_ref cffi_take_pending(cffi_env_t *st) {
  if (st->cb_scope && st->cb_scope_depth == st->depth + 1) cffi_cb_scope_close(st);
  int n = st->npend;
  napi_ref ref = NULL;
  if (n > 0 && st->pend[n - 1].depth == st->depth + 1) {
    ref = st->pend[n - 1].ref;
    st->npend = --n;
  }
  st->pending = n > 0 ? st->pend[n - 1].ref : (napi_ref)st->cb_scope;
  return ref;
}

napi_value cffi_rethrow_ref(napi_env env, napi_ref ref) {
  napi_value box, err; /* see cffi_cb_report_exception: the exception is boxed */
  if (napi_get_reference_value(env, ref, &box) == napi_ok && box &&
      napi_get_element(env, box, 0, &err) == napi_ok)
    napi_throw(env, err);
  napi_delete_reference(env, ref);
  return NULL;
}

int cffi_get_address(napi_env env, napi_value v, void **out) {
  napi_valuetype t;
  CFFI_CALL_INT(env, napi_typeof(env, v, &t));
  if (t == napi_number) {
    double d;
    CFFI_CALL_INT(env, napi_get_value_double(env, v, &d));
    *out = (void *)(uintptr_t)(uint64_t)d;
    return 0;
  }
  if (t == napi_bigint) {
    uint64_t u;
    bool lossless;
    CFFI_CALL_INT(env, napi_get_value_bigint_uint64(env, v, &u, &lossless));
    *out = (void *)(uintptr_t)u;
    return 0;
  }
  if (t == napi_null || t == napi_undefined) {
    *out = NULL;
    return 0;
  }
  cffi_throw_type(env, "ERR_INVALID_ARG_TYPE", "Expected a pointer (number or BigInt)");
  return -1;
}

napi_value cffi_address_value(napi_env env, const void *p) {
  napi_value v;
  uint64_t u = (uint64_t)(uintptr_t)p;
  if (u <= (uint64_t)CFFI_MAX_SAFE) {
    CFFI_CALL(env, napi_create_double(env, (double)u, &v));
  } else {
    CFFI_CALL(env, napi_create_bigint_uint64(env, u, &v));
  }
  return v;
}
