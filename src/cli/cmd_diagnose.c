/* cmd_diagnose.c - `recur diagnose`: gradient flow through time for a trained model on data:
 * per-step gradient norms, Jacobian-product norms against the lag, the Lyapunov spectrum and
 * the bias of truncated BPTT, as one long-format TSV. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include <recur/blas.h>
#include <recur/dataset.h>
#include <recur/diagnose.h>
#include <recur/model.h>

#include "cmd_diagnose_ref.h"
#include "cmd_series.h"
#include "use.h"

enum {
    OPT_MAX_LAG = RECUR_CLI_FIRST_FREE,
    OPT_LYAP,
    OPT_MAX_SEQS,
    OPT_TBPTT,
    OPT_TRAIN_LOG,
    OPT_PADDING,
    OPT_ACT_REG
};

/* diagnose's own options. */
typedef struct {
    const char *train_log;
    size_t max_lag, lyap_k, max_seqs;
    size_t ks[32], nk;   /* --tbptt */
    size_t pads[32], np; /* --padding */
    double act_reg;
} diag_opts_t;

static void usage(FILE *fp, bool h5)
{
    fprintf(fp,
            "Usage: recur diagnose -m MODEL (--fasta FILE:LABEL | --bed FILE --ref FASTA |\n"
            "                      --bam FILE | --data FILE | --h5 FILE) ... [options]\n"
            "       recur diagnose --train-log GRADLOG [-m MODEL INPUTS] [options]\n"
            "       recur diagnose euler [options]   (an RNN as forward Euler: see its --help)\n"
            "       recur diagnose linear [options]  (the linear-RNN reference, timed)\n"
            "\n"
            "Measures how the gradient flows through time in MODEL on the first records of its\n"
            "data, read as eval reads them (DNA encoded as the model was trained, an encoded\n"
            "dataset, or with --h5 the windows of --split, default test, of a forecaster's\n"
            "series, or whole series for a step head), and prints long-format TSV:\n"
            "kind<TAB>layer<TAB>direction<TAB>index<TAB>value, after `#` provenance lines.\n"
            "  grad_norm      index t: ||d loss / d h_t|| over the batch (full BPTT)\n"
            "  jacobian_norm  index lag: spectral norm of d s_t / d s_(t-lag) from each\n"
            "                 sequence's last valid step, geometric mean over sequences\n"
            "  lyapunov       index rank (1 = largest): Lyapunov exponent per step (natural\n"
            "                 log) of the state dynamics along the data, by QR\n"
            "  tbptt_cosine, tbptt_relerr  index K: truncated-BPTT gradient with windows of K\n"
            "                 against the full gradient (cosine similarity, relative error)\n"
            "The state s is h, or (h, c) for the LSTM; Jacobians are in double precision.\n"
            "  padding_leak_masked, padding_leak_unmasked  index P (with --padding): relative\n"
            "                 error of the gradient of loss + activation regulariser\n"
            "                 (--act-reg) with P padded steps appended to every sequence,\n"
            "                 against each sequence run alone; the regulariser over the valid\n"
            "                 steps (correct), or over padded steps too (the common bug)\n"
            "With --train-log (the per-update log of `recur train --grad-log`), gradient-norm\n"
            "statistics of the training run, layer and direction `all`, index the epoch or\n"
            "`all`: grad_norm_before_{mean,median,p90,max} (before clipping),\n"
            "grad_norm_after_{mean,median,p90,max} (the norms applied), updates, clipped,\n"
            "skipped.\n"
            "\n"
            "Options:\n"
            "  -m, --model FILE        model file (required but with --train-log alone)\n"
            "  --split train|val|test|all  with --h5: the samples used (default test)\n"
            "  --batch-size N          records used, the first N (default 32)\n"
            "  --max-lag N             largest lag of jacobian_norm (default 50)\n"
            "  --lyapunov-k K          exponents computed (default 10, at most the state size)\n"
            "  --max-seqs N            sequences used for Jacobians and exponents (default 8)\n"
            "  --tbptt LIST            window lengths K for the truncation bias, comma-separated\n"
            "                          (default 1,2,5,10,20,50)\n"
            "  --padding LIST          padded steps P for padding_leak, comma-separated\n"
            "  --act-reg L             the regulariser's lambda for padding_leak (default 0.01)\n"
            "  --train-log GRADLOG     summarise a training run's gradient norms (above)\n"
            "  -o FILE                 write the TSV to FILE (default standard output)\n"
            "  -h, --help              this text\n"
            "\n"
            "\n"
            "Inputs (one kind, required with -m):\n"
            "%s"
            "  --h5 FILE and the series options: see `recur eval --h5 FILE --help`\n"
            "\n"
            "Exit status: 0 ok, 1 bad input or I/O error, 2 usage error (or a restated option\n"
            "that conflicts with the model's).\n",
            recur_cli_input_help);
}

/* Provenance and the column names. */
static void print_header(FILE *out, int argc, char *argv[])
{
    char cmdline[2048];
    fprintf(out, "# recur %s: recur %s\n", RECUR_VERSION,
            recur_cli_join(cmdline, sizeof cmdline, argc, argv));
    fprintf(out, "kind\tlayer\tdirection\tindex\tvalue\n");
}

/* The rows of recur_diag_grad_log(). */
static void print_grad_stats(FILE *out, const recur_grad_stats_t *gs, size_t n)
{
    static const char *stat[RECUR_GSTAT_N] = {"mean", "median", "p90", "max"};
    for (size_t i = 0; i < n; i++) {
        char ep[32];
        if (gs[i].epoch)
            snprintf(ep, sizeof ep, "%zu", gs[i].epoch);
        else
            snprintf(ep, sizeof ep, "all");
        for (int k = 0; k < RECUR_GSTAT_N; k++)
            fprintf(out, "grad_norm_before_%s\tall\tall\t%s\t%.9g\n", stat[k], ep, gs[i].before[k]);
        for (int k = 0; k < RECUR_GSTAT_N; k++)
            fprintf(out, "grad_norm_after_%s\tall\tall\t%s\t%.9g\n", stat[k], ep, gs[i].after[k]);
        fprintf(out, "updates\tall\tall\t%s\t%zu\n", ep, gs[i].updates);
        fprintf(out, "clipped\tall\tall\t%s\t%zu\n", ep, gs[i].clipped);
        fprintf(out, "skipped\tall\tall\t%s\t%zu\n", ep, gs[i].skipped);
    }
}

static int option(void *ctx, int c, const char *arg)
{
    diag_opts_t *o = ctx;
    switch (c) {
    case OPT_TRAIN_LOG:
        o->train_log = arg;
        return 0;
    case OPT_PADDING:
        o->np = recur_cli_size_list("--padding", arg, 0, (size_t)1 << 24, o->pads,
                                    sizeof o->pads / sizeof o->pads[0]);
        return o->np ? 0 : RECUR_EINVAL;
    case OPT_ACT_REG:
        return recur_cli_double("--act-reg", arg, 0, 1e6, &o->act_reg);
    case OPT_MAX_LAG:
        return recur_cli_size("--max-lag", arg, 1, 1 << 20, &o->max_lag);
    case OPT_LYAP:
        return recur_cli_size("--lyapunov-k", arg, 1, 1 << 20, &o->lyap_k);
    case OPT_MAX_SEQS:
        return recur_cli_size("--max-seqs", arg, 1, 1 << 20, &o->max_seqs);
    default: /* OPT_TBPTT */
        o->nk = recur_cli_size_list("--tbptt", arg, 1, (size_t)1 << 24, o->ks,
                                    sizeof o->ks / sizeof o->ks[0]);
        return o->nk ? 0 : RECUR_EINVAL;
    }
}

/* Parses argv into u and o. Returns 0, 1 after --help (printed), or RECUR_EINVAL (logged). */
static int parse(int argc, char *argv[], recur_cli_use_t *u, diag_opts_t *o)
{
    static const recur_cli_use_opt_t own[] = {
        {"max-lag", required_argument, OPT_MAX_LAG, RECUR_CLI_USE_ANY},
        {"lyapunov-k", required_argument, OPT_LYAP, RECUR_CLI_USE_ANY},
        {"max-seqs", required_argument, OPT_MAX_SEQS, RECUR_CLI_USE_ANY},
        {"tbptt", required_argument, OPT_TBPTT, RECUR_CLI_USE_ANY},
        {"train-log", required_argument, OPT_TRAIN_LOG, RECUR_CLI_USE_ANY},
        {"padding", required_argument, OPT_PADDING, RECUR_CLI_USE_ANY},
        {"act-reg", required_argument, OPT_ACT_REG, RECUR_CLI_USE_ANY},
    };
    const recur_cli_use_cmd_t cmd = {.name = "diagnose",
                                     .opts = own,
                                     .n_opts = sizeof own / sizeof *own,
                                     .option = option,
                                     .ctx = o,
                                     .usage = usage,
                                     .model_optional = true,
                                     .inputs_optional = true,
                                     .batch = true};
    const int rc = recur_cli_use_parse(u, &cmd, argc, argv);
    if (rc != 0)
        return rc;
    const bool data = u->in.n_in || u->in.data || recur_cli_use_h5(u);
    if ((!u->model || !data) && (!o->train_log || u->model || data)) {
        recur_error("-m MODEL with data (--fasta, --bed, --bam, --data or --h5), or "
                    "--train-log GRADLOG, are required (see 'recur diagnose --help')");
        return RECUR_EINVAL;
    }
    return 0;
}

/* The records diagnose runs the model on, from whichever input was given; NULL on failure with
 * *status the exit status. */
static recur_dataset_t *load_data(recur_cli_use_t *u, recur_model_t *m, int *status)
{
    *status = RECUR_EXIT_ERROR;
    if (recur_cli_use_h5(u))
        return recur_cli_series_dataset(u, m, status);
    if (u->in.data)
        return recur_dataset_load(u->in.data);
    char **fallback = NULL;
    const size_t O = recur_model_config(m)->num_outputs;
    const char *const *classes = recur_cli_use_classes(m, &fallback);
    recur_dna_set_t *set = NULL;
    recur_dataset_t *ds = NULL;
    const int rc = classes ? recur_cli_use_dna(u, m, classes, O, false, &set) : RECUR_ENOMEM;
    if (rc == 0) {
        ds = set->ds; /* the set's records are rows of its dataset: keep that alone */
        set->ds = NULL;
    } else if (rc == RECUR_EINVAL) {
        *status = RECUR_EXIT_USAGE;
    }
    recur_dna_set_free(set);
    recur_cli_use_free_names(fallback, O);
    return ds;
}

int main_diagnose(int argc, char *argv[])
{
    /* the reference experiments that need no model or data */
    if (argc > 1 && strcmp(argv[1], "euler") == 0)
        return diagnose_euler_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "linear") == 0)
        return diagnose_linear_main(argc - 1, argv + 1);
    recur_cli_use_t u;
    recur_cli_use_init(&u, 32);
    diag_opts_t o = {.max_lag = 50,
                     .lyap_k = 10,
                     .max_seqs = 8,
                     .ks = {1, 2, 5, 10, 20, 50},
                     .nk = 6,
                     .act_reg = 0.01};
    int rc = RECUR_EXIT_ERROR;
    recur_model_t *m = NULL;
    recur_dataset_t *ds = NULL;
    recur_dataset_batch_t *bb = NULL;
    recur_grad_stats_t *gs = NULL;
    size_t *idx = NULL;
    double *buf = NULL;
    FILE *out = NULL;
    recur_outfile_t of;
    const int pr = parse(argc, argv, &u, &o);
    if (pr != 0) {
        recur_cli_use_free(&u);
        return pr > 0 ? RECUR_EXIT_OK : RECUR_EXIT_USAGE;
    }
    const char *out_path = u.out && strcmp(u.out, "-") != 0 ? u.out : NULL;
    size_t lyap_k = o.lyap_k;
    const size_t max_lag = o.max_lag, max_seqs = o.max_seqs;
    if (o.train_log) {
        FILE *fp = strcmp(o.train_log, "-") == 0 ? stdin : fopen(o.train_log, "r");
        size_t ng = 0;
        if (!fp) {
            recur_error("%s: cannot open: %s", o.train_log, strerror(errno));
            goto done;
        }
        const int grc = recur_diag_grad_log(fp, o.train_log, &gs, &ng);
        if (fp != stdin)
            fclose(fp);
        if (grc != 0 || !(out = recur_cli_out_open(out_path, &of)))
            goto done;
        print_header(out, argc, argv);
        print_grad_stats(out, gs, ng);
    }
    if (!u.model) {
        rc = RECUR_EXIT_OK;
        goto done;
    }
    recur_blas_set_threads((int)u.threads);
    if (recur_cli_use_h5(&u) ? !(m = recur_model_load(u.model))
                             : !(m = recur_cli_use_model(&u, &rc)))
        goto done;
    if (!(ds = load_data(&u, m, &rc)))
        goto done;
    rc = RECUR_EXIT_ERROR;
    const recur_config_t *cfg = recur_model_config(m);
    const recur_real *params = recur_model_params(m);
    if (ds->F != cfg->input_size || ds->task != cfg->task || ds->head != cfg->head ||
        ds->O != cfg->num_outputs) {
        recur_error("%s: the data (%zu features, %s, %s head, %zu outputs) do not fit the model "
                    "(%zu inputs, %s, %s head, %zu outputs)",
                    u.in.data, ds->F, recur_task_name(ds->task), recur_head_name(ds->head), ds->O,
                    cfg->input_size, recur_task_name(cfg->task), recur_head_name(cfg->head),
                    cfg->num_outputs);
        goto done;
    }
    const size_t B = u.batch_size < ds->N ? u.batch_size : ds->N, L = cfg->num_layers;
    const size_t D = recur_config_directions(cfg), n = recur_diag_state_size(cfg);
    if (lyap_k > n)
        lyap_k = n;
    idx = malloc(B * sizeof *idx);
    bb = recur_dataset_batch_alloc(ds, 0, B);
    if (!idx || !bb)
        goto done;
    for (size_t i = 0; i < B; i++)
        idx[i] = i;
    recur_batch_t b;
    if (recur_dataset_batch(ds, idx, B, bb, &b) != 0)
        goto done;
    const size_t T = b.T;
    buf = malloc((L * D * T + max_lag + lyap_k) * sizeof *buf);
    if (!buf)
        goto done;
    if (!o.train_log) {
        if (!(out = recur_cli_out_open(out_path, &of)))
            goto done;
        print_header(out, argc, argv);
    }
    if (recur_diag_grad_norms(cfg, params, &b, buf) != 0)
        goto done;
    for (size_t l = 0; l < L; l++)
        for (size_t d = 0; d < D; d++)
            for (size_t t = 0; t < T; t++)
                fprintf(out, "grad_norm\t%zu\t%s\t%zu\t%.9g\n", l, d ? "reverse" : "forward", t,
                        buf[(l * D + d) * T + t]);
    double *jn = buf + L * D * T, *ly = jn + max_lag;
    for (size_t l = 0; l < L; l++)
        for (size_t d = 0; d < D; d++) {
            const char *dn = d ? "reverse" : "forward";
            if (recur_diag_jacobian_norms(cfg, params, &b, l, d, max_lag, max_seqs, jn) != 0 ||
                recur_diag_lyapunov(cfg, params, &b, l, d, lyap_k, max_seqs, ly) != 0)
                goto done;
            for (size_t k = 0; k < max_lag && k + 1 < T; k++)
                fprintf(out, "jacobian_norm\t%zu\t%s\t%zu\t%.9g\n", l, dn, k + 1, jn[k]);
            for (size_t k = 0; k < lyap_k; k++)
                fprintf(out, "lyapunov\t%zu\t%s\t%zu\t%.9g\n", l, dn, k + 1, ly[k]);
        }
    for (size_t k = 0; k < o.nk; k++) {
        double cosv, rel;
        if (recur_diag_tbptt_bias(cfg, params, &b, o.ks[k], &cosv, &rel) != 0)
            goto done;
        fprintf(out, "tbptt_cosine\tall\tall\t%zu\t%.9g\n", o.ks[k], cosv);
        fprintf(out, "tbptt_relerr\tall\tall\t%zu\t%.9g\n", o.ks[k], rel);
    }
    double leak[2][32];
    if (o.np &&
        recur_diag_padding_leak(cfg, params, &b, o.act_reg, o.pads, o.np, leak[0], leak[1]) != 0)
        goto done;
    for (size_t k = 0; k < o.np; k++)
        for (int all = 0; all < 2; all++)
            fprintf(out, "padding_leak_%s\tall\tall\t%zu\t%.9g\n", all ? "unmasked" : "masked",
                    o.pads[k], leak[all][k]);
    rc = RECUR_EXIT_OK;
done:
    rc = recur_cli_out_finish(out, &of, rc);
    free(gs);
    free(buf);
    free(idx);
    recur_dataset_batch_free(bb);
    recur_dataset_free(ds);
    recur_model_free(m);
    recur_cli_use_free(&u);
    return rc;
}
