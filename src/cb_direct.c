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
 * integer ones, the low 8 bytes of the first eight floating-point ones and, on arm64, x8, the
 * address for a large result) in its frame, zeroes the result block and calls
 * cffi_direct_call(ctx, regs, stack args, result), then returns the result block in the
 * registers that return values: the caller reads those its return type says.
 * cffi_direct_call reads the arguments as the ABI placed them (structs and unions by value
 * too, classified as layout.c does for libffi) into libffi-style argument pointers, runs
 * callback.c's cffi_cb_dispatch as every other path does, and places the result. A later
 * target may be any C function of the callback's own signature (a compiled trampoline: it
 * ignores the scratch register). Retargeting is one aligned 8-byte store, as for cb_stub.c's
 * stubs.
 *
 * Nothing is mapped: the first JSCallback of a process makes no system call and faults in no
 * new page, where a libffi closure needs executable memory mapped for it; and direct entries
 * work where a policy refuses executable memory altogether. Beyond DIRECT_COUNT live
 * callbacks, callback.c falls back to closures (and stubs). Elsewhere (other architectures,
 * other systems) cffi_direct_alloc returns NULL. */
#include <sched.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cb_stub.h"
#include "cffi.h"

#define DIRECT_COUNT 1024
#define DIRECT_SIZE 32

#define STR_(x) #x
#define STR(x) STR_(x)

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))

typedef struct {
  void *ctx;
  void *target;
} direct_word_t;

/* The entries' words and their bookkeeping, shared by every environment (Workers): one object,
 * the lock and counters first and the words right after them. It is not page-aligned: in .bss
 * right after .data and .got.plt, its start shares a page with them, which the dynamic loader
 * has written by the time cffi.node is loaded, so the first JSCallbacks of a process fault in no
 * page (aligned to a page of its own, the first one faulted in a page of zeros: 13 us of a first
 * JSCallback's 75 on the VM of 2026-12-07, paired median of 21). Bookkeeping and words in
 * objects of their own had cost one fault more, a pthread mutex and counters on two other pages
 * four. The lock is a spinlock held for a few instructions, by JS threads. The table's
 * instructions name the words by their offset in it (DIRECT_WORDS). */
typedef struct {
  int lock;
  uint32_t used;       /* entries ever handed out: 0 … used-1 */
  uint32_t free_count;
  uint32_t unused;
  direct_word_t words[DIRECT_COUNT];
  uint16_t free[DIRECT_COUNT]; /* a stack of released entries */
} direct_t;
#define DIRECT_WORDS 16
_Static_assert(offsetof(direct_t, words) == DIRECT_WORDS, "DIRECT_WORDS is the offset of direct_t's words");
__attribute__((visibility("hidden"), aligned(64))) direct_t cffi_direct; /* a cache line, not a page */
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
/* Frame: regs[0..5] = rdi rsi rdx rcx r8 r9, regs[6..13] = xmm0-7, then the result block at
 * 112 (rax, rdx, xmm0, xmm1); the caller's stack arguments start above the return address. */
__asm__(TABLE_START
        "  endbr64\n"
        "  movq cffi_direct+" STR(DIRECT_WORDS) "+cffi_direct_i*16(%rip), %r10\n"
        "  jmp *cffi_direct+" STR(DIRECT_WORDS) "+cffi_direct_i*16+8(%rip)\n"
        TABLE_END
        "  .type cffi_direct_entry, @function\n"
        ENTRY_START
        "  endbr64\n"
        "  pushq %rbp\n"
        "  .cfi_def_cfa_offset 16\n"
        "  .cfi_offset %rbp, -16\n"
        "  movq %rsp, %rbp\n"
        "  .cfi_def_cfa_register %rbp\n"
        "  subq $144, %rsp\n"
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
        "  movq $0, 128(%rsp)\n"
        "  movq $0, 136(%rsp)\n"
        "  movq %r10, %rdi\n"
        "  movq %rsp, %rsi\n"
        "  leaq 16(%rbp), %rdx\n"
        "  leaq 112(%rsp), %rcx\n"
        "  call cffi_direct_call\n"
        "  movq 112(%rsp), %rax\n"
        "  movq 120(%rsp), %rdx\n"
        "  movsd 128(%rsp), %xmm0\n"
        "  movsd 136(%rsp), %xmm1\n"
        "  leave\n"
        "  .cfi_def_cfa %rsp, 8\n"
        "  ret\n"
        ENTRY_END);
#else
/* Frame (above the saved x29, x30): regs[0..7] = x0-x7 at 16, regs[8..15] = d0-d7 at 80,
 * regs[16] = x8 at 144, the result block at 160 (x0, x1, d0-d3); the caller's stack arguments
 * start at the entry's sp (+208). */
__asm__(TABLE_START
        "  hint #34\n" /* bti c */
        "  adrp x16, cffi_direct+" STR(DIRECT_WORDS) "+cffi_direct_i*16\n"
        "  add x16, x16, :lo12:cffi_direct+" STR(DIRECT_WORDS) "+cffi_direct_i*16\n"
        "  ldp x16, x17, [x16]\n"
        "  br x17\n"
        TABLE_END
        "  .type cffi_direct_entry, %function\n"
        ENTRY_START
        "  hint #34\n"
        "  stp x29, x30, [sp, #-208]!\n"
        "  .cfi_def_cfa_offset 208\n"
        "  .cfi_offset x29, -208\n"
        "  .cfi_offset x30, -200\n"
        "  mov x29, sp\n"
        "  stp x0, x1, [sp, #16]\n"
        "  stp x2, x3, [sp, #32]\n"
        "  stp x4, x5, [sp, #48]\n"
        "  stp x6, x7, [sp, #64]\n"
        "  stp d0, d1, [sp, #80]\n"
        "  stp d2, d3, [sp, #96]\n"
        "  stp d4, d5, [sp, #112]\n"
        "  stp d6, d7, [sp, #128]\n"
        "  stp x8, xzr, [sp, #144]\n"
        "  stp xzr, xzr, [sp, #160]\n"
        "  stp xzr, xzr, [sp, #176]\n"
        "  stp xzr, xzr, [sp, #192]\n"
        "  mov x0, x16\n"
        "  add x1, sp, #16\n"
        "  add x2, sp, #208\n"
        "  add x3, sp, #160\n"
        "  bl cffi_direct_call\n"
        "  ldp x0, x1, [sp, #160]\n"
        "  ldp d0, d1, [sp, #176]\n"
        "  ldp d2, d3, [sp, #192]\n"
        "  ldp x29, x30, [sp], #208\n"
        "  .cfi_def_cfa_offset 0\n"
        "  .cfi_restore x30\n"
        "  .cfi_restore x29\n"
        "  ret\n"
        ENTRY_END);
#endif

static void direct_lock(void) {
  while (__atomic_exchange_n(&cffi_direct.lock, 1, __ATOMIC_ACQUIRE)) sched_yield();
}
static void direct_unlock(void) { __atomic_store_n(&cffi_direct.lock, 0, __ATOMIC_RELEASE); }

static size_t index_of(const void *p) { return ((uintptr_t)p - (uintptr_t)cffi_direct_table) / DIRECT_SIZE; }

bool cffi_direct_owns(const void *p) {
  uintptr_t a = (uintptr_t)p, base = (uintptr_t)cffi_direct_table;
  return a >= base && a < base + DIRECT_COUNT * DIRECT_SIZE;
}

void *cffi_direct_alloc(void *ctx) {
  size_t i;
  direct_lock();
  if (cffi_direct.free_count) i = cffi_direct.free[--cffi_direct.free_count];
  else if (cffi_direct.used < DIRECT_COUNT) i = cffi_direct.used++;
  else i = DIRECT_COUNT;
  direct_unlock();
  if (i == DIRECT_COUNT) return NULL;
  cffi_direct.words[i].ctx = ctx;
  __atomic_store_n(&cffi_direct.words[i].target, (void *)cffi_direct_entry, __ATOMIC_RELEASE);
  return (void *)(cffi_direct_table + i * DIRECT_SIZE);
}

void cffi_direct_set(void *p, void *target) {
  __atomic_store_n(&cffi_direct.words[index_of(p)].target, target, __ATOMIC_RELEASE);
}

void cffi_direct_free(void *p) {
  direct_lock();
  cffi_direct.free[cffi_direct.free_count++] = (uint16_t)index_of(p); /* room for all of them */
  direct_unlock();
}

/* ---- Reading a call ------------------------------------------------------------------------
 * regs: the GP integer argument registers, then the low 8 bytes of the first eight
 * floating-point ones (and on arm64 x8); stack: the caller's stack arguments, 8 bytes a slot;
 * out: the result block, zeroed: out[0], out[1] the integer result registers, out[2…] the
 * floating-point ones. Layouts by value are read into `copies` when they came in registers. */

#define GP CFFI_DIRECT_GP

/* Signatures a direct entry can read: layouts aligned to at most 16 bytes (more is refused for
 * arguments by value; a result aligned to more stays with libffi). */
bool cffi_direct_fits(const cffi_sig_t *sig) {
  if (!sig->x) return true;
  for (int pos = 0; pos <= sig->nargs; pos++)
    if (sig->x->layout[pos] && sig->x->layout[pos]->align > 16) return false;
  return true;
}

/* The next stack slots (8 bytes each; the first at a 16-byte boundary for a value aligned to
 * 16) for a layout L: x86-64 aligns by its alignment, AAPCS64 by its natural alignment (that
 * of its members, before an `align` asked of the whole: gcc 9 and later). */
static void *take_stack(uint64_t **stack, const cffi_layout_t *L) {
#if defined(__x86_64__)
  uint32_t align = L->align;
#else
  uint32_t align = L->natural;
#endif
  if (align > 8) *stack += ((uintptr_t)*stack / 8) & 1;
  void *p = *stack;
  *stack += (L->size + 7) / 8;
  return p;
}

/* Per ABI: layout_arg, where a layout argument is (its bytes read into `copy`, 32 bytes, when
 * they came in registers); result_at, where the result is to be written (`rbuf`, 32 zeroed
 * bytes, unless the caller gave an address); result_out, the result block from there. */
#if defined(__x86_64__)
/* SysV: a layout of at most 16 bytes whose eightbytes are classed INTEGER or SSE (layout.c)
 * comes in the next free registers of those classes when all of them are free, else on the
 * stack (taking no register); MEMORY-class ones on the stack. A MEMORY-class result is
 * written where the hidden first argument (rdi) points, which is returned in rax; another
 * one's eightbytes are returned in rax/rdx and xmm0/xmm1 by class. */
static void *layout_arg(const cffi_layout_t *L, uint64_t *regs, uint64_t **stack, int *gp, int *fp, uint64_t *copy) {
  int g = *gp, f = *fp;
  if (!cffi_sysv_in_regs(L, gp, fp)) return take_stack(stack, L);
  for (int e = 0; e < 2 && L->cls[e] != CFFI_CLS_NONE; e++) copy[e] = L->cls[e] == CFFI_CLS_INT ? regs[g++] : regs[GP + f++];
  return copy;
}

static void *result_at(const cffi_layout_t *R, uint64_t *regs, int *gp, uint64_t *rbuf) {
  return R->cls[0] == CFFI_CLS_MEMORY ? (void *)regs[(*gp)++] : rbuf;
}

static void result_out(const cffi_layout_t *R, void *ret, const uint64_t *rbuf, uint64_t *out) {
  if (R->cls[0] == CFFI_CLS_MEMORY) {
    out[0] = (uint64_t)(uintptr_t)ret;
    return;
  }
  int ni = 0, ns = 0;
  for (int e = 0; e < 2 && R->cls[e] != CFFI_CLS_NONE; e++) {
    if (R->cls[e] == CFFI_CLS_INT) out[ni++] = rbuf[e];
    else out[2 + ns++] = rbuf[e];
  }
}
#else
/* AAPCS64 (Linux): a homogeneous floating-point aggregate of n members comes in the next n
 * FP registers, one member each, when they are free, else on the stack (and no FP register is
 * used after it); another layout of up to 16 bytes in the next one or two integer registers,
 * else on the stack (and no integer register is used after it); a larger one by reference: a
 * pointer in the next integer register or stack slot. Results the same way in x0/x1 or d0-d3;
 * a larger one is written where x8 points. */
static void *layout_arg(const cffi_layout_t *L, uint64_t *regs, uint64_t **stack, int *gp, int *fp, uint64_t *copy) {
  if (L->hfa) {
    uint32_t size = cffi_types[L->hfa_type].size;
    if (*fp + L->hfa > 8) {
      *fp = 8;
      return take_stack(stack, L);
    }
    for (int k = 0; k < L->hfa; k++) memcpy((char *)copy + k * size, &regs[GP + (*fp)++], size);
    return copy;
  }
  if (L->size > 16) return (void *)(*gp < GP ? regs[(*gp)++] : *(*stack)++);
  int n = (int)(L->size + 7) / 8;
  if (L->natural > 8) *gp += *gp & 1; /* naturally 16-aligned: from an even register */
  if (*gp + n > GP) {
    *gp = GP;
    return take_stack(stack, L);
  }
  *gp += n;
  return &regs[*gp - n];
}

static void *result_at(const cffi_layout_t *R, uint64_t *regs, int *gp, uint64_t *rbuf) {
  return !R->hfa && R->size > 16 ? (void *)regs[GP + 8] : rbuf;
}

static void result_out(const cffi_layout_t *R, void *ret, const uint64_t *rbuf, uint64_t *out) {
  if (R->hfa) {
    uint32_t size = cffi_types[R->hfa_type].size;
    for (int k = 0; k < R->hfa; k++) memcpy(&out[2 + k], (const char *)rbuf + k * size, size);
  } else if (R->size <= 16) {
    out[0] = rbuf[0];
    out[1] = rbuf[1];
  }
}
#endif

/* Scalars take the next register of their class, else the next stack slot (Linux, both ABIs). */
void cffi_direct_call(void *ctx, uint64_t *regs, uint64_t *stack, uint64_t *out) {
  cffi_cb_t *cb = ctx;
  const cffi_sig_t *sig = &cb->sig;
  void *args[CFFI_MAX_ARGS];
  /* room for layouts that came in registers only where there are layouts: nested calls
   * (C → JS → C → …) stack these frames, so a scalar callback's stays small */
  uint64_t copies[sig->x ? 4 * sig->nargs : 1], rbuf[4] = {0, 0, 0, 0};
  int gp = 0, fp = 0;
  const cffi_layout_t *R = sig->ret == CFFI_T_LAYOUT ? sig->x->layout[0] : NULL;
  void *ret = R ? result_at(R, regs, &gp, rbuf) : out;
  for (int i = 0; i < sig->nargs; i++) {
    uint8_t t = sig->args[i];
    if (t == CFFI_T_LAYOUT) args[i] = layout_arg(sig->x->layout[1 + i], regs, &stack, &gp, &fp, &copies[4 * i]);
    else if (t == CFFI_T_F32 || t == CFFI_T_F64) args[i] = fp < 8 ? &regs[GP + fp++] : stack++;
    else args[i] = gp < GP ? &regs[gp++] : stack++;
  }
  cffi_cb_dispatch(cb, ret, args);
  if (R) result_out(R, ret, rbuf, out);
  else out[2] = out[0]; /* a scalar: the caller reads the integer or the FP register */
}
#else

void *cffi_direct_alloc(void *ctx) { return NULL; }
bool cffi_direct_owns(const void *p) { return false; }
void cffi_direct_set(void *p, void *target) {}
void cffi_direct_free(void *p) {}
bool cffi_direct_fits(const cffi_sig_t *sig) { return false; }

#endif
