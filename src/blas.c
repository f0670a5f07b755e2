/* blas.c - row-major matrix products on recur_real: the general GEMM through OpenBLAS (sgemm for
 * float, dgemm for the double build), and the engine's hot products - by a packed right-hand
 * operand, and A^T B over many rows - through AVX-512 kernels written here when the CPU has them
 * (float build), else through OpenBLAS. The only translation unit that includes <cblas.h>. */
#include <cblas.h>
#include <string.h>

#include <recur/blas.h>

#if !RECUR_REAL_IS_DOUBLE && defined(__GNUC__) && defined(__x86_64__)
#define RECUR_HAVE_AVX512_KERNELS 1
#include <immintrin.h>
#else
#define RECUR_HAVE_AVX512_KERNELS 0
#endif

void recur_gemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, recur_real alpha,
                const recur_real *A, size_t lda, const recur_real *B, size_t ldb, recur_real beta,
                recur_real *C, size_t ldc)
{
    if (M == 0 || N == 0)
        return;
    const enum CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
    const enum CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
#define RECUR_GEMM_ARGS                                                                            \
    CblasRowMajor, ta, tb, (blasint)M, (blasint)N, (blasint)K, alpha, A, (blasint)lda, B,          \
        (blasint)ldb, beta, C, (blasint)ldc
#if RECUR_REAL_IS_DOUBLE
    cblas_dgemm(RECUR_GEMM_ARGS);
#else
    cblas_sgemm(RECUR_GEMM_ARGS);
#endif
#undef RECUR_GEMM_ARGS
}

void recur_blas_set_threads(int n)
{
    openblas_set_num_threads(n > 0 ? n : 1);
}

/* ---- kernel selection ------------------------------------------------------------------- */

static bool kernels_off; /* recur_blas_set_kernels(false): OpenBLAS for everything */

static bool use_kernels(void)
{
#if RECUR_HAVE_AVX512_KERNELS
    return !kernels_off && __builtin_cpu_supports("avx512f");
#else
    return false;
#endif
}

void recur_blas_set_kernels(bool on)
{
    kernels_off = !on;
}

const char *recur_blas_kernels(void)
{
    return use_kernels() ? "avx512" : "openblas";
}

/* ---- AVX-512 kernels -------------------------------------------------------------------- *
 * One micro-kernel computes an MR x 32 tile of C (two 16-float registers per row, MR = 8, 4, 2
 * or 1): acc[i][j] = sum_k A(i, k) B(k, j), with A read through strides (sam, sak) so that the
 * same kernel serves A and A^T, and rows of B at a stride ldb (32 for a packed panel). Columns
 * past N are masked off. Each C element is one chain of FMAs in k order, then + beta C, then
 * + bias: the result never depends on how rows or panels are split into calls. */
#if RECUR_HAVE_AVX512_KERNELS

#define NR 32                    /* columns of a tile and of a packed panel */
#define KB 256                   /* rows of A^T B per block (keeps both blocks in L2) */
#define A_BLOCK_BYTES (96 << 10) /* rows of A per block of recur_gemm_packed */
#define TGT __attribute__((target("avx512f")))

#define RECUR_KERNEL(MR)                                                                           \
    static inline __attribute__((always_inline)) TGT void kern##MR(                                \
        size_t K, const float *A, size_t sam, size_t sak, const float *B, size_t ldb,              \
        __mmask16 m0, __mmask16 m1, float beta, const float *bias, float *C, size_t ldc)           \
    {                                                                                              \
        __m512 acc0[MR], acc1[MR];                                                                 \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++)                                       \
        {                                                                                          \
            acc0[i] = _mm512_setzero_ps();                                                         \
            acc1[i] = _mm512_setzero_ps();                                                         \
        }                                                                                          \
        for (size_t k = 0; k < K; k++) {                                                           \
            const __m512 b0 = _mm512_maskz_loadu_ps(m0, B + k * ldb);                              \
            const __m512 b1 = _mm512_maskz_loadu_ps(m1, B + k * ldb + 16);                         \
            const float *a = A + k * sak;                                                          \
            _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++)                                   \
            {                                                                                      \
                const __m512 ai = _mm512_set1_ps(a[(size_t)i * sam]);                              \
                acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);                                        \
                acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);                                        \
            }                                                                                      \
        }                                                                                          \
        const __m512 vb = _mm512_set1_ps(beta);                                                    \
        const __m512 bi0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();           \
        const __m512 bi1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();      \
        _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++)                                       \
        {                                                                                          \
            float *c = C + (size_t)i * ldc;                                                        \
            if (beta != 0) {                                                                       \
                acc0[i] = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c), acc0[i]);              \
                acc1[i] = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + 16), acc1[i]);         \
            }                                                                                      \
            if (bias) {                                                                            \
                acc0[i] = _mm512_add_ps(acc0[i], bi0);                                             \
                acc1[i] = _mm512_add_ps(acc1[i], bi1);                                             \
            }                                                                                      \
            _mm512_mask_storeu_ps(c, m0, acc0[i]);                                                 \
            _mm512_mask_storeu_ps(c + 16, m1, acc1[i]);                                            \
        }                                                                                          \
    }
RECUR_KERNEL(8)
RECUR_KERNEL(4)
RECUR_KERNEL(2)
RECUR_KERNEL(1)
#undef RECUR_KERNEL

/* Masks of the two halves of a tile with nn <= 32 valid columns. */
static inline void tile_masks(size_t nn, __mmask16 *m0, __mmask16 *m1)
{
    *m0 = nn >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nn) - 1);
    *m1 = nn <= 16   ? (__mmask16)0
          : nn >= 32 ? (__mmask16)0xffff
                     : (__mmask16)((1u << (nn - 16)) - 1);
}

/* Rows [0, M) of one column tile: MR = 8 strips, then 4, 2, 1 for the rest. */
TGT static void tile_column(size_t M, size_t K, const float *A, size_t sam, size_t sak,
                            const float *B, size_t ldb, __mmask16 m0, __mmask16 m1, float beta,
                            const float *bias, float *C, size_t ldc)
{
    size_t i = 0;
#define RECUR_CALL(R)                                                                              \
    kern##R(K, A + i * sam, sam, sak, B, ldb, m0, m1, beta, bias, C + i * ldc, ldc)
    for (; i + 8 <= M; i += 8)
        RECUR_CALL(8);
    if (i + 4 <= M) {
        RECUR_CALL(4);
        i += 4;
    }
    if (i + 2 <= M) {
        RECUR_CALL(2);
        i += 2;
    }
    if (i < M)
        RECUR_CALL(1);
#undef RECUR_CALL
}

TGT static void packed_avx512(size_t M, size_t N, size_t K, const float *A, size_t lda,
                              const float *P, float beta, const float *bias, float *C, size_t ldc)
{
    size_t MB = K ? A_BLOCK_BYTES / (K * sizeof(float)) / 8 * 8 : M;
    MB = MB < 8 ? 8 : MB;
    for (size_t i0 = 0; i0 < M; i0 += MB) {
        const size_t mb = M - i0 < MB ? M - i0 : MB;
        for (size_t p = 0; p * NR < N; p++) {
            const size_t nn = N - p * NR < NR ? N - p * NR : NR;
            __mmask16 m0, m1;
            tile_masks(nn, &m0, &m1);
            tile_column(mb, K, A + i0 * lda, lda, 1, P + p * K * NR, NR, m0, m1, beta,
                        bias ? bias + p * NR : NULL, C + i0 * ldc + p * NR, ldc);
        }
    }
}

/* Rows [0, kb) of X, columns [c0, c0 + nc), copied contiguous at width w (the rest 0): the
 * operands of A^T B, whose rows are often a power of two apart and would crowd a few sets of
 * the L1 cache. */
static inline __attribute__((always_inline)) void
pack_rows(size_t kb, const float *X, size_t ldx, size_t c0, size_t nc, size_t w, float *dst)
{
    if (nc == w) {
        for (size_t k = 0; k < kb; k++)
            memcpy(dst + k * w, X + k * ldx + c0, w * sizeof *dst);
        return;
    }
    for (size_t k = 0; k < kb; k++) {
        for (size_t j = 0; j < nc; j++)
            dst[k * w + j] = X[k * ldx + c0 + j];
        for (size_t j = nc; j < w; j++)
            dst[k * w + j] = 0;
    }
}

/* C (M, N) = A^T B + beta C, A (K, M), B (K, N). The rows of the result come from X (A, or B
 * when flipped), its columns from Y: per block of kb rows, Y is packed into panels of 32
 * columns (at most TN_PACK elements, so kb shrinks for wide Y) and each strip of 8 columns of X
 * in turn runs against all panels. C accumulates across blocks, so each element is still one
 * chain in k order. With few columns (N < 16) and many rows the transposed product B^T A fills
 * the tiles instead, through a small buffer. Returns false when Y is too wide to pack. */
#define TN_PACK (32 * 1024)
TGT static bool tn_avx512(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                          size_t ldb, float beta, float *C, size_t ldc)
{
    const bool flip = N < 16 && M > N;
    const float *X = flip ? B : A, *Y = flip ? A : B;
    const size_t ldx = flip ? ldb : lda, ldy = flip ? lda : ldb;
    const size_t MX = flip ? N : M, NY = flip ? M : N, NP = (NY + NR - 1) / NR;
    size_t kbmax = TN_PACK / (NP * NR);
    if (kbmax == 0)
        return false;
    kbmax = kbmax < KB ? kbmax : KB;
    float panels[TN_PACK] __attribute__((aligned(64))); /* NP panels (kb, 32) of Y */
    float strip[KB * 8] __attribute__((aligned(64)));   /* (kb, 8) of X */
    float t[8 * NR];                                    /* (8, 32) tile of C^T when flipped */
    for (size_t k0 = 0; k0 < K || (K == 0 && k0 == 0); k0 += kbmax) {
        const size_t kb = K - k0 < kbmax ? K - k0 : kbmax;
        const float b = k0 == 0 ? beta : 1;
        /* Y's panels serve every strip, X's strips every panel: each is packed only when it
         * is used more than once */
        const bool pack_y = MX > 8, pack_x = NP > 1;
        if (pack_y)
            for (size_t p = 0; p < NP; p++)
                pack_rows(kb, Y + k0 * ldy, ldy, p * NR, NY - p * NR < NR ? NY - p * NR : NR, NR,
                          panels + p * kb * NR);
        for (size_t i = 0; i < MX; i += 8) {
            const size_t mr = MX - i < 8 ? MX - i : 8;
            if (pack_x)
                pack_rows(kb, X + k0 * ldx, ldx, i, mr, 8, strip);
            const float *xs = pack_x ? strip : X + k0 * ldx + i;
            const size_t sk = pack_x ? 8 : ldx;
            for (size_t p = 0; p < NP; p++) {
                const size_t nn = NY - p * NR < NR ? NY - p * NR : NR;
                const float *yp = pack_y ? panels + p * kb * NR : Y + k0 * ldy + p * NR;
                const size_t ly = pack_y ? NR : ldy;
                __mmask16 m0, m1;
                tile_masks(nn, &m0, &m1);
                if (!flip) {
                    tile_column(mr, kb, xs, 1, sk, yp, ly, m0, m1, b, NULL, C + i * ldc + p * NR,
                                ldc);
                    continue;
                }
                tile_column(mr, kb, xs, 1, sk, yp, ly, m0, m1, 0, NULL, t, NR);
                for (size_t c = 0; c < nn; c++) {
                    float *cr = C + (p * NR + c) * ldc + i;
                    for (size_t r = 0; r < mr; r++)
                        cr[r] = (b != 0 ? b * cr[r] : 0) + t[r * NR + c];
                }
            }
        }
        if (K == 0)
            break;
    }
    return true;
}

#endif /* RECUR_HAVE_AVX512_KERNELS */

/* ---- entry points ----------------------------------------------------------------------- */

size_t recur_gemm_pack_size(size_t K, size_t N)
{
    return K * ((N + 31) / 32 * 32);
}

void recur_gemm_pack(bool trans_b, size_t K, size_t N, const recur_real *B, size_t ldb,
                     recur_real *P)
{
#define RECUR_OPB(k, n) (trans_b ? B[(n)*ldb + (k)] : B[(k)*ldb + (n)])
#if RECUR_HAVE_AVX512_KERNELS
    if (use_kernels()) {
        for (size_t p = 0; p * NR < N; p++)
            for (size_t k = 0; k < K; k++) {
                recur_real *dst = P + (p * K + k) * NR;
                for (size_t j = 0; j < NR; j++)
                    dst[j] = p * NR + j < N ? RECUR_OPB(k, p * NR + j) : 0;
            }
        return;
    }
#endif
    for (size_t k = 0; k < K; k++)
        for (size_t n = 0; n < N; n++)
            P[k * N + n] = RECUR_OPB(k, n);
#undef RECUR_OPB
}

void recur_gemm_packed(size_t M, size_t N, size_t K, const recur_real *A, size_t lda,
                       const recur_real *P, recur_real beta, const recur_real *bias, recur_real *C,
                       size_t ldc)
{
    if (M == 0 || N == 0)
        return;
#if RECUR_HAVE_AVX512_KERNELS
    if (use_kernels()) {
        packed_avx512(M, N, K, A, lda, P, beta, bias, C, ldc);
        return;
    }
#endif
    if (bias) {
        for (size_t i = 0; i < M; i++) {
            recur_real *c = C + i * ldc;
            for (size_t j = 0; j < N; j++)
                c[j] = (beta != 0 ? beta * c[j] : 0) + bias[j];
        }
        beta = 1;
    }
    recur_gemm(false, false, M, N, K, 1, A, lda, P, N, beta, C, ldc);
}

void recur_gemm_tn(size_t M, size_t N, size_t K, const recur_real *A, size_t lda,
                   const recur_real *B, size_t ldb, recur_real beta, recur_real *C, size_t ldc)
{
    if (M == 0 || N == 0)
        return;
#if RECUR_HAVE_AVX512_KERNELS
    if (use_kernels()) {
        if (tn_avx512(M, N, K, A, lda, B, ldb, beta, C, ldc))
            return;
    }
#endif
    recur_gemm(true, false, M, N, K, 1, A, lda, B, ldb, beta, C, ldc);
}
