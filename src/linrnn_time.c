/* linrnn_time.c - timing of the linear RNN reference's two gradients (recur/linrnn_time.h):
 * the O(T^2) sum over (t, k) pairs and the O(T) BPTT recursion, with their largest
 * difference. */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include <gsl/gsl_randist.h>

#include <recur/linrnn.h>
#include <recur/linrnn_time.h>
#include <recur/odeview.h>

typedef int (*grad_fn)(const recur_linrnn_t *m, double *loss, double *dW, double *dU, double *dC);

static double now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fastest of reps measurements of one call of fn, each measurement n calls in a row with n
 * chosen (once, from a first call) so that it lasts about min_sec: wall time into sec, CPU
 * time into cpu. */
static int best_time(grad_fn fn, const recur_linrnn_t *m, size_t reps, double min_sec,
                     double *grads, double *sec, double *cpu)
{
    const size_t H = m->H;
    double loss, *dW = grads, *dU = dW + H * H, *dC = dU + H * m->I;
    double t0 = now(CLOCK_MONOTONIC);
    if (fn(m, &loss, dW, dU, dC) != 0)
        return RECUR_ENOMEM;
    const double first = now(CLOCK_MONOTONIC) - t0;
    size_t n = 1;
    if (first < min_sec)
        n = first > 0 ? (size_t)ceil(min_sec / first) : 1000;
    double best = INFINITY, best_cpu = INFINITY;
    for (size_t r = 0; r < reps; r++) {
        const double c0 = now(CLOCK_THREAD_CPUTIME_ID);
        t0 = now(CLOCK_MONOTONIC);
        for (size_t i = 0; i < n; i++)
            if (fn(m, &loss, dW, dU, dC) != 0)
                return RECUR_ENOMEM;
        best = fmin(best, (now(CLOCK_MONOTONIC) - t0) / (double)n);
        best_cpu = fmin(best_cpu, (now(CLOCK_THREAD_CPUTIME_ID) - c0) / (double)n);
    }
    *sec = best;
    *cpu = best_cpu;
    return 0;
}

int recur_linrnn_time(size_t H, size_t I, size_t O, size_t T, size_t reps, double min_sec,
                      gsl_rng *rng, recur_linrnn_timing_t *out)
{
    if (H == 0 || I == 0 || O == 0 || T == 0 || reps == 0 || !(min_sec >= 0) || min_sec > 60) {
        recur_error("linear RNN timing: bad sizes (H %zu, I %zu, O %zu, T %zu, reps %zu)", H, I, O,
                    T, reps);
        return RECUR_EINVAL;
    }
    const size_t P = H * H + H * I + O * H; /* gradient sizes: dW, dU, dC */
    int rc = RECUR_ENOMEM;
    double *W = calloc(P + T * I + T * O + 2 * P, sizeof *W);
    if (!W) {
        recur_error("linear RNN timing: out of memory for T = %zu", T);
        return rc;
    }
    double *U = W + H * H, *C = U + H * I, *x = C + O * H, *y = x + T * I;
    double *g_sum = y + T * O, *g_bptt = g_sum + P;
    /* W: Gaussian, rescaled to spectral radius 0.9 so that the states stay bounded */
    double rho;
    for (size_t i = 0; i < H * H; i++)
        W[i] = gsl_ran_gaussian(rng, 1.0);
    if ((rc = recur_ode_spectral_radius(H, W, &rho)))
        goto free_all;
    for (size_t i = 0; i < H * H; i++)
        W[i] *= rho > 0 ? 0.9 / rho : 1.0;
    for (size_t i = 0; i < H * I; i++)
        U[i] = gsl_ran_gaussian(rng, 1.0 / sqrt((double)I));
    for (size_t i = 0; i < O * H; i++)
        C[i] = gsl_ran_gaussian(rng, 1.0 / sqrt((double)H));
    for (size_t i = 0; i < T * I; i++)
        x[i] = gsl_ran_gaussian(rng, 1.0);
    for (size_t i = 0; i < T * O; i++)
        y[i] = gsl_ran_gaussian(rng, 1.0);
    const recur_linrnn_t m = {H, I, O, T, W, U, C, x, y};
    out->T = T;
    if ((rc =
             best_time(recur_linrnn_sum, &m, reps, min_sec, g_sum, &out->sec_sum, &out->cpu_sum)) ||
        (rc = best_time(recur_linrnn_bptt, &m, reps, min_sec, g_bptt, &out->sec_bptt,
                        &out->cpu_bptt)))
        goto free_all;
    double d = 0, gmax = 0;
    for (size_t i = 0; i < P; i++) {
        d = fmax(d, fabs(g_sum[i] - g_bptt[i]));
        gmax = fmax(gmax, fabs(g_bptt[i]));
    }
    out->max_abs_diff = d;
    out->max_rel_diff = gmax > 0 ? d / gmax : d;
    rc = 0;
free_all:
    free(W);
    return rc;
}
