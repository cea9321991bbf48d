/*
 * The model manager of the inference role: scans a model repository (DESIGN.md section 5),
 * loads the versions each model's version policy selects, and serves them to requests as
 * reference-counted versions. (Re)load builds the new version set completely, then swaps it
 * in under a short write lock; requests in flight keep the versions they hold, so a hot swap
 * never fails a request. A version whose file and config did not change is reused by a reload
 * instead of being loaded again; a newly loaded version is warmed (one inference on zeros)
 * before it takes traffic. Unversioned requests go to the highest loaded version, or follow a
 * traffic split (stable + canary at a weight) set with serve_repo_load_traffic, which is how
 * registry mode (serve/follow.h) serves deployments. docs/serve.md describes the design.
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
    /* The model file when it was loaded: a reload reuses this version when the file at path
     * still has the same device, inode, size and modification time (and the config serves the
     * same way). */
    uint64_t file_dev, file_ino;
    int64_t file_size, file_mtime_ns;
    double warm_ms; /* time of the warm-up inference; -1 when it was skipped or failed */
};

/* Where unversioned requests of a model go (`/v2/models/NAME/infer`, `/v1/models/NAME:predict`,
 * the simple API). Explicitly versioned requests get the version they name. */
struct serve_traffic {
    int64_t stable;    /* 0 = no split: the highest loaded version */
    int64_t canary;    /* 0 = none */
    int canary_weight; /* 0..100: percent of unversioned requests sent to the canary */
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

/*
 * serve_repo_load that also sets the traffic split (`t` borrowed, copied), swapped in with the
 * version set in one step so no request sees a split naming a version that is not loaded.
 * MMSP_E_INVALID (nothing changes) when the split names a version the load did not select,
 * or the weight is outside 0..100. serve_repo_load keeps the current split when its versions
 * are still loaded, else clears it.
 */
mmsp_err serve_repo_load_traffic(struct serve_repo *r, const char *name,
                                 const struct serve_traffic *t, char *err, size_t errlen);

/*
 * Records why the last change of `name` failed outside the manager (registry mode: version
 * `version` was refused before a load, e.g. its artifact's digest did not match; 0 = no
 * particular version). Whatever serves keeps serving; the failure is listed in the repository
 * index until the next successful load. A model not known yet is added as UNAVAILABLE with
 * that reason (so the server is not ready). A failed serve_repo_load* records its error the
 * same way.
 */
mmsp_err serve_repo_note_failure(struct serve_repo *r, const char *name, int64_t version,
                                 const char *reason);

/* While held (registry mode, until the first pass over the deployments is done)
 * serve_repo_ready answers 0. */
void serve_repo_hold_ready(struct serve_repo *r, int hold);

/* Server shutdown: every loaded version's batcher sends what is queued at once, without
 * waiting for its delay. */
void serve_repo_drain(struct serve_repo *r);

/* Stops serving `name`: it answers 503 from now on; requests in flight finish. */
mmsp_err serve_repo_unload(struct serve_repo *r, const char *name, char *err, size_t errlen);

/*
 * Takes a reference on version `version` of `name` (-1 = unversioned: the traffic split's
 * stable or, with probability canary_weight/100, its canary; without a split the highest
 * loaded version).
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
    struct serve_traffic traffic; /* all 0 without a split */
    /* The last failed change while something else keeps serving ("" = none), and the version
     * it concerned (0 = none in particular). */
    char failure[MMSP_ERRMSG_MAX];
    int64_t failed_version;
};

/* Snapshots all models (sorted by name) with references on their versions. */
mmsp_err serve_repo_list(struct serve_repo *r, struct serve_model_view **out, size_t *n);
void serve_repo_list_free(struct serve_model_view *views, size_t n);

/* Number of models known, and the name of the only one when there is exactly one (copied
 * into name, size namelen). */
size_t serve_repo_count(struct serve_repo *r, char *name, size_t namelen);

/* 1 when every model that is supposed to be loaded (not unloaded on request) is READY and
 * readiness is not held (serve_repo_hold_ready). */
int serve_repo_ready(struct serve_repo *r);

/* Parses a version path segment ("3"): positive decimal integer, else -1. */
int64_t serve_version_parse(const char *s);

#endif
