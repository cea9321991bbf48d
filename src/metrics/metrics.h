/*
 * Metrics: counters, gauges and histograms in labelled families, rendered in the Prometheus
 * text exposition format 0.0.4 (reference/protocols.md section 5.2) so that
 * `promtool check metrics` accepts the output.
 *
 * Updates are lock-free (atomics) and safe from any thread; looking a series up by label
 * values takes the family's lock, so hot paths look a series up once (e.g. when a model
 * version is loaded) and keep the pointer: series live as long as the registry.
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

/* Latency buckets in seconds, 50 µs .. 10 s, for request-duration histograms. */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_buckets_count;

struct metrics_registry *metrics_registry_new(void);
void metrics_registry_free(struct metrics_registry *r); /* frees families and series */

/*
 * Registers a family. name must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 * [a-zA-Z_][a-zA-Z0-9_]* (not "le" for histograms); buckets (histograms only) strictly
 * increasing, +Inf added implicitly. Registering the same name twice returns the existing
 * family when type, labels and buckets agree, NULL otherwise. The strings are copied.
 */
struct metric_family *metrics_family_register(struct metrics_registry *r, const char *name,
                                              const char *help, enum metric_type type,
                                              const char *const *label_names, size_t n_labels,
                                              const double *buckets, size_t n_buckets);

/* The series with these label values (n_labels of them), created on first use. NULL only
 * when out of memory. Label values are copied and escaped when rendered. */
struct metric_series *metrics_series(struct metric_family *f, const char *const *label_values);

void metrics_counter_add(struct metric_series *s, double v); /* v >= 0 */
void metrics_gauge_set(struct metric_series *s, double v);
void metrics_gauge_add(struct metric_series *s, double v);
void metrics_histogram_observe(struct metric_series *s, double v);
double
metrics_series_value(const struct metric_series *s); /* counter/gauge value; histogram count */

/* Appends the whole registry in text format 0.0.4 (# HELP, # TYPE, samples; histograms with
 * _bucket{le=...} cumulative, _sum, _count). */
mmsp_err metrics_render(struct metrics_registry *r, struct buf *out);

#endif
