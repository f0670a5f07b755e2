/* dataset.c - the encoded dataset (include/recur/dataset.h): allocation and value rules, HDF5
 * loading (attributes, ranks, dimensions, element classes and total size checked before any
 * allocation, then every value), atomic saving, and the time-major batch builder. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include <recur/dataset.h>

#define DIM_MAX ((size_t)1 << 20)         /* F and O: the engine's limit (recur_config_validate) */
#define STR_MAX_BYTES ((size_t)1 << 16)   /* one fixed-length string */
#define STRS_MAX_BYTES ((size_t)1 << 28)  /* one dataset of fixed-length strings */
#define CHUNK_BYTES ((size_t)1 << 20)     /* aimed-at size of a compressed chunk when saving */
#define ROW_MAX_CHUNKED ((size_t)1 << 28) /* larger records are stored contiguous, uncompressed */

/* ---- Errors: the first problem found, logged once by the public function ------------------ */

typedef struct {
    char msg[768];
    bool set;
} ctx_t;

static int fail(ctx_t *c, int rc, const char *fmt, ...) RECUR_PRINTF(3, 4);
static int fail(ctx_t *c, int rc, const char *fmt, ...)
{
    if (!c->set) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->msg, sizeof c->msg, fmt, ap);
        va_end(ap);
        c->set = true;
    }
    return rc;
}

static herr_t h5_innermost(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc && *e->desc)
        snprintf(data, 160, "%s", e->desc);
    return 0;
}

/* Like fail(), with the innermost message of HDF5's error stack appended. */
static int fail_h5(ctx_t *c, int rc, const char *fmt, ...) RECUR_PRINTF(3, 4);
static int fail_h5(ctx_t *c, int rc, const char *fmt, ...)
{
    if (!c->set) {
        char why[160] = "";
        H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_innermost, why);
        H5Eclear2(H5E_DEFAULT);
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(c->msg, sizeof c->msg, fmt, ap);
        va_end(ap);
        if (*why && k >= 0 && (size_t)k < sizeof c->msg)
            snprintf(c->msg + k, sizeof c->msg - (size_t)k, " (HDF5: %s)", why);
        c->set = true;
    }
    return rc;
}

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
static int check_sizes(ctx_t *c, recur_task_t task, recur_head_t head, size_t N, size_t T, size_t F,
                       size_t O, bool tmask)
{
    size_t bytes;
    if ((unsigned)task > RECUR_TASK_REGRESS)
        return fail(c, RECUR_EINVAL, "unknown task");
    if ((unsigned)head > RECUR_HEAD_STEP)
        return fail(c, RECUR_EINVAL, "unknown head");
    if (N == 0)
        return fail(c, RECUR_EFORMAT, "no records");
    if (T == 0)
        return fail(c, RECUR_EFORMAT, "no steps");
    if (F == 0 || F > DIM_MAX)
        return fail(c, RECUR_EFORMAT, "%zu features per step (expected 1..%zu)", F, DIM_MAX);
    if (O == 0 || O > DIM_MAX)
        return fail(c, RECUR_EFORMAT, "num_outputs is %zu (expected 1..%zu)", O, DIM_MAX);
    if (task == RECUR_TASK_CLASSIFY && O < 2)
        return fail(c, RECUR_EFORMAT, "classification needs at least 2 classes (num_outputs %zu)",
                    O);
    if (!array_bytes(task, head, N, T, F, O, tmask, &bytes) || bytes > RECUR_DATASET_MAX_BYTES)
        return fail(c, RECUR_EFORMAT,
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
static int check_values(ctx_t *c, const recur_dataset_t *ds)
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
                return fail(c, RECUR_EFORMAT, "/mask is not 0 or 1 at %s, step %zu", rec, t);
            }
            valid += m[t];
        }
        if (valid == 0) {
            record_desc(ds, i, rec, sizeof rec);
            return fail(c, RECUR_EFORMAT, "%s has no valid step (its /mask is all 0)", rec);
        }
        for (size_t t = 0; t < T; t++) {
            const float *x = ds->x + (i * T + t) * F; /* (F) */
            for (size_t f = 0; m[t] && f < F; f++)
                if (!isfinite(x[f])) {
                    record_desc(ds, i, rec, sizeof rec);
                    return fail(c, RECUR_EFORMAT,
                                "/x is not finite at %s, step %zu, feature %zu (a valid step)", rec,
                                t, f);
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
                    return fail(c, RECUR_EFORMAT,
                                "/labels is %d at %s%s (expected -1 for none, or 0..%zu)", (int)y,
                                rec, at, O - 1);
                }
                continue;
            }
            const float *y = ds->targets + row * O;                                       /* (O) */
            const unsigned char *tm = ds->target_mask ? ds->target_mask + row * O : NULL; /* (O) */
            for (size_t k = 0; k < O; k++) {
                if (tm && tm[k] > 1) {
                    record_desc(ds, i, rec, sizeof rec);
                    return fail(c, RECUR_EFORMAT, "/target_mask is not 0 or 1 at %s%s, output %zu",
                                rec, at, k);
                }
                if ((step && !m[r]) || (tm && !tm[k]))
                    continue;
                if (!isfinite(y[k])) {
                    record_desc(ds, i, rec, sizeof rec);
                    return fail(c, RECUR_EFORMAT,
                                "/targets is not finite at %s%s, output %zu (mark missing "
                                "targets 0 in /target_mask)",
                                rec, at, k);
                }
                if (ds->task == RECUR_TASK_MULTILABEL && (y[k] < 0 || y[k] > 1)) {
                    record_desc(ds, i, rec, sizeof rec);
                    return fail(c, RECUR_EFORMAT,
                                "/targets is %g at %s%s, output %zu (multilabel targets are in "
                                "[0, 1])",
                                (double)y[k], rec, at, k);
                }
            }
        }
    }
    for (size_t i = 0; ds->names && i < N; i++)
        if (!ds->names[i])
            return fail(c, RECUR_EINVAL, "/names: record %zu has no name", i);
    for (size_t k = 0; ds->classes && k < O; k++)
        if (!ds->classes[k])
            return fail(c, RECUR_EINVAL, "/classes: output %zu has no name", k);
    return 0;
}

/* Shape and arrays of an in-memory dataset, then its values. */
static int check_dataset(ctx_t *c, const recur_dataset_t *ds)
{
    if (!ds)
        return fail(c, RECUR_EINVAL, "no dataset");
    int rc =
        check_sizes(c, ds->task, ds->head, ds->N, ds->T, ds->F, ds->O, ds->target_mask != NULL);
    if (rc)
        return rc;
    if (!ds->x || !ds->mask)
        return fail(c, RECUR_EINVAL, "no x or no mask");
    if (ds->task == RECUR_TASK_CLASSIFY && !ds->labels)
        return fail(c, RECUR_EINVAL, "classify needs labels");
    if (ds->task != RECUR_TASK_CLASSIFY && !ds->targets)
        return fail(c, RECUR_EINVAL, "%s needs targets", recur_task_name(ds->task));
    return check_values(c, ds);
}

int recur_dataset_validate(const recur_dataset_t *ds)
{
    ctx_t c = {.set = false};
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
    ctx_t c = {.set = false};
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

/* ---- HDF5 helpers shared by load and save -----------------------------------------------------
 */

/* File access: H5Fclose fails rather than lingers when an object is still open (a leak shows up
 * in the tests); file locks where the file system has them (HPC file systems often do not). */
static hid_t file_access(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return -1;
    if (H5Pset_fclose_degree(fapl, H5F_CLOSE_SEMI) < 0) {
        H5Pclose(fapl);
        return -1;
    }
#if (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7) || H5_VERSION_GE(1, 12, 1)
    if (H5Pset_file_locking(fapl, 1, 1) < 0) {
        H5Pclose(fapl);
        return -1;
    }
#endif
    return fapl;
}

/* Variable-length string memory type with the given character set. */
static hid_t vstr_type(H5T_cset_t cset)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return -1;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, cset) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static void vlen_reclaim(hid_t mt, hid_t sp, void *buf)
{
#if H5_VERSION_GE(1, 12, 0)
    H5Treclaim(mt, sp, H5P_DEFAULT, buf);
#else
    H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf);
#endif
}

static const char *class_name(H5T_class_t k)
{
    switch (k) {
    case H5T_INTEGER:
        return "integer";
    case H5T_FLOAT:
        return "floating-point";
    case H5T_STRING:
        return "string";
    case H5T_ENUM:
        return "enum";
    case H5T_COMPOUND:
        return "compound";
    case H5T_ARRAY:
        return "array";
    case H5T_VLEN:
        return "variable-length";
    default:
        return "unsupported";
    }
}

/* ---- Loading: root attributes --------------------------------------------------------------- */

/* Reads n strings of an attribute (is_attr) or dataset obj, of file type ftype (string class),
 * into list[0..n-1] (owned by the caller). */
static int read_string_list(ctx_t *c, hid_t obj, bool is_attr, hid_t ftype, const char *what,
                            size_t n, char **list)
{
    const htri_t vlen = H5Tis_variable_str(ftype);
    int rc = RECUR_EFORMAT;
    if (vlen < 0)
        return fail_h5(c, rc, "cannot read %s", what);
    if (vlen) {
        char **ptrs = calloc(n, sizeof *ptrs); /* (n), strings allocated by HDF5 */
        hid_t mt = vstr_type(H5Tget_cset(ftype));
        hid_t sp = is_attr ? H5Aget_space(obj) : H5Dget_space(obj);
        if (!ptrs)
            rc = fail(c, RECUR_ENOMEM, "out of memory");
        else if (mt < 0 || sp < 0)
            fail_h5(c, rc, "cannot read %s", what);
        else if ((is_attr ? H5Aread(obj, mt, ptrs)
                          : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs)) < 0)
            fail_h5(c, rc, "cannot read %s", what);
        else {
            rc = 0;
            for (size_t i = 0; rc == 0 && i < n; i++)
                if (!(list[i] = strdup(ptrs[i] ? ptrs[i] : "")))
                    rc = fail(c, RECUR_ENOMEM, "out of memory");
            vlen_reclaim(mt, sp, ptrs);
        }
        if (sp >= 0)
            H5Sclose(sp);
        if (mt >= 0)
            H5Tclose(mt);
        free(ptrs);
        return rc;
    }
    const size_t size = H5Tget_size(ftype);
    size_t bytes;
    if (size == 0 || size > STR_MAX_BYTES || !recur_mul_ok(n, size, &bytes) ||
        bytes > STRS_MAX_BYTES)
        return fail(c, rc, "%s: strings too long", what);
    const bool space_pad = H5Tget_strpad(ftype) == H5T_STR_SPACEPAD;
    char *buf = malloc(bytes ? bytes : 1); /* (n, size) */
    hid_t mt = buf ? H5Tcopy(ftype) : -1;
    if (!buf)
        return fail(c, RECUR_ENOMEM, "out of memory");
    if (mt < 0 || (is_attr ? H5Aread(obj, mt, buf)
                           : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf)) < 0) {
        fail_h5(c, rc, "cannot read %s", what);
    } else {
        rc = 0;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            const char *s = buf + i * size;
            size_t len = strnlen(s, size);
            while (space_pad && len > 0 && s[len - 1] == ' ')
                len--;
            if (!(list[i] = strndup(s, len)))
                rc = fail(c, RECUR_ENOMEM, "out of memory");
        }
    }
    if (mt >= 0)
        H5Tclose(mt);
    free(buf);
    return rc;
}

/* Opens root attribute name of f, which must be a scalar or hold one element of class want
 * (H5T_STRING, or H5T_INTEGER). *ftype gets its type (caller closes). */
static hid_t open_attr(ctx_t *c, hid_t f, const char *name, H5T_class_t want, hid_t *ftype)
{
    *ftype = -1;
    const htri_t e = H5Aexists(f, name);
    if (e < 0) {
        fail_h5(c, RECUR_EFORMAT, "cannot look up attribute '%s'", name);
        return -1;
    }
    if (e == 0) {
        fail(c, RECUR_EFORMAT, "no '%s' attribute", name);
        return -1;
    }
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    hid_t sp = a >= 0 ? H5Aget_space(a) : -1;
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (a < 0 || sp < 0 || t < 0 || n < 0) {
        fail_h5(c, RECUR_EFORMAT, "cannot read attribute '%s'", name);
    } else if (n != 1) {
        fail(c, RECUR_EFORMAT, "attribute '%s' must be one value, found %lld", name, (long long)n);
    } else if (H5Tget_class(t) != want) {
        fail(c, RECUR_EFORMAT, "attribute '%s' must be %s, found %s", name,
             want == H5T_STRING ? "a string" : "an integer", class_name(H5Tget_class(t)));
    } else {
        H5Sclose(sp);
        *ftype = t;
        return a;
    }
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    if (a >= 0)
        H5Aclose(a);
    return -1;
}

/* String root attribute name into buf (truncated to size). */
static int attr_string(ctx_t *c, hid_t f, const char *name, char *buf, size_t size)
{
    hid_t t, a = open_attr(c, f, name, H5T_STRING, &t);
    if (a < 0)
        return RECUR_EFORMAT;
    char *s = NULL;
    char what[64];
    snprintf(what, sizeof what, "attribute '%s'", name);
    int rc = read_string_list(c, a, true, t, what, 1, &s);
    if (rc == 0)
        snprintf(buf, size, "%s", s);
    free(s);
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

/* Integer root attribute name. */
static int attr_int(ctx_t *c, hid_t f, const char *name, int64_t *out)
{
    hid_t t, a = open_attr(c, f, name, H5T_INTEGER, &t);
    if (a < 0)
        return RECUR_EFORMAT;
    int rc = 0;
    long long v = 0;
    if (H5Aread(a, H5T_NATIVE_LLONG, &v) < 0)
        rc = fail_h5(c, RECUR_EFORMAT, "cannot read attribute '%s'", name);
    *out = (int64_t)v;
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

/* format, format_version, task and num_outputs. */
static int read_header(ctx_t *c, hid_t f, recur_task_t *task, size_t *O)
{
    char s[128];
    int64_t v;
    if (H5Aexists(f, "format") <= 0)
        return fail(c, RECUR_EFORMAT, "not a recur dataset (no 'format' attribute)");
    ctx_t quiet = {.set = false};
    if (attr_string(&quiet, f, "format", s, sizeof s) != 0)
        return fail(c, RECUR_EFORMAT, "not a recur dataset (%s)", quiet.msg);
    if (strcmp(s, RECUR_DATASET_FORMAT) != 0)
        return fail(c, RECUR_EFORMAT, "not a recur dataset (format is '%.64s', expected '%s')", s,
                    RECUR_DATASET_FORMAT);
    if (attr_int(c, f, "format_version", &v) != 0)
        return RECUR_EFORMAT;
    if (v < 1 || v > RECUR_DATASET_FORMAT_VERSION)
        return fail(c, RECUR_EFORMAT, "unsupported format_version %lld (this recur reads %d)",
                    (long long)v, RECUR_DATASET_FORMAT_VERSION);
    if (attr_string(c, f, "task", s, sizeof s) != 0)
        return RECUR_EFORMAT;
    if (recur_task_parse(s, task) != 0)
        return fail(c, RECUR_EFORMAT, "task is '%.64s' (expected classify, multilabel or regress)",
                    s);
    if (attr_int(c, f, "num_outputs", &v) != 0)
        return RECUR_EFORMAT;
    if (v < 1 || (uint64_t)v > DIM_MAX)
        return fail(c, RECUR_EFORMAT, "num_outputs is %lld (expected 1..%zu)", (long long)v,
                    DIM_MAX);
    *O = (size_t)v;
    return 0;
}

/* ---- Loading: datasets ----------------------------------------------------------------------- */

/* One dataset of the file, open while loading. */
typedef struct {
    const char *name; /* "/x" */
    hid_t d, t, s;    /* dataset, file type, dataspace; -1 when closed or absent */
    H5T_class_t cls;
    int rank;
    hsize_t dims[3];
} obj_t;

static void obj_close(obj_t *o)
{
    if (o->s >= 0)
        H5Sclose(o->s);
    if (o->t >= 0)
        H5Tclose(o->t);
    if (o->d >= 0)
        H5Dclose(o->d);
    o->s = o->t = o->d = -1;
}

static bool obj_present(const obj_t *o)
{
    return o->d >= 0;
}

/* "(64, 12, 4)" */
static const char *shape_str(char *buf, size_t size, int rank, const hsize_t *dims)
{
    size_t k = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < rank && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%llu", i ? ", " : "",
                              (unsigned long long)dims[i]);
    if (k < size)
        snprintf(buf + k, size - k, ")");
    return buf;
}

/* Opens dataset o->name of f when it exists (a missing required one is an error) and reads
 * its type class, rank (1..3) and dimensions. */
static int obj_open(ctx_t *c, hid_t f, obj_t *o, bool required)
{
    const htri_t e = H5Lexists(f, o->name, H5P_DEFAULT);
    if (e < 0)
        return fail_h5(c, RECUR_EFORMAT, "cannot look up %s", o->name);
    if (e == 0)
        return required ? fail(c, RECUR_EFORMAT, "no dataset %s", o->name) : 0;
    if ((o->d = H5Dopen2(f, o->name, H5P_DEFAULT)) < 0)
        return fail_h5(c, RECUR_EFORMAT, "%s is not a dataset", o->name);
    if ((o->t = H5Dget_type(o->d)) < 0 || (o->s = H5Dget_space(o->d)) < 0)
        return fail_h5(c, RECUR_EFORMAT, "cannot read %s", o->name);
    o->cls = H5Tget_class(o->t);
    if (H5Sget_simple_extent_type(o->s) != H5S_SIMPLE)
        return fail(c, RECUR_EFORMAT, "%s must be an array (found a scalar or empty dataspace)",
                    o->name);
    o->rank = H5Sget_simple_extent_ndims(o->s);
    if (o->rank < 1 || o->rank > 3)
        return fail(c, RECUR_EFORMAT, "%s has %d dimensions (at most 3 expected)", o->name,
                    o->rank);
    if (H5Sget_simple_extent_dims(o->s, o->dims, NULL) != o->rank)
        return fail_h5(c, RECUR_EFORMAT, "cannot read the shape of %s", o->name);
    for (int i = 0; i < o->rank; i++)
        if (o->dims[i] > SIZE_MAX)
            return fail(c, RECUR_EFORMAT, "%s is too large", o->name);
    return 0;
}

/* Element class: floating point; integer (or, with enums, an enum over integers such as
 * numpy's bool as h5py writes it); string. */
static int want_class(ctx_t *c, const obj_t *o, H5T_class_t want, bool enums)
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
    return fail(c, RECUR_EFORMAT, "%s must hold %s, found %s", o->name,
                want == H5T_FLOAT    ? "floating-point numbers"
                : want == H5T_STRING ? "strings"
                : enums              ? "integers or booleans"
                                     : "integers",
                class_name(o->cls));
}

/* o's shape must be dims[0..rank-1]; `as` says where the expectation comes from. */
static int want_shape(ctx_t *c, const obj_t *o, int rank, const size_t *dims, const char *as)
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
    return fail(c, RECUR_EFORMAT, "%s has shape %s, expected %s %s", o->name,
                shape_str(got, sizeof got, o->rank, o->dims), shape_str(exp, sizeof exp, rank, hd),
                as);
}

static int read_array(ctx_t *c, const obj_t *o, hid_t mtype, void *buf)
{
    if (H5Dread(o->d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        return fail_h5(c, RECUR_EIO, "cannot read %s", o->name);
    return 0;
}

/* Strings of o (1-D, n elements) into a new list of n owned strings. */
static int read_strings(ctx_t *c, const obj_t *o, size_t n, char ***out)
{
    char **list = calloc(n ? n : 1, sizeof *list); /* (n) */
    if (!list)
        return fail(c, RECUR_ENOMEM, "out of memory");
    int rc = read_string_list(c, o->d, false, o->t, o->name, n, list);
    if (rc) {
        free_strings(list, n);
        return rc;
    }
    *out = list;
    return 0;
}

/* Refuses what HDF5 cannot open, with the system's reason when there is one. */
static int check_openable(ctx_t *c, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return fail(c, RECUR_EIO, "cannot open: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fail(c, RECUR_EIO, "not a regular file");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return fail(c, RECUR_EIO, "cannot open: %s", strerror(errno));
    fclose(fp);
#if H5_VERSION_GE(1, 12, 0)
    const htri_t h5 = H5Fis_accessible(path, H5P_DEFAULT);
#else
    const htri_t h5 = H5Fis_hdf5(path);
#endif
    H5Eclear2(H5E_DEFAULT);
    if (h5 <= 0)
        return fail(c, RECUR_EFORMAT, "not an HDF5 file");
    return 0;
}

/* Indices into the obj_t table of a load, in opening order (closed in reverse). */
enum { OB_X, OB_MASK, OB_Y, OB_TMASK, OB_NAMES, OB_CLASSES, OB_COUNT };

/* Opens and checks every dataset against the header: classes, ranks and dimensions. Fills
 * ds's sizes and head (no allocation). */
static int inspect(ctx_t *c, hid_t f, obj_t *ob, recur_dataset_t *ds)
{
    int rc;
    const bool classify = ds->task == RECUR_TASK_CLASSIFY;
    if ((rc = obj_open(c, f, &ob[OB_X], true)) || (rc = want_class(c, &ob[OB_X], H5T_FLOAT, false)))
        return rc;
    if (ob[OB_X].rank != 3) {
        char got[96];
        return fail(c, RECUR_EFORMAT, "/x has shape %s, expected (records, steps, features)",
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
        return fail(c, RECUR_EFORMAT, "no dataset %s (task %s)", y->name,
                    recur_task_name(ds->task));
    if ((rc = want_class(c, y, classify ? H5T_INTEGER : H5T_FLOAT, false)))
        return rc;
    const int seq_rank = classify ? 1 : 2;
    ds->head = y->rank == seq_rank + 1 ? RECUR_HEAD_STEP : RECUR_HEAD_SEQ;
    const size_t seq_dims[2] = {N, O}, step_dims[3] = {N, T, O};
    const bool step = ds->head == RECUR_HEAD_STEP;
    if (y->rank != seq_rank && y->rank != seq_rank + 1) {
        char got[96];
        return fail(c, RECUR_EFORMAT, "%s has shape %s, expected %s", y->name,
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
static int read_all(ctx_t *c, const obj_t *ob, recur_dataset_t *ds)
{
    if (alloc_arrays(ds, obj_present(&ob[OB_TMASK])) != 0)
        return fail(c, RECUR_ENOMEM, "out of memory");
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
    ctx_t c = {.set = false};
    recur_dataset_t *ds = calloc(1, sizeof *ds);
    obj_t ob[OB_COUNT] = {
        {.name = "/x", .d = -1, .t = -1, .s = -1},
        {.name = "/mask", .d = -1, .t = -1, .s = -1},
        {.name = "/labels", .d = -1, .t = -1, .s = -1},
        {.name = "/target_mask", .d = -1, .t = -1, .s = -1},
        {.name = "/names", .d = -1, .t = -1, .s = -1},
        {.name = "/classes", .d = -1, .t = -1, .s = -1},
    };
    hid_t fapl = -1, f = -1;
    int rc = ds ? check_openable(&c, path) : fail(&c, RECUR_ENOMEM, "out of memory");
    if (rc)
        goto done;
    if ((fapl = file_access()) < 0) {
        rc = fail_h5(&c, RECUR_EIO, "cannot make HDF5 file properties");
        goto done;
    }
    if ((f = H5Fopen(path, H5F_ACC_RDONLY, fapl)) < 0) {
        rc = fail_h5(&c, RECUR_EIO, "cannot open as HDF5");
        goto close_fapl;
    }
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
    if (H5Fclose(f) < 0 && rc == 0)
        rc = fail_h5(&c, RECUR_EIO, "cannot close");
close_fapl:
    H5Pclose(fapl);
done:
    if (rc) {
        recur_error("%s: %s", path, c.msg);
        recur_dataset_free(ds);
        return NULL;
    }
    return ds;
}

/* ---- Saving ---------------------------------------------------------------------------------- */

static int put_attr(ctx_t *c, hid_t f, const char *name, hid_t type, const void *buf)
{
    int rc = RECUR_EIO;
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = sp >= 0 ? H5Acreate2(f, name, type, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
    if (a >= 0 && H5Awrite(a, type, buf) >= 0)
        rc = 0;
    if (a >= 0 && H5Aclose(a) < 0)
        rc = RECUR_EIO;
    if (sp >= 0)
        H5Sclose(sp);
    return rc ? fail_h5(c, rc, "cannot write attribute '%s'", name) : 0;
}

/* Variable-length UTF-8 string attribute: h5py reads it as a Python str. */
static int put_str_attr(ctx_t *c, hid_t f, const char *name, const char *value)
{
    hid_t t = vstr_type(H5T_CSET_UTF8);
    if (t < 0)
        return fail_h5(c, RECUR_EIO, "cannot make a string type");
    int rc = put_attr(c, f, name, t, &value);
    H5Tclose(t);
    return rc;
}

static int put_i64_attr(ctx_t *c, hid_t f, const char *name, int64_t v)
{
    long long x = v;
    hid_t t = H5Tcopy(H5T_STD_I64LE);
    if (t < 0)
        return fail_h5(c, RECUR_EIO, "cannot make an integer type");
    int rc = RECUR_EIO;
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = sp >= 0 ? H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
    if (a >= 0 && H5Awrite(a, H5T_NATIVE_LLONG, &x) >= 0)
        rc = 0;
    if (a >= 0 && H5Aclose(a) < 0)
        rc = RECUR_EIO;
    if (sp >= 0)
        H5Sclose(sp);
    H5Tclose(t);
    return rc ? fail_h5(c, rc, "cannot write attribute '%s'", name) : 0;
}

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
static int put_array(ctx_t *c, hid_t f, const char *name, hid_t ftype, hid_t mtype, int rank,
                     const size_t *dims, const void *buf)
{
    hsize_t hd[3];
    for (int i = 0; i < rank; i++)
        hd[i] = dims[i];
    int rc = RECUR_EIO;
    hid_t sp = H5Screate_simple(rank, hd, NULL);
    hid_t p = sp >= 0 ? array_dcpl(rank, hd, H5Tget_size(ftype)) : -1;
    hid_t d = p >= 0 ? H5Dcreate2(f, name, ftype, sp, H5P_DEFAULT, p, H5P_DEFAULT) : -1;
    if (d >= 0 && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0)
        rc = 0;
    if (d >= 0 && H5Dclose(d) < 0)
        rc = RECUR_EIO;
    if (p >= 0)
        H5Pclose(p);
    if (sp >= 0)
        H5Sclose(sp);
    return rc ? fail_h5(c, rc, "cannot write %s", name) : 0;
}

/* 1-D dataset of n variable-length UTF-8 strings. */
static int put_strings(ctx_t *c, hid_t f, const char *name, char *const *s, size_t n)
{
    hsize_t hd = n;
    int rc = RECUR_EIO;
    hid_t t = vstr_type(H5T_CSET_UTF8);
    hid_t sp = t >= 0 ? H5Screate_simple(1, &hd, NULL) : -1;
    hid_t d = sp >= 0 ? H5Dcreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    if (d >= 0 && H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, s) >= 0)
        rc = 0;
    if (d >= 0 && H5Dclose(d) < 0)
        rc = RECUR_EIO;
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    return rc ? fail_h5(c, rc, "cannot write %s", name) : 0;
}

static int write_all(ctx_t *c, hid_t f, const recur_dataset_t *ds)
{
    const size_t N = ds->N, T = ds->T, F = ds->F, O = ds->O;
    const bool step = ds->head == RECUR_HEAD_STEP;
    const size_t x_dims[3] = {N, T, F}, y_dims[3] = {N, T, O}, o_dims[2] = {N, O};
    int rc = put_str_attr(c, f, "format", RECUR_DATASET_FORMAT);
    if (rc == 0)
        rc = put_i64_attr(c, f, "format_version", RECUR_DATASET_FORMAT_VERSION);
    if (rc == 0)
        rc = put_str_attr(c, f, "task", recur_task_name(ds->task));
    if (rc == 0)
        rc = put_i64_attr(c, f, "num_outputs", (int64_t)O);
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

/* Flushes path's data to disk. */
static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    if (close(fd) < 0)
        rc = -1;
    return rc;
}

/* Makes the rename durable; best effort (some file systems refuse fsync on directories). */
static void fsync_parent(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return;
    char *slash = strrchr(dir, '/');
    const char *d = dir;
    if (!slash)
        d = ".";
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    (void)fsync_path(d, O_RDONLY | O_DIRECTORY);
    free(dir);
}

int recur_dataset_save(const recur_dataset_t *ds, const char *path)
{
    if (!path || !*path) {
        recur_error("dataset: save: no path");
        return RECUR_EINVAL;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    ctx_t c = {.set = false};
    bool tmp_exists = false;
    hid_t fapl = -1, f = -1;
    const size_t tmp_size = strlen(path) + 32;
    char *tmp = malloc(tmp_size);
    int rc;
    if (!tmp) {
        rc = fail(&c, RECUR_ENOMEM, "out of memory");
        goto done;
    }
    if (check_dataset(&c, ds) != 0) {
        rc = RECUR_EINVAL;
        goto done;
    }
    snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid());

    /* Create the temporary file ourselves first, for a message with the system's reason. */
    rc = RECUR_EIO;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        fail(&c, rc, "cannot create temporary file %s: %s", tmp, strerror(errno));
        goto done;
    }
    tmp_exists = true;
    if (close(fd) < 0) {
        fail(&c, rc, "cannot create temporary file %s: %s", tmp, strerror(errno));
        goto done;
    }
    if ((fapl = file_access()) < 0) {
        fail_h5(&c, rc, "cannot make HDF5 file properties");
        goto done;
    }
    if ((f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
        fail_h5(&c, rc, "cannot create HDF5 file %s", tmp);
        goto close_fapl;
    }
    rc = write_all(&c, f, ds);
    if (rc == 0 && H5Fflush(f, H5F_SCOPE_GLOBAL) < 0)
        rc = fail_h5(&c, RECUR_EIO, "cannot flush %s", tmp);
    if (H5Fclose(f) < 0 && rc == 0)
        rc = fail_h5(&c, RECUR_EIO, "cannot close %s", tmp);
close_fapl:
    H5Pclose(fapl);
    if (rc)
        goto done;
    if (fsync_path(tmp, O_RDONLY) < 0) {
        rc = fail(&c, RECUR_EIO, "cannot sync %s: %s", tmp, strerror(errno));
        goto done;
    }
    if (rename(tmp, path) < 0) {
        rc = fail(&c, RECUR_EIO, "cannot rename %s to it: %s", tmp, strerror(errno));
        goto done;
    }
    tmp_exists = false;
    fsync_parent(path);
done:
    if (tmp_exists)
        unlink(tmp);
    free(tmp);
    if (rc)
        recur_error("%s: %s", path, c.msg);
    return rc;
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
