/* Modifiers: the unit the lifecycle drives, and the table of hooks that gives
 * each modifier type its behaviour.
 *
 * The engine (modifier.c, lifecycle.c) implements upstream's Modifier base
 * class rules once; a modifier type only fills an ms_modifier_type with the
 * hooks it overrides. The engine never switches on type names. */
#ifndef MS_MODIFIER_H
#define MS_MODIFIER_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/doc.h"
#include "../util/status.h"
#include "event.h"
#include "upstream.h"

/* The last three exist only at 0.13 (upstream ab1ba3eff modifiers/modifier.py:273-306). */
#define MS_HOOK_LIST(X)                                                                            \
    X(MS_HOOK_ON_INITIALIZE, "on_initialize")                                                      \
    X(MS_HOOK_ON_START, "on_start")                                                                \
    X(MS_HOOK_ON_UPDATE, "on_update")                                                              \
    X(MS_HOOK_ON_END, "on_end")                                                                    \
    X(MS_HOOK_ON_EVENT, "on_event")                                                                \
    X(MS_HOOK_ON_FINALIZE, "on_finalize")                                                          \
    X(MS_HOOK_ON_CALIBRATION_START, "on_calibration_start")                                        \
    X(MS_HOOK_ON_SEQUENTIAL_EPOCH_END, "on_sequential_epoch_end")                                  \
    X(MS_HOOK_ON_CALIBRATION_END, "on_calibration_end")

typedef enum {
#define MS_HOOK_ENUM(id, name) id,
    MS_HOOK_LIST(MS_HOOK_ENUM)
#undef MS_HOOK_ENUM
        MS_HOOK_COUNT
} ms_hook;

const char *ms_hook_name(ms_hook hook);

/* The Python exception a call raised upstream; its name goes into traces. */
#define MS_RAISE_LIST(X)                                                                           \
    X(MS_RAISE_NONE, "")                                                                           \
    X(MS_RAISE_VALUE_ERROR, "ValueError")                                                          \
    X(MS_RAISE_RUNTIME_ERROR, "RuntimeError")                                                      \
    X(MS_RAISE_TYPE_ERROR, "TypeError")                                                            \
    X(MS_RAISE_ZERO_DIVISION_ERROR, "ZeroDivisionError")                                           \
    X(MS_RAISE_NAME_ERROR, "NameError")                                                            \
    X(MS_RAISE_NOT_IMPLEMENTED_ERROR, "NotImplementedError")

typedef enum {
#define MS_RAISE_ENUM(id, name) id,
    MS_RAISE_LIST(MS_RAISE_ENUM)
#undef MS_RAISE_ENUM
} ms_raise_kind;

const char *ms_raise_kind_name(ms_raise_kind kind);

/* An error raised by a lifecycle or modifier call. */
typedef struct ms_raise {
    ms_raise_kind kind;
    int modifier; /* index of the raising modifier in its list; -1 for the lifecycle */
    char message[768];
} ms_raise;

/* How a modifier type is driven: by training events (start/end on batch
 * events) or by calibration events (start on calibration_epoch_start, end on
 * calibration_epoch_end or at finalize; at 0.13 the base class starts and
 * ends every type on calibration_start/calibration_end). */
typedef enum { MS_DRIVE_TRAINING, MS_DRIVE_CALIBRATION } ms_drive;

typedef struct ms_modifier ms_modifier;
typedef struct ms_modifier_type ms_modifier_type;

/* NULL when `name` is not a known modifier type. */
const ms_modifier_type *ms_modifier_type_find(const char *name);
const char *ms_modifier_type_name(const ms_modifier_type *type);
ms_drive ms_modifier_type_drive(const ms_modifier_type *type);
/* Whether upstream's pipeline inference counts a modifier of `type` with
 * recipe arguments `args` (a map or NULL) as needing calibration data, which
 * makes it pick the sequential pipeline over datafree. 0.12: a list of class
 * names in pipelines/registry.py _infer_pipeline, QuantizationModifier by its
 * scheme; 0.13: the modifier's `requires_calibration_data` field (so
 * LogarithmicEqualizationModifier, a SmoothQuantModifier subclass, counts),
 * which `args` may set. */
bool ms_modifier_type_requires_calibration(const ms_modifier_type *type, ms_upstream profile,
                                           const ms_node *args);
/* The known type name closest to `name` (edit distance), for "did you mean". */
const char *ms_modifier_type_nearest(const char *name);

/* Creates a modifier of `type` from its recipe arguments (a map node or NULL).
 * `group` is the group the recipe placed it in (the arguments' `group` wins).
 * Reads the base fields index/group/start/end/update and the type's own. */
ms_status ms_modifier_new(const ms_modifier_type *type, const ms_node *args, const char *group,
                          const char *file, ms_modifier **out, ms_diag *diag);
void ms_modifier_free(ms_modifier *m);

const ms_modifier_type *ms_modifier_type_of(const ms_modifier *m);
const char *ms_modifier_group(const ms_modifier *m);
ms_opt_double ms_modifier_start(const ms_modifier *m);
ms_opt_double ms_modifier_end(const ms_modifier *m);
ms_opt_double ms_modifier_update(const ms_modifier *m);
bool ms_modifier_initialized(const ms_modifier *m);
bool ms_modifier_started(const ms_modifier *m);
bool ms_modifier_ended(const ms_modifier *m);
bool ms_modifier_finalized(const ms_modifier *m);
/* The profile its lifecycle runs it under (ms_lifecycle_set_upstream). */
ms_upstream ms_modifier_upstream(const ms_modifier *m);

/* The type's live metric (MagnitudePruning: "sparsity"), or NULL when the type
 * reports none. `*has_value` is false before the first value. */
const char *ms_modifier_metric(const ms_modifier *m, double *value, bool *has_value);

/* upstream Modifier.should_start / should_end. */
bool ms_modifier_should_start(const ms_modifier *m, const ms_event *ev);
bool ms_modifier_should_end(const ms_modifier *m, const ms_event *ev);

/* Which of the base class rules decides what a modifier does with a call,
 * for people learning the lifecycle. */
#define MS_RULE_LIST(X)                                                                            \
    X(MS_RULE_RAISES, "raises")                                                                    \
    X(MS_RULE_START, "starts")                                                                     \
    X(MS_RULE_NO_START, "does not start")                                                          \
    X(MS_RULE_END, "ends")                                                                         \
    X(MS_RULE_END_UNSTARTED, "ends without starting")                                              \
    X(MS_RULE_UPDATE, "updates")                                                                   \
    X(MS_RULE_IDLE, "does nothing")                                                                \
    X(MS_RULE_INITIALIZE, "initializes")                                                           \
    X(MS_RULE_INITIALIZE_START, "initializes and starts")                                          \
    X(MS_RULE_FINALIZE, "finalizes")

typedef enum {
#define MS_RULE_ENUM(id, name) id,
    MS_RULE_LIST(MS_RULE_ENUM)
#undef MS_RULE_ENUM
} ms_rule;

/* A short name of the rule ("starts", "does not start", ...). */
const char *ms_rule_name(ms_rule rule);

/* The rule that decides what update_event(`ev`) does to `m` in its current
 * state, with the numbers that decided it written into `buf`, e.g.
 * "did not start: start 2 > index 1.5". Reads the modifier, changes nothing;
 * what a type's own hooks raise is not predicted. */
ms_rule ms_modifier_explain(const ms_modifier *m, const ms_event *ev, char *buf, size_t cap);

/* The same for initialize and finalize. */
ms_rule ms_modifier_explain_initialize(const ms_modifier *m, char *buf, size_t cap);
ms_rule ms_modifier_explain_finalize(const ms_modifier *m, char *buf, size_t cap);

/* Forgets all lifecycle progress: flags and the type's runtime state. */
void ms_modifier_reset(ms_modifier *m);

#endif
