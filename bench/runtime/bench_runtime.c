/*
 * Benchmark: mmsp's tree evaluator against libxgboost's XGBoosterPredictFromDense (nthread=1)
 * on the same model file and the same random rows, in process. Prints the median single-row
 * latency (ns per call) and the median batch-256 throughput (rows/s) of each, and the ratios
 * (mmsp speed-up over xgboost). Also checks that both give the same predictions. Times are
 * the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so a busy machine skews them less;
 * with nthread=1 xgboost predicts on the calling thread too.
 * Usage: bench_runtime MODEL.json NUM_FEATURE. Calls: the mmsp runtime, libxgboost.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xgboost/c_api.h>

#include "mmsp/mmsp.h"
#include "../bench_util.h"

#define BATCH   256
#define SAMPLES 41 /* timed samples; the median is reported */

#define XGB(call)                                                                                  \
    do {                                                                                           \
        if ((call) != 0) {                                                                         \
            fprintf(stderr, "bench_runtime: %s: %s\n", #call, XGBGetLastError());                  \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static const char *XGB_CONFIG = "{\"type\":0,\"training\":false,\"iteration_begin\":0,"
                                "\"iteration_end\":0,\"strict_shape\":false,\"missing\":NaN,"
                                "\"cache_id\":0}";

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return v[n / 2];
}

struct bench {
    mmsp_model *m;
    BoosterHandle b;
    float *rows; /* BATCH * nf */
    size_t nf, width;
    float *out;
    char (*iface_row)[256]; /* per-row array interface strings for xgboost */
    char iface_batch[256];
    volatile float sink;
};

static void mmsp_one(struct bench *s, size_t r)
{
    char err[MMSP_ERRMSG_MAX];
    mmsp_tensor x = {.dtype = MMSP_DT_FP32,
                     .ndim = 2,
                     .shape = {1, (int64_t)s->nf},
                     .data = s->rows + r * s->nf,
                     .nbytes = s->nf * sizeof(float)};
    mmsp_tensor y = {.data = s->out, .nbytes = s->width * sizeof(float)};
    if (mmsp_model_run(s->m, &x, 1, &y, 1, err, sizeof err)) {
        fprintf(stderr, "bench_runtime: %s\n", err);
        exit(1);
    }
    s->sink = s->out[0];
}

static void mmsp_batch(struct bench *s)
{
    char err[MMSP_ERRMSG_MAX];
    mmsp_tensor x = {.dtype = MMSP_DT_FP32,
                     .ndim = 2,
                     .shape = {BATCH, (int64_t)s->nf},
                     .data = s->rows,
                     .nbytes = BATCH * s->nf * sizeof(float)};
    mmsp_tensor y = {.data = s->out, .nbytes = BATCH * s->width * sizeof(float)};
    if (mmsp_model_run(s->m, &x, 1, &y, 1, err, sizeof err)) {
        fprintf(stderr, "bench_runtime: %s\n", err);
        exit(1);
    }
    s->sink = s->out[0];
}

static const float *xgb_predict(struct bench *s, const char *iface)
{
    const bst_ulong *shape;
    bst_ulong dim;
    const float *res;
    XGB(XGBoosterPredictFromDense(s->b, iface, XGB_CONFIG, NULL, &shape, &dim, &res));
    s->sink = res[0];
    return res;
}

/* Median ns per single-row call over SAMPLES samples of `calls` calls each. */
static double time_single(struct bench *s, int use_xgb, int calls)
{
    double t[SAMPLES];
    for (int k = 0; k < SAMPLES; k++) {
        double t0 = bench_cpu_ns();
        for (int i = 0; i < calls; i++) {
            size_t r = (size_t)(k * calls + i) % BATCH;
            if (use_xgb)
                xgb_predict(s, s->iface_row[r]);
            else
                mmsp_one(s, r);
        }
        t[k] = (bench_cpu_ns() - t0) / calls;
    }
    return median(t, SAMPLES);
}

/* Median rows/s over SAMPLES samples of `calls` batch-256 calls each. */
static double time_batch(struct bench *s, int use_xgb, int calls)
{
    double t[SAMPLES];
    for (int k = 0; k < SAMPLES; k++) {
        double t0 = bench_cpu_ns();
        for (int i = 0; i < calls; i++) {
            if (use_xgb)
                xgb_predict(s, s->iface_batch);
            else
                mmsp_batch(s);
        }
        t[k] = (double)BATCH * calls / ((bench_cpu_ns() - t0) * 1e-9);
    }
    return median(t, SAMPLES);
}

int main(int argc, char **argv)
{
    struct bench s = {0};
    char err[MMSP_ERRMSG_MAX];
    if (argc != 3) {
        fprintf(stderr, "usage: bench_runtime MODEL.json NUM_FEATURE\n");
        return 2;
    }
    s.nf = (size_t)strtoul(argv[2], NULL, 10);
    if (mmsp_model_load(argv[1], &s.m, err, sizeof err)) {
        fprintf(stderr, "bench_runtime: %s\n", err);
        return 1;
    }
    if (mmsp_model_get_info(s.m)->num_feature != (int64_t)s.nf) {
        fprintf(stderr, "bench_runtime: the model has %lld features, not %zu\n",
                (long long)mmsp_model_get_info(s.m)->num_feature, s.nf);
        return 1;
    }
    XGB(XGBoosterCreate(NULL, 0, &s.b));
    XGB(XGBoosterLoadModel(s.b, argv[1]));
    XGB(XGBoosterSetParam(s.b, "nthread", "1"));

    s.rows = malloc(BATCH * s.nf * sizeof(float));
    s.width = mmsp_model_output_bytes(s.m, 0, 1) / sizeof(float);
    s.out = malloc(BATCH * s.width * sizeof(float));
    s.iface_row = malloc(BATCH * sizeof *s.iface_row);
    for (size_t r = 0; r < BATCH; r++)
        snprintf(s.iface_row[r], sizeof s.iface_row[r],
                 "{\"data\":[%llu,true],\"shape\":[1,%zu],\"typestr\":\"<f4\",\"version\":3}",
                 (unsigned long long)(uintptr_t)(s.rows + r * s.nf), s.nf);
    snprintf(s.iface_batch, sizeof s.iface_batch,
             "{\"data\":[%llu,true],\"shape\":[%d,%zu],\"typestr\":\"<f4\",\"version\":3}",
             (unsigned long long)(uintptr_t)s.rows, BATCH, s.nf);
    const mmsp_model_info *info = mmsp_model_get_info(s.m);
    printf("model %s (%s, %lld features), nthread=1\n", argv[1], info->objective,
           (long long)info->num_feature);

    /* Two row sets: all values present, and ~5% missing (NaN) values. */
    const double nan_rates[] = {0.0, 0.05};
    double maxdiff = 0;
    for (int set = 0; set < 2; set++) {
        uint64_t st = 42;
        for (size_t i = 0; i < BATCH * s.nf; i++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            double u = (double)(st >> 11) / 9007199254740992.0;
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            double w = (double)(st >> 11) / 9007199254740992.0;
            s.rows[i] = w < nan_rates[set] ? NAN : (float)((u - 0.5) * 6.0);
        }
        /* Same answers? */
        mmsp_batch(&s);
        const float *ref = xgb_predict(&s, s.iface_batch);
        for (size_t i = 0; i < BATCH * s.width; i++)
            maxdiff = fmax(maxdiff, fabs((double)ref[i] - (double)s.out[i]));

        /* Warm up, then time. */
        time_single(&s, 0, 200);
        time_single(&s, 1, 20);
        double ns_mmsp = time_single(&s, 0, 2000);
        double ns_xgb = time_single(&s, 1, 200);
        double rps_mmsp = time_batch(&s, 0, 20);
        double rps_xgb = time_batch(&s, 1, 5);
        printf("rows with %2.0f%% NaN:\n", nan_rates[set] * 100);
        printf("  single row  mmsp %10.0f ns/call  xgboost %10.0f ns/call  speed-up %6.1fx\n",
               ns_mmsp, ns_xgb, ns_xgb / ns_mmsp);
        printf("  batch %d   mmsp %10.0f rows/s   xgboost %10.0f rows/s   speed-up %6.1fx\n", BATCH,
               rps_mmsp, rps_xgb, rps_mmsp / rps_xgb);
    }
    printf("max |mmsp - xgboost| over all rows: %.3g\n", maxdiff);

    mmsp_model_release(s.m);
    XGB(XGBoosterFree(s.b));
    free(s.rows);
    free(s.out);
    free(s.iface_row);
    return maxdiff <= 1e-6 ? 0 : 1;
}
