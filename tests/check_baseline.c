/* check_baseline.c - the classifier baselines (include/recur/baseline.h): the k-mer and one-hot
 * logistic regressions against PyTorch's L-BFGS minimum of the same loss on features computed by
 * numpy (tests/reference/make_baseline_fixture.py), the majority class counted by hand, the
 * choice of k on validation rows, and every refusal. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <gsl/gsl_errno.h>

#include <recur/baseline.h>
#include <recur/dataset.h>
#include <recur/model.h>

#include "testutil.h"

static recur_dataset_t *fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/baseline_%s.h5", test_fixture_dir(), name);
    recur_dataset_t *ds = recur_dataset_load(path);
    ck_assert_msg(ds != NULL, "cannot load %s", path);
    return ds;
}

static size_t *all_rows(size_t n)
{
    size_t *r = malloc(n * sizeof *r);
    ck_assert_ptr_nonnull(r);
    for (size_t i = 0; i < n; i++)
        r[i] = i;
    return r;
}

/* The baseline of kind among bs. */
static const recur_baseline_t *find(const recur_baselines_t *bs, recur_baseline_kind_t kind)
{
    for (size_t i = 0; i < bs->n; i++)
        if (bs->b[i].kind == kind)
            return &bs->b[i];
    return NULL;
}

/* Each case: fitted at PyTorch's k and penalty, the test probabilities agree with PyTorch's. */
static const struct {
    const char *name;
    recur_baseline_kind_t kind;
    size_t k;
} cases[] = {{"kmer_classify", RECUR_BASELINE_KMER, 2},
             {"onehot_classify", RECUR_BASELINE_ONEHOT, 0},
             {"kmer_multilabel", RECUR_BASELINE_KMER, 1}};

START_TEST(test_against_torch)
{
    char name[64];
    snprintf(name, sizeof name, "%s_train", cases[_i].name);
    recur_dataset_t *tr = fixture(name);
    snprintf(name, sizeof name, "%s_test", cases[_i].name);
    recur_dataset_t *te = fixture(name);
    char ref[512];
    snprintf(ref, sizeof ref, "%s/baseline_ref.h5", test_fixture_dir());
    size_t dims[4], rank;
    double *want = test_h5_read(ref, cases[_i].name, dims, &rank);
    ck_assert_ptr_nonnull(want);
    ck_assert_uint_eq(rank, 2);
    ck_assert_uint_eq(dims[0], te->N);
    ck_assert_uint_eq(dims[1], te->O);

    size_t *rows = all_rows(tr->N);
    const recur_baseline_opts_t o = {
        .k = cases[_i].k ? cases[_i].k : 1, .l2 = 0.01, .max_iter = 2000, .tol = 1e-8};
    recur_baselines_t bs;
    ck_assert_int_eq(recur_baselines_fit(tr, rows, tr->N, NULL, NULL, 0, &o, &bs), 0);
    const recur_baseline_t *b = find(&bs, cases[_i].kind);
    ck_assert_ptr_nonnull(b);
    ck_assert_double_eq(b->l2, 0.01);
    if (cases[_i].kind == RECUR_BASELINE_KMER)
        ck_assert_uint_eq(b->k, cases[_i].k);
    else
        ck_assert_uint_eq(b->T, 12);
    double *p = malloc(te->N * te->O * sizeof *p);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(recur_baseline_predict(b, te, NULL, te->N, p), 0);
    double worst = 0;
    for (size_t i = 0; i < te->N * te->O; i++)
        worst = fmax(worst, fabs(p[i] - want[i]));
    ck_assert_msg(worst < 1e-6, "%s: largest |recur - torch| %g", cases[_i].name, worst);
    free(p);
    recur_baselines_release(&bs);
    free(rows);
    free(want);
    recur_dataset_free(tr);
    recur_dataset_free(te);
}
END_TEST

/* The majority baseline: the training shares (smoothed by one count each), every row alike;
 * its accuracy is the majority's share. */
START_TEST(test_majority)
{
    recur_dataset_t *tr = fixture("kmer_classify_train");
    size_t *rows = all_rows(tr->N);
    size_t count[3] = {0};
    for (size_t i = 0; i < tr->N; i++)
        count[tr->labels[i]]++;
    const recur_baseline_opts_t o = {.k = 1, .l2 = 0.1};
    recur_baselines_t bs;
    ck_assert_int_eq(recur_baselines_fit(tr, rows, tr->N, tr, rows, tr->N, &o, &bs), 0);
    ck_assert_uint_eq(bs.n, 2); /* records of several lengths: no one-hot baseline */
    const recur_baseline_t *m = find(&bs, RECUR_BASELINE_MAJORITY);
    ck_assert_ptr_nonnull(m);
    double *p = malloc(tr->N * 3 * sizeof *p);
    ck_assert_int_eq(recur_baseline_predict(m, tr, rows, tr->N, p), 0);
    size_t top = 0;
    for (size_t c = 0; c < 3; c++) {
        ck_assert_double_eq_tol(p[c], (count[c] + 1.0) / (tr->N + 3.0), 1e-12);
        ck_assert_double_eq(p[(tr->N - 1) * 3 + c], p[c]);
        top = count[c] > count[top] ? c : top;
    }
    ck_assert_double_eq_tol(m->val_acc, (double)count[top] / tr->N, 1e-12);
    ck_assert_double_eq_tol(recur_baseline_accuracy(tr, rows, tr->N, p, 3), m->val_acc, 1e-12);
    free(p);
    recur_baselines_release(&bs);
    free(rows);
    recur_dataset_free(tr);
}
END_TEST

/* k is chosen on the validation rows: the k-mer model of the chosen k scores those rows at
 * least as well as any other k at the chosen penalty; best() is the largest val_acc. */
START_TEST(test_choice_on_validation)
{
    recur_dataset_t *tr = fixture("kmer_classify_train");
    recur_dataset_t *va = fixture("kmer_classify_test");
    size_t *rows = all_rows(tr->N), *vrows = all_rows(va->N);
    recur_baselines_t bs;
    const recur_baseline_opts_t o = {.max_k = 3};
    ck_assert_int_eq(recur_baselines_fit(tr, rows, tr->N, va, vrows, va->N, &o, &bs), 0);
    const recur_baseline_t *b = find(&bs, RECUR_BASELINE_KMER);
    ck_assert_ptr_nonnull(b);
    ck_assert(b->k >= 1 && b->k <= 3);
    double *p = malloc(va->N * 3 * sizeof *p);
    ck_assert_int_eq(recur_baseline_predict(b, va, vrows, va->N, p), 0);
    ck_assert_double_eq_tol(recur_baseline_accuracy(va, vrows, va->N, p, 3), b->val_acc, 1e-12);
    for (size_t k = 1; k <= 3; k++) {
        recur_baselines_t one;
        const recur_baseline_opts_t ok = {.k = k, .l2 = b->l2};
        ck_assert_int_eq(recur_baselines_fit(tr, rows, tr->N, va, vrows, va->N, &ok, &one), 0);
        ck_assert(find(&one, RECUR_BASELINE_KMER)->val_acc <= b->val_acc);
        recur_baselines_release(&one);
    }
    const recur_baseline_t *best = recur_baselines_best(&bs);
    ck_assert_ptr_nonnull(best);
    for (size_t i = 0; i < bs.n; i++)
        ck_assert(bs.b[i].val_acc <= best->val_acc);
    /* the planted signal is learnt: far above the majority */
    ck_assert(b->val_acc > find(&bs, RECUR_BASELINE_MAJORITY)->val_acc + 0.2);
    free(p);
    recur_baselines_release(&bs);
    free(rows);
    free(vrows);
    recur_dataset_free(tr);
    recur_dataset_free(va);
}
END_TEST

/* The baselines go into the model file and come back bit for bit, predicting the same. */
START_TEST(test_model_file)
{
    recur_dataset_t *tr = fixture("onehot_classify_train");
    size_t *rows = all_rows(tr->N);
    recur_baselines_t bs;
    const recur_baseline_opts_t o = {.max_k = 2};
    ck_assert_int_eq(recur_baselines_fit(tr, rows, tr->N, NULL, NULL, 0, &o, &bs), 0);
    ck_assert_uint_eq(bs.n, 3);
    const recur_config_t cfg = {.cell = RECUR_CELL_GRU,
                                .input_size = 4,
                                .hidden_size = 3,
                                .num_layers = 1,
                                .task = RECUR_TASK_CLASSIFY,
                                .num_outputs = 3};
    recur_model_t *m = recur_model_alloc(&cfg);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_null(recur_model_baselines(m));
    ck_assert_int_eq(recur_model_set_baselines(m, &bs), 0);
    char dir[] = "/tmp/check_baseline.XXXXXX", path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m.h5", dir);
    ck_assert_int_eq(recur_model_save(m, path), 0);
    recur_model_t *back = recur_model_load(path);
    ck_assert_ptr_nonnull(back);
    const recur_baselines_t *got = recur_model_baselines(back);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(got->n, bs.n);
    double p[90 * 3], q[90 * 3];
    for (size_t i = 0; i < bs.n; i++) {
        const recur_baseline_t *a = &bs.b[i], *b = &got->b[i];
        ck_assert_int_eq(a->kind, b->kind);
        ck_assert_int_eq(a->task, b->task);
        ck_assert_uint_eq(a->K, b->K);
        ck_assert_uint_eq(a->k, b->k);
        ck_assert_uint_eq(a->T, b->T);
        ck_assert_uint_eq(a->F, b->F);
        ck_assert(a->l2 == b->l2);
        ck_assert(a->val_acc == b->val_acc || (isnan(a->val_acc) && isnan(b->val_acc)));
        ck_assert_int_eq(memcmp(a->w, b->w, a->K * (a->F + 1) * sizeof *a->w), 0);
        ck_assert_int_eq(recur_baseline_predict(a, tr, rows, tr->N, p), 0);
        ck_assert_int_eq(recur_baseline_predict(b, tr, rows, tr->N, q), 0);
        ck_assert_int_eq(memcmp(p, q, tr->N * 3 * sizeof *p), 0);
    }
    /* a model without baselines writes none; baselines of another model are refused */
    ck_assert_int_eq(recur_model_set_baselines(m, NULL), 0);
    ck_assert_ptr_null(recur_model_baselines(m));
    ck_assert_int_eq(recur_model_save(m, path), 0);
    recur_model_free(back);
    ck_assert_ptr_nonnull(back = recur_model_load(path));
    ck_assert_ptr_null(recur_model_baselines(back));
    const recur_config_t other = {.cell = RECUR_CELL_GRU,
                                  .input_size = 4,
                                  .hidden_size = 3,
                                  .num_layers = 1,
                                  .task = RECUR_TASK_CLASSIFY,
                                  .num_outputs = 2};
    recur_model_t *m2 = recur_model_alloc(&other);
    ck_assert_int_eq(recur_model_set_baselines(m2, &bs), RECUR_EINVAL);
    recur_model_free(m2);
    remove(path);
    rmdir(dir);
    recur_model_free(back);
    recur_model_free(m);
    recur_baselines_release(&bs);
    free(rows);
    recur_dataset_free(tr);
}
END_TEST

START_TEST(test_refusals)
{
    recur_dataset_t *tr = fixture("kmer_classify_train");
    recur_dataset_t *fixed = fixture("onehot_classify_train");
    size_t *rows = all_rows(tr->N);
    recur_baselines_t bs;
    /* no training rows */
    ck_assert_int_eq(recur_baselines_fit(tr, rows, 0, NULL, NULL, 0, NULL, &bs), RECUR_EINVAL);
    ck_assert_uint_eq(bs.n, 0);
    /* not DNA: 3 features per step */
    recur_dataset_t *other =
        recur_dataset_alloc(RECUR_TASK_CLASSIFY, RECUR_HEAD_SEQ, 2, 3, 3, 2, false);
    ck_assert_ptr_nonnull(other);
    ck_assert_int_eq(recur_baselines_fit(other, rows, 2, NULL, NULL, 0, NULL, &bs), RECUR_EINVAL);
    /* validation data of another task */
    recur_dataset_t *ml = fixture("kmer_multilabel_train");
    ck_assert_int_eq(recur_baselines_fit(tr, rows, 10, ml, rows, 10, NULL, &bs), RECUR_EINVAL);
    /* the one-hot baseline on records of another length; a baseline on another task */
    const recur_baseline_opts_t o = {.k = 1, .l2 = 0.1};
    ck_assert_int_eq(recur_baselines_fit(fixed, rows, fixed->N, NULL, NULL, 0, &o, &bs), 0);
    const recur_baseline_t *oh = find(&bs, RECUR_BASELINE_ONEHOT);
    ck_assert_ptr_nonnull(oh);
    double p[64 * 3];
    ck_assert_int_eq(recur_baseline_predict(oh, tr, rows, 4, p), RECUR_EINVAL);
    ck_assert_int_eq(recur_baseline_predict(&bs.b[0], ml, rows, 4, p), RECUR_EINVAL);
    ck_assert_int_eq(recur_baseline_predict(&bs.b[0], other, rows, 2, p), RECUR_EINVAL);
    recur_baselines_release(&bs);
    /* names */
    recur_baseline_kind_t k;
    ck_assert_int_eq(recur_baseline_parse("kmer", &k), 0);
    ck_assert_int_eq(k, RECUR_BASELINE_KMER);
    ck_assert_str_eq(recur_baseline_name(RECUR_BASELINE_ONEHOT), "onehot");
    ck_assert_int_eq(recur_baseline_parse("knn", &k), RECUR_EINVAL);
    free(rows);
    recur_dataset_free(other);
    recur_dataset_free(ml);
    recur_dataset_free(fixed);
    recur_dataset_free(tr);
}
END_TEST

int main(void)
{
    gsl_set_error_handler_off();
    Suite *s = suite_create("baseline");
    TCase *tc = tcase_create("baseline");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_against_torch, 0, sizeof cases / sizeof *cases);
    tcase_add_test(tc, test_majority);
    tcase_add_test(tc, test_choice_on_validation);
    tcase_add_test(tc, test_model_file);
    tcase_add_test(tc, test_refusals);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
