/* dcheck_linrnn.c - the linear RNN reference: the O(T^2) sum over (t, k) and BPTT's O(T)
 * recursion give the same gradient, and both agree with finite differences of the loss. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/linrnn.h>

#include "testutil.h"

static double *rnd(size_t n, gsl_rng *rng, double scale)
{
    double *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = scale * (2 * gsl_rng_uniform(rng) - 1);
    return p;
}

START_TEST(test_sum_equals_bptt_equals_fd)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1 + (unsigned long)_i);
    const size_t H = 4, I = 3, O = 2, T = 5 + 10 * (size_t)_i;
    double *W = rnd(H * H, rng, 0.6), *U = rnd(H * I, rng, 1), *C = rnd(O * H, rng, 1);
    double *x = rnd(T * I, rng, 1), *y = rnd(T * O, rng, 1);
    recur_linrnn_t m = {H, I, O, T, W, U, C, x, y};
    double l1, l2, dW1[16], dU1[12], dC1[8], dW2[16], dU2[12], dC2[8];
    ck_assert_int_eq(recur_linrnn_bptt(&m, &l1, dW1, dU1, dC1), 0);
    ck_assert_int_eq(recur_linrnn_sum(&m, &l2, dW2, dU2, dC2), 0);
    ck_assert_double_eq_tol(l1, l2, 1e-12 * l1);
    for (size_t i = 0; i < H * H; i++)
        ck_assert_double_eq_tol(dW1[i], dW2[i], 1e-10 * (1 + fabs(dW1[i])));
    for (size_t i = 0; i < H * I; i++)
        ck_assert_double_eq_tol(dU1[i], dU2[i], 1e-10 * (1 + fabs(dU1[i])));
    for (size_t i = 0; i < O * H; i++)
        ck_assert(dC1[i] == dC2[i]);
    /* finite differences of the loss with respect to W */
    double dWs[16], dUs[12], dCs[8];
    for (size_t i = 0; i < H * H; i++) {
        const double v = W[i], eps = 1e-6;
        double lp, lm;
        W[i] = v + eps;
        ck_assert_int_eq(recur_linrnn_bptt(&m, &lp, dWs, dUs, dCs), 0);
        W[i] = v - eps;
        ck_assert_int_eq(recur_linrnn_bptt(&m, &lm, dWs, dUs, dCs), 0);
        W[i] = v;
        const double fd = (lp - lm) / (2 * eps);
        ck_assert_msg(fabs(fd - dW1[i]) <= 1e-6 * (1 + fabs(fd)), "dW[%zu] %g vs %g", i, dW1[i],
                      fd);
    }
    free(W);
    free(U);
    free(C);
    free(x);
    free(y);
    gsl_rng_free(rng);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("linear RNN (double)");
    TCase *tc = tcase_create("gradient as a sum over time");
    tcase_add_loop_test(tc, test_sum_equals_bptt_equals_fd, 0, 3);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
