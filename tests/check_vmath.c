/* check_vmath.c - the vectorised exp, sigmoid and tanh against double-precision libm over
 * dense ranges (errors in float ulps of the correctly rounded result, and absolute), special
 * values, and lanes that give the same bits wherever an element sits in the array. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include <recur/vmath.h>

#include "testutil.h"

#if RECUR_REAL_IS_DOUBLE
#error "check_vmath tests the float kernels"
#endif

typedef void (*vfun_t)(recur_real *, const recur_real *, size_t);
typedef double (*ref_t)(double);

static double ref_exp(double x)
{
    return exp(x);
}
static double ref_sigmoid(double x)
{
    return 1 / (1 + exp(-x));
}
static double ref_tanh(double x)
{
    return tanh(x);
}

/* Error of y against the exact r in units of the spacing of floats at r (r normal). */
static double ulps(float y, double r)
{
    const float rf = (float)fabs(r);
    const double spacing = (double)nextafterf(rf, INFINITY) - (double)rf;
    return fabs((double)y - r) / spacing;
}

typedef struct {
    double max_ulp, max_abs, worst_x;
} err_t;

/* Errors over n points evenly spaced in [lo, hi]; ulps only where |r| >= FLT_MIN. */
static err_t sweep(vfun_t f, ref_t ref, double lo, double hi, size_t n)
{
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    ck_assert(x && y);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * (double)i / (double)(n - 1));
    f(y, x, n);
    err_t e = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        const double r = ref((double)x[i]);
        const double a = fabs((double)y[i] - r);
        e.max_abs = a > e.max_abs ? a : e.max_abs;
        if (fabs(r) >= FLT_MIN) {
            const double u = ulps(y[i], r);
            if (u > e.max_ulp) {
                e.max_ulp = u;
                e.worst_x = x[i];
            }
        }
    }
    free(x);
    free(y);
    return e;
}

/* Bounds: exp within 2 ulps (Cephes' expf is about 1), sigmoid and tanh within 3.5 ulps (the
 * class of SLEEF's u35 functions) and 2^-23 absolute, so that they never add more than float
 * rounding to the engine. */
START_TEST(test_exp_dense)
{
    const err_t e = sweep(recur_vexp, ref_exp, -87, 88, 2000001);
    ck_assert_msg(e.max_ulp <= 2.0, "exp: %.3f ulps at %g", e.max_ulp, e.worst_x);
}
END_TEST

START_TEST(test_sigmoid_dense)
{
    err_t e = sweep(recur_vsigmoid, ref_sigmoid, -87, 40, 2000001);
    ck_assert_msg(e.max_ulp <= 3.5, "sigmoid: %.3f ulps at %g", e.max_ulp, e.worst_x);
    ck_assert_msg(e.max_abs <= 0x1p-23, "sigmoid: absolute error %g", e.max_abs);
    e = sweep(recur_vsigmoid, ref_sigmoid, -200, 200, 400001); /* beyond: saturation */
    ck_assert_msg(e.max_abs <= 0x1p-23, "sigmoid: absolute error %g", e.max_abs);
}
END_TEST

START_TEST(test_tanh_dense)
{
    err_t e = sweep(recur_vtanh, ref_tanh, -20, 20, 2000001);
    ck_assert_msg(e.max_ulp <= 3.5, "tanh: %.3f ulps at %g", e.max_ulp, e.worst_x);
    ck_assert_msg(e.max_abs <= 0x1p-23, "tanh: absolute error %g", e.max_abs);
    e = sweep(recur_vtanh, ref_tanh, -200, 200, 400001);
    ck_assert_msg(e.max_abs <= 0x1p-23, "tanh: absolute error %g", e.max_abs);
}
END_TEST

/* Relative accuracy near 0 (where 1 - exp(-2|x|) would cancel) over 40 decades. */
START_TEST(test_tanh_small)
{
    enum { N = 4001 };
    float x[2 * N], y[2 * N];
    for (size_t i = 0; i < N; i++) {
        x[i] = (float)pow(10.0, -37.0 + 38.0 * (double)i / (N - 1)); /* 1e-37 .. 10 */
        x[N + i] = -x[i];
    }
    recur_vtanh(y, x, 2 * N);
    for (size_t i = 0; i < 2 * N; i++) {
        const double u = ulps(y[i], tanh((double)x[i]));
        ck_assert_msg(u <= 3.5, "tanh(%g): %.3f ulps", (double)x[i], u);
    }
}
END_TEST

START_TEST(test_special_values)
{
    const float in[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f};
    float e[5], s[5], t[5];
    recur_vexp(e, in, 5);
    recur_vsigmoid(s, in, 5);
    recur_vtanh(t, in, 5);
    ck_assert(isnan(e[0]) && isnan(s[0]) && isnan(t[0]));
    ck_assert(e[1] > 1e37f && isfinite(e[1])); /* saturated, documented */
    ck_assert(e[2] >= 0 && e[2] < 2e-38f);
    ck_assert(e[3] == 1 && e[4] == 1);
    ck_assert(s[1] == 1 && s[2] >= 0 && s[2] < 1e-37f && s[3] == 0.5f && s[4] == 0.5f);
    ck_assert(t[1] == 1 && t[2] == -1);
    ck_assert(t[3] == 0 && !signbit(t[3]) && t[4] == 0 && signbit(t[4]));
}
END_TEST

/* Full vectors, the remainder and in-place calls give the same bits as one element alone. */
START_TEST(test_lanes_position_independent)
{
    const vfun_t fs[] = {recur_vexp, recur_vsigmoid, recur_vtanh};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    float x[67], y[67], z[67], one;
    for (size_t i = 0; i < 67; i++)
        x[i] = (float)(gsl_rng_uniform(rng) * 20 - 10);
    for (size_t f = 0; f < 3; f++)
        for (size_t n = 1; n <= 67; n++) {
            fs[f](y, x, n);
            for (size_t i = 0; i < n; i++) {
                fs[f](&one, x + i, 1);
                ck_assert_msg(y[i] == one, "function %zu, n %zu, element %zu", f, n, i);
            }
            for (size_t i = 0; i < n; i++)
                z[i] = x[i];
            fs[f](z, z, n);
            for (size_t i = 0; i < n; i++)
                ck_assert(z[i] == y[i]);
        }
    gsl_rng_free(rng);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmath");
    TCase *tc = tcase_create("accuracy");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_exp_dense);
    tcase_add_test(tc, test_sigmoid_dense);
    tcase_add_test(tc, test_tanh_dense);
    tcase_add_test(tc, test_tanh_small);
    tcase_add_test(tc, test_special_values);
    tcase_add_test(tc, test_lanes_position_independent);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
