/* cmd_gradcheck.c - `recur gradcheck`: the engine's analytic gradient of one configuration
 * against central finite differences, on a random mixed-length batch; prints a TSV summary and
 * exits non-zero when any gradient disagrees. */
#include <stdio.h>
#include <stdlib.h>

#include <gsl/gsl_rng.h>

#include "cli.h"
#include <recur/engine.h>
#include <recur/gradcheck.h>
#include <recur/synth.h>

enum {
    OPT_TBPTT = RECUR_CLI_FIRST_FREE,
    OPT_SEED,
    OPT_EPS,
    OPT_RTOL,
    OPT_ATOL,
    OPT_MAX_CHECKS,
    OPT_NO_INPUT,
    OPT_GAPS
};

static void usage(FILE *fp)
{
    recur_gradcheck_opts_t d;
    recur_gradcheck_defaults(&d);
    const bool dbl = sizeof(recur_real) == sizeof(double);
    fprintf(fp,
            "Usage: recur gradcheck [options]\n"
            "\n"
            "Compares the gradient computed by backpropagation through time with central finite\n"
            "differences, for every parameter and the input, on a random batch of mixed-length\n"
            "sequences (inputs U(-1, 1), right padding, the first sequence full length).\n"
            "Prints one TSV row (checked, failed, kinks, max_abs_err, max_rel_err, worst) and\n"
            "exits 0 when every gradient agrees, 1 when any differs. An element counts as a\n"
            "kink, not a failure, when the loss is not smooth within eps of it (max pooling\n"
            "switching steps): its one-sided differences disagree and the analytic value lies\n"
            "between them. max_rel_err is over gradients larger than the absolute tolerance.\n"
            "\n"
            "Architecture (defaults: lstm, H 8, L 1, I 3, O 3, seq head, last, classify):\n"
            "%s"
            "\n"
            "Check:\n"
            "  -T N                    time steps (default 7)\n"
            "  -B N                    sequences in the batch (default 4)\n"
            "  --tbptt K               check one truncated-BPTT window of K steps at a time, the\n"
            "                          carried state held fixed (default 0: full BPTT)\n"
            "  --gaps                  also mask about 10%% of the steps inside sequences\n"
            "  --no-input              do not check the gradient with respect to the input\n"
            "  --max-checks N          check at most N evenly spaced elements per tensor\n"
            "                          (default %zu; 0 = all)\n"
            "  --eps E                 finite-difference step (default %g)\n"
            "  --rtol R, --atol A      pass when |analytic - numeric| <= A + R max(|a|, |n|)\n"
            "                          (defaults %g, %g)\n"
            "  --seed N                seed of the parameters and the batch (default 1)\n"
            "  -v, --verbose           log the first mismatches\n"
            "  -h, --help              this text\n"
            "\n"
            "This binary computes in %s, so the default tolerances are %s.\n"
            "The strict check (double precision, eps 1e-6, rtol 1e-6) is part of the test suite\n"
            "(make test). Bad option values are usage errors (exit 2, one line on stderr).\n",
            recur_cli_arch_help, d.max_checks, d.eps, d.rtol, d.atol,
            dbl ? "double precision" : "single precision", dbl ? "tight" : "loose");
}

int main_gradcheck(int argc, char *argv[])
{
    static const struct option longopts[] = {
        RECUR_CLI_ARCH_LONGOPTS,
        {"tbptt", required_argument, NULL, OPT_TBPTT},
        {"seed", required_argument, NULL, OPT_SEED},
        {"eps", required_argument, NULL, OPT_EPS},
        {"rtol", required_argument, NULL, OPT_RTOL},
        {"atol", required_argument, NULL, OPT_ATOL},
        {"max-checks", required_argument, NULL, OPT_MAX_CHECKS},
        {"no-input", no_argument, NULL, OPT_NO_INPUT},
        {"gaps", no_argument, NULL, OPT_GAPS},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int rc = RECUR_EXIT_USAGE;
    recur_config_t cfg = {
        .cell = RECUR_CELL_LSTM,
        .input_size = 3,
        .hidden_size = 8,
        .num_layers = 1,
        .bidirectional = false,
        .head = RECUR_HEAD_SEQ,
        .pool = RECUR_POOL_LAST,
        .task = RECUR_TASK_CLASSIFY,
        .num_outputs = 3,
        .dropout = 0.0,
    };
    recur_init_t init = {.orthogonal_hh = false, .forget_bias = 0.0};
    recur_gradcheck_opts_t go;
    recur_gradcheck_defaults(&go);
    go.check_input = true;
    recur_synth_opts_t so = {.mixed_lengths = true, .gaps = false};
    size_t T = 7, B = 4;
    unsigned long seed = 1;
    gsl_rng *rng = NULL;
    recur_real *params = NULL; /* flat parameter block, recur_param_count(cfg) */
    recur_synth_t *syn = NULL;

    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":T:B:vh", longopts, NULL)) != -1) {
        const int a = recur_cli_arch_option(c, optarg, &cfg, &init);
        if (a < 0)
            goto out;
        if (a > 0)
            continue;
        int bad = 0;
        switch (c) {
        case 'T':
            bad = recur_cli_size("-T", optarg, 1, 1000000, &T);
            break;
        case 'B':
            bad = recur_cli_size("-B", optarg, 1, 1000000, &B);
            break;
        case OPT_TBPTT:
            bad = recur_cli_size("--tbptt", optarg, 0, 1000000, &go.tbptt);
            break;
        case OPT_SEED:
            bad = recur_cli_ulong("--seed", optarg, &seed);
            break;
        case OPT_EPS:
            bad = recur_cli_double("--eps", optarg, 1e-12, 1.0, &go.eps);
            break;
        case OPT_RTOL:
            bad = recur_cli_double("--rtol", optarg, 0.0, 1e6, &go.rtol);
            break;
        case OPT_ATOL:
            bad = recur_cli_double("--atol", optarg, 0.0, 1e6, &go.atol);
            break;
        case OPT_MAX_CHECKS:
            bad = recur_cli_size("--max-checks", optarg, 0, SIZE_MAX, &go.max_checks);
            break;
        case OPT_NO_INPUT:
            go.check_input = false;
            break;
        case OPT_GAPS:
            so.gaps = true;
            break;
        case 'v':
            go.verbose = true;
            break;
        case 'h':
            usage(stdout);
            rc = RECUR_EXIT_OK;
            goto out;
        default:
            recur_cli_bad_option(c, argv);
            goto out;
        }
        if (bad)
            goto out;
    }
    if (optind < argc) {
        recur_error("unexpected argument '%s' (see 'recur gradcheck --help')", argv[optind]);
        goto out;
    }
    if (recur_config_validate(&cfg) != 0)
        goto out;

    rc = RECUR_EXIT_ERROR;
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    params = calloc(recur_param_count(&cfg), sizeof *params);
    if (!rng || !params) {
        recur_error("out of memory");
        goto out;
    }
    gsl_rng_set(rng, seed);
    if (recur_param_init(&cfg, &init, params, rng) != 0)
        goto out;
    syn = recur_synth_alloc(&cfg, T, B, &so, rng);
    if (!syn)
        goto out;

    recur_gradcheck_result_t r = {0};
    if (recur_gradcheck(&cfg, params, &syn->batch, &go, &r) != 0)
        goto out;
    char cmdline[1024];
    printf("# recur %s: recur %s\n", RECUR_VERSION,
           recur_cli_join(cmdline, sizeof cmdline, argc, argv));
    printf("checked\tfailed\tkinks\tmax_abs_err\tmax_rel_err\tworst\n");
    printf("%zu\t%zu\t%zu\t%.3g\t%.3g\t%s\n", r.checked, r.failed, r.kinks, r.max_abs_err,
           r.max_rel_err, r.worst[0] ? r.worst : "-");
    if (r.failed > 0) {
        recur_error("%zu of %zu gradients differ from finite differences (worst %s)", r.failed,
                    r.checked, r.worst);
        goto out;
    }
    rc = RECUR_EXIT_OK;
out:
    recur_synth_free(syn);
    free(params);
    gsl_rng_free(rng);
    return rc;
}
