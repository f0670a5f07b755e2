/* recur/baseline.h - the baselines a DNA classifier is shown beside, fitted on the model's own
 * training rows: the majority class (per label for multilabel), and logistic regression -
 * multinomial for classify, one per label for multilabel - on k-mer frequencies (k chosen among
 * 1..6) and, when every record has one length, on the positional one-hot encoding; the L2
 * penalty (and k) chosen on validation rows. Fitted by GSL's BFGS (gsl_multimin). */
#ifndef RECUR_BASELINE_H
#define RECUR_BASELINE_H

#include <recur/common.h>
#include <recur/dataset.h>

typedef enum {
    RECUR_BASELINE_MAJORITY,
    RECUR_BASELINE_KMER,
    RECUR_BASELINE_ONEHOT,
    RECUR_BASELINE_KINDS
} recur_baseline_kind_t;

/* "majority", "kmer", "onehot"; parse: 0 or RECUR_EINVAL. */
const char *recur_baseline_name(recur_baseline_kind_t kind);
int recur_baseline_parse(const char *name, recur_baseline_kind_t *kind) RECUR_WUR;

/* One fitted baseline. majority: F = 0 and w holds the K biases (log class shares for classify,
 * logits of label shares for multilabel); the others: logits = W f + b with W (K, F) row-major
 * followed by b (K) in w, f the row's features. */
typedef struct {
    recur_baseline_kind_t kind;
    recur_task_t task; /* classify or multilabel */
    size_t K;          /* classes or labels */
    size_t k;          /* kmer: the k-mer length */
    size_t T;          /* onehot: the record length */
    size_t F;          /* features: 0, 4^k or 4 T */
    double l2;         /* the penalty chosen (0 for majority) */
    double val_acc;    /* validation accuracy of the choice (NaN without validation rows) */
    double *w;         /* (K (F + 1)) malloc'd */
} recur_baseline_t;

/* The baselines of one classifier: b[0..n-1], majority first. */
typedef struct {
    recur_baseline_t b[RECUR_BASELINE_KINDS];
    size_t n;
} recur_baselines_t;

/* Options of the fit; zero means the default in brackets. */
typedef struct {
    size_t max_rows; /* training rows used at most, evenly spaced (20000) */
    size_t max_k;    /* largest k tried (6) */
    size_t max_iter; /* BFGS iterations per fit (200) */
    double tol;      /* a fit stops when the gradient's norm is below it (1e-4) */
    size_t k;        /* when not 0: the only k-mer length tried */
    double l2;       /* when not 0: the only penalty tried */
} recur_baseline_opts_t;

/* Fits every baseline that applies to a DNA dataset ds (4 one-hot features per step, sequence
 * head, classify or multilabel) on its rows train[0..n_train-1]; candidates (k, penalty) are
 * scored on rows val[0..n_val-1] of vds by accuracy (ties: the smaller loss), or, without
 * validation rows, on every fifth training row with the fit on the others, and the choice refit
 * on all training rows. opts may be NULL. 0, or RECUR_EINVAL (logged: not DNA, no training rows)
 * or RECUR_ENOMEM. On failure out is empty. Release with recur_baselines_release(). */
int recur_baselines_fit(const recur_dataset_t *ds, const size_t *train, size_t n_train,
                        const recur_dataset_t *vds, const size_t *val, size_t n_val,
                        const recur_baseline_opts_t *opts, recur_baselines_t *out) RECUR_WUR;
void recur_baselines_release(recur_baselines_t *bs);

/* The baseline's probabilities for rows idx[0..n-1] of ds (all rows when idx is NULL) into p
 * (n, K): softmax for classify, per-label sigmoid for multilabel. 0, or RECUR_EINVAL (logged:
 * ds is not DNA of b's task, or, for onehot, its records are not b->T long) or RECUR_ENOMEM. */
int recur_baseline_predict(const recur_baseline_t *b, const recur_dataset_t *ds, const size_t *idx,
                           size_t n, double *p) RECUR_WUR;

/* Whether recur_baseline_predict() can score rows idx[0..n-1] of ds (all when idx is NULL):
 * DNA records of b's task and outputs and, for onehot, each b->T bases long. Logs nothing. */
bool recur_baseline_applies(const recur_baseline_t *b, const recur_dataset_t *ds, const size_t *idx,
                            size_t n);

/* Accuracy of p (n, K) against the labels of rows idx of ds (as recur_baseline_predict's): the
 * share of rows whose largest probability is their class (classify), or of present row x label
 * decisions p >= 0.5 that are right (multilabel). NaN when nothing is labelled. */
double recur_baseline_accuracy(const recur_dataset_t *ds, const size_t *idx, size_t n,
                               const double *p, size_t K);

/* The baseline of bs with the largest validation accuracy, or NULL when none has one. */
const recur_baseline_t *recur_baselines_best(const recur_baselines_t *bs);

#endif
