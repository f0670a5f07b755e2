/* cmd_bench.c - `recur bench`: wall-clock time of full training steps (forward, loss,
 * backward through time, optimizer update) of one configuration on a random batch of
 * full-length sequences; prints the configuration and the median step time as TSV. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <gsl/gsl_rng.h>

#include <recur/blas.h>
#include <recur/cli.h>
#include <recur/engine.h>
#include <recur/optim.h>
#include <recur/synth.h>
#include <recur/train.h>

enum { OPT_STEPS = RECUR_CLI_FIRST_FREE, OPT_WARMUP, OPT_OPTIMIZER, OPT_LR, OPT_TBPTT, OPT_SEED };

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: recur bench [options]\n"
            "\n"
            "Times full training steps - forward, loss, backward through time and one optimizer\n"
            "update - on a random batch of full-length sequences, and prints one TSV row: the\n"
            "configuration, then median_ms (median wall-clock time of a step), steps_per_s and\n"
            "timesteps_per_s (T * B / step time).\n"
            "\n"
            "Architecture (defaults: lstm, H 128, L 1, I 4, O 2, seq head, last, classify):\n"
            "%s"
            "\n"
            "Benchmark:\n"
            "  -T N                    time steps (default 200)\n"
            "  -B N                    sequences in the batch (default 64)\n"
            "  --steps N               timed steps (default 20)\n"
            "  --warmup N              untimed steps first (default 3)\n"
            "  -@, --threads N         OpenBLAS threads (default 1)\n"
            "  --optimizer sgd|adam|adamw\n"
            "                          update rule, PyTorch defaults (default adam)\n"
            "  --lr X                  learning rate (default: the optimizer's)\n"
            "  --tbptt K               truncated BPTT: one update per window of K steps, as in\n"
            "                          training (default 0: full BPTT, one update per step)\n"
            "  --seed N                seed of the parameters and the batch (default 1)\n"
            "  -h, --help              this text\n"
            "\n"
            "bench/compare.py runs the same configurations in PyTorch (make bench).\n",
            recur_cli_arch_help);
}

static double elapsed_ms(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) * 1e-6;
}

static int cmp_double(const void *pa, const void *pb)
{
    const double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

int main_bench(int argc, char *argv[])
{
    static const struct option longopts[] = {
        RECUR_CLI_ARCH_LONGOPTS,
        {"steps", required_argument, NULL, OPT_STEPS},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"threads", required_argument, NULL, '@'},
        {"optimizer", required_argument, NULL, OPT_OPTIMIZER},
        {"lr", required_argument, NULL, OPT_LR},
        {"tbptt", required_argument, NULL, OPT_TBPTT},
        {"seed", required_argument, NULL, OPT_SEED},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int rc = RECUR_EXIT_USAGE;
    recur_config_t cfg = {
        .cell = RECUR_CELL_LSTM,
        .input_size = 4,
        .hidden_size = 128,
        .num_layers = 1,
        .bidirectional = false,
        .head = RECUR_HEAD_SEQ,
        .pool = RECUR_POOL_LAST,
        .task = RECUR_TASK_CLASSIFY,
        .num_outputs = 2,
        .dropout = 0.0,
    };
    recur_init_t init = {.orthogonal_hh = false, .forget_bias = 0.0};
    recur_optim_kind_t kind = RECUR_OPT_ADAM;
    double lr = -1.0; /* < 0: the optimizer's default */
    size_t T = 200, B = 64, steps = 20, warmup = 3, tbptt = 0, threads = 1;
    unsigned long seed = 1;
    gsl_rng *rng = NULL;
    recur_optim_t *opt = NULL;
    recur_trainer_t *tr = NULL;
    recur_synth_t *syn = NULL;
    recur_real *params = NULL; /* (n_params) flat parameter block */
    double *times = NULL;      /* (steps) milliseconds per timed step */

    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":T:B:@:h", longopts, NULL)) != -1) {
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
        case '@':
            bad = recur_cli_size("-@", optarg, 1, 1024, &threads);
            break;
        case OPT_STEPS:
            bad = recur_cli_size("--steps", optarg, 1, 1000000, &steps);
            break;
        case OPT_WARMUP:
            bad = recur_cli_size("--warmup", optarg, 0, 1000000, &warmup);
            break;
        case OPT_TBPTT:
            bad = recur_cli_size("--tbptt", optarg, 0, 1000000, &tbptt);
            break;
        case OPT_SEED:
            bad = recur_cli_ulong("--seed", optarg, &seed);
            break;
        case OPT_LR:
            bad = recur_cli_double("--lr", optarg, 0.0, 1e6, &lr);
            break;
        case OPT_OPTIMIZER:
            if (recur_optim_parse(optarg, &kind) != 0) {
                recur_error("--optimizer: expected sgd, adam or adamw, got '%s'", optarg);
                bad = 1;
            }
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
        recur_error("unexpected argument '%s' (see 'recur bench --help')", argv[optind]);
        goto out;
    }
    if (recur_config_validate(&cfg) != 0)
        goto out;

    rc = RECUR_EXIT_ERROR;
    recur_blas_set_threads((int)threads);
    recur_optim_config_t oc;
    recur_optim_defaults(kind, &oc);
    if (lr >= 0.0)
        oc.lr = lr;
    const size_t n_params = recur_param_count(&cfg);
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    params = calloc(n_params, sizeof *params);
    times = calloc(steps, sizeof *times);
    if (!rng || !params || !times) {
        recur_error("out of memory");
        goto out;
    }
    gsl_rng_set(rng, seed);
    if (recur_param_init(&cfg, &init, params, rng) != 0)
        goto out;
    const recur_synth_opts_t so = {.mixed_lengths = false, .gaps = false};
    syn = recur_synth_alloc(&cfg, T, B, &so, rng);
    opt = recur_optim_alloc(&oc, n_params);
    const recur_train_opts_t to = {.tbptt = tbptt, .max_bad_steps = 0, .nan_at_step = 0};
    tr = opt ? recur_trainer_alloc(&cfg, opt, &to, T, B) : NULL;
    if (!syn || !opt || !tr)
        goto out;

    /* Timed loop: everything above is allocated once; nothing below allocates. A step is what
     * training does with one batch: with --tbptt K, one update per window of K steps. */
    size_t skipped = 0;
    for (size_t s = 0; s < warmup + steps; s++) {
        struct timespec a, b;
        recur_train_stats_t st;
        clock_gettime(CLOCK_MONOTONIC, &a);
        const int trc = recur_trainer_batch(tr, params, &syn->batch, rng, &st);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (trc == RECUR_EDIVERGED) {
            rc = RECUR_EXIT_DIVERGED;
            goto out;
        }
        if (trc != 0)
            goto out;
        skipped += st.skipped;
        if (s >= warmup)
            times[s - warmup] = elapsed_ms(&a, &b);
    }
    qsort(times, steps, sizeof *times, cmp_double);
    const double med =
        steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);

    char cmdline[1024];
    printf("# recur %s: recur %s\n", RECUR_VERSION,
           recur_cli_join(cmdline, sizeof cmdline, argc, argv));
    printf("cell\tinput\thidden\tlayers\tbidirectional\thead\tpool\ttask\toutputs\tT\tB\ttbptt"
           "\toptimizer\tthreads\tsteps\tmedian_ms\tsteps_per_s\ttimesteps_per_s\n");
    printf(
        "%s\t%zu\t%zu\t%zu\t%d\t%s\t%s\t%s\t%zu\t%zu\t%zu\t%zu\t%s\t%zu\t%zu\t%.3f\t%.3f\t%.0f\n",
        recur_cell_name(cfg.cell), cfg.input_size, cfg.hidden_size, cfg.num_layers,
        cfg.bidirectional ? 1 : 0, recur_head_name(cfg.head), recur_pool_name(cfg.pool),
        recur_task_name(cfg.task), cfg.num_outputs, T, B, tbptt, recur_optim_name(kind), threads,
        steps, med, 1e3 / med, (double)T * (double)B * 1e3 / med);
    if (skipped > 0) {
        recur_error("warning: %zu updates had a non-finite gradient and were skipped; the "
                    "times include them",
                    skipped);
    }
    rc = RECUR_EXIT_OK;
out:
    recur_trainer_free(tr);
    recur_optim_free(opt);
    recur_synth_free(syn);
    free(times);
    free(params);
    gsl_rng_free(rng);
    return rc;
}
