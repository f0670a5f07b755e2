/* dcheck_gradcheck.c - in the double build, the engine's analytic gradients against central
 * finite differences for every cell x {1, 2 layers} x {uni, bidirectional} x {full BPTT,
 * TBPTT} x {last, mean, max, step head} x {classify, multilabel, regress}, on mixed-length
 * batches with padding and gaps; and a corrupted gradient must be caught. */
#include <stdio.h>
#include <stdlib.h>

#include <recur/gradcheck.h>
#include <recur/synth.h>

#include "testutil.h"

#if !RECUR_REAL_IS_DOUBLE
#error "dcheck_gradcheck must be built with -DRECUR_REAL=double"
#endif

enum { N_CELL = 3, N_LAYER = 2, N_DIR = 2, N_BPTT = 2, N_HEAD = 4, N_TASK = 3 };
#define N_COMBO (N_CELL * N_LAYER * N_DIR * N_BPTT * N_HEAD * N_TASK)

static void combo(int i, recur_config_t *cfg, size_t *tbptt)
{
    const int task = i % N_TASK, head = (i / N_TASK) % N_HEAD, bptt = (i / 12) % N_BPTT;
    const int dir = (i / 24) % N_DIR, layer = (i / 48) % N_LAYER, cell = i / 96;
    *cfg = (recur_config_t){.cell = (recur_cell_t)cell,
                            .input_size = 3,
                            .hidden_size = 4,
                            .num_layers = (size_t)layer + 1,
                            .bidirectional = dir == 1,
                            .head = head == 3 ? RECUR_HEAD_STEP : RECUR_HEAD_SEQ,
                            .pool = head == 3 ? RECUR_POOL_LAST : (recur_pool_t)head,
                            .task = (recur_task_t)task,
                            .num_outputs = 3};
    *tbptt = bptt ? 3 : 0;
}

/* Runs the check for one configuration; returns the result. */
static recur_gradcheck_result_t run(const recur_config_t *cfg, size_t tbptt, bool gaps,
                                    double corrupt, unsigned long seed, double act_reg,
                                    bool act_reg_all)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    const size_t P = recur_param_count(cfg);
    recur_real *params = malloc(P * sizeof *params);
    ck_assert_ptr_nonnull(params);
    const recur_init_t init = {false, 0, 0};
    ck_assert_int_eq(recur_param_init(cfg, &init, params, rng), 0);
    /* larger weights than the default make the nonlinearities work harder */
    for (size_t i = 0; i < P; i++)
        params[i] *= 2;
    const recur_synth_opts_t so = {.mixed_lengths = true, .gaps = gaps};
    recur_synth_t *s = recur_synth_alloc(cfg, 7, 4, &so, rng);
    ck_assert_ptr_nonnull(s);
    recur_gradcheck_opts_t o;
    recur_gradcheck_defaults(&o);
    o.tbptt = tbptt;
    o.verbose = corrupt == 0;
    o.corrupt = corrupt;
    o.act_reg = act_reg;
    o.act_reg_all = act_reg_all;
    recur_gradcheck_result_t r;
    ck_assert_int_eq(recur_gradcheck(cfg, params, &s->batch, &o, &r), 0);
    recur_synth_free(s);
    free(params);
    gsl_rng_free(rng);
    return r;
}

START_TEST(test_all_configurations)
{
    recur_config_t cfg;
    size_t tbptt;
    combo(_i, &cfg, &tbptt);
    recur_gradcheck_result_t r =
        run(&cfg, tbptt, _i % 2 == 0, 0, 100 + (unsigned long)_i, 0, false);
    if (r.failed)
        fprintf(stderr,
                "combo %d: %s L=%zu D=%zu tbptt=%zu head=%s pool=%s task=%s: %zu/%zu "
                "failed, worst %s (abs %.3g, rel %.3g)\n",
                _i, recur_cell_name(cfg.cell), cfg.num_layers, recur_config_directions(&cfg), tbptt,
                recur_head_name(cfg.head), recur_pool_name(cfg.pool), recur_task_name(cfg.task),
                r.failed, r.checked, r.worst, r.max_abs_err, r.max_rel_err);
    ck_assert_uint_gt(r.checked, 100);
    ck_assert_uint_eq(r.failed, 0);
}
END_TEST

/* The checker itself must fail when one gradient element is off by a small amount. */
START_TEST(test_corrupt_gradient_is_caught)
{
    recur_config_t cfg;
    size_t tbptt;
    combo(_i * 37 % N_COMBO, &cfg, &tbptt);
    recur_gradcheck_result_t r = run(&cfg, tbptt, true, 1e-4, 7, 0, false);
    ck_assert_uint_ge(r.failed, 1);
}
END_TEST

/* The activation regulariser, over the valid steps and (the experiment-only switch) over the
 * padded ones too: every cell, both directions, full and truncated BPTT, sequence and step
 * heads, on mixed lengths with gaps. */
START_TEST(test_act_reg)
{
    recur_config_t cfg;
    size_t tbptt;
    const bool all = _i % 2, step = (_i / 2) % 2;
    /* combo index: task regress (2) or classify (0), head last (0) or step (3), bptt, dir, cell */
    const int cell = _i / 16, dir = (_i / 8) % 2, bptt = (_i / 4) % 2;
    combo(cell * 96 + dir * 24 + bptt * 12 + (step ? 3 : 0) * 3 + (step ? 0 : 2), &cfg, &tbptt);
    recur_gradcheck_result_t r = run(&cfg, tbptt, true, 0, 300 + (unsigned long)_i, 0.05, all);
    if (r.failed)
        fprintf(stderr, "act_reg %d (%s, all %d): %zu/%zu failed, worst %s (abs %.3g, rel %.3g)\n",
                _i, recur_cell_name(cfg.cell), all, r.failed, r.checked, r.worst, r.max_abs_err,
                r.max_rel_err);
    ck_assert_uint_gt(r.checked, 100);
    ck_assert_uint_eq(r.failed, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gradcheck (double)");
    TCase *tc = tcase_create("finite differences");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_all_configurations, 0, N_COMBO);
    tcase_add_loop_test(tc, test_corrupt_gradient_is_caught, 0, 4);
    tcase_add_loop_test(tc, test_act_reg, 0, 48);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
