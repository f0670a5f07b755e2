/* seqio_bam.c - the SAM/BAM/CRAM reader of recur/seqio.h: reads through htslib, in whole files
 * or indexed regions, with samtools-style filters (mapping quality, required and excluded
 * flags), reverse-strand reads complemented back, the label from an aux tag or the file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <htslib/cram.h>
#include <htslib/hts.h>
#include <htslib/sam.h>

#include <recur/seqio.h>

#include "seqio_impl.h"

/* Splits the whitespace-separated regions and makes the iterator: one region as
 * `samtools view FILE REGION`, several as `samtools view -M` (each read once). */
static int bam_regions(recur_seqreader_t *r, const char *region)
{
    char f[RECUR_SEQIO_SHOWN], g[RECUR_SEQIO_SHOWN];
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
        recur_error("%s: empty region", recur_seqio_shown_file(r->path, f));
        goto done;
    }
    r->idx = sam_index_load(r->sf, r->path);
    if (!r->idx) {
        recur_error("%s: no index for region queries (samtools index %s)",
                    recur_seqio_shown_file(r->path, f), recur_seqio_shown_file(r->path, g));
        goto done;
    }
    for (unsigned int i = 0; i < nreg; i++) {
        int tid = -1;
        hts_pos_t beg = 0, end = 0;
        if (strcmp(regs[i], "*") == 0 || strcmp(regs[i], ".") == 0)
            continue; /* unplaced reads; the whole file */
        if (!sam_parse_region(r->hdr, regs[i], &tid, &beg, &end, HTS_PARSE_THOUSANDS_SEP) ||
            tid < 0) {
            recur_error("%s: region '%s': unknown contig or bad syntax",
                        recur_seqio_shown_file(r->path, f), recur_seqio_shown(regs[i], g));
            goto done;
        }
    }
    r->itr = nreg == 1 ? sam_itr_querys(r->idx, r->hdr, regs[0])
                       : sam_itr_regarray(r->idx, r->hdr, regs, nreg);
    if (!r->itr) {
        recur_error("%s: cannot query region '%s'", recur_seqio_shown_file(r->path, f),
                    recur_seqio_shown(region, g));
        goto done;
    }
    ret = RECUR_OK;
    goto done;
nomem:
    recur_error("%s: out of memory", recur_seqio_shown_file(r->path, f));
done:
    free(regs);
    free(copy);
    return ret;
}

recur_seqreader_t *recur_seqreader_bam(const char *path, const recur_seqopts_t *opts)
{
    const enum htsLogLevel lv = recur_seqio_quiet();
    char f[RECUR_SEQIO_SHOWN], g[RECUR_SEQIO_SHOWN];
    recur_seqreader_t *r = recur_seqio_reader_new(RECUR_SEQIO_BAM, path, opts);
    if (!r)
        goto done;
    r->min_mapq = opts ? opts->min_mapq : 0;
    r->require = opts ? opts->require_flags : 0;
    r->exclude = opts ? opts->exclude_flags : RECUR_SEQIO_DEFAULT_EXCLUDE;
    if (opts && opts->label_tag) {
        const char *t = opts->label_tag;
        if (strlen(t) != 2) {
            recur_error("%s: label tag '%s' is not two characters (as RG)",
                        recur_seqio_shown_file(path, f), recur_seqio_shown(t, g));
            goto fail;
        }
        memcpy(r->tag, t, 3);
    }
    errno = 0;
    r->sf = hts_open(path, "r");
    if (!r->sf) {
        recur_error("%s: cannot open: %s", recur_seqio_shown_file(path, f),
                    errno ? strerror(errno) : "unreadable");
        goto fail;
    }
    const htsFormat *fmt = hts_get_format(r->sf);
    if (fmt->format == empty_format) {
        recur_error("%s: empty file", recur_seqio_shown_file(path, f));
        goto fail;
    }
    if (fmt->format != sam && fmt->format != bam && fmt->format != cram) {
        char *d = hts_format_description(fmt);
        recur_error("%s: not SAM, BAM or CRAM (%s)", recur_seqio_shown_file(path, f),
                    d ? d : "unknown format");
        free(d);
        goto fail;
    }
    if ((r->sf->is_bgzf && fmt->compression == bgzf && bgzf_check_EOF(r->sf->fp.bgzf) == 0) ||
        (r->sf->is_cram && cram_check_EOF(r->sf->fp.cram) == 0)) {
        recur_error("%s: truncated file (the end-of-file block is missing)",
                    recur_seqio_shown_file(path, f));
        goto fail;
    }
    if (fmt->format == cram && opts && opts->ref && hts_set_fai_filename(r->sf, opts->ref) < 0) {
        recur_error("%s: cannot use the reference %s", recur_seqio_shown_file(path, f),
                    recur_seqio_shown_file(opts->ref, g));
        goto fail;
    }
    if (opts && opts->threads > 0 && hts_set_threads(r->sf, opts->threads) < 0) {
        recur_error("%s: cannot start %d decompression threads", recur_seqio_shown_file(path, f),
                    opts->threads);
        goto fail;
    }
    r->hdr = sam_hdr_read(r->sf);
    r->b = bam_init1();
    if (!r->hdr || !r->b) {
        recur_error("%s: cannot read the header", recur_seqio_shown_file(path, f));
        goto fail;
    }
    if (opts && opts->region && bam_regions(r, opts->region) != 0)
        goto fail;
    goto done;
fail:
    recur_seqreader_close(r);
    r = NULL;
done:
    recur_seqio_restore(lv);
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
        recur_seqio_rec_error(r, bam_get_qname(r->b),
                              "tag %s is of type %s: a label is a string, a "
                              "character or an integer",
                              r->tag, recur_seqio_shown_char(aux[0], c1));
        return RECUR_EFORMAT;
    }
    }
}

int recur_seqio_bam_next(recur_seqreader_t *r, recur_seqrec_t *rec)
{
    bam1_t *b = r->b;
    for (;;) {
        const int ret = r->itr ? sam_itr_next(r->sf, r->itr, b) : sam_read1(r->sf, r->hdr, b);
        if (ret == -1)
            return -1;
        r->nread++;
        if (ret < -1) {
            recur_seqio_rec_error(r, NULL, "read error: truncated or corrupt file");
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
        recur_seqio_rec_error(r, name, "SEQ is '*': the read has no stored sequence");
        return RECUR_EFORMAT;
    }
    if (n > r->cap) {
        recur_seqio_rec_error(r, name, "%zu bases, longer than the limit of %zu", n, r->cap);
        return RECUR_EFORMAT;
    }
    if (n + 1 > r->buf_m) {
        char *nb = realloc(r->buf, n + 1);
        if (!nb) {
            recur_seqio_rec_error(r, name, "out of memory");
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
    if (recur_seqio_clean_bases(r->buf, n, &bad, &pos) != n) {
        char c1[16];
        recur_seqio_rec_error(r, name, "%s at base %zu is not a nucleotide or IUPAC code",
                              recur_seqio_shown_char(bad, c1), pos);
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
