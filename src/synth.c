/* synth.c - random batches of known shape for gradient checks, benchmarks and tests: inputs
 * U(-1, 1), right-padded mixed lengths with optional gaps, and targets drawn for the task and
 * head (class labels, {0, 1} labels or N(0, 1) values). */
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include <recur/synth.h>

/* Probability that a step strictly inside a sequence is a gap (DESIGN: "~10%"). */
#define SYNTH_GAP_P 0.1

void recur_synth_free(recur_synth_t *s)
{
    if (!s)
        return;
    free(s->x);
    free(s->mask);
    free(s->labels);
    free(s->targets);
    free(s);
}

/* Valid lengths: the first sequence full, the others uniform in [max(1, T/2), T] when mixed. */
static void draw_lengths(size_t T, size_t B, bool mixed, gsl_rng *rng, size_t *len)
{
    const size_t lo = T / 2 > 0 ? T / 2 : 1;
    for (size_t b = 0; b < B; b++)
        len[b] = (!mixed || b == 0) ? T : lo + (size_t)gsl_rng_uniform_int(rng, T - lo + 1);
}

recur_synth_t *recur_synth_alloc(const recur_config_t *cfg, size_t T, size_t B,
                                 const recur_synth_opts_t *o, gsl_rng *rng)
{
    recur_synth_t *s = NULL, *out = NULL;
    size_t *len = NULL; /* (B) valid length of each sequence */
    if (!cfg || !rng || T == 0 || B == 0) {
        recur_error("synthetic batch: need a configuration, an RNG and T, B > 0");
        goto done;
    }
    if (recur_config_validate(cfg) != 0)
        goto done;
    const recur_synth_opts_t none = {false, false};
    if (!o)
        o = &none;
    const size_t I = cfg->input_size, O = cfg->num_outputs;
    const bool step = cfg->head == RECUR_HEAD_STEP;
    /* element counts: TB = T*B, nx = T*B*I, ny = (T*)B(*O) */
    size_t TB, nx, ny;
    if (!recur_mul_ok(T, B, &TB) || !recur_mul_ok(TB, I, &nx) ||
        !recur_mul_ok(step ? TB : B, cfg->task == RECUR_TASK_CLASSIFY ? 1 : O, &ny) ||
        nx > SIZE_MAX / sizeof(recur_real) || ny > SIZE_MAX / sizeof(recur_real)) {
        recur_error("synthetic batch: size overflow (T = %zu, B = %zu)", T, B);
        goto done;
    }
    s = calloc(1, sizeof *s);
    len = malloc(B * sizeof *len);
    if (!s || !len)
        goto nomem;
    s->x = malloc(nx * sizeof *s->x);      /* (T, B, I) */
    s->mask = calloc(TB, sizeof *s->mask); /* (T, B) */
    if (!s->x || !s->mask)
        goto nomem;
    if (cfg->task == RECUR_TASK_CLASSIFY)
        s->labels = malloc(ny * sizeof *s->labels); /* (B) or (T, B) */
    else
        s->targets = malloc(ny * sizeof *s->targets); /* (B, O) or (T, B, O) */
    if (!s->labels && !s->targets)
        goto nomem;

    /* Draw order is fixed (lengths, inputs, gaps, targets) so that one seed gives one batch. */
    draw_lengths(T, B, o->mixed_lengths, rng, len);
    for (size_t t = 0; t < T; t++)
        for (size_t b = 0; b < B; b++) {
            recur_real *xt = s->x + (t * B + b) * I;
            for (size_t i = 0; i < I; i++)
                xt[i] = (recur_real)(2.0 * gsl_rng_uniform(rng) - 1.0);
            if (t < len[b])
                s->mask[t * B + b] = 1;
            else
                memset(xt, 0, I * sizeof *xt); /* right padding is zero, as pad_sequence */
        }
    /* Gaps only strictly inside a sequence: its first and last valid steps stay, so lengths
     * (and the "last" pooling position) are those drawn above. */
    if (o->gaps)
        for (size_t b = 0; b < B; b++)
            for (size_t t = 1; t + 1 < len[b]; t++)
                if (gsl_rng_uniform(rng) < SYNTH_GAP_P)
                    s->mask[t * B + b] = 0;

    const size_t rows = step ? TB : B; /* target rows: (t, b) pairs or sequences */
    for (size_t r = 0; r < rows; r++) {
        const bool valid = !step || s->mask[r];
        if (cfg->task == RECUR_TASK_CLASSIFY) {
            s->labels[r] = valid ? (int32_t)gsl_rng_uniform_int(rng, O) : -1;
            continue;
        }
        recur_real *y = s->targets + r * O;
        for (size_t k = 0; k < O; k++) {
            if (!valid)
                y[k] = 0;
            else if (cfg->task == RECUR_TASK_MULTILABEL)
                y[k] = (recur_real)(gsl_rng_uniform(rng) < 0.5 ? 0 : 1);
            else
                y[k] = (recur_real)gsl_ran_gaussian(rng, 1.0);
        }
    }

    s->batch.T = T;
    s->batch.B = B;
    s->batch.x = s->x;
    s->batch.mask = s->mask;
    s->batch.labels = s->labels;
    s->batch.targets = s->targets;
    s->batch.target_mask = NULL;
    out = s;
    s = NULL;
    goto done;

nomem:
    recur_error("synthetic batch: out of memory (T = %zu, B = %zu)", T, B);
done:
    free(len);
    recur_synth_free(s);
    return out;
}
