/* model_load.c - the model's HDF5 file read back (DESIGN.md "Model file"): the format and
 * version, /config, /weights and /train each checked for presence, type, shape and range before
 * anything is allocated, then every value read and checked to be finite. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "h5util.h"
#include "model_impl.h"

#if RECUR_REAL_IS_DOUBLE
#define REAL_H5 H5T_NATIVE_DOUBLE
#define REAL_NAME "double"
#else
#define REAL_H5 H5T_NATIVE_FLOAT
#define REAL_NAME "float"
#endif

#define STR_MAX_BYTES ((size_t)1 << 20) /* one fixed-length string */

/* Limits of recur_config_validate() (params.c), repeated so that a bad file gets one message
 * naming the file and the attribute; recur_config_validate() still runs afterwards. */
static const struct {
    const char *name;
    int64_t max;
} size_attrs[] = {{"input_size", (int64_t)1 << 20},
                  {"hidden_size", 65536},
                  {"num_layers", 64},
                  {"num_outputs", (int64_t)1 << 20}};

/* Index of the first element that is not finite; n when all are. */
static size_t first_nonfinite(const recur_real *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return n;
}

/* ---- Reading -------------------------------------------------------------------------------- */

/* "attribute WHERE/NAME", for messages. */
static const char *attr_what(char *buf, size_t size, const char *where, const char *name)
{
    snprintf(buf, size, "attribute %s/%s", where, name);
    return buf;
}

/* Element class and number of elements of attribute a, which must be a scalar, null or 1-D. */
static int attr_elems(recur_h5_ctx_t *c, hid_t a, const char *what, H5T_class_t *k, size_t *n)
{
    recur_h5_shape_t sh;
    int rc = recur_h5_shape(c, a, true, what, &sh);
    if (rc)
        return rc;
    if (sh.kind == H5S_SIMPLE && sh.rank != 1)
        return recur_h5_fail(c, RECUR_EFORMAT, "%s must be a scalar or a list", what);
    if (sh.kind == H5S_SIMPLE && sh.dims[0] > RECUR_MODEL_META_MAX)
        return recur_h5_fail(c, RECUR_EFORMAT, "%s has too many elements", what);
    *n = sh.kind == H5S_SIMPLE ? (size_t)sh.dims[0] : sh.kind == H5S_SCALAR ? 1 : 0;
    *k = sh.cls;
    return 0;
}

static void free_strings(char **s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        free(s[i]);
    free(s);
}

/* Reads string attribute a (fixed or variable length, scalar or 1-D) into a NULL-terminated
 * list of *n owned strings. */
static int read_strings(recur_h5_ctx_t *c, hid_t a, const char *what, char ***out, size_t *n)
{
    H5T_class_t k;
    int rc = attr_elems(c, a, what, &k, n);
    if (rc)
        return rc;
    hid_t t = H5Aget_type(a);
    if (t < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read %s", what);
    char **list = calloc(*n + 1, sizeof *list); /* (n + 1) */
    if (!list) {
        rc = recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
        goto close_type;
    }
    if (k != H5T_STRING || H5Tis_variable_str(t) < 0)
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s must be a string, found %s", what,
                           recur_h5_class_name(k));
    else
        rc = recur_h5_read_strings(c, a, true, t, what, *n, STR_MAX_BYTES, list);
    if (rc) {
        free_strings(list, *n);
        list = NULL;
    }
    *out = list;
close_type:
    H5Tclose(t);
    return rc;
}

/* Reads numeric attribute a (integer or floating point, scalar or 1-D) into *out (max(n, 1)
 * doubles, owned by the caller). */
static int read_numbers(recur_h5_ctx_t *c, hid_t a, const char *what, double **out, size_t *n)
{
    H5T_class_t k;
    int rc = attr_elems(c, a, what, &k, n);
    if (rc)
        return rc;
    if (k != H5T_INTEGER && k != H5T_FLOAT)
        return recur_h5_fail(c, RECUR_EFORMAT, "%s must be a number, found %s", what,
                             recur_h5_class_name(k));
    double *x = malloc((*n ? *n : 1) * sizeof *x); /* (n) */
    if (!x)
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    if (*n && recur_h5_attr_read(c, a, H5T_NATIVE_DOUBLE, what, x) != 0) {
        free(x);
        return RECUR_EFORMAT;
    }
    *out = x;
    return 0;
}

/* Opens attribute name of loc, which must exist. */
static hid_t open_attr(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name)
{
    const htri_t e = H5Aexists(loc, name);
    if (e <= 0) {
        recur_h5_fail(c, RECUR_EFORMAT, "missing attribute %s/%s", where, name);
        return -1;
    }
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot open attribute %s/%s", where, name);
    return a;
}

/* One string (scalar or a list of one) from attribute name of loc, which must exist. */
static int get_str(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name, char **out)
{
    hid_t a = open_attr(c, loc, where, name);
    if (a < 0)
        return RECUR_EFORMAT;
    char what[320];
    attr_what(what, sizeof what, where, name);
    char **list = NULL;
    size_t n = 0;
    int rc = read_strings(c, a, what, &list, &n);
    if (rc == 0 && n != 1)
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s must be one string, found %zu", what, n);
    if (rc == 0) {
        *out = list[0];
        list[0] = NULL;
    }
    free_strings(list, n);
    H5Aclose(a);
    return rc;
}

/* Opens attribute name of loc, which must be an integer scalar (or a list of one). */
static hid_t open_int_attr(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                           const char *what, bool *is_signed)
{
    hid_t a = open_attr(c, loc, where, name);
    if (a < 0)
        return -1;
    size_t n;
    H5T_class_t k;
    hid_t t = -1;
    if (attr_elems(c, a, what, &k, &n) != 0)
        goto fail_attr;
    if (n != 1) {
        recur_h5_fail(c, RECUR_EFORMAT, "%s must be one integer, found %zu values", what, n);
        goto fail_attr;
    }
    if (k != H5T_INTEGER) {
        recur_h5_fail(c, RECUR_EFORMAT, "%s must be an integer, found %s", what,
                      recur_h5_class_name(k));
        goto fail_attr;
    }
    if ((t = H5Aget_type(a)) < 0) {
        recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read %s", what);
        goto fail_attr;
    }
    *is_signed = H5Tget_sign(t) != H5T_SGN_NONE;
    H5Tclose(t);
    return a;
fail_attr:
    H5Aclose(a);
    return -1;
}

/* Integer attribute name of loc into *i (int64) or *u (uint64, refused when negative). */
static int get_int(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name, int64_t *i,
                   uint64_t *u)
{
    char what[320];
    bool sgn;
    hid_t a = open_int_attr(c, loc, where, name, attr_what(what, sizeof what, where, name), &sgn);
    if (a < 0)
        return RECUR_EFORMAT;
    int64_t sv = 0;
    uint64_t uv = 0;
    int rc = sgn ? recur_h5_attr_read(c, a, H5T_NATIVE_INT64, what, &sv)
                 : recur_h5_attr_read(c, a, H5T_NATIVE_UINT64, what, &uv);
    if (rc == 0 && i && !sgn && uv > INT64_MAX)
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s is out of range", what);
    else if (rc == 0 && u && sgn && sv < 0)
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s is negative (%lld)", what, (long long)sv);
    else if (rc == 0 && i)
        *i = sgn ? sv : (int64_t)uv;
    else if (rc == 0)
        *u = sgn ? (uint64_t)sv : uv;
    H5Aclose(a);
    return rc;
}

static int get_i64(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name, int64_t *out)
{
    return get_int(c, loc, where, name, out, NULL);
}

static int get_u64(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name, uint64_t *out)
{
    return get_int(c, loc, where, name, NULL, out);
}

/* One number (integer or floating point) from attribute name of loc, which must exist. */
static int get_f64(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name, double *out)
{
    hid_t a = open_attr(c, loc, where, name);
    if (a < 0)
        return RECUR_EFORMAT;
    char what[320];
    attr_what(what, sizeof what, where, name);
    double *x = NULL;
    size_t n = 0;
    int rc = read_numbers(c, a, what, &x, &n);
    if (rc == 0 && n != 1)
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s must be one number, found %zu", what, n);
    if (rc == 0)
        *out = x[0];
    free(x);
    H5Aclose(a);
    return rc;
}

/* Opens group name of f, which must exist. */
static hid_t open_group(recur_h5_ctx_t *c, hid_t f, const char *name)
{
    const htri_t e = H5Lexists(f, name, H5P_DEFAULT);
    if (e <= 0) {
        recur_h5_fail(c, RECUR_EFORMAT, "missing group /%s", name);
        return -1;
    }
    hid_t g = H5Gopen2(f, name, H5P_DEFAULT);
    if (g < 0)
        recur_h5_fail_h5(c, RECUR_EFORMAT, "/%s is not a group", name);
    return g;
}

/* Root attributes; *cmdline gets the command line (NULL when absent). */
static int read_root(recur_h5_ctx_t *c, hid_t f, char **cmdline)
{
    char *fmt = NULL, *ver = NULL;
    int64_t version;
    int rc;
    *cmdline = NULL;
    if (H5Aexists(f, "format") <= 0)
        return recur_h5_fail(c, RECUR_EFORMAT, "not a recur model file (no 'format' attribute)");
    recur_h5_ctx_t quiet = {.set = false};
    if (get_str(&quiet, f, "", "format", &fmt) != 0)
        return recur_h5_fail(c, RECUR_EFORMAT, "not a recur model file (%s)", quiet.msg);
    if (strcmp(fmt, RECUR_MODEL_FORMAT) != 0) {
        rc = recur_h5_fail(c, RECUR_EFORMAT,
                           "not a recur model file (format is '%.64s', expected '%s')", fmt,
                           RECUR_MODEL_FORMAT);
        goto free_fmt;
    }
    if ((rc = get_i64(c, f, "", "format_version", &version)) != 0)
        goto free_fmt;
    if (version < 1 || version > RECUR_MODEL_FORMAT_VERSION) {
        rc =
            recur_h5_fail(c, RECUR_EFORMAT, "unsupported format_version %lld (this recur reads %d)",
                          (long long)version, RECUR_MODEL_FORMAT_VERSION);
        goto free_fmt;
    }
    /* Provenance: optional (a file made with h5py may lack it), but a string when present. */
    if (H5Aexists(f, "recur_version") > 0 && (rc = get_str(c, f, "", "recur_version", &ver)) != 0)
        goto free_fmt;
    if (H5Aexists(f, "command_line") > 0)
        rc = get_str(c, f, "", "command_line", cmdline);
    free(ver);
free_fmt:
    free(fmt);
    return rc;
}

/* The fixed /config attributes into *cfg, each checked for presence, type and range. */
static int read_config(recur_h5_ctx_t *c, hid_t g, recur_config_t *cfg)
{
    const char *w = "/config";
    static const char *const str_names[] = {"task", "cell", "head", "pool"};
    static const char *const str_allowed[] = {"classify, multilabel, regress", "rnn, lstm, gru",
                                              "seq, step", "last, mean, max"};
    int rc = 0;
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; rc == 0 && i < 4; i++) {
        char *s = NULL;
        if ((rc = get_str(c, g, w, str_names[i], &s)) != 0)
            break;
        int bad = 0;
        switch (i) {
        case 0:
            bad = recur_task_parse(s, &cfg->task);
            break;
        case 1:
            bad = recur_cell_parse(s, &cfg->cell);
            break;
        case 2:
            bad = recur_head_parse(s, &cfg->head);
            break;
        default:
            bad = recur_pool_parse(s, &cfg->pool);
            break;
        }
        if (bad)
            rc = recur_h5_fail(c, RECUR_EFORMAT, "%s/%s = '%.64s' is not one of %s", w,
                               str_names[i], s, str_allowed[i]);
        free(s);
    }
    for (size_t i = 0; rc == 0 && i < sizeof size_attrs / sizeof size_attrs[0]; i++) {
        int64_t v;
        if ((rc = get_i64(c, g, w, size_attrs[i].name, &v)) != 0)
            break;
        if (v < 1 || v > size_attrs[i].max) {
            rc = recur_h5_fail(c, RECUR_EFORMAT, "%s/%s = %lld is out of range 1..%lld", w,
                               size_attrs[i].name, (long long)v, (long long)size_attrs[i].max);
            break;
        }
        size_t *dst = i == 0   ? &cfg->input_size
                      : i == 1 ? &cfg->hidden_size
                      : i == 2 ? &cfg->num_layers
                               : &cfg->num_outputs;
        *dst = (size_t)v;
    }
    int64_t bi = 0;
    if (rc == 0 && (rc = get_i64(c, g, w, "bidirectional", &bi)) == 0 && bi != 0 && bi != 1)
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s/bidirectional = %lld must be 0 or 1", w,
                           (long long)bi);
    cfg->bidirectional = bi == 1;
    if (rc == 0 && (rc = get_f64(c, g, w, "dropout", &cfg->dropout)) == 0 &&
        !(cfg->dropout >= 0.0 && cfg->dropout < 1.0))
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s/dropout = %g is out of range [0, 1)", w,
                           cfg->dropout);
    if (rc == 0 && cfg->task == RECUR_TASK_CLASSIFY && cfg->num_outputs < 2)
        rc = recur_h5_fail(c, RECUR_EFORMAT,
                           "%s/num_outputs = %zu: classification needs at least 2 "
                           "classes",
                           w, cfg->num_outputs);
    /* The backstop: logs its own line only if the checks above missed something. */
    if (rc == 0 && recur_config_validate(cfg) != 0)
        rc = recur_h5_fail(c, RECUR_EFORMAT, "invalid configuration in /config");
    return rc;
}

typedef struct {
    char **names; /* (n) owned */
    size_t n, cap;
} names_t;

static herr_t collect_name(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    (void)loc;
    (void)info;
    names_t *l = data;
    if (l->n == l->cap) {
        const size_t cap = l->cap ? 2 * l->cap : 16;
        char **grown = realloc(l->names, cap * sizeof *grown);
        if (!grown)
            return -1;
        l->names = grown;
        l->cap = cap;
    }
    if (!(l->names[l->n] = strdup(name)))
        return -1;
    l->n++;
    return 0;
}

/* Every /config attribute that is not a fixed one, as a string or number list by its type, into
 * *out (*n_out lists, owned by the caller). */
static int read_meta(recur_h5_ctx_t *c, hid_t g, meta_t **out, size_t *n_out)
{
    const char *w = "/config";
    names_t names = {NULL, 0, 0};
    meta_t *list = NULL;
    size_t n = 0;
    int rc = 0;
    /* In creation order when the file tracks it (ours do), else by name. */
    if (H5Aiterate2(g, H5_INDEX_CRT_ORDER, H5_ITER_INC, NULL, collect_name, &names) < 0) {
        free_strings(names.names, names.n);
        memset(&names, 0, sizeof names);
        if (H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_name, &names) < 0) {
            rc = recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot list the attributes of /config");
            goto free_names;
        }
    }
    if (names.n && !(list = calloc(names.n, sizeof *list))) {
        rc = recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
        goto free_names;
    }
    for (size_t i = 0; rc == 0 && i < names.n; i++) {
        const char *key = names.names[i];
        if (recur_model_is_fixed_key(key))
            continue;
        hid_t a = open_attr(c, g, w, key);
        if (a < 0) {
            rc = RECUR_EFORMAT;
            break;
        }
        meta_t *e = &list[n];
        char what[320];
        attr_what(what, sizeof what, w, key);
        recur_h5_shape_t sh = {.cls = H5T_NO_CLASS};
        if (!(e->key = strdup(key)))
            rc = recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
        else
            rc = recur_h5_shape(c, a, true, what, &sh);
        if (rc == 0 && sh.cls == H5T_STRING) {
            e->strings = true;
            rc = read_strings(c, a, what, &e->s, &e->n);
        } else if (rc == 0 && (sh.cls == H5T_INTEGER || sh.cls == H5T_FLOAT)) {
            rc = read_numbers(c, a, what, &e->x, &e->n);
        } else if (rc == 0) {
            rc = recur_h5_fail(c, RECUR_EFORMAT, "%s has %s type, expected strings or numbers",
                               what, recur_h5_class_name(sh.cls));
        }
        n++;
        H5Aclose(a);
    }
    if (rc) {
        recur_model_meta_free(list, n);
        list = NULL;
        n = 0;
    }
    *out = list;
    *n_out = n;
free_names:
    free_strings(names.names, names.n);
    return rc;
}

/* Checks that dataset where/name of loc exists, has values of class want and exactly the shape
 * dims[0..rank-1]. */
static int check_dataset(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                         H5T_class_t want, size_t rank, const size_t *dims)
{
    char what[320];
    snprintf(what, sizeof what, "%s/%s", where, name);
    const htri_t e = H5Lexists(loc, name, H5P_DEFAULT);
    if (e <= 0)
        return recur_h5_fail(c, RECUR_EFORMAT, "missing dataset %s", what);
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "%s is not a readable dataset", what);
    recur_h5_shape_t sh;
    int rc = recur_h5_shape(c, d, false, what, &sh);
    if (rc == 0 && (sh.cls != want || (want == H5T_INTEGER && sh.size != 1)))
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s has %s values, expected %s", what,
                           recur_h5_class_name(sh.cls),
                           want == H5T_FLOAT ? "floating-point" : "bytes (uint8)");
    const hsize_t expect[2] = {dims[0], rank > 1 ? dims[1] : 1};
    bool same = (size_t)sh.rank == rank;
    for (int i = 0; same && i < sh.rank; i++)
        same = sh.dims[i] == expect[i];
    if (rc == 0 && !same) {
        char fs[96], es[64];
        recur_h5_shape_str(fs, sizeof fs, sh.rank, sh.dims, true);
        recur_h5_shape_str(es, sizeof es, (int)rank, expect, true);
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s: expected shape %s, found %s", what, es, fs);
    }
    H5Dclose(d);
    return rc;
}

/* /weights holds exactly the tensors of tab, each float with the tensor's shape. */
static int check_weights(recur_h5_ctx_t *c, hid_t g, const recur_tensor_t *tab, size_t nt)
{
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < nt; k++) {
        if (H5Lexists(g, tab[k].name, H5P_DEFAULT) <= 0)
            return recur_h5_fail(c, RECUR_EFORMAT, "missing tensor /weights/%s", tab[k].name);
        rc = check_dataset(c, g, "/weights", tab[k].name, H5T_FLOAT, tab[k].rank, tab[k].dims);
    }
    if (rc)
        return rc;
    H5G_info_t info;
    if (H5Gget_info(g, &info) < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot list /weights");
    if (info.nlinks == nt)
        return 0; /* every expected name is present and names are unique: nothing else */
    for (hsize_t i = 0; i < info.nlinks; i++) {
        char name[256];
        const ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name,
                                               sizeof name, H5P_DEFAULT);
        if (len < 0)
            return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot list /weights");
        bool known = false;
        for (size_t k = 0; !known && k < nt; k++)
            known = (size_t)len < sizeof name && strcmp(name, tab[k].name) == 0;
        if (!known)
            return recur_h5_fail(c, RECUR_EFORMAT,
                                 "unexpected entry /weights/%s (not a tensor of this "
                                 "configuration)",
                                 name);
    }
    return recur_h5_fail(c, RECUR_EFORMAT, "unexpected entries in /weights");
}

/* Reads all of dataset name of loc (shape and type class already checked) as mtype (called
 * mname in messages) into x; a value out of mtype's range is refused. */
static int read_dataset(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                        hid_t mtype, const char *mname, void *x)
{
    char what[320];
    snprintf(what, sizeof what, "%s/%s", where, name);
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0)
        return recur_h5_fail_h5(c, RECUR_EIO, "cannot open %s", what);
    const int rc = recur_h5_read_all(c, d, mtype, mname, what, x);
    H5Dclose(d);
    return rc;
}

/* Reads float dataset name of loc (shape already checked, n elements) into x as recur_real and
 * checks every value is finite. */
static int read_real_dataset(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                             recur_real *x, size_t n)
{
    int rc = read_dataset(c, loc, where, name, REAL_H5, REAL_NAME, x);
    size_t i;
    if (rc == 0 && (i = first_nonfinite(x, n)) < n)
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s/%s has a non-finite value at element %zu", where,
                           name, i);
    return rc;
}

/* What /train holds, from its attributes and dataset shapes (checked before anything is read). */
typedef struct {
    bool present, has_v, has_best;
    recur_train_state_t s; /* counters, names and sizes; no arrays */
} train_info_t;

static int copy_name(recur_h5_ctx_t *c, const char *what, const char *s, char *dst, size_t size)
{
    if (strlen(s) >= size)
        return recur_h5_fail(c, RECUR_EFORMAT, "%s is too long", what);
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

/* Length of 1-D dataset name of loc, which must exist. */
static int dataset_len(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name, size_t *n)
{
    char what[320];
    snprintf(what, sizeof what, "%s/%s", where, name);
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "%s is not a readable dataset", what);
    recur_h5_shape_t sh;
    int rc = recur_h5_shape(c, d, false, what, &sh);
    if (rc == 0 && (sh.kind != H5S_SIMPLE || sh.rank != 1))
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s must be one-dimensional", what);
    H5Dclose(d);
    *n = rc == 0 ? (size_t)sh.dims[0] : 0;
    return rc;
}

static int check_train(recur_h5_ctx_t *c, hid_t f, size_t n_params, train_info_t *ti)
{
    const char *w = "/train";
    memset(ti, 0, sizeof *ti);
    const htri_t e = H5Lexists(f, "train", H5P_DEFAULT);
    if (e < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot look for /train");
    if (e == 0)
        return 0;
    hid_t g = open_group(c, f, "train");
    if (g < 0)
        return RECUR_EFORMAT;
    recur_train_state_t *s = &ti->s;
    char *opt = NULL, *rng = NULL;
    int rc = get_str(c, g, w, "optimizer", &opt);
    if (rc == 0 && !recur_model_is_optim_name(opt))
        rc = recur_h5_fail(c, RECUR_EFORMAT,
                           "%s/optimizer = '%.32s' is not one of sgd, adam, adamw", w, opt);
    if (rc == 0)
        rc = copy_name(c, "/train/optimizer", opt, s->optimizer, sizeof s->optimizer);
    if (rc == 0)
        rc = get_u64(c, g, w, "step", &s->step);
    if (rc == 0)
        rc = get_u64(c, g, w, "skipped", &s->skipped);
    if (rc == 0)
        rc = get_u64(c, g, w, "epoch", &s->epoch);
    if (rc == 0)
        rc = get_u64(c, g, w, "cursor", &s->cursor);
    if (rc == 0)
        rc = get_str(c, g, w, "rng_name", &rng);
    if (rc == 0)
        rc = copy_name(c, "/train/rng_name", rng, s->rng_name, sizeof s->rng_name);
    if (rc == 0)
        rc = check_dataset(c, g, w, "m", H5T_FLOAT, 1, &n_params);
    if (rc == 0 && (ti->has_v = H5Lexists(g, "v", H5P_DEFAULT) > 0))
        rc = check_dataset(c, g, w, "v", H5T_FLOAT, 1, &n_params);
    if (rc == 0 && (ti->has_best = H5Lexists(g, "best", H5P_DEFAULT) > 0))
        rc = check_dataset(c, g, w, "best", H5T_FLOAT, 1, &n_params);
    if (rc == 0 && H5Lexists(g, "rng_state", H5P_DEFAULT) > 0 &&
        (rc = dataset_len(c, g, w, "rng_state", &s->rng_size)) == 0) {
        if (s->rng_size > RECUR_MODEL_RNG_MAX)
            rc = recur_h5_fail(c, RECUR_EFORMAT, "%s/rng_state is too large", w);
        else
            rc = check_dataset(c, g, w, "rng_state", H5T_INTEGER, 1, &s->rng_size);
    }
    if (rc == 0 && H5Lexists(g, "carry", H5P_DEFAULT) > 0 &&
        (rc = dataset_len(c, g, w, "carry", &s->carry_size)) == 0) {
        if (s->carry_size > RECUR_MODEL_CARRY_MAX)
            rc = recur_h5_fail(c, RECUR_EFORMAT, "%s/carry is too large", w);
        else
            rc = check_dataset(c, g, w, "carry", H5T_FLOAT, 1, &s->carry_size);
    }
    ti->present = rc == 0;
    free(rng);
    free(opt);
    H5Gclose(g);
    return rc;
}

/* Reads the /train arrays described by ti into m. */
static int read_train(recur_h5_ctx_t *c, hid_t f, recur_model_t *m, const train_info_t *ti)
{
    const char *w = "/train";
    const size_t n = m->n_params;
    hid_t g = open_group(c, f, "train");
    if (g < 0)
        return RECUR_EFORMAT;
    int rc = 0;
    m->train = ti->s;
    m->train_m = malloc(n * sizeof *m->train_m);
    m->train_v = ti->has_v ? malloc(n * sizeof *m->train_v) : NULL;
    m->train_best = ti->has_best ? malloc(n * sizeof *m->train_best) : NULL;
    m->train_rng = ti->s.rng_size ? malloc(ti->s.rng_size) : NULL;
    m->train_carry = ti->s.carry_size ? malloc(ti->s.carry_size * sizeof *m->train_carry) : NULL;
    m->train.m = m->train_m;
    m->train.v = m->train_v;
    m->train.best = m->train_best;
    m->train.rng_state = m->train_rng;
    m->train.carry = m->train_carry;
    m->has_train = true; /* so that recur_model_free releases the arrays */
    if (!m->train_m || (ti->has_v && !m->train_v) || (ti->has_best && !m->train_best) ||
        (ti->s.rng_size && !m->train_rng) || (ti->s.carry_size && !m->train_carry)) {
        rc = recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
        goto close_group;
    }
    rc = read_real_dataset(c, g, w, "m", m->train_m, n);
    if (rc == 0 && ti->has_v)
        rc = read_real_dataset(c, g, w, "v", m->train_v, n);
    if (rc == 0 && ti->has_best)
        rc = read_real_dataset(c, g, w, "best", m->train_best, n);
    if (rc == 0 && ti->s.carry_size)
        rc = read_real_dataset(c, g, w, "carry", m->train_carry, ti->s.carry_size);
    if (rc == 0 && ti->s.rng_size)
        rc = read_dataset(c, g, w, "rng_state", H5T_NATIVE_UINT8, "uint8", m->train_rng);
close_group:
    H5Gclose(g);
    return rc;
}

/* One baseline of /baselines, group name: its attributes agree with each other and with the
 * model, then its arrays are read. */
static int read_baseline(recur_h5_ctx_t *c, hid_t g, const char *name, const recur_config_t *cfg,
                         recur_baseline_t *b)
{
    char w[64];
    snprintf(w, sizeof w, "/baselines/%s", name);
    hid_t h = H5Gopen2(g, name, H5P_DEFAULT);
    if (h < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "%s is not a group", w);
    char *task = NULL;
    int64_t v[4];
    static const char *const int_names[4] = {"outputs", "k", "length", "features"};
    int rc = get_str(c, h, w, "task", &task);
    for (size_t j = 0; rc == 0 && j < 4; j++)
        rc = get_i64(c, h, w, int_names[j], &v[j]);
    if (rc == 0)
        rc = get_f64(c, h, w, "l2", &b->l2);
    if (rc == 0)
        rc = get_f64(c, h, w, "val_acc", &b->val_acc);
    if (rc != 0)
        goto out;
    if (recur_baseline_parse(name, &b->kind) != 0) /* the caller names a kind */
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s: not a baseline", w);
    if (rc != 0)
        goto out;
    const int64_t K = v[0], k = v[1], T = v[2], F = v[3];
    const int64_t want_F = b->kind == RECUR_BASELINE_MAJORITY ? 0
                           : b->kind == RECUR_BASELINE_KMER
                               ? (k >= 1 && k <= 6 ? 1 << (2 * k) : -1)
                               : (T >= 1 && T <= (1 << 22) ? 4 * T : -1);
    if (recur_task_parse(task, &b->task) != 0 || b->task != cfg->task)
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s: task '%s', the model's is %s", w, task,
                           recur_task_name(cfg->task));
    else if (K != (int64_t)cfg->num_outputs)
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s: %lld outputs, the model has %zu", w, (long long)K,
                           cfg->num_outputs);
    else if (F < 0 || F != want_F || (b->kind != RECUR_BASELINE_KMER && k != 0) ||
             (b->kind != RECUR_BASELINE_ONEHOT && T != 0))
        rc = recur_h5_fail(c, RECUR_EFORMAT,
                           "%s: k %lld, length %lld and %lld features do not fit together", w,
                           (long long)k, (long long)T, (long long)F);
    else if (!(isfinite(b->l2) && b->l2 >= 0) ||
             !(isnan(b->val_acc) || (b->val_acc >= 0 && b->val_acc <= 1)))
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s: l2 or val_acc out of range", w);
    if (rc != 0)
        goto out;
    b->K = (size_t)K;
    b->k = (size_t)k;
    b->T = (size_t)T;
    b->F = (size_t)F;
    const size_t wd[2] = {b->K, b->F}, nw = b->K * (b->F + 1);
    if ((rc = check_dataset(c, h, w, "bias", H5T_FLOAT, 1, wd)) != 0 ||
        (b->F && (rc = check_dataset(c, h, w, "weights", H5T_FLOAT, 2, wd)) != 0))
        goto out;
    if (!(b->w = malloc(nw * sizeof *b->w))) {
        rc = recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
        goto out;
    }
    if ((b->F && (rc = read_dataset(c, h, w, "weights", H5T_NATIVE_DOUBLE, "double", b->w)) != 0) ||
        (rc = read_dataset(c, h, w, "bias", H5T_NATIVE_DOUBLE, "double", b->w + b->K * b->F)) != 0)
        goto out;
    for (size_t i = 0; i < nw; i++)
        if (!isfinite(b->w[i])) {
            rc = recur_h5_fail(c, RECUR_EFORMAT, "%s has a non-finite value", w);
            break;
        }
out:
    free(task);
    H5Gclose(h);
    return rc;
}

int recur_model_read_baselines(recur_h5_ctx_t *c, hid_t f, recur_model_t *m)
{
    const htri_t e = H5Lexists(f, "baselines", H5P_DEFAULT);
    if (e == 0)
        return 0;
    hid_t g = open_group(c, f, "baselines");
    if (g < 0)
        return RECUR_EFORMAT;
    recur_baselines_t *bs = calloc(1, sizeof *bs);
    H5G_info_t info;
    int rc = bs ? 0 : recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    for (int k = 0; rc == 0 && k < RECUR_BASELINE_KINDS; k++) {
        const char *name = recur_baseline_name((recur_baseline_kind_t)k);
        if (H5Lexists(g, name, H5P_DEFAULT) <= 0)
            continue;
        rc = read_baseline(c, g, name, &m->cfg, &bs->b[bs->n]);
        if (bs->b[bs->n].w)
            bs->n++;
    }
    if (rc == 0 && (H5Gget_info(g, &info) < 0 || info.nlinks != bs->n))
        rc = recur_h5_fail(c, RECUR_EFORMAT, "unexpected entries in /baselines");
    if (rc == 0 && bs->n) {
        m->baselines = bs;
        bs = NULL;
    }
    if (bs) {
        recur_baselines_release(bs);
        free(bs);
    }
    H5Gclose(g);
    return rc;
}

recur_model_t *recur_model_load(const char *path)
{
    if (!path || !*path) {
        recur_error("model: load: no path");
        return NULL;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    recur_h5_ctx_t c = {.set = false};
    recur_model_t *m = NULL;
    recur_config_t cfg;
    recur_tensor_t *tab = NULL; /* (nt) */
    meta_t *meta = NULL;        /* (n_meta) */
    size_t nt = 0, n_meta = 0;
    char *cmdline = NULL;
    train_info_t ti = {.present = false};
    hid_t f = -1, gc = -1, gw = -1;
    int rc = RECUR_EIO;
    if ((f = recur_h5_open(&c, path, true)) < 0)
        goto done;
    if ((rc = read_root(&c, f, &cmdline)) != 0)
        goto close_file;
    if ((gc = open_group(&c, f, "config")) < 0) {
        rc = RECUR_EFORMAT;
        goto close_file;
    }
    if ((rc = read_config(&c, gc, &cfg)) != 0 || (rc = read_meta(&c, gc, &meta, &n_meta)) != 0)
        goto close_config;
    nt = recur_tensor_count(&cfg);
    if (!(tab = malloc(nt * sizeof *tab))) {
        rc = recur_h5_fail(&c, RECUR_ENOMEM, "out of memory");
        goto close_config;
    }
    recur_tensor_table(&cfg, tab);
    if ((gw = open_group(&c, f, "weights")) < 0) {
        rc = RECUR_EFORMAT;
        goto close_config;
    }
    if ((rc = check_weights(&c, gw, tab, nt)) != 0 ||
        (rc = check_train(&c, f, recur_param_count(&cfg), &ti)) != 0)
        goto close_weights;

    /* Everything is checked: allocate and read. */
    if (!(m = recur_model_new(&cfg))) {
        rc = recur_h5_fail(&c, RECUR_ENOMEM, "out of memory for %zu parameters",
                           recur_param_count(&cfg));
        goto close_weights;
    }
    for (size_t k = 0; rc == 0 && k < nt; k++)
        rc = read_real_dataset(&c, gw, "/weights", tab[k].name, m->params + tab[k].offset,
                               tab[k].numel);
    if (rc == 0 && ti.present)
        rc = read_train(&c, f, m, &ti);
    if (rc == 0)
        rc = recur_model_read_baselines(&c, f, m);
    if (rc == 0) {
        m->meta = meta;
        m->n_meta = m->cap_meta = n_meta;
        meta = NULL;
        n_meta = 0;
        m->cmdline = cmdline;
        cmdline = NULL;
    }
close_weights:
    H5Gclose(gw);
close_config:
    H5Gclose(gc);
close_file:
    rc = recur_h5_close(&c, f, rc);
done:
    recur_model_meta_free(meta, n_meta);
    free(cmdline);
    free(tab);
    if (rc) {
        recur_model_free(m);
        m = NULL;
        recur_h5_report(&c, path);
    }
    return m;
}
