/* metrics.c - classification metrics (include/recur/metrics.h): Mann-Whitney AUROC with ties
 * counted one half, average precision, per-class precision / recall / F1 from the confusion
 * matrix, macro means. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/metrics.h>

/* Probabilities are clamped to this before a logarithm. */
#define P_MIN 1e-300

typedef struct {
    double score;
    unsigned char pos;
} scored_t;

/* Ascending by score; NaN first (lowest). */
static int cmp_scored(const void *a, const void *b)
{
    const double x = ((const scored_t *)a)->score, y = ((const scored_t *)b)->score;
    if (isnan(x) || isnan(y))
        return isnan(y) - isnan(x);
    return (x > y) - (x < y);
}

/* score/pos pairs sorted by ascending score; NULL when out of memory. */
static scored_t *sorted_pairs(const double *score, const unsigned char *pos, size_t n)
{
    scored_t *s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        s[i] = (scored_t){score[i], pos[i] != 0};
    qsort(s, n, sizeof *s, cmp_scored);
    return s;
}

/* True when a and b are tied scores (both NaN counts as tied). */
static bool tied(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

int recur_metrics_auroc(const double *score, const unsigned char *pos, size_t n, double *out)
{
    scored_t *s = sorted_pairs(score, pos, n);
    if (!s) {
        recur_error("metrics: out of memory");
        return RECUR_ENOMEM;
    }
    /* U = (sum of the positives' mid-ranks) - n_pos (n_pos + 1) / 2, ranks 1-based. */
    double rank_sum = 0;
    uint64_t n_pos = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && tied(s[j].score, s[i].score))
            j++;
        const double mid = 0.5 * ((double)(i + 1) + (double)j); /* mean of ranks i+1 .. j */
        for (size_t k = i; k < j; k++)
            if (s[k].pos) {
                rank_sum += mid;
                n_pos++;
            }
        i = j;
    }
    const uint64_t n_neg = (uint64_t)n - n_pos;
    *out = n_pos && n_neg ? (rank_sum - 0.5 * (double)n_pos * ((double)n_pos + 1)) /
                                ((double)n_pos * (double)n_neg)
                          : NAN;
    free(s);
    return 0;
}

int recur_metrics_average_precision(const double *score, const unsigned char *pos, size_t n,
                                    double *out)
{
    scored_t *s = sorted_pairs(score, pos, n);
    if (!s) {
        recur_error("metrics: out of memory");
        return RECUR_ENOMEM;
    }
    uint64_t n_pos = 0;
    for (size_t i = 0; i < n; i++)
        n_pos += s[i].pos;
    double ap = 0, recall_prev = 0;
    uint64_t tp = 0, fp = 0;
    /* From the highest score down, one threshold per distinct score. */
    for (size_t j = n; j > 0 && n_pos;) {
        size_t i = j - 1;
        while (i > 0 && tied(s[i - 1].score, s[j - 1].score))
            i--;
        for (size_t k = i; k < j; k++)
            s[k].pos ? tp++ : fp++;
        const double recall = (double)tp / (double)n_pos;
        ap += (recall - recall_prev) * ((double)tp / (double)(tp + fp));
        recall_prev = recall;
        j = i;
    }
    *out = n_pos ? ap : NAN;
    free(s);
    return 0;
}

size_t recur_metrics_argmax(const double *p, size_t K)
{
    size_t best = 0;
    for (size_t k = 1; k < K; k++)
        if (p[k] > p[best])
            best = k;
    return best;
}

void recur_metrics_free(recur_metrics_t *m)
{
    if (!m)
        return;
    free(m->precision);
    free(m->recall);
    free(m->f1);
    free(m->auroc);
    free(m->auprc);
    free(m->support);
    free(m->confusion);
    free(m);
}

static recur_metrics_t *metrics_alloc(size_t K, size_t conf_cols)
{
    recur_metrics_t *m = calloc(1, sizeof *m);
    size_t kc;
    if (!m || K == 0 || !recur_mul_ok(K, conf_cols, &kc))
        goto fail;
    m->K = K;
    m->precision = malloc(K * sizeof *m->precision);
    m->recall = malloc(K * sizeof *m->recall);
    m->f1 = malloc(K * sizeof *m->f1);
    m->auroc = malloc(K * sizeof *m->auroc);
    m->auprc = malloc(K * sizeof *m->auprc);
    m->support = calloc(K, sizeof *m->support);
    m->confusion = calloc(kc, sizeof *m->confusion);
    if (!m->precision || !m->recall || !m->f1 || !m->auroc || !m->auprc || !m->support ||
        !m->confusion)
        goto fail;
    return m;
fail:
    recur_error("metrics: out of memory");
    recur_metrics_free(m);
    return NULL;
}

/* a / b, NaN when b is 0. */
static double ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : NAN;
}

/* Mean of the values of v[0..K-1] that are not NaN; NaN when none is. */
static double mean_defined(const double *v, size_t K)
{
    double s = 0;
    size_t n = 0;
    for (size_t k = 0; k < K; k++)
        if (!isnan(v[k])) {
            s += v[k];
            n++;
        }
    return n ? s / (double)n : NAN;
}

/* Precision, recall and F1 of class k from its counts. */
static void prf(recur_metrics_t *m, size_t k, uint64_t tp, uint64_t fp, uint64_t fn)
{
    m->precision[k] = ratio(tp, tp + fp);
    m->recall[k] = ratio(tp, tp + fn);
    m->f1[k] = ratio(2 * tp, 2 * tp + fp + fn);
}

static void macros(recur_metrics_t *m)
{
    m->macro_precision = mean_defined(m->precision, m->K);
    m->macro_recall = mean_defined(m->recall, m->K);
    m->macro_f1 = mean_defined(m->f1, m->K);
    m->macro_auroc = mean_defined(m->auroc, m->K);
    m->macro_auprc = mean_defined(m->auprc, m->K);
}

/* One-vs-rest AUROC and AUPRC of column k of p (rows rows[0..n-1]) with positives pos. */
static int ranking(recur_metrics_t *m, size_t k, const double *p, size_t K, const size_t *rows,
                   size_t n, const unsigned char *pos, double *col)
{
    for (size_t i = 0; i < n; i++)
        col[i] = p[rows[i] * K + k];
    if (recur_metrics_auroc(col, pos, n, &m->auroc[k]) != 0 ||
        recur_metrics_average_precision(col, pos, n, &m->auprc[k]) != 0)
        return RECUR_ENOMEM;
    return 0;
}

recur_metrics_t *recur_metrics_classify(const double *p, const int32_t *y, size_t N, size_t K)
{
    recur_metrics_t *m = metrics_alloc(K, K);
    size_t *rows = malloc((N ? N : 1) * sizeof *rows); /* (n) labelled records */
    unsigned char *pos = malloc(N ? N : 1);            /* (n) */
    double *col = malloc((N ? N : 1) * sizeof *col);   /* (n) */
    if (!m || !rows || !pos || !col) {
        if (m)
            recur_error("metrics: out of memory");
        goto fail;
    }
    size_t n = 0, right = 0;
    double loss = 0;
    for (size_t i = 0; i < N; i++) {
        if (y[i] < 0)
            continue;
        if ((size_t)y[i] >= K) {
            recur_error("metrics: label %d of record %zu is not below %zu", (int)y[i], i, K);
            goto fail;
        }
        const size_t pred = recur_metrics_argmax(p + i * K, K);
        m->confusion[(size_t)y[i] * K + pred]++;
        m->support[y[i]]++;
        right += pred == (size_t)y[i];
        loss -= log(fmax(p[i * K + (size_t)y[i]], P_MIN));
        rows[n++] = i;
    }
    m->N = n;
    m->accuracy = m->subset_accuracy = ratio(right, n);
    m->loss = n ? loss / (double)n : NAN;
    for (size_t k = 0; k < K; k++) {
        uint64_t predicted = 0;
        for (size_t t = 0; t < K; t++)
            predicted += m->confusion[t * K + k];
        const uint64_t tp = m->confusion[k * K + k];
        prf(m, k, tp, predicted - tp, m->support[k] - tp);
        for (size_t i = 0; i < n; i++)
            pos[i] = (size_t)y[rows[i]] == k;
        if (ranking(m, k, p, K, rows, n, pos, col) != 0)
            goto fail;
    }
    macros(m);
    m->balanced_accuracy = m->macro_recall;
    free(rows);
    free(pos);
    free(col);
    return m;
fail:
    recur_metrics_free(m);
    free(rows);
    free(pos);
    free(col);
    return NULL;
}

recur_metrics_t *recur_metrics_multilabel(const double *p, const float *t,
                                          const unsigned char *present, size_t N, size_t K)
{
    recur_metrics_t *m = metrics_alloc(K, 4);
    size_t *rows = malloc((N ? N : 1) * sizeof *rows); /* (n) records with the label */
    unsigned char *pos = malloc(N ? N : 1);            /* (n) */
    double *col = malloc((N ? N : 1) * sizeof *col);   /* (n) */
    unsigned char *all_right = malloc(N ? N : 1);      /* (N) */
    unsigned char *any = calloc(N ? N : 1, 1);         /* (N) a target present */
    if (!m || !rows || !pos || !col || !all_right || !any) {
        if (m)
            recur_error("metrics: out of memory");
        goto fail;
    }
    memset(all_right, 1, N);
    uint64_t decisions = 0, right = 0;
    double loss = 0, bal = 0;
    size_t n_bal = 0;
    for (size_t k = 0; k < K; k++) {
        uint64_t tp = 0, fp = 0, fn = 0, tn = 0;
        size_t n = 0;
        for (size_t i = 0; i < N; i++) {
            if (present && !present[i * K + k])
                continue;
            const double q = p[i * K + k];
            const bool truth = t[i * K + k] >= 0.5f, pred = q >= 0.5;
            truth ? (pred ? tp++ : fn++) : (pred ? fp++ : tn++);
            if (pred != truth)
                all_right[i] = 0;
            any[i] = 1;
            loss -= truth ? log(fmax(q, P_MIN)) : log(fmax(1 - q, P_MIN));
            pos[n] = truth;
            rows[n++] = i;
        }
        uint64_t *c = m->confusion + k * 4;
        c[0] = tp, c[1] = fp, c[2] = fn, c[3] = tn;
        m->support[k] = tp + fn;
        decisions += n;
        right += tp + tn;
        prf(m, k, tp, fp, fn);
        const double sens = ratio(tp, tp + fn), spec = ratio(tn, tn + fp);
        const double b = isnan(sens) ? spec : isnan(spec) ? sens : 0.5 * (sens + spec);
        if (!isnan(b)) {
            bal += b;
            n_bal++;
        }
        if (ranking(m, k, p, K, rows, n, pos, col) != 0)
            goto fail;
    }
    size_t n_rec = 0, n_all = 0;
    for (size_t i = 0; i < N; i++) {
        n_rec += any[i];
        n_all += any[i] && all_right[i];
    }
    m->multilabel = true;
    m->N = n_rec;
    m->accuracy = ratio(right, decisions);
    m->subset_accuracy = ratio(n_all, n_rec);
    m->loss = decisions ? loss / (double)decisions : NAN;
    m->balanced_accuracy = n_bal ? bal / (double)n_bal : NAN;
    macros(m);
    free(rows);
    free(pos);
    free(col);
    free(all_right);
    free(any);
    return m;
fail:
    recur_metrics_free(m);
    free(rows);
    free(pos);
    free(col);
    free(all_right);
    free(any);
    return NULL;
}
