/* model.c - the model object (recur/model.h): configuration, flat parameters, provenance,
 * encoding metadata and optional training state. Its HDF5 file is written by model_save.c and
 * read by model_load.c. */
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"

#define KEY_MAX 255 /* metadata key length */

/* The fixed /config attributes; every other /config attribute is an encoding list. */
static const char *const config_fixed[] = {
    "task",        "cell",          "input_size", "hidden_size", "num_layers",
    "num_outputs", "bidirectional", "head",       "pool",        "dropout"};

static const char *const optim_names[] = {"sgd", "adam", "adamw"};

bool recur_model_is_fixed_key(const char *key)
{
    for (size_t i = 0; i < sizeof config_fixed / sizeof config_fixed[0]; i++)
        if (strcmp(key, config_fixed[i]) == 0)
            return true;
    return false;
}

bool recur_model_is_optim_name(const char *s)
{
    for (size_t i = 0; i < sizeof optim_names / sizeof optim_names[0]; i++)
        if (strcmp(s, optim_names[i]) == 0)
            return true;
    return false;
}

/* ---- In-memory model ---------------------------------------------------------------------- */

static void meta_clear(meta_t *e)
{
    if (!e)
        return;
    if (e->s)
        for (size_t i = 0; i < e->n; i++)
            free(e->s[i]);
    free(e->s);
    free(e->x);
    free(e->key);
    memset(e, 0, sizeof *e);
}

void recur_model_meta_free(meta_t *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        meta_clear(&list[i]);
    free(list);
}

/* A string list copied from v[0..n-1]; 0 or RECUR_ENOMEM (e is left cleared). */
static int meta_make_strings(meta_t *e, const char *key, const char *const *v, size_t n)
{
    memset(e, 0, sizeof *e);
    e->strings = true;
    e->key = strdup(key);
    e->s = calloc(n + 1, sizeof *e->s);
    if (!e->key || !e->s)
        goto fail;
    for (e->n = 0; e->n < n; e->n++)
        if (!(e->s[e->n] = strdup(v[e->n])))
            goto fail;
    return 0;
fail:
    meta_clear(e);
    return RECUR_ENOMEM;
}

/* A number list copied from v[0..n-1]; 0 or RECUR_ENOMEM (e is left cleared). */
static int meta_make_numbers(meta_t *e, const char *key, const double *v, size_t n)
{
    memset(e, 0, sizeof *e);
    e->key = strdup(key);
    e->x = malloc((n ? n : 1) * sizeof *e->x);
    if (!e->key || !e->x) {
        meta_clear(e);
        return RECUR_ENOMEM;
    }
    if (n)
        memcpy(e->x, v, n * sizeof *v);
    e->n = n;
    return 0;
}

static meta_t *meta_find(const recur_model_t *m, const char *key)
{
    for (size_t i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta[i].key, key) == 0)
            return &m->meta[i];
    return NULL;
}

/* Moves *e into m, replacing a list of the same key; on failure *e is freed. */
static int meta_put(recur_model_t *m, meta_t *e)
{
    meta_t *old = meta_find(m, e->key);
    if (old) {
        meta_clear(old);
        *old = *e;
        return 0;
    }
    if (m->n_meta == m->cap_meta) {
        const size_t cap = m->cap_meta ? 2 * m->cap_meta : 8;
        meta_t *grown = realloc(m->meta, cap * sizeof *grown);
        if (!grown) {
            meta_clear(e);
            return RECUR_ENOMEM;
        }
        m->meta = grown;
        m->cap_meta = cap;
    }
    m->meta[m->n_meta++] = *e;
    return 0;
}

recur_model_t *recur_model_new(const recur_config_t *cfg)
{
    recur_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cfg = *cfg;
    m->n_params = recur_param_count(cfg);
    size_t bytes;
    if (!recur_mul_ok(m->n_params, sizeof *m->params, &bytes) ||
        !(m->params = calloc(m->n_params ? m->n_params : 1, sizeof *m->params))) {
        free(m);
        return NULL;
    }
    return m;
}

recur_model_t *recur_model_alloc(const recur_config_t *cfg)
{
    if (!cfg) {
        recur_error("model: no configuration given");
        return NULL;
    }
    if (recur_config_validate(cfg) != 0)
        return NULL;
    recur_model_t *m = recur_model_new(cfg);
    if (!m)
        recur_error("model: out of memory for %zu parameters", recur_param_count(cfg));
    return m;
}

static void train_clear(recur_model_t *m)
{
    free(m->train_carry);
    free(m->train_rng);
    free(m->train_v);
    free(m->train_best);
    free(m->train_m);
    m->train_m = m->train_v = m->train_best = m->train_carry = NULL;
    m->train_rng = NULL;
    memset(&m->train, 0, sizeof m->train);
    m->has_train = false;
}

void recur_model_free(recur_model_t *m)
{
    if (!m)
        return;
    train_clear(m);
    if (m->baselines) {
        recur_baselines_release(m->baselines);
        free(m->baselines);
    }
    recur_model_meta_free(m->meta, m->n_meta);
    free(m->cmdline);
    free(m->params);
    free(m);
}

const recur_config_t *recur_model_config(const recur_model_t *m)
{
    return &m->cfg;
}

recur_real *recur_model_params(recur_model_t *m)
{
    return m->params;
}

const recur_real *recur_model_params_const(const recur_model_t *m)
{
    return m->params;
}

/* cmdline NULL removes it. */
int recur_model_set_command_line(recur_model_t *m, const char *cmdline)
{
    char *copy = NULL;
    if (cmdline && !(copy = strdup(cmdline))) {
        recur_error("model: out of memory");
        return RECUR_ENOMEM;
    }
    free(m->cmdline);
    m->cmdline = copy;
    return 0;
}

const char *recur_model_command_line(const recur_model_t *m)
{
    return m->cmdline;
}

/* Why key cannot name an encoding list, or NULL when it can. */
static const char *bad_key(const char *key)
{
    if (!key || !*key)
        return "empty key";
    if (strlen(key) > KEY_MAX)
        return "key longer than 255 characters";
    if (strchr(key, '/'))
        return "key contains '/'";
    if (recur_model_is_fixed_key(key))
        return "key is a fixed configuration attribute";
    return NULL;
}

int recur_model_set_strings(recur_model_t *m, const char *key, const char *const *v, size_t n)
{
    const char *why = bad_key(key);
    if (!why && n > RECUR_MODEL_META_MAX)
        why = "list too long";
    if (!why && n && !v)
        why = "no values";
    for (size_t i = 0; !why && i < n; i++)
        if (!v[i])
            why = "NULL string in list";
    if (why) {
        recur_error("model: cannot set string list '%s': %s", key ? key : "(null)", why);
        return RECUR_EINVAL;
    }
    meta_t e;
    int rc = meta_make_strings(&e, key, v, n);
    if (rc == 0)
        rc = meta_put(m, &e);
    if (rc)
        recur_error("model: out of memory");
    return rc;
}

const char *const *recur_model_strings(const recur_model_t *m, const char *key, size_t *n)
{
    const meta_t *e = key ? meta_find(m, key) : NULL;
    if (!e || !e->strings) {
        if (n)
            *n = 0;
        return NULL;
    }
    if (n)
        *n = e->n;
    return (const char *const *)e->s;
}

int recur_model_set_numbers(recur_model_t *m, const char *key, const double *v, size_t n)
{
    const char *why = bad_key(key);
    if (!why && n > RECUR_MODEL_META_MAX)
        why = "list too long";
    if (!why && n && !v)
        why = "no values";
    if (why) {
        recur_error("model: cannot set number list '%s': %s", key ? key : "(null)", why);
        return RECUR_EINVAL;
    }
    meta_t e;
    int rc = meta_make_numbers(&e, key, v, n);
    if (rc == 0)
        rc = meta_put(m, &e);
    if (rc)
        recur_error("model: out of memory");
    return rc;
}

const double *recur_model_numbers(const recur_model_t *m, const char *key, size_t *n)
{
    const meta_t *e = key ? meta_find(m, key) : NULL;
    if (!e || e->strings) {
        if (n)
            *n = 0;
        return NULL;
    }
    if (n)
        *n = e->n;
    return e->x;
}

/* Copies s (which may be the model's own state); s == NULL removes the training state. */
int recur_model_set_train_state(recur_model_t *m, const recur_train_state_t *s)
{
    if (!s) {
        train_clear(m);
        return 0;
    }
    const char *why = NULL;
    if (!memchr(s->optimizer, '\0', sizeof s->optimizer) ||
        !recur_model_is_optim_name(s->optimizer))
        why = "optimizer must be sgd, adam or adamw";
    else if (!memchr(s->rng_name, '\0', sizeof s->rng_name))
        why = "RNG name is not terminated";
    else if (!s->m)
        why = "no first moment";
    else if (s->rng_size > RECUR_MODEL_RNG_MAX || (s->rng_size && !s->rng_state))
        why = "bad RNG state";
    else if (s->carry_size > RECUR_MODEL_CARRY_MAX || (s->carry_size && !s->carry))
        why = "bad carried state";
    if (why) {
        recur_error("model: invalid training state: %s", why);
        return RECUR_EINVAL;
    }
    const size_t n = m->n_params;
    recur_real *mm = malloc(n * sizeof *mm);
    recur_real *vv = s->v ? malloc(n * sizeof *vv) : NULL;
    recur_real *bb = s->best ? malloc(n * sizeof *bb) : NULL;
    unsigned char *rng = s->rng_size ? malloc(s->rng_size) : NULL;
    recur_real *carry = s->carry_size ? malloc(s->carry_size * sizeof *carry) : NULL;
    if (!mm || (s->v && !vv) || (s->best && !bb) || (s->rng_size && !rng) ||
        (s->carry_size && !carry)) {
        free(bb);
        free(carry);
        free(rng);
        free(vv);
        free(mm);
        recur_error("model: out of memory");
        return RECUR_ENOMEM;
    }
    memcpy(mm, s->m, n * sizeof *mm);
    if (vv)
        memcpy(vv, s->v, n * sizeof *vv);
    if (bb)
        memcpy(bb, s->best, n * sizeof *bb);
    if (rng)
        memcpy(rng, s->rng_state, s->rng_size);
    if (carry)
        memcpy(carry, s->carry, s->carry_size * sizeof *carry);
    recur_train_state_t t = *s;
    train_clear(m);
    m->train = t;
    m->train_m = mm;
    m->train_v = vv;
    m->train_best = bb;
    m->train_rng = rng;
    m->train_carry = carry;
    m->train.m = mm;
    m->train.v = vv;
    m->train.best = bb;
    m->train.rng_state = rng;
    m->train.carry = carry;
    m->has_train = true;
    return 0;
}

const recur_train_state_t *recur_model_train_state(const recur_model_t *m)
{
    return m->has_train ? &m->train : NULL;
}

int recur_model_set_baselines(recur_model_t *m, const recur_baselines_t *bs)
{
    recur_baselines_t *copy = NULL;
    if (bs && bs->n) {
        for (size_t i = 0; i < bs->n; i++)
            if (bs->b[i].K != m->cfg.num_outputs || bs->b[i].task != m->cfg.task) {
                recur_error("model: baseline %s: %zu outputs (%s), the model has %zu (%s)",
                            recur_baseline_name(bs->b[i].kind), bs->b[i].K,
                            recur_task_name(bs->b[i].task), m->cfg.num_outputs,
                            recur_task_name(m->cfg.task));
                return RECUR_EINVAL;
            }
        if (!(copy = calloc(1, sizeof *copy)))
            goto nomem;
        for (size_t i = 0; i < bs->n; i++) {
            const recur_baseline_t *b = &bs->b[i];
            const size_t nw = b->K * (b->F + 1);
            copy->b[i] = *b;
            if (!(copy->b[i].w = malloc(nw * sizeof *b->w))) {
                recur_baselines_release(copy);
                free(copy);
                goto nomem;
            }
            memcpy(copy->b[i].w, b->w, nw * sizeof *b->w);
            copy->n = i + 1;
        }
    }
    if (m->baselines) {
        recur_baselines_release(m->baselines);
        free(m->baselines);
    }
    m->baselines = copy;
    return 0;
nomem:
    recur_error("model: out of memory");
    return RECUR_ENOMEM;
}

const recur_baselines_t *recur_model_baselines(const recur_model_t *m)
{
    return m->baselines;
}
