/*
 * Binary arithmetic with numpy broadcasting: Add, Sub, Mul, Div (ai.onnx, opsets 7..17) on
 * float, double, int8, uint8, int32, int64. Integer arithmetic wraps (done in unsigned, so
 * no undefined behaviour); integer division truncates toward zero and a division by zero, or
 * INT_MIN / -1, gives 0 instead of trapping. This file is the reference example of an
 * operator family (docs/onnx.md "Adding an operator"). Calls: op.h helpers only.
 */
#include <stdint.h>
#include <string.h>

#include "runtime/onnx/op.h"

enum arith { ARITH_ADD, ARITH_SUB, ARITH_MUL, ARITH_DIV };

/* Float kernels: one function per (dtype, operation), written once by this macro. */
#define FLOAT_KERNEL(T, SUF, NAME, EXPR)                                                           \
    static void NAME##_##SUF(void *out, const void *const *in, const int64_t *step, int64_t n,     \
                             const void *arg)                                                      \
    {                                                                                              \
        T *o = out;                                                                                \
        const T *a = in[0], *b = in[1];                                                            \
        int64_t sa = step[0], sb = step[1];                                                        \
        (void)arg;                                                                                 \
        if (sa && sb) {                                                                            \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T x = a[i], y = b[i];                                                              \
                o[i] = EXPR;                                                                       \
            }                                                                                      \
        } else {                                                                                   \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T x = a[i * sa], y = b[i * sb];                                                    \
                o[i] = EXPR;                                                                       \
            }                                                                                      \
        }                                                                                          \
    }

/* Integer kernels compute in the unsigned type U so overflow wraps instead of being UB. */
#define INT_KERNEL(T, U, SUF, NAME, EXPR)                                                          \
    static void NAME##_##SUF(void *out, const void *const *in, const int64_t *step, int64_t n,     \
                             const void *arg)                                                      \
    {                                                                                              \
        T *o = out;                                                                                \
        const T *a = in[0], *b = in[1];                                                            \
        (void)arg;                                                                                 \
        for (int64_t i = 0; i < n; i++) {                                                          \
            U x = (U)a[i * step[0]], y = (U)b[i * step[1]];                                        \
            o[i] = (T)(EXPR);                                                                      \
        }                                                                                          \
    }

/* Signed division: truncates; x/0 and MIN/-1 give 0. */
#define SDIV_KERNEL(T, SUF, MINV)                                                                  \
    static void div_##SUF(void *out, const void *const *in, const int64_t *step, int64_t n,        \
                          const void *arg)                                                         \
    {                                                                                              \
        T *o = out;                                                                                \
        const T *a = in[0], *b = in[1];                                                            \
        (void)arg;                                                                                 \
        for (int64_t i = 0; i < n; i++) {                                                          \
            T x = a[i * step[0]], y = b[i * step[1]];                                              \
            o[i] = (y == 0 || (x == MINV && y == -1)) ? 0 : (T)(x / y);                            \
        }                                                                                          \
    }

#define FLOAT_FAMILY(T, SUF)                                                                       \
    FLOAT_KERNEL(T, SUF, add, x + y)                                                               \
    FLOAT_KERNEL(T, SUF, sub, x - y)                                                               \
    FLOAT_KERNEL(T, SUF, mul, x *y)                                                                \
    FLOAT_KERNEL(T, SUF, div, x / y)

FLOAT_FAMILY(float, f32)
FLOAT_FAMILY(double, f64)

#define INT_FAMILY(T, U, SUF)                                                                      \
    INT_KERNEL(T, U, SUF, add, x + y)                                                              \
    INT_KERNEL(T, U, SUF, sub, x - y)                                                              \
    INT_KERNEL(T, U, SUF, mul, x *y)

INT_FAMILY(int32_t, uint32_t, i32)
INT_FAMILY(int64_t, uint64_t, i64)
INT_FAMILY(int8_t, uint8_t, i8)
INT_FAMILY(uint8_t, uint32_t, u8) /* uint8 * uint8 promotes to int: compute in uint32 */
SDIV_KERNEL(int32_t, i32, INT32_MIN)
SDIV_KERNEL(int64_t, i64, INT64_MIN)
SDIV_KERNEL(int8_t, i8, INT8_MIN)

static void div_u8(void *out, const void *const *in, const int64_t *step, int64_t n,
                   const void *arg)
{
    uint8_t *o = out;
    const uint8_t *a = in[0], *b = in[1];
    (void)arg;
    for (int64_t i = 0; i < n; i++) {
        uint8_t y = b[i * step[1]];
        o[i] = y ? (uint8_t)(a[i * step[0]] / y) : 0;
    }
}

/* kernels[operation][dtype row]: the dtypes this family accepts, in table order. */
static const mmsp_dtype dtypes[] = {MMSP_DT_FP32,  MMSP_DT_FP64, MMSP_DT_INT32,
                                    MMSP_DT_INT64, MMSP_DT_INT8, MMSP_DT_UINT8};
static const onnx_bcast_fn kernels[4][6] = {
    [ARITH_ADD] = {add_f32, add_f64, add_i32, add_i64, add_i8, add_u8},
    [ARITH_SUB] = {sub_f32, sub_f64, sub_i32, sub_i64, sub_i8, sub_u8},
    [ARITH_MUL] = {mul_f32, mul_f64, mul_i32, mul_i64, mul_i8, mul_u8},
    [ARITH_DIV] = {div_f32, div_f64, div_i32, div_i64, div_i8, div_u8},
};

static enum arith arith_of(const struct onnx_node *node)
{
    if (strcmp(node->op_type, "Sub") == 0)
        return ARITH_SUB;
    if (strcmp(node->op_type, "Mul") == 0)
        return ARITH_MUL;
    if (strcmp(node->op_type, "Div") == 0)
        return ARITH_DIV;
    return ARITH_ADD;
}

/*
 * Both inputs of one dtype from the table; the output has that dtype and the broadcast
 * shape. The chosen kernel is the op state (a pointer into the static table: nothing to free).
 */
static mmsp_err arith_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    size_t k;

    if (!a || !b)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL, "needs two inputs");
    if (a->dtype != b->dtype)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input types %s and %s differ", onnx_dtype_name(a->dtype),
                           onnx_dtype_name(b->dtype));
    for (k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++)
        if (dtypes[k] == a->dtype)
            break;
    if (k == sizeof dtypes / sizeof dtypes[0])
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(a->dtype));
    ctx->state = (void *)&kernels[arith_of(ctx->node)][k];
    ctx->outputs[0].dtype = a->dtype;
    return onnx_shape_broadcast(ctx->node, 2, ctx->inputs, &ctx->outputs[0], ctx->err, ctx->errlen);
}

static mmsp_err arith_run(const struct onnx_run_ctx *ctx)
{
    const onnx_bcast_fn *fn = ctx->state;
    const struct onnx_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    struct onnx_tensor *y = ctx->outputs[0];
    static const int64_t contiguous[2] = {1, 1};

    /* fast paths: same shape (one contiguous call), and [.., K] + [K] (a bias row: one
       contiguous call per row); everything else goes through the general broadcast */
    if (a->count == y->count && b->count == y->count) {
        const void *p[2] = {a->data, b->data};
        if (y->count > 0)
            (*fn)(y->data, p, contiguous, y->count, NULL);
        return MMSP_OK;
    }
    if (a->count == y->count && y->ndim >= 1 && b->ndim >= 1 && b->count > 1 &&
        b->count == y->dims[y->ndim - 1] && b->dims[b->ndim - 1] == b->count) {
        size_t es = onnx_dtype_size(y->dtype);
        int64_t k = b->count;
        for (int64_t r = 0; r < y->count / k; r++) {
            const void *p[2] = {(const char *)a->data + r * k * (int64_t)es, b->data};
            (*fn)((char *)y->data + r * k * (int64_t)es, p, contiguous, k, NULL);
        }
        return MMSP_OK;
    }
    onnx_bcast_run(y, 2, ctx->inputs, *fn, NULL);
    return MMSP_OK;
}

/* The state points into the static kernel table: nothing to free. */
static void no_free(void *state)
{
    (void)state;
}

#define ARITH_OP(NAME)                                                                             \
    const struct onnx_op onnx_op_##NAME = {                                                        \
        .domain = "",                                                                              \
        .op_type = #NAME,                                                                          \
        .since_min = 7,                                                                            \
        .since_max = 17,                                                                           \
        .min_inputs = 2,                                                                           \
        .max_inputs = 2,                                                                           \
        .min_outputs = 1,                                                                          \
        .max_outputs = 1,                                                                          \
        .prepare = arith_prepare,                                                                  \
        .run = arith_run,                                                                          \
        .free_state = no_free,                                                                     \
    };

ARITH_OP(Add)
ARITH_OP(Sub)
ARITH_OP(Mul)
ARITH_OP(Div)
