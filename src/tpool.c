/* tpool.c - worker threads (POSIX threads) that share out the tasks of a run through an atomic
 * counter, sleeping on a condition variable between runs. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <recur/tpool.h>

struct recur_tpool {
    size_t threads; /* caller included */
    size_t started; /* workers running */
    pthread_t *tid; /* (threads - 1) */
    pthread_mutex_t mu;
    pthread_cond_t work; /* a new run, or quit */
    pthread_cond_t done; /* the last worker left the run */
    uint64_t gen;        /* run number */
    size_t busy;         /* workers not yet through the current run */
    bool quit;
    recur_task_fn fn;
    void *arg;
    size_t n;
    atomic_size_t next; /* next task to hand out */
};

static void run_tasks(recur_tpool_t *p)
{
    for (size_t i; (i = atomic_fetch_add(&p->next, 1)) < p->n;)
        p->fn(p->arg, i);
}

static void *worker(void *arg)
{
    recur_tpool_t *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen && !p->quit)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->quit)
            break;
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        run_tasks(p);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

recur_tpool_t *recur_tpool_alloc(size_t threads)
{
    if (threads == 0 || threads > 4096) {
        recur_error("thread pool: %zu threads (1..4096)", threads);
        return NULL;
    }
    recur_tpool_t *p = calloc(1, sizeof *p);
    if (!p || !(p->tid = calloc(threads, sizeof *p->tid))) {
        free(p);
        recur_error("thread pool: out of memory");
        return NULL;
    }
    p->threads = threads;
    atomic_init(&p->next, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    for (; p->started + 1 < threads; p->started++)
        if (pthread_create(&p->tid[p->started], NULL, worker, p) != 0) {
            recur_error("thread pool: could not start thread %zu of %zu", p->started + 2, threads);
            recur_tpool_free(p);
            return NULL;
        }
    return p;
}

void recur_tpool_free(recur_tpool_t *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->started; i++)
        pthread_join(p->tid[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p->tid);
    free(p);
}

size_t recur_tpool_threads(const recur_tpool_t *p)
{
    return p ? p->threads : 1;
}

void recur_tpool_run(recur_tpool_t *p, size_t n, recur_task_fn fn, void *arg)
{
    if (!p || p->started == 0 || n <= 1) {
        for (size_t i = 0; i < n; i++)
            fn(arg, i);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    atomic_store(&p->next, 0);
    p->busy = p->started;
    p->gen++;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    run_tasks(p);
    pthread_mutex_lock(&p->mu);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
