/* use.c - one parser for the commands that run a model on data (eval, predict, encode,
 * diagnose), the restated-option check against the model, and the DNA records read with the
 * model's encoding (use.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "use.h"

#define MAX_OPTS 128

const char recur_cli_use_help[] =
    "  -@, --threads N         OpenBLAS and htslib decompression threads (default 1)\n"
    "  --seed N                accepted for uniformity (nothing random here)\n"
    "  -q, --quiet             no information lines on stderr\n"
    "  -h, --help              this text\n";

void recur_cli_use_init(recur_cli_use_t *u, size_t batch_size)
{
    memset(u, 0, sizeof *u);
    recur_cli_inputs_init(&u->in);
    recur_cli_series_init(&u->src);
    u->threads = 1;
    u->batch_size = batch_size;
    u->split = RECUR_SPLIT_TEST;
    u->rc_avg = -1;
}

void recur_cli_use_free(recur_cli_use_t *u)
{
    recur_cli_inputs_free(&u->in);
    recur_cli_series_release(&u->src);
}

/* The shared options of a command that uses a model. */
static const struct option shared[] = {
    RECUR_CLI_INPUT_LONGOPTS,
    RECUR_CLI_SERIES_LONGOPTS,
    RECUR_CLI_ENCODING_LONGOPTS,
    RECUR_CLI_ARCH_LONGOPTS,
    {"model", required_argument, NULL, 'm'},
    {"output", required_argument, NULL, 'o'},
    {"threads", required_argument, NULL, '@'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"batch-size", required_argument, NULL, RECUR_CLI_USE_BATCH},
    {"seed", required_argument, NULL, RECUR_CLI_USE_SEED},
    {"split", required_argument, NULL, RECUR_CLI_USE_SPLIT},
    {"revcomp-average", no_argument, NULL, RECUR_CLI_USE_RC_AVG},
    {"no-revcomp-average", no_argument, NULL, RECUR_CLI_USE_NO_RC_AVG},
};
enum { N_SHARED = sizeof shared / sizeof *shared };

/* The data the shared option `code` applies to. */
static unsigned shared_kinds(int code)
{
    if ((code >= RECUR_CLI_IN_FASTA && code <= RECUR_CLI_IN_DATA) || code == RECUR_CLI_USE_RC_AVG ||
        code == RECUR_CLI_USE_NO_RC_AVG)
        return RECUR_CLI_USE_DNA;
    if ((code > RECUR_CLI_S_H5 && code <= RECUR_CLI_S_MISSING_IND) || code == RECUR_CLI_USE_SPLIT)
        return RECUR_CLI_USE_H5;
    return RECUR_CLI_USE_ANY;
}

/* The long name of option code in opts. */
static const char *long_name(const struct option *opts, int code)
{
    for (const struct option *l = opts; l->name; l++)
        if (l->val == code)
            return l->name;
    return "?";
}

/* Applies one shared option: 1 handled, 0 not shared, < 0 bad value (logged). */
static int shared_option(recur_cli_use_t *u, int c, const char *arg)
{
    int r = recur_cli_input_option(c, arg, &u->in);
    if (r == 0)
        r = recur_cli_series_option(c, arg, &u->src);
    if (r == 0 && (r = recur_cli_arch_option(c, arg, &u->arch, &u->init)) > 0)
        u->arch_given |= 1u << (c - RECUR_CLI_CELL);
    if (r != 0)
        return r < 0 ? RECUR_EINVAL : 1;
    int bad = 0;
    switch (c) {
    case 'm':
        u->model = arg;
        break;
    case 'o':
        u->out = arg;
        break;
    case '@':
        bad = recur_cli_size("-@", arg, 1, 1024, &u->threads);
        break;
    case 'q':
        u->quiet = true;
        break;
    case RECUR_CLI_USE_BATCH:
        bad = recur_cli_size("--batch-size", arg, 1, 1000000, &u->batch_size);
        u->batch_given = true;
        break;
    case RECUR_CLI_USE_SEED:
        bad = recur_cli_ulong("--seed", arg, &u->seed);
        break;
    case RECUR_CLI_USE_RC_AVG:
    case RECUR_CLI_USE_NO_RC_AVG:
        u->rc_avg = c == RECUR_CLI_USE_RC_AVG;
        break;
    case RECUR_CLI_USE_SPLIT:
        u->split_given = true;
        if (recur_split_parse(arg, &u->split) != 0) {
            recur_error("--split: expected train, val, test or all, got '%s'", arg);
            bad = 1;
        }
        break;
    default:
        return 0;
    }
    return bad ? RECUR_EINVAL : 1;
}

/* The checks of the parsed options together. NULL, or the reason. */
static const char *check(const recur_cli_use_t *u, const recur_cli_use_cmd_t *cmd)
{
    const bool h5 = recur_cli_use_h5(u);
    if (h5 && (u->in.n_in || u->in.data))
        return "--h5 and DNA inputs or --data exclude each other";
    if (!u->model && !cmd->model_optional)
        return "missing -m MODEL";
    if (!h5 && !u->in.data && !u->in.n_in && !cmd->inputs_optional)
        return "missing input: --fasta, --bed, --bam, --data or --h5";
    if (u->in.data && strcmp(u->in.data, "-") == 0)
        return "--data: the dataset cannot be read from standard input (HDF5 needs a file)";
    if (u->model && strcmp(u->model, "-") == 0)
        return "-m: the model cannot be read from standard input (HDF5 needs a file)";
    if (h5)
        return recur_cli_series_check(&u->src, !u->model);
    return NULL;
}

int recur_cli_use_parse(recur_cli_use_t *u, const recur_cli_use_cmd_t *cmd, int argc, char *argv[])
{
    struct option longopts[MAX_OPTS + 1];
    size_t n = 0;
    for (size_t i = 0; i < N_SHARED; i++) {
        const int v = shared[i].val;
        if ((cmd->batch || v != RECUR_CLI_USE_BATCH) &&
            (cmd->strands || (v != RECUR_CLI_USE_RC_AVG && v != RECUR_CLI_USE_NO_RC_AVG)))
            longopts[n++] = shared[i];
    }
    for (size_t i = 0; i < cmd->n_opts && n < MAX_OPTS; i++)
        longopts[n++] =
            (struct option){cmd->opts[i].name, cmd->opts[i].has_arg, NULL, cmd->opts[i].code};
    longopts[n] = (struct option){NULL, 0, NULL, 0};
    const char *misfit[2] = {NULL, NULL}; /* an option for DNA data, one for series */
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":m:o:@:qh", longopts, NULL)) != -1) {
        if (c == 'h') {
            cmd->usage(stdout, recur_cli_series_requested(argc, argv));
            printf("\n%s", recur_cli_contract_help);
            return 1;
        }
        if (c == '?' || c == ':') {
            recur_cli_bad_option(c, argv);
            return RECUR_EINVAL;
        }
        unsigned k = shared_kinds(c);
        int r = shared_option(u, c, optarg);
        if (r == 0) {
            for (size_t i = 0; i < cmd->n_opts; i++)
                if (cmd->opts[i].code == c)
                    k = cmd->opts[i].kinds;
            r = cmd->option(cmd->ctx, c, optarg) < 0 ? RECUR_EINVAL : 1;
        }
        if (r < 0)
            return RECUR_EINVAL;
        if (k != RECUR_CLI_USE_ANY && !misfit[k - 1])
            misfit[k - 1] = long_name(longopts, c);
    }
    if (optind < argc) {
        recur_error("unexpected argument '%s' (see 'recur %s --help')", argv[optind], cmd->name);
        return RECUR_EINVAL;
    }
    const bool h5 = recur_cli_use_h5(u);
    const char *why = check(u, cmd);
    if (!why && h5 && misfit[RECUR_CLI_USE_DNA - 1]) {
        recur_error("option '--%s' does not apply to %s with --h5 (see 'recur %s --help')",
                    misfit[RECUR_CLI_USE_DNA - 1], cmd->name, cmd->name);
        return RECUR_EINVAL;
    }
    if (!why && !h5 && misfit[RECUR_CLI_USE_H5 - 1]) {
        recur_error("option '--%s' needs --h5 (series); see 'recur %s --h5 FILE --help'",
                    misfit[RECUR_CLI_USE_H5 - 1], cmd->name);
        return RECUR_EINVAL;
    }
    const uint32_t restating = u->arch_given & ~cmd->arch_choices;
    if (!why && !u->model && restating) {
        int code = RECUR_CLI_CELL;
        while (!((restating >> (code - RECUR_CLI_CELL)) & 1u))
            code++;
        recur_error("option '--%s' restates the model's architecture: it needs -m MODEL (see "
                    "'recur %s --help')",
                    long_name(longopts, code), cmd->name);
        return RECUR_EINVAL;
    }
    if (why) {
        recur_error("%s (see 'recur %s --help')", why, cmd->name);
        return RECUR_EINVAL;
    }
    return h5 ? 0 : recur_cli_inputs_check(&u->in);
}

int recur_cli_use_restated(const recur_cli_use_t *u, const recur_model_t *m, const char *mpath)
{
    if (recur_cli_arch_restated(u->arch_given, recur_cli_arch_fixed, RECUR_CLI_ARCH_FIXED_N,
                                &u->arch, recur_model_config(m), "the model's") != 0)
        return RECUR_EINVAL;
    if (recur_cli_init_only(u->arch_given, mpath) != 0)
        return RECUR_EINVAL;
    if (recur_cli_use_h5(u) && u->src.given)
        return recur_cli_series_restated(&u->src, m, mpath, "the model's");
    return 0;
}

recur_model_t *recur_cli_use_model(const recur_cli_use_t *u, int *status)
{
    *status = RECUR_EXIT_ERROR;
    recur_model_t *m = recur_model_load(u->model);
    if (!m)
        return NULL;
    const int rc = recur_cli_use_restated(u, m, u->model);
    if (rc == 0 && (!u->in.n_in || recur_dna_model_check(m, u->model) == 0))
        return m;
    if (rc == RECUR_EINVAL)
        *status = RECUR_EXIT_USAGE;
    recur_model_free(m);
    return NULL;
}

bool recur_cli_use_strands(const recur_cli_use_t *u, const recur_model_t *m)
{
    if (u->rc_avg >= 0)
        return u->rc_avg == 1;
    recur_dna_encoding_t enc;
    recur_dna_model_encoding(m, &enc);
    return enc.revcomp;
}

void recur_cli_use_free_names(char **names, size_t n)
{
    if (names)
        for (size_t k = 0; k < n; k++)
            free(names[k]);
    free(names);
}

const char *const *recur_cli_use_classes(const recur_model_t *m, char ***owned)
{
    const size_t O = recur_model_config(m)->num_outputs;
    size_t nc = 0;
    const char *const *classes = recur_model_strings(m, "classes", &nc);
    *owned = NULL;
    if (classes && nc == O)
        return classes;
    char **names = calloc(O ? O : 1, sizeof *names);
    for (size_t k = 0; names && k < O; k++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%zu", k);
        if (!(names[k] = strdup(buf))) {
            recur_cli_use_free_names(names, O);
            names = NULL;
        }
    }
    if (!names) {
        recur_error("out of memory");
        return NULL;
    }
    *owned = names;
    return (const char *const *)names;
}

int recur_cli_use_dna(const recur_cli_use_t *u, const recur_model_t *m, const char *const *classes,
                      size_t nc, bool ignore_labels, recur_dna_set_t **set)
{
    recur_dna_encoding_t enc;
    recur_dna_model_encoding(m, &enc);
    recur_dna_opts_t d = u->in.dna;
    d.task = recur_model_config(m)->task;
    d.ignore_labels = ignore_labels;
    d.classes = classes;
    d.n_classes = nc;
    d.seq.threads = u->threads > 1 ? (int)u->threads : 0;
    if (!recur_cli_input_given(&u->in, RECUR_CLI_IN_MAX_LEN))
        d.max_len = enc.max_len;
    if (!recur_cli_input_given(&u->in, RECUR_CLI_IN_WINDOWS))
        d.windows = enc.windows;
    if (!recur_cli_input_given(&u->in, RECUR_CLI_IN_N_ZERO))
        d.n_zero = enc.n_zero;
    if (d.windows && !d.max_len) {
        recur_error("--windows needs --max-len N (the model has no window length)");
        return RECUR_EINVAL;
    }
    if (!(*set = recur_dna_read(u->in.in, u->in.n_in, &d)))
        return RECUR_EFORMAT;
    const recur_dna_set_t *s = *set;
    if (s->skipped)
        recur_info("skipped %zu records without a label", s->skipped);
    if (s->tiled)
        recur_info("%zu records longer than %zu bases: windows averaged", s->tiled, d.max_len);
    if (s->truncated)
        recur_info("%zu records truncated to %zu bases", s->truncated, d.max_len);
    if (s->filtered)
        recur_info("%llu reads passed over by the filters", (unsigned long long)s->filtered);
    return 0;
}
