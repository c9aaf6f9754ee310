/* async.c: fn.async() — C calls on libuv worker threads (stub, issue 4). */
#include "cffi.h"
napi_status cffi_init_async(napi_env env, napi_value exports) { return napi_ok; }
