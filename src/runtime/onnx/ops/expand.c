/*
 * Expand (ai.onnx, opsets 8..17) and Tile (opsets 7..17): grow a tensor by repetition.
 * Expand broadcasts `input` against the constant 1-D int64 `shape` in both directions (numpy
 * rules: a 1 in `shape` keeps the input's dim), iterating with onnx_bcast_run. Tile repeats
 * the input `repeats[d]` times along each dim d (`repeats` a constant 1-D int64 of length
 * rank). Both shape inputs must be constant since they decide the output shape (shapes are
 * static per plan, docs/onnx.md). Any element type with a fixed element size, strings
 * included. Calls: op.h helpers, libc (memcpy).
 */
#include <stdint.h>
#include <string.h>

#include "runtime/onnx/op.h"

/* Nothing is kept between prepare and run. */
static void no_free(void *state)
{
    (void)state;
}

/* Reads input k (a constant 1-D int64 of dims) into v[0..*n); every value must be >= 0. */
static mmsp_err dims_input(struct onnx_prepare_ctx *ctx, size_t k, const char *what, int64_t *v,
                           size_t *n)
{
    const struct onnx_tensor *t = ctx->inputs[k];
    mmsp_err rc;

    if (!t)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input '%s' is missing", what);
    if (!t->data)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "input '%s' is computed at run time; it decides the output shape, so "
                           "it must be a constant (shapes are static per plan)",
                           what);
    if (t->dtype != MMSP_DT_INT64)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input '%s' has type %s, expected int64", what,
                           onnx_dtype_name(t->dtype));
    if (t->ndim != 1)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input '%s' has rank %d, expected 1", what, t->ndim);
    if ((rc = onnx_const_ints(ctx->node, t, v, ONNX_MAX_DIMS, n, ctx->err, ctx->errlen)))
        return rc;
    for (size_t d = 0; d < *n; d++)
        if (v[d] < 0)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "entry %zu of '%s' is %lld", d, what, (long long)v[d]);
    return MMSP_OK;
}

static mmsp_err check_data(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    if (!x)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input 'input' is missing");
    if (onnx_dtype_size(x->dtype) == 0)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(x->dtype));
    return MMSP_OK;
}

/* ---- Expand ---- */

/* Broadcast copy kernels (step 0: repeat one element; 1: contiguous), one per element size. */
#define COPY_KERNEL(T, SUF)                                                                        \
    static void copy_##SUF(void *out, const void *const *in, const int64_t *step, int64_t n,       \
                           const void *arg)                                                        \
    {                                                                                              \
        T *o = out;                                                                                \
        const T *a = in[0];                                                                        \
        (void)arg;                                                                                 \
        if (step[0])                                                                               \
            memcpy(o, a, (size_t)n * sizeof(T));                                                   \
        else                                                                                       \
            for (int64_t i = 0; i < n; i++)                                                        \
                o[i] = a[0];                                                                       \
    }

COPY_KERNEL(uint8_t, 1)
COPY_KERNEL(uint16_t, 2)
COPY_KERNEL(uint32_t, 4)
COPY_KERNEL(uint64_t, 8)

static onnx_bcast_fn copy_kernel(size_t es)
{
    switch (es) {
    case 1:
        return copy_1;
    case 2:
        return copy_2;
    case 4:
        return copy_4;
    case 8:
        return copy_8;
    default:
        return NULL;
    }
}

static mmsp_err expand_prepare(struct onnx_prepare_ctx *ctx)
{
    struct onnx_tensor target = {.dtype = MMSP_DT_INT64};
    const struct onnx_tensor *both[2];
    size_t n;
    mmsp_err rc;

    if ((rc = check_data(ctx)) || (rc = dims_input(ctx, 1, "shape", target.dims, &n)))
        return rc;
    if (!copy_kernel(onnx_dtype_size(ctx->inputs[0]->dtype)))
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(ctx->inputs[0]->dtype));
    target.ndim = (int)n;
    both[0] = ctx->inputs[0];
    both[1] = &target;
    ctx->outputs[0].dtype = ctx->inputs[0]->dtype;
    return onnx_shape_broadcast(ctx->node, 2, both, &ctx->outputs[0], ctx->err, ctx->errlen);
}

static mmsp_err expand_run(const struct onnx_run_ctx *ctx)
{
    onnx_bcast_fn fn = copy_kernel(onnx_dtype_size(ctx->outputs[0]->dtype));
    if (!fn)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_INTERNAL,
                           "no copy kernel for type %s", onnx_dtype_name(ctx->outputs[0]->dtype));
    onnx_bcast_run(ctx->outputs[0], 1, ctx->inputs, fn, NULL);
    return MMSP_OK;
}

/* ---- Tile ---- */

static mmsp_err tile_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x;
    int64_t reps[ONNX_MAX_DIMS], dims[ONNX_MAX_DIMS];
    size_t n;
    mmsp_err rc;

    if ((rc = check_data(ctx)) || (rc = dims_input(ctx, 1, "repeats", reps, &n)))
        return rc;
    x = ctx->inputs[0];
    if (n != (size_t)x->ndim)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "%zu repeats for an input of rank %d", n, x->ndim);
    for (int d = 0; d < x->ndim; d++) {
        /* dims were counted (<= 2^31); a repeat above that with a nonzero dim is too large */
        if (x->dims[d] && reps[d] > ONNX_MAX_TENSOR_BYTES)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_TOO_LARGE,
                               "repeat %lld of dim %d is too large", (long long)reps[d], d);
        dims[d] = x->dims[d] * reps[d];
    }
    ctx->outputs[0].dtype = x->dtype;
    onnx_shape_set(&ctx->outputs[0], x->ndim, dims);
    return MMSP_OK;
}

/*
 * For each output row (all dims but the last), the input row it repeats is copied
 * repeats[last] times. Output rows are walked in order with their input row index kept in
 * step (input index along d = output index mod input dim).
 */
static mmsp_err tile_run(const struct onnx_run_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->inputs[0];
    struct onnx_tensor *y = ctx->outputs[0];
    size_t es = onnx_dtype_size(x->dtype);
    int nd = x->ndim;
    int64_t idx[ONNX_MAX_DIMS] = {0}, in_idx[ONNX_MAX_DIMS] = {0}, in_str[ONNX_MAX_DIMS];
    char *o = y->data;

    if (y->count == 0)
        return MMSP_OK;
    if (nd == 0) {
        memcpy(o, x->data, es);
        return MMSP_OK;
    }
    int64_t acc = 1;
    for (int d = nd - 1; d >= 0; d--) {
        in_str[d] = acc;
        acc *= x->dims[d];
    }
    size_t row = (size_t)x->dims[nd - 1] * es;
    int64_t reps = y->dims[nd - 1] / x->dims[nd - 1];
    for (;;) {
        int64_t off = 0;
        for (int d = 0; d < nd - 1; d++)
            off += in_idx[d] * in_str[d];
        const char *src = (const char *)x->data + (size_t)off * es;
        for (int64_t r = 0; r < reps; r++) {
            memcpy(o, src, row);
            o += row;
        }
        int d = nd - 2;
        for (; d >= 0; d--) {
            if (++in_idx[d] == x->dims[d])
                in_idx[d] = 0;
            if (++idx[d] < y->dims[d])
                break;
            idx[d] = 0;
            in_idx[d] = 0;
        }
        if (d < 0)
            break;
    }
    return MMSP_OK;
}

const struct onnx_op onnx_op_Expand = {
    .domain = "",
    .op_type = "Expand",
    .since_min = 8,
    .since_max = 17,
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = expand_prepare,
    .run = expand_run,
    .free_state = no_free,
};

const struct onnx_op onnx_op_Tile = {
    .domain = "",
    .op_type = "Tile",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = tile_prepare,
    .run = tile_run,
    .free_state = no_free,
};
