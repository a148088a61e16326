/* A simulation session: a lifecycle built from a recipe, the list of calls
 * it runs, a position in that list, and the history of what happened.
 *
 * Stepping moves the position forward (next event, next step, next
 * transition, breakpoint, end) or back (re-simulated from the nearest
 * snapshot, taken every MS_SIM_SNAPSHOT_EVERY calls, so going back is as
 * cheap as going forward a few calls). Long runs are done in slices
 * (ms_sim_work) so a front end stays responsive and can cancel.
 *
 * History is recorded the first time a call runs: per modifier its flag
 * changes, its hooks other than on_event/on_update, its on_update runs, its
 * metric (sampled), and every error raised. The hooks of any stretch of calls,
 * and why a modifier did what it did, are re-simulated on demand on a second
 * lifecycle, so memory stays small for 100,000s of events. */
#ifndef MS_SIM_H
#define MS_SIM_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/lifecycle.h"
#include "../core/record.h"
#include "../history/run_log.h"
#include "../recipe/recipe.h"
#include "../scenario/scenario.h"

#define MS_SIM_SNAPSHOT_EVERY 64
#define MS_SIM_METRIC_SAMPLES 4096 /* metric samples kept per modifier, at most */

typedef struct ms_sim ms_sim;

/* Modifier flags, as a bit set. */
enum {
    MS_FLAG_INITIALIZED = MS_REC_INITIALIZED,
    MS_FLAG_STARTED = MS_REC_STARTED,
    MS_FLAG_ENDED = MS_REC_ENDED,
    MS_FLAG_FINALIZED = MS_REC_FINALIZED,
};

/* A session over `recipe` (borrowed: keep it alive and unchanged) running a
 * copy of `calls`. Direct modifier calls must name a modifier of the recipe. */
ms_status ms_sim_new(const ms_recipe *recipe, const ms_call *calls, size_t n_calls, ms_sim **out,
                     ms_diag *diag);
/* The same, the lifecycle following llm-compressor `upstream`. */
ms_status ms_sim_new_as(const ms_recipe *recipe, ms_upstream upstream, const ms_call *calls,
                        size_t n_calls, ms_sim **out, ms_diag *diag);
ms_upstream ms_sim_upstream(const ms_sim *sim);
/* Whether the run has a calibration dataset (default: yes); set before
 * running. */
void ms_sim_set_calibration_data(ms_sim *sim, bool given);
void ms_sim_free(ms_sim *sim);

size_t ms_sim_call_count(const ms_sim *sim);
const ms_call *ms_sim_call(const ms_sim *sim, size_t i);
size_t ms_sim_modifier_count(const ms_sim *sim);

/* The live state: after ms_sim_position() calls. */
const ms_modifier *ms_sim_modifier(const ms_sim *sim, size_t i);
unsigned ms_sim_flags(const ms_sim *sim, size_t modifier);

/* Calls run so far; the next call is ms_sim_call(sim, position). */
size_t ms_sim_position(const ms_sim *sim);
/* Calls whose history is recorded (the farthest position reached). */
size_t ms_sim_explored(const ms_sim *sim);
/* What the last call run raised (kind MS_RAISE_NONE when nothing). */
const ms_raise *ms_sim_last_raise(const ms_sim *sim);

/* The index a call's event carries, or NAN for initialize/finalize. */
double ms_sim_call_index(const ms_sim *sim, size_t call);
/* "initialize", "batch_start", "GPTQModifier.update_event(calibration_epoch_end)", ... */
void ms_sim_call_label(const ms_sim *sim, size_t call, char *buf, size_t cap);

/* ---- breakpoints ---- */

/* Stops after a call in which it matches. `modifier` -1 means any; `hook`
 * -1 means "its flags changed" (with a modifier) or no hook condition;
 * `has_index` stops at the first event whose index reaches `index`. */
typedef struct ms_breakpoint {
    int modifier;
    int hook;
    bool has_index;
    double index;
} ms_breakpoint;

#define MS_SIM_MAX_BREAKPOINTS 32

/* MS_ERR_LIMIT past MS_SIM_MAX_BREAKPOINTS; a duplicate is not added twice. */
ms_status ms_sim_break_add(ms_sim *sim, const ms_breakpoint *bp);
/* Removes the breakpoint equal to `bp`; false when there was none. */
bool ms_sim_break_remove(ms_sim *sim, const ms_breakpoint *bp);
size_t ms_sim_break_count(const ms_sim *sim);
const ms_breakpoint *ms_sim_break_at(const ms_sim *sim, size_t i);
/* "modifier 2 on_start", "index >= 1.5", ... */
void ms_breakpoint_describe(const ms_breakpoint *bp, char *buf, size_t cap);

/* ---- stepping ---- */

typedef enum {
    MS_GOAL_EVENT,      /* next event */
    MS_GOAL_STEP,       /* next step */
    MS_GOAL_TRANSITION, /* next transition */
    MS_GOAL_BREAKPOINT, /* next breakpoint */
    MS_GOAL_END,
    MS_GOAL_BACK, /* step back */
    MS_GOAL_RESTART,
    MS_GOAL_SEEK
} ms_goal;

typedef enum {
    MS_STOP_RUNNING,
    MS_STOP_REACHED,
    MS_STOP_TRANSITION,
    MS_STOP_BREAKPOINT,
    MS_STOP_ERROR,
    MS_STOP_END, /* end of the calls */
    MS_STOP_CANCELLED
} ms_stop_reason;

/* Why a run stopped. */
typedef struct ms_sim_stop {
    ms_stop_reason reason;
    int modifier;     /* the first modifier whose flags changed, or that raised; -1 */
    int breakpoint;   /* MS_STOP_BREAKPOINT: which one; else -1 */
    size_t errors;    /* calls that raised during the run */
    ms_status status; /* MS_ERR_NOMEM when history could not be recorded */
} ms_sim_stop;

/* Starts moving towards `goal`; MS_GOAL_SEEK goes to position `target`.
 * Nothing runs until ms_sim_work. A run in progress is replaced. */
void ms_sim_begin(ms_sim *sim, ms_goal goal, size_t target);
/* Runs at most `budget` calls of the current run. Returns true, with `stop`
 * filled in, when the run is over. */
bool ms_sim_work(ms_sim *sim, size_t budget, ms_sim_stop *stop);
bool ms_sim_busy(const ms_sim *sim);
/* Ends the current run where it is (reason MS_STOP_CANCELLED). */
void ms_sim_cancel(ms_sim *sim, ms_sim_stop *stop);
/* How far the current run is: calls done and calls it may take at most. */
void ms_sim_progress(const ms_sim *sim, size_t *done, size_t *total);
/* ms_sim_begin then ms_sim_work until the run is over. */
ms_sim_stop ms_sim_run(ms_sim *sim, ms_goal goal, size_t target);

/* ---- history ---- */

/* Flags of `modifier` after `pos` calls, for pos <= ms_sim_explored(). */
unsigned ms_sim_flags_at(const ms_sim *sim, size_t modifier, size_t pos);

/* A hook other than on_event/on_update, in the call that ran it; hook
 * MS_HOOK_COUNT marks an error the modifier raised. */
typedef ms_run_mark ms_sim_mark;

/* Calls first..last (inclusive) each ran on_update for the modifier. */
typedef ms_run_span ms_sim_span;

/* message: owned by the session */
typedef ms_run_error ms_sim_error;

/* Sorted by call; valid until the next stepping call. */
const ms_sim_mark *ms_sim_marks(const ms_sim *sim, size_t modifier, size_t *n);
const ms_sim_span *ms_sim_updates(const ms_sim *sim, size_t modifier, size_t *n);
/* The first error raised by call `call`, or NULL. */
const ms_sim_error *ms_sim_error_at(const ms_sim *sim, size_t call);

/* The metric the modifier reported (MagnitudePruning: "sparsity") after the
 * sampled call at or before `call`; NULL name when the type has none, false
 * when there was no value yet. */
const char *ms_sim_metric_name(const ms_sim *sim, size_t modifier);
bool ms_sim_metric_at(const ms_sim *sim, size_t modifier, size_t call, double *value);

/* The first call whose event reaches the modifier's start (end) index:
 * batch_start for start, batch_end for end; SIZE_MAX when none does. */
size_t ms_sim_start_call(const ms_sim *sim, size_t modifier);
size_t ms_sim_end_call(const ms_sim *sim, size_t modifier);

/* ---- re-simulation ---- */

/* One hook as it ran, or an error (hook is then MS_HOOK_COUNT). */
typedef struct ms_sim_hook {
    size_t call;
    int modifier;
    ms_hook hook;
} ms_sim_hook;

/* The hooks calls [first, last) ran, in order, re-simulated; on_event
 * records only when `with_on_event`. `*out` is malloc'd. Does not move the
 * position. */
ms_status ms_sim_hooks(ms_sim *sim, size_t first, size_t last, bool with_on_event,
                       ms_sim_hook **out, size_t *n);

/* Why `modifier` did what it did in call `call`. */
typedef struct ms_sim_explanation {
    ms_rule rule;
    bool reached; /* false: the lifecycle or an earlier modifier raised first */
    unsigned flags_before, flags_after;
    unsigned hooks;    /* bit (1 << hook) for each hook that ran */
    char text[320];    /* the rule with its numbers */
    char outcome[320]; /* what actually happened, incl. a raised error */
} ms_sim_explanation;

ms_status ms_sim_explain(ms_sim *sim, size_t modifier, size_t call, ms_sim_explanation *out);

#endif
