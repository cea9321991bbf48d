/*
 * ai.onnx.ml LinearClassifier and LinearRegressor (opset 1): scores = X * coefficients^T +
 * intercepts per row, then the post transform. The classifier's label is the class with the
 * highest score; with one coefficient row and two labels (the binary form) the score s gives
 * the label s > 0 ? labels[1] : labels[0] and the scores output is [-s, s] before the
 * transform. Calls: op.h helpers, ml_common.h, libc.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/op.h"
#include "runtime/onnx/ops/ml_common.h"

#define LINEAR_MAX_CLASSES (1 << 20)

struct linear_state {
    int clf;
    int64_t rows, cols, n_cls; /* coefficient rows */
    int64_t width;             /* columns of the scores output */
    enum ml_post post;
    struct ml_labels labels;
    const float *coef;
    float *icpt; /* n_cls values (owned; zeros when absent) */
};

static void linear_free(void *p)
{
    struct linear_state *s = p;
    if (s)
        free(s->icpt);
    free(s);
}

static mmsp_err linear_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_node *node = ctx->node;
    struct linear_state *s = calloc(1, sizeof *s);
    const float *icpt;
    size_t nc, ni;
    mmsp_err rc;

    if (!s)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    s->clf = strcmp(node->op_type, "LinearClassifier") == 0;
    if ((rc = ml_rows(node, ctx->inputs[0], &s->rows, &s->cols, ctx->err, ctx->errlen)) ||
        (rc = ml_post_read(node, &s->post, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_floats(node, "coefficients", &s->coef, &nc, NULL, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_floats(node, "intercepts", &icpt, &ni, NULL, ctx->err, ctx->errlen)))
        goto out;
    if (s->clf) {
        if ((rc = ml_labels_read(node, "classlabels_ints", "classlabels_strings", 0, &s->labels,
                                 ctx->err, ctx->errlen)))
            goto out;
    } else {
        int64_t t;
        if ((rc = onnx_attr_int(node, "targets", 1, &t, ctx->err, ctx->errlen)))
            goto out;
        if (t < 1 || t > LINEAR_MAX_CLASSES) {
            rc = onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                             "targets %lld is outside [1, %d]", (long long)t, LINEAR_MAX_CLASSES);
            goto out;
        }
        s->n_cls = t;
    }
    if (s->clf)
        s->n_cls = ni ? (int64_t)ni : (s->cols ? (int64_t)nc / s->cols : 0);
    if (s->n_cls < 1 || s->n_cls > LINEAR_MAX_CLASSES || s->cols < 1 ||
        (uint64_t)nc != (uint64_t)s->n_cls * (uint64_t)s->cols || (ni && (int64_t)ni != s->n_cls)) {
        rc = onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                         "%zu coefficients and %zu intercepts do not fit %lld input columns", nc,
                         ni, (long long)s->cols);
        goto out;
    }
    if (s->clf && s->n_cls > 1 && (size_t)s->n_cls != s->labels.n) {
        rc = onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                         "%lld coefficient rows for %zu class labels", (long long)s->n_cls,
                         s->labels.n);
        goto out;
    }
    if (s->clf && s->n_cls == 1 && s->labels.n != 2 && s->labels.n != 1) {
        rc = onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                         "one coefficient row needs one or two class labels, not %zu", s->labels.n);
        goto out;
    }
    s->icpt = calloc((size_t)s->n_cls, sizeof *s->icpt);
    if (!s->icpt) {
        rc = onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
        goto out;
    }
    if (ni)
        memcpy(s->icpt, icpt, ni * sizeof *icpt);
    s->width = (s->clf && s->n_cls == 1 && s->labels.n == 2) ? 2 : s->n_cls;
    {
        int64_t d0[1] = {s->rows}, d1[2] = {s->rows, s->width};
        struct onnx_tensor *z = &ctx->outputs[s->clf ? 1 : 0];
        if (s->clf) {
            ctx->outputs[0].dtype = s->labels.is_string ? MMSP_DT_BYTES : MMSP_DT_INT64;
            onnx_shape_set(&ctx->outputs[0], 1, d0);
        }
        if (!s->clf || ctx->n_outputs > 1) {
            z->dtype = MMSP_DT_FP32;
            onnx_shape_set(z, 2, d1);
        }
    }
    ctx->scratch_bytes = (size_t)(s->width + 1) * sizeof(float);
    ctx->state = s;
    s = NULL;
out:
    linear_free(s);
    return rc;
}

static mmsp_err linear_run(const struct onnx_run_ctx *ctx)
{
    const struct linear_state *s = ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0];
    float *sc = ctx->scratch;
    for (int64_t r = 0; r < s->rows; r++) {
        for (int64_t c = 0; c < s->n_cls; c++) {
            const float *w = s->coef + c * s->cols;
            float acc = s->icpt[c];
            for (int64_t k = 0; k < s->cols; k++)
                acc += ml_getf(x, r * s->cols + k) * w[k];
            sc[c] = acc;
        }
        if (!s->clf) {
            ml_post_apply(s->post, sc, (size_t)s->n_cls);
            memcpy((float *)ctx->outputs[0]->data + r * s->n_cls, sc,
                   (size_t)s->n_cls * sizeof *sc);
            continue;
        }
        size_t best = 0;
        if (s->n_cls == 1) {
            float v = sc[0];
            best = (s->labels.n == 2 && v > 0.0f) ? 1 : 0;
            if (s->width == 2) {
                sc[0] = -v;
                sc[1] = v;
            }
            ml_post_apply(s->post, sc, (size_t)s->width);
        } else {
            ml_post_apply(s->post, sc, (size_t)s->width);
            for (int64_t c = 1; c < s->n_cls; c++)
                if (sc[c] > sc[best])
                    best = (size_t)c;
        }
        ml_label_put(&s->labels, best, ctx->outputs[0], r);
        if (ctx->n_outputs > 1 && ctx->outputs[1])
            memcpy((float *)ctx->outputs[1]->data + r * s->width, sc,
                   (size_t)s->width * sizeof *sc);
    }
    return MMSP_OK;
}

const struct onnx_op onnx_op_LinearClassifier = {
    .domain = "ai.onnx.ml",
    .op_type = "LinearClassifier",
    .since_min = 1,
    .since_max = 3,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 2,
    .prepare = linear_prepare,
    .run = linear_run,
    .free_state = linear_free,
};

const struct onnx_op onnx_op_LinearRegressor = {
    .domain = "ai.onnx.ml",
    .op_type = "LinearRegressor",
    .since_min = 1,
    .since_max = 3,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = linear_prepare,
    .run = linear_run,
    .free_state = linear_free,
};
