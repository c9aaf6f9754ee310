/* cb_stub.h: stable, retargetable C addresses and libffi closures for JSCallbacks (cb_stub.c). */
#ifndef CFFI_CB_STUB_H
#define CFFI_CB_STUB_H

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
