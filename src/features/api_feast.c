/*
 * The Feast-compatible feature server endpoints (reference/protocols.md section 3), hosted
 * by `mmsp serve`: POST /get-online-features (column-oriented results), POST /push,
 * POST /write-to-online-store, POST /materialize and GET /health. Bodies are parsed with the
 * request-arena JSON reader; bad bodies are 400 {"error": ...}; the write endpoints need the
 * admin token when one is set. The embedded online store is refreshed from the database at
 * most every 200 ms by a request, so writes by other processes show up without a restart.
 * Calls: http, common/json, features (store, online stores, materialize).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "features/online.h"
#include "http/http.h"

#define REFRESH_NS    200000000ull
#define MAX_REQ_FEATS 1024
#define MAX_REQ_ROWS  100000

static _Atomic uint64_t last_refresh_ns;

static void maybe_refresh(struct feast_api *api)
{
    if (!api->online->ops->refresh)
        return;
    uint64_t now = http_now_ns(), last = atomic_load(&last_refresh_ns);
    if (now - last < REFRESH_NS || !atomic_compare_exchange_strong(&last_refresh_ns, &last, now))
        return;
    char err[256];
    api->online->ops->refresh(api->online, err, sizeof err);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static mmsp_err parse_body(struct http_request *req, struct http_response *res,
                           struct json_value *doc)
{
    char err[256];
    mmsp_err rc = json_parse(req->arena, req->body, req->body_len, doc, err, sizeof err);
    if (rc)
        return http_fail(res, rc == MMSP_E_PARSE ? MMSP_E_INVALID : rc, "invalid JSON: %s", err);
    if (doc->type != JSON_OBJECT)
        return http_fail(res, MMSP_E_INVALID, "the body must be a JSON object");
    return MMSP_OK;
}

/* A JSON scalar as entity key text; 0 when it is not a usable key. */
static int scalar_text(const struct json_value *v, char *out, size_t len)
{
    switch (v->type) {
    case JSON_STRING:
        snprintf(out, len, "%s", v->u.str);
        return strlen(v->u.str) < len;
    case JSON_NUMBER:
        if (v->u.num.is_int)
            snprintf(out, len, "%lld", (long long)v->u.num.i);
        else
            snprintf(out, len, "%.17g", v->u.num.d);
        return 1;
    case JSON_TRUE:
        snprintf(out, len, "true");
        return 1;
    case JSON_FALSE:
        snprintf(out, len, "false");
        return 1;
    default:
        return 0;
    }
}

static mmsp_err write_value(struct buf *b, const struct feat_value *v)
{
    if (v->null)
        return buf_append_str(b, "null");
    switch ((enum feat_type)v->type) {
    case FEAT_STRING:
        return json_write_string(b, v->s ? v->s : "", v->s ? strlen(v->s) : 0);
    case FEAT_BOOL:
        return buf_append_str(b, v->i ? "true" : "false");
    case FEAT_FLOAT:
        return json_write_float(b, (float)v->d);
    case FEAT_DOUBLE:
        return json_write_double(b, v->d);
    default:
        return json_write_int(b, v->i);
    }
}

/* --- /get-online-features ----------------------------------------------------------------- */

struct req_feat {
    int view;    /* index into views */
    int feature; /* index in the view */
    char out_name[2 * FEAT_NAME_MAX + 2];
    struct buf values, statuses, times;
};

struct group_read {
    struct req_feat *feats;
    size_t n_feats;
    int view;
    const struct feat_view *v;
    int64_t now;
    mmsp_err rc;
};

static void on_row(void *ctx, size_t idx, const struct online_record *rec)
{
    struct group_read *g = ctx;
    char tbuf[40];
    int stale = rec && g->v->ttl_ms > 0 && g->now - rec->event_ts_ms > g->v->ttl_ms;
    if (rec)
        feat_format_time(rec->event_ts_ms, tbuf);
    for (size_t k = 0; k < g->n_feats; k++) {
        struct req_feat *f = &g->feats[k];
        if (f->view != g->view)
            continue;
        const char *sep = idx ? "," : "";
        mmsp_err rc = buf_append_str(&f->values, sep);
        rc = rc ? rc : buf_append_str(&f->statuses, sep);
        rc = rc ? rc : buf_append_str(&f->times, sep);
        const struct feat_value *v =
            rec && (size_t)f->feature < rec->n_values ? &rec->values[f->feature] : NULL;
        const char *status;
        if (!rec || !v) {
            status = "\"NOT_FOUND\"";
            rc = rc ? rc : buf_append_str(&f->values, "null");
        } else if (stale) {
            status = "\"OUTSIDE_MAX_AGE\"";
            rc = rc ? rc : buf_append_str(&f->values, "null");
        } else if (v->null) {
            status = "\"NULL_VALUE\"";
            rc = rc ? rc : buf_append_str(&f->values, "null");
        } else {
            status = "\"PRESENT\"";
            rc = rc ? rc : write_value(&f->values, v);
        }
        rc = rc ? rc : buf_append_str(&f->statuses, status);
        rc = rc ? rc : buf_printf(&f->times, "\"%s\"", rec ? tbuf : "1970-01-01T00:00:00Z");
        if (rc)
            g->rc = rc;
    }
}

static mmsp_err on_get_online(struct http_request *req, struct http_response *res, void *ctx)
{
    struct feast_api *api = ctx;
    struct json_value doc;
    mmsp_err rc = parse_body(req, res, &doc);
    if (rc)
        return rc;
    const struct json_value *feats = json_get(&doc, "features");
    const struct json_value *svc = json_get(&doc, "feature_service");
    const struct json_value *ents = json_get(&doc, "entities");
    const struct json_value *full = json_get(&doc, "full_feature_names");
    int full_names = full && full->type == JSON_TRUE;
    char err[512] = "";
    struct feat_specs *specs = NULL; /* the cached views and services, one reference */
    const char **refs = NULL;
    size_t n_refs = 0;
    const struct feat_view **views = NULL;
    size_t n_views = 0;
    struct req_feat *rf = NULL;
    const char **keys = NULL;
    if (full && full->type != JSON_TRUE && full->type != JSON_FALSE)
        return http_fail(res, MMSP_E_INVALID, "full_feature_names must be a boolean");
    if ((feats != NULL) == (svc != NULL && svc->type != JSON_NULL))
        return http_fail(res, MMSP_E_INVALID,
                         "give either \"features\" (a list of \"view:feature\") or "
                         "\"feature_service\"");
    if (!ents || ents->type != JSON_OBJECT || ents->len == 0)
        return http_fail(res, MMSP_E_INVALID,
                         "\"entities\" must be an object of join key -> list of values");
    size_t n_rows = 0;
    for (uint32_t i = 0; i < ents->len; i++) {
        const struct json_value *col = &ents->u.members[i].value;
        if (col->type != JSON_ARRAY)
            return http_fail(res, MMSP_E_INVALID, "entities.%s must be a list",
                             ents->u.members[i].key);
        if (i && col->len != n_rows)
            return http_fail(res, MMSP_E_INVALID, "every entities list needs the same length");
        n_rows = col->len;
    }
    if (n_rows > MAX_REQ_ROWS)
        return http_fail(res, MMSP_E_TOO_LARGE, "at most %d entity rows", MAX_REQ_ROWS);
    if (feats) {
        if (feats->type != JSON_ARRAY || feats->len == 0 || feats->len > MAX_REQ_FEATS)
            return http_fail(res, MMSP_E_INVALID,
                             "\"features\" must be a non-empty list of \"view:feature\"");
        refs = arena_calloc(req->arena, feats->len, sizeof *refs);
        if (!refs)
            return http_fail(res, MMSP_E_NOMEM, "out of memory");
        for (uint32_t i = 0; i < feats->len; i++) {
            if (feats->u.items[i].type != JSON_STRING)
                return http_fail(res, MMSP_E_INVALID, "features[%u] must be a string", i);
            refs[n_refs++] = feats->u.items[i].u.str;
        }
    } else {
        if (svc->type != JSON_STRING)
            return http_fail(res, MMSP_E_INVALID, "\"feature_service\" must be a string");
        if ((rc = feat_store_specs(api->fs, &specs, err, sizeof err)))
            return http_fail(res, rc, "%s", err);
        const struct feat_service *service = feat_specs_service(specs, svc->u.str);
        if (!service) {
            rc = http_fail(res, MMSP_E_NOT_FOUND, "feature service '%.128s' is not known",
                           svc->u.str);
            goto out;
        }
        refs = arena_calloc(req->arena, service->n_refs ? service->n_refs : 1, sizeof *refs);
        if (!refs) {
            rc = http_fail(res, MMSP_E_NOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < service->n_refs; i++)
            refs[n_refs++] = service->refs[i];
    }
    if (!specs && (rc = feat_store_specs(api->fs, &specs, err, sizeof err))) {
        rc = http_fail(res, rc, "%s", err);
        goto out;
    }
    views = calloc(n_refs, sizeof *views);
    rf = calloc(n_refs, sizeof *rf);
    keys = calloc(n_rows ? n_rows : 1, sizeof *keys);
    if (!views || !rf || !keys) {
        rc = http_fail(res, MMSP_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_refs; i++) {
        buf_init(&rf[i].values, 64u << 20);
        buf_init(&rf[i].statuses, 64u << 20);
        buf_init(&rf[i].times, 64u << 20);
    }
    for (size_t i = 0; i < n_refs; i++) {
        const char *colon = strchr(refs[i], ':');
        if (!colon || colon == refs[i] || !colon[1] || colon - refs[i] >= FEAT_NAME_MAX) {
            rc = http_fail(res, MMSP_E_INVALID, "feature reference '%.200s' must read view:feature",
                           refs[i]);
            goto out;
        }
        char vname[FEAT_NAME_MAX];
        snprintf(vname, sizeof vname, "%.*s", (int)(colon - refs[i]), refs[i]);
        int vi = -1;
        for (size_t k = 0; k < n_views; k++)
            if (strcmp(views[k]->name, vname) == 0)
                vi = (int)k;
        if (vi < 0) {
            if (!(views[n_views] = feat_specs_view(specs, vname))) {
                rc = http_fail(res, MMSP_E_NOT_FOUND, "feature view '%.128s' is not known", vname);
                goto out;
            }
            vi = (int)n_views++;
        }
        int fi = feat_view_feature(views[vi], colon + 1);
        if (fi < 0) {
            rc = http_fail(res, MMSP_E_NOT_FOUND, "feature view '%s' has no feature '%.128s'",
                           vname, colon + 1);
            goto out;
        }
        rf[i].view = vi;
        rf[i].feature = fi;
        snprintf(rf[i].out_name, sizeof rf[i].out_name, "%s%s%s", full_names ? vname : "",
                 full_names ? "__" : "", colon + 1);
        for (size_t k = 0; k < i; k++)
            if (strcmp(rf[k].out_name, rf[i].out_name) == 0) {
                rc = http_fail(res, MMSP_E_INVALID,
                               "feature name '%s' appears twice: use full_feature_names",
                               rf[i].out_name);
                goto out;
            }
    }
    maybe_refresh(api);
    int64_t now = now_ms();
    for (size_t vi = 0; vi < n_views; vi++) {
        const struct feat_view *v = views[vi];
        const struct json_value *cols[FEAT_MAX_ENTITIES];
        for (size_t e = 0; e < v->n_entities; e++) {
            cols[e] = json_get(ents, v->entities[e]);
            if (!cols[e]) {
                rc = http_fail(res, MMSP_E_INVALID, "entities has no join key '%s' (view %s)",
                               v->entities[e], v->name);
                goto out;
            }
        }
        for (size_t r = 0; r < n_rows; r++) {
            char key[1024] = "";
            size_t used = 0;
            for (size_t e = 0; e < v->n_entities; e++) {
                char t[512];
                if (!scalar_text(&cols[e]->u.items[r], t, sizeof t)) {
                    rc = http_fail(res, MMSP_E_INVALID, "entities.%s[%zu] must be a scalar",
                                   v->entities[e], r);
                    goto out;
                }
                used += (size_t)snprintf(key + used, sizeof key - used, "%s%s", e ? "|" : "", t);
                if (used >= sizeof key)
                    used = sizeof key - 1;
            }
            keys[r] = arena_strndup(req->arena, key, strlen(key));
            if (!keys[r]) {
                rc = http_fail(res, MMSP_E_NOMEM, "out of memory");
                goto out;
            }
        }
        struct group_read g = {rf, n_refs, (int)vi, v, now, MMSP_OK};
        rc = api->online->ops->read(api->online, v, keys, n_rows, on_row, &g, err, sizeof err);
        if (!rc && g.rc)
            snprintf(err, sizeof err, "response: %s", mmsp_strerror(rc = g.rc));
        if (rc) {
            rc = http_fail(res, rc, "%s", err);
            goto out;
        }
    }
    /* response: the join keys first (echoed), then the features */
    struct buf *b = &res->body;
    rc = buf_append_str(b, "{\"metadata\":{\"feature_names\":[");
    for (uint32_t i = 0; !rc && i < ents->len; i++) {
        rc = i ? buf_append_char(b, ',') : MMSP_OK;
        rc = rc ? rc : json_write_string(b, ents->u.members[i].key, ents->u.members[i].key_len);
    }
    for (size_t i = 0; !rc && i < n_refs; i++) {
        rc = buf_append_char(b, ',');
        rc = rc ? rc : json_write_string(b, rf[i].out_name, strlen(rf[i].out_name));
    }
    rc = rc ? rc : buf_append_str(b, "]},\"results\":[");
    for (uint32_t i = 0; !rc && i < ents->len; i++) {
        const struct json_value *col = &ents->u.members[i].value;
        rc = buf_append_str(b, i ? ",{\"values\":[" : "{\"values\":[");
        for (size_t r = 0; !rc && r < n_rows; r++) {
            const struct json_value *x = &col->u.items[r];
            rc = r ? buf_append_char(b, ',') : MMSP_OK;
            if (rc)
                break;
            if (x->type == JSON_STRING)
                rc = json_write_string(b, x->u.str, x->len);
            else if (x->type == JSON_NUMBER && x->u.num.is_int)
                rc = json_write_int(b, x->u.num.i);
            else if (x->type == JSON_NUMBER)
                rc = json_write_double(b, x->u.num.d);
            else
                rc = buf_append_str(b, x->type == JSON_TRUE    ? "true"
                                       : x->type == JSON_FALSE ? "false"
                                                               : "null");
        }
        rc = rc ? rc : buf_append_str(b, "],\"statuses\":[");
        for (size_t r = 0; !rc && r < n_rows; r++)
            rc = buf_append_str(b, r ? ",\"PRESENT\"" : "\"PRESENT\"");
        rc = rc ? rc : buf_append_str(b, "],\"event_timestamps\":[");
        for (size_t r = 0; !rc && r < n_rows; r++)
            rc = buf_append_str(b, r ? ",\"1970-01-01T00:00:00Z\"" : "\"1970-01-01T00:00:00Z\"");
        rc = rc ? rc : buf_append_str(b, "]}");
    }
    for (size_t i = 0; !rc && i < n_refs; i++) {
        rc = buf_printf(b, ",{\"values\":[%s],\"statuses\":[%s],\"event_timestamps\":[%s]}",
                        rf[i].values.data ? rf[i].values.data : "",
                        rf[i].statuses.data ? rf[i].statuses.data : "",
                        rf[i].times.data ? rf[i].times.data : "");
    }
    rc = rc ? rc : buf_append_str(b, "]}");
    if (rc)
        rc = http_fail(res, rc, "response: %s", mmsp_strerror(rc));
out:
    for (size_t i = 0; rf && i < n_refs; i++) {
        buf_release(&rf[i].values);
        buf_release(&rf[i].statuses);
        buf_release(&rf[i].times);
    }
    free(rf);
    free(views);
    free(keys);
    feat_specs_release(specs);
    return rc;
}

/* --- writes ------------------------------------------------------------------------------- */

/* The columnar df of a push as a table: join keys (text), the timestamp, the view's features
 * that are present (cast to the view's types); other columns are ignored. */
static mmsp_err df_table(struct http_response *res, const struct feat_view *v,
                         const struct json_value *df, struct feat_table *t)
{
    const char *names[FEAT_MAX_ENTITIES + 1 + FEAT_MAX_FEATURES];
    enum feat_type types[FEAT_MAX_ENTITIES + 1 + FEAT_MAX_FEATURES];
    const struct json_value *cols[FEAT_MAX_ENTITIES + 1 + FEAT_MAX_FEATURES];
    size_t n = 0, rows = 0;
    feat_table_init(t);
    if (!df || df->type != JSON_OBJECT)
        return http_fail(res, MMSP_E_INVALID, "\"df\" must be an object of column -> list");
    for (size_t e = 0; e < v->n_entities; e++) {
        names[n] = v->entities[e];
        types[n] = FEAT_STRING;
        cols[n++] = json_get(df, v->entities[e]);
    }
    names[n] = v->timestamp_field;
    types[n] = FEAT_TIMESTAMP;
    cols[n] = json_get(df, v->timestamp_field);
    if (!cols[n])
        cols[n] = json_get(df, "event_timestamp");
    n++;
    for (size_t f = 0; f < v->n_features; f++) {
        const struct json_value *c = json_get(df, v->features[f].name);
        if (!c)
            continue;
        names[n] = v->features[f].name;
        types[n] = v->features[f].type;
        cols[n++] = c;
    }
    for (size_t c = 0; c < n; c++) {
        if (!cols[c])
            return http_fail(res, MMSP_E_INVALID, "df has no column '%s'", names[c]);
        if (cols[c]->type != JSON_ARRAY)
            return http_fail(res, MMSP_E_INVALID, "df.%s must be a list", names[c]);
        if (c && cols[c]->len != rows)
            return http_fail(res, MMSP_E_INVALID, "every df column needs the same length");
        rows = cols[c]->len;
    }
    if (rows > MAX_REQ_ROWS)
        return http_fail(res, MMSP_E_TOO_LARGE, "at most %d rows", MAX_REQ_ROWS);
    mmsp_err rc = feat_table_set_columns(t, n, names, NULL);
    struct feat_value row[FEAT_MAX_ENTITIES + 1 + FEAT_MAX_FEATURES];
    char text[FEAT_MAX_ENTITIES + 1 + FEAT_MAX_FEATURES][64];
    for (size_t r = 0; !rc && r < rows; r++) {
        for (size_t c = 0; c < n; c++) {
            const struct json_value *x = &cols[c]->u.items[r];
            memset(&row[c], 0, sizeof row[c]);
            row[c].type = FEAT_STRING;
            if (x->type == JSON_NULL) {
                row[c].null = 1;
            } else if (x->type == JSON_STRING) {
                row[c].s = (char *)x->u.str;
            } else if (scalar_text(x, text[c], sizeof text[c])) {
                if (types[c] == FEAT_TIMESTAMP && x->type == JSON_NUMBER) /* Unix seconds */
                    snprintf(text[c], sizeof text[c], "%.17g", x->u.num.d);
                row[c].s = text[c];
            } else {
                feat_table_free(t);
                return http_fail(res, MMSP_E_INVALID, "df.%s[%zu] must be a scalar", names[c], r);
            }
        }
        rc = feat_table_append(t, row);
    }
    char err[256];
    for (size_t c = 0; !rc && c < n; c++)
        if ((rc = feat_table_cast(t, c, types[c], err, sizeof err)) != MMSP_OK) {
            feat_table_free(t);
            return http_fail(res, MMSP_E_INVALID, "df: %s", err);
        }
    if (rc) {
        feat_table_free(t);
        return http_fail(res, rc, "df: %s", mmsp_strerror(rc));
    }
    for (size_t r = 0; r < t->n_rows; r++)
        if (feat_table_cell(t, r, v->n_entities)->null) {
            feat_table_free(t);
            return http_fail(res, MMSP_E_INVALID, "df row %zu has no %s", r, v->timestamp_field);
        }
    return MMSP_OK;
}

static mmsp_err do_push(struct http_request *req, struct http_response *res, struct feast_api *api,
                        const char *view_key, int default_online)
{
    mmsp_err rc = http_require_admin(req, res, api->admin_token);
    if (rc)
        return rc;
    struct json_value doc;
    if ((rc = parse_body(req, res, &doc)))
        return rc;
    const struct json_value *name = json_get(&doc, view_key);
    if (!name && !default_online)
        name = json_get(&doc, "feature_view_name");
    if (!name || name->type != JSON_STRING)
        return http_fail(res, MMSP_E_INVALID, "\"%s\" (a feature view name) is required", view_key);
    int online = 1, offline = 0;
    const struct json_value *to = json_get(&doc, "to");
    if (!default_online && to) {
        if (to->type != JSON_STRING)
            return http_fail(res, MMSP_E_INVALID, "\"to\" must be a string");
        if (strcmp(to->u.str, "online") == 0) {
            online = 1;
        } else if (strcmp(to->u.str, "offline") == 0) {
            online = 0;
            offline = 1;
        } else if (strcmp(to->u.str, "online_and_offline") == 0 || strcmp(to->u.str, "both") == 0) {
            offline = 1;
        } else {
            return http_fail(res, MMSP_E_INVALID,
                             "\"to\" must be online, offline or online_and_offline");
        }
    }
    struct feat_view *v = malloc(sizeof *v);
    char err[512];
    if (!v)
        return http_fail(res, MMSP_E_NOMEM, "out of memory");
    rc = feat_store_get_view(api->fs, name->u.str, v, err, sizeof err);
    if (rc) {
        rc = http_fail(res, rc, "%s", err);
        goto out;
    }
    struct feat_table t;
    rc = df_table(res, v, json_get(&doc, "df"), &t);
    if (rc)
        goto out;
    if (offline && (rc = feat_store_push_offline(api->fs, v, &t, err, sizeof err)))
        rc = http_fail(res, rc, "%s", err);
    if (!rc && online && (rc = feat_online_write_table(api->online, v, &t, NULL, err, sizeof err)))
        rc = http_fail(res, rc, "%s", err);
    feat_table_free(&t);
    if (!rc)
        rc = buf_append_str(&res->body, "null");
out:
    free(v);
    return rc;
}

static mmsp_err on_push(struct http_request *req, struct http_response *res, void *ctx)
{
    return do_push(req, res, ctx, "push_source_name", 0);
}

static mmsp_err on_write_online(struct http_request *req, struct http_response *res, void *ctx)
{
    return do_push(req, res, ctx, "feature_view_name", 1);
}

static mmsp_err on_materialize(struct http_request *req, struct http_response *res, void *ctx)
{
    struct feast_api *api = ctx;
    mmsp_err rc = http_require_admin(req, res, api->admin_token);
    if (rc)
        return rc;
    struct json_value doc;
    if ((rc = parse_body(req, res, &doc)))
        return rc;
    int64_t start = INT64_MIN, end = INT64_MAX;
    const struct json_value *s = json_get(&doc, "start_ts"), *e = json_get(&doc, "end_ts");
    if (s && s->type != JSON_NULL &&
        (s->type != JSON_STRING || !feat_parse_time_ms(s->u.str, &start)))
        return http_fail(res, MMSP_E_INVALID, "start_ts must be an ISO 8601 time");
    if (e && e->type != JSON_NULL &&
        (e->type != JSON_STRING || !feat_parse_time_ms(e->u.str, &end)))
        return http_fail(res, MMSP_E_INVALID, "end_ts must be an ISO 8601 time");
    const struct json_value *fv = json_get(&doc, "feature_views");
    const char *names[256];
    size_t n = 0;
    if (fv && fv->type != JSON_NULL) {
        if (fv->type != JSON_ARRAY || fv->len > 256)
            return http_fail(res, MMSP_E_INVALID, "feature_views must be a list of names");
        for (uint32_t i = 0; i < fv->len; i++) {
            if (fv->u.items[i].type != JSON_STRING)
                return http_fail(res, MMSP_E_INVALID, "feature_views[%u] must be a string", i);
            names[n++] = fv->u.items[i].u.str;
        }
    }
    char err[512];
    size_t written = 0;
    rc = feat_materialize(api->fs, api->online, names, n, start, end, &written, err, sizeof err);
    if (rc)
        return http_fail(res, rc, "%s", err);
    return buf_append_str(&res->body, "null");
}

static mmsp_err on_health(struct http_request *req, struct http_response *res, void *ctx)
{
    (void)req;
    (void)ctx;
    return buf_append_str(&res->body, "{\"status\":\"ok\"}");
}

mmsp_err feast_api_register(struct feast_api *api, struct http_router *router)
{
    mmsp_err rc = http_router_add(router, "POST", "/get-online-features", on_get_online, api);
    rc = rc ? rc : http_router_add(router, "POST", "/push", on_push, api);
    rc = rc ? rc : http_router_add(router, "POST", "/write-to-online-store", on_write_online, api);
    rc = rc ? rc : http_router_add(router, "POST", "/materialize", on_materialize, api);
    rc = rc ? rc : http_router_add(router, "GET", "/health", on_health, api);
    return rc;
}
