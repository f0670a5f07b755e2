/* check_train.c - training steps: the same seed gives bit-identical parameters; the loss of a
 * learnable task falls; TBPTT makes one update per window; a non-finite step is skipped with
 * the parameters untouched; a run of them ends training as diverged. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/synth.h>
#include <recur/train.h>

#include "testutil.h"

static const recur_config_t base = {.cell = RECUR_CELL_LSTM,
                                    .input_size = 3,
                                    .hidden_size = 8,
                                    .num_layers = 2,
                                    .bidirectional = true,
                                    .head = RECUR_HEAD_SEQ,
                                    .pool = RECUR_POOL_MEAN,
                                    .task = RECUR_TASK_CLASSIFY,
                                    .num_outputs = 2,
                                    .dropout = 0.25};

/* Trains `steps` batches from seed; returns the parameters (caller frees). */
static recur_real *train_run(const recur_config_t *cfg, unsigned long seed, size_t steps,
                             size_t tbptt, recur_optim_kind_t kind)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    const size_t P = recur_param_count(cfg);
    recur_real *params = malloc(P * sizeof *params);
    const recur_init_t init = {.orthogonal_hh = true, .forget_bias = 1};
    ck_assert_int_eq(recur_param_init(cfg, &init, params, rng), 0);
    recur_optim_config_t oc;
    recur_optim_defaults(kind, &oc);
    oc.clip = 0.5;
    oc.weight_decay = 1e-3;
    recur_optim_t *opt = recur_optim_alloc(&oc, P);
    const recur_train_opts_t to = {.tbptt = tbptt};
    recur_trainer_t *tr = recur_trainer_alloc(cfg, opt, &to, 16, 8);
    ck_assert_ptr_nonnull(tr);
    const recur_synth_opts_t so = {.mixed_lengths = true, .gaps = true};
    for (size_t s = 0; s < steps; s++) {
        recur_synth_t *b = recur_synth_alloc(cfg, 16, 8, &so, rng);
        recur_train_stats_t st;
        ck_assert_int_eq(recur_trainer_batch(tr, params, &b->batch, rng, &st), 0);
        recur_synth_free(b);
    }
    recur_trainer_free(tr);
    recur_optim_free(opt);
    gsl_rng_free(rng);
    return params;
}

START_TEST(test_same_seed_bit_identical)
{
    const recur_optim_kind_t kinds[] = {RECUR_OPT_SGD, RECUR_OPT_ADAM, RECUR_OPT_ADAMW};
    const size_t P = recur_param_count(&base);
    recur_real *a = train_run(&base, 42, 6, _i % 2 ? 5 : 0, kinds[_i % 3]);
    recur_real *b = train_run(&base, 42, 6, _i % 2 ? 5 : 0, kinds[_i % 3]);
    recur_real *c = train_run(&base, 43, 6, _i % 2 ? 5 : 0, kinds[_i % 3]);
    ck_assert_mem_eq(a, b, P * sizeof *a);
    ck_assert(memcmp(a, c, P * sizeof *a) != 0);
    free(a);
    free(b);
    free(c);
}
END_TEST

/* Batch of the "which channel-0 sign dominates" task: label 1 when the sum of channel 0 over
 * the valid steps is positive. */
static void label_by_sum(recur_synth_t *s, size_t I)
{
    const recur_batch_t *b = &s->batch;
    for (size_t j = 0; j < b->B; j++) {
        double sum = 0;
        for (size_t t = 0; t < b->T; t++)
            if (b->mask[t * b->B + j])
                sum += s->x[(t * b->B + j) * I];
        s->labels[j] = sum > 0;
    }
}

START_TEST(test_loss_falls_on_learnable_task)
{
    recur_config_t cfg = base;
    cfg.cell = (recur_cell_t)_i;
    cfg.dropout = 0;
    cfg.num_layers = 1;
    cfg.bidirectional = false;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    const size_t P = recur_param_count(&cfg);
    recur_real *params = malloc(P * sizeof *params);
    ck_assert_int_eq(recur_param_init(&cfg, NULL, params, rng), 0);
    recur_optim_config_t oc;
    recur_optim_defaults(RECUR_OPT_ADAM, &oc);
    oc.lr = 0.02;
    recur_optim_t *opt = recur_optim_alloc(&oc, P);
    recur_trainer_t *tr = recur_trainer_alloc(&cfg, opt, NULL, 12, 32);
    const recur_synth_opts_t so = {.mixed_lengths = true};
    recur_synth_t *test = recur_synth_alloc(&cfg, 12, 32, &so, rng);
    label_by_sum(test, cfg.input_size);
    double before, after;
    ck_assert_int_eq(recur_trainer_eval(tr, params, &test->batch, &before, NULL), 0);
    for (int s = 0; s < 150; s++) {
        recur_synth_t *b = recur_synth_alloc(&cfg, 12, 32, &so, rng);
        label_by_sum(b, cfg.input_size);
        recur_train_stats_t st;
        ck_assert_int_eq(recur_trainer_batch(tr, params, &b->batch, rng, &st), 0);
        ck_assert_uint_eq(st.updates, 1);
        recur_synth_free(b);
    }
    ck_assert_int_eq(recur_trainer_eval(tr, params, &test->batch, &after, NULL), 0);
    ck_assert_msg(after < 0.5 * before, "loss %g -> %g", before, after);
    recur_synth_free(test);
    recur_trainer_free(tr);
    recur_optim_free(opt);
    free(params);
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_tbptt_one_update_per_window)
{
    recur_config_t cfg = base;
    cfg.head = RECUR_HEAD_STEP;
    cfg.task = RECUR_TASK_REGRESS;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1);
    const size_t P = recur_param_count(&cfg);
    recur_real *params = malloc(P * sizeof *params);
    ck_assert_int_eq(recur_param_init(&cfg, NULL, params, rng), 0);
    recur_optim_config_t oc;
    recur_optim_defaults(RECUR_OPT_SGD, &oc);
    recur_optim_t *opt = recur_optim_alloc(&oc, P);
    const recur_train_opts_t to = {.tbptt = 4};
    recur_trainer_t *tr = recur_trainer_alloc(&cfg, opt, &to, 14, 3);
    const recur_synth_opts_t so = {.mixed_lengths = false};
    recur_synth_t *b = recur_synth_alloc(&cfg, 14, 3, &so, rng);
    recur_train_stats_t st;
    ck_assert_int_eq(recur_trainer_batch(tr, params, &b->batch, rng, &st), 0);
    ck_assert_uint_eq(st.updates, 4); /* windows 4 + 4 + 4 + 2 */
    ck_assert_uint_eq(recur_optim_steps(opt), 4);
    recur_synth_free(b);
    recur_trainer_free(tr);
    recur_optim_free(opt);
    free(params);
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_nonfinite_step_skipped_then_diverged)
{
    recur_config_t cfg = base;
    cfg.dropout = 0;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 2);
    const size_t P = recur_param_count(&cfg);
    recur_real *params = malloc(P * sizeof *params), *before = malloc(P * sizeof *before);
    ck_assert_int_eq(recur_param_init(&cfg, NULL, params, rng), 0);
    recur_optim_config_t oc;
    recur_optim_defaults(RECUR_OPT_ADAM, &oc);
    recur_optim_t *opt = recur_optim_alloc(&oc, P);
    const recur_train_opts_t to = {.nan_at_step = 2, .max_bad_steps = 3};
    recur_trainer_t *tr = recur_trainer_alloc(&cfg, opt, &to, 10, 4);
    const recur_synth_opts_t so = {.mixed_lengths = true};
    recur_synth_t *b = recur_synth_alloc(&cfg, 10, 4, &so, rng);
    recur_train_stats_t st;
    ck_assert_int_eq(recur_trainer_batch(tr, params, &b->batch, rng, &st), 0);
    ck_assert_uint_eq(st.updates, 1);
    memcpy(before, params, P * sizeof *params);
    ck_assert_int_eq(recur_trainer_batch(tr, params, &b->batch, rng, &st), 0); /* NaN step */
    ck_assert_uint_eq(st.skipped, 1);
    ck_assert_uint_eq(st.updates, 0);
    ck_assert_mem_eq(before, params, P * sizeof *params);
    ck_assert_uint_eq(recur_optim_skipped(opt), 1);
    ck_assert_uint_eq(recur_optim_steps(opt), 1);
    ck_assert_int_eq(recur_trainer_batch(tr, params, &b->batch, rng, &st), 0);
    ck_assert_uint_eq(st.updates, 1);
    /* a non-finite input makes every loss NaN: three in a row end training */
    b->x[0] = (recur_real)NAN;
    ck_assert_int_eq(recur_trainer_batch(tr, params, &b->batch, rng, &st), 0);
    ck_assert_int_eq(recur_trainer_batch(tr, params, &b->batch, rng, &st), 0);
    memcpy(before, params, P * sizeof *params);
    ck_assert_int_eq(recur_trainer_batch(tr, params, &b->batch, rng, &st), RECUR_EDIVERGED);
    ck_assert_mem_eq(before, params, P * sizeof *params);
    for (size_t i = 0; i < P; i++)
        ck_assert(isfinite(params[i]));
    recur_synth_free(b);
    recur_trainer_free(tr);
    recur_optim_free(opt);
    free(params);
    free(before);
    gsl_rng_free(rng);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("steps");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_same_seed_bit_identical, 0, 6);
    tcase_add_loop_test(tc, test_loss_falls_on_learnable_task, 0, 3);
    tcase_add_test(tc, test_tbptt_one_update_per_window);
    tcase_add_test(tc, test_nonfinite_step_skipped_then_diverged);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
