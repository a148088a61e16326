#include "modifier_impl.h"

#include "../util/text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const hook_names[] = {
#define MS_HOOK_NAME(id, name) name,
    MS_HOOK_LIST(MS_HOOK_NAME)
#undef MS_HOOK_NAME
};

static const char *const raise_names[] = {
#define MS_RAISE_NAME(id, name) name,
    MS_RAISE_LIST(MS_RAISE_NAME)
#undef MS_RAISE_NAME
};

const char *ms_hook_name(ms_hook hook)
{
    return (unsigned)hook < MS_HOOK_COUNT ? hook_names[hook] : "unknown";
}

const char *ms_raise_kind_name(ms_raise_kind kind)
{
    return (size_t)kind < sizeof raise_names / sizeof raise_names[0] ? raise_names[kind] : "Error";
}

ms_status ms_raise_set(ms_hook_ctx *ctx, const ms_modifier *m, ms_raise_kind kind, const char *fmt,
                       ...)
{
    ms_raise *r = ctx->raised;
    r->kind = kind;
    r->modifier = m ? (int)m->position : -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    return MS_ERR_RAISED;
}

void ms_py_float_repr(double v, char *buf, size_t cap)
{
    if (isnan(v)) {
        snprintf(buf, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, cap, v < 0 ? "-inf" : "inf");
        return;
    }
    /* shortest precision that round-trips, as Python's repr */
    char tmp[64];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    int exp10 = atoi(strchr(tmp, 'e') + 1);
    if (exp10 < -4 || exp10 >= 16) {
        /* mantissa without trailing zeros, exponent with at least two digits */
        char mant[64];
        snprintf(mant, sizeof mant, "%.*s", (int)(strchr(tmp, 'e') - tmp), tmp);
        char *dot = strchr(mant, '.');
        if (dot) {
            char *e = mant + strlen(mant) - 1;
            while (e > dot && *e == '0')
                *e-- = '\0';
            if (e == dot)
                *e = '\0';
        }
        snprintf(buf, cap, "%se%c%02d", mant, exp10 < 0 ? '-' : '+', abs(exp10));
        return;
    }
    int decimals = prec - 1 - exp10;
    snprintf(buf, cap, "%.*f", decimals > 0 ? decimals : 0, v);
    if (!strchr(buf, '.'))
        strncat(buf, ".0", cap - strlen(buf) - 1);
}

/* ---- hooks, traced ---- */

static void report(ms_modifier *m, ms_hook_ctx *ctx, ms_hook hook, const ms_event *ev)
{
    if (ctx->sink && ctx->sink->emit && !(hook == MS_HOOK_ON_EVENT && ctx->sink->skips_on_event))
        ctx->sink->emit(ctx->sink->user, &(ms_record){.kind = MS_REC_HOOK,
                                                      .call = ctx->call,
                                                      .modifier = m->position,
                                                      .hook = hook,
                                                      .event = ev});
}

const ms_modifier_type *ms_modifier_hooks(const ms_modifier *m)
{
    return m->upstream == MS_UPSTREAM_0_13 && m->type->v013 ? m->type->v013 : m->type;
}

ms_status ms_hook_initialize(ms_modifier *m, ms_hook_ctx *ctx, bool *result)
{
    const ms_modifier_type *hooks = ms_modifier_hooks(m);
    report(m, ctx, MS_HOOK_ON_INITIALIZE, NULL);
    *result = true;
    return hooks->on_initialize ? hooks->on_initialize(m, ctx, result) : MS_OK;
}

ms_status ms_hook_finalize(ms_modifier *m, ms_hook_ctx *ctx, bool *result)
{
    const ms_modifier_type *hooks = ms_modifier_hooks(m);
    report(m, ctx, MS_HOOK_ON_FINALIZE, NULL);
    *result = true;
    return hooks->on_finalize ? hooks->on_finalize(m, ctx, result) : MS_OK;
}

#define TRACED_EVENT_HOOK(fn, field, hook)                                                         \
    ms_status fn(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)                             \
    {                                                                                              \
        const ms_modifier_type *hooks = ms_modifier_hooks(m);                                      \
        report(m, ctx, hook, ev);                                                                  \
        return hooks->field ? hooks->field(m, ctx, ev) : MS_OK;                                    \
    }
TRACED_EVENT_HOOK(ms_hook_start, on_start, MS_HOOK_ON_START)
TRACED_EVENT_HOOK(ms_hook_update, on_update, MS_HOOK_ON_UPDATE)
TRACED_EVENT_HOOK(ms_hook_end, on_end, MS_HOOK_ON_END)
TRACED_EVENT_HOOK(ms_hook_event, on_event, MS_HOOK_ON_EVENT)
TRACED_EVENT_HOOK(ms_hook_calibration_start, on_calibration_start, MS_HOOK_ON_CALIBRATION_START)
TRACED_EVENT_HOOK(ms_hook_sequential_epoch_end, on_sequential_epoch_end,
                  MS_HOOK_ON_SEQUENTIAL_EPOCH_END)
TRACED_EVENT_HOOK(ms_hook_calibration_end, on_calibration_end, MS_HOOK_ON_CALIBRATION_END)
#undef TRACED_EVENT_HOOK

/* ---- the base class rules ---- */

bool ms_modifier_should_start(const ms_modifier *m, const ms_event *ev)
{
    if (!m->start.set)
        return false;
    double current = ms_event_current_index(ev);
    return m->start.value <= current && (!m->end.set || current < m->end.value);
}

bool ms_modifier_should_end(const ms_modifier *m, const ms_event *ev)
{
    return m->end.set && ms_event_current_index(ev) >= m->end.value;
}

ms_status ms_modifier_initialize(ms_modifier *m, ms_hook_ctx *ctx)
{
    if (m->initialized)
        return ms_raise_set(ctx, m, MS_RAISE_RUNTIME_ERROR,
                            "Cannot initialize a modifier that has already been initialized");
    if (m->finalized)
        return ms_raise_set(ctx, m, MS_RAISE_RUNTIME_ERROR,
                            "Cannot initialize a modifier that has already been finalized");
    bool result;
    ms_status st = ms_hook_initialize(m, ctx, &result);
    if (st != MS_OK)
        return st;
    m->initialized = result;

    /* upstream starts modifiers due at index 0 with a fake batch_start, without on_update */
    ms_event start_event = ms_event_plain(MS_EV_BATCH_START);
    if (ms_modifier_should_start(m, &start_event)) {
        st = ms_hook_start(m, ctx, &start_event);
        if (st != MS_OK)
            return st;
        m->started = true;
    }
    return MS_OK;
}

ms_status ms_modifier_finalize(ms_modifier *m, ms_hook_ctx *ctx)
{
    if (m->finalized)
        return ms_raise_set(ctx, m, MS_RAISE_RUNTIME_ERROR, "cannot finalize a modifier twice");
    if (!m->initialized)
        return ms_raise_set(ctx, m, MS_RAISE_RUNTIME_ERROR,
                            "cannot finalize an uninitialized modifier");
    bool result;
    ms_status st = ms_hook_finalize(m, ctx, &result);
    if (st != MS_OK)
        return st;
    m->finalized = result;
    return MS_OK;
}

/* At 0.13, the class whose on_sequential_epoch_end `ev` cannot be passed to
 * because it takes a required `modules` the event does not carry; NULL when
 * the call goes through. */
static const char *sequential_refused_by(const ms_modifier *m, const ms_event *ev)
{
    const ms_modifier_type *hooks = ms_modifier_hooks(m);
    if (ev->has_modules || hooks->sequential_without_modules)
        return NULL;
    return hooks->sequential_owner ? hooks->sequential_owner : "Modifier";
}

/* 0.13's base update_event, after on_event (upstream ab1ba3eff
 * modifiers/modifier.py:136-150): each calibration event runs its hook and
 * returns, for every type, with no should_start check and no on_update.
 * True when `ev` is one of them; `*st` is then the result. */
static bool calibration_rules_v013(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev,
                                   ms_status *st)
{
    const char *refused_by;
    switch (ev->type) {
    case MS_EV_CALIBRATION_EPOCH_START:
        if ((*st = ms_hook_calibration_start(m, ctx, ev)) == MS_OK)
            m->started = true;
        return true;
    case MS_EV_SEQUENTIAL_EPOCH_END:
        /* Python refuses the call before the hook runs, so no hook is reported */
        if ((refused_by = sequential_refused_by(m, ev)))
            *st = ms_raise_set(ctx, m, MS_RAISE_TYPE_ERROR,
                               "%s.on_sequential_epoch_end() missing 1 required positional "
                               "argument: 'modules'",
                               refused_by);
        else
            *st = ms_hook_sequential_epoch_end(m, ctx, ev);
        return true;
    case MS_EV_CALIBRATION_EPOCH_END:
        if ((*st = ms_hook_calibration_end(m, ctx, ev)) == MS_OK)
            m->ended = true;
        return true;
    default:
        return false;
    }
}

ms_status ms_modifier_update_event(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    if (!m->initialized)
        return ms_raise_set(ctx, m, MS_RAISE_RUNTIME_ERROR,
                            "Cannot update an uninitialized modifier");
    if (m->finalized)
        return ms_raise_set(ctx, m, MS_RAISE_RUNTIME_ERROR, "Cannot update a finalized modifier");

    ms_status st = ms_hook_event(m, ctx, ev);
    if (st != MS_OK)
        return st;

    if (m->upstream == MS_UPSTREAM_0_13 && calibration_rules_v013(m, ctx, ev, &st))
        return st;

    if (ev->type == MS_EV_BATCH_START && !m->started && ms_modifier_should_start(m, ev)) {
        if ((st = ms_hook_start(m, ctx, ev)) != MS_OK)
            return st;
        m->started = true;
        return ms_hook_update(m, ctx, ev);
    }
    /* a modifier may end here without ever having started */
    if (ev->type == MS_EV_BATCH_END && !m->ended && ms_modifier_should_end(m, ev)) {
        if ((st = ms_hook_end(m, ctx, ev)) != MS_OK)
            return st;
        m->ended = true;
        return ms_hook_update(m, ctx, ev);
    }
    if (m->started && !m->ended)
        return ms_hook_update(m, ctx, ev);
    return MS_OK;
}

/* ---- the rules, explained ---- */

static const char *const rule_names[] = {
#define MS_RULE_NAME(id, name) name,
    MS_RULE_LIST(MS_RULE_NAME)
#undef MS_RULE_NAME
};

const char *ms_rule_name(ms_rule rule)
{
    return (size_t)rule < sizeof rule_names / sizeof rule_names[0] ? rule_names[rule] : "";
}

/* "2" or "None", as the rule texts show bounds */
static const char *bound_text(ms_opt_double v, char *buf, size_t cap)
{
    if (!v.set)
        return "None";
    snprintf(buf, cap, "%g", v.value);
    return buf;
}

/* Why should_start is false at `index`; the caller knows it is. */
static void no_start_reason(const ms_modifier *m, double index, char *buf, size_t cap)
{
    char a[32], b[32];
    if (!m->start.set)
        /* only the training rule reads start: calibration events start
         * calibration types at 0.12 and every type at 0.13 */
        snprintf(buf, cap, "start is None, so batch_start never starts it%s",
                 m->upstream == MS_UPSTREAM_0_13 ? " (calibration_start does, in a calibration run)"
                 : m->type->drive == MS_DRIVE_CALIBRATION
                     ? " (calibration_epoch_start does, in a calibration run)"
                     : "");
    else if (m->start.value > index)
        snprintf(buf, cap, "start %s > index %g", bound_text(m->start, a, sizeof a), index);
    else
        snprintf(buf, cap, "index %g >= end %s", index, bound_text(m->end, b, sizeof b));
}

/* 0.13's calibration events, which the base class handles before the
 * training rules; false for other events. */
static bool explain_calibration_v013(const ms_modifier *m, const ms_event *ev, char *buf,
                                     size_t cap, ms_rule *rule)
{
    const char *refused_by;
    switch (ev->type) {
    case MS_EV_CALIBRATION_EPOCH_START:
        if (m->started) {
            snprintf(buf, cap,
                     "already started: on_calibration_start runs again (the base "
                     "class checks no flag), no on_update");
            *rule = MS_RULE_IDLE;
        } else {
            snprintf(buf, cap,
                     "started by calibration_start -> on_calibration_start, with no "
                     "start check and no on_update (every type at 0.13)");
            *rule = MS_RULE_START;
        }
        return true;
    case MS_EV_SEQUENTIAL_EPOCH_END:
        if ((refused_by = sequential_refused_by(m, ev))) {
            snprintf(buf, cap,
                     "raises TypeError: %s.on_sequential_epoch_end() requires 'modules' and "
                     "the event carries none",
                     refused_by);
            *rule = MS_RULE_RAISES;
        } else {
            snprintf(buf, cap, "on_sequential_epoch_end; flags unchanged, no on_update");
            *rule = MS_RULE_IDLE;
        }
        return true;
    case MS_EV_CALIBRATION_EPOCH_END:
        if (m->ended) {
            snprintf(buf, cap,
                     "already ended: on_calibration_end runs again (the base class "
                     "checks no flag), no on_update");
            *rule = MS_RULE_IDLE;
        } else {
            snprintf(buf, cap, "%s by calibration_end -> on_calibration_end, no on_update",
                     m->started ? "ended" : "ended without starting");
            *rule = m->started ? MS_RULE_END : MS_RULE_END_UNSTARTED;
        }
        return true;
    default:
        return false;
    }
}

ms_rule ms_modifier_explain(const ms_modifier *m, const ms_event *ev, char *buf, size_t cap)
{
    char a[32], b[32], why[160], pre[128] = "";
    double index = ms_event_current_index(ev);
    const char *name = ms_event_type_name(ev->type);
    if (!m->initialized) {
        snprintf(buf, cap, "raises RuntimeError: update_event before initialize");
        return MS_RULE_RAISES;
    }
    if (m->finalized) {
        snprintf(buf, cap, "raises RuntimeError: update_event after finalize");
        return MS_RULE_RAISES;
    }
    bool v013 = m->upstream == MS_UPSTREAM_0_13;
    ms_rule rule;
    if (v013 && explain_calibration_v013(m, ev, buf, cap, &rule))
        return rule;
    bool started = m->started, ended = m->ended;
    /* at 0.12 calibration types start and end themselves from on_event, before the base rules */
    if (!v013 && m->type->drive == MS_DRIVE_CALIBRATION) {
        if (ev->type == MS_EV_CALIBRATION_EPOCH_START && !started) {
            snprintf(pre, sizeof pre, "on_event starts it on calibration_epoch_start; ");
            started = true;
        } else if (ev->type == MS_EV_CALIBRATION_EPOCH_END && !ended) {
            snprintf(pre, sizeof pre, "on_event ends it on calibration_epoch_end; ");
            ended = true;
        }
    }
    if (ev->type == MS_EV_BATCH_START && !started) {
        if (ms_modifier_should_start(m, ev)) {
            snprintf(buf, cap,
                     "%sstarted: start %s <= index %g < end %s on batch_start "
                     "-> on_start, on_update",
                     pre, bound_text(m->start, a, sizeof a), index,
                     bound_text(m->end, b, sizeof b));
            return MS_RULE_START;
        }
        no_start_reason(m, index, why, sizeof why);
        snprintf(buf, cap, "%sdid not start: %s", pre, why);
        return MS_RULE_NO_START;
    }
    if (ev->type == MS_EV_BATCH_END && !ended) {
        if (ms_modifier_should_end(m, ev)) {
            snprintf(buf, cap, "%s%s: index %g >= end %s on batch_end -> on_end, on_update", pre,
                     started ? "ended" : "ended without starting", index,
                     bound_text(m->end, b, sizeof b));
            return started ? MS_RULE_END : MS_RULE_END_UNSTARTED;
        }
        if (!m->end.set)
            snprintf(why, sizeof why, "end is None");
        else
            snprintf(why, sizeof why, "end %s > index %g", bound_text(m->end, b, sizeof b), index);
        if (started) {
            snprintf(buf, cap, "%sdid not end (%s); active -> on_update", pre, why);
            return MS_RULE_UPDATE;
        }
        snprintf(buf, cap, "%sdid not end (%s); not started, no update", pre, why);
        return MS_RULE_IDLE;
    }
    if (started && !ended) {
        snprintf(buf, cap, "%sactive (started, not ended) -> on_update on %s", pre, name);
        return m->started ? MS_RULE_UPDATE : MS_RULE_START;
    }
    if (ended) {
        if (m->ended)
            snprintf(buf, cap, "already ended: after its end a modifier runs only on_event");
        else
            /* only 0.12's calibration on_event ends a modifier here: `pre` says so */
            snprintf(buf, cap, "%.*s -> on_end; no on_update after the end",
                     (int)(strlen(pre) > 2 ? strlen(pre) - 2 : 0), pre);
        return m->ended ? MS_RULE_IDLE : (started ? MS_RULE_END : MS_RULE_END_UNSTARTED);
    }
    if (v013)
        snprintf(buf, cap,
                 "not started: only batch_start (when due) or calibration_start starts a "
                 "modifier; %s does not",
                 name);
    else if (m->type->drive == MS_DRIVE_CALIBRATION)
        snprintf(buf, cap, "not started: calibration_epoch_start starts it; %s does not", name);
    else
        snprintf(buf, cap, "not started: only batch_start starts a modifier; %s does not", name);
    return MS_RULE_IDLE;
}

ms_rule ms_modifier_explain_initialize(const ms_modifier *m, char *buf, size_t cap)
{
    char why[160];
    if (m->initialized || m->finalized) {
        snprintf(buf, cap, "raises RuntimeError: already %s",
                 m->initialized ? "initialized" : "finalized");
        return MS_RULE_RAISES;
    }
    ms_event start_event = ms_event_plain(MS_EV_BATCH_START);
    if (ms_modifier_should_start(m, &start_event)) {
        char a[32];
        snprintf(buf, cap,
                 "on_initialize, then started at once: start %s <= index 0 "
                 "(upstream's fake batch_start) -> on_start without on_update",
                 bound_text(m->start, a, sizeof a));
        return MS_RULE_INITIALIZE_START;
    }
    no_start_reason(m, 0, why, sizeof why);
    snprintf(buf, cap, "on_initialize; not started at initialize: %s", why);
    return MS_RULE_INITIALIZE;
}

ms_rule ms_modifier_explain_finalize(const ms_modifier *m, char *buf, size_t cap)
{
    if (m->finalized) {
        snprintf(buf, cap, "raises RuntimeError: finalize twice");
        return MS_RULE_RAISES;
    }
    if (!m->initialized) {
        snprintf(buf, cap, "raises RuntimeError: finalize before initialize");
        return MS_RULE_RAISES;
    }
    /* at 0.13 the calibration types with an on_finalize of their own still
     * call on_end when not ended, which is the base no-op there */
    if (m->upstream == MS_UPSTREAM_0_13 && m->type->drive == MS_DRIVE_CALIBRATION && !m->ended &&
        ms_modifier_hooks(m)->on_finalize)
        snprintf(buf, cap,
                 "on_finalize; not ended, so it calls on_end, the base no-op at 0.13: it "
                 "stays not ended");
    else if (m->upstream == MS_UPSTREAM_0_12 && m->type->drive == MS_DRIVE_CALIBRATION && !m->ended)
        snprintf(buf, cap, "on_finalize; still running, so it ends there -> on_end");
    else
        snprintf(buf, cap, "on_finalize");
    return MS_RULE_FINALIZE;
}

/* ---- construction and accessors ---- */

/* As pydantic reads `int | None` or `float | None`: "1" counts as 1, as
 * upstream loads it (validate warns about the quotes). */
static ms_status read_opt_number(const ms_node *args, const char *field, bool integer,
                                 const char *file, ms_opt_double *out, ms_diag *diag)
{
    const ms_node *v = ms_node_get(args, field);
    *out = MS_NONE;
    if (!v || ms_node_is_null(v))
        return MS_OK;
    double d;
    if (!ms_node_as_pydantic_number(v, integer, &d))
        return ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE", file, v->line, v->col,
                           "field '%s' must be %s or null, not %s '%s'", field,
                           integer ? "an integer" : "a number", ms_node_type_name(v),
                           v->value ? v->value : "");
    *out = MS_SOME(d);
    return MS_OK;
}

ms_status ms_modifier_new(const ms_modifier_type *type, const ms_node *args, const char *group,
                          const char *file, ms_modifier **out, ms_diag *diag)
{
    *out = NULL;
    if (args && args->kind != MS_NODE_MAP && !ms_node_is_null(args))
        return ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE", file, args->line, args->col,
                           "the arguments of %s must be a map, not a %s", type->name,
                           ms_node_type_name(args));
    ms_modifier *m = calloc(1, sizeof *m);
    if (!m)
        return MS_ERR_NOMEM;
    m->type = type;
    ms_status st = MS_OK;
    const char *fields[] = {"index", "start", "end", "update"};
    ms_opt_double *slots[] = {&m->index, &m->start, &m->end, &m->update};
    for (size_t i = 0; i < 4 && st == MS_OK; i++)
        st = read_opt_number(args, fields[i], i == 0, file, slots[i], diag);
    /* upstream's Modifier declares its state as fields a recipe may set */
    const char *state[] = {"initialized_", "started_", "ended_", "finalized_"};
    for (size_t i = 0; i < 4; i++) {
        const ms_node *v = ms_node_get(args, state[i]);
        bool b = false;
        m->preset[i] = v && (ms_node_as_bool(v, &b) || ms_node_lax_bool(v, &b)) && b;
    }
    ms_modifier_reset(m);
    const ms_node *g = ms_node_get(args, "group");
    if (st == MS_OK && g && !ms_node_is_null(g)) {
        if (g->kind != MS_NODE_SCALAR)
            st = ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE", file, g->line, g->col,
                             "field 'group' must be a string, not a %s", ms_node_type_name(g));
        else
            group = g->value;
    }
    if (st == MS_OK) {
        m->group = strdup(group ? group : "");
        m->config = type->config_size ? calloc(1, type->config_size) : NULL;
        m->state = type->state_size ? calloc(1, type->state_size) : NULL;
        if (!m->group || (type->config_size && !m->config) || (type->state_size && !m->state))
            st = MS_ERR_NOMEM;
    }
    if (st == MS_OK && type->configure)
        st = type->configure(m, args, file, diag);
    if (st != MS_OK) {
        ms_modifier_free(m);
        return st;
    }
    *out = m;
    return MS_OK;
}

void ms_modifier_free(ms_modifier *m)
{
    if (!m)
        return;
    if (m->config && m->type->free_config)
        m->type->free_config(m->config);
    free(m->config);
    free(m->state);
    free(m->group);
    free(m);
}

void ms_modifier_reset(ms_modifier *m)
{
    m->initialized = m->preset[0];
    m->started = m->preset[1];
    m->ended = m->preset[2];
    m->finalized = m->preset[3];
    if (m->state)
        memset(m->state, 0, m->type->state_size);
}

const ms_modifier_type *ms_modifier_type_of(const ms_modifier *m)
{
    return m->type;
}
const char *ms_modifier_group(const ms_modifier *m)
{
    return m->group;
}
ms_opt_double ms_modifier_start(const ms_modifier *m)
{
    return m->start;
}
ms_opt_double ms_modifier_end(const ms_modifier *m)
{
    return m->end;
}
ms_opt_double ms_modifier_update(const ms_modifier *m)
{
    return m->update;
}
bool ms_modifier_initialized(const ms_modifier *m)
{
    return m->initialized;
}
bool ms_modifier_started(const ms_modifier *m)
{
    return m->started;
}
bool ms_modifier_ended(const ms_modifier *m)
{
    return m->ended;
}
bool ms_modifier_finalized(const ms_modifier *m)
{
    return m->finalized;
}
ms_upstream ms_modifier_upstream(const ms_modifier *m)
{
    return m->upstream;
}

const char *ms_modifier_metric(const ms_modifier *m, double *value, bool *has_value)
{
    if (!m->type->metric_name)
        return NULL;
    *has_value = m->type->metric(m, value);
    return m->type->metric_name;
}

const ms_modifier_type *ms_modifier_type_find(const char *name)
{
    for (size_t i = 0; i < ms_builtin_type_count; i++)
        if (strcmp(ms_builtin_types[i]->name, name) == 0)
            return ms_builtin_types[i];
    return NULL;
}

const char *ms_modifier_type_name(const ms_modifier_type *type)
{
    return type->name;
}

bool ms_modifier_type_requires_calibration(const ms_modifier_type *type, ms_upstream profile,
                                           const ms_node *args)
{
    /* at 0.13 requires_calibration_data is a pydantic field (modifier.py:44) a
     * recipe may set; QuantizationMixin's validator keeps a True and
     * recomputes a False (mixin.py:299-301) */
    const ms_node *given =
        profile == MS_UPSTREAM_0_13 ? ms_node_get(args, "requires_calibration_data") : NULL;
    bool value;
    bool has_value = given && (ms_node_as_bool(given, &value) || ms_node_lax_bool(given, &value));
    if (type->requires_calibration)
        return (has_value && value) || type->requires_calibration(profile, args);
    if (profile == MS_UPSTREAM_0_13)
        return has_value ? value : type->requires_calibration_data;
    /* 715e1166c~1 pipelines/registry.py _infer_pipeline decides by class name */
    static const char *const listed[] = {
        "SmoothQuantModifier", "WandaPruningModifier", "SparseGPTModifier", "GPTQModifier",
        "AWQModifier",         "AutoRoundModifier",    "IMatrixGatherer"};
    for (size_t i = 0; i < sizeof listed / sizeof listed[0]; i++)
        if (!strcmp(type->name, listed[i]))
            return true;
    return false;
}

ms_drive ms_modifier_type_drive(const ms_modifier_type *type)
{
    return type->drive;
}

const char *ms_modifier_type_nearest(const char *name)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < ms_builtin_type_count; i++) {
        size_t d = ms_edit_distance(name, ms_builtin_types[i]->name);
        if (d < best_d) {
            best_d = d;
            best = ms_builtin_types[i]->name;
        }
    }
    return best;
}
