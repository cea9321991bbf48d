/*
 * Moving features online: materialize (the latest offline row per entity within a time
 * window, for each view, into the online store), writes of pushed tables, and the gateway's
 * join (one entity's features from the bound views in the model's input order).
 * Calls: features/offline.c, features/store.c, online stores (vtable), jansson.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "features/features_internal.h"
#include "features/online.h"

#define WRITE_BATCH 4096

/*
 * Writes the latest row per entity of table t to o. colmap[f] is t's column of view feature
 * f (-1 = null); ecol: join key columns; tcol: the timestamp column (FEAT_TIMESTAMP).
 * Rows outside [start, end) are skipped.
 */
static mmsp_err write_latest(struct online_store *o, const struct feat_view *v,
                             const struct feat_table *t, const int *ecol, int tcol,
                             const int *colmap, int64_t start, int64_t end, size_t *n_written,
                             char *err, size_t errlen)
{
    struct feat_index ix = {0};
    /* an index needs the key columns first and the time next: build keys directly */
    ix.items = calloc(t->n_rows ? t->n_rows : 1, sizeof *ix.items);
    const char **keys = calloc(WRITE_BATCH, sizeof *keys);
    struct online_record *recs = calloc(WRITE_BATCH, sizeof *recs);
    struct feat_value *vals =
        calloc((size_t)WRITE_BATCH * (v->n_features ? v->n_features : 1), sizeof *vals);
    mmsp_err rc = MMSP_OK;
    size_t written = 0;
    if (!ix.items || !keys || !recs || !vals) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        struct feat_value kv[FEAT_MAX_ENTITIES];
        for (size_t e = 0; e < v->n_entities; e++)
            kv[e] = *feat_table_cell(t, r, (size_t)ecol[e]);
        const struct feat_value *tv = feat_table_cell(t, r, (size_t)tcol);
        if (tv->null || tv->i < start || tv->i >= end)
            continue;
        char key[1024];
        if (feat_entity_key(kv, v->n_entities, key, sizeof key) != MMSP_OK)
            continue;
        struct feat_keyed *k = &ix.items[ix.n];
        k->key = strdup(key);
        if (!k->key) {
            rc = MMSP_E_NOMEM;
            goto out;
        }
        k->ts = tv->i;
        k->row = r;
        ix.n++;
    }
    /* sort by (key, ts, row): the last item of each key is the latest */
    feat_index_sort(&ix);
    size_t nb = 0;
    for (size_t i = 0; i < ix.n; i++) {
        if (i + 1 < ix.n && strcmp(ix.items[i].key, ix.items[i + 1].key) == 0)
            continue;
        struct feat_value *rv = &vals[nb * v->n_features];
        for (size_t f = 0; f < v->n_features; f++) {
            if (colmap[f] >= 0) {
                rv[f] = *feat_table_cell(t, ix.items[i].row, (size_t)colmap[f]);
            } else {
                memset(&rv[f], 0, sizeof rv[f]);
                rv[f].null = 1;
                rv[f].type = (uint8_t)v->features[f].type;
            }
        }
        keys[nb] = ix.items[i].key;
        recs[nb].event_ts_ms = ix.items[i].ts;
        recs[nb].n_values = v->n_features;
        recs[nb].values = rv;
        nb++;
        if (nb == WRITE_BATCH || i + 1 == ix.n) {
            rc = o->ops->write(o, v, keys, recs, nb, err, errlen);
            if (rc)
                goto out;
            written += nb;
            nb = 0;
        }
    }
out:
    feat_index_free(&ix);
    free(keys);
    free(recs);
    free(vals);
    if (n_written)
        *n_written = written;
    return rc;
}

mmsp_err feat_online_write_table(struct online_store *o, const struct feat_view *v,
                                 const struct feat_table *t, size_t *n_written, char *err,
                                 size_t errlen)
{
    int ecol[FEAT_MAX_ENTITIES], colmap[FEAT_MAX_FEATURES];
    for (size_t e = 0; e < v->n_entities; e++)
        if ((ecol[e] = feat_table_col(t, v->entities[e])) < 0) {
            snprintf(err, errlen, "join key '%s' is missing", v->entities[e]);
            return MMSP_E_INVALID;
        }
    int tcol = feat_table_col(t, v->timestamp_field);
    if (tcol < 0 || t->types[tcol] != FEAT_TIMESTAMP) {
        snprintf(err, errlen, "timestamp column '%s' is missing", v->timestamp_field);
        return MMSP_E_INVALID;
    }
    for (size_t f = 0; f < v->n_features; f++)
        colmap[f] = feat_table_col(t, v->features[f].name);
    return write_latest(o, v, t, ecol, tcol, colmap, INT64_MIN, INT64_MAX, n_written, err, errlen);
}

mmsp_err feat_materialize(struct feat_store *fs, struct online_store *o, const char *const *names,
                          size_t n_names, int64_t start_ms, int64_t end_ms, size_t *n_written,
                          char *err, size_t errlen)
{
    struct feat_view *views = NULL;
    size_t nv = 0, total = 0;
    mmsp_err rc;
    if (n_names) {
        views = calloc(n_names, sizeof *views);
        if (!views)
            return MMSP_E_NOMEM;
        for (size_t i = 0; i < n_names; i++) {
            rc = feat_store_get_view(fs, names[i], &views[i], err, errlen);
            if (rc)
                goto out;
        }
        nv = n_names;
    } else {
        rc = feat_store_list_views(fs, &views, &nv, err, errlen);
        if (rc)
            goto out;
    }
    for (size_t i = 0; i < nv; i++) {
        const struct feat_view *v = &views[i];
        struct feat_table t;
        rc = feat_offline_load(fs, v, &t, err, errlen);
        if (rc)
            goto out;
        int ecol[FEAT_MAX_ENTITIES], colmap[FEAT_MAX_FEATURES];
        for (size_t e = 0; e < v->n_entities; e++)
            ecol[e] = (int)e;
        for (size_t f = 0; f < v->n_features; f++)
            colmap[f] = (int)(v->n_entities + 1 + f);
        size_t n = 0;
        rc = write_latest(o, v, &t, ecol, (int)v->n_entities, colmap, start_ms, end_ms, &n, err,
                          errlen);
        feat_table_free(&t);
        total += n;
        if (rc)
            goto out;
    }
out:
    free(views);
    if (n_written)
        *n_written = total;
    return rc;
}

/* --- gateway join ------------------------------------------------------------------------- */

struct one_read {
    int found;
    int64_t ts;
    double vals[FEAT_MAX_FEATURES];
    int null[FEAT_MAX_FEATURES];
    int bad[FEAT_MAX_FEATURES];
};

static void on_one(void *ctx, size_t idx, const struct online_record *rec)
{
    (void)idx;
    struct one_read *r = ctx;
    r->found = rec != NULL;
    if (!rec)
        return;
    r->ts = rec->event_ts_ms;
    for (size_t i = 0; i < rec->n_values && i < FEAT_MAX_FEATURES; i++) {
        const struct feat_value *v = &rec->values[i];
        r->null[i] = v->null;
        r->bad[i] = 0;
        if (v->null)
            continue;
        if (v->type == FEAT_FLOAT || v->type == FEAT_DOUBLE)
            r->vals[i] = v->d;
        else if (v->type == FEAT_STRING)
            r->bad[i] = 1;
        else
            r->vals[i] = (double)v->i;
    }
}

mmsp_err feat_gateway_vector(struct feat_store *fs, struct online_store *o, const char *deployment,
                             const char *entity, const char *const *names, size_t n, float *out,
                             int *bound, char *err, size_t errlen)
{
    struct feat_binding b;
    struct feat_view *views = NULL;
    struct one_read *reads = NULL;
    json_t *defaults = NULL;
    *bound = 0;
    mmsp_err rc = feat_store_get_binding(fs, deployment, &b, err, errlen);
    if (rc)
        return rc;
    *bound = 1;
    views = calloc(b.n_views ? b.n_views : 1, sizeof *views);
    reads = calloc(b.n_views ? b.n_views : 1, sizeof *reads);
    if (!views || !reads) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    if (b.defaults_json)
        defaults = json_loads(b.defaults_json, 0, NULL);
    for (size_t i = 0; i < b.n_views; i++) {
        rc = feat_store_get_view(fs, b.views[i], &views[i], err, errlen);
        if (rc)
            goto out;
        const char *keys[1] = {entity};
        rc = o->ops->read(o, &views[i], keys, 1, on_one, &reads[i], err, errlen);
        if (rc)
            goto out;
        if (views[i].ttl_ms > 0 && reads[i].found) {
            /* stale values count as missing, as in Feast (OUTSIDE_MAX_AGE) */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
            if (now - reads[i].ts > views[i].ttl_ms)
                reads[i].found = 0;
        }
    }
    for (size_t k = 0; k < n; k++) {
        const char *name = names[k];
        const char *colon = strchr(name, ':');
        int vi = -1, fi = -1;
        for (size_t i = 0; i < b.n_views && fi < 0; i++) {
            if (colon) {
                size_t vl = (size_t)(colon - name);
                if (strlen(views[i].name) != vl || strncmp(views[i].name, name, vl) != 0)
                    continue;
                fi = feat_view_feature(&views[i], colon + 1);
            } else {
                fi = feat_view_feature(&views[i], name);
            }
            if (fi >= 0)
                vi = (int)i;
        }
        if (fi < 0) {
            snprintf(err, errlen, "model feature '%s' is in none of the views bound to '%s'", name,
                     deployment);
            rc = MMSP_E_INVALID;
            goto out;
        }
        const struct one_read *r = &reads[vi];
        if (r->found && !r->null[fi] && !r->bad[fi]) {
            out[k] = (float)r->vals[fi];
            continue;
        }
        if (r->found && r->bad[fi]) {
            snprintf(err, errlen, "feature '%s' is a string: the model needs numbers", name);
            rc = MMSP_E_INVALID;
            goto out;
        }
        if (!b.on_missing_default) {
            snprintf(err, errlen, "entity '%.128s' has no value for '%s' in view '%s'", entity,
                     name, views[vi].name);
            rc = MMSP_E_NOT_FOUND;
            goto out;
        }
        json_t *d = json_object_get(defaults, name);
        if (!d && colon)
            d = json_object_get(defaults, colon + 1);
        out[k] = json_is_number(d) ? (float)json_number_value(d) : 0.0f;
    }
out:
    json_decref(defaults);
    feat_binding_clear(&b);
    free(views);
    free(reads);
    return rc;
}
