/*
 * Per-request memory pool (after h2o's mem pool): many small allocations, one release.
 * Allocations are 16-byte aligned. An arena has a ceiling on the bytes it hands out;
 * past it arena_alloc returns NULL, so input can never make a request grow without bound.
 *
 * Lifecycle: arena_init -> arena_alloc... -> arena_reset (keeps the first chunk for reuse)
 * -> ... -> arena_release.
 */
#ifndef MMSP_ARENA_H
#define MMSP_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head; /* newest chunk first */
    size_t used;              /* bytes handed out since init/reset */
    size_t limit;             /* ceiling on used */
    size_t chunk_size;        /* default size of a new chunk */
    unsigned long chunks;     /* chunks made so far (numbers them, for arena_rewind) */
};

/* A point to come back to (arena_mark / arena_rewind). */
struct arena_mark {
    struct arena_chunk *head;
    size_t off;
    size_t used;
    unsigned long chunks;
};

void arena_init(struct arena *a, size_t chunk_size, size_t limit);
void *arena_alloc(struct arena *a, size_t size);               /* NULL: limit or out of memory */
void *arena_calloc(struct arena *a, size_t n, size_t size);    /* zeroed; checks n*size overflow */
char *arena_strndup(struct arena *a, const char *s, size_t n); /* NUL-terminated copy */
void arena_reset(struct arena *a);
/* Everything allocated after arena_mark is given back by arena_rewind (chunks made since are
 * freed); what was allocated before stays valid. No reset or release may come between. */
void arena_mark(const struct arena *a, struct arena_mark *m);
void arena_rewind(struct arena *a, const struct arena_mark *m);
void arena_release(struct arena *a);

#endif
