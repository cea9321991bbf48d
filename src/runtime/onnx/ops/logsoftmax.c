/*
 * LogSoftmax (ai.onnx, opsets 7..17) on float and double, numerically stable
 * (x - max - log(sum(exp(x - max))), sums in double). Both axis semantics: before opset 13
 * the input is coerced to 2-D at `axis` (default 1) and each row of prod(dims[axis:]) values
 * is normalised; from 13 it runs along the single dim `axis` (default -1). Both are one loop
 * over (outer, n, inner) with inner = 1 for the old form.
 * Calls: op.h helpers, libm.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "runtime/onnx/op.h"

struct logsoftmax_state {
    int64_t outer, n, inner;
};

static mmsp_err logsoftmax_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_node *node = ctx->node;
    const struct onnx_tensor *x = ctx->inputs[0];
    int old = node->opset < 13, ax;
    int64_t axis;
    struct logsoftmax_state *st;
    mmsp_err rc;

    if (!x)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL, "needs an input");
    if (x->dtype != MMSP_DT_FP32 && x->dtype != MMSP_DT_FP64)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(x->dtype));
    if (x->ndim == 0)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                           "input must have at least one dim");
    rc = onnx_attr_int(node, "axis", old ? 1 : -1, &axis, ctx->err, ctx->errlen);
    if (rc)
        return rc;
    /* the 2-D form also accepts axis == rank: rows of one element */
    if (old && axis == x->ndim)
        ax = x->ndim;
    else if ((rc = onnx_axis_norm(node, axis, x->ndim, &ax, ctx->err, ctx->errlen)))
        return rc;
    st = calloc(1, sizeof *st);
    if (!st)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    ctx->state = st;
    st->outer = st->n = st->inner = 1;
    for (int d = 0; d < x->ndim; d++) {
        if (d < ax)
            st->outer *= x->dims[d];
        else if (d == ax || old)
            st->n *= x->dims[d];
        else
            st->inner *= x->dims[d];
    }
    ctx->outputs[0].dtype = x->dtype;
    onnx_shape_set(&ctx->outputs[0], x->ndim, x->dims);
    return MMSP_OK;
}

#define LOGSOFTMAX_KERNEL(T, SUF)                                                                  \
    static void logsoftmax_##SUF(const T *in, T *out, const struct logsoftmax_state *st)           \
    {                                                                                              \
        int64_t n = st->n, inner = st->inner;                                                      \
        for (int64_t o = 0; o < st->outer; o++)                                                    \
            for (int64_t i = 0; i < inner; i++) {                                                  \
                const T *p = in + o * n * inner + i;                                               \
                T *q = out + o * n * inner + i;                                                    \
                double mx = -INFINITY, sum = 0, lse;                                               \
                for (int64_t k = 0; k < n; k++)                                                    \
                    if (p[k * inner] > mx || isnan(p[k * inner]))                                  \
                        mx = p[k * inner];                                                         \
                if (isinf(mx))                                                                     \
                    mx = 0; /* all -inf (or +inf present): let exp/log give -inf/NaN */            \
                for (int64_t k = 0; k < n; k++)                                                    \
                    sum += exp((double)p[k * inner] - mx);                                         \
                lse = mx + log(sum);                                                               \
                for (int64_t k = 0; k < n; k++)                                                    \
                    q[k * inner] = (T)((double)p[k * inner] - lse);                                \
            }                                                                                      \
    }

LOGSOFTMAX_KERNEL(float, f32)
LOGSOFTMAX_KERNEL(double, f64)

static mmsp_err logsoftmax_run(const struct onnx_run_ctx *ctx)
{
    const struct logsoftmax_state *st = ctx->state;
    if (ctx->inputs[0]->dtype == MMSP_DT_FP32)
        logsoftmax_f32(ctx->inputs[0]->data, ctx->outputs[0]->data, st);
    else
        logsoftmax_f64(ctx->inputs[0]->data, ctx->outputs[0]->data, st);
    return MMSP_OK;
}

const struct onnx_op onnx_op_LogSoftmax = {
    .domain = "",
    .op_type = "LogSoftmax",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = logsoftmax_prepare,
    .run = logsoftmax_run,
    .free_state = NULL,
};
