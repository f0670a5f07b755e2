/* check_fit.c - the training loop (recur/fit.h): a run checkpointed at every batch boundary and
 * every epoch end, written to and read back from a model file and restored into a new fit, ends
 * bit-identical to the uninterrupted run (DNA classifiers with dropout, shuffling, bucketing,
 * strands or class balancing; forecasting windows; whole series by truncated BPTT; a run stopped
 * early); patience and the weights kept (best or last); class balancing; the epoch orders; the
 * callbacks and reports; every refusal. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>

#include <recur/fit.h>

#include "testutil.h"

#define MAX_EPOCHS 16

/* ---- Data ------------------------------------------------------------------------------------ */

/* DNA-like records: N one-hot rows (A, C, G, T) of lengths lo..T (row 0 of length T), row i of
 * class labels[i] (-1: unlabelled), its bases drawn as base (label mod 4) with probability 0.6,
 * else uniformly. */
static recur_dataset_t *dna_ds(size_t N, size_t T, size_t lo, size_t O, const int32_t *labels,
                               gsl_rng *rng)
{
    recur_dataset_t *ds = recur_dataset_alloc(RECUR_TASK_CLASSIFY, RECUR_HEAD_SEQ, N, T, 4, O, 0);
    ck_assert_ptr_nonnull(ds);
    for (size_t i = 0; i < N; i++) {
        const size_t len = i == 0 ? T : lo + gsl_rng_uniform_int(rng, T - lo + 1);
        const int32_t y = labels[i];
        for (size_t t = 0; t < len; t++) {
            const size_t base = y >= 0 && gsl_rng_uniform(rng) < 0.6
                                    ? (size_t)y % 4
                                    : (size_t)gsl_rng_uniform_int(rng, 4);
            ds->mask[i * T + t] = 1;
            ds->x[(i * T + t) * 4 + base] = 1;
        }
        ds->labels[i] = y;
    }
    ck_assert_int_eq(recur_dataset_validate(ds), 0);
    return ds;
}

/* Forecasting windows: N records of T steps and 2 features, O targets per record (a linear
 * function of the last steps, plus noise). */
static recur_dataset_t *window_ds(size_t N, size_t T, size_t O, gsl_rng *rng)
{
    recur_dataset_t *ds = recur_dataset_alloc(RECUR_TASK_REGRESS, RECUR_HEAD_SEQ, N, T, 2, O, 0);
    ck_assert_ptr_nonnull(ds);
    for (size_t i = 0; i < N; i++) {
        for (size_t t = 0; t < T; t++) {
            ds->mask[i * T + t] = 1;
            for (size_t f = 0; f < 2; f++)
                ds->x[(i * T + t) * 2 + f] = (float)gsl_ran_gaussian_ziggurat(rng, 1);
        }
        const float *last = ds->x + (i * T + T - 1) * 2, *prev = last - 2;
        for (size_t k = 0; k < O; k++)
            ds->targets[i * O + k] = (float)(0.5 * last[k % 2] - 0.3 * prev[0] +
                                             0.1 * gsl_ran_gaussian_ziggurat(rng, 1));
    }
    ck_assert_int_eq(recur_dataset_validate(ds), 0);
    return ds;
}

/* Whole series for the step head: N series of T steps and 2 features, one target per step (the
 * first feature one step back plus half the second). */
static recur_dataset_t *series_ds(size_t N, size_t T, gsl_rng *rng)
{
    recur_dataset_t *ds = recur_dataset_alloc(RECUR_TASK_REGRESS, RECUR_HEAD_STEP, N, T, 2, 1, 0);
    ck_assert_ptr_nonnull(ds);
    for (size_t i = 0; i < N; i++)
        for (size_t t = 0; t < T; t++) {
            float *x = ds->x + (i * T + t) * 2;
            ds->mask[i * T + t] = 1;
            x[0] = (float)gsl_ran_gaussian_ziggurat(rng, 1);
            x[1] = (float)gsl_ran_gaussian_ziggurat(rng, 1);
            ds->targets[i * T + t] = (t ? x[-2] : 0.0f) + 0.5f * x[1];
        }
    ck_assert_int_eq(recur_dataset_validate(ds), 0);
    return ds;
}

/* ---- Cases ----------------------------------------------------------------------------------- */

/* A run to test: the model, the options, the data, the initial weights and the seed. */
typedef struct {
    recur_config_t cfg;
    recur_fit_opts_t o;
    recur_dataset_t *ds, *vds; /* vds NULL: validation rows are rows of ds (or none) */
    size_t rows[160], n_rows, vrows[16], n_vrows;
    recur_real *p0;
    unsigned long seed;
} case_t;

enum {
    K_DNA,     /* GRU, dropout, shuffle + bucket + strands, Adam, keep best */
    K_BALANCE, /* LSTM, dropout over 2 threads x shards, balanced classes, SGD momentum, keep last
                */
    K_SERIES,  /* step head, whole series by TBPTT (K = 6), AdamW, validation on longer series */
    K_WINDOWS, /* forecasting windows: bidirectional LSTM, mean pooling, 2 targets, in order */
    K_STOP,    /* DNA with validation labels that disagree: early stop with patience 1 */
    N_CASES
};

static void case_free(case_t *c)
{
    recur_dataset_free(c->ds);
    recur_dataset_free(c->vds);
    free(c->p0);
}

static recur_fit_data_t case_data(const case_t *c)
{
    return (recur_fit_data_t){c->ds,     c->rows,
                              c->n_rows, c->vds ? c->vds : (c->n_vrows ? c->ds : NULL),
                              c->vrows,  c->n_vrows};
}

static recur_real *case_params(const case_t *c, unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    recur_real *p = malloc(recur_param_count(&c->cfg) * sizeof *p);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(recur_param_init(&c->cfg, NULL, p, r), 0);
    gsl_rng_free(r);
    return p;
}

static case_t case_make(int kind)
{
    case_t c;
    memset(&c, 0, sizeof c);
    c.seed = 100 + (unsigned long)kind;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, c.seed);
    int32_t lab[160];
    c.o.epochs = 3;
    switch (kind) {
    case K_DNA:
    case K_STOP: {
        /* 22 training rows (3 unlabelled) in 4 batches, 8 validation rows */
        for (size_t i = 0; i < 30; i++)
            lab[i] = i < 22 && i % 7 == 6 ? -1 : (int32_t)(i % 3);
        c.ds = dna_ds(30, 12, 4, 3, lab, rng);
        c.cfg = (recur_config_t){.cell = RECUR_CELL_GRU,
                                 .input_size = 4,
                                 .hidden_size = 4,
                                 .num_layers = 2,
                                 .head = RECUR_HEAD_SEQ,
                                 .pool = RECUR_POOL_LAST,
                                 .task = RECUR_TASK_CLASSIFY,
                                 .num_outputs = 3,
                                 .dropout = 0.25};
        for (size_t i = 0; i < 22; i++)
            c.rows[c.n_rows++] = i;
        for (size_t i = 22; i < 30; i++)
            c.vrows[c.n_vrows++] = i;
        c.o.batch_size = 6;
        c.o.shuffle = true;
        c.o.bucket = true;
        c.o.revcomp = true;
        recur_optim_defaults(RECUR_OPT_ADAM, &c.o.optim);
        c.o.optim.lr = 0.02;
        c.o.optim.clip = 1;
        if (kind == K_STOP) { /* validation labels the training rows' rule does not give */
            for (size_t i = 22; i < 30; i++)
                c.ds->labels[i] = (c.ds->labels[i] + 1) % 3;
            c.o.optim.lr = 0.05;
            c.o.revcomp = false;
            c.o.epochs = 10;
            c.o.patience = 1;
        }
        break;
    }
    case K_BALANCE: {
        /* 18 training rows: classes 10, 4, 2 and 2 unlabelled; 30 rows per epoch in 4 batches */
        static const int32_t y[26] = {0, 0, 1, 0, 0,  2, 0, -1, 0, 1, 0, 0, 1,
                                      0, 2, 0, 1, -1, 0, 1, 2,  0, 1, 2, 0, 1};
        c.ds = dna_ds(26, 10, 3, 3, y, rng);
        c.cfg = (recur_config_t){.cell = RECUR_CELL_LSTM,
                                 .input_size = 4,
                                 .hidden_size = 3,
                                 .num_layers = 2,
                                 .head = RECUR_HEAD_SEQ,
                                 .pool = RECUR_POOL_MAX,
                                 .task = RECUR_TASK_CLASSIFY,
                                 .num_outputs = 3,
                                 .dropout = 0.2};
        for (size_t i = 0; i < 18; i++)
            c.rows[c.n_rows++] = i;
        for (size_t i = 18; i < 26; i++)
            c.vrows[c.n_vrows++] = i;
        c.o.batch_size = 8;
        c.o.shuffle = true;
        c.o.balance = true;
        c.o.keep_last = true;
        c.o.train.threads = 2;
        c.o.train.shard_rows = 3;
        recur_optim_defaults(RECUR_OPT_SGD, &c.o.optim);
        c.o.optim.lr = 0.1;
        c.o.optim.momentum = 0.9;
        break;
    }
    case K_SERIES: {
        /* 6 series of 20 steps in 3 batches of 2, 4 windows each; 2 validation series of 24 */
        c.ds = series_ds(6, 20, rng);
        c.vds = series_ds(2, 24, rng);
        c.cfg = (recur_config_t){.cell = RECUR_CELL_GRU,
                                 .input_size = 2,
                                 .hidden_size = 4,
                                 .num_layers = 1,
                                 .head = RECUR_HEAD_STEP,
                                 .task = RECUR_TASK_REGRESS,
                                 .num_outputs = 1};
        for (size_t i = 0; i < 6; i++)
            c.rows[c.n_rows++] = 5 - i;
        c.vrows[0] = 1;
        c.vrows[1] = 0;
        c.n_vrows = 2;
        c.o.batch_size = 2;
        c.o.shuffle = true;
        c.o.train.tbptt = 6;
        recur_optim_defaults(RECUR_OPT_ADAMW, &c.o.optim);
        c.o.optim.lr = 0.01;
        c.o.optim.clip = 0.5;
        break;
    }
    case K_WINDOWS: {
        /* 16 windows of 6 steps in batches of 5 (the last of 1), 6 validation windows */
        c.ds = window_ds(16, 6, 2, rng);
        c.vds = window_ds(6, 6, 2, rng);
        c.cfg = (recur_config_t){.cell = RECUR_CELL_LSTM,
                                 .input_size = 2,
                                 .hidden_size = 4,
                                 .num_layers = 2,
                                 .bidirectional = true,
                                 .head = RECUR_HEAD_SEQ,
                                 .pool = RECUR_POOL_MEAN,
                                 .task = RECUR_TASK_REGRESS,
                                 .num_outputs = 2,
                                 .dropout = 0.2};
        for (size_t i = 0; i < 16; i++)
            c.rows[c.n_rows++] = i;
        for (size_t i = 0; i < 6; i++)
            c.vrows[c.n_vrows++] = i;
        c.o.batch_size = 5;
        recur_optim_defaults(RECUR_OPT_ADAM, &c.o.optim);
        c.o.optim.lr = 0.01;
        break;
    }
    default:
        ck_abort_msg("no case %d", kind);
    }
    gsl_rng_free(rng);
    c.p0 = case_params(&c, c.seed + 7);
    return c;
}

/* ---- Runs and what they did ------------------------------------------------------------------ */

typedef struct {
    uint64_t update;
    size_t epoch;
    double loss, norm, norm_after;
    bool skipped;
} upd_t;

/* What a run showed: every update, every epoch's report and every epoch's rows. */
typedef struct {
    upd_t *u;
    size_t nu, cap;
    uint64_t fail_at; /* the callback returns fail_code at this update (0: never) */
    int fail_code;
    recur_fit_epoch_t ep[MAX_EPOCHS];
    size_t n_ep;
    size_t *rows[MAX_EPOCHS + 2]; /* by epoch (1-based), as first seen */
    size_t n_rows[MAX_EPOCHS + 2];
} trace_t;

static void trace_free(trace_t *t)
{
    free(t->u);
    for (size_t e = 0; e < MAX_EPOCHS + 2; e++)
        free(t->rows[e]);
    memset(t, 0, sizeof *t);
}

static int on_update(void *ctx, const recur_fit_update_t *fu)
{
    trace_t *t = ctx;
    if (t->nu == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->u = realloc(t->u, t->cap * sizeof *t->u);
        ck_assert_ptr_nonnull(t->u);
    }
    const recur_update_info_t *u = fu->upd;
    t->u[t->nu++] = (upd_t){u->update, fu->epoch, u->loss, u->norm, u->norm_after, u->skipped};
    return t->fail_at && u->update == t->fail_at ? t->fail_code : 0;
}

/* A fit of c with options o from weights p0 and a new generator seeded with seed (*rng; the
 * caller frees it after the fit); the callback records into t (NULL: none). */
static recur_fit_t *fit_new(const case_t *c, const recur_fit_opts_t *o, const recur_real *p0,
                            unsigned long seed, gsl_rng **rng, trace_t *t)
{
    *rng = gsl_rng_alloc(gsl_rng_mt19937);
    ck_assert_ptr_nonnull(*rng);
    gsl_rng_set(*rng, seed);
    recur_fit_opts_t oo = *o;
    if (t) {
        oo.on_update = on_update;
        oo.on_update_ctx = t;
    }
    const recur_fit_data_t d = case_data(c);
    recur_fit_t *f = recur_fit_alloc(&c->cfg, p0, &oo, &d, *rng);
    ck_assert_ptr_nonnull(f);
    return f;
}

/* The epoch's rows after a batch: noted the first time, unchanged afterwards. */
static void note_rows(const recur_fit_t *f, trace_t *t)
{
    recur_fit_status_t st;
    recur_fit_status(f, &st);
    size_t n;
    const size_t *rows = recur_fit_epoch_rows(f, &n);
    ck_assert_ptr_nonnull(rows);
    ck_assert_uint_eq(n, st.rows_per_epoch);
    ck_assert_uint_le(st.epoch, MAX_EPOCHS);
    if (!t->rows[st.epoch]) {
        t->rows[st.epoch] = malloc(n * sizeof *rows);
        ck_assert_ptr_nonnull(t->rows[st.epoch]);
        memcpy(t->rows[st.epoch], rows, n * sizeof *rows);
        t->n_rows[st.epoch] = n;
    } else {
        ck_assert_uint_eq(t->n_rows[st.epoch], n);
        ck_assert_mem_eq(t->rows[st.epoch], rows, n * sizeof *rows);
    }
}

/* Drives f through at most `stop` moves (a batch trained, an epoch ended) or to its end; returns
 * the moves made. */
static size_t drive(recur_fit_t *f, trace_t *t, size_t stop)
{
    size_t s = 0;
    while (s < stop && !recur_fit_done(f)) {
        int rc = recur_fit_next(f);
        ck_assert_int_ge(rc, 0);
        if (rc == 1) {
            note_rows(f, t);
            s++;
            continue;
        }
        recur_fit_epoch_t e;
        rc = recur_fit_epoch_end(f, &e);
        ck_assert_int_ge(rc, 0);
        ck_assert_int_eq(rc == 0, recur_fit_done(f));
        ck_assert_uint_lt(t->n_ep, MAX_EPOCHS);
        t->ep[t->n_ep++] = e;
        s++;
    }
    return s;
}

static recur_model_t *result_of(const case_t *c, const recur_fit_t *f, size_t *epoch, bool *best)
{
    recur_model_t *m = recur_model_alloc(&c->cfg);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(recur_fit_result(f, m, epoch, best), 0);
    return m;
}

static recur_model_t *checkpoint_of(const case_t *c, const recur_fit_t *f)
{
    recur_model_t *m = recur_model_alloc(&c->cfg);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(recur_fit_checkpoint(f, m), 0);
    return m;
}

/* The checkpoint through the model file: saved to path and loaded back. */
static recur_model_t *round_trip(recur_model_t *m, const char *path)
{
    ck_assert_int_eq(recur_model_save(m, path), 0);
    recur_model_free(m);
    m = recur_model_load(path);
    ck_assert_ptr_nonnull(m);
    return m;
}

/* A temporary directory and a file in it, removed by tmp_done. */
typedef struct {
    char dir[64], path[96];
} tmp_t;

static void tmp_make(tmp_t *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/check_fit.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/ckpt.h5", t->dir);
}

static void tmp_done(const tmp_t *t)
{
    unlink(t->path);
    ck_assert_int_eq(rmdir(t->dir), 0);
}

/* ---- Comparisons ----------------------------------------------------------------------------- */

#define SAME_BITS(a, b, what)                                                                      \
    ck_assert_msg(memcmp(&(a), &(b), sizeof(a)) == 0, "%s: %.17g != %.17g", what, (double)(a),     \
                  (double)(b))

static void same_epoch(const recur_fit_epoch_t *a, const recur_fit_epoch_t *b)
{
    ck_assert_uint_eq(a->epoch, b->epoch);
    ck_assert_uint_eq(a->epochs, b->epochs);
    ck_assert_int_eq(a->has_val, b->has_val);
    ck_assert_int_eq(a->best, b->best);
    ck_assert_uint_eq(a->since_best, b->since_best);
    ck_assert_uint_eq(a->updates, b->updates);
    ck_assert_uint_eq(a->skipped, b->skipped);
    ck_assert_uint_eq(a->clipped, b->clipped);
    ck_assert_int_eq(a->stop, b->stop);
    SAME_BITS(a->loss, b->loss, "loss");
    SAME_BITS(a->acc, b->acc, "acc");
    SAME_BITS(a->val_loss, b->val_loss, "val_loss");
    SAME_BITS(a->val_acc, b->val_acc, "val_acc");
    SAME_BITS(a->val_bal, b->val_bal, "val_bal");
    SAME_BITS(a->grad_norm_mean, b->grad_norm_mean, "grad_norm_mean");
    SAME_BITS(a->grad_norm_max, b->grad_norm_max, "grad_norm_max");
    SAME_BITS(a->padding, b->padding, "padding");
}

static void same_update(const upd_t *a, const upd_t *b)
{
    ck_assert_uint_eq(a->update, b->update);
    ck_assert_uint_eq(a->epoch, b->epoch);
    ck_assert_int_eq(a->skipped, b->skipped);
    SAME_BITS(a->loss, b->loss, "update loss");
    SAME_BITS(a->norm, b->norm, "update norm");
    SAME_BITS(a->norm_after, b->norm_after, "update norm_after");
}

static void same_reals(const recur_real *a, const recur_real *b, size_t n)
{
    ck_assert_int_eq(a == NULL, b == NULL);
    if (a)
        ck_assert_mem_eq(a, b, n * sizeof *a);
}

static const char *const resume_keys[] = {"resume_epoch",  "resume_batch",   "resume_epoch_rng",
                                          "resume_acc",    "resume_best",    "resume_best_m",
                                          "resume_best_v", "resume_best_rng"};

/* Weights, training state and resume lists of two models bit for bit. */
static void same_model(const recur_model_t *a, const recur_model_t *b)
{
    const size_t P = recur_param_count(recur_model_config(a));
    ck_assert_uint_eq(P, recur_param_count(recur_model_config(b)));
    same_reals(recur_model_params_const(a), recur_model_params_const(b), P);
    const recur_train_state_t *x = recur_model_train_state(a), *y = recur_model_train_state(b);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(y);
    ck_assert_str_eq(x->optimizer, y->optimizer);
    ck_assert_uint_eq(x->step, y->step);
    ck_assert_uint_eq(x->skipped, y->skipped);
    ck_assert_uint_eq(x->epoch, y->epoch);
    ck_assert_uint_eq(x->cursor, y->cursor);
    same_reals(x->m, y->m, P);
    same_reals(x->v, y->v, P);
    same_reals(x->best, y->best, P);
    ck_assert_str_eq(x->rng_name, y->rng_name);
    ck_assert_uint_eq(x->rng_size, y->rng_size);
    ck_assert_mem_eq(x->rng_state, y->rng_state, x->rng_size);
    for (size_t k = 0; k < sizeof resume_keys / sizeof resume_keys[0]; k++) {
        size_t na = 0, nb = 0;
        const double *va = recur_model_numbers(a, resume_keys[k], &na);
        const double *vb = recur_model_numbers(b, resume_keys[k], &nb);
        ck_assert_msg((va == NULL) == (vb == NULL), "%s in one model only", resume_keys[k]);
        ck_assert_uint_eq(na, nb);
        if (va)
            ck_assert_mem_eq(va, vb, na * sizeof *va);
    }
}

static void same_status(const recur_fit_t *a, const recur_fit_t *b)
{
    recur_fit_status_t x, y;
    recur_fit_status(a, &x);
    recur_fit_status(b, &y);
    ck_assert_uint_eq(x.epoch, y.epoch);
    ck_assert_uint_eq(x.epochs, y.epochs);
    ck_assert_uint_eq(x.batch, y.batch);
    ck_assert_uint_eq(x.batches, y.batches);
    ck_assert_uint_eq(x.updates, y.updates);
    ck_assert_uint_eq(x.rows_per_epoch, y.rows_per_epoch);
    ck_assert_uint_eq(x.batch_size, y.batch_size);
    ck_assert_int_eq(recur_fit_done(a), recur_fit_done(b));
}

static void same_rng(const gsl_rng *a, const gsl_rng *b)
{
    ck_assert_uint_eq(gsl_rng_size(a), gsl_rng_size(b));
    ck_assert_mem_eq(gsl_rng_state(a), gsl_rng_state(b), gsl_rng_size(a));
}

/* ---- 1. Resume from every state -------------------------------------------------------------- */

/* For every moment k of a run (before its first batch, after each batch, after each epoch's
 * end), a fit driven to k and checkpointed through the model file, restored into a new fit (of
 * other weights and another generator) and driven to the end, gives the uninterrupted run's
 * updates, epoch reports and orders, weights, generator, result and final checkpoint. */
START_TEST(test_resume_every_state)
{
    case_t c = case_make(_i);
    const size_t P = recur_param_count(&c.cfg);
    tmp_t tmp = {0};
    tmp_make(&tmp);
    recur_real *zero = calloc(P, sizeof *zero);
    ck_assert_ptr_nonnull(zero);
    trace_t full = {0};
    gsl_rng *r0;
    recur_fit_t *f0 = fit_new(&c, &c.o, c.p0, c.seed, &r0, &full);
    const size_t S = drive(f0, &full, SIZE_MAX);
    ck_assert(recur_fit_done(f0));
    ck_assert_uint_ge(full.n_ep, 2);
    ck_assert_uint_gt(S, 2 * full.n_ep);
    size_t kept0;
    bool best0;
    recur_model_t *res0 = result_of(&c, f0, &kept0, &best0);
    recur_model_t *end0 = checkpoint_of(&c, f0);
    for (size_t k = 0; k <= S; k++) {
        trace_t a = {0}, b = {0};
        gsl_rng *ra, *rb;
        recur_fit_t *fa = fit_new(&c, &c.o, c.p0, c.seed, &ra, &a);
        ck_assert_uint_eq(drive(fa, &a, k), k);
        recur_model_t *m = round_trip(checkpoint_of(&c, fa), tmp.path);
        recur_fit_free(fa);
        gsl_rng_free(ra);
        recur_fit_t *fb = fit_new(&c, &c.o, zero, c.seed + 1000, &rb, &b);
        ck_assert_int_eq(recur_fit_restore(fb, m, tmp.path), 0);
        recur_model_free(m);
        ck_assert_uint_eq(drive(fb, &b, SIZE_MAX), S - k);
        ck_assert(recur_fit_done(fb));
        /* what each part saw is the uninterrupted run's, before and after the cut */
        ck_assert_uint_eq(a.nu + b.nu, full.nu);
        for (size_t i = 0; i < a.nu; i++)
            same_update(&a.u[i], &full.u[i]);
        for (size_t i = 0; i < b.nu; i++)
            same_update(&b.u[i], &full.u[a.nu + i]);
        ck_assert_uint_eq(a.n_ep + b.n_ep, full.n_ep);
        for (size_t i = 0; i < a.n_ep; i++)
            same_epoch(&a.ep[i], &full.ep[i]);
        for (size_t i = 0; i < b.n_ep; i++)
            same_epoch(&b.ep[i], &full.ep[a.n_ep + i]);
        for (size_t e = 1; e <= MAX_EPOCHS; e++) {
            const size_t *mine = b.rows[e] ? b.rows[e] : a.rows[e];
            ck_assert_int_eq(mine != NULL, full.rows[e] != NULL);
            if (b.rows[e] && a.rows[e]) /* the epoch the cut fell in: its order drawn again */
                ck_assert_mem_eq(b.rows[e], a.rows[e], a.n_rows[e] * sizeof *mine);
            if (mine)
                ck_assert_mem_eq(mine, full.rows[e], full.n_rows[e] * sizeof *mine);
        }
        /* and it ends where the uninterrupted run ended */
        ck_assert_mem_eq(recur_fit_params(fb), recur_fit_params(f0), P * sizeof(recur_real));
        same_rng(rb, r0);
        same_status(fb, f0);
        size_t kept;
        bool best;
        recur_model_t *res = result_of(&c, fb, &kept, &best);
        ck_assert_uint_eq(kept, kept0);
        ck_assert_int_eq(best, best0);
        same_model(res, res0);
        recur_model_t *end = checkpoint_of(&c, fb);
        same_model(end, end0);
        recur_model_free(end);
        recur_model_free(res);
        recur_fit_free(fb);
        gsl_rng_free(rb);
        trace_free(&a);
        trace_free(&b);
    }
    if (_i == K_STOP) /* the early stop happened inside the run */
        ck_assert(full.n_ep < c.o.epochs && full.ep[full.n_ep - 1].stop);
    ck_assert_int_eq(best0, !c.o.keep_last); /* every case validates */
    recur_model_free(end0);
    recur_model_free(res0);
    recur_fit_free(f0);
    gsl_rng_free(r0);
    trace_free(&full);
    free(zero);
    tmp_done(&tmp);
    case_free(&c);
}
END_TEST

/* A finished model (the result of a run without validation) restored with more epochs continues
 * with the epoch after its last, as the longer run would have. */
START_TEST(test_resume_finished_model)
{
    case_t c = case_make(K_DNA);
    c.n_vrows = 0;
    c.o.epochs = 4;
    tmp_t tmp = {0};
    tmp_make(&tmp);
    trace_t full = {0}, a = {0}, b = {0};
    gsl_rng *r0, *ra, *rb;
    recur_fit_t *f0 = fit_new(&c, &c.o, c.p0, c.seed, &r0, &full);
    drive(f0, &full, SIZE_MAX);
    ck_assert_uint_eq(full.n_ep, 4);
    recur_fit_opts_t o2 = c.o;
    o2.epochs = 2;
    recur_fit_t *fa = fit_new(&c, &o2, c.p0, c.seed, &ra, &a);
    drive(fa, &a, SIZE_MAX);
    size_t kept;
    bool best;
    recur_model_t *m = round_trip(result_of(&c, fa, &kept, &best), tmp.path);
    ck_assert_uint_eq(kept, 2);
    ck_assert(!best);
    ck_assert_ptr_null(recur_model_numbers(m, "resume_epoch", NULL));
    recur_fit_t *fb = fit_new(&c, &c.o, c.p0, 5, &rb, &b);
    ck_assert_int_eq(recur_fit_restore(fb, m, tmp.path), 0);
    recur_fit_status_t st;
    recur_fit_status(fb, &st);
    ck_assert_uint_eq(st.epoch, 3);
    ck_assert_uint_eq(st.updates, a.nu);
    drive(fb, &b, SIZE_MAX);
    ck_assert_uint_eq(b.n_ep, 2);
    for (size_t i = 0; i < 2; i++)
        same_epoch(&b.ep[i], &full.ep[2 + i]);
    ck_assert_uint_eq(a.nu + b.nu, full.nu);
    for (size_t i = 0; i < b.nu; i++)
        same_update(&b.u[i], &full.u[a.nu + i]);
    ck_assert_mem_eq(recur_fit_params(fb), recur_fit_params(f0),
                     recur_param_count(&c.cfg) * sizeof(recur_real));
    same_rng(rb, r0);
    recur_model_free(m);
    recur_fit_free(fb);
    recur_fit_free(fa);
    recur_fit_free(f0);
    gsl_rng_free(rb);
    gsl_rng_free(ra);
    gsl_rng_free(r0);
    trace_free(&full);
    trace_free(&a);
    trace_free(&b);
    tmp_done(&tmp);
    case_free(&c);
}
END_TEST

/* ---- 2. Early stopping and the weights kept -------------------------------------------------- */

/* Runs c with options o to its end; returns the fit (and *rng, *t). */
static recur_fit_t *run_all(const case_t *c, const recur_fit_opts_t *o, gsl_rng **rng, trace_t *t)
{
    recur_fit_t *f = fit_new(c, o, c->p0, c->seed, rng, t);
    drive(f, t, SIZE_MAX);
    ck_assert(recur_fit_done(f));
    ck_assert_int_eq(recur_fit_next(f), 0); /* nothing left */
    ck_assert(recur_fit_done(f));
    return f;
}

/* The reports follow the rule: best = a lower validation loss than every epoch before, the epochs
 * since counted, the stop exactly when they reach patience (and only in the last report). Returns
 * the best epoch (0: none). */
static size_t check_patience_rule(const trace_t *t, size_t patience)
{
    double low = INFINITY;
    size_t since = 0, best = 0;
    for (size_t i = 0; i < t->n_ep; i++) {
        const recur_fit_epoch_t *e = &t->ep[i];
        ck_assert_uint_eq(e->epoch, i + 1);
        ck_assert(e->has_val);
        ck_assert(isfinite(e->val_loss));
        const bool lower = e->val_loss < low;
        if (lower) {
            low = e->val_loss;
            since = 0;
            best = e->epoch;
        } else {
            since++;
        }
        ck_assert_int_eq(e->best, lower);
        ck_assert_uint_eq(e->since_best, since);
        ck_assert_int_eq(e->stop, patience && since >= patience);
        if (i + 1 < t->n_ep)
            ck_assert(!e->stop);
    }
    return best;
}

START_TEST(test_patience)
{
    case_t c = case_make(K_STOP);
    const size_t P = recur_param_count(&c.cfg);
    c.o.patience = 2;
    c.o.epochs = 12;
    /* A: keep the best epoch */
    trace_t ta = {0};
    gsl_rng *ra;
    recur_fit_t *fa = run_all(&c, &c.o, &ra, &ta);
    const size_t best = check_patience_rule(&ta, 2);
    ck_assert_uint_ge(best, 1);
    ck_assert_msg(ta.n_ep < c.o.epochs, "no early stop in %zu epochs", ta.n_ep);
    ck_assert(ta.ep[ta.n_ep - 1].stop);
    ck_assert_uint_eq(ta.n_ep, best + 2); /* exactly `patience` epochs without improvement */
    recur_fit_status_t st;
    recur_fit_status(fa, &st);
    ck_assert_uint_eq(st.epoch, ta.n_ep + 1);
    size_t kept;
    bool is_best;
    recur_model_t *ma = result_of(&c, fa, &kept, &is_best);
    ck_assert_uint_eq(kept, best);
    ck_assert(is_best);
    ck_assert_ptr_null(recur_model_train_state(ma)->best);
    ck_assert_uint_eq(recur_model_train_state(ma)->epoch, best);
    /* the best epoch's weights and state are those of a run that ends there */
    recur_fit_opts_t ob = c.o;
    ob.epochs = best;
    ob.patience = 0;
    ob.keep_last = true;
    trace_t tb = {0};
    gsl_rng *rb;
    recur_fit_t *fb = run_all(&c, &ob, &rb, &tb);
    recur_model_t *mb = result_of(&c, fb, &kept, &is_best);
    ck_assert_uint_eq(kept, best);
    ck_assert(!is_best);
    same_model(ma, mb);
    ck_assert_mem_eq(recur_model_params_const(ma), recur_fit_params(fb), P * sizeof(recur_real));
    /* C: keep the last: the same run and stop, the last epoch's weights */
    recur_fit_opts_t oc = c.o;
    oc.keep_last = true;
    trace_t tc = {0};
    gsl_rng *rc_;
    recur_fit_t *fc = run_all(&c, &oc, &rc_, &tc);
    ck_assert_uint_eq(tc.n_ep, ta.n_ep);
    for (size_t i = 0; i < tc.n_ep; i++)
        same_epoch(&tc.ep[i], &ta.ep[i]);
    recur_model_t *mc = result_of(&c, fc, &kept, &is_best);
    ck_assert_uint_eq(kept, ta.n_ep);
    ck_assert(!is_best);
    ck_assert_mem_eq(recur_model_params_const(mc), recur_fit_params(fa), P * sizeof(recur_real));
    ck_assert(memcmp(recur_model_params_const(mc), recur_model_params_const(ma),
                     P * sizeof(recur_real)) != 0);
    /* D: patience 0: every epoch, the best one kept */
    recur_fit_opts_t od = c.o;
    od.patience = 0;
    od.epochs = ta.n_ep + 2;
    trace_t td = {0};
    gsl_rng *rd;
    recur_fit_t *fd = run_all(&c, &od, &rd, &td);
    ck_assert_uint_eq(td.n_ep, od.epochs);
    const size_t best_d = check_patience_rule(&td, 0);
    recur_model_t *md = result_of(&c, fd, &kept, &is_best);
    ck_assert_uint_eq(kept, best_d);
    ck_assert(is_best);
    /* E: no validation: patience has nothing to count, the last epoch is kept */
    case_t ce = c;
    ce.n_vrows = 0;
    recur_fit_opts_t oe = c.o;
    oe.epochs = 4;
    trace_t te = {0};
    gsl_rng *re;
    recur_fit_t *fe = run_all(&ce, &oe, &re, &te);
    ck_assert_uint_eq(te.n_ep, 4);
    for (size_t i = 0; i < te.n_ep; i++) {
        ck_assert(!te.ep[i].has_val && !te.ep[i].best && !te.ep[i].stop);
        ck_assert(isnan(te.ep[i].val_loss));
    }
    recur_model_t *me = result_of(&ce, fe, &kept, &is_best);
    ck_assert_uint_eq(kept, 4);
    ck_assert(!is_best);
    ck_assert_mem_eq(recur_model_params_const(me), recur_fit_params(fe), P * sizeof(recur_real));
    recur_model_free(me);
    recur_model_free(md);
    recur_model_free(mc);
    recur_model_free(mb);
    recur_model_free(ma);
    recur_fit_free(fe);
    recur_fit_free(fd);
    recur_fit_free(fc);
    recur_fit_free(fb);
    recur_fit_free(fa);
    gsl_rng_free(re);
    gsl_rng_free(rd);
    gsl_rng_free(rc_);
    gsl_rng_free(rb);
    gsl_rng_free(ra);
    trace_free(&te);
    trace_free(&td);
    trace_free(&tc);
    trace_free(&tb);
    trace_free(&ta);
    case_free(&c);
}
END_TEST

/* ---- 3. Class balancing ---------------------------------------------------------------------- */

/* Occurrences of each row of ds in rows[0..n-1] (counts has ds->N entries). */
static void count_rows(const size_t *rows, size_t n, size_t N, size_t *counts)
{
    memset(counts, 0, N * sizeof *counts);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_lt(rows[i], N);
        counts[rows[i]]++;
    }
}

/* _i: 0 the classes present, 1 a class absent from the training rows (O = 4) */
START_TEST(test_balance)
{
    case_t c = case_make(K_BALANCE);
    if (_i == 1) { /* a fourth output no training row has */
        c.cfg.num_outputs = 4;
        c.ds->O = 4;
        free(c.p0);
        c.p0 = case_params(&c, 3);
    }
    const size_t N = c.ds->N, B = c.o.batch_size;
    size_t per_class[4] = {0}, most = 0;
    for (size_t i = 0; i < c.n_rows; i++)
        if (c.ds->labels[c.rows[i]] >= 0)
            per_class[c.ds->labels[c.rows[i]]]++;
    for (size_t k = 0; k < 3; k++)
        most = per_class[k] > most ? per_class[k] : most;
    ck_assert_uint_eq(most, 10);
    ck_assert_uint_eq(per_class[2], 2);
    /* balanced: every class drawn up to the largest, the unlabelled rows never */
    trace_t t = {0};
    gsl_rng *r;
    recur_fit_t *f = fit_new(&c, &c.o, c.p0, c.seed, &r, &t);
    recur_fit_status_t st;
    recur_fit_status(f, &st);
    ck_assert_uint_eq(st.rows_per_epoch, 3 * most);
    ck_assert_uint_eq(st.batches, (3 * most + B - 1) / B);
    drive(f, &t, SIZE_MAX);
    ck_assert_uint_eq(t.n_ep, c.o.epochs);
    size_t counts[32];
    ck_assert_uint_le(N, 32);
    bool repeats_differ = false;
    for (size_t e = 1; e <= c.o.epochs; e++) {
        ck_assert_uint_eq(t.n_rows[e], 3 * most);
        count_rows(t.rows[e], t.n_rows[e], N, counts);
        size_t drawn[4] = {0};
        for (size_t i = 0; i < N; i++) {
            const int32_t y = c.ds->labels[i];
            bool train = false;
            for (size_t j = 0; j < c.n_rows; j++)
                train |= c.rows[j] == i;
            if (!train || y < 0) { /* validation and unlabelled rows are never drawn */
                ck_assert_uint_eq(counts[i], 0);
                continue;
            }
            ck_assert_uint_ge(counts[i], 1); /* every labelled row at least once */
            if (per_class[y] == most)
                ck_assert_uint_eq(counts[i], 1);
            drawn[y] += counts[i];
        }
        for (size_t k = 0; k < 3; k++)
            ck_assert_uint_eq(drawn[k], most);
        ck_assert_uint_eq(drawn[3], 0);
        if (e > 1) {
            size_t prev[32];
            count_rows(t.rows[e - 1], t.n_rows[e - 1], N, prev);
            repeats_differ |= memcmp(prev, counts, N * sizeof *counts) != 0;
        }
        ck_assert_uint_eq(t.ep[e - 1].updates, (3 * most + B - 1) / B);
    }
    ck_assert_msg(repeats_differ, "the same draws with replacement every epoch");
    ck_assert_uint_eq(t.nu, c.o.epochs * ((3 * most + B - 1) / B));
    recur_fit_free(f);
    gsl_rng_free(r);
    trace_free(&t);
    /* unbalanced: every training row once per epoch, unlabelled ones too */
    recur_fit_opts_t o = c.o;
    o.balance = false;
    f = fit_new(&c, &o, c.p0, c.seed, &r, &t);
    recur_fit_status(f, &st);
    ck_assert_uint_eq(st.rows_per_epoch, c.n_rows);
    drive(f, &t, SIZE_MAX);
    for (size_t e = 1; e <= o.epochs; e++) {
        ck_assert_uint_eq(t.n_rows[e], c.n_rows);
        count_rows(t.rows[e], t.n_rows[e], N, counts);
        for (size_t j = 0; j < c.n_rows; j++)
            ck_assert_uint_eq(counts[c.rows[j]], 1);
        ck_assert_uint_eq(t.ep[e - 1].updates, (c.n_rows + B - 1) / B);
    }
    recur_fit_free(f);
    gsl_rng_free(r);
    trace_free(&t);
    case_free(&c);
}
END_TEST

/* ---- 4. Epoch orders ------------------------------------------------------------------------- */

/* Runs c with options o from seed to its end, recording into t. */
static void orders(const case_t *c, const recur_fit_opts_t *o, unsigned long seed, trace_t *t)
{
    gsl_rng *r;
    recur_fit_t *f = fit_new(c, o, c->p0, seed, &r, t);
    drive(f, t, SIZE_MAX);
    recur_fit_free(f);
    gsl_rng_free(r);
}

static bool is_permutation(const size_t *a, size_t n, const size_t *rows, size_t N)
{
    size_t counts[160];
    ck_assert_uint_le(N, 160);
    count_rows(a, n, N, counts);
    for (size_t j = 0; j < n; j++)
        if (counts[rows[j]] != 1)
            return false;
    return true;
}

START_TEST(test_orders)
{
    case_t c = case_make(K_DNA);
    const size_t n = c.n_rows, N = c.ds->N;
    for (size_t i = 0; i < n; i++) /* a training order of our own */
        c.rows[i] = (7 * i + 3) % n;
    trace_t a = {0}, b = {0}, d = {0}, s = {0};
    /* no shuffling: the rows as given, every epoch (bucketing needs shuffling) */
    recur_fit_opts_t o = c.o;
    o.shuffle = false;
    orders(&c, &o, c.seed, &s);
    for (size_t e = 1; e <= o.epochs; e++) {
        ck_assert_uint_eq(s.n_rows[e], n);
        ck_assert_mem_eq(s.rows[e], c.rows, n * sizeof *c.rows);
    }
    /* shuffling: a permutation, a new one every epoch, the same ones for the same seed */
    o.shuffle = true;
    o.bucket = false;
    orders(&c, &o, c.seed, &a);
    orders(&c, &o, c.seed, &b);
    orders(&c, &o, c.seed + 1, &d);
    bool other_seed_differs = false;
    for (size_t e = 1; e <= o.epochs; e++) {
        ck_assert(is_permutation(a.rows[e], a.n_rows[e], c.rows, N));
        ck_assert(memcmp(a.rows[e], c.rows, n * sizeof *c.rows) != 0);
        ck_assert_mem_eq(a.rows[e], b.rows[e], n * sizeof *c.rows);
        other_seed_differs |= memcmp(a.rows[e], d.rows[e], n * sizeof *c.rows) != 0;
        if (e > 1)
            ck_assert(memcmp(a.rows[e], a.rows[e - 1], n * sizeof *c.rows) != 0);
    }
    ck_assert(other_seed_differs);
    for (size_t i = 0; i < a.n_ep; i++)
        same_epoch(&a.ep[i], &b.ep[i]);
    trace_free(&a);
    trace_free(&b);
    trace_free(&d);
    trace_free(&s);
    case_free(&c);
}
END_TEST

/* Length bucketing: rows sorted by length within chunks of RECUR_FIT_BUCKET_BATCHES batches (two
 * chunks here), less padding than shuffling alone; without shuffling it does nothing. */
START_TEST(test_bucketing)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 9);
    const size_t N = 150, B = 2, chunk = B * RECUR_FIT_BUCKET_BATCHES;
    int32_t lab[150];
    for (size_t i = 0; i < N; i++)
        lab[i] = (int32_t)(i % 2);
    case_t c;
    memset(&c, 0, sizeof c);
    c.ds = dna_ds(N, 20, 1, 2, lab, rng);
    gsl_rng_free(rng);
    c.cfg = (recur_config_t){.cell = RECUR_CELL_RNN,
                             .input_size = 4,
                             .hidden_size = 2,
                             .num_layers = 1,
                             .head = RECUR_HEAD_SEQ,
                             .task = RECUR_TASK_CLASSIFY,
                             .num_outputs = 2};
    c.seed = 11;
    c.p0 = case_params(&c, 12);
    for (size_t i = 0; i < 130; i++)
        c.rows[c.n_rows++] = i;
    c.o.epochs = 2;
    c.o.batch_size = B;
    c.o.shuffle = true;
    c.o.bucket = true;
    recur_optim_defaults(RECUR_OPT_SGD, &c.o.optim);
    trace_t tb = {0}, ts = {0}, tn = {0};
    orders(&c, &c.o, c.seed, &tb);
    recur_fit_opts_t o = c.o;
    o.bucket = false;
    orders(&c, &o, c.seed, &ts);
    o.shuffle = false;
    o.bucket = true;
    orders(&c, &o, c.seed, &tn);
    for (size_t e = 1; e <= 2; e++) {
        const size_t *r = tb.rows[e];
        ck_assert(is_permutation(r, tb.n_rows[e], c.rows, N));
        for (size_t s = 0; s < c.n_rows; s += chunk)
            for (size_t i = s + 1; i < s + chunk && i < c.n_rows; i++)
                ck_assert_uint_le(recur_dataset_length(c.ds, r[i - 1]),
                                  recur_dataset_length(c.ds, r[i]));
        /* the two chunks are not one sorted list */
        ck_assert_uint_gt(recur_dataset_length(c.ds, r[chunk - 1]),
                          recur_dataset_length(c.ds, r[chunk]));
        ck_assert_msg(tb.ep[e - 1].padding < 0.5 * ts.ep[e - 1].padding, "padding %g vs %g",
                      tb.ep[e - 1].padding, ts.ep[e - 1].padding);
        ck_assert_mem_eq(tn.rows[e], c.rows, c.n_rows * sizeof *c.rows);
    }
    ck_assert(memcmp(tb.rows[1], tb.rows[2], c.n_rows * sizeof *c.rows) != 0);
    trace_free(&tb);
    trace_free(&ts);
    trace_free(&tn);
    case_free(&c);
}
END_TEST

/* ---- 5. Refusals ----------------------------------------------------------------------------- */

static int foreign_callback(void *ctx, const recur_update_info_t *u)
{
    return 0;
}

/* recur_fit_alloc of cfg, o and d returns NULL. */
static void refused(const recur_config_t *cfg, const recur_real *p, const recur_fit_opts_t *o,
                    const recur_fit_data_t *d, const char *what)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    recur_fit_t *f = recur_fit_alloc(cfg, p, o, d, r);
    ck_assert_msg(f == NULL, "accepted: %s", what);
    gsl_rng_free(r);
}

START_TEST(test_alloc_refusals)
{
    case_t c = case_make(K_DNA), w = case_make(K_WINDOWS), s = case_make(K_SERIES);
    const recur_fit_data_t d0 = case_data(&c);
    recur_fit_data_t d = d0;
    recur_fit_opts_t o = c.o;
    d.train = NULL;
    refused(&c.cfg, c.p0, &o, &d, "no training dataset");
    d = d0;
    d.train_rows = NULL;
    refused(&c.cfg, c.p0, &o, &d, "no training rows");
    d = d0;
    d.val_rows = NULL;
    refused(&c.cfg, c.p0, &o, &d, "no validation rows");
    d = d0;
    d.n_train = 0;
    refused(&c.cfg, c.p0, &o, &d, "zero training rows");
    d = d0;
    d.train_rows = c.rows + 3; /* rows of unlabelled records only: 6, 13, 20 */
    c.rows[3] = 6, c.rows[4] = 13, c.rows[5] = 20;
    d.n_train = 3;
    o.balance = true;
    refused(&c.cfg, c.p0, &o, &d, "balancing without a labelled row");
    o.balance = false;
    {
        gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937); /* without balancing they are rows */
        recur_fit_t *f = recur_fit_alloc(&c.cfg, c.p0, &o, &d, r);
        ck_assert_ptr_nonnull(f);
        recur_fit_free(f);
        gsl_rng_free(r);
    }
    c.rows[3] = 3, c.rows[4] = 4, c.rows[5] = 5;
    d = d0;
    o.batch_size = 0;
    refused(&c.cfg, c.p0, &o, &d, "batch size 0");
    o = c.o;
    o.train.on_update = foreign_callback;
    refused(&c.cfg, c.p0, &o, &d, "the trainer's callback");
    o = c.o;
    o.optim.lr = -1;
    refused(&c.cfg, c.p0, &o, &d, "a negative learning rate");
    o = c.o;
    o.optim.kind = (recur_optim_kind_t)7;
    refused(&c.cfg, c.p0, &o, &d, "an unknown optimizer");
    o = c.o;
    recur_config_t cfg = c.cfg;
    cfg.dropout = 1.5;
    refused(&cfg, c.p0, &o, &d, "an invalid model");
    cfg = c.cfg;
    cfg.input_size = 5;
    refused(&cfg, c.p0, &o, &d, "features");
    cfg = c.cfg;
    cfg.num_outputs = 2;
    refused(&cfg, c.p0, &o, &d, "outputs");
    cfg = c.cfg;
    cfg.task = RECUR_TASK_MULTILABEL;
    refused(&cfg, c.p0, &o, &d, "task");
    cfg = c.cfg;
    cfg.head = RECUR_HEAD_STEP;
    refused(&cfg, c.p0, &o, &d, "head");
    /* data the options cannot serve */
    o = w.o;
    o.balance = true;
    const recur_fit_data_t dw = case_data(&w), ds_ = case_data(&s);
    refused(&w.cfg, w.p0, &o, &dw, "balancing a regression");
    o = s.o;
    o.balance = true;
    refused(&s.cfg, s.p0, &o, &ds_, "balancing a step regression");
    { /* per-step labels: no one class per record to balance */
        recur_dataset_t *st =
            recur_dataset_alloc(RECUR_TASK_CLASSIFY, RECUR_HEAD_STEP, 4, 5, 4, 3, false);
        ck_assert_ptr_nonnull(st);
        recur_config_t sc = c.cfg;
        sc.head = RECUR_HEAD_STEP;
        recur_real *sp = case_params(&(case_t){.cfg = sc}, 1);
        const recur_fit_data_t dst = {st, c.rows, 4, NULL, NULL, 0};
        o = c.o;
        o.balance = false;
        gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
        recur_fit_t *f = recur_fit_alloc(&sc, sp, &o, &dst, r);
        ck_assert_ptr_nonnull(f); /* the same run without balancing is fine */
        recur_fit_free(f);
        gsl_rng_free(r);
        o.balance = true;
        refused(&sc, sp, &o, &dst, "balancing per-step labels");
        free(sp);
        recur_dataset_free(st);
    }
    o = w.o;
    o.revcomp = true;
    refused(&w.cfg, w.p0, &o, &dw, "strands of 2 features");
    /* validation data of another kind than the training data's */
    o = c.o;
    recur_dataset_t *bad[4] = {
        recur_dataset_alloc(RECUR_TASK_CLASSIFY, RECUR_HEAD_SEQ, 2, 12, 2, 3, false),
        recur_dataset_alloc(RECUR_TASK_CLASSIFY, RECUR_HEAD_SEQ, 2, 12, 4, 2, false),
        recur_dataset_alloc(RECUR_TASK_MULTILABEL, RECUR_HEAD_SEQ, 2, 12, 4, 3, false),
        recur_dataset_alloc(RECUR_TASK_CLASSIFY, RECUR_HEAD_STEP, 2, 12, 4, 3, false)};
    static const char *const why[4] = {"features", "outputs", "task", "head"};
    const size_t vr[2] = {0, 1};
    for (size_t k = 0; k < 4; k++) {
        ck_assert_ptr_nonnull(bad[k]);
        d = d0;
        d.val = bad[k];
        d.val_rows = vr;
        d.n_val = 2;
        refused(&c.cfg, c.p0, &o, &d, why[k]);
        recur_dataset_free(bad[k]);
    }
    /* rows that are not rows of the data */
    d = d0;
    c.rows[5] = c.ds->N;
    refused(&c.cfg, c.p0, &o, &d, "a training row past the end");
    o.balance = true;
    refused(&c.cfg, c.p0, &o, &d, "a training row past the end, balancing");
    o = c.o;
    c.rows[5] = 5;
    c.vrows[2] = c.ds->N;
    refused(&c.cfg, c.p0, &o, &d, "a validation row past the end");
    c.vrows[2] = 24;
    case_free(&s);
    case_free(&w);
    case_free(&c);
}
END_TEST

/* A fit of c that must exist (its generator in *r). */
static recur_fit_t *fit_plain(const case_t *c, const recur_fit_opts_t *o, gsl_rng **r)
{
    return fit_new(c, o, c->p0, c->seed, r, NULL);
}

/* Trains the first batch and returns recur_fit_next's code for the next ones until one is not 1
 * (at most `max` batches); *batches gets the batches trained. */
static int next_until_error(recur_fit_t *f, size_t max, size_t *batches)
{
    int rc = 1;
    *batches = 0;
    while (*batches < max && !recur_fit_done(f)) {
        if ((rc = recur_fit_next(f)) == 1) {
            (*batches)++;
            continue;
        }
        if (rc < 0 || rc > 1)
            return rc;
        recur_fit_epoch_t e;
        ck_assert_int_ge(recur_fit_epoch_end(f, &e), 0);
    }
    return rc;
}

/* The callback's code stops the loop with that code; a run of non-finite updates ends it as
 * diverged. */
START_TEST(test_next_errors)
{
    case_t c = case_make(_i ? K_SERIES : K_DNA);
    const size_t per_batch = _i ? 4 : 1; /* updates: TBPTT windows of a batch */
    static const int codes[3] = {42, RECUR_EIO, -77};
    for (size_t k = 0; k < 3; k++) {
        trace_t t = {0};
        t.fail_at = 6; /* in the second batch of the series, the sixth of the DNA */
        t.fail_code = codes[k];
        gsl_rng *r;
        recur_fit_t *f = fit_new(&c, &c.o, c.p0, c.seed, &r, &t);
        size_t n;
        ck_assert_int_eq(next_until_error(f, 100, &n), codes[k]);
        ck_assert_uint_eq(n, (6 - 1) / per_batch);
        ck_assert_uint_eq(t.nu, 6);
        ck_assert_uint_eq(t.u[5].update, 6);
        recur_fit_free(f);
        gsl_rng_free(r);
        trace_free(&t);
    }
    /* update 3 made NaN, one bad step allowed in a row */
    recur_fit_opts_t o = c.o;
    o.train.nan_at_step = 3;
    o.train.max_bad_steps = 1;
    trace_t t = {0};
    gsl_rng *r;
    recur_fit_t *f = fit_new(&c, &o, c.p0, c.seed, &r, &t);
    size_t n;
    ck_assert_int_eq(next_until_error(f, 100, &n), RECUR_EDIVERGED);
    ck_assert_uint_eq(n, (3 - 1) / per_batch);
    ck_assert_uint_eq(t.nu, 3);
    ck_assert(t.u[2].skipped && isnan(t.u[2].norm));
    recur_fit_free(f);
    gsl_rng_free(r);
    trace_free(&t);
    /* with two allowed the run goes on, the step skipped and counted in the epoch's report */
    o.train.max_bad_steps = 2;
    f = fit_new(&c, &o, c.p0, c.seed, &r, &t);
    drive(f, &t, SIZE_MAX);
    ck_assert_uint_eq(t.ep[0].skipped, 1);
    ck_assert_uint_eq(t.ep[0].updates + t.ep[0].skipped, t.ep[1].updates);
    for (size_t e = 0; e < t.n_ep; e++)
        ck_assert(isfinite(t.ep[e].loss) && isfinite(t.ep[e].grad_norm_mean));
    recur_fit_free(f);
    gsl_rng_free(r);
    trace_free(&t);
    case_free(&c);
}
END_TEST

/* Writes a checkpoint of c after `moves` moves into a model (caller frees). */
static recur_model_t *ckpt_after(const case_t *c, const recur_fit_opts_t *o, size_t moves)
{
    trace_t t = {0};
    gsl_rng *r;
    recur_fit_t *f = fit_new(c, o, c->p0, c->seed, &r, &t);
    ck_assert_uint_eq(drive(f, &t, moves), moves);
    recur_model_t *m = checkpoint_of(c, f);
    recur_fit_free(f);
    gsl_rng_free(r);
    trace_free(&t);
    return m;
}

/* A copy of m (through the file, so that every list is its own). */
static recur_model_t *copy_model(const recur_model_t *m, const char *path)
{
    ck_assert_int_eq(recur_model_save(m, path), 0);
    recur_model_t *x = recur_model_load(path);
    ck_assert_ptr_nonnull(x);
    return x;
}

/* recur_fit_restore of m into a new fit of c with options o gives rc. */
static void restore_gives(const case_t *c, const recur_fit_opts_t *o, const recur_model_t *m,
                          int rc, const char *what)
{
    gsl_rng *r;
    recur_fit_t *f = fit_plain(c, o, &r);
    const int got = recur_fit_restore(f, m, what);
    ck_assert_msg(got == rc, "%s: %d, not %d", what, got, rc);
    recur_fit_free(f);
    gsl_rng_free(r);
}

/* m's number list key replaced by v[0..n-1], in a copy (caller frees). */
static recur_model_t *with_numbers(const recur_model_t *m, const char *key, const double *v,
                                   size_t n, const char *path)
{
    recur_model_t *x = copy_model(m, path);
    ck_assert_int_eq(recur_model_set_numbers(x, key, v, n), 0);
    return x;
}

static void damaged_list_gives(const recur_model_t *m, const case_t *c, const char *key,
                               const double *v, size_t n, const char *path)
{
    recur_model_t *x = with_numbers(m, key, v, n, path);
    restore_gives(c, &c->o, x, RECUR_EFORMAT, key);
    recur_model_free(x);
}

START_TEST(test_restore_refusals)
{
    case_t c = case_make(K_DNA);
    tmp_t tmp = {0};
    tmp_make(&tmp);
    /* after the first epoch's end and one batch of the second: a best epoch is stored */
    recur_model_t *m = ckpt_after(&c, &c.o, 4 + 1 + 1);
    ck_assert_ptr_nonnull(recur_model_train_state(m)->best);
    restore_gives(&c, &c.o, m, 0, "the checkpoint itself");
    /* no training state */
    recur_model_t *x = recur_model_alloc(&c.cfg);
    restore_gives(&c, &c.o, x, RECUR_EFORMAT, "no training state");
    recur_model_free(x);
    /* another optimizer */
    recur_fit_opts_t o = c.o;
    recur_optim_defaults(RECUR_OPT_SGD, &o.optim);
    restore_gives(&c, &o, m, RECUR_EINVAL, "sgd run, adam checkpoint");
    o.optim.kind = RECUR_OPT_ADAMW;
    restore_gives(&c, &o, m, RECUR_EINVAL, "adamw run, adam checkpoint");
    /* another architecture, of another size or of the same size */
    for (int k = 0; k < 4; k++) {
        case_t c2 = c;
        if (k == 0)
            c2.cfg.hidden_size = 5;
        else if (k == 1)
            c2.cfg.pool = RECUR_POOL_MEAN;
        else if (k == 2)
            c2.cfg.num_layers = 1;
        else
            c2.cfg.bidirectional = true;
        c2.p0 = case_params(&c2, 1);
        restore_gives(&c2, &c2.o, m, RECUR_EINVAL, "another architecture");
        free(c2.p0);
    }
    /* another generator */
    {
        gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
        const recur_fit_data_t d = case_data(&c);
        recur_fit_t *f = recur_fit_alloc(&c.cfg, c.p0, &c.o, &d, r);
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(recur_fit_restore(f, m, "taus2"), RECUR_EFORMAT);
        recur_fit_free(f);
        gsl_rng_free(r);
    }
    /* Adam's second moments missing; the best epoch's weights missing */
    for (int k = 0; k < 2; k++) {
        x = copy_model(m, tmp.path);
        recur_train_state_t ts = *recur_model_train_state(x);
        if (k == 0)
            ts.v = NULL;
        else
            ts.best = NULL;
        ck_assert_int_eq(recur_model_set_train_state(x, &ts), 0);
        restore_gives(&c, &c.o, x, RECUR_EFORMAT, k ? "no best weights" : "no second moments");
        recur_model_free(x);
    }
    /* the position and the lists beside it, missing or damaged */
    const double zero = 0, minus = -1, nan_ = NAN, two[2] = {1, 2}, three[3] = {1, 2, 3};
    damaged_list_gives(m, &c, "resume_epoch", &zero, 1, tmp.path);
    damaged_list_gives(m, &c, "resume_epoch", &nan_, 1, tmp.path);
    damaged_list_gives(m, &c, "resume_epoch", two, 2, tmp.path);
    damaged_list_gives(m, &c, "resume_batch", &minus, 1, tmp.path);
    damaged_list_gives(m, &c, "resume_batch", two, 2, tmp.path);
    damaged_list_gives(m, &c, "resume_acc", three, 3, tmp.path);
    damaged_list_gives(m, &c, "resume_best", three, 3, tmp.path);
    /* counts that are not whole numbers a size_t holds: refused, not cast */
    const double half = 1.5, huge = 1e300;
    damaged_list_gives(m, &c, "resume_batch", &half, 1, tmp.path);
    damaged_list_gives(m, &c, "resume_epoch", &huge, 1, tmp.path);
    for (int k = 0; k < 2; k++) {
        const char *key = k ? "resume_best" : "resume_acc";
        size_t n;
        const double *v = recur_model_numbers(m, key, &n);
        ck_assert_ptr_nonnull(v);
        double *bad = malloc(n * sizeof *bad);
        ck_assert_ptr_nonnull(bad);
        memcpy(bad, v, n * sizeof *bad);
        bad[1] = -1; /* terms, or epochs since the best */
        damaged_list_gives(m, &c, key, bad, n, tmp.path);
        free(bad);
    }
    damaged_list_gives(m, &c, "resume_epoch_rng", three, 3, tmp.path);
    damaged_list_gives(m, &c, "resume_best_rng", three, 3, tmp.path);
    damaged_list_gives(m, &c, "resume_best_m", three, 3, tmp.path);
    damaged_list_gives(m, &c, "resume_best_v", three, 3, tmp.path);
    {
        size_t n;
        const double *v = recur_model_numbers(m, "resume_epoch_rng", &n);
        ck_assert_ptr_nonnull(v);
        double *bytes = malloc(n * sizeof *bytes);
        ck_assert_ptr_nonnull(bytes);
        memcpy(bytes, v, n * sizeof *bytes);
        bytes[n / 2] = 256;
        damaged_list_gives(m, &c, "resume_epoch_rng", bytes, n, tmp.path);
        bytes[n / 2] = -1;
        damaged_list_gives(m, &c, "resume_best_rng", bytes, n, tmp.path);
        free(bytes);
    }
    /* the run's position but the lists beside it gone: a model without resume_batch */
    {
        recur_model_t *y = recur_model_alloc(&c.cfg);
        memcpy(recur_model_params(y), recur_model_params_const(m),
               recur_param_count(&c.cfg) * sizeof(recur_real));
        ck_assert_int_eq(recur_model_set_train_state(y, recur_model_train_state(m)), 0);
        size_t n;
        const double *e = recur_model_numbers(m, "resume_epoch", &n);
        ck_assert_int_eq(recur_model_set_numbers(y, "resume_epoch", e, n), 0);
        restore_gives(&c, &c.o, y, RECUR_EFORMAT, "resume_epoch alone");
        recur_model_free(y);
    }
    recur_model_free(m);
    /* a checkpoint at the end of the first epoch's batches restored into a run of fewer rows:
     * the restore takes it, the next batch finds the data are not the run's */
    m = ckpt_after(&c, &c.o, 4);
    case_t c2 = c;
    c2.n_rows = 10; /* 2 batches */
    {
        gsl_rng *r;
        recur_fit_t *f = fit_plain(&c2, &c2.o, &r);
        ck_assert_int_eq(recur_fit_restore(f, m, "fewer rows"), 0);
        ck_assert_int_eq(recur_fit_next(f), RECUR_EFORMAT);
        recur_fit_free(f);
        gsl_rng_free(r);
    }
    /* checkpoint and result into a model of another architecture */
    {
        gsl_rng *r;
        recur_fit_t *f = fit_plain(&c, &c.o, &r);
        recur_config_t other = c.cfg;
        other.hidden_size = 5;
        recur_model_t *y = recur_model_alloc(&other);
        ck_assert_int_eq(recur_fit_checkpoint(f, y), RECUR_EINVAL);
        ck_assert_int_eq(recur_fit_result(f, y, NULL, NULL), RECUR_EINVAL);
        recur_model_free(y);
        recur_fit_free(f);
        gsl_rng_free(r);
    }
    recur_model_free(m);
    tmp_done(&tmp);
    case_free(&c);
}
END_TEST

/* ---- 6. Callbacks and reports ---------------------------------------------------------------- */

static bool close_to(double a, double b)
{
    return fabs(a - b) <= 1e-12 * (1 + fabs(b));
}

/* _i: 0 a DNA classifier (one update per batch), 1 whole series by TBPTT (4 per batch). The
 * per-update callback is called once per update, numbered on, with the epoch in progress; the
 * reports sum those updates (losses weighted by their terms, norms, clipping); the status
 * follows the batches. */
START_TEST(test_callbacks)
{
    case_t c = case_make(_i ? K_SERIES : K_DNA);
    c.o.bucket = false; /* the batches in the order of the epoch's rows */
    const size_t B = c.o.batch_size, O = c.cfg.num_outputs, K = c.o.train.tbptt;
    const size_t nb = (c.n_rows + B - 1) / B;
    trace_t t = {0};
    gsl_rng *r;
    recur_fit_t *f = fit_new(&c, &c.o, c.p0, c.seed, &r, &t);
    size_t n;
    ck_assert_ptr_null(recur_fit_epoch_rows(f, &n));
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_nonnull(recur_fit_engine(f));
    recur_fit_status_t st;
    recur_fit_status(f, &st);
    ck_assert_uint_eq(st.epoch, 1);
    ck_assert_uint_eq(st.epochs, c.o.epochs);
    ck_assert_uint_eq(st.batch, 0);
    ck_assert_uint_eq(st.batches, nb);
    ck_assert(isnan(st.loss));
    ck_assert_uint_eq(st.updates, 0);
    ck_assert_uint_eq(st.batch_size, B);
    size_t u0 = 0; /* the epoch's first update in the trace */
    for (size_t e = 1; e <= c.o.epochs; e++) {
        double loss_sum = 0, norm_sum = 0, norm_max = 0;
        size_t terms = 0, clipped = 0, batches = 0;
        int rc;
        while ((rc = recur_fit_next(f)) == 1) {
            batches++;
            recur_fit_status(f, &st);
            ck_assert_uint_eq(st.epoch, e);
            ck_assert_uint_eq(st.batch, batches);
            ck_assert_uint_eq(st.updates, t.nu);
            const size_t *rows = recur_fit_epoch_rows(f, &n);
            ck_assert_ptr_nonnull(rows);
            const size_t s = (batches - 1) * B, m = n - s < B ? n - s : B;
            /* this batch's updates: one, or one per window of K steps */
            const size_t T = _i ? c.ds->T : 0, windows = _i ? (T + K - 1) / K : 1;
            ck_assert_uint_eq(t.nu, u0 + batches * windows);
            double batch_norms = 0;
            for (size_t w = 0; w < windows; w++) {
                const upd_t *u = &t.u[u0 + (batches - 1) * windows + w];
                ck_assert_uint_eq(u->update, u0 + (batches - 1) * windows + w + 1);
                ck_assert_uint_eq(u->epoch, e);
                ck_assert(!u->skipped);
                ck_assert(isfinite(u->loss) && u->loss >= 0);
                ck_assert(isfinite(u->norm) && u->norm > 0);
                const double clip = c.o.optim.clip;
                ck_assert(u->norm_after == (u->norm > clip ? clip : u->norm));
                clipped += u->norm > clip;
                norm_max = u->norm > norm_max ? u->norm : norm_max;
                batch_norms += u->norm;
                size_t nt = 0; /* the window's loss terms */
                if (_i) {
                    const size_t t1 = (w + 1) * K < T ? (w + 1) * K : T;
                    nt = m * (t1 - w * K) * O;
                } else {
                    for (size_t j = s; j < s + m; j++)
                        nt += c.ds->labels[rows[j]] >= 0;
                }
                loss_sum += u->loss * (double)nt;
                terms += nt;
            }
            norm_sum += batch_norms;
            ck_assert(close_to(st.loss, loss_sum / (double)terms));
        }
        ck_assert_int_eq(rc, 0);
        ck_assert_uint_eq(batches, nb);
        recur_fit_epoch_t ep;
        rc = recur_fit_epoch_end(f, &ep);
        ck_assert_int_eq(rc, e < c.o.epochs);
        ck_assert_ptr_null(recur_fit_epoch_rows(f, &n));
        const size_t ups = t.nu - u0;
        ck_assert_uint_eq(ep.epoch, e);
        ck_assert_uint_eq(ep.epochs, c.o.epochs);
        ck_assert_uint_eq(ep.updates, ups);
        ck_assert_uint_eq(ep.skipped, 0);
        ck_assert_uint_eq(ep.clipped, clipped);
        ck_assert(close_to(ep.loss, loss_sum / (double)terms));
        ck_assert(close_to(ep.grad_norm_mean, norm_sum / (double)ups));
        ck_assert(ep.grad_norm_max == norm_max);
        ck_assert(ep.has_val && isfinite(ep.val_loss) && ep.val_loss > 0);
        ck_assert(!ep.stop);
        if (_i) { /* regression: no accuracies; whole series: no padding */
            ck_assert(isnan(ep.acc) && isnan(ep.val_acc) && isnan(ep.val_bal));
            ck_assert(ep.padding == 0);
        } else {
            ck_assert(ep.acc >= 0 && ep.acc <= 1);
            ck_assert(ep.val_acc >= 0 && ep.val_acc <= 1);
            ck_assert(ep.val_bal >= 0 && ep.val_bal <= 1);
            ck_assert(ep.padding > 0 && ep.padding < 1);
        }
        recur_fit_status(f, &st);
        ck_assert_uint_eq(st.epoch, e + 1);
        ck_assert_uint_eq(st.batch, 0);
        ck_assert(isnan(st.loss));
        u0 = t.nu;
    }
    ck_assert(recur_fit_done(f));
    ck_assert_int_eq(recur_fit_next(f), 0);
    ck_assert_uint_eq(t.nu, c.o.epochs * nb * (_i ? 4 : 1));
    recur_fit_free(f);
    gsl_rng_free(r);
    trace_free(&t);
    case_free(&c);
}
END_TEST

/* No epochs: nothing to train, the initial weights kept. */
START_TEST(test_no_epochs)
{
    case_t c = case_make(K_DNA);
    c.o.epochs = 0;
    const size_t P = recur_param_count(&c.cfg);
    gsl_rng *r;
    recur_fit_t *f = fit_plain(&c, &c.o, &r);
    ck_assert(recur_fit_done(f));
    ck_assert_int_eq(recur_fit_next(f), 0);
    size_t n;
    ck_assert_ptr_null(recur_fit_epoch_rows(f, &n));
    recur_fit_status_t st;
    recur_fit_status(f, &st);
    ck_assert_uint_eq(st.epoch, 1);
    ck_assert_uint_eq(st.epochs, 0);
    ck_assert_uint_eq(st.updates, 0);
    ck_assert_mem_eq(recur_fit_params(f), c.p0, P * sizeof *c.p0);
    size_t kept = 99;
    bool best = true;
    recur_model_t *m = result_of(&c, f, &kept, &best);
    ck_assert_uint_eq(kept, 0);
    ck_assert(!best);
    ck_assert_mem_eq(recur_model_params_const(m), c.p0, P * sizeof *c.p0);
    ck_assert_uint_eq(recur_model_train_state(m)->step, 0);
    ck_assert_uint_eq(recur_model_train_state(m)->epoch, 0);
    recur_model_free(m);
    recur_fit_free(f);
    gsl_rng_free(r);
    case_free(&c);
}
END_TEST

int main(void)
{
    recur_log_set_quiet(true);
    Suite *s = suite_create("fit");
    TCase *tc = tcase_create("resume");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_resume_every_state, 0, N_CASES);
    tcase_add_test(tc, test_resume_finished_model);
    suite_add_tcase(s, tc);
    tc = tcase_create("loop");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_patience);
    tcase_add_loop_test(tc, test_balance, 0, 2);
    tcase_add_test(tc, test_orders);
    tcase_add_test(tc, test_bucketing);
    tcase_add_loop_test(tc, test_callbacks, 0, 2);
    tcase_add_test(tc, test_no_epochs);
    suite_add_tcase(s, tc);
    tc = tcase_create("refusals");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_alloc_refusals);
    tcase_add_loop_test(tc, test_next_errors, 0, 2);
    tcase_add_test(tc, test_restore_refusals);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
