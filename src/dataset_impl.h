/* dataset_impl.h - the dataset's rules as dataset.c (in memory) and dataset_h5.c (its HDF5
 * file) share them. Internal to the library; messages go to an h5util.h error context. */
#ifndef RECUR_DATASET_IMPL_H
#define RECUR_DATASET_IMPL_H

#include <recur/dataset.h>

#include "h5util.h"

/* F and O at most: the engine's limit (recur_config_validate). */
#define RECUR_DATASET_DIM_MAX ((size_t)1 << 20)

/* Dimensions, task and head in range, and the arrays within RECUR_DATASET_MAX_BYTES. */
int recur_dataset_check_sizes(recur_h5_ctx_t *c, recur_task_t task, recur_head_t head, size_t N,
                              size_t T, size_t F, size_t O, bool tmask);

/* The value rules of the format (dataset.h), record by record. */
int recur_dataset_check_values(recur_h5_ctx_t *c, const recur_dataset_t *ds);

/* Shape and arrays of an in-memory dataset, then its values. */
int recur_dataset_check(recur_h5_ctx_t *c, const recur_dataset_t *ds);

/* Allocates ds's arrays for its sizes (already checked); labels -1, everything else 0.
 * RECUR_ENOMEM leaves what was allocated for recur_dataset_free(). */
int recur_dataset_alloc_arrays(recur_dataset_t *ds, bool tmask);

#endif
