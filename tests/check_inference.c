/* check_inference.c - the forward-only engine: the same outputs, layer outputs, final states
 * and carried state as the training engine, bit for bit; for unidirectional models, windows
 * of a few steps give the result of one window over the whole batch; calls that need storage
 * for backward are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/synth.h>

#include "testutil.h"

/* _i: cell x {seq last, mean, max, step} x {uni, bidirectional} x {1, 2 layers} */
static recur_config_t config(int i)
{
    const int h = (i / 3) % 4;
    return (recur_config_t){.cell = (recur_cell_t)(i % 3),
                            .input_size = 3,
                            .hidden_size = 19,
                            .num_layers = (size_t)(i / 24) % 2 + 1,
                            .bidirectional = (i / 12) % 2,
                            .head = h == 3 ? RECUR_HEAD_STEP : RECUR_HEAD_SEQ,
                            .pool = h == 3 ? RECUR_POOL_LAST : (recur_pool_t)h,
                            .task = h == 3 ? RECUR_TASK_REGRESS : RECUR_TASK_CLASSIFY,
                            .num_outputs = 3};
}

START_TEST(test_same_as_training_engine)
{
    const recur_config_t cfg = config(_i);
    const size_t T = 37, B = 9, H = cfg.hidden_size, D = cfg.bidirectional ? 2 : 1;
    const size_t L = cfg.num_layers;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 500 + (unsigned long)_i);
    recur_real *params = malloc(recur_param_count(&cfg) * sizeof *params);
    ck_assert_int_eq(recur_param_init(&cfg, NULL, params, rng), 0);
    const recur_synth_opts_t so = {.mixed_lengths = true, .gaps = true};
    recur_synth_t *s = recur_synth_alloc(&cfg, T, B, &so, rng);
    recur_engine_t *e = recur_engine_alloc(&cfg, T, B);
    recur_engine_t *f = recur_engine_alloc_inference(&cfg, T, B);
    ck_assert(e && f && recur_engine_is_inference(f) && !recur_engine_is_inference(e));
    double le, lf;
    size_t ne, nf, re, rf;
    ck_assert_int_eq(recur_engine_forward(e, params, &s->batch, 0, T, false, NULL, &le, &ne), 0);
    ck_assert_int_eq(recur_engine_forward(f, params, &s->batch, 0, T, false, NULL, &lf, &nf), 0);
    ck_assert(le == lf && ne == nf);
    const recur_real *oe = recur_engine_outputs(e, &re), *of = recur_engine_outputs(f, &rf);
    ck_assert_uint_eq(re, rf);
    ck_assert_mem_eq(oe, of, re * cfg.num_outputs * sizeof *oe);
    for (size_t l = 0; l < L; l++) {
        ck_assert_mem_eq(recur_engine_layer_output(e, l), recur_engine_layer_output(f, l),
                         T * B * D * H * sizeof(recur_real));
        for (size_t d = 0; d < D; d++) {
            ck_assert_mem_eq(recur_engine_final_h(e, l, d), recur_engine_final_h(f, l, d),
                             B * H * sizeof(recur_real));
            if (cfg.cell == RECUR_CELL_LSTM)
                ck_assert_mem_eq(recur_engine_final_c(e, l, d), recur_engine_final_c(f, l, d),
                                 B * H * sizeof(recur_real));
        }
    }
    const size_t nc = recur_engine_carry_size(e);
    ck_assert_uint_eq(nc, recur_engine_carry_size(f));
    recur_real *ce = malloc(nc * sizeof *ce), *cf = malloc(nc * sizeof *cf);
    recur_engine_carry_get(e, ce);
    recur_engine_carry_get(f, cf);
    ck_assert_mem_eq(ce, cf, nc * sizeof *ce);
    free(ce);
    free(cf);
    recur_engine_free(e);
    recur_engine_free(f);
    recur_synth_free(s);
    free(params);
    gsl_rng_free(rng);
}
END_TEST

/* Unidirectional: windows of 4 steps through an engine sized for 4 give the full forward's
 * sequence outputs (last, mean, max pooling carried) and step outputs. */
START_TEST(test_windows_equal_full)
{
    recur_config_t cfg = config(_i);
    cfg.bidirectional = false;
    const size_t T = 23, B = 6, K = 4, O = cfg.num_outputs;
    const bool step = cfg.head == RECUR_HEAD_STEP;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 900 + (unsigned long)_i);
    recur_real *params = malloc(recur_param_count(&cfg) * sizeof *params);
    ck_assert_int_eq(recur_param_init(&cfg, NULL, params, rng), 0);
    const recur_synth_opts_t so = {.mixed_lengths = true, .gaps = true};
    recur_synth_t *s = recur_synth_alloc(&cfg, T, B, &so, rng);
    recur_engine_t *full = recur_engine_alloc_inference(&cfg, T, B);
    recur_engine_t *win = recur_engine_alloc_inference(&cfg, K, B);
    ck_assert_int_eq(recur_engine_forward(full, params, &s->batch, 0, T, false, NULL, NULL, NULL),
                     0);
    size_t rows;
    const recur_real *want = recur_engine_outputs(full, &rows);
    recur_real *got = calloc(rows * O, sizeof *got);
    for (size_t t0 = 0; t0 < T; t0 += K) {
        const size_t t1 = t0 + K < T ? t0 + K : T;
        size_t r;
        ck_assert_int_eq(
            recur_engine_forward(win, params, &s->batch, t0, t1, false, NULL, NULL, NULL), 0);
        const recur_real *o = recur_engine_outputs(win, &r);
        if (step) {
            ck_assert_uint_eq(r, (t1 - t0) * B);
            memcpy(got + t0 * B * O, o, r * O * sizeof *o);
        } else {
            for (size_t b = 0; b < B; b++) /* a sequence's output is ready in its last window */
                if (o[b * O] != 0 || o[b * O + 1] != 0)
                    memcpy(got + b * O, o + b * O, O * sizeof *o);
        }
    }
    for (size_t i = 0; i < rows * O; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= 1e-6 * (1 + fabs(want[i])),
                      "output %zu: windows %g, full %g", i, (double)got[i], (double)want[i]);
    free(got);
    recur_engine_free(full);
    recur_engine_free(win);
    recur_synth_free(s);
    free(params);
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_refused)
{
    recur_config_t cfg = config(25);
    cfg.dropout = 0.5;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    const size_t P = recur_param_count(&cfg);
    recur_real *params = malloc(P * sizeof *params), *g = calloc(P, sizeof *g);
    ck_assert_int_eq(recur_param_init(&cfg, NULL, params, rng), 0);
    recur_synth_t *s = recur_synth_alloc(&cfg, 5, 2, NULL, rng);
    recur_engine_t *f = recur_engine_alloc_inference(&cfg, 5, 2);
    double loss;
    ck_assert_int_eq(recur_engine_forward(f, params, &s->batch, 0, 5, true, rng, &loss, NULL),
                     RECUR_EINVAL);
    ck_assert_int_eq(recur_engine_forward(f, params, &s->batch, 0, 5, false, NULL, &loss, NULL), 0);
    ck_assert_int_eq(recur_engine_backward(f, params, g, NULL), RECUR_EINVAL);
    ck_assert_ptr_null(recur_engine_state_grad(f, 0, 0));
    recur_engine_free(f);
    recur_synth_free(s);
    free(params);
    free(g);
    gsl_rng_free(rng);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("inference");
    TCase *tc = tcase_create("forward only");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_same_as_training_engine, 0, 48);
    tcase_add_loop_test(tc, test_windows_equal_full, 0, 24);
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
