/* h5util.h - internal HDF5 helpers of the library's file readers and writers (models, datasets,
 * series, predictions): one error context keeping the first problem with HDF5's own reason, file
 * access, validated reads, attribute and dataset writes, and the atomic write of a whole file. */
#ifndef RECUR_H5UTIL_H
#define RECUR_H5UTIL_H

#include <stddef.h>

#include <hdf5.h>

#include <recur/common.h>

/* Fixed-length strings read together: at most this many bytes in all. */
#define RECUR_H5_STRS_MAX_BYTES ((size_t)1 << 28)

/* ---- Errors --------------------------------------------------------------------------------- */

/* The first problem found while a file is read or written; the public function logs it once
 * (recur_h5_report). Zero-initialise it. */
typedef struct {
    char msg[768];
    bool set;
    const char *obj; /* object being read, named in the logged line; NULL for none */
} recur_h5_ctx_t;

/* Records the message unless one is recorded already; returns rc. */
int recur_h5_fail(recur_h5_ctx_t *c, int rc, const char *fmt, ...) RECUR_PRINTF(3, 4);

/* Like recur_h5_fail(), with " (HDF5: <innermost description of HDF5's error stack>)" appended
 * (a system error as strerror() gives it); clears the stack. */
int recur_h5_fail_h5(recur_h5_ctx_t *c, int rc, const char *fmt, ...) RECUR_PRINTF(3, 4);

/* Logs the recorded message as "PATH: MSG", or "PATH: OBJ: MSG" while c->obj is set. */
void recur_h5_report(const recur_h5_ctx_t *c, const char *path);

/* "integer", "floating-point", "string", ... for messages. */
const char *recur_h5_class_name(H5T_class_t k);

/* "(64, 12, 4)" into buf, returned; with tuple a rank-1 shape is written as Python writes it,
 * "(12,)". */
const char *recur_h5_shape_str(char *buf, size_t size, int rank, const hsize_t *dims, bool tuple);

/* ---- Files ---------------------------------------------------------------------------------- */

/* File access properties (-1 on failure, HDF5's stack says why). With lock: H5Fclose fails
 * rather than lingers while an object is still open (a leak shows up in the tests), and files
 * are locked where the file system supports it (HPC file systems often do not). Without: no
 * file locks at all and HDF5's default close (the series reader, for files that others may be
 * writing or that sit on read-only storage). */
hid_t recur_h5_fapl(bool lock);

/* Opens path read-only with recur_h5_fapl(lock) after checking that it is a regular, readable
 * HDF5 file (with the system's reason when it is not). The file, or -1 with c set. */
hid_t recur_h5_open(recur_h5_ctx_t *c, const char *path, bool lock);

/* Closes file f; a failure ("cannot close") counts when rc is 0. Returns the new rc. */
int recur_h5_close(recur_h5_ctx_t *c, hid_t f, int rc);

/* Fills the open file f; 0 or a negative error code with c set. */
typedef int (*recur_h5_fill_fn)(recur_h5_ctx_t *c, hid_t f, const void *arg);

/* Writes the HDF5 file path through include/recur/outfile.h (complete or absent: a temporary file
 * beside it, synced and renamed onto it); fill writes the contents. With image = 0 HDF5 writes
 * the temporary file itself. With image > 0 the file is made in memory first (HDF5's core driver,
 * image bytes to start with) and then written out: HDF5 never touches the disk, so an I/O error
 * cannot leave it with a half-closed file (HDF5 1.10 crashes at exit after an H5Fclose that
 * failed to flush), and the error is reported with errno. 0, or a negative error code with one
 * line logged ("PATH: why"). HDF5's automatic error printing must be off. */
int recur_h5_save(const char *path, size_t image, recur_h5_fill_fn fill, const void *arg) RECUR_WUR;

/* ---- Validated reads ------------------------------------------------------------------------ */

/* What a dataset or an attribute holds, read before anything is allocated. */
typedef struct {
    H5T_class_t cls;  /* element class of the file type */
    size_t size;      /* bytes of one element in the file */
    H5S_class_t kind; /* H5S_SIMPLE, H5S_SCALAR or H5S_NULL */
    int rank;         /* 0 unless simple */
    hsize_t dims[H5S_MAX_RANK];
} recur_h5_shape_t;

/* Type class, element size and extent of the dataset or attribute (is_attr) obj. 0, or
 * RECUR_EFORMAT with c set ("cannot read the type of WHAT", "cannot read the shape of WHAT"). */
int recur_h5_shape(recur_h5_ctx_t *c, hid_t obj, bool is_attr, const char *what,
                   recur_h5_shape_t *sh) RECUR_WUR;

/* Elements of sh (1 for a scalar, 0 for a null dataspace); false when they overflow size_t. */
bool recur_h5_numel(const recur_h5_shape_t *sh, size_t *n) RECUR_WUR;

/* Reads the n strings of the attribute or dataset (is_attr) obj, of string file type ftype, into
 * list[0..n-1] as owned copies. Variable-length strings are copied as they are; fixed-length ones
 * (NUL- or space-padded) must each be at most str_max bytes, and all of them at most
 * RECUR_H5_STRS_MAX_BYTES ("WHAT: strings too long"). On failure (c set: "cannot read WHAT",
 * out of memory) the strings copied so far are left in list for the caller to free. */
int recur_h5_read_strings(recur_h5_ctx_t *c, hid_t obj, bool is_attr, hid_t ftype, const char *what,
                          size_t n, size_t str_max, char **list) RECUR_WUR;

/* Reads attribute a whole into buf as mtype ("cannot read WHAT", RECUR_EFORMAT). */
int recur_h5_attr_read(recur_h5_ctx_t *c, hid_t a, hid_t mtype, const char *what,
                       void *buf) RECUR_WUR;

/* Reads dataset d whole into buf as mtype ("cannot read WHAT", RECUR_EIO). With range (the
 * memory type's name in messages, "float"), a value outside the memory type's range stops the
 * read ("WHAT has a value out of the range of RANGE", RECUR_EFORMAT) where HDF5 would clip it
 * or make it infinite; with NULL, HDF5 converts as it does. */
int recur_h5_read_all(recur_h5_ctx_t *c, hid_t d, hid_t mtype, const char *range, const char *what,
                      void *buf) RECUR_WUR;

/* ---- Writes --------------------------------------------------------------------------------- */

/* How a string is stored. */
typedef enum {
    RECUR_H5_STR_FIXED,      /* fixed length, NUL-terminated; ASCII when it is, else UTF-8 */
    RECUR_H5_STR_FIXED_UTF8, /* fixed length, NUL-terminated, UTF-8 */
    RECUR_H5_STR_VLEN_UTF8,  /* variable length, UTF-8 (h5py reads it as a str) */
} recur_h5_str_t;

/* A string type of the kind for len characters (ignored for variable length); -1 on failure.
 * ascii applies to RECUR_H5_STR_FIXED. The caller closes it. */
hid_t recur_h5_str_type(recur_h5_str_t kind, size_t len, bool ascii);

/* Attribute name of loc, written from buf (memory type mtype) as file type ftype: a scalar, or
 * 1-D of n elements. where names loc in messages ("cannot write attribute WHERE/NAME"). */
int recur_h5_put_attr(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                      hid_t ftype, hid_t mtype, bool scalar, size_t n, const void *buf) RECUR_WUR;
int recur_h5_put_str(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                     const char *s, recur_h5_str_t kind) RECUR_WUR;
/* A 1-D attribute of n fixed-length strings (RECUR_H5_STR_FIXED, as long as the longest). */
int recur_h5_put_strs(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                      const char *const *s, size_t n) RECUR_WUR;
int recur_h5_put_i32(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                     int32_t v) RECUR_WUR;
int recur_h5_put_i64(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                     int64_t v) RECUR_WUR;
int recur_h5_put_u64(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                     uint64_t v) RECUR_WUR;

/* Dataset name of loc of file type ftype and shape dims[0..rank-1], written from buf (memory type
 * mtype); dcpl its creation properties (H5P_DEFAULT: contiguous). "cannot write WHERE/NAME". */
int recur_h5_put_dataset(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                         hid_t ftype, hid_t mtype, int rank, const hsize_t *dims, hid_t dcpl,
                         const void *buf) RECUR_WUR;

#endif
