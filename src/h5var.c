/* h5var.c - one variable of an HDF5 / netCDF-4 file (h5var.h): validated open with dimension
 * names from DIMENSION_LIST, CF packing and missing values (scale_factor, add_offset, _FillValue,
 * missing_value, valid range), string and number attributes, coordinates and hyperslabs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "h5var.h"

/* netCDF-4 writes this NAME on a dimension scale that has no coordinate variable. */
#define NC_DIM_WITHOUT_VAR "This is a netCDF dimension but not a netCDF variable"

/* Opens attribute name of obj when it exists (*a = -1 when it does not) and reads its shape.
 * 0, or < 0 with c set (and *a = -1). */
static int open_opt_attr(recur_h5_ctx_t *c, hid_t obj, const char *name, const char *what, hid_t *a,
                         recur_h5_shape_t *sh)
{
    *a = -1;
    const htri_t ex = H5Aexists(obj, name);
    if (ex < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read its attributes");
    if (ex == 0)
        return 0;
    if ((*a = H5Aopen(obj, name, H5P_DEFAULT)) < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read an attribute");
    if (recur_h5_shape(c, *a, true, what, sh) != 0) {
        H5Aclose(*a);
        *a = -1;
        return RECUR_EFORMAT;
    }
    return 0;
}

/* Drops the trailing blanks of s (fixed-length strings padded with spaces but marked otherwise). */
static void trim_blanks(char *s)
{
    size_t k = strlen(s);
    while (k > 0 && s[k - 1] == ' ')
        k--;
    s[k] = '\0';
}

/* Reads string attribute `name` of obj into buf (empty when absent). 0, or < 0 with c set
 * when it exists but is not a string of reasonable length. */
int recur_h5var_str_attr(recur_h5_ctx_t *c, hid_t obj, const char *name, char *buf, size_t size)
{
    buf[0] = '\0';
    char what[96];
    snprintf(what, sizeof what, "attribute %s", name);
    recur_h5_shape_t sh;
    hid_t a, t = -1;
    int rc = open_opt_attr(c, obj, name, what, &a, &sh);
    if (rc < 0 || a < 0)
        return rc;
    char *s = NULL;
    size_t n;
    rc = RECUR_EFORMAT;
    if ((t = H5Aget_type(a)) < 0) {
        recur_h5_fail_h5(c, rc, "cannot read an attribute");
        goto close;
    }
    if (sh.cls != H5T_STRING) {
        recur_h5_fail(c, rc, "attribute %s is %s, expected a string", name,
                      recur_h5_class_name(sh.cls));
        goto close;
    }
    if (!recur_h5_numel(&sh, &n) || n != 1) {
        recur_h5_fail(c, rc, "attribute %s is not a single string", name);
        goto close;
    }
    const htri_t vl = H5Tis_variable_str(t);
    if (vl < 0) {
        recur_h5_fail_h5(c, rc, "cannot read attribute");
        goto close;
    }
    if (!vl && (sh.size == 0 || sh.size > 65536)) {
        recur_h5_fail(c, rc, "attribute %s has a string of %zu bytes", name, sh.size);
        goto close;
    }
    if ((rc = recur_h5_read_strings(c, a, true, t, what, 1, 65536, &s)) != 0)
        goto close;
    if (!vl)
        trim_blanks(s);
    snprintf(buf, size, "%s", s);
close:
    free(s);
    if (t >= 0)
        H5Tclose(t);
    H5Aclose(a);
    return rc;
}

/* Reads numeric attribute `name` (lo..hi elements) into v as double; *n gets the count (0 when
 * absent) and *k the attribute's type class. String or other types are errors. */
static int read_num_attr(recur_h5_ctx_t *c, hid_t obj, const char *name, size_t lo, size_t hi,
                         double *v, size_t *n, H5T_class_t *k)
{
    *n = 0;
    char what[96];
    snprintf(what, sizeof what, "attribute %s", name);
    recur_h5_shape_t sh;
    size_t np;
    hid_t a;
    int rc = open_opt_attr(c, obj, name, what, &a, &sh);
    if (rc < 0 || a < 0)
        return rc;
    rc = RECUR_EFORMAT;
    if (sh.cls != H5T_INTEGER && sh.cls != H5T_FLOAT) {
        recur_h5_fail(c, rc, "attribute %s is %s, expected a number", name,
                      recur_h5_class_name(sh.cls));
        goto close;
    }
    if (!recur_h5_numel(&sh, &np) || np < lo || np > hi) {
        if (lo == hi)
            recur_h5_fail(c, rc, "attribute %s has %zu values, expected %zu", name, np, lo);
        else
            recur_h5_fail(c, rc, "attribute %s has %zu values, expected %zu..%zu", name, np, lo,
                          hi);
        goto close;
    }
    if (recur_h5_attr_read(c, a, H5T_NATIVE_DOUBLE, what, v) != 0)
        goto close;
    *n = np;
    *k = sh.cls;
    rc = 0;
close:
    H5Aclose(a);
    return rc;
}

static int read_packing(recur_h5_ctx_t *c, hid_t d, H5T_class_t klass, recur_h5var_pack_t *pk)
{
    double v[RECUR_H5VAR_MAX_MISSING];
    size_t n;
    H5T_class_t k;
    pk->scale = 1;
    pk->offset = 0;
    pk->packed = false;
    pk->klass = klass;
    pk->n_missing = 0;
    pk->vmin = -INFINITY;
    pk->vmax = INFINITY;
    pk->valid_packed = true;
    if (read_num_attr(c, d, "scale_factor", 1, 1, v, &n, &k) < 0)
        return RECUR_EFORMAT;
    if (n) {
        if (!isfinite(v[0]) || v[0] == 0)
            return recur_h5_fail(c, RECUR_EFORMAT, "scale_factor is %g", v[0]);
        pk->scale = v[0];
        pk->packed = true;
    }
    if (read_num_attr(c, d, "add_offset", 1, 1, v, &n, &k) < 0)
        return RECUR_EFORMAT;
    if (n) {
        if (!isfinite(v[0]))
            return recur_h5_fail(c, RECUR_EFORMAT, "add_offset is %g", v[0]);
        pk->offset = v[0];
        pk->packed = true;
    }
    if (read_num_attr(c, d, "_FillValue", 1, 1, v, &n, &k) < 0)
        return RECUR_EFORMAT;
    if (n)
        pk->missing[pk->n_missing++] = v[0];
    if (read_num_attr(c, d, "missing_value", 1, RECUR_H5VAR_MAX_MISSING, v, &n, &k) < 0)
        return RECUR_EFORMAT;
    for (size_t i = 0; i < n; i++)
        pk->missing[pk->n_missing++] = v[i];
    /* valid_range wins over valid_min/valid_max (CF 2.5.1). */
    bool range_packed = true, have = false;
    if (read_num_attr(c, d, "valid_range", 2, 2, v, &n, &k) < 0)
        return RECUR_EFORMAT;
    if (n) {
        pk->vmin = v[0];
        pk->vmax = v[1];
        range_packed = k == klass;
        have = true;
    } else {
        if (read_num_attr(c, d, "valid_min", 1, 1, v, &n, &k) < 0)
            return RECUR_EFORMAT;
        if (n) {
            pk->vmin = v[0];
            range_packed = k == klass;
            have = true;
        }
        if (read_num_attr(c, d, "valid_max", 1, 1, v, &n, &k) < 0)
            return RECUR_EFORMAT;
        if (n) {
            pk->vmax = v[0];
            range_packed = range_packed && k == klass;
            have = true;
        }
    }
    if (have && (isnan(pk->vmin) || isnan(pk->vmax) || pk->vmin > pk->vmax))
        return recur_h5_fail(c, RECUR_EFORMAT, "valid range [%g, %g] is empty", pk->vmin, pk->vmax);
    pk->valid_packed = range_packed || !pk->packed;
    return 0;
}

/* The physical value of raw value r, or NaN when it is missing. */
double recur_h5var_unpack(const recur_h5var_pack_t *pk, double r)
{
    if (isnan(r))
        return NAN;
    for (size_t i = 0; i < pk->n_missing; i++)
        if (r == pk->missing[i] || (isnan(pk->missing[i]) && isnan(r)))
            return NAN;
    const double x = r * pk->scale + pk->offset;
    const double cmp = pk->valid_packed ? r : x;
    if (cmp < pk->vmin || cmp > pk->vmax)
        return NAN;
    return isfinite(x) ? x : NAN;
}

/* ---- Datasets -------------------------------------------------------------------------------- */

void recur_h5var_close(recur_h5var_t *v)
{
    for (int i = 0; i < RECUR_SERIES_MAX_RANK; i++)
        if (v->scale[i] >= 0) {
            H5Dclose(v->scale[i]);
            v->scale[i] = -1;
        }
    if (v->id >= 0)
        H5Dclose(v->id);
    v->id = -1;
}

/* Element class and size of a dataset: integer 1/2/4/8 or float 4/8 bytes. */
static int check_type(recur_h5_ctx_t *c, const recur_h5_shape_t *sh, H5T_class_t *klass)
{
    const H5T_class_t k = sh->cls;
    const size_t sz = sh->size;
    if (k != H5T_INTEGER && k != H5T_FLOAT)
        return recur_h5_fail(c, RECUR_EFORMAT, "has %s type, expected numbers",
                             recur_h5_class_name(k));
    if ((k == H5T_INTEGER && sz != 1 && sz != 2 && sz != 4 && sz != 8) ||
        (k == H5T_FLOAT && sz != 4 && sz != 8))
        return recur_h5_fail(c, RECUR_EFORMAT, "has %zu-byte %s elements (not supported)", sz,
                             recur_h5_class_name(k));
    *klass = k;
    return 0;
}

/* Rank and dimensions of a dataset, each in 1 .. RECUR_SERIES_MAX_DIM. */
static int check_shape(recur_h5_ctx_t *c, const recur_h5_shape_t *sh, int max_rank, int *rank,
                       size_t *dims)
{
    const int r = sh->rank;
    if (sh->kind != H5S_SIMPLE || r == 0)
        return recur_h5_fail(c, RECUR_EFORMAT, "is a scalar, expected an array over time");
    if (r > max_rank)
        return recur_h5_fail(c, RECUR_EFORMAT, "has rank %d, more than %d", r, max_rank);
    for (int i = 0; i < r; i++) {
        if (sh->dims[i] == 0)
            return recur_h5_fail(c, RECUR_EFORMAT, "dimension %d has length 0", i);
        if (sh->dims[i] > RECUR_SERIES_MAX_DIM)
            return recur_h5_fail(c, RECUR_EFORMAT, "dimension %d has length %llu, more than %zu", i,
                                 (unsigned long long)sh->dims[i], RECUR_SERIES_MAX_DIM);
        dims[i] = (size_t)sh->dims[i];
    }
    *rank = r;
    return 0;
}

/* Opens dataset path of file f; distinguishes a missing object from one that is no dataset. */
static hid_t open_dataset(recur_h5_ctx_t *c, hid_t f, const char *path)
{
    const char *p = path;
    /* Every intermediate group must exist before H5Lexists may be asked about the link. */
    char buf[1024];
    if (strlen(path) >= sizeof buf) {
        recur_h5_fail(c, RECUR_EINVAL, "name too long");
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = buf + (buf[0] == '/'); *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (H5Lexists(f, buf, H5P_DEFAULT) <= 0) {
            recur_h5_fail(c, RECUR_EFORMAT, "no such dataset");
            return -1;
        }
        *s = '/';
    }
    if (!*p || strcmp(p, "/") == 0 || H5Lexists(f, p, H5P_DEFAULT) <= 0) {
        recur_h5_fail(c, RECUR_EFORMAT, "no such dataset");
        return -1;
    }
    H5O_info_t info;
    if (H5Oget_info_by_name2(f, p, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
        recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot open");
        return -1;
    }
    if (info.type != H5O_TYPE_DATASET) {
        recur_h5_fail(c, RECUR_EFORMAT, "is not a dataset");
        return -1;
    }
    hid_t d = H5Dopen2(f, p, H5P_DEFAULT);
    if (d < 0)
        recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot open");
    return d;
}

/* Last path component of an HDF5 object name. */
const char *recur_h5var_base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Dimension names and scales of v from its DIMENSION_LIST attribute (netCDF-4 and HDF5 dimension
 * scales: one variable-length list of object references per dimension); "dimK" without. */
static int read_dims(recur_h5_ctx_t *c, recur_h5var_t *v)
{
    for (int i = 0; i < v->rank; i++) {
        snprintf(v->dim_name[i], RECUR_H5VAR_NAME_MAX, "dim%d", i);
        v->scale[i] = -1;
    }
    const htri_t ex = H5Aexists(v->id, "DIMENSION_LIST");
    if (ex < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read its attributes");
    if (ex == 0)
        return 0;
    int rc = RECUR_EFORMAT;
    hid_t a = -1, t = -1, sup = -1, sp = -1, mt = -1;
    hvl_t list[RECUR_SERIES_MAX_RANK];
    bool have_list = false;
    if ((a = H5Aopen(v->id, "DIMENSION_LIST", H5P_DEFAULT)) < 0 || (t = H5Aget_type(a)) < 0 ||
        (sp = H5Aget_space(a)) < 0) {
        recur_h5_fail_h5(c, rc, "cannot read DIMENSION_LIST");
        goto close;
    }
    if (H5Tget_class(t) != H5T_VLEN || (sup = H5Tget_super(t)) < 0 ||
        H5Tget_class(sup) != H5T_REFERENCE || H5Tequal(sup, H5T_STD_REF_OBJ) <= 0) {
        recur_h5_fail(c, rc, "DIMENSION_LIST is not a list of object references");
        goto close;
    }
    if (H5Sget_simple_extent_ndims(sp) != 1 ||
        H5Sget_simple_extent_npoints(sp) != (hssize_t)v->rank) {
        recur_h5_fail(c, rc, "DIMENSION_LIST does not have one entry per dimension");
        goto close;
    }
    if ((mt = H5Tvlen_create(H5T_STD_REF_OBJ)) < 0 || H5Aread(a, mt, list) < 0) {
        recur_h5_fail_h5(c, rc, "cannot read DIMENSION_LIST");
        goto close;
    }
    have_list = true;
    for (int i = 0; i < v->rank; i++) {
        if (list[i].len == 0 || !list[i].p)
            continue;
        const hobj_ref_t *ref = list[i].p;
        hid_t o = H5Rdereference2(v->id, H5P_DEFAULT, H5R_OBJECT, ref);
        if (o < 0)
            continue; /* a dangling scale leaves the dimension unnamed */
        if (H5Iget_type(o) != H5I_DATASET) {
            H5Oclose(o);
            continue;
        }
        char name[1024];
        const ssize_t nn = H5Iget_name(o, name, sizeof name);
        if (nn <= 0 || (size_t)nn >= sizeof name || !*recur_h5var_base_name(name) ||
            strlen(recur_h5var_base_name(name)) >= RECUR_H5VAR_NAME_MAX) {
            H5Dclose(o);
            continue;
        }
        snprintf(v->dim_name[i], RECUR_H5VAR_NAME_MAX, "%s", recur_h5var_base_name(name));
        v->scale[i] = o;
    }
    rc = 0;
close:
    if (have_list)
        H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, list);
    if (mt >= 0)
        H5Tclose(mt);
    if (sup >= 0)
        H5Tclose(sup);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

/* Opens and validates variable path: dataset, element type, shape, dimension names, packing. */
int recur_h5var_open(recur_h5_ctx_t *c, hid_t f, const char *path, int max_rank, recur_h5var_t *v)
{
    memset(v, 0, sizeof *v);
    v->path = path;
    v->id = -1;
    for (int i = 0; i < RECUR_SERIES_MAX_RANK; i++)
        v->scale[i] = -1;
    c->obj = path;
    if ((v->id = open_dataset(c, f, path)) < 0)
        return RECUR_EFORMAT;
    recur_h5_shape_t sh;
    if (recur_h5_shape(c, v->id, false, path, &sh) != 0 || check_type(c, &sh, &v->klass) < 0 ||
        check_shape(c, &sh, max_rank, &v->rank, v->dims) < 0 || read_dims(c, v) < 0 ||
        read_packing(c, v->id, v->klass, &v->pk) < 0)
        return RECUR_EFORMAT;
    for (int i = 0; i < v->rank; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(v->dim_name[i], v->dim_name[j]) == 0)
                return recur_h5_fail(c, RECUR_EFORMAT, "dimension '%s' appears twice",
                                     v->dim_name[i]);
    return 0;
}

/* Reads the hyperslab start/count of v (in its own dimension order) into out as doubles. */
int recur_h5var_read_slab(recur_h5_ctx_t *c, hid_t d, int rank, const size_t *start,
                          const size_t *count, double *out)
{
    hsize_t st[RECUR_SERIES_MAX_RANK], cn[RECUR_SERIES_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        st[i] = start[i];
        cn[i] = count[i];
    }
    int rc = RECUR_EIO;
    hid_t fs = H5Dget_space(d), ms = -1;
    if (fs < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, cn, NULL) < 0 ||
        (ms = H5Screate_simple(rank, cn, NULL)) < 0) {
        recur_h5_fail_h5(c, rc, "cannot select the data");
        goto close;
    }
    if (H5Dread(d, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, out) < 0) {
        recur_h5_fail_h5(c, rc, "cannot read the data");
        goto close;
    }
    rc = 0;
close:
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return rc;
}

/* Values of coordinate (dimension scale) s for a dimension of length n: numeric, rank 1, n
 * values; *none when it is netCDF's placeholder for a dimension without a variable. Unpacked. */
int recur_h5var_read_coord(recur_h5_ctx_t *c, hid_t s, const char *dim, size_t n, double **out,
                           bool *none)
{
    *out = NULL;
    *none = false;
    char name[128];
    if (recur_h5var_str_attr(c, s, "NAME", name, sizeof name) < 0)
        return RECUR_EFORMAT;
    if (strncmp(name, NC_DIM_WITHOUT_VAR, strlen(NC_DIM_WITHOUT_VAR)) == 0) {
        *none = true;
        return 0;
    }
    H5T_class_t k;
    int rank;
    size_t dims[RECUR_SERIES_MAX_RANK];
    recur_h5_shape_t sh;
    if (recur_h5_shape(c, s, false, dim, &sh) != 0 || check_type(c, &sh, &k) < 0 ||
        check_shape(c, &sh, 1, &rank, dims) < 0) {
        char why[sizeof c->msg];
        memcpy(why, c->msg, sizeof why);
        snprintf(c->msg, sizeof c->msg, "coordinate '%s' %.400s", dim, why);
        return RECUR_EFORMAT;
    }
    if (dims[0] != n)
        return recur_h5_fail(c, RECUR_EFORMAT, "coordinate '%s' has %zu values, its dimension %zu",
                             dim, dims[0], n);
    recur_h5var_pack_t pk;
    if (read_packing(c, s, k, &pk) < 0)
        return RECUR_EFORMAT;
    double *x = malloc(n * sizeof *x);
    if (!x)
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    size_t start = 0;
    if (recur_h5var_read_slab(c, s, 1, &start, &n, x) < 0) {
        free(x);
        return RECUR_EIO;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = recur_h5var_unpack(&pk, x[i]);
    *out = x;
    return 0;
}

/* The V strings of attribute name of d (one per column) into names; fixed-length ones lose their
 * trailing blanks. */
int recur_h5var_names(recur_h5_ctx_t *c, hid_t d, const char *name, size_t V, char **names)
{
    char what[96];
    snprintf(what, sizeof what, "attribute %s", name);
    recur_h5_ctx_t quiet = {.set = false};
    recur_h5_shape_t sh;
    size_t np = 0;
    int rc = RECUR_EFORMAT;
    hid_t a = H5Aopen(d, name, H5P_DEFAULT), t = a >= 0 ? H5Aget_type(a) : -1;
    if (t < 0 || recur_h5_shape(&quiet, a, true, what, &sh) != 0 || sh.cls != H5T_STRING ||
        !recur_h5_numel(&sh, &np) || np != V)
        recur_h5_fail(c, rc, "attribute %s is not %zu strings (one per column)", name, V);
    else
        rc = recur_h5_read_strings(c, a, true, t, what, V, 1024, names);
    const bool fixed = rc == 0 && H5Tis_variable_str(t) == 0;
    for (size_t j = 0; fixed && j < V; j++)
        trim_blanks(names[j]);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

/* Index of the dimension named name in v, or -1. */
int recur_h5var_dim_index(const recur_h5var_t *v, const char *name)
{
    for (int i = 0; i < v->rank; i++)
        if (strcmp(v->dim_name[i], name) == 0)
            return i;
    return -1;
}
