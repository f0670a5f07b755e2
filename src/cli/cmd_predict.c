/* cmd_predict.c - `recur predict`: a DNA classifier's class (or label) probabilities for every
 * record of FASTA / BED / SAM-BAM-CRAM inputs or of an encoded dataset, as TSV in input order:
 * windows averaged per record, both strands averaged when the model was trained with them. */
#include <errno.h>
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
#include "use.h"

enum { OPT_TSV = RECUR_CLI_FIRST_FREE };

/* predict's own options. */
typedef struct {
    recur_cli_fc_opts_t fc;
} predict_opts_t;

static void usage_dna(FILE *fp)
{
    fprintf(fp,
            "Usage: recur predict -m MODEL (--fasta FILE | --bed FILE --ref FASTA | --bam FILE\n"
            "                     | --data FILE) ... [-o FILE] [options]\n"
            "\n"
            "Forecasting (weather and climate series from HDF5 / netCDF-4) has its own options:\n"
            "see `recur predict --h5 FILE --help`.\n"
            "\n"
            "Writes the model's probabilities for every record as TSV, in input order: '#'\n"
            "provenance lines, then the header name<TAB>pred<TAB>p_<class>... and one row per\n"
            "record. pred is the most probable class (classify), or the labels with p >= 0.5\n"
            "joined by ',' ('-' when none; multilabel). Records are encoded as the model was\n"
            "trained (its max length, windows and N encoding; the options below override\n"
            "them). With windows, a record longer than the window is cut into windows whose\n"
            "probabilities are averaged: one row per record all the same. Labels are not needed\n"
            "and are ignored (FILE:LABEL, --labels).\n"
            "\n"
            "Options:\n"
            "  -m, --model MODEL       the classifier (recur train, or PyTorch's Net as README)\n"
            "  -o, --output FILE       write the TSV to FILE (default: standard output)\n"
            "  --revcomp-average       also run each record reverse-complemented and average the\n"
            "                          two probabilities (default when the model was trained\n"
            "                          with --revcomp)\n"
            "  --no-revcomp-average    run the records as given only\n"
            "  --batch-size B          records per batch (default 64)\n"
            "%s"
            "\n"
            "Inputs:\n"
            "%s"
            "\n"
            "Exit status: 0 ok; 1 bad input or I/O error (including a model that is not a DNA\n"
            "classifier); 2 usage error.\n",
            recur_cli_use_help, recur_cli_input_help);
}

static void usage(FILE *fp, bool h5)
{
    (h5 ? recur_cli_series_predict_usage : usage_dna)(fp);
}

static int option(void *ctx, int c, const char *arg)
{
    predict_opts_t *o = ctx;
    o->fc.tsv = c == OPT_TSV; /* predict's only own option */
    return 0;
}

/* Parses argv into u and o. Returns 0, 1 after --help (printed), or RECUR_EINVAL (logged). */
static int parse(int argc, char *argv[], recur_cli_use_t *u, predict_opts_t *o)
{
    static const recur_cli_use_opt_t own[] = {
        {"tsv", no_argument, OPT_TSV, RECUR_CLI_USE_H5},
    };
    const recur_cli_use_cmd_t cmd = {.name = "predict",
                                     .opts = own,
                                     .n_opts = sizeof own / sizeof *own,
                                     .option = option,
                                     .ctx = o,
                                     .usage = usage,
                                     .batch = true,
                                     .strands = true};
    const int rc = recur_cli_use_parse(u, &cmd, argc, argv);
    const char *why = NULL;
    if (rc != 0 || !recur_cli_use_h5(u))
        return rc;
    if (!u->out)
        why = "missing -o OUT";
    else if (strcmp(u->out, "-") == 0 && !o->fc.tsv)
        why = "-o: HDF5 cannot be written to standard output (HDF5 needs a file)";
    if (why) {
        recur_error("%s (see 'recur predict --help')", why);
        return RECUR_EINVAL;
    }
    return 0;
}

/* One TSV row: name, prediction, probabilities. */
static void print_row(FILE *fp, const char *name, const double *p, const recur_config_t *cfg,
                      const char *const *classes)
{
    const size_t O = cfg->num_outputs;
    fprintf(fp, "%s\t", name);
    if (cfg->task == RECUR_TASK_CLASSIFY) {
        fputs(classes[recur_metrics_argmax(p, O)], fp);
    } else {
        bool any = false;
        for (size_t k = 0; k < O; k++)
            if (p[k] >= 0.5) {
                fprintf(fp, "%s%s", any ? "," : "", classes[k]);
                any = true;
            }
        if (!any)
            fputc('-', fp);
    }
    for (size_t k = 0; k < O; k++)
        fprintf(fp, "\t%.9g", p[k]);
    fputc('\n', fp);
}

int main_predict(int argc, char *argv[])
{
    recur_cli_use_t u;
    recur_cli_use_init(&u, 64);
    predict_opts_t o = {.fc.tsv = false};
    int rc = RECUR_EXIT_USAGE;
    recur_model_t *m = NULL;
    recur_dna_set_t *set = NULL;
    recur_dataset_t *loaded = NULL;
    double *p = NULL;       /* (records, O) */
    char **fallback = NULL; /* (O) class names "0", "1", ... when the model has none */
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
        rc = recur_cli_series_predict(&u, &o.fc, argc, argv);
        goto out;
    }
    if (!(m = recur_cli_use_model(&u, &rc)))
        goto out;
    rc = RECUR_EXIT_ERROR;
    const recur_config_t *cfg = recur_model_config(m);
    O = cfg->num_outputs;
    if (cfg->head != RECUR_HEAD_SEQ || cfg->task == RECUR_TASK_REGRESS) {
        recur_error("%s: a %s model with a %s head; predict takes classifiers with one output "
                    "per record",
                    u.model, recur_task_name(cfg->task), recur_head_name(cfg->head));
        goto out;
    }
    const char *const *classes = recur_cli_use_classes(m, &fallback);
    if (!classes)
        goto out;
    const bool rc_avg = recur_cli_use_strands(&u, m);
    recur_blas_set_threads((int)u.threads);

    size_t n = 0;
    const char *const *names = NULL;
    if (u.in.data) {
        if (!(loaded = recur_dataset_load(u.in.data)))
            goto out;
        if (loaded->F != cfg->input_size || loaded->head != RECUR_HEAD_SEQ) {
            recur_error("%s: %zu features per step with a %s head; %s takes %zu per step and "
                        "one output per record",
                        u.in.data, loaded->F, recur_head_name(loaded->head), u.model,
                        cfg->input_size);
            goto out;
        }
        n = loaded->N;
        names = (const char *const *)loaded->names;
    } else {
        const int drc = recur_cli_use_dna(&u, m, classes, O, true, &set);
        if (drc != 0) {
            rc = drc == RECUR_EINVAL ? RECUR_EXIT_USAGE : RECUR_EXIT_ERROR;
            goto out;
        }
        n = set->n_records;
        names = (const char *const *)set->record_names;
    }
    if (!(p = malloc((n ? n : 1) * O * sizeof *p)))
        goto nomem;
    if ((set ? recur_infer_records(cfg, recur_model_params_const(m), set, u.batch_size, rc_avg, p)
             : recur_infer_probs(cfg, recur_model_params_const(m), loaded, NULL, n, u.batch_size,
                                 rc_avg, p)) != 0)
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
    fputs("name\tpred", fp);
    for (size_t k = 0; k < O; k++)
        fprintf(fp, "\tp_%s", classes[k]);
    fputc('\n', fp);
    for (size_t i = 0; i < n; i++) {
        char idx[32];
        snprintf(idx, sizeof idx, "%zu", i);
        print_row(fp, names && names[i] ? names[i] : idx, p + i * O, cfg, classes);
    }
    rc = RECUR_EXIT_OK;
    goto out;
nomem:
    recur_error("out of memory");
out:
    rc = recur_cli_out_finish(fp, &of, rc);
    recur_cli_use_free_names(fallback, O);
    free(p);
    recur_dataset_free(loaded);
    recur_dna_set_free(set);
    recur_model_free(m);
    recur_cli_use_free(&u);
    return rc;
}
