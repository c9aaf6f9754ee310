/* call_ffi.c: the libffi call path. Always available; the reference behaviour that the JIT
 * must match, the fallback for whatever the JIT cannot do (CFFI_JIT=0 forces it), and the
 * raw call used by async calls on worker threads. */
#include <errno.h>
#include <ffi.h>
#include <stdlib.h>
#include <string.h>

#include "cffi.h"

/* A function's libffi call interface, sized to its arguments: declaring 300 functions made
 * 300 of ~540 bytes each (room for CFFI_MAX_ARGS), ~160 KB of fresh memory to fault in. */
typedef struct {
  ffi_cif cif;
  ffi_type *atypes[];
} ffi_data_t;

int cffi_ffi_prepare(cffi_fn_t *fn) {
  if (fn->ffi) return 0;
  const cffi_sig_t *sig = &fn->sig;
  ffi_data_t *d = calloc(1, sizeof(*d) + sig->nargs * sizeof(ffi_type *));
  if (!d) return -1;
  for (int i = 0; i < sig->nargs; i++) d->atypes[i] = cffi_sig_ffi_type(sig, 1 + i);
  ffi_type *rtype = cffi_sig_ffi_type(sig, 0);
  ffi_status s = sig->variadic ? ffi_prep_cif_var(&d->cif, FFI_DEFAULT_ABI, sig->nfixed, sig->nargs, rtype, d->atypes)
                               : ffi_prep_cif(&d->cif, FFI_DEFAULT_ABI, sig->nargs, rtype, d->atypes);
  if (s != FFI_OK) {
    free(d);
    return -1;
  }
  fn->ffi = d;
  return 0;
}

void cffi_ffi_release(cffi_fn_t *fn) {
  free(fn->ffi);
  fn->ffi = NULL;
}

/* libffi widens integer results narrower than a register to ffi_arg; narrow them back to
 * the declared width, so every type's raw bits are as C returned them. */
static cffi_slot_t narrow_result(uint8_t type, cffi_slot_t r) {
  cffi_slot_t v = r;
  switch (type) {
    case CFFI_T_CHAR:
    case CFFI_T_I8: v.i64 = (int8_t)r.u64; break;
    case CFFI_T_U8:
    case CFFI_T_BOOL: v.u64 = (uint8_t)r.u64; break;
    case CFFI_T_I16: v.i64 = (int16_t)r.u64; break;
    case CFFI_T_U16: v.u64 = (uint16_t)r.u64; break;
    case CFFI_T_I32: v.i64 = (int32_t)r.u64; break;
    case CFFI_T_U32: v.u64 = (uint32_t)r.u64; break;
    default: break;
  }
  return v;
}

void cffi_ffi_call_raw(cffi_fn_t *fn, cffi_slot_t *args, cffi_slot_t *ret) {
  void *avalues[CFFI_MAX_ARGS];
  ffi_data_t *d = fn->ffi;
  /* a layout's slot holds the address of its bytes */
  for (int i = 0; i < fn->sig.nargs; i++) avalues[i] = fn->sig.args[i] == CFFI_T_LAYOUT ? args[i].ptr : &args[i];
  if (fn->sig.ret == CFFI_T_LAYOUT) {
    /* ret->ptr: where the bytes go. C may store a result in memory with aligned
     * instructions (movaps), so it lands in storage aligned as the struct is, then moves. */
    const cffi_layout_t *L = fn->sig.x->layout[0];
    size_t room = L->size + 32;
    _Alignas(64) uint8_t local[256];
    uint8_t *tmp = room <= sizeof local && L->align <= 64 ? local : aligned_alloc(L->align > 64 ? L->align : 64, (room + 63) & ~(size_t)63);
    if (!tmp) { /* out of memory: zeros rather than a call whose result has nowhere to go */
      memset(ret->ptr, 0, L->size);
      return;
    }
    ffi_call(&d->cif, FFI_FN(fn->addr), tmp, avalues);
    memcpy(ret->ptr, tmp, L->size);
    if (tmp != local) free(tmp);
    return;
  }
  cffi_slot_t r = {0};
  ffi_call(&d->cif, FFI_FN(fn->addr), &r, avalues);
  *ret = narrow_result(fn->sig.ret, r);
}

/* One call of fn with the JS arguments argv[0..argc) (read only for address-valued arguments
 * whose tag says the value is a JS object; the rest is in the buffer). */
static napi_value invoke(napi_env env, cffi_fn_t *fn, const napi_value *argv, size_t argc) {
  cffi_env_t *st = fn->st;
  const cffi_sig_t *sig = &fn->sig;
  cffi_slot_t vals[CFFI_MAX_ARGS];
  cffi_tmp_t tmp;
  tmp.used = 0;
  tmp.nheap = 0;
  napi_value undef = NULL;
  uint8_t *frame = NULL;
  int napi_env_arg = 0;
  if (sig->x) { /* layouts by value: in the frame at the layout area's top (cffi.h) */
    if (!cffi_area_fits(st, sig)) return cffi_throw_range(env, "ERR_OUT_OF_RANGE", "cffi: the layout area is full");
    frame = cffi_area_base(st);
  }
  for (int i = 0; i < sig->nargs; i++) {
    uint8_t tag = st->tags[1 + i];
    napi_value jsval = NULL;
    if (sig->args[i] == CFFI_T_LAYOUT) {
      vals[i].ptr = frame + sig->x->off[1 + i];
      continue;
    }
    if (sig->args[i] == CFFI_T_NAPI_ENV || sig->args[i] == CFFI_T_NAPI_VALUE) {
      /* cc() functions (SPEC §15): the calling environment, or the JS value itself */
      if (sig->args[i] == CFFI_T_NAPI_ENV) vals[i].ptr = env, napi_env_arg = 1;
      else if ((size_t)i < argc) vals[i].ptr = argv[i];
      else if (napi_get_undefined(env, &undef) == napi_ok) vals[i].ptr = undef;
      continue;
    }
    if (tag >= CFFI_TAG_VIEW && cffi_types[sig->args[i]].kind == CFFI_K_PTR) {
      if ((size_t)i < argc) {
        jsval = argv[i];
      } else {
        if (!undef) napi_get_undefined(env, &undef);
        jsval = undef;
      }
    }
    if (cffi_load_arg(env, sig->args[i], &st->slots[1 + i], tag, jsval, &tmp, &vals[i]) != 0) {
      cffi_tmp_free(&tmp);
      return NULL;
    }
  }
  cffi_slot_t r;
  if (sig->ret == CFFI_T_LAYOUT) r.ptr = frame + sig->x->off[0]; /* JS decodes it there */
  st->depth++;
  st->napi_calls += napi_env_arg; /* C may open handle scopes (callback.c, cb_scope_enter) */
  cffi_ffi_call_raw(fn, vals, &r);
  st->last_errno = errno;
  st->napi_calls -= napi_env_arg;
  st->depth--;
  napi_ref mine = st->pending ? cffi_take_pending(st) : NULL;
  if (sig->ret == CFFI_T_CSTRING && !mine) {
    /* the result may point into a string copy (e.g. strchr on a JS string): read it first */
    napi_value v = cffi_cstring_value(env, r.ptr);
    cffi_tmp_free(&tmp);
    return v;
  }
  cffi_tmp_free(&tmp);
  if (mine) return cffi_rethrow_ref(env, mine);
  if (sig->ret == CFFI_T_NAPI_VALUE) return r.ptr; /* NULL (undefined) when C threw */
  if (sig->ret == CFFI_T_LAYOUT) return NULL;
  cffi_store_value(sig->ret, r, &st->slots[0], &st->tags[0]);
  return NULL;
}

/* A symbol's own native function (entry(), library.c): fn is its data. */
napi_value cffi_ffi_invoke(napi_env env, napi_callback_info info) {
  cffi_fn_t *fn;
  napi_value argv[CFFI_MAX_ARGS];
  size_t argc = 0;
  napi_get_cb_info(env, info, &argc, NULL, NULL, (void **)&fn);
  if (fn->sig.has_objects) { /* only signatures with address-valued arguments read argv */
    argc = fn->sig.nargs;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  }
  return invoke(env, fn, argv, argc);
}

/* callAt(key, index, ...args): the same for function `index` of a batch (key: link()'s third
 * result). The counted calls before a batch tiers up come here, so a symbol that is declared,
 * or called only a few times, never needs a native function of its own. */
static napi_value invoke_at(napi_env env, napi_callback_info info) {
  napi_value argv[2 + CFFI_MAX_ARGS];
  size_t argc = 2 + CFFI_MAX_ARGS;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return cffi_throw_type(env, NULL, "cffi: callAt(key, index, ...args)");
  if (argc > 2 + CFFI_MAX_ARGS) argc = 2 + CFFI_MAX_ARGS;
  cffi_fn_t *fn = cffi_batch_key_fn(env, argv[0], argv[1]);
  if (!fn) return NULL;
  return invoke(env, fn, argv + 2, argc - 2);
}

napi_status cffi_init_call(napi_env env, napi_value exports) {
  CFFI_EXPORT_FN(env, exports, "callAt", invoke_at);
  return napi_ok;
}
