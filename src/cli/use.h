/* use.h - the front of every command that runs a model on data (eval, predict, encode,
 * diagnose): one parser for -m MODEL, the inputs (raw DNA --fasta / --bed --ref / --bam, an
 * encoded --data, or --h5 series with their options), -o, -@, -q, --batch-size, --seed,
 * --split, the architecture options (restatements of the model's) and the command's own options;
 * the restated-option check against the model; and DNA records read with the model's encoding.
 * Command-line side only. */
#ifndef RECUR_CLI_USE_H
#define RECUR_CLI_USE_H

#include <stdbool.h>
#include <stdio.h>

#include <recur/dna.h>
#include <recur/forecast.h>
#include <recur/model.h>

#include "cli.h"
#include "series_opts.h"

/* The data an option applies to. */
enum { RECUR_CLI_USE_DNA = 1, RECUR_CLI_USE_H5 = 2, RECUR_CLI_USE_ANY = 3 };

/* Codes of the shared options that are not input, series or architecture options; a command's
 * own codes start at RECUR_CLI_FIRST_FREE and stay below RECUR_CLI_USE_FIRST. */
enum {
    RECUR_CLI_USE_FIRST = 900,
    RECUR_CLI_USE_BATCH = RECUR_CLI_USE_FIRST,
    RECUR_CLI_USE_SEED,
    RECUR_CLI_USE_SPLIT,
    RECUR_CLI_USE_RC_AVG,
    RECUR_CLI_USE_NO_RC_AVG
};

/* A command's own option: its getopt entry and the data it applies to. */
typedef struct {
    const char *name;
    int has_arg; /* no_argument or required_argument */
    int code;    /* in RECUR_CLI_FIRST_FREE .. RECUR_CLI_USE_FIRST - 1 */
    unsigned kinds;
} recur_cli_use_opt_t;

/* What a command tells the parser about itself. */
typedef struct {
    const char *name;                /* "eval", for messages */
    const recur_cli_use_opt_t *opts; /* (n_opts) its own options */
    size_t n_opts;
    int (*option)(void *ctx, int code, const char *arg); /* applies one: 0, or < 0 (logged) */
    void *ctx;
    void (*usage)(FILE *fp, bool h5); /* --help: the DNA text, or the one for --h5 */
    bool model_optional;              /* -m may be absent (encode, diagnose --train-log) */
    bool inputs_optional;             /* no input is the command's to check (diagnose) */
    uint32_t arch_choices;            /* architecture options (bit code - RECUR_CLI_CELL) that
                                         choose something without -m (encode: --task, --head);
                                         the others need a model to restate */
    bool batch;                       /* takes --batch-size */
    bool strands; /* takes --revcomp-average / --no-revcomp-average (DNA classifiers) */
} recur_cli_use_cmd_t;

/* The parsed command line. Initialise with recur_cli_use_init(), release with
 * recur_cli_use_free(). */
typedef struct {
    const char *model, *out;
    recur_cli_inputs_t in;  /* --fasta / --bed / --bam / --data and the DNA reader options */
    recur_cli_series_t src; /* --h5 and the series and encoding options */
    recur_config_t arch;    /* architecture options as given (compare with arch_given) */
    recur_init_t init;
    uint32_t arch_given; /* bit (code - RECUR_CLI_CELL): that architecture option appeared */
    recur_split_t split; /* --split (--h5); split_given tells whether it appeared */
    bool split_given;
    size_t threads, batch_size;
    bool batch_given;
    unsigned long seed; /* accepted for uniformity */
    int rc_avg;         /* --revcomp-average 1, --no-revcomp-average 0, neither -1 */
    bool quiet;
} recur_cli_use_t;

/* The help lines of the shared options -@, --seed, -q and -h, for usage texts. */
extern const char recur_cli_use_help[];

void recur_cli_use_init(recur_cli_use_t *u, size_t batch_size);
void recur_cli_use_free(recur_cli_use_t *u);

/* Parses argv for cmd. Checks what holds for every such command: no stray argument, -m unless
 * optional, some input, --h5 and DNA inputs or --data exclude each other, every option given
 * applies to the data given (a DNA option with --h5: "option '--revcomp-average' does not apply
 * to eval with --h5"; a series option without: "option '--window' needs --h5"), architecture
 * options only as restatements of -m's model (but cmd->arch_choices), no model or
 * HDF5 input from standard input, the input options together (recur_cli_inputs_check()). Returns
 * 0, 1 after --help (printed), or RECUR_EINVAL (logged with a pointer to --help). */
int recur_cli_use_parse(recur_cli_use_t *u, const recur_cli_use_cmd_t *cmd, int argc,
                        char *argv[]) RECUR_WUR;

static inline bool recur_cli_use_h5(const recur_cli_use_t *u)
{
    return u->src.h5 != NULL;
}

/* True when architecture option `code` appeared. */
static inline bool recur_cli_use_arch_given(const recur_cli_use_t *u, int code)
{
    return (u->arch_given >> (code - RECUR_CLI_CELL)) & 1u;
}

/* The restated options against model m (read from mpath): the architecture options, and with
 * --h5 the series and encoding options. 0, RECUR_EINVAL (a conflict, logged naming both
 * values: exit 2) or RECUR_EFORMAT (m has no forecaster's encoding, logged). */
int recur_cli_use_restated(const recur_cli_use_t *u, const recur_model_t *m,
                           const char *mpath) RECUR_WUR;

/* Loads -m's model, checks the restated options against it (recur_cli_use_restated()) and,
 * for raw DNA inputs, that it reads DNA (recur_dna_model_check()). NULL on failure (logged) with
 * *status the exit status: 2 for a conflicting restated option, else 1. */
recur_model_t *recur_cli_use_model(const recur_cli_use_t *u, int *status);

/* Whether a DNA classifier's records are scored on both strands (probabilities averaged): as
 * --revcomp-average / --no-revcomp-average say, else as m was trained (--revcomp). */
bool recur_cli_use_strands(const recur_cli_use_t *u, const recur_model_t *m);

/* The class names of m (its "classes" strings), or "0", "1", ... when it has none: *owned gets
 * what to free with recur_cli_use_free_names(names, n). NULL when out of memory (logged). */
const char *const *recur_cli_use_classes(const recur_model_t *m, char ***owned);
void recur_cli_use_free_names(char **names, size_t n);

/* Reads the DNA inputs with m's encoding (the --max-len, --windows and --n-zero given override
 * it), labelled with classes[0..nc-1] (task: m's) unless ignore_labels, and logs what was
 * skipped, tiled, truncated and filtered. 0; RECUR_EINVAL for --windows without a window length
 * (a usage error, logged); RECUR_EFORMAT or another code (logged). */
int recur_cli_use_dna(const recur_cli_use_t *u, const recur_model_t *m, const char *const *classes,
                      size_t nc, bool ignore_labels, recur_dna_set_t **set) RECUR_WUR;

#endif
