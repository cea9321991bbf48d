/*
 * The gateway's remote back end (gateway.h gateway_backend_remote, docs/gateway.md "Remote
 * inference"): Open Inference Protocol v2 JSON over HTTP to inference roles.
 *
 * - A pool of blocking libcurl clients (http/client.h): a request takes one, returns it after;
 *   each keeps its keep-alive connections to the replicas, so steady traffic opens no new
 *   connections. At most REMOTE_POOL_MAX idle clients are kept.
 * - Replicas are used round-robin. A replica that fails (cannot connect, timeout, broken
 *   exchange, 5xx) is marked down for a back-off (first backoff_ms, doubling to 10 s) and
 *   skipped; after its back-off one request probes it, and an answer brings it back.
 * - A request is retried on the next replica only when it certainly did not run: the
 *   connection was refused, or the replica answered 503 / 404 (version not loaded there). A
 *   timeout or a connection lost mid-request may have run the model, so it is not repeated.
 * - The model's input name (and FP32/FP64 datatype) comes from GET
 *   /v2/models/{m}/versions/{v}; its feature names and whether "predict" is a probability
 *   from the Triton-style "parameters" of GET .../config (src/serve/v2.c); both cached per
 *   (model, version). With output_is_probability the probabilities are computed here as the
 *   in-process back end does (local.c): binary P(1) -> [1 - p, p], softprob rows as they are.
 * Calls: http/client, jansson, common/buf, common/log.
 */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/log.h"
#include "gateway/remote.h"
#include "http/client.h"

#define REMOTE_POOL_MAX       256 /* idle clients kept */
#define REMOTE_MAX_REPLICAS   64
#define REMOTE_MAX_BACKOFF_MS 10000
#define REMOTE_META_MAX       1024 /* cached (model, version) entries */
#define REMOTE_MAX_RESPONSE   (64u << 20)
#define REMOTE_MAX_REQUEST    (64u << 20)

struct replica {
    char *url; /* base URL without a trailing '/' */
    /* under the backend's lock */
    int down;           /* failed; skipped until down_until */
    int probing;        /* one request is probing it */
    int64_t down_until; /* monotonic ms */
    unsigned backoff_ms;
};

struct meta {
    struct meta *next;
    char *model;
    int64_t version;
    char *input;  /* input name as a JSON string (quoted, escaped) */
    int fp64;     /* the input takes FP64 */
    int prob;     /* "predict" holds probabilities (config parameter output_is_probability) */
    char **names; /* feature names (config parameter feature_names); n_names of them */
    size_t n_names;
};

struct remote_backend {
    struct gateway_backend base;
    struct replica *replicas;
    size_t n;
    unsigned connect_timeout_ms, backoff_ms;
    atomic_uint rr;
    atomic_long connections; /* TCP connections opened so far (keep-alive keeps it low) */
    pthread_mutex_t mu;      /* replicas' state, pool, meta cache */
    struct http_client *pool[REMOTE_POOL_MAX];
    size_t n_pool;
    struct meta *meta;
    size_t n_meta;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ client pool */

static mmsp_err take_client(struct remote_backend *rb, struct http_client **out, char *err,
                            size_t errlen)
{
    pthread_mutex_lock(&rb->mu);
    *out = rb->n_pool ? rb->pool[--rb->n_pool] : NULL;
    pthread_mutex_unlock(&rb->mu);
    if (*out)
        return MMSP_OK;
    struct http_client_options o = {.connect_timeout_ms = rb->connect_timeout_ms,
                                    .max_response_bytes = REMOTE_MAX_RESPONSE};
    return http_client_new(&o, out, err, errlen);
}

static void give_client(struct remote_backend *rb, struct http_client *c)
{
    pthread_mutex_lock(&rb->mu);
    if (rb->n_pool < REMOTE_POOL_MAX) {
        rb->pool[rb->n_pool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&rb->mu);
    http_client_free(c);
}

/* ------------------------------------------------------------------ replica selection */

/* The next usable replica from round-robin position *pos on (advancing it), skipping those in
 * `tried`; a down replica whose back-off ended is taken as a probe (one at a time). -1 when
 * none is usable. */
static int pick(struct remote_backend *rb, size_t *pos, const unsigned char *tried)
{
    int found = -1;
    int64_t now = mono_ms();
    pthread_mutex_lock(&rb->mu);
    for (size_t k = 0; k < rb->n && found < 0; k++) {
        size_t i = (*pos + k) % rb->n;
        struct replica *r = &rb->replicas[i];
        if (tried[i])
            continue;
        if (!r->down) {
            found = (int)i;
        } else if (!r->probing && now >= r->down_until) {
            r->probing = 1;
            found = (int)i;
        }
        if (found >= 0)
            *pos = i + 1;
    }
    pthread_mutex_unlock(&rb->mu);
    return found;
}

static void mark(struct remote_backend *rb, int i, int ok, const char *why)
{
    pthread_mutex_lock(&rb->mu);
    struct replica *r = &rb->replicas[i];
    int was_down = r->down;
    r->probing = 0;
    if (ok) {
        r->down = 0;
        r->backoff_ms = 0;
    } else {
        r->backoff_ms = !r->down || !r->backoff_ms                   ? rb->backoff_ms
                        : r->backoff_ms >= REMOTE_MAX_BACKOFF_MS / 2 ? REMOTE_MAX_BACKOFF_MS
                                                                     : r->backoff_ms * 2;
        r->down = 1;
        r->down_until = mono_ms() + r->backoff_ms;
    }
    unsigned backoff = r->backoff_ms;
    pthread_mutex_unlock(&rb->mu);
    if (ok && was_down)
        log_info("gateway.replica", "inference replica %s is back", r->url);
    else if (!ok && !was_down)
        log_warn("gateway.replica", "inference replica %s is down for %u ms: %s", r->url, backoff,
                 why);
}

/* Undoes a probe claim without a verdict (the request never reached the replica). */
static void unclaim(struct remote_backend *rb, int i)
{
    pthread_mutex_lock(&rb->mu);
    rb->replicas[i].probing = 0;
    pthread_mutex_unlock(&rb->mu);
}

/* The "error" string of an mmsp error body, else the start of the body. */
static void upstream_message(const struct http_client_response *res, char *out, size_t outlen)
{
    json_t *j = json_loadb(res->body.data ? res->body.data : "", res->body.len, 0, NULL);
    const char *m = json_string_value(json_object_get(j, "error"));
    if (m)
        snprintf(out, outlen, "%s", m);
    else
        snprintf(out, outlen, "%.*s", (int)(res->body.len > 200 ? 200 : res->body.len),
                 res->body.data ? res->body.data : "");
    json_decref(j);
}

/*
 * One exchange with retries: sends method `path` (+ body) to the replicas in round-robin order
 * until one answers with a status that is not 503/404, or a failure that must not be repeated.
 * On MMSP_OK *res holds a 2xx answer (release it). Non-2xx answers become errors with the
 * replica's message: 400 MMSP_E_INVALID, 404/503 (from every replica) MMSP_E_UNAVAILABLE,
 * other 4xx MMSP_E_INVALID, 5xx MMSP_E_INTERNAL.
 */
static mmsp_err exchange(struct remote_backend *rb, const char *method, const char *path,
                         const char *body, size_t body_len, unsigned timeout_ms,
                         struct http_client_response *res, char *err, size_t errlen)
{
    unsigned char tried[REMOTE_MAX_REPLICAS] = {0};
    size_t pos = atomic_fetch_add(&rb->rr, 1) % rb->n, attempts = 0;
    char last[MMSP_ERRMSG_MAX] = "every replica is down (backing off)";
    mmsp_err last_rc = MMSP_E_UNAVAILABLE;
    struct http_client *c = NULL;
    struct buf url;
    buf_init(&url, 8192);
    mmsp_err rc = take_client(rb, &c, err, errlen);
    if (rc)
        goto out;
    for (;;) {
        int i = pick(rb, &pos, tried);
        if (i < 0)
            break;
        tried[i] = 1;
        attempts++;
        struct replica *r = &rb->replicas[i];
        buf_reset(&url);
        if ((rc = buf_append_str(&url, r->url)) || (rc = buf_append_str(&url, path))) {
            unclaim(rb, i);
            snprintf(err, errlen, "URL too long");
            goto out;
        }
        struct http_client_request rq = {.method = method,
                                         .url = url.data,
                                         .body = body,
                                         .body_len = body_len,
                                         .timeout_ms = timeout_ms};
        char why[MMSP_ERRMSG_MAX] = "";
        long opened = http_client_connections(c);
        rc = http_client_do(c, &rq, res, why, sizeof why);
        atomic_fetch_add(&rb->connections, http_client_connections(c) - opened);
        if (rc == MMSP_E_UNAVAILABLE) { /* refused: nothing ran, the next replica may answer */
            mark(rb, i, 0, why);
            snprintf(last, sizeof last, "%s", why);
            last_rc = rc;
            continue;
        }
        if (rc == MMSP_E_TOO_LARGE || rc == MMSP_E_INVALID || rc == MMSP_E_NOMEM) {
            unclaim(rb, i);
            snprintf(err, errlen, "%s", why);
            goto out;
        }
        if (rc) { /* timeout or a broken exchange: it may have run, so no retry */
            mark(rb, i, 0, why);
            snprintf(err, errlen, "inference replica %s: %s", r->url, why);
            goto out;
        }
        long st = res->status;
        if (st >= 200 && st < 300) {
            mark(rb, i, 1, NULL);
            goto out;
        }
        char msg[160];
        upstream_message(res, msg, sizeof msg);
        http_client_response_release(res);
        if (st == 503 || st == 404) {
            /* 503 (not ready) marks it down; 404 (version not loaded there yet) only moves on:
             * the replica is healthy for the other models. */
            if (st == 503)
                mark(rb, i, 0, msg);
            else
                mark(rb, i, 1, NULL);
            snprintf(last, sizeof last, "%s answered %ld: %s", r->url, st, msg);
            last_rc = MMSP_E_UNAVAILABLE;
            continue;
        }
        if (st >= 500) {
            mark(rb, i, 0, msg);
            rc = MMSP_E_INTERNAL;
        } else {
            mark(rb, i, 1, NULL);
            rc = MMSP_E_INVALID;
        }
        snprintf(err, errlen, "inference replica %s answered %ld: %s", r->url, st, msg);
        goto out;
    }
    rc = last_rc;
    snprintf(err, errlen, "no inference replica answered (tried %zu of %zu): %s", attempts, rb->n,
             last);
out:
    if (c)
        give_client(rb, c);
    buf_release(&url);
    return rc;
}

/* "/v2/models/{m}/versions/{v}" + suffix, the model name percent-encoded except '@' (the
 * inference role's router takes NAME@staging raw, and so do the tests). */
static mmsp_err model_path(struct buf *b, const char *model, int64_t version, const char *suffix)
{
    mmsp_err rc = buf_append_str(b, "/v2/models/");
    for (const char *p = model; !rc && *p; p++) {
        char one[2] = {*p, 0};
        rc = *p == '@' ? buf_append_char(b, '@') : http_client_escape(b, one);
    }
    if (!rc)
        rc = buf_printf(b, "/versions/%lld%s", (long long)version, suffix);
    return rc;
}

/* ------------------------------------------------------------------ model metadata */

static void meta_free(struct meta *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_names; i++)
        free(m->names[i]);
    free(m->names);
    free(m->model);
    free(m->input);
    free(m);
}

/* What a request takes from a cache entry, copied out under the lock. names (may be NULL)
 * receives strdup'd feature names (the caller frees them), at most max. */
struct meta_out {
    char *input;
    size_t inlen;
    int fp64, prob;
    char **names;
    size_t max, n_names;
};

static mmsp_err copy_out(const struct meta *m, struct meta_out *o, char *err, size_t errlen)
{
    snprintf(o->input, o->inlen, "%s", m->input);
    o->fp64 = m->fp64;
    o->prob = m->prob;
    o->n_names = 0;
    if (!o->names)
        return MMSP_OK;
    if (m->n_names > o->max) {
        snprintf(err, errlen, "model '%s' has %zu features, more than %zu", m->model, m->n_names,
                 o->max);
        return MMSP_E_TOO_LARGE;
    }
    for (size_t i = 0; i < m->n_names; i++) {
        if (!(o->names[i] = strdup(m->names[i]))) {
            while (i)
                free(o->names[--i]);
            snprintf(err, errlen, "out of memory");
            return MMSP_E_NOMEM;
        }
    }
    o->n_names = m->n_names;
    return MMSP_OK;
}

/*
 * The Triton-style "parameters" of GET .../config (the inference role's src/serve/v2.c):
 * output_is_probability ("true") and feature_names (comma-joined) into m.
 */
static mmsp_err config_params(struct remote_backend *rb, const char *model, int64_t version,
                              unsigned timeout_ms, struct meta *m, char *err, size_t errlen)
{
    struct buf path;
    buf_init(&path, 8192);
    struct http_client_response res = {0};
    json_t *j = NULL;
    mmsp_err rc = model_path(&path, model, version, "/config");
    if (rc || (rc = exchange(rb, "GET", path.data, NULL, 0, timeout_ms, &res, err, errlen)))
        goto out;
    j = json_loadb(res.body.data ? res.body.data : "", res.body.len, 0, NULL);
    json_t *params = json_object_get(j, "parameters");
    const char *prob = json_string_value(
        json_object_get(json_object_get(params, "output_is_probability"), "string_value"));
    const char *names = json_string_value(
        json_object_get(json_object_get(params, "feature_names"), "string_value"));
    m->prob = prob && strcmp(prob, "true") == 0;
    if (!names || !*names)
        goto out;
    size_t n = 1;
    for (const char *p = names; *p; p++)
        n += *p == ',';
    if (n > GATEWAY_REMOTE_MAX_FEATURES) {
        snprintf(err, errlen, "model '%s': more than %d feature names", model,
                 GATEWAY_REMOTE_MAX_FEATURES);
        rc = MMSP_E_UNSUPPORTED;
        goto out;
    }
    if (!(m->names = calloc(n, sizeof *m->names))) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    for (const char *p = names;; p++) {
        size_t len = strcspn(p, ",");
        if (!(m->names[m->n_names] = strndup(p, len))) {
            rc = MMSP_E_NOMEM;
            goto out;
        }
        m->n_names++;
        p += len;
        if (!*p)
            break;
    }
out:
    json_decref(j);
    if (res.body.data)
        http_client_response_release(&res);
    buf_release(&path);
    return rc;
}

/* Looks (model, version) up; on a miss fetches the metadata (input name and datatype) and the
 * config's parameters (feature names, whether "predict" is a probability). Copied out to o. */
static mmsp_err input_of(struct remote_backend *rb, const char *model, int64_t version,
                         unsigned timeout_ms, struct meta_out *o, char *err, size_t errlen)
{
    pthread_mutex_lock(&rb->mu);
    for (struct meta *m = rb->meta; m; m = m->next)
        if (m->version == version && strcmp(m->model, model) == 0) {
            mmsp_err rc = copy_out(m, o, err, errlen);
            pthread_mutex_unlock(&rb->mu);
            return rc;
        }
    pthread_mutex_unlock(&rb->mu);

    struct buf path;
    buf_init(&path, 8192);
    struct http_client_response res = {0};
    json_t *j = NULL;
    struct meta *m = NULL;
    mmsp_err rc = model_path(&path, model, version, "");
    if (rc)
        goto out;
    if ((rc = exchange(rb, "GET", path.data, NULL, 0, timeout_ms, &res, err, errlen)))
        goto out;
    json_error_t je;
    j = json_loadb(res.body.data ? res.body.data : "", res.body.len, 0, &je);
    json_t *inputs = json_object_get(j, "inputs");
    const char *name = json_string_value(json_object_get(json_array_get(inputs, 0), "name"));
    const char *dt = json_string_value(json_object_get(json_array_get(inputs, 0), "datatype"));
    if (!name || json_array_size(inputs) != 1) {
        snprintf(err, errlen,
                 "model '%s' version %lld: the metadata names %s input; the gateway "
                 "serves models with one tabular input",
                 model, (long long)version, name ? "more than one" : "no");
        rc = name ? MMSP_E_UNSUPPORTED : MMSP_E_PARSE;
        goto out;
    }
    if (strlen(name) > 128) {
        snprintf(err, errlen, "model '%s': input name longer than 128 bytes", model);
        rc = MMSP_E_UNSUPPORTED;
        goto out;
    }
    json_t *quoted = json_string(name);
    m = calloc(1, sizeof *m);
    if (m && quoted)
        m->input = json_dumps(quoted, JSON_ENCODE_ANY);
    json_decref(quoted);
    if (!m || !m->input || !(m->model = strdup(model))) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    m->version = version;
    m->fp64 = dt && strcmp(dt, "FP64") == 0;
    if ((rc = config_params(rb, model, version, timeout_ms, m, err, errlen)))
        goto out;
    if ((rc = copy_out(m, o, err, errlen)))
        goto out;
    pthread_mutex_lock(&rb->mu);
    if (rb->n_meta >= REMOTE_META_MAX) { /* bounded: start over */
        while (rb->meta) {
            struct meta *x = rb->meta;
            rb->meta = x->next;
            meta_free(x);
        }
        rb->n_meta = 0;
    }
    m->next = rb->meta;
    rb->meta = m;
    rb->n_meta++;
    pthread_mutex_unlock(&rb->mu);
    m = NULL;
out:
    if (rc == MMSP_E_NOMEM)
        snprintf(err, errlen, "out of memory");
    meta_free(m);
    json_decref(j);
    if (res.body.data)
        http_client_response_release(&res);
    buf_release(&path);
    return rc;
}

/* ------------------------------------------------------------------ response parsing */

/* One output as FP32: shape and data checked against each other. */
static mmsp_err output_tensor(json_t *o, mmsp_tensor *out, char *err, size_t errlen)
{
    json_t *shape = json_object_get(o, "shape"), *data = json_object_get(o, "data");
    size_t nd = json_array_size(shape), n = 1;
    if (!json_is_array(shape) || nd < 1 || nd > MMSP_MAX_DIMS || !json_is_array(data)) {
        snprintf(err, errlen, "output without a valid \"shape\" and \"data\"");
        return MMSP_E_PARSE;
    }
    *out = (mmsp_tensor){.dtype = MMSP_DT_FP32, .ndim = (int)nd};
    for (size_t d = 0; d < nd; d++) {
        json_t *x = json_array_get(shape, d);
        json_int_t v = json_integer_value(x);
        if (!json_is_integer(x) || v < 0 || (size_t)v > GATEWAY_REMOTE_MAX_ELEMENTS ||
            (v && n > GATEWAY_REMOTE_MAX_ELEMENTS / (size_t)v)) {
            snprintf(err, errlen, "output shape is not a list of sizes up to %zu elements",
                     GATEWAY_REMOTE_MAX_ELEMENTS);
            return MMSP_E_PARSE;
        }
        out->shape[d] = v;
        n *= (size_t)v;
    }
    if (json_array_size(data) != n) {
        snprintf(err, errlen, "output has %zu values for %zu elements", json_array_size(data), n);
        return MMSP_E_PARSE;
    }
    float *f = malloc(n ? n * sizeof *f : 1);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return MMSP_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(data, i);
        if (json_is_number(x))
            f[i] = (float)json_number_value(x);
        else if (json_is_boolean(x))
            f[i] = json_is_true(x) ? 1.0f : 0.0f;
        else {
            free(f);
            snprintf(err, errlen, "output value %zu is not a number", i);
            return MMSP_E_PARSE;
        }
    }
    out->data = f;
    out->nbytes = n * sizeof *f;
    return MMSP_OK;
}

mmsp_err gateway_remote_parse_response(const char *body, size_t len, struct gateway_result *out,
                                       char *err, size_t errlen)
{
    *out = (struct gateway_result){0};
    json_error_t je;
    mmsp_err rc = MMSP_OK;
    json_t *j = json_loadb(body, len, 0, &je);
    json_t *outs = json_object_get(j, "outputs");
    if (!j || !json_is_array(outs) || !json_array_size(outs)) {
        snprintf(err, errlen, "infer response without outputs%s%s", j ? "" : ": ",
                 j ? "" : je.text);
        rc = MMSP_E_PARSE;
        goto out;
    }
    json_t *pred = json_array_get(outs, 0), *prob = NULL;
    for (size_t i = 0; i < json_array_size(outs); i++) {
        json_t *o = json_array_get(outs, i);
        const char *name = json_string_value(json_object_get(o, "name"));
        if (name && strcmp(name, "predict") == 0)
            pred = o;
        else if (name && strcmp(name, "probabilities") == 0)
            prob = o;
    }
    if ((rc = output_tensor(pred, &out->prediction, err, errlen)))
        goto out;
    if (prob && prob != pred && (rc = output_tensor(prob, &out->probabilities, err, errlen)))
        goto out;
out:
    if (rc)
        gateway_result_free(out);
    json_decref(j);
    return rc;
}

mmsp_err gateway_remote_probabilities(const mmsp_tensor *pred, mmsp_tensor *out)
{
    size_t rows = pred->ndim > 0 ? (size_t)pred->shape[0] : 1, n = pred->nbytes / sizeof(float);
    if (pred->dtype != MMSP_DT_FP32 || !pred->data || !rows || n % rows)
        return MMSP_OK;
    size_t w = n / rows, cols = w > 1 ? w : 2;
    float *d = malloc(rows * cols * sizeof *d);
    if (!d)
        return MMSP_E_NOMEM;
    const float *p = pred->data;
    for (size_t r = 0; r < rows; r++) {
        if (w > 1) { /* multi:softprob rows are the probabilities already */
            memcpy(d + r * w, p + r * w, w * sizeof *d);
        } else { /* binary: P(1) becomes [1 - p, p] */
            d[2 * r] = 1.0f - p[r];
            d[2 * r + 1] = p[r];
        }
    }
    *out = (mmsp_tensor){.dtype = MMSP_DT_FP32,
                         .ndim = 2,
                         .shape = {(int64_t)rows, (int64_t)cols},
                         .data = d,
                         .nbytes = rows * cols * sizeof *d};
    return MMSP_OK;
}

/* ------------------------------------------------------------------ the back end */

static mmsp_err remote_infer(struct gateway_backend *b, const char *model, int64_t version,
                             const mmsp_tensor *input, unsigned timeout_ms,
                             struct gateway_result *out, char *err, size_t errlen)
{
    struct remote_backend *rb = (struct remote_backend *)b;
    char name[512];
    int fp64 = 0;
    struct buf path, body;
    struct http_client_response res = {0};
    int64_t n = 0;
    buf_init(&path, 8192);
    buf_init(&body, REMOTE_MAX_REQUEST);
    *out = (struct gateway_result){0};
    mmsp_err rc = MMSP_OK;
    if (input->dtype != MMSP_DT_FP32 || input->ndim != 2 ||
        mmsp_shape_elements(input->shape, input->ndim, &n) ||
        (size_t)n * sizeof(float) > input->nbytes) {
        snprintf(err, errlen, "the gateway sends one FP32 [rows, cols] input");
        rc = MMSP_E_INVALID;
        goto out;
    }
    struct meta_out o = {.input = name, .inlen = sizeof name};
    if ((rc = input_of(rb, model, version, timeout_ms, &o, err, errlen)))
        goto out;
    fp64 = o.fp64;
    if ((rc = model_path(&path, model, version, "/infer")))
        goto out;
    if ((rc = buf_append_str(&body, "{\"inputs\":[{\"name\":")) ||
        (rc = buf_append_str(&body, name)) ||
        (rc = buf_printf(&body, ",\"datatype\":\"%s\",\"shape\":[%lld,%lld],\"data\":[",
                         fp64 ? "FP64" : "FP32", (long long)input->shape[0],
                         (long long)input->shape[1])))
        goto out;
    const float *x = input->data;
    for (int64_t i = 0; i < n && !rc; i++) {
        if (i)
            rc = buf_append_char(&body, ',');
        /* NaN (a missing feature) has no JSON form; the inference role reads null as NaN. */
        if (!rc)
            rc = isfinite(x[i]) ? buf_printf(&body, "%.9g", (double)x[i])
                                : buf_append_str(&body, "null");
    }
    if (rc || (rc = buf_append_str(&body, "]}]}"))) {
        snprintf(err, errlen, "request too large");
        goto out;
    }
    if ((rc = exchange(rb, "POST", path.data, body.data, body.len, timeout_ms, &res, err, errlen)))
        goto out;
    rc = gateway_remote_parse_response(res.body.data ? res.body.data : "", res.body.len, out, err,
                                       errlen);
    if (!rc && o.prob && !out->probabilities.data)
        rc = gateway_remote_probabilities(&out->prediction, &out->probabilities);
    if (rc == MMSP_E_NOMEM) {
        snprintf(err, errlen, "out of memory");
        gateway_result_free(out);
    }
out:
    if (res.body.data)
        http_client_response_release(&res);
    buf_release(&path);
    buf_release(&body);
    return rc;
}

/* Feature names from the inference role's config parameters (none when the model file names
 * no features: the caller then refuses "features"). */
static mmsp_err remote_feature_names(struct gateway_backend *b, const char *model, int64_t version,
                                     char **names, size_t max, size_t *n, char *err, size_t errlen)
{
    struct remote_backend *rb = (struct remote_backend *)b;
    char name[512];
    struct meta_out o = {.input = name, .inlen = sizeof name, .names = names, .max = max};
    mmsp_err rc = input_of(rb, model, version, 2000, &o, err, errlen);
    *n = rc ? 0 : o.n_names;
    return rc;
}

static void remote_free(struct gateway_backend *b)
{
    struct remote_backend *rb = (struct remote_backend *)b;
    if (!rb)
        return;
    for (size_t i = 0; i < rb->n_pool; i++)
        http_client_free(rb->pool[i]);
    while (rb->meta) {
        struct meta *m = rb->meta;
        rb->meta = m->next;
        meta_free(m);
    }
    for (size_t i = 0; i < rb->n; i++)
        free(rb->replicas[i].url);
    free(rb->replicas);
    pthread_mutex_destroy(&rb->mu);
    free(rb);
}

static const struct gateway_backend_ops remote_ops = {
    .name = "remote",
    .infer = remote_infer,
    .feature_names = remote_feature_names,
    .free = remote_free,
};

long gateway_remote_connections(struct gateway_backend *b)
{
    if (!b || b->ops != &remote_ops)
        return -1;
    return atomic_load(&((struct remote_backend *)b)->connections);
}

mmsp_err gateway_backend_remote(const struct gateway_remote_options *o,
                                struct gateway_backend **out, char *err, size_t errlen)
{
    mmsp_err rc = MMSP_OK;
    if (!o->n_urls || o->n_urls > REMOTE_MAX_REPLICAS) {
        snprintf(err, errlen, "the remote back end needs 1 to %d inference URLs, got %zu",
                 REMOTE_MAX_REPLICAS, o->n_urls);
        return MMSP_E_INVALID;
    }
    struct remote_backend *rb = calloc(1, sizeof *rb);
    if (!rb)
        return MMSP_E_NOMEM;
    pthread_mutex_init(&rb->mu, NULL);
    rb->base.ops = &remote_ops;
    rb->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 1000;
    rb->backoff_ms = o->backoff_ms ? o->backoff_ms : 500;
    rb->replicas = calloc(o->n_urls, sizeof *rb->replicas);
    if (!rb->replicas) {
        rc = MMSP_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < o->n_urls; i++) {
        const char *u = o->urls[i];
        size_t len = u ? strlen(u) : 0;
        while (len && u[len - 1] == '/')
            len--;
        if (!len || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)) {
            snprintf(err, errlen, "inference URL '%s' is not an http:// or https:// URL",
                     u ? u : "");
            rc = MMSP_E_INVALID;
            goto out;
        }
        if (!(rb->replicas[i].url = strndup(u, len))) {
            rc = MMSP_E_NOMEM;
            goto out;
        }
        rb->n++;
    }
out:
    if (rc) {
        if (rc == MMSP_E_NOMEM)
            snprintf(err, errlen, "out of memory");
        remote_free(&rb->base);
        return rc;
    }
    *out = &rb->base;
    return MMSP_OK;
}
