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

/* Appends the decimal digits of v (with a '-' when negative). */
static void sb_int(sbuf_t *b, long long v) {
  char tmp[24], *e = tmp + sizeof tmp, *p = e;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do *--p = (char)('0' + u % 10); while (u /= 10);
  if (v < 0) *--p = '-';
  sb_reserve(b, (size_t)(e - p));
  if (b->error) return;
  memcpy(b->p + b->len, p, (size_t)(e - p));
  b->len += (size_t)(e - p);
  b->p[b->len] = 0;
}

/* Only %s, %d, %zu and %%: the generators' formats, appended directly (glibc's vsnprintf
 * costs ~0.1 µs a call, which showed in declaring large libraries). */
static bool simple_format(const char *fmt) {
  for (const char *f = fmt; (f = strchr(f, '%')); f += 2) {
    if (f[1] == 'z' && f[2] == 'u') f++;
    else if (f[1] != 's' && f[1] != 'd' && f[1] != '%') return false;
  }
  return true;
}

static void sb_vformat(sbuf_t *b, const char *fmt, va_list ap) {
  const char *f = fmt;
  for (;;) {
    const char *pct = strchr(f, '%');
    size_t lit = pct ? (size_t)(pct - f) : strlen(f);
    sb_reserve(b, lit);
    if (b->error) return;
    memcpy(b->p + b->len, f, lit);
    b->len += lit;
    b->p[b->len] = 0;
    if (!pct) return;
    switch (pct[1]) {
    case 's': sb_puts(b, va_arg(ap, const char *)); f = pct + 2; break;
    case 'd': sb_int(b, va_arg(ap, int)); f = pct + 2; break;
    case 'z': sb_int(b, (long long)va_arg(ap, size_t)); f = pct + 3; break;
    default: sb_puts(b, "%"); f = pct + 2; break; /* %% */
    }
  }
}

void sb_printf(sbuf_t *b, const char *fmt, ...) {
  va_list ap;
  if (simple_format(fmt)) {
    va_start(ap, fmt);
    sb_vformat(b, fmt, ap);
    va_end(ap);
    return;
  }
  /* anything else: one vsnprintf into the free space; a second only when it did not fit */
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
