/*
 * Unit tests for the packed GEMM (src/runtime/onnx/ops/gemm_packed.c) and the float Gemm /
 * MatMul operators built on it (ops/matmul.c): random sizes from 1 to ~300 (tile remainders
 * included), transA / transB, alpha / beta, C as a bias row or a full matrix, A with 0%, 50%,
 * 95% and 100% zeros, each result checked against a naive double-precision product (relative
 * tolerance 1e-5 of the sum of the absolute terms). The dense and the sparse kernel are forced
 * in turn, with each instruction set the CPU has (AVX-512, AVX2; the operators also with none,
 * i.e. OpenBLAS); a B holding NaN or inf must never take the sparse path (0 * inf is NaN). Fused
 * epilogues (bias row, Relu: onnx_matmul_fuse_*) and the sharing of one packed copy per
 * constant are covered too; a NaN reaching a fused Relu stays NaN, as the Relu operator's. Without
 * AVX-512 the packed cases are skipped (the operators then run on OpenBLAS and are still checked).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/onnx/graph.h"
#include "runtime/onnx/op.h"
#include "runtime/onnx/ops/gemm_packed.h"
#include "../test_rng.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    return (uint32_t)(test_xorshift64(&rng_state) >> 11);
}

/* Uniform in [-1, 1), never exactly 0 (zeros are placed on purpose). */
static float rndf(void)
{
    float v = (float)(rnd() % 2000000) / 1000000.0f - 1.0f;
    return v == 0 ? 0.5f : v;
}

static int64_t rnd_dim(void)
{
    static const int64_t edge[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 129};
    if (rnd() % 2)
        return edge[rnd() % (sizeof edge / sizeof edge[0])];
    return 1 + rnd() % 300;
}

static float *rnd_matrix(int64_t n, double zeros)
{
    float *m = malloc((size_t)(n ? n : 1) * sizeof *m);
    assert_non_null(m);
    for (int64_t i = 0; i < n; i++)
        m[i] = (double)(rnd() % 1000000) / 1e6 < zeros ? 0.0f : rndf();
    return m;
}

/*
 * Checks y against alpha * op(A) op(B) + beta * C (+ bias) (Relu) in double. C is NULL, a row
 * (c_row 1), a scalar (c_row 2) or M x N. NaN / inf in the reference must appear in y at the same
 * place.
 */
static void check(const float *y, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, const float *B, float beta, const float *C, int c_row,
                  const float *bias, int relu)
{
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0, mag = 0;
            for (int64_t k = 0; k < K; k++) {
                double a = ta ? A[k * M + i] : A[i * K + k];
                double b = tb ? B[j * K + k] : B[k * N + j];
                acc += a * b;
                mag += fabs(a * b);
            }
            double ref = (double)alpha * acc;
            mag *= fabs(alpha);
            if (C) {
                double c = (double)beta * (c_row == 2 ? C[0] : c_row ? C[j] : C[i * N + j]);
                ref += c;
                mag += fabs(c);
            }
            if (bias) {
                ref += bias[j];
                mag += fabs(bias[j]);
            }
            if (relu && ref < 0)
                ref = 0;
            double got = y[i * N + j];
            if (isnan(ref) || isinf(ref)) {
                if (isnan(ref) ? !isnan(got) : got != ref)
                    fail_msg("[%lld,%lld] of %lldx%lldx%lld: got %g, want %g", (long long)i,
                             (long long)j, (long long)M, (long long)N, (long long)K, got, ref);
                continue;
            }
            if (!(fabs(got - ref) <= 1e-5 * mag + 1e-30))
                fail_msg("[%lld,%lld] of %lldx%lldx%lld (ta %d tb %d alpha %g beta %g): got %.9g, "
                         "want %.9g",
                         (long long)i, (long long)j, (long long)M, (long long)N, (long long)K, ta,
                         tb, alpha, beta, got, ref);
        }
}

static void *scratch_for(const struct onnx_gemm_packed *p, int64_t M, int ta)
{
    size_t n = onnx_gemm_packed_scratch(p, M, ta);
    void *s = aligned_alloc(64, (n + 63) & ~(size_t)63 ? (n + 63) & ~(size_t)63 : 64);
    assert_non_null(s);
    return s;
}

/* The kernels directly: dense and sparse forced, every zero share, random shapes. */
static void packed_kernels(enum onnx_gemm_isa isa)
{
    static const double zero_shares[] = {0, 0.5, 0.95, 1.0};
    onnx_gemm_packed_limit_isa(isa);
    for (int iter = 0; iter < 60; iter++) {
        int64_t M = rnd_dim(), N = rnd_dim(), K = rnd_dim();
        int ta = iter % 4 == 3, tb = iter % 2;
        float alpha = iter % 3 ? 1.0f : 0.5f - (float)(iter % 5);
        double zeros = zero_shares[iter % 4];
        float *A = rnd_matrix(M * K, zeros), *B = rnd_matrix(K * N, 0.1);
        float *bias = iter % 5 ? rnd_matrix(N, 0) : NULL, *C0 = rnd_matrix(M * N, 0);
        float *y = malloc((size_t)(M * N) * sizeof *y);
        assert_non_null(y);
        const struct onnx_gemm_packed *p = onnx_gemm_pack_get(B, tb, K, N);
        assert_non_null(p);
        assert_int_equal(p->isa, isa);
        assert_true(p->finite);
        void *scratch = scratch_for(p, M, ta);
        for (int path = ONNX_GEMM_AUTO; path <= ONNX_GEMM_SPARSE; path++) {
            int relu = (iter + path) % 2, acc = path == ONNX_GEMM_DENSE && iter % 3 == 0;
            memcpy(y, C0, (size_t)(M * N) * sizeof *y);
            onnx_gemm_packed_run(p, ta, M, alpha, A, acc, bias, relu, y, scratch, path);
            check(y, ta, tb, M, N, K, alpha, A, B, 1.0f, acc ? C0 : NULL, 0, bias, relu);
        }
        onnx_gemm_pack_release(p);
        free(scratch);
        free(A);
        free(B);
        free(bias);
        free(C0);
        free(y);
    }
    onnx_gemm_packed_limit_isa(ONNX_GEMM_ISA_AVX512);
}

/* The instruction sets this CPU has, best first (none: the packed tests are skipped). */
static int cpu_isas(enum onnx_gemm_isa *out)
{
    int n = 0;
    float b = 1;
    for (int isa = ONNX_GEMM_ISA_AVX512; isa > ONNX_GEMM_ISA_NONE; isa--) {
        onnx_gemm_packed_limit_isa((enum onnx_gemm_isa)isa);
        const struct onnx_gemm_packed *p = onnx_gemm_pack_get(&b, 0, 1, 1);
        if (p && (int)p->isa == isa)
            out[n++] = (enum onnx_gemm_isa)isa;
        onnx_gemm_pack_release(p);
    }
    onnx_gemm_packed_limit_isa(ONNX_GEMM_ISA_AVX512);
    return n;
}

static void test_packed_kernels(void **state)
{
    enum onnx_gemm_isa isas[2];
    int n = cpu_isas(isas);
    (void)state;
    if (!n)
        skip();
    for (int i = 0; i < n; i++)
        packed_kernels(isas[i]);
}

/* NaN or inf in B: not finite, so zeros of A are multiplied (0 * inf = NaN reaches C). */
static void test_packed_nonfinite_b(void **state)
{
    enum onnx_gemm_isa isas[2];
    int n_isa = cpu_isas(isas);
    (void)state;
    if (!n_isa)
        skip();
    for (int iter = 0; iter < 8 * n_isa; iter++) {
        onnx_gemm_packed_limit_isa(isas[iter % n_isa]);
        int64_t M = 1 + rnd() % 70, N = 1 + rnd() % 100, K = 2 + rnd() % 200;
        int tb = iter % 2;
        float *A = rnd_matrix(M * K, 0.95), *B = rnd_matrix(K * N, 0);
        B[rnd() % (K * N)] = iter % 4 < 2 ? NAN : INFINITY;
        B[rnd() % (K * N)] = -INFINITY;
        float *y = malloc((size_t)(M * N) * sizeof *y);
        assert_non_null(y);
        const struct onnx_gemm_packed *p = onnx_gemm_pack_get(B, tb, K, N);
        assert_non_null(p);
        assert_false(p->finite);
        void *scratch = scratch_for(p, M, 0);
        for (int path = ONNX_GEMM_AUTO; path <= ONNX_GEMM_SPARSE; path++) {
            int relu = path != ONNX_GEMM_DENSE; /* NaN must survive the fused Relu */
            onnx_gemm_packed_run(p, 0, M, 1.0f, A, 0, NULL, relu, y, scratch, path);
            check(y, 0, tb, M, N, K, 1.0f, A, B, 0, NULL, 0, NULL, relu);
        }
        onnx_gemm_pack_release(p);
        free(scratch);
        free(A);
        free(B);
        free(y);
    }
    onnx_gemm_packed_limit_isa(ONNX_GEMM_ISA_AVX512);
}

/* One packed copy per constant: same pointer, flag and shape share; others do not. */
static void test_pack_cache_shared(void **state)
{
    (void)state;
    if (!onnx_gemm_packed_available())
        skip();
    float *B = rnd_matrix(40 * 50, 0);
    const struct onnx_gemm_packed *a = onnx_gemm_pack_get(B, 0, 40, 50);
    const struct onnx_gemm_packed *b = onnx_gemm_pack_get(B, 0, 40, 50);
    const struct onnx_gemm_packed *c = onnx_gemm_pack_get(B, 1, 50, 40);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    onnx_gemm_pack_release(a);
    onnx_gemm_pack_release(b);
    onnx_gemm_pack_release(c);
    free(B);
}

static struct onnx_tensor tensor2(int64_t d0, int64_t d1, void *data)
{
    struct onnx_tensor t = {.dtype = MMSP_DT_FP32, .ndim = 2, .data = data, .count = d0 * d1};
    t.dims[0] = d0;
    t.dims[1] = d1;
    return t;
}

/*
 * Runs a float Gemm (B and C constant, as initializers are) through the registry, with
 * optional fused bias / Relu; y receives the output.
 */
static void run_gemm(int ta, int tb, float alpha, float beta, int64_t M, int64_t N, int64_t K,
                     const float *A, const float *B, const float *C, int c_row, const float *fbias,
                     int frelu, float *y)
{
    const struct onnx_op *op = onnx_op_find("", "Gemm", 13);
    struct onnx_attr attrs[4] = {
        {.name = "transA", .type = ONNX_ATTR_INT, .i = ta},
        {.name = "transB", .type = ONNX_ATTR_INT, .i = tb},
        {.name = "alpha", .type = ONNX_ATTR_FLOAT, .f = alpha},
        {.name = "beta", .type = ONNX_ATTR_FLOAT, .f = beta},
    };
    struct onnx_node node = {.name = "g",
                             .op_type = "Gemm",
                             .domain = "",
                             .opset = 13,
                             .n_attrs = 4,
                             .attrs = attrs,
                             .n_inputs = C ? 3 : 2,
                             .n_outputs = 1};
    struct onnx_tensor ta_t = ta ? tensor2(K, M, (void *)A) : tensor2(M, K, (void *)A);
    struct onnx_tensor tb_t = tb ? tensor2(N, K, (void *)B) : tensor2(K, N, (void *)B);
    struct onnx_tensor tc_t = c_row == 2 ? tensor2(1, 1, (void *)C)
                              : c_row    ? tensor2(1, N, (void *)C)
                                         : tensor2(M, N, (void *)C);
    if (c_row == 2) /* a 1-D [1] C, broadcast to every element */
        tc_t.ndim = 1;
    struct onnx_tensor a_prep = ta_t, bias_t = tensor2(1, N, (void *)fbias), out, yt;
    const struct onnx_tensor *in[3] = {&a_prep, &tb_t, &tc_t};
    struct onnx_tensor *outs[1] = {&yt};
    char err[256];

    assert_non_null(op);
    a_prep.data = NULL; /* A is not constant */
    memset(&out, 0, sizeof out);
    struct onnx_prepare_ctx pc = {.node = &node,
                                  .n_inputs = node.n_inputs,
                                  .inputs = in,
                                  .n_outputs = 1,
                                  .outputs = &out,
                                  .err = err,
                                  .errlen = sizeof err};
    assert_int_equal(op->prepare(&pc), MMSP_OK);
    if (fbias)
        assert_true(onnx_matmul_fuse_bias(op, pc.state, &bias_t));
    if (frelu)
        assert_true(onnx_matmul_fuse_relu(op, pc.state));
    void *scratch =
        pc.scratch_bytes ? aligned_alloc(64, (pc.scratch_bytes + 63) & ~(size_t)63) : NULL;
    yt = out;
    yt.data = y;
    assert_int_equal(onnx_tensor_count(&yt), MMSP_OK);
    in[0] = &ta_t;
    struct onnx_run_ctx rc = {.node = &node,
                              .state = pc.state,
                              .n_inputs = node.n_inputs,
                              .inputs = in,
                              .n_outputs = 1,
                              .outputs = outs,
                              .scratch = scratch,
                              .err = err,
                              .errlen = sizeof err};
    assert_int_equal(op->run(&rc), MMSP_OK);
    free(scratch);
    op->free_state(pc.state);
}

/* The Gemm operator: transposes, alpha/beta, C row or matrix, fused bias and Relu. */
static void test_gemm_operator(void **state)
{
    (void)state;
    for (int iter = 0; iter < 60; iter++) {
        onnx_gemm_packed_limit_isa((enum onnx_gemm_isa)(iter % 3)); /* none, AVX2, AVX-512 */
        int64_t M = rnd_dim(), N = rnd_dim(), K = rnd_dim();
        int ta = iter % 3 == 2, tb = iter % 2, c_row = iter % 4 == 3 ? 0 : iter % 7 == 5 ? 2 : 1;
        int has_c = iter % 5 != 4, frelu = iter % 3 == 0;
        float alpha = iter % 2 ? 1.0f : 1.5f, beta = iter % 3 ? 1.0f : -0.25f;
        float *A = rnd_matrix(M * K, iter % 2 ? 0.5 : 0), *B = rnd_matrix(K * N, 0);
        float *C = has_c ? rnd_matrix(c_row == 2 ? 1 : c_row ? N : M * N, 0) : NULL;
        float *fbias = iter % 6 == 1 ? rnd_matrix(N, 0) : NULL;
        float *y = malloc((size_t)(M * N) * sizeof *y), *ref_bias = NULL;
        assert_non_null(y);
        run_gemm(ta, tb, alpha, beta, M, N, K, A, B, C, c_row, fbias, frelu, y);
        ref_bias = fbias;
        check(y, ta, tb, M, N, K, alpha, A, B, beta, C, c_row, ref_bias, frelu);
        free(A);
        free(B);
        free(C);
        free(fbias);
        free(y);
    }
    onnx_gemm_packed_limit_isa(ONNX_GEMM_ISA_AVX512);
}

/* MatMul with a constant 2-D B and batch dims on A (merged into rows), fused bias + Relu. */
static void test_matmul_operator(void **state)
{
    (void)state;
    const struct onnx_op *op = onnx_op_find("", "MatMul", 13);
    assert_non_null(op);
    for (int iter = 0; iter < 18; iter++) {
        onnx_gemm_packed_limit_isa((enum onnx_gemm_isa)(iter % 3)); /* none, AVX2, AVX-512 */
        int64_t b0 = 1 + iter % 3, M = rnd_dim(), N = rnd_dim(), K = rnd_dim();
        float *A = rnd_matrix(b0 * M * K, iter % 2 ? 0.6 : 0), *B = rnd_matrix(K * N, 0);
        float *bias = rnd_matrix(N, 0), *y = malloc((size_t)(b0 * M * N) * sizeof *y);
        assert_non_null(y);
        struct onnx_node node = {.name = "m",
                                 .op_type = "MatMul",
                                 .domain = "",
                                 .opset = 13,
                                 .n_inputs = 2,
                                 .n_outputs = 1};
        struct onnx_tensor ta = {.dtype = MMSP_DT_FP32, .ndim = 3, .count = b0 * M * K};
        ta.dims[0] = b0;
        ta.dims[1] = M;
        ta.dims[2] = K;
        struct onnx_tensor tb = tensor2(K, N, B), bias_t = {.dtype = MMSP_DT_FP32, .ndim = 1};
        bias_t.dims[0] = N;
        bias_t.count = N;
        bias_t.data = bias;
        struct onnx_tensor out, yt;
        const struct onnx_tensor *in[2] = {&ta, &tb};
        struct onnx_tensor *outs[1] = {&yt};
        char err[256];
        memset(&out, 0, sizeof out);
        struct onnx_prepare_ctx pc = {.node = &node,
                                      .n_inputs = 2,
                                      .inputs = in,
                                      .n_outputs = 1,
                                      .outputs = &out,
                                      .err = err,
                                      .errlen = sizeof err};
        assert_int_equal(op->prepare(&pc), MMSP_OK);
        assert_true(onnx_matmul_fuse_bias(op, pc.state, &bias_t));
        assert_true(onnx_matmul_fuse_relu(op, pc.state));
        assert_false(onnx_matmul_fuse_relu(op, pc.state));          /* once */
        assert_false(onnx_matmul_fuse_bias(op, pc.state, &bias_t)); /* not after Relu */
        void *scratch =
            pc.scratch_bytes ? aligned_alloc(64, (pc.scratch_bytes + 63) & ~(size_t)63) : NULL;
        yt = out;
        yt.data = y;
        assert_int_equal(onnx_tensor_count(&yt), MMSP_OK);
        assert_int_equal(yt.count, b0 * M * N);
        ta.data = A;
        struct onnx_run_ctx rc = {.node = &node,
                                  .state = pc.state,
                                  .n_inputs = 2,
                                  .inputs = in,
                                  .n_outputs = 1,
                                  .outputs = outs,
                                  .scratch = scratch,
                                  .err = err,
                                  .errlen = sizeof err};
        assert_int_equal(op->run(&rc), MMSP_OK);
        check(y, 0, 0, b0 * M, N, K, 1.0f, A, B, 0, NULL, 0, bias, 1);
        free(scratch);
        op->free_state(pc.state);
        free(A);
        free(B);
        free(bias);
        free(y);
    }
    onnx_gemm_packed_limit_isa(ONNX_GEMM_ISA_AVX512);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packed_kernels),    cmocka_unit_test(test_packed_nonfinite_b),
        cmocka_unit_test(test_pack_cache_shared), cmocka_unit_test(test_gemm_operator),
        cmocka_unit_test(test_matmul_operator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
