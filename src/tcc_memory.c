/* tcc_memory.c: where TinyCC-compiled code lives, and what libtcc may not do to the process.
 *
 * Code pages are never writable and executable at once. A block is mapped read+write,
 * TinyCC relocates into it, then the code pages become read+execute and the data pages
 * (TinyCC's .data, .bss and GOT) read-only. Where a system refuses that (SELinux
 * deny_execmem, PaX MPROTECT, hardened containers), a memfd is used instead: written through
 * a read+write shared view whose code pages are then replaced by a read+execute view of the
 * same file (pages that were never writable). If both are refused, the probe says so once,
 * and call_jit.c turns the JIT off for the process: everything runs on libffi.
 *
 * Debian's libtcc (0.9.27+git20200814) does two things a library must not: tcc_relocate()
 * itself mprotects the code pages read+write+execute, and when that is refused it calls
 * exit(1) (its errors outside a compile end the process). cffi.gypi links with
 * -Wl,--wrap=mprotect,--wrap=exit, so every reference to those two in cffi.node (libtcc's,
 * libffi's, ours) comes here. On a thread inside cffi_tcc_guard_enter/leave (call_jit.c
 * holds the guard around every libtcc call), a request to make pages executable is recorded
 * and not performed, and exit() longjmps back to the compile, which then fails like any
 * other (its functions stay on libffi). Everywhere else both pass straight through. */
#define _GNU_SOURCE
#include "tcc_memory.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#endif

/* The real functions (see the header comment); ours, not libtcc's, call these directly. */
extern int __real_mprotect(void *addr, size_t len, int prot);
extern void __real_exit(int status) __attribute__((noreturn));
int memfd_create(const char *name, unsigned flags); /* glibc_compat.c's wrapper */

static __thread cffi_tcc_guard_t *tcc_guard;

void cffi_tcc_guard_enter(cffi_tcc_guard_t *g) {
  g->exec_lo = UINTPTR_MAX;
  g->exec_hi = 0;
  g->exec_requests = 0;
  tcc_guard = g;
}

void cffi_tcc_guard_leave(void) { tcc_guard = NULL; }

/* `job` lives in the caller's frame, not in this one, which calls setjmp. */
int cffi_tcc_run_guarded(void (*steps)(void *job, cffi_tcc_guard_t *guard), void *job) {
  cffi_tcc_guard_t guard;
  cffi_tcc_glibc_init();
  if (setjmp(guard.exit_jmp)) return -1;
  cffi_tcc_guard_enter(&guard);
  steps(job, &guard);
  cffi_tcc_guard_leave();
  return 0;
}

__attribute__((visibility("hidden"))) int __wrap_mprotect(void *addr, size_t len, int prot) {
  cffi_tcc_guard_t *g = tcc_guard;
  if (g && (prot & PROT_EXEC)) {
    uintptr_t lo = (uintptr_t)addr, hi = lo + len;
    if (lo < g->exec_lo) g->exec_lo = lo;
    if (hi > g->exec_hi) g->exec_hi = hi;
    g->exec_requests++;
    return 0;
  }
  return __real_mprotect(addr, len, prot);
}

__attribute__((visibility("hidden"), noreturn)) void __wrap_exit(int status) {
  cffi_tcc_guard_t *g = tcc_guard;
  if (g) {
    tcc_guard = NULL;
    longjmp(g->exit_jmp, 1);
  }
  __real_exit(status);
}

static long page_size(void) {
  static long page;
  if (!page) page = sysconf(_SC_PAGESIZE);
  return page;
}

/* ---- the probe ---------------------------------------------------------------------------- */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static cffi_exec_mode_t probe_mode;
static char probe_why[160];

/* Can a memfd's page be mapped read+write, then that view replaced by a read+execute one? */
static int probe_memfd(void) {
  long page = page_size();
  int fd = memfd_create("cffi-jit", MFD_CLOEXEC);
  if (fd < 0) return -1;
  int ok = -1;
  void *p = MAP_FAILED;
  if (ftruncate(fd, page) == 0) p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p != MAP_FAILED) {
    if (mmap(p, (size_t)page, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, fd, 0) != MAP_FAILED) ok = 0;
    munmap(p, (size_t)page);
  }
  close(fd);
  return ok;
}

static void probe(void) {
  long page = page_size();
  void *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    snprintf(probe_why, sizeof probe_why, "mmap: %s", strerror(errno));
    probe_mode = CFFI_EXEC_NONE;
    return;
  }
  int rc = __real_mprotect(p, (size_t)page, PROT_READ | PROT_EXEC);
  int e = errno;
  munmap(p, (size_t)page);
  if (rc == 0) {
    probe_mode = CFFI_EXEC_ANON;
  } else if (probe_memfd() == 0) {
    probe_mode = CFFI_EXEC_MEMFD;
  } else {
    snprintf(probe_why, sizeof probe_why, "mprotect(PROT_READ|PROT_EXEC): %s; a memfd mapping: %s", strerror(e),
             strerror(errno));
    probe_mode = CFFI_EXEC_NONE;
  }
}

cffi_exec_mode_t cffi_exec_probe(const char **why) {
  pthread_once(&probe_once, probe);
  if (why) *why = probe_why;
  return probe_mode;
}

/* ---- blocks ------------------------------------------------------------------------------- */

int cffi_exec_alloc(cffi_exec_block_t *b, size_t size, char *err, size_t errlen) {
  b->mem = MAP_FAILED;
  b->size = size;
  b->fd = -1;
  if (cffi_exec_probe(NULL) == CFFI_EXEC_MEMFD) {
    b->fd = memfd_create("cffi-jit", MFD_CLOEXEC);
    if (b->fd < 0 || ftruncate(b->fd, (off_t)size) != 0) {
      snprintf(err, errlen, "memfd: %s", strerror(errno));
      cffi_exec_free(b);
      return -1;
    }
    b->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
  } else {
    b->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  }
  if (b->mem == MAP_FAILED) {
    snprintf(err, errlen, "mmap failed: %s", strerror(errno));
    cffi_exec_free(b);
    return -1;
  }
  return 0;
}

static int exec_seal(cffi_exec_block_t *b, size_t code, int data_prot, char *err, size_t errlen);

int cffi_exec_seal(cffi_exec_block_t *b, size_t code, char *err, size_t errlen) {
  return exec_seal(b, code, PROT_READ, err, errlen);
}

int cffi_exec_seal_rw(cffi_exec_block_t *b, size_t code, char *err, size_t errlen) {
  return exec_seal(b, code, PROT_READ | PROT_WRITE, err, errlen);
}

static int exec_seal(cffi_exec_block_t *b, size_t code, int data_prot, char *err, size_t errlen) {
  char *mem = b->mem;
  int rc;
  if (b->fd >= 0) {
    rc = mmap(mem, code, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, b->fd, 0) == MAP_FAILED ? -1 : 0;
  } else {
    rc = __real_mprotect(mem, code, PROT_READ | PROT_EXEC);
  }
  if (rc != 0) {
    snprintf(err, errlen, "making the code executable failed: %s", strerror(errno));
    return -1;
  }
  if (code < b->size && data_prot != (PROT_READ | PROT_WRITE) && __real_mprotect(mem + code, b->size - code, data_prot) != 0) {
    snprintf(err, errlen, "mprotect of the data pages failed: %s", strerror(errno));
    return -1;
  }
  if (b->fd >= 0) {
    close(b->fd); /* the mappings keep the file */
    b->fd = -1;
  }
  return 0;
}

void cffi_exec_free(cffi_exec_block_t *b) {
  if (b->mem != MAP_FAILED && b->mem) munmap(b->mem, b->size);
  if (b->fd >= 0) close(b->fd);
  b->mem = MAP_FAILED;
  b->fd = -1;
}
