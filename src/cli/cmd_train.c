/* cmd_train.c - `recur train`: fits a model to DNA records (FASTA, BED on a reference, SAM/BAM/
 * CRAM) or to an encoded dataset (--data) by mini-batch backpropagation through time, with a
 * validation split or validation inputs, early stopping, class balancing, length-bucketed
 * batches and reverse-complement augmentation; writes the model file atomically; one progress
 * line per epoch on stderr and, with --log, one JSON object per epoch. */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "cli.h"
#include <recur/blas.h>
#include <recur/dataset.h>
#include <recur/dist.h>
#include <recur/dna.h>
#include <recur/engine.h>
#include <recur/infer.h>
#include <recur/metrics.h>
#include <recur/model.h>
#include <recur/optim.h>
#include <recur/train.h>

#include "cmd_series.h"
#include "progress.h"
#include "series_opts.h"

/* Length bucketing: records are sorted by length within shuffled chunks of this many batches. */
#define BUCKET_BATCHES 50

enum {
    OPT_DROPOUT = RECUR_CLI_FIRST_FREE,
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
    OPT_NO_BUCKET,
    OPT_LOG,
    OPT_GRAD_LOG,
    OPT_ACT_REG,
    OPT_ACT_REG_UNMASKED,
    OPT_MAX_BAD_STEPS,
    OPT_NAN_AT_STEP,
    OPT_VAL_FRACTION,
    OPT_PATIENCE,
    OPT_KEEP,
    OPT_CLASS_WEIGHTS,
    OPT_REVCOMP,
    OPT_INIT,
    OPT_RESUME,
    OPT_CHECKPOINT_EVERY,
    OPT_DET_REDUCE,
    OPT_SHARD_ROWS,
    OPT_QUIET
};

/* Everything the command line sets. Unset numbers are negative: the optimizer's default. */
typedef struct {
    recur_cli_inputs_t in;
    const char *out, *log, *init;
    const char *grad_log;    /* --grad-log FILE: one TSV line per update */
    const char *resume;      /* --resume MODEL: continue that run exactly */
    size_t checkpoint_every; /* rewrite -o with the full state every N updates (0: never) */
    bool det_reduce;         /* --deterministic-reduce */
    size_t shard_rows;       /* --shard-rows (0: the trainer's default) */
    size_t epochs, batch_size, tbptt, threads, max_bad_steps, patience;
    unsigned long seed, nan_at_step;
    bool shuffle, bucket, quiet, revcomp, keep_last, balance;
    const char *task_opt; /* --task value, NULL when not given */
    const char *arch_opt; /* first architecture option given (refused with --init) */
    recur_optim_kind_t kind;
    double lr, momentum, weight_decay, clip, val_fraction;
    double act_reg;   /* --act-reg lambda */
    bool act_reg_all; /* --act-reg-unmasked (experiment-only) */
} train_opts_t;

static void usage(FILE *fp)
{
    fprintf(
        fp,
        "Usage: recur train --data FILE -o MODEL [options]\n"
        "       recur train --fasta FILE[:LABEL] ... -o MODEL [options]\n"
        "       recur train (--bed FILE --ref FASTA | --bam FILE[:LABEL]) ... -o MODEL [...]\n"
        "\n"
        "Forecasting (weather and climate series from HDF5 / netCDF-4) has its own options:\n"
        "see `recur train --h5 FILE --help`.\n"
        "\n"
        "Fits a recurrent network to labelled DNA records, or to an encoded dataset, by\n"
        "mini-batch backpropagation through time and writes the model file MODEL (HDF5,\n"
        "written to a temporary name and renamed, so an existing MODEL is replaced only by a\n"
        "complete file). Records are one-hot encoded (A, C, G, T; N and other IUPAC codes\n"
        "0.25 each); classes are the labels in order of first appearance on the command\n"
        "line. The input size, head and number of outputs come from the data, so --input,\n"
        "--outputs and --head are refused (and --task with --data). The model keeps the\n"
        "classes and the encoding, so that eval and predict need only -m MODEL.\n"
        "\n"
        "Example:\n"
        "  recur train --fasta pos.fa:promoter --fasta neg.fa:background -o m.h5\n"
        "\n"
        "Inputs (raw inputs or --data):\n"
        "%s"
        "  --task classify|multilabel\n"
        "                          one label per record (softmax), or several (sigmoids)\n"
        "                          (default classify)\n"
        "  -o, --output MODEL      model file to write\n"
        "\n"
        "Validation (the model written is the epoch with the lowest validation loss):\n"
        "  --val-fraction F        stratified random share of the records held out (seeded;\n"
        "                          windows of one record stay together; default 0.1; 0 = none)\n"
        "%s"
        "  --patience N            stop after N epochs without a lower validation loss\n"
        "                          (default 0: run every epoch)\n"
        "  --keep best|last        model to write: the best validation epoch (default) or\n"
        "                          the last\n"
        "\n"
        "Architecture (defaults: lstm, H 64, L 1, pool last; refused with --init):\n"
        "  --cell rnn|lstm|gru     recurrent cell\n"
        "  --hidden H              hidden units per layer and direction (1..65536)\n"
        "  --layers L              stacked layers (1..64)\n"
        "  --bidirectional         add a reverse direction to every layer\n"
        "  --pool last|mean|max    sequence-head pooling over the valid steps\n"
        "  --dropout P             dropout on the outputs of every layer but the last,\n"
        "                          during training (0 <= P < 1, default 0)\n"
        "  --orthogonal            orthogonal recurrent weights at initialisation\n"
        "  --forget-bias F         LSTM forget-gate (GRU update-gate) bias at initialisation\n"
        "                          (default 0)\n"
        "  --spectral-radius R     rescale each gate's recurrent (H, H) block to spectral\n"
        "                          radius R at initialisation (largest |eigenvalue|)\n"
        "  --init MODEL            start from this model's architecture and weights (its\n"
        "                          classes and encoding too, unless given here)\n"
        "\n"
        "Training:\n"
        "  --epochs N              passes over the training records (default 10; 0 writes\n"
        "                          the initialised, untrained model, e.g. for diagnose)\n"
        "  --batch-size B          records per batch (default 32)\n"
        "  --optimizer sgd|adam|adamw\n"
        "                          update rule with PyTorch's semantics (default adam)\n"
        "  --lr X                  learning rate (default: 0.001 for adam/adamw, 0.01 sgd)\n"
        "  --momentum M            SGD momentum (sgd only, default 0)\n"
        "  --weight-decay W        L2 for sgd/adam, decoupled for adamw (defaults 0, 0,\n"
        "                          0.01)\n"
        "  --clip NORM             rescale the gradient to global L2 norm NORM when above it\n"
        "                          (default 0: off)\n"
        "  --act-reg L             activation regulariser: adds L sum_t ||h_t||^2 over the top\n"
        "                          layer's states at the valid steps, per loss term (Merity\n"
        "                          et al. 2017; default 0: off)\n"
        "  --act-reg-unmasked      experiment only, wrong on purpose: the regulariser also\n"
        "                          over padded steps, which leaks gradient from the padding\n"
        "                          into real steps (see `recur diagnose --padding`)\n"
        "  --tbptt K               truncated BPTT: one update per window of K steps, state\n"
        "                          carried across windows (default 0: full BPTT)\n"
        "  --class-weights auto|none\n"
        "                          auto: balance the classes by oversampling - every epoch\n"
        "                          each class is drawn up to the size of the largest (the\n"
        "                          expected gradient of weighted cross-entropy with weights\n"
        "                          1/count); classify only (default none)\n"
        "  --revcomp               augmentation: each record is reverse-complemented with\n"
        "                          probability 1/2, drawn anew every epoch (DNA data only);\n"
        "                          eval and predict then average both strands by default\n"
        "  --seed N                seed of the one random generator (mt19937) used for the\n"
        "                          validation split, the initial weights, the shuffling,\n"
        "                          the strands and dropout (default 1); the same seed and\n"
        "                          -@ give bit-identical weights\n"
        "  --no-shuffle            visit the records in input order every epoch (no\n"
        "                          shuffling, no bucketing)\n"
        "  --no-bucket             shuffle without grouping records of similar length\n"
        "                          (by default records are sorted by length within shuffled\n"
        "                          chunks of %d batches, and the batches shuffled)\n"
        "  -@, --threads N         OpenBLAS and htslib decompression threads (default 1)\n"
        "  --max-bad-steps N       stop as diverged after N consecutive updates whose loss\n"
        "                          or gradient is not finite (default 10); such updates\n"
        "                          are skipped, the weights unchanged\n"
        "  --nan-at-step N         testing hook: make the gradient of update N (1-based)\n"
        "                          NaN, to exercise the skipping and divergence paths\n"
        "\n"
        "Parallel training:\n"
        "  --shard-rows N          a batch is cut into shards of at most N sequences, run in\n"
        "                          parallel by -@ threads and, in bin/recur-mpi under mpirun or\n"
        "                          srun, spread over the ranks (contiguous slices); gradients\n"
        "                          are normalised by the global count of loss terms. Results\n"
        "                          depend on N (default 32), never on -@\n"
        "  --deterministic-reduce  MPI: sum the shards' gradients in shard order on every rank\n"
        "                          (an all-gather), so that results are bit-identical for any\n"
        "                          number of ranks; by default each rank sums its own shards\n"
        "                          and the ranks' sums are all-reduced (agreeing to ~1e-7)\n"
        "\n"
        "Checkpoints and resuming:\n"
        "  --checkpoint-every N    rewrite MODEL (atomically) with the full training state\n"
        "                          every N updates, at the end of the batch; also on SIGUSR1\n"
        "                          (then training goes on) and on SIGTERM (then it stops,\n"
        "                          exit 143), as SLURM sends before a time limit\n"
        "  --resume CKPT           continue the run that wrote CKPT exactly: weights,\n"
        "                          optimizer moments and step, the generator's state and\n"
        "                          seed, the epoch's data order and position, the best epoch\n"
        "                          so far and the log (--log FILE is cut back to the epochs\n"
        "                          done); give the same data and options. The architecture\n"
        "                          and encoding come from CKPT. A resumed run ends with\n"
        "                          exactly the weights of an uninterrupted one\n"
        "\n"
        "Output:\n"
        "  --log FILE              one JSON object per epoch (epoch, loss, acc, val_loss,\n"
        "                          val_acc, val_balanced_acc, best, updates, skipped,\n"
        "                          clipped, grad_norm_mean, grad_norm_max, padding, seconds;\n"
        "                          null when not a number); - = standard output\n"
        "  --grad-log FILE         one TSV line per update: update, epoch, loss, grad_norm\n"
        "                          (before clipping), grad_norm_clipped (the norm applied),\n"
        "                          skipped (1 when not finite); `recur diagnose --train-log`\n"
        "                          summarises it. With --resume it is cut back to the\n"
        "                          checkpoint's updates and continued\n"
        "  -q, --quiet             no progress lines on stderr\n"
        "  -h, --help              this text\n"
        "\n"
        "Each epoch prints one line on stderr: the mean training loss and the running\n"
        "accuracy of its batches (before each update), the validation loss and accuracy\n"
        "(marked * when the best so far), the mean and largest gradient norm before clipping,\n"
        "the clipped and skipped updates, the share of padded steps in the batches, the time.\n"
        "\n"
        "Exit status: 0 ok; 1 bad input or I/O error (the inputs, the log, the model file, a\n"
        "single class); 2 usage error (missing inputs or -o, bad option values);\n"
        "3 training diverged (the model file is not written and an existing one is left as\n"
        "it was); 143 stopped by SIGTERM after writing a checkpoint.\n",
        recur_cli_input_help, recur_cli_val_help, BUCKET_BATCHES);
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

/* The long name of option code c in longopts, for messages. */
static const char *option_name(const struct option *longopts, int c)
{
    for (const struct option *o = longopts; o->name; o++)
        if (o->val == c)
            return o->name;
    return "?";
}

/* Parses argv into o. Returns 0, 1 after --help (printed), or RECUR_EINVAL (logged). */
static int parse(int argc, char *argv[], train_opts_t *o, recur_config_t *cfg, recur_init_t *init)
{
    static const struct option longopts[] = {
        RECUR_CLI_ARCH_LONGOPTS,
        RECUR_CLI_INPUT_LONGOPTS,
        RECUR_CLI_VAL_LONGOPTS,
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
        {"no-bucket", no_argument, NULL, OPT_NO_BUCKET},
        {"threads", required_argument, NULL, '@'},
        {"log", required_argument, NULL, OPT_LOG},
        {"grad-log", required_argument, NULL, OPT_GRAD_LOG},
        {"act-reg", required_argument, NULL, OPT_ACT_REG},
        {"act-reg-unmasked", no_argument, NULL, OPT_ACT_REG_UNMASKED},
        {"max-bad-steps", required_argument, NULL, OPT_MAX_BAD_STEPS},
        {"nan-at-step", required_argument, NULL, OPT_NAN_AT_STEP},
        {"val-fraction", required_argument, NULL, OPT_VAL_FRACTION},
        {"patience", required_argument, NULL, OPT_PATIENCE},
        {"keep", required_argument, NULL, OPT_KEEP},
        {"class-weights", required_argument, NULL, OPT_CLASS_WEIGHTS},
        {"revcomp", no_argument, NULL, OPT_REVCOMP},
        {"init", required_argument, NULL, OPT_INIT},
        {"resume", required_argument, NULL, OPT_RESUME},
        {"checkpoint-every", required_argument, NULL, OPT_CHECKPOINT_EVERY},
        {"deterministic-reduce", no_argument, NULL, OPT_DET_REDUCE},
        {"shard-rows", required_argument, NULL, OPT_SHARD_ROWS},
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
                                                         : NULL;
        if (from_data) {
            recur_error("%s: comes from the dataset (see 'recur train --help')", from_data);
            return RECUR_EINVAL;
        }
        if (c == RECUR_CLI_TASK) {
            if (recur_task_parse(optarg, &o->in.dna.task) != 0) {
                recur_error("--task: expected classify or multilabel, got '%s'", optarg);
                return RECUR_EINVAL;
            }
            o->task_opt = optarg;
            continue;
        }
        const int a = recur_cli_arch_option(c, optarg, cfg, init);
        if (a < 0)
            return RECUR_EINVAL;
        if (a > 0 || c == OPT_DROPOUT) {
            if (!o->arch_opt)
                o->arch_opt = option_name(longopts, c);
            if (a > 0)
                continue;
        }
        const int in = recur_cli_input_option(c, optarg, &o->in);
        if (in < 0)
            return RECUR_EINVAL;
        if (in > 0)
            continue;
        int bad = 0;
        switch (c) {
        case 'o':
            o->out = optarg;
            break;
        case OPT_DROPOUT:
            bad = recur_cli_double("--dropout", optarg, 0.0, 0.999999, &cfg->dropout);
            break;
        case OPT_EPOCHS:
            bad = recur_cli_size("--epochs", optarg, 0, 100000000, &o->epochs);
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
        case OPT_NO_BUCKET:
            o->bucket = false;
            break;
        case '@':
            bad = recur_cli_size("-@", optarg, 1, 1024, &o->threads);
            break;
        case OPT_LOG:
            o->log = optarg;
            break;
        case OPT_ACT_REG:
            bad = recur_cli_double("--act-reg", optarg, 0, 1e6, &o->act_reg);
            break;
        case OPT_ACT_REG_UNMASKED:
            o->act_reg_all = true;
            break;
        case OPT_GRAD_LOG:
            o->grad_log = optarg;
            break;
        case OPT_MAX_BAD_STEPS:
            bad = recur_cli_size("--max-bad-steps", optarg, 1, 1000000000, &o->max_bad_steps);
            break;
        case OPT_NAN_AT_STEP:
            bad = recur_cli_ulong("--nan-at-step", optarg, &o->nan_at_step);
            break;
        case OPT_VAL_FRACTION:
            bad = recur_cli_double("--val-fraction", optarg, 0.0, 0.9, &o->val_fraction);
            break;
        case OPT_PATIENCE:
            bad = recur_cli_size("--patience", optarg, 0, 100000000, &o->patience);
            break;
        case OPT_KEEP:
            if (strcmp(optarg, "best") == 0 || strcmp(optarg, "last") == 0) {
                o->keep_last = strcmp(optarg, "last") == 0;
            } else {
                recur_error("--keep: expected best or last, got '%s'", optarg);
                bad = 1;
            }
            break;
        case OPT_CLASS_WEIGHTS:
            if (strcmp(optarg, "auto") == 0 || strcmp(optarg, "none") == 0) {
                o->balance = strcmp(optarg, "auto") == 0;
            } else {
                recur_error("--class-weights: expected auto or none, got '%s'", optarg);
                bad = 1;
            }
            break;
        case OPT_REVCOMP:
            o->revcomp = true;
            break;
        case OPT_INIT:
            o->init = optarg;
            break;
        case OPT_RESUME:
            o->resume = optarg;
            break;
        case OPT_DET_REDUCE:
            o->det_reduce = true;
            break;
        case OPT_SHARD_ROWS:
            bad = recur_cli_size("--shard-rows", optarg, 1, (size_t)1 << 24, &o->shard_rows);
            break;
        case OPT_CHECKPOINT_EVERY:
            bad = recur_cli_size("--checkpoint-every", optarg, 1, SIZE_MAX, &o->checkpoint_every);
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
    const bool raw = o->in.n_in > 0;
    if (!o->in.data && !raw)
        why = "missing --data FILE or raw inputs (--fasta, --bed, --bam)";
    else if (!o->out)
        why = "missing -o MODEL";
    else if (o->in.data && strcmp(o->in.data, "-") == 0)
        why = "--data: the dataset cannot be read from standard input (HDF5 needs a file)";
    else if (strcmp(o->out, "-") == 0)
        why = "-o: the model cannot be written to standard output (HDF5 needs a file)";
    else if (o->momentum >= 0 && o->kind != RECUR_OPT_SGD)
        why = "--momentum applies to --optimizer sgd only";
    else if (o->task_opt && o->in.data)
        why = "--task: comes from the dataset";
    else if (o->in.dna.task == RECUR_TASK_REGRESS)
        why = "--task: DNA records are classified: classify or multilabel";
    else if (o->in.n_val && !raw)
        why = "--val-fasta/--val-bed/--val-bam go with raw training inputs (with --data: "
              "--val-data)";
    else if (o->in.val_data && raw)
        why = "--val-data goes with --data (with raw inputs: --val-fasta/--val-bed/--val-bam)";
    else if (o->in.dna.windows && !o->in.dna.max_len && !o->init)
        why = "--windows needs --max-len N (the window length)";
    else if (o->balance && o->in.dna.task == RECUR_TASK_MULTILABEL)
        why = "--class-weights auto: classify only (per-label weights would need the engine's "
              "loss)";
    if (!why && o->init && o->resume)
        why = "--init and --resume exclude each other";
    if (!why && o->init && o->arch_opt) {
        recur_error("--%s: comes from --init MODEL (see 'recur train --help')", o->arch_opt);
        return RECUR_EINVAL;
    }
    if (why) {
        recur_error("%s (see 'recur train --help')", why);
        return RECUR_EINVAL;
    }
    return recur_cli_inputs_check(&o->in);
}

/* ---- Data ------------------------------------------------------------------------------------ */

/* Training and validation rows. */
typedef struct {
    recur_dna_set_t *set, *vset;       /* raw inputs (NULL with --data) */
    recur_dataset_t *loaded, *vloaded; /* --data / --val-data */
    const recur_dataset_t *ds;         /* training rows live here */
    const recur_dataset_t *vds;        /* validation rows live here (ds when split), or NULL */
    size_t *train, n_train;            /* rows of ds */
    size_t *val, n_val;                /* rows of vds */
    bool split;                        /* validation split off ds */
} data_t;

static void data_free(data_t *d)
{
    recur_dna_set_free(d->set);
    recur_dna_set_free(d->vset);
    recur_dataset_free(d->loaded);
    recur_dataset_free(d->vloaded);
    free(d->train);
    free(d->val);
}

/* Copies the encoding options not given on the command line from the --init model. */
static void encoding_from_model(const recur_model_t *m, recur_cli_inputs_t *in)
{
    size_t n;
    const double *v;
    if (!recur_cli_input_given(in, RECUR_CLI_IN_MAX_LEN) &&
        (v = recur_model_numbers(m, "dna_max_len", &n)) && n == 1 && v[0] >= 1)
        in->dna.max_len = (size_t)v[0];
    if (!recur_cli_input_given(in, RECUR_CLI_IN_WINDOWS) &&
        (v = recur_model_numbers(m, "dna_windows", &n)) && n == 1)
        in->dna.windows = v[0] != 0;
    if (!recur_cli_input_given(in, RECUR_CLI_IN_N_ZERO) &&
        (v = recur_model_numbers(m, "dna_n_zero", &n)) && n == 1)
        in->dna.n_zero = v[0] != 0;
}

/* True when the dataset's class names equal the model's (or either has none). */
static bool same_classes(const recur_dataset_t *ds, const char *const *cls, size_t n)
{
    if (!ds->classes || !cls)
        return true;
    if (n != ds->O)
        return false;
    for (size_t k = 0; k < n; k++)
        if (!ds->classes[k] || strcmp(ds->classes[k], cls[k]) != 0)
            return false;
    return true;
}

/* Reads the training data and the validation data (or splits it off). rng draws the split. */
static int load_data(train_opts_t *o, const recur_model_t *init_model, gsl_rng *rng, data_t *d)
{
    size_t n_cls = 0;
    const char *const *cls = init_model ? recur_model_strings(init_model, "classes", &n_cls) : NULL;
    if (o->in.n_in) {
        recur_dna_opts_t dopt = o->in.dna;
        if (init_model) {
            dopt.task = recur_model_config(init_model)->task;
            dopt.classes = cls;
            dopt.n_classes = n_cls;
        }
        if (!(d->set = recur_dna_read(o->in.in, o->in.n_in, &dopt)))
            return RECUR_EFORMAT;
        d->ds = d->set->ds;
        if (o->in.n_val) { /* the training classes, fixed */
            dopt.classes = (const char *const *)d->ds->classes;
            dopt.n_classes = d->ds->O;
            if (!(d->vset = recur_dna_read(o->in.val, o->in.n_val, &dopt)))
                return RECUR_EFORMAT;
            d->vds = d->vset->ds;
        }
    } else {
        if (!(d->loaded = recur_dataset_load(o->in.data)))
            return RECUR_EFORMAT;
        d->ds = d->loaded;
        if (o->in.val_data) {
            if (!(d->vloaded = recur_dataset_load(o->in.val_data)))
                return RECUR_EFORMAT;
            d->vds = d->vloaded;
            const recur_dataset_t *a = d->ds, *b = d->vds;
            if (a->F != b->F || a->O != b->O || a->task != b->task || a->head != b->head ||
                !same_classes(b, (const char *const *)a->classes, a->O)) {
                recur_error("%s: not the same kind of dataset as %s (features, outputs, task, "
                            "head or classes differ)",
                            o->in.val_data, o->in.data);
                return RECUR_EFORMAT;
            }
        }
        if (init_model && !same_classes(d->ds, cls, n_cls)) {
            recur_error("%s: classes differ from those of %s", o->in.data, o->init);
            return RECUR_EFORMAT;
        }
    }
    const size_t N = d->ds->N;
    d->train = malloc(N * sizeof *d->train);
    d->val = malloc((d->vds ? d->vds->N : N) * sizeof *d->val);
    if (!d->train || !d->val) {
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    if (d->vds) {
        for (size_t i = 0; i < N; i++)
            d->train[i] = i;
        d->n_train = N;
        for (size_t i = 0; i < d->vds->N; i++)
            d->val[i] = i;
        d->n_val = d->vds->N;
        return 0;
    }
    if (recur_dna_split(d->ds, d->set ? d->set->record : NULL, o->val_fraction, rng, d->train,
                        &d->n_train, d->val, &d->n_val) != 0)
        return RECUR_ENOMEM;
    d->split = d->n_val > 0;
    d->vds = d->split ? d->ds : NULL;
    return 0;
}

/* One info line per data source: counts per class, and what reading did. */
static void describe_data(const data_t *d, const train_opts_t *o)
{
    const recur_dataset_t *ds = d->ds;
    if (d->set) {
        const recur_dna_set_t *s = d->set;
        recur_info("read %zu records (%llu bases) into %zu rows of up to %zu steps%s", s->n_records,
                   (unsigned long long)s->bases, ds->N, ds->T,
                   o->in.dna.windows && ds->T ? " (windows)" : "");
        if (s->skipped)
            recur_info("skipped %zu records without a label", s->skipped);
        if (s->truncated)
            recur_info("truncated %zu records to %zu bases", s->truncated, o->in.dna.max_len);
        if (s->tiled)
            recur_info("tiled %zu records into windows of %zu bases", s->tiled, o->in.dna.max_len);
        if (s->filtered)
            recur_info("%llu reads passed over by the filters", (unsigned long long)s->filtered);
        if (s->tsv_unused)
            recur_info("%zu --labels entries name no record read", s->tsv_unused);
    }
    if (ds->task == RECUR_TASK_CLASSIFY && ds->head == RECUR_HEAD_SEQ && ds->classes) {
        char line[1024];
        size_t n = 0;
        for (size_t k = 0; k < ds->O && n + 1 < sizeof line; k++) {
            size_t cnt = 0;
            for (size_t i = 0; i < d->n_train; i++)
                cnt += ds->labels[d->train[i]] == (int32_t)k;
            const int w = snprintf(line + n, sizeof line - n, "%s%s %zu", k ? ", " : "",
                                   ds->classes[k] ? ds->classes[k] : "?", cnt);
            if (w < 0)
                break;
            n += (size_t)w;
        }
        recur_info("training rows per class: %s", line);
    }
    if (d->split)
        recur_info("validation: %zu of %zu rows held out (--val-fraction %g, %s)", d->n_val, ds->N,
                   o->val_fraction,
                   ds->task == RECUR_TASK_CLASSIFY ? "stratified by class" : "at random");
    else if (d->vds)
        recur_info("validation: %zu rows from %s", d->n_val,
                   o->in.val_data ? o->in.val_data : "--val inputs");
    else
        recur_info("no validation rows: the model of the last epoch is kept");
}

/* ---- Epochs ---------------------------------------------------------------------------------- */

typedef struct {
    size_t len, key; /* sort key: length, then shuffled position */
    size_t row;
} lenrow_t;

static int cmp_lenrow(const void *a, const void *b)
{
    const lenrow_t *x = a, *y = b;
    if (x->len != y->len)
        return (x->len > y->len) - (x->len < y->len);
    return (x->key > y->key) - (x->key < y->key);
}

/* The epoch's rows in batch order into order (*n rows): the training rows, each class topped up
 * to the largest by draws with replacement when balancing; shuffled, then (bucketing) sorted by
 * length within chunks of BUCKET_BATCHES batches whose batches are then shuffled. starts gets
 * the first position of each batch (*n_batches). */
static int epoch_order(const train_opts_t *o, const data_t *d, size_t B, gsl_rng *rng,
                       size_t *order, size_t *n, size_t *starts, size_t *n_batches, lenrow_t *tmp)
{
    const recur_dataset_t *ds = d->ds;
    size_t m = 0;
    if (o->balance) {
        const size_t K = ds->O;
        size_t *count = calloc(K, sizeof *count), *at = calloc(K + 1, sizeof *at);
        size_t *by = malloc((d->n_train ? d->n_train : 1) * sizeof *by);
        if (!count || !at || !by) {
            free(count), free(at), free(by);
            recur_error("out of memory");
            return RECUR_ENOMEM;
        }
        size_t most = 0;
        for (size_t i = 0; i < d->n_train; i++)
            if (ds->labels[d->train[i]] >= 0) /* unlabelled rows add no loss term */
                count[ds->labels[d->train[i]]]++;
        for (size_t k = 0; k < K; k++) {
            at[k + 1] = at[k] + count[k];
            most = count[k] > most ? count[k] : most;
        }
        size_t *fill = count; /* reused as fill pointers */
        for (size_t k = 0; k < K; k++)
            fill[k] = at[k];
        for (size_t i = 0; i < d->n_train; i++)
            if (ds->labels[d->train[i]] >= 0)
                by[fill[ds->labels[d->train[i]]]++] = d->train[i];
        for (size_t k = 0; k < K; k++) {
            const size_t nk = at[k + 1] - at[k];
            for (size_t j = 0; j < nk; j++)
                order[m++] = by[at[k] + j];
            for (size_t j = nk; j < most && nk; j++)
                order[m++] = by[at[k] + gsl_rng_uniform_int(rng, nk)];
        }
        free(count), free(at), free(by);
    } else {
        memcpy(order, d->train, d->n_train * sizeof *order);
        m = d->n_train;
    }
    *n = m;
    *n_batches = 0;
    if (o->shuffle)
        gsl_ran_shuffle(rng, order, m, sizeof *order);
    if (o->shuffle && o->bucket) {
        const size_t chunk = B * BUCKET_BATCHES;
        for (size_t s = 0; s < m; s += chunk) {
            const size_t c = m - s < chunk ? m - s : chunk;
            for (size_t i = 0; i < c; i++)
                tmp[i] = (lenrow_t){recur_dataset_length(ds, order[s + i]), i, order[s + i]};
            qsort(tmp, c, sizeof *tmp, cmp_lenrow);
            for (size_t i = 0; i < c; i++)
                order[s + i] = tmp[i].row;
        }
    }
    for (size_t s = 0; s < m; s += B)
        starts[(*n_batches)++] = s;
    if (o->shuffle && o->bucket)
        gsl_ran_shuffle(rng, starts, *n_batches, sizeof *starts);
    return 0;
}

/* What one epoch did, summed over its batches. */
typedef struct {
    double loss_sum; /* sum of batch loss x terms */
    size_t terms, updates, skipped, clipped;
    double grad_norm_sum, grad_norm_max, seconds;
    size_t right, judged;       /* running accuracy: correct decisions of decisions judged */
    size_t steps, padded_steps; /* batch steps x records, and the padded ones among them */
    double val_loss, val_acc, val_bal;
    bool best;
} epoch_t;

/* Running accuracy from the logits of the batch just trained (sequence head): argmax against
 * the label, or each label's logit >= 0 against its target. */
static void count_right(const recur_engine_t *e, const recur_batch_t *b, epoch_t *ep)
{
    const recur_config_t *cfg = recur_engine_config(e);
    size_t rows;
    const recur_real *z = recur_engine_outputs(e, &rows); /* (B, O) */
    const size_t O = cfg->num_outputs;
    if (!z || rows != b->B) /* the engine's last forward was not this whole batch */
        return;
    for (size_t i = 0; i < b->B; i++) {
        const recur_real *zi = z + i * O;
        if (cfg->task == RECUR_TASK_CLASSIFY) {
            if (b->labels[i] < 0)
                continue;
            size_t best = 0;
            for (size_t k = 1; k < O; k++)
                best = zi[k] > zi[best] ? k : best;
            ep->right += best == (size_t)b->labels[i];
            ep->judged++;
        } else if (cfg->task == RECUR_TASK_MULTILABEL) {
            for (size_t k = 0; k < O; k++) {
                if (b->target_mask && !b->target_mask[i * O + k])
                    continue;
                ep->right += (zi[k] >= 0) == (b->targets[i * O + k] >= 0.5f);
                ep->judged++;
            }
        }
    }
}

/* Validation loss, accuracy and balanced accuracy of params on the validation rows. Sequence-head
 * classifiers: from the probabilities (both strands averaged with revcomp); other datasets: the
 * trainer's loss only (accuracies NaN). */
static int validate(const recur_config_t *cfg, const recur_real *params, const data_t *d, size_t B,
                    bool revcomp, recur_trainer_t *tr, recur_dataset_batch_t *vbb, epoch_t *ep)
{
    const recur_dataset_t *vs = d->vds;
    const size_t n = d->n_val, O = cfg->num_outputs;
    ep->val_loss = ep->val_acc = ep->val_bal = NAN;
    if (cfg->head == RECUR_HEAD_SEQ && cfg->task != RECUR_TASK_REGRESS) {
        double *p = malloc(n * O * sizeof *p); /* (n, O) */
        int32_t *y = NULL;                     /* (n) classify */
        float *t = NULL;                       /* (n, O) multilabel */
        unsigned char *pm = NULL;              /* (n, O) */
        recur_metrics_t *m = NULL;
        int rc = RECUR_ENOMEM;
        if (!p)
            goto done;
        if ((rc = recur_infer_probs(cfg, params, vs, d->val, n, B, revcomp, p)) != 0)
            goto done;
        rc = RECUR_ENOMEM;
        if (cfg->task == RECUR_TASK_CLASSIFY) {
            if (!(y = malloc(n * sizeof *y)))
                goto done;
            for (size_t i = 0; i < n; i++)
                y[i] = vs->labels[d->val[i]];
            m = recur_metrics_classify(p, y, n, O);
        } else {
            t = malloc(n * O * sizeof *t);
            pm = malloc(n * O);
            if (!t || !pm)
                goto done;
            for (size_t i = 0; i < n; i++) {
                memcpy(t + i * O, vs->targets + d->val[i] * O, O * sizeof *t);
                if (vs->target_mask)
                    memcpy(pm + i * O, vs->target_mask + d->val[i] * O, O);
                else
                    memset(pm + i * O, 1, O);
            }
            m = recur_metrics_multilabel(p, t, pm, n, O);
        }
        if (m) {
            ep->val_loss = m->loss;
            ep->val_acc = m->accuracy;
            ep->val_bal = m->balanced_accuracy;
            rc = 0;
        }
    done:
        if (rc == RECUR_ENOMEM && !m)
            recur_error("out of memory");
        recur_metrics_free(m);
        free(p);
        free(y);
        free(t);
        free(pm);
        return rc;
    }
    double sum = 0;
    size_t terms = 0;
    for (size_t s = 0; s < n; s += B) {
        const size_t nb = n - s < B ? n - s : B;
        recur_batch_t b;
        double l;
        size_t nt;
        int rc = recur_dataset_batch(vs, d->val + s, nb, vbb, &b);
        if (rc == 0)
            rc = recur_trainer_eval(tr, params, &b, &l, &nt);
        if (rc != 0)
            return rc;
        sum += l * (double)nt;
        terms += nt;
    }
    ep->val_loss = terms ? sum / (double)terms : NAN;
    return 0;
}

/* Logs the epoch's line on stderr and its JSON object when log is open. 0 or RECUR_EIO. */
static int report_epoch(size_t epoch, size_t epochs, const epoch_t *e, bool has_val, FILE *log,
                        const char *log_path, double eta)
{
    const double loss = e->terms ? e->loss_sum / (double)e->terms : NAN;
    const double acc = e->judged ? (double)e->right / (double)e->judged : NAN;
    const double gmean = e->updates ? e->grad_norm_sum / (double)e->updates : NAN;
    const double gmax = e->updates ? e->grad_norm_max : NAN;
    const double pad = e->steps ? (double)e->padded_steps / (double)e->steps : NAN;
    char accs[32] = "", vals[96] = "";
    if (e->judged)
        snprintf(accs, sizeof accs, " acc %.4f", acc);
    if (has_val && isnan(e->val_acc))
        snprintf(vals, sizeof vals, " val_loss %.4f%s", e->val_loss, e->best ? " *" : "");
    else if (has_val)
        snprintf(vals, sizeof vals, " val_loss %.4f val_acc %.4f%s", e->val_loss, e->val_acc,
                 e->best ? " *" : "");
    recur_info("epoch %zu/%zu loss %.4f%s%s grad_norm %.3g (max %.3g) clipped %zu skipped %zu "
               "padding %.1f%% %.1f s, ETA %.0f s",
               epoch, epochs, loss, accs, vals, gmean, gmax, e->clipped, e->skipped,
               100.0 * (isnan(pad) ? 0.0 : pad), e->seconds, eta);
    if (!log)
        return 0;
    fprintf(log, "{\"epoch\":%zu", epoch);
    json_number(log, "loss", loss);
    json_number(log, "acc", acc);
    json_number(log, "val_loss", has_val ? e->val_loss : NAN);
    json_number(log, "val_acc", has_val ? e->val_acc : NAN);
    json_number(log, "val_balanced_acc", has_val ? e->val_bal : NAN);
    fprintf(log, ",\"best\":%s", e->best ? "true" : "false");
    fprintf(log, ",\"updates\":%zu,\"skipped\":%zu,\"clipped\":%zu", e->updates, e->skipped,
            e->clipped);
    json_number(log, "grad_norm_mean", gmean);
    json_number(log, "grad_norm_max", gmax);
    json_number(log, "padding", pad);
    json_number(log, "seconds", e->seconds);
    fputs("}\n", log);
    if (fflush(log) != 0 || ferror(log)) {
        recur_error("%s: cannot write: %s", log_path, strerror(errno));
        return RECUR_EIO;
    }
    return 0;
}

/* ---- The model file ---------------------------------------------------------------------------
 */

/* Weights and the training state at one moment (the best epoch), for --keep best. */
typedef struct {
    recur_real *params, *m, *v; /* (P) each; v NULL for SGD */
    uint64_t step, skipped;
    size_t epoch;
    gsl_rng *rng;
} snapshot_t;

static void snapshot_free(snapshot_t *s)
{
    free(s->params);
    free(s->m);
    free(s->v);
    gsl_rng_free(s->rng);
}

static int snapshot_take(snapshot_t *s, const recur_real *params, recur_optim_t *opt, size_t P,
                         bool sgd, const gsl_rng *rng, size_t epoch)
{
    if (!s->params) {
        s->params = malloc(P * sizeof *s->params);
        s->m = malloc(P * sizeof *s->m);
        s->v = sgd ? NULL : malloc(P * sizeof *s->v);
        s->rng = gsl_rng_clone(rng);
        if (!s->params || !s->m || (!sgd && !s->v) || !s->rng) {
            recur_error("out of memory");
            return RECUR_ENOMEM;
        }
    }
    memcpy(s->params, params, P * sizeof *params);
    memcpy(s->m, recur_optim_m(opt), P * sizeof *s->m);
    if (s->v)
        memcpy(s->v, recur_optim_v(opt), P * sizeof *s->v);
    s->step = recur_optim_steps(opt);
    s->skipped = recur_optim_skipped(opt);
    s->epoch = epoch;
    gsl_rng_memcpy(s->rng, rng);
    return 0;
}

/* The model: configuration, weights, provenance, classes, the DNA encoding and the state an
 * exact resume needs (optimizer moments and counters, the generator's state, epochs done). */
static recur_model_t *make_model(const recur_config_t *cfg, const snapshot_t *s,
                                 const recur_real *best, const recur_dataset_t *ds,
                                 const train_opts_t *o, bool dna, int argc, char *argv[])
{
    char cmdline[4096] = "recur ";
    recur_cli_join(cmdline + 6, sizeof cmdline - 6, argc, argv);
    recur_model_t *m = recur_model_alloc(cfg);
    if (!m)
        return NULL;
    const size_t P = recur_param_count(cfg);
    memcpy(recur_model_params(m), s->params, P * sizeof *s->params);
    recur_train_state_t ts = {.step = s->step,
                              .skipped = s->skipped,
                              .epoch = s->epoch,
                              .cursor = 0,
                              .m = s->m,
                              .v = s->v,
                              .best = best,
                              .rng_state = gsl_rng_state(s->rng),
                              .rng_size = gsl_rng_size(s->rng)};
    snprintf(ts.optimizer, sizeof ts.optimizer, "%s", recur_optim_name(o->kind));
    snprintf(ts.rng_name, sizeof ts.rng_name, "%s", gsl_rng_name(s->rng));
    const char *enc = "dna-onehot";
    const double max_len = (double)o->in.dna.max_len, windows = o->in.dna.windows,
                 n_zero = o->in.dna.n_zero, revcomp = o->revcomp;
    const double seed = (double)o->seed;
    int rc = recur_model_set_command_line(m, cmdline);
    if (rc == 0)
        rc = recur_model_set_numbers(m, "seed", &seed, 1);
    if (rc == 0 && ds->classes)
        rc = recur_model_set_strings(m, "classes", (const char *const *)ds->classes, ds->O);
    if (rc == 0 && dna)
        rc = recur_model_set_strings(m, "encoding", &enc, 1);
    if (rc == 0 && dna)
        rc = recur_model_set_numbers(m, "dna_max_len", &max_len, 1);
    if (rc == 0 && dna)
        rc = recur_model_set_numbers(m, "dna_windows", &windows, 1);
    if (rc == 0 && dna)
        rc = recur_model_set_numbers(m, "dna_n_zero", &n_zero, 1);
    if (rc == 0 && (dna || o->revcomp))
        rc = recur_model_set_numbers(m, "dna_revcomp", &revcomp, 1);
    if (rc == 0)
        rc = recur_model_set_train_state(m, &ts);
    if (rc != 0) {
        recur_model_free(m);
        return NULL;
    }
    return m;
}

/* ---- Checkpoints and resuming -------------------------------------------------------------
 * A checkpoint is the -o model file with the full state at a batch boundary: the weights, the
 * optimizer, the generator, and numbers saying where the run is: resume_epoch (in progress),
 * resume_batch (the next batch), resume_epoch_rng (the generator's bytes at the start of that
 * epoch, from which its data order is drawn again), resume_acc (the epoch's sums so far) and
 * resume_best (best validation loss, epochs since, best epoch, whether /train/best holds its
 * weights). */

static volatile sig_atomic_t got_term, got_usr1;

static void on_signal(int sig)
{
    if (sig == SIGTERM)
        got_term = 1;
    else
        got_usr1 = 1;
}

/* The numbers of an epoch_t that a checkpoint keeps, in this order. */
enum { ACC_N = 10 };
static void acc_pack(const epoch_t *e, double *a)
{
    const double v[ACC_N] = {e->loss_sum,        (double)e->terms,   (double)e->updates,
                             (double)e->skipped, (double)e->clipped, e->grad_norm_sum,
                             e->grad_norm_max,   (double)e->right,   (double)e->judged,
                             (double)e->steps};
    memcpy(a, v, sizeof v);
    (void)e->padded_steps;
}

static void acc_unpack(const double *a, size_t padded, epoch_t *e)
{
    e->loss_sum = a[0];
    e->terms = (size_t)a[1];
    e->updates = (size_t)a[2];
    e->skipped = (size_t)a[3];
    e->clipped = (size_t)a[4];
    e->grad_norm_sum = a[5];
    e->grad_norm_max = a[6];
    e->right = (size_t)a[7];
    e->judged = (size_t)a[8];
    e->steps = (size_t)a[9];
    e->padded_steps = padded;
}

typedef struct {
    size_t epoch, batch;      /* epoch in progress (1-based), next batch */
    const gsl_rng *epoch_rng; /* the generator at the start of the epoch */
    const epoch_t *acc;
    double best_loss;
    size_t since_best;
    const snapshot_t *best; /* best.params NULL: none yet */
} cursor_t;

static int write_checkpoint(const recur_config_t *cfg, snapshot_t *cur, const recur_real *params,
                            recur_optim_t *opt, const gsl_rng *rng, const cursor_t *k,
                            const recur_dataset_t *ds, const train_opts_t *o, bool dna, int argc,
                            char *argv[])
{
    const size_t P = recur_param_count(cfg);
    if (snapshot_take(cur, params, opt, P, o->kind == RECUR_OPT_SGD, rng, k->epoch - 1) != 0)
        return RECUR_ENOMEM;
    recur_model_t *m = make_model(cfg, cur, k->best->params, ds, o, dna, argc, argv);
    if (!m)
        return RECUR_ENOMEM;
    const size_t nr = gsl_rng_size(k->epoch_rng);
    double *bytes = malloc(nr * sizeof *bytes), acc[ACC_N + 1];
    const unsigned char *st = gsl_rng_state(k->epoch_rng);
    for (size_t i = 0; bytes && i < nr; i++)
        bytes[i] = st[i];
    acc_pack(k->acc, acc);
    acc[ACC_N] = (double)k->acc->padded_steps;
    const double where[2] = {(double)k->epoch, (double)k->batch};
    const double best[4] = {k->best_loss, (double)k->since_best, (double)k->best->epoch,
                            k->best->params != NULL};
    int rc = bytes ? 0 : RECUR_ENOMEM;
    /* keep the current checkpoint as <out>.prev (a hard link: <out> never goes missing) before
     * the new one replaces it, so that a damaged newest one still leaves one to resume from */
    char prev[4096];
    snprintf(prev, sizeof prev, "%s.prev", o->out);
    if (access(o->out, F_OK) == 0) {
        remove(prev);
        if (link(o->out, prev) != 0)
            recur_info("could not keep %s: %s", prev, strerror(errno));
    }
    if (rc == 0)
        rc = recur_model_set_numbers(m, "resume_epoch", where, 1);
    if (rc == 0)
        rc = recur_model_set_numbers(m, "resume_batch", where + 1, 1);
    if (rc == 0)
        rc = recur_model_set_numbers(m, "resume_epoch_rng", bytes, nr);
    if (rc == 0)
        rc = recur_model_set_numbers(m, "resume_acc", acc, ACC_N + 1);
    if (rc == 0)
        rc = recur_model_set_numbers(m, "resume_best", best, 4);
    if (rc == 0)
        rc = recur_model_save(m, o->out);
    if (rc == 0)
        recur_info("checkpoint: %s (epoch %zu, batch %zu, update %llu)", o->out, k->epoch, k->batch,
                   (unsigned long long)recur_optim_steps(opt));
    free(bytes);
    recur_model_free(m);
    return rc;
}

/* --grad-log: the file and the epoch being run. */
typedef struct {
    FILE *fp;
    const char *path;
    size_t epoch;
} grad_log_t;

/* Trainer callback: one TSV line per update (NaN norms of skipped updates as "nan"). */
static int grad_log_line(void *ctx, const recur_update_info_t *u)
{
    grad_log_t *g = ctx;
    if (fprintf(g->fp, "%llu\t%zu\t%.9g\t%.9g\t%.9g\t%d\n", (unsigned long long)u->update, g->epoch,
                u->loss, u->norm, u->norm_after, u->skipped ? 1 : 0) < 0) {
        recur_error("%s: cannot write: %s", g->path, strerror(errno));
        return RECUR_EIO;
    }
    return 0;
}

/* Cuts the JSON-lines log back to its first n lines (the epochs a checkpoint had done),
 * atomically, so that a resumed run appends exactly what the uninterrupted one would have. */
static int cut_log(const char *path, size_t n, const char *what)
{
    FILE *in = fopen(path, "r");
    if (!in && n == 0)
        return 0;
    if (!in) {
        recur_error("%s: cannot read the log to resume: %s", path, strerror(errno));
        return RECUR_EIO;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *out = fopen(tmp, "w");
    int rc = RECUR_EIO, ch;
    size_t lines = 0;
    if (!out) {
        recur_error("%s: cannot write: %s", tmp, strerror(errno));
        fclose(in);
        return rc;
    }
    while (lines < n && (ch = getc(in)) != EOF) {
        putc(ch, out);
        lines += ch == '\n';
    }
    fclose(in);
    if (lines < n) {
        recur_error("%s: has %zu %s lines, the checkpoint %zu", path, lines, what, n);
        fclose(out);
    } else if (fclose(out) != 0 || rename(tmp, path) != 0) {
        recur_error("%s: cannot rewrite: %s", path, strerror(errno));
    } else {
        return 0;
    }
    remove(tmp);
    return rc;
}

/* The cursor numbers of a checkpoint, checked; *mid false for a model that finished. */
static int read_cursor(const recur_model_t *m, const char *path, gsl_rng *epoch_rng, size_t *epoch,
                       size_t *batch, double *acc, double *best, bool *mid)
{
    size_t n1, n2, n3, n4, n5;
    const double *e = recur_model_numbers(m, "resume_epoch", &n1);
    const double *b = recur_model_numbers(m, "resume_batch", &n2);
    const double *r = recur_model_numbers(m, "resume_epoch_rng", &n3);
    const double *a = recur_model_numbers(m, "resume_acc", &n4);
    const double *bs = recur_model_numbers(m, "resume_best", &n5);
    *mid = e != NULL;
    if (!e)
        return 0;
    if (!b || !r || !a || !bs || n1 != 1 || n2 != 1 || n3 != gsl_rng_size(epoch_rng) ||
        n4 != ACC_N + 1 || n5 != 4 || !(e[0] >= 1) || !(b[0] >= 0)) {
        recur_error("%s: the checkpoint's position is incomplete or damaged", path);
        return RECUR_EFORMAT;
    }
    unsigned char *st = gsl_rng_state(epoch_rng);
    for (size_t i = 0; i < n3; i++) {
        if (!(r[i] >= 0 && r[i] <= 255)) {
            recur_error("%s: the checkpoint's generator state is damaged", path);
            return RECUR_EFORMAT;
        }
        st[i] = (unsigned char)r[i];
    }
    *epoch = (size_t)e[0];
    *batch = (size_t)b[0];
    memcpy(acc, a, (ACC_N + 1) * sizeof *acc);
    memcpy(best, bs, 4 * sizeof *best);
    return 0;
}

int main_train(int argc, char *argv[])
{
    if (recur_cli_series_requested(argc, argv)) /* HDF5 / netCDF-4 series: a forecaster */
        return main_train_series(argc, argv);
    train_opts_t o = {.epochs = 10,
                      .batch_size = 32,
                      .threads = 1,
                      .max_bad_steps = 10,
                      .seed = 1,
                      .shuffle = true,
                      .bucket = true,
                      .kind = RECUR_OPT_ADAM,
                      .lr = -1,
                      .momentum = -1,
                      .weight_decay = -1,
                      .clip = 0,
                      .val_fraction = 0.1};
    recur_cli_inputs_init(&o.in);
    recur_config_t cfg = {.cell = RECUR_CELL_LSTM,
                          .hidden_size = 64,
                          .num_layers = 1,
                          .bidirectional = false,
                          .pool = RECUR_POOL_LAST,
                          .dropout = 0.0};
    recur_init_t init = {.orthogonal_hh = false, .forget_bias = 0.0};
    int rc = RECUR_EXIT_USAGE;
    data_t d = {0};
    recur_model_t *init_model = NULL;
    recur_dataset_batch_t *bb = NULL, *vbb = NULL;
    gsl_rng *rng = NULL;
    recur_real *params = NULL;  /* (P) flat parameter block */
    size_t *order = NULL;       /* (rows per epoch) rows in batch order */
    size_t *starts = NULL;      /* (batches per epoch) */
    lenrow_t *tmp = NULL;       /* (B * BUCKET_BATCHES) */
    unsigned char *flip = NULL; /* (B) strands of a batch */
    recur_optim_t *opt = NULL;
    recur_trainer_t *tr = NULL;
    recur_model_t *model = NULL;
    snapshot_t best = {0}, cur = {0};
    gsl_rng *ep_rng = NULL, *saved_rng = NULL;
    FILE *log = NULL;
    grad_log_t glog = {NULL, NULL, 0};

    const int p = parse(argc, argv, &o, &cfg, &init);
    if (p != 0) {
        rc = p > 0 ? RECUR_EXIT_OK : RECUR_EXIT_USAGE;
        goto out;
    }
    const int rank = recur_dist_rank(), ranks = recur_dist_size();
    recur_log_set_quiet(o.quiet || rank > 0); /* progress from rank 0 only */
    o.in.dna.seq.threads = o.threads > 1 ? (int)o.threads : 0;

    rc = RECUR_EXIT_ERROR;
    if (rank == 0 && recur_cli_check_output(o.out) != 0)
        goto out;
    const bool resuming = o.resume != NULL;
    if (resuming)
        o.init = o.resume; /* architecture, encoding and weights come from the checkpoint */
    if (o.init) {
        if (!(init_model = recur_model_load(o.init)) && resuming) {
            /* a damaged checkpoint: the one before it, kept by write_checkpoint */
            char prev[4096];
            snprintf(prev, sizeof prev, "%s.prev", o.resume);
            if (access(prev, R_OK) == 0 && (init_model = recur_model_load(prev)) != NULL)
                recur_info("resuming from the previous checkpoint %s instead", prev);
        }
        if (!init_model)
            goto out;
        const recur_config_t given = cfg, *mc = recur_model_config(init_model);
        if (resuming && o.arch_opt &&
            (given.cell != mc->cell || given.hidden_size != mc->hidden_size ||
             given.num_layers != mc->num_layers || given.bidirectional != mc->bidirectional ||
             given.pool != mc->pool || given.dropout != mc->dropout)) {
            /* the same command line may be repeated with --resume, but not another model */
            recur_error("%s: the architecture options differ from the checkpoint's (%s H %zu "
                        "L %zu%s, pool %s, dropout %g)",
                        o.resume, recur_cell_name(mc->cell), mc->hidden_size, mc->num_layers,
                        mc->bidirectional ? " bidirectional" : "", recur_pool_name(mc->pool),
                        mc->dropout);
            rc = RECUR_EXIT_USAGE;
            goto out;
        }
        cfg = *mc;
        encoding_from_model(init_model, &o.in);
        if (o.in.n_in && cfg.task == RECUR_TASK_REGRESS) {
            recur_error("%s: a %s model cannot start a DNA classifier", o.init,
                        recur_task_name(cfg.task));
            goto out;
        }
        if (o.in.n_in && o.task_opt && o.in.dna.task != cfg.task) {
            recur_error("--task %s: %s is a %s model", o.task_opt, o.init,
                        recur_task_name(cfg.task));
            rc = RECUR_EXIT_USAGE;
            goto out;
        }
        if (o.in.dna.windows && !o.in.dna.max_len) {
            recur_error("--windows needs --max-len N (the window length)");
            rc = RECUR_EXIT_USAGE;
            goto out;
        }
    }
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng) {
        recur_error("out of memory");
        goto out;
    }
    if (resuming) { /* the run's own seed: the validation split is drawn from it */
        size_t ns;
        const double *sd = recur_model_numbers(init_model, "seed", &ns);
        if (sd && ns == 1 && sd[0] >= 0)
            o.seed = (unsigned long)sd[0];
    }
    gsl_rng_set(rng, o.seed);
    if (load_data(&o, init_model, rng, &d) != 0)
        goto out;
    const recur_dataset_t *ds = d.ds;
    if (ds->task == RECUR_TASK_CLASSIFY && ds->O < 2) {
        recur_error("only one class (%s) in the labels: a classifier needs two or more",
                    ds->classes && ds->classes[0] ? ds->classes[0] : "0");
        goto out;
    }
    if (d.n_train == 0) {
        recur_error("no training rows left");
        goto out;
    }
    if (init_model) {
        if (ds->F != cfg.input_size || ds->O != cfg.num_outputs || ds->task != cfg.task ||
            ds->head != cfg.head) {
            recur_error("%s: the model (%zu inputs, %zu outputs, %s, %s head) does not fit the "
                        "data (%zu features, %zu outputs, %s, %s head)",
                        o.init, cfg.input_size, cfg.num_outputs, recur_task_name(cfg.task),
                        recur_head_name(cfg.head), ds->F, ds->O, recur_task_name(ds->task),
                        recur_head_name(ds->head));
            goto out;
        }
    } else {
        cfg.input_size = ds->F;
        cfg.num_outputs = ds->O;
        cfg.task = ds->task;
        cfg.head = ds->head;
    }
    if (recur_config_validate(&cfg) != 0) {
        rc = RECUR_EXIT_USAGE;
        goto out;
    }
    if (o.revcomp && (ds->F != RECUR_DNA_CHANNELS || ds->head != RECUR_HEAD_SEQ)) {
        recur_error("--revcomp: needs DNA data (4 one-hot channels) with one label per record");
        rc = RECUR_EXIT_USAGE;
        goto out;
    }
    if (o.balance && (ds->task != RECUR_TASK_CLASSIFY || ds->head != RECUR_HEAD_SEQ)) {
        recur_error("--class-weights auto: classify datasets with one label per record only");
        rc = RECUR_EXIT_USAGE;
        goto out;
    }
    const recur_train_state_t *ts = resuming ? recur_model_train_state(init_model) : NULL;
    if (resuming && !ts) {
        recur_error("%s: holds no training state to resume from", o.resume);
        goto out;
    }
    if (ts && strcmp(ts->optimizer, recur_optim_name(o.kind)) != 0) {
        recur_error("%s: was trained with --optimizer %s", o.resume, ts->optimizer);
        rc = RECUR_EXIT_USAGE;
        goto out;
    }
    if (ts && (strcmp(ts->rng_name, gsl_rng_name(rng)) != 0 || ts->rng_size != gsl_rng_size(rng) ||
               (o.kind != RECUR_OPT_SGD && !ts->v))) {
        recur_error("%s: the training state does not fit this run (generator or moments)",
                    o.resume);
        goto out;
    }
    if (rank > 0)
        o.log = NULL; /* models, logs and results come from rank 0 only */
    if (o.log && resuming && strcmp(o.log, "-") != 0) {
        size_t n_ep;
        const double *ep = recur_model_numbers(init_model, "resume_epoch", &n_ep);
        if (cut_log(o.log, ep && n_ep == 1 ? (size_t)ep[0] - 1 : (size_t)ts->epoch, "epoch") != 0)
            goto out;
    }
    if (rank > 0)
        o.grad_log = NULL;
    if (o.grad_log && resuming && strcmp(o.grad_log, "-") != 0 &&
        cut_log(o.grad_log, 1 + (size_t)(ts->step + ts->skipped), "update") != 0)
        goto out; /* the header and one line per update the checkpoint had made */
    if (o.grad_log) {
        glog.path = o.grad_log;
        glog.fp = strcmp(o.grad_log, "-") == 0 ? stdout : fopen(o.grad_log, resuming ? "a" : "w");
        if (!glog.fp) {
            recur_error("%s: cannot open: %s", o.grad_log, strerror(errno));
            goto out;
        }
        if (!resuming)
            fputs("update\tepoch\tloss\tgrad_norm\tgrad_norm_clipped\tskipped\n", glog.fp);
    }
    if (o.log) {
        log = strcmp(o.log, "-") == 0 ? stdout : fopen(o.log, resuming ? "a" : "w");
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
    const size_t P = recur_param_count(&cfg);
    /* Rows per epoch: the training rows, or K x the largest class when balancing. */
    size_t per_epoch = d.n_train;
    if (o.balance) {
        size_t *cnt = calloc(ds->O, sizeof *cnt), most = 0;
        if (!cnt) {
            recur_error("out of memory");
            goto out;
        }
        for (size_t i = 0; i < d.n_train; i++)
            if (ds->labels[d.train[i]] >= 0)
                cnt[ds->labels[d.train[i]]]++;
        size_t present = 0;
        for (size_t k = 0; k < ds->O; k++) {
            most = cnt[k] > most ? cnt[k] : most;
            present += cnt[k] > 0;
        }
        per_epoch = present * most;
        free(cnt);
    }
    if (per_epoch == 0) {
        recur_error("no labelled training rows");
        goto out;
    }
    const size_t B = o.batch_size < per_epoch ? o.batch_size : per_epoch;
    const recur_train_opts_t to = {.tbptt = o.tbptt,
                                   .max_bad_steps = o.max_bad_steps,
                                   .nan_at_step = o.nan_at_step,
                                   .threads = o.threads,
                                   .shard_rows = o.shard_rows,
                                   .deterministic_reduce = o.det_reduce,
                                   .act_reg = o.act_reg,
                                   .act_reg_all = o.act_reg_all,
                                   .on_update = glog.fp ? grad_log_line : NULL,
                                   .on_update_ctx = &glog};
    params = malloc(P * sizeof *params);
    order = malloc(per_epoch * sizeof *order);
    starts = malloc(((per_epoch + B - 1) / B) * sizeof *starts);
    tmp = malloc(B * BUCKET_BATCHES * sizeof *tmp);
    flip = calloc(B, 1);
    if (!params || !order || !starts || !tmp || !flip) {
        recur_error("out of memory");
        goto out;
    }
    if (init_model)
        memcpy(params, recur_model_params_const(init_model), P * sizeof *params);
    else if (recur_param_init(&cfg, &init, params, rng) != 0)
        goto out;
    if (ranks > 1) { /* every rank starts from rank 0's weights */
        if (recur_dist_bcast_real(params, P) != 0)
            goto out;
        recur_info("data parallel over %d ranks", ranks);
    }
    opt = recur_optim_alloc(&oc, P);
    tr = opt ? recur_trainer_alloc(&cfg, opt, &to, ds->T, B) : NULL;
    bb = recur_dataset_batch_alloc(ds, ds->T, B);
    if (!opt || !tr || !bb)
        goto out;
    const bool seq_probs = cfg.head == RECUR_HEAD_SEQ && cfg.task != RECUR_TASK_REGRESS;
    if (d.vds && !seq_probs && !(vbb = recur_dataset_batch_alloc(d.vds, d.vds->T, B)))
        goto out;
    if (d.vds && !seq_probs && d.vds->T > ds->T) {
        recur_error("validation records (%zu steps) are longer than training ones (%zu)", d.vds->T,
                    ds->T);
        goto out;
    }
    if (cfg.dropout > 0 && cfg.num_layers == 1)
        recur_info("note: --dropout acts between layers; with one layer it has no effect");
    describe_data(&d, &o);
    recur_info("%zu records of up to %zu steps, %zu features, %s (%s head, %zu outputs); "
               "%s H %zu L %zu%s, %zu parameters",
               d.n_train, ds->T, ds->F, recur_task_name(cfg.task), recur_head_name(cfg.head), ds->O,
               recur_cell_name(cfg.cell), cfg.hidden_size, cfg.num_layers,
               cfg.bidirectional ? " bidirectional" : "", P);
    if (o.balance)
        recur_info("--class-weights auto: %zu rows per epoch (every class drawn up to the "
                   "largest)",
                   per_epoch);

    const bool has_val = d.vds && d.n_val > 0;
    double best_loss = INFINITY;
    size_t since_best = 0, epochs_run = 0;
    size_t start_epoch = 1, start_batch = 0;
    bool mid = false; /* resuming inside an epoch */
    double acc0[ACC_N + 1], best0[4];
    if (!(ep_rng = gsl_rng_alloc(gsl_rng_mt19937)) ||
        !(saved_rng = gsl_rng_alloc(gsl_rng_mt19937))) {
        recur_error("out of memory");
        goto out;
    }
    if (ts) {
        memcpy(recur_optim_m(opt), ts->m, P * sizeof *params);
        if (ts->v)
            memcpy(recur_optim_v(opt), ts->v, P * sizeof *params);
        recur_optim_set_steps(opt, ts->step, ts->skipped);
        memcpy(gsl_rng_state(rng), ts->rng_state, ts->rng_size);
        if (read_cursor(init_model, o.resume, ep_rng, &start_epoch, &start_batch, acc0, best0,
                        &mid) != 0)
            goto out;
        if (!mid)
            start_epoch = (size_t)ts->epoch + 1;
        epochs_run = start_epoch - 1;
        if (mid) {
            best_loss = best0[0];
            since_best = (size_t)best0[1];
            if (best0[3] != 0) {
                if (!ts->best) {
                    recur_error("%s: the checkpoint lacks the best epoch's weights", o.resume);
                    goto out;
                }
                if (snapshot_take(&best, ts->best, opt, P, o.kind == RECUR_OPT_SGD, rng,
                                  (size_t)best0[2]) != 0)
                    goto out;
            }
        }
        recur_info("resuming %s at epoch %zu, batch %zu (update %llu)", o.resume, start_epoch,
                   start_batch + 1, (unsigned long long)ts->step);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    size_t since_ckpt = 0;
    double run_seconds = 0;
    progress_t prog;
    progress_init(&prog, !o.quiet && rank == 0);
    for (size_t epoch = start_epoch; epoch <= o.epochs; epoch++) {
        glog.epoch = epoch;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        size_t n_rows, n_batches;
        const bool here = mid && epoch == start_epoch;
        if (here) { /* the epoch's order is drawn again from its starting generator */
            gsl_rng_memcpy(saved_rng, rng);
            gsl_rng_memcpy(rng, ep_rng);
        }
        gsl_rng_memcpy(ep_rng, rng);
        if (epoch_order(&o, &d, B, rng, order, &n_rows, starts, &n_batches, tmp) != 0)
            goto out;
        epoch_t e = {0};
        if (here) {
            gsl_rng_memcpy(rng, saved_rng);
            acc_unpack(acc0, (size_t)acc0[ACC_N], &e);
            if (start_batch > n_batches) {
                recur_error("%s: batch %zu of %zu: not the data this run was trained on", o.resume,
                            start_batch, n_batches);
                goto out;
            }
        }
        for (size_t bi = here ? start_batch : 0; bi < n_batches; bi++) {
            const size_t s = starts[bi];
            const size_t nb = n_rows - s < B ? n_rows - s : B;
            recur_batch_t b;
            recur_train_stats_t st;
            if (recur_dataset_batch(ds, order + s, nb, bb, &b) != 0)
                goto out;
            if (o.revcomp) {
                for (size_t i = 0; i < nb; i++)
                    flip[i] = (unsigned char)gsl_rng_uniform_int(rng, 2);
                recur_dna_revcomp_batch(bb->x, bb->mask, b.T, nb, flip);
            }
            size_t valid = 0;
            for (size_t i = 0; i < b.T * nb; i++)
                valid += b.mask[i] != 0;
            e.steps += b.T * nb;
            e.padded_steps += b.T * nb - valid;
            const int trc = recur_trainer_batch(tr, params, &b, rng, &st);
            if (trc == RECUR_EDIVERGED) { /* logged by the trainer; -o stays untouched */
                rc = RECUR_EXIT_DIVERGED;
                goto out;
            }
            if (trc != 0)
                goto out;
            if (seq_probs && (o.tbptt == 0 || o.tbptt >= b.T))
                count_right(recur_trainer_engine(tr), &b, &e);
            e.loss_sum += st.loss * (double)st.terms;
            e.terms += st.terms;
            e.updates += st.updates;
            e.skipped += st.skipped;
            e.clipped += st.clipped;
            e.grad_norm_sum += st.grad_norm_sum;
            e.grad_norm_max =
                st.grad_norm_max > e.grad_norm_max ? st.grad_norm_max : e.grad_norm_max;
            since_ckpt += st.updates;
            if (prog.on) { /* this epoch's pace for its rest, the mean epoch for the others */
                struct timespec tn;
                clock_gettime(CLOCK_MONOTONIC, &tn);
                const double el = seconds(&t0, &tn), left = (double)(n_batches - bi - 1);
                const double whole = el / (double)(bi + 1) * (double)n_batches;
                progress_draw(&prog, "train", epoch, o.epochs, bi + 1, n_batches,
                              e.terms ? e.loss_sum / (double)e.terms : NAN,
                              el / (double)(bi + 1) * left + whole * (double)(o.epochs - epoch));
            }
            if (ranks > 1) { /* the ranks act on a signal together, at the same batch */
                double sig[2] = {got_term, got_usr1};
                if (recur_dist_sum_double(sig, 2) != 0)
                    goto out;
                got_term = sig[0] > 0;
                got_usr1 = sig[1] > 0;
            }
            if (got_term || got_usr1 || (o.checkpoint_every && since_ckpt >= o.checkpoint_every)) {
                const cursor_t k = {epoch, bi + 1, ep_rng, &e, best_loss, since_best, &best};
                progress_clear(&prog);
                if (glog.fp && fflush(glog.fp) != 0) { /* its lines must reach the checkpoint */
                    recur_error("%s: cannot write: %s", glog.path, strerror(errno));
                    goto out;
                }
                if (rank == 0 && write_checkpoint(&cfg, &cur, params, opt, rng, &k, ds, &o,
                                                  d.set != NULL, argc, argv) != 0)
                    goto out;
                since_ckpt = 0;
                got_usr1 = 0;
                if (got_term) {
                    recur_info("stopped by SIGTERM; resume with --resume %s", o.out);
                    rc = 128 + SIGTERM;
                    goto out;
                }
            }
        }
        if (has_val) {
            if (validate(&cfg, params, &d, B, o.revcomp, tr, vbb, &e) != 0)
                goto out;
            if (e.val_loss < best_loss) {
                best_loss = e.val_loss;
                since_best = 0;
                e.best = true;
                if (!o.keep_last &&
                    snapshot_take(&best, params, opt, P, o.kind == RECUR_OPT_SGD, rng, epoch) != 0)
                    goto out;
            } else {
                since_best++;
            }
        }
        progress_clear(&prog);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        e.seconds = seconds(&t0, &t1);
        /* ETA: the mean time of this process's epochs so far, times the epochs left */
        run_seconds += e.seconds;
        const double eta =
            run_seconds / (double)(epoch - start_epoch + 1) * (double)(o.epochs - epoch);
        if (report_epoch(epoch, o.epochs, &e, has_val, log, o.log, eta) != 0)
            goto out;
        epochs_run = epoch;
        if (has_val && o.patience && since_best >= o.patience) {
            recur_info("early stop: no lower validation loss in %zu epochs", o.patience);
            break;
        }
    }

    if (!best.params || o.keep_last) {
        if (snapshot_take(&best, params, opt, P, o.kind == RECUR_OPT_SGD, rng, epochs_run) != 0)
            goto out;
    } else {
        recur_info("keeping epoch %zu (validation loss %.4f)", best.epoch, best_loss);
    }
    if (!(model = make_model(&cfg, &best, NULL, ds, &o, d.set != NULL, argc, argv)))
        goto out;
    if (rank == 0 && recur_model_save(model, o.out) != 0)
        goto out;
    if (rank == 0)
        recur_info("wrote %s", o.out);
    rc = RECUR_EXIT_OK;
out:
    if (rc != RECUR_EXIT_OK && rc != 128 + SIGTERM && recur_dist_size() > 1)
        recur_dist_abort(rc); /* the other ranks would wait for this one forever */
    if (log && log != stdout && fclose(log) != 0 && rc == RECUR_EXIT_OK) {
        recur_error("%s: cannot write: %s", o.log, strerror(errno));
        rc = RECUR_EXIT_ERROR;
    }
    if (glog.fp && (glog.fp == stdout ? fflush(glog.fp) : fclose(glog.fp)) != 0 &&
        rc == RECUR_EXIT_OK) {
        recur_error("%s: cannot write: %s", o.grad_log, strerror(errno));
        rc = RECUR_EXIT_ERROR;
    }
    recur_model_free(model);
    snapshot_free(&best);
    snapshot_free(&cur);
    gsl_rng_free(ep_rng);
    gsl_rng_free(saved_rng);
    recur_dataset_batch_free(bb);
    recur_dataset_batch_free(vbb);
    recur_trainer_free(tr);
    recur_optim_free(opt);
    free(flip);
    free(tmp);
    free(starts);
    free(order);
    free(params);
    gsl_rng_free(rng);
    data_free(&d);
    recur_model_free(init_model);
    recur_cli_inputs_free(&o.in);
    return rc;
}
