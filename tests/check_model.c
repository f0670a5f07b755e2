/* check_model.c - the model file: bit-exact round trips of every cell, depth and direction with
 * state_dict names and shapes checked on disk; configuration, metadata and training state round
 * trips; atomic saves; and one refusal per kind of bad file, each made by hand with HDF5. */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <hdf5.h>

#include <recur/model.h>

#include "testutil.h"

/* ---- Helpers -------------------------------------------------------------------------------- */

static char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *dir = malloc(4096);
    ck_assert_ptr_nonnull(dir);
    snprintf(dir, 4096, "%s/recur_model_XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void remove_tmpdir(char *dir)
{
    chmod(dir, 0700);
    ck_assert_int_eq(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(dir);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Number of entries of dir other than . and .. */
static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* stderr is redirected to a temporary file between capture_start() and capture_end(), which
 * returns what was written (static buffer). */
static int saved_stderr = -1;
static FILE *capture_file;
static char captured[8192];

static void capture_start(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    ck_assert_ptr_nonnull(capture_file);
    saved_stderr = dup(2);
    ck_assert_int_ge(saved_stderr, 0);
    ck_assert_int_ge(dup2(fileno(capture_file), 2), 0);
}

static const char *capture_end(void)
{
    fflush(stderr);
    ck_assert_int_ge(dup2(saved_stderr, 2), 0);
    close(saved_stderr);
    rewind(capture_file);
    size_t n = fread(captured, 1, sizeof captured - 1, capture_file);
    captured[n] = '\0';
    fclose(capture_file);
    return captured;
}

/* Every HDF5 file and object the library opened has been closed again, on every path. */
static void assert_no_open_h5(void)
{
    ck_assert_int_eq(H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static recur_config_t make_cfg(recur_cell_t cell, size_t L, bool bidir)
{
    recur_config_t c = {0};
    c.cell = cell;
    c.input_size = 3;
    c.hidden_size = 4;
    c.num_layers = L;
    c.bidirectional = bidir;
    c.head = RECUR_HEAD_SEQ;
    c.pool = RECUR_POOL_LAST;
    c.task = RECUR_TASK_CLASSIFY;
    c.num_outputs = 3;
    return c;
}

static gsl_rng *rng_seeded(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    ck_assert_ptr_nonnull(r);
    gsl_rng_set(r, seed);
    return r;
}

/* The state_dict of DESIGN.md's Net, written out here from PyTorch's naming (not from
 * params.c): names, shapes and offsets in the flat block, in state_dict order. */
typedef struct {
    char name[48];
    int rank;
    hsize_t dims[2];
    size_t offset, numel;
} ttensor_t;

static size_t state_dict(size_t G, size_t I, size_t H, size_t L, bool bidir, size_t O,
                         ttensor_t *out)
{
    const size_t D = bidir ? 2 : 1;
    size_t k = 0, off = 0;
    for (size_t l = 0; l < L; l++)
        for (size_t d = 0; d < D; d++) {
            const char *sfx = d ? "_reverse" : "";
            const char *kind[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
            for (int j = 0; j < 4; j++) {
                ttensor_t *t = &out[k++];
                snprintf(t->name, sizeof t->name, "rnn.%s_l%zu%s", kind[j], l, sfx);
                t->rank = j < 2 ? 2 : 1;
                t->dims[0] = G * H;
                t->dims[1] = j == 0 ? (l ? D * H : I) : j == 1 ? H : 1;
                t->numel = (size_t)(t->dims[0] * t->dims[1]);
                t->offset = off;
                off += t->numel;
            }
        }
    ttensor_t *w = &out[k++], *b = &out[k++];
    snprintf(w->name, sizeof w->name, "head.weight");
    w->rank = 2;
    w->dims[0] = O;
    w->dims[1] = D * H;
    w->numel = O * D * H;
    w->offset = off;
    off += w->numel;
    snprintf(b->name, sizeof b->name, "head.bias");
    b->rank = 1;
    b->dims[0] = O;
    b->dims[1] = 1;
    b->numel = O;
    b->offset = off;
    return k;
}

/* got holds orig as stored in the file (float32): bit for bit in the float build. */
static void assert_stored(const recur_real *got, const recur_real *orig, size_t n)
{
#if RECUR_REAL_IS_DOUBLE
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(got[i] == (recur_real)(float)orig[i], "element %zu", i);
#else
    ck_assert_int_eq(memcmp(got, orig, n * sizeof *got), 0);
#endif
}

static size_t gates_of(recur_cell_t c)
{
    return c == RECUR_CELL_LSTM ? 4 : c == RECUR_CELL_GRU ? 3 : 1;
}

static size_t weights_links(const char *path)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t g = H5Gopen2(f, "weights", H5P_DEFAULT);
    ck_assert_int_ge(g, 0);
    H5G_info_t info;
    ck_assert_int_ge(H5Gget_info(g, &info), 0);
    H5Gclose(g);
    H5Fclose(f);
    return (size_t)info.nlinks;
}

/* Class and size of the values of dataset or attribute `name` of `obj`. */
static void h5_type_of(const char *path, const char *obj, const char *attr, H5T_class_t *cls,
                       size_t *size, int *vlen)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t o, t;
    if (attr) {
        o = H5Aopen_by_name(f, obj, attr, H5P_DEFAULT, H5P_DEFAULT);
        ck_assert_int_ge(o, 0);
        t = H5Aget_type(o);
    } else {
        o = H5Dopen2(f, obj, H5P_DEFAULT);
        ck_assert_int_ge(o, 0);
        t = H5Dget_type(o);
    }
    ck_assert_int_ge(t, 0);
    *cls = H5Tget_class(t);
    *size = H5Tget_size(t);
    *vlen = *cls == H5T_STRING ? (int)H5Tis_variable_str(t) : 0;
    H5Tclose(t);
    if (attr)
        H5Aclose(o);
    else
        H5Dclose(o);
    H5Fclose(f);
}

/* ---- Round trips ---------------------------------------------------------------------------- */

/* Every cell x layers {1, 2} x directions: parameters come back bit for bit, and the file holds
 * exactly the state_dict's float32 datasets with PyTorch's names and shapes. */
START_TEST(test_round_trip_params)
{
    const recur_cell_t cells[] = {RECUR_CELL_RNN, RECUR_CELL_LSTM, RECUR_CELL_GRU};
    char *dir = make_tmpdir();
    char *path = join(dir, "model.h5");
    gsl_rng *rng = rng_seeded(11);
    for (int ci = 0; ci < 3; ci++)
        for (size_t L = 1; L <= 2; L++)
            for (int bi = 0; bi < 2; bi++) {
                recur_config_t cfg = make_cfg(cells[ci], L, bi);
                recur_model_t *m = recur_model_alloc(&cfg);
                ck_assert_ptr_nonnull(m);
                const size_t n = recur_param_count(&cfg);
                test_fill_uniform(recur_model_params(m), n, -3.0, 3.0, rng);
                ck_assert_int_eq(recur_model_save(m, path), 0);

                recur_model_t *r = recur_model_load(path);
                ck_assert_ptr_nonnull(r);
                assert_no_open_h5();
                const recur_config_t *rc = recur_model_config(r);
                ck_assert_int_eq(rc->cell, cfg.cell);
                ck_assert_uint_eq(rc->num_layers, L);
                ck_assert_int_eq(rc->bidirectional, bi);
                ck_assert_uint_eq(rc->input_size, cfg.input_size);
                ck_assert_uint_eq(rc->hidden_size, cfg.hidden_size);
                ck_assert_uint_eq(rc->num_outputs, cfg.num_outputs);
                assert_stored(recur_model_params_const(r), recur_model_params_const(m), n);

                /* On disk: names, shapes, float32, values at the state_dict offsets. */
                ttensor_t tt[2 * 2 * 4 + 2];
                const size_t nt = state_dict(gates_of(cfg.cell), cfg.input_size, cfg.hidden_size, L,
                                             bi, cfg.num_outputs, tt);
                ck_assert_uint_eq(weights_links(path), nt);
                ck_assert_uint_eq(tt[nt - 1].offset + tt[nt - 1].numel, n);
                for (size_t k = 0; k < nt; k++) {
                    char ds[80];
                    snprintf(ds, sizeof ds, "/weights/%.47s", tt[k].name);
                    size_t dims[4], rank;
                    double *x = test_h5_read(path, ds, dims, &rank);
                    ck_assert_msg(x != NULL, "%s missing", ds);
                    ck_assert_uint_eq(rank, (size_t)tt[k].rank);
                    ck_assert_uint_eq(dims[0], tt[k].dims[0]);
                    if (rank == 2)
                        ck_assert_uint_eq(dims[1], tt[k].dims[1]);
                    const recur_real *p = recur_model_params_const(m) + tt[k].offset;
                    for (size_t i = 0; i < tt[k].numel; i++)
                        ck_assert_msg(x[i] == (double)(float)p[i], "%s[%zu]", ds, i);
                    free(x);
                    H5T_class_t cls;
                    size_t size;
                    int vlen;
                    h5_type_of(path, ds, NULL, &cls, &size, &vlen);
                    ck_assert_int_eq(cls, H5T_FLOAT);
                    ck_assert_uint_eq(size, 4);
                }
                recur_model_free(r);
                recur_model_free(m);
            }
    ck_assert_uint_eq(dir_entries(dir), 1); /* no temporary file left behind */
    gsl_rng_free(rng);
    free(path);
    remove_tmpdir(dir);
}
END_TEST

/* Configuration, provenance, encoding lists and the training state all come back. */
START_TEST(test_round_trip_everything)
{
    char *dir = make_tmpdir();
    char *path = join(dir, "full.h5");
    gsl_rng *rng = rng_seeded(5);
    recur_config_t cfg = make_cfg(RECUR_CELL_GRU, 2, true);
    cfg.task = RECUR_TASK_REGRESS;
    cfg.head = RECUR_HEAD_STEP;
    cfg.pool = RECUR_POOL_MAX;
    cfg.input_size = 5;
    cfg.hidden_size = 3;
    cfg.num_outputs = 2;
    cfg.dropout = 0.25;
    recur_model_t *m = recur_model_alloc(&cfg);
    ck_assert_ptr_nonnull(m);
    const size_t n = recur_param_count(&cfg);
    test_fill_uniform(recur_model_params(m), n, -1.0, 1.0, rng);
    ck_assert_int_eq(recur_model_set_command_line(m, "recur train --cell gru -o 'x y.h5'"), 0);

    const char *first[] = {"old"};
    const char *classes[] = {"alpha", "b", "", "\xc3\xbcn\xc3\xaf"}; /* "ünï" in UTF-8 */
    const double mean[] = {1.5, -2.25, 1e300, 0.1};
    const double window[] = {24};
    ck_assert_int_eq(recur_model_set_strings(m, "classes", first, 1), 0);
    ck_assert_int_eq(recur_model_set_strings(m, "classes", classes, 4), 0); /* replaces */
    ck_assert_int_eq(recur_model_set_numbers(m, "mean", mean, 4), 0);
    ck_assert_int_eq(recur_model_set_strings(m, "window", first, 1), 0);
    ck_assert_int_eq(recur_model_set_numbers(m, "window", window, 1), 0); /* changes kind */
    ck_assert_int_eq(recur_model_set_numbers(m, "std", NULL, 0), 0);
    ck_assert_int_eq(recur_model_set_strings(m, "features", NULL, 0), 0);

    recur_real *mom1 = malloc(n * sizeof *mom1), *mom2 = malloc(n * sizeof *mom2);
    recur_real carry[10];
    ck_assert_ptr_nonnull(mom1);
    ck_assert_ptr_nonnull(mom2);
    test_fill_uniform(mom1, n, -1e-3, 1e-3, rng);
    test_fill_uniform(mom2, n, 0.0, 1e-6, rng);
    test_fill_uniform(carry, 10, -1.0, 1.0, rng);
    gsl_rng *gen = rng_seeded(99);
    for (int i = 0; i < 1000; i++)
        gsl_rng_get(gen);
    recur_train_state_t ts = {.step = ((uint64_t)1 << 40) + 5,
                              .skipped = 3,
                              .epoch = 7,
                              .cursor = 42,
                              .m = mom1,
                              .v = mom2,
                              .rng_state = gsl_rng_state(gen),
                              .rng_size = gsl_rng_size(gen),
                              .carry = carry,
                              .carry_size = 10};
    snprintf(ts.optimizer, sizeof ts.optimizer, "adamw");
    snprintf(ts.rng_name, sizeof ts.rng_name, "%s", gsl_rng_name(gen));
    ck_assert_int_eq(recur_model_set_train_state(m, &ts), 0);
    ck_assert_int_eq(recur_model_save(m, path), 0);

    recur_model_t *r = recur_model_load(path);
    ck_assert_ptr_nonnull(r);
    assert_no_open_h5();
    const recur_config_t *rc = recur_model_config(r);
    ck_assert_int_eq(rc->task, RECUR_TASK_REGRESS);
    ck_assert_int_eq(rc->head, RECUR_HEAD_STEP);
    ck_assert_int_eq(rc->pool, RECUR_POOL_MAX);
    ck_assert_int_eq(rc->cell, RECUR_CELL_GRU);
    ck_assert_uint_eq(rc->input_size, 5);
    ck_assert_uint_eq(rc->hidden_size, 3);
    ck_assert_uint_eq(rc->num_layers, 2);
    ck_assert_uint_eq(rc->num_outputs, 2);
    ck_assert(rc->bidirectional);
    ck_assert(rc->dropout == 0.25);
    assert_stored(recur_model_params_const(r), recur_model_params_const(m), n);
    ck_assert_str_eq(recur_model_command_line(r), "recur train --cell gru -o 'x y.h5'");

    size_t k;
    const char *const *s = recur_model_strings(r, "classes", &k);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(k, 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_str_eq(s[i], classes[i]);
    const double *x = recur_model_numbers(r, "mean", &k);
    ck_assert_ptr_nonnull(x);
    ck_assert_uint_eq(k, 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert(x[i] == mean[i]);
    x = recur_model_numbers(r, "window", &k);
    ck_assert_ptr_nonnull(x);
    ck_assert_uint_eq(k, 1);
    ck_assert(x[0] == 24.0);
    ck_assert_ptr_null(recur_model_strings(r, "window", &k));
    ck_assert_ptr_nonnull(recur_model_numbers(r, "std", &k));
    ck_assert_uint_eq(k, 0);
    ck_assert_ptr_nonnull(recur_model_strings(r, "features", &k));
    ck_assert_uint_eq(k, 0);
    k = 77;
    ck_assert_ptr_null(recur_model_strings(r, "absent", &k));
    ck_assert_uint_eq(k, 0);
    ck_assert_ptr_null(recur_model_numbers(r, "classes", &k));

    const recur_train_state_t *t = recur_model_train_state(r);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->optimizer, "adamw");
    ck_assert_uint_eq(t->step, ((uint64_t)1 << 40) + 5);
    ck_assert_uint_eq(t->skipped, 3);
    ck_assert_uint_eq(t->epoch, 7);
    ck_assert_uint_eq(t->cursor, 42);
    assert_stored(t->m, mom1, n);
    ck_assert_ptr_nonnull(t->v);
    assert_stored(t->v, mom2, n);
    ck_assert_uint_eq(t->carry_size, 10);
    assert_stored(t->carry, carry, 10);
    ck_assert_str_eq(t->rng_name, "mt19937");
    ck_assert_uint_eq(t->rng_size, gsl_rng_size(gen));
    /* The restored generator continues the original's stream. */
    gsl_rng *back = gsl_rng_alloc(gsl_rng_mt19937);
    ck_assert_ptr_nonnull(back);
    memcpy(gsl_rng_state(back), t->rng_state, t->rng_size);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(gsl_rng_get(back), gsl_rng_get(gen));
    gsl_rng_free(back);

    /* The fixed interface as seen by other HDF5 readers. */
    H5T_class_t cls;
    size_t size;
    int vlen;
    h5_type_of(path, "/", "format", &cls, &size, &vlen);
    ck_assert_int_eq(cls, H5T_STRING);
    ck_assert_int_eq(vlen, 0); /* fixed-length */
    ck_assert_int_eq(test_h5_attr_long(path, "/", "format_version"), 1);
    h5_type_of(path, "/config", "hidden_size", &cls, &size, &vlen);
    ck_assert_int_eq(cls, H5T_INTEGER);
    ck_assert_uint_eq(size, 8);
    ck_assert_int_eq(test_h5_attr_long(path, "/config", "hidden_size"), 3);
    ck_assert_int_eq(test_h5_attr_long(path, "/config", "bidirectional"), 1);
    h5_type_of(path, "/config", "dropout", &cls, &size, &vlen);
    ck_assert_int_eq(cls, H5T_FLOAT);
    ck_assert_uint_eq(size, 8);
    h5_type_of(path, "/config", "classes", &cls, &size, &vlen);
    ck_assert_int_eq(cls, H5T_STRING);
    h5_type_of(path, "/train/m", NULL, &cls, &size, &vlen);
    ck_assert_int_eq(cls, H5T_FLOAT);
    ck_assert_uint_eq(size, 4);
    h5_type_of(path, "/train/rng_state", NULL, &cls, &size, &vlen);
    ck_assert_int_eq(cls, H5T_INTEGER);
    ck_assert_uint_eq(size, 1);

    /* Removing the training state, then saving again: the file has none. */
    ck_assert_int_eq(recur_model_set_train_state(r, NULL), 0);
    ck_assert_ptr_null(recur_model_train_state(r));
    ck_assert_int_eq(recur_model_save(r, path), 0);
    recur_model_t *r2 = recur_model_load(path);
    ck_assert_ptr_nonnull(r2);
    ck_assert_ptr_null(recur_model_train_state(r2));
    ck_assert_ptr_nonnull(recur_model_strings(r2, "classes", &k));
    recur_model_free(r2);

    recur_model_free(r);
    recur_model_free(m);
    gsl_rng_free(gen);
    gsl_rng_free(rng);
    free(mom2);
    free(mom1);
    free(path);
    remove_tmpdir(dir);
}
END_TEST

/* SGD without a second moment, RNG state or carry: the optional parts stay absent; the state
 * can be set from the model's own copy. */
START_TEST(test_round_trip_minimal_train)
{
    char *dir = make_tmpdir();
    char *path = join(dir, "sgd.h5");
    recur_config_t cfg = make_cfg(RECUR_CELL_RNN, 1, false);
    recur_model_t *m = recur_model_alloc(&cfg);
    ck_assert_ptr_nonnull(m);
    const size_t n = recur_param_count(&cfg);
    for (size_t i = 0; i < n; i++)
        ck_assert(recur_model_params_const(m)[i] == 0); /* zeroed */
    ck_assert_ptr_null(recur_model_command_line(m));
    recur_real *mom = calloc(n, sizeof *mom);
    ck_assert_ptr_nonnull(mom);
    mom[0] = 0.5f;
    recur_train_state_t ts = {.step = 1, .m = mom};
    snprintf(ts.optimizer, sizeof ts.optimizer, "sgd");
    ck_assert_int_eq(recur_model_set_train_state(m, &ts), 0);
    /* Aliasing: setting the model's own state again copies before freeing. */
    ck_assert_int_eq(recur_model_set_train_state(m, recur_model_train_state(m)), 0);
    ck_assert(recur_model_train_state(m)->m[0] == 0.5f);
    ck_assert_int_eq(recur_model_save(m, path), 0);
    recur_model_t *r = recur_model_load(path);
    ck_assert_ptr_nonnull(r);
    const recur_train_state_t *t = recur_model_train_state(r);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->optimizer, "sgd");
    ck_assert_uint_eq(t->step, 1);
    ck_assert(t->m[0] == 0.5f);
    ck_assert_ptr_null(t->v);
    ck_assert_ptr_null(t->rng_state);
    ck_assert_uint_eq(t->rng_size, 0);
    ck_assert_ptr_null(t->carry);
    ck_assert_uint_eq(t->carry_size, 0);
    ck_assert_str_eq(recur_model_command_line(r), ""); /* written empty when unset */
    recur_model_free(r);
    recur_model_free(m);
    free(mom);
    free(path);
    remove_tmpdir(dir);
}
END_TEST

/* Bad arguments to the in-memory API are refused and leave the model as it was. */
START_TEST(test_setters_refuse)
{
    recur_config_t cfg = make_cfg(RECUR_CELL_LSTM, 1, false);
    recur_config_t bad = cfg;
    bad.hidden_size = 0;
    capture_start();
    recur_model_t *none = recur_model_alloc(&bad);
    recur_model_t *m = recur_model_alloc(&cfg);
    const char *one[] = {"x"}, *with_null[] = {"x", NULL};
    const double v[] = {1.0};
    int r1 = recur_model_set_strings(m, "cell", one, 1);
    int r2 = recur_model_set_strings(m, "", one, 1);
    int r3 = recur_model_set_strings(m, "a/b", one, 1);
    int r4 = recur_model_set_strings(m, "classes", with_null, 2);
    int r5 = recur_model_set_numbers(m, "dropout", v, 1);
    int r6 = recur_model_set_numbers(m, "mean", NULL, 3);
    recur_train_state_t ts = {.m = NULL};
    snprintf(ts.optimizer, sizeof ts.optimizer, "sgd");
    int r7 = recur_model_set_train_state(m, &ts); /* no first moment */
    recur_real *mom = calloc(recur_param_count(&cfg), sizeof *mom);
    ts.m = mom;
    snprintf(ts.optimizer, sizeof ts.optimizer, "rmsprop");
    int r8 = recur_model_set_train_state(m, &ts);
    snprintf(ts.optimizer, sizeof ts.optimizer, "adam");
    ts.rng_size = 8; /* without bytes */
    int r9 = recur_model_set_train_state(m, &ts);
    const char *out = capture_end();
    ck_assert_ptr_null(none);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(r1, RECUR_EINVAL);
    ck_assert_int_eq(r2, RECUR_EINVAL);
    ck_assert_int_eq(r3, RECUR_EINVAL);
    ck_assert_int_eq(r4, RECUR_EINVAL);
    ck_assert_int_eq(r5, RECUR_EINVAL);
    ck_assert_int_eq(r6, RECUR_EINVAL);
    ck_assert_int_eq(r7, RECUR_EINVAL);
    ck_assert_int_eq(r8, RECUR_EINVAL);
    ck_assert_int_eq(r9, RECUR_EINVAL);
    ck_assert_uint_eq(count_lines(out), 10); /* one line per refusal */
    size_t k;
    ck_assert_ptr_null(recur_model_strings(m, "cell", &k));
    ck_assert_ptr_null(recur_model_strings(m, "classes", &k));
    ck_assert_ptr_null(recur_model_numbers(m, "mean", &k));
    ck_assert_ptr_null(recur_model_train_state(m));
    free(mom);
    recur_model_free(m);
    recur_model_free(NULL);
}
END_TEST

/* A model that could not be read back is not written: non-finite weights or moments. */
START_TEST(test_save_refuses_nonfinite)
{
    char *dir = make_tmpdir();
    char *path = join(dir, "nan.h5");
    recur_config_t cfg = make_cfg(RECUR_CELL_LSTM, 2, true);
    recur_model_t *m = recur_model_alloc(&cfg);
    ck_assert_ptr_nonnull(m);
    const size_t n = recur_param_count(&cfg);
    recur_model_params(m)[n - 1] = (recur_real)NAN; /* last element of head.bias */
    capture_start();
    int rc = recur_model_save(m, path);
    const char *out = capture_end();
    ck_assert_int_eq(rc, RECUR_ENONFINITE);
    ck_assert_uint_eq(count_lines(out), 1);
    ck_assert_ptr_nonnull(strstr(out, path));
    ck_assert_ptr_nonnull(strstr(out, "head.bias"));
    ck_assert_uint_eq(dir_entries(dir), 0);
    assert_no_open_h5();

    recur_model_params(m)[n - 1] = 0;
    recur_real *mom = calloc(n, sizeof *mom);
    ck_assert_ptr_nonnull(mom);
    mom[3] = (recur_real)INFINITY;
    recur_train_state_t ts = {.m = mom};
    snprintf(ts.optimizer, sizeof ts.optimizer, "adam");
    ck_assert_int_eq(recur_model_set_train_state(m, &ts), 0);
    capture_start();
    rc = recur_model_save(m, path);
    out = capture_end();
    ck_assert_int_eq(rc, RECUR_ENONFINITE);
    ck_assert_ptr_nonnull(strstr(out, "training state m"));
    ck_assert_uint_eq(dir_entries(dir), 0);
    free(mom);
    recur_model_free(m);
    free(path);
    remove_tmpdir(dir);
}
END_TEST

/* ---- Atomic saves -----------------------------------------------------------------------------
 */

/* Two models with different weights; a is saved at path. */
static void two_models(const char *path, recur_model_t **a, recur_model_t **b, size_t H)
{
    recur_config_t cfg = make_cfg(RECUR_CELL_LSTM, 2, true);
    cfg.hidden_size = H;
    gsl_rng *rng = rng_seeded(3);
    *a = recur_model_alloc(&cfg);
    *b = recur_model_alloc(&cfg);
    ck_assert_ptr_nonnull(*a);
    ck_assert_ptr_nonnull(*b);
    test_fill_uniform(recur_model_params(*a), recur_param_count(&cfg), -1, 1, rng);
    test_fill_uniform(recur_model_params(*b), recur_param_count(&cfg), -1, 1, rng);
    ck_assert_int_eq(recur_model_save(*a, path), 0);
    gsl_rng_free(rng);
}

/* path still holds exactly model a. */
static void assert_holds(const char *path, const recur_model_t *a)
{
    recur_model_t *r = recur_model_load(path);
    ck_assert_ptr_nonnull(r);
    assert_stored(recur_model_params_const(r), recur_model_params_const(a),
                  recur_param_count(recur_model_config(a)));
    recur_model_free(r);
}

START_TEST(test_save_replaces)
{
    char *dir = make_tmpdir();
    char *path = join(dir, "model.h5");
    recur_model_t *a, *b;
    two_models(path, &a, &b, 4);
    ck_assert_int_eq(recur_model_save(b, path), 0);
    assert_holds(path, b);
    ck_assert_uint_eq(dir_entries(dir), 1);
    recur_model_free(b);
    recur_model_free(a);
    free(path);
    remove_tmpdir(dir);
}
END_TEST

/* A write that fails half-way (the file size limit is hit) leaves the old file and no temporary
 * file. Works for root too, unlike directory permissions. */
START_TEST(test_save_fails_midway)
{
    char *dir = make_tmpdir();
    char *path = join(dir, "model.h5");
    recur_model_t *a, *b;
    two_models(path, &a, &b, 48); /* about 150k parameters: 600 kB */
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 64 * 1024;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = recur_model_save(b, path);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    ck_assert_int_lt(rc, 0);
    assert_no_open_h5();
    assert_holds(path, a);
    ck_assert_uint_eq(dir_entries(dir), 1);
    recur_model_free(b);
    recur_model_free(a);
    free(path);
    remove_tmpdir(dir);
}
END_TEST

/* The last step fails: the target is a directory, so rename(2) refuses. The directory is left
 * alone and the complete temporary file is removed. */
START_TEST(test_save_fails_at_rename)
{
    char *dir = make_tmpdir();
    char *path = join(dir, "model.h5");
    char *keep = join(path, "keep.txt");
    char *unused = join(dir, "unused.h5");
    recur_model_t *a, *b;
    two_models(unused, &a, &b, 4);
    ck_assert_int_eq(remove(unused), 0);
    free(unused);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    FILE *fp = fopen(keep, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("keep\n", fp);
    fclose(fp);
    capture_start();
    int rc = recur_model_save(b, path);
    const char *out = capture_end();
    ck_assert_int_eq(rc, RECUR_EIO);
    ck_assert_uint_eq(count_lines(out), 1);
    ck_assert_ptr_nonnull(strstr(out, path));
    ck_assert_ptr_nonnull(strstr(out, "rename"));
    assert_no_open_h5();
    ck_assert_uint_eq(dir_entries(dir), 1);
    ck_assert_uint_eq(dir_entries(path), 1);
    recur_model_free(b);
    recur_model_free(a);
    free(keep);
    free(path);
    remove_tmpdir(dir);
}
END_TEST

/* Into a directory that does not exist: an error naming the path, nothing created. */
START_TEST(test_save_no_directory)
{
    char *dir = make_tmpdir();
    char *path = join(dir, "missing/model.h5");
    recur_config_t cfg = make_cfg(RECUR_CELL_GRU, 1, false);
    recur_model_t *m = recur_model_alloc(&cfg);
    ck_assert_ptr_nonnull(m);
    capture_start();
    int rc = recur_model_save(m, path);
    const char *out = capture_end();
    ck_assert_int_eq(rc, RECUR_EIO);
    ck_assert_uint_eq(count_lines(out), 1);
    ck_assert_ptr_nonnull(strstr(out, path));
    ck_assert_ptr_nonnull(strstr(out, "No such file or directory"));
    ck_assert_uint_eq(dir_entries(dir), 0);
    recur_model_free(m);
    free(path);
    remove_tmpdir(dir);
}
END_TEST

/* Over a good file in a directory we may not write to: refused, the file intact. Directory
 * permissions do not bind root, so this runs only for other users (test_save_fails_midway and
 * test_save_fails_at_rename cover the same guarantee for everyone). */
START_TEST(test_save_unwritable_directory)
{
    if (geteuid() == 0)
        return;
    char *dir = make_tmpdir();
    char *path = join(dir, "model.h5");
    recur_model_t *a, *b;
    two_models(path, &a, &b, 4);
    ck_assert_int_eq(chmod(dir, 0500), 0);
    capture_start();
    int rc = recur_model_save(b, path);
    const char *out = capture_end();
    ck_assert_int_eq(chmod(dir, 0700), 0);
    ck_assert_int_eq(rc, RECUR_EIO);
    ck_assert_ptr_nonnull(strstr(out, "Permission denied"));
    assert_holds(path, a);
    ck_assert_uint_eq(dir_entries(dir), 1);
    recur_model_free(b);
    recur_model_free(a);
    free(path);
    remove_tmpdir(dir);
}
END_TEST

/* ---- Hand-made files --------------------------------------------------------------------------
 * A file written here with the HDF5 C API, as another program (h5py, say) would, from a spec
 * that is valid by default; each refusal test changes one thing. Weights get known values
 * (tensor k, element i: k + i / 1000) so that a successful load also checks where each named
 * tensor lands in the flat block. */

typedef struct {
    const char *format; /* NULL: no format attribute */
    bool format_int;    /* format written as an integer */
    int version;
    bool vlen; /* every string variable-length, as h5py writes Python str */
    const char *cell;
    int64_t hidden, outputs, bidir;
    double dropout;
    const char *omit_attr;   /* /config attribute left out */
    const char *string_attr; /* /config attribute written as the string "3" */
    bool no_config;
    const char *bad_shape, *skip, *extra, *int_tensor, *nan_tensor, *inf_tensor, *huge_tensor;
    bool f64;     /* weights as float64 */
    bool meta_2d; /* a 2-D number attribute in /config */
    bool train;
    long m_delta; /* /train/m length - param_count */
    const char *optimizer;
    const char *omit_train; /* /train attribute left out */
} spec_t;

static const size_t HM_I = 2, HM_L = 2;

static spec_t spec_default(void)
{
    spec_t s = {0};
    s.format = "recur-model";
    s.version = 1;
    s.cell = "lstm";
    s.hidden = 3;
    s.outputs = 2;
    s.bidir = 1;
    s.dropout = 0.1;
    s.optimizer = "adam";
    return s;
}

static void put_str_attr(hid_t loc, const char *name, const char *v, bool vlen)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    ck_assert_int_ge(t, 0);
    if (vlen) {
        ck_assert_int_ge(H5Tset_size(t, H5T_VARIABLE), 0);
        ck_assert_int_ge(H5Tset_cset(t, H5T_CSET_UTF8), 0);
    } else {
        ck_assert_int_ge(H5Tset_size(t, strlen(v) + 1), 0);
    }
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(vlen ? H5Awrite(a, t, &v) : H5Awrite(a, t, v), 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

/* A 1-D list of strings: variable-length, or fixed-length space-padded of width 8. */
static void put_strs_attr(hid_t loc, const char *name, const char *const *v, size_t n, bool vlen)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    char buf[8 * 8];
    ck_assert_uint_le(n, 8);
    if (vlen) {
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
    } else {
        H5Tset_size(t, 8);
        H5Tset_strpad(t, H5T_STR_SPACEPAD);
        memset(buf, ' ', sizeof buf);
        for (size_t i = 0; i < n; i++)
            memcpy(buf + 8 * i, v[i], strlen(v[i]));
    }
    hsize_t dim = n;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(vlen ? H5Awrite(a, t, v) : H5Awrite(a, t, buf), 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

static void put_num_attr(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(H5Awrite(a, mtype, v), 0);
    H5Aclose(a);
    H5Sclose(sp);
}

static void put_i64_attr(hid_t loc, const char *name, int64_t v)
{
    put_num_attr(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

static void put_dataset(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                        const hsize_t *dims, const void *x)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    ck_assert_int_ge(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), 0);
    H5Dclose(d);
    H5Sclose(sp);
}

static bool is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Config attributes in the order the file lists them. */
static void put_config(hid_t g, const spec_t *s)
{
    const char *names[] = {"task",       "cell",        "input_size",    "hidden_size",
                           "num_layers", "num_outputs", "bidirectional", "head",
                           "pool",       "dropout"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *nm = names[i];
        if (is(nm, s->omit_attr))
            continue;
        if (is(nm, s->string_attr)) {
            put_str_attr(g, nm, "3", s->vlen);
            continue;
        }
        if (is(nm, "task"))
            put_str_attr(g, nm, "classify", s->vlen);
        else if (is(nm, "cell"))
            put_str_attr(g, nm, s->cell, s->vlen);
        else if (is(nm, "head"))
            put_str_attr(g, nm, "seq", s->vlen);
        else if (is(nm, "pool"))
            put_str_attr(g, nm, "mean", s->vlen);
        else if (is(nm, "input_size"))
            put_i64_attr(g, nm, (int64_t)HM_I);
        else if (is(nm, "hidden_size"))
            put_i64_attr(g, nm, s->hidden);
        else if (is(nm, "num_layers"))
            put_i64_attr(g, nm, (int64_t)HM_L);
        else if (is(nm, "num_outputs"))
            put_i64_attr(g, nm, s->outputs);
        else if (is(nm, "bidirectional"))
            put_i64_attr(g, nm, s->bidir);
        else
            put_num_attr(g, nm, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &s->dropout);
    }
    const char *classes[] = {"neg", "pos"};
    put_strs_attr(g, "classes", classes, 2, s->vlen);
    put_i64_attr(g, "window", 24); /* an integer scalar becomes a number list of one */
    if (s->meta_2d) {
        hsize_t dims[2] = {2, 2};
        double v[4] = {1, 2, 3, 4};
        hid_t sp = H5Screate_simple(2, dims, NULL);
        hid_t a = H5Acreate2(g, "scale", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
        ck_assert_int_ge(a, 0);
        ck_assert_int_ge(H5Awrite(a, H5T_NATIVE_DOUBLE, v), 0);
        H5Aclose(a);
        H5Sclose(sp);
    }
}

/* Writes the weights; returns the number of parameters of the valid layout. */
static size_t put_weights(hid_t g, const spec_t *s)
{
    const size_t G = is(s->cell, "gru") ? 3 : is(s->cell, "rnn") ? 1 : 4;
    const size_t H = s->hidden > 0 && s->hidden <= 100 ? (size_t)s->hidden : 3;
    ttensor_t tt[2 * 2 * 4 + 2];
    const size_t nt =
        state_dict(G, HM_I, H, HM_L, s->bidir == 1, s->outputs > 0 ? (size_t)s->outputs : 1, tt);
    for (size_t k = 0; k < nt; k++) {
        ttensor_t *t = &tt[k];
        if (is(t->name, s->skip))
            continue;
        hsize_t dims[2] = {t->dims[0], t->dims[1]};
        if (is(t->name, s->bad_shape))
            dims[0]++;
        const size_t n = (size_t)(dims[0] * dims[1]);
        double *x = malloc(n * sizeof *x);
        int *xi = malloc(n * sizeof *xi);
        ck_assert_ptr_nonnull(x);
        ck_assert_ptr_nonnull(xi);
        for (size_t i = 0; i < n; i++) {
            x[i] = (double)k + (double)i / 1000.0;
            xi[i] = (int)k;
        }
        if (is(t->name, s->nan_tensor))
            x[n - 1] = NAN;
        if (is(t->name, s->inf_tensor))
            x[0] = -INFINITY;
        if (is(t->name, s->huge_tensor))
            x[1] = 1e300;
        if (is(t->name, s->int_tensor))
            put_dataset(g, t->name, H5T_STD_I32LE, H5T_NATIVE_INT, t->rank, dims, xi);
        else
            put_dataset(g, t->name, s->f64 || s->huge_tensor ? H5T_IEEE_F64LE : H5T_IEEE_F32LE,
                        H5T_NATIVE_DOUBLE, t->rank, dims, x);
        free(xi);
        free(x);
    }
    if (s->extra) {
        hsize_t d = 3;
        const double x[3] = {0, 0, 0};
        put_dataset(g, s->extra, H5T_IEEE_F32LE, H5T_NATIVE_DOUBLE, 1, &d, x);
    }
    return tt[nt - 1].offset + tt[nt - 1].numel;
}

static void put_train(hid_t f, const spec_t *s, size_t n_params)
{
    hid_t g = H5Gcreate2(f, "train", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(g, 0);
    const char *names[] = {"optimizer", "step", "skipped", "epoch", "cursor", "rng_name"};
    for (int i = 0; i < 6; i++) {
        if (is(names[i], s->omit_train))
            continue;
        if (i == 0)
            put_str_attr(g, names[i], s->optimizer, s->vlen);
        else if (i == 5)
            put_str_attr(g, names[i], "mt19937", s->vlen);
        else
            put_i64_attr(g, names[i], 10 + i);
    }
    hsize_t dim = (hsize_t)((long)n_params + s->m_delta);
    double *m = calloc((size_t)dim, sizeof *m);
    ck_assert_ptr_nonnull(m);
    m[0] = 0.125;
    put_dataset(g, "m", H5T_IEEE_F32LE, H5T_NATIVE_DOUBLE, 1, &dim, m);
    free(m);
    unsigned char bytes[5] = {1, 2, 3, 4, 5};
    dim = 5;
    put_dataset(g, "rng_state", H5T_STD_U8LE, H5T_NATIVE_UCHAR, 1, &dim, bytes);
    H5Gclose(g);
}

/* Writes the spec's file; returns the parameter count of its (valid) layout. */
static size_t write_handmade(const char *path, const spec_t *s)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    if (s->format_int)
        put_i64_attr(f, "format", 1);
    else if (s->format)
        put_str_attr(f, "format", s->format, s->vlen);
    put_i64_attr(f, "format_version", s->version);
    put_str_attr(f, "recur_version", "0.0.9", s->vlen);
    put_str_attr(f, "command_line", "python3 make.py", s->vlen);
    if (!s->no_config) {
        hid_t g = H5Gcreate2(f, "config", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        ck_assert_int_ge(g, 0);
        put_config(g, s);
        H5Gclose(g);
    }
    hid_t g = H5Gcreate2(f, "weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(g, 0);
    const size_t n = put_weights(g, s);
    H5Gclose(g);
    if (s->train)
        put_train(f, s, n);
    ck_assert_int_ge(H5Fclose(f), 0);
    return n;
}

/* The valid hand-made file loads, with fixed-length (space-padded) or variable-length strings,
 * float32 or float64 weights, and every tensor lands at its state_dict offset. */
static void check_handmade_loads(bool vlen, bool f64)
{
    char *dir = make_tmpdir();
    char *path = join(dir, "hand.h5");
    spec_t s = spec_default();
    s.vlen = vlen;
    s.f64 = f64;
    s.train = true;
    write_handmade(path, &s);
    recur_model_t *m = recur_model_load(path);
    ck_assert_ptr_nonnull(m);
    assert_no_open_h5();
    const recur_config_t *c = recur_model_config(m);
    ck_assert_int_eq(c->cell, RECUR_CELL_LSTM);
    ck_assert_int_eq(c->task, RECUR_TASK_CLASSIFY);
    ck_assert_int_eq(c->pool, RECUR_POOL_MEAN);
    ck_assert_uint_eq(c->input_size, HM_I);
    ck_assert_uint_eq(c->hidden_size, 3);
    ck_assert_uint_eq(c->num_layers, HM_L);
    ck_assert(c->bidirectional);
    ck_assert(c->dropout == 0.1);
    ttensor_t tt[2 * 2 * 4 + 2];
    const size_t nt = state_dict(4, HM_I, 3, HM_L, true, 2, tt);
    const recur_real *p = recur_model_params_const(m);
    for (size_t k = 0; k < nt; k++)
        for (size_t i = 0; i < tt[k].numel; i++) {
            const double x = (double)k + (double)i / 1000.0;
            ck_assert_msg(p[tt[k].offset + i] == (f64 ? (recur_real)x : (recur_real)(float)x),
                          "%s[%zu]", tt[k].name, i);
        }
    size_t n;
    const char *const *cl = recur_model_strings(m, "classes", &n);
    ck_assert_ptr_nonnull(cl);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(cl[0], "neg");
    ck_assert_str_eq(cl[1], "pos");
    const double *w = recur_model_numbers(m, "window", &n);
    ck_assert_ptr_nonnull(w);
    ck_assert_uint_eq(n, 1);
    ck_assert(w[0] == 24);
    ck_assert_str_eq(recur_model_command_line(m), "python3 make.py");
    const recur_train_state_t *t = recur_model_train_state(m);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->optimizer, "adam");
    ck_assert_uint_eq(t->step, 11);
    ck_assert_uint_eq(t->cursor, 14);
    ck_assert(t->m[0] == 0.125f);
    ck_assert_ptr_null(t->v);
    ck_assert_uint_eq(t->rng_size, 5);
    ck_assert_int_eq(((const unsigned char *)t->rng_state)[4], 5);
    recur_model_free(m);
    free(path);
    remove_tmpdir(dir);
}

START_TEST(test_handmade_fixed_strings)
{
    check_handmade_loads(false, false);
}
END_TEST

START_TEST(test_handmade_vlen_strings)
{
    check_handmade_loads(true, true);
}
END_TEST

/* Refusal cases: the change to the valid spec and a piece of the expected message. */
typedef struct {
    const char *what;
    void (*tweak)(spec_t *);
    const char *expect;
} refusal_t;

#define TWEAK(name, body)                                                                          \
    static void name(spec_t *s)                                                                    \
    {                                                                                              \
        body;                                                                                      \
    }
TWEAK(tw_no_format, s->format = NULL)
TWEAK(tw_format_int, s->format_int = true)
TWEAK(tw_foreign, s->format = "keras-model")
TWEAK(tw_foreign_vlen, (s->format = "recur-modelx", s->vlen = true))
TWEAK(tw_version, s->version = 2)
TWEAK(tw_version0, s->version = 0)
TWEAK(tw_shape, s->bad_shape = "rnn.weight_hh_l1_reverse")
TWEAK(tw_missing, s->skip = "rnn.bias_ih_l1")
TWEAK(tw_extra, s->extra = "rnn.weight_ih_l2")
TWEAK(tw_int, s->int_tensor = "head.weight")
TWEAK(tw_nan, s->nan_tensor = "rnn.weight_ih_l0")
TWEAK(tw_inf, s->inf_tensor = "head.bias")
#if !RECUR_REAL_IS_DOUBLE
TWEAK(tw_huge, s->huge_tensor = "rnn.bias_hh_l0")
#endif
TWEAK(tw_cell, s->cell = "foo")
TWEAK(tw_hidden0, s->hidden = 0)
TWEAK(tw_hidden_big, s->hidden = 70000)
TWEAK(tw_outputs_neg, s->outputs = -2)
TWEAK(tw_one_class, s->outputs = 1)
TWEAK(tw_bidir, s->bidir = 2)
TWEAK(tw_dropout, s->dropout = 1.5)
TWEAK(tw_no_layers, s->omit_attr = "num_layers")
TWEAK(tw_no_dropout, s->omit_attr = "dropout")
TWEAK(tw_hidden_str, s->string_attr = "hidden_size")
TWEAK(tw_no_config, s->no_config = true)
TWEAK(tw_meta_2d, s->meta_2d = true)
TWEAK(tw_train_m, (s->train = true, s->m_delta = 1))
TWEAK(tw_train_opt, (s->train = true, s->optimizer = "rmsprop"))
TWEAK(tw_train_step, (s->train = true, s->omit_train = "step"))

static const refusal_t refusals[] = {
    {"no format attribute", tw_no_format, "not a recur model file"},
    {"integer format", tw_format_int, "not a recur model file"},
    {"foreign format", tw_foreign, "not a recur model file"},
    {"foreign format, vlen", tw_foreign_vlen, "not a recur model file"},
    {"future version", tw_version, "unsupported format_version 2"},
    {"version 0", tw_version0, "unsupported format_version 0"},
    {"wrong shape", tw_shape, "rnn.weight_hh_l1_reverse: expected shape (12, 3), found (13, 3)"},
    {"missing tensor", tw_missing, "missing tensor /weights/rnn.bias_ih_l1"},
    {"extra tensor", tw_extra, "unexpected entry /weights/rnn.weight_ih_l2"},
    {"integer tensor", tw_int, "/weights/head.weight has integer values"},
    {"NaN weight", tw_nan, "/weights/rnn.weight_ih_l0 has a non-finite value at element 23"},
    {"infinite weight", tw_inf, "/weights/head.bias has a non-finite value at element 0"},
#if !RECUR_REAL_IS_DOUBLE
    {"weight beyond float", tw_huge, "/weights/rnn.bias_hh_l0 has a value out of the range"},
#endif
    {"unknown cell", tw_cell, "/config/cell = 'foo' is not one of rnn, lstm, gru"},
    {"hidden size 0", tw_hidden0, "/config/hidden_size = 0 is out of range"},
    {"hidden size too big", tw_hidden_big, "/config/hidden_size = 70000 is out of range"},
    {"negative outputs", tw_outputs_neg, "/config/num_outputs = -2 is out of range"},
    {"one class", tw_one_class, "at least 2 classes"},
    {"bidirectional 2", tw_bidir, "/config/bidirectional = 2 must be 0 or 1"},
    {"dropout 1.5", tw_dropout, "/config/dropout = 1.5 is out of range"},
    {"no num_layers", tw_no_layers, "missing attribute /config/num_layers"},
    {"no dropout", tw_no_dropout, "missing attribute /config/dropout"},
    {"hidden size as string", tw_hidden_str,
     "/config/hidden_size must be an integer, found string"},
    {"no /config", tw_no_config, "missing group /config"},
    {"2-D metadata", tw_meta_2d, "/config/scale must be a scalar or a list"},
    {"short moments", tw_train_m, "/train/m: expected shape"},
    {"unknown optimizer", tw_train_opt, "/train/optimizer = 'rmsprop'"},
    {"no step", tw_train_step, "missing attribute /train/step"},
};

/* Loads path expecting a refusal: NULL and exactly one line naming path and containing expect. */
static void assert_refused(const char *path, const char *what, const char *expect)
{
    capture_start();
    recur_model_t *m = recur_model_load(path);
    const char *out = capture_end();
    ck_assert_msg(m == NULL, "%s: loaded", what);
    ck_assert_msg(H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL) == 0,
                  "%s: HDF5 objects left open", what);
    ck_assert_msg(count_lines(out) == 1, "%s: %zu lines: %s", what, count_lines(out), out);
    ck_assert_msg(strstr(out, path) != NULL, "%s: path not named: %s", what, out);
    ck_assert_msg(strstr(out, expect) != NULL, "%s: expected '%s', got: %s", what, expect, out);
}

START_TEST(test_refusals)
{
    char *dir = make_tmpdir();
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu.h5", i);
        char *path = join(dir, name);
        spec_t s = spec_default();
        refusals[i].tweak(&s);
        write_handmade(path, &s);
        assert_refused(path, refusals[i].what, refusals[i].expect);
        free(path);
    }
    remove_tmpdir(dir);
}
END_TEST

/* Not a file HDF5 can read at all. */
START_TEST(test_refuse_not_hdf5)
{
    char *dir = make_tmpdir();
    char *text = join(dir, "model.txt");
    FILE *fp = fopen(text, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("this is not an HDF5 file\n", fp);
    fclose(fp);
    assert_refused(text, "text file", "not an HDF5 file");
    char *missing = join(dir, "missing.h5");
    assert_refused(missing, "missing file", "No such file or directory");
    assert_refused(dir, "directory", "not a regular file");
    free(missing);
    free(text);
    remove_tmpdir(dir);
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("round_trip");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip_params);
    tcase_add_test(tc, test_round_trip_everything);
    tcase_add_test(tc, test_round_trip_minimal_train);
    tcase_add_test(tc, test_setters_refuse);
    tcase_add_test(tc, test_save_refuses_nonfinite);
    suite_add_tcase(s, tc);
    tc = tcase_create("atomic");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_save_replaces);
    tcase_add_test(tc, test_save_fails_midway);
    tcase_add_test(tc, test_save_fails_at_rename);
    tcase_add_test(tc, test_save_no_directory);
    tcase_add_test(tc, test_save_unwritable_directory);
    suite_add_tcase(s, tc);
    tc = tcase_create("refusals");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_handmade_fixed_strings);
    tcase_add_test(tc, test_handmade_vlen_strings);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_refuse_not_hdf5);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(model_suite());
}
