/* check_metrics.c - tests of the classification metrics (src/metrics.c) against closed forms and
 * hand computations: AUROC as the share of positive-negative pairs ordered right (ties one half)
 * and average precision on worked examples, both against brute-force definitions on random
 * scores with many ties; precision / recall / F1 / balanced accuracy / confusion / loss of a
 * worked 3-class example; undefined values (NaN) and their exclusion from macro means;
 * multilabel metrics of a worked example. */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_rng.h>

#include <recur/metrics.h>

#include "testutil.h"

#define TOL 1e-12

static double auroc(const double *s, const unsigned char *y, size_t n)
{
    double a;
    ck_assert_int_eq(recur_metrics_auroc(s, y, n, &a), 0);
    return a;
}

static double ap(const double *s, const unsigned char *y, size_t n)
{
    double a;
    ck_assert_int_eq(recur_metrics_average_precision(s, y, n, &a), 0);
    return a;
}

START_TEST(test_auroc_closed_forms)
{
    const double s[4] = {0.1, 0.4, 0.35, 0.8};
    const unsigned char y[4] = {0, 0, 1, 1};
    /* pairs (pos, neg): (0.35, 0.1) right, (0.35, 0.4) wrong, (0.8, *) right: 3 / 4 */
    ck_assert_double_eq_tol(auroc(s, y, 4), 0.75, TOL);
    const unsigned char perfect[4] = {0, 1, 0, 1};
    ck_assert_double_eq_tol(auroc(s, perfect, 4), 1.0, TOL);
    const unsigned char reversed[4] = {1, 0, 1, 0};
    ck_assert_double_eq_tol(auroc(s, reversed, 4), 0.0, TOL);
    /* all tied: every pair counts one half */
    const double flat[5] = {0.3, 0.3, 0.3, 0.3, 0.3};
    const unsigned char y5[5] = {1, 0, 0, 1, 0};
    ck_assert_double_eq_tol(auroc(flat, y5, 5), 0.5, TOL);
    /* ties across classes: (pos 0.5 vs neg 0.5) one half, (pos 0.5 vs neg 0.2) one: 3 / 4 */
    const double t[4] = {0.5, 0.5, 0.5, 0.2};
    const unsigned char yt[4] = {1, 0, 1, 0};
    ck_assert_double_eq_tol(auroc(t, yt, 4), 0.75, TOL);
    /* undefined without positives or negatives */
    const unsigned char none[4] = {0, 0, 0, 0}, all[4] = {1, 1, 1, 1};
    ck_assert(isnan(auroc(s, none, 4)));
    ck_assert(isnan(auroc(s, all, 4)));
    ck_assert(isnan(auroc(s, y, 0)));
}
END_TEST

START_TEST(test_average_precision_closed_forms)
{
    /* sklearn's documented example: 0.8333... Descending: 0.8 (+) P 1 R 1/2; 0.4 (-) R stays;
     * 0.35 (+) P 2/3 R 1. AP = 1/2 * 1 + 1/2 * 2/3 = 5/6. */
    const double s[4] = {0.1, 0.4, 0.35, 0.8};
    const unsigned char y[4] = {0, 0, 1, 1};
    ck_assert_double_eq_tol(ap(s, y, 4), 5.0 / 6.0, TOL);
    const unsigned char perfect[4] = {0, 1, 0, 1};
    ck_assert_double_eq_tol(ap(s, perfect, 4), 1.0, TOL);
    /* tied scores are one threshold: {0.5: +, -, +} then {0.2: -}: P 2/3 at R 1 */
    const double t[4] = {0.5, 0.5, 0.5, 0.2};
    const unsigned char yt[4] = {1, 0, 1, 0};
    ck_assert_double_eq_tol(ap(t, yt, 4), 2.0 / 3.0, TOL);
    /* worst order: positive last of 4: P 1/4 at R 1 */
    const unsigned char last[4] = {1, 0, 0, 0};
    ck_assert_double_eq_tol(ap(s, last, 4), 0.25, TOL);
    /* every record positive: precision 1 everywhere */
    const unsigned char all[4] = {1, 1, 1, 1};
    ck_assert_double_eq_tol(ap(s, all, 4), 1.0, TOL);
    const unsigned char none[4] = {0, 0, 0, 0};
    ck_assert(isnan(ap(s, none, 4)));
}
END_TEST

/* The definitions, written out the slow way. */
static double brute_auroc(const double *s, const unsigned char *y, size_t n)
{
    double right = 0;
    size_t pairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (y[i] && !y[j]) {
                pairs++;
                right += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
            }
    return pairs ? right / (double)pairs : NAN;
}

static double brute_ap(const double *s, const unsigned char *y, size_t n)
{
    size_t npos = 0;
    for (size_t i = 0; i < n; i++)
        npos += y[i];
    /* thresholds: every distinct score, from the highest down */
    double sum = 0, prev_recall = 0, thr = INFINITY;
    for (;;) {
        double next = -INFINITY;
        for (size_t i = 0; i < n; i++)
            if (s[i] < thr && s[i] > next)
                next = s[i];
        if (next == -INFINITY)
            break;
        thr = next;
        size_t tp = 0, fp = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i] >= thr)
                y[i] ? tp++ : fp++;
        const double recall = (double)tp / (double)npos;
        sum += (recall - prev_recall) * (double)tp / (double)(tp + fp);
        prev_recall = recall;
    }
    return sum;
}

START_TEST(test_ranking_against_brute_force)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 17);
    double s[300];
    unsigned char y[300];
    for (int trial = 0; trial < 40; trial++) {
        const size_t n = 2 + gsl_rng_uniform_int(rng, 299);
        size_t npos = 0;
        for (size_t i = 0; i < n; i++) {
            y[i] = gsl_rng_uniform(rng) < 0.3;
            /* few distinct values: many ties; positives score a little higher */
            s[i] = floor(10 * (gsl_rng_uniform(rng) + 0.2 * y[i])) / 10;
            npos += y[i];
        }
        if (npos == 0 || npos == n) {
            y[0] = !y[0];
            npos += y[0] ? 1 : (size_t)-1;
        }
        ck_assert_double_eq_tol(auroc(s, y, n), brute_auroc(s, y, n), 1e-12);
        ck_assert_double_eq_tol(ap(s, y, n), brute_ap(s, y, n), 1e-12);
    }
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_classify_worked_example)
{
    /* 3 classes; predictions (argmax) 0, 1, 1, 1, 2, 0 for labels 0, 0, 1, 1, 2, 2; the 7th
     * record is unlabelled and left out. */
    const double p[7 * 3] = {0.7, 0.2, 0.1, 0.3, 0.6, 0.1, 0.1, 0.8, 0.1,  0.2, 0.5,
                             0.3, 0.1, 0.1, 0.8, 0.5, 0.1, 0.4, 0.9, 0.05, 0.05};
    const int32_t y[7] = {0, 0, 1, 1, 2, 2, -1};
    recur_metrics_t *m = recur_metrics_classify(p, y, 7, 3);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->N, 6);
    ck_assert_double_eq_tol(m->accuracy, 4.0 / 6.0, TOL);
    const uint64_t conf[9] = {1, 1, 0, 0, 2, 0, 1, 0, 1};
    for (int i = 0; i < 9; i++)
        ck_assert_uint_eq(m->confusion[i], conf[i]);
    const double prec[3] = {0.5, 2.0 / 3.0, 1.0}, rec[3] = {0.5, 1.0, 0.5},
                 f1[3] = {0.5, 0.8, 2.0 / 3.0};
    for (int k = 0; k < 3; k++) {
        ck_assert_double_eq_tol(m->precision[k], prec[k], TOL);
        ck_assert_double_eq_tol(m->recall[k], rec[k], TOL);
        ck_assert_double_eq_tol(m->f1[k], f1[k], TOL);
        ck_assert_uint_eq(m->support[k], 2);
    }
    ck_assert_double_eq_tol(m->balanced_accuracy, 2.0 / 3.0, TOL);
    ck_assert_double_eq_tol(m->macro_precision, (0.5 + 2.0 / 3.0 + 1.0) / 3.0, TOL);
    ck_assert_double_eq_tol(m->macro_f1, (0.5 + 0.8 + 2.0 / 3.0) / 3.0, TOL);
    const double loss = -(log(0.7) + log(0.3) + log(0.8) + log(0.5) + log(0.8) + log(0.4)) / 6;
    ck_assert_double_eq_tol(m->loss, loss, TOL);
    /* class 0 one-vs-rest: positives score 0.7, 0.3; negatives 0.1, 0.2, 0.1, 0.5:
     * 0.7 beats all 4, 0.3 beats 3: 7 / 8 */
    ck_assert_double_eq_tol(m->auroc[0], 7.0 / 8.0, TOL);
    /* class 2: positives 0.8, 0.4; negatives 0.1, 0.1, 0.1, 0.3: 8 / 8; AP 1 */
    ck_assert_double_eq_tol(m->auroc[2], 1.0, TOL);
    ck_assert_double_eq_tol(m->auprc[2], 1.0, TOL);
    recur_metrics_free(m);
}
END_TEST

START_TEST(test_classify_undefined)
{
    /* 4 classes, class 3 neither present nor predicted: its precision, recall, F1, AUROC and
     * AUPRC are NaN and left out of the macro means and the balanced accuracy. */
    const double p[4 * 4] = {0.6, 0.2, 0.1, 0.1, 0.2, 0.6, 0.1, 0.1,
                             0.2, 0.2, 0.5, 0.1, 0.6, 0.2, 0.1, 0.1};
    const int32_t y[4] = {0, 1, 2, 2};
    recur_metrics_t *m = recur_metrics_classify(p, y, 4, 4);
    ck_assert_ptr_nonnull(m);
    ck_assert(isnan(m->precision[3]) && isnan(m->recall[3]) && isnan(m->f1[3]));
    ck_assert(isnan(m->auroc[3]) && isnan(m->auprc[3]));
    ck_assert_double_eq_tol(m->recall[2], 0.5, TOL);
    ck_assert_double_eq_tol(m->balanced_accuracy, (1.0 + 1.0 + 0.5) / 3.0, TOL);
    ck_assert_double_eq_tol(m->macro_recall, (1.0 + 1.0 + 0.5) / 3.0, TOL);
    ck_assert_double_eq_tol(m->precision[0], 0.5, TOL);
    recur_metrics_free(m);
    /* a label out of range is refused */
    const int32_t bad[4] = {0, 1, 2, 4};
    ck_assert_ptr_null(recur_metrics_classify(p, bad, 4, 4));
    /* argmax: the first of ties */
    const double tie[3] = {0.4, 0.4, 0.2};
    ck_assert_uint_eq(recur_metrics_argmax(tie, 3), 0);
}
END_TEST

START_TEST(test_multilabel_worked_example)
{
    const double p[3 * 2] = {0.9, 0.2, 0.4, 0.7, 0.6, 0.1};
    const float t[3 * 2] = {1, 0, 1, 1, 0, 0};
    recur_metrics_t *m = recur_metrics_multilabel(p, t, NULL, 3, 2);
    ck_assert_ptr_nonnull(m);
    ck_assert(m->multilabel);
    /* label 0: truth 1 1 0, predicted 1 0 1 -> tp 1 fp 1 fn 1 tn 0; label 1: tp 1 tn 2 */
    const uint64_t c[8] = {1, 1, 1, 0, 1, 0, 0, 2};
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(m->confusion[i], c[i]);
    ck_assert_double_eq_tol(m->accuracy, 4.0 / 6.0, TOL);
    ck_assert_double_eq_tol(m->subset_accuracy, 1.0 / 3.0, TOL);
    ck_assert_double_eq_tol(m->balanced_accuracy, (0.25 + 1.0) / 2.0, TOL);
    ck_assert_double_eq_tol(m->precision[0], 0.5, TOL);
    ck_assert_double_eq_tol(m->f1[1], 1.0, TOL);
    ck_assert_uint_eq(m->support[0], 2);
    const double loss = -(log(0.9) + log(0.8) + log(0.4) + log(0.7) + log(0.4) + log(0.9)) / 6.0;
    ck_assert_double_eq_tol(m->loss, loss, TOL);
    recur_metrics_free(m);
    /* absent targets are left out: label 0 of record 1 */
    const unsigned char present[3 * 2] = {1, 1, 0, 1, 1, 1};
    m = recur_metrics_multilabel(p, t, present, 3, 2);
    ck_assert_ptr_nonnull(m);
    ck_assert_double_eq_tol(m->accuracy, 4.0 / 5.0, TOL);
    ck_assert_uint_eq(m->confusion[0] + m->confusion[1] + m->confusion[2] + m->confusion[3], 2);
    recur_metrics_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_auroc_closed_forms);
    tcase_add_test(tc, test_average_precision_closed_forms);
    tcase_add_test(tc, test_ranking_against_brute_force);
    tcase_add_test(tc, test_classify_worked_example);
    tcase_add_test(tc, test_classify_undefined);
    tcase_add_test(tc, test_multilabel_worked_example);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
