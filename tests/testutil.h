/* testutil.h - helpers shared by the Check suites: running a suite, random fills, and reading
 * HDF5 fixture arrays. */
#ifndef RECUR_TESTUTIL_H
#define RECUR_TESTUTIL_H

#include <check.h>
#include <gsl/gsl_rng.h>

#include <recur/common.h>

/* Runs the suite (CK_NORMAL output) and returns a process exit status: 0 when all passed. */
int test_run_suite(Suite *s);

/* x[i] ~ U(lo, hi). */
void test_fill_uniform(recur_real *x, size_t n, double lo, double hi, gsl_rng *rng);

/* Reads dataset `name` of HDF5 file `path` as doubles into a malloc'd array (caller frees).
 * dims[0..*rank-1] get the shape (rank <= 4). Returns NULL if absent or unreadable. */
double *test_h5_read(const char *path, const char *name, size_t dims[4], size_t *rank);
/* Reads an integer scalar attribute of the root group or of an object; returns -1 if absent. */
long test_h5_attr_long(const char *path, const char *obj, const char *attr);

/* Directory of committed fixtures: $RECUR_FIXTURES or "tests/fixtures". */
const char *test_fixture_dir(void);

#endif
