/* Commands and the keys bound to them, as data: the command list is one
 * X-macro carrying each command's help text, the default bindings are a
 * table, and the help screen and status line are generated from both.
 *
 * Key codes are plain ints so this module needs no curses: a character is
 * its code point, special keys are MS_KEY_* (the front end translates). */
#ifndef MS_KEYMAP_H
#define MS_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>

enum {
    MS_KEY_TAB = 9,
    MS_KEY_ENTER = 10,
    MS_KEY_ESC = 27,
    MS_KEY_BASE = 0x110000, /* past every code point */
    MS_KEY_UP = MS_KEY_BASE,
    MS_KEY_DOWN,
    MS_KEY_LEFT,
    MS_KEY_RIGHT,
    MS_KEY_PPAGE,
    MS_KEY_NPAGE,
    MS_KEY_HOME,
    MS_KEY_END,
    MS_KEY_BTAB,
    MS_KEY_BACKSPACE,
};

#define MS_KEY_CTRL(c) ((c)&0x1f)

/* Where a binding applies: everywhere, or on one screen. */
#define MS_SCOPE_LIST(X)                                                                          \
    X(MS_SCOPE_GLOBAL, "Everywhere")                                                              \
    X(MS_SCOPE_SCHEDULE, "Schedule")                                                              \
    X(MS_SCOPE_FORM, "Schedule: modifier form")                                                   \
    X(MS_SCOPE_TIMELINE, "Timeline")                                                              \
    X(MS_SCOPE_STEPPER, "Stepper")                                                                \
    X(MS_SCOPE_EXPLAIN, "Explain")                                                                \
    X(MS_SCOPE_HELP, "Help")

typedef enum {
#define MS_SCOPE_ENUM(id, name) id,
    MS_SCOPE_LIST(MS_SCOPE_ENUM)
#undef MS_SCOPE_ENUM
        MS_SCOPE_COUNT
} ms_scope;

/* id, name, short label for the status line, help text */
#define MS_CMD_LIST(X)                                                                            \
    X(MS_CMD_NONE, "none", "", "")                                                                \
    X(MS_CMD_QUIT, "quit", "quit", "quit (asks before losing unsaved edits)")                     \
    X(MS_CMD_HELP, "help", "help", "show this help")                                              \
    X(MS_CMD_NEXT_VIEW, "next-view", "screen", "next screen")                                     \
    X(MS_CMD_PREV_VIEW, "prev-view", "", "previous screen")                                       \
    X(MS_CMD_VIEW_SCHEDULE, "view-schedule", "", "Schedule: the recipe as a tree")                \
    X(MS_CMD_VIEW_TIMELINE, "view-timeline", "", "Timeline: one row per modifier")                \
    X(MS_CMD_VIEW_STEPPER, "view-stepper", "", "Stepper: clock, pipeline, flags, event log")      \
    X(MS_CMD_VIEW_EXPLAIN, "view-explain", "", "Explain: the rule behind what happened")          \
    X(MS_CMD_VIEW_HELP, "view-help", "", "Help: keys and a lifecycle primer")                     \
    X(MS_CMD_NEXT_EVENT, "next-event", "event", "run the next call")                              \
    X(MS_CMD_NEXT_STEP, "next-step", "step",                                                      \
      "run to the end of the step (batch_end) or layer (sequential_epoch_end)")                   \
    X(MS_CMD_NEXT_TRANSITION, "next-transition", "transition",                                    \
      "run until a modifier's flags change or an error is raised")                                \
    X(MS_CMD_CONTINUE, "continue", "break", "run to the next breakpoint (or error)")              \
    X(MS_CMD_RUN_END, "run-end", "end", "run to the end")                                         \
    X(MS_CMD_STEP_BACK, "step-back", "back", "go back one call (re-simulated)")                   \
    X(MS_CMD_RESTART, "restart", "restart", "back to before initialize")                          \
    X(MS_CMD_CANCEL, "cancel", "", "cancel a run or a prompt; leave the form")                    \
    X(MS_CMD_REDRAW, "redraw", "", "redraw the screen")                                           \
    X(MS_CMD_UP, "up", "", "previous row")                                                        \
    X(MS_CMD_DOWN, "down", "", "next row")                                                        \
    X(MS_CMD_PAGE_UP, "page-up", "", "one page up")                                               \
    X(MS_CMD_PAGE_DOWN, "page-down", "", "one page down")                                         \
    X(MS_CMD_FIRST, "first", "", "first row")                                                     \
    X(MS_CMD_LAST, "last", "", "last row")                                                        \
    X(MS_CMD_SELECT, "select", "open", "open the selection on the next screen")                   \
    X(MS_CMD_SCROLL_LEFT, "scroll-left", "", "scroll the axis left")                              \
    X(MS_CMD_SCROLL_RIGHT, "scroll-right", "", "scroll the axis right")                           \
    X(MS_CMD_ZOOM_IN, "zoom-in", "zoom", "zoom in on the cursor")                                 \
    X(MS_CMD_ZOOM_OUT, "zoom-out", "", "zoom out")                                                \
    X(MS_CMD_ZOOM_FIT, "zoom-fit", "", "show the whole run")                                      \
    X(MS_CMD_TOGGLE_CURVE, "toggle-curve", "curve", "show the sparsity curve of pruning rows")    \
    X(MS_CMD_BREAK_MODIFIER, "break-modifier", "bp",                                              \
      "toggle a breakpoint on the selected modifier's state changes")                             \
    X(MS_CMD_BREAK_HOOK, "break-hook", "", "cycle a breakpoint on a hook of any modifier")        \
    X(MS_CMD_BREAK_INDEX, "break-index", "", "set a breakpoint at an index (asks for it)")        \
    X(MS_CMD_BREAK_CLEAR, "break-clear", "", "remove every breakpoint")                           \
    X(MS_CMD_PIPELINE, "pipeline", "pipeline", "cycle the calibration pipeline")                  \
    X(MS_CMD_INDEX_MODE, "index-mode", "index", "cycle the index: epoch, step, upstream")         \
    X(MS_CMD_EPOCHS_MORE, "epochs-more", "", "one more training epoch")                           \
    X(MS_CMD_EPOCHS_LESS, "epochs-less", "", "one training epoch less")                           \
    X(MS_CMD_STEPS_MORE, "steps-more", "", "one more step per epoch")                             \
    X(MS_CMD_STEPS_LESS, "steps-less", "", "one step per epoch less")                             \
    X(MS_CMD_LAYERS_MORE, "layers-more", "", "one more layer (sequential_epoch_end)")             \
    X(MS_CMD_LAYERS_LESS, "layers-less", "", "one layer less")                                    \
    X(MS_CMD_CALL_PREV, "call-prev", "call", "explain the previous call")                         \
    X(MS_CMD_CALL_NEXT, "call-next", "", "explain the next call")                                 \
    X(MS_CMD_CALL_CURSOR, "call-cursor", "", "explain the last call run")                         \
    X(MS_CMD_ADD, "add", "add", "add a modifier after the selected one (pick its type)")          \
    X(MS_CMD_EDIT, "edit", "edit",                                                                \
      "edit the selected modifier in a form; on a diagnostic: go to its field")                   \
    X(MS_CMD_DELETE, "delete", "", "delete the selected modifier")                                \
    X(MS_CMD_DUPLICATE, "duplicate", "", "duplicate the selected modifier (into a new group)")    \
    X(MS_CMD_MOVE_UP, "move-up", "", "move the selected modifier up (across groups too)")         \
    X(MS_CMD_MOVE_DOWN, "move-down", "", "move the selected modifier down")                       \
    X(MS_CMD_UNDO, "undo", "undo", "undo the last edit")                                          \
    X(MS_CMD_REDO, "redo", "", "redo what undo reverted")                                         \
    X(MS_CMD_SAVE, "save", "save", "save as a recipe file (asks for the path)")                   \
    X(MS_CMD_DIAGNOSTICS, "diagnostics", "diags", "move between the tree and the diagnostics")    \
    X(MS_CMD_EDIT_FIELD, "edit-field", "edit",                                                    \
      "edit the field's value (Enter keeps it, Esc drops it)")                                    \
    X(MS_CMD_VALUE_NEXT, "value-next", "cycle", "next allowed value (enum, boolean)")             \
    X(MS_CMD_VALUE_PREV, "value-prev", "", "previous allowed value")                              \
    X(MS_CMD_UNSET_FIELD, "unset-field", "unset", "remove the field: its default applies")

typedef enum {
#define MS_CMD_ENUM(id, name, label, help) id,
    MS_CMD_LIST(MS_CMD_ENUM)
#undef MS_CMD_ENUM
        MS_CMD_COUNT
} ms_cmd;

typedef struct ms_binding {
    ms_scope scope;
    int key;
    ms_cmd cmd;
    bool status; /* shown in the status line */
} ms_binding;

const char *ms_cmd_name(ms_cmd cmd);
const char *ms_cmd_label(ms_cmd cmd);
const char *ms_cmd_help(ms_cmd cmd);
const char *ms_scope_name(ms_scope scope);

/* The default bindings. */
size_t ms_keymap_count(void);
const ms_binding *ms_keymap_at(size_t i);

/* The command `key` runs on a screen of `scope`: that screen's binding
 * first, then the global one; MS_CMD_NONE when unbound. */
ms_cmd ms_keymap_lookup(ms_scope scope, int key);

/* "j", "Down", "Tab", "S-Tab", "^L", "Space", ... */
void ms_key_name(int key, char *buf, size_t cap);

/* The keys bound to `cmd` in `scope`, e.g. "j, Down" (empty when none). */
void ms_keymap_keys(ms_scope scope, ms_cmd cmd, char *buf, size_t cap);

/* "n event  s step ..." for the screen's bindings marked for the status
 * line, then the global ones, as many as fit in `width` columns. */
void ms_keymap_status(ms_scope scope, char *buf, size_t width);

/* The help screen, one line per call of `emit`: per scope a heading and one
 * line per bound command ("  j, Down      next row"), then the lifecycle
 * primer. */
void ms_keymap_help(void (*emit)(void *user, const char *line), void *user);

#endif
