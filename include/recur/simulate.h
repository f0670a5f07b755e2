/* recur/simulate.h - synthetic tasks with known answers, for the long-memory experiments:
 *
 *   adding  (Le, Jaitly & Hinton 2015; Arjovsky, Shah & Bengio 2016): two channels per step,
 *           T numbers U(0, 1) and a marker that is 1 at exactly two steps, one in each half
 *           (first half [0, T/2), second [T/2, T)); target: the sum of the two marked numbers.
 *           Regression with a sequence head; predicting the constant 1 gives MSE 1/6 = 0.167.
 *           With a delay D, D more steps follow (numbers U(0, 1), marker 0), so that both
 *           markers lie more than D steps before the loss: a dependency longer than D.
 *   copy    (Arjovsky et al. 2016): 10 symbols drawn from an alphabet of 8 (classes 1..8), T
 *           blanks (class 0) of which the last is replaced by the delimiter (9), then 10 more
 *           blanks: T + 20 steps, inputs one-hot over 10 channels. Targets per step: blank
 *           everywhere but the last 10 steps, which repeat the 10 symbols. Classification with
 *           a step head over 9 classes; the memoryless baseline (blanks, then uniform over the
 *           alphabet) has cross-entropy 10 log(8) / (T + 20).
 *   motif   DNA, uniform background; in the positive class one site drawn from a position
 *           weight matrix (consensus TGACTCA, 0.85 on the consensus base, 0.05 on each other)
 *           is planted so that it ends `distance` bases before the sequence end: the memory a
 *           model needs is known.
 * All draws come from the caller's gsl_rng, in a fixed order. */
#ifndef RECUR_SIMULATE_H
#define RECUR_SIMULATE_H

#include <gsl/gsl_rng.h>

#include <recur/dataset.h>

#define RECUR_SIM_COPY_SYMBOLS 10 /* symbols to remember */
#define RECUR_SIM_COPY_ALPHABET 8

/* N sequences of T steps (T >= 2). NULL on failure (logged). */
recur_dataset_t *recur_sim_adding(size_t N, size_t T, gsl_rng *rng);
/* The same with `delay` unmarked steps after the T: T + delay steps in all. delay = 0 gives
 * recur_sim_adding()'s data, draw for draw. */
recur_dataset_t *recur_sim_adding_delayed(size_t N, size_t T, size_t delay, gsl_rng *rng);
/* N sequences of T + 20 steps (T >= 1). NULL on failure (logged). */
recur_dataset_t *recur_sim_copy(size_t N, size_t T, gsl_rng *rng);

/* The motif's length and consensus. */
#define RECUR_SIM_MOTIF "TGACTCA"

/* N sequences of length T over ACGT into seqs (N * T bytes, not terminated): the first N/2
 * (rounded up) positive, with a planted site ending `distance` bases before the end
 * (distance + strlen(RECUR_SIM_MOTIF) <= T), the others background. RECUR_EINVAL (logged) on
 * bad sizes. */
int recur_sim_motif(size_t N, size_t T, size_t distance, gsl_rng *rng, char *seqs) RECUR_WUR;

#endif
