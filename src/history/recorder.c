/* Recording runs in the background. */
#include "recorder.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A run waiting to be written: its settings' strings are its own. */
typedef struct job {
    ms_history_settings s;
    char *text[11];
    ms_lifecycle *lc;
    ms_call *calls;
    size_t n;
} job;

struct ms_history_recorder {
    ms_history *h;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *pending; /* the next run to write; NULL: none */
    bool stop;
    long long last;
};

static void job_free(job *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < sizeof j->text / sizeof *j->text; i++)
        free(j->text[i]);
    ms_lifecycle_free(j->lc);
    free(j->calls);
    free(j);
}

/* Copies the settings' strings into the job. */
static bool job_settings(job *j, const ms_history_settings *s)
{
    j->s = *s;
    const char **fields[] = {&j->s.modsim_version, &j->s.profile,      &j->s.recipe_text,
                             &j->s.recipe_path,    &j->s.stage,        &j->s.pipeline,
                             &j->s.clock,          &j->s.model,        &j->s.weights_hash,
                             &j->s.calibration,    &j->s.replay_recipe};
    _Static_assert(sizeof fields / sizeof *fields == sizeof j->text / sizeof *j->text,
                   "a copy per string");
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        if (!*fields[i])
            continue;
        if (!(j->text[i] = strdup(*fields[i])))
            return false;
        *fields[i] = j->text[i];
    }
    return true;
}

/* The run's calls on its lifecycle, into the history; a run the history
 * refuses is not kept (the session goes on without it). */
static void write_run(ms_history_recorder *r, job *j)
{
    ms_history_run *run = NULL;
    ms_diag diag;
    ms_diag_clear(&diag);
    j->s.parent = r->last;
    if (ms_history_run_begin(r->h, &j->s, j->lc, &run, &diag) != MS_OK)
        return;
    long long id = ms_history_run_id(run);
    ms_sink sink = ms_history_run_sink(run);
    ms_runner *runner = NULL;
    bool raised_any = false;
    ms_history_status status = MS_HISTORY_COMPLETED;
    if (ms_runner_new(j->lc, &sink, &runner) != MS_OK)
        status = MS_HISTORY_FAILED;
    for (size_t i = 0; runner && i < j->n; i++) {
        ms_raise raised;
        if (ms_runner_call(runner, &j->calls[i], i, &raised) == MS_ERR_RAISED)
            raised_any = true;
    }
    ms_runner_free(runner);
    ms_history_run_end(run, raised_any ? MS_HISTORY_FAILED : status, &diag);
    /* the session's run, once it is whole (the History screen reads it) */
    pthread_mutex_lock(&r->mu);
    r->last = id;
    pthread_mutex_unlock(&r->mu);
}

static void *recorder_main(void *arg)
{
    ms_history_recorder *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->pending && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        if (!r->pending)
            break;
        job *j = r->pending;
        r->pending = NULL;
        pthread_mutex_unlock(&r->mu);
        write_run(r, j);
        job_free(j);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

ms_status ms_history_recorder_new(const char *path, ms_history_recorder **out, ms_diag *diag)
{
    *out = NULL;
    ms_history_recorder *r = calloc(1, sizeof *r);
    if (!r)
        return MS_ERR_NOMEM;
    ms_status st = ms_history_open(path, true, &r->h, diag);
    if (st != MS_OK) {
        free(r);
        return st;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->thread, NULL, recorder_main, r) != 0) {
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        ms_history_close(r->h);
        free(r);
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-HISTORY", path, 0, 0,
                           "cannot start the thread recording to %s", path);
    }
    *out = r;
    return MS_OK;
}

ms_status ms_history_recorder_add(ms_history_recorder *r, const ms_history_settings *s,
                                  ms_lifecycle *lc, const ms_call *calls, size_t n)
{
    job *j = calloc(1, sizeof *j);
    if (!j) {
        ms_lifecycle_free(lc);
        return MS_ERR_NOMEM;
    }
    j->lc = lc;
    j->n = n;
    j->calls = malloc((n ? n : 1) * sizeof *j->calls);
    if (!j->calls || !job_settings(j, s)) {
        job_free(j);
        return MS_ERR_NOMEM;
    }
    if (n)
        memcpy(j->calls, calls, n * sizeof *calls);
    pthread_mutex_lock(&r->mu);
    job *replaced = r->pending;
    r->pending = j;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    job_free(replaced);
    return MS_OK;
}

long long ms_history_recorder_last(ms_history_recorder *r)
{
    pthread_mutex_lock(&r->mu);
    long long last = r->last;
    pthread_mutex_unlock(&r->mu);
    return last;
}

void ms_history_recorder_free(ms_history_recorder *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    ms_history_close(r->h);
    free(r);
}
