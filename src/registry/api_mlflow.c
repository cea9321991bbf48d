/*
 * The MLflow-compatible model registry REST API 2.0 (protocols.md section 4; docs/api.md),
 * under /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/: registered-models create, get, rename,
 * update, delete, search, get-latest-versions, set-tag, delete-tag, alias set/delete/get;
 * model-versions create, get, update, delete, search, transition-stage, get-download-uri,
 * set-tag, delete-tag. As MLflow's server: GET parameters come from the query string, the
 * others from a JSON body (ints accepted where MLflow has strings and the reverse); errors
 * are {"error_code": "...", "message": "..."} with MLflow's statuses, written here (handlers
 * return MMSP_OK with their own body, since http_fail writes {"error"}). There is no artifact
 * server: model-versions/create takes a local path or file:// URI of a model file and
 * registers it without the policy gate (gate_status "not_evaluated").
 * Calls: registry, http, jansson, registry/api.c helpers, registry/api_filter.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/api_internal.h"

#define MODELS_DEFAULT_MAX   100
#define MODELS_MAX           1000
#define VERSIONS_DEFAULT_MAX 200000 /* MLflow's SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT */
#define VERSIONS_MAX         200000
#define MAX_STAGES           8

/* One MLflow request: the API, the request, and its JSON body (NULL for GET). */
struct mlf {
    struct registry_api *api;
    struct http_request *req;
    struct http_response *res;
    json_t *body;
    mmsp_err rc;       /* what the handler returns: MMSP_OK unless even the error body failed */
    int failed;        /* an error body was written */
    const char *name;  /* the "name" parameter, once mlf_begin_model has read it */
    const char *vtext; /* the "version" parameter as given (mlf_begin_version) */
    int64_t version;   /* ... and as a number */
    char err[MMSP_ERRMSG_MAX]; /* the message of the store call being answered */
};

static void mlf_error(struct mlf *m, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes {"error_code": code, "message": ...} with status. */
static void mlf_error(struct mlf *m, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    m->failed = 1;
    json_t *o = json_pack("{s:s,s:s}", "error_code", code, "message", msg);
    if (registry_api_send(m->res, status, o)) {
        /* not even an error body: let the wrapper answer {"error"} */
        m->rc = http_fail(m->res, MMSP_E_NOMEM, "out of memory");
    }
}

/* The MLflow error for a store (or auth) error. `not_found` replaces the store's message
 * for MMSP_E_NOT_FOUND, `exists` for MMSP_E_EXISTS (NULL = keep the store's). */
static void mlf_fail(struct mlf *m, mmsp_err rc, const char *msg, const char *not_found,
                     const char *exists)
{
    if (!msg || !*msg)
        msg = mmsp_strerror(rc);
    switch (rc) {
    case MMSP_E_NOT_FOUND:
        mlf_error(m, 404, "RESOURCE_DOES_NOT_EXIST", "%s", not_found ? not_found : msg);
        return;
    case MMSP_E_EXISTS:
        mlf_error(m, 400, "RESOURCE_ALREADY_EXISTS", "%s", exists ? exists : msg);
        return;
    case MMSP_E_UNAUTHORIZED:
        mlf_error(m, 401, "UNAUTHENTICATED", "%s", msg);
        return;
    case MMSP_E_FORBIDDEN:
        mlf_error(m, 403, "PERMISSION_DENIED", "%s", msg);
        return;
    case MMSP_E_CONFLICT:
        mlf_error(m, 409, "RESOURCE_CONFLICT", "%s", msg);
        return;
    case MMSP_E_INVALID:
    case MMSP_E_PARSE:
    case MMSP_E_BAD_MODEL:
    case MMSP_E_UNSUPPORTED:
    case MMSP_E_POLICY:
    case MMSP_E_SHAPE:
    case MMSP_E_DTYPE:
    case MMSP_E_TOO_LARGE:
        mlf_error(m, 400, "INVALID_PARAMETER_VALUE", "%s", msg);
        return;
    default:
        mlf_error(m, 500, "INTERNAL_ERROR", "%s", msg);
        return;
    }
}

static int is_get(const struct http_request *req)
{
    return strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
}

/* Starts a handler: the admin check for writes, then the JSON body for non-GET requests.
 * Returns 0, or -1 after writing the error. */
static int mlf_begin(struct mlf *m, struct http_request *req, struct http_response *res, void *ctx,
                     int write)
{
    memset(m, 0, sizeof *m);
    m->api = ctx;
    m->req = req;
    m->res = res;
    if (write) {
        mmsp_err rc = http_require_admin(req, res, m->api->admin_token);
        if (rc) {
            mlf_fail(m, rc, res->err, NULL, NULL);
            return -1;
        }
    }
    if (!is_get(req)) {
        char err[MMSP_ERRMSG_MAX];
        mmsp_err rc = registry_api_body(req, &m->body, err, sizeof err);
        if (rc) {
            mlf_fail(m, rc, err, NULL, NULL);
            return -1;
        }
    }
    return 0;
}

static mmsp_err mlf_end(struct mlf *m)
{
    json_decref(m->body);
    m->body = NULL;
    return m->rc;
}

/* Sends {key: val} (val stolen; key NULL = send val itself). */
static void mlf_send(struct mlf *m, const char *key, json_t *val)
{
    json_t *o = val;
    if (key) {
        o = json_object();
        if (!o || !val || json_object_set_new(o, key, val)) {
            json_decref(o);
            o = NULL;
        }
    }
    mmsp_err rc = registry_api_send(m->res, 200, o);
    if (rc)
        mlf_fail(m, rc, rc == MMSP_E_NOMEM ? "out of memory" : "response too large", NULL, NULL);
}

static void mlf_send_empty(struct mlf *m)
{
    mlf_send(m, NULL, json_object());
}

/*
 * Parameter `key`: from the JSON body (strings as they are; integers, reals and booleans as
 * text, as MLflow's proto parsing accepts them), else from the query string (GET, or a
 * client that sent it there). Returns 1 present, 0 absent (JSON null is absent), -1 after
 * writing an error (an object or array where a scalar belongs).
 */
static int mlf_param(struct mlf *m, const char *key, const char **out)
{
    *out = NULL;
    json_t *v = m->body ? json_object_get(m->body, key) : NULL;
    if (v && !json_is_null(v)) {
        char tmp[64];
        if (json_is_string(v)) {
            *out = json_string_value(v);
            return 1;
        }
        if (json_is_boolean(v)) {
            *out = json_is_true(v) ? "true" : "false";
            return 1;
        }
        if (json_is_integer(v))
            snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
            snprintf(tmp, sizeof tmp, "%.17g", json_real_value(v));
        else {
            mlf_error(m, 400, "INVALID_PARAMETER_VALUE",
                      "Invalid value for parameter '%s' supplied: expected a %s, got a JSON %s",
                      key, "string", json_is_array(v) ? "array" : "object");
            return -1;
        }
        if (!(*out = arena_strndup(m->req->arena, tmp, strlen(tmp)))) {
            mlf_fail(m, MMSP_E_NOMEM, "out of memory", NULL, NULL);
            return -1;
        }
        return 1;
    }
    const char *q = http_request_query(m->req, key);
    if (q) {
        *out = q;
        return 1;
    }
    return 0;
}

static void missing(struct mlf *m, const char *key)
{
    mlf_error(m, 400, "INVALID_PARAMETER_VALUE",
              "Missing value for required parameter '%s'. See the API docs for more information "
              "about request parameters.",
              key);
}

/* A required parameter; an empty string counts as missing (MLflow's _assert_required).
 * Returns 0, or -1 after writing the error. */
static int mlf_required(struct mlf *m, const char *key, const char **out)
{
    int r = mlf_param(m, key, out);
    if (r < 0)
        return -1;
    if (r == 0 || !**out) {
        missing(m, key);
        return -1;
    }
    return 0;
}

/* A required parameter that may be "" (tag values). */
static int mlf_present(struct mlf *m, const char *key, const char **out)
{
    int r = mlf_param(m, key, out);
    if (r < 0)
        return -1;
    if (r == 0) {
        missing(m, key);
        return -1;
    }
    return 0;
}

/* Optional: *out NULL when absent. Returns 0 or -1. */
static int mlf_optional(struct mlf *m, const char *key, const char **out)
{
    return mlf_param(m, key, out) < 0 ? -1 : 0;
}

/* Required version: a string ("3") or an integer (3). */
static int mlf_version(struct mlf *m, const char **text, int64_t *out)
{
    if (mlf_required(m, "version", text))
        return -1;
    if (registry_api_parse_version(*text, out)) {
        mlf_error(m, 400, "INVALID_PARAMETER_VALUE",
                  "Parameter 'version' must be an integer, got '%.100s'", *text);
        return -1;
    }
    return 0;
}

/* Required boolean: true/false (JSON or text, any case). */
static int mlf_bool(struct mlf *m, const char *key, int *out)
{
    const char *s;
    if (mlf_required(m, key, &s))
        return -1;
    if (strcasecmp(s, "true") == 0) {
        *out = 1;
    } else if (strcasecmp(s, "false") == 0) {
        *out = 0;
    } else {
        mlf_error(m, 400, "INVALID_PARAMETER_VALUE",
                  "Invalid value '%.100s' for parameter '%s': expected true or false", s, key);
        return -1;
    }
    return 0;
}

/* MLflow's messages for missing objects. */
static const char *rm_not_found(struct mlf *m, const char *name)
{
    char tmp[REG_NAME_MAX + 64];
    snprintf(tmp, sizeof tmp, "Registered Model with name=%s not found", name);
    return arena_strndup(m->req->arena, tmp, strlen(tmp));
}

static const char *mv_not_found(struct mlf *m, const char *name, const char *version)
{
    char tmp[REG_NAME_MAX + 128];
    snprintf(tmp, sizeof tmp, "Model Version (name=%s, version=%.40s) not found", name, version);
    return arena_strndup(m->req->arena, tmp, strlen(tmp));
}

/* mlf_begin, then the required "name" into m->name. Returns 0, or -1 after writing the
 * error. */
static int mlf_begin_model(struct mlf *m, struct http_request *req, struct http_response *res,
                           void *ctx, int write)
{
    if (mlf_begin(m, req, res, ctx, write) || mlf_required(m, "name", &m->name))
        return -1;
    return 0;
}

/* mlf_begin_model, then the required "version" into m->vtext and m->version. */
static int mlf_begin_version(struct mlf *m, struct http_request *req, struct http_response *res,
                             void *ctx, int write)
{
    if (mlf_begin_model(m, req, res, ctx, write) || mlf_version(m, &m->vtext, &m->version))
        return -1;
    return 0;
}

/* Whose words a failed call's NOT_FOUND takes: the store's, or MLflow's message for the
 * request's registered model (m->name) or model version (m->name, m->vtext). */
enum mlf_subject { SUBJECT_STORE, SUBJECT_MODEL, SUBJECT_VERSION };

/* Answers the result of a store call: when rc is an error, writes it (message m->err, a
 * NOT_FOUND worded for `subject`) and returns 1; returns 0 for MMSP_OK. */
static int mlf_failed(struct mlf *m, mmsp_err rc, enum mlf_subject subject)
{
    if (!rc)
        return 0;
    const char *not_found = subject == SUBJECT_MODEL     ? rm_not_found(m, m->name)
                            : subject == SUBJECT_VERSION ? mv_not_found(m, m->name, m->vtext)
                                                         : NULL;
    mlf_fail(m, rc, m->err, not_found, NULL);
    return 1;
}

/* Stage names as MLflow accepts them (any case) into the canonical form. */
static int mlf_stage(struct mlf *m, const char *s, enum reg_stage *out)
{
    int st = reg_stage_parse(s);
    if (st < 0) {
        mlf_error(m, 400, "INVALID_PARAMETER_VALUE",
                  "Invalid Model Version stage: %.100s. Value must be one of None, Staging, "
                  "Production, Archived.",
                  s);
        return -1;
    }
    *out = (enum reg_stage)st;
    return 0;
}

/* Tags of a create request: [{"key": k, "value": v}, ...] into a reg_kv array (borrowed
 * strings; the array is malloc'd). */
static int mlf_tags(struct mlf *m, struct reg_kv **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    json_t *t = m->body ? json_object_get(m->body, "tags") : NULL;
    if (!t || json_is_null(t))
        return 0;
    if (!json_is_array(t)) {
        mlf_error(m, 400, "INVALID_PARAMETER_VALUE",
                  "Invalid value for parameter 'tags': expected a list of {\"key\", \"value\"}");
        return -1;
    }
    size_t k = json_array_size(t);
    if (!k)
        return 0;
    struct reg_kv *kv = calloc(k, sizeof *kv);
    if (!kv) {
        mlf_fail(m, MMSP_E_NOMEM, "out of memory", NULL, NULL);
        return -1;
    }
    for (size_t i = 0; i < k; i++) {
        json_t *e = json_array_get(t, i);
        json_t *key = json_object_get(e, "key"), *val = json_object_get(e, "value");
        if (!json_is_string(key) || !*json_string_value(key) ||
            (val && !json_is_string(val) && !json_is_null(val))) {
            free(kv);
            mlf_error(m, 400, "INVALID_PARAMETER_VALUE",
                      "Invalid value for parameter 'tags': entry %zu needs a string \"key\" and "
                      "\"value\"",
                      i);
            return -1;
        }
        kv[i].key = (char *)json_string_value(key);
        kv[i].value = (char *)(json_is_string(val) ? json_string_value(val) : "");
    }
    *out = kv;
    *n = k;
    return 0;
}

/* max_results in [1, max] (default def); order_by: only the order the store returns. */
static int mlf_paging(struct mlf *m, size_t def, size_t max, size_t *out, const char **token,
                      const char *order_ok)
{
    const char *s;
    *out = def;
    if (mlf_optional(m, "max_results", &s) || mlf_optional(m, "page_token", token))
        return -1;
    if (s) {
        int64_t v;
        if (strcmp(s, "0") == 0 || registry_api_parse_version(s, &v) || (uint64_t)v > max) {
            mlf_error(m, 400, "INVALID_PARAMETER_VALUE",
                      "Invalid value for request parameter max_results. It must be at most %zu "
                      "and at least 1, but got value %.40s",
                      max, s);
            return -1;
        }
        *out = (size_t)v;
    }
    const char *orders[8];
    size_t n = http_request_query_all(m->req, "order_by", orders, 8);
    json_t *ob = m->body ? json_object_get(m->body, "order_by") : NULL;
    if (json_is_array(ob)) {
        n = 0;
        for (size_t i = 0; i < json_array_size(ob) && n < 8; i++)
            orders[n++] = json_is_string(json_array_get(ob, i))
                              ? json_string_value(json_array_get(ob, i))
                              : "?";
    }
    for (size_t i = 0; i < n && i < 8; i++) {
        const char *o = orders[i];
        size_t l = strlen(order_ok);
        while (*o == ' ')
            o++;
        int ok = !*o;
        if (!ok && strncasecmp(o, order_ok, l) == 0) {
            const char *r = o + l;
            while (*r == ' ')
                r++;
            ok = !*r || strcasecmp(r, "asc") == 0;
        }
        if (!ok) {
            mlf_error(m, 400, "INVALID_PARAMETER_VALUE",
                      "order_by '%.100s' is not supported: results are ordered by %s ASC", o,
                      order_ok);
            return -1;
        }
    }
    return 0;
}

/* --- registered models ------------------------------------------------------------------- */

static void send_model(struct mlf *m, const struct reg_model *rm)
{
    mlf_send(m, "registered_model", reg_model_mlflow_json(m->api->reg, rm));
}

static mmsp_err on_rm_create(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    const char *desc;
    struct reg_kv *tags = NULL;
    size_t n_tags = 0;
    struct reg_model rm = {0};
    if (mlf_begin_model(&m, req, res, ctx, 1) || mlf_optional(&m, "description", &desc) ||
        mlf_tags(&m, &tags, &n_tags))
        goto out;
    mmsp_err rc =
        registry_model_create(m.api->reg, m.name, desc, tags, n_tags, &rm, m.err, sizeof m.err);
    if (rc) {
        char ex[REG_NAME_MAX + 64];
        snprintf(ex, sizeof ex, "Registered Model (name=%s) already exists.", m.name);
        mlf_fail(&m, rc, m.err, NULL, ex);
        goto out;
    }
    send_model(&m, &rm);
out:
    reg_model_free(&rm);
    free(tags);
    return mlf_end(&m);
}

static mmsp_err on_rm_get(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    struct reg_model rm = {0};
    if (mlf_begin_model(&m, req, res, ctx, 0))
        goto out;
    mmsp_err rc = registry_model_get(m.api->reg, m.name, &rm, m.err, sizeof m.err);
    if (!mlf_failed(&m, rc, SUBJECT_MODEL))
        send_model(&m, &rm);
out:
    reg_model_free(&rm);
    return mlf_end(&m);
}

static mmsp_err on_rm_rename(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    const char *new_name;
    struct reg_model rm = {0};
    if (mlf_begin_model(&m, req, res, ctx, 1) || mlf_required(&m, "new_name", &new_name))
        goto out;
    mmsp_err rc = registry_model_rename(m.api->reg, m.name, new_name, &rm, m.err, sizeof m.err);
    if (rc) {
        char ex[REG_NAME_MAX + 64];
        snprintf(ex, sizeof ex, "Registered Model (name=%s) already exists.", new_name);
        mlf_fail(&m, rc, m.err, rm_not_found(&m, m.name), ex);
        goto out;
    }
    send_model(&m, &rm);
out:
    reg_model_free(&rm);
    return mlf_end(&m);
}

static mmsp_err on_rm_update(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    const char *desc;
    struct reg_model rm = {0};
    if (mlf_begin_model(&m, req, res, ctx, 1) || mlf_optional(&m, "description", &desc))
        goto out;
    mmsp_err rc = desc ? registry_model_update(m.api->reg, m.name, desc, &rm, m.err, sizeof m.err)
                       : registry_model_get(m.api->reg, m.name, &rm, m.err, sizeof m.err);
    if (!mlf_failed(&m, rc, SUBJECT_MODEL))
        send_model(&m, &rm);
out:
    reg_model_free(&rm);
    return mlf_end(&m);
}

static mmsp_err on_rm_delete(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    if (mlf_begin_model(&m, req, res, ctx, 1))
        goto out;
    mmsp_err rc = registry_model_delete(m.api->reg, m.name, m.err, sizeof m.err);
    if (!mlf_failed(&m, rc, SUBJECT_MODEL))
        mlf_send_empty(&m);
out:
    return mlf_end(&m);
}

/* Parses the filter (NULL when empty); returns -1 after writing the error. */
static int mlf_filter(struct mlf *m, int versions, struct api_filter **out)
{
    const char *text;
    char err[MMSP_ERRMSG_MAX] = "";
    *out = NULL;
    if (mlf_optional(m, "filter", &text))
        return -1;
    if (!text || !*text)
        return 0;
    struct api_filter *f = malloc(sizeof *f);
    if (!f) {
        mlf_fail(m, MMSP_E_NOMEM, "out of memory", NULL, NULL);
        return -1;
    }
    mmsp_err rc = registry_api_filter_parse(text, strlen(text), versions, f, err, sizeof err);
    if (rc) {
        free(f);
        mlf_fail(m, rc, err, NULL, NULL);
        return -1;
    }
    *out = f;
    return 0;
}

static void send_page(struct mlf *m, const char *key, json_t *arr, char *next)
{
    json_t *o = json_object();
    if (!o || json_object_set_new(o, key, arr) ||
        (next && json_object_set_new(o, "next_page_token", json_string(next)))) {
        json_decref(o);
        o = NULL;
    }
    free(next);
    mlf_send(m, NULL, o);
}

/* registered-models/search (versions 0) and model-versions/search (1): paging, the filter,
 * one page of results. */
static mmsp_err mlf_search(struct http_request *req, struct http_response *res, void *ctx,
                           int versions)
{
    struct mlf m;
    size_t max;
    const char *token = NULL;
    struct api_filter *f = NULL;
    char *next = NULL;
    if (mlf_begin(&m, req, res, ctx, 0) ||
        mlf_paging(&m, versions ? VERSIONS_DEFAULT_MAX : MODELS_DEFAULT_MAX,
                   versions ? VERSIONS_MAX : MODELS_MAX, &max, &token, "name") ||
        mlf_filter(&m, versions, &f))
        goto out;
    json_t *arr = json_array();
    mmsp_err rc = !arr       ? MMSP_E_NOMEM
                  : versions ? registry_api_search_versions(m.api, NULL, f, max, token, 1, arr,
                                                            &next, m.err, sizeof m.err)
                             : registry_api_search_models(m.api, f, max, token, 1, arr, &next,
                                                          m.err, sizeof m.err);
    if (mlf_failed(&m, rc, SUBJECT_STORE)) {
        json_decref(arr);
        goto out;
    }
    send_page(&m, versions ? "model_versions" : "registered_models", arr, next);
out:
    free(f);
    return mlf_end(&m);
}

static mmsp_err on_rm_search(struct http_request *req, struct http_response *res, void *ctx)
{
    return mlf_search(req, res, ctx, 0);
}

static mmsp_err on_rm_latest(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    const char *stages[MAX_STAGES];
    size_t n = 0;
    struct reg_version *vs = NULL;
    size_t nv = 0;
    if (mlf_begin_model(&m, req, res, ctx, 0))
        goto out;
    json_t *js = m.body ? json_object_get(m.body, "stages") : NULL;
    const char *raw[MAX_STAGES];
    size_t nraw = 0;
    if (js && !json_is_null(js)) {
        if (!json_is_array(js) || json_array_size(js) > MAX_STAGES) {
            mlf_error(&m, 400, "INVALID_PARAMETER_VALUE",
                      "Invalid value for parameter 'stages': expected a list of stage names");
            goto out;
        }
        for (size_t i = 0; i < json_array_size(js); i++) {
            json_t *s = json_array_get(js, i);
            if (!json_is_string(s)) {
                mlf_error(&m, 400, "INVALID_PARAMETER_VALUE",
                          "Invalid value for parameter 'stages': expected a list of stage names");
                goto out;
            }
            raw[nraw++] = json_string_value(s);
        }
    } else {
        nraw = http_request_query_all(req, "stages", raw, MAX_STAGES);
        if (nraw > MAX_STAGES) {
            mlf_error(&m, 400, "INVALID_PARAMETER_VALUE", "too many 'stages' (at most %d)",
                      MAX_STAGES);
            goto out;
        }
    }
    for (size_t i = 0; i < nraw; i++) {
        enum reg_stage st;
        if (mlf_stage(&m, raw[i], &st))
            goto out;
        stages[n++] = reg_stage_name(st);
    }
    mmsp_err rc =
        registry_latest_versions(m.api->reg, m.name, stages, n, &vs, &nv, m.err, sizeof m.err);
    if (mlf_failed(&m, rc, SUBJECT_MODEL))
        goto out;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < nv; i++)
        if (json_array_append_new(arr, reg_version_mlflow_json(&vs[i]))) {
            json_decref(arr);
            arr = NULL;
        }
    mlf_send(&m, "model_versions", arr);
out:
    reg_version_list_free(vs, nv);
    return mlf_end(&m);
}

static mmsp_err on_rm_set_tag(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    const char *key, *value;
    if (mlf_begin_model(&m, req, res, ctx, 1) || mlf_required(&m, "key", &key) ||
        mlf_present(&m, "value", &value))
        goto out;
    mmsp_err rc = registry_model_set_tag(m.api->reg, m.name, key, value, m.err, sizeof m.err);
    if (!mlf_failed(&m, rc, SUBJECT_MODEL))
        mlf_send_empty(&m);
out:
    return mlf_end(&m);
}

static mmsp_err on_rm_delete_tag(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    const char *key;
    if (mlf_begin_model(&m, req, res, ctx, 1) || mlf_required(&m, "key", &key))
        goto out;
    mmsp_err rc = registry_model_delete_tag(m.api->reg, m.name, key, m.err, sizeof m.err);
    if (!mlf_failed(&m, rc, SUBJECT_STORE))
        mlf_send_empty(&m);
out:
    return mlf_end(&m);
}

/* A failed alias call: for a NOT_FOUND, the model's message when the model is missing, else
 * the alias's (MLflow: "Registered model alias x not found."). */
static void alias_fail(struct mlf *m, mmsp_err rc, const char *alias)
{
    if (rc == MMSP_E_NOT_FOUND) {
        struct reg_model rm = {0};
        char e2[MMSP_ERRMSG_MAX];
        if (registry_model_get(m->api->reg, m->name, &rm, e2, sizeof e2) == MMSP_E_NOT_FOUND) {
            mlf_failed(m, rc, SUBJECT_MODEL);
            return;
        }
        reg_model_free(&rm);
        mlf_error(m, 404, "RESOURCE_DOES_NOT_EXIST", "Registered model alias %.256s not found.",
                  alias);
        return;
    }
    mlf_failed(m, rc, SUBJECT_STORE);
}

static mmsp_err on_alias_set(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    const char *alias;
    if (mlf_begin_model(&m, req, res, ctx, 1) || mlf_required(&m, "alias", &alias) ||
        mlf_version(&m, &m.vtext, &m.version))
        goto out;
    mmsp_err rc = registry_alias_set(m.api->reg, m.name, alias, m.version, m.err, sizeof m.err);
    if (rc) {
        struct reg_model rm = {0};
        char e2[MMSP_ERRMSG_MAX];
        int model_missing = rc == MMSP_E_NOT_FOUND &&
                            registry_model_get(m.api->reg, m.name, &rm, e2, sizeof e2) != MMSP_OK;
        reg_model_free(&rm);
        mlf_failed(&m, rc, model_missing ? SUBJECT_MODEL : SUBJECT_VERSION);
        goto out;
    }
    mlf_send_empty(&m);
out:
    return mlf_end(&m);
}

static mmsp_err on_alias_delete(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    const char *alias;
    if (mlf_begin_model(&m, req, res, ctx, 1) || mlf_required(&m, "alias", &alias))
        goto out;
    mmsp_err rc = registry_alias_delete(m.api->reg, m.name, alias, m.err, sizeof m.err);
    if (rc) {
        alias_fail(&m, rc, alias);
        goto out;
    }
    mlf_send_empty(&m);
out:
    return mlf_end(&m);
}

static mmsp_err on_alias_get(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    const char *alias;
    struct reg_version v = {0};
    if (mlf_begin_model(&m, req, res, ctx, 0) || mlf_required(&m, "alias", &alias))
        goto out;
    mmsp_err rc = registry_alias_get(m.api->reg, m.name, alias, &v, m.err, sizeof m.err);
    if (rc) {
        alias_fail(&m, rc, alias);
        goto out;
    }
    mlf_send(&m, "model_version", reg_version_mlflow_json(&v));
out:
    reg_version_free(&v);
    return mlf_end(&m);
}

/* --- model versions ---------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * The local model file a source names: a path, or a file: URI (file:///abs, file:/abs,
 * file://localhost/abs, %XX-decoded). A directory stands for the model.json or model.onnx
 * inside it. Writes the path into `path`; returns 0, or -1 after writing the error.
 */
static int source_path(struct mlf *m, const char *source, char *path, size_t pathlen)
{
    const char *p = source;
    int uri = strncmp(p, "file:", 5) == 0;
    if (uri) {
        p += 5;
        if (strncmp(p, "//localhost/", 12) == 0)
            p += 11;
        else if (strncmp(p, "//", 2) == 0 && p[2] == '/')
            p += 2;
        else if (strncmp(p, "//", 2) == 0) {
            mlf_error(m, 400, "INVALID_PARAMETER_VALUE",
                      "source '%.200s': only local file: URIs (file:///path) are supported",
                      source);
            return -1;
        }
    } else if (strstr(p, "://") || strncmp(p, "runs:/", 6) == 0 || strncmp(p, "models:/", 8) == 0) {
        mlf_error(m, 400, "INVALID_PARAMETER_VALUE",
                  "source '%.200s' is not supported: this registry has no artifact server; give "
                  "a local path or a file:// URI of a model file (model.json or model.onnx)",
                  source);
        return -1;
    }
    size_t w = 0;
    for (; *p; p++) {
        char c = *p;
        int hi, lo;
        if (uri && c == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0) {
            c = (char)(hi * 16 + lo);
            p += 2;
        }
        if (c == '\0' || w + 1 >= pathlen) {
            mlf_error(m, 400, "INVALID_PARAMETER_VALUE", "source '%.200s' is not a valid path",
                      source);
            return -1;
        }
        path[w++] = c;
    }
    path[w] = '\0';
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        static const char *const names[] = {"model.json", "model.onnx"};
        size_t base = w;
        int found = 0;
        for (size_t i = 0; i < 2 && !found; i++) {
            if ((size_t)snprintf(path + base, pathlen - base, "/%s", names[i]) >= pathlen - base)
                break;
            found = stat(path, &st) == 0 && S_ISREG(st.st_mode);
        }
        if (!found) {
            mlf_error(m, 400, "INVALID_PARAMETER_VALUE",
                      "source '%.200s' is a directory without model.json or model.onnx", source);
            return -1;
        }
    }
    errno = 0;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, R_OK) != 0) {
        int e = errno;
        mlf_error(m, 400, "INVALID_PARAMETER_VALUE",
                  "source '%.200s' is not a readable model file%s%s: give a local path or a "
                  "file:// URI of a model file (model.json or model.onnx)",
                  source, e ? ": " : "", e ? strerror(e) : "");
        return -1;
    }
    return 0;
}

static mmsp_err on_mv_create(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    const char *source, *run_id, *run_link, *desc;
    struct reg_kv *tags = NULL;
    size_t n_tags = 0;
    struct reg_model rm = {0};
    struct reg_version v = {0};
    char path[4096];
    if (mlf_begin_model(&m, req, res, ctx, 1) || mlf_required(&m, "source", &source) ||
        mlf_optional(&m, "run_id", &run_id) || mlf_optional(&m, "run_link", &run_link) ||
        mlf_optional(&m, "description", &desc) || mlf_tags(&m, &tags, &n_tags))
        goto out;
    /* MLflow: the registered model must exist (registry_register would create it) */
    mmsp_err rc = registry_model_get(m.api->reg, m.name, &rm, m.err, sizeof m.err);
    if (mlf_failed(&m, rc, SUBJECT_MODEL) || source_path(&m, source, path, sizeof path))
        goto out;
    struct reg_register_request r = {
        .name = m.name,
        .artifact_path = path,
        .source = source,
        .tags = tags,
        .n_tags = n_tags,
        .run_id = run_id,
        .run_link = run_link,
        .description = desc,
        .skip_gate = 1,
        .policy_path = m.api->policy_path,
        .who = "api",
    };
    rc = registry_register(m.api->reg, &r, &v, m.err, sizeof m.err);
    if (!mlf_failed(&m, rc, SUBJECT_MODEL))
        mlf_send(&m, "model_version", reg_version_mlflow_json(&v));
out:
    reg_version_free(&v);
    reg_model_free(&rm);
    free(tags);
    return mlf_end(&m);
}

static mmsp_err on_mv_get(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    struct reg_version v = {0};
    if (mlf_begin_version(&m, req, res, ctx, 0))
        goto out;
    mmsp_err rc = registry_version_get(m.api->reg, m.name, m.version, &v, m.err, sizeof m.err);
    if (!mlf_failed(&m, rc, SUBJECT_VERSION))
        mlf_send(&m, "model_version", reg_version_mlflow_json(&v));
out:
    reg_version_free(&v);
    return mlf_end(&m);
}

static mmsp_err on_mv_update(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    const char *desc;
    struct reg_version v = {0};
    if (mlf_begin_version(&m, req, res, ctx, 1) || mlf_optional(&m, "description", &desc))
        goto out;
    mmsp_err rc =
        desc ? registry_version_update(m.api->reg, m.name, m.version, desc, &v, m.err, sizeof m.err)
             : registry_version_get(m.api->reg, m.name, m.version, &v, m.err, sizeof m.err);
    if (!mlf_failed(&m, rc, SUBJECT_VERSION))
        mlf_send(&m, "model_version", reg_version_mlflow_json(&v));
out:
    reg_version_free(&v);
    return mlf_end(&m);
}

static mmsp_err on_mv_delete(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    if (mlf_begin_version(&m, req, res, ctx, 1))
        goto out;
    mmsp_err rc = registry_version_delete(m.api->reg, m.name, m.version, m.err, sizeof m.err);
    if (!mlf_failed(&m, rc, SUBJECT_VERSION))
        mlf_send_empty(&m);
out:
    return mlf_end(&m);
}

static mmsp_err on_mv_search(struct http_request *req, struct http_response *res, void *ctx)
{
    return mlf_search(req, res, ctx, 1);
}

static mmsp_err on_mv_transition(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    const char *stage;
    int archive;
    enum reg_stage st;
    struct reg_version v = {0};
    if (mlf_begin_version(&m, req, res, ctx, 1) || mlf_required(&m, "stage", &stage) ||
        mlf_stage(&m, stage, &st) || mlf_bool(&m, "archive_existing_versions", &archive))
        goto out;
    mmsp_err rc = registry_version_stage(m.api->reg, m.name, m.version, st, archive, "api", &v,
                                         m.err, sizeof m.err);
    if (!mlf_failed(&m, rc, SUBJECT_VERSION))
        mlf_send(&m, "model_version", reg_version_mlflow_json(&v));
out:
    reg_version_free(&v);
    return mlf_end(&m);
}

static mmsp_err on_mv_download_uri(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    struct reg_version v = {0};
    char path[4096];
    if (mlf_begin_version(&m, req, res, ctx, 0))
        goto out;
    mmsp_err rc = registry_version_get(m.api->reg, m.name, m.version, &v, m.err, sizeof m.err);
    if (mlf_failed(&m, rc, SUBJECT_VERSION))
        goto out;
    rc = registry_artifact_path(m.api->reg, &v, 0, path, sizeof path, m.err, sizeof m.err);
    if (mlf_failed(&m, rc, SUBJECT_STORE))
        goto out;
    /* absolute, whatever --data was given as */
    char abs[PATH_MAX];
    const char *where = realpath(path, abs) ? abs : path;
    char uri[PATH_MAX + 8];
    snprintf(uri, sizeof uri, "file://%s", where);
    mlf_send(&m, "artifact_uri", json_string(uri));
out:
    reg_version_free(&v);
    return mlf_end(&m);
}

static mmsp_err on_mv_set_tag(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    const char *key, *value;
    if (mlf_begin_version(&m, req, res, ctx, 1) || mlf_required(&m, "key", &key) ||
        mlf_present(&m, "value", &value))
        goto out;
    mmsp_err rc =
        registry_version_set_tag(m.api->reg, m.name, m.version, key, value, m.err, sizeof m.err);
    if (!mlf_failed(&m, rc, SUBJECT_VERSION))
        mlf_send_empty(&m);
out:
    return mlf_end(&m);
}

static mmsp_err on_mv_delete_tag(struct http_request *req, struct http_response *res, void *ctx)
{
    struct mlf m;
    const char *key;
    if (mlf_begin_version(&m, req, res, ctx, 1) || mlf_required(&m, "key", &key))
        goto out;
    mmsp_err rc =
        registry_version_delete_tag(m.api->reg, m.name, m.version, key, m.err, sizeof m.err);
    if (!mlf_failed(&m, rc, SUBJECT_STORE))
        mlf_send_empty(&m);
out:
    return mlf_end(&m);
}

mmsp_err registry_api_mlflow_register(struct http_router *r, struct registry_api *api)
{
    static const char *const prefixes[] = {"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"};
    static const struct {
        const char *method, *path;
        http_handler_fn fn;
    } routes[] = {
        {"POST", "/registered-models/create", on_rm_create},
        {"GET", "/registered-models/get", on_rm_get},
        {"POST", "/registered-models/rename", on_rm_rename},
        {"PATCH", "/registered-models/update", on_rm_update},
        {"DELETE", "/registered-models/delete", on_rm_delete},
        {"GET", "/registered-models/search", on_rm_search},
        {"POST", "/registered-models/get-latest-versions", on_rm_latest},
        {"GET", "/registered-models/get-latest-versions", on_rm_latest},
        {"POST", "/registered-models/set-tag", on_rm_set_tag},
        {"DELETE", "/registered-models/delete-tag", on_rm_delete_tag},
        {"POST", "/registered-models/alias", on_alias_set},
        {"DELETE", "/registered-models/alias", on_alias_delete},
        {"GET", "/registered-models/alias", on_alias_get},
        {"POST", "/model-versions/create", on_mv_create},
        {"GET", "/model-versions/get", on_mv_get},
        {"PATCH", "/model-versions/update", on_mv_update},
        {"DELETE", "/model-versions/delete", on_mv_delete},
        {"GET", "/model-versions/search", on_mv_search},
        {"POST", "/model-versions/transition-stage", on_mv_transition},
        {"GET", "/model-versions/get-download-uri", on_mv_download_uri},
        {"POST", "/model-versions/set-tag", on_mv_set_tag},
        {"DELETE", "/model-versions/delete-tag", on_mv_delete_tag},
    };
    char pattern[128];
    for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++)
        for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
            snprintf(pattern, sizeof pattern, "%s%s", prefixes[p], routes[i].path);
            mmsp_err rc = http_router_add(r, routes[i].method, pattern, routes[i].fn, api);
            if (rc)
                return rc;
        }
    return MMSP_OK;
}
