/*
 * Constant (ai.onnx opsets 7..17): the output is the node's `value` tensor attribute, or
 * from opset 12 one of value_float(s), value_int(s), value_string(s). The planner folds it,
 * so run() executes once per plan. String values point at the attribute's strings (owned by
 * the model). Calls: op.h helpers, libc.
 */
#include <string.h>

#include "runtime/onnx/op.h"

static const char *const kinds[] = {"value",      "value_float",  "value_floats", "value_int",
                                    "value_ints", "value_string", "value_strings"};

static const struct onnx_attr *constant_attr(const struct onnx_node *node)
{
    for (size_t i = 0; i < node->n_attrs; i++)
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
            if (strcmp(node->attrs[i].name, kinds[k]) == 0)
                return &node->attrs[i];
    return NULL;
}

static mmsp_err constant_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_attr *a = constant_attr(ctx->node);
    struct onnx_tensor *y = &ctx->outputs[0];
    int64_t n;

    if (!a || ctx->node->n_attrs != 1)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "needs exactly one value* attribute");
    switch (a->type) {
    case ONNX_ATTR_TENSOR:
        if (strcmp(a->name, "value") != 0)
            break;
        y->dtype = a->t.dtype;
        onnx_shape_set(y, a->t.ndim, a->t.dims);
        return MMSP_OK;
    case ONNX_ATTR_FLOAT:
    case ONNX_ATTR_INT:
    case ONNX_ATTR_STRING:
        y->dtype = a->type == ONNX_ATTR_FLOAT ? MMSP_DT_FP32
                   : a->type == ONNX_ATTR_INT ? MMSP_DT_INT64
                                              : MMSP_DT_BYTES;
        y->ndim = 0;
        return MMSP_OK;
    case ONNX_ATTR_FLOATS:
    case ONNX_ATTR_INTS:
    case ONNX_ATTR_STRINGS:
        y->dtype = a->type == ONNX_ATTR_FLOATS ? MMSP_DT_FP32
                   : a->type == ONNX_ATTR_INTS ? MMSP_DT_INT64
                                               : MMSP_DT_BYTES;
        n = (int64_t)a->n;
        onnx_shape_set(y, 1, &n);
        return MMSP_OK;
    }
    return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                       "attribute '%s' has the wrong type", a->name);
}

static mmsp_err constant_run(const struct onnx_run_ctx *ctx)
{
    const struct onnx_attr *a = constant_attr(ctx->node);
    struct onnx_tensor *y = ctx->outputs[0];
    size_t bytes = (size_t)y->count * onnx_dtype_size(y->dtype);
    const void *src = NULL;

    switch (a->type) {
    case ONNX_ATTR_TENSOR:
        src = a->t.data;
        break;
    case ONNX_ATTR_FLOAT:
        src = &a->f;
        break;
    case ONNX_ATTR_INT:
        src = &a->i;
        break;
    case ONNX_ATTR_STRING:
        src = &a->s;
        break;
    case ONNX_ATTR_FLOATS:
        src = a->floats;
        break;
    case ONNX_ATTR_INTS:
        src = a->ints;
        break;
    case ONNX_ATTR_STRINGS:
        src = a->strings;
        break;
    }
    if (bytes)
        memcpy(y->data, src, bytes);
    return MMSP_OK;
}

const struct onnx_op onnx_op_Constant = {
    .domain = "",
    .op_type = "Constant",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 0,
    .max_inputs = 0,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = constant_prepare,
    .run = constant_run,
    .free_state = NULL,
};
