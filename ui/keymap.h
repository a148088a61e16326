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

#include "views.h"

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

/* Where a binding applies: everywhere, on one screen (one scope per screen
 * of VIEW_LIST), or in the Schedule's modifier form. */
typedef enum {
    MS_SCOPE_GLOBAL,
#define MS_SCOPE_OF_VIEW(id, ops, name, key, help) MS_SCOPE_##id,
    VIEW_LIST(MS_SCOPE_OF_VIEW)
#undef MS_SCOPE_OF_VIEW
        MS_SCOPE_FORM,
    MS_SCOPE_COUNT
} ms_scope;

/* id, short label for the status line, help text; then the commands that
 * open each screen, from VIEW_LIST */
#define MS_CMD_LIST(X)                                                                             \
    X(MS_CMD_NONE, "", "")                                                                         \
    X(MS_CMD_QUIT, "quit", "quit (asks before losing unsaved edits)")                              \
    X(MS_CMD_RELOAD, "reload", "read the file again (after fixing it in another editor)")          \
    X(MS_CMD_HELP, "help", "show this help")                                                       \
    X(MS_CMD_NEXT_VIEW, "screen", "next screen")                                                   \
    X(MS_CMD_PREV_VIEW, "", "previous screen")                                                     \
    X(MS_CMD_NEXT_EVENT, "event", "run the next call")                                             \
    X(MS_CMD_NEXT_STEP, "step",                                                                    \
      "run to the end of the step (batch_end) or layer (sequential_epoch_end)")                    \
    X(MS_CMD_NEXT_TRANSITION, "transition",                                                        \
      "run until a modifier's flags change or an error is raised")                                 \
    X(MS_CMD_CONTINUE, "break", "run to the next breakpoint (or error)")                           \
    X(MS_CMD_RUN_END, "end", "run to the end")                                                     \
    X(MS_CMD_STEP_BACK, "back", "go back one call (re-simulated)")                                 \
    X(MS_CMD_RESTART, "restart", "back to before initialize")                                      \
    X(MS_CMD_CANCEL, "", "cancel a run or a prompt; leave the form")                               \
    X(MS_CMD_REDRAW, "", "redraw the screen")                                                      \
    X(MS_CMD_UP, "", "previous row")                                                               \
    X(MS_CMD_DOWN, "", "next row")                                                                 \
    X(MS_CMD_PAGE_UP, "", "one page up")                                                           \
    X(MS_CMD_PAGE_DOWN, "", "one page down")                                                       \
    X(MS_CMD_FIRST, "", "first row")                                                               \
    X(MS_CMD_LAST, "", "last row")                                                                 \
    X(MS_CMD_SELECT, "open", "open the selection on the next screen")                              \
    X(MS_CMD_SCROLL_LEFT, "", "scroll the axis left")                                              \
    X(MS_CMD_SCROLL_RIGHT, "", "scroll the axis right")                                            \
    X(MS_CMD_ZOOM_IN, "zoom", "zoom in on the cursor")                                             \
    X(MS_CMD_ZOOM_OUT, "", "zoom out")                                                             \
    X(MS_CMD_ZOOM_FIT, "", "show the whole run")                                                   \
    X(MS_CMD_TOGGLE_CURVE, "curve", "show the sparsity curve of pruning rows")                     \
    X(MS_CMD_BREAK_MODIFIER, "bp", "toggle a breakpoint on the selected modifier's state changes") \
    X(MS_CMD_BREAK_HOOK, "", "cycle a breakpoint on a hook of any modifier")                       \
    X(MS_CMD_BREAK_INDEX, "", "set a breakpoint at an index (asks for it)")                        \
    X(MS_CMD_BREAK_CLEAR, "", "remove every breakpoint")                                           \
    X(MS_CMD_GOTO, "", "go to a call number (asks for it; re-simulated)")                          \
    X(MS_CMD_SEARCH, "",                                                                           \
      "search modifier names: the next match is selected (/ then Enter alone: again)")             \
    X(MS_CMD_COMPARE, "vs intended",                                                               \
      "show the run upstream makes above the run the recipe intends, differences marked")          \
    X(MS_CMD_PIPELINE, "pipeline",                                                                 \
      "cycle oneshot's pipeline: independent, none, sequential, basic, datafree")                  \
    X(MS_CMD_TRAINING, "training",                                                                 \
      "switch between oneshot() and a training loop of your own (LifecycleCallbacks)")             \
    X(MS_CMD_UPSTREAM, "version",                                                                  \
      "switch the llm-compressor release whose lifecycle runs: 0.12, 0.13")                        \
    X(MS_CMD_INDEX_MODE, "index", "cycle the index: upstream (0), intended epoch, intended step")  \
    X(MS_CMD_EPOCHS_MORE, "", "one more training epoch")                                           \
    X(MS_CMD_EPOCHS_LESS, "", "one training epoch less")                                           \
    X(MS_CMD_STEPS_MORE, "", "one more step per epoch")                                            \
    X(MS_CMD_STEPS_LESS, "", "one step per epoch less")                                            \
    X(MS_CMD_LAYERS_MORE, "", "one more layer (sequential_epoch_end)")                             \
    X(MS_CMD_LAYERS_LESS, "", "one layer less")                                                    \
    X(MS_CMD_CLOCK_EDIT, "clock",                                                                  \
      "type the clock: epochs, steps per epoch, batches per step, layers (empty: fit the recipe)") \
    X(MS_CMD_CALL_PREV, "call", "explain the previous call")                                       \
    X(MS_CMD_CALL_NEXT, "", "explain the next call")                                               \
    X(MS_CMD_CALL_CURSOR, "", "explain the last call run")                                         \
    X(MS_CMD_ADD, "add", "add a modifier after the selected one (pick its type)")                  \
    X(MS_CMD_EDIT, "edit",                                                                         \
      "edit the selected modifier in a form; on a diagnostic: go to its field")                    \
    X(MS_CMD_DELETE, "", "delete the selected modifier")                                           \
    X(MS_CMD_DUPLICATE, "", "duplicate the selected modifier (into a new group)")                  \
    X(MS_CMD_MOVE_UP, "", "move the selected modifier up (across groups too)")                     \
    X(MS_CMD_MOVE_DOWN, "", "move the selected modifier down")                                     \
    X(MS_CMD_UNDO, "undo", "undo the last edit")                                                   \
    X(MS_CMD_REDO, "", "redo what undo reverted")                                                  \
    X(MS_CMD_SAVE, "save", "save as a recipe file (asks for the path)")                            \
    X(MS_CMD_DIAGNOSTICS, "diags", "move between the tree and the diagnostics")                    \
    X(MS_CMD_EDIT_FIELD, "edit", "edit the field's value (Enter keeps it, Esc drops it)")          \
    X(MS_CMD_VALUE_NEXT, "cycle", "next allowed value (enum, boolean)")                            \
    X(MS_CMD_VALUE_PREV, "", "previous allowed value")                                             \
    X(MS_CMD_UNSET_FIELD, "unset", "remove the field: its default applies")                        \
    X(MS_CMD_RENAME_FIELD, "rename",                                                               \
      "rename a misspelt field to the one meant, keeping its value")                               \
    X(MS_CMD_MODEL_SORT, "sort",                                                                   \
      "sort by the next column: module, sparsity, bits, weight error, output error, modifier")     \
    X(MS_CMD_MODEL_REVERSE, "", "reverse the sort")                                                \
    X(MS_CMD_MODEL_FILTER, "filter",                                                               \
      "filter the modules by name, class or modifier (type; Enter keeps it, Esc clears it)")       \
    X(MS_CMD_HISTORY_DIFF, "diff", "diff the selected run against the one replayed")               \
    X(MS_CMD_HISTORY_FILTER, "filter",                                                             \
      "filter the runs by any text of their line (type; Enter keeps it, Esc clears it)")

typedef enum {
#define MS_CMD_ENUM(id, label, help) id,
    MS_CMD_LIST(MS_CMD_ENUM)
#undef MS_CMD_ENUM
#define MS_CMD_OF_VIEW(id, ops, name, key, help) MS_CMD_VIEW_##id,
        VIEW_LIST(MS_CMD_OF_VIEW)
#undef MS_CMD_OF_VIEW
            MS_CMD_COUNT
} ms_cmd;

typedef struct ms_binding {
    ms_scope scope;
    int key;
    ms_cmd cmd;
    bool status; /* shown in the status line */
} ms_binding;

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
