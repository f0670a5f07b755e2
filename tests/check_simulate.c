/* check_simulate.c - the synthetic tasks match their definitions: the adding problem's markers
 * and targets and its constant-predictor MSE of 1/6, the copy task's layout and memoryless
 * cross-entropy 10 log(8) / (T + 20), and the motif's planted sites. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/simulate.h>

#include "testutil.h"

START_TEST(test_adding)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    const size_t N = 20000, T = 31;
    recur_dataset_t *ds = recur_sim_adding(N, T, rng);
    ck_assert_ptr_nonnull(ds);
    ck_assert_int_eq(recur_dataset_validate(ds), 0);
    double mse = 0;
    for (size_t n = 0; n < N; n++) {
        const float *x = ds->x + n * T * 2;
        size_t first = 0, second = 0;
        double sum = 0;
        for (size_t t = 0; t < T; t++) {
            ck_assert(x[2 * t] >= 0 && x[2 * t] < 1);
            if (x[2 * t + 1] == 1) {
                sum += x[2 * t];
                if (t < T / 2)
                    first++;
                else
                    second++;
            } else {
                ck_assert(x[2 * t + 1] == 0);
            }
        }
        ck_assert_uint_eq(first, 1);
        ck_assert_uint_eq(second, 1);
        ck_assert_double_eq_tol(ds->targets[n], sum, 1e-6);
        mse += (ds->targets[n] - 1.0) * (ds->targets[n] - 1.0);
    }
    /* Var(U + U) = 1/6; the standard error of the mean of (y - 1)^2 here is about 0.001 */
    ck_assert_double_eq_tol(mse / (double)N, 1.0 / 6.0, 0.005);
    recur_dataset_free(ds);
    ck_assert_ptr_null(recur_sim_adding(5, 1, rng));
    gsl_rng_free(rng);
}
END_TEST

/* --delay: D unmarked steps after the T, both markers in the first T, the targets their sum. */
START_TEST(test_adding_delayed)
{
    gsl_rng *r0 = gsl_rng_alloc(gsl_rng_mt19937), *r1 = gsl_rng_alloc(gsl_rng_mt19937);
    const size_t N = 200, T = 20, D = 15, L = T + D;
    recur_dataset_t *a = recur_sim_adding(N, T, r0);
    recur_dataset_t *b = recur_sim_adding_delayed(N, T, D, r1);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(b->T, L);
    ck_assert_int_eq(recur_dataset_validate(b), 0);
    for (size_t n = 0; n < N; n++) {
        double sum = 0;
        size_t marks = 0;
        for (size_t t = 0; t < L; t++) {
            const float *x = b->x + (n * L + t) * 2;
            ck_assert(x[0] >= 0 && x[0] < 1);
            ck_assert(b->mask[n * L + t] == 1);
            if (x[1] == 1) {
                ck_assert_uint_lt(t, T); /* more than D steps before the last */
                sum += x[0];
                marks++;
            }
        }
        ck_assert_uint_eq(marks, 2);
        ck_assert_double_eq_tol(b->targets[n], sum, 1e-6);
    }
    recur_dataset_free(a);
    recur_dataset_free(b);
    /* delay 0 is the plain task, draw for draw */
    gsl_rng_set(r0, 9);
    gsl_rng_set(r1, 9);
    a = recur_sim_adding(N, T, r0);
    b = recur_sim_adding_delayed(N, T, 0, r1);
    ck_assert_mem_eq(a->x, b->x, N * T * 2 * sizeof *a->x);
    ck_assert_mem_eq(a->targets, b->targets, N * sizeof *a->targets);
    recur_dataset_free(a);
    recur_dataset_free(b);
    gsl_rng_free(r0);
    gsl_rng_free(r1);
}
END_TEST

START_TEST(test_copy)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    const size_t N = 50, T = 17, L = T + 20, F = 10;
    recur_dataset_t *ds = recur_sim_copy(N, T, rng);
    ck_assert_ptr_nonnull(ds);
    ck_assert_int_eq(recur_dataset_validate(ds), 0);
    ck_assert_uint_eq(ds->T, L);
    ck_assert_uint_eq(ds->F, F);
    ck_assert_uint_eq(ds->O, 9);
    double ce = 0;
    size_t terms = 0;
    for (size_t n = 0; n < N; n++) {
        for (size_t t = 0; t < L; t++) {
            const float *x = ds->x + (n * L + t) * F;
            size_t hot = 0, which = 0;
            for (size_t k = 0; k < F; k++)
                if (x[k] == 1) {
                    hot++;
                    which = k;
                }
            ck_assert_uint_eq(hot, 1);
            const int32_t y = ds->labels[n * L + t];
            if (t < 10)
                ck_assert(which >= 1 && which <= 8);
            else if (t == 10 + T - 1)
                ck_assert_uint_eq(which, 9);
            else
                ck_assert_uint_eq(which, 0);
            if (t >= 10 + T) {
                /* the symbol seen 10 + T steps earlier */
                const float *x0 = ds->x + (n * L + t - 10 - T) * F;
                ck_assert(x0[y] == 1);
                ce += log(8.0); /* uniform over the alphabet */
            } else {
                ck_assert_int_eq(y, 0); /* a sure blank costs nothing */
            }
            terms++;
        }
    }
    ck_assert_double_eq_tol(ce / (double)terms, 10 * log(8.0) / (double)(T + 20), 1e-12);
    recur_dataset_free(ds);
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_motif)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    const size_t N = 2001, T = 40, D = 9, M = strlen(RECUR_SIM_MOTIF);
    char *s = malloc(N * T);
    ck_assert_int_eq(recur_sim_motif(N, T, D, rng, s), 0);
    size_t match[2] = {0, 0}, agree = 0, sites = 0;
    for (size_t n = 0; n < N; n++) {
        const char *site = s + n * T + T - D - M;
        for (size_t i = 0; i < T; i++)
            ck_assert(strchr("ACGT", s[n * T + i]) != NULL);
        const bool pos = n < (N + 1) / 2;
        if (memcmp(site, RECUR_SIM_MOTIF, M) == 0)
            match[pos]++;
        if (pos) {
            for (size_t i = 0; i < M; i++)
                agree += site[i] == RECUR_SIM_MOTIF[i];
            sites++;
        }
    }
    /* per base 0.85 on the consensus (standard error about 0.003 here) */
    ck_assert_double_eq_tol((double)agree / (double)(sites * M), 0.85, 0.015);
    /* an exact consensus by chance in the background: 4^-7, i.e. almost never */
    ck_assert_uint_le(match[0], 2);
    ck_assert_uint_gt(match[1], (size_t)(0.25 * (double)sites));
    ck_assert_int_eq(recur_sim_motif(N, T, T - M + 1, rng, s), RECUR_EINVAL);
    free(s);
    gsl_rng_free(rng);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("simulate");
    TCase *tc = tcase_create("tasks");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_adding);
    tcase_add_test(tc, test_adding_delayed);
    tcase_add_test(tc, test_copy);
    tcase_add_test(tc, test_motif);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
