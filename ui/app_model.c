/* The app's side of the model track (model_track.h): a track per session,
 * following the session's position after every run; Esc while it works
 * cancels the step and takes the session back with it. */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_track.h"

const char *app_model_name(const app *a)
{
    const char *written = a->scenario ? ms_scenario_model(a->scenario, NULL, NULL) : NULL;
    return a->model_arg[0] ? a->model_arg : written ? written : "tiny";
}

void app_model_close(app *a)
{
    ui_model_free(a->model);
    a->model = NULL;
}

/* Opens the track over the session (model_error says why it cannot). */
static void open_track(app *a)
{
    if (a->model || a->model_error[0] || !a->sim || !a->rec)
        return;
    size_t n = ms_sim_call_count(a->sim);
    ms_call *calls = malloc((n ? n : 1) * sizeof *calls);
    if (!calls) {
        snprintf(a->model_error, sizeof a->model_error, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        calls[i] = *ms_sim_call(a->sim, i);
    bool data = a->scenario ? ms_scenario_calibration_data(a->scenario)
                            : ms_pipeline_has_calibration_data(&a->cfg);
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_status st = ui_model_new(app_model_name(a), a->rec, a->fixed_calls ? NULL : &a->cfg,
                                ms_sim_upstream(a->sim), data, calls, n,
                                a->world_set ? &a->world : NULL, &a->model, &diag);
    free(calls);
    if (st != MS_OK)
        snprintf(a->model_error, sizeof a->model_error, "%.60s: %.250s", app_model_name(a),
                 diag.message[0] ? diag.message : ms_status_str(st));
    else
        ui_model_set_wake(a->model, a->worker.wake_fd);
    if (st == MS_OK && a->world_set) {
        /* what the command line changed from the defaults, named once */
        const ms_world_model_config *w = &a->world;
        char calib[600];
        if (w->calib_source == MS_CALIB_RANDOM)
            snprintf(calib, sizeof calib, "%zux%zu random tokens (seed %llu)", w->calib_batch,
                     w->calib_seq, (unsigned long long)w->seed);
        else
            snprintf(calib, sizeof calib, "%s %.500s",
                     w->calib_source == MS_CALIB_TEXT ? "the bytes of" : "the token ids of",
                     w->calib_path);
        app_message(a, false, "model %.60s: calibration %s, %zu thread%s", app_model_name(a), calib,
                    w->threads, w->threads == 1 ? "" : "s");
    }
}

void app_model_session(app *a)
{
    app_model_close(a);
    a->model_error[0] = '\0';
    if (!strcmp(app_model_name(a), "none")) {
        snprintf(a->model_error, sizeof a->model_error,
                 "no model: the run changes flags only (--model none)");
        return;
    }
    /* a new session after an edit opens its track when it is needed (a step,
     * the Model screen), so editing does not load the model again and again */
    if (a->model_layers_set)
        return;
    open_track(a);
    if (!a->model || a->fixed_calls)
        return;
    /* the sequential pipeline's subgraphs are the model's layers: the first
     * session of a file takes the model's count, as modsim run does */
    a->model_layers_set = true;
    long long layers = a->model_layers = ui_model_layers(a->model);
    if (a->cfg.layers != layers && a->cfg.layers == ms_pipeline_defaults().layers) {
        a->cfg.layers = layers;
        app_rebuild(a); /* a new session: its track opens now too */
        open_track(a);
    }
    app_model_follow(a);
}

long long app_model_fitted_layers(const app *a)
{
    return a->model_layers ? a->model_layers : ms_pipeline_defaults().layers;
}

void app_model_follow(app *a)
{
    if (!a->sim)
        return;
    if (!a->model && (ms_sim_position(a->sim) || a->view == VIEW_MODEL))
        open_track(a);
    if (!a->model)
        return;
    /* off the Model screen the costly figures wait until it is shown */
    if (a->view != VIEW_MODEL)
        ui_model_want_figures(a->model, false);
    ui_model_seek(a->model, ms_sim_position(a->sim));
}

bool app_model_cancel(app *a)
{
    if (!a->model || !ui_model_busy(a->model))
        return false;
    ui_model_cancel(a->model);
    app_message(a, false, "cancelling: the model goes back to where the step began");
    return true;
}

bool app_model_work(app *a, double ms)
{
    if (!a->model)
        return true;
    /* the terminal loop sets its wake-up pipe after the first track opened */
    ui_model_set_wake(a->model, a->worker.wake_fd);
    if (ui_model_wait(a->model, ms)) {
        size_t back;
        if (ui_model_cancelled_to(a->model, &back) && a->sim) {
            /* the session goes back with the model: both are where the step began */
            app_run(a, MS_GOAL_SEEK, back);
            app_message(a, false, "cancelled: the model is back at call %zu, as before the step",
                        back);
        }
        const ui_model_report *r = ui_model_last(a->model);
        if (r->error[0])
            app_message(a, true, "model: %s", r->error);
        a->dirty = DIRTY_ALL;
    }
    if (!a->model)
        return true; /* app_run above made a new session */
    if (ui_model_busy(a->model))
        a->dirty |= DIRTY_STATUS | (a->view == VIEW_MODEL ? DIRTY_BODY : 0);
    return !ui_model_busy(a->model);
}

bool app_model_progress(const app *a, char *buf, size_t cap)
{
    if (!a->model || !ui_model_busy(a->model))
        return false;
    ui_model_progress p;
    ui_model_progress_get(a->model, &p);
    /* a quick job (most calls change nothing) leaves the keys in view */
    if (p.seconds < 0.25 && !p.cancelling)
        return false;
    if (p.cancelling)
        snprintf(buf, cap, "model: cancelling after call %zu ends (%.1f s)", p.pos, p.seconds);
    else if (p.measuring)
        snprintf(buf, cap, "model: at call %zu, measuring (errors, KL, perplexity) %.1f s", p.pos,
                 p.seconds);
    else if (p.target < p.pos)
        snprintf(buf, cap, "model: restoring call %zu", p.target);
    else
        snprintf(buf, cap,
                 "model: running call %zu of %zu: %zu modules changed%s%s  %.1f s  Esc cancels",
                 p.pos, p.target, p.changed, p.module ? ", last " : "", p.module ? p.module : "",
                 p.seconds);
    return true;
}
