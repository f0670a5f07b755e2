/* engine_head.c - the engine's heads and losses: the step head (logits per step) and the
 * sequence head (last, mean or max pooling carried across truncated-BPTT windows), cross-entropy,
 * binary cross-entropy with logits and squared error, and their backward. */
#include <math.h>
#include <string.h>

#include <recur/blas.h>

#include "engine_impl.h"

static const recur_tensor_t *head_weight(const recur_engine_t *e)
{
    return &e->tab[e->n_tensors - 2];
}

/* log(sum_k exp(z_k)), n >= 1, shifted by the largest z so that nothing overflows */
static double log_sum_exp(const recur_real *z, size_t n)
{
    size_t im = 0;
    for (size_t k = 1; k < n; k++)
        im = z[k] > z[im] ? k : im;
    const double mx = z[im];
    double s = 1; /* the largest term, exp(0) */
    for (size_t k = 0; k < n; k++)
        if (k != im)
            s += exp((double)z[k] - mx);
    return mx + log(s);
}

/* log(1 + exp(z)) without overflow */
static double softplus(double z)
{
    return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

/* Loss terms of one row of logits z (O) with its target; writes the unnormalised gradient to
 * dz and returns the summed loss. *terms gets the number of terms (0 when the row has no
 * target). row indexes labels (classify) or targets (row * O). */
static int row_loss(const recur_engine_t *e, const recur_batch_t *bt, size_t row,
                    const recur_real *z, recur_real *dz, double *loss, size_t *terms)
{
    const size_t O = e->O;
    *loss = 0;
    *terms = 0;
    memset(dz, 0, O * sizeof *dz);
    switch (e->cfg.task) {
    case RECUR_TASK_CLASSIFY: {
        const int32_t y = bt->labels[row];
        if (y < 0)
            return 0;
        if ((size_t)y >= O) {
            recur_error("engine: label %d out of range for %zu classes", (int)y, O);
            return RECUR_EINVAL;
        }
        const double lse = log_sum_exp(z, O);
        for (size_t k = 0; k < O; k++)
            dz[k] = (recur_real)exp((double)z[k] - lse);
        dz[y] -= 1;
        *loss = lse - (double)z[y];
        *terms = 1;
        return 0;
    }
    case RECUR_TASK_MULTILABEL:
    case RECUR_TASK_REGRESS:
        for (size_t k = 0; k < O; k++) {
            if (bt->target_mask && !bt->target_mask[row * O + k])
                continue;
            const double y = bt->targets[row * O + k], zk = z[k];
            if (e->cfg.task == RECUR_TASK_MULTILABEL) {
                /* BCE with logits: softplus(z) - y z */
                *loss += softplus(zk) - y * zk;
                dz[k] = (recur_real)(1.0 / (1.0 + exp(-zk)) - y);
            } else {
                *loss += (zk - y) * (zk - y);
                dz[k] = (recur_real)(2.0 * (zk - y));
            }
            (*terms)++;
        }
        return 0;
    }
    return RECUR_EINVAL;
}

/* The logits of R rows, e->logits (R, O): the bias added where on[r], 0 elsewhere. With
 * want_loss the loss terms of the rows that are on (targets at row first + r) are added to
 * *total and *terms, their unnormalised gradient written to e->dlogits (R, O; 0 elsewhere). */
static int rows_loss(recur_engine_t *e, size_t R, const unsigned char *on, size_t first,
                     const recur_real *bias, bool want_loss, double *total, size_t *terms)
{
    const size_t O = e->O;
    memset(e->dlogits, 0, R * O * sizeof *e->dlogits);
    for (size_t r = 0; r < R; r++) {
        recur_real *z = e->logits + r * O;
        if (!on[r]) {
            memset(z, 0, O * sizeof *z);
            continue;
        }
        for (size_t k = 0; k < O; k++)
            z[k] += bias[k];
        if (!want_loss)
            continue;
        double lr;
        size_t nt;
        int rc = row_loss(e, e->b, first + r, z, e->dlogits + r * O, &lr, &nt);
        if (rc)
            return rc;
        *total += lr;
        *terms += nt;
    }
    return 0;
}

int recur_engine_head_forward(recur_engine_t *e, const recur_real *params, size_t Tw, size_t B,
                              const unsigned char *mask, bool want_loss, double *loss,
                              size_t *n_terms)
{
    const size_t H = e->H, DH = e->D * H, O = e->O, top = e->L - 1;
    const recur_tensor_t *tw = head_weight(e);
    const recur_real *W = params + tw[0].offset, *bias = params + tw[1].offset; /* (O, DH), (O) */
    const recur_real *Y = e->y[top];
    double total = 0;
    size_t terms = 0;

    if (e->cfg.head == RECUR_HEAD_STEP) {
        recur_gemm(false, true, Tw * B, O, DH, 1, Y, DH, W, DH, 0, e->logits, O);
        const int rc = rows_loss(e, Tw * B, mask, e->t0 * B, bias, want_loss, &total, &terms);
        if (rc)
            return rc;
    } else {
        /* pooled feature of each sequence whose last valid step lies in this window */
        const bool last = e->cfg.pool == RECUR_POOL_LAST;
        const recur_engine_dir_t *qf = recur_engine_dir(e, top, 0),
                                 *qr = e->D == 2 ? recur_engine_dir(e, top, 1) : NULL;
        if (qr && e->t0 == 0) /* reverse state after step 0, kept for later windows */
            memcpy(e->rev_last, qr->h + recur_engine_final_slot(e, 1, Tw) * B * H,
                   B * H * sizeof *e->rev_last);
        /* running sum (mean pooling) or maximum (max pooling) over the valid steps */
        for (size_t t = 0; t < Tw && !last; t++)
            for (size_t b = 0; b < B; b++) {
                if (!mask[t * B + b])
                    continue;
                const recur_real *yr = Y + (t * B + b) * DH;
                recur_real *s = e->acc_sum + b * DH, *mx = e->acc_max + b * DH;
                size_t *am = e->argmax + b * DH;
                if (e->cfg.pool == RECUR_POOL_MEAN)
                    for (size_t j = 0; j < DH; j++)
                        s[j] += yr[j];
                else
                    for (size_t j = 0; j < DH; j++)
                        if (e->acc_n[b] == 0 || yr[j] > mx[j]) {
                            mx[j] = yr[j];
                            am[j] = t;
                        }
                e->acc_n[b]++;
            }
        memset(e->logits, 0, B * O * sizeof *e->logits);
        for (size_t b = 0; b < B; b++) {
            const size_t lt = e->last[b];
            e->term[b] = lt != SIZE_MAX && lt >= e->t0 && lt < e->t0 + Tw;
            recur_real *pf = e->pooled + b * DH;
            if (!e->term[b]) {
                memset(pf, 0, DH * sizeof *pf);
                continue;
            }
            if (last) {
                memcpy(pf, qf->h + (recur_engine_final_slot(e, 0, Tw) * B + b) * H, H * sizeof *pf);
                if (qr)
                    memcpy(pf + H, e->rev_last + b * H, H * sizeof *pf);
            } else if (e->cfg.pool == RECUR_POOL_MEAN) {
                for (size_t j = 0; j < DH; j++)
                    pf[j] = e->acc_sum[b * DH + j] / (recur_real)e->acc_n[b];
            } else {
                memcpy(pf, e->acc_max + b * DH, DH * sizeof *pf);
            }
        }
        recur_gemm(false, true, B, O, DH, 1, e->pooled, DH, W, DH, 0, e->logits, O);
        const int rc = rows_loss(e, B, e->term, 0, bias, want_loss, &total, &terms);
        if (rc)
            return rc;
    }
    /* mean over the terms of this window (the gradient is scaled in backward) */
    if (terms > 0)
        total /= (double)terms;
    *loss = total;
    *n_terms = terms;
    return 0;
}

void recur_engine_head_backward(recur_engine_t *e, const recur_real *params, recur_real *grads,
                                size_t Tw, size_t B, const unsigned char *mask, double norm)
{
    const size_t H = e->H, DH = e->D * H, O = e->O, top = e->L - 1;
    const recur_tensor_t *tw = head_weight(e);
    const recur_real *W = params + tw[0].offset;
    recur_real *dW = grads + tw[0].offset, *db = grads + tw[1].offset;
    recur_real *dY = e->dy[top];
    const size_t rows = e->cfg.head == RECUR_HEAD_STEP ? Tw * B : B;
    const recur_real *feat = e->cfg.head == RECUR_HEAD_STEP ? e->y[top] : e->pooled;
    const recur_real inv = (recur_real)(1.0 / norm);
    for (size_t i = 0; i < rows * O; i++)
        e->dlnorm[i] = e->dlogits[i] * inv;

    recur_gemm(true, false, O, DH, rows, 1, e->dlnorm, O, feat, DH, 1, dW, DH);
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < O; k++)
            db[k] += e->dlnorm[r * O + k];
    if (e->cfg.head == RECUR_HEAD_STEP) {
        recur_gemm(false, false, Tw * B, DH, O, 1, e->dlnorm, O, W, DH, 0, dY, DH);
        return;
    }
    recur_gemm(false, false, B, DH, O, 1, e->dlnorm, O, W, DH, 0, e->dpooled, DH);
    if (e->cfg.pool == RECUR_POOL_LAST)
        return; /* the outputs get no gradient: it enters at the final states */
    memset(dY, 0, Tw * B * DH * sizeof *dY);
    if (e->cfg.pool == RECUR_POOL_MEAN) {
        for (size_t t = 0; t < Tw; t++)
            for (size_t b = 0; b < B; b++) {
                if (!mask[t * B + b] || !e->term[b])
                    continue;
                const recur_real invn = (recur_real)1 / (recur_real)e->acc_n[b];
                for (size_t j = 0; j < DH; j++)
                    dY[(t * B + b) * DH + j] = e->dpooled[b * DH + j] * invn;
            }
    } else if (e->cfg.pool == RECUR_POOL_MAX) {
        for (size_t b = 0; b < B; b++) {
            if (!e->term[b])
                continue;
            for (size_t j = 0; j < DH; j++) {
                const size_t t = e->argmax[b * DH + j];
                if (t != SIZE_MAX)
                    dY[(t * B + b) * DH + j] += e->dpooled[b * DH + j];
            }
        }
    }
}
