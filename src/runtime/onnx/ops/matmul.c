/*
 * MatMul (numpy semantics: 1-D operands promoted and the added dim removed, batch dims
 * broadcast) and Gemm (transA/transB/alpha/beta, optional C broadcast to [M, N]), ai.onnx
 * opsets 7..17, on float, double, int32, int64. A float product with a constant 2-D B runs on
 * the packed GEMM (gemm_packed.c: B packed once per weight tensor, AVX-512 dense and sparse-A
 * kernels) when the CPU has it; other float products go through OpenBLAS cblas_sgemm/dgemm when
 * M*N*K is at least GEMM_BLAS_MIN (measured crossover, docs/onnx.md), plain loops below it;
 * integer products are plain loops in unsigned arithmetic (wrapping). The planner may fuse a
 * following Add of a constant bias row and a Relu into a float product (onnx_matmul_fuse_*).
 * Calls: op.h helpers, gemm_packed.h, OpenBLAS (cblas.h), libc; graph.h only for the
 * declarations of the fusion entry points the planner calls.
 */
#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/graph.h"
#include "runtime/onnx/op.h"
#include "runtime/onnx/ops/gemm_packed.h"

/* Below this many multiply-adds the plain loops beat cblas_?gemm's call overhead. */
#define GEMM_BLAS_MIN 128
/*
 * Fewest columns for the packed GEMM: its kernels compute 32 columns at a time, and below 32
 * OpenBLAS wins (64x16x1024: 25 us against 37; 64x32x1024: 47 against 37; docs/onnx.md).
 */
#define GEMM_PACKED_MIN_N 32

/*
 * C[M,N] = alpha * op(A) * op(B) + beta * C with row-major A (M x K, or K x M when ta),
 * B (K x N, or N x K when tb). beta is 0 or 1 (C already holds beta*C_in).
 */
#define GEMM_FLOAT(T, SUF, BLAS, GEMV)                                                             \
    static void gemm_##SUF(int ta, int tb, int64_t M, int64_t N, int64_t K, T alpha, const T *A,   \
                           const T *B, T beta, T *C)                                               \
    {                                                                                              \
        if (M == 0 || N == 0)                                                                      \
            return;                                                                                \
        if (M * N * K >= GEMM_BLAS_MIN && M < INT32_MAX && N < INT32_MAX && K < INT32_MAX) {       \
            if (M == 1) { /* one row: gemv reads B in place (gemm would pack all of it) */         \
                if (beta == 0)                                                                     \
                    memset(C, 0, (size_t)N * sizeof(T));                                           \
                if (tb)                                                                            \
                    GEMV(CblasRowMajor, CblasNoTrans, (int)N, (int)K, alpha, B, (int)(K ? K : 1),  \
                         A, 1, (T)1, C, 1);                                                        \
                else                                                                               \
                    GEMV(CblasRowMajor, CblasTrans, (int)K, (int)N, alpha, B, (int)N, A, 1, (T)1,  \
                         C, 1);                                                                    \
                return;                                                                            \
            }                                                                                      \
            BLAS(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,    \
                 (int)M, (int)N, (int)K, alpha, A, ta ? (int)M : (int)(K ? K : 1), B,              \
                 tb ? (int)(K ? K : 1) : (int)N, beta, C, (int)N);                                 \
            return;                                                                                \
        }                                                                                          \
        for (int64_t i = 0; i < M; i++) {                                                          \
            T *c = C + i * N;                                                                      \
            if (beta == 0)                                                                         \
                for (int64_t j = 0; j < N; j++)                                                    \
                    c[j] = 0;                                                                      \
            if (tb) { /* rows of B are columns of op(B): dot products */                           \
                for (int64_t j = 0; j < N; j++) {                                                  \
                    const T *b = B + j * K;                                                        \
                    T acc = 0;                                                                     \
                    for (int64_t k = 0; k < K; k++)                                                \
                        acc += (ta ? A[k * M + i] : A[i * K + k]) * b[k];                          \
                    c[j] += alpha * acc;                                                           \
                }                                                                                  \
            } else { /* c += a[i,k] * B[k,:]: contiguous rows */                                   \
                for (int64_t k = 0; k < K; k++) {                                                  \
                    T a = alpha * (ta ? A[k * M + i] : A[i * K + k]);                              \
                    const T *b = B + k * N;                                                        \
                    for (int64_t j = 0; j < N; j++)                                                \
                        c[j] += a * b[j];                                                          \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }
GEMM_FLOAT(float, f32, cblas_sgemm, cblas_sgemv)
GEMM_FLOAT(double, f64, cblas_dgemm, cblas_dgemv)

#define GEMM_INT(T, U, SUF)                                                                        \
    static void gemm_##SUF(int ta, int tb, int64_t M, int64_t N, int64_t K, T alpha, const T *A,   \
                           const T *B, T beta, T *C)                                               \
    {                                                                                              \
        for (int64_t i = 0; i < M; i++)                                                            \
            for (int64_t j = 0; j < N; j++) {                                                      \
                U acc = 0;                                                                         \
                for (int64_t k = 0; k < K; k++)                                                    \
                    acc += (U)(ta ? A[k * M + i] : A[i * K + k]) *                                 \
                           (U)(tb ? B[j * K + k] : B[k * N + j]);                                  \
                acc *= (U)alpha;                                                                   \
                C[i * N + j] = (T)(beta == 0 ? acc : acc + (U)C[i * N + j]);                       \
            }                                                                                      \
    }
GEMM_INT(int32_t, uint32_t, i32)
GEMM_INT(int64_t, uint64_t, i64)

static int supported(mmsp_dtype t)
{
    return t == MMSP_DT_FP32 || t == MMSP_DT_FP64 || t == MMSP_DT_INT32 || t == MMSP_DT_INT64;
}

/* One product on typed pointers; alpha/beta as double (exact for the values we pass). */
static void gemm(mmsp_dtype t, int ta, int tb, int64_t M, int64_t N, int64_t K, double alpha,
                 const void *A, const void *B, double beta, void *C)
{
    switch (t) {
    case MMSP_DT_FP32:
        gemm_f32(ta, tb, M, N, K, (float)alpha, A, B, (float)beta, C);
        break;
    case MMSP_DT_FP64:
        gemm_f64(ta, tb, M, N, K, alpha, A, B, beta, C);
        break;
    case MMSP_DT_INT32:
        gemm_i32(ta, tb, M, N, K, (int32_t)alpha, A, B, (int32_t)beta, C);
        break;
    case MMSP_DT_INT64:
        gemm_i64(ta, tb, M, N, K, (int64_t)alpha, A, B, (int64_t)beta, C);
        break;
    default:
        break;
    }
}

/* ---- float epilogue (bias row, Relu) and the packed B, shared by MatMul and Gemm ---- */

/* First member of both ops' states, so the planner's fusion calls can reach it. */
struct epilogue {
    int f32;                           /* float product: fusion allowed */
    int64_t N;                         /* columns of the output */
    const struct onnx_gemm_packed *pk; /* constant B packed (reference), or NULL */
    float *bias;                       /* N floats (owned) or NULL */
    int relu;
};

static void epilogue_release(struct epilogue *e)
{
    onnx_gemm_pack_release(e->pk);
    free(e->bias);
}

/* Adds the bias row and applies Relu to `rows` rows of y (the paths without the packed GEMM). */
static void epilogue_apply(const struct epilogue *e, float *y, int64_t rows)
{
    if (!e->bias && !e->relu)
        return;
    for (int64_t i = 0; i < rows; i++) {
        float *r = y + i * e->N;
        if (e->bias)
            for (int64_t j = 0; j < e->N; j++)
                r[j] += e->bias[j];
        if (e->relu)
            for (int64_t j = 0; j < e->N; j++)
                r[j] = (r[j] > 0 || r[j] != r[j]) ? r[j] : 0; /* as Relu: NaN stays */
    }
}

/* Whether t is a bias row for N columns: float, constant, N elements on its last dim. */
static int is_bias_row(const struct onnx_tensor *t, int64_t N)
{
    return t && t->dtype == MMSP_DT_FP32 && t->data && t->count == N && t->ndim >= 1 &&
           t->dims[t->ndim - 1] == N;
}

/* Adds the constant row `add` (scaled) to the epilogue's bias, creating it. */
static int bias_add(struct epilogue *e, const float *add, int64_t n_add, float scale)
{
    if (!e->bias) {
        e->bias = calloc((size_t)(e->N ? e->N : 1), sizeof(float));
        if (!e->bias)
            return 0;
    }
    for (int64_t j = 0; j < e->N; j++)
        e->bias[j] += scale * add[n_add == 1 ? 0 : j];
    return 1;
}

extern const struct onnx_op onnx_op_MatMul, onnx_op_Gemm;

int onnx_matmul_fuse_bias(const struct onnx_op *op, void *state, const struct onnx_tensor *bias)
{
    struct epilogue *e = state;
    if ((op != &onnx_op_MatMul && op != &onnx_op_Gemm) || !e || !e->f32 || e->relu ||
        !is_bias_row(bias, e->N))
        return 0;
    return bias_add(e, bias->data, bias->count, 1.0f);
}

int onnx_matmul_fuse_relu(const struct onnx_op *op, void *state)
{
    struct epilogue *e = state;
    if ((op != &onnx_op_MatMul && op != &onnx_op_Gemm) || !e || !e->f32 || e->relu)
        return 0;
    e->relu = 1;
    return 1;
}

/* ---- MatMul ---- */

struct matmul {
    struct epilogue epi;
    int64_t M, N, K;
    int batch_nd;                                     /* broadcast batch dims of the output */
    int64_t bdims[ONNX_MAX_DIMS];                     /* output batch dims */
    int64_t astr[ONNX_MAX_DIMS], bstr[ONNX_MAX_DIMS]; /* matrix strides per batch dim (0 = bcast) */
    int64_t nbatch;
};

static mmsp_err matmul_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    struct onnx_tensor *y = &ctx->outputs[0];
    int64_t ad[ONNX_MAX_DIMS + 1], bd[ONNX_MAX_DIMS + 1];
    int an = a->ndim, bn = b->ndim;

    if (a->dtype != b->dtype || !supported(a->dtype))
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "types %s and %s are not supported", onnx_dtype_name(a->dtype),
                           onnx_dtype_name(b->dtype));
    if (an == 0 || bn == 0)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                           "scalar operands are not allowed");
    memcpy(ad, a->dims, (size_t)an * sizeof ad[0]);
    memcpy(bd, b->dims, (size_t)bn * sizeof bd[0]);
    if (an == 1) { /* [K] -> [1, K] */
        ad[1] = ad[0];
        ad[0] = 1;
        an = 2;
    }
    if (bn == 1) { /* [K] -> [K, 1] */
        bd[1] = 1;
        bn = 2;
    }
    if (ad[an - 1] != bd[bn - 2])
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                           "inner dims %lld and %lld differ", (long long)ad[an - 1],
                           (long long)bd[bn - 2]);
    struct matmul *s = calloc(1, sizeof *s);
    if (!s)
        return MMSP_E_NOMEM;
    ctx->state = s; /* the planner frees it, also when prepare fails */
    s->M = ad[an - 2];
    s->K = ad[an - 1];
    s->N = bd[bn - 1];
    int nb = (an > bn ? an : bn) - 2;
    if (nb > ONNX_MAX_DIMS - 2) {
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE, "rank too large");
    }
    int64_t as = s->M * s->K, bs = s->K * s->N;
    s->batch_nd = nb;
    s->nbatch = 1;
    for (int d = nb - 1; d >= 0; d--) {
        int ai = d - (nb - (an - 2)), bi = d - (nb - (bn - 2));
        int64_t av = ai >= 0 ? ad[ai] : 1, bv = bi >= 0 ? bd[bi] : 1;
        if (av != bv && av != 1 && bv != 1) {
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                               "batch dims %lld and %lld do not broadcast", (long long)av,
                               (long long)bv);
        }
        s->bdims[d] = av > bv ? av : bv;
        s->astr[d] = av == 1 ? 0 : as;
        s->bstr[d] = bv == 1 ? 0 : bs;
        as *= av;
        bs *= bv;
        s->nbatch *= s->bdims[d];
    }
    /* output shape: batch dims, then M (unless A was 1-D), then N (unless B was 1-D) */
    int yn = 0;
    for (int d = 0; d < nb; d++)
        y->dims[yn++] = s->bdims[d];
    if (a->ndim != 1)
        y->dims[yn++] = s->M;
    if (b->ndim != 1)
        y->dims[yn++] = s->N;
    y->ndim = yn;
    y->dtype = a->dtype;
    /* B shared by every batch and A contiguous: one product with M * nbatch rows */
    if (nb > 0) {
        int bshared = 1;
        for (int d = 0; d < nb; d++)
            bshared &= s->bstr[d] == 0 && s->astr[d] != 0;
        if (bshared) {
            s->M *= s->nbatch;
            s->nbatch = 1;
            s->batch_nd = 0;
        }
    }
    s->epi.f32 = a->dtype == MMSP_DT_FP32;
    s->epi.N = s->N;
    /* a constant 2-D float B (shared by every batch) and a variable A (a constant one is
     * folded at plan time, once): B packed once for the model */
    if (s->epi.f32 && !a->data && b->data && b->ndim == 2 && s->N >= GEMM_PACKED_MIN_N &&
        s->M * s->N * s->K >= GEMM_BLAS_MIN) {
        s->epi.pk = onnx_gemm_pack_get(b->data, 0, s->K, s->N);
        if (s->epi.pk)
            ctx->scratch_bytes = onnx_gemm_packed_scratch(s->epi.pk, s->M, 0);
    }
    return MMSP_OK;
}

static void matmul_free(void *state)
{
    struct matmul *s = state;
    epilogue_release(&s->epi);
    free(s);
}

static mmsp_err matmul_run(const struct onnx_run_ctx *ctx)
{
    const struct matmul *s = ctx->state;
    const struct onnx_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    struct onnx_tensor *y = ctx->outputs[0];
    size_t es = onnx_dtype_size(a->dtype);
    int64_t idx[ONNX_MAX_DIMS] = {0};

    for (int64_t n = 0; n < s->nbatch; n++) {
        int64_t ao = 0, bo = 0;
        for (int d = 0; d < s->batch_nd; d++) {
            ao += idx[d] * s->astr[d];
            bo += idx[d] * s->bstr[d];
        }
        void *yn = (char *)y->data + n * s->M * s->N * (int64_t)es;
        const void *an = (const char *)a->data + ao * (int64_t)es;
        if (s->epi.pk) /* B is 2-D: bo == 0 */
            onnx_gemm_packed_run(s->epi.pk, 0, s->M, 1.0f, an, 0, s->epi.bias, s->epi.relu, yn,
                                 ctx->scratch, ONNX_GEMM_AUTO);
        else
            gemm(a->dtype, 0, 0, s->M, s->N, s->K, 1.0, an,
                 (const char *)b->data + bo * (int64_t)es, 0.0, yn);
        for (int d = s->batch_nd - 1; d >= 0 && ++idx[d] == s->bdims[d]; d--)
            idx[d] = 0;
    }
    if (!s->epi.pk && s->epi.f32)
        epilogue_apply(&s->epi, y->data, s->N ? y->count / s->N : 0);
    return MMSP_OK;
}

/* ---- Gemm ---- */

struct gemm_state {
    struct epilogue epi;
    int c_bias; /* C is a constant row: beta * C is in epi.bias, run ignores C */
    int ta, tb;
    int64_t M, N, K;
    double alpha, beta;
    const void *bt; /* constant float B with transB=1, transposed to K x N at prepare (in bt_buf):
                       run uses it with transB=0, so OpenBLAS does not repack B^T every run */
    double bt_buf[];
};

/* Largest constant B (elements) given a pre-transposed copy per plan; see gemm_prepare. */
#define GEMM_PRETRANSPOSE_MAX 65536

/* dst[K x N] = src[N x K] transposed, float (es 4) or double (es 8) elements. */
static void transpose(void *dst, const void *src, int64_t N, int64_t K, size_t es)
{
    for (int64_t j = 0; j < N; j++)
        for (int64_t k = 0; k < K; k++) {
            if (es == sizeof(float))
                ((float *)dst)[k * N + j] = ((const float *)src)[j * K + k];
            else
                ((double *)dst)[k * N + j] = ((const double *)src)[j * K + k];
        }
}

static mmsp_err gemm_prepare(struct onnx_prepare_ctx *ctx)
{
    const struct onnx_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    const struct onnx_tensor *c = ctx->n_inputs > 2 ? ctx->inputs[2] : NULL;
    int64_t ta, tb;
    float alpha, beta;
    mmsp_err rc;

    if ((rc = onnx_attr_int(ctx->node, "transA", 0, &ta, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_int(ctx->node, "transB", 0, &tb, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_float(ctx->node, "alpha", 1.0f, &alpha, ctx->err, ctx->errlen)) ||
        (rc = onnx_attr_float(ctx->node, "beta", 1.0f, &beta, ctx->err, ctx->errlen)))
        return rc;
    if (a->dtype != b->dtype || !supported(a->dtype) || (c && c->dtype != a->dtype))
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_UNSUPPORTED,
                           "types %s and %s are not supported", onnx_dtype_name(a->dtype),
                           onnx_dtype_name(b->dtype));
    if (a->ndim != 2 || b->ndim != 2)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                           "A and B must be 2-D (ranks %d and %d)", a->ndim, b->ndim);
    if (ctx->node->opset < 11 && !c)
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_BAD_MODEL,
                           "C is required before opset 11");
    /* The transposed copy belongs to this plan, and a model has a plan per batch size: with
     * dynamic batching a model sees many sizes, and copying a large B for each new one cost
     * more than OpenBLAS's packing saves (measured on the 256->1024->1024->10 MLP). So only
     * small B are copied. Float B is packed once per model instead where the CPU has the
     * packed GEMM (below). */
    int pretrans =
        tb && b->data &&
        (a->dtype == MMSP_DT_FP64 || (a->dtype == MMSP_DT_FP32 && !onnx_gemm_packed_available())) &&
        b->count <= GEMM_PRETRANSPOSE_MAX;
    size_t bt_bytes = pretrans ? (size_t)b->count * onnx_dtype_size(b->dtype) : 0;
    struct gemm_state *s = calloc(1, sizeof *s + bt_bytes);
    if (!s)
        return MMSP_E_NOMEM;
    ctx->state = s; /* the planner frees it, also when prepare fails */
    s->ta = ta != 0;
    s->tb = tb != 0;
    s->M = s->ta ? a->dims[1] : a->dims[0];
    s->K = s->ta ? a->dims[0] : a->dims[1];
    s->N = s->tb ? b->dims[0] : b->dims[1];
    s->alpha = alpha;
    s->beta = c ? beta : 0;
    int64_t kb = s->tb ? b->dims[1] : b->dims[0];
    if (kb != s->K) {
        return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                           "inner dims %lld and %lld differ", (long long)s->K, (long long)kb);
    }
    if (pretrans) {
        transpose(s->bt_buf, b->data, b->dims[0], b->dims[1], onnx_dtype_size(b->dtype));
        s->bt = s->bt_buf;
        s->tb = 0;
    }
    int64_t ydims[2] = {s->M, s->N};
    onnx_shape_set(&ctx->outputs[0], 2, ydims);
    ctx->outputs[0].dtype = a->dtype;
    if (c) { /* C must broadcast unidirectionally to [M, N] */
        int ok = c->ndim <= 2;
        for (int d = 0; ok && d < c->ndim; d++) {
            int64_t want = ydims[2 - c->ndim + d];
            ok = c->dims[d] == want || c->dims[d] == 1;
        }
        if (!ok)
            return onnx_op_err(ctx->node, ctx->err, ctx->errlen, MMSP_E_SHAPE,
                               "C does not broadcast to [%lld, %lld]", (long long)s->M,
                               (long long)s->N);
    }
    s->epi.f32 = a->dtype == MMSP_DT_FP32;
    s->epi.N = s->N;
    /* a constant float B: packed once for the model (the original, not this plan's copy) */
    if (s->epi.f32 && !a->data && b->data && s->N >= GEMM_PACKED_MIN_N &&
        s->M * s->N * s->K >= GEMM_BLAS_MIN) {
        s->epi.pk = onnx_gemm_pack_get(b->data, tb != 0, s->K, s->N);
        if (s->epi.pk) {
            ctx->scratch_bytes = onnx_gemm_packed_scratch(s->epi.pk, s->M, s->ta);
            /* a constant C row (or scalar) becomes the epilogue's bias */
            if (c && s->beta != 0 && c->data && (c->count == 1 || is_bias_row(c, s->N))) {
                if (!bias_add(&s->epi, c->data, c->count, (float)s->beta))
                    return MMSP_E_NOMEM;
                s->c_bias = 1;
            }
        }
    }
    return MMSP_OK;
}

static void gemm_free(void *state)
{
    struct gemm_state *s = state;
    epilogue_release(&s->epi);
    free(s);
}

/* Y = beta * C (broadcast), per dtype. */
#define SCALE_KERNEL(T, SUF)                                                                       \
    static void scale_##SUF(void *out, const void *const *in, const int64_t *step, int64_t n,      \
                            const void *arg)                                                       \
    {                                                                                              \
        T *o = out;                                                                                \
        const T *c = in[0];                                                                        \
        T beta = (T) * (const double *)arg;                                                        \
        for (int64_t i = 0; i < n; i++)                                                            \
            o[i] = beta * c[i * step[0]];                                                          \
    }
SCALE_KERNEL(float, f32)
SCALE_KERNEL(double, f64)

#define SCALE_INT(T, U, SUF)                                                                       \
    static void scale_##SUF(void *out, const void *const *in, const int64_t *step, int64_t n,      \
                            const void *arg)                                                       \
    {                                                                                              \
        T *o = out;                                                                                \
        const T *c = in[0];                                                                        \
        U beta = (U)(T) * (const double *)arg;                                                     \
        for (int64_t i = 0; i < n; i++)                                                            \
            o[i] = (T)(beta * (U)c[i * step[0]]);                                                  \
    }
SCALE_INT(int32_t, uint32_t, i32)
SCALE_INT(int64_t, uint64_t, i64)

static mmsp_err gemm_run(const struct onnx_run_ctx *ctx)
{
    const struct gemm_state *s = ctx->state;
    const struct onnx_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    struct onnx_tensor *y = ctx->outputs[0];
    double beta = 0;

    if (s->beta != 0 && !s->c_bias) {
        const struct onnx_tensor *c = ctx->inputs[2];
        onnx_bcast_fn fn = a->dtype == MMSP_DT_FP32    ? scale_f32
                           : a->dtype == MMSP_DT_FP64  ? scale_f64
                           : a->dtype == MMSP_DT_INT32 ? scale_i32
                                                       : scale_i64;
        onnx_bcast_run(y, 1, &c, fn, &s->beta);
        beta = 1;
    }
    if (s->epi.pk) {
        onnx_gemm_packed_run(s->epi.pk, s->ta, s->M, (float)s->alpha, a->data, beta != 0,
                             s->epi.bias, s->epi.relu, y->data, ctx->scratch, ONNX_GEMM_AUTO);
        return MMSP_OK;
    }
    gemm(a->dtype, s->ta, s->tb, s->M, s->N, s->K, s->alpha, a->data, s->bt ? s->bt : b->data, beta,
         y->data);
    if (s->epi.f32)
        epilogue_apply(&s->epi, y->data, s->M);
    return MMSP_OK;
}

const struct onnx_op onnx_op_MatMul = {
    .domain = "",
    .op_type = "MatMul",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = matmul_prepare,
    .run = matmul_run,
    .free_state = matmul_free,
};

const struct onnx_op onnx_op_Gemm = {
    .domain = "",
    .op_type = "Gemm",
    .since_min = 7,
    .since_max = 17,
    .min_inputs = 2,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = gemm_prepare,
    .run = gemm_run,
    .free_state = gemm_free,
};
