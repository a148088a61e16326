#include "sim.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/call.h"
#include "../util/array.h"

/* When each modifier's start and end are first reached, from the recipe. */
typedef struct reach {
    size_t start_call, end_call;
} reach;

/* The hooks of one call, as a collecting sink gathers them. */
typedef struct collector {
    ms_sim_hook *recs;
    size_t n, cap;
    size_t call;
    bool with_on_event;
    bool failed;
    unsigned char *flags; /* the live flags, kept by the FLAGS records; NULL: not kept */
    int changed;          /* the first modifier whose flags changed in the call, or -1 */
} collector;

typedef struct run {
    bool busy;
    ms_goal goal;
    size_t target;
    size_t start_pos;
    ms_sim_stop stop;
} run;

struct ms_sim {
    const ms_recipe *recipe;
    ms_upstream upstream;
    ms_call *calls;
    size_t n_calls;
    ms_lifecycle *live, *scratch;
    size_t n_mods;
    size_t pos, explored;
    unsigned char *flags; /* live flags per modifier */
    ms_raise last_raise;
    collector cur;      /* the hooks of the call being run on `live` */
    ms_sink live_sink;  /* collects the hooks of the call */
    ms_sink sinks[2];   /* the collector and the history, at the frontier */
    ms_fanout frontier; /* over `sinks` */
    ms_sink frontier_sink;
    ms_runner *runner; /* runs the calls on `live` */
    ms_run_log *log;   /* the history of the explored calls */
    reach *reach;
    unsigned char *snapshots;
    size_t snap_size, n_snaps, cap_snaps;
    size_t metric_stride, n_samples;
    ms_breakpoint bps[MS_SIM_MAX_BREAKPOINTS];
    size_t n_bps;
    run run;
};

static void collect_hook(void *user, const ms_record *rec)
{
    collector *c = user;
    if (rec->kind == MS_REC_FLAGS && c->flags) {
        c->flags[rec->modifier] = (unsigned char)rec->flags_after;
        if (c->changed < 0)
            c->changed = (int)rec->modifier;
    }
    if (rec->kind != MS_REC_HOOK)
        return;
    size_t modifier = rec->modifier;
    ms_hook hook = rec->hook;
    if (hook == MS_HOOK_ON_EVENT && !c->with_on_event)
        return;
    if (!ms_array_reserve(&c->recs, &c->cap, c->n, sizeof *c->recs)) {
        c->failed = true;
        return;
    }
    c->recs[c->n++] = (ms_sim_hook){.call = c->call, .modifier = (int)modifier, .hook = hook};
}

double ms_sim_call_index(const ms_sim *sim, size_t call)
{
    if (call >= sim->n_calls)
        return NAN;
    const ms_call *c = &sim->calls[call];
    if (c->kind != MS_CALL_EVENT && c->kind != MS_CALL_MODIFIER_UPDATE_EVENT)
        return NAN;
    return ms_event_current_index(&c->event);
}

/* Whether call `i` delivers an event of `type` to modifier `m`. */
static bool delivers(const ms_call *c, size_t m, ms_event_type type)
{
    return c->event.type == type &&
           ((c->kind == MS_CALL_EVENT && !c->narrowed) ||
            ((c->kind == MS_CALL_MODIFIER_UPDATE_EVENT || c->narrowed) && c->modifier == m));
}

static size_t first_reaching(const ms_sim *sim, size_t m, ms_opt_double bound, ms_event_type type)
{
    if (!bound.set)
        return SIZE_MAX;
    for (size_t i = 0; i < sim->n_calls; i++) {
        const ms_call *c = &sim->calls[i];
        /* initialize starts what is due at index 0 */
        if (type == MS_EV_BATCH_START && bound.value <= 0 &&
            (c->kind == MS_CALL_INITIALIZE ||
             (c->kind == MS_CALL_MODIFIER_INITIALIZE && c->modifier == m)))
            return i;
        if (delivers(c, m, type) && ms_event_current_index(&c->event) >= bound.value)
            return i;
    }
    return SIZE_MAX;
}

static void save_snapshot_at(ms_sim *sim, size_t k)
{
    ms_lifecycle_snapshot_save(sim->live, sim->snapshots + k * sim->snap_size);
}

ms_status ms_sim_new(const ms_recipe *recipe, const ms_call *calls, size_t n_calls, ms_sim **out,
                     ms_diag *diag)
{
    return ms_sim_new_as(recipe, MS_UPSTREAM_DEFAULT, calls, n_calls, out, diag);
}

void ms_sim_set_calibration_data(ms_sim *sim, bool given)
{
    ms_lifecycle_set_calibration_data(sim->live, given);
    ms_lifecycle_set_calibration_data(sim->scratch, given);
}

ms_upstream ms_sim_upstream(const ms_sim *sim)
{
    return sim->upstream;
}

ms_status ms_sim_new_as(const ms_recipe *recipe, ms_upstream upstream, const ms_call *calls,
                        size_t n_calls, ms_sim **out, ms_diag *diag)
{
    *out = NULL;
    size_t n_mods = ms_recipe_count(recipe);
    for (size_t i = 0; i < n_calls; i++)
        if (ms_call_is_direct(&calls[i]) && calls[i].modifier >= n_mods)
            return ms_diag_set(diag, MS_ERR_INVALID, "E-SIM", NULL, calls[i].line, calls[i].col,
                               "call %zu names modifier %zu; the recipe has %zu", i,
                               calls[i].modifier, n_mods);
    ms_sim *sim = calloc(1, sizeof *sim);
    if (!sim)
        return MS_ERR_NOMEM;
    sim->recipe = recipe;
    sim->upstream = upstream;
    sim->n_calls = n_calls;
    sim->n_mods = n_mods;
    sim->last_raise.modifier = -1;
    sim->metric_stride = n_calls / MS_SIM_METRIC_SAMPLES + 1;
    sim->n_samples = n_calls / sim->metric_stride + 1;
    ms_status st = MS_OK;
    sim->calls = malloc((n_calls ? n_calls : 1) * sizeof *calls);
    sim->flags = calloc(n_mods ? n_mods : 1, 1);
    sim->reach = calloc(n_mods ? n_mods : 1, sizeof *sim->reach);
    bool *has_metric = calloc(n_mods ? n_mods : 1, sizeof *has_metric);
    if (!sim->calls || !sim->flags || !sim->reach || !has_metric)
        st = MS_ERR_NOMEM;
    if (st == MS_OK) {
        memcpy(sim->calls, calls, n_calls * sizeof *calls);
        st = ms_recipe_build_lifecycle(recipe, &sim->live, diag);
    }
    if (st == MS_OK)
        st = ms_recipe_build_lifecycle(recipe, &sim->scratch, diag);
    if (st == MS_OK) {
        ms_lifecycle_set_upstream(sim->live, upstream);
        ms_lifecycle_set_upstream(sim->scratch, upstream);
    }
    for (size_t m = 0; st == MS_OK && m < n_mods; m++) {
        reach *h = &sim->reach[m];
        const ms_modifier *mod = ms_lifecycle_modifier_const(sim->live, m);
        double unused;
        bool has;
        has_metric[m] = ms_modifier_metric(mod, &unused, &has) != NULL;
        h->start_call = first_reaching(sim, m, ms_modifier_start(mod), MS_EV_BATCH_START);
        h->end_call = first_reaching(sim, m, ms_modifier_end(mod), MS_EV_BATCH_END);
    }
    if (st == MS_OK)
        st = ms_run_log_new(n_mods, has_metric, sim->metric_stride, sim->n_samples, &sim->log);
    free(has_metric);
    if (st == MS_OK) {
        sim->live_sink = (ms_sink){.emit = collect_hook, .user = &sim->cur, .skips_on_event = true};
        sim->sinks[0] = sim->live_sink;
        sim->sinks[1] = *ms_run_log_sink(sim->log);
        sim->frontier = (ms_fanout){sim->sinks, 2};
        sim->frontier_sink = ms_fanout_sink(&sim->frontier);
        st = ms_runner_new(sim->live, &sim->live_sink, &sim->runner);
    }
    if (st == MS_OK) {
        sim->snap_size = ms_lifecycle_snapshot_size(sim->live);
        sim->cap_snaps = 16;
        sim->snapshots = malloc(sim->cap_snaps * sim->snap_size);
        if (!sim->snapshots)
            st = MS_ERR_NOMEM;
    }
    if (st != MS_OK) {
        ms_sim_free(sim);
        return st;
    }
    save_snapshot_at(sim, 0);
    sim->n_snaps = 1;
    *out = sim;
    return MS_OK;
}

void ms_sim_free(ms_sim *sim)
{
    if (!sim)
        return;
    ms_runner_free(sim->runner);
    ms_run_log_free(sim->log);
    free(sim->reach);
    free(sim->snapshots);
    free(sim->cur.recs);
    free(sim->flags);
    free(sim->calls);
    ms_lifecycle_free(sim->live);
    ms_lifecycle_free(sim->scratch);
    free(sim);
}

size_t ms_sim_call_count(const ms_sim *sim)
{
    return sim->n_calls;
}

const ms_call *ms_sim_call(const ms_sim *sim, size_t i)
{
    return i < sim->n_calls ? &sim->calls[i] : NULL;
}

size_t ms_sim_modifier_count(const ms_sim *sim)
{
    return sim->n_mods;
}

const ms_modifier *ms_sim_modifier(const ms_sim *sim, size_t i)
{
    return ms_lifecycle_modifier_const(sim->live, i);
}

unsigned ms_sim_flags(const ms_sim *sim, size_t modifier)
{
    return modifier < sim->n_mods ? sim->flags[modifier] : 0;
}

size_t ms_sim_position(const ms_sim *sim)
{
    return sim->pos;
}

size_t ms_sim_explored(const ms_sim *sim)
{
    return sim->explored;
}

const ms_raise *ms_sim_last_raise(const ms_sim *sim)
{
    return &sim->last_raise;
}

void ms_sim_call_label(const ms_sim *sim, size_t call, char *buf, size_t cap)
{
    if (call >= sim->n_calls) {
        snprintf(buf, cap, "(end)");
        return;
    }
    const ms_call *c = &sim->calls[call];
    const char *ev = ms_event_type_name_in(c->event.type, sim->upstream);
    switch (c->kind) {
    case MS_CALL_INITIALIZE:
        snprintf(buf, cap, "initialize");
        break;
    case MS_CALL_FINALIZE:
        snprintf(buf, cap, "finalize");
        break;
    case MS_CALL_EVENT:
        if (c->narrowed)
            snprintf(buf, cap, "%s [m%zu only]", ev, c->modifier);
        else
            snprintf(buf, cap, "%s", ev);
        break;
    case MS_CALL_MODIFIER_INITIALIZE:
        snprintf(buf, cap, "m%zu.initialize", c->modifier);
        break;
    case MS_CALL_MODIFIER_UPDATE_EVENT:
        snprintf(buf, cap, "m%zu.%s", c->modifier, ev);
        break;
    case MS_CALL_MODIFIER_FINALIZE:
        snprintf(buf, cap, "m%zu.finalize", c->modifier);
        break;
    }
}

/* ---- breakpoints ---- */

static bool same_break(const ms_breakpoint *a, const ms_breakpoint *b)
{
    return a->modifier == b->modifier && a->hook == b->hook && a->has_index == b->has_index &&
           (!a->has_index || a->index == b->index);
}

ms_status ms_sim_break_add(ms_sim *sim, const ms_breakpoint *bp)
{
    if (bp->modifier < 0 && bp->hook < 0 && !bp->has_index)
        return MS_ERR_INVALID;
    if (bp->hook >= MS_HOOK_COUNT || bp->modifier >= (int)sim->n_mods ||
        (bp->has_index && isnan(bp->index)))
        return MS_ERR_INVALID;
    for (size_t i = 0; i < sim->n_bps; i++)
        if (same_break(&sim->bps[i], bp))
            return MS_OK;
    if (sim->n_bps == MS_SIM_MAX_BREAKPOINTS)
        return MS_ERR_LIMIT;
    sim->bps[sim->n_bps++] = *bp;
    return MS_OK;
}

bool ms_sim_break_remove(ms_sim *sim, const ms_breakpoint *bp)
{
    for (size_t i = 0; i < sim->n_bps; i++)
        if (same_break(&sim->bps[i], bp)) {
            memmove(&sim->bps[i], &sim->bps[i + 1], (sim->n_bps - i - 1) * sizeof *sim->bps);
            sim->n_bps--;
            return true;
        }
    return false;
}

size_t ms_sim_break_count(const ms_sim *sim)
{
    return sim->n_bps;
}

const ms_breakpoint *ms_sim_break_at(const ms_sim *sim, size_t i)
{
    return i < sim->n_bps ? &sim->bps[i] : NULL;
}

void ms_breakpoint_describe(const ms_breakpoint *bp, char *buf, size_t cap)
{
    char who[32] = "any modifier", idx[48] = "";
    if (bp->modifier >= 0)
        snprintf(who, sizeof who, "modifier %d", bp->modifier);
    if (bp->has_index)
        snprintf(idx, sizeof idx, "%sindex >= %g", bp->modifier >= 0 || bp->hook >= 0 ? ", " : "",
                 bp->index);
    if (bp->hook >= 0)
        snprintf(buf, cap, "%s %s%s", who, ms_hook_name((ms_hook)bp->hook), idx);
    else if (bp->modifier >= 0)
        snprintf(buf, cap, "%s changes state%s", who, idx);
    else
        snprintf(buf, cap, "%s", idx);
}

static bool take_snapshot(ms_sim *sim)
{
    size_t k = sim->pos / MS_SIM_SNAPSHOT_EVERY;
    if (k < sim->n_snaps)
        return true;
    if (sim->n_snaps == sim->cap_snaps) {
        unsigned char *p = realloc(sim->snapshots, sim->cap_snaps * 2 * sim->snap_size);
        if (!p)
            return false;
        sim->snapshots = p;
        sim->cap_snaps *= 2;
    }
    save_snapshot_at(sim, k);
    sim->n_snaps = k + 1;
    return true;
}

/* The result of running one call. */
typedef struct step_result {
    bool raised;
    int changed; /* first modifier whose flags changed, or -1 */
    bool ok;     /* history recorded */
} step_result;

static step_result step_one(ms_sim *sim)
{
    step_result res = {.changed = -1, .ok = true};
    size_t call = sim->pos;
    bool frontier = call == sim->explored;
    sim->cur.n = 0;
    sim->cur.call = call;
    sim->cur.failed = false;
    sim->cur.flags = sim->flags;
    sim->cur.changed = -1;
    ms_raise raised;
    /* the history hears only calls run for the first time */
    ms_runner_set_sink(sim->runner, frontier ? &sim->frontier_sink : &sim->live_sink);
    ms_status st = ms_runner_call(sim->runner, &sim->calls[call], call, &raised);
    res.raised = st == MS_ERR_RAISED;
    if (res.raised)
        sim->last_raise = raised;
    else {
        sim->last_raise.kind = MS_RAISE_NONE;
        sim->last_raise.modifier = -1;
        sim->last_raise.message[0] = '\0';
    }
    if (frontier)
        res.ok = !sim->cur.failed && ms_run_log_ok(sim->log);
    sim->pos++;
    res.changed = sim->cur.changed; /* sim->flags followed the call's FLAGS records */
    if (frontier) {
        sim->explored = sim->pos;
        if (res.ok && sim->pos % MS_SIM_SNAPSHOT_EVERY == 0)
            res.ok = take_snapshot(sim);
    }
    return res;
}

/* Puts `lc` at position `target` (<= explored) from the nearest snapshot at
 * least one call before it, so the call before `target` is re-run. Returns
 * the position the snapshot holds. */
static size_t restore_before(ms_sim *sim, ms_lifecycle *lc, size_t target)
{
    size_t k = target ? (target - 1) / MS_SIM_SNAPSHOT_EVERY : 0;
    if (k >= sim->n_snaps)
        k = sim->n_snaps - 1;
    ms_lifecycle_snapshot_restore(lc, sim->snapshots + k * sim->snap_size);
    return k * MS_SIM_SNAPSHOT_EVERY;
}

static void restore_live(ms_sim *sim, size_t target)
{
    sim->pos = restore_before(sim, sim->live, target);
    ms_runner_resync(sim->runner);
    for (size_t m = 0; m < sim->n_mods; m++)
        sim->flags[m] = (unsigned char)ms_record_flags(ms_lifecycle_modifier_const(sim->live, m));
    sim->last_raise.kind = MS_RAISE_NONE;
    sim->last_raise.modifier = -1;
    sim->last_raise.message[0] = '\0';
}

static bool is_step_boundary(const ms_call *c)
{
    if (c->kind != MS_CALL_EVENT && c->kind != MS_CALL_MODIFIER_UPDATE_EVENT)
        return true;
    return c->event.type == MS_EV_BATCH_END || c->event.type == MS_EV_SEQUENTIAL_EPOCH_END ||
           c->event.type == MS_EV_CALIBRATION_EPOCH_END;
}

static bool break_matches(const ms_sim *sim, const ms_breakpoint *bp, size_t call,
                          const step_result *res)
{
    if (bp->has_index) {
        double idx = ms_sim_call_index(sim, call);
        double prev = call ? ms_sim_call_index(sim, call - 1) : NAN;
        if (isnan(idx) || idx < bp->index || (!isnan(prev) && prev >= bp->index))
            return false;
    }
    if (bp->hook >= 0) {
        for (size_t i = 0; i < sim->cur.n; i++)
            if ((int)sim->cur.recs[i].hook == bp->hook &&
                (bp->modifier < 0 || sim->cur.recs[i].modifier == bp->modifier))
                return true;
        return false;
    }
    if (bp->modifier >= 0) {
        size_t m = (size_t)bp->modifier;
        bool changed = sim->flags[m] != ms_sim_flags_at(sim, m, call);
        return changed || (res->raised && sim->last_raise.modifier == bp->modifier);
    }
    return true;
}

void ms_sim_begin(ms_sim *sim, ms_goal goal, size_t target)
{
    run *r = &sim->run;
    memset(r, 0, sizeof *r);
    r->busy = true;
    r->goal = goal;
    r->stop = (ms_sim_stop){.reason = MS_STOP_RUNNING, .modifier = -1, .breakpoint = -1};
    if (goal == MS_GOAL_BACK || goal == MS_GOAL_RESTART) {
        target = goal == MS_GOAL_RESTART || sim->pos == 0 ? 0 : sim->pos - 1;
        r->goal = MS_GOAL_SEEK;
    }
    if (r->goal == MS_GOAL_SEEK) {
        if (target > sim->n_calls)
            target = sim->n_calls;
        if (target < sim->pos)
            restore_live(sim, target);
    }
    r->target = target;
    r->start_pos = sim->pos;
}

bool ms_sim_busy(const ms_sim *sim)
{
    return sim->run.busy;
}

static bool finish(ms_sim *sim, ms_stop_reason reason, ms_sim_stop *stop)
{
    sim->run.busy = false;
    sim->run.stop.reason = reason;
    if (stop)
        *stop = sim->run.stop;
    return true;
}

bool ms_sim_work(ms_sim *sim, size_t budget, ms_sim_stop *stop)
{
    run *r = &sim->run;
    if (!r->busy)
        return finish(sim, r->stop.reason == MS_STOP_RUNNING ? MS_STOP_REACHED : r->stop.reason,
                      stop);
    if (r->goal == MS_GOAL_SEEK && sim->pos >= r->target)
        return finish(sim, MS_STOP_REACHED, stop);
    if (sim->pos >= sim->n_calls)
        return finish(sim, MS_STOP_END, stop);
    for (size_t done = 0; done < budget; done++) {
        size_t call = sim->pos;
        step_result res = step_one(sim);
        if (res.raised)
            r->stop.errors++;
        if (!res.ok) {
            r->stop.status = MS_ERR_NOMEM;
            return finish(sim, MS_STOP_ERROR, stop);
        }
        switch (r->goal) {
        case MS_GOAL_EVENT:
            r->stop.modifier = res.raised ? sim->last_raise.modifier : res.changed;
            return finish(sim, MS_STOP_REACHED, stop);
        case MS_GOAL_STEP:
            if (is_step_boundary(&sim->calls[call]))
                return finish(sim, MS_STOP_REACHED, stop);
            break;
        case MS_GOAL_TRANSITION:
            if (res.raised) {
                r->stop.modifier = sim->last_raise.modifier;
                return finish(sim, MS_STOP_ERROR, stop);
            }
            if (res.changed >= 0) {
                r->stop.modifier = res.changed;
                return finish(sim, MS_STOP_TRANSITION, stop);
            }
            break;
        case MS_GOAL_BREAKPOINT:
            if (res.raised) {
                r->stop.modifier = sim->last_raise.modifier;
                return finish(sim, MS_STOP_ERROR, stop);
            }
            for (size_t i = 0; i < sim->n_bps; i++)
                if (break_matches(sim, &sim->bps[i], call, &res)) {
                    r->stop.breakpoint = (int)i;
                    r->stop.modifier = sim->bps[i].modifier;
                    return finish(sim, MS_STOP_BREAKPOINT, stop);
                }
            break;
        case MS_GOAL_SEEK:
            if (sim->pos >= r->target)
                return finish(sim, MS_STOP_REACHED, stop);
            break;
        default:
            break;
        }
        if (sim->pos >= sim->n_calls)
            return finish(sim, MS_STOP_END, stop);
    }
    return false;
}

void ms_sim_cancel(ms_sim *sim, ms_sim_stop *stop)
{
    if (sim->run.busy)
        finish(sim, MS_STOP_CANCELLED, stop);
    else if (stop)
        *stop = sim->run.stop;
}

void ms_sim_progress(const ms_sim *sim, size_t *done, size_t *total)
{
    const run *r = &sim->run;
    size_t end = r->goal == MS_GOAL_SEEK ? r->target : sim->n_calls;
    *done = sim->pos > r->start_pos ? sim->pos - r->start_pos : 0;
    *total = end > r->start_pos ? end - r->start_pos : 0;
}

ms_sim_stop ms_sim_run(ms_sim *sim, ms_goal goal, size_t target)
{
    ms_sim_stop stop;
    ms_sim_begin(sim, goal, target);
    while (!ms_sim_work(sim, SIZE_MAX, &stop))
        ;
    return stop;
}

unsigned ms_sim_flags_at(const ms_sim *sim, size_t modifier, size_t pos)
{
    return ms_run_log_flags_at(sim->log, modifier, pos);
}

const ms_sim_mark *ms_sim_marks(const ms_sim *sim, size_t modifier, size_t *n)
{
    return ms_run_log_marks(sim->log, modifier, n);
}

const ms_sim_span *ms_sim_updates(const ms_sim *sim, size_t modifier, size_t *n)
{
    return ms_run_log_updates(sim->log, modifier, n);
}

const ms_sim_error *ms_sim_error_at(const ms_sim *sim, size_t call)
{
    return ms_run_log_error_at(sim->log, call);
}

const char *ms_sim_metric_name(const ms_sim *sim, size_t modifier)
{
    double v;
    bool has;
    return modifier < sim->n_mods ? ms_modifier_metric(ms_sim_modifier(sim, modifier), &v, &has)
                                  : NULL;
}

bool ms_sim_metric_at(const ms_sim *sim, size_t modifier, size_t call, double *value)
{
    return call < sim->explored && ms_run_log_metric_at(sim->log, modifier, call, value);
}

size_t ms_sim_start_call(const ms_sim *sim, size_t modifier)
{
    return modifier < sim->n_mods ? sim->reach[modifier].start_call : SIZE_MAX;
}

size_t ms_sim_end_call(const ms_sim *sim, size_t modifier)
{
    return modifier < sim->n_mods ? sim->reach[modifier].end_call : SIZE_MAX;
}

/* ---- re-simulation on the scratch lifecycle ---- */

/* Puts the scratch lifecycle at position `target`, with nobody listening. */
static void scratch_seek(ms_sim *sim, size_t target)
{
    ms_lifecycle_set_sink(sim->scratch, NULL);
    size_t k = target / MS_SIM_SNAPSHOT_EVERY;
    if (k >= sim->n_snaps)
        k = sim->n_snaps - 1;
    ms_lifecycle_snapshot_restore(sim->scratch, sim->snapshots + k * sim->snap_size);
    ms_raise raised;
    for (size_t p = k * MS_SIM_SNAPSHOT_EVERY; p < target; p++)
        ms_call_run(&sim->calls[p], sim->scratch, &raised);
}

ms_status ms_sim_hooks(ms_sim *sim, size_t first, size_t last, bool with_on_event,
                       ms_sim_hook **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (last > sim->n_calls)
        last = sim->n_calls;
    if (first >= last)
        return MS_OK;
    scratch_seek(sim, first);
    collector c = {.with_on_event = with_on_event};
    ms_sink obs = {.emit = collect_hook, .user = &c};
    ms_lifecycle_set_sink(sim->scratch, &obs);
    for (size_t p = first; p < last && !c.failed; p++) {
        ms_raise raised;
        c.call = p;
        if (ms_call_run(&sim->calls[p], sim->scratch, &raised) == MS_ERR_RAISED &&
            ms_array_reserve(&c.recs, &c.cap, c.n, sizeof *c.recs))
            c.recs[c.n++] = (ms_sim_hook){p, raised.modifier, MS_HOOK_COUNT};
    }
    ms_lifecycle_set_sink(sim->scratch, NULL);
    if (c.failed) {
        free(c.recs);
        return MS_ERR_NOMEM;
    }
    *out = c.recs;
    *n = c.n;
    return MS_OK;
}

/* The rule for `call` on `m` in the scratch lifecycle's current state. */
static ms_rule explain_rule(const ms_sim *sim, size_t m, const ms_call *call, char *buf, size_t cap)
{
    const ms_modifier *mod = ms_lifecycle_modifier_const(sim->scratch, m);
    const ms_lifecycle *lc = sim->scratch;
    if (ms_call_is_direct(call) && call->modifier != m) {
        snprintf(buf, cap, "this call goes to modifier %zu alone", call->modifier);
        return MS_RULE_IDLE;
    }
    if (call->kind == MS_CALL_EVENT && call->narrowed && call->modifier != m) {
        snprintf(buf, cap,
                 "the independent pipeline narrows the lifecycle to modifier %zu for this pass: "
                 "this modifier does not see the event",
                 call->modifier);
        return MS_RULE_IDLE;
    }
    switch (call->kind) {
    case MS_CALL_INITIALIZE:
        if (ms_lifecycle_initialized(lc)) {
            snprintf(buf, cap, "the lifecycle is already initialized: initialize does nothing");
            return MS_RULE_IDLE;
        }
        return ms_modifier_explain_initialize(mod, buf, cap);
    case MS_CALL_MODIFIER_INITIALIZE:
        return ms_modifier_explain_initialize(mod, buf, cap);
    case MS_CALL_EVENT:
        if (!ms_lifecycle_initialized(lc) || ms_lifecycle_finalized(lc)) {
            snprintf(buf, cap, "the lifecycle refuses events %s",
                     ms_lifecycle_finalized(lc) ? "after finalize" : "before initialize");
            return MS_RULE_RAISES;
        }
        return ms_modifier_explain(mod, &call->event, buf, cap);
    case MS_CALL_MODIFIER_UPDATE_EVENT:
        return ms_modifier_explain(mod, &call->event, buf, cap);
    case MS_CALL_FINALIZE:
        if (!ms_lifecycle_initialized(lc) || ms_lifecycle_finalized(lc)) {
            snprintf(buf, cap, "the lifecycle refuses to finalize %s",
                     ms_lifecycle_finalized(lc) ? "twice" : "before initialize");
            return MS_RULE_RAISES;
        }
        return ms_modifier_explain_finalize(mod, buf, cap);
    case MS_CALL_MODIFIER_FINALIZE:
        return ms_modifier_explain_finalize(mod, buf, cap);
    }
    return MS_RULE_IDLE;
}

static void append(char *buf, size_t cap, const char *fmt, const char *a, const char *b)
{
    size_t len = strlen(buf);
    if (len < cap)
        snprintf(buf + len, cap - len, fmt, a, b);
}

ms_status ms_sim_explain(ms_sim *sim, size_t modifier, size_t call, ms_sim_explanation *out)
{
    memset(out, 0, sizeof *out);
    if (modifier >= sim->n_mods || call >= sim->n_calls)
        return MS_ERR_INVALID;
    scratch_seek(sim, call);
    const ms_modifier *mod = ms_lifecycle_modifier_const(sim->scratch, modifier);
    out->flags_before = ms_record_flags(mod);
    out->rule = explain_rule(sim, modifier, &sim->calls[call], out->text, sizeof out->text);

    collector c = {.call = call};
    ms_sink obs = {.emit = collect_hook, .user = &c};
    c.with_on_event = true;
    ms_lifecycle_set_sink(sim->scratch, &obs);
    ms_raise raised;
    ms_status st = ms_call_run(&sim->calls[call], sim->scratch, &raised);
    ms_lifecycle_set_sink(sim->scratch, NULL);
    out->flags_after = ms_record_flags(mod);
    out->reached = true;
    /* the hooks in the order they ran (each named once), as the trace and
     * the Stepper's log list them */
    const char *sep = " ";
    snprintf(out->outcome, sizeof out->outcome, "ran");
    for (size_t i = 0; i < c.n; i++) {
        if (c.recs[i].modifier != (int)modifier || (out->hooks & (1u << c.recs[i].hook)))
            continue;
        out->hooks |= 1u << c.recs[i].hook;
        append(out->outcome, sizeof out->outcome, "%s%s", sep, ms_hook_name(c.recs[i].hook));
        sep = ", ";
    }
    free(c.recs);
    if (c.failed)
        return MS_ERR_NOMEM;
    if (!out->hooks) {
        snprintf(out->outcome, sizeof out->outcome, "ran no hook");
    }
    if (st == MS_ERR_RAISED) {
        char who[48];
        if (raised.modifier < 0)
            snprintf(who, sizeof who, "the lifecycle");
        else if (raised.modifier == (int)modifier)
            snprintf(who, sizeof who, "it");
        else
            snprintf(who, sizeof who, "modifier %d", raised.modifier);
        out->reached = raised.modifier >= (int)modifier;
        if (raised.modifier < 0) {
            out->reached = false;
            out->rule = MS_RULE_RAISES;
        }
        size_t len = strlen(out->outcome);
        snprintf(out->outcome + len, sizeof out->outcome - len, "; %s raised %s: %s%s", who,
                 ms_raise_kind_name(raised.kind), raised.message,
                 out->reached ? "" : " (so this modifier was not reached)");
    }
    return MS_OK;
}
