/* cmd_series.c - the forecasting side of `recur eval | predict | encode`: series read from
 * HDF5 / netCDF-4 files (--h5), encoded into windows with training-split z-scores, a recurrent
 * forecaster trained with the shared engine, its forecasts scored next to the baselines. */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include <recur/blas.h>
#include <recur/dataset.h>
#include <recur/engine.h>
#include <recur/forecast.h>
#include <recur/h5series.h>
#include <recur/model.h>
#include <recur/optim.h>
#include <recur/train.h>

#include "cli.h"
#include "cmd_series.h"
#include "series_opts.h"

void recur_cli_series_eval_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: recur eval -m MODEL --h5 FILE [options]\n"
            "\n"
            "Scores a forecaster on a split of a series, next to three baselines computed by the\n"
            "same command: persistence (the last value of the window), climatology (training\n"
            "mean by day of year, +-15 days, or by month; by hour of day too for sub-daily\n"
            "series; per series) and ridge regression on the window (GSL). Prints TSV:\n"
            "  model  target  horizon  mae  rmse  skill_persistence  skill_climatology\n"
            "one block per model (recur, persistence, climatology, ridge), horizons 1..H and\n"
            "'all', in the target's physical units; skill = 1 - MSE / MSE of the baseline. A\n"
            "missing target counts in no metric. A side-by-side MAE table goes to stderr.\n"
            "The variables, selections and encoding come from MODEL; --dataset, --select and\n"
            "--time-dim choose where to read them (e.g. another station of the same file).\n"
            "\n"
            "%s\n"
            "Options:\n"
            "  -m, --model MODEL       a model written by `recur train --h5`\n"
            "  --split train|val|test|all  samples to score (default test)\n"
            "  --climatology doy|month climatology bins (default doy)\n"
            "  --ridge-lambda X        ridge penalty (default 1; 0 < X)\n"
            "  --no-ridge              skip the ridge baseline\n"
            "  --batch-size B          windows per forward pass (default 256)\n"
            "  -o, --output FILE       the TSV (default standard output)\n"
            "%s"
            "\n"
            "Exit status: 0 ok, 1 bad input or I/O error, 2 usage error.\n",
            recur_cli_series_help, recur_cli_use_help);
}

void recur_cli_series_predict_usage(FILE *fp)
{
    fprintf(
        fp,
        "Usage: recur predict -m MODEL --h5 FILE -o OUT [options]\n"
        "\n"
        "Forecasts of a forecaster for every sample of a split (default all: every issue\n"
        "time with a full window, up to the series' last step, whose forecasts reach past\n"
        "the data). The model's normalisation is applied to the inputs and undone on the\n"
        "outputs, so forecasts are in physical units. OUT is HDF5:\n"
        "  /forecast (N, H, targets), /truth (same, NaN where unknown), /issue_time (N) and\n"
        "  /valid_time (N, H) in seconds since 1970-01-01 (see their units attribute),\n"
        "  /issue_date, /valid_date (ISO 8601 strings), /series (N), /series_name,\n"
        "  /horizon, /target; root attributes format = recur-forecast, recur_cli_command_line.\n"
        "With --tsv, OUT (or standard output for '-') is long TSV instead:\n"
        "  series  issue_time  valid_time  horizon  target  forecast  truth\n"
        "\n"
        "%s\n"
        "Options:\n"
        "  -m, --model MODEL       a model written by `recur train --h5`\n"
        "  --split train|val|test|all  samples to forecast (default all)\n"
        "  --tsv                   write TSV instead of HDF5\n"
        "  --batch-size B          windows per forward pass (default 256)\n"
        "  -o, --output OUT        output file\n"
        "%s"
        "\n"
        "Exit status: 0 ok, 1 bad input or I/O error, 2 usage error.\n",
        recur_cli_series_help, recur_cli_use_help);
}

void recur_cli_series_encode_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: recur encode --h5 FILE (--vars A,B | --dataset PATH) -o DATA [options]\n"
            "       recur encode -m MODEL --h5 FILE -o DATA [--split S]\n"
            "\n"
            "Writes the encoded dataset of one split (default train) as the HDF5 dataset file\n"
            "that `recur train --data` reads (include/recur/dataset.h): task regress, x (N, W, F)\n"
            "z-scored with training-split statistics, targets (N, H x targets) with target_mask,\n"
            "names '<series>@<issue date>', classes = output names. --head step writes one record\n"
            "per series over the split instead. With -m, the encoding (and statistics) of MODEL.\n"
            "\n"
            "%s\n%s\n"
            "Options:\n"
            "  -m, --model MODEL       take the encoding from a forecaster\n"
            "  --split train|val|test|all  (default train)\n"
            "  --head seq|step         records per window (default) or per series\n"
            "  -o, --output DATA       dataset file (HDF5)\n"
            "  -@, --threads N, --seed N  accepted for uniformity\n"
            "  -q, --quiet             no summary on stderr\n"
            "  -h, --help              this text\n"
            "\n"
            "Exit status: 0 ok, 1 bad input or I/O error, 2 usage error.\n",
            recur_cli_series_help, recur_cli_encoding_help);
}

/* The encoding and series for forecaster m: the restated options checked (a conflict is
 * RECUR_EINVAL: exit 2). */
static int use_model(recur_cli_use_t *u, const recur_model_t *m, recur_fc_t *fc, recur_series_t **s)
{
    if (!recur_fc_is_forecaster(m)) {
        recur_error("%s: not a forecaster (no 'horizon' in /config): use it without --h5",
                    u->model);
        return RECUR_EFORMAT;
    }
    const int rc = recur_cli_use_restated(u, m, u->model);
    if (rc != 0)
        return rc;
    return recur_cli_series_load_for_model(&u->src, m, u->model, fc, s);
}

/* Model, encoding and series for eval, predict and encode -m. */
static int open_model(recur_cli_use_t *u, recur_model_t **m, recur_fc_t *fc, recur_series_t **s)
{
    if (!(*m = recur_model_load(u->model)))
        return RECUR_EFORMAT;
    return use_model(u, *m, fc, s);
}

/* The exit status of a failed open_model(). */
static int open_status(int rc)
{
    return rc == RECUR_EINVAL ? RECUR_EXIT_USAGE : RECUR_EXIT_ERROR;
}

/* "train split (N samples, issue times A .. B)" on stderr. */
static void describe_samples(const recur_fc_t *fc, const recur_series_t *s, recur_split_t sp,
                             const recur_fc_sample_t *smp, size_t n)
{
    if (n == 0)
        return;
    size_t tmin = smp[0].t;
    size_t tmax = tmin;
    for (size_t i = 1; i < n; i++) {
        tmin = smp[i].t < tmin ? smp[i].t : tmin;
        tmax = smp[i].t > tmax ? smp[i].t : tmax;
    }
    char a[48], b[48];
    recur_cli_series_step_label(s, tmin, a, sizeof a);
    recur_cli_series_step_label(s, tmax, b, sizeof b);
    recur_info("%s split: %zu samples (%zu series), issue times %s .. %s, horizon 1..%zu",
               recur_split_name(sp), n, s->S, a, b, fc->horizon);
}

/* ==== eval ==================================================================================== */

enum { M_RECUR, M_PERSIST, M_CLIM, M_RIDGE, N_MODELS };
static const char *const model_names[N_MODELS] = {"recur", "persistence", "climatology", "ridge"};

static void tsv_number(FILE *fp, double x)
{
    if (isfinite(x))
        fprintf(fp, "\t%.6g", x);
    else
        fputs("\tNA", fp);
}

/* The samples of split sp, or an error naming the split when it has none. */
static int split_samples(const recur_cli_use_t *u, const recur_fc_t *fc, const recur_series_t *s,
                         recur_split_t sp, recur_fc_sample_t **smp, size_t *n)
{
    if (recur_fc_check(fc, s, u->src.h5, sp) != 0 || recur_fc_samples(fc, s, sp, smp, n) != 0)
        return RECUR_EFORMAT;
    if (*n == 0) {
        recur_error("%s: the %s split has no sample (window %zu + horizon %zu)", u->src.h5,
                    recur_split_name(sp), fc->window, fc->horizon);
        return RECUR_EFORMAT;
    }
    describe_samples(fc, s, sp, *smp, *n);
    return 0;
}

int recur_cli_series_eval(recur_cli_use_t *u, const recur_cli_fc_opts_t *o, int argc, char *argv[])
{
    int rc = RECUR_EXIT_ERROR;
    recur_model_t *m = NULL;
    recur_fc_t fc = {0};
    recur_series_t *s = NULL;
    recur_fc_sample_t *smp = NULL;
    recur_fc_clim_t *clim = NULL;
    recur_fc_ridge_t *ridge = NULL;
    double *pred = NULL, *truth = NULL, *row = NULL;
    unsigned char *tm = NULL;
    recur_fc_metrics_t met[N_MODELS] = {{0}};
    FILE *fp = NULL;
    recur_outfile_t of;
    size_t n = 0;
    const recur_split_t split = u->split_given ? u->split : RECUR_SPLIT_TEST;
    const size_t batch = u->batch_given ? u->batch_size : 256;

    recur_blas_set_threads((int)u->threads);
    const int orc = open_model(u, &m, &fc, &s);
    if (orc != 0) {
        rc = open_status(orc);
        goto out;
    }
    if (split_samples(u, &fc, s, split, &smp, &n) != 0)
        goto out;
    const size_t O = fc.O;
    pred = malloc(n * O * sizeof *pred);
    truth = malloc(O * sizeof *truth);
    row = malloc(O * sizeof *row);
    tm = malloc(O);
    if (!pred || !truth || !row || !tm) {
        recur_error("out of memory");
        goto out;
    }
    for (int k = 0; k < N_MODELS; k++)
        if (recur_fc_metrics_init(&met[k], O) != 0)
            goto out;
    if (recur_fc_predict(m, &fc, s, smp, n, batch, pred) != 0)
        goto out;
    if (!(clim = recur_fc_clim_fit(&fc, s, o->by_month)))
        goto out;
    if (!o->no_ridge)
        ridge = recur_fc_ridge_fit(&fc, s, o->ridge_lambda); /* NULL: skipped, logged */
    for (size_t i = 0; i < n; i++) {
        recur_fc_truth(&fc, s, &smp[i], truth, tm);
        recur_fc_metrics_add(&met[M_RECUR], pred + i * O, truth, tm);
        recur_fc_persistence(&fc, s, &smp[i], row);
        recur_fc_metrics_add(&met[M_PERSIST], row, truth, tm);
        recur_fc_clim_predict(clim, &fc, s, &smp[i], row);
        recur_fc_metrics_add(&met[M_CLIM], row, truth, tm);
        if (ridge) {
            recur_fc_ridge_predict(ridge, &fc, s, &smp[i], row);
            recur_fc_metrics_add(&met[M_RIDGE], row, truth, tm);
        }
    }
    /* a file is written under a temporary name and renamed when complete */
    if (!(fp = recur_cli_out_open(u->out && strcmp(u->out, "-") != 0 ? u->out : NULL, &of)))
        goto out;
    char cmdline[4096];
    fprintf(fp, "# recur %s: %s\n", RECUR_VERSION,
            recur_cli_command_line(cmdline, sizeof cmdline, argc, argv));
    fprintf(fp, "# model %s; series %s; split %s, %zu samples\n", u->model, u->src.h5,
            recur_split_name(split), n);
    fputs("model\ttarget\thorizon\tmae\trmse\tskill_persistence\tskill_climatology\n", fp);
    for (int k = 0; k < N_MODELS; k++) {
        if (k == M_RIDGE && !ridge)
            continue;
        for (size_t t = 0; t < fc.n_out; t++)
            for (size_t h = 1; h <= fc.horizon + 1; h++) {
                const size_t hh = h <= fc.horizon ? h : 0; /* 0 = all */
                const double mse = recur_fc_mse(&met[k], &fc, t, hh);
                const double mp = recur_fc_mse(&met[M_PERSIST], &fc, t, hh);
                const double mc = recur_fc_mse(&met[M_CLIM], &fc, t, hh);
                fprintf(fp, "%s\t%s\t", model_names[k], s->var_names[fc.out_var[t]]);
                if (hh)
                    fprintf(fp, "%zu", hh);
                else
                    fputs("all", fp);
                tsv_number(fp, recur_fc_mae(&met[k], &fc, t, hh));
                tsv_number(fp, sqrt(mse));
                tsv_number(fp, mp > 0 ? 1 - mse / mp : NAN);
                tsv_number(fp, mc > 0 ? 1 - mse / mc : NAN);
                fputc('\n', fp);
            }
    }
    /* side by side on stderr */
    for (size_t t = 0; t < fc.n_out; t++) {
        const char *un = s->var_units[fc.out_var[t]];
        recur_info("MAE of %s%s%s%s on the %s split:", s->var_names[fc.out_var[t]],
                   un[0] ? " (" : "", un, un[0] ? ")" : "", recur_split_name(split));
        recur_info("  horizon     recur  persistence  climatology%s", ridge ? "     ridge" : "");
        for (size_t h = 1; h <= fc.horizon + 1; h++) {
            const size_t hh = h <= fc.horizon ? h : 0;
            char lab[24], rbuf[32] = "";
            if (hh)
                snprintf(lab, sizeof lab, "%zu", hh);
            else
                snprintf(lab, sizeof lab, "all");
            if (ridge)
                snprintf(rbuf, sizeof rbuf, "  %8.3f", recur_fc_mae(&met[M_RIDGE], &fc, t, hh));
            recur_info("  %-7s  %8.3f  %11.3f  %11.3f%s", lab,
                       recur_fc_mae(&met[M_RECUR], &fc, t, hh),
                       recur_fc_mae(&met[M_PERSIST], &fc, t, hh),
                       recur_fc_mae(&met[M_CLIM], &fc, t, hh), rbuf);
        }
    }
    rc = RECUR_EXIT_OK;
out:
    rc = recur_cli_out_finish(fp, &of, rc);
    for (int k = 0; k < N_MODELS; k++)
        recur_fc_metrics_release(&met[k]);
    free(pred);
    free(truth);
    free(row);
    free(tm);
    recur_fc_clim_free(clim);
    recur_fc_ridge_free(ridge);
    free(smp);
    recur_series_free(s);
    recur_fc_release(&fc);
    recur_model_free(m);
    return rc;
}

/* ==== predict ================================================================================= */

static int write_tsv(FILE *fp, const recur_fc_t *fc, const recur_series_t *s,
                     const recur_fc_sample_t *smp, size_t n, const double *pred, int argc,
                     char *argv[])
{
    char cmdline[4096], a[48], b[48];
    const size_t O = fc->O;
    double *truth = malloc(O * sizeof *truth);
    unsigned char *tm = malloc(O);
    if (!truth || !tm) {
        free(truth);
        free(tm);
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    const bool date_only = recur_fc_date_only(s);
    fprintf(fp, "# recur %s: %s\n", RECUR_VERSION,
            recur_cli_command_line(cmdline, sizeof cmdline, argc, argv));
    fputs("series\tissue_time\tvalid_time\thorizon\ttarget\tforecast\ttruth\n", fp);
    for (size_t i = 0; i < n; i++) {
        recur_fc_truth(fc, s, &smp[i], truth, tm);
        if (s->epoch)
            recur_time_format(s->epoch[smp[i].t], date_only, a, sizeof a);
        else
            snprintf(a, sizeof a, "%.10g", s->time[smp[i].t]);
        for (size_t k = 0; k < O; k++) {
            const size_t h = k / fc->n_out + 1, tt = smp[i].t + h;
            if (s->epoch)
                recur_time_format(recur_fc_epoch(s, (double)tt), date_only, b, sizeof b);
            else if (tt < s->T)
                snprintf(b, sizeof b, "%.10g", s->time[tt]);
            else
                snprintf(b, sizeof b, "+%zu", tt - (s->T - 1));
            const char *sn = s->series_names[smp[i].series];
            fprintf(fp, "%s\t%s\t%s\t%zu\t%s\t%.6g\t", sn[0] ? sn : "-", a, b, h,
                    s->var_names[fc->out_var[k % fc->n_out]], pred[i * O + k]);
            if (tm[k])
                fprintf(fp, "%.6g\n", truth[k]);
            else
                fputs("NA\n", fp);
        }
    }
    free(truth);
    free(tm);
    return 0;
}

int recur_cli_series_predict(recur_cli_use_t *u, const recur_cli_fc_opts_t *o, int argc,
                             char *argv[])
{
    int rc = RECUR_EXIT_ERROR;
    recur_model_t *m = NULL;
    recur_fc_t fc = {0};
    recur_series_t *s = NULL;
    recur_fc_sample_t *smp = NULL;
    double *pred = NULL;
    FILE *fp = NULL;
    recur_outfile_t of;
    size_t n = 0;
    const recur_split_t split = u->split_given ? u->split : RECUR_SPLIT_ALL;
    const size_t batch = u->batch_given ? u->batch_size : 256;
    const bool to_stdout = o->tsv && strcmp(u->out, "-") == 0;

    recur_blas_set_threads((int)u->threads);
    if (!to_stdout && recur_cli_check_output(u->out) != 0)
        goto out;
    const int orc = open_model(u, &m, &fc, &s);
    if (orc != 0) {
        rc = open_status(orc);
        goto out;
    }
    if (split_samples(u, &fc, s, split, &smp, &n) != 0)
        goto out;
    if (!(pred = malloc(n * fc.O * sizeof *pred))) {
        recur_error("out of memory");
        goto out;
    }
    if (recur_fc_predict(m, &fc, s, smp, n, batch, pred) != 0)
        goto out;
    char cmdline[4096];
    recur_cli_command_line(cmdline, sizeof cmdline, argc, argv);
    if (!o->tsv) {
        if (recur_fc_write_predictions(u->out, &fc, s, smp, n, pred, cmdline, u->model) != 0)
            goto out;
    } else {
        if (!(fp = recur_cli_out_open(to_stdout ? NULL : u->out, &of)) ||
            write_tsv(fp, &fc, s, smp, n, pred, argc, argv) != 0)
            goto out;
    }
    recur_info("wrote %zu forecasts of %zu steps to %s", n, fc.horizon,
               to_stdout ? "standard output" : u->out);
    rc = RECUR_EXIT_OK;
out:
    rc = recur_cli_out_finish(fp, &of, rc);
    free(pred);
    free(smp);
    recur_series_free(s);
    recur_fc_release(&fc);
    recur_model_free(m);
    return rc;
}

/* ==== encode ================================================================================== */

int recur_cli_series_encode(recur_cli_use_t *u)
{
    int rc = RECUR_EXIT_ERROR;
    recur_model_t *m = NULL;
    recur_fc_t fc = {0};
    recur_series_t *s = NULL;
    recur_fc_sample_t *smp = NULL;
    recur_dataset_t *ds = NULL;
    size_t n = 0;
    const recur_split_t split = u->split_given ? u->split : RECUR_SPLIT_TRAIN;
    recur_head_t head = recur_cli_use_arch_given(u, RECUR_CLI_HEAD) ? u->arch.head : RECUR_HEAD_SEQ;

    if (recur_cli_check_output(u->out) != 0)
        goto out;
    if (u->model) {
        const int orc = open_model(u, &m, &fc, &s);
        if (orc != 0) {
            rc = open_status(orc);
            goto out;
        }
        head = recur_model_config(m)->head;
        if (recur_fc_check(&fc, s, u->src.h5, split) != 0)
            goto out;
    } else if (recur_cli_series_load_fit(&u->src, &s, &fc) != 0) {
        goto out;
    }
    if (head == RECUR_HEAD_STEP) {
        if (!(ds = recur_fc_dataset_step(&fc, s, split)))
            goto out;
    } else if (split_samples(u, &fc, s, split, &smp, &n) != 0 ||
               !(ds = recur_fc_dataset_seq(&fc, s, smp, n))) {
        goto out;
    }
    if (recur_dataset_save(ds, u->out) != 0)
        goto out;
    recur_info("wrote %zu records of %zu steps x %zu features, %zu outputs to %s", ds->N, ds->T,
               ds->F, ds->O, u->out);
    rc = RECUR_EXIT_OK;
out:
    recur_dataset_free(ds);
    free(smp);
    recur_series_free(s);
    recur_fc_release(&fc);
    recur_model_free(m);
    return rc;
}

recur_dataset_t *recur_cli_series_dataset(recur_cli_use_t *u, recur_model_t *m, int *status)
{
    recur_fc_t fc = {0};
    recur_series_t *s = NULL;
    recur_fc_sample_t *smp = NULL;
    recur_dataset_t *ds = NULL;
    size_t n = 0;
    const recur_split_t split = u->split_given ? u->split : RECUR_SPLIT_TEST;
    *status = RECUR_EXIT_ERROR;
    const int rc = use_model(u, m, &fc, &s);
    if (rc != 0) {
        *status = open_status(rc);
        goto out;
    }
    if (recur_model_config(m)->head == RECUR_HEAD_STEP) {
        if (recur_fc_check(&fc, s, u->src.h5, split) == 0)
            ds = recur_fc_dataset_step(&fc, s, split);
    } else if (split_samples(u, &fc, s, split, &smp, &n) == 0) {
        ds = recur_fc_dataset_seq(&fc, s, smp, n);
    }
out:
    free(smp);
    recur_series_free(s);
    recur_fc_release(&fc);
    return ds;
}
