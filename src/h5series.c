/* h5series.c - weather and climate series from HDF5 / netCDF-4 files through libhdf5 alone:
 * dimension names from netCDF-4 dimension scales (DIMENSION_LIST), CF packing and missing
 * values, time units decoded to dates, panels of series; everything validated before reading. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include <recur/h5series.h>

#include "h5util.h"

#define NAME_MAX_LEN 64
#define MAX_MISSING 16 /* values in a missing_value attribute */
/* netCDF-4 writes this NAME on a dimension scale that has no coordinate variable. */
#define NC_DIM_WITHOUT_VAR "This is a netCDF dimension but not a netCDF variable"

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---- Time ------------------------------------------------------------------------------------ */

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant, "chrono-compatible low-level
 * date algorithms", days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse (civil_from_days of the same source). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : n[m - 1];
}

#define CIVIL_MAX_YEAR 99999

bool recur_time_civil(double epoch, recur_civil_t *out)
{
    /* 10^5 years of seconds: far inside int64 and exact days in double. */
    if (!isfinite(epoch) || fabs(epoch) > 3.2e12)
        return false;
    const double days = floor(epoch / 86400.0);
    int64_t y;
    unsigned m, d;
    civil_from_days((int64_t)days, &y, &m, &d);
    if (y < -CIVIL_MAX_YEAR || y > CIVIL_MAX_YEAR)
        return false;
    out->year = (long)y;
    out->month = (int)m;
    out->day = (int)d;
    out->yday = (int)((int64_t)days - days_from_civil(y, 1, 1));
    out->year_days = is_leap(y) ? 366 : 365;
    out->sec = epoch - days * 86400.0;
    if (out->sec < 0)
        out->sec = 0;
    if (out->sec >= 86400.0)
        out->sec = 86400.0 - 1e-6;
    return true;
}

void recur_time_format(double epoch, bool date_only, char *buf, size_t size)
{
    recur_civil_t c;
    if (!recur_time_civil(epoch, &c)) {
        snprintf(buf, size, "NA");
        return;
    }
    if (date_only) {
        snprintf(buf, size, "%04ld-%02d-%02d", c.year, c.month, c.day);
        return;
    }
    long s = lround(c.sec);
    if (s >= 86400)
        s = 86399;
    snprintf(buf, size, "%04ld-%02d-%02dT%02ld:%02ld:%02ldZ", c.year, c.month, c.day, s / 3600,
             s / 60 % 60, s % 60);
}

/* Reads an unsigned decimal of 1..maxd digits at *p; false when there is none. */
static bool read_uint(const char **p, int maxd, long *out)
{
    long v = 0;
    int n = 0;
    while (isdigit((unsigned char)**p) && n < maxd) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    *out = v;
    return n > 0 && !isdigit((unsigned char)**p);
}

static bool word_is(const char *w, size_t n, const char *const *names)
{
    for (; *names; names++)
        if (strlen(*names) == n && strncasecmp(w, *names, n) == 0)
            return true;
    return false;
}

int recur_time_units_parse(const char *units, double *unit_seconds, double *origin)
{
    static const char *const sec[] = {"seconds", "second", "secs", "sec", "s", NULL};
    static const char *const min[] = {"minutes", "minute", "mins", "min", NULL};
    static const char *const hour[] = {"hours", "hour", "hrs", "hr", "h", NULL};
    static const char *const day[] = {"days", "day", "d", NULL};
    static const char *const week[] = {"weeks", "week", NULL};
    if (!units)
        return RECUR_EINVAL;
    const char *p = units;
    while (isspace((unsigned char)*p))
        p++;
    const char *w = p;
    while (isalpha((unsigned char)*p))
        p++;
    const size_t wn = (size_t)(p - w);
    double us;
    if (word_is(w, wn, sec))
        us = 1;
    else if (word_is(w, wn, min))
        us = 60;
    else if (word_is(w, wn, hour))
        us = 3600;
    else if (word_is(w, wn, day))
        us = 86400;
    else if (word_is(w, wn, week))
        us = 604800;
    else
        return RECUR_EINVAL;
    while (isspace((unsigned char)*p))
        p++;
    if (strncasecmp(p, "since", 5) != 0 || !isspace((unsigned char)p[5]))
        return RECUR_EINVAL;
    p += 5;
    while (isspace((unsigned char)*p))
        p++;
    /* date: [-]Y{1,5}-M{1,2}-D{1,2} */
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    long y, mo, d, hh = 0, mi = 0;
    double ss = 0;
    if (!read_uint(&p, 5, &y) || *p++ != '-' || !read_uint(&p, 2, &mo) || *p++ != '-' ||
        !read_uint(&p, 2, &d))
        return RECUR_EINVAL;
    if (neg)
        y = -y;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned long)d > month_days(y, (unsigned)mo))
        return RECUR_EINVAL;
    /* optional time of day */
    if (*p == 'T' || *p == 't' || (*p == ' ' && isdigit((unsigned char)p[1]))) {
        p++;
        while (*p == ' ')
            p++;
        if (!read_uint(&p, 2, &hh) || *p++ != ':' || !read_uint(&p, 2, &mi))
            return RECUR_EINVAL;
        if (*p == ':') {
            p++;
            char *end;
            if (!isdigit((unsigned char)*p))
                return RECUR_EINVAL;
            errno = 0;
            ss = strtod(p, &end);
            if (errno || end == p || !(ss >= 0 && ss < 61))
                return RECUR_EINVAL;
            p = end;
        }
        if (hh > 24 || mi > 59)
            return RECUR_EINVAL;
    }
    /* optional zone: Z, UTC, GMT, +hh[:mm], -hh[:mm], +hhmm */
    while (*p == ' ')
        p++;
    double zone = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (strncasecmp(p, "UTC", 3) == 0 || strncasecmp(p, "GMT", 3) == 0) {
        p += 3;
    } else if (*p == '+' || *p == '-') {
        const int sign = *p == '-' ? -1 : 1;
        p++;
        long zh, zm = 0;
        const char *q = p;
        while (isdigit((unsigned char)*q))
            q++;
        if (q - p == 4) {
            if (!read_uint(&p, 4, &zh))
                return RECUR_EINVAL;
            zm = zh % 100;
            zh /= 100;
        } else {
            if (!read_uint(&p, 2, &zh))
                return RECUR_EINVAL;
            if (*p == ':') {
                p++;
                if (!read_uint(&p, 2, &zm))
                    return RECUR_EINVAL;
            }
        }
        if (zh > 14 || zm > 59)
            return RECUR_EINVAL;
        zone = sign * (double)(zh * 3600 + zm * 60);
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p)
        return RECUR_EINVAL;
    const int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *unit_seconds = us;
    *origin = (double)days * 86400.0 + (double)(hh * 3600 + mi * 60) + ss - zone;
    return 0;
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

/* ---- Attributes ------------------------------------------------------------------------------ */

/* Drops the trailing blanks of s (fixed-length strings padded with spaces but marked otherwise). */
static void trim_blanks(char *s)
{
    size_t k = strlen(s);
    while (k > 0 && s[k - 1] == ' ')
        k--;
    s[k] = '\0';
}

/* Reads string attribute `name` of obj into buf (empty when absent). 0, or < 0 with c set
 * when it exists but is not a string of reasonable length. */
static int read_str_attr(recur_h5_ctx_t *c, hid_t obj, const char *name, char *buf, size_t size)
{
    buf[0] = '\0';
    const htri_t ex = H5Aexists(obj, name);
    if (ex < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read its attributes");
    if (ex == 0)
        return 0;
    char what[96];
    snprintf(what, sizeof what, "attribute %s", name);
    int rc = RECUR_EFORMAT;
    recur_h5_shape_t sh;
    size_t n;
    char *s = NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = -1;
    if (a < 0 || (t = H5Aget_type(a)) < 0) {
        recur_h5_fail_h5(c, rc, "cannot read an attribute");
        goto close;
    }
    if (recur_h5_shape(c, a, true, what, &sh) != 0)
        goto close;
    if (sh.cls != H5T_STRING) {
        recur_h5_fail(c, rc, "attribute %s is %s, expected a string", name,
                      recur_h5_class_name(sh.cls));
        goto close;
    }
    if (!recur_h5_numel(&sh, &n) || n != 1) {
        recur_h5_fail(c, rc, "attribute %s is not a single string", name);
        goto close;
    }
    const htri_t vl = H5Tis_variable_str(t);
    if (vl < 0) {
        recur_h5_fail_h5(c, rc, "cannot read attribute");
        goto close;
    }
    if (!vl && (sh.size == 0 || sh.size > 65536)) {
        recur_h5_fail(c, rc, "attribute %s has a string of %zu bytes", name, sh.size);
        goto close;
    }
    if ((rc = recur_h5_read_strings(c, a, true, t, what, 1, 65536, &s)) != 0)
        goto close;
    if (!vl)
        trim_blanks(s);
    snprintf(buf, size, "%s", s);
close:
    free(s);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

/* Reads numeric attribute `name` (lo..hi elements) into v as double; *n gets the count (0 when
 * absent) and *k the attribute's type class. String or other types are errors. */
static int read_num_attr(recur_h5_ctx_t *c, hid_t obj, const char *name, size_t lo, size_t hi,
                         double *v, size_t *n, H5T_class_t *k)
{
    *n = 0;
    const htri_t ex = H5Aexists(obj, name);
    if (ex < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read its attributes");
    if (ex == 0)
        return 0;
    char what[96];
    snprintf(what, sizeof what, "attribute %s", name);
    int rc = RECUR_EFORMAT;
    recur_h5_shape_t sh;
    size_t np;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return recur_h5_fail_h5(c, rc, "cannot read an attribute");
    if (recur_h5_shape(c, a, true, what, &sh) != 0)
        goto close;
    if (sh.cls != H5T_INTEGER && sh.cls != H5T_FLOAT) {
        recur_h5_fail(c, rc, "attribute %s is %s, expected a number", name,
                      recur_h5_class_name(sh.cls));
        goto close;
    }
    if (!recur_h5_numel(&sh, &np) || np < lo || np > hi) {
        if (lo == hi)
            recur_h5_fail(c, rc, "attribute %s has %zu values, expected %zu", name, np, lo);
        else
            recur_h5_fail(c, rc, "attribute %s has %zu values, expected %zu..%zu", name, np, lo,
                          hi);
        goto close;
    }
    if (recur_h5_attr_read(c, a, H5T_NATIVE_DOUBLE, what, v) != 0)
        goto close;
    *n = np;
    *k = sh.cls;
    rc = 0;
close:
    H5Aclose(a);
    return rc;
}

/* CF packing and missing-value rules of one variable. */
typedef struct {
    double scale, offset;
    bool packed;
    H5T_class_t klass;               /* the variable's element class */
    double missing[MAX_MISSING + 1]; /* _FillValue and missing_value, compared packed */
    size_t n_missing;
    double vmin, vmax; /* valid range; -inf / inf when absent */
    bool valid_packed; /* compare the range with the packed value */
} packing_t;

static int read_packing(recur_h5_ctx_t *c, hid_t d, H5T_class_t klass, packing_t *pk)
{
    double v[MAX_MISSING];
    size_t n;
    H5T_class_t k;
    pk->scale = 1;
    pk->offset = 0;
    pk->packed = false;
    pk->klass = klass;
    pk->n_missing = 0;
    pk->vmin = -INFINITY;
    pk->vmax = INFINITY;
    pk->valid_packed = true;
    if (read_num_attr(c, d, "scale_factor", 1, 1, v, &n, &k) < 0)
        return RECUR_EFORMAT;
    if (n) {
        if (!isfinite(v[0]) || v[0] == 0)
            return recur_h5_fail(c, RECUR_EFORMAT, "scale_factor is %g", v[0]);
        pk->scale = v[0];
        pk->packed = true;
    }
    if (read_num_attr(c, d, "add_offset", 1, 1, v, &n, &k) < 0)
        return RECUR_EFORMAT;
    if (n) {
        if (!isfinite(v[0]))
            return recur_h5_fail(c, RECUR_EFORMAT, "add_offset is %g", v[0]);
        pk->offset = v[0];
        pk->packed = true;
    }
    if (read_num_attr(c, d, "_FillValue", 1, 1, v, &n, &k) < 0)
        return RECUR_EFORMAT;
    if (n)
        pk->missing[pk->n_missing++] = v[0];
    if (read_num_attr(c, d, "missing_value", 1, MAX_MISSING, v, &n, &k) < 0)
        return RECUR_EFORMAT;
    for (size_t i = 0; i < n; i++)
        pk->missing[pk->n_missing++] = v[i];
    /* valid_range wins over valid_min/valid_max (CF 2.5.1). */
    bool range_packed = true, have = false;
    if (read_num_attr(c, d, "valid_range", 2, 2, v, &n, &k) < 0)
        return RECUR_EFORMAT;
    if (n) {
        pk->vmin = v[0];
        pk->vmax = v[1];
        range_packed = k == klass;
        have = true;
    } else {
        if (read_num_attr(c, d, "valid_min", 1, 1, v, &n, &k) < 0)
            return RECUR_EFORMAT;
        if (n) {
            pk->vmin = v[0];
            range_packed = k == klass;
            have = true;
        }
        if (read_num_attr(c, d, "valid_max", 1, 1, v, &n, &k) < 0)
            return RECUR_EFORMAT;
        if (n) {
            pk->vmax = v[0];
            range_packed = range_packed && k == klass;
            have = true;
        }
    }
    if (have && (isnan(pk->vmin) || isnan(pk->vmax) || pk->vmin > pk->vmax))
        return recur_h5_fail(c, RECUR_EFORMAT, "valid range [%g, %g] is empty", pk->vmin, pk->vmax);
    pk->valid_packed = range_packed || !pk->packed;
    return 0;
}

/* The physical value of raw value r, or NaN when it is missing. */
static double unpack(const packing_t *pk, double r)
{
    if (isnan(r))
        return NAN;
    for (size_t i = 0; i < pk->n_missing; i++)
        if (r == pk->missing[i] || (isnan(pk->missing[i]) && isnan(r)))
            return NAN;
    const double x = r * pk->scale + pk->offset;
    const double cmp = pk->valid_packed ? r : x;
    if (cmp < pk->vmin || cmp > pk->vmax)
        return NAN;
    return isfinite(x) ? x : NAN;
}

/* ---- Datasets -------------------------------------------------------------------------------- */

/* One open dataset with its validated shape and dimension names. */
typedef struct {
    const char *path; /* as given */
    hid_t id;
    H5T_class_t klass;
    int rank;
    size_t dims[RECUR_SERIES_MAX_RANK];
    char dim_name[RECUR_SERIES_MAX_RANK][NAME_MAX_LEN];
    hid_t scale[RECUR_SERIES_MAX_RANK]; /* attached dimension scale, or -1 */
    packing_t pk;
} var_t;

static void var_close(var_t *v)
{
    for (int i = 0; i < RECUR_SERIES_MAX_RANK; i++)
        if (v->scale[i] >= 0) {
            H5Dclose(v->scale[i]);
            v->scale[i] = -1;
        }
    if (v->id >= 0)
        H5Dclose(v->id);
    v->id = -1;
}

/* Element class and size of a dataset: integer 1/2/4/8 or float 4/8 bytes. */
static int check_type(recur_h5_ctx_t *c, const recur_h5_shape_t *sh, H5T_class_t *klass)
{
    const H5T_class_t k = sh->cls;
    const size_t sz = sh->size;
    if (k != H5T_INTEGER && k != H5T_FLOAT)
        return recur_h5_fail(c, RECUR_EFORMAT, "has %s type, expected numbers",
                             recur_h5_class_name(k));
    if ((k == H5T_INTEGER && sz != 1 && sz != 2 && sz != 4 && sz != 8) ||
        (k == H5T_FLOAT && sz != 4 && sz != 8))
        return recur_h5_fail(c, RECUR_EFORMAT, "has %zu-byte %s elements (not supported)", sz,
                             recur_h5_class_name(k));
    *klass = k;
    return 0;
}

/* Rank and dimensions of a dataset, each in 1 .. RECUR_SERIES_MAX_DIM. */
static int check_shape(recur_h5_ctx_t *c, const recur_h5_shape_t *sh, int max_rank, int *rank,
                       size_t *dims)
{
    const int r = sh->rank;
    if (sh->kind != H5S_SIMPLE || r == 0)
        return recur_h5_fail(c, RECUR_EFORMAT, "is a scalar, expected an array over time");
    if (r > max_rank)
        return recur_h5_fail(c, RECUR_EFORMAT, "has rank %d, more than %d", r, max_rank);
    for (int i = 0; i < r; i++) {
        if (sh->dims[i] == 0)
            return recur_h5_fail(c, RECUR_EFORMAT, "dimension %d has length 0", i);
        if (sh->dims[i] > RECUR_SERIES_MAX_DIM)
            return recur_h5_fail(c, RECUR_EFORMAT, "dimension %d has length %llu, more than %zu", i,
                                 (unsigned long long)sh->dims[i], RECUR_SERIES_MAX_DIM);
        dims[i] = (size_t)sh->dims[i];
    }
    *rank = r;
    return 0;
}

/* Opens dataset path of file f; distinguishes a missing object from one that is no dataset. */
static hid_t open_dataset(recur_h5_ctx_t *c, hid_t f, const char *path)
{
    const char *p = path;
    /* Every intermediate group must exist before H5Lexists may be asked about the link. */
    char buf[1024];
    if (strlen(path) >= sizeof buf) {
        recur_h5_fail(c, RECUR_EINVAL, "name too long");
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = buf + (buf[0] == '/'); *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (H5Lexists(f, buf, H5P_DEFAULT) <= 0) {
            recur_h5_fail(c, RECUR_EFORMAT, "no such dataset");
            return -1;
        }
        *s = '/';
    }
    if (!*p || strcmp(p, "/") == 0 || H5Lexists(f, p, H5P_DEFAULT) <= 0) {
        recur_h5_fail(c, RECUR_EFORMAT, "no such dataset");
        return -1;
    }
    H5O_info_t info;
    if (H5Oget_info_by_name2(f, p, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
        recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot open");
        return -1;
    }
    if (info.type != H5O_TYPE_DATASET) {
        recur_h5_fail(c, RECUR_EFORMAT, "is not a dataset");
        return -1;
    }
    hid_t d = H5Dopen2(f, p, H5P_DEFAULT);
    if (d < 0)
        recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot open");
    return d;
}

/* Last path component of an HDF5 object name. */
static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Dimension names and scales of v from its DIMENSION_LIST attribute (netCDF-4 and HDF5 dimension
 * scales: one variable-length list of object references per dimension); "dimK" without. */
static int read_dims(recur_h5_ctx_t *c, var_t *v)
{
    for (int i = 0; i < v->rank; i++) {
        snprintf(v->dim_name[i], NAME_MAX_LEN, "dim%d", i);
        v->scale[i] = -1;
    }
    const htri_t ex = H5Aexists(v->id, "DIMENSION_LIST");
    if (ex < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read its attributes");
    if (ex == 0)
        return 0;
    int rc = RECUR_EFORMAT;
    hid_t a = -1, t = -1, sup = -1, sp = -1, mt = -1;
    hvl_t list[RECUR_SERIES_MAX_RANK];
    bool have_list = false;
    if ((a = H5Aopen(v->id, "DIMENSION_LIST", H5P_DEFAULT)) < 0 || (t = H5Aget_type(a)) < 0 ||
        (sp = H5Aget_space(a)) < 0) {
        recur_h5_fail_h5(c, rc, "cannot read DIMENSION_LIST");
        goto close;
    }
    if (H5Tget_class(t) != H5T_VLEN || (sup = H5Tget_super(t)) < 0 ||
        H5Tget_class(sup) != H5T_REFERENCE || H5Tequal(sup, H5T_STD_REF_OBJ) <= 0) {
        recur_h5_fail(c, rc, "DIMENSION_LIST is not a list of object references");
        goto close;
    }
    if (H5Sget_simple_extent_ndims(sp) != 1 ||
        H5Sget_simple_extent_npoints(sp) != (hssize_t)v->rank) {
        recur_h5_fail(c, rc, "DIMENSION_LIST does not have one entry per dimension");
        goto close;
    }
    if ((mt = H5Tvlen_create(H5T_STD_REF_OBJ)) < 0 || H5Aread(a, mt, list) < 0) {
        recur_h5_fail_h5(c, rc, "cannot read DIMENSION_LIST");
        goto close;
    }
    have_list = true;
    for (int i = 0; i < v->rank; i++) {
        if (list[i].len == 0 || !list[i].p)
            continue;
        const hobj_ref_t *ref = list[i].p;
        hid_t o = H5Rdereference2(v->id, H5P_DEFAULT, H5R_OBJECT, ref);
        if (o < 0)
            continue; /* a dangling scale leaves the dimension unnamed */
        if (H5Iget_type(o) != H5I_DATASET) {
            H5Oclose(o);
            continue;
        }
        char name[1024];
        const ssize_t nn = H5Iget_name(o, name, sizeof name);
        if (nn <= 0 || (size_t)nn >= sizeof name || !*base_name(name) ||
            strlen(base_name(name)) >= NAME_MAX_LEN) {
            H5Dclose(o);
            continue;
        }
        snprintf(v->dim_name[i], NAME_MAX_LEN, "%s", base_name(name));
        v->scale[i] = o;
    }
    rc = 0;
close:
    if (have_list)
        H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, list);
    if (mt >= 0)
        H5Tclose(mt);
    if (sup >= 0)
        H5Tclose(sup);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

/* Opens and validates variable path: dataset, element type, shape, dimension names, packing. */
static int var_open(recur_h5_ctx_t *c, hid_t f, const char *path, int max_rank, var_t *v)
{
    memset(v, 0, sizeof *v);
    v->path = path;
    v->id = -1;
    for (int i = 0; i < RECUR_SERIES_MAX_RANK; i++)
        v->scale[i] = -1;
    c->obj = path;
    if ((v->id = open_dataset(c, f, path)) < 0)
        return RECUR_EFORMAT;
    recur_h5_shape_t sh;
    if (recur_h5_shape(c, v->id, false, path, &sh) != 0 || check_type(c, &sh, &v->klass) < 0 ||
        check_shape(c, &sh, max_rank, &v->rank, v->dims) < 0 || read_dims(c, v) < 0 ||
        read_packing(c, v->id, v->klass, &v->pk) < 0)
        return RECUR_EFORMAT;
    for (int i = 0; i < v->rank; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(v->dim_name[i], v->dim_name[j]) == 0)
                return recur_h5_fail(c, RECUR_EFORMAT, "dimension '%s' appears twice",
                                     v->dim_name[i]);
    return 0;
}

/* Reads the hyperslab start/count of v (in its own dimension order) into out as doubles. */
static int read_slab(recur_h5_ctx_t *c, hid_t d, int rank, const size_t *start, const size_t *count,
                     double *out)
{
    hsize_t st[RECUR_SERIES_MAX_RANK], cn[RECUR_SERIES_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        st[i] = start[i];
        cn[i] = count[i];
    }
    int rc = RECUR_EIO;
    hid_t fs = H5Dget_space(d), ms = -1;
    if (fs < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, cn, NULL) < 0 ||
        (ms = H5Screate_simple(rank, cn, NULL)) < 0) {
        recur_h5_fail_h5(c, rc, "cannot select the data");
        goto close;
    }
    if (H5Dread(d, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, out) < 0) {
        recur_h5_fail_h5(c, rc, "cannot read the data");
        goto close;
    }
    rc = 0;
close:
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return rc;
}

/* Values of coordinate (dimension scale) s for a dimension of length n: numeric, rank 1, n
 * values; *none when it is netCDF's placeholder for a dimension without a variable. Unpacked. */
static int read_coord(recur_h5_ctx_t *c, hid_t s, const char *dim, size_t n, double **out,
                      bool *none)
{
    *out = NULL;
    *none = false;
    char name[128];
    if (read_str_attr(c, s, "NAME", name, sizeof name) < 0)
        return RECUR_EFORMAT;
    if (strncmp(name, NC_DIM_WITHOUT_VAR, strlen(NC_DIM_WITHOUT_VAR)) == 0) {
        *none = true;
        return 0;
    }
    H5T_class_t k;
    int rank;
    size_t dims[RECUR_SERIES_MAX_RANK];
    recur_h5_shape_t sh;
    if (recur_h5_shape(c, s, false, dim, &sh) != 0 || check_type(c, &sh, &k) < 0 ||
        check_shape(c, &sh, 1, &rank, dims) < 0) {
        char why[sizeof c->msg];
        memcpy(why, c->msg, sizeof why);
        snprintf(c->msg, sizeof c->msg, "coordinate '%s' %.400s", dim, why);
        return RECUR_EFORMAT;
    }
    if (dims[0] != n)
        return recur_h5_fail(c, RECUR_EFORMAT, "coordinate '%s' has %zu values, its dimension %zu",
                             dim, dims[0], n);
    packing_t pk;
    if (read_packing(c, s, k, &pk) < 0)
        return RECUR_EFORMAT;
    double *x = malloc(n * sizeof *x);
    if (!x)
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    size_t start = 0;
    if (read_slab(c, s, 1, &start, &n, x) < 0) {
        free(x);
        return RECUR_EIO;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = unpack(&pk, x[i]);
    *out = x;
    return 0;
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
    const char *b = base_name(name);
    for (size_t i = 0; i < s->V; i++)
        if (strcmp(base_name(s->var_names[i]), b) == 0)
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
    if (read_coord(c, scale, dim, s->T, &x, &none) < 0)
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
    if (read_str_attr(c, scale, "units", units, sizeof units) < 0 ||
        read_str_attr(c, scale, "calendar", cal, sizeof cal) < 0)
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
    if (read_str_attr(c, d, "units", u, sizeof u) < 0)
        return RECUR_EFORMAT;
    if (!(s->var_units[v] = dup_str(u)) || !(s->var_names[v] = dup_str(name)))
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    return 0;
}

/* The V strings of attribute name of d (one per column) into names; fixed-length ones lose their
 * trailing blanks. */
static int read_names(recur_h5_ctx_t *c, hid_t d, const char *name, size_t V, char **names)
{
    char what[96];
    snprintf(what, sizeof what, "attribute %s", name);
    recur_h5_ctx_t quiet = {.set = false};
    recur_h5_shape_t sh;
    size_t np = 0;
    int rc = RECUR_EFORMAT;
    hid_t a = H5Aopen(d, name, H5P_DEFAULT), t = a >= 0 ? H5Aget_type(a) : -1;
    if (t < 0 || recur_h5_shape(&quiet, a, true, what, &sh) != 0 || sh.cls != H5T_STRING ||
        !recur_h5_numel(&sh, &np) || np != V)
        recur_h5_fail(c, rc, "attribute %s is not %zu strings (one per column)", name, V);
    else
        rc = recur_h5_read_strings(c, a, true, t, what, V, 1024, names);
    const bool fixed = rc == 0 && H5Tis_variable_str(t) == 0;
    for (size_t j = 0; fixed && j < V; j++)
        trim_blanks(names[j]);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

/* Plain mode: a (time) or (time, feature) dataset. */
static int read_plain(recur_h5_ctx_t *c, hid_t f, const recur_series_opts_t *o, size_t cap,
                      recur_series_t *s)
{
    var_t v;
    double *buf = NULL;
    int rc = var_open(c, f, o->dataset, 2, &v);
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
        else if (read_names(c, v.id, *an, V, names) == 0)
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
    rc = read_str_attr(c, v.id, "units", unit, sizeof unit);
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
    if ((rc = read_slab(c, v.id, v.rank, start, count, buf)) < 0)
        goto close;
    for (size_t i = 0; i < T * V; i++) {
        s->values[i] = unpack(&v.pk, buf[i]);
        s->mask[i] = !isnan(s->values[i]);
    }
    rc = 0;
close:
    free(buf);
    var_close(&v);
    return rc;
}

/* Index of the dimension named name in v, or -1. */
static int dim_index(const var_t *v, const char *name)
{
    for (int i = 0; i < v->rank; i++)
        if (strcmp(v->dim_name[i], name) == 0)
            return i;
    return -1;
}

/* The time dimension of v (see the header for the order of the rules). */
static int find_time_dim(recur_h5_ctx_t *c, const var_t *v, const char *want, int *out)
{
    if (want) {
        if ((*out = dim_index(v, want)) < 0)
            return recur_h5_fail(c, RECUR_EINVAL, "no dimension '%s' (its dimensions: %s%s%s%s%s)",
                                 want, v->dim_name[0], v->rank > 1 ? ", " : "",
                                 v->rank > 1 ? v->dim_name[1] : "", v->rank > 2 ? ", " : "",
                                 v->rank > 2 ? "..." : "");
        return 0;
    }
    if ((*out = dim_index(v, "time")) >= 0)
        return 0;
    char buf[256];
    for (int i = 0; i < v->rank; i++) {
        if (v->scale[i] < 0)
            continue;
        double us, origin;
        if (read_str_attr(c, v->scale[i], "units", buf, sizeof buf) < 0)
            return RECUR_EFORMAT;
        if (recur_time_units_parse(buf, &us, &origin) == 0) {
            *out = i;
            return 0;
        }
        if (read_str_attr(c, v->scale[i], "axis", buf, sizeof buf) < 0)
            return RECUR_EFORMAT;
        if (strcmp(buf, "T") == 0) {
            *out = i;
            return 0;
        }
        if (read_str_attr(c, v->scale[i], "standard_name", buf, sizeof buf) < 0)
            return RECUR_EFORMAT;
        if (strcmp(buf, "time") == 0) {
            *out = i;
            return 0;
        }
    }
    *out = 0;
    return 0;
}

/* CF mode: variables over shared named dimensions; selections and panels. */
static int read_cf(recur_h5_ctx_t *c, hid_t f, const recur_series_opts_t *o, size_t cap,
                   recur_series_t *s)
{
    const size_t V = o->n_vars;
    int rc = RECUR_EINVAL;
    var_t *v = NULL;
    double *buf = NULL;
    double *coords[RECUR_SERIES_MAX_RANK] = {NULL};
    if (V == 0 || V > RECUR_SERIES_MAX_VARS) {
        recur_h5_fail(c, rc, "expected 1..%d variables, got %zu", RECUR_SERIES_MAX_VARS, V);
        return rc;
    }
    if (o->n_select > RECUR_SERIES_MAX_SELECT) {
        recur_h5_fail(c, rc, "more than %d selections", RECUR_SERIES_MAX_SELECT);
        return rc;
    }
    if (!(v = calloc(V, sizeof *v))) {
        recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
        return RECUR_ENOMEM;
    }
    for (size_t j = 0; j < V; j++)
        v[j].id = -1;
    size_t opened = 0;
    for (size_t j = 0; j < V; j++) {
        for (size_t i = 0; i < j; i++)
            if (strcmp(o->vars[i], o->vars[j]) == 0) {
                c->obj = o->vars[j];
                recur_h5_fail(c, rc, "named twice");
                goto close;
            }
        opened = j + 1;
        if ((rc = var_open(c, f, o->vars[j], RECUR_SERIES_MAX_RANK, &v[j])) < 0)
            goto close;
    }
    const var_t *v0 = &v[0];
    c->obj = v0->path;
    /* Roles of var 0's dimensions: time, selected (index), or panel. */
    int td;
    if ((rc = find_time_dim(c, v0, o->time_dim, &td)) < 0)
        goto close;
    const size_t T = v0->dims[td];
    long sel[RECUR_SERIES_MAX_RANK]; /* selected index, or -1 */
    for (int i = 0; i < v0->rank; i++)
        sel[i] = -1;
    rc = RECUR_EINVAL;
    for (size_t k = 0; k < o->n_select; k++) {
        const recur_series_select_t *q = &o->select[k];
        const int i = dim_index(v0, q->name);
        if (i < 0) {
            recur_h5_fail(c, rc, "--select: no dimension '%s'", q->name);
            goto close;
        }
        if (i == td) {
            recur_h5_fail(c, rc, "--select: '%s' is the time dimension", q->name);
            goto close;
        }
        if (sel[i] >= 0) {
            recur_h5_fail(c, rc, "--select: dimension '%s' selected twice", q->name);
            goto close;
        }
        if (!q->by_value) {
            if (q->index >= v0->dims[i]) {
                recur_h5_fail(c, rc, "--select: %s=%zu is out of range (0..%zu)", q->name, q->index,
                              v0->dims[i] - 1);
                goto close;
            }
            sel[i] = (long)q->index;
            continue;
        }
        bool none = true;
        if (v0->scale[i] >= 0 &&
            (rc = read_coord(c, v0->scale[i], q->name, v0->dims[i], &coords[i], &none)) < 0)
            goto close;
        rc = RECUR_EINVAL;
        if (none) {
            recur_h5_fail(c, rc, "--select: dimension '%s' has no coordinate values", q->name);
            goto close;
        }
        double best = INFINITY;
        for (size_t j = 0; j < v0->dims[i]; j++)
            if (fabs(coords[i][j] - q->value) < best) {
                best = fabs(coords[i][j] - q->value);
                sel[i] = (long)j;
            }
        if (sel[i] < 0) {
            recur_h5_fail(c, rc, "--select: coordinate '%s' has no valid value", q->name);
            goto close;
        }
    }
    /* Panel: the remaining dimensions in var 0's order; stride of each in series units. */
    size_t S = 1, pstride[RECUR_SERIES_MAX_RANK] = {0};
    for (int i = v0->rank - 1; i >= 0; i--) {
        if (i == td || sel[i] >= 0)
            continue;
        pstride[i] = S;
        if (!recur_mul_ok(S, v0->dims[i], &S) || S > RECUR_SERIES_MAX_SERIES) {
            recur_h5_fail(c, RECUR_EFORMAT, "the panel has more than %zu series",
                          RECUR_SERIES_MAX_SERIES);
            goto close;
        }
    }
    /* Every variable has the same dimensions (by name), with the same lengths. */
    rc = RECUR_EFORMAT;
    for (size_t j = 1; j < V; j++) {
        c->obj = v[j].path;
        if (v[j].rank != v0->rank) {
            recur_h5_fail(c, rc, "has %d dimensions, %s has %d", v[j].rank, v0->path, v0->rank);
            goto close;
        }
        for (int i = 0; i < v[j].rank; i++) {
            const int k = dim_index(v0, v[j].dim_name[i]);
            if (k < 0) {
                recur_h5_fail(c, rc, "has dimension '%s', which %s has not", v[j].dim_name[i],
                              v0->path);
                goto close;
            }
            if (v[j].dims[i] != v0->dims[k]) {
                recur_h5_fail(c, rc, "dimension '%s' has length %zu, in %s %zu", v[j].dim_name[i],
                              v[j].dims[i], v0->path, v0->dims[k]);
                goto close;
            }
        }
    }
    /* Memory: the series (values, mask) and one variable's slab at a time. */
    c->obj = v0->path;
    size_t bytes = 0, n;
    if (!recur_mul_ok(S, T, &n) || !recur_mul_ok(n, V, &n) ||
        !add_bytes(&bytes, n, sizeof(double) + 1, cap) ||
        !add_bytes(&bytes, S * T, sizeof(double), cap)) {
        recur_h5_fail(c, rc, "%zu series x %zu steps x %zu variables need more than %zu bytes", S,
                      T, V, cap);
        goto close;
    }
    if ((rc = alloc_series(c, s, S, T, V)) < 0)
        goto close;
    /* Series names from the panel coordinates (or indices). */
    rc = RECUR_EFORMAT;
    for (int i = 0; i < v0->rank; i++) {
        if (i == td || sel[i] >= 0 || coords[i] || v0->scale[i] < 0)
            continue;
        bool none;
        if (read_coord(c, v0->scale[i], v0->dim_name[i], v0->dims[i], &coords[i], &none) < 0)
            goto close;
    }
    for (size_t si = 0; si < S; si++) {
        char name[512] = "";
        size_t len = 0;
        for (int i = 0; i < v0->rank; i++) {
            if (i == td || sel[i] >= 0)
                continue;
            const size_t idx = si / pstride[i] % v0->dims[i];
            int w;
            if (coords[i] && isfinite(coords[i][idx]))
                w = snprintf(name + len, sizeof name - len, "%s%s=%.10g", len ? "," : "",
                             v0->dim_name[i], coords[i][idx]);
            else
                w = snprintf(name + len, sizeof name - len, "%s%s=%zu", len ? "," : "",
                             v0->dim_name[i], idx);
            if (w > 0)
                len = len + (size_t)w < sizeof name ? len + (size_t)w : sizeof name - 1;
        }
        if (!(s->series_names[si] = dup_str(name))) {
            rc = recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
            goto close;
        }
    }
    if ((rc = set_time(c, s, v0->scale[td], v0->dim_name[td])) < 0)
        goto close;
    /* Each variable: its slab, scattered into (S, T, V). */
    if (!(buf = malloc(S * T * sizeof *buf))) {
        rc = recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
        goto close;
    }
    for (size_t j = 0; j < V; j++) {
        const var_t *w = &v[j];
        c->obj = w->path;
        if ((rc = set_units(c, s, j, w->id, w->path)) < 0)
            goto close;
        size_t start[RECUR_SERIES_MAX_RANK], count[RECUR_SERIES_MAX_RANK];
        size_t ostride[RECUR_SERIES_MAX_RANK]; /* output stride per dimension of w */
        for (int i = 0; i < w->rank; i++) {
            const int k = dim_index(v0, w->dim_name[i]);
            if (k == td) {
                start[i] = 0;
                count[i] = T;
                ostride[i] = V;
            } else if (sel[k] >= 0) {
                start[i] = (size_t)sel[k];
                count[i] = 1;
                ostride[i] = 0;
            } else {
                start[i] = 0;
                count[i] = w->dims[i];
                ostride[i] = pstride[k] * T * V;
            }
        }
        if ((rc = read_slab(c, w->id, w->rank, start, count, buf)) < 0)
            goto close;
        size_t idx[RECUR_SERIES_MAX_RANK] = {0}, off = j;
        for (size_t e = 0; e < S * T; e++) {
            const double x = unpack(&w->pk, buf[e]);
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
    }
    rc = 0;
close:
    free(buf);
    for (int i = 0; i < RECUR_SERIES_MAX_RANK; i++)
        free(coords[i]);
    for (size_t j = 0; j < opened; j++)
        var_close(&v[j]);
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
