/* fit_impl.h - the state of a training run (recur/fit.h), shared by fit.c (the loop) and
 * fitstate.c (snapshots, checkpoints, restore, the result). Internal to the library. */
#ifndef RECUR_FIT_IMPL_H
#define RECUR_FIT_IMPL_H

#include <recur/fit.h>

/* Sort key of length bucketing: length, then shuffled position. */
typedef struct {
    size_t len, key;
    size_t row;
} recur_fit_lenrow_t;

/* What the epoch in progress did so far, summed over its batches. */
typedef struct {
    double loss_sum; /* sum of batch loss x terms */
    size_t terms, updates, skipped, clipped;
    double grad_norm_sum, grad_norm_max;
    size_t right, judged;       /* running accuracy: correct decisions of decisions judged */
    size_t steps, padded_steps; /* batch steps x records, and the padded ones among them */
} recur_fit_sums_t;

/* Weights and the training state at one moment (the best epoch, or now). */
typedef struct {
    recur_real *params, *m, *v; /* (P) each; v NULL for SGD */
    uint64_t step, skipped;
    size_t epoch; /* epochs done at that moment */
    gsl_rng *rng;
} recur_fit_snapshot_t;

struct recur_fit {
    recur_config_t cfg;
    recur_fit_opts_t o;
    const recur_dataset_t *ds, *vds; /* vds NULL: no validation */
    size_t *train, n_train;          /* rows of ds */
    size_t *val, n_val;              /* rows of vds */
    size_t P, B, per_epoch;          /* parameters, rows per batch, rows per epoch */
    bool seq_probs;                  /* validated from probabilities (seq classifiers) */
    gsl_rng *rng;                    /* the caller's generator */
    gsl_rng *ep_rng;                 /* its state when the epoch in progress started */
    gsl_rng *saved_rng;              /* scratch */
    recur_real *params;              /* (P) */
    recur_optim_t *opt;
    recur_trainer_t *tr;
    recur_dataset_batch_t *bb, *vbb;
    size_t *order;             /* (per_epoch) rows in batch order */
    size_t *starts;            /* (batches per epoch) first position of each batch */
    recur_fit_lenrow_t *tmp;   /* (B * RECUR_FIT_BUCKET_BATCHES) */
    unsigned char *flip;       /* (B) strands of a batch */
    size_t epoch;              /* the epoch in progress, or the next one (1-based) */
    bool in_epoch;             /* its order is drawn */
    size_t batch, n_batches;   /* the next batch, batches of the epoch */
    size_t n_rows;             /* rows of the epoch */
    recur_fit_sums_t e;        /* the epoch's sums */
    size_t epochs_run;         /* the last epoch ended */
    bool stopped;              /* patience ran out */
    double best_loss;          /* lowest validation loss so far */
    size_t since_best;         /* epochs since */
    size_t best_epoch;         /* its epoch (0: none) */
    recur_fit_snapshot_t best; /* its weights and state (params NULL: none kept) */
    /* restore: the epoch to go on inside, from which batch, with which sums */
    bool resume_mid;
    size_t resume_epoch, resume_batch;
    recur_fit_sums_t resume_sums;
    char *resume_path;
};

/* Takes (allocating on first use) a snapshot of the weights, the optimizer and the generator,
 * noting `epoch` epochs done. 0 or RECUR_ENOMEM (logged). */
int recur_fit_snapshot_take(const recur_fit_t *f, recur_fit_snapshot_t *s, size_t epoch);
void recur_fit_snapshot_free(recur_fit_snapshot_t *s);

#endif
