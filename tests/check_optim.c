/* check_optim.c - optimizers against torch.optim trajectories (tests/fixtures/optim.h5, made by
 * tests/reference/make_optim_fixtures.py): SGD, momentum, Adam, AdamW, with and without
 * clipping; skipped non-finite steps, resume from saved state, clipping to the threshold,
 * gradient norms in closed form, configuration checks, names and defaults. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <recur/optim.h>

#include "testutil.h"

/* Cases in the fixture (see the script's CASES); the suite checks that the file agrees. */
#define NCASES 10
/* Parameters agree with PyTorch's float32 arithmetic to this relative error, with an absolute
 * floor for values near zero (float's epsilon is 1.2e-7; recur updates in double). */
#define RTOL 1e-6
#define ATOL 1e-7

typedef struct {
    size_t C, S, N;
    double *p0;     /* (N) */
    double *grads;  /* (S, N) */
    double *norms;  /* (C, S) */
    double *kind;   /* (C) 0 sgd, 1 adam, 2 adamw */
    double *config; /* (C, 7) lr, momentum, weight_decay, beta1, beta2, eps, clip */
    double *params; /* (C, S, N) */
} fixture_t;

static double *read_ds(const char *path, const char *name, size_t rank, size_t *dims)
{
    size_t r = 0, d[4] = {0};
    double *x = test_h5_read(path, name, d, &r);
    ck_assert_msg(x != NULL, "cannot read %s from %s", name, path);
    ck_assert_uint_eq(r, rank);
    memcpy(dims, d, rank * sizeof *dims);
    return x;
}

static void fixture_load(fixture_t *f)
{
    char path[4096];
    size_t d[3];
    snprintf(path, sizeof path, "%s/optim.h5", test_fixture_dir());
    f->p0 = read_ds(path, "p0", 1, d);
    f->N = d[0];
    f->grads = read_ds(path, "grads", 2, d);
    f->S = d[0];
    ck_assert_uint_eq(d[1], f->N);
    f->kind = read_ds(path, "kind", 1, d);
    f->C = d[0];
    ck_assert_uint_eq(f->C, NCASES);
    f->norms = read_ds(path, "norms", 2, d);
    ck_assert(d[0] == f->C && d[1] == f->S);
    f->config = read_ds(path, "config", 2, d);
    ck_assert(d[0] == f->C && d[1] == 7);
    f->params = read_ds(path, "params", 3, d);
    ck_assert(d[0] == f->C && d[1] == f->S && d[2] == f->N);
    ck_assert_uint_ge(f->S, 4);
}

static void fixture_free(fixture_t *f)
{
    free(f->p0);
    free(f->grads);
    free(f->norms);
    free(f->kind);
    free(f->config);
    free(f->params);
}

static recur_optim_config_t fixture_config(const fixture_t *f, size_t c)
{
    recur_optim_config_t cfg;
    const double *k = f->config + c * 7;
    const int kind = (int)f->kind[c];
    ck_assert(kind >= 0 && kind <= 2);
    static const recur_optim_kind_t kinds[3] = {RECUR_OPT_SGD, RECUR_OPT_ADAM, RECUR_OPT_ADAMW};
    recur_optim_defaults(kinds[kind], &cfg);
    cfg.lr = k[0];
    cfg.momentum = k[1];
    cfg.weight_decay = k[2];
    cfg.beta1 = k[3];
    cfg.beta2 = k[4];
    cfg.eps = k[5];
    cfg.clip = k[6];
    return cfg;
}

static void to_real(recur_real *dst, const double *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (recur_real)src[i];
}

static void assert_close(const recur_real *got, const double *want, size_t n, size_t c, size_t s)
{
    for (size_t i = 0; i < n; i++) {
        const double err = fabs((double)got[i] - want[i]);
        ck_assert_msg(err <= RTOL * fabs(want[i]) + ATOL,
                      "case %zu step %zu param %zu: got %.9g, torch %.9g", c, s, i, (double)got[i],
                      want[i]);
    }
}

/* One fixture step s of case c: norm, clipping of the gradient and the parameters after. */
static void fixture_step(const fixture_t *f, size_t c, size_t s, recur_optim_t *o, recur_real *p,
                         recur_real *g)
{
    const double clip = f->config[c * 7 + 6];
    const double want_norm = f->norms[c * f->S + s];
    double norm = -1.0;
    to_real(g, f->grads + s * f->N, f->N);
    const uint64_t before = recur_optim_steps(o);
    ck_assert_int_eq(recur_optim_step(o, p, g, &norm), 0);
    ck_assert_uint_eq(recur_optim_steps(o), before + 1);
    ck_assert_msg(fabs(norm - want_norm) <= RTOL * want_norm,
                  "case %zu step %zu: norm %.9g, torch %.9g", c, s, norm, want_norm);
    /* The gradient is left clipped in place, as clip_grad_norm_ leaves p.grad. */
    const double after = recur_grad_norm(g, f->N);
    if (clip > 0 && norm > clip)
        ck_assert_msg(fabs(after - clip) <= 1e-5 * clip, "clipped norm %.9g", after);
    else
        ck_assert_msg(fabs(after - norm) <= 1e-12 * norm, "unclipped norm changed");
    assert_close(p, f->params + (c * f->S + s) * f->N, f->N, c, s);
}

/* Every case of the fixture, step by step. */
START_TEST(test_fixture_trajectory)
{
    fixture_t f;
    fixture_load(&f);
    const size_t c = (size_t)_i;
    recur_optim_config_t cfg = fixture_config(&f, c);
    recur_optim_t *o = recur_optim_alloc(&cfg, f.N);
    ck_assert_ptr_nonnull(o);
    recur_real *p = malloc(f.N * sizeof *p), *g = malloc(f.N * sizeof *g);
    ck_assert(p && g);
    to_real(p, f.p0, f.N);
    size_t clipped = 0;
    for (size_t s = 0; s < f.S; s++) {
        fixture_step(&f, c, s, o, p, g);
        clipped += cfg.clip > 0 && f.norms[c * f.S + s] > cfg.clip;
    }
    /* The clipped cases really clip, and not at every step. */
    if (cfg.clip > 0)
        ck_assert(clipped > 0 && clipped < f.S);
    ck_assert_uint_eq(recur_optim_steps(o), f.S);
    ck_assert_uint_eq(recur_optim_skipped(o), 0);
    free(p);
    free(g);
    recur_optim_free(o);
    fixture_free(&f);
}
END_TEST

/* A NaN and an infinite gradient in the middle of every trajectory change nothing (params,
 * moments, step counter, gradient), are counted, and the trajectory goes on as PyTorch's did
 * without them; the rest is then run by a second optimizer restored from the saved state. */
START_TEST(test_fixture_skip_and_resume)
{
    fixture_t f;
    fixture_load(&f);
    const size_t c = (size_t)_i, N = f.N;
    recur_optim_config_t cfg = fixture_config(&f, c);
    recur_optim_t *o = recur_optim_alloc(&cfg, N);
    ck_assert_ptr_nonnull(o);
    recur_real *p = malloc(N * sizeof *p), *g = malloc(N * sizeof *g);
    recur_real *keep = malloc(3 * N * sizeof *keep); /* (3, N) params, m, v before the skip */
    recur_real *gbad = malloc(N * sizeof *gbad);
    ck_assert(p && g && keep && gbad);
    to_real(p, f.p0, N);
    fixture_step(&f, c, 0, o, p, g);
    fixture_step(&f, c, 1, o, p, g);

    memcpy(keep, p, N * sizeof *p);
    memcpy(keep + N, recur_optim_m(o), N * sizeof *p);
    memcpy(keep + 2 * N, recur_optim_v(o), N * sizeof *p);
    const recur_real bad[2] = {(recur_real)NAN, (recur_real)INFINITY};
    for (int k = 0; k < 2; k++) {
        to_real(gbad, f.grads + 2 * N, N); /* large enough to be clipped */
        gbad[N / 2] = bad[k];
        memcpy(g, gbad, N * sizeof *g);
        double norm = 0.0;
        ck_assert_int_eq(recur_optim_step(o, p, g, &norm), RECUR_ENONFINITE);
        ck_assert(k == 0 ? isnan(norm) : isinf(norm));
        ck_assert_uint_eq(recur_optim_steps(o), 2);
        ck_assert_uint_eq(recur_optim_skipped(o), (uint64_t)k + 1);
        ck_assert(memcmp(p, keep, N * sizeof *p) == 0);
        ck_assert(memcmp(recur_optim_m(o), keep + N, N * sizeof *p) == 0);
        ck_assert(memcmp(recur_optim_v(o), keep + 2 * N, N * sizeof *p) == 0);
        /* Compared element-wise by bits: NaN != NaN. */
        ck_assert(memcmp(g, gbad, N * sizeof *g) == 0);
    }
    /* NULL norm pointer is allowed. */
    ck_assert_int_eq(recur_optim_step(o, p, g, NULL), RECUR_ENONFINITE);
    ck_assert_uint_eq(recur_optim_skipped(o), 3);

    fixture_step(&f, c, 2, o, p, g);

    /* Resume: a new optimizer gets the moments and counters, and finishes the trajectory. */
    recur_optim_t *r = recur_optim_alloc(&cfg, N);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(recur_optim_size(r), N);
    memcpy(recur_optim_m(r), recur_optim_m(o), N * sizeof *p);
    memcpy(recur_optim_v(r), recur_optim_v(o), N * sizeof *p);
    recur_optim_set_steps(r, recur_optim_steps(o), recur_optim_skipped(o));
    recur_optim_free(o);
    ck_assert_uint_eq(recur_optim_steps(r), 3);
    ck_assert_uint_eq(recur_optim_skipped(r), 3);
    for (size_t s = 3; s < f.S; s++)
        fixture_step(&f, c, s, r, p, g);
    free(p);
    free(g);
    free(keep);
    free(gbad);
    recur_optim_free(r);
    fixture_free(&f);
}
END_TEST

/* Without restoring the state, a fresh optimizer does not reproduce step 3 (the fixture is
 * sensitive to the moments and to the bias-correction step), except plain SGD, which has none. */
START_TEST(test_fixture_state_matters)
{
    fixture_t f;
    fixture_load(&f);
    const size_t c = (size_t)_i, N = f.N;
    recur_optim_config_t cfg = fixture_config(&f, c);
    recur_real *p = malloc(N * sizeof *p), *g = malloc(N * sizeof *g);
    ck_assert(p && g);
    recur_optim_t *o = recur_optim_alloc(&cfg, N);
    ck_assert_ptr_nonnull(o);
    to_real(p, f.params + (c * f.S + 1) * N, N); /* params after step index 1 */
    to_real(g, f.grads + 2 * N, N);
    ck_assert_int_eq(recur_optim_step(o, p, g, NULL), 0);
    const double *want = f.params + (c * f.S + 2) * N;
    double maxerr = 0.0;
    for (size_t i = 0; i < N; i++)
        maxerr = fmax(maxerr, fabs((double)p[i] - want[i]));
    const bool stateless = cfg.kind == RECUR_OPT_SGD && cfg.momentum == 0.0;
    if (stateless)
        ck_assert_double_le(maxerr, 1e-6);
    else
        ck_assert_double_gt(maxerr, 1e-4);
    free(p);
    free(g);
    recur_optim_free(o);
    fixture_free(&f);
}
END_TEST

/* Closed forms independent of the fixture. Adam's first step moves every parameter by
 * lr * g / (|g| + eps) (m / sqrt(v) = g / |g| after bias correction); SGD with momentum's
 * second step subtracts lr * (mu * g1 + g2). */
START_TEST(test_closed_forms)
{
    const recur_real g0[4] = {0.5f, -2.0f, 1e-3f, 0.0f};
    recur_real p[4] = {1.0f, 1.0f, 1.0f, 1.0f}, g[4];
    recur_optim_config_t cfg;
    recur_optim_defaults(RECUR_OPT_ADAM, &cfg);
    cfg.lr = 0.1;
    recur_optim_t *o = recur_optim_alloc(&cfg, 4);
    ck_assert_ptr_nonnull(o);
    memcpy(g, g0, sizeof g);
    ck_assert_int_eq(recur_optim_step(o, p, g, NULL), 0);
    for (int i = 0; i < 4; i++) {
        const double want = 1.0 - 0.1 * g0[i] / (fabs(g0[i]) + 1e-8);
        ck_assert_double_eq_tol(p[i], want, 1e-6);
        ck_assert_double_eq_tol(recur_optim_m(o)[i], 0.1 * g0[i], 1e-7);
        ck_assert_double_eq_tol(recur_optim_v(o)[i], 1e-3 * g0[i] * g0[i], 1e-9);
    }
    recur_optim_free(o);

    recur_optim_defaults(RECUR_OPT_SGD, &cfg);
    cfg.lr = 0.5;
    cfg.momentum = 0.75;
    o = recur_optim_alloc(&cfg, 2);
    ck_assert_ptr_nonnull(o);
    recur_real q[2] = {0.0f, 0.0f}, h[2] = {1.0f, -2.0f};
    ck_assert_int_eq(recur_optim_step(o, q, h, NULL), 0);
    ck_assert_double_eq_tol(q[0], -0.5, 1e-7); /* first step: buf = g */
    ck_assert_double_eq_tol(q[1], 1.0, 1e-7);
    h[0] = 2.0f;
    h[1] = 0.0f;
    ck_assert_int_eq(recur_optim_step(o, q, h, NULL), 0);
    ck_assert_double_eq_tol(recur_optim_m(o)[0], 0.75 * 1.0 + 2.0, 1e-7);
    ck_assert_double_eq_tol(recur_optim_m(o)[1], 0.75 * -2.0, 1e-7);
    ck_assert_double_eq_tol(q[0], -0.5 - 0.5 * 2.75, 1e-6);
    ck_assert_double_eq_tol(q[1], 1.0 + 0.5 * 1.5, 1e-6);
    recur_optim_free(o);

    /* AdamW with a zero gradient only decays: p * (1 - lr * wd); Adam's L2 term instead moves
     * by lr * sign(p) on the first step. */
    recur_optim_defaults(RECUR_OPT_ADAMW, &cfg);
    cfg.lr = 0.1;
    cfg.weight_decay = 0.5;
    o = recur_optim_alloc(&cfg, 1);
    ck_assert_ptr_nonnull(o);
    recur_real w = 2.0f, z = 0.0f;
    ck_assert_int_eq(recur_optim_step(o, &w, &z, NULL), 0);
    ck_assert_double_eq_tol(w, 2.0 * (1.0 - 0.05), 1e-6);
    recur_optim_free(o);
    cfg.kind = RECUR_OPT_ADAM;
    o = recur_optim_alloc(&cfg, 1);
    ck_assert_ptr_nonnull(o);
    w = 2.0f;
    z = 0.0f;
    ck_assert_int_eq(recur_optim_step(o, &w, &z, NULL), 0);
    ck_assert_double_eq_tol(w, 2.0 - 0.1, 1e-6);
    recur_optim_free(o);
}
END_TEST

/* Clipping: a gradient far above or just above the threshold ends at the threshold; one below
 * it and one with clipping off are left bit for bit; lr 0 leaves the parameters alone. */
START_TEST(test_clip_to_threshold)
{
    enum { N = 257 };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    ck_assert_ptr_nonnull(rng);
    gsl_rng_set(rng, 11);
    recur_real p[N], g[N], g0[N], p0[N], small[N];
    test_fill_uniform(p0, N, -1, 1, rng);
    test_fill_uniform(g0, N, -30, 30, rng);
    const double norm0 = recur_grad_norm(g0, N);
    ck_assert_double_gt(norm0, 100.0);
    const double clips[3] = {0.25, 1.0, 7.5};
    for (int k = 0; k < 3; k++) {
        recur_optim_config_t cfg;
        recur_optim_defaults(RECUR_OPT_SGD, &cfg);
        cfg.lr = 0.0;
        cfg.clip = clips[k];
        recur_optim_t *o = recur_optim_alloc(&cfg, N);
        ck_assert_ptr_nonnull(o);
        memcpy(p, p0, sizeof p);
        memcpy(g, g0, sizeof g);
        double norm = 0.0;
        ck_assert_int_eq(recur_optim_step(o, p, g, &norm), 0);
        ck_assert_double_eq_tol(norm, norm0, 1e-12 * norm0); /* reported before clipping */
        ck_assert_double_eq_tol(recur_grad_norm(g, N), clips[k], 1e-5 * clips[k]);
        /* Direction kept: every element scaled by the same factor. */
        const double coef = clips[k] / (norm0 + 1e-6);
        for (int i = 0; i < N; i++)
            ck_assert_double_eq_tol(g[i], g0[i] * coef, 1e-6 * fabs(g0[i] * coef) + 1e-30);
        ck_assert(memcmp(p, p0, sizeof p) == 0);
        /* At half the threshold: untouched. */
        for (int i = 0; i < N; i++)
            small[i] = (recur_real)(g0[i] * 0.5 * clips[k] / norm0);
        memcpy(g, small, sizeof g);
        ck_assert_int_eq(recur_optim_step(o, p, g, &norm), 0);
        ck_assert_double_eq_tol(norm, 0.5 * clips[k], 1e-6 * clips[k]);
        ck_assert(memcmp(g, small, sizeof g) == 0);
        /* Just above the threshold (coefficient near 1): clipped too. */
        for (int i = 0; i < N; i++)
            g[i] = (recur_real)(g0[i] * 1.01 * clips[k] / norm0);
        ck_assert_int_eq(recur_optim_step(o, p, g, &norm), 0);
        ck_assert_double_eq_tol(norm, 1.01 * clips[k], 1e-6 * clips[k]);
        ck_assert_double_eq_tol(recur_grad_norm(g, N), clips[k], 1e-5 * clips[k]);
        recur_optim_free(o);
    }
    /* clip = 0: off. */
    recur_optim_config_t cfg;
    recur_optim_defaults(RECUR_OPT_ADAM, &cfg);
    recur_optim_t *o = recur_optim_alloc(&cfg, N);
    ck_assert_ptr_nonnull(o);
    memcpy(g, g0, sizeof g);
    ck_assert_int_eq(recur_optim_step(o, p, g, NULL), 0);
    ck_assert(memcmp(g, g0, sizeof g) == 0);
    recur_optim_free(o);
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_grad_norm)
{
    const recur_real a[2] = {3.0f, -4.0f};
    ck_assert_double_eq(recur_grad_norm(a, 2), 5.0);
    ck_assert_double_eq(recur_grad_norm(NULL, 0), 0.0);
    /* float's largest value squared overflows float, not the double accumulator. */
    const recur_real big[4] = {FLT_MAX, FLT_MAX, FLT_MAX, FLT_MAX};
    ck_assert_double_eq_tol(recur_grad_norm(big, 4), 2.0 * FLT_MAX, 1e-12 * FLT_MAX);
    /* A large n of small values: 1e6 * 1e-3^2 = 1, exact to double rounding. */
    enum { M = 1000000 };
    recur_real *x = malloc(M * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < M; i++)
        x[i] = (recur_real)((i % 2) ? 1e-3 : -1e-3);
    const double e = (double)(recur_real)1e-3;
    ck_assert_double_eq_tol(recur_grad_norm(x, M), e * 1000.0, 1e-9);
    x[M - 1] = (recur_real)INFINITY;
    ck_assert(isinf(recur_grad_norm(x, M)));
    x[7] = (recur_real)NAN;
    ck_assert(isnan(recur_grad_norm(x, M)));
    x[M - 1] = (recur_real)-INFINITY;
    x[7] = 0;
    ck_assert(isinf(recur_grad_norm(x, M)));
    free(x);
#if RECUR_REAL_IS_DOUBLE
    /* Double build: squares of finite values may overflow; the norm must stay finite. */
    const recur_real huge[2] = {3e200, 4e200};
    ck_assert_double_eq_tol(recur_grad_norm(huge, 2), 5e200, 1e188);
#endif
}
END_TEST

/* stderr goes to a temporary file between capture_begin and capture_end, which returns what
 * was written (at most cap - 1 bytes), so that logged messages can be checked. */
typedef struct {
    int saved;
    FILE *tmp;
} capture_t;

static capture_t capture_begin(void)
{
    capture_t c;
    fflush(stderr);
    c.saved = dup(STDERR_FILENO);
    c.tmp = tmpfile();
    ck_assert(c.saved >= 0 && c.tmp != NULL);
    ck_assert(dup2(fileno(c.tmp), STDERR_FILENO) >= 0);
    return c;
}

static void capture_end(capture_t c, char *buf, size_t cap)
{
    fflush(stderr);
    ck_assert(dup2(c.saved, STDERR_FILENO) >= 0);
    close(c.saved);
    rewind(c.tmp);
    size_t k = fread(buf, 1, cap - 1, c.tmp);
    buf[k] = '\0';
    fclose(c.tmp);
}

/* The configuration is refused with one line on stderr that names the problem. */
static void assert_rejected(const recur_optim_config_t *cfg, size_t n, const char *what)
{
    char log[1024];
    capture_t cap = capture_begin();
    recur_optim_t *o = recur_optim_alloc(cfg, n);
    capture_end(cap, log, sizeof log);
    ck_assert_ptr_null(o);
    ck_assert_msg(strncmp(log, "recur: ", 7) == 0 && strstr(log, what) != NULL &&
                      strchr(log, '\n') == log + strlen(log) - 1,
                  "expected one line about '%s', got '%s'", what, log);
}

/* Each invalid field is rejected alone (NULL, message logged); boundary values accepted. */
START_TEST(test_invalid_config)
{
    recur_optim_config_t base[3], c;
    for (int k = 0; k < 3; k++) {
        recur_optim_defaults((recur_optim_kind_t)k, &base[k]);
        recur_optim_t *o = recur_optim_alloc(&base[k], 8);
        ck_assert_ptr_nonnull(o);
        recur_optim_free(o);
    }
    assert_rejected(NULL, 8, "no configuration");
    assert_rejected(&base[0], 0, "no parameters");
    assert_rejected(&base[0], SIZE_MAX / 2, "overflow");
    c = base[0];
    c.kind = (recur_optim_kind_t)3;
    assert_rejected(&c, 8, "unknown kind");

    const double bad_lr[] = {-1e-3, NAN, INFINITY};
    const double bad_unit[] = {-0.1, 1.0, 1.5, NAN}; /* momentum, beta1, beta2 in [0, 1) */
    const double bad_eps[] = {0.0, -1e-8, NAN, INFINITY};
    const double bad_nonneg[] = {-0.01, NAN, INFINITY}; /* weight decay, clip */
    for (int k = 0; k < 3; k++) {
        for (size_t j = 0; j < sizeof bad_lr / sizeof *bad_lr; j++) {
            c = base[k];
            c.lr = bad_lr[j];
            assert_rejected(&c, 8, "learning rate");
        }
        for (size_t j = 0; j < sizeof bad_nonneg / sizeof *bad_nonneg; j++) {
            c = base[k];
            c.weight_decay = bad_nonneg[j];
            assert_rejected(&c, 8, "weight decay");
            c = base[k];
            c.clip = bad_nonneg[j];
            assert_rejected(&c, 8, "clipping threshold");
        }
        for (size_t j = 0; j < sizeof bad_unit / sizeof *bad_unit; j++) {
            c = base[k];
            if (k == RECUR_OPT_SGD) {
                c.momentum = bad_unit[j];
                assert_rejected(&c, 8, "momentum");
                continue;
            }
            c.beta1 = bad_unit[j];
            assert_rejected(&c, 8, "beta1");
            c = base[k];
            c.beta2 = bad_unit[j];
            assert_rejected(&c, 8, "beta2");
        }
        if (k != RECUR_OPT_SGD)
            for (size_t j = 0; j < sizeof bad_eps / sizeof *bad_eps; j++) {
                c = base[k];
                c.eps = bad_eps[j];
                assert_rejected(&c, 8, "eps");
            }
        /* Boundaries that are valid. */
        c = base[k];
        c.lr = 0.0;
        c.weight_decay = 0.0;
        c.clip = 0.0;
        c.momentum = k == RECUR_OPT_SGD ? 0.999 : 0.0;
        c.beta1 = 0.0;
        c.beta2 = 0.0;
        recur_optim_t *o = recur_optim_alloc(&c, 1);
        ck_assert_ptr_nonnull(o);
        const recur_optim_config_t *got = recur_optim_config(o);
        ck_assert(got->kind == c.kind && got->lr == c.lr && got->momentum == c.momentum &&
                  got->weight_decay == c.weight_decay && got->beta1 == c.beta1 &&
                  got->beta2 == c.beta2 && got->eps == c.eps && got->clip == c.clip);
        recur_optim_free(o);
    }
    recur_optim_free(NULL);
}
END_TEST

START_TEST(test_step_null_args)
{
    recur_optim_config_t cfg;
    recur_optim_defaults(RECUR_OPT_ADAM, &cfg);
    recur_optim_t *o = recur_optim_alloc(&cfg, 2);
    ck_assert_ptr_nonnull(o);
    recur_real p[2] = {1, 2}, g[2] = {1, 1};
    char log[1024];
    capture_t cap = capture_begin();
    const int rc[3] = {recur_optim_step(NULL, p, g, NULL), recur_optim_step(o, NULL, g, NULL),
                       recur_optim_step(o, p, NULL, NULL)};
    capture_end(cap, log, sizeof log);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(rc[k], RECUR_EINVAL);
    ck_assert_ptr_nonnull(strstr(log, "NULL"));
    ck_assert_uint_eq(recur_optim_steps(o), 0);
    ck_assert_uint_eq(recur_optim_skipped(o), 0);
    recur_optim_free(o);
}
END_TEST

START_TEST(test_names_parse_defaults)
{
    const char *names[3] = {"sgd", "adam", "adamw"};
    const recur_optim_kind_t kinds[3] = {RECUR_OPT_SGD, RECUR_OPT_ADAM, RECUR_OPT_ADAMW};
    for (int k = 0; k < 3; k++) {
        recur_optim_kind_t out = (recur_optim_kind_t)99;
        ck_assert_str_eq(recur_optim_name(kinds[k]), names[k]);
        ck_assert_int_eq(recur_optim_parse(names[k], &out), 0);
        ck_assert_int_eq(out, kinds[k]);
    }
    ck_assert_str_eq(recur_optim_name((recur_optim_kind_t)3), "?");
    const char *bad[] = {"", "Adam", "adam ", "rmsprop", "sgdm", "adamw2"};
    for (size_t j = 0; j < sizeof bad / sizeof *bad; j++) {
        recur_optim_kind_t out = RECUR_OPT_ADAMW;
        ck_assert_int_eq(recur_optim_parse(bad[j], &out), RECUR_EINVAL);
        ck_assert_int_eq(out, RECUR_OPT_ADAMW); /* untouched on failure */
    }
    recur_optim_kind_t out;
    ck_assert_int_eq(recur_optim_parse(NULL, &out), RECUR_EINVAL);

    /* torch.optim defaults (lr for SGD has none in torch: 0.01 by convention). */
    recur_optim_config_t c;
    memset(&c, 0xff, sizeof c);
    recur_optim_defaults(RECUR_OPT_SGD, &c);
    ck_assert_int_eq(c.kind, RECUR_OPT_SGD);
    ck_assert_double_eq(c.lr, 0.01);
    ck_assert_double_eq(c.momentum, 0.0);
    ck_assert_double_eq(c.weight_decay, 0.0);
    ck_assert_double_eq(c.clip, 0.0);
    recur_optim_defaults(RECUR_OPT_ADAM, &c);
    ck_assert_int_eq(c.kind, RECUR_OPT_ADAM);
    ck_assert_double_eq(c.lr, 1e-3);
    ck_assert_double_eq(c.beta1, 0.9);
    ck_assert_double_eq(c.beta2, 0.999);
    ck_assert_double_eq(c.eps, 1e-8);
    ck_assert_double_eq(c.weight_decay, 0.0);
    ck_assert_double_eq(c.clip, 0.0);
    recur_optim_defaults(RECUR_OPT_ADAMW, &c);
    ck_assert_int_eq(c.kind, RECUR_OPT_ADAMW);
    ck_assert_double_eq(c.lr, 1e-3);
    ck_assert_double_eq(c.beta1, 0.9);
    ck_assert_double_eq(c.beta2, 0.999);
    ck_assert_double_eq(c.eps, 1e-8);
    ck_assert_double_eq(c.weight_decay, 0.01);
    ck_assert_double_eq(c.clip, 0.0);

    /* A new optimizer: zero moments and counters, its own copy of the configuration. */
    recur_optim_t *o = recur_optim_alloc(&c, 5);
    ck_assert_ptr_nonnull(o);
    c.lr = 1.0;
    ck_assert_double_eq(recur_optim_config(o)->lr, 1e-3);
    ck_assert_uint_eq(recur_optim_size(o), 5);
    ck_assert_uint_eq(recur_optim_steps(o), 0);
    ck_assert_uint_eq(recur_optim_skipped(o), 0);
    for (int i = 0; i < 5; i++)
        ck_assert(recur_optim_m(o)[i] == 0 && recur_optim_v(o)[i] == 0);
    ck_assert_ptr_ne(recur_optim_m(o), recur_optim_v(o));
    recur_optim_free(o);
}
END_TEST

static Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("fixture");
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, test_fixture_trajectory, 0, NCASES);
    tcase_add_loop_test(tc, test_fixture_skip_and_resume, 0, NCASES);
    tcase_add_loop_test(tc, test_fixture_state_matters, 0, NCASES);
    suite_add_tcase(s, tc);
    tc = tcase_create("core");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_closed_forms);
    tcase_add_test(tc, test_clip_to_threshold);
    tcase_add_test(tc, test_grad_norm);
    tcase_add_test(tc, test_invalid_config);
    tcase_add_test(tc, test_step_null_args);
    tcase_add_test(tc, test_names_parse_defaults);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(optim_suite());
}
