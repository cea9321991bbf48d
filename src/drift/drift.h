/*
 * Drift detection (docs/drift.md): the statistics (PSI with Evidently's empty-bin treatment,
 * the two-sample Kolmogorov-Smirnov test as scipy.stats.ks_2samp computes it, the
 * Jensen-Shannon distance as scipy.spatial.distance.jensenshannon), the training baseline
 * (built from a CSV file, stored as JSON), the batch report over prediction logs, and the
 * streaming window the gateway feeds.
 * Calls: common (json, buf), metrics.
 */
#ifndef MMSP_DRIFT_DRIFT_H
#define MMSP_DRIFT_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "mmsp/error.h"

/* Status thresholds on PSI (seed 002): warning at >= 0.1, critical at >= 0.2. */
#define DRIFT_PSI_WARNING  0.1
#define DRIFT_PSI_CRITICAL 0.2
/* A feature has drifted when PSI >= DRIFT_PSI_CRITICAL or its KS p-value < DRIFT_KS_ALPHA; the
 * dataset has drifted when the share of drifted features is >= DRIFT_SHARE. */
#define DRIFT_KS_ALPHA 0.05
#define DRIFT_SHARE    0.5

enum drift_status { DRIFT_HEALTHY = 0, DRIFT_WARNING = 1, DRIFT_CRITICAL = 2 };
const char *drift_status_name(enum drift_status s); /* static string */
enum drift_status drift_status_of(double psi);

/* ---- statistics (stats.c) ---- */

/* PSI = sum (ref_i - cur_i) ln(ref_i / cur_i) over fractions; zeros in each array are first
 * replaced by min(nonzero)/1e6 when the smallest non-zero fraction is <= 1e-4, else by 1e-4
 * (Evidently). All-zero arrays give NAN. */
double drift_psi(const double *ref, const double *cur, size_t nbins);

/* Jensen-Shannon distance (natural log): sqrt of the JS divergence of p and q, each normalised
 * to sum 1. Sums of zero give NAN. */
double drift_js_distance(const double *p, const double *q, size_t n);

/* Two-sample KS p-value (two-sided) for statistic d and sample sizes n1, n2, as ks_2samp's
 * method='auto': exact when max(n1, n2) <= 10000 (and the exact computation succeeds), else
 * kstwo.sf(d, round(n1 n2 / (n1 + n2))). *d_out (may be NULL) gets d rounded to the lattice the
 * exact method uses; *exact (may be NULL) says which method was used. force: 0 auto, 1 exact,
 * 2 asymptotic. */
double drift_ks_pvalue(uint64_t n1, uint64_t n2, double d, int force, double *d_out, int *exact);

/* One-sample two-sided Kolmogorov survival function P(D_n >= x) (scipy kstwo.sf). */
double drift_kolmogn_sf(double n, double x);

/* KS statistic of two sorted samples (NaNs excluded by the caller). */
double drift_ks_stat_sorted(const double *a, size_t n, const double *b, size_t m);

/* ---- baseline (baseline.c) ---- */

struct drift_feature {
    char *name;
    int categorical; /* 1: string values; only `cats` is filled */
    /* numeric */
    size_t nedges; /* inner edges, ascending, distinct: bins = nedges + 1 */
    double *edges;
    double *ref; /* nedges + 1 reference fractions */
    double mean, std, min, max, null_rate;
    uint64_t count; /* non-null values */
    size_t nsample;
    double *sample; /* reservoir sample, sorted ascending */
    /* categorical */
    size_t ncats;
    char **cats;
    double *cat_freq;
};

struct drift_baseline {
    size_t nfeatures;
    struct drift_feature *features; /* in model input order (the CSV header order) */
    uint64_t rows;
    int bins;
    char *source;
};

struct drift_baseline_options {
    int bins;          /* quantile bins; 0 = 10 */
    size_t sample;     /* reservoir size; 0 = 5000 */
    uint64_t seed;     /* reservoir seed; 0 = 42 */
    const char *label; /* recorded as "source" */
};

/* A column table read from a CSV file: header row, RFC 4180 quoting, empty field = null. */
struct drift_table {
    size_t ncols, nrows;
    char **names;  /* ncols */
    char ***cells; /* cells[col][row], NULL = null; owned */
};
mmsp_err drift_csv_read(const char *path, struct drift_table *out, char *err, size_t errlen);
mmsp_err drift_csv_parse(const char *text, size_t len, struct drift_table *out, char *err,
                         size_t errlen);
void drift_table_free(struct drift_table *t);
/* Reads a flat Parquet file into a table (parquet_table.c): one column per Parquet column,
 * values as text (numbers round-trip exact, booleans true/false, nulls NULL). */
mmsp_err drift_parquet_read(const char *path, struct drift_table *out, char *err, size_t errlen);

/* Builds a baseline from a table (a column is numeric when every non-null cell parses as a
 * number). *out is owned by the caller (drift_baseline_free). */
mmsp_err drift_baseline_build(const struct drift_table *t, const struct drift_baseline_options *o,
                              struct drift_baseline *out, char *err, size_t errlen);
/* Reads TRAIN.csv or TRAIN.parquet (by the name's suffix) and builds the baseline. */
mmsp_err drift_baseline_from_file(const char *path, const struct drift_baseline_options *o,
                                  struct drift_baseline *out, char *err, size_t errlen);
/* JSON form (docs/drift.md "Baseline format"). The returned string is malloc'd (caller frees). */
mmsp_err drift_baseline_to_json(const struct drift_baseline *b, char **out, char *err,
                                size_t errlen);
mmsp_err drift_baseline_parse(const char *text, size_t len, struct drift_baseline *out, char *err,
                              size_t errlen);
mmsp_err drift_baseline_load(const char *path, struct drift_baseline *out, char *err,
                             size_t errlen);
mmsp_err drift_baseline_save(const struct drift_baseline *b, const char *path, char *err,
                             size_t errlen);
void drift_baseline_free(struct drift_baseline *b);

/* Bin of x among the inner edges (ascending): the count of edges <= x, 0..nedges. */
size_t drift_bin_of(const double *edges, size_t nedges, double x);

/* ---- report (report.c) ---- */

struct drift_feature_result {
    const char *name; /* borrowed from the baseline */
    int numeric;
    uint64_t count, nulls;
    double psi, js, ks_d, ks_p;
    int ks_exact;
    double mean;
    enum drift_status status;
    int drifted;
};

struct drift_report {
    size_t nfeatures;
    struct drift_feature_result *features;
    uint64_t rows, files, skipped_lines;
    int64_t since_ms; /* 0 = all */
    double drift_share;
    int dataset_drift;
    enum drift_status status; /* worst feature status */
};

struct drift_report_options {
    int64_t since_ms; /* only records with time >= this; 0 = all */
    int threads;      /* 0 = 2 */
};

/* Reads DIR/predictions-*.jsonl and compares their inputs with the baseline. The report
 * borrows names from b; free it with drift_report_free before b. */
mmsp_err drift_report_logs(const struct drift_baseline *b, const char *dir,
                           const struct drift_report_options *o, struct drift_report *out,
                           char *err, size_t errlen);
/* The same over a buffer of JSON lines (one file's content). */
mmsp_err drift_report_buffer(const struct drift_baseline *b, const char *text, size_t len,
                             int64_t since_ms, struct drift_report *out, char *err, size_t errlen);
/* Compares in-memory columns: cols[f] holds n[f] values of feature f (NAN = null). */
mmsp_err drift_report_columns(const struct drift_baseline *b, const double *const *cols,
                              const size_t *n, struct drift_report *out, char *err, size_t errlen);
/* The report as JSON (malloc'd string, caller frees). */
mmsp_err drift_report_to_json(const struct drift_report *r, const char *baseline_path,
                              const char *logs_dir, char **out, char *err, size_t errlen);
void drift_report_free(struct drift_report *r);

/* ---- prediction-log column names (logcols.c) ---- */

#define DRIFT_COLUMN_NAME_MAX 255 /* bytes, as PARQUET_MAX_NAME */

/* 1 when `name` is a column the Parquet prediction log writes itself (time, id, deployment,
 * environment, model, version, variant, entity_id, prediction, latency_ms, status,
 * prediction_*, prob_*). */
int drift_log_column_reserved(const char *name);

/* The log's column names for n features named names[0..n-1] (names or an entry may be NULL:
 * "f<i>"): control bytes become '_', names are cut to DRIFT_COLUMN_NAME_MAX bytes at a UTF-8
 * boundary, reserved names get the prefix "feature_", repeats the suffix "_2", "_3", ... The
 * same list always gives the same columns (the gateway writes them, the report looks them
 * up). */
void drift_log_feature_columns(const char *const *names, size_t n,
                               char (*out)[DRIFT_COLUMN_NAME_MAX + 1]);

/* ---- retraining trigger (trigger.c) ---- */

/* Runs `command` (split on blanks, no shell) with report_path appended as its last argument,
 * via posix_spawnp, and waits for it; a non-zero exit is an error. The webhook variant lives
 * with the callers that link the HTTP client (cli/cmd_drift.c, the gateway). */
mmsp_err drift_trigger_command(const char *command, const char *report_path, char *err,
                               size_t errlen);

/* Episode state kept in a small file (STATE): "critical" while an episode is open. Returns 1
 * when the trigger should fire now (status critical and no open episode), 0 otherwise; updates
 * the file (the episode closes when status drops below warning). */
int drift_episode_step(const char *state_path, enum drift_status status);

/* ---- streaming (stream.c) ---- */

struct metrics_registry;
struct drift_stream;

/* A sliding window of the last `window` rows (0 = 10000) per deployment with a baseline,
 * binned with the baseline's edges. Gauges mmsp_feature_drift_psi{deployment,feature} and
 * mmsp_dataset_drift_share{deployment} are registered in m (borrowed, may be NULL). */
mmsp_err drift_stream_new(struct metrics_registry *m, size_t window, struct drift_stream **out,
                          char *err, size_t errlen);
/* Loads every DIR/<deployment>.json (deployments whose file is gone are dropped and their
 * gauges set to NaN) when the directory's or a file's
 * modification time changed since the last call; a missing directory means no baselines. A
 * file that does not parse is skipped (its error is returned in err with MMSP_E_PARSE after
 * the others were loaded). Cheap when nothing changed: one stat per file. */
mmsp_err drift_stream_load_dir(struct drift_stream *s, const char *dir, char *err, size_t errlen);
/* Attaches b (ownership passes to the stream) to deployment (copied). */
mmsp_err drift_stream_attach(struct drift_stream *s, const char *deployment,
                             struct drift_baseline *b, char *err, size_t errlen);
/* Feeds rows x cols values (row-major, float) of one deployment; ignored when the deployment
 * has no baseline or cols differs from its feature count. Thread-safe. */
void drift_stream_observe(struct drift_stream *s, const char *deployment, const float *data,
                          size_t rows, size_t cols);
/* Current PSI of a feature (NAN when unknown or the window is empty) and share. */
double drift_stream_psi(struct drift_stream *s, const char *deployment, const char *feature);
double drift_stream_share(struct drift_stream *s, const char *deployment);
/* Rows the window must hold before it can open or close an episode: PSI over fewer rows is
 * mostly noise (over n rows of undrifted data with 10 bins it is about 9 / n on average). */
#define DRIFT_STREAM_MIN_ROWS 1000
/* Sets that minimum (0 = 1; at most the window); tests use small windows. */
void drift_stream_set_min_rows(struct drift_stream *s, size_t min_rows);

/* A status change of one deployment's window (with at least the minimum rows): DRIFT_CRITICAL
 * when it turned critical (a numeric feature at PSI >= DRIFT_PSI_CRITICAL, which a dataset
 * drift share >= DRIFT_SHARE implies too), DRIFT_HEALTHY when every PSI fell below
 * DRIFT_PSI_WARNING (also the first status of a new window: it closes an episode left open).
 * Turning warning is no event. Feed it to drift_episode_step: the trigger fires at the first
 * critical of an episode. For CRITICAL the event owns a copy of the baseline and the window's
 * values (cols[f][0..rows), NAN = null), so a report can be computed with
 * drift_report_columns without the stream. */
struct drift_stream_event {
    char deployment[256];
    enum drift_status status;
    struct drift_baseline baseline;
    double **cols;
    size_t rows;
};
/* Takes the next pending event (called from a background thread, never on the request
 * path): 1 when *ev was filled (release it), 0 when none is pending, -1 when a critical event
 * could not be copied (err says why; the event is consumed, ev holds only the name). */
int drift_stream_take_event(struct drift_stream *s, struct drift_stream_event *ev, char *err,
                            size_t errlen);
void drift_stream_event_release(struct drift_stream_event *ev);
/* Recomputes the gauges (called on each observe batch and by the caller before /metrics). */
void drift_stream_update(struct drift_stream *s);
void drift_stream_free(struct drift_stream *s);

#endif
