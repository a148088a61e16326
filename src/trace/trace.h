/* Lifecycle traces as JSON Lines (../shared/spec/scenario-and-trace.md): one
 * record per hook, per raised error, and a state record after every call.
 * Buffered and allocation-free per record: traces of millions of events are
 * written at well over a million records per second. */
#ifndef MS_TRACE_H
#define MS_TRACE_H

#include <stdio.h>

#include "../core/lifecycle.h"

typedef struct ms_trace ms_trace;

/* Writes to `out` (not closed by ms_trace_free). */
ms_status ms_trace_new(FILE *out, ms_trace **trace);
/* Flushes and frees; returns MS_ERR_IO when a write failed. */
ms_status ms_trace_free(ms_trace *trace);

/* The observer that records hook lines; valid while `trace` lives. */
const ms_observer *ms_trace_observer(ms_trace *trace);

/* Sets the call number that the next records carry. */
void ms_trace_begin_call(ms_trace *trace, size_t call);
void ms_trace_error(ms_trace *trace, const ms_raise *raised);
void ms_trace_state(ms_trace *trace, const ms_lifecycle *lc);

#endif
