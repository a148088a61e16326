#include "timeline.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const glyphs_utf8[] = {
#define MS_TL_UTF8(id, utf8, ascii, legend) utf8,
    MS_TL_CELL_LIST(MS_TL_UTF8)
#undef MS_TL_UTF8
};
static const char *const glyphs_ascii[] = {
#define MS_TL_ASCII(id, utf8, ascii, legend) ascii,
    MS_TL_CELL_LIST(MS_TL_ASCII)
#undef MS_TL_ASCII
};
static const char *const legends[] = {
#define MS_TL_LEGEND(id, utf8, ascii, legend) legend,
    MS_TL_CELL_LIST(MS_TL_LEGEND)
#undef MS_TL_LEGEND
};

const char *ms_tl_glyph(ms_tl_cell cell, bool utf8)
{
    if ((unsigned)cell >= MS_TL_CELL_COUNT)
        return "?";
    return utf8 ? glyphs_utf8[cell] : glyphs_ascii[cell];
}

const char *ms_tl_legend(ms_tl_cell cell)
{
    return (unsigned)cell < MS_TL_CELL_COUNT ? legends[cell] : "";
}

/* A column never holds less than 1/MAX_COLS_PER_CALL of a call. */
#define MAX_COLS_PER_CALL 8.0

static void clamp(ms_tl_view *v)
{
    if (v->width < 1)
        v->width = 1;
    if (!(v->per_col >= 1.0 / MAX_COLS_PER_CALL))
        v->per_col = 1.0 / MAX_COLS_PER_CALL;
    double visible = v->per_col * v->width;
    double max_first = (double)v->n_calls - visible;
    if (v->first > max_first)
        v->first = max_first;
    if (!(v->first >= 0))
        v->first = 0;
}

ms_tl_view ms_tl_fit(size_t n_calls, int width)
{
    ms_tl_view v = {.n_calls = n_calls, .width = width < 1 ? 1 : width};
    v.per_col = n_calls ? (double)n_calls / v.width : 1;
    clamp(&v);
    return v;
}

int ms_tl_col(const ms_tl_view *v, size_t call)
{
    if (call >= v->n_calls)
        return -1;
    /* the first column that covers any part of the call */
    double c = ((double)call - v->first) / v->per_col;
    double col = floor(c + 1e-9);
    if (col < 0 && (double)call + 1 > v->first)
        col = 0;
    return col < 0 || col >= v->width ? -1 : (int)col;
}

void ms_tl_range(const ms_tl_view *v, int col, size_t *lo, size_t *hi)
{
    /* a call belongs to the column its start falls in */
    double a = v->first + col * v->per_col, b = a + v->per_col;
    double ca = ceil(a - 1e-9), cb = ceil(b - 1e-9);
    if (ca < 0)
        ca = 0;
    if (cb <= ca) {
        /* zoomed in: a later column of a call wider than one column */
        double f = floor(a + 1e-9);
        ca = cb = f < 0 ? 0 : f;
    }
    *lo = ca > (double)v->n_calls ? v->n_calls : (size_t)ca;
    *hi = cb > (double)v->n_calls ? v->n_calls : (size_t)cb;
}

void ms_tl_zoom(ms_tl_view *v, double factor, size_t anchor)
{
    int col = ms_tl_col(v, anchor);
    double anchor_col = col < 0 ? v->width / 2.0 : col;
    if (col < 0)
        anchor = (size_t)(v->first + anchor_col * v->per_col);
    double max = v->n_calls ? (double)v->n_calls / v->width : 1;
    v->per_col *= factor;
    if (v->per_col > max && max >= 1.0 / MAX_COLS_PER_CALL)
        v->per_col = max;
    if (v->per_col < 1.0 / MAX_COLS_PER_CALL)
        v->per_col = 1.0 / MAX_COLS_PER_CALL;
    v->first = (double)anchor - anchor_col * v->per_col;
    clamp(v);
}

void ms_tl_scroll(ms_tl_view *v, double cols)
{
    v->first += cols * v->per_col;
    clamp(v);
}

void ms_tl_resize(ms_tl_view *v, int width)
{
    v->width = width;
    clamp(v);
}

void ms_tl_follow(ms_tl_view *v, size_t call)
{
    double right = v->first + v->per_col * v->width;
    if ((double)call < v->first)
        v->first = (double)call;
    else if ((double)call + 1 > right)
        v->first = (double)call + 1 - v->per_col * v->width;
    clamp(v);
}

/* First element whose call is >= `call`. */
static size_t mark_lower(const ms_sim_mark *marks, size_t n, size_t call)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (marks[mid].call < call)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First span that ends at or after `call`. */
static size_t span_lower(const ms_sim_span *spans, size_t n, size_t call)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (spans[mid].last < call)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static ms_tl_cell hook_cell(ms_hook hook)
{
    switch (hook) {
    case MS_HOOK_ON_INITIALIZE:
        return MS_TL_INIT;
    case MS_HOOK_ON_START:
        return MS_TL_START;
    case MS_HOOK_ON_END:
        return MS_TL_END;
    case MS_HOOK_ON_FINALIZE:
        return MS_TL_FINAL;
    case MS_HOOK_ON_UPDATE:
    case MS_HOOK_ON_SEQUENTIAL_EPOCH_END:
        return MS_TL_UPDATE;
    case MS_HOOK_ON_CALIBRATION_START:
        return MS_TL_CAL_START;
    case MS_HOOK_ON_CALIBRATION_END:
        return MS_TL_CAL_END;
    default:
        return MS_TL_ERROR;
    }
}

/* A mark that changes the modifier's state or reports a raise: what a
 * column must never hide (on_update and sequential_epoch_end only run). */
static bool is_transition(ms_hook hook)
{
    return hook_cell(hook) != MS_TL_UPDATE;
}

/* Whether call `call` ran on_end: its later columns then show the state
 * after it, so an on_update in the same call does not read as updating
 * after the end. */
static bool call_ended(const ms_sim_mark *marks, size_t n, size_t call)
{
    for (size_t i = mark_lower(marks, n, call); i < n && marks[i].call == call; i++)
        if (marks[i].hook == MS_HOOK_ON_END)
            return true;
    return false;
}

static ms_tl_cell state_cell(unsigned flags)
{
    /* nothing runs after on_finalize, whether or not the modifier started or ended */
    if (flags & MS_FLAG_FINALIZED)
        return MS_TL_NONE;
    if ((flags & MS_FLAG_STARTED) && !(flags & MS_FLAG_ENDED))
        return MS_TL_ACTIVE;
    if ((flags & MS_FLAG_INITIALIZED) && !(flags & (MS_FLAG_STARTED | MS_FLAG_ENDED)))
        return MS_TL_IDLE;
    return MS_TL_NONE;
}

void ms_tl_row(const ms_sim *sim, size_t modifier, const ms_tl_view *v, ms_tl_cell *cells)
{
    size_t n_marks, n_spans, explored = ms_sim_explored(sim);
    const ms_sim_mark *marks = ms_sim_marks(sim, modifier, &n_marks);
    const ms_sim_span *spans = ms_sim_updates(sim, modifier, &n_spans);
    size_t start_call = ms_sim_start_call(sim, modifier);
    size_t end_call = ms_sim_end_call(sim, modifier);
    for (int col = 0; col < v->width; col++) {
        size_t lo, hi;
        ms_tl_range(v, col, &lo, &hi);
        size_t first_call = lo;
        if (lo >= explored || (lo == hi && lo >= v->n_calls)) {
            cells[col] = lo >= v->n_calls ? MS_TL_NONE : MS_TL_UNEXPLORED;
            continue;
        }
        if (hi > explored)
            hi = explored;
        ms_tl_cell best = MS_TL_NONE;
        if (lo == hi) {
            /* a later column of a call wider than one column: the span, not the marks */
            size_t s = span_lower(spans, n_spans, lo);
            cells[col] = s < n_spans && spans[s].first <= lo && !call_ended(marks, n_marks, lo)
                             ? MS_TL_UPDATE
                             : state_cell(ms_sim_flags_at(sim, modifier, lo + 1));
            continue;
        }
        size_t transitions = 0;
        for (size_t i = mark_lower(marks, n_marks, lo); i < n_marks && marks[i].call < hi; i++) {
            ms_tl_cell c = hook_cell(marks[i].hook);
            transitions += is_transition(marks[i].hook);
            if (c > best)
                best = c;
        }
        if (transitions > 1) {
            cells[col] = MS_TL_SEVERAL;
            continue;
        }
        if (best < MS_TL_UPDATE) {
            size_t s = span_lower(spans, n_spans, lo);
            if (s < n_spans && spans[s].first < hi)
                best = MS_TL_UPDATE;
        }
        if (best < MS_TL_START_MARK) {
            if (end_call >= first_call && end_call < hi)
                best = MS_TL_END_MARK;
            else if (start_call >= first_call && start_call < hi)
                best = MS_TL_START_MARK;
        }
        if (best == MS_TL_NONE)
            best = state_cell(ms_sim_flags_at(sim, modifier, hi));
        cells[col] = best;
    }
}

size_t ms_tl_column_text(const ms_sim *sim, size_t modifier, const ms_tl_view *v, int col,
                         char *text, size_t cap)
{
    if (!cap)
        return 0;
    size_t lo, hi, n_marks, explored = ms_sim_explored(sim);
    ms_tl_range(v, col, &lo, &hi);
    if (lo >= v->n_calls) {
        snprintf(text, cap, "past the last call");
        return 0;
    }
    if (hi == lo)
        hi = lo + 1;
    size_t len = hi - lo == 1 ? (size_t)snprintf(text, cap, "call %zu:", lo)
                              : (size_t)snprintf(text, cap, "calls %zu-%zu:", lo, hi - 1);
    const ms_sim_mark *marks = ms_sim_marks(sim, modifier, &n_marks);
    size_t listed = 0, end = hi < explored ? hi : explored;
    for (size_t i = mark_lower(marks, n_marks, lo); i < n_marks && marks[i].call < end; i++) {
        if (!is_transition(marks[i].hook) || len >= cap)
            continue;
        len += (size_t)snprintf(text + len, cap - len, "%s %s at %zu", listed ? "," : "",
                                ms_tl_glyph(hook_cell(marks[i].hook), false), marks[i].call);
        listed++;
    }
    if (!listed && len < cap)
        snprintf(text + len, cap - len, hi > explored ? " not simulated yet" : " no transition");
    return listed;
}

void ms_tl_metric_row(const ms_sim *sim, size_t modifier, const ms_tl_view *v, double *values)
{
    for (int col = 0; col < v->width; col++) {
        size_t lo, hi;
        ms_tl_range(v, col, &lo, &hi);
        double value;
        if (hi == lo && lo < v->n_calls)
            hi = lo + 1;
        values[col] = hi > lo && ms_sim_metric_at(sim, modifier, hi - 1, &value) ? value : NAN;
    }
}

int ms_tl_level(double value, double lo, double hi, int levels)
{
    if (levels < 1 || isnan(value))
        return 0;
    if (!(hi > lo))
        return value >= hi ? levels - 1 : 0;
    double t = (value - lo) / (hi - lo);
    int level = (int)lround(t * (levels - 1));
    return level < 0 ? 0 : level >= levels ? levels - 1 : level;
}

void ms_tl_ruler(const ms_sim *sim, const ms_tl_view *v, char *line, size_t cap)
{
    if (!cap)
        return;
    size_t width = (size_t)v->width < cap - 1 ? (size_t)v->width : cap - 1;
    memset(line, ' ', width);
    line[width] = '\0';
    bool calibration_labelled = false;
    size_t next_free = 0; /* labels never overlap: one blank between them */
    for (size_t col = 0; col < width; col++) {
        size_t lo, hi;
        ms_tl_range(v, (int)col, &lo, &hi);
        if (col < next_free || lo >= v->n_calls || lo == hi)
            continue;
        const ms_call *c = ms_sim_call(sim, lo);
        char label[32];
        bool event = c->kind == MS_CALL_EVENT || c->kind == MS_CALL_MODIFIER_UPDATE_EVENT;
        bool calibration = event && c->event.type >= MS_EV_CALIBRATION_EPOCH_START &&
                           c->event.type <= MS_EV_CALIBRATION_EPOCH_END;
        if (c->kind == MS_CALL_INITIALIZE || c->kind == MS_CALL_MODIFIER_INITIALIZE)
            snprintf(label, sizeof label, "init");
        else if (c->kind == MS_CALL_FINALIZE || c->kind == MS_CALL_MODIFIER_FINALIZE)
            snprintf(label, sizeof label, "fin");
        else if (calibration) {
            if (calibration_labelled)
                continue;
            snprintf(label, sizeof label, "cal");
        } else if (col % 10 == 0 || col == 0)
            snprintf(label, sizeof label, "%g", ms_event_current_index(&c->event));
        else
            continue;
        size_t len = strlen(label);
        if (col + len > width)
            continue;
        memcpy(line + col, label, len);
        next_free = col + len + 1;
        calibration_labelled |= calibration;
    }
}
