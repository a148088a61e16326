/* The in-memory record of a run, as the TUI reads it: a sink of the record
 * stream that keeps, per modifier, its flag changes by position, its marks
 * (hooks other than on_event/on_update, and errors it raised), its on_update
 * spans and a sampled metric; and the run's errors with interned messages.
 * Records must arrive in call order, each call once. */
#ifndef MS_RUN_LOG_H
#define MS_RUN_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/record.h"

/* A hook other than on_event/on_update, in the call that ran it; hook
 * MS_HOOK_COUNT marks an error the modifier raised. */
typedef struct ms_run_mark {
    size_t call;
    ms_hook hook;
} ms_run_mark;

/* Calls first..last (inclusive) each ran on_update for the modifier. */
typedef struct ms_run_span {
    size_t first, last;
} ms_run_span;

typedef struct ms_run_error {
    size_t call;
    int modifier; /* -1: raised by the lifecycle itself */
    ms_raise_kind kind;
    const char *message; /* owned by the log */
} ms_run_error;

typedef struct ms_run_log ms_run_log;

/* For `n_mods` modifiers; `has_metric[m]` says whether modifier m reports a
 * metric, sampled at calls that are multiples of `metric_stride` for calls
 * below `n_samples * metric_stride`. */
ms_status ms_run_log_new(size_t n_mods, const bool *has_metric, size_t metric_stride,
                         size_t n_samples, ms_run_log **out);
void ms_run_log_free(ms_run_log *log);

/* The sink that records into `log`; valid while it lives. */
const ms_sink *ms_run_log_sink(ms_run_log *log);
/* False once recording ran out of memory (what followed was not kept). */
bool ms_run_log_ok(const ms_run_log *log);

/* Flags of `modifier` after `pos` calls (0 before any change). */
unsigned ms_run_log_flags_at(const ms_run_log *log, size_t modifier, size_t pos);
/* Sorted by call; valid until the next record. */
const ms_run_mark *ms_run_log_marks(const ms_run_log *log, size_t modifier, size_t *n);
const ms_run_span *ms_run_log_updates(const ms_run_log *log, size_t modifier, size_t *n);
/* The first error raised by call `call`, or NULL. */
const ms_run_error *ms_run_log_error_at(const ms_run_log *log, size_t call);
/* The sample covering `call`; false when none was recorded or it had no value. */
bool ms_run_log_metric_at(const ms_run_log *log, size_t modifier, size_t call, double *value);

#endif
