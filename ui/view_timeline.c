/* Timeline: one row per modifier on the axis of calls, each hook a glyph
 * where it fired, the active span drawn between start and end, the last call
 * run as a cursor column; pruning rows can show their sparsity curve. */
#include "app.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "draw.h"
#include "model_track.h"
#include "sim/compare.h"
#include "timeline.h"

enum { MAX_COLS = 1024 };

typedef struct timeline_state {
    ms_tl_view tl;
    bool fitted; /* keep the whole run visible until the user zooms */
    bool show_curve;
    int scroll;        /* first screen row shown */
    ms_comparison *vs; /* the upstream and intended runs side by side, or NULL */
} timeline_state;

/* 30 columns fit "  0 MagnitudePruningModifier" at 80 columns */
static int label_width(int cols)
{
    int w = cols * 3 / 8;
    return w > 30 ? 30 : w;
}

/* Keeps the axis as wide as the screen; a fitted axis stays fitted. */
static void sync_axis(const app *a, timeline_state *s, int width)
{
    size_t n = ms_sim_call_count(a->sim);
    if (width > MAX_COLS)
        width = MAX_COLS;
    if (s->tl.n_calls != n || (s->fitted && s->tl.width != width))
        s->tl = ms_tl_fit(n, width);
    else if (s->tl.width != width)
        ms_tl_resize(&s->tl, width);
}

/* A pruning modifier's sparsity as measured in the weights at the position
 * (the modules it changed last), when a model runs. */
static bool measured(const app *a, size_t m, double *v)
{
    const char *type = app_modifier_type(a, m);
    return a->model && (strstr(type, "Pruning") || strstr(type, "SparseGPT")) &&
           ui_model_measured_sparsity(ui_model_last(a->model), (int)m, v);
}

static bool has_curve(const app *a, const timeline_state *s, size_t m)
{
    double v;
    return s->show_curve && (ms_sim_metric_name(a->sim, m) || measured(a, m, &v));
}

static int rows_of(const app *a, const timeline_state *s, size_t m)
{
    return has_curve(a, s, m) ? 2 : 1;
}

static role cell_role(ms_tl_cell c)
{
    switch (c) {
    case MS_TL_START:
    case MS_TL_CAL_START:
        return ROLE_START;
    case MS_TL_END:
    case MS_TL_CAL_END:
        return ROLE_END;
    case MS_TL_ERROR:
        return ROLE_ERROR;
    case MS_TL_ACTIVE:
    case MS_TL_UPDATE:
        return ROLE_ACTIVE;
    case MS_TL_INIT:
    case MS_TL_FINAL:
    case MS_TL_SEVERAL:
        return ROLE_TITLE;
    default:
        return ROLE_DIM;
    }
}

static void draw_curve(app *a, const timeline_state *s, WINDOW *w, int y, int x0, size_t m,
                       int cursor)
{
    static const char *const bars_utf8[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                            "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char bars_ascii[] = "_.-~=+*#";
    double values[MAX_COLS];
    ms_tl_metric_row(a->sim, m, &s->tl, values);
    for (int c = 0; c < s->tl.width; c++) {
        if (isnan(values[c]))
            continue;
        int level = ms_tl_level(values[c], 0, 1, 8);
        wattrset(w, ui_attr(a, ROLE_ACTIVE) | (c == cursor ? A_REVERSE : 0));
        if (a->utf8)
            ui_put(w, y, x0 + c, 1, bars_utf8[level]);
        else
            mvwaddch(w, y, x0 + c, (chtype)bars_ascii[level]);
    }
    wattrset(w, ui_attr(a, ROLE_NORMAL));
}

/* `shown`: which cells the rows drew, for a legend too narrow for all. */
static void draw_legend(app *a, const timeline_state *s, WINDOW *w, int y, int cols,
                        const bool *shown)
{
    static const struct {
        ms_tl_cell cell;
        const char *word;
    } items[] = {{MS_TL_INIT, "init"},           {MS_TL_START, "start"},
                 {MS_TL_UPDATE, "update"},       {MS_TL_ACTIVE, "active"},
                 {MS_TL_IDLE, "waiting"},        {MS_TL_END, "end"},
                 {MS_TL_FINAL, "final"},         {MS_TL_ERROR, "error"},
                 {MS_TL_SEVERAL, "several"},     {MS_TL_START_MARK, "index>=start"},
                 {MS_TL_END_MARK, "index>=end"}, {MS_TL_CAL_START, "cal start"},
                 {MS_TL_CAL_END, "cal end"}};
    int x = 1;
    /* the 0.13 base class's calibration hooks, where they can appear */
    bool calibration_hooks = ms_sim_upstream(a->sim) == MS_UPSTREAM_0_13;
    size_t n_items = sizeof items / sizeof items[0];
    bool skip[sizeof items / sizeof items[0]] = {false};
    int need = 1;
    for (size_t i = 0; i < n_items; i++) {
        skip[i] = !calibration_hooks &&
                  (items[i].cell == MS_TL_CAL_START || items[i].cell == MS_TL_CAL_END);
        need += skip[i] ? 0 : (int)strlen(items[i].word) + 3;
    }
    /* too narrow for every glyph: name the ones the rows show, so a [ or ]
     * on screen is never left unexplained */
    if (need >= cols)
        for (size_t i = 0; i < n_items; i++)
            skip[i] |= !shown[items[i].cell];
    for (size_t i = 0; i < n_items; i++) {
        if (skip[i])
            continue;
        int len = (int)strlen(items[i].word) + 3;
        if (x + len >= cols)
            break;
        wattrset(w, ui_attr(a, cell_role(items[i].cell)));
        ui_put(w, y, x, 1, ms_tl_glyph(items[i].cell, a->utf8));
        wattrset(w, ui_attr(a, ROLE_DIM));
        ui_put(w, y, x + 2, len, items[i].word);
        x += len;
    }
    char zoom[48];
    if (s->tl.per_col >= 1)
        snprintf(zoom, sizeof zoom, "%.3g calls/col", s->tl.per_col);
    else
        snprintf(zoom, sizeof zoom, "%.3g cols/call", 1 / s->tl.per_col);
    int len = (int)strlen(zoom);
    if (x + len + 2 < cols)
        ui_put(w, y, cols - len - 1, len, zoom);
    wattrset(w, ui_attr(a, ROLE_NORMAL));
}

/* One run of the comparison: a title, then `count` modifier rows from
 * `first`, each on the run's own axis; a mark where the runs differ. */
static int draw_run(app *a, const timeline_state *s, WINDOW *w, int y, int cols, const char *who,
                    const ms_pipeline_config *cfg, ms_sim *sim, size_t first, size_t count,
                    bool *shown)
{
    int lw = label_width(cols), x0 = lw + 1;
    char what[200];
    ms_pipeline_describe(cfg, what, sizeof what);
    wattrset(w, ui_attr(a, ROLE_TITLE));
    ui_putf(w, y++, 1, cols - 2, "%s (%zu calls): %s", who, ms_sim_call_count(sim), what);
    ms_tl_view v = ms_tl_fit(ms_sim_call_count(sim), cols - x0 > MAX_COLS ? MAX_COLS : cols - x0);
    ms_tl_cell cells[MAX_COLS];
    for (size_t m = first; m < first + count; m++, y++) {
        bool differs = ms_outcome_differs(&s->vs->upstream_out[m], &s->vs->intended_out[m]);
        wattrset(w, ui_attr(a, differs ? ROLE_ERROR : ROLE_DIM));
        ui_put(w, y, 0, 1, differs ? (a->utf8 ? "\u2260" : "!") : " ");
        wattrset(w, ui_attr(a, m == a->selected ? ROLE_SELECTED : ROLE_NORMAL));
        ui_putf(w, y, 1, lw - 1, "%2zu %-*s", m, lw, app_modifier_type(a, m));
        ms_tl_row(sim, m, &v, cells);
        for (int c = 0; c < v.width; c++) {
            shown[cells[c]] = true;
            wattrset(w, ui_attr(a, cell_role(cells[c])));
            ui_put(w, y, x0 + c, 1, ms_tl_glyph(cells[c], a->utf8));
        }
    }
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    return y;
}

/* The run upstream makes above the run the recipe intends, then what
 * differs, modifier by modifier, in words. */
static void draw_compare(app *a, timeline_state *s, WINDOW *w, int rows, int cols)
{
    size_t n = s->vs->n_modifiers;
    int each = (rows - 4) / 3; /* three blocks, their titles and the legend */
    size_t count = n < (size_t)(each > 1 ? each : 1) ? n : (size_t)(each > 1 ? each : 1);
    /* the comparison is of the recipe when it was made: stay within it */
    size_t sel = a->selected < n ? a->selected : n ? n - 1 : 0;
    size_t first = sel >= count ? sel - count + 1 : 0;
    bool shown[MS_TL_CELL_COUNT] = {false};
    int y = draw_run(a, s, w, 0, cols, "upstream", &s->vs->upstream_cfg, s->vs->upstream, first,
                     count, shown);
    y = draw_run(a, s, w, y, cols, "intended", &s->vs->intended_cfg, s->vs->intended, first, count,
                 shown);
    wattrset(w, ui_attr(a, ROLE_TITLE));
    ui_putf(w, y++, 1, cols - 2, "%zu of %zu modifiers differ%s", s->vs->n_different, n,
            s->vs->n_different ? ":" : ": upstream runs this recipe as intended");
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    /* the selected modifier first, then the others that differ */
    for (size_t k = 0; k <= n && y < rows - 1; k++) {
        size_t m = k == 0 ? sel : k - 1;
        if (m >= n || (k > 0 && m == sel))
            continue;
        const ms_outcome *u = &s->vs->upstream_out[m], *i = &s->vs->intended_out[m];
        if (!ms_outcome_differs(u, i) && k > 0)
            continue;
        char text[320];
        ms_outcome_describe(u, i, text, sizeof text);
        wattrset(w, ui_attr(a, m == sel ? ROLE_SELECTED : ROLE_NORMAL));
        ui_putf(w, y++, 1, cols - 2, "%2zu %s: %s", m, app_modifier_type(a, m), text);
    }
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    draw_legend(a, s, w, rows - 1, cols, shown);
}

static void timeline_draw(app *a, void *state, WINDOW *w, int rows, int cols)
{
    timeline_state *s = state;
    if (!a->sim) {
        ui_put(w, 0, 1, cols - 2,
               a->rec ? "Not simulated: the recipe has errors (1: Schedule lists them)."
                      : "Nothing to show: the recipe did not load (1: Schedule).");
        return;
    }
    if (s->vs) {
        draw_compare(a, s, w, rows, cols);
        return;
    }
    int lw = label_width(cols), x0 = lw + 1;
    sync_axis(a, s, cols - x0);
    size_t pos = ms_sim_position(a->sim);
    int cursor = pos ? ms_tl_col(&s->tl, pos - 1) : -1;

    char ruler[MAX_COLS + 1];
    ms_tl_ruler(a->sim, &s->tl, ruler, sizeof ruler);
    wattrset(w, ui_attr(a, ROLE_TITLE));
    ui_put(w, 0, 1, lw - 1,
           a->cfg.epoch_index && a->cfg.index_mode == MS_INDEX_STEP && !a->fixed_calls ? "epoch"
                                                                                       : "index");
    wattrset(w, ui_attr(a, ROLE_DIM));
    ui_put(w, 0, x0, s->tl.width, ruler);
    if (cursor >= 0 && ruler[cursor] == ' ') {
        wattrset(w, ui_attr(a, ROLE_CURSOR));
        ui_put(w, 0, x0 + cursor, 1, a->utf8 ? "\u25bc" : "v");
    }
    wattrset(w, ui_attr(a, ROLE_NORMAL));

    size_t n = ms_sim_modifier_count(a->sim);
    int visible = rows - 2; /* ruler and legend */
    /* scroll in screen rows, keeping the selected modifier's rows visible */
    int sel_row = 0;
    for (size_t m = 0; m < a->selected && m < n; m++)
        sel_row += rows_of(a, s, m);
    int first = s->scroll;
    if (sel_row < first)
        first = sel_row;
    else if (sel_row + rows_of(a, s, a->selected) > first + visible)
        first = sel_row + rows_of(a, s, a->selected) - visible;
    if (first < 0)
        first = 0;
    s->scroll = first;

    ms_tl_cell cells[MAX_COLS];
    bool shown[MS_TL_CELL_COUNT] = {false};
    int row = 0, y = 1;
    for (size_t m = 0; m < n && y <= visible; m++) {
        int r = rows_of(a, s, m);
        if (row + r <= first) {
            row += r;
            continue;
        }
        row += r;
        wattrset(w, ui_attr(a, m == a->selected ? ROLE_SELECTED : ROLE_NORMAL));
        ui_putf(w, y, 0, lw, "%3zu %-*s", m, lw, app_modifier_type(a, m));
        ms_tl_row(a->sim, m, &s->tl, cells);
        for (int c = 0; c < s->tl.width; c++) {
            shown[cells[c]] = true;
            attr_t at = ui_attr(a, cell_role(cells[c]));
            if (c == cursor)
                at = (at & ~A_COLOR) | ui_attr(a, ROLE_CURSOR);
            wattrset(w, at);
            ui_put(w, y, x0 + c, 1, ms_tl_glyph(cells[c], a->utf8));
        }
        wattrset(w, ui_attr(a, ROLE_NORMAL));
        y++;
        if (r == 2 && y <= visible) {
            double v;
            bool has = false;
            const char *name = ms_modifier_metric(ms_sim_modifier(a->sim, m), &v, &has);
            double mv;
            bool meas = measured(a, m, &mv);
            wattrset(w, ui_attr(a, ROLE_DIM));
            /* the scheduler's target, and what the weights have */
            if (name && has && meas)
                ui_putf(w, y, 4, lw - 4, "%s %.3f meas %.3f", name, v, mv);
            else if (meas)
                ui_putf(w, y, 4, lw - 4, "sparsity meas %.3f", mv);
            else if (has)
                ui_putf(w, y, 4, lw - 4, "%s %.3f", name, v);
            else
                ui_putf(w, y, 4, lw - 4, "%s -", name);
            draw_curve(a, s, w, y, x0, m, cursor);
            y++;
        }
    }
    if (cursor >= 0 && a->selected < n) {
        /* the selected row's cursor column holds several transitions: say which */
        ms_tl_row(a->sim, a->selected, &s->tl, cells);
        if (cells[cursor] == MS_TL_SEVERAL) {
            char text[200];
            ms_tl_column_text(a->sim, a->selected, &s->tl, cursor, text, sizeof text);
            wattrset(w, ui_attr(a, ROLE_TITLE));
            ui_put(w, rows - 1, 1, 1, ms_tl_glyph(MS_TL_SEVERAL, a->utf8));
            wattrset(w, ui_attr(a, ROLE_NORMAL));
            char line[320];
            snprintf(line, sizeof line, "%zu %s at the cursor, %s", a->selected,
                     app_modifier_type(a, a->selected), text);
            /* every transition before the modifier's name: on a narrow screen
             * the row number says which modifier */
            if ((int)strlen(line) > cols - 4)
                snprintf(line, sizeof line, "row %zu: %s", a->selected, text);
            ui_put(w, rows - 1, 3, cols - 4, line);
            return;
        }
    }
    draw_legend(a, s, w, rows - 1, cols, shown);
}

/* The call under a column; the cursor's column when `col` is off the axis. */
static size_t call_at(const timeline_state *s, int col)
{
    size_t lo, hi;
    ms_tl_range(&s->tl, col, &lo, &hi);
    return lo < s->tl.n_calls ? lo : s->tl.n_calls ? s->tl.n_calls - 1 : 0;
}

static ui_result compare_open(app *a, timeline_state *s)
{
    if (a->fixed_calls) {
        app_message(a, true, "a scenario's calls are its run: open a recipe to compare runs");
        return UI_REDRAW;
    }
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_status st = ms_comparison_new(a->rec, &a->cfg, &s->vs, &diag);
    if (st != MS_OK) {
        app_message(a, true, "cannot compare: %s",
                    diag.message[0] ? diag.message : ms_status_str(st));
        return UI_REDRAW;
    }
    app_message(a, false, "upstream's run above the intended one: %zu modifier%s differ (u: back)",
                s->vs->n_different, s->vs->n_different == 1 ? "" : "s");
    return UI_REDRAW;
}

static ui_result timeline_command(app *a, void *state, ms_cmd cmd)
{
    timeline_state *s = state;
    if (!a->sim)
        return UI_UNHANDLED;
    size_t pos = ms_sim_position(a->sim);
    size_t anchor = pos ? pos - 1 : 0;
    double step = s->tl.width / 8 > 1 ? s->tl.width / 8 : 1;
    switch (cmd) {
    case MS_CMD_SCROLL_LEFT:
        ms_tl_scroll(&s->tl, -step);
        s->fitted = false;
        return UI_REDRAW;
    case MS_CMD_SCROLL_RIGHT:
        ms_tl_scroll(&s->tl, step);
        s->fitted = false;
        return UI_REDRAW;
    case MS_CMD_ZOOM_IN:
        ms_tl_zoom(&s->tl, 0.5, anchor);
        s->fitted = false;
        return UI_REDRAW;
    case MS_CMD_ZOOM_OUT:
        ms_tl_zoom(&s->tl, 2, anchor);
        s->fitted = false;
        return UI_REDRAW;
    case MS_CMD_ZOOM_FIT:
        s->tl = ms_tl_fit(ms_sim_call_count(a->sim), s->tl.width);
        s->fitted = true;
        return UI_REDRAW;
    case MS_CMD_TOGGLE_CURVE:
        s->show_curve = !s->show_curve;
        return UI_REDRAW;
    case MS_CMD_COMPARE:
        if (s->vs) {
            ms_comparison_free(s->vs);
            s->vs = NULL;
            return UI_REDRAW;
        }
        return compare_open(a, s);
    default:
        return UI_UNHANDLED;
    }
}

static ui_result timeline_click(app *a, void *state, int y, int x)
{
    timeline_state *s = state;
    if (!a->sim || y < 1)
        return UI_UNHANDLED;
    int row = s->scroll + y - 1, acc = 0;
    for (size_t m = 0; m < ms_sim_modifier_count(a->sim); m++) {
        acc += rows_of(a, s, m);
        if (row < acc) {
            app_select(a, m);
            int col = x - (label_width(a->body_cols) + 1);
            if (col >= 0 && col < s->tl.width) {
                a->call_sel = call_at(s, col);
                a->call_follows = false;
                char text[160], column[200];
                ui_call_text(a, a->call_sel, text, sizeof text);
                ms_tl_column_text(a->sim, m, &s->tl, col, column, sizeof column);
                app_message(a, false, "%s selected: Enter explains it; %s", text, column);
            }
            return UI_REDRAW;
        }
    }
    return UI_UNHANDLED;
}

/* A new session shows all of it; a run that stops keeps its last call in view. */
static void timeline_changed(app *a, void *state, ui_change what)
{
    timeline_state *s = state;
    if (what == UI_SESSION_NEW && s->vs) {
        /* the recipe or the run changed: compare the new ones */
        ms_comparison_free(s->vs);
        s->vs = NULL;
        if (a->sim)
            compare_open(a, s);
    }
    if (what == UI_SESSION_NEW) {
        s->tl = ms_tl_fit(ms_sim_call_count(a->sim), s->tl.width > 0 ? s->tl.width : 40);
        s->fitted = true;
        return;
    }
    size_t pos = ms_sim_position(a->sim);
    if (pos)
        ms_tl_follow(&s->tl, pos - 1);
}

static void timeline_close(app *a, void *state)
{
    (void)a;
    timeline_state *s = state;
    ms_comparison_free(s->vs);
    s->vs = NULL;
}

const view_ops timeline_view = {
    .private_size = sizeof(timeline_state),
    .close = timeline_close,
    .draw = timeline_draw,
    .command = timeline_command,
    .click = timeline_click,
    .changed = timeline_changed,
    .enter = &explain_view,
};
