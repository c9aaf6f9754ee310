/* cb_stub.h: the C addresses of JSCallbacks: direct entries (cb_direct.c), stable retargetable
 * stubs and libffi closures (cb_stub.c). */
#ifndef CFFI_CB_STUB_H
#define CFFI_CB_STUB_H

#include <stdbool.h>
#include <stdint.h>

/* cb_direct.c. A direct entry: a trampoline in cffi.node's own code (no memory is mapped for
 * it) through which C calls reach cffi_direct_call(ctx, …) below, or NULL (all are in use, or
 * not x86-64/arm64 Linux). It is a stub too: cffi_stub_set retargets it (to a function of the
 * callback's C signature), cffi_stub_free returns it. Any thread. */
void *cffi_direct_alloc(void *ctx);
bool cffi_direct_owns(const void *p);
void cffi_direct_set(void *p, void *target);
void cffi_direct_free(void *p);
/* The registers a direct entry stores: CFFI_DIRECT_GP integer argument registers, then eight
 * floating-point ones (and on arm64 x8); cffi_direct_call reads them (cb_direct.c). */
#if defined(__aarch64__)
#define CFFI_DIRECT_GP 8
#else
#define CFFI_DIRECT_GP 6
#endif
void cffi_direct_call(void *ctx, uint64_t *regs, uint64_t *stack, uint64_t *out);

/* A new stub that jumps to `target`, or NULL (out of memory, or not x86-64 Linux: then the
 * caller hands out `target` itself and never retargets). Any thread. */
void *cffi_stub_alloc(void *target);
/* Makes the stub jump to `target` from now on (threads already past the jump finish on the
 * old target, which must stay valid as long as the stub is in use). */
void cffi_stub_set(void *stub, void *target);
/* Returns the stub for reuse; nothing may call it any more. */
void cffi_stub_free(void *stub);

/* Memory for one ffi_closure (write it with ffi_prep_closure_loc(closure, …, *code)) whose
 * executable address is *code, or NULL (then use ffi_closure_alloc). Any thread. */
void *cffi_closure_alloc(void **code);
/* Returns a closure of cffi_closure_alloc for reuse; nothing may call it any more. */
void cffi_closure_free(void *closure, void *code);

#endif
