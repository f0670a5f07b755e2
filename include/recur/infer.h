/* recur/infer.h - batched inference: a model run forward over the rows of an encoded dataset,
 * dropout off, no gradients, through forward-only engines (recur_engine_alloc_inference). It
 * gives what eval, predict, validation and the forecasters need: class or label probabilities of
 * a sequence head (optionally averaged over both DNA strands, and over the windows of each DNA
 * record), the raw head outputs of a sequence head or, with the state carried from window to
 * window, of a step head, and the model's own loss over a dataset.
 *
 * Every function takes the model as its configuration and flat parameter block (a recur_model_t
 * m runs as recur_model_config(m), recur_model_params_const(m)); neither is kept. The dataset is
 * only read. Outputs are caller-owned arrays of the documented shape, written in full; nothing
 * is allocated that outlives the call. Each returns 0, RECUR_EINVAL when the data do not fit the
 * model or an argument is out of range, RECUR_ENOMEM, or the engine's code; every failure is
 * logged.
 *
 * Rows are chosen by idx[0..n-1] (row indices into ds, any order, repeats allowed; idx NULL: every
 * row in order, n = ds->N) and outputs come in that order. The functions that give one output
 * per row run the rows in batches of at most B of similar length (shortest first, so padding
 * stays small), with fewer rows per batch when the longest would need more than
 * RECUR_INFER_MAX_BYTES of activations. recur_infer_loss runs them in the given order in batches
 * of B, since its mean is accumulated batch by batch. */
#ifndef RECUR_INFER_H
#define RECUR_INFER_H

#include <recur/common.h>
#include <recur/dataset.h>
#include <recur/dna.h>
#include <recur/engine.h>

/* Largest activation memory one batch may ask of the engine (bytes), estimated with the
 * training engine's (G + 9) H per layer, direction, step and row (README, Memory). */
#define RECUR_INFER_MAX_BYTES ((size_t)512 << 20)

/* The model's probabilities for the rows: softmax of the logits (classify) or their sigmoids
 * (multilabel), computed in double, into p (n, O). cfg must have a sequence head and a classify
 * or multilabel task, ds the model's input size. With revcomp_average (4 one-hot channels), each
 * row is also run reverse-complemented (recur_dna_revcomp_batch) and the two probabilities
 * averaged. */
int recur_infer_probs(const recur_config_t *cfg, const recur_real *params,
                      const recur_dataset_t *ds, const size_t *idx, size_t n, size_t B,
                      bool revcomp_average, double *p) RECUR_WUR;

/* recur_infer_probs over every row of a DNA set s, then the mean over each record's windows
 * (recur_dna_record_mean), into p (s->n_records, O). */
int recur_infer_records(const recur_config_t *cfg, const recur_real *params,
                        const recur_dna_set_t *s, size_t B, bool revcomp_average,
                        double *p) RECUR_WUR;

/* Sequence head, any task: the head outputs (logits, or the regression's values) of the rows,
 * into z (n, O). */
int recur_infer_seq_outputs(const recur_config_t *cfg, const recur_real *params,
                            const recur_dataset_t *ds, const size_t *idx, size_t n, size_t B,
                            recur_real *z) RECUR_WUR;

/* Step head, any task: the head outputs at every step of the rows, into z (n, ds->T, O), 0 at
 * masked steps and past a row's length. Each row runs from its first step in windows of at most
 * K steps, the state of forward directions carried from one window to the next (reverse
 * directions start from zero at the end of each window: for a bidirectional model the outputs
 * depend on K; for a unidirectional one they equal a single window over the whole row). */
int recur_infer_step_outputs(const recur_config_t *cfg, const recur_real *params,
                             const recur_dataset_t *ds, const size_t *idx, size_t n, size_t B,
                             size_t K, recur_real *z) RECUR_WUR;

/* The model's own loss on the rows (ds's task, head and outputs must be cfg's; n >= 1): the mean
 * over the loss terms (cross-entropy per label, BCE per target, squared error per target for
 * regression; per record with the sequence head, per valid step with the step head), full BPTT
 * windows. *terms gets the number of terms and, for classify, *accuracy the share of terms
 * whose largest logit is the label (NaN otherwise). */
int recur_infer_loss(const recur_config_t *cfg, const recur_real *params, const recur_dataset_t *ds,
                     const size_t *idx, size_t n, size_t B, double *loss, size_t *terms,
                     double *accuracy) RECUR_WUR;

#endif
