/*
 * KServe v1 (TensorFlow-Serving style) endpoints, reference/protocols.md 2.3: list models,
 * model ready, and POST /v1/models/{name}:predict answering {"predictions": [...]} with one
 * entry per row (a number, or a list when the model predicts several values per row, as
 * KServe's xgbserver returns booster.predict()).
 * Calls: serve/infer (serve_internal.h), serve/repo, serve/v2_codec, http, common/json.
 */
#include <string.h>

#include "common/json.h"
#include "serve/serve_internal.h"

static mmsp_err on_list(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    struct serve_model_view *views = NULL;
    size_t n = 0;
    struct buf *b = &res->body;
    mmsp_err rc = serve_repo_list(s->repo, &views, &n);
    if (rc || (rc = buf_append_str(b, "{\"models\":[")))
        goto out;
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (!views[i].n_versions)
            continue;
        if ((!first && (rc = buf_append_char(b, ','))) ||
            (rc = json_write_string(b, views[i].name, strlen(views[i].name))))
            goto out;
        first = 0;
    }
    rc = buf_append_str(b, "]}");
out:
    serve_repo_list_free(views, n);
    return rc;
}

static mmsp_err on_ready(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    struct serve_version *v = NULL;
    struct buf *b = &res->body;
    mmsp_err rc = serve_acquire(s, req, res, NULL, 0, &v);
    if (rc)
        goto out;
    if ((rc = buf_append_str(b, "{\"name\":")) ||
        (rc = json_write_string(b, v->model_name, strlen(v->model_name))) ||
        (rc = buf_append_str(b, ",\"ready\":true}")))
        goto out;
out:
    serve_version_release(v);
    return rc;
}

/* {"predictions": [...]}: one entry per row. */
static mmsp_err reply_predict(struct http_request *req, struct http_response *res,
                              struct serve_call *call)
{
    struct buf *b = &res->body;
    const struct serve_version *v = call->v;
    const mmsp_tensor *p = serve_predict_output(call->outs, mmsp_model_output_count(v->model));
    mmsp_err rc;
    if ((rc = buf_append_str(b, "{\"predictions\":[")))
        return rc;
    for (int64_t r = 0; r < call->batch; r++)
        if ((r && (rc = buf_append_char(b, ','))) || (rc = serve_write_row(b, p, (size_t)r)))
            return rc;
    return buf_append_str(b, "]}");
}

static mmsp_err on_predict(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    struct serve_call c = {.size = sizeof c, .reply = reply_predict};
    mmsp_tensor x;
    mmsp_err rc = serve_acquire(s, req, res, NULL, 1, &c.v);
    if (rc)
        return rc;
    rc = v1_request_parse(req->arena, req->body, req->body_len, &x, res->err, sizeof res->err);
    if (rc)
        return serve_call_end(req, &c, serve_input_error(rc));
    return serve_call_run_rows(req, res, &c, &x);
}

mmsp_err serve_v1_register(struct serve_server *s, struct http_router *r)
{
    mmsp_err rc;
    if ((rc = http_router_add(r, "GET", "/v1/models", on_list, s)) ||
        (rc = http_router_add(r, "GET", "/v1/models/{name}", on_ready, s)) ||
        (rc = http_router_add(r, "POST", "/v1/models/{name}:predict", on_predict, s)))
        return rc;
    return MMSP_OK;
}
