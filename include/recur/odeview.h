/* recur/odeview.h - an RNN seen as an ODE solver: the continuous-time RNN
 *     dh/ds = f(h, x) = -h + tanh(W h + U x + b)
 * discretised by forward Euler, h_{t+1} = h_t + dt f(h_t, x_t). With dt = 1 the step is
 * h_{t+1} = tanh(W h_t + U x_t + b), exactly the vanilla tanh RNN (PyTorch's nn.RNN with
 * W = weight_hh, U = weight_ih, b = bias_ih + bias_hh). The antisymmetric RNN of Chang, Chen,
 * Beutel and Chi, "AntisymmetricRNN: a dynamical system view on recurrent neural networks"
 * (ICLR 2019), eq. 12, uses
 *     f(h, x) = tanh((W - W^T - gamma I) h + U x + b),
 * whose Jacobian at h = 0 has eigenvalues -gamma + i omega (W - W^T is antisymmetric, its
 * eigenvalues are imaginary): with gamma = 0 they sit on the imaginary axis, where forward
 * Euler amplifies by |1 + i dt omega| = sqrt(1 + dt^2 omega^2) > 1 for every dt > 0; the
 * diffusion gamma > 0 moves them left. A linear f(h, x) = W h + U x + b is included as a case
 * with closed-form answers.
 *
 * Forward and backward (BPTT through the Euler steps) passes on one sequence, the Jacobian of
 * the Euler map, Lyapunov exponents along a trajectory (QR re-orthonormalisation), the
 * linear-stability prediction max_i |1 + dt lambda_i| from the eigenvalues lambda_i of the
 * Jacobian of f at h = 0, and stability measurements over a fixed time horizon S (T = S / dt
 * steps). All in double precision, independent of the engine. */
#ifndef RECUR_ODEVIEW_H
#define RECUR_ODEVIEW_H

#include <gsl/gsl_rng.h>

#include <recur/common.h>

typedef enum {
    RECUR_ODE_CTRNN,   /* f = -h + tanh(W h + U x + b) */
    RECUR_ODE_ANTISYM, /* f = tanh((W - W^T - gamma I) h + U x + b) */
    RECUR_ODE_LINEAR   /* f = W h + U x + b */
} recur_ode_kind_t;

/* A model and its step size (a plain struct: the caller owns the arrays). */
typedef struct {
    recur_ode_kind_t kind;
    size_t H, I;
    double dt;       /* Euler step, > 0 */
    double gamma;    /* diffusion of RECUR_ODE_ANTISYM (ignored otherwise) */
    const double *W; /* (H, H) */
    const double *U; /* (H, I) */
    const double *b; /* (H) */
} recur_ode_t;

/* "ctrnn", "antisym", "linear". */
const char *recur_ode_kind_name(recur_ode_kind_t kind);

/* Forward pass over T steps from h0 (H; NULL = zeros) with inputs x (T, I): h gets the
 * states (T + 1, H), h[0] = h0. No allocation. */
int recur_ode_forward(const recur_ode_t *m, size_t T, const double *x, const double *h0,
                      double *h) RECUR_WUR;

/* Backward pass (BPTT through the Euler steps) of a loss L on the final state h_T, given
 * gT = dL/dh_T (H), the inputs x (T, I) and the states h (T + 1, H) of recur_ode_forward():
 * g gets dL/dh_t for t = 0..T, (T + 1, H) (g[T] = gT). dL/dW (H, H), dL/dU (H, I) and
 * dL/db (H) are ADDED to dW, dU, db (each may be NULL: not wanted). work: scratch of 2H.
 * No allocation. */
int recur_ode_backward(const recur_ode_t *m, size_t T, const double *x, const double *h,
                       const double *gT, double *g, double *dW, double *dU, double *db,
                       double *work) RECUR_WUR;

/* The loss of the measurements, L = 1/2 ||h_T - y||^2 (y: H, NULL = zeros); gT (may be NULL)
 * gets dL/dh_T = h_T - y. */
double recur_ode_final_loss(size_t H, const double *hT, const double *y, double *gT);

/* One Euler step from state h (H) with input x (I): hn (H) and, when J is not NULL, the
 * Jacobian of the Euler map dh_next/dh = I + dt df/dh, (H, H) row-major. */
void recur_ode_step(const recur_ode_t *m, const double *h, const double *x, double *hn, double *J);

/* Jacobian of f with respect to h at h (H) and x (I; NULL = zeros), (H, H) row-major. */
void recur_ode_f_jacobian(const recur_ode_t *m, const double *h, const double *x, double *Jf);

/* Eigenvalues re[i] + i im[i] (H each) of the Jacobian of f at h = 0, x = 0 (gsl_eigen_nonsymm),
 * in no particular order. */
int recur_ode_eigs_at_zero(const recur_ode_t *m, double *re, double *im) RECUR_WUR;

/* The linear-stability prediction for the Euler map at h = 0: max_i |1 + dt lambda_i| over
 * the eigenvalues of recur_ode_eigs_at_zero(); > 1 means small perturbations of the origin
 * grow by about this factor per step. */
int recur_ode_predicted_growth(const recur_ode_t *m, double *growth) RECUR_WUR;

/* Spectral radius (largest |eigenvalue|) of the (n, n) row-major matrix A. */
int recur_ode_spectral_radius(size_t n, const double *A, double *rho) RECUR_WUR;

/* The k largest Lyapunov exponents (per Euler step, natural log) along the trajectory from h0
 * (H; NULL = zeros) driven by x (T, I): Q <- qr(J_t Q) at every step, exponents = mean over the
 * T steps of log |diag R|, sorted largest first into out (k). q0: the starting orthonormal
 * columns (H, k) row-major, NULL = the first k columns of the identity. The largest exponent
 * needs only k = 1 (the first column is the normalised tangent vector). */
int recur_ode_lyapunov(const recur_ode_t *m, size_t T, const double *x, const double *h0, size_t k,
                       const double *q0, double *out) RECUR_WUR;

/* A random model: W (H, H) Gaussian, rescaled so that the spectral radius of the recurrent
 * matrix (W for ctrnn and linear, W - W^T for antisym) is rho; U (H, I) entries N(0, 1/I);
 * b = 0. */
int recur_ode_random(recur_ode_kind_t kind, size_t H, size_t I, double rho, gsl_rng *rng, double *W,
                     double *U, double *b) RECUR_WUR;

/* Number of Euler steps covering the horizon S with step dt: round(S / dt), at least 1. */
size_t recur_ode_steps(double S, double dt);

/* Stability of the forward and backward passes of model m (its dt) over the time horizon S,
 * T = recur_ode_steps(S, dt) steps, each quantity averaged over `reps` random input sequences
 * (arithmetic mean of the logarithmic ones, geometric mean of the ratios and norms).
 * Repetition r draws, from a gsl_rng seeded with seed + r (so every dt sees the same inputs):
 * a continuous-time input x(s) (I channels, N(0, 1), piecewise constant on unit intervals of
 * s; step t gets x(t dt)), a target y ~ N(0, 1) (H) and a random unit vector q0 (H); h_0 = 0. */
typedef struct {
    size_t T;                /* Euler steps */
    double lyap_step;        /* largest Lyapunov exponent per step (q0 as the tangent vector) */
    double lyap_time;        /* lyap_step / dt: per unit of ODE time */
    double grad_ratio;       /* ||dL/dh_0|| / ||dL/dh_T||, L = 1/2 ||h_T - y||^2 */
    double grad_ratio_time;  /* log(grad_ratio) / (T dt) */
    double state_norm;       /* ||h_T|| */
    double perturb_time;     /* log(||h~_T - h_T|| / ||h~_0 - h_0||) / (T dt), where h~ starts at
                              * h~_0 = 1e-8 q0: the finite-size, nonlinear growth */
    double predicted_growth; /* max_i |1 + dt lambda_i| at h = 0 (no averaging needed) */
} recur_ode_stability_t;

int recur_ode_stability(const recur_ode_t *m, double S, size_t reps, unsigned long seed,
                        recur_ode_stability_t *out) RECUR_WUR;

#endif
