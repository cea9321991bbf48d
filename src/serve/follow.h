/*
 * Registry mode of the inference role (docs/serve.md "Registry mode"): the follower makes the
 * model manager serve what the deployments of a registry say. A thread re-reads
 * registry_deployments_generation every poll_ms (and at once when woken by serve_follow_wake,
 * which the registry API calls after every change it makes); when it changed (and once at
 * start) it lists the deployments and makes the serving directory match them:
 *
 *   SERVING/<model>/config.yaml        version_policy specific: stable, canary, shadow versions
 *   SERVING/<model>/<version>/model.json (or model.onnx)   hard link to the registry artifact
 *                                      (a copy when the artifact is on another file system)
 *
 * where <model> is the deployment name for environment production and NAME@ENV (NAME@staging)
 * for the others. An artifact's SHA-256 is checked once (and again when the file changes)
 * before it is linked; a mismatch refuses that change. Then the model is (re)loaded with its
 * traffic split (serve_repo_load_traffic): new versions are loaded and warmed before the swap,
 * unchanged ones are reused, requests in flight finish on what they hold. A failed change
 * leaves the previous set serving, is logged and listed in the repository index. A deployment
 * that disappeared is unloaded and its directory removed.
 *
 * The serving directory belongs to one server: it holds a marker file (.mmsp-serving) that the
 * server keeps locked (flock) while it runs, and a non-empty directory without the marker is
 * refused, so a mistyped --serving-dir never gets its contents replaced.
 * Calls: registry, serve/repo, common/log.
 */
#ifndef MMSP_SERVE_FOLLOW_H
#define MMSP_SERVE_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "mmsp/error.h"

struct registry;
struct serve_repo;
struct metric_family;

#define SERVE_FOLLOW_POLL_MS 250 /* default poll period */

struct serve_follow_options {
    struct registry *registry; /* borrowed; outlives the follower */
    struct serve_repo *repo;   /* borrowed; created over serving_dir; outlives the follower */
    const char *serving_dir;   /* copied; created when missing; NULL = DATA/serving */
    unsigned poll_ms;          /* 0 = SERVE_FOLLOW_POLL_MS */
    /* Gauge family with one label (model): set to the deployment's generation once a change
     * applied, so a client can tell that this server serves a given change. NULL = none. */
    struct metric_family *generation;
};

struct serve_follow;

/*
 * Prepares the serving directory (creates it, checks and locks its marker), holds the
 * repository's readiness (serve_repo_hold_ready) until the first pass over the deployments is
 * done, and starts the follower thread. *out is owned by the caller (serve_follow_stop).
 * Errors: MMSP_E_IO (directory, lock: another server uses it), MMSP_E_INVALID (a non-empty
 * directory that is not a serving directory), MMSP_E_NOMEM; err says which.
 */
mmsp_err serve_follow_start(const struct serve_follow_options *o, struct serve_follow **out,
                            char *err, size_t errlen);

/* The serving directory to use: serving_dir, or DATA/serving for NULL or "" (malloc'd into
 * *out, owned by the caller). */
mmsp_err serve_follow_serving_dir(struct registry *reg, const char *serving_dir, char **out,
                                  char *err, size_t errlen);

/* Makes the follower look at the deployments now instead of at its next poll. `ctx` is the
 * struct serve_follow * (NULL is ignored): the signature of registry_api_options.on_change.
 * Safe from any thread. */
void serve_follow_wake(void *ctx);

/* The number of passes that applied the deployments so far (tests and logs: a pass that found
 * the generation unchanged does not count). */
uint64_t serve_follow_passes(struct serve_follow *f);

/* Stops the thread (a pass in progress finishes its current deployment), releases the marker
 * lock and frees f. The serving directory is left in place. NULL is ignored. */
void serve_follow_stop(struct serve_follow *f);

/* The model name a deployment is served under, into out: NAME for "production", else
 * NAME@ENVIRONMENT. MMSP_E_INVALID when it is not usable as a directory name (empty, starts
 * with '.', holds '/', or does not fit in outlen). */
mmsp_err serve_follow_model_name(const char *deployment, const char *environment, char *out,
                                 size_t outlen);

#endif
