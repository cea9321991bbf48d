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
    struct http_router *router;
    struct http_server *http;
};

/* Route registration, one function per API family. */
mmsp_err serve_v2_register(struct serve_server *s, struct http_router *r);
mmsp_err serve_v1_register(struct serve_server *s, struct http_router *r);
mmsp_err serve_simple_register(struct serve_server *s, struct http_router *r);

/*
 * Takes a reference on the version a request names: path params "name" and optional "version"
 * (or `name` when not NULL, for the simple API). On failure writes the message into res and,
 * for an inference request (`inference` 1), counts it under model="" version="". Release
 * with serve_version_release.
 */
mmsp_err serve_acquire(struct serve_server *s, struct http_request *req, struct http_response *res,
                       const char *name, int inference, struct serve_version **out);

/*
 * The common inference path. Matches `given` tensors to the model's inputs by name, converts
 * them to the model's datatypes, checks shapes (batch <= max_batch_size) and runs the model
 * into arena buffers. On success *outputs holds mmsp_model_output_count tensors (arena) and
 * *batch the row count; timings are filled (input, infer). Errors are written into res.
 */
mmsp_err serve_infer(struct http_request *req, struct http_response *res,
                     const struct serve_version *v, const mmsp_tensor *given, size_t n_given,
                     mmsp_tensor **outputs, int64_t *batch, struct serve_timing *t);

/* Records one finished inference request of version v (counters, histogram, EWMA, stats). */
void serve_record(const struct serve_version *v, mmsp_err rc, int64_t rows, struct serve_timing *t,
                  uint64_t start_ns);

/* {"name": ..., "datatype": ..., "shape": [...]} for one model input or output. */
mmsp_err serve_write_io(struct buf *b, const mmsp_io_info *io);

/* Appends element i of tensor t as a JSON number. */
mmsp_err serve_write_element(struct buf *b, const mmsp_tensor *t, size_t i);

/* The output that holds per-row predictions: the one named "predict", else output 0. */
const mmsp_tensor *serve_predict_output(const mmsp_tensor *outputs, size_t n);

/* Elements per row of a [batch, ...] output. */
size_t serve_row_width(const mmsp_tensor *t);

/* Appends row r of a [batch, ...] tensor: a number when the row has one element, else a list. */
mmsp_err serve_write_row(struct buf *b, const mmsp_tensor *t, size_t r);

/* serve_infer for a model with exactly one input, fed the rows of x (FP32 [rows, cols], the
 * v1 and simple API bodies); x->name is set to the model's input name. */
mmsp_err serve_run_rows(struct http_request *req, struct http_response *res,
                        const struct serve_version *v, mmsp_tensor *x, mmsp_tensor **outs,
                        int64_t *batch, struct serve_timing *t);

/* Maps the codec's TOO_LARGE (an overflowing shape, too many elements) to a 400. */
mmsp_err serve_input_error(mmsp_err rc);

#endif
