/*
 * Bump allocator over a list of chunks (see arena.h). Calls only libc.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

struct arena_chunk {
    struct arena_chunk *next;
    size_t size; /* usable bytes in mem[] */
    size_t off;
    unsigned long seq; /* a->chunks when it was made */
    _Alignas(16) unsigned char mem[];
};

void arena_init(struct arena *a, size_t chunk_size, size_t limit)
{
    a->head = NULL;
    a->used = 0;
    a->limit = limit;
    a->chunk_size = chunk_size < 256 ? 256 : chunk_size;
    a->chunks = 0;
}

void *arena_alloc(struct arena *a, size_t size)
{
    size_t rounded = (size + 15) & ~(size_t)15;
    if (rounded < size || rounded > a->limit - a->used || a->used > a->limit)
        return NULL;
    struct arena_chunk *c = a->head;
    if (!c || c->size - c->off < rounded) {
        size_t csize = rounded > a->chunk_size ? rounded : a->chunk_size;
        c = malloc(sizeof *c + csize);
        if (!c)
            return NULL;
        c->size = csize;
        c->off = 0;
        c->seq = ++a->chunks;
        /* A big one-off block goes behind the current chunk so the current one keeps
         * serving small allocations. */
        if (a->head && rounded > a->chunk_size) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->mem + c->off;
    c->off += rounded;
    a->used += rounded;
    return p;
}

void *arena_calloc(struct arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = arena_alloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void arena_reset(struct arena *a)
{
    struct arena_chunk *keep = NULL;
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        if (!keep && c->size == a->chunk_size) {
            keep = c;
            keep->off = 0;
            keep->next = NULL;
        } else {
            free(c);
        }
        c = next;
    }
    a->head = keep;
    a->used = 0;
}

void arena_mark(const struct arena *a, struct arena_mark *m)
{
    m->head = a->head;
    m->off = a->head ? a->head->off : 0;
    m->used = a->used;
    m->chunks = a->chunks;
}

/* Chunks made after the mark are unlinked wherever they sit (a big one-off goes behind the
 * head); the older ones keep their order, so the mark's head is the head again. */
void arena_rewind(struct arena *a, const struct arena_mark *m)
{
    struct arena_chunk **pp = &a->head;
    while (*pp) {
        struct arena_chunk *c = *pp;
        if (c->seq > m->chunks) {
            *pp = c->next;
            free(c);
        } else {
            pp = &c->next;
        }
    }
    if (a->head)
        a->head->off = m->off;
    a->used = m->used;
}

void arena_release(struct arena *a)
{
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}
