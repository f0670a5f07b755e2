/* recur/synth.h - random batches with known shapes for gradient checks, benchmarks and tests:
 * inputs U(-1, 1), mixed lengths (right padding) and optional gaps, targets of the task. */
#ifndef RECUR_SYNTH_H
#define RECUR_SYNTH_H

#include <gsl/gsl_rng.h>

#include <recur/engine.h>

typedef struct {
    recur_batch_t batch; /* views into the arrays below */
    recur_real *x;       /* (T, B, I) */
    unsigned char *mask; /* (T, B) */
    int32_t *labels;     /* classify: (B) or (T, B) */
    recur_real *targets; /* multilabel / regress: (B, O) or (T, B, O) */
} recur_synth_t;

typedef struct {
    bool mixed_lengths; /* lengths uniform in [max(1, T/2), T], the first sequence full */
    bool gaps;          /* also mask ~10% of the steps inside sequences */
} recur_synth_opts_t;

/* NULL on failure (logged). */
recur_synth_t *recur_synth_alloc(const recur_config_t *cfg, size_t T, size_t B,
                                 const recur_synth_opts_t *o, gsl_rng *rng);
void recur_synth_free(recur_synth_t *s);

#endif
