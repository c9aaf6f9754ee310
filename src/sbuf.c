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

void sb_printf(sbuf_t *b, const char *fmt, ...) {
  /* one vsnprintf into the free space; a second only when it did not fit */
  sb_reserve(b, 256);
  if (b->error) return;
  va_list ap;
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
