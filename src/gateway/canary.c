/*
 * Canary analysis (gateway/canary.h): the figures of one interval for the stable and canary
 * variants of a deployment, from Prometheus (PromQL through /api/v1/query, protocols.md
 * section 5.1) or from two scrapes of a gateway's /metrics (gateway/promtext), and the
 * verdict against the bounds. The rules and queries are documented in docs/gateway.md
 * "Canary analysis"; both sources compute the same things: increase of the request and error
 * counters, and histogram_quantile(0.99) over the increase of the latency buckets.
 * Calls: http/client, gateway/promtext, common/buf, jansson.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "gateway/canary.h"
#include "gateway/promtext.h"
#include "http/client.h"

void canary_bounds_default(struct canary_bounds *b)
{
    b->max_error_rate = 0.01;
    b->error_margin = 0.005;
    b->max_p99_ms = 50;
    b->p99_factor = 2;
    b->p99_floor_ms = 5;
    b->min_requests = 20;
}

const char *canary_verdict_name(enum canary_verdict v)
{
    switch (v) {
    case CANARY_PASS:
        return "pass";
    case CANARY_FAIL:
        return "fail";
    default:
        return "inconclusive";
    }
}

enum canary_verdict canary_judge(const struct canary_bounds *b, const struct canary_figures *f,
                                 char *why, size_t whylen)
{
    const struct canary_side *c = &f->canary, *s = &f->stable;
    if (!(c->requests >= b->min_requests)) {
        snprintf(why, whylen, "%.1f canary requests, fewer than the %.0f needed", c->requests,
                 b->min_requests);
        return CANARY_INCONCLUSIVE;
    }
    if (c->error_rate > b->max_error_rate) {
        snprintf(why, whylen, "canary error rate %.4g above the maximum %.4g", c->error_rate,
                 b->max_error_rate);
        return CANARY_FAIL;
    }
    if (s->requests > 0 && c->error_rate > s->error_rate + b->error_margin) {
        snprintf(why, whylen, "canary error rate %.4g above the stable's %.4g + %.4g",
                 c->error_rate, s->error_rate, b->error_margin);
        return CANARY_FAIL;
    }
    if (isnan(c->p99_ms)) {
        snprintf(why, whylen, "no canary latency observed");
        return CANARY_INCONCLUSIVE;
    }
    if (c->p99_ms > b->max_p99_ms) {
        snprintf(why, whylen, "canary p99 %.3g ms above the maximum %.3g ms", c->p99_ms,
                 b->max_p99_ms);
        return CANARY_FAIL;
    }
    if (!isnan(s->p99_ms) && c->p99_ms > b->p99_floor_ms && c->p99_ms > b->p99_factor * s->p99_ms) {
        snprintf(why, whylen, "canary p99 %.3g ms above %.3g x the stable's %.3g ms", c->p99_ms,
                 b->p99_factor, s->p99_ms);
        return CANARY_FAIL;
    }
    snprintf(why, whylen, "canary within bounds");
    return CANARY_PASS;
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *side_json(const struct canary_side *s)
{
    return json_pack("{s:o, s:o, s:o, s:o}", "requests", num_or_null(s->requests), "errors",
                     num_or_null(s->errors), "error_rate", num_or_null(s->error_rate), "p99_ms",
                     num_or_null(s->p99_ms));
}

json_t *canary_figures_json(const struct canary_figures *f)
{
    return json_pack("{s:o, s:o}", "canary", side_json(&f->canary), "stable",
                     side_json(&f->stable));
}

double canary_histogram_quantile(double q, const double *le, const double *count, size_t n)
{
    if (n == 0 || !isinf(le[n - 1]))
        return NAN;
    double total = count[n - 1];
    if (!(total > 0))
        return NAN;
    double rank = q * total;
    size_t i = 0;
    while (i < n - 1 && count[i] < rank)
        i++;
    if (i == n - 1) /* in the +Inf bucket: the highest finite bound, as Prometheus */
        return n >= 2 ? le[n - 2] : NAN;
    double start = 0, prev = 0;
    if (i > 0) {
        start = le[i - 1];
        prev = count[i - 1];
    } else if (le[0] <= 0) {
        return le[0];
    }
    double in = count[i] - prev;
    if (!(in > 0))
        return le[i];
    return start + (le[i] - start) * (rank - prev) / in;
}

/* --- Prometheus ------------------------------------------------------------------------- */

/* Appends s as a PromQL string body (escaping \ and "). */
static void promql_str(struct buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            buf_append_char(b, '\\');
        buf_append_char(b, *s);
    }
}

static void selector(struct buf *b, const char *metric, const struct canary_target *t,
                     const char *variant, int64_t version)
{
    buf_printf(b, "%s{deployment=\"", metric);
    promql_str(b, t->deployment);
    buf_append_str(b, "\",environment=\"");
    promql_str(b, t->environment);
    buf_printf(b, "\",variant=\"%s\",version=\"%lld\"}", variant, (long long)version);
}

/* One instant query; *value NaN when the result is empty. */
static mmsp_err query(struct http_client *hc, const char *base_url, const char *promql,
                      double *value, char *err, size_t errlen)
{
    struct buf url, body;
    struct http_client_response res = {0};
    json_t *doc = NULL;
    int have_res = 0;
    buf_init(&url, 8192);
    buf_init(&body, 64 * 1024);
    *value = NAN;
    mmsp_err rc = buf_printf(&url, "%s/api/v1/query", base_url);
    if (!rc)
        rc = buf_append_str(&body, "query=");
    if (!rc)
        rc = http_client_escape(&body, promql);
    if (rc) {
        snprintf(err, errlen, "query too long");
        goto out;
    }
    struct http_client_request rq = {.method = "POST",
                                     .url = url.data,
                                     .body = body.data,
                                     .body_len = body.len,
                                     .content_type = "application/x-www-form-urlencoded"};
    rc = http_client_do(hc, &rq, &res, err, errlen);
    if (rc)
        goto out;
    have_res = 1;
    doc = json_loadb(res.body.data ? res.body.data : "", res.body.len, 0, NULL);
    const char *status = json_string_value(json_object_get(doc, "status"));
    if (res.status != 200 || !status || strcmp(status, "success") != 0) {
        const char *msg = json_string_value(json_object_get(doc, "error"));
        snprintf(err, errlen, "prometheus answered %ld to '%s': %s", res.status, promql,
                 msg ? msg : "(no error message)");
        rc = MMSP_E_UNAVAILABLE;
        goto out;
    }
    json_t *data = json_object_get(doc, "data");
    const char *type = json_string_value(json_object_get(data, "resultType"));
    json_t *result = json_object_get(data, "result");
    json_t *pair = NULL;
    if (type && strcmp(type, "vector") == 0 && json_is_array(result)) {
        if (json_array_size(result) > 1) {
            snprintf(err, errlen, "prometheus: '%s' gave %zu series, want one", promql,
                     json_array_size(result));
            rc = MMSP_E_PARSE;
            goto out;
        }
        pair = json_object_get(json_array_get(result, 0), "value");
    } else if (type && strcmp(type, "scalar") == 0) {
        pair = result;
    } else {
        snprintf(err, errlen, "prometheus: unexpected result type of '%s'", promql);
        rc = MMSP_E_PARSE;
        goto out;
    }
    if (pair) {
        const char *v = json_string_value(json_array_get(pair, 1));
        if (!v) {
            snprintf(err, errlen, "prometheus: malformed sample in the answer to '%s'", promql);
            rc = MMSP_E_PARSE;
            goto out;
        }
        *value = strtod(v, NULL); /* "NaN", "+Inf" read as such */
    }
out:
    json_decref(doc);
    if (have_res)
        http_client_response_release(&res);
    buf_release(&url);
    buf_release(&body);
    return rc;
}

static mmsp_err query_side(struct http_client *hc, const char *base_url,
                           const struct canary_target *t, const char *variant, int64_t version,
                           unsigned window_ms, struct canary_side *out, json_t *queries, char *err,
                           size_t errlen)
{
    static const char *const fmt[3] = {
        "sum(increase(%s[%ums]))", "sum(increase(%s[%ums]))",
        "histogram_quantile(0.99, sum by (le) (rate(%s[%ums]))) * 1000"};
    static const char *const metric[3] = {"mmsp_gateway_requests_total",
                                          "mmsp_gateway_errors_total",
                                          "mmsp_gateway_request_duration_seconds_bucket"};
    double v[3];
    mmsp_err rc = MMSP_OK;
    struct buf sel, q;
    buf_init(&sel, 4096);
    buf_init(&q, 8192);
    for (int i = 0; i < 3 && !rc; i++) {
        buf_reset(&sel);
        buf_reset(&q);
        selector(&sel, metric[i], t, variant, version);
        if (!sel.data || buf_printf(&q, fmt[i], sel.data, window_ms)) {
            snprintf(err, errlen, "query too long");
            rc = MMSP_E_TOO_LARGE;
            break;
        }
        if (queries)
            json_array_append_new(queries, json_string(q.data));
        rc = query(hc, base_url, q.data, &v[i], err, errlen);
    }
    buf_release(&sel);
    buf_release(&q);
    if (rc)
        return rc;
    out->requests = isnan(v[0]) ? 0 : v[0];
    out->errors = isnan(v[1]) ? 0 : v[1];
    out->error_rate = out->requests > 0 ? out->errors / out->requests : 0;
    out->p99_ms = v[2];
    return MMSP_OK;
}

mmsp_err canary_query_prometheus(const char *base_url, const struct canary_target *t,
                                 unsigned window_ms, struct canary_figures *out, json_t *queries,
                                 char *err, size_t errlen)
{
    struct http_client *hc = NULL;
    struct http_client_options o = {.timeout_ms = 10000};
    char base[2048];
    snprintf(base, sizeof base, "%s", base_url);
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        base[--bl] = '\0';
    mmsp_err rc = http_client_new(&o, &hc, err, errlen);
    if (rc)
        return rc;
    rc = query_side(hc, base, t, "canary", t->canary_version, window_ms, &out->canary, queries, err,
                    errlen);
    if (!rc)
        rc = query_side(hc, base, t, "stable", t->stable_version, window_ms, &out->stable, queries,
                        err, errlen);
    http_client_free(hc);
    return rc;
}

/* --- scraping /metrics ------------------------------------------------------------------ */

struct scrape_ctx {
    const struct canary_target *t;
    struct canary_scrape *out;
    char canary_v[24], stable_v[24];
    int overflow;
};

static void add_bucket(struct canary_scrape_side *s, double le, double count, int *overflow)
{
    for (size_t i = 0; i < s->n_buckets; i++)
        if (s->le[i] == le) {
            s->count[i] += count;
            return;
        }
    if (s->n_buckets >= CANARY_MAX_BUCKETS) {
        *overflow = 1;
        return;
    }
    size_t i = s->n_buckets++;
    while (i > 0 && s->le[i - 1] > le) { /* keep sorted */
        s->le[i] = s->le[i - 1];
        s->count[i] = s->count[i - 1];
        i--;
    }
    s->le[i] = le;
    s->count[i] = count;
}

static int on_sample(void *ctx, const char *name, const struct promtext_label *labels, size_t n,
                     double value)
{
    struct scrape_ctx *c = ctx;
    if (strncmp(name, "mmsp_gateway_", 13) != 0 || !isfinite(value))
        return 0;
    const char *dep = promtext_label(labels, n, "deployment");
    const char *env = promtext_label(labels, n, "environment");
    const char *variant = promtext_label(labels, n, "variant");
    const char *version = promtext_label(labels, n, "version");
    if (!dep || !env || !variant || !version || strcmp(dep, c->t->deployment) ||
        strcmp(env, c->t->environment))
        return 0;
    struct canary_scrape_side *s;
    if (strcmp(variant, "canary") == 0 && strcmp(version, c->canary_v) == 0)
        s = &c->out->canary;
    else if (strcmp(variant, "stable") == 0 && strcmp(version, c->stable_v) == 0)
        s = &c->out->stable;
    else
        return 0;
    if (strcmp(name, "mmsp_gateway_requests_total") == 0) {
        s->requests += value;
    } else if (strcmp(name, "mmsp_gateway_errors_total") == 0) {
        s->errors += value;
    } else if (strcmp(name, "mmsp_gateway_request_duration_seconds_bucket") == 0) {
        const char *le = promtext_label(labels, n, "le");
        char *e = NULL;
        double b = le ? strtod(le, &e) : NAN;
        if (le && strcmp(le, "+Inf") == 0)
            b = INFINITY;
        else if (!le || !e || *e)
            return 0;
        if (!isnan(b))
            add_bucket(s, b, value, &c->overflow);
    }
    return 0;
}

mmsp_err canary_scrape_parse(const char *text, size_t len, const struct canary_target *t,
                             struct canary_scrape *out, char *err, size_t errlen)
{
    struct scrape_ctx c = {.t = t, .out = out};
    memset(out, 0, sizeof *out);
    snprintf(c.canary_v, sizeof c.canary_v, "%lld", (long long)t->canary_version);
    snprintf(c.stable_v, sizeof c.stable_v, "%lld", (long long)t->stable_version);
    mmsp_err rc = promtext_parse(text, len, on_sample, &c, err, errlen);
    if (!rc && c.overflow) {
        snprintf(err, errlen, "more than %d latency buckets", CANARY_MAX_BUCKETS);
        rc = MMSP_E_TOO_LARGE;
    }
    return rc;
}

mmsp_err canary_scrape(const char *metrics_url, const struct canary_target *t,
                       struct canary_scrape *out, char *err, size_t errlen)
{
    struct http_client *hc = NULL;
    struct http_client_options o = {.timeout_ms = 10000};
    struct http_client_response res = {0};
    mmsp_err rc = http_client_new(&o, &hc, err, errlen);
    if (rc)
        return rc;
    struct http_client_request rq = {.method = "GET", .url = metrics_url};
    rc = http_client_do(hc, &rq, &res, err, errlen);
    if (rc)
        goto out;
    if (res.status != 200) {
        snprintf(err, errlen, "%s answered %ld", metrics_url, res.status);
        rc = MMSP_E_UNAVAILABLE;
    } else {
        rc = canary_scrape_parse(res.body.data ? res.body.data : "", res.body.len, t, out, err,
                                 errlen);
    }
    http_client_response_release(&res);
out:
    http_client_free(hc);
    return rc;
}

static double increase(double before, double after)
{
    return after >= before ? after - before : after; /* a reset counter starts from 0 */
}

static void diff_side(const struct canary_scrape_side *b, const struct canary_scrape_side *a,
                      struct canary_side *out)
{
    out->requests = increase(b->requests, a->requests);
    out->errors = increase(b->errors, a->errors);
    out->error_rate = out->requests > 0 ? out->errors / out->requests : 0;
    double cnt[CANARY_MAX_BUCKETS];
    int reset = a->requests < b->requests;
    for (size_t i = 0; i < a->n_buckets; i++) {
        double prev = 0;
        for (size_t j = 0; j < b->n_buckets && !reset; j++)
            if (b->le[j] == a->le[i])
                prev = b->count[j];
        cnt[i] = increase(prev, a->count[i]);
    }
    out->p99_ms = canary_histogram_quantile(0.99, a->le, cnt, a->n_buckets) * 1000;
}

void canary_scrape_diff(const struct canary_scrape *before, const struct canary_scrape *after,
                        struct canary_figures *out)
{
    diff_side(&before->canary, &after->canary, &out->canary);
    diff_side(&before->stable, &after->stable, &out->stable);
}
