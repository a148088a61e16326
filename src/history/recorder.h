/* Recording runs in the background: a thread that runs each queued run's
 * calls on its own lifecycle and writes them to the history, so a front end
 * (the TUI) records every session without waiting for the file. Each run's
 * parent is the run recorded before it through the same recorder, so a
 * session's edits form a chain that can be walked back. */
#ifndef MS_RECORDER_H
#define MS_RECORDER_H

#include <stddef.h>

#include "../core/call.h"
#include "../core/lifecycle.h"
#include "history.h"

typedef struct ms_history_recorder ms_history_recorder;

/* Opens (creating it) the history at `path` now, so a file that cannot be
 * used is said at once in `diag`, and starts the thread. */
ms_status ms_history_recorder_new(const char *path, ms_history_recorder **out, ms_diag *diag);
/* Queues a run of `calls` (copied) on `lc` (taken over, also on failure),
 * kept with settings `s` (copied; its parent is ignored). A run queued while
 * an earlier one still waits to start replaces that one: an edit undone or
 * redone faster than its run is written keeps only the latest. */
ms_status ms_history_recorder_add(ms_history_recorder *r, const ms_history_settings *s,
                                  ms_lifecycle *lc, const ms_call *calls, size_t n);
/* The id of the last run written whole through `r` (0: none yet). */
long long ms_history_recorder_last(ms_history_recorder *r);
/* Waits until the queued runs are written, then stops the thread and closes
 * the history. NULL is fine. */
void ms_history_recorder_free(ms_history_recorder *r);

#endif
