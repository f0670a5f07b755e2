/* cmd_train.c - `recur train`: one command for every kind of training data - DNA records (FASTA,
 * BED on a reference, SAM/BAM/CRAM), an encoded dataset (--data) and weather and climate series
 * (--h5, in cmd_train_series.c). The options are parsed once; the data are read and encoded,
 * with a validation split or validation inputs; the run itself is the library's loop
 * (recur/fit.h) driven by train_run.c (signals, MPI, checkpoints, logs, the model file). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include <recur/baseline.h>
#include <recur/dataset.h>
#include <recur/dist.h>
#include <recur/dna.h>
#include <recur/engine.h>
#include <recur/fit.h>
#include <recur/model.h>

#include "cli.h"
#include "cmd_train_series.h"
#include "progress.h"
#include "series_opts.h"
#include "train_opts.h"
#include "train_run.h"

static void usage(FILE *fp)
{
    fprintf(
        fp,
        "Usage: recur train --data FILE -o MODEL [options]\n"
        "       recur train --fasta FILE[:LABEL] ... -o MODEL [options]\n"
        "       recur train (--bed FILE --ref FASTA | --bam FILE[:LABEL]) ... -o MODEL [...]\n"
        "       recur train --h5 FILE (--vars A,B | --dataset PATH) -o MODEL [options]\n"
        "\n"
        "Fits a recurrent network by mini-batch backpropagation through time and writes the\n"
        "model file MODEL (HDF5, written to a temporary name and renamed, so an existing MODEL\n"
        "is replaced only by a complete file). Every kind of data trains through the same loop,\n"
        "with the same options: labelled DNA records, an encoded dataset, or a weather or\n"
        "climate series (forecasting: `recur train --h5 FILE --help` for its own options).\n"
        "DNA records are one-hot encoded (A, C, G, T; N and other IUPAC codes 0.25 each);\n"
        "classes are the labels in order of first appearance on the command line. The model\n"
        "keeps the classes and the encoding, so that eval and predict need only -m MODEL.\n"
        "\n"
        "One contract for every command that reads data: the same inputs (raw DNA, --h5 or\n"
        "--data); an option that restates what the data or the model (--init, --resume) fix -\n"
        "--head, --task, --input, --outputs, the architecture - is accepted when it agrees and\n"
        "refused (exit 2, both values named) when it conflicts; every output file is written\n"
        "under a temporary name and renamed.\n"
        "\n"
        "Example:\n"
        "  recur train --fasta pos.fa:promoter --fasta neg.fa:background -o m.h5\n"
        "\n"
        "Inputs (raw inputs, --data or --h5):\n"
        "%s"
        "  --task classify|multilabel\n"
        "                          one label per record (softmax), or several (sigmoids)\n"
        "                          (default classify)\n"
        "\n"
        "Validation (the model written is the epoch with the lowest validation loss):\n"
        "  --val-fraction F        stratified random share of the records held out (seeded;\n"
        "                          windows of one record stay together; default 0.1; 0 = none)\n"
        "  --no-baselines          do not fit the baselines beside a DNA classifier (majority,\n"
        "                          k-mer and one-hot logistic regression on the training rows,\n"
        "                          shown at every epoch, kept in the model, scored by eval)\n"
        "%s"
        "\n"
        "Architecture (defaults: lstm, H 64, L 1, pool last; DNA classifiers - 4 one-hot\n"
        "channels, one label per record - gru, bidirectional, pool max, with Adam at\n"
        "--lr 0.005, --clip 1, --epochs 40 and --patience 5 when there are validation rows,\n"
        "chosen on the real-task suite (README, Defaults); with --init or --resume the\n"
        "architecture comes from the model):\n"
        "  --cell rnn|lstm|gru     recurrent cell\n"
        "  --hidden H              hidden units per layer and direction (1..65536)\n"
        "  --layers L              stacked layers (1..64)\n"
        "  --bidirectional         add a reverse direction to every layer\n"
        "  --pool last|mean|max    sequence-head pooling over the valid steps\n"
        "  --head seq|step         restates the data's head (DNA records: seq)\n"
        "  --input N, --outputs N  restate the data's features and outputs\n"
        "  --dropout P             dropout on the outputs of every layer but the last,\n"
        "                          during training (0 <= P < 1, default 0)\n"
        "  --orthogonal            orthogonal recurrent weights at initialisation\n"
        "  --forget-bias F         LSTM forget-gate (GRU update-gate) bias at initialisation\n"
        "                          (default 0)\n"
        "  --spectral-radius R     rescale each gate's recurrent (H, H) block to spectral\n"
        "                          radius R at initialisation (largest |eigenvalue|)\n"
        "\n"
        "%s"
        "  -h, --help              this text\n"
        "\n"
        "Each epoch prints one line on stderr: the mean training loss and the running\n"
        "accuracy of its batches (before each update), the validation loss and accuracy\n"
        "(marked * when the best so far), the mean and largest gradient norm before clipping,\n"
        "the clipped and skipped updates, the share of padded steps in the batches, the time.\n"
        "\n"
        "Exit status: 0 ok; 1 bad input or I/O error (the inputs, the log, the model file, a\n"
        "single class); 2 usage error (missing inputs or -o, bad option values, a restated\n"
        "option that conflicts); 3 training diverged (the model file is not written and an\n"
        "existing one is left as it was); 143 stopped by SIGTERM after writing a checkpoint.\n",
        recur_cli_input_help, recur_cli_val_help, recur_cli_train_help);
}

/* ---- Options --------------------------------------------------------------------------------- */

/* Everything the command line sets. */
enum { OPT_NO_BASELINES = RECUR_CLI_FIRST_FREE };

typedef struct {
    recur_cli_train_t t;
    recur_cli_inputs_t in;
    recur_cli_series_t src;
    double val_fraction;    /* DNA and --data: the random validation share */
    bool val_given;         /* --val-fraction appeared */
    uint32_t arch_given;    /* bit (code - RECUR_CLI_CELL): that architecture option appeared */
    bool no_baselines;      /* --no-baselines */
    const char *dna_opt;    /* a DNA-only option given (refused with --h5) */
    const char *series_opt; /* a series-only option given (refused without --h5) */
} train_cmd_t;

static bool arch_given(const train_cmd_t *o, int code)
{
    return (o->arch_given >> (code - RECUR_CLI_CELL)) & 1u;
}

/* The checks of the options together. NULL, or the reason. */
static const char *check(train_cmd_t *o, const recur_config_t *cfg)
{
    const bool series = o->src.h5 != NULL, raw = o->in.n_in > 0;
    const recur_cli_train_t *t = &o->t;
    const char *why = NULL;
    const bool no_val = o->val_given && (series ? o->src.val : o->val_fraction) <= 0 &&
                        !o->in.n_val && !o->in.val_data;
    if (series && (raw || o->in.data))
        why = "--h5 and DNA inputs or --data exclude each other";
    else if (!series && !o->in.data && !raw)
        why = "missing --data FILE, raw inputs (--fasta, --bed, --bam) or --h5 FILE";
    else if (series && o->dna_opt)
        return o->dna_opt;
    else if (!series && o->series_opt)
        return o->series_opt;
    else if ((why = recur_cli_train_check(t)))
        ;
    else if (series && (why = recur_cli_series_check(&o->src, !t->init && !t->resume)))
        ;
    else if (raw && o->in.dna.task == RECUR_TASK_REGRESS)
        why = "--task: DNA records are classified: classify or multilabel";
    else if (!series && o->in.data && strcmp(o->in.data, "-") == 0)
        why = "--data: the dataset cannot be read from standard input (HDF5 needs a file)";
    else if (o->in.n_val && !raw)
        why = "--val-fasta/--val-bed/--val-bam go with raw training inputs (with --data: "
              "--val-data)";
    else if (o->in.val_data && raw)
        why = "--val-data goes with --data (with raw inputs: --val-fasta/--val-bed/--val-bam)";
    else if (o->in.dna.windows && !o->in.dna.max_len && !t->init && !t->resume)
        why = "--windows needs --max-len N (the window length)";
    else if (t->balance && o->in.dna.task == RECUR_TASK_MULTILABEL)
        why = "--class-weights auto: classify only (per-label weights would need the engine's "
              "loss)";
    else if (no_val && ((t->keep_opt && !t->keep_last) || t->patience))
        return t->keep_opt && strcmp(t->keep_opt, "--keep best") == 0
                   ? "--keep best and --patience need a validation split (--val-fraction > 0)"
                   : "--keep-best and --patience need a validation split (--val-fraction > 0)";
    else if (series && cfg->head == RECUR_HEAD_STEP && cfg->bidirectional)
        why = "--bidirectional with --head step: the reverse direction would see the future";
    if (why)
        return why;
    return series ? NULL : recur_cli_inputs_check(&o->in) ? "" : NULL;
}

/* Parses argv into o, cfg and init. 0, 1 after --help (printed), or RECUR_EINVAL (logged). */
static int parse(int argc, char *argv[], train_cmd_t *o, recur_config_t *cfg, recur_init_t *init)
{
    static const struct option longopts[] = {
        RECUR_CLI_ARCH_LONGOPTS,
        RECUR_CLI_INPUT_LONGOPTS,
        RECUR_CLI_VAL_LONGOPTS,
        RECUR_CLI_SERIES_LONGOPTS,
        RECUR_CLI_ENCODING_LONGOPTS,
        RECUR_CLI_TRAIN_LONGOPTS,
        {"no-baselines", no_argument, NULL, OPT_NO_BASELINES},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const bool series = recur_cli_series_requested(argc, argv);
    optind = 0; /* glibc: a full re-initialisation */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:@:qh", longopts, NULL)) != -1) {
        int a;
        if (c == 'h') {
            if (series)
                recur_cli_train_series_usage(stdout);
            else
                usage(stdout);
            printf("\n%s", recur_cli_contract_help);
            return 1;
        }
        if (c >= RECUR_CLI_CELL && c < RECUR_CLI_FIRST_FREE)
            o->arch_given |= 1u << (c - RECUR_CLI_CELL);
        if (c == RECUR_CLI_TASK) { /* raw DNA: chooses how labels are read */
            if (recur_task_parse(optarg, &o->in.dna.task) != 0 ||
                recur_task_parse(optarg, &cfg->task) != 0) {
                recur_error("--task: expected classify, multilabel or regress, got '%s'", optarg);
                return RECUR_EINVAL;
            }
            continue;
        }
        if ((a = recur_cli_arch_option(c, optarg, cfg, init)) != 0) {
            if (a < 0)
                return RECUR_EINVAL;
            continue;
        }
        if (c == OPT_NO_BASELINES) {
            o->no_baselines = true;
            if (!o->dna_opt)
                o->dna_opt = "--no-baselines: the baselines of series are computed by eval";
            continue;
        }
        if (c == RECUR_CLI_S_VAL_FRACTION) {
            if (recur_cli_double("--val-fraction", optarg, 0.0, 0.9, &o->val_fraction) != 0)
                return RECUR_EINVAL;
            o->val_given = true;
        }
        if ((a = recur_cli_series_option(c, optarg, &o->src)) != 0) {
            if (a < 0)
                return RECUR_EINVAL;
            if (c != RECUR_CLI_S_VAL_FRACTION && c != RECUR_CLI_S_H5 && !o->series_opt)
                o->series_opt = "options --vars, --dataset, --target, --select, --time-dim, "
                                "--window, --horizon, --stride, --test-fraction, --calendar and "
                                "--missing-indicators go with --h5";
            continue;
        }
        if ((a = recur_cli_input_option(c, optarg, &o->in)) != 0) {
            if (a < 0)
                return RECUR_EINVAL;
            if (!o->dna_opt)
                o->dna_opt = "--h5: the DNA input options do not apply to series";
            continue;
        }
        if ((a = recur_cli_train_option(c, optarg, &o->t, cfg)) != 0) {
            if (a < 0)
                return RECUR_EINVAL;
            if ((c == RECUR_CLI_T_CLASS_WEIGHTS || c == RECUR_CLI_T_REVCOMP) && !o->dna_opt)
                o->dna_opt = "--class-weights and --revcomp apply to DNA records, not series";
            continue;
        }
        recur_cli_bad_option(c, argv);
        return RECUR_EINVAL;
    }
    if (optind < argc) {
        recur_error("unexpected argument '%s' (see 'recur train --help')", argv[optind]);
        return RECUR_EINVAL;
    }
    const char *why = check(o, cfg);
    if (why && *why)
        recur_error("%s (see 'recur train --help')", why);
    return why ? RECUR_EINVAL : 0;
}

/* ---- Restated options ------------------------------------------------------------------------
 * An option that restates what the data or the start model fix is accepted when it agrees and
 * refused, naming both values, when it conflicts. */

/* Every given option among codes[0..n-1] (and --dropout) checked against fixed, whose = "the
 * data's" or "the model's". 0, or RECUR_EINVAL with one logged line. */
static int restated(const train_cmd_t *o, const int *codes, size_t n, const recur_config_t *given,
                    const recur_config_t *fixed, const char *whose, bool dropout)
{
    if (recur_cli_arch_restated(o->arch_given, codes, n, given, fixed, whose) != 0)
        return RECUR_EINVAL;
    if (dropout && o->t.dropout_opt) {
        char a[32], b[32];
        snprintf(a, sizeof a, "%g", given->dropout);
        snprintf(b, sizeof b, "%g", fixed->dropout);
        return recur_cli_restated("dropout", a, whose, b);
    }
    return 0;
}

/* The options the data fix: the head, the features, the outputs, the task. */
static int restated_data(const train_cmd_t *o, const recur_config_t *given,
                         const recur_config_t *data)
{
    static const int codes[] = {RECUR_CLI_HEAD, RECUR_CLI_INPUT, RECUR_CLI_OUTPUTS, RECUR_CLI_TASK};
    return restated(o, codes, sizeof codes / sizeof *codes, given, data, "the data's", false);
}

/* The options a start model fixes: its whole architecture. Options that act only at
 * initialisation are refused with --init (they would do nothing), and accepted with --resume (the
 * command line of the run repeated). */
static int restated_model(const train_cmd_t *o, const recur_config_t *given,
                          const recur_config_t *model)
{
    if (o->t.init && recur_cli_init_only(o->arch_given, o->t.init) != 0)
        return RECUR_EINVAL;
    return restated(o, recur_cli_arch_fixed, RECUR_CLI_ARCH_FIXED_N, given, model, "the model's",
                    true);
}

/* ---- DNA records and encoded datasets -------------------------------------------------------- */

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

/* Copies the encoding options not given on the command line from the start model. */
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

/* Raw DNA inputs (and validation inputs), encoded as the start model's when there is one. */
static int read_raw(train_cmd_t *o, const recur_model_t *start, data_t *d)
{
    size_t n_cls = 0;
    const char *const *cls = start ? recur_model_strings(start, "classes", &n_cls) : NULL;
    recur_dna_opts_t dopt = o->in.dna;
    if (start) {
        dopt.task = recur_model_config(start)->task;
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
    return 0;
}

/* --data (and --val-data). */
static int read_data(train_cmd_t *o, const recur_model_t *start, data_t *d)
{
    size_t n_cls = 0;
    const char *const *cls = start ? recur_model_strings(start, "classes", &n_cls) : NULL;
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
    if (start && !same_classes(d->ds, cls, n_cls)) {
        recur_error("%s: classes differ from those of %s", o->in.data,
                    o->t.init ? o->t.init : o->t.resume);
        return RECUR_EFORMAT;
    }
    return 0;
}

/* Reads the training data and the validation data (or splits it off). rng draws the split. */
static int load_data(train_cmd_t *o, const recur_model_t *start, gsl_rng *rng, data_t *d)
{
    int rc = o->in.n_in ? read_raw(o, start, d) : read_data(o, start, d);
    if (rc != 0)
        return rc;
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
static void describe_data(const data_t *d, const train_cmd_t *o)
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

/* The baselines of a DNA classifier (recur/baseline.h) on the run's own training and validation
 * rows, with their validation accuracies on stderr; none for other data. 0 or an error code. */
static int fit_baselines(const data_t *d, recur_baselines_t *bs)
{
    const recur_dataset_t *ds = d->ds;
    if (ds->F != RECUR_DNA_CHANNELS || ds->head != RECUR_HEAD_SEQ ||
        ds->task == RECUR_TASK_REGRESS || !d->n_train)
        return 0;
    const double t0 = progress_now();
    if (recur_baselines_fit(ds, d->train, d->n_train, d->vds, d->val, d->n_val, NULL, bs) != 0)
        return RECUR_EXIT_ERROR;
    char line[512];
    size_t len = 0;
    for (size_t i = 0; i < bs->n && len < sizeof line; i++) {
        const recur_baseline_t *b = &bs->b[i];
        char what[32] = "";
        if (b->kind == RECUR_BASELINE_KMER)
            snprintf(what, sizeof what, " (k %zu)", b->k);
        len += (size_t)snprintf(line + len, sizeof line - len, "%s%s%s %.4f", i ? ", " : "",
                                recur_baseline_name(b->kind), what, b->val_acc);
    }
    recur_info("baselines, validation accuracy%s: %s (%.1f s)",
               d->n_val ? "" : " on a fifth of the training rows", line, progress_now() - t0);
    return 0;
}

/* The classes and the DNA encoding, into every model the run writes. */
typedef struct {
    const train_cmd_t *o;
    const data_t *d;
    const recur_baselines_t *bs; /* NULL: none */
} dna_meta_t;

static int annotate_dna(void *ctx, recur_model_t *m)
{
    const dna_meta_t *a = ctx;
    const recur_dataset_t *ds = a->d->ds;
    const recur_cli_inputs_t *in = &a->o->in;
    const bool dna = a->d->set != NULL, revcomp = a->o->t.revcomp;
    const char *enc = "dna-onehot";
    const double max_len = (double)in->dna.max_len, windows = in->dna.windows,
                 n_zero = in->dna.n_zero, rc_flag = revcomp;
    int rc = 0;
    if (ds->classes)
        rc = recur_model_set_strings(m, "classes", (const char *const *)ds->classes, ds->O);
    if (rc == 0 && dna)
        rc = recur_model_set_strings(m, "encoding", &enc, 1);
    if (rc == 0 && dna)
        rc = recur_model_set_numbers(m, "dna_max_len", &max_len, 1);
    if (rc == 0 && dna)
        rc = recur_model_set_numbers(m, "dna_windows", &windows, 1);
    if (rc == 0 && dna)
        rc = recur_model_set_numbers(m, "dna_n_zero", &n_zero, 1);
    if (rc == 0 && (dna || revcomp))
        rc = recur_model_set_numbers(m, "dna_revcomp", &rc_flag, 1);
    if (rc == 0 && a->bs)
        rc = recur_model_set_baselines(m, a->bs);
    return rc;
}

/* ---- The start model ------------------------------------------------------------------------- */

/* Loads --init or --resume (a damaged checkpoint: the one before it, CKPT.prev) into *m, *path
 * naming the file read. Its architecture replaces cfg's, after the restated check. Returns an
 * exit status. */
static int load_start(train_cmd_t *o, recur_config_t *cfg, recur_model_t **m, const char **path,
                      char *prev, size_t n)
{
    const char *from = o->t.resume ? o->t.resume : o->t.init;
    *path = from;
    if (!(*m = recur_model_load(from)) && o->t.resume) {
        snprintf(prev, n, "%s.prev", from);
        if (access(prev, R_OK) == 0 && (*m = recur_model_load(prev)) != NULL) {
            recur_info("resuming from the previous checkpoint %s instead", prev);
            *path = prev;
        }
    }
    if (!*m)
        return RECUR_EXIT_ERROR;
    const recur_config_t *mc = recur_model_config(*m);
    if (restated_model(o, cfg, mc) != 0)
        return RECUR_EXIT_USAGE;
    const double dropout = cfg->dropout;
    *cfg = *mc;
    if (o->t.dropout_opt && o->t.init) /* --dropout is a training option with --init */
        cfg->dropout = dropout;
    if (o->t.resume) { /* the run's own seed: the validation split is drawn from it */
        size_t ns;
        const double *sd = recur_model_numbers(*m, "seed", &ns);
        if (sd && ns == 1 && sd[0] >= 0)
            o->t.seed = (unsigned long)sd[0];
    }
    return RECUR_EXIT_OK;
}

/* A DNA classifier's data: 4 one-hot channels, one label per record, classify or multilabel. */
static bool is_dna_classifier(const recur_dataset_t *ds)
{
    return ds->F == RECUR_DNA_CHANNELS && ds->head == RECUR_HEAD_SEQ &&
           ds->task != RECUR_TASK_REGRESS;
}

/* The defaults of DNA classifiers, chosen on the real-task suite (README, "Defaults"): a
 * bidirectional GRU with max pooling, Adam at 0.005, gradients clipped at norm 1, up to 40
 * epochs with patience 5 (the best validation epoch kept). Each applies only where the
 * command line did not say otherwise; the architecture ones only to a new model. */
static void dna_defaults(train_cmd_t *o, recur_config_t *cfg, bool has_val)
{
    recur_cli_train_t *t = &o->t;
    if (!arch_given(o, RECUR_CLI_CELL))
        cfg->cell = RECUR_CELL_GRU;
    if (!arch_given(o, RECUR_CLI_BIDIRECTIONAL) && !arch_given(o, RECUR_CLI_UNIDIRECTIONAL))
        cfg->bidirectional = true;
    if (!arch_given(o, RECUR_CLI_POOL))
        cfg->pool = RECUR_POOL_MAX;
    if (t->lr < 0 && t->kind != RECUR_OPT_SGD)
        t->lr = 0.005;
    if (!t->clip_given)
        t->clip = 1;
    if (!t->epochs_given)
        t->epochs = 40;
    if (!t->patience_given && has_val)
        t->patience = 5;
}

/* The DNA / --data side: data read, checked against the options and the start model, then run.
 * Returns the exit status. */
static int train_dna(train_cmd_t *o, recur_config_t *cfg, const recur_init_t *init,
                     const recur_model_t *start, const char *start_path, gsl_rng *rng, int argc,
                     char *argv[])
{
    data_t d = {0};
    recur_baselines_t bs = {0};
    recur_real *params = NULL;
    int rc = RECUR_EXIT_ERROR;
    const recur_config_t given = *cfg;
    if (start)
        encoding_from_model(start, &o->in);
    if (start && o->in.n_in && cfg->task == RECUR_TASK_REGRESS) {
        recur_error("%s: a %s model cannot start a DNA classifier", start_path,
                    recur_task_name(cfg->task));
        goto out;
    }
    if (o->in.dna.windows && !o->in.dna.max_len) {
        recur_error("--windows needs --max-len N (the window length)");
        rc = RECUR_EXIT_USAGE;
        goto out;
    }
    if (load_data(o, start, rng, &d) != 0)
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
    recur_config_t dc = *cfg;
    dc.input_size = ds->F;
    dc.num_outputs = ds->O;
    dc.head = ds->head;
    dc.task = ds->task;
    if (restated_data(o, &given, &dc) != 0) {
        rc = RECUR_EXIT_USAGE;
        goto out;
    }
    if (is_dna_classifier(ds))
        dna_defaults(o, &dc, d.n_val > 0);
    if (!start) {
        *cfg = dc;
        if (recur_config_validate(cfg) != 0) {
            rc = RECUR_EXIT_USAGE;
            goto out;
        }
    } else if (cfg->input_size != ds->F || cfg->num_outputs != ds->O || cfg->head != ds->head ||
               cfg->task != ds->task) {
        recur_error("%s: the model (%zu inputs, %zu outputs, %s, %s head) does not fit the data "
                    "(%zu features, %zu outputs, %s, %s head)",
                    start_path, cfg->input_size, cfg->num_outputs, recur_task_name(cfg->task),
                    recur_head_name(cfg->head), ds->F, ds->O, recur_task_name(ds->task),
                    recur_head_name(ds->head));
        goto out;
    }
    if (o->t.revcomp && (ds->F != RECUR_DNA_CHANNELS || ds->head != RECUR_HEAD_SEQ)) {
        recur_error("--revcomp: needs DNA data (4 one-hot channels) with one label per record");
        rc = RECUR_EXIT_USAGE;
        goto out;
    }
    if (o->t.balance && (ds->task != RECUR_TASK_CLASSIFY || ds->head != RECUR_HEAD_SEQ)) {
        recur_error("--class-weights auto: classify datasets with one label per record only");
        rc = RECUR_EXIT_USAGE;
        goto out;
    }
    const size_t P = recur_param_count(cfg);
    if (!(params = malloc(P * sizeof *params))) {
        recur_error("out of memory");
        goto out;
    }
    if (start)
        memcpy(params, recur_model_params_const(start), P * sizeof *params);
    else if (recur_param_init(cfg, init, params, rng) != 0)
        goto out;
    if (cfg->dropout > 0 && cfg->num_layers == 1)
        recur_info("note: --dropout acts between layers; with one layer it has no effect");
    describe_data(&d, o);
    recur_info("%zu records of up to %zu steps, %zu features, %s (%s head, %zu outputs); "
               "%s H %zu L %zu%s, %zu parameters",
               d.n_train, ds->T, ds->F, recur_task_name(cfg->task), recur_head_name(cfg->head),
               ds->O, recur_cell_name(cfg->cell), cfg->hidden_size, cfg->num_layers,
               cfg->bidirectional ? " bidirectional" : "", P);
    const recur_baseline_t *best = NULL;
    /* rank 0 writes every model and prints every line: the other ranks need no baselines */
    if (!o->no_baselines && recur_dist_rank() == 0 && fit_baselines(&d, &bs) != 0)
        goto out;
    if (bs.n && d.n_val)
        best = recur_baselines_best(&bs);
    recur_fit_opts_t fo;
    recur_cli_train_fit_opts(&o->t, &fo);
    const recur_fit_data_t fd = {ds, d.train, d.n_train, d.vds, d.val, d.n_val};
    dna_meta_t meta = {o, &d, bs.n ? &bs : NULL};
    const recur_cli_run_t run = {.opts = &o->t,
                                 .fit = &fo,
                                 .resume = o->t.resume ? start : NULL,
                                 .resume_path = start_path,
                                 .annotate = annotate_dna,
                                 .ctx = &meta,
                                 .baseline = best ? recur_baseline_name(best->kind) : NULL,
                                 .baseline_val_acc = best ? best->val_acc : NAN,
                                 .argc = argc,
                                 .argv = argv};
    rc = recur_cli_train_run(cfg, params, &fd, rng, &run);
out:
    recur_baselines_release(&bs);
    free(params);
    data_free(&d);
    return rc;
}

int main_train(int argc, char *argv[])
{
    train_cmd_t o = {.val_fraction = 0.1};
    recur_cli_train_init(&o.t);
    recur_cli_inputs_init(&o.in);
    recur_cli_series_init(&o.src);
    recur_config_t cfg = {.cell = RECUR_CELL_LSTM,
                          .hidden_size = 64,
                          .num_layers = 1,
                          .pool = RECUR_POOL_LAST,
                          .head = RECUR_HEAD_SEQ,
                          .task = RECUR_TASK_CLASSIFY};
    recur_init_t init = {.orthogonal_hh = false, .forget_bias = 0.0};
    int rc = RECUR_EXIT_USAGE;
    recur_model_t *start = NULL;
    gsl_rng *rng = NULL;
    const char *start_path = NULL;
    char prev[4096];

    const int p = parse(argc, argv, &o, &cfg, &init);
    if (p != 0) {
        rc = p > 0 ? RECUR_EXIT_OK : RECUR_EXIT_USAGE;
        goto out;
    }
    const int rank = recur_dist_rank();
    recur_log_set_quiet(o.t.quiet || rank > 0); /* progress from rank 0 only */
    o.in.dna.seq.threads = o.t.threads > 1 ? (int)o.t.threads : 0;
    rc = RECUR_EXIT_ERROR;
    if (rank == 0 && recur_cli_check_output(o.t.out) != 0)
        goto out;
    if ((o.t.init || o.t.resume) &&
        (rc = load_start(&o, &cfg, &start, &start_path, prev, sizeof prev)) != RECUR_EXIT_OK)
        goto out;
    rc = RECUR_EXIT_ERROR;
    if (!(rng = gsl_rng_alloc(gsl_rng_mt19937))) {
        recur_error("out of memory");
        goto out;
    }
    gsl_rng_set(rng, o.t.seed);
    if (o.src.h5) {
        const recur_cli_train_series_t ts = {.t = &o.t,
                                             .src = &o.src,
                                             .head_given = arch_given(&o, RECUR_CLI_HEAD),
                                             .input_given = arch_given(&o, RECUR_CLI_INPUT),
                                             .outputs_given = arch_given(&o, RECUR_CLI_OUTPUTS),
                                             .task_given = arch_given(&o, RECUR_CLI_TASK)};
        rc = recur_cli_train_series(&ts, &cfg, &init, start, start_path, rng, argc, argv);
    } else {
        rc = train_dna(&o, &cfg, &init, start, start_path, rng, argc, argv);
    }
out:
    gsl_rng_free(rng);
    recur_model_free(start);
    recur_cli_series_release(&o.src);
    recur_cli_inputs_free(&o.in);
    return rc;
}
