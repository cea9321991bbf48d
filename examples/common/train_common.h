/*
 * train_common: what the example trainers (examples/fraud-detector/train.c and
 * examples/spam-detector/train.c) share: reporting a failed libxgboost call, building a
 * labelled DMatrix, fitting, scoring and saving a booster, the test-split metrics (confusion
 * counts, accuracy, precision, recall, F1, AUC), the score PSI for the drift figure, the
 * manifest.yaml both write, and the atomic file writes and directory creation for the model
 * repository. Every message goes to stderr as "train: ...". It is compiled into each trainer
 * with that trainer's flags (examples/CMakeLists.txt), so the shared arithmetic rounds exactly
 * as it did in place.
 * Calls: libxgboost (C API), libc.
 */
#ifndef MMSP_EXAMPLES_TRAIN_COMMON_H
#define MMSP_EXAMPLES_TRAIN_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <xgboost/c_api.h>

/* Reports a failed libxgboost call `what`. Returns 1 for `rc = train_xgb_failed(...)`. */
int train_xgb_failed(const char *what);

/* Runs a libxgboost call; on failure reports it, sets `rc` to 1 and jumps to `out`. */
#define XGB(call)                                                                                  \
    do {                                                                                           \
        if ((call) != 0) {                                                                         \
            rc = train_xgb_failed(#call);                                                          \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* A borrowed view of a training or test split: rows x cols features, row-major, and one
 * 0/1 label a row. */
struct train_split {
    const float *x;
    const float *y;
    long rows;
};

/* Builds a DMatrix of d with labels and the cols feature names. *out is the caller's to
 * XGDMatrixFree. Returns 0, or 1 with a message (*out NULL). */
int train_dmatrix_create(const struct train_split *d, uint32_t cols, const char **names,
                         DMatrixHandle *out);

/* Creates a booster on dtrain, sets params (n_params name/value pairs) and runs `rounds`
 * boosting rounds. *out is the caller's to XGBoosterFree. Returns 0, or 1 with a message
 * (*out NULL). */
int train_booster_fit(DMatrixHandle dtrain, const char *const (*params)[2], size_t n_params,
                      int rounds, BoosterHandle *out);

/* Scores both splits: *train_pred is a malloc'd copy of the training-split scores (the
 * caller frees it), *test_pred points into the booster's buffer (valid until its next
 * predict call). Returns 0, or 1 with a message. */
int train_booster_predict(BoosterHandle booster, DMatrixHandle dtrain, long train_rows,
                          DMatrixHandle dtest, long test_rows, float **train_pred,
                          const float **test_pred);

/* Saves the booster as REPO/NAME/1/model.json (JSON format) through model.tmp.json + rename;
 * path (cap bytes) receives the final path. Returns 0, or 1 with a message. */
int train_booster_save(BoosterHandle booster, const char *repo, const char *name, char *path,
                       size_t cap);

/* Frees the training-split scores and the libxgboost handles of a run (each may be NULL). */
void train_run_release(float *train_pred, BoosterHandle booster, DMatrixHandle dtrain,
                       DMatrixHandle dtest);

/* What the trainers measure on the test split at threshold 0.5. */
struct train_metrics {
    long tp, fp, tn, fn;
    double accuracy, precision, recall, f1, auc;
};

/* a / b, or 0 when b is 0. */
double train_ratio(long a, long b);

/* Confusion counts and rates of scores p against labels y (n rows) at threshold 0.5; auc is
 * NAN when out of memory or when one class is missing. */
void train_metrics_evaluate(const float *p, const float *y, long n, struct train_metrics *m);

/* The population stability index of a score between the training split (expected) and the
 * test split (actual), over ten bins cut at the expected scores' deciles; an empty bin counts
 * as 1e-4. Below 0.1 is usually read as stable. NAN when out of memory. */
double train_score_psi(const float *expected, long n_exp, const float *actual, long n_act);

/* Writes `text` to path through path.tmp + rename. Returns 0 or 1 (message printed). */
int train_file_write_atomic(const char *path, const char *text);

/* Writes OUTDIR/manifest.yaml, the model manifest (seed 001's format, src/policy/policy.h)
 * of model `name` with the measured metrics m, the score PSI `drift` and the libxgboost
 * version: `header` is its leading comment lines and `fairness` the lines under "fairness:"
 * (each ending in a newline). Returns 0 or 1 (message printed). */
int train_manifest_write(const char *outdir, const char *name, const char *header,
                         const struct train_metrics *m, const char *fairness, double drift);

/* mkdir -p path. Returns 0 or 1 (message printed). */
int train_dirs_make(const char *path);

#endif
