/* recur/seqio.h - DNA sequence readers through htslib: FASTA/FASTQ (plain, gzip, bgzip;
 * streamed with kseq), BED intervals on an indexed reference (faidx, bgzip + .gzi), and
 * SAM/BAM/CRAM reads (whole file or a region through the index, samtools-style filters).
 * One reader type for all sources; records come out one at a time, htslib-style:
 * recur_seqreader_next() returns >= 0 for a record, -1 at end of input, < -1 on error (logged
 * as one line naming the file and the record). */

/* Behaviour common to every source (src/seqio.c):
 * - Bases: the IUPAC nucleotide codes A C G T N R Y S W K M B D H V in either case, returned
 *   uppercased, U returned as T. Anything else (gaps '-' and '.', '*', digits, blanks, control
 *   bytes) is an error naming the record and the 1-based base. CRLF line ends are accepted.
 * - FASTA/FASTQ: one reader for both (kseq); a file is FASTQ when its first byte is '@'. Errors:
 *   no record at all (empty file), text before the first header, a header without a name or
 *   without a sequence, FASTQ quality of the wrong length or missing, a record over the cap
 *   (refused while streaming, so memory stays bounded), a truncated or corrupt gzip/BGZF stream
 *   (a BGZF file without its end-of-file block is refused at open). Duplicate names pass.
 * - BED: messages say "line N"; columns are tab-separated (space-separated when a line has no
 *   tab); '#', "track", "browser" and blank lines are skipped; the name is column 4 unless empty
 *   or ".", else chrom:start-end with "(+)"/"(-)" when column 6 gives a strand (BED coordinates,
 *   as `bedtools getfasta -s`); column 6 must be '+', '-' or '.'; a label column replaces label;
 *   a file without any interval is an error. A missing .fai (and .gzi for bgzip) is built next
 *   to the reference, as `samtools faidx` would.
 * - SAM/BAM/CRAM: opts == NULL means the default filters (exclude RECUR_SEQIO_DEFAULT_EXCLUDE);
 *   the filters are samtools view's -q, -f, -F; several regions separated by blanks give each
 *   read once (as samtools view -M); a named label_tag replaces label, and a read without the
 *   tag has label NULL (string, character and integer tags; other types are an error); no read
 *   passing the filters is not an error. CRAM without opts->ref follows htslib (REF_PATH, ...).
 * - max_record_len is capped at 5 * 10^8 (kseq counts in int).
 * - After an error, recur_seqreader_next() returns the same error again without logging.
 * - htslib's own stderr messages are silenced during the calls unless the program raised its
 *   log level above warnings. */
#ifndef RECUR_SEQIO_H
#define RECUR_SEQIO_H

#include <recur/common.h>

/* SAM flag bits excluded by default, as `samtools view -F`: unmapped, secondary, QC fail,
 * duplicate, supplementary. */
#define RECUR_SEQIO_DEFAULT_EXCLUDE 0xF04u

typedef struct {
    const char *label;     /* label of every record (FILE:LABEL), or NULL */
    size_t max_record_len; /* longer records are an error; 0 = RECUR_SEQIO_MAX_LEN */
    int threads;           /* htslib decompression threads (-@); 0 = none */
    /* BED on a reference */
    const char *ref;  /* indexed FASTA (faidx; .fai, and .gzi when bgzipped); also the
                         reference for CRAM */
    int label_column; /* 1-based BED column holding the label; 0 = none (use label) */
    size_t flank;     /* bases added on both sides of each interval, clipped to the contig */
    /* SAM/BAM/CRAM */
    const char *region; /* samtools-style region(s) through the index, or NULL: whole file */
    int min_mapq;
    uint32_t require_flags; /* -f */
    uint32_t exclude_flags; /* -F; callers start from RECUR_SEQIO_DEFAULT_EXCLUDE */
    const char *label_tag;  /* aux tag whose value is the label (e.g. "RG"), or NULL */
} recur_seqopts_t;

#define RECUR_SEQIO_MAX_LEN ((size_t)100000000) /* 10^8 bases */

/* One record; every pointer is owned by the reader and valid until the next call. */
typedef struct {
    const char *name; /* FASTA/FASTQ name (up to the first space); BED: the name column or
                         chrom:start-end(strand); BAM: QNAME */
    const char *seq;  /* bases as read, uppercased, in the record's own 5'->3' orientation
                         (BED '-' intervals reverse-complemented, BAM reverse-strand reads
                         restored to the original read) */
    size_t len;
    const char *label; /* the record's label string, or NULL when it has none */
} recur_seqrec_t;

typedef struct recur_seqreader recur_seqreader_t;

/* Openers; NULL with one logged line naming the file on failure. opts may be NULL. */
recur_seqreader_t *recur_seqreader_fasta(const char *path, const recur_seqopts_t *opts);
recur_seqreader_t *recur_seqreader_bed(const char *bed, const recur_seqopts_t *opts);
recur_seqreader_t *recur_seqreader_bam(const char *path, const recur_seqopts_t *opts);
/* Reads the next record: >= 0 ok, -1 end of input, < -1 error (logged, naming file and record;
 * a truncated gzip/BGZF stream is an error, never a silent end of file). */
int recur_seqreader_next(recur_seqreader_t *r, recur_seqrec_t *rec);
/* Records returned, and records passed over by the BAM filters, so far. */
uint64_t recur_seqreader_count(const recur_seqreader_t *r);
uint64_t recur_seqreader_filtered(const recur_seqreader_t *r);
void recur_seqreader_close(recur_seqreader_t *r);

/* Reverse complement of seq[0..len-1] into out (may equal seq): A<->T, C<->G, IUPAC codes to
 * their complements, N and anything else unchanged. */
void recur_dna_revcomp(const char *seq, size_t len, char *out);

/* Splits "FILE:LABEL" at the last ':' when what follows it is not empty and contains no '/';
 * writes a copy of the file part into file (size n) and points *label at the label (or NULL).
 * Returns 0, or RECUR_EINVAL when the file part does not fit (not logged: the caller names the
 * option). */
int recur_split_file_label(const char *arg, char *file, size_t n, const char **label) RECUR_WUR;

#endif
