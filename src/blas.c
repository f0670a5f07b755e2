/* blas.c - row-major GEMM on recur_real through OpenBLAS (sgemm for float, dgemm for the
 * double build). The only translation unit that includes <cblas.h>. */
#include <cblas.h>

#include <recur/blas.h>

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
