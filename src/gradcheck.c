/* gradcheck.c - the engine's analytic gradient against central finite differences of its own
 * loss, window by window for truncated BPTT with the carried state held fixed, for the
 * parameters and the input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur/gradcheck.h>

void recur_gradcheck_defaults(recur_gradcheck_opts_t *o)
{
    memset(o, 0, sizeof *o);
#if RECUR_REAL_IS_DOUBLE
    o->eps = 1e-6;
    o->rtol = 1e-6;
    o->atol = 1e-8;
#else
    o->eps = 1e-3;
    o->rtol = 5e-2;
    o->atol = 1e-3;
#endif
    o->check_input = true;
}

typedef struct {
    recur_engine_t *e;
    recur_batch_t b; /* the batch with x pointing into xw */
    size_t t0, t1;
    const recur_real *carry; /* state entering the window */
} window_t;

static int window_loss(window_t *w, const recur_real *params, double *loss)
{
    recur_engine_carry_set(w->e, w->carry);
    return recur_engine_forward(w->e, params, &w->b, w->t0, w->t1, false, NULL, loss, NULL);
}

/* Losses at *v + eps and *v - eps; *hp and *hm get the steps actually taken in this
 * precision. */
static int perturbed(window_t *w, const recur_real *params, recur_real *v, double eps, double *lp,
                     double *lm, double *hp, double *hm)
{
    const recur_real v0 = *v;
    int rc;
    *v = (recur_real)(v0 + eps);
    *hp = (double)*v - (double)v0;
    if ((rc = window_loss(w, params, lp)))
        goto restore;
    *v = (recur_real)(v0 - eps);
    *hm = (double)v0 - (double)*v;
    rc = window_loss(w, params, lm);
restore:
    *v = v0;
    return rc;
}

/* Checks one element: the central difference against the analytic value a; l0 is the loss at
 * the unperturbed point. */
static int check_element(window_t *w, const recur_real *params, recur_real *v, double l0, double a,
                         const recur_gradcheck_opts_t *o, recur_gradcheck_result_t *r,
                         const char *name, size_t idx)
{
    double lp, lm, hp, hm;
    int rc = perturbed(w, params, v, o->eps, &lp, &lm, &hp, &hm);
    if (rc)
        return rc;
    const double n = (lp - lm) / (hp + hm);
    const double err = fabs(a - n), scale = fmax(fabs(a), fabs(n));
    const double tol = o->atol + o->rtol * scale;
    r->checked++;
    if (err > r->max_abs_err) {
        r->max_abs_err = err;
        snprintf(r->worst, sizeof r->worst, "%s[%zu]", name, idx);
    }
    if (scale > o->atol && err / scale > r->max_rel_err)
        r->max_rel_err = err / scale;
    if (err <= tol)
        return 0;
    const double fwd = (lp - l0) / hp, bwd = (l0 - lm) / hm;
    if (fabs(fwd - bwd) > tol && a >= fmin(fwd, bwd) - tol && a <= fmax(fwd, bwd) + tol) {
        r->kinks++;
        return 0;
    }
    if (o->verbose && r->failed < 10)
        recur_error("gradcheck: %s[%zu]: analytic %.10g, numeric %.10g", name, idx, a, n);
    r->failed++;
    return 0;
}

/* Indices to check among n: all, or max evenly spaced ones (always the first and last). */
static size_t pick(size_t k, size_t n, size_t max)
{
    if (max == 0 || n <= max)
        return k;
    return max == 1 ? 0 : k * (n - 1) / (max - 1);
}

int recur_gradcheck(const recur_config_t *cfg, const recur_real *params_in, const recur_batch_t *b,
                    const recur_gradcheck_opts_t *o, recur_gradcheck_result_t *r)
{
    int rc = RECUR_ENOMEM;
    memset(r, 0, sizeof *r);
    if (recur_config_validate(cfg))
        return RECUR_EINVAL;
    const size_t T = b->T, B = b->B, I = cfg->input_size, P = recur_param_count(cfg);
    const size_t K = o->tbptt && o->tbptt < T ? o->tbptt : T;
    const size_t nt = recur_tensor_count(cfg);
    recur_engine_t *e = recur_engine_alloc(cfg, K, B);
    recur_real *params = malloc(P * sizeof *params), *grads = malloc(P * sizeof *grads);
    recur_real *x = malloc(T * B * I * sizeof *x), *dx = malloc(K * B * I * sizeof *dx);
    recur_tensor_t *tab = calloc(nt, sizeof *tab);
    recur_real *carry = NULL, *carry_next = NULL;
    if (!e || !params || !grads || !x || !dx || !tab)
        goto free_all;
    recur_engine_set_act_reg(e, o->act_reg, o->act_reg_all);
    const size_t nc = recur_engine_carry_size(e);
    carry = calloc(nc, sizeof *carry);
    carry_next = calloc(nc, sizeof *carry_next);
    if (!carry || !carry_next)
        goto free_all;
    memcpy(params, params_in, P * sizeof *params);
    memcpy(x, b->x, T * B * I * sizeof *x);
    recur_tensor_table(cfg, tab);
    window_t w = {e, *b, 0, 0, carry};
    w.b.x = x;
    for (size_t t0 = 0; t0 < T; t0 += K) {
        const size_t t1 = t0 + K < T ? t0 + K : T;
        double loss;
        w.t0 = t0;
        w.t1 = t1;
        /* analytic gradient of this window, from the carried state */
        memset(grads, 0, P * sizeof *grads);
        if ((rc = window_loss(&w, params, &loss)) ||
            (rc = recur_engine_backward(e, params, grads, dx)))
            goto free_all;
        recur_engine_carry_get(e, carry_next);
        grads[0] += (recur_real)o->corrupt;
        for (size_t k = 0; k < nt; k++) {
            const recur_tensor_t *t = &tab[k];
            const size_t m = o->max_checks && o->max_checks < t->numel ? o->max_checks : t->numel;
            for (size_t c = 0; c < m; c++) {
                const size_t i = pick(c, t->numel, o->max_checks);
                if ((rc = check_element(&w, params, params + t->offset + i, loss,
                                        grads[t->offset + i], o, r, t->name, i)))
                    goto free_all;
            }
        }
        if (o->check_input) {
            const size_t n = (t1 - t0) * B * I;
            const size_t m = o->max_checks && o->max_checks < n ? o->max_checks : n;
            for (size_t c = 0; c < m; c++) {
                const size_t i = pick(c, n, o->max_checks);
                if ((rc = check_element(&w, params, x + t0 * B * I + i, loss, dx[i], o, r, "x",
                                        t0 * B * I + i)))
                    goto free_all;
            }
        }
        memcpy(carry, carry_next, nc * sizeof *carry);
    }
    rc = 0;
free_all:
    free(carry_next);
    free(carry);
    free(tab);
    free(dx);
    free(x);
    free(grads);
    free(params);
    recur_engine_free(e);
    return rc;
}
