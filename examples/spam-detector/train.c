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
 * Files are written to temporary names and renamed. Calls: features/transform,
 * examples/common/train_common (the parts shared with the fraud-detector trainer), libxgboost.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

#include "features/transform.h"
#include "train_common.h"

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
    f->rate_en = train_ratio(flagged[0], n[0]);
    f->rate_intl = train_ratio(flagged[1], n[1]);
    f->demographic_parity = fabs(f->rate_en - f->rate_intl);
}

static int write_manifest(const char *outdir, long test_rows, const struct train_metrics *m,
                          const struct fairness *f, double drift)
{
    char header[256], fairness[512];
    snprintf(header, sizeof header,
             "# The spam-detector example's manifest, written by examples/spam-detector/train\n"
             "# from what it measured on the %ld-message test split (threshold 0.5).\n",
             test_rows);
    snprintf(fairness, sizeof fairness,
             "    # The gap in spam-flagged rate between English and Spanish/French messages;\n"
             "    # both groups hold 40 %% spam by construction (gen_data).\n"
             "    demographic_parity: %.6f\n"
             "    flagged_rate_english: %.6f\n"
             "    flagged_rate_spanish_french: %.6f\n",
             f->demographic_parity, f->rate_en, f->rate_intl);
    return train_manifest_write(outdir, MODEL_NAME, header, m, fairness, drift);
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
    char path[4096], text[8192], err[512], names_buf[50][8];
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
    if (train_dmatrix_create(&(struct train_split){train.x, train.y, train.rows}, 50, names,
                             &dtrain) ||
        train_dmatrix_create(&(struct train_split){test.x, test.y, test.rows}, 50, names, &dtest))
        goto out;
    static const char *const params[][2] = {
        {"objective", "binary:logistic"}, {"max_depth", "4"}, {"eta", "0.3"},
        {"tree_method", "hist"},          {"nthread", "1"},   {"seed", "0"},
    };
    if (train_booster_fit(dtrain, params, sizeof params / sizeof params[0], ROUNDS, &booster))
        goto out;
    XGB(XGBoosterSetStrFeatureInfo(booster, "feature_name", names, 50));

    const float *pred;
    if (train_booster_predict(booster, dtrain, train.rows, dtest, test.rows, &train_pred, &pred))
        goto out;
    struct train_metrics m;
    struct fairness fair;
    train_metrics_evaluate(pred, test.y, test.rows, &m);
    fairness_by_language(&test, pred, &fair);
    double drift = train_score_psi(train_pred, train.rows, pred, test.rows);
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
    if (train_dirs_make(path) || train_dirs_make(outdir))
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
    if (train_file_write_atomic(path, text) || write_manifest(outdir, test.rows, &m, &fair, drift))
        goto out;
    if (train_booster_save(booster, repo, MODEL_NAME, path, sizeof path))
        goto out;
    printf("train: %ld training messages, %ld test messages, %d rounds\n", train.rows, test.rows,
           ROUNDS);
    printf("train: test accuracy %.4f  precision %.4f  recall %.4f  F1 %.4f  AUC %.4f\n",
           m.accuracy, m.precision, m.recall, m.f1, m.auc);
    printf("train: demographic parity (English vs Spanish/French) %.4f  score PSI %.4f\n",
           fair.demographic_parity, drift);
    rc = 0;
out:
    train_run_release(train_pred, booster, dtrain, dtest);
    dataset_release(&train);
    dataset_release(&test);
    transform_config_release(&tc);
    return rc;
}
