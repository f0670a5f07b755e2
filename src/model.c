/* model.c - the model: configuration, flat parameters, provenance, encoding metadata and optional
 * training state, and its HDF5 file (DESIGN.md "Model file"), written atomically (temporary file,
 * flush, fsync, rename) and read back with every attribute, shape and value validated first. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include <recur/model.h>

#include "h5util.h"

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

/* ---- Writing ------------------------------------------------------------------------------- */

/* Float32 dataset where/name of loc with shape dims[0..rank-1], from x (converted in the double
 * build; values were checked to be finite in float32 beforehand). */
static int put_real_dataset(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name,
                            size_t rank, const size_t *dims, const recur_real *x)
{
    hsize_t hd[2];
    for (size_t i = 0; i < rank; i++)
        hd[i] = dims[i];
    float *buf = NULL; /* (numel) float32 copy, double build only */
    const float *src;
#if RECUR_REAL_IS_DOUBLE
    const size_t n = rank == 1 ? dims[0] : dims[0] * dims[1];
    if (!(buf = malloc((n ? n : 1) * sizeof *buf)))
        return recur_h5_fail(c, RECUR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        buf[i] = (float)x[i];
    src = buf;
#else
    src = x;
#endif
    const int rc = recur_h5_put_dataset(c, loc, where, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                                        (int)rank, hd, H5P_DEFAULT, src);
    free(buf);
    return rc;
}

/* Creates group name of f, or records why not. With track_order, the group's attributes keep
 * their creation order, which also gives it the object header that stores large attributes (a
 * long class list) densely instead of failing beyond 64 kB. */
static hid_t make_group(recur_h5_ctx_t *c, hid_t f, const char *name, bool track_order)
{
    hid_t g = -1, gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl >= 0 &&
        (!track_order ||
         H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0))
        g = H5Gcreate2(f, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (g < 0)
        recur_h5_fail_h5(c, RECUR_EIO, "cannot create group /%s", name);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    return g;
}

static int write_root(recur_h5_ctx_t *c, hid_t f, const recur_model_t *m)
{
    const recur_h5_str_t k = RECUR_H5_STR_FIXED;
    int rc = recur_h5_put_str(c, f, "", "format", RECUR_MODEL_FORMAT, k);
    if (rc == 0)
        rc = recur_h5_put_i32(c, f, "", "format_version", RECUR_MODEL_FORMAT_VERSION);
    if (rc == 0)
        rc = recur_h5_put_str(c, f, "", "recur_version", RECUR_VERSION, k);
    if (rc == 0)
        rc = recur_h5_put_str(c, f, "", "command_line", m->cmdline ? m->cmdline : "", k);
    return rc;
}

static int write_config(recur_h5_ctx_t *c, hid_t f, const recur_model_t *m)
{
    const recur_config_t *cfg = &m->cfg;
    const char *w = "/config";
    const recur_h5_str_t k = RECUR_H5_STR_FIXED;
    hid_t g = make_group(c, f, "config", true);
    if (g < 0)
        return RECUR_EIO;
    int rc = recur_h5_put_str(c, g, w, "task", recur_task_name(cfg->task), k);
    if (rc == 0)
        rc = recur_h5_put_str(c, g, w, "cell", recur_cell_name(cfg->cell), k);
    if (rc == 0)
        rc = recur_h5_put_i64(c, g, w, "input_size", (int64_t)cfg->input_size);
    if (rc == 0)
        rc = recur_h5_put_i64(c, g, w, "hidden_size", (int64_t)cfg->hidden_size);
    if (rc == 0)
        rc = recur_h5_put_i64(c, g, w, "num_layers", (int64_t)cfg->num_layers);
    if (rc == 0)
        rc = recur_h5_put_i64(c, g, w, "num_outputs", (int64_t)cfg->num_outputs);
    if (rc == 0)
        rc = recur_h5_put_i32(c, g, w, "bidirectional", cfg->bidirectional ? 1 : 0);
    if (rc == 0)
        rc = recur_h5_put_str(c, g, w, "head", recur_head_name(cfg->head), k);
    if (rc == 0)
        rc = recur_h5_put_str(c, g, w, "pool", recur_pool_name(cfg->pool), k);
    if (rc == 0)
        rc = recur_h5_put_attr(c, g, w, "dropout", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, true, 1,
                               &cfg->dropout);
    for (size_t i = 0; rc == 0 && i < m->n_meta; i++) {
        const meta_t *e = &m->meta[i];
        if (e->strings)
            rc = recur_h5_put_strs(c, g, w, e->key, (const char *const *)e->s, e->n);
        else
            rc = recur_h5_put_attr(c, g, w, e->key, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, false, e->n,
                                   e->x);
    }
    if (H5Gclose(g) < 0 && rc == 0)
        rc = recur_h5_fail_h5(c, RECUR_EIO, "cannot close /config");
    return rc;
}

static int write_weights(recur_h5_ctx_t *c, hid_t f, const recur_model_t *m,
                         const recur_tensor_t *tab, size_t nt)
{
    hid_t g = make_group(c, f, "weights", false);
    if (g < 0)
        return RECUR_EIO;
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < nt; k++)
        rc = put_real_dataset(c, g, "/weights", tab[k].name, tab[k].rank, tab[k].dims,
                              m->params + tab[k].offset);
    if (H5Gclose(g) < 0 && rc == 0)
        rc = recur_h5_fail_h5(c, RECUR_EIO, "cannot close /weights");
    return rc;
}

static int write_train(recur_h5_ctx_t *c, hid_t f, const recur_model_t *m)
{
    const recur_train_state_t *s = &m->train;
    const char *w = "/train";
    const recur_h5_str_t k = RECUR_H5_STR_FIXED;
    hid_t g = make_group(c, f, "train", false);
    if (g < 0)
        return RECUR_EIO;
    int rc = recur_h5_put_str(c, g, w, "optimizer", s->optimizer, k);
    if (rc == 0)
        rc = recur_h5_put_u64(c, g, w, "step", s->step);
    if (rc == 0)
        rc = recur_h5_put_u64(c, g, w, "skipped", s->skipped);
    if (rc == 0)
        rc = recur_h5_put_u64(c, g, w, "epoch", s->epoch);
    if (rc == 0)
        rc = recur_h5_put_u64(c, g, w, "cursor", s->cursor);
    if (rc == 0)
        rc = recur_h5_put_str(c, g, w, "rng_name", s->rng_name, k);
    if (rc == 0)
        rc = put_real_dataset(c, g, w, "m", 1, &m->n_params, s->m);
    if (rc == 0 && s->v)
        rc = put_real_dataset(c, g, w, "v", 1, &m->n_params, s->v);
    if (rc == 0 && s->best)
        rc = put_real_dataset(c, g, w, "best", 1, &m->n_params, s->best);
    const hsize_t rng_dim = s->rng_size;
    if (rc == 0 && s->rng_size)
        rc = recur_h5_put_dataset(c, g, w, "rng_state", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, &rng_dim,
                                  H5P_DEFAULT, s->rng_state);
    if (rc == 0 && s->carry_size)
        rc = put_real_dataset(c, g, w, "carry", 1, &s->carry_size, s->carry);
    if (H5Gclose(g) < 0 && rc == 0)
        rc = recur_h5_fail_h5(c, RECUR_EIO, "cannot close /train");
    return rc;
}

/* Everything written as float32 must be finite there: the loader refuses anything else. */
static int check_saveable(recur_h5_ctx_t *c, const recur_model_t *m, const recur_tensor_t *tab,
                          size_t nt)
{
    for (size_t k = 0; k < nt; k++) {
        const size_t i = first_unstorable(m->params + tab[k].offset, tab[k].numel);
        if (i < tab[k].numel)
            return recur_h5_fail(c, RECUR_ENONFINITE,
                                 "refusing to save: %s has a non-finite value at element %zu",
                                 tab[k].name, i);
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
            return recur_h5_fail(
                c, RECUR_ENONFINITE,
                "refusing to save: training state %s has a non-finite value at element %zu",
                arr[k].name, i);
    }
    return 0;
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

/* What fill_model() writes: the model and its tensor table. */
typedef struct {
    const recur_model_t *m;
    const recur_tensor_t *tab; /* (nt) */
    size_t nt;
} save_arg_t;

static int fill_model(recur_h5_ctx_t *c, hid_t f, const void *arg)
{
    const save_arg_t *a = arg;
    int rc = write_root(c, f, a->m);
    if (rc == 0)
        rc = write_config(c, f, a->m);
    if (rc == 0)
        rc = write_weights(c, f, a->m, a->tab, a->nt);
    if (rc == 0 && a->m->has_train)
        rc = write_train(c, f, a->m);
    return rc;
}

int recur_model_save(const recur_model_t *m, const char *path)
{
    if (!m || !path || !*path) {
        recur_error("model: save: no model or no path");
        return RECUR_EINVAL;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    recur_h5_ctx_t c = {.set = false};
    const size_t nt = recur_tensor_count(&m->cfg);
    recur_tensor_t *tab = malloc(nt * sizeof *tab); /* (nt) */
    int rc = tab ? 0 : recur_h5_fail(&c, RECUR_ENOMEM, "out of memory");
    if (rc == 0) {
        recur_tensor_table(&m->cfg, tab);
        rc = check_saveable(&c, m, tab, nt);
    }
    if (rc) {
        recur_h5_report(&c, path);
    } else {
        /* Made in memory and written out: see recur_h5_save(). Logs its own failure. */
        const save_arg_t a = {m, tab, nt};
        rc = recur_h5_save(path, image_estimate(m), fill_model, &a);
    }
    free(tab);
    return rc;
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
    if (sh.kind == H5S_SIMPLE && sh.dims[0] > META_MAX_ELEMS)
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

static int get_i64(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name, int64_t *out)
{
    char what[320];
    bool sgn;
    hid_t a = open_int_attr(c, loc, where, name, attr_what(what, sizeof what, where, name), &sgn);
    if (a < 0)
        return RECUR_EFORMAT;
    uint64_t u;
    int rc = sgn ? recur_h5_attr_read(c, a, H5T_NATIVE_INT64, what, out)
                 : recur_h5_attr_read(c, a, H5T_NATIVE_UINT64, what, &u);
    if (rc == 0 && !sgn && u > INT64_MAX)
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s is out of range", what);
    else if (rc == 0 && !sgn)
        *out = (int64_t)u;
    H5Aclose(a);
    return rc;
}

static int get_u64(recur_h5_ctx_t *c, hid_t loc, const char *where, const char *name, uint64_t *out)
{
    char what[320];
    bool sgn;
    hid_t a = open_int_attr(c, loc, where, name, attr_what(what, sizeof what, where, name), &sgn);
    if (a < 0)
        return RECUR_EFORMAT;
    int64_t s;
    int rc = sgn ? recur_h5_attr_read(c, a, H5T_NATIVE_INT64, what, &s)
                 : recur_h5_attr_read(c, a, H5T_NATIVE_UINT64, what, out);
    if (rc == 0 && sgn && s < 0)
        rc = recur_h5_fail(c, RECUR_EFORMAT, "%s is negative (%lld)", what, (long long)s);
    else if (rc == 0 && sgn)
        *out = (uint64_t)s;
    H5Aclose(a);
    return rc;
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
        if (is_fixed_key(key))
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
    if (rc == 0 && !is_optim_name(opt))
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
        if (s->rng_size > RNG_MAX_BYTES)
            rc = recur_h5_fail(c, RECUR_EFORMAT, "%s/rng_state is too large", w);
        else
            rc = check_dataset(c, g, w, "rng_state", H5T_INTEGER, 1, &s->rng_size);
    }
    if (rc == 0 && H5Lexists(g, "carry", H5P_DEFAULT) > 0 &&
        (rc = dataset_len(c, g, w, "carry", &s->carry_size)) == 0) {
        if (s->carry_size > CARRY_MAX)
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
    if (!(m = model_new(&cfg))) {
        rc = recur_h5_fail(&c, RECUR_ENOMEM, "out of memory for %zu parameters",
                           recur_param_count(&cfg));
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
    rc = recur_h5_close(&c, f, rc);
done:
    meta_free_all(meta, n_meta);
    free(cmdline);
    free(tab);
    if (rc) {
        recur_model_free(m);
        m = NULL;
        recur_h5_report(&c, path);
    }
    return m;
}
