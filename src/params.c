/* params.c - configuration checks and names, the flat parameter layout (PyTorch state_dict
 * order, names and shapes) and initialisation (PyTorch's uniform default, orthogonal
 * recurrent weights by GSL's QR, forget-gate bias). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_complex_math.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_vector.h>

#include <recur/engine.h>

static const char *const cell_names[] = {"rnn", "lstm", "gru"};
static const char *const head_names[] = {"seq", "step"};
static const char *const pool_names[] = {"last", "mean", "max"};
static const char *const task_names[] = {"classify", "multilabel", "regress"};

const char *recur_cell_name(recur_cell_t c)
{
    return (unsigned)c < 3 ? cell_names[c] : "?";
}
const char *recur_head_name(recur_head_t h)
{
    return (unsigned)h < 2 ? head_names[h] : "?";
}
const char *recur_pool_name(recur_pool_t p)
{
    return (unsigned)p < 3 ? pool_names[p] : "?";
}
const char *recur_task_name(recur_task_t t)
{
    return (unsigned)t < 3 ? task_names[t] : "?";
}

static int parse_name(const char *s, const char *const *names, int n, int *out)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return RECUR_EINVAL;
}

int recur_cell_parse(const char *s, recur_cell_t *out)
{
    int v, rc = parse_name(s, cell_names, 3, &v);
    if (rc == 0)
        *out = (recur_cell_t)v;
    return rc;
}
int recur_head_parse(const char *s, recur_head_t *out)
{
    int v, rc = parse_name(s, head_names, 2, &v);
    if (rc == 0)
        *out = (recur_head_t)v;
    return rc;
}
int recur_pool_parse(const char *s, recur_pool_t *out)
{
    int v, rc = parse_name(s, pool_names, 3, &v);
    if (rc == 0)
        *out = (recur_pool_t)v;
    return rc;
}
int recur_task_parse(const char *s, recur_task_t *out)
{
    if (s && strcmp(s, "forecast") == 0) {
        *out = RECUR_TASK_REGRESS;
        return 0;
    }
    int v, rc = parse_name(s, task_names, 3, &v);
    if (rc == 0)
        *out = (recur_task_t)v;
    return rc;
}

size_t recur_config_gates(const recur_config_t *cfg)
{
    return cfg->cell == RECUR_CELL_LSTM ? 4 : cfg->cell == RECUR_CELL_GRU ? 3 : 1;
}

size_t recur_config_directions(const recur_config_t *cfg)
{
    return cfg->bidirectional ? 2 : 1;
}

/* Sizes are capped so that every product in the layout fits comfortably in size_t and in
 * BLAS's int dimensions. */
#define RECUR_MAX_DIM ((size_t)1 << 20)

int recur_config_validate(const recur_config_t *cfg)
{
    const char *why = NULL;
    if ((unsigned)cfg->cell > RECUR_CELL_GRU)
        why = "unknown cell";
    else if ((unsigned)cfg->head > RECUR_HEAD_STEP)
        why = "unknown head";
    else if ((unsigned)cfg->pool > RECUR_POOL_MAX)
        why = "unknown pooling";
    else if ((unsigned)cfg->task > RECUR_TASK_REGRESS)
        why = "unknown task";
    else if (cfg->input_size == 0 || cfg->input_size > RECUR_MAX_DIM)
        why = "input size must be in 1..2^20";
    else if (cfg->hidden_size == 0 || cfg->hidden_size > 65536)
        why = "hidden size must be in 1..65536";
    else if (cfg->num_layers == 0 || cfg->num_layers > 64)
        why = "number of layers must be in 1..64";
    else if (cfg->num_outputs == 0 || cfg->num_outputs > RECUR_MAX_DIM)
        why = "number of outputs must be in 1..2^20";
    else if (cfg->task == RECUR_TASK_CLASSIFY && cfg->num_outputs < 2)
        why = "classification needs at least 2 classes";
    else if (!(cfg->dropout >= 0.0 && cfg->dropout < 1.0))
        why = "dropout must be in [0, 1)";
    if (why) {
        recur_error("invalid model configuration: %s", why);
        return RECUR_EINVAL;
    }
    return 0;
}

/* Appends one tensor (rank 1 when cols == 0) to the layout walk; out may be NULL. */
static void add_tensor(recur_tensor_t *out, size_t *k, size_t *off, const char *name, size_t rows,
                       size_t cols)
{
    const size_t numel = rows * (cols ? cols : 1);
    if (out) {
        recur_tensor_t *t = &out[*k];
        snprintf(t->name, sizeof t->name, "%s", name);
        t->offset = *off;
        t->rank = cols ? 2 : 1;
        t->dims[0] = rows;
        t->dims[1] = cols ? cols : 1;
        t->numel = numel;
    }
    *off += numel;
    (*k)++;
}

/* Walks the layout in state_dict order; out may be NULL (counting only). */
static size_t layout(const recur_config_t *cfg, recur_tensor_t *out, size_t *total)
{
    const size_t G = recur_config_gates(cfg), H = cfg->hidden_size;
    const size_t D = recur_config_directions(cfg);
    size_t k = 0, off = 0;
    char nm[40];
    for (size_t l = 0; l < cfg->num_layers; l++) {
        const size_t in = l == 0 ? cfg->input_size : D * H;
        for (size_t d = 0; d < D; d++) {
            const char *sfx = d ? "_reverse" : "";
            snprintf(nm, sizeof nm, "rnn.weight_ih_l%u%s", (unsigned)(l & 63), sfx);
            add_tensor(out, &k, &off, nm, G * H, in);
            snprintf(nm, sizeof nm, "rnn.weight_hh_l%u%s", (unsigned)(l & 63), sfx);
            add_tensor(out, &k, &off, nm, G * H, H);
            snprintf(nm, sizeof nm, "rnn.bias_ih_l%u%s", (unsigned)(l & 63), sfx);
            add_tensor(out, &k, &off, nm, G * H, 0);
            snprintf(nm, sizeof nm, "rnn.bias_hh_l%u%s", (unsigned)(l & 63), sfx);
            add_tensor(out, &k, &off, nm, G * H, 0);
        }
    }
    add_tensor(out, &k, &off, "head.weight", cfg->num_outputs, D * H);
    add_tensor(out, &k, &off, "head.bias", cfg->num_outputs, 0);
    if (total)
        *total = off;
    return k;
}

size_t recur_param_count(const recur_config_t *cfg)
{
    size_t total;
    layout(cfg, NULL, &total);
    return total;
}

size_t recur_tensor_count(const recur_config_t *cfg)
{
    return layout(cfg, NULL, NULL);
}

void recur_tensor_table(const recur_config_t *cfg, recur_tensor_t *out)
{
    layout(cfg, out, NULL);
}

/* Replaces the (n, n) row-major block w (row stride ld) by the Q of the QR factorisation of a
 * standard Gaussian matrix, with signs fixed so that diag(R) > 0 (Q is then Haar-distributed;
 * Mezzadri 2007, as torch.nn.init.orthogonal_). */
static int orthogonal_block(recur_real *w, size_t n, size_t ld, gsl_rng *rng)
{
    int rc = RECUR_ENOMEM;
    gsl_matrix *a = gsl_matrix_alloc(n, n), *q = gsl_matrix_alloc(n, n),
               *r = gsl_matrix_alloc(n, n);
    gsl_vector *tau = gsl_vector_alloc(n);
    if (!a || !q || !r || !tau)
        goto free_all;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            gsl_matrix_set(a, i, j, gsl_ran_gaussian(rng, 1.0));
    rc = RECUR_EINVAL;
    if (gsl_linalg_QR_decomp(a, tau) != 0 || gsl_linalg_QR_unpack(a, tau, q, r) != 0)
        goto free_all;
    for (size_t j = 0; j < n; j++) {
        const double s = gsl_matrix_get(r, j, j) < 0 ? -1.0 : 1.0;
        for (size_t i = 0; i < n; i++)
            w[i * ld + j] = (recur_real)(s * gsl_matrix_get(q, i, j));
    }
    rc = 0;
free_all:
    gsl_vector_free(tau);
    gsl_matrix_free(r);
    gsl_matrix_free(q);
    gsl_matrix_free(a);
    if (rc)
        recur_error("orthogonal initialisation failed");
    return rc;
}

/* Rescales the (n, n) row-major block w (row stride ld) so that its spectral radius, the
 * largest modulus of its (complex) eigenvalues from GSL's nonsymmetric eigensolver, is rho. */
static int scale_spectral_radius(recur_real *w, size_t n, size_t ld, double rho)
{
    int rc = RECUR_ENOMEM;
    gsl_matrix *a = gsl_matrix_alloc(n, n);
    gsl_vector_complex *ev = gsl_vector_complex_alloc(n);
    gsl_eigen_nonsymm_workspace *ws = gsl_eigen_nonsymm_alloc(n);
    if (!a || !ev || !ws)
        goto free_all;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            gsl_matrix_set(a, i, j, (double)w[i * ld + j]);
    rc = RECUR_EINVAL;
    if (gsl_eigen_nonsymm(a, ev, ws) != 0)
        goto free_all;
    double r = 0.0;
    for (size_t i = 0; i < n; i++)
        r = fmax(r, gsl_complex_abs(gsl_vector_complex_get(ev, i)));
    if (!(r > 0.0) || !isfinite(r))
        goto free_all;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            w[i * ld + j] = (recur_real)((double)w[i * ld + j] * (rho / r));
    rc = 0;
free_all:
    gsl_eigen_nonsymm_free(ws);
    gsl_vector_complex_free(ev);
    gsl_matrix_free(a);
    if (rc)
        recur_error("spectral-radius initialisation failed");
    return rc;
}

int recur_param_init(const recur_config_t *cfg, const recur_init_t *opt, recur_real *params,
                     gsl_rng *rng)
{
    const size_t n = recur_tensor_count(cfg), H = cfg->hidden_size;
    recur_tensor_t tab[64 * 2 * 4 + 2];
    if (n > sizeof tab / sizeof tab[0])
        return RECUR_EINVAL;
    recur_tensor_table(cfg, tab);
    for (size_t k = 0; k < n; k++) {
        const recur_tensor_t *t = &tab[k];
        const bool head = strncmp(t->name, "head.", 5) == 0;
        /* nn.Linear: weight kaiming_uniform(a=sqrt(5)) and bias both give U(-1/sqrt(fan_in),
         * 1/sqrt(fan_in)); the recurrent layers use 1/sqrt(H) for everything. */
        const double fan = head ? (double)(recur_config_directions(cfg) * H) : (double)H;
        const double bound = 1.0 / sqrt(fan);
        for (size_t i = 0; i < t->numel; i++)
            params[t->offset + i] = (recur_real)(bound * (2.0 * gsl_rng_uniform(rng) - 1.0));
    }
    if (!opt)
        return 0;
    const size_t G = recur_config_gates(cfg);
    for (size_t k = 0; k < n; k++) {
        const recur_tensor_t *t = &tab[k];
        if (opt->orthogonal_hh && strstr(t->name, "weight_hh")) {
            for (size_t g = 0; g < G; g++) {
                int rc = orthogonal_block(params + t->offset + g * H * H, H, H, rng);
                if (rc)
                    return rc;
            }
        }
        if (opt->spectral_radius > 0.0 && strstr(t->name, "weight_hh")) {
            for (size_t g = 0; g < G; g++) {
                int rc = scale_spectral_radius(params + t->offset + g * H * H, H, H,
                                               opt->spectral_radius);
                if (rc)
                    return rc;
            }
        }
        if (opt->forget_bias != 0.0 && cfg->cell != RECUR_CELL_RNN && strstr(t->name, "bias_ih")) {
            /* the forget gate is the second block of the LSTM's (i|f|g|o), the update gate z
             * (h' = (1 - z) n + z h) the second of the GRU's (r|z|n); b_hh keeps its draw, as
             * in the common PyTorch recipe that fills one of the two biases */
            for (size_t i = 0; i < H; i++)
                params[t->offset + H + i] = (recur_real)opt->forget_bias;
        }
    }
    return 0;
}
