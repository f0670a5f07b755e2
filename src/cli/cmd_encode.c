/* cmd_encode.c - `recur encode`: DNA records (FASTA / BED / SAM-BAM-CRAM) with their labels to
 * the encoded dataset file (HDF5, include/recur/dataset.h) that train, eval and predict accept
 * as --data and numpy users read with h5py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include <recur/dataset.h>
#include <recur/dna.h>
#include <recur/model.h>

#include "cmd_series.h"
#include "series_opts.h"

typedef struct {
    recur_cli_inputs_t in;
    const char *out, *model, *task_opt;
    size_t threads;
    bool quiet;
} encode_opts_t;

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: recur encode (--fasta FILE[:LABEL] | --bed FILE --ref FASTA | --bam FILE)\n"
            "                    ... -o FILE.h5 [options]\n"
            "\n"
            "Forecasting (weather and climate series from HDF5 / netCDF-4) has its own options:\n"
            "see `recur encode --h5 FILE --help`.\n"
            "\n"
            "Reads and labels DNA records as `recur train` does and writes the encoded dataset:\n"
            "HDF5 with /x float32 (N, T, 4) one-hot A, C, G, T (N and other IUPAC codes 0.25),\n"
            "/mask uint8 (N, T), /labels int32 (N) (classify) or /targets float32 (N, O) with\n"
            "/target_mask (multilabel), /names (N) and /classes (O) as strings; root attributes\n"
            "format = \"recur-dataset\", format_version, task, num_outputs. Rows are records, or\n"
            "windows named name:start-end with --windows. Any record without a label is an error\n"
            "(or skipped with --skip-unlabelled). The file is written to a temporary name and\n"
            "renamed.\n"
            "\n"
            "Options:\n"
            "  -o, --output FILE.h5    dataset to write\n"
            "  --task classify|multilabel\n"
            "                          one label per record, or several (default classify)\n"
            "  -m, --model MODEL       take the task, the classes (in the model's order; other\n"
            "                          labels are an error) and the encoding from MODEL, so that\n"
            "                          the dataset fits it (the options here override the\n"
            "                          encoding)\n"
            "  -@, --threads N         htslib decompression threads (default 1)\n"
            "  -q, --quiet             no information lines on stderr\n"
            "  -h, --help              this text\n"
            "\n"
            "Inputs:\n"
            "%s"
            "\n"
            "Exit status: 0 ok; 1 bad input or I/O error; 2 usage error.\n",
            recur_cli_input_help);
}

/* Parses argv into o. Returns 0, 1 after --help (printed), or RECUR_EINVAL (logged). */
static int parse(int argc, char *argv[], encode_opts_t *o)
{
    static const struct option longopts[] = {
        RECUR_CLI_INPUT_LONGOPTS,
        {"output", required_argument, NULL, 'o'},
        {"model", required_argument, NULL, 'm'},
        {"task", required_argument, NULL, RECUR_CLI_TASK},
        {"threads", required_argument, NULL, '@'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:m:@:qh", longopts, NULL)) != -1) {
        const int in = recur_cli_input_option(c, optarg, &o->in);
        if (in < 0)
            return RECUR_EINVAL;
        if (in > 0)
            continue;
        int bad = 0;
        switch (c) {
        case 'o':
            o->out = optarg;
            break;
        case 'm':
            o->model = optarg;
            break;
        case RECUR_CLI_TASK:
            if (recur_task_parse(optarg, &o->in.dna.task) != 0 ||
                o->in.dna.task == RECUR_TASK_REGRESS) {
                recur_error("--task: expected classify or multilabel, got '%s'", optarg);
                bad = 1;
            }
            o->task_opt = optarg;
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
        recur_error("unexpected argument '%s' (see 'recur encode --help')", argv[optind]);
        return RECUR_EINVAL;
    }
    if (o->in.data)
        why = "--data: already an encoded dataset";
    else if (!o->in.n_in)
        why = "missing input: --fasta, --bed or --bam";
    else if (!o->out)
        why = "missing -o FILE.h5";
    else if (strcmp(o->out, "-") == 0)
        why = "-o: the dataset cannot be written to standard output (HDF5 needs a file)";
    else if (o->in.dna.windows && !o->in.dna.max_len && !o->model)
        why = "--windows needs --max-len N (the window length)";
    else if (o->model && o->task_opt)
        why = "--task: comes from the model (-m)";
    if (why) {
        recur_error("%s (see 'recur encode --help')", why);
        return RECUR_EINVAL;
    }
    return recur_cli_inputs_check(&o->in);
}

int main_encode(int argc, char *argv[])
{
    if (recur_cli_series_requested(argc, argv)) /* HDF5 / netCDF-4 series: a forecaster */
        return main_encode_series(argc, argv);
    encode_opts_t o = {.threads = 1};
    recur_cli_inputs_init(&o.in);
    int rc = RECUR_EXIT_USAGE;
    recur_model_t *m = NULL;
    recur_dna_set_t *set = NULL;

    const int pr = parse(argc, argv, &o);
    if (pr != 0) {
        rc = pr > 0 ? RECUR_EXIT_OK : RECUR_EXIT_USAGE;
        goto out;
    }
    recur_log_set_quiet(o.quiet);
    rc = RECUR_EXIT_ERROR;
    recur_dna_opts_t d = o.in.dna;
    d.seq.threads = o.threads > 1 ? (int)o.threads : 0;
    if (o.model) {
        if (!(m = recur_model_load(o.model)) || recur_dna_model_check(m, o.model) != 0)
            goto out;
        recur_dna_encoding_t enc;
        recur_dna_model_encoding(m, &enc);
        d.task = recur_model_config(m)->task;
        d.classes = recur_model_strings(m, "classes", &d.n_classes);
        if (d.classes && d.n_classes != recur_model_config(m)->num_outputs)
            d.classes = NULL;
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
    }
    if (!(set = recur_dna_read(o.in.in, o.in.n_in, &d)))
        goto out;
    if (set->skipped)
        recur_info("skipped %zu records without a label", set->skipped);
    if (set->truncated)
        recur_info("truncated %zu records to %zu bases", set->truncated, d.max_len);
    if (set->tiled)
        recur_info("tiled %zu records into windows of %zu bases", set->tiled, d.max_len);
    if (set->filtered)
        recur_info("%llu reads passed over by the filters", (unsigned long long)set->filtered);
    if (recur_dataset_save(set->ds, o.out) != 0)
        goto out;
    recur_info("wrote %s: %zu rows from %zu records, up to %zu steps, %zu %s", o.out, set->ds->N,
               set->n_records, set->ds->T, set->ds->O,
               d.task == RECUR_TASK_CLASSIFY ? "classes" : "labels");
    rc = RECUR_EXIT_OK;
out:
    recur_dna_set_free(set);
    recur_model_free(m);
    recur_cli_inputs_free(&o.in);
    return rc;
}
