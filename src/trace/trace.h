/* Lifecycle traces as JSON Lines, written by a sink of the record stream
 * (../shared/spec/scenario-and-trace.md): one record per hook, per raised error, and a state record
 * after every call. Buffered and allocation-free per record: traces of millions of events are
 * written at well over a million records per second. */
#ifndef MS_TRACE_H
#define MS_TRACE_H

#include <stdio.h>

#include "../core/lifecycle.h"
#include "../core/record.h"
#include "../core/upstream.h"

typedef struct ms_trace ms_trace;

/* Writes to `out` (not closed by ms_trace_free). */
ms_status ms_trace_new(FILE *out, ms_trace **trace);
/* Flushes and frees; returns MS_ERR_IO when a write failed. */
ms_status ms_trace_free(ms_trace *trace);

/* Event names in hook lines are the profile's (default 0.12): 0.13 writes
 * calibration_start where 0.12 writes calibration_epoch_start. */
void ms_trace_set_upstream(ms_trace *trace, ms_upstream profile);

/* Whether a metric record about one module (a hook's work on the model,
 * modsim trace --metrics) is written as a line of its own; default off. */
void ms_trace_set_metrics(ms_trace *trace, bool on);

/* The sink that writes a hook line per hook record, an error line per error
 * record and a state line per call-ended record; valid while `trace` lives. */
const ms_sink *ms_trace_sink(ms_trace *trace);

#endif
