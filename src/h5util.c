/* h5util.c - HDF5 helpers shared by the model, dataset, series and prediction files (h5util.h):
 * the error context, file access and opening, shapes and strings read with their sizes checked
 * first, attribute and dataset writes, and whole files written through recur/outfile.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <recur/outfile.h>

#include "h5util.h"

/* ---- Errors --------------------------------------------------------------------------------- */

int recur_h5_fail(recur_h5_ctx_t *c, int rc, const char *fmt, ...)
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

/* The innermost HDF5 error description, on one line; a system error as strerror() gives it. */
static herr_t h5_innermost(unsigned n, const H5E_error2_t *e, void *data)
{
    char *out = data;
    if (n != 0 || !e->desc || !*e->desc)
        return 0;
    const char *en = strstr(e->desc, "errno = ");
    const char *colon = strchr(e->desc, ':');
    if (en && colon)
        snprintf(out, 160, "%.*s: %s", (int)(colon - e->desc), e->desc, strerror(atoi(en + 8)));
    else
        snprintf(out, 160, "%s", e->desc);
    for (; *out; out++)
        if (*out == '\n' || *out == '\r' || *out == '\t')
            *out = ' ';
    return 0;
}

int recur_h5_fail_h5(recur_h5_ctx_t *c, int rc, const char *fmt, ...)
{
    char why[160] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_innermost, why);
    H5Eclear2(H5E_DEFAULT);
    if (!c->set) {
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

void recur_h5_report(const recur_h5_ctx_t *c, const char *path)
{
    if (c->obj)
        recur_error("%s: %s: %s", path, c->obj, c->msg);
    else
        recur_error("%s: %s", path, c->msg);
}

const char *recur_h5_class_name(H5T_class_t k)
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
    case H5T_REFERENCE:
        return "reference";
    case H5T_OPAQUE:
        return "opaque";
    case H5T_BITFIELD:
        return "bitfield";
    case H5T_TIME:
        return "time";
    default:
        return "unsupported";
    }
}

const char *recur_h5_shape_str(char *buf, size_t size, int rank, const hsize_t *dims, bool tuple)
{
    size_t k = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < rank && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%llu", i ? ", " : "",
                              (unsigned long long)dims[i]);
    if (k < size)
        snprintf(buf + k, size - k, tuple && rank == 1 ? ",)" : ")");
    return buf;
}

/* ---- Files ---------------------------------------------------------------------------------- */

hid_t recur_h5_fapl(bool lock)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return -1;
    if (lock && H5Pset_fclose_degree(fapl, H5F_CLOSE_SEMI) < 0) {
        H5Pclose(fapl);
        return -1;
    }
#if (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7) || H5_VERSION_GE(1, 12, 1)
    if (H5Pset_file_locking(fapl, lock, 1) < 0) {
        H5Pclose(fapl);
        return -1;
    }
#endif
    return fapl;
}

/* Refuses what HDF5 cannot open, with the system's reason when there is one. */
static int check_openable(recur_h5_ctx_t *c, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return recur_h5_fail(c, RECUR_EIO, "cannot open: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return recur_h5_fail(c, RECUR_EIO, "not a regular file");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return recur_h5_fail(c, RECUR_EIO, "cannot open: %s", strerror(errno));
    fclose(fp);
#if H5_VERSION_GE(1, 12, 0)
    const htri_t h5 = H5Fis_accessible(path, H5P_DEFAULT);
#else
    const htri_t h5 = H5Fis_hdf5(path);
#endif
    H5Eclear2(H5E_DEFAULT);
    if (h5 <= 0)
        return recur_h5_fail(c, RECUR_EFORMAT, "not an HDF5 file");
    return 0;
}

hid_t recur_h5_open(recur_h5_ctx_t *c, const char *path, bool lock)
{
    if (check_openable(c, path) != 0)
        return -1;
    hid_t fapl = recur_h5_fapl(lock);
    if (fapl < 0) {
        recur_h5_fail_h5(c, RECUR_EIO, "cannot make HDF5 file properties");
        return -1;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (f < 0)
        recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot open as HDF5 (damaged or truncated?)");
    H5Pclose(fapl);
    return f;
}

int recur_h5_close(recur_h5_ctx_t *c, hid_t f, int rc)
{
    if (H5Fclose(f) < 0 && rc == 0)
        rc = recur_h5_fail_h5(c, RECUR_EIO, "cannot close");
    return rc;
}

/* The file written by HDF5 at o->tmp. */
static int save_direct(recur_h5_ctx_t *c, const recur_outfile_t *o, recur_h5_fill_fn fill,
                       const void *arg)
{
    int rc = RECUR_EIO;
    hid_t fapl = recur_h5_fapl(true), f = -1;
    if (fapl < 0)
        return recur_h5_fail_h5(c, rc, "cannot make HDF5 file properties");
    if ((f = H5Fcreate(o->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
        recur_h5_fail_h5(c, rc, "cannot create HDF5 file %s", o->tmp);
        goto close_fapl;
    }
    rc = fill(c, f, arg);
    if (rc == 0 && H5Fflush(f, H5F_SCOPE_GLOBAL) < 0)
        rc = recur_h5_fail_h5(c, RECUR_EIO, "cannot flush %s", o->tmp);
    if (H5Fclose(f) < 0 && rc == 0)
        rc = recur_h5_fail_h5(c, RECUR_EIO, "cannot close %s", o->tmp);
close_fapl:
    H5Pclose(fapl);
    return rc;
}

/* The whole file as an image in memory (no backing store), then written to o's stream. */
static int save_image(recur_h5_ctx_t *c, recur_outfile_t *o, size_t image, recur_h5_fill_fn fill,
                      const void *arg)
{
    int rc = RECUR_EIO;
    unsigned char *buf = NULL; /* (n) bytes of the file */
    ssize_t n = 0;
    hid_t fapl = recur_h5_fapl(true), f = -1;
    /* The default (earliest) format bounds: HDF5 1.10's H5Fget_file_image leaves a stale
     * checksum in the newer superblocks. */
    if (fapl < 0 || H5Pset_fapl_core(fapl, image, 0) < 0) {
        recur_h5_fail_h5(c, rc, "cannot make HDF5 file properties");
        goto close_fapl;
    }
    if ((f = H5Fcreate(o->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
        recur_h5_fail_h5(c, rc, "cannot create an HDF5 file in memory");
        goto close_fapl;
    }
    rc = fill(c, f, arg);
    if (rc == 0 && H5Fflush(f, H5F_SCOPE_GLOBAL) < 0)
        rc = recur_h5_fail_h5(c, RECUR_EIO, "cannot flush the HDF5 file");
    if (rc == 0 && (n = H5Fget_file_image(f, NULL, 0)) <= 0)
        rc = recur_h5_fail_h5(c, RECUR_EIO, "cannot get the HDF5 file image");
    if (rc == 0 && !(buf = malloc((size_t)n)))
        rc = recur_h5_fail(c, RECUR_ENOMEM, "out of memory for a file of %zd bytes", n);
    if (rc == 0 && H5Fget_file_image(f, buf, (size_t)n) != n)
        rc = recur_h5_fail_h5(c, RECUR_EIO, "cannot get the HDF5 file image");
    if (H5Fclose(f) < 0 && rc == 0)
        rc = recur_h5_fail_h5(c, RECUR_EIO, "cannot close the HDF5 file");
    if (rc == 0) {
        FILE *fp = recur_outfile_stream(o); /* a failure is logged */
        if (!fp)
            rc = RECUR_EIO;
        else if (fwrite(buf, 1, (size_t)n, fp) != (size_t)n)
            rc = recur_h5_fail(c, RECUR_EIO, "cannot write temporary file %s: %s", o->tmp,
                               strerror(errno));
    }
close_fapl:
    if (fapl >= 0)
        H5Pclose(fapl);
    free(buf);
    return rc;
}

int recur_h5_save(const char *path, size_t image, recur_h5_fill_fn fill, const void *arg)
{
    recur_h5_ctx_t c = {.set = false};
    recur_outfile_t o;
    int rc = recur_outfile_begin(&o, path); /* a failure is logged */
    if (rc)
        return rc;
    rc = image ? save_image(&c, &o, image, fill, arg) : save_direct(&c, &o, fill, arg);
    if (rc) {
        recur_outfile_abort(&o);
        if (c.set)
            recur_h5_report(&c, path);
        return rc;
    }
    return recur_outfile_commit(&o); /* a failure is logged */
}

/* ---- Validated reads ------------------------------------------------------------------------ */

int recur_h5_shape(recur_h5_ctx_t *c, hid_t obj, bool is_attr, const char *what,
                   recur_h5_shape_t *sh)
{
    memset(sh, 0, sizeof *sh);
    hid_t t = is_attr ? H5Aget_type(obj) : H5Dget_type(obj);
    if (t < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read the type of %s", what);
    sh->cls = H5Tget_class(t);
    sh->size = H5Tget_size(t);
    H5Tclose(t);
    hid_t sp = is_attr ? H5Aget_space(obj) : H5Dget_space(obj);
    if (sp < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read the shape of %s", what);
    int rc = 0;
    sh->kind = H5Sget_simple_extent_type(sp);
    if (sh->kind == H5S_SIMPLE) {
        sh->rank = H5Sget_simple_extent_ndims(sp);
        if (sh->rank < 0 || sh->rank > H5S_MAX_RANK ||
            H5Sget_simple_extent_dims(sp, sh->dims, NULL) != sh->rank)
            rc = recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read the shape of %s", what);
    } else if (sh->kind != H5S_SCALAR && sh->kind != H5S_NULL) {
        rc = recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read the shape of %s", what);
    }
    H5Sclose(sp);
    return rc;
}

bool recur_h5_numel(const recur_h5_shape_t *sh, size_t *n)
{
    *n = sh->kind == H5S_NULL ? 0 : 1;
    for (int i = 0; i < sh->rank; i++)
        if (sh->dims[i] > SIZE_MAX || !recur_mul_ok(*n, (size_t)sh->dims[i], n))
            return false;
    return true;
}

/* Reads all of the attribute or dataset (is_attr) obj into buf as mt. */
static herr_t read_obj(hid_t obj, bool is_attr, hid_t mt, void *buf)
{
    return is_attr ? H5Aread(obj, mt, buf) : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
}

/* Variable-length string memory type of character set cset. */
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

static int read_vlen_strings(recur_h5_ctx_t *c, hid_t obj, bool is_attr, hid_t ftype,
                             const char *what, size_t n, char **list)
{
    int rc = RECUR_EFORMAT;
    char **ptrs = calloc(n, sizeof *ptrs); /* (n), strings allocated by HDF5 */
    if (!ptrs)
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    hid_t mt = vstr_type(H5Tget_cset(ftype));
    hid_t sp = is_attr ? H5Aget_space(obj) : H5Dget_space(obj);
    if (mt < 0 || sp < 0 || read_obj(obj, is_attr, mt, ptrs) < 0) {
        recur_h5_fail_h5(c, rc, "cannot read %s", what);
        goto close_all;
    }
    rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!(list[i] = strdup(ptrs[i] ? ptrs[i] : "")))
            rc = recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
#if H5_VERSION_GE(1, 12, 0)
    H5Treclaim(mt, sp, H5P_DEFAULT, ptrs);
#else
    H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, ptrs);
#endif
close_all:
    if (sp >= 0)
        H5Sclose(sp);
    if (mt >= 0)
        H5Tclose(mt);
    free(ptrs);
    return rc;
}

static int read_fixed_strings(recur_h5_ctx_t *c, hid_t obj, bool is_attr, hid_t ftype,
                              const char *what, size_t n, size_t str_max, char **list)
{
    const size_t size = H5Tget_size(ftype);
    size_t bytes;
    if (size == 0 || size > str_max || !recur_mul_ok(n, size, &bytes) ||
        bytes > RECUR_H5_STRS_MAX_BYTES)
        return recur_h5_fail(c, RECUR_EFORMAT, "%s: strings too long", what);
    const bool space_pad = H5Tget_strpad(ftype) == H5T_STR_SPACEPAD;
    int rc = RECUR_EFORMAT;
    char *buf = malloc(bytes); /* (n, size) */
    if (!buf)
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    hid_t mt = H5Tcopy(ftype);
    if (mt < 0 || read_obj(obj, is_attr, mt, buf) < 0) {
        recur_h5_fail_h5(c, rc, "cannot read %s", what);
        goto close_all;
    }
    rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *s = buf + i * size;
        size_t len = strnlen(s, size);
        while (space_pad && len > 0 && s[len - 1] == ' ')
            len--;
        if (!(list[i] = strndup(s, len)))
            rc = recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    }
close_all:
    if (mt >= 0)
        H5Tclose(mt);
    free(buf);
    return rc;
}

int recur_h5_read_strings(recur_h5_ctx_t *c, hid_t obj, bool is_attr, hid_t ftype, const char *what,
                          size_t n, size_t str_max, char **list)
{
    const htri_t vlen = H5Tis_variable_str(ftype);
    if (vlen < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read %s", what);
    if (n == 0)
        return 0;
    if (vlen)
        return read_vlen_strings(c, obj, is_attr, ftype, what, n, list);
    return read_fixed_strings(c, obj, is_attr, ftype, what, n, str_max, list);
}

int recur_h5_attr_read(recur_h5_ctx_t *c, hid_t a, hid_t mtype, const char *what, void *buf)
{
    if (H5Aread(a, mtype, buf) < 0)
        return recur_h5_fail_h5(c, RECUR_EFORMAT, "cannot read %s", what);
    return 0;
}

/* Conversion exception handler: a value out of the range of the memory type aborts the read
 * (HDF5 would otherwise clamp it or make it infinite without a word). */
static H5T_conv_ret_t conv_range(H5T_conv_except_t kind, hid_t src, hid_t dst, void *sbuf,
                                 void *dbuf, void *data)
{
    (void)src;
    (void)dst;
    (void)sbuf;
    (void)dbuf;
    if (kind != H5T_CONV_EXCEPT_RANGE_HI && kind != H5T_CONV_EXCEPT_RANGE_LOW)
        return H5T_CONV_UNHANDLED;
    *(bool *)data = true;
    return H5T_CONV_ABORT;
}

int recur_h5_read_all(recur_h5_ctx_t *c, hid_t d, hid_t mtype, const char *range, const char *what,
                      void *buf)
{
    int rc = RECUR_EIO;
    bool hit = false;
    hid_t dxpl = H5P_DEFAULT;
    if (range && ((dxpl = H5Pcreate(H5P_DATASET_XFER)) < 0 ||
                  H5Pset_type_conv_cb(dxpl, conv_range, &hit) < 0)) {
        recur_h5_fail_h5(c, rc, "cannot make HDF5 transfer properties");
        goto close_dxpl;
    }
    if (H5Dread(d, mtype, H5S_ALL, H5S_ALL, dxpl, buf) >= 0) {
        rc = 0;
    } else if (hit) {
        H5Eclear2(H5E_DEFAULT);
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s has a value out of the range of %s", what, range);
    } else {
        recur_h5_fail_h5(c, rc, "cannot read %s", what);
    }
close_dxpl:
    if (range && dxpl >= 0)
        H5Pclose(dxpl);
    return rc;
}

/* ---- Writes --------------------------------------------------------------------------------- */

static bool is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

hid_t recur_h5_str_type(recur_h5_str_t kind, size_t len, bool ascii)
{
    if (kind == RECUR_H5_STR_VLEN_UTF8)
        return vstr_type(H5T_CSET_UTF8);
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return -1;
    const H5T_cset_t cset = kind == RECUR_H5_STR_FIXED && ascii ? H5T_CSET_ASCII : H5T_CSET_UTF8;
    if (H5Tset_size(t, len + 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(t, cset) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

int recur_h5_put_attr(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                      hid_t ftype, hid_t mtype, bool scalar, size_t n, const void *buf)
{
    int rc = RECUR_EIO;
    hsize_t dim = n;
    hid_t sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    if (sp < 0)
        return recur_h5_fail_h5(c, rc, "cannot write attribute %s/%s", where, name);
    hid_t a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) {
        recur_h5_fail_h5(c, rc, "cannot write attribute %s/%s", where, name);
        goto close_space;
    }
    if (H5Awrite(a, mtype, buf) >= 0)
        rc = 0;
    else
        recur_h5_fail_h5(c, rc, "cannot write attribute %s/%s", where, name);
    if (H5Aclose(a) < 0 && rc == 0)
        rc = recur_h5_fail_h5(c, RECUR_EIO, "cannot write attribute %s/%s", where, name);
close_space:
    H5Sclose(sp);
    return rc;
}

int recur_h5_put_str(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                     const char *s, recur_h5_str_t kind)
{
    hid_t t = recur_h5_str_type(kind, strlen(s), is_ascii(s));
    if (t < 0)
        return recur_h5_fail_h5(c, RECUR_EIO, "cannot make a string type");
    const void *buf = kind == RECUR_H5_STR_VLEN_UTF8 ? (const void *)&s : (const void *)s;
    int rc = recur_h5_put_attr(c, loc, where, name, t, t, true, 1, buf);
    H5Tclose(t);
    return rc;
}

int recur_h5_put_strs(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                      const char *const *s, size_t n)
{
    size_t len = 0, bytes;
    bool ascii = true;
    for (size_t i = 0; i < n; i++) {
        const size_t k = strlen(s[i]);
        len = k > len ? k : len;
        ascii = ascii && is_ascii(s[i]);
    }
    if (!recur_mul_ok(n, len + 1, &bytes))
        return recur_h5_fail(c, RECUR_EINVAL, "string list %s/%s is too large", where, name);
    char *buf = calloc(bytes ? bytes : 1, 1); /* (n, len + 1) */
    if (!buf)
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        memcpy(buf + i * (len + 1), s[i], strlen(s[i]));
    int rc = RECUR_EIO;
    hid_t t = recur_h5_str_type(RECUR_H5_STR_FIXED, len, ascii);
    if (t < 0) {
        recur_h5_fail_h5(c, rc, "cannot make a string type");
        goto free_buf;
    }
    rc = recur_h5_put_attr(c, loc, where, name, t, t, false, n, buf);
    H5Tclose(t);
free_buf:
    free(buf);
    return rc;
}

int recur_h5_put_i32(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name, int32_t v)
{
    return recur_h5_put_attr(c, loc, where, name, H5T_STD_I32LE, H5T_NATIVE_INT32, true, 1, &v);
}

int recur_h5_put_i64(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name, int64_t v)
{
    return recur_h5_put_attr(c, loc, where, name, H5T_STD_I64LE, H5T_NATIVE_INT64, true, 1, &v);
}

int recur_h5_put_u64(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name, uint64_t v)
{
    return recur_h5_put_attr(c, loc, where, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, true, 1, &v);
}

int recur_h5_put_dataset(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                         hid_t ftype, hid_t mtype, int rank, const hsize_t *dims, hid_t dcpl,
                         const void *buf)
{
    int rc = RECUR_EIO;
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    if (sp < 0)
        return recur_h5_fail_h5(c, rc, "cannot write %s/%s", where, name);
    hid_t d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0) {
        recur_h5_fail_h5(c, rc, "cannot write %s/%s", where, name);
        goto close_space;
    }
    if (H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0)
        rc = 0;
    else
        recur_h5_fail_h5(c, rc, "cannot write %s/%s", where, name);
    if (H5Dclose(d) < 0 && rc == 0)
        rc = recur_h5_fail_h5(c, RECUR_EIO, "cannot write %s/%s", where, name);
close_space:
    H5Sclose(sp);
    return rc;
}
