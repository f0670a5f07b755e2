/* dataset_h5.c - the encoded dataset's HDF5 file (include/recur/dataset.h): loading with the
 * attributes, ranks, dimensions, element classes and total size checked before any allocation,
 * then every value; saving, chunked and compressed, atomically (h5util.h, recur/outfile.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "dataset_impl.h"

#define STR_MAX_BYTES ((size_t)1 << 16)   /* one fixed-length string */
#define CHUNK_BYTES ((size_t)1 << 20)     /* aimed-at size of a compressed chunk when saving */
#define ROW_MAX_CHUNKED ((size_t)1 << 28) /* larger records are stored contiguous, uncompressed */

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
    if (v < 1 || (uint64_t)v > RECUR_DATASET_DIM_MAX)
        return recur_h5_fail(c, RECUR_EFORMAT, "num_outputs is %lld (expected 1..%zu)",
                             (long long)v, RECUR_DATASET_DIM_MAX);
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

/* Strings of o (1-D, n elements) into *out, a new list of n owned strings. */
static int read_strings(recur_h5_ctx_t *c, const obj_t *o, size_t n, char ***out)
{
    char **list = calloc(n ? n : 1, sizeof *list); /* (n) */
    if (!list)
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    *out = list; /* freed with the dataset, also after a failure */
    return recur_h5_read_strings(c, o->d, false, o->t, o->name, n, STR_MAX_BYTES, list);
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
    return recur_dataset_check_sizes(c, ds->task, ds->head, N, T, ds->F, O,
                                     obj_present(&ob[OB_TMASK]));
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
    if (recur_dataset_alloc_arrays(ds, obj_present(&ob[OB_TMASK])) != 0)
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
    return recur_dataset_check_values(c, ds);
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
    if (recur_dataset_check(&c, ds) != 0) {
        recur_h5_report(&c, path);
        return RECUR_EINVAL;
    }
    return recur_h5_save(path, 0, fill_dataset, ds); /* logs its own failure */
}
