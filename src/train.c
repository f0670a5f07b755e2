/* train.c - one training step over a batch: windows of K steps (or the whole batch), forward,
 * backward, clipping and an optimizer update per window; non-finite steps skipped and a run of
 * them reported as divergence. The batch is cut into shards of at most shard_rows sequences,
 * each run through all its steps by its own engine, in parallel on a thread pool; the shards'
 * gradients are summed in shard order, so results depend on shard_rows but never on the number
 * of threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/blas.h>
#include <recur/dist.h>
#include <recur/tpool.h>
#include <recur/train.h>

#define DEFAULT_SHARD_ROWS 32

/* One shard: rows [r0, r0 + nr) of the batch, copied (when the batch has several shards) into
 * a batch of its own. */
typedef struct {
    recur_engine_t *e;
    recur_real *grads;          /* (P) this shard's gradient */
    recur_real *x;              /* (T_max, rows, I) */
    unsigned char *mask;        /* (T_max, rows) */
    int32_t *labels;            /* (rows) or (T_max, rows) */
    recur_real *targets;        /* (rows, O) or (T_max, rows, O) */
    unsigned char *target_mask; /* like targets */
    recur_batch_t b;
    size_t r0, nr;
    gsl_rng *rng; /* dropout draws of this shard (several shards only) */
    double loss;  /* window mean over this shard's terms */
    size_t terms;
    int rc;
} shard_t;

struct recur_trainer {
    recur_config_t cfg;
    recur_train_opts_t opts;
    recur_optim_t *opt;
    size_t K;     /* window length */
    size_t P;     /* parameters */
    size_t T_max; /* batch length */
    size_t B_max; /* batch size */
    size_t rows;  /* sequences per shard at most */
    size_t S_max; /* shards allocated */
    shard_t *sh;  /* (S_max) */
    recur_tpool_t *pool;
    recur_real *grads; /* (P) the batch's gradient (the sum of the shards') */
    size_t bad_run;    /* consecutive non-finite steps */
    uint64_t updates;  /* updates attempted so far (for nan_at_step) */
    /* the current call, for the tasks */
    const recur_batch_t *b;
    const recur_real *params;
    size_t S, t0, t1;
    bool train;
    gsl_rng *rng; /* the caller's (one shard) */
    double norm;  /* terms of the window over all shards */
    /* data parallelism over MPI ranks */
    bool copy; /* shards are copies with their own dropout streams (several shards,
                  or distributed) */
    bool dist; /* ranks > 1 or deterministic_reduce */
    int rank, ranks;
    size_t s_lo, s_n;      /* this call's shards on this rank: [s_lo, s_lo + s_n) */
    size_t per_rank;       /* shards of a rank at most */
    recur_real *send;      /* (per_rank, P) this rank's shard gradients, deterministic reduce */
    recur_real *recv;      /* (ranks, per_rank, P) everyone's */
    const recur_real **gp; /* (S_max) the gradients task_reduce adds, in order */
    size_t n_gp;
};

static void free_shard(shard_t *s)
{
    recur_engine_free(s->e);
    free(s->grads);
    free(s->x);
    free(s->mask);
    free(s->labels);
    free(s->targets);
    free(s->target_mask);
    gsl_rng_free(s->rng);
}

recur_trainer_t *recur_trainer_alloc(const recur_config_t *cfg, recur_optim_t *opt,
                                     const recur_train_opts_t *o, size_t T_max, size_t B_max)
{
    recur_trainer_t *tr = calloc(1, sizeof *tr);
    if (!tr)
        goto fail;
    tr->cfg = *cfg;
    if (o)
        tr->opts = *o;
    if (tr->opts.max_bad_steps == 0)
        tr->opts.max_bad_steps = 10;
    tr->opt = opt;
    tr->K = tr->opts.tbptt && tr->opts.tbptt < T_max ? tr->opts.tbptt : T_max;
    tr->P = recur_param_count(cfg);
    tr->T_max = T_max;
    tr->B_max = B_max;
    tr->rows = tr->opts.shard_rows ? tr->opts.shard_rows : DEFAULT_SHARD_ROWS;
    tr->rank = recur_dist_rank();
    tr->ranks = recur_dist_size();
    tr->dist = tr->ranks > 1 || tr->opts.deterministic_reduce;
    if (recur_config_validate(cfg) != 0 || T_max == 0 || B_max == 0)
        goto fail;
    tr->rows = tr->rows < B_max ? tr->rows : B_max;
    tr->S_max = (B_max + tr->rows - 1) / tr->rows;
    tr->copy = tr->S_max > 1 || tr->dist;
    /* shards hold at most ceil(B / S) <= rows sequences */
    tr->sh = calloc(tr->S_max, sizeof *tr->sh);
    tr->gp = calloc(tr->S_max, sizeof *tr->gp);
    if (!tr->sh || !tr->gp)
        goto fail;
    const bool step = cfg->head == RECUR_HEAD_STEP, cls = cfg->task == RECUR_TASK_CLASSIFY;
    const size_t I = cfg->input_size, O = cfg->num_outputs, n = tr->rows;
    size_t TR; /* T_max * rows, checked */
    if (!recur_mul_ok(T_max, n, &TR) || !recur_mul_ok(TR, I > O ? I : O, &(size_t){0}))
        goto fail;
    const size_t ny = step ? TR : n; /* target rows */
    for (size_t s = 0; s < tr->S_max; s++) {
        shard_t *sh = &tr->sh[s];
        sh->e = recur_engine_alloc(cfg, tr->K, n); /* O(K rows H) activations */
        sh->grads = calloc(tr->P, sizeof *sh->grads);
        if (!sh->e || !sh->grads)
            goto fail;
        if (!tr->copy)
            continue; /* the batch is used as it is */
        sh->x = malloc(TR * I * sizeof *sh->x);
        sh->mask = malloc(TR);
        sh->labels = cls ? malloc(ny * sizeof *sh->labels) : NULL;
        sh->targets = cls ? NULL : malloc(ny * O * sizeof *sh->targets);
        sh->target_mask = cls ? NULL : malloc(ny * O);
        sh->rng = gsl_rng_alloc(gsl_rng_mt19937);
        if (!sh->x || !sh->mask || (cls && !sh->labels) ||
            (!cls && (!sh->targets || !sh->target_mask)) || !sh->rng)
            goto fail;
    }
    tr->grads = tr->copy ? calloc(tr->P, sizeof *tr->grads) : tr->sh[0].grads;
    if (!tr->grads)
        goto fail;
    if (tr->dist && tr->opts.deterministic_reduce) {
        size_t per = (tr->S_max + (size_t)tr->ranks - 1) / (size_t)tr->ranks, n1, n2;
        tr->per_rank = per;
        if (!recur_mul_ok(per, tr->P, &n1) || !recur_mul_ok(n1, (size_t)tr->ranks, &n2))
            goto fail;
        tr->send = calloc(n1, sizeof *tr->send);
        tr->recv = calloc(n2, sizeof *tr->recv);
        if (!tr->send || !tr->recv)
            goto fail;
    }
    const size_t threads = tr->opts.threads ? tr->opts.threads : 1;
    if (threads > 1 && tr->S_max > 1 &&
        !(tr->pool = recur_tpool_alloc(threads < tr->S_max ? threads : tr->S_max)))
        goto fail;
    /* OpenBLAS's own threads would split products differently with the load, and stack on
     * the shards' threads: one thread, whatever `threads` is */
    recur_blas_set_threads(1);
    return tr;
fail:
    recur_error("trainer: could not allocate");
    recur_trainer_free(tr);
    return NULL;
}

void recur_trainer_free(recur_trainer_t *tr)
{
    if (!tr)
        return;
    recur_tpool_free(tr->pool);
    free(tr->send);
    free(tr->recv);
    free(tr->gp);
    if (tr->sh) {
        if (tr->copy)
            free(tr->grads);
        for (size_t s = 0; s < tr->S_max; s++)
            free_shard(&tr->sh[s]);
    }
    free(tr->sh);
    free(tr);
}

recur_engine_t *recur_trainer_engine(recur_trainer_t *tr)
{
    return tr->sh[0].e;
}

size_t recur_trainer_shards(const recur_trainer_t *tr, size_t B)
{
    return B == 0 ? 0 : (B + tr->rows - 1) / tr->rows;
}

/* ---- tasks ------------------------------------------------------------------------------ */

/* Copies rows [r0, r0 + nr) of the batch into the shard's batch. */
static void gather(const recur_trainer_t *tr, shard_t *sh)
{
    const recur_batch_t *b = tr->b;
    const size_t T = b->T, B = b->B, r0 = sh->r0, nr = sh->nr, I = tr->cfg.input_size;
    const size_t O = tr->cfg.num_outputs;
    const bool step = tr->cfg.head == RECUR_HEAD_STEP;
    for (size_t t = 0; t < T; t++) {
        memcpy(sh->x + t * nr * I, b->x + (t * B + r0) * I, nr * I * sizeof *sh->x);
        memcpy(sh->mask + t * nr, b->mask + t * B + r0, nr);
    }
    const size_t blocks = step ? T : 1; /* target rows come in blocks of B */
    sh->b = (recur_batch_t){T, nr, sh->x, sh->mask, NULL, NULL, NULL};
    if (b->labels && sh->labels) {
        for (size_t k = 0; k < blocks; k++)
            memcpy(sh->labels + k * nr, b->labels + k * B + r0, nr * sizeof *sh->labels);
        sh->b.labels = sh->labels;
    }
    if (b->targets && sh->targets) {
        for (size_t k = 0; k < blocks; k++)
            memcpy(sh->targets + k * nr * O, b->targets + (k * B + r0) * O,
                   nr * O * sizeof *sh->targets);
        sh->b.targets = sh->targets;
        if (b->target_mask) {
            for (size_t k = 0; k < blocks; k++)
                memcpy(sh->target_mask + k * nr * O, b->target_mask + (k * B + r0) * O, nr * O);
            sh->b.target_mask = sh->target_mask;
        }
    }
}

/* Tasks take i in [0, s_n): shard s_lo + i, this rank's. */
static void task_gather(void *arg, size_t i)
{
    recur_trainer_t *tr = arg;
    gather(tr, &tr->sh[tr->s_lo + i]);
}

static void task_forward(void *arg, size_t i)
{
    recur_trainer_t *tr = arg;
    shard_t *sh = &tr->sh[tr->s_lo + i];
    const recur_batch_t *b = tr->copy ? &sh->b : tr->b;
    gsl_rng *rng = tr->copy ? sh->rng : tr->rng;
    sh->loss = 0;
    sh->terms = 0;
    sh->rc = recur_engine_forward(sh->e, tr->params, b, tr->t0, tr->t1, tr->train, rng, &sh->loss,
                                  &sh->terms);
}

static void task_backward(void *arg, size_t i)
{
    recur_trainer_t *tr = arg;
    shard_t *sh = &tr->sh[tr->s_lo + i];
    memset(sh->grads, 0, tr->P * sizeof *sh->grads);
    sh->rc =
        sh->terms ? recur_engine_backward_norm(sh->e, tr->params, sh->grads, NULL, tr->norm) : 0;
}

/* Parameters [i * chunk, ...) of the sum over shards, in shard order. */
#define REDUCE_CHUNK 4096
static void task_reduce(void *arg, size_t i)
{
    recur_trainer_t *tr = arg;
    const size_t lo = i * REDUCE_CHUNK, hi = lo + REDUCE_CHUNK < tr->P ? lo + REDUCE_CHUNK : tr->P;
    recur_real *g = tr->grads;
    if (tr->n_gp == 0) {
        memset(g + lo, 0, (hi - lo) * sizeof *g);
        return;
    }
    memcpy(g + lo, tr->gp[0] + lo, (hi - lo) * sizeof *g);
    for (size_t s = 1; s < tr->n_gp; s++) {
        const recur_real *gs = tr->gp[s];
        for (size_t k = lo; k < hi; k++)
            g[k] += gs[k];
    }
}

/* Splits the batch into shards (copying it when there are several) and seeds their dropout
 * streams from rng, in shard order. */
static int prepare(recur_trainer_t *tr, const recur_real *params, const recur_batch_t *b,
                   bool train, gsl_rng *rng)
{
    const size_t S = recur_trainer_shards(tr, b->B);
    if (S == 0 || b->B > tr->B_max || b->T > tr->T_max || !b->x || !b->mask) {
        recur_error("trainer: a batch of T=%zu B=%zu does not fit T_max=%zu B_max=%zu", b->T, b->B,
                    tr->T_max, tr->B_max);
        return RECUR_EINVAL;
    }
    tr->b = b;
    tr->params = params;
    tr->S = S;
    tr->train = train;
    tr->rng = rng;
    tr->s_lo = 0;
    tr->s_n = S;
    for (size_t s = 0; s < S; s++) /* the regulariser is part of training, not of evaluation */
        recur_engine_set_act_reg(tr->sh[s].e, train ? tr->opts.act_reg : 0, tr->opts.act_reg_all);
    if (train && tr->ranks > 1) { /* this rank's contiguous slice of the shards */
        tr->s_lo = S * (size_t)tr->rank / (size_t)tr->ranks;
        tr->s_n = S * (size_t)(tr->rank + 1) / (size_t)tr->ranks - tr->s_lo;
    }
    if (!tr->copy)
        return 0;
    for (size_t s = 0, r0 = 0; s < S; s++) { /* every rank draws every shard's seed */
        tr->sh[s].r0 = r0;
        tr->sh[s].nr = b->B / S + (s < b->B % S);
        r0 += tr->sh[s].nr;
        if (train && rng && tr->cfg.dropout > 0)
            gsl_rng_set(tr->sh[s].rng, gsl_rng_get(rng));
    }
    recur_tpool_run(tr->pool, tr->s_n, task_gather, tr);
    return 0;
}

/* Forward of window [t0, t1) on every shard: *loss gets the mean over all the window's terms
 * (each shard's mean weighted by its terms, in shard order), *terms their number. */
static int forward_window(recur_trainer_t *tr, size_t t0, size_t t1, double *loss, size_t *terms)
{
    tr->t0 = t0;
    tr->t1 = t1;
    recur_tpool_run(tr->pool, tr->s_n, task_forward, tr);
    double acc[3] = {0, 0, 0}; /* loss x terms, terms, failures */
    int rc = 0;
    for (size_t s = tr->s_lo; s < tr->s_lo + tr->s_n; s++) {
        if (tr->sh[s].rc) {
            rc = tr->sh[s].rc;
            acc[2] += 1;
        }
        acc[0] += tr->copy ? tr->sh[s].loss * (double)tr->sh[s].terms : tr->sh[s].loss;
        acc[1] += (double)tr->sh[s].terms;
    }
    if (tr->train && tr->ranks > 1 && recur_dist_sum_double(acc, 3) != 0)
        return RECUR_EIO;
    if (acc[2] > 0)
        return rc ? rc : RECUR_EINVAL; /* another rank failed (and said why) */
    const size_t n = (size_t)acc[1];
    *loss = tr->copy && n ? acc[0] / acc[1] : acc[0];
    *terms = n;
    return 0;
}

/* The batch's gradient: the shards' gradients added in shard order. Across ranks, either every
 * rank gathers all shard gradients and adds them in shard order (deterministic_reduce: the
 * same bits for any number of ranks), or each rank adds its own and the ranks' sums are
 * all-reduced. */
static int reduce(recur_trainer_t *tr)
{
    const size_t P = tr->P, chunks = (P + REDUCE_CHUNK - 1) / REDUCE_CHUNK;
    if (!tr->dist || tr->ranks == 1 || !tr->opts.deterministic_reduce) {
        tr->n_gp = tr->s_n;
        for (size_t i = 0; i < tr->s_n; i++)
            tr->gp[i] = tr->sh[tr->s_lo + i].grads;
        recur_tpool_run(tr->pool, chunks, task_reduce, tr);
        return tr->ranks > 1 ? recur_dist_sum_real(tr->grads, P) : 0;
    }
    const size_t per = tr->per_rank, R = (size_t)tr->ranks, S = tr->S;
    memset(tr->send, 0, per * P * sizeof *tr->send);
    for (size_t i = 0; i < tr->s_n; i++)
        memcpy(tr->send + i * P, tr->sh[tr->s_lo + i].grads, P * sizeof *tr->send);
    if (recur_dist_gather_real(tr->send, per * P, tr->recv) != 0)
        return RECUR_EIO;
    for (size_t r = 0; r < R; r++) {
        const size_t lo = S * r / R, hi = S * (r + 1) / R;
        for (size_t s = lo; s < hi; s++)
            tr->gp[s] = tr->recv + (r * per + (s - lo)) * P;
    }
    tr->n_gp = S;
    recur_tpool_run(tr->pool, chunks, task_reduce, tr);
    return 0;
}

/* ---- training and evaluation ------------------------------------------------------------ */

int recur_trainer_batch(recur_trainer_t *tr, recur_real *params, const recur_batch_t *b,
                        gsl_rng *rng, recur_train_stats_t *st)
{
    memset(st, 0, sizeof *st);
    int rc = prepare(tr, params, b, true, rng);
    if (rc)
        return rc;
    double loss_sum = 0;
    const size_t K = tr->K;
    for (size_t t0 = 0; t0 < b->T; t0 += K) {
        const size_t t1 = t0 + K < b->T ? t0 + K : b->T;
        double loss;
        size_t terms;
        if ((rc = forward_window(tr, t0, t1, &loss, &terms)))
            return rc;
        if (terms == 0)
            continue; /* nothing to learn from in this window */
        tr->norm = (double)terms;
        recur_tpool_run(tr->pool, tr->s_n, task_backward, tr);
        for (size_t s = tr->s_lo; s < tr->s_lo + tr->s_n; s++)
            if (tr->sh[s].rc)
                return tr->sh[s].rc;
        if (tr->copy && (rc = reduce(tr)) != 0)
            return rc;
        tr->updates++;
        if (tr->opts.nan_at_step && tr->updates == tr->opts.nan_at_step)
            tr->grads[0] = (recur_real)NAN;
        double norm = NAN;
        rc =
            isfinite(loss) ? recur_optim_step(tr->opt, params, tr->grads, &norm) : RECUR_ENONFINITE;
        if ((rc == 0 || rc == RECUR_ENONFINITE) && tr->opts.on_update) {
            const double clip = recur_optim_config(tr->opt)->clip;
            const bool bad = rc != 0;
            const recur_update_info_t u = {
                /* a non-finite loss did not reach the optimizer's count; a gradient did */
                .update = recur_optim_steps(tr->opt) + recur_optim_skipped(tr->opt) +
                          (bad && !isfinite(loss)),
                .loss = loss,
                .norm = bad ? NAN : norm,
                .norm_after = bad ? NAN : (clip > 0 && norm > clip ? clip : norm),
                .skipped = bad};
            const int urc = tr->opts.on_update(tr->opts.on_update_ctx, &u);
            if (urc)
                return urc;
        }
        if (rc == RECUR_ENONFINITE) {
            st->skipped++;
            if (!isfinite(loss)) /* the optimizer did not see this step: count it there too */
                recur_optim_set_steps(tr->opt, recur_optim_steps(tr->opt),
                                      recur_optim_skipped(tr->opt) + 1);
            if (++tr->bad_run >= tr->opts.max_bad_steps) {
                recur_error("training diverged: %zu consecutive non-finite steps, the last at "
                            "update %llu",
                            tr->bad_run, (unsigned long long)tr->updates);
                return RECUR_EDIVERGED;
            }
            continue;
        }
        if (rc)
            return rc;
        tr->bad_run = 0;
        st->updates++;
        st->grad_norm_sum += norm;
        st->grad_norm_max = norm > st->grad_norm_max ? norm : st->grad_norm_max;
        const double clip = recur_optim_config(tr->opt)->clip;
        if (clip > 0 && norm > clip)
            st->clipped++;
        loss_sum += loss * (double)terms;
        st->terms += terms;
    }
    st->loss = st->terms ? loss_sum / (double)st->terms : 0;
    return 0;
}

int recur_trainer_eval(recur_trainer_t *tr, const recur_real *params, const recur_batch_t *b,
                       double *loss, size_t *terms)
{
    int rc = prepare(tr, params, b, false, NULL);
    if (rc)
        return rc;
    double sum = 0;
    size_t n = 0;
    for (size_t t0 = 0; t0 < b->T; t0 += tr->K) {
        const size_t t1 = t0 + tr->K < b->T ? t0 + tr->K : b->T;
        double l;
        size_t nt;
        if ((rc = forward_window(tr, t0, t1, &l, &nt)))
            return rc;
        sum += l * (double)nt;
        n += nt;
    }
    *loss = n ? sum / (double)n : 0;
    if (terms)
        *terms = n;
    return 0;
}
