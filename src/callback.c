/* callback.c: JSCallback. A libffi closure gives each JS function a C address; when C calls
 * it on the JS thread, the C arguments are written into the shared buffer, the per-signature
 * JS wrapper (lib/callback.js) reads them, calls the user's function and writes its result
 * back. Calls from other threads, and threadsafe void callbacks, go through threads.c. */
#include <ffi.h>
#include <stdlib.h>
#include <string.h>

#include "cffi.h"

static ffi_type *const ffi_types_tab[CFFI_T_COUNT] = {
#define CFFI_TYPE(id, NAME, ctype, ffitype, size, kind) [id] = &ffitype,
#include "types.inc"
};

typedef struct {
  ffi_cif cif;
  ffi_type *atypes[CFFI_MAX_ARGS];
} cb_ffi_t;

bool cffi_on_js_thread(const cffi_env_t *st) { return pthread_equal(pthread_self(), st->thread); }

void cffi_cb_capture_args(const cffi_cb_t *cb, void **args, cffi_slot_t *out) {
  for (int i = 0; i < cb->sig.nargs; i++) {
    cffi_slot_t v = {0};
    void *a = args[i];
    switch (cb->sig.args[i]) {
      case CFFI_T_CHAR:
      case CFFI_T_I8: v.i64 = *(int8_t *)a; break;
      case CFFI_T_U8: v.u64 = *(uint8_t *)a; break;
      case CFFI_T_BOOL: v.u64 = *(uint8_t *)a != 0; break;
      case CFFI_T_I16: v.i64 = *(int16_t *)a; break;
      case CFFI_T_U16: v.u64 = *(uint16_t *)a; break;
      case CFFI_T_I32: v.i64 = *(int32_t *)a; break;
      case CFFI_T_U32: v.u64 = *(uint32_t *)a; break;
      case CFFI_T_F32: v.f32 = *(float *)a; break;
      case CFFI_T_F64: v.f64 = *(double *)a; break;
      default: memcpy(&v, a, 8); break; /* 64-bit integers and pointers */
    }
    out[i] = v;
  }
}

void cffi_cb_write_ret(const cffi_cb_t *cb, const cffi_slot_t *r, void *ret) {
  switch (cb->sig.ret) {
    case CFFI_T_VOID: return;
    case CFFI_T_F32: *(float *)ret = r->f32; return;
    case CFFI_T_F64: *(double *)ret = r->f64; return;
    case CFFI_T_CHAR:
    case CFFI_T_I8:
    case CFFI_T_I16:
    case CFFI_T_I32: *(ffi_sarg *)ret = (ffi_sarg)r->i64; return;
    case CFFI_T_U8:
    case CFFI_T_U16:
    case CFFI_T_U32:
    case CFFI_T_BOOL: *(ffi_arg *)ret = (ffi_arg)r->u64; return;
    default: *(uint64_t *)ret = r->u64; return;
  }
}

int cffi_cb_call_js(cffi_cb_t *cb, const cffi_slot_t *args, cffi_slot_t *ret, napi_value *exc) {
  cffi_env_t *st = cb->st;
  napi_env env = st->env;
  napi_value argv[CFFI_MAX_ARGS], fn, result;
  size_t argc = 0;
  ret->u64 = 0;
  if (napi_get_reference_value(env, cb->fn, &fn) != napi_ok || !fn) return -1;
  /* Arguments go through the buffer; only cstring ones are passed as JS values (the
   * wrapper ignores the other positions and `this`, so `fn` fills them: no extra calls). */
  for (int i = 0; i < cb->sig.nargs; i++) {
    uint8_t t = cb->sig.args[i];
    if (t == CFFI_T_CSTRING) {
      while (argc < (size_t)i) argv[argc++] = fn;
      argv[argc] = cffi_cstring_value(env, args[i].ptr);
      if (!argv[argc++]) goto threw;
      /* the slot also gets the address, for the `ptr` view of the argument */
    }
    cffi_store_value(t, args[i], &st->slots[1 + i], &st->tags[1 + i]);
  }
  if (napi_call_function(env, fn, fn, argc, argv, &result) != napi_ok) goto threw;
  if (cb->sig.ret != CFFI_T_VOID) {
    /* The wrapper wrote the result into slot 0 with argument encoding. */
    if (cffi_load_arg(env, cb->sig.ret, &st->slots[0], st->tags[0], NULL, NULL, ret) != 0) goto threw;
  }
  return 0;
threw:
  napi_get_and_clear_last_exception(env, exc);
  return -1;
}

void cffi_cb_report_exception(cffi_env_t *st, napi_value exc) {
  if (st->depth > 0) {
    /* Boxed in an array: Node-API 8 only references objects, and `throw 42` is legal. */
    napi_value box;
    if (!st->pending && napi_create_array_with_length(st->env, 1, &box) == napi_ok &&
        napi_set_element(st->env, box, 0, exc) == napi_ok)
      napi_create_reference(st->env, box, 1, &st->pending);
    return;
  }
  napi_fatal_exception(st->env, exc);
}

static void cb_free(cffi_cb_t *cb) {
  if (cb->closure) ffi_closure_free(cb->closure);
  free(cb->ffi);
  free(cb);
}

/* The closure handler: every C call of a JSCallback's pointer lands here. */
static void cb_handler(ffi_cif *cif, void *ret, void **args, void *user) {
  cffi_cb_t *cb = user;
  cffi_env_t *st = cb->st;
  if (cb->threadsafe && cb->sig.ret == CFFI_T_VOID) {
    cffi_threads_queue(cb, args);
    return;
  }
  if (!cffi_on_js_thread(st)) {
    cffi_threads_call_blocking(cb, args, ret);
    return;
  }
  cffi_slot_t raw[CFFI_MAX_ARGS], r = {0};
  cffi_cb_capture_args(cb, args, raw);
  napi_handle_scope scope;
  napi_open_handle_scope(st->env, &scope);
  napi_value exc = NULL;
  cb->active++;
  if (cb->closed) {
    r.u64 = 0; /* called after close(): undefined behaviour in C terms; answer zero */
  } else if (cffi_cb_call_js(cb, raw, &r, &exc) != 0) {
    r.u64 = 0;
    if (exc) cffi_cb_report_exception(st, exc);
  }
  cb->active--;
  cffi_cb_write_ret(cb, &r, ret);
  napi_close_handle_scope(st->env, scope);
  if (cb->closed && cb->active == 0 && !cb->relay) cb_free(cb);
}

static void cb_external_finalize(napi_env env, void *data, void *hint) {
  /* The handle object is only collectable after close() (lib/callback.js keeps it). */
}

/* callback(wrapper, ret, args, threadsafe) -> [handle (External), address] */
static napi_value cb_create(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], out, handle;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  cffi_cb_t *cb = calloc(1, sizeof(*cb));
  cb_ffi_t *f = calloc(1, sizeof(*f));
  if (!cb || !f) {
    free(cb);
    free(f);
    return cffi_throw_error(env, NULL, "cffi: out of memory");
  }
  cb->st = cffi_env_get(env);
  cb->ffi = f;
  if (cffi_sig_from_js(env, argv[1], argv[2], &cb->sig) != 0) goto fail;
  napi_get_value_bool(env, argv[3], &cb->threadsafe);
  for (int i = 0; i < cb->sig.nargs; i++) f->atypes[i] = ffi_types_tab[cb->sig.args[i]];
  if (ffi_prep_cif(&f->cif, FFI_DEFAULT_ABI, cb->sig.nargs, ffi_types_tab[cb->sig.ret], f->atypes) != FFI_OK) {
    cffi_throw_error(env, "ERR_CFFI_FFI", "cffi: libffi could not prepare this callback signature");
    goto fail;
  }
  cb->closure = ffi_closure_alloc(sizeof(ffi_closure), &cb->code);
  if (!cb->closure) {
    cffi_throw_error(env, "ERR_CFFI_FFI", "cffi: could not allocate a closure");
    goto fail;
  }
  if (ffi_prep_closure_loc(cb->closure, &f->cif, cb_handler, cb, cb->code) != FFI_OK) {
    cffi_throw_error(env, "ERR_CFFI_FFI", "cffi: could not prepare a closure");
    goto fail;
  }
  if (cffi_threads_cb_init(cb) != 0) {
    cffi_throw_error(env, "ERR_CFFI_THREADS", "cffi: could not set up the callback's thread relay");
    goto fail;
  }
  if (napi_create_reference(env, argv[0], 1, &cb->fn) != napi_ok) {
    cffi_throw_last(env);
    goto fail;
  }
  if (napi_create_external(env, cb, cb_external_finalize, NULL, &handle) != napi_ok ||
      napi_create_array_with_length(env, 2, &out) != napi_ok) {
    cffi_throw_last(env);
    goto fail;
  }
  napi_set_element(env, out, 0, handle);
  napi_set_element(env, out, 1, cffi_address_value(env, cb->code));
  return out;
fail:
  if (cb->fn) napi_delete_reference(env, cb->fn);
  if (cb->relay) cffi_threads_cb_close(cb);
  else cb_free(cb);
  return NULL;
}

/* callbackClose(handle): idempotent; releases the JS function, frees the closure once no
 * invocation is running and (threadsafe) every queued invocation was delivered. */
static napi_value cb_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  cffi_cb_t *cb = NULL;
  CFFI_CALL(env, napi_get_value_external(env, argv[0], (void **)&cb));
  if (!cb || cb->closed) return NULL;
  cb->closed = true;
  if (cb->relay) {
    cffi_threads_cb_close(cb); /* owns the rest: releases fn and frees cb when drained */
    return NULL;
  }
  napi_delete_reference(env, cb->fn);
  cb->fn = NULL;
  if (cb->active == 0) cb_free(cb);
  return NULL;
}

void cffi_cb_free(cffi_cb_t *cb) { cb_free(cb); }

napi_status cffi_init_callback(napi_env env, napi_value exports) {
  CFFI_EXPORT_FN(env, exports, "callback", cb_create);
  CFFI_EXPORT_FN(env, exports, "callbackClose", cb_close);
  return napi_ok;
}

void cffi_callback_env_cleanup(cffi_env_t *st) { cffi_threads_env_cleanup(st); }
