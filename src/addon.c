/* addon.c: module initialisation. Creates the per-environment state (instance data, so that
 * every worker_threads Worker has its own), the shared call buffer, the type table, and lets
 * each part of the addon register its functions on the binding object used by lib/. (cffi.node
 * stays loaded for the rest of the process: it is linked with -z nodelete, src/cffi.gypi.) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <ffi.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cffi.h"

const cffi_type_info_t cffi_types[CFFI_T_COUNT] = {
#define CFFI_TYPE(id, NAME, ctype, ffitype, size, kind) [id] = {ctype, size, kind},
#include "types.inc"
};

cffi_env_t *cffi_env_get(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return data;
}

static void env_finalize(napi_env env, void *data, void *hint) {
  cffi_env_t *st = data;
  cffi_callback_env_cleanup(st);
  cffi_memory_env_cleanup(st);
  cffi_library_env_cleanup(st);
  if (st->buffer_ref) napi_delete_reference(env, st->buffer_ref);
  if (st->view_gone) napi_delete_reference(env, st->view_gone);
  if (st->cold_later) napi_delete_reference(env, st->cold_later);
  if (st->later) napi_delete_reference(env, st->later);
  for (int i = 0; i < st->npend; i++) napi_delete_reference(env, st->pend[i].ref);
  free(st->pend);
  free(st);
}

static bool env_flag(const char *name, bool dflt) {
  const char *v = getenv(name);
  if (!v || !*v) return dflt;
  return !(strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "off") == 0);
}

/* binding.state(viewGone) -> the shared buffer for lib/abi.js, with jit (int32 slot 0: 0 with
 * CFFI_JIT=0; binding.later().jitAvailable() also asks whether the system allows it) and
 * jitThreshold (uint32 slot 1) in its first slots, not in an object of three: a require() binds
 * no napi_get_boolean and napi_create_uint32 for them (~10 us each the first time here).
 * viewGone (a function) is kept for convert.c's check of empty views. */
static napi_value get_state(napi_env env, napi_callback_info info) {
  cffi_env_t *st = cffi_env_get(env);
  napi_value buf, arg;
  size_t argc = 1;
  napi_valuetype t = napi_undefined;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  if (argc >= 1) CFFI_CALL(env, napi_typeof(env, arg, &t));
  if (t == napi_function) {
    if (st->view_gone) napi_delete_reference(env, st->view_gone);
    st->view_gone = NULL;
    CFFI_CALL(env, napi_create_reference(env, arg, 1, &st->view_gone));
  }
  CFFI_CALL(env, napi_get_reference_value(env, st->buffer_ref, &buf));
  st->slots[0].i32 = st->jit_enabled;
  st->slots[1].u32 = st->jit_threshold;
  return buf;
}

/* binding.errno(): errno captured after the last synchronous call on this thread. */
static napi_value get_errno(napi_env env, napi_callback_info info) {
  napi_value v;
  CFFI_CALL(env, napi_create_int32(env, cffi_env_get(env)->last_errno, &v));
  return v;
}

/* binding.jitAvailable(): CFFI_JIT is not 0 and the system gives executable memory. */
static napi_value get_jit_available(napi_env env, napi_callback_info info) {
  napi_value v;
  CFFI_CALL(env, napi_get_boolean(env, cffi_jit_on(cffi_env_get(env)), &v));
  return v;
}

static napi_status init_misc_later(napi_env env, napi_value later) {
  CFFI_EXPORT_FN(env, later, "jitAvailable", get_jit_available);
  CFFI_EXPORT_FN(env, later, "errno", get_errno);
  return napi_ok;
}

/* binding.later(): the native functions that loading cffi, declaring, calling and making
 * callbacks do not need (tier-up, close(), viewSource, .async, cc(), errno(), the tests'
 * declSig), made on the first call, then the same object every time in an environment. Made
 * with the binding, they cost every require() ~40-50 us on the VM of 2026-12-07 (paired
 * medians; dlopen + 9 and the first JSCallback were faster too). */
static napi_status make_later(napi_env env, void *ctx, napi_value *out) {
  napi_status s;
  if ((s = napi_create_object(env, out)) != napi_ok || (s = cffi_init_library_later(env, *out)) != napi_ok ||
      (s = cffi_init_async_later(env, *out)) != napi_ok || (s = cffi_init_cc_later(env, *out)) != napi_ok ||
      (s = cffi_init_layout_later(env, *out)) != napi_ok || (s = cffi_init_decl_later(env, *out)) != napi_ok)
    return s;
  return init_misc_later(env, *out);
}

static napi_value get_later(napi_env env, napi_callback_info info) {
  return cffi_binding_part(env, &cffi_env_get(env)->later, make_later, NULL);
}

napi_value cffi_binding_part(napi_env env, napi_ref *ref, napi_status (*make)(napi_env env, void *ctx, napi_value *out),
                             void *ctx) {
  napi_value out;
  if (*ref) {
    CFFI_CALL(env, napi_get_reference_value(env, *ref, &out));
    return out;
  }
  if (make(env, ctx, &out) != napi_ok || napi_create_reference(env, out, 1, ref) != napi_ok) {
    cffi_throw_last(env);
    return NULL;
  }
  return out;
}

/* The bytes of the file at `path` (malloc'd, *size set), or NULL when it cannot be read (no such
 * file, a directory, over 16 MiB). The size comes from lseek, not fstat: fstat is a GLIBC_2.33
 * symbol on arm64 (scripts/check-binary.js). One byte more than the file is allocated, so that an
 * empty file is an empty result, not a failed malloc(0). */
static char *read_all(const char *path, size_t *size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  off_t end = lseek(fd, 0, SEEK_END);
  char *data = NULL;
  if (end >= 0 && end <= (1 << 24) && lseek(fd, 0, SEEK_SET) == 0 && (data = malloc((size_t)end + 1)) != NULL) {
    size_t got = 0;
    while (got < (size_t)end) {
      ssize_t n = read(fd, data + got, (size_t)end - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += (size_t)n;
    }
    if (got != (size_t)end) {
      free(data);
      data = NULL;
    }
    *size = got;
  }
  close(fd);
  return data;
}

/* binding.readFile(path, text) -> the file's bytes as a Buffer, or with `text` true as a string
 * (UTF-8); undefined when it cannot be read or `path` is not a string. lib/index.js reads the
 * modules it loads after lib/abi.js, and their V8 code cache, with it: fs.readFileSync's Buffer
 * path asks user-replaceable built-ins (%TypedArray%.prototype.byteLength; on Node 18 its "utf8"
 * path as well), and lib/async.js or lib/layout.js may load inside a call, where replaced
 * built-ins must never run (SPEC 16). */
static napi_value read_file(napi_env env, napi_callback_info info) {
  napi_value args[2], out = NULL;
  size_t argc = 2, len = 0, size = 0;
  bool text = false;
  char path[4096];
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, args[0], path, sizeof path, &len) != napi_ok || len >= sizeof path - 1)
    return NULL;
  if (argc >= 2 && napi_get_value_bool(env, args[1], &text) != napi_ok) text = false;
  char *data = read_all(path, &size);
  if (!data) return NULL;
  napi_status st = text ? napi_create_string_utf8(env, data, size, &out) : napi_create_buffer_copy(env, size, data, NULL, &out);
  free(data);
  return st == napi_ok ? out : NULL;
}

static napi_status init_misc(napi_env env, napi_value exports) {
  CFFI_EXPORT_FN(env, exports, "state", get_state);
  CFFI_EXPORT_FN(env, exports, "later", get_later);
  CFFI_EXPORT_FN(env, exports, "readFile", read_file);
  return napi_ok;
}

/* CFFI_JIT_THRESHOLD: a decimal integer 0 … 2^31-1; unset or empty gives the default.
 * Anything else is ignored with one warning per process (not one per Worker). */
static uint32_t jit_threshold(void) {
  static atomic_bool warned;
  const char *v = getenv("CFFI_JIT_THRESHOLD");
  if (!v || !*v) return CFFI_JIT_THRESHOLD;
  char *end;
  errno = 0;
  unsigned long n = strtoul(v, &end, 10);
  if (*v >= '0' && *v <= '9' && *end == 0 && errno == 0 && n <= INT32_MAX) return (uint32_t)n;
  if (!atomic_exchange(&warned, true))
    dprintf(STDERR_FILENO, "cffi: ignoring CFFI_JIT_THRESHOLD=\"%s\" (expected a non-negative integer); using %d\n", v,
            CFFI_JIT_THRESHOLD);
  return CFFI_JIT_THRESHOLD;
}

static napi_value init(napi_env env, napi_value exports) {
  cffi_env_t *st = calloc(1, sizeof(*st));
  if (!st) {
    napi_throw_error(env, NULL, "cffi: out of memory");
    return NULL;
  }
  st->env = env;
  st->thread = pthread_self();
  st->jit_enabled = env_flag("CFFI_JIT", true); /* the system is asked later: cffi_jit_on() */
  st->debug_source = env_flag("CFFI_DEBUG_SOURCE", false);
  st->jit_threshold = jit_threshold();
  if (napi_set_instance_data(env, st, env_finalize, NULL) != napi_ok) {
    free(st);
    cffi_throw_last(env);
    return NULL;
  }

  void *data;
  napi_value ab;
  CFFI_CALL(env, napi_create_arraybuffer(env, CFFI_BUF_SIZE, &data, &ab));
  /* V8 zero-fills a new ArrayBuffer; clearing the slots and tags again costs one page that is
   * touched anyway, where clearing all 64 KB faulted in 16 pages (~25 us of require). */
  memset(data, 0, CFFI_AREA_OFFSET);
  CFFI_CALL(env, napi_create_reference(env, ab, 1, &st->buffer_ref));
  st->slots = data;
  st->tags = (uint8_t *)data + CFFI_TAGS_OFFSET;

  if (cffi_init_library(env, exports) != napi_ok || cffi_init_call(env, exports) != napi_ok ||
      cffi_init_callback(env, exports) != napi_ok || cffi_init_memory(env, exports) != napi_ok ||
      init_misc(env, exports) != napi_ok) {
    cffi_throw_last(env);
    return NULL;
  }
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
