/* diagnose.c - gradient flow through time: per-step gradient norms from the engine, and, from
 * a double-precision forward pass of its own (one sequence at a time), the step Jacobians of
 * each layer and direction, norms of their products against the lag, the Lyapunov spectrum by
 * QR re-orthonormalisation, and the bias of truncated BPTT. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_vector.h>

#include <recur/diagnose.h>

size_t recur_diag_state_size(const recur_config_t *cfg)
{
    return cfg->cell == RECUR_CELL_LSTM ? 2 * cfg->hidden_size : cfg->hidden_size;
}

int recur_diag_grad_norms(const recur_config_t *cfg, const recur_real *params,
                          const recur_batch_t *b, double *out)
{
    const size_t T = b->T, B = b->B, H = cfg->hidden_size, D = recur_config_directions(cfg);
    recur_engine_t *e = recur_engine_alloc(cfg, T, B);
    recur_real *g = calloc(recur_param_count(cfg), sizeof *g);
    int rc = RECUR_ENOMEM;
    double loss;
    if (!e || !g)
        goto free_all;
    if ((rc = recur_engine_forward(e, params, b, 0, T, false, NULL, &loss, NULL)) ||
        (rc = recur_engine_backward(e, params, g, NULL)))
        goto free_all;
    for (size_t l = 0; l < cfg->num_layers; l++)
        for (size_t d = 0; d < D; d++) {
            const recur_real *dh = recur_engine_state_grad(e, l, d); /* (T, B, H) */
            for (size_t t = 0; t < T; t++) {
                double s = 0;
                for (size_t i = 0; i < B * H; i++)
                    s += (double)dh[t * B * H + i] * dh[t * B * H + i];
                out[(l * D + d) * T + t] = sqrt(s);
            }
        }
free_all:
    free(g);
    recur_engine_free(e);
    return rc;
}

/* ---- double-precision steps and sequences ------------------------------------------------ */

static double sigmoid(double x)
{
    return 1 / (1 + exp(-x));
}

/* Views of layer l, direction d. */
typedef struct {
    const recur_real *w_ih, *w_hh, *b_ih, *b_hh; /* (G*H, in), (G*H, H), (G*H), (G*H) */
    size_t in;
} lview_t;

static lview_t lview(const recur_config_t *cfg, const recur_real *params, size_t l, size_t d)
{
    const size_t n_tab = recur_tensor_count(cfg), D = recur_config_directions(cfg);
    recur_tensor_t tab[4]; /* weight_ih, weight_hh, bias_ih, bias_hh */
    recur_tensor_t *all = calloc(n_tab, sizeof *all);
    lview_t v = {0};
    if (!all)
        return v;
    recur_tensor_table(cfg, all);
    memcpy(tab, all + 4 * (l * D + d), sizeof tab);
    free(all);
    v.w_ih = params + tab[0].offset;
    v.w_hh = params + tab[1].offset;
    v.b_ih = params + tab[2].offset;
    v.b_hh = params + tab[3].offset;
    v.in = tab[0].dims[1];
    return v;
}

/* One step in double precision. s is the state: h (H), or (h, c) (2H) for the LSTM.
 * pre: scratch of 4H. J (n, n), when not NULL, gets d s_next / d s. */
static void cell_step(const recur_config_t *cfg, const lview_t *w, const double *x, const double *s,
                      double *sn, double *J, double *pre)
{
    const size_t H = cfg->hidden_size, G = recur_config_gates(cfg), n = recur_diag_state_size(cfg);
    const double *h = s, *c = s + H;
    double *a = pre;          /* (G*H) W_ih x + b_ih + W_hh h + b_hh; GRU n gate: input part only */
    double *hn = pre + 3 * H; /* GRU: (H) W_hn h + b_hn */
    for (size_t r = 0; r < G * H; r++) {
        double v = w->b_ih[r], u = w->b_hh[r];
        for (size_t i = 0; i < w->in; i++)
            v += (double)w->w_ih[r * w->in + i] * x[i];
        for (size_t j = 0; j < H; j++)
            u += (double)w->w_hh[r * H + j] * h[j];
        if (cfg->cell == RECUR_CELL_GRU && r >= 2 * H) {
            a[r] = v;
            hn[r - 2 * H] = u;
        } else {
            a[r] = v + u;
        }
    }
    if (J)
        memset(J, 0, n * n * sizeof *J);
#define W(gate, i, j) ((double)w->w_hh[((gate)*H + (i)) * H + (j)])
    for (size_t i = 0; i < H; i++) {
        switch (cfg->cell) {
        case RECUR_CELL_RNN: { /* J = diag(1 - h'^2) W_hh */
            const double hh = tanh(a[i]);
            sn[i] = hh;
            for (size_t j = 0; J && j < H; j++)
                J[i * n + j] = (1 - hh * hh) * W(0, i, j);
            break;
        }
        case RECUR_CELL_LSTM: {
            /* c' = f c + i g, h' = o tanh(c'); over the joint state (h, c):
             * dc'/dh = c df/dh + g di/dh + i dg/dh, dc'/dc = diag(f),
             * dh'/dh = tanh(c') do/dh + o (1 - tanh^2 c') dc'/dh, dh'/dc = o (1 - tanh^2 c') f */
            const double ig = sigmoid(a[i]), fg = sigmoid(a[H + i]), gg = tanh(a[2 * H + i]);
            const double og = sigmoid(a[3 * H + i]);
            const double cn = fg * c[i] + ig * gg, tc = tanh(cn), dtc = og * (1 - tc * tc);
            sn[i] = og * tc;
            sn[H + i] = cn;
            if (!J)
                break;
            for (size_t j = 0; j < H; j++) {
                const double di = ig * (1 - ig) * W(0, i, j), df = fg * (1 - fg) * W(1, i, j);
                const double dg = (1 - gg * gg) * W(2, i, j), dO = og * (1 - og) * W(3, i, j);
                const double dcdh = c[i] * df + gg * di + ig * dg;
                J[i * n + j] = tc * dO + dtc * dcdh;
                J[(H + i) * n + j] = dcdh;
            }
            J[i * n + H + i] = dtc * fg;
            J[(H + i) * n + H + i] = fg;
            break;
        }
        case RECUR_CELL_GRU: {
            /* h' = (1 - z) n + z h; dh'/dh = diag(z) + diag(h - n) dz/dh + diag(1 - z) dn/dh,
             * dn/dh = diag(1 - n^2) (diag(r) W_hn + diag(W_hn h + b_hn) dr/dh) */
            const double r = sigmoid(a[i]), z = sigmoid(a[H + i]);
            const double nn = tanh(a[2 * H + i] + r * hn[i]);
            sn[i] = (1 - z) * nn + z * h[i];
            for (size_t j = 0; J && j < H; j++) {
                const double dr = r * (1 - r) * W(0, i, j), dz = z * (1 - z) * W(1, i, j);
                const double dn = (1 - nn * nn) * (r * W(2, i, j) + hn[i] * dr);
                J[i * n + j] = (h[i] - nn) * dz + (1 - z) * dn + (i == j ? z : 0);
            }
            break;
        }
        }
    }
#undef W
}

int recur_diag_cell_step(const recur_config_t *cfg, const recur_real *params, size_t layer,
                         size_t dir, const double *x, const double *s, double *s_next, double *J)
{
    if (layer >= cfg->num_layers || dir >= recur_config_directions(cfg))
        return RECUR_EINVAL;
    const lview_t w = lview(cfg, params, layer, dir);
    double *pre = malloc(4 * cfg->hidden_size * sizeof *pre);
    if (!w.w_ih || !pre) {
        free(pre);
        return RECUR_ENOMEM;
    }
    cell_step(cfg, &w, x, s, s_next, J, pre);
    free(pre);
    return 0;
}

int recur_diag_jacobians(const recur_config_t *cfg, const recur_real *params,
                         const recur_batch_t *b, size_t seq, size_t layer, size_t dir, double *jac,
                         double *h)
{
    const size_t T = b->T, H = cfg->hidden_size, D = recur_config_directions(cfg);
    const size_t n = recur_diag_state_size(cfg), I = cfg->input_size, DH = D * H;
    if (seq >= b->B || layer >= cfg->num_layers || dir >= D)
        return RECUR_EINVAL;
    const size_t W = I > DH ? I : DH;
    double *x = calloc(T * W, sizeof *x), *y = calloc(T * DH, sizeof *y);
    double *st = calloc(2 * n + 4 * H, sizeof *st); /* state, next state, scratch */
    if (!x || !y || !st) {
        free(x);
        free(y);
        free(st);
        recur_error("diagnose: out of memory");
        return RECUR_ENOMEM;
    }
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < I; i++)
            x[t * I + i] = b->x[(t * b->B + seq) * I + i];
    for (size_t l = 0; l <= layer; l++) {
        const size_t in = l == 0 ? I : DH;
        if (l > 0)
            memcpy(x, y, T * DH * sizeof *x);
        for (size_t d = 0; d < D; d++) {
            const lview_t w = lview(cfg, params, l, d);
            const bool want = l == layer && d == dir;
            double *sp = st, *sn = st + n, *pre = st + 2 * n;
            memset(sp, 0, n * sizeof *sp);
            for (size_t k = 0; k < T; k++) {
                const size_t t = d ? T - 1 - k : k;
                double *J = want ? jac + k * n * n : NULL;
                if (!b->mask[t * b->B + seq]) { /* state carried: identity Jacobian */
                    for (size_t j = 0; j < H; j++)
                        y[t * DH + d * H + j] = 0;
                    if (J) {
                        memset(J, 0, n * n * sizeof *J);
                        for (size_t i = 0; i < n; i++)
                            J[i * n + i] = 1;
                    }
                } else {
                    cell_step(cfg, &w, x + t * in, sp, sn, J, pre);
                    memcpy(sp, sn, n * sizeof *sp);
                    for (size_t j = 0; j < H; j++)
                        y[t * DH + d * H + j] = sp[j];
                }
                if (want && h)
                    memcpy(h + t * H, sp, H * sizeof *h);
            }
        }
    }
    free(x);
    free(y);
    free(st);
    return 0;
}

/* Largest singular value of the (n, n) matrix a (destroyed). */
static double spectral_norm(gsl_matrix *a, gsl_matrix *v, gsl_vector *sv, gsl_vector *work)
{
    if (gsl_linalg_SV_decomp(a, v, sv, work) != 0)
        return NAN;
    return gsl_vector_get(sv, 0);
}

int recur_diag_jacobian_norms(const recur_config_t *cfg, const recur_real *params,
                              const recur_batch_t *b, size_t layer, size_t dir, size_t max_lag,
                              size_t max_seqs, double *out)
{
    const size_t n = recur_diag_state_size(cfg), T = b->T;
    const size_t S = max_seqs && max_seqs < b->B ? max_seqs : b->B;
    int rc = RECUR_ENOMEM;
    double *jac = malloc(T * n * n * sizeof *jac), *sum = calloc(max_lag, sizeof *sum);
    size_t *cnt = calloc(max_lag, sizeof *cnt);
    gsl_matrix *P = gsl_matrix_alloc(n, n), *tmp = gsl_matrix_alloc(n, n);
    gsl_matrix *A = gsl_matrix_alloc(n, n), *V = gsl_matrix_alloc(n, n);
    gsl_vector *sv = gsl_vector_alloc(n), *work = gsl_vector_alloc(n);
    if (!jac || !sum || !cnt || !P || !tmp || !A || !V || !sv || !work)
        goto free_all;
    for (size_t seq = 0; seq < S; seq++) {
        if ((rc = recur_diag_jacobians(cfg, params, b, seq, layer, dir, jac, NULL)))
            goto free_all;
        /* last processed valid step */
        size_t last = SIZE_MAX;
        for (size_t k = 0; k < T; k++) {
            const size_t t = dir ? T - 1 - k : k;
            if (b->mask[t * b->B + seq])
                last = k;
        }
        if (last == SIZE_MAX)
            continue;
        gsl_matrix_set_identity(P);
        for (size_t lag = 1; lag <= max_lag && lag <= last + 1; lag++) {
            /* P <- P J_{last - lag + 1} */
            gsl_matrix_view J = gsl_matrix_view_array(jac + (last - lag + 1) * n * n, n, n);
            gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, P, &J.matrix, 0.0, tmp);
            gsl_matrix_memcpy(P, tmp);
            gsl_matrix_memcpy(A, P);
            const double nrm = spectral_norm(A, V, sv, work);
            if (nrm > 0 && isfinite(nrm)) {
                sum[lag - 1] += log(nrm);
                cnt[lag - 1]++;
            }
        }
    }
    for (size_t k = 0; k < max_lag; k++)
        out[k] = cnt[k] ? exp(sum[k] / (double)cnt[k]) : NAN;
    rc = 0;
free_all:
    gsl_vector_free(work);
    gsl_vector_free(sv);
    gsl_matrix_free(V);
    gsl_matrix_free(A);
    gsl_matrix_free(tmp);
    gsl_matrix_free(P);
    free(cnt);
    free(sum);
    free(jac);
    if (rc == RECUR_ENOMEM)
        recur_error("diagnose: out of memory");
    return rc;
}

int recur_diag_lyapunov(const recur_config_t *cfg, const recur_real *params, const recur_batch_t *b,
                        size_t layer, size_t dir, size_t k, size_t max_seqs, double *out)
{
    const size_t n = recur_diag_state_size(cfg), T = b->T;
    const size_t S = max_seqs && max_seqs < b->B ? max_seqs : b->B;
    if (k == 0 || k > n) {
        recur_error("diagnose: the number of Lyapunov exponents must be in 1..%zu", n);
        return RECUR_EINVAL;
    }
    int rc = RECUR_ENOMEM;
    size_t used = 0;
    double *jac = malloc(T * n * n * sizeof *jac), *acc = calloc(2 * k, sizeof *acc);
    gsl_matrix *Q = gsl_matrix_alloc(n, k), *Z = gsl_matrix_alloc(n, k);
    gsl_matrix *Qf = gsl_matrix_alloc(n, n), *R = gsl_matrix_alloc(n, k);
    gsl_vector *tau = gsl_vector_alloc(k);
    if (!jac || !acc || !Q || !Z || !Qf || !R || !tau)
        goto free_all;
    for (size_t seq = 0; seq < S; seq++) {
        if ((rc = recur_diag_jacobians(cfg, params, b, seq, layer, dir, jac, NULL)))
            goto free_all;
        double *sum = acc + k; /* (k) this sequence's sums */
        memset(sum, 0, k * sizeof *sum);
        size_t steps = 0;
        gsl_matrix_set_zero(Q);
        for (size_t i = 0; i < k; i++)
            gsl_matrix_set(Q, i, i, 1);
        for (size_t s = 0; s < T; s++) {
            const size_t t = dir ? T - 1 - s : s;
            if (!b->mask[t * b->B + seq])
                continue; /* identity: nothing to learn about the dynamics */
            gsl_matrix_view J = gsl_matrix_view_array(jac + s * n * n, n, n);
            gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &J.matrix, Q, 0.0, Z);
            rc = RECUR_EINVAL;
            if (gsl_linalg_QR_decomp(Z, tau) != 0 || gsl_linalg_QR_unpack(Z, tau, Qf, R) != 0)
                goto free_all;
            for (size_t i = 0; i < k; i++) {
                const double rii = gsl_matrix_get(R, i, i);
                sum[i] += log(fabs(rii));
                for (size_t r = 0; r < n; r++)
                    gsl_matrix_set(Q, r, i, gsl_matrix_get(Qf, r, i));
            }
            steps++;
        }
        if (steps == 0)
            continue;
        for (size_t i = 0; i < k; i++)
            acc[i] += sum[i] / (double)steps;
        used++;
    }
    /* the exponents of the re-orthonormalised columns come out ordered only on average;
     * report them sorted, largest first */
    for (size_t i = 0; i < k; i++)
        out[i] = used ? acc[i] / (double)used : NAN;
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
    free(acc);
    free(jac);
    if (rc == RECUR_ENOMEM)
        recur_error("diagnose: out of memory");
    return rc;
}

int recur_diag_tbptt_bias(const recur_config_t *cfg, const recur_real *params,
                          const recur_batch_t *b, size_t K, double *cosine, double *relerr)
{
    const size_t T = b->T, P = recur_param_count(cfg);
    if (K == 0)
        K = T;
    int rc = RECUR_ENOMEM;
    recur_engine_t *full = recur_engine_alloc(cfg, T, b->B);
    recur_engine_t *win = recur_engine_alloc(cfg, K < T ? K : T, b->B);
    recur_real *g = calloc(P, sizeof *g), *gw = calloc(P, sizeof *gw);
    double *gk = calloc(P, sizeof *gk);
    if (!full || !win || !g || !gw || !gk)
        goto free_all;
    double loss;
    size_t total;
    if ((rc = recur_engine_forward(full, params, b, 0, T, false, NULL, &loss, &total)) ||
        (rc = recur_engine_backward(full, params, g, NULL)))
        goto free_all;
    for (size_t t0 = 0; t0 < T; t0 += K) {
        const size_t t1 = t0 + K < T ? t0 + K : T;
        size_t nt;
        if ((rc = recur_engine_forward(win, params, b, t0, t1, false, NULL, &loss, &nt)))
            goto free_all;
        if (nt == 0)
            continue;
        memset(gw, 0, P * sizeof *gw);
        if ((rc = recur_engine_backward(win, params, gw, NULL)))
            goto free_all;
        const double wgt = total ? (double)nt / (double)total : 0;
        for (size_t i = 0; i < P; i++)
            gk[i] += wgt * gw[i];
    }
    double dot = 0, n1 = 0, n2 = 0, de = 0;
    for (size_t i = 0; i < P; i++) {
        dot += g[i] * gk[i];
        n1 += (double)g[i] * g[i];
        n2 += gk[i] * gk[i];
        de += (gk[i] - g[i]) * (gk[i] - g[i]);
    }
    *cosine = n1 > 0 && n2 > 0 ? dot / sqrt(n1 * n2) : NAN;
    *relerr = n1 > 0 ? sqrt(de / n1) : NAN;
    rc = 0;
free_all:
    free(gk);
    free(gw);
    free(g);
    recur_engine_free(win);
    recur_engine_free(full);
    return rc;
}

/* Statistics of n values v (sorted here in place) into st[RECUR_GSTAT_N]; NaN when n = 0. */
static void norm_stats(double *v, size_t n, double *st)
{
    if (n == 0) {
        for (int k = 0; k < RECUR_GSTAT_N; k++)
            st[k] = NAN;
        return;
    }
    gsl_sort(v, 1, n);
    st[RECUR_GSTAT_MEAN] = gsl_stats_mean(v, 1, n);
    st[RECUR_GSTAT_MEDIAN] = gsl_stats_median_from_sorted_data(v, 1, n);
    st[RECUR_GSTAT_P90] = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.9);
    st[RECUR_GSTAT_MAX] = v[n - 1];
}

/* Stats of rows [lo, hi) of the log's columns into *g. */
static void grad_rows(const double *before, const double *after, const unsigned char *bad,
                      size_t lo, size_t hi, double *tmp, recur_grad_stats_t *g)
{
    size_t m = 0;
    g->skipped = g->clipped = 0;
    for (size_t i = lo; i < hi; i++) {
        g->skipped += bad[i];
        g->clipped += !bad[i] && after[i] < before[i];
        if (!bad[i])
            tmp[m++] = before[i];
    }
    g->updates = m;
    norm_stats(tmp, m, g->before);
    m = 0;
    for (size_t i = lo; i < hi; i++)
        if (!bad[i])
            tmp[m++] = after[i];
    norm_stats(tmp, m, g->after);
}

int recur_diag_grad_log(FILE *fp, const char *name, recur_grad_stats_t **out, size_t *n)
{
    static const char header[] = "update\tepoch\tloss\tgrad_norm\tgrad_norm_clipped\tskipped";
    int rc = RECUR_EINVAL;
    size_t cap = 0, rows = 0, line_no = 1, n_ep = 0;
    double *before = NULL, *after = NULL, *tmp = NULL;
    size_t *epoch = NULL;
    unsigned char *bad = NULL;
    recur_grad_stats_t *st = NULL;
    char line[512];
    *out = NULL;
    *n = 0;
    if (!fgets(line, sizeof line, fp) || strncmp(line, header, sizeof header - 1) != 0 ||
        (line[sizeof header - 1] != '\n' && line[sizeof header - 1] != '\0')) {
        recur_error("%s: not a gradient log of `recur train --grad-log` (header)", name);
        goto free_all;
    }
    while (fgets(line, sizeof line, fp)) {
        line_no++;
        unsigned long long u;
        size_t ep;
        double loss, g, ga;
        int sk, used = 0;
        if (sscanf(line, "%llu\t%zu\t%lf\t%lf\t%lf\t%d%n", &u, &ep, &loss, &g, &ga, &sk, &used) !=
                6 ||
            (line[used] != '\n' && line[used] != '\0') || (sk != 0 && sk != 1) || ep == 0 ||
            (rows && ep < epoch[rows - 1]) || (!sk && !(isfinite(g) && isfinite(ga)))) {
            recur_error("%s: line %zu: expected update, epoch (ascending, from 1), loss, finite "
                        "norms and skipped 0/1",
                        name, line_no);
            goto free_all;
        }
        if (rows == cap) {
            cap = cap ? 2 * cap : 1024;
            double *nb = realloc(before, cap * sizeof *nb);
            if (nb)
                before = nb;
            double *na = realloc(after, cap * sizeof *na);
            if (na)
                after = na;
            size_t *ne = realloc(epoch, cap * sizeof *ne);
            if (ne)
                epoch = ne;
            unsigned char *nk = realloc(bad, cap);
            if (nk)
                bad = nk;
            if (!nb || !na || !ne || !nk) {
                rc = RECUR_ENOMEM;
                goto free_all;
            }
        }
        n_ep += rows == 0 || ep != epoch[rows - 1];
        before[rows] = g;
        after[rows] = ga;
        epoch[rows] = ep;
        bad[rows] = (unsigned char)sk;
        rows++;
    }
    if (ferror(fp)) {
        recur_error("%s: read error", name);
        rc = RECUR_EIO;
        goto free_all;
    }
    if (rows == 0) {
        recur_error("%s: no updates in the gradient log", name);
        goto free_all;
    }
    tmp = malloc(rows * sizeof *tmp);
    st = calloc(n_ep + 1, sizeof *st);
    if (!tmp || !st) {
        rc = RECUR_ENOMEM;
        goto free_all;
    }
    size_t k = 0, lo = 0;
    for (size_t i = 1; i <= rows; i++)
        if (i == rows || epoch[i] != epoch[lo]) {
            st[k].epoch = epoch[lo];
            grad_rows(before, after, bad, lo, i, tmp, &st[k++]);
            lo = i;
        }
    st[k].epoch = 0;
    grad_rows(before, after, bad, 0, rows, tmp, &st[k]);
    *out = st;
    *n = n_ep + 1;
    st = NULL;
    rc = 0;
free_all:
    free(st);
    free(tmp);
    free(bad);
    free(epoch);
    free(after);
    free(before);
    return rc;
}

/* Row b's steps [0, Tn) of a (T, B, n) array into dst (Tn, 1, n), zeros past T. */
static void gather_rows(recur_real *dst, const recur_real *src, size_t T, size_t B, size_t b,
                        size_t Tn, size_t n)
{
    for (size_t t = 0; t < Tn; t++)
        for (size_t k = 0; k < n; k++)
            dst[t * n + k] = t < T ? src[(t * B + b) * n + k] : 0;
}

/* ||g - ref|| / ||ref|| over n values (||g - ref|| when ref is 0). */
static double rel_diff(const recur_real *g, const recur_real *ref, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = (double)g[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

int recur_diag_padding_leak(const recur_config_t *cfg, const recur_real *params,
                            const recur_batch_t *b, double lambda, const size_t *P, size_t nP,
                            double *masked, double *unmasked)
{
    const size_t T = b->T, B = b->B, I = cfg->input_size, O = cfg->num_outputs;
    const size_t NP = recur_param_count(cfg);
    const bool step = cfg->head == RECUR_HEAD_STEP, cls = cfg->task == RECUR_TASK_CLASSIFY;
    size_t Pmax = 0;
    for (size_t k = 0; k < nP; k++)
        Pmax = P[k] > Pmax ? P[k] : Pmax;
    const size_t Tp = T + Pmax;
    int rc = RECUR_ENOMEM;
    recur_engine_t *ep = recur_engine_alloc(cfg, Tp, B), *e1 = recur_engine_alloc(cfg, T, 1);
    recur_real *gp = calloc(NP, sizeof *gp), *g1 = calloc(NP, sizeof *g1);
    recur_real *xp = calloc(Tp * B * I, sizeof *xp), *tp = NULL, *x1 = NULL, *t1 = NULL;
    unsigned char *mp = calloc(Tp * B, 1), *tmp_ = NULL, *m1 = NULL, *tm1 = NULL;
    int32_t *lp = NULL, *l1 = NULL;
    if (!ep || !e1 || !gp || !g1 || !xp || !mp)
        goto free_all;
    /* the batch padded with Pmax masked steps after T (per-step targets absent there); being
     * time-major, its first T + P steps are the batch padded with P */
    memcpy(xp, b->x, T * B * I * sizeof *xp);
    memcpy(mp, b->mask, T * B);
    recur_batch_t bp = *b;
    bp.x = xp;
    bp.mask = mp;
    if (step && cls) {
        if (!(lp = malloc(Tp * B * sizeof *lp)))
            goto free_all;
        for (size_t i = 0; i < Tp * B; i++)
            lp[i] = i < T * B ? b->labels[i] : -1;
        bp.labels = lp;
    } else if (step) {
        tp = calloc(Tp * B * O, sizeof *tp);
        tmp_ = calloc(Tp * B * O, 1);
        if (!tp || !tmp_)
            goto free_all;
        memcpy(tp, b->targets, T * B * O * sizeof *tp);
        for (size_t i = 0; i < T * B * O; i++)
            tmp_[i] = b->target_mask ? b->target_mask[i] : 1;
        bp.targets = tp;
        bp.target_mask = tmp_;
    }
    double loss;
    size_t terms;
    recur_engine_set_act_reg(e1, lambda, false);
    if ((rc = recur_engine_forward(ep, params, b, 0, T, false, NULL, &loss, &terms)))
        goto free_all;
    /* the exact gradient, once: each sequence alone, up to its last valid step, normalised by
     * the batch's loss terms */
    rc = RECUR_ENOMEM;
    x1 = malloc(T * I * sizeof *x1);
    m1 = malloc(T);
    t1 = malloc(T * (O + 1) * sizeof *t1);
    tm1 = malloc(T * O);
    l1 = malloc(T * sizeof *l1);
    if (!x1 || !m1 || !t1 || !tm1 || !l1)
        goto free_all;
    for (size_t r = 0; r < B; r++) {
        size_t Tn = 0;
        for (size_t t = 0; t < T; t++)
            if (b->mask[t * B + r])
                Tn = t + 1;
        if (Tn == 0)
            continue;
        recur_batch_t b1 = {.T = Tn, .B = 1, .x = x1, .mask = m1};
        gather_rows(x1, b->x, T, B, r, Tn, I);
        for (size_t t = 0; t < Tn; t++)
            m1[t] = b->mask[t * B + r];
        if (cls) {
            for (size_t t = 0; t < (step ? Tn : 1); t++)
                l1[t] = b->labels[step ? t * B + r : r];
            b1.labels = l1;
        } else {
            const size_t rows = step ? Tn : 1;
            for (size_t t = 0; t < rows; t++)
                for (size_t k = 0; k < O; k++) {
                    const size_t src = step ? (t * B + r) * O + k : r * O + k;
                    t1[t * O + k] = b->targets[src];
                    tm1[t * O + k] = b->target_mask ? b->target_mask[src] : 1;
                }
            b1.targets = t1;
            b1.target_mask = tm1;
        }
        size_t nt;
        if ((rc = recur_engine_forward(e1, params, &b1, 0, Tn, false, NULL, &loss, &nt)))
            goto free_all;
        if (nt && (rc = recur_engine_backward_norm(e1, params, g1, NULL, (double)terms)))
            goto free_all;
    }
    /* the padded batches, with the regulariser masked and over every step */
    for (size_t k = 0; k < nP; k++)
        for (int all = 0; all < 2; all++) {
            bp.T = T + P[k];
            memset(gp, 0, NP * sizeof *gp);
            recur_engine_set_act_reg(ep, lambda, all);
            if ((rc = recur_engine_forward(ep, params, &bp, 0, bp.T, false, NULL, &loss, NULL)) ||
                (rc = recur_engine_backward_norm(ep, params, gp, NULL, 0)))
                goto free_all;
            (all ? unmasked : masked)[k] = rel_diff(gp, g1, NP);
        }
    rc = 0;
free_all:
    free(l1);
    free(tm1);
    free(t1);
    free(m1);
    free(x1);
    free(lp);
    free(tmp_);
    free(tp);
    free(mp);
    free(xp);
    free(g1);
    free(gp);
    recur_engine_free(e1);
    recur_engine_free(ep);
    return rc;
}
