/*
 * The inference path shared by the v2, v1 and simple APIs: version lookup, input matching,
 * datatype conversion, shape checks, running the model into arena buffers, and the per
 * request accounting (Prometheus series looked up at load time, Triton stats).
 * Calls: serve/repo, serve/v2_codec, serve/stats, mmsp runtime, metrics, http, common/json.
 */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "serve/fault.h"
#include "serve/serve_internal.h"

mmsp_err serve_input_error(mmsp_err rc)
{
    return rc == MMSP_E_TOO_LARGE ? MMSP_E_INVALID : rc;
}

mmsp_err serve_acquire(struct serve_server *s, struct http_request *req, struct http_response *res,
                       const char *name, int inference, struct serve_version **out)
{
    if (!name)
        name = http_request_param(req, "name");
    const char *vs = http_request_param(req, "version");
    int64_t version = -1;
    mmsp_err rc = MMSP_OK;
    if (vs) {
        version = serve_version_parse(vs);
        if (version < 0) {
            rc = http_fail(res, MMSP_E_NOT_FOUND,
                           "model '%s' has no version '%s' (versions are positive integers)", name,
                           vs);
            goto out;
        }
    }
    rc = serve_repo_acquire(s->repo, name, version, out, res->err, sizeof res->err);
out:
    if (rc && inference) {
        metrics_counter_add(s->unknown.requests, 1);
        metrics_counter_add(s->unknown.errors, 1);
    }
    return rc;
}

/* "[-1,30]" into buf for messages. */
static void shape_str(char *buf, size_t len, const int64_t *dims, int ndim)
{
    size_t off = 0;
    off += (size_t)snprintf(buf + off, len - off, "[");
    for (int i = 0; i < ndim && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (off < len)
        snprintf(buf + off, len - off, "]");
}

/* Checks t (already in the model's dtype) against io; updates *batch (-1 = not seen yet). */
static mmsp_err check_shape(struct http_response *res, const struct serve_version *v,
                            const mmsp_io_info *io, const mmsp_tensor *t, int64_t *batch)
{
    /* The shape strings are only formatted on the error paths: this runs on every request. */
    char want[128], got[128];
    if (t->ndim != io->ndim) {
        shape_str(want, sizeof want, io->dims, io->ndim);
        shape_str(got, sizeof got, t->shape, t->ndim);
        return http_fail(res, MMSP_E_SHAPE,
                         "input '%s': shape %s has %d dimensions, model '%s' expects %s", io->name,
                         got, t->ndim, v->model_name, want);
    }
    for (int d = 0; d < io->ndim; d++) {
        if (io->dims[d] >= 0 && t->shape[d] != io->dims[d]) {
            shape_str(want, sizeof want, io->dims, io->ndim);
            shape_str(got, sizeof got, t->shape, t->ndim);
            return http_fail(res, MMSP_E_SHAPE,
                             "input '%s': shape %s does not match model '%s' input shape %s "
                             "(dimension %d must be %lld)",
                             io->name, got, v->model_name, want, d, (long long)io->dims[d]);
        }
    }
    /* Only inputs with a variable leading dim carry the batch (as in mmsp_model_run). */
    if (io->ndim == 0 || io->dims[0] >= 0)
        return MMSP_OK;
    int64_t b = t->shape[0];
    if (*batch >= 0 && b != *batch)
        return http_fail(res, MMSP_E_SHAPE,
                         "input '%s': batch size %lld differs from the other inputs (%lld)",
                         io->name, (long long)b, (long long)*batch);
    if (b <= 0)
        return http_fail(res, MMSP_E_SHAPE, "input '%s': the batch is empty", io->name);
    if (v->config.max_batch_size > 0 && b > v->config.max_batch_size)
        return http_fail(res, MMSP_E_INVALID,
                         "input '%s': batch size %lld exceeds max_batch_size %lld of model '%s'",
                         io->name, (long long)b, (long long)v->config.max_batch_size,
                         v->model_name);
    *batch = b;
    return MMSP_OK;
}

/* Converts and checks the inputs (model order, in *inputs) and allocates the outputs for
 * *batch rows (in *outs), all in the arena. */
static mmsp_err prepare(struct http_request *req, struct http_response *res,
                        const struct serve_version *v, const mmsp_tensor *given, size_t n_given,
                        mmsp_tensor **inputs_out, mmsp_tensor **outs_out, int64_t *batch_out)
{
    mmsp_err rc = MMSP_OK;
    const mmsp_model *m = v->model;
    size_t n_in = mmsp_model_input_count(m), n_out = mmsp_model_output_count(m);
    int64_t batch = -1;
    mmsp_tensor *inputs = arena_calloc(req->arena, n_in ? n_in : 1, sizeof *inputs);
    mmsp_tensor *outs = arena_calloc(req->arena, n_out ? n_out : 1, sizeof *outs);
    if (!inputs || !outs)
        return http_fail(res, MMSP_E_TOO_LARGE, "request needs more memory than allowed");
    for (size_t k = 0; k < n_given; k++) {
        size_t i = 0;
        for (; i < n_in; i++)
            if (given[k].name && strcmp(given[k].name, mmsp_model_input(m, i)->name) == 0)
                break;
        if (i == n_in)
            return http_fail(res, MMSP_E_INVALID,
                             "unknown input '%s': model '%s' has no input of that name",
                             given[k].name ? given[k].name : "", v->model_name);
        if (inputs[i].name)
            return http_fail(res, MMSP_E_INVALID, "input '%s' is given twice", given[k].name);
        const mmsp_io_info *io = mmsp_model_input(m, i);
        rc = v2_tensor_convert(req->arena, &given[k], io->dtype, &inputs[i], res->err,
                               sizeof res->err);
        if (rc)
            return serve_input_error(rc);
        inputs[i].name = io->name;
        rc = check_shape(res, v, io, &inputs[i], &batch);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < n_in; i++)
        if (!inputs[i].name)
            return http_fail(res, MMSP_E_INVALID, "missing input '%s' of model '%s'",
                             mmsp_model_input(m, i)->name, v->model_name);
    if (batch < 0)
        batch = 1; /* no input has a batch dim */
    for (size_t i = 0; i < n_out; i++) {
        size_t bytes = mmsp_model_output_bytes(m, i, batch);
        if (!bytes)
            return http_fail(res, MMSP_E_UNSUPPORTED,
                             "output '%s' of model '%s' has no static size (a string output or a "
                             "variable dimension other than the batch): not servable yet",
                             mmsp_model_output(m, i)->name, v->model_name);
        outs[i].data = arena_alloc(req->arena, bytes);
        outs[i].nbytes = bytes;
        if (!outs[i].data)
            return http_fail(res, MMSP_E_TOO_LARGE,
                             "the outputs of %lld rows need more memory than allowed",
                             (long long)batch);
    }
    *inputs_out = inputs;
    *outs_out = outs;
    *batch_out = batch;
    return MMSP_OK;
}

/* Records one finished inference request of version v (counters, histogram, EWMA, stats). */
static void serve_record(const struct serve_version *v, mmsp_err rc, int64_t rows,
                         struct serve_timing *t, uint64_t start_ns)
{
    uint64_t now = http_now_ns();
    t->total = now - start_ns;
    double seconds = (double)t->total * 1e-9;
    metrics_counter_add(v->series.requests, 1);
    metrics_histogram_observe(v->series.duration, seconds);
    if (rc) {
        metrics_counter_add(v->series.errors, 1);
        serve_stats_record_failure(v->stats, t->total);
        return;
    }
    uint64_t spent = t->queue + t->input + t->infer;
    t->output = t->total > spent ? t->total - spent : 0;
    metrics_counter_add(v->series.predictions, (double)rows);
    metrics_gauge_set(v->series.latency, serve_stats_latency_update(v->stats, seconds));
    serve_stats_record_success(v->stats, rows, t);
}

mmsp_err serve_call_end(struct http_request *req, struct serve_call *call, mmsp_err rc)
{
    serve_record(call->v, rc, call->batch, &call->t, req->start_ns);
    serve_version_release(call->v);
    call->v = NULL;
    return rc;
}

/* A queued request: the job the batcher sees and the call it answers, in the arena. */
struct deferred {
    struct serve_job job;
    struct http_request *req;
    struct serve_call *call;
};

/* Executor thread: the batch has run. */
static void on_batch_done(struct serve_job *job)
{
    struct deferred *d = job->ctx;
    d->call->rc = job->rc;
    http_request_resume(d->req); /* from here on the request belongs to the event thread */
}

/* Event thread, after the resume: the rest of the handler. */
static mmsp_err on_resumed(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_call *call = ctx;
    mmsp_err rc = call->rc;
    if (!rc)
        rc = call->reply(req, res, call);
    return serve_call_end(req, call, rc);
}

/* Moves the call into the arena, parks the connection and queues the rows. */
static mmsp_err defer(struct http_request *req, struct http_response *res, struct serve_call *call,
                      const mmsp_tensor *inputs)
{
    struct serve_call *kept = arena_alloc(req->arena, call->size);
    struct deferred *d = arena_calloc(req->arena, 1, sizeof *d);
    if (!kept || !d)
        return serve_call_end(
            req, call, http_fail(res, MMSP_E_TOO_LARGE, "request needs more memory than allowed"));
    memcpy(kept, call, call->size);
    kept->t.batched = 1;
    d->req = req;
    d->call = kept;
    d->job.inputs = inputs;
    d->job.outs = kept->outs;
    d->job.rows = kept->batch;
    d->job.t = &kept->t;
    d->job.err = res->err;
    d->job.errlen = sizeof res->err;
    d->job.done = on_batch_done;
    d->job.ctx = d;
    kept->t.input = http_now_ns() - req->start_ns;
    /* Suspend before the job is visible to an executor, which may resume it at once. */
    http_request_suspend(req, on_resumed, kept);
    serve_batcher_submit(kept->v->batcher, &d->job);
    return MMSP_OK;
}

mmsp_err serve_call_run(struct http_request *req, struct http_response *res,
                        struct serve_call *call, const mmsp_tensor *given, size_t n_given)
{
    const struct serve_version *v = call->v;
    mmsp_tensor *inputs = NULL;
    mmsp_err rc = prepare(req, res, v, given, n_given, &inputs, &call->outs, &call->batch);
    if (rc) {
        call->batch = 0;
        return serve_call_end(req, call, rc);
    }
    /* test builds only (serve/fault.h): a chosen version fails or answers slowly */
    rc = serve_fault_apply(v->model_name, v->version, res->err, sizeof res->err);
    if (rc)
        return serve_call_end(req, call, rc);
    if (v->batcher)
        return defer(req, res, call, inputs);
    uint64_t t1 = http_now_ns();
    call->t.input = t1 - req->start_ns;
    rc = mmsp_model_run(v->model, inputs, mmsp_model_input_count(v->model), call->outs,
                        mmsp_model_output_count(v->model), res->err, sizeof res->err);
    call->t.infer = http_now_ns() - t1;
    if (rc) {
        if (rc != MMSP_E_SHAPE && rc != MMSP_E_DTYPE && rc != MMSP_E_INVALID)
            rc = MMSP_E_INTERNAL;
        return serve_call_end(req, call, rc);
    }
    return serve_call_end(req, call, call->reply(req, res, call));
}

mmsp_err serve_write_io(struct buf *b, const mmsp_io_info *io)
{
    mmsp_err rc;
    const char *dt = mmsp_dtype_name(io->dtype);
    if ((rc = buf_append_str(b, "{\"name\":")) ||
        (rc = json_write_string(b, io->name, strlen(io->name))) ||
        (rc = buf_printf(b, ",\"datatype\":\"%s\",\"shape\":[", dt ? dt : "")))
        return rc;
    for (int d = 0; d < io->ndim; d++)
        if ((rc = buf_printf(b, "%s%lld", d ? "," : "", (long long)io->dims[d])))
            return rc;
    return buf_append_str(b, "]}");
}

mmsp_err serve_write_io_lists(struct buf *b, const mmsp_model *m)
{
    mmsp_err rc = buf_append_str(b, "\"inputs\":[");
    for (size_t i = 0; !rc && i < mmsp_model_input_count(m); i++)
        if (!(i && (rc = buf_append_char(b, ','))))
            rc = serve_write_io(b, mmsp_model_input(m, i));
    if (!rc)
        rc = buf_append_str(b, "],\"outputs\":[");
    for (size_t i = 0; !rc && i < mmsp_model_output_count(m); i++)
        if (!(i && (rc = buf_append_char(b, ','))))
            rc = serve_write_io(b, mmsp_model_output(m, i));
    return rc ? rc : buf_append_char(b, ']');
}

mmsp_err serve_write_element(struct buf *b, const mmsp_tensor *t, size_t i)
{
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case MMSP_DT_FP32: {
        float f;
        memcpy(&f, p + i * 4, 4);
        return json_write_float(b, f);
    }
    case MMSP_DT_FP64: {
        double d;
        memcpy(&d, p + i * 8, 8);
        return json_write_double(b, d);
    }
    case MMSP_DT_INT64: {
        int64_t x;
        memcpy(&x, p + i * 8, 8);
        return json_write_int(b, x);
    }
    case MMSP_DT_INT32: {
        int32_t x;
        memcpy(&x, p + i * 4, 4);
        return json_write_int(b, x);
    }
    case MMSP_DT_BOOL:
    case MMSP_DT_UINT8:
        return json_write_int(b, p[i]);
    default:
        return MMSP_E_UNSUPPORTED;
    }
}

const mmsp_tensor *serve_predict_output(const mmsp_tensor *outputs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (outputs[i].name && strcmp(outputs[i].name, "predict") == 0)
            return &outputs[i];
    return n ? &outputs[0] : NULL;
}

size_t serve_row_width(const mmsp_tensor *t)
{
    size_t w = 1;
    for (int d = 1; d < t->ndim; d++)
        w *= (size_t)t->shape[d];
    return w;
}

/* Appends row r of t: a number when the row has one element, else a list. */
mmsp_err serve_write_row(struct buf *b, const mmsp_tensor *t, size_t r)
{
    size_t w = serve_row_width(t);
    mmsp_err rc;
    if (w == 1)
        return serve_write_element(b, t, r);
    if ((rc = buf_append_char(b, '[')))
        return rc;
    for (size_t k = 0; k < w; k++)
        if ((k && (rc = buf_append_char(b, ','))) || (rc = serve_write_element(b, t, r * w + k)))
            return rc;
    return buf_append_char(b, ']');
}

mmsp_err serve_call_run_rows(struct http_request *req, struct http_response *res,
                             struct serve_call *call, mmsp_tensor *x)
{
    const struct serve_version *v = call->v;
    if (mmsp_model_input_count(v->model) != 1)
        return serve_call_end(
            req, call,
            http_fail(res, MMSP_E_UNSUPPORTED,
                      "model '%s' has %zu inputs; this API needs a model with one input "
                      "(use the v2 infer endpoint)",
                      v->model_name, mmsp_model_input_count(v->model)));
    x->name = mmsp_model_input(v->model, 0)->name;
    return serve_call_run(req, res, call, x, 1);
}
