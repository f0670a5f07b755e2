/* check_h5series.c - the HDF5 / netCDF-4 series reader against the fixtures written by
 * tests/reference/make_series_fixtures.py: every case of expected.h5 (values unpacked by numpy from
 * the raw arrays, masks, time, decoded dates, variable and series names) read back exactly; each
 * malformed input refused with one line naming the file and the dataset and no HDF5-DIAG text;
 * the time-units parser and the calendar against closed forms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include <recur/h5series.h>

#include "testutil.h"

/* ---- stderr capture ------------------------------------------------------------------------- */

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

static const char *fixture(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/series/%s", test_fixture_dir(), name);
    return buf;
}

/* ---- expected.h5 ----------------------------------------------------------------------------- */

static void read_str_attr(hid_t g, const char *name, char *buf, size_t size)
{
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    ck_assert_int_ge(a, 0);
    hid_t t = H5Aget_type(a);
    const size_t n = H5Tget_size(t);
    ck_assert_uint_lt(n, size);
    memset(buf, 0, size);
    ck_assert_int_ge(H5Aread(a, t, buf), 0);
    H5Tclose(t);
    H5Aclose(a);
}

/* Variable-length strings of dataset name in g; *n gets their number. Free with free_strs. */
static char **read_strs(hid_t g, const char *name, size_t *n)
{
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    hid_t sp = H5Dget_space(d);
    *n = (size_t)H5Sget_simple_extent_npoints(sp);
    char **s = calloc(*n, sizeof *s);
    hid_t ft = H5Dget_type(d), mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5Tget_cset(ft));
    H5Tclose(ft);
    ck_assert_int_ge(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, s), 0);
    H5Tclose(mt);
    H5Sclose(sp);
    H5Dclose(d);
    return s;
}

static void free_strs(char **s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        H5free_memory(s[i]);
    free(s);
}

static double *read_doubles(hid_t g, const char *name, size_t *n)
{
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0)
        return NULL;
    hid_t sp = H5Dget_space(d);
    *n = (size_t)H5Sget_simple_extent_npoints(sp);
    double *x = malloc(*n * sizeof *x);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), 0);
    H5Sclose(sp);
    H5Dclose(d);
    return x;
}

/* Splits a comma list in place into v (at most max); returns the count. */
static size_t split_commas(char *s, char **v, size_t max)
{
    size_t n = 0;
    for (char *p = strtok(s, ","); p && n < max; p = strtok(NULL, ","))
        v[n++] = p;
    return n;
}

static herr_t collect_group(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    char(*names)[64] = data;
    for (size_t i = 0; i < 64; i++)
        if (!names[i][0]) {
            snprintf(names[i], 64, "%s", name);
            break;
        }
    return 0;
}

/* Every case: read with its options; S, T, V, values (bit-exact, NaN where missing), mask, time,
 * epoch, names as numpy computed them. */
START_TEST(test_expected_cases)
{
    char path[512], ef[512];
    static char cases[64][64];
    memset(cases, 0, sizeof cases);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(fixture(ef, sizeof ef, "expected.h5"), H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    ck_assert_int_ge(H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_group, cases), 0);
    size_t n_cases = 0;
    for (; n_cases < 64 && cases[n_cases][0]; n_cases++) {
        const char *cname = cases[n_cases];
        hid_t g = H5Gopen2(f, cname, H5P_DEFAULT);
        ck_assert_int_ge(g, 0);
        char file[128], vars[256], dataset[128], select[256], time_dim[64];
        read_str_attr(g, "file", file, sizeof file);
        read_str_attr(g, "vars", vars, sizeof vars);
        read_str_attr(g, "dataset", dataset, sizeof dataset);
        read_str_attr(g, "select", select, sizeof select);
        read_str_attr(g, "time_dim", time_dim, sizeof time_dim);
        char *vv[16], *sv[8];
        recur_series_select_t sel[8];
        recur_series_opts_t o = {0};
        if (dataset[0]) {
            o.dataset = dataset;
        } else {
            o.n_vars = split_commas(vars, vv, 16);
            o.vars = (const char *const *)vv;
        }
        o.n_select = split_commas(select, sv, 8);
        for (size_t k = 0; k < o.n_select; k++)
            ck_assert_int_eq(recur_series_select_parse(sv[k], &sel[k]), 0);
        o.select = sel;
        o.time_dim = time_dim[0] ? time_dim : NULL;
        recur_series_t *s = recur_series_read(fixture(path, sizeof path, file), &o);
        ck_assert_msg(s != NULL, "case %s: not read", cname);

        size_t n, nm, nt, nv, ns;
        double *values = read_doubles(g, "values", &n);
        double *mask = read_doubles(g, "mask", &nm);
        double *time = read_doubles(g, "time", &nt);
        double *epoch = read_doubles(g, "epoch", &nt);
        char **var_names = read_strs(g, "var_names", &nv);
        char **series_names = read_strs(g, "series_names", &ns);
        ck_assert_msg(s->S == ns && s->V == nv && s->T * s->S * s->V == n,
                      "case %s: shape (%zu, %zu, %zu)", cname, s->S, s->T, s->V);
        for (size_t i = 0; i < n; i++) {
            const bool both_nan = isnan(values[i]) && isnan(s->values[i]);
            ck_assert_msg(both_nan || values[i] == s->values[i],
                          "case %s: value %zu is %.17g, expected %.17g", cname, i, s->values[i],
                          values[i]);
            ck_assert_msg(s->mask[i] == (unsigned char)mask[i], "case %s: mask %zu", cname, i);
        }
        for (size_t t = 0; t < s->T; t++)
            ck_assert_msg(s->time[t] == time[t], "case %s: time %zu", cname, t);
        if (epoch) {
            ck_assert_msg(s->epoch != NULL, "case %s: no dates", cname);
            for (size_t t = 0; t < s->T; t++)
                ck_assert_msg(fabs(s->epoch[t] - epoch[t]) < 1e-6, "case %s: epoch %zu %.17g %.17g",
                              cname, t, s->epoch[t], epoch[t]);
        } else {
            ck_assert_msg(s->epoch == NULL, "case %s: unexpected dates", cname);
        }
        for (size_t k = 0; k < nv; k++)
            ck_assert_str_eq(s->var_names[k], var_names[k]);
        for (size_t k = 0; k < ns; k++)
            ck_assert_str_eq(s->series_names[k], series_names[k]);
        free(values);
        free(mask);
        free(time);
        free(epoch);
        free_strs(var_names, nv);
        free_strs(series_names, ns);
        recur_series_free(s);
        H5Gclose(g);
    }
    ck_assert_uint_ge(n_cases, 10);
    H5Fclose(f);
}
END_TEST

/* A few values checked by hand against the generator's construction, so that expected.h5 is not
 * the only witness: the packed fill, missing_value and out-of-range entries are masked, units
 * and time units kept, and an unpacked value is raw * scale + offset. */
START_TEST(test_packed_by_hand)
{
    char path[512];
    const char *vars[] = {"t2m", "pr", "rh"};
    recur_series_opts_t o = {.vars = vars, .n_vars = 3};
    recur_series_t *s = recur_series_read(fixture(path, sizeof path, "packed.h5"), &o);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->T, 12);
    ck_assert_str_eq(s->var_units[0], "K");
    ck_assert_str_eq(s->time_units, "days since 2000-01-01");
    ck_assert_str_eq(s->time_name, "time");
    ck_assert(!s->mask[2 * 3 + 0] && !s->mask[5 * 3 + 0] && !s->mask[7 * 3 + 0]);
    ck_assert(!s->mask[4 * 3 + 1] && !s->mask[9 * 3 + 1]);
    ck_assert(!s->mask[1 * 3 + 2] && !s->mask[10 * 3 + 2]);
    /* t2m is int16 * 0.01f + 273.15f: within a packing step of 273.15 +- 20 K */
    for (size_t t = 0; t < s->T; t++)
        if (s->mask[t * 3])
            ck_assert(s->values[t * 3] > 253.1 && s->values[t * 3] < 293.2);
    /* 2000-01-04 is day 10960 after 1970-01-01 */
    ck_assert_double_eq(s->epoch[0], 10960.0 * 86400.0);
    char buf[32];
    recur_time_format(s->epoch[0], true, buf, sizeof buf);
    ck_assert_str_eq(buf, "2000-01-04");
    recur_series_free(s);
}
END_TEST

/* ---- malformed inputs ------------------------------------------------------------------------ */

typedef struct {
    const char *file;
    const char *dataset; /* plain mode, or NULL */
    const char *vars;    /* comma list */
    const char *select;
    const char *time_dim;
    const char *expect; /* substring of the one line */
    const char *obj;    /* dataset the line must name, or NULL */
} bad_t;

static const bad_t bad[] = {
    {"bad_not_hdf5.h5", NULL, "v", NULL, NULL, "not an HDF5 file", NULL},
    {"bad_truncated.h5", NULL, "t2m", NULL, NULL, "", NULL},
    {"no_such_file.h5", NULL, "v", NULL, NULL, "cannot open: No such file", NULL},
    {"packed.h5", NULL, "t2m,nope", NULL, NULL, "no such dataset", "nope"},
    {"packed.h5", NULL, "grp/t2m", NULL, NULL, "no such dataset", "grp/t2m"},
    {"packed.h5", "/nope", NULL, NULL, NULL, "no such dataset", "/nope"},
    {"plain.h5", "/obs", NULL, NULL, NULL, "is not a dataset", "/obs"},
    {"packed.h5", NULL, "t2m,t2m", NULL, NULL, "named twice", "t2m"},
    {"bad_rank.h5", NULL, "v", NULL, NULL, "has rank 9, more than 8", "v"},
    {"grid.h5", "t2m", NULL, NULL, NULL, "has rank 3, more than 2", "t2m"},
    {"bad_zero.h5", NULL, "v", NULL, NULL, "dimension 0 has length 0", "v"},
    {"bad_absurd.h5", NULL, "v", NULL, NULL, "has length 1099511627776, more than", "v"},
    {"bad_types.h5", NULL, "name", NULL, NULL, "has string type, expected numbers", "name"},
    {"bad_types.h5", NULL, "pair", NULL, NULL, "has compound type, expected numbers", "pair"},
    {"bad_types.h5", NULL, "v", NULL, NULL, "attribute scale_factor is string, expected a number",
     "v"},
    {"bad_types.h5", NULL, "w", NULL, NULL, "valid range [5, 1] is empty", "w"},
    {"bad_coord.h5", NULL, "v", NULL, NULL, "coordinate 'time' has 5 values, its dimension 8", "v"},
    {"bad_time.h5", NULL, "v", NULL, NULL, "time coordinate 'time' is not increasing at index 5",
     "v"},
    {"bad_mismatch.h5", NULL, "a,b", NULL, NULL, "has dimension 'other', which a has not", "b"},
    {"stations.h5", NULL, "tas", "station=3", NULL, "--select: station=3 is out of range (0..2)",
     "tas"},
    {"stations.h5", NULL, "tas", "height=0", NULL, "--select: no dimension 'height'", "tas"},
    {"stations.h5", NULL, "tas", "time=0", NULL, "'time' is the time dimension", "tas"},
    {"bare.h5", NULL, "y", "site=~1", "step", "dimension 'site' has no coordinate values", "y"},
    {"stations.h5", NULL, "station", NULL, NULL, "",
     NULL}, /* readable: a coordinate as a variable */
};
#define N_BAD (sizeof bad / sizeof bad[0])

START_TEST(test_bad_inputs)
{
    const bad_t *b = &bad[_i];
    char path[512], vars[256], sel_s[128];
    char *vv[8], *sv[4];
    recur_series_select_t sel[4];
    recur_series_opts_t o = {0};
    fixture(path, sizeof path, b->file);
    if (b->dataset) {
        o.dataset = b->dataset;
    } else {
        snprintf(vars, sizeof vars, "%s", b->vars);
        o.n_vars = split_commas(vars, vv, 8);
        o.vars = (const char *const *)vv;
    }
    if (b->select) {
        snprintf(sel_s, sizeof sel_s, "%s", b->select);
        o.n_select = split_commas(sel_s, sv, 4);
        for (size_t k = 0; k < o.n_select; k++)
            ck_assert_int_eq(recur_series_select_parse(sv[k], &sel[k]), 0);
        o.select = sel;
    }
    o.time_dim = b->time_dim;
    size_t lines;
    capture_start();
    recur_series_t *s = recur_series_read(path, &o);
    const char *err = capture_end(&lines);
    if (strcmp(b->file, "stations.h5") == 0 && !b->select) {
        ck_assert_msg(s != NULL && lines == 0, "coordinate as a variable: %s", err);
        ck_assert_uint_eq(s->T, 3);
        recur_series_free(s);
        return;
    }
    ck_assert_msg(s == NULL, "%s: read, expected a refusal", b->file);
    ck_assert_msg(lines == 1, "%s: %zu lines: %s", b->file, lines, err);
    ck_assert_msg(strstr(err, path) != NULL, "%s: path not named: %s", b->file, err);
    ck_assert_msg(strstr(err, b->expect) != NULL, "%s: expected '%s', got %s", b->file, b->expect,
                  err);
    ck_assert_msg(strstr(err, "HDF5-DIAG") == NULL, "%s: HDF5 diagnostics: %s", b->file, err);
    if (b->obj) {
        char named[700];
        snprintf(named, sizeof named, "%s: %s: ", path, b->obj);
        ck_assert_msg(strstr(err, named) != NULL, "%s: dataset %s not named: %s", b->file, b->obj,
                      err);
    }
}
END_TEST

/* The byte cap refuses before allocating; both modes need at least one of the two. */
START_TEST(test_cap_and_options)
{
    char path[512];
    const char *vars[] = {"t2m"};
    recur_series_opts_t o = {.vars = vars, .n_vars = 1, .max_bytes = 100};
    size_t lines;
    capture_start();
    recur_series_t *s = recur_series_read(fixture(path, sizeof path, "grid.h5"), &o);
    const char *err = capture_end(&lines);
    ck_assert_ptr_null(s);
    ck_assert_uint_eq(lines, 1);
    ck_assert_ptr_nonnull(strstr(err, "need more than 100 bytes"));
    o.max_bytes = 0;
    o.dataset = "t2m";
    capture_start();
    s = recur_series_read(path, &o);
    err = capture_end(&lines);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err, "either a dataset or variables"));
    recur_series_select_t q;
    capture_start();
    ck_assert_int_ne(recur_series_select_parse("lat", &q), 0);
    ck_assert_int_ne(recur_series_select_parse("=3", &q), 0);
    ck_assert_int_ne(recur_series_select_parse("lat=-1", &q), 0);
    ck_assert_int_ne(recur_series_select_parse("lat=~", &q), 0);
    ck_assert_int_ne(recur_series_select_parse("lat=3x", &q), 0);
    capture_end(&lines);
    ck_assert_uint_eq(lines, 5);
    ck_assert_int_eq(recur_series_select_parse("lat=~-47.5", &q), 0);
    ck_assert(q.by_value && q.value == -47.5 && strcmp(q.name, "lat") == 0);
    ck_assert_int_eq(recur_series_select_parse("station=12", &q), 0);
    ck_assert(!q.by_value && q.index == 12);
}
END_TEST

/* ---- time ------------------------------------------------------------------------------------ */

START_TEST(test_time_units)
{
    const struct {
        const char *units;
        double unit, origin;
    } ok[] = {
        {"days since 1970-01-01", 86400, 0},
        {"days since 1970-1-1", 86400, 0},
        {"Days Since 1970-01-01 00:00:00", 86400, 0},
        /* 1900-01-01: 25567 days before 1970-01-01 (70 years, 17 leap days) */
        {"hours since 1900-01-01 00:00:00", 3600, -25567.0 * 86400},
        {"hours since 1900-01-01T00:00:00Z", 3600, -25567.0 * 86400},
        {"seconds since 2000-01-01T12:00:00", 1, 946684800.0 + 43200},
        {"s since 2000-01-01 12:00:00.5", 1, 946684800.0 + 43200.5},
        {"minutes since 2000-01-01 00:00 +01:00", 60, 946684800.0 - 3600},
        {"minutes since 2000-01-01 00:00 -0530", 60, 946684800.0 + 5.5 * 3600},
        {"hours since 2000-01-01 UTC", 3600, 946684800.0},
        {"weeks since 1970-01-05", 604800, 4 * 86400},
        /* 1582-10-15, first Gregorian day: -141427 days (proleptic Gregorian) */
        {"days since 1582-10-15", 86400, -141427.0 * 86400},
        {"d since 2000-02-29", 86400, 951782400.0},
    };
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        double u = -1, o = -1;
        ck_assert_msg(recur_time_units_parse(ok[k].units, &u, &o) == 0, "'%s' refused",
                      ok[k].units);
        ck_assert_msg(u == ok[k].unit && fabs(o - ok[k].origin) < 1e-6, "'%s': %g %.17g",
                      ok[k].units, u, o);
    }
    const char *refused[] = {"months since 2000-01-01",
                             "years since 2000-01-01",
                             "days since",
                             "days since 2000-13-01",
                             "days since 2001-02-29",
                             "days after 2000-01-01",
                             "days since 2000-01-01 25:00",
                             "days since 2000-01-01 junk",
                             "",
                             "days",
                             "days since 2000-01-01 +15:00",
                             NULL};
    for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++) {
        double u, o;
        ck_assert_msg(recur_time_units_parse(refused[k], &u, &o) != 0, "'%s' accepted",
                      refused[k] ? refused[k] : "NULL");
    }
}
END_TEST

START_TEST(test_calendar)
{
    recur_civil_t c;
    ck_assert(recur_time_civil(0, &c));
    ck_assert(c.year == 1970 && c.month == 1 && c.day == 1 && c.yday == 0 && c.sec == 0);
    /* 2000-12-31 12:00: day 366 of a leap year */
    ck_assert(recur_time_civil(978264000.0, &c));
    ck_assert(c.year == 2000 && c.month == 12 && c.day == 31 && c.yday == 365);
    ck_assert(c.year_days == 366 && c.sec == 43200);
    ck_assert(recur_time_civil(-1, &c)); /* 1969-12-31 23:59:59 */
    ck_assert(c.year == 1969 && c.month == 12 && c.day == 31 && c.sec == 86399);
    ck_assert(recur_time_civil(951782400.0, &c)); /* 2000-02-29 */
    ck_assert(c.month == 2 && c.day == 29 && c.yday == 59);
    ck_assert(!recur_time_civil(NAN, &c));
    ck_assert(!recur_time_civil(1e300, &c));
    char buf[40];
    recur_time_format(951782400.0 + 3723, false, buf, sizeof buf);
    ck_assert_str_eq(buf, "2000-02-29T01:02:03Z");
    recur_time_format(-86400.0 * 365, true, buf, sizeof buf);
    ck_assert_str_eq(buf, "1969-01-01");
    recur_time_format(INFINITY, true, buf, sizeof buf);
    ck_assert_str_eq(buf, "NA");
    /* every day of 400 years round-trips through the formatter */
    for (long d = -73000; d < 73000; d += 1) {
        ck_assert(recur_time_civil((double)d * 86400.0, &c));
        ck_assert(c.yday >= 0 && c.yday < c.year_days && c.sec == 0);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("h5series");
    TCase *tc = tcase_create("h5series");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_expected_cases);
    tcase_add_test(tc, test_packed_by_hand);
    tcase_add_loop_test(tc, test_bad_inputs, 0, (int)N_BAD);
    tcase_add_test(tc, test_cap_and_options);
    tcase_add_test(tc, test_time_units);
    tcase_add_test(tc, test_calendar);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
