/* The one list of screens, in tab order. Adding a screen is one line here
 * and one file, view_NAME.c, defining `NAME_view` (a view_ops, view.h).
 *
 * A line gives the screen's id and its ops, its name (the tab and the
 * heading of its keys in Help), the key that opens it and that command's
 * help. From it come the screen's id VIEW_ID, the scope of its keys
 * MS_SCOPE_ID, the command that opens it MS_CMD_VIEW_ID and that command's
 * binding (keymap.h). Curses-free, so the keymap can use it. */
#ifndef MS_UI_VIEWS_H
#define MS_UI_VIEWS_H

#define VIEW_LIST(X)                                                                               \
    X(SCHEDULE, schedule_view, "Schedule", '1', "Schedule: the recipe as a tree")                  \
    X(TIMELINE, timeline_view, "Timeline", '2', "Timeline: one row per modifier")                  \
    X(STEPPER, stepper_view, "Stepper", '3', "Stepper: clock, pipeline, flags, event log")         \
    X(EXPLAIN, explain_view, "Explain", '4', "Explain: the rule behind what happened")             \
    X(HELP, help_view, "Help", '5', "Help: keys and a lifecycle primer")                           \
    X(MODEL, model_view, "Model", '6', "Model: the weights, module by module, as stepped")         \
    X(HISTORY, history_view, "History", '7', "History: the runs kept; Enter replays, d diffs")

#endif
