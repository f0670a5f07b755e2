/* cli.h - option-parsing helpers shared by the command-line front ends (src/cli/cmd_*.c):
 * checked number parsing, the architecture options every model-building command accepts, the
 * DNA input options of train / eval / predict / encode, and one-line usage errors. Errors are
 * logged through recur_error() ("recur CMD: ..."). */
#ifndef RECUR_CLI_H
#define RECUR_CLI_H

#include <getopt.h>

#include <recur/common.h>
#include <recur/dna.h>
#include <recur/engine.h>
#include <recur/outfile.h>

/* Exit statuses of the recur binary (DESIGN.md). */
enum {
    RECUR_EXIT_OK = 0,
    RECUR_EXIT_ERROR = 1,   /* bad input or I/O */
    RECUR_EXIT_USAGE = 2,   /* bad command line */
    RECUR_EXIT_DIVERGED = 3 /* training diverged */
};

/* Long-option codes of the shared architecture options; above 255 so that they never clash
 * with a short option. A command's own long-only options start at RECUR_CLI_FIRST_FREE. */
enum {
    RECUR_CLI_CELL = 256,
    RECUR_CLI_HIDDEN,
    RECUR_CLI_LAYERS,
    RECUR_CLI_BIDIRECTIONAL,
    RECUR_CLI_INPUT,
    RECUR_CLI_OUTPUTS,
    RECUR_CLI_HEAD,
    RECUR_CLI_POOL,
    RECUR_CLI_TASK,
    RECUR_CLI_ORTHOGONAL,
    RECUR_CLI_FORGET_BIAS,
    RECUR_CLI_SPECTRAL_RADIUS,
    RECUR_CLI_UNIDIRECTIONAL,
    RECUR_CLI_FIRST_FREE
};

/* Initialisers for struct option tables: the architecture options above. */
// clang-format off
#define RECUR_CLI_ARCH_LONGOPTS                                          \
    {"cell", required_argument, NULL, RECUR_CLI_CELL},                   \
    {"hidden", required_argument, NULL, RECUR_CLI_HIDDEN},               \
    {"layers", required_argument, NULL, RECUR_CLI_LAYERS},               \
    {"bidirectional", no_argument, NULL, RECUR_CLI_BIDIRECTIONAL},       \
    {"input", required_argument, NULL, RECUR_CLI_INPUT},                 \
    {"outputs", required_argument, NULL, RECUR_CLI_OUTPUTS},             \
    {"head", required_argument, NULL, RECUR_CLI_HEAD},                   \
    {"pool", required_argument, NULL, RECUR_CLI_POOL},                   \
    {"task", required_argument, NULL, RECUR_CLI_TASK},                   \
    {"orthogonal", no_argument, NULL, RECUR_CLI_ORTHOGONAL},             \
    {"forget-bias", required_argument, NULL, RECUR_CLI_FORGET_BIAS},    \
    {"spectral-radius", required_argument, NULL, RECUR_CLI_SPECTRAL_RADIUS}, \
    {"unidirectional", no_argument, NULL, RECUR_CLI_UNIDIRECTIONAL}
// clang-format on

/* The paragraph on the command-line contract that every data command's --help ends with. */
extern const char recur_cli_contract_help[];

/* Option help for the architecture options, one option per line, for usage texts. */
extern const char recur_cli_arch_help[];

/* Applies architecture option `code` with argument arg to cfg and init. Returns 1 when code
 * is an architecture option and its value is good, 0 when code is not an architecture option
 * (nothing changed), RECUR_EINVAL (logged: "--hidden: ...") when the value is bad. */
int recur_cli_arch_option(int code, const char *arg, recur_config_t *cfg, recur_init_t *init);

/* One command-line contract: an option that restates what the model or the data fix is
 * accepted when it agrees and refused when it conflicts. recur_cli_restated() compares the
 * option's value as given with the fixed one, as text: 0 when equal, else RECUR_EINVAL logged as
 * "--OPT GIVEN conflicts with WHOSE OPT FIXED" (whose: "the model's", "the data's"). */
int recur_cli_restated(const char *opt, const char *given, const char *whose,
                       const char *fixed) RECUR_WUR;

/* The architecture options among codes[0..n-1] whose bit (code - RECUR_CLI_CELL) is set in
 * given, compared between cfg (the command line's values) and fixed, as recur_cli_restated()
 * does. --orthogonal, --forget-bias and --spectral-radius act at initialisation only: they are
 * not compared. recur_cli_arch_fixed lists what a model fixes: every architecture field. */
int recur_cli_arch_restated(uint32_t given, const int *codes, size_t n, const recur_config_t *cfg,
                            const recur_config_t *fixed, const char *whose) RECUR_WUR;
/* --orthogonal, --forget-bias and --spectral-radius (bits of given as above) with weights that
 * come from the model file `model`: RECUR_EINVAL, logged, when one is given; else 0. */
int recur_cli_init_only(uint32_t given, const char *model) RECUR_WUR;
#define RECUR_CLI_ARCH_FIXED_N 9
extern const int recur_cli_arch_fixed[RECUR_CLI_ARCH_FIXED_N];

/* Long-option codes of the DNA input options shared by train, eval, predict and encode; far
 * above RECUR_CLI_FIRST_FREE so that commands' own codes never reach them. */
enum {
    RECUR_CLI_IN_FASTA = 1024,
    RECUR_CLI_IN_BAM,
    RECUR_CLI_IN_BED,
    RECUR_CLI_IN_REF,
    RECUR_CLI_IN_LABEL_COLUMN,
    RECUR_CLI_IN_FLANK,
    RECUR_CLI_IN_REGION,
    RECUR_CLI_IN_MIN_MAPQ,
    RECUR_CLI_IN_REQUIRE_FLAGS,
    RECUR_CLI_IN_EXCLUDE_FLAGS,
    RECUR_CLI_IN_LABEL_TAG,
    RECUR_CLI_IN_LABELS,
    RECUR_CLI_IN_SKIP_UNLABELLED,
    RECUR_CLI_IN_MAX_LEN,
    RECUR_CLI_IN_WINDOWS,
    RECUR_CLI_IN_N_ZERO,
    RECUR_CLI_IN_DATA,
    RECUR_CLI_IN_VAL_FASTA, /* train only: explicit validation inputs */
    RECUR_CLI_IN_VAL_BAM,
    RECUR_CLI_IN_VAL_BED,
    RECUR_CLI_IN_VAL_DATA
};

// clang-format off
/* The input options (every DNA command). */
#define RECUR_CLI_INPUT_LONGOPTS                                                  \
    {"fasta", required_argument, NULL, RECUR_CLI_IN_FASTA},                       \
    {"bam", required_argument, NULL, RECUR_CLI_IN_BAM},                           \
    {"bed", required_argument, NULL, RECUR_CLI_IN_BED},                           \
    {"ref", required_argument, NULL, RECUR_CLI_IN_REF},                           \
    {"label-column", required_argument, NULL, RECUR_CLI_IN_LABEL_COLUMN},         \
    {"flank", required_argument, NULL, RECUR_CLI_IN_FLANK},                       \
    {"region", required_argument, NULL, RECUR_CLI_IN_REGION},                     \
    {"min-mapq", required_argument, NULL, RECUR_CLI_IN_MIN_MAPQ},                 \
    {"require-flags", required_argument, NULL, RECUR_CLI_IN_REQUIRE_FLAGS},       \
    {"exclude-flags", required_argument, NULL, RECUR_CLI_IN_EXCLUDE_FLAGS},       \
    {"label-tag", required_argument, NULL, RECUR_CLI_IN_LABEL_TAG},               \
    {"labels", required_argument, NULL, RECUR_CLI_IN_LABELS},                     \
    {"skip-unlabelled", no_argument, NULL, RECUR_CLI_IN_SKIP_UNLABELLED},         \
    {"max-len", required_argument, NULL, RECUR_CLI_IN_MAX_LEN},                   \
    {"windows", no_argument, NULL, RECUR_CLI_IN_WINDOWS},                         \
    {"n-zero", no_argument, NULL, RECUR_CLI_IN_N_ZERO},                           \
    {"data", required_argument, NULL, RECUR_CLI_IN_DATA}
/* Explicit validation inputs (train). */
#define RECUR_CLI_VAL_LONGOPTS                                                    \
    {"val-fasta", required_argument, NULL, RECUR_CLI_IN_VAL_FASTA},               \
    {"val-bam", required_argument, NULL, RECUR_CLI_IN_VAL_BAM},                   \
    {"val-bed", required_argument, NULL, RECUR_CLI_IN_VAL_BED},                   \
    {"val-data", required_argument, NULL, RECUR_CLI_IN_VAL_DATA}
// clang-format on

/* Option help for the input options and for the validation inputs, for usage texts. */
extern const char recur_cli_input_help[];
extern const char recur_cli_val_help[];

/* What the input options set. Initialise with recur_cli_inputs_init(), free with
 * recur_cli_inputs_free(). */
typedef struct {
    recur_dna_input_t *in; /* (n_in) --fasta / --bed / --bam in command-line order */
    size_t n_in, cap_in;
    recur_dna_input_t *val; /* (n_val) --val-fasta / --val-bed / --val-bam */
    size_t n_val, cap_val;
    const char *data;     /* --data */
    const char *val_data; /* --val-data */
    recur_dna_opts_t dna; /* encoding, labels and reader options (seq.threads: the caller) */
    uint32_t given;       /* bit (code - RECUR_CLI_IN_FASTA) set: that option appeared */
} recur_cli_inputs_t;

/* True when input option `code` appeared on the command line. */
static inline bool recur_cli_input_given(const recur_cli_inputs_t *in, int code)
{
    return (in->given >> (code - RECUR_CLI_IN_FASTA)) & 1u;
}

void recur_cli_inputs_init(recur_cli_inputs_t *in);
void recur_cli_inputs_free(recur_cli_inputs_t *in);

/* Applies input option `code` with argument arg. Returns 1 when code is an input option and
 * its value is good, 0 when it is not an input option (nothing changed), RECUR_EINVAL or
 * RECUR_ENOMEM (logged) otherwise. */
int recur_cli_input_option(int code, const char *arg, recur_cli_inputs_t *in);

/* Checks the input options together once parsing is done: raw inputs and --data exclude each
 * other (so do the validation ones), --bed needs --ref, the BAM options need --bam, the BED
 * options --bed, and the encoding and label options raw inputs. Whether any input was given at
 * all is the command's to check. 0, or RECUR_EINVAL with one logged line. */
int recur_cli_inputs_check(const recur_cli_inputs_t *in) RECUR_WUR;

/* Parse a whole decimal integer in [lo, hi] (no sign for size_t, no trailing characters) or a
 * finite number in [lo, hi]. 0 or RECUR_EINVAL, logged as "<name>: expected ..., got '<arg>'". */
int recur_cli_size(const char *name, const char *arg, size_t lo, size_t hi, size_t *out) RECUR_WUR;
int recur_cli_ulong(const char *name, const char *arg, unsigned long *out) RECUR_WUR;
int recur_cli_double(const char *name, const char *arg, double lo, double hi,
                     double *out) RECUR_WUR;

/* Logs the usage error getopt_long() reported by returning c ('?' or ':' with an optstring
 * that starts with ':'), naming the offending option, and a hint "see 'recur CMD --help'"
 * (CMD is argv[0]). Call it right after getopt_long() returned. */
void recur_cli_bad_option(int c, char *const argv[]);

/* The command line argv[0..argc-1] joined by spaces into buf (truncated to size, always
 * terminated), for provenance lines; returns buf. */
char *recur_cli_join(char *buf, size_t size, int argc, char *const argv[]);

/* Comma-separated lists: "1,2,5" into v[0 .. max-1], each value checked as recur_cli_size()
 * or recur_cli_double() check one. Returns how many, or 0 on a bad or empty list (logged,
 * naming opt). */
size_t recur_cli_size_list(const char *opt, const char *arg, size_t lo, size_t hi, size_t *v,
                           size_t max);
size_t recur_cli_double_list(const char *opt, const char *arg, double lo, double hi, double *v,
                             size_t max);

/* An output that is complete or absent: recur_cli_out_open() gives standard output when path
 * is NULL, else the stream of a temporary file beside path (recur/outfile.h) held in *of; NULL
 * when it cannot be opened (logged). recur_cli_out_finish() closes it and, when rc is
 * RECUR_EXIT_OK and the writes succeeded, renames it onto path (an existing file is replaced
 * only by a whole one); otherwise removes it. Standard output is checked for errors, not
 * closed. Returns the final exit status. */
FILE *recur_cli_out_open(const char *path, recur_outfile_t *of);
int recur_cli_out_finish(FILE *fp, recur_outfile_t *of, int rc);

/* Refuses an output path that is a directory or whose directory cannot be written, before any
 * work: 0, or RECUR_EIO / RECUR_ENOMEM (logged). */
int recur_cli_check_output(const char *out) RECUR_WUR;

/* "recur " and the command line argv[0..argc-1] into buf (truncated, terminated): the
 * provenance line of outputs; returns buf. */
char *recur_cli_command_line(char *buf, size_t size, int argc, char *const argv[]);

#endif
