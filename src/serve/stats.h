/*
 * Per model version statistics in Triton's format (GET /v2/models/stats): request counts and
 * cumulative nanoseconds per phase, plus per-batch-size execution stats. Lock-free: every
 * field is an atomic, so any number of request threads record at once.
 * Calls: common/buf, common/json.
 */
#ifndef MMSP_SERVE_STATS_H
#define MMSP_SERVE_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/buf.h"
#include "mmsp/error.h"

#define SERVE_STATS_BATCH_SLOTS 64

struct serve_duration {
    atomic_ullong count;
    atomic_ullong ns;
};

struct serve_batch_stat {
    atomic_llong batch_size; /* 0 = free slot */
    struct serve_duration compute_input, compute_infer, compute_output;
};

struct serve_stats {
    atomic_ullong last_inference_ms; /* wall clock, ms since the epoch */
    atomic_ullong inference_count;   /* rows */
    atomic_ullong execution_count;   /* model runs */
    struct serve_duration success, fail, queue, compute_input, compute_infer, compute_output;
    struct serve_batch_stat batches[SERVE_STATS_BATCH_SLOTS];
    atomic_ullong latency_ewma_bits; /* double: exponentially weighted mean latency, seconds */
};

/* Phase durations of one successful request, in ns. `batched`: the request ran inside a
 * batch of the dynamic batcher, which counts the model runs itself. */
struct serve_timing {
    uint64_t total, queue, input, infer, output;
    int batched;
};

/* One successful request of `batch` rows. Unless t->batched, it is also one model run
 * (execution_count, batch_stats), as on the inline path. */
void serve_stats_record_success(struct serve_stats *s, int64_t batch, const struct serve_timing *t);

/* One model run of the dynamic batcher over `batch` rows: execution_count and the
 * batch_stats entry of that size (t: input = concatenation, infer, output = scatter). */
void serve_stats_record_execution(struct serve_stats *s, int64_t batch,
                                  const struct serve_timing *t);
void serve_stats_record_failure(struct serve_stats *s, uint64_t total_ns);

/* Folds one request's latency (seconds) into the exponentially weighted mean and returns the
 * new mean (weight 0.1 for the newest request; the first request sets it). */
double serve_stats_latency_update(struct serve_stats *s, double seconds);

/* Appends one Triton model_stats entry: {"name", "version", "last_inference", ...}. */
mmsp_err serve_stats_write(const struct serve_stats *s, const char *name, const char *version,
                           struct buf *out);

#endif
