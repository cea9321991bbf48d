/*
 * Unary activations: Relu (float, double, int8, int32, int64), Sigmoid and Tanh (float,
 * double), for ai.onnx opsets 7..17. One prepare shared by all; the kernel is picked per
 * dtype at prepare and kept as the op state (a pointer into a static table).
 * Calls: op.h helpers, libm.
 */
#include <math.h>
#include <string.h>

#include "runtime/onnx/op.h"

typedef void (*unary_fn)(void *out, const void *in, int64_t n);

static void relu_f32(void *out, const void *in, int64_t n)
{
    float *o = out;
    const float *x = in;
    /* branch-free select (NaN stays NaN, -0 gives +0): vectorised with -ftree-vectorize */
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        o[i] = (v > 0.0f || v != v) ? v : 0.0f;
    }
}

static void relu_f64(void *out, const void *in, int64_t n)
{
    double *o = out;
    const double *x = in;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        o[i] = (v > 0.0 || v != v) ? v : 0.0;
    }
}

#define RELU_INT(T, SUF)                                                                           \
    static void relu_##SUF(void *out, const void *in, int64_t n)                                   \
    {                                                                                              \
        T *o = out;                                                                                \
        const T *x = in;                                                                           \
        for (int64_t i = 0; i < n; i++)                                                            \
            o[i] = x[i] > 0 ? x[i] : 0;                                                            \
    }
RELU_INT(int8_t, i8)
RELU_INT(int32_t, i32)
RELU_INT(int64_t, i64)

/* Sigmoid written so neither branch overflows: exp of a non-positive number only. */
static void sigmoid_f32(void *out, const void *in, int64_t n)
{
    float *o = out;
    const float *x = in;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        if (v >= 0) {
            o[i] = 1.0f / (1.0f + expf(-v));
        } else {
            float e = expf(v);
            o[i] = e / (1.0f + e);
        }
    }
}

static void sigmoid_f64(void *out, const void *in, int64_t n)
{
    double *o = out;
    const double *x = in;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        if (v >= 0) {
            o[i] = 1.0 / (1.0 + exp(-v));
        } else {
            double e = exp(v);
            o[i] = e / (1.0 + e);
        }
    }
}

static void tanh_f32(void *out, const void *in, int64_t n)
{
    float *o = out;
    const float *x = in;
    for (int64_t i = 0; i < n; i++)
        o[i] = tanhf(x[i]);
}

static void tanh_f64(void *out, const void *in, int64_t n)
{
    double *o = out;
    const double *x = in;
    for (int64_t i = 0; i < n; i++)
        o[i] = tanh(x[i]);
}

struct kernel {
    const char *op;
    mmsp_dtype dtype;
    unary_fn fn;
};

static const struct kernel kernels[] = {
    {"Relu", MMSP_DT_FP32, relu_f32},       {"Relu", MMSP_DT_FP64, relu_f64},
    {"Relu", MMSP_DT_INT8, relu_i8},        {"Relu", MMSP_DT_INT32, relu_i32},
    {"Relu", MMSP_DT_INT64, relu_i64},      {"Sigmoid", MMSP_DT_FP32, sigmoid_f32},
    {"Sigmoid", MMSP_DT_FP64, sigmoid_f64}, {"Tanh", MMSP_DT_FP32, tanh_f32},
    {"Tanh", MMSP_DT_FP64, tanh_f64},
};

static mmsp_err unary_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    if (!x)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL, "no input");
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++)
        if (kernels[i].dtype == x->dtype && strcmp(kernels[i].op, ctx->node->op_type) == 0) {
            ctx->state = (void *)&kernels[i];
            ctx->outputs[0].dtype = x->dtype;
            onnx_shape_set(&ctx->outputs[0], x->ndim, x->dims);
            return MMSP_OK;
        }
    return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                       "type %s is not supported", onnx_dtype_name(x->dtype));
}

static mmsp_err unary_run(const struct onnx_run_ctx *ctx)
{
    const struct kernel *k = ctx->state;
    k->fn(ctx->outputs[0]->data, ctx->inputs[0]->data, ctx->inputs[0]->count);
    return MMSP_OK;
}

static void no_free(void *state)
{
    (void)state;
}

#define UNARY_OP(NAME)                                                                             \
    const struct onnx_op onnx_op_##NAME = {                                                        \
        .domain = "",                                                                              \
        .op_type = #NAME,                                                                          \
        .since_min = 7,                                                                            \
        .since_max = 17,                                                                           \
        .min_inputs = 1,                                                                           \
        .max_inputs = 1,                                                                           \
        .min_outputs = 1,                                                                          \
        .max_outputs = 1,                                                                          \
        .prepare = unary_prepare,                                                                  \
        .run = unary_run,                                                                          \
        .free_state = no_free,                                                                     \
    };

UNARY_OP(Relu)
UNARY_OP(Sigmoid)
UNARY_OP(Tanh)
