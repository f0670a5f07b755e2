/* train_opts.c - the training options of train_opts.h: parsing, checks and help. */
#include <stdint.h>
#include <string.h>

#include "cli.h"
#include "train_opts.h"

const char recur_cli_train_help[] =
    "Training:\n"
    "  --epochs N              passes over the training records (default 10, DNA 40; 0 writes\n"
    "                          the initialised, untrained model, e.g. for diagnose)\n"
    "  --batch-size B          records (forecasting: windows, or series with --head step)\n"
    "                          per batch (default 32)\n"
    "  --optimizer sgd|adam|adamw\n"
    "                          update rule with PyTorch's semantics (default adam)\n"
    "  --lr X                  learning rate (default: 0.001 for adam/adamw - DNA\n"
    "                          classifiers 0.005 - and 0.01 for sgd)\n"
    "  --momentum M            SGD momentum (sgd only, default 0)\n"
    "  --weight-decay W        L2 for sgd/adam, decoupled for adamw (defaults 0, 0,\n"
    "                          0.01)\n"
    "  --clip NORM             rescale the gradient to global L2 norm NORM when above it\n"
    "                          (default 0: off; DNA classifiers 1)\n"
    "  --act-reg L             activation regulariser: adds L sum_t ||h_t||^2 over the top\n"
    "                          layer's states at the valid steps, per loss term (Merity\n"
    "                          et al. 2017; default 0: off)\n"
    "  --act-reg-unmasked      experiment only, wrong on purpose: the regulariser also\n"
    "                          over padded steps, which leaks gradient from the padding\n"
    "                          into real steps (see `recur diagnose --padding`)\n"
    "  --tbptt K               truncated BPTT: one update per window of K steps, state\n"
    "                          carried across windows (default 0: full BPTT; forecasting\n"
    "                          with --head step: 0 means K = 100)\n"
    "  --patience N            stop after N epochs without a lower validation loss\n"
    "                          (default 0: run every epoch; DNA classifiers 5)\n"
    "  --keep best|last        model to write: the epoch with the lowest validation loss\n"
    "                          (default) or the last; without validation rows, the last.\n"
    "                          --keep-best is --keep best\n"
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
    "                          chunks of 50 batches, and the batches shuffled)\n"
    "  -@, --threads N         threads for the batch's shards, OpenBLAS and htslib\n"
    "                          decompression (default 1; results do not depend on N)\n"
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
    "                          exit 143), as SLURM sends before a time limit. The\n"
    "                          checkpoint before is kept as MODEL.prev\n"
    "  --resume CKPT           continue the run that wrote CKPT exactly: weights,\n"
    "                          optimizer moments and step, the generator's state and\n"
    "                          seed, the epoch's data order and position, the best epoch\n"
    "                          so far and the logs (cut back to what CKPT had done); give\n"
    "                          the same data and options. The architecture and encoding\n"
    "                          come from CKPT (CKPT.prev when CKPT is damaged). A resumed\n"
    "                          run ends with exactly the model of an uninterrupted one\n"
    "  --init MODEL            start from this model's architecture and weights (its\n"
    "                          classes and encoding too, unless given here)\n"
    "\n"
    "Output:\n"
    "  -o, --output MODEL      model file to write (HDF5, under a temporary name, renamed\n"
    "                          when complete)\n"
    "  --log FILE              one JSON object per epoch (epoch, loss, acc, val_loss,\n"
    "                          val_acc, val_balanced_acc, best, updates, skipped,\n"
    "                          clipped, grad_norm_mean, grad_norm_max, padding, seconds;\n"
    "                          null when not a number); - = standard output\n"
    "  --grad-log FILE         one TSV line per update: update, epoch, loss, grad_norm\n"
    "                          (before clipping), grad_norm_clipped (the norm applied),\n"
    "                          skipped (1 when not finite); `recur diagnose --train-log`\n"
    "                          summarises it\n"
    "                          Both logs are written as FILE.part while training runs and\n"
    "                          renamed to FILE when it ends; after SIGTERM or a crash the\n"
    "                          .part file stays for --resume, after an error it is removed\n"
    "  -q, --quiet             no progress lines on stderr\n";

void recur_cli_train_init(recur_cli_train_t *o)
{
    *o = (recur_cli_train_t){.epochs = 10,
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
                             .clip = 0};
}

/* --keep, --class-weights: w0 or w1; *out tells whether it is `yes`. */
static int word(const char *opt, const char *arg, const char *w0, const char *w1, const char *yes,
                bool *out)
{
    if (strcmp(arg, w0) == 0 || strcmp(arg, w1) == 0) {
        *out = strcmp(arg, yes) == 0;
        return 0;
    }
    recur_error("%s: expected %s or %s, got '%s'", opt, w0, w1, arg);
    return RECUR_EINVAL;
}

int recur_cli_train_option(int code, const char *arg, recur_cli_train_t *o, recur_config_t *cfg)
{
    int bad = 0;
    switch (code) {
    case 'o':
        o->out = arg;
        break;
    case RECUR_CLI_T_DROPOUT:
        bad = recur_cli_double("--dropout", arg, 0.0, 0.999999, &cfg->dropout);
        o->dropout_opt = arg;
        break;
    case RECUR_CLI_T_EPOCHS:
        bad = recur_cli_size("--epochs", arg, 0, 100000000, &o->epochs);
        o->epochs_given = true;
        break;
    case RECUR_CLI_T_BATCH_SIZE:
        bad = recur_cli_size("--batch-size", arg, 1, 1000000, &o->batch_size);
        break;
    case RECUR_CLI_T_OPTIMIZER:
        if (recur_optim_parse(arg, &o->kind) != 0) {
            recur_error("--optimizer: expected sgd, adam or adamw, got '%s'", arg);
            bad = 1;
        }
        break;
    case RECUR_CLI_T_LR:
        bad = recur_cli_double("--lr", arg, 1e-12, 1e6, &o->lr);
        break;
    case RECUR_CLI_T_MOMENTUM:
        bad = recur_cli_double("--momentum", arg, 0.0, 0.999999, &o->momentum);
        break;
    case RECUR_CLI_T_WEIGHT_DECAY:
        bad = recur_cli_double("--weight-decay", arg, 0.0, 1e6, &o->weight_decay);
        break;
    case RECUR_CLI_T_CLIP:
        bad = recur_cli_double("--clip", arg, 0.0, 1e12, &o->clip);
        o->clip_given = true;
        break;
    case RECUR_CLI_T_TBPTT:
        bad = recur_cli_size("--tbptt", arg, 0, 100000000, &o->tbptt);
        o->tbptt_given = true;
        break;
    case RECUR_CLI_T_SEED:
        bad = recur_cli_ulong("--seed", arg, &o->seed);
        break;
    case RECUR_CLI_T_NO_SHUFFLE:
        o->shuffle = false;
        break;
    case RECUR_CLI_T_NO_BUCKET:
        o->bucket = false;
        break;
    case '@':
        bad = recur_cli_size("-@", arg, 1, 1024, &o->threads);
        break;
    case RECUR_CLI_T_LOG:
        o->log = arg;
        break;
    case RECUR_CLI_T_GRAD_LOG:
        o->grad_log = arg;
        break;
    case RECUR_CLI_T_ACT_REG:
        bad = recur_cli_double("--act-reg", arg, 0, 1e6, &o->act_reg);
        break;
    case RECUR_CLI_T_ACT_REG_UNMASKED:
        o->act_reg_all = true;
        break;
    case RECUR_CLI_T_MAX_BAD_STEPS:
        bad = recur_cli_size("--max-bad-steps", arg, 1, 1000000000, &o->max_bad_steps);
        break;
    case RECUR_CLI_T_NAN_AT_STEP:
        bad = recur_cli_ulong("--nan-at-step", arg, &o->nan_at_step);
        break;
    case RECUR_CLI_T_PATIENCE:
        bad = recur_cli_size("--patience", arg, 0, 100000000, &o->patience);
        o->patience_given = true;
        break;
    case RECUR_CLI_T_KEEP:
        bad = word("--keep", arg, "best", "last", "last", &o->keep_last);
        o->keep_opt = o->keep_last ? "--keep last" : "--keep best";
        break;
    case RECUR_CLI_T_KEEP_BEST:
        o->keep_last = false;
        o->keep_opt = "--keep-best";
        break;
    case RECUR_CLI_T_CLASS_WEIGHTS:
        bad = word("--class-weights", arg, "auto", "none", "auto", &o->balance);
        break;
    case RECUR_CLI_T_REVCOMP:
        o->revcomp = true;
        break;
    case RECUR_CLI_T_INIT:
        o->init = arg;
        break;
    case RECUR_CLI_T_RESUME:
        o->resume = arg;
        break;
    case RECUR_CLI_T_DET_REDUCE:
        o->det_reduce = true;
        break;
    case RECUR_CLI_T_SHARD_ROWS:
        bad = recur_cli_size("--shard-rows", arg, 1, (size_t)1 << 24, &o->shard_rows);
        break;
    case RECUR_CLI_T_CHECKPOINT_EVERY:
        bad = recur_cli_size("--checkpoint-every", arg, 1, SIZE_MAX, &o->checkpoint_every);
        break;
    case 'q':
        o->quiet = true;
        break;
    default:
        return 0;
    }
    return bad ? RECUR_EINVAL : 1;
}

const char *recur_cli_train_check(const recur_cli_train_t *o)
{
    if (!o->out)
        return "missing -o MODEL";
    if (strcmp(o->out, "-") == 0)
        return "-o: the model cannot be written to standard output (HDF5 needs a file)";
    if (o->momentum >= 0 && o->kind != RECUR_OPT_SGD)
        return "--momentum applies to --optimizer sgd only";
    if (o->init && o->resume)
        return "--init and --resume exclude each other";
    return NULL;
}

void recur_cli_train_fit_opts(const recur_cli_train_t *o, recur_fit_opts_t *fo)
{
    memset(fo, 0, sizeof *fo);
    recur_optim_defaults(o->kind, &fo->optim);
    if (o->lr >= 0)
        fo->optim.lr = o->lr;
    if (o->momentum >= 0)
        fo->optim.momentum = o->momentum;
    if (o->weight_decay >= 0)
        fo->optim.weight_decay = o->weight_decay;
    fo->optim.clip = o->clip;
    fo->train = (recur_train_opts_t){.tbptt = o->tbptt,
                                     .max_bad_steps = o->max_bad_steps,
                                     .nan_at_step = o->nan_at_step,
                                     .threads = o->threads,
                                     .shard_rows = o->shard_rows,
                                     .deterministic_reduce = o->det_reduce,
                                     .act_reg = o->act_reg,
                                     .act_reg_all = o->act_reg_all};
    fo->epochs = o->epochs;
    fo->batch_size = o->batch_size;
    fo->shuffle = o->shuffle;
    fo->bucket = o->bucket;
    fo->balance = o->balance;
    fo->revcomp = o->revcomp;
    fo->patience = o->patience;
    fo->keep_last = o->keep_last;
}
