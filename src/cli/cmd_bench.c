/* cmd_bench.c - `recur bench`: wall-clock time of full training steps (forward, loss,
 * backward through time, optimizer update) of one configuration on a random batch of
 * full-length sequences, or of the forward pass alone through inference engines; prints the
 * configuration and the median step time as TSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_rng.h>

#include "cli.h"
#include <recur/blas.h>
#include <recur/engine.h>
#include <recur/optim.h>
#include <recur/synth.h>
#include <recur/tpool.h>
#include <recur/train.h>

#include "model_opts.h"

enum {
    OPT_STEPS = RECUR_CLI_M_FIRST_FREE,
    OPT_WARMUP,
    OPT_OPTIMIZER,
    OPT_LR,
    OPT_SHARD_ROWS,
    OPT_OPENBLAS,
    OPT_INFERENCE
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: recur bench [options]\n"
            "\n"
            "Times full training steps - forward, loss, backward through time and one optimizer\n"
            "update - on a random batch of full-length sequences, and prints one TSV row: the\n"
            "configuration, then median_ms (median wall-clock time of a step), steps_per_s,\n"
            "timesteps_per_s (T * B / step time), shards (the batch's) and kernels (avx512 or\n"
            "openblas: what computes the products).\n"
            "\n"
            "Architecture (defaults: lstm, H 128, L 1, I 4, O 2, seq head, last, classify):\n"
            "%s"
            "\n"
            "Benchmark:\n"
            "  -T N                    time steps (default 200)\n"
            "  -B N                    sequences in the batch (default 64)\n"
            "  --steps N               timed steps (default 20)\n"
            "  --warmup N              untimed steps first (default 3)\n"
            "  -@, --threads N         threads running the batch's shards (default 1)\n"
            "  --shard-rows N          sequences per shard (default 32)\n"
            "  --openblas              every product through OpenBLAS, not recur's kernels\n"
            "  --inference             time the forward pass alone (no loss), each shard through\n"
            "                          a forward-only engine; with --tbptt K in windows of K\n"
            "                          steps (constant memory for unidirectional models)\n"
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

/* --inference: the batch cut into shards as the trainer cuts it, each run forward through an
 * inference engine of its own (windows of K steps with --tbptt K), on a pool of threads. */
typedef struct {
    size_t S, K;
    recur_engine_t **e;   /* (S) */
    recur_batch_t *b;     /* (S) the shards' batches */
    recur_real **x;       /* (S) (T, rows, I) */
    unsigned char **mask; /* (S) (T, rows) */
    int *rc;              /* (S) */
    recur_tpool_t *pool;
    const recur_real *params;
} infer_t;

static void infer_free(infer_t *f)
{
    for (size_t s = 0; f->e && s < f->S; s++) {
        recur_engine_free(f->e[s]);
        free(f->x[s]);
        free(f->mask[s]);
    }
    free(f->e);
    free(f->b);
    free(f->x);
    free(f->mask);
    free(f->rc);
    recur_tpool_free(f->pool);
}

static int infer_alloc(infer_t *f, const recur_config_t *cfg, const recur_batch_t *b,
                       size_t shard_rows, size_t tbptt, size_t threads, const recur_real *params)
{
    const size_t rows = shard_rows ? shard_rows : 32, T = b->T, B = b->B, I = cfg->input_size;
    f->S = (B + rows - 1) / rows;
    f->K = tbptt && tbptt < T ? tbptt : T;
    f->params = params;
    f->e = calloc(f->S, sizeof *f->e);
    f->b = calloc(f->S, sizeof *f->b);
    f->x = calloc(f->S, sizeof *f->x);
    f->mask = calloc(f->S, sizeof *f->mask);
    f->rc = calloc(f->S, sizeof *f->rc);
    if (!f->e || !f->b || !f->x || !f->mask || !f->rc)
        goto nomem;
    for (size_t s = 0, r0 = 0; s < f->S; s++) {
        const size_t nr = B / f->S + (s < B % f->S);
        f->e[s] = recur_engine_alloc_inference(cfg, f->K, nr);
        f->x[s] = malloc(T * nr * I * sizeof **f->x);
        f->mask[s] = malloc(T * nr);
        if (!f->e[s] || !f->x[s] || !f->mask[s])
            goto nomem;
        for (size_t t = 0; t < T; t++) {
            memcpy(f->x[s] + t * nr * I, b->x + (t * B + r0) * I, nr * I * sizeof **f->x);
            memcpy(f->mask[s] + t * nr, b->mask + t * B + r0, nr);
        }
        f->b[s] = (recur_batch_t){T, nr, f->x[s], f->mask[s], NULL, NULL, NULL};
        r0 += nr;
    }
    if (threads > 1 && f->S > 1 && !(f->pool = recur_tpool_alloc(threads < f->S ? threads : f->S)))
        return -1;
    return 0;
nomem:
    recur_error("out of memory");
    return -1;
}

static void infer_task(void *arg, size_t s)
{
    infer_t *f = arg;
    f->rc[s] = 0;
    for (size_t t0 = 0; t0 < f->b[s].T && !f->rc[s]; t0 += f->K) {
        const size_t t1 = t0 + f->K < f->b[s].T ? t0 + f->K : f->b[s].T;
        f->rc[s] =
            recur_engine_forward(f->e[s], f->params, &f->b[s], t0, t1, false, NULL, NULL, NULL);
    }
}

static int infer_run(infer_t *f)
{
    recur_tpool_run(f->pool, f->S, infer_task, f);
    for (size_t s = 0; s < f->S; s++)
        if (f->rc[s])
            return f->rc[s];
    return 0;
}

/* The options of the benchmark itself. */
typedef struct {
    size_t steps, warmup, threads, shard_rows;
    bool infer;
    double lr; /* < 0: the optimizer's default */
    recur_optim_kind_t kind;
} bench_opts_t;

static int bench_option(void *ctx, int c, const char *arg)
{
    bench_opts_t *o = ctx;
    switch (c) {
    case '@':
        return recur_cli_size("-@", arg, 1, 1024, &o->threads);
    case OPT_STEPS:
        return recur_cli_size("--steps", arg, 1, 1000000, &o->steps);
    case OPT_WARMUP:
        return recur_cli_size("--warmup", arg, 0, 1000000, &o->warmup);
    case OPT_SHARD_ROWS:
        return recur_cli_size("--shard-rows", arg, 1, 1000000, &o->shard_rows);
    case OPT_OPENBLAS:
        recur_blas_set_kernels(false);
        return 0;
    case OPT_INFERENCE:
        o->infer = true;
        return 0;
    case OPT_LR:
        return recur_cli_double("--lr", arg, 0.0, 1e6, &o->lr);
    case OPT_OPTIMIZER:
        if (recur_optim_parse(arg, &o->kind) != 0) {
            recur_error("--optimizer: expected sgd, adam or adamw, got '%s'", arg);
            return RECUR_EINVAL;
        }
        return 0;
    }
    return RECUR_EINVAL;
}

int main_bench(int argc, char *argv[])
{
    static const struct option longopts[] = {
        RECUR_CLI_MODEL_LONGOPTS,
        {"steps", required_argument, NULL, OPT_STEPS},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"threads", required_argument, NULL, '@'},
        {"optimizer", required_argument, NULL, OPT_OPTIMIZER},
        {"lr", required_argument, NULL, OPT_LR},
        {"shard-rows", required_argument, NULL, OPT_SHARD_ROWS},
        {"openblas", no_argument, NULL, OPT_OPENBLAS},
        {"inference", no_argument, NULL, OPT_INFERENCE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    recur_cli_model_opts_t mo;
    recur_cli_model_defaults(&mo, 4, 128, 2, 200, 64);
    bench_opts_t bo = {.steps = 20, .warmup = 3, .threads = 1, .lr = -1.0, .kind = RECUR_OPT_ADAM};
    const recur_cli_model_cmd_t cmd = {"bench", ":T:B:@:h", longopts, usage, bench_option, &bo};
    int rc = recur_cli_model_parse(&cmd, &mo, argc, argv);
    if (rc >= 0)
        return rc;
    const recur_config_t *cfg = &mo.cfg;
    const size_t T = mo.T, B = mo.B, tbptt = mo.tbptt, steps = bo.steps, warmup = bo.warmup;
    const size_t threads = bo.threads, shard_rows = bo.shard_rows;
    const bool infer = bo.infer;
    infer_t inf = {0};
    recur_cli_model_t x = {0};
    recur_optim_t *opt = NULL;
    recur_trainer_t *tr = NULL;
    double *times = NULL; /* (steps) milliseconds per timed step */

    rc = RECUR_EXIT_ERROR;
    recur_optim_config_t oc;
    recur_optim_defaults(bo.kind, &oc);
    if (bo.lr >= 0.0)
        oc.lr = bo.lr;
    const recur_synth_opts_t so = {.mixed_lengths = false, .gaps = false};
    if (recur_cli_model_make(&mo, &so, &x) != 0)
        goto out;
    times = calloc(steps, sizeof *times);
    if (!times) {
        recur_error("out of memory");
        goto out;
    }
    opt = recur_optim_alloc(&oc, recur_param_count(cfg));
    const recur_train_opts_t to = {.tbptt = tbptt, .threads = threads, .shard_rows = shard_rows};
    if (!opt)
        goto out;
    if (infer ? infer_alloc(&inf, cfg, &x.syn->batch, shard_rows, tbptt, threads, x.params) != 0
              : !(tr = recur_trainer_alloc(cfg, opt, &to, T, B)))
        goto out;

    /* Timed loop: everything above is allocated once; nothing below allocates. A step is what
     * training does with one batch: with --tbptt K, one update per window of K steps. */
    size_t skipped = 0;
    for (size_t s = 0; s < warmup + steps; s++) {
        struct timespec a, b;
        recur_train_stats_t st;
        clock_gettime(CLOCK_MONOTONIC, &a);
        const int trc =
            infer ? infer_run(&inf) : recur_trainer_batch(tr, x.params, &x.syn->batch, x.rng, &st);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (trc == RECUR_EDIVERGED) {
            rc = RECUR_EXIT_DIVERGED;
            goto out;
        }
        if (trc != 0)
            goto out;
        skipped += infer ? 0 : st.skipped;
        if (s >= warmup)
            times[s - warmup] = elapsed_ms(&a, &b);
    }
    qsort(times, steps, sizeof *times, cmp_double);
    const double med =
        steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);

    recur_cli_model_provenance(stdout, argc, argv);
    printf("cell\tinput\thidden\tlayers\tbidirectional\thead\tpool\ttask\toutputs\tT\tB\ttbptt"
           "\toptimizer\tthreads\tsteps\tmedian_ms\tsteps_per_s\ttimesteps_per_s\tshards"
           "\tkernels\tmode\n");
    printf("%s\t%zu\t%zu\t%zu\t%d\t%s\t%s\t%s\t%zu\t%zu\t%zu\t%zu\t%s\t%zu\t%zu\t%.3f\t%.3f\t%.0f"
           "\t%zu\t%s\t%s\n",
           recur_cell_name(cfg->cell), cfg->input_size, cfg->hidden_size, cfg->num_layers,
           cfg->bidirectional ? 1 : 0, recur_head_name(cfg->head), recur_pool_name(cfg->pool),
           recur_task_name(cfg->task), cfg->num_outputs, T, B, tbptt, recur_optim_name(bo.kind),
           threads, steps, med, 1e3 / med, (double)T * (double)B * 1e3 / med,
           infer ? inf.S : recur_trainer_shards(tr, B), recur_blas_kernels(),
           infer ? "inference" : "train");
    if (skipped > 0) {
        recur_error("warning: %zu updates had a non-finite gradient and were skipped; the "
                    "times include them",
                    skipped);
    }
    rc = RECUR_EXIT_OK;
out:
    infer_free(&inf);
    recur_trainer_free(tr);
    recur_optim_free(opt);
    free(times);
    recur_cli_model_free(&x);
    return rc;
}
