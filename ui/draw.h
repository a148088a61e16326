/* Drawing helpers the screens share: colours by meaning, clipped text,
 * rules, word wrap, the texts of flags and calls, list scrolling. */
#ifndef MS_UI_DRAW_H
#define MS_UI_DRAW_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "keymap.h"

typedef struct app app;

/* Colours and attributes by meaning; plain attributes under NO_COLOR. */
typedef enum {
    ROLE_NORMAL,
    ROLE_TITLE,
    ROLE_DIM,
    ROLE_SELECTED,
    ROLE_CURSOR,
    ROLE_ACTIVE,
    ROLE_START,
    ROLE_END,
    ROLE_ERROR,
    ROLE_FLAG,
    ROLE_COUNT
} role;

attr_t ui_attr(const app *a, role r);
/* Writes at most `width` columns of `text` (ASCII or UTF-8). */
void ui_put(WINDOW *w, int y, int x, int width, const char *text);
void ui_putf(WINDOW *w, int y, int x, int width, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A horizontal rule, box drawing or '-'. */
void ui_hline(const app *a, WINDOW *w, int y, int x, int width);
/* "✓" or "x" for a set flag, "·" or "." for a clear one. */
const char *ui_check(const app *a, bool set);
/* Word-wraps `text` into lines of `width` from (y, x); returns the lines used,
 * at most `max_lines` (a NULL window only counts them). */
int ui_wrap(WINDOW *w, int y, int x, int width, int max_lines, const char *text);
/* The text ui_wrap leaves after `lines` lines of `width`. */
void ui_wrap_rest(const char *text, int width, int lines, char *out, size_t cap);
/* "initialized, started" or "none". */
void ui_flags_text(unsigned flags, char *buf, size_t cap);
/* "call 7/26 batch_start, step 1, index 0.25" */
void ui_call_text(const app *a, size_t call, char *buf, size_t cap);
/* Keeps `sel` visible in a list of `rows` rows starting at *first. */
void ui_scroll_to(int *first, int sel, int rows);
/* Moves the selection `*sel` of a list of `n` items for the navigation
 * commands (up, down, page up/down by `page`, first, last), clamped to the
 * list; false when `cmd` is not one of them. */
bool ui_list_move(ms_cmd cmd, size_t *sel, size_t n, size_t page);

#endif
