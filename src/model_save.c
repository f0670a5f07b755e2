/* model_save.c - the model's HDF5 file (DESIGN.md "Model file") written whole: root provenance,
 * /config with the encoding lists, /weights as float32 in PyTorch's names and shapes, /train;
 * made in memory and written atomically (h5util.h, recur/outfile.h). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "h5util.h"
#include "model_impl.h"

/* Index of the first element that would not be finite in float32, the storage type of the
 * file; n when all are finite there. */
static size_t first_unstorable(const recur_real *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || fabs((double)x[i]) > FLT_MAX)
            return i;
    return n;
}

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

int recur_model_write_baselines(recur_h5_ctx_t *c, hid_t f, const recur_model_t *m)
{
    hid_t g = make_group(c, f, "baselines", false);
    if (g < 0)
        return RECUR_EIO;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < m->baselines->n; i++) {
        const recur_baseline_t *b = &m->baselines->b[i];
        const char *name = recur_baseline_name(b->kind);
        char w[64];
        snprintf(w, sizeof w, "/baselines/%s", name);
        hid_t h = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (h < 0) {
            rc = recur_h5_fail_h5(c, RECUR_EIO, "cannot create group %s", w);
            break;
        }
        rc = recur_h5_put_str(c, h, w, "task", recur_task_name(b->task), RECUR_H5_STR_FIXED);
        const int64_t ints[4] = {(int64_t)b->K, (int64_t)b->k, (int64_t)b->T, (int64_t)b->F};
        static const char *const int_names[4] = {"outputs", "k", "length", "features"};
        for (size_t j = 0; rc == 0 && j < 4; j++)
            rc = recur_h5_put_i64(c, h, w, int_names[j], ints[j]);
        if (rc == 0)
            rc = recur_h5_put_attr(c, h, w, "l2", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, true, 1,
                                   &b->l2);
        if (rc == 0)
            rc = recur_h5_put_attr(c, h, w, "val_acc", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, true, 1,
                                   &b->val_acc);
        const hsize_t wd[2] = {b->K, b->F}, bd = b->K;
        if (rc == 0 && b->F)
            rc = recur_h5_put_dataset(c, h, w, "weights", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, wd,
                                      H5P_DEFAULT, b->w);
        if (rc == 0)
            rc = recur_h5_put_dataset(c, h, w, "bias", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &bd,
                                      H5P_DEFAULT, b->w + b->K * b->F);
        if (H5Gclose(h) < 0 && rc == 0)
            rc = recur_h5_fail_h5(c, RECUR_EIO, "cannot close %s", w);
    }
    if (H5Gclose(g) < 0 && rc == 0)
        rc = recur_h5_fail_h5(c, RECUR_EIO, "cannot close /baselines");
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
    for (size_t i = 0; m->baselines && i < m->baselines->n && bytes < SIZE_MAX / 4; i++)
        bytes += sizeof(double) * m->baselines->b[i].K * (m->baselines->b[i].F + 1) + 4096;
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
    if (rc == 0 && a->m->baselines)
        rc = recur_model_write_baselines(c, f, a->m);
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
