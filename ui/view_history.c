/* History: the runs kept in the history file, one line per run as `modsim
 * history list` prints them (tig's main view), with the run each was edited
 * from in a column after the id. Enter replays the selected run: its calls
 * open as the session, re-simulated by this modsim, and the first call where
 * today's modsim disagrees with the record is where the run stops. `d` diffs
 * the selected run against the session's (the one replayed, or the last one
 * recorded); `/` filters the lines. Also how the session's runs are
 * recorded: each new session (an edit, a clock, pipeline, profile or index
 * change) is queued for the recorder, which writes it on its own thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "draw.h"
#include "history/history.h"
#include "history/recorder.h"
#include "recipe/export.h"
#include "util/doc.h"

typedef struct history_state {
    char path[1024];
    char *text;     /* the list, as `history list` writes it */
    char **lines;   /* the lines shown, newest run first (malloc'd) */
    long long *ids; /* of each line */
    size_t n;
    size_t *shown; /* the lines the filter keeps */
    size_t n_shown, sel, top;
    char filter[128];
    bool typing;  /* the filter is being typed */
    char *detail; /* a diff, under the list; NULL: none */
    char problem[600];
    long long loaded_for; /* the session's run when the list was read */
} history_state;

static void apply_filter(history_state *s)
{
    s->n_shown = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!s->filter[0] || strstr(s->lines[i], s->filter))
            s->shown[s->n_shown++] = i;
    if (s->sel >= s->n_shown)
        s->sel = s->n_shown ? s->n_shown - 1 : 0;
    s->top = 0;
}

/* Opens the history file; false (the problem in s->problem) when there is
 * none or it cannot be used. */
static bool with_history(history_state *s, ms_diag *diag, ms_history **h)
{
    ms_diag_clear(diag);
    if (!s->path[0]) {
        snprintf(s->problem, sizeof s->problem,
                 "no history file: set MODSIM_HISTORY, XDG_STATE_HOME or HOME");
        return false;
    }
    if (ms_history_open(s->path, false, h, diag) != MS_OK) {
        snprintf(s->problem, sizeof s->problem, "%s", diag->message);
        return false;
    }
    return true;
}

/* The run the session is: the one replayed, else the last one recorded. */
static long long current_run(const app *a)
{
    if (a->replayed_run)
        return a->replayed_run;
    return a->recorder ? ms_history_recorder_last(a->recorder) : 0;
}

static void free_lines(history_state *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->lines[i]);
    free(s->lines);
}

static void load(app *a, history_state *s)
{
    free(s->text);
    free_lines(s);
    free(s->ids);
    free(s->shown);
    s->text = NULL;
    s->lines = NULL;
    s->ids = NULL;
    s->shown = NULL;
    s->n = 0;
    s->problem[0] = '\0';
    s->loaded_for = current_run(a);
    ms_diag diag;
    ms_history *h;
    if (!with_history(s, &diag, &h))
        return;
    size_t len = 0;
    FILE *mem = open_memstream(&s->text, &len);
    ms_history_filter all = {0};
    ms_status st = mem ? ms_history_list(h, &all, false, mem, &diag) : MS_ERR_NOMEM;
    if (mem)
        fclose(mem);
    ms_history_close(h);
    if (st != MS_OK || !s->text) {
        snprintf(s->problem, sizeof s->problem, "%s",
                 diag.message[0] ? diag.message : "out of memory");
        return;
    }
    size_t cap = 1;
    for (const char *p = s->text; *p; p++)
        cap += *p == '\n';
    s->lines = calloc(cap, sizeof *s->lines);
    s->ids = calloc(cap, sizeof *s->ids);
    s->shown = calloc(cap, sizeof *s->shown);
    if (!s->lines || !s->ids || !s->shown) {
        snprintf(s->problem, sizeof s->problem, "out of memory");
        return;
    }
    for (char *p = s->text; *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        char *rest;
        s->ids[s->n] = strtoll(p, &rest, 10);
        /* `history list` ends a child's line with "  parent N": here it is
         * a column after the id, so that it shows at 80 columns */
        char parent[24] = "";
        char *mark = strstr(p, "  parent ");
        if (mark) {
            snprintf(parent, sizeof parent, "<%lld", strtoll(mark + 9, NULL, 10));
            *mark = '\0';
        }
        while (*rest == ' ')
            rest++;
        size_t need = strlen(p) + sizeof parent + 16;
        if (!(s->lines[s->n] = malloc(need))) {
            snprintf(s->problem, sizeof s->problem, "out of memory");
            return;
        }
        snprintf(s->lines[s->n], need, "%-5lld %-6s %s", s->ids[s->n], parent, rest);
        s->n++;
        if (!nl)
            break;
        p = nl + 1;
    }
    apply_filter(s);
}

static void history_open(app *a, void *state)
{
    history_state *s = state;
    if (a->history_path[0])
        snprintf(s->path, sizeof s->path, "%s", a->history_path);
    else if (!ms_history_default_path(s->path, sizeof s->path))
        s->path[0] = '\0';
    load(a, s);
}

static void history_close(app *a, void *state)
{
    (void)a;
    history_state *s = state;
    free(s->text);
    free_lines(s);
    free(s->ids);
    free(s->shown);
    free(s->detail);
}

static void history_draw(app *a, void *state, WINDOW *w, int rows, int cols)
{
    history_state *s = state;
    /* a run recorded since the list was read shows when the screen is drawn */
    if (current_run(a) != s->loaded_for)
        load(a, s);
    werase(w);
    mvwprintw(w, 0, 0, "History %.*s: %zu runs", cols > 40 ? cols - 30 : 10, s->path, s->n);
    if (s->filter[0] || s->typing)
        wprintw(w, ", %zu shown for /%s", s->n_shown, s->filter);
    if (a->replayed_run)
        wprintw(w, "; replaying run %lld", a->replayed_run);
    else if (current_run(a))
        wprintw(w, "; this session is run %lld", current_run(a));
    if (s->problem[0]) {
        mvwprintw(w, 2, 0, "%.*s", cols, s->problem);
        return;
    }
    int list_rows = rows - 1 - (s->typing ? 1 : 0);
    char *detail_lines[64];
    int n_detail = 0;
    if (s->detail) {
        list_rows = list_rows / 2;
        for (char *p = s->detail; *p && n_detail < 64;) {
            detail_lines[n_detail++] = p;
            char *nl = strchr(p, '\n');
            if (!nl)
                break;
            p = nl + 1;
        }
    }
    if (list_rows < 1)
        list_rows = 1;
    if (s->sel < s->top)
        s->top = s->sel;
    if (s->sel >= s->top + (size_t)list_rows)
        s->top = s->sel - (size_t)list_rows + 1;
    for (int y = 0; y < list_rows && s->top + (size_t)y < s->n_shown; y++) {
        size_t k = s->top + (size_t)y;
        if (k == s->sel)
            wattron(w, A_REVERSE);
        mvwprintw(w, 1 + y, 0, "%-*.*s", cols, cols, s->lines[s->shown[k]]);
        if (k == s->sel)
            wattroff(w, A_REVERSE);
    }
    if (!s->n_shown)
        mvwprintw(w, 1, 0, s->n ? "no run matches /%s" : "no run kept yet", s->filter);
    for (int i = 0; i < n_detail && 1 + list_rows + i < rows - (s->typing ? 1 : 0); i++) {
        const char *line = detail_lines[i];
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        mvwprintw(w, 1 + list_rows + i, 0, "%.*s", len < cols ? len : cols, line);
    }
    if (s->typing)
        mvwprintw(w, rows - 1, 0, "/%s", s->filter);
}

/* What a replay opens: the run's scenario as `history export` writes it,
 * kept in memory (malloc'd in *text). */
static ms_status export_to_memory(ms_history *h, long long id, char **text, size_t *len,
                                  ms_diag *diag)
{
    *text = NULL;
    FILE *f = open_memstream(text, len);
    if (!f)
        return MS_ERR_NOMEM;
    ms_status st = ms_history_export_scenario(h, id, f, diag);
    if (fclose(f) != 0 && st == MS_OK)
        st = MS_ERR_NOMEM;
    if (st != MS_OK) {
        free(*text);
        *text = NULL;
    }
    return st;
}

bool app_replay(app *a, long long id)
{
    char path[sizeof a->history_path];
    if (a->history_path[0])
        snprintf(path, sizeof path, "%s", a->history_path);
    else if (!ms_history_default_path(path, sizeof path)) {
        app_message(a, true, "no history file: set MODSIM_HISTORY, XDG_STATE_HOME or HOME");
        return false;
    }
    if (a->draft && ms_draft_dirty(a->draft)) {
        app_message(a, true,
                    "run %lld not replayed: the schedule has unsaved edits (w saves, u undoes)",
                    id);
        return false;
    }
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_history *h = NULL;
    char *text = NULL;
    size_t len = 0;
    bool agrees = false;
    size_t first = 0;
    ms_status st = ms_history_open(path, false, &h, &diag);
    if (st == MS_OK)
        st = export_to_memory(h, id, &text, &len, &diag);
    if (st == MS_OK)
        st = ms_history_check(h, id, NULL, &agrees, &first, &diag);
    ms_history_close(h);
    if (st != MS_OK) {
        free(text);
        app_message(a, true, "run %lld cannot be replayed: %s", id,
                    diag.message[0] ? diag.message : ms_status_str(st));
        return false;
    }
    /* a replay looks at a kept run: it is not recorded again */
    struct ms_history_recorder *recorder = a->recorder;
    a->recorder = NULL;
    const char *slash = strrchr(path, '/');
    char name[sizeof a->source];
    snprintf(name, sizeof name, "run %lld of %.300s", id, slash ? slash + 1 : path);
    /* the screens' states are made anew */
    app_reopen_scenario_text(a, name, text, len);
    free(text);
    a->recorder = recorder;
    a->replayed_run = id;
    if (agrees) {
        app_message(a, false, "replaying run %lld: today's modsim agrees with the record", id);
    } else {
        /* the run stops with the disagreeing call just run */
        app_run(a, MS_GOAL_SEEK, first + 1);
        app_message(a, false,
                    "replaying run %lld: today's modsim disagrees with the record first at "
                    "call %zu",
                    id, first);
    }
    return true;
}

/* The recipe as the user has it now: what `w` would save, else the file. */
static char *session_text(const app *a)
{
    char *text = NULL;
    size_t len;
    char why[160];
    ms_diag diag;
    if (a->draft) {
        if (ms_draft_save_text(a->draft, &text, &len, why, sizeof why) != MS_OK) {
            free(text);
            return NULL;
        }
        return text;
    }
    if (a->open_path[0] &&
        ms_read_file(a->open_path, 64 * 1024 * 1024, &text, &len, &diag) != MS_OK) {
        free(text);
        return NULL;
    }
    return text;
}

/* The recipe in upstream layout: what a replay of the run needs. */
static char *session_upstream_text(const app *a)
{
    ms_schema *schema = a->schema;
    ms_diag diag;
    if (!schema && ms_schema_new(&schema, &diag) != MS_OK)
        return NULL;
    char *text = NULL;
    size_t len;
    FILE *mem = open_memstream(&text, &len);
    ms_status st = mem ? ms_export_recipe(schema, a->rec, mem) : MS_ERR_NOMEM;
    if (mem && fclose(mem) != 0)
        st = MS_ERR_NOMEM;
    if (schema != a->schema)
        ms_schema_free(schema);
    if (st != MS_OK) {
        free(text);
        return NULL;
    }
    return text;
}

void app_record_session(app *a)
{
    if (!a->recorder || !a->sim || !a->rec)
        return;
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_lifecycle *lc;
    if (ms_recipe_build_lifecycle(a->rec, &lc, &diag) != MS_OK)
        return;
    const ms_pipeline_config *cfg = &a->cfg;
    ms_upstream upstream = a->scenario ? ms_scenario_upstream(a->scenario) : cfg->upstream;
    bool calibration = a->scenario ? ms_scenario_calibration_data(a->scenario)
                                   : ms_pipeline_has_calibration_data(cfg);
    ms_lifecycle_set_upstream(lc, upstream);
    ms_lifecycle_set_calibration_data(lc, calibration);
    char what[256];
    ms_pipeline_describe(cfg, what, sizeof what);
    size_t n = ms_sim_call_count(a->sim);
    const ms_call *calls = n ? ms_sim_call(a->sim, 0) : NULL;
    char *text = session_text(a), *replay = session_upstream_text(a);
    ms_history_settings hs = {
        .modsim_version = MODSIM_VERSION,
        .profile = ms_upstream_name(upstream),
        .recipe_text = text,
        /* no file: "bundled demo", or the run a replay opened */
        .recipe_path = a->open_path[0] ? a->open_path : a->source,
        .stage = a->open_stage_given ? a->open_stage : NULL,
        .pipeline = a->fixed_calls ? "scenario"
                    : cfg->epochs  ? "training loop"
                                   : ms_pipeline_name(cfg->calibration),
        .clock = a->fixed_calls ? "the scenario's calls" : what,
        .threads = 1,
        .replay_recipe = replay,
        .index_upstream = cfg->index_mode == MS_INDEX_UPSTREAM,
        .steps_per_epoch = !a->fixed_calls && cfg->epoch_index ? cfg->steps_per_epoch : 0,
        .batches_per_step = a->fixed_calls ? 0 : cfg->batches_per_step,
        .calibration_data = calibration,
    };
    /* a scenario's clock is in its events: as `modsim trace --record` keeps it */
    for (size_t i = 0; a->fixed_calls && i < n; i++)
        if (calls[i].event.epoch_based || calls[i].event.batches_per_step) {
            hs.steps_per_epoch = calls[i].event.epoch_based ? calls[i].event.steps_per_epoch : 0;
            hs.batches_per_step = calls[i].event.batches_per_step;
            break;
        }
    if (ms_history_recorder_add(a->recorder, &hs, lc, calls, n) != MS_OK)
        app_message(a, true, "out of memory: this run is not kept in the history");
    free(text);
    free(replay);
}

static ui_result replay(app *a, history_state *s)
{
    if (!s->n_shown)
        return UI_HANDLED;
    /* on success `s` is gone with the old session */
    app_replay(a, s->ids[s->shown[s->sel]]);
    return UI_REDRAW_ALL;
}

static ui_result diff_selected(app *a, history_state *s)
{
    if (!s->n_shown)
        return UI_HANDLED;
    long long current = current_run(a);
    if (!current) {
        app_message(a, true,
                    "d diffs the selected run against the session's: this session is not "
                    "recorded (Enter replays a run)");
        return UI_REDRAW;
    }
    long long id = s->ids[s->shown[s->sel]];
    ms_diag diag;
    ms_history *h;
    if (!with_history(s, &diag, &h)) {
        app_message(a, true, "%s", s->problem);
        return UI_REDRAW;
    }
    free(s->detail);
    s->detail = NULL;
    size_t len = 0;
    bool differs = false;
    FILE *mem = open_memstream(&s->detail, &len);
    ms_status st = mem ? ms_history_diff(h, id, current, mem, &differs, &diag) : MS_ERR_NOMEM;
    if (mem)
        fclose(mem);
    ms_history_close(h);
    if (st != MS_OK) {
        app_message(a, true, "%s", diag.message[0] ? diag.message : ms_status_str(st));
        return UI_REDRAW;
    }
    app_message(a, false, "run %lld against run %lld: %s", id, current,
                differs ? "they differ" : "the same");
    return UI_REDRAW;
}

static ui_result history_input(app *a, void *state, int key)
{
    history_state *s = state;
    if (!s->typing)
        return UI_UNHANDLED;
    size_t n = strlen(s->filter);
    if (key == MS_KEY_ESC) {
        s->filter[0] = '\0';
        s->typing = false;
    } else if (key == MS_KEY_ENTER) {
        s->typing = false;
    } else if (key == MS_KEY_BACKSPACE) {
        if (n)
            s->filter[n - 1] = '\0';
    } else if (key >= 32 && key < 127 && n + 1 < sizeof s->filter) {
        s->filter[n] = (char)key;
        s->filter[n + 1] = '\0';
    }
    apply_filter(s);
    a->dirty |= DIRTY_BODY;
    return UI_REDRAW;
}

static ui_result history_command(app *a, void *state, ms_cmd cmd)
{
    history_state *s = state;
    size_t page = a->body_rows > 4 ? (size_t)a->body_rows / 2 - 1 : 1;
    if (ui_list_move(cmd, &s->sel, s->n_shown, page))
        return UI_REDRAW;
    switch (cmd) {
    case MS_CMD_SELECT:
        return replay(a, s);
    case MS_CMD_HISTORY_DIFF:
        return diff_selected(a, s);
    case MS_CMD_HISTORY_FILTER:
        s->typing = true;
        return UI_REDRAW;
    case MS_CMD_CANCEL:
        if (s->detail) {
            free(s->detail);
            s->detail = NULL;
            return UI_REDRAW;
        }
        return UI_UNHANDLED;
    default:
        return UI_UNHANDLED;
    }
}

const view_ops history_view = {
    .private_size = sizeof(history_state),
    .open = history_open,
    .close = history_close,
    .draw = history_draw,
    .input = history_input,
    .command = history_command,
};
