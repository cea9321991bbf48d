/*
 * The dynamic batcher of one model version (docs/serve.md "Dynamic batching"), with Triton's
 * meaning: requests join a queue in arrival order; a batch of a preferred size (the largest
 * that can be formed) or of max_batch_size leaves at once; otherwise the oldest request waits
 * at most max_queue_delay_microseconds, then whatever is queued leaves. A request never
 * splits across batches. `instance_count` executor threads take batches from the queue,
 * concatenate the rows of every input, run the model once and copy each request's rows of
 * every output back into the request's own buffers, then hand the request back (its `done`
 * callback, which resumes the HTTP connection).
 * Calls: mmsp runtime, serve/stats, metrics, http (clock only), common/log.
 */
#ifndef MMSP_SERVE_BATCH_H
#define MMSP_SERVE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/metrics.h"
#include "mmsp/runtime.h"
#include "serve/model_config.h"
#include "serve/stats.h"

/*
 * One queued request. Lives in the request's arena and belongs to the batcher from
 * serve_batcher_submit until `done` is called; after `done` the batcher never touches it.
 * The inputs are converted and checked (every input [rows, ...] in the model's dtype), the
 * outputs have buffers for `rows` rows; the executor fills outs (data, name, dtype, shape).
 */
struct serve_job {
    struct serve_job *next;
    const mmsp_tensor *inputs; /* n_inputs of them, in model input order; borrowed */
    mmsp_tensor *outs;         /* n_outputs of them, in model output order; borrowed */
    int64_t rows;
    uint64_t enqueue_ns;    /* set by submit */
    struct serve_timing *t; /* queue, input (+= concatenation), infer are written */
    mmsp_err rc;            /* result of the run */
    char *err;              /* message for rc, errlen bytes */
    size_t errlen;
    void (*done)(struct serve_job *job); /* called once, on an executor thread */
    void *ctx;                           /* for done */
};

/* Metric series of a batched version (owned by the metrics registry; NULL ones are skipped). */
struct serve_batch_series {
    struct metric_series *batch_size; /* mmsp_inference_batch_size: rows per model run */
    struct metric_series *queue;      /* mmsp_inference_queue_duration_seconds: per request */
    struct metric_series *compute;    /* mmsp_inference_compute_duration_seconds: per run */
};

struct serve_batcher;

/*
 * Starts the batcher of a version: c->instance_count executor threads. `m`, `c`, `stats` are
 * borrowed and must outlive the batcher (the version owns all of them). `name` is used in
 * log messages. MMSP_E_NOMEM / MMSP_E_INTERNAL (thread creation) with a message.
 */
mmsp_err serve_batcher_new(const char *name, const mmsp_model *m, const struct model_config *c,
                           struct serve_stats *stats, const struct serve_batch_series *series,
                           struct serve_batcher **out, char *err, size_t errlen);

/* Queues a job; the caller keeps no claim on it until `done`. Never fails: the queue is
 * bounded by the connection limit, since a connection has at most one request queued. */
void serve_batcher_submit(struct serve_batcher *b, struct serve_job *job);

/* From now on batches leave at once, without waiting for the delay (server shutdown). */
void serve_batcher_drain(struct serve_batcher *b);

/* Stops the executor threads and frees b. The queue must be empty (every queued job holds a
 * reference on the version that owns the batcher). NULL is ignored. */
void serve_batcher_free(struct serve_batcher *b);

#endif
