/* train_opts.h - the training options of `recur train`, the same for every kind of data (DNA
 * records, encoded datasets, forecasting series): the optimizer, the epochs and batches, the
 * order, validation and patience, checkpoints and resuming, the logs. Parsing and their help
 * text; train_run.h runs what they describe. Command-line side only. */
#ifndef RECUR_CLI_TRAIN_OPTS_H
#define RECUR_CLI_TRAIN_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <recur/engine.h>
#include <recur/fit.h>
#include <recur/optim.h>

/* Long-option codes of the training options, above the DNA input codes (1024..) and below the
 * series codes (2048..). */
enum {
    RECUR_CLI_T_DROPOUT = 1536,
    RECUR_CLI_T_EPOCHS,
    RECUR_CLI_T_BATCH_SIZE,
    RECUR_CLI_T_OPTIMIZER,
    RECUR_CLI_T_LR,
    RECUR_CLI_T_MOMENTUM,
    RECUR_CLI_T_WEIGHT_DECAY,
    RECUR_CLI_T_CLIP,
    RECUR_CLI_T_TBPTT,
    RECUR_CLI_T_SEED,
    RECUR_CLI_T_NO_SHUFFLE,
    RECUR_CLI_T_NO_BUCKET,
    RECUR_CLI_T_LOG,
    RECUR_CLI_T_GRAD_LOG,
    RECUR_CLI_T_ACT_REG,
    RECUR_CLI_T_ACT_REG_UNMASKED,
    RECUR_CLI_T_MAX_BAD_STEPS,
    RECUR_CLI_T_NAN_AT_STEP,
    RECUR_CLI_T_PATIENCE,
    RECUR_CLI_T_KEEP,
    RECUR_CLI_T_KEEP_BEST,
    RECUR_CLI_T_CLASS_WEIGHTS,
    RECUR_CLI_T_REVCOMP,
    RECUR_CLI_T_INIT,
    RECUR_CLI_T_RESUME,
    RECUR_CLI_T_CHECKPOINT_EVERY,
    RECUR_CLI_T_DET_REDUCE,
    RECUR_CLI_T_SHARD_ROWS
};

// clang-format off
#define RECUR_CLI_TRAIN_LONGOPTS                                                    \
    {"output", required_argument, NULL, 'o'},                                       \
    {"dropout", required_argument, NULL, RECUR_CLI_T_DROPOUT},                      \
    {"epochs", required_argument, NULL, RECUR_CLI_T_EPOCHS},                        \
    {"batch-size", required_argument, NULL, RECUR_CLI_T_BATCH_SIZE},                \
    {"optimizer", required_argument, NULL, RECUR_CLI_T_OPTIMIZER},                  \
    {"lr", required_argument, NULL, RECUR_CLI_T_LR},                                \
    {"momentum", required_argument, NULL, RECUR_CLI_T_MOMENTUM},                    \
    {"weight-decay", required_argument, NULL, RECUR_CLI_T_WEIGHT_DECAY},            \
    {"clip", required_argument, NULL, RECUR_CLI_T_CLIP},                            \
    {"tbptt", required_argument, NULL, RECUR_CLI_T_TBPTT},                          \
    {"seed", required_argument, NULL, RECUR_CLI_T_SEED},                            \
    {"no-shuffle", no_argument, NULL, RECUR_CLI_T_NO_SHUFFLE},                      \
    {"no-bucket", no_argument, NULL, RECUR_CLI_T_NO_BUCKET},                        \
    {"threads", required_argument, NULL, '@'},                                      \
    {"log", required_argument, NULL, RECUR_CLI_T_LOG},                              \
    {"grad-log", required_argument, NULL, RECUR_CLI_T_GRAD_LOG},                    \
    {"act-reg", required_argument, NULL, RECUR_CLI_T_ACT_REG},                      \
    {"act-reg-unmasked", no_argument, NULL, RECUR_CLI_T_ACT_REG_UNMASKED},          \
    {"max-bad-steps", required_argument, NULL, RECUR_CLI_T_MAX_BAD_STEPS},          \
    {"nan-at-step", required_argument, NULL, RECUR_CLI_T_NAN_AT_STEP},              \
    {"patience", required_argument, NULL, RECUR_CLI_T_PATIENCE},                    \
    {"keep", required_argument, NULL, RECUR_CLI_T_KEEP},                            \
    {"keep-best", no_argument, NULL, RECUR_CLI_T_KEEP_BEST},                        \
    {"class-weights", required_argument, NULL, RECUR_CLI_T_CLASS_WEIGHTS},          \
    {"revcomp", no_argument, NULL, RECUR_CLI_T_REVCOMP},                            \
    {"init", required_argument, NULL, RECUR_CLI_T_INIT},                            \
    {"resume", required_argument, NULL, RECUR_CLI_T_RESUME},                        \
    {"checkpoint-every", required_argument, NULL, RECUR_CLI_T_CHECKPOINT_EVERY},    \
    {"deterministic-reduce", no_argument, NULL, RECUR_CLI_T_DET_REDUCE},            \
    {"shard-rows", required_argument, NULL, RECUR_CLI_T_SHARD_ROWS},                \
    {"quiet", no_argument, NULL, 'q'}
// clang-format on

/* Everything the training options set. Unset numbers of the optimizer are negative: its
 * default. */
typedef struct {
    const char *out;         /* -o MODEL */
    const char *log;         /* --log FILE: one JSON object per epoch */
    const char *grad_log;    /* --grad-log FILE: one TSV line per update */
    const char *init;        /* --init MODEL */
    const char *resume;      /* --resume MODEL: continue that run exactly */
    size_t checkpoint_every; /* rewrite -o with the full state every N updates (0: never) */
    bool det_reduce;         /* --deterministic-reduce */
    size_t shard_rows;       /* --shard-rows (0: the trainer's default) */
    size_t epochs, batch_size, tbptt, threads, max_bad_steps, patience;
    unsigned long seed, nan_at_step;
    bool shuffle, bucket, quiet, revcomp, keep_last, balance;
    const char *keep_opt; /* "--keep best", "--keep last" or "--keep-best" when given */
    bool tbptt_given;     /* --tbptt appeared */
    bool epochs_given;    /* --epochs appeared */
    bool clip_given;      /* --clip appeared */
    bool patience_given;  /* --patience appeared */
    recur_optim_kind_t kind;
    double lr, momentum, weight_decay, clip;
    double act_reg;          /* --act-reg lambda */
    bool act_reg_all;        /* --act-reg-unmasked (experiment-only) */
    const char *dropout_opt; /* --dropout's value when given */
} recur_cli_train_t;

/* The defaults: epochs 10, batch 32, adam, seed 1, shuffling and bucketing, keep best. */
void recur_cli_train_init(recur_cli_train_t *o);

/* Applies training option `code` with argument arg (dropout into cfg). 1 when code is a training
 * option and its value is good, 0 when it is not one (nothing changed), RECUR_EINVAL (logged)
 * for a bad value. */
int recur_cli_train_option(int code, const char *arg, recur_cli_train_t *o, recur_config_t *cfg);

/* Checks the training options together once parsing is done: -o given and a file, --momentum
 * with sgd only, --init and --resume apart. NULL when fine, else the reason. */
const char *recur_cli_train_check(const recur_cli_train_t *o);

/* The library's options for these: optimizer (PyTorch's defaults where unset), trainer, order,
 * patience, keep. */
void recur_cli_train_fit_opts(const recur_cli_train_t *o, recur_fit_opts_t *fo);

/* Option help for usage texts (the options above, by group). */
extern const char recur_cli_train_help[];

#endif
