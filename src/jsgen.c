/* jsgen.c: writes the JS side of the shared-buffer calling convention (see cffi.h), which
 * lib/library.js (bindBatch) and lib/abi.js (compiledFor) compile with `new Function`:
 *  - for a batch of bound functions (one dlopen, linkSymbols or CFunction), one source that
 *    returns the symbol functions (each writes its arguments into the buffer, calls its entry
 *    and reads the result) and a setter of all their entries;
 *  - for a signature's `.async`, its argument writer and result reader;
 *  - for a JSCallback signature, the wrapper native code calls: it reads the C arguments from
 *    the buffer, calls the user's function and writes its result into slot 0.
 * Generating this text in C costs microseconds; the same generator in JS had to be compiled
 * by V8 on the first dlopen of every process, which cost more than the rest of dlopen.
 *
 * Helper names (H: `helpers` in lib/abi.js) and type names (lib/types.js, messages) must
 * match the JS side. Tags and slots are those of cffi.h.
 *
 * Between the first slot write and the native call nothing user code can replace may run (SPEC
 * §16), or an FFI call it makes would overwrite the slots: the generated code uses only syntax,
 * typed arrays and the helpers, which lib/abi.js captured at load (no globals, no spread, no
 * apply, no instanceof). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cffi.h"
#include "sbuf.h"

/* The canonical FFIType names, as messages name them ("expected a number or BigInt for
 * int32_t"), by type number. */
static const char *const js_type_name[CFFI_T_COUNT] = {
    "char",     "int8_t",   "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t",
    "uint64_t", "double",   "float",   "bool",    "ptr",      "void",    "cstring",  "i64_fast",
    "u64_fast", "function pointer", "napi_env", "napi_value", "buffer", "buffer_length",
};

static bool is_int32(uint8_t t) { return t <= CFFI_T_U32 || t == CFFI_T_CHAR; }
static bool is_i64(uint8_t t) {
  return t == CFFI_T_I64 || t == CFFI_T_U64 || t == CFFI_T_I64_FAST || t == CFFI_T_U64_FAST;
}
static bool is_ptrlike(uint8_t t) {
  return t == CFFI_T_PTR || t == CFFI_T_CSTRING || t == CFFI_T_FUNCTION || t == CFFI_T_BUFFER;
}

/* The source's first lines take the helpers its body names from H.H (buffer views: view) and
 * H (functions), and no others: V8 compiles and runs each name taken (a context slot, a
 * property load), ~12 us of the compile of a callback wrapper when every name was taken.
 * Each name is an identifier the body uses as is. */
static const struct {
  const char *name;
  bool view;
} helper_names[] = {
    {"I32", true},      {"U32", true},         {"F64", true},           {"B64", true},          {"BU64", true},
    {"T", true},        {"DV", true},          {"AT", true},            {"toInt32", false},     {"toF64", false},
    {"write64", false}, {"writePointer", false}, {"writeFunction", false}, {"functionAddress", false},
    {"writeBuffer", false}, {"bufferLength", false}, {"addressOf", false}, {"floor", false}, {"isView", false},
    {"isArrayBuffer", false}, {"reserve", false},
};
#define HELPERS (sizeof(helper_names) / sizeof(helper_names[0]))
#define HELPER_MAX_LEN 15 /* functionAddress */

/* Characters of JS identifiers (those the generated sources use). */
static const bool ident_char[256] = {
    ['a' ... 'z'] = true, ['A' ... 'Z'] = true, ['0' ... '9'] = true, ['_'] = true, ['$'] = true,
};

/* A source starts with PRELUDE_ROOM bytes of spaces (begin_source), which end_source fills
 * with "use strict" and the helpers the rest of the text names, in place (no second copy of
 * the text). The room holds every name (~230 bytes); what it does not fill stays blanks. */
#define PRELUDE_ROOM 256

static void begin_source(sbuf_t *b) { sb_fill(b, ' ', PRELUDE_ROOM); }

/* Copies s to w without its terminator; returns the end. */
static char *put(char *w, const char *s) {
  size_t n = strlen(s);
  memcpy(w, s, n);
  return w + n;
}

/* prefix (at most 7 bytes), then k in decimal, into out; returns out. glibc's snprintf cost
 * ~0.1 us a call, three per argument. */
#define NUMBERED_MAX (8 + SB_DECIMAL_MAX)
static const char *numbered(char out[NUMBERED_MAX], const char *prefix, long long k) {
  *sb_decimal(put(out, prefix), k) = 0;
  return out;
}

/* One pass over the text after the room: an identifier is compared only with the helper
 * names of its length. The pass costs ~4 ns a byte in a fresh process here (~13 us for a
 * batch of 9 functions, ~100 us for 300), so a text longer than SCAN_MAX takes every name
 * instead: V8 spends only ~12 us more on all of them. NULL after an allocation failure. */
#define SCAN_MAX 4096
static char *end_source(sbuf_t *b) {
  char *text = sb_finish(b);
  if (!text) return NULL;
  uint32_t by_len[HELPER_MAX_LEN + 1] = {0}; /* bit k: helper k has this length */
  for (size_t k = 0; k < HELPERS; k++) {
    size_t len = strlen(helper_names[k].name);
    by_len[len <= HELPER_MAX_LEN ? len : 0] |= 1u << k; /* (a longer name would need a larger table) */
  }
  uint32_t used = 0, all = (1u << HELPERS) - 1;
  const unsigned char *p = (const unsigned char *)text + PRELUDE_ROOM, *end = p + strlen((const char *)p);
  if (end - p > SCAN_MAX) used = all;
  while (p < end && used != all) {
    while (p < end && !ident_char[*p]) p++;
    const unsigned char *start = p;
    while (p < end && ident_char[*p]) p++;
    size_t len = (size_t)(p - start);
    for (uint32_t m = len <= HELPER_MAX_LEN ? by_len[len] & ~used : 0; m; m &= m - 1) {
      int k = __builtin_ctz(m);
      if (!memcmp(start, helper_names[k].name, len)) used |= 1u << k;
    }
  }
  size_t need = 14 + 18 + 16; /* "use strict";\n, `const {  } = H.H;\n`, `const {  } = H;\n` */
  for (size_t k = 0; k < HELPERS; k++)
    if (used >> k & 1) need += strlen(helper_names[k].name) + 2;
  if (need >= PRELUDE_ROOM) { /* all 21 names take ~230 bytes: only a longer table gets here */
    free(text);
    return NULL;
  }
  /* written over the room's blanks, without a terminator: the blanks left go on to the text */
  char *w = put(text, "\"use strict\";\n");
  for (int view = 1; view >= 0; view--) {
    const char *sep = "const { ";
    for (size_t k = 0; k < HELPERS; k++) {
      if (!(used >> k & 1) || helper_names[k].view != view) continue;
      w = put(put(w, sep), helper_names[k].name);
      sep = ", ";
    }
    if (*sep == ',') w = put(w, view ? " } = H.H;\n" : " } = H;\n");
  }
  return text;
}

/* The common case of an address argument, an exact positive number: the double goes into the
 * slot with tag CFFI_TAG_F64; the `else` continues with the other cases. */
static void emit_address_fast(sbuf_t *b, const char *v, int s) {
  sb_printf(b, "if (typeof %s === \"number\" && %s > 0 && %s <= 9007199254740991 && floor(%s) === %s) "
               "{ F64[%d] = %s; T[%d] = %d; } else ",
            v, v, v, v, v, s, v, s, CFFI_TAG_F64);
}

/* `function` values that are objects (a JSCallback, a symbol function) become their `.ptr`. */
static void emit_object_address(sbuf_t *b, const char *v) {
  sb_printf(b, "if (%s !== null && (typeof %s === \"object\" || typeof %s === \"function\")) %s = functionAddress(%s);\n",
            v, v, v, v, v);
}

/* Statement(s) writing JS value `v` (a variable name) into slot `s`. `idx` is what error
 * messages name: an argument index, or a quoted label. `missing`: a JS condition true when
 * the argument was not passed at all (it then reads as 0), or NULL. */
static void emit_write(sbuf_t *b, uint8_t t, const char *v, int s, const char *idx, const char *missing) {
  const char *cn = t < CFFI_T_COUNT ? js_type_name[t] : "?";
  if (is_int32(t)) {
    sb_printf(b, "I32[%d] = typeof %s === \"number\" ? %s : toInt32(%s, %s, \"%s\");\n", 2 * s, v, v, v, idx, cn);
  } else if (t == CFFI_T_BOOL) {
    sb_printf(b, "I32[%d] = %s ? 1 : 0;\n", 2 * s, v);
  } else if (t == CFFI_T_F64 || t == CFFI_T_F32) {
    if (missing)
      sb_printf(b, "F64[%d] = typeof %s === \"number\" ? %s : (%s ? 0 : toF64(%s, %s, \"%s\"));\n",
                s, v, v, missing, v, idx, cn);
    else
      sb_printf(b, "F64[%d] = typeof %s === \"number\" ? %s : toF64(%s, %s, \"%s\");\n", s, v, v, v, idx, cn);
  } else if (is_i64(t)) {
    sb_printf(b, "if (typeof %s === \"bigint\") { B64[%d] = %s; T[%d] = %d; } else write64(%s, %d, %s, \"%s\");\n",
              v, s, v, s, CFFI_TAG_RAW, v, s, idx, cn);
  } else if (t == CFFI_T_PTR || t == CFFI_T_CSTRING) {
    /* a view: tag VIEW, the trampoline reads it from its JS arguments */
    emit_address_fast(b, v, s);
    sb_printf(b, "if (isView(%s)) T[%d] = %d; else writePointer(%s, %d, %s);\n", v, s,
              CFFI_TAG_VIEW, v, s, t == CFFI_T_CSTRING ? "true" : "false");
  } else if (t == CFFI_T_FUNCTION) {
    emit_address_fast(b, v, s);
    if (missing) sb_printf(b, "if (%s) { F64[%d] = 0; T[%d] = %d; } else ", missing, s, s, CFFI_TAG_F64);
    sb_printf(b, "writeFunction(%s, %d);\n", v, s);
  } else if (t == CFFI_T_BUFFER) {
    if (missing) sb_printf(b, "if (%s) { F64[%d] = 0; T[%d] = %d; } else ", missing, s, s, CFFI_TAG_F64);
    sb_printf(b, "writeBuffer(%s, %d);\n", v, s);
  } else if (t == CFFI_T_NAPI_ENV || t == CFFI_T_NAPI_VALUE || t == CFFI_T_LAYOUT) {
    /* cc() only: nothing to write, the native call passes the env / the argument itself;
     * layouts are encoded before any slot (emit_layout_writes) */
  } else {
    /* not reachable: lib/types.js rejects these types here */
    sb_printf(b, "throw new TypeError(\"cffi internal: no writer for %s\");\n", cn);
  }
}

/* Expression reading slot `s` as the JS value of type `t` (results, callback arguments). */
static void emit_read(sbuf_t *b, uint8_t t, int s) {
  switch (t) {
  case CFFI_T_U32: sb_printf(b, "U32[%d]", 2 * s); return;
  case CFFI_T_BOOL: sb_printf(b, "(I32[%d] !== 0)", 2 * s); return;
  case CFFI_T_F64: case CFFI_T_F32: sb_printf(b, "F64[%d]", s); return;
  case CFFI_T_I64: sb_printf(b, "B64[%d]", s); return;
  case CFFI_T_U64: sb_printf(b, "BU64[%d]", s); return;
  case CFFI_T_I64_FAST: sb_printf(b, "(T[%d] === %d ? F64[%d] : B64[%d])", s, CFFI_RTAG_NUMBER, s, s); return;
  case CFFI_T_U64_FAST: sb_printf(b, "(T[%d] === %d ? F64[%d] : BU64[%d])", s, CFFI_RTAG_NUMBER, s, s); return;
  case CFFI_T_PTR: case CFFI_T_FUNCTION: case CFFI_T_CSTRING: case CFFI_T_BUFFER:
    sb_printf(b, "(T[%d] === %d ? F64[%d] : T[%d] === %d ? null : BU64[%d])", s, CFFI_RTAG_NUMBER, s, s,
              CFFI_RTAG_NULL, s);
    return;
  default:
    if (is_int32(t)) sb_printf(b, "I32[%d]", 2 * s);
    else sb_puts(b, "undefined");
  }
}

/* ---- Layouts by value (SPEC §17) -----------------------------------------------------------
 * A source refers to the codecs of its layouts as Z[0], Z[1], …: numbered in the order of its
 * functions, each function's result first, then its arguments (lib/library.js and
 * lib/abi.js build Z in the same order: zlist). Their bytes sit in the call's frame at the
 * layout area's top (cffi.h; offsets from layout.c). */
static int layouts_in(const cffi_sig_t *sig) {
  if (!sig->x) return 0;
  int n = sig->ret == CFFI_T_LAYOUT;
  for (int k = 0; k < sig->nargs; k++) n += sig->args[k] == CFFI_T_LAYOUT;
  return n;
}

/* Encodes the layout arguments a<k> into a frame reserved from the area's top, before any
 * slot is written: the codecs may run getters, whose FFI calls would reuse the slots, and
 * use the bytes above the reservation. */
static void emit_layout_writes(sbuf_t *b, const cffi_sig_t *sig, int zbase) {
  int z = zbase + (sig->ret == CFFI_T_LAYOUT);
  /* (a layout result alone needs no reservation: C writes it after the call, at the top) */
  if (layouts_in(sig) == z - zbase) return;
  sb_printf(b, "const b = reserve(%u);\ntry {\n", (unsigned)sig->x->frame);
  for (int k = 0; k < sig->nargs; k++) {
    if (sig->args[k] != CFFI_T_LAYOUT) continue;
    sb_printf(b, "Z[%d].enc(DV, b + %u, a%d, %d);\n", z++, (unsigned)sig->x->off[1 + k], k, k);
  }
  sb_puts(b, "} finally { AT[0] = b; }\n");
}

/* "a0, a1, …" (with a leading `first, ` when given). */
static void emit_params(sbuf_t *b, const char *first, int n) {
  if (first) sb_printf(b, "%s%s", first, n ? ", " : "");
  for (int k = 0; k < n; k++) sb_printf(b, k ? ", a%d" : "a%d", k);
}

/* Arguments missing from a call read as 0 rather than as undefined for these types, so their
 * writer is told how many arguments were passed. */
static bool counts_args(const cffi_sig_t *sig) {
  for (int k = 0; k < sig->nargs; k++) {
    uint8_t t = sig->args[k];
    if (t == CFFI_T_FUNCTION || t == CFFI_T_BUFFER || t == CFFI_T_F64 || t == CFFI_T_F32) return true;
  }
  return false;
}

/* Writes the arguments a0… of `sig` into their slots; `n` names the number of arguments
 * passed when counts_args(sig). zbase: the Z index of sig's first layout. */
static void emit_writes(sbuf_t *b, const cffi_sig_t *sig, int zbase) {
  int n = sig->nargs;
  bool counts = counts_args(sig);
  /* JSCallbacks' addresses first: reading `.ptr` may run user code (see abi.functionAddress) */
  char v[NUMBERED_MAX], idx[NUMBERED_MAX], missing[NUMBERED_MAX];
  for (int k = 0; k < n; k++)
    if (sig->args[k] == CFFI_T_FUNCTION) emit_object_address(b, numbered(v, "a", k));
  emit_layout_writes(b, sig, zbase);
  for (int k = 0; k < n; k++) {
    uint8_t t = sig->args[k];
    numbered(v, "a", k);
    numbered(idx, "", k);
    numbered(missing, "n <= ", k);
    if (t == CFFI_T_BUFFER_LENGTH) {
      /* SPEC §2.1: any view's byteLength from the built-in getter (abi.bufferLength runs no
       * user code, so it may run between slot writes), null → 0, missing → 0; lib/types.js
       * puts a buffer, hence counts_args and `n`, before every buffer_length */
      sb_printf(b, "F64[%d] = n <= %d ? 0 : bufferLength(a%d, %d); T[%d] = %d;\n", k + 1, k, k, k, k + 1, CFFI_TAG_F64);
      continue;
    }
    emit_write(b, t, v, k + 1, idx, counts ? missing : NULL);
  }
}

/* The result, once the call left it in slot 0 (a cstring result is what the entry returned;
 * a layout is decoded from the frame, which starts with it). */
static void emit_result(sbuf_t *b, const cffi_sig_t *sig, int zbase) {
  if (sig->ret == CFFI_T_CSTRING || sig->ret == CFFI_T_VOID) sb_puts(b, "undefined");
  else if (sig->ret == CFFI_T_LAYOUT) sb_printf(b, "Z[%d].dec(DV, AT[0])", zbase);
  else emit_read(b, sig->ret, 0);
}

/* Whether `name` can name a symbol function in its source (cheaper than renaming it from JS,
 * which also turns the function's properties into a dictionary): an identifier, not a
 * reserved word, and none of the names the function's body uses, which it would shadow. */
static bool source_name_ok(const char *name) {
  static const char *const unsafe[] = {
      "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete", "do",
      "else", "enum", "export", "extends", "false", "finally", "for", "function", "if", "implements",
      "import", "in", "instanceof", "interface", "let", "new", "null", "package", "private",
      "protected", "public", "return", "static", "super", "switch", "this", "throw", "true", "try",
      "typeof", "var", "void", "while", "with", "yield", "await", "eval", "arguments", "undefined",
      "NaN", "Infinity", "ArrayBuffer", "G", "H", "S", "A", "K", "I32", "U32", "F64", "B64", "BU64", "T", "toInt32",
      "toF64", "write64", "writePointer", "writeFunction", "functionAddress", "writeBuffer",
      "bufferLength", "addressOf", "floor", "isView", "isArrayBuffer", "Z", "DV", "AT", "reserve"};
  if (!name || !((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || *name == '_')) return false;
  for (const char *c = name; *c; c++)
    if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) return false;
  if ((name[0] == 'g' || name[0] == 'w') && name[1] && strspn(name + 1, "0123456789") == strlen(name + 1))
    return false; /* g<i>, w<i> */
  for (size_t k = 0; k < sizeof unsafe / sizeof *unsafe; k++) /* first letters first: 300 names */
    if (unsafe[k][0] == name[0] && strcmp(name, unsafe[k]) == 0) return false;
  return true;
}

/* A writer function `name(n?, a0, …)` for `sig` (n: the number of arguments passed, when
 * counts_args; with `own_count`, `name(a0, …)` counts its own arguments instead): a function
 * declaration, or with `eager` a const of a parenthesized function expression (see EAGER_MAX). */
static void emit_writer(sbuf_t *b, const cffi_sig_t *sig, const char *name, bool own_count, int zbase, bool eager) {
  bool counts = counts_args(sig);
  if (eager) sb_printf(b, "const %s = (", name);
  sb_printf(b, "function %s(", name);
  emit_params(b, counts && !own_count ? "n" : NULL, sig->nargs);
  sb_puts(b, ") {\n");
  if (counts && own_count) sb_puts(b, "const n = arguments.length;\n");
  emit_writes(b, sig, zbase);
  sb_puts(b, eager ? "});\n" : "}\n");
}

/* Function i of a batch, as an element of the array literal the source returns: the symbol
 * function, named `name` when source_name_ok (otherwise JS renames it). It calls its entry,
 * g<i> (G[i] in a batch of more than EAGER_MAX functions); until that is set, each call is
 * first counted by S(i) (which may tier the batch up and set it; before any argument is
 * written) and then goes to A(K, i, …), the batch's libffi `callAt`, called directly: a spread
 * or apply there would run Array.prototype[Symbol.iterator] or Function.prototype.apply, which
 * user code may replace, after the slots are written (SPEC §16). It writes its arguments
 * itself, or calls the writer w<shared> of a signature several functions of the batch have (V8
 * inlines it): V8's compile time grows with the source, and large libraries repeat
 * signatures. */
static void emit_caller(sbuf_t *b, const cffi_sig_t *sig, const char *name, size_t i, size_t shared, int zbase,
                        bool eager) {
  int n = sig->nargs;
  bool counts = counts_args(sig);
  /* its entry, and what is null until the batch has its entries: g<i> itself, or G */
  char entry[NUMBERED_MAX + 1];
  numbered(entry, eager ? "g" : "G[", (long long)i);
  const char *unset = eager ? entry : "G";
  if (!eager) strcat(entry, "]");
  sb_printf(b, "%sfunction %s(", eager ? "(" : "", source_name_ok(name) ? name : "");
  emit_params(b, NULL, n);
  sb_puts(b, ") {\n");
  /* counted (and tiered up) before the first slot is written: tierUp runs more code; without
   * arguments nothing is written, and counting in the slow branch keeps the fast path lean */
  if (n) sb_printf(b, "if (%s === null) S(%zu);\n", unset, i);
  if (shared != SIZE_MAX) {
    sb_printf(b, "w%zu(", shared);
    emit_params(b, counts ? "arguments.length" : NULL, n);
    sb_puts(b, ");\n");
  } else {
    if (counts) sb_puts(b, "const n = arguments.length;\n");
    emit_writes(b, sig, zbase);
  }
  if (sig->ret == CFFI_T_CSTRING || sig->ret == CFFI_T_NAPI_VALUE) sb_puts(b, "return ");
  sb_printf(b, "%s !== null ? %s(", unset, entry);
  if (sig->has_objects) emit_params(b, NULL, n); /* the entry may read views and strings */
  sb_printf(b, n ? ") : A(K, %zu" : ") : (S(%zu), A(K, %zu", i, i);
  if (sig->has_objects)
    for (int k = 0; k < n; k++) sb_printf(b, ", a%d", k);
  sb_puts(b, n ? ");\n" : "));\n");
  if (sig->ret != CFFI_T_CSTRING && sig->ret != CFFI_T_VOID && sig->ret != CFFI_T_NAPI_VALUE) {
    sb_puts(b, "return ");
    emit_result(b, sig, zbase);
    sb_puts(b, ";\n");
  }
  sb_puts(b, eager ? "}),\n" : "},\n");
}

static bool same_sig(const cffi_sig_t *x, const cffi_sig_t *y) {
  if (x->x || y->x) return false; /* layouts: each function has its own Z indices */
  return x->ret == y->ret && x->nargs == y->nargs && memcmp(x->args, y->args, x->nargs) == 0;
}

static size_t sig_hash(const cffi_sig_t *sig) {
  size_t h = 2166136261u ^ sig->ret;
  for (int k = 0; k < sig->nargs; k++) h = (h ^ sig->args[k]) * 16777619u;
  return h ^ sig->nargs;
}

/* For each function, the index of the first function of the batch with the same signature
 * (a hash table of first occurrences). NULL when out of memory. */
static size_t *first_of_sig(cffi_fn_t *const *fns, size_t n) {
  size_t cap = 16;
  while (cap < 2 * n) cap *= 2;
  size_t *first = malloc(n * sizeof *first + 1), *table = malloc(cap * sizeof *table);
  if (!first || !table) {
    free(first);
    free(table);
    return NULL;
  }
  for (size_t k = 0; k < cap; k++) table[k] = SIZE_MAX;
  for (size_t i = 0; i < n; i++) {
    size_t k = sig_hash(&fns[i]->sig) & (cap - 1);
    while (table[k] != SIZE_MAX && !same_sig(&fns[table[k]]->sig, &fns[i]->sig)) k = (k + 1) & (cap - 1);
    if (table[k] == SIZE_MAX) table[k] = i;
    first[i] = table[k];
  }
  free(table);
  return first;
}

/* Batches of at most this many functions are compiled when declared, the functions written as
 * parenthesized expressions (V8 compiles those with the source that contains them); larger
 * ones are compiled per function, on its first call. Measured in fresh processes: for 9
 * functions, compiling all of them with the batch made dlopen ~90 us slower (median 928 ->
 * 1017 us), while compiling one on its first call cost 15-30 us (first call 56 -> 9.4 us): a
 * gain from the second function called. A library of hundreds of declarations, of which a
 * few are called, stays cheap to declare.
 * The entries differ the same way. In a small batch each function has a variable of its own,
 * g<i>, the cheapest read for a call. In a larger one they share one array G, set whole by
 * set(e): V8 spends ~1.5-3 us compiling each variable the functions capture (its declaration,
 * its context slot, its line in set()), and for 300 functions `new Function` took 2.1 ms with
 * the variables against 1.6 ms with G (medians of 15 fresh processes), dlopen + 300
 * declarations + 3 calls 5.9 -> 5.0 ms (paired median of 25). A call of such a function reads
 * G[i] after G: ~1.4 ns more per call here once optimized (paired median of 20, ~14.6 ns for
 * two calls' average), which a small batch, where the benchmarks' functions are, does not
 * pay. */
#define EAGER_MAX 32

char *cffi_jsgen_batch(cffi_fn_t *const *fns, const char *const *names, size_t n) {
  const bool eager = n <= EAGER_MAX;
  size_t *first = first_of_sig(fns, n);
  if (!first) return NULL;
  /* a signature is shared when a later function repeats it: mark its first function */
  bool *shared = calloc(n + 1, sizeof *shared);
  if (!shared) {
    free(first);
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    if (first[i] != i) shared[first[i]] = true;
  sbuf_t b = {0};
  begin_source(&b);
  for (size_t i = 0; i < n; i++) {
    if (!shared[i]) continue;
    char w[NUMBERED_MAX];
    /* (never a signature with layouts) */
    emit_writer(&b, &fns[i]->sig, numbered(w, "w", (long long)i), false, 0, eager);
  }
  /* the entries, then [[functions], set(entries)]: the functions are elements of the array
   * literal rather than `const`s of their own (V8 compiled 300 of them 28% faster); the entries
   * are `var`s, which the functions read without the TDZ check a `let` costs: one per function,
   * or beyond EAGER_MAX one array of them all (lib/library.js passes set() a new array each
   * time, and keeps none of them) */
  if (eager) {
    for (size_t i = 0; i < n; i++) sb_printf(&b, i ? ", g%zu = null" : "var g%zu = null", i);
    sb_puts(&b, n ? ";\n" : "");
  } else {
    sb_puts(&b, "var G = null;\n");
  }
  sb_puts(&b, "return [[\n");
  for (size_t i = 0, z = 0; i < n; z += layouts_in(&fns[i]->sig), i++)
    emit_caller(&b, &fns[i]->sig, names[i], i, shared[first[i]] ? first[i] : SIZE_MAX, (int)z, eager);
  free(first);
  free(shared);
  sb_puts(&b, "], function set(e) {\n");
  if (eager)
    for (size_t i = 0; i < n; i++) sb_printf(&b, "g%zu = e[%zu];\n", i, i);
  else
    sb_puts(&b, "G = e;\n");
  sb_puts(&b, "}];\n");
  return end_source(&b);
}

char *cffi_jsgen_async(const cffi_sig_t *sig) {
  sbuf_t b = {0};
  begin_source(&b);
  /* lib/library.js calls w with Reflect.apply; both are compiled with the source (see
   * EAGER_MAX): they are made for the .async call about to run */
  emit_writer(&b, sig, "w", true, 0, true);
  sb_puts(&b, "const read = (function read() { return ");
  emit_result(&b, sig, 0);
  sb_puts(&b, "; });\nreturn { write: w, read };\n");
  return end_source(&b);
}

char *cffi_jsgen_callback(const cffi_sig_t *sig) {
  sbuf_t b = {0};
  begin_source(&b);
  int n = sig->nargs;
  /* parenthesized: compiled with the source (see EAGER_MAX), since a signature's wrapper is
   * made for a callback that is about to be created and called */
  sb_puts(&b, "return (function make(userFn) {\nreturn (function (");
  emit_params(&b, NULL, n);
  sb_puts(&b, ") {\n");
  /* layout arguments: decoded from the frame C wrote at the area's top */
  if (sig->x) sb_puts(&b, "const f = AT[0];\n");
  sb_puts(&b, "let r = userFn(");
  int z = sig->ret == CFFI_T_LAYOUT;
  for (int k = 0; k < n; k++) {
    if (k) sb_puts(&b, ", ");
    if (sig->args[k] == CFFI_T_CSTRING) sb_printf(&b, "a%d", k); /* passed as a JS string */
    else if (sig->args[k] == CFFI_T_LAYOUT) sb_printf(&b, "Z[%d].dec(DV, f + %u)", z++, (unsigned)sig->x->off[1 + k]);
    else emit_read(&b, sig->args[k], k + 1);
  }
  sb_puts(&b, ");\n");
  uint8_t t = sig->ret;
  if (t == CFFI_T_LAYOUT) {
    /* encoded at the frame's start, which C copies from once this returns; getters in r
     * that make FFI calls use the bytes above */
    sb_printf(&b, "const b = reserve(%u);\ntry { Z[0].enc(DV, b, r, \"Return value\"); } finally { AT[0] = b; }\n",
              (unsigned)sig->x->frame);
  } else if (t != CFFI_T_VOID) {
    if (t == CFFI_T_FUNCTION) emit_object_address(&b, "r");
    else if (is_ptrlike(t))
      sb_puts(&b, "if (r !== null && typeof r === \"object\" && (isView(r) || isArrayBuffer(r))) "
                  "r = addressOf(r);\n");
    /* a cstring result is an address (SPEC §8): written as a ptr */
    emit_write(&b, t == CFFI_T_CSTRING ? CFFI_T_PTR : t, "r", 0, "\"Return value\"", NULL);
  }
  sb_puts(&b, "});\n});\n");
  return end_source(&b);
}
