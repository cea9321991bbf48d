/*
 * Variadic elementwise operators with numpy broadcasting of all inputs: Min, Max, Sum, Mean
 * (ai.onnx, opsets 7..17; 1 to ONNX_MAX_NODE_IO inputs of one type). Sum and Mean take float,
 * double, float16 and bfloat16 (computed in float, rounded back per pair); Min and Max those,
 * and from opset 12 every integer type (int8..int64, uint8..uint64). Min/Max propagate NaN like
 * numpy. The output is built pairwise in place: out = f(in0, in1), then out = f(out, ink) for each
 * further input, so any number of inputs needs no scratch memory; Mean divides the sum by the input
 * count at the end. Calls: op.h helpers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/op.h"

enum vari { VARI_MIN, VARI_MAX, VARI_SUM, VARI_MEAN };

#define VARI_KERNEL(T, SUF, NAME, EXPR)                                                            \
    static void NAME##_##SUF(void *out, const void *const *in, const int64_t *step, int64_t n,     \
                             const void *arg)                                                      \
    {                                                                                              \
        T *o = out;                                                                                \
        const T *a = in[0], *b = in[1];                                                            \
        (void)arg;                                                                                 \
        for (int64_t i = 0; i < n; i++) {                                                          \
            T x = a[i * step[0]], y = b[i * step[1]];                                              \
            o[i] = EXPR;                                                                           \
        }                                                                                          \
    }

/* x != x is NaN: the NaN wins, as in numpy's minimum/maximum. */
#define FLOAT_VARI(T, SUF)                                                                         \
    VARI_KERNEL(T, SUF, min, (x != x || x < y) ? x : y)                                            \
    VARI_KERNEL(T, SUF, max, (x != x || x > y) ? x : y)                                            \
    VARI_KERNEL(T, SUF, sum, x + y)

FLOAT_VARI(float, f32)
FLOAT_VARI(double, f64)

/*
 * float16 / bfloat16: compared (summed) in float. Min/Max pick one input's bits unchanged;
 * a sum is rounded back once per pair.
 */
#define HALF_VARI(SUF, TO_F, FROM_F)                                                               \
    VARI_KERNEL(uint16_t, SUF, min, (TO_F(x) != TO_F(x) || TO_F(x) < TO_F(y)) ? x : y)             \
    VARI_KERNEL(uint16_t, SUF, max, (TO_F(x) != TO_F(x) || TO_F(x) > TO_F(y)) ? x : y)             \
    VARI_KERNEL(uint16_t, SUF, sum, FROM_F(TO_F(x) + TO_F(y)))

#define HALF_FROM_F(f) onnx_half_from_double((double)(f))
HALF_VARI(f16, onnx_half_to_float, HALF_FROM_F)
HALF_VARI(bf16, onnx_bf16_to_float, onnx_bf16_from_float)

#define INT_VARI(T, SUF)                                                                           \
    VARI_KERNEL(T, SUF, min, x < y ? x : y)                                                        \
    VARI_KERNEL(T, SUF, max, x > y ? x : y)

INT_VARI(int8_t, i8)
INT_VARI(int16_t, i16)
INT_VARI(int32_t, i32)
INT_VARI(int64_t, i64)
INT_VARI(uint8_t, u8)
INT_VARI(uint16_t, u16)
INT_VARI(uint32_t, u32)
INT_VARI(uint64_t, u64)

/* One-input case: a broadcasting copy, by element size. */
#define COPY_KERNEL(T, SUF)                                                                        \
    static void copy_##SUF(void *out, const void *const *in, const int64_t *step, int64_t n,       \
                           const void *arg)                                                        \
    {                                                                                              \
        T *o = out;                                                                                \
        const T *a = in[0];                                                                        \
        (void)arg;                                                                                 \
        for (int64_t i = 0; i < n; i++)                                                            \
            o[i] = a[i * step[0]];                                                                 \
    }

COPY_KERNEL(uint8_t, 1)
COPY_KERNEL(uint16_t, 2)
COPY_KERNEL(uint32_t, 4)
COPY_KERNEL(uint64_t, 8)

static const mmsp_dtype vari_dtypes[] = {
    MMSP_DT_FP32,  MMSP_DT_FP64,  MMSP_DT_FP16,  MMSP_DT_BF16,   MMSP_DT_INT8,   MMSP_DT_INT16,
    MMSP_DT_INT32, MMSP_DT_INT64, MMSP_DT_UINT8, MMSP_DT_UINT16, MMSP_DT_UINT32, MMSP_DT_UINT64};
#define N_VARI_DTYPES (sizeof vari_dtypes / sizeof vari_dtypes[0])

static const onnx_bcast_fn vari_kernels[4][N_VARI_DTYPES] = {
    [VARI_MIN] = {min_f32, min_f64, min_f16, min_bf16, min_i8, min_i16, min_i32, min_i64, min_u8,
                  min_u16, min_u32, min_u64},
    [VARI_MAX] = {max_f32, max_f64, max_f16, max_bf16, max_i8, max_i16, max_i32, max_i64, max_u8,
                  max_u16, max_u32, max_u64},
    [VARI_SUM] = {sum_f32, sum_f64, sum_f16, sum_bf16},
    [VARI_MEAN] = {sum_f32, sum_f64, sum_f16, sum_bf16},
};

/* Op state: the pairwise kernel, the copy kernel, and which operation (for Mean). */
struct vari_state {
    onnx_bcast_fn pair, copy;
    enum vari op;
};

static enum vari vari_of(const char *op_type)
{
    if (strcmp(op_type, "Min") == 0)
        return VARI_MIN;
    if (strcmp(op_type, "Max") == 0)
        return VARI_MAX;
    if (strcmp(op_type, "Sum") == 0)
        return VARI_SUM;
    return VARI_MEAN;
}

static onnx_bcast_fn copy_of(size_t es)
{
    switch (es) {
    case 1:
        return copy_1;
    case 2:
        return copy_2;
    case 4:
        return copy_4;
    default:
        return copy_8;
    }
}

static mmsp_err vari_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_node *node = ctx->node;
    enum vari op = vari_of(node->op_type);
    const struct onnx_tensor *x0 = ctx->n_inputs ? ctx->inputs[0] : NULL;
    struct vari_state *st;
    size_t k;

    if (!x0)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "needs at least one input");
    for (k = 0; k < ctx->n_inputs; k++) {
        if (!ctx->inputs[k])
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL, "input %zu is absent",
                               k);
        if (ctx->inputs[k]->dtype != x0->dtype)
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "input types %s and %s differ", onnx_dtype_name(x0->dtype),
                               onnx_dtype_name(ctx->inputs[k]->dtype));
    }
    for (k = 0; k < N_VARI_DTYPES; k++)
        if (vari_dtypes[k] == x0->dtype)
            break;
    int int_type = k >= 4; /* after float, double, float16, bfloat16 in vari_dtypes */
    if (k == N_VARI_DTYPES || !vari_kernels[op][k] || (int_type && node->opset < 12))
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported at opset %d", onnx_dtype_name(x0->dtype),
                           node->opset);
    st = calloc(1, sizeof *st);
    if (!st)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    ctx->state = st;
    st->pair = vari_kernels[op][k];
    st->copy = copy_of(onnx_dtype_size(x0->dtype));
    st->op = op;
    ctx->outputs[0].dtype = x0->dtype;
    return onnx_shape_broadcast(node, ctx->n_inputs, ctx->inputs, &ctx->outputs[0], ctx->err,
                                ctx->errlen);
}

static mmsp_err vari_run(const struct onnx_run_ctx *ctx)
{
    const struct vari_state *st = ctx->state;
    struct onnx_tensor *out = ctx->outputs[0];
    const struct onnx_tensor *pair[2];

    if (ctx->n_inputs == 1) {
        onnx_bcast_run(out, 1, ctx->inputs, st->copy, NULL);
    } else {
        onnx_bcast_run(out, 2, ctx->inputs, st->pair, NULL);
        pair[0] = out; /* same shape as out: read and written at the same index */
        for (size_t k = 2; k < ctx->n_inputs; k++) {
            pair[1] = ctx->inputs[k];
            onnx_bcast_run(out, 2, pair, st->pair, NULL);
        }
    }
    if (st->op == VARI_MEAN) {
        if (out->dtype == MMSP_DT_FP32) {
            float *o = out->data, n = (float)ctx->n_inputs;
            for (int64_t i = 0; i < out->count; i++)
                o[i] /= n;
        } else if (out->dtype == MMSP_DT_FP16) {
            uint16_t *o = out->data;
            for (int64_t i = 0; i < out->count; i++)
                o[i] = onnx_half_from_double(onnx_half_to_float(o[i]) / (float)ctx->n_inputs);
        } else if (out->dtype == MMSP_DT_BF16) {
            uint16_t *o = out->data;
            for (int64_t i = 0; i < out->count; i++)
                o[i] = onnx_bf16_from_float(onnx_bf16_to_float(o[i]) / (float)ctx->n_inputs);
        } else {
            double *o = out->data, n = (double)ctx->n_inputs;
            for (int64_t i = 0; i < out->count; i++)
                o[i] /= n;
        }
    }
    return MMSP_OK;
}

#define VARI_OP(NAME)                                                                              \
    const struct onnx_op onnx_op_##NAME = {                                                        \
        .domain = "",                                                                              \
        .op_type = #NAME,                                                                          \
        .since_min = 7,                                                                            \
        .since_max = 17,                                                                           \
        .min_inputs = 1,                                                                           \
        .max_inputs = ONNX_MAX_NODE_IO,                                                            \
        .min_outputs = 1,                                                                          \
        .max_outputs = 1,                                                                          \
        .prepare = vari_prepare,                                                                   \
        .run = vari_run,                                                                           \
        .free_state = NULL,                                                                        \
    };

VARI_OP(Min)
VARI_OP(Max)
VARI_OP(Sum)
VARI_OP(Mean)
