/*
 * The simple API of the seed inference service, for the default model (--default-model, or
 * the only model in the repository): GET /health, GET /ready, POST /predict (predictions,
 * and for classifiers labels and probabilities), GET /model/info. With several models and no
 * --default-model these answer 404 saying so (except /health, which is plain liveness).
 * Calls: serve/infer (serve_internal.h), serve/repo, serve/v2_codec, http, common/json.
 */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "serve/serve_internal.h"

/* The default model's name into name[256], or an error for the response. */
static mmsp_err default_model(struct serve_server *s, struct http_response *res, char *name,
                              size_t len)
{
    if (s->default_model) {
        snprintf(name, len, "%s", s->default_model);
        return MMSP_OK;
    }
    size_t n = serve_repo_count(s->repo, name, len);
    if (n == 1)
        return MMSP_OK;
    if (n == 0)
        return http_fail(res, MMSP_E_NOT_FOUND, "the model repository holds no model");
    return http_fail(res, MMSP_E_NOT_FOUND,
                     "the repository holds %zu models: start the server with --default-model "
                     "NAME to use this endpoint, or use /v2/models/{name}/infer",
                     n);
}

static mmsp_err on_health(struct http_request *req, struct http_response *res, void *ctx)
{
    return buf_append_str(&res->body, "{\"status\":\"ok\"}");
}

static mmsp_err on_ready(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    struct serve_version *v = NULL;
    char name[256];
    struct buf *b = &res->body;
    mmsp_err rc = default_model(s, res, name, sizeof name);
    if (rc)
        return rc;
    rc = serve_repo_acquire(s->repo, name, -1, &v, res->err, sizeof res->err);
    if (rc)
        return MMSP_E_UNAVAILABLE; /* a probe only needs "not ready"; the message says why */
    if ((rc = buf_append_str(b, "{\"ready\":true,\"model\":")) ||
        (rc = json_write_string(b, name, strlen(name))) ||
        (rc = buf_printf(b, ",\"version\":\"%s\"}", v->version_str)))
        goto out;
out:
    serve_version_release(v);
    return rc;
}

static const char *task_name(mmsp_task t)
{
    switch (t) {
    case MMSP_TASK_BINARY:
        return "binary";
    case MMSP_TASK_MULTICLASS:
        return "multiclass";
    default:
        return "regression";
    }
}

static float row_value(const mmsp_tensor *p, size_t i)
{
    if (p->dtype == MMSP_DT_FP32)
        return ((const float *)p->data)[i];
    if (p->dtype == MMSP_DT_FP64)
        return (float)((const double *)p->data)[i];
    if (p->dtype == MMSP_DT_INT64)
        return (float)((const int64_t *)p->data)[i];
    if (p->dtype == MMSP_DT_INT32)
        return (float)((const int32_t *)p->data)[i];
    return 0.0f;
}

/* "labels" and "probabilities" for a classifier's predict output p. */
static mmsp_err write_classes(struct buf *b, const mmsp_model_info *info, const mmsp_tensor *p,
                              int64_t rows)
{
    mmsp_err rc;
    size_t w = serve_row_width(p);
    int multi = info->task == MMSP_TASK_MULTICLASS && (int64_t)w == info->num_class && w > 1;
    if ((rc = buf_append_str(b, ",\"labels\":[")))
        return rc;
    for (int64_t r = 0; r < rows; r++) {
        long long label;
        if (multi) {
            size_t best = 0;
            for (size_t k = 1; k < w; k++)
                if (row_value(p, (size_t)r * w + k) > row_value(p, (size_t)r * w + best))
                    best = k;
            label = (long long)best;
        } else if (info->task == MMSP_TASK_BINARY) {
            float x = row_value(p, (size_t)r * w);
            label = info->output_is_probability ? x >= 0.5f : x > 0.0f;
        } else {
            label = (long long)row_value(p, (size_t)r * w); /* multi:softmax: the class */
        }
        if ((rc = buf_printf(b, "%s%lld", r ? "," : "", label)))
            return rc;
    }
    if ((rc = buf_append_char(b, ']')))
        return rc;
    if (!info->output_is_probability || (!multi && info->task != MMSP_TASK_BINARY))
        return MMSP_OK;
    if ((rc = buf_append_str(b, ",\"probabilities\":[")))
        return rc;
    for (int64_t r = 0; r < rows; r++) {
        if (r && (rc = buf_append_char(b, ',')))
            return rc;
        if (multi) {
            rc = serve_write_row(b, p, (size_t)r);
        } else {
            float x = row_value(p, (size_t)r * w);
            if (!(rc = buf_append_char(b, '[')) && !(rc = json_write_float(b, 1.0f - x)) &&
                !(rc = buf_append_char(b, ',')) && !(rc = json_write_float(b, x)))
                rc = buf_append_char(b, ']');
        }
        if (rc)
            return rc;
    }
    return buf_append_char(b, ']');
}

/* A /predict request between parse and answer (see struct serve_call). */
struct simple_call {
    struct serve_call base;
    const char *id; /* arena; NULL when absent */
    char name[256];
};

static mmsp_err reply_predict(struct http_request *req, struct http_response *res,
                              struct serve_call *call)
{
    const struct simple_call *c = (const struct simple_call *)call;
    const struct serve_version *v = call->v;
    const char *id = c->id, *name = c->name;
    int64_t batch = call->batch;
    struct buf *b = &res->body;
    mmsp_err rc;
    const mmsp_tensor *p = serve_predict_output(call->outs, mmsp_model_output_count(v->model));
    if ((rc = buf_append_char(b, '{')))
        return rc;
    if (id && ((rc = buf_append_str(b, "\"id\":")) || (rc = json_write_string(b, id, strlen(id))) ||
               (rc = buf_append_char(b, ','))))
        return rc;
    if ((rc = buf_append_str(b, "\"model\":")) || (rc = json_write_string(b, name, strlen(name))) ||
        (rc = buf_printf(b, ",\"version\":\"%s\",\"predictions\":[", v->version_str)))
        return rc;
    for (int64_t r = 0; r < batch; r++)
        if ((r && (rc = buf_append_char(b, ','))) || (rc = serve_write_row(b, p, (size_t)r)))
            return rc;
    if ((rc = buf_append_char(b, ']')))
        return rc;
    if (v->info->task != MMSP_TASK_REGRESSION && (rc = write_classes(b, v->info, p, batch)))
        return rc;
    return buf_printf(b, ",\"latency_ms\":%.3f}", (double)(http_now_ns() - req->start_ns) / 1e6);
}

mmsp_err serve_simple_predict(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    struct simple_call c = {.base = {.size = sizeof c, .reply = reply_predict}};
    mmsp_tensor x;
    mmsp_err rc = default_model(s, res, c.name, sizeof c.name);
    if (rc)
        return rc;
    if ((rc = serve_acquire(s, req, res, c.name, 1, &c.base.v)))
        return rc;
    rc = simple_request_parse(req->arena, req->body, req->body_len, &x, &c.id, res->err,
                              sizeof res->err);
    if (rc)
        return serve_call_end(req, &c.base, serve_input_error(rc));
    return serve_call_run_rows(req, res, &c.base, &x);
}

static mmsp_err on_info(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    struct serve_version *v = NULL;
    char name[256];
    struct buf *b = &res->body;
    mmsp_err rc = default_model(s, res, name, sizeof name);
    if (rc)
        return rc;
    if ((rc = serve_repo_acquire(s->repo, name, -1, &v, res->err, sizeof res->err)))
        return rc;
    const mmsp_model_info *info = v->info;
    const char *objective = info->objective ? info->objective : "";
    if ((rc = buf_append_str(b, "{\"name\":")) || (rc = json_write_string(b, name, strlen(name))) ||
        (rc = buf_printf(b, ",\"version\":\"%s\",\"backend\":", v->version_str)) ||
        (rc = json_write_string(b, info->backend, strlen(info->backend))) ||
        (rc = buf_append_str(b, ",\"platform\":")) ||
        (rc = json_write_string(b, info->platform, strlen(info->platform))) ||
        (rc = buf_append_str(b, ",\"objective\":")) ||
        (rc = json_write_string(b, objective, strlen(objective))) ||
        (rc = buf_printf(b, ",\"task\":\"%s\",\"num_class\":%d,\"num_feature\":%lld",
                         task_name(info->task), info->num_class, (long long)info->num_feature)))
        goto out;
    if (info->feature_names) {
        if ((rc = buf_append_str(b, ",\"feature_names\":[")))
            goto out;
        for (int64_t i = 0; i < info->num_feature; i++) {
            const char *f = info->feature_names[i] ? info->feature_names[i] : "";
            if ((i && (rc = buf_append_char(b, ','))) || (rc = json_write_string(b, f, strlen(f))))
                goto out;
        }
        if ((rc = buf_append_char(b, ']')))
            goto out;
    }
    if ((rc = buf_append_char(b, ',')) || (rc = serve_write_io_lists(b, v->model)))
        goto out;
    rc = buf_printf(b, ",\"loaded_at\":\"%s\"}", v->loaded_at);
out:
    serve_version_release(v);
    return rc;
}

mmsp_err serve_simple_register(struct serve_server *s, struct http_router *r)
{
    mmsp_err rc;
    if ((rc = http_router_add(r, "GET", "/health", on_health, s)) ||
        (rc = http_router_add(r, "GET", "/ready", on_ready, s)) ||
        /* With a gateway, its /predict hands bodies without "deployment" to us. */
        (!s->gateway && (rc = http_router_add(r, "POST", "/predict", serve_simple_predict, s))) ||
        (rc = http_router_add(r, "GET", "/model/info", on_info, s)))
        return rc;
    return MMSP_OK;
}
