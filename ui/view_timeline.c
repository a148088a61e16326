/* Timeline: one row per modifier on the axis of calls, each hook a glyph
 * where it fired, the active span drawn between start and end, the last call
 * run as a cursor column; pruning rows can show their sparsity curve. */
#include "app.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { MAX_COLS = 1024 };

/* 30 columns fit "  0 MagnitudePruningModifier" at 80 columns */
static int label_width(int cols)
{
    int w = cols * 3 / 8;
    return w > 30 ? 30 : w;
}

/* Keeps the axis as wide as the screen; a fitted axis stays fitted. */
static void sync_axis(app *a, int width)
{
    size_t n = ms_sim_call_count(a->sim);
    if (width > MAX_COLS)
        width = MAX_COLS;
    if (a->tl.n_calls != n || (a->tl_fitted && a->tl.width != width))
        a->tl = ms_tl_fit(n, width);
    else if (a->tl.width != width)
        ms_tl_resize(&a->tl, width);
}

static bool has_curve(const app *a, size_t m)
{
    return a->show_curve && ms_sim_metric_name(a->sim, m);
}

static int rows_of(const app *a, size_t m)
{
    return has_curve(a, m) ? 2 : 1;
}

static role cell_role(ms_tl_cell c)
{
    switch (c) {
    case MS_TL_START:
        return ROLE_START;
    case MS_TL_END:
        return ROLE_END;
    case MS_TL_ERROR:
        return ROLE_ERROR;
    case MS_TL_ACTIVE:
    case MS_TL_UPDATE:
        return ROLE_ACTIVE;
    case MS_TL_INIT:
    case MS_TL_FINAL:
        return ROLE_TITLE;
    default:
        return ROLE_DIM;
    }
}

static void draw_curve(app *a, WINDOW *w, int y, int x0, size_t m, int cursor)
{
    static const char *const bars_utf8[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                            "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char bars_ascii[] = "_.-~=+*#";
    double values[MAX_COLS];
    ms_tl_metric_row(a->sim, m, &a->tl, values);
    for (int c = 0; c < a->tl.width; c++) {
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

static void draw_legend(app *a, WINDOW *w, int y, int cols)
{
    static const struct {
        ms_tl_cell cell;
        const char *word;
    } items[] = {{MS_TL_INIT, "init"},     {MS_TL_START, "start"},  {MS_TL_UPDATE, "update"},
                 {MS_TL_ACTIVE, "active"}, {MS_TL_IDLE, "waiting"}, {MS_TL_END, "end"},
                 {MS_TL_FINAL, "final"},   {MS_TL_ERROR, "error"}};
    int x = 1;
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
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
    if (a->tl.per_col >= 1)
        snprintf(zoom, sizeof zoom, "%.3g calls/col", a->tl.per_col);
    else
        snprintf(zoom, sizeof zoom, "%.3g cols/call", 1 / a->tl.per_col);
    int len = (int)strlen(zoom);
    if (x + len + 2 < cols)
        ui_put(w, y, cols - len - 1, len, zoom);
    wattrset(w, ui_attr(a, ROLE_NORMAL));
}

static void timeline_draw(app *a, WINDOW *w, int rows, int cols)
{
    if (!a->sim) {
        ui_put(w, 0, 1, cols - 2, "Nothing to show: the recipe did not load (1: Schedule).");
        return;
    }
    int lw = label_width(cols), x0 = lw + 1;
    sync_axis(a, cols - x0);
    size_t pos = ms_sim_position(a->sim);
    int cursor = pos ? ms_tl_col(&a->tl, pos - 1) : -1;

    char ruler[MAX_COLS + 1];
    ms_tl_ruler(a->sim, &a->tl, ruler, sizeof ruler);
    wattrset(w, ui_attr(a, ROLE_TITLE));
    ui_put(w, 0, 1, lw - 1, a->cfg.epoch_index && !a->fixed_calls ? "epoch" : "index");
    wattrset(w, ui_attr(a, ROLE_DIM));
    ui_put(w, 0, x0, a->tl.width, ruler);
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
        sel_row += rows_of(a, m);
    int first = a->scroll[VIEW_TIMELINE];
    if (sel_row < first)
        first = sel_row;
    else if (sel_row + rows_of(a, a->selected) > first + visible)
        first = sel_row + rows_of(a, a->selected) - visible;
    if (first < 0)
        first = 0;
    a->scroll[VIEW_TIMELINE] = first;

    ms_tl_cell cells[MAX_COLS];
    int row = 0, y = 1;
    for (size_t m = 0; m < n && y <= visible; m++) {
        int r = rows_of(a, m);
        if (row + r <= first) {
            row += r;
            continue;
        }
        row += r;
        wattrset(w, ui_attr(a, m == a->selected ? ROLE_SELECTED : ROLE_NORMAL));
        ui_putf(w, y, 0, lw, "%3zu %-*s", m, lw, app_modifier_type(a, m));
        ms_tl_row(a->sim, m, &a->tl, cells);
        for (int c = 0; c < a->tl.width; c++) {
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
            wattrset(w, ui_attr(a, ROLE_DIM));
            if (has)
                ui_putf(w, y, 4, lw - 4, "%s %.3f", name, v);
            else
                ui_putf(w, y, 4, lw - 4, "%s -", name);
            draw_curve(a, w, y, x0, m, cursor);
            y++;
        }
    }
    draw_legend(a, w, rows - 1, cols);
}

/* The call under a column; the cursor's column when `col` is off the axis. */
static size_t call_at(const app *a, int col)
{
    size_t lo, hi;
    ms_tl_range(&a->tl, col, &lo, &hi);
    return lo < a->tl.n_calls ? lo : a->tl.n_calls ? a->tl.n_calls - 1 : 0;
}

static ui_result timeline_command(app *a, ms_cmd cmd)
{
    if (!a->sim)
        return UI_UNHANDLED;
    size_t pos = ms_sim_position(a->sim);
    size_t anchor = pos ? pos - 1 : 0;
    double step = a->tl.width / 8 > 1 ? a->tl.width / 8 : 1;
    switch (cmd) {
    case MS_CMD_SCROLL_LEFT:
        ms_tl_scroll(&a->tl, -step);
        a->tl_fitted = false;
        return UI_REDRAW;
    case MS_CMD_SCROLL_RIGHT:
        ms_tl_scroll(&a->tl, step);
        a->tl_fitted = false;
        return UI_REDRAW;
    case MS_CMD_ZOOM_IN:
        ms_tl_zoom(&a->tl, 0.5, anchor);
        a->tl_fitted = false;
        return UI_REDRAW;
    case MS_CMD_ZOOM_OUT:
        ms_tl_zoom(&a->tl, 2, anchor);
        a->tl_fitted = false;
        return UI_REDRAW;
    case MS_CMD_ZOOM_FIT:
        a->tl = ms_tl_fit(ms_sim_call_count(a->sim), a->tl.width);
        a->tl_fitted = true;
        return UI_REDRAW;
    case MS_CMD_TOGGLE_CURVE:
        a->show_curve = !a->show_curve;
        return UI_REDRAW;
    default:
        return UI_UNHANDLED;
    }
}

static ui_result timeline_click(app *a, int y, int x)
{
    if (!a->sim || y < 1)
        return UI_UNHANDLED;
    int row = a->scroll[VIEW_TIMELINE] + y - 1, acc = 0;
    for (size_t m = 0; m < ms_sim_modifier_count(a->sim); m++) {
        acc += rows_of(a, m);
        if (row < acc) {
            app_select(a, m);
            int col = x - (label_width(a->body_cols) + 1);
            if (col >= 0 && col < a->tl.width) {
                a->explain_call = call_at(a, col);
                a->explain_follows = false;
                char text[160];
                ui_call_text(a, a->explain_call, text, sizeof text);
                app_message(a, false, "%s selected: Enter explains it", text);
            }
            return UI_REDRAW;
        }
    }
    return UI_UNHANDLED;
}

const view_ops timeline_view = {
    .name = "Timeline",
    .scope = MS_SCOPE_TIMELINE,
    .draw = timeline_draw,
    .command = timeline_command,
    .click = timeline_click,
};
