/* seqio_bed.c - the BED reader of recur/seqio.h: intervals (BED3 to BED6 and beyond, tab- or
 * space-separated, headers skipped) fetched with flanks from a faidx-indexed reference, the
 * minus strand reverse-complemented, the label from a column or the file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <htslib/bgzf.h>
#include <htslib/faidx.h>
#include <htslib/kstring.h>

#include <recur/seqio.h>

#include "seqio_impl.h"

recur_seqreader_t *recur_seqreader_bed(const char *bed, const recur_seqopts_t *opts)
{
    const enum htsLogLevel lv = recur_seqio_quiet();
    char f[RECUR_SEQIO_SHOWN], g[RECUR_SEQIO_SHOWN];
    recur_seqreader_t *r = recur_seqio_reader_new(RECUR_SEQIO_BED, bed, opts);
    if (!r)
        goto done;
    if (!opts || !opts->ref) {
        recur_error("%s: BED intervals need a reference FASTA (--ref)",
                    recur_seqio_shown_file(bed, f));
        goto fail;
    }
    if (opts->label_column < 0) {
        recur_error("%s: label column %d: columns count from 1", recur_seqio_shown_file(bed, f),
                    opts->label_column);
        goto fail;
    }
    if (opts->label_column > 1000) {
        recur_error("%s: label column %d: more columns than a BED file has",
                    recur_seqio_shown_file(bed, f), opts->label_column);
        goto fail;
    }
    r->label_column = opts->label_column;
    r->flank = opts->flank;
    r->nfield_max = opts->label_column > 6 ? opts->label_column : 6;
    r->ref = strdup(opts->ref);
    r->field = malloc((size_t)r->nfield_max * sizeof *r->field);
    if (!r->ref || !r->field) {
        recur_error("%s: out of memory", recur_seqio_shown_file(bed, f));
        goto fail;
    }
    /* faidx reads bgzip (with .gzi) but not plain gzip: say so rather than fail obscurely */
    errno = 0;
    BGZF *t = bgzf_open(r->ref, "r");
    if (!t) {
        recur_error("%s: cannot open the reference: %s", recur_seqio_shown_file(r->ref, g),
                    errno ? strerror(errno) : "unreadable compressed stream");
        goto fail;
    }
    const int comp = bgzf_compression(t);
    bgzf_close(t);
    if (comp == gzip) {
        recur_error("%s: plain gzip: the reference must be bgzip-compressed "
                    "(bgzip + samtools faidx)",
                    recur_seqio_shown_file(r->ref, g));
        goto fail;
    }
    r->fai = fai_load3(r->ref, NULL, NULL, FAI_CREATE);
    if (!r->fai) {
        recur_error("%s: cannot load or build the faidx index (.fai%s; `samtools faidx %s` "
                    "says why)",
                    recur_seqio_shown_file(r->ref, g), comp == bgzf ? " and .gzi" : "",
                    recur_seqio_shown_file(r->ref, f));
        goto fail;
    }
    r->fp = recur_seqio_open_bgzf(bed, opts->threads);
    if (!r->fp)
        goto fail;
    goto done;
fail:
    recur_seqreader_close(r);
    r = NULL;
done:
    recur_seqio_restore(lv);
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
            recur_seqio_rec_error(r, NULL, "read error: truncated or corrupt compressed stream");
            return RECUR_EIO;
        }
        char *s = r->line.s;
        size_t l = r->line.l;
        if (strlen(s) != l) {
            recur_seqio_rec_error(r, NULL, "NUL byte in the line");
            return RECUR_EFORMAT;
        }
        while (l > 0 && (s[l - 1] == '\r' || s[l - 1] == ' ' || s[l - 1] == '\t'))
            s[--l] = '\0';
        if (l == 0 || s[0] == '#' || starts_word(s, "track") || starts_word(s, "browser"))
            continue;
        return 1;
    }
}

int recur_seqio_bed_next(recur_seqreader_t *r, recur_seqrec_t *rec)
{
    char c1[16], g[RECUR_SEQIO_SHOWN], c2[RECUR_SEQIO_SHOWN];
    const int got = bed_line(r);
    if (got == -1) {
        if (r->count == 0) {
            recur_error("%s: empty: no BED interval", recur_seqio_shown_file(r->path, g));
            return RECUR_EFORMAT;
        }
        return -1;
    }
    if (got < 0)
        return got;
    const int nf = split_columns(r, r->line.s);
    if (nf < 3) {
        recur_seqio_rec_error(r, NULL, "%d column%s: BED needs chrom, start and end", nf,
                              nf == 1 ? "" : "s");
        return RECUR_EFORMAT;
    }
    const char *chrom = r->field[0];
    uint64_t start, end;
    if (!parse_coord(r->field[1], &start)) {
        recur_seqio_rec_error(r, NULL, "start '%s' is not a coordinate",
                              recur_seqio_shown(r->field[1], g));
        return RECUR_EFORMAT;
    }
    if (!parse_coord(r->field[2], &end)) {
        recur_seqio_rec_error(r, NULL, "end '%s' is not a coordinate",
                              recur_seqio_shown(r->field[2], g));
        return RECUR_EFORMAT;
    }
    char strand = '.';
    if (nf >= 6) {
        const char *st = r->field[5];
        if ((st[0] == '+' || st[0] == '-' || st[0] == '.') && st[1] == '\0') {
            strand = st[0];
        } else {
            recur_seqio_rec_error(r, NULL, "strand (column 6) '%s' is not +, - or .",
                                  recur_seqio_shown(st, g));
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
            recur_seqio_rec_error(r, NULL, "out of memory");
            return RECUR_EIO;
        }
        name = r->name.s;
    }
    if (start >= end) {
        recur_seqio_rec_error(r, name, "start %llu >= end %llu", (unsigned long long)start,
                              (unsigned long long)end);
        return RECUR_EFORMAT;
    }
    if (!faidx_has_seq(r->fai, chrom)) {
        char h[RECUR_SEQIO_SHOWN];
        recur_seqio_rec_error(r, name, "contig '%s' is not in the reference %s",
                              recur_seqio_shown(chrom, g), recur_seqio_shown_file(r->ref, h));
        return RECUR_EFORMAT;
    }
    /* htslib 1.16 has no 64-bit length query: contigs up to 2^31 - 1 bases */
    const hts_pos_t clen = faidx_seq_len(r->fai, chrom);
    if (clen < 0 || end > (uint64_t)clen) {
        recur_seqio_rec_error(r, name,
                              "interval %s:%llu-%llu lies outside its contig (length %lld)",
                              recur_seqio_shown(chrom, g), (unsigned long long)start,
                              (unsigned long long)end, (long long)clen);
        return RECUR_EFORMAT;
    }
    const char *label = r->label;
    if (r->label_column > 0) {
        if (r->label_column > nf) {
            recur_seqio_rec_error(r, name, "no column %d for the label (%d columns)",
                                  r->label_column, nf);
            return RECUR_EFORMAT;
        }
        label = r->field[r->label_column - 1];
        if (label[0] == '\0') {
            recur_seqio_rec_error(r, name, "empty label in column %d", r->label_column);
            return RECUR_EFORMAT;
        }
    }
    /* flanks clipped to the contig */
    const uint64_t beg = start > r->flank ? start - r->flank : 0;
    const uint64_t fend = (uint64_t)clen - end > r->flank ? end + r->flank : (uint64_t)clen;
    if (fend - beg > r->cap) {
        recur_seqio_rec_error(r, name, "%llu bases, longer than the limit of %zu",
                              (unsigned long long)(fend - beg), r->cap);
        return RECUR_EFORMAT;
    }
    free(r->iv);
    hts_pos_t n = 0;
    r->iv = faidx_fetch_seq64(r->fai, chrom, (hts_pos_t)beg, (hts_pos_t)fend - 1, &n);
    if (!r->iv || n != (hts_pos_t)(fend - beg)) {
        recur_seqio_rec_error(
            r, name, "cannot read %s:%llu-%llu from %s (truncated reference or stale index?)",
            recur_seqio_shown(chrom, g), (unsigned long long)beg, (unsigned long long)fend,
            recur_seqio_shown_file(r->ref, c2));
        return RECUR_EIO;
    }
    unsigned char bad = 0;
    size_t pos = 0;
    const size_t len = recur_seqio_clean_bases(r->iv, (size_t)n, &bad, &pos);
    if (len == (size_t)-1) { /* faidx drops line ends itself: no '\r' reaches here */
        recur_seqio_rec_error(r, name,
                              "the reference has %s at %s:%llu, not a nucleotide or IUPAC code",
                              recur_seqio_shown_char(bad, c1), recur_seqio_shown(chrom, g),
                              (unsigned long long)(beg + pos));
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
