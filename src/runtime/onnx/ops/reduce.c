/*
 * Reductions (ai.onnx, opsets 7..17) on float, double, int32, int64: ReduceSum, ReduceMean,
 * ReduceMax, ReduceMin over a set of axes (attribute `axes`; for ReduceSum from opset 13 the
 * optional constant input `axes` and `noop_with_empty_axes`), with `keepdims`; and ArgMax,
 * ArgMin along one axis (`axis`, `keepdims`, `select_last_index` from opset 12) with int64
 * output. Empty axes reduce everything (or, with noop_with_empty_axes, copy the input).
 * Float sums accumulate in double; integer sums wrap (unsigned arithmetic); the mean of an
 * empty set is NaN for floats and 0 for integers; Max/Min propagate NaN.
 * prepare merges adjacent input dims that are both reduced or both kept, so run() is two
 * odometers (kept dims outside, reduced dims inside) with a strided innermost loop.
 * Calls: op.h helpers, libm.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/op.h"

enum red { RED_SUM, RED_MEAN, RED_MAX, RED_MIN };

struct reduce_state;
typedef void (*reduce_fn)(const void *in, void *out, const struct reduce_state *st);

/* Merged iteration space: kept dims (output order) and reduced dims, with input strides. */
struct reduce_state {
    reduce_fn fn;
    int noop; /* copy the input: noop_with_empty_axes and empty axes */
    int nk, nr;
    int64_t kdim[ONNX_MAX_DIMS], kstr[ONNX_MAX_DIMS];
    int64_t rdim[ONNX_MAX_DIMS], rstr[ONNX_MAX_DIMS];
    int64_t ocount, rcount;
};

/*
 * One kernel per (dtype, operation). ACC is the accumulator type; INIT, STEP (sees x and acc)
 * and FINAL (sees acc and n, the number of reduced elements) define the operation.
 */
#define REDUCE_KERNEL(T, SUF, NAME, ACC, INIT, STEP, FINAL)                                        \
    static void NAME##_##SUF(const void *in_, void *out_, const struct reduce_state *st)           \
    {                                                                                              \
        const T *in = in_;                                                                         \
        T *out = out_;                                                                             \
        int64_t kidx[ONNX_MAX_DIMS] = {0}, ridx[ONNX_MAX_DIMS];                                    \
        int nk = st->nk, nr = st->nr;                                                              \
        int64_t n = st->rcount;                                                                    \
        int64_t inner = nr ? st->rdim[nr - 1] : 1, istr = nr ? st->rstr[nr - 1] : 0;               \
        for (int64_t o = 0; o < st->ocount; o++) {                                                 \
            int64_t base = 0;                                                                      \
            ACC acc = INIT;                                                                        \
            for (int d = 0; d < nk; d++)                                                           \
                base += kidx[d] * st->kstr[d];                                                     \
            for (int d = 0; d < nr; d++)                                                           \
                ridx[d] = 0;                                                                       \
            while (n > 0) {                                                                        \
                int64_t off = base;                                                                \
                for (int d = 0; d < nr - 1; d++)                                                   \
                    off += ridx[d] * st->rstr[d];                                                  \
                for (int64_t j = 0; j < inner; j++) {                                              \
                    T x = in[off + j * istr];                                                      \
                    STEP;                                                                          \
                }                                                                                  \
                int d = nr - 2;                                                                    \
                while (d >= 0 && ++ridx[d] == st->rdim[d])                                         \
                    ridx[d--] = 0;                                                                 \
                if (d < 0)                                                                         \
                    break;                                                                         \
            }                                                                                      \
            out[o] = (T)(FINAL);                                                                   \
            for (int d = nk - 1; d >= 0 && ++kidx[d] == st->kdim[d]; d--)                          \
                kidx[d] = 0;                                                                       \
        }                                                                                          \
    }

#define FLOAT_REDUCE(T, SUF)                                                                       \
    REDUCE_KERNEL(T, SUF, rsum, double, 0, acc += x, acc)                                          \
    REDUCE_KERNEL(T, SUF, rmean, double, 0, acc += x, n ? acc / (double)n : NAN)                   \
    REDUCE_KERNEL(T, SUF, rmax, T, -INFINITY, if (x > acc || x != x) acc = x, acc)                 \
    REDUCE_KERNEL(T, SUF, rmin, T, INFINITY, if (x < acc || x != x) acc = x, acc)

/* Integer mean: the wrapped sum as a signed value, truncated toward zero. */
#define INT_REDUCE(T, U, SUF, TMIN, TMAX)                                                          \
    REDUCE_KERNEL(T, SUF, rsum, U, 0, acc += (U)x, acc)                                            \
    REDUCE_KERNEL(T, SUF, rmean, U, 0, acc += (U)x, n ? (int64_t)(T)acc / n : 0)                   \
    REDUCE_KERNEL(T, SUF, rmax, T, TMIN, if (x > acc) acc = x, acc)                                \
    REDUCE_KERNEL(T, SUF, rmin, T, TMAX, if (x < acc) acc = x, acc)

FLOAT_REDUCE(float, f32)
FLOAT_REDUCE(double, f64)
INT_REDUCE(int32_t, uint32_t, i32, INT32_MIN, INT32_MAX)
INT_REDUCE(int64_t, uint64_t, i64, INT64_MIN, INT64_MAX)

static const mmsp_dtype red_dtypes[] = {MMSP_DT_FP32, MMSP_DT_FP64, MMSP_DT_INT32, MMSP_DT_INT64};
static const reduce_fn red_kernels[4][4] = {
    [RED_SUM] = {rsum_f32, rsum_f64, rsum_i32, rsum_i64},
    [RED_MEAN] = {rmean_f32, rmean_f64, rmean_i32, rmean_i64},
    [RED_MAX] = {rmax_f32, rmax_f64, rmax_i32, rmax_i64},
    [RED_MIN] = {rmin_f32, rmin_f64, rmin_i32, rmin_i64},
};

static int dtype_row(mmsp_dtype t)
{
    for (int i = 0; i < 4; i++)
        if (red_dtypes[i] == t)
            return i;
    return -1;
}

static enum red red_of(const char *op_type)
{
    if (strcmp(op_type, "ReduceMean") == 0)
        return RED_MEAN;
    if (strcmp(op_type, "ReduceMax") == 0)
        return RED_MAX;
    if (strcmp(op_type, "ReduceMin") == 0)
        return RED_MIN;
    return RED_SUM;
}

/*
 * Reads the axes (attribute, or ReduceSum's input from opset 13) into reduced[] flags.
 * *empty is set when no axes were given.
 */
static mmsp_err axes_read(struct onnx_prepare_ctx *ctx, int rank, int *reduced, int *empty)
{
    const struct onnx_node *node = ctx->node;
    int64_t buf[ONNX_MAX_DIMS];
    const int64_t *axes = NULL;
    size_t n = 0;
    mmsp_err rc;

    if (strcmp(node->op_type, "ReduceSum") == 0 && node->opset >= 13) {
        const struct onnx_tensor *t = ctx->n_inputs > 1 ? ctx->inputs[1] : NULL;
        if (onnx_attr_find(node, "axes"))
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "attribute 'axes' is an input from opset 13");
        if (t && t->count > 0) {
            if (!t->data)
                return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                                   "input 'axes' is computed at run time; it decides the "
                                   "output shape, so it must be a constant");
            rc = onnx_const_ints(node, t, buf, ONNX_MAX_DIMS, &n, ctx->err, ctx->errlen);
            if (rc)
                return rc;
            axes = buf;
        }
    } else {
        if (ctx->n_inputs > 1)
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "takes one input at opset %d", node->opset);
        rc = onnx_attr_ints(node, "axes", &axes, &n, NULL, ctx->err, ctx->errlen);
        if (rc)
            return rc;
    }
    *empty = n == 0;
    for (int d = 0; d < rank; d++)
        reduced[d] = n == 0;
    for (size_t i = 0; i < n; i++) {
        int a;
        rc = onnx_axis_norm(node, axes[i], rank, &a, ctx->err, ctx->errlen);
        if (rc)
            return rc;
        if (reduced[a])
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "axis %lld is given twice", (long long)axes[i]);
        reduced[a] = 1;
    }
    return MMSP_OK;
}

static mmsp_err reduce_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_node *node = ctx->node;
    const struct onnx_tensor *x = ctx->inputs[0];
    struct onnx_tensor *out = &ctx->outputs[0];
    int reduced[ONNX_MAX_DIMS], empty = 1, row, cls = -1;
    int64_t keepdims = 1, noop = 0, stride[ONNX_MAX_DIMS];
    struct reduce_state *st;
    mmsp_err rc;

    if (!x)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL, "needs an input");
    row = dtype_row(x->dtype);
    if (row < 0)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(x->dtype));
    rc = onnx_attr_int(node, "keepdims", 1, &keepdims, ctx->err, ctx->errlen);
    if (!rc && strcmp(node->op_type, "ReduceSum") == 0 && node->opset >= 13)
        rc = onnx_attr_int(node, "noop_with_empty_axes", 0, &noop, ctx->err, ctx->errlen);
    if (!rc)
        rc = axes_read(ctx, x->ndim, reduced, &empty);
    if (rc)
        return rc;
    st = calloc(1, sizeof *st);
    if (!st)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    ctx->state = st;
    out->dtype = x->dtype;
    if (empty && noop) {
        st->noop = 1;
        onnx_shape_set(out, x->ndim, x->dims);
        return MMSP_OK;
    }
    st->fn = red_kernels[red_of(node->op_type)][row];
    out->ndim = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (!reduced[d])
            out->dims[out->ndim++] = x->dims[d];
        else if (keepdims)
            out->dims[out->ndim++] = 1;
    }
    /* input strides, then merge runs of dims of one class (1 = reduced, 0 = kept) */
    for (int d = x->ndim - 1; d >= 0; d--)
        stride[d] = d == x->ndim - 1 ? 1 : stride[d + 1] * x->dims[d + 1];
    st->ocount = 1;
    st->rcount = 1;
    for (int d = 0; d < x->ndim; d++) {
        int64_t *dim = reduced[d] ? st->rdim : st->kdim, *str = reduced[d] ? st->rstr : st->kstr;
        int *nd = reduced[d] ? &st->nr : &st->nk;
        if (reduced[d])
            st->rcount *= x->dims[d];
        else
            st->ocount *= x->dims[d];
        if (x->dims[d] == 1)
            continue;
        if (cls == reduced[d] && *nd > 0) {
            dim[*nd - 1] *= x->dims[d];
            str[*nd - 1] = stride[d];
        } else {
            dim[*nd] = x->dims[d];
            str[*nd] = stride[d];
            (*nd)++;
        }
        cls = reduced[d];
    }
    return MMSP_OK;
}

static mmsp_err reduce_run(const struct onnx_run_ctx *ctx)
{
    const struct reduce_state *st = ctx->state;
    const struct onnx_tensor *x = ctx->inputs[0];

    if (st->noop)
        memcpy(ctx->outputs[0]->data, x->data, (size_t)x->count * onnx_dtype_size(x->dtype));
    else
        st->fn(x->data, ctx->outputs[0]->data, st);
    return MMSP_OK;
}

#define REDUCE_OP(NAME, MAXIN)                                                                     \
    const struct onnx_op onnx_op_##NAME = {                                                        \
        .domain = "",                                                                              \
        .op_type = #NAME,                                                                          \
        .since_min = 7,                                                                            \
        .since_max = 17,                                                                           \
        .min_inputs = 1,                                                                           \
        .max_inputs = MAXIN,                                                                       \
        .min_outputs = 1,                                                                          \
        .max_outputs = 1,                                                                          \
        .prepare = reduce_prepare,                                                                 \
        .run = reduce_run,                                                                         \
        .free_state = NULL,                                                                        \
    };

REDUCE_OP(ReduceSum, 2)
REDUCE_OP(ReduceMean, 1)
REDUCE_OP(ReduceMax, 1)
REDUCE_OP(ReduceMin, 1)

/* ---- ArgMax / ArgMin ---- */

struct arg_state;
typedef void (*arg_fn)(const void *in, int64_t *out, const struct arg_state *st);

/* The input seen as [outer, n, inner] around the axis. */
struct arg_state {
    arg_fn fn;
    int64_t outer, n, inner;
    int last; /* select_last_index */
};

/*
 * BETTER(x, best) says x replaces the current best; with select_last_index ties replace too.
 * A NaN wins over numbers and the first NaN is kept, as numpy does.
 */
#define ARG_KERNEL(T, SUF, NAME, CMP, ISNAN)                                                       \
    static void NAME##_##SUF(const void *in_, int64_t *out, const struct arg_state *st)            \
    {                                                                                              \
        const T *in = in_;                                                                         \
        for (int64_t o = 0; o < st->outer; o++)                                                    \
            for (int64_t i = 0; i < st->inner; i++) {                                              \
                const T *p = in + o * st->n * st->inner + i;                                       \
                T best = p[0];                                                                     \
                int64_t bi = 0;                                                                    \
                for (int64_t k = 1; k < st->n; k++) {                                              \
                    T x = p[k * st->inner];                                                        \
                    if (ISNAN(best))                                                               \
                        break;                                                                     \
                    if (ISNAN(x) || x CMP best || (st->last && x == best)) {                       \
                        best = x;                                                                  \
                        bi = k;                                                                    \
                    }                                                                              \
                }                                                                                  \
                out[o * st->inner + i] = bi;                                                       \
            }                                                                                      \
    }

#define ARG_FAMILY(T, SUF, ISNAN)                                                                  \
    ARG_KERNEL(T, SUF, argmax, >, ISNAN)                                                           \
    ARG_KERNEL(T, SUF, argmin, <, ISNAN)

#define NEVER_NAN(x) 0

ARG_FAMILY(float, f32, isnan)
ARG_FAMILY(double, f64, isnan)
ARG_FAMILY(int32_t, i32, NEVER_NAN)
ARG_FAMILY(int64_t, i64, NEVER_NAN)

static const arg_fn arg_kernels[2][4] = {
    {argmax_f32, argmax_f64, argmax_i32, argmax_i64},
    {argmin_f32, argmin_f64, argmin_i32, argmin_i64},
};

static mmsp_err arg_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_node *node = ctx->node;
    const struct onnx_tensor *x = ctx->inputs[0];
    struct onnx_tensor *out = &ctx->outputs[0];
    int64_t axis = 0, keepdims = 1, last = 0;
    struct arg_state *st;
    int row, ax;
    mmsp_err rc;

    if (!x)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL, "needs an input");
    row = dtype_row(x->dtype);
    if (row < 0)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(x->dtype));
    rc = onnx_attr_int(node, "axis", 0, &axis, ctx->err, ctx->errlen);
    if (!rc)
        rc = onnx_attr_int(node, "keepdims", 1, &keepdims, ctx->err, ctx->errlen);
    if (!rc && node->opset >= 12)
        rc = onnx_attr_int(node, "select_last_index", 0, &last, ctx->err, ctx->errlen);
    if (!rc)
        rc = onnx_axis_norm(node, axis, x->ndim, &ax, ctx->err, ctx->errlen);
    if (rc)
        return rc;
    if (x->dims[ax] == 0)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_SHAPE, "axis %d has no elements",
                           ax);
    st = calloc(1, sizeof *st);
    if (!st)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    ctx->state = st;
    st->fn = arg_kernels[strcmp(node->op_type, "ArgMin") == 0][row];
    st->last = last != 0;
    st->outer = 1;
    st->inner = 1;
    st->n = x->dims[ax];
    out->dtype = MMSP_DT_INT64;
    out->ndim = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (d < ax)
            st->outer *= x->dims[d];
        else if (d > ax)
            st->inner *= x->dims[d];
        if (d != ax)
            out->dims[out->ndim++] = x->dims[d];
        else if (keepdims)
            out->dims[out->ndim++] = 1;
    }
    return MMSP_OK;
}

static mmsp_err arg_run(const struct onnx_run_ctx *ctx)
{
    const struct arg_state *st = ctx->state;
    st->fn(ctx->inputs[0]->data, ctx->outputs[0]->data, st);
    return MMSP_OK;
}

#define ARG_OP(NAME)                                                                               \
    const struct onnx_op onnx_op_##NAME = {                                                        \
        .domain = "",                                                                              \
        .op_type = #NAME,                                                                          \
        .since_min = 7,                                                                            \
        .since_max = 17,                                                                           \
        .min_inputs = 1,                                                                           \
        .max_inputs = 1,                                                                           \
        .min_outputs = 1,                                                                          \
        .max_outputs = 1,                                                                          \
        .prepare = arg_prepare,                                                                    \
        .run = arg_run,                                                                            \
        .free_state = NULL,                                                                        \
    };

ARG_OP(ArgMax)
ARG_OP(ArgMin)
