/*
 * The gateway role (docs/gateway.md): `POST /predict` for deployments — environment and
 * variant routing (canary weight, sticky cohorts, shadow mirror), inference in-process or on
 * remote inference roles, metrics per deployment/version/variant, a prediction log — and the
 * Alertmanager webhook `POST /alerts` that rolls a bad canary back.
 * Calls: registry (deployments, events, rollback), serve/repo (in-process inference),
 * http (server + client), metrics, common.
 *
 * Metric names (the canary controller and deploy/monitoring rules rely on them):
 *   mmsp_gateway_requests_total{deployment,environment,version,variant}          counter
 *   mmsp_gateway_errors_total{deployment,environment,version,variant}            counter
 *   mmsp_gateway_request_duration_seconds{deployment,environment,version,variant} histogram
 *   mmsp_gateway_canary_weight{deployment,environment}                           gauge (0..100)
 *   mmsp_gateway_shadow_comparisons_total{deployment,environment,result}          counter
 *                                                   (result = agree | disagree | error)
 *   mmsp_gateway_shadow_abs_diff{deployment,environment}                          histogram
 *   mmsp_prediction_log_records_total / mmsp_prediction_log_dropped_total          counters
 *   mmsp_gateway_alerts_total{action}                 counter (rollback|resolved|duplicate|ignored)
 *   mmsp_gateway_canary_fallbacks_total{deployment,environment}   counter (canary not loaded:
 *                                                   the request went to stable)
 *   mmsp_gateway_shadow_dropped_total{deployment,environment}     counter (shadow queue full)
 * variant is "stable" or "canary"; version is the registry version number as text.
 */
#ifndef MMSP_GATEWAY_H
#define MMSP_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "mmsp/error.h"
#include "mmsp/tensor.h"

struct http_request;
struct http_response;
struct http_router;
struct metrics_registry;
struct registry;
struct serve_repo;
struct feat_store;
struct online_store;

/*
 * Where inference happens. One request: model `model` (the v2 model name the inference role
 * serves: the deployment name in production, "NAME@staging" in staging), `version` (> 0), one
 * FP32 input [rows, cols] fed to the model's only input. On success *out holds the
 * prediction output (the output named "predict", else the first) and, for classifiers, the
 * probabilities ([rows, classes]; dtype FP32; NULL data when the model has none). Output
 * buffers are malloc'd and owned by the caller (gateway_result_free).
 * MMSP_E_UNAVAILABLE: no replica could answer (remote) or the version is not loaded.
 */
struct gateway_result {
    mmsp_tensor prediction;    /* data malloc'd */
    mmsp_tensor probabilities; /* data malloc'd or NULL */
};
void gateway_result_free(struct gateway_result *r);

struct gateway_backend {
    const struct gateway_backend_ops *ops;
};

struct gateway_backend_ops {
    const char *name; /* "local" | "remote" */
    mmsp_err (*infer)(struct gateway_backend *b, const char *model, int64_t version,
                      const mmsp_tensor *input, unsigned timeout_ms, struct gateway_result *out,
                      char *err, size_t errlen);
    /* Input description of a model version, for named features: fills up to `max` names
     * (owned by the caller: free each) in model input order. */
    mmsp_err (*feature_names)(struct gateway_backend *b, const char *model, int64_t version,
                              char **names, size_t max, size_t *n, char *err, size_t errlen);
    void (*free)(struct gateway_backend *b);
};

/* In-process back end over the inference role's model manager (borrowed). */
mmsp_err gateway_backend_local(struct serve_repo *repo, struct gateway_backend **out);

/* Remote back end: Open Inference Protocol v2 over HTTP to `urls` (round-robin, keep-alive
 * libcurl handles, a failed replica is skipped and retried after a back-off). */
struct gateway_remote_options {
    const char *const *urls; /* copied */
    size_t n_urls;
    unsigned connect_timeout_ms; /* default 1000 */
    unsigned backoff_ms;         /* first back-off of a failed replica; default 500, doubles up
                                    to 10 s */
};
mmsp_err gateway_backend_remote(const struct gateway_remote_options *o,
                                struct gateway_backend **out, char *err, size_t errlen);

/* The prediction log (writer interface: JSON lines today, Parquet later). */
struct predlog;

struct gateway_options {
    struct registry *registry;         /* borrowed: deployments, events, rollback */
    struct gateway_backend *backend;   /* owned by the gateway from gateway_new on */
    struct metrics_registry *metrics;  /* borrowed */
    const char *admin_token;           /* POST /alerts needs "Authorization: Bearer" it when
                                          set (alertmanager.yml http_config.authorization) */
    unsigned timeout_ms;               /* per inference request; default 2000 */
    unsigned poll_ms;                  /* deployments re-read; default 250 */
    const char *prediction_log_dir;    /* NULL = no log; else rotating files here */
    size_t prediction_log_max_bytes;   /* rotate after; default 64 MiB */
    size_t prediction_log_queue;       /* records queued before dropping; default 65536 */
    const char *prediction_log_format; /* "parquet" (NULL = default) or "jsonl" */
    int64_t prediction_log_max_age_ms; /* rotate an older file; 0 = 1 hour */
    /* Where a POST /predict body without "deployment" goes (the inference role's simple API
     * for its default model); NULL = such a body is a 400. */
    mmsp_err (*fallback_predict)(struct http_request *req, struct http_response *res, void *ctx);
    void *fallback_ctx;
    /* Feature store (features/online.h), both borrowed, may be NULL: a body with "entity_id"
     * and no inputs gets the model's features from the views bound to the deployment
     * (`mmsp features bind`). */
    struct feat_store *features;
    struct online_store *online;
    /* Streaming retraining trigger (docs/drift.md): when a deployment's drift window turns
     * critical, its report is written under DATA/drift/<deployment>/ and this command is run
     * with the report's path appended (no shell), or the webhook gets a POST; once per
     * episode, recorded as "retrain_triggered". At most one (`mmsp serve --retrain-command /
     * --retrain-webhook`); both NULL = the environment variables MMSP_RETRAIN_COMMAND /
     * MMSP_RETRAIN_WEBHOOK when set, else no trigger. */
    const char *retrain_command;
    const char *retrain_webhook;
    size_t drift_min_rows; /* window rows before an episode can change; 0 = 1000 */
};

struct gateway;

mmsp_err gateway_new(const struct gateway_options *o, struct gateway **out, char *err,
                     size_t errlen);
/* Adds POST /predict and POST /alerts to the router. */
mmsp_err gateway_register(struct gateway *g, struct http_router *router);
/* Re-read the deployments now (the registry API's on_change may chain to it). */
void gateway_wake(struct gateway *g);
void gateway_free(struct gateway *g); /* after the HTTP server stopped */

#endif
