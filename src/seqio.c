/* seqio.c - DNA sequence readers through htslib: the reader object and what every source shares
 * (base validation, messages naming the record, htslib's logging kept quiet), FASTA/FASTQ
 * streamed with kseq over BGZF (plain, gzip, bgzip), and the one entry point for every source.
 * BED intervals are read in seqio_bed.c, SAM/BAM/CRAM reads in seqio_bam.c. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <htslib/bgzf.h>
#include <htslib/faidx.h>
#include <htslib/hts.h>
#include <htslib/hts_log.h>
#include <htslib/kseq.h>
#include <htslib/sam.h>

#include <recur/seqio.h>

#include "seqio_impl.h"

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

/* kseq's reader: kseq treats a negative count as data, so errors end the stream (0) and are
 * remembered in s->err. */
static int fx_read(recur_seqio_fx_t *s, unsigned char *buf, int n)
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
KSEQ_INIT(recur_seqio_fx_t *, fx_read)

/* ---- the reader, and what every source shares ---- */

/* Records longer than this (from a larger max_record_len) are refused anyway: kseq counts in
 * int, and the stream guard below allows 4 bytes per base. */
#define SEQIO_HARD_CAP ((size_t)500000000)

enum htsLogLevel recur_seqio_quiet(void)
{
    const enum htsLogLevel old = hts_get_log_level();
    if (old <= HTS_LOG_WARNING)
        hts_set_log_level(HTS_LOG_OFF);
    return old;
}

void recur_seqio_restore(enum htsLogLevel old)
{
    hts_set_log_level(old);
}

/* The excerpt of recur_seqio_shown() (tail false) or recur_seqio_shown_file() (tail true). */
static const char *shown_part(const char *s, char out[RECUR_SEQIO_SHOWN], bool tail)
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

const char *recur_seqio_shown(const char *name, char out[RECUR_SEQIO_SHOWN])
{
    return shown_part(name, out, false);
}

const char *recur_seqio_shown_file(const char *path, char out[RECUR_SEQIO_SHOWN])
{
    return shown_part(path, out, true);
}

void recur_seqio_rec_error(const recur_seqreader_t *r, const char *name, const char *fmt, ...)
{
    char what[512], f[RECUR_SEQIO_SHOWN], n[RECUR_SEQIO_SHOWN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *unit = r->kind == RECUR_SEQIO_BED ? "line" : "record";
    if (name)
        recur_error("%s: %s %llu (%s): %s", recur_seqio_shown_file(r->path, f), unit,
                    (unsigned long long)r->nread, recur_seqio_shown(name, n), what);
    else
        recur_error("%s: %s %llu: %s", recur_seqio_shown_file(r->path, f), unit,
                    (unsigned long long)r->nread, what);
}

const char *recur_seqio_shown_char(unsigned char c, char out[16])
{
    if (c >= 0x20 && c < 0x7f)
        snprintf(out, 16, "'%c'", c);
    else
        snprintf(out, 16, "byte 0x%02x", c);
    return out;
}

size_t recur_seqio_clean_bases(char *s, size_t n, unsigned char *bad, size_t *pos)
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

recur_seqreader_t *recur_seqio_reader_new(recur_seqio_source_t kind, const char *path,
                                          const recur_seqopts_t *o)
{
    static const char *const reader[] = {[RECUR_SEQIO_FASTX] = "FASTA reader",
                                         [RECUR_SEQIO_BED] = "BED reader",
                                         [RECUR_SEQIO_BAM] = "SAM/BAM/CRAM reader"};
    char f[RECUR_SEQIO_SHOWN];
    if (!path) {
        recur_error("%s: no file name", reader[kind]);
        return NULL;
    }
    recur_seqreader_t *r = calloc(1, sizeof *r);
    if (!r)
        goto nomem;
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
        goto nomem;
    }
    return r;
nomem:
    recur_error("%s: out of memory", recur_seqio_shown_file(path, f));
    return NULL;
}

void recur_seqreader_close(recur_seqreader_t *r)
{
    if (!r)
        return;
    const enum htsLogLevel lv = recur_seqio_quiet();
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
    recur_seqio_restore(lv);
}

uint64_t recur_seqreader_count(const recur_seqreader_t *r)
{
    return r ? r->count : 0;
}

uint64_t recur_seqreader_filtered(const recur_seqreader_t *r)
{
    return r ? r->filtered : 0;
}

BGZF *recur_seqio_open_bgzf(const char *path, int threads)
{
    char f[RECUR_SEQIO_SHOWN];
    errno = 0;
    BGZF *fp = bgzf_open(path, "r");
    if (!fp) {
        recur_error("%s: cannot open: %s", recur_seqio_shown_file(path, f),
                    errno ? strerror(errno) : "unreadable compressed stream");
        return NULL;
    }
    if (bgzf_compression(fp) == bgzf && bgzf_check_EOF(fp) == 0) {
        recur_error("%s: truncated BGZF file (the end-of-file block is missing)",
                    recur_seqio_shown_file(path, f));
        bgzf_close(fp);
        return NULL;
    }
    if (threads > 0 && bgzf_compression(fp) == bgzf && bgzf_mt(fp, threads, 256) < 0) {
        recur_error("%s: cannot start %d decompression threads", recur_seqio_shown_file(path, f),
                    threads);
        bgzf_close(fp);
        return NULL;
    }
    return fp;
}

/* ---- FASTA / FASTQ ---- */

recur_seqreader_t *recur_seqreader_fasta(const char *path, const recur_seqopts_t *opts)
{
    const enum htsLogLevel lv = recur_seqio_quiet();
    char f[RECUR_SEQIO_SHOWN];
    recur_seqreader_t *r = recur_seqio_reader_new(RECUR_SEQIO_FASTX, path, opts);
    if (!r)
        goto done;
    r->fp = recur_seqio_open_bgzf(path, opts ? opts->threads : 0);
    if (!r->fp)
        goto fail;
    r->fx.fp = r->fp;
    /* a record of cap bases may take 2 bytes a base (1-column lines), twice for FASTQ */
    r->fx.limit = 4 * (uint64_t)r->cap + (1u << 20);
    kseq_t *ks = kseq_init(&r->fx);
    r->ks = ks;
    if (!ks || !ks->f || !ks->f->buf) {
        recur_error("%s: out of memory", recur_seqio_shown_file(path, f));
        goto fail;
    }
    goto done;
fail:
    recur_seqreader_close(r);
    r = NULL;
done:
    recur_seqio_restore(lv);
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
        recur_seqio_rec_error(r, NULL, "read error: truncated or corrupt compressed stream");
        return RECUR_EIO;
    case FX_EJUNK:
        recur_seqio_rec_error(r, NULL, "not FASTA/FASTQ: text before the first '>' or '@' header");
        return RECUR_EFORMAT;
    case FX_ELONG:
        recur_seqio_rec_error(r, NULL, "longer than the limit of %zu bases", r->cap);
        return RECUR_EFORMAT;
    default:
        break;
    }
    if (ret == -1) {
        r->nread--;
        if (r->nread == 0) {
            char f[RECUR_SEQIO_SHOWN];
            recur_error("%s: empty: no FASTA/FASTQ record", recur_seqio_shown_file(r->path, f));
            return RECUR_EFORMAT;
        }
        return -1;
    }
    const char *name = ks->name.l ? ks->name.s : NULL;
    if (ret == -2) {
        recur_seqio_rec_error(r, name,
                              "quality line not as long as the sequence (truncated FASTQ record)");
        return RECUR_EFORMAT;
    }
    if (ret < 0) {
        recur_seqio_rec_error(r, name, "record too long");
        return RECUR_EFORMAT;
    }
    if (!name) {
        recur_seqio_rec_error(r, NULL, "header without a name");
        return RECUR_EFORMAT;
    }
    if (ks->seq.l == 0) {
        recur_seqio_rec_error(r, name, "header with no sequence");
        return RECUR_EFORMAT;
    }
    /* kseq reads both formats in one loop; a file is one or the other, as its first byte says */
    if (r->fx.first == '@' && ks->qual.l == 0) {
        recur_seqio_rec_error(r, name, "FASTQ record without its '+' and quality lines");
        return RECUR_EFORMAT;
    }
    if (r->fx.first == '>' && ks->qual.l > 0) {
        recur_seqio_rec_error(r, name, "a line starting with '+' in a FASTA sequence");
        return RECUR_EFORMAT;
    }
    if (ks->seq.l > r->cap) {
        recur_seqio_rec_error(r, name, "%zu bases, longer than the limit of %zu", ks->seq.l,
                              r->cap);
        return RECUR_EFORMAT;
    }
    unsigned char bad = 0;
    size_t pos = 0;
    const size_t len = recur_seqio_clean_bases(ks->seq.s, ks->seq.l, &bad, &pos);
    if (len == (size_t)-1) {
        recur_seqio_rec_error(r, name, "%s at base %zu is not a nucleotide or IUPAC code",
                              recur_seqio_shown_char(bad, c1), pos);
        return RECUR_EFORMAT;
    }
    if (len == 0) {
        recur_seqio_rec_error(r, name, "header with no sequence");
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
/* ---- one entry point for every source ---- */

int recur_seqreader_next(recur_seqreader_t *r, recur_seqrec_t *rec)
{
    if (!r || !rec) {
        recur_error("sequence reader: no reader or record");
        return RECUR_EINVAL;
    }
    if (r->failed)
        return r->failed;
    const enum htsLogLevel lv = recur_seqio_quiet();
    int ret;
    switch (r->kind) {
    case RECUR_SEQIO_FASTX:
        ret = fx_next(r, rec);
        break;
    case RECUR_SEQIO_BED:
        ret = recur_seqio_bed_next(r, rec);
        break;
    default:
        ret = recur_seqio_bam_next(r, rec);
        break;
    }
    if (ret >= 0)
        r->count++;
    else if (ret < -1)
        r->failed = ret;
    recur_seqio_restore(lv);
    return ret;
}
