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
#include "use.h"

static void usage_dna(FILE *fp)
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
            "%s"
            "\n"
            "Inputs:\n"
            "%s"
            "\n"
            "Exit status: 0 ok; 1 bad input or I/O error; 2 usage error.\n",
            recur_cli_use_help, recur_cli_input_help);
}

static void usage(FILE *fp, bool h5)
{
    (h5 ? recur_cli_series_encode_usage : usage_dna)(fp);
}

static int no_option(void *ctx, int c, const char *arg)
{
    return RECUR_EINVAL; /* encode has no options of its own */
}

/* Parses argv into u. Returns 0, 1 after --help (printed), or RECUR_EINVAL (logged). */
static int parse(int argc, char *argv[], recur_cli_use_t *u)
{
    const recur_cli_use_cmd_t cmd = {.name = "encode",
                                     .option = no_option,
                                     .usage = usage,
                                     .model_optional = true,
                                     .arch_choices = 1u << (RECUR_CLI_TASK - RECUR_CLI_CELL) |
                                                     1u << (RECUR_CLI_HEAD - RECUR_CLI_CELL)};
    const int rc = recur_cli_use_parse(u, &cmd, argc, argv);
    if (rc != 0)
        return rc;
    const bool h5 = recur_cli_use_h5(u);
    const char *why = NULL;
    if (u->in.data)
        why = "--data: already an encoded dataset";
    else if (!u->out)
        why = h5 ? "missing -o DATA" : "missing -o FILE.h5";
    else if (strcmp(u->out, "-") == 0)
        why = "-o: the dataset cannot be written to standard output (HDF5 needs a file)";
    else if (!h5 && u->in.dna.windows && !u->in.dna.max_len && !u->model)
        why = "--windows needs --max-len N (the window length)";
    else if (!h5 && !u->model && recur_cli_use_arch_given(u, RECUR_CLI_TASK) &&
             u->arch.task == RECUR_TASK_REGRESS)
        why = "--task: DNA records are encoded for classify or multilabel";
    else if (!h5 && !u->model && recur_cli_use_arch_given(u, RECUR_CLI_HEAD) &&
             u->arch.head != RECUR_HEAD_SEQ)
        why = "--head: DNA records are encoded with one label per record (seq)";
    if (why) {
        recur_error("%s (see 'recur encode --help')", why);
        return RECUR_EINVAL;
    }
    return 0;
}

int main_encode(int argc, char *argv[])
{
    recur_cli_use_t u;
    recur_cli_use_init(&u, 0);
    int rc = RECUR_EXIT_USAGE;
    recur_model_t *m = NULL;
    recur_dna_set_t *set = NULL;

    const int pr = parse(argc, argv, &u);
    if (pr != 0) {
        rc = pr > 0 ? RECUR_EXIT_OK : RECUR_EXIT_USAGE;
        goto out;
    }
    recur_log_set_quiet(u.quiet);
    if (recur_cli_use_h5(&u)) { /* HDF5 / netCDF-4 series */
        rc = recur_cli_series_encode(&u);
        goto out;
    }
    rc = RECUR_EXIT_ERROR;
    if (u.model) {
        if (!(m = recur_cli_use_model(&u, &rc)))
            goto out;
        rc = RECUR_EXIT_ERROR;
        size_t nc = 0;
        const char *const *classes = recur_model_strings(m, "classes", &nc);
        if (classes && nc != recur_model_config(m)->num_outputs)
            classes = NULL;
        const int drc = recur_cli_use_dna(&u, m, classes, classes ? nc : 0, false, &set);
        if (drc != 0) {
            rc = drc == RECUR_EINVAL ? RECUR_EXIT_USAGE : RECUR_EXIT_ERROR;
            goto out;
        }
    } else {
        recur_dna_opts_t d = u.in.dna;
        d.seq.threads = u.threads > 1 ? (int)u.threads : 0;
        if (recur_cli_use_arch_given(&u, RECUR_CLI_TASK))
            d.task = u.arch.task;
        if (!(set = recur_dna_read(u.in.in, u.in.n_in, &d)))
            goto out;
        if (set->skipped)
            recur_info("skipped %zu records without a label", set->skipped);
        if (set->truncated)
            recur_info("truncated %zu records to %zu bases", set->truncated, d.max_len);
        if (set->tiled)
            recur_info("tiled %zu records into windows of %zu bases", set->tiled, d.max_len);
        if (set->filtered)
            recur_info("%llu reads passed over by the filters", (unsigned long long)set->filtered);
    }
    if (recur_dataset_save(set->ds, u.out) != 0)
        goto out;
    recur_info("wrote %s: %zu rows from %zu records, up to %zu steps, %zu %s", u.out, set->ds->N,
               set->n_records, set->ds->T, set->ds->O,
               set->ds->task == RECUR_TASK_CLASSIFY ? "classes" : "labels");
    rc = RECUR_EXIT_OK;
out:
    recur_dna_set_free(set);
    recur_model_free(m);
    recur_cli_use_free(&u);
    return rc;
}
