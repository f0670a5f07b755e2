/* cmd_series.h - the forecasting side of `recur eval`, `predict`, `encode` and `diagnose`:
 * series read from HDF5 / netCDF-4 files (--h5) with a forecaster's encoding, used when the
 * command line names one. The command lines are parsed by use.h. */
#ifndef RECUR_CMD_SERIES_H
#define RECUR_CMD_SERIES_H

#include <stdbool.h>
#include <stdio.h>

#include <recur/dataset.h>
#include <recur/model.h>

#include "use.h"

/* The forecasting options some of the commands take. */
typedef struct {
    bool by_month;       /* eval --climatology month */
    bool no_ridge;       /* eval --no-ridge */
    double ridge_lambda; /* eval --ridge-lambda (default 1) */
    bool tsv;            /* predict --tsv */
} recur_cli_fc_opts_t;

/* The --help texts of eval, predict and encode with --h5. */
void recur_cli_series_eval_usage(FILE *fp);
void recur_cli_series_predict_usage(FILE *fp);
void recur_cli_series_encode_usage(FILE *fp);

/* eval, predict and encode with --h5 on a parsed command line (argv for the provenance line).
 * Each returns an exit status: 0 ok, 1 bad input or I/O, 2 usage (a restated option that
 * conflicts with the model's). */
int recur_cli_series_eval(recur_cli_use_t *u, const recur_cli_fc_opts_t *o, int argc, char *argv[]);
int recur_cli_series_predict(recur_cli_use_t *u, const recur_cli_fc_opts_t *o, int argc,
                             char *argv[]);
int recur_cli_series_encode(recur_cli_use_t *u);

/* The encoded dataset of --split (default test) of the --h5 series for forecaster m (diagnose):
 * windows for a sequence head, whole series for a step head. NULL on failure, with *status the
 * exit status (2 for a conflicting restated option). */
recur_dataset_t *recur_cli_series_dataset(recur_cli_use_t *u, recur_model_t *m, int *status);

#endif
