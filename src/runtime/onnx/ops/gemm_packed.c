/*
 * Packed single-precision GEMM for constant B operands (ops/matmul.c's Gemm and MatMul).
 * B is packed once per weight tensor into panels of 64 columns (K x 64 floats each, zero
 * padded), kept in a process-wide refcounted cache keyed by the constant's data pointer, so all
 * plans of a model share one copy and the last plan's release frees it. A run then computes
 * blocks of 64 rows of C either densely (A read in place, an 8 x 32 AVX-512 micro-kernel with
 * 16 zmm accumulators over half panels) or, when enough of the block of A is exactly zero (the
 * output of a Relu), sparsely: each row's nonzeros are listed once (vector compress), then
 * accumulated against 128-row slices of one panel (4 zmm per nonzero). Both fuse alpha, the
 * accumulated C, a bias row and Relu into the store. Skipping zeros is exact only for finite B
 * (0 * inf = NaN): the sparse path is never taken when B holds a NaN or inf. CPU features are
 * checked at plan time: AVX-512 kernels, else AVX2 + FMA ones (6 x 16 dense tiles), else nothing
 * is packed (onnx_gemm_pack_get returns NULL) and matmul.c keeps OpenBLAS.
 * Calls: libc, pthreads, <immintrin.h> (x86-64 only).
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/onnx/ops/gemm_packed.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_KERNELS 1
#else
#define HAVE_KERNELS 0
#endif

#define NR       32 /* columns per dense micro-kernel: two zmm */
#define MR       8  /* rows per dense micro-kernel: 8 x 2 zmm accumulators */
#define RB       64 /* rows of A per block: the dense/sparse choice and the scratch are per block */
#define KC_DENSE 512 /* K block of the dense kernel: B slice 64 KiB from L2, A tile 16 KiB */
/* tuning knobs (overridable with -D in bench experiments) */
#ifndef KC_SPARSE
#define KC_SPARSE 128 /* K block of the sparse kernel */
#endif
#ifndef SP
#define SP 2 /* 32-column halves per B panel: the sparse kernel takes a whole panel per pass */
#endif
#define PW       (NR * SP) /* columns per B panel (a row of it is contiguous) */
#define LIST_PAD 16        /* slack after a row's list: compressed stores write 16 lanes */

/*
 * Share of zero elements in a block of A from which the sparse path is taken (AUTO), by rows
 * in the block: measured crossovers (bench/onnx/bench_gemm_sparse, docs/onnx.md "Packed GEMM")
 * were 0.29-0.33 from 16 to 64 rows, 0.41-0.50 at 4 and 8 rows, under 0.2 at 2 and 3 rows
 * (the dense kernel is then bound by streaming B) and 0 at one row; 0.41 with a single panel
 * (N = 64). See sparse_pays.
 */
#define SPARSE_MIN_ZEROS       0.33
#define SPARSE_MIN_ZEROS_FEW   0.45 /* 4 to 15 rows */
#define SPARSE_MIN_ZEROS_SMALL 0.20 /* 2 or 3 rows */
#define SPARSE_MIN_ZEROS_PANEL 0.42 /* at least this with one panel */

/* ---- cache of packed constants ---- */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct onnx_gemm_packed *cache_head;

static enum onnx_gemm_isa isa_limit = ONNX_GEMM_ISA_AVX512;

void onnx_gemm_packed_limit_isa(enum onnx_gemm_isa isa)
{
    isa_limit = isa;
}

/* The best kernel set this CPU runs, within the limit. */
static enum onnx_gemm_isa isa_best(void)
{
#if HAVE_KERNELS
    /* cheap (a read of libgcc's cpu model); called at plan build only */
    if (isa_limit >= ONNX_GEMM_ISA_AVX512 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("fma"))
        return ONNX_GEMM_ISA_AVX512;
    if (isa_limit >= ONNX_GEMM_ISA_AVX2 && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        return ONNX_GEMM_ISA_AVX2;
#endif
    return ONNX_GEMM_ISA_NONE;
}

int onnx_gemm_packed_available(void)
{
    return isa_best() != ONNX_GEMM_ISA_NONE;
}

static int64_t imin(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* dst = B in panels: panel p holds rows k = 0..K of columns PW*p..PW*p+PW-1, zero padded. */
static void pack(float *dst, const float *B, int tb, int64_t K, int64_t N)
{
    for (int64_t p = 0; p * PW < N; p++) {
        int64_t j0 = p * PW, nr = imin(PW, N - j0);
        float *d = dst + p * K * PW;
        if (nr < PW)
            memset(d, 0, (size_t)(K * PW) * sizeof *d);
        if (tb) { /* rows of B are columns: read them in order */
            for (int64_t j = 0; j < nr; j++)
                for (int64_t k = 0; k < K; k++)
                    d[k * PW + j] = B[(j0 + j) * K + k];
        } else {
            for (int64_t k = 0; k < K; k++)
                memcpy(d + k * PW, B + k * N + j0, (size_t)nr * sizeof *d);
        }
    }
}

static int all_finite(const float *B, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(B[i]))
            return 0;
    return 1;
}

const struct onnx_gemm_packed *onnx_gemm_pack_get(const float *B, int tb, int64_t K, int64_t N)
{
    struct onnx_gemm_packed *p;
    enum onnx_gemm_isa isa = isa_best();

    /* list entries hold k * PW in 32 bits */
    if (isa == ONNX_GEMM_ISA_NONE || K <= 0 || N <= 0 || !B || K > (INT32_MAX - KC_SPARSE) / PW)
        return NULL;
    /* packing under the lock: it happens once per weight tensor, at plan build */
    pthread_mutex_lock(&cache_lock);
    for (p = cache_head; p; p = p->next)
        if (p->key == B && p->tb == tb && p->K == K && p->N == N && p->isa == isa) {
            p->refs++;
            goto out;
        }
    p = calloc(1, sizeof *p);
    if (!p)
        goto out;
    p->npanels = (N + PW - 1) / PW;
    size_t bytes = (size_t)(p->npanels * K * PW) * sizeof(float);
    p->data = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (!p->data) {
        free(p);
        p = NULL;
        goto out;
    }
    p->key = B;
    p->isa = isa;
    p->tb = tb;
    p->K = K;
    p->N = N;
    p->refs = 1;
    p->finite = all_finite(B, K * N);
    pack(p->data, B, tb, K, N);
    p->next = cache_head;
    cache_head = p;
out:
    pthread_mutex_unlock(&cache_lock);
    return p;
}

void onnx_gemm_pack_release(const struct onnx_gemm_packed *cp)
{
    struct onnx_gemm_packed **pp, *p = NULL;

    if (!cp)
        return;
    pthread_mutex_lock(&cache_lock);
    for (pp = &cache_head; *pp; pp = &(*pp)->next)
        if (*pp == cp) {
            p = *pp;
            if (--p->refs == 0)
                *pp = p->next;
            else
                p = NULL;
            break;
        }
    pthread_mutex_unlock(&cache_lock);
    if (p) {
        free(p->data);
        free(p);
    }
}

/* ---- scratch layout ---- */

static int64_t nkb_sparse(int64_t K)
{
    return K ? (K + KC_SPARSE - 1) / KC_SPARSE : 1;
}

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* A transposed (transA only): RB rows x K floats, then the sparse lists (finite B only). */
struct scratch {
    float *apack;
    uint64_t *ent; /* RB rows of K + LIST_PAD entries: value bits << 32 | k * PW */
    int32_t *seg;  /* RB rows of nkb + 1 starts into the row's list */
};

static size_t scratch_layout(const struct onnx_gemm_packed *p, int64_t M, int ta, void *base,
                             struct scratch *s)
{
    int64_t rows = imin(M, RB), K = p->K;
    size_t off = 0;
    unsigned char *b = base;
    size_t apack = ta ? align64((size_t)(rows * K) * sizeof(float)) : 0;
    if (s)
        s->apack = (float *)(b + off);
    off += apack;
    if (p->finite) {
        size_t list = align64((size_t)(rows * (K + LIST_PAD)) * sizeof(uint64_t));
        if (s) {
            s->ent = (uint64_t *)(b + off);
            s->seg = (int32_t *)(b + off + list);
        }
        off += list + align64((size_t)(rows * (nkb_sparse(K) + 1)) * 4);
    }
    return off;
}

size_t onnx_gemm_packed_scratch(const struct onnx_gemm_packed *p, int64_t M, int ta)
{
    return M > 0 ? scratch_layout(p, M, ta, NULL, NULL) : 0;
}

#if HAVE_KERNELS

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,fma")))
#define INLINE __attribute__((always_inline)) inline

/* Lane mask for `n` (may be <= 0 or > 16) valid columns of a zmm. */
AVX512 static __mmask16 lanes(int64_t n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* Stores one zmm of results: alpha, + C, + bias, Relu, masked to the valid columns. */
AVX512 static INLINE void store_out(float *c, __m512 v, __mmask16 m, float alpha, int load,
                                    const float *bias, int relu)
{
    if (alpha != 1.0f)
        v = _mm512_mul_ps(v, _mm512_set1_ps(alpha));
    if (load)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, c));
    if (bias)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias));
    if (relu) /* as ops/activation.c's Relu: NaN stays NaN, -0 gives +0 */
        v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NLE_UQ), v);
    _mm512_mask_storeu_ps(c, m, v);
}

/*
 * Dense micro-kernel: rows 0..mr of A (row stride lda, read in place: packing A cost more than
 * it saved, docs/onnx.md) times kc rows of 32 columns of a B panel (row stride PW) into C (row
 * stride ldc), columns masked by m0/m1.
 */
AVX512 static INLINE void dense_tile(const int mr, int64_t kc, const float *a, int64_t lda,
                                     const float *bp, float *c, int64_t ldc, __mmask16 m0,
                                     __mmask16 m1, float alpha, int load, const float *bias,
                                     int relu)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++)
        c0[r] = c1[r] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(bp + k * PW), b1 = _mm512_load_ps(bp + k * PW + 16);
#pragma GCC unroll 8
        for (int r = 0; r < mr; r++) {
            __m512 ar = _mm512_set1_ps(a[r * lda + k]);
            c0[r] = _mm512_fmadd_ps(ar, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(ar, b1, c1[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
        store_out(c + r * ldc, c0[r], m0, alpha, load, bias, relu);
        store_out(c + r * ldc + 16, c1[r], m1, alpha, load, bias ? bias + 16 : NULL, relu);
    }
}

typedef void (*dense_fn)(int64_t kc, const float *a, int64_t lda, const float *bp, float *c,
                         int64_t ldc, __mmask16 m0, __mmask16 m1, float alpha, int load,
                         const float *bias, int relu);
#define DENSE_N(n)                                                                                 \
    AVX512 static void dense_##n(int64_t kc, const float *a, int64_t lda, const float *bp,         \
                                 float *c, int64_t ldc, __mmask16 m0, __mmask16 m1, float alpha,   \
                                 int load, const float *bias, int relu)                            \
    {                                                                                              \
        dense_tile(n, kc, a, lda, bp, c, ldc, m0, m1, alpha, load, bias, relu);                    \
    }
DENSE_N(1)
DENSE_N(2)
DENSE_N(3)
DENSE_N(4)
DENSE_N(5)
DENSE_N(6)
DENSE_N(7)
DENSE_N(8)
static const dense_fn dense_fns[MR + 1] = {NULL,    dense_1, dense_2, dense_3, dense_4,
                                           dense_5, dense_6, dense_7, dense_8};

/* t[i][k] = A[k][i0 + i] (rows x K, row-major) for A stored K x M (transA). */
static void transpose_a(float *t, const float *A, int64_t M, int64_t i0, int64_t rows, int64_t K)
{
    for (int64_t k = 0; k < K; k++)
        for (int64_t i = 0; i < rows; i++)
            t[i * K + k] = A[k * M + i0 + i];
}

/* A block of `rows` rows of C, dense. */
AVX512 static void dense_block(const struct onnx_gemm_packed *p, int64_t rows, const float *a,
                               float alpha, int accumulate, const float *bias, int relu, float *C)
{
    int64_t K = p->K, N = p->N;
    int64_t k0 = 0;
    do {
        int64_t kc = imin(KC_DENSE, K - k0);
        int load = accumulate || k0 > 0, last = k0 + kc >= K;
        for (int64_t q = 0; q * NR < N; q++) { /* 32-column halves of the panels */
            int64_t j0 = q * NR;
            __mmask16 m0 = lanes(N - j0), m1 = lanes(N - j0 - 16);
            const float *bp = p->data + (q / SP) * K * PW + k0 * PW + (q % SP) * NR;
            for (int64_t i0 = 0; i0 < rows; i0 += MR) {
                int mr = (int)imin(MR, rows - i0);
                dense_fns[mr](kc, a + i0 * K + k0, K, bp, C + i0 * N + j0, N, m0, m1, alpha, load,
                              last && bias ? bias + j0 : NULL, last && relu);
            }
        }
        k0 += kc;
    } while (k0 < K);
}

/* Nonzeros of A's block (rows x K, row stride lda) by a vector compare: their count. */
AVX512 static int64_t count_nonzero(const float *a, int64_t lda, int64_t rows, int64_t K)
{
    int64_t n = 0;
    __m512 z = _mm512_setzero_ps();
    for (int64_t i = 0; i < rows; i++) {
        const float *r = a + i * lda;
        for (int64_t k = 0; k < K; k += 16) {
            __mmask16 m = lanes(K - k);
            /* NEQ_UQ: NaN counts as nonzero (it must reach C) */
            n += __builtin_popcount(
                _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, r + k), z, _CMP_NEQ_UQ));
        }
    }
    return n;
}

/*
 * Lists each row's nonzeros (column index, value) in order, with seg[i][b] the start of the
 * row's entries in K block b (KC_SPARSE columns), seg[i][nkb] its end.
 */
AVX512 static void build_lists(const float *a, int64_t lda, int64_t rows, int64_t K,
                               const struct scratch *s)
{
    int64_t nkb = nkb_sparse(K);
    __m512 z = _mm512_setzero_ps();
    __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    /* interleave (offset, value) of lanes 0..7 and 8..15 into 64-bit entries */
    __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (int64_t i = 0; i < rows; i++) {
        const float *r = a + i * lda;
        uint64_t *ent = s->ent + i * (K + LIST_PAD);
        int32_t *seg = s->seg + i * (nkb + 1);
        int32_t n = 0;
        for (int64_t b = 0; b < nkb; b++) {
            seg[b] = n;
            int64_t kend = imin(K, (b + 1) * KC_SPARSE);
            for (int64_t k = b * KC_SPARSE; k < kend; k += 16) {
                __mmask16 m = lanes(kend - k);
                __m512 v = _mm512_maskz_loadu_ps(m, r + k);
                __mmask16 nz = _mm512_mask_cmp_ps_mask(m, v, z, _CMP_NEQ_UQ);
                /* compress in registers, then plain stores: Zen 4's compress-to-memory is slow */
                __m512i off = _mm512_mullo_epi32(_mm512_add_epi32(iota, _mm512_set1_epi32((int)k)),
                                                 _mm512_set1_epi32(PW));
                __m512i co = _mm512_maskz_compress_epi32(nz, off);
                __m512i cv = _mm512_maskz_compress_epi32(nz, _mm512_castps_si512(v));
                _mm512_storeu_si512(ent + n, _mm512_permutex2var_epi32(co, lo, cv));
                _mm512_storeu_si512(ent + n + 8, _mm512_permutex2var_epi32(co, hi, cv));
                n += __builtin_popcount(nz);
            }
        }
        seg[nkb] = n;
    }
}

/* The value of a list entry, broadcast. */
AVX512 static INLINE __m512 ent_val(uint64_t e)
{
    return _mm512_castsi512_ps(_mm512_set1_epi32((int)(e >> 32)));
}

/*
 * One row of C over one B panel (PW columns) from a list of nonzeros: c[j] (+)= alpha *
 * sum value(e) * panel[k(e)][j]. One 8-byte load per nonzero (the kernel is bound by loads: 4
 * of 64 bytes per nonzero); two accumulator sets hide the FMA latency.
 */
AVX512 static void sparse_row(const uint64_t *ent, int64_t n, const float *bp, float *c,
                              const __mmask16 *m, float alpha, int load, const float *bias,
                              int relu)
{
    __m512 x[2 * SP], y[2 * SP];
#pragma GCC unroll 8
    for (int t = 0; t < 2 * SP; t++)
        x[t] = y[t] = _mm512_setzero_ps();
    int64_t e = 0;
    /* the next pair's entries are loaded one iteration ahead, so the B addresses are ready when
     * the loads issue (reading up to 2 entries past the list stays inside its LIST_PAD) */
    uint64_t e0 = ent[0], e1 = ent[1];
    for (; e + 1 < n; e += 2) {
        uint64_t n0 = ent[e + 2], n1 = ent[e + 3];
        __m512 a0 = ent_val(e0), a1 = ent_val(e1);
        const float *b0 = bp + (uint32_t)e0, *b1 = bp + (uint32_t)e1;
#pragma GCC unroll 8
        for (int t = 0; t < 2 * SP; t++) {
            x[t] = _mm512_fmadd_ps(a0, _mm512_load_ps(b0 + 16 * t), x[t]);
            y[t] = _mm512_fmadd_ps(a1, _mm512_load_ps(b1 + 16 * t), y[t]);
        }
        e0 = n0;
        e1 = n1;
    }
    if (e < n) {
        __m512 a0 = ent_val(e0);
        const float *b0 = bp + (uint32_t)e0;
#pragma GCC unroll 8
        for (int t = 0; t < 2 * SP; t++)
            x[t] = _mm512_fmadd_ps(a0, _mm512_load_ps(b0 + 16 * t), x[t]);
    }
#pragma GCC unroll 8
    for (int t = 0; t < 2 * SP; t++)
        store_out(c + 16 * t, _mm512_add_ps(x[t], y[t]), m[t], alpha, load,
                  bias ? bias + 16 * t : NULL, relu);
}

/* A block of `rows` rows of C from the lists in s. */
AVX512 static void sparse_block(const struct onnx_gemm_packed *p, int64_t rows,
                                const struct scratch *s, float alpha, int accumulate,
                                const float *bias, int relu, float *C)
{
    int64_t K = p->K, N = p->N, nkb = nkb_sparse(K);
    for (int64_t b = 0; b < nkb; b++) {
        int load = accumulate || b > 0, last = b == nkb - 1;
        for (int64_t q = 0; q < p->npanels; q++) {
            int64_t j0 = q * PW;
            __mmask16 m[2 * SP];
            for (int t = 0; t < 2 * SP; t++)
                m[t] = lanes(N - j0 - 16 * t);
            const float *bp = p->data + q * K * PW;
            const float *bb = last && bias ? bias + j0 : NULL;
            for (int64_t i = 0; i < rows; i++) {
                const int32_t *seg = s->seg + i * (nkb + 1);
                const uint64_t *ent = s->ent + i * (K + LIST_PAD) + seg[b];
                sparse_row(ent, seg[b + 1] - seg[b], bp, C + i * N + j0, m, alpha, load, bb,
                           last && relu);
            }
        }
    }
}

/*
 * Whether the sparse kernel beats the dense one on a block of `rows` rows with `zeros` of its
 * rows * K elements zero. The sparse kernel computes whole 64-column panels, the dense one
 * 32-column halves, so a partly used last panel raises the bar, and with N <= 32 (half a
 * panel, 1.3x slower even at 70% zeros) only a single row goes sparse.
 */
static int sparse_pays(const struct onnx_gemm_packed *p, int64_t rows, int64_t zeros)
{
    double base = rows == 1   ? 0.0
                  : rows < 4  ? SPARSE_MIN_ZEROS_SMALL
                  : rows < 16 ? SPARSE_MIN_ZEROS_FEW
                              : SPARSE_MIN_ZEROS;
    if (rows > 1 && p->N <= NR)
        return 0;
    if (rows > 1 && p->npanels == 1 && base < SPARSE_MIN_ZEROS_PANEL)
        base = SPARSE_MIN_ZEROS_PANEL;
    double used_sparse = (double)p->N / (double)(p->npanels * PW);
    double used_dense = (double)p->N / (double)(((p->N + NR - 1) / NR) * NR);
    double min_zeros = 1.0 - (1.0 - base) * used_sparse / used_dense;
    return (double)zeros >= min_zeros * (double)(rows * p->K);
}

/* ---- AVX2 + FMA kernels (CPUs without AVX-512): 6 x 16 dense tiles, 8 ymm per panel row ---- */

#define AVX2 __attribute__((target("avx2,fma")))
#define MR2  6 /* rows per AVX2 dense tile: 6 x 2 ymm accumulators */
#define NR2  16

/* Lane mask (all-ones lanes) for `n` valid columns of a ymm. */
AVX2 static INLINE __m256i lanes8(int64_t n)
{
    int v = n >= 8 ? 8 : n <= 0 ? 0 : (int)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(v), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AVX2 static INLINE void store_out8(float *c, __m256 v, __m256i m, float alpha, int load,
                                   const float *bias, int relu)
{
    if (alpha != 1.0f)
        v = _mm256_mul_ps(v, _mm256_set1_ps(alpha));
    if (load)
        v = _mm256_add_ps(v, _mm256_maskload_ps(c, m));
    if (bias)
        v = _mm256_add_ps(v, _mm256_maskload_ps(bias, m));
    if (relu) /* NaN stays NaN, -0 gives +0 */
        v = _mm256_and_ps(v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NLE_UQ));
    _mm256_maskstore_ps(c, m, v);
}

/* Dense tile: rows 0..mr of A times kc rows of 16 columns of a B panel (row stride PW). */
AVX2 static INLINE void dense_tile2(const int mr, int64_t kc, const float *a, int64_t lda,
                                    const float *bp, float *c, int64_t ldc, __m256i m0, __m256i m1,
                                    float alpha, int load, const float *bias, int relu)
{
    __m256 c0[MR2], c1[MR2];
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++)
        c0[r] = c1[r] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(bp + k * PW), b1 = _mm256_load_ps(bp + k * PW + 8);
#pragma GCC unroll 8
        for (int r = 0; r < mr; r++) {
            __m256 ar = _mm256_broadcast_ss(a + r * lda + k);
            c0[r] = _mm256_fmadd_ps(ar, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(ar, b1, c1[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
        store_out8(c + r * ldc, c0[r], m0, alpha, load, bias, relu);
        store_out8(c + r * ldc + 8, c1[r], m1, alpha, load, bias ? bias + 8 : NULL, relu);
    }
}

typedef void (*dense2_fn)(int64_t kc, const float *a, int64_t lda, const float *bp, float *c,
                          int64_t ldc, __m256i m0, __m256i m1, float alpha, int load,
                          const float *bias, int relu);
#define DENSE2_N(n)                                                                                \
    AVX2 static void dense2_##n(int64_t kc, const float *a, int64_t lda, const float *bp,          \
                                float *c, int64_t ldc, __m256i m0, __m256i m1, float alpha,        \
                                int load, const float *bias, int relu)                             \
    {                                                                                              \
        dense_tile2(n, kc, a, lda, bp, c, ldc, m0, m1, alpha, load, bias, relu);                   \
    }
DENSE2_N(1)
DENSE2_N(2)
DENSE2_N(3)
DENSE2_N(4)
DENSE2_N(5)
DENSE2_N(6)
static const dense2_fn dense2_fns[MR2 + 1] = {NULL,     dense2_1, dense2_2, dense2_3,
                                              dense2_4, dense2_5, dense2_6};

AVX2 static void dense_block2(const struct onnx_gemm_packed *p, int64_t rows, const float *a,
                              float alpha, int accumulate, const float *bias, int relu, float *C)
{
    int64_t K = p->K, N = p->N;
    int64_t k0 = 0;
    do {
        int64_t kc = imin(KC_DENSE, K - k0);
        int load = accumulate || k0 > 0, last = k0 + kc >= K;
        for (int64_t q = 0; q * NR2 < N; q++) { /* 16-column quarters of the panels */
            int64_t j0 = q * NR2, per = PW / NR2;
            __m256i m0 = lanes8(N - j0), m1 = lanes8(N - j0 - 8);
            const float *bp = p->data + (q / per) * K * PW + k0 * PW + (q % per) * NR2;
            for (int64_t i0 = 0; i0 < rows; i0 += MR2) {
                int mr = (int)imin(MR2, rows - i0);
                dense2_fns[mr](kc, a + i0 * K + k0, K, bp, C + i0 * N + j0, N, m0, m1, alpha, load,
                               last && bias ? bias + j0 : NULL, last && relu);
            }
        }
        k0 += kc;
    } while (k0 < K);
}

/* One row of C over one B panel from its list of nonzeros (8 ymm accumulators). */
AVX2 static void sparse_row2(const uint64_t *ent, int64_t n, const float *bp, float *c,
                             const __m256i *m, float alpha, int load, const float *bias, int relu)
{
    __m256 x[PW / 8];
#pragma GCC unroll 8
    for (int t = 0; t < PW / 8; t++)
        x[t] = _mm256_setzero_ps();
    for (int64_t e = 0; e < n; e++) {
        __m256 a0 = _mm256_castsi256_ps(_mm256_set1_epi32((int)(ent[e] >> 32)));
        const float *b0 = bp + (uint32_t)ent[e];
#pragma GCC unroll 8
        for (int t = 0; t < PW / 8; t++)
            x[t] = _mm256_fmadd_ps(a0, _mm256_load_ps(b0 + 8 * t), x[t]);
    }
#pragma GCC unroll 8
    for (int t = 0; t < PW / 8; t++)
        store_out8(c + 8 * t, x[t], m[t], alpha, load, bias ? bias + 8 * t : NULL, relu);
}

AVX2 static void sparse_block2(const struct onnx_gemm_packed *p, int64_t rows,
                               const struct scratch *s, float alpha, int accumulate,
                               const float *bias, int relu, float *C)
{
    int64_t K = p->K, N = p->N, nkb = nkb_sparse(K);
    for (int64_t b = 0; b < nkb; b++) {
        int load = accumulate || b > 0, last = b == nkb - 1;
        for (int64_t q = 0; q < p->npanels; q++) {
            int64_t j0 = q * PW;
            __m256i m[PW / 8];
            for (int t = 0; t < PW / 8; t++)
                m[t] = lanes8(N - j0 - 8 * t);
            const float *bp = p->data + q * K * PW;
            const float *bb = last && bias ? bias + j0 : NULL;
            for (int64_t i = 0; i < rows; i++) {
                const int32_t *seg = s->seg + i * (nkb + 1);
                const uint64_t *ent = s->ent + i * (K + LIST_PAD) + seg[b];
                sparse_row2(ent, seg[b + 1] - seg[b], bp, C + i * N + j0, m, alpha, load, bb,
                            last && relu);
            }
        }
    }
}

/* Scalar list building and counting (no compress instruction before AVX-512). */
static int64_t count_nonzero_scalar(const float *a, int64_t lda, int64_t rows, int64_t K)
{
    int64_t n = 0;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t k = 0; k < K; k++)
            n += a[i * lda + k] != 0; /* NaN != 0: counted */
    return n;
}

static void build_lists_scalar(const float *a, int64_t lda, int64_t rows, int64_t K,
                               const struct scratch *s)
{
    int64_t nkb = nkb_sparse(K);
    for (int64_t i = 0; i < rows; i++) {
        const float *r = a + i * lda;
        uint64_t *ent = s->ent + i * (K + LIST_PAD);
        int32_t *seg = s->seg + i * (nkb + 1);
        int32_t n = 0;
        for (int64_t b = 0; b < nkb; b++) {
            seg[b] = n;
            for (int64_t k = b * KC_SPARSE; k < imin(K, (b + 1) * KC_SPARSE); k++) {
                uint32_t bits;
                memcpy(&bits, &r[k], sizeof bits);
                ent[n] = (uint64_t)bits << 32 | (uint64_t)(k * PW);
                n += r[k] != 0;
            }
        }
        seg[nkb] = n;
    }
}

/* ---- the driver: one kernel set per instruction set ---- */

struct kernels {
    int64_t (*count_nonzero)(const float *a, int64_t lda, int64_t rows, int64_t K);
    void (*build_lists)(const float *a, int64_t lda, int64_t rows, int64_t K,
                        const struct scratch *s);
    void (*dense_block)(const struct onnx_gemm_packed *p, int64_t rows, const float *a, float alpha,
                        int accumulate, const float *bias, int relu, float *C);
    void (*sparse_block)(const struct onnx_gemm_packed *p, int64_t rows, const struct scratch *s,
                         float alpha, int accumulate, const float *bias, int relu, float *C);
};

static const struct kernels kernels_avx512 = {count_nonzero, build_lists, dense_block,
                                              sparse_block};
static const struct kernels kernels_avx2 = {count_nonzero_scalar, build_lists_scalar, dense_block2,
                                            sparse_block2};

static void run_blocks(const struct kernels *kn, const struct onnx_gemm_packed *p, int ta,
                       int64_t M, float alpha, const float *A, int accumulate, const float *bias,
                       int relu, float *C, void *scratch, enum onnx_gemm_path path)
{
    struct scratch s = {0};
    int64_t K = p->K, N = p->N;
    scratch_layout(p, M, ta, scratch, &s);
    for (int64_t r0 = 0; r0 < M; r0 += RB) {
        int64_t rows = imin(RB, M - r0);
        int sparse = 0;
        if (!ta && p->finite && K > 0 && path != ONNX_GEMM_DENSE) {
            if (path == ONNX_GEMM_SPARSE)
                sparse = 1;
            else {
                int64_t nz = kn->count_nonzero(A + r0 * K, K, rows, K);
                sparse = sparse_pays(p, rows, rows * K - nz);
            }
        }
        if (sparse) {
            kn->build_lists(A + r0 * K, K, rows, K, &s);
            kn->sparse_block(p, rows, &s, alpha, accumulate, bias, relu, C + r0 * N);
        } else {
            const float *a = A + r0 * K;
            if (ta) {
                transpose_a(s.apack, A, M, r0, rows, K);
                a = s.apack;
            }
            kn->dense_block(p, rows, a, alpha, accumulate, bias, relu, C + r0 * N);
        }
    }
}

#endif

void onnx_gemm_packed_run(const struct onnx_gemm_packed *p, int ta, int64_t M, float alpha,
                          const float *A, int accumulate, const float *bias, int relu, float *C,
                          void *scratch, enum onnx_gemm_path path)
{
#if HAVE_KERNELS
    if (M > 0)
        run_blocks(p->isa == ONNX_GEMM_ISA_AVX512 ? &kernels_avx512 : &kernels_avx2, p, ta, M,
                   alpha, A, accumulate, bias, relu, C, scratch, path);
#else
    (void)p, (void)ta, (void)M, (void)alpha, (void)A, (void)accumulate, (void)bias, (void)relu;
    (void)C, (void)scratch, (void)path;
#endif
}
