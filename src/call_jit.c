/* call_jit.c: the TinyCC call path, and (with cc.c) the only file that includes libtcc.h. Compiles the
 * trampolines that codegen.c writes for a batch of functions (everything one dlopen /
 * linkSymbols / CFunction declares) in one TCCState, relocates the code into a read+write
 * block it owns, then makes the code pages read+execute and the data pages read-only
 * (tcc_memory.c; libtcc's own mprotect and exit are guarded there). Any failure returns -1 and
 * the caller keeps libffi, which behaves the same; if this process cannot get executable
 * memory at all, cffi_jit_on() says so once and the JIT stays off.
 *
 * Ownership of compiled code (cffi_code_t): one mapping per batch, reference counted.
 * cffi_jit_link() creates it with one reference per function it gave a trampoline to
 * (fns[i]->code set, fns[i]->jit_entry != NULL); whoever frees such a function calls
 * cffi_code_release(fn->code) exactly once. The last release unmaps the code, so it must
 * not happen while the trampoline can still run: library.c releases a batch's functions at
 * close() (or when its handle is collected), waiting in st->zombies while a synchronous call
 * is in flight and for .async calls to settle; callback.c releases a JSCallback's trampoline
 * when the callback is freed (threads.c: never while it runs; kept if it was ever called
 * from another thread); cc.c when its result is closed.
 *
 * Compile cost, measured on the development machine (Debian 12, 2 cores shared with other
 * builds: load average ~8, so minimum of many runs; TinyCC 0.9.27+git20200814):
 *   standalone C harness, new + compile + relocate + delete of one batch:
 *     1 trampoline 78 us, 9 mixed signatures 134 us, 50 mixed 408 us;
 *   in Node (binding link(), incl. creating the JS functions; libffi-only link of 9: 14 us):
 *     1: 100 us, 9: 193 us, 50: 640 us;
 *   dlopen + 9 declarations through lib/ (warm, same machine): 313 us with the JIT,
 *     83 us with CFFI_JIT=0; first call after it ~1 us (16 us in a fresh process).
 * About 55-70 us of every batch is fixed: this TinyCC parses its built-in predefinitions
 * (tccdefs, ~1M instructions of the 1.85M for 9 functions under callgrind) on every
 * compile, and there is no switch to skip them. Each further trampoline costs 3-10 us
 * (~47k instructions for int32(int32), ~150k for void*(void*) with its object path), which
 * is why the generated C avoids macros and per-function setup (see codegen.c).
 * Decision: compile eagerly, one batch per link() call. Lazy compilation (on the first
 * call) would move the whole batch cost into that call and miss the first-call target
 * (<= 100 us) by more than eager compilation misses the declaration target (<= 250 us).
 * By estimate (standalone 134 us + 83 us without the JIT) eager meets that target on an
 * idle machine; not verified here, the machine never was idle. */
#include <errno.h>
#include <libtcc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prelude.h"
#include "tcc_memory.h"

struct cffi_code_s {
  void *mem;  /* the batch's block: code pages read+execute, data pages read-only */
  size_t size;
  int refs;   /* one per function using a trampoline in it (atomic) */
};

/* Per-call state of a trampoline with address arguments, on the trampoline's stack
 * (cffi_jit_cx_t in the prelude, same size). Only cffi_jit_ptr_arg/cffi_jit_end touch more
 * than `state`, which the trampoline zeroes on entry. */
enum {
  CX_ARGV = 1,  /* argv holds the JS arguments (one napi_get_cb_info per call) */
  CX_TMP = 2,   /* tmp is initialised and may hold string copies */
  CX_ERROR = 4, /* a conversion failed: a JS exception is pending */
};
typedef struct {
  long state;
  napi_value argv[CFFI_MAX_ARGS];
  cffi_tmp_t tmp;
} jit_cx_t;

/* The prelude's copies of the layouts must match. */
_Static_assert(sizeof(jit_cx_t) == sizeof(long) + 194 * sizeof(void *), "cffi_jit_cx_t (prelude.h)");
_Static_assert(sizeof(cffi_slot_t) == 8, "cffi_slot_t (prelude.h)");
_Static_assert(CFFI_TAG_RAW == 0 && CFFI_TAG_F64 == 1, "tags (prelude.h)");
_Static_assert(CFFI_RTAG_NUMBER == 0 && CFFI_RTAG_BIGINT == 1 && CFFI_RTAG_NULL == 2, "tags (prelude.h)");

/* An address argument the trampoline could not read inline (an object, a string, or a
 * number at or above 2^63, or NaN): what=slot | type << 8 | nargs << 16, slots = the buffer. */
static void *jit_ptr_arg(napi_env env, napi_callback_info info, jit_cx_t *cx, cffi_slot_t *slots,
                         uint32_t what) {
  int s = what & 0xff;
  uint8_t type = (what >> 8) & 0xff;
  size_t nargs = what >> 16;
  uint8_t tag = ((uint8_t *)slots)[CFFI_TAGS_OFFSET + s];
  cffi_slot_t out;
  if (cx->state & CX_ERROR) return NULL;
  napi_value jsval = NULL;
  if (tag >= CFFI_TAG_VIEW) {
    if (!(cx->state & CX_ARGV)) {
      size_t argc = nargs;
      if (napi_get_cb_info(env, info, &argc, cx->argv, NULL, NULL) != napi_ok) {
        cffi_throw_last(env);
        cx->state |= CX_ERROR;
        return NULL;
      }
      cx->state |= CX_ARGV;
    }
    jsval = cx->argv[s - 1];
    /* a non-empty TypedArray, the common case: straight to its bytes (no string storage to
     * set up). Length 0 may mean its bytes are gone: cffi_load_arg checks (SPEC §16). */
    void *data;
    size_t len;
    if (tag == CFFI_TAG_VIEW && napi_get_typedarray_info(env, jsval, NULL, &len, &data, NULL, NULL) == napi_ok &&
        len != 0)
      return data;
  }
  if (!(cx->state & CX_TMP)) {
    cx->tmp.used = 0;
    cx->tmp.nheap = 0;
    cx->state |= CX_TMP;
  }
  if (cffi_load_arg(env, type, &slots[s], tag, jsval, &cx->tmp, &out) != 0) {
    cx->state |= CX_ERROR;
    return NULL;
  }
  return out.ptr;
}

/* Frees the call's string copies. */
static void jit_end(jit_cx_t *cx) {
  if (cx->state & CX_TMP) cffi_tmp_free(&cx->tmp);
}

/* A conversion failed (exception pending): free the copies, return undefined. */
static napi_value jit_fail(jit_cx_t *cx) {
  jit_end(cx);
  return NULL;
}

/* libtcc keeps global state: every TinyCC call in the process goes through this lock
 * (environments on worker threads included). */
static pthread_mutex_t tcc_lock = PTHREAD_MUTEX_INITIALIZER;

/* cc.c compiles under the same lock, and hands its sealed blocks over as cffi_code_t. */
void cffi_tcc_lock(void) { pthread_mutex_lock(&tcc_lock); }
void cffi_tcc_unlock(void) { pthread_mutex_unlock(&tcc_lock); }
cffi_code_t *cffi_code_adopt(void *mem, size_t size) {
  cffi_code_t *code = malloc(sizeof *code);
  if (!code) return NULL;
  code->mem = mem;
  code->size = size;
  code->refs = 1;
  return code;
}

/* Conversions TinyCC emits calls to for u64 <-> floating point (normally in libtcc1.a, which
 * -nostdlib leaves out). Compiled by gcc, so they round exactly like convert.c. */
static uint64_t jit_fixunsdfdi(double d) { return (uint64_t)d; }
static uint64_t jit_fixunssfdi(float f) { return (uint64_t)f; }
static double jit_floatundidf(uint64_t u) { return (double)u; }
static float jit_floatundisf(uint64_t u) { return (float)u; }

/* Every function the generated code (or TinyCC itself) may call. */
static const struct {
  const char *name;
  const void *addr;
} jit_symbols[] = {
    {"__errno_location", (const void *)__errno_location},
    {"cffi_f64_to_i64", (const void *)cffi_f64_to_i64},
    {"cffi_jit_ptr_arg", (const void *)jit_ptr_arg},
    {"cffi_jit_end", (const void *)jit_end},
    {"cffi_jit_fail", (const void *)jit_fail},
    {"cffi_cstring_value", (const void *)cffi_cstring_value},
    {"cffi_rethrow_ref", (const void *)cffi_rethrow_ref},
    {"cffi_take_pending", (const void *)cffi_take_pending},
    {"__fixunsdfdi", (const void *)jit_fixunsdfdi},
    {"__fixunssfdi", (const void *)jit_fixunssfdi},
    {"__floatundidf", (const void *)jit_floatundidf},
    {"__floatundisf", (const void *)jit_floatundisf},
    {"memmove", (const void *)memmove},
    {"memcpy", (const void *)memcpy},
    {"memset", (const void *)memset},
};

/* TinyCC's diagnostics for one compile: the first message is kept. */
typedef struct {
  char msg[1024];
  int count;
} jit_errors_t;

static void jit_on_error(void *opaque, const char *msg) {
  jit_errors_t *e = opaque;
  if (e->count++ == 0) snprintf(e->msg, sizeof e->msg, "%s", msg);
}

void cffi_code_release(cffi_code_t *code) {
  if (!code) return;
  if (__atomic_sub_fetch(&code->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  munmap(code->mem, code->size);
  free(code);
}

/* Put before every source: a page-aligned object, the first in .data, which is the first
 * data section TinyCC lays out after the code. The data then starts on a page of its own, so
 * the code pages hold only code (read+execute) and the data pages only data (read-only). */
static const char jit_data_marker[] = "__attribute__((aligned(4096))) char cffi_data_page[1] = {1};\n";

/* One compile: what jit_steps works on under cffi_tcc_run_guarded (outside its setjmp frame). */
typedef struct {
  const char *src;
  size_t n;
  napi_callback *entries;
  jit_errors_t *err;
  TCCState *s;
  cffi_exec_block_t block;
  cffi_code_t *code;
} jit_job_t;

/* The compile itself, with the guard held (see tcc_memory.c). Leaves job->code set on
 * success; the caller cleans up otherwise. */
static void jit_steps(void *arg, cffi_tcc_guard_t *guard) {
  jit_job_t *job = arg;
  jit_errors_t *err = job->err;
  TCCState *s = job->s = tcc_new();
  if (!s) {
    snprintf(err->msg, sizeof err->msg, "tcc_new failed");
    return;
  }
  tcc_set_error_func(s, err, jit_on_error);
  /* No headers, no libc, no libtcc1.a: nothing on disk is needed at run time. */
  tcc_set_options(s, "-nostdlib -nostdinc");
  if (tcc_set_output_type(s, TCC_OUTPUT_MEMORY) < 0) return;
  for (size_t i = 0; i < sizeof jit_symbols / sizeof jit_symbols[0]; i++)
    tcc_add_symbol(s, jit_symbols[i].name, jit_symbols[i].addr);
  size_t len = strlen(job->src);
  char *full = malloc(sizeof jit_data_marker + len);
  if (!full) return;
  memcpy(full, jit_data_marker, sizeof jit_data_marker - 1);
  memcpy(full + sizeof jit_data_marker - 1, job->src, len + 1);
  /* tcc_relocate reports success after a failed compile: check this result. (Warnings
   * also reach jit_on_error; they do not fail the batch.) */
  int rc = tcc_compile_string(s, full);
  free(full);
  if (rc < 0) return;

  int need = tcc_relocate(s, NULL);
  if (need <= 0) return;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t size = ((size_t)need + page - 1) & ~(page - 1);
  if (cffi_exec_alloc(&job->block, size, err->msg, sizeof err->msg) != 0) return;
  /* TinyCC copies and relocates into the read+write block; its request to make the code
   * pages read+write+execute is only recorded (tcc_memory.c). */
  if (tcc_relocate(s, job->block.mem) < 0) return;
  uintptr_t base = (uintptr_t)job->block.mem;
  uintptr_t data = (uintptr_t)tcc_get_symbol(s, "cffi_data_page");
  uintptr_t code_end = (guard->exec_hi + page - 1) & ~(uintptr_t)(page - 1);
  /* The layout this relies on: the code first, from the block's start, then the data from
   * the marker's page on. Anything else would leave data executable or code writable. */
  if (guard->exec_requests == 0 || guard->exec_lo < base || data != code_end || data >= base + size) {
    snprintf(err->msg, sizeof err->msg, "unexpected layout of the compiled code");
    return;
  }
  /* The instruction cache does not see the writes on AArch64 (no-op on x86-64). */
  __builtin___clear_cache((char *)job->block.mem, (char *)job->block.mem + size);
  for (size_t i = 0; i < job->n; i++) {
    char name[32];
    snprintf(name, sizeof name, "cffi_call_%zu", i);
    void *p = tcc_get_symbol(s, name);
    if (!p) {
      snprintf(err->msg, sizeof err->msg, "%s missing after relocation", name);
      return;
    }
    job->entries[i] = (napi_callback)p;
  }
  tcc_delete(s);
  job->s = NULL;
  if (cffi_exec_seal(&job->block, code_end - base, err->msg, sizeof err->msg) != 0) return;
  cffi_code_t *code = malloc(sizeof *code);
  if (!code) return;
  code->mem = job->block.mem;
  code->size = job->block.size;
  code->refs = (int)job->n;
  job->code = code;
}

/* Compiles `src`, relocates into a fresh block and resolves the n entry points. Called
 * with tcc_lock held. Returns the code block or NULL (message in *err). */
static cffi_code_t *jit_compile(const char *src, size_t n, napi_callback *entries,
                                jit_errors_t *err) {
  jit_job_t job = {src, n, entries, err, NULL, {MAP_FAILED, 0, -1}, NULL};
  if (cffi_tcc_run_guarded(jit_steps, &job) != 0 && !err->msg[0]) snprintf(err->msg, sizeof err->msg, "TinyCC gave up");
  if (job.code) return job.code;
  if (!err->msg[0]) snprintf(err->msg, sizeof err->msg, "compilation failed");
  if (job.s) tcc_delete(job.s);
  cffi_exec_free(&job.block);
  return NULL;
}

bool cffi_jit_on(cffi_env_t *st) {
  const char *why;
  if (!st->jit_enabled) return false;
  if (cffi_exec_probe(&why) != CFFI_EXEC_NONE) return true;
  if (st->debug_source && !st->jit_refusal_told) {
    st->jit_refusal_told = true;
    dprintf(STDERR_FILENO, "cffi: executable memory is refused (%s): the JIT is off, calls use libffi\n", why);
  }
  return false;
}

int cffi_jit_link(cffi_env_t *st, cffi_fn_t **fns, size_t n) {
  if (!st || !fns || n == 0 || cffi_exec_probe(NULL) == CFFI_EXEC_NONE) return -1;
  /* Only supported signatures; the others stay NULL and use libffi. */
  cffi_fn_t **batch = malloc(n * sizeof *batch);
  napi_callback *entries = malloc(n * sizeof *entries);
  char *src = NULL;
  int rc = -1;
  size_t nb = 0;
  if (!batch || !entries) goto done;
  for (size_t i = 0; i < n; i++) {
    fns[i]->jit_entry = NULL;
    fns[i]->code = NULL;
    if (cffi_jit_supports(&fns[i]->sig)) batch[nb++] = fns[i];
  }
  if (nb == 0) goto done;

  cffi_codegen_env_t e = {st, st->slots, st->tags, &st->depth, &st->last_errno, &st->pending, &errno};
  src = cffi_codegen_batch(&e, batch, nb, NULL);
  if (!src) goto done;
  if (st->debug_source) dprintf(STDERR_FILENO, "cffi: generated source (%zu functions):\n%s\n", nb, src);

  jit_errors_t err;
  err.msg[0] = 0;
  err.count = 0;
  pthread_mutex_lock(&tcc_lock);
  cffi_code_t *code = jit_compile(src, nb, entries, &err);
  pthread_mutex_unlock(&tcc_lock);
  if (!code) {
    if (st->debug_source) dprintf(STDERR_FILENO, "cffi: TinyCC failed, using libffi: %s\n", err.msg);
    goto done;
  }
  if (st->debug_source && err.count) dprintf(STDERR_FILENO, "cffi: TinyCC: %d warning(s), first: %s\n", err.count, err.msg);
  for (size_t i = 0; i < nb; i++) {
    batch[i]->jit_entry = entries[i];
    batch[i]->code = code;
  }
  rc = 0;

done:
  free(src);
  free(entries);
  free(batch);
  return rc;
}

int cffi_jit_callback(cffi_env_t *st, const cffi_sig_t *sig, const void *cb,
                      const void *dispatch, void **entry, cffi_code_t **code) {
  if (cffi_exec_probe(NULL) == CFFI_EXEC_NONE) return -1;
  char *src = cffi_codegen_cb_trampoline(sig, cb, dispatch);
  if (!src) return -1;
  if (st->debug_source) dprintf(STDERR_FILENO, "cffi: generated source (callback):\n%s\n", src);
  jit_errors_t err;
  err.msg[0] = 0;
  err.count = 0;
  napi_callback e = NULL;
  pthread_mutex_lock(&tcc_lock);
  cffi_code_t *c = jit_compile(src, 1, &e, &err);
  pthread_mutex_unlock(&tcc_lock);
  free(src);
  if (!c) {
    if (st->debug_source) dprintf(STDERR_FILENO, "cffi: TinyCC failed, callback stays on libffi: %s\n", err.msg);
    return -1;
  }
  *entry = (void *)e;
  *code = c;
  return 0;
}
