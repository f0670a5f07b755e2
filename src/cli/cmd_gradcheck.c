/* cmd_gradcheck.c - `recur gradcheck`: the engine's analytic gradient of one configuration
 * against central finite differences, on a random mixed-length batch; prints a TSV summary and
 * exits non-zero when any gradient disagrees. */
#include <stdio.h>

#include "cli.h"
#include <recur/engine.h>
#include <recur/gradcheck.h>
#include <recur/synth.h>

#include "model_opts.h"

enum {
    OPT_EPS = RECUR_CLI_M_FIRST_FREE,
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

/* The options of the check itself. */
typedef struct {
    recur_gradcheck_opts_t go;
    recur_synth_opts_t so;
} check_opts_t;

static int check_option(void *ctx, int c, const char *arg)
{
    check_opts_t *o = ctx;
    switch (c) {
    case OPT_EPS:
        return recur_cli_double("--eps", arg, 1e-12, 1.0, &o->go.eps);
    case OPT_RTOL:
        return recur_cli_double("--rtol", arg, 0.0, 1e6, &o->go.rtol);
    case OPT_ATOL:
        return recur_cli_double("--atol", arg, 0.0, 1e6, &o->go.atol);
    case OPT_MAX_CHECKS:
        return recur_cli_size("--max-checks", arg, 0, SIZE_MAX, &o->go.max_checks);
    case OPT_NO_INPUT:
        o->go.check_input = false;
        return 0;
    case OPT_GAPS:
        o->so.gaps = true;
        return 0;
    case 'v':
        o->go.verbose = true;
        return 0;
    }
    return RECUR_EINVAL;
}

int main_gradcheck(int argc, char *argv[])
{
    static const struct option longopts[] = {
        RECUR_CLI_MODEL_LONGOPTS,
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
    recur_cli_model_opts_t mo;
    recur_cli_model_defaults(&mo, 3, 8, 3, 7, 4);
    check_opts_t o = {.so = {.mixed_lengths = true, .gaps = false}};
    recur_gradcheck_defaults(&o.go);
    o.go.check_input = true;
    const recur_cli_model_cmd_t cmd = {"gradcheck", ":T:B:vh", longopts, usage, check_option, &o};
    int rc = recur_cli_model_parse(&cmd, &mo, argc, argv);
    if (rc >= 0)
        return rc;
    o.go.tbptt = mo.tbptt;

    rc = RECUR_EXIT_ERROR;
    recur_cli_model_t x = {0};
    if (recur_cli_model_make(&mo, &o.so, &x) != 0)
        goto out;
    recur_gradcheck_result_t r = {0};
    if (recur_gradcheck(&mo.cfg, x.params, &x.syn->batch, &o.go, &r) != 0)
        goto out;
    recur_cli_model_provenance(stdout, argc, argv);
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
    recur_cli_model_free(&x);
    return rc;
}
