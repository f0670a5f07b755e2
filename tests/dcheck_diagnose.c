/* dcheck_diagnose.c - the diagnostics in the double build: step Jacobians against finite
 * differences, the diagnostic forward against the engine, the chain rule against the engine's
 * per-step gradients, Lyapunov exponents and Jacobian-product norms against closed forms, and
 * the TBPTT bias at its limits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include <recur/diagnose.h>
#include <recur/synth.h>

#include "testutil.h"

#if !RECUR_REAL_IS_DOUBLE
#error "dcheck_diagnose must be built with -DRECUR_REAL=double"
#endif

static recur_config_t cfg_of(int cell, size_t L, bool bi, recur_head_t head)
{
    return (recur_config_t){.cell = (recur_cell_t)cell,
                            .input_size = 3,
                            .hidden_size = 5,
                            .num_layers = L,
                            .bidirectional = bi,
                            .head = head,
                            .pool = RECUR_POOL_LAST,
                            .task = RECUR_TASK_REGRESS,
                            .num_outputs = 2};
}

static recur_real *params_of(const recur_config_t *cfg, gsl_rng *rng, double scale)
{
    const size_t P = recur_param_count(cfg);
    recur_real *p = malloc(P * sizeof *p);
    ck_assert_int_eq(recur_param_init(cfg, NULL, p, rng), 0);
    for (size_t i = 0; i < P; i++)
        p[i] *= scale;
    return p;
}

/* Loop: cell x layer x direction. */
START_TEST(test_step_jacobian_matches_finite_differences)
{
    const int cell = _i % 3;
    const size_t layer = (size_t)(_i / 3) % 2, dir = (size_t)_i / 6;
    const recur_config_t cfg = cfg_of(cell, 2, true, RECUR_HEAD_STEP);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 17 + (unsigned long)_i);
    recur_real *params = params_of(&cfg, rng, 3);
    const size_t n = recur_diag_state_size(&cfg), in = layer ? 10 : 3;
    double x[10], s[10], sp[10], sm[10], J[100], dummy[100];
    for (size_t i = 0; i < in; i++)
        x[i] = 2 * gsl_rng_uniform(rng) - 1;
    for (size_t i = 0; i < n; i++)
        s[i] = 2 * gsl_rng_uniform(rng) - 1;
    double sn[10];
    ck_assert_int_eq(recur_diag_cell_step(&cfg, params, layer, dir, x, s, sn, J), 0);
    const double eps = 1e-6;
    for (size_t j = 0; j < n; j++) {
        const double v = s[j];
        s[j] = v + eps;
        ck_assert_int_eq(recur_diag_cell_step(&cfg, params, layer, dir, x, s, sp, dummy), 0);
        s[j] = v - eps;
        ck_assert_int_eq(recur_diag_cell_step(&cfg, params, layer, dir, x, s, sm, NULL), 0);
        s[j] = v;
        for (size_t i = 0; i < n; i++) {
            const double fd = (sp[i] - sm[i]) / (2 * eps);
            ck_assert_msg(fabs(fd - J[i * n + j]) <= 1e-8 + 1e-6 * fabs(fd),
                          "J[%zu][%zu] = %.12g, finite difference %.12g", i, j, J[i * n + j], fd);
        }
    }
    free(params);
    gsl_rng_free(rng);
}
END_TEST

/* The diagnostic forward (double, one sequence) reproduces the engine's layer outputs. */
START_TEST(test_forward_matches_engine)
{
    const recur_config_t cfg = cfg_of(_i, 2, true, RECUR_HEAD_STEP);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    recur_real *params = params_of(&cfg, rng, 1);
    const recur_synth_opts_t so = {.mixed_lengths = true, .gaps = true};
    const size_t T = 9, B = 4, H = 5, n = recur_diag_state_size(&cfg);
    recur_synth_t *s = recur_synth_alloc(&cfg, T, B, &so, rng);
    recur_engine_t *e = recur_engine_alloc(&cfg, T, B);
    ck_assert_int_eq(recur_engine_forward(e, params, &s->batch, 0, T, false, NULL, NULL, NULL), 0);
    const recur_real *y = recur_engine_layer_output(e, 1); /* (T, B, 2H) */
    double *jac = malloc(T * n * n * sizeof *jac), h[9 * 5];
    for (size_t b = 0; b < B; b++)
        for (size_t d = 0; d < 2; d++) {
            ck_assert_int_eq(recur_diag_jacobians(&cfg, params, &s->batch, b, 1, d, jac, h), 0);
            for (size_t t = 0; t < T; t++)
                for (size_t j = 0; j < H && s->mask[t * B + b]; j++)
                    ck_assert_double_eq_tol(h[t * H + j], y[(t * B + b) * 2 * H + d * H + j],
                                            1e-12);
        }
    free(jac);
    recur_engine_free(e);
    recur_synth_free(s);
    free(params);
    gsl_rng_free(rng);
}
END_TEST

/* With the loss on the final state only (sequence head, last), the engine's d loss / d h_t
 * equals J_{t+1}^T d loss / d h_{t+1} (RNN, GRU: the state is h alone). */
START_TEST(test_chain_rule_matches_engine)
{
    const int cell = _i ? RECUR_CELL_GRU : RECUR_CELL_RNN;
    const recur_config_t cfg = cfg_of(cell, 1, false, RECUR_HEAD_SEQ);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 8);
    recur_real *params = params_of(&cfg, rng, 2);
    const recur_synth_opts_t so = {.mixed_lengths = false};
    const size_t T = 12, H = 5;
    recur_synth_t *s = recur_synth_alloc(&cfg, T, 1, &so, rng);
    recur_engine_t *e = recur_engine_alloc(&cfg, T, 1);
    recur_real *g = calloc(recur_param_count(&cfg), sizeof *g);
    double loss, jac[12 * 25];
    ck_assert_int_eq(recur_engine_forward(e, params, &s->batch, 0, T, false, NULL, &loss, NULL), 0);
    ck_assert_int_eq(recur_engine_backward(e, params, g, NULL), 0);
    const recur_real *dh = recur_engine_state_grad(e, 0, 0); /* (T, 1, H) */
    ck_assert_int_eq(recur_diag_jacobians(&cfg, params, &s->batch, 0, 0, 0, jac, NULL), 0);
    for (size_t t = 0; t + 1 < T; t++)
        for (size_t j = 0; j < H; j++) {
            double v = 0;
            for (size_t i = 0; i < H; i++)
                v += jac[(t + 1) * H * H + i * H + j] * dh[(t + 1) * H + i];
            ck_assert_double_eq_tol(v, dh[t * H + j], 1e-12 * (1 + fabs(v)));
        }
    double norms[12];
    ck_assert_int_eq(recur_diag_grad_norms(&cfg, params, &s->batch, norms), 0);
    for (size_t t = 0; t < T; t++) {
        double ss = 0;
        for (size_t j = 0; j < H; j++)
            ss += dh[t * H + j] * dh[t * H + j];
        ck_assert_double_eq_tol(norms[t], sqrt(ss), 1e-14);
    }
    free(g);
    recur_engine_free(e);
    recur_synth_free(s);
    free(params);
    gsl_rng_free(rng);
}
END_TEST

/* A tanh RNN with zero input weights and biases stays at h = 0, where J = W_hh. With W_hh
 * diagonal the Lyapunov exponents are log|w_ii| and ||J^lag|| = max|w_ii|^lag. */
START_TEST(test_lyapunov_and_norms_closed_form)
{
    const recur_config_t cfg = cfg_of(RECUR_CELL_RNN, 1, false, RECUR_HEAD_SEQ);
    const size_t H = 5, T = 30, B = 2, P = recur_param_count(&cfg);
    recur_real *params = calloc(P, sizeof *params);
    recur_tensor_t tab[6];
    recur_tensor_table(&cfg, tab);
    const double w[5] = {0.9, -1.2, 0.5, 1.05, -0.3};
    for (size_t i = 0; i < H; i++)
        params[tab[1].offset + i * H + i] = w[i];
    recur_real x[30 * 2 * 3];
    unsigned char m[30 * 2];
    for (size_t i = 0; i < T * B * 3; i++)
        x[i] = (recur_real)((double)(i % 7) - 3);
    for (size_t i = 0; i < T * B; i++)
        m[i] = 1;
    const recur_batch_t b = {T, B, x, m, NULL, NULL, NULL};
    double ly[5];
    ck_assert_int_eq(recur_diag_lyapunov(&cfg, params, &b, 0, 0, 5, 0, ly), 0);
    const double want[5] = {log(1.2), log(1.05), log(0.9), log(0.5), log(0.3)};
    for (size_t i = 0; i < H; i++)
        ck_assert_double_eq_tol(ly[i], want[i], 1e-10);
    double nrm[10];
    ck_assert_int_eq(recur_diag_jacobian_norms(&cfg, params, &b, 0, 0, 10, 0, nrm), 0);
    for (size_t lag = 1; lag <= 10; lag++)
        ck_assert_double_eq_tol(nrm[lag - 1], pow(1.2, (double)lag), 1e-9);
    ck_assert_int_eq(recur_diag_lyapunov(&cfg, params, &b, 0, 0, 6, 0, ly), RECUR_EINVAL);
    free(params);
}
END_TEST

/* An orthogonal recurrent matrix at h = 0 (no input weights, no biases: the tanh RNN is then
 * linear): every Lyapunov exponent is 0 and every Jacobian-product norm 1; rescaled to spectral
 * radius r (recur_init_t.spectral_radius), every exponent is log r and the norms r^lag. Loop:
 * 0 orthogonal, 1 orthogonal rescaled to 0.8. */
START_TEST(test_orthogonal_zero_exponents)
{
    const recur_config_t cfg = cfg_of(RECUR_CELL_RNN, 1, false, RECUR_HEAD_SEQ);
    const size_t H = 5, T = 40, B = 2, P = recur_param_count(&cfg);
    const double r = _i ? 0.8 : 1.0;
    recur_real *params = malloc(P * sizeof *params);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 17);
    const recur_init_t init = {.orthogonal_hh = true, .spectral_radius = _i ? 0.8 : 0};
    ck_assert_int_eq(recur_param_init(&cfg, &init, params, rng), 0);
    recur_tensor_t tab[6];
    recur_tensor_table(&cfg, tab);
    for (size_t k = 0; k < 6; k++) /* all but weight_hh_l0 to 0 */
        if (k != 1)
            memset(params + tab[k].offset, 0, tab[k].numel * sizeof *params);
    /* not a diagonal matrix: the test is not the closed form above in disguise */
    double off = 0;
    for (size_t i = 0; i < H; i++)
        for (size_t j = 0; j < H; j++)
            off += i != j ? fabs((double)params[tab[1].offset + i * H + j]) : 0;
    ck_assert_double_gt(off, 0.5);
    recur_real x[40 * 2 * 3];
    unsigned char m[40 * 2];
    for (size_t i = 0; i < T * B * 3; i++)
        x[i] = (recur_real)gsl_ran_gaussian(rng, 1.0);
    for (size_t i = 0; i < T * B; i++)
        m[i] = 1;
    const recur_batch_t b = {T, B, x, m, NULL, NULL, NULL};
    double ly[5], nrm[20];
    ck_assert_int_eq(recur_diag_lyapunov(&cfg, params, &b, 0, 0, 5, 0, ly), 0);
    for (size_t i = 0; i < H; i++)
        ck_assert_double_eq_tol(ly[i], log(r), 1e-10);
    ck_assert_int_eq(recur_diag_jacobian_norms(&cfg, params, &b, 0, 0, 20, 0, nrm), 0);
    for (size_t lag = 1; lag <= 20; lag++)
        ck_assert_double_eq_tol(nrm[lag - 1], pow(r, (double)lag), 1e-10);
    gsl_rng_free(rng);
    free(params);
}
END_TEST

/* Truncation with K >= T is no truncation; with K < T the bias is measurable. */
START_TEST(test_tbptt_bias_limits)
{
    const recur_config_t cfg = cfg_of(_i, 1, false, RECUR_HEAD_STEP);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 21);
    recur_real *params = params_of(&cfg, rng, 2);
    const recur_synth_opts_t so = {.mixed_lengths = true};
    recur_synth_t *s = recur_synth_alloc(&cfg, 20, 3, &so, rng);
    double cosv, rel;
    ck_assert_int_eq(recur_diag_tbptt_bias(&cfg, params, &s->batch, 20, &cosv, &rel), 0);
    ck_assert_double_eq_tol(cosv, 1, 1e-12);
    ck_assert_double_le(rel, 1e-12);
    ck_assert_int_eq(recur_diag_tbptt_bias(&cfg, params, &s->batch, 3, &cosv, &rel), 0);
    ck_assert_double_lt(cosv, 1 - 1e-6);
    ck_assert_double_gt(rel, 1e-6);
    double c1, r1;
    ck_assert_int_eq(recur_diag_tbptt_bias(&cfg, params, &s->batch, 1, &c1, &r1), 0);
    ck_assert_double_ge(r1, rel - 1e-12); /* shorter windows drop more of the gradient */
    recur_synth_free(s);
    free(params);
    gsl_rng_free(rng);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("diagnose (double)");
    TCase *tc = tcase_create("diagnostics");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_step_jacobian_matches_finite_differences, 0, 12);
    tcase_add_loop_test(tc, test_forward_matches_engine, 0, 3);
    tcase_add_loop_test(tc, test_chain_rule_matches_engine, 0, 2);
    tcase_add_test(tc, test_lyapunov_and_norms_closed_form);
    tcase_add_loop_test(tc, test_orthogonal_zero_exponents, 0, 2);
    tcase_add_loop_test(tc, test_tbptt_bias_limits, 0, 3);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
