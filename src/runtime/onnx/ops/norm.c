/*
 * Normalisations (ai.onnx): BatchNormalization in inference mode (opsets 7..17) and
 * LayerNormalization (opset 17), on float and double.
 *
 * BatchNormalization: Y = (X - mean) / sqrt(var + epsilon) * scale + B per channel (dim 1).
 * Before opset 9 `spatial` = 0 means the four parameters have shape [C, D1, ...] (one value
 * per non-batch element); consumed_inputs (opset < 7) is never seen here. Training (the
 * optional Mean/Var/SavedMean/SavedVar outputs, or training_mode = 1 from opset 14) is
 * refused. From opset 15 the parameters may have another float type than X; each is read in
 * its own type at run time (they need not be constant), in double.
 *
 * LayerNormalization: normalises over dims [axis, rank) (axis default -1), epsilon default
 * 1e-5, stash_type 1 (float) only; Scale and the optional B broadcast to X.shape[axis:]; the
 * optional outputs Mean and InvStdDev have X's shape with dims [axis, rank) set to 1 and
 * type float. Statistics are computed in double.
 * Calls: op.h helpers, libm.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "runtime/onnx/op.h"

/* Element k of a float or double tensor as double. */
static double at(const struct onnx_tensor *t, int64_t k)
{
    return t->dtype == MMSP_DT_FP32 ? (double)((const float *)t->data)[k]
                                    : ((const double *)t->data)[k];
}

static int is_float_type(mmsp_dtype t)
{
    return t == MMSP_DT_FP32 || t == MMSP_DT_FP64;
}

/* ---- BatchNormalization ---- */

/* X seen as [n, groups, inner]: one parameter set per group. */
struct bn_state {
    int64_t n, groups, inner;
    double eps;
};

static mmsp_err bn_prepare(struct onnx_prepare_ctx *ctx)
{
    static const char *const names[] = {"X", "scale", "B", "input_mean", "input_var"};
    const struct onnx_node *node = ctx->node;
    const struct onnx_tensor *x = ctx->inputs[0];
    int64_t spatial = 1, training = 0, per_elem;
    float eps;
    struct bn_state *st;
    mmsp_err rc;

    if (ctx->n_inputs != 5)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL, "needs 5 inputs, has %zu",
                           ctx->n_inputs);
    for (int k = 0; k < 5; k++) {
        const struct onnx_tensor *t = ctx->inputs[k];
        if (!t)
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "input '%s' is absent", names[k]);
        if (!is_float_type(t->dtype))
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                               "input '%s' has type %s (float or double only)", names[k],
                               onnx_dtype_name(t->dtype));
        if (k > 0 && node->opset < 15 && t->dtype != x->dtype)
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "input '%s' has type %s, X has %s (allowed from opset 15)", names[k],
                               onnx_dtype_name(t->dtype), onnx_dtype_name(x->dtype));
    }
    rc = onnx_attr_float(node, "epsilon", 1e-5f, &eps, ctx->err, ctx->errlen);
    if (!rc && node->opset < 9)
        rc = onnx_attr_int(node, "spatial", 1, &spatial, ctx->err, ctx->errlen);
    if (!rc && node->opset >= 14)
        rc = onnx_attr_int(node, "training_mode", 0, &training, ctx->err, ctx->errlen);
    if (rc)
        return rc;
    if (training || ctx->n_outputs > 1)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "training mode is not supported (inference only: one output, "
                           "training_mode = 0)");
    if (x->ndim < 2)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                           "X must have at least 2 dims (N, C, ...), has %d", x->ndim);
    per_elem = 1;
    for (int d = 1; d < x->ndim; d++)
        per_elem *= x->dims[d];
    int64_t want = spatial ? x->dims[1] : per_elem;
    for (int k = 1; k < 5; k++)
        if (ctx->inputs[k]->count != want)
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                               "input '%s' has %lld values, expected %lld", names[k],
                               (long long)ctx->inputs[k]->count, (long long)want);
    st = calloc(1, sizeof *st);
    if (!st)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    ctx->state = st;
    st->n = x->dims[0];
    st->groups = want;
    st->inner = want ? per_elem / want : 0;
    st->eps = eps;
    ctx->outputs[0].dtype = x->dtype;
    onnx_shape_set(&ctx->outputs[0], x->ndim, x->dims);
    return MMSP_OK;
}

static mmsp_err bn_run(const struct onnx_run_ctx *ctx)
{
    const struct bn_state *st = ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0];
    struct onnx_tensor *y = ctx->outputs[0];
    int dbl = x->dtype == MMSP_DT_FP64;

    for (int64_t g = 0; g < st->groups; g++) {
        double a = at(ctx->inputs[1], g) / sqrt(at(ctx->inputs[4], g) + st->eps);
        double b = at(ctx->inputs[2], g) - at(ctx->inputs[3], g) * a;
        for (int64_t i = 0; i < st->n; i++) {
            int64_t off = (i * st->groups + g) * st->inner;
            if (dbl) {
                const double *p = (const double *)x->data + off;
                double *q = (double *)y->data + off;
                for (int64_t j = 0; j < st->inner; j++)
                    q[j] = p[j] * a + b;
            } else {
                const float *p = (const float *)x->data + off;
                float *q = (float *)y->data + off;
                float af = (float)a, bf = (float)b;
                for (int64_t j = 0; j < st->inner; j++)
                    q[j] = p[j] * af + bf;
            }
        }
    }
    return MMSP_OK;
}

const struct onnx_op onnx_op_BatchNormalization = {
    .domain = "",
    .op_type = "BatchNormalization",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 5,
    .max_inputs = 5,
    .min_outputs = 1,
    .max_outputs = 5,
    .prepare = bn_prepare,
    .run = bn_run,
    .free_state = NULL,
};

/* ---- LayerNormalization ---- */

/*
 * X seen as [outer, inner]. Scale/B are indexed through their own strides over the m normalised
 * dims (0 where broadcast), unless they match X.shape[axis:] exactly (`dense`).
 */
struct ln_state {
    int64_t outer, inner;
    double eps;
    int m;
    int64_t idims[ONNX_MAX_DIMS];
    int64_t sstr[ONNX_MAX_DIMS], bstr[ONNX_MAX_DIMS];
    int sdense, bdense;
};

/* Strides of `t` broadcast (right-aligned) onto dims[0..m); MMSP_E_SHAPE when it does not fit. */
static mmsp_err ln_strides(const struct onnx_prepare_ctx *ctx, const char *name,
                           const struct onnx_tensor *t, int m, const int64_t *dims, int64_t *str,
                           int *dense)
{
    int off = m - t->ndim;
    int64_t acc = 1;

    if (off < 0)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                           "%s has rank %d, more than the %d normalised dims", name, t->ndim, m);
    *dense = off == 0;
    for (int d = m - 1; d >= 0; d--) {
        int64_t w = d >= off ? t->dims[d - off] : 1;
        if (w != dims[d] && w != 1)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                               "%s dim %d is %lld, does not broadcast to %lld", name, d - off,
                               (long long)w, (long long)dims[d]);
        if (w != dims[d])
            *dense = 0;
        str[d] = w == 1 ? 0 : acc;
        acc *= w;
    }
    return MMSP_OK;
}

static mmsp_err ln_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_node *node = ctx->node;
    const struct onnx_tensor *x = ctx->inputs[0], *s = ctx->inputs[1];
    const struct onnx_tensor *b = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    int64_t axis, stash;
    float eps;
    int ax;
    struct ln_state *st;
    mmsp_err rc;

    if (!x || !s)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "needs inputs X and Scale");
    if (!is_float_type(x->dtype))
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(x->dtype));
    if (s->dtype != x->dtype || (b && b->dtype != x->dtype))
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "Scale and B must have X's type %s", onnx_dtype_name(x->dtype));
    rc = onnx_attr_int(node, "axis", -1, &axis, ctx->err, ctx->errlen);
    if (!rc)
        rc = onnx_attr_float(node, "epsilon", 1e-5f, &eps, ctx->err, ctx->errlen);
    if (!rc)
        rc = onnx_attr_int(node, "stash_type", 1, &stash, ctx->err, ctx->errlen);
    if (!rc)
        rc = onnx_axis_norm(node, axis, x->ndim, &ax, ctx->err, ctx->errlen);
    if (rc)
        return rc;
    if (stash != 1)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "stash_type %lld is not supported (1 = float only)", (long long)stash);
    st = calloc(1, sizeof *st);
    if (!st)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    ctx->state = st;
    st->eps = eps;
    st->outer = st->inner = 1;
    st->m = x->ndim - ax;
    for (int d = 0; d < x->ndim; d++) {
        if (d < ax)
            st->outer *= x->dims[d];
        else {
            st->inner *= x->dims[d];
            st->idims[d - ax] = x->dims[d];
        }
    }
    rc = ln_strides(ctx, "Scale", s, st->m, st->idims, st->sstr, &st->sdense);
    if (!rc && b)
        rc = ln_strides(ctx, "B", b, st->m, st->idims, st->bstr, &st->bdense);
    if (rc)
        return rc;
    ctx->outputs[0].dtype = x->dtype;
    onnx_shape_set(&ctx->outputs[0], x->ndim, x->dims);
    for (size_t k = 1; k < ctx->n_outputs && k < 3; k++) {
        struct onnx_tensor *o = &ctx->outputs[k];
        o->dtype = MMSP_DT_FP32;
        onnx_shape_set(o, x->ndim, x->dims);
        for (int d = ax; d < x->ndim; d++)
            o->dims[d] = 1;
    }
    return MMSP_OK;
}

/* Offset of normalised element j in a tensor with strides str over dims idims[0..m). */
static int64_t ln_off(const struct ln_state *st, const int64_t *str, int64_t j)
{
    int64_t off = 0;
    for (int d = st->m - 1; d >= 0; d--) {
        off += (j % st->idims[d]) * str[d];
        j /= st->idims[d];
    }
    return off;
}

static mmsp_err ln_run(const struct onnx_run_ctx *ctx)
{
    const struct ln_state *st = ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0], *s = ctx->inputs[1];
    const struct onnx_tensor *b = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    struct onnx_tensor *y = ctx->outputs[0];
    struct onnx_tensor *mean_out = ctx->n_outputs > 1 ? ctx->outputs[1] : NULL;
    struct onnx_tensor *inv_out = ctx->n_outputs > 2 ? ctx->outputs[2] : NULL;
    int dbl = x->dtype == MMSP_DT_FP64;
    int64_t n = st->inner;

    for (int64_t o = 0; o < st->outer; o++) {
        int64_t base = o * n;
        double sum = 0, sq = 0, mean, inv;
        for (int64_t j = 0; j < n; j++)
            sum += at(x, base + j);
        mean = n ? sum / (double)n : NAN;
        for (int64_t j = 0; j < n; j++) {
            double d = at(x, base + j) - mean;
            sq += d * d;
        }
        inv = 1.0 / sqrt((n ? sq / (double)n : NAN) + st->eps);
        for (int64_t j = 0; j < n; j++) {
            double sv = at(s, st->sdense ? j : ln_off(st, st->sstr, j));
            double bv = b ? at(b, st->bdense ? j : ln_off(st, st->bstr, j)) : 0.0;
            double v = (at(x, base + j) - mean) * inv * sv + bv;
            if (dbl)
                ((double *)y->data)[base + j] = v;
            else
                ((float *)y->data)[base + j] = (float)v;
        }
        if (mean_out && mean_out->data)
            ((float *)mean_out->data)[o] = (float)mean;
        if (inv_out && inv_out->data)
            ((float *)inv_out->data)[o] = (float)inv;
    }
    return MMSP_OK;
}

const struct onnx_op onnx_op_LayerNormalization = {
    .domain = "",
    .op_type = "LayerNormalization",
    .since_min = 17,
    .since_max = 17,
    .min_inputs = 2,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 3,
    .prepare = ln_prepare,
    .run = ln_run,
    .free_state = NULL,
};
