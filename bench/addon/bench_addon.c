/* bench_addon.c: the hand-written Node-API addon cffi's benchmark compares against. It calls
 * the functions of bench/fixture/bench.c (linked directly, no FFI) in two patterns:
 *
 *  - "usual": what a typical addon does. Arguments arrive as napi_values (napi_get_cb_info),
 *    are converted with napi_get_value_*, and the result is boxed with napi_create_*.
 *  - "buffer": the floor. A per-signature JS wrapper (bench/systems.js) writes the arguments
 *    into typed-array views of one native buffer, calls a zero-argument native function, and
 *    reads the result back from the buffer. This is the calling convention cffi uses.
 *
 * Slot layout of the buffer: 8-byte slots, slot 0 = return value, slot 1 + k = argument k.
 * Callbacks use a separate area at CB_OFFSET (slot 0 = result, slot 1 = argument), so a
 * callback never overwrites the arguments of the call that is running it. */
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* bench.c's functions (the library is linked, see binding.gyp). */
void noop(void);
int32_t add_i32(int32_t a, int32_t b);
double add_f64(double a, double b);
uint64_t add_u64(uint64_t a, uint64_t b);
int32_t add6_i32(int32_t a, int32_t b, int32_t c, int32_t d, int32_t e, int32_t f);
uint32_t sum_u8(const uint8_t *p, size_t n);
const char *hello(void);
int32_t call_cb_i32(int32_t (*cb)(int32_t), int32_t n);

#define BUF_SIZE 1024
#define CB_OFFSET 512
#define MAX_CBS 16

typedef union {
  int32_t i32;
  uint32_t u32;
  double f64;
  uint64_t u64;
} slot_t;

/* Per-environment state (napi instance data). */
typedef struct {
  slot_t *slots;            /* the shared buffer's bytes, owned by its ArrayBuffer */
  slot_t *cb_slots;         /* slots + CB_OFFSET bytes */
  napi_ref buffer_ref;      /* keeps the ArrayBuffer alive */
  napi_ref cbs[MAX_CBS];    /* registered buffer-pattern callbacks */
  int n_cbs;
} state_t;

/* The JS function a C callback must reach during one call of call_cb_i32. C function
 * pointers carry no user data, so the running call publishes it here; thread-local so that
 * worker threads do not share it, saved and restored so that nested calls work. */
typedef struct {
  napi_env env;
  napi_value fn;      /* usual pattern: the JS function itself */
  napi_ref ref;       /* buffer pattern: the registered wrapper */
  state_t *st;
  int failed;
} cb_ctx_t;
static __thread cb_ctx_t *cur_cb;

#define CALL(env, expr)                                              \
  do {                                                               \
    if ((expr) != napi_ok) {                                         \
      bool pending_;                                                 \
      napi_is_exception_pending((env), &pending_);                   \
      if (!pending_) napi_throw_error((env), NULL, "napi call failed: " #expr); \
      return NULL;                                                   \
    }                                                                \
  } while (0)

/* ---- usual pattern ---- */

static napi_value u_noop(napi_env env, napi_callback_info info) {
  noop();
  return NULL;
}

static napi_value u_add_i32(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t a, b;
  CALL(env, napi_get_value_int32(env, argv[0], &a));
  CALL(env, napi_get_value_int32(env, argv[1], &b));
  napi_value r;
  CALL(env, napi_create_int32(env, add_i32(a, b), &r));
  return r;
}

static napi_value u_add_f64(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double a, b;
  CALL(env, napi_get_value_double(env, argv[0], &a));
  CALL(env, napi_get_value_double(env, argv[1], &b));
  napi_value r;
  CALL(env, napi_create_double(env, add_f64(a, b), &r));
  return r;
}

static napi_value u_add_u64(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint64_t a, b;
  bool lossless;
  CALL(env, napi_get_value_bigint_uint64(env, argv[0], &a, &lossless));
  CALL(env, napi_get_value_bigint_uint64(env, argv[1], &b, &lossless));
  napi_value r;
  CALL(env, napi_create_bigint_uint64(env, add_u64(a, b), &r));
  return r;
}

static napi_value u_add6_i32(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t v[6];
  for (int i = 0; i < 6; i++) CALL(env, napi_get_value_int32(env, argv[i], &v[i]));
  napi_value r;
  CALL(env, napi_create_int32(env, add6_i32(v[0], v[1], v[2], v[3], v[4], v[5]), &r));
  return r;
}

static napi_value u_sum_u8(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_typedarray_type type;
  size_t length;
  void *data;
  CALL(env, napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL));
  int64_t n;
  CALL(env, napi_get_value_int64(env, argv[1], &n));
  napi_value r;
  CALL(env, napi_create_uint32(env, sum_u8(data, (size_t)n), &r));
  return r;
}

static napi_value u_hello(napi_env env, napi_callback_info info) {
  napi_value r;
  CALL(env, napi_create_string_utf8(env, hello(), NAPI_AUTO_LENGTH, &r));
  return r;
}

/* C → JS for the usual pattern: box the argument, call, unbox the result. */
static int32_t u_tramp(int32_t x) {
  cb_ctx_t *c = cur_cb;
  if (c->failed) return 0;
  napi_env env = c->env;
  napi_handle_scope scope;
  int32_t out = 0;
  if (napi_open_handle_scope(env, &scope) != napi_ok) { c->failed = 1; return 0; }
  napi_value arg, recv, res;
  if (napi_create_int32(env, x, &arg) != napi_ok ||
      napi_get_undefined(env, &recv) != napi_ok ||
      napi_call_function(env, recv, c->fn, 1, &arg, &res) != napi_ok ||
      napi_get_value_int32(env, res, &out) != napi_ok) {
    c->failed = 1;
    out = 0;
  }
  napi_close_handle_scope(env, scope);
  return out;
}

static napi_value u_call_cb_i32(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t n;
  CALL(env, napi_get_value_int32(env, argv[1], &n));
  cb_ctx_t ctx = { .env = env, .fn = argv[0] };
  cb_ctx_t *saved = cur_cb;
  cur_cb = &ctx;
  int32_t s = call_cb_i32(u_tramp, n);
  cur_cb = saved;
  if (ctx.failed) {
    bool pending;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, "callback failed");
    return NULL;
  }
  napi_value r;
  CALL(env, napi_create_int32(env, s, &r));
  return r;
}

/* ---- shared-buffer pattern ---- */

static inline slot_t *slots_of(napi_env env) {
  state_t *st;
  napi_get_instance_data(env, (void **)&st);
  return st->slots;
}

static napi_value b_noop(napi_env env, napi_callback_info info) {
  noop();
  return NULL;
}

static napi_value b_add_i32(napi_env env, napi_callback_info info) {
  slot_t *s = slots_of(env);
  s[0].i32 = add_i32(s[1].i32, s[2].i32);
  return NULL;
}

static napi_value b_add_f64(napi_env env, napi_callback_info info) {
  slot_t *s = slots_of(env);
  s[0].f64 = add_f64(s[1].f64, s[2].f64);
  return NULL;
}

static napi_value b_add_u64(napi_env env, napi_callback_info info) {
  slot_t *s = slots_of(env);
  s[0].u64 = add_u64(s[1].u64, s[2].u64);
  return NULL;
}

static napi_value b_add6_i32(napi_env env, napi_callback_info info) {
  slot_t *s = slots_of(env);
  s[0].i32 = add6_i32(s[1].i32, s[2].i32, s[3].i32, s[4].i32, s[5].i32, s[6].i32);
  return NULL;
}

/* The pointer argument cannot travel through the buffer (JS has no address for a view), so
 * the view is the one napi argument; the length travels as a double in slot 2. */
static napi_value b_sum_u8(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value view;
  CALL(env, napi_get_cb_info(env, info, &argc, &view, NULL, NULL));
  void *data;
  CALL(env, napi_get_typedarray_info(env, view, NULL, NULL, &data, NULL, NULL));
  slot_t *s = slots_of(env);
  s[0].u32 = sum_u8(data, (size_t)s[2].f64);
  return NULL;
}

/* A string cannot be returned through the buffer: it must be created as a napi_value. */
static napi_value b_hello(napi_env env, napi_callback_info info) {
  napi_value r;
  CALL(env, napi_create_string_utf8(env, hello(), NAPI_AUTO_LENGTH, &r));
  return r;
}

/* C → JS for the buffer pattern: the argument goes into the callback area, the registered
 * zero-argument JS wrapper runs and leaves the result there. */
static int32_t b_tramp(int32_t x) {
  cb_ctx_t *c = cur_cb;
  if (c->failed) return 0;
  napi_env env = c->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) { c->failed = 1; return 0; }
  c->st->cb_slots[1].i32 = x;
  napi_value fn, recv;
  if (napi_get_reference_value(env, c->ref, &fn) != napi_ok ||
      napi_get_undefined(env, &recv) != napi_ok ||
      napi_call_function(env, recv, fn, 0, NULL, NULL) != napi_ok) {
    c->failed = 1;
  }
  napi_close_handle_scope(env, scope);
  return c->failed ? 0 : c->st->cb_slots[0].i32;
}

/* slot 1 = callback id (from registerCallback), slot 2 = n. */
static napi_value b_call_cb_i32(napi_env env, napi_callback_info info) {
  state_t *st;
  napi_get_instance_data(env, (void **)&st);
  slot_t *s = st->slots;
  int32_t id = s[1].i32, n = s[2].i32;
  if (id < 0 || id >= st->n_cbs) {
    napi_throw_range_error(env, NULL, "unknown callback id");
    return NULL;
  }
  cb_ctx_t ctx = { .env = env, .ref = st->cbs[id], .st = st };
  cb_ctx_t *saved = cur_cb;
  cur_cb = &ctx;
  int32_t r = call_cb_i32(b_tramp, n);
  cur_cb = saved;
  if (ctx.failed) {
    bool pending;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, "callback failed");
    return NULL;
  }
  s[0].i32 = r;
  return NULL;
}

/* registerCallback(fn) → id: keeps fn alive for the life of the environment. */
static napi_value b_register_cb(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value fn;
  CALL(env, napi_get_cb_info(env, info, &argc, &fn, NULL, NULL));
  state_t *st;
  CALL(env, napi_get_instance_data(env, (void **)&st));
  if (st->n_cbs == MAX_CBS) {
    napi_throw_range_error(env, NULL, "too many callbacks");
    return NULL;
  }
  CALL(env, napi_create_reference(env, fn, 1, &st->cbs[st->n_cbs]));
  napi_value r;
  CALL(env, napi_create_int32(env, st->n_cbs++, &r));
  return r;
}

/* ---- module ---- */

static void free_state(napi_env env, void *data, void *hint) {
  state_t *st = data;
  for (int i = 0; i < st->n_cbs; i++) napi_delete_reference(env, st->cbs[i]);
  napi_delete_reference(env, st->buffer_ref);
  free(st);
}

static napi_value object_of(napi_env env, const napi_property_descriptor *props, size_t n) {
  napi_value obj;
  CALL(env, napi_create_object(env, &obj));
  CALL(env, napi_define_properties(env, obj, n, props));
  return obj;
}

#define FN(name, cb) { name, NULL, cb, NULL, NULL, NULL, napi_enumerable, NULL }

static napi_value init(napi_env env, napi_value exports) {
  state_t *st = calloc(1, sizeof *st);
  if (!st) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  CALL(env, napi_set_instance_data(env, st, free_state, NULL));
  napi_value buffer;
  void *bytes;
  CALL(env, napi_create_arraybuffer(env, BUF_SIZE, &bytes, &buffer));
  CALL(env, napi_create_reference(env, buffer, 1, &st->buffer_ref));
  st->slots = bytes;
  st->cb_slots = (slot_t *)((char *)bytes + CB_OFFSET);

  static const napi_property_descriptor usual[] = {
    FN("noop", u_noop), FN("add_i32", u_add_i32), FN("add_f64", u_add_f64),
    FN("add_u64", u_add_u64), FN("add6_i32", u_add6_i32), FN("sum_u8", u_sum_u8),
    FN("hello", u_hello), FN("call_cb_i32", u_call_cb_i32),
  };
  static const napi_property_descriptor buf[] = {
    FN("noop", b_noop), FN("add_i32", b_add_i32), FN("add_f64", b_add_f64),
    FN("add_u64", b_add_u64), FN("add6_i32", b_add6_i32), FN("sum_u8", b_sum_u8),
    FN("hello", b_hello), FN("call_cb_i32", b_call_cb_i32),
    FN("registerCallback", b_register_cb),
  };
  napi_value u = object_of(env, usual, sizeof usual / sizeof usual[0]);
  napi_value b = object_of(env, buf, sizeof buf / sizeof buf[0]);
  if (!u || !b) return NULL;
  napi_value cb_offset;
  CALL(env, napi_create_int32(env, CB_OFFSET, &cb_offset));
  napi_property_descriptor props[] = {
    { "usual", NULL, NULL, NULL, NULL, u, napi_enumerable, NULL },
    { "buffer", NULL, NULL, NULL, NULL, b, napi_enumerable, NULL },
    { "sharedBuffer", NULL, NULL, NULL, NULL, buffer, napi_enumerable, NULL },
    { "callbackOffset", NULL, NULL, NULL, NULL, cb_offset, napi_enumerable, NULL },
  };
  CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE_INIT() {
  return init(env, exports);
}
