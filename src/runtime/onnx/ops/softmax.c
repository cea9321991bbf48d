/*
 * Softmax (ai.onnx opsets 7..17) on float and double. Both axis semantics: before opset 13
 * the input is coerced to 2-D at `axis` (default 1) and each row of prod(dims[axis:]) values
 * is normalised; from 13 the softmax runs along the single dim `axis` (default -1). Both are
 * the same loop over (outer, n, inner) with inner = 1 for the old form.
 * Calls: op.h helpers, libm.
 */
#include <math.h>
#include <stdlib.h>

#include "runtime/onnx/op.h"

struct softmax {
    int64_t outer, n, inner;
};

static mmsp_err softmax_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    int old = ctx->node->opset < 13;
    int64_t axis;
    int ax;
    mmsp_err rc;

    if (x->dtype != MMSP_DT_FP32 && x->dtype != MMSP_DT_FP64)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(x->dtype));
    rc = onnx_attr_int(ctx->node, "axis", old ? 1 : -1, &axis, ctx->err, ctx->errlen);
    if (rc)
        return rc;
    if (x->ndim == 0) /* a scalar: one row of one value */
        axis = 0;
    else if ((rc = onnx_axis_norm(ctx->node, axis, x->ndim, &ax, ctx->err, ctx->errlen)))
        return rc;
    else
        axis = ax;
    struct softmax *s = calloc(1, sizeof *s);
    if (!s)
        return MMSP_E_NOMEM;
    s->outer = s->n = s->inner = 1;
    for (int d = 0; d < x->ndim; d++) {
        if (d < axis)
            s->outer *= x->dims[d];
        else if (d == axis || old)
            s->n *= x->dims[d];
        else
            s->inner *= x->dims[d];
    }
    ctx->state = s;
    ctx->outputs[0].dtype = x->dtype;
    onnx_shape_set(&ctx->outputs[0], x->ndim, x->dims);
    return MMSP_OK;
}

#define SOFTMAX_KERNEL(T, SUF, EXP)                                                                \
    static void softmax_##SUF(const struct softmax *s, const T *x, T *y)                           \
    {                                                                                              \
        for (int64_t o = 0; o < s->outer; o++)                                                     \
            for (int64_t in = 0; in < s->inner; in++) {                                            \
                const T *xr = x + o * s->n * s->inner + in;                                        \
                T *yr = y + o * s->n * s->inner + in;                                              \
                T mx = xr[0];                                                                      \
                for (int64_t i = 1; i < s->n; i++)                                                 \
                    if (xr[i * s->inner] > mx)                                                     \
                        mx = xr[i * s->inner];                                                     \
                T sum = 0;                                                                         \
                for (int64_t i = 0; i < s->n; i++) {                                               \
                    yr[i * s->inner] = EXP(xr[i * s->inner] - mx);                                 \
                    sum += yr[i * s->inner];                                                       \
                }                                                                                  \
                for (int64_t i = 0; i < s->n; i++)                                                 \
                    yr[i * s->inner] /= sum;                                                       \
            }                                                                                      \
    }
SOFTMAX_KERNEL(float, f32, expf)
SOFTMAX_KERNEL(double, f64, exp)

static mmsp_err softmax_run(const struct onnx_run_ctx *ctx)
{
    const struct softmax *s = ctx->state;
    if (s->n == 0)
        return MMSP_OK;
    if (ctx->inputs[0]->dtype == MMSP_DT_FP32)
        softmax_f32(s, ctx->inputs[0]->data, ctx->outputs[0]->data);
    else
        softmax_f64(s, ctx->inputs[0]->data, ctx->outputs[0]->data);
    return MMSP_OK;
}

const struct onnx_op onnx_op_Softmax = {
    .domain = "",
    .op_type = "Softmax",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = softmax_prepare,
    .run = softmax_run,
    .free_state = NULL,
};
