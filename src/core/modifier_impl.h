/* Private to src/core: the modifier record and the hook table that modifier
 * types fill in. Not installed; the UI and CLI use modifier.h/lifecycle.h. */
#ifndef MS_MODIFIER_IMPL_H
#define MS_MODIFIER_IMPL_H

#include "lifecycle.h"
#include "modifier.h"

/* What hooks see of the run: the sink their hooks are reported to, and the
 * world that modifiers share (what one modifier attached, another may rely
 * on), reached only through its ops. */
typedef struct ms_hook_ctx {
    const ms_sink *sink;
    size_t call; /* the call index hook records carry */
    ms_raise *raised;
    const ms_world *world;
    void *world_state;
    bool calibration_data; /* the run was given a calibration dataset (state.data.calib) */
} ms_hook_ctx;

struct ms_modifier {
    const ms_modifier_type *type;
    size_t position; /* index in the lifecycle's list, reported in traces */
    char *group;
    ms_upstream upstream; /* the lifecycle's profile: which rules and hooks apply */
    ms_opt_double index, start, end, update;
    bool initialized, started, ended, finalized;
    bool preset[4]; /* the recipe's initialized_, started_, ended_, finalized_: reset restores */
    void *config;   /* type's parsed arguments (type->config_size bytes) */
    void *state;    /* type's runtime state (type->state_size bytes), zeroed by reset */
};

/* A NULL hook means the base class behaviour: on_initialize and on_finalize
 * return true, the others do nothing. Hooks return MS_ERR_RAISED after
 * ms_raise_set when they raise. */
struct ms_modifier_type {
    const char *name;
    ms_drive drive;
    size_t config_size, state_size;
    ms_status (*configure)(ms_modifier *m, const ms_node *args, const char *file, ms_diag *diag);
    void (*free_config)(void *config);
    ms_status (*on_initialize)(ms_modifier *m, ms_hook_ctx *ctx, bool *result);
    ms_status (*on_start)(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev);
    ms_status (*on_update)(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev);
    ms_status (*on_end)(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev);
    ms_status (*on_event)(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev);
    ms_status (*on_finalize)(ms_modifier *m, ms_hook_ctx *ctx, bool *result);
    const char *metric_name;
    bool (*metric)(const ms_modifier *m, double *value);

    /* ---- 0.13 (upstream ab1ba3eff) ---- */
    /* The hooks at 0.13 when they differ from the ones above (NULL: the same
     * table). Only the hooks of that table are read; name, configuration,
     * state and metric stay this type's. */
    const ms_modifier_type *v013;
    /* The calibration hooks the base update_event calls (NULL: the base no-op). */
    ms_status (*on_calibration_start)(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev);
    ms_status (*on_sequential_epoch_end)(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev);
    ms_status (*on_calibration_end)(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev);
    /* The class whose on_sequential_epoch_end runs when it takes a required
     * `modules` argument, for the TypeError raised without it; NULL: the base
     * Modifier's (which takes it). */
    const char *sequential_owner;
    /* The override drops `modules` (SparsityModifierBase, SmoothQuant, AWQ). */
    bool sequential_without_modules;
    /* The class-level requires_calibration_data at 0.13. */
    bool requires_calibration_data;
    /* Whether the arguments make it need calibration data, under either
     * profile, for a type whose answer depends on them (NULL: it does not). */
    bool (*requires_calibration)(ms_upstream profile, const ms_node *args);
};

/* Raises `kind` from modifier `m` (NULL: the lifecycle); returns MS_ERR_RAISED. */
ms_status ms_raise_set(ms_hook_ctx *ctx, const ms_modifier *m, ms_raise_kind kind, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

/* Traced hook entry points: report the hook to the sink, then run the
 * type's hook or the base behaviour. Types call these to run their own hooks
 * (a calibration modifier's on_event starting it), so the trace sees them. */
ms_status ms_hook_initialize(ms_modifier *m, ms_hook_ctx *ctx, bool *result);
ms_status ms_hook_start(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev);
ms_status ms_hook_update(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev);
ms_status ms_hook_end(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev);
ms_status ms_hook_event(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev);
ms_status ms_hook_finalize(ms_modifier *m, ms_hook_ctx *ctx, bool *result);
ms_status ms_hook_calibration_start(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev);
ms_status ms_hook_sequential_epoch_end(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev);
ms_status ms_hook_calibration_end(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev);

/* upstream Modifier.initialize / update_event / finalize. */
ms_status ms_modifier_initialize(ms_modifier *m, ms_hook_ctx *ctx);
ms_status ms_modifier_update_event(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev);
ms_status ms_modifier_finalize(ms_modifier *m, ms_hook_ctx *ctx);

/* Formats a double as Python's repr(float) does ("2.0", "0.1", "1e-05"). */
void ms_py_float_repr(double v, char *buf, size_t cap);

/* The table whose hooks run `m` under its profile. */
const ms_modifier_type *ms_modifier_hooks(const ms_modifier *m);

/* The table of built-in types (modifier_types.c). */
extern const ms_modifier_type *const ms_builtin_types[];
extern const size_t ms_builtin_type_count;

#endif
