/*
 * The embedded online store: an in-memory open-addressing hash index from "VIEW\x1fKEY" to
 * the entity's latest record (event time + values in view feature order), guarded by a
 * read-write lock, so a lookup is one hash probe and no allocation. Writes go through to the
 * feature store's database first (table feat_online, in one transaction, stamped with a new
 * generation from feat_online_gen) and then into memory; refresh() reads the rows of newer
 * generations, which is how a server sees `mmsp features materialize` run by another process.
 * Calls: features (values), registry/db, jansson.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "features/features_internal.h"
#include "features/online.h"
#include "registry/db.h"

#define EMB_MAX_RECORDS (64u << 20)

struct emb_rec {
    char *key; /* "VIEW\x1fKEY", owned; NULL = empty slot */
    uint64_t hash;
    int64_t ts;
    size_t n;
    struct feat_value *values; /* owned */
};

struct emb_store {
    struct online_store base;
    struct feat_store *fs; /* borrowed */
    pthread_rwlock_t lock;
    struct emb_rec *slots;
    size_t cap, count; /* cap: power of two */
    int64_t gen;       /* highest generation read from the database */
    pthread_mutex_t refresh_mu;
};

static uint64_t hash_key(const char *view, const char *key)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)view; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    h = (h ^ 0x1f) * 1099511628211ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h ^ (h >> 29);
}

static int key_eq(const char *full, const char *view, const char *key)
{
    size_t vl = strlen(view);
    return strncmp(full, view, vl) == 0 && full[vl] == 0x1f && strcmp(full + vl + 1, key) == 0;
}

static struct emb_rec *find_slot(struct emb_store *s, const char *view, const char *key, uint64_t h)
{
    size_t mask = s->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct emb_rec *r = &s->slots[i];
        if (!r->key || (r->hash == h && key_eq(r->key, view, key)))
            return r;
    }
}

static void rec_free_values(struct emb_rec *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->values[i].s);
    free(r->values);
    r->values = NULL;
    r->n = 0;
}

static mmsp_err grow(struct emb_store *s)
{
    size_t cap = s->cap ? s->cap * 2 : 1024;
    struct emb_rec *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return MMSP_E_NOMEM;
    for (size_t i = 0; i < s->cap; i++) {
        struct emb_rec *r = &s->slots[i];
        if (!r->key)
            continue;
        size_t j = r->hash & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = *r;
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return MMSP_OK;
}

/* Sets the record (values copied) when it is not older than the stored one. Write lock held. */
static mmsp_err put_locked(struct emb_store *s, const char *view, const char *key, int64_t ts,
                           const struct feat_value *vals, size_t n)
{
    if ((s->count + 1) * 2 > s->cap) {
        if (s->count >= EMB_MAX_RECORDS)
            return MMSP_E_TOO_LARGE;
        mmsp_err rc = grow(s);
        if (rc)
            return rc;
    }
    uint64_t h = hash_key(view, key);
    struct emb_rec *r = find_slot(s, view, key, h);
    if (r->key && r->ts > ts)
        return MMSP_OK;
    struct feat_value *copy = calloc(n ? n : 1, sizeof *copy);
    if (!copy)
        return MMSP_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (feat_value_copy(&copy[i], &vals[i])) {
            for (size_t k = 0; k < i; k++)
                free(copy[k].s);
            free(copy);
            return MMSP_E_NOMEM;
        }
    if (!r->key) {
        size_t vl = strlen(view), kl = strlen(key);
        r->key = malloc(vl + kl + 2);
        if (!r->key) {
            for (size_t k = 0; k < n; k++)
                free(copy[k].s);
            free(copy);
            return MMSP_E_NOMEM;
        }
        memcpy(r->key, view, vl);
        r->key[vl] = 0x1f;
        memcpy(r->key + vl + 1, key, kl + 1);
        r->hash = h;
        s->count++;
    } else {
        rec_free_values(r);
    }
    r->ts = ts;
    r->n = n;
    r->values = copy;
    return MMSP_OK;
}

static char *values_json(const struct feat_value *vals, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, feat_value_json(&vals[i]));
    char *s = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(a);
    return s;
}

static mmsp_err emb_write(struct online_store *o, const struct feat_view *v,
                          const char *const *keys, const struct online_record *recs, size_t n,
                          char *err, size_t errlen)
{
    struct emb_store *s = (struct emb_store *)o;
    struct feat_store *fs = s->fs;
    struct db_rows rows = {0};
    char gen[32];
    pthread_mutex_lock(&fs->mu);
    mmsp_err rc = db_begin(fs->db, err, errlen);
    if (rc)
        goto out;
    rc = db_exec(fs->db, "UPDATE feat_online_gen SET gen = gen + 1 WHERE id = 1", NULL, 0, NULL,
                 err, errlen);
    if (rc)
        goto fail;
    rc = db_query(fs->db, "SELECT gen FROM feat_online_gen WHERE id = 1", NULL, 0, &rows, err,
                  errlen);
    if (rc)
        goto fail;
    snprintf(gen, sizeof gen, "%s", db_cell(&rows, 0, 0) ?: "0");
    for (size_t i = 0; i < n; i++) {
        char ts[32];
        snprintf(ts, sizeof ts, "%lld", (long long)recs[i].event_ts_ms);
        char *vj = values_json(recs[i].values, recs[i].n_values);
        if (!vj) {
            rc = MMSP_E_NOMEM;
            goto fail;
        }
        const char *p[5] = {v->name, keys[i], ts, vj, gen};
        rc = db_exec(fs->db,
                     "INSERT INTO feat_online(view, entity_key, event_ts_ms, values_json, gen) "
                     "VALUES(?, ?, ?, ?, ?) ON CONFLICT(view, entity_key) DO UPDATE SET "
                     "event_ts_ms = excluded.event_ts_ms, values_json = excluded.values_json, "
                     "gen = excluded.gen WHERE feat_online.event_ts_ms <= excluded.event_ts_ms",
                     p, 5, NULL, err, errlen);
        free(vj);
        if (rc)
            goto fail;
    }
    rc = db_commit(fs->db, err, errlen);
    if (rc)
        goto out;
    pthread_rwlock_wrlock(&s->lock);
    for (size_t i = 0; i < n && !rc; i++)
        rc = put_locked(s, v->name, keys[i], recs[i].event_ts_ms, recs[i].values, recs[i].n_values);
    pthread_rwlock_unlock(&s->lock);
    if (rc)
        snprintf(err, errlen, "online store: %s", mmsp_strerror(rc));
    goto out;
fail:
    db_rollback(fs->db);
out:
    pthread_mutex_unlock(&fs->mu);
    db_rows_free(&rows);
    return rc;
}

static mmsp_err emb_read(struct online_store *o, const struct feat_view *v, const char *const *keys,
                         size_t n, online_read_fn fn, void *ctx, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct emb_store *s = (struct emb_store *)o;
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        struct emb_rec *r =
            s->cap ? find_slot(s, v->name, keys[i], hash_key(v->name, keys[i])) : NULL;
        if (r && r->key) {
            struct online_record rec = {r->ts, r->n, r->values};
            fn(ctx, i, &rec);
        } else {
            fn(ctx, i, NULL);
        }
    }
    pthread_rwlock_unlock(&s->lock);
    return MMSP_OK;
}

/* A stored JSON array back into values (types from JSON: string, bool, integer, real). */
static mmsp_err decode_values(const char *text, struct feat_value **out, size_t *n)
{
    json_t *a = json_loads(text, JSON_DECODE_ANY, NULL);
    *out = NULL;
    *n = 0;
    if (!json_is_array(a)) {
        json_decref(a);
        return MMSP_E_PARSE;
    }
    size_t len = json_array_size(a);
    struct feat_value *v = calloc(len ? len : 1, sizeof *v);
    if (!v) {
        json_decref(a);
        return MMSP_E_NOMEM;
    }
    for (size_t i = 0; i < len; i++) {
        json_t *j = json_array_get(a, i);
        if (json_is_string(j)) {
            v[i].type = FEAT_STRING;
            v[i].s = strdup(json_string_value(j));
        } else if (json_is_boolean(j)) {
            v[i].type = FEAT_BOOL;
            v[i].i = json_is_true(j);
        } else if (json_is_integer(j)) {
            v[i].type = FEAT_INT64;
            v[i].i = json_integer_value(j);
        } else if (json_is_real(j)) {
            v[i].type = FEAT_DOUBLE;
            v[i].d = json_real_value(j);
        } else {
            v[i].null = 1;
        }
    }
    json_decref(a);
    *out = v;
    *n = len;
    return MMSP_OK;
}

static mmsp_err emb_refresh(struct online_store *o, char *err, size_t errlen)
{
    struct emb_store *s = (struct emb_store *)o;
    struct feat_store *fs = s->fs;
    struct db_rows rows = {0};
    pthread_mutex_lock(&s->refresh_mu);
    pthread_mutex_lock(&fs->mu);
    mmsp_err rc = db_query(fs->db, "SELECT gen FROM feat_online_gen WHERE id = 1", NULL, 0, &rows,
                           err, errlen);
    int64_t gen = rc ? 0 : strtoll(db_cell(&rows, 0, 0) ?: "0", NULL, 10);
    db_rows_free(&rows);
    if (!rc && gen > s->gen) {
        char last[32];
        snprintf(last, sizeof last, "%lld", (long long)s->gen);
        const char *p[1] = {last};
        rc = db_query(fs->db,
                      "SELECT view, entity_key, event_ts_ms, values_json FROM feat_online "
                      "WHERE gen > ?",
                      p, 1, &rows, err, errlen);
    }
    pthread_mutex_unlock(&fs->mu);
    if (rc || gen <= s->gen)
        goto out;
    pthread_rwlock_wrlock(&s->lock);
    for (size_t r = 0; r < rows.n_rows && !rc; r++) {
        struct feat_value *vals;
        size_t n;
        if (decode_values(db_cell(&rows, r, 3) ?: "[]", &vals, &n) != MMSP_OK)
            continue;
        rc = put_locked(s, db_cell(&rows, r, 0) ?: "", db_cell(&rows, r, 1) ?: "",
                        strtoll(db_cell(&rows, r, 2) ?: "0", NULL, 10), vals, n);
        for (size_t i = 0; i < n; i++)
            free(vals[i].s);
        free(vals);
    }
    pthread_rwlock_unlock(&s->lock);
    if (rc)
        snprintf(err, errlen, "online store: %s", mmsp_strerror(rc));
    else
        s->gen = gen;
out:
    db_rows_free(&rows);
    pthread_mutex_unlock(&s->refresh_mu);
    return rc;
}

static void emb_free(struct online_store *o)
{
    struct emb_store *s = (struct emb_store *)o;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].key) {
            free(s->slots[i].key);
            rec_free_values(&s->slots[i]);
        }
    free(s->slots);
    pthread_rwlock_destroy(&s->lock);
    pthread_mutex_destroy(&s->refresh_mu);
    free(s);
}

static const struct online_store_ops emb_ops = {
    .name = "embedded",
    .write = emb_write,
    .read = emb_read,
    .refresh = emb_refresh,
    .free = emb_free,
};

mmsp_err online_embedded_open(struct feat_store *fs, struct online_store **out, char *err,
                              size_t errlen)
{
    struct emb_store *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return MMSP_E_NOMEM;
    s->base.ops = &emb_ops;
    s->fs = fs;
    pthread_rwlock_init(&s->lock, NULL);
    pthread_mutex_init(&s->refresh_mu, NULL);
    mmsp_err rc = grow(s);
    if (!rc)
        rc = emb_refresh(&s->base, err, errlen);
    if (rc) {
        emb_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return MMSP_OK;
}

mmsp_err online_store_open(const char *url, struct feat_store *fs, struct online_store **out,
                           char *err, size_t errlen)
{
    if (!url || !*url || strcmp(url, "embedded") == 0)
        return online_embedded_open(fs, out, err, errlen);
    if (strncmp(url, "redis://", 8) == 0)
        return online_redis_open(url, out, err, errlen);
    snprintf(err, errlen,
             "online store '%.200s': use embedded or redis://[[USER]:PASSWORD@]HOST:PORT[/DB]",
             strchr(url, '@') ? "(URL with credentials)" : url);
    return MMSP_E_INVALID;
}

void online_store_free(struct online_store *o)
{
    if (o)
        o->ops->free(o);
}
