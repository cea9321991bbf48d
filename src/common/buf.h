/*
 * Growable byte buffer with a ceiling (after curl's dynbuf): appends fail with
 * MMSP_E_TOO_LARGE instead of growing past `max`. The buffer is always NUL-terminated
 * after a successful append, so `data` can be used as a C string.
 *
 * Lifecycle: buf_init -> appends -> buf_reset (keep memory) ... -> buf_release (free).
 */
#ifndef MMSP_BUF_H
#define MMSP_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "mmsp/error.h"

struct buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* ceiling on len */
};

void buf_init(struct buf *b, size_t max);
void buf_reset(struct buf *b);   /* len = 0, memory kept */
void buf_release(struct buf *b); /* frees memory; b can be appended to again */

mmsp_err buf_append(struct buf *b, const void *data, size_t len);
mmsp_err buf_append_str(struct buf *b, const char *s);
mmsp_err buf_append_char(struct buf *b, char c);
mmsp_err buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
mmsp_err buf_vprintf(struct buf *b, const char *fmt, va_list ap);

/* Makes room for `extra` more bytes without changing len; returns a pointer to write at. */
mmsp_err buf_reserve(struct buf *b, size_t extra, char **at);

/* Hands the memory to the caller (who frees it with free()); b is left empty. */
char *buf_detach(struct buf *b, size_t *len);

#endif
