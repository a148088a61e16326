/* History: the runs kept in the history file, one line per run as `modsim
 * history list` prints them (tig's main view). Enter replays the selected
 * run: its calls open as the session, re-simulated by this modsim, and the
 * first call where today's modsim disagrees with the record is where the
 * run stops. `d` diffs the selected run against the one replayed; `/`
 * filters the lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "draw.h"
#include "history/history.h"

typedef struct history_state {
    char path[1024];
    char *text;     /* the list, as `history list` writes it */
    char **lines;   /* into `text`, newest run first */
    long long *ids; /* of each line */
    size_t n;
    size_t *shown; /* the lines the filter keeps */
    size_t n_shown, sel, top;
    char filter[128];
    bool typing;  /* the filter is being typed */
    char *detail; /* a diff, under the list; NULL: none */
    char problem[600];
} history_state;

/* The run replayed last: opening it makes every screen's state anew, so it
 * lives here. */
static long long replayed;

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

static void load(history_state *s)
{
    free(s->text);
    free(s->lines);
    free(s->ids);
    free(s->shown);
    s->text = NULL;
    s->lines = NULL;
    s->ids = NULL;
    s->shown = NULL;
    s->n = 0;
    s->problem[0] = '\0';
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
        s->ids[s->n] = strtoll(p, NULL, 10);
        s->lines[s->n++] = p;
        if (!nl)
            break;
        p = nl + 1;
    }
    apply_filter(s);
}

static void history_open(app *a, void *state)
{
    (void)a;
    history_state *s = state;
    if (!ms_history_default_path(s->path, sizeof s->path))
        s->path[0] = '\0';
    load(s);
}

static void history_close(app *a, void *state)
{
    (void)a;
    history_state *s = state;
    free(s->text);
    free(s->lines);
    free(s->ids);
    free(s->shown);
    free(s->detail);
}

static void history_draw(app *a, void *state, WINDOW *w, int rows, int cols)
{
    (void)a;
    history_state *s = state;
    werase(w);
    mvwprintw(w, 0, 0, "History %.*s: %zu runs", cols > 40 ? cols - 30 : 10, s->path, s->n);
    if (s->filter[0] || s->typing)
        wprintw(w, ", %zu shown for /%s", s->n_shown, s->filter);
    if (replayed)
        wprintw(w, "; replaying run %lld", replayed);
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

/* Opens the selected run as the session and stops at the first call where
 * today's modsim disagrees with the record. */
static ui_result replay(app *a, history_state *s)
{
    if (!s->n_shown)
        return UI_HANDLED;
    long long id = s->ids[s->shown[s->sel]];
    if (a->draft && ms_draft_dirty(a->draft)) {
        app_message(a, true,
                    "run %lld not replayed: the schedule has unsaved edits (w saves, u undoes)",
                    id);
        return UI_REDRAW;
    }
    ms_diag diag;
    ms_history *h;
    if (!with_history(s, &diag, &h)) {
        app_message(a, true, "%s", s->problem);
        return UI_REDRAW;
    }
    char replay_file[64];
    snprintf(replay_file, sizeof replay_file, "/tmp/modsim-replay-XXXXXX.yaml");
    int fd = mkstemps(replay_file, 5);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    ms_status st = f ? ms_history_export_scenario(h, id, f, &diag) : MS_ERR_IO;
    if (f && fclose(f) != 0 && st == MS_OK)
        st = MS_ERR_IO;
    bool agrees = false;
    size_t first = 0;
    if (st == MS_OK)
        st = ms_history_check(h, id, NULL, &agrees, &first, &diag);
    ms_history_close(h);
    if (fd >= 0 && st != MS_OK)
        unlink(replay_file);
    if (st != MS_OK) {
        app_message(a, true, "run %lld cannot be replayed: %s", id,
                    diag.message[0] ? diag.message : ms_status_str(st));
        return UI_REDRAW;
    }
    replayed = id;
    /* the session keeps what it read: the file is not needed after; `s`
     * is gone with the old session */
    app_reopen(a, replay_file, NULL, NULL);
    unlink(replay_file);
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
    return UI_REDRAW_ALL;
}

static ui_result diff_selected(app *a, history_state *s)
{
    if (!s->n_shown)
        return UI_HANDLED;
    if (!replayed) {
        app_message(a, true,
                    "d diffs the selected run against the one replayed: Enter replays "
                    "one first");
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
    ms_status st = mem ? ms_history_diff(h, id, replayed, mem, &differs, &diag) : MS_ERR_NOMEM;
    if (mem)
        fclose(mem);
    ms_history_close(h);
    if (st != MS_OK) {
        app_message(a, true, "%s", diag.message[0] ? diag.message : ms_status_str(st));
        return UI_REDRAW;
    }
    app_message(a, false, "run %lld against run %lld: %s", id, replayed,
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
