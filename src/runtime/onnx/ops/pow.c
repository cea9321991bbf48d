/*
 * Pow (ai.onnx, opsets 7..17) with numpy broadcasting. Opsets 7..11: base and exponent of one
 * float type (float, double). From 12: base float, double, int32 or int64; exponent any of
 * float, double, int8..int64, uint8..uint64; the output has the base's type.
 * Float bases are computed with pow() in double. Integer bases with an integer exponent use
 * exponentiation by squaring in unsigned arithmetic (wraps like numpy, no undefined
 * behaviour); a negative exponent gives 1 for base 1, +-1 for base -1 and 0 otherwise
 * (the truncated real result; base 0 gives 0 instead of numpy's error). Integer bases with a
 * float exponent take pow() in double, converted with saturation (NaN gives 0).
 * Calls: op.h helpers, libm.
 */
#include <math.h>
#include <stdint.h>

#include "runtime/onnx/op.h"

static uint64_t ipow_u(uint64_t b, uint64_t e)
{
    uint64_t r = 1;
    while (e) {
        if (e & 1)
            r *= b;
        b *= b;
        e >>= 1;
    }
    return r;
}

/* Integer base, signed integer exponent; the result wraps modulo 2^64. */
static int64_t ipow_s(int64_t x, int64_t e)
{
    if (e >= 0)
        return (int64_t)ipow_u((uint64_t)x, (uint64_t)e);
    if (x == 1)
        return 1;
    if (x == -1)
        return (e & 1) ? -1 : 1;
    return 0;
}

static int64_t sat_i64(double v)
{
    if (v != v)
        return 0;
    if (v >= 9223372036854775807.0)
        return INT64_MAX;
    if (v <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

static int32_t sat_i32(double v)
{
    if (v != v)
        return 0;
    if (v >= 2147483647.0)
        return INT32_MAX;
    if (v <= -2147483648.0)
        return INT32_MIN;
    return (int32_t)v;
}

/* Element rules by (base kind, exponent kind): F float, S signed int, U unsigned int. */
#define POW_FF(TB, x, y) ((TB)pow((double)(x), (double)(y)))
#define POW_FS(TB, x, y) POW_FF(TB, x, y)
#define POW_FU(TB, x, y) POW_FF(TB, x, y)
#define POW_IF_i32(x, y) sat_i32(pow((double)(x), (double)(y)))
#define POW_IF_i64(x, y) sat_i64(pow((double)(x), (double)(y)))
#define POW_IS(TB, x, y) ((TB)ipow_s((int64_t)(x), (int64_t)(y)))
#define POW_IU(TB, x, y) ((TB)(int64_t)ipow_u((uint64_t)(int64_t)(x), (uint64_t)(y)))

#define POW_KERNEL(TB, SB, TE, SE, EXPR)                                                           \
    static void pow_##SB##_##SE(void *out, const void *const *in, const int64_t *step, int64_t n,  \
                                const void *arg)                                                   \
    {                                                                                              \
        TB *o = out;                                                                               \
        const TB *a = in[0];                                                                       \
        const TE *b = in[1];                                                                       \
        (void)arg;                                                                                 \
        for (int64_t i = 0; i < n; i++) {                                                          \
            TB x = a[i * step[0]];                                                                 \
            TE y = b[i * step[1]];                                                                 \
            o[i] = EXPR;                                                                           \
        }                                                                                          \
    }

/* X(ctype, suffix, kind) for every exponent type, in the order of exp_dtypes[] */
#define EXP_TYPES(X, TB, SB, BK)                                                                   \
    X(TB, SB, BK, float, f32, F)                                                                   \
    X(TB, SB, BK, double, f64, F)                                                                  \
    X(TB, SB, BK, int8_t, i8, S)                                                                   \
    X(TB, SB, BK, int16_t, i16, S)                                                                 \
    X(TB, SB, BK, int32_t, i32, S)                                                                 \
    X(TB, SB, BK, int64_t, i64, S)                                                                 \
    X(TB, SB, BK, uint8_t, u8, U)                                                                  \
    X(TB, SB, BK, uint16_t, u16, U)                                                                \
    X(TB, SB, BK, uint32_t, u32, U)                                                                \
    X(TB, SB, BK, uint64_t, u64, U)

#define FLOAT_BASE(TB, SB, BK, TE, SE, EK) POW_KERNEL(TB, SB, TE, SE, POW_F##EK(TB, x, y))
#define INT_BASE_F(TB, SB, TE, SE)         POW_KERNEL(TB, SB, TE, SE, POW_IF_##SB(x, y))
#define INT_BASE_S(TB, SB, TE, SE)         POW_KERNEL(TB, SB, TE, SE, POW_IS(TB, x, y))
#define INT_BASE_U(TB, SB, TE, SE)         POW_KERNEL(TB, SB, TE, SE, POW_IU(TB, x, y))
#define INT_BASE(TB, SB, BK, TE, SE, EK)   INT_BASE_##EK(TB, SB, TE, SE)

EXP_TYPES(FLOAT_BASE, float, f32, F)
EXP_TYPES(FLOAT_BASE, double, f64, F)
EXP_TYPES(INT_BASE, int32_t, i32, I)
EXP_TYPES(INT_BASE, int64_t, i64, I)

#define KERNEL_NAME(TB, SB, BK, TE, SE, EK) pow_##SB##_##SE,

static const mmsp_dtype base_dtypes[] = {MMSP_DT_FP32, MMSP_DT_FP64, MMSP_DT_INT32, MMSP_DT_INT64};
static const mmsp_dtype exp_dtypes[] = {
    MMSP_DT_FP32,  MMSP_DT_FP64,  MMSP_DT_INT8,   MMSP_DT_INT16,  MMSP_DT_INT32,
    MMSP_DT_INT64, MMSP_DT_UINT8, MMSP_DT_UINT16, MMSP_DT_UINT32, MMSP_DT_UINT64};
static const onnx_bcast_fn pow_kernels[4][10] = {
    {EXP_TYPES(KERNEL_NAME, float, f32, F)},
    {EXP_TYPES(KERNEL_NAME, double, f64, F)},
    {EXP_TYPES(KERNEL_NAME, int32_t, i32, I)},
    {EXP_TYPES(KERNEL_NAME, int64_t, i64, I)},
};

static int row_of(const mmsp_dtype *tab, size_t n, mmsp_dtype t)
{
    for (size_t i = 0; i < n; i++)
        if (tab[i] == t)
            return (int)i;
    return -1;
}

/* Picks the kernel for (base, exponent) types allowed at the node's opset. */
static mmsp_err pow_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    int rb, re;

    if (!a || !b)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL, "needs two inputs");
    rb = row_of(base_dtypes, 4, a->dtype);
    re = row_of(exp_dtypes, 10, b->dtype);
    if (ctx->node->opset < 12) {
        if (a->dtype != b->dtype || (a->dtype != MMSP_DT_FP32 && a->dtype != MMSP_DT_FP64))
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                               "types %s ^ %s are not supported before opset 12 (one float "
                               "type for both)",
                               onnx_dtype_name(a->dtype), onnx_dtype_name(b->dtype));
    }
    if (rb < 0 || re < 0)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "types %s ^ %s are not supported", onnx_dtype_name(a->dtype),
                           onnx_dtype_name(b->dtype));
    ctx->state = (void *)&pow_kernels[rb][re];
    ctx->outputs[0].dtype = a->dtype;
    return onnx_shape_broadcast(ctx->node, 2, ctx->inputs, &ctx->outputs[0], ctx->err, ctx->errlen);
}

static mmsp_err pow_run(const struct onnx_run_ctx *ctx)
{
    const onnx_bcast_fn *fn = ctx->state;
    onnx_bcast_run(ctx->outputs[0], 2, ctx->inputs, *fn, NULL);
    return MMSP_OK;
}

/* The state points into the static kernel table: nothing to free. */
static void no_free(void *state)
{
    (void)state;
}

const struct onnx_op onnx_op_Pow = {
    .domain = "",
    .op_type = "Pow",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = pow_prepare,
    .run = pow_run,
    .free_state = no_free,
};
