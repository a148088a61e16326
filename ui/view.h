/* A screen is a table of operations over a private state: the app callocs
 * `private_size` bytes for each screen when it opens a file, calls `open`,
 * passes the state to every operation, and calls `close` before freeing it
 * (tig's view ops). The screens themselves are VIEW_LIST (views.h). */
#ifndef MS_UI_VIEW_H
#define MS_UI_VIEW_H

#include <curses.h>
#include <stddef.h>

#include "keymap.h"
#include "views.h"

/* What handling a key changed (htop's HandlerResult). */
typedef enum {
    UI_UNHANDLED, /* not for this view */
    UI_HANDLED,   /* nothing to redraw */
    UI_REDRAW,    /* the body changed */
    UI_REDRAW_ALL,
    UI_QUIT,
} ui_result;

/* What happened to the session, for the screens that keep state about it. */
typedef enum {
    UI_SESSION_NEW,   /* a new session (a file opened, the schedule or pipeline changed) */
    UI_SESSION_MOVED, /* a run stopped: the position moved */
} ui_change;

typedef struct app app;

typedef struct view_ops {
    size_t private_size;
    /* every operation but draw is optional */
    void (*open)(app *a, void *state);
    void (*close)(app *a, void *state);
    void (*draw)(app *a, void *state, WINDOW *win, int rows, int cols);
    /* a key before the keymap sees it (text being typed); UI_UNHANDLED
     * passes it on */
    ui_result (*input)(app *a, void *state, int key);
    ui_result (*command)(app *a, void *state, ms_cmd cmd);
    /* a click at (y, x) inside the body */
    ui_result (*click)(app *a, void *state, int y, int x);
    void (*changed)(app *a, void *state, ui_change what);
    /* the scope of the keys now, when it is not the screen's own */
    ms_scope (*scope)(const app *a, const void *state);
    /* the screen Enter (select) opens, NULL for none */
    const struct view_ops *enter;
    /* `/` on this screen searches what it shows (from after its cursor,
     * wrapping), reporting in the message line; NULL: modifier names.
     * `searches` names what it searches, for the prompt. */
    void (*search)(app *a, void *state, const char *text);
    const char *searches;
} view_ops;

typedef enum {
#define VIEW_ENUM(id, ops, name, key, help) VIEW_##id,
    VIEW_LIST(VIEW_ENUM)
#undef VIEW_ENUM
        VIEW_COUNT
} view_id;

#define VIEW_DECLARE(id, ops, name, key, help) extern const view_ops ops;
VIEW_LIST(VIEW_DECLARE)
#undef VIEW_DECLARE

#endif
