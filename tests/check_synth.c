/* check_synth.c - synthetic batches: shapes and batch views, right-padded masks with the first
 * sequence full, gaps only inside sequences, targets of each task and head, determinism from the
 * seed, and the error paths (bad sizes, bad configuration, size overflow). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include <recur/synth.h>

#include "testutil.h"

static recur_config_t make_cfg(recur_task_t task, recur_head_t head, size_t I, size_t O)
{
    recur_config_t c = {0};
    c.cell = RECUR_CELL_LSTM;
    c.input_size = I;
    c.hidden_size = 4;
    c.num_layers = 1;
    c.head = head;
    c.pool = RECUR_POOL_LAST;
    c.task = task;
    c.num_outputs = O;
    return c;
}

static gsl_rng *rng_seeded(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    ck_assert_ptr_nonnull(r);
    gsl_rng_set(r, seed);
    return r;
}

/* Valid length of sequence b: one past its last valid step (0 when none). */
static size_t seq_len(const recur_synth_t *s, size_t b)
{
    size_t n = 0;
    for (size_t t = 0; t < s->batch.T; t++)
        if (s->mask[t * s->batch.B + b])
            n = t + 1;
    return n;
}

/* Shapes, masks and targets for every task and head, with and without mixed lengths. */
static void check_one(recur_task_t task, recur_head_t head, bool mixed)
{
    const size_t T = 9, B = 16, I = 3, O = 4;
    recur_config_t cfg = make_cfg(task, head, I, O);
    recur_synth_opts_t o = {mixed, false};
    gsl_rng *r = rng_seeded(7);
    recur_synth_t *s = recur_synth_alloc(&cfg, T, B, &o, r);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->batch.T, T);
    ck_assert_uint_eq(s->batch.B, B);
    ck_assert_ptr_eq(s->batch.x, s->x);
    ck_assert_ptr_eq(s->batch.mask, s->mask);
    ck_assert_ptr_null(s->batch.target_mask);
    size_t short_seqs = 0;
    for (size_t b = 0; b < B; b++) {
        const size_t len = seq_len(s, b);
        if (b == 0 || !mixed)
            ck_assert_uint_eq(len, T);
        ck_assert_uint_ge(len, T / 2);
        short_seqs += len < T;
        for (size_t t = 0; t < T; t++) {
            const bool valid = s->mask[t * B + b];
            ck_assert_int_eq(valid, t < len); /* no gaps requested: a prefix of ones */
            for (size_t i = 0; i < I; i++) {
                const double v = s->x[(t * B + b) * I + i];
                if (valid)
                    ck_assert(v >= -1.0 && v <= 1.0);
                else
                    ck_assert(v == 0.0); /* padding is zero */
            }
        }
    }
    if (mixed)
        ck_assert_uint_gt(short_seqs, 0); /* P(all 15 full) = (1/6)^15 */

    const size_t rows = head == RECUR_HEAD_STEP ? T * B : B;
    if (task == RECUR_TASK_CLASSIFY) {
        ck_assert_ptr_nonnull(s->labels);
        ck_assert_ptr_null(s->targets);
        ck_assert_ptr_eq(s->batch.labels, s->labels);
        bool seen[4] = {false};
        for (size_t k = 0; k < rows; k++) {
            const bool valid = head == RECUR_HEAD_SEQ || s->mask[k];
            if (!valid) {
                ck_assert_int_eq(s->labels[k], -1);
                continue;
            }
            ck_assert_int_ge(s->labels[k], 0);
            ck_assert_int_lt(s->labels[k], (int32_t)O);
            seen[s->labels[k]] = true;
        }
        if (head == RECUR_HEAD_STEP) /* >= 64 labels: P(a class missing) < 4 (3/4)^64 */
            for (size_t k = 0; k < O; k++)
                ck_assert_msg(seen[k], "class %zu never drawn", k);
    } else {
        ck_assert_ptr_nonnull(s->targets);
        ck_assert_ptr_null(s->labels);
        ck_assert_ptr_eq(s->batch.targets, s->targets);
        size_t ones = 0, n = 0;
        for (size_t k = 0; k < rows; k++) {
            if (head == RECUR_HEAD_STEP && !s->mask[k])
                continue;
            for (size_t j = 0; j < O; j++) {
                const double y = s->targets[k * O + j];
                ck_assert(isfinite(y));
                if (task == RECUR_TASK_MULTILABEL)
                    ck_assert(y == 0.0 || y == 1.0);
                ones += y == 1.0;
                n++;
            }
        }
        if (task == RECUR_TASK_MULTILABEL)
            ck_assert(ones > 0 && ones < n);
    }
    recur_synth_free(s);
    gsl_rng_free(r);
}

START_TEST(test_shapes)
{
    const recur_task_t tasks[] = {RECUR_TASK_CLASSIFY, RECUR_TASK_MULTILABEL, RECUR_TASK_REGRESS};
    for (int k = 0; k < 3; k++)
        for (int h = 0; h < 2; h++)
            for (int m = 0; m < 2; m++)
                check_one(tasks[k], h ? RECUR_HEAD_STEP : RECUR_HEAD_SEQ, m != 0);
}
END_TEST

/* Gaps: only strictly inside a sequence (first and last valid steps kept), about 10% of those
 * steps, and the step head's classify labels are -1 exactly at masked steps. */
START_TEST(test_gaps)
{
    const size_t T = 40, B = 64;
    recur_config_t cfg = make_cfg(RECUR_TASK_CLASSIFY, RECUR_HEAD_STEP, 2, 3);
    recur_synth_opts_t o = {true, true};
    gsl_rng *r = rng_seeded(11);
    recur_synth_t *s = recur_synth_alloc(&cfg, T, B, &o, r);
    ck_assert_ptr_nonnull(s);
    size_t inside = 0, gaps = 0;
    for (size_t b = 0; b < B; b++) {
        const size_t len = seq_len(s, b);
        if (b == 0)
            ck_assert_uint_eq(len, T);
        ck_assert_uint_ge(len, T / 2);
        ck_assert(s->mask[b]); /* step 0 valid */
        for (size_t t = 1; t + 1 < len; t++) {
            inside++;
            gaps += !s->mask[t * B + b];
        }
        for (size_t t = 0; t < T; t++)
            ck_assert_int_eq(s->labels[t * B + b] == -1, !s->mask[t * B + b]);
    }
    /* Binomial(inside >= 64 * 18, 0.1): the bounds are more than 5 standard deviations away. */
    ck_assert_uint_ge(inside, 64 * 18);
    ck_assert_msg(gaps > inside / 20 && gaps < inside * 3 / 20, "%zu gaps in %zu steps", gaps,
                  inside);
    recur_synth_free(s);
    gsl_rng_free(r);
}
END_TEST

/* Regression targets are N(0, 1): sample mean and variance over 12000 values. */
START_TEST(test_regress_moments)
{
    recur_config_t cfg = make_cfg(RECUR_TASK_REGRESS, RECUR_HEAD_SEQ, 1, 3);
    gsl_rng *r = rng_seeded(3);
    recur_synth_t *s = recur_synth_alloc(&cfg, 2, 4000, NULL, r);
    ck_assert_ptr_nonnull(s);
    const size_t n = 4000 * 3;
    double sum = 0, sq = 0;
    for (size_t k = 0; k < n; k++) {
        sum += s->targets[k];
        sq += (double)s->targets[k] * s->targets[k];
    }
    const double mean = sum / n, var = sq / n - mean * mean;
    /* standard errors: mean 0.009, variance 0.013 */
    ck_assert_msg(fabs(mean) < 0.05, "mean %g", mean);
    ck_assert_msg(fabs(var - 1.0) < 0.07, "variance %g", var);
    recur_synth_free(s);
    gsl_rng_free(r);
}
END_TEST

static recur_synth_t *make_seeded(const recur_config_t *cfg, unsigned long seed)
{
    recur_synth_opts_t o = {true, true};
    gsl_rng *r = rng_seeded(seed);
    recur_synth_t *s = recur_synth_alloc(cfg, 12, 8, &o, r);
    gsl_rng_free(r);
    ck_assert_ptr_nonnull(s);
    return s;
}

static bool same_batch(const recur_synth_t *a, const recur_synth_t *b, size_t nx, size_t nm,
                       size_t ny)
{
    return memcmp(a->x, b->x, nx * sizeof *a->x) == 0 && memcmp(a->mask, b->mask, nm) == 0 &&
           memcmp(a->targets, b->targets, ny * sizeof *a->targets) == 0;
}

START_TEST(test_deterministic)
{
    recur_config_t cfg = make_cfg(RECUR_TASK_REGRESS, RECUR_HEAD_STEP, 3, 2);
    recur_synth_t *a = make_seeded(&cfg, 42), *b = make_seeded(&cfg, 42);
    recur_synth_t *c = make_seeded(&cfg, 43);
    const size_t nx = 12 * 8 * 3, nm = 12 * 8, ny = 12 * 8 * 2;
    ck_assert(same_batch(a, b, nx, nm, ny));
    ck_assert(!same_batch(a, c, nx, nm, ny));
    recur_synth_free(a);
    recur_synth_free(b);
    recur_synth_free(c);

    recur_config_t cc = make_cfg(RECUR_TASK_CLASSIFY, RECUR_HEAD_SEQ, 3, 5);
    a = make_seeded(&cc, 5);
    b = make_seeded(&cc, 5);
    ck_assert(memcmp(a->labels, b->labels, 8 * sizeof *a->labels) == 0);
    ck_assert(memcmp(a->mask, b->mask, nm) == 0);
    recur_synth_free(a);
    recur_synth_free(b);
}
END_TEST

/* T = 1: every sequence has the one step, with or without mixed lengths and gaps. */
START_TEST(test_single_step)
{
    recur_config_t cfg = make_cfg(RECUR_TASK_MULTILABEL, RECUR_HEAD_STEP, 2, 2);
    recur_synth_opts_t o = {true, true};
    gsl_rng *r = rng_seeded(1);
    recur_synth_t *s = recur_synth_alloc(&cfg, 1, 5, &o, r);
    ck_assert_ptr_nonnull(s);
    for (size_t b = 0; b < 5; b++)
        ck_assert(s->mask[b]);
    recur_synth_free(s);
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_errors)
{
    recur_config_t cfg = make_cfg(RECUR_TASK_CLASSIFY, RECUR_HEAD_SEQ, 3, 2);
    gsl_rng *r = rng_seeded(1);
    ck_assert_ptr_null(recur_synth_alloc(&cfg, 0, 4, NULL, r));
    ck_assert_ptr_null(recur_synth_alloc(&cfg, 4, 0, NULL, r));
    ck_assert_ptr_null(recur_synth_alloc(&cfg, 4, 4, NULL, NULL));
    ck_assert_ptr_null(recur_synth_alloc(NULL, 4, 4, NULL, r));
    recur_config_t bad = cfg;
    bad.num_outputs = 1; /* classification needs 2 classes */
    ck_assert_ptr_null(recur_synth_alloc(&bad, 4, 4, NULL, r));
    bad = cfg;
    bad.input_size = 0;
    ck_assert_ptr_null(recur_synth_alloc(&bad, 4, 4, NULL, r));
    /* T * B * I overflows size_t */
    ck_assert_ptr_null(recur_synth_alloc(&cfg, SIZE_MAX / 2, 4, NULL, r));
    recur_synth_free(NULL);
    gsl_rng_free(r);
}
END_TEST

int main(void)
{
    gsl_set_error_handler_off();
    Suite *s = suite_create("synth");
    TCase *tc = tcase_create("synth");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_shapes);
    tcase_add_test(tc, test_gaps);
    tcase_add_test(tc, test_regress_moments);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_single_step);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
