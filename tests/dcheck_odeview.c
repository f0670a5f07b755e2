/* dcheck_odeview.c - the ODE view of an RNN (recur/odeview.h): BPTT through the Euler steps
 * against central finite differences for every model kind, the dt = 1 CT-RNN against the tanh
 * RNN cell of the diagnostics (an independent implementation), Lyapunov exponents and the
 * linear-stability prediction against closed forms, the stability measurements on a linear
 * model, the error paths; and the timing of the linear RNN reference (recur/linrnn_time.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include <recur/diagnose.h>
#include <recur/linrnn_time.h>
#include <recur/odeview.h>

#include "testutil.h"

#if !RECUR_REAL_IS_DOUBLE
#error "dcheck_odeview must be built with -DRECUR_REAL=double"
#endif

enum { H = 4, I = 3, T = 12 };

/* Loss of the final state after the forward pass from h0 over n steps of x. */
static double loss_of(const recur_ode_t *m, size_t n, const double *x, const double *h0,
                      const double *y)
{
    double h[(T + 1) * H];
    ck_assert_int_eq(recur_ode_forward(m, n, x, h0, h), 0);
    return recur_ode_final_loss(H, h + n * H, y, NULL);
}

/* Relative 1e-6, plus the rounding error of a central difference of a loss of size L with
 * step 1e-6, about 2.2e-16 L / 1e-6 = 2.2e-10 L (rounded up to 1e-9 (1 + L)). */
static void check_fd(double an, double fd, double L, const char *what, size_t i)
{
    ck_assert_msg(fabs(an - fd) <= 1e-6 * fabs(fd) + 1e-9 * (1 + L),
                  "%s[%zu]: backward %.12g, finite difference %.12g (loss %g)", what, i, an, fd, L);
}

/* Loop: kind (ctrnn, antisym, linear) x dt (0.3, 1, 1.9; 1.9 is past the linear-stability
 * limit of the CT-RNN at the origin). */
START_TEST(test_backward_matches_finite_differences)
{
    static const double dts[3] = {0.3, 1.0, 1.9};
    const recur_ode_kind_t kind = (recur_ode_kind_t)(_i % 3);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5 + (unsigned long)_i);
    double W[H * H], U[H * I], b[H], x[T * I], h0[H], y[H];
    ck_assert_int_eq(recur_ode_random(kind, H, I, 1.2, rng, W, U, b), 0);
    for (size_t i = 0; i < H; i++) {
        b[i] = gsl_ran_gaussian(rng, 0.3);
        h0[i] = gsl_ran_gaussian(rng, 0.5);
        y[i] = gsl_ran_gaussian(rng, 1);
    }
    for (size_t i = 0; i < T * I; i++)
        x[i] = gsl_ran_gaussian(rng, 1);
    /* the linear model, unbounded, would grow by up to 1 + 1.9 * 2.2 per step with rho 1.2;
     * a smaller W keeps the loss small enough for finite differences in double */
    if (kind == RECUR_ODE_LINEAR)
        for (size_t i = 0; i < H * H; i++)
            W[i] *= 0.3;
    const recur_ode_t m = {kind, H, I, dts[_i / 3], 0.3, W, U, b};
    double h[(T + 1) * H], g[(T + 1) * H], gT[H], work[2 * H];
    double dW[H * H] = {0}, dU[H * I] = {0}, db[H] = {0};
    ck_assert_int_eq(recur_ode_forward(&m, T, x, h0, h), 0);
    const double L = recur_ode_final_loss(H, h + T * H, y, gT);
    ck_assert_int_eq(recur_ode_backward(&m, T, x, h, gT, g, dW, dU, db, work), 0);
    const double eps = 1e-6;
    /* parameters */
    struct {
        double *p;
        const double *an;
        size_t n;
        const char *name;
    } ps[3] = {{W, dW, H * H, "dW"}, {U, dU, H * I, "dU"}, {b, db, H, "db"}};
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < ps[k].n; i++) {
            const double v = ps[k].p[i];
            ps[k].p[i] = v + eps;
            const double lp = loss_of(&m, T, x, h0, y);
            ps[k].p[i] = v - eps;
            const double lm = loss_of(&m, T, x, h0, y);
            ps[k].p[i] = v;
            check_fd(ps[k].an[i], (lp - lm) / (2 * eps), L, ps[k].name, i);
        }
    /* dL/dh_t for every t: perturb h_t and run the remaining T - t steps */
    for (size_t t = 0; t <= T; t++)
        for (size_t i = 0; i < H; i++) {
            double hs[H];
            memcpy(hs, h + t * H, sizeof hs);
            hs[i] += eps;
            const double lp = loss_of(&m, T - t, x + t * I, hs, y);
            hs[i] -= 2 * eps;
            const double lm = loss_of(&m, T - t, x + t * I, hs, y);
            check_fd(g[t * H + i], (lp - lm) / (2 * eps), L, "dh_t", t * H + i);
        }
    /* the backward pass accumulates */
    double dW2[H * H];
    memcpy(dW2, dW, sizeof dW2);
    ck_assert_int_eq(recur_ode_backward(&m, T, x, h, gT, g, dW2, NULL, NULL, work), 0);
    for (size_t i = 0; i < H * H; i++)
        ck_assert_double_eq_tol(dW2[i], 2 * dW[i], 1e-14 * (1 + fabs(dW[i])));
    gsl_rng_free(rng);
}
END_TEST

/* The Euler-map Jacobian of recur_ode_step against finite differences of the step. */
START_TEST(test_step_jacobian_matches_finite_differences)
{
    const recur_ode_kind_t kind = (recur_ode_kind_t)_i;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 40 + (unsigned long)_i);
    double W[H * H], U[H * I], b[H], x[I], h[H], J[H * H], hp[H], hm[H], hn[H];
    ck_assert_int_eq(recur_ode_random(kind, H, I, 1.5, rng, W, U, b), 0);
    for (size_t i = 0; i < H; i++)
        h[i] = gsl_ran_gaussian(rng, 1);
    for (size_t i = 0; i < I; i++)
        x[i] = gsl_ran_gaussian(rng, 1);
    const recur_ode_t m = {kind, H, I, 0.7, 0.2, W, U, b};
    recur_ode_step(&m, h, x, hn, J);
    const double eps = 1e-6;
    for (size_t j = 0; j < H; j++) {
        const double v = h[j];
        h[j] = v + eps;
        recur_ode_step(&m, h, x, hp, NULL);
        h[j] = v - eps;
        recur_ode_step(&m, h, x, hm, NULL);
        h[j] = v;
        for (size_t i = 0; i < H; i++)
            check_fd(J[i * H + j], (hp[i] - hm[i]) / (2 * eps), 1, "J", i * H + j);
    }
    gsl_rng_free(rng);
}
END_TEST

/* dt = 1: h + (-h + tanh(W h + U x + b)) = tanh(W h + U x + b), the tanh RNN step; compared
 * with the diagnostics' RNN cell (weight_hh = W, weight_ih = U, bias_ih + bias_hh = b) and
 * its Jacobian. */
START_TEST(test_ctrnn_dt1_is_the_tanh_rnn)
{
    const recur_config_t cfg = {.cell = RECUR_CELL_RNN,
                                .input_size = I,
                                .hidden_size = H,
                                .num_layers = 1,
                                .bidirectional = false,
                                .head = RECUR_HEAD_SEQ,
                                .pool = RECUR_POOL_LAST,
                                .task = RECUR_TASK_REGRESS,
                                .num_outputs = 1};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 3);
    const size_t P = recur_param_count(&cfg);
    recur_real *params = malloc(P * sizeof *params);
    ck_assert_int_eq(recur_param_init(&cfg, NULL, params, rng), 0);
    recur_tensor_t tab[8];
    ck_assert_uint_eq(recur_tensor_count(&cfg), 6);
    recur_tensor_table(&cfg, tab);
    ck_assert_str_eq(tab[0].name, "rnn.weight_ih_l0");
    ck_assert_str_eq(tab[1].name, "rnn.weight_hh_l0");
    ck_assert_str_eq(tab[2].name, "rnn.bias_ih_l0");
    ck_assert_str_eq(tab[3].name, "rnn.bias_hh_l0");
    for (size_t i = 0; i < P; i++)
        params[i] *= 3; /* into the nonlinear range of tanh */
    double W[H * H], U[H * I], b[H];
    memcpy(U, params + tab[0].offset, sizeof U);
    memcpy(W, params + tab[1].offset, sizeof W);
    for (size_t i = 0; i < H; i++)
        b[i] = params[tab[2].offset + i] + params[tab[3].offset + i];
    const recur_ode_t m = {RECUR_ODE_CTRNN, H, I, 1.0, 0, W, U, b};
    for (int rep = 0; rep < 5; rep++) {
        double x[I], h[H], hn[H], hr[H], J[H * H], Jr[H * H];
        for (size_t i = 0; i < I; i++)
            x[i] = gsl_ran_gaussian(rng, 1);
        for (size_t i = 0; i < H; i++)
            h[i] = 2 * gsl_rng_uniform(rng) - 1;
        recur_ode_step(&m, h, x, hn, J);
        ck_assert_int_eq(recur_diag_cell_step(&cfg, params, 0, 0, x, h, hr, Jr), 0);
        for (size_t i = 0; i < H; i++)
            ck_assert_double_eq_tol(hn[i], hr[i], 1e-14);
        for (size_t i = 0; i < H * H; i++)
            ck_assert_double_eq_tol(J[i], Jr[i], 1e-14);
    }
    free(params);
    gsl_rng_free(rng);
}
END_TEST

/* Linear f(h) = A h: the Euler map is I + dt A. With A diagonal the exponents are
 * log |1 + dt a_i| exactly (the QR columns stay the unit vectors); with A = [[0, w], [-w, 0]]
 * the map is sqrt(1 + dt^2 w^2) times a rotation, so both exponents are log of that. */
START_TEST(test_lyapunov_linear_closed_form)
{
    const double a[H] = {-0.5, 0.2, -3.0, -1.2}, dt = 0.8;
    double W[H * H] = {0}, U[H * I] = {0}, b[H] = {0}, ex[H], want[H];
    for (size_t i = 0; i < H; i++) {
        W[i * H + i] = a[i];
        want[i] = log(fabs(1 + dt * a[i]));
    }
    /* 1 + dt a = 0.6, 1.16, -1.4, 0.04: sorted by |.|, largest first */
    const double sorted[H] = {want[2], want[1], want[0], want[3]};
    const recur_ode_t m = {RECUR_ODE_LINEAR, H, I, dt, 0, W, U, b};
    ck_assert_int_eq(recur_ode_lyapunov(&m, 50, NULL, NULL, H, NULL, ex), 0);
    for (size_t i = 0; i < H; i++)
        ck_assert_double_eq_tol(ex[i], sorted[i], 1e-12);
    /* k = 1 from a generic unit vector: the largest, up to log|q_1| / T */
    const size_t TT = 4000;
    const double q0[H] = {0.5, 0.5, 0.5, 0.5};
    ck_assert_int_eq(recur_ode_lyapunov(&m, TT, NULL, NULL, 1, q0, ex), 0);
    ck_assert_double_le(fabs(ex[0] - sorted[0]), fabs(log(0.5)) / (double)TT + 1e-12);
    ck_assert_double_le(ex[0], sorted[0] + 1e-12); /* the other directions only shrink */
    /* rotation-dilation */
    const double w = 1.7;
    double R[4] = {0, w, -w, 0}, ex2[2];
    const recur_ode_t r = {RECUR_ODE_LINEAR, 2, 0, 0.3, 0, R, NULL, b};
    ck_assert_int_eq(recur_ode_lyapunov(&r, 37, NULL, NULL, 2, NULL, ex2), 0);
    const double l = 0.5 * log(1 + 0.3 * 0.3 * w * w);
    ck_assert_double_eq_tol(ex2[0], l, 1e-12);
    ck_assert_double_eq_tol(ex2[1], l, 1e-12);
}
END_TEST

/* max_i |1 + dt lambda_i| for 2 x 2 cases worked by hand. */
START_TEST(test_predicted_growth_2x2)
{
    double g, re[2], im[2], U[2] = {0}, b0[2] = {0};
    /* CT-RNN, W = [[0, 2], [-2, 0]]: -I + W has eigenvalues -1 +- 2i; dt = 0.5:
     * |1 + 0.5 (-1 +- 2i)| = |0.5 +- i| = sqrt(1.25) */
    double W1[4] = {0, 2, -2, 0};
    recur_ode_t m = {RECUR_ODE_CTRNN, 2, 1, 0.5, 0, W1, U, b0};
    ck_assert_int_eq(recur_ode_eigs_at_zero(&m, re, im), 0);
    ck_assert_double_eq_tol(re[0], -1, 1e-12);
    ck_assert_double_eq_tol(re[1], -1, 1e-12);
    ck_assert_double_eq_tol(fabs(im[0]), 2, 1e-12);
    ck_assert_double_eq_tol(im[0] + im[1], 0, 1e-12);
    ck_assert_int_eq(recur_ode_predicted_growth(&m, &g), 0);
    ck_assert_double_eq_tol(g, sqrt(1.25), 1e-12);
    /* CT-RNN, W = diag(0.5, -0.5): lambda = -0.5, -1.5; dt = 1.5: |0.25|, |-1.25| -> 1.25,
     * unstable because dt > 2 / 1.5 */
    double W2[4] = {0.5, 0, 0, -0.5};
    m = (recur_ode_t){RECUR_ODE_CTRNN, 2, 1, 1.5, 0, W2, U, b0};
    ck_assert_int_eq(recur_ode_predicted_growth(&m, &g), 0);
    ck_assert_double_eq_tol(g, 1.25, 1e-12);
    /* CT-RNN with a bias: W = diag(2, 0), b = (atanh(0.5), 0): tanh'(b_1) = 0.75, so the
     * Jacobian is diag(-1 + 1.5, -1) = diag(0.5, -1); dt = 0.5: |1.25|, |0.5| -> 1.25 */
    double W3[4] = {2, 0, 0, 0}, b3[2] = {atanh(0.5), 0};
    m = (recur_ode_t){RECUR_ODE_CTRNN, 2, 1, 0.5, 0, W3, U, b3};
    ck_assert_int_eq(recur_ode_predicted_growth(&m, &g), 0);
    ck_assert_double_eq_tol(g, 1.25, 1e-12);
    /* antisymmetric, W = [[0, 1], [0, 0]]: W - W^T - gamma I = [[-g, 1], [-1, -g]],
     * eigenvalues -gamma +- i; gamma = 0.5, dt = 0.1: |0.95 +- 0.1i| = sqrt(0.9125) < 1 */
    double W4[4] = {0, 1, 0, 0};
    m = (recur_ode_t){RECUR_ODE_ANTISYM, 2, 1, 0.1, 0.5, W4, U, b0};
    ck_assert_int_eq(recur_ode_predicted_growth(&m, &g), 0);
    ck_assert_double_eq_tol(g, sqrt(0.9125), 1e-12);
    /* ... and gamma = 0: |1 +- 0.1i| = sqrt(1.01) > 1 for any dt */
    m.gamma = 0;
    ck_assert_int_eq(recur_ode_predicted_growth(&m, &g), 0);
    ck_assert_double_eq_tol(g, sqrt(1.01), 1e-12);
    /* spectral radius of [[1, 2], [3, 4]]: (5 + sqrt(33)) / 2 */
    double A[4] = {1, 2, 3, 4}, rho;
    ck_assert_int_eq(recur_ode_spectral_radius(2, A, &rho), 0);
    ck_assert_double_eq_tol(rho, (5 + sqrt(33)) / 2, 1e-12);
}
END_TEST

/* recur_ode_random: the recurrent matrix gets the requested spectral radius. */
START_TEST(test_random_spectral_radius)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 9);
    enum { N = 10 };
    double W[N * N], U[N * 2], b[N], A[N * N], rho;
    ck_assert_int_eq(recur_ode_random(RECUR_ODE_CTRNN, N, 2, 0.9, rng, W, U, b), 0);
    ck_assert_int_eq(recur_ode_spectral_radius(N, W, &rho), 0);
    ck_assert_double_eq_tol(rho, 0.9, 1e-10);
    ck_assert_int_eq(recur_ode_random(RECUR_ODE_ANTISYM, N, 2, 1.5, rng, W, U, b), 0);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            A[i * N + j] = W[i * N + j] - W[j * N + i];
    ck_assert_int_eq(recur_ode_spectral_radius(N, A, &rho), 0);
    ck_assert_double_eq_tol(rho, 1.5, 1e-10);
    gsl_rng_free(rng);
}
END_TEST

/* The measurements on a linear model with A = diag(a), no input: the Euler map is the constant
 * I + dt A, so the largest exponent per step is log max |1 + dt a_i| up to log|q0_1| / T, the
 * perturbation grows exactly as the tangent vector (the map is linear), the gradient shrinks
 * by at most max |1 + dt a_i| per step, and the prediction is that same maximum. */
START_TEST(test_stability_linear)
{
    const double a[H] = {-0.5, -2.0, -1.0, -0.7};
    double W[H * H] = {0}, U[H * I] = {0}, b[H] = {0};
    for (size_t i = 0; i < H; i++)
        W[i * H + i] = a[i];
    const double dt = 0.1, S = 400, top = log(1 - dt * 0.5);
    const recur_ode_t m = {RECUR_ODE_LINEAR, H, I, dt, 0, W, U, b};
    recur_ode_stability_t st;
    ck_assert_int_eq(recur_ode_stability(&m, S, 3, 11, &st), 0);
    ck_assert_uint_eq(st.T, 4000);
    ck_assert_double_eq_tol(st.predicted_growth, 1 - dt * 0.5, 1e-12);
    ck_assert_double_le(st.lyap_step, top + 1e-12);
    ck_assert_double_le(top - 0.004, st.lyap_step); /* |log q0_1| < 16 for these seeds */
    ck_assert_double_eq_tol(st.lyap_time, st.lyap_step / dt, 1e-12);
    ck_assert_double_eq_tol(st.perturb_time * S, st.lyap_step * (double)st.T, 1e-6);
    ck_assert_double_le(st.grad_ratio_time, top / dt + 1e-12);
    ck_assert_double_eq_tol(st.state_norm, 0, 1e-300); /* h_0 = 0, no input: h stays 0 */
    /* a model that blows up: dt = 2.5 makes 1 + dt a = -4 for a = -2 */
    const recur_ode_t m2 = {RECUR_ODE_LINEAR, H, I, 2.5, 0, W, U, b};
    ck_assert_int_eq(recur_ode_stability(&m2, 25, 1, 11, &st), 0);
    ck_assert_uint_eq(st.T, 10);
    ck_assert_double_eq_tol(st.predicted_growth, 4, 1e-12);
    ck_assert_double_le(st.lyap_step, log(4) + 1e-12);
    ck_assert_double_le(log(4) - 2.5, st.lyap_step);
}
END_TEST

/* Every error path: a bad model, bad Lyapunov k, bad horizon, no repetitions, bad sizes. */
START_TEST(test_errors)
{
    double W[4] = {0}, U[2] = {0}, b[2] = {0}, h[6], g[6], out[2], work[4];
    recur_ode_t m = {RECUR_ODE_CTRNN, 2, 1, 0, 0, W, U, b};
    recur_ode_stability_t st;
    recur_log_set_quiet(true);
    ck_assert_int_eq(recur_ode_forward(&m, 2, NULL, NULL, h), RECUR_EINVAL); /* dt = 0 */
    ck_assert_int_eq(recur_ode_backward(&m, 2, NULL, h, b, g, NULL, NULL, NULL, work),
                     RECUR_EINVAL);
    m.dt = 0.5;
    ck_assert_int_eq(recur_ode_lyapunov(&m, 2, NULL, NULL, 0, NULL, out), RECUR_EINVAL);
    ck_assert_int_eq(recur_ode_lyapunov(&m, 2, NULL, NULL, 3, NULL, out), RECUR_EINVAL);
    ck_assert_int_eq(recur_ode_lyapunov(&m, 0, NULL, NULL, 1, NULL, out), RECUR_EINVAL);
    ck_assert_int_eq(recur_ode_stability(&m, 0, 1, 1, &st), RECUR_EINVAL);
    ck_assert_int_eq(recur_ode_stability(&m, 10, 0, 1, &st), RECUR_EINVAL);
    ck_assert_int_eq(recur_ode_stability(&m, 1e9, 1, 1, &st), RECUR_EINVAL);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    ck_assert_int_eq(recur_ode_random(RECUR_ODE_CTRNN, 0, 1, 1, rng, W, U, b), RECUR_EINVAL);
    ck_assert_int_eq(recur_ode_random(RECUR_ODE_CTRNN, 2, 1, NAN, rng, W, U, b), RECUR_EINVAL);
    recur_linrnn_timing_t tm;
    ck_assert_int_eq(recur_linrnn_time(2, 1, 1, 0, 1, 0, rng, &tm), RECUR_EINVAL);
    ck_assert_int_eq(recur_linrnn_time(2, 1, 1, 5, 0, 0, rng, &tm), RECUR_EINVAL);
    gsl_rng_free(rng);
    ck_assert_str_eq(recur_ode_kind_name(RECUR_ODE_ANTISYM), "antisym");
    recur_log_set_quiet(false);
}
END_TEST

/* The timing of the linear RNN reference: both gradients agree, times are positive. */
START_TEST(test_linrnn_timing)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 2);
    recur_linrnn_timing_t tm;
    ck_assert_int_eq(recur_linrnn_time(5, 3, 2, 60, 2, 0.001, rng, &tm), 0);
    ck_assert_uint_eq(tm.T, 60);
    ck_assert_double_gt(tm.sec_sum, 0);
    ck_assert_double_gt(tm.sec_bptt, 0);
    ck_assert_double_lt(tm.max_abs_diff, 1e-10);
    ck_assert_double_le(tm.max_rel_diff, tm.max_abs_diff * 1e3); /* the gradient is not tiny */
    ck_assert_double_lt(tm.max_rel_diff, 1e-12);
    gsl_rng_free(rng);
}
END_TEST

int main(void)
{
    gsl_set_error_handler_off();
    Suite *s = suite_create("ODE view (double)");
    TCase *tc = tcase_create("gradients");
    tcase_add_loop_test(tc, test_backward_matches_finite_differences, 0, 9);
    tcase_add_loop_test(tc, test_step_jacobian_matches_finite_differences, 0, 3);
    tcase_add_test(tc, test_ctrnn_dt1_is_the_tanh_rnn);
    suite_add_tcase(s, tc);
    tc = tcase_create("stability");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_lyapunov_linear_closed_form);
    tcase_add_test(tc, test_predicted_growth_2x2);
    tcase_add_test(tc, test_random_spectral_radius);
    tcase_add_test(tc, test_stability_linear);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_linrnn_timing);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
