/*
 * train: trains the spam-detector example model on our own transformer's features.
 *
 *   train DATADIR REPOSITORY OUTDIR
 *
 * Reads DATADIR/train.tsv and DATADIR/test.tsv (written by gen_data: "label<TAB>group<TAB>
 * text"), turns every message into 50 features with src/features/transform.c (the code the
 * gateway runs at serving time: default n-grams, smooth idf learned from the training
 * messages, L2), trains a binary:logistic booster with libxgboost (max_depth 4, eta 0.3, 60
 * rounds, one thread, seed 0: the same model on every run) and writes
 *   REPOSITORY/spam-detector/1/model.json  the model (features h00..h49)
 *   OUTDIR/transformer.yaml                the transformer configuration with its idf and the
 *                                          labels [ham, spam]: the gateway's pre-step reads
 *                                          it as DATA/transformers/spam-detector.yaml
 *   OUTDIR/metrics.json                    accuracy, precision, recall, F1, AUC on the test
 *                                          split and two example messages with their scores
 *   OUTDIR/manifest.yaml                   the manifest (seed 001) with those measured figures,
 *                                          a fairness figure (the gap in spam-flagged rate
 *                                          between English and Spanish/French messages, whose
 *                                          true spam share is 40 % in both) and a drift figure
 *                                          (PSI of the score, train vs test)
 * Files are written to temporary names and renamed. Calls: features/transform, libxgboost.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <xgboost/c_api.h>

#include "features/transform.h"

#define MODEL_NAME "spam-detector"
#define ROUNDS     60
#define MAX_ROWS   1000000L

struct dataset {
    char **text; /* owned */
    size_t *len;
    float *y;
    int *intl; /* group "intl" */
    float *x;  /* rows * n_buckets, filled by featurize */
    long rows;
};

static void dataset_release(struct dataset *d)
{
    for (long i = 0; i < d->rows; i++)
        free(d->text[i]);
    free(d->text);
    free(d->len);
    free(d->y);
    free(d->intl);
    free(d->x);
    memset(d, 0, sizeof *d);
}

static int dataset_load(const char *path, struct dataset *d)
{
    int rc = 1;
    char *line = NULL;
    size_t cap = 0;
    long row_cap = 0, lineno = 0;
    ssize_t n;
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "train: %s: %s\n", path, strerror(errno));
        return 1;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t2 || (line[0] != '0' && line[0] != '1') || t1 != line + 1) {
            fprintf(stderr, "train: %s:%ld: want label<TAB>group<TAB>text\n", path, lineno);
            goto out;
        }
        if (d->rows == row_cap) {
            if (row_cap >= MAX_ROWS) {
                fprintf(stderr, "train: %s: more than %ld rows\n", path, MAX_ROWS);
                goto out;
            }
            row_cap = row_cap ? row_cap * 2 : 1024;
            char **tx = realloc(d->text, (size_t)row_cap * sizeof *tx);
            if (tx)
                d->text = tx;
            size_t *ln = realloc(d->len, (size_t)row_cap * sizeof *ln);
            if (ln)
                d->len = ln;
            float *y = realloc(d->y, (size_t)row_cap * sizeof *y);
            if (y)
                d->y = y;
            int *g = realloc(d->intl, (size_t)row_cap * sizeof *g);
            if (g)
                d->intl = g;
            if (!tx || !ln || !y || !g) {
                fprintf(stderr, "train: out of memory\n");
                goto out;
            }
        }
        *t2 = '\0';
        if (!(d->text[d->rows] = strdup(t2 + 1))) {
            fprintf(stderr, "train: out of memory\n");
            goto out;
        }
        d->len[d->rows] = strlen(t2 + 1);
        d->y[d->rows] = line[0] == '1' ? 1.0f : 0.0f;
        d->intl[d->rows] = strcmp(t1 + 1, "intl") == 0;
        d->rows++;
    }
    if (!d->rows) {
        fprintf(stderr, "train: %s: no rows\n", path);
        goto out;
    }
    rc = 0;
out:
    free(line);
    fclose(f);
    if (rc)
        dataset_release(d);
    return rc;
}

/* Features of every message through the transformer. */
static int featurize(const struct transform_config *c, struct dataset *d)
{
    char err[256];
    if (!(d->x = malloc((size_t)d->rows * c->n_buckets * sizeof *d->x))) {
        fprintf(stderr, "train: out of memory\n");
        return 1;
    }
    for (long i = 0; i < d->rows; i++)
        if (transform_text(c, d->text[i], d->len[i], d->x + (size_t)i * c->n_buckets, err,
                           sizeof err)) {
            fprintf(stderr, "train: message %ld: %s\n", i, err);
            return 1;
        }
    return 0;
}

static int xgb_failed(const char *what)
{
    fprintf(stderr, "train: libxgboost: %s: %s\n", what, XGBGetLastError());
    return 1;
}

#define XGB(call)                                                                                  \
    do {                                                                                           \
        if ((call) != 0) {                                                                         \
            rc = xgb_failed(#call);                                                                \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

static int make_dmatrix(const struct dataset *d, uint32_t cols, const char **names,
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

struct metrics {
    long tp, fp, tn, fn;
    double accuracy, precision, recall, f1, auc;
};

struct scored {
    float p, y;
};

static int cmp_scored(const void *a, const void *b)
{
    float pa = ((const struct scored *)a)->p, pb = ((const struct scored *)b)->p;
    return (pa > pb) - (pa < pb);
}

/* AUC: rank-sum over the scores sorted ascending (ties averaged). */
static double auc(const float *p, const float *y, long n)
{
    struct scored *s = malloc((size_t)n * sizeof *s);
    if (!s)
        return NAN;
    for (long i = 0; i < n; i++)
        s[i] = (struct scored){p[i], y[i]};
    qsort(s, (size_t)n, sizeof *s, cmp_scored);
    double rank_sum = 0.0;
    long pos = 0;
    for (long i = 0; i < n;) {
        long j = i;
        while (j < n && s[j].p == s[i].p)
            j++;
        double avg = (double)(i + 1 + j) / 2.0;
        for (long k = i; k < j; k++)
            if (s[k].y == 1.0f) {
                rank_sum += avg;
                pos++;
            }
        i = j;
    }
    free(s);
    long neg = n - pos;
    if (!pos || !neg)
        return NAN;
    return (rank_sum - (double)pos * (double)(pos + 1) / 2.0) / ((double)pos * (double)neg);
}

static double ratio(long a, long b)
{
    return b ? (double)a / (double)b : 0.0;
}

static void evaluate(const float *p, const float *y, long n, struct metrics *m)
{
    memset(m, 0, sizeof *m);
    for (long i = 0; i < n; i++) {
        int pred = p[i] > 0.5f, truth = y[i] == 1.0f;
        m->tp += pred && truth;
        m->fp += pred && !truth;
        m->fn += !pred && truth;
        m->tn += !pred && !truth;
    }
    m->accuracy = ratio(m->tp + m->tn, n);
    m->precision = ratio(m->tp, m->tp + m->fp);
    m->recall = ratio(m->tp, m->tp + m->fn);
    m->f1 = m->precision + m->recall > 0 ? 2 * m->precision * m->recall / (m->precision + m->recall)
                                         : 0.0;
    m->auc = auc(p, y, n);
}

/* Demographic parity between the language groups: |flagged rate (score > 0.5) of English
 * messages - that of Spanish/French ones| on the test split. Both groups hold 40 % spam by
 * construction (gen_data), so a model without language bias flags them alike. */
struct fairness {
    double rate_en, rate_intl, demographic_parity;
};

static void fairness_by_language(const struct dataset *d, const float *p, struct fairness *f)
{
    long n[2] = {0}, flagged[2] = {0};
    for (long i = 0; i < d->rows; i++) {
        n[d->intl[i]]++;
        flagged[d->intl[i]] += p[i] > 0.5f;
    }
    f->rate_en = ratio(flagged[0], n[0]);
    f->rate_intl = ratio(flagged[1], n[1]);
    f->demographic_parity = fabs(f->rate_en - f->rate_intl);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* PSI of the score, train (expected) vs test (actual), ten bins at the training deciles; an
 * empty bin counts as 1e-4. */
static double score_psi(const float *expected, long n_exp, const float *actual, long n_act)
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

static int write_file_atomic(const char *path, const char *text)
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

static int make_dirs(const char *path)
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

static int write_manifest(const char *outdir, long test_rows, const struct metrics *m,
                          const struct fairness *f, double drift)
{
    char path[4096], text[4096];
    int major = 0, minor = 0, patch = 0;
    XGBoostVersion(&major, &minor, &patch);
    snprintf(text, sizeof text,
             "# The spam-detector example's manifest, written by examples/spam-detector/train\n"
             "# from what it measured on the %ld-message test split (threshold 0.5).\n"
             "apiVersion: mlifecycle.io/v1\n"
             "kind: ModelDeployment\n"
             "metadata:\n"
             "  name: " MODEL_NAME "\n"
             "spec:\n"
             "  model:\n"
             "    name: " MODEL_NAME "\n"
             "    framework: xgboost\n"
             "  metrics:\n"
             "    accuracy: %.6f\n"
             "    precision: %.6f\n"
             "    recall: %.6f\n"
             "    f1_score: %.6f\n"
             "    auc: %.6f\n"
             "  fairness:\n"
             "    # The gap in spam-flagged rate between English and Spanish/French messages;\n"
             "    # both groups hold 40 %% spam by construction (gen_data).\n"
             "    demographic_parity: %.6f\n"
             "    flagged_rate_english: %.6f\n"
             "    flagged_rate_spanish_french: %.6f\n"
             "  drift:\n"
             "    # Population stability index of the score, training split vs test split.\n"
             "    score: %.6f\n"
             "  dependencies:\n"
             "    - name: xgboost\n"
             "      version: \"%d.%d.%d\"\n",
             test_rows, m->accuracy, m->precision, m->recall, m->f1, m->auc, f->demographic_parity,
             f->rate_en, f->rate_intl, drift, major, minor, patch);
    snprintf(path, sizeof path, "%s/manifest.yaml", outdir);
    return write_file_atomic(path, text);
}

/* The message as a JSON string (the corpus has no control characters; quotes and
 * backslashes are escaped). */
static void json_text(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    out[n++] = '"';
    for (; *s && n + 3 < cap; s++) {
        if (*s == '"' || *s == '\\')
            out[n++] = '\\';
        out[n++] = *s;
    }
    out[n++] = '"';
    out[n] = '\0';
}

int main(int argc, char **argv)
{
    if (argc != 4 || argv[1][0] == '-') {
        fprintf(stderr, "usage: train DATADIR REPOSITORY OUTDIR\n");
        return 2;
    }
    const char *datadir = argv[1], *repo = argv[2], *outdir = argv[3];
    int rc = 1;
    struct dataset train = {0}, test = {0};
    struct transform_config tc;
    DMatrixHandle dtrain = NULL, dtest = NULL;
    BoosterHandle booster = NULL;
    float *train_pred = NULL;
    char path[4096], tmp[4200], text[8192], err[512], names_buf[50][8];
    const char *names[50];
    transform_config_default(&tc);

    snprintf(path, sizeof path, "%s/train.tsv", datadir);
    if (dataset_load(path, &train))
        goto out;
    snprintf(path, sizeof path, "%s/test.tsv", datadir);
    if (dataset_load(path, &test))
        goto out;
    /* The transformer: defaults, idf from the training messages, the class labels. */
    if (transform_fit_idf(&tc, (const char *const *)train.text, train.len, (size_t)train.rows, err,
                          sizeof err)) {
        fprintf(stderr, "train: idf: %s\n", err);
        goto out;
    }
    if (!(tc.labels = calloc(2, sizeof *tc.labels)) || !(tc.labels[0] = strdup("ham")) ||
        !(tc.labels[1] = strdup("spam"))) {
        fprintf(stderr, "train: out of memory\n");
        goto out;
    }
    tc.n_labels = 2;
    if (tc.n_buckets != 50 || featurize(&tc, &train) || featurize(&tc, &test))
        goto out;
    for (int i = 0; i < 50; i++) {
        snprintf(names_buf[i], sizeof names_buf[i], "h%02d", i);
        names[i] = names_buf[i];
    }
    if (make_dmatrix(&train, 50, names, &dtrain) || make_dmatrix(&test, 50, names, &dtest))
        goto out;
    static const char *const params[][2] = {
        {"objective", "binary:logistic"}, {"max_depth", "4"}, {"eta", "0.3"},
        {"tree_method", "hist"},          {"nthread", "1"},   {"seed", "0"},
    };
    XGB(XGBoosterCreate(&dtrain, 1, &booster));
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
        XGB(XGBoosterSetParam(booster, params[i][0], params[i][1]));
    for (int it = 0; it < ROUNDS; it++)
        XGB(XGBoosterUpdateOneIter(booster, it, dtrain));
    XGB(XGBoosterSetStrFeatureInfo(booster, "feature_name", names, 50));

    const char *config = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
                         "\"iteration_end\": 0, \"strict_shape\": false}";
    const bst_ulong *shape;
    bst_ulong dim;
    const float *pred;
    XGB(XGBoosterPredictFromDMatrix(booster, dtrain, config, &shape, &dim, &pred));
    if (dim != 1 || shape[0] != (bst_ulong)train.rows ||
        !(train_pred = malloc((size_t)train.rows * sizeof *train_pred))) {
        fprintf(stderr, "train: unexpected prediction shape or out of memory\n");
        goto out;
    }
    memcpy(train_pred, pred, (size_t)train.rows * sizeof *train_pred);
    XGB(XGBoosterPredictFromDMatrix(booster, dtest, config, &shape, &dim, &pred));
    if (dim != 1 || shape[0] != (bst_ulong)test.rows) {
        fprintf(stderr, "train: unexpected prediction shape\n");
        goto out;
    }
    struct metrics m;
    struct fairness fair;
    evaluate(pred, test.y, test.rows, &m);
    fairness_by_language(&test, pred, &fair);
    double drift = score_psi(train_pred, train.rows, pred, test.rows);
    long spam_row = -1, ham_row = -1;
    for (long i = 0; i < test.rows; i++) {
        if (spam_row < 0 && test.y[i] == 1.0f && pred[i] > 0.5f)
            spam_row = i;
        if (ham_row < 0 && test.y[i] == 0.0f && pred[i] < 0.5f)
            ham_row = i;
    }
    if (isnan(drift) || spam_row < 0 || ham_row < 0) {
        fprintf(stderr, "train: no drift figure, or no correctly scored spam or ham message\n");
        goto out;
    }

    snprintf(path, sizeof path, "%s/" MODEL_NAME "/1", repo);
    if (make_dirs(path) || make_dirs(outdir))
        goto out;
    snprintf(path, sizeof path, "%s/transformer.yaml", outdir);
    if (transform_config_write(&tc, path,
                               "The spam-detector's transformer (docs/features.md), written by\n"
                               "examples/spam-detector/train: defaults, idf learned from the\n"
                               "training messages. Install as DATA/transformers/spam-detector.yaml",
                               err, sizeof err)) {
        fprintf(stderr, "train: %s\n", err);
        goto out;
    }
    char spam_json[1024], ham_json[1024];
    json_text(spam_json, sizeof spam_json, test.text[spam_row]);
    json_text(ham_json, sizeof ham_json, test.text[ham_row]);
    snprintf(text, sizeof text,
             "{\n"
             "  \"model\": \"" MODEL_NAME "\",\n"
             "  \"version\": 1,\n"
             "  \"params\": {\"objective\": \"binary:logistic\", \"max_depth\": 4, \"eta\": 0.3, "
             "\"rounds\": %d, \"tree_method\": \"hist\", \"nthread\": 1, \"seed\": 0},\n"
             "  \"n_buckets\": %u,\n"
             "  \"train_rows\": %ld,\n"
             "  \"test_rows\": %ld,\n"
             "  \"threshold\": 0.5,\n"
             "  \"accuracy\": %.6f,\n"
             "  \"precision\": %.6f,\n"
             "  \"recall\": %.6f,\n"
             "  \"f1\": %.6f,\n"
             "  \"auc\": %.6f,\n"
             "  \"confusion\": {\"tp\": %ld, \"fp\": %ld, \"tn\": %ld, \"fn\": %ld},\n"
             "  \"examples\": {\n"
             "    \"spam\": {\"text\": %s, \"probability\": %.9g},\n"
             "    \"ham\": {\"text\": %s, \"probability\": %.9g}\n"
             "  }\n"
             "}\n",
             ROUNDS, tc.n_buckets, train.rows, test.rows, m.accuracy, m.precision, m.recall, m.f1,
             m.auc, m.tp, m.fp, m.tn, m.fn, spam_json, (double)pred[spam_row], ham_json,
             (double)pred[ham_row]);
    snprintf(path, sizeof path, "%s/metrics.json", outdir);
    if (write_file_atomic(path, text) || write_manifest(outdir, test.rows, &m, &fair, drift))
        goto out;
    snprintf(path, sizeof path, "%s/" MODEL_NAME "/1/model.json", repo);
    snprintf(tmp, sizeof tmp, "%s/" MODEL_NAME "/1/model.tmp.json", repo);
    XGB(XGBoosterSaveModel(booster, tmp));
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "train: %s: %s\n", path, strerror(errno));
        goto out;
    }
    printf("train: %ld training messages, %ld test messages, %d rounds\n", train.rows, test.rows,
           ROUNDS);
    printf("train: test accuracy %.4f  precision %.4f  recall %.4f  F1 %.4f  AUC %.4f\n",
           m.accuracy, m.precision, m.recall, m.f1, m.auc);
    printf("train: demographic parity (English vs Spanish/French) %.4f  score PSI %.4f\n",
           fair.demographic_parity, drift);
    rc = 0;
out:
    free(train_pred);
    if (booster)
        XGBoosterFree(booster);
    if (dtrain)
        XGDMatrixFree(dtrain);
    if (dtest)
        XGDMatrixFree(dtest);
    dataset_release(&train);
    dataset_release(&test);
    transform_config_release(&tc);
    return rc;
}
