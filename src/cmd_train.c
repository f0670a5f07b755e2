/* cmd_train.c - `recur train`: fits a model to an encoded dataset (--data) by mini-batch
 * backpropagation through time and writes the model file atomically; one progress line per
 * epoch on stderr and, with --log, one JSON object per epoch. */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include <recur/blas.h>
#include <recur/cli.h>
#include <recur/dataset.h>
#include <recur/engine.h>
#include <recur/model.h>
#include <recur/optim.h>
#include <recur/train.h>

enum {
    OPT_DATA = RECUR_CLI_FIRST_FREE,
    OPT_DROPOUT,
    OPT_EPOCHS,
    OPT_BATCH_SIZE,
    OPT_OPTIMIZER,
    OPT_LR,
    OPT_MOMENTUM,
    OPT_WEIGHT_DECAY,
    OPT_CLIP,
    OPT_TBPTT,
    OPT_SEED,
    OPT_NO_SHUFFLE,
    OPT_LOG,
    OPT_MAX_BAD_STEPS,
    OPT_NAN_AT_STEP,
    OPT_QUIET
};

/* Everything the command line sets. Unset numbers are negative: the optimizer's default. */
typedef struct {
    const char *data, *out, *log;
    size_t epochs, batch_size, tbptt, threads, max_bad_steps;
    unsigned long seed, nan_at_step;
    bool shuffle, quiet;
    recur_optim_kind_t kind;
    double lr, momentum, weight_decay, clip;
} train_opts_t;

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: recur train --data FILE -o MODEL [options]\n"
            "\n"
            "Fits a recurrent network to an encoded dataset by mini-batch backpropagation\n"
            "through time and writes the model file MODEL (HDF5, written to a temporary name\n"
            "and renamed, so an existing MODEL is replaced only by a complete file). The input\n"
            "size, the task, the head (per-record labels or targets: seq; per-step: step) and\n"
            "the number of outputs come from the dataset, so --input, --outputs, --task and\n"
            "--head are refused; class names from the dataset's /classes are kept in the model.\n"
            "\n"
            "Required:\n"
            "  --data FILE             encoded dataset (HDF5): written by `recur encode`, or by\n"
            "                          h5py as described in include/recur/dataset.h\n"
            "  -o, --output MODEL      model file to write\n"
            "\n"
            "Architecture (defaults: lstm, H 64, L 1, pool last):\n"
            "  --cell rnn|lstm|gru     recurrent cell\n"
            "  --hidden H              hidden units per layer and direction (1..65536)\n"
            "  --layers L              stacked layers (1..64)\n"
            "  --bidirectional         add a reverse direction to every layer\n"
            "  --pool last|mean|max    sequence-head pooling over the valid steps\n"
            "  --dropout P             dropout on the outputs of every layer but the last,\n"
            "                          during training (0 <= P < 1, default 0)\n"
            "  --orthogonal            orthogonal recurrent weights at initialisation\n"
            "  --forget-bias F         LSTM forget-gate bias at initialisation (default 0)\n"
            "\n"
            "Training:\n"
            "  --epochs N              passes over the dataset (default 10)\n"
            "  --batch-size B          records per batch (default 32); a batch is padded only\n"
            "                          to its longest record\n"
            "  --optimizer sgd|adam|adamw\n"
            "                          update rule with PyTorch's semantics (default adam)\n"
            "  --lr X                  learning rate (default: 0.001 for adam/adamw, 0.01 sgd)\n"
            "  --momentum M            SGD momentum (sgd only, default 0)\n"
            "  --weight-decay W        L2 for sgd/adam, decoupled for adamw (defaults 0, 0,\n"
            "                          0.01)\n"
            "  --clip NORM             rescale the gradient to global L2 norm NORM when above it\n"
            "                          (default 0: off)\n"
            "  --tbptt K               truncated BPTT: one update per window of K steps, state\n"
            "                          carried across windows (default 0: full BPTT)\n"
            "  --seed N                seed of the one random generator (mt19937) used for the\n"
            "                          initial weights, the shuffling and dropout (default 1);\n"
            "                          the same seed and -@ give bit-identical weights\n"
            "  --no-shuffle            visit the records in file order every epoch\n"
            "  -@, --threads N         OpenBLAS threads (default 1)\n"
            "  --max-bad-steps N       stop as diverged after N consecutive updates whose loss\n"
            "                          or gradient is not finite (default 10); such updates\n"
            "                          are skipped, the weights unchanged\n"
            "  --nan-at-step N         testing hook: make the gradient of update N (1-based)\n"
            "                          NaN, to exercise the skipping and divergence paths\n"
            "\n"
            "Output:\n"
            "  --log FILE              one JSON object per epoch (epoch, loss, updates,\n"
            "                          skipped, clipped, grad_norm_mean, grad_norm_max,\n"
            "                          seconds; null when not a number); - = standard output\n"
            "  -q, --quiet             no progress lines on stderr\n"
            "  -h, --help              this text\n"
            "\n"
            "Each epoch prints one line on stderr: the mean loss of its updates, the mean and\n"
            "largest gradient norm before clipping, the clipped and skipped updates, the time.\n"
            "\n"
            "Exit status: 0 ok; 1 bad input or I/O error (the dataset, the log, the model file);\n"
            "2 usage error (missing --data or -o, bad option values); 3 training diverged (the\n"
            "model file is not written and an existing one is left as it was).\n");
}

/* Elapsed seconds between two monotonic times. */
static double seconds(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) * 1e-9;
}

/* A JSON number, or null when x is not finite. */
static void json_number(FILE *fp, const char *key, double x)
{
    if (isfinite(x))
        fprintf(fp, ",\"%s\":%.9g", key, x);
    else
        fprintf(fp, ",\"%s\":null", key);
}

/* Parses argv into o. Returns 0, 1 after --help (printed), or RECUR_EINVAL (logged). */
static int parse(int argc, char *argv[], train_opts_t *o, recur_config_t *cfg, recur_init_t *init)
{
    static const struct option longopts[] = {
        RECUR_CLI_ARCH_LONGOPTS,
        {"data", required_argument, NULL, OPT_DATA},
        {"output", required_argument, NULL, 'o'},
        {"dropout", required_argument, NULL, OPT_DROPOUT},
        {"epochs", required_argument, NULL, OPT_EPOCHS},
        {"batch-size", required_argument, NULL, OPT_BATCH_SIZE},
        {"optimizer", required_argument, NULL, OPT_OPTIMIZER},
        {"lr", required_argument, NULL, OPT_LR},
        {"momentum", required_argument, NULL, OPT_MOMENTUM},
        {"weight-decay", required_argument, NULL, OPT_WEIGHT_DECAY},
        {"clip", required_argument, NULL, OPT_CLIP},
        {"tbptt", required_argument, NULL, OPT_TBPTT},
        {"seed", required_argument, NULL, OPT_SEED},
        {"no-shuffle", no_argument, NULL, OPT_NO_SHUFFLE},
        {"threads", required_argument, NULL, '@'},
        {"log", required_argument, NULL, OPT_LOG},
        {"max-bad-steps", required_argument, NULL, OPT_MAX_BAD_STEPS},
        {"nan-at-step", required_argument, NULL, OPT_NAN_AT_STEP},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:@:qh", longopts, NULL)) != -1) {
        const char *from_data = c == RECUR_CLI_INPUT     ? "--input"
                                : c == RECUR_CLI_OUTPUTS ? "--outputs"
                                : c == RECUR_CLI_HEAD    ? "--head"
                                : c == RECUR_CLI_TASK    ? "--task"
                                                         : NULL;
        if (from_data) {
            recur_error("%s: comes from the dataset (see 'recur train --help')", from_data);
            return RECUR_EINVAL;
        }
        const int a = recur_cli_arch_option(c, optarg, cfg, init);
        if (a < 0)
            return RECUR_EINVAL;
        if (a > 0)
            continue;
        int bad = 0;
        switch (c) {
        case OPT_DATA:
            o->data = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case OPT_DROPOUT:
            bad = recur_cli_double("--dropout", optarg, 0.0, 0.999999, &cfg->dropout);
            break;
        case OPT_EPOCHS:
            bad = recur_cli_size("--epochs", optarg, 1, 100000000, &o->epochs);
            break;
        case OPT_BATCH_SIZE:
            bad = recur_cli_size("--batch-size", optarg, 1, 1000000, &o->batch_size);
            break;
        case OPT_OPTIMIZER:
            if (recur_optim_parse(optarg, &o->kind) != 0) {
                recur_error("--optimizer: expected sgd, adam or adamw, got '%s'", optarg);
                bad = 1;
            }
            break;
        case OPT_LR:
            bad = recur_cli_double("--lr", optarg, 1e-12, 1e6, &o->lr);
            break;
        case OPT_MOMENTUM:
            bad = recur_cli_double("--momentum", optarg, 0.0, 0.999999, &o->momentum);
            break;
        case OPT_WEIGHT_DECAY:
            bad = recur_cli_double("--weight-decay", optarg, 0.0, 1e6, &o->weight_decay);
            break;
        case OPT_CLIP:
            bad = recur_cli_double("--clip", optarg, 0.0, 1e12, &o->clip);
            break;
        case OPT_TBPTT:
            bad = recur_cli_size("--tbptt", optarg, 0, 100000000, &o->tbptt);
            break;
        case OPT_SEED:
            bad = recur_cli_ulong("--seed", optarg, &o->seed);
            break;
        case OPT_NO_SHUFFLE:
            o->shuffle = false;
            break;
        case '@':
            bad = recur_cli_size("-@", optarg, 1, 1024, &o->threads);
            break;
        case OPT_LOG:
            o->log = optarg;
            break;
        case OPT_MAX_BAD_STEPS:
            bad = recur_cli_size("--max-bad-steps", optarg, 1, 1000000000, &o->max_bad_steps);
            break;
        case OPT_NAN_AT_STEP:
            bad = recur_cli_ulong("--nan-at-step", optarg, &o->nan_at_step);
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            recur_cli_bad_option(c, argv);
            return RECUR_EINVAL;
        }
        if (bad)
            return RECUR_EINVAL;
    }
    const char *why = NULL;
    if (optind < argc) {
        recur_error("unexpected argument '%s' (see 'recur train --help')", argv[optind]);
        return RECUR_EINVAL;
    }
    if (!o->data)
        why = "missing --data FILE";
    else if (!o->out)
        why = "missing -o MODEL";
    else if (strcmp(o->data, "-") == 0)
        why = "--data: the dataset cannot be read from standard input (HDF5 needs a file)";
    else if (strcmp(o->out, "-") == 0)
        why = "-o: the model cannot be written to standard output (HDF5 needs a file)";
    else if (o->momentum >= 0 && o->kind != RECUR_OPT_SGD)
        why = "--momentum applies to --optimizer sgd only";
    if (why) {
        recur_error("%s (see 'recur train --help')", why);
        return RECUR_EINVAL;
    }
    return 0;
}

/* Refuses an output path whose directory cannot take the model, before any training. */
static int check_output_dir(const char *out)
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

/* What one epoch did, summed over its batches. */
typedef struct {
    double loss_sum; /* sum of batch loss x terms */
    size_t terms, updates, skipped, clipped;
    double grad_norm_sum, grad_norm_max, seconds;
} epoch_t;

/* Logs the epoch's line on stderr and its JSON object when log is open. 0 or RECUR_EIO. */
static int report_epoch(size_t epoch, size_t epochs, const epoch_t *e, FILE *log,
                        const char *log_path)
{
    const double loss = e->terms ? e->loss_sum / (double)e->terms : NAN;
    const double gmean = e->updates ? e->grad_norm_sum / (double)e->updates : NAN;
    const double gmax = e->updates ? e->grad_norm_max : NAN;
    recur_info("epoch %zu/%zu loss %.4f grad_norm %.3g (max %.3g) clipped %zu skipped %zu "
               "%.1f s",
               epoch, epochs, loss, gmean, gmax, e->clipped, e->skipped, e->seconds);
    if (!log)
        return 0;
    fprintf(log, "{\"epoch\":%zu", epoch);
    json_number(log, "loss", loss);
    fprintf(log, ",\"updates\":%zu,\"skipped\":%zu,\"clipped\":%zu", e->updates, e->skipped,
            e->clipped);
    json_number(log, "grad_norm_mean", gmean);
    json_number(log, "grad_norm_max", gmax);
    json_number(log, "seconds", e->seconds);
    fputs("}\n", log);
    if (fflush(log) != 0 || ferror(log)) {
        recur_error("%s: cannot write: %s", log_path, strerror(errno));
        return RECUR_EIO;
    }
    return 0;
}

/* The model: configuration, weights, provenance, class names and the state an exact resume
 * needs (optimizer moments and counters, the generator's state, epochs done). */
static recur_model_t *make_model(const recur_config_t *cfg, const recur_real *params,
                                 const recur_dataset_t *ds, const recur_optim_t *opt,
                                 recur_optim_kind_t kind, gsl_rng *rng, size_t epochs, int argc,
                                 char *argv[])
{
    char cmdline[4096] = "recur ";
    recur_cli_join(cmdline + 6, sizeof cmdline - 6, argc, argv);
    recur_model_t *m = recur_model_alloc(cfg);
    if (!m)
        return NULL;
    memcpy(recur_model_params(m), params, recur_param_count(cfg) * sizeof *params);
    recur_train_state_t ts = {.step = recur_optim_steps(opt),
                              .skipped = recur_optim_skipped(opt),
                              .epoch = epochs,
                              .cursor = 0,
                              .m = recur_optim_m((recur_optim_t *)opt),
                              .v = kind == RECUR_OPT_SGD ? NULL
                                                         : recur_optim_v((recur_optim_t *)opt),
                              .rng_state = gsl_rng_state(rng),
                              .rng_size = gsl_rng_size(rng)};
    snprintf(ts.optimizer, sizeof ts.optimizer, "%s", recur_optim_name(kind));
    snprintf(ts.rng_name, sizeof ts.rng_name, "%s", gsl_rng_name(rng));
    if (recur_model_set_command_line(m, cmdline) != 0 ||
        (ds->classes &&
         recur_model_set_strings(m, "classes", (const char *const *)ds->classes, ds->O) != 0) ||
        recur_model_set_train_state(m, &ts) != 0) {
        recur_model_free(m);
        return NULL;
    }
    return m;
}

int main_train(int argc, char *argv[])
{
    train_opts_t o = {.epochs = 10,
                      .batch_size = 32,
                      .threads = 1,
                      .max_bad_steps = 10,
                      .seed = 1,
                      .shuffle = true,
                      .kind = RECUR_OPT_ADAM,
                      .lr = -1,
                      .momentum = -1,
                      .weight_decay = -1,
                      .clip = 0};
    recur_config_t cfg = {.cell = RECUR_CELL_LSTM,
                          .hidden_size = 64,
                          .num_layers = 1,
                          .bidirectional = false,
                          .pool = RECUR_POOL_LAST,
                          .dropout = 0.0};
    recur_init_t init = {.orthogonal_hh = false, .forget_bias = 0.0};
    int rc = RECUR_EXIT_USAGE;
    recur_dataset_t *ds = NULL;
    recur_dataset_batch_t *bb = NULL;
    gsl_rng *rng = NULL;
    recur_real *params = NULL; /* (P) flat parameter block */
    size_t *order = NULL;      /* (N) record order of the current epoch */
    recur_optim_t *opt = NULL;
    recur_trainer_t *tr = NULL;
    recur_model_t *model = NULL;
    FILE *log = NULL;

    const int p = parse(argc, argv, &o, &cfg, &init);
    if (p != 0) {
        rc = p > 0 ? RECUR_EXIT_OK : RECUR_EXIT_USAGE;
        goto out;
    }
    recur_log_set_quiet(o.quiet);

    rc = RECUR_EXIT_ERROR;
    if (check_output_dir(o.out) != 0)
        goto out;
    if (!(ds = recur_dataset_load(o.data)))
        goto out;
    cfg.input_size = ds->F;
    cfg.num_outputs = ds->O;
    cfg.task = ds->task;
    cfg.head = ds->head;
    if (recur_config_validate(&cfg) != 0) {
        rc = RECUR_EXIT_USAGE;
        goto out;
    }
    if (o.log) {
        log = strcmp(o.log, "-") == 0 ? stdout : fopen(o.log, "w");
        if (!log) {
            recur_error("%s: cannot open: %s", o.log, strerror(errno));
            goto out;
        }
    }

    recur_blas_set_threads((int)o.threads);
    recur_optim_config_t oc;
    recur_optim_defaults(o.kind, &oc);
    if (o.lr >= 0)
        oc.lr = o.lr;
    if (o.momentum >= 0)
        oc.momentum = o.momentum;
    if (o.weight_decay >= 0)
        oc.weight_decay = o.weight_decay;
    oc.clip = o.clip;
    const size_t P = recur_param_count(&cfg), N = ds->N;
    const size_t B = o.batch_size < N ? o.batch_size : N;
    const recur_train_opts_t to = {
        .tbptt = o.tbptt, .max_bad_steps = o.max_bad_steps, .nan_at_step = o.nan_at_step};
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    params = malloc(P * sizeof *params);
    order = malloc(N * sizeof *order);
    if (!rng || !params || !order) {
        recur_error("out of memory");
        goto out;
    }
    gsl_rng_set(rng, o.seed);
    if (recur_param_init(&cfg, &init, params, rng) != 0)
        goto out;
    opt = recur_optim_alloc(&oc, P);
    tr = opt ? recur_trainer_alloc(&cfg, opt, &to, ds->T, B) : NULL;
    bb = recur_dataset_batch_alloc(ds, ds->T, B);
    if (!opt || !tr || !bb)
        goto out;
    for (size_t i = 0; i < N; i++)
        order[i] = i;
    if (cfg.dropout > 0 && cfg.num_layers == 1)
        recur_info("note: --dropout acts between layers; with one layer it has no effect");
    recur_info("%zu records of up to %zu steps, %zu features, %s (%s head, %zu outputs); "
               "%s H %zu L %zu%s, %zu parameters",
               N, ds->T, ds->F, recur_task_name(cfg.task), recur_head_name(cfg.head), ds->O,
               recur_cell_name(cfg.cell), cfg.hidden_size, cfg.num_layers,
               cfg.bidirectional ? " bidirectional" : "", P);

    for (size_t epoch = 1; epoch <= o.epochs; epoch++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (o.shuffle)
            gsl_ran_shuffle(rng, order, N, sizeof *order);
        epoch_t e = {0};
        for (size_t s = 0; s < N; s += B) {
            const size_t nb = N - s < B ? N - s : B;
            recur_batch_t b;
            recur_train_stats_t st;
            if (recur_dataset_batch(ds, order + s, nb, bb, &b) != 0)
                goto out;
            const int trc = recur_trainer_batch(tr, params, &b, rng, &st);
            if (trc == RECUR_EDIVERGED) { /* logged by the trainer; -o stays untouched */
                rc = RECUR_EXIT_DIVERGED;
                goto out;
            }
            if (trc != 0)
                goto out;
            e.loss_sum += st.loss * (double)st.terms;
            e.terms += st.terms;
            e.updates += st.updates;
            e.skipped += st.skipped;
            e.clipped += st.clipped;
            e.grad_norm_sum += st.grad_norm_sum;
            e.grad_norm_max =
                st.grad_norm_max > e.grad_norm_max ? st.grad_norm_max : e.grad_norm_max;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        e.seconds = seconds(&t0, &t1);
        if (report_epoch(epoch, o.epochs, &e, log, o.log) != 0)
            goto out;
    }

    if (!(model = make_model(&cfg, params, ds, opt, o.kind, rng, o.epochs, argc, argv)))
        goto out;
    if (recur_model_save(model, o.out) != 0)
        goto out;
    recur_info("wrote %s", o.out);
    rc = RECUR_EXIT_OK;
out:
    if (log && log != stdout && fclose(log) != 0 && rc == RECUR_EXIT_OK) {
        recur_error("%s: cannot write: %s", o.log, strerror(errno));
        rc = RECUR_EXIT_ERROR;
    }
    recur_model_free(model);
    recur_dataset_batch_free(bb);
    recur_trainer_free(tr);
    recur_optim_free(opt);
    free(order);
    free(params);
    gsl_rng_free(rng);
    recur_dataset_free(ds);
    return rc;
}
