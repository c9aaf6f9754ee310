/* sbuf.h: a growable string buffer with a sticky error, for the code generators (codegen.c
 * writes C for TinyCC, jsgen.c writes the JS wrappers). Appends after a failed allocation
 * are ignored; sb_finish says once, at the end, whether everything fitted. */
#ifndef CFFI_SBUF_H
#define CFFI_SBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
  char *p;
  size_t len, cap;
  bool error; /* an allocation failed: further appends are ignored, check once at the end */
} sbuf_t;

void sb_puts(sbuf_t *b, const char *s);
void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends n copies of c. */
void sb_fill(sbuf_t *b, char c, size_t n);
/* Writes the decimal digits of v (with a '-' when negative) at out, at most SB_DECIMAL_MAX
 * bytes and no terminator; returns the end. */
#define SB_DECIMAL_MAX 20
char *sb_decimal(char *out, long long v);
/* Returns the string (caller frees) or NULL after any allocation failure. */
char *sb_finish(sbuf_t *b);

#endif
