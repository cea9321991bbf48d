/*
 * Bounded growable buffer (see buf.h). Calls only libc.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void buf_release(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

mmsp_err buf_reserve(struct buf *b, size_t extra, char **at)
{
    if (extra > b->max || b->len > b->max - extra)
        return MMSP_E_TOO_LARGE;
    size_t need = b->len + extra + 1; /* + NUL */
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return MMSP_E_NOMEM;
        b->data = p;
        b->cap = cap;
    }
    if (at)
        *at = b->data + b->len;
    return MMSP_OK;
}

mmsp_err buf_append(struct buf *b, const void *data, size_t len)
{
    char *at;
    mmsp_err rc = buf_reserve(b, len, &at);
    if (rc)
        return rc;
    if (len)
        memcpy(at, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return MMSP_OK;
}

mmsp_err buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

mmsp_err buf_append_char(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}

mmsp_err buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return MMSP_E_INVALID;
    if ((size_t)n < sizeof small)
        return buf_append(b, small, (size_t)n);
    char *at;
    mmsp_err rc = buf_reserve(b, (size_t)n, &at);
    if (rc)
        return rc;
    vsnprintf(at, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return MMSP_OK;
}

mmsp_err buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mmsp_err rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
