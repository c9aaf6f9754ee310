/* tcc_memory.h: executable memory for TinyCC-compiled code, and the guard around libtcc's own
 * mprotect and exit (tcc_memory.c). Used by call_jit.c and cc.c. */
#ifndef CFFI_TCC_MEMORY_H
#define CFFI_TCC_MEMORY_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

/* How this process gets executable memory; probed once (cffi_exec_probe). */
typedef enum {
  CFFI_EXEC_ANON = 1, /* anonymous pages, read+write then read+execute */
  CFFI_EXEC_MEMFD,    /* a memfd: written through a read+write view, then that view replaced
                         by a read+execute one (for policies that refuse the above) */
  CFFI_EXEC_NONE,     /* refused: the JIT is off for the process */
} cffi_exec_mode_t;

/* The probe's answer (cached); *why (may be NULL) gets a static description of a refusal. */
cffi_exec_mode_t cffi_exec_probe(const char **why);

/* One block of compiled code: read+write until sealed. */
typedef struct {
  void *mem;
  size_t size;
  int fd; /* CFFI_EXEC_MEMFD before sealing, else -1 */
} cffi_exec_block_t;

/* Maps `size` (page multiple) read+write bytes. 0, or -1 with a message in err. */
int cffi_exec_alloc(cffi_exec_block_t *b, size_t size, char *err, size_t errlen);
/* Makes [mem, mem + code) read+execute and the rest read-only; `code` is a page multiple.
 * 0, or -1 with a message in err (the block stays mapped: cffi_exec_free it). */
int cffi_exec_seal(cffi_exec_block_t *b, size_t code, char *err, size_t errlen);
/* The same, leaving the rest read+write: cc()'s compiled code has writable globals (cc.c). */
int cffi_exec_seal_rw(cffi_exec_block_t *b, size_t code, char *err, size_t errlen);
/* Unmaps a block (sealed or not). */
void cffi_exec_free(cffi_exec_block_t *b);

/* While a thread holds a guard (between enter and leave), libtcc's calls on it are
 * redirected: mprotect to make pages executable does nothing but record the range (the
 * caller seals the block itself), and exit() longjmps to `exit_jmp` instead of ending the
 * process. */
typedef struct {
  jmp_buf exit_jmp;
  uintptr_t exec_lo, exec_hi; /* the range libtcc asked to make executable */
  int exec_requests;
} cffi_tcc_guard_t;
void cffi_tcc_guard_enter(cffi_tcc_guard_t *g);
void cffi_tcc_guard_leave(void);
/* Runs steps(job, guard) with a guard held (and call_jit.c's tcc_lock, which every caller
 * holds): 0, or -1 if libtcc called exit() (steps has then stopped wherever libtcc was;
 * whatever it reported went to its error callback). */
int cffi_tcc_run_guarded(void (*steps)(void *job, cffi_tcc_guard_t *guard), void *job);
/* Fills libtcc's copies of stdout, stderr and environ (tcc_glibc.c); cffi_tcc_run_guarded
 * calls it first. */
void cffi_tcc_glibc_init(void);

#endif
