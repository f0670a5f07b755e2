/* train.c - one training step over a batch: windows of K steps (or the whole batch), forward,
 * backward, clipping and an optimizer update per window; non-finite steps skipped and a run of
 * them reported as divergence. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/train.h>

struct recur_trainer {
    recur_config_t cfg;
    recur_train_opts_t opts;
    recur_optim_t *opt;
    recur_engine_t *e;
    size_t K;          /* window length */
    size_t P;          /* parameters */
    recur_real *grads; /* (P) */
    size_t bad_run;    /* consecutive non-finite steps */
    uint64_t updates;  /* updates attempted so far (for nan_at_step) */
};

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
    tr->e = recur_engine_alloc(cfg, tr->K, B_max); /* O(K B H) activations */
    tr->grads = calloc(tr->P, sizeof *tr->grads);
    if (!tr->e || !tr->grads)
        goto fail;
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
    recur_engine_free(tr->e);
    free(tr->grads);
    free(tr);
}

recur_engine_t *recur_trainer_engine(recur_trainer_t *tr)
{
    return tr->e;
}

int recur_trainer_batch(recur_trainer_t *tr, recur_real *params, const recur_batch_t *b,
                        gsl_rng *rng, recur_train_stats_t *st)
{
    memset(st, 0, sizeof *st);
    double loss_sum = 0;
    const size_t K = tr->K;
    for (size_t t0 = 0; t0 < b->T; t0 += K) {
        const size_t t1 = t0 + K < b->T ? t0 + K : b->T;
        double loss;
        size_t terms;
        int rc = recur_engine_forward(tr->e, params, b, t0, t1, true, rng, &loss, &terms);
        if (rc)
            return rc;
        if (terms == 0)
            continue; /* nothing to learn from in this window */
        memset(tr->grads, 0, tr->P * sizeof *tr->grads);
        if ((rc = recur_engine_backward(tr->e, params, tr->grads, NULL)))
            return rc;
        tr->updates++;
        if (tr->opts.nan_at_step && tr->updates == tr->opts.nan_at_step)
            tr->grads[0] = (recur_real)NAN;
        double norm = NAN;
        rc =
            isfinite(loss) ? recur_optim_step(tr->opt, params, tr->grads, &norm) : RECUR_ENONFINITE;
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
    double sum = 0;
    size_t n = 0;
    for (size_t t0 = 0; t0 < b->T; t0 += tr->K) {
        const size_t t1 = t0 + tr->K < b->T ? t0 + tr->K : b->T;
        double l;
        size_t nt;
        int rc = recur_engine_forward(tr->e, params, b, t0, t1, false, NULL, &l, &nt);
        if (rc)
            return rc;
        sum += l * (double)nt;
        n += nt;
    }
    *loss = n ? sum / (double)n : 0;
    if (terms)
        *terms = n;
    return 0;
}
