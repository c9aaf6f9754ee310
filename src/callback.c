/* callback.c: JSCallback. Each JS function gets a C address; when C calls it on the JS thread,
 * the C arguments are written into the shared buffer, the per-signature JS wrapper
 * (JSCallback, lib/library.js) reads them, calls the user's function and writes its result
 * back. Until that wrapper exists (a signature's is compiled on a callback's jit_threshold-th
 * call, see lib/library.js), calls are "cold": cb_call_cold calls the user's function itself
 * with the arguments converted here, which spares a callback called a few times V8's compile
 * of the wrapper (most of a first `new JSCallback`: 219 -> 96 us, median of 21 pairs of fresh
 * processes) for ~200-300 ns more per call. Calls from other threads, and threadsafe void
 * callbacks, go through threads.c.
 *
 * The address (x86-64 or arm64 Linux, not CFFI_JIT=0): a direct entry (cb_direct.c), a
 * trampoline in cffi.node's own code that passes the argument registers to cffi_direct_call,
 * which reads them by the C ABI (structs and unions by value included, unless aligned to more
 * than 16 bytes): creating one maps no memory, where the first libffi closure of a process
 * cost ~60-100 us of system calls (memfd, mappings) and page faults. Beyond the 1,024 live
 * direct entries, or for an over-aligned layout, a libffi closure (its memory from cb_stub.c
 * on x86-64 Linux, else from libffi's allocator), behind a stub where the JIT is on (x86-64).
 * With CFFI_JIT=0, and elsewhere, the libffi closure's own address: the reference path. Where
 * executable memory is refused (no JIT), direct entries still work and never tier up;
 * closures cannot be made there.
 *
 * Tiering (direct entries, stubs): after jit_threshold * CB_JIT_FACTOR synchronous calls on the JS
 * thread, a C trampoline of the callback's own signature is compiled for this instance
 * (call_jit.c) and the direct entry or stub is pointed at it: C then reaches cffi_cb_dispatch
 * without decoding the arguments by type at run time (measured, ns per callback of a C loop
 * calling an (i32) -> i32 callback, minimum of 12 fresh processes: libffi closure 137, direct
 * entry 132, compiled 123; bench cb1000 before direct entries: libffi ~98, compiled ~91,
 * hand-written Node-API addon ~91). Every path runs cffi_cb_dispatch, so they behave the same.
 * The address handed out never changes. */
#include <ffi.h>
#include <stdlib.h>
#include <string.h>

#include "cb_stub.h"
#include "prelude.h"
#include "tcc_memory.h"

/* A callback tiers up after jit_threshold (default 100) * CB_JIT_FACTOR calls. Compiling its
 * trampoline costs ~115-125 us (measured in Node; mostly TinyCC's fixed cost per state) and
 * saves ~12 ns per call, so it pays off after ~10,000 calls: tiering up there bounds the
 * loss for a callback that stops right after to about 11% of what its calls cost. */
#define CB_JIT_FACTOR 100
/* Compiled code is unmapped when its callback is freed, except for callbacks ever called
 * from another thread: such a thread may still be returning through the trampoline when the
 * JS thread frees the callback (it got its answer), and nothing says when it is done, so
 * their code is kept. Live plus kept compiled callbacks are capped per process (one page
 * each: at most 4 MiB); beyond the cap callbacks stay on libffi. */
#define CB_JIT_MAX 1024
static int cb_jit_count;

typedef struct {
  ffi_cif cif;
  ffi_type *atypes[CFFI_MAX_ARGS];
} cb_ffi_t;

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
      case CFFI_T_LAYOUT: v.ptr = a; break; /* its bytes: libffi's copy, valid during the call */
      default: memcpy(&v, a, 8); break; /* 64-bit integers and pointers */
    }
    out[i] = v;
  }
}

/* (a layout result is written by cffi_cb_call_js itself) */
void cffi_cb_write_ret(const cffi_cb_t *cb, const cffi_slot_t *r, void *ret) {
  if (cb->sig.ret != CFFI_T_LAYOUT) cffi_write_ret(cb->sig.ret, r, ret);
}

void cffi_write_ret(uint8_t type, const cffi_slot_t *r, void *ret) {
  switch (type) {
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

/* A cold call's result r into slot 0, where the wrapper's generated code would put it for
 * the values it writes without calling a helper (numbers, BigInts, any value for bool).
 * false: r is for the wrapper's own code (lib/library.js, later(false, r)). */
static bool cb_store_result(cffi_env_t *st, uint8_t t, napi_value r) {
  napi_env env = st->env;
  cffi_slot_t *s = &st->slots[0];
  napi_valuetype vt;
  if (t == CFFI_T_VOID) return true;
  if (t == CFFI_T_BOOL) { /* `r ? 1 : 0` */
    napi_value b;
    bool v;
    if (napi_coerce_to_bool(env, r, &b) != napi_ok || napi_get_value_bool(env, b, &v) != napi_ok) return false;
    s->i32 = v;
    return true;
  }
  if (napi_typeof(env, r, &vt) != napi_ok) return false;
  switch (cffi_types[t].kind) {
    case CFFI_K_INT32: /* an Int32Array store: ToInt32, as napi_get_value_int32 */
      return vt == napi_number && napi_get_value_int32(env, r, &s->i32) == napi_ok;
    case CFFI_K_F64:
    case CFFI_K_F32: return vt == napi_number && napi_get_value_double(env, r, &s->f64) == napi_ok;
    case CFFI_K_I64:
    case CFFI_K_U64: { /* a BigInt64Array store: the low 64 bits */
      bool lossless;
      if (vt != napi_bigint || napi_get_value_bigint_int64(env, r, &s->i64, &lossless) != napi_ok) return false;
      st->tags[0] = CFFI_TAG_RAW;
      return true;
    }
    case CFFI_K_PTR: { /* an address as a number: a positive safe integer */
      double d;
      if (vt != napi_number || napi_get_value_double(env, r, &d) != napi_ok) return false;
      if (!(d > 0 && d <= CFFI_MAX_SAFE && d == (double)(int64_t)d)) return false;
      s->f64 = d;
      st->tags[0] = CFFI_TAG_F64;
      return true;
    }
    default: return false;
  }
}

/* coldLater(tierUp, r, fn, sig) (lib/library.js) for a cold callback of user function fn:
 * with tierUp, the wrapper for fn; else r stored into slot 0 by the wrapper's own code. The
 * signature goes as readSignature makes it (cffi_sig_value: cold callbacks have no layouts).
 * 0 with *out set, -1 when it threw. */
static int cb_later(cffi_cb_t *cb, bool tier_up, napi_value r, napi_value fn, napi_value *out) {
  napi_env env = cb->st->env;
  napi_value argv[4], later, undef;
  if (napi_get_reference_value(env, cb->st->cold_later, &later) != napi_ok || napi_get_undefined(env, &undef) != napi_ok ||
      napi_get_boolean(env, tier_up, &argv[0]) != napi_ok || !(argv[3] = cffi_sig_value(env, &cb->sig)))
    return -1;
  argv[1] = r;
  argv[2] = fn;
  return napi_call_function(env, undef, later, 4, argv, out) == napi_ok ? 0 : -1;
}

/* A cold call (cffi_cb_t.cold): no wrapper yet, cb->fn holds the user's function. It is
 * called here with the arguments as the wrapper would read them (cffi_slot_value), and its
 * result goes into slot 0 (cb_store_result, else to the wrapper's own code through
 * st->cold_later). The call that uses up the count makes the wrapper instead, which cb->fn
 * then holds, and returns 0 with *fn set to it: that call goes the usual way. Returns 1 when
 * done, -1 when something threw. */
static int cb_call_cold(cffi_cb_t *cb, napi_value *fn, const cffi_slot_t *args) {
  napi_env env = cb->st->env;
  napi_value user = *fn, undef, r, argv[CFFI_MAX_ARGS];
  if (napi_get_undefined(env, &undef) != napi_ok) return -1;
  if (--cb->cold == 0) {
    napi_value w;
    napi_ref ref;
    if (cb_later(cb, true, undef, user, &w) != 0 || napi_create_reference(env, w, 1, &ref) != napi_ok) {
      cb->cold = 1; /* the next call tries again */
      return -1;
    }
    napi_delete_reference(env, cb->fn);
    cb->fn = ref;
    *fn = w;
    return 0;
  }
  for (int i = 0; i < cb->sig.nargs; i++) {
    uint8_t t = cb->sig.args[i], tag = 0;
    cffi_slot_t v;
    if (t == CFFI_T_CSTRING) {
      argv[i] = cffi_cstring_value(env, args[i].ptr);
    } else {
      cffi_store_value(t, args[i], &v, &tag);
      argv[i] = cffi_slot_value(env, t, &v, tag);
    }
    if (!argv[i]) return -1;
  }
  if (napi_call_function(env, undef, user, cb->sig.nargs, argv, &r) != napi_ok) return -1;
  if (cb_store_result(cb->st, cb->sig.ret, r)) return 1;
  return cb_later(cb, false, r, user, &r) == 0 ? 1 : -1;
}

int cffi_cb_call_js(cffi_cb_t *cb, const cffi_slot_t *args, cffi_slot_t *ret, napi_value *exc) {
  cffi_env_t *st = cb->st;
  napi_env env = st->env;
  napi_value argv[CFFI_MAX_ARGS], fn, result;
  size_t argc = 0;
  /* A layout result: ret->ptr is where its bytes go (zero unless the function returns) */
  void *lret = cb->sig.ret == CFFI_T_LAYOUT ? ret->ptr : NULL;
  uint8_t *frame = NULL;
  if (lret) memset(lret, 0, cb->sig.x->layout[0]->size);
  ret->u64 = 0;
  if (napi_get_reference_value(env, cb->fn, &fn) != napi_ok || !fn) return -1;
  if (cb->cold) {
    int done = cb_call_cold(cb, &fn, args);
    if (done < 0) goto threw;
    if (done > 0) goto result;
  }
  if (cb->sig.x) {
    if (!cffi_area_fits(st, &cb->sig)) {
      cffi_throw_range(env, "ERR_OUT_OF_RANGE", "cffi: the layout area is full");
      goto threw;
    }
    frame = cffi_area_base(st);
  }
  /* Arguments go through the buffer; only cstring ones are passed as JS values (the
   * wrapper ignores the other positions and `this`, so `fn` fills them: no extra calls). */
  for (int i = 0; i < cb->sig.nargs; i++) {
    uint8_t t = cb->sig.args[i];
    if (t == CFFI_T_I32) { /* cffi_store_value's case, inline for the commonest type (~1-2 ns) */
      st->slots[1 + i].i32 = (int32_t)args[i].i64;
      continue;
    }
    if (t == CFFI_T_LAYOUT) { /* the wrapper decodes it from the frame */
      memcpy(frame + cb->sig.x->off[1 + i], args[i].ptr, cb->sig.x->layout[1 + i]->size);
      continue;
    }
    if (t == CFFI_T_CSTRING) {
      while (argc < (size_t)i) argv[argc++] = fn;
      argv[argc] = cffi_cstring_value(env, args[i].ptr);
      if (!argv[argc++]) goto threw;
      /* the slot also gets the address, for the `ptr` view of the argument */
    }
    cffi_store_value(t, args[i], &st->slots[1 + i], &st->tags[1 + i]);
  }
  if (napi_call_function(env, fn, fn, argc, argv, &result) != napi_ok) goto threw;
result:
  if (cb->sig.ret == CFFI_T_I32) {
    ret->i64 = st->slots[0].i32; /* cffi_load_arg's case, inline */
  } else if (cb->sig.ret == CFFI_T_LAYOUT) {
    /* the wrapper encoded it at the frame's start (the area's top is back there) */
    if (lret) memcpy(lret, cffi_area_base(st) + cb->sig.x->off[0], cb->sig.x->layout[0]->size);
  } else if (cb->sig.ret != CFFI_T_VOID) {
    /* The wrapper wrote the result into slot 0 with argument encoding. */
    if (cffi_load_arg(env, cb->sig.ret, &st->slots[0], st->tags[0], NULL, NULL, ret) != 0) goto threw;
  }
  return 0;
threw: {
  bool pending = false; /* no pending exception: JS could not run (environment terminating) */
  napi_is_exception_pending(env, &pending);
  if (pending) napi_get_and_clear_last_exception(env, exc);
  return -1;
}
}

void cffi_cb_report_exception(cffi_env_t *st, napi_value exc) {
  if (st->depth > 0) {
    /* It belongs to the innermost call in flight (depth st->depth); the first one wins. */
    int n = st->npend;
    if (n > 0 && st->pend[n - 1].depth == st->depth) return;
    if (n == st->pend_cap) {
      int cap = n ? 2 * n : 16;
      struct cffi_pend_s *p = realloc(st->pend, cap * sizeof(*p));
      if (p) {
        st->pend = p;
        st->pend_cap = cap;
      }
    }
    napi_value box; /* boxed: Node-API 8 only references objects, and `throw 42` is legal */
    napi_ref ref;
    if (n < st->pend_cap && napi_create_array_with_length(st->env, 1, &box) == napi_ok &&
        napi_set_element(st->env, box, 0, exc) == napi_ok && napi_create_reference(st->env, box, 1, &ref) == napi_ok) {
      st->pend[n].ref = ref;
      st->pend[n].depth = st->depth;
      st->npend = n + 1;
      st->pending = ref;
      return;
    }
  }
  napi_fatal_exception(st->env, exc); /* no FFI call to rethrow it (or out of memory) */
}

/* What callback.c keeps beyond cffi_cb_t (which threads.c shares): allocated as one block,
 * cffi_cb_t first, so a cffi_cb_t * of ours is also a cb_ext_t *. */
enum { TIER_COUNTING, TIER_JIT, TIER_NONE };
typedef struct {
  cffi_cb_t cb;
  void *stub;          /* cb.code when not NULL (cb_stub.c) */
  void *closure_code;  /* the libffi closure's entry: the stub's first target */
  cffi_code_t *jit;    /* the trampoline's code once compiled */
  uint32_t calls;      /* synchronous JS-thread invocations while TIER_COUNTING */
  uint8_t tier;
  bool foreign;        /* ever called from another thread (set atomically) */
  bool own_closure;    /* the closure is cb_stub.c's (cffi_closure_alloc), not libffi's */
} cb_ext_t;

static void cb_free(cffi_cb_t *cb) {
  cb_ext_t *x = (cb_ext_t *)cb;
  if (x->stub) cffi_stub_free(x->stub);
  if (cb->closure) {
    if (x->own_closure) cffi_closure_free(cb->closure, x->closure_code);
    else ffi_closure_free(cb->closure);
  }
  if (x->jit && !__atomic_load_n(&x->foreign, __ATOMIC_ACQUIRE)) {
    cffi_code_release(x->jit);
    __atomic_sub_fetch(&cb_jit_count, 1, __ATOMIC_RELAXED);
  }
  free(cb->ffi);
  cffi_sig_free(&cb->sig);
  free(cb);
}

/* Compiles this callback's trampoline and points its stub there (JS thread). */
static void cb_tier_up(cb_ext_t *x) {
  x->tier = TIER_NONE;
  if (__atomic_add_fetch(&cb_jit_count, 1, __ATOMIC_RELAXED) > CB_JIT_MAX) return;
  void *entry;
  cffi_code_t *code;
  if (cffi_jit_callback(x->cb.st, &x->cb.sig, &x->cb, (const void *)cffi_cb_dispatch, &entry, &code) != 0) {
    __atomic_sub_fetch(&cb_jit_count, 1, __ATOMIC_RELAXED);
    return;
  }
  x->jit = code;
  cffi_stub_set(x->stub, entry);
  x->tier = TIER_JIT;
}

/* Handle scopes. Node-API allocates each napi_open_handle_scope on the heap: opening and
 * closing one per callback was ~30-40% of a callback's cost in a C loop. The synchronous
 * callbacks that C makes during one FFI call from JS (qsort's comparator) share one scope
 * instead (128 -> 93 ns per callback, and libc qsort of 200k int32 with a JS comparator
 * 706 -> 572 ms: paired medians of 12 and 10 fresh processes): opened by the first, renewed
 * every CB_SCOPE_CALLS callbacks so that their handles stay few, and closed when C returns to
 * that call (cffi_take_pending, which st->pending sends every call to while the scope is
 * open). It is shared only while it is the innermost scope: opened at this call depth with as
 * many callbacks running as now (a callback that JS reaches through another path while one
 * runs, say another addon calling it, gets its own), and not while C holds a napi_env from
 * cc(), which may open scopes of its own. Returns the callback's own scope, or NULL when it
 * uses the shared one. */
#define CB_SCOPE_CALLS 64

static napi_handle_scope cb_scope_enter(cffi_env_t *st) {
  napi_handle_scope own = NULL;
  if (st->depth == 0 || st->napi_calls > 0 ||
      (st->cb_scope && (st->cb_scope_depth != st->depth || st->cb_scope_running != st->cb_running))) {
    napi_open_handle_scope(st->env, &own);
    return own;
  }
  if (st->cb_scope) {
    if (++st->cb_scope_uses <= CB_SCOPE_CALLS) return NULL;
    cffi_cb_scope_close(st);
  }
  if (napi_open_handle_scope(st->env, &st->cb_scope) != napi_ok) {
    st->cb_scope = NULL;
    return NULL;
  }
  st->cb_scope_depth = st->depth;
  st->cb_scope_running = st->cb_running;
  st->cb_scope_uses = 1;
  if (!st->pending) st->pending = (napi_ref)st->cb_scope;
  return NULL;
}

void cffi_cb_scope_close(cffi_env_t *st) {
  napi_close_handle_scope(st->env, st->cb_scope);
  st->cb_scope = NULL;
}

/* The closure handler: C calls of a JSCallback's pointer land here until it tiers up. */
static void cb_handler(ffi_cif *cif, void *ret, void **args, void *user) { cffi_cb_dispatch(user, ret, args); }

/* Every C call of a JSCallback's pointer: from cffi_direct_call or cb_handler, or from the JIT
 * trampoline, which pass the same libffi-style argument pointers and result buffer. */
void cffi_cb_dispatch(cffi_cb_t *cb, void *ret, void **args) {
  /* atomic: environment teardown (threads.c) repoints st at a dead environment from the JS
   * thread while other threads may be calling */
  cffi_env_t *st = __atomic_load_n(&cb->st, __ATOMIC_ACQUIRE);
  const bool on_js_thread = cffi_cb_on_js_thread(cb, st); /* st may be freed if not */
  if (cb->threadsafe && cb->sig.ret == CFFI_T_VOID) {
    if (!on_js_thread) __atomic_store_n(&((cb_ext_t *)cb)->foreign, true, __ATOMIC_RELEASE);
    cffi_threads_queue(cb, args);
    return;
  }
  if (!on_js_thread) {
    __atomic_store_n(&((cb_ext_t *)cb)->foreign, true, __ATOMIC_RELEASE);
    cffi_threads_call_blocking(cb, args, ret);
    return;
  }
  cb_ext_t *x = (cb_ext_t *)cb;
  if (x->tier == TIER_COUNTING && ++x->calls > (uint64_t)st->jit_threshold * CB_JIT_FACTOR && !cb->closed)
    cb_tier_up(x);
  cffi_slot_t raw[CFFI_MAX_ARGS], r = {0};
  cffi_cb_capture_args(cb, args, raw);
  if (cb->sig.ret == CFFI_T_LAYOUT) {
    r.ptr = ret;
    memset(ret, 0, cb->sig.x->layout[0]->size); /* also the answer after close() */
  }
  napi_handle_scope scope = cb_scope_enter(st);
  napi_value exc = NULL;
  cb->active++;
  st->cb_running++;
  if (cb->closed) {
    r.u64 = 0; /* called after close(): undefined behaviour in C terms; answer zero */
  } else if (cffi_cb_call_js(cb, raw, &r, &exc) != 0) {
    r.u64 = 0;
    if (exc) cffi_cb_report_exception(st, exc);
  }
  st->cb_running--;
  cb->active--;
  cffi_cb_write_ret(cb, &r, ret);
  if (scope) napi_close_handle_scope(st->env, scope);
  /* Closed during this invocation: threads.c frees it from the event loop (cb->active was
   * above 0 at close()), after this thread has returned through the trampoline. */
}

/* A new callback of signature *sig (taken: freed here on failure) calling `fn`: the wrapper,
 * or the user's function itself when cold (cb_call_cold) -> its handle (an External), with its
 * address in slot 0 (a pointer result: slot and tag) and `threadsafe` in slot 1 (int32). */
static napi_value cb_make(napi_env env, napi_value fn, cffi_sig_t *sig, bool threadsafe, bool cold) {
  napi_value handle;
  cb_ext_t *x = calloc(1, sizeof(*x));
  if (!x) {
    cffi_sig_free(sig);
    return cffi_throw_error(env, NULL, "cffi: out of memory");
  }
  cffi_cb_t *cb = &x->cb;
  cb->st = cffi_env_get(env);
  cb->thread = cb->st->thread;
  cb->sig = *sig;
  cb->threadsafe = threadsafe;
  if (cold) cb->cold = cb->st->jit_threshold ? cb->st->jit_threshold : 1;
  /* A direct entry (x86-64/arm64 Linux, not CFFI_JIT=0, layouts aligned to at most 16 bytes:
   * cffi_direct_fits), else a libffi closure: behind a stub where it may tier up, else its own
   * address. Direct entries need no
   * executable memory, so where the system refuses it they are the only way C can call a
   * callback (a closure cannot be made there). */
  bool tiers = cb->st->jit_enabled && !cb->sig.x && cffi_jit_supports(&cb->sig);
  if (cb->st->jit_enabled && cffi_direct_fits(&cb->sig)) x->stub = cffi_direct_alloc(cb);
  if (!x->stub) {
    /* libffi's data for the closure (a direct entry needs none) */
    cb_ffi_t *f = cb->ffi = calloc(1, sizeof(*f));
    if (!f) {
      cffi_throw_error(env, NULL, "cffi: out of memory");
      goto fail;
    }
    cffi_closure_arg_types(&cb->sig, (void **)f->atypes);
    if (ffi_prep_cif(&f->cif, FFI_DEFAULT_ABI, cb->sig.nargs, cffi_sig_ffi_type(&cb->sig, 0), f->atypes) != FFI_OK) {
      cffi_throw_error(env, "ERR_CFFI_FFI", "cffi: libffi could not prepare this callback signature");
      goto fail;
    }
    cb->closure = cffi_closure_alloc(&x->closure_code); /* cb_stub.c: cheaper than libffi's */
    x->own_closure = cb->closure != NULL;
    /* Where the probe found no executable memory, libffi's allocator would only ask for
     * writable+executable pages in vain (and a policy would log the denial). */
    bool refused = cffi_exec_probe(NULL) == CFFI_EXEC_NONE;
    if (!cb->closure && !refused) cb->closure = ffi_closure_alloc(sizeof(ffi_closure), &x->closure_code);
    if (!cb->closure) {
      cffi_throw_error(env, "ERR_CFFI_FFI", refused ? "cffi: could not allocate a closure: the system refuses executable memory"
                                                    : "cffi: could not allocate a closure");
      goto fail;
    }
    if (ffi_prep_closure_loc(cb->closure, &f->cif, cb_handler, cb, x->closure_code) != FFI_OK) {
      cffi_throw_error(env, "ERR_CFFI_FFI", "cffi: could not prepare a closure");
      goto fail;
    }
    if (tiers) x->stub = cffi_stub_alloc(x->closure_code);
  }
  x->tier = x->stub && tiers ? TIER_COUNTING : TIER_NONE;
  cb->code = x->stub ? x->stub : x->closure_code;
  if (cffi_threads_cb_init(cb) != 0) {
    cffi_throw_error(env, "ERR_CFFI_THREADS", "cffi: could not set up the callback's thread relay");
    goto fail;
  }
  if (napi_create_reference(env, fn, 1, &cb->fn) != napi_ok) {
    cffi_throw_last(env);
    goto fail;
  }
  /* No finalizer: close() frees the callback, and one never closed stays (C may hold its
   * pointer). A finalizer, even an empty one, would hold memory until the event loop turns
   * (Node-API runs finalizers from it; SPEC §16). */
  if (napi_create_external(env, cb, NULL, NULL, &handle) != napi_ok) {
    cffi_throw_last(env);
    goto fail;
  }
  /* the address and `threadsafe` go back through the shared buffer: an array of three cost
   * five Node-API calls more per callback */
  cffi_env_t *st = cb->st;
  cffi_slot_t a = {.ptr = cb->code};
  cffi_store_value(CFFI_T_PTR, a, &st->slots[0], &st->tags[0]);
  st->slots[1].i32 = threadsafe;
  return handle;
fail:
  if (cb->fn) napi_delete_reference(env, cb->fn);
  cb->fn = NULL; /* cffi_threads_cb_close would delete it again */
  if (cb->relay) cffi_threads_cb_close(cb);
  else cb_free(cb);
  return NULL;
}

/* The function cold callbacks hand their work to (lib/library.js coldLater; one per
 * environment): kept from the first cold callback on. false when `later` is not a function. */
static bool cb_cold_later(napi_env env, cffi_env_t *st, napi_value later) {
  napi_valuetype vt;
  if (napi_typeof(env, later, &vt) != napi_ok || vt != napi_function) return false;
  return st->cold_later || napi_create_reference(env, later, 1, &st->cold_later) == napi_ok;
}

/* callback(fn, ret, args, threadsafe, later) -> cb_make's handle and slots: fn is
 * the signature's wrapper made for the user's function, or with `later` (coldLater) the
 * user's function itself, called cold. */
static napi_value cb_create(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  cffi_sig_t sig;
  bool threadsafe = false;
  if (cffi_sig_from_js(env, argv[1], argv[2], &sig) != 0) return NULL;
  napi_get_value_bool(env, argv[3], &threadsafe);
  return cb_make(env, argv[0], &sig, threadsafe, cb_cold_later(env, cffi_env_get(env), argv[4]));
}

/* callbackOf(fn, args, returns, threadsafe, later) -> `new JSCallback(fn, def)`'s handle and
 * slots (cb_make), fn a function (lib/library.js checks), made cold, when decl.c reads def's
 * fields and cold calls apply: no wrapper
 * of the signature may exist yet (lib/library.js then gives new callbacks that one), and
 * CFFI_JIT_THRESHOLD is not 0. Otherwise undefined, and lib/library.js makes the callback
 * (with the errors of a bad declaration). */
static napi_value cb_create_of(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  cffi_env_t *st = cffi_env_get(env);
  if (st->cb_wrappers > 0 || st->jit_threshold == 0) return NULL;
  cffi_sig_t sig;
  bool threadsafe;
  if (cffi_decl_callback(env, argv[1], argv[2], argv[3], &sig, &threadsafe) <= 0) return NULL; /* declined */
  /* `later` is always lib/'s coldLater here: once kept, it need not be asked again */
  if (!st->cold_later && !cb_cold_later(env, st, argv[4])) return NULL;
  return cb_make(env, argv[0], &sig, threadsafe, true);
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
  /* Every callback has a relay node (cb_create): threads.c releases fn and frees cb now, or
   * once it is no longer running and every queued invocation was delivered. */
  cffi_threads_cb_close(cb);
  return NULL;
}

void cffi_cb_free(cffi_cb_t *cb) { cb_free(cb); }

napi_status cffi_init_callback(napi_env env, napi_value exports) {
  CFFI_EXPORT_FN(env, exports, "callback", cb_create);
  CFFI_EXPORT_FN(env, exports, "callbackOf", cb_create_of);
  CFFI_EXPORT_FN(env, exports, "callbackClose", cb_close);
  return napi_ok;
}

void cffi_callback_env_cleanup(cffi_env_t *st) { cffi_threads_env_cleanup(st); }
