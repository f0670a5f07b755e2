/* forecast.c - encoding of series for forecasting: chronological splits, training-split z-scores,
 * windows and horizons, calendar features, datasets for the sequence and step heads; the
 * model-file round trip; the network's forecasts in physical units (run by recur/infer.h) and the
 * HDF5 prediction file. The baselines and metrics are in fc_baseline.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include <recur/forecast.h>
#include <recur/infer.h>

#include "h5util.h"

#define MAX_OUTPUTS ((size_t)1 << 20)

static const char *const split_names[] = {"train", "val", "test", "all"};
static const char *const split_long[] = {"training", "validation", "test", "whole"};

const char *recur_split_name(recur_split_t s)
{
    return (unsigned)s < 4 ? split_names[s] : "?";
}

int recur_split_parse(const char *s, recur_split_t *out)
{
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, split_names[i]) == 0) {
            *out = (recur_split_t)i;
            return 0;
        }
    return RECUR_EINVAL;
}

int recur_fc_init(recur_fc_t *fc)
{
    const char *why = NULL;
    if (fc->window < 1 || fc->window > RECUR_FC_MAX_WINDOW)
        why = "window must be 1..100000";
    else if (fc->horizon < 1 || fc->horizon > RECUR_FC_MAX_HORIZON)
        why = "horizon must be 1..10000";
    else if (fc->stride < 1)
        why = "stride must be at least 1";
    else if (!(fc->train_frac > 0 && fc->train_frac <= 1) ||
             !(fc->val_frac >= 0 && fc->val_frac < 1) || fc->train_frac + fc->val_frac > 1 + 1e-12)
        why = "split fractions must satisfy 0 < train, 0 <= val, train + val <= 1";
    else if (fc->n_in < 1 || fc->n_in > RECUR_FC_MAX_INPUTS)
        why = "1..256 input variables";
    else if (fc->n_out < 1 || fc->n_out > RECUR_FC_MAX_TARGETS)
        why = "1..64 target variables";
    for (size_t i = 0; !why && i < fc->n_in; i++)
        if (fc->in_var[i] >= fc->V)
            why = "input index out of range";
    for (size_t i = 0; !why && i < fc->n_out; i++)
        if (fc->out_var[i] >= fc->V)
            why = "target index out of range";
    if (!why && fc->horizon * fc->n_out > MAX_OUTPUTS)
        why = "horizon x targets is too large";
    if (why) {
        recur_error("forecast: %s", why);
        return RECUR_EINVAL;
    }
    fc->F = fc->n_in * (fc->missing_indicators ? 2 : 1) + (fc->doy ? 2 : 0) + (fc->hour ? 2 : 0);
    fc->O = fc->horizon * fc->n_out;
    return 0;
}

void recur_fc_release(recur_fc_t *fc)
{
    if (!fc)
        return;
    free(fc->mean);
    free(fc->std);
    fc->mean = fc->std = NULL;
}

void recur_fc_bounds(const recur_fc_t *fc, size_t T, size_t b[4])
{
    size_t b1 = (size_t)floor(fc->train_frac * (double)T + 1e-9);
    size_t b2 = b1 + (size_t)floor(fc->val_frac * (double)T + 1e-9);
    if (b1 > T)
        b1 = T;
    if (b2 > T)
        b2 = T;
    b[0] = 0;
    b[1] = b1;
    b[2] = b2;
    b[3] = T;
}

/* Step range [lo, hi) of a split. */
static void split_range(const recur_fc_t *fc, size_t T, recur_split_t sp, size_t *lo, size_t *hi)
{
    size_t b[4];
    recur_fc_bounds(fc, T, b);
    if (sp == RECUR_SPLIT_ALL) {
        *lo = 0;
        *hi = T;
    } else {
        *lo = b[sp];
        *hi = b[sp + 1];
    }
}

static const char *var_name(const recur_series_t *s, size_t v)
{
    return s->var_names[v];
}

/* A target of fc with no present value in steps [lo, hi) of any series, or -1. */
static long target_without_value(const recur_fc_t *fc, const recur_series_t *s, size_t lo,
                                 size_t hi)
{
    for (size_t k = 0; k < fc->n_out; k++) {
        const size_t v = fc->out_var[k];
        bool any = false;
        for (size_t si = 0; si < s->S && !any; si++)
            for (size_t t = lo; t < hi && !any; t++)
                any = s->mask[(si * s->T + t) * s->V + v];
        if (!any)
            return (long)k;
    }
    return -1;
}

/* The checks shared by fit and check: dates for calendar features, split lengths, targets. */
static int check_splits(const recur_fc_t *fc, const recur_series_t *s, const char *path,
                        const bool want[3], bool fitting)
{
    if (s->V != fc->V) {
        recur_error("%s: %zu variables, the encoding has %zu", path, s->V, fc->V);
        return RECUR_EINVAL;
    }
    if ((fc->doy || fc->hour) && !s->epoch) {
        recur_error("%s: calendar features need a time coordinate with units '<unit> since "
                    "<date>' (time '%s' has %s%s%s)",
                    path, s->time_name ? s->time_name : "?", s->time_units ? "units '" : "none",
                    s->time_units ? s->time_units : "", s->time_units ? "'" : "");
        return RECUR_EINVAL;
    }
    const size_t need = fc->window + fc->horizon;
    if (need > s->T) {
        recur_error("%s: window %zu + horizon %zu = %zu steps, longer than the series (%zu steps)",
                    path, fc->window, fc->horizon, need, s->T);
        return RECUR_EINVAL;
    }
    size_t b[4];
    recur_fc_bounds(fc, s->T, b);
    for (int sp = 0; sp < 3; sp++) {
        if (!want[sp])
            continue;
        const size_t len = b[sp + 1] - b[sp];
        if (len < need && (sp == RECUR_SPLIT_TRAIN || !fitting)) {
            recur_error("%s: the %s split has %zu steps, fewer than window %zu + horizon %zu", path,
                        split_long[sp], len, fc->window, fc->horizon);
            return RECUR_EINVAL;
        }
        const long k = target_without_value(fc, s, b[sp], b[sp + 1]);
        if (k >= 0) {
            recur_error("%s: target '%s' has no valid value in the %s split (steps %zu..%zu)", path,
                        var_name(s, fc->out_var[k]), split_long[sp], b[sp], b[sp + 1] - 1);
            return RECUR_EINVAL;
        }
    }
    return 0;
}

int recur_fc_check(const recur_fc_t *fc, const recur_series_t *s, const char *path,
                   recur_split_t split)
{
    bool want[3] = {false, false, false};
    if (split != RECUR_SPLIT_ALL)
        want[split] = true;
    return check_splits(fc, s, path, want, false);
}

int recur_fc_fit(recur_fc_t *fc, const recur_series_t *s, const char *path)
{
    size_t b[4];
    recur_fc_bounds(fc, s->T, b);
    /* training always; validation and test when they are not empty */
    bool want[3] = {true, b[2] > b[1], b[3] > b[2]};
    int rc = check_splits(fc, s, path, want, true);
    if (rc)
        return rc;
    double *mean = calloc(s->V, sizeof *mean), *sd = calloc(s->V, sizeof *sd);
    if (!mean || !sd) {
        free(mean);
        free(sd);
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    for (size_t v = 0; v < s->V; v++) {
        /* two passes in double: mean, then the squared deviations */
        double sum = 0, ss = 0;
        size_t n = 0;
        for (size_t si = 0; si < s->S; si++)
            for (size_t t = 0; t < b[1]; t++) {
                const size_t i = (si * s->T + t) * s->V + v;
                if (s->mask[i]) {
                    sum += s->values[i];
                    n++;
                }
            }
        if (n == 0) {
            recur_error("%s: variable '%s' has no valid value in the training split", path,
                        var_name(s, v));
            free(mean);
            free(sd);
            return RECUR_EINVAL;
        }
        const double m = sum / (double)n;
        for (size_t si = 0; si < s->S; si++)
            for (size_t t = 0; t < b[1]; t++) {
                const size_t i = (si * s->T + t) * s->V + v;
                if (s->mask[i])
                    ss += (s->values[i] - m) * (s->values[i] - m);
            }
        const double sdv = sqrt(ss / (double)n);
        mean[v] = m;
        sd[v] = sdv > 1e-12 * (1 + fabs(m)) && isfinite(sdv) ? sdv : 1.0;
    }
    recur_fc_release(fc);
    fc->mean = mean;
    fc->std = sd;
    return 0;
}

void recur_fc_feature_name(const recur_fc_t *fc, const recur_series_t *s, size_t j, char *buf,
                           size_t size)
{
    static const char *const cal[] = {"doy_sin", "doy_cos", "hour_sin", "hour_cos"};
    if (j < fc->n_in) {
        snprintf(buf, size, "%s", var_name(s, fc->in_var[j]));
        return;
    }
    j -= fc->n_in;
    if (fc->missing_indicators) {
        if (j < fc->n_in) {
            snprintf(buf, size, "%s_missing", var_name(s, fc->in_var[j]));
            return;
        }
        j -= fc->n_in;
    }
    if (!fc->doy)
        j += 2;
    snprintf(buf, size, "%s", j < 4 ? cal[j] : "?");
}

void recur_fc_output_name(const recur_fc_t *fc, const recur_series_t *s, size_t k, char *buf,
                          size_t size)
{
    snprintf(buf, size, "%s+%zu", var_name(s, fc->out_var[k % fc->n_out]), k / fc->n_out + 1);
}

int recur_fc_samples(const recur_fc_t *fc, const recur_series_t *s, recur_split_t split,
                     recur_fc_sample_t **out, size_t *n)
{
    size_t lo, hi;
    split_range(fc, s->T, split, &lo, &hi);
    *out = NULL;
    *n = 0;
    const size_t first = lo + fc->window - 1;
    /* last issue time: targets inside the split (ALL: any t, future targets missing) */
    const size_t reach = split == RECUR_SPLIT_ALL ? 0 : fc->horizon;
    if (hi < reach + 1 || first > hi - 1 - reach)
        return 0;
    const size_t last = hi - 1 - reach;
    const size_t per = (last - first) / fc->stride + 1;
    size_t total;
    if (!recur_mul_ok(per, s->S, &total) || total > ((size_t)1 << 32)) {
        recur_error("forecast: too many samples");
        return RECUR_EINVAL;
    }
    recur_fc_sample_t *v = malloc(total * sizeof *v);
    if (!v) {
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    size_t k = 0;
    for (size_t si = 0; si < s->S; si++)
        for (size_t t = first; t <= last; t += fc->stride)
            v[k++] = (recur_fc_sample_t){.series = si, .t = t};
    *out = v;
    *n = k;
    return 0;
}

void recur_fc_features(const recur_fc_t *fc, const recur_series_t *s, size_t si, size_t t0,
                       size_t t1, float *x)
{
    const size_t F = fc->F, nin = fc->n_in;
    for (size_t t = t0; t < t1; t++) {
        float *row = x + (t - t0) * F; /* (F) */
        const size_t base = (si * s->T + t) * s->V;
        size_t j = 0;
        for (size_t i = 0; i < nin; i++) {
            const size_t v = fc->in_var[i];
            row[j++] = s->mask[base + v] ? (float)((s->values[base + v] - fc->mean[v]) / fc->std[v])
                                         : 0.0f;
        }
        if (fc->missing_indicators)
            for (size_t i = 0; i < nin; i++)
                row[j++] = s->mask[base + fc->in_var[i]] ? 0.0f : 1.0f;
        if (fc->doy || fc->hour) {
            recur_civil_t c = {0};
            if (!s->epoch || !recur_time_civil(s->epoch[t], &c)) {
                c.year_days = 365;
                c.yday = 0;
                c.sec = 0;
            }
            if (fc->doy) {
                const double a = 2 * M_PI * ((double)c.yday + c.sec / 86400.0) / c.year_days;
                row[j++] = (float)sin(a);
                row[j++] = (float)cos(a);
            }
            if (fc->hour) {
                const double a = 2 * M_PI * c.sec / 86400.0;
                row[j++] = (float)sin(a);
                row[j++] = (float)cos(a);
            }
        }
    }
}

void recur_fc_targets(const recur_fc_t *fc, const recur_series_t *s, size_t si, size_t t,
                      size_t limit, float *y, unsigned char *ym)
{
    const size_t end = limit < s->T ? limit : s->T;
    for (size_t h = 1; h <= fc->horizon; h++)
        for (size_t k = 0; k < fc->n_out; k++) {
            const size_t o = (h - 1) * fc->n_out + k, v = fc->out_var[k], tt = t + h;
            const size_t i = (si * s->T + tt) * s->V + v;
            if (tt < end && s->mask[i]) {
                y[o] = (float)((s->values[i] - fc->mean[v]) / fc->std[v]);
                ym[o] = 1;
            } else {
                y[o] = 0.0f;
                ym[o] = 0;
            }
        }
}

double recur_fc_denorm(const recur_fc_t *fc, size_t k, double z)
{
    const size_t v = fc->out_var[k % fc->n_out];
    return z * fc->std[v] + fc->mean[v];
}

void recur_fc_truth(const recur_fc_t *fc, const recur_series_t *s, const recur_fc_sample_t *smp,
                    double *truth, unsigned char *tm)
{
    for (size_t h = 1; h <= fc->horizon; h++)
        for (size_t k = 0; k < fc->n_out; k++) {
            const size_t o = (h - 1) * fc->n_out + k, tt = smp->t + h;
            const size_t i = (smp->series * s->T + tt) * s->V + fc->out_var[k];
            tm[o] = tt < s->T && s->mask[i];
            truth[o] = tm[o] ? s->values[i] : NAN;
        }
}

double recur_fc_epoch(const recur_series_t *s, double t)
{
    if (!s->epoch)
        return NAN;
    if (t <= (double)(s->T - 1)) {
        const size_t i = (size_t)t;
        return s->epoch[i];
    }
    const double dt = s->T > 1 ? s->epoch[s->T - 1] - s->epoch[s->T - 2] : 86400.0;
    return s->epoch[s->T - 1] + (t - (double)(s->T - 1)) * dt;
}

bool recur_fc_date_only(const recur_series_t *s)
{
    if (!s->epoch)
        return false;
    for (size_t t = 0; t < s->T; t++)
        if (fmod(s->epoch[t], 86400.0) != 0)
            return false;
    return true;
}

/* "<series>@<date>" (or "@<index>") of sample (si, t). */
static void sample_name(const recur_series_t *s, size_t si, size_t t, bool date_only, char *buf,
                        size_t size)
{
    char when[48];
    if (s->epoch)
        recur_time_format(s->epoch[t], date_only, when, sizeof when);
    else
        snprintf(when, sizeof when, "%zu", t);
    snprintf(buf, size, "%s@%s", s->series_names[si], when);
}

/* Output names into ds->classes. */
static int set_classes(const recur_fc_t *fc, const recur_series_t *s, recur_dataset_t *ds)
{
    if (!(ds->classes = calloc(fc->O, sizeof *ds->classes)))
        return RECUR_ENOMEM;
    for (size_t k = 0; k < fc->O; k++) {
        char buf[300];
        recur_fc_output_name(fc, s, k, buf, sizeof buf);
        if (!(ds->classes[k] = strdup(buf)))
            return RECUR_ENOMEM;
    }
    return 0;
}

recur_dataset_t *recur_fc_dataset_seq(const recur_fc_t *fc, const recur_series_t *s,
                                      const recur_fc_sample_t *smp, size_t n)
{
    const size_t W = fc->window, F = fc->F, O = fc->O;
    if (n == 0) {
        recur_error("forecast: no samples");
        return NULL;
    }
    recur_dataset_t *ds = recur_dataset_alloc(RECUR_TASK_REGRESS, RECUR_HEAD_SEQ, n, W, F, O, true);
    if (!ds)
        return NULL;
    const bool date_only = recur_fc_date_only(s);
    if (!(ds->names = calloc(n, sizeof *ds->names)) || set_classes(fc, s, ds) != 0)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        const size_t t = smp[i].t, si = smp[i].series;
        recur_fc_features(fc, s, si, t + 1 - W, t + 1, ds->x + i * W * F);
        memset(ds->mask + i * W, 1, W);
        recur_fc_targets(fc, s, si, t, s->T, ds->targets + i * O, ds->target_mask + i * O);
        char name[600];
        sample_name(s, si, t, date_only, name, sizeof name);
        if (!(ds->names[i] = strdup(name)))
            goto oom;
    }
    return ds;
oom:
    recur_error("out of memory");
    recur_dataset_free(ds);
    return NULL;
}

recur_dataset_t *recur_fc_dataset_step(const recur_fc_t *fc, const recur_series_t *s,
                                       recur_split_t split)
{
    size_t lo, hi;
    split_range(fc, s->T, split, &lo, &hi);
    const size_t L = hi - lo, F = fc->F, O = fc->O;
    if (L == 0) {
        recur_error("forecast: the %s split is empty", split_long[split]);
        return NULL;
    }
    recur_dataset_t *ds =
        recur_dataset_alloc(RECUR_TASK_REGRESS, RECUR_HEAD_STEP, s->S, L, F, O, true);
    if (!ds)
        return NULL;
    if (!(ds->names = calloc(s->S, sizeof *ds->names)) || set_classes(fc, s, ds) != 0)
        goto oom;
    const bool date_only = recur_fc_date_only(s);
    for (size_t si = 0; si < s->S; si++) {
        recur_fc_features(fc, s, si, lo, hi, ds->x + si * L * F);
        memset(ds->mask + si * L, 1, L);
        for (size_t t = lo; t < hi; t++) {
            const size_t r = si * L + (t - lo);
            recur_fc_targets(fc, s, si, t, hi, ds->targets + r * O, ds->target_mask + r * O);
        }
        char name[600];
        sample_name(s, si, lo, date_only, name, sizeof name);
        if (!(ds->names[si] = strdup(name)))
            goto oom;
    }
    return ds;
oom:
    recur_error("out of memory");
    recur_dataset_free(ds);
    return NULL;
}

/* ---- Model file ------------------------------------------------------------------------------ */

bool recur_fc_is_forecaster(const recur_model_t *m)
{
    size_t n;
    return recur_model_numbers(m, "horizon", &n) != NULL && n == 1;
}

/* Sets a string list built by name(fc, s, i, buf) for i < n. */
static int set_names(recur_model_t *m, const char *key, size_t n,
                     void (*name)(const recur_fc_t *, const recur_series_t *, size_t, char *,
                                  size_t),
                     const recur_fc_t *fc, const recur_series_t *s)
{
    char **v = calloc(n ? n : 1, sizeof *v);
    int rc = v ? 0 : RECUR_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char buf[300];
        name(fc, s, i, buf, sizeof buf);
        if (!(v[i] = strdup(buf)))
            rc = RECUR_ENOMEM;
    }
    if (rc == 0)
        rc = recur_model_set_strings(m, key, (const char *const *)v, n);
    else
        recur_error("out of memory");
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
    return rc;
}

static void input_name(const recur_fc_t *fc, const recur_series_t *s, size_t i, char *buf,
                       size_t size)
{
    snprintf(buf, size, "%s", s->var_names[fc->in_var[i]]);
}

static void target_name(const recur_fc_t *fc, const recur_series_t *s, size_t i, char *buf,
                        size_t size)
{
    snprintf(buf, size, "%s", s->var_names[fc->out_var[i]]);
}

int recur_fc_to_model(const recur_fc_t *fc, const recur_series_t *s, const recur_fc_source_t *src,
                      recur_model_t *m)
{
    const double H = (double)fc->horizon, W = (double)fc->window, st = (double)fc->stride;
    const double split[2] = {fc->train_frac, fc->val_frac};
    const double cal[2] = {fc->doy, fc->hour}, mi = fc->missing_indicators;
    double idx_in[RECUR_FC_MAX_INPUTS], idx_out[RECUR_FC_MAX_TARGETS];
    for (size_t i = 0; i < fc->n_in; i++)
        idx_in[i] = (double)fc->in_var[i];
    for (size_t i = 0; i < fc->n_out; i++)
        idx_out[i] = (double)fc->out_var[i];
    int rc = 0;
    if (recur_model_set_numbers(m, "horizon", &H, 1) ||
        recur_model_set_numbers(m, "window", &W, 1) ||
        recur_model_set_numbers(m, "stride", &st, 1) ||
        recur_model_set_numbers(m, "split", split, 2) ||
        recur_model_set_numbers(m, "mean", fc->mean, fc->V) ||
        recur_model_set_numbers(m, "std", fc->std, fc->V) ||
        recur_model_set_numbers(m, "calendar", cal, 2) ||
        recur_model_set_numbers(m, "missing_indicators", &mi, 1) ||
        recur_model_set_numbers(m, "input_index", idx_in, fc->n_in) ||
        recur_model_set_numbers(m, "target_index", idx_out, fc->n_out) ||
        recur_model_set_strings(m, "variables", src->vars, fc->V) ||
        set_names(m, "inputs", fc->n_in, input_name, fc, s) ||
        set_names(m, "targets", fc->n_out, target_name, fc, s) ||
        set_names(m, "features", fc->F, recur_fc_feature_name, fc, s) ||
        set_names(m, "outputs", fc->O, recur_fc_output_name, fc, s))
        rc = RECUR_EINVAL;
    if (rc == 0 && src->dataset && recur_model_set_strings(m, "h5_dataset", &src->dataset, 1))
        rc = RECUR_EINVAL;
    if (rc == 0 && src->n_select &&
        recur_model_set_strings(m, "select", src->select, src->n_select))
        rc = RECUR_EINVAL;
    if (rc == 0 && src->time_dim && recur_model_set_strings(m, "time_dim", &src->time_dim, 1))
        rc = RECUR_EINVAL;
    const char *tu = s->time_units;
    if (rc == 0 && tu && recur_model_set_strings(m, "time_units", &tu, 1))
        rc = RECUR_EINVAL;
    return rc;
}

/* A whole number list entry key of exactly n values (n == 0: any length, returned in *n_out). */
static const double *need_numbers(const recur_model_t *m, const char *path, const char *key,
                                  size_t n, size_t *n_out)
{
    size_t k;
    const double *v = recur_model_numbers(m, key, &k);
    if (!v || (n && k != n)) {
        if (!v)
            recur_error("%s: not a forecaster: no number list '%s' in /config", path, key);
        else
            recur_error("%s: /config/%s has %zu values, expected %zu", path, key, k, n);
        return NULL;
    }
    if (n_out)
        *n_out = k;
    return v;
}

/* v is a whole number in [lo, hi]. */
static bool whole(double v, double lo, double hi)
{
    return isfinite(v) && v == floor(v) && v >= lo && v <= hi;
}

int recur_fc_from_model(const recur_model_t *m, const char *path, recur_fc_t *fc,
                        recur_fc_source_t *src)
{
    memset(fc, 0, sizeof *fc);
    memset(src, 0, sizeof *src);
    size_t V = 0, n_in = 0, n_out = 0, nm = 0, ns = 0;
    const double *H, *W, *st, *split, *cal, *mi, *mean, *sd, *iin, *iout;
    /* one line for the first entry that is missing */
    if (!(H = need_numbers(m, path, "horizon", 1, NULL)) ||
        !(W = need_numbers(m, path, "window", 1, NULL)) ||
        !(st = need_numbers(m, path, "stride", 1, NULL)) ||
        !(split = need_numbers(m, path, "split", 2, NULL)) ||
        !(cal = need_numbers(m, path, "calendar", 2, NULL)) ||
        !(mi = need_numbers(m, path, "missing_indicators", 1, NULL)) ||
        !(mean = need_numbers(m, path, "mean", 0, &nm)) ||
        !(sd = need_numbers(m, path, "std", 0, &ns)) ||
        !(iin = need_numbers(m, path, "input_index", 0, &n_in)) ||
        !(iout = need_numbers(m, path, "target_index", 0, &n_out)))
        return RECUR_EFORMAT;
    const char *const *vars = recur_model_strings(m, "variables", &V);
    const char *why = NULL;
    if (!vars || V == 0 || V > RECUR_SERIES_MAX_VARS)
        why = "no string list 'variables'";
    else if (nm != V || ns != V)
        why = "mean and std do not have one value per variable";
    else if (!whole(H[0], 1, RECUR_FC_MAX_HORIZON) || !whole(W[0], 1, RECUR_FC_MAX_WINDOW) ||
             !whole(st[0], 1, 1e9))
        why = "horizon, window or stride out of range";
    else if (n_in < 1 || n_in > RECUR_FC_MAX_INPUTS || n_out < 1 || n_out > RECUR_FC_MAX_TARGETS)
        why = "bad number of inputs or targets";
    for (size_t v = 0; !why && v < V; v++)
        if (!isfinite(mean[v]) || !isfinite(sd[v]) || !(sd[v] > 0))
            why = "mean or std not finite, or std not positive";
    for (size_t i = 0; !why && i < n_in; i++)
        if (!whole(iin[i], 0, (double)V - 1))
            why = "input_index out of range";
    for (size_t i = 0; !why && i < n_out; i++)
        if (!whole(iout[i], 0, (double)V - 1))
            why = "target_index out of range";
    if (!why && (!isfinite(split[0]) || !isfinite(split[1])))
        why = "split not finite";
    if (why) {
        recur_error("%s: bad forecasting encoding in /config: %s", path, why);
        return RECUR_EFORMAT;
    }
    fc->horizon = (size_t)H[0];
    fc->window = (size_t)W[0];
    fc->stride = (size_t)st[0];
    fc->train_frac = split[0];
    fc->val_frac = split[1];
    fc->doy = cal[0] != 0;
    fc->hour = cal[1] != 0;
    fc->missing_indicators = mi[0] != 0;
    fc->V = V;
    fc->n_in = n_in;
    fc->n_out = n_out;
    for (size_t i = 0; i < n_in; i++)
        fc->in_var[i] = (size_t)iin[i];
    for (size_t i = 0; i < n_out; i++)
        fc->out_var[i] = (size_t)iout[i];
    if (recur_fc_init(fc) != 0) {
        recur_error("%s: bad forecasting encoding in /config", path);
        return RECUR_EFORMAT;
    }
    const recur_config_t *cfg = recur_model_config(m);
    if (cfg->input_size != fc->F || cfg->num_outputs != fc->O || cfg->task != RECUR_TASK_REGRESS) {
        recur_error("%s: the network (input %zu, outputs %zu, %s) does not match the encoding "
                    "(features %zu, outputs %zu, regress)",
                    path, cfg->input_size, cfg->num_outputs, recur_task_name(cfg->task), fc->F,
                    fc->O);
        return RECUR_EFORMAT;
    }
    fc->mean = malloc(V * sizeof *fc->mean);
    fc->std = malloc(V * sizeof *fc->std);
    if (!fc->mean || !fc->std) {
        recur_fc_release(fc);
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    memcpy(fc->mean, mean, V * sizeof *mean);
    memcpy(fc->std, sd, V * sizeof *sd);
    size_t n;
    src->vars = vars;
    const char *const *d = recur_model_strings(m, "h5_dataset", &n);
    src->dataset = d && n == 1 ? d[0] : NULL;
    src->select = recur_model_strings(m, "select", &src->n_select);
    d = recur_model_strings(m, "time_dim", &n);
    src->time_dim = d && n == 1 ? d[0] : NULL;
    return 0;
}

/* ---- The network ----------------------------------------------------------------------------- */

#define STEP_CHUNK 1024 /* steps per engine window when running a whole series */

/* The network's outputs, z-scored: sequence head (n, O), one row per sample window; step head
 * (S, T, O), every step of every series. */
static int raw_outputs(const recur_model_t *m, const recur_fc_t *fc, const recur_series_t *s,
                       const recur_fc_sample_t *smp, size_t n, size_t batch, recur_real *z)
{
    const recur_config_t *cfg = recur_model_config(m);
    const bool step = cfg->head == RECUR_HEAD_STEP;
    recur_dataset_t *ds =
        step ? recur_fc_dataset_step(fc, s, RECUR_SPLIT_ALL) : recur_fc_dataset_seq(fc, s, smp, n);
    if (!ds)
        return RECUR_ENOMEM;
    const recur_real *params = recur_model_params_const(m);
    const int rc =
        step ? recur_infer_step_outputs(cfg, params, ds, NULL, ds->N, batch, STEP_CHUNK, z)
             : recur_infer_seq_outputs(cfg, params, ds, NULL, ds->N, batch, z);
    recur_dataset_free(ds);
    return rc;
}

int recur_fc_predict(const recur_model_t *m, const recur_fc_t *fc, const recur_series_t *s,
                     const recur_fc_sample_t *smp, size_t n, size_t batch, double *pred)
{
    const recur_config_t *cfg = recur_model_config(m);
    const size_t O = fc->O;
    if (cfg->input_size != fc->F || cfg->num_outputs != O || batch == 0) {
        recur_error("forecast: the network does not match the encoding");
        return RECUR_EINVAL;
    }
    if (n == 0)
        return 0;
    const bool step = cfg->head == RECUR_HEAD_STEP;
    size_t cells;
    if (!recur_mul_ok(step ? s->S * s->T : n, O, &cells) ||
        cells > RECUR_DATASET_MAX_BYTES / sizeof(recur_real)) {
        recur_error("forecast: too many outputs to hold");
        return RECUR_EINVAL;
    }
    recur_real *z = malloc(cells * sizeof *z);
    if (!z) {
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    int rc = raw_outputs(m, fc, s, smp, n, batch, z);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const recur_real *zi = step ? z + (smp[i].series * s->T + smp[i].t) * O : z + i * O;
        for (size_t k = 0; k < O; k++)
            pred[i * O + k] = recur_fc_denorm(fc, k, (double)zi[k]);
    }
    free(z);
    return rc;
}

/* ---- Prediction files ------------------------------------------------------------------------ */

/* A dataset of variable-length UTF-8 strings. */
static int put_strings(recur_h5_ctx_t *c, hid_t f, const char *name, int rank, const hsize_t *dims,
                       const char *const *v)
{
    hid_t t = recur_h5_str_type(RECUR_H5_STR_VLEN_UTF8, 0, false);
    if (t < 0)
        return recur_h5_fail_h5(c, RECUR_EIO, "cannot make a string type");
    const int rc = recur_h5_put_dataset(c, f, "", name, t, t, rank, dims, H5P_DEFAULT, v);
    H5Tclose(t);
    return rc;
}

/* What a prediction file holds (recur_fc_write_predictions). */
typedef struct {
    const recur_fc_t *fc;
    const recur_series_t *s;
    const recur_fc_sample_t *smp; /* (n) */
    size_t n;
    const double *pred; /* (n, H, K) */
    const char *cmdline, *model_path;
} pred_file_t;

/* Every array of the prediction file into the open file f (recur_h5_fill_fn); a failure is
 * "cannot write the predictions", with the detail when there is one. */
static int fill_predictions(recur_h5_ctx_t *c, hid_t f, const void *arg)
{
    const pred_file_t *p = arg;
    const recur_fc_t *fc = p->fc;
    const recur_series_t *s = p->s;
    const recur_fc_sample_t *smp = p->smp;
    const size_t n = p->n;
    recur_h5_ctx_t in = {.set = false}; /* the detail */
    const size_t H = fc->horizon, K = fc->n_out, O = fc->O;
    const bool dated = s->epoch != NULL, date_only = recur_fc_date_only(s);
    int rc = -1;
    double *truth = malloc(n * O * sizeof *truth), *issue = malloc(n * sizeof *issue);
    double *valid = malloc(n * H * sizeof *valid);
    int32_t *series = malloc(n * sizeof *series), *hz = malloc(H * sizeof *hz);
    unsigned char *tm = malloc(O);
    char **issue_d = dated ? calloc(n, sizeof *issue_d) : NULL;
    char **valid_d = dated ? calloc(n * H, sizeof *valid_d) : NULL;
    char **targets = calloc(K, sizeof *targets);
    char *dates = dated ? malloc(n * (H + 1) * 32) : NULL; /* storage of the date strings */
    if (!truth || !issue || !valid || !series || !hz || !tm || !targets ||
        (dated && (!issue_d || !valid_d || !dates)))
        goto out;
    /* time coordinate spacing, for valid times past the end without dates */
    const double dt = s->T > 1 ? s->time[s->T - 1] - s->time[s->T - 2] : 1.0;
    for (size_t i = 0; i < n; i++) {
        const size_t t = smp[i].t;
        recur_fc_truth(fc, s, &smp[i], truth + i * O, tm);
        series[i] = (int32_t)smp[i].series;
        issue[i] = dated ? s->epoch[t] : s->time[t];
        if (dated) {
            issue_d[i] = dates + i * (H + 1) * 32;
            recur_time_format(issue[i], date_only, issue_d[i], 32);
        }
        for (size_t h = 1; h <= H; h++) {
            const size_t tt = t + h;
            valid[i * H + h - 1] =
                dated
                    ? recur_fc_epoch(s, (double)tt)
                    : (tt < s->T ? s->time[tt] : s->time[s->T - 1] + dt * (double)(tt - s->T + 1));
            if (dated) {
                valid_d[i * H + h - 1] = dates + (i * (H + 1) + h) * 32;
                recur_time_format(valid[i * H + h - 1], date_only, valid_d[i * H + h - 1], 32);
            }
        }
    }
    for (size_t h = 0; h < H; h++)
        hz[h] = (int32_t)(h + 1);
    for (size_t k = 0; k < K; k++)
        targets[k] = s->var_names[fc->out_var[k]];
    const hsize_t d3[3] = {n, H, K}, d2[2] = {n, H}, d1[1] = {n}, dh[1] = {H}, dk[1] = {K};
    const hsize_t ds_[1] = {s->S};
    char units[300];
    if (dated)
        snprintf(units, sizeof units, "seconds since 1970-01-01T00:00:00Z");
    else
        snprintf(units, sizeof units, "%s", s->time_units ? s->time_units : "steps");
    const recur_h5_str_t u8 = RECUR_H5_STR_FIXED_UTF8;
    const hid_t F64 = H5T_IEEE_F64LE, D = H5T_NATIVE_DOUBLE, I32 = H5T_STD_I32LE,
                I = H5T_NATIVE_INT32, P = H5P_DEFAULT;
    if (recur_h5_put_str(&in, f, "", "format", "recur-forecast", u8) ||
        recur_h5_put_i32(&in, f, "", "format_version", 1) ||
        recur_h5_put_str(&in, f, "", "recur_version", RECUR_VERSION, u8) ||
        recur_h5_put_str(&in, f, "", "command_line", p->cmdline ? p->cmdline : "", u8) ||
        recur_h5_put_str(&in, f, "", "model", p->model_path ? p->model_path : "", u8) ||
        recur_h5_put_dataset(&in, f, "", "forecast", F64, D, 3, d3, P, p->pred) ||
        recur_h5_put_dataset(&in, f, "", "truth", F64, D, 3, d3, P, truth) ||
        recur_h5_put_dataset(&in, f, "", "issue_time", F64, D, 1, d1, P, issue) ||
        recur_h5_put_dataset(&in, f, "", "valid_time", F64, D, 2, d2, P, valid) ||
        recur_h5_put_dataset(&in, f, "", "series", I32, I, 1, d1, P, series) ||
        recur_h5_put_dataset(&in, f, "", "horizon", I32, I, 1, dh, P, hz) ||
        put_strings(&in, f, "target", 1, dk, (const char *const *)targets) ||
        put_strings(&in, f, "series_name", 1, ds_, (const char *const *)s->series_names))
        goto out;
    for (const char *const *nm = (const char *const[]){"issue_time", "valid_time", NULL}; *nm;
         nm++) {
        hid_t d = H5Dopen2(f, *nm, H5P_DEFAULT);
        const int bad = d < 0 || recur_h5_put_str(&in, d, *nm, "units", units, u8);
        if (d >= 0)
            H5Dclose(d);
        if (bad)
            goto out;
    }
    if (dated && (put_strings(&in, f, "issue_date", 1, d1, (const char *const *)issue_d) ||
                  put_strings(&in, f, "valid_date", 2, d2, (const char *const *)valid_d)))
        goto out;
    rc = 0;
out:
    free(truth);
    free(issue);
    free(valid);
    free(series);
    free(hz);
    free(tm);
    free(issue_d);
    free(valid_d);
    free(targets);
    free(dates);
    if (rc && in.set)
        return recur_h5_fail(c, RECUR_EIO, "cannot write the predictions (%s)", in.msg);
    if (rc)
        return recur_h5_fail(c, RECUR_EIO, "cannot write the predictions");
    return 0;
}

int recur_fc_write_predictions(const char *path, const recur_fc_t *fc, const recur_series_t *s,
                               const recur_fc_sample_t *smp, size_t n, const double *pred,
                               const char *cmdline, const char *model_path)
{
    H5E_auto2_t old_fn;
    void *old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const pred_file_t p = {fc, s, smp, n, pred, cmdline, model_path};
    const int rc = recur_h5_save(path, 0, fill_predictions, &p); /* logs its own failure */
    H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
    return rc;
}
