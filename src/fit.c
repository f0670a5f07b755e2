/* fit.c - the one training loop (recur/fit.h): the epoch order, the batches through the trainer,
 * validation, the best epoch and patience; the training state's round trip is in fitstate.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include <recur/dna.h>
#include <recur/fit.h>
#include <recur/infer.h>
#include <recur/metrics.h>

#include "fit_impl.h"

/* ---- Allocation ------------------------------------------------------------------------------ */

/* Rows per epoch: the training rows, or (balancing) the classes present x the largest. */
static size_t rows_per_epoch(const recur_fit_t *f)
{
    if (!f->o.balance)
        return f->n_train;
    const recur_dataset_t *ds = f->ds;
    size_t *cnt = calloc(ds->O ? ds->O : 1, sizeof *cnt), most = 0, present = 0;
    if (!cnt)
        return 0;
    for (size_t i = 0; i < f->n_train; i++)
        if (ds->labels[f->train[i]] >= 0) /* unlabelled rows add no loss term */
            cnt[ds->labels[f->train[i]]]++;
    for (size_t k = 0; k < ds->O; k++) {
        most = cnt[k] > most ? cnt[k] : most;
        present += cnt[k] > 0;
    }
    free(cnt);
    return present * most;
}

static size_t *copy_rows(const size_t *rows, size_t n)
{
    size_t *r = malloc((n ? n : 1) * sizeof *r);
    if (r && n)
        memcpy(r, rows, n * sizeof *r);
    return r;
}

/* Trainer callback: the caller's, with the epoch. */
static int on_update(void *ctx, const recur_update_info_t *u)
{
    recur_fit_t *f = ctx;
    const recur_fit_update_t fu = {f->epoch, u};
    return f->o.on_update(f->o.on_update_ctx, &fu);
}

/* Whether rows[0..n-1] are all rows of ds. */
static bool rows_of(const size_t *rows, size_t n, const recur_dataset_t *ds)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i] >= ds->N)
            return false;
    return true;
}

static int check_opts(const recur_config_t *cfg, const recur_fit_opts_t *o,
                      const recur_fit_data_t *d)
{
    const char *why = NULL;
    if (!d->train || (d->n_train && !d->train_rows) || (d->val && d->n_val && !d->val_rows))
        why = "no training data";
    else if (!rows_of(d->train_rows, d->n_train, d->train) ||
             (d->val && !rows_of(d->val_rows, d->n_val, d->val)))
        why = "a row index past the end of its dataset";
    else if (o->batch_size == 0)
        why = "the batch size must be at least 1";
    else if (o->train.on_update)
        why = "the trainer's callback is fit's own (use recur_fit_opts_t.on_update)";
    else if (o->balance &&
             (d->train->task != RECUR_TASK_CLASSIFY || d->train->head != RECUR_HEAD_SEQ))
        why = "class balancing needs one class label per record";
    else if (o->revcomp && d->train->F != 4)
        why = "reverse-complement augmentation needs 4 one-hot channels (DNA)";
    else if (d->train->F != cfg->input_size || d->train->O != cfg->num_outputs ||
             d->train->task != cfg->task || d->train->head != cfg->head)
        why = "the data do not fit the model (features, outputs, task or head)";
    else if (d->val && (d->val->F != d->train->F || d->val->O != d->train->O ||
                        d->val->task != d->train->task || d->val->head != d->train->head))
        why = "the validation data are not of the training data's kind";
    if (why) {
        recur_error("%s", why);
        return RECUR_EINVAL;
    }
    return 0;
}

recur_fit_t *recur_fit_alloc(const recur_config_t *cfg, const recur_real *params,
                             const recur_fit_opts_t *o, const recur_fit_data_t *d, gsl_rng *rng)
{
    if (check_opts(cfg, o, d) != 0)
        return NULL;
    recur_fit_t *f = calloc(1, sizeof *f);
    if (!f) {
        recur_error("out of memory");
        return NULL;
    }
    f->cfg = *cfg;
    f->o = *o;
    f->ds = d->train;
    f->vds = d->val && d->n_val ? d->val : NULL;
    f->n_train = d->n_train;
    f->n_val = f->vds ? d->n_val : 0;
    f->rng = rng;
    f->P = recur_param_count(cfg);
    f->epoch = 1;
    f->best_loss = INFINITY;
    f->seq_probs = cfg->head == RECUR_HEAD_SEQ && cfg->task != RECUR_TASK_REGRESS;
    f->train = copy_rows(d->train_rows, d->n_train);
    f->val = copy_rows(d->val_rows, f->n_val);
    f->params = malloc(f->P * sizeof *f->params);
    f->ep_rng = gsl_rng_clone(rng);
    f->saved_rng = gsl_rng_clone(rng);
    if (!f->train || !f->val || !f->params || !f->ep_rng || !f->saved_rng) {
        recur_error("out of memory");
        goto fail;
    }
    memcpy(f->params, params, f->P * sizeof *params);
    f->per_epoch = rows_per_epoch(f);
    if (f->per_epoch == 0) {
        recur_error("no labelled training rows");
        goto fail;
    }
    f->B = o->batch_size < f->per_epoch ? o->batch_size : f->per_epoch;
    const size_t B = f->B;
    f->order = malloc(f->per_epoch * sizeof *f->order);
    f->starts = malloc(((f->per_epoch + B - 1) / B) * sizeof *f->starts);
    f->tmp = malloc(B * RECUR_FIT_BUCKET_BATCHES * sizeof *f->tmp);
    f->flip = calloc(B, 1);
    if (!f->order || !f->starts || !f->tmp || !f->flip) {
        recur_error("out of memory");
        goto fail;
    }
    recur_train_opts_t to = o->train;
    if (o->on_update) {
        to.on_update = on_update;
        to.on_update_ctx = f;
    }
    /* the trainer's engines take the longest batch of training or loss-validated rows */
    const size_t T_max = f->vds && !f->seq_probs && f->vds->T > f->ds->T ? f->vds->T : f->ds->T;
    if (!(f->opt = recur_optim_alloc(&o->optim, f->P)) ||
        !(f->tr = recur_trainer_alloc(cfg, f->opt, &to, T_max, B)) ||
        !(f->bb = recur_dataset_batch_alloc(f->ds, f->ds->T, B)))
        goto fail;
    if (f->vds && !f->seq_probs && !(f->vbb = recur_dataset_batch_alloc(f->vds, f->vds->T, B)))
        goto fail;
    return f;
fail:
    recur_fit_free(f);
    return NULL;
}

void recur_fit_free(recur_fit_t *f)
{
    if (!f)
        return;
    recur_fit_snapshot_free(&f->best);
    recur_dataset_batch_free(f->bb);
    recur_dataset_batch_free(f->vbb);
    recur_trainer_free(f->tr);
    recur_optim_free(f->opt);
    gsl_rng_free(f->ep_rng);
    gsl_rng_free(f->saved_rng);
    free(f->flip);
    free(f->tmp);
    free(f->starts);
    free(f->order);
    free(f->params);
    free(f->val);
    free(f->train);
    free(f->resume_path);
    free(f);
}

bool recur_fit_done(const recur_fit_t *f)
{
    return f->stopped || f->epoch > f->o.epochs;
}

const recur_real *recur_fit_params(const recur_fit_t *f)
{
    return f->params;
}

recur_engine_t *recur_fit_engine(recur_fit_t *f)
{
    return recur_trainer_engine(f->tr);
}

const size_t *recur_fit_epoch_rows(const recur_fit_t *f, size_t *n)
{
    *n = f->in_epoch ? f->n_rows : 0;
    return f->in_epoch ? f->order : NULL;
}

void recur_fit_status(const recur_fit_t *f, recur_fit_status_t *s)
{
    *s = (recur_fit_status_t){
        .epoch = f->epoch,
        .epochs = f->o.epochs,
        .batch = f->in_epoch ? f->batch : 0,
        .batches = f->in_epoch ? f->n_batches : (f->per_epoch + f->B - 1) / f->B,
        .loss = f->in_epoch && f->e.terms ? f->e.loss_sum / (double)f->e.terms : NAN,
        .updates = recur_optim_steps(f->opt) + recur_optim_skipped(f->opt),
        .rows_per_epoch = f->per_epoch,
        .batch_size = f->B,
    };
}

/* ---- The epoch's order ----------------------------------------------------------------------- */

static int cmp_lenrow(const void *a, const void *b)
{
    const recur_fit_lenrow_t *x = a, *y = b;
    if (x->len != y->len)
        return (x->len > y->len) - (x->len < y->len);
    return (x->key > y->key) - (x->key < y->key);
}

/* Every class topped up to the largest by draws with replacement, into order; *n rows. */
static int balanced_rows(recur_fit_t *f, size_t *n)
{
    const recur_dataset_t *ds = f->ds;
    const size_t K = ds->O;
    size_t *count = calloc(K, sizeof *count), *at = calloc(K + 1, sizeof *at);
    size_t *by = malloc((f->n_train ? f->n_train : 1) * sizeof *by);
    if (!count || !at || !by) {
        free(count), free(at), free(by);
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    size_t most = 0, m = 0;
    for (size_t i = 0; i < f->n_train; i++)
        if (ds->labels[f->train[i]] >= 0)
            count[ds->labels[f->train[i]]]++;
    for (size_t k = 0; k < K; k++) {
        at[k + 1] = at[k] + count[k];
        most = count[k] > most ? count[k] : most;
    }
    size_t *fill = count; /* reused as fill pointers */
    for (size_t k = 0; k < K; k++)
        fill[k] = at[k];
    for (size_t i = 0; i < f->n_train; i++)
        if (ds->labels[f->train[i]] >= 0)
            by[fill[ds->labels[f->train[i]]]++] = f->train[i];
    for (size_t k = 0; k < K; k++) {
        const size_t nk = at[k + 1] - at[k];
        for (size_t j = 0; j < nk; j++)
            f->order[m++] = by[at[k] + j];
        for (size_t j = nk; j < most && nk; j++)
            f->order[m++] = by[at[k] + gsl_rng_uniform_int(f->rng, nk)];
    }
    free(count), free(at), free(by);
    *n = m;
    return 0;
}

/* The epoch's rows in batch order: the training rows (balanced), shuffled, then (bucketing)
 * sorted by length within chunks of RECUR_FIT_BUCKET_BATCHES batches whose batches are then
 * shuffled; starts gets the first position of each batch. Draws from f->rng. */
static int epoch_order(recur_fit_t *f)
{
    const size_t B = f->B;
    size_t m = f->n_train;
    if (f->o.balance) {
        if (balanced_rows(f, &m) != 0)
            return RECUR_ENOMEM;
    } else {
        memcpy(f->order, f->train, f->n_train * sizeof *f->order);
    }
    f->n_rows = m;
    f->n_batches = 0;
    const bool bucket = f->o.shuffle && f->o.bucket;
    if (f->o.shuffle)
        gsl_ran_shuffle(f->rng, f->order, m, sizeof *f->order);
    if (bucket) {
        const size_t chunk = B * RECUR_FIT_BUCKET_BATCHES;
        for (size_t s = 0; s < m; s += chunk) {
            const size_t c = m - s < chunk ? m - s : chunk;
            for (size_t i = 0; i < c; i++)
                f->tmp[i] = (recur_fit_lenrow_t){recur_dataset_length(f->ds, f->order[s + i]), i,
                                                 f->order[s + i]};
            qsort(f->tmp, c, sizeof *f->tmp, cmp_lenrow);
            for (size_t i = 0; i < c; i++)
                f->order[s + i] = f->tmp[i].row;
        }
    }
    for (size_t s = 0; s < m; s += B)
        f->starts[f->n_batches++] = s;
    if (bucket)
        gsl_ran_shuffle(f->rng, f->starts, f->n_batches, sizeof *f->starts);
    return 0;
}

/* Starts the epoch f->epoch: its order drawn from the generator, whose state at this moment is
 * kept in ep_rng for a checkpoint. A restored run draws the order of its epoch again from the
 * checkpoint's starting generator and goes on from its batch with its sums. */
static int epoch_start(recur_fit_t *f)
{
    const bool here = f->resume_mid && f->epoch == f->resume_epoch;
    /* a checkpoint taken before the epoch's first batch holds the epoch's starting generator
     * itself: the order is drawn from it as in any epoch, and the batches go on from there */
    const bool redraw = here && f->resume_batch > 0;
    if (redraw) {
        gsl_rng_memcpy(f->saved_rng, f->rng);
        gsl_rng_memcpy(f->rng, f->ep_rng);
    }
    gsl_rng_memcpy(f->ep_rng, f->rng);
    if (epoch_order(f) != 0)
        return RECUR_ENOMEM;
    memset(&f->e, 0, sizeof f->e);
    f->batch = 0;
    if (here) {
        if (redraw)
            gsl_rng_memcpy(f->rng, f->saved_rng);
        f->e = f->resume_sums;
        f->resume_mid = false;
        if (f->resume_batch > f->n_batches) {
            recur_error("%s: batch %zu of %zu: not the data this run was trained on",
                        f->resume_path, f->resume_batch, f->n_batches);
            return RECUR_EFORMAT;
        }
        f->batch = f->resume_batch;
    }
    f->in_epoch = true;
    return 0;
}

/* ---- Batches --------------------------------------------------------------------------------- */

/* Running accuracy from the logits of the batch just trained (sequence head): argmax against
 * the label, or each label's logit >= 0 against its target. */
static void count_right(recur_fit_t *f, const recur_batch_t *b)
{
    const recur_engine_t *e = recur_trainer_engine(f->tr);
    size_t rows;
    const recur_real *z = recur_engine_outputs(e, &rows); /* (B, O) */
    const size_t O = f->cfg.num_outputs;
    if (!z || rows != b->B) /* the engine's last forward was not this whole batch */
        return;
    for (size_t i = 0; i < b->B; i++) {
        const recur_real *zi = z + i * O;
        if (f->cfg.task == RECUR_TASK_CLASSIFY) {
            if (b->labels[i] < 0)
                continue;
            size_t best = 0;
            for (size_t k = 1; k < O; k++)
                best = zi[k] > zi[best] ? k : best;
            f->e.right += best == (size_t)b->labels[i];
            f->e.judged++;
        } else if (f->cfg.task == RECUR_TASK_MULTILABEL) {
            for (size_t k = 0; k < O; k++) {
                if (b->target_mask && !b->target_mask[i * O + k])
                    continue;
                f->e.right += (zi[k] >= 0) == (b->targets[i * O + k] >= 0.5f);
                f->e.judged++;
            }
        }
    }
}

int recur_fit_next(recur_fit_t *f)
{
    if (recur_fit_done(f))
        return 0;
    int rc;
    if (!f->in_epoch && (rc = epoch_start(f)) != 0)
        return rc;
    if (f->batch == f->n_batches)
        return 0;
    const size_t s = f->starts[f->batch];
    const size_t nb = f->n_rows - s < f->B ? f->n_rows - s : f->B;
    recur_batch_t b;
    recur_train_stats_t st;
    if ((rc = recur_dataset_batch(f->ds, f->order + s, nb, f->bb, &b)) != 0)
        return rc;
    if (f->o.revcomp) {
        for (size_t i = 0; i < nb; i++)
            f->flip[i] = (unsigned char)gsl_rng_uniform_int(f->rng, 2);
        recur_dna_revcomp_batch(f->bb->x, f->bb->mask, b.T, nb, f->flip);
    }
    size_t valid = 0;
    for (size_t i = 0; i < b.T * nb; i++)
        valid += b.mask[i] != 0;
    f->e.steps += b.T * nb;
    f->e.padded_steps += b.T * nb - valid;
    if ((rc = recur_trainer_batch(f->tr, f->params, &b, f->rng, &st)) != 0)
        return rc;
    if (f->seq_probs && (f->o.train.tbptt == 0 || f->o.train.tbptt >= b.T))
        count_right(f, &b);
    f->e.loss_sum += st.loss * (double)st.terms;
    f->e.terms += st.terms;
    f->e.updates += st.updates;
    f->e.skipped += st.skipped;
    f->e.clipped += st.clipped;
    f->e.grad_norm_sum += st.grad_norm_sum;
    f->e.grad_norm_max =
        st.grad_norm_max > f->e.grad_norm_max ? st.grad_norm_max : f->e.grad_norm_max;
    f->batch++;
    return 1;
}

/* ---- Validation ------------------------------------------------------------------------------ */

/* Loss, accuracy and balanced accuracy of the sequence classifier from its probabilities (both
 * strands averaged with revcomp). */
static int validate_probs(recur_fit_t *f, recur_fit_epoch_t *ep)
{
    const recur_dataset_t *vs = f->vds;
    const size_t n = f->n_val, O = f->cfg.num_outputs;
    double *p = malloc(n * O * sizeof *p); /* (n, O) */
    int32_t *y = NULL;                     /* (n) classify */
    float *t = NULL;                       /* (n, O) multilabel */
    unsigned char *pm = NULL;              /* (n, O) */
    recur_metrics_t *m = NULL;
    int rc = RECUR_ENOMEM;
    if (!p)
        goto done;
    if ((rc = recur_infer_probs(&f->cfg, f->params, vs, f->val, n, f->B, f->o.revcomp, p)))
        goto done;
    rc = RECUR_ENOMEM;
    if (f->cfg.task == RECUR_TASK_CLASSIFY) {
        if (!(y = malloc(n * sizeof *y)))
            goto done;
        for (size_t i = 0; i < n; i++)
            y[i] = vs->labels[f->val[i]];
        m = recur_metrics_classify(p, y, n, O);
    } else {
        t = malloc(n * O * sizeof *t);
        pm = malloc(n * O);
        if (!t || !pm)
            goto done;
        for (size_t i = 0; i < n; i++) {
            memcpy(t + i * O, vs->targets + f->val[i] * O, O * sizeof *t);
            if (vs->target_mask)
                memcpy(pm + i * O, vs->target_mask + f->val[i] * O, O);
            else
                memset(pm + i * O, 1, O);
        }
        m = recur_metrics_multilabel(p, t, pm, n, O);
    }
    if (m) {
        ep->val_loss = m->loss;
        ep->val_acc = m->accuracy;
        ep->val_bal = m->balanced_accuracy;
        rc = 0;
    }
done:
    if (rc == RECUR_ENOMEM && !m)
        recur_error("out of memory");
    recur_metrics_free(m);
    free(p);
    free(y);
    free(t);
    free(pm);
    return rc;
}

/* Validation: sequence classifiers from their probabilities; every other model by the trainer's
 * own loss, window by window as in training (accuracies NaN). */
static int validate(recur_fit_t *f, recur_fit_epoch_t *ep)
{
    ep->val_loss = ep->val_acc = ep->val_bal = NAN;
    if (f->seq_probs)
        return validate_probs(f, ep);
    double sum = 0;
    size_t terms = 0;
    for (size_t s = 0; s < f->n_val; s += f->B) {
        const size_t nb = f->n_val - s < f->B ? f->n_val - s : f->B;
        recur_batch_t b;
        double l;
        size_t nt;
        int rc = recur_dataset_batch(f->vds, f->val + s, nb, f->vbb, &b);
        if (rc == 0)
            rc = recur_trainer_eval(f->tr, f->params, &b, &l, &nt);
        if (rc != 0)
            return rc;
        sum += l * (double)nt;
        terms += nt;
    }
    ep->val_loss = terms ? sum / (double)terms : NAN;
    return 0;
}

int recur_fit_epoch_end(recur_fit_t *f, recur_fit_epoch_t *e)
{
    memset(e, 0, sizeof *e);
    const recur_fit_sums_t *s = &f->e;
    e->epoch = f->epoch;
    e->epochs = f->o.epochs;
    e->loss = s->terms ? s->loss_sum / (double)s->terms : NAN;
    e->acc = s->judged ? (double)s->right / (double)s->judged : NAN;
    e->updates = s->updates;
    e->skipped = s->skipped;
    e->clipped = s->clipped;
    e->grad_norm_mean = s->updates ? s->grad_norm_sum / (double)s->updates : NAN;
    e->grad_norm_max = s->updates ? s->grad_norm_max : NAN;
    e->padding = s->steps ? (double)s->padded_steps / (double)s->steps : NAN;
    e->val_loss = e->val_acc = e->val_bal = NAN;
    e->has_val = f->vds != NULL;
    int rc;
    if (e->has_val) {
        if ((rc = validate(f, e)) != 0)
            return rc;
        if (e->val_loss < f->best_loss) {
            f->best_loss = e->val_loss;
            f->since_best = 0;
            f->best_epoch = f->epoch;
            e->best = true;
            if (!f->o.keep_last && (rc = recur_fit_snapshot_take(f, &f->best, f->epoch)) != 0)
                return rc;
        } else {
            f->since_best++;
        }
    }
    e->since_best = f->since_best;
    f->epochs_run = f->epoch;
    f->in_epoch = false;
    f->epoch++;
    if (e->has_val && f->o.patience && f->since_best >= f->o.patience) {
        e->stop = true;
        f->stopped = true;
    }
    return recur_fit_done(f) ? 0 : 1;
}
