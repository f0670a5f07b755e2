/* check_blas.c - the hot products (packed right operand with bias and beta; A^T B over many
 * rows, both orientations) against products summed in double, for shapes around the kernels'
 * tile edges, with recur's kernels and through OpenBLAS; and with the kernels, a row of a
 * product gives the same bits whatever the other rows of the call. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/blas.h>

#include "testutil.h"

static const size_t sizes[] = {1, 2, 5, 8, 13, 16, 31, 32, 33, 64, 100};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

/* |got - want| <= (K + 3) u sum |terms| elementwise (u = 2^-24): the worst-case rounding of a
 * float sum of K products plus beta C and the bias (Higham, Accuracy and Stability of
 * Numerical Algorithms, 2nd ed., section 3.1); sum_abs holds the sums of |terms|. */
static void expect_close(const recur_real *got, size_t ldc, const double *want,
                         const double *sum_abs, size_t M, size_t N, size_t K, const char *what)
{
    const double tol = (double)(K + 3) * 0x1p-24;
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            const double w = want[i * N + j], g = got[i * ldc + j];
            ck_assert_msg(fabs(g - w) <= tol * sum_abs[i * N + j],
                          "%s: C[%zu][%zu] = %.9g, want %.9g", what, i, j, g, w);
        }
}

/* C = A op(B) + beta C0 + bias through recur_gemm_pack / recur_gemm_packed. */
static void check_packed(size_t M, size_t N, size_t K, bool trans_b, double beta, bool bias,
                         gsl_rng *rng)
{
    const size_t lda = K + 3, ldc = N + 2, ldb = trans_b ? K + 1 : N + 1;
    const size_t brows = trans_b ? N : K;
    recur_real *A = malloc(M * lda * sizeof *A), *Bm = malloc(brows * ldb * sizeof *Bm);
    recur_real *C = malloc(M * ldc * sizeof *C), *bv = malloc(N * sizeof *bv);
    recur_real *P = malloc(recur_gemm_pack_size(K, N) * sizeof *P);
    double *want = calloc(M * N, sizeof *want), *mag = calloc(M * N, sizeof *mag);
    ck_assert(A && Bm && C && bv && P && want && mag);
    test_fill_uniform(A, M * lda, -1, 1, rng);
    test_fill_uniform(Bm, brows * ldb, -1, 1, rng);
    test_fill_uniform(C, M * ldc, -1, 1, rng);
    test_fill_uniform(bv, N, -1, 1, rng);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = beta * C[i * ldc + j] + (bias ? bv[j] : 0);
            double m = fabs(beta * C[i * ldc + j]) + (bias ? fabs(bv[j]) : 0);
            for (size_t k = 0; k < K; k++) {
                const double b = trans_b ? Bm[j * ldb + k] : Bm[k * ldb + j];
                s += (double)A[i * lda + k] * b;
                m += fabs((double)A[i * lda + k] * b);
            }
            want[i * N + j] = s;
            mag[i * N + j] = m;
        }
    recur_real pad[100 + 1]; /* column N of C, past the product: must stay */
    for (size_t i = 0; i < M && i < 100; i++)
        pad[i] = C[i * ldc + N];
    recur_gemm_pack(trans_b, K, N, Bm, ldb, P);
    recur_gemm_packed(M, N, K, A, lda, P, (recur_real)beta, bias ? bv : NULL, C, ldc);
    char what[96];
    snprintf(what, sizeof what, "packed M=%zu N=%zu K=%zu trans=%d beta=%g bias=%d (%s)", M, N, K,
             trans_b, beta, bias, recur_blas_kernels());
    expect_close(C, ldc, want, mag, M, N, K, what);
    for (size_t i = 0; i < M && i < 100; i++)
        ck_assert_msg(C[i * ldc + N] == pad[i], "%s: wrote past column N", what);
    free(A);
    free(Bm);
    free(C);
    free(bv);
    free(P);
    free(want);
    free(mag);
}

/* C = A^T B + beta C0 through recur_gemm_tn. */
static void check_tn(size_t M, size_t N, size_t K, double beta, gsl_rng *rng)
{
    const size_t lda = M + 1, ldb = N + 3, ldc = N + 1;
    recur_real *A = malloc(K * lda * sizeof *A), *Bm = malloc(K * ldb * sizeof *Bm);
    recur_real *C = malloc(M * ldc * sizeof *C);
    double *want = calloc(M * N, sizeof *want), *mag = calloc(M * N, sizeof *mag);
    ck_assert(A && Bm && C && want && mag);
    test_fill_uniform(A, K * lda, -1, 1, rng);
    test_fill_uniform(Bm, K * ldb, -1, 1, rng);
    test_fill_uniform(C, M * ldc, -1, 1, rng);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = beta * C[i * ldc + j], m = fabs(s);
            for (size_t k = 0; k < K; k++) {
                s += (double)A[k * lda + i] * Bm[k * ldb + j];
                m += fabs((double)A[k * lda + i] * Bm[k * ldb + j]);
            }
            want[i * N + j] = s;
            mag[i * N + j] = m;
        }
    recur_gemm_tn(M, N, K, A, lda, Bm, ldb, (recur_real)beta, C, ldc);
    char what[96];
    snprintf(what, sizeof what, "tn M=%zu N=%zu K=%zu beta=%g (%s)", M, N, K, beta,
             recur_blas_kernels());
    expect_close(C, ldc, want, mag, M, N, K, what);
    free(A);
    free(Bm);
    free(C);
    free(want);
    free(mag);
}

/* _i: 0 recur's kernels (when the CPU has them), 1 OpenBLAS. */
START_TEST(test_packed_shapes)
{
    recur_blas_set_kernels(_i == 0);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1);
    for (size_t a = 0; a < N_SIZES; a++)
        for (size_t b = 0; b < N_SIZES; b++) {
            const size_t M = sizes[a], N = sizes[b], K = sizes[(a + b) % N_SIZES];
            check_packed(M, N, K, (a + b) % 2, (a % 3) * 0.5, b % 2 == 0, rng);
        }
    check_packed(700, 512, 4, true, 0, true, rng); /* input projection: several row blocks */
    check_packed(300, 96, 200, false, 1, false, rng);
    gsl_rng_free(rng);
    recur_blas_set_kernels(true);
}
END_TEST

START_TEST(test_tn_shapes)
{
    recur_blas_set_kernels(_i == 0);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 2);
    for (size_t a = 0; a < N_SIZES; a++)
        for (size_t b = 0; b < N_SIZES; b++)
            check_tn(sizes[a], sizes[b], sizes[(a + 2 * b) % N_SIZES], (b % 3) * 0.5, rng);
    check_tn(96, 4, 1000, 1, rng); /* few columns: the transposed orientation, K blocks */
    check_tn(64, 40, 600, 0, rng);
    check_tn(3, 3, 0, 0.5, rng); /* K = 0: C = beta C */
    gsl_rng_free(rng);
    recur_blas_set_kernels(true);
}
END_TEST

/* With recur's kernels, rows computed in a call of 1, 7 or all rows carry the same bits. */
START_TEST(test_rows_independent_of_call)
{
    if (strcmp(recur_blas_kernels(), "avx512") != 0)
        return; /* OpenBLAS makes no such promise */
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    const size_t M = 45, N = 70, K = 50;
    recur_real *A = malloc(M * K * sizeof *A), *W = malloc(N * K * sizeof *W);
    recur_real *P = malloc(recur_gemm_pack_size(K, N) * sizeof *P);
    recur_real *C1 = calloc(M * N, sizeof *C1), *C2 = calloc(M * N, sizeof *C2);
    test_fill_uniform(A, M * K, -1, 1, rng);
    test_fill_uniform(W, N * K, -1, 1, rng);
    recur_gemm_pack(true, K, N, W, K, P);
    recur_gemm_packed(M, N, K, A, K, P, 0, NULL, C1, N);
    for (size_t i = 0; i < M;) {
        const size_t m = i % 2 ? 1 : 7 < M - i ? 7 : M - i;
        recur_gemm_packed(m, N, K, A + i * K, K, P, 0, NULL, C2 + i * N, N);
        i += m;
    }
    ck_assert_mem_eq(C1, C2, M * N * sizeof *C1);
    free(A);
    free(W);
    free(P);
    free(C1);
    free(C2);
    gsl_rng_free(rng);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("blas");
    TCase *tc = tcase_create("products");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_packed_shapes, 0, 2);
    tcase_add_loop_test(tc, test_tn_shapes, 0, 2);
    tcase_add_test(tc, test_rows_independent_of_call);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
