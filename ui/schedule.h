/* Inside the Schedule screen: its private state, shared by the tree
 * (view_schedule.c) and the modifier form (view_form.c) that takes the
 * screen while a modifier is edited. */
#ifndef MS_UI_SCHEDULE_H
#define MS_UI_SCHEDULE_H

#include "app.h"

typedef struct schedule_state {
    int scroll;   /* first tree row shown */
    bool picking; /* choosing the type of a modifier to add */
    size_t pick_sel;
    int pick_scroll;
    bool diag_focus; /* j/k and Enter work in the diagnostics pane */
    size_t diag_sel;
    int diag_scroll;
    ms_form form; /* while a->form_open */
    size_t form_sel;
    int form_scroll;
} schedule_state;

/* After an edit: app_schedule_changed, with the pane's selection kept in
 * the new diagnostics. */
void schedule_changed(app *a, schedule_state *s, size_t m, const char *done);
/* Undo, redo and save, shared by the tree and the form. */
ui_result schedule_edit_command(app *a, schedule_state *s, ms_cmd cmd);

/* The form (view_form.c). Opens modifier `m`'s on field `field` (NULL: the
 * first it sets). */
void form_open(app *a, schedule_state *s, size_t m, const char *field);
void form_close(app *a, schedule_state *s);
void form_draw(app *a, schedule_state *s, WINDOW *w, int rows, int cols);
ui_result form_command(app *a, schedule_state *s, ms_cmd cmd);
/* A key while a field's value is being typed. */
void form_edit_key(app *a, schedule_state *s, int key);

#endif
