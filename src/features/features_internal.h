/*
 * Internal helpers shared by the files of src/features (not for other modules).
 * Calls: jansson.
 */
#ifndef MMSP_FEATURES_INTERNAL_H
#define MMSP_FEATURES_INTERNAL_H

#include <jansson.h>

#include "features/features.h"

/* A value as a new JSON reference (null, string, boolean, real or integer). */
json_t *feat_value_json(const struct feat_value *v);
/* Appends the rows pushed to view v's offline store to t (the view's offline columns). */
mmsp_err feat_store_offline_rows(struct feat_store *s, const struct feat_view *v,
                                 struct feat_table *t, char *err, size_t errlen);

/* Rows of one view sorted by (entity key, event time, original order), for lookups. */
struct feat_keyed {
    const char *key; /* owned by the index */
    int64_t ts;
    size_t row;
};
struct feat_index {
    struct feat_keyed *items; /* n of them, sorted */
    size_t n;
};
/* Builds the index over `rows` (entity columns first, then the timestamp column). */
mmsp_err feat_index_build(const struct feat_view *v, const struct feat_table *rows,
                          struct feat_index *out);
/* Sorts items built by hand (key, ts, row). */
void feat_index_sort(struct feat_index *ix);
void feat_index_free(struct feat_index *ix);
/* The latest item of `key` with ts <= at (ties: the last row), or NULL. */
const struct feat_keyed *feat_index_find(const struct feat_index *ix, const char *key, int64_t at);

#endif
