/* testutil.c - helpers shared by the Check suites. */
#include <stdlib.h>

#include <hdf5.h>

#include "testutil.h"

int test_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void test_fill_uniform(recur_real *x, size_t n, double lo, double hi, gsl_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (recur_real)(lo + (hi - lo) * gsl_rng_uniform(rng));
}

double *test_h5_read(const char *path, const char *name, size_t dims[4], size_t *rank)
{
    double *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return NULL;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        goto close_file;
    hid_t sp = H5Dget_space(d);
    int r = H5Sget_simple_extent_ndims(sp);
    hsize_t hd[4] = {1, 1, 1, 1};
    if (r < 0 || r > 4 || H5Sget_simple_extent_dims(sp, hd, NULL) < 0)
        goto close_space;
    size_t n = 1;
    for (int i = 0; i < r; i++) {
        dims[i] = (size_t)hd[i];
        n *= (size_t)hd[i];
    }
    *rank = (size_t)r;
    out = malloc((n ? n : 1) * sizeof *out);
    if (out && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
        free(out);
        out = NULL;
    }
close_space:
    H5Sclose(sp);
    H5Dclose(d);
close_file:
    H5Fclose(f);
    return out;
}

long test_h5_attr_long(const char *path, const char *obj, const char *attr)
{
    long v = -1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return -1;
    hid_t a = H5Aopen_by_name(f, obj, attr, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        if (H5Aread(a, H5T_NATIVE_LONG, &v) < 0)
            v = -1;
        H5Aclose(a);
    }
    H5Fclose(f);
    return v;
}

const char *test_fixture_dir(void)
{
    const char *d = getenv("RECUR_FIXTURES");
    return d ? d : "tests/fixtures";
}
