/* fasta_read.c - FASTA ingestion benchmark: writes a FASTA of about 200 MB (60-column lines,
 * 100 kb records of random bases, a little lowercase and N) and reads it back through
 * recur_seqreader_fasta, reporting MB/s of file and bases/s on one core (best of three passes).
 * Usage: fasta_read [-n MB] [-z] [FILE]; -z also times a bgzip copy (0 and 2 threads). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <htslib/bgzf.h>

#include <recur/seqio.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Writes about mb megabytes of FASTA to path (plain, or BGZF when bgzf); 0 on success. */
static int write_fasta(const char *path, size_t mb, int bgzf)
{
    const size_t rec_len = 100000, width = 60;
    char line[64];
    FILE *f = bgzf ? NULL : fopen(path, "wb");
    BGZF *z = bgzf ? bgzf_open(path, "w1") : NULL;
    if (!f && !z)
        return -1;
    unsigned long long s = 88172645463325252ull; /* xorshift64 (Marsaglia 2003) */
    const size_t nrec = mb * 1000000 / (rec_len + rec_len / width + 16);
    int bad = 0;
    for (size_t r = 0; r < nrec && !bad; r++) {
        char head[64];
        const int hn = snprintf(head, sizeof head, ">rec%zu benchmark record\n", r);
        bad |= f ? fwrite(head, 1, (size_t)hn, f) != (size_t)hn
                 : bgzf_write(z, head, (size_t)hn) != hn;
        for (size_t i = 0; i < rec_len && !bad; i += width) {
            const size_t w = rec_len - i < width ? rec_len - i : width;
            for (size_t k = 0; k < w; k++) {
                s ^= s << 13, s ^= s >> 7, s ^= s << 17;
                line[k] = (s & 0xff00) == 0 ? 'N' : "ACGTACGTACGTacgt"[s & 15];
            }
            line[w] = '\n';
            bad |= f ? fwrite(line, 1, w + 1, f) != w + 1
                     : bgzf_write(z, line, w + 1) != (ssize_t)(w + 1);
        }
    }
    if (f)
        bad |= fclose(f) != 0;
    else
        bad |= bgzf_close(z) != 0;
    return bad ? -1 : 0;
}

/* Reads path to the end; returns seconds, or -1 on error. *bases gets the bases read. */
static double read_once(const char *path, int threads, size_t *bases)
{
    recur_seqopts_t o = {0};
    o.threads = threads;
    const double t0 = now();
    recur_seqreader_t *r = recur_seqreader_fasta(path, &o);
    if (!r)
        return -1;
    recur_seqrec_t rec;
    int ret;
    size_t n = 0, gc = 0;
    while ((ret = recur_seqreader_next(r, &rec)) >= 0) {
        n += rec.len;
        gc += rec.seq[rec.len / 2] == 'G'; /* use the record */
    }
    recur_seqreader_close(r);
    const double dt = now() - t0;
    *bases = n + (gc > n); /* gc never exceeds n: keeps gc live */
    return ret == -1 ? dt : -1;
}

static int bench(const char *label, const char *path, int threads)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    const double mb = (double)ftell(f) / 1e6;
    fclose(f);
    double best = 1e30;
    size_t bases = 0;
    for (int k = 0; k < 3; k++) {
        const double dt = read_once(path, threads, &bases);
        if (dt < 0)
            return -1;
        if (dt < best)
            best = dt;
    }
    printf("fasta_read\t%s\tthreads=%d\t%.1f MB file\t%.1f Mbases\t%.3f s\t%.0f MB/s of file\t"
           "%.0f Mbases/s\n",
           label, threads, mb, (double)bases / 1e6, best, mb / best, (double)bases / 1e6 / best);
    return 0;
}

int main(int argc, char **argv)
{
    size_t mb = 200;
    int z = 0, opt;
    while ((opt = getopt(argc, argv, "n:z")) != -1) {
        if (opt == 'n')
            mb = (size_t)strtoul(optarg, NULL, 10);
        else if (opt == 'z')
            z = 1;
        else {
            fprintf(stderr, "usage: fasta_read [-n MB] [-z] [FILE]\n");
            return 2;
        }
    }
    char path[256], zpath[300];
    const int own = optind >= argc;
    if (own) {
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(path, sizeof path, "%s/recur_fasta_bench_%d.fa", tmp, (int)getpid());
        if (write_fasta(path, mb, 0) != 0) {
            fprintf(stderr, "fasta_read: cannot write %s\n", path);
            return 1;
        }
    } else {
        snprintf(path, sizeof path, "%s", argv[optind]);
    }
    int rc = bench("plain", path, 0);
    if (rc == 0 && z) {
        snprintf(zpath, sizeof zpath, "%s.bgz", path);
        rc = write_fasta(zpath, mb, 1);
        if (rc == 0)
            rc = bench("bgzip", zpath, 0);
        if (rc == 0)
            rc = bench("bgzip", zpath, 2);
        unlink(zpath);
    }
    if (own)
        unlink(path);
    if (rc != 0)
        fprintf(stderr, "fasta_read: reading failed\n");
    return rc == 0 ? 0 : 1;
}
