/* odeview.c - the ODE view of an RNN (recur/odeview.h): the continuous-time and antisymmetric
 * RNNs integrated by forward Euler, their BPTT, and the stability of both passes against the
 * step size dt over a fixed time horizon. Double precision, GSL for eigenvalues, QR and RNG. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort.h>

#include <recur/odeview.h>

/* Steps beyond this are refused (the states alone would take (T + 1) H doubles). */
#define MAX_STEPS ((size_t)1 << 24)

const char *recur_ode_kind_name(recur_ode_kind_t kind)
{
    switch (kind) {
    case RECUR_ODE_CTRNN:
        return "ctrnn";
    case RECUR_ODE_ANTISYM:
        return "antisym";
    case RECUR_ODE_LINEAR:
        return "linear";
    }
    return "?";
}

static int check_model(const recur_ode_t *m)
{
    if (m->H == 0 || !(m->dt > 0) || !isfinite(m->dt) || !m->W || !m->b || (m->I && !m->U) ||
        m->kind > RECUR_ODE_LINEAR) {
        recur_error("ODE view: bad model (H %zu, dt %g)", m->H, m->dt);
        return RECUR_EINVAL;
    }
    return 0;
}

/* Element (i, j) of the recurrent matrix M: W, or W - W^T - gamma I for the antisymmetric RNN. */
static inline double rec(const recur_ode_t *m, size_t i, size_t j)
{
    const size_t H = m->H;
    if (m->kind != RECUR_ODE_ANTISYM)
        return m->W[i * H + j];
    return m->W[i * H + j] - m->W[j * H + i] - (i == j ? m->gamma : 0.0);
}

/* Row i of the pre-activation z = M h + U x + b; x may be NULL (zero input). */
static double preact_row(const recur_ode_t *m, const double *h, const double *x, size_t i)
{
    const size_t H = m->H, I = m->I;
    double v = m->b[i];
    for (size_t j = 0; j < H; j++)
        v += rec(m, i, j) * h[j];
    if (x)
        for (size_t j = 0; j < I; j++)
            v += m->U[i * I + j] * x[j];
    return v;
}

static void preact(const recur_ode_t *m, const double *h, const double *x, double *z)
{
    for (size_t i = 0; i < m->H; i++)
        z[i] = preact_row(m, h, x, i);
}

/* The nonlinearity phi of f (tanh, or the identity for the linear model) and phi'. */
static inline double phi(const recur_ode_t *m, double z, double *dphi)
{
    if (m->kind == RECUR_ODE_LINEAR) {
        *dphi = 1;
        return z;
    }
    const double a = tanh(z);
    *dphi = 1 - a * a;
    return a;
}

/* df/dh = [-I +] diag(phi'(z)) M, row by row. */
void recur_ode_f_jacobian(const recur_ode_t *m, const double *h, const double *x, double *Jf)
{
    const size_t H = m->H;
    for (size_t i = 0; i < H; i++) {
        double d;
        (void)phi(m, preact_row(m, h, x, i), &d);
        for (size_t j = 0; j < H; j++)
            Jf[i * H + j] = d * rec(m, i, j);
        if (m->kind == RECUR_ODE_CTRNN)
            Jf[i * H + i] -= 1;
    }
}

void recur_ode_step(const recur_ode_t *m, const double *h, const double *x, double *hn, double *J)
{
    const size_t H = m->H;
    if (J) {
        recur_ode_f_jacobian(m, h, x, J);
        for (size_t i = 0; i < H * H; i++)
            J[i] *= m->dt;
        for (size_t i = 0; i < H; i++)
            J[i * H + i] += 1;
    }
    /* hn = h + dt f(h, x); f is built in hn, phi' is not needed */
    preact(m, h, x, hn);
    for (size_t i = 0; i < H; i++) {
        double d;
        double f = phi(m, hn[i], &d);
        if (m->kind == RECUR_ODE_CTRNN)
            f -= h[i];
        hn[i] = h[i] + m->dt * f;
    }
}

int recur_ode_forward(const recur_ode_t *m, size_t T, const double *x, const double *h0, double *h)
{
    int rc = check_model(m);
    if (rc)
        return rc;
    const size_t H = m->H, I = m->I;
    if (h0)
        memcpy(h, h0, H * sizeof *h);
    else
        memset(h, 0, H * sizeof *h);
    for (size_t t = 0; t < T; t++)
        recur_ode_step(m, h + t * H, x ? x + t * I : NULL, h + (t + 1) * H, NULL);
    return 0;
}

/* Backward through h_{t+1} = h_t + dt [-h_t +] phi(z_t), z_t = M h_t + U x_t + b:
 *     dz_t = dt phi'(z_t) * g_{t+1}
 *     g_t  = [(1 - dt)] g_{t+1} (+ g_{t+1} without the leak) + M^T dz_t
 *     dM += dz_t h_t^T,  dU += dz_t x_t^T,  db += dz_t,
 * and for the antisymmetric M = W - W^T - gamma I, dW = dM - dM^T. */
int recur_ode_backward(const recur_ode_t *m, size_t T, const double *x, const double *h,
                       const double *gT, double *g, double *dW, double *dU, double *db,
                       double *work)
{
    int rc = check_model(m);
    if (rc)
        return rc;
    const size_t H = m->H, I = m->I;
    const double dt = m->dt;
    double *z = work, *dz = work + H; /* (H) each */
    memcpy(g + T * H, gT, H * sizeof *g);
    for (size_t t = T; t-- > 0;) {
        const double *ht = h + t * H, *xt = x ? x + t * I : NULL, *gn = g + (t + 1) * H;
        double *gt = g + t * H;
        preact(m, ht, xt, z);
        for (size_t i = 0; i < H; i++) {
            double d;
            (void)phi(m, z[i], &d);
            dz[i] = dt * d * gn[i];
        }
        const double keep = m->kind == RECUR_ODE_CTRNN ? 1 - dt : 1;
        for (size_t j = 0; j < H; j++) {
            double v = keep * gn[j];
            for (size_t i = 0; i < H; i++)
                v += rec(m, i, j) * dz[i];
            gt[j] = v;
        }
        if (dW) {
            for (size_t i = 0; i < H; i++)
                for (size_t j = 0; j < H; j++) {
                    dW[i * H + j] += dz[i] * ht[j];
                    if (m->kind == RECUR_ODE_ANTISYM)
                        dW[i * H + j] -= dz[j] * ht[i];
                }
        }
        if (dU && xt)
            for (size_t i = 0; i < H; i++)
                for (size_t j = 0; j < I; j++)
                    dU[i * I + j] += dz[i] * xt[j];
        if (db)
            for (size_t i = 0; i < H; i++)
                db[i] += dz[i];
    }
    return 0;
}

double recur_ode_final_loss(size_t H, const double *hT, const double *y, double *gT)
{
    double L = 0;
    for (size_t i = 0; i < H; i++) {
        const double r = hT[i] - (y ? y[i] : 0.0);
        L += 0.5 * r * r;
        if (gT)
            gT[i] = r;
    }
    return L;
}

/* Eigenvalues of the (n, n) matrix A (copied: GSL destroys its input). */
static int eigs(size_t n, const double *A, double *re, double *im)
{
    int rc = RECUR_ENOMEM;
    gsl_matrix *M = gsl_matrix_alloc(n, n);
    gsl_vector_complex *ev = gsl_vector_complex_alloc(n);
    gsl_eigen_nonsymm_workspace *w = gsl_eigen_nonsymm_alloc(n);
    if (!M || !ev || !w) {
        recur_error("ODE view: out of memory");
        goto free_all;
    }
    memcpy(M->data, A, n * n * sizeof *A); /* a fresh gsl_matrix has tda == n */
    rc = RECUR_EINVAL;
    if (gsl_eigen_nonsymm(M, ev, w) != 0) {
        recur_error("ODE view: the eigenvalue iteration did not converge");
        goto free_all;
    }
    for (size_t i = 0; i < n; i++) {
        const gsl_complex z = gsl_vector_complex_get(ev, i);
        re[i] = GSL_REAL(z);
        im[i] = GSL_IMAG(z);
    }
    rc = 0;
free_all:
    gsl_eigen_nonsymm_free(w);
    gsl_vector_complex_free(ev);
    gsl_matrix_free(M);
    return rc;
}

int recur_ode_spectral_radius(size_t n, const double *A, double *rho)
{
    double *re = malloc(2 * n * sizeof *re);
    if (!re) {
        recur_error("ODE view: out of memory");
        return RECUR_ENOMEM;
    }
    int rc = eigs(n, A, re, re + n);
    double r = 0;
    for (size_t i = 0; i < n && !rc; i++)
        r = fmax(r, hypot(re[i], re[n + i]));
    *rho = r;
    free(re);
    return rc;
}

int recur_ode_eigs_at_zero(const recur_ode_t *m, double *re, double *im)
{
    int rc = check_model(m);
    if (rc)
        return rc;
    const size_t H = m->H;
    double *Jf = malloc(H * H * sizeof *Jf), *h = calloc(H, sizeof *h);
    rc = RECUR_ENOMEM;
    if (!Jf || !h) {
        recur_error("ODE view: out of memory");
        goto free_all;
    }
    recur_ode_f_jacobian(m, h, NULL, Jf);
    rc = eigs(H, Jf, re, im);
free_all:
    free(h);
    free(Jf);
    return rc;
}

int recur_ode_predicted_growth(const recur_ode_t *m, double *growth)
{
    const size_t H = m->H;
    double *re = malloc(2 * (H ? H : 1) * sizeof *re);
    if (!re) {
        recur_error("ODE view: out of memory");
        return RECUR_ENOMEM;
    }
    int rc = recur_ode_eigs_at_zero(m, re, re + H);
    double g = 0;
    for (size_t i = 0; i < H && !rc; i++)
        g = fmax(g, hypot(1 + m->dt * re[i], m->dt * re[H + i]));
    *growth = g;
    free(re);
    return rc;
}

int recur_ode_lyapunov(const recur_ode_t *m, size_t T, const double *x, const double *h0, size_t k,
                       const double *q0, double *out)
{
    int rc = check_model(m);
    if (rc)
        return rc;
    const size_t H = m->H, I = m->I;
    if (k == 0 || k > H || T == 0) {
        recur_error("ODE view: Lyapunov exponents need 1 <= k <= %zu and T >= 1", H);
        return RECUR_EINVAL;
    }
    rc = RECUR_ENOMEM;
    double *h = malloc(2 * H * sizeof *h), *sum = calloc(k, sizeof *sum);
    gsl_matrix *J = gsl_matrix_alloc(H, H), *Q = gsl_matrix_alloc(H, k);
    gsl_matrix *Z = gsl_matrix_alloc(H, k), *Qf = gsl_matrix_alloc(H, H);
    gsl_matrix *R = gsl_matrix_alloc(H, k);
    gsl_vector *tau = gsl_vector_alloc(k);
    if (!h || !sum || !J || !Q || !Z || !Qf || !R || !tau) {
        recur_error("ODE view: out of memory");
        goto free_all;
    }
    double *hc = h, *hn = h + H; /* (H) current and next state */
    if (h0)
        memcpy(hc, h0, H * sizeof *hc);
    else
        memset(hc, 0, H * sizeof *hc);
    for (size_t r = 0; r < H; r++)
        for (size_t c = 0; c < k; c++)
            gsl_matrix_set(Q, r, c, q0 ? q0[r * k + c] : (r == c ? 1.0 : 0.0));
    for (size_t t = 0; t < T; t++) {
        /* J is a fresh gsl_matrix: tda == H, its data is the (H, H) row-major array */
        recur_ode_step(m, hc, x ? x + t * I : NULL, hn, J->data);
        gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, J, Q, 0.0, Z);
        rc = RECUR_EINVAL;
        if (gsl_linalg_QR_decomp(Z, tau) != 0 || gsl_linalg_QR_unpack(Z, tau, Qf, R) != 0) {
            recur_error("ODE view: QR decomposition failed at step %zu", t);
            goto free_all;
        }
        for (size_t c = 0; c < k; c++) {
            sum[c] += log(fabs(gsl_matrix_get(R, c, c)));
            for (size_t r = 0; r < H; r++)
                gsl_matrix_set(Q, r, c, gsl_matrix_get(Qf, r, c));
        }
        double *tmp = hc;
        hc = hn;
        hn = tmp;
    }
    for (size_t c = 0; c < k; c++)
        out[c] = sum[c] / (double)T;
    gsl_sort(out, 1, k); /* ascending; then reversed: largest first */
    for (size_t i = 0; i < k / 2; i++) {
        const double tmp = out[i];
        out[i] = out[k - 1 - i];
        out[k - 1 - i] = tmp;
    }
    rc = 0;
free_all:
    gsl_vector_free(tau);
    gsl_matrix_free(R);
    gsl_matrix_free(Qf);
    gsl_matrix_free(Z);
    gsl_matrix_free(Q);
    gsl_matrix_free(J);
    free(sum);
    free(h);
    return rc;
}

int recur_ode_random(recur_ode_kind_t kind, size_t H, size_t I, double rho, gsl_rng *rng, double *W,
                     double *U, double *b)
{
    if (H == 0 || !(rho >= 0) || !isfinite(rho)) {
        recur_error("ODE view: bad random model (H %zu, rho %g)", H, rho);
        return RECUR_EINVAL;
    }
    for (size_t i = 0; i < H * H; i++)
        W[i] = gsl_ran_gaussian(rng, 1.0 / sqrt((double)H));
    for (size_t i = 0; i < H * I; i++)
        U[i] = gsl_ran_gaussian(rng, 1.0 / sqrt((double)I));
    memset(b, 0, H * sizeof *b);
    double *A = malloc(H * H * sizeof *A);
    if (!A) {
        recur_error("ODE view: out of memory");
        return RECUR_ENOMEM;
    }
    for (size_t i = 0; i < H; i++)
        for (size_t j = 0; j < H; j++)
            A[i * H + j] = kind == RECUR_ODE_ANTISYM ? W[i * H + j] - W[j * H + i] : W[i * H + j];
    double r;
    int rc = recur_ode_spectral_radius(H, A, &r);
    free(A);
    if (rc)
        return rc;
    if (r > 0)
        for (size_t i = 0; i < H * H; i++)
            W[i] *= rho / r;
    return 0;
}

size_t recur_ode_steps(double S, double dt)
{
    const double n = round(S / dt);
    return n >= 1 ? (size_t)n : 1;
}

static double norm2(size_t n, const double *v)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i] * v[i];
    return sqrt(s);
}

int recur_ode_stability(const recur_ode_t *m, double S, size_t reps, unsigned long seed,
                        recur_ode_stability_t *out)
{
    int rc = check_model(m);
    if (rc)
        return rc;
    if (!(S > 0) || !isfinite(S) || S > 1e9 || reps == 0 || S / m->dt > (double)MAX_STEPS) {
        recur_error("ODE view: bad horizon %g for dt %g (at most %zu steps) or no repetitions", S,
                    m->dt, MAX_STEPS);
        return RECUR_EINVAL;
    }
    const size_t H = m->H, I = m->I, T = recur_ode_steps(S, m->dt);
    const size_t NX = (size_t)ceil(S) + 1; /* unit intervals of the input signal */
    const double span = (double)T * m->dt;
    memset(out, 0, sizeof *out);
    out->T = T;
    if ((rc = recur_ode_predicted_growth(m, &out->predicted_growth)))
        return rc;
    rc = RECUR_ENOMEM;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double *x = malloc((T * I + NX * I + 1) * sizeof *x);  /* (T, I), then xs (NX, I) */
    double *h = malloc(2 * (T + 1) * H * sizeof *h);       /* (T + 1, H) twice */
    double *g = malloc(((T + 1) * H + 5 * H) * sizeof *g); /* (T + 1, H), then scratch */
    if (!rng || !x || !h || !g) {
        recur_error("ODE view: out of memory for %zu steps", T);
        goto free_all;
    }
    double *xs = x + T * I, *hp = h + (T + 1) * H;
    double *y = g + (T + 1) * H, *q0 = y + H, *gT = q0 + H, *work = gT + H; /* work: 2H */
    double lyap = 0, lratio = 0, lnorm = 0, lpert = 0;
    for (size_t r = 0; r < reps; r++) {
        gsl_rng_set(rng, seed + r);
        for (size_t i = 0; i < NX * I; i++)
            xs[i] = gsl_ran_gaussian(rng, 1.0);
        for (size_t i = 0; i < H; i++)
            y[i] = gsl_ran_gaussian(rng, 1.0);
        for (size_t i = 0; i < H; i++)
            q0[i] = gsl_ran_gaussian(rng, 1.0);
        const double qn = norm2(H, q0);
        for (size_t i = 0; i < H; i++)
            q0[i] /= qn;
        /* step t samples the input signal at time s = t dt */
        for (size_t t = 0; t < T; t++) {
            size_t k = (size_t)floor((double)t * m->dt);
            if (k >= NX)
                k = NX - 1;
            memcpy(x + t * I, xs + k * I, I * sizeof *x);
        }
        double le;
        if ((rc = recur_ode_lyapunov(m, T, x, NULL, 1, q0, &le)) ||
            (rc = recur_ode_forward(m, T, x, NULL, h)))
            goto free_all;
        /* the perturbed trajectory h~ from h~_0 = eps q0 */
        const double eps = 1e-8;
        for (size_t i = 0; i < H; i++)
            work[i] = eps * q0[i];
        if ((rc = recur_ode_forward(m, T, x, work, hp)))
            goto free_all;
        for (size_t i = 0; i < H; i++)
            work[i] = hp[T * H + i] - h[T * H + i];
        const double pert = norm2(H, work) / eps;
        (void)recur_ode_final_loss(H, h + T * H, y, gT);
        if ((rc = recur_ode_backward(m, T, x, h, gT, g, NULL, NULL, NULL, work)))
            goto free_all;
        lyap += le;
        lratio += log(norm2(H, g) / norm2(H, gT));
        lnorm += log(norm2(H, h + T * H));
        lpert += log(pert);
    }
    const double n = (double)reps;
    out->lyap_step = lyap / n;
    out->lyap_time = out->lyap_step / m->dt;
    out->grad_ratio = exp(lratio / n);
    out->grad_ratio_time = lratio / n / span;
    out->state_norm = exp(lnorm / n);
    out->perturb_time = lpert / n / span;
    rc = 0;
free_all:
    free(g);
    free(h);
    free(x);
    gsl_rng_free(rng);
    return rc;
}
