/*
 * The prediction log (docs/gateway.md "Prediction log"): every /predict answer is queued by
 * predlog_write, which never blocks on I/O (a bounded ring under a short lock; a full ring drops
 * the record and counts it), and a background thread hands the records to a writer that puts
 * them into rotating files DIR/predictions-<UTC timestamp>-<seq>.<ext>. The writer is a small
 * vtable (open_file / write_record / close_file): JSON lines and Parquet (a new format is a
 * new file implementing struct predlog_writer_ops plus one line in the gateway's options).
 * Calls: common/buf, common/json, metrics.
 */
#ifndef MMSP_GATEWAY_PREDLOG_H
#define MMSP_GATEWAY_PREDLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmsp/error.h"
#include "mmsp/tensor.h"

struct metrics_registry;

/* One prediction. All pointers are borrowed for the predlog_write call only: the record is
 * copied. NULL strings are written as null. Tensors are FP32 (others are written as null);
 * probabilities may be NULL or have NULL data. */
struct predlog_record {
    int64_t time_ms; /* Unix time in ms; 0 = now */
    const char *id;
    const char *deployment;
    const char *environment; /* "production" | "staging" */
    const char *model;       /* registry model name */
    int64_t version;
    const char *variant; /* "stable" | "canary" */
    const char *entity_id;
    const mmsp_tensor *inputs;        /* [rows, cols] */
    const mmsp_tensor *prediction;    /* [rows] or [rows, k] */
    const mmsp_tensor *probabilities; /* [rows, classes] or NULL */
    double latency_ms;
    const char *status; /* "ok" or an error name */
};

/* A queued record: one malloc'd block (strings and tensor data inside it), owned by the log
 * until the writer has seen it. Writers read it, never free it. */
struct predlog_entry {
    int64_t time_ms;
    int64_t version;
    double latency_ms;
    const char *id, *deployment, *environment, *model, *variant, *entity_id, *status;
    mmsp_tensor inputs, prediction, probabilities; /* data NULL when absent */
    /* The input feature names of the version that answered, in input order, set by the log's
     * thread before a writer sees the entry (predlog_options.feature_names); NULL / 0 when
     * unknown. Borrowed from the log's cache. */
    const char *const *feature_names;
    size_t nfeature_names;
};

/* Resolves the input feature names of the model version that answered e (its deployment,
 * environment and version): fills up to max names (malloc'd, the log frees them) and sets *n
 * (0 = the model has no names); on an error it leaves nothing in names. Called from the log's
 * thread, never on the request path; the log caches the answer per (deployment, environment,
 * version), a failure for 5 s. */
typedef mmsp_err (*predlog_names_fn)(void *ctx, const struct predlog_entry *e, char **names,
                                     size_t max, size_t *n);

/* The writer interface. A writer instance is owned by the log; every call comes from the
 * log's background thread. */
struct predlog_writer;
struct predlog_writer_ops {
    const char *name;      /* "jsonl" */
    const char *extension; /* file name extension without the dot: "jsonl" */
    /* Opens `path` (a new file); the writer keeps its own state. */
    mmsp_err (*open_file)(struct predlog_writer *w, const char *path, char *err, size_t errlen);
    /* Appends one record; *bytes is set to the file's size after it (for rotation). */
    mmsp_err (*write_record)(struct predlog_writer *w, const struct predlog_entry *e, size_t *bytes,
                             char *err, size_t errlen);
    /* Pushes buffered bytes to the file (the queue ran empty); may be NULL. */
    mmsp_err (*flush)(struct predlog_writer *w, char *err, size_t errlen);
    /* Flushes and closes the current file (fsync'ed); a no-op when none is open. */
    mmsp_err (*close_file)(struct predlog_writer *w, char *err, size_t errlen);
    void (*free)(struct predlog_writer *w);
    /* True when e cannot go into the open file (Parquet: other features, by count or name,
     * or another prediction or class width, so another schema): the log closes the file and
     * opens the next one first. May be NULL. */
    bool (*starts_new_file)(struct predlog_writer *w, const struct predlog_entry *e);
};
struct predlog_writer {
    const struct predlog_writer_ops *ops;
};

/* The JSON-lines writer: one object per line with the keys time (RFC 3339, ms, UTC), id,
 * deployment, environment, model, version, variant, entity_id, inputs, prediction,
 * probabilities, latency_ms, status. Owned by the caller until passed to predlog_open. */
mmsp_err predlog_writer_jsonl(struct predlog_writer **out);

/* The Parquet writer (predlog_parquet.c): one row per input row with the columns time
 * (TIMESTAMP_MS), id, deployment, environment, model (STRING), version (INT64), variant,
 * entity_id (STRING), one DOUBLE column per input feature (named after the model's feature
 * names when the entry has them, drift_log_feature_columns; else f0..fN-1), prediction (DOUBLE;
 * null unless the model gives one number per row), prediction_0..k-1 (DOUBLE, only for models
 * giving k > 1 numbers per row), prob_0..m-1 (DOUBLE, the class probabilities, when the
 * record has them), latency_ms (DOUBLE), status (STRING). A record whose feature count or
 * names, prediction width or class count differ from the open file's starts a new file. Rows are
 * written as a row group every row_group_rows rows (0 = 10000, at most 65536) and at rotation; a
 * file is visible under its name only once complete (footer written, fsync'd, renamed). Owned by
 * the caller until passed to predlog_open. */
mmsp_err predlog_writer_parquet(size_t row_group_rows, struct predlog_writer **out);

/* Appends e as one JSON object (no newline) to b; exposed for tests and other writers. */
struct buf;
mmsp_err predlog_entry_json(struct buf *b, const struct predlog_entry *e);

struct predlog_options {
    const char *dir;                  /* created when missing (one level) */
    size_t max_bytes;                 /* rotate once a file passes this; 0 = 64 MiB */
    int64_t max_age_ms;               /* rotate once a file is this old; 0 = 1 hour */
    size_t queue;                     /* records queued before dropping; 0 = 65536 */
    struct predlog_writer *writer;    /* owned by the log from predlog_open on; NULL = jsonl */
    struct metrics_registry *metrics; /* borrowed; NULL = no metrics */
    predlog_names_fn feature_names;   /* NULL = names unknown (Parquet: f0..fN-1) */
    void *feature_names_ctx;          /* borrowed; must outlive the log */
};

struct predlog;

/* Starts the background thread. On failure the writer is freed too. */
mmsp_err predlog_open(const struct predlog_options *o, struct predlog **out, char *err,
                      size_t errlen);

/* Shorthand for the gateway: JSON lines, no metrics. */
mmsp_err predlog_open_dir(const char *dir, size_t max_bytes, size_t queue, struct predlog **out,
                          char *err, size_t errlen);

/* Queues a copy of r; never waits for I/O. MMSP_E_UNAVAILABLE when the queue is full (the
 * record is dropped and counted), MMSP_E_NOMEM when the copy cannot be made (also dropped). A
 * NULL log is a no-op returning MMSP_OK. */
mmsp_err predlog_write(struct predlog *log, const struct predlog_record *r);

/* Counters (also exported as mmsp_prediction_log_records_total / _dropped_total). */
uint64_t predlog_written(struct predlog *log); /* records handed to the writer successfully */
uint64_t predlog_dropped(struct predlog *log); /* full queue, no memory, or a write error */

/* Blocks until every record queued before the call has been written and the file flushed. */
void predlog_flush(struct predlog *log);

/* Writes everything still queued, closes the file, stops the thread, frees. NULL ignored. */
void predlog_close(struct predlog *log);

#endif
