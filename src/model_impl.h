/* model_impl.h - the model object (recur/model.h) as model.c (the object and its accessors),
 * model_save.c and model_load.c (its HDF5 file) see it. Internal to the library. */
#ifndef RECUR_MODEL_IMPL_H
#define RECUR_MODEL_IMPL_H

#include <recur/model.h>

#include "h5util.h"

/* Caps on what a file or a caller may ask us to allocate (a hostile file can declare huge extents
 * with no storage behind them). */
#define RECUR_MODEL_META_MAX ((size_t)1 << 24)  /* elements of one metadata list */
#define RECUR_MODEL_RNG_MAX ((size_t)1 << 20)   /* bytes of /train/rng_state */
#define RECUR_MODEL_CARRY_MAX ((size_t)1 << 28) /* elements of /train/carry */

/* One encoding list kept under /config. */
typedef struct {
    char *key;
    bool strings; /* string list, else number list */
    size_t n;
    char **s;  /* (n + 1) owned strings, NULL-terminated; string lists only */
    double *x; /* (max(n, 1)); number lists only */
} meta_t;

struct recur_model {
    recur_config_t cfg;
    size_t n_params;
    recur_real *params; /* (n_params) */
    char *cmdline;      /* NULL when unset */
    meta_t *meta;       /* (n_meta) lists in the order they were set (by name after a load) */
    size_t n_meta, cap_meta;
    bool has_train;
    recur_train_state_t train;    /* its pointers point into the arrays below */
    recur_real *train_m;          /* (n_params) */
    recur_real *train_v;          /* (n_params) or NULL */
    recur_real *train_best;       /* (n_params) or NULL */
    unsigned char *train_rng;     /* (rng_size) or NULL */
    recur_real *train_carry;      /* (carry_size) or NULL */
    recur_baselines_t *baselines; /* NULL when none */
};

/* Whether key is one of the fixed /config attributes (every other one is an encoding list). */
bool recur_model_is_fixed_key(const char *key);

/* Whether s names an optimizer of the training state: sgd, adam or adamw. */
bool recur_model_is_optim_name(const char *s);

/* Frees the n lists of list and list itself; NULL is fine. */
void recur_model_meta_free(meta_t *list, size_t n);

/* Writes m's baselines as /baselines of file f; reads them back (an absent group: none),
 * validated against m's configuration. 0 or an error code with c set. */
int recur_model_write_baselines(recur_h5_ctx_t *c, hid_t f, const recur_model_t *m);
int recur_model_read_baselines(recur_h5_ctx_t *c, hid_t f, recur_model_t *m);

/* A model with zeroed parameters for a validated cfg; NULL when out of memory (not logged). */
recur_model_t *recur_model_new(const recur_config_t *cfg);

#endif
