/*
 * Entry point of the registry role's HTTP APIs (api.h; docs/api.md): copies the options,
 * registers the native /api/v1 routes (api_native.c) and the MLflow-compatible
 * /api/2.0/mlflow routes (api_mlflow.c), and holds the helpers both share: the JSON request
 * body (jansson, bounded by the server's body limit), the JSON response, version numbers.
 * Calls: registry (through the handlers), http, jansson, common/buf.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/api_internal.h"

static char *dup_or_null(const char *s)
{
    return (s && *s) ? strdup(s) : NULL;
}

mmsp_err registry_api_register(struct http_router *router, const struct registry_api_options *o,
                               struct registry_api **out)
{
    mmsp_err rc = MMSP_OK;
    struct registry_api *api = calloc(1, sizeof *api);
    if (!api)
        return MMSP_E_NOMEM;
    if (!o || !o->registry) {
        rc = MMSP_E_INVALID;
        goto out;
    }
    api->reg = o->registry;
    api->on_change = o->on_change;
    api->change_ctx = o->change_ctx;
    if ((o->admin_token && *o->admin_token && !(api->admin_token = dup_or_null(o->admin_token))) ||
        (o->policy_path && *o->policy_path && !(api->policy_path = dup_or_null(o->policy_path)))) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    if ((rc = registry_api_native_register(router, api)))
        goto out;
    rc = registry_api_mlflow_register(router, api);
out:
    if (rc) {
        registry_api_free(api);
        return rc;
    }
    *out = api;
    return MMSP_OK;
}

void registry_api_free(struct registry_api *api)
{
    if (!api)
        return;
    free(api->admin_token);
    free(api->policy_path);
    free(api);
}

void registry_api_changed(struct registry_api *api)
{
    if (api->on_change)
        api->on_change(api->change_ctx);
}

static int all_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

mmsp_err registry_api_body(const struct http_request *req, json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!req->body || all_space(req->body, req->body_len)) {
        *out = json_object();
        return *out ? MMSP_OK : MMSP_E_NOMEM;
    }
    json_error_t je;
    json_t *j = json_loadb(req->body, req->body_len, 0, &je);
    if (!j) {
        snprintf(err, errlen, "the request body is not valid JSON: %s at line %d column %d",
                 je.text, je.line, je.column);
        return MMSP_E_INVALID;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(err, errlen, "the request body must be a JSON object");
        return MMSP_E_INVALID;
    }
    *out = j;
    return MMSP_OK;
}

static int append_cb(const char *data, size_t size, void *ctx)
{
    return buf_append(ctx, data, size) ? -1 : 0;
}

mmsp_err registry_api_send(struct http_response *res, int status, json_t *j)
{
    if (!j)
        return MMSP_E_NOMEM;
    buf_reset(&res->body);
    /* 15 significant digits: 0.94 prints as 0.94, not 0.93999999999999995 */
    int bad = json_dump_callback(j, append_cb, &res->body, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(j);
    if (bad) {
        buf_reset(&res->body);
        return MMSP_E_TOO_LARGE;
    }
    res->status = status;
    res->content_type = "application/json";
    return MMSP_OK;
}

int registry_api_parse_version(const char *s, int64_t *out)
{
    if (!s || !*s || strlen(s) > 19)
        return -1;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v < 1)
        return -1;
    *out = v;
    return 0;
}

/* The store's page size ceiling (registry_model_search: 1..1000). */
#define STORE_PAGE_MAX 1000

/*
 * Store-side narrowing for a model filter: an exact name (name = 'x'), else a LIKE pattern
 * (the store's LIKE is case-sensitive, as registry_api_like; patterns with a backslash stay
 * here, since PostgreSQL refuses one that ends in its escape character). Rows are matched
 * against the whole filter here anyway, so this only saves reading them.
 */
static void model_pushdown(const struct api_filter *f, const char **like, int *exact)
{
    *like = NULL;
    *exact = 0;
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        if (f->c[i].field == API_FIELD_NAME && f->c[i].op == API_OP_EQ) {
            *like = f->c[i].value;
            *exact = 1;
            return;
        }
    for (size_t i = 0; i < f->n; i++)
        if (f->c[i].field == API_FIELD_NAME && f->c[i].op == API_OP_LIKE &&
            !strchr(f->c[i].value, '\\')) {
            *like = f->c[i].value;
            return;
        }
}

/* The end of both searches: on success the caller takes tok as *next_token; on an error tok
 * is dropped (and out of memory gets its message). */
static mmsp_err search_end(mmsp_err rc, char *tok, char **next_token, char *err, size_t errlen)
{
    if (rc) {
        free(tok);
        if (rc == MMSP_E_NOMEM)
            snprintf(err, errlen, "out of memory");
        return rc;
    }
    *next_token = tok;
    return MMSP_OK;
}

/*
 * Both searches ask the store for exactly as many rows as are still wanted, so the store's
 * next-page token always points just past the last row examined here: rows the filter
 * rejected are never seen again and rows it kept are never skipped.
 */
mmsp_err registry_api_search_models(struct registry_api *api, const struct api_filter *f,
                                    size_t max_results, const char *page_token, int mlflow,
                                    json_t *arr, char **next_token, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    const char *like;
    int exact;
    model_pushdown(f, &like, &exact);
    char *tok = NULL;
    const char *cur = (page_token && *page_token) ? page_token : NULL;
    size_t need = max_results;
    *next_token = NULL;
    while (need > 0) {
        struct reg_model *ms = NULL;
        size_t n = 0;
        char *next = NULL;
        rc = registry_model_search(api->reg, like, exact,
                                   need > STORE_PAGE_MAX ? STORE_PAGE_MAX : need, cur, &ms, &n,
                                   &next, err, errlen);
        if (rc)
            goto out;
        for (size_t i = 0; i < n && !rc; i++) {
            if (f && !registry_api_filter_model(f, &ms[i]))
                continue;
            json_t *j = mlflow ? reg_model_mlflow_json(api->reg, &ms[i]) : reg_model_json(&ms[i]);
            if (!j || json_array_append_new(arr, j))
                rc = MMSP_E_NOMEM;
            need--;
        }
        reg_model_list_free(ms, n);
        free(tok);
        tok = next;
        cur = tok;
        if (rc || !tok || n == 0)
            break;
    }
out:
    return search_end(rc, tok, next_token, err, errlen);
}

mmsp_err registry_api_search_versions(struct registry_api *api, const char *name,
                                      const struct api_filter *f, size_t max_results,
                                      const char *page_token, int mlflow, json_t *arr,
                                      char **next_token, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    if (!name && f)
        for (size_t i = 0; i < f->n && !name; i++)
            if (f->c[i].field == API_FIELD_NAME && f->c[i].op == API_OP_EQ)
                name = f->c[i].value;
    char *tok = NULL;
    const char *cur = (page_token && *page_token) ? page_token : NULL;
    size_t need = max_results;
    *next_token = NULL;
    while (need > 0) {
        struct reg_version *vs = NULL;
        size_t n = 0;
        char *next = NULL;
        rc = registry_version_search(api->reg, name, need > STORE_PAGE_MAX ? STORE_PAGE_MAX : need,
                                     cur, &vs, &n, &next, err, errlen);
        if (rc)
            goto out;
        for (size_t i = 0; i < n && !rc; i++) {
            if (f && !registry_api_filter_version(f, &vs[i]))
                continue;
            json_t *j = mlflow ? reg_version_mlflow_json(&vs[i]) : reg_version_json(&vs[i]);
            if (!j || json_array_append_new(arr, j))
                rc = MMSP_E_NOMEM;
            need--;
        }
        reg_version_list_free(vs, n);
        free(tok);
        tok = next;
        cur = tok;
        if (rc || !tok || n == 0)
            break;
    }
out:
    return search_end(rc, tok, next_token, err, errlen);
}
