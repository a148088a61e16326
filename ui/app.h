/* Inside the terminal UI: the application state, the view operations
 * tables and the drawing helpers the views share. Not installed; the
 * benchmark and the UI tests use it to drive the app without a terminal. */
#ifndef MS_UI_APP_H
#define MS_UI_APP_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "recipe/recipe.h"
#include "recipe/schema.h"
#include "draft/draft.h"
#include "scenario/scenario.h"
#include "sim/keymap.h"
#include "sim/pipeline.h"
#include "sim/sim.h"
#include "sim/timeline.h"

/* What handling a key changed (htop's HandlerResult). */
typedef enum {
    UI_UNHANDLED, /* not for this view */
    UI_HANDLED,   /* nothing to redraw */
    UI_REDRAW,    /* the body changed */
    UI_REDRAW_ALL,
    UI_QUIT,
} ui_result;

typedef struct app app;

/* A screen is a table of operations; the list of screens is VIEW_LIST. */
typedef struct view_ops {
    const char *name;
    ms_scope scope;
    void (*draw)(app *a, WINDOW *win, int rows, int cols);
    ui_result (*command)(app *a, ms_cmd cmd);
    /* a click at (y, x) inside the body */
    ui_result (*click)(app *a, int y, int x);
} view_ops;

#define VIEW_LIST(X)                                                                               \
    X(VIEW_SCHEDULE, schedule_view)                                                                \
    X(VIEW_TIMELINE, timeline_view)                                                                \
    X(VIEW_STEPPER, stepper_view)                                                                  \
    X(VIEW_EXPLAIN, explain_view)                                                                  \
    X(VIEW_HELP, help_view)

typedef enum {
#define VIEW_ENUM(id, ops) id,
    VIEW_LIST(VIEW_ENUM)
#undef VIEW_ENUM
        VIEW_COUNT
} view_id;

#define VIEW_DECLARE(id, ops) extern const view_ops ops;
VIEW_LIST(VIEW_DECLARE)
#undef VIEW_DECLARE

/* The modifier form: not a tab of its own but the Schedule screen while a
 * modifier is being edited (scope MS_SCOPE_FORM). */
extern const view_ops form_view;

/* What the message line is asking for, keys going to it until answered. */
typedef enum { PROMPT_NONE, PROMPT_BREAK_INDEX, PROMPT_SAVE_PATH, PROMPT_QUIT } prompt_kind;

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

/* A long simulation in progress: an exploration that returns to where the
 * user was, or a user's run. */
typedef enum { JOB_NONE, JOB_EXPLORE, JOB_RUN } job_kind;

struct app {
    /* the model */
    char source[512];  /* what was opened, as shown */
    ms_recipe *recipe; /* owned when opened as a recipe */
    ms_scenario *scenario;
    const ms_recipe *rec; /* the recipe in use, NULL when loading failed */
    bool load_failed;
    ms_diag load_diag;
    char diag_line[256]; /* the source line the diagnostic points at */
    ms_pipeline_config cfg;
    bool fixed_calls; /* a scenario's calls: the pipeline keys do not apply */
    ms_sim *sim;
    /* selections shared by the screens */
    size_t selected;     /* modifier */
    size_t explain_call; /* call the Explain screen shows */
    bool explain_follows;
    int hook_break; /* the hook of the hook breakpoint, -1 for none */
    ms_tl_view tl;
    bool tl_fitted; /* keep the whole run visible until the user zooms */
    bool show_curve;
    int scroll[VIEW_COUNT]; /* first row shown, per screen */
    /* jobs */
    job_kind job;
    size_t explore_return; /* where an exploration leaves the position */
    /* the screen */
    view_id view;
    bool utf8, color;
    attr_t attrs[ROLE_COUNT];
    int rows, cols;
    bool too_small;
    WINDOW *w_tabs, *w_body, *w_msg, *w_status;
    unsigned dirty;            /* DIRTY_* */
    int tab_x[VIEW_COUNT + 1]; /* where each tab starts, for clicks */
    char message[512];
    bool message_error;
    prompt_kind prompting;
    char prompt[512];
    /* editing (recipes only; NULL for scenarios and files that did not load) */
    ms_schema *schema;
    ms_draft *draft;
    bool sim_stale;      /* the schedule has errors: the session is of the last good one */
    char save_path[512]; /* what `w` offers */
    bool picking;        /* choosing the type of a modifier to add */
    size_t pick_sel;
    int pick_scroll;
    bool diag_focus; /* j/k and Enter work in the diagnostics pane */
    size_t diag_sel;
    int diag_scroll;
    bool form_open;
    ms_form form;
    size_t form_sel;
    int form_scroll;
    bool editing;      /* keys go into `edit` */
    char edit[512];    /* the value being typed */
    ms_diag edit_diag; /* what is wrong with it; code empty when nothing */
    int body_rows, body_cols;
};

enum { DIRTY_TABS = 1, DIRTY_BODY = 2, DIRTY_MSG = 4, DIRTY_STATUS = 8, DIRTY_ALL = 15 };

/* The smallest screen the UI draws; below, it says the terminal is too small. */
#define UI_MIN_COLS 40
#define UI_MIN_ROWS 10

/* ---- the app without a terminal loop (app.c) ---- */

/* Opens `path` (NULL: the bundled demo) into `a`. A file that cannot be
 * loaded leaves `a` usable, with the diagnostic in a->load_diag. */
void app_open(app *a, const char *path);
void app_close(app *a);
/* After initscr/newterm: windows, colours, glyphs, sized to the screen. */
void app_screen_init(app *a);
void app_screen_resize(app *a);
/* One key (curses code or character). */
ui_result app_key(app *a, int key, bool is_function_key);
void app_mouse(app *a, int y, int x);
/* Runs the current job for about `ms` milliseconds; true when none is left. */
bool app_work(app *a, double ms);
/* Draws what is dirty and updates the screen. */
void app_render(app *a);

/* ---- shared by the views ---- */

void app_message(app *a, bool error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Starts a simulation run (cancelling an exploration first). */
void app_run(app *a, ms_goal goal, size_t target);
/* Rebuilds the session after a pipeline change. */
void app_rebuild(app *a);
/* The modifier's display name: "0 MagnitudePruningModifier". */
const char *app_modifier_type(const app *a, size_t m);
void app_select(app *a, size_t m);
/* The key scope in effect: the screen's, or the form's over the Schedule. */
ms_scope app_scope(const app *a);
/* After an edit of the schedule: re-simulates it when it has no errors,
 * selects modifier `m`, redraws and reports `done` (with the errors, if any). */
void app_schedule_changed(app *a, size_t m, const char *done);
/* Saves the schedule to `path`; false (with the reason shown) on failure. */
bool app_save(app *a, const char *path);
/* Opens the form of modifier `m` on field `field` (NULL: the first). */
void app_form_open(app *a, size_t m, const char *field);
void app_form_close(app *a);
/* Undo, redo and save, shared by the Schedule and the form (view_schedule.c). */
ui_result app_edit_command(app *a, ms_cmd cmd);
/* A key while a form field is being edited (view_form.c). */
void form_edit_key(app *a, int key);

/* ---- drawing helpers (draw.c) ---- */

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
 * at most `max_lines`. */
int ui_wrap(WINDOW *w, int y, int x, int width, int max_lines, const char *text);
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

/* The text of the bundled demo recipe (generated from samples/recipes/demo.yaml). */
extern const char ms_demo_recipe[];

#endif
