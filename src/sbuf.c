/* sbuf.c: the growable string buffer of sbuf.h. */
#include "sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sb_reserve(sbuf_t *b, size_t extra) {
  if (b->error || b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->error = true;
    return;
  }
  b->p = p;
  b->cap = cap;
}

void sb_puts(sbuf_t *b, const char *s) {
  size_t n = strlen(s);
  sb_reserve(b, n);
  if (b->error) return;
  memcpy(b->p + b->len, s, n + 1);
  b->len += n;
}

char *sb_decimal(char *out, long long v) {
  char tmp[24], *e = tmp + sizeof tmp, *p = e;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do *--p = (char)('0' + u % 10); while (u /= 10);
  if (v < 0) *--p = '-';
  memcpy(out, p, (size_t)(e - p));
  return out + (e - p);
}

/* Appends the decimal digits of v (with a '-' when negative). */
static void sb_int(sbuf_t *b, long long v) {
  sb_reserve(b, SB_DECIMAL_MAX);
  if (b->error) return;
  b->len = (size_t)(sb_decimal(b->p + b->len, v) - b->p);
  b->p[b->len] = 0;
}

void sb_fill(sbuf_t *b, char c, size_t n) {
  sb_reserve(b, n);
  if (b->error) return;
  memset(b->p + b->len, c, n);
  b->len += n;
  b->p[b->len] = 0;
}

/* Appends fmt with its %s, %d, %u, %zu and %% directly, in one pass: glibc's vsnprintf costs
 * ~0.1 us a call, which showed in declaring large libraries, and the first call of a process
 * runs cold code of glibc's (what a first dlopen paid for it: see the README's Performance
 * notes). false at any other conversion, with what came before it appended: sb_printf then
 * formats the whole with vsnprintf. */
static bool sb_vformat(sbuf_t *b, const char *fmt, va_list ap) {
  const char *f = fmt;
  for (;;) {
    const char *pct = f;
    while (*pct && *pct != '%') pct++;
    size_t lit = (size_t)(pct - f);
    sb_reserve(b, lit);
    if (b->error) return true;
    memcpy(b->p + b->len, f, lit);
    b->len += lit;
    b->p[b->len] = 0;
    if (!*pct) return true;
    switch (pct[1]) {
    case 's': sb_puts(b, va_arg(ap, const char *)); f = pct + 2; break;
    case 'd': sb_int(b, va_arg(ap, int)); f = pct + 2; break;
    case 'u': sb_int(b, va_arg(ap, unsigned)); f = pct + 2; break;
    case '%': sb_puts(b, "%"); f = pct + 2; break;
    case 'z':
      if (pct[2] != 'u') return false;
      sb_int(b, (long long)va_arg(ap, size_t));
      f = pct + 3;
      break;
    default: return false;
    }
  }
}

void sb_printf(sbuf_t *b, const char *fmt, ...) {
  va_list ap;
  size_t start = b->len;
  va_start(ap, fmt);
  bool done = sb_vformat(b, fmt, ap);
  va_end(ap);
  if (done || b->error) return;
  /* anything else: from the start again, one vsnprintf into the free space; a second only
   * when it did not fit */
  b->len = start;
  sb_reserve(b, 256);
  if (b->error) return;
  va_start(ap, fmt);
  int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->error = true;
    return;
  }
  if ((size_t)n >= b->cap - b->len) {
    sb_reserve(b, (size_t)n);
    if (b->error) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  b->len += (size_t)n;
}

char *sb_finish(sbuf_t *b) {
  if (b->error || !b->p) {
    free(b->p);
    return NULL;
  }
  return b->p;
}
