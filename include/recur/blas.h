/* recur/blas.h - the library's one matrix-multiply entry point (row-major GEMM on recur_real),
 * backed by OpenBLAS; src/blas.c is the only file that includes <cblas.h>. */
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

#endif
