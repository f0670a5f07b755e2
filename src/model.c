/* model.c - the model: configuration, flat parameters, provenance, encoding metadata and optional
 * training state, and its HDF5 file (DESIGN.md "Model file"), written atomically (temporary file,
 * flush, fsync, rename) and read back with every attribute, shape and value validated first. */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include <recur/model.h>

#if RECUR_REAL_IS_DOUBLE
#define REAL_H5 H5T_NATIVE_DOUBLE
#define REAL_NAME "double"
#else
#define REAL_H5 H5T_NATIVE_FLOAT
#define REAL_NAME "float"
#endif

/* Caps on what a file may ask us to allocate (a hostile file can declare huge extents with no
 * storage behind them). */
#define META_MAX_ELEMS ((size_t)1 << 24) /* elements of one metadata list */
#define STR_MAX_BYTES ((size_t)1 << 20)  /* one fixed-length string */
#define ATTR_MAX_BYTES ((size_t)1 << 28) /* one string attribute */
#define RNG_MAX_BYTES ((size_t)1 << 20)  /* /train/rng_state */
#define CARRY_MAX ((size_t)1 << 28)      /* /train/carry elements */
#define KEY_MAX 255                      /* metadata key length */

/* One encoding list kept under /config. */
typedef struct {
    char *key;
    bool strings; /* string list, else number list */
    size_t n;
    char **s;  /* (n + 1) owned strings, NULL-terminated; string lists only */
    double *x; /* (max(n, 1)); number lists only */
} meta_t;

struct recur_model {
    recur_config_t cfg;
    size_t n_params;
    recur_real *params; /* (n_params) */
    char *cmdline;      /* NULL when unset */
    meta_t *meta;       /* (n_meta) lists in the order they were set (by name after a load) */
    size_t n_meta, cap_meta;
    bool has_train;
    recur_train_state_t train; /* its pointers point into the arrays below */
    recur_real *train_m;       /* (n_params) */
    recur_real *train_v;       /* (n_params) or NULL */
    recur_real *train_best;    /* (n_params) or NULL */
    unsigned char *train_rng;  /* (rng_size) or NULL */
    recur_real *train_carry;   /* (carry_size) or NULL */
};

/* The fixed /config attributes; every other /config attribute is an encoding list. */
static const char *const config_fixed[] = {
    "task",        "cell",          "input_size", "hidden_size", "num_layers",
    "num_outputs", "bidirectional", "head",       "pool",        "dropout"};

/* Limits of recur_config_validate() (params.c), repeated so that a bad file gets one message
 * naming the file and the attribute; recur_config_validate() still runs afterwards. */
static const struct {
    const char *name;
    int64_t max;
} size_attrs[] = {{"input_size", (int64_t)1 << 20},
                  {"hidden_size", 65536},
                  {"num_layers", 64},
                  {"num_outputs", (int64_t)1 << 20}};

static const char *const optim_names[] = {"sgd", "adam", "adamw"};

static bool is_fixed_key(const char *key)
{
    for (size_t i = 0; i < sizeof config_fixed / sizeof config_fixed[0]; i++)
        if (strcmp(key, config_fixed[i]) == 0)
            return true;
    return false;
}

static bool is_optim_name(const char *s)
{
    for (size_t i = 0; i < sizeof optim_names / sizeof optim_names[0]; i++)
        if (strcmp(s, optim_names[i]) == 0)
            return true;
    return false;
}

/* Index of the first element that is not finite; n when all are. */
static size_t first_nonfinite(const recur_real *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return n;
}

/* Index of the first element that would not be finite in float32, the storage type of the
 * file; n when all are finite there. */
static size_t first_unstorable(const recur_real *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || fabs((double)x[i]) > FLT_MAX)
            return i;
    return n;
}

/* ---- In-memory model ---------------------------------------------------------------------- */

static void meta_clear(meta_t *e)
{
    if (!e)
        return;
    if (e->s)
        for (size_t i = 0; i < e->n; i++)
            free(e->s[i]);
    free(e->s);
    free(e->x);
    free(e->key);
    memset(e, 0, sizeof *e);
}

static void meta_free_all(meta_t *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        meta_clear(&list[i]);
    free(list);
}

/* A string list copied from v[0..n-1]; 0 or RECUR_ENOMEM (e is left cleared). */
static int meta_make_strings(meta_t *e, const char *key, const char *const *v, size_t n)
{
    memset(e, 0, sizeof *e);
    e->strings = true;
    e->key = strdup(key);
    e->s = calloc(n + 1, sizeof *e->s);
    if (!e->key || !e->s)
        goto fail;
    for (e->n = 0; e->n < n; e->n++)
        if (!(e->s[e->n] = strdup(v[e->n])))
            goto fail;
    return 0;
fail:
    meta_clear(e);
    return RECUR_ENOMEM;
}

/* A number list copied from v[0..n-1]; 0 or RECUR_ENOMEM (e is left cleared). */
static int meta_make_numbers(meta_t *e, const char *key, const double *v, size_t n)
{
    memset(e, 0, sizeof *e);
    e->key = strdup(key);
    e->x = malloc((n ? n : 1) * sizeof *e->x);
    if (!e->key || !e->x) {
        meta_clear(e);
        return RECUR_ENOMEM;
    }
    if (n)
        memcpy(e->x, v, n * sizeof *v);
    e->n = n;
    return 0;
}

static meta_t *meta_find(const recur_model_t *m, const char *key)
{
    for (size_t i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta[i].key, key) == 0)
            return &m->meta[i];
    return NULL;
}

/* Moves *e into m, replacing a list of the same key; on failure *e is freed. */
static int meta_put(recur_model_t *m, meta_t *e)
{
    meta_t *old = meta_find(m, e->key);
    if (old) {
        meta_clear(old);
        *old = *e;
        return 0;
    }
    if (m->n_meta == m->cap_meta) {
        const size_t cap = m->cap_meta ? 2 * m->cap_meta : 8;
        meta_t *grown = realloc(m->meta, cap * sizeof *grown);
        if (!grown) {
            meta_clear(e);
            return RECUR_ENOMEM;
        }
        m->meta = grown;
        m->cap_meta = cap;
    }
    m->meta[m->n_meta++] = *e;
    return 0;
}

/* A model with zeroed parameters for a validated cfg; NULL when out of memory (not logged). */
static recur_model_t *model_new(const recur_config_t *cfg)
{
    recur_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cfg = *cfg;
    m->n_params = recur_param_count(cfg);
    size_t bytes;
    if (!recur_mul_ok(m->n_params, sizeof *m->params, &bytes) ||
        !(m->params = calloc(m->n_params ? m->n_params : 1, sizeof *m->params))) {
        free(m);
        return NULL;
    }
    return m;
}

recur_model_t *recur_model_alloc(const recur_config_t *cfg)
{
    if (!cfg) {
        recur_error("model: no configuration given");
        return NULL;
    }
    if (recur_config_validate(cfg) != 0)
        return NULL;
    recur_model_t *m = model_new(cfg);
    if (!m)
        recur_error("model: out of memory for %zu parameters", recur_param_count(cfg));
    return m;
}

static void train_clear(recur_model_t *m)
{
    free(m->train_carry);
    free(m->train_rng);
    free(m->train_v);
    free(m->train_best);
    free(m->train_m);
    m->train_m = m->train_v = m->train_best = m->train_carry = NULL;
    m->train_rng = NULL;
    memset(&m->train, 0, sizeof m->train);
    m->has_train = false;
}

void recur_model_free(recur_model_t *m)
{
    if (!m)
        return;
    train_clear(m);
    meta_free_all(m->meta, m->n_meta);
    free(m->cmdline);
    free(m->params);
    free(m);
}

const recur_config_t *recur_model_config(const recur_model_t *m)
{
    return &m->cfg;
}

recur_real *recur_model_params(recur_model_t *m)
{
    return m->params;
}

const recur_real *recur_model_params_const(const recur_model_t *m)
{
    return m->params;
}

/* cmdline NULL removes it. */
int recur_model_set_command_line(recur_model_t *m, const char *cmdline)
{
    char *copy = NULL;
    if (cmdline && !(copy = strdup(cmdline))) {
        recur_error("model: out of memory");
        return RECUR_ENOMEM;
    }
    free(m->cmdline);
    m->cmdline = copy;
    return 0;
}

const char *recur_model_command_line(const recur_model_t *m)
{
    return m->cmdline;
}

/* Why key cannot name an encoding list, or NULL when it can. */
static const char *bad_key(const char *key)
{
    if (!key || !*key)
        return "empty key";
    if (strlen(key) > KEY_MAX)
        return "key longer than 255 characters";
    if (strchr(key, '/'))
        return "key contains '/'";
    if (is_fixed_key(key))
        return "key is a fixed configuration attribute";
    return NULL;
}

int recur_model_set_strings(recur_model_t *m, const char *key, const char *const *v, size_t n)
{
    const char *why = bad_key(key);
    if (!why && n > META_MAX_ELEMS)
        why = "list too long";
    if (!why && n && !v)
        why = "no values";
    for (size_t i = 0; !why && i < n; i++)
        if (!v[i])
            why = "NULL string in list";
    if (why) {
        recur_error("model: cannot set string list '%s': %s", key ? key : "(null)", why);
        return RECUR_EINVAL;
    }
    meta_t e;
    int rc = meta_make_strings(&e, key, v, n);
    if (rc == 0)
        rc = meta_put(m, &e);
    if (rc)
        recur_error("model: out of memory");
    return rc;
}

const char *const *recur_model_strings(const recur_model_t *m, const char *key, size_t *n)
{
    const meta_t *e = key ? meta_find(m, key) : NULL;
    if (!e || !e->strings) {
        if (n)
            *n = 0;
        return NULL;
    }
    if (n)
        *n = e->n;
    return (const char *const *)e->s;
}

int recur_model_set_numbers(recur_model_t *m, const char *key, const double *v, size_t n)
{
    const char *why = bad_key(key);
    if (!why && n > META_MAX_ELEMS)
        why = "list too long";
    if (!why && n && !v)
        why = "no values";
    if (why) {
        recur_error("model: cannot set number list '%s': %s", key ? key : "(null)", why);
        return RECUR_EINVAL;
    }
    meta_t e;
    int rc = meta_make_numbers(&e, key, v, n);
    if (rc == 0)
        rc = meta_put(m, &e);
    if (rc)
        recur_error("model: out of memory");
    return rc;
}

const double *recur_model_numbers(const recur_model_t *m, const char *key, size_t *n)
{
    const meta_t *e = key ? meta_find(m, key) : NULL;
    if (!e || e->strings) {
        if (n)
            *n = 0;
        return NULL;
    }
    if (n)
        *n = e->n;
    return e->x;
}

/* Copies s (which may be the model's own state); s == NULL removes the training state. */
int recur_model_set_train_state(recur_model_t *m, const recur_train_state_t *s)
{
    if (!s) {
        train_clear(m);
        return 0;
    }
    const char *why = NULL;
    if (!memchr(s->optimizer, '\0', sizeof s->optimizer) || !is_optim_name(s->optimizer))
        why = "optimizer must be sgd, adam or adamw";
    else if (!memchr(s->rng_name, '\0', sizeof s->rng_name))
        why = "RNG name is not terminated";
    else if (!s->m)
        why = "no first moment";
    else if (s->rng_size > RNG_MAX_BYTES || (s->rng_size && !s->rng_state))
        why = "bad RNG state";
    else if (s->carry_size > CARRY_MAX || (s->carry_size && !s->carry))
        why = "bad carried state";
    if (why) {
        recur_error("model: invalid training state: %s", why);
        return RECUR_EINVAL;
    }
    const size_t n = m->n_params;
    recur_real *mm = malloc(n * sizeof *mm);
    recur_real *vv = s->v ? malloc(n * sizeof *vv) : NULL;
    recur_real *bb = s->best ? malloc(n * sizeof *bb) : NULL;
    unsigned char *rng = s->rng_size ? malloc(s->rng_size) : NULL;
    recur_real *carry = s->carry_size ? malloc(s->carry_size * sizeof *carry) : NULL;
    if (!mm || (s->v && !vv) || (s->best && !bb) || (s->rng_size && !rng) ||
        (s->carry_size && !carry)) {
        free(bb);
        free(carry);
        free(rng);
        free(vv);
        free(mm);
        recur_error("model: out of memory");
        return RECUR_ENOMEM;
    }
    memcpy(mm, s->m, n * sizeof *mm);
    if (vv)
        memcpy(vv, s->v, n * sizeof *vv);
    if (bb)
        memcpy(bb, s->best, n * sizeof *bb);
    if (rng)
        memcpy(rng, s->rng_state, s->rng_size);
    if (carry)
        memcpy(carry, s->carry, s->carry_size * sizeof *carry);
    recur_train_state_t t = *s;
    train_clear(m);
    m->train = t;
    m->train_m = mm;
    m->train_v = vv;
    m->train_best = bb;
    m->train_rng = rng;
    m->train_carry = carry;
    m->train.m = mm;
    m->train.v = vv;
    m->train.best = bb;
    m->train.rng_state = rng;
    m->train.carry = carry;
    m->has_train = true;
    return 0;
}

const recur_train_state_t *recur_model_train_state(const recur_model_t *m)
{
    return m->has_train ? &m->train : NULL;
}

/* ---- Errors: the first problem found, logged once as "<path>: <message>" --------------- */

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

/* Access properties shared by load and save: H5Fclose fails rather than lingering when an
 * object is still open (a bug, surfaced by the tests); file locks are used where the file
 * system has them (HPC file systems often do not). */
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

/* ---- Writing ------------------------------------------------------------------------------- */

static bool is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* Fixed-length, NUL-terminated string type holding len characters. */
static hid_t str_type(size_t len, bool ascii)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return -1;
    if (H5Tset_size(t, len + 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(t, ascii ? H5T_CSET_ASCII : H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* Attribute where/name of loc: scalar, or 1-D of n elements; buf in memory type mtype. */
static int put_attr(ctx_t *c, hid_t loc, const char *where, const char *name, hid_t ftype,
                    hid_t mtype, bool scalar, size_t n, const void *buf)
{
    int rc = RECUR_EIO;
    hsize_t dim = n;
    hid_t sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    if (sp < 0)
        return fail_h5(c, rc, "cannot write attribute %s/%s", where, name);
    hid_t a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) {
        fail_h5(c, rc, "cannot write attribute %s/%s", where, name);
        goto close_space;
    }
    if (H5Awrite(a, mtype, buf) >= 0)
        rc = 0;
    else
        fail_h5(c, rc, "cannot write attribute %s/%s", where, name);
    if (H5Aclose(a) < 0 && rc == 0)
        rc = fail_h5(c, RECUR_EIO, "cannot write attribute %s/%s", where, name);
close_space:
    H5Sclose(sp);
    return rc;
}

static int put_str(ctx_t *c, hid_t loc, const char *where, const char *name, const char *s)
{
    hid_t t = str_type(strlen(s), is_ascii(s));
    if (t < 0)
        return fail_h5(c, RECUR_EIO, "cannot make a string type");
    int rc = put_attr(c, loc, where, name, t, t, true, 1, s);
    H5Tclose(t);
    return rc;
}

static int put_strs(ctx_t *c, hid_t loc, const char *where, const char *name, const char *const *s,
                    size_t n)
{
    size_t len = 0, bytes;
    bool ascii = true;
    for (size_t i = 0; i < n; i++) {
        const size_t k = strlen(s[i]);
        len = k > len ? k : len;
        ascii = ascii && is_ascii(s[i]);
    }
    if (!recur_mul_ok(n, len + 1, &bytes))
        return fail(c, RECUR_EINVAL, "string list %s/%s is too large", where, name);
    char *buf = calloc(bytes ? bytes : 1, 1); /* (n, len + 1) */
    if (!buf)
        return fail(c, RECUR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        memcpy(buf + i * (len + 1), s[i], strlen(s[i]));
    int rc = RECUR_EIO;
    hid_t t = str_type(len, ascii);
    if (t < 0) {
        fail_h5(c, rc, "cannot make a string type");
        goto free_buf;
    }
    rc = put_attr(c, loc, where, name, t, t, false, n, buf);
    H5Tclose(t);
free_buf:
    free(buf);
    return rc;
}

static int put_i64(ctx_t *c, hid_t loc, const char *where, const char *name, int64_t v)
{
    return put_attr(c, loc, where, name, H5T_STD_I64LE, H5T_NATIVE_INT64, true, 1, &v);
}

static int put_i32(ctx_t *c, hid_t loc, const char *where, const char *name, int32_t v)
{
    return put_attr(c, loc, where, name, H5T_STD_I32LE, H5T_NATIVE_INT32, true, 1, &v);
}

static int put_u64(ctx_t *c, hid_t loc, const char *where, const char *name, uint64_t v)
{
    return put_attr(c, loc, where, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, true, 1, &v);
}

/* Float32 dataset where/name of loc with shape dims[0..rank-1], from x (converted in the double
 * build; values were checked to be finite in float32 beforehand). */
static int put_real_dataset(ctx_t *c, hid_t loc, const char *where, const char *name, size_t rank,
                            const size_t *dims, const recur_real *x)
{
    hsize_t hd[2];
    for (size_t i = 0; i < rank; i++)
        hd[i] = dims[i];
    int rc = RECUR_EIO;
    float *buf = NULL; /* (numel) float32 copy, double build only */
    const float *src;
#if RECUR_REAL_IS_DOUBLE
    const size_t n = rank == 1 ? dims[0] : dims[0] * dims[1];
    if (!(buf = malloc((n ? n : 1) * sizeof *buf)))
        return fail(c, RECUR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        buf[i] = (float)x[i];
    src = buf;
#else
    src = x;
#endif
    hid_t sp = H5Screate_simple((int)rank, hd, NULL);
    if (sp < 0) {
        fail_h5(c, rc, "cannot write %s/%s", where, name);
        goto free_buf;
    }
    hid_t d = H5Dcreate2(loc, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0) {
        fail_h5(c, rc, "cannot write %s/%s", where, name);
        goto close_space;
    }
    if (H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, src) >= 0)
        rc = 0;
    else
        fail_h5(c, rc, "cannot write %s/%s", where, name);
    if (H5Dclose(d) < 0 && rc == 0)
        rc = fail_h5(c, RECUR_EIO, "cannot write %s/%s", where, name);
close_space:
    H5Sclose(sp);
free_buf:
    free(buf);
    return rc;
}

static int put_bytes_dataset(ctx_t *c, hid_t loc, const char *where, const char *name,
                             const void *x, size_t n)
{
    int rc = RECUR_EIO;
    hsize_t dim = n;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    if (sp < 0)
        return fail_h5(c, rc, "cannot write %s/%s", where, name);
    hid_t d = H5Dcreate2(loc, name, H5T_STD_U8LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0) {
        fail_h5(c, rc, "cannot write %s/%s", where, name);
        goto close_space;
    }
    if (H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0)
        rc = 0;
    else
        fail_h5(c, rc, "cannot write %s/%s", where, name);
    if (H5Dclose(d) < 0 && rc == 0)
        rc = fail_h5(c, RECUR_EIO, "cannot write %s/%s", where, name);
close_space:
    H5Sclose(sp);
    return rc;
}

/* Creates group name of f, or records why not. With track_order, the group's attributes keep
 * their creation order, which also gives it the object header that stores large attributes (a
 * long class list) densely instead of failing beyond 64 kB. */
static hid_t make_group(ctx_t *c, hid_t f, const char *name, bool track_order)
{
    hid_t g = -1, gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl >= 0 &&
        (!track_order ||
         H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0))
        g = H5Gcreate2(f, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (g < 0)
        fail_h5(c, RECUR_EIO, "cannot create group /%s", name);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    return g;
}

static int write_root(ctx_t *c, hid_t f, const recur_model_t *m)
{
    int rc = put_str(c, f, "", "format", RECUR_MODEL_FORMAT);
    if (rc == 0)
        rc = put_i32(c, f, "", "format_version", RECUR_MODEL_FORMAT_VERSION);
    if (rc == 0)
        rc = put_str(c, f, "", "recur_version", RECUR_VERSION);
    if (rc == 0)
        rc = put_str(c, f, "", "command_line", m->cmdline ? m->cmdline : "");
    return rc;
}

static int write_config(ctx_t *c, hid_t f, const recur_model_t *m)
{
    const recur_config_t *cfg = &m->cfg;
    const char *w = "/config";
    hid_t g = make_group(c, f, "config", true);
    if (g < 0)
        return RECUR_EIO;
    int rc = put_str(c, g, w, "task", recur_task_name(cfg->task));
    if (rc == 0)
        rc = put_str(c, g, w, "cell", recur_cell_name(cfg->cell));
    if (rc == 0)
        rc = put_i64(c, g, w, "input_size", (int64_t)cfg->input_size);
    if (rc == 0)
        rc = put_i64(c, g, w, "hidden_size", (int64_t)cfg->hidden_size);
    if (rc == 0)
        rc = put_i64(c, g, w, "num_layers", (int64_t)cfg->num_layers);
    if (rc == 0)
        rc = put_i64(c, g, w, "num_outputs", (int64_t)cfg->num_outputs);
    if (rc == 0)
        rc = put_i32(c, g, w, "bidirectional", cfg->bidirectional ? 1 : 0);
    if (rc == 0)
        rc = put_str(c, g, w, "head", recur_head_name(cfg->head));
    if (rc == 0)
        rc = put_str(c, g, w, "pool", recur_pool_name(cfg->pool));
    if (rc == 0)
        rc =
            put_attr(c, g, w, "dropout", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, true, 1, &cfg->dropout);
    for (size_t i = 0; rc == 0 && i < m->n_meta; i++) {
        const meta_t *e = &m->meta[i];
        if (e->strings)
            rc = put_strs(c, g, w, e->key, (const char *const *)e->s, e->n);
        else
            rc = put_attr(c, g, w, e->key, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, false, e->n, e->x);
    }
    if (H5Gclose(g) < 0 && rc == 0)
        rc = fail_h5(c, RECUR_EIO, "cannot close /config");
    return rc;
}

static int write_weights(ctx_t *c, hid_t f, const recur_model_t *m, const recur_tensor_t *tab,
                         size_t nt)
{
    hid_t g = make_group(c, f, "weights", false);
    if (g < 0)
        return RECUR_EIO;
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < nt; k++)
        rc = put_real_dataset(c, g, "/weights", tab[k].name, tab[k].rank, tab[k].dims,
                              m->params + tab[k].offset);
    if (H5Gclose(g) < 0 && rc == 0)
        rc = fail_h5(c, RECUR_EIO, "cannot close /weights");
    return rc;
}

static int write_train(ctx_t *c, hid_t f, const recur_model_t *m)
{
    const recur_train_state_t *s = &m->train;
    const char *w = "/train";
    hid_t g = make_group(c, f, "train", false);
    if (g < 0)
        return RECUR_EIO;
    int rc = put_str(c, g, w, "optimizer", s->optimizer);
    if (rc == 0)
        rc = put_u64(c, g, w, "step", s->step);
    if (rc == 0)
        rc = put_u64(c, g, w, "skipped", s->skipped);
    if (rc == 0)
        rc = put_u64(c, g, w, "epoch", s->epoch);
    if (rc == 0)
        rc = put_u64(c, g, w, "cursor", s->cursor);
    if (rc == 0)
        rc = put_str(c, g, w, "rng_name", s->rng_name);
    if (rc == 0)
        rc = put_real_dataset(c, g, w, "m", 1, &m->n_params, s->m);
    if (rc == 0 && s->v)
        rc = put_real_dataset(c, g, w, "v", 1, &m->n_params, s->v);
    if (rc == 0 && s->best)
        rc = put_real_dataset(c, g, w, "best", 1, &m->n_params, s->best);
    if (rc == 0 && s->rng_size)
        rc = put_bytes_dataset(c, g, w, "rng_state", s->rng_state, s->rng_size);
    if (rc == 0 && s->carry_size)
        rc = put_real_dataset(c, g, w, "carry", 1, &s->carry_size, s->carry);
    if (H5Gclose(g) < 0 && rc == 0)
        rc = fail_h5(c, RECUR_EIO, "cannot close /train");
    return rc;
}

/* Everything written as float32 must be finite there: the loader refuses anything else. */
static int check_saveable(ctx_t *c, const recur_model_t *m, const recur_tensor_t *tab, size_t nt)
{
    for (size_t k = 0; k < nt; k++) {
        const size_t i = first_unstorable(m->params + tab[k].offset, tab[k].numel);
        if (i < tab[k].numel)
            return fail(c, RECUR_ENONFINITE,
                        "refusing to save: %s has a non-finite value at element %zu", tab[k].name,
                        i);
    }
    if (!m->has_train)
        return 0;
    const struct {
        const char *name;
        const recur_real *x;
        size_t n;
    } arr[] = {{"m", m->train.m, m->n_params},
               {"v", m->train.v, m->train.v ? m->n_params : 0},
               {"best", m->train.best, m->train.best ? m->n_params : 0},
               {"carry", m->train.carry, m->train.carry_size}};
    for (size_t k = 0; k < sizeof arr / sizeof arr[0]; k++) {
        const size_t i = arr[k].n ? first_unstorable(arr[k].x, arr[k].n) : 0;
        if (i < arr[k].n)
            return fail(c, RECUR_ENONFINITE,
                        "refusing to save: training state %s has a non-finite value at element %zu",
                        arr[k].name, i);
    }
    return 0;
}

/* Writes all of buf to fd, or -1 with errno set. */
static int write_all(int fd, const unsigned char *buf, size_t n)
{
    while (n > 0) {
        const ssize_t k = write(fd, buf, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0) {
            errno = EIO;
            return -1;
        }
        buf += k;
        n -= (size_t)k;
    }
    return 0;
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
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Rough size of the file, so that the in-memory image grows in one or two steps. */
static size_t image_estimate(const recur_model_t *m)
{
    size_t reals = m->n_params;
    if (m->has_train)
        reals += m->n_params + (m->train.v ? m->n_params : 0) + (m->train.best ? m->n_params : 0) +
                 m->train.carry_size;
    size_t bytes = reals <= SIZE_MAX / 8 ? 4 * reals : SIZE_MAX / 2;
    if (m->has_train)
        bytes += m->train.rng_size;
    for (size_t i = 0; i < m->n_meta; i++) {
        const meta_t *e = &m->meta[i];
        for (size_t j = 0; j < e->n && bytes < SIZE_MAX / 4; j++)
            bytes += e->strings ? strlen(e->s[j]) + 1 : sizeof(double);
    }
    return bytes < SIZE_MAX / 4 ? bytes + ((size_t)1 << 20) : SIZE_MAX / 4;
}

/* The whole file as an image in memory (HDF5's core driver, no backing store): HDF5 never touches
 * the disk, so an I/O error cannot leave it with a half-closed file (HDF5 1.10 crashes at exit
 * after an H5Fclose that failed to flush), and the disk write below reports errno. */
static int build_image(ctx_t *c, const recur_model_t *m, const char *path,
                       const recur_tensor_t *tab, size_t nt, unsigned char **image, size_t *size)
{
    int rc = RECUR_EIO;
    hid_t fapl = file_access(), f = -1;
    /* The default (earliest) format bounds: HDF5 1.10's H5Fget_file_image leaves a stale
     * checksum in the newer superblocks. */
    if (fapl < 0 || H5Pset_fapl_core(fapl, image_estimate(m), 0) < 0) {
        fail_h5(c, rc, "cannot make HDF5 file properties");
        goto close_fapl;
    }
    if ((f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
        fail_h5(c, rc, "cannot create an HDF5 file in memory");
        goto close_fapl;
    }
    rc = write_root(c, f, m);
    if (rc == 0)
        rc = write_config(c, f, m);
    if (rc == 0)
        rc = write_weights(c, f, m, tab, nt);
    if (rc == 0 && m->has_train)
        rc = write_train(c, f, m);
    if (rc == 0 && H5Fflush(f, H5F_SCOPE_GLOBAL) < 0)
        rc = fail_h5(c, RECUR_EIO, "cannot flush the HDF5 file");
    ssize_t n = 0;
    if (rc == 0 && (n = H5Fget_file_image(f, NULL, 0)) <= 0)
        rc = fail_h5(c, RECUR_EIO, "cannot get the HDF5 file image");
    if (rc == 0 && !(*image = malloc((size_t)n)))
        rc = fail(c, RECUR_ENOMEM, "out of memory for a file of %zd bytes", n);
    if (rc == 0 && H5Fget_file_image(f, *image, (size_t)n) != n)
        rc = fail_h5(c, RECUR_EIO, "cannot get the HDF5 file image");
    if (H5Fclose(f) < 0 && rc == 0)
        rc = fail_h5(c, RECUR_EIO, "cannot close the HDF5 file");
    if (rc == 0)
        *size = (size_t)n;
close_fapl:
    if (fapl >= 0)
        H5Pclose(fapl);
    return rc;
}

int recur_model_save(const recur_model_t *m, const char *path)
{
    if (!m || !path || !*path) {
        recur_error("model: save: no model or no path");
        return RECUR_EINVAL;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    ctx_t c = {.set = false};
    int rc = RECUR_ENOMEM, fd = -1;
    unsigned char *image = NULL; /* (size) bytes of the HDF5 file */
    size_t size = 0;
    const size_t nt = recur_tensor_count(&m->cfg);
    recur_tensor_t *tab = malloc(nt * sizeof *tab); /* (nt) */
    const size_t tmp_size = strlen(path) + 32;
    char *tmp = malloc(tmp_size);
    if (!tab || !tmp) {
        fail(&c, rc, "out of memory");
        goto done;
    }
    recur_tensor_table(&m->cfg, tab);
    snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid());
    if ((rc = check_saveable(&c, m, tab, nt)) != 0 ||
        (rc = build_image(&c, m, tmp, tab, nt, &image, &size)) != 0)
        goto done;

    rc = RECUR_EIO;
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0) {
        fail(&c, rc, "cannot create temporary file %s: %s", tmp, strerror(errno));
        goto done;
    }
    if (write_all(fd, image, size) < 0 || fsync(fd) < 0) {
        fail(&c, rc, "cannot write temporary file %s: %s", tmp, strerror(errno));
        goto close_tmp;
    }
    if (close(fd) < 0) {
        fd = -1;
        fail(&c, rc, "cannot write temporary file %s: %s", tmp, strerror(errno));
        goto remove_tmp;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        fail(&c, rc, "cannot rename %s to it: %s", tmp, strerror(errno));
        goto remove_tmp;
    }
    fsync_parent(path);
    rc = 0;
    goto done;
close_tmp:
    close(fd);
remove_tmp:
    unlink(tmp);
done:
    free(image);
    free(tmp);
    free(tab);
    if (rc)
        recur_error("%s: %s", path, c.msg);
    return rc;
}

/* ---- Reading -------------------------------------------------------------------------------- */

/* Number of elements of a scalar (1), null (0) or 1-D dataspace; -1 otherwise. */
static int space_elems(hid_t sp, size_t *n)
{
    const H5S_class_t k = H5Sget_simple_extent_type(sp);
    if (k == H5S_SCALAR) {
        *n = 1;
        return 0;
    }
    if (k == H5S_NULL) {
        *n = 0;
        return 0;
    }
    hsize_t d;
    if (k != H5S_SIMPLE || H5Sget_simple_extent_ndims(sp) != 1 ||
        H5Sget_simple_extent_dims(sp, &d, NULL) != 1 || d > SIZE_MAX)
        return -1;
    *n = (size_t)d;
    return 0;
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

static H5T_class_t attr_class(hid_t a)
{
    hid_t t = H5Aget_type(a);
    if (t < 0)
        return H5T_NO_CLASS;
    H5T_class_t k = H5Tget_class(t);
    H5Tclose(t);
    return k;
}

/* Number of elements of attribute a, or a recorded error. */
static int attr_elems(ctx_t *c, hid_t a, const char *where, const char *name, size_t *n)
{
    hid_t sp = H5Aget_space(a);
    if (sp < 0)
        return fail_h5(c, RECUR_EFORMAT, "cannot read attribute %s/%s", where, name);
    int rc = space_elems(sp, n);
    H5Sclose(sp);
    if (rc < 0)
        return fail(c, RECUR_EFORMAT, "attribute %s/%s must be a scalar or a list", where, name);
    if (*n > META_MAX_ELEMS)
        return fail(c, RECUR_EFORMAT, "attribute %s/%s has too many elements", where, name);
    return 0;
}

static void free_strings(char **s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        free(s[i]);
    free(s);
}

/* Reads the variable-length strings of a into list[0..n-1]. */
static int read_vlen_strings(ctx_t *c, hid_t a, hid_t ftype, const char *where, const char *name,
                             char **list, size_t n)
{
    int rc = RECUR_EFORMAT;
    char **ptrs = calloc(n, sizeof *ptrs); /* (n) HDF5-allocated */
    hid_t mt = -1, sp = -1;
    if (!ptrs)
        return fail(c, RECUR_ENOMEM, "out of memory");
    if ((mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0 ||
        H5Tset_cset(mt, H5Tget_cset(ftype)) < 0 || (sp = H5Aget_space(a)) < 0) {
        fail_h5(c, rc, "cannot read attribute %s/%s", where, name);
        goto close_all;
    }
    if (H5Aread(a, mt, ptrs) < 0) {
        fail_h5(c, rc, "cannot read attribute %s/%s", where, name);
        goto close_all;
    }
    rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!(list[i] = strdup(ptrs[i] ? ptrs[i] : "")))
            rc = fail(c, RECUR_ENOMEM, "out of memory");
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

/* Reads the fixed-length strings of a (NUL- or space-padded) into list[0..n-1]. */
static int read_fixed_strings(ctx_t *c, hid_t a, hid_t ftype, const char *where, const char *name,
                              char **list, size_t n)
{
    const size_t size = H5Tget_size(ftype);
    size_t bytes;
    if (size == 0 || size > STR_MAX_BYTES || !recur_mul_ok(n, size, &bytes) ||
        bytes > ATTR_MAX_BYTES)
        return fail(c, RECUR_EFORMAT, "attribute %s/%s: strings too long", where, name);
    const bool space_pad = H5Tget_strpad(ftype) == H5T_STR_SPACEPAD;
    int rc = RECUR_EFORMAT;
    char *buf = malloc(bytes); /* (n, size) */
    hid_t mt = -1;
    if (!buf)
        return fail(c, RECUR_ENOMEM, "out of memory");
    if ((mt = H5Tcopy(ftype)) < 0 || H5Aread(a, mt, buf) < 0) {
        fail_h5(c, rc, "cannot read attribute %s/%s", where, name);
        goto close_all;
    }
    rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *s = buf + i * size;
        size_t len = strnlen(s, size);
        while (space_pad && len > 0 && s[len - 1] == ' ')
            len--;
        if (!(list[i] = strndup(s, len)))
            rc = fail(c, RECUR_ENOMEM, "out of memory");
    }
close_all:
    if (mt >= 0)
        H5Tclose(mt);
    free(buf);
    return rc;
}

/* Reads string attribute a (fixed or variable length, scalar or 1-D) into a NULL-terminated
 * list of *n owned strings. */
static int read_strings(ctx_t *c, hid_t a, const char *where, const char *name, char ***out,
                        size_t *n)
{
    int rc = attr_elems(c, a, where, name, n);
    if (rc)
        return rc;
    hid_t t = H5Aget_type(a);
    if (t < 0)
        return fail_h5(c, RECUR_EFORMAT, "cannot read attribute %s/%s", where, name);
    char **list = calloc(*n + 1, sizeof *list); /* (n + 1) */
    if (!list) {
        rc = fail(c, RECUR_ENOMEM, "out of memory");
        goto close_type;
    }
    const H5T_class_t k = H5Tget_class(t);
    const htri_t vlen = H5Tis_variable_str(t);
    if (k != H5T_STRING || vlen < 0)
        rc = fail(c, RECUR_EFORMAT, "attribute %s/%s must be a string, found %s", where, name,
                  class_name(k));
    else if (*n == 0)
        rc = 0;
    else if (vlen)
        rc = read_vlen_strings(c, a, t, where, name, list, *n);
    else
        rc = read_fixed_strings(c, a, t, where, name, list, *n);
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
static int read_numbers(ctx_t *c, hid_t a, const char *where, const char *name, double **out,
                        size_t *n)
{
    int rc = attr_elems(c, a, where, name, n);
    if (rc)
        return rc;
    const H5T_class_t k = attr_class(a);
    if (k != H5T_INTEGER && k != H5T_FLOAT)
        return fail(c, RECUR_EFORMAT, "attribute %s/%s must be a number, found %s", where, name,
                    class_name(k));
    double *x = malloc((*n ? *n : 1) * sizeof *x); /* (n) */
    if (!x)
        return fail(c, RECUR_ENOMEM, "out of memory");
    if (*n && H5Aread(a, H5T_NATIVE_DOUBLE, x) < 0) {
        free(x);
        return fail_h5(c, RECUR_EFORMAT, "cannot read attribute %s/%s", where, name);
    }
    *out = x;
    return 0;
}

/* Opens attribute name of loc, which must exist. */
static hid_t open_attr(ctx_t *c, hid_t loc, const char *where, const char *name)
{
    const htri_t e = H5Aexists(loc, name);
    if (e <= 0) {
        fail(c, RECUR_EFORMAT, "missing attribute %s/%s", where, name);
        return -1;
    }
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        fail_h5(c, RECUR_EFORMAT, "cannot open attribute %s/%s", where, name);
    return a;
}

/* One string (scalar or a list of one) from attribute name of loc, which must exist. */
static int get_str(ctx_t *c, hid_t loc, const char *where, const char *name, char **out)
{
    hid_t a = open_attr(c, loc, where, name);
    if (a < 0)
        return RECUR_EFORMAT;
    char **list = NULL;
    size_t n = 0;
    int rc = read_strings(c, a, where, name, &list, &n);
    if (rc == 0 && n != 1)
        rc =
            fail(c, RECUR_EFORMAT, "attribute %s/%s must be one string, found %zu", where, name, n);
    if (rc == 0) {
        *out = list[0];
        list[0] = NULL;
    }
    free_strings(list, n);
    H5Aclose(a);
    return rc;
}

/* Opens attribute name of loc, which must be an integer scalar (or a list of one). */
static hid_t open_int_attr(ctx_t *c, hid_t loc, const char *where, const char *name,
                           bool *is_signed)
{
    hid_t a = open_attr(c, loc, where, name);
    if (a < 0)
        return -1;
    size_t n;
    hid_t t = -1;
    if (attr_elems(c, a, where, name, &n) != 0)
        goto fail_attr;
    if (n != 1) {
        fail(c, RECUR_EFORMAT, "attribute %s/%s must be one integer, found %zu values", where, name,
             n);
        goto fail_attr;
    }
    if ((t = H5Aget_type(a)) < 0) {
        fail_h5(c, RECUR_EFORMAT, "cannot read attribute %s/%s", where, name);
        goto fail_attr;
    }
    const H5T_class_t k = H5Tget_class(t);
    if (k != H5T_INTEGER) {
        fail(c, RECUR_EFORMAT, "attribute %s/%s must be an integer, found %s", where, name,
             class_name(k));
        goto fail_type;
    }
    *is_signed = H5Tget_sign(t) != H5T_SGN_NONE;
    H5Tclose(t);
    return a;
fail_type:
    H5Tclose(t);
fail_attr:
    H5Aclose(a);
    return -1;
}

static int get_i64(ctx_t *c, hid_t loc, const char *where, const char *name, int64_t *out)
{
    bool sgn;
    hid_t a = open_int_attr(c, loc, where, name, &sgn);
    if (a < 0)
        return RECUR_EFORMAT;
    int rc = 0;
    uint64_t u;
    if (sgn ? H5Aread(a, H5T_NATIVE_INT64, out) < 0 : H5Aread(a, H5T_NATIVE_UINT64, &u) < 0)
        rc = fail_h5(c, RECUR_EFORMAT, "cannot read attribute %s/%s", where, name);
    else if (!sgn && u > INT64_MAX)
        rc = fail(c, RECUR_EFORMAT, "attribute %s/%s is out of range", where, name);
    else if (!sgn)
        *out = (int64_t)u;
    H5Aclose(a);
    return rc;
}

static int get_u64(ctx_t *c, hid_t loc, const char *where, const char *name, uint64_t *out)
{
    bool sgn;
    hid_t a = open_int_attr(c, loc, where, name, &sgn);
    if (a < 0)
        return RECUR_EFORMAT;
    int rc = 0;
    int64_t s;
    if (sgn ? H5Aread(a, H5T_NATIVE_INT64, &s) < 0 : H5Aread(a, H5T_NATIVE_UINT64, out) < 0)
        rc = fail_h5(c, RECUR_EFORMAT, "cannot read attribute %s/%s", where, name);
    else if (sgn && s < 0)
        rc =
            fail(c, RECUR_EFORMAT, "attribute %s/%s is negative (%lld)", where, name, (long long)s);
    else if (sgn)
        *out = (uint64_t)s;
    H5Aclose(a);
    return rc;
}

/* One number (integer or floating point) from attribute name of loc, which must exist. */
static int get_f64(ctx_t *c, hid_t loc, const char *where, const char *name, double *out)
{
    hid_t a = open_attr(c, loc, where, name);
    if (a < 0)
        return RECUR_EFORMAT;
    double *x = NULL;
    size_t n = 0;
    int rc = read_numbers(c, a, where, name, &x, &n);
    if (rc == 0 && n != 1)
        rc =
            fail(c, RECUR_EFORMAT, "attribute %s/%s must be one number, found %zu", where, name, n);
    if (rc == 0)
        *out = x[0];
    free(x);
    H5Aclose(a);
    return rc;
}

/* Opens group name of f, which must exist. */
static hid_t open_group(ctx_t *c, hid_t f, const char *name)
{
    const htri_t e = H5Lexists(f, name, H5P_DEFAULT);
    if (e <= 0) {
        fail(c, RECUR_EFORMAT, "missing group /%s", name);
        return -1;
    }
    hid_t g = H5Gopen2(f, name, H5P_DEFAULT);
    if (g < 0)
        fail_h5(c, RECUR_EFORMAT, "/%s is not a group", name);
    return g;
}

/* Root attributes; *cmdline gets the command line (NULL when absent). */
static int read_root(ctx_t *c, hid_t f, char **cmdline)
{
    char *fmt = NULL, *ver = NULL;
    int64_t version;
    int rc;
    *cmdline = NULL;
    if (H5Aexists(f, "format") <= 0)
        return fail(c, RECUR_EFORMAT, "not a recur model file (no 'format' attribute)");
    ctx_t quiet = {.set = false};
    if (get_str(&quiet, f, "", "format", &fmt) != 0)
        return fail(c, RECUR_EFORMAT, "not a recur model file (%s)", quiet.msg);
    if (strcmp(fmt, RECUR_MODEL_FORMAT) != 0) {
        rc = fail(c, RECUR_EFORMAT, "not a recur model file (format is '%.64s', expected '%s')",
                  fmt, RECUR_MODEL_FORMAT);
        goto free_fmt;
    }
    if ((rc = get_i64(c, f, "", "format_version", &version)) != 0)
        goto free_fmt;
    if (version < 1 || version > RECUR_MODEL_FORMAT_VERSION) {
        rc = fail(c, RECUR_EFORMAT, "unsupported format_version %lld (this recur reads %d)",
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
static int read_config(ctx_t *c, hid_t g, recur_config_t *cfg)
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
            rc = fail(c, RECUR_EFORMAT, "%s/%s = '%.64s' is not one of %s", w, str_names[i], s,
                      str_allowed[i]);
        free(s);
    }
    for (size_t i = 0; rc == 0 && i < sizeof size_attrs / sizeof size_attrs[0]; i++) {
        int64_t v;
        if ((rc = get_i64(c, g, w, size_attrs[i].name, &v)) != 0)
            break;
        if (v < 1 || v > size_attrs[i].max) {
            rc = fail(c, RECUR_EFORMAT, "%s/%s = %lld is out of range 1..%lld", w,
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
        rc = fail(c, RECUR_EFORMAT, "%s/bidirectional = %lld must be 0 or 1", w, (long long)bi);
    cfg->bidirectional = bi == 1;
    if (rc == 0 && (rc = get_f64(c, g, w, "dropout", &cfg->dropout)) == 0 &&
        !(cfg->dropout >= 0.0 && cfg->dropout < 1.0))
        rc = fail(c, RECUR_EFORMAT, "%s/dropout = %g is out of range [0, 1)", w, cfg->dropout);
    if (rc == 0 && cfg->task == RECUR_TASK_CLASSIFY && cfg->num_outputs < 2)
        rc = fail(c, RECUR_EFORMAT,
                  "%s/num_outputs = %zu: classification needs at least 2 "
                  "classes",
                  w, cfg->num_outputs);
    /* The backstop: logs its own line only if the checks above missed something. */
    if (rc == 0 && recur_config_validate(cfg) != 0)
        rc = fail(c, RECUR_EFORMAT, "invalid configuration in /config");
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
static int read_meta(ctx_t *c, hid_t g, meta_t **out, size_t *n_out)
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
            rc = fail_h5(c, RECUR_EFORMAT, "cannot list the attributes of /config");
            goto free_names;
        }
    }
    if (names.n && !(list = calloc(names.n, sizeof *list))) {
        rc = fail(c, RECUR_ENOMEM, "out of memory");
        goto free_names;
    }
    for (size_t i = 0; rc == 0 && i < names.n; i++) {
        const char *key = names.names[i];
        if (is_fixed_key(key))
            continue;
        hid_t a = open_attr(c, g, w, key);
        if (a < 0) {
            rc = RECUR_EFORMAT;
            break;
        }
        meta_t *e = &list[n];
        const H5T_class_t k = attr_class(a);
        if (!(e->key = strdup(key)))
            rc = fail(c, RECUR_ENOMEM, "out of memory");
        else if (k == H5T_STRING) {
            e->strings = true;
            rc = read_strings(c, a, w, key, &e->s, &e->n);
        } else if (k == H5T_INTEGER || k == H5T_FLOAT)
            rc = read_numbers(c, a, w, key, &e->x, &e->n);
        else
            rc = fail(c, RECUR_EFORMAT,
                      "attribute %s/%s has %s type, expected strings or "
                      "numbers",
                      w, key, class_name(k));
        n++;
        H5Aclose(a);
    }
    if (rc) {
        meta_free_all(list, n);
        list = NULL;
        n = 0;
    }
    *out = list;
    *n_out = n;
free_names:
    free_strings(names.names, names.n);
    return rc;
}

static void format_shape(char *buf, size_t size, int rank, const hsize_t *dims)
{
    size_t k = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < rank && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%llu", i ? ", " : "",
                              (unsigned long long)dims[i]);
    if (k < size)
        snprintf(buf + k, size - k, rank == 1 ? ",)" : ")");
}

/* Checks that dataset where/name of loc exists, has values of class want and exactly the shape
 * dims[0..rank-1]. */
static int check_dataset(ctx_t *c, hid_t loc, const char *where, const char *name, H5T_class_t want,
                         size_t rank, const size_t *dims)
{
    const htri_t e = H5Lexists(loc, name, H5P_DEFAULT);
    if (e <= 0)
        return fail(c, RECUR_EFORMAT, "missing dataset %s/%s", where, name);
    int rc = RECUR_EFORMAT;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0)
        return fail_h5(c, rc, "%s/%s is not a readable dataset", where, name);
    hid_t t = H5Dget_type(d);
    if (t < 0) {
        fail_h5(c, rc, "cannot read the type of %s/%s", where, name);
        goto close_dataset;
    }
    const H5T_class_t k = H5Tget_class(t);
    if (k != want || (want == H5T_INTEGER && H5Tget_size(t) != 1)) {
        fail(c, rc, "%s/%s has %s values, expected %s", where, name, class_name(k),
             want == H5T_FLOAT ? "floating-point" : "bytes (uint8)");
        goto close_type;
    }
    hid_t sp = H5Dget_space(d);
    if (sp < 0) {
        fail_h5(c, rc, "cannot read the shape of %s/%s", where, name);
        goto close_type;
    }
    hsize_t found[H5S_MAX_RANK], expect[2] = {dims[0], rank > 1 ? dims[1] : 1};
    const int r = H5Sget_simple_extent_type(sp) == H5S_SIMPLE ? H5Sget_simple_extent_ndims(sp) : 0;
    if (r < 0 || H5Sget_simple_extent_dims(sp, found, NULL) < 0) {
        fail_h5(c, rc, "cannot read the shape of %s/%s", where, name);
        goto close_space;
    }
    bool same = (size_t)r == rank;
    for (int i = 0; same && i < r; i++)
        same = found[i] == expect[i];
    if (!same) {
        char fs[96], es[64];
        format_shape(fs, sizeof fs, r, found);
        format_shape(es, sizeof es, (int)rank, expect);
        fail(c, rc, "%s/%s: expected shape %s, found %s", where, name, es, fs);
        goto close_space;
    }
    rc = 0;
close_space:
    H5Sclose(sp);
close_type:
    H5Tclose(t);
close_dataset:
    H5Dclose(d);
    return rc;
}

/* /weights holds exactly the tensors of tab, each float with the tensor's shape. */
static int check_weights(ctx_t *c, hid_t g, const recur_tensor_t *tab, size_t nt)
{
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < nt; k++) {
        if (H5Lexists(g, tab[k].name, H5P_DEFAULT) <= 0)
            return fail(c, RECUR_EFORMAT, "missing tensor /weights/%s", tab[k].name);
        rc = check_dataset(c, g, "/weights", tab[k].name, H5T_FLOAT, tab[k].rank, tab[k].dims);
    }
    if (rc)
        return rc;
    H5G_info_t info;
    if (H5Gget_info(g, &info) < 0)
        return fail_h5(c, RECUR_EFORMAT, "cannot list /weights");
    if (info.nlinks == nt)
        return 0; /* every expected name is present and names are unique: nothing else */
    for (hsize_t i = 0; i < info.nlinks; i++) {
        char name[256];
        const ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name,
                                               sizeof name, H5P_DEFAULT);
        if (len < 0)
            return fail_h5(c, RECUR_EFORMAT, "cannot list /weights");
        bool known = false;
        for (size_t k = 0; !known && k < nt; k++)
            known = (size_t)len < sizeof name && strcmp(name, tab[k].name) == 0;
        if (!known)
            return fail(c, RECUR_EFORMAT,
                        "unexpected entry /weights/%s (not a tensor of this "
                        "configuration)",
                        name);
    }
    return fail(c, RECUR_EFORMAT, "unexpected entries in /weights");
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

/* Reads all of dataset name of loc (shape and type class already checked) as mtype (called
 * mname in messages) into x. */
static int read_dataset(ctx_t *c, hid_t loc, const char *where, const char *name, hid_t mtype,
                        const char *mname, void *x)
{
    int rc = RECUR_EIO;
    bool range = false;
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (dxpl < 0 || H5Pset_type_conv_cb(dxpl, conv_range, &range) < 0) {
        fail_h5(c, rc, "cannot make HDF5 transfer properties");
        goto close_dxpl;
    }
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0) {
        fail_h5(c, rc, "cannot open %s/%s", where, name);
        goto close_dxpl;
    }
    if (H5Dread(d, mtype, H5S_ALL, H5S_ALL, dxpl, x) >= 0)
        rc = 0;
    else if (range)
        rc = fail(c, RECUR_EFORMAT, "%s/%s has a value out of the range of %s", where, name, mname);
    else
        fail_h5(c, rc, "cannot read %s/%s", where, name);
    H5Dclose(d);
close_dxpl:
    if (dxpl >= 0)
        H5Pclose(dxpl);
    return rc;
}

/* Reads float dataset name of loc (shape already checked, n elements) into x as recur_real and
 * checks every value is finite. */
static int read_real_dataset(ctx_t *c, hid_t loc, const char *where, const char *name,
                             recur_real *x, size_t n)
{
    int rc = read_dataset(c, loc, where, name, REAL_H5, REAL_NAME, x);
    size_t i;
    if (rc == 0 && (i = first_nonfinite(x, n)) < n)
        rc = fail(c, RECUR_EFORMAT, "%s/%s has a non-finite value at element %zu", where, name, i);
    return rc;
}

/* What /train holds, from its attributes and dataset shapes (checked before anything is read). */
typedef struct {
    bool present, has_v, has_best;
    recur_train_state_t s; /* counters, names and sizes; no arrays */
} train_info_t;

static int copy_name(ctx_t *c, const char *what, const char *s, char *dst, size_t size)
{
    if (strlen(s) >= size)
        return fail(c, RECUR_EFORMAT, "%s is too long", what);
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

/* Length of 1-D dataset name of loc, which must exist (0 when absent and optional). */
static int dataset_len(ctx_t *c, hid_t loc, const char *where, const char *name, size_t *n)
{
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0)
        return fail_h5(c, RECUR_EFORMAT, "%s/%s is not a readable dataset", where, name);
    int rc = 0;
    hsize_t dim = 0;
    hid_t sp = H5Dget_space(d);
    if (sp < 0 || H5Sget_simple_extent_ndims(sp) != 1 ||
        H5Sget_simple_extent_dims(sp, &dim, NULL) != 1)
        rc = fail(c, RECUR_EFORMAT, "%s/%s must be one-dimensional", where, name);
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(d);
    *n = (size_t)dim;
    return rc;
}

static int check_train(ctx_t *c, hid_t f, size_t n_params, train_info_t *ti)
{
    const char *w = "/train";
    memset(ti, 0, sizeof *ti);
    const htri_t e = H5Lexists(f, "train", H5P_DEFAULT);
    if (e < 0)
        return fail_h5(c, RECUR_EFORMAT, "cannot look for /train");
    if (e == 0)
        return 0;
    hid_t g = open_group(c, f, "train");
    if (g < 0)
        return RECUR_EFORMAT;
    recur_train_state_t *s = &ti->s;
    char *opt = NULL, *rng = NULL;
    int rc = get_str(c, g, w, "optimizer", &opt);
    if (rc == 0 && !is_optim_name(opt))
        rc =
            fail(c, RECUR_EFORMAT, "%s/optimizer = '%.32s' is not one of sgd, adam, adamw", w, opt);
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
        if (s->rng_size > RNG_MAX_BYTES)
            rc = fail(c, RECUR_EFORMAT, "%s/rng_state is too large", w);
        else
            rc = check_dataset(c, g, w, "rng_state", H5T_INTEGER, 1, &s->rng_size);
    }
    if (rc == 0 && H5Lexists(g, "carry", H5P_DEFAULT) > 0 &&
        (rc = dataset_len(c, g, w, "carry", &s->carry_size)) == 0) {
        if (s->carry_size > CARRY_MAX)
            rc = fail(c, RECUR_EFORMAT, "%s/carry is too large", w);
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
static int read_train(ctx_t *c, hid_t f, recur_model_t *m, const train_info_t *ti)
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
        rc = fail(c, RECUR_ENOMEM, "out of memory");
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
    if (h5 <= 0)
        return fail(c, RECUR_EFORMAT, "not an HDF5 file");
    return 0;
}

recur_model_t *recur_model_load(const char *path)
{
    if (!path || !*path) {
        recur_error("model: load: no path");
        return NULL;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    ctx_t c = {.set = false};
    recur_model_t *m = NULL;
    recur_config_t cfg;
    recur_tensor_t *tab = NULL; /* (nt) */
    meta_t *meta = NULL;        /* (n_meta) */
    size_t nt = 0, n_meta = 0;
    char *cmdline = NULL;
    train_info_t ti = {.present = false};
    hid_t fapl = -1, f = -1, gc = -1, gw = -1;
    int rc = check_openable(&c, path);
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
        rc = fail(&c, RECUR_ENOMEM, "out of memory");
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
    if (!(m = model_new(&cfg))) {
        rc = fail(&c, RECUR_ENOMEM, "out of memory for %zu parameters", recur_param_count(&cfg));
        goto close_weights;
    }
    for (size_t k = 0; rc == 0 && k < nt; k++)
        rc = read_real_dataset(&c, gw, "/weights", tab[k].name, m->params + tab[k].offset,
                               tab[k].numel);
    if (rc == 0 && ti.present)
        rc = read_train(&c, f, m, &ti);
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
    if (H5Fclose(f) < 0 && rc == 0)
        rc = fail_h5(&c, RECUR_EIO, "cannot close");
close_fapl:
    H5Pclose(fapl);
done:
    meta_free_all(meta, n_meta);
    free(cmdline);
    free(tab);
    if (rc) {
        recur_model_free(m);
        m = NULL;
        recur_error("%s: %s", path, c.msg);
    }
    return m;
}
