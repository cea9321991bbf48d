/*
 * Comparisons, boolean logic and selection with numpy broadcasting (ai.onnx, opsets 7..17):
 * Equal, Less, Greater (bool output; Equal takes bool, int32, int64 and from opset 11 also
 * float and double; Less/Greater take float and double and from opset 9 also int32 and
 * int64), Not, And, Or (bool only), and Where (opset 9+: a bool condition selecting between
 * two inputs of any one type, strings included; all three broadcast). Bool elements are one
 * byte; any non-zero byte reads as true and outputs are written as 0 or 1.
 * Calls: op.h helpers.
 */
#include <stdint.h>
#include <string.h>

#include "runtime/onnx/op.h"

#define CMP_KERNEL(T, SUF, NAME, EXPR)                                                             \
    static void NAME##_##SUF(void *out, const void *const *in, const int64_t *step, int64_t n,     \
                             const void *arg)                                                      \
    {                                                                                              \
        uint8_t *o = out;                                                                          \
        const T *a = in[0], *b = in[1];                                                            \
        (void)arg;                                                                                 \
        for (int64_t i = 0; i < n; i++) {                                                          \
            T x = a[i * step[0]], y = b[i * step[1]];                                              \
            o[i] = (uint8_t)(EXPR);                                                                \
        }                                                                                          \
    }

#define CMP_FAMILY(T, SUF)                                                                         \
    CMP_KERNEL(T, SUF, eq, x == y)                                                                 \
    CMP_KERNEL(T, SUF, lt, x < y)                                                                  \
    CMP_KERNEL(T, SUF, gt, x > y)

CMP_FAMILY(float, f32)
CMP_FAMILY(double, f64)
CMP_FAMILY(int32_t, i32)
CMP_FAMILY(int64_t, i64)
CMP_KERNEL(uint8_t, b, eq, (x != 0) == (y != 0))
CMP_KERNEL(uint8_t, b, and, (x != 0) && (y != 0))
CMP_KERNEL(uint8_t, b, or, (x != 0) || (y != 0))

enum cmp { CMP_EQ, CMP_LT, CMP_GT, CMP_AND, CMP_OR };

static const mmsp_dtype cmp_dtypes[] = {MMSP_DT_FP32, MMSP_DT_FP64, MMSP_DT_INT32, MMSP_DT_INT64,
                                        MMSP_DT_BOOL};
/* kernels[operation][dtype row]; NULL where the type is never allowed */
static const onnx_bcast_fn cmp_kernels[5][5] = {
    [CMP_EQ] = {eq_f32, eq_f64, eq_i32, eq_i64, eq_b},
    [CMP_LT] = {lt_f32, lt_f64, lt_i32, lt_i64, NULL},
    [CMP_GT] = {gt_f32, gt_f64, gt_i32, gt_i64, NULL},
    [CMP_AND] = {NULL, NULL, NULL, NULL, and_b},
    [CMP_OR] = {NULL, NULL, NULL, NULL, or_b},
};

static enum cmp cmp_of(const char *op_type)
{
    if (strcmp(op_type, "Less") == 0)
        return CMP_LT;
    if (strcmp(op_type, "Greater") == 0)
        return CMP_GT;
    if (strcmp(op_type, "And") == 0)
        return CMP_AND;
    if (strcmp(op_type, "Or") == 0)
        return CMP_OR;
    return CMP_EQ;
}

/* Whether the specification allows dtype t for this comparison at this opset. */
static int cmp_allowed(enum cmp op, mmsp_dtype t, int opset)
{
    int is_float = t == MMSP_DT_FP32 || t == MMSP_DT_FP64;
    int is_int = t == MMSP_DT_INT32 || t == MMSP_DT_INT64;
    switch (op) {
    case CMP_EQ:
        return is_int || t == MMSP_DT_BOOL || (is_float && opset >= 11);
    case CMP_LT:
    case CMP_GT:
        return is_float || (is_int && opset >= 9);
    default:
        return t == MMSP_DT_BOOL;
    }
}

static mmsp_err cmp_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    enum cmp op = cmp_of(ctx->node->op_type);
    size_t k;

    if (!a || !b)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL, "needs two inputs");
    if (a->dtype != b->dtype)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input types %s and %s differ", onnx_dtype_name(a->dtype),
                           onnx_dtype_name(b->dtype));
    for (k = 0; k < sizeof cmp_dtypes / sizeof cmp_dtypes[0]; k++)
        if (cmp_dtypes[k] == a->dtype)
            break;
    if (k == sizeof cmp_dtypes / sizeof cmp_dtypes[0] || !cmp_kernels[op][k] ||
        !cmp_allowed(op, a->dtype, ctx->node->opset))
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported at opset %d", onnx_dtype_name(a->dtype),
                           ctx->node->opset);
    ctx->state = (void *)&cmp_kernels[op][k];
    ctx->outputs[0].dtype = MMSP_DT_BOOL;
    return onnx_shape_broadcast(ctx->node, 2, ctx->inputs, &ctx->outputs[0], ctx->err, ctx->errlen);
}

static mmsp_err cmp_run(const struct onnx_run_ctx *ctx)
{
    const onnx_bcast_fn *fn = ctx->state;
    onnx_bcast_run(ctx->outputs[0], 2, ctx->inputs, *fn, NULL);
    return MMSP_OK;
}

/* The state points into a static table: nothing to free. */
static void no_free(void *state)
{
    (void)state;
}

#define CMP_OP(NAME)                                                                               \
    const struct onnx_op onnx_op_##NAME = {                                                        \
        .domain = "",                                                                              \
        .op_type = #NAME,                                                                          \
        .since_min = 7,                                                                            \
        .since_max = 17,                                                                           \
        .min_inputs = 2,                                                                           \
        .max_inputs = 2,                                                                           \
        .min_outputs = 1,                                                                          \
        .max_outputs = 1,                                                                          \
        .prepare = cmp_prepare,                                                                    \
        .run = cmp_run,                                                                            \
        .free_state = no_free,                                                                     \
    };

CMP_OP(Equal)
CMP_OP(Less)
CMP_OP(Greater)
CMP_OP(And)
CMP_OP(Or)

/* ---- Not ---- */

static mmsp_err not_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    if (!x)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL, "needs an input");
    if (x->dtype != MMSP_DT_BOOL)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported (bool only)", onnx_dtype_name(x->dtype));
    ctx->outputs[0].dtype = MMSP_DT_BOOL;
    onnx_shape_set(&ctx->outputs[0], x->ndim, x->dims);
    return MMSP_OK;
}

static mmsp_err not_run(const struct onnx_run_ctx *ctx)
{
    const uint8_t *a = ctx->inputs[0]->data;
    uint8_t *o = ctx->outputs[0]->data;
    for (int64_t i = 0; i < ctx->inputs[0]->count; i++)
        o[i] = a[i] == 0;
    return MMSP_OK;
}

/* Not-1 is the definition in force through opset 17 (the conformance data imports opset 1). */
const struct onnx_op onnx_op_Not = {
    .domain = "",
    .op_type = "Not",
    .since_min = 1,
    .since_max = 17,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = not_prepare,
    .run = not_run,
    .free_state = no_free,
};

/* ---- Where ---- */

/* Selection by element size: strings are pointers, so they take the 8-byte kernel. */
#define WHERE_KERNEL(T, SUF)                                                                       \
    static void where_##SUF(void *out, const void *const *in, const int64_t *step, int64_t n,      \
                            const void *arg)                                                       \
    {                                                                                              \
        T *o = out;                                                                                \
        const uint8_t *c = in[0];                                                                  \
        const T *x = in[1], *y = in[2];                                                            \
        (void)arg;                                                                                 \
        for (int64_t i = 0; i < n; i++)                                                            \
            o[i] = c[i * step[0]] ? x[i * step[1]] : y[i * step[2]];                               \
    }

WHERE_KERNEL(uint8_t, 1)
WHERE_KERNEL(uint16_t, 2)
WHERE_KERNEL(uint32_t, 4)
WHERE_KERNEL(uint64_t, 8)

static const onnx_bcast_fn where_kernels[4] = {where_1, where_2, where_4, where_8};

static mmsp_err where_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *c = ctx->inputs[0], *x = ctx->inputs[1], *y = ctx->inputs[2];
    size_t es;
    int row;

    if (!c || !x || !y)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "needs three inputs");
    if (c->dtype != MMSP_DT_BOOL)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "condition has type %s, expected bool", onnx_dtype_name(c->dtype));
    if (x->dtype != y->dtype)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input types %s and %s differ", onnx_dtype_name(x->dtype),
                           onnx_dtype_name(y->dtype));
    es = onnx_dtype_size(x->dtype);
    row = es == 1 ? 0 : es == 2 ? 1 : es == 4 ? 2 : es == 8 ? 3 : -1;
    if (row < 0) /* a selection copies bits: any fixed-size type, float16 included */
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(x->dtype));
    ctx->state = (void *)&where_kernels[row];
    ctx->outputs[0].dtype = x->dtype;
    return onnx_shape_broadcast(ctx->node, 3, ctx->inputs, &ctx->outputs[0], ctx->err, ctx->errlen);
}

static mmsp_err where_run(const struct onnx_run_ctx *ctx)
{
    const onnx_bcast_fn *fn = ctx->state;
    onnx_bcast_run(ctx->outputs[0], 3, ctx->inputs, *fn, NULL);
    return MMSP_OK;
}

const struct onnx_op onnx_op_Where = {
    .domain = "",
    .op_type = "Where",
    .since_min = 9,
    .since_max = 17,
    .min_inputs = 3,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = where_prepare,
    .run = where_run,
    .free_state = no_free,
};
