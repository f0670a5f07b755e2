/* linrnn.c - the linear RNN reference of recur/linrnn.h: its gradient by BPTT in O(T) and by
 * the explicit sum over (t, k) pairs in O(T^2), to set side by side. */
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_matrix.h>

#include <recur/linrnn.h>

/* Forward: h (T + 1, H) with h[0] = 0, and delta (T, H) = C^T (C h_t - y_t); loss. dC too.
 * r: scratch of O. */
static void forward(const recur_linrnn_t *m, double *h, double *delta, double *loss, double *dC,
                    double *r)
{
    const size_t H = m->H, I = m->I, O = m->O;
    memset(h, 0, H * sizeof *h);
    memset(dC, 0, O * H * sizeof *dC);
    *loss = 0;
    for (size_t t = 0; t < m->T; t++) {
        const double *hp = h + t * H, *xt = m->x + t * I;
        double *ht = h + (t + 1) * H, *dt = delta + t * H;
        for (size_t i = 0; i < H; i++) {
            double v = 0;
            for (size_t j = 0; j < H; j++)
                v += m->W[i * H + j] * hp[j];
            for (size_t j = 0; j < I; j++)
                v += m->U[i * I + j] * xt[j];
            ht[i] = v;
        }
        for (size_t o = 0; o < O; o++) {
            double v = -m->y[t * O + o];
            for (size_t i = 0; i < H; i++)
                v += m->C[o * H + i] * ht[i];
            r[o] = v;
            *loss += 0.5 * v * v;
            for (size_t i = 0; i < H; i++)
                dC[o * H + i] += v * ht[i];
        }
        for (size_t i = 0; i < H; i++) {
            double v = 0;
            for (size_t o = 0; o < O; o++)
                v += m->C[o * H + i] * r[o];
            dt[i] = v;
        }
    }
}

/* h (T + 1, H), then scratch (H + O); delta (T + 1, H). */
static int alloc2(const recur_linrnn_t *m, double **h, double **delta)
{
    *h = calloc((m->T + 1) * m->H + m->H + m->O, sizeof **h);
    *delta = calloc((m->T + 1) * m->H, sizeof **delta);
    if (*h && *delta)
        return 0;
    free(*h);
    free(*delta);
    recur_error("linear RNN: out of memory");
    return RECUR_ENOMEM;
}

int recur_linrnn_bptt(const recur_linrnn_t *m, double *loss, double *dW, double *dU, double *dC)
{
    const size_t H = m->H, I = m->I, T = m->T;
    double *h, *delta;
    if (alloc2(m, &h, &delta))
        return RECUR_ENOMEM;
    double *gn = h + (T + 1) * H; /* (H) scratch */
    forward(m, h, delta, loss, dC, gn + H);
    memset(dW, 0, H * H * sizeof *dW);
    memset(dU, 0, H * I * sizeof *dU);
    double *g = delta + T * H; /* (H) g_{t+1}, zero beyond the end */
    for (size_t t = T; t-- > 0;) {
        /* g_t = delta_t + W^T g_{t+1} */
        for (size_t j = 0; j < H; j++) {
            double v = delta[t * H + j];
            for (size_t i = 0; i < H; i++)
                v += m->W[i * H + j] * g[i];
            gn[j] = v;
        }
        memcpy(g, gn, H * sizeof *g);
        for (size_t i = 0; i < H; i++) {
            for (size_t j = 0; j < H; j++)
                dW[i * H + j] += g[i] * h[t * H + j]; /* h_{t-1}: row t of h */
            for (size_t j = 0; j < I; j++)
                dU[i * I + j] += g[i] * m->x[t * I + j];
        }
    }
    free(h);
    free(delta);
    return 0;
}

int recur_linrnn_sum(const recur_linrnn_t *m, double *loss, double *dW, double *dU, double *dC)
{
    const size_t H = m->H, I = m->I, T = m->T;
    double *h, *delta;
    if (alloc2(m, &h, &delta))
        return RECUR_ENOMEM;
    forward(m, h, delta, loss, dC, h + (T + 1) * H + H);
    memset(dW, 0, H * H * sizeof *dW);
    memset(dU, 0, H * I * sizeof *dU);
    int rc = RECUR_ENOMEM;
    gsl_matrix *P = gsl_matrix_alloc(H, H), *Q = gsl_matrix_alloc(H, H); /* (W^T)^(t-k) */
    gsl_vector *v = gsl_vector_alloc(H);
    if (!P || !Q || !v)
        goto free_all;
    gsl_matrix_const_view W = gsl_matrix_const_view_array(m->W, H, H);
    for (size_t t = 0; t < T; t++) {
        gsl_matrix_set_identity(P);
        for (size_t k = t + 1; k-- > 0;) {
            /* the term of loss step t through the use of W at step k: (W^T)^(t-k) delta_t */
            gsl_vector_const_view dt = gsl_vector_const_view_array(delta + t * H, H);
            gsl_blas_dgemv(CblasNoTrans, 1.0, P, &dt.vector, 0.0, v);
            for (size_t i = 0; i < H; i++) {
                const double vi = gsl_vector_get(v, i);
                for (size_t j = 0; j < H; j++)
                    dW[i * H + j] += vi * h[k * H + j]; /* h_{k-1} */
                for (size_t j = 0; j < I; j++)
                    dU[i * I + j] += vi * m->x[k * I + j];
            }
            gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &W.matrix, P, 0.0, Q); /* P <- W^T P */
            gsl_matrix_memcpy(P, Q);
        }
    }
    rc = 0;
free_all:
    gsl_vector_free(v);
    gsl_matrix_free(Q);
    gsl_matrix_free(P);
    free(h);
    free(delta);
    if (rc)
        recur_error("linear RNN: out of memory");
    return rc;
}
