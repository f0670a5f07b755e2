/* cmd_eval.c - `recur eval`: metrics of a DNA classifier on labelled records (FASTA / BED /
 * SAM-BAM-CRAM, or an encoded dataset) as long-format TSV: accuracy, balanced accuracy, loss,
 * per-class precision / recall / F1 / support / AUROC / AUPRC, macro averages, confusion. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include <recur/blas.h>
#include <recur/dataset.h>
#include <recur/dna.h>
#include <recur/infer.h>
#include <recur/metrics.h>
#include <recur/model.h>

#include "cmd_series.h"
#include "series_opts.h"

enum { OPT_RC_AVG = RECUR_CLI_FIRST_FREE, OPT_NO_RC_AVG, OPT_BATCH_SIZE };

typedef struct {
    recur_cli_inputs_t in;
    const char *model, *out;
    size_t threads, batch_size;
    int rc_avg; /* -1: as the model was trained; 0 off; 1 on */
    bool quiet;
} eval_opts_t;

static void usage(FILE *fp)
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
        "  -@, --threads N         OpenBLAS and htslib decompression threads (default 1)\n"
        "  -q, --quiet             no information lines on stderr\n"
        "  -h, --help              this text\n"
        "\n"
        "Inputs:\n"
        "%s"
        "\n"
        "Exit status: 0 ok; 1 bad input or I/O error (including a model that is not a DNA\n"
        "classifier, or a label that is not one of its classes); 2 usage error.\n",
        recur_cli_input_help);
}

/* Parses argv into o. Returns 0, 1 after --help (printed), or RECUR_EINVAL (logged). */
static int parse(int argc, char *argv[], eval_opts_t *o)
{
    static const struct option longopts[] = {
        RECUR_CLI_INPUT_LONGOPTS,
        {"model", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'},
        {"revcomp-average", no_argument, NULL, OPT_RC_AVG},
        {"no-revcomp-average", no_argument, NULL, OPT_NO_RC_AVG},
        {"batch-size", required_argument, NULL, OPT_BATCH_SIZE},
        {"threads", required_argument, NULL, '@'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":m:o:@:qh", longopts, NULL)) != -1) {
        const int in = recur_cli_input_option(c, optarg, &o->in);
        if (in < 0)
            return RECUR_EINVAL;
        if (in > 0)
            continue;
        int bad = 0;
        switch (c) {
        case 'm':
            o->model = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case OPT_RC_AVG:
            o->rc_avg = 1;
            break;
        case OPT_NO_RC_AVG:
            o->rc_avg = 0;
            break;
        case OPT_BATCH_SIZE:
            bad = recur_cli_size("--batch-size", optarg, 1, 1000000, &o->batch_size);
            break;
        case '@':
            bad = recur_cli_size("-@", optarg, 1, 1024, &o->threads);
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            usage(stdout);
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
        recur_error("unexpected argument '%s' (see 'recur eval --help')", argv[optind]);
        return RECUR_EINVAL;
    }
    if (!o->model)
        why = "missing -m MODEL";
    else if (!o->in.data && !o->in.n_in)
        why = "missing input: --fasta, --bed, --bam or --data";
    else if (o->in.data && strcmp(o->in.data, "-") == 0)
        why = "--data: the dataset cannot be read from standard input (HDF5 needs a file)";
    if (why) {
        recur_error("%s (see 'recur eval --help')", why);
        return RECUR_EINVAL;
    }
    return recur_cli_inputs_check(&o->in);
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
static int eval_loss(const eval_opts_t *o, const recur_model_t *mod, int argc, char *argv[])
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

int main_eval(int argc, char *argv[])
{
    if (recur_cli_series_requested(argc, argv)) /* HDF5 / netCDF-4 series: a forecaster */
        return main_eval_series(argc, argv);
    eval_opts_t o = {.threads = 1, .batch_size = 64, .rc_avg = -1};
    recur_cli_inputs_init(&o.in);
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
    size_t O = 0;

    const int pr = parse(argc, argv, &o);
    if (pr != 0) {
        rc = pr > 0 ? RECUR_EXIT_OK : RECUR_EXIT_USAGE;
        goto out;
    }
    recur_log_set_quiet(o.quiet);
    rc = RECUR_EXIT_ERROR;
    if (!(mod = recur_model_load(o.model)))
        goto out;
    const recur_config_t *cfg = recur_model_config(mod);
    O = cfg->num_outputs;
    if (o.in.n_in && recur_dna_model_check(mod, o.model) != 0)
        goto out;
    if (cfg->head != RECUR_HEAD_SEQ || cfg->task == RECUR_TASK_REGRESS) {
        if (!o.in.data) {
            recur_error("%s: a %s model with a %s head; raw inputs need a classifier with one "
                        "output per record (give --data FILE)",
                        o.model, recur_task_name(cfg->task), recur_head_name(cfg->head));
            goto out;
        }
        rc = eval_loss(&o, mod, argc, argv);
        goto out;
    }
    size_t nc = 0;
    const char *const *classes = recur_model_strings(mod, "classes", &nc);
    if (!classes || nc != O) {
        if (!(fallback = calloc(O, sizeof *fallback)))
            goto nomem;
        for (size_t k = 0; k < O; k++) {
            char buf[32];
            snprintf(buf, sizeof buf, "%zu", k);
            if (!(fallback[k] = strdup(buf)))
                goto nomem;
        }
        classes = (const char *const *)fallback;
    }
    recur_dna_encoding_t enc;
    recur_dna_model_encoding(mod, &enc);
    const bool rc_avg = o.rc_avg < 0 ? enc.revcomp : o.rc_avg == 1;
    recur_blas_set_threads((int)o.threads);

    /* Rows, and the labels of each record (the first row of a record carries them). */
    const recur_dataset_t *ds;
    size_t n;
    if (o.in.data) {
        if (!(loaded = recur_dataset_load(o.in.data)))
            goto out;
        ds = loaded;
        if (ds->F != cfg->input_size || ds->head != RECUR_HEAD_SEQ || ds->task != cfg->task ||
            ds->O != O) {
            recur_error("%s: a %s dataset of %zu features and %zu outputs (%s head) does not "
                        "fit %s (%s, %zu features, %zu outputs)",
                        o.in.data, recur_task_name(ds->task), ds->F, ds->O,
                        recur_head_name(ds->head), o.model, recur_task_name(cfg->task),
                        cfg->input_size, O);
            goto out;
        }
        if (ds->classes)
            for (size_t k = 0; k < O; k++)
                if (!ds->classes[k] || strcmp(ds->classes[k], classes[k]) != 0) {
                    recur_error("%s: class %zu is '%s', the model's is '%s'", o.in.data, k,
                                ds->classes[k] ? ds->classes[k] : "", classes[k]);
                    goto out;
                }
        n = ds->N;
    } else {
        recur_dna_opts_t d = o.in.dna;
        d.task = cfg->task;
        d.classes = classes;
        d.n_classes = O;
        d.seq.threads = o.threads > 1 ? (int)o.threads : 0;
        if (!recur_cli_input_given(&o.in, RECUR_CLI_IN_MAX_LEN))
            d.max_len = enc.max_len;
        if (!recur_cli_input_given(&o.in, RECUR_CLI_IN_WINDOWS))
            d.windows = enc.windows;
        if (!recur_cli_input_given(&o.in, RECUR_CLI_IN_N_ZERO))
            d.n_zero = enc.n_zero;
        if (d.windows && !d.max_len) {
            recur_error("--windows needs --max-len N (the model has no window length)");
            rc = RECUR_EXIT_USAGE;
            goto out;
        }
        if (!(set = recur_dna_read(o.in.in, o.in.n_in, &d)))
            goto out;
        ds = set->ds;
        n = set->n_records;
        if (set->skipped)
            recur_info("skipped %zu records without a label", set->skipped);
        if (set->tiled)
            recur_info("%zu records longer than %zu bases: windows averaged", set->tiled,
                       d.max_len);
        if (set->truncated)
            recur_info("%zu records truncated to %zu bases", set->truncated, d.max_len);
        if (set->filtered)
            recur_info("%llu reads passed over by the filters", (unsigned long long)set->filtered);
    }
    p = malloc((n ? n : 1) * O * sizeof *p);
    if (!p)
        goto nomem;
    if (set ? recur_infer_records(cfg, recur_model_params_const(mod), set, o.batch_size, rc_avg,
                                  p) != 0
            : recur_infer_probs(cfg, recur_model_params_const(mod), ds, NULL, n, o.batch_size,
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
    const char *dest = o.out && strcmp(o.out, "-") != 0 ? o.out : NULL;
    recur_outfile_t of;
    if (!(fp = recur_cli_out_open(dest, &of)))
        goto out;
    char cmdline[4096];
    recur_cli_join(cmdline, sizeof cmdline, argc, argv);
    fprintf(fp, "# recur %s: recur %s\n", RECUR_VERSION, cmdline);
    fprintf(fp, "# model %s: %s, %s H %zu L %zu%s; strands averaged: %s\n", o.model,
            recur_task_name(cfg->task), recur_cell_name(cfg->cell), cfg->hidden_size,
            cfg->num_layers, cfg->bidirectional ? " bidirectional" : "", rc_avg ? "yes" : "no");
    print_metrics(fp, met, classes);
    rc = recur_cli_out_finish(fp, &of, RECUR_EXIT_OK);
    fp = NULL;
    goto out;
nomem:
    recur_error("out of memory");
out:
    if (fp && fp != stdout)
        fclose(fp);
    if (fallback)
        for (size_t k = 0; k < O; k++)
            free(fallback[k]);
    free(fallback);
    recur_metrics_free(met);
    free(p);
    free(y);
    free(t);
    free(tm);
    recur_dataset_free(loaded);
    recur_dna_set_free(set);
    recur_model_free(mod);
    recur_cli_inputs_free(&o.in);
    return rc;
}
