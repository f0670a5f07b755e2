/* cmd_simulate.c - `recur simulate`: the synthetic tasks of recur/simulate.h written as an
 * encoded dataset (adding, copy) or as FASTA (motif), seeded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include <recur/simulate.h>

enum { OPT_DISTANCE = RECUR_CLI_FIRST_FREE, OPT_SEED, OPT_DELAY };

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: recur simulate adding|copy|motif [options] -o FILE\n"
            "\n"
            "Writes a synthetic task with a known answer, seeded:\n"
            "  adding  T steps of two channels: numbers U(0, 1) and a marker with exactly two\n"
            "          ones, one in each half; target the sum of the two marked numbers\n"
            "          (Le et al. 2015, Arjovsky et al. 2016). A constant predictor's MSE is\n"
            "          0.167. Regression, sequence head. FILE: an encoded dataset (HDF5).\n"
            "          --delay D appends D unmarked steps: the markers then lie more than D\n"
            "          steps before the loss (T + D steps in all).\n"
            "  copy    10 symbols from an alphabet of 8, T blanks (the last one a delimiter),\n"
            "          then 10 blanks during which the symbols must be repeated (Arjovsky et\n"
            "          al. 2016): T + 20 steps, 10 input channels, 9 classes per step; the\n"
            "          memoryless baseline's cross-entropy is 10 log(8) / (T + 20).\n"
            "          FILE: an encoded dataset (HDF5), step head.\n"
            "  motif   DNA of length T, uniform background; the positive half carries one site\n"
            "          of a position weight matrix (consensus " RECUR_SIM_MOTIF
            ", 0.85 on the consensus\n"
            "          base) ending --distance bases before the end. FILE is a prefix:\n"
            "          FILE.pos.fa and FILE.neg.fa (train with --fasta FILE.pos.fa:motif\n"
            "          --fasta FILE.neg.fa:background).\n"
            "\n"
            "Options:\n"
            "  -n N                    sequences (default 1000)\n"
            "  -T N                    length T as above (default 100)\n"
            "  --distance D            motif: bases between the site's end and the sequence end\n"
            "                          (default 0)\n"
            "  --delay D               adding: unmarked steps after the T (default 0)\n"
            "  --seed N                seed (default 1)\n"
            "  -o FILE                 output (required)\n"
            "  -h, --help              this text\n"
            "\n"
            "Exit status: 0 ok, 1 I/O error, 2 usage error.\n");
}

/* Writes sequences [from, to) of seqs (each T bases) as FASTA to path, atomically. */
static int write_fasta(const char *path, const char *seqs, size_t from, size_t to, size_t T,
                       const char *kind)
{
    recur_outfile_t of;
    FILE *fp = recur_cli_out_open(path, &of);
    if (!fp)
        return RECUR_EIO;
    for (size_t n = from; n < to; n++) {
        fprintf(fp, ">%s_%zu\n", kind, n - from + 1);
        for (size_t t = 0; t < T; t += 60)
            fprintf(fp, "%.*s\n", (int)(T - t < 60 ? T - t : 60), seqs + n * T + t);
    }
    return recur_cli_out_finish(fp, &of, RECUR_EXIT_OK) == RECUR_EXIT_OK ? 0 : RECUR_EIO;
}

int main_simulate(int argc, char *argv[])
{
    static const struct option longopts[] = {{"distance", required_argument, NULL, OPT_DISTANCE},
                                             {"delay", required_argument, NULL, OPT_DELAY},
                                             {"seed", required_argument, NULL, OPT_SEED},
                                             {"output", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    size_t N = 1000, T = 100, distance = 0, delay = 0;
    unsigned long seed = 1;
    const char *out = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":n:T:o:h", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'n':
            bad = recur_cli_size("-n", optarg, 1, (size_t)1 << 24, &N);
            break;
        case 'T':
            bad = recur_cli_size("-T", optarg, 1, (size_t)1 << 24, &T);
            break;
        case OPT_DISTANCE:
            bad = recur_cli_size("--distance", optarg, 0, (size_t)1 << 24, &distance);
            break;
        case OPT_DELAY:
            bad = recur_cli_size("--delay", optarg, 0, (size_t)1 << 24, &delay);
            break;
        case OPT_SEED:
            bad = recur_cli_ulong("--seed", optarg, &seed);
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            usage(stdout);
            return RECUR_EXIT_OK;
        default:
            recur_cli_bad_option(c, argv);
            return RECUR_EXIT_USAGE;
        }
        if (bad)
            return RECUR_EXIT_USAGE;
    }
    if (optind + 1 != argc || !out) {
        recur_error("give one task (adding, copy or motif) and -o FILE (see 'recur simulate "
                    "--help')");
        return RECUR_EXIT_USAGE;
    }
    const char *task = argv[optind];
    if (strcmp(task, "adding") && strcmp(task, "copy") && strcmp(task, "motif")) {
        recur_error("unknown task '%s': adding, copy or motif", task);
        return RECUR_EXIT_USAGE;
    }
    if (delay && strcmp(task, "adding") != 0) {
        recur_error("--delay is for the adding task");
        return RECUR_EXIT_USAGE;
    }
    int rc = RECUR_EXIT_ERROR;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    recur_dataset_t *ds = NULL;
    char *seqs = NULL;
    if (!rng)
        goto done;
    gsl_rng_set(rng, seed);
    if (strcmp(task, "motif") == 0) {
        size_t bytes;
        char pos[4096], neg[4096];
        if (!recur_mul_ok(N, T, &bytes) || !(seqs = malloc(bytes))) {
            recur_error("motif: %zu x %zu bases do not fit in memory", N, T);
            goto done;
        }
        if (recur_sim_motif(N, T, distance, rng, seqs) != 0) {
            rc = RECUR_EXIT_USAGE;
            goto done;
        }
        snprintf(pos, sizeof pos, "%s.pos.fa", out);
        snprintf(neg, sizeof neg, "%s.neg.fa", out);
        if (write_fasta(pos, seqs, 0, (N + 1) / 2, T, "motif") != 0 ||
            write_fasta(neg, seqs, (N + 1) / 2, N, T, "background") != 0)
            goto done;
    } else {
        ds = strcmp(task, "adding") == 0 ? recur_sim_adding_delayed(N, T, delay, rng)
                                         : recur_sim_copy(N, T, rng);
        if (!ds || recur_dataset_save(ds, out) != 0)
            goto done;
    }
    rc = RECUR_EXIT_OK;
done:
    free(seqs);
    recur_dataset_free(ds);
    gsl_rng_free(rng);
    return rc;
}
