/*
 * Transpose and Slice (ai.onnx, opsets 7..17): both are a strided copy of the input, so they
 * share one kernel: out[i0..in] = in[base + sum(i_d * stride_d)] with per-dim strides (in
 * elements, negative for a negative Slice step). prepare resolves everything into that form
 * (op state), run() only walks it. Transpose: `perm` defaults to the reversed dims. Slice:
 * starts/ends/axes are attributes before opset 10, inputs (with optional axes and steps) from
 * 10; they must be constant since they decide the output shape (static shapes per plan,
 * docs/onnx.md); clamping follows the spec (negative values count from the end, then clamp to
 * [0, dim] for positive steps, [-1, dim-1] for negative ones). Any element type with a fixed
 * element size, strings included. Calls: op.h helpers, libc (malloc, memcpy).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/op.h"

/* The resolved copy: output extents come from the output tensor; strides per output dim. */
struct strided {
    int64_t base;                  /* element offset of out[0...0] in the input */
    int64_t stride[ONNX_MAX_DIMS]; /* input element step per output dim */
};

/* n elements of `es` bytes from s (every `step` elements) to o (contiguous). */
#define COPY_RUN(T)                                                                                \
    do {                                                                                           \
        T *o_ = (T *)(void *)o;                                                                    \
        const T *s_ = (const T *)(const void *)s;                                                  \
        for (int64_t i = 0; i < n; i++)                                                            \
            memcpy(&o_[i], &s_[i * step], sizeof(T));                                              \
    } while (0)

static void copy_run_es(char *o, const char *s, int64_t step, int64_t n, size_t es)
{
    switch (es) {
    case 1:
        COPY_RUN(uint8_t);
        break;
    case 2:
        COPY_RUN(uint16_t);
        break;
    case 4:
        COPY_RUN(uint32_t);
        break;
    case 8:
        COPY_RUN(uint64_t);
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(o + (size_t)i * es, s + i * step * (int64_t)es, es);
        break;
    }
}

/*
 * Walks the output in row-major order, copying runs along the innermost dim. Every input
 * offset it forms was proven in range by prepare (it lies inside the sliced/permuted box).
 */
static void strided_copy(struct onnx_tensor *out, const struct onnx_tensor *in,
                         const struct strided *st)
{
    size_t es = onnx_dtype_size(out->dtype);
    int64_t idx[ONNX_MAX_DIMS] = {0};
    int nd = out->ndim;
    int64_t off = st->base;
    char *o = out->data;
    const char *src = in->data;

    if (out->count == 0)
        return;
    if (nd == 0) {
        memcpy(o, src + off * (int64_t)es, es);
        return;
    }
    int64_t inner = out->dims[nd - 1], step = st->stride[nd - 1];
    for (;;) {
        copy_run_es(o, src + off * (int64_t)es, step, inner, es);
        o += inner * (int64_t)es;
        int d = nd - 2;
        for (; d >= 0; d--) {
            off += st->stride[d];
            if (++idx[d] < out->dims[d])
                break;
            off -= st->stride[d] * out->dims[d];
            idx[d] = 0;
        }
        if (d < 0)
            break;
    }
}

/* Row-major element strides of t. */
static void strides_of(const struct onnx_tensor *t, int64_t *s)
{
    int64_t acc = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        s[d] = acc;
        acc *= t->dims[d];
    }
}

static mmsp_err check_data(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x = ctx->n_inputs ? ctx->inputs[0] : NULL;
    if (!x)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input 'data' is missing");
    if (onnx_dtype_size(x->dtype) == 0)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "type %s is not supported", onnx_dtype_name(x->dtype));
    return MMSP_OK;
}

static mmsp_err strided_run(const struct onnx_run_ctx *ctx)
{
    strided_copy(ctx->outputs[0], ctx->inputs[0], ctx->state);
    return MMSP_OK;
}

/* ---- Transpose ---- */

/* perm must be a permutation of 0..rank-1 (default: reversed). */
static mmsp_err transpose_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *x;
    const int64_t *perm;
    size_t n;
    int present, seen[ONNX_MAX_DIMS] = {0};
    int64_t p[ONNX_MAX_DIMS], in_str[ONNX_MAX_DIMS], dims[ONNX_MAX_DIMS];
    struct strided *st;
    mmsp_err rc;

    if ((rc = check_data(ctx)))
        return rc;
    x = ctx->inputs[0];
    rc = onnx_attr_ints(ctx->node, "perm", &perm, &n, &present, ctx->err, ctx->errlen);
    if (rc)
        return rc;
    if (present && n != (size_t)x->ndim)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "perm has %zu entries, input rank is %d", n, x->ndim);
    for (int d = 0; d < x->ndim; d++) {
        p[d] = present ? perm[d] : x->ndim - 1 - d;
        if (p[d] < 0 || p[d] >= x->ndim || seen[p[d]])
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "perm is not a permutation of 0..%d (entry %d is %lld)", x->ndim - 1,
                               d, (long long)p[d]);
        seen[p[d]] = 1;
    }
    st = calloc(1, sizeof *st);
    if (!st)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    strides_of(x, in_str);
    for (int d = 0; d < x->ndim; d++) {
        dims[d] = x->dims[p[d]];
        st->stride[d] = in_str[p[d]];
    }
    ctx->state = st;
    ctx->outputs[0].dtype = x->dtype;
    onnx_shape_set(&ctx->outputs[0], x->ndim, dims);
    return MMSP_OK;
}

/* ---- Slice ---- */

/*
 * Reads one constant integer input of Slice (opset >= 10) into v[0..*n); absent -> *n = 0,
 * *given = 0.
 */
static mmsp_err slice_input(struct onnx_prepare_ctx *ctx, size_t k, const char *what, int64_t *v,
                            size_t *n, int *given)
{
    const struct onnx_tensor *t = k < ctx->n_inputs ? ctx->inputs[k] : NULL;
    *n = 0;
    *given = t != NULL;
    if (!t)
        return MMSP_OK;
    if (!t->data)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "input '%s' is computed at run time; it decides the output shape, so "
                           "it must be a constant (shapes are static per plan)",
                           what);
    if (t->ndim != 1)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "input '%s' has rank %d, expected 1", what, t->ndim);
    return onnx_const_ints(ctx->node, t, v, ONNX_MAX_DIMS, n, ctx->err, ctx->errlen);
}

/* Reads an INTS attribute of Slice (opset < 10) into v[0..*n). */
static mmsp_err slice_attr(struct onnx_prepare_ctx *ctx, const char *name, int64_t *v, size_t *n,
                           int *given)
{
    const int64_t *a;
    mmsp_err rc = onnx_attr_ints(ctx->node, name, &a, n, given, ctx->err, ctx->errlen);
    if (rc)
        return rc;
    if (*n > ONNX_MAX_DIMS)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "attribute '%s' has %zu entries, at most %d allowed", name, *n,
                           ONNX_MAX_DIMS);
    if (*n)
        memcpy(v, a, *n * sizeof *v);
    return MMSP_OK;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static mmsp_err slice_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_node *node = ctx->node;
    const struct onnx_tensor *x;
    int64_t starts[ONNX_MAX_DIMS], ends[ONNX_MAX_DIMS], axes[ONNX_MAX_DIMS], steps[ONNX_MAX_DIMS];
    int64_t dims[ONNX_MAX_DIMS], begin[ONNX_MAX_DIMS], step[ONNX_MAX_DIMS], in_str[ONNX_MAX_DIMS];
    size_t ns, ne, na, nst;
    int gs, ge, ga, gst, done[ONNX_MAX_DIMS] = {0};
    struct strided *st;
    mmsp_err rc;

    if ((rc = check_data(ctx)))
        return rc;
    x = ctx->inputs[0];
    if (node->opset < 10) {
        if (ctx->n_inputs > 1)
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "takes one input before opset 10, got %zu", ctx->n_inputs);
        if ((rc = slice_attr(ctx, "starts", starts, &ns, &gs)) ||
            (rc = slice_attr(ctx, "ends", ends, &ne, &ge)) ||
            (rc = slice_attr(ctx, "axes", axes, &na, &ga)))
            return rc;
        if (!gs || !ge)
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "attributes 'starts' and 'ends' are required");
        gst = 0;
        nst = 0;
    } else {
        if (onnx_attr_find(node, "starts") || onnx_attr_find(node, "ends") ||
            onnx_attr_find(node, "axes"))
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "starts/ends/axes are inputs from opset 10 (model opset %d)",
                               node->opset);
        if ((rc = slice_input(ctx, 1, "starts", starts, &ns, &gs)) ||
            (rc = slice_input(ctx, 2, "ends", ends, &ne, &ge)) ||
            (rc = slice_input(ctx, 3, "axes", axes, &na, &ga)) ||
            (rc = slice_input(ctx, 4, "steps", steps, &nst, &gst)))
            return rc;
        if (!gs || !ge)
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "inputs 'starts' and 'ends' are required");
    }
    if (ne != ns || (ga && na != ns) || (gst && nst != ns))
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "starts, ends, axes and steps have %zu, %zu, %zu and %zu entries", ns,
                           ne, ga ? na : ns, gst ? nst : ns);
    if (!ga && ns > (size_t)x->ndim)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "%zu starts for an input of rank %d", ns, x->ndim);
    for (int d = 0; d < x->ndim; d++) {
        dims[d] = x->dims[d];
        begin[d] = 0;
        step[d] = 1;
    }
    for (size_t i = 0; i < ns; i++) {
        int a;
        int64_t s = gst ? steps[i] : 1, dim, b, e;
        if ((rc = onnx_axis_norm(node, ga ? axes[i] : (int64_t)i, x->ndim, &a, ctx->err,
                                 ctx->errlen)))
            return rc;
        if (done[a])
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "axis %d is sliced twice", a);
        done[a] = 1;
        if (s == 0)
            return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                               "step of axis %d is 0", a);
        dim = x->dims[a];
        b = starts[i];
        e = ends[i];
        if (b < 0)
            b += dim; /* b >= INT64_MIN and dim >= 0: no overflow */
        if (e < 0)
            e += dim;
        if (s > 0) {
            b = clamp64(b, 0, dim);
            e = clamp64(e, 0, dim);
            /* e - b <= dim <= 2^31, but s may be near 2^63: no e - b + s - 1 */
            if (e <= b)
                dims[a] = 0;
            else if (s >= e - b)
                dims[a] = 1;
            else
                dims[a] = (e - b + s - 1) / s;
        } else {
            b = clamp64(b, 0, dim - 1);
            e = clamp64(e, -1, dim - 1);
            if (dim == 0 || e >= b)
                dims[a] = 0;
            else if (s == INT64_MIN || -s > b - e)
                dims[a] = 1;
            else
                dims[a] = (b - e + (-s) - 1) / (-s);
        }
        begin[a] = dims[a] ? b : 0;
        step[a] = s;
    }
    st = calloc(1, sizeof *st);
    if (!st)
        return onnx_op_err(node, ctx->err, ctx->errlen, MMSP_E_NOMEM, "out of memory");
    strides_of(x, in_str);
    for (int d = 0; d < x->ndim; d++) {
        st->base += begin[d] * in_str[d];
        /* with one output element along d the step is never taken: avoid huge products */
        st->stride[d] = dims[d] > 1 ? step[d] * in_str[d] : 0;
    }
    ctx->state = st;
    ctx->outputs[0].dtype = x->dtype;
    onnx_shape_set(&ctx->outputs[0], x->ndim, dims);
    return MMSP_OK;
}

const struct onnx_op onnx_op_Transpose = {
    .domain = "",
    .op_type = "Transpose",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = transpose_prepare,
    .run = strided_run,
    .free_state = NULL, /* malloc'd struct strided */
};

const struct onnx_op onnx_op_Slice = {
    .domain = "",
    .op_type = "Slice",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 1, /* 1 before opset 10 (attributes), 3..5 from 10: prepare checks */
    .max_inputs = 5,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = slice_prepare,
    .run = strided_run,
    .free_state = NULL, /* malloc'd struct strided */
};
