#include "worker.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

bool ui_worker_init(ui_worker *w, int wake_fd)
{
    *w = (ui_worker){.wake_fd = wake_fd};
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return false;
    /* waits are timed on the monotonic clock: a clock change is no timeout */
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    bool ok = pthread_cond_init(&w->cond, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (ok && pthread_mutex_init(&w->lock, NULL) != 0) {
        pthread_cond_destroy(&w->cond);
        ok = false;
    }
    w->usable = ok;
    return ok;
}

static void *worker_main(void *arg)
{
    ui_worker *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->quit) {
        if (!w->has_job || w->finished || w->stop) {
            pthread_cond_wait(&w->cond, &w->lock);
            continue;
        }
        w->running = true;
        ui_job_fn fn = w->fn;
        void *job = w->arg;
        pthread_mutex_unlock(&w->lock);
        bool done = fn(job);
        pthread_mutex_lock(&w->lock);
        w->running = false;
        w->finished = done;
        if (done || w->stop)
            pthread_cond_broadcast(&w->cond);
        if (done && w->wake_fd >= 0 && write(w->wake_fd, "w", 1) < 0) {
            /* a full pipe wakes the loop already */
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

void ui_worker_set_wake(ui_worker *w, int wake_fd)
{
    if (!w->usable) {
        w->wake_fd = wake_fd;
        return;
    }
    pthread_mutex_lock(&w->lock);
    w->wake_fd = wake_fd;
    pthread_mutex_unlock(&w->lock);
}

bool ui_worker_give(ui_worker *w, ui_job_fn fn, void *arg)
{
    if (!w->usable)
        return false;
    pthread_mutex_lock(&w->lock);
    if (!w->started) {
        w->quit = false;
        w->started = pthread_create(&w->thread, NULL, worker_main, w) == 0;
    }
    if (w->started) {
        w->fn = fn;
        w->arg = arg;
        w->has_job = true;
        w->finished = false;
        w->stop = false;
        pthread_cond_broadcast(&w->cond);
    }
    bool given = w->started;
    pthread_mutex_unlock(&w->lock);
    return given;
}

bool ui_worker_busy(const ui_worker *w)
{
    return w->has_job;
}

/* With the lock held: the job is the caller's again. */
static bool hand_back(ui_worker *w)
{
    bool finished = w->finished;
    w->has_job = false;
    w->finished = false;
    w->stop = false;
    return finished;
}

bool ui_worker_wait(ui_worker *w, double ms)
{
    if (!w->has_job)
        return true;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    long long ns = until.tv_nsec + (long long)(ms * 1e6);
    until.tv_sec += (time_t)(ns / 1000000000);
    until.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&w->lock);
    int rc = 0;
    while (!w->finished && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->cond, &w->lock, &until);
    bool finished = w->finished && hand_back(w);
    pthread_mutex_unlock(&w->lock);
    return finished;
}

bool ui_worker_take(ui_worker *w)
{
    if (!w->has_job)
        return false;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    while (w->running)
        pthread_cond_wait(&w->cond, &w->lock);
    bool finished = hand_back(w);
    pthread_mutex_unlock(&w->lock);
    return finished;
}

void ui_worker_free(ui_worker *w)
{
    if (!w->usable)
        return;
    ui_worker_take(w);
    pthread_mutex_lock(&w->lock);
    w->quit = true;
    pthread_cond_broadcast(&w->cond);
    bool started = w->started;
    w->started = false;
    pthread_mutex_unlock(&w->lock);
    if (started)
        pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    w->usable = false;
}
