/*
 * Shared by the files of the inference role (server.c, v2.c, v1.c, simple.c, infer.c): the
 * server context handed to every handler, the common inference path and JSON helpers.
 * Calls: serve/repo, serve/v2_codec, http, metrics.
 */
#ifndef MMSP_SERVE_INTERNAL_H
#define MMSP_SERVE_INTERNAL_H

#include <stdatomic.h>

#include "http/http.h"
#include "metrics/metrics.h"
#include "serve/repo.h"
#include "serve/serve.h"
#include "serve/v2_codec.h"

#define SERVE_STATUS_SLOTS 600

struct serve_server {
    struct serve_options o;
    char *default_model; /* owned copy; NULL = the only model */
    struct metrics_registry *reg;
    struct serve_families fam;
    struct metric_family *http_requests;
    _Atomic(struct metric_series *) http_series[SERVE_STATUS_SLOTS]; /* by status code */
    struct serve_series unknown; /* model="" version="": requests that resolve to no version */
    struct serve_repo *repo;
    struct serve_follow *follow; /* registry mode: the deployment follower (serve/follow.h) */
    struct metric_family *deployment_generation; /* registry mode */
    struct registry_api *registry_api; /* the registry APIs when o.registry is set (owned) */
    struct gateway *gateway;     /* POST /predict for deployments when o.registry is set (owned) */
    struct feat_store *features; /* feature store when o.registry is set (owned) */
    struct online_store *online; /* its online store (owned) */
    struct feast_api *feast;     /* the Feast routes' context (owned) */
    struct http_router *router;
    struct http_server *http;
};

/* Route registration, one function per API family. */
mmsp_err serve_v2_register(struct serve_server *s, struct http_router *r);
mmsp_err serve_v1_register(struct serve_server *s, struct http_router *r);
mmsp_err serve_simple_register(struct serve_server *s, struct http_router *r);
/* The simple API's POST /predict for the default model (ctx: the server); the gateway hands
 * it bodies without "deployment". */
mmsp_err serve_simple_predict(struct http_request *req, struct http_response *res, void *ctx);

/*
 * Takes a reference on the version a request names: path params "name" and optional "version"
 * (or `name` when not NULL, for the simple API). On failure writes the message into res and,
 * for an inference request (`inference` 1), counts it under model="" version="". Release
 * with serve_version_release.
 */
mmsp_err serve_acquire(struct serve_server *s, struct http_request *req, struct http_response *res,
                       const char *name, int inference, struct serve_version **out);

/*
 * One inference request between its parse and its answer. A handler embeds it as the first
 * member of its own struct (kept on its stack), sets `size` to sizeof that struct and `reply`,
 * and calls serve_call_run. When the version batches, the whole struct is copied into the
 * request arena and the answer is written later, on resume: so the handler's struct must not
 * point into the handler's stack (arena pointers and values are fine).
 */
struct serve_call;

/* Writes the success response from call->outs (model output order) and call->batch rows. */
typedef mmsp_err (*serve_reply_fn)(struct http_request *req, struct http_response *res,
                                   struct serve_call *call);

struct serve_call {
    size_t size; /* of the handler's struct that embeds this one first */
    serve_reply_fn reply;
    struct serve_version *v; /* reference held by the handler; serve_call_end releases it */
    mmsp_tensor *outs;       /* arena: mmsp_model_output_count tensors, after the run */
    int64_t batch;           /* rows of the request */
    struct serve_timing t;
    mmsp_err rc; /* batched only: the result of the model run */
};

/*
 * The common inference path. Matches `given` tensors to the model's inputs by name, converts
 * them to the model's datatypes, checks shapes (batch <= max_batch_size), then runs the model:
 *  - inline (no dynamic_batching): into arena buffers, then call->reply, then serve_call_end;
 *  - batched: queues the request on the version's batcher and suspends the connection; the
 *    reply and serve_call_end run on the event thread once the batch has run.
 * Errors are written into res. Returns what the handler must return.
 */
mmsp_err serve_call_run(struct http_request *req, struct http_response *res,
                        struct serve_call *call, const mmsp_tensor *given, size_t n_given);

/* serve_call_run for a model with exactly one input, fed the rows of x (FP32 [rows, cols],
 * the v1 and simple API bodies); x->name is set to the model's input name. */
mmsp_err serve_call_run_rows(struct http_request *req, struct http_response *res,
                             struct serve_call *call, mmsp_tensor *x);

/* Every handler path after a successful acquire ends here: records the request (counters,
 * histogram, EWMA, stats) and releases the version. Returns rc. */
mmsp_err serve_call_end(struct http_request *req, struct serve_call *call, mmsp_err rc);

/* {"name": ..., "datatype": ..., "shape": [...]} for one model input or output. */
mmsp_err serve_write_io(struct buf *b, const mmsp_io_info *io);

/* Appends "inputs":[...],"outputs":[...] (model metadata tensors, -1 = variable dim). */
mmsp_err serve_write_io_lists(struct buf *b, const mmsp_model *m);

/* Appends element i of tensor t as a JSON number. */
mmsp_err serve_write_element(struct buf *b, const mmsp_tensor *t, size_t i);

/* The output that holds per-row predictions: the one named "predict", else output 0. */
const mmsp_tensor *serve_predict_output(const mmsp_tensor *outputs, size_t n);

/* Elements per row of a [batch, ...] output. */
size_t serve_row_width(const mmsp_tensor *t);

/* Appends row r of a [batch, ...] tensor: a number when the row has one element, else a list. */
mmsp_err serve_write_row(struct buf *b, const mmsp_tensor *t, size_t r);

/* Maps the codec's TOO_LARGE (an overflowing shape, too many elements) to a 400. */
mmsp_err serve_input_error(mmsp_err rc);

#endif
