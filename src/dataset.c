/* dataset.c - the encoded dataset (include/recur/dataset.h) in memory: allocation, the value
 * rules of the format, and the time-major batch builder. Its HDF5 file is read and written by
 * dataset_h5.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_impl.h"

/* ---- Sizes and values ------------------------------------------------------------------------ */

static bool add_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* Elements of the label or target rows: N (seq) or N * T (step); false on overflow. */
static bool target_rows(recur_head_t head, size_t N, size_t T, size_t *rows)
{
    if (head == RECUR_HEAD_STEP)
        return recur_mul_ok(N, T, rows);
    *rows = N;
    return true;
}

/* Bytes of a dataset's arrays in memory; false on overflow. */
static bool array_bytes(recur_task_t task, recur_head_t head, size_t N, size_t T, size_t F,
                        size_t O, bool tmask, size_t *out)
{
    size_t nt, x, rows, lab = 0, tgt = 0, tm = 0, ro;
    if (!recur_mul_ok(N, T, &nt) || !recur_mul_ok(nt, F, &x) ||
        !recur_mul_ok(x, sizeof(float), &x) || !target_rows(head, N, T, &rows))
        return false;
    if (task == RECUR_TASK_CLASSIFY) {
        if (!recur_mul_ok(rows, sizeof(int32_t), &lab))
            return false;
    } else {
        if (!recur_mul_ok(rows, O, &ro) || !recur_mul_ok(ro, sizeof(float), &tgt))
            return false;
        tm = tmask ? ro : 0;
    }
    return add_ok(x, nt, out) && add_ok(*out, lab, out) && add_ok(*out, tgt, out) &&
           add_ok(*out, tm, out);
}

/* Dimensions, task and head in range, and the arrays within RECUR_DATASET_MAX_BYTES. */
int recur_dataset_check_sizes(recur_h5_ctx_t *c, recur_task_t task, recur_head_t head, size_t N,
                              size_t T, size_t F, size_t O, bool tmask)
{
    size_t bytes;
    if ((unsigned)task > RECUR_TASK_REGRESS)
        return recur_h5_fail(c, RECUR_EINVAL, "unknown task");
    if ((unsigned)head > RECUR_HEAD_STEP)
        return recur_h5_fail(c, RECUR_EINVAL, "unknown head");
    if (N == 0)
        return recur_h5_fail(c, RECUR_EFORMAT, "no records");
    if (T == 0)
        return recur_h5_fail(c, RECUR_EFORMAT, "no steps");
    if (F == 0 || F > RECUR_DATASET_DIM_MAX)
        return recur_h5_fail(c, RECUR_EFORMAT, "%zu features per step (expected 1..%zu)", F,
                             RECUR_DATASET_DIM_MAX);
    if (O == 0 || O > RECUR_DATASET_DIM_MAX)
        return recur_h5_fail(c, RECUR_EFORMAT, "num_outputs is %zu (expected 1..%zu)", O,
                             RECUR_DATASET_DIM_MAX);
    if (task == RECUR_TASK_CLASSIFY && O < 2)
        return recur_h5_fail(c, RECUR_EFORMAT,
                             "classification needs at least 2 classes (num_outputs %zu)", O);
    if (!array_bytes(task, head, N, T, F, O, tmask, &bytes) || bytes > RECUR_DATASET_MAX_BYTES)
        return recur_h5_fail(
            c, RECUR_EFORMAT,
            "%zu records x %zu steps x %zu features need more than the %zu GiB that "
            "recur accepts in memory",
            N, T, F, RECUR_DATASET_MAX_BYTES >> 30);
    return 0;
}

/* "record 3" or "record 3 ('chr1:100-200')". */
static void record_desc(const recur_dataset_t *ds, size_t i, char *buf, size_t size)
{
    if (ds->names && ds->names[i])
        snprintf(buf, size, "record %zu ('%.200s')", i, ds->names[i]);
    else
        snprintf(buf, size, "record %zu", i);
}

/* The value rules of the format (dataset.h), record by record. */
int recur_dataset_check_values(recur_h5_ctx_t *c, const recur_dataset_t *ds)
{
    const size_t N = ds->N, T = ds->T, F = ds->F, O = ds->O;
    const bool step = ds->head == RECUR_HEAD_STEP;
    const size_t rows = step ? T : 1; /* label or target rows per record */
    char rec[256], at[64];
    for (size_t i = 0; i < N; i++) {
        const unsigned char *m = ds->mask + i * T; /* (T) */
        size_t valid = 0;
        for (size_t t = 0; t < T; t++) {
            if (m[t] > 1) {
                record_desc(ds, i, rec, sizeof rec);
                return recur_h5_fail(c, RECUR_EFORMAT, "/mask is not 0 or 1 at %s, step %zu", rec,
                                     t);
            }
            valid += m[t];
        }
        if (valid == 0) {
            record_desc(ds, i, rec, sizeof rec);
            return recur_h5_fail(c, RECUR_EFORMAT, "%s has no valid step (its /mask is all 0)",
                                 rec);
        }
        for (size_t t = 0; t < T; t++) {
            const float *x = ds->x + (i * T + t) * F; /* (F) */
            for (size_t f = 0; m[t] && f < F; f++)
                if (!isfinite(x[f])) {
                    record_desc(ds, i, rec, sizeof rec);
                    return recur_h5_fail(
                        c, RECUR_EFORMAT,
                        "/x is not finite at %s, step %zu, feature %zu (a valid step)", rec, t, f);
                }
        }
        for (size_t r = 0; r < rows; r++) {
            const size_t row = i * rows + r;
            if (step)
                snprintf(at, sizeof at, ", step %zu", r);
            else
                at[0] = '\0';
            if (ds->task == RECUR_TASK_CLASSIFY) {
                const int32_t y = ds->labels[row];
                if (y < -1 || (int64_t)y >= (int64_t)O) {
                    record_desc(ds, i, rec, sizeof rec);
                    return recur_h5_fail(c, RECUR_EFORMAT,
                                         "/labels is %d at %s%s (expected -1 for none, or 0..%zu)",
                                         (int)y, rec, at, O - 1);
                }
                continue;
            }
            const float *y = ds->targets + row * O;                                       /* (O) */
            const unsigned char *tm = ds->target_mask ? ds->target_mask + row * O : NULL; /* (O) */
            for (size_t k = 0; k < O; k++) {
                if (tm && tm[k] > 1) {
                    record_desc(ds, i, rec, sizeof rec);
                    return recur_h5_fail(c, RECUR_EFORMAT,
                                         "/target_mask is not 0 or 1 at %s%s, output %zu", rec, at,
                                         k);
                }
                if ((step && !m[r]) || (tm && !tm[k]))
                    continue;
                if (!isfinite(y[k])) {
                    record_desc(ds, i, rec, sizeof rec);
                    return recur_h5_fail(c, RECUR_EFORMAT,
                                         "/targets is not finite at %s%s, output %zu (mark missing "
                                         "targets 0 in /target_mask)",
                                         rec, at, k);
                }
                if (ds->task == RECUR_TASK_MULTILABEL && (y[k] < 0 || y[k] > 1)) {
                    record_desc(ds, i, rec, sizeof rec);
                    return recur_h5_fail(
                        c, RECUR_EFORMAT,
                        "/targets is %g at %s%s, output %zu (multilabel targets are in "
                        "[0, 1])",
                        (double)y[k], rec, at, k);
                }
            }
        }
    }
    for (size_t i = 0; ds->names && i < N; i++)
        if (!ds->names[i])
            return recur_h5_fail(c, RECUR_EINVAL, "/names: record %zu has no name", i);
    for (size_t k = 0; ds->classes && k < O; k++)
        if (!ds->classes[k])
            return recur_h5_fail(c, RECUR_EINVAL, "/classes: output %zu has no name", k);
    return 0;
}

/* Shape and arrays of an in-memory dataset, then its values. */
int recur_dataset_check(recur_h5_ctx_t *c, const recur_dataset_t *ds)
{
    if (!ds)
        return recur_h5_fail(c, RECUR_EINVAL, "no dataset");
    int rc = recur_dataset_check_sizes(c, ds->task, ds->head, ds->N, ds->T, ds->F, ds->O,
                                       ds->target_mask != NULL);
    if (rc)
        return rc;
    if (!ds->x || !ds->mask)
        return recur_h5_fail(c, RECUR_EINVAL, "no x or no mask");
    if (ds->task == RECUR_TASK_CLASSIFY && !ds->labels)
        return recur_h5_fail(c, RECUR_EINVAL, "classify needs labels");
    if (ds->task != RECUR_TASK_CLASSIFY && !ds->targets)
        return recur_h5_fail(c, RECUR_EINVAL, "%s needs targets", recur_task_name(ds->task));
    return recur_dataset_check_values(c, ds);
}

int recur_dataset_validate(const recur_dataset_t *ds)
{
    recur_h5_ctx_t c = {.set = false};
    int rc = recur_dataset_check(&c, ds);
    if (rc)
        recur_error("dataset: %s", c.msg);
    return rc ? RECUR_EINVAL : 0;
}

/* ---- Allocation ------------------------------------------------------------------------------ */

static void free_strings(char **s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        free(s[i]);
    free(s);
}

void recur_dataset_free(recur_dataset_t *ds)
{
    if (!ds)
        return;
    free_strings(ds->classes, ds->O);
    free_strings(ds->names, ds->N);
    free(ds->target_mask);
    free(ds->targets);
    free(ds->labels);
    free(ds->mask);
    free(ds->x);
    free(ds);
}

/* Allocates ds's arrays for its sizes (already checked); labels -1, everything else 0. */
int recur_dataset_alloc_arrays(recur_dataset_t *ds, bool tmask)
{
    size_t rows;
    (void)target_rows(ds->head, ds->N, ds->T, &rows); /* checked by check_sizes */
    ds->x = calloc(ds->N * ds->T * ds->F, sizeof *ds->x);
    ds->mask = calloc(ds->N * ds->T, sizeof *ds->mask);
    if (!ds->x || !ds->mask)
        return RECUR_ENOMEM;
    if (ds->task == RECUR_TASK_CLASSIFY) {
        if (!(ds->labels = malloc(rows * sizeof *ds->labels)))
            return RECUR_ENOMEM;
        for (size_t r = 0; r < rows; r++)
            ds->labels[r] = -1;
        return 0;
    }
    if (!(ds->targets = calloc(rows * ds->O, sizeof *ds->targets)))
        return RECUR_ENOMEM;
    if (tmask && !(ds->target_mask = calloc(rows * ds->O, sizeof *ds->target_mask)))
        return RECUR_ENOMEM;
    return 0;
}

recur_dataset_t *recur_dataset_alloc(recur_task_t task, recur_head_t head, size_t N, size_t T,
                                     size_t F, size_t O, bool with_target_mask)
{
    recur_h5_ctx_t c = {.set = false};
    const bool tmask = with_target_mask && task != RECUR_TASK_CLASSIFY;
    if (recur_dataset_check_sizes(&c, task, head, N, T, F, O, tmask) != 0) {
        recur_error("dataset: %s", c.msg);
        return NULL;
    }
    recur_dataset_t *ds = calloc(1, sizeof *ds);
    if (!ds) {
        recur_error("dataset: out of memory");
        return NULL;
    }
    *ds = (recur_dataset_t){.N = N, .T = T, .F = F, .O = O, .task = task, .head = head};
    if (recur_dataset_alloc_arrays(ds, tmask) != 0) {
        recur_error("dataset: out of memory");
        recur_dataset_free(ds);
        return NULL;
    }
    return ds;
}

size_t recur_dataset_length(const recur_dataset_t *ds, size_t i)
{
    const unsigned char *m = ds->mask + i * ds->T; /* (T) */
    for (size_t t = ds->T; t > 0; t--)
        if (m[t - 1])
            return t;
    return 0;
}

/* ---- Batches --------------------------------------------------------------------------------- */

void recur_dataset_batch_free(recur_dataset_batch_t *bb)
{
    if (!bb)
        return;
    free(bb->target_mask);
    free(bb->targets);
    free(bb->labels);
    free(bb->mask);
    free(bb->x);
    free(bb);
}

recur_dataset_batch_t *recur_dataset_batch_alloc(const recur_dataset_t *ds, size_t T_max,
                                                 size_t B_max)
{
    if (!ds || B_max == 0) {
        recur_error("dataset: batch: no dataset or no batch size");
        return NULL;
    }
    if (T_max == 0)
        T_max = ds->T;
    const bool step = ds->head == RECUR_HEAD_STEP;
    size_t tb, tbf, rows, ro;
    const bool ok = recur_mul_ok(T_max, B_max, &tb) && recur_mul_ok(tb, ds->F, &tbf) &&
                    recur_mul_ok(tbf, sizeof(recur_real), &tbf);
    rows = step ? tb : B_max; /* label or target rows */
    if (!ok || !recur_mul_ok(rows, ds->O, &ro) || !recur_mul_ok(ro, sizeof(recur_real), &ro)) {
        recur_error("dataset: batch of %zu steps x %zu records is too large", T_max, B_max);
        return NULL;
    }
    recur_dataset_batch_t *bb = calloc(1, sizeof *bb);
    if (!bb)
        goto fail;
    *bb = (recur_dataset_batch_t){
        .T_max = T_max, .B_max = B_max, .F = ds->F, .O = ds->O, .task = ds->task, .head = ds->head};
    bb->x = malloc(tbf);
    bb->mask = malloc(tb);
    if (!bb->x || !bb->mask)
        goto fail;
    if (ds->task == RECUR_TASK_CLASSIFY) {
        if (!(bb->labels = malloc(rows * sizeof *bb->labels)))
            goto fail;
    } else {
        if (!(bb->targets = malloc(ro)))
            goto fail;
        if (ds->target_mask && !(bb->target_mask = malloc(rows * ds->O)))
            goto fail;
    }
    return bb;
fail:
    recur_error("dataset: batch: out of memory");
    recur_dataset_batch_free(bb);
    return NULL;
}

int recur_dataset_batch(const recur_dataset_t *ds, const size_t *idx, size_t B,
                        recur_dataset_batch_t *bb, recur_batch_t *out)
{
    if (!ds || !idx || !bb || !out || B == 0 || B > bb->B_max) {
        recur_error("dataset: batch: %zu records for buffers of %zu", B, bb ? bb->B_max : 0);
        return RECUR_EINVAL;
    }
    if (bb->F != ds->F || bb->O != ds->O || bb->task != ds->task || bb->head != ds->head ||
        (!bb->target_mask != !ds->target_mask)) {
        recur_error("dataset: batch: buffers made for another dataset");
        return RECUR_EINVAL;
    }
    size_t T = 0;
    for (size_t b = 0; b < B; b++) {
        if (idx[b] >= ds->N) {
            recur_error("dataset: batch: record %zu of %zu records", idx[b], ds->N);
            return RECUR_EINVAL;
        }
        const size_t len = recur_dataset_length(ds, idx[b]);
        T = len > T ? len : T;
    }
    if (T > bb->T_max) {
        recur_error("dataset: batch: %zu steps for buffers of %zu", T, bb->T_max);
        return RECUR_EINVAL;
    }
    const size_t F = ds->F, O = ds->O, DT = ds->T;
    const bool step = ds->head == RECUR_HEAD_STEP;
    for (size_t b = 0; b < B; b++) {
        const size_t i = idx[b];
        for (size_t t = 0; t < T; t++) {
            const float *xs = ds->x + (i * DT + t) * F; /* (F) */
            recur_real *xd = bb->x + (t * B + b) * F;   /* (F) */
            for (size_t f = 0; f < F; f++)
                xd[f] = (recur_real)xs[f];
            bb->mask[t * B + b] = ds->mask[i * DT + t];
        }
        /* Labels and targets: per record (B) / (B, O), or per step (T, B) / (T, B, O). */
        const size_t rows = step ? T : 1;
        for (size_t r = 0; r < rows; r++) {
            const size_t src = step ? i * DT + r : i, dst = step ? r * B + b : b;
            if (bb->labels) {
                bb->labels[dst] = ds->labels[src];
                continue;
            }
            for (size_t k = 0; k < O; k++)
                bb->targets[dst * O + k] = (recur_real)ds->targets[src * O + k];
            if (bb->target_mask)
                memcpy(bb->target_mask + dst * O, ds->target_mask + src * O, O);
        }
    }
    *out = (recur_batch_t){.T = T,
                           .B = B,
                           .x = bb->x,
                           .mask = bb->mask,
                           .labels = bb->labels,
                           .targets = bb->targets,
                           .target_mask = bb->target_mask};
    return 0;
}
