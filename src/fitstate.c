/* fitstate.c - the training state of a run (recur/fit.h) and its round trip through the model
 * file: snapshots of the best epoch, checkpoints at a batch boundary, the restore that continues
 * a checkpointed run exactly, and the weights a finished run keeps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/fit.h>

#include "fit_impl.h"

/* The numbers of recur_fit_sums_t a checkpoint keeps, in this order, then the padded steps. */
enum { SUMS_N = 11 };
/* resume_best: best loss, epochs since, best epoch, weights stored; then the snapshot's
 * optimizer steps, skipped steps and epochs done. */
enum { BEST_N = 7 };

static void sums_pack(const recur_fit_sums_t *e, double *a)
{
    const double v[SUMS_N] = {e->loss_sum,        (double)e->terms,       (double)e->updates,
                              (double)e->skipped, (double)e->clipped,     e->grad_norm_sum,
                              e->grad_norm_max,   (double)e->right,       (double)e->judged,
                              (double)e->steps,   (double)e->padded_steps};
    memcpy(a, v, sizeof v);
}

static void sums_unpack(const double *a, recur_fit_sums_t *e)
{
    e->loss_sum = a[0];
    e->terms = (size_t)a[1];
    e->updates = (size_t)a[2];
    e->skipped = (size_t)a[3];
    e->clipped = (size_t)a[4];
    e->grad_norm_sum = a[5];
    e->grad_norm_max = a[6];
    e->right = (size_t)a[7];
    e->judged = (size_t)a[8];
    e->steps = (size_t)a[9];
    e->padded_steps = (size_t)a[10];
}

void recur_fit_snapshot_free(recur_fit_snapshot_t *s)
{
    free(s->params);
    free(s->m);
    free(s->v);
    gsl_rng_free(s->rng);
    memset(s, 0, sizeof *s);
}

static int snapshot_alloc(recur_fit_snapshot_t *s, size_t P, bool sgd, const gsl_rng *rng)
{
    if (s->params)
        return 0;
    s->params = malloc(P * sizeof *s->params);
    s->m = malloc(P * sizeof *s->m);
    s->v = sgd ? NULL : malloc(P * sizeof *s->v);
    s->rng = gsl_rng_clone(rng);
    if (!s->params || !s->m || (!sgd && !s->v) || !s->rng) {
        recur_fit_snapshot_free(s);
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    return 0;
}

int recur_fit_snapshot_take(const recur_fit_t *f, recur_fit_snapshot_t *s, size_t epoch)
{
    const size_t P = f->P;
    recur_optim_t *opt = f->opt;
    if (snapshot_alloc(s, P, f->o.optim.kind == RECUR_OPT_SGD, f->rng) != 0)
        return RECUR_ENOMEM;
    memcpy(s->params, f->params, P * sizeof *s->params);
    memcpy(s->m, recur_optim_m(opt), P * sizeof *s->m);
    if (s->v)
        memcpy(s->v, recur_optim_v(opt), P * sizeof *s->v);
    s->step = recur_optim_steps(opt);
    s->skipped = recur_optim_skipped(opt);
    s->epoch = epoch;
    gsl_rng_memcpy(s->rng, f->rng);
    return 0;
}

/* The weights and training state of one moment into m (best: the best epoch's weights so far,
 * or NULL). */
static int put_state(const recur_fit_t *f, recur_model_t *m, const recur_real *params,
                     const recur_real *mom1, const recur_real *mom2, uint64_t step,
                     uint64_t skipped, size_t epoch, const gsl_rng *rng, const recur_real *best)
{
    const recur_config_t *mc = recur_model_config(m);
    if (recur_param_count(mc) != f->P) {
        recur_error("the model to write is not the run's architecture");
        return RECUR_EINVAL;
    }
    memcpy(recur_model_params(m), params, f->P * sizeof *params);
    recur_train_state_t ts = {.step = step,
                              .skipped = skipped,
                              .epoch = epoch,
                              .cursor = 0,
                              .m = mom1,
                              .v = f->o.optim.kind == RECUR_OPT_SGD ? NULL : mom2,
                              .best = best,
                              .rng_state = gsl_rng_state(rng),
                              .rng_size = gsl_rng_size(rng)};
    snprintf(ts.optimizer, sizeof ts.optimizer, "%s", recur_optim_name(f->o.optim.kind));
    snprintf(ts.rng_name, sizeof ts.rng_name, "%s", gsl_rng_name(rng));
    return recur_model_set_train_state(m, &ts);
}

/* A list of P weights as doubles (exact for float and double builds). */
static int put_reals(recur_model_t *m, const char *key, const recur_real *v, size_t n)
{
    double *d = malloc((n ? n : 1) * sizeof *d);
    if (!d) {
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        d[i] = (double)v[i];
    const int rc = recur_model_set_numbers(m, key, d, n);
    free(d);
    return rc;
}

static int put_rng(recur_model_t *m, const char *key, const gsl_rng *r)
{
    const size_t n = gsl_rng_size(r);
    const unsigned char *st = gsl_rng_state(r);
    double *d = malloc(n * sizeof *d);
    if (!d) {
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        d[i] = st[i];
    const int rc = recur_model_set_numbers(m, key, d, n);
    free(d);
    return rc;
}

int recur_fit_checkpoint(const recur_fit_t *f, recur_model_t *m)
{
    recur_optim_t *opt = f->opt;
    const gsl_rng *epoch_rng = f->in_epoch ? f->ep_rng : f->rng;
    recur_fit_sums_t zero = {0};
    double sums[SUMS_N];
    sums_pack(f->in_epoch ? &f->e : &zero, sums);
    const double where[2] = {(double)f->epoch, (double)(f->in_epoch ? f->batch : 0)};
    const recur_fit_snapshot_t *b = &f->best;
    const double best[BEST_N] = {f->best_loss,      (double)f->since_best, (double)f->best_epoch,
                                 b->params != NULL, (double)b->step,       (double)b->skipped,
                                 (double)b->epoch};
    int rc =
        put_state(f, m, f->params, recur_optim_m(opt), recur_optim_v(opt), recur_optim_steps(opt),
                  recur_optim_skipped(opt), f->epoch - 1, f->rng, b->params);
    if (rc == 0)
        rc = recur_model_set_numbers(m, "resume_epoch", where, 1);
    if (rc == 0)
        rc = recur_model_set_numbers(m, "resume_batch", where + 1, 1);
    if (rc == 0)
        rc = put_rng(m, "resume_epoch_rng", epoch_rng);
    if (rc == 0)
        rc = recur_model_set_numbers(m, "resume_acc", sums, SUMS_N);
    if (rc == 0)
        rc = recur_model_set_numbers(m, "resume_best", best, BEST_N);
    /* the best epoch's optimizer moments and generator, so that the kept model's training
     * state is the same as an uninterrupted run's */
    if (rc == 0 && b->params)
        rc = put_reals(m, "resume_best_m", b->m, f->P);
    if (rc == 0 && b->params && b->v)
        rc = put_reals(m, "resume_best_v", b->v, f->P);
    if (rc == 0 && b->params)
        rc = put_rng(m, "resume_best_rng", b->rng);
    return rc;
}

int recur_fit_result(const recur_fit_t *f, recur_model_t *m, size_t *epoch, bool *best)
{
    const recur_fit_snapshot_t *b = &f->best;
    const bool use_best = b->params && !f->o.keep_last;
    if (epoch)
        *epoch = use_best ? b->epoch : f->epochs_run;
    if (best)
        *best = use_best;
    if (use_best)
        return put_state(f, m, b->params, b->m, b->v, b->step, b->skipped, b->epoch, b->rng, NULL);
    recur_optim_t *opt = f->opt;
    return put_state(f, m, f->params, recur_optim_m(opt), recur_optim_v(opt),
                     recur_optim_steps(opt), recur_optim_skipped(opt), f->epochs_run, f->rng, NULL);
}

/* ---- Restore --------------------------------------------------------------------------------- */

static int get_rng(const recur_model_t *m, const char *key, gsl_rng *r, const char *path)
{
    size_t n;
    const double *v = recur_model_numbers(m, key, &n);
    if (!v || n != gsl_rng_size(r)) {
        recur_error("%s: the checkpoint's generator state is missing or damaged", path);
        return RECUR_EFORMAT;
    }
    unsigned char *st = gsl_rng_state(r);
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] >= 0 && v[i] <= 255)) {
            recur_error("%s: the checkpoint's generator state is damaged", path);
            return RECUR_EFORMAT;
        }
        st[i] = (unsigned char)v[i];
    }
    return 0;
}

static int get_reals(const recur_model_t *m, const char *key, recur_real *out, size_t P,
                     const char *path)
{
    size_t n;
    const double *v = recur_model_numbers(m, key, &n);
    if (!v || n != P) {
        recur_error("%s: the checkpoint's '%s' is missing or damaged", path, key);
        return RECUR_EFORMAT;
    }
    for (size_t i = 0; i < P; i++)
        out[i] = (recur_real)v[i];
    return 0;
}

/* The best epoch so far, as the checkpoint stored it. */
static int get_best(recur_fit_t *f, const recur_model_t *m, const recur_train_state_t *ts,
                    const double *best, const char *path)
{
    f->best_loss = best[0];
    f->since_best = (size_t)best[1];
    f->best_epoch = (size_t)best[2];
    if (best[3] == 0)
        return 0;
    recur_fit_snapshot_t *s = &f->best;
    if (!ts->best) {
        recur_error("%s: the checkpoint lacks the best epoch's weights", path);
        return RECUR_EFORMAT;
    }
    if (snapshot_alloc(s, f->P, f->o.optim.kind == RECUR_OPT_SGD, f->rng) != 0)
        return RECUR_ENOMEM;
    memcpy(s->params, ts->best, f->P * sizeof *s->params);
    s->step = (uint64_t)best[4];
    s->skipped = (uint64_t)best[5];
    s->epoch = (size_t)best[6];
    int rc = get_reals(m, "resume_best_m", s->m, f->P, path);
    if (rc == 0 && s->v)
        rc = get_reals(m, "resume_best_v", s->v, f->P, path);
    if (rc == 0)
        rc = get_rng(m, "resume_best_rng", s->rng, path);
    return rc;
}

/* A count as a checkpoint stores it: a whole number that a size_t holds exactly. */
static bool whole(double x)
{
    return x >= 0 && x <= 9007199254740992.0 && x == floor(x);
}

/* The counts among the position's numbers are whole (a damaged file is refused, not cast). */
static bool counts_ok(const double *e, const double *b, const double *a, const double *bs)
{
    static const int acc_counts[] = {1, 2, 3, 4, 7, 8, 9, 10}, best_counts[] = {1, 2, 3, 4, 5, 6};
    bool ok = whole(e[0]) && e[0] >= 1 && whole(b[0]);
    for (size_t i = 0; ok && i < sizeof acc_counts / sizeof *acc_counts; i++)
        ok = whole(a[acc_counts[i]]);
    for (size_t i = 0; ok && i < sizeof best_counts / sizeof *best_counts; i++)
        ok = whole(bs[best_counts[i]]);
    return ok;
}

/* Where inside an epoch the checkpoint was taken; a model without a position finished. */
static int get_cursor(recur_fit_t *f, const recur_model_t *m, const recur_train_state_t *ts,
                      const char *path)
{
    size_t n1, n2, n4, n5;
    const double *e = recur_model_numbers(m, "resume_epoch", &n1);
    const double *b = recur_model_numbers(m, "resume_batch", &n2);
    const double *a = recur_model_numbers(m, "resume_acc", &n4);
    const double *bs = recur_model_numbers(m, "resume_best", &n5);
    if (!e) { /* a finished model: training goes on with the next epoch */
        f->epoch = (size_t)ts->epoch + 1;
        f->epochs_run = (size_t)ts->epoch;
        return 0;
    }
    if (!b || !a || !bs || n1 != 1 || n2 != 1 || n4 != SUMS_N || n5 != BEST_N ||
        !counts_ok(e, b, a, bs)) {
        recur_error("%s: the checkpoint's position is incomplete or damaged", path);
        return RECUR_EFORMAT;
    }
    int rc = get_rng(m, "resume_epoch_rng", f->ep_rng, path);
    if (rc != 0)
        return rc;
    f->epoch = (size_t)e[0];
    f->epochs_run = f->epoch - 1;
    f->resume_mid = true;
    f->resume_epoch = f->epoch;
    f->resume_batch = (size_t)b[0];
    sums_unpack(a, &f->resume_sums);
    if ((rc = get_best(f, m, ts, bs, path)) != 0)
        return rc;
    /* a checkpoint taken after the epoch whose end ran out of patience: the run is over */
    f->stopped = f->vds && f->o.patience && f->since_best >= f->o.patience;
    return 0;
}

static bool same_arch(const recur_config_t *a, const recur_config_t *b)
{
    return a->cell == b->cell && a->input_size == b->input_size &&
           a->hidden_size == b->hidden_size && a->num_layers == b->num_layers &&
           a->bidirectional == b->bidirectional && a->head == b->head && a->pool == b->pool &&
           a->task == b->task && a->num_outputs == b->num_outputs;
}

int recur_fit_restore(recur_fit_t *f, const recur_model_t *ckpt, const char *path)
{
    const recur_train_state_t *ts = recur_model_train_state(ckpt);
    free(f->resume_path);
    if (!(f->resume_path = strdup(path ? path : "checkpoint"))) {
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    path = f->resume_path;
    const char *kind = recur_optim_name(f->o.optim.kind);
    if (!ts) {
        recur_error("%s: holds no training state to resume from", path);
        return RECUR_EFORMAT;
    }
    if (strcmp(ts->optimizer, kind) != 0) {
        recur_error("%s: was trained with --optimizer %s, not %s", path, ts->optimizer, kind);
        return RECUR_EINVAL;
    }
    if (!same_arch(recur_model_config(ckpt), &f->cfg)) {
        recur_error("%s: not the architecture of this run", path);
        return RECUR_EINVAL;
    }
    if (strcmp(ts->rng_name, gsl_rng_name(f->rng)) != 0 || ts->rng_size != gsl_rng_size(f->rng) ||
        (f->o.optim.kind != RECUR_OPT_SGD && !ts->v)) {
        recur_error("%s: the training state does not fit this run (generator or moments)", path);
        return RECUR_EFORMAT;
    }
    memcpy(f->params, recur_model_params_const(ckpt), f->P * sizeof *f->params);
    memcpy(recur_optim_m(f->opt), ts->m, f->P * sizeof *f->params);
    if (ts->v && f->o.optim.kind != RECUR_OPT_SGD)
        memcpy(recur_optim_v(f->opt), ts->v, f->P * sizeof *f->params);
    recur_optim_set_steps(f->opt, ts->step, ts->skipped);
    memcpy(gsl_rng_state(f->rng), ts->rng_state, ts->rng_size);
    return get_cursor(f, ckpt, ts, path);
}
