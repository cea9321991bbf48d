/*
 * Squeeze and Unsqueeze (ai.onnx, opsets 7..17): remove or insert dimensions of size 1. The
 * data is not reordered, so run() is one copy. Opset differences: the axes are an attribute
 * before 13 and an optional (Squeeze) / required (Unsqueeze) int64 input from 13, which must
 * be constant because it decides the output shape (shapes are static per plan, docs/onnx.md);
 * negative axes count from the end (Squeeze: of the input rank, Unsqueeze: of the output
 * rank). Squeeze without axes removes every dimension of size 1. Any element type with a
 * fixed element size, strings included (they are pointers). Calls: op.h helpers only.
 */
#include <stdint.h>
#include <string.h>

#include "runtime/onnx/op.h"

/*
 * The axes of this node into axes[0..*n): from the attribute before opset 13, from input 1
 * (constant) from 13. *given says whether the node names axes at all (Squeeze may not).
 */
static mmsp_err read_axes(struct onnx_prepare_ctx *ctx, int64_t *axes, size_t *n, int *given)
{
    const struct onnx_node *node = ctx->node;
    const int64_t *attr;
    size_t n_attr;
    int present;
    mmsp_err rc;

    rc = onnx_attr_ints(node, "axes", &attr, &n_attr, &present, ctx->err, ctx->errlen);
    if (rc)
        return rc;
    *n = 0;
    *given = 0;
    if (node->opset < 13) {
        if (ctx->n_inputs > 1)
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "takes one input before opset 13 (axes is an attribute), got %zu",
                               ctx->n_inputs);
        if (!present)
            return MMSP_OK;
        if (n_attr > ONNX_MAX_DIMS)
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "%zu axes, at most %d allowed", n_attr, ONNX_MAX_DIMS);
        memcpy(axes, attr, n_attr * sizeof *axes);
        *n = n_attr;
        *given = 1;
        return MMSP_OK;
    }
    if (present)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "attribute 'axes' is an input from opset 13 (model opset %d)",
                           node->opset);
    if (ctx->n_inputs < 2 || !ctx->inputs[1])
        return MMSP_OK;
    if (!ctx->inputs[1]->data)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "input 'axes' is computed at run time; it decides the output shape, "
                           "so it must be a constant (shapes are static per plan)");
    if (ctx->inputs[1]->ndim > 1)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input 'axes' has rank %d, expected 1", ctx->inputs[1]->ndim);
    rc = onnx_const_ints(node, ctx->inputs[1], axes, ONNX_MAX_DIMS, n, ctx->err, ctx->errlen);
    if (rc)
        return rc;
    *given = 1;
    return MMSP_OK;
}

/* Checks that data is present and of a type this family can move. */
static mmsp_err check_data(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->n_inputs ? ctx->inputs[0] : NULL;
    if (!x)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input 'data' is missing");
    if (onnx_dtype_size(x->dtype) == 0)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(x->dtype));
    return MMSP_OK;
}

/* Output = input dims without the listed axes (or without every 1 when none are listed). */
static mmsp_err squeeze_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x;
    int64_t axes[ONNX_MAX_DIMS], dims[ONNX_MAX_DIMS];
    int drop[ONNX_MAX_DIMS] = {0};
    size_t n;
    int given, nd = 0;
    mmsp_err rc;

    if ((rc = check_data(ctx)) || (rc = read_axes(ctx, axes, &n, &given)))
        return rc;
    x = ctx->inputs[0];
    if (!given || n == 0) {
        for (int d = 0; d < x->ndim; d++)
            drop[d] = x->dims[d] == 1;
    }
    for (size_t i = 0; i < n; i++) {
        int a;
        if ((rc = onnx_axis_norm(ctx->node, axes[i], x->ndim, &a, ctx->err, ctx->errlen)))
            return rc;
        if (drop[a])
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "axis %lld is listed twice", (long long)axes[i]);
        if (x->dims[a] != 1)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                               "cannot squeeze axis %d of size %lld", a, (long long)x->dims[a]);
        drop[a] = 1;
    }
    for (int d = 0; d < x->ndim; d++)
        if (!drop[d])
            dims[nd++] = x->dims[d];
    ctx->outputs[0].dtype = x->dtype;
    onnx_shape_set(&ctx->outputs[0], nd, dims);
    return MMSP_OK;
}

/* Output rank = input rank + number of axes; listed axes (of the output) get size 1. */
static mmsp_err unsqueeze_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x;
    int64_t axes[ONNX_MAX_DIMS], dims[ONNX_MAX_DIMS];
    int ins[ONNX_MAX_DIMS] = {0};
    size_t n;
    int given, rank, src = 0;
    mmsp_err rc;

    if ((rc = check_data(ctx)) || (rc = read_axes(ctx, axes, &n, &given)))
        return rc;
    x = ctx->inputs[0];
    if (!given)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "axes are required (%s)",
                           ctx->node->opset < 13 ? "attribute 'axes'" : "input 2");
    if ((size_t)x->ndim + n > ONNX_MAX_DIMS)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                           "output rank %zu exceeds %d", (size_t)x->ndim + n, ONNX_MAX_DIMS);
    rank = x->ndim + (int)n;
    for (size_t i = 0; i < n; i++) {
        int a;
        if ((rc = onnx_axis_norm(ctx->node, axes[i], rank, &a, ctx->err, ctx->errlen)))
            return rc;
        if (ins[a])
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "axis %lld is listed twice", (long long)axes[i]);
        ins[a] = 1;
    }
    for (int d = 0; d < rank; d++)
        dims[d] = ins[d] ? 1 : x->dims[src++];
    ctx->outputs[0].dtype = x->dtype;
    onnx_shape_set(&ctx->outputs[0], rank, dims);
    return MMSP_OK;
}

/* Same elements in the same order: one copy. */
static mmsp_err copy_run(const struct onnx_run_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    struct onnx_tensor *y = ctx->outputs[0];
    size_t bytes = (size_t)y->count * onnx_dtype_size(y->dtype);
    if (x->count != y->count)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_INTERNAL,
                           "input has %lld elements, output %lld", (long long)x->count,
                           (long long)y->count);
    if (bytes && y->data != x->data)
        memmove(y->data, x->data, bytes);
    return MMSP_OK;
}

/* Nothing is kept between prepare and run. */
static void no_free(void *state)
{
    (void)state;
}

const struct onnx_op onnx_op_Squeeze = {
    .domain = "",
    .op_type = "Squeeze",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 1,
    .max_inputs = 2, /* axes input from opset 13; prepare refuses it before */
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = squeeze_prepare,
    .run = copy_run,
    .free_state = no_free,
};

const struct onnx_op onnx_op_Unsqueeze = {
    .domain = "",
    .op_type = "Unsqueeze",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 1,
    .max_inputs = 2, /* axes input from opset 13 (required there); prepare checks */
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = unsqueeze_prepare,
    .run = copy_run,
    .free_state = no_free,
};
