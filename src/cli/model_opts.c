/* model_opts.c - the options of `recur bench` and `recur gradcheck` that describe their one
 * random model and batch (the architecture, -T, -B, --tbptt, --seed), and the parameters and
 * synthetic batch they draw from the seed. */
#include <stdlib.h>

#include "model_opts.h"

void recur_cli_model_defaults(recur_cli_model_opts_t *m, size_t I, size_t H, size_t O, size_t T,
                              size_t B)
{
    *m = (recur_cli_model_opts_t){
        .cfg =
            {
                .cell = RECUR_CELL_LSTM,
                .input_size = I,
                .hidden_size = H,
                .num_layers = 1,
                .bidirectional = false,
                .head = RECUR_HEAD_SEQ,
                .pool = RECUR_POOL_LAST,
                .task = RECUR_TASK_CLASSIFY,
                .num_outputs = O,
                .dropout = 0.0,
            },
        .init = {.orthogonal_hh = false, .forget_bias = 0.0},
        .T = T,
        .B = B,
        .tbptt = 0,
        .seed = 1,
    };
}

/* Applies option `code` with argument arg: 1 when it is one of these options and its value is
 * good, 0 when it is not one of them, RECUR_EINVAL (logged) when the value is bad. */
static int model_option(int code, const char *arg, recur_cli_model_opts_t *m)
{
    const int a = recur_cli_arch_option(code, arg, &m->cfg, &m->init);
    if (a != 0)
        return a;
    int bad;
    switch (code) {
    case 'T':
        bad = recur_cli_size("-T", arg, 1, 1000000, &m->T);
        break;
    case 'B':
        bad = recur_cli_size("-B", arg, 1, 1000000, &m->B);
        break;
    case RECUR_CLI_M_TBPTT:
        bad = recur_cli_size("--tbptt", arg, 0, 1000000, &m->tbptt);
        break;
    case RECUR_CLI_M_SEED:
        bad = recur_cli_ulong("--seed", arg, &m->seed);
        break;
    default:
        return 0;
    }
    return bad ? RECUR_EINVAL : 1;
}

int recur_cli_model_parse(const recur_cli_model_cmd_t *cmd, recur_cli_model_opts_t *m, int argc,
                          char *argv[])
{
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, cmd->optstring, cmd->longopts, NULL)) != -1) {
        const int a = model_option(c, optarg, m);
        if (a < 0)
            return RECUR_EXIT_USAGE;
        if (a > 0)
            continue;
        switch (c) {
        case 'h':
            cmd->usage(stdout);
            return RECUR_EXIT_OK;
        case '?':
        case ':':
            recur_cli_bad_option(c, argv);
            return RECUR_EXIT_USAGE;
        default:
            if (cmd->option(cmd->ctx, c, optarg) != 0)
                return RECUR_EXIT_USAGE;
            break;
        }
    }
    if (optind < argc) {
        recur_error("unexpected argument '%s' (see 'recur %s --help')", argv[optind], cmd->name);
        return RECUR_EXIT_USAGE;
    }
    return recur_config_validate(&m->cfg) != 0 ? RECUR_EXIT_USAGE : -1;
}

int recur_cli_model_make(const recur_cli_model_opts_t *m, const recur_synth_opts_t *so,
                         recur_cli_model_t *x)
{
    *x = (recur_cli_model_t){0};
    x->rng = gsl_rng_alloc(gsl_rng_mt19937);
    x->params = calloc(recur_param_count(&m->cfg), sizeof *x->params);
    if (!x->rng || !x->params) {
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    gsl_rng_set(x->rng, m->seed);
    const int rc = recur_param_init(&m->cfg, &m->init, x->params, x->rng);
    if (rc != 0)
        return rc;
    x->syn = recur_synth_alloc(&m->cfg, m->T, m->B, so, x->rng);
    return x->syn ? 0 : RECUR_ENOMEM;
}

void recur_cli_model_free(recur_cli_model_t *x)
{
    recur_synth_free(x->syn);
    free(x->params);
    gsl_rng_free(x->rng);
    *x = (recur_cli_model_t){0};
}

void recur_cli_model_provenance(FILE *fp, int argc, char *const argv[])
{
    char cmdline[1024];
    fprintf(fp, "# recur %s: recur %s\n", RECUR_VERSION,
            recur_cli_join(cmdline, sizeof cmdline, argc, argv));
}
