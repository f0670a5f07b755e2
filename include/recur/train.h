/* recur/train.h - one training step over a batch: full BPTT, or truncated BPTT with an update
 * per window of K steps (TBPTT(K, K)); clipping and the optimizer from recur/optim.h; steps
 * whose loss or gradient is not finite are skipped and counted, and a run of them stops
 * training.
 *
 * Parallelism: a batch of B sequences is cut into ceil(B / shard_rows) shards of nearly equal
 * size, each run through all its steps by an engine of its own, as tasks on a pool of threads;
 * the shards' gradients (each of the loss summed over the shard's terms, divided by the terms
 * of the whole batch) are added in shard order. The shards depend on B and shard_rows only, so
 * results are bit-identical for any number of threads. With several shards and dropout, each
 * shard draws from a generator seeded from the caller's, in shard order.
 *
 * Memory: the shards' engines (recur/engine.h) sized for windows of K steps, so O(K B H)
 * activations in all, one gradient block per shard, and with several shards a copy of the
 * batch (inputs, mask, targets). */
#ifndef RECUR_TRAIN_H
#define RECUR_TRAIN_H

#include <recur/engine.h>
#include <recur/optim.h>

/* One optimizer update as the trainer saw it, for a per-update log. */
typedef struct {
    uint64_t update;   /* updates attempted so far, this one included (the optimizer's steps
                          plus skipped steps: continues across --resume) */
    double loss;       /* the window's mean loss */
    double norm;       /* global gradient L2 norm before clipping (NaN when not finite) */
    double norm_after; /* the norm the optimizer applied: min(norm, clip), or norm */
    bool skipped;      /* not finite: no update made */
} recur_update_info_t;

typedef struct {
    size_t tbptt;         /* window K; 0 = full BPTT */
    size_t max_bad_steps; /* consecutive non-finite steps that end training (0 = 10) */
    uint64_t nan_at_step; /* testing: make the gradient of this update (1-based) NaN; 0 = off */
    size_t threads;       /* threads running the shards (0 = 1). Results do not depend on it;
                             recur_trainer_alloc sets OpenBLAS to one thread */
    size_t shard_rows;    /* sequences per shard at most (0 = 32); results depend on it */
    bool deterministic_reduce; /* across MPI ranks: the shards' gradients gathered and summed
                                  in shard order on every rank, so results are bit-identical
                                  for any number of ranks (else: an all-reduce of per-rank
                                  sums); dropout then draws from one stream per shard */
    double act_reg;   /* activation regulariser lambda (recur_engine_set_act_reg; 0 = off) */
    bool act_reg_all; /* experiment-only: the regulariser over padded steps too */
    /* Called after every update attempted (NULL = none); a non-zero return stops training
     * with that code. */
    int (*on_update)(void *ctx, const recur_update_info_t *u);
    void *on_update_ctx;
} recur_train_opts_t;

/* What one call did. */
typedef struct {
    double loss;          /* mean over the loss terms of the batch (each window's mean,
                             weighted by its number of terms) */
    size_t terms;         /* loss terms */
    size_t updates;       /* optimizer updates made */
    size_t skipped;       /* updates skipped as non-finite */
    double grad_norm_max; /* largest gradient norm before clipping */
    double grad_norm_sum; /* sum of the norms (for the mean over updates) */
    size_t clipped;       /* updates whose gradient was clipped */
} recur_train_stats_t;

typedef struct recur_trainer recur_trainer_t;

/* Engines and buffers for batches of at most T_max steps and B_max sequences (and the thread
 * pool). The optimizer is owned by the caller and must outlive the trainer. NULL on failure
 * (logged). */
recur_trainer_t *recur_trainer_alloc(const recur_config_t *cfg, recur_optim_t *opt,
                                     const recur_train_opts_t *o, size_t T_max, size_t B_max);
void recur_trainer_free(recur_trainer_t *tr);
/* The engine of the first shard (all shards share its configuration). */
recur_engine_t *recur_trainer_engine(recur_trainer_t *tr);
/* Shards a batch of B sequences is cut into. */
size_t recur_trainer_shards(const recur_trainer_t *tr, size_t B);

/* Trains on one batch (dropout from rng). Returns 0, RECUR_EDIVERGED after max_bad_steps
 * consecutive non-finite steps (logged with the step number), or another negative code. */
int recur_trainer_batch(recur_trainer_t *tr, recur_real *params, const recur_batch_t *b,
                        gsl_rng *rng, recur_train_stats_t *st) RECUR_WUR;

/* Loss of a batch without training (dropout off), window by window as in training. */
int recur_trainer_eval(recur_trainer_t *tr, const recur_real *params, const recur_batch_t *b,
                       double *loss, size_t *terms) RECUR_WUR;

#endif
