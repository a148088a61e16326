#include "run_log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../util/array.h"

typedef struct flag_change {
    size_t pos; /* the flags hold from this position (after `pos` calls) on */
    unsigned char flags;
} flag_change;

typedef struct history {
    flag_change *changes;
    size_t n_changes, cap_changes;
    ms_run_mark *marks;
    size_t n_marks, cap_marks;
    ms_run_span *updates;
    size_t n_updates, cap_updates;
    double *metric; /* samples, NAN before the first value; NULL without a metric */
} history;

struct ms_run_log {
    size_t n_mods;
    history *hist;
    ms_run_error *errors;
    size_t n_errors, cap_errors;
    char **messages; /* distinct error texts, owned */
    size_t n_messages, cap_messages;
    size_t metric_stride, n_samples;
    bool failed;
    ms_sink sink;
};

static void emit(void *user, const ms_record *rec);

ms_status ms_run_log_new(size_t n_mods, const bool *has_metric, size_t metric_stride,
                         size_t n_samples, ms_run_log **out)
{
    ms_run_log *log = calloc(1, sizeof *log);
    *out = log;
    if (!log)
        return MS_ERR_NOMEM;
    log->n_mods = n_mods;
    log->metric_stride = metric_stride;
    log->n_samples = n_samples;
    log->sink = (ms_sink){
        .emit = emit, .user = log, .skips_on_event = true}; /* on_event changes nothing it keeps */
    log->hist = calloc(n_mods ? n_mods : 1, sizeof *log->hist);
    if (!log->hist) {
        ms_run_log_free(log);
        *out = NULL;
        return MS_ERR_NOMEM;
    }
    for (size_t m = 0; m < n_mods; m++) {
        if (!has_metric[m])
            continue;
        history *h = &log->hist[m];
        h->metric = malloc(n_samples * sizeof *h->metric);
        if (!h->metric) {
            ms_run_log_free(log);
            *out = NULL;
            return MS_ERR_NOMEM;
        }
        for (size_t i = 0; i < n_samples; i++)
            h->metric[i] = NAN;
    }
    return MS_OK;
}

void ms_run_log_free(ms_run_log *log)
{
    if (!log)
        return;
    for (size_t m = 0; log->hist && m < log->n_mods; m++) {
        free(log->hist[m].changes);
        free(log->hist[m].marks);
        free(log->hist[m].updates);
        free(log->hist[m].metric);
    }
    for (size_t i = 0; i < log->n_messages; i++)
        free(log->messages[i]);
    free(log->messages);
    free(log->errors);
    free(log->hist);
    free(log);
}

const ms_sink *ms_run_log_sink(ms_run_log *log)
{
    return &log->sink;
}

bool ms_run_log_ok(const ms_run_log *log)
{
    return !log->failed;
}

static const char *intern(ms_run_log *log, const char *text)
{
    if (log->n_messages && !strcmp(log->messages[log->n_messages - 1], text))
        return log->messages[log->n_messages - 1];
    for (size_t i = 0; i < log->n_messages; i++)
        if (!strcmp(log->messages[i], text))
            return log->messages[i];
    char *copy = strdup(text);
    if (!copy ||
        !ms_array_reserve(&log->messages, &log->cap_messages, log->n_messages, sizeof(char *))) {
        free(copy);
        return NULL;
    }
    log->messages[log->n_messages++] = copy;
    return copy;
}

static bool add_mark(history *h, size_t call, ms_hook hook)
{
    if (!ms_array_reserve(&h->marks, &h->cap_marks, h->n_marks, sizeof *h->marks))
        return false;
    h->marks[h->n_marks++] = (ms_run_mark){call, hook};
    return true;
}

static bool add_update(history *h, size_t call)
{
    if (h->n_updates && h->updates[h->n_updates - 1].last + 1 >= call) {
        h->updates[h->n_updates - 1].last = call;
        return true;
    }
    if (!ms_array_reserve(&h->updates, &h->cap_updates, h->n_updates, sizeof *h->updates))
        return false;
    h->updates[h->n_updates++] = (ms_run_span){call, call};
    return true;
}

static bool add_error(ms_run_log *log, size_t call, const ms_raise *raised)
{
    const char *msg = intern(log, raised->message);
    if (!msg ||
        !ms_array_reserve(&log->errors, &log->cap_errors, log->n_errors, sizeof *log->errors))
        return false;
    log->errors[log->n_errors++] = (ms_run_error){call, raised->modifier, raised->kind, msg};
    return raised->modifier < 0 || add_mark(&log->hist[raised->modifier], call, MS_HOOK_COUNT);
}

static bool add_flags(history *h, size_t pos, unsigned flags)
{
    if (!ms_array_reserve(&h->changes, &h->cap_changes, h->n_changes, sizeof *h->changes))
        return false;
    h->changes[h->n_changes++] = (flag_change){pos, (unsigned char)flags};
    return true;
}

static void emit(void *user, const ms_record *rec)
{
    ms_run_log *log = user;
    if (log->failed)
        return;
    bool ok = true;
    history *h = rec->modifier < log->n_mods ? &log->hist[rec->modifier] : NULL;
    switch (rec->kind) {
    case MS_REC_HOOK:
        if (rec->hook == MS_HOOK_ON_UPDATE)
            ok = add_update(h, rec->call);
        else if (rec->hook != MS_HOOK_ON_EVENT)
            ok = add_mark(h, rec->call, rec->hook);
        break;
    case MS_REC_ERROR:
        ok = add_error(log, rec->call, rec->raised);
        break;
    case MS_REC_FLAGS:
        ok = add_flags(h, rec->call + 1, rec->flags_after);
        break;
    case MS_REC_METRIC:
        if (h->metric && rec->call % log->metric_stride == 0 &&
            rec->call / log->metric_stride < log->n_samples)
            h->metric[rec->call / log->metric_stride] = rec->has_value ? rec->value : NAN;
        break;
    default:
        break;
    }
    if (!ok)
        log->failed = true;
}

unsigned ms_run_log_flags_at(const ms_run_log *log, size_t modifier, size_t pos)
{
    if (modifier >= log->n_mods)
        return 0;
    const history *h = &log->hist[modifier];
    /* the last change at or before pos */
    size_t lo = 0, hi = h->n_changes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->changes[mid].pos <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? h->changes[lo - 1].flags : 0;
}

const ms_run_mark *ms_run_log_marks(const ms_run_log *log, size_t modifier, size_t *n)
{
    *n = modifier < log->n_mods ? log->hist[modifier].n_marks : 0;
    return *n ? log->hist[modifier].marks : NULL;
}

const ms_run_span *ms_run_log_updates(const ms_run_log *log, size_t modifier, size_t *n)
{
    *n = modifier < log->n_mods ? log->hist[modifier].n_updates : 0;
    return *n ? log->hist[modifier].updates : NULL;
}

const ms_run_error *ms_run_log_error_at(const ms_run_log *log, size_t call)
{
    size_t lo = 0, hi = log->n_errors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (log->errors[mid].call < call)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < log->n_errors && log->errors[lo].call == call ? &log->errors[lo] : NULL;
}

bool ms_run_log_metric_at(const ms_run_log *log, size_t modifier, size_t call, double *value)
{
    if (modifier >= log->n_mods || !log->hist[modifier].metric ||
        call / log->metric_stride >= log->n_samples)
        return false;
    *value = log->hist[modifier].metric[call / log->metric_stride];
    return !isnan(*value);
}
