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
#include "series_opts.h"

enum { OPT_MODEL = RECUR_CLI_FIRST_FREE, OPT_RC_AVG, OPT_NO_RC_AVG, OPT_BATCH_SIZE };

typedef struct {
    recur_cli_inputs_t in;
    const char *model, *out;
    size_t threads, batch_size;
    int rc_avg; /* -1: as the model was trained; 0 off; 1 on */
    bool quiet;
} predict_opts_t;

static void usage(FILE *fp)
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
            "  -@, --threads N         OpenBLAS and htslib decompression threads (default 1)\n"
            "  -q, --quiet             no information lines on stderr\n"
            "  -h, --help              this text\n"
            "\n"
            "Inputs:\n"
            "%s"
            "\n"
            "Exit status: 0 ok; 1 bad input or I/O error (including a model that is not a DNA\n"
            "classifier); 2 usage error.\n",
            recur_cli_input_help);
}

/* Parses argv into o. Returns 0, 1 after --help (printed), or RECUR_EINVAL (logged). */
static int parse(int argc, char *argv[], predict_opts_t *o)
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
        recur_error("unexpected argument '%s' (see 'recur predict --help')", argv[optind]);
        return RECUR_EINVAL;
    }
    if (!o->model)
        why = "missing -m MODEL";
    else if (!o->in.data && !o->in.n_in)
        why = "missing input: --fasta, --bed, --bam or --data";
    else if (o->in.data && strcmp(o->in.data, "-") == 0)
        why = "--data: the dataset cannot be read from standard input (HDF5 needs a file)";
    if (why) {
        recur_error("%s (see 'recur predict --help')", why);
        return RECUR_EINVAL;
    }
    return recur_cli_inputs_check(&o->in);
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
    if (recur_cli_series_requested(argc, argv)) /* HDF5 / netCDF-4 series: a forecaster */
        return main_predict_series(argc, argv);
    predict_opts_t o = {.threads = 1, .batch_size = 64, .rc_avg = -1};
    recur_cli_inputs_init(&o.in);
    int rc = RECUR_EXIT_USAGE;
    recur_model_t *m = NULL;
    recur_dna_set_t *set = NULL;
    recur_dataset_t *loaded = NULL;
    double *p = NULL;       /* (records, O) */
    char **fallback = NULL; /* (O) class names "0", "1", ... when the model has none */
    FILE *fp = NULL;
    size_t O = 0;

    const int pr = parse(argc, argv, &o);
    if (pr != 0) {
        rc = pr > 0 ? RECUR_EXIT_OK : RECUR_EXIT_USAGE;
        goto out;
    }
    recur_log_set_quiet(o.quiet);
    rc = RECUR_EXIT_ERROR;
    if (!(m = recur_model_load(o.model)))
        goto out;
    const recur_config_t *cfg = recur_model_config(m);
    O = cfg->num_outputs;
    if (o.in.n_in && recur_dna_model_check(m, o.model) != 0)
        goto out;
    if (cfg->head != RECUR_HEAD_SEQ || cfg->task == RECUR_TASK_REGRESS) {
        recur_error("%s: a %s model with a %s head; predict takes classifiers with one output "
                    "per record",
                    o.model, recur_task_name(cfg->task), recur_head_name(cfg->head));
        goto out;
    }
    size_t nc = 0;
    const char *const *classes = recur_model_strings(m, "classes", &nc);
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
    recur_dna_model_encoding(m, &enc);
    const bool rc_avg = o.rc_avg < 0 ? enc.revcomp : o.rc_avg == 1;
    recur_blas_set_threads((int)o.threads);

    size_t n = 0;
    const char *const *names = NULL;
    if (o.in.data) {
        if (!(loaded = recur_dataset_load(o.in.data)))
            goto out;
        if (loaded->F != cfg->input_size || loaded->head != RECUR_HEAD_SEQ) {
            recur_error("%s: %zu features per step with a %s head; %s takes %zu per step and "
                        "one output per record",
                        o.in.data, loaded->F, recur_head_name(loaded->head), o.model,
                        cfg->input_size);
            goto out;
        }
        n = loaded->N;
        names = (const char *const *)loaded->names;
    } else {
        recur_dna_opts_t d = o.in.dna;
        d.task = cfg->task;
        d.ignore_labels = true;
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
        n = set->n_records;
        names = (const char *const *)set->record_names;
        if (set->tiled)
            recur_info("%zu records longer than %zu bases: windows averaged", set->tiled,
                       d.max_len);
        if (set->truncated)
            recur_info("%zu records truncated to %zu bases", set->truncated, d.max_len);
        if (set->filtered)
            recur_info("%llu reads passed over by the filters", (unsigned long long)set->filtered);
    }
    if (!(p = malloc((n ? n : 1) * O * sizeof *p)))
        goto nomem;
    if ((set ? recur_infer_records(cfg, recur_model_params_const(m), set, o.batch_size, rc_avg, p)
             : recur_infer_probs(cfg, recur_model_params_const(m), loaded, NULL, n, o.batch_size,
                                 rc_avg, p)) != 0)
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
    fputs("name\tpred", fp);
    for (size_t k = 0; k < O; k++)
        fprintf(fp, "\tp_%s", classes[k]);
    fputc('\n', fp);
    for (size_t i = 0; i < n; i++) {
        char idx[32];
        snprintf(idx, sizeof idx, "%zu", i);
        print_row(fp, names && names[i] ? names[i] : idx, p + i * O, cfg, classes);
    }
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
    free(p);
    recur_dataset_free(loaded);
    recur_dna_set_free(set);
    recur_model_free(m);
    recur_cli_inputs_free(&o.in);
    return rc;
}
