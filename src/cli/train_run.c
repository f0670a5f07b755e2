/* train_run.c - the command-line driver of a training run (train_run.h): signals, MPI, the
 * progress line, the epoch lines and logs, checkpoints and the final model around the library's
 * loop. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <recur/blas.h>
#include <recur/dist.h>

#include "cli.h"
#include "progress.h"
#include "train_run.h"

static volatile sig_atomic_t got_term, got_usr1;

static void on_signal(int sig)
{
    if (sig == SIGTERM)
        got_term = 1;
    else
        got_usr1 = 1;
}

/* ---- Logs ------------------------------------------------------------------------------------
 * A log is written as PATH.part while the run goes on and renamed to PATH when it ends well;
 * a run stopped by SIGTERM (or killed) leaves PATH.part for --resume, which cuts it back to the
 * lines its checkpoint had made and appends; an error removes it. "-" is standard output. */

typedef struct {
    FILE *fp;
    const char *path;
    char part[4096];
    size_t epoch; /* --grad-log: the epoch being run */
} runlog_t;

/* The first n lines of src into dst (atomically through a temporary), so that a resumed run
 * appends exactly what the uninterrupted one would have. */
static int cut_lines(const char *src, const char *dst, size_t n, const char *what)
{
    FILE *in = fopen(src, "r");
    if (!in) {
        recur_error("%s: cannot read the log to resume: %s", src, strerror(errno));
        return RECUR_EIO;
    }
    recur_outfile_t of;
    FILE *out = recur_outfile_begin(&of, dst) == 0 ? recur_outfile_stream(&of) : NULL;
    int rc = RECUR_EIO, ch;
    size_t lines = 0;
    if (!out) {
        recur_outfile_abort(&of);
        fclose(in);
        return rc;
    }
    while (lines < n && (ch = getc(in)) != EOF) {
        putc(ch, out);
        lines += ch == '\n';
    }
    fclose(in);
    if (lines < n)
        recur_error("%s: has %zu %s lines, the checkpoint %zu", src, lines, what, n);
    else
        rc = 0;
    return recur_outfile_end(&of, rc);
}

/* Opens the log path (NULL: none). Resuming, its first `keep` lines are kept (from PATH.part,
 * else from the finished PATH) and the run appends. */
static int log_open(runlog_t *l, const char *path, bool resuming, size_t keep, const char *what)
{
    l->path = path;
    if (!path)
        return 0;
    if (strcmp(path, "-") == 0) {
        l->fp = stdout;
        return 0;
    }
    snprintf(l->part, sizeof l->part, "%s.part", path);
    if (resuming) {
        const char *src = access(l->part, F_OK) == 0 ? l->part
                          : access(path, F_OK) == 0  ? path
                                                     : NULL;
        if (!src && keep) {
            recur_error("%s: no log to resume (neither it nor %s exists)", path, l->part);
            return RECUR_EIO;
        }
        if (src && cut_lines(src, l->part, keep, what) != 0)
            return RECUR_EIO;
    }
    if (!(l->fp = fopen(l->part, resuming ? "a" : "w"))) {
        recur_error("%s: cannot open: %s", path, strerror(errno));
        return RECUR_EIO;
    }
    return 0;
}

static int log_flush(runlog_t *l)
{
    if (l->fp && (fflush(l->fp) != 0 || ferror(l->fp))) {
        recur_error("%s: cannot write: %s", l->path, strerror(errno));
        return RECUR_EIO;
    }
    return 0;
}

/* Closes the log: renamed into place when rc is 0, kept as .part after SIGTERM, else removed.
 * Returns the exit status. */
static int log_close(runlog_t *l, int rc)
{
    if (!l->fp)
        return rc;
    if (l->fp == stdout) {
        recur_outfile_t none = {0};
        return recur_cli_out_finish(stdout, &none, rc);
    }
    if (rc == 128 + SIGTERM) {
        fclose(l->fp);
        return rc;
    }
    /* PATH.part is the temporary of PATH: a resumed run finds it by that name. */
    recur_outfile_t of = {.path = strdup(l->path), .tmp = strdup(l->part), .fp = l->fp};
    if (!of.path || !of.tmp) {
        recur_error("%s: out of memory", l->path);
        rc = RECUR_EXIT_ERROR;
    }
    return recur_cli_out_finish(l->fp, &of, rc);
}

/* Fit callback: one TSV line per update (NaN norms of skipped updates as "nan"). */
static int grad_log_line(void *ctx, const recur_fit_update_t *fu)
{
    runlog_t *g = ctx;
    const recur_update_info_t *u = fu->upd;
    if (fprintf(g->fp, "%llu\t%zu\t%.9g\t%.9g\t%.9g\t%d\n", (unsigned long long)u->update,
                fu->epoch, u->loss, u->norm, u->norm_after, u->skipped ? 1 : 0) < 0) {
        recur_error("%s: cannot write: %s", g->path, strerror(errno));
        return RECUR_EIO;
    }
    return 0;
}

static void json_number(FILE *fp, const char *key, double x)
{
    if (isfinite(x))
        fprintf(fp, ",\"%s\":%.9g", key, x);
    else
        fprintf(fp, ",\"%s\":null", key);
}

/* The epoch's line on stderr and its JSON object. */
static int report_epoch(const recur_fit_epoch_t *e, double seconds, double eta, runlog_t *log,
                        const recur_cli_run_t *r)
{
    char accs[32] = "", vals[160] = "";
    if (!isnan(e->acc))
        snprintf(accs, sizeof accs, " acc %.4f", e->acc);
    if (e->has_val && isnan(e->val_acc))
        snprintf(vals, sizeof vals, " val_loss %.4f%s", e->val_loss, e->best ? " *" : "");
    else if (e->has_val && r->baseline)
        snprintf(vals, sizeof vals, " val_loss %.4f val_acc %.4f%s (baseline %s %.4f)", e->val_loss,
                 e->val_acc, e->best ? " *" : "", r->baseline, r->baseline_val_acc);
    else if (e->has_val)
        snprintf(vals, sizeof vals, " val_loss %.4f val_acc %.4f%s", e->val_loss, e->val_acc,
                 e->best ? " *" : "");
    recur_info("epoch %zu/%zu loss %.4f%s%s grad_norm %.3g (max %.3g) clipped %zu skipped %zu "
               "padding %.1f%% %.1f s, ETA %.0f s",
               e->epoch, e->epochs, e->loss, accs, vals, e->grad_norm_mean, e->grad_norm_max,
               e->clipped, e->skipped, 100.0 * (isnan(e->padding) ? 0.0 : e->padding), seconds,
               eta);
    FILE *fp = log->fp;
    if (!fp)
        return 0;
    fprintf(fp, "{\"epoch\":%zu", e->epoch);
    json_number(fp, "loss", e->loss);
    json_number(fp, "acc", e->acc);
    json_number(fp, "val_loss", e->val_loss);
    json_number(fp, "val_acc", e->val_acc);
    json_number(fp, "val_balanced_acc", e->val_bal);
    if (r->baseline)
        json_number(fp, "baseline_val_acc", r->baseline_val_acc);
    fprintf(fp, ",\"best\":%s", e->best ? "true" : "false");
    fprintf(fp, ",\"updates\":%zu,\"skipped\":%zu,\"clipped\":%zu", e->updates, e->skipped,
            e->clipped);
    json_number(fp, "grad_norm_mean", e->grad_norm_mean);
    json_number(fp, "grad_norm_max", e->grad_norm_max);
    json_number(fp, "padding", e->padding);
    json_number(fp, "seconds", seconds);
    fputs("}\n", fp);
    return log_flush(log);
}

/* ---- Models ---------------------------------------------------------------------------------- */

/* A model of cfg with the run's provenance and the caller's encoding. */
static recur_model_t *new_model(const recur_config_t *cfg, const recur_cli_run_t *r)
{
    char cmdline[4096];
    recur_cli_command_line(cmdline, sizeof cmdline, r->argc, r->argv);
    const double seed = (double)r->opts->seed;
    recur_model_t *m = recur_model_alloc(cfg);
    if (!m)
        return NULL;
    if (recur_model_set_command_line(m, cmdline) != 0 ||
        recur_model_set_numbers(m, "seed", &seed, 1) != 0 ||
        (r->annotate && r->annotate(r->ctx, m))) {
        recur_model_free(m);
        return NULL;
    }
    return m;
}

/* The checkpoint: -o rewritten with the full state, the one before kept as -o.prev (a hard
 * link, so that -o never goes missing and a damaged newest one still leaves one to resume). */
static int checkpoint(const recur_config_t *cfg, const recur_fit_t *f, const recur_cli_run_t *r)
{
    const char *out = r->opts->out;
    recur_model_t *m = new_model(cfg, r);
    int rc = m ? recur_fit_checkpoint(f, m) : RECUR_ENOMEM;
    char prev[4096];
    snprintf(prev, sizeof prev, "%s.prev", out);
    if (rc == 0 && access(out, F_OK) == 0) {
        remove(prev);
        if (link(out, prev) != 0)
            recur_info("could not keep %s: %s", prev, strerror(errno));
    }
    if (rc == 0)
        rc = recur_model_save(m, out);
    if (rc == 0) {
        recur_fit_status_t st;
        recur_fit_status(f, &st);
        recur_info("checkpoint: %s (epoch %zu, batch %zu, update %llu)", out, st.epoch, st.batch,
                   (unsigned long long)st.updates);
    }
    recur_model_free(m);
    return rc;
}

/* ---- The run --------------------------------------------------------------------------------- */

typedef struct {
    const recur_config_t *cfg;
    const recur_cli_run_t *r;
    recur_fit_t *f;
    runlog_t *log, *glog;
    progress_t prog;
    int rank, ranks;
    size_t since_ckpt;                 /* updates since the last checkpoint */
    uint64_t updates;                  /* the run's updates at the last look */
    double best_val_acc, last_val_acc; /* of the best and the last epoch this process ran */
} run_t;

/* After a batch: the progress line, and a checkpoint when one is due or a signal asks for it.
 * Returns 0, or the exit status to stop with. */
static int after_batch(run_t *u, double t_epoch, size_t first_batch)
{
    recur_fit_status_t st;
    recur_fit_status(u->f, &st);
    u->since_ckpt += (size_t)(st.updates - u->updates);
    u->updates = st.updates;
    if (u->prog.on) { /* this epoch's pace for its rest, the mean epoch for the others */
        const double el = progress_now() - t_epoch, done = (double)(st.batch - first_batch);
        const double per = el / (done > 0 ? done : 1);
        progress_draw(&u->prog, "train", st.epoch, st.epochs, st.batch, st.batches, st.loss,
                      per * (double)(st.batches - st.batch) +
                          per * (double)st.batches * (double)(st.epochs - st.epoch));
    }
    if (u->ranks > 1) { /* the ranks act on a signal together, at the same batch */
        double sig[2] = {got_term, got_usr1};
        if (recur_dist_sum_double(sig, 2) != 0)
            return RECUR_EXIT_ERROR;
        got_term = sig[0] > 0;
        got_usr1 = sig[1] > 0;
    }
    const size_t every = u->r->opts->checkpoint_every;
    if (!got_term && !got_usr1 && !(every && u->since_ckpt >= every))
        return 0;
    progress_clear(&u->prog);
    if (log_flush(u->glog) != 0 || log_flush(u->log) != 0) /* their lines reach the checkpoint */
        return RECUR_EXIT_ERROR;
    if (u->rank == 0 && checkpoint(u->cfg, u->f, u->r) != 0)
        return RECUR_EXIT_ERROR;
    u->since_ckpt = 0;
    got_usr1 = 0;
    if (got_term) {
        recur_info("stopped by SIGTERM; resume with --resume %s", u->r->opts->out);
        return 128 + SIGTERM;
    }
    return 0;
}

/* The epochs, until the loop is done. Returns the exit status. */
static int epochs(run_t *u)
{
    double run_seconds = 0;
    size_t epochs_here = 0;
    while (!recur_fit_done(u->f)) {
        const double t0 = progress_now();
        recur_fit_status_t st;
        recur_fit_status(u->f, &st);
        const size_t first = st.batch;
        int rc, xrc;
        while ((rc = recur_fit_next(u->f)) == 1)
            if ((xrc = after_batch(u, t0, first)) != 0)
                return xrc;
        if (rc == RECUR_EDIVERGED) /* logged by the trainer; -o stays as it was */
            return RECUR_EXIT_DIVERGED;
        if (rc < 0)
            return RECUR_EXIT_ERROR;
        recur_fit_epoch_t e;
        if (recur_fit_epoch_end(u->f, &e) < 0)
            return RECUR_EXIT_ERROR;
        progress_clear(&u->prog);
        const double sec = progress_now() - t0;
        run_seconds += sec;
        epochs_here++;
        /* ETA: the mean time of this process's epochs so far, times the epochs left */
        const double eta = run_seconds / (double)epochs_here * (double)(e.epochs - e.epoch);
        if (report_epoch(&e, sec, eta, u->log, u->r) != 0)
            return RECUR_EXIT_ERROR;
        u->last_val_acc = e.val_acc;
        if (e.best)
            u->best_val_acc = e.val_acc;
        if (e.stop)
            recur_info("early stop: no lower validation loss in %zu epochs", e.since_best);
    }
    return RECUR_EXIT_OK;
}

/* The model the run keeps, written to -o by rank 0. */
static int finish(run_t *u)
{
    recur_model_t *m = new_model(u->cfg, u->r);
    size_t epoch;
    bool best;
    int rc = m ? recur_fit_result(u->f, m, &epoch, &best) : RECUR_ENOMEM;
    if (rc == 0 && best)
        recur_info("keeping epoch %zu (the lowest validation loss)", epoch);
    /* NaN when the kept epoch ran before a resume: not known here */
    const double kept = best ? u->best_val_acc : u->last_val_acc;
    if (rc == 0 && u->r->baseline && kept < u->r->baseline_val_acc)
        recur_error("warning: the kept model's validation accuracy %.4f does not beat the %s "
                    "baseline's %.4f",
                    kept, u->r->baseline, u->r->baseline_val_acc);
    if (rc == 0 && u->rank == 0)
        rc = recur_model_save(m, u->r->opts->out);
    if (rc == 0 && u->rank == 0)
        recur_info("wrote %s", u->r->opts->out);
    recur_model_free(m);
    return rc == 0 ? RECUR_EXIT_OK : RECUR_EXIT_ERROR;
}

int recur_cli_train_run(const recur_config_t *cfg, const recur_real *params,
                        const recur_fit_data_t *data, gsl_rng *rng, const recur_cli_run_t *r)
{
    const recur_cli_train_t *o = r->opts;
    runlog_t log = {0}, glog = {0};
    run_t u = {
        .cfg = cfg, .r = r, .log = &log, .glog = &glog, .best_val_acc = NAN, .last_val_acc = NAN};
    u.rank = recur_dist_rank();
    u.ranks = recur_dist_size();
    int rc = RECUR_EXIT_ERROR;
    const size_t P = recur_param_count(cfg);
    recur_real *p0 = malloc(P * sizeof *p0);
    if (!p0) {
        recur_error("out of memory");
        goto out;
    }
    memcpy(p0, params, P * sizeof *p0);
    if (u.ranks > 1) { /* every rank starts from rank 0's weights */
        if (recur_dist_bcast_real(p0, P) != 0)
            goto out;
        recur_info("data parallel over %d ranks", u.ranks);
    }
    recur_fit_opts_t fo = *r->fit;
    const bool want_glog = o->grad_log && u.rank == 0; /* logs come from rank 0 only */
    if (want_glog) {
        fo.on_update = grad_log_line;
        fo.on_update_ctx = &glog;
    }
    recur_blas_set_threads((int)o->threads);
    if (!(u.f = recur_fit_alloc(cfg, p0, &fo, data, rng)))
        goto out;
    if (r->resume) {
        const int e = recur_fit_restore(u.f, r->resume, r->resume_path);
        if (e != 0) {
            rc = e == RECUR_EINVAL ? RECUR_EXIT_USAGE : RECUR_EXIT_ERROR;
            goto out;
        }
        recur_fit_status_t st;
        recur_fit_status(u.f, &st);
        recur_info("resuming %s at epoch %zu, batch %zu (update %llu)", r->resume_path, st.epoch,
                   st.batch + 1, (unsigned long long)st.updates);
    }
    recur_fit_status_t st;
    recur_fit_status(u.f, &st);
    u.updates = st.updates;
    if (fo.balance)
        recur_info("--class-weights auto: %zu rows per epoch (every class drawn up to the "
                   "largest)",
                   st.rows_per_epoch);
    /* resuming: the logs cut back to the epochs and the updates the checkpoint had made */
    if (u.rank == 0 && log_open(&log, o->log, r->resume != NULL, st.epoch - 1, "epoch") != 0)
        goto out;
    if (want_glog &&
        log_open(&glog, o->grad_log, r->resume != NULL, 1 + (size_t)st.updates, "update") != 0)
        goto out;
    if (glog.fp && !r->resume)
        fputs("update\tepoch\tloss\tgrad_norm\tgrad_norm_clipped\tskipped\n", glog.fp);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    progress_init(&u.prog, !o->quiet && u.rank == 0);
    rc = epochs(&u);
    if (rc == RECUR_EXIT_OK)
        rc = finish(&u);
out:
    progress_clear(&u.prog);
    if (rc != RECUR_EXIT_OK && rc != 128 + SIGTERM && u.ranks > 1)
        recur_dist_abort(rc); /* the other ranks would wait for this one forever */
    rc = log_close(&log, rc);
    rc = log_close(&glog, rc);
    recur_fit_free(u.f);
    free(p0);
    return rc;
}
