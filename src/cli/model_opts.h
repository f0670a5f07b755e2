/* model_opts.h - the options of the commands that run one random model on a synthetic batch
 * (`recur bench`, `recur gradcheck`): the architecture, -T, -B, --tbptt and --seed, the checks
 * that end their parsing, and the model's parameters and batch drawn from the seed.
 * Command-line side only. */
#ifndef RECUR_CLI_MODEL_OPTS_H
#define RECUR_CLI_MODEL_OPTS_H

#include <getopt.h>
#include <stdio.h>

#include <gsl/gsl_rng.h>

#include <recur/engine.h>
#include <recur/synth.h>

#include "cli.h"

/* Long-option codes of --tbptt and --seed; a command's own long-only options start at
 * RECUR_CLI_M_FIRST_FREE. */
enum { RECUR_CLI_M_TBPTT = RECUR_CLI_FIRST_FREE, RECUR_CLI_M_SEED, RECUR_CLI_M_FIRST_FREE };

/* Initialisers for struct option tables: the architecture options, --tbptt and --seed (-T and
 * -B are short options: "T:B:" in the command's optstring). */
// clang-format off
#define RECUR_CLI_MODEL_LONGOPTS                                        \
    RECUR_CLI_ARCH_LONGOPTS,                                            \
    {"tbptt", required_argument, NULL, RECUR_CLI_M_TBPTT},              \
    {"seed", required_argument, NULL, RECUR_CLI_M_SEED}
// clang-format on

/* What the options set. */
typedef struct {
    recur_config_t cfg;
    recur_init_t init;
    size_t T, B;        /* -T: time steps, -B: sequences in the batch */
    size_t tbptt;       /* --tbptt K: windows of K steps; 0: full BPTT */
    unsigned long seed; /* --seed: of the parameters and the batch */
} recur_cli_model_opts_t;

/* The defaults: a one-layer unidirectional LSTM of H units on I inputs, classifying into O
 * classes from its last state (no dropout, default initialisation), T x B, full BPTT, seed 1. */
void recur_cli_model_defaults(recur_cli_model_opts_t *m, size_t I, size_t H, size_t O, size_t T,
                              size_t B);

/* A command built on these options: its name, getopt tables and help, and what applies its own
 * options. */
typedef struct {
    const char *name;              /* "bench": hints say "see 'recur NAME --help'" */
    const char *optstring;         /* ":T:B:", the command's own short options and "h" */
    const struct option *longopts; /* RECUR_CLI_MODEL_LONGOPTS, the command's own, --help */
    void (*usage)(FILE *fp);
    /* applies the command's own option code with argument arg to ctx: 0, or RECUR_EINVAL
     * (logged) for a bad value */
    int (*option)(void *ctx, int code, const char *arg);
    void *ctx;
} recur_cli_model_cmd_t;

/* Parses argv: the options above into *m, the command's own through cmd->option, -h / --help
 * as cmd->usage(stdout); then no operand may be left and the configuration must be valid.
 * Returns -1 when the command goes on, else the exit status to return: RECUR_EXIT_OK after the
 * help, RECUR_EXIT_USAGE after a usage error (one line logged). */
int recur_cli_model_parse(const recur_cli_model_cmd_t *cmd, recur_cli_model_opts_t *m, int argc,
                          char *argv[]);

/* The model's parameters, initialised from a generator seeded with m->seed, and a synthetic
 * batch of m->T x m->B drawn after them from the same generator. */
typedef struct {
    gsl_rng *rng;       /* the generator, where the batch left it */
    recur_real *params; /* (recur_param_count(&m->cfg)) flat parameter block */
    recur_synth_t *syn;
} recur_cli_model_t;

/* Fills *x (zeroed first). 0, or a negative error code (logged); either way free it with
 * recur_cli_model_free(), which also accepts a zeroed one. */
int recur_cli_model_make(const recur_cli_model_opts_t *m, const recur_synth_opts_t *so,
                         recur_cli_model_t *x) RECUR_WUR;
void recur_cli_model_free(recur_cli_model_t *x);

/* Prints the provenance line "# recur VERSION: recur ARGV..." of the command's TSV. */
void recur_cli_model_provenance(FILE *fp, int argc, char *const argv[]);

#endif
