/*
 * The inference role's server (see serve.h, docs/serve.md): owns the metrics registry, the
 * model manager, the router and the HTTP server; registers the v2, v1 and simple endpoints
 * and GET /metrics; counts HTTP responses per status code. In registry mode (no model
 * repository, a registry) the model manager works over the serving directory that the
 * deployment follower (serve/follow.h) keeps in step with the registry's deployments.
 * Calls: serve/repo, serve/follow, serve/v2.c, serve/v1.c, serve/simple.c, http, metrics,
 * common/log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "registry/api.h"
#include "features/online.h"
#include "features/transform.h"
#include "gateway/gateway.h"
#include "serve/follow.h"
#include "serve/serve_internal.h"

static mmsp_err on_metrics(struct http_request *req, struct http_response *res, void *ctx)
{
    struct serve_server *s = ctx;
    res->content_type = "text/plain; version=0.0.4";
    return metrics_render(s->reg, &res->body);
}

/* Liveness and readiness of a server without the inference role (gateway / registry only):
 * up once it listens. */
static mmsp_err on_health(struct http_request *req, struct http_response *res, void *ctx)
{
    (void)ctx;
    return buf_append_str(&res->body,
                          strstr(req->path, "/live") ? "{\"live\":true}" : "{\"ready\":true}");
}

/* Counts every response in mmsp_http_requests_total{code}; the series of a code is looked
 * up the first time the code is seen and cached. */
static void on_request_done(void *ctx, const struct http_request *req, int status)
{
    struct serve_server *s = ctx;
    if (status < 100 || status >= SERVE_STATUS_SLOTS)
        return;
    struct metric_series *series =
        atomic_load_explicit(&s->http_series[status], memory_order_acquire);
    if (!series) {
        char code[8];
        snprintf(code, sizeof code, "%d", status);
        const char *labels[1] = {code};
        series = metrics_series(s->http_requests, labels);
        if (!series)
            return;
        atomic_store_explicit(&s->http_series[status], series, memory_order_release);
    }
    metrics_counter_add(series, 1);
}

/* Batch sizes: powers of two up to 8192 rows (larger batches land in +Inf). */
static const double batch_buckets[] = {1,   2,   4,   8,    16,   32,   64,
                                       128, 256, 512, 1024, 2048, 4096, 8192};

static mmsp_err register_metrics(struct serve_server *s)
{
    static const char *const mv[2] = {"model", "version"};
    static const char *const code[1] = {"code"};
    struct metrics_registry *r = s->reg;
    s->fam.requests = metrics_family_register(r, "inference_requests_total",
                                              "Inference requests received, per model version.",
                                              METRIC_COUNTER, mv, 2, NULL, 0);
    s->fam.predictions = metrics_family_register(r, "inference_predictions_total",
                                                 "Rows predicted successfully, per model version.",
                                                 METRIC_COUNTER, mv, 2, NULL, 0);
    s->fam.errors = metrics_family_register(
        r, "inference_errors_total",
        "Inference requests that failed, per model version (model=\"\" when the request named "
        "no loaded model version).",
        METRIC_COUNTER, mv, 2, NULL, 0);
    s->fam.latency = metrics_family_register(
        r, "inference_latency_seconds",
        "Average inference latency: exponentially weighted mean over the last successful "
        "requests (weight 0.1 for the newest).",
        METRIC_GAUGE, mv, 2, NULL, 0);
    s->fam.duration = metrics_family_register(
        r, "mmsp_inference_request_duration_seconds",
        "Inference request duration from complete headers to the response, per model version.",
        METRIC_HISTOGRAM, mv, 2, metrics_latency_buckets, metrics_latency_buckets_count);
    s->fam.batch_size = metrics_family_register(
        r, "mmsp_inference_batch_size",
        "Rows per model run of the dynamic batcher, per model version (models with "
        "dynamic_batching only).",
        METRIC_HISTOGRAM, mv, 2, batch_buckets, sizeof batch_buckets / sizeof batch_buckets[0]);
    s->fam.queue = metrics_family_register(
        r, "mmsp_inference_queue_duration_seconds",
        "Time a request waited in the dynamic batcher's queue, per model version (models with "
        "dynamic_batching only).",
        METRIC_HISTOGRAM, mv, 2, metrics_latency_buckets, metrics_latency_buckets_count);
    s->fam.compute = metrics_family_register(
        r, "mmsp_inference_compute_duration_seconds",
        "Model run time of one batch of the dynamic batcher, per model version (models with "
        "dynamic_batching only).",
        METRIC_HISTOGRAM, mv, 2, metrics_latency_buckets, metrics_latency_buckets_count);
    s->http_requests = metrics_family_register(r, "mmsp_http_requests_total",
                                               "HTTP responses sent, per status code.",
                                               METRIC_COUNTER, code, 1, NULL, 0);
    if (!s->fam.requests || !s->fam.predictions || !s->fam.errors || !s->fam.latency ||
        !s->fam.duration || !s->fam.batch_size || !s->fam.queue || !s->fam.compute ||
        !s->http_requests)
        return MMSP_E_NOMEM;
    const char *none[2] = {"", ""};
    s->unknown.requests = metrics_series(s->fam.requests, none);
    s->unknown.errors = metrics_series(s->fam.errors, none);
    if (!s->unknown.requests || !s->unknown.errors)
        return MMSP_E_NOMEM;
    return MMSP_OK;
}

void serve_server_stop(struct serve_server *s)
{
    if (!s)
        return;
    /* Queued requests leave at once instead of waiting out their delay; the HTTP server then
     * waits for them (a suspended request is in flight) before it stops. */
    if (s->repo)
        serve_repo_drain(s->repo);
    http_server_stop(s->http);
    registry_api_free(s->registry_api); /* no request uses it once the server stopped */
    gateway_free(s->gateway);           /* before the model manager its back end borrows */
    free(s->feast);
    online_store_free(s->online); /* after the gateway and the HTTP server that read it */
    feat_store_close(s->features);
    serve_follow_stop(s->follow); /* after the HTTP server: the registry API wakes it */
    http_router_free(s->router);
    serve_repo_free(s->repo);
    metrics_registry_free(s->reg);
    free(s->default_model);
    free(s);
}

/* Registry mode: the model manager over the serving directory (default DATA/serving) and
 * the follower that fills it from the deployments. */
static mmsp_err start_following(struct serve_server *s, char *err, size_t errlen)
{
    char *serving = NULL;
    mmsp_err rc = serve_follow_serving_dir(s->o.registry, s->o.serving_dir, &serving, err, errlen);
    if (rc)
        return rc;
    if ((rc = serve_repo_new(serving, s->reg, &s->fam, &s->repo)))
        goto out;
    static const char *const model[1] = {"model"};
    s->deployment_generation = metrics_family_register(
        s->reg, "mmsp_deployment_generation",
        "Registry mode: generation of the deployment served as this model once its last change "
        "applied (compare with the registry's to see that a change is live).",
        METRIC_GAUGE, model, 1, NULL, 0);
    if (!s->deployment_generation) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    struct serve_follow_options fo = {
        .registry = s->o.registry,
        .repo = s->repo,
        .serving_dir = serving,
        .poll_ms = s->o.poll_ms,
        .generation = s->deployment_generation,
    };
    if ((rc = serve_follow_start(&fo, &s->follow, err, errlen)))
        goto out;
    log_info("serve.start", "registry mode: serving the deployments from %s (poll %u ms)", serving,
             s->o.poll_ms ? s->o.poll_ms : SERVE_FOLLOW_POLL_MS);
out:
    free(serving);
    return rc;
}

/* A change through the registry API: the follower and the gateway look at it at once. */
static void on_registry_change(void *ctx)
{
    struct serve_server *s = ctx;
    serve_follow_wake(s->follow);
    gateway_wake(s->gateway);
}

/* The feature store next to the registry: DATA/features.db (or o.features_url), its online
 * store (embedded or Redis) and the Feast routes' context. */
static mmsp_err start_features(struct serve_server *s, char *err, size_t errlen)
{
    mmsp_err rc = feat_store_open(registry_data_dir(s->o.registry), s->o.features_url, &s->features,
                                  err, errlen);
    if (!rc)
        rc = online_store_open(s->o.online_store, s->features, &s->online, err, errlen);
    if (!rc && !(s->feast = calloc(1, sizeof *s->feast)))
        rc = MMSP_E_NOMEM;
    if (rc)
        return rc;
    s->feast->fs = s->features;
    s->feast->online = s->online;
    s->feast->admin_token = s->o.admin_token;
    log_info("serve.features", "feature store: %s online store", s->online->ops->name);
    return MMSP_OK;
}

/* The gateway's POST /predict over the in-process back end; bodies without "deployment" go
 * to the simple API. */
static mmsp_err start_gateway(struct serve_server *s, char *err, size_t errlen)
{
    struct gateway_backend *be = NULL;
    mmsp_err rc;
    if (s->o.n_inference_urls) {
        /* --inference-url: the gateway calls remote inference roles (gateway/remote.c). */
        struct gateway_remote_options ro = {.urls = s->o.inference_urls,
                                            .n_urls = s->o.n_inference_urls};
        rc = gateway_backend_remote(&ro, &be, err, errlen);
    } else if (s->repo) {
        rc = gateway_backend_local(s->repo, &be);
    } else {
        snprintf(err, errlen, "the gateway role without the inference role needs --inference-url");
        rc = MMSP_E_INVALID;
    }
    if (rc)
        return rc;
    struct gateway_options go = {
        .registry = s->o.registry,
        .backend = be,
        .metrics = s->reg,
        .admin_token = s->o.admin_token,
        .poll_ms = s->o.poll_ms,
        .fallback_predict = s->repo ? serve_simple_predict : NULL,
        .fallback_ctx = s,
        .prediction_log_dir = s->o.prediction_log_dir,
        .prediction_log_format = s->o.prediction_log_format,
        .prediction_log_max_bytes = s->o.prediction_log_max_bytes,
        .prediction_log_max_age_ms = s->o.prediction_log_max_age_ms,
        .retrain_command = s->o.retrain_command,
        .retrain_webhook = s->o.retrain_webhook,
        .features = s->features,
        .online = s->online,
    };
    return gateway_new(&go, &s->gateway, err, errlen);
}

mmsp_err serve_server_start(const struct serve_options *o, struct serve_server **out, char *err,
                            size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    struct stat st;
    struct serve_server *s = calloc(1, sizeof *s);
    if (!s)
        return MMSP_E_NOMEM;
    s->o = *o;
    errno = 0;
    unsigned roles = o->roles ? o->roles : SERVE_ROLE_ALL;
    int inference = (roles & SERVE_ROLE_INFERENCE) != 0;
    int registry_mode = !o->model_repository && o->registry;
    if (!o->registry && (roles & SERVE_ROLE_GATEWAY) && !inference) {
        snprintf(err, errlen,
                 "the gateway role needs a registry (--data or --registry) for the "
                 "deployments");
        rc = MMSP_E_INVALID;
        goto out;
    }
    if (inference && !registry_mode &&
        (!o->model_repository || stat(o->model_repository, &st) || !S_ISDIR(st.st_mode))) {
        snprintf(err, errlen, "model repository '%s' is not a directory%s%s",
                 o->model_repository ? o->model_repository : "", errno ? ": " : "",
                 errno ? strerror(errno) : "");
        rc = MMSP_E_NOT_FOUND;
        goto out;
    }
    if (o->default_model && !(s->default_model = strdup(o->default_model))) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    s->reg = metrics_registry_new();
    if (!s->reg || (rc = register_metrics(s))) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    if (!inference) {
        /* No model manager: the gateway and/or the registry APIs only. */
    } else if (registry_mode) {
        /* Before the routes: the registry API's on_change is serve_follow_wake(s->follow). */
        if ((rc = start_following(s, err, errlen)))
            goto out;
    } else {
        if ((rc = serve_repo_new(o->model_repository, s->reg, &s->fam, &s->repo)))
            goto out;
        size_t failed = serve_repo_load_all(s->repo);
        if (failed)
            log_warn("serve.start", "%zu model(s) failed to load; the server is not ready", failed);
    }
    if (s->default_model && !registry_mode && s->repo) {
        struct serve_version *v = NULL;
        char why[MMSP_ERRMSG_MAX];
        if (serve_repo_acquire(s->repo, s->default_model, -1, &v, why, sizeof why))
            log_warn("serve.start", "default model: %s", why);
        serve_version_release(v);
    }
    if (o->registry && (rc = start_features(s, err, errlen)))
        goto out;
    if (o->registry && (roles & SERVE_ROLE_GATEWAY) && (rc = start_gateway(s, err, errlen)))
        goto out;
    s->router = http_router_new();
    if (!s->router) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    if (s->repo) {
        if (!(rc = serve_v2_register(s, s->router)) && !(rc = serve_v1_register(s, s->router)))
            rc = serve_simple_register(s, s->router);
    } else if (!(rc = http_router_add(s->router, "GET", "/v2/health/live", on_health, s))) {
        rc = http_router_add(s->router, "GET", "/v2/health/ready", on_health, s);
    }
    if (!rc && s->gateway) /* POST /predict and POST /alerts */
        rc = gateway_register(s->gateway, s->router);
    if (!rc && s->feast) /* the Feast feature server routes (features/online.h) */
        rc = feast_api_register(s->feast, s->router);
    if (!rc) /* POST /transform (features/transform.h): DATA/transformers/ when a registry */
        rc = transform_register(s->router, o->registry ? registry_data_dir(o->registry) : NULL);
    if (rc || (rc = http_router_add(s->router, "GET", "/metrics", on_metrics, s))) {
        snprintf(err, errlen, "cannot register routes: %s", mmsp_strerror(rc));
        goto out;
    }
    if (o->registry && (roles & SERVE_ROLE_REGISTRY)) {
        /* The registry APIs (/api/v1, /api/2.0/mlflow); changes wake the follower at once. */
        struct registry_api_options ao = {.registry = o->registry,
                                          .admin_token = o->admin_token,
                                          .policy_path = o->policy_path,
                                          .on_change = on_registry_change,
                                          .change_ctx = s};
        if ((rc = registry_api_register(s->router, &ao, &s->registry_api))) {
            snprintf(err, errlen, "cannot register the registry API: %s", mmsp_strerror(rc));
            goto out;
        }
    }
    struct http_server_options ho = {
        .host = o->host,
        .port = o->port,
        .threads = o->threads,
        .use_poll = o->use_poll,
        .sched_batch = o->http_sched_batch,
        .max_body_bytes = o->max_body_bytes,
        .idle_timeout_s = o->idle_timeout_s,
        .max_connections = o->max_connections,
        .on_request_done = on_request_done,
        .observer_ctx = s,
    };
    rc = http_server_start(&ho, s->router, &s->http, err, errlen);
out:
    if (rc) {
        if (rc == MMSP_E_NOMEM && err)
            snprintf(err, errlen, "out of memory");
        serve_server_stop(s);
        return rc;
    }
    *out = s;
    return MMSP_OK;
}

uint16_t serve_server_port(const struct serve_server *s)
{
    return http_server_port(s->http);
}
