/* recur/h5series.h - reader of weather and climate series from HDF5 and netCDF-4 files through
 * libhdf5 alone: a plain (time, feature) dataset, or CF-style variables whose dimensions are
 * named by netCDF-4 dimension scales, unpacked (scale_factor, add_offset) with missing values
 * masked, the time coordinate's "<unit> since <date>" decoded to real dates.
 *
 * Two ways to name the data:
 *   plain  opts.dataset = "/x": a 1-D (time) or 2-D (time, feature) numeric dataset; feature
 *          names from its "columns" or "features" string attribute, else "c0", "c1", ...; the
 *          time coordinate from a dimension scale attached to its first dimension, if any.
 *   CF     opts.vars = {"tmax", "tmin"}: one dataset per variable, all over the same dimensions
 *          (matched by name; their order may differ between variables). The time dimension is
 *          opts.time_dim, else the one named "time", else the one whose coordinate has units
 *          "<unit> since <date>", axis "T" or standard_name "time", else the first. Every other
 *          dimension is either selected at one index (opts.select: "station=3", or the nearest
 *          coordinate value "lat=~47.6") or spans a panel: each combination of the remaining
 *          indices is its own series (station by station, grid point by grid point).
 * Dimension names come from the DIMENSION_LIST attribute of netCDF-4 / HDF5 dimension scales
 * (the name of the scale dataset); dimensions without a scale are named "dim0", "dim1", ...
 *
 * Values: integer (1, 2, 4, 8 bytes) and floating-point (4, 8 bytes) datasets are read in
 * double. A value is missing when it is NaN, equals _FillValue or one of missing_value, or lies
 * outside valid_min / valid_max / valid_range (compared in the stored, packed units when the
 * attribute has the variable's type class, as CF says, else in physical units); the others are
 * unpacked as value * scale_factor + add_offset. 64-bit integers above 2^53 lose precision.
 *
 * Validation comes before any allocation or read: the file is HDF5, each dataset exists and is
 * a dataset, its rank is at most RECUR_SERIES_MAX_RANK, every dimension is between 1 and
 * RECUR_SERIES_MAX_DIM, the element type is a supported number, packing attributes are numbers,
 * coordinates have one value per index of their dimension, the time coordinate is finite and
 * strictly increasing, and every buffer's byte count (overflow-checked) stays under the cap.
 * HDF5's automatic error printing is switched off while reading; a failure is one logged line
 * "FILE: DATASET: what is wrong". */
#ifndef RECUR_H5SERIES_H
#define RECUR_H5SERIES_H

#include <recur/common.h>

#define RECUR_SERIES_MAX_RANK 8
#define RECUR_SERIES_MAX_DIM ((size_t)1 << 31)    /* elements along one dimension */
#define RECUR_SERIES_MAX_VARS 4096                /* variables (or plain-mode columns) */
#define RECUR_SERIES_MAX_SERIES ((size_t)1 << 24) /* series of a panel */
#define RECUR_SERIES_MAX_BYTES ((size_t)4 << 30)  /* default cap on the memory of one read */
#define RECUR_SERIES_MAX_SELECT 16

/* One --select: dimension `name` at `index`, or (by_value) at the index whose coordinate is
 * nearest to `value` (the first such index on ties). */
typedef struct {
    char name[64];
    size_t index;
    double value;
    bool by_value;
} recur_series_select_t;

/* Parses "DIM=INDEX" or "DIM=~VALUE" into out. 0 or RECUR_EINVAL (logged). */
int recur_series_select_parse(const char *arg, recur_series_select_t *out) RECUR_WUR;

typedef struct {
    const char *dataset;     /* plain mode: path of the (time[, feature]) dataset, or NULL */
    const char *const *vars; /* CF mode: dataset paths of the variables */
    size_t n_vars;
    const char *time_dim; /* name of the time dimension, or NULL: found as described */
    const recur_series_select_t *select;
    size_t n_select;
    size_t max_bytes; /* cap on the bytes held at once; 0 = RECUR_SERIES_MAX_BYTES */
} recur_series_opts_t;

/* S series of T time steps and V variables. Plain struct; every array and string is malloc'd
 * and owned by it (recur_series_free frees them all). */
typedef struct {
    size_t S, T, V;
    double *values;      /* (S, T, V) physical units; NaN where missing */
    unsigned char *mask; /* (S, T, V) 1 = present, 0 = missing */
    double *time;        /* (T) the time coordinate as stored (unpacked), or 0 .. T-1 */
    double *epoch;       /* (T) seconds since 1970-01-01T00:00:00Z (proleptic Gregorian), or
                            NULL when the time units are not "<unit> since <date>" or the
                            calendar is not standard/gregorian/proleptic_gregorian */
    char *time_name;     /* the time dimension's name */
    char *time_units;    /* the time coordinate's units attribute, or NULL */
    char **var_names;    /* (V) variable (CF) or column (plain) names */
    char **var_units;    /* (V) units attributes, "" when absent */
    char **series_names; /* (S) "station=3", "lat=47.5,lon=-122.25"; "" for a lone series */
} recur_series_t;

/* Reads path as opts says (exactly one of opts->dataset and opts->vars). NULL on failure, with
 * one logged line "path: dataset: what". The caller frees the result with recur_series_free. */
recur_series_t *recur_series_read(const char *path, const recur_series_opts_t *opts);
void recur_series_free(recur_series_t *s);

/* Index of variable `name` in s (matching var_names, or the last path component), or -1. */
long recur_series_var_index(const recur_series_t *s, const char *name);

/* ---- Time ---------------------------------------------------------------------------------- */

/* Decodes CF time units "<unit> since <date>[( |T)<hh:mm[:ss[.f]]>][ ](Z|UTC|+hh[:mm]|-hh[:mm])"
 * with unit one of seconds, minutes, hours, days, weeks (and their abbreviations s, sec, min,
 * h, hr, d): epoch = value * *unit_seconds + *origin. 0 or RECUR_EINVAL (not logged). */
int recur_time_units_parse(const char *units, double *unit_seconds, double *origin) RECUR_WUR;

/* Broken-down UTC time of epoch seconds (proleptic Gregorian); false when out of the years
 * -99999 .. 99999. yday is 0-based, sec the seconds into the day. */
typedef struct {
    long year;
    int month, day, yday, year_days;
    double sec;
} recur_civil_t;
bool recur_time_civil(double epoch, recur_civil_t *out);

/* Writes epoch as "YYYY-MM-DD" (date_only) or "YYYY-MM-DDTHH:MM:SSZ" into buf; "NA" when
 * the date is out of range or epoch is not finite. */
void recur_time_format(double epoch, bool date_only, char *buf, size_t size);

#endif
