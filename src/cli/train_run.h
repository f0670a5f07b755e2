/* train_run.h - the command-line side of a training run, the same for DNA classifiers, encoded
 * datasets and forecasters: it drives the library's loop (recur/fit.h) and adds what the library
 * must not know - signals (SIGTERM: checkpoint and exit 143; SIGUSR1: checkpoint and go on),
 * MPI (every rank runs the loop, the ranks agree on signals, rank 0 writes), the progress line,
 * the per-epoch line on stderr, the JSON log (--log) and the per-update log (--grad-log), each
 * written as FILE.part and renamed when the run ends, checkpoints every N updates with the one
 * before kept as MODEL.prev, and the final model. */
#ifndef RECUR_CLI_TRAIN_RUN_H
#define RECUR_CLI_TRAIN_RUN_H

#include <gsl/gsl_rng.h>

#include <recur/fit.h>
#include <recur/model.h>

#include "train_opts.h"

typedef struct {
    const recur_cli_train_t *opts; /* -o, the logs, checkpoints, -q, the seed */
    const recur_fit_opts_t *fit;   /* the loop's options (on_update is the driver's) */
    const recur_model_t *resume;   /* the checkpoint to continue, or NULL */
    const char *resume_path;       /* its file (the --resume argument, or its .prev) */
    /* Called on every model the run writes (checkpoints and the final model), after the
     * provenance (command line, seed): the classes and the encoding. 0 or a negative code. */
    int (*annotate)(void *ctx, recur_model_t *m);
    void *ctx;
    /* The best baseline (recur/baseline.h) by validation accuracy, shown beside the model's at
     * every epoch and compared with the kept model's at the end; NULL for none. */
    const char *baseline;
    double baseline_val_acc;
    int argc; /* the command line, for provenance */
    char **argv;
} recur_cli_run_t;

/* Trains cfg's model from params (copied; with several MPI ranks, rank 0's) on data, drawing
 * from rng, and writes the model to opts->out. Returns the exit status: 0, 1 (I/O, bad data),
 * 2 (the checkpoint is of another optimizer or architecture), 3 (diverged: -o left as it was,
 * or at its last checkpoint), 143 (stopped by SIGTERM after a checkpoint). */
int recur_cli_train_run(const recur_config_t *cfg, const recur_real *params,
                        const recur_fit_data_t *data, gsl_rng *rng, const recur_cli_run_t *r);

#endif
