/*
 * Shared by the gateway's files (gateway.c, predict.c, route.c, local.c): variant routing
 * (route.c), the /predict body parser (predict.c), the deployments cache and the gateway
 * state (gateway.c). Nothing here is part of the gateway's contract (gateway.h).
 * Calls: common/json, common/arena, mmsp tensors, metrics.
 */
#ifndef MMSP_GATEWAY_INTERNAL_H
#define MMSP_GATEWAY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "gateway/gateway.h"
#include "mmsp/error.h"
#include "mmsp/tensor.h"

/* --- routing (route.c) -------------------------------------------------------------------- */

#define GATEWAY_COHORT_BUCKETS                                                                     \
    10000 /* a weight of w % sends buckets [0, w * 100) to the canary                              \
           */
#define GATEWAY_DEFAULT_COHORT_HEADER "X-User-Id"
#define GATEWAY_NAME_MAX                                                                           \
    256 /* REG_NAME_MAX (registry.h, which this header cannot include:                             \
           jansson and common/json.h clash) */

/* The cohort bucket of key `key` (len bytes) in deployment `deployment`: a consistent hash
 * into [0, GATEWAY_COHORT_BUCKETS). The same (deployment, key) always lands in the same
 * bucket, so raising the weight only ever adds users to the canary. */
uint32_t gateway_cohort_bucket(const char *deployment, const char *key, size_t len);

/* A fast pseudo-random number (xoshiro-style generator state kept per thread, seeded from
 * the OS once per thread). */
uint64_t gateway_random(void);

/*
 * The variant of one request: 1 = canary, 0 = stable. weight <= 0 is always stable, >= 100
 * always canary (exact). With a cohort key (key != NULL) the decision is
 * gateway_cohort_bucket < weight * 100; without one it is weighted random.
 */
int gateway_route_canary(const char *deployment, const char *key, size_t key_len, int weight);

/* --- the /predict body (predict.c) ---------------------------------------------------------- */

struct json_value;

struct gateway_request {
    const char *deployment; /* arena; NULL when the body has no "deployment" key */
    const char *id;         /* arena; NULL when absent */
    const char *entity_id;  /* arena; NULL when absent (a number is kept as its text) */
    mmsp_tensor inputs;     /* "inputs": FP32 [rows, cols], data in the arena; ndim 0 when
                               the body gave "features" instead */
    const struct json_value *features; /* "features" object (arena), or NULL */
    const char *text;                  /* "text" (arena; features/transform.h pre-step), or NULL */
    size_t text_len;
};

#define GATEWAY_MAX_FEATURES 4096 /* named features of one model */
#define GATEWAY_MAX_ID       256  /* bytes of "id" and "entity_id" */

/*
 * Parses a /predict body (docs/gateway.md) into *out, allocating from `a` (the tree and the
 * tensor live in the arena). A body without "deployment" parses (out->deployment NULL) so the
 * caller can hand it to the simple API; everything else malformed is MMSP_E_INVALID /
 * MMSP_E_PARSE / MMSP_E_SHAPE with a message in err.
 */
mmsp_err gateway_request_parse(struct arena *a, const char *body, size_t len,
                               struct gateway_request *out, char *err, size_t errlen);

/* The one-row FP32 tensor [1, n] for named features `features` ordered as names[0..n)
 * (borrowed). Every name must be present with a number (or null = missing, NaN); a feature
 * the model does not know is an error. Data in the arena. */
mmsp_err gateway_features_row(struct arena *a, const struct json_value *features,
                              char *const *names, size_t n, mmsp_tensor *out, char *err,
                              size_t errlen);

/* The absolute difference between two predictions: the largest |a - b| over elements, or
 * -1 when the shapes differ. */
double gateway_prediction_diff(const mmsp_tensor *a, const mmsp_tensor *b);

#define GATEWAY_SHADOW_AGREE 1e-6 /* |diff| at or below this counts as agreement */

/* --- the text pre-step (text.c) ------------------------------------------------------------ */

struct registry;
struct transform_ref;

/* The feature row [1, n_buckets] (data in the arena) of `text` through deployment's
 * transformer; *ref (released by the caller with transform_release) keeps its configuration
 * for gateway_text_label. A deployment without a transformer is MMSP_E_INVALID. */
mmsp_err gateway_text_row(struct registry *reg, struct arena *a, const char *deployment,
                          const char *text, size_t len, mmsp_tensor *x, struct transform_ref **ref,
                          char *err, size_t errlen);
/* The class label of r's first row from the transformer's "labels" (borrowed from ref), or
 * NULL when there are none or the answer maps to none. */
const char *gateway_text_label(const struct transform_ref *ref, const struct gateway_result *r);

/* --- the gateway (gateway.c) ------------------------------------------------------------- */

#include <pthread.h>

struct metric_family;
struct metric_series;

/* One deployment as the gateway routes it (a copy of the registry's row plus its metric
 * series, looked up once per refresh). */
struct gateway_dep {
    char name[GATEWAY_NAME_MAX + 1];
    char environment[16];
    char model[GATEWAY_NAME_MAX + 1];   /* the registered model */
    char served[GATEWAY_NAME_MAX + 16]; /* the v2 model name: NAME or NAME@staging */
    int64_t stable, canary, shadow;     /* 0 = none */
    int weight;                         /* 0..100 */
    char cohort_header[128];
    struct metric_series *requests[2], *errors[2], *duration[2]; /* [0] stable, [1] canary */
    struct metric_series *shadow_result[3];                      /* agree, disagree, error */
    struct metric_series *shadow_diff, *shadow_dropped, *fallbacks;
};

struct gateway_shadow_job; /* gateway.c */

struct gateway {
    struct registry *registry;       /* borrowed */
    struct gateway_backend *backend; /* owned */
    struct metrics_registry *metrics;
    char *admin_token; /* owned copy or NULL (POST /alerts) */
    unsigned timeout_ms, poll_ms;
    mmsp_err (*fallback_predict)(struct http_request *, struct http_response *, void *);
    void *fallback_ctx;
    struct predlog *predlog;     /* the prediction log (predlog.h), NULL when off */
    struct feat_store *features; /* borrowed, may be NULL: entity_id joins */
    struct online_store *online; /* borrowed, may be NULL */
    /* POST /alerts (alerts.h), owned */
    struct gateway_alerts *alerts;
    /* Streaming drift (drift/drift.h, docs/drift.md): DATA/baselines/<deployment>.json, owned */
    struct drift_stream *drift;

    struct metric_family *f_requests, *f_errors, *f_duration, *f_weight, *f_shadow, *f_shadow_diff,
        *f_shadow_dropped, *f_fallbacks;

    /* The deployments cache: sorted by (name, environment), replaced whole by a refresh. */
    pthread_rwlock_t deps_lock;
    struct gateway_dep *deps;
    size_t n_deps;
    pthread_mutex_t refresh_mu; /* one refresh at a time */
    int64_t generation;         /* of the cache; -1 before the first read */

    /* The poll thread. */
    pthread_t poller;
    int poller_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, woken;

    /* The shadow worker and its bounded queue. */
    pthread_t shadow_thread;
    int shadow_started;
    pthread_cond_t shadow_cv; /* with mu */
    struct gateway_shadow_job **shadow_q;
    size_t shadow_cap, shadow_head, shadow_len;

    /* The streaming retraining trigger (retrain.c): at most one of the two, owned copies. */
    char *retrain_command, *retrain_webhook;
    pthread_t retrain_thread;
    int retrain_started, retrain_cv_init;
    pthread_cond_t retrain_cv; /* with mu */
};

/* Checks the trigger settings: not both, a non-empty command, an http(s) webhook URL. */
mmsp_err gateway_retrain_check(const char *command, const char *webhook, char *err, size_t errlen);
/* Starts the trigger thread when a command or webhook is set (retrain.c); gateway_free stops
 * it (stop flag, retrain_cv, join). */
mmsp_err gateway_retrain_start(struct gateway *g, char *err, size_t errlen);

/* Re-reads the deployments when the registry's generation moved (or force): deps.c. */
mmsp_err gateway_refresh(struct gateway *g, int force, char *err, size_t errlen);

#endif
