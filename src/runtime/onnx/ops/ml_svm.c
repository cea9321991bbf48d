/*
 * ai.onnx.ml SVMClassifier and SVMRegressor (opset 1), after the ONNX reference implementation
 * (onnx/reference/ops/aionnxml/op_svm_*.py) and libsvm. Kernels LINEAR / POLY / RBF / SIGMOID
 * with kernel_params [gamma, coef0, degree].
 *
 * Classifier, SVC mode (vectors_per_class given): one-vs-one decision values
 * s(i,j) = rho[k] + sum over class i's vectors of coef[j-1][v] K(x, v) + sum over class j's
 * vectors of coef[i][v] K(x, v), a vote for i when s > 0 else for j; the label is the class with
 * most votes (first on ties). With prob_a / prob_b the scores are probabilities: Platt scaling
 * of every s(i,j) then libsvm's pairwise coupling (multiclass_probability); without them the
 * scores are the C(C-1)/2 decision values ([-s, s] for two classes). Linear mode (no support
 * vectors): scores = X * coefficients^T + rho[0] per class, label = top score. Regressor:
 * rho[0] + sum coef[v] K(x, v) (or X * coefficients + rho[0] without support vectors), +-1 for
 * one_class. docs/onnx.md "ML operators" lists where this differs from ONNX Runtime.
 * Calls: op.h helpers, ml_common.h, libc, libm.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/op.h"
#include "runtime/onnx/ops/ml_common.h"

/* Scratch and op-state ceiling: models asking for more are refused at prepare. */
#define SVM_MAX_SCRATCH ((uint64_t)1 << 30)
#define SVM_MAX_CLASSES 65535

enum svm_kernel { SVM_LINEAR, SVM_POLY, SVM_RBF, SVM_SIGMOID };

struct svm_state {
    int clf;
    int64_t rows, cols;
    enum svm_kernel kernel;
    double gamma, coef0, degree;
    enum ml_post post;
    int64_t n_sv;    /* support vectors (0: linear mode) */
    const float *sv; /* [n_sv, cols] */
    const float *coef;
    const float *rho;
    /* classifier */
    struct ml_labels labels;
    int64_t n_cls, n_pairs;
    const int64_t *per_class; /* vectors_per_class */
    int64_t *start;           /* first vector of each class (owned, inside this block) */
    const float *prob_a, *prob_b;
    int all_pos;   /* every coefficient >= 0 (the reference's binary label rule) */
    int64_t width; /* columns of Z */
    int one_class; /* regressor */
    size_t off_kv, off_votes, off_sc, off_pair, off_r, off_q, off_qp; /* scratch layout */
};

static const char *const kernel_names[] = {"LINEAR", "POLY", "RBF", "SIGMOID"};

/* Reads kernel_type and kernel_params (absent params: gamma = coef0 = degree = 0). */
static mmsp_err read_kernel(const struct onnx_node *node, struct svm_state *s, char *err,
                            size_t errlen)
{
    const char *name;
    const float *kp;
    size_t nk;
    mmsp_err rc = onnx_attr_string(node, "kernel_type", "LINEAR", &name, err, errlen);
    if (rc || (rc = onnx_attr_floats(node, "kernel_params", &kp, &nk, NULL, err, errlen)))
        return rc;
    size_t k = 0;
    while (k < sizeof kernel_names / sizeof kernel_names[0] && strcmp(name, kernel_names[k]))
        k++;
    if (k == sizeof kernel_names / sizeof kernel_names[0])
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL, "unknown kernel_type '%s'", name);
    s->kernel = (enum svm_kernel)k;
    if (nk != 0 && nk != 3)
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL,
                           "kernel_params has %zu values, not 3 (gamma, coef0, degree)", nk);
    if (nk == 3) {
        s->gamma = kp[0];
        s->coef0 = kp[1];
        /* the reference truncates the degree to an integer */
        if (!(fabsf(kp[2]) < 1e6f))
            return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL, "kernel degree %g is invalid",
                               (double)kp[2]);
        s->degree = (double)(int64_t)kp[2];
    }
    return MMSP_OK;
}

/* K(x, v) for the node's kernel; x has s->cols values. */
static double kernel_dot(const struct svm_state *s, enum svm_kernel kern, const double *x,
                         const float *v)
{
    double acc = 0.0;
    if (kern == SVM_RBF) {
        for (int64_t k = 0; k < s->cols; k++) {
            double d = x[k] - (double)v[k];
            acc += d * d;
        }
        return exp(-s->gamma * acc);
    }
    for (int64_t k = 0; k < s->cols; k++)
        acc += x[k] * (double)v[k];
    switch (kern) {
    case SVM_POLY:
        return pow(s->gamma * acc + s->coef0, s->degree);
    case SVM_SIGMOID:
        return tanh(s->gamma * acc + s->coef0);
    default:
        return acc;
    }
}

/* 1 - logistic(score * a + b) in float, as libsvm's sigmoid_predict and ONNX Runtime. */
static float sigmoid_probability(float score, float a, float b)
{
    float v = score * a + b;
    float l = 1.0f / (1.0f + expf(-fabsf(v)));
    return 1.0f - (v < 0.0f ? 1.0f - l : l);
}

/*
 * libsvm's multiclass_probability (Wu, Lin and Weng's second method): p[0..k) from the pairwise
 * estimates r (k x k, r[i][j] = P(i | i or j)). Q (k x k) and qp (k) are scratch. Float, as
 * the reference implementation and ONNX Runtime, so the stopping step matches theirs.
 */
static void multiclass_probability(int64_t k, const float *r, float *q, float *qp, float *p)
{
    int64_t max_iter = k > 100 ? k : 100;
    float eps = 0.005f / (float)k;
    for (int64_t t = 0; t < k; t++) {
        p[t] = 1.0f / (float)k;
        q[t * k + t] = 0.0f;
        for (int64_t j = 0; j < t; j++) {
            q[t * k + t] += r[j * k + t] * r[j * k + t];
            q[t * k + j] = q[j * k + t];
        }
        for (int64_t j = t + 1; j < k; j++) {
            q[t * k + t] += r[j * k + t] * r[j * k + t];
            q[t * k + j] = -r[j * k + t] * r[t * k + j];
        }
    }
    for (int64_t it = 0; it < max_iter; it++) {
        float pqp = 0.0f, max_error = 0.0f;
        for (int64_t t = 0; t < k; t++) {
            qp[t] = 0.0f;
            for (int64_t j = 0; j < k; j++)
                qp[t] += q[t * k + j] * p[j];
            pqp += p[t] * qp[t];
        }
        for (int64_t t = 0; t < k; t++) {
            float e = fabsf(qp[t] - pqp);
            if (e > max_error)
                max_error = e;
        }
        if (max_error < eps)
            break;
        for (int64_t t = 0; t < k; t++) {
            float qtt = q[t * k + t];
            if (qtt == 0.0f) /* every pairwise estimate of t is 0: nothing to move */
                continue;
            float diff = (-qp[t] + pqp) / qtt;
            p[t] += diff;
            pqp = (pqp + diff * (diff * qtt + 2.0f * qp[t])) / (1.0f + diff) / (1.0f + diff);
            for (int64_t j = 0; j < k; j++) {
                qp[j] = (qp[j] + diff * q[t * k + j]) / (1.0f + diff);
                p[j] /= 1.0f + diff;
            }
        }
    }
}

/* Reads a FLOATS attribute and checks its length against `want` (-1: any). */
static mmsp_err floats_exact(const struct onnx_node *node, const char *name, int64_t want,
                             const float **out, size_t *n, char *err, size_t errlen)
{
    mmsp_err rc = onnx_attr_floats(node, name, out, n, NULL, err, errlen);
    if (rc)
        return rc;
    if (want >= 0 && (uint64_t)*n != (uint64_t)want)
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL, "%s has %zu values, expected %lld",
                           name, *n, (long long)want);
    return MMSP_OK;
}

/* Adds `bytes` (8-aligned) to the scratch layout; 0 on overflow of SVM_MAX_SCRATCH. */
static int scratch_take(uint64_t *total, uint64_t bytes, size_t *off)
{
    *off = (size_t)*total;
    *total += (bytes + 7) & ~(uint64_t)7;
    return *total <= SVM_MAX_SCRATCH;
}

static mmsp_err classifier_prepare(struct onnx_prepare_ctx *ctx, struct svm_state *s)
{
    const struct onnx_node *node = ctx->node;
    const int64_t *vpc;
    size_t n_vpc, nc, nsv, nr, na, nb;
    char *err = ctx->err;
    size_t errlen = ctx->errlen;
    mmsp_err rc;

    if ((rc = ml_labels_read(node, "classlabels_ints", "classlabels_strings", 0, &s->labels, err,
                             errlen)) ||
        (rc = onnx_attr_ints(node, "vectors_per_class", &vpc, &n_vpc, NULL, err, errlen)))
        return rc;
    s->n_cls = (int64_t)s->labels.n;
    if (s->n_cls > SVM_MAX_CLASSES)
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL, "%lld classes (at most %d)",
                           (long long)s->n_cls, SVM_MAX_CLASSES);
    s->n_pairs = s->n_cls * (s->n_cls - 1) / 2;
    for (size_t c = 0; c < n_vpc; c++) {
        if (vpc[c] < 0 || vpc[c] > INT32_MAX)
            return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL,
                               "vectors_per_class[%zu] = %lld is invalid", c, (long long)vpc[c]);
        s->n_sv += vpc[c];
    }
    if (n_vpc && (int64_t)n_vpc != s->n_cls)
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL,
                           "vectors_per_class has %zu values for %lld class labels", n_vpc,
                           (long long)s->n_cls);
    if ((rc = onnx_attr_floats(node, "support_vectors", &s->sv, &nsv, NULL, err, errlen)) ||
        (rc = onnx_attr_floats(node, "prob_a", &s->prob_a, &na, NULL, err, errlen)) ||
        (rc = onnx_attr_floats(node, "prob_b", &s->prob_b, &nb, NULL, err, errlen)))
        return rc;
    if (na != nb)
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL, "prob_a has %zu values, prob_b %zu",
                           na, nb);
    if (!na)
        s->prob_a = s->prob_b = NULL;
    if (s->n_sv > 0) {
        if (s->n_cls < 2)
            return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL,
                               "support vectors need at least two class labels");
        if ((uint64_t)nsv != (uint64_t)s->n_sv * (uint64_t)s->cols)
            return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL,
                               "%zu support_vectors values are not %lld vectors of %lld features",
                               nsv, (long long)s->n_sv, (long long)s->cols);
        if ((rc = floats_exact(node, "coefficients", (s->n_cls - 1) * s->n_sv, &s->coef, &nc, err,
                               errlen)) ||
            (rc = floats_exact(node, "rho", s->n_pairs, &s->rho, &nr, err, errlen)) ||
            (na && (rc = floats_exact(node, "prob_a", s->n_pairs, &s->prob_a, &na, err, errlen))))
            return rc;
        s->per_class = vpc;
        int64_t acc = 0;
        for (int64_t c = 0; c < s->n_cls; c++) {
            s->start[c] = acc;
            acc += vpc[c];
        }
    } else {
        if (nsv)
            return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL,
                               "support_vectors given but vectors_per_class counts none");
        if (na)
            return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL,
                               "prob_a/prob_b need support vectors");
        if ((rc = floats_exact(node, "coefficients", s->n_cls * s->cols, &s->coef, &nc, err,
                               errlen)) ||
            (rc = floats_exact(node, "rho", 1, &s->rho, &nr, err, errlen)))
            return rc;
        s->kernel = SVM_LINEAR; /* linear mode ignores kernel_type, as the reference */
    }
    if (nc == 0)
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL, "coefficients are empty");
    s->all_pos = 1;
    for (size_t k = 0; k < nc; k++)
        if (!(s->coef[k] >= 0.0f))
            s->all_pos = 0;

    /* Z columns: probabilities per class; raw one-vs-one scores; [-s, s] (or [probit(s)]). */
    if (s->n_sv == 0 || na)
        s->width = s->n_cls == 1 ? 1 : s->n_cls;
    else if (s->n_cls == 2)
        s->width = s->post == ML_POST_PROBIT ? 1 : 2;
    else
        s->width = s->n_pairs;

    uint64_t total = 0;
    uint64_t k2 = (uint64_t)s->n_cls * (uint64_t)s->n_cls;
    int ok =
        scratch_take(&total, (uint64_t)s->cols * sizeof(double), &(size_t){0}) &&
        scratch_take(&total, (uint64_t)s->n_sv * sizeof(double), &s->off_kv) &&
        scratch_take(&total, (uint64_t)s->n_cls * sizeof(int64_t), &s->off_votes) &&
        scratch_take(&total, (uint64_t)(s->n_cls + s->n_pairs + 2) * sizeof(float), &s->off_sc) &&
        scratch_take(&total, (uint64_t)(s->n_pairs + 1) * sizeof(float), &s->off_pair) &&
        scratch_take(&total, na ? k2 * sizeof(float) : 0, &s->off_r) &&
        scratch_take(&total, na ? k2 * sizeof(float) : 0, &s->off_q) &&
        scratch_take(&total, na ? (uint64_t)s->n_cls * sizeof(float) : 0, &s->off_qp);
    if (!ok)
        return onnx_op_err(node, err, errlen, MMSP_E_TOO_LARGE,
                           "%lld classes and %lld support vectors need too much scratch memory",
                           (long long)s->n_cls, (long long)s->n_sv);
    ctx->scratch_bytes = (size_t)total;
    int64_t d0[1] = {s->rows}, d1[2] = {s->rows, s->width};
    ctx->outputs[0].dtype = s->labels.is_string ? MMSP_DT_BYTES : MMSP_DT_INT64;
    onnx_shape_set(&ctx->outputs[0], 1, d0);
    if (ctx->n_outputs > 1) {
        ctx->outputs[1].dtype = MMSP_DT_FP32;
        onnx_shape_set(&ctx->outputs[1], 2, d1);
    }
    return MMSP_OK;
}

static mmsp_err regressor_prepare(struct onnx_prepare_ctx *ctx, struct svm_state *s)
{
    const struct onnx_node *node = ctx->node;
    size_t nc, nsv, nr;
    int64_t n_sup, one;
    mmsp_err rc;

    if ((rc = onnx_attr_int(node, "n_supports", 0, &n_sup, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_int(node, "one_class", 0, &one, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_floats(node, "support_vectors", &s->sv, &nsv, NULL, ctx->err, ctx->errlen)))
        return rc;
    if (n_sup < 0 || n_sup > INT32_MAX || (one != 0 && one != 1))
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "n_supports %lld or one_class %lld is invalid", (long long)n_sup,
                           (long long)one);
    s->n_sv = n_sup;
    s->one_class = (int)one;
    if ((uint64_t)nsv != (uint64_t)n_sup * (uint64_t)s->cols)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "%zu support_vectors values are not %lld vectors of %lld features", nsv,
                           (long long)n_sup, (long long)s->cols);
    if ((rc = floats_exact(node, "coefficients", n_sup ? n_sup : s->cols, &s->coef, &nc, ctx->err,
                           ctx->errlen)) ||
        (rc = floats_exact(node, "rho", 1, &s->rho, &nr, ctx->err, ctx->errlen)))
        return rc;
    if (!n_sup)
        s->kernel = SVM_LINEAR;
    uint64_t total = 0;
    if (!scratch_take(&total, (uint64_t)s->cols * sizeof(double), &(size_t){0}))
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_TOO_LARGE, "input too wide");
    ctx->scratch_bytes = (size_t)total;
    int64_t d1[2] = {s->rows, 1};
    ctx->outputs[0].dtype = MMSP_DT_FP32;
    onnx_shape_set(&ctx->outputs[0], 2, d1);
    return MMSP_OK;
}

static mmsp_err svm_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_node *node = ctx->node;
    const struct onnx_attr *labels_i = onnx_attr_find(node, "classlabels_ints");
    const struct onnx_attr *labels_s = onnx_attr_find(node, "classlabels_strings");
    size_t n_lab = labels_i ? labels_i->n : labels_s ? labels_s->n : 0;
    int clf = strcmp(node->op_type, "SVMClassifier") == 0;
    mmsp_err rc;

    if (n_lab > SVM_MAX_CLASSES)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "%zu class labels (at most %d)", n_lab, SVM_MAX_CLASSES);
    /* one block: the state, then the classes' first-vector indices */
    struct svm_state *s = calloc(1, sizeof *s + (clf ? n_lab : 0) * sizeof(int64_t));
    if (!s)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    s->clf = clf;
    s->start = (int64_t *)(s + 1);
    if ((rc = ml_rows(node, ctx->inputs[0], &s->rows, &s->cols, ctx->err, ctx->errlen)) ||
        (rc = ml_post_read(node, &s->post, ctx->err, ctx->errlen)) ||
        (rc = read_kernel(node, s, ctx->err, ctx->errlen)))
        goto out;
    if (s->cols < 1) {
        rc = onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_SHAPE, "input has no features");
        goto out;
    }
    rc = clf ? classifier_prepare(ctx, s) : regressor_prepare(ctx, s);
    if (rc)
        goto out;
    ctx->state = s;
    s = NULL;
out:
    free(s);
    return rc;
}

/* Copies row r of X to xr as double. */
static void row_read(const struct onnx_tensor *x, int64_t r, int64_t cols, double *xr)
{
    for (int64_t k = 0; k < cols; k++)
        xr[k] = (double)ml_getf(x, r * cols + k);
}

static void classify_row(const struct svm_state *s, const double *xr, unsigned char *scr,
                         size_t *maxclass, double *max_weight, float *sc)
{
    if (s->n_sv == 0) {
        for (int64_t c = 0; c < s->n_cls; c++)
            sc[c] =
                (float)((double)s->rho[0] + kernel_dot(s, SVM_LINEAR, xr, s->coef + c * s->cols));
        size_t best = 0;
        for (int64_t c = 1; c < s->n_cls; c++)
            if (sc[c] > sc[best])
                best = (size_t)c;
        *maxclass = best;
        *max_weight = sc[best];
        return;
    }
    double *kv = (double *)(scr + s->off_kv);
    int64_t *votes = (int64_t *)(scr + s->off_votes);
    float *pair = (float *)(scr + s->off_pair);
    for (int64_t v = 0; v < s->n_sv; v++)
        kv[v] = kernel_dot(s, s->kernel, xr, s->sv + v * s->cols);
    memset(votes, 0, (size_t)s->n_cls * sizeof *votes);
    int64_t k = 0;
    for (int64_t i = 0; i < s->n_cls; i++)
        for (int64_t j = i + 1; j < s->n_cls; j++, k++) {
            const float *ci = s->coef + (j - 1) * s->n_sv, *cj = s->coef + i * s->n_sv;
            double sum = s->rho[k];
            for (int64_t m = s->start[i]; m < s->start[i] + s->per_class[i]; m++)
                sum += (double)ci[m] * kv[m];
            for (int64_t m = s->start[j]; m < s->start[j] + s->per_class[j]; m++)
                sum += (double)cj[m] * kv[m];
            pair[k] = (float)sum;
            votes[sum > 0.0 ? i : j]++;
        }
    size_t best = 0;
    for (int64_t c = 1; c < s->n_cls; c++)
        if (votes[c] > votes[best])
            best = (size_t)c;
    *maxclass = best;
    *max_weight = (double)votes[best];
    if (s->prob_a) {
        float *r = (float *)(scr + s->off_r), *q = (float *)(scr + s->off_q);
        int64_t n = s->n_cls;
        k = 0;
        for (int64_t i = 0; i < n; i++) {
            r[i * n + i] = 0.0f;
            for (int64_t j = i + 1; j < n; j++, k++) {
                float p = sigmoid_probability(pair[k], s->prob_a[k], s->prob_b[k]);
                p = p < 1e-7f ? 1e-7f : p > 1.0f - 1e-7f ? 1.0f - 1e-7f : p;
                r[i * n + j] = p;
                r[j * n + i] = 1.0f - p;
            }
        }
        multiclass_probability(n, r, q, (float *)(scr + s->off_qp), sc);
    } else if (s->n_cls == 2) {
        sc[0] = -pair[0];
        sc[1] = pair[0];
    } else {
        memcpy(sc, pair, (size_t)s->n_pairs * sizeof *sc);
    }
}

static mmsp_err svm_run(const struct onnx_run_ctx *ctx)
{
    const struct svm_state *s = ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0];
    unsigned char *scr = ctx->scratch;
    double *xr = (double *)scr;
    static const char *const bin_str[2] = {"0", "1"};

    for (int64_t r = 0; r < s->rows; r++) {
        row_read(x, r, s->cols, xr);
        if (!s->clf) {
            double acc = s->rho[0];
            if (s->n_sv == 0)
                acc += kernel_dot(s, SVM_LINEAR, xr, s->coef);
            else
                for (int64_t v = 0; v < s->n_sv; v++)
                    acc += (double)s->coef[v] * kernel_dot(s, s->kernel, xr, s->sv + v * s->cols);
            float y = s->one_class ? (acc > 0.0 ? 1.0f : -1.0f) : (float)acc;
            if (!s->one_class)
                ml_post_apply(s->post, &y, 1);
            ((float *)ctx->outputs[0]->data)[r] = y;
            continue;
        }
        float *sc = (float *)(scr + s->off_sc);
        size_t best;
        double max_weight;
        classify_row(s, xr, scr, &best, &max_weight, sc);
        if (s->n_cls == 1) {
            /* one label: the reference writes 1 / 0 by the sign of the score */
            int pos = max_weight > 0.0;
            if (s->labels.is_string)
                ((const char **)ctx->outputs[0]->data)[r] = bin_str[pos];
            else
                ((int64_t *)ctx->outputs[0]->data)[r] = pos;
        } else {
            if (s->n_cls == 2 && !s->prob_a && s->all_pos && max_weight >= 0.5)
                best = 1;
            ml_label_put(&s->labels, best, ctx->outputs[0], r);
        }
        if (ctx->n_outputs < 2 || !ctx->outputs[1])
            continue;
        if (s->width == 1 && s->n_cls == 2) /* binary raw score with PROBIT: [probit(s)] */
            sc[0] = sc[1];
        if (s->n_cls > 1 || s->post == ML_POST_PROBIT)
            ml_post_apply(s->post, sc, (size_t)s->width);
        memcpy((float *)ctx->outputs[1]->data + r * s->width, sc, (size_t)s->width * sizeof *sc);
    }
    return MMSP_OK;
}

const struct onnx_op onnx_op_SVMClassifier = {
    .domain = "ai.onnx.ml",
    .op_type = "SVMClassifier",
    .since_min = 1,
    .since_max = 3,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 2,
    .prepare = svm_prepare,
    .run = svm_run,
    .free_state = ml_free,
};

const struct onnx_op onnx_op_SVMRegressor = {
    .domain = "ai.onnx.ml",
    .op_type = "SVMRegressor",
    .since_min = 1,
    .since_max = 3,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = svm_prepare,
    .run = svm_run,
    .free_state = ml_free,
};
