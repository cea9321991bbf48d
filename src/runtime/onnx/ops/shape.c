/*
 * Data-movement ops that keep the bytes and change (or keep) the shape: Identity, Dropout
 * (inference: identity, optional all-true mask), Reshape (shape input constant; 0 copies the
 * input dim unless allowzero, one -1 inferred), Flatten (2-D at axis). ai.onnx opsets 7..17,
 * any element type. Calls: op.h helpers, libc.
 */
#include <string.h>

#include "runtime/onnx/op.h"

static mmsp_err copy_run(const struct onnx_run_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    struct onnx_tensor *y = ctx->outputs[0];
    size_t bytes = (size_t)x->count * onnx_dtype_size(x->dtype);
    if (bytes && y->data != x->data)
        memcpy(y->data, x->data, bytes);
    if (ctx->n_outputs > 1) /* Dropout's mask: nothing dropped */
        memset(ctx->outputs[1]->data, 1, (size_t)ctx->outputs[1]->count);
    return MMSP_OK;
}

static mmsp_err identity_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    if (!x)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL, "no input");
    ctx->outputs[0].dtype = x->dtype;
    onnx_shape_set(&ctx->outputs[0], x->ndim, x->dims);
    return MMSP_OK;
}

/* Training mode with a ratio other than 0 (inputs with data; ratio defaults to 0.5). */
static int dropping(const struct onnx_node *node, const struct onnx_tensor *const *in, size_t n)
{
    double ratio = 0.5;
    (void)node;
    if (n < 3 || !in[2] || !in[2]->data || !*(const unsigned char *)in[2]->data)
        return 0;
    if (n > 1 && in[1]) {
        if (!in[1]->data)
            return 1;
        ratio = in[1]->dtype == MMSP_DT_FP32 ? *(const float *)in[1]->data
                                             : *(const double *)in[1]->data;
    }
    return ratio != 0;
}

static mmsp_err dropout_run(const struct onnx_run_ctx *ctx)
{
    if (dropping(ctx->node, ctx->inputs, ctx->n_inputs))
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "training mode (random dropout) is not supported");
    return copy_run(ctx);
}

/*
 * Dropout at inference. Opsets 7..11: attribute `ratio`, outputs (y, mask). From 12: inputs
 * (data, ratio, training_mode); training_mode must be absent or a constant false (a random
 * mask cannot be served reproducibly), unless ratio is 0; checked at prepare when constant,
 * else at run.
 */
static mmsp_err dropout_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    mmsp_err rc = identity_prepare(ctx);
    if (rc)
        return rc;
    if (x->dtype != MMSP_DT_FP32 && x->dtype != MMSP_DT_FP64)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(x->dtype));
    if (ctx->n_inputs > 2 && ctx->inputs[2]) {
        const struct onnx_tensor *tm = ctx->inputs[2];
        if (tm->dtype != MMSP_DT_BOOL || tm->count != 1)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "training_mode must be a bool scalar");
        if (ctx->n_inputs > 1 && ctx->inputs[1]) {
            const struct onnx_tensor *r = ctx->inputs[1];
            if (r->count != 1 || (r->dtype != MMSP_DT_FP32 && r->dtype != MMSP_DT_FP64))
                return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                                   "ratio must be a float scalar");
        }
        /* a constant training mode with a dropping ratio is refused now, else at run */
        if (tm->data && dropping(ctx->node, ctx->inputs, ctx->n_inputs))
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                               "training mode (random dropout) is not supported");
    }
    if (ctx->n_outputs > 1) {
        ctx->outputs[1].dtype = MMSP_DT_BOOL;
        onnx_shape_set(&ctx->outputs[1], x->ndim, x->dims);
    }
    return MMSP_OK;
}

static mmsp_err reshape_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    int64_t shape[ONNX_MAX_DIMS], allowzero = 0, known = 1;
    size_t n;
    int infer = -1;
    mmsp_err rc;

    if (ctx->n_inputs < 2 || !ctx->inputs[1])
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL, "no shape input");
    rc =
        onnx_const_ints(ctx->node, ctx->inputs[1], shape, ONNX_MAX_DIMS, &n, ctx->err, ctx->errlen);
    if (rc)
        return rc;
    if (ctx->node->opset >= 14 &&
        (rc = onnx_attr_int(ctx->node, "allowzero", 0, &allowzero, ctx->err, ctx->errlen)))
        return rc;
    for (size_t d = 0; d < n; d++) {
        if (shape[d] == 0 && !allowzero) {
            if ((int)d >= x->ndim)
                return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                                   "shape[%zu] is 0 but the input has rank %d", d, x->ndim);
            shape[d] = x->dims[d];
        }
        if (shape[d] == -1) {
            if (infer >= 0)
                return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                                   "more than one -1 in the shape");
            infer = (int)d;
            continue;
        }
        if (shape[d] < 0 || shape[d] > ONNX_MAX_TENSOR_BYTES)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "shape[%zu] is %lld", d, (long long)shape[d]);
        known *= shape[d];
        if (known > ONNX_MAX_TENSOR_BYTES)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_TOO_LARGE,
                               "shape too large");
    }
    if (infer >= 0) {
        if (known == 0 || x->count % known)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                               "cannot infer the -1 dim: %lld elements into blocks of %lld",
                               (long long)x->count, (long long)known);
        shape[infer] = x->count / known;
        known = x->count;
    }
    if (known != x->count)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                           "shape has %lld elements, the input %lld", (long long)known,
                           (long long)x->count);
    ctx->outputs[0].dtype = x->dtype;
    onnx_shape_set(&ctx->outputs[0], (int)n, shape);
    return MMSP_OK;
}

static mmsp_err flatten_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    int64_t axis, dims[2] = {1, 1};
    mmsp_err rc = onnx_attr_int(ctx->node, "axis", 1, &axis, ctx->err, ctx->errlen);
    if (rc)
        return rc;
    if (axis < 0)
        axis += x->ndim;
    if (axis < 0 || axis > x->ndim)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "axis is outside [-%d, %d]", x->ndim, x->ndim);
    for (int d = 0; d < x->ndim; d++)
        dims[d >= axis] *= x->dims[d];
    ctx->outputs[0].dtype = x->dtype;
    onnx_shape_set(&ctx->outputs[0], 2, dims);
    return MMSP_OK;
}

#define SHAPE_OP(NAME, PREP, RUN, MININ, MAXIN, MAXOUT)                                            \
    const struct onnx_op onnx_op_##NAME = {                                                        \
        .domain = "",                                                                              \
        .op_type = #NAME,                                                                          \
        .since_min = 7,                                                                            \
        .since_max = 17,                                                                           \
        .min_inputs = MININ,                                                                       \
        .max_inputs = MAXIN,                                                                       \
        .min_outputs = 1,                                                                          \
        .max_outputs = MAXOUT,                                                                     \
        .prepare = PREP,                                                                           \
        .run = RUN,                                                                                \
        .free_state = NULL,                                                                        \
    };

SHAPE_OP(Identity, identity_prepare, copy_run, 1, 1, 1)
SHAPE_OP(Dropout, dropout_prepare, dropout_run, 1, 3, 2)
SHAPE_OP(Reshape, reshape_prepare, copy_run, 2, 2, 1)
SHAPE_OP(Flatten, flatten_prepare, copy_run, 1, 1, 1)
