/* cli.c - option-parsing helpers for the command-line front ends: checked numbers, the shared
 * architecture options (--cell, --hidden, ...) and one-line usage errors. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur/cli.h>

/* Same limits as recur_config_validate(), checked here so that the message names the option. */
#define CLI_MAX_DIM ((size_t)1 << 20)

const char recur_cli_arch_help[] =
    "  --cell rnn|lstm|gru     recurrent cell\n"
    "  --hidden H              hidden units per layer and direction (1..65536)\n"
    "  --layers L              stacked layers (1..64)\n"
    "  --bidirectional         add a reverse direction to every layer\n"
    "  --input I               input features per step\n"
    "  --outputs O             classes (classify), labels (multilabel) or targets (regress)\n"
    "  --head seq|step         one output per sequence, or one per valid step\n"
    "  --pool last|mean|max    sequence-head pooling over the valid steps\n"
    "  --task classify|multilabel|regress\n"
    "                          softmax cross-entropy, sigmoid BCE, or MSE\n"
    "  --orthogonal            orthogonal recurrent weights at initialisation\n"
    "  --forget-bias F         LSTM forget-gate bias at initialisation (default 0)\n";

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
        cfg->bidirectional = true;
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
    default:
        return 0;
    }
}

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
