/* async.c: fn.async() (SPEC §6). binding.callAsync(batch, index, read, args, settle) reads the
 * arguments the generated wrapper just wrote into the shared buffer, resolves them into a job
 * (strings copied, views/ArrayBuffers kept referenced until the promise settles, so dropping
 * the last JS reference to a view during the call frees nothing), runs the C function through
 * libffi on a libuv pool thread and settles the promise on the JS thread: the result is stored
 * into slot 0 and read back by the signature's `read()` (cstring: made here), `settle()` runs
 * (lib/async.js: unpins callbacks, closes a library whose close() waited), then the promise
 * settles. `args` is the array of JS arguments (views and strings are read from it; an array
 * rather than spread arguments, which would run Array.prototype[Symbol.iterator]). A
 * JSCallback the C code calls on the pool thread is relayed to the JS thread (threads.c); the
 * first exception it throws rejects the promise. errno is not captured.
 *
 * Node-API cannot stop JS from detaching a view's ArrayBuffer (a transfer) while C runs: the
 * transferred bytes belong to the new owner, which may free them. The call rejects views
 * whose bytes are already gone; the rest is documented (README, SPEC §16). */
#include <stdlib.h>
#include <string.h>

#include "cffi.h"

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref read_ref;
  napi_ref settle_ref;
  napi_ref exc;      /* first exception from a relayed callback */
  cffi_fn_t *fn;     /* kept alive by cffi_batch_hold once `held` */
  bool held;
  cffi_tmp_t *tmp;   /* string copies (heap, so inline ones stay put), or NULL */
  cffi_slot_t ret;
  int nobj;
  napi_ref *objs;    /* view/ArrayBuffer arguments */
  uint8_t *frame;    /* layouts by value: a copy of the call's frame (cffi.h), or NULL */
  cffi_slot_t args[]; /* nargs converted arguments */
} job_t;

static void job_free(napi_env env, job_t *job) {
  if (env) {
    for (int i = 0; i < job->nobj; i++) napi_delete_reference(env, job->objs[i]);
    if (job->read_ref) napi_delete_reference(env, job->read_ref);
    if (job->settle_ref) napi_delete_reference(env, job->settle_ref);
    if (job->exc) napi_delete_reference(env, job->exc);
    if (job->work) napi_delete_async_work(env, job->work);
  }
  if (job->held) cffi_batch_unhold(job->fn);
  if (job->tmp) {
    cffi_tmp_free(job->tmp);
    free(job->tmp);
  }
  free(job);
}

int cffi_async_job_exception(void *p, cffi_env_t *st, napi_value exc) {
  job_t *job = p;
  if (job->fn->st != st) return -1; /* a Worker's callback called from another environment's job */
  napi_value box; /* boxed: Node-API 8 only references objects, and `throw 42` is legal */
  if (!job->exc && napi_create_array_with_length(st->env, 1, &box) == napi_ok &&
      napi_set_element(st->env, box, 0, exc) == napi_ok)
    napi_create_reference(st->env, box, 1, &job->exc);
  return 0;
}

static void execute(napi_env env, void *data) {
  job_t *job = data;
  cffi_threads_set_job(job);
  cffi_ffi_call_raw(job->fn, job->args, &job->ret);
  cffi_threads_set_job(NULL);
}

static void complete(napi_env env, napi_status status, void *data) {
  job_t *job = data;
  cffi_env_t *st = job->fn->st;
  napi_value v = NULL, exc = NULL;
  bool rejected = false;
  if (status != napi_ok) {
    /* cancelled: the environment is going away */
    napi_get_undefined(env, &exc);
  } else if (job->exc) {
    napi_value box;
    if (napi_get_reference_value(env, job->exc, &box) != napi_ok || !box || napi_get_element(env, box, 0, &exc) != napi_ok)
      napi_get_undefined(env, &exc);
    rejected = true;
  } else {
    uint8_t rt = job->fn->sig.ret;
    if (rt == CFFI_T_CSTRING) {
      v = cffi_cstring_value(env, job->ret.ptr);
    } else if (rt == CFFI_T_VOID) {
      napi_get_undefined(env, &v);
    } else if (rt == CFFI_T_LAYOUT && !cffi_area_fits(st, &job->fn->sig)) {
      cffi_throw_range(env, "ERR_OUT_OF_RANGE", "cffi: the layout area is full");
    } else {
      napi_value read, recv;
      if (rt == CFFI_T_LAYOUT) /* read() decodes it from the frame at the area's top */
        memcpy(cffi_area_base(st) + job->fn->sig.x->off[0], job->ret.ptr, job->fn->sig.x->layout[0]->size);
      else cffi_store_value(rt, job->ret, &st->slots[0], &st->tags[0]);
      if (napi_get_reference_value(env, job->read_ref, &read) != napi_ok || napi_get_undefined(env, &recv) != napi_ok ||
          napi_call_function(env, recv, read, 0, NULL, &v) != napi_ok)
        v = NULL;
    }
    if (!v) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) napi_get_and_clear_last_exception(env, &exc);
      else napi_get_undefined(env, &exc);
    }
  }
  /* lib/async.js's bookkeeping, after the result was read (a cstring result may live in the
   * library it may unload) */
  napi_value settle, recv, ignored;
  if (status == napi_ok && napi_get_reference_value(env, job->settle_ref, &settle) == napi_ok && settle &&
      napi_get_undefined(env, &recv) == napi_ok && napi_call_function(env, recv, settle, 0, NULL, &ignored) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending && !exc && !rejected) {
      napi_get_and_clear_last_exception(env, &exc);
      rejected = true;
    } else if (pending) {
      napi_value e;
      napi_get_and_clear_last_exception(env, &e);
    }
  }
  if (exc || rejected) napi_reject_deferred(env, job->deferred, exc);
  else napi_resolve_deferred(env, job->deferred, v);
  job_free(env, job);
}

/* callAsync(batch, index, read, args, settle) -> Promise */
static napi_value call_async(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], promise, name, undef;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return cffi_throw_type(env, NULL, "cffi: callAsync(batch, index, read, args, settle)");
  cffi_fn_t *fn = cffi_batch_fn(env, argv[0], argv[1]);
  if (!fn) return NULL;
  CFFI_CALL(env, napi_get_undefined(env, &undef));
  cffi_env_t *st = fn->st;
  const cffi_sig_t *sig = &fn->sig;
  /* only elements below the length are read: a missing one would be looked up on
   * Array.prototype, where user code may have put a getter */
  uint32_t given = 0;
  CFFI_CALL(env, napi_get_array_length(env, argv[3], &given));

  /* Copy the slots and tags now: the buffer belongs to the next call. */
  cffi_slot_t slots[CFFI_MAX_ARGS];
  uint8_t tags[CFFI_MAX_ARGS];
  int nobj = 0;
  bool strings = false;
  for (int i = 0; i < sig->nargs; i++) {
    slots[i] = st->slots[1 + i];
    tags[i] = st->tags[1 + i];
    if (cffi_types[sig->args[i]].kind == CFFI_K_PTR && tags[i] >= CFFI_TAG_VIEW) {
      if (tags[i] == CFFI_TAG_STRING) strings = true;
      else nobj++;
    }
  }
  if (sig->x && !cffi_area_fits(st, sig)) return cffi_throw_range(env, "ERR_OUT_OF_RANGE", "cffi: the layout area is full");
  size_t size = sizeof(job_t) + sig->nargs * sizeof(cffi_slot_t);
  size_t frame = sig->x ? sig->x->frame : 0;
  job_t *job = calloc(1, size + nobj * sizeof(napi_ref) + frame);
  if (!job) return cffi_throw_error(env, "ERR_CFFI_OUT_OF_MEMORY", "cffi: out of memory");
  job->fn = fn;
  job->objs = (napi_ref *)((char *)job + size);
  if (frame) { /* the layouts' bytes: the buffer belongs to the next call */
    job->frame = (uint8_t *)(job->objs + nobj);
    memcpy(job->frame, cffi_area_base(st), frame);
    if (sig->ret == CFFI_T_LAYOUT) job->ret.ptr = job->frame + sig->x->off[0];
  }
  if (strings) {
    job->tmp = calloc(1, sizeof(cffi_tmp_t));
    if (!job->tmp) {
      job_free(env, job);
      return cffi_throw_error(env, "ERR_CFFI_OUT_OF_MEMORY", "cffi: out of memory");
    }
  }
  for (int i = 0; i < sig->nargs; i++) {
    napi_value jsval = NULL;
    if (sig->args[i] == CFFI_T_LAYOUT) {
      job->args[i].ptr = job->frame + sig->x->off[1 + i];
      continue;
    }
    bool obj = cffi_types[sig->args[i]].kind == CFFI_K_PTR && tags[i] >= CFFI_TAG_VIEW;
    if (obj) {
      jsval = undef;
      if ((uint32_t)i < given && napi_get_element(env, argv[3], i, &jsval) != napi_ok) goto fail_napi;
    }
    if (cffi_load_arg(env, sig->args[i], &slots[i], tags[i], jsval, job->tmp, &job->args[i]) != 0) goto fail;
    if (obj && tags[i] != CFFI_TAG_STRING) {
      if (napi_create_reference(env, jsval, 1, &job->objs[job->nobj]) != napi_ok) goto fail_napi;
      job->nobj++;
    }
  }
  cffi_batch_hold(fn);
  job->held = true;
  if (napi_create_reference(env, argv[2], 1, &job->read_ref) != napi_ok ||
      napi_create_reference(env, argv[4], 1, &job->settle_ref) != napi_ok ||
      napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "cffi.async", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, job, &job->work) != napi_ok)
    goto fail_napi;
  if (napi_queue_async_work(env, job->work) != napi_ok) goto fail_napi;
  return promise;
fail_napi:
  cffi_throw_last(env);
fail:
  if (job->deferred) {
    /* a promise was made: settle it so nothing dangles, and report through the throw */
    napi_value e;
    napi_get_undefined(env, &e);
    napi_resolve_deferred(env, job->deferred, e);
  }
  job_free(env, job);
  return NULL;
}

napi_status cffi_init_async_later(napi_env env, napi_value later) {
  CFFI_EXPORT_FN(env, later, "callAsync", call_async);
  return napi_ok;
}
