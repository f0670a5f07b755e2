/* dna.c - DNA records to a labelled, encoded dataset (include/recur/dna.h): one-hot encoding,
 * truncation or windows, labels from FILE:LABEL / a TSV / a BED column / a BAM tag with classes
 * in order of first appearance; reverse complement of encoded batches; validation splits. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include <recur/dna.h>

#define NAME_MAX_LEN 4096 /* a FILE:LABEL argument's file part */

/* ---- Encoding ----------------------------------------------------------------------------- */

enum { CODE_AMBIG = 4, CODE_BAD = 255 };

/* Channel of each character: 0..3 for A, C, G, T (U = T), CODE_AMBIG for the other IUPAC
 * codes, CODE_BAD for anything else. */
static unsigned char code_of(unsigned char c)
{
    switch (c) {
    case 'A':
    case 'a':
        return 0;
    case 'C':
    case 'c':
        return 1;
    case 'G':
    case 'g':
        return 2;
    case 'T':
    case 't':
    case 'U':
    case 'u':
        return 3;
    case 'N':
    case 'n':
    case 'R':
    case 'r':
    case 'Y':
    case 'y':
    case 'S':
    case 's':
    case 'W':
    case 'w':
    case 'K':
    case 'k':
    case 'M':
    case 'm':
    case 'B':
    case 'b':
    case 'D':
    case 'd':
    case 'H':
    case 'h':
    case 'V':
    case 'v':
        return CODE_AMBIG;
    default:
        return CODE_BAD;
    }
}

size_t recur_dna_encode(const char *seq, size_t len, bool n_zero, float *x)
{
    const float amb = n_zero ? 0.0f : 0.25f;
    for (size_t t = 0; t < len; t++) {
        const unsigned char c = code_of((unsigned char)seq[t]);
        float *xt = x + t * RECUR_DNA_CHANNELS; /* (4) */
        if (c == CODE_BAD)
            return t;
        if (c == CODE_AMBIG) {
            xt[0] = xt[1] = xt[2] = xt[3] = amb;
        } else {
            xt[0] = xt[1] = xt[2] = xt[3] = 0.0f;
            xt[c] = 1.0f;
        }
    }
    return len;
}

/* ---- A string -> index map (open addressing, FNV-1a) -------------------------------------- */

typedef struct {
    const char **key; /* (cap) borrowed strings, NULL = empty slot */
    size_t *val;      /* (cap) */
    size_t n, cap;
} strmap_t;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void strmap_free(strmap_t *m)
{
    free(m->key);
    free(m->val);
    *m = (strmap_t){0};
}

/* Slot of key: where it is, or the empty slot where it would go. */
static size_t strmap_slot(const strmap_t *m, const char *key)
{
    size_t i = (size_t)fnv1a(key) & (m->cap - 1);
    while (m->key[i] && strcmp(m->key[i], key) != 0)
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* Value of key, or SIZE_MAX when absent. */
static size_t strmap_get(const strmap_t *m, const char *key)
{
    if (!m->cap)
        return SIZE_MAX;
    const size_t i = strmap_slot(m, key);
    return m->key[i] ? m->val[i] : SIZE_MAX;
}

/* Inserts key -> val (key must stay valid). 0, or RECUR_ENOMEM. */
static int strmap_put(strmap_t *m, const char *key, size_t val)
{
    if (2 * (m->n + 1) > m->cap) {
        strmap_t g = {.cap = m->cap ? 2 * m->cap : 64};
        g.key = calloc(g.cap, sizeof *g.key);
        g.val = malloc(g.cap * sizeof *g.val);
        if (!g.key || !g.val) {
            strmap_free(&g);
            return RECUR_ENOMEM;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->key[i]) {
                const size_t j = strmap_slot(&g, m->key[i]);
                g.key[j] = m->key[i];
                g.val[j] = m->val[i];
                g.n++;
            }
        strmap_free(m);
        *m = g;
    }
    const size_t i = strmap_slot(m, key);
    if (!m->key[i]) {
        m->key[i] = key;
        m->n++;
    }
    m->val[i] = val;
    return 0;
}

/* ---- Growable arrays ----------------------------------------------------------------------- */

/* Makes room for `more` elements of size `size` beyond *n in *p (capacity *cap). */
static int grow(void **p, size_t *cap, size_t n, size_t more, size_t size)
{
    if (n + more <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16, bytes;
    while (c < n + more)
        c *= 2;
    if (!recur_mul_ok(c, size, &bytes))
        return RECUR_ENOMEM;
    void *q = realloc(*p, bytes);
    if (!q)
        return RECUR_ENOMEM;
    *p = q;
    *cap = c;
    return 0;
}

/* ---- The builder --------------------------------------------------------------------------- */

typedef struct {
    const char *line_name; /* points into the TSV text */
    size_t first, count;   /* labels: tsv_labels[first .. first + count - 1] */
    bool used;
} tsv_entry_t;

/* One record read: its name (owned), sequence and labels. */
typedef struct {
    char *name;
    size_t seq_off, seq_len; /* into builder_t.seqs */
    size_t lab_off, lab_n;   /* class indices in builder_t.labs */
    bool has_label;
} rec_t;

typedef struct {
    const recur_dna_opts_t *o;
    bool multi;
    /* classes */
    char **classes; /* (n_classes) owned */
    size_t n_classes, cap_classes;
    strmap_t class_map;
    bool fixed; /* classes given by the caller */
    /* the labels TSV */
    char *tsv_text;
    tsv_entry_t *tsv;
    size_t n_tsv, cap_tsv;
    const char **tsv_labels; /* point into tsv_text */
    size_t n_tsv_labels, cap_tsv_labels;
    strmap_t tsv_map;
    /* records */
    rec_t *rec; /* (n_rec) */
    size_t n_rec, cap_rec;
    char *seqs;
    size_t n_seqs, cap_seqs;
    int32_t *labs; /* class indices */
    size_t n_labs, cap_labs;
    strmap_t rec_map; /* record names, when they must be unique */
    /* counts */
    size_t skipped, truncated;
    uint64_t filtered;
} builder_t;

static void builder_free(builder_t *b)
{
    for (size_t i = 0; i < b->n_classes; i++)
        free(b->classes[i]);
    free(b->classes);
    strmap_free(&b->class_map);
    free(b->tsv_text);
    free(b->tsv);
    free(b->tsv_labels);
    strmap_free(&b->tsv_map);
    for (size_t i = 0; i < b->n_rec; i++)
        free(b->rec[i].name);
    free(b->rec);
    free(b->seqs);
    free(b->labs);
    strmap_free(&b->rec_map);
}

static int nomem(void)
{
    recur_error("out of memory");
    return RECUR_ENOMEM;
}

/* Index of class `name` (len bytes), added at the end when new and the classes are not fixed.
 * *out gets SIZE_MAX when the classes are fixed and name is not one of them. */
static int class_index(builder_t *b, const char *name, size_t len, size_t *out)
{
    char buf[1024];
    if (len >= sizeof buf) {
        recur_error("label '%.40s...' is longer than %zu characters", name, sizeof buf - 1);
        return RECUR_EINVAL;
    }
    memcpy(buf, name, len);
    buf[len] = '\0';
    *out = strmap_get(&b->class_map, buf);
    if (*out != SIZE_MAX || b->fixed)
        return 0;
    if (grow((void **)&b->classes, &b->cap_classes, b->n_classes, 1, sizeof *b->classes) != 0)
        return nomem();
    char *copy = strdup(buf);
    if (!copy)
        return nomem();
    b->classes[b->n_classes] = copy;
    if (strmap_put(&b->class_map, copy, b->n_classes) != 0) {
        free(copy);
        return nomem();
    }
    *out = b->n_classes++;
    return 0;
}

/* Calls class_index for each label of s: the whole string (classify) or its ','-separated
 * parts (multilabel; empty parts ignored). Appends the indices to b->labs when `append`.
 * *unknown gets the first label outside fixed classes (a pointer into s, length *unknown_len),
 * or NULL. */
static int labels_of(builder_t *b, const char *s, size_t len, bool append, const char **unknown,
                     size_t *unknown_len)
{
    *unknown = NULL;
    const char *end = s + len;
    while (s < end) {
        const char *q = b->multi ? memchr(s, ',', (size_t)(end - s)) : NULL;
        const char *e = q ? q : end;
        if (e > s) {
            size_t k;
            int rc = class_index(b, s, (size_t)(e - s), &k);
            if (rc != 0)
                return rc;
            if (k == SIZE_MAX) {
                if (!*unknown) {
                    *unknown = s;
                    *unknown_len = (size_t)(e - s);
                }
            } else if (append) {
                if (grow((void **)&b->labs, &b->cap_labs, b->n_labs, 1, sizeof *b->labs) != 0)
                    return nomem();
                b->labs[b->n_labs++] = (int32_t)k;
            }
        }
        s = q ? q + 1 : end;
    }
    return 0;
}

/* Reads the --labels TSV into b->tsv (names unique) and registers its labels as classes in
 * file order. */
static int read_tsv(builder_t *b, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        recur_error("%s: cannot open: %s", path, strerror(errno));
        return RECUR_EIO;
    }
    size_t cap = 0, n = 0;
    int rc = 0;
    for (;;) {
        if (grow((void **)&b->tsv_text, &cap, n, 65536 + 1, 1) != 0) {
            rc = nomem();
            break;
        }
        const size_t got = fread(b->tsv_text + n, 1, 65536, fp);
        n += got;
        if (got < 65536)
            break;
    }
    if (rc == 0 && ferror(fp)) {
        recur_error("%s: cannot read: %s", path, strerror(errno));
        rc = RECUR_EIO;
    }
    fclose(fp);
    if (rc != 0)
        return rc;
    b->tsv_text[n] = '\0';
    if (memchr(b->tsv_text, '\0', n)) {
        recur_error("%s: not a text file (contains a NUL byte)", path);
        return RECUR_EFORMAT;
    }
    char *s = b->tsv_text;
    for (size_t line = 1; *s; line++) {
        char *nl = strchr(s, '\n');
        char *next = nl ? nl + 1 : s + strlen(s);
        if (nl)
            *nl = '\0';
        size_t len = strlen(s);
        if (len && s[len - 1] == '\r')
            s[--len] = '\0';
        if (len == 0 || s[0] == '#') {
            s = next;
            continue;
        }
        char *tab = strchr(s, '\t');
        if (tab)
            *tab = '\0';
        if (!*s) {
            recur_error("%s: line %zu: empty record name", path, line);
            return RECUR_EFORMAT;
        }
        if (strmap_get(&b->tsv_map, s) != SIZE_MAX) {
            recur_error("%s: line %zu: record '%s' is listed twice", path, line, s);
            return RECUR_EFORMAT;
        }
        if (grow((void **)&b->tsv, &b->cap_tsv, b->n_tsv, 1, sizeof *b->tsv) != 0)
            return nomem();
        tsv_entry_t *e = &b->tsv[b->n_tsv];
        *e = (tsv_entry_t){.line_name = s, .first = b->n_tsv_labels};
        /* Label fields: the rest of the line split at tabs (and, multilabel, at commas). */
        for (char *f = tab ? tab + 1 : NULL; f;) {
            char *t = strchr(f, '\t');
            if (t)
                *t = '\0';
            if (*f) {
                if (grow((void **)&b->tsv_labels, &b->cap_tsv_labels, b->n_tsv_labels, 1,
                         sizeof *b->tsv_labels) != 0)
                    return nomem();
                b->tsv_labels[b->n_tsv_labels++] = f;
                e->count++;
            }
            f = t ? t + 1 : NULL;
        }
        if (!b->multi && e->count != 1) {
            recur_error("%s: line %zu: record '%s' has %zu labels; one is needed (several are "
                        "for --task multilabel)",
                        path, line, s, e->count);
            return RECUR_EFORMAT;
        }
        for (size_t i = 0; i < e->count; i++) {
            const char *lab = b->tsv_labels[e->first + i], *unknown;
            size_t ulen;
            if ((rc = labels_of(b, lab, strlen(lab), false, &unknown, &ulen)) != 0)
                return rc;
        }
        if (strmap_put(&b->tsv_map, s, b->n_tsv) != 0)
            return nomem();
        b->n_tsv++;
        s = next;
    }
    return 0;
}

/* Appends a record with its sequence and labels. lab_src is the label string from the input
 * (or NULL); file names it in messages. */
static int add_record(builder_t *b, const char *file, const recur_seqrec_t *r)
{
    const recur_dna_opts_t *o = b->o;
    const char *name = r->name ? r->name : "";
    if (r->len == 0) {
        recur_error("%s: record '%s' has no sequence", file, name);
        return RECUR_EFORMAT;
    }
    /* Labels: the TSV's entry for the record, else the input's label. */
    const size_t lab_first = b->n_labs;
    bool has = false;
    if (!o->ignore_labels) {
        const size_t te = b->n_tsv ? strmap_get(&b->tsv_map, name) : SIZE_MAX;
        const char *unknown = NULL;
        size_t ulen = 0;
        int rc = 0;
        if (te != SIZE_MAX) {
            tsv_entry_t *e = &b->tsv[te];
            e->used = true;
            has = true;
            for (size_t i = 0; i < e->count && !unknown && rc == 0; i++) {
                const char *lab = b->tsv_labels[e->first + i];
                rc = labels_of(b, lab, strlen(lab), true, &unknown, &ulen);
            }
        } else if (r->label && *r->label) {
            has = true;
            rc = labels_of(b, r->label, strlen(r->label), true, &unknown, &ulen);
        }
        if (rc != 0)
            return rc;
        if (unknown) {
            char list[256] = "";
            size_t n = 0;
            for (size_t k = 0; k < b->n_classes && n + 1 < sizeof list; k++) {
                const int w =
                    snprintf(list + n, sizeof list - n, "%s%s", k ? ", " : "", b->classes[k]);
                n += w > 0 ? (size_t)w : 0;
            }
            recur_error("%s: record '%s': label '%.*s' is not one of the classes (%s)", file, name,
                        (int)ulen, unknown, list);
            return RECUR_EINVAL;
        }
        if (has && !b->multi && b->n_labs - lab_first != 1) {
            recur_error("%s: record '%s' has no label", file, name);
            return RECUR_EFORMAT;
        }
        if (!has) {
            if (o->skip_unlabelled) {
                b->skipped++;
                return 0;
            }
            recur_error("%s: record '%s' has no label (give FILE:LABEL, --labels, or "
                        "--skip-unlabelled)",
                        file, name);
            return RECUR_EINVAL;
        }
    }
    /* Sequence: every character a nucleotide code. */
    float probe[RECUR_DNA_CHANNELS * 64];
    for (size_t at = 0; at < r->len; at += 64) {
        const size_t m = r->len - at < 64 ? r->len - at : 64;
        const size_t ok = recur_dna_encode(r->seq + at, m, false, probe);
        if (ok < m) {
            const unsigned char c = (unsigned char)r->seq[at + ok];
            if (c > 0x20 && c < 0x7f)
                recur_error("%s: record '%s': '%c' at position %zu is not a nucleotide code", file,
                            name, c, at + ok + 1);
            else
                recur_error("%s: record '%s': byte 0x%02x at position %zu is not a nucleotide "
                            "code",
                            file, name, c, at + ok + 1);
            return RECUR_EFORMAT;
        }
    }
    size_t len = r->len;
    if (o->max_len && !o->windows && len > o->max_len) {
        len = o->max_len;
        b->truncated++;
    }
    if (grow((void **)&b->rec, &b->cap_rec, b->n_rec, 1, sizeof *b->rec) != 0 ||
        grow((void **)&b->seqs, &b->cap_seqs, b->n_seqs, len, 1) != 0)
        return nomem();
    char *copy = strdup(name);
    if (!copy)
        return nomem();
    /* Names must be unique when a TSV maps names to labels. */
    if (o->labels_tsv && !o->ignore_labels) {
        if (strmap_get(&b->rec_map, copy) != SIZE_MAX) {
            recur_error("%s: record '%s': duplicate record name (names must be unique with "
                        "--labels)",
                        file, name);
            free(copy);
            return RECUR_EFORMAT;
        }
        if (strmap_put(&b->rec_map, copy, b->n_rec) != 0) {
            free(copy);
            return nomem();
        }
    }
    memcpy(b->seqs + b->n_seqs, r->seq, len);
    b->rec[b->n_rec++] = (rec_t){.name = copy,
                                 .seq_off = b->n_seqs,
                                 .seq_len = len,
                                 .lab_off = lab_first,
                                 .lab_n = b->n_labs - lab_first,
                                 .has_label = has};
    b->n_seqs += len;
    return 0;
}

static const char *kind_name(recur_dna_kind_t k)
{
    return k == RECUR_DNA_FASTA ? "--fasta" : k == RECUR_DNA_BED ? "--bed" : "--bam";
}

/* Reads every record of one input. */
static int read_input(builder_t *b, const recur_dna_input_t *in)
{
    char file[NAME_MAX_LEN];
    const char *label = NULL;
    if (recur_split_file_label(in->arg, file, sizeof file, &label) != 0) {
        recur_error("%s: file name too long: '%.60s...'", kind_name(in->kind), in->arg);
        return RECUR_EINVAL;
    }
    recur_seqopts_t so = b->o->seq;
    so.label = b->o->ignore_labels ? NULL : label;
    if (b->o->ignore_labels) {
        so.label_column = 0;
        so.label_tag = NULL;
    }
    recur_seqreader_t *r = in->kind == RECUR_DNA_FASTA ? recur_seqreader_fasta(file, &so)
                           : in->kind == RECUR_DNA_BED ? recur_seqreader_bed(file, &so)
                                                       : recur_seqreader_bam(file, &so);
    if (!r)
        return RECUR_EIO;
    int rc = 0, got;
    recur_seqrec_t rec;
    while ((got = recur_seqreader_next(r, &rec)) >= 0)
        if ((rc = add_record(b, file, &rec)) != 0)
            break;
    if (rc == 0 && got < -1)
        rc = RECUR_EFORMAT; /* logged by the reader */
    b->filtered += recur_seqreader_filtered(r);
    recur_seqreader_close(r);
    return rc;
}

void recur_dna_set_free(recur_dna_set_t *s)
{
    if (!s)
        return;
    recur_dataset_free(s->ds);
    free(s->record);
    if (s->record_names)
        for (size_t i = 0; i < s->n_records; i++)
            free(s->record_names[i]);
    free(s->record_names);
    free(s);
}

/* Row name "name:start-end" (1-based, inclusive). */
static char *window_name(const char *name, size_t start, size_t end)
{
    const int n = snprintf(NULL, 0, "%s:%zu-%zu", name, start + 1, end);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        snprintf(s, (size_t)n + 1, "%s:%zu-%zu", name, start + 1, end);
    return s;
}

/* The dataset from the records read. */
static recur_dna_set_t *build(builder_t *b)
{
    const recur_dna_opts_t *o = b->o;
    const size_t W = o->windows && o->max_len ? o->max_len : 0;
    size_t N = 0, T = 1;
    for (size_t i = 0; i < b->n_rec; i++) {
        const size_t len = b->rec[i].seq_len;
        const size_t rows = W ? (len + W - 1) / W : 1;
        N += rows;
        const size_t t = W && len > W ? W : len;
        T = t > T ? t : T;
    }
    const size_t K = b->n_classes;
    recur_dna_set_t *s = calloc(1, sizeof *s);
    if (!s) {
        nomem();
        return NULL;
    }
    s->skipped = b->skipped;
    s->truncated = b->truncated;
    s->filtered = b->filtered;
    for (size_t i = 0; i < b->n_tsv; i++)
        s->tsv_unused += !b->tsv[i].used;
    if (!(s->ds = recur_dataset_alloc(o->task, RECUR_HEAD_SEQ, N, T, RECUR_DNA_CHANNELS, K ? K : 1,
                                      o->task == RECUR_TASK_MULTILABEL))) {
        if (T > 100000 && !o->max_len)
            recur_error("hint: records of up to %zu bases are padded to the longest; --max-len N "
                        "truncates them, --max-len N --windows tiles them",
                        T);
        goto fail;
    }
    recur_dataset_t *ds = s->ds;
    s->record = malloc(N * sizeof *s->record);
    ds->names = calloc(N, sizeof *ds->names);
    ds->classes = calloc(K ? K : 1, sizeof *ds->classes);
    if (!s->record || !ds->names || !ds->classes) {
        nomem();
        goto fail;
    }
    for (size_t k = 0; k < K; k++)
        if (!(ds->classes[k] = strdup(b->classes[k]))) {
            nomem();
            goto fail;
        }
    if (K == 0 && !(ds->classes[0] = strdup("none"))) { /* no labels (ignore_labels) */
        nomem();
        goto fail;
    }
    size_t row = 0;
    for (size_t i = 0; i < b->n_rec; i++) {
        const size_t len = b->rec[i].seq_len;
        const size_t rows = W ? (len + W - 1) / W : 1;
        for (size_t w = 0; w < rows; w++, row++) {
            const size_t start = W ? w * W : 0;
            const size_t end = W && start + W < len ? start + W : len;
            s->record[row] = i;
            ds->names[row] =
                rows > 1 ? window_name(b->rec[i].name, start, end) : strdup(b->rec[i].name);
            if (!ds->names[row]) {
                nomem();
                goto fail;
            }
            float *x = ds->x + row * T * RECUR_DNA_CHANNELS; /* (T, 4) */
            (void)recur_dna_encode(b->seqs + b->rec[i].seq_off + start, end - start, o->n_zero, x);
            memset(ds->mask + row * T, 1, end - start);
            s->bases += end - start;
            const rec_t *rc = &b->rec[i];
            const int32_t *lab = b->labs + rc->lab_off;
            if (o->task == RECUR_TASK_CLASSIFY) {
                ds->labels[row] = rc->has_label ? lab[0] : -1;
            } else {
                float *t = ds->targets + row * ds->O;              /* (O) */
                unsigned char *pm = ds->target_mask + row * ds->O; /* (O) */
                memset(pm, rc->has_label ? 1 : 0, ds->O);
                for (size_t j = 0; j < rc->lab_n; j++)
                    t[lab[j]] = 1.0f;
            }
        }
        s->tiled += rows > 1;
    }
    if (!(s->record_names = malloc(b->n_rec * sizeof *s->record_names))) {
        nomem();
        goto fail;
    }
    for (size_t i = 0; i < b->n_rec; i++) { /* moved */
        s->record_names[i] = b->rec[i].name;
        b->rec[i].name = NULL;
    }
    s->n_records = b->n_rec;
    return s;
fail:
    recur_dna_set_free(s);
    return NULL;
}

recur_dna_set_t *recur_dna_read(const recur_dna_input_t *in, size_t n_in, const recur_dna_opts_t *o)
{
    builder_t b = {.o = o, .multi = o->task == RECUR_TASK_MULTILABEL};
    recur_dna_set_t *s = NULL;
    if (o->task != RECUR_TASK_CLASSIFY && o->task != RECUR_TASK_MULTILABEL) {
        recur_error("DNA records are classified (task classify or multilabel), not %s",
                    recur_task_name(o->task));
        goto out;
    }
    if (n_in == 0) {
        recur_error("no input (--fasta, --bed or --bam)");
        goto out;
    }
    if (o->classes) {
        for (size_t k = 0; k < o->n_classes; k++) {
            size_t idx;
            if (class_index(&b, o->classes[k], strlen(o->classes[k]), &idx) != 0)
                goto out;
        }
        b.fixed = true;
    }
    if (!o->ignore_labels && !b.fixed) {
        /* FILE:LABEL labels first, in command-line order. */
        for (size_t i = 0; i < n_in; i++) {
            char file[NAME_MAX_LEN];
            const char *label = NULL, *unknown;
            size_t ulen;
            if (recur_split_file_label(in[i].arg, file, sizeof file, &label) == 0 && label &&
                labels_of(&b, label, strlen(label), false, &unknown, &ulen) != 0)
                goto out;
        }
    }
    if (o->labels_tsv && !o->ignore_labels && read_tsv(&b, o->labels_tsv) != 0)
        goto out;
    for (size_t i = 0; i < n_in; i++)
        if (read_input(&b, &in[i]) != 0)
            goto out;
    if (b.n_rec == 0) {
        char files[512] = "";
        size_t n = 0;
        for (size_t i = 0; i < n_in && n + 1 < sizeof files; i++) {
            const int w = snprintf(files + n, sizeof files - n, "%s%s", i ? ", " : "", in[i].arg);
            n += w > 0 ? (size_t)w : 0;
        }
        if (b.skipped)
            recur_error("%s: no labelled records (%zu without a label skipped)", files, b.skipped);
        else if (b.filtered)
            recur_error("%s: no records (%llu reads passed over by the filters)", files,
                        (unsigned long long)b.filtered);
        else
            recur_error("%s: no records", files);
        goto out;
    }
    if (o->task == RECUR_TASK_CLASSIFY && !o->ignore_labels && b.n_classes < 2) {
        recur_error("only one class ('%s') among the labels: a classifier needs two or more",
                    b.n_classes ? b.classes[0] : "");
        goto out;
    }
    s = build(&b);
out:
    builder_free(&b);
    return s;
}

void recur_dna_record_mean(const recur_dna_set_t *s, const double *p, size_t O, double *out)
{
    size_t *count = calloc(s->n_records ? s->n_records : 1, sizeof *count);
    memset(out, 0, s->n_records * O * sizeof *out);
    for (size_t r = 0; r < s->ds->N; r++) {
        const size_t i = s->record[r];
        for (size_t k = 0; k < O; k++)
            out[i * O + k] += p[r * O + k];
        if (count)
            count[i]++;
    }
    for (size_t i = 0; i < s->n_records; i++) {
        size_t c = 0;
        if (count)
            c = count[i];
        else /* out of memory: count the hard way */
            for (size_t r = 0; r < s->ds->N; r++)
                c += s->record[r] == i;
        for (size_t k = 0; k < O && c > 1; k++)
            out[i * O + k] /= (double)c;
    }
    free(count);
}

void recur_dna_revcomp_batch(recur_real *x, unsigned char *mask, size_t T, size_t B,
                             const unsigned char *flip)
{
    const size_t C = RECUR_DNA_CHANNELS;
    for (size_t b = 0; b < B; b++) {
        if (!flip[b])
            continue;
        size_t len = 0;
        for (size_t t = T; t > 0; t--)
            if (mask[(t - 1) * B + b]) {
                len = t;
                break;
            }
        for (size_t i = 0, j = len; i < j; i++) {
            j--;
            recur_real *xi = x + (i * B + b) * C, *xj = x + (j * B + b) * C; /* (4) each */
            /* the complement of step i goes to step j and the other way round */
            const recur_real a0 = xi[0], a1 = xi[1], a2 = xi[2], a3 = xi[3];
            xi[0] = xj[3], xi[1] = xj[2], xi[2] = xj[1], xi[3] = xj[0];
            xj[0] = a3, xj[1] = a2, xj[2] = a1, xj[3] = a0;
            const unsigned char m = mask[i * B + b];
            mask[i * B + b] = mask[j * B + b];
            mask[j * B + b] = m;
        }
    }
}

int recur_dna_split(const recur_dataset_t *ds, const size_t *group, double frac, gsl_rng *rng,
                    size_t *train, size_t *n_train, size_t *val, size_t *n_val)
{
    const size_t N = ds->N;
    const bool strat = ds->task == RECUR_TASK_CLASSIFY && ds->head == RECUR_HEAD_SEQ;
    const size_t S = strat ? ds->O + 1 : 1; /* strata; the last: no label */
    int rc = RECUR_ENOMEM;
    size_t *first = malloc((N ? N : 1) * sizeof *first);     /* (N) first row of each group */
    size_t *members = malloc((N ? N : 1) * sizeof *members); /* (N) groups by stratum */
    size_t *count = calloc(S + 1, sizeof *count);            /* (S + 1) offsets */
    unsigned char *is_val = calloc(N ? N : 1, 1);            /* (N) by group */
    if (!first || !members || !count || !is_val) {
        recur_error("split: out of memory");
        goto out;
    }
    for (size_t i = 0; i < N; i++)
        first[i] = SIZE_MAX;
    for (size_t r = 0; r < N; r++) {
        const size_t g = group ? group[r] : r;
        if (g < N && first[g] == SIZE_MAX)
            first[g] = r;
    }
    /* Stratum of a group: the class of its first row. */
#define STRATUM(r) (strat ? (ds->labels[r] >= 0 ? (size_t)ds->labels[r] : ds->O) : 0)
    for (size_t g = 0; g < N; g++)
        if (first[g] != SIZE_MAX)
            count[STRATUM(first[g]) + 1]++;
    for (size_t s = 0; s < S; s++)
        count[s + 1] += count[s];
    {
        size_t *fill = malloc((S ? S : 1) * sizeof *fill);
        if (!fill) {
            recur_error("split: out of memory");
            goto out;
        }
        memcpy(fill, count, S * sizeof *fill);
        for (size_t g = 0; g < N; g++)
            if (first[g] != SIZE_MAX)
                members[fill[STRATUM(first[g])]++] = g;
        free(fill);
    }
#undef STRATUM
    for (size_t s = 0; s < S; s++) {
        const size_t n = count[s + 1] - count[s];
        size_t nv = (size_t)floor(frac * (double)n + 0.5);
        if (nv >= n)
            nv = n ? n - 1 : 0;
        if (nv == 0)
            continue;
        gsl_ran_shuffle(rng, members + count[s], n, sizeof *members);
        for (size_t i = 0; i < nv; i++)
            is_val[members[count[s] + i]] = 1;
    }
    *n_train = *n_val = 0;
    for (size_t r = 0; r < N; r++) {
        const size_t g = group ? group[r] : r;
        if (g < N && is_val[g])
            val[(*n_val)++] = r;
        else
            train[(*n_train)++] = r;
    }
    rc = 0;
out:
    free(first);
    free(members);
    free(count);
    free(is_val);
    return rc;
}

void recur_dna_model_encoding(const recur_model_t *m, recur_dna_encoding_t *enc)
{
    *enc = (recur_dna_encoding_t){0};
    size_t n;
    const double *v;
    if ((v = recur_model_numbers(m, "dna_max_len", &n)) && n == 1 && v[0] >= 1 && v[0] < 1e15)
        enc->max_len = (size_t)v[0];
    if ((v = recur_model_numbers(m, "dna_windows", &n)) && n == 1)
        enc->windows = v[0] != 0 && enc->max_len;
    if ((v = recur_model_numbers(m, "dna_n_zero", &n)) && n == 1)
        enc->n_zero = v[0] != 0;
    if ((v = recur_model_numbers(m, "dna_revcomp", &n)) && n == 1)
        enc->revcomp = v[0] != 0;
}

int recur_dna_model_check(const recur_model_t *m, const char *path)
{
    const recur_config_t *c = recur_model_config(m);
    if (c->task == RECUR_TASK_REGRESS)
        recur_error("%s: a regress (forecasting) model; DNA records need a classify or "
                    "multilabel model",
                    path);
    else if (c->head != RECUR_HEAD_SEQ)
        recur_error("%s: a model with a per-step head; DNA records need one output per record "
                    "(--head seq)",
                    path);
    else if (c->input_size != RECUR_DNA_CHANNELS)
        recur_error("%s: the model takes %zu features per step; DNA one-hot has %d", path,
                    c->input_size, RECUR_DNA_CHANNELS);
    else
        return 0;
    return RECUR_EINVAL;
}
