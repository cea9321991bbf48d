/*
 * The native registry API, /api/v1 (docs/api.md): models, versions (register by upload),
 * stages, aliases, deployments (deploy, canary, shadow, promote, rollback, history) and the
 * read-only gate check. Everything `mmsp model|deploy|promote|rollback|history|deployments`
 * does; the CLI's --server mode calls these. Bodies are the reg_*_json objects of
 * registry.h; errors are {"error": "..."} through http_fail (a gate refusal is 422 with the
 * gate's report beside the error). Write endpoints check the admin token first.
 * Calls: registry, registry/registry_gate (the report of a refusal), policy, http, jansson,
 * registry/api.c helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "registry/api_internal.h"
#include "registry/registry_gate.h"

#define LIST_ALL ((size_t)-1)

/* --- request helpers --------------------------------------------------------------------- */

/* Maps a store error to the native status: the runtime refusing an artifact is the client's
 * fault (400), not an unimplemented feature (501). */
static mmsp_err store_fail(struct http_response *res, mmsp_err rc, const char *msg)
{
    if (rc == MMSP_E_UNSUPPORTED || rc == MMSP_E_BAD_MODEL)
        rc = MMSP_E_INVALID;
    return http_fail(res, rc, "%s", msg && *msg ? msg : mmsp_strerror(rc));
}

/* Optional string member: *out NULL when absent or null; a non-string is a 400. */
static mmsp_err get_str(struct http_response *res, json_t *o, const char *key, const char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return MMSP_OK;
    if (!json_is_string(v))
        return http_fail(res, MMSP_E_INVALID, "\"%s\" must be a string", key);
    *out = json_string_value(v);
    return MMSP_OK;
}

static mmsp_err get_bool(struct http_response *res, json_t *o, const char *key, int *out)
{
    json_t *v = json_object_get(o, key);
    *out = 0;
    if (!v || json_is_null(v))
        return MMSP_OK;
    if (!json_is_boolean(v))
        return http_fail(res, MMSP_E_INVALID, "\"%s\" must be true or false", key);
    *out = json_is_true(v);
    return MMSP_OK;
}

/* Optional integer member (a JSON integer or a string of digits): *present 0 when absent. */
static mmsp_err get_int(struct http_response *res, json_t *o, const char *key, int64_t min,
                        int64_t max, int64_t *out, int *present)
{
    json_t *v = json_object_get(o, key);
    *present = 0;
    if (!v || json_is_null(v))
        return MMSP_OK;
    int64_t x;
    if (json_is_integer(v)) {
        x = (int64_t)json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        int neg = s[0] == '-';
        if (strcmp(s + neg, "0") == 0)
            x = 0;
        else if (registry_api_parse_version(s + neg, &x))
            return http_fail(res, MMSP_E_INVALID, "\"%s\" must be an integer", key);
        x = neg ? -x : x;
    } else {
        return http_fail(res, MMSP_E_INVALID, "\"%s\" must be an integer", key);
    }
    if (x < min || x > max)
        return http_fail(res, MMSP_E_INVALID, "\"%s\" must be in %lld..%lld", key, (long long)min,
                         (long long)max);
    *out = x;
    *present = 1;
    return MMSP_OK;
}

static const char *who_of(json_t *body)
{
    json_t *w = json_object_get(body, "who");
    const char *s = json_is_string(w) ? json_string_value(w) : NULL;
    return (s && *s) ? s : "api";
}

/* The {version} path parameter. */
static mmsp_err path_version(struct http_request *req, struct http_response *res, int64_t *out)
{
    const char *s = http_request_param(req, "version");
    if (registry_api_parse_version(s, out))
        return http_fail(res, MMSP_E_INVALID, "version '%s' is not a positive integer", s ? s : "");
    return MMSP_OK;
}

/* Parses the body (a 400 when it is not a JSON object). */
static mmsp_err body_of(struct http_request *req, struct http_response *res, json_t **out)
{
    char err[MMSP_ERRMSG_MAX];
    mmsp_err rc = registry_api_body(req, out, err, sizeof err);
    return rc ? http_fail(res, rc, "%s", err) : MMSP_OK;
}

/* The start of a write with a body: the admin token, then the body (the caller releases
 * *body, NULL until parsed). */
static mmsp_err write_body(struct http_request *req, struct http_response *res,
                           struct registry_api *api, json_t **body)
{
    mmsp_err rc = http_require_admin(req, res, api->admin_token);
    return rc ? rc : body_of(req, res, body);
}

/* The answer to a store call that returns nothing: {} or the store's error. */
static mmsp_err send_done(struct http_response *res, mmsp_err rc, const char *err)
{
    if (rc)
        return store_fail(res, rc, err);
    return registry_api_send(res, 200, json_object());
}

/* The answer to a store call that filled v: the version, or the store's error. Releases v. */
static mmsp_err send_version(struct http_response *res, mmsp_err rc, const char *err,
                             struct reg_version *v)
{
    rc = rc ? store_fail(res, rc, err) : registry_api_send(res, 200, reg_version_json(v));
    reg_version_free(v);
    return rc;
}

/* max_results / page_token of a list endpoint (all rows when max_results is absent). */
static mmsp_err paging(struct http_request *req, struct http_response *res, size_t *max,
                       const char **token)
{
    const char *m = http_request_query(req, "max_results");
    *token = http_request_query(req, "page_token");
    *max = LIST_ALL;
    if (m) {
        int64_t v;
        if (registry_api_parse_version(m, &v) || v > 1000)
            return http_fail(res, MMSP_E_INVALID, "max_results must be in 1..1000");
        *max = (size_t)v;
    }
    return MMSP_OK;
}

/* {"<key>": arr, "next_page_token": tok (when any)}; takes arr and frees tok. */
static mmsp_err send_list(struct http_response *res, const char *key, json_t *arr, char *tok)
{
    json_t *o = json_object();
    if (!o || json_object_set_new(o, key, arr) ||
        (tok && json_object_set_new(o, "next_page_token", json_string(tok)))) {
        json_decref(o);
        free(tok);
        return MMSP_E_NOMEM;
    }
    free(tok);
    return registry_api_send(res, 200, o);
}

/* --- models and versions ----------------------------------------------------------------- */

static mmsp_err on_models(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    size_t max;
    const char *token;
    char err[MMSP_ERRMSG_MAX] = "";
    struct api_filter *f = NULL;
    char *next = NULL;
    mmsp_err rc = paging(req, res, &max, &token);
    if (rc)
        return rc;
    const char *filter = http_request_query(req, "filter");
    if (filter && *filter) {
        if (!(f = malloc(sizeof *f)))
            return MMSP_E_NOMEM;
        if ((rc = registry_api_filter_parse(filter, strlen(filter), 0, f, err, sizeof err))) {
            free(f);
            return http_fail(res, rc, "%s", err);
        }
    }
    json_t *arr = json_array();
    if (!arr) {
        free(f);
        return MMSP_E_NOMEM;
    }
    rc = registry_api_search_models(api, f, max, token, 0, arr, &next, err, sizeof err);
    free(f);
    if (rc) {
        json_decref(arr);
        return store_fail(res, rc, err);
    }
    return send_list(res, "models", arr, next);
}

static mmsp_err on_model_get(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    struct reg_model m = {0};
    char err[MMSP_ERRMSG_MAX] = "";
    mmsp_err rc =
        registry_model_get(api->reg, http_request_param(req, "name"), &m, err, sizeof err);
    if (rc)
        return store_fail(res, rc, err);
    rc = registry_api_send(res, 200, reg_model_json(&m));
    reg_model_free(&m);
    return rc;
}

static mmsp_err on_model_delete(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    char err[MMSP_ERRMSG_MAX] = "";
    mmsp_err rc = http_require_admin(req, res, api->admin_token);
    if (rc)
        return rc;
    rc = registry_model_delete(api->reg, http_request_param(req, "name"), err, sizeof err);
    return send_done(res, rc, err);
}

static mmsp_err on_versions(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    const char *name = http_request_param(req, "name");
    size_t max;
    const char *token;
    char err[MMSP_ERRMSG_MAX] = "";
    char *next = NULL;
    struct reg_model m = {0};
    mmsp_err rc = paging(req, res, &max, &token);
    if (rc)
        return rc;
    /* An unknown model is a 404, not an empty list. */
    if ((rc = registry_model_get(api->reg, name, &m, err, sizeof err)))
        return store_fail(res, rc, err);
    reg_model_free(&m);
    json_t *arr = json_array();
    if (!arr)
        return MMSP_E_NOMEM;
    rc = registry_api_search_versions(api, name, NULL, max, token, 0, arr, &next, err, sizeof err);
    if (rc) {
        json_decref(arr);
        return store_fail(res, rc, err);
    }
    return send_list(res, "versions", arr, next);
}

static mmsp_err on_version_get(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    int64_t version;
    struct reg_version v = {0};
    char err[MMSP_ERRMSG_MAX] = "";
    mmsp_err rc = path_version(req, res, &version);
    if (rc)
        return rc;
    rc = registry_version_get(api->reg, http_request_param(req, "name"), version, &v, err,
                              sizeof err);
    return send_version(res, rc, err, &v);
}

static mmsp_err on_version_delete(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    int64_t version;
    char err[MMSP_ERRMSG_MAX] = "";
    mmsp_err rc = http_require_admin(req, res, api->admin_token);
    if (rc || (rc = path_version(req, res, &version)))
        return rc;
    rc = registry_version_delete(api->reg, http_request_param(req, "name"), version, err,
                                 sizeof err);
    return send_done(res, rc, err);
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/*
 * Standard base64 (RFC 4648 section 4) with optional '=' padding; line breaks and spaces are
 * skipped (`base64` wraps at 76 columns). *out is malloc'd (the caller frees it). Returns 0,
 * or -1 with the reason in err.
 */
static int b64_decode(const char *s, size_t len, unsigned char **out, size_t *n, char *err,
                      size_t errlen)
{
    unsigned char *o = malloc(len / 4 * 3 + 3);
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t w = 0;
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == '\r' || c == ' ' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = b64_value(c);
        if (v < 0 || pad) {
            free(o);
            snprintf(err, errlen, "\"artifact\" is not base64: unexpected character at offset %zu",
                     i);
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[w++] = (unsigned char)(acc >> bits);
        }
    }
    /* 6 leftover bits (one lone character) cannot encode a byte; more than 2 '=' is wrong */
    if (bits >= 6 || pad > 2) {
        free(o);
        snprintf(err, errlen, "\"artifact\" is not base64: truncated input");
        return -1;
    }
    *out = o;
    *n = w;
    return 0;
}

/* The array for the members of a JSON object `o`: *out NULL when o is absent, null or
 * empty, else calloc'd room for one `size` entry a member; a non-object is a 400 with
 * `not_object`. */
static mmsp_err members_alloc(struct http_response *res, json_t *o, const char *not_object,
                              size_t size, void **out)
{
    *out = NULL;
    if (!o || json_is_null(o))
        return MMSP_OK;
    if (!json_is_object(o))
        return http_fail(res, MMSP_E_INVALID, "%s", not_object);
    size_t cap = json_object_size(o);
    if (cap && !(*out = calloc(cap, size)))
        return MMSP_E_NOMEM;
    return MMSP_OK;
}

/* Fills arrays of metrics / tags from JSON objects {k: number} / {k: string}. */
static mmsp_err metrics_of(struct http_response *res, json_t *o, struct reg_metric **out, size_t *n)
{
    void *room;
    *out = NULL;
    *n = 0;
    mmsp_err rc =
        members_alloc(res, o, "\"metrics\" must be an object {name: number}", sizeof **out, &room);
    struct reg_metric *m = room;
    if (rc || !m)
        return rc;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (!json_is_number(v)) {
            free(m);
            return http_fail(res, MMSP_E_INVALID, "metric '%s' must be a number", k);
        }
        m[*n].key = (char *)k;
        m[*n].value = json_number_value(v);
        (*n)++;
    }
    *out = m;
    return MMSP_OK;
}

static mmsp_err tags_of(struct http_response *res, json_t *o, struct reg_kv **out, size_t *n)
{
    void *room;
    *out = NULL;
    *n = 0;
    mmsp_err rc =
        members_alloc(res, o, "\"tags\" must be an object {key: string}", sizeof **out, &room);
    struct reg_kv *t = room;
    if (rc || !t)
        return rc;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (!json_is_string(v)) {
            free(t);
            return http_fail(res, MMSP_E_INVALID, "tag '%s' must be a string", k);
        }
        t[*n].key = (char *)k;
        t[*n].value = (char *)json_string_value(v);
        (*n)++;
    }
    *out = t;
    return MMSP_OK;
}

/*
 * A gate refusal: 422 {"error": msg, "gate": report}. The report is the store's own gate run
 * again on the same inputs with force set (reg_gate_run: deterministic, nothing is stored),
 * so it lists every rule with the value seen; without it the body is just the error.
 */
static mmsp_err send_policy_refusal(struct http_response *res, const struct reg_register_request *r,
                                    const char *msg)
{
    json_t *o = json_pack("{s:s}", "error", msg && *msg ? msg : mmsp_strerror(MMSP_E_POLICY));
    if (!o)
        return MMSP_E_NOMEM;
    struct reg_gate g = {0};
    char err[MMSP_ERRMSG_MAX];
    struct reg_gate_inputs in = {
        .model_name = r->name,
        .manifest_text = r->manifest_text,
        .manifest_len = r->manifest_text ? r->manifest_len : 0,
        .manifest_name = r->manifest_name,
        .policy_path = r->policy_path,
        .metrics = r->metrics,
        .n_metrics = r->n_metrics,
        .git_sha = r->git_sha,
        .dataset_version = r->dataset_version,
        .approver = r->approver,
        .run_id = r->run_id,
        .framework = r->framework,
        .force = 1,
    };
    if (reg_gate_run(&in, &g, err, sizeof err) == MMSP_OK && g.report) {
        json_error_t je;
        json_t *report = json_loads(g.report, 0, &je);
        if (report)
            json_object_set_new(o, "gate", report);
    }
    reg_gate_release(&g);
    return registry_api_send(res, 422, o);
}

/* POST /api/v1/models/{name}/versions: register an uploaded artifact. */
static mmsp_err on_register(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    json_t *body = NULL;
    unsigned char *art = NULL;
    size_t art_len = 0;
    struct reg_metric *metrics = NULL;
    struct reg_kv *tags = NULL;
    struct reg_version v = {0};
    char err[MMSP_ERRMSG_MAX] = "";
    struct reg_register_request r = {.name = http_request_param(req, "name")};
    const char *b64 = NULL;
    mmsp_err rc = write_body(req, res, api, &body);
    if (rc)
        goto out;
    if ((rc = get_str(res, body, "artifact", &b64)) ||
        (rc = get_str(res, body, "artifact_name", &r.artifact_path)) ||
        (rc = get_str(res, body, "manifest", &r.manifest_text)) ||
        (rc = get_str(res, body, "source", &r.source)) ||
        (rc = get_str(res, body, "git_sha", &r.git_sha)) ||
        (rc = get_str(res, body, "dataset_version", &r.dataset_version)) ||
        (rc = get_str(res, body, "approver", &r.approver)) ||
        (rc = get_str(res, body, "run_id", &r.run_id)) ||
        (rc = get_str(res, body, "run_link", &r.run_link)) ||
        (rc = get_str(res, body, "description", &r.description)) ||
        (rc = get_str(res, body, "framework", &r.framework)) ||
        (rc = get_bool(res, body, "force", &r.force)))
        goto out;
    if (!b64 || !*b64) {
        rc = http_fail(res, MMSP_E_INVALID, "\"artifact\" (the model file, base64) is required");
        goto out;
    }
    if (r.artifact_path) {
        const char *dot = strrchr(r.artifact_path, '.');
        if (strchr(r.artifact_path, '/') || !dot ||
            (strcmp(dot, ".json") != 0 && strcmp(dot, ".onnx") != 0)) {
            rc = http_fail(res, MMSP_E_INVALID,
                           "\"artifact_name\" must be a file name ending in .json (XGBoost) or "
                           ".onnx, got '%s'",
                           r.artifact_path);
            goto out;
        }
    }
    if (b64_decode(b64, strlen(b64), &art, &art_len, err, sizeof err)) {
        rc = http_fail(res, MMSP_E_INVALID, "%s", err);
        goto out;
    }
    if (!art_len) {
        rc = http_fail(res, MMSP_E_INVALID, "\"artifact\" is empty");
        goto out;
    }
    if ((rc = metrics_of(res, json_object_get(body, "metrics"), &metrics, &r.n_metrics)) ||
        (rc = tags_of(res, json_object_get(body, "tags"), &tags, &r.n_tags)))
        goto out;
    r.artifact_data = art;
    r.artifact_len = art_len;
    r.metrics = metrics;
    r.tags = tags;
    if (r.manifest_text) {
        r.manifest_len = strlen(r.manifest_text);
        r.manifest_name = "manifest";
    }
    if (!r.source)
        r.source = r.artifact_path ? r.artifact_path : "upload";
    r.policy_path = api->policy_path;
    r.who = who_of(body);
    rc = registry_register(api->reg, &r, &v, err, sizeof err);
    if (rc == MMSP_E_POLICY) {
        rc = send_policy_refusal(res, &r, err);
        goto out;
    }
    if (rc) {
        rc = store_fail(res, rc, err);
        goto out;
    }
    rc = registry_api_send(res, 201, reg_version_json(&v));
out:
    reg_version_free(&v);
    free(metrics);
    free(tags);
    free(art);
    json_decref(body);
    return rc;
}

/* POST /api/v1/models/{name}/versions/{version}/stage {"stage", "archive_existing"} */
static mmsp_err on_stage(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    json_t *body = NULL;
    struct reg_version v = {0};
    char err[MMSP_ERRMSG_MAX] = "";
    int64_t version;
    const char *stage = NULL;
    int archive = 0;
    mmsp_err rc = http_require_admin(req, res, api->admin_token);
    if (rc || (rc = path_version(req, res, &version)) || (rc = body_of(req, res, &body)) ||
        (rc = get_str(res, body, "stage", &stage)) ||
        (rc = get_bool(res, body, "archive_existing", &archive)))
        goto out;
    int st = stage ? reg_stage_parse(stage) : -1;
    if (st < 0) {
        rc = http_fail(res, MMSP_E_INVALID,
                       "\"stage\" must be one of None, Staging, Production, Archived%s%s%s",
                       stage ? " (got '" : "", stage ? stage : "", stage ? "')" : "");
        goto out;
    }
    rc = registry_version_stage(api->reg, http_request_param(req, "name"), version,
                                (enum reg_stage)st, archive, who_of(body), &v, err, sizeof err);
    rc = send_version(res, rc, err, &v);
out:
    reg_version_free(&v);
    json_decref(body);
    return rc;
}

/* --- aliases ----------------------------------------------------------------------------- */

static mmsp_err send_alias(struct registry_api *api, struct http_request *req,
                           struct http_response *res)
{
    struct reg_version v = {0};
    char err[MMSP_ERRMSG_MAX] = "";
    mmsp_err rc = registry_alias_get(api->reg, http_request_param(req, "name"),
                                     http_request_param(req, "alias"), &v, err, sizeof err);
    return send_version(res, rc, err, &v);
}

static mmsp_err on_alias_get(struct http_request *req, struct http_response *res, void *ctx)
{
    return send_alias(ctx, req, res);
}

static mmsp_err on_alias_put(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    json_t *body = NULL;
    char err[MMSP_ERRMSG_MAX] = "";
    int64_t version = 0;
    int present = 0;
    mmsp_err rc = write_body(req, res, api, &body);
    if (rc || (rc = get_int(res, body, "version", 1, INT64_MAX, &version, &present)))
        goto out;
    if (!present) {
        rc = http_fail(res, MMSP_E_INVALID, "\"version\" is required");
        goto out;
    }
    rc = registry_alias_set(api->reg, http_request_param(req, "name"),
                            http_request_param(req, "alias"), version, err, sizeof err);
    if (rc) {
        rc = store_fail(res, rc, err);
        goto out;
    }
    rc = send_alias(api, req, res);
out:
    json_decref(body);
    return rc;
}

static mmsp_err on_alias_delete(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    char err[MMSP_ERRMSG_MAX] = "";
    mmsp_err rc = http_require_admin(req, res, api->admin_token);
    if (rc)
        return rc;
    rc = registry_alias_delete(api->reg, http_request_param(req, "name"),
                               http_request_param(req, "alias"), err, sizeof err);
    return send_done(res, rc, err);
}

/* --- deployments ------------------------------------------------------------------------- */

static const char *env_query(struct http_request *req)
{
    const char *e = http_request_query(req, "environment");
    return (e && *e) ? e : NULL;
}

static mmsp_err on_deployments(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    struct reg_deployment *d = NULL;
    size_t n = 0;
    char err[MMSP_ERRMSG_MAX] = "";
    mmsp_err rc = registry_deployment_list(api->reg, &d, &n, err, sizeof err);
    if (rc)
        return store_fail(res, rc, err);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, reg_deployment_json(&d[i]))) {
            json_decref(arr);
            arr = NULL;
        }
    reg_deployment_list_free(d, n);
    if (!arr)
        return MMSP_E_NOMEM;
    return send_list(res, "deployments", arr, NULL);
}

/* The answer to a store call that filled d: the deployment, or the store's error. Releases
 * d. */
static mmsp_err send_deployment(struct http_response *res, mmsp_err rc, const char *err,
                                struct reg_deployment *d)
{
    rc = rc ? store_fail(res, rc, err) : registry_api_send(res, 200, reg_deployment_json(d));
    reg_deployment_free(d);
    return rc;
}

/* The same for a call that changed d: on success the serving side is told first. */
static mmsp_err send_changed(struct registry_api *api, struct http_response *res, mmsp_err rc,
                             const char *err, struct reg_deployment *d)
{
    if (!rc)
        registry_api_changed(api);
    return send_deployment(res, rc, err, d);
}

static mmsp_err on_deployment_get(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    struct reg_deployment d = {0};
    char err[MMSP_ERRMSG_MAX] = "";
    const char *env = env_query(req);
    mmsp_err rc = registry_deployment_get(api->reg, http_request_param(req, "name"),
                                          env ? env : "production", &d, err, sizeof err);
    return send_deployment(res, rc, err, &d);
}

/* POST /api/v1/deployments/{name}: deploy, canary, weight change or shadow. */
static mmsp_err on_deploy(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    json_t *body = NULL;
    struct reg_deployment d = {0};
    char err[MMSP_ERRMSG_MAX] = "";
    int64_t canary = -1;
    int present = 0;
    struct reg_deploy_request r = {.name = http_request_param(req, "name"), .canary = -1};
    mmsp_err rc = write_body(req, res, api, &body);
    if (rc || (rc = get_str(res, body, "model", &r.model)) ||
        (rc = get_str(res, body, "alias", &r.alias)) ||
        (rc = get_str(res, body, "environment", &r.environment)) ||
        (rc = get_str(res, body, "reason", &r.reason)) ||
        (rc = get_str(res, body, "cohort_header", &r.cohort_header)) ||
        (rc = get_bool(res, body, "shadow", &r.shadow)) ||
        (rc = get_bool(res, body, "force", &r.force)) ||
        (rc = get_int(res, body, "version", 1, INT64_MAX, &r.version, &present)) ||
        (rc = get_int(res, body, "canary", 0, 100, &canary, &present)))
        goto out;
    if (r.version && r.alias) {
        rc = http_fail(res, MMSP_E_INVALID, "give \"version\" or \"alias\", not both");
        goto out;
    }
    r.canary = present ? (int)canary : -1;
    r.who = who_of(body);
    rc = registry_deploy(api->reg, &r, &d, err, sizeof err);
    rc = send_changed(api, res, rc, err, &d);
out:
    json_decref(body);
    return rc;
}

static mmsp_err on_promote(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    json_t *body = NULL;
    struct reg_deployment d = {0};
    char err[MMSP_ERRMSG_MAX] = "";
    const char *env = NULL, *reason = NULL;
    mmsp_err rc = write_body(req, res, api, &body);
    if (rc || (rc = get_str(res, body, "environment", &env)) ||
        (rc = get_str(res, body, "reason", &reason)))
        goto out;
    rc = registry_promote(api->reg, http_request_param(req, "name"), env ? env : "production",
                          who_of(body), reason, &d, err, sizeof err);
    rc = send_changed(api, res, rc, err, &d);
out:
    json_decref(body);
    return rc;
}

static mmsp_err on_rollback(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    json_t *body = NULL;
    struct reg_deployment d = {0};
    char err[MMSP_ERRMSG_MAX] = "";
    const char *env = NULL, *reason = NULL;
    int64_t to = 0;
    int present = 0;
    mmsp_err rc = write_body(req, res, api, &body);
    if (rc || (rc = get_str(res, body, "environment", &env)) ||
        (rc = get_str(res, body, "reason", &reason)) ||
        (rc = get_int(res, body, "to", 1, INT64_MAX, &to, &present)))
        goto out;
    rc = registry_rollback(api->reg, http_request_param(req, "name"), env ? env : "production",
                           present ? to : 0, who_of(body), reason, &d, err, sizeof err);
    rc = send_changed(api, res, rc, err, &d);
out:
    json_decref(body);
    return rc;
}

static mmsp_err on_history(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    const char *name = http_request_param(req, "name");
    const char *env = env_query(req);
    struct reg_event *e = NULL;
    size_t n = 0;
    char err[MMSP_ERRMSG_MAX] = "";
    mmsp_err rc = registry_history_named(api->reg, name, env, &e, &n, err, sizeof err);
    if (rc)
        return store_fail(res, rc, err);
    if (n == 0) {
        /* every deployment has at least its first deploy event: none means no deployment */
        struct reg_deployment d = {0};
        if (env)
            rc = registry_deployment_get(api->reg, name, env, &d, err, sizeof err);
        else
            rc = http_fail(res, MMSP_E_NOT_FOUND, "deployment '%s' is not known", name);
        reg_deployment_free(&d);
        if (rc)
            return env ? store_fail(res, rc, err) : rc;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, reg_event_json(&e[i]))) {
            json_decref(arr);
            arr = NULL;
        }
    reg_event_list_free(e, n);
    if (!arr)
        return MMSP_E_NOMEM;
    return send_list(res, "events", arr, NULL);
}

/* --- gate -------------------------------------------------------------------------------- */

/* POST /api/v1/gate {"manifest": YAML, "policy": YAML (optional)}: the policy result. */
static mmsp_err on_gate(struct http_request *req, struct http_response *res, void *ctx)
{
    struct registry_api *api = ctx;
    json_t *body = NULL;
    struct manifest m = {0};
    struct policy *p = NULL;
    struct policy_result pr = {0};
    char *text = NULL;
    char err[MMSP_ERRMSG_MAX] = "";
    const char *manifest = NULL, *policy = NULL;
    mmsp_err rc = body_of(req, res, &body);
    if (rc || (rc = get_str(res, body, "manifest", &manifest)) ||
        (rc = get_str(res, body, "policy", &policy)))
        goto out;
    if (!manifest) {
        rc = http_fail(res, MMSP_E_INVALID, "\"manifest\" (YAML text) is required");
        goto out;
    }
    if ((rc = manifest_parse(manifest, strlen(manifest), "manifest", &m, err, sizeof err))) {
        rc = http_fail(res, rc == MMSP_E_NOMEM ? rc : MMSP_E_INVALID, "%s", err);
        goto out;
    }
    if (policy)
        rc = policy_parse(policy, strlen(policy), "policy", &p, err, sizeof err);
    else if (api->policy_path)
        rc = policy_load(api->policy_path, &p, err, sizeof err);
    else
        rc = policy_default(&p, err, sizeof err);
    if (rc) {
        /* a policy given in the body is the client's; the server's own is the server's */
        rc = http_fail(res, policy && rc != MMSP_E_NOMEM ? MMSP_E_INVALID : rc, "%s", err);
        goto out;
    }
    if ((rc = policy_evaluate(p, &m, &pr, err, sizeof err))) {
        rc = http_fail(res, rc, "%s", err);
        goto out;
    }
    if (!(text = policy_result_json(&pr))) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    json_error_t je;
    rc = registry_api_send(res, 200, json_loads(text, 0, &je));
out:
    free(text);
    policy_result_free(&pr);
    policy_free(p);
    manifest_free(&m);
    json_decref(body);
    return rc;
}

mmsp_err registry_api_native_register(struct http_router *r, struct registry_api *api)
{
    static const struct {
        const char *method, *pattern;
        http_handler_fn fn;
    } routes[] = {
        {"GET", "/api/v1/models", on_models},
        {"GET", "/api/v1/models/{name}", on_model_get},
        {"DELETE", "/api/v1/models/{name}", on_model_delete},
        {"GET", "/api/v1/models/{name}/versions", on_versions},
        {"POST", "/api/v1/models/{name}/versions", on_register},
        {"GET", "/api/v1/models/{name}/versions/{version}", on_version_get},
        {"DELETE", "/api/v1/models/{name}/versions/{version}", on_version_delete},
        {"POST", "/api/v1/models/{name}/versions/{version}/stage", on_stage},
        {"GET", "/api/v1/models/{name}/aliases/{alias}", on_alias_get},
        {"PUT", "/api/v1/models/{name}/aliases/{alias}", on_alias_put},
        {"DELETE", "/api/v1/models/{name}/aliases/{alias}", on_alias_delete},
        {"GET", "/api/v1/deployments", on_deployments},
        {"GET", "/api/v1/deployments/{name}", on_deployment_get},
        {"POST", "/api/v1/deployments/{name}", on_deploy},
        {"POST", "/api/v1/deployments/{name}/promote", on_promote},
        {"POST", "/api/v1/deployments/{name}/rollback", on_rollback},
        {"GET", "/api/v1/deployments/{name}/history", on_history},
        {"POST", "/api/v1/gate", on_gate},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        mmsp_err rc = http_router_add(r, routes[i].method, routes[i].pattern, routes[i].fn, api);
        if (rc)
            return rc;
    }
    return MMSP_OK;
}
