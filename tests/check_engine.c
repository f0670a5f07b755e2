/* check_engine.c - engine properties that need no reference: a padded batch equals its
 * sequences run one by one; padded steps get exactly zero gradient; a masked gap leaves the
 * state unchanged; same inputs give bit-identical results; bad calls are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/engine.h>
#include <recur/synth.h>

#include "testutil.h"

static recur_config_t config(int cell, recur_head_t head, recur_pool_t pool, recur_task_t task)
{
    return (recur_config_t){.cell = (recur_cell_t)cell,
                            .input_size = 3,
                            .hidden_size = 6,
                            .num_layers = 2,
                            .bidirectional = true,
                            .head = head,
                            .pool = pool,
                            .task = task,
                            .num_outputs = 3};
}

static recur_real *init_params(const recur_config_t *cfg, gsl_rng *rng)
{
    recur_real *p = malloc(recur_param_count(cfg) * sizeof *p);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(recur_param_init(cfg, NULL, p, rng), 0);
    return p;
}

/* Loss and gradient of sequence b of s alone (its valid length, batch of one). */
static double single(const recur_config_t *cfg, const recur_real *params, const recur_synth_t *s,
                     size_t b, recur_real *grads, size_t *terms)
{
    const recur_batch_t *bt = &s->batch;
    const size_t T = bt->T, B = bt->B, I = cfg->input_size, O = cfg->num_outputs;
    size_t len = 0;
    for (size_t t = 0; t < T; t++)
        if (bt->mask[t * B + b])
            len = t + 1;
    recur_real *x = malloc(len * I * sizeof *x);
    unsigned char *m = malloc(len);
    int32_t *lab = malloc(len * sizeof *lab);
    recur_real *y = malloc(len * O * sizeof *y);
    for (size_t t = 0; t < len; t++) {
        memcpy(x + t * I, bt->x + (t * B + b) * I, I * sizeof *x);
        m[t] = bt->mask[t * B + b];
        if (bt->labels && cfg->head == RECUR_HEAD_STEP)
            lab[t] = bt->labels[t * B + b];
        if (bt->targets && cfg->head == RECUR_HEAD_STEP)
            memcpy(y + t * O, bt->targets + (t * B + b) * O, O * sizeof *y);
    }
    if (cfg->head == RECUR_HEAD_SEQ) {
        if (bt->labels)
            lab[0] = bt->labels[b];
        if (bt->targets)
            memcpy(y, bt->targets + b * O, O * sizeof *y);
    }
    recur_batch_t one = {len, 1, x, m, bt->labels ? lab : NULL, bt->targets ? y : NULL, NULL};
    recur_engine_t *e = recur_engine_alloc(cfg, len, 1);
    ck_assert_ptr_nonnull(e);
    double loss;
    ck_assert_int_eq(recur_engine_forward(e, params, &one, 0, len, false, NULL, &loss, terms), 0);
    memset(grads, 0, recur_param_count(cfg) * sizeof *grads);
    ck_assert_int_eq(recur_engine_backward(e, params, grads, NULL), 0);
    recur_engine_free(e);
    free(x);
    free(m);
    free(lab);
    free(y);
    return loss;
}

/* Loop over cells x {last, mean, max, step} with classify and regress alternating. */
START_TEST(test_padded_equals_one_by_one)
{
    const int cell = _i % 3, h = (_i / 3) % 4;
    const recur_task_t task = (_i / 12) % 2 ? RECUR_TASK_REGRESS : RECUR_TASK_CLASSIFY;
    const recur_config_t cfg = config(cell, h == 3 ? RECUR_HEAD_STEP : RECUR_HEAD_SEQ,
                                      h == 3 ? RECUR_POOL_LAST : (recur_pool_t)h, task);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11 + (unsigned long)_i);
    recur_real *params = init_params(&cfg, rng);
    const recur_synth_opts_t so = {.mixed_lengths = true, .gaps = false};
    const size_t T = 11, B = 5, P = recur_param_count(&cfg);
    recur_synth_t *s = recur_synth_alloc(&cfg, T, B, &so, rng);
    ck_assert_ptr_nonnull(s);
    recur_engine_t *e = recur_engine_alloc(&cfg, T, B);
    recur_real *g = calloc(P, sizeof *g), *g1 = calloc(P, sizeof *g1),
               *sum = calloc(P, sizeof *sum);
    double loss;
    size_t terms, total = 0;
    ck_assert_int_eq(recur_engine_forward(e, params, &s->batch, 0, T, false, NULL, &loss, &terms),
                     0);
    ck_assert_int_eq(recur_engine_backward(e, params, g, NULL), 0);
    double acc = 0;
    for (size_t b = 0; b < B; b++) {
        size_t nt;
        const double l1 = single(&cfg, params, s, b, g1, &nt);
        acc += l1 * (double)nt; /* each single loss is a mean over its own terms */
        for (size_t i = 0; i < P; i++)
            sum[i] += g1[i] * (recur_real)nt;
        total += nt;
    }
    ck_assert_uint_eq(total, terms);
    ck_assert_double_eq_tol(loss, acc / (double)total, 1e-5 * (1 + fabs(loss)));
    for (size_t i = 0; i < P; i++) {
        const double ref = sum[i] / (double)total;
        ck_assert_msg(fabs(g[i] - ref) <= 2e-5 * (1 + fabs(ref)), "grad %zu: %g vs %g", i,
                      (double)g[i], ref);
    }
    free(g);
    free(g1);
    free(sum);
    recur_engine_free(e);
    recur_synth_free(s);
    free(params);
    gsl_rng_free(rng);
}
END_TEST

/* d loss / d x is exactly zero at padded and gap steps, with dropout on too. */
START_TEST(test_masked_steps_get_zero_gradient)
{
    recur_config_t cfg = config(_i % 3, _i / 3 % 2 ? RECUR_HEAD_STEP : RECUR_HEAD_SEQ,
                                RECUR_POOL_MEAN, RECUR_TASK_MULTILABEL);
    cfg.dropout = 0.3;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    recur_real *params = init_params(&cfg, rng);
    const recur_synth_opts_t so = {.mixed_lengths = true, .gaps = true};
    const size_t T = 20, B = 6, I = cfg.input_size;
    recur_synth_t *s = recur_synth_alloc(&cfg, T, B, &so, rng);
    recur_engine_t *e = recur_engine_alloc(&cfg, T, B);
    recur_real *g = calloc(recur_param_count(&cfg), sizeof *g),
               *dx = malloc(T * B * I * sizeof *dx);
    double loss;
    ck_assert_int_eq(recur_engine_forward(e, params, &s->batch, 0, T, true, rng, &loss, NULL), 0);
    ck_assert_int_eq(recur_engine_backward(e, params, g, dx), 0);
    size_t masked = 0, nonzero = 0;
    for (size_t r = 0; r < T * B; r++) {
        for (size_t i = 0; i < I; i++) {
            if (!s->mask[r]) {
                ck_assert(dx[r * I + i] == 0);
                masked++;
            } else if (dx[r * I + i] != 0) {
                nonzero++;
            }
        }
    }
    ck_assert_uint_gt(masked, 0);
    ck_assert_uint_gt(nonzero, 0);
    /* the outputs at masked steps are 0 too */
    const recur_real *y = recur_engine_layer_output(e, cfg.num_layers - 1);
    for (size_t r = 0; r < T * B; r++)
        for (size_t j = 0; !s->mask[r] && j < 2 * cfg.hidden_size; j++)
            ck_assert(y[r * 2 * cfg.hidden_size + j] == 0);
    free(g);
    free(dx);
    recur_engine_free(e);
    recur_synth_free(s);
    free(params);
    gsl_rng_free(rng);
}
END_TEST

/* A gap (masked step inside a sequence) leaves the state unchanged: the final state equals
 * that of the sequence with the gap removed. */
START_TEST(test_gap_keeps_state)
{
    recur_config_t cfg = config(_i, RECUR_HEAD_SEQ, RECUR_POOL_LAST, RECUR_TASK_CLASSIFY);
    cfg.bidirectional = false;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 9);
    recur_real *params = init_params(&cfg, rng);
    const size_t T = 6, I = 3, H = cfg.hidden_size;
    recur_real x[6 * 3], xs[5 * 3];
    test_fill_uniform(x, T * I, -1, 1, rng);
    unsigned char m[6] = {1, 1, 0, 1, 1, 1}, ms[5] = {1, 1, 1, 1, 1};
    memcpy(xs, x, 2 * I * sizeof *x);
    memcpy(xs + 2 * I, x + 3 * I, 3 * I * sizeof *x);
    recur_batch_t a = {T, 1, x, m, NULL, NULL, NULL}, b = {T - 1, 1, xs, ms, NULL, NULL, NULL};
    recur_engine_t *e = recur_engine_alloc(&cfg, T, 1);
    ck_assert_int_eq(recur_engine_forward(e, params, &a, 0, T, false, NULL, NULL, NULL), 0);
    recur_real h1[6];
    memcpy(h1, recur_engine_final_h(e, 1, 0), H * sizeof *h1);
    ck_assert_int_eq(recur_engine_forward(e, params, &b, 0, T - 1, false, NULL, NULL, NULL), 0);
    const recur_real *h2 = recur_engine_final_h(e, 1, 0);
    for (size_t j = 0; j < H; j++)
        ck_assert(h1[j] == h2[j]);
    recur_engine_free(e);
    free(params);
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_bad_calls_refused)
{
    recur_config_t cfg = config(1, RECUR_HEAD_SEQ, RECUR_POOL_LAST, RECUR_TASK_CLASSIFY);
    cfg.hidden_size = 0;
    ck_assert_ptr_null(recur_engine_alloc(&cfg, 4, 2));
    cfg.hidden_size = 4;
    cfg.num_outputs = 1; /* classify needs 2 classes */
    ck_assert_ptr_null(recur_engine_alloc(&cfg, 4, 2));
    cfg.num_outputs = 3;
    cfg.dropout = 1.0;
    ck_assert_ptr_null(recur_engine_alloc(&cfg, 4, 2));
    cfg.dropout = 0;
    ck_assert_ptr_null(recur_engine_alloc(&cfg, 0, 2));
    recur_engine_t *e = recur_engine_alloc(&cfg, 4, 2);
    ck_assert_ptr_nonnull(e);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    recur_real *params = init_params(&cfg, rng), *g = calloc(recur_param_count(&cfg), sizeof *g);
    recur_real x[8 * 3] = {0};
    unsigned char m[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    int32_t lab[2] = {0, 3}; /* 3 is out of range */
    recur_batch_t b = {4, 2, x, m, lab, NULL, NULL};
    double loss;
    /* backward before any forward with a loss */
    ck_assert_int_eq(recur_engine_backward(e, params, g, NULL), RECUR_EINVAL);
    ck_assert_int_eq(recur_engine_forward(e, params, &b, 0, 4, false, NULL, &loss, NULL),
                     RECUR_EINVAL);
    lab[1] = 1;
    ck_assert_int_eq(recur_engine_forward(e, params, &b, 0, 5, false, NULL, &loss, NULL),
                     RECUR_EINVAL); /* beyond T */
    ck_assert_int_eq(recur_engine_forward(e, params, &b, 2, 2, false, NULL, &loss, NULL),
                     RECUR_EINVAL); /* empty window */
    b.labels = NULL;
    ck_assert_int_eq(recur_engine_forward(e, params, &b, 0, 4, false, NULL, &loss, NULL),
                     RECUR_EINVAL); /* loss without labels */
    b.labels = lab;
    ck_assert_int_eq(recur_engine_forward(e, params, &b, 0, 4, false, NULL, &loss, NULL), 0);
    ck_assert(isfinite(loss));
    ck_assert_int_eq(recur_engine_backward(e, params, g, NULL), 0);
    free(g);
    free(params);
    gsl_rng_free(rng);
    recur_engine_free(e);
}
END_TEST

/* The same inputs give bit-identical loss and gradients (dropout from the same seed). */
START_TEST(test_deterministic)
{
    recur_config_t cfg = config(_i, RECUR_HEAD_STEP, RECUR_POOL_LAST, RECUR_TASK_REGRESS);
    cfg.dropout = 0.2;
    const size_t T = 30, B = 8, P = recur_param_count(&cfg);
    recur_real *g[2];
    double loss[2];
    for (int k = 0; k < 2; k++) {
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(rng, 3);
        recur_real *params = init_params(&cfg, rng);
        const recur_synth_opts_t so = {.mixed_lengths = true, .gaps = true};
        recur_synth_t *s = recur_synth_alloc(&cfg, T, B, &so, rng);
        recur_engine_t *e = recur_engine_alloc(&cfg, 10, B);
        g[k] = calloc(P, sizeof *g[k]);
        loss[k] = 0;
        for (size_t t0 = 0; t0 < T; t0 += 10) { /* TBPTT windows of 10 */
            double l;
            ck_assert_int_eq(
                recur_engine_forward(e, params, &s->batch, t0, t0 + 10, true, rng, &l, NULL), 0);
            ck_assert_int_eq(recur_engine_backward(e, params, g[k], NULL), 0);
            loss[k] += l;
        }
        recur_engine_free(e);
        recur_synth_free(s);
        free(params);
        gsl_rng_free(rng);
    }
    ck_assert(loss[0] == loss[1]);
    ck_assert_mem_eq(g[0], g[1], P * sizeof *g[0]);
    free(g[0]);
    free(g[1]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("properties");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_padded_equals_one_by_one, 0, 24);
    tcase_add_loop_test(tc, test_masked_steps_get_zero_gradient, 0, 6);
    tcase_add_loop_test(tc, test_gap_keeps_state, 0, 3);
    tcase_add_test(tc, test_bad_calls_refused);
    tcase_add_loop_test(tc, test_deterministic, 0, 3);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
