/* h5series.c - weather and climate series from HDF5 / netCDF-4 files (include/recur/h5series.h):
 * the series object, --select parsing, plain (time, feature) datasets and CF variables over
 * named dimensions with selections and panels. Variables are opened and validated by h5var.c,
 * their time units decoded by cftime.c. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hdf5.h>

#include <recur/h5series.h>

#include "h5util.h"
#include "h5var.h"

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---- Selections ------------------------------------------------------------------------------ */

int recur_series_select_parse(const char *arg, recur_series_select_t *out)
{
    const char *eq = arg ? strchr(arg, '=') : NULL;
    memset(out, 0, sizeof *out);
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof out->name) {
        recur_error("--select: expected DIM=INDEX or DIM=~VALUE, got '%s'", arg ? arg : "");
        return RECUR_EINVAL;
    }
    memcpy(out->name, arg, (size_t)(eq - arg));
    const char *v = eq + 1;
    char *end;
    errno = 0;
    if (*v == '~') {
        out->by_value = true;
        out->value = strtod(v + 1, &end);
        if (v[1] && !*end && !errno && isfinite(out->value))
            return 0;
    } else if (isdigit((unsigned char)*v)) {
        const unsigned long long i = strtoull(v, &end, 10);
        if (!*end && !errno && i < RECUR_SERIES_MAX_DIM) {
            out->index = (size_t)i;
            return 0;
        }
    }
    recur_error("--select: expected DIM=INDEX or DIM=~VALUE, got '%s'", arg);
    return RECUR_EINVAL;
}

/* ---- The series ------------------------------------------------------------------------------ */

void recur_series_free(recur_series_t *s)
{
    if (!s)
        return;
    free(s->values);
    free(s->mask);
    free(s->time);
    free(s->epoch);
    free(s->time_name);
    free(s->time_units);
    for (size_t i = 0; s->var_names && i < s->V; i++)
        free(s->var_names[i]);
    for (size_t i = 0; s->var_units && i < s->V; i++)
        free(s->var_units[i]);
    for (size_t i = 0; s->series_names && i < s->S; i++)
        free(s->series_names[i]);
    free(s->var_names);
    free(s->var_units);
    free(s->series_names);
    free(s);
}

long recur_series_var_index(const recur_series_t *s, const char *name)
{
    for (size_t i = 0; i < s->V; i++)
        if (strcmp(s->var_names[i], name) == 0)
            return (long)i;
    const char *b = recur_h5var_base_name(name);
    for (size_t i = 0; i < s->V; i++)
        if (strcmp(recur_h5var_base_name(s->var_names[i]), b) == 0)
            return (long)i;
    return -1;
}

/* Checked byte count of n elements of size sz added to *total; false above cap. */
static bool add_bytes(size_t *total, size_t n, size_t sz, size_t cap)
{
    size_t b;
    return recur_mul_ok(n, sz, &b) && !__builtin_add_overflow(*total, b, total) && *total <= cap;
}

/* Allocates s's arrays for S x T x V (the byte count checked by the caller). */
static int alloc_series(recur_h5_ctx_t *c, recur_series_t *s, size_t S, size_t T, size_t V)
{
    const size_t n = S * T * V;
    s->S = S;
    s->T = T;
    s->V = V;
    s->values = malloc(n * sizeof *s->values);
    s->mask = malloc(n);
    s->time = malloc(T * sizeof *s->time);
    s->var_names = calloc(V, sizeof *s->var_names);
    s->var_units = calloc(V, sizeof *s->var_units);
    s->series_names = calloc(S, sizeof *s->series_names);
    if (!s->values || !s->mask || !s->time || !s->var_names || !s->var_units || !s->series_names)
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        s->values[i] = NAN;
        s->mask[i] = 0;
    }
    for (size_t t = 0; t < T; t++)
        s->time[t] = (double)t;
    return 0;
}

/* The time coordinate: values into s->time, units and calendar decoded into s->epoch. */
static int set_time(recur_h5_ctx_t *c, recur_series_t *s, hid_t scale, const char *dim)
{
    if (!(s->time_name = dup_str(dim)))
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    if (scale < 0)
        return 0;
    double *x;
    bool none;
    if (recur_h5var_read_coord(c, scale, dim, s->T, &x, &none) < 0)
        return RECUR_EFORMAT;
    if (none)
        return 0;
    for (size_t t = 0; t < s->T; t++) {
        if (!isfinite(x[t])) {
            free(x);
            return recur_h5_fail(c, RECUR_EFORMAT, "time coordinate '%s' is missing at index %zu",
                                 dim, t);
        }
        if (t > 0 && !(x[t] > x[t - 1])) {
            const double a = x[t - 1], b = x[t];
            free(x);
            return recur_h5_fail(
                c, RECUR_EFORMAT,
                "time coordinate '%s' is not increasing at index %zu (%g after %g)", dim, t, b, a);
        }
    }
    memcpy(s->time, x, s->T * sizeof *x);
    free(x);
    char units[256], cal[64];
    if (recur_h5var_str_attr(c, scale, "units", units, sizeof units) < 0 ||
        recur_h5var_str_attr(c, scale, "calendar", cal, sizeof cal) < 0)
        return RECUR_EFORMAT;
    if (units[0] && !(s->time_units = dup_str(units)))
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    double us, origin;
    if (!units[0] || recur_time_units_parse(units, &us, &origin) != 0)
        return 0;
    if (cal[0] && strcasecmp(cal, "standard") != 0 && strcasecmp(cal, "gregorian") != 0 &&
        strcasecmp(cal, "proleptic_gregorian") != 0)
        return 0;
    if (!(s->epoch = malloc(s->T * sizeof *s->epoch)))
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    recur_civil_t cv;
    for (size_t t = 0; t < s->T; t++) {
        s->epoch[t] = s->time[t] * us + origin;
        if (!recur_time_civil(s->epoch[t], &cv))
            return recur_h5_fail(c, RECUR_EFORMAT, "time %g %s is out of range", s->time[t], units);
    }
    return 0;
}

static int set_units(recur_h5_ctx_t *c, recur_series_t *s, size_t v, hid_t d, const char *name)
{
    char u[128];
    if (recur_h5var_str_attr(c, d, "units", u, sizeof u) < 0)
        return RECUR_EFORMAT;
    if (!(s->var_units[v] = dup_str(u)) || !(s->var_names[v] = dup_str(name)))
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    return 0;
}

/* Plain mode: a (time) or (time, feature) dataset. */
static int read_plain(recur_h5_ctx_t *c, hid_t f, const recur_series_opts_t *o, size_t cap,
                      recur_series_t *s)
{
    recur_h5var_t v;
    double *buf = NULL;
    int rc = recur_h5var_open(c, f, o->dataset, 2, &v);
    if (rc < 0)
        goto close;
    rc = RECUR_EFORMAT;
    const size_t T = v.dims[0], V = v.rank == 2 ? v.dims[1] : 1;
    if (V > RECUR_SERIES_MAX_VARS) {
        recur_h5_fail(c, rc, "has %zu columns, more than %d", V, RECUR_SERIES_MAX_VARS);
        goto close;
    }
    size_t bytes = 0;
    if (!add_bytes(&bytes, T * V, sizeof(double) * 2 + 1, cap)) {
        recur_h5_fail(c, rc, "%zu x %zu values need more than %zu bytes", T, V, cap);
        goto close;
    }
    /* Column names from a "columns" or "features" string-list attribute. */
    char **names = NULL;
    size_t n_names = 0;
    for (const char *const *an = (const char *const[]){"columns", "features", NULL}; *an; an++) {
        if (H5Aexists(v.id, *an) <= 0)
            continue;
        if (!(names = calloc(V, sizeof *names)))
            recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
        else if (recur_h5var_names(c, v.id, *an, V, names) == 0)
            n_names = V;
        break;
    }
    if (c->set) {
        for (size_t j = 0; names && j < V; j++)
            free(names[j]);
        free(names);
        goto close;
    }
    if ((rc = alloc_series(c, s, 1, T, V)) < 0) {
        for (size_t j = 0; names && j < V; j++)
            free(names[j]);
        free(names);
        goto close;
    }
    char unit[128];
    rc = recur_h5var_str_attr(c, v.id, "units", unit, sizeof unit);
    for (size_t j = 0; j < V && rc == 0; j++) {
        char nm[32];
        snprintf(nm, sizeof nm, "c%zu", j);
        const char *name = n_names && names[j] && names[j][0] ? names[j] : nm;
        if (!(s->var_names[j] = dup_str(name)) || !(s->var_units[j] = dup_str(unit)))
            rc = recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    }
    for (size_t j = 0; names && j < V; j++)
        free(names[j]);
    free(names);
    if (rc < 0 || !(s->series_names[0] = dup_str("")))
        goto close;
    if ((rc = set_time(c, s, v.scale[0], v.dim_name[0])) < 0)
        goto close;
    rc = RECUR_ENOMEM;
    if (!(buf = malloc(T * V * sizeof *buf))) {
        recur_h5_fail(c, rc, "out of memory");
        goto close;
    }
    size_t start[2] = {0, 0}, count[2] = {T, V};
    c->obj = o->dataset;
    if ((rc = recur_h5var_read_slab(c, v.id, v.rank, start, count, buf)) < 0)
        goto close;
    for (size_t i = 0; i < T * V; i++) {
        s->values[i] = recur_h5var_unpack(&v.pk, buf[i]);
        s->mask[i] = !isnan(s->values[i]);
    }
    rc = 0;
close:
    free(buf);
    recur_h5var_close(&v);
    return rc;
}

/* The time dimension of v (see the header for the order of the rules). */
static int find_time_dim(recur_h5_ctx_t *c, const recur_h5var_t *v, const char *want, int *out)
{
    if (want) {
        if ((*out = recur_h5var_dim_index(v, want)) < 0)
            return recur_h5_fail(c, RECUR_EINVAL, "no dimension '%s' (its dimensions: %s%s%s%s%s)",
                                 want, v->dim_name[0], v->rank > 1 ? ", " : "",
                                 v->rank > 1 ? v->dim_name[1] : "", v->rank > 2 ? ", " : "",
                                 v->rank > 2 ? "..." : "");
        return 0;
    }
    if ((*out = recur_h5var_dim_index(v, "time")) >= 0)
        return 0;
    char buf[256];
    for (int i = 0; i < v->rank; i++) {
        if (v->scale[i] < 0)
            continue;
        double us, origin;
        if (recur_h5var_str_attr(c, v->scale[i], "units", buf, sizeof buf) < 0)
            return RECUR_EFORMAT;
        if (recur_time_units_parse(buf, &us, &origin) == 0) {
            *out = i;
            return 0;
        }
        if (recur_h5var_str_attr(c, v->scale[i], "axis", buf, sizeof buf) < 0)
            return RECUR_EFORMAT;
        if (strcmp(buf, "T") == 0) {
            *out = i;
            return 0;
        }
        if (recur_h5var_str_attr(c, v->scale[i], "standard_name", buf, sizeof buf) < 0)
            return RECUR_EFORMAT;
        if (strcmp(buf, "time") == 0) {
            *out = i;
            return 0;
        }
    }
    *out = 0;
    return 0;
}

/* ---- CF mode --------------------------------------------------------------------------------- */

/* How the dimensions of the first variable become the series: the time dimension, dimensions
 * selected at one index, and the others spanning a panel of S series. */
typedef struct {
    int td;                                /* the time dimension */
    size_t T;                              /* its length */
    long sel[RECUR_SERIES_MAX_RANK];       /* selected index, or -1 */
    size_t S;                              /* series of the panel */
    size_t pstride[RECUR_SERIES_MAX_RANK]; /* stride of each panel dimension, in series */
    double *coords[RECUR_SERIES_MAX_RANK]; /* coordinate values read so far (owned), or NULL */
} layout_t;

/* Opens the variables of o into v[0..n_vars-1]; the first *opened are to be closed. */
static int open_vars(recur_h5_ctx_t *c, hid_t f, const recur_series_opts_t *o, recur_h5var_t *v,
                     size_t *opened)
{
    for (size_t j = 0; j < o->n_vars; j++) {
        for (size_t i = 0; i < j; i++)
            if (strcmp(o->vars[i], o->vars[j]) == 0) {
                c->obj = o->vars[j];
                return recur_h5_fail(c, RECUR_EINVAL, "named twice");
            }
        *opened = j + 1;
        const int rc = recur_h5var_open(c, f, o->vars[j], RECUR_SERIES_MAX_RANK, &v[j]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The selections of o on v0's dimensions: by index, or at the coordinate nearest a value. */
static int select_dims(recur_h5_ctx_t *c, const recur_h5var_t *v0, const recur_series_opts_t *o,
                       layout_t *L)
{
    const int rc = RECUR_EINVAL;
    for (int i = 0; i < v0->rank; i++)
        L->sel[i] = -1;
    for (size_t k = 0; k < o->n_select; k++) {
        const recur_series_select_t *q = &o->select[k];
        const int i = recur_h5var_dim_index(v0, q->name);
        if (i < 0)
            return recur_h5_fail(c, rc, "--select: no dimension '%s'", q->name);
        if (i == L->td)
            return recur_h5_fail(c, rc, "--select: '%s' is the time dimension", q->name);
        if (L->sel[i] >= 0)
            return recur_h5_fail(c, rc, "--select: dimension '%s' selected twice", q->name);
        if (!q->by_value) {
            if (q->index >= v0->dims[i])
                return recur_h5_fail(c, rc, "--select: %s=%zu is out of range (0..%zu)", q->name,
                                     q->index, v0->dims[i] - 1);
            L->sel[i] = (long)q->index;
            continue;
        }
        bool none = true;
        if (v0->scale[i] >= 0) {
            const int r =
                recur_h5var_read_coord(c, v0->scale[i], q->name, v0->dims[i], &L->coords[i], &none);
            if (r < 0)
                return r;
        }
        if (none)
            return recur_h5_fail(c, rc, "--select: dimension '%s' has no coordinate values",
                                 q->name);
        double best = INFINITY;
        for (size_t j = 0; j < v0->dims[i]; j++)
            if (fabs(L->coords[i][j] - q->value) < best) {
                best = fabs(L->coords[i][j] - q->value);
                L->sel[i] = (long)j;
            }
        if (L->sel[i] < 0)
            return recur_h5_fail(c, rc, "--select: coordinate '%s' has no valid value", q->name);
    }
    return 0;
}

/* The panel: v0's remaining dimensions in its order, each with its stride in series units. */
static int make_panel(recur_h5_ctx_t *c, const recur_h5var_t *v0, layout_t *L)
{
    L->S = 1;
    for (int i = v0->rank - 1; i >= 0; i--) {
        L->pstride[i] = 0;
        if (i == L->td || L->sel[i] >= 0)
            continue;
        L->pstride[i] = L->S;
        if (!recur_mul_ok(L->S, v0->dims[i], &L->S) || L->S > RECUR_SERIES_MAX_SERIES)
            return recur_h5_fail(c, RECUR_EFORMAT, "the panel has more than %zu series",
                                 RECUR_SERIES_MAX_SERIES);
    }
    return 0;
}

/* Every variable has the dimensions of v[0] (by name), with the same lengths. */
static int check_same_dims(recur_h5_ctx_t *c, const recur_h5var_t *v, size_t V)
{
    const recur_h5var_t *v0 = &v[0];
    const int rc = RECUR_EFORMAT;
    for (size_t j = 1; j < V; j++) {
        c->obj = v[j].path;
        if (v[j].rank != v0->rank)
            return recur_h5_fail(c, rc, "has %d dimensions, %s has %d", v[j].rank, v0->path,
                                 v0->rank);
        for (int i = 0; i < v[j].rank; i++) {
            const int k = recur_h5var_dim_index(v0, v[j].dim_name[i]);
            if (k < 0)
                return recur_h5_fail(c, rc, "has dimension '%s', which %s has not",
                                     v[j].dim_name[i], v0->path);
            if (v[j].dims[i] != v0->dims[k])
                return recur_h5_fail(c, rc, "dimension '%s' has length %zu, in %s %zu",
                                     v[j].dim_name[i], v[j].dims[i], v0->path, v0->dims[k]);
        }
    }
    return 0;
}

/* Series names from the panel coordinates ("station=3,lat=47.5"), indices where there are none. */
static int name_series(recur_h5_ctx_t *c, const recur_h5var_t *v0, layout_t *L, recur_series_t *s)
{
    for (int i = 0; i < v0->rank; i++) {
        if (i == L->td || L->sel[i] >= 0 || L->coords[i] || v0->scale[i] < 0)
            continue;
        bool none;
        const int rc = recur_h5var_read_coord(c, v0->scale[i], v0->dim_name[i], v0->dims[i],
                                              &L->coords[i], &none);
        if (rc < 0)
            return rc;
    }
    for (size_t si = 0; si < L->S; si++) {
        char name[512] = "";
        size_t len = 0;
        for (int i = 0; i < v0->rank; i++) {
            if (i == L->td || L->sel[i] >= 0)
                continue;
            const size_t idx = si / L->pstride[i] % v0->dims[i];
            const double *x = L->coords[i];
            int w;
            if (x && isfinite(x[idx]))
                w = snprintf(name + len, sizeof name - len, "%s%s=%.10g", len ? "," : "",
                             v0->dim_name[i], x[idx]);
            else
                w = snprintf(name + len, sizeof name - len, "%s%s=%zu", len ? "," : "",
                             v0->dim_name[i], idx);
            if (w > 0)
                len = len + (size_t)w < sizeof name ? len + (size_t)w : sizeof name - 1;
        }
        if (!(s->series_names[si] = dup_str(name)))
            return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    }
    return 0;
}

/* Variable j of s (w) read as one slab into buf (S x T values) and scattered into s->values and
 * s->mask, (S, T, V). */
static int scatter_var(recur_h5_ctx_t *c, const recur_h5var_t *w, const recur_h5var_t *v0,
                       const layout_t *L, size_t j, double *buf, recur_series_t *s)
{
    const size_t T = L->T, V = s->V;
    size_t start[RECUR_SERIES_MAX_RANK], count[RECUR_SERIES_MAX_RANK];
    size_t ostride[RECUR_SERIES_MAX_RANK]; /* output stride per dimension of w */
    for (int i = 0; i < w->rank; i++) {
        const int k = recur_h5var_dim_index(v0, w->dim_name[i]);
        if (k == L->td) {
            start[i] = 0;
            count[i] = T;
            ostride[i] = V;
        } else if (L->sel[k] >= 0) {
            start[i] = (size_t)L->sel[k];
            count[i] = 1;
            ostride[i] = 0;
        } else {
            start[i] = 0;
            count[i] = w->dims[i];
            ostride[i] = L->pstride[k] * T * V;
        }
    }
    const int rc = recur_h5var_read_slab(c, w->id, w->rank, start, count, buf);
    if (rc < 0)
        return rc;
    size_t idx[RECUR_SERIES_MAX_RANK] = {0}, off = j;
    for (size_t e = 0; e < L->S * T; e++) {
        const double x = recur_h5var_unpack(&w->pk, buf[e]);
        s->values[off] = x;
        s->mask[off] = !isnan(x);
        /* odometer over w's dimensions, last fastest */
        for (int i = w->rank - 1; i >= 0; i--) {
            off += ostride[i];
            if (++idx[i] < count[i])
                break;
            off -= ostride[i] * count[i];
            idx[i] = 0;
        }
    }
    return 0;
}

/* CF mode: variables over shared named dimensions; selections and panels. */
static int read_cf(recur_h5_ctx_t *c, hid_t f, const recur_series_opts_t *o, size_t cap,
                   recur_series_t *s)
{
    const size_t V = o->n_vars;
    if (V == 0 || V > RECUR_SERIES_MAX_VARS)
        return recur_h5_fail(c, RECUR_EINVAL, "expected 1..%d variables, got %zu",
                             RECUR_SERIES_MAX_VARS, V);
    if (o->n_select > RECUR_SERIES_MAX_SELECT)
        return recur_h5_fail(c, RECUR_EINVAL, "more than %d selections", RECUR_SERIES_MAX_SELECT);
    recur_h5var_t *v = calloc(V, sizeof *v); /* (V) */
    if (!v)
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    layout_t L = {.td = 0};
    double *buf = NULL; /* (S, T) one variable's slab */
    size_t opened = 0, bytes = 0, n;
    int rc = open_vars(c, f, o, v, &opened);
    const recur_h5var_t *v0 = &v[0];
    if (rc == 0) {
        c->obj = v0->path;
        rc = find_time_dim(c, v0, o->time_dim, &L.td);
    }
    if (rc == 0) {
        L.T = v0->dims[L.td];
        rc = select_dims(c, v0, o, &L);
    }
    if (rc == 0)
        rc = make_panel(c, v0, &L);
    if (rc == 0)
        rc = check_same_dims(c, v, V);
    if (rc < 0)
        goto close;
    /* Memory: the series (values, mask) and one variable's slab at a time. */
    c->obj = v0->path;
    if (!recur_mul_ok(L.S, L.T, &n) || !recur_mul_ok(n, V, &n) ||
        !add_bytes(&bytes, n, sizeof(double) + 1, cap) ||
        !add_bytes(&bytes, L.S * L.T, sizeof(double), cap)) {
        rc = recur_h5_fail(c, RECUR_EFORMAT,
                           "%zu series x %zu steps x %zu variables need more than %zu bytes", L.S,
                           L.T, V, cap);
        goto close;
    }
    if ((rc = alloc_series(c, s, L.S, L.T, V)) < 0 || (rc = name_series(c, v0, &L, s)) < 0 ||
        (rc = set_time(c, s, v0->scale[L.td], v0->dim_name[L.td])) < 0)
        goto close;
    if (!(buf = malloc(L.S * L.T * sizeof *buf))) {
        rc = recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
        goto close;
    }
    for (size_t j = 0; rc == 0 && j < V; j++) {
        c->obj = v[j].path;
        rc = set_units(c, s, j, v[j].id, v[j].path);
        if (rc == 0)
            rc = scatter_var(c, &v[j], v0, &L, j, buf, s);
    }
close:
    free(buf);
    for (int i = 0; i < RECUR_SERIES_MAX_RANK; i++)
        free(L.coords[i]);
    for (size_t j = 0; j < opened; j++)
        recur_h5var_close(&v[j]);
    free(v);
    return rc;
}

recur_series_t *recur_series_read(const char *path, const recur_series_opts_t *opts)
{
    recur_h5_ctx_t c = {.set = false};
    H5E_auto2_t old_fn;
    void *old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    recur_series_t *s = calloc(1, sizeof *s);
    hid_t f = -1;
    int rc = RECUR_EINVAL;
    if (!s) {
        recur_h5_fail(&c, RECUR_ENOMEM, "out of memory");
        goto out;
    }
    if (!path || !opts || (!opts->dataset == !opts->vars)) {
        recur_h5_fail(&c, rc, "give either a dataset or variables");
        goto out;
    }
    const size_t cap = opts->max_bytes ? opts->max_bytes : RECUR_SERIES_MAX_BYTES;
    if ((f = recur_h5_open(&c, path, false)) < 0)
        goto out;
    rc = opts->dataset ? read_plain(&c, f, opts, cap, s) : read_cf(&c, f, opts, cap, s);
out:
    if (f >= 0 && H5Fclose(f) < 0 && rc == 0 && !c.set) {
        c.obj = NULL; /* the file's failure, not the dataset's */
        rc = recur_h5_fail_h5(&c, RECUR_EIO, "cannot close");
    }
    if (c.set || rc < 0) {
        if (!c.set)
            recur_h5_fail(&c, rc, "cannot read");
        recur_h5_report(&c, path ? path : "(null)");
        recur_series_free(s);
        s = NULL;
    }
    H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
    return s;
}
