/* cc.c: the native half of cc() (SPEC §15): compiles C sources in memory with the embedded
 * TinyCC and returns the addresses of the requested symbols, with a library handle whose
 * close() frees the compiled code (library.c). lib/cc.js validates the options, works out the
 * include paths and the runtime folder (cc-runtime/: TinyCC's headers, the Node-API headers,
 * and cc-runtime/<arch>/ with the architecture's libtcc1.a, the folder this file is given) and turns the results into errors and symbol functions (lib/library.js
 * binds them exactly like dlopen's).
 *
 * Every compile has its own TCCState, deleted on every path, under the lock shared with the
 * JIT (call_jit.c) and the guard of tcc_memory.c (libtcc's exit() and mprotect never reach the
 * process); code pages end read+execute, data pages read+write, never both. Undefined symbols (libc, libm, pthread, libdl, the host's napi_*) are
 * resolved by TinyCC through dlsym(RTLD_DEFAULT) while relocating; this TinyCC does that only
 * when -nostdlib is off, and then links "c" and libtcc1.a, which the runtime folder provides
 * (its libc.so is an empty linker script: libc is already in the process).
 *
 * Thread-local storage: TinyCC cannot compile it (it rejects __thread with an unhelpful
 * syntax error). __thread and _Thread_local (and so <threads.h>'s thread_local) are defined
 * as __typeof__(<marker>), an undeclared identifier: a hard error wherever they appear, which
 * no warning option (-w in the flags or in a source's #pragma comment(option, "-w")) can
 * silence, and a compile whose messages name the marker fails with the SPEC's error. */
#include <libtcc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cffi.h"
#include "sbuf.h"
#include "tcc_memory.h"

#define TLS_MARKER "cffi_thread_local_storage_is_not_supported"
#define DATA_SYMBOL "__cffi_cc_data_start"

typedef struct {
  sbuf_t errors;  /* error messages, one per line */
  int nerrors;
  char tls[512];  /* the first message naming TLS_MARKER, or "" */
} cc_diag_t;

static void cc_on_error(void *opaque, const char *msg) {
  cc_diag_t *d = opaque;
  if (strstr(msg, TLS_MARKER)) {
    if (!d->tls[0]) snprintf(d->tls, sizeof d->tls, "%s", msg);
    return;
  }
  if (!strstr(msg, "error:")) return; /* warnings */
  if (d->nerrors++) sb_puts(&d->errors, "\n");
  sb_puts(&d->errors, msg);
}

/* Array of JS strings -> NULL-terminated array of malloc'd copies (NULL with an exception
 * pending). */
static char **strings_from_js(napi_env env, napi_value arr) {
  uint32_t n;
  if (napi_get_array_length(env, arr, &n) != napi_ok) {
    cffi_throw_last(env);
    return NULL;
  }
  char **out = calloc(n + 1, sizeof *out);
  if (!out) {
    cffi_throw_error(env, NULL, "cffi: out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    size_t len;
    if (napi_get_element(env, arr, i, &e) != napi_ok || napi_get_value_string_utf8(env, e, NULL, 0, &len) != napi_ok ||
        !(out[i] = malloc(len + 1))) {
      for (uint32_t j = 0; j < i; j++) free(out[j]);
      free(out);
      cffi_throw_error(env, NULL, "cffi: cannot read the cc() options");
      return NULL;
    }
    napi_get_value_string_utf8(env, e, out[i], len + 1, &len);
  }
  return out;
}

static void strings_free(char **a) {
  if (!a) return;
  for (char **p = a; *p; p++) free(*p);
  free(a);
}

static void code_unload(void *code) { cffi_code_release(code); }

enum { A_RUNTIME, A_INCLUDES, A_SYSINCLUDES, A_DEFINES, A_OPTIONS, A_LIBRARIES, A_SOURCES, A_NAMES, A_COUNT };

/* One compile: what cc_steps works on under cffi_tcc_run_guarded (outside its setjmp frame). */
typedef struct {
  const char *runtime;
  char ***a;
  size_t nnames;
  void **addrs;
  cc_diag_t *diag;
  TCCState *s;
  cffi_exec_block_t block;
  cffi_code_t *code;        /* set on success */
  const char *bad_library;  /* a library TinyCC cannot find */
} cc_job_t;

/* The compile itself, with the guard held (tcc_memory.c): libtcc's exit() comes back as a
 * longjmp and its requests to make pages executable are only recorded. */
static void cc_steps(void *arg, cffi_tcc_guard_t *guard) {
  cc_job_t *job = arg;
  char ***a = job->a;
  cc_diag_t *diag = job->diag;
  TCCState *s = job->s = tcc_new();
  if (!s) {
    cc_on_error(diag, "error: tcc_new failed");
    return;
  }
  tcc_set_error_func(s, diag, cc_on_error);
  tcc_set_lib_path(s, job->runtime);     /* libtcc1.a */
  tcc_add_library_path(s, job->runtime); /* its libc.so, before the system's */
  for (char **o = a[A_OPTIONS]; *o; o++) tcc_set_options(s, *o);
  tcc_set_options(s, "-nostdinc");
  tcc_define_symbol(s, "__thread", "__typeof__(" TLS_MARKER ")");
  tcc_define_symbol(s, "_Thread_local", "__typeof__(" TLS_MARKER ")");
  for (char **d = a[A_DEFINES]; d[0] && d[1]; d += 2) tcc_define_symbol(s, d[0], d[1]);
  for (char **p = a[A_INCLUDES]; *p; p++) tcc_add_include_path(s, *p);
  for (char **p = a[A_SYSINCLUDES]; *p; p++) tcc_add_sysinclude_path(s, *p);
  if (tcc_set_output_type(s, TCC_OUTPUT_MEMORY) != 0) return;
  for (char **l = a[A_LIBRARIES]; *l; l++) {
    if ((strchr(*l, '/') ? tcc_add_file(s, *l) : tcc_add_library(s, *l)) < 0) {
      job->bad_library = *l;
      return;
    }
  }
  /* A page-aligned object first in the data section: the data starts on a page of its own,
   * after the code (the layout call_jit.c relies on too, checked below). */
  long page = sysconf(_SC_PAGESIZE);
  char data[128];
  snprintf(data, sizeof data, "char %s[1] __attribute__((aligned(%ld))) = {1};", DATA_SYMBOL, page);
  if (tcc_compile_string(s, data) < 0) return;
  int ok = 1;
  for (char **f = a[A_SOURCES]; *f; f++) /* every source, so that each one's errors are reported */
    if (tcc_add_file(s, *f) < 0) ok = 0;
  if (!ok || diag->nerrors || diag->tls[0]) return;
  int need = tcc_relocate(s, NULL);
  if (need <= 0) return;
  char err[256] = "";
  size_t size = ((size_t)need + (size_t)page - 1) & ~((size_t)page - 1);
  if (cffi_exec_alloc(&job->block, size, err, sizeof err) != 0) goto fail;
  if (tcc_relocate(s, job->block.mem) < 0) return;
  uintptr_t base = (uintptr_t)job->block.mem;
  uintptr_t start = (uintptr_t)tcc_get_symbol(s, DATA_SYMBOL);
  uintptr_t code_end = (guard->exec_hi + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
  if (guard->exec_requests == 0 || guard->exec_lo < base || start != code_end || start >= base + size) {
    snprintf(err, sizeof err, "error: unexpected layout of the compiled code");
    goto fail;
  }
  for (size_t i = 0; i < job->nnames; i++) job->addrs[i] = tcc_get_symbol(s, a[A_NAMES][i]);
  if (cffi_exec_seal_rw(&job->block, code_end - base, err, sizeof err) != 0) goto fail;
  if (!(job->code = cffi_code_adopt(job->block.mem, job->block.size))) {
    snprintf(err, sizeof err, "error: out of memory");
    goto fail;
  }
  return;
fail:
  cc_on_error(diag, err);
}

/* compile(runtimeDir, [include], [sysinclude], [name, value, name, value, …], [option],
 *         [library], [source], [symbol name])
 *   -> [handle, [address | null, …]]   compiled; null: that name is not defined
 *   -> [null, nerrors, text, tls]       compile errors (text: TinyCC's messages, one a line;
 *                                       tls: TinyCC's message where thread-local storage is
 *                                       used, or "")
 *   -> [null, -1, library]              a library that TinyCC cannot find */
static napi_value cc_compile(napi_env env, napi_callback_info info) {
  size_t argc = A_COUNT;
  napi_value argv[A_COUNT], out = NULL;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char **a[A_COUNT] = {0};
  char **runtime = NULL;
  napi_value rt_arr;
  CFFI_CALL(env, napi_create_array_with_length(env, 1, &rt_arr));
  CFFI_CALL(env, napi_set_element(env, rt_arr, 0, argv[A_RUNTIME]));
  if (!(runtime = strings_from_js(env, rt_arr))) return NULL;
  for (int k = A_INCLUDES; k < A_COUNT; k++)
    if (!(a[k] = strings_from_js(env, argv[k]))) goto done;

  cc_diag_t diag = {{0}, 0, {0}};
  size_t nnames = 0;
  while (a[A_NAMES][nnames]) nnames++;
  void **addrs = calloc(nnames + 1, sizeof *addrs);
  if (!addrs) {
    cffi_throw_error(env, NULL, "cffi: out of memory");
    goto done;
  }

  cc_job_t job = {runtime[0], a, nnames, addrs, &diag, NULL, {MAP_FAILED, 0, -1}, NULL, NULL};
  cffi_tcc_lock();
  if (cffi_tcc_run_guarded(cc_steps, &job) != 0 && !diag.nerrors) cc_on_error(&diag, "error: TinyCC gave up");
  if (job.s) tcc_delete(job.s);
  cffi_tcc_unlock();
  if (!job.code) cffi_exec_free(&job.block);
  cffi_code_t *code = job.code;
  const char *bad_library = job.bad_library;

  napi_value v;
  if (code) {
    napi_value list, handle = cffi_lib_handle(env, code, code_unload);
    if (!handle) {
      cffi_code_release(code);
      goto free_diag;
    }
    if (napi_create_array_with_length(env, 2, &out) != napi_ok ||
        napi_create_array_with_length(env, nnames, &list) != napi_ok || napi_set_element(env, out, 0, handle) != napi_ok ||
        napi_set_element(env, out, 1, list) != napi_ok)
      goto js_fail;
    for (size_t i = 0; i < nnames; i++) {
      if (addrs[i]) v = cffi_address_value(env, addrs[i]);
      else if (napi_get_null(env, &v) != napi_ok) v = NULL;
      if (!v || napi_set_element(env, list, (uint32_t)i, v) != napi_ok) goto js_fail;
    }
    goto free_diag;
  }
  if (napi_create_array_with_length(env, 4, &out) != napi_ok || napi_get_null(env, &v) != napi_ok ||
      napi_set_element(env, out, 0, v) != napi_ok)
    goto js_fail;
  if (bad_library && !diag.nerrors) {
    if (napi_create_int32(env, -1, &v) != napi_ok || napi_set_element(env, out, 1, v) != napi_ok ||
        napi_create_string_utf8(env, bad_library, NAPI_AUTO_LENGTH, &v) != napi_ok || napi_set_element(env, out, 2, v) != napi_ok)
      goto js_fail;
    goto free_diag;
  }
  const char *text = sb_finish(&diag.errors);
  diag.errors = (sbuf_t){0};
  napi_status st = napi_create_int32(env, diag.nerrors, &v);
  if (st == napi_ok) st = napi_set_element(env, out, 1, v);
  if (st == napi_ok) st = napi_create_string_utf8(env, text ? text : "", NAPI_AUTO_LENGTH, &v);
  if (st == napi_ok) st = napi_set_element(env, out, 2, v);
  if (st == napi_ok) st = napi_create_string_utf8(env, diag.tls, NAPI_AUTO_LENGTH, &v);
  if (st == napi_ok) st = napi_set_element(env, out, 3, v);
  free((void *)text);
  if (st != napi_ok) goto js_fail;
  goto free_diag;

js_fail:
  cffi_throw_last(env);
  out = NULL;
free_diag:
  free(sb_finish(&diag.errors));
  free(addrs);
done:
  strings_free(runtime);
  for (int k = 0; k < A_COUNT; k++) strings_free(a[k]);
  return out;
}

napi_status cffi_init_cc_later(napi_env env, napi_value later) {
  CFFI_EXPORT_FN(env, later, "ccCompile", cc_compile);
  return napi_ok;
}
