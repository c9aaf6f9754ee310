/* memory.c: the raw work behind ptr(), read.*, toArrayBuffer/toBuffer, CString and the
 * layout types' read/write (copyIn/copyOut)
 * (lib/memory.js validates every argument and produces the error messages; C trusts it).
 *
 * Hot paths (ptr, read.*) avoid Node-API argument and result conversions: each environment
 * owns a small "scratch" ArrayBuffer that JS also sees as typed arrays. JS writes the
 * address into scratch[0] (a uint64), calls a zero-argument native function, and reads the
 * result back from scratch[1] through the view of the right type. Nothing in between can
 * run JS, so one scratch per environment is enough. Must be kept in sync with
 * lib/memory.js (SCRATCH_* layout).
 *
 * Deallocators of toArrayBuffer/toBuffer never run inside the napi finalizer: the finalizer
 * only queues the call on a per-environment threadsafe function (made when the first
 * deallocator is given, not at require), whose callback runs it on
 * the JS thread from the event loop (with a proper callback scope, so a JSCallback used as
 * deallocator can run JS and its exceptions surface as uncaught exceptions). Node closes
 * the threadsafe function itself at environment teardown; calls still queued then are
 * dropped (JS can no longer run and a JSCallback deallocator may already be freed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cffi.h"

#define SCRATCH_WORDS 4 /* [0] address in, [1] result out, [2..3] more arguments (memCopyIn/Out) */

typedef struct mem_state_s {
  uint64_t *scratch;          /* data of the scratch ArrayBuffer (kept alive by binding_ref) */
  napi_ref binding_ref;       /* the object binding.memory() returns, made on its first call */
  napi_threadsafe_function tsfn; /* runs queued deallocators; made with the first external buffer
                                  * that has one (tsfn_made), NULL again once Node closed it */
  bool tsfn_made;
  size_t queued;              /* deallocations queued and not yet run (tsfn is ref'd while > 0) */
  size_t live;                /* external buffers with a deallocator not yet finalized */
  bool env_alive;             /* cffi_memory_env_cleanup not yet called */
} mem_state_t;

typedef struct {
  mem_state_t *ms;
  void (*fn)(void *bytes, void *ctx);
  void *bytes;
  void *ctx;
} dealloc_t;

static mem_state_t *state(napi_env env) {
  cffi_env_t *st = cffi_env_get(env);
  return st ? st->memory : NULL;
}

/* Frees the state once nothing can reach it any more. */
static void maybe_free(mem_state_t *ms) {
  if (!ms->env_alive && !ms->tsfn && ms->live == 0) free(ms);
}

/* ---- read.* and ptr(): the scratch convention ------------------------------------------ */

#define LOAD_FN(name, width)                                                          \
  static napi_value name(napi_env env, napi_callback_info info) {                     \
    uint64_t *s = state(env)->scratch;                                                \
    memcpy(&s[1], (const void *)(uintptr_t)s[0], width);                             \
    return NULL;                                                                      \
  }
LOAD_FN(load1, 1)
LOAD_FN(load2, 2)
LOAD_FN(load4, 4)
LOAD_FN(load8, 8)

/* ptrView(view): TypedArray/Buffer or DataView -> scratch[1] = address of its first byte.
 * napi_get_typedarray_info moves an on-heap typed array's bytes off the V8 heap, so the
 * address is stable from then on. */
static napi_value ptr_view(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value v;
  void *data = NULL;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, &v, NULL, NULL));
  if (napi_get_typedarray_info(env, v, NULL, NULL, &data, NULL, NULL) != napi_ok)
    CFFI_CALL(env, napi_get_dataview_info(env, v, NULL, &data, NULL, NULL));
  state(env)->scratch[1] = (uintptr_t)data;
  return NULL;
}

static napi_value ptr_arraybuffer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value v;
  void *data = NULL;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, &v, NULL, NULL));
  CFFI_CALL(env, napi_get_arraybuffer_info(env, v, &data, NULL));
  state(env)->scratch[1] = (uintptr_t)data;
  return NULL;
}

/* ---- Addresses given as arguments (non-hot paths) -------------------------------------- */

/* A number (exact integer, validated in JS) or a BigInt -> address. */
static int get_addr(napi_env env, napi_value v, void **out) {
  double d;
  napi_status s = napi_get_value_double(env, v, &d);
  if (s == napi_ok) {
    *out = (void *)(uintptr_t)(uint64_t)d;
    return 0;
  }
  uint64_t u;
  bool lossless;
  CFFI_CALL_INT(env, napi_get_value_bigint_uint64(env, v, &u, &lossless));
  *out = (void *)(uintptr_t)u;
  return 0;
}

/* ---- Layouts: copies between C memory and the shared buffer's layout area ------------- */

/* copyIn(address, bufferOffset, size): C memory -> shared buffer; copyOut(...): the reverse.
 * lib/layout.js's L.read / L.write (SPEC §17.4) validate the address as read.* does; the
 * bytes [bufferOffset, bufferOffset + size) must lie in the layout area, checked here.
 * memCopyIn() / memCopyOut() do the same with the arguments in the scratch words
 * (scratch[0] address, scratch[2] bufferOffset, scratch[3] size): no Node-API conversions,
 * a third of the cost (L.read in a loop over a C array of structs). */
static napi_value copy_area(napi_env env, void *addr, uint64_t off, uint64_t size, bool in) {
  if (off < CFFI_AREA_OFFSET || off > CFFI_BUF_SIZE || size > CFFI_BUF_SIZE - off)
    return cffi_throw_range(env, NULL, "copyIn/copyOut: bytes outside the layout area");
  if ((uintptr_t)addr < 4096) return cffi_throw_type(env, NULL, "copyIn/copyOut: invalid address");
  uint8_t *area = (uint8_t *)cffi_env_get(env)->slots + off;
  if (in)
    memcpy(area, addr, (size_t)size);
  else
    memcpy(addr, area, (size_t)size);
  return NULL;
}

static napi_value copy_args(napi_env env, napi_callback_info info, bool in) {
  size_t argc = 3;
  napi_value argv[3];
  void *addr;
  int64_t off, size;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return cffi_throw_type(env, NULL, "copyIn/copyOut: expected (address, bufferOffset, size)");
  if (get_addr(env, argv[0], &addr) < 0) return NULL;
  CFFI_CALL(env, napi_get_value_int64(env, argv[1], &off));
  CFFI_CALL(env, napi_get_value_int64(env, argv[2], &size));
  if (off < 0 || size < 0) return cffi_throw_range(env, NULL, "copyIn/copyOut: bytes outside the layout area");
  return copy_area(env, addr, (uint64_t)off, (uint64_t)size, in);
}

static napi_value copy_in(napi_env env, napi_callback_info info) { return copy_args(env, info, true); }
static napi_value copy_out(napi_env env, napi_callback_info info) { return copy_args(env, info, false); }

static napi_value scratch_copy_in(napi_env env, napi_callback_info info) {
  uint64_t *s = state(env)->scratch;
  return copy_area(env, (void *)(uintptr_t)s[0], s[2], s[3], true);
}

static napi_value scratch_copy_out(napi_env env, napi_callback_info info) {
  uint64_t *s = state(env)->scratch;
  return copy_area(env, (void *)(uintptr_t)s[0], s[2], s[3], false);
}

/* ---- toArrayBuffer / toBuffer ---------------------------------------------------------- */

static void run_dealloc(napi_env env, napi_value js_cb, void *context, void *data) {
  dealloc_t *d = data;
  mem_state_t *ms = d->ms;
  /* env == NULL: the threadsafe function is being torn down; drop the call. */
  if (env) d->fn(d->bytes, d->ctx);
  free(d);
  if (env && ms->queued > 0 && --ms->queued == 0 && ms->tsfn)
    napi_unref_threadsafe_function(env, ms->tsfn);
}

static void tsfn_finalize(napi_env env, void *data, void *hint) {
  mem_state_t *ms = data;
  ms->tsfn = NULL;
  maybe_free(ms);
}

/* napi finalizer of an external buffer with a deallocator: only queue the call. */
static void on_external_gc(napi_env env, void *bytes, void *hint) {
  dealloc_t *d = hint;
  mem_state_t *ms = d->ms;
  ms->live--;
  if (ms->env_alive && ms->tsfn &&
      napi_call_threadsafe_function(ms->tsfn, d, napi_tsfn_nonblocking) == napi_ok) {
    cffi_env_t *st = cffi_env_get(env);
    /* Keep the event loop alive until the call ran (uv_ref: JS thread only). */
    if (ms->queued++ == 0 && st && pthread_equal(st->thread, pthread_self()))
      napi_ref_threadsafe_function(env, ms->tsfn);
  } else {
    free(d);
  }
  maybe_free(ms);
}

/* The threadsafe function that runs deallocators, unref'd while none is queued. */
static napi_status make_tsfn(napi_env env, mem_state_t *ms) {
  napi_value name;
  napi_status s = napi_create_string_utf8(env, "cffi:deallocator", NAPI_AUTO_LENGTH, &name);
  if (s == napi_ok)
    s = napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, ms, tsfn_finalize, NULL, run_dealloc, &ms->tsfn);
  if (s != napi_ok) return s;
  ms->tsfn_made = true;
  return napi_unref_threadsafe_function(env, ms->tsfn);
}

/* makeExternal(asBuffer, address, length, deallocator, context): length < 0 -> strlen.
 * deallocator 0 -> borrowed memory, nothing runs. Validated in JS, except that a strlen
 * above the Buffer limit throws here. An ArrayBuffer has no limit of cffi's (SPEC §11), but
 * Node-API makes external ones through a Buffer (Node 20: at most 2^32 bytes): Node's
 * ERR_BUFFER_TOO_LARGE, an Error from C++, is rethrown as the RangeError it is in JS. */
static napi_value make_external(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool as_buffer;
  double dlen;
  void *addr, *fn, *ctx;
  CFFI_CALL(env, napi_get_value_bool(env, argv[0], &as_buffer));
  if (get_addr(env, argv[1], &addr) < 0) return NULL;
  CFFI_CALL(env, napi_get_value_double(env, argv[2], &dlen));
  if (get_addr(env, argv[3], &fn) < 0 || get_addr(env, argv[4], &ctx) < 0) return NULL;
  size_t len = dlen < 0 ? strlen(addr) : (size_t)dlen;
  if (dlen < 0 && as_buffer && len > ((size_t)1 << 32))
    return cffi_throw_range(env, "ERR_BUFFER_TOO_LARGE", "Cannot create a Buffer larger than 4294967296 bytes");

  dealloc_t *d = NULL;
  mem_state_t *ms = state(env);
  if (fn && !ms->tsfn_made && make_tsfn(env, ms) != napi_ok) {
    cffi_throw_last(env);
    return NULL;
  }
  if (fn) {
    d = malloc(sizeof(*d));
    if (!d) return cffi_throw_error(env, NULL, "cffi: out of memory");
    *d = (dealloc_t){ms, (void (*)(void *, void *))fn, addr, ctx};
  }
  napi_value out;
  napi_status s;
  if (as_buffer)
    s = napi_create_external_buffer(env, len, addr, d ? on_external_gc : NULL, d, &out);
  else
    s = napi_create_external_arraybuffer(env, addr, len, d ? on_external_gc : NULL, d, &out);
  if (s != napi_ok) {
    free(d);
    napi_value exc, v;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!as_buffer && pending && napi_get_and_clear_last_exception(env, &exc) == napi_ok) {
      char code[32] = "", text[160] = "";
      size_t n;
      if (napi_get_named_property(env, exc, "code", &v) == napi_ok) napi_get_value_string_utf8(env, v, code, sizeof(code), &n);
      if (strcmp(code, "ERR_BUFFER_TOO_LARGE") != 0) return napi_throw(env, exc), NULL;
      if (napi_get_named_property(env, exc, "message", &v) == napi_ok) napi_get_value_string_utf8(env, v, text, sizeof(text), &n);
      char msg[256];
      snprintf(msg, sizeof(msg), "Cannot create an ArrayBuffer of %zu bytes: this Node.js makes external ArrayBuffers as Buffers (%s)", len, text);
      return cffi_throw_range(env, "ERR_BUFFER_TOO_LARGE", msg);
    }
    cffi_throw_last(env);
    return NULL;
  }
  if (d) ms->live++;
  return out;
}

/* strlen(address) as a number (for CString's arrayBuffer and tests). */
static napi_value str_len(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value v, out;
  void *addr;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, &v, NULL, NULL));
  if (get_addr(env, v, &addr) < 0) return NULL;
  CFFI_CALL(env, napi_create_double(env, (double)strlen(addr), &out));
  return out;
}

/* ---- CString --------------------------------------------------------------------------- */

/* decodeUtf8(address, length): length < 0 -> up to the NUL. Bad sequences -> U+FFFD. */
static napi_value decode_utf8(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *addr;
  double dlen;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (get_addr(env, argv[0], &addr) < 0) return NULL;
  CFFI_CALL(env, napi_get_value_double(env, argv[1], &dlen));
  return cffi_utf8_value(env, addr, dlen < 0 ? strlen(addr) : (size_t)dlen);
}

/* ---- Registration and teardown --------------------------------------------------------- */

/* The functions of lib/memory.js and lib/layout.js and the scratch buffer, on an object of
 * their own: those modules load on first use. Made at require("cffi") with the deallocators'
 * threadsafe function, they cost 60-90 us of every require. */
static napi_status make_memory_binding(napi_env env, void *ctx, napi_value *result) {
  mem_state_t *ms = ctx;
  napi_status s;
  napi_value out, ab;
  void *data;
  if ((s = napi_create_object(env, &out)) != napi_ok) return s;
  if ((s = napi_create_arraybuffer(env, SCRATCH_WORDS * 8, &data, &ab)) != napi_ok) return s;
  memset(data, 0, SCRATCH_WORDS * 8);
  if ((s = napi_set_named_property(env, out, "memScratch", ab)) != napi_ok) return s;
  CFFI_EXPORT_FN(env, out, "memLoad1", load1);
  CFFI_EXPORT_FN(env, out, "memLoad2", load2);
  CFFI_EXPORT_FN(env, out, "memLoad4", load4);
  CFFI_EXPORT_FN(env, out, "memLoad8", load8);
  CFFI_EXPORT_FN(env, out, "memPtrView", ptr_view);
  CFFI_EXPORT_FN(env, out, "memPtrArrayBuffer", ptr_arraybuffer);
  CFFI_EXPORT_FN(env, out, "memMakeExternal", make_external);
  CFFI_EXPORT_FN(env, out, "memStrlen", str_len);
  CFFI_EXPORT_FN(env, out, "memDecodeUtf8", decode_utf8);
  CFFI_EXPORT_FN(env, out, "copyIn", copy_in);
  CFFI_EXPORT_FN(env, out, "copyOut", copy_out);
  CFFI_EXPORT_FN(env, out, "memCopyIn", scratch_copy_in);
  CFFI_EXPORT_FN(env, out, "memCopyOut", scratch_copy_out);
  /* the reference cffi_binding_part takes keeps the buffer, so the functions may use
   * ms->scratch (they are reachable only through `out`) */
  ms->scratch = data;
  *result = out;
  return napi_ok;
}

/* binding.memory(): the same object every time in an environment. */
static napi_value memory_binding(napi_env env, napi_callback_info info) {
  mem_state_t *ms = state(env);
  return cffi_binding_part(env, &ms->binding_ref, make_memory_binding, ms);
}

napi_status cffi_init_memory(napi_env env, napi_value exports) {
  cffi_env_t *st = cffi_env_get(env);
  mem_state_t *ms = calloc(1, sizeof(*ms));
  if (!ms) return napi_generic_failure;
  ms->env_alive = true;
  st->memory = ms;
  CFFI_EXPORT_FN(env, exports, "memory", memory_binding);
  return napi_ok;
}

/* Environment teardown (instance data finalizer). Node has already closed the threadsafe
 * function (its teardown drops queued calls, see run_dealloc); external buffers keep the
 * environment alive until their finalizers ran, so normally nothing is left. The state is
 * freed by whichever of these ends last. */
void cffi_memory_env_cleanup(cffi_env_t *st) {
  mem_state_t *ms = st->memory;
  if (!ms) return;
  st->memory = NULL;
  if (ms->binding_ref) napi_delete_reference(st->env, ms->binding_ref);
  ms->binding_ref = NULL;
  ms->env_alive = false;
  if (ms->tsfn) {
    /* Not closed yet (unexpected order): abort it; tsfn_finalize frees the state later. */
    napi_release_threadsafe_function(ms->tsfn, napi_tsfn_abort);
  }
  maybe_free(ms);
}
