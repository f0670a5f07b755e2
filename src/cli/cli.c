/* cli.c - option-parsing helpers for the command-line front ends: checked numbers, the shared
 * architecture options (--cell, --hidden, ...), the DNA input options (--fasta, --bam, ...)
 * and one-line usage errors. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <htslib/sam.h>

#include "cli.h"

/* Same limits as recur_config_validate(), checked here so that the message names the option. */
#define CLI_MAX_DIM ((size_t)1 << 20)

const char recur_cli_contract_help[] =
    "One contract for every command that reads data (train, eval, predict, encode,\n"
    "diagnose): the same inputs (--fasta, --bed --ref, --bam, --data, or --h5 with its\n"
    "options), and an option that restates what the model or the data fix - the\n"
    "architecture (--cell --hidden --layers --bidirectional --input --outputs --head --pool\n"
    "--task) and, with --h5, --vars, --target and the encoding (--window --horizon --stride\n"
    "--val-fraction --test-fraction --calendar --missing-indicators) - is accepted when it\n"
    "agrees and refused, exit 2, naming both values when it conflicts. Every output file is\n"
    "written under a temporary name and renamed when complete; a failed run leaves none.\n";

const char recur_cli_arch_help[] =
    "  --cell rnn|lstm|gru     recurrent cell\n"
    "  --hidden H              hidden units per layer and direction (1..65536)\n"
    "  --layers L              stacked layers (1..64)\n"
    "  --bidirectional         add a reverse direction to every layer\n"
    "  --unidirectional        no reverse direction (the default but for DNA classifiers)\n"
    "  --input I               input features per step\n"
    "  --outputs O             classes (classify), labels (multilabel) or targets (regress)\n"
    "  --head seq|step         one output per sequence, or one per valid step\n"
    "  --pool last|mean|max    sequence-head pooling over the valid steps\n"
    "  --task classify|multilabel|regress\n"
    "                          softmax cross-entropy, sigmoid BCE, or MSE\n"
    "  --orthogonal            orthogonal recurrent weights at initialisation\n"
    "  --forget-bias F         LSTM forget-gate (GRU update-gate) bias at initialisation\n"
    "                          (default 0)\n"
    "  --spectral-radius R     rescale each gate's recurrent (H, H) block to spectral\n"
    "                          radius R at initialisation (largest |eigenvalue|)\n";

int recur_cli_size(const char *name, const char *arg, size_t lo, size_t hi, size_t *out)
{
    const char *p = arg ? arg : "";
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p >= '0' && *p <= '9') {
        char *end;
        errno = 0;
        const unsigned long long v = strtoull(p, &end, 10);
        if (errno == 0 && *end == '\0' && v >= lo && v <= hi) {
            *out = (size_t)v;
            return 0;
        }
    }
    recur_error("%s: expected an integer in %zu..%zu, got '%s'", name, lo, hi, arg ? arg : "");
    return RECUR_EINVAL;
}

int recur_cli_ulong(const char *name, const char *arg, unsigned long *out)
{
    size_t v;
    if (recur_cli_size(name, arg, 0, ULONG_MAX < SIZE_MAX ? ULONG_MAX : SIZE_MAX, &v) != 0)
        return RECUR_EINVAL;
    *out = (unsigned long)v;
    return 0;
}

int recur_cli_double(const char *name, const char *arg, double lo, double hi, double *out)
{
    if (arg && *arg) {
        char *end;
        errno = 0;
        const double v = strtod(arg, &end);
        if (errno == 0 && *end == '\0' && isfinite(v) && v >= lo && v <= hi) {
            *out = v;
            return 0;
        }
    }
    recur_error("%s: expected a number in [%g, %g], got '%s'", name, lo, hi, arg ? arg : "");
    return RECUR_EINVAL;
}

/* Logs a bad enumerated value with the accepted names. */
static int bad_name(const char *opt, const char *arg, const char *names)
{
    recur_error("%s: expected %s, got '%s'", opt, names, arg ? arg : "");
    return RECUR_EINVAL;
}

/* recur_cli_arch_option()'s result for a parsed value: 1 when parsing succeeded. */
static int handled(int parse_rc)
{
    return parse_rc == 0 ? 1 : RECUR_EINVAL;
}

int recur_cli_arch_option(int code, const char *arg, recur_config_t *cfg, recur_init_t *init)
{
    switch (code) {
    case RECUR_CLI_CELL:
        if (recur_cell_parse(arg, &cfg->cell) != 0)
            return bad_name("--cell", arg, "rnn, lstm or gru");
        return 1;
    case RECUR_CLI_HIDDEN:
        return handled(recur_cli_size("--hidden", arg, 1, 65536, &cfg->hidden_size));
    case RECUR_CLI_LAYERS:
        return handled(recur_cli_size("--layers", arg, 1, 64, &cfg->num_layers));
    case RECUR_CLI_BIDIRECTIONAL:
    case RECUR_CLI_UNIDIRECTIONAL:
        cfg->bidirectional = code == RECUR_CLI_BIDIRECTIONAL;
        return 1;
    case RECUR_CLI_INPUT:
        return handled(recur_cli_size("--input", arg, 1, CLI_MAX_DIM, &cfg->input_size));
    case RECUR_CLI_OUTPUTS:
        return handled(recur_cli_size("--outputs", arg, 1, CLI_MAX_DIM, &cfg->num_outputs));
    case RECUR_CLI_HEAD:
        if (recur_head_parse(arg, &cfg->head) != 0)
            return bad_name("--head", arg, "seq or step");
        return 1;
    case RECUR_CLI_POOL:
        if (recur_pool_parse(arg, &cfg->pool) != 0)
            return bad_name("--pool", arg, "last, mean or max");
        return 1;
    case RECUR_CLI_TASK:
        if (recur_task_parse(arg, &cfg->task) != 0)
            return bad_name("--task", arg, "classify, multilabel or regress");
        return 1;
    case RECUR_CLI_ORTHOGONAL:
        init->orthogonal_hh = true;
        return 1;
    case RECUR_CLI_FORGET_BIAS:
        return handled(recur_cli_double("--forget-bias", arg, -1e3, 1e3, &init->forget_bias));
    case RECUR_CLI_SPECTRAL_RADIUS:
        return handled(
            recur_cli_double("--spectral-radius", arg, 1e-6, 1e3, &init->spectral_radius));
    default:
        return 0;
    }
}

/* ---- Restated options ---------------------------------------------------------------------- */

int recur_cli_restated(const char *opt, const char *given, const char *whose, const char *fixed)
{
    if (strcmp(given, fixed) == 0)
        return 0;
    recur_error("--%s %s conflicts with %s %s %s", opt, given, whose, opt, fixed);
    return RECUR_EINVAL;
}

/* The value architecture option `code` sets in c, as text. */
static void arch_field(int code, const recur_config_t *c, char *buf, size_t n)
{
    switch (code) {
    case RECUR_CLI_CELL:
        snprintf(buf, n, "%s", recur_cell_name(c->cell));
        break;
    case RECUR_CLI_HIDDEN:
        snprintf(buf, n, "%zu", c->hidden_size);
        break;
    case RECUR_CLI_LAYERS:
        snprintf(buf, n, "%zu", c->num_layers);
        break;
    case RECUR_CLI_BIDIRECTIONAL:
        snprintf(buf, n, "%s", c->bidirectional ? "yes" : "no");
        break;
    case RECUR_CLI_INPUT:
        snprintf(buf, n, "%zu", c->input_size);
        break;
    case RECUR_CLI_OUTPUTS:
        snprintf(buf, n, "%zu", c->num_outputs);
        break;
    case RECUR_CLI_HEAD:
        snprintf(buf, n, "%s", recur_head_name(c->head));
        break;
    case RECUR_CLI_POOL:
        snprintf(buf, n, "%s", recur_pool_name(c->pool));
        break;
    default:
        snprintf(buf, n, "%s", recur_task_name(c->task));
    }
}

int recur_cli_arch_restated(uint32_t given, const int *codes, size_t n, const recur_config_t *cfg,
                            const recur_config_t *fixed, const char *whose)
{
    static const char *const names[] = {"cell",    "hidden", "layers", "bidirectional", "input",
                                        "outputs", "head",   "pool",   "task"};
    if ((given >> (RECUR_CLI_UNIDIRECTIONAL - RECUR_CLI_CELL)) & 1u) /* restates the directions */
        given |= 1u << (RECUR_CLI_BIDIRECTIONAL - RECUR_CLI_CELL);
    for (size_t i = 0; i < n; i++) {
        const int c = codes[i];
        if (c < RECUR_CLI_CELL || c > RECUR_CLI_TASK || !((given >> (c - RECUR_CLI_CELL)) & 1u))
            continue;
        char a[64], b[64];
        arch_field(c, cfg, a, sizeof a);
        arch_field(c, fixed, b, sizeof b);
        if (strcmp(a, b) == 0)
            continue;
        if (c != RECUR_CLI_BIDIRECTIONAL)
            return recur_cli_restated(names[c - RECUR_CLI_CELL], a, whose, b);
        recur_error("--%s conflicts with %s %s layers",
                    cfg->bidirectional ? "bidirectional" : "unidirectional", whose,
                    fixed->bidirectional ? "bidirectional" : "unidirectional");
        return RECUR_EINVAL;
    }
    return 0;
}

int recur_cli_init_only(uint32_t given, const char *model)
{
    static const struct {
        int code;
        const char *name;
    } init_only[] = {{RECUR_CLI_ORTHOGONAL, "--orthogonal"},
                     {RECUR_CLI_FORGET_BIAS, "--forget-bias"},
                     {RECUR_CLI_SPECTRAL_RADIUS, "--spectral-radius"}};
    for (size_t i = 0; i < sizeof init_only / sizeof *init_only; i++)
        if ((given >> (init_only[i].code - RECUR_CLI_CELL)) & 1u) {
            recur_error("%s: acts when weights are initialised; the weights come from %s",
                        init_only[i].name, model);
            return RECUR_EINVAL;
        }
    return 0;
}

const int recur_cli_arch_fixed[RECUR_CLI_ARCH_FIXED_N] = {
    RECUR_CLI_CELL, RECUR_CLI_HIDDEN, RECUR_CLI_LAYERS,  RECUR_CLI_BIDIRECTIONAL, RECUR_CLI_HEAD,
    RECUR_CLI_POOL, RECUR_CLI_INPUT,  RECUR_CLI_OUTPUTS, RECUR_CLI_TASK};

void recur_cli_bad_option(int c, char *const argv[])
{
    char opt[64];
    if (optopt > 0 && optopt < 256)
        snprintf(opt, sizeof opt, "-%c", optopt);
    else if (optind > 0 && argv[optind - 1])
        snprintf(opt, sizeof opt, "%s", argv[optind - 1]);
    else
        snprintf(opt, sizeof opt, "?");
    const char *cmd = argv[0] ? argv[0] : "";
    if (c == ':')
        recur_error("option '%s' needs an argument (see 'recur %s --help')", opt, cmd);
    else if (optopt >= 256)
        recur_error("option '%s' takes no argument (see 'recur %s --help')", opt, cmd);
    else
        recur_error("unknown option '%s' (see 'recur %s --help')", opt, cmd);
}

char *recur_cli_join(char *buf, size_t size, int argc, char *const argv[])
{
    size_t n = 0;
    if (size == 0)
        return buf;
    buf[0] = '\0';
    for (int i = 0; i < argc && n + 1 < size; i++) {
        int w = snprintf(buf + n, size - n, "%s%s", i ? " " : "", argv[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    return buf;
}

/* ---- DNA input options ------------------------------------------------------------------- */

const char recur_cli_input_help[] =
    "  --fasta FILE[:LABEL]    FASTA or FASTQ (plain, gzip or bgzip; - = stdin); every record\n"
    "                          labelled LABEL (repeatable; inputs are read in order)\n"
    "  --bed FILE[:LABEL]      BED intervals cut from --ref (strand-aware: '-' reverse-\n"
    "                          complemented); label LABEL or from --label-column\n"
    "  --bam FILE[:LABEL]      SAM/BAM/CRAM reads (reverse-strand reads restored to their\n"
    "                          original orientation); label LABEL or from --label-tag\n"
    "  --ref FASTA             indexed reference (faidx; bgzip needs .gzi) for --bed and CRAM\n"
    "  --label-column N        BED column (1-based) holding the label\n"
    "  --flank N               bases added on both sides of each BED interval\n"
    "  --region STR            only reads overlapping STR (samtools syntax; needs an index)\n"
    "  --min-mapq N            only reads with MAPQ >= N\n"
    "  --require-flags FLAGS   only reads with all FLAGS (as samtools -f: number or names)\n"
    "  --exclude-flags FLAGS   no reads with any of FLAGS (samtools -F; default\n"
    "                          UNMAP,SECONDARY,QCFAIL,DUP,SUPPLEMENTARY)\n"
    "  --label-tag TAG         read label from aux tag TAG (e.g. RG)\n"
    "  --labels TSV            name<TAB>label lines (several labels, by further columns or\n"
    "                          commas, for multilabel); overrides the inputs' labels; record\n"
    "                          names must then be unique\n"
    "  --skip-unlabelled       skip records without a label (counted) instead of failing\n"
    "  --max-len N             truncate records to N bases ...\n"
    "  --windows               ... or, with --max-len, tile them into windows of N bases\n"
    "                          (rows named name:start-end, 1-based)\n"
    "  --n-zero                encode N and other ambiguity codes as all-zero (default: 0.25\n"
    "                          in each of the channels A, C, G, T)\n"
    "  --data FILE             an encoded dataset (recur encode, or h5py) instead of the above\n";

const char recur_cli_val_help[] =
    "  --val-fasta FILE[:LABEL], --val-bed FILE[:LABEL], --val-bam FILE[:LABEL]\n"
    "                          validation records, read like the training inputs (same\n"
    "                          options), in place of a split (repeatable)\n"
    "  --val-data FILE         an encoded validation dataset\n";

void recur_cli_inputs_init(recur_cli_inputs_t *in)
{
    *in = (recur_cli_inputs_t){0};
    in->dna.task = RECUR_TASK_CLASSIFY;
    in->dna.seq.exclude_flags = RECUR_SEQIO_DEFAULT_EXCLUDE;
}

void recur_cli_inputs_free(recur_cli_inputs_t *in)
{
    free(in->in);
    free(in->val);
    in->in = in->val = NULL;
    in->n_in = in->n_val = in->cap_in = in->cap_val = 0;
}

/* Appends an input to *v. */
static int push_input(recur_dna_input_t **v, size_t *n, size_t *cap, recur_dna_kind_t kind,
                      const char *arg)
{
    if (!arg || !*arg) {
        recur_error("an input option needs a file name");
        return RECUR_EINVAL;
    }
    if (*n == *cap) {
        const size_t c = *cap ? 2 * *cap : 8;
        recur_dna_input_t *p = realloc(*v, c * sizeof *p);
        if (!p) {
            recur_error("out of memory");
            return RECUR_ENOMEM;
        }
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = (recur_dna_input_t){kind, arg};
    return 1;
}

/* SAM flags as samtools takes them: a number (decimal, 0x hex, 0 octal) or names. */
static int parse_flags(const char *opt, const char *arg, uint32_t *out)
{
    const int f = arg && *arg ? bam_str2flag(arg) : -1;
    if (f < 0 || f > 0xffff) {
        recur_error("%s: expected SAM flags (a number or names such as UNMAP,DUP), got '%s'", opt,
                    arg ? arg : "");
        return RECUR_EINVAL;
    }
    *out = (uint32_t)f;
    return 1;
}

int recur_cli_input_option(int code, const char *arg, recur_cli_inputs_t *in)
{
    if (code < RECUR_CLI_IN_FASTA || code > RECUR_CLI_IN_VAL_DATA)
        return 0;
    in->given |= 1u << (code - RECUR_CLI_IN_FASTA);
    recur_dna_opts_t *d = &in->dna;
    size_t v;
    switch (code) {
    case RECUR_CLI_IN_FASTA:
        return push_input(&in->in, &in->n_in, &in->cap_in, RECUR_DNA_FASTA, arg);
    case RECUR_CLI_IN_BAM:
        return push_input(&in->in, &in->n_in, &in->cap_in, RECUR_DNA_BAM, arg);
    case RECUR_CLI_IN_BED:
        return push_input(&in->in, &in->n_in, &in->cap_in, RECUR_DNA_BED, arg);
    case RECUR_CLI_IN_VAL_FASTA:
        return push_input(&in->val, &in->n_val, &in->cap_val, RECUR_DNA_FASTA, arg);
    case RECUR_CLI_IN_VAL_BAM:
        return push_input(&in->val, &in->n_val, &in->cap_val, RECUR_DNA_BAM, arg);
    case RECUR_CLI_IN_VAL_BED:
        return push_input(&in->val, &in->n_val, &in->cap_val, RECUR_DNA_BED, arg);
    case RECUR_CLI_IN_REF:
        d->seq.ref = arg;
        return 1;
    case RECUR_CLI_IN_LABEL_COLUMN:
        if (recur_cli_size("--label-column", arg, 1, 1000, &v) != 0)
            return RECUR_EINVAL;
        d->seq.label_column = (int)v;
        return 1;
    case RECUR_CLI_IN_FLANK:
        return handled(recur_cli_size("--flank", arg, 0, 100000000, &d->seq.flank));
    case RECUR_CLI_IN_REGION:
        d->seq.region = arg;
        return 1;
    case RECUR_CLI_IN_MIN_MAPQ:
        if (recur_cli_size("--min-mapq", arg, 0, 255, &v) != 0)
            return RECUR_EINVAL;
        d->seq.min_mapq = (int)v;
        return 1;
    case RECUR_CLI_IN_REQUIRE_FLAGS:
        return parse_flags("--require-flags", arg, &d->seq.require_flags);
    case RECUR_CLI_IN_EXCLUDE_FLAGS:
        return parse_flags("--exclude-flags", arg, &d->seq.exclude_flags);
    case RECUR_CLI_IN_LABEL_TAG:
        if (!arg || strlen(arg) != 2) {
            recur_error("--label-tag: expected a two-character SAM tag such as RG, got '%s'",
                        arg ? arg : "");
            return RECUR_EINVAL;
        }
        d->seq.label_tag = arg;
        return 1;
    case RECUR_CLI_IN_LABELS:
        d->labels_tsv = arg;
        return 1;
    case RECUR_CLI_IN_SKIP_UNLABELLED:
        d->skip_unlabelled = true;
        return 1;
    case RECUR_CLI_IN_MAX_LEN:
        return handled(recur_cli_size("--max-len", arg, 1, 100000000, &d->max_len));
    case RECUR_CLI_IN_WINDOWS:
        d->windows = true;
        return 1;
    case RECUR_CLI_IN_N_ZERO:
        d->n_zero = true;
        return 1;
    case RECUR_CLI_IN_DATA:
        in->data = arg;
        return 1;
    case RECUR_CLI_IN_VAL_DATA:
        in->val_data = arg;
        return 1;
    default:
        return 0;
    }
}

int recur_cli_inputs_check(const recur_cli_inputs_t *in)
{
    size_t n_bed = 0, n_bam = 0;
    for (size_t i = 0; i < in->n_in; i++) {
        n_bed += in->in[i].kind == RECUR_DNA_BED;
        n_bam += in->in[i].kind == RECUR_DNA_BAM;
    }
    for (size_t i = 0; i < in->n_val; i++) {
        n_bed += in->val[i].kind == RECUR_DNA_BED;
        n_bam += in->val[i].kind == RECUR_DNA_BAM;
    }
    static const struct {
        int code;
        const char *name;
    } raw_only[] = {{RECUR_CLI_IN_LABELS, "--labels"},
                    {RECUR_CLI_IN_SKIP_UNLABELLED, "--skip-unlabelled"},
                    {RECUR_CLI_IN_MAX_LEN, "--max-len"},
                    {RECUR_CLI_IN_WINDOWS, "--windows"},
                    {RECUR_CLI_IN_N_ZERO, "--n-zero"}},
      bam_only[] = {{RECUR_CLI_IN_REGION, "--region"},
                    {RECUR_CLI_IN_MIN_MAPQ, "--min-mapq"},
                    {RECUR_CLI_IN_REQUIRE_FLAGS, "--require-flags"},
                    {RECUR_CLI_IN_EXCLUDE_FLAGS, "--exclude-flags"},
                    {RECUR_CLI_IN_LABEL_TAG, "--label-tag"}},
      bed_only[] = {{RECUR_CLI_IN_LABEL_COLUMN, "--label-column"}, {RECUR_CLI_IN_FLANK, "--flank"}};
    const char *why = NULL, *opt = NULL;
    if (in->data && in->n_in)
        why = "--data and raw inputs (--fasta, --bed, --bam) exclude each other";
    else if (in->val_data && in->n_val)
        why = "--val-data and --val-fasta/--val-bed/--val-bam exclude each other";
    else if (n_bed && !in->dna.seq.ref)
        why = "--bed needs --ref FASTA (the reference the intervals are cut from)";
    if (!why && !in->n_in && !in->n_val)
        for (size_t i = 0; i < sizeof raw_only / sizeof raw_only[0]; i++)
            if (recur_cli_input_given(in, raw_only[i].code))
                opt = raw_only[i].name, why = "applies to raw inputs (--fasta, --bed, --bam)";
    if (!why && !n_bam)
        for (size_t i = 0; i < sizeof bam_only / sizeof bam_only[0]; i++)
            if (recur_cli_input_given(in, bam_only[i].code))
                opt = bam_only[i].name, why = "applies to --bam inputs only";
    if (!why && !n_bed)
        for (size_t i = 0; i < sizeof bed_only / sizeof bed_only[0]; i++)
            if (recur_cli_input_given(in, bed_only[i].code))
                opt = bed_only[i].name, why = "applies to --bed inputs only";
    if (!why)
        return 0;
    if (opt)
        recur_error("%s: %s", opt, why);
    else
        recur_error("%s", why);
    return RECUR_EINVAL;
}

/* Splits the comma-separated list arg into tok[0 .. max-1] (pointers into buf, of size n);
 * returns how many, or 0 on an empty, too long or too large list (logged). */
static size_t split_list(const char *opt, const char *arg, char *buf, size_t n, char **tok,
                         size_t max)
{
    size_t k = 0;
    if (snprintf(buf, n, "%s", arg ? arg : "") >= (int)n) {
        recur_error("%s: list too long", opt);
        return 0;
    }
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (k == max) {
            recur_error("%s: at most %zu values", opt, max);
            return 0;
        }
        tok[k++] = t;
    }
    if (k == 0)
        recur_error("%s: expected a comma-separated list, got '%s'", opt, arg ? arg : "");
    return k;
}

enum { LIST_MAX = 256 };

size_t recur_cli_size_list(const char *opt, const char *arg, size_t lo, size_t hi, size_t *v,
                           size_t max)
{
    char buf[1024], *tok[LIST_MAX];
    const size_t k = split_list(opt, arg, buf, sizeof buf, tok, max < LIST_MAX ? max : LIST_MAX);
    for (size_t i = 0; i < k; i++)
        if (recur_cli_size(opt, tok[i], lo, hi, &v[i]) != 0)
            return 0;
    return k;
}

size_t recur_cli_double_list(const char *opt, const char *arg, double lo, double hi, double *v,
                             size_t max)
{
    char buf[1024], *tok[LIST_MAX];
    const size_t k = split_list(opt, arg, buf, sizeof buf, tok, max < LIST_MAX ? max : LIST_MAX);
    for (size_t i = 0; i < k; i++)
        if (recur_cli_double(opt, tok[i], lo, hi, &v[i]) != 0)
            return 0;
    return k;
}

FILE *recur_cli_out_open(const char *path, recur_outfile_t *of)
{
    *of = (recur_outfile_t){0};
    if (!path)
        return stdout;
    if (recur_outfile_begin(of, path) != 0)
        return NULL;
    FILE *fp = recur_outfile_stream(of);
    if (!fp)
        recur_outfile_abort(of);
    return fp;
}

int recur_cli_out_finish(FILE *fp, recur_outfile_t *of, int rc)
{
    if (!fp)
        return rc;
    if (fp == stdout) {
        if (ferror(stdout) && rc == RECUR_EXIT_OK) {
            recur_error("error writing standard output");
            rc = RECUR_EXIT_ERROR;
        }
        return rc; /* closed, and checked, by main() */
    }
    if (rc != RECUR_EXIT_OK) {
        recur_outfile_abort(of);
        return rc;
    }
    return recur_outfile_commit(of) == 0 ? RECUR_EXIT_OK : RECUR_EXIT_ERROR;
}

/* Refuses an output path whose directory cannot take the file, before any work. */
int recur_cli_check_output(const char *out)
{
    char *copy = strdup(out);
    if (!copy) {
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    const char *dir = dirname(copy);
    struct stat st;
    int rc = 0;
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
        recur_error("%s: is a directory", out);
        rc = RECUR_EIO;
    } else if (access(dir, W_OK | X_OK) != 0) {
        recur_error("%s: cannot write in directory '%s': %s", out, dir, strerror(errno));
        rc = RECUR_EIO;
    }
    free(copy);
    return rc;
}

char *recur_cli_command_line(char *buf, size_t size, int argc, char *const argv[])
{
    snprintf(buf, size, "recur ");
    recur_cli_join(buf + 6, size - 6, argc, argv);
    return buf;
}
