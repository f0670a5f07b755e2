/* recur/diagnose.h - gradient flow through time, measured: per-step norms of d loss / d h_t,
 * norms of Jacobian products d h_t / d h_k against the lag t - k, the Lyapunov spectrum of the
 * state dynamics along the data (QR re-orthonormalisation, GSL), and the bias of truncated
 * BPTT against the full gradient.
 *
 * Jacobians are computed in double precision from a forward pass of their own, one sequence
 * at a time, with the cell equations of engine.h; for the LSTM the state is the joint (h, c),
 * of size 2H. A masked step's Jacobian is the identity (the state is carried unchanged). */
#ifndef RECUR_DIAGNOSE_H
#define RECUR_DIAGNOSE_H

#include <recur/engine.h>

/* ||d loss / d h_t|| (Frobenius over the batch) for every window step t of a full-BPTT
 * forward and backward of batch b: out[(l * D + d) * T + t]. The loss is the model's own. */
int recur_diag_grad_norms(const recur_config_t *cfg, const recur_real *params,
                          const recur_batch_t *b, double *out) RECUR_WUR;

/* Size of the recurrent state whose Jacobians are taken: H, or 2H for the LSTM. */
size_t recur_diag_state_size(const recur_config_t *cfg);

/* Jacobian d s_t / d s_{t-1} of layer l, direction d, for sequence `seq` of batch b, at every
 * step in processing order (the reverse direction processes t = T-1 .. 0): jac gets
 * (T, n, n) row-major, n = recur_diag_state_size(cfg), jac[s] for the s-th processed step.
 * Also the double-precision states h of that layer-direction, (T, H) in time order (may be
 * NULL). */
int recur_diag_jacobians(const recur_config_t *cfg, const recur_real *params,
                         const recur_batch_t *b, size_t seq, size_t layer, size_t dir, double *jac,
                         double *h) RECUR_WUR;

/* One step of layer l, direction d in double precision from input x (in) and state s (n):
 * s_next (n) and, when J is not NULL, the Jacobian d s_next / d s, (n, n) row-major. */
int recur_diag_cell_step(const recur_config_t *cfg, const recur_real *params, size_t layer,
                         size_t dir, const double *x, const double *s, double *s_next,
                         double *J) RECUR_WUR;

/* Spectral norm of the product of Jacobians from the last valid step of each sequence back
 * over `lag` steps, for lag = 1 .. max_lag: out[lag - 1] = geometric mean over the sequences
 * (at most max_seqs of them, the first ones) that are long enough; NAN where none is. */
int recur_diag_jacobian_norms(const recur_config_t *cfg, const recur_real *params,
                              const recur_batch_t *b, size_t layer, size_t dir, size_t max_lag,
                              size_t max_seqs, double *out) RECUR_WUR;

/* The k largest Lyapunov exponents (per step, natural log) of layer l, direction d along the
 * data: Q <- qr(J_t Q) at every valid step, exponents = mean of log |diag R|, averaged over the
 * first max_seqs sequences. out gets k values, largest first. */
int recur_diag_lyapunov(const recur_config_t *cfg, const recur_real *params, const recur_batch_t *b,
                        size_t layer, size_t dir, size_t k, size_t max_seqs, double *out) RECUR_WUR;

/* Bias of truncated BPTT: the gradient with windows of K steps (each window's gradient
 * weighted by its share of the loss terms, so that without truncation the sum is the full
 * gradient) against the full-BPTT gradient, at the same parameters: cosine similarity and
 * relative error ||g_K - g|| / ||g||. */
int recur_diag_tbptt_bias(const recur_config_t *cfg, const recur_real *params,
                          const recur_batch_t *b, size_t K, double *cosine,
                          double *relerr) RECUR_WUR;

/* The padding lesson: for each P[k], the relative error ||g_pad - g|| / ||g|| of the parameter
 * gradient of (loss + activation regulariser lambda, recur_engine_set_act_reg) on batch b with
 * P[k] padded steps appended to every sequence, against the exact gradient g: each sequence run
 * alone at its own length, the gradients summed (normalised by the batch's loss terms; computed
 * once). masked[k] with the regulariser over the valid steps, unmasked[k] with its
 * experiment-only switch (over padded steps too). A correct mask gives float rounding only; the
 * switch leaks gradient from the padded steps into the real ones. */
int recur_diag_padding_leak(const recur_config_t *cfg, const recur_real *params,
                            const recur_batch_t *b, double lambda, const size_t *P, size_t nP,
                            double *masked, double *unmasked) RECUR_WUR;

/* Gradient-norm statistics of a training run, from the per-update log of
 * `recur train --grad-log` (header update, epoch, loss, grad_norm, grad_norm_clipped,
 * skipped). Skipped updates count in `skipped` only. */
enum { RECUR_GSTAT_MEAN, RECUR_GSTAT_MEDIAN, RECUR_GSTAT_P90, RECUR_GSTAT_MAX, RECUR_GSTAT_N };
typedef struct {
    size_t epoch;                 /* 0: all epochs together */
    size_t updates;               /* finite updates */
    size_t skipped, clipped;      /* skipped as non-finite; clipped (applied < before) */
    double before[RECUR_GSTAT_N]; /* norms before clipping: mean, median, 90th pct, max */
    double after[RECUR_GSTAT_N];  /* the norms applied, after clipping */
} recur_grad_stats_t;

/* Reads the log from fp (name for messages) and sets *out to a malloc'ed array of *n rows:
 * one per epoch in order, then the row of all epochs (epoch 0). The caller frees *out.
 * RECUR_EINVAL (logged as "name: line N: ...") on a malformed log. */
int recur_diag_grad_log(FILE *fp, const char *name, recur_grad_stats_t **out, size_t *n) RECUR_WUR;

#endif
