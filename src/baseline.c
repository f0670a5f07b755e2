/* baseline.c - the baselines a DNA classifier is shown beside (include/recur/baseline.h): the
 * majority class and L2-penalised logistic regression on k-mer frequencies or on the positional
 * one-hot encoding, minimised by GSL's vector BFGS (Fletcher's line search) in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>

#include <recur/baseline.h>

#define MAX_K 6
#define DEFAULT_ROWS 20000
#define DEFAULT_ITER 200
#define DEFAULT_TOL 1e-4

static const char *const names[RECUR_BASELINE_KINDS] = {"majority", "kmer", "onehot"};

/* Penalties tried, largest first (each fit starts from the previous one's solution). */
static const double penalties[] = {1e-1, 1e-2, 1e-3, 1e-4};
enum { N_PENALTIES = sizeof penalties / sizeof *penalties };

const char *recur_baseline_name(recur_baseline_kind_t kind)
{
    return kind < RECUR_BASELINE_KINDS ? names[kind] : "?";
}

int recur_baseline_parse(const char *name, recur_baseline_kind_t *kind)
{
    for (int k = 0; k < RECUR_BASELINE_KINDS; k++)
        if (strcmp(name, names[k]) == 0) {
            *kind = (recur_baseline_kind_t)k;
            return 0;
        }
    return RECUR_EINVAL;
}

/* ---- Features ----------------------------------------------------------------------------- */

/* Sparse rows: row r's features are col/val[start[r] .. start[r + 1] - 1]. */
typedef struct {
    size_t n, F;
    size_t *start; /* (n + 1) */
    uint32_t *col; /* (nnz) */
    double *val;   /* (nnz) */
} feats_t;

static void feats_free(feats_t *f)
{
    free(f->start);
    free(f->col);
    free(f->val);
    memset(f, 0, sizeof *f);
}

/* The base at step t of row r: 0..3 for a one-hot A, C, G, T; -1 for anything else (N,
 * padding). */
static int base_at(const recur_dataset_t *ds, size_t r, size_t t)
{
    if (!ds->mask[r * ds->T + t])
        return -1;
    const float *x = ds->x + (r * ds->T + t) * 4;
    int b = -1;
    for (int c = 0; c < 4; c++) {
        if (x[c] == 1.0f && b < 0)
            b = c;
        else if (x[c] != 0.0f)
            return -1;
    }
    return b;
}

/* The number of valid steps of row r. */
static size_t row_len(const recur_dataset_t *ds, size_t r)
{
    size_t n = 0;
    for (size_t t = 0; t < ds->T; t++)
        n += ds->mask[r * ds->T + t] != 0;
    return n;
}

static size_t row_of(const size_t *idx, size_t i)
{
    return idx ? idx[i] : i;
}

/* Grows f's entry arrays to hold at least need entries. */
static int feats_reserve(feats_t *f, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    uint32_t *col = realloc(f->col, c * sizeof *col);
    if (col)
        f->col = col;
    double *val = col ? realloc(f->val, c * sizeof *val) : NULL;
    if (!val)
        return RECUR_ENOMEM;
    f->val = val;
    *cap = c;
    return 0;
}

/* k-mer frequencies of rows idx[0..n-1]: each row's counts of the k-mers of A/C/G/T bases (a
 * k-mer with an N or a gap is not counted) over the number counted. */
static int kmer_feats(const recur_dataset_t *ds, const size_t *idx, size_t n, size_t k, feats_t *f)
{
    const size_t F = (size_t)1 << (2 * k);
    double *count = calloc(F, sizeof *count); /* (F) scratch of one row */
    uint32_t *seen = malloc(F * sizeof *seen);
    size_t cap = 0;
    *f = (feats_t){.n = n, .F = F, .start = malloc((n + 1) * sizeof *f->start)};
    if (!count || !seen || !f->start)
        goto nomem;
    f->start[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const size_t r = row_of(idx, i);
        size_t code = 0, run = 0, total = 0, ns = 0;
        for (size_t t = 0; t < ds->T; t++) {
            const int b = base_at(ds, r, t);
            if (b < 0) {
                run = 0;
                continue;
            }
            code = ((code << 2) | (size_t)b) & (F - 1);
            if (++run < k)
                continue;
            if (count[code] == 0)
                seen[ns++] = (uint32_t)code;
            count[code] += 1;
            total++;
        }
        if (feats_reserve(f, &cap, f->start[i] + ns) != 0)
            goto nomem;
        size_t e = f->start[i];
        for (size_t j = 0; j < ns; j++, e++) {
            f->col[e] = seen[j];
            f->val[e] = count[seen[j]] / (double)total;
            count[seen[j]] = 0;
        }
        f->start[i + 1] = e;
    }
    free(count);
    free(seen);
    return 0;
nomem:
    recur_error("baseline: out of memory");
    free(count);
    free(seen);
    feats_free(f);
    return RECUR_ENOMEM;
}

/* Positional one-hot features of rows idx[0..n-1], each of exactly T valid steps: x itself. */
static int onehot_feats(const recur_dataset_t *ds, const size_t *idx, size_t n, size_t T,
                        feats_t *f)
{
    *f = (feats_t){.n = n,
                   .F = 4 * T,
                   .start = malloc((n + 1) * sizeof *f->start),
                   .col = malloc((n ? n : 1) * 4 * T * sizeof *f->col),
                   .val = malloc((n ? n : 1) * 4 * T * sizeof *f->val)};
    if (!f->start || !f->col || !f->val) {
        recur_error("baseline: out of memory");
        feats_free(f);
        return RECUR_ENOMEM;
    }
    size_t e = 0;
    f->start[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const size_t r = row_of(idx, i);
        for (size_t t = 0, s = 0; t < ds->T && s < T; t++) {
            if (!ds->mask[r * ds->T + t])
                continue;
            for (size_t c = 0; c < 4; c++, e++) {
                f->col[e] = (uint32_t)(4 * s + c);
                f->val[e] = ds->x[(r * ds->T + t) * 4 + c];
            }
            s++;
        }
        f->start[i + 1] = e;
    }
    return 0;
}

/* ---- Labels --------------------------------------------------------------------------------- */

/* Row r's target for output j: 1 / 0, or -1 when absent (unlabelled row, missing label). */
static int target(const recur_dataset_t *ds, size_t r, size_t j)
{
    if (ds->task == RECUR_TASK_CLASSIFY)
        return ds->labels[r] < 0 ? -1 : ds->labels[r] == (int32_t)j;
    if (ds->target_mask && !ds->target_mask[r * ds->O + j])
        return -1;
    return ds->targets[r * ds->O + j] >= 0.5f;
}

/* ---- The penalised loss and its gradient -------------------------------------------------- */

typedef struct {
    const recur_dataset_t *ds;
    const size_t *rows; /* (n) dataset rows of the feature rows */
    const feats_t *f;
    const double *scale; /* (F) feature scaling: the model sees f * scale */
    size_t K;
    double l2;
    double *z; /* (K) scratch */
} objective_t;

/* Logits of feature row i into z (K). While fitting, theta is feature-major, (W^T (F, K),
 * b (K)), so that a row's few features touch contiguous weights; stored baselines are (W (K, F),
 * b (K)) as the file keeps them (stored = true). */
static void logits_of(const double *theta, bool stored, const feats_t *f, const double *scale,
                      size_t i, size_t K, double *z)
{
    const double *b = theta + K * f->F;
    for (size_t c = 0; c < K; c++)
        z[c] = b[c];
    for (size_t e = f->start[i]; e < f->start[i + 1]; e++) {
        const size_t j = f->col[e];
        const double v = f->val[e] * (scale ? scale[j] : 1.0);
        if (stored) {
            for (size_t c = 0; c < K; c++)
                z[c] += theta[c * f->F + j] * v;
        } else {
            const double *wj = theta + j * K;
            for (size_t c = 0; c < K; c++)
                z[c] += wj[c] * v;
        }
    }
}

static void logits(const double *theta, const feats_t *f, const double *scale, size_t i, size_t K,
                   double *z)
{
    logits_of(theta, false, f, scale, i, K, z);
}

/* Probabilities from logits, in place: softmax (classify) or sigmoids. */
static void probs(double *z, size_t K, recur_task_t task)
{
    if (task == RECUR_TASK_CLASSIFY) {
        double m = z[0], s = 0;
        for (size_t c = 1; c < K; c++)
            m = z[c] > m ? z[c] : m;
        for (size_t c = 0; c < K; c++)
            s += (z[c] = exp(z[c] - m));
        for (size_t c = 0; c < K; c++)
            z[c] /= s;
    } else {
        for (size_t c = 0; c < K; c++)
            z[c] = 1 / (1 + exp(-z[c]));
    }
}

/* Mean loss over the labelled rows plus l2/2 ||W||^2; its gradient into g when not NULL. */
static double loss_grad(const double *theta, const objective_t *o, double *g)
{
    const feats_t *f = o->f;
    const size_t K = o->K, F = f->F;
    double loss = 0;
    size_t used = 0;
    if (g)
        memset(g, 0, (K * F + K) * sizeof *g);
    for (size_t i = 0; i < f->n; i++) {
        const size_t r = o->rows[i];
        double *z = o->z;
        logits(theta, f, o->scale, i, K, z);
        bool any = false;
        if (o->ds->task == RECUR_TASK_CLASSIFY) {
            const int32_t y = o->ds->labels[r];
            if (y < 0)
                continue;
            double m = z[0];
            for (size_t c = 1; c < K; c++)
                m = z[c] > m ? z[c] : m;
            double s = exp(z[0] - m); /* >= 1 in all: the largest term is exp(0) */
            for (size_t c = 1; c < K; c++)
                s += exp(z[c] - m);
            loss += m + log(s) - z[y];
            for (size_t c = 0; c < K; c++) /* d loss / d z */
                z[c] = exp(z[c] - m) / s - (c == (size_t)y);
            any = true;
        } else {
            for (size_t c = 0; c < K; c++) {
                const int t = target(o->ds, r, c);
                if (t < 0) {
                    z[c] = 0;
                    continue;
                }
                /* softplus(z) - t z, computed stably */
                const double a = z[c];
                loss += (a > 0 ? a + log1p(exp(-a)) : log1p(exp(a))) - t * a;
                z[c] = 1 / (1 + exp(-a)) - t;
                any = true;
            }
        }
        if (!any)
            continue;
        used++;
        if (!g)
            continue;
        double *gb = g + K * F;
        for (size_t c = 0; c < K; c++)
            gb[c] += z[c];
        for (size_t e = f->start[i]; e < f->start[i + 1]; e++) {
            const double v = f->val[e] * o->scale[f->col[e]];
            double *gj = g + (size_t)f->col[e] * K;
            for (size_t c = 0; c < K; c++)
                gj[c] += z[c] * v;
        }
    }
    const double inv = used ? 1.0 / (double)used : 0;
    double w2 = 0;
    for (size_t j = 0; j < K * F; j++)
        w2 += theta[j] * theta[j];
    if (g) {
        for (size_t j = 0; j < K * F + K; j++)
            g[j] *= inv;
        for (size_t j = 0; j < K * F; j++)
            g[j] += o->l2 * theta[j];
    }
    return loss * inv + 0.5 * o->l2 * w2;
}

static double gsl_f(const gsl_vector *x, void *p)
{
    return loss_grad(x->data, p, NULL);
}

static void gsl_df(const gsl_vector *x, void *p, gsl_vector *g)
{
    (void)loss_grad(x->data, p, g->data);
}

static void gsl_fdf(const gsl_vector *x, void *p, double *f, gsl_vector *g)
{
    *f = loss_grad(x->data, p, g->data);
}

/* Minimises the objective from theta (K (F + 1)), in place. */
static int minimise(objective_t *o, double *theta, size_t max_iter, double tol)
{
    const size_t P = o->K * (o->f->F + 1);
    gsl_multimin_function_fdf fn = {.f = gsl_f, .df = gsl_df, .fdf = gsl_fdf, .n = P, .params = o};
    gsl_multimin_fdfminimizer *m =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, P);
    gsl_vector_view x = gsl_vector_view_array(theta, P);
    if (!m) {
        recur_error("baseline: out of memory");
        return RECUR_ENOMEM;
    }
    gsl_multimin_fdfminimizer_set(m, &fn, &x.vector, 0.1, 0.1);
    for (size_t it = 0; it < max_iter; it++) {
        if (gsl_multimin_fdfminimizer_iterate(m) != GSL_SUCCESS)
            break; /* no further progress along the line */
        if (gsl_multimin_test_gradient(m->gradient, tol) == GSL_SUCCESS)
            break;
    }
    memcpy(theta, m->x->data, P * sizeof *theta);
    gsl_multimin_fdfminimizer_free(m);
    return 0;
}

/* ---- Fitting -------------------------------------------------------------------------------- */

/* Probabilities (n, K) of the feature rows under theta with scaling. */
static void predict_feats(const double *theta, const feats_t *f, const double *scale, size_t K,
                          recur_task_t task, double *p)
{
    for (size_t i = 0; i < f->n; i++) {
        logits(theta, f, scale, i, K, p + i * K);
        probs(p + i * K, K, task);
    }
}

double recur_baseline_accuracy(const recur_dataset_t *ds, const size_t *idx, size_t n,
                               const double *p, size_t K)
{
    size_t right = 0, judged = 0;
    for (size_t i = 0; i < n; i++) {
        const size_t r = row_of(idx, i);
        const double *q = p + i * K;
        if (ds->task == RECUR_TASK_CLASSIFY) {
            if (ds->labels[r] < 0)
                continue;
            size_t best = 0;
            for (size_t c = 1; c < K; c++)
                best = q[c] > q[best] ? c : best;
            right += best == (size_t)ds->labels[r];
            judged++;
        } else {
            for (size_t c = 0; c < K; c++) {
                const int t = target(ds, r, c);
                if (t < 0)
                    continue;
                right += (q[c] >= 0.5) == (t == 1);
                judged++;
            }
        }
    }
    return judged ? (double)right / (double)judged : NAN;
}

/* The rows a fit uses: idx's rows, evenly spaced down to at most max. */
static size_t *thin(const size_t *idx, size_t n, size_t max, size_t *out_n)
{
    const size_t m = n < max ? n : max;
    size_t *r = malloc((m ? m : 1) * sizeof *r);
    if (!r)
        return NULL;
    for (size_t i = 0; i < m; i++)
        r[i] = idx[(size_t)((double)i * (double)n / (double)m)];
    *out_n = m;
    return r;
}

/* Column scaling 1 / RMS over the rows (1 for a column never seen), so one penalty suits every
 * k-mer length and position. */
static double *column_scale(const feats_t *f)
{
    double *s = calloc(f->F ? f->F : 1, sizeof *s);
    if (!s)
        return NULL;
    for (size_t e = 0; e < f->start[f->n]; e++)
        s[f->col[e]] += f->val[e] * f->val[e];
    for (size_t j = 0; j < f->F; j++)
        s[j] = s[j] > 0 ? 1 / sqrt(s[j] / (double)f->n) : 1;
    return s;
}

/* Fits theta on train rows at every penalty, largest first, and keeps the one best on the
 * validation features (accuracy, then loss). *best_acc gets its accuracy. */
typedef struct {
    const recur_dataset_t *ds, *vds;
    const size_t *tr, *va; /* rows of ds and of vds */
    size_t n_tr, n_va;
    size_t K, max_iter;
    double l2;  /* the only penalty tried, or 0: every one */
    double tol; /* gradient norm that ends a fit */
} fitset_t;

static int fit_penalties(const fitset_t *s, const feats_t *ft, const feats_t *fv, double *theta,
                         double *best_theta, double *scale, double *best_l2, double *best_acc,
                         double *best_loss)
{
    const size_t P = s->K * (ft->F + 1);
    double *p = malloc((fv->n ? fv->n : 1) * s->K * sizeof *p);
    double *z = malloc(s->K * sizeof *z);
    int rc = RECUR_ENOMEM;
    if (!p || !z) {
        recur_error("baseline: out of memory");
        goto out;
    }
    memset(theta, 0, P * sizeof *theta);
    const size_t nq = s->l2 > 0 ? 1 : N_PENALTIES;
    for (size_t q = 0; q < nq; q++) {
        const double l2 = s->l2 > 0 ? s->l2 : penalties[q];
        objective_t o = {s->ds, s->tr, ft, scale, s->K, l2, z};
        if ((rc = minimise(&o, theta, s->max_iter, s->tol)) != 0)
            goto out;
        objective_t ov = {s->vds, s->va, fv, scale, s->K, 0, z};
        const double vloss = loss_grad(theta, &ov, NULL);
        predict_feats(theta, fv, scale, s->K, s->ds->task, p);
        const double acc = recur_baseline_accuracy(s->vds, s->va, s->n_va, p, s->K);
        if (isnan(*best_acc) || acc > *best_acc || (acc == *best_acc && vloss < *best_loss)) {
            *best_acc = acc;
            *best_loss = vloss;
            *best_l2 = l2;
            memcpy(best_theta, theta, P * sizeof *theta);
        }
    }
    rc = 0;
out:
    free(p);
    free(z);
    return rc;
}

/* The fitting layout (W^T of scaled features, b) to the stored one (W of raw features, b) and
 * back, in place through the scratch tmp (K F). */
static void to_stored(double *theta, const double *scale, size_t K, size_t F, double *tmp)
{
    for (size_t c = 0; c < K; c++)
        for (size_t j = 0; j < F; j++)
            tmp[c * F + j] = theta[j * K + c] * scale[j];
    memcpy(theta, tmp, K * F * sizeof *theta);
}

static void to_fitting(double *w, const double *scale, size_t K, size_t F, double *tmp)
{
    for (size_t c = 0; c < K; c++)
        for (size_t j = 0; j < F; j++)
            tmp[j * K + c] = w[c * F + j] / scale[j];
    memcpy(w, tmp, K * F * sizeof *w);
}

/* Features of kind (k or T) for rows idx of ds. */
static int feats(const recur_dataset_t *ds, recur_baseline_kind_t kind, size_t k, size_t T,
                 const size_t *idx, size_t n, feats_t *f)
{
    return kind == RECUR_BASELINE_KMER ? kmer_feats(ds, idx, n, k, f)
                                       : onehot_feats(ds, idx, n, T, f);
}

/* The regression baseline of kind on s, its k (kmer) chosen among 1..max_k. */
static int fit_regression(const fitset_t *s, recur_baseline_kind_t kind, size_t min_k, size_t max_k,
                          size_t T, recur_baseline_t *out)
{
    int rc = 0;
    double best_acc = NAN, best_loss = INFINITY, best_l2 = 0;
    double *best = NULL, *scale_best = NULL;
    size_t best_k = 0;
    const size_t k_lo = kind == RECUR_BASELINE_KMER ? min_k : 0;
    const size_t k_hi = kind == RECUR_BASELINE_KMER ? max_k : 0;
    for (size_t k = k_lo; rc == 0 && k <= k_hi; k++) {
        feats_t ft = {0}, fv = {0};
        double *theta = NULL, *cand = NULL, *scale = NULL;
        if ((rc = feats(s->ds, kind, k, T, s->tr, s->n_tr, &ft)) != 0 ||
            (rc = feats(s->vds, kind, k, T, s->va, s->n_va, &fv)) != 0)
            goto next;
        const size_t P = s->K * (ft.F + 1);
        theta = malloc(P * sizeof *theta);
        cand = malloc(P * sizeof *cand);
        scale = column_scale(&ft);
        rc = RECUR_ENOMEM;
        if (!theta || !cand || !scale) {
            recur_error("baseline: out of memory");
            goto next;
        }
        const double before = best_acc;
        double l2 = 0, loss = best_loss, acc = best_acc;
        if ((rc = fit_penalties(s, &ft, &fv, theta, cand, scale, &l2, &acc, &loss)) != 0)
            goto next;
        if (isnan(before) || acc > before || (acc == before && loss < best_loss)) {
            free(best);
            free(scale_best);
            best = cand;
            scale_best = scale;
            cand = scale = NULL;
            best_acc = acc;
            best_loss = loss;
            best_l2 = l2;
            best_k = k;
            out->F = ft.F;
        }
    next:
        feats_free(&ft);
        feats_free(&fv);
        free(theta);
        free(cand);
        free(scale);
    }
    double *tmp = rc == 0 ? malloc((s->K * out->F + 1) * sizeof *tmp) : NULL;
    if (rc == 0 && !tmp) {
        recur_error("baseline: out of memory");
        rc = RECUR_ENOMEM;
    }
    if (rc == 0) {
        to_stored(best, scale_best, s->K, out->F, tmp);
        out->kind = kind;
        out->k = best_k;
        out->T = kind == RECUR_BASELINE_ONEHOT ? T : 0;
        out->l2 = best_l2;
        out->val_acc = best_acc;
        out->w = best;
        best = NULL;
    }
    free(tmp);
    free(best);
    free(scale_best);
    return rc;
}

/* Refits a chosen regression on all training rows (the validation was a holdout of them). */
static int refit(const recur_dataset_t *ds, const size_t *tr, size_t n_tr, size_t max_iter,
                 double tol, recur_baseline_t *b)
{
    feats_t f = {0};
    double *scale = NULL, *z = malloc(b->K * sizeof *z);
    double *tmp = malloc((b->K * b->F + 1) * sizeof *tmp);
    int rc = feats(ds, b->kind, b->k, b->T, tr, n_tr, &f);
    if (rc == 0 && (!z || !tmp || !(scale = column_scale(&f)))) {
        recur_error("baseline: out of memory");
        rc = RECUR_ENOMEM;
    }
    if (rc == 0) {
        /* start from the holdout fit, in the scaled coordinates */
        to_fitting(b->w, scale, b->K, b->F, tmp);
        objective_t o = {ds, tr, &f, scale, b->K, b->l2, z};
        rc = minimise(&o, b->w, max_iter, tol);
        to_stored(b->w, scale, b->K, b->F, tmp);
    }
    feats_free(&f);
    free(scale);
    free(z);
    free(tmp);
    return rc;
}

/* The majority baseline: Laplace-smoothed class (or label) shares of the training rows. */
static int fit_majority(const fitset_t *s, recur_baseline_t *out)
{
    const size_t K = s->K;
    double *w = calloc(K, sizeof *w), *p = malloc((s->n_va ? s->n_va : 1) * K * sizeof *p);
    double *n = calloc(K, sizeof *n), *tot = calloc(K, sizeof *tot);
    if (!w || !p || !n || !tot) {
        recur_error("baseline: out of memory");
        free(w);
        free(p);
        free(n);
        free(tot);
        return RECUR_ENOMEM;
    }
    for (size_t i = 0; i < s->n_tr; i++)
        for (size_t c = 0; c < K; c++) {
            const int t = target(s->ds, s->tr[i], c);
            if (t >= 0) {
                n[c] += t;
                tot[c] += 1;
            }
        }
    double all = 0;
    for (size_t c = 0; c < K; c++)
        all += n[c];
    for (size_t c = 0; c < K; c++) {
        if (s->ds->task == RECUR_TASK_CLASSIFY) {
            w[c] = log((n[c] + 1) / (all + (double)K));
        } else {
            const double q = (n[c] + 1) / (tot[c] + 2);
            w[c] = log(q / (1 - q));
        }
    }
    *out = (recur_baseline_t){.kind = RECUR_BASELINE_MAJORITY, .task = s->ds->task, .K = K, .w = w};
    for (size_t i = 0; i < s->n_va; i++) {
        memcpy(p + i * K, w, K * sizeof *w);
        probs(p + i * K, K, s->ds->task);
    }
    out->val_acc = recur_baseline_accuracy(s->vds, s->va, s->n_va, p, K);
    free(p);
    free(n);
    free(tot);
    return 0;
}

/* A DNA dataset of a classifier: 4 one-hot features, sequence head, classify or multilabel. */
static int check_dna(const recur_dataset_t *ds, const char *what)
{
    if (ds->F != 4 || ds->head != RECUR_HEAD_SEQ ||
        (ds->task != RECUR_TASK_CLASSIFY && ds->task != RECUR_TASK_MULTILABEL)) {
        recur_error("baseline: the %s are not DNA records of a classifier (4 one-hot "
                    "features, one label per record)",
                    what);
        return RECUR_EINVAL;
    }
    return 0;
}

/* The one length every row of idx has, or 0. */
static size_t common_len(const recur_dataset_t *ds, const size_t *idx, size_t n, size_t T)
{
    for (size_t i = 0; i < n; i++) {
        const size_t L = row_len(ds, row_of(idx, i));
        if (T == 0)
            T = L;
        else if (L != T)
            return 0;
    }
    return T;
}

void recur_baselines_release(recur_baselines_t *bs)
{
    for (size_t i = 0; i < bs->n; i++)
        free(bs->b[i].w);
    memset(bs, 0, sizeof *bs);
}

int recur_baselines_fit(const recur_dataset_t *ds, const size_t *train, size_t n_train,
                        const recur_dataset_t *vds, const size_t *val, size_t n_val,
                        const recur_baseline_opts_t *opts, recur_baselines_t *out)
{
    const recur_baseline_opts_t none = {0};
    const recur_baseline_opts_t *o = opts ? opts : &none;
    const size_t max_rows = o->max_rows ? o->max_rows : DEFAULT_ROWS;
    const size_t max_k = o->max_k ? (o->max_k < MAX_K ? o->max_k : MAX_K) : MAX_K;
    const size_t max_iter = o->max_iter ? o->max_iter : DEFAULT_ITER;
    const double tol = o->tol > 0 ? o->tol : DEFAULT_TOL;
    memset(out, 0, sizeof *out);
    if (check_dna(ds, "training data") != 0 || (n_val && check_dna(vds, "validation data") != 0))
        return RECUR_EINVAL;
    if (n_val && (vds->task != ds->task || vds->O != ds->O)) {
        recur_error("baseline: the validation data are not of the training data's task");
        return RECUR_EINVAL;
    }
    if (n_train == 0) {
        recur_error("baseline: no training rows");
        return RECUR_EINVAL;
    }
    size_t n_tr = 0, n_va = 0;
    size_t *tr = thin(train, n_train, max_rows, &n_tr), *va = NULL;
    bool holdout = n_val == 0;
    int rc = RECUR_ENOMEM;
    if (!tr)
        goto nomem;
    if (holdout) { /* every fifth training row scores the candidates */
        va = malloc((n_tr / 5 + 1) * sizeof *va);
        if (!va)
            goto nomem;
        size_t k = 0;
        for (size_t i = 0; i < n_tr; i++) {
            if (i % 5 == 4)
                va[n_va++] = tr[i];
            else
                tr[k++] = tr[i];
        }
        n_tr = k;
        vds = ds;
    } else if (!(va = thin(val, n_val, max_rows, &n_va))) {
        goto nomem;
    }
    const fitset_t s = {ds, vds, tr, va, n_tr, n_va, ds->O, max_iter, o->l2, tol};
    const size_t min_k = o->k ? (o->k < max_k ? o->k : max_k) : 1;
    if ((rc = fit_majority(&s, &out->b[out->n])) != 0)
        goto fail;
    out->n++;
    if ((rc = fit_regression(&s, RECUR_BASELINE_KMER, min_k, o->k ? min_k : max_k, 0,
                             &out->b[out->n])) != 0)
        goto fail;
    out->b[out->n++].task = ds->task;
    const size_t T = common_len(ds, train, n_train, 0);
    if (T && (!n_val || common_len(vds, val, n_val, T) == T)) {
        if ((rc = fit_regression(&s, RECUR_BASELINE_ONEHOT, 0, 0, T, &out->b[out->n])) != 0)
            goto fail;
        out->b[out->n++].task = ds->task;
    }
    for (size_t i = 0; i < out->n; i++)
        out->b[i].K = ds->O;
    if (holdout) { /* the choice refit on every training row */
        free(tr);
        free(va);
        va = NULL;
        if (!(tr = thin(train, n_train, max_rows, &n_tr)))
            goto nomem;
        const double acc = out->b[0].val_acc;
        free(out->b[0].w);
        out->b[0].w = NULL;
        if ((rc = fit_majority(&(fitset_t){ds, ds, tr, NULL, n_tr, 0, ds->O, max_iter, 0, tol},
                               &out->b[0])) != 0)
            goto fail;
        out->b[0].val_acc = acc;
        for (size_t i = 1; i < out->n; i++)
            if ((rc = refit(ds, tr, n_tr, max_iter, tol, &out->b[i])) != 0)
                goto fail;
    }
    free(tr);
    free(va);
    return 0;
nomem:
    recur_error("baseline: out of memory");
    rc = RECUR_ENOMEM;
fail:
    free(tr);
    free(va);
    recur_baselines_release(out);
    return rc;
}

bool recur_baseline_applies(const recur_baseline_t *b, const recur_dataset_t *ds, const size_t *idx,
                            size_t n)
{
    if (ds->F != 4 || ds->head != RECUR_HEAD_SEQ || ds->task != b->task || ds->O != b->K)
        return false;
    return b->kind != RECUR_BASELINE_ONEHOT || !n || common_len(ds, idx, n, b->T) == b->T;
}

int recur_baseline_predict(const recur_baseline_t *b, const recur_dataset_t *ds, const size_t *idx,
                           size_t n, double *p)
{
    if (check_dna(ds, "records") != 0)
        return RECUR_EINVAL;
    if (ds->task != b->task || ds->O != b->K) {
        recur_error("baseline: the records are of another task or number of outputs");
        return RECUR_EINVAL;
    }
    const size_t K = b->K;
    if (b->kind == RECUR_BASELINE_MAJORITY) {
        for (size_t i = 0; i < n; i++) {
            memcpy(p + i * K, b->w, K * sizeof *p);
            probs(p + i * K, K, b->task);
        }
        return 0;
    }
    if (b->kind == RECUR_BASELINE_ONEHOT && n && common_len(ds, idx, n, b->T) != b->T) {
        recur_error("baseline: the one-hot baseline reads records of %zu bases only", b->T);
        return RECUR_EINVAL;
    }
    feats_t f = {0};
    const int rc = feats(ds, b->kind, b->k, b->T, idx, n, &f);
    for (size_t i = 0; rc == 0 && i < f.n; i++) {
        logits_of(b->w, true, &f, NULL, i, K, p + i * K);
        probs(p + i * K, K, b->task);
    }
    feats_free(&f);
    return rc;
}

const recur_baseline_t *recur_baselines_best(const recur_baselines_t *bs)
{
    const recur_baseline_t *best = NULL;
    for (size_t i = 0; i < bs->n; i++)
        if (!isnan(bs->b[i].val_acc) && (!best || bs->b[i].val_acc > best->val_acc))
            best = &bs->b[i];
    return best;
}
