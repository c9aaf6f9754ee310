/* cffi.h: the addon's internal header. Shared structs (per-environment state, signatures,
 * bound functions), the shared-buffer calling convention, error macros and the prototypes
 * that connect the source files. Nothing here is public API. */
#ifndef CFFI_H
#define CFFI_H

#include <node_api.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Types (see types.inc) ------------------------------------------------------------ */

enum {
  CFFI_K_INT32, /* value fits an int32 slot: char, i8..u32, bool */
  CFFI_K_I64,
  CFFI_K_U64,
  CFFI_K_F64,
  CFFI_K_F32,
  CFFI_K_PTR, /* ptr, cstring, function, buffer */
  CFFI_K_VOID,
  CFFI_K_NAPI,
  CFFI_K_LAYOUT, /* a struct or union by value (layout.c) */
};

enum {
#define CFFI_TYPE(id, NAME, ctype, ffitype, size, kind) CFFI_T_##NAME = id,
#include "types.inc"
  CFFI_T_COUNT
};

/* In a signature read from JS, the position of "..." (never stored: see cffi_sig_t.nfixed). */
#define CFFI_T_VARIADIC 255

typedef struct {
  const char *c_name; /* C spelling used by the code generator */
  uint8_t size;
  uint8_t kind;
} cffi_type_info_t;

extern const cffi_type_info_t cffi_types[CFFI_T_COUNT];

/* ---- The shared-buffer calling convention -----------------------------------------------
 * Every environment owns one buffer of CFFI_BUF_SIZE bytes, visible to JS as typed arrays
 * (lib/abi.js) and to C as `slots` and `tags`:
 *   slots[0]      the return value (or the JS callback's result),
 *   slots[1 + k]  argument k (or the k-th argument of a JS callback),
 *   tags[s]       how slot s is encoded when the type alone does not say.
 * Integer types up to 32 bits are an int32 in the slot's low half, f32/f64 a double, bool an
 * int32 0/1. 64-bit integers and addresses carry a tag, below. Trampolines copy every argument
 * out of the buffer before calling C, because a callback may re-enter cffi and reuse it.
 * The layout area, bytes [CFFI_AREA_OFFSET, CFFI_BUF_SIZE), holds structs and unions passed or
 * returned by value (SPEC §17) as their C bytes: a call reserves its bytes from the area's top
 * (the int32 at CFFI_AREA_TOP_OFFSET, an absolute byte offset that lib/abi.js starts at
 * CFFI_AREA_OFFSET) before
 * it encodes them, so that a getter making an FFI call meanwhile uses the bytes above, and
 * puts each value's absolute byte offset into its slot as an int32.
 * Must be kept in sync with lib/abi.js. */
#define CFFI_MAX_ARGS 64
#define CFFI_JIT_THRESHOLD 100 /* default, see jit_threshold */
#define CFFI_BUF_SIZE 65536
#define CFFI_MAX_SAFE 9007199254740991.0 /* 2^53 - 1, the largest safe integer */
#define CFFI_TAGS_OFFSET (8 * (CFFI_MAX_ARGS + 1))
#define CFFI_AREA_TOP_OFFSET 1016
#define CFFI_AREA_OFFSET 1024

typedef union {
  int32_t i32;
  uint32_t u32;
  int64_t i64;
  uint64_t u64;
  double f64;
  float f32;
  void *ptr;
} cffi_slot_t;

/* Argument tags (JS -> C), for 64-bit integers and address-valued types. */
enum {
  CFFI_TAG_RAW = 0,      /* slot holds the 64 bits (from a BigInt) */
  CFFI_TAG_F64 = 1,      /* slot holds a double: truncate / wrap to 64 bits */
  CFFI_TAG_VIEW = 2,     /* the JS argument itself is an ArrayBuffer view (TypedArray, Buffer, DataView) */
  CFFI_TAG_DATAVIEW = 3, /* ... a DataView (also accepted as CFFI_TAG_VIEW) */
  CFFI_TAG_ARRAYBUF = 4, /* ... an ArrayBuffer */
  CFFI_TAG_STRING = 5,   /* ... a JS string: pass a temporary UTF-8 copy (cstring) */
};
/* Result tags (C -> JS) for i64_fast, u64_fast, ptr and function. */
enum {
  CFFI_RTAG_NUMBER = 0, /* slot holds a double that is exact */
  CFFI_RTAG_BIGINT = 1, /* slot holds the 64 bits; JS reads a BigInt */
  CFFI_RTAG_NULL = 2,   /* NULL pointer */
};

/* ---- Per-environment state (napi instance data; never global: Workers) --------------- */

typedef struct cffi_env_s {
  napi_env env;
  pthread_t thread;        /* the JS thread of this environment */
  cffi_slot_t *slots;      /* the shared buffer (owned by a JS ArrayBuffer, see buffer_ref) */
  uint8_t *tags;
  napi_ref buffer_ref;     /* keeps the ArrayBuffer alive */
  int depth;               /* synchronous FFI calls in flight on this thread */
  napi_ref pending;        /* non-NULL when a call returning from C has work after it: an
                              exception waiting (the top of pend[]), or the shared callback
                              scope below to close (cffi_take_pending) */
  struct cffi_pend_s {     /* first exception of each call depth that has one (malloc'd, */
    napi_ref ref;          /* grown as needed: nesting is limited only by the stacks) */
    int depth;             /* ... and that depth (increasing) */
  } *pend;
  int npend, pend_cap;
  int last_errno;          /* errno after the last synchronous call */
  bool jit_enabled;        /* false with CFFI_JIT=0 (cffi_jit_on: also whether the system allows
                              it); also whether JSCallbacks may use direct entries (callback.c),
                              even where executable memory is refused (they need none) */
  bool jit_refusal_told;   /* CFFI_DEBUG_SOURCE: the refusal of executable memory was printed */
  uint32_t jit_threshold;  /* libffi calls of a function before its batch is compiled
                              (CFFI_JIT_THRESHOLD; 0 = compile when declared); the
                              counting and tier-up are in lib/library.js */
  bool debug_source;       /* CFFI_DEBUG_SOURCE=1: print generated C when compiling */
  napi_handle_scope cb_scope; /* the handle scope that synchronous callbacks share during */
  int cb_scope_depth;      /* one FFI call (callback.c, cb_scope_enter): opened at this depth, */
  int cb_scope_running;    /* ... with this many callbacks running, */
  int cb_scope_uses;       /* ... by this many callbacks so far */
  int cb_running;          /* synchronous callbacks running on this thread */
  int napi_calls;          /* calls in flight that pass C a napi_env (cc()): C may open scopes */
  napi_ref view_gone;      /* lib/abi.js viewGone(view): why a view's bytes are gone, or null */
  napi_ref cold_later;     /* lib/library.js coldLater, for cold callbacks (callback.c) */
  napi_ref later;          /* binding.later()'s object, once made (addon.c) */
  uint32_t cb_wrappers;    /* JSCallback wrappers generated (library.c jsCallback) */
  void *threads;           /* thread relay state, see callback.c */
  void *memory;            /* memory.c state (deferred deallocators) */
  struct cffi_batch_s *zombies; /* batches closed during a call, freed after it (library.c) */
} cffi_env_t;

cffi_env_t *cffi_env_get(napi_env env);

/* ---- Signatures and bound functions ---------------------------------------------------- */

typedef struct cffi_code_s cffi_code_t; /* a block of JIT-compiled trampolines (call_jit.c) */
typedef struct cffi_batch_s cffi_batch_t; /* the functions of one link() (library.c) */

/* ---- Layouts by value (layout.c) ------------------------------------------------------
 * A struct or union as lib/layout.js describes it: size, alignment and its scalar leaves. */
#define CFFI_LAYOUT_MAX 16384 /* bytes of by-value layouts in one call's frame */

typedef struct {
  uint32_t offset, count; /* count scalars of `type` from `offset`, each cffi_types[type].size apart */
  uint8_t type;
} cffi_leaf_t;

/* x86-64 SysV classes of a layout's eightbytes (cffi_layout_t.cls) */
enum { CFFI_CLS_NONE, CFFI_CLS_SSE, CFFI_CLS_INT, CFFI_CLS_MEMORY };

typedef struct {
  uint32_t size, align, nleaves;
  uint32_t natural; /* the alignment of its most aligned member, before an `align` option */
  uint8_t kind;   /* 0 struct, 1 union */
  uint8_t cls[2]; /* the SysV classes of its (at most two) eightbytes; cls[0] == CFFI_CLS_MEMORY
                     when it is passed and returned in memory (more than 16 bytes, or a
                     misaligned field). Computed on every architecture; used on x86-64. */
  uint8_t hfa, hfa_type; /* AAPCS64: hfa members (1-4) of type hfa_type (f32 or f64) when it is a
                            homogeneous floating-point aggregate, else 0; used on arm64 */
  void *ffi;      /* the ffi_type libffi is given (layout.c) */
  cffi_leaf_t leaves[];
} cffi_layout_t;

/* What a signature with layouts owns: per position (0: the result, 1 + k: argument k) its
 * layout or NULL, and where the value sits in the call's frame: the frame starts at the layout
 * area's top when native code reads it (cffi_area_base) and is `frame` bytes long. */
typedef struct cffi_sigx_s {
  uint32_t frame;
  uint32_t off[CFFI_MAX_ARGS + 1];
  cffi_layout_t *layout[CFFI_MAX_ARGS + 1];
} cffi_sigx_t;

typedef struct {
  uint8_t ret;
  uint8_t nargs;
  uint8_t nfixed;   /* arguments before "..." (nargs when not variadic) */
  bool variadic;
  uint8_t args[CFFI_MAX_ARGS];
  bool has_objects; /* some argument may be passed as a JS object or string */
  cffi_sigx_t *x;   /* layouts by value, or NULL; owned (cffi_sig_free) */
} cffi_sig_t;

typedef struct cffi_fn_s {
  cffi_env_t *st;
  cffi_batch_t *batch; /* owns this function */
  void *addr;      /* the C function */
  cffi_sig_t sig;
  void *ffi;       /* libffi call interface (call_ffi.c), created lazily */
  cffi_code_t *code; /* JIT block holding this function's trampoline, or NULL */
  napi_callback jit_entry; /* the JIT trampoline, or NULL */
} cffi_fn_t;

/* Function `index` of a batch from library.c's link(), or NULL with an exception pending. */
cffi_fn_t *cffi_batch_fn(napi_env env, napi_value batch, napi_value index);
/* The same from the batch's key (link()'s third result: what callAt takes). */
cffi_fn_t *cffi_batch_key_fn(napi_env env, napi_value key, napi_value index);
/* An async call keeps fn's batch (and so fn) alive from the call until it settled, even past
 * close() (JS thread). */
void cffi_batch_hold(cffi_fn_t *fn);
void cffi_batch_unhold(cffi_fn_t *fn);

/* Reads a signature from JS (layout.c): ret and each element of args a type number, or a
 * layout's description (lib/layout.js), and CFFI_T_VARIADIC where "..." was. Throws and
 * returns -1 on malformed input (JS validates definitions before this point). A signature
 * read this way is released with cffi_sig_free. */
int cffi_sig_from_js(napi_env env, napi_value ret, napi_value args, cffi_sig_t *out);
void cffi_sig_free(cffi_sig_t *sig);
/* The ffi_type * libffi is given for position pos of sig (0: the result, 1 + k: argument k),
 * with the default argument promotions after "...". */
void *cffi_sig_ffi_type(const cffi_sig_t *sig, int pos);
/* Does code TinyCC compiled pass and return L by value as gcc does? (x86-64: one register
 * class, or in memory above 16 bytes and at most 8-aligned; measured: this TinyCC gets
 * {double; int64_t} and {float; int32_t; float} wrong, and passes misaligned fields in
 * registers. Elsewhere: not known, so no.) The JIT's results and memory arguments, and cc(). */
bool cffi_layout_tcc_agrees(const cffi_layout_t *L);
/* x86-64 SysV: whether a layout argument comes in registers when *gp general and *fp vector
 * argument registers are taken (then counting its own), or on the stack (taking none). */
bool cffi_sysv_in_regs(const cffi_layout_t *L, int *gp, int *fp);
/* The libffi argument types of a JSCallback's closure (atypes[nargs]): cffi_sig_ffi_type's,
 * except on x86-64, where libffi 3.4's closures take a general register for an eightbyte that
 * is only padding (a 16-byte layout aligned to 16 with 8 bytes of data) where gcc and libffi's
 * own calls take none, so the arguments after it were read from the wrong registers: such a
 * layout, where it comes in registers, is given to the closure as its one eightbyte (the
 * rest is padding); on the stack the whole stand-in is right. */
void cffi_closure_arg_types(const cffi_sig_t *sig, void **atypes);
/* Where a call's frame of the layout area starts now, and whether sig's frame fits there. */
uint8_t *cffi_area_base(const cffi_env_t *st);
bool cffi_area_fits(const cffi_env_t *st, const cffi_sig_t *sig);

/* ---- Conversions shared by every call path (convert.c) ---------------------------------- */

/* Temporary storage for one call (UTF-8 copies of JS strings). */
typedef struct {
  char inline_buf[512];
  size_t used;
  void *heap[CFFI_MAX_ARGS];
  int nheap;
} cffi_tmp_t;

int64_t cffi_f64_to_i64(double d);
/* Loads argument k of `type` from its slot/tag (and argv[k] for objects) into *out.
 * Returns 0, or -1 with a JS exception pending. */
int cffi_load_arg(napi_env env, uint8_t type, const cffi_slot_t *slot, uint8_t tag,
                  napi_value jsval, cffi_tmp_t *tmp, cffi_slot_t *out);
/* The address of a view's / ArrayBuffer's bytes (tag VIEW, DATAVIEW or ARRAYBUF) into *out.
 * Returns 0, or -1 with a TypeError pending when the bytes are gone (detached, out of bounds). */
int cffi_object_ptr(napi_env env, napi_value v, uint8_t tag, void **out);
char *cffi_tmp_string(napi_env env, napi_value v, cffi_tmp_t *tmp);
void cffi_tmp_free(cffi_tmp_t *tmp);
/* Whether a JS number read as a double is a whole number 0 ... limit - 1 (limit at most 2^32):
 * a type number, a batch index. */
static inline bool cffi_is_index(double d, double limit) {
  return d >= 0 && d < limit && d == (double)(uint32_t)d;
}
/* Stores a C value of `type` (raw bits in *v) into a slot/tag pair for JS to read. */
void cffi_store_value(uint8_t type, cffi_slot_t v, cffi_slot_t *slot, uint8_t *tag);
/* The JS value of a slot/tag pair as the generated code reads it (jsgen.c, emit_read); NULL
 * with an exception pending on failure. */
napi_value cffi_slot_value(napi_env env, uint8_t type, const cffi_slot_t *slot, uint8_t tag);
/* The JS value of a C string (NULL -> null). */
napi_value cffi_cstring_value(napi_env env, const char *s);
/* A string from len bytes of UTF-8; a RangeError (ERR_STRING_TOO_LONG) when too long for V8. */
napi_value cffi_utf8_value(napi_env env, const char *s, size_t len);
/* After a synchronous call's C function returned (depth already decremented), when
 * st->pending is set: closes the callbacks' shared scope if this call opened it, and returns
 * the exception a callback left for this call, or NULL when none (or the waiting one belongs
 * to an outer call). Then cffi_rethrow_ref throws it and returns NULL. */
napi_ref cffi_take_pending(cffi_env_t *st);
napi_value cffi_rethrow_ref(napi_env env, napi_ref ref);
/* Reads an address from a JS number or BigInt (validated in JS). */
int cffi_get_address(napi_env env, napi_value v, void **out);
napi_value cffi_address_value(napi_env env, const void *p);

/* ---- Call paths ---------------------------------------------------------------------- */

/* libffi path (call_ffi.c): always available, the reference behaviour. */
int cffi_ffi_prepare(cffi_fn_t *fn);
napi_value cffi_ffi_invoke(napi_env env, napi_callback_info info);
/* Calls fn with already-converted argument values; stores the raw result in *ret. Used by
 * the libffi path and by async calls on worker threads. */
void cffi_ffi_call_raw(cffi_fn_t *fn, cffi_slot_t *args, cffi_slot_t *ret);
void cffi_ffi_release(cffi_fn_t *fn);

/* JIT path (call_jit.c): compiles trampolines for n functions in one TinyCC state. On
 * success sets fns[i]->jit_entry/code and returns 0; on failure returns -1 and the caller
 * uses libffi. */
int cffi_jit_link(cffi_env_t *st, cffi_fn_t **fns, size_t n);
/* Is the JIT on: not turned off by CFFI_JIT=0, and this process can make compiled code
 * executable? That is probed once, when first needed (tcc_memory.c; not at require: ~30 us);
 * a refusal keeps everything on libffi (with CFFI_DEBUG_SOURCE, says why on stderr, once). */
bool cffi_jit_on(cffi_env_t *st);
void cffi_code_release(cffi_code_t *code);
/* TinyCC shared by call_jit.c and cc.c, the only files that include libtcc.h: the lock every
 * TinyCC call in the process is made under, and a sealed block (tcc_memory.c) of cc.c's
 * compiled code as a cffi_code_t with one reference (NULL: out of memory). */
void cffi_tcc_lock(void);
void cffi_tcc_unlock(void);
cffi_code_t *cffi_code_adopt(void *mem, size_t size);
/* A library handle for lib/library.js (open()'s result) whose close() calls unload(handle)
 * instead of dlclose: cc.c's compiled code. NULL with an exception pending on failure. */
napi_value cffi_lib_handle(napi_env env, void *handle, void (*unload)(void *));
/* Generated source for viewSource (codegen.c): malloc'd string, or NULL if the signature
 * runs on libffi. */
char *cffi_codegen_call_source(const cffi_sig_t *sig, const char *name);
char *cffi_codegen_callback_source(const cffi_sig_t *sig);
bool cffi_jit_supports(const cffi_sig_t *sig);
/* The JS wrappers (jsgen.c): a batch's symbol functions, a signature's `.async` writer and
 * reader, and a JSCallback's wrapper. malloc'd source, or NULL when out of memory. */
char *cffi_jsgen_batch(cffi_fn_t *const *fns, const char *const *names, size_t n);
char *cffi_jsgen_async(const cffi_sig_t *sig);
char *cffi_jsgen_callback(const cffi_sig_t *sig);

/* ---- JS callbacks (callback.c; other threads: threads.c) ------------------------------- */

typedef struct cffi_cb_s {
  cffi_env_t *st;
  pthread_t thread;    /* st->thread, copied: other threads must not read *st (teardown frees it) */
  cffi_sig_t sig;
  void *closure;       /* ffi_closure */
  void *code;          /* the C function pointer handed out as .ptr */
  void *ffi;           /* ffi_cif + argument types */
  napi_ref fn;         /* JS wrapper: reads args from the buffer, calls fn, writes the result;
                          while cold, the user's function itself (callback.c, cb_call_cold) */
  uint32_t cold;       /* calls left before the wrapper is made; 0: fn is the wrapper */
  bool threadsafe;
  bool closed;
  int active;          /* synchronous invocations on the stack; free is deferred past them */
  void *relay;         /* threads.c state (the callback's node in its relay), or NULL */
} cffi_cb_t;

/* Runs the JS function on the JS thread with raw C argument values (cstring arguments as
 * char*). On success stores the raw result in *ret and returns 0; if the function threw,
 * returns -1 and stores the exception in *exc (a handle in the caller's scope). */
int cffi_cb_call_js(cffi_cb_t *cb, const cffi_slot_t *args, cffi_slot_t *ret, napi_value *exc);
/* Reads libffi closure arguments into raw slots / writes a raw result for libffi. */
void cffi_cb_capture_args(const cffi_cb_t *cb, void **args, cffi_slot_t *out);
void cffi_cb_write_ret(const cffi_cb_t *cb, const cffi_slot_t *r, void *ret);
void cffi_write_ret(uint8_t type, const cffi_slot_t *r, void *ret); /* same, by return type */
/* An exception from a callback run on the JS thread outside any relay: kept for the
 * innermost synchronous FFI call, or reported as uncaught. */
void cffi_cb_report_exception(cffi_env_t *st, napi_value exc);
/* threads.c: invocations that cannot run synchronously (other thread, or threadsafe void).
 * Return with *ret filled (zero for queued calls). */
void cffi_threads_queue(cffi_cb_t *cb, void **args);
void cffi_threads_call_blocking(cffi_cb_t *cb, void **args, void *ret);
int cffi_threads_cb_init(cffi_cb_t *cb);
void cffi_threads_cb_close(cffi_cb_t *cb); /* may defer the free until queued calls ran */
/* Is this cb's JS thread, with st (loaded from cb->st) not torn down? Reads no field of st. */
bool cffi_cb_on_js_thread(const cffi_cb_t *cb, const cffi_env_t *st);
void cffi_threads_env_cleanup(cffi_env_t *st); /* from cffi_callback_env_cleanup */
/* threads.c <-> async.c: the async job whose C call runs on this thread (NULL: none), and
 * (JS thread) an exception thrown by a callback of environment st relayed from that job:
 * rejects its promise (returns 0), or -1 when the job belongs to another environment. */
void cffi_threads_set_job(void *job);
int cffi_async_job_exception(void *job, cffi_env_t *st, napi_value exc);
void cffi_cb_free(cffi_cb_t *cb); /* closure, libffi data and the struct */
void cffi_cb_scope_close(cffi_env_t *st); /* closes st->cb_scope (from cffi_take_pending) */
/* Every C call of a JSCallback's address, from whichever entry (callback.c): libffi-style
 * argument pointers and result buffer. */
void cffi_cb_dispatch(cffi_cb_t *cb, void *ret, void **args);
/* Reads a JSCallback declaration of the usual kind (decl.c), given its `args`, `returns` and
 * `threadsafe` as JS read them: 1 with *sig and *threadsafe set, 0 when it declines
 * (lib/types.js reads it instead), -1 with a JS exception pending. */
int cffi_decl_callback(napi_env env, napi_value args, napi_value ret, napi_value ts, cffi_sig_t *sig, bool *threadsafe);
/* { args, returns } of a signature without layouts, as lib/types.js readSignature makes it
 * (decl.c); NULL with an exception pending on failure. */
napi_value cffi_sig_value(napi_env env, const cffi_sig_t *sig);
/* Can a direct entry (cb_direct.c) read calls of this signature? */
bool cffi_direct_fits(const cffi_sig_t *sig);

/* ---- Module parts: each registers its exports on the binding object ------------------- */
/* The cffi_init_*_later ones register on binding.later()'s object instead (addon.c), made on
 * first use: functions that loading cffi, declaring, calling and making callbacks never need. */

napi_status cffi_init_library(napi_env env, napi_value exports);
napi_status cffi_init_library_later(napi_env env, napi_value later);
napi_status cffi_init_call(napi_env env, napi_value exports);
napi_status cffi_init_callback(napi_env env, napi_value exports);
napi_status cffi_init_memory(napi_env env, napi_value exports);
napi_status cffi_init_async_later(napi_env env, napi_value later);
napi_status cffi_init_cc_later(napi_env env, napi_value later);
napi_status cffi_init_layout_later(napi_env env, napi_value later);
napi_status cffi_init_decl_later(napi_env env, napi_value later);
void cffi_callback_env_cleanup(cffi_env_t *st);
void cffi_library_env_cleanup(cffi_env_t *st);
void cffi_memory_env_cleanup(cffi_env_t *st);

/* ---- Errors -------------------------------------------------------------------------- */

/* Throws (unless an exception is already pending) and returns NULL on a failed napi call. */
#define CFFI_CALL(env, call)                                                        \
  do {                                                                              \
    if ((call) != napi_ok) {                                                        \
      cffi_throw_last(env);                                                         \
      return NULL;                                                                  \
    }                                                                               \
  } while (0)
/* Same for functions returning int (-1 on failure). */
#define CFFI_CALL_INT(env, call)                                                    \
  do {                                                                              \
    if ((call) != napi_ok) {                                                        \
      cffi_throw_last(env);                                                         \
      return -1;                                                                    \
    }                                                                               \
  } while (0)

void cffi_throw_last(napi_env env);
/* Throws a TypeError (or Error/RangeError) with an optional code; returns NULL. */
napi_value cffi_throw_type(napi_env env, const char *code, const char *msg);
napi_value cffi_throw_error(napi_env env, const char *code, const char *msg);
napi_value cffi_throw_range(napi_env env, const char *code, const char *msg);

#define CFFI_EXPORT_FN(env, exports, name, cb)                                       \
  do {                                                                              \
    napi_value fn__;                                                                \
    napi_status s__ = napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn__); \
    if (s__ != napi_ok) return s__;                                                 \
    s__ = napi_set_named_property(env, exports, name, fn__);                        \
    if (s__ != napi_ok) return s__;                                                 \
  } while (0)

/* A part of the binding made on first use (binding.later(), binding.memory()): the object *ref
 * holds, or the first time the one make(env, ctx, &out) builds, then kept in *ref (the owner
 * deletes it). NULL with an exception pending when that fails. */
napi_value cffi_binding_part(napi_env env, napi_ref *ref, napi_status (*make)(napi_env env, void *ctx, napi_value *out),
                             void *ctx);

#endif
