/* cmd_train_series.c - `recur train --h5`: a recurrent forecaster of weather and climate series
 * (cmd_train_series.h). The encoding is fitted on the training split (or taken from --init), the
 * training and validation splits become datasets, and the run is the one every training uses. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/dataset.h>
#include <recur/fit.h>
#include <recur/forecast.h>
#include <recur/h5series.h>

#include "cli.h"
#include "cmd_train_series.h"
#include "train_run.h"

void recur_cli_train_series_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: recur train --h5 FILE (--vars A,B | --dataset PATH) -o MODEL [options]\n"
            "\n"
            "Fits a recurrent forecaster to a weather or climate series: windows of W steps of\n"
            "the inputs predict the targets 1..H steps ahead (sequence head), or every step\n"
            "predicts the next H steps (--head step, trained with truncated BPTT over the whole\n"
            "series). Inputs and targets are z-scored with statistics of the training split,\n"
            "which are stored in MODEL with the rest of the encoding, so that `recur eval` and\n"
            "`recur predict` need only --h5. Each epoch also reports the loss on the validation\n"
            "split (the windows after the training split), for --patience and --keep. Training\n"
            "is the same loop as for DNA classifiers, with the same options: checkpoints,\n"
            "--resume, signals, MPI (bin/recur-mpi), the logs.\n"
            "\n"
            "%s\n%s\n"
            "Architecture (defaults: lstm, H 64, L 1, head seq, pool last; with --init or\n"
            "--resume they come from the model, and so does the encoding):\n"
            "  --cell rnn|lstm|gru     recurrent cell\n"
            "  --hidden H              hidden units per layer and direction (1..65536)\n"
            "  --layers L              stacked layers (1..64)\n"
            "  --bidirectional         add a reverse direction (sequence head only: a reverse\n"
            "                          direction of the step head would see the future)\n"
            "  --head seq|step         one forecast per window, or one at every step\n"
            "  --pool last|mean|max    sequence-head pooling\n"
            "  --dropout P             dropout between layers during training\n"
            "  --orthogonal            orthogonal recurrent weights at initialisation\n"
            "  --forget-bias F         LSTM forget-gate (GRU update-gate) bias at initialisation\n"
            "                          (default 0)\n"
            "  --spectral-radius R     rescale each gate's recurrent (H, H) block to spectral\n"
            "                          radius R at initialisation (largest |eigenvalue|)\n"
            "  --task regress, --input N, --outputs N\n"
            "                          restate what the encoding fixes (accepted when they agree)\n"
            "\n"
            "%s"
            "  -h, --help              this text\n"
            "\n"
            "Defaults that differ from DNA training: --epochs 20, no length bucketing (every\n"
            "window has W steps).\n"
            "\n"
            "Exit status: 0 ok; 1 bad input (file, dataset, a window longer than the series, a\n"
            "target without a valid value in a split) or I/O error; 2 usage error (a restated\n"
            "option that conflicts); 3 training diverged (MODEL is not written); 143 stopped by\n"
            "SIGTERM after writing a checkpoint.\n",
            recur_cli_series_help, recur_cli_encoding_help, recur_cli_train_help);
}

/* The encoded splits. */
typedef struct {
    recur_series_t *s;
    recur_fc_t fc;
    recur_dataset_t *ds, *dv; /* training, validation (NULL: empty split) */
    size_t *rows, *vrows;     /* 0 .. N - 1 of each */
} splits_t;

static void splits_free(splits_t *p)
{
    recur_dataset_free(p->ds);
    recur_dataset_free(p->dv);
    free(p->rows);
    free(p->vrows);
    recur_fc_release(&p->fc);
    recur_series_free(p->s);
}

/* The training and validation datasets of the encoding: one record per window (sequence head)
 * or per series (step head). */
static int encode(splits_t *p, recur_head_t head)
{
    recur_fc_sample_t *smp = NULL;
    size_t n;
    int rc = RECUR_EFORMAT;
    if (head == RECUR_HEAD_STEP) {
        size_t b[4];
        recur_fc_bounds(&p->fc, p->s->T, b);
        if (!(p->ds = recur_fc_dataset_step(&p->fc, p->s, RECUR_SPLIT_TRAIN)) ||
            (b[2] > b[1] && !(p->dv = recur_fc_dataset_step(&p->fc, p->s, RECUR_SPLIT_VAL))))
            goto out;
    } else {
        if (recur_fc_samples(&p->fc, p->s, RECUR_SPLIT_TRAIN, &smp, &n) != 0 ||
            !(p->ds = recur_fc_dataset_seq(&p->fc, p->s, smp, n)))
            goto out;
        free(smp);
        smp = NULL;
        if (recur_fc_samples(&p->fc, p->s, RECUR_SPLIT_VAL, &smp, &n) != 0 ||
            (n && !(p->dv = recur_fc_dataset_seq(&p->fc, p->s, smp, n))))
            goto out;
    }
    const size_t N = p->ds->N, NV = p->dv ? p->dv->N : 0;
    p->rows = malloc((N ? N : 1) * sizeof *p->rows);
    p->vrows = malloc((NV ? NV : 1) * sizeof *p->vrows);
    if (!p->rows || !p->vrows) {
        recur_error("out of memory");
        rc = RECUR_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < N; i++)
        p->rows[i] = i;
    for (size_t i = 0; i < NV; i++)
        p->vrows[i] = i;
    rc = 0;
out:
    free(smp);
    return rc;
}

/* A resumed run repeats its command line: the encoding fitted again must be the checkpoint's. */
static int same_encoding(const recur_fc_t *a, const recur_model_t *m, const char *path)
{
    recur_fc_t b = {0};
    recur_fc_source_t src;
    if (recur_fc_from_model(m, path, &b, &src) != 0)
        return RECUR_EFORMAT;
    bool same = a->window == b.window && a->horizon == b.horizon && a->stride == b.stride &&
                a->F == b.F && a->O == b.O && a->V == b.V && a->n_in == b.n_in &&
                a->n_out == b.n_out && a->doy == b.doy && a->hour == b.hour &&
                a->missing_indicators == b.missing_indicators;
    for (size_t v = 0; same && v < a->V; v++)
        same = a->mean[v] == b.mean[v] && a->std[v] == b.std[v];
    recur_fc_release(&b);
    if (!same) {
        recur_error("%s: the series or the encoding options differ from the checkpoint's "
                    "(resume with the command line of the run)",
                    path);
        return RECUR_EINVAL;
    }
    return 0;
}

/* The series and its encoding: fitted on the training split, or (--init) the model's. */
static int load(const recur_cli_train_series_t *o, const recur_model_t *start,
                const char *start_path, splits_t *p)
{
    if (start && !recur_fc_is_forecaster(start)) {
        recur_error("%s: not a forecaster (no 'horizon' in /config)", start_path);
        return RECUR_EFORMAT;
    }
    if (start && !o->t->resume) {
        const int rc = recur_cli_series_restated(o->src, start, start_path, "the model's");
        if (rc != 0)
            return rc;
        return recur_cli_series_load_for_model(o->src, start, start_path, &p->fc, &p->s);
    }
    int rc = recur_cli_series_load_fit(o->src, &p->s, &p->fc);
    if (rc == 0 && start)
        rc = same_encoding(&p->fc, start, start_path);
    return rc;
}

/* The restated options against what the encoding fixes. */
static int restated(const recur_cli_train_series_t *o, const recur_config_t *cfg,
                    const recur_fc_t *fc)
{
    if (o->input_given && cfg->input_size != fc->F) {
        recur_error("--input %zu conflicts with the data's input %zu", cfg->input_size, fc->F);
        return RECUR_EINVAL;
    }
    if (o->outputs_given && cfg->num_outputs != fc->O) {
        recur_error("--outputs %zu conflicts with the data's outputs %zu", cfg->num_outputs, fc->O);
        return RECUR_EINVAL;
    }
    if (o->task_given && cfg->task != RECUR_TASK_REGRESS) {
        recur_error("--task %s conflicts with the data's task regress", recur_task_name(cfg->task));
        return RECUR_EINVAL;
    }
    return 0;
}

/* The encoding and where the series came from, into every model the run writes. */
typedef struct {
    const splits_t *p;
    const recur_cli_series_t *src;
} fc_meta_t;

static int annotate_fc(void *ctx, recur_model_t *m)
{
    const fc_meta_t *a = ctx;
    const recur_fc_source_t fs = {.dataset = a->src->dataset,
                                  .vars = (const char *const *)a->p->s->var_names,
                                  .select = a->src->select_arg,
                                  .n_select = a->src->n_select,
                                  .time_dim = a->src->time_dim};
    return recur_fc_to_model(&a->p->fc, a->p->s, &fs, m);
}

int recur_cli_train_series(const recur_cli_train_series_t *o, recur_config_t *cfg,
                           const recur_init_t *init, const recur_model_t *start,
                           const char *start_path, gsl_rng *rng, int argc, char *argv[])
{
    splits_t p = {0};
    recur_real *params = NULL;
    int rc = RECUR_EXIT_ERROR;
    const int lrc = load(o, start, start_path, &p);
    if (lrc != 0) {
        rc = lrc == RECUR_EINVAL && start ? RECUR_EXIT_USAGE : RECUR_EXIT_ERROR;
        goto out;
    }
    if (restated(o, cfg, &p.fc) != 0) {
        rc = RECUR_EXIT_USAGE;
        goto out;
    }
    if (!start) {
        cfg->task = RECUR_TASK_REGRESS;
        cfg->input_size = p.fc.F;
        cfg->num_outputs = p.fc.O;
        if (recur_config_validate(cfg) != 0) {
            rc = RECUR_EXIT_USAGE;
            goto out;
        }
    }
    if (encode(&p, cfg->head) != 0)
        goto out;
    const recur_dataset_t *ds = p.ds, *dv = p.dv;
    const bool step = cfg->head == RECUR_HEAD_STEP;
    const size_t P = recur_param_count(cfg);
    if (!(params = malloc(P * sizeof *params))) {
        recur_error("out of memory");
        goto out;
    }
    if (start)
        memcpy(params, recur_model_params_const(start), P * sizeof *params);
    else if (recur_param_init(cfg, init, params, rng) != 0)
        goto out;
    size_t b4[4];
    recur_fc_bounds(&p.fc, p.s->T, b4);
    char d0[48], d1[48];
    recur_cli_series_step_label(p.s, 0, d0, sizeof d0);
    recur_cli_series_step_label(p.s, b4[1] - 1, d1, sizeof d1);
    recur_info("%s: %zu series x %zu steps; training split %s .. %s; %zu %s of %zu steps, %zu "
               "features, %zu outputs (horizon %zu x %zu targets)",
               o->src->h5, p.s->S, p.s->T, d0, d1, ds->N, step ? "series" : "windows", ds->T,
               p.fc.F, p.fc.O, p.fc.horizon, p.fc.n_out);
    recur_info("%s %s head, H %zu L %zu, %zu parameters; validation: %zu %s",
               recur_cell_name(cfg->cell), recur_head_name(cfg->head), cfg->hidden_size,
               cfg->num_layers, P, dv ? dv->N : 0, step ? "series" : "windows");
    recur_cli_train_t t = *o->t;
    if (!t.epochs_given)
        t.epochs = 20;
    if (step && t.tbptt == 0)
        t.tbptt = 100;
    t.bucket = false; /* every window has W steps; whole series have one length */
    recur_fit_opts_t fo;
    recur_cli_train_fit_opts(&t, &fo);
    const recur_fit_data_t fd = {ds, p.rows, ds->N, dv, p.vrows, dv ? dv->N : 0};
    fc_meta_t meta = {&p, o->src};
    const recur_cli_run_t run = {.opts = &t,
                                 .fit = &fo,
                                 .resume = t.resume ? start : NULL,
                                 .resume_path = start_path,
                                 .annotate = annotate_fc,
                                 .ctx = &meta,
                                 .argc = argc,
                                 .argv = argv};
    rc = recur_cli_train_run(cfg, params, &fd, rng, &run);
out:
    free(params);
    splits_free(&p);
    return rc;
}
