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

/* What a call is on the axis. */
typedef enum { AXIS_TRAINING, AXIS_CALIBRATION, AXIS_INIT, AXIS_FINAL, AXIS_OTHER } axis_kind;

static axis_kind axis_kind_of(const ms_call *c, double *index)
{
    if (c->kind == MS_CALL_INITIALIZE || c->kind == MS_CALL_MODIFIER_INITIALIZE)
        return AXIS_INIT;
    if (c->kind == MS_CALL_FINALIZE || c->kind == MS_CALL_MODIFIER_FINALIZE)
        return AXIS_FINAL;
    if (c->kind != MS_CALL_EVENT && c->kind != MS_CALL_MODIFIER_UPDATE_EVENT)
        return AXIS_OTHER;
    if (c->event.type >= MS_EV_CALIBRATION_EPOCH_START &&
        c->event.type <= MS_EV_CALIBRATION_EPOCH_END)
        return AXIS_CALIBRATION;
    *index = ms_event_current_index(&c->event);
    return AXIS_TRAINING;
}

enum { MAX_RULER = 4096, LABEL_CAP = 24 };

/* A column's training calls: the largest index among them, -INFINITY when none. */
typedef struct ruler_col {
    double max;
    bool init, final, calibration;
} ruler_col;

/* Places the multiples of `step` in (before, ...] at the column where the
 * running largest index first reaches each; false when two land in one
 * column or closer than `gap`, so a coarser step is needed. */
static bool place_ticks(const ruler_col *cols, size_t width, double before, double step, size_t gap,
                        int *tick_col, double *tick_val, size_t *n_ticks)
{
    size_t n = 0;
    double reached = before;
    for (size_t col = 0; col < width; col++) {
        if (!(cols[col].max > reached))
            continue;
        /* the multiples in (reached, max] */
        double k = floor(reached / step + 1e-9) + 1;
        double v = k * step;
        if (v > cols[col].max + 1e-9 * step) {
            reached = cols[col].max;
            continue;
        }
        if ((k + 1) * step <= cols[col].max + 1e-9 * step)
            return false;
        if (n && (size_t)(col - (size_t)tick_col[n - 1]) < gap)
            return false;
        if (n == MAX_RULER)
            return false;
        tick_col[n] = (int)col;
        tick_val[n++] = fabs(v) < step * 1e-9 ? 0 : v;
        reached = cols[col].max;
    }
    *n_ticks = n;
    return true;
}

void ms_tl_ruler(const ms_sim *sim, const ms_tl_view *v, char *line, size_t cap)
{
    if (!cap)
        return;
    size_t width = (size_t)v->width < cap - 1 ? (size_t)v->width : cap - 1;
    if (width > MAX_RULER)
        width = MAX_RULER;
    memset(line, ' ', width);
    line[width] = '\0';
    ruler_col cols[MAX_RULER];
    double lowest = INFINITY, highest = -INFINITY;
    size_t first_call = v->n_calls;
    for (size_t col = 0; col < width; col++) {
        size_t lo, hi;
        ms_tl_range(v, (int)col, &lo, &hi);
        cols[col] = (ruler_col){.max = -INFINITY};
        if (lo < first_call && lo < hi)
            first_call = lo;
        for (size_t i = lo; i < hi && i < v->n_calls; i++) {
            double index = 0;
            switch (axis_kind_of(ms_sim_call(sim, i), &index)) {
            case AXIS_TRAINING:
                if (index > cols[col].max)
                    cols[col].max = index;
                if (index < lowest)
                    lowest = index;
                if (index > highest)
                    highest = index;
                break;
            case AXIS_CALIBRATION:
                cols[col].calibration = true;
                break;
            case AXIS_INIT:
                cols[col].init = true;
                break;
            case AXIS_FINAL:
                cols[col].final = true;
                break;
            case AXIS_OTHER:
                break;
            }
        }
    }
    /* the index already reached left of the window: its values are not new here */
    double before = -INFINITY;
    for (size_t i = first_call; i-- > 0;) {
        double index = 0;
        if (axis_kind_of(ms_sim_call(sim, i), &index) == AXIS_TRAINING) {
            before = index;
            break;
        }
    }
    /* the named places first, once each; the index labels fill in around them */
    bool taken[MAX_RULER] = {false};
    bool named[3] = {false};
    static const char *const names[] = {"init", "cal", "fin"};
    for (size_t col = 0; col < width; col++) {
        bool here[3] = {cols[col].init, cols[col].calibration, cols[col].final};
        for (int k = 0; k < 3; k++) {
            size_t len = strlen(names[k]);
            if (!here[k] || named[k] || col + len > width)
                continue;
            named[k] = true;
            bool clear = true;
            for (size_t c = col; c < col + len; c++)
                clear &= !taken[c];
            if (!clear)
                continue;
            memcpy(line + col, names[k], len);
            for (size_t c = col ? col - 1 : 0; c <= col + len && c < width; c++)
                taken[c] = true;
        }
    }
    if (highest == -INFINITY)
        return;
    /* the first index in view is a value reached here: start just below it, so
     * that only it (not the multiples below it) is new in its column */
    if (before == -INFINITY)
        before = lowest - 1e-6 * (highest > lowest ? highest - lowest : 1);
    int tick_col[MAX_RULER];
    double tick_val[MAX_RULER];
    size_t n_ticks = 0;
    bool placed = false;
    double span = highest - (before > lowest ? before : lowest);
    double unit = pow(10, floor(log10(span > 0 ? span / (double)width : 1e-6)) - 1);
    static const double mantissas[] = {1, 2, 2.5, 5};
    for (int decade = 0; decade < 12 && !placed; decade++, unit *= 10)
        for (size_t k = 0; k < sizeof mantissas / sizeof mantissas[0] && !placed; k++) {
            double step = unit * mantissas[k];
            char widest[LABEL_CAP];
            /* the widest label decides the gap: one blank between labels and room to read */
            int len = snprintf(widest, sizeof widest, "%g",
                               fabs(highest) > fabs(lowest) ? -fabs(highest) : -fabs(lowest));
            size_t gap = (size_t)len + 2 > 8 ? (size_t)len + 2 : 8;
            placed = place_ticks(cols, width, before, step, gap, tick_col, tick_val, &n_ticks);
        }
    if (!placed)
        return;
    for (size_t t = 0; t < n_ticks; t++) {
        char label[LABEL_CAP];
        size_t len = (size_t)snprintf(label, sizeof label, "%g", tick_val[t]);
        size_t col = (size_t)tick_col[t];
        if (col + len > width)
            continue;
        bool clear = true;
        for (size_t c = col; c < col + len; c++)
            clear &= !taken[c];
        if (clear)
            memcpy(line + col, label, len);
    }
}
