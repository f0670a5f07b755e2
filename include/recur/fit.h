/* recur/fit.h - the one training loop of recur, for every kind of training: DNA records and
 * encoded datasets (sequence or step head), forecasting windows (sequence head) and whole series
 * (step head with truncated BPTT), simulated tasks. It owns the epoch order (shuffling, length
 * bucketing, class balancing, reverse-complement augmentation), the per-batch loop over the
 * trainer (recur/train.h), validation, the best epoch and patience, the snapshot of the best
 * weights, and the full training state for an exact resume, with its round trip through the
 * model file. It knows nothing of the command line, signals, stdio or MPI: the caller owns the
 * loop (GSL style) and decides when to checkpoint and what to print.
 *
 *     recur_fit_t *f = recur_fit_alloc(&cfg, params0, &opts, &data, rng);
 *     if (resuming) rc = recur_fit_restore(f, checkpoint_model, path);
 *     while (!recur_fit_done(f)) {
 *         while ((rc = recur_fit_next(f)) == 1)
 *             ... progress, and when it is time: recur_fit_checkpoint(f, m), save m ...
 *         if (rc < 0) break;
 *         rc = recur_fit_epoch_end(f, &report);  ... print the report ...
 *     }
 *     recur_fit_result(f, m, &epoch_kept); save m; recur_fit_free(f);
 *
 * Determinism: every random draw (the order, the strands, dropout) comes from the caller's
 * generator, in a fixed order, and the trainer's results do not depend on its thread count, so
 * the same data, options and seed give bit-identical weights; a run checkpointed at any batch
 * boundary and restored continues exactly as the uninterrupted run would have.
 *
 * Checkpoint layout (in the model file, beside the weights): the training state of recur/model.h
 * (optimizer moments and counters, the generator's state, epochs done, the best epoch's weights)
 * and /config number lists resume_epoch (the epoch in progress), resume_batch (the next batch),
 * resume_epoch_rng (the generator's bytes at the start of that epoch, from which its order is
 * drawn again), resume_acc (the epoch's sums so far) and resume_best (best validation loss,
 * epochs since, best epoch, whether the best weights are stored). */
#ifndef RECUR_FIT_H
#define RECUR_FIT_H

#include <gsl/gsl_rng.h>

#include <recur/common.h>
#include <recur/dataset.h>
#include <recur/engine.h>
#include <recur/model.h>
#include <recur/optim.h>
#include <recur/train.h>

/* Length bucketing: rows are sorted by length within shuffled chunks of this many batches. */
#define RECUR_FIT_BUCKET_BATCHES 50

/* One optimizer update, as the per-update callback sees it. */
typedef struct {
    size_t epoch;                   /* epoch in progress (1-based) */
    const recur_update_info_t *upd; /* the trainer's view (update number, loss, norms) */
} recur_fit_update_t;

typedef struct {
    size_t epochs;     /* passes over the training rows; 0: no training (the initial weights) */
    size_t batch_size; /* rows per batch (at most the rows per epoch); >= 1 */
    bool shuffle;      /* a new order every epoch; false: the rows in the order given */
    bool bucket;       /* with shuffle: sort by length within chunks of RECUR_FIT_BUCKET_BATCHES
                          batches, then shuffle the batches (less padding) */
    bool balance;      /* classify with a sequence head: every epoch, each class is drawn up to
                          the size of the largest (with replacement) */
    bool revcomp;      /* DNA (4 one-hot channels): each row reverse-complemented with
                          probability 1/2, drawn every epoch; validation averages both strands */
    size_t patience;   /* stop after this many epochs without a lower validation loss (0 off) */
    bool keep_last;    /* the result is the last epoch's weights (default: the best epoch's) */
    recur_optim_config_t optim;
    recur_train_opts_t train; /* the trainer's options; its on_update must be NULL (use below) */
    /* Called after every update attempted (NULL: none); a non-zero return stops training with
     * that code (recur_fit_next returns it). */
    int (*on_update)(void *ctx, const recur_fit_update_t *u);
    void *on_update_ctx;
} recur_fit_opts_t;

/* The rows to train and validate on. fit copies the row lists; the datasets must outlive it. */
typedef struct {
    const recur_dataset_t *train; /* training rows live here */
    const size_t *train_rows;     /* (n_train) rows of train */
    size_t n_train;
    const recur_dataset_t *val; /* validation rows live here (may be train); NULL: none */
    const size_t *val_rows;     /* (n_val) rows of val */
    size_t n_val;
} recur_fit_data_t;

/* What one epoch did (the end-of-epoch report). NaN where a value does not exist. */
typedef struct {
    size_t epoch, epochs;    /* this epoch (1-based), of */
    double loss;             /* mean training loss over the epoch's loss terms */
    double acc;              /* running accuracy of the batches, before each update (seq head,
                                classify / multilabel, full BPTT windows); NaN otherwise */
    bool has_val;            /* validation rows exist */
    double val_loss;         /* mean validation loss */
    double val_acc, val_bal; /* validation accuracy and balanced accuracy (seq classifiers) */
    bool best;               /* the lowest validation loss so far */
    size_t since_best;       /* epochs since the best one */
    size_t updates, skipped, clipped;
    double grad_norm_mean, grad_norm_max; /* before clipping, over the updates */
    double padding;                       /* share of padded steps among the batches' steps */
    bool stop;                            /* early stop: patience ran out */
} recur_fit_epoch_t;

/* Where the run is, for a progress line. */
typedef struct {
    size_t epoch, epochs;  /* the epoch in progress (1-based; epochs + 1 when done), of */
    size_t batch, batches; /* batches done in it, of */
    double loss;           /* the epoch's running mean training loss (NaN before a batch) */
    uint64_t updates;      /* updates attempted so far in the run (made + skipped) */
    size_t rows_per_epoch; /* rows drawn every epoch (more than the rows when balancing) */
    size_t batch_size;     /* rows per batch */
} recur_fit_status_t;

typedef struct recur_fit recur_fit_t;

/* A run of cfg's model from the weights params (recur_param_count(cfg) values, copied), the
 * optimizer, the trainer and every buffer the loop needs. rng is the run's one generator,
 * owned by the caller and used by every draw; it must outlive the fit. NULL on failure (logged:
 * no labelled training rows, bad options, out of memory). */
recur_fit_t *recur_fit_alloc(const recur_config_t *cfg, const recur_real *params,
                             const recur_fit_opts_t *o, const recur_fit_data_t *d, gsl_rng *rng);
void recur_fit_free(recur_fit_t *f);

/* Continues the run that wrote ckpt (path names it in messages): its weights, optimizer moments
 * and counters, the generator's state and, for a checkpoint taken inside an epoch, the epoch's
 * order, position, sums and the best epoch so far; a model that finished continues with the
 * epoch after its last. Call before the first recur_fit_next. RECUR_EINVAL (logged) when the
 * optimizer or the architecture differ, RECUR_EFORMAT when the state is incomplete or damaged
 * or does not fit the data. */
int recur_fit_restore(recur_fit_t *f, const recur_model_t *ckpt, const char *path) RECUR_WUR;

/* True when no epoch is left to run (the last one ended, patience ran out, or epochs is 0). */
bool recur_fit_done(const recur_fit_t *f);

/* Trains on the next batch of the epoch in progress (the epoch starts, its order drawn, at its
 * first batch). Returns 1 when a batch was trained, 0 when the epoch has no batch left (call
 * recur_fit_epoch_end), RECUR_EDIVERGED after the trainer's run of non-finite updates (logged),
 * the callback's code, or another negative code. */
int recur_fit_next(recur_fit_t *f) RECUR_WUR;

/* Ends the epoch: validation, the best epoch (its weights kept unless keep_last) and patience;
 * fills e. Returns 1 when another epoch follows, 0 when training is over, or a negative code. */
int recur_fit_epoch_end(recur_fit_t *f, recur_fit_epoch_t *e) RECUR_WUR;

void recur_fit_status(const recur_fit_t *f, recur_fit_status_t *s);
/* The current weights (recur_param_count values), owned by the fit. */
const recur_real *recur_fit_params(const recur_fit_t *f);
/* The engine of the trainer's first shard (for the running accuracy, diagnostics). */
recur_engine_t *recur_fit_engine(recur_fit_t *f);

/* The rows drawn for the epoch in progress (*n of them; with balancing, rows repeat), grouped by
 * batch though not in the order the batches are visited; NULL before its first batch. */
const size_t *recur_fit_epoch_rows(const recur_fit_t *f, size_t *n);

/* Writes into m (a model of the fit's architecture, its encoding metadata the caller's) the
 * current weights and the full state recur_fit_restore needs to continue from this batch
 * boundary. 0 or a negative code (logged). */
int recur_fit_checkpoint(const recur_fit_t *f, recur_model_t *m) RECUR_WUR;

/* Writes into m the weights the run keeps - those of the best validation epoch, or of the last
 * epoch (keep_last, or no validation, or no finite validation loss) - with the training state of
 * that moment, so that the model can be trained further with recur_fit_restore; *epoch gets the
 * epoch kept (0: the initial weights) and *best whether it is the best validation epoch. */
int recur_fit_result(const recur_fit_t *f, recur_model_t *m, size_t *epoch, bool *best) RECUR_WUR;

#endif
