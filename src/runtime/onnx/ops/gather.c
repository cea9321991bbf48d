/*
 * Gather (ai.onnx, opsets 7..17): picks slabs of `data` along `axis` (default 0) at the
 * positions in `indices` (int32 or int64, any rank); output shape = data.dims[:axis] +
 * indices.dims + data.dims[axis+1:]. Negative indices count from the end (spec from opset 11,
 * accepted at every opset since they have no other meaning). Indices are data: every one is
 * checked in run() and one outside [-dim, dim) fails the run with an error naming the node,
 * before anything is written. Any element type with a fixed element size, strings included.
 * Calls: op.h helpers, libc (malloc, memcpy).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/op.h"

struct gather_state {
    int axis;
};

static mmsp_err gather_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0], *ind = ctx->inputs[1];
    struct gather_state *st;
    int64_t a64, dims[ONNX_MAX_DIMS];
    int axis, nd = 0;
    mmsp_err rc;

    if (!x || !ind)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "inputs 'data' and 'indices' are required");
    if (onnx_dtype_size(x->dtype) == 0)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(x->dtype));
    if (ind->dtype != MMSP_DT_INT64 && ind->dtype != MMSP_DT_INT32)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "indices have type %s, expected int32 or int64",
                           onnx_dtype_name(ind->dtype));
    if ((rc = onnx_attr_int(ctx->node, "axis", 0, &a64, ctx->err, ctx->errlen)) ||
        (rc = onnx_axis_norm(ctx->node, a64, x->ndim, &axis, ctx->err, ctx->errlen)))
        return rc;
    if (x->ndim - 1 + ind->ndim > ONNX_MAX_DIMS)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                           "output rank %d exceeds %d", x->ndim - 1 + ind->ndim, ONNX_MAX_DIMS);
    if (x->dims[axis] == 0 && ind->count > 0)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                           "gathers %lld indices from axis %d of size 0", (long long)ind->count,
                           axis);
    for (int d = 0; d < axis; d++)
        dims[nd++] = x->dims[d];
    for (int d = 0; d < ind->ndim; d++)
        dims[nd++] = ind->dims[d];
    for (int d = axis + 1; d < x->ndim; d++)
        dims[nd++] = x->dims[d];
    st = malloc(sizeof *st);
    if (!st)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    st->axis = axis;
    ctx->state = st;
    ctx->outputs[0].dtype = x->dtype;
    onnx_shape_set(&ctx->outputs[0], nd, dims);
    return MMSP_OK;
}

/* Index j of ind as int64. */
static int64_t index_at(const struct onnx_tensor *ind, int64_t j)
{
    return ind->dtype == MMSP_DT_INT64 ? ((const int64_t *)ind->data)[j]
                                       : ((const int32_t *)ind->data)[j];
}

static mmsp_err gather_run(const struct onnx_run_ctx *ctx)
{
    const struct gather_state *st = ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0], *ind = ctx->inputs[1];
    struct onnx_tensor *y = ctx->outputs[0];
    int64_t outer = 1, dim = x->dims[st->axis];
    size_t slab = onnx_dtype_size(x->dtype);
    const char *src = x->data;
    char *o = y->data;

    for (int64_t j = 0; j < ind->count; j++) {
        int64_t v = index_at(ind, j);
        if (v < -dim || v >= dim)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_INVALID,
                               "index %lld (element %lld of indices) is outside [-%lld, %lld)",
                               (long long)v, (long long)j, (long long)dim, (long long)dim);
    }
    if (y->count == 0)
        return MMSP_OK;
    for (int d = 0; d < st->axis; d++)
        outer *= x->dims[d];
    for (int d = st->axis + 1; d < x->ndim; d++)
        slab *= (size_t)x->dims[d];
    for (int64_t i = 0; i < outer; i++) {
        const char *base = src + (size_t)(i * dim) * slab;
        for (int64_t j = 0; j < ind->count; j++) {
            int64_t v = index_at(ind, j);
            if (v < 0)
                v += dim;
            memcpy(o, base + (size_t)v * slab, slab);
            o += slab;
        }
    }
    return MMSP_OK;
}

const struct onnx_op onnx_op_Gather = {
    .domain = "",
    .op_type = "Gather",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = gather_prepare,
    .run = gather_run,
    .free_state = NULL, /* malloc'd struct gather_state */
};
