/*
 * Packed single-precision GEMM for constant B operands (weights of Gemm / MatMul), used by
 * ops/matmul.c and driven directly by tests/unit/runtime/test_onnx_gemm_packed.c and
 * bench/onnx/bench_gemm_sparse.c. docs/onnx.md "Packed GEMM" has the design and figures.
 *
 * Ownership: a packed B is shared by every plan (and every node) that packs the same constant
 * (same data pointer, transpose flag and shape): onnx_gemm_pack_get returns a reference,
 * onnx_gemm_pack_release drops it, the last release frees it. The constant must outlive the
 * reference (it does: plans are freed before their model's weights, a plan's folded
 * constants after its op states).
 */
#ifndef MMSP_RUNTIME_ONNX_OPS_GEMM_PACKED_H
#define MMSP_RUNTIME_ONNX_OPS_GEMM_PACKED_H

#include <stddef.h>
#include <stdint.h>

/* Kernel sets, in order of preference (the CPU decides at run time, __builtin_cpu_supports). */
enum onnx_gemm_isa { ONNX_GEMM_ISA_NONE = 0, ONNX_GEMM_ISA_AVX2, ONNX_GEMM_ISA_AVX512 };

/* A packed B (read-only once built). */
struct onnx_gemm_packed {
    struct onnx_gemm_packed *next; /* cache list (gemm_packed.c) */
    long refs;                     /* guarded by the cache lock */
    const float *key;              /* the constant's data */
    int tb;                        /* key was N x K (transB) */
    enum onnx_gemm_isa isa;        /* kernels that run it */
    int64_t K, N;
    int64_t npanels; /* ceil(N / 64) panels of K x 64 floats, zero padded */
    int finite;      /* no NaN / inf in B: the sparse path may skip zeros of A */
    float *data;     /* 64-byte aligned, npanels * K * 64 floats */
};

/* Which kernel a call uses: AUTO decides per block of rows from the share of zeros in A. */
enum onnx_gemm_path { ONNX_GEMM_AUTO = 0, ONNX_GEMM_DENSE, ONNX_GEMM_SPARSE };

/* Whether this CPU runs packed kernels (AVX-512 F/VL/DQ + FMA, or AVX2 + FMA). */
int onnx_gemm_packed_available(void);

/*
 * Tests and benchmarks only: use no kernel set above `isa` for B packed from now on (NONE:
 * nothing is packed, matmul.c uses OpenBLAS). Not thread-safe; the default is AVX512.
 */
void onnx_gemm_packed_limit_isa(enum onnx_gemm_isa isa);

/*
 * A reference to B (K x N row-major, or N x K when tb) packed, shared with every other holder
 * of the same constant; NULL when the CPU has no kernel, K or N is 0, or memory ran out.
 */
const struct onnx_gemm_packed *onnx_gemm_pack_get(const float *B, int tb, int64_t K, int64_t N);
void onnx_gemm_pack_release(const struct onnx_gemm_packed *p);

/* Scratch bytes onnx_gemm_packed_run needs for M rows of op(A) (64-byte aligned scratch). */
size_t onnx_gemm_packed_scratch(const struct onnx_gemm_packed *p, int64_t M, int ta);

/*
 * C[M, N] = alpha * op(A) * B (+ C when accumulate) (+ bias[N], a row broadcast over rows)
 * (then max(., 0) when relu). op(A) is A (M x K row-major) or, when ta, A stored K x M.
 * bias may be NULL. ONNX_GEMM_SPARSE is honoured only when B is finite and !ta (else dense).
 */
void onnx_gemm_packed_run(const struct onnx_gemm_packed *p, int ta, int64_t M, float alpha,
                          const float *A, int accumulate, const float *bias, int relu, float *C,
                          void *scratch, enum onnx_gemm_path path);

#endif
