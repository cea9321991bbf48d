/*
 * Metrics: counters, gauges and histograms in labelled families, rendered in the Prometheus
 * text exposition format 0.0.4 (reference/protocols.md section 5.2) so that
 * `promtool check metrics` accepts the output.
 *
 * Updates are lock-free (atomics) and safe from any thread; looking a series up by label
 * values takes the family's lock, so hot paths look a series up once (e.g. when a model
 * version is loaded) and keep the pointer: series live as long as the registry.
 * Counter and gauge values are doubles updated by compare-and-swap on their bit pattern;
 * histogram bucket counts are plain atomic integers (the _count and the le="+Inf" bucket are
 * the sum of the buckets, so a scrape taken during updates is still self-consistent).
 * Calls: common/buf.
 */
#ifndef MMSP_METRICS_H
#define MMSP_METRICS_H

#include <stddef.h>

#include "common/buf.h"
#include "mmsp/error.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metrics_registry;
struct metric_family;
struct metric_series;

/* Ceilings: label values come from requests (model names), so cardinality is bounded. */
#define METRICS_MAX_LABELS      16    /* label names per family */
#define METRICS_MAX_BUCKETS     64    /* explicit buckets per histogram */
#define METRICS_MAX_SERIES      10000 /* series per family */
#define METRICS_MAX_LABEL_VALUE 1024  /* bytes per label value */

/* Latency buckets in seconds, 50 µs .. 10 s, for request-duration histograms. */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_buckets_count;

/* A new, empty registry owned by the caller (NULL when out of memory). */
struct metrics_registry *metrics_registry_new(void);
/* Frees the registry with its families and series; every pointer into it becomes invalid.
 * NULL is ignored. */
void metrics_registry_free(struct metrics_registry *r);

/*
 * Registers a family. name must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 * [a-zA-Z_][a-zA-Z0-9_]* (not "__"-prefixed, no duplicates, not "le" for histograms) and at
 * most METRICS_MAX_LABELS of them; help is required (promtool's lint wants it); buckets
 * (histograms only, at most METRICS_MAX_BUCKETS) finite and strictly increasing, +Inf added
 * implicitly. Registering the same name twice returns the existing family when type, labels
 * and buckets agree (the help text of the first registration is kept), NULL otherwise. A name
 * that would collide with another family's samples (a counter "x_count" beside a histogram
 * "x") is refused with NULL. The strings and arrays are copied; the family is owned by r.
 * A family without labels gets its single series at once, so it renders as 0 before use.
 */
struct metric_family *metrics_family_register(struct metrics_registry *r, const char *name,
                                              const char *help, enum metric_type type,
                                              const char *const *label_names, size_t n_labels,
                                              const double *buckets, size_t n_buckets);

/* The series with these label values (n_labels of them; NULL when there are none), created on
 * first use and owned by the family. NULL when out of memory, when a value is longer than
 * METRICS_MAX_LABEL_VALUE, or when the family already holds METRICS_MAX_SERIES series.
 * Label values are copied; bytes that are not UTF-8 render as U+FFFD; escaped when rendered. */
struct metric_series *metrics_series(struct metric_family *f, const char *const *label_values);

/* Updates. A NULL series is ignored (so a failed lookup never crashes a request), as is an
 * update that does not fit the series' type, a negative or NaN counter increment and a NaN
 * observation. */
void metrics_counter_add(struct metric_series *s, double v); /* v >= 0 */
void metrics_gauge_set(struct metric_series *s, double v);
void metrics_gauge_add(struct metric_series *s, double v);
void metrics_histogram_observe(struct metric_series *s, double v);
/* Counter/gauge value; histogram count. 0 for NULL. */
double metrics_series_value(const struct metric_series *s);
/* Histogram sum of observations; 0 for other types and NULL. */
double metrics_histogram_sum(const struct metric_series *s);

/* Appends the whole registry in text format 0.0.4 (# HELP, # TYPE, samples; histograms with
 * _bucket{le=...} cumulative, _sum, _count), families in registration order, series in
 * creation order. MMSP_E_TOO_LARGE when out's ceiling is reached; on any error out is put
 * back to the length it had. */
mmsp_err metrics_render(struct metrics_registry *r, struct buf *out);

#endif
