/* recur/model.h - the model file (HDF5), a fixed interface shared with PyTorch users:
 * root attributes format = "recur-model", format_version, recur_version, command_line;
 * /config attributes (task, cell, input_size, hidden_size, num_layers, bidirectional, head,
 * pool, num_outputs, dropout, and the encoding: string lists such as classes, number lists
 * such as normalisation statistics); /weights float32 datasets named and shaped as the
 * state_dict of DESIGN.md's Net; /train (optional) the state an exact resume needs.
 * Files are written to a temporary name in the same directory, flushed and renamed. */
#ifndef RECUR_MODEL_H
#define RECUR_MODEL_H

#include <recur/baseline.h>
#include <recur/common.h>
#include <recur/engine.h>

#define RECUR_MODEL_FORMAT "recur-model"
#define RECUR_MODEL_FORMAT_VERSION 1

typedef struct recur_model recur_model_t;

/* A model with cfg's architecture and zeroed parameters. NULL on failure (logged). */
recur_model_t *recur_model_alloc(const recur_config_t *cfg);
void recur_model_free(recur_model_t *m);

const recur_config_t *recur_model_config(const recur_model_t *m);
/* The flat parameter block, recur_param_count(cfg) elements, owned by the model. */
recur_real *recur_model_params(recur_model_t *m);
const recur_real *recur_model_params_const(const recur_model_t *m);

/* Provenance: the command line that made the model (copied). */
int recur_model_set_command_line(recur_model_t *m, const char *cmdline) RECUR_WUR;
const char *recur_model_command_line(const recur_model_t *m);

/* Encoding metadata kept under /config: named string lists ("classes", "features") and named
 * number lists ("mean", "std", "window", ...). Setters copy; getters return NULL when absent,
 * with the length in *n; storage is owned by the model. */
int recur_model_set_strings(recur_model_t *m, const char *key, const char *const *v,
                            size_t n) RECUR_WUR;
const char *const *recur_model_strings(const recur_model_t *m, const char *key, size_t *n);
int recur_model_set_numbers(recur_model_t *m, const char *key, const double *v, size_t n) RECUR_WUR;
const double *recur_model_numbers(const recur_model_t *m, const char *key, size_t *n);

/* Training state for an exact resume. Arrays are copied in and owned by the model. */
typedef struct {
    char optimizer[16];      /* "sgd" | "adam" | "adamw" */
    uint64_t step, skipped;  /* optimizer updates made / skipped */
    uint64_t epoch, cursor;  /* data position: epoch and batch index within it */
    const recur_real *m, *v; /* optimizer moments, param_count elements each (v may be NULL) */
    const recur_real *best;  /* weights of the best validation epoch so far (may be NULL) */
    char rng_name[32];       /* gsl_rng_name() */
    const void *rng_state;   /* gsl_rng_state() bytes */
    size_t rng_size;
    const recur_real *carry; /* TBPTT carried state (may be NULL) */
    size_t carry_size;
} recur_train_state_t;

int recur_model_set_train_state(recur_model_t *m, const recur_train_state_t *s) RECUR_WUR;
/* NULL when the model holds no training state; pointers stay valid while m lives. */
const recur_train_state_t *recur_model_train_state(const recur_model_t *m);

/* The baselines fitted beside the model (recur/baseline.h), kept in the file's /baselines group
 * (one subgroup per baseline, named by its kind: attributes task, outputs, k, length, features,
 * l2, val_acc; datasets bias (K) and, but for majority, weights (K, F), float64). A deep copy
 * of bs replaces those held; NULL or an empty bs removes them. 0, RECUR_EINVAL (logged: a
 * baseline of another task or number of outputs than the model's) or RECUR_ENOMEM. */
int recur_model_set_baselines(recur_model_t *m, const recur_baselines_t *bs) RECUR_WUR;
/* The baselines held (owned by m), or NULL. */
const recur_baselines_t *recur_model_baselines(const recur_model_t *m);

/* Writes path atomically (temporary file in the same directory, then rename); an existing
 * file is replaced only by a complete one. 0 or a negative error code (logged). */
int recur_model_save(const recur_model_t *m, const char *path) RECUR_WUR;
/* Reads and validates every field; NULL with one logged line naming path on failure. */
recur_model_t *recur_model_load(const char *path);

#endif
