/*
 * TopK (ai.onnx, opsets 7..17): the k largest (or smallest) elements along `axis` (default
 * -1) and their int64 indices. Opset differences: k is an attribute before 10 and a constant
 * 1-element int64 input from 10 (it decides the output shape, which is static per plan);
 * `largest` and `sorted` exist from 11 (defaults 1). Results are always returned sorted
 * (allowed when sorted = 0). Order is total and deterministic: equal values keep the lower
 * index first, and NaN counts as larger than every number (as in numpy's sort). Selection is
 * a k-element heap over each slice (O(n log k)) in per-run scratch memory: no allocation in
 * run(). Types: float, double, int32, int64, int8, uint8. Calls: op.h helpers, libc.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/op.h"

struct topk_state {
    int axis;
    int largest;
    int64_t k;
};

/* A slice of n elements, element j at base[j * stride]; indices are positions in it. */
#define TOPK_KERNEL(T, SUF, IS_NAN)                                                                \
    /* -1, 0, 1 like a <=> b, NaN above every number and equal to NaN */                           \
    static int cmp_##SUF(T a, T b)                                                                 \
    {                                                                                              \
        int na = IS_NAN(a), nb = IS_NAN(b);                                                        \
        if (na || nb)                                                                              \
            return na - nb;                                                                        \
        return (a > b) - (a < b);                                                                  \
    }                                                                                              \
    /* whether element i ranks before element j in the result */                                   \
    static int better_##SUF(const T *base, int64_t stride, int largest, int64_t i, int64_t j)      \
    {                                                                                              \
        int c = cmp_##SUF(base[i * stride], base[j * stride]);                                     \
        if (c == 0)                                                                                \
            return i < j;                                                                          \
        return largest ? c > 0 : c < 0;                                                            \
    }                                                                                              \
    /* heap with the worst kept element at the root */                                             \
    static void sift_##SUF(const T *base, int64_t stride, int largest, int64_t *h, int64_t size,   \
                           int64_t p)                                                              \
    {                                                                                              \
        for (;;) {                                                                                 \
            int64_t l = 2 * p + 1, r = l + 1, w = p;                                               \
            if (l < size && better_##SUF(base, stride, largest, h[w], h[l]))                       \
                w = l;                                                                             \
            if (r < size && better_##SUF(base, stride, largest, h[w], h[r]))                       \
                w = r;                                                                             \
            if (w == p)                                                                            \
                return;                                                                            \
            int64_t t = h[p];                                                                      \
            h[p] = h[w];                                                                           \
            h[w] = t;                                                                              \
            p = w;                                                                                 \
        }                                                                                          \
    }                                                                                              \
    static void topk_##SUF(const struct onnx_tensor *x, struct onnx_tensor *vals,                  \
                           struct onnx_tensor *inds, const struct topk_state *st, int64_t *h)      \
    {                                                                                              \
        int64_t outer = 1, inner = 1, n = x->dims[st->axis], k = st->k;                            \
        const T *src = x->data;                                                                    \
        T *ov = vals ? vals->data : NULL;                                                          \
        int64_t *oi = inds ? inds->data : NULL;                                                    \
        for (int d = 0; d < st->axis; d++)                                                         \
            outer *= x->dims[d];                                                                   \
        for (int d = st->axis + 1; d < x->ndim; d++)                                               \
            inner *= x->dims[d];                                                                   \
        for (int64_t o = 0; o < outer; o++) {                                                      \
            for (int64_t in = 0; in < inner; in++) {                                               \
                const T *base = src + o * n * inner + in;                                          \
                for (int64_t j = 0; j < k; j++)                                                    \
                    h[j] = j;                                                                      \
                for (int64_t p = k / 2 - 1; p >= 0; p--)                                           \
                    sift_##SUF(base, inner, st->largest, h, k, p);                                 \
                for (int64_t j = k; j < n; j++) {                                                  \
                    if (better_##SUF(base, inner, st->largest, j, h[0])) {                         \
                        h[0] = j;                                                                  \
                        sift_##SUF(base, inner, st->largest, h, k, 0);                             \
                    }                                                                              \
                }                                                                                  \
                /* pop the worst to the back: h[0..k) ends best first */                           \
                for (int64_t size = k; size > 1; size--) {                                         \
                    int64_t t = h[0];                                                              \
                    h[0] = h[size - 1];                                                            \
                    h[size - 1] = t;                                                               \
                    sift_##SUF(base, inner, st->largest, h, size - 1, 0);                          \
                }                                                                                  \
                for (int64_t r = 0; r < k; r++) {                                                  \
                    int64_t at = (o * k + r) * inner + in;                                         \
                    if (ov)                                                                        \
                        ov[at] = base[h[r] * inner];                                               \
                    if (oi)                                                                        \
                        oi[at] = h[r];                                                             \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

#define FLOAT_NAN(v) isnan(v)
#define INT_NAN(v)   ((void)(v), 0)

TOPK_KERNEL(float, f32, FLOAT_NAN)
TOPK_KERNEL(double, f64, FLOAT_NAN)
TOPK_KERNEL(int32_t, i32, INT_NAN)
TOPK_KERNEL(int64_t, i64, INT_NAN)
TOPK_KERNEL(int8_t, i8, INT_NAN)
TOPK_KERNEL(uint8_t, u8, INT_NAN)

/* k from the attribute (opset < 10) or the constant input (from 10). */
static mmsp_err read_k(struct onnx_prepare_ctx *ctx, int64_t *k)
{
    const struct onnx_node *node = ctx->node;
    const struct onnx_tensor *t;
    size_t n;

    if (node->opset < 10) {
        if (ctx->n_inputs > 1)
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "takes one input before opset 10 (k is an attribute), got %zu",
                               ctx->n_inputs);
        if (!onnx_attr_find(node, "k"))
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "attribute 'k' is required");
        return onnx_attr_int(node, "k", 0, k, ctx->err, ctx->errlen);
    }
    if (onnx_attr_find(node, "k"))
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "attribute 'k' is an input from opset 10 (model opset %d)", node->opset);
    t = ctx->n_inputs > 1 ? ctx->inputs[1] : NULL;
    if (!t)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input 'K' is required from opset 10");
    if (!t->data)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "input 'K' is computed at run time; it decides the output shape, so "
                           "it must be a constant (shapes are static per plan)");
    if (t->dtype != MMSP_DT_INT64 || t->count != 1 || t->ndim > 1)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input 'K' must be one int64 value (got %s, %lld values)",
                           onnx_dtype_name(t->dtype), (long long)t->count);
    return onnx_const_ints(node, t, k, 1, &n, ctx->err, ctx->errlen);
}

static mmsp_err topk_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    struct topk_state *st;
    int64_t k, axis64, largest = 1, sorted = 1;
    int axis;
    mmsp_err rc;

    if (!x)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input 'X' is missing");
    switch (x->dtype) {
    case MMSP_DT_FP32:
    case MMSP_DT_FP64:
    case MMSP_DT_INT32:
    case MMSP_DT_INT64:
    case MMSP_DT_INT8:
    case MMSP_DT_UINT8:
        break;
    default:
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(x->dtype));
    }
    if ((rc = read_k(ctx, &k)) ||
        (rc = onnx_attr_int(ctx->node, "axis", -1, &axis64, ctx->err, ctx->errlen)) ||
        (rc = onnx_axis_norm(ctx->node, axis64, x->ndim, &axis, ctx->err, ctx->errlen)))
        return rc;
    if (ctx->node->opset >= 11 &&
        ((rc = onnx_attr_int(ctx->node, "largest", 1, &largest, ctx->err, ctx->errlen)) ||
         (rc = onnx_attr_int(ctx->node, "sorted", 1, &sorted, ctx->err, ctx->errlen))))
        return rc;
    (void)sorted; /* results are always sorted, which sorted = 0 allows */
    if (k < 0 || k > x->dims[axis])
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "k = %lld is outside [0, %lld] (axis %d)", (long long)k,
                           (long long)x->dims[axis], axis);
    st = malloc(sizeof *st);
    if (!st)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    st->axis = axis;
    st->largest = largest != 0;
    st->k = k;
    ctx->state = st;
    ctx->scratch_bytes = (size_t)k * sizeof(int64_t); /* k <= a counted dim <= 2^31 */
    for (size_t i = 0; i < ctx->n_outputs && i < 2; i++) {
        onnx_shape_set(&ctx->outputs[i], x->ndim, x->dims);
        ctx->outputs[i].dims[axis] = k;
        ctx->outputs[i].dtype = i == 0 ? x->dtype : MMSP_DT_INT64;
    }
    return MMSP_OK;
}

static mmsp_err topk_run(const struct onnx_run_ctx *ctx)
{
    const struct topk_state *st = ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0];
    struct onnx_tensor *vals = ctx->outputs[0];
    struct onnx_tensor *inds = ctx->n_outputs > 1 ? ctx->outputs[1] : NULL;
    int64_t *h = ctx->scratch;

    if (st->k == 0 || x->count == 0)
        return MMSP_OK;
    if (!h)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_INTERNAL, "no scratch memory");
#define RUN(T, SUF) topk_##SUF(x, vals, inds, st, h)
    switch (x->dtype) {
    case MMSP_DT_FP32:
        RUN(float, f32);
        break;
    case MMSP_DT_FP64:
        RUN(double, f64);
        break;
    case MMSP_DT_INT32:
        RUN(int32_t, i32);
        break;
    case MMSP_DT_INT64:
        RUN(int64_t, i64);
        break;
    case MMSP_DT_INT8:
        RUN(int8_t, i8);
        break;
    case MMSP_DT_UINT8:
        RUN(uint8_t, u8);
        break;
    default:
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_INTERNAL, "type %s reached run",
                           onnx_dtype_name(x->dtype));
    }
#undef RUN
    return MMSP_OK;
}

const struct onnx_op onnx_op_TopK = {
    .domain = "",
    .op_type = "TopK",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 1, /* 1 before opset 10 (k attribute), 2 from 10: prepare checks */
    .max_inputs = 2,
    .min_outputs = 1, /* the spec requires both; Values alone is harmless */
    .max_outputs = 2,
    .prepare = topk_prepare,
    .run = topk_run,
    .free_state = NULL, /* malloc'd struct topk_state */
};
