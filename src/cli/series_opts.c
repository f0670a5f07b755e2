/* series_opts.c - the series and encoding options of series_opts.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur/forecast.h>
#include <recur/h5series.h>

#include "cli.h"
#include "series_opts.h"

const char recur_cli_series_help[] =
    "Series (HDF5 or netCDF-4, read with libhdf5):\n"
    "  --h5 FILE               the file\n"
    "  --vars A,B,...          CF-style variables (one dataset each, dimensions named by\n"
    "                          netCDF-4 dimension scales); with --dataset: its input columns\n"
    "  --dataset PATH          a plain (time) or (time, feature) dataset instead; column names\n"
    "                          from its 'columns' or 'features' attribute, else c0, c1, ...\n"
    "  --target A[,B]          variables to forecast (default: the first of --vars / column 0)\n"
    "  --select DIM=I          fix dimension DIM at index I (DIM=~X: the coordinate nearest X);\n"
    "                          repeatable. Dimensions other than time that are not selected\n"
    "                          make a panel: one series per station or grid point, one model\n"
    "  --time-dim NAME         the time dimension (default: 'time', else the one whose\n"
    "                          coordinate has units '<unit> since <date>', else the first)\n";

const char recur_cli_encoding_help[] =
    "Encoding (stored in the model):\n"
    "  --window W              input steps per forecast (default 14)\n"
    "  --horizon H             forecast steps 1..H ahead, all predicted (default 1)\n"
    "  --stride S              steps between issue times of the samples (default 1)\n"
    "  --val-fraction F        chronological validation split (default 0.15)\n"
    "  --test-fraction F       chronological test split, last (default 0.15); training gets\n"
    "                          the rest, first. No window straddles two splits\n"
    "  --calendar doy,hour     day-of-year and/or hour-of-day as sin/cos features (needs time\n"
    "                          units '<unit> since <date>'; default none)\n"
    "  --missing-indicators    one 0/1 channel per input: 1 where the value is missing (a\n"
    "                          missing input is 0 after z-scoring either way)\n";

void recur_cli_series_init(recur_cli_series_t *o)
{
    memset(o, 0, sizeof *o);
    o->window = 14;
    o->horizon = 1;
    o->stride = 1;
    o->val = 0.15;
    o->test = 0.15;
}

void recur_cli_series_release(recur_cli_series_t *o)
{
    free(o->vars_buf);
    free(o->targets_buf);
}

/* Splits a comma list into v (at most max items, none empty); *buf owns the copy. */
static int comma_list(const char *opt, const char *arg, char **buf, const char **v, size_t max,
                      size_t *n)
{
    free(*buf);
    *n = 0;
    if (!(*buf = strdup(arg))) {
        recur_error("out of memory");
        return RECUR_ENOMEM;
    }
    char *p = *buf;
    for (char *tok; (tok = strsep(&p, ","));) {
        if (!*tok || *n == max) {
            recur_error("%s: expected a comma-separated list of at most %zu names, got '%s'", opt,
                        max, arg);
            return RECUR_EINVAL;
        }
        v[(*n)++] = tok;
    }
    return 0;
}

/* Handles a series or encoding option: 1 handled, 0 not ours, < 0 bad value (logged). */
int recur_cli_series_option(int c, const char *arg, recur_cli_series_t *o)
{
    int bad = 0;
    if (c >= RECUR_CLI_S_H5 && c <= RECUR_CLI_S_MISSING_IND)
        o->given |= 1u << (c - RECUR_CLI_S_H5);
    switch (c) {
    case RECUR_CLI_S_H5:
        o->h5 = arg;
        return 1;
    case RECUR_CLI_S_DATASET:
        o->dataset = arg;
        return 1;
    case RECUR_CLI_S_VARS:
        bad = comma_list("--vars", arg, &o->vars_buf, o->vars, RECUR_FC_MAX_INPUTS, &o->n_vars);
        break;
    case RECUR_CLI_S_TARGET:
        bad = comma_list("--target", arg, &o->targets_buf, o->targets, RECUR_FC_MAX_TARGETS,
                         &o->n_targets);
        break;
    case RECUR_CLI_S_SELECT:
        if (o->n_select == RECUR_SERIES_MAX_SELECT) {
            recur_error("--select: at most %d", RECUR_SERIES_MAX_SELECT);
            return RECUR_EINVAL;
        }
        o->select_arg[o->n_select] = arg;
        bad = recur_series_select_parse(arg, &o->select[o->n_select]);
        o->n_select += !bad;
        break;
    case RECUR_CLI_S_TIME_DIM:
        o->time_dim = arg;
        return 1;
    case RECUR_CLI_S_WINDOW:
        bad = recur_cli_size("--window", arg, 1, RECUR_FC_MAX_WINDOW, &o->window);
        break;
    case RECUR_CLI_S_HORIZON:
        bad = recur_cli_size("--horizon", arg, 1, RECUR_FC_MAX_HORIZON, &o->horizon);
        break;
    case RECUR_CLI_S_STRIDE:
        bad = recur_cli_size("--stride", arg, 1, 1000000000, &o->stride);
        break;
    case RECUR_CLI_S_VAL_FRACTION:
        bad = recur_cli_double("--val-fraction", arg, 0.0, 0.9, &o->val);
        break;
    case RECUR_CLI_S_TEST_FRACTION:
        bad = recur_cli_double("--test-fraction", arg, 0.0, 0.9, &o->test);
        break;
    case RECUR_CLI_S_CALENDAR: {
        o->doy = o->hour = false;
        if (strcmp(arg, "none") == 0)
            return 1;
        char *copy = strdup(arg), *p = copy;
        if (!copy) {
            recur_error("out of memory");
            return RECUR_ENOMEM;
        }
        for (char *tok; !bad && (tok = strsep(&p, ","));) {
            if (strcmp(tok, "doy") == 0)
                o->doy = true;
            else if (strcmp(tok, "hour") == 0)
                o->hour = true;
            else {
                recur_error("--calendar: expected doy, hour, doy,hour or none, got '%s'", arg);
                bad = 1;
            }
        }
        free(copy);
        break;
    }
    case RECUR_CLI_S_MISSING_IND:
        o->mi = true;
        return 1;
    default:
        return 0;
    }
    return bad ? RECUR_EINVAL : 1;
}

/* Usage checks shared by every command: --h5 present, a file, --dataset xor --vars. */
const char *recur_cli_series_check(const recur_cli_series_t *o, bool need_names)
{
    if (!o->h5)
        return "missing --h5 FILE";
    if (strcmp(o->h5, "-") == 0)
        return "--h5: the series cannot be read from standard input (HDF5 needs a file)";
    if (need_names && !o->dataset && !o->n_vars)
        return "missing --vars A,B,... (or --dataset PATH)";
    if (o->val + o->test >= 1.0)
        return "--val-fraction + --test-fraction must leave a training split (sum < 1)";
    return NULL;
}

/* Reads the series: the variables (CF: names, plus targets not among them) or the dataset. */
static recur_series_t *read_series(const recur_cli_series_t *o, const char *const *vars,
                                   size_t n_vars)
{
    recur_series_opts_t so = {.dataset = o->dataset,
                              .vars = o->dataset ? NULL : vars,
                              .n_vars = o->dataset ? 0 : n_vars,
                              .time_dim = o->time_dim,
                              .select = o->select,
                              .n_select = o->n_select};
    return recur_series_read(o->h5, &so);
}

/* Index of variable name in s, logged when absent. */
static int find_var(const recur_series_t *s, const recur_cli_series_t *o, const char *name,
                    size_t *out)
{
    const long i = recur_series_var_index(s, name);
    if (i < 0) {
        recur_error("%s: %s%sno variable '%s'", o->h5, o->dataset ? o->dataset : "",
                    o->dataset ? ": " : "", name);
        return RECUR_EINVAL;
    }
    *out = (size_t)i;
    return 0;
}

/* The series named on the command line and an encoding fitted on its training split. */
int recur_cli_series_load_fit(const recur_cli_series_t *o, recur_series_t **out, recur_fc_t *fc)
{
    const char *all[RECUR_FC_MAX_INPUTS + RECUR_FC_MAX_TARGETS];
    size_t n = 0;
    for (size_t i = 0; i < o->n_vars; i++)
        all[n++] = o->vars[i];
    for (size_t k = 0; k < o->n_targets; k++) {
        bool dup = false;
        for (size_t i = 0; i < n && !dup; i++)
            dup = strcmp(all[i], o->targets[k]) == 0;
        if (!dup)
            all[n++] = o->targets[k];
    }
    recur_series_t *s = read_series(o, all, n);
    if (!s)
        return RECUR_EFORMAT;
    memset(fc, 0, sizeof *fc);
    fc->window = o->window;
    fc->horizon = o->horizon;
    fc->stride = o->stride;
    fc->val_frac = o->val;
    fc->train_frac = 1.0 - o->val - o->test;
    fc->doy = o->doy;
    fc->hour = o->hour;
    fc->missing_indicators = o->mi;
    fc->V = s->V;
    int rc = 0;
    if (o->dataset && !o->n_vars) { /* plain mode: every column is an input */
        if (s->V > RECUR_FC_MAX_INPUTS) {
            recur_error("%s: %s: %zu columns, more than %d inputs (choose with --vars)", o->h5,
                        o->dataset, s->V, RECUR_FC_MAX_INPUTS);
            rc = RECUR_EINVAL;
        }
        for (size_t i = 0; rc == 0 && i < s->V; i++)
            fc->in_var[fc->n_in++] = i;
    } else {
        for (size_t i = 0; rc == 0 && i < o->n_vars; i++)
            rc = find_var(s, o, o->vars[i], &fc->in_var[fc->n_in++]);
    }
    if (o->n_targets == 0)
        fc->out_var[fc->n_out++] = fc->in_var[0];
    for (size_t k = 0; rc == 0 && k < o->n_targets; k++)
        rc = find_var(s, o, o->targets[k], &fc->out_var[fc->n_out++]);
    if (rc == 0 && (rc = recur_fc_init(fc)) != 0)
        rc = RECUR_EINVAL;
    if (rc == 0)
        rc = recur_fc_fit(fc, s, o->h5);
    if (rc) {
        recur_series_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* The series for a model's encoding: the model's source, overridden by the command line. */
int recur_cli_series_load_for_model(recur_cli_series_t *o, const recur_model_t *m,
                                    const char *mpath, recur_fc_t *fc, recur_series_t **out)
{
    recur_fc_source_t src;
    if (recur_fc_from_model(m, mpath, fc, &src) != 0)
        return RECUR_EFORMAT;
    if (!o->dataset && !o->n_vars)
        o->dataset = src.dataset;
    if (!o->time_dim)
        o->time_dim = src.time_dim;
    if (o->n_select == 0)
        for (size_t k = 0; k < src.n_select && k < RECUR_SERIES_MAX_SELECT; k++) {
            if (recur_series_select_parse(src.select[k], &o->select[k]) != 0)
                return RECUR_EFORMAT;
            o->select_arg[k] = src.select[k];
            o->n_select++;
        }
    recur_series_t *s = read_series(o, src.vars, fc->V);
    if (!s)
        return RECUR_EFORMAT;
    if (s->V != fc->V) {
        recur_error("%s: %zu variables, the model was trained on %zu", o->h5, s->V, fc->V);
        recur_series_free(s);
        return RECUR_EINVAL;
    }
    if (o->dataset)
        for (size_t v = 0; v < s->V; v++)
            if (strcmp(s->var_names[v], src.vars[v]) != 0) {
                recur_error("%s: %s: column %zu is '%s', the model's is '%s'", o->h5, o->dataset, v,
                            s->var_names[v], src.vars[v]);
                recur_series_free(s);
                return RECUR_EINVAL;
            }
    *out = s;
    return 0;
}

/* names[idx[0..n-1]] joined by commas into buf. */
static void join_names(const char *const *names, const size_t *idx, size_t n, char *buf,
                       size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "," : "",
                                idx ? names[idx[i]] : names[i]);
}

static const char *calendar_name(bool doy, bool hour)
{
    return doy && hour ? "doy,hour" : doy ? "doy" : hour ? "hour" : "none";
}

/* The restated series and encoding options against fc and src (the model's). */
static int restated(const recur_cli_series_t *o, const recur_fc_t *fc, const recur_fc_source_t *src,
                    const char *whose)
{
    char a[1024], b[1024];
    int rc = 0;
    for (int c = RECUR_CLI_S_VARS; rc == 0 && c <= RECUR_CLI_S_MISSING_IND; c++) {
        if (!((o->given >> (c - RECUR_CLI_S_H5)) & 1u))
            continue;
        const char *opt = NULL;
        switch (c) {
        case RECUR_CLI_S_VARS:
            opt = "vars";
            join_names(o->vars, NULL, o->n_vars, a, sizeof a);
            join_names(src->vars, fc->in_var, fc->n_in, b, sizeof b);
            break;
        case RECUR_CLI_S_TARGET:
            opt = "target";
            join_names(o->targets, NULL, o->n_targets, a, sizeof a);
            join_names(src->vars, fc->out_var, fc->n_out, b, sizeof b);
            break;
        case RECUR_CLI_S_WINDOW:
        case RECUR_CLI_S_HORIZON:
        case RECUR_CLI_S_STRIDE: {
            const bool w = c == RECUR_CLI_S_WINDOW, h = c == RECUR_CLI_S_HORIZON;
            opt = w ? "window" : h ? "horizon" : "stride";
            snprintf(a, sizeof a, "%zu", w ? o->window : h ? o->horizon : o->stride);
            snprintf(b, sizeof b, "%zu", w ? fc->window : h ? fc->horizon : fc->stride);
            break;
        }
        case RECUR_CLI_S_VAL_FRACTION:
            opt = "val-fraction";
            snprintf(a, sizeof a, "%g", o->val);
            snprintf(b, sizeof b, "%g", fc->val_frac);
            break;
        case RECUR_CLI_S_TEST_FRACTION:
            opt = "test-fraction";
            snprintf(a, sizeof a, "%g", o->test);
            snprintf(b, sizeof b, "%g", 1.0 - fc->train_frac - fc->val_frac);
            break;
        case RECUR_CLI_S_CALENDAR:
            opt = "calendar";
            snprintf(a, sizeof a, "%s", calendar_name(o->doy, o->hour));
            snprintf(b, sizeof b, "%s", calendar_name(fc->doy, fc->hour));
            break;
        case RECUR_CLI_S_MISSING_IND:
            if (!fc->missing_indicators) {
                recur_error("--missing-indicators conflicts with %s encoding, which has none",
                            whose);
                rc = RECUR_EINVAL;
            }
            break;
        default:
            break;
        }
        if (opt)
            rc = recur_cli_restated(opt, a, whose, b);
    }
    return rc;
}

int recur_cli_series_restated(const recur_cli_series_t *o, const recur_model_t *m,
                              const char *mpath, const char *whose)
{
    recur_fc_t fc = {0};
    recur_fc_source_t src;
    if (recur_fc_from_model(m, mpath, &fc, &src) != 0)
        return RECUR_EFORMAT;
    const int rc = restated(o, &fc, &src, whose);
    recur_fc_release(&fc);
    return rc;
}

bool recur_cli_series_requested(int argc, char *argv[])
{
    for (int i = 1; i < argc; i++) {
        if (!argv[i])
            break;
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--h5") == 0 || strncmp(argv[i], "--h5=", 5) == 0)
            return true;
    }
    return false;
}

/* The date (or index) of step t, for messages. */
void recur_cli_series_step_label(const recur_series_t *s, size_t t, char *buf, size_t size)
{
    if (s->epoch)
        recur_time_format(s->epoch[t], recur_fc_date_only(s), buf, size);
    else
        snprintf(buf, size, "step %zu", t);
}
