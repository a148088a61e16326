/* Timeline layout: pure functions from a session's history to cells on a
 * screen, so the layout is tested without a terminal.
 *
 * The axis is the list of calls (training events then calibration events,
 * in order); columns map to call ranges, labelled with the event index. A
 * view is a window on that axis: zoomed (calls per column, below 1 when a
 * call is wider than a column) and scrolled. */
#ifndef MS_TIMELINE_H
#define MS_TIMELINE_H

#include <stddef.h>

#include "sim/sim.h"

typedef struct ms_tl_view {
    size_t n_calls; /* calls on the axis */
    double first;   /* call at the left edge */
    double per_col; /* calls per column, > 0 */
    int width;      /* columns */
} ms_tl_view;

/* The whole axis in `width` columns. */
ms_tl_view ms_tl_fit(size_t n_calls, int width);
/* Multiplies calls per column by `factor` (< 1 zooms in), keeping `anchor`
 * in its column when it is visible. */
void ms_tl_zoom(ms_tl_view *v, double factor, size_t anchor);
/* Moves the window by `cols` columns, within the axis. */
void ms_tl_scroll(ms_tl_view *v, double cols);
/* A new width, same zoom. */
void ms_tl_resize(ms_tl_view *v, int width);
/* Scrolls the least needed for `call` to be visible. */
void ms_tl_follow(ms_tl_view *v, size_t call);
/* The column showing `call`, or -1 when it is outside the window. */
int ms_tl_col(const ms_tl_view *v, size_t call);
/* Calls [lo, hi) that column `col` covers; lo == hi past the axis end. */
void ms_tl_range(const ms_tl_view *v, int col, size_t *lo, size_t *hi);

/* What a cell shows, lowest priority first; a column shows the highest
 * thing that happened in its range, and MS_TL_SEVERAL when its range holds
 * more than one transition (I, S, E, F, !, s, e), so zooming out never hides
 * one: ms_tl_column_text lists them. */
#define MS_TL_CELL_LIST(X)                                                                         \
    X(MS_TL_NONE, " ", " ", "not initialized, or done")                                            \
    X(MS_TL_UNEXPLORED, " ", " ", "not simulated yet")                                             \
    X(MS_TL_IDLE, "\u00b7", ".", "initialized, waiting to start")                                  \
    X(MS_TL_ACTIVE, "\u2500", "-", "active (started, not ended)")                                  \
    X(MS_TL_UPDATE, "\u2501", "=", "on_update ran")                                                \
    X(MS_TL_START_MARK, "[", "[", "the index reaches start")                                       \
    X(MS_TL_END_MARK, "]", "]", "the index reaches end")                                           \
    X(MS_TL_CAL_START, "s", "s", "on_calibration_start (0.13)")                                    \
    X(MS_TL_CAL_END, "e", "e", "on_calibration_end (0.13)")                                        \
    X(MS_TL_FINAL, "F", "F", "on_finalize")                                                        \
    X(MS_TL_INIT, "I", "I", "on_initialize")                                                       \
    X(MS_TL_START, "S", "S", "on_start")                                                           \
    X(MS_TL_END, "E", "E", "on_end")                                                               \
    X(MS_TL_ERROR, "!", "!", "raised an error")                                                    \
    X(MS_TL_SEVERAL, "\u25c6", "*", "several transitions in one column")

typedef enum {
#define MS_TL_CELL_ENUM(id, utf8, ascii, legend) id,
    MS_TL_CELL_LIST(MS_TL_CELL_ENUM)
#undef MS_TL_CELL_ENUM
        MS_TL_CELL_COUNT
} ms_tl_cell;

const char *ms_tl_glyph(ms_tl_cell cell, bool utf8);
const char *ms_tl_legend(ms_tl_cell cell);

/* One modifier's row: `v->width` cells. */
void ms_tl_row(const ms_sim *sim, size_t modifier, const ms_tl_view *v, ms_tl_cell *cells);

/* What column `col` of the modifier's row holds, for the message line:
 * "calls 40-61: S at 44, E at 58" (one call: "call 44: ..."), "no
 * transition" when it holds none; NUL-terminated within `cap`. Returns the
 * number of transitions listed. */
size_t ms_tl_column_text(const ms_sim *sim, size_t modifier, const ms_tl_view *v, int col,
                         char *text, size_t cap);

/* The modifier's metric per column (the last sample in the column's range),
 * NAN where there is none. */
void ms_tl_metric_row(const ms_sim *sim, size_t modifier, const ms_tl_view *v, double *values);

/* A value in [lo, hi] as one of `levels` bar heights 0..levels-1. */
int ms_tl_level(double value, double lo, double hi, int levels);

/* The axis labels: `v->width` characters (NUL-terminated, `cap` > width):
 * "init", "fin" and "cal" (where calibration begins) once each, and the
 * event index at evenly spaced round values (multiples of 1, 2, 2.5 or 5
 * times a power of ten, the finest that keeps the labels apart), each at the
 * column where the index reaches it, so no label repeats. */
void ms_tl_ruler(const ms_sim *sim, const ms_tl_view *v, char *line, size_t cap);

#endif
