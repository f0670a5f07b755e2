/* recur/linrnn.h - a linear RNN as a reference for what BPTT computes:
 *     h_t = W h_{t-1} + U x_t  (h_0 = 0),   y_t = C h_t,   L = 1/2 sum_t ||y_t - y*_t||^2.
 * With delta_t = C^T (y_t - y*_t), the gradient with respect to the shared W is the double sum
 *     dL/dW = sum_t sum_{k <= t} (W^T)^(t-k) delta_t h_{k-1}^T,
 * one term per pair (loss at step t, use of W at step k), computed here directly in O(T^2)
 * matrix products; BPTT gets the same sum in O(T) through g_t = delta_t + W^T g_{t+1},
 * dL/dW = sum_k g_k h_{k-1}^T. Both in double precision, on one sequence. */
#ifndef RECUR_LINRNN_H
#define RECUR_LINRNN_H

#include <recur/common.h>

typedef struct {
    size_t H, I, O, T;
    const double *W; /* (H, H) */
    const double *U; /* (H, I) */
    const double *C; /* (O, H) */
    const double *x; /* (T, I) */
    const double *y; /* (T, O) targets */
} recur_linrnn_t;

/* Loss and gradients by BPTT (O(T)); dW (H, H), dU (H, I), dC (O, H) are overwritten. */
int recur_linrnn_bptt(const recur_linrnn_t *m, double *loss, double *dW, double *dU,
                      double *dC) RECUR_WUR;
/* The same by the explicit double sum over t and k (O(T^2)). */
int recur_linrnn_sum(const recur_linrnn_t *m, double *loss, double *dW, double *dU,
                     double *dC) RECUR_WUR;

#endif
