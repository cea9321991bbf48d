/*
 * Shape and ConstantOfShape (ai.onnx): the two ends of PyTorch's shape arithmetic.
 *   - Shape (opsets 7..17): the input's dims as a 1-D int64 tensor. From opset 15 the
 *     `start` / `end` attributes pick a range of the dims (negative counts from the end,
 *     both clamped to [0, rank]); before 15 they do not exist and are ignored. The input's
 *     data is never read, so any element type is accepted. Shapes are static per plan, so
 *     the output is known at plan time.
 *   - ConstantOfShape (opsets 9..17): a tensor of the shape given by a constant 1-D int64
 *     input (it decides the output shape, which is static per plan), every element equal to
 *     the one-element `value` tensor attribute (default float 0); its type is the output type.
 * Calls: op.h helpers, libc (memcpy, memset).
 */
#include <stdint.h>
#include <string.h>

#include "runtime/onnx/op.h"

/* Nothing is kept between prepare and run. */
static void no_free(void *state)
{
    (void)state;
}

/* ---- Shape ---- */

/* [start, end) of the dims this node returns, clamped to [0, rank]. */
static mmsp_err shape_range(const struct onnx_node *node, int rank, int *start, int *end, char *err,
                            size_t errlen)
{
    int64_t s = 0, e = rank;
    mmsp_err rc;

    if (node->opset >= 15) {
        if ((rc = onnx_attr_int(node, "start", 0, &s, err, errlen)) ||
            (rc = onnx_attr_int(node, "end", rank, &e, err, errlen)))
            return rc;
    }
    if (s < 0)
        s = s < -(int64_t)rank ? 0 : s + rank;
    if (e < 0)
        e = e < -(int64_t)rank ? 0 : e + rank;
    *start = (int)(s > rank ? rank : s);
    *end = (int)(e > rank ? rank : e);
    if (*end < *start)
        *end = *start;
    return MMSP_OK;
}

static mmsp_err shape_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    int start, end;
    int64_t len;
    mmsp_err rc;

    if (!x)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input 'data' is missing");
    if ((rc = shape_range(ctx->node, x->ndim, &start, &end, ctx->err, ctx->errlen)))
        return rc;
    len = end - start;
    ctx->outputs[0].dtype = MMSP_DT_INT64;
    onnx_shape_set(&ctx->outputs[0], 1, &len);
    return MMSP_OK;
}

static mmsp_err shape_run(const struct onnx_run_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    struct onnx_tensor *y = ctx->outputs[0];
    int start, end;
    mmsp_err rc;

    if ((rc = shape_range(ctx->node, x->ndim, &start, &end, ctx->err, ctx->errlen)))
        return rc;
    if (y->count != end - start)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_INTERNAL,
                           "output has %lld elements, expected %d", (long long)y->count,
                           end - start);
    for (int d = start; d < end; d++)
        ((int64_t *)y->data)[d - start] = x->dims[d];
    return MMSP_OK;
}

/* ---- ConstantOfShape ---- */

/* The `value` attribute, checked: NULL when absent (float 0). */
static mmsp_err cos_value(const struct onnx_node *node, const struct onnx_attr **out, char *err,
                          size_t errlen)
{
    const struct onnx_attr *a = onnx_attr_find(node, "value");
    *out = NULL;
    if (!a)
        return MMSP_OK;
    if (a->type != ONNX_ATTR_TENSOR)
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL,
                           "attribute 'value' has type %d, expected a tensor", (int)a->type);
    if (a->t.count != 1 || !a->t.data)
        return onnx_op_err(node, err, errlen, MMSP_E_BAD_MODEL,
                           "attribute 'value' has %lld elements, expected 1",
                           (long long)a->t.count);
    if (onnx_dtype_size(a->t.dtype) == 0 || a->t.dtype == MMSP_DT_BYTES)
        return onnx_op_err(node, err, errlen, MMSP_E_UNSUPPORTED,
                           "attribute 'value' has unsupported type %s",
                           onnx_dtype_name(a->t.dtype));
    *out = a;
    return MMSP_OK;
}

static mmsp_err cos_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *shape = ctx->inputs[0];
    const struct onnx_attr *value;
    int64_t dims[ONNX_MAX_DIMS];
    size_t n;
    mmsp_err rc;

    if ((rc = cos_value(ctx->node, &value, ctx->err, ctx->errlen)))
        return rc;
    if (!shape)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input 'input' is missing");
    if (!shape->data)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "input 'input' (the shape) is computed at run time; it decides the "
                           "output shape, so it must be a constant (shapes are static per plan)");
    if (shape->dtype != MMSP_DT_INT64)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input 'input' has type %s, expected int64",
                           onnx_dtype_name(shape->dtype));
    if (shape->ndim != 1)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input 'input' has rank %d, expected 1", shape->ndim);
    if ((rc = onnx_const_ints(ctx->node, shape, dims, ONNX_MAX_DIMS, &n, ctx->err, ctx->errlen)))
        return rc;
    for (size_t d = 0; d < n; d++)
        if (dims[d] < 0)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "dim %zu of the shape is %lld", d, (long long)dims[d]);
    ctx->outputs[0].dtype = value ? value->t.dtype : MMSP_DT_FP32;
    onnx_shape_set(&ctx->outputs[0], (int)n, dims);
    return MMSP_OK;
}

static mmsp_err cos_run(const struct onnx_run_ctx *ctx)
{
    struct onnx_tensor *y = ctx->outputs[0];
    const struct onnx_attr *value;
    size_t es = onnx_dtype_size(y->dtype);
    char *o = y->data;
    mmsp_err rc;

    if ((rc = cos_value(ctx->node, &value, ctx->err, ctx->errlen)))
        return rc;
    if (y->count == 0)
        return MMSP_OK;
    if (!value) {
        memset(o, 0, (size_t)y->count * es); /* float 0.0f is all bits zero */
        return MMSP_OK;
    }
    for (int64_t i = 0; i < y->count; i++)
        memcpy(o + (size_t)i * es, value->t.data, es);
    return MMSP_OK;
}

const struct onnx_op onnx_op_Shape = {
    .domain = "",
    .op_type = "Shape",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = shape_prepare,
    .run = shape_run,
    .free_state = no_free,
};

const struct onnx_op onnx_op_ConstantOfShape = {
    .domain = "",
    .op_type = "ConstantOfShape",
    .since_min = 9,
    .since_max = 17,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = cos_prepare,
    .run = cos_run,
    .free_state = no_free,
};
