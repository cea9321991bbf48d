/*
 * Benchmark: the packed GEMM of src/runtime/onnx/ops/gemm_packed.c, dense kernel against the
 * sparse-A kernel per share of zeros in A, with OpenBLAS (cblas_sgemm, or cblas_sgemv for one
 * row) as the reference; the measurement behind SPARSE_MIN_ZEROS in gemm_packed.c and the
 * packing conditions in ops/matmul.c (docs/onnx.md "Packed GEMM"). Row-major C[M,N] =
 * A[M,K] * B[K,N]; zeros are placed at random positions of A (fixed seed). Prints the median
 * ns per product of each (thread CPU time, 15 samples of >= 2 ms). Run pinned with
 * OPENBLAS_NUM_THREADS=1 (taskset -c 1).
 * Usage: bench_gemm_sparse [M N K ...] (BENCH_GEMM_ISA=avx2: the AVX2 kernels). Calls:
 * gemm_packed.h, OpenBLAS (cblas.h), libc.
 */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/onnx/ops/gemm_packed.h"
#include "../bench_util.h"

#define SAMPLES   15
#define SAMPLE_NS 2000000.0

static const int64_t SIZES[][3] = {/* M, N, K */
                                   {64, 1024, 1024}, {64, 1024, 256}, {64, 10, 1024},
                                   {1, 1024, 1024},  {1, 1024, 256},  {1, 10, 1024},
                                   {256, 64, 30},    {256, 2, 64},    {1, 64, 30},
                                   {16, 1024, 1024}, {256, 256, 256}};
#define NSIZES ((int)(sizeof SIZES / sizeof SIZES[0]))

static const double ZEROS[] = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};
#define NZEROS ((int)(sizeof ZEROS / sizeof ZEROS[0]))

struct job {
    int64_t M, N, K;
    const float *A, *B;
    float *C;
    const struct onnx_gemm_packed *pk;
    void *scratch;
    int what; /* 0 dense, 1 sparse, 2 auto, 3 OpenBLAS */
};

static void once(const struct job *j)
{
    if (j->what == 3) {
        if (j->M == 1)
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)j->K, (int)j->N, 1.0f, j->B, (int)j->N,
                        j->A, 1, 0.0f, j->C, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)j->M, (int)j->N, (int)j->K,
                        1.0f, j->A, (int)j->K, j->B, (int)j->N, 0.0f, j->C, (int)j->N);
        return;
    }
    enum onnx_gemm_path path = j->what == 0   ? ONNX_GEMM_DENSE
                               : j->what == 1 ? ONNX_GEMM_SPARSE
                                              : ONNX_GEMM_AUTO;
    onnx_gemm_packed_run(j->pk, 0, j->M, 1.0f, j->A, 0, NULL, 0, j->C, j->scratch, path);
}

/* Median ns per product. */
static double measure(const struct job *j)
{
    double s[SAMPLES];
    int64_t reps = 1;
    for (;;) { /* calibrate: reps per sample of >= SAMPLE_NS */
        double t0 = bench_cpu_ns();
        for (int64_t r = 0; r < reps; r++)
            once(j);
        double t = bench_cpu_ns() - t0;
        if (t >= SAMPLE_NS)
            break;
        reps *= 2;
    }
    for (int i = 0; i < SAMPLES; i++) {
        double t0 = bench_cpu_ns();
        for (int64_t r = 0; r < reps; r++)
            once(j);
        s[i] = (bench_cpu_ns() - t0) / (double)reps;
    }
    qsort(s, SAMPLES, sizeof s[0], bench_cmp_double);
    return s[SAMPLES / 2];
}

static float randn(void)
{
    return ((float)rand() / (float)RAND_MAX - 0.5f) * 2.0f;
}

static void bench(int64_t M, int64_t N, int64_t K)
{
    float *A = malloc((size_t)(M * K) * sizeof *A), *B = malloc((size_t)(K * N) * sizeof *B);
    float *C = malloc((size_t)(M * N) * sizeof *C);
    if (!A || !B || !C) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (int64_t i = 0; i < K * N; i++)
        B[i] = randn();
    const struct onnx_gemm_packed *pk = onnx_gemm_pack_get(B, 0, K, N);
    if (!pk) {
        fprintf(stderr, "bench_gemm_sparse: no packed kernel on this CPU\n");
        exit(1);
    }
    void *scratch = aligned_alloc(64, (onnx_gemm_packed_scratch(pk, M, 0) + 63) & ~(size_t)63);
    printf("M x N x K = %lld x %lld x %lld\n", (long long)M, (long long)N, (long long)K);
    printf("  zeros   dense ns  sparse ns    auto ns    blas ns  sparse/dense\n");
    for (int z = 0; z < NZEROS; z++) {
        srand(7);
        for (int64_t i = 0; i < M * K; i++) {
            float v = randn();
            A[i] = (double)rand() / RAND_MAX < ZEROS[z] ? 0.0f : (v == 0 ? 1.0f : v);
        }
        struct job j = {M, N, K, A, B, C, pk, scratch, 0};
        double t[4];
        for (int w = 0; w < 4; w++) {
            j.what = w;
            t[w] = measure(&j);
        }
        printf("  %5.2f %10.0f %10.0f %10.0f %10.0f %12.2f\n", ZEROS[z], t[0], t[1], t[2], t[3],
               t[1] / t[0]);
        fflush(stdout);
    }
    onnx_gemm_pack_release(pk);
    free(scratch);
    free(A);
    free(B);
    free(C);
}

int main(int argc, char **argv)
{
    const char *isa = getenv("BENCH_GEMM_ISA"); /* "avx2": the AVX2 kernels on an AVX-512 CPU */
    if (isa && !strcmp(isa, "avx2"))
        onnx_gemm_packed_limit_isa(ONNX_GEMM_ISA_AVX2);
    if (argc > 1) {
        for (int i = 1; i + 2 < argc; i += 3)
            bench(atoll(argv[i]), atoll(argv[i + 1]), atoll(argv[i + 2]));
        return 0;
    }
    for (int s = 0; s < NSIZES; s++)
        bench(SIZES[s][0], SIZES[s][1], SIZES[s][2]);
    return 0;
}
