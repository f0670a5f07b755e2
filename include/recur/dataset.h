/* recur/dataset.h - the encoded dataset (HDF5): what `recur encode` writes and every command
 * accepts as --data FILE; loading with every shape, type, size and value validated, atomic
 * saving, and a batch builder that gathers records into the engine's time-major batches.
 *
 * File layout (record-major, so that h5py/numpy users read and write it naturally):
 *   root attributes  format = "recur-dataset" (string), format_version = 1 (integer),
 *                    task = "classify" | "multilabel" | "regress" (string; "forecast" is read
 *                    as regress), num_outputs (integer, O)
 *   /x               float (N, T, F): float32, or float64 (converted on loading)
 *   /mask            integer or boolean (N, T): 1 = valid step, 0 = padding or a gap
 *   /labels          classify: integer (N) one label per record, or (N, T) one per step;
 *                    -1 = no label; otherwise in [0, O)
 *   /targets         multilabel, regress: float (N, O) per record or (N, T, O) per step;
 *                    multilabel targets in [0, 1]
 *   /target_mask     optional, integer or boolean, the shape of /targets: 1 = target present
 *   /names           optional, N strings: record names (in messages and predictions)
 *   /classes         optional, O strings: output names in order (class names for classify)
 * The shape of the labels or targets chooses the head: per record -> seq, per step -> step.
 * Other objects in the file are ignored. Every record needs at least one valid step; x must be
 * finite at valid steps (non-finite x at masked steps is replaced by 0 on loading); targets
 * must be finite where present (non-finite absent targets are replaced by 0). */
#ifndef RECUR_DATASET_H
#define RECUR_DATASET_H

#include <recur/common.h>
#include <recur/engine.h>

#define RECUR_DATASET_FORMAT "recur-dataset"
#define RECUR_DATASET_FORMAT_VERSION 1
/* Largest dataset accepted: bytes of its arrays in memory (x, mask, labels or targets,
 * target_mask), 4 GiB. */
#define RECUR_DATASET_MAX_BYTES ((size_t)4 << 30)

/* A dataset in memory. Plain struct: every array and string is malloc'd and owned by it
 * (recur_dataset_free frees them all). */
typedef struct {
    size_t N; /* records */
    size_t T; /* steps per record (longest record, others padded) */
    size_t F; /* features per step (the model's input size I) */
    size_t O; /* outputs: classes, labels or targets */
    recur_task_t task;
    recur_head_t head;          /* seq: labels/targets per record; step: per step */
    float *x;                   /* (N, T, F) */
    unsigned char *mask;        /* (N, T): 1 valid step, 0 padding or gap */
    int32_t *labels;            /* classify: (N) seq or (N, T) step, -1 = none; else NULL */
    float *targets;             /* multilabel, regress: (N, O) or (N, T, O); else NULL */
    unsigned char *target_mask; /* NULL (all present), or the shape of targets, 1 = present */
    char **names;               /* NULL, or (N) record names */
    char **classes;             /* NULL, or (O) output names in order */
} recur_dataset_t;

/* A dataset with zeroed x and mask, labels -1 (classify) or zeroed targets (other tasks), a
 * zeroed target_mask when with_target_mask (ignored for classify), no names or classes.
 * NULL on failure (logged: bad sizes, larger than RECUR_DATASET_MAX_BYTES, out of memory). */
recur_dataset_t *recur_dataset_alloc(recur_task_t task, recur_head_t head, size_t N, size_t T,
                                     size_t F, size_t O, bool with_target_mask);
/* Frees the arrays, every name and class string (NULL entries allowed) and ds; NULL is ok. */
void recur_dataset_free(recur_dataset_t *ds);

/* 0 when ds satisfies every rule of the file format above (sizes, label range, mask values,
 * finite x at valid steps, finite present targets, no record without a valid step); otherwise
 * logs the first problem (naming the record by index and name) and returns RECUR_EINVAL. */
int recur_dataset_validate(const recur_dataset_t *ds) RECUR_WUR;

/* Reads path, validating the attributes, ranks, dimensions, element classes and total size
 * before allocating, then every value. NULL on failure, logged as one line
 * "<path>: what is wrong". The caller frees the result with recur_dataset_free. */
recur_dataset_t *recur_dataset_load(const char *path);

/* Validates ds, then writes it to a temporary file in path's directory and renames it to path
 * (an existing file is replaced only by a complete one). float32 x and targets, uint8 mask and
 * target_mask, int32 labels, UTF-8 variable-length strings. 0 or a negative code (logged). */
int recur_dataset_save(const recur_dataset_t *ds, const char *path) RECUR_WUR;

/* Number of steps up to and including record i's last valid step (>= 1 in a valid dataset). */
size_t recur_dataset_length(const recur_dataset_t *ds, size_t i);

/* Caller-owned buffers of time-major batches for one dataset (its task, head, F, O and whether
 * it has a target_mask), sized for batches of at most T_max steps and B_max records. */
typedef struct {
    size_t T_max, B_max, F, O;
    recur_task_t task;
    recur_head_t head;
    recur_real *x;              /* (T_max * B_max * F), filled as (T, B, F) */
    unsigned char *mask;        /* (T_max * B_max), filled as (T, B) */
    int32_t *labels;            /* classify: (B_max) or (T_max * B_max) as (T, B); else NULL */
    recur_real *targets;        /* other tasks: (B_max, O) or (T_max * B_max * O) as (T, B, O) */
    unsigned char *target_mask; /* as targets when the dataset has one, else NULL */
} recur_dataset_batch_t;

/* Buffers for ds; T_max = 0 means ds->T. NULL on failure (logged). */
recur_dataset_batch_t *recur_dataset_batch_alloc(const recur_dataset_t *ds, size_t T_max,
                                                 size_t B_max);
void recur_dataset_batch_free(recur_dataset_batch_t *bb);

/* Gathers records idx[0 .. B-1] of ds into bb and points *out at it: out->T is the longest
 * recur_dataset_length() among them (so padding stays small), and x, mask, labels, targets and
 * target_mask are transposed to time-major (steps 0 .. out->T - 1 of every record, as stored;
 * the steps past a record's length are masked). RECUR_EINVAL (logged) when B is 0 or above
 * B_max, an index is out of range, the batch would need more than T_max steps, or bb was made
 * for another kind of dataset. *out stays valid until the next call with bb. */
int recur_dataset_batch(const recur_dataset_t *ds, const size_t *idx, size_t B,
                        recur_dataset_batch_t *bb, recur_batch_t *out) RECUR_WUR;

#endif
