/* recur/metrics.h - classification metrics from predicted probabilities and true labels:
 * accuracy, balanced accuracy, loss, per-class precision / recall / F1 / support, one-vs-rest
 * AUROC and AUPRC, the confusion matrix and macro averages. The probabilities come from
 * recur/infer.h (recur_infer_probs).
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

#endif
