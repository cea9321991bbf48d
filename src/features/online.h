/*
 * Online stores: the latest feature values per (view, entity key), behind a small vtable.
 *  - embedded (online_embedded.c): an in-memory hash index, loaded from and written through
 *    to the feature store's database (table feat_online); other processes' writes are picked
 *    up by online_store_refresh (a generation counter in feat_online_gen).
 *  - redis (online_redis.c): one hash per entity "mmsp:VIEW:KEY" with a field per feature and
 *    "_ts" (event time, Unix ms); writes and reads are pipelined (hiredis).
 * Values of a record are in view feature order; a null value is an absent field.
 * Calls: features (view, values), registry/db, hiredis.
 */
#ifndef MMSP_FEATURES_ONLINE_H
#define MMSP_FEATURES_ONLINE_H

#include "features/features.h"

/* One entity's latest values, borrowed during the callback only. */
struct online_record {
    int64_t event_ts_ms;
    size_t n_values;
    const struct feat_value *values; /* view feature order */
};

/* Called once per key in order; rec is NULL when the entity is not in the store. */
typedef void (*online_read_fn)(void *ctx, size_t idx, const struct online_record *rec);

struct online_store;
struct online_store_ops {
    const char *name; /* "embedded" | "redis" */
    /* Writes one record per key (keys[i], records[i]); a record older than the stored one is
     * skipped. */
    mmsp_err (*write)(struct online_store *o, const struct feat_view *v, const char *const *keys,
                      const struct online_record *records, size_t n, char *err, size_t errlen);
    mmsp_err (*read)(struct online_store *o, const struct feat_view *v, const char *const *keys,
                     size_t n, online_read_fn fn, void *ctx, char *err, size_t errlen);
    /* Picks up other processes' writes (embedded); may be NULL. */
    mmsp_err (*refresh)(struct online_store *o, char *err, size_t errlen);
    void (*free)(struct online_store *o);
};
struct online_store {
    const struct online_store_ops *ops;
};

/* Embedded store over `fs` (borrowed; outlives the store): loads every stored record. */
mmsp_err online_embedded_open(struct feat_store *fs, struct online_store **out, char *err,
                              size_t errlen);
/* Redis at "redis://HOST:PORT[/DB]". */
mmsp_err online_redis_open(const char *url, struct online_store **out, char *err, size_t errlen);
/* url NULL or "embedded" = embedded over fs; "redis://..." = Redis. */
mmsp_err online_store_open(const char *url, struct feat_store *fs, struct online_store **out,
                           char *err, size_t errlen);
void online_store_free(struct online_store *o); /* NULL is fine */

/*
 * Materialize: for each view (names; all views when n_names is 0), the latest offline row per
 * entity with start_ms <= event time < end_ms (INT64_MIN / INT64_MAX for open ends), written
 * to the online store. *n_written (may be NULL) = records written.
 */
mmsp_err feat_materialize(struct feat_store *fs, struct online_store *o, const char *const *names,
                          size_t n_names, int64_t start_ms, int64_t end_ms, size_t *n_written,
                          char *err, size_t errlen);

/* Writes a table's rows (entity columns, timestamp, features; any subset of features, the
 * rest null) to the online store, the latest row per entity. */
mmsp_err feat_online_write_table(struct online_store *o, const struct feat_view *v,
                                 const struct feat_table *t, size_t *n_written, char *err,
                                 size_t errlen);

/* --- HTTP (api_feast.c) ------------------------------------------------------------------ */

struct http_router;
struct feast_api {
    struct feat_store *fs;       /* borrowed */
    struct online_store *online; /* borrowed */
    const char *admin_token;     /* borrowed; write endpoints need it when set */
};
/* POST /get-online-features, /push, /write-to-online-store, /materialize, GET /health.
 * `api` is borrowed and must outlive the router. */
mmsp_err feast_api_register(struct feast_api *api, struct http_router *router);

/*
 * The gateway join: the feature vector for `deployment`'s binding and `entity` (a JSON
 * scalar as text), in the order of names[0..n) (the model's feature names; a name is looked
 * up as "view:feature" or bare in the bound views). MMSP_E_NOT_FOUND when the deployment has
 * no binding (*bound = 0) or, with on_missing 404, the entity is absent (*bound = 1).
 */
mmsp_err feat_gateway_vector(struct feat_store *fs, struct online_store *o, const char *deployment,
                             const char *entity, const char *const *names, size_t n, float *out,
                             int *bound, char *err, size_t errlen);

#endif
