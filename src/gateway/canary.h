/*
 * The canary controller's analysis (docs/gateway.md "Canary analysis"), shared by
 * `mmsp canary watch` (src/cli/cmd_canary.c): the figures of one interval for the stable and
 * the canary variant, gathered either from Prometheus (PromQL over /api/v1/query) or from two
 * scrapes of a gateway's /metrics, and the verdict against the bounds.
 * Calls: http/client, gateway/promtext, jansson.
 */
#ifndef MMSP_GATEWAY_CANARY_H
#define MMSP_GATEWAY_CANARY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mmsp/error.h"

#define CANARY_MAX_BUCKETS 64

/* One variant over one interval. NaN p99 = no observation. */
struct canary_side {
    double requests, errors; /* counts over the interval (Prometheus: increase(), estimated) */
    double error_rate;       /* errors / requests, 0 when no request */
    double p99_ms;
};

struct canary_figures {
    struct canary_side canary, stable;
};

struct canary_bounds {
    double max_error_rate; /* canary error rate at most this (default 0.01) */
    double error_margin;   /* ... and at most the stable's + this (default 0.005) */
    double max_p99_ms;     /* canary p99 at most this (default 50) */
    double p99_factor;     /* ... and at most factor x the stable's p99 (default 2) */
    double p99_floor_ms;   /* the factor rule applies above this p99 only (default 5) */
    double min_requests;   /* fewer canary requests: inconclusive (default 20) */
};

void canary_bounds_default(struct canary_bounds *b);

enum canary_verdict { CANARY_PASS = 0, CANARY_FAIL, CANARY_INCONCLUSIVE };

const char *canary_verdict_name(enum canary_verdict v); /* "pass" "fail" "inconclusive" */

/* The verdict; `why` (caller's buffer) says which rule decided. */
enum canary_verdict canary_judge(const struct canary_bounds *b, const struct canary_figures *f,
                                 char *why, size_t whylen);

/* {"canary": {...}, "stable": {...}} with requests, errors, error_rate, p99_ms (null when
 * unknown). New reference; NULL when out of memory. */
json_t *canary_figures_json(const struct canary_figures *f);

/* Which series: the gateway metric labels of one deployment's two variants. */
struct canary_target {
    const char *deployment, *environment; /* borrowed */
    int64_t stable_version, canary_version;
};

/*
 * Prometheus: the figures over the last `window_ms` (the PromQL range [Nms]) from the
 * Prometheus server at base_url, with the queries of docs/gateway.md. The queries sent are
 * appended to `queries` (a JSON array, may be NULL) for the record.
 */
mmsp_err canary_query_prometheus(const char *base_url, const struct canary_target *t,
                                 unsigned window_ms, struct canary_figures *out, json_t *queries,
                                 char *err, size_t errlen);

/* A gateway's /metrics reduced to the counters and buckets of the two variants. */
struct canary_scrape_side {
    double requests, errors;
    double le[CANARY_MAX_BUCKETS], count[CANARY_MAX_BUCKETS]; /* cumulative, sorted by le */
    size_t n_buckets;
};
struct canary_scrape {
    struct canary_scrape_side canary, stable;
};

/* Reads the metrics text (need not be NUL-terminated) into *out. */
mmsp_err canary_scrape_parse(const char *text, size_t len, const struct canary_target *t,
                             struct canary_scrape *out, char *err, size_t errlen);
/* GET metrics_url and parse it. */
mmsp_err canary_scrape(const char *metrics_url, const struct canary_target *t,
                       struct canary_scrape *out, char *err, size_t errlen);
/* The figures between two scrapes (a counter that went down was reset: its later value is
 * the increase). */
void canary_scrape_diff(const struct canary_scrape *before, const struct canary_scrape *after,
                        struct canary_figures *out);

/* histogram_quantile as Prometheus computes it over cumulative buckets (le ascending, the
 * last +Inf): NaN when empty. */
double canary_histogram_quantile(double q, const double *le, const double *count, size_t n);

#endif
