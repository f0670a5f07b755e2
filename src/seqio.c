/* seqio.c - DNA sequence readers through htslib: FASTA/FASTQ streamed with kseq over BGZF (plain,
 * gzip, bgzip), BED intervals fetched from a faidx-indexed reference, and SAM/BAM/CRAM reads with
 * samtools-style filters; every record is validated, uppercased and named in error messages. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <htslib/bgzf.h>
#include <htslib/cram.h>
#include <htslib/faidx.h>
#include <htslib/hts.h>
#include <htslib/hts_log.h>
#include <htslib/kseq.h>
#include <htslib/sam.h>

#include <recur/seqio.h>

/* Bases accepted in every source: the IUPAC nucleotide codes in either case, U read as T
 * (DESIGN.md: lowercase = uppercase, U = T). '\r' (CRLF line ends) is dropped; everything else,
 * gaps '-' and '.', '*', digits and blanks included, is an error. 0 = invalid, 1 = dropped. */
static const unsigned char base_tab[256] = {
    ['\r'] = 1,  ['A'] = 'A', ['a'] = 'A', ['C'] = 'C', ['c'] = 'C', ['G'] = 'G', ['g'] = 'G',
    ['T'] = 'T', ['t'] = 'T', ['U'] = 'T', ['u'] = 'T', ['N'] = 'N', ['n'] = 'N', ['R'] = 'R',
    ['r'] = 'R', ['Y'] = 'Y', ['y'] = 'Y', ['S'] = 'S', ['s'] = 'S', ['W'] = 'W', ['w'] = 'W',
    ['K'] = 'K', ['k'] = 'K', ['M'] = 'M', ['m'] = 'M', ['B'] = 'B', ['b'] = 'B', ['D'] = 'D',
    ['d'] = 'D', ['H'] = 'H', ['h'] = 'H', ['V'] = 'V', ['v'] = 'V',
};

/* Complements of the IUPAC codes (R = A/G <-> Y = C/T, K = G/T <-> M = A/C, B <-> V, D <-> H;
 * S, W, N are their own); 0 = leave the byte unchanged. */
static const unsigned char comp_tab[256] = {
    ['A'] = 'T', ['T'] = 'A', ['U'] = 'A', ['C'] = 'G', ['G'] = 'C', ['R'] = 'Y', ['Y'] = 'R',
    ['K'] = 'M', ['M'] = 'K', ['B'] = 'V', ['V'] = 'B', ['D'] = 'H', ['H'] = 'D', ['a'] = 't',
    ['t'] = 'a', ['u'] = 'a', ['c'] = 'g', ['g'] = 'c', ['r'] = 'y', ['y'] = 'r', ['k'] = 'm',
    ['m'] = 'k', ['b'] = 'v', ['v'] = 'b', ['d'] = 'h', ['h'] = 'd',
};

static inline char comp_base(char c)
{
    const unsigned char k = comp_tab[(unsigned char)c];
    return k ? (char)k : c;
}

void recur_dna_revcomp(const char *seq, size_t len, char *out)
{
    size_t i = 0, j = len;
    while (i < j) {
        j--;
        const char a = seq[i], b = seq[j];
        out[i] = comp_base(b);
        out[j] = comp_base(a);
        i++;
    }
}

int recur_split_file_label(const char *arg, char *file, size_t n, const char **label)
{
    if (!arg || !file || !label)
        return RECUR_EINVAL;
    const char *colon = strrchr(arg, ':');
    size_t flen = strlen(arg);
    *label = NULL;
    if (colon && colon[1] != '\0' && !strchr(colon + 1, '/')) {
        flen = (size_t)(colon - arg);
        *label = colon + 1;
    }
    if (flen >= n) { /* not logged: the caller names the option in its one line */
        *label = NULL;
        return RECUR_EINVAL;
    }
    memcpy(file, arg, flen);
    file[flen] = '\0';
    return RECUR_OK;
}

/* ---- kseq over BGZF, with read errors, leading junk and runaway records caught ---- */

enum { FX_OK = 0, FX_EREAD, FX_EJUNK, FX_ELONG };

typedef struct {
    BGZF *fp;
    uint64_t bytes; /* bytes delivered since the current record began */
    uint64_t limit; /* bytes one record may take before it is refused (bounds memory) */
    int first;      /* the first non-blank byte, '>' (FASTA) or '@' (FASTQ); 0 before it */
    int err;        /* FX_* */
} fxstream_t;

/* kseq's reader: kseq treats a negative count as data, so errors end the stream (0) and are
 * remembered in s->err. */
static int fx_read(fxstream_t *s, unsigned char *buf, int n)
{
    if (s->err != FX_OK)
        return 0;
    if (s->bytes > s->limit) {
        s->err = FX_ELONG;
        return 0;
    }
    const ssize_t got = bgzf_read(s->fp, buf, (size_t)n);
    if (got < 0) {
        s->err = FX_EREAD;
        return 0;
    }
    for (ssize_t i = 0; !s->first && i < got; i++) {
        const unsigned char c = buf[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c != '>' && c != '@') {
            s->err = FX_EJUNK;
            return 0;
        }
        s->first = c;
    }
    s->bytes += (uint64_t)got;
    return (int)got;
}

/* cppcheck does not read htslib's headers, so it cannot expand the macro */
/* cppcheck-suppress unknownMacro */
KSEQ_INIT(fxstream_t *, fx_read)

/* ---- the reader ---- */

typedef enum { SRC_FASTX, SRC_BED, SRC_BAM } source_t;

/* Records longer than this (from a larger max_record_len) are refused anyway: kseq counts in
 * int, and the stream guard below allows 4 bytes per base. */
#define SEQIO_HARD_CAP ((size_t)500000000)

struct recur_seqreader {
    source_t kind;
    char *path;     /* the input, for messages */
    char *label;    /* opts->label (copy) or NULL */
    size_t cap;     /* longest record accepted */
    uint64_t nread; /* records (BED: lines) taken from the input, filtered ones included */
    uint64_t count, filtered;
    int failed; /* error code returned again by every call after a failure */
    /* FASTA/FASTQ; fp is also the BED file */
    BGZF *fp;
    fxstream_t fx;
    kseq_t *ks;
    /* BED on a reference */
    char *ref;
    faidx_t *fai;
    kstring_t line; /* current BED line, split in place */
    kstring_t name; /* chrom:start-end(strand) when the line has no name */
    char **field;   /* (nfield_max) columns of the current line */
    int nfield_max;
    int label_column;
    size_t flank;
    char *iv; /* fetched interval (faidx's allocation) */
    /* SAM/BAM/CRAM */
    samFile *sf;
    sam_hdr_t *hdr;
    hts_idx_t *idx;
    hts_itr_t *itr;
    bam1_t *b;
    char *buf; /* (buf_m) decoded read */
    size_t buf_m;
    int min_mapq;
    uint32_t require, exclude;
    char tag[3];
    char tagval[32]; /* integer or character tag value as text */
};

/* htslib's own stderr lines are silenced while a reader works (failures are reported as one
 * line through recur_error instead), unless the program asked htslib for more than warnings. */
static enum htsLogLevel hts_quiet(void)
{
    const enum htsLogLevel old = hts_get_log_level();
    if (old <= HTS_LOG_WARNING)
        hts_set_log_level(HTS_LOG_OFF);
    return old;
}

static void hts_restore(enum htsLogLevel old)
{
    hts_set_log_level(old);
}

/* A printable excerpt of s for messages (names may hold any bytes): its first 64 characters,
 * or for a file name its last 200 (the end names the file). */
#define SHOWN_MAX 208
static const char *shown_part(const char *s, char out[SHOWN_MAX], bool tail)
{
    const size_t keep = tail ? 200 : 64;
    size_t n = s ? strlen(s) : 0, o = 0;
    if (n > keep) {
        if (tail) {
            memcpy(out, "...", 3);
            o = 3;
            s += n - keep;
        }
        n = keep;
    }
    for (size_t i = 0; i < n; i++)
        out[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (!tail && s && s[n]) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

static const char *shown(const char *name, char out[SHOWN_MAX])
{
    return shown_part(name, out, false);
}

static const char *shown_file(const char *path, char out[SHOWN_MAX])
{
    return shown_part(path, out, true);
}

/* Logs "FILE: record N (name): what" (BED: "line N"); name may be NULL. */
static void rec_error(const recur_seqreader_t *r, const char *name, const char *fmt, ...)
    RECUR_PRINTF(3, 4);
static void rec_error(const recur_seqreader_t *r, const char *name, const char *fmt, ...)
{
    char what[512], f[SHOWN_MAX], n[SHOWN_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *unit = r->kind == SRC_BED ? "line" : "record";
    if (name)
        recur_error("%s: %s %llu (%s): %s", shown_file(r->path, f), unit,
                    (unsigned long long)r->nread, shown(name, n), what);
    else
        recur_error("%s: %s %llu: %s", shown_file(r->path, f), unit, (unsigned long long)r->nread,
                    what);
}

/* "'X'" or "byte 0xNN" for a character in a message. */
static const char *shown_char(unsigned char c, char out[16])
{
    if (c >= 0x20 && c < 0x7f)
        snprintf(out, 16, "'%c'", c);
    else
        snprintf(out, 16, "byte 0x%02x", c);
    return out;
}

/* Uppercases s[0..n) in place through base_tab, dropping '\r'. Returns the new length, or
 * (size_t)-1 with *bad = the offending byte and *pos = its 1-based base position. */
static size_t clean_bases(char *s, size_t n, unsigned char *bad, size_t *pos)
{
    size_t i = 0;
    for (; i < n; i++) {
        const unsigned char c = base_tab[(unsigned char)s[i]];
        if (c <= 1)
            break;
        s[i] = (char)c;
    }
    size_t j = i;
    for (; i < n; i++) {
        const unsigned char c = base_tab[(unsigned char)s[i]];
        if (c > 1) {
            s[j++] = (char)c;
        } else if (c == 0) {
            *bad = (unsigned char)s[i];
            *pos = j + 1;
            return (size_t)-1;
        }
    }
    return j;
}

static recur_seqreader_t *reader_new(source_t kind, const char *path, const recur_seqopts_t *o)
{
    recur_seqreader_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->kind = kind;
    r->path = strdup(path);
    r->label = (o && o->label) ? strdup(o->label) : NULL;
    r->cap = (o && o->max_record_len) ? o->max_record_len : RECUR_SEQIO_MAX_LEN;
    if (r->cap > SEQIO_HARD_CAP)
        r->cap = SEQIO_HARD_CAP;
    if (!r->path || (o && o->label && !r->label)) {
        free(r->path);
        free(r->label);
        free(r);
        return NULL;
    }
    return r;
}

void recur_seqreader_close(recur_seqreader_t *r)
{
    if (!r)
        return;
    const enum htsLogLevel lv = hts_quiet();
    kseq_destroy(r->ks);
    if (r->fp)
        bgzf_close(r->fp);
    if (r->fai)
        fai_destroy(r->fai);
    free(r->line.s);
    free(r->name.s);
    free(r->field);
    free(r->iv);
    if (r->itr)
        hts_itr_destroy(r->itr);
    if (r->idx)
        hts_idx_destroy(r->idx);
    if (r->hdr)
        sam_hdr_destroy(r->hdr);
    if (r->sf)
        hts_close(r->sf);
    if (r->b)
        bam_destroy1(r->b);
    free(r->buf);
    free(r->ref);
    free(r->label);
    free(r->path);
    free(r);
    hts_restore(lv);
}

uint64_t recur_seqreader_count(const recur_seqreader_t *r)
{
    return r ? r->count : 0;
}

uint64_t recur_seqreader_filtered(const recur_seqreader_t *r)
{
    return r ? r->filtered : 0;
}

/* Opens path through BGZF (plain, gzip or bgzip; "-" = stdin); a BGZF file without its
 * end-of-file block is refused as truncated. */
static BGZF *open_bgzf(const char *path, int threads)
{
    char f[SHOWN_MAX];
    errno = 0;
    BGZF *fp = bgzf_open(path, "r");
    if (!fp) {
        recur_error("%s: cannot open: %s", shown_file(path, f),
                    errno ? strerror(errno) : "unreadable compressed stream");
        return NULL;
    }
    if (bgzf_compression(fp) == bgzf && bgzf_check_EOF(fp) == 0) {
        recur_error("%s: truncated BGZF file (the end-of-file block is missing)",
                    shown_file(path, f));
        bgzf_close(fp);
        return NULL;
    }
    if (threads > 0 && bgzf_compression(fp) == bgzf && bgzf_mt(fp, threads, 256) < 0) {
        recur_error("%s: cannot start %d decompression threads", shown_file(path, f), threads);
        bgzf_close(fp);
        return NULL;
    }
    return fp;
}

/* ---- FASTA / FASTQ ---- */

recur_seqreader_t *recur_seqreader_fasta(const char *path, const recur_seqopts_t *opts)
{
    const enum htsLogLevel lv = hts_quiet();
    recur_seqreader_t *r = NULL;
    char f[SHOWN_MAX];
    if (!path) {
        recur_error("FASTA reader: no file name");
        goto done;
    }
    r = reader_new(SRC_FASTX, path, opts);
    if (!r) {
        recur_error("%s: out of memory", shown_file(path, f));
        goto done;
    }
    r->fp = open_bgzf(path, opts ? opts->threads : 0);
    if (!r->fp)
        goto fail;
    r->fx.fp = r->fp;
    /* a record of cap bases may take 2 bytes a base (1-column lines), twice for FASTQ */
    r->fx.limit = 4 * (uint64_t)r->cap + (1u << 20);
    r->ks = kseq_init(&r->fx);
    if (!r->ks || !r->ks->f || !r->ks->f->buf) {
        recur_error("%s: out of memory", shown_file(path, f));
        goto fail;
    }
    goto done;
fail:
    recur_seqreader_close(r);
    r = NULL;
done:
    hts_restore(lv);
    return r;
}

static int fx_next(recur_seqreader_t *r, recur_seqrec_t *rec)
{
    kseq_t *ks = r->ks;
    r->fx.bytes = 0;
    const int ret = kseq_read(ks);
    r->nread++;
    char c1[16];
    switch (r->fx.err) {
    case FX_EREAD:
        rec_error(r, NULL, "read error: truncated or corrupt compressed stream");
        return RECUR_EIO;
    case FX_EJUNK:
        rec_error(r, NULL, "not FASTA/FASTQ: text before the first '>' or '@' header");
        return RECUR_EFORMAT;
    case FX_ELONG:
        rec_error(r, NULL, "longer than the limit of %zu bases", r->cap);
        return RECUR_EFORMAT;
    default:
        break;
    }
    if (ret == -1) {
        r->nread--;
        if (r->nread == 0) {
            char f[SHOWN_MAX];
            recur_error("%s: empty: no FASTA/FASTQ record", shown_file(r->path, f));
            return RECUR_EFORMAT;
        }
        return -1;
    }
    const char *name = ks->name.l ? ks->name.s : NULL;
    if (ret == -2) {
        rec_error(r, name, "quality line not as long as the sequence (truncated FASTQ record)");
        return RECUR_EFORMAT;
    }
    if (ret < 0) {
        rec_error(r, name, "record too long");
        return RECUR_EFORMAT;
    }
    if (!name) {
        rec_error(r, NULL, "header without a name");
        return RECUR_EFORMAT;
    }
    if (ks->seq.l == 0) {
        rec_error(r, name, "header with no sequence");
        return RECUR_EFORMAT;
    }
    /* kseq reads both formats in one loop; a file is one or the other, as its first byte says */
    if (r->fx.first == '@' && ks->qual.l == 0) {
        rec_error(r, name, "FASTQ record without its '+' and quality lines");
        return RECUR_EFORMAT;
    }
    if (r->fx.first == '>' && ks->qual.l > 0) {
        rec_error(r, name, "a line starting with '+' in a FASTA sequence");
        return RECUR_EFORMAT;
    }
    if (ks->seq.l > r->cap) {
        rec_error(r, name, "%zu bases, longer than the limit of %zu", ks->seq.l, r->cap);
        return RECUR_EFORMAT;
    }
    unsigned char bad = 0;
    size_t pos = 0;
    const size_t len = clean_bases(ks->seq.s, ks->seq.l, &bad, &pos);
    if (len == (size_t)-1) {
        rec_error(r, name, "%s at base %zu is not a nucleotide or IUPAC code", shown_char(bad, c1),
                  pos);
        return RECUR_EFORMAT;
    }
    if (len == 0) {
        rec_error(r, name, "header with no sequence");
        return RECUR_EFORMAT;
    }
    ks->seq.s[len] = '\0';
    ks->seq.l = len;
    rec->name = name;
    rec->seq = ks->seq.s;
    rec->len = len;
    rec->label = r->label;
    return 0;
}

/* ---- BED intervals on an indexed reference ---- */

recur_seqreader_t *recur_seqreader_bed(const char *bed, const recur_seqopts_t *opts)
{
    const enum htsLogLevel lv = hts_quiet();
    recur_seqreader_t *r = NULL;
    char f[SHOWN_MAX], g[SHOWN_MAX];
    if (!bed) {
        recur_error("BED reader: no file name");
        goto done;
    }
    r = reader_new(SRC_BED, bed, opts);
    if (!r) {
        recur_error("%s: out of memory", shown_file(bed, f));
        goto done;
    }
    if (!opts || !opts->ref) {
        recur_error("%s: BED intervals need a reference FASTA (--ref)", shown_file(bed, f));
        goto fail;
    }
    if (opts->label_column < 0) {
        recur_error("%s: label column %d: columns count from 1", shown_file(bed, f),
                    opts->label_column);
        goto fail;
    }
    if (opts->label_column > 1000) {
        recur_error("%s: label column %d: more columns than a BED file has", shown_file(bed, f),
                    opts->label_column);
        goto fail;
    }
    r->label_column = opts->label_column;
    r->flank = opts->flank;
    r->nfield_max = opts->label_column > 6 ? opts->label_column : 6;
    r->ref = strdup(opts->ref);
    r->field = malloc((size_t)r->nfield_max * sizeof *r->field);
    if (!r->ref || !r->field) {
        recur_error("%s: out of memory", shown_file(bed, f));
        goto fail;
    }
    /* faidx reads bgzip (with .gzi) but not plain gzip: say so rather than fail obscurely */
    errno = 0;
    BGZF *t = bgzf_open(r->ref, "r");
    if (!t) {
        recur_error("%s: cannot open the reference: %s", shown_file(r->ref, g),
                    errno ? strerror(errno) : "unreadable compressed stream");
        goto fail;
    }
    const int comp = bgzf_compression(t);
    bgzf_close(t);
    if (comp == gzip) {
        recur_error("%s: plain gzip: the reference must be bgzip-compressed "
                    "(bgzip + samtools faidx)",
                    shown_file(r->ref, g));
        goto fail;
    }
    r->fai = fai_load3(r->ref, NULL, NULL, FAI_CREATE);
    if (!r->fai) {
        recur_error("%s: cannot load or build the faidx index (.fai%s; `samtools faidx %s` "
                    "says why)",
                    shown_file(r->ref, g), comp == bgzf ? " and .gzi" : "", shown_file(r->ref, f));
        goto fail;
    }
    r->fp = open_bgzf(bed, opts->threads);
    if (!r->fp)
        goto fail;
    goto done;
fail:
    recur_seqreader_close(r);
    r = NULL;
done:
    hts_restore(lv);
    return r;
}

/* Decimal coordinate: digits only, below 2^62. */
static bool parse_coord(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || x > ((uint64_t)1 << 62) / 10)
            return false;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *v = x;
    return true;
}

static bool starts_word(const char *s, const char *w)
{
    const size_t n = strlen(w);
    return strncmp(s, w, n) == 0 && (s[n] == '\0' || s[n] == ' ' || s[n] == '\t');
}

/* Splits the line in place: on tabs when it has any, else on runs of spaces. Returns the number
 * of columns; the first nfield_max are in r->field. */
static int split_columns(recur_seqreader_t *r, char *s)
{
    const char sep = strchr(s, '\t') ? '\t' : ' ';
    int nf = 0;
    for (;;) {
        if (sep == ' ')
            while (*s == ' ')
                s++;
        if (sep == ' ' && *s == '\0')
            break;
        if (nf < r->nfield_max)
            r->field[nf] = s;
        nf++;
        char *e = strchr(s, sep);
        if (!e)
            break;
        *e = '\0';
        s = e + 1;
    }
    return nf;
}

/* Next data line of the BED file into r->line: 1 ok, -1 end, < -1 error (logged). */
static int bed_line(recur_seqreader_t *r)
{
    for (;;) {
        const int ret = bgzf_getline(r->fp, '\n', &r->line);
        if (ret == -1)
            return -1;
        r->nread++;
        /* bgzf_getline hands out the partial line before a failed block as a line: errcode
         * tells the two apart */
        if (ret < -1 || r->fp->errcode) {
            rec_error(r, NULL, "read error: truncated or corrupt compressed stream");
            return RECUR_EIO;
        }
        char *s = r->line.s;
        size_t l = r->line.l;
        if (strlen(s) != l) {
            rec_error(r, NULL, "NUL byte in the line");
            return RECUR_EFORMAT;
        }
        while (l > 0 && (s[l - 1] == '\r' || s[l - 1] == ' ' || s[l - 1] == '\t'))
            s[--l] = '\0';
        if (l == 0 || s[0] == '#' || starts_word(s, "track") || starts_word(s, "browser"))
            continue;
        return 1;
    }
}

static int bed_next(recur_seqreader_t *r, recur_seqrec_t *rec)
{
    char c1[16], g[SHOWN_MAX], c2[SHOWN_MAX];
    const int got = bed_line(r);
    if (got == -1) {
        if (r->count == 0) {
            recur_error("%s: empty: no BED interval", shown_file(r->path, g));
            return RECUR_EFORMAT;
        }
        return -1;
    }
    if (got < 0)
        return got;
    const int nf = split_columns(r, r->line.s);
    if (nf < 3) {
        rec_error(r, NULL, "%d column%s: BED needs chrom, start and end", nf, nf == 1 ? "" : "s");
        return RECUR_EFORMAT;
    }
    const char *chrom = r->field[0];
    uint64_t start, end;
    if (!parse_coord(r->field[1], &start)) {
        rec_error(r, NULL, "start '%s' is not a coordinate", shown(r->field[1], g));
        return RECUR_EFORMAT;
    }
    if (!parse_coord(r->field[2], &end)) {
        rec_error(r, NULL, "end '%s' is not a coordinate", shown(r->field[2], g));
        return RECUR_EFORMAT;
    }
    char strand = '.';
    if (nf >= 6) {
        const char *st = r->field[5];
        if ((st[0] == '+' || st[0] == '-' || st[0] == '.') && st[1] == '\0') {
            strand = st[0];
        } else {
            rec_error(r, NULL, "strand (column 6) '%s' is not +, - or .", shown(st, g));
            return RECUR_EFORMAT;
        }
    }
    const char *name;
    if (nf >= 4 && r->field[3][0] != '\0' && strcmp(r->field[3], ".") != 0) {
        name = r->field[3];
    } else {
        r->name.l = 0;
        if (ksprintf(&r->name, "%s:%llu-%llu%s", chrom, (unsigned long long)start,
                     (unsigned long long)end,
                     strand == '+'   ? "(+)"
                     : strand == '-' ? "(-)"
                                     : "") < 0) {
            rec_error(r, NULL, "out of memory");
            return RECUR_EIO;
        }
        name = r->name.s;
    }
    if (start >= end) {
        rec_error(r, name, "start %llu >= end %llu", (unsigned long long)start,
                  (unsigned long long)end);
        return RECUR_EFORMAT;
    }
    if (!faidx_has_seq(r->fai, chrom)) {
        char h[SHOWN_MAX];
        rec_error(r, name, "contig '%s' is not in the reference %s", shown(chrom, g),
                  shown_file(r->ref, h));
        return RECUR_EFORMAT;
    }
    /* htslib 1.16 has no 64-bit length query: contigs up to 2^31 - 1 bases */
    const hts_pos_t clen = faidx_seq_len(r->fai, chrom);
    if (clen < 0 || end > (uint64_t)clen) {
        rec_error(r, name, "interval %s:%llu-%llu lies outside its contig (length %lld)",
                  shown(chrom, g), (unsigned long long)start, (unsigned long long)end,
                  (long long)clen);
        return RECUR_EFORMAT;
    }
    const char *label = r->label;
    if (r->label_column > 0) {
        if (r->label_column > nf) {
            rec_error(r, name, "no column %d for the label (%d columns)", r->label_column, nf);
            return RECUR_EFORMAT;
        }
        label = r->field[r->label_column - 1];
        if (label[0] == '\0') {
            rec_error(r, name, "empty label in column %d", r->label_column);
            return RECUR_EFORMAT;
        }
    }
    /* flanks clipped to the contig */
    const uint64_t beg = start > r->flank ? start - r->flank : 0;
    const uint64_t fend = (uint64_t)clen - end > r->flank ? end + r->flank : (uint64_t)clen;
    if (fend - beg > r->cap) {
        rec_error(r, name, "%llu bases, longer than the limit of %zu",
                  (unsigned long long)(fend - beg), r->cap);
        return RECUR_EFORMAT;
    }
    free(r->iv);
    hts_pos_t n = 0;
    r->iv = faidx_fetch_seq64(r->fai, chrom, (hts_pos_t)beg, (hts_pos_t)fend - 1, &n);
    if (!r->iv || n != (hts_pos_t)(fend - beg)) {
        rec_error(r, name, "cannot read %s:%llu-%llu from %s (truncated reference or stale index?)",
                  shown(chrom, g), (unsigned long long)beg, (unsigned long long)fend,
                  shown_file(r->ref, c2));
        return RECUR_EIO;
    }
    unsigned char bad = 0;
    size_t pos = 0;
    const size_t len = clean_bases(r->iv, (size_t)n, &bad, &pos);
    if (len == (size_t)-1) { /* faidx drops line ends itself: no '\r' reaches here */
        rec_error(r, name, "the reference has %s at %s:%llu, not a nucleotide or IUPAC code",
                  shown_char(bad, c1), shown(chrom, g), (unsigned long long)(beg + pos));
        return RECUR_EFORMAT;
    }
    if (strand == '-')
        recur_dna_revcomp(r->iv, len, r->iv);
    rec->name = name;
    rec->seq = r->iv;
    rec->len = len;
    rec->label = label;
    return 0;
}

/* ---- SAM / BAM / CRAM ---- */

/* Splits the whitespace-separated regions and makes the iterator: one region as
 * `samtools view FILE REGION`, several as `samtools view -M` (each read once). */
static int bam_regions(recur_seqreader_t *r, const char *region)
{
    char f[SHOWN_MAX], g[SHOWN_MAX];
    int ret = RECUR_EFORMAT;
    char *copy = strdup(region);
    char **regs = NULL;
    unsigned int nreg = 0;
    if (!copy)
        goto nomem;
    regs = malloc((strlen(copy) / 2 + 1) * sizeof *regs);
    if (!regs)
        goto nomem;
    for (char *s = copy;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        if (!*s)
            break;
        regs[nreg++] = s;
        while (*s && *s != ' ' && *s != '\t' && *s != '\n')
            s++;
        if (*s)
            *s++ = '\0';
    }
    if (nreg == 0) {
        recur_error("%s: empty region", shown_file(r->path, f));
        goto done;
    }
    r->idx = sam_index_load(r->sf, r->path);
    if (!r->idx) {
        recur_error("%s: no index for region queries (samtools index %s)", shown_file(r->path, f),
                    shown_file(r->path, g));
        goto done;
    }
    for (unsigned int i = 0; i < nreg; i++) {
        int tid = -1;
        hts_pos_t beg = 0, end = 0;
        if (strcmp(regs[i], "*") == 0 || strcmp(regs[i], ".") == 0)
            continue; /* unplaced reads; the whole file */
        if (!sam_parse_region(r->hdr, regs[i], &tid, &beg, &end, HTS_PARSE_THOUSANDS_SEP) ||
            tid < 0) {
            recur_error("%s: region '%s': unknown contig or bad syntax", shown_file(r->path, f),
                        shown(regs[i], g));
            goto done;
        }
    }
    r->itr = nreg == 1 ? sam_itr_querys(r->idx, r->hdr, regs[0])
                       : sam_itr_regarray(r->idx, r->hdr, regs, nreg);
    if (!r->itr) {
        recur_error("%s: cannot query region '%s'", shown_file(r->path, f), shown(region, g));
        goto done;
    }
    ret = RECUR_OK;
    goto done;
nomem:
    recur_error("%s: out of memory", shown_file(r->path, f));
done:
    free(regs);
    free(copy);
    return ret;
}

recur_seqreader_t *recur_seqreader_bam(const char *path, const recur_seqopts_t *opts)
{
    const enum htsLogLevel lv = hts_quiet();
    recur_seqreader_t *r = NULL;
    char f[SHOWN_MAX], g[SHOWN_MAX];
    if (!path) {
        recur_error("SAM/BAM/CRAM reader: no file name");
        goto done;
    }
    r = reader_new(SRC_BAM, path, opts);
    if (!r) {
        recur_error("%s: out of memory", shown_file(path, f));
        goto done;
    }
    r->min_mapq = opts ? opts->min_mapq : 0;
    r->require = opts ? opts->require_flags : 0;
    r->exclude = opts ? opts->exclude_flags : RECUR_SEQIO_DEFAULT_EXCLUDE;
    if (opts && opts->label_tag) {
        const char *t = opts->label_tag;
        if (strlen(t) != 2) {
            recur_error("%s: label tag '%s' is not two characters (as RG)", shown_file(path, f),
                        shown(t, g));
            goto fail;
        }
        memcpy(r->tag, t, 3);
    }
    errno = 0;
    r->sf = hts_open(path, "r");
    if (!r->sf) {
        recur_error("%s: cannot open: %s", shown_file(path, f),
                    errno ? strerror(errno) : "unreadable");
        goto fail;
    }
    const htsFormat *fmt = hts_get_format(r->sf);
    if (fmt->format == empty_format) {
        recur_error("%s: empty file", shown_file(path, f));
        goto fail;
    }
    if (fmt->format != sam && fmt->format != bam && fmt->format != cram) {
        char *d = hts_format_description(fmt);
        recur_error("%s: not SAM, BAM or CRAM (%s)", shown_file(path, f), d ? d : "unknown format");
        free(d);
        goto fail;
    }
    if ((r->sf->is_bgzf && fmt->compression == bgzf && bgzf_check_EOF(r->sf->fp.bgzf) == 0) ||
        (r->sf->is_cram && cram_check_EOF(r->sf->fp.cram) == 0)) {
        recur_error("%s: truncated file (the end-of-file block is missing)", shown_file(path, f));
        goto fail;
    }
    if (fmt->format == cram && opts && opts->ref && hts_set_fai_filename(r->sf, opts->ref) < 0) {
        recur_error("%s: cannot use the reference %s", shown_file(path, f),
                    shown_file(opts->ref, g));
        goto fail;
    }
    if (opts && opts->threads > 0 && hts_set_threads(r->sf, opts->threads) < 0) {
        recur_error("%s: cannot start %d decompression threads", shown_file(path, f),
                    opts->threads);
        goto fail;
    }
    r->hdr = sam_hdr_read(r->sf);
    r->b = bam_init1();
    if (!r->hdr || !r->b) {
        recur_error("%s: cannot read the header", shown_file(path, f));
        goto fail;
    }
    if (opts && opts->region && bam_regions(r, opts->region) != 0)
        goto fail;
    goto done;
fail:
    recur_seqreader_close(r);
    r = NULL;
done:
    hts_restore(lv);
    return r;
}

/* The label of the read: from the aux tag when one was named (NULL when the read lacks it),
 * else the file's label. Returns 0, or RECUR_EFORMAT for a tag of a type that is no label. */
static int bam_label(recur_seqreader_t *r, const char **label)
{
    *label = r->label;
    if (!r->tag[0])
        return 0;
    *label = NULL;
    const uint8_t *aux = bam_aux_get(r->b, r->tag);
    if (!aux)
        return 0;
    switch (aux[0]) {
    case 'Z':
        *label = bam_aux2Z(aux);
        return 0;
    case 'A':
        r->tagval[0] = bam_aux2A(aux);
        r->tagval[1] = '\0';
        *label = r->tagval;
        return 0;
    case 'c':
    case 'C':
    case 's':
    case 'S':
    case 'i':
    case 'I':
        snprintf(r->tagval, sizeof r->tagval, "%lld", (long long)bam_aux2i(aux));
        *label = r->tagval;
        return 0;
    default: {
        char c1[16];
        rec_error(r, bam_get_qname(r->b),
                  "tag %s is of type %s: a label is a string, a "
                  "character or an integer",
                  r->tag, shown_char(aux[0], c1));
        return RECUR_EFORMAT;
    }
    }
}

static int bam_next(recur_seqreader_t *r, recur_seqrec_t *rec)
{
    bam1_t *b = r->b;
    for (;;) {
        const int ret = r->itr ? sam_itr_next(r->sf, r->itr, b) : sam_read1(r->sf, r->hdr, b);
        if (ret == -1)
            return -1;
        r->nread++;
        if (ret < -1) {
            rec_error(r, NULL, "read error: truncated or corrupt file");
            return RECUR_EIO;
        }
        const uint32_t flag = b->core.flag;
        if ((int)b->core.qual < r->min_mapq || (flag & r->require) != r->require ||
            (flag & r->exclude) != 0) {
            r->filtered++;
            continue;
        }
        break;
    }
    const char *name = bam_get_qname(b);
    const size_t n = b->core.l_qseq > 0 ? (size_t)b->core.l_qseq : 0;
    if (n == 0) {
        rec_error(r, name, "SEQ is '*': the read has no stored sequence");
        return RECUR_EFORMAT;
    }
    if (n > r->cap) {
        rec_error(r, name, "%zu bases, longer than the limit of %zu", n, r->cap);
        return RECUR_EFORMAT;
    }
    if (n + 1 > r->buf_m) {
        char *nb = realloc(r->buf, n + 1);
        if (!nb) {
            rec_error(r, name, "out of memory");
            return RECUR_EIO;
        }
        r->buf = nb;
        r->buf_m = n + 1;
    }
    const uint8_t *s = bam_get_seq(b);
    for (size_t i = 0; i < n; i++)
        r->buf[i] = seq_nt16_str[bam_seqi(s, i)];
    r->buf[n] = '\0';
    unsigned char bad = 0;
    size_t pos = 0;
    if (clean_bases(r->buf, n, &bad, &pos) != n) {
        char c1[16];
        rec_error(r, name, "%s at base %zu is not a nucleotide or IUPAC code", shown_char(bad, c1),
                  pos);
        return RECUR_EFORMAT;
    }
    if (b->core.flag & BAM_FREVERSE)
        recur_dna_revcomp(r->buf, n, r->buf);
    const char *label = NULL;
    if (bam_label(r, &label) != 0)
        return RECUR_EFORMAT;
    rec->name = name;
    rec->seq = r->buf;
    rec->len = n;
    rec->label = label;
    return 0;
}

/* ---- one entry point for every source ---- */

int recur_seqreader_next(recur_seqreader_t *r, recur_seqrec_t *rec)
{
    if (!r || !rec) {
        recur_error("sequence reader: no reader or record");
        return RECUR_EINVAL;
    }
    if (r->failed)
        return r->failed;
    const enum htsLogLevel lv = hts_quiet();
    int ret;
    switch (r->kind) {
    case SRC_FASTX:
        ret = fx_next(r, rec);
        break;
    case SRC_BED:
        ret = bed_next(r, rec);
        break;
    default:
        ret = bam_next(r, rec);
        break;
    }
    if (ret >= 0)
        r->count++;
    else if (ret < -1)
        r->failed = ret;
    hts_restore(lv);
    return ret;
}
