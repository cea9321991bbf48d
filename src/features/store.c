/*
 * The feature store's own database: views, services, gateway bindings, rows pushed to the
 * offline store and the embedded online store's persisted records. SQLite at
 * DATA/features.db, or a PostgreSQL database given by URL (tables prefixed feat_). The
 * tables are created with CREATE TABLE IF NOT EXISTS rather than through db_migrate, so the
 * registry's schema_migrations numbering in a shared PostgreSQL database is left alone;
 * a later schema change adds its own IF NOT EXISTS / ALTER steps here.
 * Views and services are read through a cache (struct feat_specs): every definition parsed
 * once into an immutable, reference-counted snapshot, replaced when the counter in
 * feat_spec_version moves (every put bumps it in the same transaction). The counter is read
 * at most once a millisecond (reading it on every lookup, under the connection's mutex, halved
 * the lookups/s over HTTP), so a `features apply` by another process is seen within 1 ms and
 * one by this process at once.
 * Calls: registry/db, jansson, features/table.c.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "features/features.h"
#include "features/features_internal.h"
#include "registry/db.h"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS feat_views(name TEXT PRIMARY KEY, spec TEXT NOT NULL,"
    " updated_ms BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS feat_services(name TEXT PRIMARY KEY, spec TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS feat_bindings(deployment TEXT PRIMARY KEY, views TEXT NOT NULL,"
    " on_missing TEXT NOT NULL, defaults TEXT);"
    "CREATE TABLE IF NOT EXISTS feat_offline(view TEXT NOT NULL, seq BIGINT NOT NULL,"
    " row_json TEXT NOT NULL, PRIMARY KEY(view, seq));"
    "CREATE TABLE IF NOT EXISTS feat_online(view TEXT NOT NULL, entity_key TEXT NOT NULL,"
    " event_ts_ms BIGINT NOT NULL, values_json TEXT NOT NULL, gen BIGINT NOT NULL,"
    " PRIMARY KEY(view, entity_key));"
    "CREATE TABLE IF NOT EXISTS feat_online_gen(id BIGINT PRIMARY KEY, gen BIGINT NOT NULL);"
    "INSERT INTO feat_online_gen(id, gen) VALUES(1, 0) ON CONFLICT DO NOTHING;"
    /* bumped with every change of a view or service: readers' caches compare it */
    "CREATE TABLE IF NOT EXISTS feat_spec_version(id BIGINT PRIMARY KEY, v BIGINT NOT NULL);"
    "INSERT INTO feat_spec_version(id, v) VALUES(1, 0) ON CONFLICT DO NOTHING";

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

mmsp_err feat_store_open(const char *data_dir, const char *registry_url, struct feat_store **out,
                         char *err, size_t errlen)
{
    char url[FEAT_PATH_MAX + 16];
    *out = NULL;
    if (registry_url && (strncmp(registry_url, "postgres://", 11) == 0 ||
                         strncmp(registry_url, "postgresql://", 13) == 0)) {
        snprintf(url, sizeof url, "%s", registry_url);
    } else {
        const char *dir = data_dir ? data_dir : "mmsp-data";
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "%s: %s", dir, strerror(errno));
            return MMSP_E_IO;
        }
        snprintf(url, sizeof url, "sqlite:%s/features.db", dir);
    }
    struct feat_store *s = calloc(1, sizeof *s);
    if (!s)
        return MMSP_E_NOMEM;
    pthread_mutex_init(&s->mu, NULL);
    mmsp_err rc = db_open(url, &s->db, err, errlen);
    if (rc)
        goto out;
    rc = db_begin(s->db, err, errlen);
    if (rc)
        goto out;
    rc = db_exec_script(s->db, schema_sql, err, errlen);
    if (rc) {
        db_rollback(s->db);
        goto out;
    }
    rc = db_commit(s->db, err, errlen);
out:
    if (rc) {
        feat_store_close(s);
        return rc;
    }
    *out = s;
    return MMSP_OK;
}

void feat_store_close(struct feat_store *s)
{
    if (!s)
        return;
    feat_specs_release(s->specs);
    db_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* --- JSON form of views and services ------------------------------------------------------ */

static char *view_json(const struct feat_view *v)
{
    json_t *o = json_object(), *ents = json_array(), *feats = json_array();
    for (size_t i = 0; i < v->n_entities; i++)
        json_array_append_new(ents, json_string(v->entities[i]));
    for (size_t i = 0; i < v->n_features; i++)
        json_array_append_new(feats, json_pack("{s:s, s:s}", "name", v->features[i].name, "type",
                                               feat_type_name(v->features[i].type)));
    json_object_set_new(o, "name", json_string(v->name));
    json_object_set_new(o, "entities", ents);
    json_object_set_new(o, "features", feats);
    json_object_set_new(o, "source", json_string(v->source));
    json_object_set_new(o, "timestamp_field", json_string(v->timestamp_field));
    json_object_set_new(o, "ttl_ms", json_integer(v->ttl_ms));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static mmsp_err view_from_json(const char *text, struct feat_view *v, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    memset(v, 0, sizeof *v);
    if (!o) {
        snprintf(err, errlen, "stored view: %s", je.text);
        return MMSP_E_PARSE;
    }
    snprintf(v->name, sizeof v->name, "%s", json_string_value(json_object_get(o, "name")) ?: "");
    snprintf(v->source, sizeof v->source, "%s",
             json_string_value(json_object_get(o, "source")) ?: "");
    snprintf(v->timestamp_field, sizeof v->timestamp_field, "%s",
             json_string_value(json_object_get(o, "timestamp_field")) ?: "event_timestamp");
    v->ttl_ms = json_integer_value(json_object_get(o, "ttl_ms"));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(o, "entities"), i, e)
    {
        if (v->n_entities < FEAT_MAX_ENTITIES)
            snprintf(v->entities[v->n_entities++], FEAT_NAME_MAX, "%s", json_string_value(e) ?: "");
    }
    json_array_foreach(json_object_get(o, "features"), i, e)
    {
        if (v->n_features >= FEAT_MAX_FEATURES)
            break;
        struct feat_feature *f = &v->features[v->n_features++];
        snprintf(f->name, sizeof f->name, "%s",
                 json_string_value(json_object_get(e, "name")) ?: "");
        if (!feat_type_parse(json_string_value(json_object_get(e, "type")) ?: "", &f->type))
            f->type = FEAT_STRING;
    }
    json_decref(o);
    return MMSP_OK;
}

/* The definition and the version bump in one transaction: a reader never sees the new
 * definition under the old version. */
static mmsp_err put_spec(struct feat_store *s, const char *sql, const char *name, const char *spec,
                         int with_time, char *err, size_t errlen)
{
    char ts[32];
    snprintf(ts, sizeof ts, "%lld", (long long)now_ms());
    const char *p[3] = {name, spec, ts};
    pthread_mutex_lock(&s->mu);
    mmsp_err rc = db_begin(s->db, err, errlen);
    if (!rc)
        rc = db_exec(s->db, sql, p, with_time ? 3 : 2, NULL, err, errlen);
    if (!rc)
        rc = db_exec(s->db, "UPDATE feat_spec_version SET v = v + 1 WHERE id = 1", NULL, 0, NULL,
                     err, errlen);
    if (!rc)
        rc = db_commit(s->db, err, errlen);
    if (rc)
        db_rollback(s->db);
    s->specs_checked_us = 0; /* this process's own change: re-read at the next lookup */
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* --- the cache of parsed views and services ------------------------------------------------ */

#define FEAT_SPECS_RECHECK_US 1000 /* the version counter is read at most this often */

struct feat_specs {
    _Atomic long refs;
    size_t n_views, n_services;
    struct feat_view *views;       /* sorted by name */
    struct feat_service *services; /* sorted by name */
};

void feat_specs_release(struct feat_specs *sp)
{
    if (!sp || atomic_fetch_sub(&sp->refs, 1) != 1)
        return;
    free(sp->views);
    free(sp->services);
    free(sp);
}

static int cmp_view(const void *a, const void *b)
{
    return strcmp(((const struct feat_view *)a)->name, ((const struct feat_view *)b)->name);
}

static int cmp_service(const void *a, const void *b)
{
    return strcmp(((const struct feat_service *)a)->name, ((const struct feat_service *)b)->name);
}

const struct feat_view *feat_specs_view(const struct feat_specs *sp, const char *name)
{
    size_t lo = 0, hi = sp->n_views;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, sp->views[mid].name);
        if (c == 0)
            return &sp->views[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct feat_service *feat_specs_service(const struct feat_specs *sp, const char *name)
{
    size_t lo = 0, hi = sp->n_services;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, sp->services[mid].name);
        if (c == 0)
            return &sp->services[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static mmsp_err service_from_json(const char *name, const char *spec, struct feat_service *out)
{
    memset(out, 0, sizeof *out);
    json_t *o = json_loads(spec, 0, NULL);
    snprintf(out->name, sizeof out->name, "%s", name);
    size_t i;
    json_t *e;
    json_array_foreach(o, i, e)
    {
        if (out->n_refs < FEAT_MAX_FEATURES && json_string_value(e))
            snprintf(out->refs[out->n_refs++], sizeof out->refs[0], "%s", json_string_value(e));
    }
    json_decref(o);
    return MMSP_OK;
}

/* Reads every view and service into a new snapshot. Lock held. */
static mmsp_err specs_load(struct feat_store *s, struct feat_specs **out, char *err, size_t errlen)
{
    struct db_rows vr = {0}, sr = {0};
    struct feat_specs *sp = calloc(1, sizeof *sp);
    mmsp_err rc = sp ? MMSP_OK : MMSP_E_NOMEM;
    if (!rc)
        rc = db_query(s->db, "SELECT spec FROM feat_views", NULL, 0, &vr, err, errlen);
    if (!rc)
        rc = db_query(s->db, "SELECT name, spec FROM feat_services", NULL, 0, &sr, err, errlen);
    if (rc)
        goto out;
    sp->views = calloc(vr.n_rows ? vr.n_rows : 1, sizeof *sp->views);
    sp->services = calloc(sr.n_rows ? sr.n_rows : 1, sizeof *sp->services);
    if (!sp->views || !sp->services) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    for (size_t r = 0; r < vr.n_rows && !rc; r++)
        rc = view_from_json(db_cell(&vr, r, 0) ?: "", &sp->views[sp->n_views++], err, errlen);
    for (size_t r = 0; r < sr.n_rows && !rc; r++)
        rc = service_from_json(db_cell(&sr, r, 0) ?: "", db_cell(&sr, r, 1) ?: "[]",
                               &sp->services[sp->n_services++]);
    if (rc)
        goto out;
    qsort(sp->views, sp->n_views, sizeof *sp->views, cmp_view);
    qsort(sp->services, sp->n_services, sizeof *sp->services, cmp_service);
    atomic_init(&sp->refs, 1);
out:
    db_rows_free(&vr);
    db_rows_free(&sr);
    if (rc) {
        if (rc == MMSP_E_NOMEM)
            snprintf(err, errlen, "out of memory");
        if (sp) {
            free(sp->views);
            free(sp->services);
            free(sp);
        }
        return rc;
    }
    *out = sp;
    return MMSP_OK;
}

mmsp_err feat_store_specs(struct feat_store *s, struct feat_specs **out, char *err, size_t errlen)
{
    struct db_rows rows = {0};
    *out = NULL;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    pthread_mutex_lock(&s->mu);
    if (s->specs && now_us - s->specs_checked_us < FEAT_SPECS_RECHECK_US) {
        atomic_fetch_add(&s->specs->refs, 1);
        *out = s->specs;
        pthread_mutex_unlock(&s->mu);
        return MMSP_OK;
    }
    s->specs_checked_us = now_us;
    mmsp_err rc = db_query(s->db, "SELECT v FROM feat_spec_version WHERE id = 1", NULL, 0, &rows,
                           err, errlen);
    if (rc)
        goto out;
    int64_t version =
        rows.n_rows && db_cell(&rows, 0, 0) ? strtoll(db_cell(&rows, 0, 0), NULL, 10) : -1;
    if (!s->specs || version != s->specs_version || version < 0) {
        struct feat_specs *sp = NULL;
        if ((rc = specs_load(s, &sp, err, errlen)))
            goto out;
        feat_specs_release(s->specs);
        s->specs = sp;
        s->specs_version = version;
    }
    atomic_fetch_add(&s->specs->refs, 1);
    *out = s->specs;
out:
    pthread_mutex_unlock(&s->mu);
    db_rows_free(&rows);
    return rc;
}

mmsp_err feat_store_put_view(struct feat_store *s, const struct feat_view *v, char *err,
                             size_t errlen)
{
    char *spec = view_json(v);
    if (!spec)
        return MMSP_E_NOMEM;
    mmsp_err rc = put_spec(s,
                           "INSERT INTO feat_views(name, spec, updated_ms) VALUES(?, ?, ?) "
                           "ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, "
                           "updated_ms = excluded.updated_ms",
                           v->name, spec, 1, err, errlen);
    free(spec);
    return rc;
}

mmsp_err feat_store_put_service(struct feat_store *s, const struct feat_service *sv, char *err,
                                size_t errlen)
{
    json_t *o = json_array();
    for (size_t i = 0; i < sv->n_refs; i++)
        json_array_append_new(o, json_string(sv->refs[i]));
    char *spec = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!spec)
        return MMSP_E_NOMEM;
    mmsp_err rc = put_spec(s,
                           "INSERT INTO feat_services(name, spec) VALUES(?, ?) "
                           "ON CONFLICT(name) DO UPDATE SET spec = excluded.spec",
                           sv->name, spec, 0, err, errlen);
    free(spec);
    return rc;
}

mmsp_err feat_store_get_view(struct feat_store *s, const char *name, struct feat_view *out,
                             char *err, size_t errlen)
{
    struct feat_specs *sp;
    mmsp_err rc = feat_store_specs(s, &sp, err, errlen);
    if (rc)
        return rc;
    const struct feat_view *v = feat_specs_view(sp, name);
    if (v) {
        *out = *v;
    } else {
        snprintf(err, errlen, "feature view '%.128s' is not known", name);
        rc = MMSP_E_NOT_FOUND;
    }
    feat_specs_release(sp);
    return rc;
}

mmsp_err feat_store_get_service(struct feat_store *s, const char *name, struct feat_service *out,
                                char *err, size_t errlen)
{
    struct feat_specs *sp;
    memset(out, 0, sizeof *out);
    mmsp_err rc = feat_store_specs(s, &sp, err, errlen);
    if (rc)
        return rc;
    const struct feat_service *v = feat_specs_service(sp, name);
    if (v) {
        *out = *v;
    } else {
        snprintf(err, errlen, "feature service '%.128s' is not known", name);
        rc = MMSP_E_NOT_FOUND;
    }
    feat_specs_release(sp);
    return rc;
}

mmsp_err feat_store_list_views(struct feat_store *s, struct feat_view **out, size_t *n, char *err,
                               size_t errlen)
{
    struct db_rows rows = {0};
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&s->mu);
    mmsp_err rc =
        db_query(s->db, "SELECT spec FROM feat_views ORDER BY name", NULL, 0, &rows, err, errlen);
    pthread_mutex_unlock(&s->mu);
    if (rc)
        return rc;
    *out = calloc(rows.n_rows ? rows.n_rows : 1, sizeof **out);
    if (!*out) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    for (size_t r = 0; r < rows.n_rows; r++) {
        rc = view_from_json(db_cell(&rows, r, 0) ?: "", &(*out)[r], err, errlen);
        if (rc)
            goto out;
    }
    *n = rows.n_rows;
out:
    db_rows_free(&rows);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* --- offline pushes ----------------------------------------------------------------------- */

json_t *feat_value_json(const struct feat_value *v)
{
    if (v->null)
        return json_null();
    switch ((enum feat_type)v->type) {
    case FEAT_STRING:
        return json_string(v->s ? v->s : "");
    case FEAT_BOOL:
        return json_boolean(v->i);
    case FEAT_FLOAT:
    case FEAT_DOUBLE:
        return json_real(v->d);
    default:
        return json_integer(v->i);
    }
}

mmsp_err feat_store_push_offline(struct feat_store *s, const struct feat_view *v,
                                 const struct feat_table *t, char *err, size_t errlen)
{
    struct db_rows rows = {0};
    pthread_mutex_lock(&s->mu);
    mmsp_err rc = db_begin(s->db, err, errlen);
    if (rc)
        goto out;
    const char *pv[1] = {v->name};
    rc = db_query(s->db, "SELECT COALESCE(MAX(seq), 0) FROM feat_offline WHERE view = ?", pv, 1,
                  &rows, err, errlen);
    if (rc)
        goto fail;
    long long seq = strtoll(db_cell(&rows, 0, 0) ?: "0", NULL, 10);
    for (size_t r = 0; r < t->n_rows; r++) {
        json_t *o = json_object();
        for (size_t c = 0; c < t->n_cols; c++)
            json_object_set_new(o, t->names[c], feat_value_json(feat_table_cell(t, r, c)));
        char *text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!text) {
            rc = MMSP_E_NOMEM;
            goto fail;
        }
        char seqs[32];
        snprintf(seqs, sizeof seqs, "%lld", ++seq);
        const char *p[3] = {v->name, seqs, text};
        rc = db_exec(s->db, "INSERT INTO feat_offline(view, seq, row_json) VALUES(?, ?, ?)", p, 3,
                     NULL, err, errlen);
        free(text);
        if (rc)
            goto fail;
    }
    rc = db_commit(s->db, err, errlen);
    goto out;
fail:
    db_rollback(s->db);
out:
    pthread_mutex_unlock(&s->mu);
    db_rows_free(&rows);
    return rc;
}

mmsp_err feat_store_offline_rows(struct feat_store *s, const struct feat_view *v,
                                 struct feat_table *t, char *err, size_t errlen)
{
    struct db_rows rows = {0};
    const char *p[1] = {v->name};
    pthread_mutex_lock(&s->mu);
    mmsp_err rc = db_query(s->db, "SELECT row_json FROM feat_offline WHERE view = ? ORDER BY seq",
                           p, 1, &rows, err, errlen);
    pthread_mutex_unlock(&s->mu);
    if (rc)
        return rc;
    struct feat_value *row = calloc(t->n_cols ? t->n_cols : 1, sizeof *row);
    char(*numtext)[32] = calloc(t->n_cols ? t->n_cols : 1, sizeof *numtext);
    if (!row || !numtext) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    for (size_t r = 0; r < rows.n_rows; r++) {
        json_t *o = json_loads(db_cell(&rows, r, 0) ?: "{}", 0, NULL);
        for (size_t c = 0; c < t->n_cols; c++) {
            json_t *j = json_object_get(o, t->names[c]);
            struct feat_value *x = &row[c];
            memset(x, 0, sizeof *x);
            x->type = (uint8_t)t->types[c];
            if (!j || json_is_null(j)) {
                x->null = 1;
            } else if (t->types[c] == FEAT_STRING && json_is_string(j)) {
                x->s = (char *)json_string_value(j);
            } else if (t->types[c] == FEAT_STRING) {
                snprintf(numtext[c], sizeof numtext[c], "%.17g", json_number_value(j));
                if (json_is_integer(j))
                    snprintf(numtext[c], sizeof numtext[c], "%lld",
                             (long long)json_integer_value(j));
                x->s = numtext[c];
            } else if (t->types[c] == FEAT_FLOAT || t->types[c] == FEAT_DOUBLE) {
                x->d = json_number_value(j);
            } else if (t->types[c] == FEAT_BOOL) {
                x->i = json_is_true(j);
            } else {
                x->i = json_integer_value(j);
            }
        }
        rc = feat_table_append(t, row);
        json_decref(o);
        if (rc)
            goto out;
    }
out:
    free(row);
    free(numtext);
    db_rows_free(&rows);
    return rc;
}

/* --- bindings ----------------------------------------------------------------------------- */

void feat_binding_clear(struct feat_binding *b)
{
    free(b->defaults_json);
    memset(b, 0, sizeof *b);
}

mmsp_err feat_store_bind(struct feat_store *s, const struct feat_binding *b, char *err,
                         size_t errlen)
{
    char views[16 * FEAT_NAME_MAX + 16] = "";
    size_t used = 0;
    for (size_t i = 0; i < b->n_views; i++)
        used +=
            (size_t)snprintf(views + used, sizeof views - used, "%s%s", i ? "," : "", b->views[i]);
    const char *p[4] = {b->deployment, views, b->on_missing_default ? "default" : "404",
                        b->defaults_json};
    pthread_mutex_lock(&s->mu);
    mmsp_err rc = db_exec(s->db,
                          "INSERT INTO feat_bindings(deployment, views, on_missing, defaults) "
                          "VALUES(?, ?, ?, ?) ON CONFLICT(deployment) DO UPDATE SET "
                          "views = excluded.views, on_missing = excluded.on_missing, "
                          "defaults = excluded.defaults",
                          p, 4, NULL, err, errlen);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

mmsp_err feat_store_get_binding(struct feat_store *s, const char *deployment,
                                struct feat_binding *out, char *err, size_t errlen)
{
    struct db_rows rows = {0};
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    mmsp_err rc = db_query(
        s->db, "SELECT views, on_missing, defaults FROM feat_bindings WHERE deployment = ?",
        &deployment, 1, &rows, err, errlen);
    pthread_mutex_unlock(&s->mu);
    if (rc)
        return rc;
    if (rows.n_rows == 0) {
        snprintf(err, errlen, "deployment '%.128s' has no feature binding", deployment);
        rc = MMSP_E_NOT_FOUND;
        goto out;
    }
    snprintf(out->deployment, sizeof out->deployment, "%s", deployment);
    const char *vs = db_cell(&rows, 0, 0) ?: "";
    while (*vs && out->n_views < 16) {
        size_t n = strcspn(vs, ",");
        if (n && n < FEAT_NAME_MAX)
            snprintf(out->views[out->n_views++], FEAT_NAME_MAX, "%.*s", (int)n, vs);
        vs += n;
        if (*vs == ',')
            vs++;
    }
    out->on_missing_default = strcmp(db_cell(&rows, 0, 1) ?: "", "default") == 0;
    if (db_cell(&rows, 0, 2)) {
        out->defaults_json = strdup(db_cell(&rows, 0, 2));
        if (!out->defaults_json)
            rc = MMSP_E_NOMEM;
    }
out:
    db_rows_free(&rows);
    return rc;
}
