/* recur.c - the recur command line: a samtools-style dispatch table of commands, each a
 * main_<cmd>(argc, argv) in src/cmd_<cmd>.c, plus usage, `recur help CMD` and `--version`. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_version.h>
#include <hdf5.h>
#include <htslib/hts.h>

#include "cli.h"
#include <recur/blas.h>
#include <recur/common.h>
#include <recur/dist.h>

int main_train(int argc, char *argv[]);
int main_eval(int argc, char *argv[]);
int main_predict(int argc, char *argv[]);
int main_encode(int argc, char *argv[]);
int main_gradcheck(int argc, char *argv[]);
int main_diagnose(int argc, char *argv[]);
int main_simulate(int argc, char *argv[]);
int main_bench(int argc, char *argv[]);

typedef struct {
    const char *name;
    int (*main_fn)(int argc, char *argv[]);
    const char *summary;
} command_t;

/* Only the commands that exist; eval, predict and encode come later. */
static const command_t commands[] = {
    {"train", main_train, "fit a model; writes the model file"},
    {"eval", main_eval, "metrics of a model on data (TSV)"},
    {"predict", main_predict, "per-record outputs (TSV)"},
    {"encode", main_encode, "write the encoded, masked, padded dataset to HDF5"},
    {"diagnose", main_diagnose, "gradient flow through time: norms, Jacobians, Lyapunov"},
    {"simulate", main_simulate, "synthetic tasks with known answers (adding, copy, motif)"},
    {"gradcheck", main_gradcheck, "analytic against finite-difference gradients"},
    {"bench", main_bench, "training-step throughput of a configuration"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *fp)
{
    fprintf(fp,
            "recur %s - recurrent networks (RNN, LSTM, GRU) trained by backpropagation "
            "through time\n"
            "\n"
            "Usage: recur <command> [options]\n"
            "       recur help <command>    same as recur <command> --help\n"
            "       recur --version         versions of recur and its libraries\n"
            "\n"
            "Commands:\n",
            RECUR_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(fp, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\nExit status: 0 ok, 1 bad input or I/O error, 2 usage error, "
                "3 training diverged.\n");
}

static void version(void)
{
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    printf("recur %s\n", RECUR_VERSION);
    printf("htslib %s\n", hts_version());
    printf("HDF5 %u.%u.%u\n", maj, min, rel);
    printf("GSL %s\n", gsl_version);
}

static const command_t *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0)
            return &commands[i];
    return NULL;
}

/* Runs the command named argv[0] with its own arguments; `help` shows a command's --help. */
static int dispatch(int argc, char *argv[])
{
    char help_opt[] = "--help";
    char prefix[64];
    const char *name = argv[0];
    const bool help = strcmp(name, "help") == 0;
    if (help) {
        if (argc < 2) {
            usage(stdout);
            return RECUR_EXIT_OK;
        }
        name = argv[1];
    }
    const command_t *cmd = find_command(name);
    if (!cmd) {
        fprintf(stderr, "recur: unknown command '%s' (see 'recur --help')\n", name);
        return RECUR_EXIT_USAGE;
    }
    snprintf(prefix, sizeof prefix, "recur %s", cmd->name);
    recur_log_set_prefix(prefix);
    if (help) {
        char *hargv[] = {argv[1], help_opt, NULL};
        return cmd->main_fn(2, hargv);
    }
    return cmd->main_fn(argc, argv);
}

int main(int argc, char *argv[])
{
    int rc;
    gsl_set_error_handler_off();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    recur_blas_set_threads(1);              /* commands with -@ raise it */
    if (recur_dist_init(&argc, &argv) != 0) /* MPI in bin/recur-mpi; nothing otherwise */
        return RECUR_EXIT_ERROR;
    if (argc < 2) {
        usage(stderr);
        rc = RECUR_EXIT_USAGE;
    } else if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        rc = RECUR_EXIT_OK;
    } else if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        version();
        rc = RECUR_EXIT_OK;
    } else if (argv[1][0] == '-') {
        fprintf(stderr, "recur: unknown option '%s' (see 'recur --help')\n", argv[1]);
        rc = RECUR_EXIT_USAGE;
    } else {
        rc = dispatch(argc - 1, argv + 1);
    }
    /* A full disk or a closed pipe shows up here, not at printf. */
    if (fclose(stdout) != 0) {
        fprintf(stderr, "recur: error writing standard output: %s\n", strerror(errno));
        if (rc == RECUR_EXIT_OK)
            rc = RECUR_EXIT_ERROR;
    }
    recur_dist_finalize();
    return rc;
}
