/* h5var.h - one variable of an HDF5 / netCDF-4 file as the series reader (h5series.c) sees it:
 * a numeric dataset opened with its type, shape and dimension names (netCDF-4 dimension scales)
 * validated, its CF packing and missing-value rules, coordinates and hyperslabs read in double.
 * Internal to the library; problems go to an h5util.h error context, "it" being c->obj. */
#ifndef RECUR_H5VAR_H
#define RECUR_H5VAR_H

#include <recur/h5series.h>

#include "h5util.h"

#define RECUR_H5VAR_NAME_MAX 64    /* bytes of a dimension name, with its NUL */
#define RECUR_H5VAR_MAX_MISSING 16 /* values in a missing_value attribute */

/* CF packing and missing-value rules of one variable. */
typedef struct {
    double scale, offset;
    bool packed;
    H5T_class_t klass;                           /* the variable's element class */
    double missing[RECUR_H5VAR_MAX_MISSING + 1]; /* _FillValue and missing_value, compared packed */
    size_t n_missing;
    double vmin, vmax; /* valid range; -inf / inf when absent */
    bool valid_packed; /* compare the range with the packed value */
} recur_h5var_pack_t;

/* One open dataset with its validated shape and dimension names. */
typedef struct {
    const char *path; /* as given */
    hid_t id;
    H5T_class_t klass;
    int rank;
    size_t dims[RECUR_SERIES_MAX_RANK];
    char dim_name[RECUR_SERIES_MAX_RANK][RECUR_H5VAR_NAME_MAX];
    hid_t scale[RECUR_SERIES_MAX_RANK]; /* attached dimension scale, or -1 */
    recur_h5var_pack_t pk;
} recur_h5var_t;

/* Opens and validates variable path of f (dataset, element type, rank at most max_rank, every
 * dimension in 1..RECUR_SERIES_MAX_DIM, dimension names, packing) into v and sets c->obj to
 * path. 0, or < 0 with c set; either way recur_h5var_close(v) releases it. */
int recur_h5var_open(recur_h5_ctx_t *c, hid_t f, const char *path, int max_rank, recur_h5var_t *v);
void recur_h5var_close(recur_h5var_t *v);

/* Index of the dimension named name in v, or -1. */
int recur_h5var_dim_index(const recur_h5var_t *v, const char *name);

/* The physical value of raw value r, or NaN when it is missing. */
double recur_h5var_unpack(const recur_h5var_pack_t *pk, double r);

/* Reads the hyperslab start/count of dataset d (in its own dimension order) into out as
 * doubles, raw (not unpacked). */
int recur_h5var_read_slab(recur_h5_ctx_t *c, hid_t d, int rank, const size_t *start,
                          const size_t *count, double *out);

/* Values of coordinate (dimension scale) s for dimension dim of length n, unpacked, into *out
 * (n doubles, owned by the caller); *none when s is netCDF's placeholder for a dimension without
 * a variable (and *out NULL). */
int recur_h5var_read_coord(recur_h5_ctx_t *c, hid_t s, const char *dim, size_t n, double **out,
                           bool *none);

/* String attribute name of obj into buf (truncated to size; empty when absent). 0, or < 0 with
 * c set when it exists but is not one string of at most 64 kB. */
int recur_h5var_str_attr(recur_h5_ctx_t *c, hid_t obj, const char *name, char *buf, size_t size);

/* The V strings of attribute name of d into names[0..V-1] (owned; freed by the caller, also
 * after a failure): plain-mode column names. */
int recur_h5var_names(recur_h5_ctx_t *c, hid_t d, const char *name, size_t V, char **names);

/* Last path component of an HDF5 object name. */
const char *recur_h5var_base_name(const char *p);

#endif
