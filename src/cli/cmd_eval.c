/* cmd_eval.c - `recur eval`: metrics of a DNA classifier on labelled records (FASTA / BED /
 * SAM-BAM-CRAM, or an encoded dataset) as long-format TSV: accuracy, balanced accuracy, loss,
 * per-class precision / recall / F1 / support / AUROC / AUPRC, macro averages, confusion. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include <recur/baseline.h>
#include <recur/blas.h>
#include <recur/dataset.h>
#include <recur/dna.h>
#include <recur/infer.h>
#include <recur/metrics.h>
#include <recur/model.h>

#include "cmd_series.h"
#include "use.h"

enum { OPT_CLIMATOLOGY = RECUR_CLI_FIRST_FREE, OPT_RIDGE_LAMBDA, OPT_NO_RIDGE };

/* eval's own options. */
typedef struct {
    recur_cli_fc_opts_t fc;
} eval_opts_t;

static void usage_dna(FILE *fp)
{
    fprintf(
        fp,
        "Usage: recur eval -m MODEL (--fasta FILE:LABEL | --bed FILE --ref FASTA | --bam FILE\n"
        "                  | --data FILE) ... [-o FILE] [options]\n"
        "\n"
        "Forecasting (weather and climate series from HDF5 / netCDF-4) has its own options:\n"
        "see `recur eval --h5 FILE --help`.\n"
        "\n"
        "Scores a classifier on labelled records and writes its metrics as TSV: '#'\n"
        "provenance lines, the header metric<TAB>class<TAB>value, then one row per value.\n"
        "Records are encoded as the model was trained (options below override); labels are\n"
        "read as in `recur train` and must be among the model's classes. With windows, the\n"
        "probabilities of a record's windows are averaged and the record scored once.\n"
        "\n"
        "Rows (classify): class 'all' holds n, accuracy, balanced_accuracy (mean recall\n"
        "over the classes present), loss (mean cross-entropy) and the macro averages of\n"
        "precision, recall, f1, auroc and auprc (over the classes where they are defined);\n"
        "each class has precision, recall, f1, support, auroc and auprc (one-vs-rest); then\n"
        "metric 'confusion' with class 'true=A,pred=B' and the count of records of class A\n"
        "predicted as B, for every pair. Multilabel: accuracy is the share of record x label\n"
        "decisions right (p >= 0.5), subset_accuracy the share of records with every label\n"
        "right, balanced_accuracy the mean over labels of (recall + specificity) / 2, loss the\n"
        "mean binary cross-entropy; per label also tp, fp, fn and tn. AUROC: Mann-Whitney, ties\n"
        "count one half (the trapezoid rule). AUPRC: average precision (sklearn's definition,\n"
        "no interpolation). 'nan' where a value is undefined (e.g. no record of a class).\n"
        "\n"
        "Other models (regression, step heads; e.g. `recur simulate adding|copy`) are scored\n"
        "on an encoded dataset (--data) by their own loss: rows mse (regression: mean squared\n"
        "error per target) or loss (mean cross-entropy per term), accuracy (step classifiers:\n"
        "share of labelled steps whose largest output is the label), terms and records.\n"
        "\n"
        "Options:\n"
        "  -m, --model MODEL       the classifier\n"
        "  -o, --output FILE       write the TSV to FILE (default: standard output)\n"
        "  --revcomp-average       average each record's probabilities over both strands\n"
        "                          (default when the model was trained with --revcomp)\n"
        "  --no-revcomp-average    score the records as given only\n"
        "  --batch-size B          records per batch (default 64)\n"
        "%s"
        "\n"
        "Inputs:\n"
        "%s"
        "\n"
        "Exit status: 0 ok; 1 bad input or I/O error (including a model that is not a DNA\n"
        "classifier, or a label that is not one of its classes); 2 usage error.\n",
        recur_cli_use_help, recur_cli_input_help);
}

static void usage(FILE *fp, bool h5)
{
    (h5 ? recur_cli_series_eval_usage : usage_dna)(fp);
}

static int option(void *ctx, int c, const char *arg)
{
    eval_opts_t *o = ctx;
    switch (c) {
    case OPT_CLIMATOLOGY:
        if (strcmp(arg, "doy") != 0 && strcmp(arg, "month") != 0) {
            recur_error("--climatology: expected doy or month, got '%s'", arg);
            return RECUR_EINVAL;
        }
        o->fc.by_month = strcmp(arg, "month") == 0;
        return 0;
    case OPT_RIDGE_LAMBDA:
        return recur_cli_double("--ridge-lambda", arg, 1e-12, 1e12, &o->fc.ridge_lambda);
    default: /* OPT_NO_RIDGE */
        o->fc.no_ridge = true;
        return 0;
    }
}

/* Parses argv into u and o. Returns 0, 1 after --help (printed), or RECUR_EINVAL (logged). */
static int parse(int argc, char *argv[], recur_cli_use_t *u, eval_opts_t *o)
{
    static const recur_cli_use_opt_t own[] = {
        {"climatology", required_argument, OPT_CLIMATOLOGY, RECUR_CLI_USE_H5},
        {"ridge-lambda", required_argument, OPT_RIDGE_LAMBDA, RECUR_CLI_USE_H5},
        {"no-ridge", no_argument, OPT_NO_RIDGE, RECUR_CLI_USE_H5},
    };
    const recur_cli_use_cmd_t cmd = {.name = "eval",
                                     .opts = own,
                                     .n_opts = sizeof own / sizeof *own,
                                     .option = option,
                                     .ctx = o,
                                     .usage = usage,
                                     .batch = true,
                                     .strands = true};
    return recur_cli_use_parse(u, &cmd, argc, argv);
}

/* A value: 'nan' when undefined, else up to 9 significant digits. */
static void row(FILE *fp, const char *metric, const char *cls, double v)
{
    if (isnan(v))
        fprintf(fp, "%s\t%s\tnan\n", metric, cls);
    else
        fprintf(fp, "%s\t%s\t%.9g\n", metric, cls, v);
}

static void row_count(FILE *fp, const char *metric, const char *cls, uint64_t v)
{
    fprintf(fp, "%s\t%s\t%llu\n", metric, cls, (unsigned long long)v);
}

/* Models other than sequence classifiers, on an encoded dataset: the model's own loss (MSE for
 * regression), the number of terms and, for step classifiers, the accuracy per labelled step. */
static int eval_loss(const recur_cli_use_t *o, const recur_model_t *mod, int argc, char *argv[])
{
    const recur_config_t *cfg = recur_model_config(mod);
    recur_dataset_t *ds = recur_dataset_load(o->in.data);
    double loss, acc;
    size_t terms;
    int rc = RECUR_EXIT_ERROR;
    if (!ds)
        return rc;
    if (ds->F != cfg->input_size || ds->head != cfg->head || ds->task != cfg->task ||
        ds->O != cfg->num_outputs) {
        recur_error("%s: a %s dataset of %zu features and %zu outputs (%s head) does not fit %s "
                    "(%s, %zu features, %zu outputs, %s head)",
                    o->in.data, recur_task_name(ds->task), ds->F, ds->O, recur_head_name(ds->head),
                    o->model, recur_task_name(cfg->task), cfg->input_size, cfg->num_outputs,
                    recur_head_name(cfg->head));
        goto free_ds;
    }
    recur_blas_set_threads((int)o->threads);
    if (recur_infer_loss(cfg, recur_model_params_const(mod), ds, NULL, 0, o->batch_size, &loss,
                         &terms, &acc) != 0)
        goto free_ds;
    const char *dest = o->out && strcmp(o->out, "-") != 0 ? o->out : NULL;
    recur_outfile_t of;
    FILE *fp = recur_cli_out_open(dest, &of);
    if (!fp)
        goto free_ds;
    char cmdline[4096];
    recur_cli_join(cmdline, sizeof cmdline, argc, argv);
    fprintf(fp, "# recur %s: recur %s\n", RECUR_VERSION, cmdline);
    fprintf(fp, "# model %s: %s, %s head, %s H %zu L %zu%s\n", o->model, recur_task_name(cfg->task),
            recur_head_name(cfg->head), recur_cell_name(cfg->cell), cfg->hidden_size,
            cfg->num_layers, cfg->bidirectional ? " bidirectional" : "");
    fprintf(fp, "metric\tclass\tvalue\n");
    fprintf(fp, "%s\tall\t%.9g\n", cfg->task == RECUR_TASK_REGRESS ? "mse" : "loss", loss);
    if (cfg->task == RECUR_TASK_CLASSIFY)
        fprintf(fp, "accuracy\tall\t%.9g\n", acc);
    fprintf(fp, "terms\tall\t%zu\n", terms);
    fprintf(fp, "records\tall\t%zu\n", ds->N);
    rc = recur_cli_out_finish(fp, &of, RECUR_EXIT_OK);
free_ds:
    recur_dataset_free(ds);
    return rc;
}

static void print_metrics(FILE *fp, const recur_metrics_t *m, const char *const *classes)
{
    fputs("metric\tclass\tvalue\n", fp);
    row_count(fp, "n", "all", m->N);
    row(fp, "accuracy", "all", m->accuracy);
    if (m->multilabel)
        row(fp, "subset_accuracy", "all", m->subset_accuracy);
    row(fp, "balanced_accuracy", "all", m->balanced_accuracy);
    row(fp, "loss", "all", m->loss);
    row(fp, "precision", "all", m->macro_precision);
    row(fp, "recall", "all", m->macro_recall);
    row(fp, "f1", "all", m->macro_f1);
    row(fp, "auroc", "all", m->macro_auroc);
    row(fp, "auprc", "all", m->macro_auprc);
    for (size_t k = 0; k < m->K; k++) {
        row(fp, "precision", classes[k], m->precision[k]);
        row(fp, "recall", classes[k], m->recall[k]);
        row(fp, "f1", classes[k], m->f1[k]);
        row_count(fp, "support", classes[k], m->support[k]);
        row(fp, "auroc", classes[k], m->auroc[k]);
        row(fp, "auprc", classes[k], m->auprc[k]);
    }
    if (m->multilabel) {
        static const char *const what[4] = {"tp", "fp", "fn", "tn"};
        for (size_t k = 0; k < m->K; k++)
            for (size_t j = 0; j < 4; j++)
                row_count(fp, what[j], classes[k], m->confusion[k * 4 + j]);
        return;
    }
    for (size_t t = 0; t < m->K; t++)
        for (size_t q = 0; q < m->K; q++) {
            fprintf(fp, "confusion\ttrue=%s,pred=%s\t%llu\n", classes[t], classes[q],
                    (unsigned long long)m->confusion[t * m->K + q]);
        }
}

/* The headline rows of each baseline the model carries (recur/baseline.h), scored on the same
 * records as the model: metric baseline_<kind>_<name>, class all. */
typedef struct {
    const recur_dataset_t *ds;
    const recur_dna_set_t *set; /* rows to records, or NULL (a row is a record) */
    size_t n;                   /* records */
    const int32_t *y;           /* classify labels (n), or NULL */
    const float *t;             /* multilabel targets (n, O), or NULL */
    const unsigned char *tm;    /* (n, O) */
} scored_t;

static int print_baselines(FILE *fp, const recur_model_t *mod, const scored_t *sc)
{
    const recur_baselines_t *bs = recur_model_baselines(mod);
    const size_t O = recur_model_config(mod)->num_outputs, N = sc->ds->N;
    double *rows = NULL, *p = NULL;
    int rc = 0;
    for (size_t i = 0; bs && i < bs->n && rc == 0; i++) {
        const recur_baseline_t *b = &bs->b[i];
        const char *name = recur_baseline_name(b->kind);
        if (!recur_baseline_applies(b, sc->ds, NULL, N)) {
            recur_info("baseline %s: does not apply to these records (other lengths)", name);
            continue;
        }
        if (!rows && (!(rows = malloc((N ? N : 1) * O * sizeof *rows)) ||
                      !(p = malloc((sc->n ? sc->n : 1) * O * sizeof *p)))) {
            recur_error("out of memory");
            rc = RECUR_ENOMEM;
            break;
        }
        if ((rc = recur_baseline_predict(b, sc->ds, NULL, N, rows)) != 0)
            break;
        if (sc->set)
            recur_dna_record_mean(sc->set, rows, O, p);
        else
            memcpy(p, rows, N * O * sizeof *p);
        recur_metrics_t *m = sc->y ? recur_metrics_classify(p, sc->y, sc->n, O)
                                   : recur_metrics_multilabel(p, sc->t, sc->tm, sc->n, O);
        if (!m) {
            rc = RECUR_ENOMEM;
            break;
        }
        const struct {
            const char *what;
            double v;
        } r[] = {{"accuracy", m->accuracy},
                 {"subset_accuracy", m->subset_accuracy},
                 {"balanced_accuracy", m->balanced_accuracy},
                 {"loss", m->loss},
                 {"precision", m->macro_precision},
                 {"recall", m->macro_recall},
                 {"f1", m->macro_f1},
                 {"auroc", m->macro_auroc},
                 {"auprc", m->macro_auprc}};
        for (size_t j = 0; j < sizeof r / sizeof *r; j++) {
            if (j == 1 && !m->multilabel)
                continue;
            char metric[64];
            snprintf(metric, sizeof metric, "baseline_%s_%s", name, r[j].what);
            row(fp, metric, "all", r[j].v);
        }
        recur_metrics_free(m);
    }
    free(rows);
    free(p);
    return rc;
}

int main_eval(int argc, char *argv[])
{
    recur_cli_use_t u;
    recur_cli_use_init(&u, 64);
    eval_opts_t o = {.fc.ridge_lambda = 1.0};
    int rc = RECUR_EXIT_USAGE;
    recur_model_t *mod = NULL;
    recur_dna_set_t *set = NULL;
    recur_dataset_t *loaded = NULL;
    recur_metrics_t *met = NULL;
    double *p = NULL;         /* (n, O) per record */
    int32_t *y = NULL;        /* (n) classify labels per record */
    float *t = NULL;          /* (n, O) multilabel targets per record */
    unsigned char *tm = NULL; /* (n, O) */
    char **fallback = NULL;   /* (O) class names "0", "1", ... when the model has none */
    FILE *fp = NULL;
    recur_outfile_t of;
    size_t O = 0;

    const int pr = parse(argc, argv, &u, &o);
    if (pr != 0) {
        rc = pr > 0 ? RECUR_EXIT_OK : RECUR_EXIT_USAGE;
        goto out;
    }
    recur_log_set_quiet(u.quiet);
    if (recur_cli_use_h5(&u)) { /* HDF5 / netCDF-4 series: a forecaster */
        rc = recur_cli_series_eval(&u, &o.fc, argc, argv);
        goto out;
    }
    if (!(mod = recur_cli_use_model(&u, &rc)))
        goto out;
    rc = RECUR_EXIT_ERROR;
    const recur_config_t *cfg = recur_model_config(mod);
    O = cfg->num_outputs;
    if (cfg->head != RECUR_HEAD_SEQ || cfg->task == RECUR_TASK_REGRESS) {
        if (!u.in.data) {
            recur_error("%s: a %s model with a %s head; raw inputs need a classifier with one "
                        "output per record (give --data FILE)",
                        u.model, recur_task_name(cfg->task), recur_head_name(cfg->head));
            goto out;
        }
        rc = eval_loss(&u, mod, argc, argv);
        goto out;
    }
    const char *const *classes = recur_cli_use_classes(mod, &fallback);
    if (!classes)
        goto out;
    const bool rc_avg = recur_cli_use_strands(&u, mod);
    recur_blas_set_threads((int)u.threads);

    /* Rows, and the labels of each record (the first row of a record carries them). */
    const recur_dataset_t *ds;
    size_t n;
    if (u.in.data) {
        if (!(loaded = recur_dataset_load(u.in.data)))
            goto out;
        ds = loaded;
        if (ds->F != cfg->input_size || ds->head != RECUR_HEAD_SEQ || ds->task != cfg->task ||
            ds->O != O) {
            recur_error("%s: a %s dataset of %zu features and %zu outputs (%s head) does not "
                        "fit %s (%s, %zu features, %zu outputs)",
                        u.in.data, recur_task_name(ds->task), ds->F, ds->O,
                        recur_head_name(ds->head), u.model, recur_task_name(cfg->task),
                        cfg->input_size, O);
            goto out;
        }
        if (ds->classes)
            for (size_t k = 0; k < O; k++)
                if (!ds->classes[k] || strcmp(ds->classes[k], classes[k]) != 0) {
                    recur_error("%s: class %zu is '%s', the model's is '%s'", u.in.data, k,
                                ds->classes[k] ? ds->classes[k] : "", classes[k]);
                    goto out;
                }
        n = ds->N;
    } else {
        const int drc = recur_cli_use_dna(&u, mod, classes, O, false, &set);
        if (drc != 0) {
            rc = drc == RECUR_EINVAL ? RECUR_EXIT_USAGE : RECUR_EXIT_ERROR;
            goto out;
        }
        ds = set->ds;
        n = set->n_records;
    }
    p = malloc((n ? n : 1) * O * sizeof *p);
    if (!p)
        goto nomem;
    if (set ? recur_infer_records(cfg, recur_model_params_const(mod), set, u.batch_size, rc_avg,
                                  p) != 0
            : recur_infer_probs(cfg, recur_model_params_const(mod), ds, NULL, n, u.batch_size,
                                rc_avg, p) != 0)
        goto out;
    /* first row of each record */
    if (cfg->task == RECUR_TASK_CLASSIFY) {
        if (!(y = malloc((n ? n : 1) * sizeof *y)))
            goto nomem;
        for (size_t r = ds->N; r-- > 0;)
            y[set ? set->record[r] : r] = ds->labels[r];
        met = recur_metrics_classify(p, y, n, O);
    } else {
        t = malloc((n ? n : 1) * O * sizeof *t);
        tm = malloc((n ? n : 1) * O);
        if (!t || !tm)
            goto nomem;
        for (size_t r = ds->N; r-- > 0;) {
            const size_t i = set ? set->record[r] : r;
            memcpy(t + i * O, ds->targets + r * O, O * sizeof *t);
            if (ds->target_mask)
                memcpy(tm + i * O, ds->target_mask + r * O, O);
            else
                memset(tm + i * O, 1, O);
        }
        met = recur_metrics_multilabel(p, t, tm, n, O);
    }
    if (!met)
        goto out;

    /* a file is written under a temporary name and renamed when complete */
    const char *dest = u.out && strcmp(u.out, "-") != 0 ? u.out : NULL;
    if (!(fp = recur_cli_out_open(dest, &of)))
        goto out;
    char cmdline[4096];
    recur_cli_join(cmdline, sizeof cmdline, argc, argv);
    fprintf(fp, "# recur %s: recur %s\n", RECUR_VERSION, cmdline);
    fprintf(fp, "# model %s: %s, %s H %zu L %zu%s; strands averaged: %s\n", u.model,
            recur_task_name(cfg->task), recur_cell_name(cfg->cell), cfg->hidden_size,
            cfg->num_layers, cfg->bidirectional ? " bidirectional" : "", rc_avg ? "yes" : "no");
    print_metrics(fp, met, classes);
    const scored_t sc = {ds, set, n, y, t, tm};
    if (print_baselines(fp, mod, &sc) != 0)
        goto out;
    rc = RECUR_EXIT_OK;
    goto out;
nomem:
    recur_error("out of memory");
out:
    rc = recur_cli_out_finish(fp, &of, rc);
    recur_cli_use_free_names(fallback, O);
    recur_metrics_free(met);
    free(p);
    free(y);
    free(t);
    free(tm);
    recur_dataset_free(loaded);
    recur_dna_set_free(set);
    recur_model_free(mod);
    recur_cli_use_free(&u);
    return rc;
}
