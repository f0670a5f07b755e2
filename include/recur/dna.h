/* recur/dna.h - DNA records (recur/seqio.h) to a labelled, encoded dataset (recur/dataset.h):
 * DESIGN.md's one-hot encoding, truncation or tiling into windows, labels from FILE:LABEL, a
 * --labels TSV, a BED column or a BAM tag, classes in order of first appearance; plus what the
 * commands do with such datasets: the reverse complement of encoded batches (augmentation and
 * strand averaging), stratified validation splits, and the mean of window outputs per record. */
#ifndef RECUR_DNA_H
#define RECUR_DNA_H

#include <gsl/gsl_rng.h>

#include <recur/common.h>
#include <recur/dataset.h>
#include <recur/engine.h>
#include <recur/model.h>
#include <recur/seqio.h>

/* One-hot channels A, C, G, T in that order (DESIGN.md). */
#define RECUR_DNA_CHANNELS 4

/* Writes the one-hot encoding of seq[0..len-1] into x (len, 4): A, C, G, T (either case; U = T)
 * one-hot; N and every other IUPAC code (R Y S W K M B D H V) 0.25 in all four channels, or all
 * zero when n_zero. Returns len when every character is a nucleotide code, otherwise the index
 * of the first that is not (x is then only partly written). */
size_t recur_dna_encode(const char *seq, size_t len, bool n_zero, float *x);

/* Where records come from: one command-line input. */
typedef enum { RECUR_DNA_FASTA, RECUR_DNA_BED, RECUR_DNA_BAM } recur_dna_kind_t;

typedef struct {
    recur_dna_kind_t kind;
    const char *arg; /* "FILE" or "FILE:LABEL", as given (recur_split_file_label) */
} recur_dna_input_t;

/* How records become a dataset. Plain struct; zero-initialised means: classify, N = 0.25, no
 * length limit, labels required. */
typedef struct {
    recur_task_t task;      /* RECUR_TASK_CLASSIFY (one label per record) or RECUR_TASK_MULTILABEL
                               (several, separated by ',' or, in the TSV, by further columns) */
    bool n_zero;            /* N and other ambiguity codes encoded as all-zero instead of 0.25 */
    size_t max_len;         /* 0: none; else records are truncated to max_len bases, or tiled */
    bool windows;           /* tile records longer than max_len into windows of max_len bases (the
                               last one shorter), each a row named "name:start-end" (1-based,
                               inclusive); a record that fits keeps its name */
    const char *labels_tsv; /* --labels: "name<TAB>label[<TAB>label...]" lines (labels may
                               also be ','-separated for multilabel; '#' lines and empty
                               lines skipped); a listed record takes these labels in place of
                               its input's. Record names must then be unique. NULL: none. */
    bool skip_unlabelled;   /* records without a label are skipped (counted) instead of an
                               error */
    bool ignore_labels;     /* predict: no labels are read; rows get none (-1 / absent) */
    const char *const *classes; /* the class (or label) list to use, e.g. a model's: labels
                                   outside it are an error. NULL: classes in order of first
                                   appearance (FILE:LABEL labels in command-line order, then the
                                   TSV's in file order, then BED-column and BAM-tag labels as
                                   records are read) */
    size_t n_classes;
    recur_seqopts_t seq; /* reader options; seq.label is ignored (each input's own is used) */
} recur_dna_opts_t;

/* What recur_dna_read() made. */
typedef struct {
    recur_dataset_t *ds; /* seq head; rows are records or windows; names and classes set */
    size_t n_records;    /* records kept (rows come from these) */
    size_t *record;      /* (ds->N) index of the record each row comes from, non-decreasing */
    char **record_names; /* (n_records) */
    size_t skipped;      /* records skipped for having no label (skip_unlabelled) */
    size_t truncated;    /* records cut to max_len (no windows) */
    size_t tiled;        /* records split into two or more windows */
    uint64_t filtered;   /* BAM reads passed over by the filters */
    uint64_t bases;      /* bases encoded */
    size_t tsv_unused;   /* --labels entries that named no record */
} recur_dna_set_t;

/* Reads every input in order (its records in file order) and builds the dataset. NULL on
 * failure, logged as one line naming the file and the record: unreadable input, a record
 * without sequence, a character that is not a nucleotide code, a record without a label (unless
 * skip_unlabelled or ignore_labels), a label outside opts->classes, duplicate record names with
 * labels_tsv, no records at all. Free with recur_dna_set_free(). */
recur_dna_set_t *recur_dna_read(const recur_dna_input_t *in, size_t n_in,
                                const recur_dna_opts_t *opts);
void recur_dna_set_free(recur_dna_set_t *s);

/* Means of per-row outputs over the rows of each record: p (ds->N, O) -> out (n_records, O). */
void recur_dna_record_mean(const recur_dna_set_t *s, const double *p, size_t O, double *out);

/* Reverse-complements, in place, the columns b of a time-major one-hot batch for which flip[b]
 * is non-zero: steps 0 .. len-1 (len = that column's last valid step + 1) are reversed, with
 * their mask, and channels swapped A<->T, C<->G (ambiguity codes, 0.25 everywhere, stay).
 * x (T, B, 4), mask (T, B). */
void recur_dna_revcomp_batch(recur_real *x, unsigned char *mask, size_t T, size_t B,
                             const unsigned char *flip);

/* Splits the rows of ds into training and validation rows. Rows of one group (group (N): e.g.
 * the record each window comes from; NULL: every row its own group) stay together. Classify
 * datasets with a sequence head are split stratified: per class (the class of a group's first
 * row), round(frac * groups) groups drawn at random for validation, keeping at least one in
 * training; otherwise round(frac * groups) groups at random. train and val (N entries each)
 * get the row indices in increasing order; *n_train + *n_val = N. 0 or RECUR_ENOMEM. */
int recur_dna_split(const recur_dataset_t *ds, const size_t *group, double frac, gsl_rng *rng,
                    size_t *train, size_t *n_train, size_t *val, size_t *n_val) RECUR_WUR;

/* The encoding recur train stores in a DNA model (/config number lists dna_max_len,
 * dna_windows, dna_n_zero, dna_revcomp). A model without them (e.g. written by PyTorch) reads as
 * the defaults: no length limit, no windows, N = 0.25, no strand augmentation. */
typedef struct {
    size_t max_len;
    bool windows, n_zero, revcomp;
} recur_dna_encoding_t;
void recur_dna_model_encoding(const recur_model_t *m, recur_dna_encoding_t *enc);

/* 0 when m can classify DNA records: task classify or multilabel, a sequence head, 4 inputs.
 * Otherwise logs one line "path: ..." saying what the model is and returns RECUR_EINVAL. */
int recur_dna_model_check(const recur_model_t *m, const char *path) RECUR_WUR;

#endif
