/* check_dataset.c - the encoded dataset: save/load round trips for every task and head, the
 * batch builder (time-major transposition, T = longest chosen record, agreement with one-record
 * batches through the engine), every refusal of the loader on hand-made bad files (one line
 * naming the file and the problem), and fixtures written by h5py with numpy's default types. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>
#include <hdf5.h>

#include <recur/dataset.h>
#include <recur/engine.h>

#include "testutil.h"

/* ---- Scratch directory and stderr capture ---------------------------------------------------- */

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/recur_check_dataset_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static const char *tmp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmpdir, name);
    return buf;
}

/* Names of the files in tmpdir, for checks that no temporary file is left behind. */
static size_t count_files(void)
{
    size_t n = 0;
    DIR *d = opendir(tmpdir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (!d)
        return;
    char p[512];
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            unlink(tmp_path(p, sizeof p, e->d_name));
    closedir(d);
    rmdir(tmpdir);
}

static char captured[8192];
static int saved_stderr = -1;
static FILE *capture_file;

static void capture_start(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    ck_assert_ptr_nonnull(capture_file);
    saved_stderr = dup(2);
    dup2(fileno(capture_file), 2);
}

/* Stops capturing; returns what was written to stderr and its number of lines in *lines. */
static const char *capture_end(size_t *lines)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    rewind(capture_file);
    size_t n = fread(captured, 1, sizeof captured - 1, capture_file);
    captured[n] = '\0';
    fclose(capture_file);
    *lines = 0;
    for (size_t i = 0; i < n; i++)
        *lines += captured[i] == '\n';
    return captured;
}

/* ---- Random datasets ------------------------------------------------------------------------- */

/* A valid dataset with random lengths in [1, T], gaps, labels or targets and, when asked,
 * names and classes. */
static recur_dataset_t *random_dataset(recur_task_t task, recur_head_t head, bool tmask, bool names,
                                       size_t N, size_t T, size_t F, size_t O, gsl_rng *rng)
{
    recur_dataset_t *ds = recur_dataset_alloc(task, head, N, T, F, O, tmask);
    ck_assert_ptr_nonnull(ds);
    const bool step = head == RECUR_HEAD_STEP;
    for (size_t i = 0; i < N; i++) {
        const size_t len = 1 + gsl_rng_uniform_int(rng, T);
        for (size_t t = 0; t < len; t++)
            ds->mask[i * T + t] = t + 1 == len || gsl_rng_uniform(rng) > 0.15;
        for (size_t k = 0; k < T * F; k++)
            ds->x[i * T * F + k] = (float)gsl_ran_flat(rng, -2, 2);
    }
    const size_t rows = step ? N * T : N;
    for (size_t r = 0; r < rows; r++) {
        if (task == RECUR_TASK_CLASSIFY) {
            ds->labels[r] = (int32_t)gsl_rng_uniform_int(rng, O + 1) - 1;
            continue;
        }
        for (size_t k = 0; k < O; k++) {
            ds->targets[r * O + k] = task == RECUR_TASK_MULTILABEL
                                         ? (float)gsl_rng_uniform_int(rng, 2)
                                         : (float)gsl_ran_flat(rng, -3, 3);
            if (ds->target_mask)
                ds->target_mask[r * O + k] = gsl_rng_uniform(rng) > 0.2;
        }
    }
    if (names) {
        ds->names = calloc(N, sizeof *ds->names);
        for (size_t i = 0; i < N; i++) {
            char buf[32];
            snprintf(buf, sizeof buf, "rec-%zu \xc3\xa9", i); /* UTF-8 survives */
            ds->names[i] = strdup(buf);
        }
        ds->classes = calloc(O, sizeof *ds->classes);
        for (size_t k = 0; k < O; k++) {
            char buf[32];
            snprintf(buf, sizeof buf, "class %zu", k);
            ds->classes[k] = strdup(buf);
        }
    }
    return ds;
}

static size_t rows_of(const recur_dataset_t *ds)
{
    return ds->head == RECUR_HEAD_STEP ? ds->N * ds->T : ds->N;
}

static void assert_same(const recur_dataset_t *a, const recur_dataset_t *b)
{
    ck_assert_uint_eq(a->N, b->N);
    ck_assert_uint_eq(a->T, b->T);
    ck_assert_uint_eq(a->F, b->F);
    ck_assert_uint_eq(a->O, b->O);
    ck_assert_int_eq(a->task, b->task);
    ck_assert_int_eq(a->head, b->head);
    ck_assert_mem_eq(a->mask, b->mask, a->N * a->T);
    for (size_t i = 0; i < a->N * a->T; i++)
        for (size_t f = 0; a->mask[i] && f < a->F; f++)
            ck_assert(a->x[i * a->F + f] == b->x[i * a->F + f]);
    const size_t rows = rows_of(a);
    ck_assert(!a->labels == !b->labels);
    ck_assert(!a->targets == !b->targets);
    ck_assert(!a->target_mask == !b->target_mask);
    if (a->labels)
        ck_assert_mem_eq(a->labels, b->labels, rows * sizeof *a->labels);
    if (a->targets)
        ck_assert_mem_eq(a->targets, b->targets, rows * a->O * sizeof *a->targets);
    if (a->target_mask)
        ck_assert_mem_eq(a->target_mask, b->target_mask, rows * a->O);
    ck_assert(!a->names == !b->names);
    ck_assert(!a->classes == !b->classes);
    for (size_t i = 0; a->names && i < a->N; i++)
        ck_assert_str_eq(a->names[i], b->names[i]);
    for (size_t k = 0; a->classes && k < a->O; k++)
        ck_assert_str_eq(a->classes[k], b->classes[k]);
}

/* ---- Round trips ----------------------------------------------------------------------------- */

/* _i enumerates task (3) x head (2) x target_mask/names (2). */
START_TEST(test_round_trip)
{
    const recur_task_t task = (recur_task_t)(_i % 3);
    const recur_head_t head = (recur_head_t)((_i / 3) % 2);
    const bool extra = _i / 6;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 100 + (unsigned long)_i);
    make_tmpdir();
    char path[512];
    tmp_path(path, sizeof path, "ds.h5");
    recur_dataset_t *a = random_dataset(task, head, extra, extra, 37, 9, 3, 4, rng);
    ck_assert_int_eq(recur_dataset_validate(a), 0);
    ck_assert_int_eq(recur_dataset_save(a, path), 0);
    ck_assert_uint_eq(count_files(), 1); /* the temporary file is gone */
    recur_dataset_t *b = recur_dataset_load(path);
    ck_assert_ptr_nonnull(b);
    assert_same(a, b);
    /* Saving over an existing file replaces it. */
    recur_dataset_t *c = random_dataset(task, head, !extra, true, 5, 2, 1, 2, rng);
    ck_assert_int_eq(recur_dataset_save(c, path), 0);
    recur_dataset_t *d = recur_dataset_load(path);
    ck_assert_ptr_nonnull(d);
    assert_same(c, d);
    recur_dataset_free(d);
    recur_dataset_free(c);
    recur_dataset_free(b);
    recur_dataset_free(a);
    remove_tmpdir();
    gsl_rng_free(rng);
}
END_TEST

/* The file as numpy users see it: record-major shapes and h5py-friendly types, checked with
 * plain HDF5 calls rather than the loader. */
START_TEST(test_saved_layout)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    make_tmpdir();
    char path[512];
    tmp_path(path, sizeof path, "ds.h5");
    recur_dataset_t *a =
        random_dataset(RECUR_TASK_REGRESS, RECUR_HEAD_STEP, true, true, 6, 5, 3, 2, rng);
    ck_assert_int_eq(recur_dataset_save(a, path), 0);
    size_t dims[4], rank;
    double *x = test_h5_read(path, "x", dims, &rank);
    ck_assert_ptr_nonnull(x);
    ck_assert_uint_eq(rank, 3);
    ck_assert_uint_eq(dims[0], 6);
    ck_assert_uint_eq(dims[1], 5);
    ck_assert_uint_eq(dims[2], 3);
    ck_assert(x[(4 * 5 + 2) * 3 + 1] == (double)a->x[(4 * 5 + 2) * 3 + 1]);
    free(x);
    double *y = test_h5_read(path, "targets", dims, &rank);
    ck_assert_ptr_nonnull(y);
    ck_assert_uint_eq(rank, 3);
    ck_assert_uint_eq(dims[2], 2);
    free(y);
    ck_assert_int_eq(test_h5_attr_long(path, "/", "format_version"), 1);
    ck_assert_int_eq(test_h5_attr_long(path, "/", "num_outputs"), 2);
    /* The format attribute: a variable-length UTF-8 string (a Python str for h5py). */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t at = H5Aopen(f, "format", H5P_DEFAULT);
    hid_t t = H5Aget_type(at);
    ck_assert_int_eq(H5Tget_class(t), H5T_STRING);
    ck_assert_int_gt(H5Tis_variable_str(t), 0);
    ck_assert_int_eq(H5Tget_cset(t), H5T_CSET_UTF8);
    char *s = NULL;
    ck_assert_int_ge(H5Aread(at, t, &s), 0);
    ck_assert_str_eq(s, "recur-dataset");
    H5free_memory(s);
    H5Tclose(t);
    H5Aclose(at);
    H5Fclose(f);
    recur_dataset_free(a);
    remove_tmpdir();
    gsl_rng_free(rng);
}
END_TEST

/* Non-finite values where they are never used are kept out: x at masked steps and absent
 * targets become 0 on loading; the same values where they are used are refused. */
START_TEST(test_nonfinite_unused_zeroed)
{
    make_tmpdir();
    char path[512];
    tmp_path(path, sizeof path, "ds.h5");
    recur_dataset_t *a = recur_dataset_alloc(RECUR_TASK_REGRESS, RECUR_HEAD_STEP, 2, 3, 2, 1, true);
    ck_assert_ptr_nonnull(a);
    for (size_t k = 0; k < 2 * 3 * 2; k++)
        a->x[k] = (float)k;
    const unsigned char mask[6] = {1, 0, 1, 1, 1, 0};
    memcpy(a->mask, mask, sizeof mask);
    for (size_t k = 0; k < 6; k++) {
        a->targets[k] = (float)k;
        a->target_mask[k] = 1;
    }
    a->x[1 * 2 + 0] = NAN;      /* record 0, step 1: masked */
    a->x[5 * 2 + 1] = INFINITY; /* record 1, step 2: masked */
    a->targets[1] = NAN;        /* masked step */
    a->targets[3] = -INFINITY;  /* valid step, target absent */
    a->target_mask[3] = 0;
    ck_assert_int_eq(recur_dataset_validate(a), 0);
    ck_assert_int_eq(recur_dataset_save(a, path), 0);
    recur_dataset_t *b = recur_dataset_load(path);
    ck_assert_ptr_nonnull(b);
    ck_assert(b->x[2] == 0.0f && b->x[11] == 0.0f);
    ck_assert(b->x[3] == 3.0f && b->x[10] == 10.0f); /* finite values stay */
    ck_assert(b->targets[1] == 0.0f && b->targets[3] == 0.0f);
    ck_assert(b->targets[4] == 4.0f);
    recur_dataset_free(b);

    /* The same non-finite values at used positions. */
    a->mask[1] = 1;
    size_t lines;
    capture_start();
    const int rc = recur_dataset_validate(a);
    const char *err = capture_end(&lines);
    ck_assert_int_eq(rc, RECUR_EINVAL);
    ck_assert_uint_eq(lines, 1);
    ck_assert_ptr_nonnull(strstr(err, "/x is not finite at record 0, step 1, feature 0"));
    capture_start();
    ck_assert_int_ne(recur_dataset_save(a, path), 0);
    err = capture_end(&lines);
    ck_assert_uint_eq(lines, 1);
    ck_assert_ptr_nonnull(strstr(err, path));
    a->mask[1] = 0;
    a->target_mask[3] = 1;
    capture_start();
    ck_assert_int_eq(recur_dataset_validate(a), RECUR_EINVAL);
    err = capture_end(&lines);
    ck_assert_uint_eq(lines, 1);
    ck_assert_ptr_nonnull(strstr(err, "/targets is not finite at record 1, step 0, output 0"));
    recur_dataset_free(a);
    remove_tmpdir();
}
END_TEST

START_TEST(test_alloc_and_validate)
{
    recur_dataset_t *ds =
        recur_dataset_alloc(RECUR_TASK_CLASSIFY, RECUR_HEAD_STEP, 3, 4, 2, 3, true);
    ck_assert_ptr_nonnull(ds);
    for (size_t r = 0; r < 12; r++)
        ck_assert_int_eq(ds->labels[r], -1);
    ck_assert_ptr_null(ds->targets);
    ck_assert_ptr_null(ds->target_mask); /* classify has none */
    ck_assert_ptr_null(ds->names);
    size_t lines;
    /* All-zero mask: the first record is named. */
    capture_start();
    ck_assert_int_eq(recur_dataset_validate(ds), RECUR_EINVAL);
    const char *err = capture_end(&lines);
    ck_assert_uint_eq(lines, 1);
    ck_assert_ptr_nonnull(strstr(err, "record 0 has no valid step"));
    ds->mask[0 * 4 + 2] = 1;
    ds->mask[2 * 4 + 0] = 1;
    ds->names = calloc(3, sizeof *ds->names);
    ds->names[0] = strdup("alpha");
    ds->names[1] = strdup("beta");
    ds->names[2] = strdup("gamma");
    capture_start();
    ck_assert_int_eq(recur_dataset_validate(ds), RECUR_EINVAL);
    err = capture_end(&lines);
    ck_assert_ptr_nonnull(strstr(err, "record 1 ('beta') has no valid step"));
    ds->mask[1 * 4 + 3] = 1;
    ck_assert_int_eq(recur_dataset_validate(ds), 0);
    ck_assert_uint_eq(recur_dataset_length(ds, 0), 3);
    ck_assert_uint_eq(recur_dataset_length(ds, 1), 4);
    ck_assert_uint_eq(recur_dataset_length(ds, 2), 1);
    ds->labels[5] = 3; /* O = 3 */
    capture_start();
    ck_assert_int_eq(recur_dataset_validate(ds), RECUR_EINVAL);
    err = capture_end(&lines);
    ck_assert_ptr_nonnull(strstr(err, "/labels is 3 at record 1 ('beta'), step 1"));
    ds->labels[5] = 2;
    ck_assert_int_eq(recur_dataset_validate(ds), 0);
    recur_dataset_free(ds);
    recur_dataset_free(NULL);

    /* Sizes: none, one class, more than 4 GiB, overflow. */
    capture_start();
    ck_assert_ptr_null(recur_dataset_alloc(RECUR_TASK_REGRESS, RECUR_HEAD_SEQ, 0, 4, 2, 1, false));
    ck_assert_ptr_null(recur_dataset_alloc(RECUR_TASK_CLASSIFY, RECUR_HEAD_SEQ, 2, 4, 2, 1, false));
    ck_assert_ptr_null(recur_dataset_alloc(RECUR_TASK_REGRESS, RECUR_HEAD_SEQ, 1 << 20, 1 << 10,
                                           1 << 10, 1, false));
    ck_assert_ptr_null(
        recur_dataset_alloc(RECUR_TASK_REGRESS, RECUR_HEAD_STEP, SIZE_MAX / 2, 4, 2, 1, false));
    err = capture_end(&lines);
    ck_assert_uint_eq(lines, 4);
    ck_assert_ptr_nonnull(strstr(err, "no records"));
    ck_assert_ptr_nonnull(strstr(err, "at least 2 classes"));
    ck_assert_ptr_nonnull(strstr(err, "4 GiB"));
}
END_TEST

/* A failed save leaves an existing file as it was and no temporary file behind. */
START_TEST(test_save_failures)
{
    make_tmpdir();
    char path[512], bad[512];
    tmp_path(path, sizeof path, "keep.h5");
    FILE *fp = fopen(path, "w");
    fputs("precious", fp);
    fclose(fp);
    recur_dataset_t *ds =
        recur_dataset_alloc(RECUR_TASK_MULTILABEL, RECUR_HEAD_SEQ, 2, 2, 1, 2, false);
    ds->mask[0] = ds->mask[2] = 1;
    ds->targets[1] = 2.0f; /* multilabel targets are in [0, 1] */
    size_t lines;
    capture_start();
    ck_assert_int_eq(recur_dataset_save(ds, path), RECUR_EINVAL);
    const char *err = capture_end(&lines);
    ck_assert_uint_eq(lines, 1);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "multilabel targets are in [0, 1]"));
    fp = fopen(path, "r");
    char buf[32] = "";
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, fp));
    fclose(fp);
    ck_assert_str_eq(buf, "precious");
    ck_assert_uint_eq(count_files(), 1);

    ds->targets[1] = 1.0f;
    snprintf(bad, sizeof bad, "%s/no/such/dir/ds.h5", tmpdir);
    capture_start();
    ck_assert_int_eq(recur_dataset_save(ds, bad), RECUR_EIO);
    err = capture_end(&lines);
    ck_assert_uint_eq(lines, 1);
    ck_assert_ptr_nonnull(strstr(err, bad));
    ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
    ck_assert_uint_eq(count_files(), 1);
    recur_dataset_free(ds);
    remove_tmpdir();
}
END_TEST

/* ---- Batches --------------------------------------------------------------------------------- */

/* _i enumerates task (3) x head (2); target_mask for the tasks that have one. */
START_TEST(test_batch_transposed)
{
    const recur_task_t task = (recur_task_t)(_i % 3);
    const recur_head_t head = (recur_head_t)(_i / 3);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7 + (unsigned long)_i);
    const size_t N = 6, T = 10, F = 3, O = 2;
    recur_dataset_t *ds = random_dataset(task, head, true, false, N, T, F, O, rng);
    /* Lengths (last valid step + 1) 3, 7, 5, 10, 1, 2. */
    const size_t len[6] = {3, 7, 5, 10, 1, 2};
    for (size_t i = 0; i < N; i++)
        for (size_t t = 0; t < T; t++)
            ds->mask[i * T + t] = t < len[i] && (t + 1 == len[i] || (t + i) % 4 != 1);
    ck_assert_int_eq(recur_dataset_validate(ds), 0);
    for (size_t i = 0; i < N; i++)
        ck_assert_uint_eq(recur_dataset_length(ds, i), len[i]);

    recur_dataset_batch_t *bb = recur_dataset_batch_alloc(ds, 0, 4);
    ck_assert_ptr_nonnull(bb);
    ck_assert_uint_eq(bb->T_max, T);
    const size_t sets[3][4] = {{2, 0, 1, 5}, {4, 5, 0, 0}, {3, 4, 0, 0}};
    const size_t Bs[3] = {4, 2, 2}, Ts[3] = {7, 2, 10};
    for (size_t s = 0; s < 3; s++) {
        const size_t *idx = sets[s], B = Bs[s];
        recur_batch_t b;
        ck_assert_int_eq(recur_dataset_batch(ds, idx, B, bb, &b), 0);
        ck_assert_uint_eq(b.T, Ts[s]);
        ck_assert_uint_eq(b.B, B);
        ck_assert(b.x == bb->x && b.mask == bb->mask);
        for (size_t t = 0; t < b.T; t++)
            for (size_t j = 0; j < B; j++) {
                const size_t i = idx[j];
                ck_assert_uint_eq(b.mask[t * B + j], ds->mask[i * T + t]);
                for (size_t f = 0; f < F; f++)
                    ck_assert(b.x[(t * B + j) * F + f] == (recur_real)ds->x[(i * T + t) * F + f]);
            }
        const bool step = head == RECUR_HEAD_STEP;
        const size_t rows = step ? b.T : 1;
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < B; j++) {
                const size_t src = step ? idx[j] * T + r : idx[j], dst = step ? r * B + j : j;
                if (task == RECUR_TASK_CLASSIFY) {
                    ck_assert_ptr_null(b.targets);
                    ck_assert_int_eq(b.labels[dst], ds->labels[src]);
                    continue;
                }
                ck_assert_ptr_null(b.labels);
                ck_assert_ptr_nonnull(b.target_mask);
                for (size_t k = 0; k < O; k++) {
                    ck_assert(b.targets[dst * O + k] == (recur_real)ds->targets[src * O + k]);
                    ck_assert_uint_eq(b.target_mask[dst * O + k], ds->target_mask[src * O + k]);
                }
            }
    }
    /* Refusals. */
    recur_batch_t b;
    const size_t idx[5] = {0, 1, 2, 3, 6};
    size_t lines;
    capture_start();
    ck_assert_int_eq(recur_dataset_batch(ds, idx, 0, bb, &b), RECUR_EINVAL);
    ck_assert_int_eq(recur_dataset_batch(ds, idx, 5, bb, &b), RECUR_EINVAL);
    ck_assert_int_eq(recur_dataset_batch(ds, idx + 1, 4, bb, &b), RECUR_EINVAL); /* index 6 */
    recur_dataset_batch_t *small = recur_dataset_batch_alloc(ds, 5, 4);
    ck_assert_int_eq(recur_dataset_batch(ds, idx, 2, small, &b), RECUR_EINVAL); /* 3, 7 > 5 */
    capture_end(&lines);
    ck_assert_uint_eq(lines, 4);
    capture_start();
    const size_t fit[2] = {0, 2}; /* lengths 3, 5 */
    ck_assert_int_eq(recur_dataset_batch(ds, fit, 2, small, &b), 0);
    ck_assert_uint_eq(b.T, 5);
    capture_end(&lines);
    ck_assert_uint_eq(lines, 0);
    recur_dataset_batch_free(small);
    recur_dataset_batch_free(bb);
    recur_dataset_free(ds);
    gsl_rng_free(rng);
}
END_TEST

/* T = 5 buffers refuse a batch with a record of 7 steps, and buffers of another kind of
 * dataset are refused, each with its own message. */
START_TEST(test_batch_too_long)
{
    recur_dataset_t *ds =
        recur_dataset_alloc(RECUR_TASK_CLASSIFY, RECUR_HEAD_SEQ, 2, 8, 1, 2, false);
    ds->mask[0 * 8 + 2] = 1; /* length 3 */
    ds->mask[1 * 8 + 6] = 1; /* length 7 */
    ck_assert_int_eq(recur_dataset_validate(ds), 0);
    recur_dataset_batch_t *bb = recur_dataset_batch_alloc(ds, 5, 2);
    recur_dataset_t *other =
        recur_dataset_alloc(RECUR_TASK_CLASSIFY, RECUR_HEAD_STEP, 2, 8, 1, 2, false);
    other->mask[0] = other->mask[8] = 1;
    const size_t idx[2] = {0, 1};
    recur_batch_t b;
    size_t lines;
    capture_start();
    const int too_long = recur_dataset_batch(ds, idx, 2, bb, &b);
    const int other_kind = recur_dataset_batch(other, idx, 2, bb, &b);
    const char *err = capture_end(&lines);
    ck_assert_int_eq(too_long, RECUR_EINVAL);
    ck_assert_int_eq(other_kind, RECUR_EINVAL);
    ck_assert_uint_eq(lines, 2);
    ck_assert_ptr_nonnull(strstr(err, "7 steps for buffers of 5"));
    ck_assert_ptr_nonnull(strstr(err, "another dataset"));
    ck_assert_int_eq(recur_dataset_batch(ds, idx, 1, bb, &b), 0);
    ck_assert_uint_eq(b.T, 3);
    recur_dataset_free(other);
    recur_dataset_batch_free(bb);
    recur_dataset_free(ds);
}
END_TEST

/* Through the engine: the loss of a gathered batch equals the mean of the losses of its records
 * gathered one by one (sequence head, classify: one term per record), so the transposition
 * lines up with the engine's layout and trimming T to the longest record changes nothing. */
START_TEST(test_batch_engine_agrees)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    const size_t N = 7, T = 9, F = 3, O = 3;
    recur_dataset_t *ds =
        random_dataset(RECUR_TASK_CLASSIFY, RECUR_HEAD_SEQ, false, false, N, T, F, O, rng);
    for (size_t i = 0; i < N; i++)
        ds->labels[i] = (int32_t)(i % O);
    const recur_config_t cfg = {.cell = RECUR_CELL_GRU,
                                .input_size = F,
                                .hidden_size = 5,
                                .num_layers = 2,
                                .bidirectional = true,
                                .head = RECUR_HEAD_SEQ,
                                .pool = RECUR_POOL_MEAN,
                                .task = RECUR_TASK_CLASSIFY,
                                .num_outputs = O};
    recur_real *params = malloc(recur_param_count(&cfg) * sizeof *params);
    const recur_init_t init = {.orthogonal_hh = false, .forget_bias = 0};
    ck_assert_int_eq(recur_param_init(&cfg, &init, params, rng), 0);
    recur_engine_t *e = recur_engine_alloc(&cfg, T, N);
    recur_dataset_batch_t *bb = recur_dataset_batch_alloc(ds, 0, N);
    const size_t idx[7] = {6, 2, 0, 5, 1, 4, 3};
    recur_batch_t b;
    double loss, one, sum = 0;
    size_t terms;
    ck_assert_int_eq(recur_dataset_batch(ds, idx, N, bb, &b), 0);
    ck_assert_int_eq(recur_engine_forward(e, params, &b, 0, b.T, false, NULL, &loss, &terms), 0);
    ck_assert_uint_eq(terms, N);
    for (size_t j = 0; j < N; j++) {
        ck_assert_int_eq(recur_dataset_batch(ds, &idx[j], 1, bb, &b), 0);
        ck_assert_uint_eq(b.T, recur_dataset_length(ds, idx[j]));
        ck_assert_int_eq(recur_engine_forward(e, params, &b, 0, b.T, false, NULL, &one, &terms), 0);
        ck_assert_uint_eq(terms, 1);
        sum += one;
    }
    ck_assert_double_eq_tol(loss, sum / (double)N, 1e-5 * (1 + fabs(loss)));
    recur_dataset_batch_free(bb);
    recur_engine_free(e);
    free(params);
    recur_dataset_free(ds);
    gsl_rng_free(rng);
}
END_TEST

/* ---- Hand-made files ------------------------------------------------------------------------- */

enum { BN = 3, BT = 4, BF = 2, BO = 2 };

/* A dataset file as a test writes it: the baseline is a valid classify file with per-record
 * labels, N 3, T 4, F 2, O 2, lengths 4, 2, 3, names n0..n2; each case edits it. */
typedef struct {
    bool no_format, no_version, no_task, no_outputs, no_x, no_mask, no_y, no_names;
    const char *format, *task;
    long long version, outputs;
    double x[BN * BT * BF];
    int mask[BN * BT];
    int labels[BN];
    double targets[BN * BO];  /* regress/multilabel (per record) */
    int target_mask[BN * BO]; /* written when with_target_mask */
    bool with_target_mask;
    const char *names[BN];
} spec_t;

static void spec_init(spec_t *s)
{
    memset(s, 0, sizeof *s);
    s->format = "recur-dataset";
    s->task = "classify";
    s->version = 1;
    s->outputs = BO;
    const size_t len[BN] = {4, 2, 3};
    for (size_t i = 0; i < BN; i++) {
        for (size_t t = 0; t < BT; t++) {
            s->mask[i * BT + t] = t < len[i];
            for (size_t f = 0; f < BF; f++)
                s->x[(i * BT + t) * BF + f] = 0.25 * (double)(i + t) - 0.5 * (double)f;
        }
        s->labels[i] = (int)i % BO;
        for (size_t k = 0; k < BO; k++) {
            s->targets[i * BO + k] = k ? 1.0 : 0.0;
            s->target_mask[i * BO + k] = 1;
        }
    }
    s->labels[2] = -1;
    static const char *const nm[BN] = {"n0", "n1", "n2"};
    memcpy(s->names, nm, sizeof nm);
}

static void put_attr_str(hid_t f, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(v) + 1);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(H5Awrite(a, t, v), 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
}

static void put_attr_num(hid_t f, const char *name, hid_t ftype, hid_t mtype, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(H5Awrite(a, mtype, v), 0);
    H5Aclose(a);
    H5Sclose(sp);
}

static void put_attr_ll(hid_t f, const char *name, long long v)
{
    put_attr_num(f, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, &v);
}

/* Dataset name with dims[0..rank-1]; data (memory type mtype) may be NULL: declared only. */
static void put_ds(hid_t f, const char *name, hid_t ftype, int rank, const hsize_t *dims,
                   hid_t mtype, const void *data)
{
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(f, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    if (data)
        ck_assert_int_ge(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
    H5Dclose(d);
    H5Sclose(sp);
}

static void put_names(hid_t f, const char *name, const char *const *s, size_t n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    const hsize_t dims[1] = {n};
    put_ds(f, name, t, 1, dims, t, s);
    H5Tclose(t);
}

/* Writes s to path; then extra(f) adds or replaces what a case needs. */
static void write_spec(const char *path, const spec_t *s, void (*extra)(hid_t f))
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    if (!s->no_format)
        put_attr_str(f, "format", s->format);
    if (!s->no_version)
        put_attr_ll(f, "format_version", s->version);
    if (!s->no_task)
        put_attr_str(f, "task", s->task);
    if (!s->no_outputs)
        put_attr_ll(f, "num_outputs", s->outputs);
    const hsize_t xd[3] = {BN, BT, BF}, od[2] = {BN, BO};
    if (!s->no_x)
        put_ds(f, "x", H5T_IEEE_F32LE, 3, xd, H5T_NATIVE_DOUBLE, s->x);
    if (!s->no_mask)
        put_ds(f, "mask", H5T_STD_I32LE, 2, xd, H5T_NATIVE_INT, s->mask);
    const bool classify = strcmp(s->task, "classify") == 0;
    if (!s->no_y && classify)
        put_ds(f, "labels", H5T_STD_I32LE, 1, xd, H5T_NATIVE_INT, s->labels);
    if (!s->no_y && !classify)
        put_ds(f, "targets", H5T_IEEE_F64LE, 2, od, H5T_NATIVE_DOUBLE, s->targets);
    if (s->with_target_mask)
        put_ds(f, "target_mask", H5T_STD_I8LE, 2, od, H5T_NATIVE_INT, s->target_mask);
    if (!s->no_names)
        put_names(f, "names", s->names, BN);
    if (extra)
        extra(f);
    ck_assert_int_ge(H5Fclose(f), 0);
}

/* The edits of the bad cases. */
static void e_no_format(spec_t *s)
{
    s->no_format = true;
}
static void e_model_format(spec_t *s)
{
    s->format = "recur-model";
}
static void e_version2(spec_t *s)
{
    s->version = 2;
}
static void e_version0(spec_t *s)
{
    s->version = 0;
}
static void e_no_version(spec_t *s)
{
    s->no_version = true;
}
static void e_task(spec_t *s)
{
    s->task = "rank";
}
static void e_no_task(spec_t *s)
{
    s->no_task = true;
}
static void e_no_outputs(spec_t *s)
{
    s->no_outputs = true;
}
static void e_outputs0(spec_t *s)
{
    s->outputs = 0;
}
static void e_outputs1(spec_t *s)
{
    s->outputs = 1;
}
static void e_outputs_huge(spec_t *s)
{
    s->outputs = 1LL << 40;
}
static void e_no_x(spec_t *s)
{
    s->no_x = true;
}
static void e_no_mask(spec_t *s)
{
    s->no_mask = true;
}
static void e_no_y(spec_t *s)
{
    s->no_y = true;
}
static void e_no_xy(spec_t *s)
{
    s->no_x = s->no_mask = s->no_y = s->no_names = true;
}
static void e_mask2(spec_t *s)
{
    s->mask[1] = 2;
}
static void e_mask_neg(spec_t *s)
{
    s->mask[1] = -1;
}
static void e_mask_big(spec_t *s)
{
    s->mask[1] = 256;
}
static void e_empty_record(spec_t *s)
{
    s->mask[1 * BT + 0] = s->mask[1 * BT + 1] = 0;
}
static void e_x_nan(spec_t *s)
{
    s->x[(2 * BT + 1) * BF + 0] = NAN;
}
static void e_x_inf(spec_t *s)
{
    s->x[(0 * BT + 3) * BF + 1] = -INFINITY;
}
static void e_x_huge(spec_t *s)
{
    s->x[(0 * BT + 0) * BF + 1] = 1e300;
} /* beyond float */
static void e_label_high(spec_t *s)
{
    s->labels[1] = 2;
}
static void e_label_low(spec_t *s)
{
    s->labels[0] = -2;
}
static void e_regress(spec_t *s)
{
    s->task = "regress";
}
static void e_regress_nan(spec_t *s)
{
    s->task = "regress";
    s->targets[3] = NAN;
}
static void e_multilabel_2(spec_t *s)
{
    s->task = "multilabel";
    s->targets[2] = 2;
}
static void e_multilabel_neg(spec_t *s)
{
    s->task = "multilabel";
    s->targets[0] = -0.5;
}
static void e_tmask3(spec_t *s)
{
    s->task = "regress";
    s->with_target_mask = true;
    s->target_mask[5] = 3;
}
static void e_regress_no_y(spec_t *s)
{
    s->task = "regress";
    s->no_y = true;
}
static void e_no_names_regress(spec_t *s)
{
    s->task = "regress";
    s->no_names = true;
}

/* The extra writers of the bad cases. */
static void x_format_int(hid_t f)
{
    put_attr_ll(f, "format", 1);
}
static void x_version_float(hid_t f)
{
    const double v = 1.0;
    put_attr_num(f, "format_version", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}
static void x_outputs_list(hid_t f)
{
    const long long v[2] = {2, 2};
    const hsize_t d[1] = {2};
    hid_t sp = H5Screate_simple(1, d, NULL);
    hid_t a = H5Acreate2(f, "num_outputs", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_LLONG, v);
    H5Aclose(a);
    H5Sclose(sp);
}
static const double zeros[64];
static const int izeros[64];
static void x_x_rank2(hid_t f)
{
    const hsize_t d[2] = {BN, BT};
    put_ds(f, "x", H5T_IEEE_F32LE, 2, d, H5T_NATIVE_DOUBLE, zeros);
}
static void x_x_rank4(hid_t f)
{
    const hsize_t d[4] = {BN, BT, BF, 1};
    put_ds(f, "x", H5T_IEEE_F32LE, 4, d, H5T_NATIVE_DOUBLE, NULL);
}
static void x_x_int(hid_t f)
{
    const hsize_t d[3] = {BN, BT, BF};
    put_ds(f, "x", H5T_STD_I32LE, 3, d, H5T_NATIVE_INT, izeros);
}
static void x_x_scalar(hid_t f)
{
    put_ds(f, "x", H5T_IEEE_F32LE, 0, NULL, H5T_NATIVE_DOUBLE, zeros);
}
static void x_x_group(hid_t f)
{
    H5Gclose(H5Gcreate2(f, "x", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
}
static void x_x_huge(hid_t f)
{
    const hsize_t d[3] = {1 << 20, 1 << 12, 1 << 10}; /* 16 TiB declared, nothing stored */
    put_ds(f, "x", H5T_IEEE_F32LE, 3, d, H5T_NATIVE_DOUBLE, NULL);
    put_ds(f, "mask", H5T_STD_U8LE, 2, d, H5T_NATIVE_INT, NULL);
    put_ds(f, "labels", H5T_STD_I32LE, 1, d, H5T_NATIVE_INT, NULL);
}
static void x_x_empty(hid_t f)
{
    const hsize_t d[3] = {0, BT, BF};
    put_ds(f, "x", H5T_IEEE_F32LE, 3, d, H5T_NATIVE_DOUBLE, NULL);
    put_ds(f, "mask", H5T_STD_U8LE, 2, d, H5T_NATIVE_INT, NULL);
    put_ds(f, "labels", H5T_STD_I32LE, 1, d, H5T_NATIVE_INT, NULL);
}
static void x_mask_shape(hid_t f)
{
    const hsize_t d[2] = {BN, BT + 1};
    put_ds(f, "mask", H5T_STD_U8LE, 2, d, H5T_NATIVE_INT, NULL);
}
static void x_mask_float(hid_t f)
{
    const hsize_t d[2] = {BN, BT};
    put_ds(f, "mask", H5T_IEEE_F32LE, 2, d, H5T_NATIVE_DOUBLE, zeros);
}
static void x_labels_float(hid_t f)
{
    const hsize_t d[1] = {BN};
    put_ds(f, "labels", H5T_IEEE_F32LE, 1, d, H5T_NATIVE_DOUBLE, zeros);
}
static void x_labels_len(hid_t f)
{
    const hsize_t d[1] = {BN + 1};
    put_ds(f, "labels", H5T_STD_I32LE, 1, d, H5T_NATIVE_INT, izeros);
}
static void x_labels_rank3(hid_t f)
{
    const hsize_t d[3] = {BN, BT, 1};
    put_ds(f, "labels", H5T_STD_I32LE, 3, d, H5T_NATIVE_INT, izeros);
}
static void x_labels_step_shape(hid_t f)
{
    const hsize_t d[2] = {BN, BT - 1};
    put_ds(f, "labels", H5T_STD_I32LE, 2, d, H5T_NATIVE_INT, izeros);
}
static void x_labels_i64_huge(hid_t f)
{
    const long long v[BN] = {0, 1LL << 40, 1};
    const hsize_t d[1] = {BN};
    put_ds(f, "labels", H5T_STD_I64LE, 1, d, H5T_NATIVE_LLONG, v);
}
static void x_labels_u64_huge(hid_t f)
{
    const unsigned long long v[BN] = {0, ~0ULL, 1};
    const hsize_t d[1] = {BN};
    put_ds(f, "labels", H5T_STD_U64LE, 1, d, H5T_NATIVE_ULLONG, v);
}
static void x_targets_shape(hid_t f)
{
    const hsize_t d[2] = {BN, BO + 1};
    put_ds(f, "targets", H5T_IEEE_F32LE, 2, d, H5T_NATIVE_DOUBLE, zeros);
}
static void x_targets_step_shape(hid_t f)
{
    const hsize_t d[3] = {BN, BT + 1, BO};
    put_ds(f, "targets", H5T_IEEE_F32LE, 3, d, H5T_NATIVE_DOUBLE, NULL);
}
static void x_targets_int(hid_t f)
{
    const hsize_t d[2] = {BN, BO};
    put_ds(f, "targets", H5T_STD_I32LE, 2, d, H5T_NATIVE_INT, izeros);
}
static void x_tmask_shape(hid_t f)
{
    const hsize_t d[3] = {BN, BT, BO};
    put_ds(f, "target_mask", H5T_STD_U8LE, 3, d, H5T_NATIVE_INT, NULL);
}
static void x_names_len(hid_t f)
{
    static const char *const nm[2] = {"a", "b"};
    put_names(f, "names", nm, 2);
}
static void x_names_int(hid_t f)
{
    const hsize_t d[1] = {BN};
    put_ds(f, "names", H5T_STD_I32LE, 1, d, H5T_NATIVE_INT, izeros);
}
static void x_classes_len(hid_t f)
{
    static const char *const nm[3] = {"a", "b", "c"};
    put_names(f, "classes", nm, 3);
}
static void x_mask_i8_neg(hid_t f)
{
    const signed char m[BN * BT] = {1, 1, 1, 1, 1, 1, 0, 0, 1, 1, -1, 0};
    const hsize_t d[2] = {BN, BT};
    put_ds(f, "mask", H5T_STD_I8LE, 2, d, H5T_NATIVE_SCHAR, m);
}

typedef struct {
    void (*edit)(spec_t *);
    void (*extra)(hid_t f);
    const char *expect; /* substring of the one logged line */
} bad_case_t;

static const bad_case_t bad_cases[] = {
    {e_no_format, NULL, "not a recur dataset (no 'format' attribute)"},
    {e_model_format, NULL, "not a recur dataset (format is 'recur-model', expected"},
    {e_no_format, x_format_int, "attribute 'format' must be a string, found integer"},
    {e_version2, NULL, "unsupported format_version 2 (this recur reads 1)"},
    {e_version0, NULL, "unsupported format_version 0"},
    {e_no_version, NULL, "no 'format_version' attribute"},
    {e_no_version, x_version_float,
     "attribute 'format_version' must be an integer, found "
     "floating-point"},
    {e_task, NULL, "task is 'rank' (expected classify, multilabel or regress)"},
    {e_no_task, NULL, "no 'task' attribute"},
    {e_no_outputs, NULL, "no 'num_outputs' attribute"},
    {e_no_outputs, x_outputs_list, "attribute 'num_outputs' must be one value, found 2"},
    {e_outputs0, NULL, "num_outputs is 0 (expected 1..1048576)"},
    {e_outputs_huge, NULL, "num_outputs is 1099511627776"},
    {e_outputs1, NULL, "classification needs at least 2 classes (num_outputs 1)"},
    {e_no_x, NULL, "no dataset /x"},
    {e_no_x, x_x_rank2, "/x has shape (3, 4), expected (records, steps, features)"},
    {e_no_x, x_x_rank4, "/x has 4 dimensions (at most 3 expected)"},
    {e_no_x, x_x_int, "/x must hold floating-point numbers, found integer"},
    {e_no_x, x_x_scalar, "/x must be an array"},
    {e_no_x, x_x_group, "/x is not a dataset"},
    {e_no_xy, x_x_huge, "need more than the 4 GiB"},
    {e_no_xy, x_x_empty, "no records"},
    {e_no_mask, NULL, "no dataset /mask"},
    {e_no_mask, x_mask_shape, "/mask has shape (3, 5), expected (3, 4)"},
    {e_no_mask, x_mask_float, "/mask must hold integers or booleans, found floating-point"},
    {e_mask2, NULL, "/mask is not 0 or 1 at record 0 ('n0'), step 1"},
    {e_mask_neg, NULL, "/mask is not 0 or 1 at record 0 ('n0'), step 1"},
    {e_mask_big, NULL, "/mask is not 0 or 1 at record 0 ('n0'), step 1"},
    {e_no_mask, x_mask_i8_neg, "/mask is not 0 or 1 at record 2 ('n2'), step 2"},
    {e_empty_record, NULL, "record 1 ('n1') has no valid step"},
    {e_x_nan, NULL, "/x is not finite at record 2 ('n2'), step 1, feature 0 (a valid step)"},
    {e_x_inf, NULL, "/x is not finite at record 0 ('n0'), step 3, feature 1"},
    {e_x_huge, NULL, "/x is not finite at record 0 ('n0'), step 0, feature 1"},
    {e_no_y, NULL, "no dataset /labels (task classify)"},
    {e_label_high, NULL, "/labels is 2 at record 1 ('n1') (expected -1 for none, or 0..1)"},
    {e_label_low, NULL, "/labels is -2 at record 0 ('n0')"},
    {e_no_y, x_labels_float, "/labels must hold integers, found floating-point"},
    {e_no_y, x_labels_len, "/labels has shape (4), expected (3)"},
    {e_no_y, x_labels_rank3, "expected (records) or (records, steps)"},
    {e_no_y, x_labels_step_shape, "/labels has shape (3, 3), expected (3, 4)"},
    {e_no_y, x_labels_i64_huge, "/labels is 2147483647 at record 1 ('n1')"},
    {e_no_y, x_labels_u64_huge, "/labels is 2147483647 at record 1 ('n1')"},
    {e_regress_no_y, NULL, "no dataset /targets (task regress)"},
    {e_regress_no_y, x_targets_shape, "/targets has shape (3, 3), expected (3, 2)"},
    {e_regress_no_y, x_targets_step_shape, "/targets has shape (3, 5, 2), expected (3, 4, 2)"},
    {e_regress_no_y, x_targets_int, "/targets must hold floating-point numbers, found integer"},
    {e_regress_nan, NULL, "/targets is not finite at record 1 ('n1'), output 1 (mark missing"},
    {e_multilabel_2, NULL, "/targets is 2 at record 1 ('n1'), output 0 (multilabel targets"},
    {e_multilabel_neg, NULL, "/targets is -0.5 at record 0 ('n0'), output 0"},
    {e_tmask3, NULL, "/target_mask is not 0 or 1 at record 2 ('n2'), output 1"},
    {e_regress, x_tmask_shape, "/target_mask has shape (3, 4, 2), expected (3, 2) as /targets"},
    {e_no_names_regress, x_names_len, "/names has shape (2), expected (3) (records)"},
    {e_no_names_regress, x_names_int, "/names must hold strings, found integer"},
    {e_no_names_regress, x_classes_len, "/classes has shape (3), expected (2) (num_outputs)"},
};
#define N_BAD (sizeof bad_cases / sizeof bad_cases[0])

/* Each bad file is refused with NULL and one line "recur: <path>: <problem>"; the baseline
 * file itself loads (so every refusal is caused by its edit). */
START_TEST(test_bad_files)
{
    make_tmpdir();
    char path[512];
    tmp_path(path, sizeof path, "bad.h5");
    spec_t s;
    spec_init(&s);
    write_spec(path, &s, NULL);
    recur_dataset_t *ok = recur_dataset_load(path);
    ck_assert_ptr_nonnull(ok);
    ck_assert_int_eq(ok->head, RECUR_HEAD_SEQ);
    recur_dataset_free(ok);
    e_regress(&s);
    s.with_target_mask = true;
    write_spec(path, &s, NULL);
    ok = recur_dataset_load(path);
    ck_assert_ptr_nonnull(ok);
    recur_dataset_free(ok);

    const bad_case_t *bc = &bad_cases[_i];
    spec_init(&s);
    bc->edit(&s);
    write_spec(path, &s, bc->extra);
    size_t lines;
    capture_start();
    recur_dataset_t *ds = recur_dataset_load(path);
    const char *err = capture_end(&lines);
    if (ds || lines != 1 || !strstr(err, bc->expect) || strncmp(err, "recur: ", 7) != 0 ||
        strncmp(err + 7, path, strlen(path)) != 0)
        ck_abort_msg("case %d: expected one line 'recur: %s: ...%s...', got %s'%s'", _i, path,
                     bc->expect, ds ? "a dataset and " : "", err);
    remove_tmpdir();
}
END_TEST

/* Files that are not datasets at all. */
START_TEST(test_not_datasets)
{
    make_tmpdir();
    char path[512], model[512];
    const struct {
        const char *name;
        const char *content; /* NULL: a directory */
        const char *expect;
    } cases[] = {
        {"missing.h5", "", "cannot open: No such file or directory"},
        {"dir.h5", NULL, "not a regular file"},
        {"text.h5", "label\tx\n", "not an HDF5 file"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tmp_path(path, sizeof path, cases[k].name);
        if (!cases[k].content)
            mkdir(path, 0755);
        else if (*cases[k].content) {
            FILE *fp = fopen(path, "w");
            fputs(cases[k].content, fp);
            fclose(fp);
        }
        size_t lines;
        capture_start();
        recur_dataset_t *ds = recur_dataset_load(path);
        const char *err = capture_end(&lines);
        ck_assert_ptr_null(ds);
        ck_assert_uint_eq(lines, 1);
        ck_assert_ptr_nonnull(strstr(err, path));
        ck_assert_ptr_nonnull(strstr(err, cases[k].expect));
        if (!cases[k].content)
            rmdir(path);
    }
    /* An HDF5 file without the attributes (an empty one). */
    tmp_path(model, sizeof model, "empty.h5");
    H5Fclose(H5Fcreate(model, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    size_t lines;
    capture_start();
    ck_assert_ptr_null(recur_dataset_load(model));
    const char *err = capture_end(&lines);
    ck_assert_ptr_nonnull(strstr(err, "no 'format' attribute"));
    remove_tmpdir();
}
END_TEST

/* ---- Fixtures written by h5py ------------------------------------------------------------------
 */

static const char *fixture(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", test_fixture_dir(), name);
    return buf;
}

/* numpy's defaults: float64 x with NaN padding, bool mask, int64 per-step labels, str names.
 * Expected values from the formulas of make_dataset_fixture.py. */
START_TEST(test_h5py_step)
{
    char path[512];
    recur_dataset_t *ds = recur_dataset_load(fixture(path, sizeof path, "numpy_step.h5"));
    ck_assert_ptr_nonnull(ds);
    ck_assert_uint_eq(ds->N, 5);
    ck_assert_uint_eq(ds->T, 6);
    ck_assert_uint_eq(ds->F, 3);
    ck_assert_uint_eq(ds->O, 3);
    ck_assert_int_eq(ds->task, RECUR_TASK_CLASSIFY);
    ck_assert_int_eq(ds->head, RECUR_HEAD_STEP);
    const size_t len[5] = {6, 3, 1, 4, 5};
    for (size_t n = 0; n < 5; n++) {
        ck_assert_uint_eq(recur_dataset_length(ds, n), len[n]);
        for (size_t t = 0; t < 6; t++) {
            const bool valid = t < len[n] && !(n == 4 && t == 1);
            ck_assert_uint_eq(ds->mask[n * 6 + t], valid);
            ck_assert_int_eq(ds->labels[n * 6 + t], valid ? (int)((n + t) % 3) : -1);
            for (size_t f = 0; f < 3; f++) {
                const float want = valid ? (float)((double)n + t / 8.0 + f / 64.0) : 0.0f;
                ck_assert(ds->x[(n * 6 + t) * 3 + f] == want); /* NaN padding became 0 */
            }
        }
        char name[16];
        snprintf(name, sizeof name, "seq%zu", n);
        ck_assert_str_eq(ds->names[n], name);
    }
    ck_assert_str_eq(ds->classes[0], "a");
    ck_assert_str_eq(ds->classes[2], "c");
    recur_dataset_free(ds);
}
END_TEST

/* float32 x, int64 mask, float64 targets with a NaN marked absent in a bool target_mask,
 * fixed-length byte-string names and format, int32 num_outputs, task "forecast". */
START_TEST(test_h5py_regress)
{
    char path[512];
    recur_dataset_t *ds = recur_dataset_load(fixture(path, sizeof path, "numpy_regress.h5"));
    ck_assert_ptr_nonnull(ds);
    ck_assert_int_eq(ds->task, RECUR_TASK_REGRESS);
    ck_assert_int_eq(ds->head, RECUR_HEAD_SEQ);
    ck_assert_uint_eq(ds->N, 4);
    ck_assert_uint_eq(ds->T, 3);
    ck_assert_uint_eq(ds->F, 2);
    ck_assert_uint_eq(ds->O, 2);
    ck_assert_ptr_nonnull(ds->target_mask);
    ck_assert_ptr_null(ds->classes);
    for (size_t n = 0; n < 4; n++) {
        for (size_t t = 0; t < 3; t++) {
            ck_assert_uint_eq(ds->mask[n * 3 + t], 1);
            for (size_t f = 0; f < 2; f++)
                ck_assert(ds->x[(n * 3 + t) * 2 + f] == (float)((double)n - t / 4.0 + f / 2.0));
        }
        for (size_t k = 0; k < 2; k++) {
            const bool absent = n == 2 && k == 1;
            ck_assert_uint_eq(ds->target_mask[n * 2 + k], !absent);
            ck_assert(ds->targets[n * 2 + k] == (absent ? 0.0f : (float)(n / 2.0 + k)));
        }
        const char name[2] = {(char)('a' + n), '\0'};
        ck_assert_str_eq(ds->names[n], name);
    }
    recur_dataset_free(ds);
}
END_TEST

START_TEST(test_train_fixture)
{
    char path[512];
    recur_dataset_t *ds = recur_dataset_load(fixture(path, sizeof path, "train_small.h5"));
    ck_assert_ptr_nonnull(ds);
    ck_assert_uint_eq(ds->N, 64);
    ck_assert_uint_eq(ds->F, 2);
    ck_assert_str_eq(ds->names[7], "r07");
    ck_assert_str_eq(ds->classes[1], "pos");
    /* The rule the fixture states: label 1 when feature 0 sums to > 0 over the valid steps. */
    for (size_t n = 0; n < ds->N; n++) {
        double s = 0;
        for (size_t t = 0; t < ds->T; t++)
            s += ds->mask[n * ds->T + t] ? ds->x[(n * ds->T + t) * 2] : 0.0;
        ck_assert_int_eq(ds->labels[n], s > 0);
    }
    recur_dataset_free(ds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dataset");
    TCase *tc = tcase_create("dataset");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_round_trip, 0, 12);
    tcase_add_test(tc, test_saved_layout);
    tcase_add_test(tc, test_nonfinite_unused_zeroed);
    tcase_add_test(tc, test_alloc_and_validate);
    tcase_add_test(tc, test_save_failures);
    tcase_add_loop_test(tc, test_batch_transposed, 0, 6);
    tcase_add_test(tc, test_batch_too_long);
    tcase_add_test(tc, test_batch_engine_agrees);
    tcase_add_loop_test(tc, test_bad_files, 0, (int)N_BAD);
    tcase_add_test(tc, test_not_datasets);
    tcase_add_test(tc, test_h5py_step);
    tcase_add_test(tc, test_h5py_regress);
    tcase_add_test(tc, test_train_fixture);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
