/*
 * Conformance of the XGBoost back end against libxgboost itself (the oracle). For each case
 * this program trains a model with the libxgboost C API on a dataset python3-sklearn ships
 * (or on random data with ~10% NaN), saves it as JSON, loads that file with
 * mmsp_model_load, and compares every value mmsp_model_run returns, batched and row by row,
 * with what XGBoosterPredictFromDense returns for the same rows (the training rows, the same
 * rows with ~10% of values replaced by NaN, and rows with extreme values). Passes when every
 * difference is <= 1e-6. Calls: the mmsp runtime, libxgboost, gzip (for the .gz datasets).
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xgboost/c_api.h>

#include "mmsp/mmsp.h"

#define SKDATA   "/usr/lib/python3/dist-packages/sklearn/datasets/data/"
#define TOL      1e-6
#define MAX_ROWS 4096

#define XGB(call)                                                                                  \
    do {                                                                                           \
        if ((call) != 0) {                                                                         \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, XGBGetLastError());      \
            exit(2);                                                                               \
        }                                                                                          \
    } while (0)

struct dataset {
    const char *name;
    float *x; /* rows * cols, row-major */
    float *y; /* rows */
    size_t rows, cols;
};

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* Parses one line of numbers separated by commas or blanks; returns how many. */
static size_t parse_numbers(char *line, double *out, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (*p && n < max) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (*p == '\n' || *p == '\r' || *p == '\0')
            break;
        char *end;
        out[n] = strtod(p, &end);
        if (end == p)
            break;
        n++;
        p = end;
    }
    return n;
}

/*
 * An sklearn CSV: first line "<rows>,<cols>,<class names...>", then rows of cols features and
 * a label.
 */
static struct dataset load_sklearn_csv(const char *name, const char *file)
{
    struct dataset d = {.name = name};
    char path[512], line[8192];
    double v[256];
    snprintf(path, sizeof path, SKDATA "%s", file);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(line, sizeof line, f) || parse_numbers(line, v, 2) != 2)
        die("%s: cannot read header", path);
    d.rows = (size_t)v[0];
    d.cols = (size_t)v[1];
    d.x = calloc(d.rows * d.cols, sizeof(float));
    d.y = calloc(d.rows, sizeof(float));
    for (size_t r = 0; r < d.rows; r++) {
        if (!fgets(line, sizeof line, f) || parse_numbers(line, v, 256) != d.cols + 1)
            die("%s: row %zu malformed", path, r);
        for (size_t c = 0; c < d.cols; c++)
            d.x[r * d.cols + c] = (float)v[c];
        d.y[r] = (float)v[d.cols];
    }
    fclose(f);
    return d;
}

/* The diabetes data: two gzip'd space-separated files (10 features; target). */
static struct dataset load_diabetes(void)
{
    struct dataset d = {.name = "diabetes", .cols = 10};
    char line[4096];
    double v[64];
    d.x = calloc(MAX_ROWS * d.cols, sizeof(float));
    d.y = calloc(MAX_ROWS, sizeof(float));
    FILE *p = popen("gzip -dc " SKDATA "diabetes_data_raw.csv.gz", "r");
    while (p && fgets(line, sizeof line, p) && d.rows < MAX_ROWS) {
        if (parse_numbers(line, v, 64) != d.cols)
            die("diabetes_data_raw: row %zu malformed", d.rows);
        for (size_t c = 0; c < d.cols; c++)
            d.x[d.rows * d.cols + c] = (float)v[c];
        d.rows++;
    }
    if (!p || pclose(p) != 0 || d.rows == 0)
        die("diabetes_data_raw.csv.gz: cannot read");
    size_t n = 0;
    p = popen("gzip -dc " SKDATA "diabetes_target.csv.gz", "r");
    while (p && fgets(line, sizeof line, p) && n < d.rows) {
        if (parse_numbers(line, v, 1) != 1)
            die("diabetes_target: row %zu malformed", n);
        d.y[n++] = (float)v[0];
    }
    if (!p || pclose(p) != 0 || n != d.rows)
        die("diabetes_target.csv.gz: %zu targets for %zu rows", n, d.rows);
    return d;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double uniform(void) /* [0, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double normal(void)
{
    double u = uniform() + 1e-12, v = uniform();
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Random data with ~10% NaN; labels depend on features (and on missingness). */
static struct dataset make_random(const char *name, size_t rows, size_t cols, int classes)
{
    struct dataset d = {.name = name, .rows = rows, .cols = cols};
    d.x = calloc(rows * cols, sizeof(float));
    d.y = calloc(rows, sizeof(float));
    for (size_t r = 0; r < rows; r++) {
        double s = 0;
        for (size_t c = 0; c < cols; c++) {
            double v = normal();
            s += (c % 3 == 0 ? 1.0 : -0.5) * v;
            d.x[r * cols + c] = uniform() < 0.1 ? NAN : (float)v;
        }
        if (isnan(d.x[r * cols]))
            s += 1.5; /* missingness carries signal, so default directions matter */
        s += 0.3 * normal();
        if (classes == 0)
            d.y[r] = (float)s;
        else if (classes == 2)
            d.y[r] = s > 0;
        else
            d.y[r] = (float)(s < -1 ? 0 : s < 1 ? 1 : classes - 1);
    }
    return d;
}

/* Evaluation rows: the training rows, the same with ~10% NaN, and some extreme rows. */
static float *eval_rows(const struct dataset *d, size_t *n_out)
{
    size_t n = d->rows * 2 + 8;
    float *x = malloc(n * d->cols * sizeof(float));
    memcpy(x, d->x, d->rows * d->cols * sizeof(float));
    for (size_t i = 0; i < d->rows * d->cols; i++)
        x[d->rows * d->cols + i] = uniform() < 0.1 ? NAN : d->x[i];
    float extremes[] = {0.0f, -0.0f, 1e30f, -1e30f, 1e-30f, -1e-30f, NAN, 3.0f};
    for (size_t r = 0; r < 8; r++)
        for (size_t c = 0; c < d->cols; c++)
            x[(2 * d->rows + r) * d->cols + c] = extremes[(r + c) % 8];
    *n_out = n;
    return x;
}

struct param {
    const char *key, *value;
};

static int run_case(const char *label, const struct dataset *d, const float *y, const char *obj,
                    const struct param *extra, int rounds)
{
    DMatrixHandle dm;
    BoosterHandle b;
    char path[] = "/tmp/mmsp-xgb-oracle-XXXXXX";
    char model_path[sizeof path + 16];
    char err[MMSP_ERRMSG_MAX];
    int fd = mkstemp(path);
    if (fd < 0)
        die("mkstemp failed");
    close(fd);
    unlink(path);
    snprintf(model_path, sizeof model_path, "%s.json", path);

    XGB(XGDMatrixCreateFromMat(d->x, d->rows, d->cols, NAN, &dm));
    XGB(XGDMatrixSetFloatInfo(dm, "label", y, d->rows));
    XGB(XGBoosterCreate(&dm, 1, &b));
    XGB(XGBoosterSetParam(b, "objective", obj));
    XGB(XGBoosterSetParam(b, "nthread", "1"));
    XGB(XGBoosterSetParam(b, "seed", "0"));
    for (const struct param *p = extra; p && p->key; p++)
        XGB(XGBoosterSetParam(b, p->key, p->value));
    for (int i = 0; i < rounds; i++)
        XGB(XGBoosterUpdateOneIter(b, i, dm));
    XGB(XGBoosterSaveModel(b, model_path));

    /* The oracle, on the same rows. */
    size_t n;
    float *x = eval_rows(d, &n);
    char iface[256];
    snprintf(iface, sizeof iface,
             "{\"data\":[%llu,true],\"shape\":[%zu,%zu],\"typestr\":\"<f4\",\"version\":3}",
             (unsigned long long)(uintptr_t)x, n, d->cols);
    const char *config = "{\"type\":0,\"training\":false,\"iteration_begin\":0,"
                         "\"iteration_end\":0,\"strict_shape\":false,\"missing\":NaN,"
                         "\"cache_id\":0}";
    const bst_ulong *shape;
    bst_ulong dim;
    const float *ref;
    XGB(XGBoosterPredictFromDense(b, iface, config, NULL, &shape, &dim, &ref));
    size_t ref_n = 1;
    for (bst_ulong i = 0; i < dim; i++)
        ref_n *= shape[i];

    /* Ours. */
    mmsp_model *m;
    int failed = 0;
    if (mmsp_model_load(model_path, &m, err, sizeof err)) {
        printf("FAIL %-28s load: %s\n", label, err);
        failed = 1;
        goto done;
    }
    const mmsp_model_info *info = mmsp_model_get_info(m);
    const mmsp_io_info *out_io = mmsp_model_output(m, 0);
    size_t width = out_io->ndim == 2 ? (size_t)out_io->dims[1] : 1;
    if (strcmp(info->objective, obj) != 0 || info->num_feature != (int64_t)d->cols ||
        strcmp(info->platform, "xgboost_json") != 0 || strcmp(info->backend, "xgboost") != 0 ||
        width * n != ref_n || (dim == 2 ? shape[1] : 1) != width) {
        printf("FAIL %-28s info/shape: objective %s, num_feature %lld, width %zu vs oracle %zu "
               "values for %zu rows\n",
               label, info->objective, (long long)info->num_feature, width, ref_n, n);
        failed = 1;
        goto release;
    }
    float *ours = malloc(mmsp_model_output_bytes(m, 0, (int64_t)n));
    mmsp_tensor in = {.name = "input",
                      .dtype = MMSP_DT_FP32,
                      .ndim = 2,
                      .shape = {(int64_t)n, (int64_t)d->cols},
                      .data = x,
                      .nbytes = n * d->cols * sizeof(float)};
    mmsp_tensor out = {.data = ours, .nbytes = mmsp_model_output_bytes(m, 0, (int64_t)n)};
    if (mmsp_model_run(m, &in, 1, &out, 1, err, sizeof err)) {
        printf("FAIL %-28s run: %s\n", label, err);
        failed = 1;
        free(ours);
        goto release;
    }
    double max_batch = 0, max_single = 0;
    for (size_t i = 0; i < ref_n; i++) {
        double diff = fabs((double)ours[i] - (double)ref[i]);
        if (!(diff <= max_batch)) /* NaN counts as a failure */
            max_batch = isnan(diff) ? INFINITY : diff;
    }
    /* The single-row path (different code in the evaluator). */
    float one[4096];
    for (size_t r = 0; r < n; r++) {
        mmsp_tensor in1 = {.dtype = MMSP_DT_FP32,
                           .ndim = 2,
                           .shape = {1, (int64_t)d->cols},
                           .data = x + r * d->cols,
                           .nbytes = d->cols * sizeof(float)};
        mmsp_tensor out1 = {.data = one, .nbytes = sizeof one};
        if (mmsp_model_run(m, &in1, 1, &out1, 1, err, sizeof err))
            die("%s: single-row run: %s", label, err);
        for (size_t k = 0; k < width; k++) {
            double diff = fabs((double)one[k] - (double)ref[r * width + k]);
            if (!(diff <= max_single))
                max_single = isnan(diff) ? INFINITY : diff;
        }
    }
    free(ours);
    failed = !(max_batch <= TOL && max_single <= TOL);
    printf("%s %-28s %-17s rows=%-5zu outputs/row=%zu max_abs_diff batch=%.3g single=%.3g\n",
           failed ? "FAIL" : "ok  ", label, obj, n, width, max_batch, max_single);
release:
    mmsp_model_release(m);
done:
    free(x);
    unlink(model_path);
    XGB(XGBoosterFree(b));
    XGB(XGDMatrixFree(dm));
    return failed;
}

int main(void)
{
    int failed = 0;
    struct dataset bc = load_sklearn_csv("breast_cancer", "breast_cancer.csv");
    struct dataset iris = load_sklearn_csv("iris", "iris.csv");
    struct dataset wine = load_sklearn_csv("wine", "wine_data.csv");
    struct dataset dia = load_diabetes();
    struct dataset rb = make_random("random_nan_binary", 1500, 12, 2);
    struct dataset rr = make_random("random_nan_reg", 1500, 12, 0);
    struct dataset rm = make_random("random_nan_multi", 1500, 12, 3);

    /* reg:logistic needs labels in [0, 1]. */
    float lo = dia.y[0], hi = dia.y[0];
    for (size_t i = 0; i < dia.rows; i++) {
        lo = dia.y[i] < lo ? dia.y[i] : lo;
        hi = dia.y[i] > hi ? dia.y[i] : hi;
    }
    float *dia01 = malloc(dia.rows * sizeof(float));
    for (size_t i = 0; i < dia.rows; i++)
        dia01[i] = (dia.y[i] - lo) / (hi - lo);

    const struct param depth4[] = {{"max_depth", "4"}, {"eta", "0.3"}, {NULL, NULL}};
    const struct param depth6[] = {{"max_depth", "6"}, {"eta", "0.1"}, {NULL, NULL}};
    const struct param base03[] = {{"max_depth", "3"}, {"base_score", "0.3"}, {NULL, NULL}};
    const struct param base08[] = {{"max_depth", "3"}, {"base_score", "0.8"}, {NULL, NULL}};
    const struct param base150[] = {{"max_depth", "4"}, {"base_score", "150"}, {NULL, NULL}};
    const struct param multi3[] = {{"num_class", "3"}, {"max_depth", "4"}, {NULL, NULL}};
    const struct param multi3b[] = {
        {"num_class", "3"}, {"max_depth", "3"}, {"base_score", "0.2"}, {NULL, NULL}};
    const struct param forest[] = {{"num_parallel_tree", "4"},
                                   {"subsample", "0.8"},
                                   {"colsample_bynode", "0.8"},
                                   {"max_depth", "5"},
                                   {NULL, NULL}};
    const struct param lossguide[] = {{"tree_method", "hist"},
                                      {"grow_policy", "lossguide"},
                                      {"max_leaves", "31"},
                                      {"max_depth", "0"},
                                      {NULL, NULL}};

    failed |= run_case("breast_cancer", &bc, bc.y, "binary:logistic", depth4, 30);
    failed |= run_case("breast_cancer", &bc, bc.y, "binary:logitraw", depth4, 30);
    failed |= run_case("breast_cancer base_score=0.3", &bc, bc.y, "binary:logistic", base03, 20);
    failed |= run_case("breast_cancer base_score=0.8", &bc, bc.y, "binary:logitraw", base08, 20);
    failed |= run_case("iris", &iris, iris.y, "multi:softprob", multi3, 20);
    failed |= run_case("iris", &iris, iris.y, "multi:softmax", multi3, 20);
    failed |= run_case("wine", &wine, wine.y, "multi:softprob", multi3, 25);
    failed |= run_case("wine", &wine, wine.y, "multi:softmax", multi3, 25);
    failed |= run_case("wine base_score=0.2", &wine, wine.y, "multi:softprob", multi3b, 10);
    failed |= run_case("diabetes", &dia, dia.y, "reg:squarederror", depth4, 50);
    failed |= run_case("diabetes base_score=150", &dia, dia.y, "reg:squarederror", base150, 30);
    failed |= run_case("diabetes scaled", &dia, dia01, "reg:logistic", depth4, 40);
    failed |= run_case("diabetes scaled base=0.3", &dia, dia01, "reg:logistic", base03, 20);
    failed |= run_case("diabetes forest x4", &dia, dia.y, "reg:squarederror", forest, 10);
    failed |= run_case("random NaN", &rb, rb.y, "binary:logistic", depth6, 60);
    failed |= run_case("random NaN lossguide", &rb, rb.y, "binary:logistic", lossguide, 30);
    failed |= run_case("random NaN", &rr, rr.y, "reg:squarederror", depth6, 60);
    failed |= run_case("random NaN", &rm, rm.y, "multi:softprob", multi3, 30);
    failed |= run_case("random NaN", &rm, rm.y, "multi:softmax", multi3, 30);

    printf("%s\n", failed ? "xgboost oracle: FAILED" : "xgboost oracle: all cases within 1e-6");
    struct dataset *all[] = {&bc, &iris, &wine, &dia, &rb, &rr, &rm};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        free(all[i]->x);
        free(all[i]->y);
    }
    free(dia01);
    return failed ? 1 : 0;
}
