#include "kernels/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define POOL_MAX_THREADS 1024

struct ms_pool {
    size_t nthreads;
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a new job was posted, or the pool is stopping */
    pthread_cond_t idle; /* the last busy worker left the current job */
    unsigned long generation;
    size_t busy; /* workers still inside the current job */
    int stopping;
    /* the current job */
    ms_pool_fn fn;
    void *ctx;
    size_t ntasks;
    atomic_size_t next;
    /* ms_pool_scratch's buffers */
    void *scratch[MS_POOL_SCRATCH_SLOTS];
    size_t scratch_bytes[MS_POOL_SCRATCH_SLOTS];
};

typedef struct {
    ms_pool *pool;
    size_t worker;
} worker_arg;

static void drain(ms_pool *pool, size_t worker)
{
    for (;;) {
        size_t t = atomic_fetch_add_explicit(&pool->next, 1, memory_order_relaxed);
        if (t >= pool->ntasks)
            return;
        pool->fn(pool->ctx, t, worker);
    }
}

static void *worker_main(void *p)
{
    worker_arg arg = *(worker_arg *)p;
    free(p);
    ms_pool *pool = arg.pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->stopping && pool->generation == seen)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->stopping)
            break;
        seen = pool->generation;
        pthread_mutex_unlock(&pool->lock);
        drain(pool, arg.worker);
        pthread_mutex_lock(&pool->lock);
        if (--pool->busy == 0)
            pthread_cond_signal(&pool->idle);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

ms_status ms_pool_create(size_t nthreads, ms_pool **out, ms_diag *diag)
{
    *out = NULL;
    if (nthreads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = n > 0 ? (size_t)n : 1;
    }
    if (nthreads > POOL_MAX_THREADS)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-POOL", NULL, 0, 0,
                           "thread count %zu is above the limit of %d", nthreads, POOL_MAX_THREADS);
    ms_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "cannot allocate a pool");
    pool->threads = calloc(nthreads, sizeof *pool->threads);
    if (!pool->threads) {
        free(pool);
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "cannot allocate a pool");
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->idle, NULL);
    pool->nthreads = 1;
    for (size_t i = 1; i < nthreads; i++) {
        worker_arg *arg = malloc(sizeof *arg);
        if (arg)
            *arg = (worker_arg){.pool = pool, .worker = i};
        if (!arg || pthread_create(&pool->threads[i], NULL, worker_main, arg) != 0) {
            free(arg);
            ms_pool_free(pool);
            return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                               "cannot start worker thread %zu of %zu", i, nthreads);
        }
        pool->nthreads++;
    }
    *out = pool;
    return MS_OK;
}

void ms_pool_free(ms_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (size_t i = 1; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->idle);
    for (size_t i = 0; i < MS_POOL_SCRATCH_SLOTS; i++)
        free(pool->scratch[i]);
    free(pool->threads);
    free(pool);
}

size_t ms_pool_threads(const ms_pool *pool)
{
    return pool ? pool->nthreads : 1;
}

void *ms_pool_scratch(ms_pool *pool, size_t slot, size_t bytes)
{
    if (!pool || slot >= MS_POOL_SCRATCH_SLOTS || bytes > MS_POOL_SCRATCH_MAX)
        return NULL;
    if (pool->scratch_bytes[slot] < bytes) {
        free(pool->scratch[slot]);
        size_t size = (bytes + 63) / 64 * 64;
        pool->scratch[slot] = aligned_alloc(64, size);
        pool->scratch_bytes[slot] = pool->scratch[slot] ? size : 0;
    }
    return pool->scratch[slot];
}

void ms_pool_run(ms_pool *pool, size_t ntasks, ms_pool_fn fn, void *ctx)
{
    if (!pool || pool->nthreads == 1 || ntasks <= 1) {
        for (size_t t = 0; t < ntasks; t++)
            fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->ctx = ctx;
    pool->ntasks = ntasks;
    atomic_store_explicit(&pool->next, 0, memory_order_relaxed);
    pool->busy = pool->nthreads - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    drain(pool, 0);
    pthread_mutex_lock(&pool->lock);
    while (pool->busy > 0)
        pthread_cond_wait(&pool->idle, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}
