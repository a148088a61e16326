/* The application: what is open, the session, the jobs that run it (on the
 * worker thread), and key dispatch (key → command → the view's handler,
 * then the global one). */
#include "app.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "draw.h"
#include "recipe/lint.h"

static const view_ops *const views[] = {
#define VIEW_PTR(id, ops, name, key, help) &ops,
    VIEW_LIST(VIEW_PTR)
#undef VIEW_PTR
};
static const char *const view_names[] = {
#define VIEW_NAME(id, ops, name, key, help) name,
    VIEW_LIST(VIEW_NAME)
#undef VIEW_NAME
};
static const ms_scope view_scopes[] = {
#define VIEW_SCOPE(id, ops, name, key, help) MS_SCOPE_##id,
    VIEW_LIST(VIEW_SCOPE)
#undef VIEW_SCOPE
};
static const ms_cmd view_cmds[] = {
#define VIEW_CMD(id, ops, name, key, help) MS_CMD_VIEW_##id,
    VIEW_LIST(VIEW_CMD)
#undef VIEW_CMD
};

/* Tells every screen what happened to the session. */
static void notify(app *a, ui_change what)
{
    for (int v = 0; v < VIEW_COUNT; v++)
        if (views[v]->changed && a->state[v])
            views[v]->changed(a, a->state[v], what);
}

static void job_finished(app *a);

/* The session back from the worker, finishing the job when it had. */
static void take_back(app *a)
{
    if (ui_worker_take(&a->worker))
        job_finished(a);
}

enum { MAX_FILE_BYTES = 64 * 1024 * 1024 };

void app_message(app *a, bool error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->message, sizeof a->message, fmt, ap);
    va_end(ap);
    a->message_error = error;
    a->dirty |= DIRTY_MSG;
}

const char *app_modifier_type(const app *a, size_t m)
{
    const ms_recipe_entry *e = a->rec ? ms_recipe_entry_at(a->rec, m) : NULL;
    return e ? e->type_key->value : "";
}

void app_select(app *a, size_t m)
{
    size_t n = a->sim ? ms_sim_modifier_count(a->sim) : 0;
    a->selected = n == 0 ? 0 : m >= n ? n - 1 : m;
    a->dirty |= DIRTY_BODY;
}

/* ---- opening ---- */

/* The source line a diagnostic points at, so the Schedule can show it. */
static void load_diag_line(app *a)
{
    a->diag_line[0] = '\0';
    if (!a->load_diag.file[0] || a->load_diag.line <= 0)
        return;
    FILE *f = fopen(a->load_diag.file, "r");
    if (!f)
        return;
    char line[sizeof a->diag_line];
    for (int n = 1; fgets(line, sizeof line, f); n++)
        if (n == a->load_diag.line) {
            line[strcspn(line, "\r\n")] = '\0';
            snprintf(a->diag_line, sizeof a->diag_line, "%s", line);
            break;
        }
    fclose(f);
}

/* The Schedule shows one diagnostic of a load that failed: its first error
 * (or the only diagnostic there is); frees `diags`. */
static void keep_first_error(app *a, ms_status st, ms_diag_list *diags)
{
    if (st != MS_OK && ms_lint_first_error(diags, &a->load_diag) == MS_OK && diags->count)
        a->load_diag = diags->items[0];
    ms_diag_list_free(diags);
}

static void fail_load(app *a, ms_status st)
{
    if (!a->load_diag.message[0])
        ms_diag_set(&a->load_diag, st, "E-LOAD", a->source, 0, 0, "%s", ms_status_str(st));
    a->load_failed = true;
    load_diag_line(a);
}

static void start_explore(app *a)
{
    if (!a->sim || ms_sim_explored(a->sim) >= ms_sim_call_count(a->sim))
        return;
    a->explore_return = ms_sim_position(a->sim);
    ms_sim_begin(a->sim, MS_GOAL_END, 0);
    a->job = JOB_EXPLORE;
}

/* After a rebuild the new session goes to the call the old one was at, so an
 * edit never sends the user back to call 0; kept_note says where and which
 * modifiers' state there differs from before the edit. */
static void keep_position(app *a, ms_sim *old, ms_sim *sim)
{
    a->kept_note[0] = '\0';
    size_t pos = old ? ms_sim_position(old) : 0;
    if (!pos)
        return;
    size_t n = ms_sim_call_count(sim);
    size_t target = pos < n ? pos : n;
    ms_sim_run(sim, MS_GOAL_SEEK, target);
    int len = snprintf(a->kept_note, sizeof a->kept_note, "kept call %zu/%zu (re-simulated)",
                       ms_sim_position(sim), n);
    if (target < pos)
        len += snprintf(a->kept_note + len, sizeof a->kept_note - (size_t)len,
                        ", the last: the run now has fewer calls");
    size_t mods = ms_sim_modifier_count(sim), old_mods = ms_sim_modifier_count(old), moved = 0;
    for (size_t m = 0; m < mods && m < old_mods; m++) {
        unsigned now = ms_sim_flags(sim, m), was = ms_sim_flags(old, m);
        if (now == was)
            continue;
        if (++moved > 2)
            continue;
        char now_text[64], was_text[64];
        ui_flags_text(now, now_text, sizeof now_text);
        ui_flags_text(was, was_text, sizeof was_text);
        if ((size_t)len < sizeof a->kept_note)
            len +=
                snprintf(a->kept_note + len, sizeof a->kept_note - (size_t)len,
                         "; %zu %s now %s, was %s", m, app_modifier_type(a, m), now_text, was_text);
    }
    if ((size_t)len < sizeof a->kept_note && moved > 2)
        snprintf(a->kept_note + len, sizeof a->kept_note - (size_t)len, "; %zu more moved",
                 moved - 2);
    else if ((size_t)len < sizeof a->kept_note && !moved && mods == old_mods)
        snprintf(a->kept_note + len, sizeof a->kept_note - (size_t)len,
                 "; no modifier's state differs there");
}

/* Makes `sim` the session; keeps breakpoints that still apply and the
 * position. */
static void install_sim(app *a, ms_sim *sim)
{
    ui_worker_take(&a->worker); /* the old session's job ends with it */
    ms_sim *old = a->sim;
    for (size_t i = 0; old && i < ms_sim_break_count(old); i++)
        ms_sim_break_add(sim, ms_sim_break_at(old, i));
    keep_position(a, old, sim);
    ms_sim_free(old);
    a->sim = sim;
    a->job = JOB_NONE;
    size_t pos = ms_sim_position(sim);
    a->call_sel = pos ? pos - 1 : 0;
    a->call_follows = true;
    notify(a, UI_SESSION_NEW);
    app_select(a, a->selected);
    start_explore(a);
    a->dirty = DIRTY_ALL;
    app_model_session(a);
    app_record_session(a);
}

/* A new session over the recipe in use. */
static void build_sim(app *a, const ms_call *calls, size_t n)
{
    ms_sim *sim = NULL;
    ms_diag_clear(&a->load_diag);
    ms_upstream upstream = a->scenario ? ms_scenario_upstream(a->scenario) : a->cfg.upstream;
    ms_status st = ms_sim_new_as(a->rec, upstream, calls, n, &sim, &a->load_diag);
    if (st != MS_OK) {
        fail_load(a, st);
        return;
    }
    ms_sim_set_calibration_data(sim, a->scenario ? ms_scenario_calibration_data(a->scenario)
                                                 : ms_pipeline_has_calibration_data(&a->cfg));
    install_sim(a, sim);
}

void app_rebuild(app *a)
{
    if (!a->rec || a->fixed_calls)
        return;
    if (!a->sim && a->sim_stale) {
        app_message(a, true, "not simulated: the recipe has errors (1: Schedule, E lists them)");
        return;
    }
    ms_call *calls;
    size_t n;
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_status st = ms_pipeline_generate(&a->cfg, a->rec, &calls, &n, &diag);
    if (st != MS_OK) {
        app_message(a, true, "%s", diag.message[0] ? diag.message : ms_status_str(st));
        return;
    }
    if (a->draft) {
        /* the Schedule's warnings speak of the run on screen, its release's types */
        ms_lint_run run = ms_pipeline_lint_run(&a->cfg);
        if (ms_schema_set_upstream(a->schema, ms_upstream_name(a->cfg.upstream)) != MS_OK ||
            ms_draft_set_run(a->draft, &run) != MS_OK)
            app_message(a, true, "out of memory checking the recipe");
    }
    build_sim(a, calls, n);
    free(calls);
}

/* The editable schedule of an opened recipe, and where `w` saves it: the
 * file itself when it is YAML (the exporter writes YAML), else beside it. */
static void open_schedule(app *a, const char *path)
{
    ms_diag diag;
    ms_diag_clear(&diag);
    if (ms_schema_new(&a->schema, &diag) != MS_OK ||
        ms_draft_new(a->schema, a->rec, path ? path : "recipe.yaml", &a->draft, &diag) != MS_OK) {
        app_message(a, true, "editing is off: %s", diag.message[0] ? diag.message : "no memory");
        return;
    }
    if (!path) {
        snprintf(a->save_path, sizeof a->save_path, "recipe.yaml");
        if (ms_draft_set_source(a->draft, ms_demo_recipe, strlen(ms_demo_recipe)) != MS_OK)
            app_message(a, true, "out of memory reading the recipe");
        return;
    }
    ms_recipe_format f = ms_recipe_format_of(path);
    /* saving writes the edits into the text as the user wrote it */
    char *text = NULL;
    size_t len = 0;
    ms_diag_clear(&diag);
    if (f == MS_FORMAT_YAML && ms_read_file(path, MAX_FILE_BYTES, &text, &len, &diag) == MS_OK &&
        ms_draft_set_source(a->draft, text, len) != MS_OK)
        app_message(a, true, "out of memory reading the recipe");
    free(text);
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    int keep = (int)(dot && (!slash || dot > slash) ? dot - path : (ptrdiff_t)strlen(path));
    if (f == MS_FORMAT_YAML)
        snprintf(a->save_path, sizeof a->save_path, "%s", path);
    else
        snprintf(a->save_path, sizeof a->save_path, "%.*s.yaml", keep, path);
}

/* A recipe upstream would refuse (an unknown field, a wrong type) but whose
 * stages and modifiers read: the Schedule opens on it so the errors can be
 * fixed in place; nothing is simulated until none is left. */
static bool open_with_errors(app *a, const char *path)
{
    ms_recipe *r = NULL;
    ms_diag diag;
    ms_diag_clear(&diag);
    if (ms_recipe_load_file(path, NULL, &r, &diag) != MS_OK)
        return false;
    a->recipe = r;
    a->rec = r;
    open_schedule(a, path);
    if (!a->draft) {
        ms_recipe_free(r);
        a->recipe = NULL;
        a->rec = NULL;
        return false;
    }
    a->sim_stale = true;
    a->view = VIEW_SCHEDULE;
    size_t errors = 0;
    for (size_t i = 0; i < ms_draft_diag_count(a->draft); i++)
        errors += ms_draft_diag_at(a->draft, i)->diag.severity == MS_SEV_ERROR;
    app_message(a, true,
                "%zu error%s upstream would refuse (E lists them): fix them here; the run is "
                "simulated once none is left",
                errors, errors == 1 ? "" : "s");
    return true;
}

/* Each screen's private state, zeroed, then its open. */
static void open_views(app *a)
{
    for (int v = 0; v < VIEW_COUNT; v++) {
        a->state[v] = calloc(1, views[v]->private_size ? views[v]->private_size : 1);
        if (!a->state[v]) {
            fprintf(stderr, "modsim: out of memory\n");
            exit(1);
        }
        if (views[v]->open)
            views[v]->open(a, a->state[v]);
    }
}

void app_open(app *a, const char *path)
{
    app_open_run(a, path, NULL, NULL);
}

/* Opens the file at `path`, or, when `text` is given, the scenario it holds
 * (`path` then names it in messages; there is no file to read again). */
static void open_session(app *a, const char *path, const char *text, size_t len,
                         const ms_pipeline_request *run, const char *stage)
{
    snprintf(a->open_path, sizeof a->open_path, "%s", path && !text ? path : "");
    snprintf(a->open_stage, sizeof a->open_stage, "%s", stage ? stage : "");
    a->open_stage_given = stage != NULL;
    a->open_run_given = run != NULL;
    if (run)
        a->open_run = *run;
    ui_worker_init(&a->worker, -1);
    open_views(a);
    a->cfg = ms_pipeline_defaults();
    a->hook_break = -1;
    a->view = VIEW_TIMELINE;
    ms_diag_clear(&a->load_diag);
    ms_status st;
    if (!path) {
        snprintf(a->source, sizeof a->source, "bundled demo");
        ms_diag_list diags;
        ms_diag_list_init(&diags);
        st = ms_recipe_parse_checked(NULL, ms_demo_recipe, strlen(ms_demo_recipe), "demo.yaml", 0,
                                     0, &a->recipe, &diags);
        keep_first_error(a, st, &diags);
        a->rec = a->recipe;
    } else if (text || ms_scenario_sniff(path) == MS_FILE_SCENARIO) {
        snprintf(a->source, sizeof a->source, "%s", path);
        ms_diag_list diags;
        ms_diag_list_init(&diags);
        const ms_upstream *upstream = run && run->upstream_given ? &run->cfg.upstream : NULL;
        st = text ? ms_scenario_parse_as(text, len, path, upstream, &a->scenario, &diags)
                  : ms_scenario_load_as(path, upstream, &a->scenario, &diags);
        keep_first_error(a, st, &diags);
        if (st == MS_OK) {
            a->rec = ms_scenario_recipe(a->scenario);
            a->fixed_calls = true;
            a->cfg.index_mode = ms_scenario_index_mode(a->scenario);
            a->cfg.upstream = ms_scenario_upstream(a->scenario);
        }
    } else {
        snprintf(a->source, sizeof a->source, "%s", path);
        /* what validate calls an error is refused here too (upstream would
         * not load it): the Schedule shows the first, with how many more */
        ms_diag_list diags;
        ms_diag_list_init(&diags);
        ms_pipeline_config asked = run ? ms_pipeline_resolve(run, NULL) : ms_pipeline_defaults();
        ms_lint_run checks = ms_pipeline_lint_run(&asked);
        st = ms_recipe_load_checked_for(NULL, path, stage, MS_CHECK_RUN, &checks, &a->recipe,
                                        &diags);
        keep_first_error(a, st, &diags);
        a->rec = a->recipe;
        if (st == MS_ERR_INVALID && !stage && open_with_errors(a, path))
            return;
    }
    if (st != MS_OK) {
        a->rec = NULL;
        a->view = VIEW_SCHEDULE;
        fail_load(a, st);
        return;
    }
    if (a->fixed_calls)
        snprintf(a->read_only, sizeof a->read_only,
                 "read-only: a scenario's recipe (open the recipe file itself to edit it)");
    else if (stage)
        snprintf(a->read_only, sizeof a->read_only,
                 "read-only: stage '%.60s' only (open without --stage to edit)", stage);
    else
        open_schedule(a, path);
    if (a->fixed_calls) {
        size_t n = ms_scenario_call_count(a->scenario);
        ms_call *calls = malloc((n ? n : 1) * sizeof *calls);
        if (!calls) {
            fail_load(a, MS_ERR_NOMEM);
            return;
        }
        for (size_t i = 0; i < n; i++)
            calls[i] = *ms_scenario_call_at(a->scenario, i);
        build_sim(a, calls, n);
        free(calls);
    } else {
        if (run) {
            a->cfg = ms_pipeline_resolve(run, a->rec);
            a->intended_loop = run->intended && !run->epochs_given && a->cfg.epochs;
        }
        app_rebuild(a);
    }
    if (a->load_failed)
        a->view = VIEW_SCHEDULE;
}

void app_open_run(app *a, const char *path, const ms_pipeline_request *run, const char *stage)
{
    open_session(a, path, NULL, 0, run, stage);
}

void app_close(app *a)
{
    ui_worker_free(&a->worker);
    app_model_close(a);
    for (int v = 0; v < VIEW_COUNT; v++) {
        if (views[v]->close && a->state[v])
            views[v]->close(a, a->state[v]);
        free(a->state[v]);
        a->state[v] = NULL;
    }
    ms_draft_free(a->draft);
    ms_schema_free(a->schema);
    a->draft = NULL;
    a->schema = NULL;
    ms_sim_free(a->sim);
    ms_scenario_free(a->scenario);
    ms_recipe_free(a->recipe);
    a->sim = NULL;
    a->scenario = NULL;
    a->recipe = NULL;
    a->rec = NULL;
}

/* ---- editing ---- */

static size_t schedule_errors(const ms_draft *s)
{
    size_t n = 0;
    for (size_t i = 0; i < ms_draft_diag_count(s); i++)
        n += ms_draft_diag_at(s, i)->diag.severity == MS_SEV_ERROR;
    return n;
}

void app_schedule_changed(app *a, size_t m, const char *done)
{
    a->dirty = DIRTY_ALL;
    app_message(a, false, "%s", done);
    size_t count = ms_draft_count(a->draft);
    a->selected = count && m >= count ? count - 1 : m;
    size_t errors = schedule_errors(a->draft);
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_recipe *r = NULL;
    ms_call *calls = NULL;
    size_t n = 0;
    ms_sim *sim = NULL;
    ms_status st = errors ? MS_ERR_INVALID : ms_draft_recipe(a->draft, &r, &diag);
    if (st == MS_OK)
        st = ms_pipeline_generate(&a->cfg, r, &calls, &n, &diag);
    if (st == MS_OK)
        st = ms_sim_new_as(r, a->cfg.upstream, calls, n, &sim, &diag);
    if (st == MS_OK)
        ms_sim_set_calibration_data(sim, ms_pipeline_has_calibration_data(&a->cfg));
    free(calls);
    if (st != MS_OK) {
        ms_recipe_free(r);
        a->sim_stale = true;
        if (errors)
            app_message(a, true,
                        "%s; %zu error%s (E lists them): the timeline shows the last "
                        "schedule without errors",
                        done, errors, errors == 1 ? "" : "s");
        else
            app_message(a, true, "cannot simulate the schedule: %s",
                        diag.message[0] ? diag.message : ms_status_str(st));
        return;
    }
    /* the session borrows its recipe: the old one goes after the old session */
    ms_recipe *old = a->recipe;
    a->recipe = r;
    a->rec = r;
    install_sim(a, sim);
    ms_recipe_free(old);
    a->sim_stale = false;
    app_select(a, m);
    if (a->kept_note[0]) {
        char done_text[sizeof a->message];
        snprintf(done_text, sizeof done_text, "%s", a->message);
        app_message(a, false, "%s; %s", done_text, a->kept_note);
    }
}

bool app_save(app *a, const char *path)
{
    ms_diag diag;
    ms_diag_clear(&diag);
    if (ms_draft_save(a->draft, path, &diag) != MS_OK) {
        app_message(a, true, "not saved: %s", diag.message[0] ? diag.message : "out of memory");
        return false;
    }
    snprintf(a->save_path, sizeof a->save_path, "%s", path);
    size_t errors = schedule_errors(a->draft);
    const char *layout = ms_draft_save_layout(a->draft);
    app_message(a, errors > 0, "saved %s%s%s%s%s", path,
                errors ? " (with errors: see the diagnostics)" : "",
                layout[0] ? " in the exporter's layout, comments dropped (" : "", layout,
                layout[0] ? ")" : "");
    a->dirty = DIRTY_ALL;
    return true;
}

ms_scope app_scope(const app *a)
{
    const view_ops *ops = views[a->view];
    return ops->scope ? ops->scope(a, a->state[a->view]) : view_scopes[a->view];
}

/* ---- jobs ---- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void report_stop(app *a, const ms_sim_stop *stop)
{
    size_t pos = ms_sim_position(a->sim);
    const ms_raise *raised = ms_sim_last_raise(a->sim);
    char where[160], flags[64], bp[96];
    if (pos)
        ui_call_text(a, pos - 1, where, sizeof where);
    else
        snprintf(where, sizeof where, "before the first call");
    if (stop->status != MS_OK) {
        app_message(a, true, "out of memory: the history stops at call %zu", pos);
        return;
    }
    if (raised->kind != MS_RAISE_NONE && stop->reason != MS_STOP_CANCELLED) {
        if (raised->modifier >= 0)
            app_message(a, true, "%s: %s raised by %d %s: %s", where,
                        ms_raise_kind_name(raised->kind), raised->modifier,
                        app_modifier_type(a, (size_t)raised->modifier), raised->message);
        else
            app_message(a, true, "%s: the lifecycle raised %s: %s", where,
                        ms_raise_kind_name(raised->kind), raised->message);
        return;
    }
    switch (stop->reason) {
    case MS_STOP_TRANSITION: {
        /* name what changed: the flags the last call set */
        size_t m = (size_t)stop->modifier;
        unsigned now = ms_sim_flags(a->sim, m), before = ms_sim_flags_at(a->sim, m, pos - 1);
        ui_flags_text(now & ~before, flags, sizeof flags);
        if ((now & ~before) == MS_FLAG_ENDED && !(now & MS_FLAG_STARTED))
            snprintf(flags, sizeof flags, "ended without starting");
        app_message(a, false, "%s: %zu %s %s", where, m, app_modifier_type(a, m),
                    now & ~before ? flags : "changed");
        break;
    }
    case MS_STOP_BREAKPOINT:
        ms_breakpoint_describe(ms_sim_break_at(a->sim, (size_t)stop->breakpoint), bp, sizeof bp);
        app_message(a, false, "breakpoint (%s) at %s", bp, where);
        break;
    case MS_STOP_END:
        app_message(a, stop->errors > 0, "end: %zu calls run%s", pos,
                    stop->errors ? "; some raised errors (see the Stepper log)"
                    : a->run_goal == MS_GOAL_BREAKPOINT && !ms_sim_break_count(a->sim)
                        ? "; no error on the way (no breakpoint set: c runs to the next error)"
                        : "");
        break;
    case MS_STOP_CANCELLED:
        app_message(a, false, "cancelled at %s", where);
        break;
    default:
        app_message(a, false, "%s", where);
        break;
    }
}

static void job_done(app *a, const ms_sim_stop *stop, bool explore_after)
{
    size_t pos = ms_sim_position(a->sim);
    a->job = JOB_NONE;
    report_stop(a, stop);
    if (a->call_follows)
        a->call_sel = pos ? pos - 1 : 0;
    notify(a, UI_SESSION_MOVED);
    a->dirty = DIRTY_ALL;
    app_model_follow(a);
    /* the timeline wants the whole run; keep exploring past where the user is */
    if (explore_after)
        start_explore(a);
}

/* What the message line and the tabs show of a job the worker holds. */
static void publish(app *a)
{
    size_t done, total;
    ms_sim_progress(a->sim, &done, &total);
    atomic_store(&a->job_pos, ms_sim_position(a->sim));
    atomic_store(&a->job_done, done);
    atomic_store(&a->job_total, total);
}

/* One slice of the job, on the worker: it touches only the session, the
 * job's stop and the published counts. */
static bool job_slice(void *arg)
{
    app *a = arg;
    bool done = ms_sim_work(a->sim, 256, &a->job_stop);
    publish(a);
    return done;
}

static void job_finished(app *a)
{
    if (a->job == JOB_EXPLORE) {
        ms_sim_run(a->sim, MS_GOAL_SEEK, a->explore_return);
        a->job = JOB_NONE;
        a->dirty = DIRTY_ALL;
        return;
    }
    job_done(a, &a->job_stop, true);
}

bool app_work(app *a, double ms)
{
    bool model_idle = app_model_work(a, a->job == JOB_NONE ? ms : 0);
    if (a->job == JOB_NONE || !a->sim)
        return model_idle;
    bool done;
    if (ui_worker_busy(&a->worker)) {
        done = ui_worker_wait(&a->worker, ms);
    } else {
        /* the first slice runs here: a short run (a step, a transition)
         * ends in it, without waiting for the thread */
        double until = now_ms() + ms;
        done = job_slice(a);
        if (!done && ui_worker_give(&a->worker, job_slice, a))
            done = ui_worker_wait(&a->worker, ms);
        else
            /* no thread: the slices run here, as long as `ms` allows */
            while (!done && now_ms() < until)
                done = job_slice(a);
    }
    a->dirty |= DIRTY_MSG | DIRTY_TABS;
    if (!done)
        return false;
    job_finished(a);
    return a->job == JOB_NONE && model_idle;
}

/* Ends an exploration, back where the user was. */
static void stop_explore(app *a)
{
    if (a->job != JOB_EXPLORE)
        return;
    ms_sim_cancel(a->sim, NULL);
    ms_sim_run(a->sim, MS_GOAL_SEEK, a->explore_return);
    a->job = JOB_NONE;
}

void app_run(app *a, ms_goal goal, size_t target)
{
    if (!a->sim) {
        app_message(a, true,
                    a->rec ? "nothing to run: the recipe has errors, not simulated (1: "
                             "Schedule, E lists them)"
                           : "nothing to run: the recipe did not load");
        return;
    }
    take_back(a);
    stop_explore(a);
    ms_sim_begin(a->sim, goal, target);
    a->run_goal = goal;
    a->job = JOB_RUN;
    app_work(a, 8);
}

static void cancel(app *a)
{
    bool model = app_model_cancel(a);
    take_back(a);
    if (a->job == JOB_RUN) {
        ms_sim_stop stop;
        ms_sim_cancel(a->sim, &stop);
        job_done(a, &stop, false);
    } else if (a->job == JOB_EXPLORE) {
        stop_explore(a);
        app_message(a, false, "simulation ahead cancelled: the timeline shows %zu of %zu calls",
                    ms_sim_explored(a->sim), ms_sim_call_count(a->sim));
    } else if (!model) {
        a->message[0] = '\0';
        a->dirty |= DIRTY_MSG;
    }
    a->dirty = DIRTY_ALL;
}

/* ---- breakpoints ---- */

static void toggle_modifier_break(app *a)
{
    if (!a->sim || !ms_sim_modifier_count(a->sim))
        return;
    ms_breakpoint bp = {.modifier = (int)a->selected, .hook = -1};
    if (ms_sim_break_remove(a->sim, &bp))
        app_message(a, false, "breakpoint removed: %zu %s", a->selected,
                    app_modifier_type(a, a->selected));
    else if (ms_sim_break_add(a->sim, &bp) == MS_OK)
        app_message(a, false, "breakpoint: %zu %s changes state (c runs to it)", a->selected,
                    app_modifier_type(a, a->selected));
    else
        app_message(a, true, "at most %d breakpoints", MS_SIM_MAX_BREAKPOINTS);
}

static void cycle_hook_break(app *a)
{
    if (!a->sim)
        return;
    static const int cycle[] = {MS_HOOK_ON_INITIALIZE, MS_HOOK_ON_START,    MS_HOOK_ON_UPDATE,
                                MS_HOOK_ON_END,        MS_HOOK_ON_FINALIZE, -1};
    ms_breakpoint bp = {.modifier = -1, .hook = a->hook_break};
    if (a->hook_break >= 0)
        ms_sim_break_remove(a->sim, &bp);
    size_t i = 0;
    while (cycle[i] != a->hook_break && cycle[i] != -1)
        i++;
    a->hook_break = a->hook_break < 0 ? cycle[0] : cycle[i + 1];
    bp.hook = a->hook_break;
    if (a->hook_break < 0 || ms_sim_break_add(a->sim, &bp) != MS_OK) {
        a->hook_break = -1;
        app_message(a, false, "no hook breakpoint");
    } else {
        app_message(a, false, "breakpoint: any modifier runs %s (H: next hook)",
                    ms_hook_name((ms_hook)a->hook_break));
    }
}

static void clear_breaks(app *a)
{
    while (a->sim && ms_sim_break_count(a->sim))
        ms_sim_break_remove(a->sim, ms_sim_break_at(a->sim, 0));
    a->hook_break = -1;
    app_message(a, false, "breakpoints cleared");
}

static void break_at_index(app *a)
{
    char *end;
    double v = strtod(a->prompt, &end);
    ms_breakpoint bp = {.modifier = -1, .hook = -1, .has_index = true, .index = v};
    if (end == a->prompt || *end || !isfinite(v))
        app_message(a, true, "not a number: '%s'", a->prompt);
    else if (ms_sim_break_add(a->sim, &bp) == MS_OK) {
        app_message(a, false, "breakpoint: index >= %g (c runs to it)", v);
        a->dirty = DIRTY_ALL; /* the screens show the breakpoint count */
    } else
        app_message(a, true, "at most %d breakpoints", MS_SIM_MAX_BREAKPOINTS);
}

/* `:N`: the position after N calls, reached by re-simulation either way. */
static void go_to_call(app *a)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(a->prompt, &end, 10);
    size_t total = ms_sim_call_count(a->sim);
    if (end == a->prompt || *end || errno) {
        app_message(a, true, "not a call number: '%s' (0 to %zu)", a->prompt, total);
        return;
    }
    if (n > total) {
        app_message(a, true, "the run has %zu calls: going to the end", total);
        n = total;
    }
    app_run(a, MS_GOAL_SEEK, (size_t)n);
}

static bool contains_folded(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return true;
    return !n;
}

/* `/text`: selects the next modifier (after the selected one, wrapping)
 * whose "N Type" contains the text, ignoring case. */
static void search_modifiers(app *a)
{
    if (a->prompt[0])
        snprintf(a->last_search, sizeof a->last_search, "%.127s", a->prompt);
    if (!a->last_search[0]) {
        app_message(a, true, "nothing to search for: type a part of a modifier's name");
        return;
    }
    if (views[a->view]->search) {
        views[a->view]->search(a, a->state[a->view], a->last_search);
        a->dirty = DIRTY_ALL;
        return;
    }
    size_t n = a->sim ? ms_sim_modifier_count(a->sim) : 0;
    for (size_t k = 1; k <= n; k++) {
        size_t m = (a->selected + k) % n;
        char label[160];
        snprintf(label, sizeof label, "%zu %s", m, app_modifier_type(a, m));
        if (contains_folded(label, a->last_search)) {
            bool wrapped = m <= a->selected;
            app_select(a, m);
            app_message(a, false, "/%s: %s%s", a->last_search, label,
                        wrapped ? " (search wrapped)" : "");
            a->dirty = DIRTY_ALL;
            return;
        }
    }
    app_message(a, true, "/%s: no modifier name contains it", a->last_search);
}

/* Save changes? y saves to the path `w` offers and quits, n quits. */
static ui_result quit_key(app *a, int key)
{
    if (key == 'n' || key == 'N')
        return UI_QUIT;
    a->prompting = PROMPT_NONE;
    if ((key == 'y' || key == 'Y') && app_save(a, a->save_path))
        return UI_QUIT;
    if (key != 'y' && key != 'Y')
        app_message(a, false, "not quitting");
    return UI_HANDLED;
}

static ui_result prompt_key(app *a, int key)
{
    size_t len = strlen(a->prompt);
    a->dirty |= DIRTY_MSG;
    if (a->prompting == PROMPT_QUIT)
        return quit_key(a, key);
    if (key == MS_KEY_ESC) {
        a->prompting = PROMPT_NONE;
        a->message[0] = '\0';
    } else if (key == MS_KEY_BACKSPACE) {
        if (len)
            a->prompt[len - 1] = '\0';
    } else if (key == MS_KEY_CTRL('u')) {
        a->prompt[0] = '\0';
    } else if (key == MS_KEY_ENTER) {
        prompt_kind kind = a->prompting;
        a->prompting = PROMPT_NONE;
        if (kind == PROMPT_BREAK_INDEX)
            break_at_index(a);
        else if (kind == PROMPT_GOTO)
            go_to_call(a);
        else if (kind == PROMPT_SEARCH)
            search_modifiers(a);
        else if (a->prompt[0])
            app_save(a, a->prompt);
        else
            app_message(a, true, "not saved: no file name");
    } else if (a->prompting == PROMPT_GOTO) {
        a->message[0] = '\0';
        if (key >= '0' && key <= '9' && len + 1 < 24) {
            a->prompt[len] = (char)key;
            a->prompt[len + 1] = '\0';
        } else if (key >= 32 && key < 127) {
            snprintf(a->message, sizeof a->message, "'%c' is not a digit: a call number like 12",
                     key);
            a->message_error = true;
        }
    } else if (a->prompting == PROMPT_BREAK_INDEX) {
        a->message[0] = '\0';
        if (((key >= '0' && key <= '9') || key == '.' || key == '-' || key == 'e') &&
            len + 1 < 32) {
            a->prompt[len] = (char)key;
            a->prompt[len + 1] = '\0';
        } else if (key >= 32 && key < 127) {
            snprintf(a->message, sizeof a->message,
                     "'%c' is not part of a number (an index is like 2 or 0.5)", key);
            a->message_error = true;
            return UI_HANDLED;
        }
    } else if (key >= 32 && key < 127 && len + 1 < sizeof a->prompt) {
        a->prompt[len] = (char)key;
        a->prompt[len + 1] = '\0';
    }
    return UI_HANDLED;
}

/* ---- commands ---- */

static int view_index(const view_ops *ops)
{
    for (int v = 0; v < VIEW_COUNT; v++)
        if (views[v] == ops)
            return v;
    return -1;
}

static void switch_view(app *a, int v)
{
    view_id to = (view_id)((v + VIEW_COUNT) % VIEW_COUNT);
    if (to == VIEW_HELP && a->view != VIEW_HELP)
        a->before_help = a->view;
    a->view = to;
    a->dirty = DIRTY_ALL;
}

void app_show(app *a, const view_ops *ops)
{
    int v = view_index(ops);
    if (v >= 0)
        switch_view(a, v);
}

static void reopen(app *a, const char *path, const char *text, size_t len,
                   const ms_pipeline_request *run, const char *stage)
{
    app kept;
    memcpy(&kept, a, sizeof kept); /* the terminal's part is carried over below */
    char path_copy[sizeof a->open_path], stage_copy[sizeof a->open_stage];
    ms_pipeline_request run_copy = run ? *run : (ms_pipeline_request){0};
    snprintf(path_copy, sizeof path_copy, "%s", path ? path : "");
    snprintf(stage_copy, sizeof stage_copy, "%s", stage ? stage : "");
    app_close(a);
    memset(a, 0, sizeof *a);
    snprintf(a->model_arg, sizeof a->model_arg, "%s", kept.model_arg);
    a->world = kept.world;
    a->world_set = kept.world_set;
    a->utf8 = kept.utf8;
    a->color = kept.color;
    memcpy(a->attrs, kept.attrs, sizeof a->attrs);
    a->rows = kept.rows;
    a->cols = kept.cols;
    a->too_small = kept.too_small;
    a->w_tabs = kept.w_tabs;
    a->w_body = kept.w_body;
    a->w_msg = kept.w_msg;
    a->w_status = kept.w_status;
    memcpy(a->tab_x, kept.tab_x, sizeof a->tab_x);
    a->body_rows = kept.body_rows;
    a->body_cols = kept.body_cols;
    snprintf(a->history_path, sizeof a->history_path, "%s", kept.history_path);
    a->recorder = kept.recorder;
    open_session(a, path ? path_copy : NULL, text, len, run ? &run_copy : NULL,
                 stage ? stage_copy : NULL);
    /* a finished job still wakes the main loop */
    ui_worker_set_wake(&a->worker, kept.worker.wake_fd);
    a->dirty = DIRTY_ALL;
}

void app_reopen(app *a, const char *path, const ms_pipeline_request *run, const char *stage)
{
    reopen(a, path, NULL, 0, run, stage);
}

void app_reopen_scenario_text(app *a, const char *name, const char *text, size_t len)
{
    reopen(a, name, text, len, NULL, NULL);
}

/* R: the file read again, as it was opened, keeping the terminal set-up.
 * Edits made here are not thrown away unasked. */
static void reload(app *a)
{
    if (a->draft && ms_draft_dirty(a->draft)) {
        app_message(a, true, "not reloaded: the schedule has unsaved edits (w saves, u undoes)");
        return;
    }
    if (a->replayed_run) {
        app_message(a, false, "run %lld was replayed from the history: there is no file to reload",
                    a->replayed_run);
        return;
    }
    if (!a->open_path[0]) {
        app_message(a, false, "the bundled demo has no file to reload");
        return;
    }
    char path[sizeof a->open_path], stage[sizeof a->open_stage];
    snprintf(path, sizeof path, "%s", a->open_path);
    snprintf(stage, sizeof stage, "%s", a->open_stage);
    ms_pipeline_request run = a->open_run;
    bool run_given = a->open_run_given, stage_given = a->open_stage_given;
    app_reopen(a, path, run_given ? &run : NULL, stage_given ? stage : NULL);
    if (!a->message[0])
        app_message(a, a->load_failed,
                    a->load_failed ? "reloaded %s: it still does not load" : "reloaded %s", path);
}

static ui_result global_command(app *a, ms_cmd cmd)
{
    size_t n = a->sim ? ms_sim_modifier_count(a->sim) : 0;
    int page = a->body_rows > 4 ? a->body_rows - 4 : 1;
    size_t sel = a->selected;
    if (ui_list_move(cmd, &sel, n, (size_t)page)) {
        app_select(a, sel);
        return UI_REDRAW;
    }
    /* Help is a page to read: q and Esc close it, as in less and tig */
    if (a->view == VIEW_HELP && (cmd == MS_CMD_QUIT || cmd == MS_CMD_CANCEL)) {
        switch_view(a, a->before_help);
        return UI_REDRAW_ALL;
    }
    switch (cmd) {
    case MS_CMD_QUIT:
        if (a->draft && ms_draft_dirty(a->draft)) {
            a->prompting = PROMPT_QUIT;
            a->dirty |= DIRTY_MSG;
            return UI_HANDLED;
        }
        return UI_QUIT;
    case MS_CMD_HELP:
        switch_view(a, VIEW_HELP);
        return UI_REDRAW_ALL;
    case MS_CMD_NEXT_VIEW:
        switch_view(a, (int)a->view + 1);
        return UI_REDRAW_ALL;
    case MS_CMD_PREV_VIEW:
        switch_view(a, (int)a->view - 1);
        return UI_REDRAW_ALL;
    case MS_CMD_NEXT_EVENT:
        app_run(a, MS_GOAL_EVENT, 0);
        return UI_REDRAW_ALL;
    case MS_CMD_NEXT_STEP:
        app_run(a, MS_GOAL_STEP, 0);
        return UI_REDRAW_ALL;
    case MS_CMD_NEXT_TRANSITION:
        app_run(a, MS_GOAL_TRANSITION, 0);
        return UI_REDRAW_ALL;
    case MS_CMD_RUN_END:
        app_run(a, MS_GOAL_END, 0);
        return UI_REDRAW_ALL;
    case MS_CMD_STEP_BACK:
        app_run(a, MS_GOAL_BACK, 0);
        return UI_REDRAW_ALL;
    case MS_CMD_RESTART:
        app_run(a, MS_GOAL_RESTART, 0);
        return UI_REDRAW_ALL;
    case MS_CMD_CONTINUE:
        /* without a breakpoint `c` runs to the next error, as Help says */
        if (a->sim && !ms_sim_break_count(a->sim))
            app_message(a, false,
                        "no breakpoint (B modifier, H hook, @ index): running to the next error");
        app_run(a, MS_GOAL_BREAKPOINT, 0);
        return UI_REDRAW_ALL;
    case MS_CMD_CANCEL:
        cancel(a);
        return UI_REDRAW_ALL;
    case MS_CMD_REDRAW:
        clearok(curscr, TRUE);
        return UI_REDRAW_ALL;
    case MS_CMD_RELOAD:
        reload(a);
        return UI_REDRAW_ALL;
    case MS_CMD_SELECT:
        if (views[a->view]->enter)
            app_show(a, views[a->view]->enter);
        return UI_REDRAW_ALL;
    case MS_CMD_BREAK_MODIFIER:
        toggle_modifier_break(a);
        return UI_REDRAW;
    case MS_CMD_BREAK_HOOK:
        cycle_hook_break(a);
        return UI_REDRAW;
    case MS_CMD_BREAK_INDEX:
        if (a->sim) {
            a->prompting = PROMPT_BREAK_INDEX;
            a->prompt[0] = '\0';
            a->message[0] = '\0';
            a->dirty |= DIRTY_MSG;
        }
        return UI_REDRAW;
    case MS_CMD_BREAK_CLEAR:
        clear_breaks(a);
        return UI_REDRAW;
    case MS_CMD_GOTO:
    case MS_CMD_SEARCH:
        if (a->sim) {
            a->prompting = cmd == MS_CMD_GOTO ? PROMPT_GOTO : PROMPT_SEARCH;
            a->prompt[0] = '\0';
            a->message[0] = '\0';
            a->dirty |= DIRTY_MSG;
        }
        return UI_REDRAW;
    default:
        for (int v = 0; v < VIEW_COUNT; v++)
            if (cmd == view_cmds[v]) {
                switch_view(a, v);
                return UI_REDRAW_ALL;
            }
        return UI_UNHANDLED;
    }
}

ui_result app_interrupt(app *a)
{
    if (a->prompting == PROMPT_QUIT)
        return UI_HANDLED; /* already asking */
    return global_command(a, MS_CMD_QUIT);
}

/* curses key codes → the keymap's */
static int translate(int key, bool function_key)
{
    if (!function_key) {
        if (key == '\r' || key == '\n')
            return MS_KEY_ENTER;
        if (key == 127 || key == 8)
            return MS_KEY_BACKSPACE;
        return key;
    }
    switch (key) {
    case KEY_UP:
        return MS_KEY_UP;
    case KEY_DOWN:
        return MS_KEY_DOWN;
    case KEY_LEFT:
        return MS_KEY_LEFT;
    case KEY_RIGHT:
        return MS_KEY_RIGHT;
    case KEY_PPAGE:
        return MS_KEY_PPAGE;
    case KEY_NPAGE:
        return MS_KEY_NPAGE;
    case KEY_HOME:
        return MS_KEY_HOME;
    case KEY_END:
        return MS_KEY_END;
    case KEY_BTAB:
        return MS_KEY_BTAB;
    case KEY_ENTER:
        return MS_KEY_ENTER;
    case KEY_BACKSPACE:
        return MS_KEY_BACKSPACE;
    default:
        return -1;
    }
}

ui_result app_key(app *a, int key, bool is_function_key)
{
    int k = translate(key, is_function_key);
    if (k < 0)
        return UI_HANDLED;
    /* keys are handled between slices of a job, as on one thread */
    take_back(a);
    if (a->prompting)
        return prompt_key(a, k);
    const view_ops *ops = views[a->view];
    void *st = a->state[a->view];
    if (!a->too_small && ops->input && ops->input(a, st, k) != UI_UNHANDLED)
        return UI_HANDLED;
    ms_cmd cmd = ms_keymap_lookup(app_scope(a), k);
    if (cmd == MS_CMD_NONE) {
        char name[16];
        ms_key_name(k, name, sizeof name);
        app_message(a, false, "%s does nothing on the %s screen (? lists the keys)", name,
                    view_names[a->view]);
        return UI_HANDLED;
    }
    ui_result r = UI_UNHANDLED;
    if (!a->too_small && ops->command)
        r = ops->command(a, st, cmd);
    if (r == UI_UNHANDLED)
        r = global_command(a, cmd);
    if (r == UI_REDRAW)
        a->dirty |= DIRTY_BODY | DIRTY_TABS;
    else if (r == UI_REDRAW_ALL)
        a->dirty = DIRTY_ALL;
    return r;
}

void app_mouse(app *a, int y, int x)
{
    if (a->too_small)
        return;
    take_back(a);
    if (y == 0) {
        for (int v = 0; v < VIEW_COUNT; v++)
            if (x >= a->tab_x[v] && x < a->tab_x[v + 1])
                switch_view(a, v);
        return;
    }
    if (y >= 1 && y <= a->body_rows && views[a->view]->click &&
        views[a->view]->click(a, a->state[a->view], y - 1, x) != UI_UNHANDLED)
        a->dirty |= DIRTY_BODY | DIRTY_TABS;
}

/* ---- the screen ---- */

void app_screen_init(app *a)
{
    static const struct {
        short fg;
        attr_t plain; /* without colour */
        attr_t extra; /* with it */
    } roles[ROLE_COUNT] = {
        [ROLE_NORMAL] = {-1, A_NORMAL, A_NORMAL},
        [ROLE_TITLE] = {COLOR_CYAN, A_BOLD, A_BOLD},
        [ROLE_DIM] = {COLOR_BLUE, A_DIM, A_NORMAL},
        [ROLE_SELECTED] = {-1, A_REVERSE, A_REVERSE},
        [ROLE_CURSOR] = {COLOR_YELLOW, A_REVERSE, A_REVERSE},
        [ROLE_ACTIVE] = {COLOR_GREEN, A_NORMAL, A_NORMAL},
        [ROLE_START] = {COLOR_GREEN, A_BOLD, A_BOLD},
        [ROLE_END] = {COLOR_MAGENTA, A_BOLD, A_BOLD},
        [ROLE_ERROR] = {COLOR_RED, A_BOLD, A_BOLD},
        [ROLE_FLAG] = {COLOR_GREEN, A_BOLD, A_BOLD},
    };
    const char *no_color = getenv("NO_COLOR");
    a->color = has_colors() && !(no_color && no_color[0]);
    if (a->color) {
        start_color();
        use_default_colors();
    }
    for (int r = 0; r < ROLE_COUNT; r++) {
        a->attrs[r] = roles[r].plain;
        if (a->color && roles[r].fg >= 0) {
            init_pair((short)r, roles[r].fg, -1);
            a->attrs[r] = COLOR_PAIR(r) | roles[r].extra;
        }
    }
    app_screen_resize(a);
}

void app_screen_resize(app *a)
{
    getmaxyx(stdscr, a->rows, a->cols);
    a->too_small = a->cols < UI_MIN_COLS || a->rows < UI_MIN_ROWS;
    WINDOW **wins[] = {&a->w_tabs, &a->w_body, &a->w_msg, &a->w_status};
    for (size_t i = 0; i < 4; i++)
        if (*wins[i]) {
            delwin(*wins[i]);
            *wins[i] = NULL;
        }
    erase();
    a->body_rows = a->rows - 3;
    a->body_cols = a->cols;
    if (!a->too_small) {
        a->w_tabs = newwin(1, a->cols, 0, 0);
        a->w_body = newwin(a->body_rows, a->cols, 1, 0);
        a->w_msg = newwin(1, a->cols, a->rows - 2, 0);
        a->w_status = newwin(1, a->cols, a->rows - 1, 0);
    }
    a->dirty = DIRTY_ALL;
}

/* What the run on screen is, always in view: nothing, a stale session (the
 * schedule has errors since), upstream's run, or a run upstream does not make
 * (the intended index, a loop with calibration after it). */
static void run_badge(const app *a, bool *warn, bool narrow, char *text, size_t cap)
{
    /* a narrow badge names the release only when it is not the default */
    const char *v = ms_upstream_name(a->cfg.upstream);
    const char *sep = " ";
    /* one rule for every screen: whether what is shown is the schedule being edited */
    if ((*warn = a->sim_stale || !a->sim)) {
        if (!a->rec)
            snprintf(text, cap, narrow ? "NOT LOADED" : "NOTHING SHOWN: the file did not load");
        else if (!a->sim)
            snprintf(text, cap, narrow ? "NOT SIMULATED" : "NOT SIMULATED: the recipe has errors");
        else
            snprintf(text, cap,
                     narrow ? "STALE: has errors" : "STALE: the last schedule without errors");
        return;
    }
    if (narrow && a->cfg.upstream == MS_UPSTREAM_DEFAULT)
        v = sep = "";
    *warn = a->cfg.index_mode == MS_INDEX_STEP;
    if (*warn)
        snprintf(text, cap, narrow ? "%s%sINTENDED" : "%s%sINTENDED INDEX, not upstream", v, sep);
    else if (a->fixed_calls)
        snprintf(text, cap, "%s%sscenario", v, sep);
    else if ((*warn = !ms_pipeline_is_upstream(&a->cfg)))
        snprintf(text, cap, narrow ? "%s%sNOT UPSTREAM" : "%s%sNOT A RUN UPSTREAM MAKES", v, sep);
    else if (narrow)
        snprintf(text, cap, "upstream%s%s", sep, v);
    else
        snprintf(text, cap, "as upstream %s runs it", v);
}

static void draw_tabs(app *a)
{
    WINDOW *w = a->w_tabs;
    werase(w);
    char pos[64] = "";
    if (a->sim && ui_worker_busy(&a->worker))
        snprintf(pos, sizeof pos, "call %zu/%zu", atomic_load(&a->job_pos),
                 atomic_load(&a->job_total));
    else if (a->sim)
        snprintf(pos, sizeof pos, "call %zu/%zu", ms_sim_position(a->sim),
                 ms_sim_call_count(a->sim));
    bool warn = false;
    char long_badge[64] = "", short_badge[64] = "";
    run_badge(a, &warn, false, long_badge, sizeof long_badge);
    run_badge(a, &warn, true, short_badge, sizeof short_badge);
    const char *badge = long_badge;
    int all = 0;
    for (int v = 0; v < VIEW_COUNT; v++)
        all += (int)strlen(view_names[v]) + 5;
    int right = (int)strlen(pos) + 2;
    /* History is reached by its key (7, in Help): its tab shows when it is
     * the screen, or when every tab and the long badge fit, so that the six
     * others keep their names at 80 columns */
    bool hide_history =
        a->view != VIEW_HISTORY && all + right + (int)strlen(long_badge) + 1 > a->cols;
    int shown = VIEW_COUNT - hide_history;
    int full = hide_history ? all - ((int)strlen(view_names[VIEW_HISTORY]) + 5) : all;
    /* before the names are cut, the tabs lose their padding */
    bool compact = full + right + (int)strlen(short_badge) + 1 > a->cols;
    if (compact)
        full -= 2 * shown;
    /* the badge says what the run is: it takes room from the tab names */
    bool narrow = a->cols < 72 || full + right + (int)strlen(short_badge) + 1 > a->cols;
    if (!narrow && full + right + (int)strlen(badge) + 1 > a->cols)
        badge = short_badge;
    else if (narrow && 7 * shown + right + (int)strlen(badge) + 1 > a->cols)
        badge = short_badge;
    int x = 0;
    for (int v = 0; v < VIEW_COUNT; v++) {
        a->tab_x[v] = x;
        if (hide_history && v == VIEW_HISTORY)
            continue; /* no width: a click cannot land on it */
        char tab[32];
        snprintf(tab, sizeof tab, compact && !narrow ? "%d %.*s" : " %d %.*s ", v + 1,
                 narrow ? 3 : 20, view_names[v]);
        wattrset(w, ui_attr(a, v == (int)a->view ? ROLE_SELECTED : ROLE_TITLE));
        ui_put(w, 0, x, a->cols - x, tab);
        x += (int)strlen(tab) + (narrow ? 0 : 1);
    }
    a->tab_x[VIEW_COUNT] = x;
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    int len = (int)strlen(pos), blen = (int)strlen(badge);
    if (len && x + len + 1 < a->cols)
        ui_put(w, 0, a->cols - len - 1, len, pos);
    if (blen && x + blen + len + 3 <= a->cols) {
        wattrset(w, ui_attr(a, warn ? ROLE_ERROR : ROLE_DIM) | (warn ? A_REVERSE : 0));
        ui_put(w, 0, a->cols - len - blen - 2, blen, badge);
        wattrset(w, ui_attr(a, ROLE_NORMAL));
    }
    wnoutrefresh(w);
}

static void draw_message(app *a)
{
    WINDOW *w = a->w_msg;
    werase(w);
    if (a->prompting) {
        wattrset(w, ui_attr(a, ROLE_TITLE));
        /* a refused key's message takes the place of the key hints, so it fits 80 columns */
        if (a->prompting == PROMPT_GOTO && a->message[0])
            ui_putf(w, 0, 0, a->cols, "go to call: %s_   %s", a->prompt, a->message);
        else if (a->prompting == PROMPT_GOTO)
            ui_putf(w, 0, 0, a->cols, "go to call (0 to %zu; Enter goes, Esc cancels): %s_",
                    a->sim ? ms_sim_call_count(a->sim) : 0, a->prompt);
        else if (a->prompting == PROMPT_SEARCH)
            ui_putf(w, 0, 0, a->cols, "/%s_   (%s; Enter alone: /%s again)", a->prompt,
                    views[a->view]->searches ? views[a->view]->searches : "modifier names",
                    a->last_search);
        else if (a->prompting == PROMPT_BREAK_INDEX && a->message[0])
            ui_putf(w, 0, 0, a->cols, "break at index: %s_   %s", a->prompt, a->message);
        else if (a->prompting == PROMPT_BREAK_INDEX)
            ui_putf(w, 0, 0, a->cols, "break at index (Enter sets, Esc cancels): %s_", a->prompt);
        else if (a->prompting == PROMPT_SAVE_PATH)
            ui_putf(w, 0, 0, a->cols, "save as (Enter saves, Esc cancels): %s_", a->prompt);
        else
            ui_putf(w, 0, 0, a->cols, "Save changes? (y)es / (n)o / (c)ancel");
    } else if (a->job != JOB_NONE && a->sim) {
        size_t done = atomic_load(&a->job_done), total = atomic_load(&a->job_total);
        if (!ui_worker_busy(&a->worker))
            ms_sim_progress(a->sim, &done, &total);
        wattrset(w, ui_attr(a, ROLE_TITLE));
        ui_putf(w, 0, 0, a->cols, "%s: %zu of %zu calls (%d%%)  Esc cancels",
                a->job == JOB_EXPLORE ? "simulating ahead" : "running", done, total,
                total ? (int)(100.0 * (double)done / (double)total) : 100);
    } else {
        wattrset(w, ui_attr(a, a->message_error ? ROLE_ERROR : ROLE_NORMAL));
        if (a->message_rows) {
            /* a long message wraps upwards into the body's last rows, never cut */
            int top = a->body_rows - a->message_rows;
            wattrset(a->w_body, ui_attr(a, a->message_error ? ROLE_ERROR : ROLE_NORMAL));
            for (int r = top; r < a->body_rows; r++) {
                wmove(a->w_body, r, 0);
                wclrtoeol(a->w_body);
            }
            int lines = ui_wrap(NULL, 0, 0, a->cols - 1, a->message_rows + 1, a->message);
            char rest[sizeof a->message];
            ui_wrap(a->w_body, top, 0, a->cols - 1, lines - 1, a->message);
            ui_wrap_rest(a->message, a->cols - 1, lines - 1, rest, sizeof rest);
            ui_put(w, 0, 0, a->cols, rest);
            wattrset(a->w_body, ui_attr(a, ROLE_NORMAL));
            wnoutrefresh(a->w_body);
        } else {
            ui_put(w, 0, 0, a->cols, a->message);
        }
    }
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    wnoutrefresh(w);
}

static void draw_status(app *a)
{
    WINDOW *w = a->w_status;
    char line[512];
    werase(w);
    /* a read-only Schedule offers no editing keys */
    ms_scope scope = a->view == VIEW_SCHEDULE && !a->draft ? MS_SCOPE_GLOBAL : app_scope(a);
    ms_keymap_status(scope, line,
                     (size_t)a->cols < sizeof line ? (size_t)a->cols - 1 : sizeof line - 1);
    wattrset(w, ui_attr(a, ROLE_DIM));
    /* while the model's worker runs a long step: its progress */
    if (app_model_progress(a, line, sizeof line))
        wattrset(w, ui_attr(a, ROLE_TITLE));
    ui_put(w, 0, 0, a->cols, line);
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    wnoutrefresh(w);
}

void app_render(app *a)
{
    if (a->too_small) {
        erase();
        char text[96];
        if (a->prompting == PROMPT_QUIT)
            snprintf(text, sizeof text, "Save changes? (y)es / (n)o / (c)ancel");
        else
            snprintf(text, sizeof text, "terminal too small: %dx%d (needs %dx%d); q quits", a->cols,
                     a->rows, UI_MIN_COLS, UI_MIN_ROWS);
        int len = (int)strlen(text);
        int y = a->rows / 2, x = len < a->cols ? (a->cols - len) / 2 : 0;
        mvaddnstr(y, x, text, a->cols - x);
        wnoutrefresh(stdscr);
        doupdate();
        a->dirty = 0;
        return;
    }
    if (a->dirty & DIRTY_MSG) {
        /* a message wider than the line takes up to 3 of the body's rows (a third at most) */
        int was = a->message_rows;
        a->message_rows = 0;
        if (!a->prompting && a->job == JOB_NONE && (int)strlen(a->message) >= a->cols) {
            int lines = ui_wrap(NULL, 0, 0, a->cols - 1, 4, a->message) - 1;
            a->message_rows = lines < a->body_rows / 3 ? lines : a->body_rows / 3;
        }
        if (a->message_rows || was)
            a->dirty |= DIRTY_BODY;
    }
    if (a->message_rows && (a->dirty & DIRTY_BODY))
        a->dirty |= DIRTY_MSG; /* the body drawn again: the message over it too */
    /* the body draws from the session: the worker gives it back first */
    if (a->dirty & DIRTY_BODY)
        take_back(a);
    if (a->dirty == DIRTY_ALL)
        wnoutrefresh(stdscr);
    if (a->dirty & DIRTY_TABS)
        draw_tabs(a);
    if (a->dirty & DIRTY_BODY) {
        werase(a->w_body);
        /* a long message takes the body's last rows: the screen draws above it */
        views[a->view]->draw(a, a->state[a->view], a->w_body, a->body_rows - a->message_rows,
                             a->body_cols);
        wnoutrefresh(a->w_body);
    }
    if (a->dirty & DIRTY_MSG)
        draw_message(a);
    if (a->dirty & DIRTY_STATUS)
        draw_status(a);
    doupdate();
    a->dirty = 0;
}
