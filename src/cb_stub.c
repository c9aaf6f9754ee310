/* cb_stub.c: the C addresses of JSCallbacks that cannot have a direct entry (cb_direct.c):
 * stubs and libffi closures.
 *
 * Stubs: stable C addresses for JSCallbacks whose code may be replaced later. A stub is
 * an indirect jump through a data word; callback.c hands out the stub's address as `.ptr`,
 * points the word at the libffi closure first and, once the callback is hot, at a
 * JIT-compiled trampoline (call_jit.c). The address never changes; only the word does.
 *
 * Only on x86-64 (hand-written instructions, like cb_direct.c's); elsewhere cffi_stub_alloc
 * returns NULL and callbacks stay on their libffi closure for good. cffi_stub_set and
 * cffi_stub_free also take direct entries (they are stubs too) and pass them to cb_direct.c.
 *
 * Layout: stubs come in blocks of two pages mapped together. The first page holds
 * STUB_SIZE-byte stubs and is read+execute; the second holds one 8-byte target word per
 * stub at the same index, and stays read+write, so retargeting never needs mprotect (no
 * window where code is writable or a page other threads execute is unmapped). Stub i is
 *
 *   f3 0f 1e fa          endbr64                 (a valid landing pad where CET/IBT is on)
 *   ff 25 <disp32>       jmp *disp32(%rip)       (disp32 = target word i - end of the jmp)
 *   cc ... cc            int3 padding up to STUB_SIZE
 *
 * Since code page and data page are adjacent and stub i and word i sit at the same offset
 * (stub i at i*STUB_SIZE, word i at page + i*8), disp32 = page + i*8 - (i*STUB_SIZE + 10).
 * The jump leaves every argument register and the stack untouched: the target runs as if C
 * had called it directly. Blocks are never unmapped; freed stubs are reused (the leak test
 * creates 100,000 callbacks but frees them as it goes).
 *
 * Closures (cffi_closure_alloc): libffi's own allocator (ffi_closure_alloc) first checks the
 * system (it reads /proc/self/status and /proc/mounts) and maps read+write+execute memory:
 * ~150-200 us for the first closure of a process, most of the first `new JSCallback`'s native
 * cost. Here closures come from pages of a memfd mapped twice, a read+write view where
 * ffi_prep_closure_loc writes them and a read+execute view that C calls: no page is ever
 * writable and executable at once (as for compiled code, tcc_memory.c), and the first block
 * costs four system calls. Where a memfd cannot be mapped so, callback.c uses
 * ffi_closure_alloc as before, unless the JIT's probe found no way at all to execute memory
 * it wrote (then no closure can be made). Blocks are never unmapped (a freed closure is
 * reused, like a stub). */
#include <ffi.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cb_stub.h"
#include "tcc_memory.h"

int memfd_create(const char *name, unsigned flags); /* glibc_compat.c's wrapper */
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#endif

#if defined(__x86_64__) && defined(__linux__)

#define STUB_SIZE 16

static pthread_mutex_t stub_lock = PTHREAD_MUTEX_INITIALIZER;
static void **free_stubs; /* a stack of unused stubs */
static size_t free_count, free_cap;
static size_t mapped; /* stubs ever mapped: free_stubs must be able to hold them all */
static long page_size;

/* Maps a block and pushes all its stubs. Called with stub_lock held. */
static int stub_grow(void) {
  if (!page_size) page_size = sysconf(_SC_PAGESIZE);
  size_t page = (size_t)page_size;
  if (page_size <= 0 || page % STUB_SIZE) return -1;
  size_t n = page / STUB_SIZE;
  if (mapped + n > free_cap) { /* every stub may be free at once (cffi_stub_free) */
    size_t cap = free_cap ? free_cap * 2 : 1024;
    while (cap < mapped + n) cap *= 2;
    void **p = realloc(free_stubs, cap * sizeof *p);
    if (!p) return -1;
    free_stubs = p;
    free_cap = cap;
  }
  uint8_t *mem = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return -1;
  mapped += n;
  static const uint8_t head[6] = {0xf3, 0x0f, 0x1e, 0xfa, 0xff, 0x25};
  for (size_t i = 0; i < n; i++) {
    uint8_t *s = mem + i * STUB_SIZE;
    int32_t disp = (int32_t)(page + i * 8 - (i * STUB_SIZE + 10));
    memcpy(s, head, sizeof head);
    memcpy(s + 6, &disp, 4);
    memset(s + 10, 0xcc, STUB_SIZE - 10);
  }
  if (mprotect(mem, page, PROT_READ | PROT_EXEC) != 0) {
    munmap(mem, 2 * page);
    return -1;
  }
  /* pushed in reverse so that the first stub of the block is handed out first */
  for (size_t i = n; i-- > 0;) free_stubs[free_count++] = mem + i * STUB_SIZE;
  return 0;
}

/* The target word of a stub: the same index in the next page. */
static void **stub_word(void *stub) {
  uintptr_t page = (uintptr_t)page_size;
  uintptr_t base = (uintptr_t)stub & ~(page - 1);
  return (void **)(base + page + ((uintptr_t)stub - base) / STUB_SIZE * 8);
}

void *cffi_stub_alloc(void *target) {
  pthread_mutex_lock(&stub_lock);
  if (!free_count && stub_grow() != 0) {
    pthread_mutex_unlock(&stub_lock);
    return NULL;
  }
  void *stub = free_stubs[--free_count];
  __atomic_store_n(stub_word(stub), target, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&stub_lock);
  return stub;
}

void cffi_stub_set(void *stub, void *target) {
  if (cffi_direct_owns(stub)) return cffi_direct_set(stub, target);
  /* an aligned 8-byte store: a thread jumping through the stub sees the old or the new
   * target, both valid (the caller frees neither while the stub is in use) */
  __atomic_store_n(stub_word(stub), target, __ATOMIC_RELEASE);
}

void cffi_stub_free(void *stub) {
  if (cffi_direct_owns(stub)) return cffi_direct_free(stub);
  pthread_mutex_lock(&stub_lock);
  /* free_cap >= mapped (stub_grow), so this push never needs to grow */
  free_stubs[free_count++] = stub;
  pthread_mutex_unlock(&stub_lock);
}

/* ---- closures ---- */

#define CLOSURE_SIZE ((sizeof(ffi_closure) + 15) & ~(size_t)15)
#define CLOSURE_BLOCK 16384 /* bytes per block: 256 closures */

static pthread_mutex_t closure_lock = PTHREAD_MUTEX_INITIALIZER;
static struct free_closure { struct free_closure *next; void *code; } *free_closures;
static uint8_t *fresh_rw, *fresh_rx; /* the current block's never used closures, from here */
static size_t fresh_left;            /* how many */
static bool closures_refused; /* a block could not be mapped: libffi's allocator from now on */

/* Maps a block (a memfd viewed read+write and read+execute); its closures are handed out in
 * order from fresh_*, so a page is first written (and faulted in) when a closure on it is
 * prepared. Called with closure_lock held. Freed closures go on a list that lives in the
 * writable view of the free closures. */
static int closure_grow(void) {
  if (closures_refused || cffi_exec_probe(NULL) == CFFI_EXEC_NONE) return -1;
  int fd = memfd_create("cffi-closures", MFD_CLOEXEC);
  uint8_t *rw = MAP_FAILED, *rx = MAP_FAILED;
  if (fd >= 0 && ftruncate(fd, CLOSURE_BLOCK) == 0) {
    rw = mmap(NULL, CLOSURE_BLOCK, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (rw != MAP_FAILED) rx = mmap(NULL, CLOSURE_BLOCK, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
  }
  if (fd >= 0) close(fd); /* the mappings keep the file */
  if (rx == MAP_FAILED) {
    if (rw != MAP_FAILED) munmap(rw, CLOSURE_BLOCK);
    closures_refused = true;
    return -1;
  }
  fresh_rw = rw;
  fresh_rx = rx;
  fresh_left = CLOSURE_BLOCK / CLOSURE_SIZE;
  return 0;
}

void *cffi_closure_alloc(void **code) {
  pthread_mutex_lock(&closure_lock);
  struct free_closure *f = free_closures;
  if (f) {
    free_closures = f->next;
    *code = f->code;
  } else if (fresh_left || closure_grow() == 0) {
    f = (struct free_closure *)fresh_rw;
    *code = fresh_rx;
    fresh_rw += CLOSURE_SIZE;
    fresh_rx += CLOSURE_SIZE;
    fresh_left--;
  }
  pthread_mutex_unlock(&closure_lock);
  return f;
}

void cffi_closure_free(void *closure, void *code) {
  struct free_closure *f = closure;
  pthread_mutex_lock(&closure_lock);
  f->code = code;
  f->next = free_closures;
  free_closures = f;
  pthread_mutex_unlock(&closure_lock);
}

#else /* no stubs: callbacks keep their direct entry or libffi closure address */

void *cffi_stub_alloc(void *target) { return NULL; }
void cffi_stub_set(void *stub, void *target) {
  if (cffi_direct_owns(stub)) cffi_direct_set(stub, target);
}
void cffi_stub_free(void *stub) {
  if (cffi_direct_owns(stub)) cffi_direct_free(stub);
}
void *cffi_closure_alloc(void **code) { return NULL; }
void cffi_closure_free(void *closure, void *code) {}

#endif
