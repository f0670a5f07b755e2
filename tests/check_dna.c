/* check_dna.c - tests of DNA records to datasets (src/dna.c) and of the DNA commands against
 * PyTorch: the one-hot encoding and the reverse complement against closed forms; labels (FILE:
 * LABEL, TSV, multilabel, fixed classes, unlabelled records, duplicates), windows and truncation,
 * stratified splits; `recur predict` from FASTA, BED + reference and an indexed BAM against
 * torch's probabilities (tests/reference/make_dna_fixtures.py), also strand-averaged, windowed and
 * truncated; `recur train` for one SGD step against torch's weights. The command tests run the
 * binary in $RECUR (default bin/recur). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>
#include <htslib/sam.h>

#include <recur/dna.h>
#include <recur/infer.h>

#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/check_dna.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Writes text to tmpdir/name and returns the path (static buffer rotation of 8). */
static const char *put(const char *name, const char *text)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    return p;
}

static const char *recur_bin(void)
{
    const char *r = getenv("RECUR");
    return r && *r ? r : "bin/recur";
}

/* Runs a shell command; returns its exit status. */
static int run(const char *fmt, ...) RECUR_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    const int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define MAX_ROWS 64
#define MAX_COLS 16

/* A TSV table: header names and rows of name + numbers ('#' lines skipped). */
typedef struct {
    size_t rows, cols;
    char head[MAX_COLS][48];
    char name[MAX_ROWS][64];
    double v[MAX_ROWS][MAX_COLS];
} table_t;

/* Reads path; numeric columns from `first` (0-based, the name is column 0). */
static void read_table(const char *path, size_t first, table_t *t)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char line[8192];
    memset(t, 0, sizeof *t);
    bool header = true;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        line[strcspn(line, "\r\n")] = '\0';
        size_t c = 0;
        for (char *save = NULL, *tok = strtok_r(line, "\t", &save); tok;
             tok = strtok_r(NULL, "\t", &save), c++) {
            if (header) {
                if (c >= first && c - first < MAX_COLS)
                    snprintf(t->head[c - first], sizeof t->head[0], "%s", tok);
            } else if (c == 0) {
                ck_assert_uint_lt(t->rows, MAX_ROWS);
                snprintf(t->name[t->rows], sizeof t->name[0], "%s", tok);
            } else if (c >= first && c - first < MAX_COLS) {
                t->v[t->rows][c - first] = strtod(tok, NULL);
            }
        }
        if (header)
            t->cols = c - first;
        else
            t->rows++;
        header = false;
    }
    fclose(f);
}

static const double *row_of(const table_t *t, const char *name)
{
    for (size_t i = 0; i < t->rows; i++)
        if (strcmp(t->name[i], name) == 0)
            return t->v[i];
    return NULL;
}

/* Every record of `want` (columns at offset off, 3 classes) is in got with the same
 * probabilities within 1e-5, and got has no other rows. */
static void same_probs(const table_t *got, const table_t *want, size_t off, const char *what)
{
    ck_assert_msg(got->rows == want->rows, "%s: %zu rows, expected %zu", what, got->rows,
                  want->rows);
    for (size_t i = 0; i < want->rows; i++) {
        const double *g = row_of(got, want->name[i]);
        ck_assert_msg(g != NULL, "%s: no row for %s", what, want->name[i]);
        for (size_t k = 0; k < 3; k++)
            ck_assert_msg(fabs(g[k] - want->v[i][off + k]) <= 1e-5,
                          "%s: %s p[%zu] %.9g, torch %.9g", what, want->name[i], k, g[k],
                          want->v[i][off + k]);
    }
}

static const float *x_at(const recur_dataset_t *ds, size_t i, size_t t)
{
    return ds->x + (i * ds->T + t) * RECUR_DNA_CHANNELS;
}

/* ---- encoding ------------------------------------------------------------------------------ */

START_TEST(test_encode_closed_form)
{
    const char *s = "ACGTUacgtu";
    const int ch[] = {0, 1, 2, 3, 3, 0, 1, 2, 3, 3};
    float x[10 * 4];
    ck_assert_uint_eq(recur_dna_encode(s, 10, false, x), 10);
    for (size_t t = 0; t < 10; t++)
        for (int c = 0; c < 4; c++)
            ck_assert_float_eq(x[t * 4 + c], c == ch[t] ? 1.0f : 0.0f);
    const char *amb = "NRYSWKMBDHVnryswkmbdhv";
    const size_t n = strlen(amb);
    float y[22 * 4];
    ck_assert_uint_eq(recur_dna_encode(amb, n, false, y), n);
    for (size_t i = 0; i < n * 4; i++)
        ck_assert_float_eq(y[i], 0.25f);
    ck_assert_uint_eq(recur_dna_encode(amb, n, true, y), n);
    for (size_t i = 0; i < n * 4; i++)
        ck_assert_float_eq(y[i], 0.0f);
    /* Not nucleotide codes: the index of the first. */
    ck_assert_uint_eq(recur_dna_encode("ACXG", 4, false, x), 2);
    ck_assert_uint_eq(recur_dna_encode("AC-G", 4, false, x), 2);
    ck_assert_uint_eq(recur_dna_encode("ACG*", 4, false, x), 3);
    ck_assert_uint_eq(recur_dna_encode("E", 1, false, x), 0);
    ck_assert_uint_eq(recur_dna_encode("AC G", 4, false, x), 2);
    ck_assert_uint_eq(recur_dna_encode("", 0, false, x), 0);
}
END_TEST

START_TEST(test_revcomp_batch)
{
    /* Column 0: "ACGTN" (5 steps); column 1: "AAC" then 2 padded steps. T = 5, B = 2. */
    const char *s0 = "ACGTN", *s1 = "AAC";
    float e0[5 * 4], e1[3 * 4];
    ck_assert_uint_eq(recur_dna_encode(s0, 5, false, e0), 5);
    ck_assert_uint_eq(recur_dna_encode(s1, 3, false, e1), 3);
    recur_real x[5 * 2 * 4] = {0};
    unsigned char mask[5 * 2] = {0};
    for (size_t t = 0; t < 5; t++) {
        for (int c = 0; c < 4; c++)
            x[(t * 2 + 0) * 4 + c] = e0[t * 4 + c];
        mask[t * 2] = 1;
        if (t < 3) {
            for (int c = 0; c < 4; c++)
                x[(t * 2 + 1) * 4 + c] = e1[t * 4 + c];
            mask[t * 2 + 1] = 1;
        }
    }
    recur_real orig[5 * 2 * 4];
    memcpy(orig, x, sizeof x);
    const unsigned char flip[2] = {1, 1};
    recur_dna_revcomp_batch(x, mask, 5, 2, flip);
    /* revcomp: "NACGT" and "GTT" (then padding, untouched) */
    float r0[5 * 4], r1[3 * 4];
    ck_assert_uint_eq(recur_dna_encode("NACGT", 5, false, r0), 5);
    ck_assert_uint_eq(recur_dna_encode("GTT", 3, false, r1), 3);
    for (size_t t = 0; t < 5; t++)
        for (int c = 0; c < 4; c++) {
            ck_assert_float_eq(x[(t * 2) * 4 + c], r0[t * 4 + c]);
            ck_assert_float_eq(x[(t * 2 + 1) * 4 + c], t < 3 ? r1[t * 4 + c] : 0.0f);
        }
    for (size_t t = 0; t < 5; t++)
        ck_assert_int_eq(mask[t * 2 + 1], t < 3);
    /* Twice is the identity; flip 0 leaves a column alone. */
    recur_dna_revcomp_batch(x, mask, 5, 2, flip);
    ck_assert_mem_eq(x, orig, sizeof x);
    const unsigned char only1[2] = {0, 1};
    recur_dna_revcomp_batch(x, mask, 5, 2, only1);
    for (size_t t = 0; t < 5; t++)
        for (int c = 0; c < 4; c++)
            ck_assert_float_eq(x[(t * 2) * 4 + c], orig[(t * 2) * 4 + c]);
}
END_TEST

/* ---- records to datasets -----------------------------------------------------------------------
 */

static recur_dna_set_t *read2(const char *a, const char *b, const recur_dna_opts_t *o)
{
    recur_dna_input_t in[2] = {{RECUR_DNA_FASTA, a}, {RECUR_DNA_FASTA, b}};
    return recur_dna_read(in, b ? 2 : 1, o);
}

START_TEST(test_labels_first_appearance)
{
    make_tmpdir();
    char a[600], b[600];
    snprintf(a, sizeof a, "%s:zeta", put("a.fa", ">r1\nACGT\n>r2\nGG\n"));
    snprintf(b, sizeof b, "%s:alpha", put("b.fa", ">r3 some description\nttNa\n"));
    recur_dna_opts_t o = {.task = RECUR_TASK_CLASSIFY};
    recur_dna_set_t *s = read2(a, b, &o);
    ck_assert_ptr_nonnull(s);
    const recur_dataset_t *ds = s->ds;
    ck_assert_uint_eq(ds->N, 3);
    ck_assert_uint_eq(ds->T, 4);
    ck_assert_uint_eq(ds->O, 2);
    ck_assert_str_eq(ds->classes[0], "zeta");
    ck_assert_str_eq(ds->classes[1], "alpha");
    ck_assert_int_eq(ds->labels[0], 0);
    ck_assert_int_eq(ds->labels[1], 0);
    ck_assert_int_eq(ds->labels[2], 1);
    ck_assert_str_eq(ds->names[2], "r3");
    ck_assert_uint_eq(recur_dataset_length(ds, 1), 2);
    ck_assert_uint_eq(s->bases, 10);
    /* r3 = "ttNa": T, T, N, A */
    ck_assert_float_eq(x_at(ds, 2, 0)[3], 1.0f);
    ck_assert_float_eq(x_at(ds, 2, 2)[1], 0.25f);
    ck_assert_float_eq(x_at(ds, 2, 3)[0], 1.0f);
    recur_dna_set_free(s);
    /* The order of the command line decides, not the order of the records. */
    s = read2(b, a, &o);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->ds->classes[0], "alpha");
    ck_assert_int_eq(s->ds->labels[0], 0);
    ck_assert_int_eq(s->ds->labels[1], 1);
    recur_dna_set_free(s);
    remove_tmpdir();
}
END_TEST

START_TEST(test_labels_tsv)
{
    make_tmpdir();
    const char *fa = put("r.fa", ">r1\nACGT\n>r2\nGG\n>r3\nTTT\n");
    const char *tsv = put("l.tsv", "# name\tlabel\nr2\tneg\r\n\nr1\tpos\nghost\tpos\nr3\tneg\n");
    char with[600];
    snprintf(with, sizeof with, "%s:other", fa);
    recur_dna_opts_t o = {.task = RECUR_TASK_CLASSIFY, .labels_tsv = tsv};
    recur_dna_set_t *s = read2(fa, NULL, &o);
    ck_assert_ptr_nonnull(s);
    /* classes in the TSV's order; one unused entry */
    ck_assert_uint_eq(s->ds->O, 2);
    ck_assert_str_eq(s->ds->classes[0], "neg");
    ck_assert_int_eq(s->ds->labels[0], 1);
    ck_assert_int_eq(s->ds->labels[1], 0);
    ck_assert_int_eq(s->ds->labels[2], 0);
    ck_assert_uint_eq(s->tsv_unused, 1);
    recur_dna_set_free(s);
    /* The TSV overrides FILE:LABEL; FILE:LABEL's label still comes first as a class. */
    s = read2(with, NULL, &o);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->ds->O, 3);
    ck_assert_str_eq(s->ds->classes[0], "other");
    ck_assert_int_eq(s->ds->labels[0], 2);
    recur_dna_set_free(s);
    /* Duplicate record names are an error with --labels, and fine without. */
    const char *dup = put("dup.fa", ">r1\nACGT\n>r1\nGG\n");
    ck_assert_ptr_null(read2(dup, NULL, &o));
    char dupl[600];
    snprintf(dupl, sizeof dupl, "%s:x", dup);
    char y[600];
    snprintf(y, sizeof y, "%s:y", fa);
    recur_dna_opts_t plain = {.task = RECUR_TASK_CLASSIFY};
    s = read2(dupl, y, &plain);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->ds->N, 5);
    recur_dna_set_free(s);
    /* A TSV listing a name twice, or with two labels for classify, is an error. */
    o.labels_tsv = put("twice.tsv", "r1\ta\nr1\tb\n");
    ck_assert_ptr_null(read2(fa, NULL, &o));
    o.labels_tsv = put("two.tsv", "r1\ta\tb\n");
    ck_assert_ptr_null(read2(fa, NULL, &o));
    remove_tmpdir();
}
END_TEST

START_TEST(test_labels_multilabel)
{
    make_tmpdir();
    const char *fa = put("r.fa", ">r1\nACGT\n>r2\nGG\n>r3\nTTT\n>r4\nA\n");
    const char *tsv = put("l.tsv", "r1\tb,a\nr2\tc\ta\nr3\n");
    char arg[600];
    snprintf(arg, sizeof arg, "%s:d", fa);
    recur_dna_opts_t o = {.task = RECUR_TASK_MULTILABEL, .labels_tsv = tsv};
    recur_dna_set_t *s = read2(arg, NULL, &o);
    ck_assert_ptr_nonnull(s);
    const recur_dataset_t *ds = s->ds;
    ck_assert_int_eq(ds->task, RECUR_TASK_MULTILABEL);
    ck_assert_uint_eq(ds->O, 4); /* d (FILE:LABEL), then the TSV's b, a, c */
    const char *names[4] = {"d", "b", "a", "c"};
    for (size_t k = 0; k < 4; k++)
        ck_assert_str_eq(ds->classes[k], names[k]);
    const float want[4][4] = {{0, 1, 1, 0}, {0, 0, 1, 1}, {0, 0, 0, 0}, {1, 0, 0, 0}};
    for (size_t i = 0; i < 4; i++)
        for (size_t k = 0; k < 4; k++) {
            ck_assert_float_eq(ds->targets[i * 4 + k], want[i][k]);
            ck_assert_int_eq(ds->target_mask[i * 4 + k], 1);
        }
    recur_dna_set_free(s);
    remove_tmpdir();
}
END_TEST

START_TEST(test_unlabelled_and_fixed_classes)
{
    make_tmpdir();
    const char *fa = put("r.fa", ">r1\nACGT\n>r2\nGG\n>r3\nTTT\n");
    const char *tsv = put("l.tsv", "r2\tpos\nr3\tneg\n");
    recur_dna_opts_t o = {.task = RECUR_TASK_CLASSIFY, .labels_tsv = tsv};
    ck_assert_ptr_null(read2(fa, NULL, &o)); /* r1 has no label */
    o.skip_unlabelled = true;
    recur_dna_set_t *s = read2(fa, NULL, &o);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->ds->N, 2);
    ck_assert_uint_eq(s->skipped, 1);
    ck_assert_str_eq(s->ds->names[0], "r2");
    recur_dna_set_free(s);
    /* Nothing labelled at all: an error even when skipping. */
    recur_dna_opts_t none = {.task = RECUR_TASK_CLASSIFY, .skip_unlabelled = true};
    ck_assert_ptr_null(read2(fa, NULL, &none));
    /* Fixed classes: their order, and a label outside them is an error. */
    const char *const cls[3] = {"x", "pos", "y"};
    recur_dna_opts_t fixed = {.task = RECUR_TASK_CLASSIFY, .classes = cls, .n_classes = 3};
    char arg[600];
    snprintf(arg, sizeof arg, "%s:pos", fa);
    s = read2(arg, NULL, &fixed);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->ds->O, 3);
    ck_assert_int_eq(s->ds->labels[0], 1);
    recur_dna_set_free(s);
    snprintf(arg, sizeof arg, "%s:neg", fa);
    ck_assert_ptr_null(read2(arg, NULL, &fixed));
    /* Ignored labels: none needed; rows get -1. */
    recur_dna_opts_t ign = {
        .task = RECUR_TASK_CLASSIFY, .ignore_labels = true, .classes = cls, .n_classes = 3};
    s = read2(arg, NULL, &ign);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->ds->labels[0], -1);
    recur_dna_set_free(s);
    remove_tmpdir();
}
END_TEST

START_TEST(test_bad_records)
{
    make_tmpdir();
    recur_dna_opts_t o = {.task = RECUR_TASK_CLASSIFY};
    char arg[600];
    snprintf(arg, sizeof arg, "%s:a", put("bad.fa", ">r1\nACGT\n>r2\nACJT\n"));
    ck_assert_ptr_null(read2(arg, NULL, &o));
    snprintf(arg, sizeof arg, "%s:a", put("dash.fa", ">r1\nAC-T\n"));
    ck_assert_ptr_null(read2(arg, NULL, &o));
    snprintf(arg, sizeof arg, "%s:a", put("ok.fa", ">r1\r\nAcgT\r\nnRY\r\n"));
    char arg2[600];
    snprintf(arg2, sizeof arg2, "%s:b", put("ok2.fa", ">r2\nA\n"));
    ck_assert_ptr_null(read2(arg, NULL, &o)); /* one class only */
    recur_dna_set_t *s = read2(arg, arg2, &o);
    ck_assert_ptr_nonnull(s); /* CRLF, lowercase and IUPAC accepted */
    ck_assert_uint_eq(recur_dataset_length(s->ds, 0), 7);
    recur_dna_set_free(s);
    recur_dna_opts_t m = {.task = RECUR_TASK_REGRESS};
    ck_assert_ptr_null(read2(arg, arg2, &m));
    remove_tmpdir();
}
END_TEST

START_TEST(test_windows_and_truncation)
{
    make_tmpdir();
    char seq[41] = {0};
    for (int i = 0; i < 40; i++)
        seq[i] = "ACGT"[i % 4];
    char text[256];
    snprintf(text, sizeof text, ">long\n%s\n>short\nGGG\n>exact\n%.16s\n", seq, seq);
    char arg[600];
    snprintf(arg, sizeof arg, "%s:a", put("w.fa", text));
    char other[600];
    snprintf(other, sizeof other, "%s:b", put("o.fa", ">o\nC\n"));
    recur_dna_opts_t o = {.task = RECUR_TASK_CLASSIFY, .max_len = 16, .windows = true};
    recur_dna_set_t *s = read2(arg, other, &o);
    ck_assert_ptr_nonnull(s);
    const recur_dataset_t *ds = s->ds;
    ck_assert_uint_eq(ds->N, 6);
    ck_assert_uint_eq(ds->T, 16);
    ck_assert_uint_eq(s->n_records, 4);
    ck_assert_uint_eq(s->tiled, 1);
    const char *names[5] = {"long:1-16", "long:17-32", "long:33-40", "short", "exact"};
    const size_t rec[5] = {0, 0, 0, 1, 2}, len[5] = {16, 16, 8, 3, 16};
    for (size_t i = 0; i < 5; i++) {
        ck_assert_str_eq(ds->names[i], names[i]);
        ck_assert_uint_eq(s->record[i], rec[i]);
        ck_assert_uint_eq(recur_dataset_length(ds, i), len[i]);
    }
    ck_assert_str_eq(s->record_names[0], "long");
    /* window 2 starts at base 33 (index 32): 'A' */
    ck_assert_float_eq(x_at(ds, 2, 0)[0], 1.0f);
    ck_assert_float_eq(x_at(ds, 1, 1)[1], 1.0f); /* base 18 = index 17: 'C' */
    /* The mean over windows per record. */
    double p[6 * 2] = {0.1, 0.9, 0.3, 0.7, 0.8, 0.2, 1, 0, 0.5, 0.5, 0, 1}, out[4 * 2];
    recur_dna_record_mean(s, p, 2, out);
    ck_assert_double_eq_tol(out[0], 0.4, 1e-15);
    ck_assert_double_eq_tol(out[1], 0.6, 1e-15);
    ck_assert_double_eq(out[2], 1.0);
    ck_assert_double_eq(out[4], 0.5);
    recur_dna_set_free(s);
    /* Truncation without windows. */
    o.windows = false;
    s = read2(arg, other, &o);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->ds->N, 4);
    ck_assert_uint_eq(s->truncated, 1);
    ck_assert_uint_eq(recur_dataset_length(s->ds, 0), 16);
    ck_assert_str_eq(s->ds->names[0], "long");
    recur_dna_set_free(s);
    remove_tmpdir();
}
END_TEST

START_TEST(test_split_stratified)
{
    /* 10 rows of class 0, 5 of class 1, 1 of class 2, interleaved. */
    recur_dataset_t *ds =
        recur_dataset_alloc(RECUR_TASK_CLASSIFY, RECUR_HEAD_SEQ, 16, 2, 4, 3, false);
    ck_assert_ptr_nonnull(ds);
    for (size_t i = 0; i < 16; i++)
        ds->labels[i] = i == 15 ? 2 : (i % 3 == 2 ? 1 : 0);
    size_t n0 = 0, n1 = 0;
    for (size_t i = 0; i < 16; i++)
        n0 += ds->labels[i] == 0, n1 += ds->labels[i] == 1;
    ck_assert_uint_eq(n0, 10);
    ck_assert_uint_eq(n1, 5);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    size_t tr[16], va[16], ntr, nva, tr2[16], va2[16], ntr2, nva2;
    gsl_rng_set(rng, 3);
    ck_assert_int_eq(recur_dna_split(ds, NULL, 0.2, rng, tr, &ntr, va, &nva), 0);
    /* round(0.2 * 10) = 2, round(0.2 * 5) = 1, round(0.2 * 1) = 0 */
    ck_assert_uint_eq(nva, 3);
    ck_assert_uint_eq(ntr, 13);
    size_t c[3] = {0};
    for (size_t i = 0; i < nva; i++)
        c[ds->labels[va[i]]]++;
    ck_assert_uint_eq(c[0], 2);
    ck_assert_uint_eq(c[1], 1);
    ck_assert_uint_eq(c[2], 0);
    /* disjoint, covering, increasing */
    unsigned char seen[16] = {0};
    for (size_t i = 0; i < ntr; i++)
        seen[tr[i]]++, ck_assert(i == 0 || tr[i] > tr[i - 1]);
    for (size_t i = 0; i < nva; i++)
        seen[va[i]]++, ck_assert(i == 0 || va[i] > va[i - 1]);
    for (size_t i = 0; i < 16; i++)
        ck_assert_int_eq(seen[i], 1);
    /* the same seed, the same split */
    gsl_rng_set(rng, 3);
    ck_assert_int_eq(recur_dna_split(ds, NULL, 0.2, rng, tr2, &ntr2, va2, &nva2), 0);
    ck_assert_uint_eq(nva2, nva);
    ck_assert_mem_eq(va, va2, nva * sizeof *va);
    /* at least one row of a class stays in training */
    ck_assert_int_eq(recur_dna_split(ds, NULL, 0.9, rng, tr, &ntr, va, &nva), 0);
    ck_assert_uint_eq(nva, 9 + 4);
    /* fraction 0: no validation */
    ck_assert_int_eq(recur_dna_split(ds, NULL, 0.0, rng, tr, &ntr, va, &nva), 0);
    ck_assert_uint_eq(nva, 0);
    ck_assert_uint_eq(ntr, 16);
    /* groups stay together: rows 2k and 2k+1 form a group */
    size_t group[16];
    for (size_t i = 0; i < 16; i++) {
        group[i] = i / 2;
        ds->labels[i] = (int32_t)((i / 2) % 2);
    }
    ck_assert_int_eq(recur_dna_split(ds, group, 0.5, rng, tr, &ntr, va, &nva), 0);
    ck_assert_uint_eq(nva, 8); /* 2 of 4 groups per class, 2 rows each */
    for (size_t i = 0; i < nva; i++) {
        bool partner = false;
        for (size_t j = 0; j < nva; j++)
            partner |= group[va[j]] == group[va[i]] && va[j] != va[i];
        ck_assert(partner);
    }
    gsl_rng_free(rng);
    recur_dataset_free(ds);
}
END_TEST

/* ---- against PyTorch ----------------------------------------------------------------------------
 */

/* tmpdir/reads.bam and its index, from the fixture's SAM text (htslib, as samtools view -b). */
static void make_bam(const char *sam, char *bam, size_t n)
{
    snprintf(bam, n, "%s/reads.bam", tmpdir);
    samFile *in = sam_open(sam, "r"), *out = sam_open(bam, "wb");
    ck_assert(in && out);
    sam_hdr_t *h = sam_hdr_read(in);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(sam_hdr_write(out, h), 0);
    bam1_t *b = bam_init1();
    int r;
    while ((r = sam_read1(in, h, b)) >= 0)
        ck_assert_int_ge(sam_write1(out, h, b), 0);
    ck_assert_int_eq(r, -1);
    bam_destroy1(b);
    sam_hdr_destroy(h);
    ck_assert_int_eq(sam_close(in), 0);
    ck_assert_int_eq(sam_close(out), 0);
    ck_assert_int_eq(sam_index_build(bam, 0), 0);
}

START_TEST(test_predict_matches_torch)
{
    make_tmpdir();
    const char *fx = test_fixture_dir(), *R = recur_bin();
    char path[512], ref[512], bam[512], out[512];
    table_t want, got;
    snprintf(path, sizeof path, "%s/dna_expected.tsv", fx);
    read_table(path, 1, &want);
    ck_assert_uint_eq(want.rows, 14);
    ck_assert_uint_eq(want.cols, 12);
    /* The reference is copied: its .fai is built beside it. */
    snprintf(ref, sizeof ref, "%s/ref.fa", tmpdir);
    ck_assert_int_eq(run("cp '%s/dna_ref.fa' '%s'", fx, ref), 0);
    snprintf(path, sizeof path, "%s/dna_reads.sam", fx);
    make_bam(path, bam, sizeof bam);
    snprintf(out, sizeof out, "%s/p.tsv", tmpdir);
    const struct {
        const char *model, *input, *extra, *what;
        size_t col;
    } cases[] = {
        {"dna_model.h5", "--fasta @/dna_records.fa", "", "FASTA", 0},
        {"dna_model.h5", "--bed @/dna_records.bed --ref REF", "", "BED", 0},
        {"dna_model.h5", "--bam BAM", "", "BAM", 0},
        {"dna_model.h5", "--bam BAM --region chrA", "-@ 2", "BAM region", 0},
        {"dna_model.h5", "--fasta @/dna_records.fa", "--revcomp-average", "FASTA strands", 3},
        {"dna_model.h5", "--bed @/dna_records.bed --ref REF", "--revcomp-average", "BED strands",
         3},
        {"dna_model.h5", "--bam BAM", "--revcomp-average", "BAM strands", 3},
        {"dna_model_rc.h5", "--fasta @/dna_records.fa", "", "model trained with --revcomp", 3},
        {"dna_model_rc.h5", "--fasta @/dna_records.fa", "--no-revcomp-average", "forced off", 0},
        {"dna_model.h5", "--fasta @/dna_records.fa", "--max-len 16 --windows --batch-size 3",
         "windows", 6},
        {"dna_model.h5", "--bam BAM", "--max-len 16 --windows", "BAM windows", 6},
        {"dna_model.h5", "--fasta @/dna_records.fa", "--max-len 16", "truncated", 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char input[1024] = "";
        for (const char *s = cases[i].input; *s; s++) {
            size_t n = strlen(input);
            if (*s == '@')
                snprintf(input + n, sizeof input - n, "%s", fx);
            else if (strncmp(s, "REF", 3) == 0)
                snprintf(input + n, sizeof input - n, "%s", ref), s += 2;
            else if (strncmp(s, "BAM", 3) == 0)
                snprintf(input + n, sizeof input - n, "%s", bam), s += 2;
            else
                input[n] = *s, input[n + 1] = '\0';
        }
        const int st = run("%s predict -q -m '%s/%s' %s %s -o '%s'", R, fx, cases[i].model, input,
                           cases[i].extra, out);
        ck_assert_msg(st == 0, "%s: exit %d", cases[i].what, st);
        read_table(out, 2, &got);
        ck_assert_uint_eq(got.cols, 3);
        ck_assert_str_eq(got.head[0], "p_alpha");
        ck_assert_str_eq(got.head[2], "p_gamma");
        same_probs(&got, &want, cases[i].col, cases[i].what);
    }
    /* Input order: the FASTA's records in file order. */
    ck_assert_int_eq(run("%s predict -q -m '%s/dna_model.h5' --fasta '%s/dna_records.fa' -o '%s'",
                         R, fx, fx, out),
                     0);
    read_table(out, 2, &got);
    for (size_t i = 0; i < want.rows; i++)
        ck_assert_str_eq(got.name[i], want.name[i]);
    remove_tmpdir();
}
END_TEST

/* The same through the library: FASTA records, recur_infer_records. */
START_TEST(test_predict_library)
{
    const char *fx = test_fixture_dir();
    char path[512];
    table_t want;
    snprintf(path, sizeof path, "%s/dna_expected.tsv", fx);
    read_table(path, 1, &want);
    snprintf(path, sizeof path, "%s/dna_model.h5", fx);
    recur_model_t *m = recur_model_load(path);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(recur_dna_model_check(m, path), 0);
    snprintf(path, sizeof path, "%s/dna_records.fa", fx);
    recur_dna_input_t in = {RECUR_DNA_FASTA, path};
    size_t nc;
    const char *const *cls = recur_model_strings(m, "classes", &nc);
    ck_assert_uint_eq(nc, 3);
    recur_dna_opts_t o = {.task = RECUR_TASK_CLASSIFY,
                          .ignore_labels = true,
                          .classes = cls,
                          .n_classes = nc,
                          .max_len = 16,
                          .windows = true};
    recur_dna_set_t *s = recur_dna_read(&in, 1, &o);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->n_records, 14);
    double p[14 * 3];
    ck_assert_int_eq(
        recur_infer_records(recur_model_config(m), recur_model_params_const(m), s, 4, false, p), 0);
    for (size_t i = 0; i < 14; i++)
        for (size_t k = 0; k < 3; k++)
            ck_assert_double_eq_tol(p[i * 3 + k], want.v[i][6 + k], 1e-5);
    recur_dna_set_free(s);
    recur_model_free(m);
}
END_TEST

START_TEST(test_sgd_step_matches_torch)
{
    make_tmpdir();
    const char *fx = test_fixture_dir();
    char out[512];
    snprintf(out, sizeof out, "%s/sgd.h5", tmpdir);
    const int st = run("%s train -q --init '%s/dna_sgd_init.h5' --fasta '%s/dna_sgd_pos.fa:pos' "
                       "--fasta '%s/dna_sgd_neg.fa:neg' --optimizer sgd --lr 0.1 --momentum 0 "
                       "--weight-decay 0 --clip 0 --val-fraction 0 --no-shuffle --epochs 1 "
                       "--batch-size 12 -o '%s'",
                       recur_bin(), fx, fx, fx, out);
    ck_assert_int_eq(st, 0);
    static const char *const names[] = {"head.bias",        "head.weight",
                                        "rnn.bias_hh_l0",   "rnn.bias_hh_l0_reverse",
                                        "rnn.bias_ih_l0",   "rnn.bias_ih_l0_reverse",
                                        "rnn.weight_hh_l0", "rnn.weight_hh_l0_reverse",
                                        "rnn.weight_ih_l0", "rnn.weight_ih_l0_reverse"};
    char want_path[512];
    snprintf(want_path, sizeof want_path, "%s/dna_sgd_expected.h5", fx);
    char init_path[512];
    snprintf(init_path, sizeof init_path, "%s/dna_sgd_init.h5", fx);
    double moved = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char ds[128];
        snprintf(ds, sizeof ds, "weights/%s", names[i]);
        size_t d1[4], d2[4], d3[4], r1, r2, r3;
        double *got = test_h5_read(out, ds, d1, &r1), *want = test_h5_read(want_path, ds, d2, &r2);
        double *init = test_h5_read(init_path, ds, d3, &r3);
        ck_assert_msg(got && want && init, "%s missing", ds);
        ck_assert_uint_eq(r1, r2);
        size_t n = 1;
        for (size_t k = 0; k < r1; k++) {
            ck_assert_uint_eq(d1[k], d2[k]);
            n *= d1[k];
        }
        for (size_t j = 0; j < n; j++) {
            ck_assert_msg(fabs(got[j] - want[j]) <= 1e-5, "%s[%zu]: %.9g, torch %.9g", names[i], j,
                          got[j], want[j]);
            moved = fmax(moved, fabs(want[j] - init[j]));
        }
        free(got);
        free(want);
        free(init);
    }
    ck_assert(moved > 1e-3); /* the step is large enough for the comparison to mean something */
    remove_tmpdir();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dna");
    TCase *tc = tcase_create("encode");
    tcase_add_test(tc, test_encode_closed_form);
    tcase_add_test(tc, test_revcomp_batch);
    suite_add_tcase(s, tc);
    tc = tcase_create("records");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_labels_first_appearance);
    tcase_add_test(tc, test_labels_tsv);
    tcase_add_test(tc, test_labels_multilabel);
    tcase_add_test(tc, test_unlabelled_and_fixed_classes);
    tcase_add_test(tc, test_bad_records);
    tcase_add_test(tc, test_windows_and_truncation);
    tcase_add_test(tc, test_split_stratified);
    suite_add_tcase(s, tc);
    tc = tcase_create("torch");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_predict_library);
    tcase_add_test(tc, test_predict_matches_torch);
    tcase_add_test(tc, test_sgd_step_matches_torch);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
