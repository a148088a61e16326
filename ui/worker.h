/* One worker thread for long work, so the terminal loop keeps reading keys.
 *
 * The main thread hands it a job: a function the worker calls again and
 * again, one short slice at a time, until it returns true. From
 * ui_worker_give until ui_worker_wait says the job finished or
 * ui_worker_take returns, the job's data is the worker's and the main
 * thread must not touch it; the mutex hands it over each way, so whatever
 * the job wrote is visible to the main thread afterwards. The worker wakes
 * the main loop through `wake_fd` when a job finishes. No curses here: the
 * worker never draws. */
#ifndef MS_UI_WORKER_H
#define MS_UI_WORKER_H

#include <pthread.h>
#include <stdbool.h>

/* One slice of a job; true when the job is done. */
typedef bool (*ui_job_fn)(void *arg);

typedef struct ui_worker {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* the worker waits on it for a job, the main thread for the slice */
    pthread_t thread;
    bool usable;  /* the mutex and condition exist */
    bool started; /* the thread runs (started on the first job) */
    bool quit;
    bool has_job;  /* handed over; written by the main thread only */
    bool stop;     /* the main thread wants the job back */
    bool running;  /* a slice runs now */
    bool finished; /* the last slice returned true */
    ui_job_fn fn;
    void *arg;
    int wake_fd; /* written one byte when a job finishes; -1 for none */
} ui_worker;

/* false when the mutex or condition cannot be made: then ui_worker_give
 * always fails and the caller does the work itself. */
bool ui_worker_init(ui_worker *w, int wake_fd);
/* Takes back any job, then ends the thread. */
void ui_worker_free(ui_worker *w);
void ui_worker_set_wake(ui_worker *w, int wake_fd);
/* Hands `fn(arg)` to the worker; false (the job stays with the caller)
 * when no thread can be started. */
bool ui_worker_give(ui_worker *w, ui_job_fn fn, void *arg);
/* Whether the worker holds a job (main thread only). */
bool ui_worker_busy(const ui_worker *w);
/* Waits at most `ms` milliseconds for the job to finish. True when it did:
 * the job is back with the caller. False: the worker still holds it. */
bool ui_worker_wait(ui_worker *w, double ms);
/* Takes the job back after the slice running now; true when the job had
 * finished. Returns at once when the worker holds no job (false). */
bool ui_worker_take(ui_worker *w);

#endif
