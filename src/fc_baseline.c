/* fc_baseline.c - the forecasting baselines and metrics of include/recur/forecast.h: persistence,
 * climatology by day of year (or month) and hour, ridge regression on the window (GSL Cholesky),
 * and the MAE / MSE sums per output, all in physical units. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>

#include <recur/forecast.h>

#define RIDGE_MAX_P 4096 /* ridge features: (P x P) doubles, 128 MiB */
#define RIDGE_BLOCK 256  /* rows per GEMM block */
#define CLIM_HALF_WINDOW 15

/* ---- Persistence ----------------------------------------------------------------------------- */

void recur_fc_persistence(const recur_fc_t *fc, const recur_series_t *s,
                          const recur_fc_sample_t *smp, double *pred)
{
    for (size_t k = 0; k < fc->n_out; k++) {
        const size_t v = fc->out_var[k];
        double last = fc->mean[v];
        for (size_t j = 0; j < fc->window; j++) {
            const size_t i = (smp->series * s->T + smp->t - j) * s->V + v;
            if (s->mask[i]) {
                last = s->values[i];
                break;
            }
        }
        for (size_t h = 0; h < fc->horizon; h++)
            pred[h * fc->n_out + k] = last;
    }
}

/* ---- Climatology ----------------------------------------------------------------------------- */

struct recur_fc_clim {
    size_t S, n_out, bins;
    bool by_month, hourly, dated;
    double *table; /* (S, bins, n_out): mean of the bin, NaN when empty */
    double *smean; /* (S, n_out): series' training mean, NaN when none */
};

/* Bin of a date: day of year (0..365) or month (0..11), times 24 + hour when hourly. */
static size_t clim_bin(const recur_fc_clim_t *c, double epoch, size_t *day)
{
    recur_civil_t cv;
    if (!recur_time_civil(epoch, &cv))
        return (size_t)-1;
    const size_t d = c->by_month ? (size_t)(cv.month - 1) : (size_t)cv.yday;
    *day = d;
    return c->hourly ? d * 24 + (size_t)(cv.sec / 3600.0) : d;
}

recur_fc_clim_t *recur_fc_clim_fit(const recur_fc_t *fc, const recur_series_t *s, bool by_month)
{
    size_t b[4];
    recur_fc_bounds(fc, s->T, b);
    recur_fc_clim_t *c = calloc(1, sizeof *c);
    double *sum = NULL, *cnt = NULL;
    if (!c)
        goto oom;
    c->S = s->S;
    c->n_out = fc->n_out;
    c->by_month = by_month;
    c->dated = s->epoch != NULL;
    c->hourly = c->dated && !recur_fc_date_only(s);
    const size_t days = by_month ? 12 : 366;
    c->bins = c->dated ? days * (c->hourly ? 24 : 1) : 1;
    size_t cells;
    if (!recur_mul_ok(s->S, c->bins, &cells) || !recur_mul_ok(cells, fc->n_out, &cells) ||
        cells > ((size_t)1 << 28)) {
        recur_error("forecast: climatology table too large");
        goto fail;
    }
    c->table = malloc(cells * sizeof *c->table);
    c->smean = malloc(s->S * fc->n_out * sizeof *c->smean);
    sum = calloc(cells, sizeof *sum);
    cnt = calloc(cells, sizeof *cnt);
    if (!c->table || !c->smean || !sum || !cnt)
        goto oom;
    for (size_t si = 0; si < s->S; si++)
        for (size_t k = 0; k < fc->n_out; k++) {
            const size_t v = fc->out_var[k];
            double ssum = 0;
            size_t sn = 0;
            for (size_t t = 0; t < b[1]; t++) {
                const size_t i = (si * s->T + t) * s->V + v;
                if (!s->mask[i])
                    continue;
                ssum += s->values[i];
                sn++;
                size_t day = 0;
                const size_t bin = c->dated ? clim_bin(c, s->epoch[t], &day) : 0;
                if (bin >= c->bins)
                    continue;
                sum[(si * c->bins + bin) * fc->n_out + k] += s->values[i];
                cnt[(si * c->bins + bin) * fc->n_out + k] += 1;
            }
            c->smean[si * fc->n_out + k] = sn ? ssum / (double)sn : NAN;
        }
    /* Day-of-year bins: the +-15-day circular window of raw sums (same hour of day). */
    const size_t hours = c->hourly ? 24 : 1;
    const size_t half = c->dated && !by_month ? CLIM_HALF_WINDOW : 0;
    for (size_t si = 0; si < s->S; si++)
        for (size_t bin = 0; bin < c->bins; bin++)
            for (size_t k = 0; k < fc->n_out; k++) {
                const size_t d = bin / hours, hr = bin % hours;
                double ts = 0, tn = 0;
                for (size_t e = 0; e <= 2 * half; e++) {
                    const size_t dd = (d + days + e - half) % days;
                    const size_t j = (si * c->bins + dd * hours + hr) * fc->n_out + k;
                    ts += sum[j];
                    tn += cnt[j];
                }
                c->table[(si * c->bins + bin) * fc->n_out + k] = tn > 0 ? ts / tn : NAN;
            }
    free(sum);
    free(cnt);
    return c;
oom:
    recur_error("out of memory");
fail:
    free(sum);
    free(cnt);
    recur_fc_clim_free(c);
    return NULL;
}

void recur_fc_clim_predict(const recur_fc_clim_t *c, const recur_fc_t *fc, const recur_series_t *s,
                           const recur_fc_sample_t *smp, double *pred)
{
    for (size_t h = 1; h <= fc->horizon; h++) {
        size_t bin = 0, day;
        if (c->dated)
            bin = clim_bin(c, recur_fc_epoch(s, (double)(smp->t + h)), &day);
        for (size_t k = 0; k < fc->n_out; k++) {
            double x = bin < c->bins ? c->table[(smp->series * c->bins + bin) * c->n_out + k] : NAN;
            if (isnan(x))
                x = c->smean[smp->series * c->n_out + k];
            if (isnan(x))
                x = fc->mean[fc->out_var[k]];
            pred[(h - 1) * fc->n_out + k] = x;
        }
    }
}

void recur_fc_clim_free(recur_fc_clim_t *c)
{
    if (!c)
        return;
    free(c->table);
    free(c->smean);
    free(c);
}

/* ---- Ridge ----------------------------------------------------------------------------------- */

struct recur_fc_ridge {
    size_t P, O;
    double *beta; /* (P, O): rows 0..P-2 the window's features, row P-1 the intercept */
    float *x;     /* (W, F) scratch for prediction */
};

recur_fc_ridge_t *recur_fc_ridge_fit(const recur_fc_t *fc, const recur_series_t *s, double lambda)
{
    const size_t W = fc->window, F = fc->F, O = fc->O;
    size_t P;
    if (!recur_mul_ok(W, F, &P) || P + 1 > RIDGE_MAX_P) {
        recur_error("forecast: ridge baseline skipped: window x features = %zu x %zu is above %d",
                    W, F, RIDGE_MAX_P - 1);
        return NULL;
    }
    P += 1;
    recur_fc_t one = *fc; /* every training sample, whatever the stride */
    one.stride = 1;
    recur_fc_sample_t *smp = NULL;
    size_t n = 0;
    recur_fc_ridge_t *r = calloc(1, sizeof *r);
    gsl_matrix *A = NULL, *Bm = NULL, *X = NULL, *Y = NULL;
    gsl_vector *bcol = NULL, *xcol = NULL;
    float *xw = NULL, *y = NULL;
    unsigned char *ym = NULL;
    if (!r || recur_fc_samples(&one, s, RECUR_SPLIT_TRAIN, &smp, &n) != 0)
        goto fail;
    r->P = P;
    r->O = O;
    A = gsl_matrix_calloc(P, P);
    Bm = gsl_matrix_calloc(P, O);
    X = gsl_matrix_alloc(RIDGE_BLOCK, P);
    Y = gsl_matrix_alloc(RIDGE_BLOCK, O);
    bcol = gsl_vector_alloc(P);
    xcol = gsl_vector_alloc(P);
    r->beta = malloc(P * O * sizeof *r->beta);
    r->x = malloc(W * F * sizeof *r->x);
    xw = malloc(W * F * sizeof *xw);
    y = malloc(O * sizeof *y);
    ym = malloc(O);
    if (!A || !Bm || !X || !Y || !bcol || !xcol || !r->beta || !r->x || !xw || !y || !ym) {
        recur_error("out of memory");
        goto fail;
    }
    size_t rows = 0, used = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n) {
            recur_fc_targets(fc, s, smp[i].series, smp[i].t, s->T, y, ym);
            bool all = true;
            for (size_t k = 0; k < O && all; k++)
                all = ym[k];
            if (!all)
                continue;
            recur_fc_features(fc, s, smp[i].series, smp[i].t + 1 - W, smp[i].t + 1, xw);
            for (size_t j = 0; j + 1 < P; j++)
                gsl_matrix_set(X, rows, j, xw[j]);
            gsl_matrix_set(X, rows, P - 1, 1.0);
            for (size_t k = 0; k < O; k++)
                gsl_matrix_set(Y, rows, k, y[k]);
            rows++;
            used++;
        }
        if (rows == RIDGE_BLOCK || (i == n && rows > 0)) {
            gsl_matrix_view xv = gsl_matrix_submatrix(X, 0, 0, rows, P);
            gsl_matrix_view yv = gsl_matrix_submatrix(Y, 0, 0, rows, O);
            /* A += X'X (lower triangle), B += X'Y */
            gsl_blas_dsyrk(CblasLower, CblasTrans, 1.0, &xv.matrix, 1.0, A);
            gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &xv.matrix, &yv.matrix, 1.0, Bm);
            rows = 0;
        }
    }
    if (used == 0) {
        recur_error("forecast: ridge baseline skipped: no training sample has every target");
        goto fail;
    }
    for (size_t j = 0; j + 1 < P; j++)
        gsl_matrix_set(A, j, j, gsl_matrix_get(A, j, j) + lambda);
    /* a tiny ridge on the intercept too, so that a degenerate design stays positive definite */
    gsl_matrix_set(A, P - 1, P - 1, gsl_matrix_get(A, P - 1, P - 1) + 1e-9);
    if (gsl_linalg_cholesky_decomp1(A) != GSL_SUCCESS) {
        recur_error("forecast: ridge baseline skipped: X'X + lambda I is not positive definite");
        goto fail;
    }
    for (size_t k = 0; k < O; k++) {
        gsl_matrix_get_col(bcol, Bm, k);
        if (gsl_linalg_cholesky_solve(A, bcol, xcol) != GSL_SUCCESS) {
            recur_error("forecast: ridge baseline skipped: the solve failed");
            goto fail;
        }
        for (size_t j = 0; j < P; j++)
            r->beta[j * O + k] = gsl_vector_get(xcol, j);
    }
    goto done;
fail:
    recur_fc_ridge_free(r);
    r = NULL;
done:
    gsl_matrix_free(A);
    gsl_matrix_free(Bm);
    gsl_matrix_free(X);
    gsl_matrix_free(Y);
    gsl_vector_free(bcol);
    gsl_vector_free(xcol);
    free(xw);
    free(y);
    free(ym);
    free(smp);
    return r;
}

void recur_fc_ridge_predict(const recur_fc_ridge_t *r, const recur_fc_t *fc,
                            const recur_series_t *s, const recur_fc_sample_t *smp, double *pred)
{
    const size_t W = fc->window, P = r->P, O = r->O;
    recur_fc_features(fc, s, smp->series, smp->t + 1 - W, smp->t + 1, r->x);
    for (size_t k = 0; k < O; k++) {
        double z = r->beta[(P - 1) * O + k];
        for (size_t j = 0; j + 1 < P; j++)
            z += (double)r->x[j] * r->beta[j * O + k];
        pred[k] = recur_fc_denorm(fc, k, z);
    }
}

void recur_fc_ridge_free(recur_fc_ridge_t *r)
{
    if (!r)
        return;
    free(r->beta);
    free(r->x);
    free(r);
}

/* ---- Metrics --------------------------------------------------------------------------------- */

int recur_fc_metrics_init(recur_fc_metrics_t *m, size_t O)
{
    m->O = O;
    m->abs_err = calloc(O, sizeof *m->abs_err);
    m->sq_err = calloc(O, sizeof *m->sq_err);
    m->count = calloc(O, sizeof *m->count);
    if (!m->abs_err || !m->sq_err || !m->count) {
        recur_fc_metrics_release(m);
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    return 0;
}

void recur_fc_metrics_release(recur_fc_metrics_t *m)
{
    free(m->abs_err);
    free(m->sq_err);
    free(m->count);
    m->abs_err = m->sq_err = NULL;
    m->count = NULL;
}

void recur_fc_metrics_add(recur_fc_metrics_t *m, const double *pred, const double *truth,
                          const unsigned char *tm)
{
    for (size_t k = 0; k < m->O; k++) {
        if (!tm[k])
            continue;
        const double e = pred[k] - truth[k];
        m->abs_err[k] += fabs(e);
        m->sq_err[k] += e * e;
        m->count[k]++;
    }
}

/* Sum of sums[o] and counts over the outputs of target k at horizon h (0: all). */
static double metric(const recur_fc_metrics_t *m, const recur_fc_t *fc, const double *sums,
                     size_t k, size_t h)
{
    double s = 0;
    size_t n = 0;
    for (size_t hh = 1; hh <= fc->horizon; hh++) {
        if (h && hh != h)
            continue;
        const size_t o = (hh - 1) * fc->n_out + k;
        s += sums[o];
        n += m->count[o];
    }
    return n ? s / (double)n : NAN;
}

double recur_fc_mae(const recur_fc_metrics_t *m, const recur_fc_t *fc, size_t k, size_t h)
{
    return metric(m, fc, m->abs_err, k, h);
}

double recur_fc_mse(const recur_fc_metrics_t *m, const recur_fc_t *fc, size_t k, size_t h)
{
    return metric(m, fc, m->sq_err, k, h);
}
