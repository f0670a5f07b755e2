/* recur/metrics.h - classification metrics from predicted probabilities and true labels:
 * accuracy, balanced accuracy, loss, per-class precision / recall / F1 / support, one-vs-rest
 * AUROC and AUPRC, the confusion matrix and macro averages; and the model's probabilities over
 * the rows of a dataset (the input of those metrics, of `recur predict` and of validation).
 *
 * Definitions (every count accumulated exactly, every mean in double):
 *   AUROC  the Mann-Whitney statistic: the probability that a random positive scores above a
 *          random negative, ties counting one half; equal to the trapezoidal area under the ROC
 *          curve. NaN without positives or without negatives.
 *   AUPRC  average precision, sum over thresholds of (R_k - R_{k-1}) P_k, the thresholds being
 *          the distinct scores from the highest down (tied scores form one threshold), as
 *          sklearn.metrics.average_precision_score; no interpolation. NaN without positives.
 *   precision tp / (tp + fp), NaN with no prediction of the class; recall tp / (tp + fn), NaN
 *          with no true member; F1 2 tp / (2 tp + fp + fn), NaN when all three are 0.
 *   macro  the mean over classes (labels) of the values that are not NaN.
 *   classify: prediction = the most probable class (the lowest index among ties);
 *          accuracy = fraction predicted right; balanced accuracy = macro recall; loss = mean of
 *          -log p[true class] (p clamped to >= 1e-300).
 *   multilabel: label k predicted when p >= 0.5; accuracy = fraction of record x label
 *          decisions right; subset accuracy = fraction of records with every label right;
 *          balanced accuracy = mean over labels of (recall + specificity) / 2, each over the
 *          terms that are defined; loss = mean binary cross-entropy over records x labels. */
#ifndef RECUR_METRICS_H
#define RECUR_METRICS_H

#include <recur/common.h>
#include <recur/dataset.h>
#include <recur/engine.h>

/* AUROC of scores score[0..n-1] with positives pos[i] != 0 into *out (NaN when undefined).
 * 0 or RECUR_ENOMEM. */
int recur_metrics_auroc(const double *score, const unsigned char *pos, size_t n,
                        double *out) RECUR_WUR;
/* Average precision (AUPRC) of the same, into *out (NaN when undefined). 0 or RECUR_ENOMEM. */
int recur_metrics_average_precision(const double *score, const unsigned char *pos, size_t n,
                                    double *out) RECUR_WUR;

/* Everything `recur eval` reports for a classifier. Arrays are owned by the struct. */
typedef struct {
    size_t N, K; /* records; classes (classify) or labels (multilabel) */
    bool multilabel;
    double loss, accuracy, subset_accuracy, balanced_accuracy;
    double *precision, *recall, *f1, *auroc, *auprc; /* (K) */
    uint64_t *support;   /* (K) records of the class; multilabel: positives of the label */
    uint64_t *confusion; /* classify (K, K), row = true class, column = predicted;
                            multilabel (K, 4): tp, fp, fn, tn of each label */
    double macro_precision, macro_recall, macro_f1, macro_auroc, macro_auprc;
} recur_metrics_t;

/* Metrics of class probabilities p (N, K) (rows summing to 1) against labels y (N) in [0, K);
 * records with label -1 are left out (N counts the others). NULL on failure (logged). */
recur_metrics_t *recur_metrics_classify(const double *p, const int32_t *y, size_t N, size_t K);
/* Metrics of label probabilities p (N, K) against targets t (N, K) in {0, 1}; present (N, K),
 * 1 = target present, may be NULL (all present); absent targets are left out. NULL on failure
 * (logged). */
recur_metrics_t *recur_metrics_multilabel(const double *p, const float *t,
                                          const unsigned char *present, size_t N, size_t K);
void recur_metrics_free(recur_metrics_t *m);

/* Index of the largest of p[0..K-1] (the first among ties). */
size_t recur_metrics_argmax(const double *p, size_t K);

/* The model's probabilities for rows idx[0..n-1] of ds (idx NULL: every row, n = ds->N):
 * softmax of the logits (classify) or their sigmoids (multilabel), computed in double, into
 * p (n, O) in idx order. cfg must have a sequence head and ds the model's input size. Rows are
 * run in batches of at most B of similar length (fewer when the longest would need more than
 * 512 MiB of activations), dropout off. With revcomp_average (4 one-hot channels), each row is
 * also run reverse-complemented (recur_dna_revcomp_batch) and the two probabilities averaged.
 * 0, or a negative code (logged). */
int recur_metrics_predict(const recur_config_t *cfg, const recur_real *params,
                          const recur_dataset_t *ds, const size_t *idx, size_t n, size_t B,
                          bool revcomp_average, double *p) RECUR_WUR;

/* The model's own loss on every row of ds (its data kind must fit cfg): the mean over the loss
 * terms (cross-entropy per label, BCE per target, squared error per target for regression;
 * per record with the sequence head, per valid step with the step head), full BPTT windows,
 * dropout off, rows in order in batches of at most B. *terms gets the number of terms and, for
 * classify, *accuracy the share of terms whose largest logit is the label (NaN otherwise).
 * 0, or a negative code (logged). */
int recur_metrics_dataset_loss(const recur_config_t *cfg, const recur_real *params,
                               const recur_dataset_t *ds, size_t B, double *loss, size_t *terms,
                               double *accuracy) RECUR_WUR;

#endif
