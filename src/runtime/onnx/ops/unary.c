/*
 * One-input elementwise operators (ai.onnx, opsets 7..17): the math functions Sqrt Exp Log
 * Abs Neg Reciprocal Floor Ceil Erf, the parametrised activations LeakyRelu Elu Selu
 * HardSigmoid Softplus, and Clip (bounds as attributes before opset 11, as optional scalar
 * inputs from 11, integer types from 12). Float types are float and double; Abs, Neg and Erf
 * also take int32 and int64 (Erf of an integer is computed in double and truncated), Clip
 * from opset 12 takes every integer type. Integer negation wraps (computed in unsigned).
 * Calls: op.h helpers, libm.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/op.h"

/* Attributes of the parametrised activations, read once in prepare. */
struct unary_params {
    float alpha, beta, gamma;
};

typedef void (*unary_fn)(void *out, const void *in, int64_t n, const struct unary_params *p);

/* The op state: the kernel and its attributes. */
struct unary_state {
    unary_fn fn;
    struct unary_params p;
};

/*
 * Kernels. F is the libm suffix for T ("f" for float, nothing for double), so each float
 * kernel calls the libm function of its own precision.
 */
#define UNARY_KERNEL(NAME, T, SUF, EXPR)                                                           \
    static void NAME##_##SUF(void *out, const void *in, int64_t n, const struct unary_params *p)   \
    {                                                                                              \
        T *o = out;                                                                                \
        const T *a = in;                                                                           \
        const T alpha = (T)p->alpha, beta = (T)p->beta, gamma = (T)p->gamma;                       \
        (void)alpha;                                                                               \
        (void)beta;                                                                                \
        (void)gamma;                                                                               \
        for (int64_t i = 0; i < n; i++) {                                                          \
            T x = a[i];                                                                            \
            o[i] = (T)(EXPR);                                                                      \
        }                                                                                          \
    }

#define FLOAT_UNARIES(T, SUF, F)                                                                   \
    UNARY_KERNEL(sqrt, T, SUF, sqrt##F(x))                                                         \
    UNARY_KERNEL(exp, T, SUF, exp##F(x))                                                           \
    UNARY_KERNEL(log, T, SUF, log##F(x))                                                           \
    UNARY_KERNEL(abs, T, SUF, fabs##F(x))                                                          \
    UNARY_KERNEL(neg, T, SUF, -x)                                                                  \
    UNARY_KERNEL(recip, T, SUF, (T)1 / x)                                                          \
    UNARY_KERNEL(floor, T, SUF, floor##F(x))                                                       \
    UNARY_KERNEL(ceil, T, SUF, ceil##F(x))                                                         \
    UNARY_KERNEL(erf, T, SUF, erf##F(x))                                                           \
    UNARY_KERNEL(leaky, T, SUF, x < 0 ? alpha * x : x)                                             \
    UNARY_KERNEL(elu, T, SUF, x < 0 ? alpha * expm1##F(x) : x)                                     \
    UNARY_KERNEL(selu, T, SUF, x <= 0 ? gamma * (alpha * exp##F(x) - alpha) : gamma * x)           \
    UNARY_KERNEL(hsig, T, SUF, fmax##F(0, fmin##F(1, alpha *x + beta)))                            \
    UNARY_KERNEL(softplus, T, SUF, x > 0 ? x + log1p##F(exp##F(-x)) : log1p##F(exp##F(x)))

FLOAT_UNARIES(float, f32, f)
FLOAT_UNARIES(double, f64, )

/* Integer kernels: |x| and -x wrap for the most negative value (unsigned arithmetic). */
#define INT_UNARIES(T, U, SUF)                                                                     \
    UNARY_KERNEL(abs, T, SUF, x < 0 ? (T)(0u - (U)x) : x)                                          \
    UNARY_KERNEL(neg, T, SUF, (T)(0u - (U)x))                                                      \
    UNARY_KERNEL(erf, T, SUF, (T)erf((double)x))

INT_UNARIES(int32_t, uint32_t, i32)
INT_UNARIES(int64_t, uint64_t, i64)

/* One row per operator: its kernels per dtype (NULL = type not allowed) and attributes. */
struct unary_def {
    const char *op_type;
    unary_fn f32, f64, i32, i64;
    float alpha, beta, gamma; /* attribute defaults; NAN = attribute not used */
};

static const struct unary_def unary_defs[] = {
    {"Sqrt", sqrt_f32, sqrt_f64, NULL, NULL, NAN, NAN, NAN},
    {"Exp", exp_f32, exp_f64, NULL, NULL, NAN, NAN, NAN},
    {"Log", log_f32, log_f64, NULL, NULL, NAN, NAN, NAN},
    {"Abs", abs_f32, abs_f64, abs_i32, abs_i64, NAN, NAN, NAN},
    {"Neg", neg_f32, neg_f64, neg_i32, neg_i64, NAN, NAN, NAN},
    {"Reciprocal", recip_f32, recip_f64, NULL, NULL, NAN, NAN, NAN},
    {"Floor", floor_f32, floor_f64, NULL, NULL, NAN, NAN, NAN},
    {"Ceil", ceil_f32, ceil_f64, NULL, NULL, NAN, NAN, NAN},
    {"Erf", erf_f32, erf_f64, erf_i32, erf_i64, NAN, NAN, NAN},
    {"LeakyRelu", leaky_f32, leaky_f64, NULL, NULL, 0.01f, NAN, NAN},
    {"Elu", elu_f32, elu_f64, NULL, NULL, 1.0f, NAN, NAN},
    {"Selu", selu_f32, selu_f64, NULL, NULL, 1.67326319217681884765625f, NAN,
     1.05070102214813232421875f},
    {"HardSigmoid", hsig_f32, hsig_f64, NULL, NULL, 0.2f, 0.5f, NAN},
    {"Softplus", softplus_f32, softplus_f64, NULL, NULL, NAN, NAN, NAN},
};

static const struct unary_def *unary_def_of(const char *op_type)
{
    for (size_t i = 0; i < sizeof unary_defs / sizeof unary_defs[0]; i++)
        if (strcmp(unary_defs[i].op_type, op_type) == 0)
            return &unary_defs[i];
    return NULL;
}

/*
 * Reads `name` into *out when the operator uses it (def is not NaN). Returns the getter's
 * error (wrong attribute type) unchanged.
 */
static mmsp_err param_read(const struct onnx_prepare_ctx *ctx, const char *name, float def,
                           float *out)
{
    *out = 0;
    if (isnan(def))
        return MMSP_OK;
    return onnx_attr_float(ctx->node, name, def, out, ctx->err, ctx->errlen);
}

/* Same dtype and shape as the input; the kernel for the dtype and the attributes as state. */
static mmsp_err unary_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    const struct unary_def *def = unary_def_of(ctx->node->op_type);
    struct unary_state *st;
    unary_fn fn = NULL;
    mmsp_err rc;

    if (!def)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_INTERNAL,
                           "not a unary operator");
    if (!x)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL, "needs an input");
    switch (x->dtype) {
    case MMSP_DT_FP32:
        fn = def->f32;
        break;
    case MMSP_DT_FP64:
        fn = def->f64;
        break;
    case MMSP_DT_INT32:
        fn = def->i32;
        break;
    case MMSP_DT_INT64:
        fn = def->i64;
        break;
    default:
        break;
    }
    if (!fn)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(x->dtype));
    st = calloc(1, sizeof *st);
    if (!st)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    ctx->state = st;
    st->fn = fn;
    rc = param_read(ctx, "alpha", def->alpha, &st->p.alpha);
    if (!rc)
        rc = param_read(ctx, "beta", def->beta, &st->p.beta);
    if (!rc)
        rc = param_read(ctx, "gamma", def->gamma, &st->p.gamma);
    if (rc)
        return rc;
    ctx->outputs[0].dtype = x->dtype;
    onnx_shape_set(&ctx->outputs[0], x->ndim, x->dims);
    return MMSP_OK;
}

static mmsp_err unary_run(const struct onnx_run_ctx *ctx)
{
    const struct unary_state *st = ctx->state;
    st->fn(ctx->outputs[0]->data, ctx->inputs[0]->data, ctx->inputs[0]->count, &st->p);
    return MMSP_OK;
}

#define UNARY_OP(NAME, MIN)                                                                        \
    const struct onnx_op onnx_op_##NAME = {                                                        \
        .domain = "",                                                                              \
        .op_type = #NAME,                                                                          \
        .since_min = MIN,                                                                          \
        .since_max = 17,                                                                           \
        .min_inputs = 1,                                                                           \
        .max_inputs = 1,                                                                           \
        .min_outputs = 1,                                                                          \
        .max_outputs = 1,                                                                          \
        .prepare = unary_prepare,                                                                  \
        .run = unary_run,                                                                          \
        .free_state = NULL,                                                                        \
    };

/*
 * since_min: 7, except where the definition in force at opset 7 started earlier with the
 * same semantics and the conformance data uses the older import (Elu, Selu, HardSigmoid: 6;
 * Softplus: 1), and Erf, which appeared in opset 9.
 */
UNARY_OP(Sqrt, 7)
UNARY_OP(Exp, 7)
UNARY_OP(Log, 7)
UNARY_OP(Abs, 7)
UNARY_OP(Neg, 7)
UNARY_OP(Reciprocal, 7)
UNARY_OP(Floor, 7)
UNARY_OP(Ceil, 7)
UNARY_OP(Erf, 9)
UNARY_OP(LeakyRelu, 7)
UNARY_OP(Elu, 6)
UNARY_OP(Selu, 6)
UNARY_OP(HardSigmoid, 6)
UNARY_OP(Softplus, 1)

/* ---- Clip ---- */

/*
 * Clip kernel: out = min(max(x, lo), hi) where a bound applies (has_lo / has_hi). When
 * lo > hi every value becomes hi, as the specification says. NaN stays NaN.
 */
#define CLIP_KERNEL(T, SUF)                                                                        \
    static void clip_##SUF(void *out, const void *in, int64_t n, const void *lo_p,                 \
                           const void *hi_p)                                                       \
    {                                                                                              \
        T *o = out;                                                                                \
        const T *a = in;                                                                           \
        int has_lo = lo_p != NULL, has_hi = hi_p != NULL;                                          \
        T lo = has_lo ? *(const T *)lo_p : 0, hi = has_hi ? *(const T *)hi_p : 0;                  \
        for (int64_t i = 0; i < n; i++) {                                                          \
            T x = a[i];                                                                            \
            if (has_lo && x < lo)                                                                  \
                x = lo;                                                                            \
            if (has_hi && x > hi)                                                                  \
                x = hi;                                                                            \
            o[i] = x;                                                                              \
        }                                                                                          \
    }

CLIP_KERNEL(float, f32)
CLIP_KERNEL(double, f64)
CLIP_KERNEL(int8_t, i8)
CLIP_KERNEL(int16_t, i16)
CLIP_KERNEL(int32_t, i32)
CLIP_KERNEL(int64_t, i64)
CLIP_KERNEL(uint8_t, u8)
CLIP_KERNEL(uint16_t, u16)
CLIP_KERNEL(uint32_t, u32)
CLIP_KERNEL(uint64_t, u64)

typedef void (*clip_fn)(void *out, const void *in, int64_t n, const void *lo, const void *hi);

/*
 * Clip state. Before opset 11 the bounds are attributes, stored here in the input's type;
 * from 11 they are inputs, read at run time (they may be computed).
 */
struct clip_state {
    clip_fn fn;
    int attr_bounds;
    int has_lo, has_hi;
    double lo_d, hi_d;
    float lo_f, hi_f;
};

static clip_fn clip_kernel_of(mmsp_dtype t, int opset)
{
    switch (t) {
    case MMSP_DT_FP32:
        return clip_f32;
    case MMSP_DT_FP64:
        return clip_f64;
    default:
        break;
    }
    if (opset < 12)
        return NULL;
    switch (t) {
    case MMSP_DT_INT8:
        return clip_i8;
    case MMSP_DT_INT16:
        return clip_i16;
    case MMSP_DT_INT32:
        return clip_i32;
    case MMSP_DT_INT64:
        return clip_i64;
    case MMSP_DT_UINT8:
        return clip_u8;
    case MMSP_DT_UINT16:
        return clip_u16;
    case MMSP_DT_UINT32:
        return clip_u32;
    case MMSP_DT_UINT64:
        return clip_u64;
    default:
        return NULL;
    }
}

static mmsp_err clip_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    const struct onnx_node *node = ctx->node;
    struct clip_state *st;
    mmsp_err rc;

    if (!x)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL, "needs an input");
    clip_fn fn = clip_kernel_of(x->dtype, node->opset);
    if (!fn)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported at opset %d", onnx_dtype_name(x->dtype),
                           node->opset);
    st = calloc(1, sizeof *st);
    if (!st)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    ctx->state = st;
    st->fn = fn;
    if (node->opset < 11) {
        float lo, hi;
        if (ctx->n_inputs > 1)
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "takes one input before opset 11");
        rc = onnx_attr_float(node, "min", -FLT_MAX, &lo, ctx->err, ctx->errlen);
        if (!rc)
            rc = onnx_attr_float(node, "max", FLT_MAX, &hi, ctx->err, ctx->errlen);
        if (rc)
            return rc;
        st->attr_bounds = 1;
        st->has_lo = onnx_attr_find(node, "min") != NULL;
        st->has_hi = onnx_attr_find(node, "max") != NULL;
        st->lo_f = lo;
        st->hi_f = hi;
        st->lo_d = lo;
        st->hi_d = hi;
    } else {
        for (size_t k = 1; k < ctx->n_inputs && k < 3; k++) {
            const struct onnx_tensor *b = ctx->inputs[k];
            if (!b)
                continue;
            if (b->dtype != x->dtype)
                return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                                   "bound '%s' has type %s, input has %s", k == 1 ? "min" : "max",
                                   onnx_dtype_name(b->dtype), onnx_dtype_name(x->dtype));
            if (b->count != 1)
                return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                                   "bound '%s' must be a scalar, has %lld elements",
                                   k == 1 ? "min" : "max", (long long)b->count);
        }
    }
    ctx->outputs[0].dtype = x->dtype;
    onnx_shape_set(&ctx->outputs[0], x->ndim, x->dims);
    return MMSP_OK;
}

static mmsp_err clip_run(const struct onnx_run_ctx *ctx)
{
    const struct clip_state *st = ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0];
    const void *lo = NULL, *hi = NULL;

    if (st->attr_bounds) {
        int dbl = x->dtype == MMSP_DT_FP64;
        if (st->has_lo)
            lo = dbl ? (const void *)&st->lo_d : (const void *)&st->lo_f;
        if (st->has_hi)
            hi = dbl ? (const void *)&st->hi_d : (const void *)&st->hi_f;
    } else {
        if (ctx->n_inputs > 1 && ctx->inputs[1])
            lo = ctx->inputs[1]->data;
        if (ctx->n_inputs > 2 && ctx->inputs[2])
            hi = ctx->inputs[2]->data;
    }
    st->fn(ctx->outputs[0]->data, x->data, x->count, lo, hi);
    return MMSP_OK;
}

const struct onnx_op onnx_op_Clip = {
    .domain = "",
    .op_type = "Clip",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 1,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = clip_prepare,
    .run = clip_run,
    .free_state = NULL,
};
