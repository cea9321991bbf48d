/*
 * The offline store and the point-in-time join. A view's offline rows are its source file
 * (CSV or Parquet) followed by the rows pushed to it (POST /push to offline), normalised to
 * the columns: join keys (text), the event timestamp (ms), the features (view types).
 * The join sorts those rows by (entity key, time, position) once and answers each entity
 * row with a binary search: the latest row at or before the entity row's time, within TTL.
 * Calls: features/table.c, features/store.c, features/csv.c, features/parquet_io.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/features.h"
#include "features/features_internal.h"

static mmsp_err offline_columns(const struct feat_view *v, struct feat_table *t)
{
    const char *names[FEAT_MAX_ENTITIES + 1 + FEAT_MAX_FEATURES];
    enum feat_type types[FEAT_MAX_ENTITIES + 1 + FEAT_MAX_FEATURES];
    size_t n = 0;
    for (size_t i = 0; i < v->n_entities; i++) {
        names[n] = v->entities[i];
        types[n++] = FEAT_STRING;
    }
    names[n] = v->timestamp_field;
    types[n++] = FEAT_TIMESTAMP;
    for (size_t i = 0; i < v->n_features; i++) {
        names[n] = v->features[i].name;
        types[n++] = v->features[i].type;
    }
    return feat_table_set_columns(t, n, names, types);
}

mmsp_err feat_offline_load(struct feat_store *s, const struct feat_view *v, struct feat_table *out,
                           char *err, size_t errlen)
{
    struct feat_table src;
    feat_table_init(&src);
    feat_table_init(out);
    struct feat_value *row = NULL;
    mmsp_err rc = offline_columns(v, out);
    if (rc)
        goto out;
    if (v->source[0]) {
        rc = feat_table_read(v->source, &src, err, errlen);
        if (rc)
            goto out;
        int map[FEAT_MAX_ENTITIES + 1 + FEAT_MAX_FEATURES];
        for (size_t c = 0; c < out->n_cols; c++) {
            map[c] = feat_table_col(&src, out->names[c]);
            if (map[c] < 0) {
                snprintf(err, errlen, "%s: view '%s' needs column '%s', which is missing",
                         v->source, v->name, out->names[c]);
                rc = MMSP_E_INVALID;
                goto out;
            }
            char msg[256];
            rc = feat_table_cast(&src, (size_t)map[c], out->types[c], msg, sizeof msg);
            if (rc) {
                snprintf(err, errlen, "%s: %s", v->source, msg);
                goto out;
            }
        }
        row = calloc(out->n_cols, sizeof *row);
        if (!row) {
            rc = MMSP_E_NOMEM;
            goto out;
        }
        size_t ts_col = v->n_entities;
        for (size_t r = 0; r < src.n_rows; r++) {
            for (size_t c = 0; c < out->n_cols; c++)
                row[c] = *feat_table_cell(&src, r, (size_t)map[c]);
            if (row[ts_col].null) {
                snprintf(err, errlen, "%s: row %zu has no %s", v->source, r + 1,
                         v->timestamp_field);
                rc = MMSP_E_INVALID;
                goto out;
            }
            rc = feat_table_append(out, row);
            if (rc)
                goto out;
        }
    }
    rc = feat_store_offline_rows(s, v, out, err, errlen);
out:
    free(row);
    feat_table_free(&src);
    if (rc)
        feat_table_free(out);
    return rc;
}

/* --- index -------------------------------------------------------------------------------- */

static int cmp_keyed(const void *a, const void *b)
{
    const struct feat_keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

void feat_index_sort(struct feat_index *ix)
{
    if (ix->n)
        qsort(ix->items, ix->n, sizeof *ix->items, cmp_keyed);
}

mmsp_err feat_index_build(const struct feat_view *v, const struct feat_table *rows,
                          struct feat_index *out)
{
    out->n = 0;
    out->items = calloc(rows->n_rows ? rows->n_rows : 1, sizeof *out->items);
    if (!out->items)
        return MMSP_E_NOMEM;
    for (size_t r = 0; r < rows->n_rows; r++) {
        char key[1024];
        const struct feat_value *cells = feat_table_cell(rows, r, 0);
        if (feat_entity_key(cells, v->n_entities, key, sizeof key) != MMSP_OK)
            continue; /* a row without its join key cannot match */
        struct feat_keyed *k = &out->items[out->n];
        k->key = strdup(key);
        if (!k->key) {
            feat_index_free(out);
            return MMSP_E_NOMEM;
        }
        k->ts = cells[v->n_entities].i;
        k->row = r;
        out->n++;
    }
    qsort(out->items, out->n, sizeof *out->items, cmp_keyed);
    return MMSP_OK;
}

void feat_index_free(struct feat_index *ix)
{
    for (size_t i = 0; ix->items && i < ix->n; i++)
        free((char *)ix->items[i].key);
    free(ix->items);
    ix->items = NULL;
    ix->n = 0;
}

const struct feat_keyed *feat_index_find(const struct feat_index *ix, const char *key, int64_t at)
{
    /* first item > (key, at, +inf): then step back one */
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ix->items[mid].key, key);
        if (c < 0 || (c == 0 && ix->items[mid].ts <= at))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const struct feat_keyed *k = &ix->items[lo - 1];
    return strcmp(k->key, key) == 0 ? k : NULL;
}

/* --- point-in-time join ------------------------------------------------------------------- */

mmsp_err feat_pit_join(const struct feat_view *v, const struct feat_table *rows,
                       const struct feat_table *entities, struct feat_table *out, char *err,
                       size_t errlen)
{
    struct feat_index ix = {0};
    struct feat_value *row = NULL;
    const char **names = NULL;
    enum feat_type *types = NULL;
    feat_table_init(out);
    int ecol[FEAT_MAX_ENTITIES];
    mmsp_err rc = MMSP_OK;
    for (size_t i = 0; i < v->n_entities; i++) {
        ecol[i] = feat_table_col(entities, v->entities[i]);
        if (ecol[i] < 0) {
            snprintf(err, errlen, "the entity rows have no join key column '%s'", v->entities[i]);
            return MMSP_E_INVALID;
        }
    }
    int tcol = feat_table_col(entities, v->timestamp_field);
    if (tcol < 0)
        tcol = feat_table_col(entities, "event_timestamp");
    if (tcol < 0) {
        snprintf(err, errlen, "the entity rows have no timestamp column ('%s' or event_timestamp)",
                 v->timestamp_field);
        return MMSP_E_INVALID;
    }
    size_t n_out = entities->n_cols + v->n_features;
    names = calloc(n_out, sizeof *names);
    types = calloc(n_out, sizeof *types);
    row = calloc(n_out, sizeof *row);
    char(*alt)[2 * FEAT_NAME_MAX + 2] = calloc(v->n_features ? v->n_features : 1, sizeof *alt);
    if (!names || !types || !row || !alt) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    for (size_t c = 0; c < entities->n_cols; c++) {
        names[c] = entities->names[c];
        types[c] = entities->types[c];
    }
    for (size_t f = 0; f < v->n_features; f++) {
        size_t c = entities->n_cols + f;
        names[c] = v->features[f].name;
        if (feat_table_col(entities, names[c]) >= 0) {
            snprintf(alt[f], sizeof alt[f], "%s__%s", v->name, v->features[f].name);
            names[c] = alt[f];
        }
        types[c] = v->features[f].type;
    }
    rc = feat_table_set_columns(out, n_out, names, types);
    if (rc)
        goto out;
    rc = feat_index_build(v, rows, &ix);
    if (rc)
        goto out;
    for (size_t r = 0; r < entities->n_rows; r++) {
        struct feat_value keyvals[FEAT_MAX_ENTITIES];
        char key[1024];
        char tmp[FEAT_NAME_MAX * 4];
        for (size_t i = 0; i < v->n_entities; i++) {
            const struct feat_value *e = feat_table_cell(entities, r, (size_t)ecol[i]);
            keyvals[i] = *e;
            if (!e->null && e->type == FEAT_DOUBLE) { /* 1001.0 from a float column */
                keyvals[i].type = FEAT_INT64;
                keyvals[i].i = (int64_t)e->d;
            }
        }
        struct feat_value tv = *feat_table_cell(entities, r, (size_t)tcol);
        int64_t at = 0;
        int have_ts = 0;
        if (!tv.null) {
            if (tv.type == FEAT_TIMESTAMP) {
                at = tv.i;
                have_ts = 1;
            } else {
                feat_value_text(&tv, tmp, sizeof tmp);
                have_ts = feat_parse_time_ms(tmp, &at);
            }
        }
        if (!have_ts) {
            snprintf(err, errlen, "entity row %zu: no valid timestamp", r + 1);
            rc = MMSP_E_INVALID;
            goto out;
        }
        const struct feat_keyed *hit = NULL;
        if (feat_entity_key(keyvals, v->n_entities, key, sizeof key) == MMSP_OK) {
            hit = feat_index_find(&ix, key, at);
            if (hit && v->ttl_ms > 0 && at - hit->ts > v->ttl_ms)
                hit = NULL;
        }
        for (size_t c = 0; c < entities->n_cols; c++)
            row[c] = *feat_table_cell(entities, r, c);
        for (size_t f = 0; f < v->n_features; f++) {
            struct feat_value *dst = &row[entities->n_cols + f];
            if (hit) {
                *dst = *feat_table_cell(rows, hit->row, v->n_entities + 1 + f);
            } else {
                memset(dst, 0, sizeof *dst);
                dst->null = 1;
                dst->type = (uint8_t)v->features[f].type;
            }
        }
        rc = feat_table_append(out, row);
        if (rc)
            goto out;
    }
out:
    feat_index_free(&ix);
    free(names);
    free(types);
    free(row);
    free(alt);
    if (rc)
        feat_table_free(out);
    return rc;
}
