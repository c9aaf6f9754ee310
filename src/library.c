/* library.c: loading libraries and binding C functions. dlopen/dlsym/dlclose for lib/library.js
 * (and the handles of cc()'s compiled code, whose close() frees the code: cc.c),
 * and link(), which turns a list of (address, signature) into a batch: one handle owning a
 * cffi_fn_t per function (freed at once by close(): release()), whose native call functions
 * are made when needed (entry(): libffi; jit(): the whole batch compiled by TinyCC where it
 * can). Also viewSource's native half. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "cffi.h"

/* A library handle: an External without a finalizer (a finalizer, even a trivial one, holds
 * memory until the event loop turns, SPEC §16). close() unloads and frees it; lib/ calls close()
 * at most once per handle. One never closed stays, as its library stays loaded (SPEC §3, §16). */
typedef struct {
  void *handle;
  void (*unload)(void *); /* NULL: dlclose (cc.c's handles free compiled code instead) */
} lib_t;

/* A malloc'd UTF-8 copy of the JS string v, or NULL with an exception pending. */
static char *string_copy(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    cffi_throw_last(env);
    return NULL;
  }
  char *s = malloc(len + 1);
  if (!s) {
    cffi_throw_error(env, NULL, "cffi: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

/* The JS string of generated source src (malloc'd, freed here; NULL: out of memory), or NULL
 * with an exception pending. The generators write ASCII (names are plain identifiers), which
 * V8 copies as Latin-1 without decoding: a first dlopen + 9 -16 to -25 us (paired medians). */
static napi_value source_string(napi_env env, char *src) {
  napi_value out;
  if (!src) return cffi_throw_error(env, NULL, "cffi: out of memory");
  size_t len = 0;
  bool ascii = true;
  for (; src[len]; len++) ascii &= (unsigned char)src[len] < 0x80;
  napi_status s = ascii ? napi_create_string_latin1(env, src, len, &out) : napi_create_string_utf8(env, src, len, &out);
  free(src);
  CFFI_CALL(env, s);
  return out;
}

/* open(path | null) -> External (library) | string (the loader's reason) */
static napi_value lib_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype t;
  CFFI_CALL(env, napi_typeof(env, argv[0], &t));
  char *path = NULL;
  if (t == napi_string && !(path = string_copy(env, argv[0]))) return NULL;
  dlerror();
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  free(path);
  if (!h) {
    const char *why = dlerror();
    CFFI_CALL(env, napi_create_string_utf8(env, why ? why : "unknown error", NAPI_AUTO_LENGTH, &out));
    return out;
  }
  out = cffi_lib_handle(env, h, NULL);
  if (!out) dlclose(h);
  return out;
}

napi_value cffi_lib_handle(napi_env env, void *handle, void (*unload)(void *)) {
  napi_value out;
  lib_t *lib = calloc(1, sizeof(*lib));
  if (!lib) return cffi_throw_error(env, NULL, "cffi: out of memory");
  lib->handle = handle;
  lib->unload = unload;
  if (napi_create_external(env, lib, NULL, NULL, &out) != napi_ok) {
    free(lib);
    cffi_throw_last(env);
    return NULL;
  }
  return out;
}

static lib_t *get_lib(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
    cffi_throw_type(env, NULL, "cffi: expected a library handle");
    return NULL;
  }
  return p;
}

/* sym(lib, [name, ...], from): looks up names[from], names[from + 1], ... (CFFI_MAX_ARGS + 1 of
 * them at most, fewer at the end) and leaves each address in the shared buffer's slot
 * 0, 1, ... as a pointer result (NULL: not found). Through the buffer rather than an array of
 * numbers: with link() returning no array either, a first dlopen of a process binds no
 * napi_create_array_with_length, napi_set_element or napi_create_double (each first use of a
 * Node-API function costs ~10 us here, the dynamic linker's lookup in node's symbols). */
static napi_value lib_sym(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  lib_t *lib = get_lib(env, argv[0]);
  if (!lib) return NULL;
  cffi_env_t *st = cffi_env_get(env);
  void *handle = lib->handle;
  uint32_t n;
  double from;
  CFFI_CALL(env, napi_get_array_length(env, argv[1], &n));
  CFFI_CALL(env, napi_get_value_double(env, argv[2], &from));
  if (!(from >= 0 && from < n)) return NULL; /* lib/library.js passes 0, 65, ... below n */
  for (uint32_t s = 0; s <= CFFI_MAX_ARGS && from + s < n; s++) {
    char name[1024];
    size_t len;
    napi_value e;
    CFFI_CALL(env, napi_get_element(env, argv[1], (uint32_t)from + s, &e));
    CFFI_CALL(env, napi_get_value_string_utf8(env, e, name, sizeof name, &len));
    cffi_slot_t v = {.ptr = len < sizeof name - 1 ? dlsym(handle, name) : NULL};
    cffi_store_value(CFFI_T_PTR, v, &st->slots[s], &st->tags[s]);
  }
  return NULL;
}

/* close(lib): unloads the library (or frees cc()'s code) and frees the handle's bookkeeping.
 * lib/ calls it once per handle; the handle is unusable afterwards. */
static napi_value lib_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  lib_t *lib = get_lib(env, argv[0]);
  if (!lib) return NULL;
  if (lib->unload) lib->unload(lib->handle);
  else dlclose(lib->handle);
  free(lib);
  return NULL;
}

static void free_names(char **names, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

static void fn_free(cffi_fn_t *fn) {
  if (!fn) return;
  if (fn->code) cffi_code_release(fn->code);
  cffi_ffi_release(fn);
  cffi_sig_free(&fn->sig);
  free(fn);
}

/* The functions of one link() (a dlopen, linkSymbols or CFunction). The batch handle is a
 * plain JS object wrapping the batch (napi_wrap). close() frees the batch at once (release()):
 * napi_remove_wrap drops the wrap with its finalizer, so nothing waits for the event loop
 * (Node-API runs finalizers from it: a synchronous loop of dlopen + close held ~1 KB each,
 * SPEC §16). A batch never closed is freed by the wrap's finalizer when collected.
 * `refs`: one for the handle (until close() or GC) and one per async call in flight
 * (cffi_batch_hold), whose C function runs on a pool thread. A close() while a synchronous
 * call is in flight (st->depth > 0: a callback inside C) cannot free at once, since a function
 * of this batch could be on the stack: the batch then waits in st->zombies until the next
 * link() or release() with no call in flight, or the environment's end.
 * The native functions of entry() and jit() take a cffi_fn_t as data and own nothing: they
 * are only reachable from the JS closures that also hold the handle (lib/library.js), which
 * stop calling them at close(). */
struct cffi_batch_s {
  cffi_batch_t *next_zombie;
  uint32_t refs;
  uint32_t n;
  cffi_fn_t *fns[];
};
typedef cffi_batch_t batch_t;

static void batch_free(batch_t *b) {
  for (uint32_t i = 0; i < b->n; i++) fn_free(b->fns[i]);
  free(b);
}

/* Frees the batches closed while a call was in flight, once none is (JS thread). */
static void free_zombies(cffi_env_t *st, bool force) {
  if (!force && st->depth > 0) return;
  while (st->zombies) {
    batch_t *b = st->zombies;
    st->zombies = b->next_zombie;
    batch_free(b);
  }
}

void cffi_batch_hold(cffi_fn_t *fn) { fn->batch->refs++; }

/* Drops one reference (JS thread). No call of the batch can be in flight when the handle was
 * collected or an async call settled; after close(), one may be (st->depth). */
static void batch_unref(cffi_env_t *st, batch_t *b, bool maybe_in_call) {
  if (--b->refs != 0) return;
  if (maybe_in_call && st->depth > 0) {
    b->next_zombie = st->zombies;
    st->zombies = b;
    return;
  }
  batch_free(b);
}

void cffi_batch_unhold(cffi_fn_t *fn) { batch_unref(fn->st, fn->batch, false); }

void cffi_library_env_cleanup(cffi_env_t *st) { free_zombies(st, true); }

static void batch_finalize(napi_env env, void *data, void *hint) {
  batch_t *b = data;
  if (--b->refs == 0) batch_free(b); /* reads nothing of the environment: may run at its end */
}

static batch_t *get_batch(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_unwrap(env, v, &p) != napi_ok || !p) {
    cffi_throw_type(env, NULL, "cffi: expected a batch handle (or the batch is closed)");
    return NULL;
  }
  return p;
}

/* The index is read as a double, the function dlopen has already bound (layout.c sig_type):
 * a first call binds no Node-API function of its own. */
static cffi_fn_t *batch_fn(napi_env env, batch_t *b, napi_value index) {
  double i;
  if (!b) return NULL;
  if (napi_get_value_double(env, index, &i) != napi_ok || !cffi_is_index(i, b->n)) {
    cffi_throw_type(env, NULL, "cffi: no such function in the batch");
    return NULL;
  }
  return b->fns[(uint32_t)i];
}

cffi_fn_t *cffi_batch_fn(napi_env env, napi_value batch, napi_value index) {
  return batch_fn(env, get_batch(env, batch), index);
}

/* The batch of a link() key: an External without a finalizer, so looking it up costs no
 * napi_unwrap (whose first use in a process took 10-15 us, most of a first call). Only the
 * generated functions hold a key, and they also hold the handle (through their `count`), so the
 * batch lives while they do; close() makes them throw before release() frees it. */
cffi_fn_t *cffi_batch_key_fn(napi_env env, napi_value key, napi_value index) {
  void *b = NULL;
  if (napi_get_value_external(env, key, &b) != napi_ok || !b) {
    cffi_throw_type(env, NULL, "cffi: expected a batch key");
    return NULL;
  }
  return batch_fn(env, b, index);
}

/* release(batch): close() of a batch: frees it now (or once the call in flight returned, or
 * the last async call settled). Its handle is unusable from here on. */
static napi_value lib_release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  cffi_env_t *st = cffi_env_get(env);
  void *p = NULL;
  if (napi_remove_wrap(env, argv[0], &p) != napi_ok || !p) return NULL; /* already released */
  batch_unref(st, p, true);
  free_zombies(st, false);
  return NULL;
}

/* link([[address, ret, [args...], name | null], ...]) -> batch: a handle owning a cffi_fn_t per
 * entry, same order, with two properties: `source`, the JS source of its symbol functions
 * (jsgen.c), which names each function `name` where it can, and `key`, what callAt takes
 * (cffi_batch_key_fn); properties of the handle rather than an array of three, which a first
 * dlopen would bind two more Node-API functions for (see sym). No native function is
 * made here: calls go through callAt (call_ffi.c) until the batch tiers up, then jit(), and
 * entry() for the functions the JIT leaves on libffi. */
static napi_value lib_link(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  cffi_env_t *st = cffi_env_get(env);
  uint32_t n;
  CFFI_CALL(env, napi_get_array_length(env, argv[0], &n));
  free_zombies(st, false);
  batch_t *b = calloc(1, sizeof(*b) + (n ? n : 1) * sizeof(cffi_fn_t *));
  if (!b) return cffi_throw_error(env, NULL, "cffi: out of memory");
  b->n = n;
  b->refs = 1;
  cffi_fn_t **fns = b->fns;
  char **names = calloc(n ? n : 1, sizeof(*names));
  if (!names) {
    free(b);
    return cffi_throw_error(env, NULL, "cffi: out of memory");
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value entry, addr, ret, args, name;
    napi_valuetype nt;
    if (napi_get_element(env, argv[0], i, &entry) != napi_ok ||
        napi_get_element(env, entry, 0, &addr) != napi_ok ||
        napi_get_element(env, entry, 1, &ret) != napi_ok ||
        napi_get_element(env, entry, 2, &args) != napi_ok ||
        napi_get_element(env, entry, 3, &name) != napi_ok || napi_typeof(env, name, &nt) != napi_ok) {
      cffi_throw_last(env);
      goto fail;
    }
    if (nt == napi_string && !(names[i] = string_copy(env, name))) goto fail;
    cffi_fn_t *fn = fns[i] = calloc(1, sizeof(*fn));
    if (!fn) {
      cffi_throw_error(env, NULL, "cffi: out of memory");
      goto fail;
    }
    fn->st = st;
    fn->batch = b;
    if (cffi_get_address(env, addr, &fn->addr) != 0 || cffi_sig_from_js(env, ret, args, &fn->sig) != 0)
      goto fail;
    if (cffi_ffi_prepare(fn) != 0) {
      cffi_throw_error(env, "ERR_CFFI_FFI", "cffi: libffi could not prepare this signature");
      goto fail;
    }
  }

  napi_value batch, source = source_string(env, cffi_jsgen_batch(fns, (const char *const *)names, n));
  if (!source) goto fail;
  if (napi_create_object(env, &batch) != napi_ok || napi_wrap(env, batch, b, batch_finalize, NULL, NULL) != napi_ok) {
    cffi_throw_last(env);
    goto fail;
  }
  free_names(names, n); /* the batch is owned by its handle from here */
  napi_value key;
  if (napi_create_external(env, b, NULL, NULL, &key) != napi_ok ||
      napi_set_named_property(env, batch, "source", source) != napi_ok ||
      napi_set_named_property(env, batch, "key", key) != napi_ok) {
    cffi_throw_last(env);
    return NULL;
  }
  return batch;

fail:
  for (uint32_t j = 0; j < n; j++) fn_free(fns[j]);
  free_names(names, n);
  free(b);
  return NULL;
}

/* entry(batch, i) -> the libffi call function of the batch's function i. */
static napi_value lib_entry(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], f;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  cffi_fn_t *fn = cffi_batch_fn(env, argv[0], argv[1]);
  if (!fn) return NULL;
  CFFI_CALL(env, napi_create_function(env, "call", NAPI_AUTO_LENGTH, cffi_ffi_invoke, fn, &f));
  return f;
}

/* jit(batch) -> for each function of the batch, its JIT-compiled call function, or null where
 * the signature is not supported or compiling failed. The batch is compiled once, in one
 * TinyCC state; the compiled code lives as long as the batch. */
static napi_value lib_jit(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  cffi_env_t *st = cffi_env_get(env);
  batch_t *b = get_batch(env, argv[0]);
  if (!b) return NULL;
  uint32_t n = b->n;
  cffi_fn_t *const *fns = b->fns;
  cffi_fn_t **todo = calloc(n ? n : 1, sizeof(*todo));
  if (!todo) return cffi_throw_error(env, NULL, "cffi: out of memory");
  size_t nt = 0;
  const bool jit = cffi_jit_on(st);
  for (uint32_t i = 0; i < n && jit; i++) {
    cffi_fn_t *fn = fns[i];
    if (!fn->jit_entry && cffi_jit_supports(&fn->sig)) todo[nt++] = fn;
  }
  if (nt) cffi_jit_link(st, todo, nt); /* on failure: everything stays on libffi */
  free(todo);
  napi_status s = napi_create_array_with_length(env, n, &out);
  for (uint32_t i = 0; s == napi_ok && i < n; i++) {
    napi_value f;
    if (fns[i]->jit_entry)
      s = napi_create_function(env, "call", NAPI_AUTO_LENGTH, fns[i]->jit_entry, fns[i], &f);
    else
      s = napi_get_null(env, &f);
    if (s == napi_ok) s = napi_set_element(env, out, i, f);
  }
  CFFI_CALL(env, s);
  return out;
}

/* inCall() -> true while a synchronous FFI call is in flight on this thread (a callback is
 * running inside C): unloading a library then could pull code from under that C frame. */
static napi_value lib_in_call(napi_env env, napi_callback_info info) {
  napi_value out;
  CFFI_CALL(env, napi_get_boolean(env, cffi_env_get(env)->depth > 0, &out));
  return out;
}

/* source(ret, args, isCallback) -> generated C, or null when the signature runs on libffi. */
static napi_value lib_source(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  cffi_sig_t sig;
  if (cffi_sig_from_js(env, argv[0], argv[1], &sig) != 0) return NULL;
  bool cb = false;
  napi_get_value_bool(env, argv[2], &cb);
  char *src = cb ? cffi_codegen_callback_source(&sig) : cffi_codegen_call_source(&sig, "call");
  cffi_sig_free(&sig);
  if (!src) {
    CFFI_CALL(env, napi_get_null(env, &out));
    return out;
  }
  return source_string(env, src);
}

/* jsCallback(ret, args) / jsAsync(ret, args) -> the JS source that makes a JSCallback's
 * wrapper, or a signature's `.async` writer and reader (jsgen.c). */
static napi_value js_source(napi_env env, napi_callback_info info, char *(*gen)(const cffi_sig_t *)) {
  size_t argc = 2;
  napi_value argv[2];
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  cffi_sig_t sig;
  if (cffi_sig_from_js(env, argv[0], argv[1], &sig) != 0) return NULL;
  char *src = gen(&sig);
  cffi_sig_free(&sig);
  return source_string(env, src);
}

static napi_value lib_js_callback(napi_env env, napi_callback_info info) {
  cffi_env_get(env)->cb_wrappers++; /* new callbacks go lib/library.js's way (cb_create_of) */
  return js_source(env, info, cffi_jsgen_callback);
}

static napi_value lib_js_async(napi_env env, napi_callback_info info) {
  return js_source(env, info, cffi_jsgen_async);
}

napi_status cffi_init_library(napi_env env, napi_value exports) {
  CFFI_EXPORT_FN(env, exports, "open", lib_open);
  CFFI_EXPORT_FN(env, exports, "sym", lib_sym);
  CFFI_EXPORT_FN(env, exports, "close", lib_close);
  CFFI_EXPORT_FN(env, exports, "link", lib_link);
  CFFI_EXPORT_FN(env, exports, "jsCallback", lib_js_callback);
  return napi_ok;
}

/* tier-up (jit, entry), close() (inCall, release), viewSource (source), .async (jsAsync) */
napi_status cffi_init_library_later(napi_env env, napi_value later) {
  CFFI_EXPORT_FN(env, later, "entry", lib_entry);
  CFFI_EXPORT_FN(env, later, "jit", lib_jit);
  CFFI_EXPORT_FN(env, later, "inCall", lib_in_call);
  CFFI_EXPORT_FN(env, later, "release", lib_release);
  CFFI_EXPORT_FN(env, later, "source", lib_source);
  CFFI_EXPORT_FN(env, later, "jsAsync", lib_js_async);
  return napi_ok;
}
