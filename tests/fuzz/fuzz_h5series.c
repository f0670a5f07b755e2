/* fuzz_h5series.c - libFuzzer target for the HDF5 / netCDF-4 series reader: the input is a file
 * (HDF5 has no reader on a memory buffer that goes through the same open path, so it is written
 * to a scratch file) read in one of several ways chosen by its last byte: CF variables with and
 * without selections, a plain (time, feature) dataset. Every read must return a series or NULL
 * with one logged line; the sanitizers catch the rest.
 *
 * Build (from the top of the tree; see the README's fuzzing section):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -D_GNU_SOURCE \
 *       $(pkg-config --cflags hdf5) tests/fuzz/fuzz_h5series.c src/h5series.c src/h5var.c \
 *       src/cftime.c src/h5util.c src/outfile.c src/log.c \
 *       $(pkg-config --libs hdf5) -lm -o build/fuzz_h5series
 * Seeds: sh tests/fuzz/make_h5series_corpus.sh DIR (fixtures with a mode byte appended).
 * Run: build/fuzz_h5series -max_len=65536 -timeout=10 NEWDIR DIR 2>fuzz.log */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include <recur/h5series.h>

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "/tmp/fuzz_h5series_%d.h5", (int)getpid());
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    recur_log_set_quiet(true); /* the one-line errors still reach stderr, like libFuzzer's */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const uint8_t mode = data[size - 1];
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return 0;
    fwrite(data, 1, size - 1, fp);
    fclose(fp);
    /* names used by the fixtures and by netCDF files in the wild */
    static const char *const vars_a[] = {"t2m", "pr", "rh"};
    static const char *const vars_b[] = {"tas", "pr"};
    static const char *const vars_c[] = {"temp"};
    static const char *const vars_d[] = {"v"};
    static const char *const vars_e[] = {"y"};
    recur_series_select_t sel[2];
    recur_series_opts_t o = {.max_bytes = (size_t)64 << 20};
    switch (mode % 8) {
    case 0:
        o.vars = vars_a;
        o.n_vars = 3;
        break;
    case 1:
        o.vars = vars_b;
        o.n_vars = 2;
        break;
    case 2:
        o.vars = vars_b;
        o.n_vars = 2;
        (void)!recur_series_select_parse("station=~300", &sel[0]);
        o.select = sel;
        o.n_select = 1;
        break;
    case 3:
        o.vars = vars_c;
        o.n_vars = 1;
        break;
    case 4:
        o.vars = vars_d;
        o.n_vars = 1;
        (void)!recur_series_select_parse("latitude=~47", &sel[0]);
        (void)!recur_series_select_parse("longitude=1", &sel[1]);
        o.select = sel;
        o.n_select = 2;
        break;
    case 5:
        o.vars = vars_e;
        o.n_vars = 1;
        o.time_dim = "step";
        break;
    case 6:
        o.dataset = "/obs/x";
        break;
    default:
        o.dataset = "bare";
        break;
    }
    recur_series_t *s = recur_series_read(path, &o);
    if (s) {
        /* touch everything the reader promised */
        double acc = 0;
        for (size_t i = 0; i < s->S * s->T * s->V; i++)
            acc += s->mask[i] ? s->values[i] : 0;
        for (size_t t = 0; t < s->T; t++)
            acc += s->time[t] + (s->epoch ? s->epoch[t] : 0);
        for (size_t i = 0; i < s->S; i++)
            acc += (double)strlen(s->series_names[i]);
        for (size_t v = 0; v < s->V; v++)
            acc += (double)strlen(s->var_names[v]) + (double)strlen(s->var_units[v]);
        if (acc == 12345.678)
            fputs("", stdout);
        recur_series_free(s);
    }
    unlink(path);
    return 0;
}
