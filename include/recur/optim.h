/* recur/optim.h - optimizers on the flat parameter block (PyTorch semantics): SGD with
 * momentum, Adam, AdamW; L2 / decoupled weight decay; global-norm gradient clipping to the
 * threshold; steps whose gradient is not finite are skipped and counted. */
#ifndef RECUR_OPTIM_H
#define RECUR_OPTIM_H

#include <recur/common.h>

typedef enum { RECUR_OPT_SGD, RECUR_OPT_ADAM, RECUR_OPT_ADAMW } recur_optim_kind_t;

typedef struct {
    recur_optim_kind_t kind;
    double lr;
    double momentum;          /* SGD: torch.optim.SGD(momentum=), dampening 0, no Nesterov */
    double weight_decay;      /* SGD, Adam: added to the gradient (L2); AdamW: decoupled */
    double beta1, beta2, eps; /* Adam/AdamW (PyTorch defaults 0.9, 0.999, 1e-8) */
    double clip;              /* global L2 norm threshold; 0 = off */
} recur_optim_config_t;

/* Fills PyTorch's defaults for kind (lr 1e-3 for Adam/AdamW, 0.01 for SGD; AdamW weight
 * decay 0.01). */
void recur_optim_defaults(recur_optim_kind_t kind, recur_optim_config_t *cfg);
const char *recur_optim_name(recur_optim_kind_t kind); /* "sgd" | "adam" | "adamw" */
int recur_optim_parse(const char *s, recur_optim_kind_t *out) RECUR_WUR;

typedef struct recur_optim recur_optim_t;

/* Optimizer for n parameters; moments start at 0, step at 0. NULL on failure (logged). */
recur_optim_t *recur_optim_alloc(const recur_optim_config_t *cfg, size_t n);
void recur_optim_free(recur_optim_t *o);

/* L2 norm of g[0..n-1], accumulated in double (inf/nan if any element is). */
double recur_grad_norm(const recur_real *g, size_t n);

/* One update. The gradient's global norm before clipping goes to *norm (may be NULL). If the
 * norm is not finite, nothing changes, the skip is counted and RECUR_ENONFINITE is returned;
 * otherwise, if clip > 0 and norm > clip, grads are scaled by clip / (norm + 1e-6) (as
 * torch.nn.utils.clip_grad_norm_), then params are updated and 0 returned. */
int recur_optim_step(recur_optim_t *o, recur_real *params, recur_real *grads, double *norm);

/* Step counter (updates made), and skipped steps so far. */
uint64_t recur_optim_steps(const recur_optim_t *o);
uint64_t recur_optim_skipped(const recur_optim_t *o);
const recur_optim_config_t *recur_optim_config(const recur_optim_t *o);

/* State for exact resume: the moment buffers (SGD: momentum buffer in m, v unused; Adam: first
 * and second moments), each n elements, and the step counter. */
size_t recur_optim_size(const recur_optim_t *o);
recur_real *recur_optim_m(recur_optim_t *o);
recur_real *recur_optim_v(recur_optim_t *o);
void recur_optim_set_steps(recur_optim_t *o, uint64_t steps, uint64_t skipped);

#endif
