/* check_forecast.c - forecasting encoding, baselines and metrics: forecasters written by PyTorch
 * (tests/reference/make_forecast_fixture.py: the statistics, samples, features and torch's
 * forecasts computed there with numpy) give the same forecasts in recur within 1e-4 after
 * normalisation; splits never straddled; missing inputs, indicators and targets; persistence,
 * climatology, ridge and the metrics against closed forms; the model-file round trip; refusals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>
#include <hdf5.h>

#include <recur/forecast.h>
#include <recur/h5series.h>
#include <recur/model.h>

#include "testutil.h"

/* ---- helpers --------------------------------------------------------------------------------- */

static char captured[8192];
static int saved_stderr = -1;
static FILE *capture_file;

static void capture_start(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    ck_assert_ptr_nonnull(capture_file);
    saved_stderr = dup(2);
    dup2(fileno(capture_file), 2);
}

static const char *capture_end(size_t *lines)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    rewind(capture_file);
    size_t n = fread(captured, 1, sizeof captured - 1, capture_file);
    captured[n] = '\0';
    fclose(capture_file);
    *lines = 0;
    for (size_t i = 0; i < n; i++)
        *lines += captured[i] == '\n';
    return captured;
}

static char *dupstr(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

/* An in-memory series of S x T x V, all present and 0, daily dates from 2000-01-01 when dated. */
static recur_series_t *make_series(size_t S, size_t T, size_t V, bool dated)
{
    recur_series_t *s = calloc(1, sizeof *s);
    s->S = S;
    s->T = T;
    s->V = V;
    s->values = calloc(S * T * V, sizeof *s->values);
    s->mask = malloc(S * T * V);
    memset(s->mask, 1, S * T * V);
    s->time = malloc(T * sizeof *s->time);
    if (dated)
        s->epoch = malloc(T * sizeof *s->epoch);
    for (size_t t = 0; t < T; t++) {
        s->time[t] = (double)t;
        if (dated)
            s->epoch[t] = 946684800.0 + 86400.0 * (double)t;
    }
    s->time_name = dupstr("time");
    s->var_names = calloc(V, sizeof *s->var_names);
    s->var_units = calloc(V, sizeof *s->var_units);
    for (size_t v = 0; v < V; v++) {
        char b[32];
        snprintf(b, sizeof b, "v%zu", v);
        s->var_names[v] = dupstr(b);
        s->var_units[v] = dupstr("");
    }
    s->series_names = calloc(S, sizeof *s->series_names);
    for (size_t i = 0; i < S; i++) {
        char b[32];
        snprintf(b, sizeof b, "s=%zu", i);
        s->series_names[i] = dupstr(b);
    }
    return s;
}

static void set_value(recur_series_t *s, size_t si, size_t t, size_t v, double x)
{
    const size_t i = (si * s->T + t) * s->V + v;
    s->values[i] = x;
    s->mask[i] = !isnan(x);
}

static recur_fc_t basic_fc(size_t V, size_t W, size_t H)
{
    recur_fc_t fc = {.window = W,
                     .horizon = H,
                     .stride = 1,
                     .train_frac = 0.7,
                     .val_frac = 0.15,
                     .V = V,
                     .n_in = V,
                     .n_out = 1};
    for (size_t v = 0; v < V; v++)
        fc.in_var[v] = v;
    fc.out_var[0] = 0;
    return fc;
}

static double *read_ds(hid_t g, const char *name, size_t *n)
{
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    hid_t sp = H5Dget_space(d);
    *n = (size_t)H5Sget_simple_extent_npoints(sp);
    double *x = malloc(*n * sizeof *x);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), 0);
    H5Sclose(sp);
    H5Dclose(d);
    return x;
}

/* ---- PyTorch-written forecasters --------------------------------------------------------------
 */

static const char *const torch_cases[] = {"seq_lstm", "step_gru"};

START_TEST(test_torch_forecaster)
{
    const char *name = torch_cases[_i];
    const char *dir = test_fixture_dir();
    char mpath[512], fpath[512], h5[512], rel[256];
    snprintf(mpath, sizeof mpath, "%s/ref_forecast_%s.h5", dir, name);
    snprintf(fpath, sizeof fpath, "%s/ref_forecast.h5", dir);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(fpath, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t g = H5Gopen2(f, name, H5P_DEFAULT);
    ck_assert_int_ge(g, 0);
    hid_t a = H5Aopen(g, "h5", H5P_DEFAULT), at = H5Aget_type(a);
    memset(rel, 0, sizeof rel);
    ck_assert_int_ge(H5Aread(a, at, rel), 0);
    H5Tclose(at);
    H5Aclose(a);
    snprintf(h5, sizeof h5, "%s/%s", dir, rel);

    recur_model_t *m = recur_model_load(mpath);
    ck_assert_ptr_nonnull(m);
    ck_assert(recur_fc_is_forecaster(m));
    recur_fc_t fc;
    recur_fc_source_t src;
    ck_assert_int_eq(recur_fc_from_model(m, mpath, &fc, &src), 0);
    recur_series_opts_t so = {.vars = src.vars, .n_vars = fc.V};
    recur_series_t *s = recur_series_read(h5, &so);
    ck_assert_ptr_nonnull(s);

    /* statistics: recur's own fit on the training split equals numpy's */
    size_t n, ns;
    double *mean = read_ds(g, "mean", &n), *sd = read_ds(g, "std", &n);
    recur_fc_t fit = fc;
    fit.mean = fit.std = NULL;
    ck_assert_int_eq(recur_fc_fit(&fit, s, h5), 0);
    for (size_t v = 0; v < fc.V; v++) {
        ck_assert(fabs(fit.mean[v] - mean[v]) <= 1e-12 * (1 + fabs(mean[v])));
        ck_assert(fabs(fit.std[v] - sd[v]) <= 1e-12 * (1 + fabs(sd[v])));
    }
    recur_fc_release(&fit);

    /* samples of the test split */
    double *ss = read_ds(g, "sample_series", &ns), *st = read_ds(g, "sample_t", &ns);
    recur_fc_sample_t *smp;
    ck_assert_int_eq(recur_fc_samples(&fc, s, RECUR_SPLIT_TEST, &smp, &n), 0);
    ck_assert_uint_eq(n, ns);
    for (size_t i = 0; i < n; i++)
        ck_assert(smp[i].series == (size_t)ss[i] && smp[i].t == (size_t)st[i]);

    /* features of the first three windows */
    size_t nx;
    double *xf = read_ds(g, "x_first", &nx);
    ck_assert_uint_eq(nx, 3 * fc.window * fc.F);
    float *x = malloc(fc.window * fc.F * sizeof *x);
    for (size_t i = 0; i < 3; i++) {
        recur_fc_features(&fc, s, smp[i].series, smp[i].t + 1 - fc.window, smp[i].t + 1, x);
        for (size_t j = 0; j < fc.window * fc.F; j++)
            ck_assert_msg(fabs(x[j] - xf[i * fc.window * fc.F + j]) <= 1e-6,
                          "%s: window %zu feature %zu: %g, numpy %g", name, i, j, x[j],
                          xf[i * fc.window * fc.F + j]);
    }

    /* forecasts: within 1e-4 of torch's after normalisation */
    size_t np_;
    double *pz = read_ds(g, "pred_z", &np_), *pp = read_ds(g, "pred", &np_);
    ck_assert_uint_eq(np_, n * fc.O);
    double *pred = malloc(n * fc.O * sizeof *pred);
    ck_assert_int_eq(recur_fc_predict(m, &fc, s, smp, n, 17, pred), 0);
    double worst = 0;
    for (size_t i = 0; i < n * fc.O; i++) {
        const size_t v = fc.out_var[i % fc.O % fc.n_out];
        const double z = (pred[i] - fc.mean[v]) / fc.std[v];
        worst = fmax(worst, fabs(z - pz[i]));
        ck_assert_msg(fabs(z - pz[i]) <= 1e-4, "%s: output %zu: z %.8g, torch %.8g", name, i, z,
                      pz[i]);
        ck_assert(fabs(pred[i] - pp[i]) <= 1e-4 * fc.std[v]);
    }
    ck_assert(worst < 1e-4);
    free(pred);
    free(pz);
    free(pp);
    free(x);
    free(xf);
    free(ss);
    free(st);
    free(smp);
    free(mean);
    free(sd);
    recur_series_free(s);
    recur_fc_release(&fc);
    recur_model_free(m);
    H5Gclose(g);
    H5Fclose(f);
}
END_TEST

/* ---- splits and samples ---------------------------------------------------------------------- */

START_TEST(test_splits_never_straddled)
{
    recur_series_t *s = make_series(2, 100, 1, false);
    recur_fc_t fc = basic_fc(1, 5, 3);
    ck_assert_int_eq(recur_fc_init(&fc), 0);
    size_t b[4];
    recur_fc_bounds(&fc, 100, b);
    ck_assert(b[0] == 0 && b[1] == 70 && b[2] == 85 && b[3] == 100);
    for (size_t stride = 1; stride <= 4; stride++) {
        fc.stride = stride;
        for (int sp = 0; sp < 3; sp++) {
            recur_fc_sample_t *smp;
            size_t n;
            ck_assert_int_eq(recur_fc_samples(&fc, s, (recur_split_t)sp, &smp, &n), 0);
            /* first issue time lo + W - 1; last hi - 1 - H; every stride-th; both series */
            const size_t lo = b[sp], hi = b[sp + 1];
            const size_t per = (hi - 1 - 3 - (lo + 4)) / stride + 1;
            ck_assert_uint_eq(n, 2 * per);
            for (size_t i = 0; i < n; i++) {
                ck_assert(smp[i].t + 1 >= lo + 5 && smp[i].t + 3 < hi);
                ck_assert_uint_eq((smp[i].t - lo - 4) % stride, 0);
                ck_assert_uint_eq(smp[i].series, i / per);
            }
            free(smp);
        }
    }
    /* ALL: every t >= W - 1, up to the last step */
    fc.stride = 1;
    recur_fc_sample_t *smp;
    size_t n;
    ck_assert_int_eq(recur_fc_samples(&fc, s, RECUR_SPLIT_ALL, &smp, &n), 0);
    ck_assert_uint_eq(n, 2 * 96);
    ck_assert(smp[0].t == 4 && smp[95].t == 99);
    free(smp);
    recur_series_free(s);
}
END_TEST

/* Missing inputs are 0 with indicator 1; targets z-scored, masked where missing or past the end
 * (or past the split for the step head); calendar features by closed form. */
START_TEST(test_features_and_targets)
{
    recur_series_t *s = make_series(1, 40, 2, true);
    for (size_t t = 0; t < 40; t++) {
        set_value(s, 0, t, 0, (double)t);
        set_value(s, 0, t, 1, 10.0 - (double)t);
    }
    set_value(s, 0, 5, 1, NAN);
    set_value(s, 0, 8, 0, NAN);
    recur_fc_t fc = basic_fc(2, 4, 2);
    fc.missing_indicators = true;
    fc.doy = true;
    fc.train_frac = 0.5;
    fc.val_frac = 0.25;
    ck_assert_int_eq(recur_fc_init(&fc), 0);
    ck_assert_uint_eq(fc.F, 6);
    ck_assert_uint_eq(fc.O, 2);
    ck_assert_int_eq(recur_fc_fit(&fc, s, "mem"), 0);
    /* variable 0 on steps 0..19 without step 8: mean of those values */
    double m0 = 0;
    for (int t = 0; t < 20; t++)
        m0 += t == 8 ? 0 : t;
    m0 /= 19;
    ck_assert(fabs(fc.mean[0] - m0) < 1e-12);
    float x[4 * 6];
    recur_fc_features(&fc, s, 0, 4, 8, x); /* steps 4..7, step 5 misses v1 */
    for (size_t r = 0; r < 4; r++) {
        const size_t t = 4 + r;
        ck_assert(fabs(x[r * 6 + 0] - ((double)t - fc.mean[0]) / fc.std[0]) < 1e-6);
        ck_assert_float_eq(x[r * 6 + 3], t == 5 ? 1.0f : 0.0f);
        if (t == 5)
            ck_assert_float_eq(x[r * 6 + 1], 0.0f);
        /* 2000-01-01 + t days: day of year t of 366 */
        ck_assert(fabs(x[r * 6 + 4] - sin(2 * M_PI * (double)t / 366)) < 1e-6);
        ck_assert(fabs(x[r * 6 + 5] - cos(2 * M_PI * (double)t / 366)) < 1e-6);
    }
    char name[64];
    recur_fc_feature_name(&fc, s, 3, name, sizeof name);
    ck_assert_str_eq(name, "v1_missing");
    recur_fc_feature_name(&fc, s, 5, name, sizeof name);
    ck_assert_str_eq(name, "doy_cos");
    recur_fc_output_name(&fc, s, 1, name, sizeof name);
    ck_assert_str_eq(name, "v0+2");
    float y[2];
    unsigned char ym[2];
    recur_fc_targets(&fc, s, 0, 6, 40, y, ym); /* t+1 = 7, t+2 = 8 (missing) */
    ck_assert(ym[0] == 1 && ym[1] == 0);
    ck_assert(fabs(y[0] - (7.0 - fc.mean[0]) / fc.std[0]) < 1e-6);
    recur_fc_targets(&fc, s, 0, 38, 40, y, ym); /* 39 present, 40 past the end */
    ck_assert(ym[0] == 1 && ym[1] == 0);
    ck_assert(fabs(recur_fc_denorm(&fc, 0, y[0]) - 39.0) < 1e-4);
    /* step head over the validation split [20, 30): targets only inside it */
    recur_dataset_t *ds = recur_fc_dataset_step(&fc, s, RECUR_SPLIT_VAL);
    ck_assert_ptr_nonnull(ds);
    ck_assert(ds->N == 1 && ds->T == 10 && ds->F == 6 && ds->O == 2);
    ck_assert(ds->target_mask[8 * 2 + 0] == 1 && ds->target_mask[8 * 2 + 1] == 0);
    ck_assert(ds->target_mask[9 * 2 + 0] == 0);
    ck_assert_str_eq(ds->classes[0], "v0+1");
    recur_dataset_free(ds);
    /* seq-head dataset: names carry series and issue date */
    recur_fc_sample_t smp = {.series = 0, .t = 6};
    ds = recur_fc_dataset_seq(&fc, s, &smp, 1);
    ck_assert_ptr_nonnull(ds);
    ck_assert_str_eq(ds->names[0], "s=0@2000-01-07");
    ck_assert_int_eq(recur_dataset_validate(ds), 0);
    recur_dataset_free(ds);
    recur_fc_release(&fc);
    recur_series_free(s);
}
END_TEST

/* ---- baselines and metrics ------------------------------------------------------------------- */

START_TEST(test_persistence)
{
    recur_series_t *s = make_series(1, 30, 1, false);
    for (size_t t = 0; t < 30; t++)
        set_value(s, 0, t, 0, (double)(t * t));
    set_value(s, 0, 25, 0, NAN);
    for (size_t t = 15; t < 20; t++)
        set_value(s, 0, t, 0, NAN);
    recur_fc_t fc = basic_fc(1, 3, 2);
    fc.train_frac = 0.5;
    fc.val_frac = 0.0;
    ck_assert_int_eq(recur_fc_init(&fc), 0);
    ck_assert_int_eq(recur_fc_fit(&fc, s, "mem"), 0);
    double p[2];
    recur_fc_sample_t a = {0, 26};
    recur_fc_persistence(&fc, s, &a, p);
    ck_assert(p[0] == 676 && p[1] == 676);
    a.t = 25; /* last present: 24 */
    recur_fc_persistence(&fc, s, &a, p);
    ck_assert(p[0] == 576 && p[1] == 576);
    a.t = 19; /* window 17..19 all missing: the training mean */
    recur_fc_persistence(&fc, s, &a, p);
    ck_assert(p[0] == fc.mean[0]);
    recur_fc_release(&fc);
    recur_series_free(s);
}
END_TEST

/* Climatology by month equals the brute-force monthly mean of the training split, per series;
 * by day of year, the mean of the +-15-day window. */
START_TEST(test_climatology)
{
    const size_t T = 3 * 365;
    recur_series_t *s = make_series(2, T, 1, true);
    for (size_t i = 0; i < 2; i++)
        for (size_t t = 0; t < T; t++)
            set_value(s, i, t, 0, (double)((t * 7919 + i * 13) % 101) + 100.0 * (double)i);
    recur_fc_t fc = basic_fc(1, 2, 1);
    fc.train_frac = 2.0 / 3.0;
    fc.val_frac = 0;
    ck_assert_int_eq(recur_fc_init(&fc), 0);
    ck_assert_int_eq(recur_fc_fit(&fc, s, "mem"), 0);
    size_t b[4];
    recur_fc_bounds(&fc, T, b);
    recur_fc_clim_t *cm = recur_fc_clim_fit(&fc, s, true);
    recur_fc_clim_t *cd = recur_fc_clim_fit(&fc, s, false);
    ck_assert_ptr_nonnull(cm);
    ck_assert_ptr_nonnull(cd);
    for (size_t i = 0; i < 2; i++) {
        for (size_t t = 800; t < 900; t += 13) {
            recur_civil_t target;
            ck_assert(recur_time_civil(s->epoch[t + 1], &target));
            double sm = 0, nm = 0, sd = 0, nd = 0;
            for (size_t u = 0; u < b[1]; u++) {
                recur_civil_t c;
                ck_assert(recur_time_civil(s->epoch[u], &c));
                const double x = s->values[i * T + u];
                if (c.month == target.month) {
                    sm += x;
                    nm++;
                }
                int dd = abs(c.yday - target.yday);
                dd = dd > 183 ? 366 - dd : dd;
                if (dd <= 15) {
                    sd += x;
                    nd++;
                }
            }
            recur_fc_sample_t a = {i, t};
            double p;
            recur_fc_clim_predict(cm, &fc, s, &a, &p);
            ck_assert(fabs(p - sm / nm) < 1e-9);
            recur_fc_clim_predict(cd, &fc, s, &a, &p);
            ck_assert(fabs(p - sd / nd) < 1e-9);
        }
    }
    recur_fc_clim_free(cm);
    recur_fc_clim_free(cd);
    recur_fc_release(&fc);
    recur_series_free(s);
}
END_TEST

/* y(t+1) = 0.8 y(t) + 2 + 0.5 sin(t) with sin(t) the second input: since sin(t+k) is linear in
 * sin(t) and sin(t-1), every horizon is an exact linear function of a 3-step window, and ridge
 * with a tiny penalty forecasts it to float precision. */
START_TEST(test_ridge_exact)
{
    const size_t T = 300;
    recur_series_t *s = make_series(1, T, 2, false);
    double y = 30;
    for (size_t t = 0; t < T; t++) {
        set_value(s, 0, t, 0, y);
        set_value(s, 0, t, 1, sin((double)t));
        y = 0.8 * y + 2 + 0.5 * sin((double)t);
    }
    recur_fc_t fc = basic_fc(2, 3, 3);
    ck_assert_int_eq(recur_fc_init(&fc), 0);
    ck_assert_int_eq(recur_fc_fit(&fc, s, "mem"), 0);
    recur_fc_ridge_t *r = recur_fc_ridge_fit(&fc, s, 1e-8);
    ck_assert_ptr_nonnull(r);
    recur_fc_sample_t *smp;
    size_t n;
    ck_assert_int_eq(recur_fc_samples(&fc, s, RECUR_SPLIT_TEST, &smp, &n), 0);
    ck_assert_uint_gt(n, 30);
    for (size_t i = 0; i < n; i++) {
        double p[3], truth[3];
        unsigned char tm[3];
        recur_fc_ridge_predict(r, &fc, s, &smp[i], p);
        recur_fc_truth(&fc, s, &smp[i], truth, tm);
        for (size_t h = 0; h < 3; h++)
            ck_assert_msg(tm[h] && fabs(p[h] - truth[h]) < 1e-3, "t %zu h %zu: %g vs %g", smp[i].t,
                          h, p[h], truth[h]);
    }
    /* and a lazy model (persistence) is far from exact on the same samples */
    double p[3], truth[3];
    unsigned char tm[3];
    recur_fc_persistence(&fc, s, &smp[0], p);
    recur_fc_truth(&fc, s, &smp[0], truth, tm);
    ck_assert(fabs(p[2] - truth[2]) > 1e-2);
    free(smp);
    recur_fc_ridge_free(r);
    recur_fc_release(&fc);
    recur_series_free(s);
}
END_TEST

START_TEST(test_metrics)
{
    recur_fc_t fc = basic_fc(2, 1, 2);
    fc.n_out = 2;
    fc.out_var[1] = 1;
    ck_assert_int_eq(recur_fc_init(&fc), 0);
    recur_fc_metrics_t m;
    ck_assert_int_eq(recur_fc_metrics_init(&m, 4), 0);
    /* outputs (h1 v0, h1 v1, h2 v0, h2 v1) */
    const double p1[4] = {1, 2, 3, 4}, t1[4] = {2, 2, 1, 0};
    const double p2[4] = {0, 0, 0, 0}, t2[4] = {-1, 5, 2, 9};
    const unsigned char m1[4] = {1, 1, 1, 1}, m2[4] = {1, 0, 1, 0};
    recur_fc_metrics_add(&m, p1, t1, m1);
    recur_fc_metrics_add(&m, p2, t2, m2);
    ck_assert_double_eq_tol(recur_fc_mae(&m, &fc, 0, 1), (1 + 1) / 2.0, 1e-15);
    ck_assert_double_eq_tol(recur_fc_mse(&m, &fc, 0, 2), (4 + 4) / 2.0, 1e-15);
    ck_assert_double_eq_tol(recur_fc_mae(&m, &fc, 1, 1), 0.0, 1e-15);
    ck_assert_double_eq_tol(recur_fc_mse(&m, &fc, 1, 0), (0 + 16) / 2.0, 1e-15);
    ck_assert_double_eq_tol(recur_fc_mae(&m, &fc, 0, 0), (1 + 2 + 1 + 2) / 4.0, 1e-15);
    recur_fc_metrics_release(&m);
    ck_assert_int_eq(recur_fc_metrics_init(&m, 4), 0);
    ck_assert(isnan(recur_fc_mae(&m, &fc, 0, 0)));
    recur_fc_metrics_release(&m);
}
END_TEST

/* ---- model file and refusals ----------------------------------------------------------------- */

START_TEST(test_model_round_trip)
{
    recur_series_t *s = make_series(1, 50, 3, true);
    for (size_t t = 0; t < 50; t++)
        for (size_t v = 0; v < 3; v++)
            set_value(s, 0, t, v, (double)(t * (v + 1)) + 0.5 * (double)v);
    recur_fc_t fc = basic_fc(3, 4, 3);
    fc.n_in = 2;
    fc.in_var[0] = 2;
    fc.in_var[1] = 0;
    fc.out_var[0] = 1;
    fc.doy = true;
    fc.missing_indicators = true;
    fc.stride = 2;
    ck_assert_int_eq(recur_fc_init(&fc), 0);
    ck_assert_int_eq(recur_fc_fit(&fc, s, "mem"), 0);
    recur_config_t cfg = {.cell = RECUR_CELL_GRU,
                          .input_size = fc.F,
                          .hidden_size = 3,
                          .num_layers = 1,
                          .head = RECUR_HEAD_SEQ,
                          .pool = RECUR_POOL_LAST,
                          .task = RECUR_TASK_REGRESS,
                          .num_outputs = fc.O};
    recur_model_t *m = recur_model_alloc(&cfg);
    ck_assert_ptr_nonnull(m);
    const char *sel[] = {"lat=~47.5"};
    recur_fc_source_t src = {
        .vars = (const char *const *)s->var_names, .select = sel, .n_select = 1, .time_dim = "t"};
    ck_assert_int_eq(recur_fc_to_model(&fc, s, &src, m), 0);
    char path[] = "/tmp/recur_check_forecast_XXXXXX";
    const int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(recur_model_save(m, path), 0);
    recur_model_t *m2 = recur_model_load(path);
    ck_assert_ptr_nonnull(m2);
    recur_fc_t back;
    recur_fc_source_t src2;
    ck_assert_int_eq(recur_fc_from_model(m2, path, &back, &src2), 0);
    ck_assert(back.window == 4 && back.horizon == 3 && back.stride == 2 && back.doy && !back.hour &&
              back.missing_indicators && back.V == 3 && back.n_in == 2 && back.in_var[0] == 2 &&
              back.in_var[1] == 0 && back.n_out == 1 && back.out_var[0] == 1 && back.F == fc.F &&
              back.O == fc.O);
    ck_assert(back.train_frac == fc.train_frac && back.val_frac == fc.val_frac);
    for (size_t v = 0; v < 3; v++)
        ck_assert(back.mean[v] == fc.mean[v] && back.std[v] == fc.std[v]);
    ck_assert_str_eq(src2.vars[2], "v2");
    ck_assert(src2.n_select == 1 && strcmp(src2.select[0], "lat=~47.5") == 0);
    ck_assert_str_eq(src2.time_dim, "t");
    ck_assert_ptr_null(src2.dataset);
    size_t nf;
    const char *const *feats = recur_model_strings(m2, "features", &nf);
    ck_assert(nf == fc.F && strcmp(feats[1], "v0") == 0 && strcmp(feats[2], "v2_missing") == 0);
    recur_fc_release(&back);
    /* a model without the encoding is not a forecaster and is refused with one line */
    recur_model_t *plain = recur_model_alloc(&cfg);
    ck_assert(!recur_fc_is_forecaster(plain));
    size_t lines;
    capture_start();
    ck_assert_int_ne(recur_fc_from_model(plain, "plain.h5", &back, &src2), 0);
    const char *err = capture_end(&lines);
    ck_assert_uint_eq(lines, 1);
    ck_assert_ptr_nonnull(strstr(err, "plain.h5: not a forecaster"));
    recur_model_free(plain);
    recur_model_free(m2);
    recur_model_free(m);
    unlink(path);
    recur_fc_release(&fc);
    recur_series_free(s);
}
END_TEST

START_TEST(test_refusals)
{
    size_t lines;
    const char *err;
    /* a window longer than the series */
    recur_series_t *s = make_series(1, 20, 1, false);
    recur_fc_t fc = basic_fc(1, 18, 3);
    ck_assert_int_eq(recur_fc_init(&fc), 0);
    capture_start();
    ck_assert_int_ne(recur_fc_fit(&fc, s, "short.h5"), 0);
    err = capture_end(&lines);
    ck_assert_uint_eq(lines, 1);
    ck_assert_ptr_nonnull(strstr(err, "short.h5: window 18 + horizon 3 = 21 steps, longer than "
                                      "the series (20 steps)"));
    /* the training split too short */
    fc.window = 14;
    capture_start();
    ck_assert_int_ne(recur_fc_fit(&fc, s, "short.h5"), 0);
    err = capture_end(&lines);
    ck_assert_ptr_nonnull(strstr(err, "the training split has 14 steps, fewer than window 14"));
    /* calendar features without dates */
    fc.window = 2;
    fc.doy = true;
    ck_assert_int_eq(recur_fc_init(&fc), 0);
    capture_start();
    ck_assert_int_ne(recur_fc_fit(&fc, s, "nodates.h5"), 0);
    err = capture_end(&lines);
    ck_assert_ptr_nonnull(strstr(err, "calendar features need a time coordinate"));
    recur_series_free(s);
    /* a target with no valid value in the test split (fixture: NaN from 70 % on) */
    char path[512];
    snprintf(path, sizeof path, "%s/series/no_valid_target.h5", test_fixture_dir());
    const char *vars[] = {"x", "y"};
    recur_series_opts_t so = {.vars = vars, .n_vars = 2};
    s = recur_series_read(path, &so);
    ck_assert_ptr_nonnull(s);
    fc = basic_fc(2, 3, 1);
    fc.out_var[0] = 1;
    ck_assert_int_eq(recur_fc_init(&fc), 0);
    capture_start();
    ck_assert_int_ne(recur_fc_fit(&fc, s, path), 0);
    err = capture_end(&lines);
    ck_assert_uint_eq(lines, 1);
    ck_assert_ptr_nonnull(strstr(err, "target 'y' has no valid value in the validation split"));
    recur_series_free(s);
    recur_fc_release(&fc);
    /* bad configurations */
    recur_fc_t bad = basic_fc(1, 0, 1);
    capture_start();
    ck_assert_int_ne(recur_fc_init(&bad), 0);
    bad = basic_fc(1, 2, 1);
    bad.train_frac = 0.9;
    bad.val_frac = 0.2;
    ck_assert_int_ne(recur_fc_init(&bad), 0);
    bad = basic_fc(1, 2, 1);
    bad.out_var[0] = 1;
    ck_assert_int_ne(recur_fc_init(&bad), 0);
    capture_end(&lines);
    ck_assert_uint_eq(lines, 3);
}
END_TEST

int main(void)
{
    gsl_set_error_handler_off();
    Suite *s = suite_create("forecast");
    TCase *tc = tcase_create("forecast");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_torch_forecaster, 0, 2);
    tcase_add_test(tc, test_splits_never_straddled);
    tcase_add_test(tc, test_features_and_targets);
    tcase_add_test(tc, test_persistence);
    tcase_add_test(tc, test_climatology);
    tcase_add_test(tc, test_ridge_exact);
    tcase_add_test(tc, test_metrics);
    tcase_add_test(tc, test_model_round_trip);
    tcase_add_test(tc, test_refusals);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
