/* A fixed pool of worker threads shared by every kernel.
 *
 * ms_pool_run splits a job into `ntasks` independent tasks and returns when all
 * are done; the calling thread works too. Tasks are handed out dynamically, so
 * a kernel that wants results independent of the thread count must make each
 * task's output depend only on its task index (never on the worker running it,
 * nor on completion order). The worker index is given only so a task can use
 * per-worker scratch memory. No global state: create as many pools as needed.
 * A pool must not be used from two threads at once. */
#ifndef MS_POOL_H
#define MS_POOL_H

#include <stddef.h>

#include "util/status.h"

typedef struct ms_pool ms_pool;

/* One task: `task` in [0, ntasks), `worker` in [0, ms_pool_threads(pool)). */
typedef void (*ms_pool_fn)(void *ctx, size_t task, size_t worker);

/* Creates a pool running jobs on `nthreads` threads in total, the caller
 * included (so nthreads - 1 are started). nthreads 0 means one per online CPU.
 * Fails with MS_ERR_INVALID above 1024 threads, MS_ERR_NOMEM when threads
 * cannot be started. */
ms_status ms_pool_create(size_t nthreads, ms_pool **out, ms_diag *diag);

/* Stops and joins the workers. NULL is accepted. */
void ms_pool_free(ms_pool *pool);

/* Threads a job runs on, the caller included; 1 for a NULL pool. */
size_t ms_pool_threads(const ms_pool *pool);

/* Scratch memory the pool keeps between jobs, so that kernels called over
 * and over do not map and fault in fresh pages each time: at least `bytes`
 * bytes, 64-byte aligned, of slot `slot`, valid until the next call for that
 * slot or ms_pool_free; contents are not kept. NULL for a NULL pool, a slot
 * out of range, more than MS_POOL_SCRATCH_MAX bytes (allocate those
 * yourself), or no memory. Called from the pool's owner, not from a task. */
#define MS_POOL_SCRATCH_SLOTS 2
#define MS_POOL_SCRATCH_MAX ((size_t)16 << 20)
void *ms_pool_scratch(ms_pool *pool, size_t slot, size_t bytes);

/* Runs fn(ctx, t, worker) for every t in [0, ntasks) and waits for all of them.
 * A NULL pool runs the tasks in order on the calling thread (worker 0). */
void ms_pool_run(ms_pool *pool, size_t ntasks, ms_pool_fn fn, void *ctx);

#endif
