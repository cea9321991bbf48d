/*
 * The model manager of the inference role: scans a model repository (DESIGN.md section 5),
 * loads the versions each model's version policy selects, and serves them to requests as
 * reference-counted versions. (Re)load builds the new version set completely, then swaps it
 * in under a short write lock; requests in flight keep the versions they hold, so a hot swap
 * never fails a request. docs/serve.md describes the design.
 * Calls: mmsp runtime, serve/model_config, serve/stats, metrics, common/log.
 */
#ifndef MMSP_SERVE_REPO_H
#define MMSP_SERVE_REPO_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "metrics/metrics.h"
#include "mmsp/runtime.h"
#include "serve/batch.h"
#include "serve/model_config.h"
#include "serve/stats.h"

/* Per-version metric series, looked up once when the version is loaded. */
struct serve_series {
    struct metric_series *requests;    /* inference_requests_total */
    struct metric_series *predictions; /* inference_predictions_total */
    struct metric_series *errors;      /* inference_errors_total */
    struct metric_series *latency;     /* inference_latency_seconds (EWMA gauge) */
    struct metric_series *duration;    /* mmsp_inference_request_duration_seconds */
};

/* The metric families the manager resolves series from (owned by the server's registry). */
struct serve_families {
    struct metric_family *requests, *predictions, *errors, *latency, *duration;
    struct metric_family *batch_size, *queue, *compute; /* dynamic batching only */
};

/* One loaded version. Immutable after load except the refcount; freed by the last release. */
struct serve_version {
    atomic_long refs;
    char *model_name; /* owned */
    int64_t version;
    char version_str[24];
    mmsp_model *model;           /* owned reference */
    const mmsp_model_info *info; /* owned by model */
    struct model_config config;  /* owned; completed from the model */
    struct serve_stats *stats;   /* owned by the repo (lives as long as it, survives reloads) */
    struct serve_series series;  /* owned by the metrics registry */
    /* The dynamic batcher (owned; stopped when the last reference goes), NULL when the config
     * has no dynamic_batching section: then requests run inline on the HTTP thread. */
    struct serve_batcher *batcher;
    char loaded_at[32]; /* RFC 3339 UTC */
    char path[4096];    /* model file */
};

enum serve_model_state { SERVE_MODEL_READY = 0, SERVE_MODEL_UNAVAILABLE };

struct serve_repo;

/* Creates the manager over directory `dir` (copied). `reg` and `fam` are borrowed and must
 * outlive it. Nothing is loaded yet. */
mmsp_err serve_repo_new(const char *dir, struct metrics_registry *reg,
                        const struct serve_families *fam, struct serve_repo **out);

/* Loads every model directory found in the repository. Models that fail stay listed as
 * UNAVAILABLE with the reason (logged); returns the number that failed. */
size_t serve_repo_load_all(struct serve_repo *r);

/* Frees everything (drops the manager's references; versions still held by a request are
 * freed by that request's release). */
void serve_repo_free(struct serve_repo *r);

/*
 * Loads (or reloads) model `name` from disk: new version directories, config changes and all.
 * On failure the versions loaded before keep serving and err says why (MMSP_E_NOT_FOUND when
 * the directory does not exist, else the loader's code).
 */
mmsp_err serve_repo_load(struct serve_repo *r, const char *name, char *err, size_t errlen);

/* Server shutdown: every loaded version's batcher sends what is queued at once, without
 * waiting for its delay. */
void serve_repo_drain(struct serve_repo *r);

/* Stops serving `name`: it answers 503 from now on; requests in flight finish. */
mmsp_err serve_repo_unload(struct serve_repo *r, const char *name, char *err, size_t errlen);

/*
 * Takes a reference on version `version` of `name` (-1 = the highest loaded version).
 * MMSP_E_NOT_FOUND: unknown model, or version not loaded; MMSP_E_UNAVAILABLE: the model is
 * known but not loaded (unloaded or failed). err says which. Release with
 * serve_version_release.
 */
mmsp_err serve_repo_acquire(struct serve_repo *r, const char *name, int64_t version,
                            struct serve_version **out, char *err, size_t errlen);

void serve_version_release(struct serve_version *v); /* NULL is ignored */

/* A snapshot of one model for listings. Strings and versions are owned by the snapshot. */
struct serve_model_view {
    char name[256];
    enum serve_model_state state;
    char reason[MMSP_ERRMSG_MAX];
    struct serve_version **versions; /* held references, ascending */
    size_t n_versions;
};

/* Snapshots all models (sorted by name) with references on their versions. */
mmsp_err serve_repo_list(struct serve_repo *r, struct serve_model_view **out, size_t *n);
void serve_repo_list_free(struct serve_model_view *views, size_t n);

/* Number of models known, and the name of the only one when there is exactly one (copied
 * into name, size namelen). */
size_t serve_repo_count(struct serve_repo *r, char *name, size_t namelen);

/* 1 when every model that is supposed to be loaded (not unloaded on request) is READY. */
int serve_repo_ready(struct serve_repo *r);

/* Parses a version path segment ("3"): positive decimal integer, else -1. */
int64_t serve_version_parse(const char *s);

#endif
