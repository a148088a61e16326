/* Lifecycle events and the index arithmetic modifiers decide on.
 *
 * Mirrors llm-compressor's core/events/event.py: an event carries the global
 * step and, optionally, the clock (steps_per_epoch, batches_per_step). Its
 * index is the global step, or the fractional epoch when steps_per_epoch is set. */
#ifndef MS_EVENT_H
#define MS_EVENT_H

#include <stdbool.h>

#include "upstream.h"

/* id, the 0.12 name and enum member, the 0.13 name and member (upstream
 * ab1ba3eff core/events/event.py:52-54 renamed the calibration events). */
#define MS_EVENT_TYPE_LIST(X)                                                                      \
    X(MS_EV_BATCH_START, "batch_start", "BATCH_START", "batch_start", "BATCH_START")               \
    X(MS_EV_LOSS_CALCULATED, "loss_calculated", "LOSS_CALCULATED", "loss_calculated",              \
      "LOSS_CALCULATED")                                                                           \
    X(MS_EV_OPTIM_PRE_STEP, "optim_pre_step", "OPTIM_PRE_STEP", "optim_pre_step",                  \
      "OPTIM_PRE_STEP")                                                                            \
    X(MS_EV_OPTIM_POST_STEP, "optim_post_step", "OPTIM_POST_STEP", "optim_post_step",              \
      "OPTIM_POST_STEP")                                                                           \
    X(MS_EV_BATCH_END, "batch_end", "BATCH_END", "batch_end", "BATCH_END")                         \
    X(MS_EV_CALIBRATION_EPOCH_START, "calibration_epoch_start", "CALIBRATION_EPOCH_START",         \
      "calibration_start", "CALIBRATION_START")                                                    \
    X(MS_EV_SEQUENTIAL_EPOCH_END, "sequential_epoch_end", "SEQUENTIAL_EPOCH_END",                  \
      "sequential_epoch_end", "SEQUENTIAL_EPOCH_END")                                              \
    X(MS_EV_CALIBRATION_EPOCH_END, "calibration_epoch_end", "CALIBRATION_EPOCH_END",               \
      "calibration_end", "CALIBRATION_END")                                                        \
    X(MS_EV_INITIALIZE, "initialize", "INITIALIZE", "initialize", "INITIALIZE")                    \
    X(MS_EV_FINALIZE, "finalize", "FINALIZE", "finalize", "FINALIZE")

typedef enum {
#define MS_EVENT_TYPE_ENUM(id, name, upper, name13, upper13) id,
    MS_EVENT_TYPE_LIST(MS_EVENT_TYPE_ENUM)
#undef MS_EVENT_TYPE_ENUM
        MS_EV_COUNT
} ms_event_type;

/* The calibration start and end events are one event each across profiles
 * (the pipelines send them at the same places); only their names differ. */

/* "batch_start", ... as 0.12 names them */
const char *ms_event_type_name(ms_event_type type);
/* Upstream's enum member name, "BATCH_START", ... (used in upstream messages). */
const char *ms_event_type_member(ms_event_type type);
/* Parses a 0.12 event name; false when unknown. */
bool ms_event_type_parse(const char *name, ms_event_type *out);

/* The same in one profile: at 0.13 "calibration_start" parses and
 * "calibration_epoch_start" does not, and the other way round at 0.12. */
const char *ms_event_type_name_in(ms_event_type type, ms_upstream profile);
const char *ms_event_type_member_in(ms_event_type type, ms_upstream profile);
bool ms_event_type_parse_in(const char *name, ms_upstream profile, ms_event_type *out);
/* Every event name of the profile, ", " separated, for diagnostics. */
const char *ms_event_type_names_in(ms_upstream profile);

typedef struct ms_event {
    ms_event_type type;
    long long global_step;
    long long global_batch;
    long long steps_per_epoch;  /* meaningful only when epoch_based */
    long long batches_per_step; /* 0: not set */
    bool epoch_based;           /* steps_per_epoch was given */
    /* The call passed `modules` (upstream's sequential_epoch_end kwarg); at
     * 0.13 an on_sequential_epoch_end that requires it raises TypeError
     * without it. */
    bool has_modules;
} ms_event;

/* An event that carries only a type: what the upstream lifecycle builds (index 0). */
ms_event ms_event_plain(ms_event_type type);

/* The index modifiers compare start/end with: global_step, or
 * global_step / steps_per_epoch when epoch based. */
double ms_event_current_index(const ms_event *ev);

/* Epoch arithmetic; each requires an epoch-based event (returns false otherwise,
 * where upstream raises "Event is not epoch based"). */
bool ms_event_epoch(const ms_event *ev, long long *out);
bool ms_event_epoch_full(const ms_event *ev, double *out);
bool ms_event_epoch_step(const ms_event *ev, long long *out);
bool ms_event_epoch_batch(const ms_event *ev, long long *out);

/* Optional float as upstream passes None. */
typedef struct ms_opt_double {
    bool set;
    double value;
} ms_opt_double;

#define MS_NONE ((ms_opt_double){false, 0.0})
#define MS_SOME(v) ((ms_opt_double){true, (v)})

/* upstream Event.should_update: inside [start, end] and, when update > 0, on a
 * multiple of update (Python float modulo below 1e-10). */
bool ms_event_should_update(const ms_event *ev, ms_opt_double start, ms_opt_double end,
                            ms_opt_double update);

/* Python's float modulo: the result takes the sign of the divisor. */
double ms_py_fmod(double a, double b);

#endif
