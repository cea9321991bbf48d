/*
 * The inference role as a library: `mmsp serve` (src/cli/cmd_serve.c) fills serve_options,
 * starts the server and stops it on a signal. The endpoints, the model manager and the
 * metrics are described in docs/serve.md.
 * Calls: serve/repo, serve handlers, http, metrics.
 */
#ifndef MMSP_SERVE_H
#define MMSP_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "mmsp/error.h"

struct registry;

struct serve_options {
    /* Repository mode: serve a hand-made model repository (DESIGN.md section 5). */
    const char *model_repository; /* borrowed; NULL = registry mode */
    /* Registry mode (model_repository NULL): serve what the deployments of `registry` say,
     * materialising a repository under serving_dir from the registry's artifacts. The
     * registry APIs (/api/v1, /api/2.0/mlflow) are hosted whenever registry is set. */
    struct registry *registry; /* borrowed; outlives the server */
    const char *serving_dir;   /* default DATA/serving */
    unsigned poll_ms;          /* deployments re-read every poll_ms; default 250 */
    const char *admin_token;   /* write endpoints need "Authorization: Bearer" it; NULL = open */
    const char *policy_path;   /* gate policy for registrations over HTTP; NULL = built in */
    const char *host;          /* default "127.0.0.1" */
    uint16_t port;             /* 0 = any free port */
    const char *default_model; /* simple API model; NULL = the only model */
    size_t max_body_bytes;     /* default 8 MiB */
    unsigned threads;          /* 0 = number of cores */
    int use_poll;              /* HTTP event loop: 0 = epoll, 1 = poll (--event-loop) */
    int http_sched_batch;      /* HTTP threads as SCHED_BATCH (--http-sched batch) */
    unsigned idle_timeout_s;   /* default 30 */
    unsigned max_connections;  /* default 1024 */
    /* Roles (docs/gateway.md "Remote inference"): SERVE_ROLE_* bits; 0 = all. Without the
     * inference role there is no model manager and no follower; the gateway role then needs
     * inference_urls (remote back end) and a registry (deployments). */
    unsigned roles;
    const char *const *inference_urls; /* borrowed; n of them; gateway over remote roles */
    size_t n_inference_urls;
    const char *prediction_log_dir;    /* gateway role: rotating prediction log here; NULL = none */
    const char *prediction_log_format; /* "parquet" (NULL = default) or "jsonl" */
    size_t prediction_log_max_bytes;   /* rotate after; 0 = 64 MiB */
    int64_t prediction_log_max_age_ms; /* rotate after; 0 = 1 hour */
    /* Gateway role, streaming retraining trigger (docs/drift.md): a command or a webhook URL
     * (at most one; both NULL = the MMSP_RETRAIN_* environment variables, else none). */
    const char *retrain_command;
    const char *retrain_webhook;
    /* Feature store (docs/features.md), hosted whenever registry is set: its database is
     * features_url (a postgres:// URL) or DATA/features.db; the online store is online_store
     * ("redis://HOST:PORT") or NULL = embedded. */
    const char *features_url;
    const char *online_store;
};

enum serve_role {
    SERVE_ROLE_GATEWAY = 1,
    SERVE_ROLE_INFERENCE = 2,
    SERVE_ROLE_REGISTRY = 4,
    SERVE_ROLE_ALL = 7,
};

struct serve_server;

/* Loads the repository and starts listening. Models that fail to load are logged and left
 * UNAVAILABLE (the server then reports not ready); a missing repository or a listen failure
 * is an error with a message in err. */
mmsp_err serve_server_start(const struct serve_options *o, struct serve_server **out, char *err,
                            size_t errlen);

/* The bound port (useful with port 0) and host. */
uint16_t serve_server_port(const struct serve_server *s);

/* Stops accepting, finishes requests in flight, unloads everything, frees s. */
void serve_server_stop(struct serve_server *s);

#endif
