/* dataset.c - the encoded dataset (include/recur/dataset.h): allocation and value rules, HDF5
 * loading (attributes, ranks, dimensions, element classes and total size checked before any
 * allocation, then every value), atomic saving, and the time-major batch builder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include <recur/dataset.h>

#include "h5util.h"

#define DIM_MAX ((size_t)1 << 20)         /* F and O: the engine's limit (recur_config_validate) */
#define STR_MAX_BYTES ((size_t)1 << 16)   /* one fixed-length string */
#define CHUNK_BYTES ((size_t)1 << 20)     /* aimed-at size of a compressed chunk when saving */
#define ROW_MAX_CHUNKED ((size_t)1 << 28) /* larger records are stored contiguous, uncompressed */

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
static int check_sizes(recur_h5_ctx_t *c, recur_task_t task, recur_head_t head, size_t N, size_t T,
                       size_t F, size_t O, bool tmask)
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
    if (F == 0 || F > DIM_MAX)
        return recur_h5_fail(c, RECUR_EFORMAT, "%zu features per step (expected 1..%zu)", F,
                             DIM_MAX);
    if (O == 0 || O > DIM_MAX)
        return recur_h5_fail(c, RECUR_EFORMAT, "num_outputs is %zu (expected 1..%zu)", O, DIM_MAX);
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
static int check_values(recur_h5_ctx_t *c, const recur_dataset_t *ds)
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
static int check_dataset(recur_h5_ctx_t *c, const recur_dataset_t *ds)
{
    if (!ds)
        return recur_h5_fail(c, RECUR_EINVAL, "no dataset");
    int rc =
        check_sizes(c, ds->task, ds->head, ds->N, ds->T, ds->F, ds->O, ds->target_mask != NULL);
    if (rc)
        return rc;
    if (!ds->x || !ds->mask)
        return recur_h5_fail(c, RECUR_EINVAL, "no x or no mask");
    if (ds->task == RECUR_TASK_CLASSIFY && !ds->labels)
        return recur_h5_fail(c, RECUR_EINVAL, "classify needs labels");
    if (ds->task != RECUR_TASK_CLASSIFY && !ds->targets)
        return recur_h5_fail(c, RECUR_EINVAL, "%s needs targets", recur_task_name(ds->task));
    return check_values(c, ds);
}

int recur_dataset_validate(const recur_dataset_t *ds)
{
    recur_h5_ctx_t c = {.set = false};
    int rc = check_dataset(&c, ds);
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
static int alloc_arrays(recur_dataset_t *ds, bool tmask)
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
    if (check_sizes(&c, task, head, N, T, F, O, tmask) != 0) {
        recur_error("dataset: %s", c.msg);
        return NULL;
    }
    recur_dataset_t *ds = calloc(1, sizeof *ds);
    if (!ds) {
        recur_error("dataset: out of memory");
        return NULL;
    }
    *ds = (recur_dataset_t){.N = N, .T = T, .F = F, .O = O, .task = task, .head = head};
    if (alloc_arrays(ds, tmask) != 0) {
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

/* ---- Loading: root attributes --------------------------------------------------------------- */

/* Opens root attribute name of f, which must be a scalar or hold one element of class want
 * (H5T_STRING, or H5T_INTEGER). *ftype gets its type (caller closes). */
static hid_t open_attr(recur_h5_ctx_t *c, hid_t f, const char *name, H5T_class_t want, hid_t *ftype)
{
    *ftype = -1;
    const htri_t e = H5Aexists(f, name);
    if (e < 0) {
        recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot look up attribute '%s'", name);
        return -1;
    }
    if (e == 0) {
        recur_h5_fail(c, RECUR_EFORMAT, "no '%s' attribute", name);
        return -1;
    }
    char what[96];
    snprintf(what, sizeof what, "attribute '%s'", name);
    recur_h5_shape_t sh;
    size_t n;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    if (a < 0) {
        recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read %s", what);
        return -1;
    }
    int rc = recur_h5_shape(c, a, true, what, &sh);
    if (rc == 0 && (!recur_h5_numel(&sh, &n) || n != 1))
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s must be one value, found %zu", what, n);
    if (rc == 0 && sh.cls != want)
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s must be %s, found %s", what,
                           want == H5T_STRING ? "a string" : "an integer",
                           recur_h5_class_name(sh.cls));
    if (rc == 0 && (*ftype = H5Aget_type(a)) < 0)
        rc = recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read %s", what);
    if (rc == 0)
        return a;
    H5Aclose(a);
    return -1;
}

/* String root attribute name into buf (truncated to size). */
static int attr_string(recur_h5_ctx_t *c, hid_t f, const char *name, char *buf, size_t size)
{
    hid_t t, a = open_attr(c, f, name, H5T_STRING, &t);
    if (a < 0)
        return RECUR_EFORMAT;
    char *s = NULL;
    char what[96];
    snprintf(what, sizeof what, "attribute '%s'", name);
    int rc = recur_h5_read_strings(c, a, true, t, what, 1, STR_MAX_BYTES, &s);
    if (rc == 0)
        snprintf(buf, size, "%s", s);
    free(s);
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

/* Integer root attribute name. */
static int attr_int(recur_h5_ctx_t *c, hid_t f, const char *name, int64_t *out)
{
    hid_t t, a = open_attr(c, f, name, H5T_INTEGER, &t);
    if (a < 0)
        return RECUR_EFORMAT;
    char what[96];
    snprintf(what, sizeof what, "attribute '%s'", name);
    long long v = 0;
    const int rc = recur_h5_attr_read(c, a, H5T_NATIVE_LLONG, what, &v);
    *out = (int64_t)v;
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

/* format, format_version, task and num_outputs. */
static int read_header(recur_h5_ctx_t *c, hid_t f, recur_task_t *task, size_t *O)
{
    char s[128];
    int64_t v;
    if (H5Aexists(f, "format") <= 0)
        return recur_h5_fail(c, RECUR_EFORMAT, "not a recur dataset (no 'format' attribute)");
    recur_h5_ctx_t quiet = {.set = false};
    if (attr_string(&quiet, f, "format", s, sizeof s) != 0)
        return recur_h5_fail(c, RECUR_EFORMAT, "not a recur dataset (%s)", quiet.msg);
    if (strcmp(s, RECUR_DATASET_FORMAT) != 0)
        return recur_h5_fail(c, RECUR_EFORMAT,
                             "not a recur dataset (format is '%.64s', expected '%s')", s,
                             RECUR_DATASET_FORMAT);
    if (attr_int(c, f, "format_version", &v) != 0)
        return RECUR_EFORMAT;
    if (v < 1 || v > RECUR_DATASET_FORMAT_VERSION)
        return recur_h5_fail(c, RECUR_EFORMAT,
                             "unsupported format_version %lld (this recur reads %d)", (long long)v,
                             RECUR_DATASET_FORMAT_VERSION);
    if (attr_string(c, f, "task", s, sizeof s) != 0)
        return RECUR_EFORMAT;
    if (recur_task_parse(s, task) != 0)
        return recur_h5_fail(c, RECUR_EFORMAT,
                             "task is '%.64s' (expected classify, multilabel or regress)", s);
    if (attr_int(c, f, "num_outputs", &v) != 0)
        return RECUR_EFORMAT;
    if (v < 1 || (uint64_t)v > DIM_MAX)
        return recur_h5_fail(c, RECUR_EFORMAT, "num_outputs is %lld (expected 1..%zu)",
                             (long long)v, DIM_MAX);
    *O = (size_t)v;
    return 0;
}

/* ---- Loading: datasets ----------------------------------------------------------------------- */

/* One dataset of the file, open while loading. */
typedef struct {
    const char *name; /* "/x" */
    hid_t d, t;       /* dataset, file type; -1 when closed or absent */
    H5T_class_t cls;
    int rank;
    hsize_t dims[3];
} obj_t;

static void obj_close(obj_t *o)
{
    if (o->t >= 0)
        H5Tclose(o->t);
    if (o->d >= 0)
        H5Dclose(o->d);
    o->t = o->d = -1;
}

static bool obj_present(const obj_t *o)
{
    return o->d >= 0;
}

/* "(64, 12, 4)" */
static const char *shape_str(char *buf, size_t size, int rank, const hsize_t *dims)
{
    return recur_h5_shape_str(buf, size, rank, dims, false);
}

/* Opens dataset o->name of f when it exists (a missing required one is an error) and reads
 * its type class, rank (1..3) and dimensions. */
static int obj_open(recur_h5_ctx_t *c, hid_t f, obj_t *o, bool required)
{
    const htri_t e = H5Lexists(f, o->name, H5P_DEFAULT);
    if (e < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot look up %s", o->name);
    if (e == 0)
        return required ? recur_h5_fail(c, RECUR_EFORMAT, "no dataset %s", o->name) : 0;
    if ((o->d = H5Dopen2(f, o->name, H5P_DEFAULT)) < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "%s is not a dataset", o->name);
    if ((o->t = H5Dget_type(o->d)) < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read %s", o->name);
    recur_h5_shape_t sh;
    const int rc = recur_h5_shape(c, o->d, false, o->name, &sh);
    if (rc)
        return rc;
    o->cls = sh.cls;
    if (sh.kind != H5S_SIMPLE)
        return recur_h5_fail(c, RECUR_EFORMAT,
                             "%s must be an array (found a scalar or empty dataspace)", o->name);
    o->rank = sh.rank;
    if (o->rank < 1 || o->rank > 3)
        return recur_h5_fail(c, RECUR_EFORMAT, "%s has %d dimensions (at most 3 expected)", o->name,
                             o->rank);
    for (int i = 0; i < o->rank; i++) {
        if (sh.dims[i] > SIZE_MAX)
            return recur_h5_fail(c, RECUR_EFORMAT, "%s is too large", o->name);
        o->dims[i] = sh.dims[i];
    }
    return 0;
}

/* Element class: floating point; integer (or, with enums, an enum over integers such as
 * numpy's bool as h5py writes it); string. */
static int want_class(recur_h5_ctx_t *c, const obj_t *o, H5T_class_t want, bool enums)
{
    H5T_class_t k = o->cls;
    if (k == H5T_ENUM && enums) {
        hid_t base = H5Tget_super(o->t);
        k = base >= 0 ? H5Tget_class(base) : H5T_NO_CLASS;
        if (base >= 0)
            H5Tclose(base);
    }
    if (k == want && (want != H5T_FLOAT || H5Tget_size(o->t) <= 16))
        return 0;
    return recur_h5_fail(c, RECUR_EFORMAT, "%s must hold %s, found %s", o->name,
                         want == H5T_FLOAT    ? "floating-point numbers"
                         : want == H5T_STRING ? "strings"
                         : enums              ? "integers or booleans"
                                              : "integers",
                         recur_h5_class_name(o->cls));
}

/* o's shape must be dims[0..rank-1]; `as` says where the expectation comes from. */
static int want_shape(recur_h5_ctx_t *c, const obj_t *o, int rank, const size_t *dims,
                      const char *as)
{
    bool ok = o->rank == rank;
    for (int i = 0; ok && i < rank; i++)
        ok = o->dims[i] == dims[i];
    if (ok)
        return 0;
    hsize_t hd[3];
    for (int i = 0; i < rank; i++)
        hd[i] = dims[i];
    char got[96], exp[96];
    return recur_h5_fail(c, RECUR_EFORMAT, "%s has shape %s, expected %s %s", o->name,
                         shape_str(got, sizeof got, o->rank, o->dims),
                         shape_str(exp, sizeof exp, rank, hd), as);
}

/* All of o as mtype, converted as HDF5 does (integers clipped). */
static int read_array(recur_h5_ctx_t *c, const obj_t *o, hid_t mtype, void *buf)
{
    return recur_h5_read_all(c, o->d, mtype, NULL, o->name, buf);
}

/* Strings of o (1-D, n elements) into a new list of n owned strings. */
static int read_strings(recur_h5_ctx_t *c, const obj_t *o, size_t n, char ***out)
{
    char **list = calloc(n ? n : 1, sizeof *list); /* (n) */
    if (!list)
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    int rc = recur_h5_read_strings(c, o->d, false, o->t, o->name, n, STR_MAX_BYTES, list);
    if (rc) {
        free_strings(list, n);
        return rc;
    }
    *out = list;
    return 0;
}

/* Indices into the obj_t table of a load, in opening order (closed in reverse). */
enum { OB_X, OB_MASK, OB_Y, OB_TMASK, OB_NAMES, OB_CLASSES, OB_COUNT };

/* Opens and checks every dataset against the header: classes, ranks and dimensions. Fills
 * ds's sizes and head (no allocation). */
static int inspect(recur_h5_ctx_t *c, hid_t f, obj_t *ob, recur_dataset_t *ds)
{
    int rc;
    const bool classify = ds->task == RECUR_TASK_CLASSIFY;
    if ((rc = obj_open(c, f, &ob[OB_X], true)) || (rc = want_class(c, &ob[OB_X], H5T_FLOAT, false)))
        return rc;
    if (ob[OB_X].rank != 3) {
        char got[96];
        return recur_h5_fail(c, RECUR_EFORMAT,
                             "/x has shape %s, expected (records, steps, features)",
                             shape_str(got, sizeof got, ob[OB_X].rank, ob[OB_X].dims));
    }
    ds->N = (size_t)ob[OB_X].dims[0];
    ds->T = (size_t)ob[OB_X].dims[1];
    ds->F = (size_t)ob[OB_X].dims[2];
    const size_t N = ds->N, T = ds->T, O = ds->O;
    const size_t nt[2] = {N, T};
    if ((rc = obj_open(c, f, &ob[OB_MASK], true)) ||
        (rc = want_class(c, &ob[OB_MASK], H5T_INTEGER, true)) ||
        (rc = want_shape(c, &ob[OB_MASK], 2, nt, "(records, steps of /x)")))
        return rc;

    obj_t *y = &ob[OB_Y];
    if ((rc = obj_open(c, f, y, false)))
        return rc;
    if (!obj_present(y))
        return recur_h5_fail(c, RECUR_EFORMAT, "no dataset %s (task %s)", y->name,
                             recur_task_name(ds->task));
    if ((rc = want_class(c, y, classify ? H5T_INTEGER : H5T_FLOAT, false)))
        return rc;
    const int seq_rank = classify ? 1 : 2;
    ds->head = y->rank == seq_rank + 1 ? RECUR_HEAD_STEP : RECUR_HEAD_SEQ;
    const size_t seq_dims[2] = {N, O}, step_dims[3] = {N, T, O};
    const bool step = ds->head == RECUR_HEAD_STEP;
    if (y->rank != seq_rank && y->rank != seq_rank + 1) {
        char got[96];
        return recur_h5_fail(c, RECUR_EFORMAT, "%s has shape %s, expected %s", y->name,
                             shape_str(got, sizeof got, y->rank, y->dims),
                             classify ? "(records) or (records, steps)"
                                      : "(records, num_outputs) or (records, steps, num_outputs)");
    }
    if (classify)
        rc = want_shape(c, y, step ? 2 : 1, nt, "(records[, steps] of /x)");
    else if (step)
        rc = want_shape(c, y, 3, step_dims, "(records, steps of /x, num_outputs)");
    else
        rc = want_shape(c, y, 2, seq_dims, "(records of /x, num_outputs)");
    if (rc)
        return rc;

    if (!classify) {
        obj_t *tm = &ob[OB_TMASK];
        if ((rc = obj_open(c, f, tm, false)))
            return rc;
        if (obj_present(tm) &&
            ((rc = want_class(c, tm, H5T_INTEGER, true)) ||
             (rc = want_shape(c, tm, y->rank, step ? step_dims : seq_dims, "as /targets"))))
            return rc;
    }
    if ((rc = obj_open(c, f, &ob[OB_NAMES], false)))
        return rc;
    if (obj_present(&ob[OB_NAMES]) && ((rc = want_class(c, &ob[OB_NAMES], H5T_STRING, false)) ||
                                       (rc = want_shape(c, &ob[OB_NAMES], 1, &N, "(records)"))))
        return rc;
    if ((rc = obj_open(c, f, &ob[OB_CLASSES], false)))
        return rc;
    if (obj_present(&ob[OB_CLASSES]) &&
        ((rc = want_class(c, &ob[OB_CLASSES], H5T_STRING, false)) ||
         (rc = want_shape(c, &ob[OB_CLASSES], 1, &O, "(num_outputs)"))))
        return rc;
    return check_sizes(c, ds->task, ds->head, N, T, ds->F, O, obj_present(&ob[OB_TMASK]));
}

/* Non-finite x at masked steps and non-finite absent targets become 0 (they are never used;
 * numpy users often pad with NaN). */
static void zero_unused(recur_dataset_t *ds)
{
    const size_t N = ds->N, T = ds->T, F = ds->F, O = ds->O;
    const bool step = ds->head == RECUR_HEAD_STEP;
    for (size_t i = 0; i < N * T; i++)
        for (size_t f = 0; !ds->mask[i] && f < F; f++)
            if (!isfinite(ds->x[i * F + f]))
                ds->x[i * F + f] = 0;
    if (!ds->targets)
        return;
    const size_t rows = step ? N * T : N;
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < O; k++) {
            const size_t j = r * O + k;
            const bool unused = (step && !ds->mask[r]) || (ds->target_mask && !ds->target_mask[j]);
            if (unused && !isfinite(ds->targets[j]))
                ds->targets[j] = 0;
        }
}

/* Allocates and reads the arrays and strings of the datasets inspect() checked. Masks are read
 * as signed bytes: HDF5 clips out-of-range integers, and a clipped value is never 0 or 1. */
static int read_all(recur_h5_ctx_t *c, const obj_t *ob, recur_dataset_t *ds)
{
    if (alloc_arrays(ds, obj_present(&ob[OB_TMASK])) != 0)
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    int rc = read_array(c, &ob[OB_MASK], H5T_NATIVE_SCHAR, ds->mask);
    if (rc == 0)
        rc = read_array(c, &ob[OB_X], H5T_NATIVE_FLOAT, ds->x);
    /* int32 labels: clipping keeps out-of-range labels out of range (O <= 2^20). */
    if (rc == 0 && ds->labels)
        rc = read_array(c, &ob[OB_Y], H5T_NATIVE_INT32, ds->labels);
    if (rc == 0 && ds->targets)
        rc = read_array(c, &ob[OB_Y], H5T_NATIVE_FLOAT, ds->targets);
    if (rc == 0 && ds->target_mask)
        rc = read_array(c, &ob[OB_TMASK], H5T_NATIVE_SCHAR, ds->target_mask);
    if (rc == 0 && obj_present(&ob[OB_NAMES]))
        rc = read_strings(c, &ob[OB_NAMES], ds->N, &ds->names);
    if (rc == 0 && obj_present(&ob[OB_CLASSES]))
        rc = read_strings(c, &ob[OB_CLASSES], ds->O, &ds->classes);
    if (rc)
        return rc;
    zero_unused(ds);
    return check_values(c, ds);
}

recur_dataset_t *recur_dataset_load(const char *path)
{
    if (!path || !*path) {
        recur_error("dataset: load: no path");
        return NULL;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    recur_h5_ctx_t c = {.set = false};
    recur_dataset_t *ds = calloc(1, sizeof *ds);
    obj_t ob[OB_COUNT] = {
        {.name = "/x", .d = -1, .t = -1},      {.name = "/mask", .d = -1, .t = -1},
        {.name = "/labels", .d = -1, .t = -1}, {.name = "/target_mask", .d = -1, .t = -1},
        {.name = "/names", .d = -1, .t = -1},  {.name = "/classes", .d = -1, .t = -1},
    };
    hid_t f = -1;
    int rc = RECUR_ENOMEM;
    if (!ds) {
        recur_h5_fail(&c, rc, "out of memory");
        goto done;
    }
    rc = RECUR_EIO;
    if ((f = recur_h5_open(&c, path, true)) < 0)
        goto done;
    if ((rc = read_header(&c, f, &ds->task, &ds->O)) != 0)
        goto close_file;
    if (ds->task != RECUR_TASK_CLASSIFY)
        ob[OB_Y].name = "/targets";
    rc = inspect(&c, f, ob, ds);
    if (rc == 0)
        rc = read_all(&c, ob, ds);
    for (int i = OB_COUNT - 1; i >= 0; i--)
        obj_close(&ob[i]);
close_file:
    rc = recur_h5_close(&c, f, rc);
done:
    if (rc) {
        recur_h5_report(&c, path);
        recur_dataset_free(ds);
        return NULL;
    }
    return ds;
}

/* ---- Saving ---------------------------------------------------------------------------------- */

/* Dataset creation properties: chunks of whole records (about CHUNK_BYTES), shuffled and
 * deflated when HDF5 has zlib; contiguous when one record is very large. */
static hid_t array_dcpl(int rank, const hsize_t *dims, size_t elem)
{
    size_t row = elem;
    for (int i = 1; i < rank; i++)
        row *= (size_t)dims[i];
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    if (p < 0 || row > ROW_MAX_CHUNKED)
        return p;
    hsize_t chunk[3];
    chunk[0] = CHUNK_BYTES / row > 0 ? CHUNK_BYTES / row : 1;
    if (chunk[0] > dims[0])
        chunk[0] = dims[0];
    for (int i = 1; i < rank; i++)
        chunk[i] = dims[i];
    unsigned cfg = 0;
    const bool zlib = H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 &&
                      H5Zget_filter_info(H5Z_FILTER_DEFLATE, &cfg) >= 0 &&
                      (cfg & H5Z_FILTER_CONFIG_ENCODE_ENABLED);
    H5Eclear2(H5E_DEFAULT);
    if (H5Pset_chunk(p, rank, chunk) < 0 ||
        (zlib && (H5Pset_shuffle(p) < 0 || H5Pset_deflate(p, 4) < 0))) {
        H5Pclose(p);
        return -1;
    }
    return p;
}

/* Dataset name of file type ftype and shape dims, written from buf in memory type mtype. */
static int put_array(recur_h5_ctx_t *c, hid_t f, const char *name, hid_t ftype, hid_t mtype,
                     int rank, const size_t *dims, const void *buf)
{
    hsize_t hd[3];
    for (int i = 0; i < rank; i++)
        hd[i] = dims[i];
    hid_t p = array_dcpl(rank, hd, H5Tget_size(ftype));
    if (p < 0)
        return recur_h5_fail_h5(c, RECUR_EIO, "cannot write /%s", name);
    const int rc = recur_h5_put_dataset(c, f, "", name, ftype, mtype, rank, hd, p, buf);
    H5Pclose(p);
    return rc;
}

/* 1-D dataset of n variable-length UTF-8 strings. */
static int put_strings(recur_h5_ctx_t *c, hid_t f, const char *name, char *const *s, size_t n)
{
    const hsize_t hd = n;
    hid_t t = recur_h5_str_type(RECUR_H5_STR_VLEN_UTF8, 0, false);
    if (t < 0)
        return recur_h5_fail_h5(c, RECUR_EIO, "cannot make a string type");
    const int rc = recur_h5_put_dataset(c, f, "", name, t, t, 1, &hd, H5P_DEFAULT, s);
    H5Tclose(t);
    return rc;
}

/* The whole dataset into the new file f (recur_h5_fill_fn). */
static int fill_dataset(recur_h5_ctx_t *c, hid_t f, const void *arg)
{
    const recur_dataset_t *ds = arg;
    const size_t N = ds->N, T = ds->T, F = ds->F, O = ds->O;
    const bool step = ds->head == RECUR_HEAD_STEP;
    const size_t x_dims[3] = {N, T, F}, y_dims[3] = {N, T, O}, o_dims[2] = {N, O};
    /* Variable-length UTF-8 string attributes: h5py reads them as Python str. */
    const recur_h5_str_t vs = RECUR_H5_STR_VLEN_UTF8;
    int rc = recur_h5_put_str(c, f, "", "format", RECUR_DATASET_FORMAT, vs);
    if (rc == 0)
        rc = recur_h5_put_i64(c, f, "", "format_version", RECUR_DATASET_FORMAT_VERSION);
    if (rc == 0)
        rc = recur_h5_put_str(c, f, "", "task", recur_task_name(ds->task), vs);
    if (rc == 0)
        rc = recur_h5_put_i64(c, f, "", "num_outputs", (int64_t)O);
    if (rc == 0)
        rc = put_array(c, f, "x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 3, x_dims, ds->x);
    if (rc == 0)
        rc = put_array(c, f, "mask", H5T_STD_U8LE, H5T_NATIVE_UCHAR, 2, x_dims, ds->mask);
    if (rc == 0 && ds->labels)
        rc = put_array(c, f, "labels", H5T_STD_I32LE, H5T_NATIVE_INT32, step ? 2 : 1, x_dims,
                       ds->labels);
    if (rc == 0 && ds->targets)
        rc = put_array(c, f, "targets", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, step ? 3 : 2,
                       step ? y_dims : o_dims, ds->targets);
    if (rc == 0 && ds->target_mask)
        rc = put_array(c, f, "target_mask", H5T_STD_U8LE, H5T_NATIVE_UCHAR, step ? 3 : 2,
                       step ? y_dims : o_dims, ds->target_mask);
    if (rc == 0 && ds->names)
        rc = put_strings(c, f, "names", ds->names, N);
    if (rc == 0 && ds->classes)
        rc = put_strings(c, f, "classes", ds->classes, O);
    return rc;
}

int recur_dataset_save(const recur_dataset_t *ds, const char *path)
{
    if (!path || !*path) {
        recur_error("dataset: save: no path");
        return RECUR_EINVAL;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    recur_h5_ctx_t c = {.set = false};
    if (check_dataset(&c, ds) != 0) {
        recur_h5_report(&c, path);
        return RECUR_EINVAL;
    }
    return recur_h5_save(path, 0, fill_dataset, ds); /* logs its own failure */
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
