/*
 * ai.onnx.ml feature preprocessing (opsets 1..3): Scaler, Normalizer, Binarizer, Imputer,
 * ArrayFeatureExtractor, OneHotEncoder and ZipMap. ZipMap's ONNX output is seq(map(label,
 * float)); the executor only has tensors, so ZipMap here returns the probability tensor
 * [N, classes] unchanged (the labels are the node's classlabels_* attribute, docs/onnx.md
 * "ML operators"). Calls: op.h helpers, ml_common.h, libc, libm.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/op.h"
#include "runtime/onnx/ops/ml_common.h"

#define ERR(rc, ...) onnx_op_err(ctx->node, ctx->err, ctx->errlen, rc, __VA_ARGS__)

/* Copies the input shape to output 0 with the given dtype. */
static void same_shape(struct onnx_prepare_ctx *ctx, mmsp_dtype dt)
{
    ctx->outputs[0].dtype = dt;
    onnx_shape_set(&ctx->outputs[0], ctx->inputs[0]->ndim, ctx->inputs[0]->dims);
}

/* A per-column parameter list: length 1 (broadcast) or the input's column count. */
static mmsp_err per_column(const struct onnx_prepare_ctx *ctx, const char *name, size_t n,
                           int64_t cols)
{
    if (n != 1 && (int64_t)n != cols)
        return ERR(MMSP_E_BAD_MODEL, "%s has %zu values; expected 1 or %lld", name, n,
                   (long long)cols);
    return MMSP_OK;
}

/* ---- Scaler: Y = (X - offset) * scale, float ---- */

struct scaler_state {
    const float *offset, *scale;
    size_t n_off, n_scale;
    int64_t cols;
};

static mmsp_err scaler_prepare(struct onnx_prepare_ctx *ctx)
{
    struct scaler_state st = {0};
    int64_t rows;
    mmsp_err rc;
    if ((rc = ml_rows(ctx->node, ctx->inputs[0], &rows, &st.cols, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_floats(ctx->node, "offset", &st.offset, &st.n_off, NULL, ctx->err,
                               ctx->errlen)) ||
        (rc = onnx_attr_floats(ctx->node, "scale", &st.scale, &st.n_scale, NULL, ctx->err,
                               ctx->errlen)))
        return rc;
    if ((st.n_off && (rc = per_column(ctx, "offset", st.n_off, st.cols))) ||
        (st.n_scale && (rc = per_column(ctx, "scale", st.n_scale, st.cols))))
        return rc;
    struct scaler_state *s = malloc(sizeof *s);
    if (!s)
        return ERR(MMSP_E_NOMEM, "out of memory");
    *s = st;
    ctx->state = s;
    same_shape(ctx, MMSP_DT_FP32);
    return MMSP_OK;
}

static mmsp_err scaler_run(const struct onnx_run_ctx *ctx)
{
    const struct scaler_state *s = ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0];
    float *y = ctx->outputs[0]->data;
    for (int64_t i = 0; i < x->count; i++) {
        int64_t c = s->cols ? i % s->cols : 0;
        float off = s->n_off ? s->offset[s->n_off == 1 ? 0 : c] : 0.0f;
        float sc = s->n_scale ? s->scale[s->n_scale == 1 ? 0 : c] : 1.0f;
        y[i] = (ml_getf(x, i) - off) * sc;
    }
    return MMSP_OK;
}

/* ---- Normalizer: per row, by the max, the L1 or the L2 norm ---- */

enum norm { NORM_MAX, NORM_L1, NORM_L2 };

struct norm_state {
    enum norm norm;
    int64_t rows, cols;
};

static mmsp_err normalizer_prepare(struct onnx_prepare_ctx *ctx)
{
    struct norm_state st;
    const char *n;
    mmsp_err rc;
    if ((rc = ml_rows(ctx->node, ctx->inputs[0], &st.rows, &st.cols, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_string(ctx->node, "norm", "MAX", &n, ctx->err, ctx->errlen)))
        return rc;
    if (strcmp(n, "MAX") == 0)
        st.norm = NORM_MAX;
    else if (strcmp(n, "L1") == 0)
        st.norm = NORM_L1;
    else if (strcmp(n, "L2") == 0)
        st.norm = NORM_L2;
    else
        return ERR(MMSP_E_BAD_MODEL, "unknown norm '%s' (MAX, L1, L2)", n);
    struct norm_state *s = malloc(sizeof *s);
    if (!s)
        return ERR(MMSP_E_NOMEM, "out of memory");
    *s = st;
    ctx->state = s;
    same_shape(ctx, MMSP_DT_FP32);
    return MMSP_OK;
}

/* A row whose norm is 0 (or not finite where a max is taken of nothing) is copied as is. */
static mmsp_err normalizer_run(const struct onnx_run_ctx *ctx)
{
    const struct norm_state *s = ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0];
    float *y = ctx->outputs[0]->data;
    for (int64_t r = 0; r < s->rows; r++) {
        float d = 0.0f;
        int64_t o = r * s->cols;
        if (s->norm == NORM_MAX) {
            d = -INFINITY;
            for (int64_t c = 0; c < s->cols; c++)
                d = fmaxf(d, ml_getf(x, o + c));
        } else if (s->norm == NORM_L1) {
            for (int64_t c = 0; c < s->cols; c++)
                d += fabsf(ml_getf(x, o + c));
        } else {
            for (int64_t c = 0; c < s->cols; c++) {
                float v = ml_getf(x, o + c);
                d += v * v;
            }
            d = sqrtf(d);
        }
        for (int64_t c = 0; c < s->cols; c++)
            y[o + c] = (d != 0.0f && isfinite(d)) ? ml_getf(x, o + c) / d : ml_getf(x, o + c);
    }
    return MMSP_OK;
}

/* ---- Binarizer: Y = X > threshold ? 1 : 0, in X's type ---- */

static mmsp_err binarizer_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    float *thr = malloc(sizeof *thr);
    mmsp_err rc;
    if (!thr)
        return ERR(MMSP_E_NOMEM, "out of memory");
    if ((rc = onnx_attr_float(ctx->node, "threshold", 0.0f, thr, ctx->err, ctx->errlen))) {
        free(thr);
        return rc;
    }
    if (x->dtype != MMSP_DT_FP32 && x->dtype != MMSP_DT_FP64 && x->dtype != MMSP_DT_INT64 &&
        x->dtype != MMSP_DT_INT32) {
        free(thr);
        return ERR(MMSP_E_UNSUPPORTED, "input type %s is not supported", onnx_dtype_name(x->dtype));
    }
    ctx->state = thr;
    same_shape(ctx, x->dtype);
    return MMSP_OK;
}

static mmsp_err binarizer_run(const struct onnx_run_ctx *ctx)
{
    const float thr = *(const float *)ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0];
    void *y = ctx->outputs[0]->data;
    for (int64_t i = 0; i < x->count; i++) {
        switch (x->dtype) {
        case MMSP_DT_FP32:
            ((float *)y)[i] = ((const float *)x->data)[i] > thr ? 1.0f : 0.0f;
            break;
        case MMSP_DT_FP64:
            ((double *)y)[i] = ((const double *)x->data)[i] > (double)thr ? 1.0 : 0.0;
            break;
        case MMSP_DT_INT64:
            ((int64_t *)y)[i] = (double)((const int64_t *)x->data)[i] > (double)thr;
            break;
        default:
            ((int32_t *)y)[i] = (double)((const int32_t *)x->data)[i] > (double)thr;
            break;
        }
    }
    return MMSP_OK;
}

/* ---- Imputer: replaces replaced_value_* (NaN matches NaN) by imputed_value_* ---- */

struct imputer_state {
    int is_int;
    int64_t cols;
    const float *fv;
    const int64_t *iv;
    size_t n;
    float frep;
    int64_t irep;
};

static mmsp_err imputer_prepare(struct onnx_prepare_ctx *ctx)
{
    struct imputer_state st = {0};
    const struct onnx_tensor *x = ctx->inputs[0];
    int64_t rows;
    size_t nf, ni;
    mmsp_err rc;
    if ((rc = ml_rows(ctx->node, x, &rows, &st.cols, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_floats(ctx->node, "imputed_value_floats", &st.fv, &nf, NULL, ctx->err,
                               ctx->errlen)) ||
        (rc = onnx_attr_ints(ctx->node, "imputed_value_int64s", &st.iv, &ni, NULL, ctx->err,
                             ctx->errlen)) ||
        (rc = onnx_attr_float(ctx->node, "replaced_value_float", 0.0f, &st.frep, ctx->err,
                              ctx->errlen)) ||
        (rc = onnx_attr_int(ctx->node, "replaced_value_int64", 0, &st.irep, ctx->err, ctx->errlen)))
        return rc;
    if (x->dtype == MMSP_DT_INT32)
        return ERR(MMSP_E_UNSUPPORTED, "input type int32 is not supported");
    st.is_int = x->dtype == MMSP_DT_INT64;
    st.n = st.is_int ? ni : nf;
    if (!st.n)
        return ERR(MMSP_E_BAD_MODEL, "imputed_value_%s is missing for %s input",
                   st.is_int ? "int64s" : "floats", onnx_dtype_name(x->dtype));
    if ((rc = per_column(ctx, "imputed values", st.n, st.cols)))
        return rc;
    struct imputer_state *s = malloc(sizeof *s);
    if (!s)
        return ERR(MMSP_E_NOMEM, "out of memory");
    *s = st;
    ctx->state = s;
    same_shape(ctx, x->dtype);
    return MMSP_OK;
}

static mmsp_err imputer_run(const struct onnx_run_ctx *ctx)
{
    const struct imputer_state *s = ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0];
    for (int64_t i = 0; i < x->count; i++) {
        size_t c = s->n == 1 ? 0 : (size_t)(i % s->cols);
        if (s->is_int) {
            int64_t v = ((const int64_t *)x->data)[i];
            ((int64_t *)ctx->outputs[0]->data)[i] = v == s->irep ? s->iv[c] : v;
        } else if (x->dtype == MMSP_DT_FP64) {
            double v = ((const double *)x->data)[i];
            int hit = isnan(s->frep) ? isnan(v) : v == (double)s->frep;
            ((double *)ctx->outputs[0]->data)[i] = hit ? (double)s->fv[c] : v;
        } else {
            float v = ((const float *)x->data)[i];
            int hit = isnan(s->frep) ? isnan(v) : v == s->frep;
            ((float *)ctx->outputs[0]->data)[i] = hit ? s->fv[c] : v;
        }
    }
    return MMSP_OK;
}

/* ---- ArrayFeatureExtractor: Y[..., j] = X[..., indices[j]] ---- */

static mmsp_err afe_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0], *idx = ctx->inputs[1];
    int64_t dims[ONNX_MAX_DIMS];
    if (!x || !idx)
        return ERR(MMSP_E_BAD_MODEL, "needs inputs X and Y");
    if (!onnx_dtype_size(x->dtype) || x->dtype == MMSP_DT_FP16)
        return ERR(MMSP_E_UNSUPPORTED, "input type %s is not supported", onnx_dtype_name(x->dtype));
    if (idx->dtype != MMSP_DT_INT64)
        return ERR(MMSP_E_BAD_MODEL, "indices must be int64, not %s", onnx_dtype_name(idx->dtype));
    if (x->ndim < 1)
        return ERR(MMSP_E_SHAPE, "X must have rank >= 1");
    ctx->outputs[0].dtype = x->dtype;
    if (x->ndim == 1) { /* [F] -> [1, n] as ONNX Runtime does */
        dims[0] = 1;
        dims[1] = idx->count;
        onnx_shape_set(&ctx->outputs[0], 2, dims);
        return MMSP_OK;
    }
    memcpy(dims, x->dims, (size_t)x->ndim * sizeof *dims);
    dims[x->ndim - 1] = idx->count;
    onnx_shape_set(&ctx->outputs[0], x->ndim, dims);
    return MMSP_OK;
}

static mmsp_err afe_run(const struct onnx_run_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0], *idx = ctx->inputs[1];
    const int64_t *ix = idx->data;
    const int64_t last = x->dims[x->ndim - 1], outer = last ? x->count / last : 0;
    const size_t es = onnx_dtype_size(x->dtype);
    char *y = ctx->outputs[0]->data;
    for (int64_t j = 0; j < idx->count; j++)
        if (ix[j] < 0 || ix[j] >= last)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_INVALID,
                               "index %lld is outside [0, %lld)", (long long)ix[j],
                               (long long)last);
    for (int64_t r = 0; r < outer; r++)
        for (int64_t j = 0; j < idx->count; j++)
            memcpy(y + (size_t)(r * idx->count + j) * es,
                   (const char *)x->data + (size_t)(r * last + ix[j]) * es, es);
    return MMSP_OK;
}

/* ---- OneHotEncoder: a float one-hot vector per value, appended as the last dim ---- */

struct onehot_state {
    struct ml_labels cats;
    int zeros;
};

static mmsp_err onehot_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    struct onehot_state st;
    int64_t zeros, dims[ONNX_MAX_DIMS];
    mmsp_err rc;
    if ((rc = ml_labels_read(ctx->node, "cats_int64s", "cats_strings", 0, &st.cats, ctx->err,
                             ctx->errlen)) ||
        (rc = onnx_attr_int(ctx->node, "zeros", 1, &zeros, ctx->err, ctx->errlen)))
        return rc;
    st.zeros = zeros != 0;
    if (st.cats.is_string != (x->dtype == MMSP_DT_BYTES))
        return ERR(MMSP_E_BAD_MODEL, "input type %s does not match the categories",
                   onnx_dtype_name(x->dtype));
    if (x->dtype != MMSP_DT_BYTES && x->dtype != MMSP_DT_INT64 && x->dtype != MMSP_DT_INT32 &&
        x->dtype != MMSP_DT_FP32 && x->dtype != MMSP_DT_FP64)
        return ERR(MMSP_E_UNSUPPORTED, "input type %s is not supported", onnx_dtype_name(x->dtype));
    if (x->ndim >= ONNX_MAX_DIMS)
        return ERR(MMSP_E_SHAPE, "input rank %d is too high", x->ndim);
    struct onehot_state *s = malloc(sizeof *s);
    if (!s)
        return ERR(MMSP_E_NOMEM, "out of memory");
    *s = st;
    ctx->state = s;
    memcpy(dims, x->dims, (size_t)x->ndim * sizeof *dims);
    dims[x->ndim] = (int64_t)st.cats.n;
    ctx->outputs[0].dtype = MMSP_DT_FP32;
    onnx_shape_set(&ctx->outputs[0], x->ndim + 1, dims);
    return MMSP_OK;
}

static mmsp_err onehot_run(const struct onnx_run_ctx *ctx)
{
    const struct onehot_state *s = ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0];
    float *y = ctx->outputs[0]->data;
    const size_t n = s->cats.n;
    memset(y, 0, (size_t)x->count * n * sizeof *y);
    for (int64_t i = 0; i < x->count; i++) {
        size_t k = 0;
        if (s->cats.is_string) {
            const char *v = ((const char *const *)x->data)[i];
            while (k < n && (!v || strcmp(v, s->cats.strings[k]) != 0))
                k++;
        } else {
            double d = x->dtype == MMSP_DT_INT64   ? (double)((const int64_t *)x->data)[i]
                       : x->dtype == MMSP_DT_INT32 ? (double)((const int32_t *)x->data)[i]
                                                   : (double)ml_getf(x, i);
            /* float inputs are truncated to integers, as ONNX Runtime does */
            int ok = isfinite(d) && fabs(d) < 9.2e18;
            int64_t v = ok ? (int64_t)d : 0;
            while (ok && k < n && s->cats.ints[k] != v)
                k++;
            if (!ok)
                k = n;
        }
        if (k < n)
            y[(size_t)i * n + k] = 1.0f;
        else if (!s->zeros)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_INVALID,
                               "value %lld is not one of the categories (zeros = 0)", (long long)i);
    }
    return MMSP_OK;
}

/* ---- ZipMap: the probability tensor [N, classes], see the top of the file ---- */

static mmsp_err zipmap_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    struct ml_labels l;
    mmsp_err rc;
    if ((rc = ml_labels_read(ctx->node, "classlabels_int64s", "classlabels_strings", 0, &l,
                             ctx->err, ctx->errlen)))
        return rc;
    if (x->dtype != MMSP_DT_FP32)
        return ERR(MMSP_E_BAD_MODEL, "input must be float, not %s", onnx_dtype_name(x->dtype));
    if (x->ndim != 2 || x->dims[1] != (int64_t)l.n)
        return ERR(MMSP_E_SHAPE, "input must be [N, %zu] (one column per class label)", l.n);
    same_shape(ctx, MMSP_DT_FP32);
    return MMSP_OK;
}

static mmsp_err zipmap_run(const struct onnx_run_ctx *ctx)
{
    memcpy(ctx->outputs[0]->data, ctx->inputs[0]->data,
           (size_t)ctx->inputs[0]->count * sizeof(float));
    return MMSP_OK;
}

#define ML_OP(NAME, NIN_MIN, NIN_MAX, PREP, RUN, FREE)                                             \
    const struct onnx_op onnx_op_##NAME = {                                                        \
        .domain = "ai.onnx.ml",                                                                    \
        .op_type = #NAME,                                                                          \
        .since_min = 1,                                                                            \
        .since_max = 3,                                                                            \
        .min_inputs = NIN_MIN,                                                                     \
        .max_inputs = NIN_MAX,                                                                     \
        .min_outputs = 1,                                                                          \
        .max_outputs = 1,                                                                          \
        .prepare = PREP,                                                                           \
        .run = RUN,                                                                                \
        .free_state = FREE,                                                                        \
    };

ML_OP(Scaler, 1, 1, scaler_prepare, scaler_run, ml_free)
ML_OP(Normalizer, 1, 1, normalizer_prepare, normalizer_run, ml_free)
ML_OP(Binarizer, 1, 1, binarizer_prepare, binarizer_run, ml_free)
ML_OP(Imputer, 1, 1, imputer_prepare, imputer_run, ml_free)
ML_OP(ArrayFeatureExtractor, 2, 2, afe_prepare, afe_run, NULL)
ML_OP(OneHotEncoder, 1, 1, onehot_prepare, onehot_run, ml_free)
ML_OP(ZipMap, 1, 1, zipmap_prepare, zipmap_run, NULL)
