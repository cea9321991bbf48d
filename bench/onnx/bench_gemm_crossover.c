/*
 * Benchmark: where OpenBLAS cblas_sgemm starts beating plain loops for float products, the
 * crossover behind GEMM_BLAS_MIN in src/runtime/onnx/ops/matmul.c (docs/onnx.md, "Gemm /
 * MatMul crossover"). The loops are a copy of matmul.c's GEMM_FLOAT loops (same compiler and
 * flags as the runtime: this file is built with the project's build type); row-major
 * C[M,N] = A[M,K] * op(B), op(B) = B[K,N] (no trans) or B[N,K]^T (transB, as PyTorch exports
 * nn.Linear). Prints the median ns per product of each (thread CPU time, 31 samples of >= 2 ms)
 * and, per layout, the smallest M*N*K of the list from which sgemm is faster at every larger
 * size. Run with OPENBLAS_NUM_THREADS=1 and pinned (bench/onnx/run does both).
 * Usage: bench_gemm_crossover. Calls: OpenBLAS (cblas.h), libc.
 */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "../bench_util.h"

#define SAMPLES   31
#define SAMPLE_NS 2000000.0

static const int64_t SIZES[][3] = {/* M, N, K */
                                   {1, 8, 4},     {1, 16, 16},  {1, 2, 64},     {1, 32, 16},
                                   {1, 16, 64},   {1, 64, 30},  {1, 32, 64},    {1, 128, 64},
                                   {1, 64, 256},  {4, 64, 30},  {16, 64, 30},   {256, 2, 64},
                                   {256, 64, 30}, {64, 64, 64}, {1, 1024, 256}, {1, 1024, 1024}};
#define NSIZES ((int)(sizeof SIZES / sizeof SIZES[0]))

/* matmul.c's plain loops for float (alpha 1, beta 0, no transA). */
static void __attribute__((noinline))
loops(int tb, int64_t M, int64_t N, int64_t K, const float *A, const float *B, float *C)
{
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * N;
        for (int64_t j = 0; j < N; j++)
            c[j] = 0;
        if (tb) {
            for (int64_t j = 0; j < N; j++) {
                const float *b = B + j * K;
                float acc = 0;
                for (int64_t k = 0; k < K; k++)
                    acc += A[i * K + k] * b[k];
                c[j] += acc;
            }
        } else {
            for (int64_t k = 0; k < K; k++) {
                float a = A[i * K + k];
                const float *b = B + k * N;
                for (int64_t j = 0; j < N; j++)
                    c[j] += a * b[j];
            }
        }
    }
}

static void blas(int tb, int64_t M, int64_t N, int64_t K, const float *A, const float *B, float *C)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                1.0f, A, (int)K, B, tb ? (int)K : (int)N, 0.0f, C, (int)N);
}

typedef void (*gemm_fn)(int, int64_t, int64_t, int64_t, const float *, const float *, float *);

static double time_it(gemm_fn f, int tb, const int64_t *s, const float *A, const float *B, float *C)
{
    double t0 = bench_cpu_ns();
    long n = 0;
    while (bench_cpu_ns() - t0 < 20e6 || n < 3) { /* warm-up, and the calls per sample */
        f(tb, s[0], s[1], s[2], A, B, C);
        n++;
    }
    long per = (long)(SAMPLE_NS / ((bench_cpu_ns() - t0) / (double)n)) + 1;
    double v[SAMPLES];
    for (int k = 0; k < SAMPLES; k++) {
        double a = bench_cpu_ns();
        for (long i = 0; i < per; i++)
            f(tb, s[0], s[1], s[2], A, B, C);
        v[k] = (bench_cpu_ns() - a) / (double)per;
    }
    qsort(v, SAMPLES, sizeof v[0], bench_cmp_double);
    return v[SAMPLES / 2];
}

int main(void)
{
    size_t cap = 1024 * 1024 * 2;
    float *A = malloc(cap * sizeof *A), *B = malloc(cap * sizeof *B), *C = malloc(cap * sizeof *C);
    if (!A || !B || !C)
        return 1;
    srand(7);
    for (size_t i = 0; i < cap; i++) {
        A[i] = (float)rand() / (float)RAND_MAX - 0.5f;
        B[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    }
    double t[NSIZES][4]; /* loop nt, sgemm nt, loop tb, sgemm tb */
    printf("%-16s %9s %11s %11s %11s %11s\n", "M x N x K", "MACs", "loop nt", "sgemm nt",
           "loop transB", "sgemm transB");
    for (int i = 0; i < NSIZES; i++) {
        const int64_t *s = SIZES[i];
        for (int tb = 0; tb < 2; tb++) {
            t[i][2 * tb] = time_it(loops, tb, s, A, B, C);
            t[i][2 * tb + 1] = time_it(blas, tb, s, A, B, C);
        }
        char dims[32];
        snprintf(dims, sizeof dims, "%lld x %lld x %lld", (long long)s[0], (long long)s[1],
                 (long long)s[2]);
        printf("%-16s %9lld %11.0f %11.0f %11.0f %11.0f\n", dims, (long long)(s[0] * s[1] * s[2]),
               t[i][0], t[i][1], t[i][2], t[i][3]);
    }
    /* Sizes sorted by MACs: the smallest from which sgemm wins at every larger listed size. */
    for (int tb = 0; tb < 2; tb++) {
        int64_t from = -1;
        for (int64_t macs = 1; macs <= (int64_t)1 << 32; macs *= 2) {
            int ok = 1;
            for (int i = 0; i < NSIZES; i++)
                if (SIZES[i][0] * SIZES[i][1] * SIZES[i][2] >= macs &&
                    t[i][2 * tb + 1] >= t[i][2 * tb])
                    ok = 0;
            if (ok) {
                from = macs;
                break;
            }
        }
        printf("CROSSOVER %s %lld (sgemm faster at every listed size with >= that many MACs; "
               "GEMM_BLAS_MIN is a single threshold for both layouts)\n",
               tb ? "transB" : "notrans", (long long)from);
    }
    free(A);
    free(B);
    free(C);
    return 0;
}
