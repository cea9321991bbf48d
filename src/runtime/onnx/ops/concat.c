/*
 * Concat and Split (ai.onnx, opsets 7..17): join inputs along an axis, or cut one input into
 * pieces along an axis. Both are block copies: with `outer` = product of the dims before the
 * axis and `inner` = bytes of one slab after it, each piece moves `outer` blocks. Opset
 * differences: Concat's axis may be negative from 11 (accepted at every opset: a negative
 * axis has no other meaning). Split's sizes are the `split` attribute before 13 and an
 * optional constant int64 input from 13 (it decides the output shapes, which are static per
 * plan); without sizes the axis is cut into equal parts (it must divide evenly; opset 18's
 * num_outputs is out of range). Any element type with a fixed element size, strings included.
 * Calls: op.h helpers, libc (malloc, memcpy).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/op.h"

/* The axis of this node, normalised for `rank`. */
static mmsp_err read_axis(struct onnx_prepare_ctx *ctx, int64_t def, int rank, int *axis)
{
    int64_t a;
    mmsp_err rc = onnx_attr_int(ctx->node, "axis", def, &a, ctx->err, ctx->errlen);
    if (rc)
        return rc;
    return onnx_axis_norm(ctx->node, a, rank, axis, ctx->err, ctx->errlen);
}

/* Product of dims [0, axis) and byte size of one slab of dims (axis, ndim). */
static void outer_inner(const struct onnx_tensor *t, int axis, int64_t *outer, int64_t *inner)
{
    *outer = 1;
    *inner = (int64_t)onnx_dtype_size(t->dtype);
    for (int d = 0; d < axis; d++)
        *outer *= t->dims[d];
    for (int d = axis + 1; d < t->ndim; d++)
        *inner *= t->dims[d];
}

/* ---- Concat ---- */

/* Resolved axis (int in a malloc'd block). */
struct concat_state {
    int axis;
};

static mmsp_err concat_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x0 = ctx->n_inputs ? ctx->inputs[0] : NULL;
    struct concat_state *st;
    int64_t dims[ONNX_MAX_DIMS];
    int axis;
    mmsp_err rc;

    if (!x0)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input 1 is missing");
    if (onnx_dtype_size(x0->dtype) == 0)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(x0->dtype));
    if (!onnx_attr_find(ctx->node, "axis"))
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "attribute 'axis' is required");
    if ((rc = read_axis(ctx, 0, x0->ndim, &axis)))
        return rc;
    for (int d = 0; d < x0->ndim; d++)
        dims[d] = x0->dims[d];
    for (size_t k = 1; k < ctx->n_inputs; k++) {
        const struct onnx_tensor *x = ctx->inputs[k];
        if (!x)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "input %zu is missing", k + 1);
        if (x->dtype != x0->dtype)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "input %zu has type %s, input 1 %s", k + 1,
                               onnx_dtype_name(x->dtype), onnx_dtype_name(x0->dtype));
        if (x->ndim != x0->ndim)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                               "input %zu has rank %d, input 1 rank %d", k + 1, x->ndim, x0->ndim);
        for (int d = 0; d < x->ndim; d++) {
            if (d != axis && x->dims[d] != x0->dims[d])
                return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                                   "input %zu has dim %d = %lld, input 1 %lld", k + 1, d,
                                   (long long)x->dims[d], (long long)x0->dims[d]);
        }
        /* each dim <= 2^31 (counted by the planner) and at most 64 inputs: no overflow */
        dims[axis] += x->dims[axis];
    }
    st = malloc(sizeof *st);
    if (!st)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    st->axis = axis;
    ctx->state = st;
    ctx->outputs[0].dtype = x0->dtype;
    onnx_shape_set(&ctx->outputs[0], x0->ndim, dims);
    return MMSP_OK;
}

static mmsp_err concat_run(const struct onnx_run_ctx *ctx)
{
    const struct concat_state *st = ctx->state;
    struct onnx_tensor *y = ctx->outputs[0];
    int64_t outer, slab;
    char *o = y->data;

    if (y->count == 0)
        return MMSP_OK;
    outer_inner(y, st->axis, &outer, &slab);
    for (int64_t i = 0; i < outer; i++) {
        for (size_t k = 0; k < ctx->n_inputs; k++) {
            const struct onnx_tensor *x = ctx->inputs[k];
            size_t bytes = (size_t)(x->dims[st->axis] * slab);
            if (!bytes)
                continue;
            memcpy(o, (const char *)x->data + (size_t)i * bytes, bytes);
            o += bytes;
        }
    }
    return MMSP_OK;
}

/* ---- Split ---- */

struct split_state {
    int axis;
    size_t n;
    int64_t size[ONNX_MAX_NODE_IO]; /* length of each piece along the axis */
};

/* The sizes given by the node into sizes[0..*n); *given = 0 when it gives none. */
static mmsp_err split_sizes(struct onnx_prepare_ctx *ctx, int64_t *sizes, size_t *n, int *given)
{
    const struct onnx_node *node = ctx->node;
    const int64_t *attr;
    size_t n_attr;
    int present;
    mmsp_err rc;

    rc = onnx_attr_ints(node, "split", &attr, &n_attr, &present, ctx->err, ctx->errlen);
    if (rc)
        return rc;
    *n = 0;
    *given = 0;
    if (node->opset < 13) {
        if (ctx->n_inputs > 1)
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "takes one input before opset 13 (split is an attribute), got %zu",
                               ctx->n_inputs);
        if (!present)
            return MMSP_OK;
        if (n_attr > ONNX_MAX_NODE_IO)
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "attribute 'split' has %zu entries, at most %d allowed", n_attr,
                               ONNX_MAX_NODE_IO);
        if (n_attr)
            memcpy(sizes, attr, n_attr * sizeof *sizes);
        *n = n_attr;
        *given = 1;
        return MMSP_OK;
    }
    if (present)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "attribute 'split' is an input from opset 13 (model opset %d)",
                           node->opset);
    if (ctx->n_inputs < 2 || !ctx->inputs[1])
        return MMSP_OK;
    if (!ctx->inputs[1]->data)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "input 'split' is computed at run time; it decides the output "
                           "shapes, so it must be a constant (shapes are static per plan)");
    if (ctx->inputs[1]->ndim != 1)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input 'split' has rank %d, expected 1", ctx->inputs[1]->ndim);
    rc = onnx_const_ints(node, ctx->inputs[1], sizes, ONNX_MAX_NODE_IO, n, ctx->err, ctx->errlen);
    if (rc)
        return rc;
    *given = 1;
    return MMSP_OK;
}

static mmsp_err split_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->n_inputs ? ctx->inputs[0] : NULL;
    struct split_state *st;
    int64_t sizes[ONNX_MAX_NODE_IO], sum = 0, dim;
    size_t n, nout = ctx->n_outputs;
    int given, axis;
    mmsp_err rc;

    if (!x)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input 'input' is missing");
    if (onnx_dtype_size(x->dtype) == 0)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(x->dtype));
    if (nout < 1 || nout > ONNX_MAX_NODE_IO)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "%zu outputs, expected 1..%d", nout, ONNX_MAX_NODE_IO);
    if ((rc = read_axis(ctx, 0, x->ndim, &axis)) || (rc = split_sizes(ctx, sizes, &n, &given)))
        return rc;
    dim = x->dims[axis];
    if (given) {
        if (n != nout)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "%zu split sizes for %zu outputs", n, nout);
        for (size_t k = 0; k < n; k++) {
            if (sizes[k] < 0 || sizes[k] > dim)
                return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                                   "split size %zu is %lld, axis %d has %lld", k,
                                   (long long)sizes[k], axis, (long long)dim);
            sum += sizes[k]; /* each <= dim <= 2^31, at most 64: no overflow */
        }
        if (sum != dim)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                               "split sizes add up to %lld, axis %d has %lld", (long long)sum, axis,
                               (long long)dim);
    } else {
        if (dim % (int64_t)nout != 0)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                               "axis %d of size %lld does not split into %zu equal parts", axis,
                               (long long)dim, nout);
        for (size_t k = 0; k < nout; k++)
            sizes[k] = dim / (int64_t)nout;
    }
    st = malloc(sizeof *st);
    if (!st)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    st->axis = axis;
    st->n = nout;
    for (size_t k = 0; k < nout; k++) {
        st->size[k] = sizes[k];
        ctx->outputs[k].dtype = x->dtype;
        onnx_shape_set(&ctx->outputs[k], x->ndim, x->dims);
        ctx->outputs[k].dims[axis] = sizes[k];
    }
    ctx->state = st;
    return MMSP_OK;
}

static mmsp_err split_run(const struct onnx_run_ctx *ctx)
{
    const struct split_state *st = ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0];
    int64_t outer, slab, before = 0;
    const char *src = x->data;

    if (x->count == 0)
        return MMSP_OK;
    outer_inner(x, st->axis, &outer, &slab);
    for (size_t k = 0; k < st->n && k < ctx->n_outputs; k++) {
        struct onnx_tensor *y = ctx->outputs[k];
        size_t bytes = (size_t)(st->size[k] * slab), row = (size_t)(x->dims[st->axis] * slab);
        if (y && bytes) {
            char *o = y->data;
            for (int64_t i = 0; i < outer; i++)
                memcpy(o + (size_t)i * bytes, src + (size_t)i * row + (size_t)(before * slab),
                       bytes);
        }
        before += st->size[k];
    }
    return MMSP_OK;
}

const struct onnx_op onnx_op_Concat = {
    .domain = "",
    .op_type = "Concat",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 1,
    .max_inputs = ONNX_MAX_NODE_IO,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = concat_prepare,
    .run = concat_run,
    .free_state = NULL, /* malloc'd struct concat_state */
};

const struct onnx_op onnx_op_Split = {
    .domain = "",
    .op_type = "Split",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 1,
    .max_inputs = 2, /* split sizes as input from opset 13; prepare refuses it before */
    .min_outputs = 1,
    .max_outputs = ONNX_MAX_NODE_IO,
    .prepare = split_prepare,
    .run = split_run,
    .free_state = NULL, /* malloc'd struct split_state */
};
