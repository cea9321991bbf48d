/*
 * train_common: the parts the example trainers share (train_common.h): libxgboost error
 * reports, DMatrix construction, booster fit / predict / save, test-split metrics and AUC,
 * the score PSI, the manifest, atomic file writes and mkdir -p. Compiled into each trainer with
 * its own flags, so its arithmetic is what each trainer computed before it was shared.
 * Calls: libxgboost (C API), libc.
 */
#include "train_common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int train_xgb_failed(const char *what)
{
    fprintf(stderr, "train: libxgboost: %s: %s\n", what, XGBGetLastError());
    return 1;
}

int train_dmatrix_create(const struct train_split *d, uint32_t cols, const char **names,
                         DMatrixHandle *out)
{
    int rc = 0;
    *out = NULL;
    XGB(XGDMatrixCreateFromMat(d->x, (bst_ulong)d->rows, cols, NAN, out));
    XGB(XGDMatrixSetFloatInfo(*out, "label", d->y, (bst_ulong)d->rows));
    XGB(XGDMatrixSetStrFeatureInfo(*out, "feature_name", names, cols));
    return 0;
out:
    if (*out)
        XGDMatrixFree(*out);
    *out = NULL;
    return rc;
}

int train_booster_fit(DMatrixHandle dtrain, const char *const (*params)[2], size_t n_params,
                      int rounds, BoosterHandle *out)
{
    int rc = 0;
    BoosterHandle booster = NULL;
    *out = NULL;
    XGB(XGBoosterCreate(&dtrain, 1, &booster));
    for (size_t i = 0; i < n_params; i++)
        XGB(XGBoosterSetParam(booster, params[i][0], params[i][1]));
    for (int it = 0; it < rounds; it++)
        XGB(XGBoosterUpdateOneIter(booster, it, dtrain));
    *out = booster;
    return 0;
out:
    if (booster)
        XGBoosterFree(booster);
    return rc;
}

int train_booster_predict(BoosterHandle booster, DMatrixHandle dtrain, long train_rows,
                          DMatrixHandle dtest, long test_rows, float **train_pred,
                          const float **test_pred)
{
    int rc = 1;
    const char *config = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
                         "\"iteration_end\": 0, \"strict_shape\": false}";
    const bst_ulong *shape;
    bst_ulong dim;
    const float *pred;
    float *copy = NULL;
    *train_pred = NULL;
    *test_pred = NULL;
    /* Training-split scores first (copied: the next predict call reuses the booster's buffer),
     * for the drift figure. */
    XGB(XGBoosterPredictFromDMatrix(booster, dtrain, config, &shape, &dim, &pred));
    if (dim != 1 || shape[0] != (bst_ulong)train_rows ||
        !(copy = malloc((size_t)train_rows * sizeof *copy))) {
        fprintf(stderr, "train: unexpected prediction shape or out of memory\n");
        goto out;
    }
    memcpy(copy, pred, (size_t)train_rows * sizeof *copy);
    XGB(XGBoosterPredictFromDMatrix(booster, dtest, config, &shape, &dim, &pred));
    if (dim != 1 || shape[0] != (bst_ulong)test_rows) {
        fprintf(stderr, "train: unexpected prediction shape\n");
        goto out;
    }
    *train_pred = copy;
    *test_pred = pred;
    return 0;
out:
    free(copy);
    return rc;
}

int train_booster_save(BoosterHandle booster, const char *repo, const char *name, char *path,
                       size_t cap)
{
    int rc = 1;
    char tmp[4200];
    snprintf(path, cap, "%s/%s/1/model.json", repo, name);
    snprintf(tmp, sizeof tmp, "%s/%s/1/model.tmp.json", repo, name);
    XGB(XGBoosterSaveModel(booster, tmp)); /* the .json suffix selects the JSON format */
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "train: %s: %s\n", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    return rc;
}

void train_run_release(float *train_pred, BoosterHandle booster, DMatrixHandle dtrain,
                       DMatrixHandle dtest)
{
    free(train_pred);
    if (booster)
        XGBoosterFree(booster);
    if (dtrain)
        XGDMatrixFree(dtrain);
    if (dtest)
        XGDMatrixFree(dtest);
}

/* AUC as the probability that a random positive row scores above a random negative row (ties
 * count one half): rank-sum over the scores sorted ascending. */
struct scored {
    float p;
    float y;
};

static int cmp_scored(const void *a, const void *b)
{
    float pa = ((const struct scored *)a)->p, pb = ((const struct scored *)b)->p;
    return (pa > pb) - (pa < pb);
}

static double auc(const float *p, const float *y, long n)
{
    struct scored *s = malloc((size_t)n * sizeof *s);
    if (!s)
        return NAN;
    for (long i = 0; i < n; i++)
        s[i] = (struct scored){p[i], y[i]};
    qsort(s, (size_t)n, sizeof *s, cmp_scored);
    double rank_sum = 0.0; /* sum of the (1-based, tie-averaged) ranks of positive rows */
    long pos = 0;
    for (long i = 0; i < n;) {
        long j = i;
        while (j < n && s[j].p == s[i].p)
            j++;
        double avg_rank = (double)(i + 1 + j) / 2.0;
        for (long k = i; k < j; k++) {
            if (s[k].y == 1.0f) {
                rank_sum += avg_rank;
                pos++;
            }
        }
        i = j;
    }
    free(s);
    long neg = n - pos;
    if (pos == 0 || neg == 0)
        return NAN;
    return (rank_sum - (double)pos * (double)(pos + 1) / 2.0) / ((double)pos * (double)neg);
}

double train_ratio(long a, long b)
{
    return b ? (double)a / (double)b : 0.0;
}

void train_metrics_evaluate(const float *p, const float *y, long n, struct train_metrics *m)
{
    memset(m, 0, sizeof *m);
    for (long i = 0; i < n; i++) {
        int pred = p[i] > 0.5f, truth = y[i] == 1.0f;
        if (pred && truth)
            m->tp++;
        else if (pred)
            m->fp++;
        else if (truth)
            m->fn++;
        else
            m->tn++;
    }
    m->accuracy = train_ratio(m->tp + m->tn, n);
    m->precision = train_ratio(m->tp, m->tp + m->fp);
    m->recall = train_ratio(m->tp, m->tp + m->fn);
    m->f1 = m->precision + m->recall > 0 ? 2 * m->precision * m->recall / (m->precision + m->recall)
                                         : 0.0;
    m->auc = auc(p, y, n);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

double train_score_psi(const float *expected, long n_exp, const float *actual, long n_act)
{
    enum { BINS = 10 };
    float *sorted = malloc((size_t)n_exp * sizeof *sorted);
    if (!sorted)
        return NAN;
    memcpy(sorted, expected, (size_t)n_exp * sizeof *sorted);
    qsort(sorted, (size_t)n_exp, sizeof *sorted, cmp_float);
    float cut[BINS - 1];
    for (int b = 1; b < BINS; b++)
        cut[b - 1] = sorted[(long)((double)b * (double)n_exp / BINS)];
    free(sorted);
    long ce[BINS] = {0}, ca[BINS] = {0};
    for (int k = 0; k < 2; k++) {
        const float *v = k ? actual : expected;
        long n = k ? n_act : n_exp, *c = k ? ca : ce;
        for (long i = 0; i < n; i++) {
            int b = 0;
            while (b < BINS - 1 && v[i] > cut[b])
                b++;
            c[b]++;
        }
    }
    double psi = 0.0;
    for (int b = 0; b < BINS; b++) {
        double e = ce[b] ? (double)ce[b] / (double)n_exp : 1e-4;
        double a = ca[b] ? (double)ca[b] / (double)n_act : 1e-4;
        psi += (a - e) * log(a / e);
    }
    return psi;
}

int train_file_write_atomic(const char *path, const char *text)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "train: %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    fputs(text, f);
    if (fflush(f) != 0 || ferror(f) || fclose(f) != 0) {
        fprintf(stderr, "train: %s: write failed\n", tmp);
        return 1;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "train: %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

int train_manifest_write(const char *outdir, const char *name, const char *header,
                         const struct train_metrics *m, const char *fairness, double drift)
{
    char path[4096], text[4096];
    int major = 0, minor = 0, patch = 0;
    XGBoostVersion(&major, &minor, &patch);
    snprintf(text, sizeof text,
             "%s"
             "apiVersion: mlifecycle.io/v1\n"
             "kind: ModelDeployment\n"
             "metadata:\n"
             "  name: %s\n"
             "spec:\n"
             "  model:\n"
             "    name: %s\n"
             "    framework: xgboost\n"
             "  metrics:\n"
             "    accuracy: %.6f\n"
             "    precision: %.6f\n"
             "    recall: %.6f\n"
             "    f1_score: %.6f\n"
             "    auc: %.6f\n"
             "  fairness:\n"
             "%s"
             "  drift:\n"
             "    # Population stability index of the score, training split vs test split.\n"
             "    score: %.6f\n"
             "  dependencies:\n"
             "    - name: xgboost\n"
             "      version: \"%d.%d.%d\"\n",
             header, name, name, m->accuracy, m->precision, m->recall, m->f1, m->auc, fairness,
             drift, major, minor, patch);
    snprintf(path, sizeof path, "%s/manifest.yaml", outdir);
    return train_file_write_atomic(path, text);
}

int train_dirs_make(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                fprintf(stderr, "train: %s: %s\n", buf, strerror(errno));
                return 1;
            }
            if (c == '\0')
                return 0;
            *p = c;
        }
    }
}
