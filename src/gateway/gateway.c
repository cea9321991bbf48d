/*
 * The gateway (gateway.h, docs/gateway.md): `POST /predict` for deployments. It keeps a cache
 * of the registry's deployments (re-read by a poll thread when the deployments generation
 * moves, or at once on gateway_wake), picks the variant of each request (route.c: sticky
 * cohort hash or weighted random), runs it on the back end (local.c in-process, remote.c over
 * HTTP), falls back to stable when the canary is not loaded yet, mirrors requests to a shadow
 * version through a bounded queue and one worker thread, and keeps the metrics named in
 * gateway.h. A body without "deployment" goes to the fallback handler (the simple API).
 * Calls: registry (deployments), the back end, http, metrics, common/json, common/log.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "common/log.h"
#include "drift/drift.h"
#include "features/online.h"
#include "features/transform.h"
#include "gateway/alerts.h"
#include "gateway/predlog.h"
#include "gateway/gateway_internal.h"
#include "http/http.h"
#include "metrics/metrics.h"

#define SHADOW_QUEUE     1024 /* mirrored requests waiting for the worker before dropping */
#define DEFAULT_POLL_MS  250
#define DEFAULT_TIMEOUT  2000
#define MAX_SHADOW_BYTES ((size_t)1 << 20) /* a larger request is not mirrored (counted error) */

static const double shadow_diff_buckets[] = {1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1};

void gateway_result_free(struct gateway_result *r)
{
    if (!r)
        return;
    free(r->prediction.data);
    free(r->probabilities.data);
    memset(r, 0, sizeof *r);
}

/* --- the deployments cache -------------------------------------------------------------- */

/* Copies the cached deployment (name, env) into *out; 0 when there is none. */
static int dep_cmp(const char *name, const char *env, const struct gateway_dep *e)
{
    int c = strcmp(name, e->name);
    return c ? c : strcmp(env, e->environment);
}

static int dep_find(struct gateway *g, const char *name, const char *env, struct gateway_dep *out)
{
    int found = 0;
    pthread_rwlock_rdlock(&g->deps_lock);
    size_t lo = 0, hi = g->n_deps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = dep_cmp(name, env, &g->deps[mid]);
        if (c == 0) {
            *out = g->deps[mid];
            found = 1;
            break;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    pthread_rwlock_unlock(&g->deps_lock);
    return found;
}

/* Streaming drift: (re)loads DATA/baselines/<deployment>.json (changed files only). */
static void drift_reload(struct gateway *g)
{
    const char *dd = g->drift ? registry_data_dir(g->registry) : NULL;
    char dir[4096], e[MMSP_ERRMSG_MAX];
    if (!dd)
        return;
    snprintf(dir, sizeof dir, "%s/baselines", dd);
    if (drift_stream_load_dir(g->drift, dir, e, sizeof e))
        log_warn("gateway.drift", "%s", e);
}

static void *poll_main(void *arg)
{
    struct gateway *g = arg;
    char err[MMSP_ERRMSG_MAX];
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        if (!g->woken) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += g->poll_ms / 1000;
            ts.tv_nsec += (long)(g->poll_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        }
        if (g->stop)
            break;
        g->woken = 0;
        pthread_mutex_unlock(&g->mu);
        if (gateway_refresh(g, 0, err, sizeof err))
            log_warn("gateway.poll", "cannot read the deployments: %s", err);
        drift_reload(g);
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

void gateway_wake(struct gateway *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    g->woken = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* --- shadow ----------------------------------------------------------------------------- */

struct gateway_shadow_job {
    char served[GATEWAY_NAME_MAX + 16];
    int64_t shadow, stable;
    mmsp_tensor input;     /* data malloc'd */
    mmsp_tensor reference; /* the stable answer (data malloc'd), or data NULL: compute it */
    struct metric_series *result[3], *diff;
};

static void job_free(struct gateway_shadow_job *j)
{
    if (!j)
        return;
    free(j->input.data);
    free(j->reference.data);
    free(j);
}

static void shadow_run(struct gateway *g, struct gateway_shadow_job *j)
{
    struct gateway_result shadow = {0}, stable = {0};
    char err[MMSP_ERRMSG_MAX];
    const struct gateway_backend_ops *ops = g->backend->ops;
    mmsp_err rc = ops->infer(g->backend, j->served, j->shadow, &j->input, g->timeout_ms, &shadow,
                             err, sizeof err);
    const mmsp_tensor *ref = &j->reference;
    if (!rc && !ref->data) {
        rc = ops->infer(g->backend, j->served, j->stable, &j->input, g->timeout_ms, &stable, err,
                        sizeof err);
        ref = &stable.prediction;
    }
    if (rc) {
        log_debug("gateway.shadow", "%s v%" PRId64 ": %s", j->served, j->shadow, err);
        metrics_counter_add(j->result[2], 1);
    } else {
        double d = gateway_prediction_diff(&shadow.prediction, ref);
        if (d >= 0)
            metrics_histogram_observe(j->diff, d);
        metrics_counter_add(j->result[d >= 0 && d <= GATEWAY_SHADOW_AGREE ? 0 : 1], 1);
    }
    gateway_result_free(&shadow);
    gateway_result_free(&stable);
}

static void *shadow_main(void *arg)
{
    struct gateway *g = arg;
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (!g->stop && g->shadow_len == 0)
            pthread_cond_wait(&g->shadow_cv, &g->mu);
        if (g->stop)
            break;
        struct gateway_shadow_job *j = g->shadow_q[g->shadow_head];
        g->shadow_head = (g->shadow_head + 1) % g->shadow_cap;
        g->shadow_len--;
        pthread_mutex_unlock(&g->mu);
        shadow_run(g, j);
        job_free(j);
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

static void *dup_bytes(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

/* Queues a mirrored copy of the request; a full queue drops it (counted). Never blocks on
 * the worker: the lock is only held to push a pointer. */
static void shadow_enqueue(struct gateway *g, const struct gateway_dep *e, const mmsp_tensor *x,
                           const mmsp_tensor *stable_answer)
{
    struct gateway_shadow_job *j = NULL;
    if (x->nbytes > MAX_SHADOW_BYTES) {
        metrics_counter_add(e->shadow_result[2], 1);
        return;
    }
    if (!(j = calloc(1, sizeof *j)))
        goto drop;
    snprintf(j->served, sizeof j->served, "%s", e->served);
    j->shadow = e->shadow;
    j->stable = e->stable;
    memcpy(j->result, e->shadow_result, sizeof j->result);
    j->diff = e->shadow_diff;
    j->input = *x;
    j->input.name = NULL;
    if (!(j->input.data = dup_bytes(x->data, x->nbytes)))
        goto drop;
    if (stable_answer) {
        j->reference = *stable_answer;
        j->reference.name = NULL;
        if (!(j->reference.data = dup_bytes(stable_answer->data, stable_answer->nbytes)))
            goto drop;
    }
    pthread_mutex_lock(&g->mu);
    if (g->shadow_len < g->shadow_cap) {
        g->shadow_q[(g->shadow_head + g->shadow_len) % g->shadow_cap] = j;
        g->shadow_len++;
        j = NULL;
        pthread_cond_signal(&g->shadow_cv);
    }
    pthread_mutex_unlock(&g->mu);
    if (!j)
        return;
drop:
    metrics_counter_add(e->shadow_dropped, 1);
    job_free(j);
}

/* --- POST /predict ---------------------------------------------------------------------- */

/* Appends element i of t as a JSON number. */
static mmsp_err write_element(struct buf *b, const mmsp_tensor *t, size_t i)
{
    switch (t->dtype) {
    case MMSP_DT_FP32:
        return json_write_float(b, ((const float *)t->data)[i]);
    case MMSP_DT_FP64:
        return json_write_double(b, ((const double *)t->data)[i]);
    case MMSP_DT_INT64:
        return json_write_int(b, ((const int64_t *)t->data)[i]);
    case MMSP_DT_INT32:
        return json_write_int(b, ((const int32_t *)t->data)[i]);
    default:
        return buf_append_str(b, "null");
    }
}

/* One row: a number when the row has one element, else a list. */
static mmsp_err write_row(struct buf *b, const mmsp_tensor *t, size_t r, size_t w)
{
    mmsp_err rc;
    if (w == 1)
        return write_element(b, t, r);
    if ((rc = buf_append_char(b, '[')))
        return rc;
    for (size_t k = 0; k < w; k++)
        if ((k && (rc = buf_append_char(b, ','))) || (rc = write_element(b, t, r * w + k)))
            return rc;
    return buf_append_char(b, ']');
}

/* One row: its value; several rows: a list of them. */
static mmsp_err write_rows(struct buf *b, const mmsp_tensor *t)
{
    size_t es = mmsp_dtype_size(t->dtype);
    size_t n = es ? t->nbytes / es : 0;
    size_t rows = t->ndim > 0 && t->shape[0] > 0 ? (size_t)t->shape[0] : 1;
    size_t w = n / rows;
    mmsp_err rc;
    if (w == 0)
        return buf_append_str(b, "null");
    if (rows == 1)
        return write_row(b, t, 0, w);
    if ((rc = buf_append_char(b, '[')))
        return rc;
    for (size_t r = 0; r < rows; r++)
        if ((r && (rc = buf_append_char(b, ','))) || (rc = write_row(b, t, r, w)))
            return rc;
    return buf_append_char(b, ']');
}

/* 128 random bits as 32 hex digits. */
static void new_id(char out[33])
{
    snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, gateway_random(), gateway_random());
}

static mmsp_err reply(struct http_request *req, struct http_response *res,
                      const struct gateway_dep *e, const char *id, int variant, int64_t version,
                      const struct gateway_result *r, const char *label)
{
    struct buf *b = &res->body;
    mmsp_err rc;
    if ((rc = buf_append_str(b, "{\"id\":")) || (rc = json_write_string(b, id, strlen(id))) ||
        (rc = buf_append_str(b, ",\"deployment\":")) ||
        (rc = json_write_string(b, e->name, strlen(e->name))) ||
        (rc = buf_append_str(b, ",\"environment\":")) ||
        (rc = json_write_string(b, e->environment, strlen(e->environment))) ||
        (rc = buf_append_str(b, ",\"model\":")) ||
        (rc = json_write_string(b, e->model, strlen(e->model))) ||
        (rc = buf_printf(b, ",\"version\":%" PRId64 ",\"variant\":\"%s\",\"prediction\":", version,
                         variant ? "canary" : "stable")) ||
        (rc = label ? json_write_string(b, label, strlen(label)) : write_rows(b, &r->prediction)))
        return rc;
    if (r->probabilities.data && ((rc = buf_append_str(b, ",\"probabilities\":")) ||
                                  (rc = write_rows(b, &r->probabilities))))
        return rc;
    return buf_printf(b, ",\"latency_ms\":%.3f}", (double)(http_now_ns() - req->start_ns) / 1e6);
}

/* By entity: the model's named features fetched from the views bound to the deployment
 * (features/online.h); 404 for an unknown entity unless the binding says "default". */
static mmsp_err entity_row(struct gateway *g, struct http_request *req, struct http_response *res,
                           const struct gateway_request *pr, const char *served, int64_t version,
                           mmsp_tensor *x)
{
    if (!g->features || !g->online)
        return http_fail(res, MMSP_E_INVALID,
                         "'entity_id' needs the feature store; send 'inputs' or 'features'");
    char **names = arena_calloc(req->arena, GATEWAY_MAX_FEATURES, sizeof *names);
    size_t n = 0;
    if (!names)
        return http_fail(res, MMSP_E_TOO_LARGE, "request needs more memory than allowed");
    mmsp_err rc = g->backend->ops->feature_names(
        g->backend, served, version, names, GATEWAY_MAX_FEATURES, &n, res->err, sizeof res->err);
    if (rc)
        return rc;
    float *row = n ? arena_calloc(req->arena, n, sizeof *row) : NULL;
    int bound = 0;
    if (n == 0)
        rc = http_fail(res, MMSP_E_INVALID,
                       "'entity_id': model '%s' version %" PRId64 " has no feature names", served,
                       version);
    else if (!row)
        rc = http_fail(res, MMSP_E_TOO_LARGE, "request needs more memory than allowed");
    else if ((rc = feat_gateway_vector(g->features, g->online, pr->deployment, pr->entity_id,
                                       (const char *const *)names, n, row, &bound, res->err,
                                       sizeof res->err)) &&
             rc == MMSP_E_NOT_FOUND && !bound)
        rc = MMSP_E_INVALID; /* no binding: the request, not the entity, is wrong */
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    if (rc)
        return rc;
    memset(x, 0, sizeof *x);
    x->dtype = MMSP_DT_FP32;
    x->ndim = 2;
    x->shape[0] = 1;
    x->shape[1] = (int64_t)n;
    x->data = row;
    x->nbytes = n * sizeof *row;
    return MMSP_OK;
}

/* The input rows for version `version`: the parsed "inputs", or the named features ordered
 * by that version's feature names. */
static mmsp_err input_for(struct gateway *g, struct http_request *req, struct http_response *res,
                          const struct gateway_request *pr, const char *served, int64_t version,
                          mmsp_tensor *x)
{
    if (!pr->features && !pr->inputs.data && pr->entity_id)
        return entity_row(g, req, res, pr, served, version, x);
    if (!pr->features) {
        *x = pr->inputs;
        return MMSP_OK;
    }
    char **names = arena_calloc(req->arena, GATEWAY_MAX_FEATURES, sizeof *names);
    size_t n = 0;
    if (!names)
        return http_fail(res, MMSP_E_TOO_LARGE, "request needs more memory than allowed");
    mmsp_err rc = g->backend->ops->feature_names(
        g->backend, served, version, names, GATEWAY_MAX_FEATURES, &n, res->err, sizeof res->err);
    if (rc)
        return rc;
    if (n == 0)
        rc = http_fail(res, MMSP_E_INVALID,
                       "'features': model '%s' version %" PRId64
                       " has no feature names; send 'inputs' rows instead",
                       served, version);
    else
        rc = gateway_features_row(req->arena, pr->features, names, n, x, res->err, sizeof res->err);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return rc;
}

/* The prediction log's feature names (predlog_names_fn): the model version's names from the
 * back end, asked from the log's thread once per version. */
static mmsp_err log_feature_names(void *ctx, const struct predlog_entry *e, char **names,
                                  size_t max, size_t *n)
{
    struct gateway *g = ctx;
    char served[GATEWAY_NAME_MAX + 16], err[MMSP_ERRMSG_MAX];
    bool staging = e->environment && strcmp(e->environment, "staging") == 0;
    int len = snprintf(served, sizeof served, "%s%s", e->deployment, staging ? "@staging" : "");
    if (len < 0 || (size_t)len >= sizeof served)
        return MMSP_E_TOO_LARGE;
    mmsp_err rc = g->backend->ops->feature_names(g->backend, served, e->version, names, max, n, err,
                                                 sizeof err);
    if (rc)
        log_debug("gateway.predlog", "feature names of %s v%" PRId64 ": %s", served, e->version,
                  err);
    return rc;
}

static mmsp_err on_predict(struct http_request *req, struct http_response *res, void *ctx)
{
    struct gateway *g = ctx;
    struct gateway_request pr;
    struct gateway_dep e;
    struct gateway_result r = {0};
    char idbuf[33];
    mmsp_err rc =
        gateway_request_parse(req->arena, req->body, req->body_len, &pr, res->err, sizeof res->err);
    if (rc)
        return rc == MMSP_E_TOO_LARGE ? rc : (rc == MMSP_E_NOMEM ? rc : MMSP_E_INVALID);
    if (!pr.deployment) {
        if (g->fallback_predict)
            return g->fallback_predict(req, res, g->fallback_ctx);
        return http_fail(res, MMSP_E_INVALID, "the request needs 'deployment'");
    }
    const char *env = http_request_header(req, "X-Environment");
    if (!env || !*env)
        env = "production";
    else if (strcmp(env, "production") != 0 && strcmp(env, "staging") != 0)
        return http_fail(res, MMSP_E_INVALID,
                         "X-Environment must be 'staging' or 'production', got '%.64s'", env);
    if (!dep_find(g, pr.deployment, env, &e)) {
        /* A deployment created a moment ago may not be cached yet. */
        char err[MMSP_ERRMSG_MAX];
        if (gateway_refresh(g, 0, err, sizeof err) || !dep_find(g, pr.deployment, env, &e))
            return http_fail(res, MMSP_E_NOT_FOUND, "unknown deployment '%.256s' in %s",
                             pr.deployment, env);
    }
    if (e.stable <= 0)
        return http_fail(res, MMSP_E_UNAVAILABLE, "deployment '%s' (%s) has no stable version",
                         e.name, env);
    const char *id = pr.id;
    if (!id) {
        new_id(idbuf);
        id = idbuf;
    }
    const char *key = e.canary > 0 ? http_request_header(req, e.cohort_header) : NULL;
    int variant = e.canary > 0 && gateway_route_canary(e.name, key && *key ? key : NULL,
                                                       key ? strlen(key) : 0, e.weight);
    mmsp_tensor x = {0};
    int64_t version;
    int entity_missing = 0;
    struct transform_ref *tref = NULL; /* "text": the deployment's transformer (text.c) */
    if (pr.text && (rc = gateway_text_row(g->registry, req->arena, e.name, pr.text, pr.text_len,
                                          &pr.inputs, &tref, res->err, sizeof res->err)))
        return rc;
    for (;;) {
        version = variant ? e.canary : e.stable;
        rc = input_for(g, req, res, &pr, e.served, version, &x);
        /* an entity without features (entity_id join, on-missing 404) is the client's 404 */
        entity_missing = rc == MMSP_E_NOT_FOUND && !pr.features && !pr.inputs.data && pr.entity_id;
        if (!rc)
            rc = g->backend->ops->infer(g->backend, e.served, version, &x, g->timeout_ms, &r,
                                        res->err, sizeof res->err);
        if (rc == MMSP_E_UNAVAILABLE && variant) {
            /* The canary is not loaded yet (a deploy in progress): never fail the request. */
            metrics_counter_add(e.fallbacks, 1);
            variant = 0;
            res->err[0] = '\0';
            continue;
        }
        break;
    }
    if (!rc)
        rc = http_response_header(req, res, "X-Request-Id", id);
    if (!rc)
        rc = reply(req, res, &e, id, variant, version, &r,
                   pr.text ? gateway_text_label(tref, &r) : NULL);
    double secs = (double)(http_now_ns() - req->start_ns) / 1e9;
    if (g->predlog) { /* copied into the log's queue; never waits for the disk */
        struct predlog_record lr = {.id = id,
                                    .deployment = e.name,
                                    .environment = env,
                                    .model = e.model,
                                    .version = version,
                                    .variant = variant ? "canary" : "stable",
                                    .entity_id = pr.entity_id,
                                    .inputs = &x,
                                    .prediction = rc ? NULL : &r.prediction,
                                    .probabilities = rc ? NULL : &r.probabilities,
                                    .latency_ms = secs * 1e3,
                                    .status = rc ? mmsp_err_name(rc) : "ok"};
        predlog_write(g->predlog, &lr);
    }
    if (!rc && g->drift && x.dtype == MMSP_DT_FP32 && x.ndim == 2) /* streaming drift */
        drift_stream_observe(g->drift, e.name, x.data, (size_t)x.shape[0], (size_t)x.shape[1]);
    metrics_counter_add(e.requests[variant], 1);
    metrics_histogram_observe(e.duration[variant], secs);
    if (rc && http_status_from_err(rc) >= 500) /* the version failed, not the client */
        metrics_counter_add(e.errors[variant], 1);
    if (!rc && e.shadow > 0)
        shadow_enqueue(g, &e, &x, variant ? NULL : &r.prediction);
    gateway_result_free(&r);
    transform_release(tref);
    if (rc == MMSP_E_NOT_FOUND && !entity_missing) /* a version vanished under us: not the
                                                      client's fault */
        rc = MMSP_E_UNAVAILABLE;
    return rc;
}

/* --- life cycle ------------------------------------------------------------------------- */

static mmsp_err register_metrics(struct gateway *g)
{
    static const char *const dvv[4] = {"deployment", "environment", "version", "variant"};
    static const char *const de[2] = {"deployment", "environment"};
    static const char *const der[3] = {"deployment", "environment", "result"};
    struct metrics_registry *m = g->metrics;
    g->f_requests = metrics_family_register(m, "mmsp_gateway_requests_total",
                                            "Gateway /predict requests by deployment, version "
                                            "and variant.",
                                            METRIC_COUNTER, dvv, 4, NULL, 0);
    g->f_errors = metrics_family_register(m, "mmsp_gateway_errors_total",
                                          "Gateway /predict requests that failed after routing.",
                                          METRIC_COUNTER, dvv, 4, NULL, 0);
    g->f_duration = metrics_family_register(
        m, "mmsp_gateway_request_duration_seconds",
        "Gateway /predict latency from request headers to answer.", METRIC_HISTOGRAM, dvv, 4,
        metrics_latency_buckets, metrics_latency_buckets_count);
    g->f_weight = metrics_family_register(m, "mmsp_gateway_canary_weight",
                                          "Percent of a deployment's traffic sent to its canary.",
                                          METRIC_GAUGE, de, 2, NULL, 0);
    g->f_shadow = metrics_family_register(
        m, "mmsp_gateway_shadow_comparisons_total",
        "Shadow answers compared with the stable answer (agree: |diff| <= 1e-6).", METRIC_COUNTER,
        der, 3, NULL, 0);
    g->f_shadow_diff = metrics_family_register(
        m, "mmsp_gateway_shadow_abs_diff",
        "Largest absolute difference between the shadow and the stable prediction.",
        METRIC_HISTOGRAM, de, 2, shadow_diff_buckets,
        sizeof shadow_diff_buckets / sizeof shadow_diff_buckets[0]);
    g->f_shadow_dropped =
        metrics_family_register(m, "mmsp_gateway_shadow_dropped_total",
                                "Mirrored requests dropped because the shadow queue was full.",
                                METRIC_COUNTER, de, 2, NULL, 0);
    g->f_fallbacks = metrics_family_register(
        m, "mmsp_gateway_canary_fallbacks_total",
        "Requests routed to a canary that was not loaded yet and served by stable instead.",
        METRIC_COUNTER, de, 2, NULL, 0);
    if (!g->f_requests || !g->f_errors || !g->f_duration || !g->f_weight || !g->f_shadow ||
        !g->f_shadow_diff || !g->f_shadow_dropped || !g->f_fallbacks)
        return MMSP_E_NOMEM;
    return MMSP_OK;
}

/* A rollback by POST /alerts: re-read the deployments at once. */
static void on_alert_change(void *ctx)
{
    gateway_wake(ctx);
}

mmsp_err gateway_new(const struct gateway_options *o, struct gateway **out, char *err,
                     size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    struct gateway *g = NULL;
    if (!o || !o->registry || !o->backend || !o->metrics) {
        snprintf(err, errlen, "the gateway needs a registry, a back end and a metrics registry");
        if (o && o->backend)
            o->backend->ops->free(o->backend);
        return MMSP_E_INVALID;
    }
    if (!(g = calloc(1, sizeof *g))) {
        o->backend->ops->free(o->backend);
        snprintf(err, errlen, "out of memory");
        return MMSP_E_NOMEM;
    }
    g->registry = o->registry;
    g->backend = o->backend;
    g->metrics = o->metrics;
    g->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT;
    g->poll_ms = o->poll_ms ? o->poll_ms : DEFAULT_POLL_MS;
    g->fallback_predict = o->fallback_predict;
    g->fallback_ctx = o->fallback_ctx;
    g->features = o->features;
    g->online = o->online;
    g->generation = -1;
    pthread_rwlock_init(&g->deps_lock, NULL);
    pthread_mutex_init(&g->refresh_mu, NULL);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    pthread_cond_init(&g->shadow_cv, NULL);
    if (o->admin_token && !(g->admin_token = strdup(o->admin_token))) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    g->shadow_cap = SHADOW_QUEUE;
    if (!(g->shadow_q = calloc(g->shadow_cap, sizeof *g->shadow_q)) || (rc = register_metrics(g))) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    struct gateway_alerts_options ao = {.registry = g->registry,
                                        .metrics = g->metrics,
                                        .admin_token = g->admin_token,
                                        .on_change = on_alert_change,
                                        .on_change_ctx = g};
    if ((rc = gateway_alerts_new(&ao, &g->alerts, err, errlen)))
        goto out;
    if (o->prediction_log_dir) {
        struct predlog_options lo = {.dir = o->prediction_log_dir,
                                     .max_bytes = o->prediction_log_max_bytes,
                                     .max_age_ms = o->prediction_log_max_age_ms,
                                     .queue = o->prediction_log_queue,
                                     .metrics = g->metrics,
                                     .feature_names = log_feature_names,
                                     .feature_names_ctx = g};
        const char *fmt = o->prediction_log_format ? o->prediction_log_format : "parquet";
        if (strcmp(fmt, "parquet") == 0) {
            rc = predlog_writer_parquet(0, &lo.writer);
        } else if (strcmp(fmt, "jsonl") != 0) {
            snprintf(err, errlen, "prediction log format %s: not parquet or jsonl", fmt);
            rc = MMSP_E_INVALID;
        }
        if (rc)
            goto out;
        if ((rc = predlog_open(&lo, &g->predlog, err, errlen)))
            goto out;
    }
    if ((rc = drift_stream_new(g->metrics, 0, &g->drift, err, errlen)))
        goto out;
    if (o->drift_min_rows)
        drift_stream_set_min_rows(g->drift, o->drift_min_rows);
    {
        const char *cmd = o->retrain_command, *hook = o->retrain_webhook;
        if (!cmd && !hook) {
            cmd = getenv("MMSP_RETRAIN_COMMAND");
            hook = getenv("MMSP_RETRAIN_WEBHOOK");
            cmd = cmd && *cmd ? cmd : NULL;
            hook = hook && *hook ? hook : NULL;
        }
        if ((rc = gateway_retrain_check(cmd, hook, err, errlen)))
            goto out;
        if ((cmd && !(g->retrain_command = strdup(cmd))) ||
            (hook && !(g->retrain_webhook = strdup(hook)))) {
            rc = MMSP_E_NOMEM;
            goto out;
        }
    }
    drift_reload(g);
    if ((rc = gateway_refresh(g, 1, err, errlen)))
        goto out;
    if (pthread_create(&g->poller, NULL, poll_main, g)) {
        rc = MMSP_E_INTERNAL;
        goto out;
    }
    g->poller_started = 1;
    if (pthread_create(&g->shadow_thread, NULL, shadow_main, g)) {
        rc = MMSP_E_INTERNAL;
        goto out;
    }
    g->shadow_started = 1;
    if ((rc = gateway_retrain_start(g, err, errlen)))
        goto out;
out:
    if (rc) {
        if (rc == MMSP_E_NOMEM || rc == MMSP_E_INTERNAL)
            snprintf(err, errlen, "cannot start the gateway: %s", mmsp_strerror(rc));
        gateway_free(g);
        return rc;
    }
    *out = g;
    return MMSP_OK;
}

mmsp_err gateway_register(struct gateway *g, struct http_router *router)
{
    mmsp_err rc = http_router_add(router, "POST", "/predict", on_predict, g);
    if (rc == MMSP_OK)
        rc = http_router_add(router, "POST", "/alerts", gateway_alerts_handle, g->alerts);
    return rc;
}

void gateway_free(struct gateway *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_cond_broadcast(&g->shadow_cv);
    if (g->retrain_cv_init)
        pthread_cond_broadcast(&g->retrain_cv);
    pthread_mutex_unlock(&g->mu);
    if (g->poller_started)
        pthread_join(g->poller, NULL);
    if (g->retrain_started)
        pthread_join(g->retrain_thread, NULL);
    if (g->retrain_cv_init)
        pthread_cond_destroy(&g->retrain_cv);
    free(g->retrain_command);
    free(g->retrain_webhook);
    if (g->shadow_started)
        pthread_join(g->shadow_thread, NULL);
    for (size_t i = 0; g->shadow_q && i < g->shadow_len; i++)
        job_free(g->shadow_q[(g->shadow_head + i) % g->shadow_cap]);
    free(g->shadow_q);
    predlog_close(g->predlog); /* writes what is still queued */
    drift_stream_free(g->drift);
    if (g->backend)
        g->backend->ops->free(g->backend);
    free(g->deps);
    free(g->admin_token);
    gateway_alerts_free(g->alerts);
    pthread_cond_destroy(&g->cv);
    pthread_cond_destroy(&g->shadow_cv);
    pthread_mutex_destroy(&g->mu);
    pthread_mutex_destroy(&g->refresh_mu);
    pthread_rwlock_destroy(&g->deps_lock);
    free(g);
}
