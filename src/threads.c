/* threads.c: callbacks invoked off the JS thread, and threadsafe callbacks (stub: issue 4).
 * Until the relay exists, such invocations return zero without running JS. */
#include "cffi.h"

void cffi_threads_queue(cffi_cb_t *cb, void **args) {}
void cffi_threads_call_blocking(cffi_cb_t *cb, void **args, void *ret) {
  cffi_slot_t z = {0};
  cffi_cb_write_ret(cb, &z, ret);
}
int cffi_threads_cb_init(cffi_cb_t *cb) { return 0; }
void cffi_threads_cb_close(cffi_cb_t *cb) {}
