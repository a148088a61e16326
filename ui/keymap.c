#include "keymap.h"

#include <stdio.h>
#include <string.h>

static const char *const cmd_labels[] = {
#define MS_CMD_LABEL(id, label, help) label,
    MS_CMD_LIST(MS_CMD_LABEL)
#undef MS_CMD_LABEL
#define MS_CMD_VIEW_LABEL(id, ops, name, key, help) "",
        VIEW_LIST(MS_CMD_VIEW_LABEL)
#undef MS_CMD_VIEW_LABEL
};
static const char *const cmd_helps[] = {
#define MS_CMD_HELP(id, label, help) help,
    MS_CMD_LIST(MS_CMD_HELP)
#undef MS_CMD_HELP
#define MS_CMD_VIEW_HELP(id, ops, name, key, help) help,
        VIEW_LIST(MS_CMD_VIEW_HELP)
#undef MS_CMD_VIEW_HELP
};
static const char *const scope_names[] = {
    "Everywhere",
#define MS_SCOPE_NAME(id, ops, name, key, help) name,
    VIEW_LIST(MS_SCOPE_NAME)
#undef MS_SCOPE_NAME
        "Schedule: modifier form",
};

const char *ms_cmd_label(ms_cmd cmd)
{
    return (unsigned)cmd < MS_CMD_COUNT ? cmd_labels[cmd] : "";
}

const char *ms_cmd_help(ms_cmd cmd)
{
    return (unsigned)cmd < MS_CMD_COUNT ? cmd_helps[cmd] : "";
}

const char *ms_scope_name(ms_scope scope)
{
    return (unsigned)scope < MS_SCOPE_COUNT ? scope_names[scope] : "";
}

#define G MS_SCOPE_GLOBAL
static const ms_binding bindings[] = {
    /* stepping first: the status line shows them in this order */
    {G, 'n', MS_CMD_NEXT_EVENT, true},
    {G, 's', MS_CMD_NEXT_STEP, true},
    {G, 't', MS_CMD_NEXT_TRANSITION, true},
    {G, 'c', MS_CMD_CONTINUE, true},
    {G, 'G', MS_CMD_RUN_END, true},
    {G, 'b', MS_CMD_STEP_BACK, true},
    {G, 'r', MS_CMD_RESTART, true},
    {G, MS_KEY_TAB, MS_CMD_NEXT_VIEW, true},
    {G, '?', MS_CMD_HELP, true},
    {G, 'q', MS_CMD_QUIT, true},
    {G, MS_KEY_BTAB, MS_CMD_PREV_VIEW, false},
#define VIEW_BINDING(id, ops, name, key, help) {G, key, MS_CMD_VIEW_##id, false},
    VIEW_LIST(VIEW_BINDING)
#undef VIEW_BINDING
        {G, MS_KEY_ESC, MS_CMD_CANCEL, false},
    {G, MS_KEY_CTRL('l'), MS_CMD_REDRAW, false},
    {G, 'k', MS_CMD_UP, false},
    {G, MS_KEY_UP, MS_CMD_UP, false},
    {G, 'j', MS_CMD_DOWN, false},
    {G, MS_KEY_DOWN, MS_CMD_DOWN, false},
    {G, MS_KEY_PPAGE, MS_CMD_PAGE_UP, false},
    {G, MS_KEY_CTRL('b'), MS_CMD_PAGE_UP, false},
    {G, MS_KEY_NPAGE, MS_CMD_PAGE_DOWN, false},
    {G, MS_KEY_CTRL('f'), MS_CMD_PAGE_DOWN, false},
    {G, MS_KEY_HOME, MS_CMD_FIRST, false},
    {G, MS_KEY_END, MS_CMD_LAST, false},
    {G, MS_KEY_ENTER, MS_CMD_SELECT, false},
    {G, 'B', MS_CMD_BREAK_MODIFIER, false},
    {G, 'H', MS_CMD_BREAK_HOOK, false},
    {G, '@', MS_CMD_BREAK_INDEX, false},
    {G, 'X', MS_CMD_BREAK_CLEAR, false},
    {G, ':', MS_CMD_GOTO, false},
    {G, '/', MS_CMD_SEARCH, false},

    {MS_SCOPE_SCHEDULE, 'e', MS_CMD_EDIT, true},
    {MS_SCOPE_SCHEDULE, MS_KEY_ENTER, MS_CMD_EDIT, false},
    {MS_SCOPE_SCHEDULE, 'a', MS_CMD_ADD, true},
    {MS_SCOPE_SCHEDULE, 'd', MS_CMD_DELETE, false},
    {MS_SCOPE_SCHEDULE, 'y', MS_CMD_DUPLICATE, false},
    {MS_SCOPE_SCHEDULE, 'K', MS_CMD_MOVE_UP, false},
    {MS_SCOPE_SCHEDULE, 'J', MS_CMD_MOVE_DOWN, false},
    {MS_SCOPE_SCHEDULE, 'u', MS_CMD_UNDO, true},
    {MS_SCOPE_SCHEDULE, MS_KEY_CTRL('r'), MS_CMD_REDO, false},
    {MS_SCOPE_SCHEDULE, 'w', MS_CMD_SAVE, true},
    {MS_SCOPE_SCHEDULE, 'E', MS_CMD_DIAGNOSTICS, false},
    {MS_SCOPE_SCHEDULE, 'R', MS_CMD_RELOAD, false},

    {MS_SCOPE_FORM, 'e', MS_CMD_EDIT_FIELD, true},
    {MS_SCOPE_FORM, MS_KEY_ENTER, MS_CMD_EDIT_FIELD, false},
    {MS_SCOPE_FORM, ' ', MS_CMD_VALUE_NEXT, true},
    {MS_SCOPE_FORM, 'l', MS_CMD_VALUE_NEXT, false},
    {MS_SCOPE_FORM, MS_KEY_RIGHT, MS_CMD_VALUE_NEXT, false},
    {MS_SCOPE_FORM, 'h', MS_CMD_VALUE_PREV, false},
    {MS_SCOPE_FORM, MS_KEY_LEFT, MS_CMD_VALUE_PREV, false},
    {MS_SCOPE_FORM, 'x', MS_CMD_UNSET_FIELD, true},
    {MS_SCOPE_FORM, 'R', MS_CMD_RENAME_FIELD, false},
    {MS_SCOPE_FORM, 'u', MS_CMD_UNDO, true},
    {MS_SCOPE_FORM, MS_KEY_CTRL('r'), MS_CMD_REDO, false},
    {MS_SCOPE_FORM, 'w', MS_CMD_SAVE, true},

    {MS_SCOPE_TIMELINE, 'h', MS_CMD_SCROLL_LEFT, false},
    {MS_SCOPE_TIMELINE, MS_KEY_LEFT, MS_CMD_SCROLL_LEFT, false},
    {MS_SCOPE_TIMELINE, 'l', MS_CMD_SCROLL_RIGHT, false},
    {MS_SCOPE_TIMELINE, MS_KEY_RIGHT, MS_CMD_SCROLL_RIGHT, false},
    {MS_SCOPE_TIMELINE, '+', MS_CMD_ZOOM_IN, true},
    {MS_SCOPE_TIMELINE, '-', MS_CMD_ZOOM_OUT, false},
    {MS_SCOPE_TIMELINE, '0', MS_CMD_ZOOM_FIT, false},
    {MS_SCOPE_TIMELINE, 'v', MS_CMD_TOGGLE_CURVE, true},
    {MS_SCOPE_TIMELINE, 'u', MS_CMD_COMPARE, true},

    {MS_SCOPE_STEPPER, 'e', MS_CMD_CLOCK_EDIT, true},
    {MS_SCOPE_STEPPER, 'p', MS_CMD_PIPELINE, true},
    {MS_SCOPE_STEPPER, 'i', MS_CMD_INDEX_MODE, true},
    {MS_SCOPE_STEPPER, 'T', MS_CMD_TRAINING, true},
    {MS_SCOPE_STEPPER, 'U', MS_CMD_UPSTREAM, true},
    {MS_SCOPE_STEPPER, '>', MS_CMD_EPOCHS_MORE, false},
    {MS_SCOPE_STEPPER, '<', MS_CMD_EPOCHS_LESS, false},
    {MS_SCOPE_STEPPER, '}', MS_CMD_STEPS_MORE, false},
    {MS_SCOPE_STEPPER, '{', MS_CMD_STEPS_LESS, false},
    {MS_SCOPE_STEPPER, ']', MS_CMD_LAYERS_MORE, false},
    {MS_SCOPE_STEPPER, '[', MS_CMD_LAYERS_LESS, false},

    {MS_SCOPE_EXPLAIN, 'h', MS_CMD_CALL_PREV, true},
    {MS_SCOPE_EXPLAIN, MS_KEY_LEFT, MS_CMD_CALL_PREV, false},
    {MS_SCOPE_EXPLAIN, 'l', MS_CMD_CALL_NEXT, false},
    {MS_SCOPE_EXPLAIN, MS_KEY_RIGHT, MS_CMD_CALL_NEXT, false},
    {MS_SCOPE_EXPLAIN, '.', MS_CMD_CALL_CURSOR, false},

    {MS_SCOPE_MODEL, 'o', MS_CMD_MODEL_SORT, true},
    {MS_SCOPE_MODEL, 'O', MS_CMD_MODEL_REVERSE, false},
    {MS_SCOPE_MODEL, 'f', MS_CMD_MODEL_FILTER, true},

    {MS_SCOPE_HISTORY, 'd', MS_CMD_HISTORY_DIFF, true},
    {MS_SCOPE_HISTORY, '/', MS_CMD_HISTORY_FILTER, true},
};
#undef G

size_t ms_keymap_count(void)
{
    return sizeof bindings / sizeof bindings[0];
}

const ms_binding *ms_keymap_at(size_t i)
{
    return i < ms_keymap_count() ? &bindings[i] : NULL;
}

ms_cmd ms_keymap_lookup(ms_scope scope, int key)
{
    ms_cmd global = MS_CMD_NONE;
    for (size_t i = 0; i < ms_keymap_count(); i++) {
        if (bindings[i].key != key)
            continue;
        if (bindings[i].scope == scope)
            return bindings[i].cmd;
        if (bindings[i].scope == MS_SCOPE_GLOBAL && global == MS_CMD_NONE)
            global = bindings[i].cmd;
    }
    return global;
}

void ms_key_name(int key, char *buf, size_t cap)
{
    static const char *const special[] = {"Up",   "Down", "Left", "Right", "PgUp",
                                          "PgDn", "Home", "End",  "S-Tab", "Backspace"};
    if (key >= MS_KEY_BASE && key <= MS_KEY_BACKSPACE)
        snprintf(buf, cap, "%s", special[key - MS_KEY_BASE]);
    else if (key == MS_KEY_TAB)
        snprintf(buf, cap, "Tab");
    else if (key == MS_KEY_ENTER)
        snprintf(buf, cap, "Enter");
    else if (key == MS_KEY_ESC)
        snprintf(buf, cap, "Esc");
    else if (key == ' ')
        snprintf(buf, cap, "Space");
    else if (key > 0 && key < 32)
        snprintf(buf, cap, "^%c", key + '@');
    else if (key >= 32 && key < 127)
        snprintf(buf, cap, "%c", key);
    else
        snprintf(buf, cap, "U+%04X", (unsigned)key);
}

static void append(char *buf, size_t cap, const char *text)
{
    size_t len = strlen(buf);
    if (len + 1 < cap)
        snprintf(buf + len, cap - len, "%s", text);
}

void ms_keymap_keys(ms_scope scope, ms_cmd cmd, char *buf, size_t cap)
{
    if (!cap)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < ms_keymap_count(); i++) {
        if (bindings[i].scope != scope || bindings[i].cmd != cmd)
            continue;
        char name[16];
        ms_key_name(bindings[i].key, name, sizeof name);
        if (buf[0])
            append(buf, cap, ", ");
        append(buf, cap, name);
    }
}

/* Keys the status line always shows, last, whatever the width: a new user
 * must always see how to get help and how to leave. */
static bool essential(ms_cmd cmd)
{
    return cmd == MS_CMD_HELP || cmd == MS_CMD_QUIT;
}

static size_t status_item(const ms_binding *b, bool first, char *item, size_t cap)
{
    char key[16];
    ms_key_name(b->key, key, sizeof key);
    int n = snprintf(item, cap, "%s%s %s", first ? "" : "  ", key, ms_cmd_label(b->cmd));
    return n < 0 ? cap : (size_t)n;
}

void ms_keymap_status(ms_scope scope, char *buf, size_t width)
{
    buf[0] = '\0';
    char tail[64] = "", item[48];
    size_t tail_len = 0;
    for (size_t i = 0; i < ms_keymap_count(); i++) {
        const ms_binding *b = &bindings[i];
        if (b->scope == MS_SCOPE_GLOBAL && b->status && essential(b->cmd)) {
            size_t n = status_item(b, false, item, sizeof item);
            if (tail_len + n < sizeof tail) {
                memcpy(tail + tail_len, item, n + 1);
                tail_len += n;
            }
        }
    }
    size_t used = 0;
    bool shown[MS_CMD_COUNT] = {false};
    bool full = false;
    /* the screen's own keys, then the global ones, in what the essentials leave */
    for (int pass = 0; pass < 2 && !full; pass++) {
        ms_scope want = pass == 0 ? scope : MS_SCOPE_GLOBAL;
        if (pass == 1 && scope == MS_SCOPE_GLOBAL)
            break;
        for (size_t i = 0; i < ms_keymap_count() && !full; i++) {
            const ms_binding *b = &bindings[i];
            if (b->scope != want || !b->status || shown[b->cmd] || essential(b->cmd))
                continue;
            size_t n = status_item(b, used == 0, item, sizeof item);
            if (used + n + tail_len > width) {
                full = true;
                break;
            }
            memcpy(buf + used, item, n + 1);
            used += n;
            shown[b->cmd] = true;
        }
    }
    const char *t = used ? tail : tail + 2; /* no separator before the first item */
    size_t tn = strlen(t);
    if (used + tn <= width)
        memcpy(buf + used, t, tn + 1);
}

static const char *const primer[] = {
    "The lifecycle, in short",
    "",
    "  initialize    every modifier runs on_initialize; one whose start <= 0 also",
    "                starts at once (on_start, without on_update).",
    "  events        every modifier sees every event (on_event). Then the base rules:",
    "                - batch_start starts a modifier that has not started when",
    "                  start <= index < end: on_start, then on_update;",
    "                - batch_end ends a modifier that has not ended when",
    "                  index >= end: on_end, then on_update. It may end without",
    "                  ever having started;",
    "                - otherwise an active modifier (started, not ended) runs",
    "                  on_update on every event.",
    "                Calibration modifiers (GPTQ, quantization, SmoothQuant, ...)",
    "                start on calibration_epoch_start and end on",
    "                calibration_epoch_end instead.",
    "  finalize      every modifier runs on_finalize; a calibration modifier that",
    "                is still running ends there first.",
    "  index         the global step, or the fractional epoch (step / steps per",
    "                epoch) when the clock has steps_per_epoch. In upstream mode",
    "                events carry no step: the index is always 0.",
    "  errors        calling events before initialize or after finalize, out of",
    "                order (batch_start, loss_calculated, optim_pre_step,",
    "                optim_post_step, batch_end), or loss_calculated without a",
    "                loss raises ValueError, as upstream does.",
};

static void help_scope(ms_scope s, bool *first, void (*emit)(void *user, const char *line),
                       void *user)
{
    bool heading = false;
    bool done[MS_CMD_COUNT] = {false};
    for (size_t i = 0; i < ms_keymap_count(); i++) {
        const ms_binding *b = &bindings[i];
        if (b->scope != s || done[b->cmd])
            continue;
        if (!heading) {
            if (!*first)
                emit(user, "");
            emit(user, ms_scope_name(s));
            heading = true;
            *first = false;
        }
        char keys[64], line[256];
        ms_keymap_keys(s, b->cmd, keys, sizeof keys);
        snprintf(line, sizeof line, "  %-16s %s", keys, ms_cmd_help(b->cmd));
        emit(user, line);
        done[b->cmd] = true;
    }
}

void ms_keymap_help(void (*emit)(void *user, const char *line), void *user)
{
    bool first = true;
    for (int s = 0; s < MS_SCOPE_COUNT; s++) {
        if (s == MS_SCOPE_FORM)
            continue;
        help_scope((ms_scope)s, &first, emit, user);
        /* the form's keys follow the Schedule's: it is a mode of that screen */
        if (s == MS_SCOPE_SCHEDULE)
            help_scope(MS_SCOPE_FORM, &first, emit, user);
    }
    emit(user, "  mouse            click a tab to open it, a row to select it");
    emit(user, "");
    for (size_t i = 0; i < sizeof primer / sizeof primer[0]; i++)
        emit(user, primer[i]);
}
