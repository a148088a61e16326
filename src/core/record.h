/* The stream of what a run does: one record per call begun, hook run, flags
 * changed, error raised, metric reported and call ended, in execution order.
 * The engine emits records to a sink and never knows who listens (the trace
 * writer, the in-memory history, re-simulation); a fan-out sends one stream
 * to several sinks. */
#ifndef MS_RECORD_H
#define MS_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"
#include "modifier.h"

typedef struct ms_call ms_call;
typedef struct ms_lifecycle ms_lifecycle;

typedef enum {
    MS_REC_CALL_BEGUN,
    MS_REC_HOOK,
    MS_REC_FLAGS,
    MS_REC_ERROR,
    MS_REC_METRIC,
    MS_REC_CALL_ENDED
} ms_record_kind;

/* Flag bits of MS_REC_FLAGS, as ms_sim_flags also spells them. */
enum { MS_REC_INITIALIZED = 1, MS_REC_STARTED = 2, MS_REC_ENDED = 4, MS_REC_FINALIZED = 8 };

/* Fields not meaningful for a kind are zero or NULL. Pointers are valid only
 * during the emit call: a sink that keeps a record copies what it needs. */
typedef struct ms_record {
    ms_record_kind kind;
    size_t call;                        /* index of the call in its run */
    const ms_call *what;                /* the call (every kind but MS_REC_HOOK) */
    const ms_lifecycle *lc;             /* the lifecycle after the call (CALL_ENDED) */
    size_t modifier;                    /* HOOK, FLAGS, METRIC */
    ms_hook hook;                       /* HOOK */
    const ms_event *event;              /* HOOK; NULL when the hook got no event */
    unsigned flags_before, flags_after; /* FLAGS */
    const ms_raise *raised;             /* ERROR: kind, modifier, message */
    const char *metric;                 /* METRIC: name */
    const char *module; /* METRIC: the module it is about; "" for the whole modifier,
                         * NULL for the whole model (modsim trace --metrics) */
    double value;       /* METRIC */
    bool has_value;     /* METRIC: false before the first value */
} ms_record;

typedef struct ms_sink {
    void (*emit)(void *user, const ms_record *record);
    void *user;
    /* The sink does not want on_event hook records: every modifier gets one
     * per event, so skipping them where nobody reads them keeps runs fast. */
    bool skips_on_event;
} ms_sink;

static inline void ms_sink_emit(const ms_sink *sink, const ms_record *record)
{
    if (sink && sink->emit)
        sink->emit(sink->user, record);
}

/* Several sinks listening to one run, in the order given. */
typedef struct ms_fanout {
    const ms_sink *sinks;
    size_t count;
} ms_fanout;

/* The sink that forwards each record to every sink of `fan` (kept by pointer). */
ms_sink ms_fanout_sink(const ms_fanout *fan);

/* The flag bits of a modifier. */
unsigned ms_record_flags(const ms_modifier *m);

#endif
