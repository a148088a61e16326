/* The compression lifecycle: initialize → events → finalize over an ordered
 * list of modifiers, with upstream's checks (event order, missing loss,
 * calls before initialize or after finalize).
 *
 * Every hook a modifier runs is emitted as a record to a sink (record.h),
 * which is how traces, history and the TUI see the lifecycle without the
 * engine knowing them. Hooks act on the lifecycle's world (world.h). */
#ifndef MS_LIFECYCLE_H
#define MS_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"
#include "modifier.h"
#include "record.h"
#include "upstream.h"
#include "world.h"

typedef struct ms_lifecycle ms_lifecycle;

/* Takes ownership of `modifiers` (the array and each modifier). */
ms_status ms_lifecycle_new(ms_modifier **modifiers, size_t count, ms_lifecycle **out);
void ms_lifecycle_free(ms_lifecycle *lc);

/* Receives an MS_REC_HOOK record as each hook is entered, in execution
 * order. NULL: nobody listens. */
void ms_lifecycle_set_sink(ms_lifecycle *lc, const ms_sink *sink);
/* The call index that hook records carry from now on (ms_runner sets it). */
void ms_lifecycle_set_call_index(ms_lifecycle *lc, size_t call);

/* The world the hooks act on (default: ms_world_modelless). Set before the
 * first call; the world's state starts zeroed. */
ms_status ms_lifecycle_set_world(ms_lifecycle *lc, ms_world world);

/* The upstream release whose rules the lifecycle follows (default 0.12,
 * upstream.h); set before the first call. It applies to every modifier. */
void ms_lifecycle_set_upstream(ms_lifecycle *lc, ms_upstream profile);
/* Whether the run was given a calibration dataset (default: yes); without
 * one SmoothQuant raises at initialize (smoothquant/base.py:133). */
void ms_lifecycle_set_calibration_data(ms_lifecycle *lc, bool given);
ms_upstream ms_lifecycle_upstream(const ms_lifecycle *lc);

size_t ms_lifecycle_count(const ms_lifecycle *lc);
ms_modifier *ms_lifecycle_modifier(ms_lifecycle *lc, size_t i);
const ms_modifier *ms_lifecycle_modifier_const(const ms_lifecycle *lc, size_t i);
bool ms_lifecycle_initialized(const ms_lifecycle *lc);
bool ms_lifecycle_finalized(const ms_lifecycle *lc);

/* Each call returns MS_OK, or MS_ERR_RAISED with `*raised` filled in as
 * upstream would raise it. An error stops the call at the raising modifier;
 * what earlier modifiers did stays done. */

/* Initializes every modifier in order; a second call after success does nothing. */
ms_status ms_lifecycle_initialize(ms_lifecycle *lc, ms_raise *raised);

/* Sends one event to every modifier. `loss` is NULL when the call carried no
 * loss (loss_calculated then raises). */
ms_status ms_lifecycle_event(ms_lifecycle *lc, const ms_event *event, const double *loss,
                             ms_raise *raised);

/* The same event, with the lifecycle's list narrowed to modifier `i`, as
 * upstream's independent pipeline sets recipe.modifiers = [modifier] around
 * each modifier's pass: the lifecycle's checks apply, one modifier sees it. */
ms_status ms_lifecycle_event_narrowed(ms_lifecycle *lc, size_t i, const ms_event *event,
                                      const double *loss, ms_raise *raised);

ms_status ms_lifecycle_finalize(ms_lifecycle *lc, ms_raise *raised);

/* Direct calls on one modifier, bypassing the lifecycle's own checks. */
ms_status ms_lifecycle_modifier_initialize(ms_lifecycle *lc, size_t i, ms_raise *raised);
ms_status ms_lifecycle_modifier_update_event(ms_lifecycle *lc, size_t i, const ms_event *event,
                                             ms_raise *raised);
ms_status ms_lifecycle_modifier_finalize(ms_lifecycle *lc, size_t i, ms_raise *raised);

/* Back to the state before initialize: lifecycle and every modifier. */
void ms_lifecycle_reset(ms_lifecycle *lc);

/* Snapshots of progress (flags, each type's runtime state, the lifecycle's
 * own checks) so a simulation can go back without re-running from the start.
 * A snapshot fits only lifecycles built from the same recipe. */
size_t ms_lifecycle_snapshot_size(const ms_lifecycle *lc);
void ms_lifecycle_snapshot_save(const ms_lifecycle *lc, void *buf);
void ms_lifecycle_snapshot_restore(ms_lifecycle *lc, const void *buf);

#endif
