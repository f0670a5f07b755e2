/* check_threads.c - parallel training: the thread pool runs every task once; a batch cut into
 * shards whose backward is normalised by the terms of all shards gives the whole batch's loss
 * and gradient; the trainer's parameters after 50 steps are bit-identical for 1, 2, 3 and 4
 * threads and between two runs, and close to those of an unsharded trainer. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <recur/synth.h>
#include <recur/tpool.h>
#include <recur/train.h>

#include "testutil.h"

/* ---- pool ------------------------------------------------------------------------------- */

typedef struct {
    atomic_int *count; /* (n) times task i ran */
} pool_ctx_t;

static void count_task(void *arg, size_t i)
{
    pool_ctx_t *c = arg;
    atomic_fetch_add(&c->count[i], 1);
}

START_TEST(test_pool_runs_each_task_once)
{
    const size_t sizes[] = {0, 1, 2, 3, 7, 100, 1000};
    recur_tpool_t *p = recur_tpool_alloc((size_t)_i + 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(recur_tpool_threads(p), (size_t)_i + 1);
    for (int round = 0; round < 20; round++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            const size_t n = sizes[k];
            atomic_int *count = calloc(n ? n : 1, sizeof *count);
            pool_ctx_t c = {count};
            recur_tpool_run(p, n, count_task, &c);
            for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(atomic_load(&count[i]), 1);
            free(count);
        }
    recur_tpool_free(p);
    ck_assert_ptr_null(recur_tpool_alloc(0));
    ck_assert_uint_eq(recur_tpool_threads(NULL), 1);
    recur_tpool_free(NULL);
}
END_TEST

/* ---- shards through the engine ---------------------------------------------------------- */

static const recur_config_t cfgs[] = {
    {.cell = RECUR_CELL_LSTM,
     .input_size = 3,
     .hidden_size = 8,
     .num_layers = 2,
     .bidirectional = true,
     .head = RECUR_HEAD_SEQ,
     .pool = RECUR_POOL_MEAN,
     .task = RECUR_TASK_CLASSIFY,
     .num_outputs = 3,
     .dropout = 0.25},
    {.cell = RECUR_CELL_GRU,
     .input_size = 4,
     .hidden_size = 20,
     .num_layers = 1,
     .head = RECUR_HEAD_STEP,
     .task = RECUR_TASK_REGRESS,
     .num_outputs = 2},
    {.cell = RECUR_CELL_RNN,
     .input_size = 2,
     .hidden_size = 17,
     .num_layers = 2,
     .head = RECUR_HEAD_SEQ,
     .pool = RECUR_POOL_LAST,
     .task = RECUR_TASK_MULTILABEL,
     .num_outputs = 4},
    {.cell = RECUR_CELL_LSTM,
     .input_size = 5,
     .hidden_size = 33,
     .num_layers = 1,
     .head = RECUR_HEAD_SEQ,
     .pool = RECUR_POOL_MAX,
     .task = RECUR_TASK_REGRESS,
     .num_outputs = 1},
};
#define N_CFG (int)(sizeof cfgs / sizeof cfgs[0])

/* Rows [r0, r0 + n) of batch s as a batch of its own (arrays malloc'd into *x etc.). */
typedef struct {
    recur_batch_t b;
    recur_real *x, *targets;
    unsigned char *mask;
    int32_t *labels;
} sub_t;

static sub_t sub_batch(const recur_config_t *cfg, const recur_batch_t *s, size_t r0, size_t n)
{
    const size_t T = s->T, B = s->B, I = cfg->input_size, O = cfg->num_outputs;
    const size_t blocks = cfg->head == RECUR_HEAD_STEP ? T : 1;
    sub_t u = {.x = malloc(T * n * I * sizeof(recur_real)), .mask = malloc(T * n)};
    for (size_t t = 0; t < T; t++)
        for (size_t b = 0; b < n; b++) {
            memcpy(u.x + (t * n + b) * I, s->x + (t * B + r0 + b) * I, I * sizeof *u.x);
            u.mask[t * n + b] = s->mask[t * B + r0 + b];
        }
    if (s->labels) {
        u.labels = malloc(blocks * n * sizeof *u.labels);
        for (size_t k = 0; k < blocks; k++)
            memcpy(u.labels + k * n, s->labels + k * B + r0, n * sizeof *u.labels);
    }
    if (s->targets) {
        u.targets = malloc(blocks * n * O * sizeof *u.targets);
        for (size_t k = 0; k < blocks; k++)
            memcpy(u.targets + k * n * O, s->targets + (k * B + r0) * O, n * O * sizeof *u.targets);
    }
    u.b = (recur_batch_t){T, n, u.x, u.mask, u.labels, u.targets, NULL};
    return u;
}

static void sub_free(sub_t *u)
{
    free(u->x);
    free(u->mask);
    free(u->labels);
    free(u->targets);
}

/* Whole batch against 3 shards, window by window (K = 4, TBPTT) or at once. */
START_TEST(test_shards_sum_to_batch)
{
    recur_config_t cfg = cfgs[_i % N_CFG];
    cfg.dropout = 0;
    const size_t T = 11, B = 10, K = _i / N_CFG ? 4 : T, P = recur_param_count(&cfg);
    const size_t r0[] = {0, 4, 7, 10}; /* shards of 4, 3, 3 */
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 40 + (unsigned long)_i);
    recur_real *params = malloc(P * sizeof *params);
    ck_assert_int_eq(recur_param_init(&cfg, NULL, params, rng), 0);
    const recur_synth_opts_t so = {.mixed_lengths = true, .gaps = true};
    recur_synth_t *s = recur_synth_alloc(&cfg, T, B, &so, rng);
    recur_engine_t *full = recur_engine_alloc(&cfg, K, B), *e[3];
    sub_t u[3];
    for (int k = 0; k < 3; k++) {
        e[k] = recur_engine_alloc(&cfg, K, r0[k + 1] - r0[k]);
        u[k] = sub_batch(&cfg, &s->batch, r0[k], r0[k + 1] - r0[k]);
    }
    recur_real *g = malloc(P * sizeof *g), *gs = malloc(P * sizeof *gs);
    for (size_t t0 = 0; t0 < T; t0 += K) {
        const size_t t1 = t0 + K < T ? t0 + K : T;
        double loss, ls[3], sum = 0;
        size_t n, ns[3], N = 0;
        ck_assert_int_eq(
            recur_engine_forward(full, params, &s->batch, t0, t1, false, NULL, &loss, &n), 0);
        for (int k = 0; k < 3; k++) {
            ck_assert_int_eq(
                recur_engine_forward(e[k], params, &u[k].b, t0, t1, false, NULL, &ls[k], &ns[k]),
                0);
            sum += ls[k] * (double)ns[k];
            N += ns[k];
        }
        ck_assert_uint_eq(N, n);
        if (n == 0)
            continue;
        ck_assert_double_eq_tol(sum / (double)N, loss, 1e-6 * (1 + fabs(loss)));
        memset(g, 0, P * sizeof *g);
        memset(gs, 0, P * sizeof *gs);
        ck_assert_int_eq(recur_engine_backward(full, params, g, NULL), 0);
        for (int k = 0; k < 3; k++)
            ck_assert_int_eq(recur_engine_backward_norm(e[k], params, gs, NULL, (double)N), 0);
        for (size_t i = 0; i < P; i++)
            ck_assert_msg(fabs(gs[i] - g[i]) <= 1e-5 * (1 + fabs(g[i])),
                          "window %zu grad %zu: shards %g, batch %g", t0, i, (double)gs[i],
                          (double)g[i]);
    }
    for (int k = 0; k < 3; k++) {
        recur_engine_free(e[k]);
        sub_free(&u[k]);
    }
    recur_engine_free(full);
    recur_synth_free(s);
    free(g);
    free(gs);
    free(params);
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_backward_norm_refused)
{
    const recur_config_t *cfg = &cfgs[1];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    const size_t P = recur_param_count(cfg);
    recur_real *params = malloc(P * sizeof *params), *g = calloc(P, sizeof *g);
    ck_assert_int_eq(recur_param_init(cfg, NULL, params, rng), 0);
    recur_synth_t *s = recur_synth_alloc(cfg, 5, 3, NULL, rng);
    recur_engine_t *e = recur_engine_alloc(cfg, 5, 3);
    double loss;
    ck_assert_int_eq(recur_engine_forward(e, params, &s->batch, 0, 5, false, NULL, &loss, NULL), 0);
    ck_assert_int_eq(recur_engine_backward_norm(e, params, g, NULL, -1), RECUR_EINVAL);
    ck_assert_int_eq(recur_engine_backward_norm(e, params, g, NULL, NAN), RECUR_EINVAL);
    ck_assert_int_eq(recur_engine_backward_norm(e, params, g, NULL, 7), 0);
    recur_engine_free(e);
    recur_synth_free(s);
    free(params);
    free(g);
    gsl_rng_free(rng);
}
END_TEST

/* ---- the trainer ------------------------------------------------------------------------ */

/* Parameters after `steps` batches of B = 37 (shards of at most shard_rows). */
static recur_real *train(const recur_config_t *cfg, size_t threads, size_t shard_rows, size_t tbptt,
                         size_t steps, recur_optim_kind_t kind)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 2026);
    const size_t P = recur_param_count(cfg), T = 10, B = 37;
    recur_real *params = malloc(P * sizeof *params);
    ck_assert_int_eq(recur_param_init(cfg, NULL, params, rng), 0);
    recur_optim_config_t oc;
    recur_optim_defaults(kind, &oc);
    oc.clip = 1;
    recur_optim_t *opt = recur_optim_alloc(&oc, P);
    const recur_train_opts_t to = {.tbptt = tbptt, .threads = threads, .shard_rows = shard_rows};
    recur_trainer_t *tr = recur_trainer_alloc(cfg, opt, &to, T, B);
    ck_assert_ptr_nonnull(tr);
    const recur_synth_opts_t so = {.mixed_lengths = true, .gaps = true};
    for (size_t k = 0; k < steps; k++) {
        /* the last batch of an "epoch" is smaller */
        recur_synth_t *b = recur_synth_alloc(cfg, T, k % 10 == 9 ? 13 : B, &so, rng);
        recur_train_stats_t st;
        ck_assert_int_eq(recur_trainer_batch(tr, params, &b->batch, rng, &st), 0);
        ck_assert(isfinite(st.loss));
        recur_synth_free(b);
    }
    double loss;
    recur_synth_t *b = recur_synth_alloc(cfg, T, B, &so, rng);
    ck_assert_int_eq(recur_trainer_eval(tr, params, &b->batch, &loss, NULL), 0);
    ck_assert(isfinite(loss));
    recur_synth_free(b);
    recur_trainer_free(tr);
    recur_optim_free(opt);
    gsl_rng_free(rng);
    return params;
}

/* 50 steps with 5 shards (8 rows) on 1, 2, 3 and 4 threads: the same bits, and again. */
START_TEST(test_bit_identical_any_threads)
{
    const recur_config_t *cfg = &cfgs[_i % N_CFG];
    const size_t tbptt = _i / N_CFG ? 4 : 0, P = recur_param_count(cfg);
    const recur_optim_kind_t kind = _i % 2 ? RECUR_OPT_ADAMW : RECUR_OPT_SGD;
    recur_real *ref = train(cfg, 1, 8, tbptt, 50, kind);
    for (size_t th = 1; th <= 4; th++) {
        recur_real *p = train(cfg, th, 8, tbptt, 50, kind);
        ck_assert_msg(memcmp(ref, p, P * sizeof *p) == 0, "%zu threads differ from 1", th);
        free(p);
    }
    free(ref);
}
END_TEST

/* Shards change the order of sums only: one SGD step with 5 shards is close to one without. */
START_TEST(test_sharded_close_to_unsharded)
{
    recur_config_t cfg = cfgs[_i];
    cfg.dropout = 0; /* dropout draws differ between 1 and 5 shards */
    const size_t P = recur_param_count(&cfg);
    recur_real *a = train(&cfg, 2, 8, 0, 1, RECUR_OPT_SGD);
    recur_real *b = train(&cfg, 1, 64, 0, 1, RECUR_OPT_SGD);
    for (size_t i = 0; i < P; i++)
        ck_assert_msg(fabs(a[i] - b[i]) <= 1e-6 * (1 + fabs(b[i])), "param %zu: %g vs %g", i,
                      (double)a[i], (double)b[i]);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_shard_count)
{
    const recur_train_opts_t to = {.shard_rows = 8, .threads = 3};
    recur_optim_config_t oc;
    recur_optim_defaults(RECUR_OPT_SGD, &oc);
    recur_optim_t *opt = recur_optim_alloc(&oc, recur_param_count(&cfgs[1]));
    recur_trainer_t *tr = recur_trainer_alloc(&cfgs[1], opt, &to, 5, 37);
    ck_assert_uint_eq(recur_trainer_shards(tr, 37), 5);
    ck_assert_uint_eq(recur_trainer_shards(tr, 8), 1);
    ck_assert_uint_eq(recur_trainer_shards(tr, 9), 2);
    /* a batch larger than the trainer was sized for is refused */
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    recur_synth_t *b = recur_synth_alloc(&cfgs[1], 5, 41, NULL, rng);
    recur_train_stats_t st;
    recur_real *params = calloc(recur_param_count(&cfgs[1]), sizeof *params);
    ck_assert_int_eq(recur_trainer_batch(tr, params, &b->batch, rng, &st), RECUR_EINVAL);
    recur_synth_free(b);
    free(params);
    gsl_rng_free(rng);
    recur_trainer_free(tr);
    recur_optim_free(opt);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("shards");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_pool_runs_each_task_once, 0, 4);
    tcase_add_loop_test(tc, test_shards_sum_to_batch, 0, 2 * N_CFG);
    tcase_add_test(tc, test_backward_norm_refused);
    tcase_add_loop_test(tc, test_bit_identical_any_threads, 0, 2 * N_CFG);
    tcase_add_loop_test(tc, test_sharded_close_to_unsharded, 0, N_CFG);
    tcase_add_test(tc, test_shard_count);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
