/* recur/linrnn_time.h - the cost of the gradient of the linear RNN reference (recur/linrnn.h)
 * against the sequence length T: the explicit double sum over (t, k) pairs, O(T^2), against
 * BPTT's recursion, O(T), timed on the same random problem with a monotonic clock. */
#ifndef RECUR_LINRNN_TIME_H
#define RECUR_LINRNN_TIME_H

#include <gsl/gsl_rng.h>

#include <recur/common.h>

typedef struct {
    size_t T;
    double sec_sum;      /* seconds per call of recur_linrnn_sum(), best of the repetitions */
    double sec_bptt;     /* seconds per call of recur_linrnn_bptt(), best of the repetitions */
    double cpu_sum;      /* the same in CPU time of the calling thread (immune to other */
    double cpu_bptt;     /* processes taking turns on the cores of a busy machine) */
    double max_abs_diff; /* largest |difference| between the two over dW, dU and dC */
    double max_rel_diff; /* max_abs_diff / the largest |entry| of the BPTT gradient (the
                          * gradient grows with T, and so does the rounding difference) */
} recur_linrnn_timing_t;

/* Times both gradients for one random problem of length T: W (H, H) Gaussian rescaled to
 * spectral radius 0.9, U (H, I), C (O, H), x (T, I), y (T, O) N(0, 1) entries (U, C scaled by
 * 1/sqrt(fan-in)), all drawn from rng. Each timing is the fastest of `reps` measurements
 * (reps >= 1); a measurement calls the function enough times in a row to last at least
 * min_sec (e.g. 0.005; 0 = once) and divides, so short calls are timed above the clock's
 * resolution. Wall time on CLOCK_MONOTONIC, CPU time on CLOCK_THREAD_CPUTIME_ID, both around
 * the same calls, the fastest of each kept. out->T is set. */
int recur_linrnn_time(size_t H, size_t I, size_t O, size_t T, size_t reps, double min_sec,
                      gsl_rng *rng, recur_linrnn_timing_t *out) RECUR_WUR;

#endif
