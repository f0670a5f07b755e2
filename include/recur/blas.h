/* recur/blas.h - the library's matrix-multiply entry points (row-major, on recur_real): the
 * general GEMM, backed by OpenBLAS, and the engine's hot products (by a packed right-hand
 * operand; A^T B over many rows), computed by AVX-512 kernels of src/blas.c when the CPU has
 * them in the float build, else by OpenBLAS. src/blas.c is the only file that includes
 * <cblas.h>. Every function is safe to call from several threads at once. */
#ifndef RECUR_BLAS_H
#define RECUR_BLAS_H

#include <recur/common.h>

/* C = alpha * op(A) * op(B) + beta * C, all row-major; op(X) = X^T when trans_x.
 * op(A) is (M, K), op(B) is (K, N), C is (M, N). */
void recur_gemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, recur_real alpha,
                const recur_real *A, size_t lda, const recur_real *B, size_t ldb, recur_real beta,
                recur_real *C, size_t ldc);

/* Number of threads OpenBLAS may use inside one GEMM (recur sets 1 by default). */
void recur_blas_set_threads(int n);

/* ---- Hot products -------------------------------------------------------------------------
 * With the AVX-512 kernels each element of C is one chain of multiply-adds in k order, whatever
 * the shape of the call: the same row gives the same bits in a product of 1 or 1000 rows. */

/* Elements of a packed (K, N) operand. */
size_t recur_gemm_pack_size(size_t K, size_t N);
/* Packs op(B) (K, N) (op(B) = B^T when trans_b) into P (recur_gemm_pack_size(K, N)
 * elements) for recur_gemm_packed. */
void recur_gemm_pack(bool trans_b, size_t K, size_t N, const recur_real *B, size_t ldb,
                     recur_real *P);
/* C = A op(B) + beta C (+ bias[j] on every row when bias != NULL); A (M, K), C (M, N), op(B)
 * packed in P. */
void recur_gemm_packed(size_t M, size_t N, size_t K, const recur_real *A, size_t lda,
                       const recur_real *P, recur_real beta, const recur_real *bias, recur_real *C,
                       size_t ldc);
/* C = A^T B + beta C; A (K, M), B (K, N), C (M, N): sums over many rows K (weight gradients). */
void recur_gemm_tn(size_t M, size_t N, size_t K, const recur_real *A, size_t lda,
                   const recur_real *B, size_t ldb, recur_real beta, recur_real *C, size_t ldc);

/* Kernels in use: "avx512" or "openblas". recur_blas_set_kernels(false) routes the hot products
 * through OpenBLAS (for tests and comparisons; call it before any work, not while other threads
 * compute); true restores the default. */
const char *recur_blas_kernels(void);
void recur_blas_set_kernels(bool on);

#endif
