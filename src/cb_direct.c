/* cb_direct.c: direct entries, the C addresses most JSCallbacks get (x86-64 and arm64 Linux).
 *
 * DIRECT_COUNT trampolines in cffi.node's own code, DIRECT_SIZE bytes apart, and a word pair
 * per trampoline in its data (words[i] = { ctx, target }). Trampoline i loads words[i].ctx into
 * a scratch register that no C caller expects kept (%r10 on x86-64, x16 on arm64) and jumps to
 * words[i].target, leaving every argument register and the stack as the caller set them:
 *
 *   x86-64: endbr64; movq words[i].ctx(%rip), %r10; jmp *words[i].target(%rip)
 *   arm64:  bti c; adrp x16, words[i]; add x16, x16, :lo12:words[i]; ldp x16, x17, [x16]; br x17
 *
 * The first target is cffi_direct_entry (below), which stores the argument registers (the
 * integer ones, then the low 8 bytes of the first eight floating-point ones) in its frame,
 * zeroes 16 bytes for the result and calls cffi_direct_call(ctx, regs, stack args, result)
 * (callback.c), then returns the result in both integer registers and the first floating-
 * point one: the caller reads the one its return type says. A later target may be any C
 * function of the callback's own signature (a compiled trampoline: it ignores the scratch
 * register). Retargeting is one aligned 8-byte store, as for cb_stub.c's stubs.
 *
 * Nothing is mapped: the first JSCallback of a process makes no system call and faults in no
 * new page, where a libffi closure needs executable memory mapped for it; and direct entries
 * work where a policy refuses executable memory altogether. Beyond DIRECT_COUNT live
 * callbacks, callback.c falls back to closures (and stubs). Elsewhere (other architectures,
 * other systems) cffi_direct_alloc returns NULL. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cb_stub.h"

#define DIRECT_COUNT 1024
#define DIRECT_SIZE 32

#define STR_(x) #x
#define STR(x) STR_(x)

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))

typedef struct {
  void *ctx;
  void *target;
} direct_word_t;

__attribute__((visibility("hidden"))) direct_word_t cffi_direct_words[DIRECT_COUNT];
extern const uint8_t cffi_direct_table[] __attribute__((visibility("hidden")));
void cffi_direct_entry(void) __attribute__((visibility("hidden")));

/* The table: the same instructions DIRECT_COUNT times, each naming its own word pair. */
#define TABLE_START                                  \
  "  .pushsection .text\n"                           \
  "  .balign " STR(DIRECT_SIZE) "\n"                 \
  "  .globl cffi_direct_table\n"                     \
  "  .hidden cffi_direct_table\n"                    \
  "cffi_direct_table:\n"                             \
  "  .set cffi_direct_i, 0\n"                        \
  "  .rept " STR(DIRECT_COUNT) "\n"
#define TABLE_END                                    \
  "  .balign " STR(DIRECT_SIZE) "\n"                 \
  "  .set cffi_direct_i, cffi_direct_i+1\n"          \
  "  .endr\n"
#define ENTRY_START                                  \
  "  .globl cffi_direct_entry\n"                     \
  "  .hidden cffi_direct_entry\n"                    \
  "cffi_direct_entry:\n"                             \
  "  .cfi_startproc\n"
#define ENTRY_END                                    \
  "  .cfi_endproc\n"                                 \
  "  .size cffi_direct_entry, .-cffi_direct_entry\n" \
  "  .popsection\n"

#if defined(__x86_64__)
/* Frame: regs[0..5] = rdi rsi rdx rcx r8 r9, regs[6..13] = xmm0-7, then the result (16
 * bytes) at 112; the caller's stack arguments start above the return address. */
__asm__(TABLE_START
        "  endbr64\n"
        "  movq cffi_direct_words+cffi_direct_i*16(%rip), %r10\n"
        "  jmp *cffi_direct_words+cffi_direct_i*16+8(%rip)\n"
        TABLE_END
        "  .type cffi_direct_entry, @function\n"
        ENTRY_START
        "  endbr64\n"
        "  pushq %rbp\n"
        "  .cfi_def_cfa_offset 16\n"
        "  .cfi_offset %rbp, -16\n"
        "  movq %rsp, %rbp\n"
        "  .cfi_def_cfa_register %rbp\n"
        "  subq $128, %rsp\n"
        "  movq %rdi, 0(%rsp)\n"
        "  movq %rsi, 8(%rsp)\n"
        "  movq %rdx, 16(%rsp)\n"
        "  movq %rcx, 24(%rsp)\n"
        "  movq %r8, 32(%rsp)\n"
        "  movq %r9, 40(%rsp)\n"
        "  movsd %xmm0, 48(%rsp)\n"
        "  movsd %xmm1, 56(%rsp)\n"
        "  movsd %xmm2, 64(%rsp)\n"
        "  movsd %xmm3, 72(%rsp)\n"
        "  movsd %xmm4, 80(%rsp)\n"
        "  movsd %xmm5, 88(%rsp)\n"
        "  movsd %xmm6, 96(%rsp)\n"
        "  movsd %xmm7, 104(%rsp)\n"
        "  movq $0, 112(%rsp)\n"
        "  movq $0, 120(%rsp)\n"
        "  movq %r10, %rdi\n"
        "  movq %rsp, %rsi\n"
        "  leaq 16(%rbp), %rdx\n"
        "  leaq 112(%rsp), %rcx\n"
        "  call cffi_direct_call\n"
        "  movq 112(%rsp), %rax\n"
        "  movq 120(%rsp), %rdx\n"
        "  movsd 112(%rsp), %xmm0\n"
        "  leave\n"
        "  .cfi_def_cfa %rsp, 8\n"
        "  ret\n"
        ENTRY_END);
#else
/* Frame (above the saved x29, x30): regs[0..7] = x0-x7 at 16, regs[8..15] = d0-d7 at 80, the
 * result (16 bytes) at 144; the caller's stack arguments start at the entry's sp (+160). */
__asm__(TABLE_START
        "  hint #34\n" /* bti c */
        "  adrp x16, cffi_direct_words+cffi_direct_i*16\n"
        "  add x16, x16, :lo12:cffi_direct_words+cffi_direct_i*16\n"
        "  ldp x16, x17, [x16]\n"
        "  br x17\n"
        TABLE_END
        "  .type cffi_direct_entry, %function\n"
        ENTRY_START
        "  hint #34\n"
        "  stp x29, x30, [sp, #-160]!\n"
        "  .cfi_def_cfa_offset 160\n"
        "  .cfi_offset x29, -160\n"
        "  .cfi_offset x30, -152\n"
        "  mov x29, sp\n"
        "  stp x0, x1, [sp, #16]\n"
        "  stp x2, x3, [sp, #32]\n"
        "  stp x4, x5, [sp, #48]\n"
        "  stp x6, x7, [sp, #64]\n"
        "  stp d0, d1, [sp, #80]\n"
        "  stp d2, d3, [sp, #96]\n"
        "  stp d4, d5, [sp, #112]\n"
        "  stp d6, d7, [sp, #128]\n"
        "  stp xzr, xzr, [sp, #144]\n"
        "  mov x0, x16\n"
        "  add x1, sp, #16\n"
        "  add x2, sp, #160\n"
        "  add x3, sp, #144\n"
        "  bl cffi_direct_call\n"
        "  ldp x0, x1, [sp, #144]\n"
        "  ldr d0, [sp, #144]\n"
        "  ldp x29, x30, [sp], #160\n"
        "  .cfi_def_cfa_offset 0\n"
        "  .cfi_restore x30\n"
        "  .cfi_restore x29\n"
        "  ret\n"
        ENTRY_END);
#endif

static pthread_mutex_t direct_lock = PTHREAD_MUTEX_INITIALIZER;
static uint16_t direct_free[DIRECT_COUNT]; /* a stack of released entries */
static size_t direct_free_count;
static size_t direct_used; /* entries ever handed out: 0 … direct_used-1 */

static size_t index_of(const void *p) { return ((uintptr_t)p - (uintptr_t)cffi_direct_table) / DIRECT_SIZE; }

bool cffi_direct_owns(const void *p) {
  uintptr_t a = (uintptr_t)p, base = (uintptr_t)cffi_direct_table;
  return a >= base && a < base + DIRECT_COUNT * DIRECT_SIZE;
}

void *cffi_direct_alloc(void *ctx) {
  size_t i;
  pthread_mutex_lock(&direct_lock);
  if (direct_free_count) i = direct_free[--direct_free_count];
  else if (direct_used < DIRECT_COUNT) i = direct_used++;
  else i = DIRECT_COUNT;
  pthread_mutex_unlock(&direct_lock);
  if (i == DIRECT_COUNT) return NULL;
  cffi_direct_words[i].ctx = ctx;
  __atomic_store_n(&cffi_direct_words[i].target, (void *)cffi_direct_entry, __ATOMIC_RELEASE);
  return (void *)(cffi_direct_table + i * DIRECT_SIZE);
}

void cffi_direct_set(void *p, void *target) {
  __atomic_store_n(&cffi_direct_words[index_of(p)].target, target, __ATOMIC_RELEASE);
}

void cffi_direct_free(void *p) {
  pthread_mutex_lock(&direct_lock);
  direct_free[direct_free_count++] = (uint16_t)index_of(p); /* room for all of them */
  pthread_mutex_unlock(&direct_lock);
}

#else

void *cffi_direct_alloc(void *ctx) { return NULL; }
bool cffi_direct_owns(const void *p) { return false; }
void cffi_direct_set(void *p, void *target) {}
void cffi_direct_free(void *p) {}

#endif
