/* cmd_train_series.h - the forecasting side of `recur train` (--h5): the series read and encoded
 * into training and validation windows (sequence head) or whole series (step head), then the
 * same run as every other training (train_run.h). */
#ifndef RECUR_CLI_CMD_TRAIN_SERIES_H
#define RECUR_CLI_CMD_TRAIN_SERIES_H

#include <stdio.h>

#include <gsl/gsl_rng.h>

#include <recur/engine.h>
#include <recur/model.h>

#include "series_opts.h"
#include "train_opts.h"

/* What `recur train` parsed for a forecaster. */
typedef struct {
    const recur_cli_train_t *t;
    recur_cli_series_t *src;
    bool head_given, input_given, outputs_given, task_given; /* restated options that appeared */
} recur_cli_train_series_t;

/* `recur train --h5 FILE --help`. */
void recur_cli_train_series_usage(FILE *fp);

/* Trains a forecaster: cfg holds the architecture options (the start model's when start is not
 * NULL, read from start_path), rng is the run's seeded generator. Returns the exit status. */
int recur_cli_train_series(const recur_cli_train_series_t *o, recur_config_t *cfg,
                           const recur_init_t *init, const recur_model_t *start,
                           const char *start_path, gsl_rng *rng, int argc, char *argv[]);

#endif
