/*
 * Parquet scan benchmark, our side (bench/parquet/run drives it and times DuckDB on the same
 * file):
 *   bench_parquet write FILE ROWS     writes ROWS rows with our writer (SNAPPY, dictionary):
 *                                     id INT64, ts TIMESTAMP_US, 30 DOUBLE features f0..f29
 *                                     (5% nulls in f0), a low-cardinality STRING label
 *   bench_parquet scan FILE [RUNS]    reads every column of every row group and aggregates it
 *                                     (sum of numbers, count of non-nulls, total string bytes,
 *                                     the same work as run's DuckDB query); prints the best of
 *                                     RUNS (default 5) as "rows_per_s N" and the checksum.
 * Single thread, file in the page cache after the first run.
 * Calls: parquet/parquet.h.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parquet/parquet.h"

#define FEATURES 30

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmd_write(const char *path, size_t rows)
{
    struct parquet_field f[FEATURES + 3];
    struct parquet_column c[FEATURES + 3];
    size_t nc = FEATURES + 3;
    memset(f, 0, sizeof f);
    snprintf(f[0].name, sizeof f[0].name, "id");
    f[0].type = PARQUET_INT64;
    snprintf(f[1].name, sizeof f[1].name, "ts");
    f[1].type = PARQUET_TIMESTAMP_US;
    snprintf(f[2].name, sizeof f[2].name, "label");
    f[2].type = PARQUET_STRING;
    for (int k = 0; k < FEATURES; k++) {
        snprintf(f[3 + k].name, sizeof f[3 + k].name, "f%d", k);
        f[3 + k].type = PARQUET_DOUBLE;
        f[3 + k].nullable = true;
    }
    for (size_t k = 0; k < nc; k++)
        parquet_column_init(&c[k], f[k].type);
    static const char *const labels[] = {"fraud", "legit", "review", "unknown"};
    uint64_t s = 88172645463325252ULL;
    for (size_t i = 0; i < rows; i++) {
        parquet_column_append_i64(&c[0], (int64_t)i);
        parquet_column_append_i64(&c[1], 1700000000000000LL + (int64_t)i * 1000);
        parquet_column_append_string(&c[2], labels[i % 4], strlen(labels[i % 4]));
        for (int k = 0; k < FEATURES; k++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            if (k == 0 && s % 20 == 0)
                parquet_column_append_null(&c[3 + k]);
            else
                parquet_column_append_double(&c[3 + k], (double)(s >> 11) / 9007199254740992.0);
        }
    }
    struct parquet_schema schema = {nc, f};
    struct parquet_writer_options o;
    parquet_writer_options_default(&o);
    o.row_group_rows = 122880; /* DuckDB's default row group size */
    char err[MMSP_ERRMSG_MAX];
    struct parquet_writer *w;
    int status = 0;
    if (parquet_writer_open(path, &schema, &o, &w, err, sizeof err) != MMSP_OK ||
        parquet_writer_write(w, c, nc, rows, err, sizeof err) != MMSP_OK ||
        parquet_writer_close(w, err, sizeof err) != MMSP_OK) {
        fprintf(stderr, "bench_parquet: %s: %s\n", path, err);
        status = 1;
    }
    for (size_t k = 0; k < nc; k++)
        parquet_column_free(&c[k]);
    return status;
}

/* One full scan: returns a checksum, -1 on error. */
static double scan(const char *path, int64_t *rows)
{
    char err[MMSP_ERRMSG_MAX];
    struct parquet_reader *r;
    if (parquet_open(path, &r, err, sizeof err) != MMSP_OK) {
        fprintf(stderr, "bench_parquet: %s: %s\n", path, err);
        return -1;
    }
    const struct parquet_schema *s = parquet_reader_schema(r);
    double sum = 0;
    *rows = parquet_reader_rows(r);
    for (size_t g = 0; g < parquet_reader_row_groups(r); g++) {
        for (size_t c = 0; c < s->ncols; c++) {
            struct parquet_column col;
            if (parquet_read_column(r, g, c, &col, err, sizeof err) != MMSP_OK) {
                fprintf(stderr, "bench_parquet: %s: %s\n", path, err);
                parquet_close(r);
                return -1;
            }
            double acc = 0;
            size_t n = col.rows, nonnull = n;
            switch (col.type) {
            case PARQUET_DOUBLE:
                for (size_t i = 0; i < n; i++)
                    acc += ((const double *)col.values)[i]; /* nulls are 0 */
                break;
            case PARQUET_FLOAT:
                for (size_t i = 0; i < n; i++)
                    acc += ((const float *)col.values)[i];
                break;
            case PARQUET_INT32:
                for (size_t i = 0; i < n; i++)
                    acc += ((const int32_t *)col.values)[i];
                break;
            case PARQUET_STRING:
                acc = (double)col.offsets[n];
                break;
            case PARQUET_BOOL:
                for (size_t i = 0; i < n; i++)
                    acc += ((const uint8_t *)col.values)[i];
                break;
            default: {
                int64_t a = 0;
                for (size_t i = 0; i < n; i++)
                    a += ((const int64_t *)col.values)[i];
                acc = (double)a;
            }
            }
            if (col.valid) {
                nonnull = 0;
                for (size_t i = 0; i < n; i++)
                    nonnull += col.valid[i];
            }
            sum += acc + (double)nonnull;
            parquet_column_free(&col);
        }
    }
    parquet_close(r);
    return sum;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "write") == 0)
        return cmd_write(argv[2], (size_t)strtoull(argv[3], NULL, 10));
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "scan") == 0) {
        int runs = argc == 4 ? atoi(argv[3]) : 5;
        double best = 1e30, check = 0;
        int64_t rows = 0;
        for (int i = 0; i < (runs > 0 ? runs : 1); i++) {
            double t0 = now();
            check = scan(argv[2], &rows);
            double t = now() - t0;
            if (check < 0)
                return 1;
            if (t < best)
                best = t;
        }
        printf("rows %" PRId64 "\nseconds %.6f\nrows_per_s %.0f\nchecksum %.6e\n", rows, best,
               (double)rows / best, check);
        return 0;
    }
    fprintf(stderr, "usage: bench_parquet write FILE ROWS | scan FILE [RUNS]\n");
    return 2;
}
