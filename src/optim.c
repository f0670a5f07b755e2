/* optim.c - optimizers on the flat parameter block with PyTorch 1.13 semantics: SGD with
 * momentum, Adam and AdamW (torch.optim._single_tensor_*), global-norm clipping as
 * torch.nn.utils.clip_grad_norm_, and skipping of steps whose gradient is not finite. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <recur/optim.h>

/* clip_grad_norm_ divides by (norm + 1e-6) (torch/nn/utils/clip_grad.py, 1.13). */
#define CLIP_EPS 1e-6

struct recur_optim {
    recur_optim_config_t cfg;
    size_t n;
    uint64_t steps;   /* updates made; Adam's bias correction uses steps + 1 */
    uint64_t skipped; /* steps refused because the gradient norm was not finite */
    recur_real *m;    /* (n) SGD momentum buffer, or Adam's first moment; owns the block */
    recur_real *v;    /* (n) Adam's second moment; points into m's allocation */
};

static const char *const kind_names[] = {"sgd", "adam", "adamw"};

const char *recur_optim_name(recur_optim_kind_t kind)
{
    return (unsigned)kind < 3 ? kind_names[kind] : "?";
}

int recur_optim_parse(const char *s, recur_optim_kind_t *out)
{
    for (int i = 0; s && i < 3; i++)
        if (strcmp(s, kind_names[i]) == 0) {
            *out = (recur_optim_kind_t)i;
            return 0;
        }
    return RECUR_EINVAL;
}

void recur_optim_defaults(recur_optim_kind_t kind, recur_optim_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    /* torch.optim.SGD has no default lr in 1.13 (it is required); 0.01 is the usual choice. */
    cfg->lr = kind == RECUR_OPT_SGD ? 0.01 : 1e-3;
    cfg->momentum = 0.0;
    cfg->weight_decay = kind == RECUR_OPT_ADAMW ? 0.01 : 0.0;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-8;
    cfg->clip = 0.0;
}

/* Checks the fields that the kind uses (betas and eps for Adam/AdamW, momentum for SGD);
 * NaN fails every test. Logs the first problem found. */
static int check_config(const recur_optim_config_t *cfg)
{
    if ((unsigned)cfg->kind > RECUR_OPT_ADAMW) {
        recur_error("optimizer: unknown kind %d", (int)cfg->kind);
        return RECUR_EINVAL;
    }
    const char *name = recur_optim_name(cfg->kind);
    if (!(cfg->lr >= 0.0 && isfinite(cfg->lr))) {
        recur_error("%s: learning rate must be finite and >= 0 (got %g)", name, cfg->lr);
        return RECUR_EINVAL;
    }
    if (!(cfg->weight_decay >= 0.0 && isfinite(cfg->weight_decay))) {
        recur_error("%s: weight decay must be finite and >= 0 (got %g)", name, cfg->weight_decay);
        return RECUR_EINVAL;
    }
    if (!(cfg->clip >= 0.0 && isfinite(cfg->clip))) {
        recur_error("%s: clipping threshold must be finite and >= 0, 0 = off (got %g)", name,
                    cfg->clip);
        return RECUR_EINVAL;
    }
    if (cfg->kind == RECUR_OPT_SGD) {
        if (!(cfg->momentum >= 0.0 && cfg->momentum < 1.0)) {
            recur_error("%s: momentum must be in [0, 1) (got %g)", name, cfg->momentum);
            return RECUR_EINVAL;
        }
        return 0;
    }
    if (!(cfg->beta1 >= 0.0 && cfg->beta1 < 1.0)) {
        recur_error("%s: beta1 must be in [0, 1) (got %g)", name, cfg->beta1);
        return RECUR_EINVAL;
    }
    if (!(cfg->beta2 >= 0.0 && cfg->beta2 < 1.0)) {
        recur_error("%s: beta2 must be in [0, 1) (got %g)", name, cfg->beta2);
        return RECUR_EINVAL;
    }
    if (!(cfg->eps > 0.0 && isfinite(cfg->eps))) {
        recur_error("%s: eps must be finite and > 0 (got %g)", name, cfg->eps);
        return RECUR_EINVAL;
    }
    return 0;
}

recur_optim_t *recur_optim_alloc(const recur_optim_config_t *cfg, size_t n)
{
    recur_optim_t *o = NULL;
    size_t bytes;
    if (!cfg) {
        recur_error("optimizer: no configuration");
        return NULL;
    }
    if (check_config(cfg) < 0)
        return NULL;
    if (n == 0) {
        recur_error("%s: no parameters to optimize", recur_optim_name(cfg->kind));
        return NULL;
    }
    /* m and v: one block of 2n elements (v is kept for SGD too, so that checkpoints can always
     * write both). */
    if (!recur_mul_ok(n, 2 * sizeof(recur_real), &bytes)) {
        recur_error("%s: %zu parameters overflow the moment buffers", recur_optim_name(cfg->kind),
                    n);
        return NULL;
    }
    o = calloc(1, sizeof *o);
    if (!o)
        goto fail_nomem;
    o->m = calloc(2 * n, sizeof(recur_real));
    if (!o->m)
        goto fail_nomem;
    o->v = o->m + n;
    o->cfg = *cfg;
    o->n = n;
    return o;

fail_nomem:
    recur_error("%s: out of memory for %zu parameters", recur_optim_name(cfg->kind), n);
    recur_optim_free(o);
    return NULL;
}

void recur_optim_free(recur_optim_t *o)
{
    if (!o)
        return;
    free(o->m);
    free(o);
}

double recur_grad_norm(const recur_real *g, size_t n)
{
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        ss += (double)g[i] * (double)g[i];
    if (!isinf(ss))
        return sqrt(ss); /* finite, or NaN because some element is */
    /* The sum overflowed: either an element is infinite, or (double build only) the squares
     * of finite elements exceed DBL_MAX. Rescale by the largest magnitude in the latter case. */
    double amax = 0.0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs((double)g[i]);
        if (!isfinite(a))
            return a; /* inf, or NaN */
        if (a > amax)
            amax = a;
    }
    ss = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = (double)g[i] / amax;
        ss += x * x;
    }
    return amax * sqrt(ss);
}

/* torch.optim.SGD, dampening 0, no Nesterov:
 *   g = grad + wd * p
 *   buf = g (first step), buf = momentum * buf + g (later steps);  g = buf   (if momentum)
 *   p = p - lr * g */
static void step_sgd(recur_optim_t *o, recur_real *params, const recur_real *grads)
{
    const double lr = o->cfg.lr, wd = o->cfg.weight_decay, mu = o->cfg.momentum;
    const bool first = o->steps == 0;
    recur_real *buf = o->m; /* (n) */
    for (size_t i = 0; i < o->n; i++) {
        double p = params[i];
        double g = (double)grads[i] + wd * p;
        if (mu != 0.0) {
            g = first ? g : mu * (double)buf[i] + g;
            buf[i] = (recur_real)g;
        }
        params[i] = (recur_real)(p - lr * g);
    }
}

/* torch.optim.Adam / AdamW (_single_tensor_adam[w], 1.13), t = step number from 1:
 *   AdamW: p = p * (1 - lr * wd)          Adam: g = grad + wd * p
 *   m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
 *   p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps) */
static void step_adam(recur_optim_t *o, recur_real *params, const recur_real *grads)
{
    const double lr = o->cfg.lr, wd = o->cfg.weight_decay;
    const double b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps;
    const bool decoupled = o->cfg.kind == RECUR_OPT_ADAMW;
    const double t = (double)(o->steps + 1);
    const double step_size = lr / (1.0 - pow(b1, t));
    const double bc2_sqrt = sqrt(1.0 - pow(b2, t));
    const double decay = 1.0 - lr * wd;
    recur_real *m = o->m, *v = o->v; /* (n), (n) */
    for (size_t i = 0; i < o->n; i++) {
        double p = params[i];
        double g = grads[i];
        if (decoupled)
            p *= decay;
        else
            g += wd * p;
        double mi = b1 * (double)m[i] + (1.0 - b1) * g;
        double vi = b2 * (double)v[i] + (1.0 - b2) * g * g;
        m[i] = (recur_real)mi;
        v[i] = (recur_real)vi;
        params[i] = (recur_real)(p - step_size * mi / (sqrt(vi) / bc2_sqrt + eps));
    }
}

int recur_optim_step(recur_optim_t *o, recur_real *params, recur_real *grads, double *norm)
{
    if (!o || !params || !grads) {
        recur_error("optimizer step: NULL argument");
        return RECUR_EINVAL;
    }
    double total = recur_grad_norm(grads, o->n);
    if (norm)
        *norm = total;
    if (!isfinite(total)) {
        o->skipped++;
        return RECUR_ENONFINITE;
    }
    if (o->cfg.clip > 0.0) {
        double coef = o->cfg.clip / (total + CLIP_EPS);
        if (coef < 1.0)
            for (size_t i = 0; i < o->n; i++)
                grads[i] = (recur_real)((double)grads[i] * coef);
    }
    if (o->cfg.kind == RECUR_OPT_SGD)
        step_sgd(o, params, grads);
    else
        step_adam(o, params, grads);
    o->steps++;
    return 0;
}

uint64_t recur_optim_steps(const recur_optim_t *o)
{
    return o->steps;
}

uint64_t recur_optim_skipped(const recur_optim_t *o)
{
    return o->skipped;
}

const recur_optim_config_t *recur_optim_config(const recur_optim_t *o)
{
    return &o->cfg;
}

size_t recur_optim_size(const recur_optim_t *o)
{
    return o->n;
}

recur_real *recur_optim_m(recur_optim_t *o)
{
    return o->m;
}

recur_real *recur_optim_v(recur_optim_t *o)
{
    return o->v;
}

void recur_optim_set_steps(recur_optim_t *o, uint64_t steps, uint64_t skipped)
{
    o->steps = steps;
    o->skipped = skipped;
}
