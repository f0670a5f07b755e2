/* check_infer.c - batched inference (recur/infer.h) against each row run alone through a training
 * engine: probabilities (softmax, sigmoid) in the caller's row order for any batch size, strand
 * averaging as the mean over the data and their reverse complement, raw sequence outputs, step
 * outputs with the state carried over windows, the model's own loss over chosen rows; and every
 * refusal. (The per-record mean over DNA windows is checked against PyTorch in check_dna.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include <recur/infer.h>

#include "testutil.h"

#define TOL 1e-5 /* float outputs of the same rows in other batches */

/* A dataset of N rows of lengths 1..T (row 0 the longest) with random inputs at valid steps
 * and random labels or targets; classify labels -1 on every fourth row (or step). */
static recur_dataset_t *make_ds(const recur_config_t *cfg, size_t N, size_t T, gsl_rng *rng)
{
    const size_t F = cfg->input_size, O = cfg->num_outputs;
    const bool step = cfg->head == RECUR_HEAD_STEP;
    recur_dataset_t *ds = recur_dataset_alloc(cfg->task, cfg->head, N, T, F, O, false);
    ck_assert_ptr_nonnull(ds);
    for (size_t i = 0; i < N; i++) {
        const size_t len = i == 0 ? T : 1 + gsl_rng_uniform_int(rng, T);
        for (size_t t = 0; t < len; t++) {
            ds->mask[i * T + t] = 1;
            for (size_t f = 0; f < F; f++)
                ds->x[(i * T + t) * F + f] = (float)(2 * gsl_rng_uniform(rng) - 1);
        }
        const size_t terms = step ? T : 1; /* label or target rows of record i */
        for (size_t r = i * terms; r < (i + 1) * terms; r++) {
            if (cfg->task == RECUR_TASK_CLASSIFY)
                ds->labels[r] = r % 4 == 3 ? -1 : (int32_t)gsl_rng_uniform_int(rng, O);
            else
                for (size_t k = 0; k < O; k++)
                    ds->targets[r * O + k] = cfg->task == RECUR_TASK_MULTILABEL
                                                 ? (float)gsl_rng_uniform_int(rng, 2)
                                                 : (float)gsl_ran_gaussian_ziggurat(rng, 1);
        }
    }
    ck_assert_int_eq(recur_dataset_validate(ds), 0);
    return ds;
}

static recur_real *make_params(const recur_config_t *cfg, gsl_rng *rng)
{
    recur_real *p = malloc(recur_param_count(cfg) * sizeof *p);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(recur_param_init(cfg, NULL, p, rng), 0);
    return p;
}

/* What most tests start from: a generator, parameters of cfg and a dataset of N rows of up to
 * T steps. */
typedef struct {
    gsl_rng *rng;
    recur_real *params;
    recur_dataset_t *ds;
} fix_t;

static fix_t fix_alloc(const recur_config_t *cfg, size_t N, size_t T, unsigned long seed)
{
    fix_t f = {.rng = gsl_rng_alloc(gsl_rng_mt19937)};
    ck_assert_ptr_nonnull(f.rng);
    gsl_rng_set(f.rng, seed);
    f.params = make_params(cfg, f.rng);
    f.ds = make_ds(cfg, N, T, f.rng);
    return f;
}

static void fix_free(fix_t *f)
{
    recur_dataset_free(f->ds);
    free(f->params);
    gsl_rng_free(f->rng);
}

/* Head outputs of row i alone, through a training engine in windows of K steps (0: one window):
 * (O) for the sequence head, (len, O) for the step head; *len gets the row's length. */
static recur_real *alone(const recur_config_t *cfg, const recur_real *params,
                         const recur_dataset_t *ds, size_t i, size_t K, size_t *len)
{
    const size_t O = cfg->num_outputs, T = recur_dataset_length(ds, i);
    const size_t W = K && K < T ? K : T;
    const bool step = cfg->head == RECUR_HEAD_STEP;
    recur_dataset_batch_t *bb = recur_dataset_batch_alloc(ds, T, 1);
    recur_engine_t *e = recur_engine_alloc(cfg, W, 1);
    recur_real *z = malloc((step ? T : 1) * O * sizeof *z);
    ck_assert(bb && e && z);
    recur_batch_t b;
    ck_assert_int_eq(recur_dataset_batch(ds, &i, 1, bb, &b), 0);
    ck_assert_uint_eq(b.T, T);
    for (size_t t0 = 0; t0 < T; t0 += W) {
        const size_t t1 = t0 + W < T ? t0 + W : T;
        ck_assert_int_eq(recur_engine_forward(e, params, &b, t0, t1, false, NULL, NULL, NULL), 0);
        size_t rows;
        const recur_real *y = recur_engine_outputs(e, &rows);
        if (step)
            memcpy(z + t0 * O, y, (t1 - t0) * O * sizeof *y);
        else if (t1 == T)
            memcpy(z, y, O * sizeof *y);
    }
    *len = T;
    recur_engine_free(e);
    recur_dataset_batch_free(bb);
    return z;
}

static void assert_close(double got, double want, const char *what, size_t i)
{
    ck_assert_msg(fabs(got - want) <= TOL * (1 + fabs(want)), "%s %zu: %.9g, alone %.9g", what, i,
                  got, want);
}

/* _i: cell x {classify, multilabel} x {uni, bidirectional} x {last, mean pooling} */
static recur_config_t seq_config(int i)
{
    return (recur_config_t){.cell = (recur_cell_t)(i % 3),
                            .input_size = 4,
                            .hidden_size = 7,
                            .num_layers = 2,
                            .bidirectional = (i / 6) % 2,
                            .head = RECUR_HEAD_SEQ,
                            .pool = (recur_pool_t)((i / 12) % 2),
                            .task = (i / 3) % 2 ? RECUR_TASK_MULTILABEL : RECUR_TASK_CLASSIFY,
                            .num_outputs = 3};
}

/* Probabilities of rows in any order (repeats too) and batch size: those of each row alone. */
START_TEST(test_probs_each_row_alone)
{
    const recur_config_t cfg = seq_config(_i);
    const size_t N = 23, T = 11, O = cfg.num_outputs;
    fix_t f = fix_alloc(&cfg, N, T, 70 + (unsigned long)_i);
    double want[23 * 3];
    for (size_t i = 0; i < N; i++) {
        size_t len;
        recur_real *z = alone(&cfg, f.params, f.ds, i, 0, &len);
        double zmax = z[0], sum = 0;
        for (size_t k = 1; k < O; k++)
            zmax = fmax(zmax, z[k]);
        for (size_t k = 0; k < O; k++)
            sum += exp(z[k] - zmax);
        for (size_t k = 0; k < O; k++)
            want[i * O + k] = cfg.task == RECUR_TASK_CLASSIFY ? exp(z[k] - zmax) / sum
                                                              : 1 / (1 + exp(-(double)z[k]));
        free(z);
    }
    const size_t idx[] = {5, 0, 22, 5, 13, 7, 7, 1};
    const size_t n = sizeof idx / sizeof idx[0];
    double p[23 * 3];
    for (size_t B = 1; B <= 32; B *= 2) {
        ck_assert_int_eq(recur_infer_probs(&cfg, f.params, f.ds, idx, n, B, false, p), 0);
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < O; k++)
                assert_close(p[i * O + k], want[idx[i] * O + k], "idx row", i);
        ck_assert_int_eq(recur_infer_probs(&cfg, f.params, f.ds, NULL, 0, B, false, p), 0);
        for (size_t i = 0; i < N * O; i++)
            assert_close(p[i], want[i], "row", i / O);
    }
    /* no rows: nothing written, success */
    ck_assert_int_eq(recur_infer_probs(&cfg, f.params, f.ds, idx, 0, 4, false, p), 0);
    fix_free(&f);
}
END_TEST

/* Strand averaging: the mean of the probabilities of the data and of their reverse complement
 * (steps of each row reversed, A<->T and C<->G swapped), one-hot with ambiguity columns. */
START_TEST(test_probs_revcomp_average)
{
    const recur_config_t cfg = seq_config(_i);
    const size_t N = 17, T = 9, O = cfg.num_outputs;
    fix_t f = fix_alloc(&cfg, N, T, 90 + (unsigned long)_i);
    recur_dataset_t *rc = make_ds(&cfg, N, T, f.rng);
    memset(rc->mask, 0, N * T);
    for (size_t i = 0; i < N; i++) {
        const size_t len = recur_dataset_length(f.ds, i);
        for (size_t t = 0; t < len; t++) {
            float *x = f.ds->x + (i * T + t) * 4, *y = rc->x + (i * T + len - 1 - t) * 4;
            const size_t base = gsl_rng_uniform_int(f.rng, 5); /* 4: N */
            for (size_t c = 0; c < 4; c++)
                x[c] = base == 4 ? 0.25f : (float)(c == base);
            for (size_t c = 0; c < 4; c++)
                y[c] = x[3 - c];
            rc->mask[i * T + t] = 1;
        }
    }
    double avg[17 * 3], p1[17 * 3], p2[17 * 3];
    for (size_t B = 1; B <= 32; B *= 4) {
        ck_assert_int_eq(recur_infer_probs(&cfg, f.params, f.ds, NULL, 0, B, true, avg), 0);
        ck_assert_int_eq(recur_infer_probs(&cfg, f.params, f.ds, NULL, 0, B, false, p1), 0);
        ck_assert_int_eq(recur_infer_probs(&cfg, f.params, rc, NULL, 0, B, false, p2), 0);
        for (size_t i = 0; i < N * O; i++)
            assert_close(avg[i], 0.5 * p1[i] + 0.5 * p2[i], "strand mean", i / O);
    }
    recur_dataset_free(rc);
    fix_free(&f);
}
END_TEST

/* Raw sequence outputs of a regression (any task goes): those of each row alone, idx order. */
START_TEST(test_seq_outputs)
{
    recur_config_t cfg = seq_config(_i);
    cfg.task = RECUR_TASK_REGRESS;
    const size_t N = 19, T = 8, O = cfg.num_outputs;
    fix_t f = fix_alloc(&cfg, N, T, 110 + (unsigned long)_i);
    const size_t idx[] = {18, 3, 3, 0, 9};
    const size_t n = sizeof idx / sizeof idx[0];
    recur_real z[19 * 3];
    for (size_t B = 1; B <= 8; B *= 2) {
        ck_assert_int_eq(recur_infer_seq_outputs(&cfg, f.params, f.ds, idx, n, B, z), 0);
        for (size_t i = 0; i < n; i++) {
            size_t len;
            recur_real *w = alone(&cfg, f.params, f.ds, idx[i], 0, &len);
            for (size_t k = 0; k < O; k++)
                assert_close(z[i * O + k], w[k], "seq output", i);
            free(w);
        }
    }
    fix_free(&f);
}
END_TEST

/* Step outputs in windows of K steps: those of each row alone in the same windows (for a
 * unidirectional model, one window over the row), 0 past each row's length. _i: cell x
 * {uni, bidirectional} x K in {1, 3, 64}. */
START_TEST(test_step_outputs_carried)
{
    const size_t Ks[] = {1, 3, 64};
    const size_t K = Ks[_i / 6];
    const recur_config_t cfg = {.cell = (recur_cell_t)(_i % 3),
                                .input_size = 3,
                                .hidden_size = 6,
                                .num_layers = 2,
                                .bidirectional = (_i / 3) % 2,
                                .head = RECUR_HEAD_STEP,
                                .task = RECUR_TASK_REGRESS,
                                .num_outputs = 2};
    const size_t N = 9, T = 13, O = cfg.num_outputs;
    fix_t f = fix_alloc(&cfg, N, T, 130 + (unsigned long)_i);
    const size_t idx[] = {4, 0, 8, 4};
    const size_t n = sizeof idx / sizeof idx[0];
    recur_real *z = malloc(n * T * O * sizeof *z);
    for (size_t B = 1; B <= 4; B *= 2) {
        for (size_t i = 0; i < n * T * O; i++)
            z[i] = 99;
        ck_assert_int_eq(recur_infer_step_outputs(&cfg, f.params, f.ds, idx, n, B, K, z), 0);
        for (size_t i = 0; i < n; i++) {
            size_t len;
            recur_real *w = alone(&cfg, f.params, f.ds, idx[i], cfg.bidirectional ? K : 0, &len);
            for (size_t t = 0; t < T; t++)
                for (size_t k = 0; k < O; k++)
                    assert_close(z[(i * T + t) * O + k], t < len ? w[t * O + k] : 0, "step", t);
            free(w);
        }
    }
    free(z);
    fix_free(&f);
}
END_TEST

/* The loss over chosen rows: that of one training-engine batch of the same rows; classify
 * accuracy from its logits. _i: {seq, step} x {classify, multilabel, regress}. */
START_TEST(test_loss_of_rows)
{
    const bool step = _i / 3;
    const recur_task_t task = (recur_task_t)(_i % 3);
    const recur_config_t cfg = {.cell = RECUR_CELL_LSTM,
                                .input_size = 3,
                                .hidden_size = 5,
                                .num_layers = 1,
                                .head = step ? RECUR_HEAD_STEP : RECUR_HEAD_SEQ,
                                .pool = RECUR_POOL_LAST,
                                .task = task,
                                .num_outputs = 3};
    const size_t N = 21, T = 10, O = cfg.num_outputs;
    fix_t f = fix_alloc(&cfg, N, T, 150 + (unsigned long)_i);
    const size_t idx[] = {2, 20, 0, 11, 7, 2, 15};
    const size_t n = sizeof idx / sizeof idx[0];
    /* the oracle: the rows as one batch */
    recur_dataset_batch_t *bb = recur_dataset_batch_alloc(f.ds, T, N);
    recur_engine_t *e = recur_engine_alloc(&cfg, T, N);
    ck_assert(bb && e);
    for (int all = 0; all < 2; all++) {
        size_t ids[21];
        const size_t m = all ? N : n;
        for (size_t i = 0; i < m; i++)
            ids[i] = all ? i : idx[i];
        recur_batch_t b;
        ck_assert_int_eq(recur_dataset_batch(f.ds, ids, m, bb, &b), 0);
        double want;
        size_t want_terms, rows, right = 0, judged = 0;
        ck_assert_int_eq(
            recur_engine_forward(e, f.params, &b, 0, b.T, false, NULL, &want, &want_terms), 0);
        const recur_real *z = recur_engine_outputs(e, &rows);
        for (size_t r = 0; task == RECUR_TASK_CLASSIFY && r < rows; r++) {
            if (b.labels[r] < 0 || (step && !b.mask[r]))
                continue;
            size_t best = 0;
            for (size_t k = 1; k < O; k++)
                best = z[r * O + k] > z[r * O + best] ? k : best;
            right += best == (size_t)b.labels[r];
            judged++;
        }
        for (size_t B = 1; B <= 32; B *= 4) {
            double loss, acc;
            size_t terms;
            ck_assert_int_eq(recur_infer_loss(&cfg, f.params, f.ds, all ? NULL : idx, all ? 0 : n,
                                              B, &loss, &terms, &acc),
                             0);
            ck_assert_uint_eq(terms, want_terms);
            assert_close(loss, want, "loss over rows", m);
            if (task == RECUR_TASK_CLASSIFY)
                ck_assert_double_eq_tol(acc, (double)right / (double)judged, 1e-12);
            else
                ck_assert(isnan(acc));
        }
    }
    recur_engine_free(e);
    recur_dataset_batch_free(bb);
    fix_free(&f);
}
END_TEST

START_TEST(test_refusals)
{
    const recur_config_t cfg = seq_config(0); /* LSTM classifier, 4 inputs */
    recur_config_t step = cfg, wide = cfg, reg = cfg;
    step.head = RECUR_HEAD_STEP;
    wide.input_size = 5;
    reg.task = RECUR_TASK_REGRESS;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 3);
    recur_real *params = make_params(&wide, rng); /* the largest of them */
    recur_dataset_t *ds = make_ds(&cfg, 5, 4, rng), *ds5 = make_ds(&wide, 5, 4, rng);
    recur_dataset_t *dstep = make_ds(&step, 5, 4, rng);
    double p[5 * 3], loss, acc;
    recur_real z[5 * 4 * 3];
    size_t terms;
    const size_t bad[] = {1, 5}, none[] = {0};
    /* probabilities: a sequence-head classifier of the data's features, batches of >= 1 row */
    ck_assert_int_eq(recur_infer_probs(&step, params, ds, NULL, 0, 4, false, p), RECUR_EINVAL);
    ck_assert_int_eq(recur_infer_probs(&reg, params, ds, NULL, 0, 4, false, p), RECUR_EINVAL);
    ck_assert_int_eq(recur_infer_probs(&wide, params, ds, NULL, 0, 4, false, p), RECUR_EINVAL);
    ck_assert_int_eq(recur_infer_probs(&cfg, params, ds, NULL, 0, 0, false, p), RECUR_EINVAL);
    ck_assert_int_eq(recur_infer_probs(&wide, params, ds5, NULL, 0, 4, false, p), 0);
    ck_assert_int_eq(recur_infer_probs(&wide, params, ds5, NULL, 0, 4, true, p), RECUR_EINVAL);
    ck_assert_int_eq(recur_infer_probs(&cfg, params, ds, bad, 2, 4, false, p), RECUR_EINVAL);
    /* raw outputs: the head they read, the data's features, K >= 1, rows in range */
    ck_assert_int_eq(recur_infer_seq_outputs(&step, params, dstep, NULL, 0, 4, z), RECUR_EINVAL);
    ck_assert_int_eq(recur_infer_seq_outputs(&wide, params, ds, NULL, 0, 4, z), RECUR_EINVAL);
    ck_assert_int_eq(recur_infer_seq_outputs(&cfg, params, ds, NULL, 0, 0, z), RECUR_EINVAL);
    ck_assert_int_eq(recur_infer_seq_outputs(&cfg, params, ds, bad, 2, 4, z), RECUR_EINVAL);
    ck_assert_int_eq(recur_infer_step_outputs(&cfg, params, ds, NULL, 0, 4, 8, z), RECUR_EINVAL);
    ck_assert_int_eq(recur_infer_step_outputs(&step, params, dstep, NULL, 0, 4, 0, z),
                     RECUR_EINVAL);
    ck_assert_int_eq(recur_infer_step_outputs(&step, params, dstep, bad, 2, 4, 8, z), RECUR_EINVAL);
    ck_assert_int_eq(recur_infer_step_outputs(&step, params, dstep, NULL, 0, 4, 8, z), 0);
    /* the loss: data of the model's kind, at least one row, all in range */
    const struct {
        const recur_config_t *cfg;
        const recur_dataset_t *ds;
        const size_t *idx;
        size_t n, B;
        int want;
    } loss_cases[] = {
        {&step, ds, NULL, 0, 4, RECUR_EINVAL}, /* a sequence-head dataset */
        {&reg, ds, NULL, 0, 4, RECUR_EINVAL},  /* a classify dataset */
        {&cfg, ds5, NULL, 0, 4, RECUR_EINVAL}, /* 5 features */
        {&cfg, ds, NULL, 0, 0, RECUR_EINVAL},  /* batches of 0 */
        {&cfg, ds, none, 0, 4, RECUR_EINVAL},  /* no row */
        {&cfg, ds, bad, 2, 4, RECUR_EINVAL},   /* row 5 of 5 */
        {&cfg, ds, bad, 1, 4, 0},
    };
    for (size_t i = 0; i < sizeof loss_cases / sizeof loss_cases[0]; i++)
        ck_assert_int_eq(recur_infer_loss(loss_cases[i].cfg, params, loss_cases[i].ds,
                                          loss_cases[i].idx, loss_cases[i].n, loss_cases[i].B,
                                          &loss, &terms, &acc),
                         loss_cases[i].want);
    recur_dataset_free(dstep);
    recur_dataset_free(ds5);
    recur_dataset_free(ds);
    free(params);
    gsl_rng_free(rng);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("infer");
    TCase *tc = tcase_create("infer");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_probs_each_row_alone, 0, 24);
    tcase_add_loop_test(tc, test_probs_revcomp_average, 0, 24);
    tcase_add_loop_test(tc, test_seq_outputs, 0, 24);
    tcase_add_loop_test(tc, test_step_outputs_carried, 0, 18);
    tcase_add_loop_test(tc, test_loss_of_rows, 0, 6);
    tcase_add_test(tc, test_refusals);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
