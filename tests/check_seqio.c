/* check_seqio.c - the sequence readers on fixtures made at test time with htslib's own writers
 * (FASTA/FASTQ plain, gzip, bgzip; a reference plain and bgzipped; BED; SAM -> BAM + .bai and
 * CRAM + .crai): records against the generating data, BAM counts against `samtools view -c`, and
 * every error path as one line naming the file and the record. */
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <htslib/bgzf.h>
#include <htslib/hts.h>
#include <htslib/sam.h>

#include <recur/seqio.h>

#include "testutil.h"

/* ---- deterministic data ---------------------------------------------------------------------- */

static uint64_t rng_s = 0x9E3779B97F4A7C15ull;

/* splitmix64 (Steele, Lea, Flood 2014): the fixtures do not depend on any library's RNG. */
static uint32_t rnd(void)
{
    uint64_t z = (rng_s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static void rand_bases(char *s, size_t n, const char *alphabet)
{
    const size_t k = strlen(alphabet);
    for (size_t i = 0; i < n; i++)
        s[i] = alphabet[rnd() % k];
    s[n] = '\0';
}

/* The oracle's own base rules, written independently of seqio.c: uppercase, U -> T. */
static void oracle_clean(const char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        out[i] = c == 'U' ? 'T' : c;
    }
    out[n] = '\0';
}

static char oracle_comp(char c)
{
    switch (c) {
    case 'A':
        return 'T';
    case 'C':
        return 'G';
    case 'G':
        return 'C';
    case 'T':
        return 'A';
    case 'R':
        return 'Y';
    case 'Y':
        return 'R';
    case 'K':
        return 'M';
    case 'M':
        return 'K';
    case 'B':
        return 'V';
    case 'V':
        return 'B';
    case 'D':
        return 'H';
    case 'H':
        return 'D';
    default:
        return c; /* N, S, W */
    }
}

/* out = reverse complement of uppercase in[0..n) (out != in) */
static void oracle_revcomp(const char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = oracle_comp(in[n - 1 - i]);
    out[n] = '\0';
}

/* ---- scratch directory ----------------------------------------------------------------------- */

static char dir[64];
/* references, kept apart from P()'s ring because options hold them across many calls */
static char ref_fa[128], ref_bgz[128], ref_gz[128], cram_ref[128];

/* Path of a fixture; a ring of buffers so that several can be used in one expression. */
static const char *P(const char *name)
{
    static char ring[8][256];
    static int k = 0;
    char *b = ring[k++ & 7];
    snprintf(b, 256, "%s/%s", dir, name);
    return b;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    const size_t w = fwrite(data, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

static void put(const char *name, const char *text)
{
    ck_assert_int_eq(write_bytes(P(name), text, strlen(text)), 0);
}

/* mode "w" = BGZF (bgzip), "wg" = plain gzip, NULL = uncompressed */
static int write_text(const char *path, const char *text, size_t n, const char *mode)
{
    if (!mode)
        return write_bytes(path, text, n);
    BGZF *f = bgzf_open(path, mode);
    if (!f)
        return -1;
    const ssize_t w = bgzf_write(f, text, n);
    return (bgzf_close(f) == 0 && w == (ssize_t)n) ? 0 : -1;
}

/* Malloc'd contents of a file; *n its size. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    const long sz = ftell(f);
    rewind(f);
    char *b = malloc((size_t)sz + 1);
    if (b && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)sz;
    return b;
}

/* Writes the first n bytes of src into dst (a truncated copy). */
static void truncated_copy(const char *src, const char *dst, size_t keep)
{
    size_t n = 0;
    char *b = slurp(src, &n);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_lt(keep, n);
    ck_assert_int_eq(write_bytes(dst, b, keep), 0);
    free(b);
}

/* A growing text buffer. */
typedef struct {
    char *s;
    size_t l, m;
} text_t;

static void tprintf(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tprintf(text_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->l + (size_t)need + 1 > t->m) {
        t->m = (t->l + (size_t)need + 1) * 2;
        t->s = realloc(t->s, t->m);
        if (!t->s)
            abort();
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->l, (size_t)need + 1, fmt, ap);
    va_end(ap);
    t->l += (size_t)need;
}

/* ---- fixture data ---------------------------------------------------------------------------- */

/* The reference: chr1 has a lowercase stretch [100, 130), chr2 an N run [10, 20). */
#define NCTG 3
static const char *ctg_name[NCTG] = {"chr1", "chr2", "chrM"};
static const size_t ctg_len[NCTG] = {1000, 700, 50};
static char *ctg_seq[NCTG]; /* as written in the file */

/* FASTA records: names, raw sequences (mixed case, U, IUPAC), expected clean sequences. */
#define NFA 120
static char fa_name[NFA][16];
static char *fa_raw[NFA], *fa_clean[NFA];

/* Reads of the BAM, in file order (coordinate-sorted; unplaced unmapped reads last). */
#define NREAD 64
typedef struct {
    char name[16];
    int tid;  /* -1: unplaced */
    long pos; /* 0-based leftmost */
    int len;  /* read length = reference span (CIGAR lenM) */
    int mapq;
    int flag;
    char seq[64]; /* original read, 5'->3' */
    const char *rg;
    int xi, has_xi; /* integer tag */
    char xa;        /* character tag, 0 = none */
} read_t;
static read_t reads[NREAD];

static void make_reference(text_t *t)
{
    for (int c = 0; c < NCTG; c++) {
        const size_t n = ctg_len[c];
        ctg_seq[c] = malloc(n + 1);
        rand_bases(ctg_seq[c], n, "ACGT");
        if (c == 0)
            for (size_t i = 100; i < 130; i++)
                ctg_seq[c][i] = (char)(ctg_seq[c][i] - 'A' + 'a');
        if (c == 1)
            memset(ctg_seq[c] + 10, 'N', 10);
        tprintf(t, ">%s description %d\n", ctg_name[c], c);
        for (size_t i = 0; i < n; i += 60)
            tprintf(t, "%.*s\n", (int)(n - i < 60 ? n - i : 60), ctg_seq[c] + i);
    }
}

/* FASTA text (line ends "\n" or "\r\n"), and the same records as FASTQ. */
static void make_fasta(text_t *fa, text_t *crlf, text_t *fq)
{
    static const char alpha[] = "ACGTACGTACGTacgtUuNnRYSWKMBDHVryswkmbdhv";
    for (int r = 0; r < NFA; r++) {
        snprintf(fa_name[r], sizeof fa_name[r], "seq%03d", r);
        const size_t n = r == 0 ? 1 : r == 1 ? 3000 : 1 + rnd() % 2500;
        fa_raw[r] = malloc(n + 1);
        fa_clean[r] = malloc(n + 1);
        rand_bases(fa_raw[r], n, alpha);
        oracle_clean(fa_raw[r], n, fa_clean[r]);
        const size_t width = r == 2 ? 1 : 10 + rnd() % 71;
        tprintf(fa, ">%s%s\n", fa_name[r], r % 3 ? " some description" : "");
        tprintf(crlf, ">%s%s\r\n", fa_name[r], r % 3 ? "\tdesc" : "");
        for (size_t i = 0; i < n; i += width) {
            const int w = (int)(n - i < width ? n - i : width);
            tprintf(fa, "%.*s\n", w, fa_raw[r] + i);
            tprintf(crlf, "%.*s\r\n", w, fa_raw[r] + i);
        }
        if (r % 5 == 0) { /* blank lines between records are allowed */
            tprintf(fa, "\n");
            tprintf(crlf, "\r\n");
        }
        tprintf(fq, "@%s\n%s\n+\n", fa_name[r], fa_raw[r]);
        for (size_t i = 0; i < n; i++)
            tprintf(fq, "%c", (char)('!' + rnd() % 41));
        tprintf(fq, "\n");
    }
}

static int cmp_read(const void *a, const void *b)
{
    const read_t *x = a, *y = b;
    const int tx = x->tid < 0 ? NCTG : x->tid, ty = y->tid < 0 ? NCTG : y->tid;
    if (tx != ty)
        return tx - ty;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static void make_reads(text_t *sam)
{
    /* flags cycled through: forward, reverse, pairs, and every default-excluded kind */
    static const int flags[] = {0,    16,   0,  16, 99,  147,  83, 163, 4, 256, 512,
                                1024, 2048, 16, 0,  272, 1040, 65, 129, 0, 16,  69};
    const int nflags = (int)(sizeof flags / sizeof flags[0]);
    for (int i = 0; i < NREAD; i++) {
        read_t *r = &reads[i];
        r->flag = flags[i % nflags];
        r->tid = (int)(rnd() % NCTG);
        r->len = 20 + (int)(rnd() % 31);
        if (r->tid == 2 && r->len > 40)
            r->len = 40;
        r->pos = (long)(rnd() % (ctg_len[r->tid] - (size_t)r->len + 1));
        r->mapq = (r->flag & 4) ? 0 : (int)(rnd() % 61);
        if (i >= NREAD - 3) { /* unplaced unmapped reads at the end */
            r->flag = 4;
            r->tid = -1;
            r->pos = -1;
            r->mapq = 0;
        }
        rand_bases(r->seq, (size_t)r->len, "ACGTACGTN");
        r->rg = i % 3 == 0 ? "grpA" : i % 3 == 1 ? "grpB" : NULL;
        r->has_xi = i % 4 != 3;
        r->xi = i % 2 ? i * 37 - 900 : i * 5000; /* stored as c, C, s, S or i by htslib */
        r->xa = i % 5 == 0 ? (char)('a' + i % 26) : 0;
    }
    qsort(reads, NREAD, sizeof reads[0], cmp_read);
    for (int i = 0; i < NREAD; i++)
        snprintf(reads[i].name, sizeof reads[i].name, "r%03d", i);
    tprintf(sam, "@HD\tVN:1.6\tSO:coordinate\n");
    for (int c = 0; c < NCTG; c++)
        tprintf(sam, "@SQ\tSN:%s\tLN:%zu\n", ctg_name[c], ctg_len[c]);
    tprintf(sam, "@RG\tID:grpA\tSM:a\n@RG\tID:grpB\tSM:b\n");
    for (int i = 0; i < NREAD; i++) {
        const read_t *r = &reads[i];
        char stored[64]; /* SEQ as SAM stores it: reverse-strand reads reverse-complemented */
        if (r->flag & 16)
            oracle_revcomp(r->seq, (size_t)r->len, stored);
        else
            snprintf(stored, sizeof stored, "%s", r->seq);
        const bool placed = r->tid >= 0;
        char cigar[16] = "*";
        if (!(r->flag & 4))
            snprintf(cigar, sizeof cigar, "%dM", r->len);
        tprintf(sam, "%s\t%d\t%s\t%ld\t%d\t%s\t*\t0\t0\t%s\t*", r->name, r->flag,
                placed ? ctg_name[r->tid] : "*", placed ? r->pos + 1 : 0L, r->mapq, cigar, stored);
        if (r->rg)
            tprintf(sam, "\tRG:Z:%s", r->rg);
        if (r->has_xi)
            tprintf(sam, "\tXI:i:%d", r->xi);
        if (r->xa)
            tprintf(sam, "\tXA:A:%c", r->xa);
        tprintf(sam, "\tXF:f:1.5\n");
    }
}

/* SAM text -> BAM ("wb") or CRAM ("wc", with ref) through htslib. */
static int sam_convert(const char *in, const char *out, const char *mode, const char *ref)
{
    int ret = -1;
    samFile *fi = sam_open(in, "r"), *fo = sam_open(out, mode);
    sam_hdr_t *h = fi ? sam_hdr_read(fi) : NULL;
    bam1_t *b = bam_init1();
    if (!fi || !fo || !h || !b)
        goto done;
    if (ref && hts_set_fai_filename(fo, ref) < 0)
        goto done;
    if (sam_hdr_write(fo, h) < 0)
        goto done;
    int r;
    while ((r = sam_read1(fi, h, b)) >= 0)
        if (sam_write1(fo, h, b) < 0)
            goto done;
    ret = r == -1 ? 0 : -1;
done:
    bam_destroy1(b);
    if (h)
        sam_hdr_destroy(h);
    if (fi)
        sam_close(fi);
    if (fo && sam_close(fo) < 0)
        ret = -1;
    return ret;
}

static int copy_file(const char *src, const char *dst)
{
    size_t n = 0;
    char *b = slurp(src, &n);
    const int ret = b ? write_bytes(dst, b, n) : -1;
    free(b);
    return ret;
}

/* Every fixture of the suite; 0 on success. */
static int make_fixtures(void)
{
    text_t ref = {0}, fa = {0}, crlf = {0}, fq = {0}, sam = {0}, star = {0};
    int ok = 1;
    make_reference(&ref);
    make_fasta(&fa, &crlf, &fq);
    make_reads(&sam);
    ok &= write_text(P("ref.fa"), ref.s, ref.l, NULL) == 0;
    ok &= write_text(P("ref.fa.bgz"), ref.s, ref.l, "w") == 0;
    ok &= write_text(P("ref.fa.gz"), ref.s, ref.l, "wg") == 0;
    ok &= write_text(cram_ref, ref.s, ref.l, NULL) == 0;
    ok &= write_text(P("seqs.fa"), fa.s, fa.l, NULL) == 0;
    ok &= write_text(P("seqs.fa.gz"), fa.s, fa.l, "wg") == 0;
    ok &= write_text(P("seqs.fa.bgz"), fa.s, fa.l, "w") == 0;
    ok &= write_text(P("seqs_crlf.fa"), crlf.s, crlf.l, NULL) == 0;
    ok &= write_text(P("seqs_crlf.fa.gz"), crlf.s, crlf.l, "wg") == 0;
    ok &= write_text(P("seqs.fq"), fq.s, fq.l, NULL) == 0;
    ok &= write_text(P("seqs.fq.bgz"), fq.s, fq.l, "w") == 0;
    text_t fq_crlf = {0};
    for (size_t i = 0; i < fq.l; i++)
        tprintf(&fq_crlf, fq.s[i] == '\n' ? "\r\n" : "%c", fq.s[i]);
    ok &= write_text(P("seqs_crlf.fq.gz"), fq_crlf.s, fq_crlf.l, "wg") == 0;
    free(fq_crlf.s);
    ok &= write_text(P("reads.sam"), sam.s, sam.l, NULL) == 0;
    ok &= sam_convert(P("reads.sam"), P("reads.bam"), "wb", NULL) == 0;
    ok &= sam_index_build(P("reads.bam"), 0) == 0;
    ok &= copy_file(P("reads.bam"), P("noidx.bam")) == 0;
    ok &= sam_convert(P("reads.sam"), P("reads.cram"), "wc", cram_ref) == 0;
    ok &= sam_index_build(P("reads.cram"), 0) == 0;
    /* a primary read with SEQ '*' after a good one */
    tprintf(&star, "@SQ\tSN:chr1\tLN:1000\n");
    tprintf(&star, "good\t0\tchr1\t10\t60\t4M\t*\t0\t0\tACGT\t*\n");
    tprintf(&star, "noseq\t0\tchr1\t20\t60\t4M\t*\t0\t0\t*\t*\n");
    ok &= write_text(P("star.sam"), star.s, star.l, NULL) == 0;
    ok &= sam_convert(P("star.sam"), P("star.bam"), "wb", NULL) == 0;
    free(ref.s);
    free(fa.s);
    free(crlf.s);
    free(fq.s);
    free(sam.s);
    free(star.s);
    return ok ? 0 : -1;
}

/* ---- running a reader ------------------------------------------------------------------------ */

typedef enum { K_FASTA, K_BED, K_BAM } kind_t;

typedef struct {
    size_t n;
    char **name, **seq, **label; /* (n) copies; label NULL when the record has none */
    int ret;                     /* last return of next(); 1 = the opener failed */
    uint64_t count, filtered;
    char err[4096]; /* everything written to stderr */
} run_t;

static void run_free(run_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->name[i]);
        free(r->seq[i]);
        free(r->label[i]);
    }
    free(r->name);
    free(r->seq);
    free(r->label);
    free(r);
}

/* Opens path as kind, reads to the end or the first error, with stderr captured. */
static run_t *run(kind_t kind, const char *path, const recur_seqopts_t *o)
{
    run_t *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    fflush(stderr);
    FILE *cap = tmpfile();
    ck_assert_ptr_nonnull(cap);
    const int saved = dup(2);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(dup2(fileno(cap), 2), 0);
    recur_seqreader_t *rd = kind == K_FASTA ? recur_seqreader_fasta(path, o)
                            : kind == K_BED ? recur_seqreader_bed(path, o)
                                            : recur_seqreader_bam(path, o);
    if (!rd) {
        r->ret = 1;
    } else {
        size_t m = 0;
        recur_seqrec_t rec;
        while ((r->ret = recur_seqreader_next(rd, &rec)) >= 0) {
            ck_assert_uint_eq(strlen(rec.seq), rec.len);
            if (r->n == m) {
                m = m ? 2 * m : 64;
                r->name = realloc(r->name, m * sizeof *r->name);
                r->seq = realloc(r->seq, m * sizeof *r->seq);
                r->label = realloc(r->label, m * sizeof *r->label);
                ck_assert(r->name && r->seq && r->label);
            }
            r->name[r->n] = strdup(rec.name);
            r->seq[r->n] = strdup(rec.seq);
            r->label[r->n] = rec.label ? strdup(rec.label) : NULL;
            r->n++;
        }
        /* after the end or an error, the reader keeps saying so */
        ck_assert_int_eq(recur_seqreader_next(rd, &rec), r->ret);
        r->count = recur_seqreader_count(rd);
        r->filtered = recur_seqreader_filtered(rd);
        recur_seqreader_close(rd);
    }
    fflush(stderr);
    ck_assert_int_ge(dup2(saved, 2), 0);
    close(saved);
    rewind(cap);
    const size_t k = fread(r->err, 1, sizeof r->err - 1, cap);
    r->err[k] = '\0';
    fclose(cap);
    if (r->ret != 1)
        ck_assert_uint_eq(r->count, r->n);
    return r;
}

/* The reader fails (at open, or at a record after `before` good ones) with exactly one line on
 * stderr, "recur: " + that line containing every given piece. */
static void expect_fail_at(kind_t kind, const char *path, const recur_seqopts_t *o, long before,
                           const char *piece1, const char *piece2)
{
    run_t *r = run(kind, path, o);
    if (before < 0)
        ck_assert_msg(r->ret == 1, "%s: opener should fail, got ret %d", path, r->ret);
    else
        ck_assert_msg(r->ret < -1, "%s: expected an error, got ret %d after %zu records", path,
                      r->ret, r->n);
    if (before >= 0)
        ck_assert_uint_eq(r->n, (size_t)before);
    const char *nl = strchr(r->err, '\n');
    ck_assert_msg(nl && nl[1] == '\0', "not one line: [%s]", r->err);
    ck_assert_msg(strncmp(r->err, "recur: ", 7) == 0, "prefix: [%s]", r->err);
    ck_assert_msg(strstr(r->err, piece1), "[%s] lacks [%s]", r->err, piece1);
    if (piece2)
        ck_assert_msg(strstr(r->err, piece2), "[%s] lacks [%s]", r->err, piece2);
    run_free(r);
}

/* Fails at the opener. */
static void expect_open_fail(kind_t kind, const char *path, const recur_seqopts_t *o,
                             const char *piece1, const char *piece2)
{
    expect_fail_at(kind, path, o, -1, piece1, piece2);
}

/* Reads cleanly to the end, nothing on stderr. */
static run_t *run_ok(kind_t kind, const char *path, const recur_seqopts_t *o)
{
    run_t *r = run(kind, path, o);
    ck_assert_msg(r->ret == -1, "%s: ret %d, stderr [%s]", path, r->ret, r->err);
    ck_assert_msg(r->err[0] == '\0', "%s: stderr [%s]", path, r->err);
    return r;
}

/* ---- utilities ------------------------------------------------------------------------------- */

START_TEST(test_revcomp)
{
    char out[64];
    const char *in = "ACGTRYKMBDHVSWN";
    recur_dna_revcomp(in, strlen(in), out);
    out[strlen(in)] = '\0';
    ck_assert_str_eq(out, "NWSBDHVKMRYACGT");
    /* lowercase keeps its case; U pairs with A; other bytes are left alone */
    recur_dna_revcomp("acgtuX-", 7, out);
    out[7] = '\0';
    ck_assert_str_eq(out, "-Xaacgt");
    /* in place, odd and even lengths, and an involution on random IUPAC strings */
    for (size_t n = 0; n < 40; n++) {
        char s[64], t[64], o[64];
        rand_bases(s, n, "ACGTNRYSWKMBDHV");
        memcpy(t, s, n + 1);
        recur_dna_revcomp(t, n, t);
        oracle_revcomp(s, n, o);
        ck_assert_mem_eq(t, o, n);
        recur_dna_revcomp(t, n, t);
        ck_assert_mem_eq(t, s, n);
    }
    recur_dna_revcomp("", 0, out); /* nothing to do, nothing touched */
}
END_TEST

START_TEST(test_split_file_label)
{
    char file[32];
    const char *label = (const char *)1;
    ck_assert_int_eq(recur_split_file_label("pos.fa:promoter", file, sizeof file, &label), 0);
    ck_assert_str_eq(file, "pos.fa");
    ck_assert_str_eq(label, "promoter");
    ck_assert_int_eq(recur_split_file_label("pos.fa", file, sizeof file, &label), 0);
    ck_assert_str_eq(file, "pos.fa");
    ck_assert_ptr_null(label);
    /* last ':' wins */
    ck_assert_int_eq(recur_split_file_label("a:b.fa:x", file, sizeof file, &label), 0);
    ck_assert_str_eq(file, "a:b.fa");
    ck_assert_str_eq(label, "x");
    /* nothing after ':' or a '/' after it: no label, the whole argument is the file */
    ck_assert_int_eq(recur_split_file_label("pos.fa:", file, sizeof file, &label), 0);
    ck_assert_str_eq(file, "pos.fa:");
    ck_assert_ptr_null(label);
    ck_assert_int_eq(recur_split_file_label("/mnt/a:b/c.fa", file, sizeof file, &label), 0);
    ck_assert_str_eq(file, "/mnt/a:b/c.fa");
    ck_assert_ptr_null(label);
    /* the label points into the argument */
    const char *arg = "x.fa:L";
    ck_assert_int_eq(recur_split_file_label(arg, file, sizeof file, &label), 0);
    ck_assert_ptr_eq(label, arg + 5);
    /* a file part that does not fit (the label would, but is not enough) */
    char small[6];
    ck_assert_int_eq(recur_split_file_label("abcdef.fa:L", small, sizeof small, &label),
                     RECUR_EINVAL);
    ck_assert_ptr_null(label);
    ck_assert_int_eq(recur_split_file_label("abcde:L", small, sizeof small, &label), 0);
    ck_assert_str_eq(small, "abcde");
    ck_assert_int_eq(recur_split_file_label("abcdef", small, sizeof small, &label), RECUR_EINVAL);
}
END_TEST

/* ---- FASTA / FASTQ --------------------------------------------------------------------------- */

static void check_fasta_records(const run_t *r, const char *label)
{
    ck_assert_uint_eq(r->n, NFA);
    for (size_t i = 0; i < NFA; i++) {
        ck_assert_str_eq(r->name[i], fa_name[i]);
        ck_assert_msg(strcmp(r->seq[i], fa_clean[i]) == 0, "record %zu: sequence differs", i);
        if (label)
            ck_assert_str_eq(r->label[i], label);
        else
            ck_assert_ptr_null(r->label[i]);
    }
}

/* The same records from plain, gzip, bgzip (with and without threads), CRLF, FASTQ. */
START_TEST(test_fasta_same_records)
{
    static const char *files[] = {"seqs.fa",      "seqs.fa.gz",      "seqs.fa.bgz",
                                  "seqs_crlf.fa", "seqs_crlf.fa.gz", "seqs.fq",
                                  "seqs.fq.bgz",  "seqs_crlf.fq.gz"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        run_t *r = run_ok(K_FASTA, P(files[i]), NULL);
        check_fasta_records(r, NULL);
        run_free(r);
    }
    /* "-" reads stdin, compressed or not (htslib closes fd 0 when done: reopen it each time) */
    const int saved = dup(0);
    ck_assert_int_ge(saved, 0);
    for (int k = 0; k < 2; k++) {
        const int fd = open(P(k ? "seqs.fa.bgz" : "seqs.fa"), O_RDONLY);
        ck_assert_int_ge(fd, 0);
        if (fd != 0) {
            ck_assert_int_eq(dup2(fd, 0), 0);
            close(fd);
        }
        run_t *r = run_ok(K_FASTA, "-", NULL);
        check_fasta_records(r, NULL);
        run_free(r);
    }
    ck_assert_int_ge(dup2(saved, 0), 0);
    close(saved);
    recur_seqopts_t o = {0};
    o.label = "promoter";
    o.threads = 2;
    run_t *r = run_ok(K_FASTA, P("seqs.fa.bgz"), &o);
    check_fasta_records(r, "promoter");
    run_free(r);
}
END_TEST

/* Lowercase, U and every IUPAC code, spelled out rather than generated. */
START_TEST(test_fasta_iupac_literal)
{
    put("iupac.fa", ">x first\nacgtu\nACGTU\nNRYSWKMBDHV\nnryswkmbdhv\n>y\nG\n");
    run_t *r = run_ok(K_FASTA, P("iupac.fa"), NULL);
    ck_assert_uint_eq(r->n, 2);
    ck_assert_str_eq(r->name[0], "x");
    ck_assert_str_eq(r->seq[0], "ACGTTACGTTNRYSWKMBDHVNRYSWKMBDHV");
    ck_assert_str_eq(r->name[1], "y");
    ck_assert_str_eq(r->seq[1], "G");
    run_free(r);
    /* CRLF everywhere, a blank CRLF line inside a record, no final newline */
    put("crlf.fa", ">a\r\n\r\nAC\r\nGT\r\n>b\r\nTT");
    r = run_ok(K_FASTA, P("crlf.fa"), NULL);
    ck_assert_uint_eq(r->n, 2);
    ck_assert_str_eq(r->seq[0], "ACGT");
    ck_assert_str_eq(r->seq[1], "TT");
    run_free(r);
}
END_TEST

START_TEST(test_fasta_errors)
{
    expect_open_fail(K_FASTA, P("absent.fa"), NULL, "absent.fa: cannot open",
                     "No such file or directory");
    put("empty.fa", "");
    expect_fail_at(K_FASTA, P("empty.fa"), NULL, 0, "empty.fa: empty", NULL);
    put("blank.fa", "\n\r\n\n");
    expect_fail_at(K_FASTA, P("blank.fa"), NULL, 0, "blank.fa: empty", NULL);
    /* a header with no sequence: alone (the record that crashes htslib 1.16's sam_read1),
     * in the middle, at the end */
    put("noseq1.fa", ">only\n");
    expect_fail_at(K_FASTA, P("noseq1.fa"), NULL, 0,
                   "noseq1.fa: record 1 (only): header with "
                   "no sequence",
                   NULL);
    put("noseq2.fa", ">a\nACGT\n>b\n>c\nAC\n");
    expect_fail_at(K_FASTA, P("noseq2.fa"), NULL, 1,
                   "noseq2.fa: record 2 (b): header with no "
                   "sequence",
                   NULL);
    put("noseq3.fa", ">a\nACGT\n>b\n");
    expect_fail_at(K_FASTA, P("noseq3.fa"), NULL, 1, "record 2 (b): header with no sequence", NULL);
    put("noseq4.fa", ">a\n\r\n");
    expect_fail_at(K_FASTA, P("noseq4.fa"), NULL, 0, "record 1 (a): header with no sequence", NULL);
    /* '>' without a name */
    put("noname.fa", ">a\nAC\n>\nACGT\n");
    expect_fail_at(K_FASTA, P("noname.fa"), NULL, 1, "noname.fa: record 2: header without a name",
                   NULL);
    put("noname2.fa", "> spaced\nACGT\n");
    expect_fail_at(K_FASTA, P("noname2.fa"), NULL, 0, "record 1: header without a name", NULL);
    /* not nucleotides */
    put("star.fa", ">a\nACGT\nAC*G\n");
    expect_fail_at(K_FASTA, P("star.fa"), NULL, 0,
                   "star.fa: record 1 (a): '*' at base 7 is not a nucleotide", NULL);
    put("digit.fa", ">a\nAC\n>b\nAC1G\n");
    expect_fail_at(K_FASTA, P("digit.fa"), NULL, 1, "record 2 (b): '1' at base 3", NULL);
    put("gap.fa", ">a\nAC-GT\n");
    expect_fail_at(K_FASTA, P("gap.fa"), NULL, 0, "'-' at base 3", NULL);
    put("space.fa", ">a\nAC GT\n");
    expect_fail_at(K_FASTA, P("space.fa"), NULL, 0, "' ' at base 3", NULL);
    put("ctl.fa", ">a\nAC\001GT\n");
    expect_fail_at(K_FASTA, P("ctl.fa"), NULL, 0, "byte 0x01 at base 3", NULL);
    put("protein.fa", ">p\nMKLVEFQQ\n");
    expect_fail_at(K_FASTA, P("protein.fa"), NULL, 0, "'L' at base 3", NULL);
    /* text before the first header, and a binary file */
    put("junk.fa", "ACGT\n>a\nACGT\n");
    expect_fail_at(K_FASTA, P("junk.fa"), NULL, 0, "junk.fa: record 1: not FASTA/FASTQ", NULL);
    expect_fail_at(K_FASTA, P("reads.bam"), NULL, 0, "not FASTA/FASTQ", NULL);
    /* FASTQ: short quality, missing quality, '+' inside a FASTA file */
    put("shortq.fq", "@a\nACGT\n+\nIIII\n@b\nACGT\n+\nII\n");
    expect_fail_at(K_FASTA, P("shortq.fq"), NULL, 1, "record 2 (b): quality", NULL);
    put("noqual.fq", "@a\nACGT\n+\nIIII\n@b\nACGT\n");
    expect_fail_at(K_FASTA, P("noqual.fq"), NULL, 1, "record 2 (b): FASTQ record without", NULL);
    put("plus.fa", ">a\nACGT\n+\nACGT\n");
    expect_fail_at(K_FASTA, P("plus.fa"), NULL, 0, "record 1 (a): a line starting with '+'", NULL);
}
END_TEST

/* Duplicate names are the caller's concern: both records come out. */
START_TEST(test_fasta_duplicates_kept)
{
    put("dup.fa", ">a\nAC\n>a\nGT\n");
    run_t *r = run_ok(K_FASTA, P("dup.fa"), NULL);
    ck_assert_uint_eq(r->n, 2);
    ck_assert_str_eq(r->name[1], "a");
    ck_assert_str_eq(r->seq[1], "GT");
    run_free(r);
}
END_TEST

START_TEST(test_fasta_length_cap)
{
    put("cap.fa", ">a\nACGTACGTAC\n>b\nACGTACGTACG\n");
    recur_seqopts_t o = {0};
    o.max_record_len = 10;
    expect_fail_at(K_FASTA, P("cap.fa"), &o, 1,
                   "record 2 (b): 11 bases, longer than the limit "
                   "of 10",
                   NULL);
    o.max_record_len = 11;
    run_t *r = run_ok(K_FASTA, P("cap.fa"), &o);
    ck_assert_uint_eq(r->n, 2);
    run_free(r);
    /* a runaway record is refused while it streams in (memory stays bounded) */
    const size_t big = 3u << 20;
    char *s = malloc(big + 16);
    ck_assert_ptr_nonnull(s);
    memcpy(s, ">a\nAC\n>huge\n", 12);
    memset(s + 12, 'A', big);
    s[12 + big] = '\n';
    ck_assert_int_eq(write_text(P("huge.fa.bgz"), s, big + 13, "w"), 0);
    free(s);
    o.max_record_len = 100;
    expect_fail_at(K_FASTA, P("huge.fa.bgz"), &o, 1, "huge.fa.bgz: record 2",
                   "longer than the limit of 100");
}
END_TEST

START_TEST(test_fasta_truncated)
{
    size_t n = 0;
    free(slurp(P("seqs.fa.gz"), &n));
    /* plain gzip: cut in the middle, and only the 8-byte trailer (CRC, size) cut short */
    truncated_copy(P("seqs.fa.gz"), P("cut_mid.fa.gz"), n / 2);
    run_t *r = run(K_FASTA, P("cut_mid.fa.gz"), NULL);
    ck_assert_int_lt(r->ret, -1);
    ck_assert_uint_lt(r->n, NFA);
    ck_assert_ptr_nonnull(strstr(r->err, "truncated or corrupt compressed stream"));
    run_free(r);
    truncated_copy(P("seqs.fa.gz"), P("cut_end.fa.gz"), n - 4);
    r = run(K_FASTA, P("cut_end.fa.gz"), NULL);
    ck_assert_int_lt(r->ret, -1);
    ck_assert_ptr_nonnull(strstr(r->err, "cut_end.fa.gz: record "));
    ck_assert_ptr_nonnull(strstr(r->err, "truncated or corrupt compressed stream"));
    run_free(r);
    /* BGZF: cut inside a block, and exactly at the last block (only the EOF block missing) */
    free(slurp(P("seqs.fa.bgz"), &n));
    truncated_copy(P("seqs.fa.bgz"), P("cut_mid.fa.bgz"), n / 2);
    expect_open_fail(K_FASTA, P("cut_mid.fa.bgz"), NULL, "cut_mid.fa.bgz: truncated", NULL);
    truncated_copy(P("seqs.fa.bgz"), P("cut_eof.fa.bgz"), n - 28);
    expect_open_fail(K_FASTA, P("cut_eof.fa.bgz"), NULL, "cut_eof.fa.bgz: truncated BGZF", NULL);
}
END_TEST

/* A BGZF stream that loses data mid-file but keeps its EOF block (a spliced or damaged file):
 * caught while reading, not at open. */
START_TEST(test_fasta_corrupt_block)
{
    size_t n = 0;
    char *b = slurp(P("seqs.fa.bgz"), &n);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_gt(n, 2000);
    for (size_t i = n / 2; i < n / 2 + 64; i++)
        b[i] ^= 0x5a;
    ck_assert_int_eq(write_bytes(P("corrupt.fa.bgz"), b, n), 0);
    free(b);
    run_t *r = run(K_FASTA, P("corrupt.fa.bgz"), NULL);
    ck_assert_int_lt(r->ret, -1);
    ck_assert_uint_lt(r->n, NFA);
    ck_assert_ptr_nonnull(strstr(r->err, "corrupt.fa.bgz: record "));
    run_free(r);
}
END_TEST

/* ---- BED on a reference ---------------------------------------------------------------------- */

typedef struct {
    int ctg;
    size_t start, end;
    char strand; /* '+', '-', '.' */
    const char *name;
} iv_t;

static const iv_t bed_iv[] = {
    {0, 0, 10, '.', "chr1:0-10"},       {0, 95, 135, '+', "lowcase"},
    {0, 200, 260, '-', "minus"},        {1, 5, 25, '-', "nrun"},
    {1, 650, 700, '.', "to_end"},       {2, 0, 50, '+', "chrM:0-50(+)"},
    {0, 300, 310, '.', "chr1:300-310"}, {0, 990, 1000, '-', "chr1:990-1000(-)"},
};
#define NIV (sizeof bed_iv / sizeof bed_iv[0])

static void write_bed(void)
{
    put("iv.bed", "# a comment\n"
                  "track name=test description=\"x\"\n"
                  "browser position chr1:1-100\n"
                  "\n"
                  "chr1\t0\t10\n"
                  "chr1\t95\t135\tlowcase\t0\t+\tclassA\n"
                  "chr1\t200\t260\tminus\t0\t-\tclassB\r\n"
                  "chr2\t5\t25\tnrun\t7\t-\tclassA\n"
                  "chr2\t650\t700\tto_end\t0\t.\tclassB\n"
                  "chrM\t0\t50\t.\t0\t+\tclassC\n"
                  "chr1 300  310\n"
                  "chr1\t990\t1000\t\t0\t-\tclassA\n");
}

/* The interval's expected sequence with flank, from the generating contigs. */
static void expect_iv(const iv_t *v, size_t flank, char *out)
{
    const size_t L = ctg_len[v->ctg];
    const size_t b = v->start > flank ? v->start - flank : 0;
    const size_t e = v->end + flank < L ? v->end + flank : L;
    char *tmp = malloc(e - b + 1);
    oracle_clean(ctg_seq[v->ctg] + b, e - b, tmp);
    if (v->strand == '-')
        oracle_revcomp(tmp, e - b, out);
    else
        memcpy(out, tmp, e - b + 1);
    free(tmp);
}

/* Every interval of iv.bed, with the file's label (or none) and a flank. */
static void check_bed(const char *ref, size_t flank, const char *label)
{
    recur_seqopts_t o = {0};
    o.ref = ref;
    o.flank = flank;
    o.label = label;
    run_t *r = run_ok(K_BED, P("iv.bed"), &o);
    ck_assert_uint_eq(r->n, NIV);
    for (size_t i = 0; i < NIV; i++) {
        char want[2048];
        expect_iv(&bed_iv[i], flank, want);
        ck_assert_str_eq(r->name[i], bed_iv[i].name);
        ck_assert_msg(strcmp(r->seq[i], want) == 0,
                      "interval %zu, flank %zu: [%.80s] != "
                      "[%.80s]",
                      i, flank, r->seq[i], want);
        if (label)
            ck_assert_str_eq(r->label[i], label);
        else
            ck_assert_ptr_null(r->label[i]);
    }
    run_free(r);
}

START_TEST(test_bed_plain_and_bgzip_reference)
{
    write_bed();
    /* the rows with 7 columns have labels; the others have fewer than 7 columns */
    put("iv7.bed", "chr1\t95\t135\tlowcase\t0\t+\tclassA\nchr1\t200\t260\tminus\t0\t-\tclassB\n");
    const char *refs[] = {ref_fa, ref_bgz};
    for (int k = 0; k < 2; k++) {
        check_bed(refs[k], 0, NULL);
        check_bed(refs[k], 0, "fileLabel");
        check_bed(refs[k], 20, NULL);
        check_bed(refs[k], 2000, NULL); /* flank past both ends of every contig */
    }
    /* the reader built the indexes itself: .fai, and .gzi for bgzip */
    ck_assert_int_eq(access(P("ref.fa.fai"), R_OK), 0);
    ck_assert_int_eq(access(P("ref.fa.bgz.gzi"), R_OK), 0);
    recur_seqopts_t o = {0};
    o.ref = ref_bgz;
    o.label_column = 7;
    run_t *r = run_ok(K_BED, P("iv7.bed"), &o);
    ck_assert_uint_eq(r->n, 2);
    ck_assert_str_eq(r->label[0], "classA");
    ck_assert_str_eq(r->label[1], "classB");
    run_free(r);
    /* label column 4 = the name column */
    o.label_column = 4;
    r = run_ok(K_BED, P("iv7.bed"), &o);
    ck_assert_str_eq(r->label[1], "minus");
    run_free(r);
    /* a reference with CRLF line ends */
    put("crlf_ref.fa", ">c\r\nACGTAC\r\nGGTTAA\r\nCC\r\n");
    put("crlf.bed", "c\t4\t10\tx\t0\t-\r\nc\t0\t14\r\n");
    o.ref = P("crlf_ref.fa");
    o.label_column = 0;
    r = run_ok(K_BED, P("crlf.bed"), &o);
    ck_assert_uint_eq(r->n, 2);
    ck_assert_str_eq(r->seq[0], "AACCGT");
    ck_assert_str_eq(r->seq[1], "ACGTACGGTTAACC");
    ck_assert_str_eq(r->name[1], "c:0-14");
    run_free(r);
    o.ref = ref_bgz;
    /* a gzipped BED file reads the same */
    const char *bed = "chr2\t5\t25\tnrun\t7\t-\n";
    ck_assert_int_eq(write_text(P("iv.bed.gz"), bed, strlen(bed), "wg"), 0);
    o.label_column = 0;
    r = run_ok(K_BED, P("iv.bed.gz"), &o);
    char want[64];
    expect_iv(&bed_iv[3], 0, want);
    ck_assert_uint_eq(r->n, 1);
    ck_assert_str_eq(r->seq[0], want);
    run_free(r);
}
END_TEST

START_TEST(test_bed_errors)
{
    recur_seqopts_t o = {0};
    o.ref = ref_fa;
    write_bed();
    expect_open_fail(K_BED, P("absent.bed"), &o, "absent.bed: cannot open", NULL);
    expect_open_fail(K_BED, P("iv.bed"), NULL, "iv.bed: BED intervals need a reference", NULL);
    o.ref = P("absent_ref.fa");
    expect_open_fail(K_BED, P("iv.bed"), &o, "absent_ref.fa: cannot open", NULL);
    o.ref = ref_gz;
    expect_open_fail(K_BED, P("iv.bed"), &o,
                     "ref.fa.gz: plain gzip: the reference must be bgzip-compressed "
                     "(bgzip + samtools faidx)",
                     NULL);
    o.ref = ref_fa;
    put("e_empty.bed", "# only a header\ntrack x\n");
    expect_fail_at(K_BED, P("e_empty.bed"), &o, 0, "e_empty.bed: empty: no BED interval", NULL);
    put("e_outside.bed", "chr2\t10\t20\nchr2\t690\t701\tlong\n");
    expect_fail_at(K_BED, P("e_outside.bed"), &o, 1,
                   "e_outside.bed: line 2 (long): interval chr2:690-701 lies outside its contig "
                   "(length 700)",
                   NULL);
    put("e_beyond.bed", "chr1\t1000\t1001\n");
    expect_fail_at(K_BED, P("e_beyond.bed"), &o, 0, "line 1 (chr1:1000-1001): interval", NULL);
    put("e_contig.bed", "# x\nchrX\t1\t10\n");
    expect_fail_at(K_BED, P("e_contig.bed"), &o, 0,
                   "e_contig.bed: line 2 (chrX:1-10): contig 'chrX' is not in the reference", NULL);
    put("e_cols.bed", "chr1\t10\n");
    expect_fail_at(K_BED, P("e_cols.bed"), &o, 0, "e_cols.bed: line 1: 2 columns", NULL);
    put("e_cols1.bed", "chr1\n");
    expect_fail_at(K_BED, P("e_cols1.bed"), &o, 0, "line 1: 1 column", NULL);
    put("e_order.bed", "chr1\t10\t10\tz\n");
    expect_fail_at(K_BED, P("e_order.bed"), &o, 0, "line 1 (z): start 10 >= end 10", NULL);
    put("e_order2.bed", "chr1\t20\t10\n");
    expect_fail_at(K_BED, P("e_order2.bed"), &o, 0, "start 20 >= end 10", NULL);
    put("e_num.bed", "chr1\tabc\t10\n");
    expect_fail_at(K_BED, P("e_num.bed"), &o, 0, "line 1: start 'abc' is not a coordinate", NULL);
    put("e_num2.bed", "chr1\t1\t1e3\n");
    expect_fail_at(K_BED, P("e_num2.bed"), &o, 0, "end '1e3' is not a coordinate", NULL);
    put("e_neg.bed", "chr1\t-5\t10\n");
    expect_fail_at(K_BED, P("e_neg.bed"), &o, 0, "start '-5' is not a coordinate", NULL);
    put("e_huge.bed", "chr1\t1\t99999999999999999999999\n");
    expect_fail_at(K_BED, P("e_huge.bed"), &o, 0, "is not a coordinate", NULL);
    put("e_strand.bed", "chr1\t1\t10\tn\t0\tx\n");
    expect_fail_at(K_BED, P("e_strand.bed"), &o, 0, "strand (column 6) 'x'", NULL);
    o.label_column = 7;
    put("e_label.bed", "chr1\t1\t10\tn\t0\t+\tok\nchr1\t1\t10\tm\t0\t+\n");
    expect_fail_at(K_BED, P("e_label.bed"), &o, 1, "line 2 (m): no column 7 for the label", NULL);
    o.label_column = -1;
    expect_open_fail(K_BED, P("iv.bed"), &o, "label column -1", NULL);
    o.label_column = 1001;
    expect_open_fail(K_BED, P("iv.bed"), &o, "label column 1001", NULL);
    o.label_column = 0;
    o.max_record_len = 30;
    expect_fail_at(K_BED, P("iv.bed"), &o, 1, "line 6 (lowcase): 40 bases, longer", NULL);
    o.max_record_len = 0;
    /* a reference with a byte that is no base */
    put("badref.fa", ">c\nACGTACGTAC\nAC*GT\n");
    put("badref.bed", "c\t0\t4\nc\t8\t15\n");
    o.ref = P("badref.fa");
    expect_fail_at(K_BED, P("badref.bed"), &o, 1, "line 2 (c:8-15): the reference has '*' at c:13",
                   NULL);
    /* a gzipped BED file cut short */
    text_t many = {0};
    for (int i = 0; i < 50000; i++) /* several inflated 64 KB chunks before the cut */
        tprintf(&many, "chr1\t%d\t%d\n", i % 900, i % 900 + 1 + i % 97);
    ck_assert_int_eq(write_text(P("many.bed.gz"), many.s, many.l, "wg"), 0);
    free(many.s);
    size_t nz = 0;
    free(slurp(P("many.bed.gz"), &nz));
    truncated_copy(P("many.bed.gz"), P("cut.bed.gz"), nz / 2);
    o.ref = ref_fa;
    run_t *r = run(K_BED, P("cut.bed.gz"), &o);
    ck_assert_int_lt(r->ret, -1);
    ck_assert_uint_gt(r->n, 0);
    ck_assert_uint_lt(r->n, 50000);
    ck_assert_ptr_nonnull(strstr(r->err, "cut.bed.gz: line "));
    ck_assert_ptr_nonnull(strstr(r->err, "truncated or corrupt compressed stream"));
    run_free(r);
    /* a bgzipped reference cut short: the index builder refuses it */
    size_t n = 0;
    free(slurp(P("ref.fa.bgz"), &n));
    truncated_copy(P("ref.fa.bgz"), P("cutref.fa.bgz"), n / 2);
    o.ref = P("cutref.fa.bgz");
    expect_open_fail(K_BED, P("iv.bed"), &o, "cutref.fa.bgz: cannot load or build the faidx index",
                     NULL);
}
END_TEST

/* ---- SAM / BAM / CRAM ------------------------------------------------------------------------ */

/* `samtools view -c` with the given options on path (and region), or -1. */
static long samtools_count(const char *args, const char *path, const char *region)
{
    char cmd[1024], regs[256] = "";
    /* each region its own quoted argument (regions are plain ASCII without quotes here) */
    for (const char *s = region; s && *s;) {
        const size_t k = strcspn(s, " ");
        if (k > 0)
            snprintf(regs + strlen(regs), sizeof regs - strlen(regs), " '%.*s'", (int)k, s);
        s += k + (s[k] == ' ');
    }
    snprintf(cmd, sizeof cmd, "samtools view -c %s '%s'%s 2>/dev/null", args, path, regs);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    long n = -1;
    if (fscanf(p, "%ld", &n) != 1)
        n = -1;
    if (pclose(p) != 0)
        return -1;
    return n;
}

static void require_samtools(void)
{
    ck_assert_msg(system("samtools --version >/dev/null 2>&1") == 0,
                  "samtools is needed for these tests (apt-get install samtools)");
}

static const read_t *find_read(const char *name)
{
    for (int i = 0; i < NREAD; i++)
        if (strcmp(reads[i].name, name) == 0)
            return &reads[i];
    return NULL;
}

typedef struct {
    int q;
    unsigned f, F;
} filt_t;

static const filt_t filters[] = {
    {0, 0, 0xF04},  {0, 0, 0},   {20, 0, 0xF04}, {30, 0x10, 0}, {0, 0x1, 0x10},   {0, 0x40, 0xF04},
    {10, 0, 0x400}, {0, 0x4, 0}, {60, 0, 0},     {0, 0x100, 0}, {0, 0x800, 0x10}, {1, 0x3, 0x900},
};
#define NFILT (sizeof filters / sizeof filters[0])

/* Oracle: does read r pass the filter and overlap [beg, end) of tid (tid -3 = whole file,
 * -2 = unplaced reads)? The index places a read without a CIGAR at one base. */
static bool oracle_keep(const read_t *r, const filt_t *f, int tid, long beg, long end)
{
    if (r->mapq < f->q || (r->flag & (int)f->f) != (int)f->f || (r->flag & (int)f->F))
        return false;
    if (tid == -3)
        return true;
    if (tid == -2)
        return r->tid < 0;
    const long span = (r->flag & 4) ? 1 : r->len;
    return r->tid == tid && r->pos < end && r->pos + span > beg;
}

/* Checks one (file, region, filter): the reads returned are exactly the oracle's, each restored
 * to its original orientation, and their number is samtools' count. */
static void check_bam_query(const char *file, const char *ref, const char *region, int tid,
                            long beg, long end, const filt_t *f, const char *samtools_args)
{
    recur_seqopts_t o = {0};
    o.min_mapq = f->q;
    o.require_flags = f->f;
    o.exclude_flags = f->F;
    o.region = region;
    o.ref = ref;
    run_t *r = run_ok(K_BAM, P(file), &o);
    size_t want = 0, total = 0;
    for (int i = 0; i < NREAD; i++) {
        want += oracle_keep(&reads[i], f, tid, beg, end);
        const filt_t all = {0, 0, 0};
        total += oracle_keep(&reads[i], &all, tid, beg, end);
    }
    ck_assert_msg(r->n == want, "%s %s -q%d -f%u -F%u: %zu reads, oracle %zu", file,
                  region ? region : "", f->q, f->f, f->F, r->n, want);
    ck_assert_uint_eq(r->filtered, total - want);
    for (size_t i = 0; i < r->n; i++) {
        const read_t *rd = find_read(r->name[i]);
        ck_assert_ptr_nonnull(rd);
        ck_assert(oracle_keep(rd, f, tid, beg, end));
        ck_assert_str_eq(r->seq[i], rd->seq);
        ck_assert_ptr_null(r->label[i]);
        if (i > 0)
            ck_assert_str_lt(r->name[i - 1], r->name[i]); /* file order, each read once */
    }
    char args[128];
    snprintf(args, sizeof args, "%s -q %d -f %u -F %u", samtools_args, f->q, f->f, f->F);
    const long sc = samtools_count(args, P(file), region);
    ck_assert_msg(sc == (long)r->n, "%s %s %s: samtools %ld, recur %zu", file, region ? region : "",
                  args, sc, r->n);
    run_free(r);
}

START_TEST(test_bam_filters_whole_file)
{
    require_samtools();
    for (size_t k = 0; k < NFILT; k++) {
        check_bam_query("reads.bam", NULL, NULL, -3, 0, 0, &filters[k], "");
        check_bam_query("reads.sam", NULL, NULL, -3, 0, 0, &filters[k], "");
    }
}
END_TEST

static const struct {
    const char *region;
    int tid;
    long beg, end;
} regions[] = {
    {"chr1", 0, 0, 1000}, {"chr1:100-300", 0, 99, 300},       {"chr2:1-50", 1, 0, 50},
    {"chrM", 2, 0, 50},   {"chr1:1,000-1,000", 0, 999, 1000}, {"chr2:400", 1, 399, 700},
    {"*", -2, 0, 0},
};
#define NREG (sizeof regions / sizeof regions[0])

START_TEST(test_bam_regions)
{
    require_samtools();
    for (size_t i = 0; i < NREG; i++)
        for (size_t k = 0; k < NFILT; k++)
            check_bam_query("reads.bam", NULL, regions[i].region, regions[i].tid, regions[i].beg,
                            regions[i].end, &filters[k], "");
    /* several regions: each read once, as samtools view -M */
    const char *multi[] = {"chr1:100-200 chr1:150-400", "chr2:650-700 chrM:1-10 chr1:1-5"};
    for (size_t i = 0; i < 2; i++) {
        recur_seqopts_t o = {0};
        o.region = multi[i];
        run_t *r = run_ok(K_BAM, P("reads.bam"), &o);
        const long sc = samtools_count("-M", P("reads.bam"), multi[i]);
        ck_assert_msg(sc == (long)r->n, "%s: samtools -M %ld, recur %zu", multi[i], sc, r->n);
        ck_assert_uint_gt(r->n, 0);
        for (size_t j = 1; j < r->n; j++)
            ck_assert_str_ne(r->name[j - 1], r->name[j]);
        run_free(r);
    }
}
END_TEST

START_TEST(test_bam_tag_labels)
{
    require_samtools();
    recur_seqopts_t o = {0};
    o.exclude_flags = RECUR_SEQIO_DEFAULT_EXCLUDE;
    o.label_tag = "RG";
    o.label = "ignored when a tag is named";
    run_t *r = run_ok(K_BAM, P("reads.bam"), &o);
    long n_a = 0, n_b = 0, n_none = 0;
    for (size_t i = 0; i < r->n; i++) {
        const read_t *rd = find_read(r->name[i]);
        if (rd->rg)
            ck_assert_str_eq(r->label[i], rd->rg);
        else
            ck_assert_ptr_null(r->label[i]);
        n_a += r->label[i] && strcmp(r->label[i], "grpA") == 0;
        n_b += r->label[i] && strcmp(r->label[i], "grpB") == 0;
        n_none += r->label[i] == NULL;
    }
    const char *F = "-F 0xF04";
    char args[64];
    snprintf(args, sizeof args, "%s -d RG:grpA", F);
    ck_assert_int_eq(n_a, samtools_count(args, P("reads.bam"), NULL));
    snprintf(args, sizeof args, "%s -d RG:grpB", F);
    ck_assert_int_eq(n_b, samtools_count(args, P("reads.bam"), NULL));
    snprintf(args, sizeof args, "%s -d RG", F);
    ck_assert_int_eq((long)r->n - n_none, samtools_count(args, P("reads.bam"), NULL));
    ck_assert_int_gt(n_a, 0);
    ck_assert_int_gt(n_none, 0);
    run_free(r);
    /* integer tags of every stored width, and character tags */
    o.exclude_flags = 0;
    o.label_tag = "XI";
    r = run_ok(K_BAM, P("reads.bam"), &o);
    ck_assert_uint_eq(r->n, NREAD);
    for (size_t i = 0; i < r->n; i++) {
        const read_t *rd = find_read(r->name[i]);
        char want[32];
        snprintf(want, sizeof want, "%d", rd->xi);
        if (rd->has_xi)
            ck_assert_str_eq(r->label[i], want);
        else
            ck_assert_ptr_null(r->label[i]);
    }
    run_free(r);
    o.label_tag = "XA";
    r = run_ok(K_BAM, P("reads.bam"), &o);
    for (size_t i = 0; i < r->n; i++) {
        const read_t *rd = find_read(r->name[i]);
        if (rd->xa) {
            ck_assert_uint_eq(strlen(r->label[i]), 1);
            ck_assert_int_eq(r->label[i][0], rd->xa);
        } else {
            ck_assert_ptr_null(r->label[i]);
        }
    }
    run_free(r);
    /* no options: samtools view's default-excluded flags are left out */
    r = run_ok(K_BAM, P("reads.bam"), NULL);
    ck_assert_int_eq((long)r->n, samtools_count("-F 0xF04", P("reads.bam"), NULL));
    ck_assert_int_lt((long)r->n, NREAD);
    for (size_t i = 0; i < r->n; i++)
        ck_assert_int_eq(find_read(r->name[i])->flag & 0xF04, 0);
    run_free(r);
    /* the file's label when no tag is named */
    o.label_tag = NULL;
    o.label = "fromfile";
    r = run_ok(K_BAM, P("reads.bam"), &o);
    for (size_t i = 0; i < r->n; i++)
        ck_assert_str_eq(r->label[i], "fromfile");
    run_free(r);
}
END_TEST

START_TEST(test_cram)
{
    require_samtools();
    /* CRAM with --ref: the same reads as the BAM, whole file and through the .crai */
    for (size_t k = 0; k < NFILT; k += 3)
        check_bam_query("reads.cram", cram_ref, NULL, -3, 0, 0, &filters[k], "");
    for (size_t i = 0; i < NREG; i++)
        check_bam_query("reads.cram", cram_ref, regions[i].region, regions[i].tid, regions[i].beg,
                        regions[i].end, &filters[0], "");
    /* threads give the same reads */
    recur_seqopts_t o = {0};
    o.ref = cram_ref;
    o.threads = 2;
    o.label_tag = "RG";
    run_t *a = run_ok(K_BAM, P("reads.cram"), &o);
    o.ref = NULL;
    run_t *b = run_ok(K_BAM, P("reads.bam"), &o);
    ck_assert_uint_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        ck_assert_str_eq(a->name[i], b->name[i]);
        ck_assert_str_eq(a->seq[i], b->seq[i]);
        if (b->label[i])
            ck_assert_str_eq(a->label[i], b->label[i]);
        else
            ck_assert_ptr_null(a->label[i]);
    }
    run_free(a);
    run_free(b);
}
END_TEST

START_TEST(test_bam_errors)
{
    recur_seqopts_t o = {0};
    expect_open_fail(K_BAM, P("absent.bam"), &o, "absent.bam: cannot open",
                     "No such file or directory");
    put("empty.bam", "");
    expect_open_fail(K_BAM, P("empty.bam"), &o, "empty.bam: empty file", NULL);
    expect_open_fail(K_BAM, P("seqs.fa"), &o, "seqs.fa: not SAM, BAM or CRAM", NULL);
    put("one_empty.fa", ">x\n");
    expect_open_fail(K_BAM, P("one_empty.fa"), &o, "not SAM, BAM or CRAM", NULL);
    o.region = "chr1:1-100";
    expect_open_fail(K_BAM, P("noidx.bam"), &o,
                     "noidx.bam: no index for region queries (samtools index ", NULL);
    expect_open_fail(K_BAM, P("reads.sam"), &o, "reads.sam: no index for region queries", NULL);
    o.region = "chrX:1-100";
    expect_open_fail(K_BAM, P("reads.bam"), &o, "region 'chrX:1-100': unknown contig", NULL);
    o.region = "chr1:1-100 chrZ";
    expect_open_fail(K_BAM, P("reads.bam"), &o, "region 'chrZ'", NULL);
    o.region = " ";
    expect_open_fail(K_BAM, P("reads.bam"), &o, "empty region", NULL);
    o.region = NULL;
    o.label_tag = "RGX";
    expect_open_fail(K_BAM, P("reads.bam"), &o, "label tag 'RGX'", NULL);
    o.label_tag = "XF";
    expect_fail_at(K_BAM, P("reads.bam"), &o, 0,
                   "reads.bam: record 1 (r000): tag XF is of type 'f'", NULL);
    o.label_tag = NULL;
    /* SEQ '*' */
    expect_fail_at(K_BAM, P("star.bam"), &o, 1, "star.bam: record 2 (noseq): SEQ is '*'", NULL);
    expect_fail_at(K_BAM, P("star.sam"), &o, 1, "star.sam: record 2 (noseq): SEQ is '*'", NULL);
    /* truncated BAM: the EOF block cut off; and cut in the middle */
    size_t n = 0;
    free(slurp(P("reads.bam"), &n));
    truncated_copy(P("reads.bam"), P("cut_eof.bam"), n - 28);
    expect_open_fail(K_BAM, P("cut_eof.bam"), &o, "cut_eof.bam: truncated", NULL);
    truncated_copy(P("reads.bam"), P("cut_mid.bam"), n / 2);
    expect_open_fail(K_BAM, P("cut_mid.bam"), &o, "cut_mid.bam: truncated", NULL);
    o.max_record_len = 25;
    run_t *r = run(K_BAM, P("reads.bam"), &o);
    ck_assert_int_lt(r->ret, -1);
    ck_assert_ptr_nonnull(strstr(r->err, "longer than the limit of 25"));
    run_free(r);
}
END_TEST

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/recur_check_seqio_XXXXXX");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "check_seqio: cannot make a directory %s\n", dir);
        return EXIT_FAILURE;
    }
    snprintf(ref_fa, sizeof ref_fa, "%s/ref.fa", dir);
    snprintf(ref_bgz, sizeof ref_bgz, "%s/ref.fa.bgz", dir);
    snprintf(ref_gz, sizeof ref_gz, "%s/ref.fa.gz", dir);
    snprintf(cram_ref, sizeof cram_ref, "%s/cram_ref.fa", dir);
    if (make_fixtures() != 0) {
        fprintf(stderr, "check_seqio: cannot make the fixtures in %s\n", dir);
        return EXIT_FAILURE;
    }
    Suite *s = suite_create("seqio");
    TCase *tc = tcase_create("util");
    tcase_add_test(tc, test_revcomp);
    tcase_add_test(tc, test_split_file_label);
    suite_add_tcase(s, tc);
    tc = tcase_create("fasta");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_fasta_same_records);
    tcase_add_test(tc, test_fasta_iupac_literal);
    tcase_add_test(tc, test_fasta_errors);
    tcase_add_test(tc, test_fasta_duplicates_kept);
    tcase_add_test(tc, test_fasta_length_cap);
    tcase_add_test(tc, test_fasta_truncated);
    tcase_add_test(tc, test_fasta_corrupt_block);
    suite_add_tcase(s, tc);
    tc = tcase_create("bed");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_bed_plain_and_bgzip_reference);
    tcase_add_test(tc, test_bed_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("bam");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bam_filters_whole_file);
    tcase_add_test(tc, test_bam_regions);
    tcase_add_test(tc, test_bam_tag_labels);
    tcase_add_test(tc, test_cram);
    tcase_add_test(tc, test_bam_errors);
    suite_add_tcase(s, tc);
    const int status = test_run_suite(s);
    if (!getenv("RECUR_KEEP_FIXTURES"))
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "check_seqio: fixtures kept in %s\n", dir);
    for (int c = 0; c < NCTG; c++)
        free(ctg_seq[c]);
    for (int r = 0; r < NFA; r++) {
        free(fa_raw[r]);
        free(fa_clean[r]);
    }
    return status;
}
