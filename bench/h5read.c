/* h5read.c - times recur's series reader on one grid point of a (time, lat, lon) file: the
 * whole recur_series_read() (open, validation, dimension scales, time decoding, the hyperslab
 * read, unpacking and masking), median of N runs. Prints "seconds<TAB>steps<TAB>checksum".
 * Usage: h5read FILE VAR LAT_INDEX LON_INDEX [RUNS]   (see bench/h5read.sh) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <hdf5.h>

#include <recur/h5series.h>

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char *argv[])
{
    if (argc < 5) {
        fprintf(stderr, "usage: h5read FILE VAR LAT_INDEX LON_INDEX [RUNS]\n");
        return 2;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const int runs = argc > 5 ? atoi(argv[5]) : 5;
    char lat[64], lon[64];
    snprintf(lat, sizeof lat, "latitude=%s", argv[3]);
    snprintf(lon, sizeof lon, "longitude=%s", argv[4]);
    recur_series_select_t sel[2];
    if (runs < 1 || recur_series_select_parse(lat, &sel[0]) ||
        recur_series_select_parse(lon, &sel[1]))
        return 2;
    const char *vars[] = {argv[2]};
    recur_series_opts_t o = {.vars = vars, .n_vars = 1, .select = sel, .n_select = 2};
    double *t = malloc((size_t)runs * sizeof *t), sum = 0;
    size_t T = 0;
    for (int r = 0; r < runs; r++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        recur_series_t *s = recur_series_read(argv[1], &o);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (!s)
            return 1;
        T = s->T;
        sum = 0;
        for (size_t i = 0; i < s->T; i++)
            sum += s->mask[i] ? s->values[i] : 0;
        recur_series_free(s);
        t[r] = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp);
    printf("%.6f\t%zu\t%.6f\n", t[runs / 2], T, sum);
    free(t);
    return 0;
}
