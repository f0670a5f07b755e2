/* fuzz_seqio.c - libFuzzer target over the sequence readers: each input is written to a file and
 * read to the end as FASTA/FASTQ (plain, gzip or BGZF alike), as SAM/BAM/CRAM, and as BED on a
 * small fixed reference. Run with -close_fd_mask=2: every rejected input logs one line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <htslib/faidx.h>

#include <recur/seqio.h>

static char dir[64], in_path[128], ref_path[128];

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    const size_t w = fwrite(data, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

static void cleanup(void)
{
    char p[160];
    static const char *names[] = {"in", "ref.fa", "ref.fa.fai"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    /* CRAM input must never send htslib to the network for a reference */
    setenv("REF_PATH", "/nonexistent/%s", 1);
    setenv("REF_CACHE", "/nonexistent/%s", 1);
    /* memory-backed when possible: every input goes through a file */
    snprintf(dir, sizeof dir, "/dev/shm/recur_fuzz_seqio_XXXXXX");
    if (!mkdtemp(dir)) {
        snprintf(dir, sizeof dir, "/tmp/recur_fuzz_seqio_XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    snprintf(in_path, sizeof in_path, "%s/in", dir);
    snprintf(ref_path, sizeof ref_path, "%s/ref.fa", dir);
    /* the contigs the seed BED and SAM files name: c1 (200 bp), c2 (100 bp, lowercase, N) */
    char ref[512];
    int n = snprintf(ref, sizeof ref, ">c1\n");
    for (int i = 0; i < 200; i++)
        ref[n++] = "ACGT"[(i * 7 + i / 3) % 4];
    n += snprintf(ref + n, sizeof ref - (size_t)n, "\n>c2 second\n");
    for (int i = 0; i < 100; i++)
        ref[n++] = i % 10 == 0 ? 'n' : "acgt"[(i * 5 + 1) % 4];
    ref[n++] = '\n';
    if (write_file(ref_path, ref, (size_t)n) != 0 || fai_build(ref_path) != 0)
        abort();
    atexit(cleanup);
    return 0;
}

static volatile size_t sink; /* keeps the reads of the records from being optimised away */

static void drain(recur_seqreader_t *r)
{
    recur_seqrec_t rec;
    if (!r)
        return;
    size_t total = 0;
    while (recur_seqreader_next(r, &rec) >= 0) {
        /* touch every byte the reader hands out */
        for (size_t i = 0; i < rec.len; i++)
            total += (unsigned char)rec.seq[i];
        total += strlen(rec.name) + (rec.label ? strlen(rec.label) : 0);
    }
    (void)recur_seqreader_count(r);
    (void)recur_seqreader_filtered(r);
    recur_seqreader_close(r);
    sink += total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (write_file(in_path, data, size) != 0)
        return 0;
    recur_seqopts_t o = {0};
    o.max_record_len = 4096;
    o.exclude_flags = RECUR_SEQIO_DEFAULT_EXCLUDE;
    o.label = "L";
    drain(recur_seqreader_fasta(in_path, &o));

    o.label_tag = "RG";
    o.min_mapq = 1;
    drain(recur_seqreader_bam(in_path, &o));
    o.label_tag = NULL;
    o.min_mapq = 0;
    o.exclude_flags = 0;
    drain(recur_seqreader_bam(in_path, &o));

    o.ref = ref_path;
    o.flank = 7;
    o.label_column = 4;
    drain(recur_seqreader_bed(in_path, &o));
    return 0;
}
