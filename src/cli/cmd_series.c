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

enum {
    /* eval, predict, encode */
    OPT_BATCH_SIZE = RECUR_CLI_FIRST_FREE,
    OPT_SEED,
    OPT_SPLIT,
    OPT_CLIMATOLOGY,
    OPT_RIDGE_LAMBDA,
    OPT_NO_RIDGE,
    OPT_TSV,
    OPT_HEAD_ENC
};

/* ==== eval, predict, encode: options ========================================================== */

typedef struct {
    const char *model, *out;
    recur_split_t split;
    bool split_given, by_month, tsv, quiet, no_ridge;
    double ridge_lambda;
    size_t threads, batch_size;
    unsigned long seed;
    recur_head_t head; /* encode without a model */
} use_opts_t;

static void eval_usage(FILE *fp)
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
            "The variables, selections and encoding come from MODEL; --vars, --dataset,\n"
            "--select and --time-dim override them (e.g. another station of the same file).\n"
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
            "  -@, --threads N         OpenBLAS threads\n"
            "  --seed N                accepted for uniformity (nothing random here)\n"
            "  -q, --quiet             no summary on stderr\n"
            "  -h, --help              this text\n"
            "\n"
            "Exit status: 0 ok, 1 bad input or I/O error, 2 usage error.\n",
            recur_cli_series_help);
}

static void predict_usage(FILE *fp)
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
        "  -@, --threads N         OpenBLAS threads\n"
        "  --seed N                accepted for uniformity (nothing random here)\n"
        "  -q, --quiet             no summary on stderr\n"
        "  -h, --help              this text\n"
        "\n"
        "Exit status: 0 ok, 1 bad input or I/O error, 2 usage error.\n",
        recur_cli_series_help);
}

static void encode_usage(FILE *fp)
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

typedef enum { CMD_EVAL, CMD_PREDICT, CMD_ENCODE } use_cmd_t;

static int use_parse(use_cmd_t cmd, int argc, char *argv[], recur_cli_series_t *src, use_opts_t *o)
{
    static const struct option longopts[] = {
        RECUR_CLI_SERIES_LONGOPTS,
        RECUR_CLI_ENCODING_LONGOPTS,
        {"model", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'},
        {"split", required_argument, NULL, OPT_SPLIT},
        {"climatology", required_argument, NULL, OPT_CLIMATOLOGY},
        {"ridge-lambda", required_argument, NULL, OPT_RIDGE_LAMBDA},
        {"no-ridge", no_argument, NULL, OPT_NO_RIDGE},
        {"tsv", no_argument, NULL, OPT_TSV},
        {"head", required_argument, NULL, OPT_HEAD_ENC},
        {"batch-size", required_argument, NULL, OPT_BATCH_SIZE},
        {"seed", required_argument, NULL, OPT_SEED},
        {"threads", required_argument, NULL, '@'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const names[] = {"eval", "predict", "encode"};
    const char *name = names[cmd];
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":m:o:@:qh", longopts, NULL)) != -1) {
        const bool enc = c == RECUR_CLI_S_WINDOW || c == RECUR_CLI_S_HORIZON ||
                         c == RECUR_CLI_S_STRIDE || c == RECUR_CLI_S_VAL_FRACTION ||
                         c == RECUR_CLI_S_TEST_FRACTION || c == RECUR_CLI_S_CALENDAR ||
                         c == RECUR_CLI_S_MISSING_IND || c == RECUR_CLI_S_TARGET;
        const bool only_eval = c == OPT_CLIMATOLOGY || c == OPT_RIDGE_LAMBDA || c == OPT_NO_RIDGE;
        if ((enc && cmd != CMD_ENCODE) || (only_eval && cmd != CMD_EVAL) ||
            (c == OPT_TSV && cmd != CMD_PREDICT) || (c == OPT_HEAD_ENC && cmd != CMD_ENCODE) ||
            (c == OPT_BATCH_SIZE && cmd == CMD_ENCODE)) {
            const char *opt = "?";
            for (const struct option *l = longopts; l->name; l++)
                if (l->val == c)
                    opt = l->name;
            recur_error("option '--%s' does not apply to %s with --h5 (see 'recur %s --help')", opt,
                        name, name);
            return RECUR_EINVAL;
        }
        const int a = recur_cli_series_option(c, optarg, src);
        if (a < 0)
            return RECUR_EINVAL;
        if (a > 0)
            continue;
        int bad = 0;
        switch (c) {
        case 'm':
            o->model = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case OPT_SPLIT:
            if (recur_split_parse(optarg, &o->split) != 0) {
                recur_error("--split: expected train, val, test or all, got '%s'", optarg);
                bad = 1;
            }
            o->split_given = true;
            break;
        case OPT_CLIMATOLOGY:
            if (strcmp(optarg, "doy") == 0 || strcmp(optarg, "month") == 0)
                o->by_month = strcmp(optarg, "month") == 0;
            else {
                recur_error("--climatology: expected doy or month, got '%s'", optarg);
                bad = 1;
            }
            break;
        case OPT_RIDGE_LAMBDA:
            bad = recur_cli_double("--ridge-lambda", optarg, 1e-12, 1e12, &o->ridge_lambda);
            break;
        case OPT_NO_RIDGE:
            o->no_ridge = true;
            break;
        case OPT_TSV:
            o->tsv = true;
            break;
        case OPT_HEAD_ENC:
            if (recur_head_parse(optarg, &o->head) != 0) {
                recur_error("--head: expected seq or step, got '%s'", optarg);
                bad = 1;
            }
            break;
        case OPT_BATCH_SIZE:
            bad = recur_cli_size("--batch-size", optarg, 1, 1000000, &o->batch_size);
            break;
        case OPT_SEED:
            bad = recur_cli_ulong("--seed", optarg, &o->seed);
            break;
        case '@':
            bad = recur_cli_size("-@", optarg, 1, 1024, &o->threads);
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            (cmd == CMD_EVAL      ? eval_usage
             : cmd == CMD_PREDICT ? predict_usage
                                  : encode_usage)(stdout);
            return 1;
        default:
            recur_cli_bad_option(c, argv);
            return RECUR_EINVAL;
        }
        if (bad)
            return RECUR_EINVAL;
    }
    const char *why = NULL;
    if (optind < argc) {
        recur_error("unexpected argument '%s' (see 'recur %s --help')", argv[optind], name);
        return RECUR_EINVAL;
    }
    if ((why = recur_cli_series_check(src, cmd == CMD_ENCODE && !o->model)))
        ;
    else if (cmd != CMD_ENCODE && !o->model)
        why = "missing -m MODEL";
    else if (cmd == CMD_ENCODE && o->model && src->encoding_given)
        why = "the encoding comes from -m MODEL: drop the encoding options";
    else if (cmd != CMD_EVAL && !o->out)
        why = cmd == CMD_PREDICT ? "missing -o OUT" : "missing -o DATA";
    else if (o->out && strcmp(o->out, "-") == 0 && !(cmd == CMD_PREDICT && o->tsv))
        why = "-o: HDF5 cannot be written to standard output (HDF5 needs a file)";
    else if (o->model && strcmp(o->model, "-") == 0)
        why = "-m: the model cannot be read from standard input (HDF5 needs a file)";
    if (why) {
        recur_error("%s (see 'recur %s --help')", why, name);
        return RECUR_EINVAL;
    }
    return 0;
}

/* Model, encoding and series for eval and predict (and encode -m). */
static int open_model(recur_cli_series_t *src, const use_opts_t *o, recur_model_t **m,
                      recur_fc_t *fc, recur_series_t **s)
{
    if (!(*m = recur_model_load(o->model)))
        return RECUR_EFORMAT;
    if (!recur_fc_is_forecaster(*m)) {
        recur_error("%s: not a forecaster (no 'horizon' in /config): use it without --h5",
                    o->model);
        return RECUR_EFORMAT;
    }
    return recur_cli_series_load_for_model(src, *m, o->model, fc, s);
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

int main_eval_series(int argc, char *argv[])
{
    recur_cli_series_t src;
    recur_cli_series_init(&src);
    use_opts_t o = {
        .split = RECUR_SPLIT_TEST, .ridge_lambda = 1.0, .threads = 1, .batch_size = 256};
    int rc = RECUR_EXIT_USAGE;
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
    size_t n = 0;

    const int p = use_parse(CMD_EVAL, argc, argv, &src, &o);
    if (p != 0) {
        rc = p > 0 ? RECUR_EXIT_OK : RECUR_EXIT_USAGE;
        goto out;
    }
    recur_log_set_quiet(o.quiet);
    recur_blas_set_threads((int)o.threads);
    rc = RECUR_EXIT_ERROR;
    if (open_model(&src, &o, &m, &fc, &s) != 0 || recur_fc_check(&fc, s, src.h5, o.split) != 0 ||
        recur_fc_samples(&fc, s, o.split, &smp, &n) != 0)
        goto out;
    if (n == 0) {
        recur_error("%s: the %s split has no sample (window %zu + horizon %zu)", src.h5,
                    recur_split_name(o.split), fc.window, fc.horizon);
        goto out;
    }
    describe_samples(&fc, s, o.split, smp, n);
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
    if (recur_fc_predict(m, &fc, s, smp, n, o.batch_size, pred) != 0)
        goto out;
    if (!(clim = recur_fc_clim_fit(&fc, s, o.by_month)))
        goto out;
    if (!o.no_ridge)
        ridge = recur_fc_ridge_fit(&fc, s, o.ridge_lambda); /* NULL: skipped, logged */
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
    fp = o.out && strcmp(o.out, "-") != 0 ? fopen(o.out, "w") : stdout;
    if (!fp) {
        recur_error("%s: cannot open: %s", o.out, strerror(errno));
        goto out;
    }
    char cmdline[4096];
    fprintf(fp, "# recur %s: %s\n", RECUR_VERSION,
            recur_cli_command_line(cmdline, sizeof cmdline, argc, argv));
    fprintf(fp, "# model %s; series %s; split %s, %zu samples\n", o.model, src.h5,
            recur_split_name(o.split), n);
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
        const char *u = s->var_units[fc.out_var[t]];
        recur_info("MAE of %s%s%s%s on the %s split:", s->var_names[fc.out_var[t]],
                   u[0] ? " (" : "", u, u[0] ? ")" : "", recur_split_name(o.split));
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
    if (fflush(fp) != 0 || ferror(fp)) {
        recur_error("%s: cannot write: %s", o.out ? o.out : "standard output", strerror(errno));
        goto out;
    }
    rc = RECUR_EXIT_OK;
out:
    if (fp && fp != stdout && fclose(fp) != 0 && rc == RECUR_EXIT_OK) {
        recur_error("%s: cannot write: %s", o.out, strerror(errno));
        rc = RECUR_EXIT_ERROR;
    }
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
    recur_cli_series_release(&src);
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

int main_predict_series(int argc, char *argv[])
{
    recur_cli_series_t src;
    recur_cli_series_init(&src);
    use_opts_t o = {.split = RECUR_SPLIT_ALL, .threads = 1, .batch_size = 256};
    int rc = RECUR_EXIT_USAGE;
    recur_model_t *m = NULL;
    recur_fc_t fc = {0};
    recur_series_t *s = NULL;
    recur_fc_sample_t *smp = NULL;
    double *pred = NULL;
    FILE *fp = NULL;
    size_t n = 0;

    const int p = use_parse(CMD_PREDICT, argc, argv, &src, &o);
    if (p != 0) {
        rc = p > 0 ? RECUR_EXIT_OK : RECUR_EXIT_USAGE;
        goto out;
    }
    recur_log_set_quiet(o.quiet);
    recur_blas_set_threads((int)o.threads);
    rc = RECUR_EXIT_ERROR;
    if ((!o.tsv || strcmp(o.out, "-") != 0) && recur_cli_check_output(o.out) != 0)
        goto out;
    if (open_model(&src, &o, &m, &fc, &s) != 0 || recur_fc_check(&fc, s, src.h5, o.split) != 0 ||
        recur_fc_samples(&fc, s, o.split, &smp, &n) != 0)
        goto out;
    if (n == 0) {
        recur_error("%s: the %s split has no sample (window %zu + horizon %zu)", src.h5,
                    recur_split_name(o.split), fc.window, fc.horizon);
        goto out;
    }
    describe_samples(&fc, s, o.split, smp, n);
    if (!(pred = malloc(n * fc.O * sizeof *pred))) {
        recur_error("out of memory");
        goto out;
    }
    if (recur_fc_predict(m, &fc, s, smp, n, o.batch_size, pred) != 0)
        goto out;
    char cmdline[4096];
    recur_cli_command_line(cmdline, sizeof cmdline, argc, argv);
    if (!o.tsv) {
        if (recur_fc_write_predictions(o.out, &fc, s, smp, n, pred, cmdline, o.model) != 0)
            goto out;
    } else {
        fp = strcmp(o.out, "-") != 0 ? fopen(o.out, "w") : stdout;
        if (!fp) {
            recur_error("%s: cannot open: %s", o.out, strerror(errno));
            goto out;
        }
        if (write_tsv(fp, &fc, s, smp, n, pred, argc, argv) != 0)
            goto out;
        if (fflush(fp) != 0 || ferror(fp)) {
            recur_error("%s: cannot write: %s", o.out, strerror(errno));
            goto out;
        }
    }
    recur_info("wrote %zu forecasts of %zu steps to %s", n, fc.horizon,
               strcmp(o.out, "-") ? o.out : "standard output");
    rc = RECUR_EXIT_OK;
out:
    if (fp && fp != stdout && fclose(fp) != 0 && rc == RECUR_EXIT_OK) {
        recur_error("%s: cannot write: %s", o.out, strerror(errno));
        rc = RECUR_EXIT_ERROR;
    }
    free(pred);
    free(smp);
    recur_series_free(s);
    recur_fc_release(&fc);
    recur_model_free(m);
    recur_cli_series_release(&src);
    return rc;
}

/* ==== encode ================================================================================== */

int main_encode_series(int argc, char *argv[])
{
    recur_cli_series_t src;
    recur_cli_series_init(&src);
    use_opts_t o = {.split = RECUR_SPLIT_TRAIN, .threads = 1, .head = RECUR_HEAD_SEQ};
    int rc = RECUR_EXIT_USAGE;
    recur_model_t *m = NULL;
    recur_fc_t fc = {0};
    recur_series_t *s = NULL;
    recur_fc_sample_t *smp = NULL;
    recur_dataset_t *ds = NULL;
    size_t n = 0;

    const int p = use_parse(CMD_ENCODE, argc, argv, &src, &o);
    if (p != 0) {
        rc = p > 0 ? RECUR_EXIT_OK : RECUR_EXIT_USAGE;
        goto out;
    }
    recur_log_set_quiet(o.quiet);
    rc = RECUR_EXIT_ERROR;
    if (recur_cli_check_output(o.out) != 0)
        goto out;
    if (o.model) {
        if (open_model(&src, &o, &m, &fc, &s) != 0 || recur_fc_check(&fc, s, src.h5, o.split) != 0)
            goto out;
    } else if (recur_cli_series_load_fit(&src, &s, &fc) != 0) {
        goto out;
    }
    if (o.head == RECUR_HEAD_STEP) {
        if (!(ds = recur_fc_dataset_step(&fc, s, o.split)))
            goto out;
    } else {
        if (recur_fc_samples(&fc, s, o.split, &smp, &n) != 0)
            goto out;
        if (n == 0) {
            recur_error("%s: the %s split has no sample (window %zu + horizon %zu)", src.h5,
                        recur_split_name(o.split), fc.window, fc.horizon);
            goto out;
        }
        describe_samples(&fc, s, o.split, smp, n);
        if (!(ds = recur_fc_dataset_seq(&fc, s, smp, n)))
            goto out;
    }
    if (recur_dataset_save(ds, o.out) != 0)
        goto out;
    recur_info("wrote %zu records of %zu steps x %zu features, %zu outputs to %s", ds->N, ds->T,
               ds->F, ds->O, o.out);
    rc = RECUR_EXIT_OK;
out:
    recur_dataset_free(ds);
    free(smp);
    recur_series_free(s);
    recur_fc_release(&fc);
    recur_model_free(m);
    recur_cli_series_release(&src);
    return rc;
}
