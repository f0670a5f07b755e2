/* infer.c - batched inference (include/recur/infer.h): the rows of a dataset in batches through a
 * forward-only engine, one run type for every caller (row order, batch size under the memory cap,
 * engine and batch buffers); probabilities with strand averaging, raw sequence and step outputs,
 * and the model's own loss on top of it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/infer.h>

/* ---- A run: rows in batches ------------------------------------------------------------ */

typedef struct {
    size_t len, at; /* row length; position in the caller's idx order */
    size_t row;
} by_len_t;

static int cmp_len(const void *a, const void *b)
{
    const by_len_t *x = a, *y = b;
    if (x->len != y->len)
        return (x->len > y->len) - (x->len < y->len);
    return (x->at > y->at) - (x->at < y->at);
}

/* How a run orders and sizes its batches. */
typedef struct {
    bool per_row;  /* outputs per row: rows by length, B under RECUR_INFER_MAX_BYTES; otherwise
                      rows in the caller's order and the engine sized for ds->T */
    size_t window; /* engine window (steps) when > 0; otherwise the longest row */
} run_opts_t;

typedef struct {
    const recur_dataset_t *ds;
    size_t n, B, done;         /* rows, rows per batch, rows already batched */
    by_len_t *order;           /* (n) rows in run order with their place in the caller's */
    size_t *ids;               /* (B) rows of the current batch */
    recur_engine_t *e;         /* forward only, (T_engine, B) */
    recur_dataset_batch_t *bb; /* (T_rows, B) */
    recur_batch_t b;           /* the current batch: rows order[done - nb .. done) */
    size_t nb;                 /* its rows */
    const by_len_t *first;     /* order + done - nb */
} run_t;

static void run_close(run_t *r)
{
    recur_dataset_batch_free(r->bb);
    recur_engine_free(r->e);
    free(r->ids);
    free(r->order);
}

/* Rows per batch that keep one batch of T steps under RECUR_INFER_MAX_BYTES: (G + 9) H per layer
 * and direction is an upper bound of what an engine keeps per step and row (README, Memory),
 * plus the input and the top output. At least 1. */
static size_t rows_that_fit(const recur_config_t *cfg, size_t T)
{
    const size_t G = recur_config_gates(cfg), D = recur_config_directions(cfg);
    const size_t per = sizeof(recur_real) * (cfg->num_layers * D * (G + 9) * cfg->hidden_size +
                                             cfg->input_size + 2 * D * cfg->hidden_size);
    const size_t fit = RECUR_INFER_MAX_BYTES / (per * T);
    return fit ? fit : 1;
}

/* Sets up a run over rows idx[0..n-1] of ds (idx NULL: 0..n-1), at most B per batch. what names
 * the caller in messages. 0 or a negative code (logged); on failure r holds nothing. */
static int run_open(run_t *r, const recur_config_t *cfg, const recur_dataset_t *ds,
                    const size_t *idx, size_t n, size_t B, const run_opts_t *opt, const char *what)
{
    *r = (run_t){.ds = ds, .n = n};
    int rc = RECUR_ENOMEM;
    if (!(r->order = malloc((n ? n : 1) * sizeof *r->order)))
        goto nomem;
    size_t T_rows = 1;
    for (size_t i = 0; i < n; i++) {
        const size_t row = idx ? idx[i] : i;
        if (row >= ds->N) {
            recur_error("%s: row %zu of %zu", what, row, ds->N);
            rc = RECUR_EINVAL;
            goto fail;
        }
        r->order[i] = (by_len_t){recur_dataset_length(ds, row), i, row};
        T_rows = r->order[i].len > T_rows ? r->order[i].len : T_rows;
    }
    if (!opt->per_row)
        T_rows = ds->T;
    const size_t T_engine = opt->window && opt->window < T_rows ? opt->window : T_rows;
    if (opt->per_row) {
        qsort(r->order, n, sizeof *r->order, cmp_len);
        const size_t fit = rows_that_fit(cfg, T_engine);
        B = B < fit ? B : fit;
    }
    r->B = B < n ? B : (n ? n : 1);
    if (!(r->ids = malloc(r->B * sizeof *r->ids)))
        goto nomem;
    if (!(r->e = recur_engine_alloc_inference(cfg, T_engine, r->B)) ||
        !(r->bb = recur_dataset_batch_alloc(ds, T_rows, r->B)))
        goto fail; /* logged */
    return 0;
nomem:
    recur_error("%s: out of memory", what);
fail:
    run_close(r);
    *r = (run_t){0};
    return rc;
}

/* Gathers the next batch into r->b. 1 when there is one, 0 after the last, or a negative code. */
static int run_next(run_t *r)
{
    if (r->done >= r->n)
        return 0;
    r->nb = r->n - r->done < r->B ? r->n - r->done : r->B;
    r->first = r->order + r->done;
    for (size_t j = 0; j < r->nb; j++)
        r->ids[j] = r->first[j].row;
    r->done += r->nb;
    const int rc = recur_dataset_batch(r->ds, r->ids, r->nb, r->bb, &r->b);
    return rc ? rc : 1;
}

/* Forward over steps [t0, t1) of the current batch, no loss. */
static int run_forward(run_t *r, const recur_real *params, size_t t0, size_t t1)
{
    return recur_engine_forward(r->e, params, &r->b, t0, t1, false, NULL, NULL, NULL);
}

/* ---- Probabilities ---------------------------------------------------------------------- */

/* Probabilities from the logits z (O) into out (O), accumulated with weight w. */
static void probs(const recur_real *z, size_t O, bool softmax, double w, double *out)
{
    if (!softmax) {
        for (size_t k = 0; k < O; k++) {
            const double v = z[k];
            const double s = v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
            out[k] += w * s;
        }
        return;
    }
    double zmax = z[0], sum = 0;
    for (size_t k = 1; k < O; k++)
        zmax = z[k] > zmax ? z[k] : zmax;
    for (size_t k = 0; k < O; k++)
        sum += exp((double)z[k] - zmax);
    for (size_t k = 0; k < O; k++)
        out[k] += w * exp((double)z[k] - zmax) / sum;
}

int recur_infer_probs(const recur_config_t *cfg, const recur_real *params,
                      const recur_dataset_t *ds, const size_t *idx, size_t n, size_t B,
                      bool revcomp_average, double *p)
{
    if (!idx)
        n = ds->N;
    if (cfg->head != RECUR_HEAD_SEQ || cfg->task == RECUR_TASK_REGRESS ||
        ds->F != cfg->input_size || B == 0 || (revcomp_average && ds->F != RECUR_DNA_CHANNELS)) {
        recur_error("predict: needs a classifier with a sequence head and %zu input features "
                    "(the data have %zu)%s",
                    cfg->input_size, ds->F,
                    revcomp_average && ds->F != RECUR_DNA_CHANNELS
                        ? "; strand averaging needs 4 one-hot channels"
                        : "");
        return RECUR_EINVAL;
    }
    const size_t O = cfg->num_outputs;
    const run_opts_t opt = {.per_row = true};
    run_t r;
    int rc = run_open(&r, cfg, ds, idx, n, B, &opt, "predict");
    if (rc)
        return rc;
    unsigned char *flip = malloc(r.B); /* (B) all ones */
    if (!flip) {
        recur_error("predict: out of memory");
        rc = RECUR_ENOMEM;
        goto out;
    }
    memset(flip, 1, r.B);
    memset(p, 0, n * O * sizeof *p);
    const bool softmax = cfg->task == RECUR_TASK_CLASSIFY;
    const double w = revcomp_average ? 0.5 : 1.0;
    while ((rc = run_next(&r)) > 0)
        for (int pass = 0; pass < (revcomp_average ? 2 : 1); pass++) {
            if (pass == 1)
                recur_dna_revcomp_batch(r.bb->x, r.bb->mask, r.b.T, r.nb, flip);
            if ((rc = run_forward(&r, params, 0, r.b.T)) != 0)
                goto out;
            size_t rows;
            const recur_real *z = recur_engine_outputs(r.e, &rows); /* (nb, O) */
            for (size_t j = 0; j < r.nb; j++)
                probs(z + j * O, O, softmax, w, p + r.first[j].at * O);
        }
out:
    free(flip);
    run_close(&r);
    return rc;
}

int recur_infer_records(const recur_config_t *cfg, const recur_real *params,
                        const recur_dna_set_t *s, size_t B, bool revcomp_average, double *p)
{
    const size_t O = cfg->num_outputs, N = s->ds->N;
    if (s->n_records == N) /* one row per record */
        return recur_infer_probs(cfg, params, s->ds, NULL, N, B, revcomp_average, p);
    double *rows = malloc(N * O * sizeof *rows); /* (N, O) */
    if (!rows) {
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    int rc = recur_infer_probs(cfg, params, s->ds, NULL, N, B, revcomp_average, rows);
    if (rc == 0)
        recur_dna_record_mean(s, rows, O, p);
    free(rows);
    return rc;
}

/* ---- Raw outputs ------------------------------------------------------------------------ */

/* 0 when cfg has head `head` and ds its input size, and B >= 1; else RECUR_EINVAL (logged). */
static int check_outputs(const recur_config_t *cfg, const recur_dataset_t *ds, size_t B,
                         recur_head_t head)
{
    if (cfg->head != head)
        recur_error("infer: needs a model with a %s head (it has a %s head)", recur_head_name(head),
                    recur_head_name(cfg->head));
    else if (ds->F != cfg->input_size)
        recur_error("infer: the model takes %zu input features, the data have %zu", cfg->input_size,
                    ds->F);
    else if (B == 0)
        recur_error("infer: batches of 0 rows");
    else
        return 0;
    return RECUR_EINVAL;
}

int recur_infer_seq_outputs(const recur_config_t *cfg, const recur_real *params,
                            const recur_dataset_t *ds, const size_t *idx, size_t n, size_t B,
                            recur_real *z)
{
    if (!idx)
        n = ds->N;
    int rc = check_outputs(cfg, ds, B, RECUR_HEAD_SEQ);
    if (rc)
        return rc;
    const size_t O = cfg->num_outputs;
    const run_opts_t opt = {.per_row = true};
    run_t r;
    if ((rc = run_open(&r, cfg, ds, idx, n, B, &opt, "infer")) != 0)
        return rc;
    while ((rc = run_next(&r)) > 0) {
        if ((rc = run_forward(&r, params, 0, r.b.T)) != 0)
            break;
        size_t rows;
        const recur_real *y = recur_engine_outputs(r.e, &rows); /* (nb, O) */
        for (size_t j = 0; j < r.nb; j++)
            memcpy(z + r.first[j].at * O, y + j * O, O * sizeof *y);
    }
    run_close(&r);
    return rc;
}

int recur_infer_step_outputs(const recur_config_t *cfg, const recur_real *params,
                             const recur_dataset_t *ds, const size_t *idx, size_t n, size_t B,
                             size_t K, recur_real *z)
{
    if (!idx)
        n = ds->N;
    int rc = check_outputs(cfg, ds, B, RECUR_HEAD_STEP);
    if (rc)
        return rc;
    if (K == 0) {
        recur_error("infer: windows of 0 steps");
        return RECUR_EINVAL;
    }
    const size_t O = cfg->num_outputs, T = ds->T;
    const run_opts_t opt = {.per_row = true, .window = K};
    run_t r;
    if ((rc = run_open(&r, cfg, ds, idx, n, B, &opt, "infer")) != 0)
        return rc;
    while ((rc = run_next(&r)) > 0) {
        const size_t Tb = r.b.T;
        for (size_t t0 = 0; t0 < Tb; t0 += K) {
            const size_t t1 = Tb - t0 < K ? Tb : t0 + K;
            if ((rc = run_forward(&r, params, t0, t1)) != 0)
                goto out;
            size_t rows;
            const recur_real *y = recur_engine_outputs(r.e, &rows); /* (t1 - t0, nb, O) */
            for (size_t t = t0; t < t1; t++)
                for (size_t j = 0; j < r.nb; j++)
                    memcpy(z + (r.first[j].at * T + t) * O, y + ((t - t0) * r.nb + j) * O,
                           O * sizeof *y);
        }
        for (size_t j = 0; j < r.nb; j++) /* past the batch's longest row */
            memset(z + (r.first[j].at * T + Tb) * O, 0, (T - Tb) * O * sizeof *z);
    }
out:
    run_close(&r);
    return rc;
}

/* ---- The model's own loss --------------------------------------------------------------- */

/* Labelled terms of the current batch (z its logits, rows of them) and how many of them have
 * their label as the largest logit, added to *right and *judged. */
static void count_right(const recur_batch_t *b, const recur_real *z, size_t rows, size_t O,
                        bool step, size_t *right, size_t *judged)
{
    for (size_t k = 0; k < rows; k++) {
        const int32_t y = b->labels[k];
        if (y < 0 || (step && !b->mask[k]))
            continue;
        size_t im = 0;
        for (size_t j = 1; j < O; j++)
            im = z[k * O + j] > z[k * O + im] ? j : im;
        *right += im == (size_t)y;
        (*judged)++;
    }
}

int recur_infer_loss(const recur_config_t *cfg, const recur_real *params, const recur_dataset_t *ds,
                     const size_t *idx, size_t n, size_t B, double *loss, size_t *terms,
                     double *accuracy)
{
    if (!idx)
        n = ds->N;
    const size_t O = cfg->num_outputs;
    const bool cls = cfg->task == RECUR_TASK_CLASSIFY, step = cfg->head == RECUR_HEAD_STEP;
    if (ds->F != cfg->input_size || ds->task != cfg->task || ds->head != cfg->head || ds->O != O ||
        B == 0 || n == 0 || ds->T == 0) {
        recur_error("dataset loss: the data do not fit the model");
        return RECUR_EINVAL;
    }
    const run_opts_t opt = {.per_row = false};
    run_t r;
    int rc = run_open(&r, cfg, ds, idx, n, B, &opt, "dataset loss");
    if (rc)
        return rc;
    double sum = 0;
    size_t nterms = 0, right = 0, judged = 0;
    while ((rc = run_next(&r)) > 0) {
        double l;
        size_t nt;
        if ((rc = recur_engine_forward(r.e, params, &r.b, 0, r.b.T, false, NULL, &l, &nt)) != 0)
            break;
        sum += l * (double)nt;
        nterms += nt;
        if (cls) {
            size_t rows;
            const recur_real *z = recur_engine_outputs(r.e, &rows); /* (rows, O) logits */
            count_right(&r.b, z, rows, O, step, &right, &judged);
        }
    }
    run_close(&r);
    if (rc)
        return rc;
    *loss = nterms ? sum / (double)nterms : NAN;
    *terms = nterms;
    *accuracy = cls && judged ? (double)right / (double)judged : NAN;
    return 0;
}
