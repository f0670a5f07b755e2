/* recur/gradcheck.h - the analytic gradient of the engine against central finite differences,
 * for every parameter (or an even sample of them) and for the input, one TBPTT window at a
 * time with the carried state held fixed (the quantity truncated BPTT differentiates). */
#ifndef RECUR_GRADCHECK_H
#define RECUR_GRADCHECK_H

#include <recur/engine.h>

typedef struct {
    double eps;        /* finite-difference step */
    double rtol, atol; /* pass when |analytic - numeric| <= atol + rtol * max(|a|, |n|) */
    size_t tbptt;      /* window K; 0 = full BPTT */
    bool check_input;  /* also check d loss / d x */
    size_t max_checks; /* per tensor; 0 = every element */
    bool verbose;      /* log each mismatch (up to 10) */
    double corrupt;    /* testing the checker: added to the analytic d loss / d params[0] */
    double act_reg;    /* activation regulariser lambda (recur_engine_set_act_reg; 0 = off) */
    bool act_reg_all;  /* ... over padded steps too (the experiment-only switch) */
} recur_gradcheck_opts_t;

/* An element whose central difference disagrees is not a failure when the loss has a kink
 * within eps of it (max pooling switching steps, a ReLU-like corner): the one-sided
 * differences then differ by more than the tolerance and the analytic value lies between them
 * (it is a one-sided derivative). Such elements are counted in `kinks`. */
typedef struct {
    size_t checked, failed, kinks;
    double max_abs_err;
    double max_rel_err; /* over elements whose gradient exceeds atol in magnitude */
    char worst[64];     /* name[index] of the worst element */
} recur_gradcheck_result_t;

/* Defaults for this build: eps 1e-6, rtol 1e-6, atol 1e-8 in double; eps 1e-3, rtol 5e-2,
 * atol 1e-3 in float. */
void recur_gradcheck_defaults(recur_gradcheck_opts_t *o);

/* Compares analytic and numeric gradients of the loss of batch b under params; dropout is
 * off. Returns 0 when the check ran (r->failed says whether it passed), a negative code when
 * it could not run. */
int recur_gradcheck(const recur_config_t *cfg, const recur_real *params, const recur_batch_t *b,
                    const recur_gradcheck_opts_t *o, recur_gradcheck_result_t *r) RECUR_WUR;

#endif
