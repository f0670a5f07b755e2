/* series_opts.h - the series options every command that reads HDF5 / netCDF-4 series takes
 * (--h5, --vars, --dataset, --target, --select, --time-dim) and the forecasting encoding options
 * (--window, --horizon, --stride, --val-fraction, --test-fraction, --calendar,
 * --missing-indicators): parsing, checking, and reading the series with an encoding fitted on its
 * training split or taken from a model. Command-line side only. */
#ifndef RECUR_CLI_SERIES_OPTS_H
#define RECUR_CLI_SERIES_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <recur/forecast.h>
#include <recur/h5series.h>
#include <recur/model.h>

/* Long-option codes of the series and encoding options; far above the commands' own codes and
 * the DNA input codes (1024..). */
enum {
    RECUR_CLI_S_H5 = 2048,
    RECUR_CLI_S_DATASET,
    RECUR_CLI_S_VARS,
    RECUR_CLI_S_TARGET,
    RECUR_CLI_S_SELECT,
    RECUR_CLI_S_TIME_DIM,
    RECUR_CLI_S_WINDOW,
    RECUR_CLI_S_HORIZON,
    RECUR_CLI_S_STRIDE,
    RECUR_CLI_S_VAL_FRACTION,
    RECUR_CLI_S_TEST_FRACTION,
    RECUR_CLI_S_CALENDAR,
    RECUR_CLI_S_MISSING_IND
};

// clang-format off
#define RECUR_CLI_SERIES_LONGOPTS                                                                                \
    {"h5", required_argument, NULL, RECUR_CLI_S_H5}, {"dataset", required_argument, NULL, RECUR_CLI_S_DATASET},    \
        {"vars", required_argument, NULL, RECUR_CLI_S_VARS},                                               \
        {"target", required_argument, NULL, RECUR_CLI_S_TARGET},                                           \
        {"select", required_argument, NULL, RECUR_CLI_S_SELECT},                                           \
    {                                                                                              \
        "time-dim", required_argument, NULL, RECUR_CLI_S_TIME_DIM                                          \
    }

#define RECUR_CLI_ENCODING_LONGOPTS                                                                              \
    {"window", required_argument, NULL, RECUR_CLI_S_WINDOW},                                               \
        {"horizon", required_argument, NULL, RECUR_CLI_S_HORIZON},                                         \
        {"stride", required_argument, NULL, RECUR_CLI_S_STRIDE},                                           \
        {"val-fraction", required_argument, NULL, RECUR_CLI_S_VAL_FRACTION},                               \
        {"test-fraction", required_argument, NULL, RECUR_CLI_S_TEST_FRACTION},                             \
        {"calendar", required_argument, NULL, RECUR_CLI_S_CALENDAR},                                       \
    {                                                                                              \
        "missing-indicators", no_argument, NULL, RECUR_CLI_S_MISSING_IND                                   \
    }
// clang-format on

/* Option help of the series options and of the encoding options, for usage texts. */
extern const char recur_cli_series_help[];
extern const char recur_cli_encoding_help[];

/* The series and encoding options of a command line. */
typedef struct {
    const char *h5, *dataset, *time_dim;
    char *vars_buf, *targets_buf;
    const char *vars[RECUR_FC_MAX_INPUTS];
    size_t n_vars;
    const char *targets[RECUR_FC_MAX_TARGETS];
    size_t n_targets;
    const char *select_arg[RECUR_SERIES_MAX_SELECT];
    recur_series_select_t select[RECUR_SERIES_MAX_SELECT];
    size_t n_select;
    size_t window, horizon, stride;
    double val, test;
    bool doy, hour, mi;
    uint32_t given; /* bit (code - RECUR_CLI_S_H5): that option appeared */
} recur_cli_series_t;

void recur_cli_series_init(recur_cli_series_t *o);
void recur_cli_series_release(recur_cli_series_t *o);
/* Handles a series or encoding option: 1 handled, 0 not one of them, < 0 bad value (logged). */
int recur_cli_series_option(int c, const char *arg, recur_cli_series_t *o);
/* Usage checks: --h5 present and a file, names given (need_names), splits that leave a
 * training split. NULL when fine, else the reason. */
const char *recur_cli_series_check(const recur_cli_series_t *o, bool need_names);
/* The series named on the command line and an encoding fitted on its training split. */
int recur_cli_series_load_fit(const recur_cli_series_t *o, recur_series_t **out, recur_fc_t *fc);
/* The series for a model's encoding: the model's source, overridden by the command line. */
int recur_cli_series_load_for_model(recur_cli_series_t *o, const recur_model_t *m,
                                    const char *mpath, recur_fc_t *fc, recur_series_t **out);
/* One command-line contract: --vars, --target and the encoding options, when given, restate
 * what model m (read from mpath) fixes; 0 when every one agrees, RECUR_EINVAL logged as
 * "--window 30 conflicts with the model's window 24" (whose: "the model's") at the first that
 * does not, RECUR_EFORMAT when m holds no forecaster's encoding (logged). --h5, --dataset,
 * --select and --time-dim say where to read the series and are not compared. */
int recur_cli_series_restated(const recur_cli_series_t *o, const recur_model_t *m,
                              const char *mpath, const char *whose) RECUR_WUR;
/* True when argv holds --h5 (as "--h5 FILE" or "--h5=FILE"): the command is about series. */
bool recur_cli_series_requested(int argc, char *argv[]);
/* The date (or index) of step t, for messages. */
void recur_cli_series_step_label(const recur_series_t *s, size_t t, char *buf, size_t size);

#endif
