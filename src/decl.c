/* decl.c: reads a JSCallback declaration ({ args, returns, threadsafe }, which lib/library.js
 * reads from the declaration object and passes) natively when it is of
 * the usual kind: type names and FFIType numbers, at most 64 arguments, no struct or union by
 * value, nothing the callback rules refuse. Anything else is declined, and lib/types.js
 * (readSignature) reads the declaration instead, with every error message of SPEC §1.1: this
 * reader never throws for a bad declaration, it only says "not mine".
 *
 * Why: reading a declaration in JS runs a handful of small functions (readSignature, typeOf,
 * checkSignature, …), and V8 pays for each of them again on its second run in a process (it
 * allocates their feedback then): the second `new JSCallback` of a process cost 17-27 us, of
 * which ~12 us were these functions (paired fresh processes). Read here, the JS side of a
 * `new JSCallback` is one function.
 *
 * The names and the refusals must be kept in sync with lib/types.js (byName, checkSignature);
 * test/callback.test.js compares this reader with readSignature over every name and number and
 * the refused cases. */
#include <string.h>

#include "cffi.h"

/* lib/types.js byName: the canonical names, the aliases, and size_t. */
static const struct {
  const char *name;
  uint8_t type;
} type_names[] = {
    {"char", CFFI_T_CHAR},       {"int8_t", CFFI_T_I8},        {"uint8_t", CFFI_T_U8},
    {"int16_t", CFFI_T_I16},     {"uint16_t", CFFI_T_U16},     {"int32_t", CFFI_T_I32},
    {"uint32_t", CFFI_T_U32},    {"int64_t", CFFI_T_I64},      {"uint64_t", CFFI_T_U64},
    {"double", CFFI_T_F64},      {"float", CFFI_T_F32},        {"bool", CFFI_T_BOOL},
    {"ptr", CFFI_T_PTR},         {"void", CFFI_T_VOID},        {"cstring", CFFI_T_CSTRING},
    {"i64_fast", CFFI_T_I64_FAST}, {"u64_fast", CFFI_T_U64_FAST}, {"function", CFFI_T_FUNCTION},
    {"napi_env", CFFI_T_NAPI_ENV}, {"napi_value", CFFI_T_NAPI_VALUE}, {"buffer", CFFI_T_BUFFER},
    {"buffer_length", CFFI_T_BUFFER_LENGTH},
    {"i8", CFFI_T_I8},           {"u8", CFFI_T_U8},            {"i16", CFFI_T_I16},
    {"u16", CFFI_T_U16},         {"i32", CFFI_T_I32},          {"int", CFFI_T_I32},
    {"c_int", CFFI_T_I32},       {"u32", CFFI_T_U32},          {"c_uint", CFFI_T_U32},
    {"i64", CFFI_T_I64},         {"isize", CFFI_T_I64},        {"u64", CFFI_T_U64},
    {"usize", CFFI_T_U64},       {"f64", CFFI_T_F64},          {"f32", CFFI_T_F32},
    {"pointer", CFFI_T_PTR},     {"void*", CFFI_T_PTR},        {"char*", CFFI_T_PTR},
    {"callback", CFFI_T_FUNCTION}, {"fn", CFFI_T_FUNCTION},    {"size_t", CFFI_T_U64},
};

/* A type given as a name or an FFIType number: 1 with *out set, 0 for anything else (a layout,
 * "...", an unknown name, another value), -1 with a JS exception pending. Asked as a string
 * first, then as a number, without napi_typeof: a Node-API call fewer per type (each costs
 * ~100-150 ns here, and a second `new JSCallback` runs before V8 has warmed anything). */
static int decl_type(napi_env env, napi_value v, uint8_t *out) {
  /* UTF-8, as dlopen reads names (so V8's code for it is usually warm by now; the UTF-16 read
   * cost ~11 us the first time on Node 20). Node-API copies whole characters only, so a cut
   * copy leaves at most 3 of its 31 bytes unused: one of 27 bytes or less is the whole
   * string. A byte of a non-ASCII character matches no name. */
  char buf[32];
  size_t len;
  napi_status s = napi_get_value_string_utf8(env, v, buf, sizeof buf, &len);
  if (s == napi_string_expected) { /* lib/types.js: an integer 0 … COUNT-1 */
    double d;
    s = napi_get_value_double(env, v, &d);
    if (s == napi_number_expected) return 0;
    if (s != napi_ok) return -1;
    if (!cffi_is_index(d, CFFI_T_LAYOUT)) return 0;
    *out = (uint8_t)d;
    return 1;
  }
  if (s != napi_ok) return -1;
  if (len > sizeof buf - 5) return 0; /* longer than any name */
  for (size_t k = 0; k < sizeof type_names / sizeof *type_names; k++) {
    const char *name = type_names[k].name;
    size_t i = 0;
    while (i < len && name[i] && buf[i] == name[i]) i++;
    if (i == len && !name[i]) { /* all of both: "i32\0x" is no name */
      *out = type_names[k].type;
      return 1;
    }
  }
  return 0;
}

/* lib/types.js checkSignature for "callback": what a JSCallback may return and take. */
static bool callback_ret_ok(uint8_t t) {
  return t != CFFI_T_NAPI_ENV && t != CFFI_T_NAPI_VALUE && t != CFFI_T_BUFFER && t != CFFI_T_BUFFER_LENGTH;
}
static bool callback_arg_ok(uint8_t t) { return t != CFFI_T_VOID && callback_ret_ok(t); }

int cffi_decl_callback(napi_env env, napi_value args, napi_value ret, napi_value ts, cffi_sig_t *sig, bool *threadsafe) {
  napi_valuetype vt;
  napi_value e;
  uint32_t n = 0;
  memset(sig, 0, sizeof(*sig));
  /* napi_get_array_length answers napi_array_expected for anything but an array (as
   * napi_is_array would), and only then is args asked whether it is undefined (no arguments) */
  napi_status st = napi_get_array_length(env, args, &n);
  if (st == napi_array_expected) {
    if (napi_typeof(env, args, &vt) != napi_ok) return -1;
    if (vt != napi_undefined) return 0;
    n = 0;
  } else if (st != napi_ok) {
    return -1;
  }
  if (n > CFFI_MAX_ARGS) return 0;
  if (napi_typeof(env, ret, &vt) != napi_ok) return -1;
  int r;
  if (vt == napi_undefined) sig->ret = CFFI_T_VOID;
  else if ((r = decl_type(env, ret, &sig->ret)) <= 0) return r;
  if (!callback_ret_ok(sig->ret)) return 0;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t t;
    if (napi_get_element(env, args, i, &e) != napi_ok) return -1;
    if ((r = decl_type(env, e, &t)) <= 0) return r;
    if (!callback_arg_ok(t)) return 0;
    sig->args[i] = t;
    if (cffi_types[t].kind == CFFI_K_PTR) sig->has_objects = true;
  }
  sig->nargs = sig->nfixed = (uint8_t)n;
  /* `!!def.threadsafe`: coerced only when neither absent nor a boolean (on Node 20 the first
   * coercion cost ~18 us) */
  if (napi_typeof(env, ts, &vt) != napi_ok) return -1;
  *threadsafe = false;
  if (vt == napi_undefined || vt == napi_null) return 1;
  if (vt != napi_boolean && napi_coerce_to_bool(env, ts, &ts) != napi_ok) return -1;
  return napi_get_value_bool(env, ts, threadsafe) == napi_ok ? 1 : -1;
}

napi_value cffi_sig_value(napi_env env, const cffi_sig_t *sig) {
  napi_value out, args, v;
  CFFI_CALL(env, napi_create_object(env, &out));
  CFFI_CALL(env, napi_create_array_with_length(env, sig->nargs, &args));
  for (uint32_t i = 0; i < sig->nargs; i++) {
    CFFI_CALL(env, napi_create_uint32(env, sig->args[i], &v));
    CFFI_CALL(env, napi_set_element(env, args, i, v));
  }
  CFFI_CALL(env, napi_set_named_property(env, out, "args", args));
  CFFI_CALL(env, napi_create_uint32(env, sig->ret, &v));
  CFFI_CALL(env, napi_set_named_property(env, out, "returns", v));
  return out;
}

/* binding.declSig(args, returns) -> { returns, args } as this reader reads a declaration of
 * those, or undefined where it declines: for the test that holds it to lib/types.js. */
static napi_value decl_sig(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], undef;
  CFFI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CFFI_CALL(env, napi_get_undefined(env, &undef));
  cffi_sig_t sig;
  bool threadsafe;
  int r = cffi_decl_callback(env, argv[0], argv[1], undef, &sig, &threadsafe);
  if (r <= 0) return NULL; /* declined: undefined */
  return cffi_sig_value(env, &sig);
}

napi_status cffi_init_decl_later(napi_env env, napi_value later) {
  CFFI_EXPORT_FN(env, later, "declSig", decl_sig);
  return napi_ok;
}
