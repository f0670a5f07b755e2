/* cmd_diagnose_ref.c - `recur diagnose euler` and `recur diagnose linear`: reference
 * experiments on the science of BPTT that need no model or data (recur/odeview.h,
 * recur/linrnn_time.h), printed as the long-format TSV of `recur diagnose`. */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "cli.h"
#include <recur/linrnn_time.h>
#include <recur/odeview.h>

#include "cmd_diagnose_ref.h"

enum {
    OPT_SEED = RECUR_CLI_FIRST_FREE,
    OPT_DT,
    OPT_HORIZON,
    OPT_HIDDEN,
    OPT_INPUTS,
    OPT_RHO,
    OPT_RHO_ANTISYM,
    OPT_GAMMA,
    OPT_REPS
};

#define MAX_LIST 64

static void euler_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: recur diagnose euler [options]\n"
            "\n"
            "An RNN as an ODE solver: the continuous-time RNN dh/ds = -h + tanh(W h + U x + b)\n"
            "integrated by forward Euler, h <- h + dt f(h, x) (dt = 1 is exactly the vanilla\n"
            "tanh RNN), and the antisymmetric RNN (Chang et al., ICLR 2019)\n"
            "f = tanh((W - W^T - gamma I) h + U x + b), whose Jacobian has eigenvalues near the\n"
            "imaginary axis, so that forward Euler is unstable at every dt unless gamma > 0.\n"
            "For each step size dt, over a fixed time horizon S (T = round(S / dt) steps), driven\n"
            "by a random input x(s) (N(0, 1), piecewise constant on unit intervals of s; the same\n"
            "for every dt), from h_0 = 0, with the loss L = 1/2 ||h_T - y||^2, y ~ N(0, 1); each\n"
            "value is averaged over --reps input sequences. Prints long-format TSV\n"
            "kind<TAB>layer<TAB>direction<TAB>index<TAB>value after `#` provenance lines, where\n"
            "layer is the model (ctrnn; antisym0: gamma = 0; antisym: gamma = --gamma), direction\n"
            "is '-' and index is dt:\n"
            "  lyap_step         largest Lyapunov exponent per Euler step (natural log, by QR)\n"
            "  lyap_time         the same per unit of ODE time (lyap_step / dt)\n"
            "  perturb_time      log growth of a perturbation of size 1e-8 of h_0 over the\n"
            "                    horizon, per unit time (nonlinear, finite size)\n"
            "  state_norm        ||h_T|| (geometric mean)\n"
            "  grad_ratio        ||dL/dh_0|| / ||dL/dh_T|| of BPTT through the Euler steps\n"
            "  grad_ratio_time   log(grad_ratio) per unit time: > 0 exploding, < 0 vanishing\n"
            "  predicted_growth  max_i |1 + dt lambda_i|, lambda_i the eigenvalues of df/dh at\n"
            "                    h = 0, x = 0: the linear-stability prediction per step\n"
            "  predicted_time    log(predicted_growth) / dt, to set beside lyap_time\n"
            "  steps             T\n"
            "\n"
            "Options:\n"
            "  --dt LIST           step sizes, comma-separated\n"
            "                      (default 0.02,0.05,0.1,0.2,0.3,0.5,0.7,0.85,1,1.1,1.2,1.4,\n"
            "                      1.6,1.8,2,2.2,2.5,2.8,3.2)\n"
            "  --horizon S         time horizon (default 100)\n"
            "  --hidden H          state size (default 16)\n"
            "  --inputs I          input size (default 4)\n"
            "  --rho R             spectral radius of W in the CT-RNN (default 0.9)\n"
            "  --rho-antisym R     spectral radius of W - W^T in the antisymmetric RNN\n"
            "                      (default 1)\n"
            "  --gamma G           diffusion of the antisymmetric RNN `antisym` (default 0.5)\n"
            "  --reps N            input sequences averaged (default 5)\n"
            "  --seed N            seed of the weights and inputs (default 1)\n"
            "  -o FILE             write the TSV to FILE (default standard output)\n"
            "  -h, --help          this text\n"
            "\n"
            "Exit status: 0 ok, 1 error, 2 usage error.\n");
}

static void linear_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: recur diagnose linear [options]\n"
            "\n"
            "The gradient of the linear RNN h_t = W h_(t-1) + U x_t, y_t = C h_t,\n"
            "L = 1/2 sum_t ||y_t - y*_t||^2 with respect to the shared W is a sum over pairs\n"
            "(loss at step t, use of W at step k <= t). Summing the pairs explicitly costs\n"
            "O(T^2); BPTT's recursion g_t = delta_t + W^T g_(t+1) gets the same sum in O(T).\n"
            "Both are timed for each T on a random problem (W Gaussian with spectral radius\n"
            "0.9, 2 inputs, 2 outputs; each timing the fastest of --reps measurements of at\n"
            "least 5 ms, on the monotonic clock and in thread CPU time; allocations kept off\n"
            "mmap so that no call pays fresh page faults). Prints long-format TSV\n"
            "kind<TAB>layer<TAB>direction<TAB>index<TAB>value after `#` provenance lines, layer\n"
            "and direction '-', index T:\n"
            "  time_sum       seconds per gradient by the explicit double sum, O(T^2)\n"
            "  time_bptt      seconds per gradient by BPTT, O(T)\n"
            "  cpu_sum        time_sum in CPU time of the thread (steadier than the wall\n"
            "  cpu_bptt       clock when other processes share the cores), and time_bptt\n"
            "  max_abs_diff   largest |difference| between the two gradients (dW, dU, dC)\n"
            "  max_rel_diff   max_abs_diff / largest |entry| of the gradient (the gradient,\n"
            "                 a sum over T steps, grows with T, and its rounding with it)\n"
            "\n"
            "Options:\n"
            "  -T LIST             sequence lengths, comma-separated\n"
            "                      (default 10,20,50,100,200,500,1000,2000)\n"
            "  --hidden H          state size (default 8)\n"
            "  --reps N            measurements per timing, the fastest kept (default 5)\n"
            "  --seed N            seed (default 1)\n"
            "  -o FILE             write the TSV to FILE (default standard output)\n"
            "  -h, --help          this text\n"
            "\n"
            "Exit status: 0 ok, 1 error, 2 usage error.\n");
}

/* recur_cli_bad_option() with the hint naming `recur diagnose SUB`. */
static void bad_option(int c, char *argv[], const char *sub)
{
    char name[32];
    snprintf(name, sizeof name, "diagnose %s", sub);
    char *save = argv[0];
    argv[0] = name;
    recur_cli_bad_option(c, argv);
    argv[0] = save;
}

/* The command line of one experiment: its options, help, and what applies its own options. */
typedef struct {
    const char *sub;               /* "euler" or "linear" */
    const char *shortopts;         /* starting with ':' */
    const struct option *longopts; /* its own, then --seed, --output, --help */
    void (*usage)(FILE *fp);
    /* applies option c with argument arg to ctx: 0, or RECUR_EINVAL (logged) */
    int (*option)(void *ctx, int c, const char *arg);
    void *ctx;
} ref_cmd_t;

/* Parses argv for cmd: --seed, -o and -h here, the experiment's own options through
 * cmd->option. Returns -1 to go on, else the exit status to return (help or a usage error). */
static int ref_parse(const ref_cmd_t *cmd, int argc, char *argv[], unsigned long *seed,
                     const char **out_path)
{
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, cmd->shortopts, cmd->longopts, NULL)) != -1) {
        switch (c) {
        case OPT_SEED:
            if (recur_cli_ulong("--seed", optarg, seed))
                return RECUR_EXIT_USAGE;
            break;
        case 'o':
            *out_path = optarg;
            break;
        case 'h':
            cmd->usage(stdout);
            return RECUR_EXIT_OK;
        case '?':
        case ':':
            bad_option(c, argv, cmd->sub);
            return RECUR_EXIT_USAGE;
        default:
            if (cmd->option(cmd->ctx, c, optarg))
                return RECUR_EXIT_USAGE;
            break;
        }
    }
    if (optind < argc) {
        recur_error("unexpected argument '%s' (see 'recur diagnose %s --help')", argv[optind],
                    cmd->sub);
        return RECUR_EXIT_USAGE;
    }
    return -1;
}

/* Opens the output (out_path, or standard output when NULL; recur_cli_out_open()) and writes
 * the `#` provenance line, the experiment's parameters (fmt, `# ` and a newline around them)
 * and the column line. NULL when it cannot be opened (logged). */
static FILE *ref_open(const char *out_path, recur_outfile_t *of, int argc, char *argv[],
                      const char *fmt, ...) RECUR_PRINTF(5, 6);
static FILE *ref_open(const char *out_path, recur_outfile_t *of, int argc, char *argv[],
                      const char *fmt, ...)
{
    FILE *out = recur_cli_out_open(out_path, of);
    if (!out)
        return NULL;
    char cmdline[2048];
    fprintf(out, "# recur %s: recur diagnose %s\n", RECUR_VERSION,
            recur_cli_join(cmdline, sizeof cmdline, argc, argv));
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", out);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    va_end(ap);
    fprintf(out, "kind\tlayer\tdirection\tindex\tvalue\n");
    return out;
}

/* The options of `recur diagnose euler`. */
typedef struct {
    double dts[MAX_LIST]; /* (ndt) step sizes */
    size_t ndt, H, I, reps;
    double S, rho, rho_a, gamma; /* horizon, spectral radii of W and W - W^T, diffusion */
} euler_opts_t;

static int euler_option(void *ctx, int c, const char *arg)
{
    euler_opts_t *o = ctx;
    switch (c) {
    case OPT_DT:
        o->ndt = recur_cli_double_list("--dt", arg, 1e-4, 10, o->dts, MAX_LIST);
        return o->ndt == 0 ? RECUR_EINVAL : 0;
    case OPT_HORIZON:
        return recur_cli_double("--horizon", arg, 1e-3, 1e5, &o->S);
    case OPT_HIDDEN:
        return recur_cli_size("--hidden", arg, 1, 512, &o->H);
    case OPT_INPUTS:
        return recur_cli_size("--inputs", arg, 1, 512, &o->I);
    case OPT_RHO:
        return recur_cli_double("--rho", arg, 0, 100, &o->rho);
    case OPT_RHO_ANTISYM:
        return recur_cli_double("--rho-antisym", arg, 0, 100, &o->rho_a);
    case OPT_GAMMA:
        return recur_cli_double("--gamma", arg, 0, 100, &o->gamma);
    case OPT_REPS:
        return recur_cli_size("--reps", arg, 1, 1000, &o->reps);
    }
    return RECUR_EINVAL;
}

int diagnose_euler_main(int argc, char *argv[])
{
    static const struct option longopts[] = {
        {"dt", required_argument, NULL, OPT_DT},
        {"horizon", required_argument, NULL, OPT_HORIZON},
        {"hidden", required_argument, NULL, OPT_HIDDEN},
        {"inputs", required_argument, NULL, OPT_INPUTS},
        {"rho", required_argument, NULL, OPT_RHO},
        {"rho-antisym", required_argument, NULL, OPT_RHO_ANTISYM},
        {"gamma", required_argument, NULL, OPT_GAMMA},
        {"reps", required_argument, NULL, OPT_REPS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    euler_opts_t o = {.dts = {0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.85, 1, 1.1, 1.2, 1.4, 1.6, 1.8,
                              2, 2.2, 2.5, 2.8, 3.2},
                      .ndt = 19,
                      .H = 16,
                      .I = 4,
                      .reps = 5,
                      .S = 100,
                      .rho = 0.9,
                      .rho_a = 1,
                      .gamma = 0.5};
    unsigned long seed = 1;
    const char *out_path = NULL;
    const ref_cmd_t cmd = {"euler", ":o:h", longopts, euler_usage, euler_option, &o};
    const int parsed = ref_parse(&cmd, argc, argv, &seed, &out_path);
    if (parsed >= 0)
        return parsed;
    const size_t H = o.H, I = o.I;
    const double S = o.S, *dts = o.dts;
    /* the states and gradients of a whole trajectory are kept: (T + 1) H values each */
    for (size_t k = 0; k < o.ndt; k++)
        if (S / dts[k] > 1e6 || S / dts[k] * (double)H > 2e7) {
            recur_error("--horizon %g with --dt %g and --hidden %zu: more than 1e6 steps or "
                        "2e7 state values",
                        S, dts[k], H);
            return RECUR_EXIT_USAGE;
        }

    int rc = RECUR_EXIT_ERROR;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double *buf = malloc((2 * H * H + 2 * H * I + H) * sizeof *buf);
    recur_outfile_t of;
    FILE *out = NULL;
    if (!rng || !buf) {
        recur_error("out of memory");
        goto done;
    }
    /* the CT-RNN's weights, then the antisymmetric RNN's (shared by both gammas); b = 0 */
    double *Wc = buf, *Uc = Wc + H * H, *Wa = Uc + H * I, *Ua = Wa + H * H, *b = Ua + H * I;
    gsl_rng_set(rng, seed);
    if (recur_ode_random(RECUR_ODE_CTRNN, H, I, o.rho, rng, Wc, Uc, b) != 0 ||
        recur_ode_random(RECUR_ODE_ANTISYM, H, I, o.rho_a, rng, Wa, Ua, b) != 0)
        goto done;
    const unsigned long input_seed = gsl_rng_get(rng);
    out = ref_open(out_path, &of, argc, argv,
                   "euler: hidden %zu, inputs %zu, horizon %g, reps %zu, seed %lu; ctrnn: "
                   "spectral radius of W %g; antisym0, antisym: spectral radius of W - W^T %g, "
                   "gamma 0 and %g",
                   H, I, S, o.reps, seed, o.rho, o.rho_a, o.gamma);
    if (!out)
        goto done;
    const struct {
        const char *name;
        recur_ode_kind_t kind;
        const double *W, *U;
        double gamma;
    } models[3] = {{"ctrnn", RECUR_ODE_CTRNN, Wc, Uc, 0},
                   {"antisym0", RECUR_ODE_ANTISYM, Wa, Ua, 0},
                   {"antisym", RECUR_ODE_ANTISYM, Wa, Ua, o.gamma}};
    for (size_t v = 0; v < 3; v++)
        for (size_t k = 0; k < o.ndt; k++) {
            const recur_ode_t m = {models[v].kind,  H,           I,           dts[k],
                                   models[v].gamma, models[v].W, models[v].U, b};
            recur_ode_stability_t st;
            if (recur_ode_stability(&m, S, o.reps, input_seed, &st) != 0)
                goto done;
            const struct {
                const char *kind;
                double value;
            } rows[] = {{"lyap_step", st.lyap_step},
                        {"lyap_time", st.lyap_time},
                        {"perturb_time", st.perturb_time},
                        {"state_norm", st.state_norm},
                        {"grad_ratio", st.grad_ratio},
                        {"grad_ratio_time", st.grad_ratio_time},
                        {"predicted_growth", st.predicted_growth},
                        {"predicted_time", log(st.predicted_growth) / dts[k]},
                        {"steps", (double)st.T}};
            for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
                fprintf(out, "%s\t%s\t-\t%g\t%.9g\n", rows[r].kind, models[v].name, dts[k],
                        rows[r].value);
        }
    rc = RECUR_EXIT_OK;
done:
    rc = recur_cli_out_finish(out, &of, rc);
    free(buf);
    gsl_rng_free(rng);
    return rc;
}

/* The options of `recur diagnose linear`. */
typedef struct {
    size_t Ts[MAX_LIST]; /* (nT) sequence lengths */
    size_t nT, H, reps;
} linear_opts_t;

static int linear_option(void *ctx, int c, const char *arg)
{
    linear_opts_t *o = ctx;
    switch (c) {
    case 'T':
        o->nT = recur_cli_size_list("-T", arg, 1, 100000, o->Ts, MAX_LIST);
        return o->nT == 0 ? RECUR_EINVAL : 0;
    case OPT_HIDDEN:
        return recur_cli_size("--hidden", arg, 1, 256, &o->H);
    case OPT_REPS:
        return recur_cli_size("--reps", arg, 1, 1000, &o->reps);
    }
    return RECUR_EINVAL;
}

int diagnose_linear_main(int argc, char *argv[])
{
    static const struct option longopts[] = {{"hidden", required_argument, NULL, OPT_HIDDEN},
                                             {"reps", required_argument, NULL, OPT_REPS},
                                             {"seed", required_argument, NULL, OPT_SEED},
                                             {"output", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    linear_opts_t o = {.Ts = {10, 20, 50, 100, 200, 500, 1000, 2000}, .nT = 8, .H = 8, .reps = 5};
    const size_t I = 2, O = 2;
    const double min_sec = 0.005;
    unsigned long seed = 1;
    const char *out_path = NULL;
    const ref_cmd_t cmd = {"linear", ":T:o:h", longopts, linear_usage, linear_option, &o};
    const int parsed = ref_parse(&cmd, argc, argv, &seed, &out_path);
    if (parsed >= 0)
        return parsed;

    /* Both gradients allocate their buffers at every call. glibc serves blocks above 128 KiB
     * (T above ~1000 here) by mmap and unmaps them at free, so every call would pay fresh page
     * faults and the curves would jump at that size; keeping such blocks on the heap times
     * the arithmetic and memory traffic of the two algorithms instead (mallopt(3)). */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    int rc = RECUR_EXIT_ERROR;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    recur_outfile_t of;
    FILE *out = NULL;
    if (!rng) {
        recur_error("out of memory");
        goto done;
    }
    gsl_rng_set(rng, seed);
    out = ref_open(out_path, &of, argc, argv,
                   "linear: hidden %zu, inputs %zu, outputs %zu, spectral radius of W 0.9, reps "
                   "%zu, at least %g s per measurement, seed %lu",
                   o.H, I, O, o.reps, min_sec, seed);
    if (!out)
        goto done;
    for (size_t k = 0; k < o.nT; k++) {
        recur_linrnn_timing_t tm;
        if (recur_linrnn_time(o.H, I, O, o.Ts[k], o.reps, min_sec, rng, &tm) != 0)
            goto done;
        fprintf(out, "time_sum\t-\t-\t%zu\t%.6g\n", tm.T, tm.sec_sum);
        fprintf(out, "time_bptt\t-\t-\t%zu\t%.6g\n", tm.T, tm.sec_bptt);
        fprintf(out, "cpu_sum\t-\t-\t%zu\t%.6g\n", tm.T, tm.cpu_sum);
        fprintf(out, "cpu_bptt\t-\t-\t%zu\t%.6g\n", tm.T, tm.cpu_bptt);
        fprintf(out, "max_abs_diff\t-\t-\t%zu\t%.3g\n", tm.T, tm.max_abs_diff);
        fprintf(out, "max_rel_diff\t-\t-\t%zu\t%.3g\n", tm.T, tm.max_rel_diff);
        fflush(out);
    }
    rc = RECUR_EXIT_OK;
done:
    rc = recur_cli_out_finish(out, &of, rc);
    gsl_rng_free(rng);
    return rc;
}
