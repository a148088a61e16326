/* Calls: the unit a run is made of. A call is one entry point of the
 * lifecycle (initialize, an event, finalize) or a direct call on one
 * modifier. Scenarios write them, pipelines generate them, sessions and
 * traces run them. */
#ifndef MS_CALL_H
#define MS_CALL_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"
#include "lifecycle.h"
#include "record.h"

typedef enum {
    MS_CALL_INITIALIZE,          /* lifecycle initialize */
    MS_CALL_EVENT,               /* lifecycle event */
    MS_CALL_FINALIZE,            /* lifecycle finalize */
    MS_CALL_MODIFIER_INITIALIZE, /* direct calls on one modifier */
    MS_CALL_MODIFIER_UPDATE_EVENT,
    MS_CALL_MODIFIER_FINALIZE
} ms_call_kind;

typedef struct ms_call {
    ms_call_kind kind;
    size_t modifier; /* direct calls, and the one modifier a narrowed event reaches */
    bool narrowed;   /* MS_CALL_EVENT: the lifecycle's list narrowed to `modifier` */
    ms_event event;  /* MS_CALL_EVENT, MS_CALL_MODIFIER_UPDATE_EVENT */
    bool has_loss;
    double loss;
    int line, col; /* where the call is written (0 when generated) */
} ms_call;

/* Whether the call is on one modifier rather than on the lifecycle. */
bool ms_call_is_direct(const ms_call *call);

/* Runs one call on `lc`; MS_ERR_RAISED with `raised` when it raised. */
ms_status ms_call_run(const ms_call *call, ms_lifecycle *lc, ms_raise *raised);

/* Runs calls on one lifecycle and emits their records to one sink. */
typedef struct ms_runner ms_runner;

/* Makes `sink` also `lc`'s sink for hook records; `sink` may be NULL. */
ms_status ms_runner_new(ms_lifecycle *lc, const ms_sink *sink, ms_runner **out);
void ms_runner_free(ms_runner *runner);
void ms_runner_set_sink(ms_runner *runner, const ms_sink *sink);
/* The runner remembers the flags its last call left; after the lifecycle
 * changed outside it (a snapshot restored, a reset, a call run directly),
 * this makes it read them again before the next call. */
void ms_runner_resync(ms_runner *runner);

/* Runs `call` as call number `index`: CALL_BEGUN, the hooks, ERROR when it
 * raised, FLAGS for each modifier whose flags changed, METRIC for each
 * modifier with a metric, CALL_ENDED. Returns what ms_call_run returns. */
ms_status ms_runner_call(ms_runner *runner, const ms_call *call, size_t index, ms_raise *raised);

#endif
