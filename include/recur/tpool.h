/* recur/tpool.h - a fixed pool of worker threads that runs n independent tasks fn(arg, i),
 * i < n, and returns when all are done; the calling thread works too. Which thread runs which
 * task is unspecified, so tasks write disjoint outputs and results never depend on the number
 * of threads. Workers sleep (no spinning) between runs. */
#ifndef RECUR_TPOOL_H
#define RECUR_TPOOL_H

#include <recur/common.h>

typedef struct recur_tpool recur_tpool_t;
typedef void (*recur_task_fn)(void *arg, size_t i);

/* A pool of `threads` threads in all (the caller and threads - 1 workers; 1 = no workers).
 * NULL on failure (logged). Free with recur_tpool_free. */
recur_tpool_t *recur_tpool_alloc(size_t threads);
void recur_tpool_free(recur_tpool_t *p);
/* Threads in the pool, the caller included (1 for NULL). */
size_t recur_tpool_threads(const recur_tpool_t *p);
/* Runs fn(arg, i) for i in [0, n) and returns when every call has returned. p may be NULL: the
 * tasks run in order on the caller. Not reentrant: one run at a time per pool. */
void recur_tpool_run(recur_tpool_t *p, size_t n, recur_task_fn fn, void *arg);

#endif
