/* check_reference.c - the engine against PyTorch (fixtures made by
 * tests/reference/make_fixtures.py): loss, head outputs, layer outputs, final states, every
 * gradient and d loss/d x on padded batches; an Adam loss trajectory; truncated-BPTT windows;
 * model files written by PyTorch read here, and model files written here for PyTorch. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include <recur/engine.h>
#include <recur/model.h>
#include <recur/optim.h>

#include "testutil.h"

/* |got - want| <= TOL (1 + |want|), the float build against float64 references. */
#define TOL 5e-5
#define TOL_ADAM 1e-4

/* Case names, as make_fixtures.py writes them (one group each). */
static const char *const engine_cases[] = {
    "rnn_uni_seq_last_classify",    "rnn_uni_step_regress",
    "rnn_bi2_seq_last_multilabel",  "rnn_bi2_step_classify",
    "rnn_uni_seq_max_regress",      "lstm_uni_seq_last_multilabel",
    "lstm_uni_step_classify",       "lstm_bi2_seq_last_regress",
    "lstm_bi2_step_multilabel",     "lstm_uni_seq_mean_classify",
    "lstm_bi2_seq_mean_multilabel", "lstm_uni_seq_max_regress",
    "lstm_bi2_seq_max_classify",    "lstm_bi2_seq_last_classify_full",
    "gru_uni_seq_last_regress",     "gru_uni_step_multilabel",
    "gru_bi2_seq_last_classify",    "gru_bi2_step_regress",
    "gru_bi2_seq_mean_multilabel",
};
#define N_ENGINE_CASES (sizeof engine_cases / sizeof engine_cases[0])

static const char *const tbptt_cases[] = {
    "lstm_uni_step_regress_k4",
    "gru_bi2_step_classify_k4",
    "rnn_uni_seq_last_classify_k4",
};
#define N_TBPTT_CASES (sizeof tbptt_cases / sizeof tbptt_cases[0])

/* Engine cases that are also saved as model files for the PyTorch round trip. */
static const char *const roundtrip_cases[] = {
    "lstm_bi2_seq_mean_multilabel",
    "gru_bi2_step_regress",
    "rnn_uni_seq_max_regress",
};
#define N_ROUNDTRIP_CASES (sizeof roundtrip_cases / sizeof roundtrip_cases[0])

static void fixture_path(char *buf, size_t n, const char *file)
{
    int k = snprintf(buf, n, "%s/%s", test_fixture_dir(), file);
    ck_assert(k > 0 && (size_t)k < n);
}

/* ---- Mismatch report: every failing comparison of a test, asserted once at the end ------ */

typedef struct {
    char msg[8192];
    size_t len;
    int fails;
} report_t;

static void report_add(report_t *r, const char *fmt, ...) RECUR_PRINTF(2, 3);
static void report_add(report_t *r, const char *fmt, ...)
{
    va_list ap;
    r->fails++;
    if (r->len >= sizeof r->msg - 1)
        return;
    va_start(ap, fmt);
    int k = vsnprintf(r->msg + r->len, sizeof r->msg - r->len, fmt, ap);
    va_end(ap);
    if (k > 0)
        r->len += (size_t)k;
    if (r->len > sizeof r->msg - 1)
        r->len = sizeof r->msg - 1;
}

static void report_check(const report_t *r, const char *name)
{
    ck_assert_msg(r->fails == 0, "%s: %d mismatches:%s", name, r->fails, r->msg);
}

/* Compares n values with |got - want| <= tol (1 + |want|) (NaN fails); one line per failing
 * array naming the first bad element and the worst scaled error. */
static void cmp(report_t *r, const char *what, const recur_real *got, const double *want, size_t n,
                double tol)
{
    size_t bad = 0, first = 0;
    double worst = 0.0;
    if (!got) {
        report_add(r, "\n  %s: no output", what);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const double err = fabs((double)got[i] - want[i]) / (1.0 + fabs(want[i]));
        if (!(err <= tol)) {
            if (bad++ == 0)
                first = i;
        }
        if (!(err <= worst))
            worst = err;
    }
    if (bad)
        report_add(r, "\n  %s: %zu of %zu differ, first [%zu] got %.9g want %.9g, worst %.3g", what,
                   bad, n, first, (double)got[first], want[first], worst);
}

static void cmp_scalar(report_t *r, const char *what, double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol * (1.0 + fabs(want))))
        report_add(r, "\n  %s: got %.9g want %.9g", what, got, want);
}

/* ---- Fixture reading ------------------------------------------------------------------- */

/* String attribute (fixed or variable length) of object obj; 0 or -1. */
static int h5_attr_str(const char *path, const char *obj, const char *attr, char *buf, size_t n)
{
    int rc = -1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return -1;
    hid_t a = H5Aopen_by_name(f, obj, attr, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0)
        goto close_file;
    hid_t ft = H5Aget_type(a);
    if (ft < 0 || H5Tget_class(ft) != H5T_STRING)
        goto close_type;
    hid_t mt = H5Tcopy(H5T_C_S1);
    if (H5Tis_variable_str(ft) > 0) {
        char *s = NULL;
        H5Tset_size(mt, H5T_VARIABLE);
        if (H5Aread(a, mt, &s) >= 0 && s) {
            snprintf(buf, n, "%s", s);
            H5free_memory(s);
            rc = 0;
        }
    } else {
        size_t sz = H5Tget_size(ft);
        char *s = calloc(sz + 1, 1);
        H5Tset_size(mt, sz + 1);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        if (s && H5Aread(a, mt, s) >= 0) {
            snprintf(buf, n, "%s", s);
            rc = 0;
        }
        free(s);
    }
    H5Tclose(mt);
close_type:
    if (ft >= 0)
        H5Tclose(ft);
    H5Aclose(a);
close_file:
    H5Fclose(f);
    return rc;
}

/* Dataset grp/name as doubles; must hold n elements. NULL when absent and !required. */
static double *read_ds(const char *path, const char *grp, const char *name, size_t n, bool required)
{
    char full[256];
    size_t dims[4], rank, total = 1;
    snprintf(full, sizeof full, "/%s/%s", grp, name);
    double *v = test_h5_read(path, full, dims, &rank);
    if (!v) {
        ck_assert_msg(!required, "%s: cannot read %s", path, full);
        return NULL;
    }
    for (size_t i = 0; i < rank; i++)
        total *= dims[i];
    ck_assert_msg(total == n, "%s: %s has %zu elements, expected %zu", path, full, total, n);
    return v;
}

static recur_real *to_real(const double *v, size_t n)
{
    recur_real *out = malloc((n ? n : 1) * sizeof *out);
    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < n; i++)
        out[i] = (recur_real)v[i];
    return out;
}

static unsigned char *to_uchar(const double *v, size_t n)
{
    unsigned char *out = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < n; i++)
        out[i] = v[i] != 0.0;
    return out;
}

/* One case of a fixture file: configuration, parameters and batch. */
typedef struct {
    const char *name;
    char path[512];
    recur_config_t cfg;
    size_t T, B, K, P, D;
    recur_real *params;   /* (P) */
    recur_real *x;        /* (T, B, I) */
    unsigned char *mask;  /* (T, B) */
    int32_t *labels;      /* (B) or (T, B) */
    recur_real *targets;  /* (B, O) or (T, B, O) */
    unsigned char *tmask; /* like targets, optional */
    recur_batch_t batch;
} ref_case_t;

static size_t attr_size(const ref_case_t *c, const char *attr)
{
    char obj[128];
    snprintf(obj, sizeof obj, "/%s", c->name);
    long v = test_h5_attr_long(c->path, obj, attr);
    ck_assert_msg(v >= 0, "%s: attribute %s missing", c->name, attr);
    return (size_t)v;
}

static void load_case(ref_case_t *c, const char *file, const char *name)
{
    char obj[128], s[32];
    memset(c, 0, sizeof *c);
    c->name = name;
    fixture_path(c->path, sizeof c->path, file);
    snprintf(obj, sizeof obj, "/%s", name);
    recur_config_t *g = &c->cfg;
    ck_assert_msg(h5_attr_str(c->path, obj, "cell", s, sizeof s) == 0, "%s: no case %s", c->path,
                  name);
    ck_assert_int_eq(recur_cell_parse(s, &g->cell), 0);
    ck_assert_int_eq(h5_attr_str(c->path, obj, "head", s, sizeof s), 0);
    ck_assert_int_eq(recur_head_parse(s, &g->head), 0);
    ck_assert_int_eq(h5_attr_str(c->path, obj, "pool", s, sizeof s), 0);
    ck_assert_int_eq(recur_pool_parse(s, &g->pool), 0);
    ck_assert_int_eq(h5_attr_str(c->path, obj, "task", s, sizeof s), 0);
    ck_assert_int_eq(recur_task_parse(s, &g->task), 0);
    g->input_size = attr_size(c, "I");
    g->hidden_size = attr_size(c, "H");
    g->num_layers = attr_size(c, "L");
    g->num_outputs = attr_size(c, "O");
    g->bidirectional = attr_size(c, "bidirectional") != 0;
    g->dropout = 0.0;
    ck_assert_int_eq(recur_config_validate(g), 0);
    c->T = attr_size(c, "T");
    c->B = attr_size(c, "B");
    c->K = test_h5_attr_long(c->path, obj, "K") > 0 ? attr_size(c, "K") : c->T;
    c->D = recur_config_directions(g);
    c->P = recur_param_count(g);

    const size_t T = c->T, B = c->B, I = g->input_size, O = g->num_outputs;
    const bool step = g->head == RECUR_HEAD_STEP;
    double *v = read_ds(c->path, name, "params", c->P, true);
    c->params = to_real(v, c->P);
    free(v);
    v = read_ds(c->path, name, "x", T * B * I, true);
    c->x = to_real(v, T * B * I);
    free(v);
    v = read_ds(c->path, name, "mask", T * B, true);
    c->mask = to_uchar(v, T * B);
    free(v);
    if (g->task == RECUR_TASK_CLASSIFY) {
        const size_t n = step ? T * B : B;
        v = read_ds(c->path, name, "labels", n, true);
        c->labels = malloc(n * sizeof *c->labels);
        ck_assert_ptr_nonnull(c->labels);
        for (size_t i = 0; i < n; i++)
            c->labels[i] = (int32_t)v[i];
        free(v);
    } else {
        const size_t n = (step ? T * B : B) * O;
        v = read_ds(c->path, name, "targets", n, true);
        c->targets = to_real(v, n);
        free(v);
        v = read_ds(c->path, name, "target_mask", n, false);
        if (v) {
            c->tmask = to_uchar(v, n);
            free(v);
        }
    }
    c->batch = (recur_batch_t){T, B, c->x, c->mask, c->labels, c->targets, c->tmask};
}

static void free_case(ref_case_t *c)
{
    free(c->params);
    free(c->x);
    free(c->mask);
    free(c->labels);
    free(c->targets);
    free(c->tmask);
}

/* Gradient comparison tensor by tensor, so that a mismatch names the parameter. */
static void cmp_grads(report_t *r, const recur_config_t *cfg, const char *prefix,
                      const recur_real *got, const double *want)
{
    const size_t nt = recur_tensor_count(cfg);
    recur_tensor_t *tab = calloc(nt, sizeof *tab);
    ck_assert_ptr_nonnull(tab);
    recur_tensor_table(cfg, tab);
    for (size_t k = 0; k < nt; k++) {
        char what[192];
        snprintf(what, sizeof what, "%sgrad %s", prefix, tab[k].name);
        cmp(r, what, got + tab[k].offset, want + tab[k].offset, tab[k].numel, TOL);
    }
    free(tab);
}

/* dx must be exactly 0 at masked steps: (nt, B, I) against mask rows t0 .. t0 + nt - 1. */
static void check_dx_pads(report_t *r, const ref_case_t *c, const recur_real *dx, size_t t0,
                          size_t nt)
{
    const size_t B = c->B, I = c->cfg.input_size;
    size_t bad = 0;
    for (size_t t = 0; t < nt; t++)
        for (size_t b = 0; b < B; b++)
            if (!c->mask[(t0 + t) * B + b])
                for (size_t i = 0; i < I; i++)
                    bad += dx[(t * B + b) * I + i] != 0;
    if (bad)
        report_add(r, "\n  dx: %zu values non-zero at padded steps", bad);
}

/* ---- Full BPTT: one test per case -------------------------------------------------------- */

START_TEST(test_engine_case)
{
    ref_case_t c;
    report_t r = {.len = 0, .fails = 0};
    load_case(&c, "ref_engine.h5", engine_cases[_i]);
    const recur_config_t *g = &c.cfg;
    const size_t T = c.T, B = c.B, I = g->input_size, H = g->hidden_size, O = g->num_outputs;
    const size_t D = c.D, L = g->num_layers;
    const bool step = g->head == RECUR_HEAD_STEP;

    recur_engine_t *e = recur_engine_alloc(g, T, B);
    ck_assert_ptr_nonnull(e);
    double loss = NAN;
    size_t n_terms = 0;
    ck_assert_int_eq(
        recur_engine_forward(e, c.params, &c.batch, 0, T, false, NULL, &loss, &n_terms), 0);

    double *want = read_ds(c.path, c.name, "loss", 1, true);
    cmp_scalar(&r, "loss", loss, want[0], TOL);
    free(want);
    want = read_ds(c.path, c.name, "n_terms", 1, true);
    if ((double)n_terms != want[0])
        report_add(&r, "\n  n_terms: got %zu want %.0f", n_terms, want[0]);
    free(want);

    size_t rows = 0;
    const recur_real *logits = recur_engine_outputs(e, &rows);
    const size_t want_rows = step ? T * B : B;
    if (rows != want_rows)
        report_add(&r, "\n  outputs: %zu rows, want %zu", rows, want_rows);
    want = read_ds(c.path, c.name, "logits", want_rows * O, true);
    cmp(&r, "logits", rows == want_rows ? logits : NULL, want, want_rows * O, TOL);
    free(want);

    for (size_t l = 0; l < L; l++) {
        char nm[64];
        snprintf(nm, sizeof nm, "output_l%zu", l);
        want = read_ds(c.path, c.name, nm, T * B * D * H, true);
        cmp(&r, nm, recur_engine_layer_output(e, l), want, T * B * D * H, TOL);
        free(want);
    }
    double *hn = read_ds(c.path, c.name, "h_n", L * D * B * H, true);
    double *cn = read_ds(c.path, c.name, "c_n", L * D * B * H, g->cell == RECUR_CELL_LSTM);
    for (size_t l = 0; l < L; l++)
        for (size_t d = 0; d < D; d++) {
            char nm[64];
            snprintf(nm, sizeof nm, "h_n[l%zu d%zu]", l, d);
            cmp(&r, nm, recur_engine_final_h(e, l, d), hn + (l * D + d) * B * H, B * H, TOL);
            snprintf(nm, sizeof nm, "c_n[l%zu d%zu]", l, d);
            if (cn)
                cmp(&r, nm, recur_engine_final_c(e, l, d), cn + (l * D + d) * B * H, B * H, TOL);
            else if (recur_engine_final_c(e, l, d) != NULL)
                report_add(&r, "\n  %s: not NULL for a cell without c", nm);
        }
    free(hn);
    free(cn);

    recur_real *grads = calloc(c.P, sizeof *grads);
    recur_real *dx = calloc(T * B * I, sizeof *dx);
    ck_assert(grads && dx);
    ck_assert_int_eq(recur_engine_backward(e, c.params, grads, dx), 0);
    want = read_ds(c.path, c.name, "grads", c.P, true);
    cmp_grads(&r, g, "", grads, want);
    free(want);
    want = read_ds(c.path, c.name, "dx", T * B * I, true);
    cmp(&r, "dx", dx, want, T * B * I, TOL);
    free(want);
    check_dx_pads(&r, &c, dx, 0, T);

    report_check(&r, c.name);
    free(dx);
    free(grads);
    recur_engine_free(e);
    free_case(&c);
}
END_TEST

/* ---- Truncated BPTT: windows of K steps at fixed parameters ------------------------------ */

START_TEST(test_tbptt_case)
{
    ref_case_t c;
    report_t r = {.len = 0, .fails = 0};
    load_case(&c, "ref_tbptt.h5", tbptt_cases[_i]);
    const recur_config_t *g = &c.cfg;
    const size_t T = c.T, B = c.B, K = c.K, I = g->input_size;
    const size_t W = (T + K - 1) / K;

    double *wloss = read_ds(c.path, c.name, "window_loss", W, true);
    double *wterms = read_ds(c.path, c.name, "window_n_terms", W, true);
    double *wgrads = read_ds(c.path, c.name, "window_grads", W * c.P, true);
    double *wdx = read_ds(c.path, c.name, "window_dx", T * B * I, true);
    recur_engine_t *e = recur_engine_alloc(g, K, B);
    recur_real *grads = malloc(c.P * sizeof *grads);
    recur_real *dx = malloc(K * B * I * sizeof *dx);
    ck_assert(e && grads && dx);
    for (size_t w = 0; w < W; w++) {
        const size_t t0 = w * K, t1 = t0 + K < T ? t0 + K : T;
        char pre[96];
        double loss = NAN;
        size_t n_terms = 99;
        ck_assert_int_eq(
            recur_engine_forward(e, c.params, &c.batch, t0, t1, false, NULL, &loss, &n_terms), 0);
        snprintf(pre, sizeof pre, "window %zu [%zu,%zu) ", w, t0, t1);
        if ((double)n_terms != wterms[w])
            report_add(&r, "\n  %sn_terms: got %zu want %.0f", pre, n_terms, wterms[w]);
        if (wterms[w] > 0) {
            char nm[128];
            snprintf(nm, sizeof nm, "%sloss", pre);
            cmp_scalar(&r, nm, loss, wloss[w], TOL);
        }
        for (size_t i = 0; i < c.P; i++)
            grads[i] = 0;
        for (size_t i = 0; i < K * B * I; i++)
            dx[i] = (recur_real)NAN; /* every element of the window must be written */
        ck_assert_int_eq(recur_engine_backward(e, c.params, grads, dx), 0);
        cmp_grads(&r, g, pre, grads, wgrads + w * c.P);
        char nm[128];
        snprintf(nm, sizeof nm, "%sdx", pre);
        cmp(&r, nm, dx, wdx + t0 * B * I, (t1 - t0) * B * I, TOL);
        check_dx_pads(&r, &c, dx, t0, t1 - t0);
    }
    report_check(&r, c.name);
    free(dx);
    free(grads);
    recur_engine_free(e);
    free(wdx);
    free(wgrads);
    free(wterms);
    free(wloss);
    free_case(&c);
}
END_TEST

/* ---- Adam: 10 steps on one batch match torch.optim.Adam's losses ------------------------- */

START_TEST(test_adam_trajectory)
{
    ref_case_t c;
    report_t r = {.len = 0, .fails = 0};
    load_case(&c, "ref_adam.h5", "lstm_bi2_seq_last_classify");
    const size_t S = 10;
    double *want = read_ds(c.path, c.name, "losses", S, true);
    recur_optim_config_t oc;
    recur_optim_defaults(RECUR_OPT_ADAM, &oc);
    oc.lr = 1e-2;
    recur_optim_t *o = recur_optim_alloc(&oc, c.P);
    recur_engine_t *e = recur_engine_alloc(&c.cfg, c.T, c.B);
    recur_real *grads = malloc(c.P * sizeof *grads);
    ck_assert(o && e && grads);
    for (size_t s = 0; s < S; s++) {
        double loss = NAN;
        size_t n_terms = 0;
        char nm[64];
        ck_assert_int_eq(
            recur_engine_forward(e, c.params, &c.batch, 0, c.T, true, NULL, &loss, &n_terms), 0);
        snprintf(nm, sizeof nm, "loss at step %zu", s);
        cmp_scalar(&r, nm, loss, want[s], TOL_ADAM);
        for (size_t i = 0; i < c.P; i++)
            grads[i] = 0;
        ck_assert_int_eq(recur_engine_backward(e, c.params, grads, NULL), 0);
        ck_assert_int_eq(recur_optim_step(o, c.params, grads, NULL), 0);
    }
    ck_assert_uint_eq(recur_optim_steps(o), S);
    report_check(&r, c.name);
    free(grads);
    recur_engine_free(e);
    recur_optim_free(o);
    free(want);
    free_case(&c);
}
END_TEST

/* ---- Model files ------------------------------------------------------------------------- */

/* A model written by h5py from a PyTorch state_dict loads, with every weight in its place,
 * and reproduces PyTorch's logits. */
START_TEST(test_torch_model_load)
{
    char path[512], io[512];
    report_t r = {.len = 0, .fails = 0};
    fixture_path(path, sizeof path, "ref_torch_model.h5");
    fixture_path(io, sizeof io, "ref_torch_model_io.h5");
    recur_model_t *m = recur_model_load(path);
    ck_assert_msg(m != NULL, "recur_model_load(%s) failed", path);
    const recur_config_t *g = recur_model_config(m);
    ck_assert_int_eq(g->cell, RECUR_CELL_LSTM);
    ck_assert_uint_eq(g->input_size, 3);
    ck_assert_uint_eq(g->hidden_size, 5);
    ck_assert_uint_eq(g->num_layers, 2);
    ck_assert(g->bidirectional);
    ck_assert_int_eq(g->head, RECUR_HEAD_SEQ);
    ck_assert_int_eq(g->pool, RECUR_POOL_LAST);
    ck_assert_int_eq(g->task, RECUR_TASK_CLASSIFY);
    ck_assert_uint_eq(g->num_outputs, 3);

    /* every tensor equals /weights/<name>, shape included */
    const size_t nt = recur_tensor_count(g);
    recur_tensor_t *tab = calloc(nt, sizeof *tab);
    ck_assert_ptr_nonnull(tab);
    recur_tensor_table(g, tab);
    const recur_real *p = recur_model_params_const(m);
    for (size_t k = 0; k < nt; k++) {
        char nm[96];
        size_t dims[4], rank;
        snprintf(nm, sizeof nm, "/weights/%s", tab[k].name);
        double *w = test_h5_read(path, nm, dims, &rank);
        ck_assert_msg(w != NULL, "%s missing", nm);
        ck_assert_uint_eq(rank, tab[k].rank);
        ck_assert_uint_eq(dims[0], tab[k].dims[0]);
        if (rank == 2)
            ck_assert_uint_eq(dims[1], tab[k].dims[1]);
        for (size_t i = 0; i < tab[k].numel; i++)
            ck_assert_msg((double)p[tab[k].offset + i] == w[i], "%s[%zu]: %g != %g", nm, i,
                          (double)p[tab[k].offset + i], w[i]);
        free(w);
    }
    free(tab);

    size_t dims[4], rank;
    double *xv = test_h5_read(io, "/x", dims, &rank);
    ck_assert_ptr_nonnull(xv);
    ck_assert_uint_eq(rank, 3);
    const size_t T = dims[0], B = dims[1];
    ck_assert_uint_eq(dims[2], g->input_size);
    double *mv = test_h5_read(io, "/mask", dims, &rank);
    double *want = test_h5_read(io, "/logits", dims, &rank);
    ck_assert(mv && want);
    ck_assert_uint_eq(dims[0] * dims[1], B * g->num_outputs);
    recur_real *x = to_real(xv, T * B * g->input_size);
    unsigned char *mask = to_uchar(mv, T * B);
    recur_batch_t b = {T, B, x, mask, NULL, NULL, NULL};
    recur_engine_t *e = recur_engine_alloc(g, T, B);
    ck_assert_ptr_nonnull(e);
    size_t n_terms, rows = 0;
    ck_assert_int_eq(recur_engine_forward(e, p, &b, 0, T, false, NULL, NULL, &n_terms), 0);
    const recur_real *logits = recur_engine_outputs(e, &rows);
    ck_assert_uint_eq(rows, B);
    cmp(&r, "logits", logits, want, B * g->num_outputs, TOL);
    report_check(&r, "ref_torch_model");
    recur_engine_free(e);
    free(mask);
    free(x);
    free(want);
    free(mv);
    free(xv);
    recur_model_free(m);
}
END_TEST

static int h5_write(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims,
                    const void *data)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    if (sp < 0)
        return -1;
    hid_t d = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = d >= 0 && H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0 ? 0 : -1;
    if (d >= 0)
        H5Dclose(d);
    H5Sclose(sp);
    return rc;
}

/* x (T, B, I), mask (T, B) and recur's logits ((B, O) or (T, B, O)) for check_torch_load.py. */
static int write_io(const char *path, const ref_case_t *c, const recur_real *logits)
{
    const size_t T = c->T, B = c->B, I = c->cfg.input_size, O = c->cfg.num_outputs;
    const bool step = c->cfg.head == RECUR_HEAD_STEP;
    const size_t nx = T * B * I, nl = (step ? T * B : B) * O;
    double *xd = malloc(nx * sizeof *xd), *ld = malloc(nl * sizeof *ld);
    int rc = -1;
    if (!xd || !ld)
        goto free_bufs;
    for (size_t i = 0; i < nx; i++)
        xd[i] = c->x[i];
    for (size_t i = 0; i < nl; i++)
        ld[i] = logits[i];
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0)
        goto free_bufs;
    const hsize_t dx[3] = {T, B, I}, dm[2] = {T, B};
    const hsize_t dl[3] = {step ? T : B, step ? B : O, O};
    rc = h5_write(f, "x", H5T_NATIVE_DOUBLE, 3, dx, xd);
    if (rc == 0)
        rc = h5_write(f, "mask", H5T_NATIVE_UCHAR, 2, dm, c->mask);
    if (rc == 0)
        rc = h5_write(f, "logits", H5T_NATIVE_DOUBLE, step ? 3 : 2, dl, ld);
    if (H5Fclose(f) < 0)
        rc = -1;
free_bufs:
    free(ld);
    free(xd);
    return rc;
}

/* recur_model_save writes a model that recur_model_load reads back bit for bit. When
 * RECUR_ROUNDTRIP_DIR is set, the models and their inputs and logits stay there for
 * tests/reference/check_torch_load.py (tests/py_torch_roundtrip.sh); otherwise a temporary
 * directory is used and removed. */
START_TEST(test_model_roundtrip)
{
    ref_case_t c;
    const char *keep = getenv("RECUR_ROUNDTRIP_DIR");
    char tmp[] = "/tmp/recur_roundtrip_XXXXXX", model[600], io[600];
    const char *dir = keep && *keep ? keep : mkdtemp(tmp);
    ck_assert_ptr_nonnull(dir);
    load_case(&c, "ref_engine.h5", roundtrip_cases[_i]);
    snprintf(model, sizeof model, "%s/model_%s.h5", dir, c.name);
    snprintf(io, sizeof io, "%s/model_%s_io.h5", dir, c.name);

    recur_model_t *m = recur_model_alloc(&c.cfg);
    ck_assert_ptr_nonnull(m);
    memcpy(recur_model_params(m), c.params, c.P * sizeof *c.params);
    ck_assert_int_eq(recur_model_set_command_line(m, "check_reference model_roundtrip"), 0);
    ck_assert_int_eq(recur_model_save(m, model), 0);

    recur_model_t *back = recur_model_load(model);
    ck_assert_msg(back != NULL, "recur_model_load(%s) failed", model);
    const recur_config_t *a = &c.cfg, *b = recur_model_config(back);
    ck_assert_int_eq(b->cell, a->cell);
    ck_assert_uint_eq(b->input_size, a->input_size);
    ck_assert_uint_eq(b->hidden_size, a->hidden_size);
    ck_assert_uint_eq(b->num_layers, a->num_layers);
    ck_assert_int_eq(b->bidirectional, a->bidirectional);
    ck_assert_int_eq(b->head, a->head);
    ck_assert_int_eq(b->pool, a->pool);
    ck_assert_int_eq(b->task, a->task);
    ck_assert_uint_eq(b->num_outputs, a->num_outputs);
    ck_assert_msg(memcmp(recur_model_params_const(back), c.params, c.P * sizeof *c.params) == 0,
                  "parameters changed through save and load");
    ck_assert_str_eq(recur_model_command_line(back), "check_reference model_roundtrip");

    recur_engine_t *e = recur_engine_alloc(b, c.T, c.B);
    ck_assert_ptr_nonnull(e);
    size_t n_terms, rows;
    ck_assert_int_eq(recur_engine_forward(e, recur_model_params_const(back), &c.batch, 0, c.T,
                                          false, NULL, NULL, &n_terms),
                     0);
    const recur_real *logits = recur_engine_outputs(e, &rows);
    ck_assert_int_eq(write_io(io, &c, logits), 0);
    if (dir == tmp) {
        unlink(model);
        unlink(io);
        rmdir(tmp);
    }
    recur_engine_free(e);
    recur_model_free(back);
    recur_model_free(m);
    free_case(&c);
}
END_TEST

static Suite *reference_suite(void)
{
    Suite *s = suite_create("reference");
    TCase *tc = tcase_create("engine");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_engine_case, 0, (int)N_ENGINE_CASES);
    suite_add_tcase(s, tc);
    tc = tcase_create("tbptt");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_tbptt_case, 0, (int)N_TBPTT_CASES);
    suite_add_tcase(s, tc);
    tc = tcase_create("adam");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_adam_trajectory);
    suite_add_tcase(s, tc);
    tc = tcase_create("model");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_torch_model_load);
    tcase_add_loop_test(tc, test_model_roundtrip, 0, (int)N_ROUNDTRIP_CASES);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(reference_suite());
}
