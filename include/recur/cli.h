/* recur/cli.h - option-parsing helpers shared by the command-line front ends (src/cmd_*.c):
 * checked number parsing, the architecture options every model-building command accepts, and
 * one-line usage errors. Errors are logged through recur_error() ("recur CMD: ..."). */
#ifndef RECUR_CLI_H
#define RECUR_CLI_H

#include <getopt.h>

#include <recur/common.h>
#include <recur/engine.h>

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
    {"forget-bias", required_argument, NULL, RECUR_CLI_FORGET_BIAS}
// clang-format on

/* Option help for the architecture options, one option per line, for usage texts. */
extern const char recur_cli_arch_help[];

/* Applies architecture option `code` with argument arg to cfg and init. Returns 1 when code
 * is an architecture option and its value is good, 0 when code is not an architecture option
 * (nothing changed), RECUR_EINVAL (logged: "--hidden: ...") when the value is bad. */
int recur_cli_arch_option(int code, const char *arg, recur_config_t *cfg, recur_init_t *init);

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

#endif
