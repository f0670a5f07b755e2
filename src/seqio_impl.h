/* seqio_impl.h - the state of a sequence reader (recur/seqio.h) and what its sources share,
 * used by seqio.c (the reader, FASTA/FASTQ, the entry point), seqio_bed.c (BED intervals) and
 * seqio_bam.c (SAM/BAM/CRAM). Internal to the library. */
#ifndef RECUR_SEQIO_IMPL_H
#define RECUR_SEQIO_IMPL_H

#include <htslib/bgzf.h>
#include <htslib/faidx.h>
#include <htslib/hts.h>
#include <htslib/hts_log.h>
#include <htslib/kstring.h>
#include <htslib/sam.h>

#include <recur/seqio.h>

/* The stream kseq reads a FASTA/FASTQ file through, with read errors, leading junk and runaway
 * records caught. */
typedef struct {
    BGZF *fp;
    uint64_t bytes; /* bytes delivered since the current record began */
    uint64_t limit; /* bytes one record may take before it is refused (bounds memory) */
    int first;      /* the first non-blank byte, '>' (FASTA) or '@' (FASTQ); 0 before it */
    int err;        /* 0, or what ended the stream (seqio.c) */
} recur_seqio_fx_t;

typedef enum { RECUR_SEQIO_FASTX, RECUR_SEQIO_BED, RECUR_SEQIO_BAM } recur_seqio_source_t;

struct recur_seqreader {
    recur_seqio_source_t kind;
    char *path;     /* the input, for messages */
    char *label;    /* opts->label (copy) or NULL */
    size_t cap;     /* longest record accepted */
    uint64_t nread; /* records (BED: lines) taken from the input, filtered ones included */
    uint64_t count, filtered;
    int failed; /* error code returned again by every call after a failure */
    /* FASTA/FASTQ; fp is also the BED file */
    BGZF *fp;
    recur_seqio_fx_t fx;
    void *ks; /* kseq_t (its type is made by KSEQ_INIT in seqio.c) */
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

/* Allocates a reader of the kind for path with opts' label and record limit. NULL (logged) when
 * path is NULL or memory runs out. Free with recur_seqreader_close(). */
recur_seqreader_t *recur_seqio_reader_new(recur_seqio_source_t kind, const char *path,
                                          const recur_seqopts_t *o);

/* Opens path through BGZF (plain, gzip or bgzip; "-" = stdin); a BGZF file without its
 * end-of-file block is refused as truncated. NULL on failure (logged). */
BGZF *recur_seqio_open_bgzf(const char *path, int threads);

/* Next record of a BED or SAM/BAM/CRAM reader (seqio_bed.c, seqio_bam.c), as
 * recur_seqreader_next() returns it; the count and the remembered failure are the caller's. */
int recur_seqio_bed_next(recur_seqreader_t *r, recur_seqrec_t *rec);
int recur_seqio_bam_next(recur_seqreader_t *r, recur_seqrec_t *rec);

/* htslib's own stderr lines are silenced while a reader works (failures are reported as one
 * line through recur_error instead), unless the program asked htslib for more than warnings:
 * recur_seqio_quiet() returns the level that recur_seqio_restore() gives back. */
enum htsLogLevel recur_seqio_quiet(void);
void recur_seqio_restore(enum htsLogLevel old);

/* A printable excerpt of s for messages (names may hold any bytes): its first 64 characters,
 * or for a file name its last 200 (the end names the file). */
#define RECUR_SEQIO_SHOWN 208
const char *recur_seqio_shown(const char *name, char out[RECUR_SEQIO_SHOWN]);
const char *recur_seqio_shown_file(const char *path, char out[RECUR_SEQIO_SHOWN]);
/* "'X'" or "byte 0xNN" for a character in a message. */
const char *recur_seqio_shown_char(unsigned char c, char out[16]);

/* Logs "FILE: record N (name): what" (BED: "line N"); name may be NULL. */
void recur_seqio_rec_error(const recur_seqreader_t *r, const char *name, const char *fmt, ...)
    RECUR_PRINTF(3, 4);

/* Uppercases s[0..n) in place through the table of accepted bases (seqio.c), dropping '\r'.
 * Returns the new length, or (size_t)-1 with *bad = the offending byte and *pos = its 1-based
 * base position. */
size_t recur_seqio_clean_bases(char *s, size_t n, unsigned char *bad, size_t *pos);

#endif
