/* error.c: throwing JS errors from C. Every helper leaves an already-pending exception
 * alone, so the first error wins. */
#include <stdio.h>

#include "cffi.h"

static bool pending(napi_env env) {
  bool p = false;
  napi_is_exception_pending(env, &p);
  return p;
}

void cffi_throw_last(napi_env env) {
  if (pending(env)) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  const char *msg = info && info->error_message ? info->error_message : "Node-API call failed";
  char buf[256];
  snprintf(buf, sizeof buf, "cffi internal error: %s", msg);
  napi_throw_error(env, "ERR_CFFI_INTERNAL", buf);
}

napi_value cffi_throw_type(napi_env env, const char *code, const char *msg) {
  if (!pending(env)) napi_throw_type_error(env, code, msg);
  return NULL;
}

napi_value cffi_throw_error(napi_env env, const char *code, const char *msg) {
  if (!pending(env)) napi_throw_error(env, code, msg);
  return NULL;
}

napi_value cffi_throw_range(napi_env env, const char *code, const char *msg) {
  if (!pending(env)) napi_throw_range_error(env, code, msg);
  return NULL;
}
