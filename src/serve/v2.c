/*
 * Open Inference Protocol v2 endpoints (reference/protocols.md 1.1-1.8): health, server and
 * model metadata, model ready, config, statistics, infer (JSON and binary tensor data), and
 * the repository extension (index, load, unload).
 * Calls: serve/infer (serve_internal.h), serve/repo, serve/v2_codec, serve/model_config,
 * serve/stats, http, common/json.
 */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "mmsp/mmsp.h"
#include "serve/model_config.h"
#include "serve/serve_internal.h"

static mmsp_err on_live(struct http_request *req, struct http_response *res, void *ctx)
{
    return buf_append_str(&res->body, "{\"live\":true}");
}

static mmsp_err on_ready(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    if (serve_repo_ready(s->repo))
        return buf_append_str(&res->body, "{\"ready\":true}");
    res->status = 503;
    return buf_append_str(&res->body, "{\"ready\":false}");
}

static mmsp_err on_server_metadata(struct http_request *req, struct http_response *res, void *ctx)
{
    return buf_append_str(&res->body,
                          "{\"name\":\"mmsp\",\"version\":\"" MMSP_VERSION
                          "\",\"extensions\":[\"binary_tensor_data\",\"model_repository\","
                          "\"statistics\",\"model_configuration\",\"parameters\"]}");
}

static mmsp_err on_model_metadata(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    struct serve_version *v = NULL;
    struct serve_model_view *views = NULL;
    size_t n_views = 0;
    struct buf *b = &res->body;
    mmsp_err rc = serve_acquire(s, req, res, NULL, 0, &v);
    if (rc)
        goto out;
    if ((rc = buf_append_str(b, "{\"name\":")) ||
        (rc = json_write_string(b, v->model_name, strlen(v->model_name))) ||
        (rc = buf_append_str(b, ",\"versions\":[")))
        goto out;
    if (http_request_param(req, "version")) {
        rc = buf_printf(b, "\"%s\"", v->version_str);
    } else {
        rc = serve_repo_list(s->repo, &views, &n_views);
        for (size_t i = 0; !rc && i < n_views; i++) {
            if (strcmp(views[i].name, v->model_name) != 0)
                continue;
            for (size_t k = 0; !rc && k < views[i].n_versions; k++)
                rc = buf_printf(b, "%s\"%s\"", k ? "," : "", views[i].versions[k]->version_str);
        }
    }
    if (rc || (rc = buf_printf(b, "],\"platform\":\"%s\",", v->info->platform)) ||
        (rc = serve_write_io_lists(b, v->model)))
        goto out;
    rc = buf_append_char(b, '}');
out:
    serve_repo_list_free(views, n_views);
    serve_version_release(v);
    return rc;
}

static mmsp_err on_model_ready(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    struct serve_version *v = NULL;
    struct buf *b = &res->body;
    mmsp_err rc = serve_acquire(s, req, res, NULL, 0, &v);
    if (rc)
        goto out;
    if ((rc = buf_append_str(b, "{\"name\":")) ||
        (rc = json_write_string(b, v->model_name, strlen(v->model_name))) ||
        (rc = buf_printf(b, ",\"version\":\"%s\",\"ready\":true}", v->version_str)))
        goto out;
out:
    serve_version_release(v);
    return rc;
}

/*
 * Triton-style "parameters" appended to a model config object (body[start..] ending in '}'):
 * feature_names (comma-joined, when the model file names its features) and
 * output_is_probability ("true"/"false"), so a remote gateway (gateway/remote.c) can take
 * named features and report probabilities like the in-process back end.
 */
static mmsp_err config_parameters(struct buf *b, size_t start, const mmsp_model_info *info)
{
    if (b->len <= start || b->data[b->len - 1] != '}')
        return MMSP_E_INTERNAL;
    b->len--;
    mmsp_err rc =
        buf_printf(b, "%s\"parameters\":{\"output_is_probability\":{\"string_value\":\"%s\"}",
                   b->len > start + 1 ? "," : "", info->output_is_probability ? "true" : "false");
    if (!rc && info->feature_names && info->num_feature > 0) {
        struct buf names;
        buf_init(&names, 1u << 20);
        for (int64_t i = 0; i < info->num_feature && !rc; i++) {
            const char *n = info->feature_names[i] ? info->feature_names[i] : "";
            if (i)
                rc = buf_append_char(&names, ',');
            if (!rc)
                rc = buf_append(&names, n, strlen(n));
        }
        if (!rc && (rc = buf_append_str(b, ",\"feature_names\":{\"string_value\":")) == MMSP_OK)
            rc = json_write_string(b, names.data ? names.data : "", names.len);
        if (!rc)
            rc = buf_append_char(b, '}');
        buf_release(&names);
    }
    if (!rc)
        rc = buf_append_str(b, "}}");
    return rc;
}

static mmsp_err on_model_config(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    struct serve_version *v = NULL;
    mmsp_err rc = serve_acquire(s, req, res, NULL, 0, &v);
    if (rc)
        goto out;
    size_t start = res->body.len;
    rc = model_config_to_json(&v->config, v->info->platform, &res->body);
    if (!rc)
        rc = config_parameters(&res->body, start, v->info);
out:
    serve_version_release(v);
    return rc;
}

/* GET /v2/models/stats, /v2/models/{name}/stats, /v2/models/{name}/versions/{v}/stats */
static mmsp_err on_stats(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    const char *name = http_request_param(req, "name");
    const char *vs = http_request_param(req, "version");
    struct serve_model_view *views = NULL;
    size_t n_views = 0;
    struct buf *b = &res->body;
    struct serve_version *one = NULL;
    mmsp_err rc;
    if (vs) {
        rc = serve_acquire(s, req, res, NULL, 0, &one);
        if (rc)
            goto out;
    }
    rc = serve_repo_list(s->repo, &views, &n_views);
    if (rc || (rc = buf_append_str(b, "{\"model_stats\":[")))
        goto out;
    int found = 0, first = 1;
    for (size_t i = 0; i < n_views; i++) {
        if (name && strcmp(views[i].name, name) != 0)
            continue;
        found = 1;
        for (size_t k = 0; k < views[i].n_versions; k++) {
            const struct serve_version *v = views[i].versions[k];
            if (one && v->version != one->version)
                continue;
            if ((!first && (rc = buf_append_char(b, ','))) ||
                (rc = serve_stats_write(v->stats, v->model_name, v->version_str, b)))
                goto out;
            first = 0;
        }
    }
    if (name && !found) {
        rc = http_fail(res, MMSP_E_NOT_FOUND, "model '%s' is not known", name);
        goto out;
    }
    rc = buf_append_str(b, "]}");
out:
    serve_repo_list_free(views, n_views);
    serve_version_release(one);
    return rc;
}

/* Inference-Header-Content-Length: -1 when absent; an error when not a number <= body. */
static mmsp_err header_length(struct http_request *req, struct http_response *res, int64_t *out)
{
    const char *h = http_request_header(req, "Inference-Header-Content-Length");
    *out = -1;
    if (!h)
        return MMSP_OK;
    int64_t n = 0;
    const char *p = h;
    while (*p == ' ')
        p++;
    if (!*p)
        goto bad;
    for (; *p && *p != ' '; p++) {
        if (*p < '0' || *p > '9' || n > (INT64_MAX - 9) / 10)
            goto bad;
        n = n * 10 + (*p - '0');
    }
    while (*p == ' ')
        p++;
    if (*p)
        goto bad;
    if ((uint64_t)n > req->body_len)
        return http_fail(res, MMSP_E_INVALID,
                         "Inference-Header-Content-Length %lld is larger than the body (%zu "
                         "bytes)",
                         (long long)n, req->body_len);
    *out = n;
    return MMSP_OK;
bad:
    return http_fail(res, MMSP_E_INVALID,
                     "Inference-Header-Content-Length must be a non-negative integer, got '%s'", h);
}

/* An infer request between parse and answer (see struct serve_call). */
struct v2_call {
    struct serve_call base;
    struct v2_request vr;
};

/* Writes the response: the requested outputs (all by default), JSON or binary. */
static mmsp_err reply_infer(struct http_request *req, struct http_response *res,
                            struct serve_call *call)
{
    const struct v2_request *vr = &((struct v2_call *)call)->vr;
    const struct serve_version *v = call->v;
    const mmsp_tensor *outs = call->outs;
    mmsp_err rc;
    /* Which outputs, and which of them as binary. */
    size_t n_out = mmsp_model_output_count(v->model);
    size_t n_sel = vr->n_outputs ? vr->n_outputs : n_out;
    mmsp_tensor *sel = arena_calloc(req->arena, n_sel, sizeof *sel);
    int *bin = arena_calloc(req->arena, n_sel, sizeof *bin);
    if (!sel || !bin)
        return http_fail(res, MMSP_E_TOO_LARGE, "request needs more memory than allowed");
    int any_binary = 0;
    for (size_t i = 0; i < n_sel; i++) {
        if (!vr->n_outputs) {
            sel[i] = outs[i];
            bin[i] = vr->binary_data_output;
        } else {
            size_t k = 0;
            for (; k < n_out; k++)
                if (strcmp(outs[k].name, vr->outputs[i].name) == 0)
                    break;
            if (k == n_out)
                return http_fail(res, MMSP_E_INVALID,
                                 "unknown output '%s': model '%s' has no output of that name",
                                 vr->outputs[i].name, v->model_name);
            sel[i] = outs[k];
            bin[i] = vr->outputs[i].binary >= 0 ? vr->outputs[i].binary : vr->binary_data_output;
        }
        any_binary |= bin[i];
    }
    size_t json_len = 0;
    rc = v2_response_write(&res->body, &json_len, v->model_name, v->version_str, vr->id, sel, bin,
                           n_sel);
    if (rc)
        return http_fail(res, rc, "cannot write the response: %s", mmsp_strerror(rc));
    if (any_binary) {
        char len[24];
        snprintf(len, sizeof len, "%zu", json_len);
        res->content_type = "application/octet-stream";
        if ((rc = http_response_header(req, res, "Inference-Header-Content-Length", len)))
            return rc;
    }
    return MMSP_OK;
}

static mmsp_err on_infer(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    struct v2_call c = {.base = {.size = sizeof c, .reply = reply_infer}};
    int64_t header_len;
    mmsp_err rc = serve_acquire(s, req, res, NULL, 1, &c.base.v);
    if (rc)
        return rc;
    if ((rc = header_length(req, res, &header_len)))
        return serve_call_end(req, &c.base, rc);
    rc = v2_request_parse(req->arena, req->body, req->body_len, header_len, &c.vr, res->err,
                          sizeof res->err);
    if (rc)
        return serve_call_end(req, &c.base, serve_input_error(rc));
    return serve_call_run(req, res, &c.base, c.vr.inputs, c.vr.n_inputs);
}

/* POST /v2/repository/index, body optional {"ready": bool}. */
static mmsp_err on_repo_index(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    struct serve_model_view *views = NULL;
    size_t n_views = 0;
    struct buf *b = &res->body;
    int only_ready = 0;
    mmsp_err rc = MMSP_OK;
    if (req->body_len) {
        struct json_value doc;
        rc = json_parse(req->arena, req->body, req->body_len, &doc, res->err, sizeof res->err);
        if (rc) {
            rc = serve_input_error(rc);
            goto out;
        }
        if (doc.type != JSON_OBJECT) {
            rc = http_fail(res, MMSP_E_INVALID, "the index request body must be a JSON object");
            goto out;
        }
        const struct json_value *ready = json_get(&doc, "ready");
        if (ready && ready->type != JSON_TRUE && ready->type != JSON_FALSE) {
            rc = http_fail(res, MMSP_E_INVALID, "\"ready\" must be a boolean, got %s",
                           json_type_name(ready->type));
            goto out;
        }
        only_ready = ready && ready->type == JSON_TRUE;
    }
    if ((rc = serve_repo_list(s->repo, &views, &n_views)) || (rc = buf_append_char(b, '[')))
        goto out;
    int first = 1;
    for (size_t i = 0; i < n_views; i++) {
        const struct serve_model_view *w = &views[i];
        if (w->n_versions == 0 && only_ready)
            continue;
        size_t n = w->n_versions ? w->n_versions : 1;
        for (size_t k = 0; k < n; k++) {
            if ((!first && (rc = buf_append_char(b, ','))) ||
                (rc = buf_append_str(b, "{\"name\":")) ||
                (rc = json_write_string(b, w->name, strlen(w->name))))
                goto out;
            first = 0;
            if (w->n_versions)
                rc = buf_printf(b, ",\"version\":\"%s\",\"state\":\"READY\",\"reason\":\"\"}",
                                w->versions[k]->version_str);
            else if (!(rc = buf_append_str(b, ",\"state\":\"UNAVAILABLE\",\"reason\":")) &&
                     !(rc = json_write_string(b, w->reason, strlen(w->reason))))
                rc = buf_append_char(b, '}');
            if (rc)
                goto out;
        }
        /* A failed change while older versions keep serving: listed as its own entry (unless
         * it concerns a version listed READY above, which keeps serving from memory). */
        int listed = 0;
        for (size_t k = 0; k < w->n_versions; k++)
            listed |= w->versions[k]->version == w->failed_version;
        if (w->n_versions && w->failure[0] && !only_ready && !listed) {
            if ((rc = buf_append_str(b, ",{\"name\":")) ||
                (rc = json_write_string(b, w->name, strlen(w->name))) ||
                (w->failed_version &&
                 (rc = buf_printf(b, ",\"version\":\"%lld\"", (long long)w->failed_version))) ||
                (rc = buf_append_str(b, ",\"state\":\"UNAVAILABLE\",\"reason\":")) ||
                (rc = json_write_string(b, w->failure, strlen(w->failure))) ||
                (rc = buf_append_char(b, '}')))
                goto out;
        }
    }
    rc = buf_append_char(b, ']');
out:
    serve_repo_list_free(views, n_views);
    return rc;
}

/* Load/unload bodies: empty, or a JSON object whose "parameters" we do not support. */
static mmsp_err check_repo_body(struct http_request *req, struct http_response *res,
                                const char *allowed)
{
    if (!req->body_len)
        return MMSP_OK;
    struct json_value doc;
    mmsp_err rc = json_parse(req->arena, req->body, req->body_len, &doc, res->err, sizeof res->err);
    if (rc)
        return serve_input_error(rc);
    if (doc.type != JSON_OBJECT)
        return http_fail(res, MMSP_E_INVALID, "the request body must be a JSON object");
    const struct json_value *p = json_get(&doc, "parameters");
    if (!p)
        return MMSP_OK;
    if (p->type != JSON_OBJECT)
        return http_fail(res, MMSP_E_INVALID, "\"parameters\" must be an object");
    for (uint32_t i = 0; i < p->len; i++)
        if (!allowed || strcmp(p->u.members[i].key, allowed) != 0)
            return http_fail(res, MMSP_E_UNSUPPORTED,
                             "parameter '%s' is not supported: change config.yaml and the "
                             "version directories in the repository, then load",
                             p->u.members[i].key);
    return MMSP_OK;
}

static mmsp_err on_repo_load(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    const char *name = http_request_param(req, "name");
    mmsp_err rc = http_require_admin(req, res, s->o.admin_token);
    if (rc || (rc = check_repo_body(req, res, NULL)))
        return rc;
    rc = serve_repo_load(s->repo, name, res->err, sizeof res->err);
    if (rc) {
        log_warn("serve.load", "loading model '%s' failed: %s", name, res->err);
        if (rc != MMSP_E_NOT_FOUND && rc != MMSP_E_NOMEM)
            rc = MMSP_E_INVALID;
        return rc;
    }
    log_info("serve.load", "model '%s' loaded", name);
    struct buf *b = &res->body;
    if ((rc = buf_append_str(b, "{\"name\":")) || (rc = json_write_string(b, name, strlen(name))))
        return rc;
    return buf_append_str(b, ",\"load\":true}");
}

static mmsp_err on_repo_unload(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    const char *name = http_request_param(req, "name");
    mmsp_err rc = http_require_admin(req, res, s->o.admin_token);
    if (rc || (rc = check_repo_body(req, res, "unload_dependents")))
        return rc;
    rc = serve_repo_unload(s->repo, name, res->err, sizeof res->err);
    if (rc)
        return rc;
    log_info("serve.unload", "model '%s' unloaded", name);
    struct buf *b = &res->body;
    if ((rc = buf_append_str(b, "{\"name\":")) || (rc = json_write_string(b, name, strlen(name))))
        return rc;
    return buf_append_str(b, ",\"unload\":true}");
}

mmsp_err serve_v2_register(struct serve_server *s, struct http_router *r)
{
    static const struct {
        const char *method, *pattern;
        http_handler_fn fn;
    } routes[] = {
        {"GET", "/v2/health/live", on_live},
        {"GET", "/v2/health/ready", on_ready},
        {"GET", "/v2", on_server_metadata},
        {"GET", "/v2/models/stats", on_stats},
        {"GET", "/v2/models/{name}", on_model_metadata},
        {"GET", "/v2/models/{name}/versions/{version}", on_model_metadata},
        {"GET", "/v2/models/{name}/ready", on_model_ready},
        {"GET", "/v2/models/{name}/versions/{version}/ready", on_model_ready},
        {"GET", "/v2/models/{name}/config", on_model_config},
        {"GET", "/v2/models/{name}/versions/{version}/config", on_model_config},
        {"GET", "/v2/models/{name}/stats", on_stats},
        {"GET", "/v2/models/{name}/versions/{version}/stats", on_stats},
        {"POST", "/v2/models/{name}/infer", on_infer},
        {"POST", "/v2/models/{name}/versions/{version}/infer", on_infer},
        {"POST", "/v2/repository/index", on_repo_index},
        {"POST", "/v2/repository/models/{name}/load", on_repo_load},
        {"POST", "/v2/repository/models/{name}/unload", on_repo_unload},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        mmsp_err rc = http_router_add(r, routes[i].method, routes[i].pattern, routes[i].fn, s);
        if (rc)
            return rc;
    }
    return MMSP_OK;
}
