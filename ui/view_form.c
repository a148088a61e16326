/* The form of one modifier, generated from the schema: one row per field
 * with its value and what it allows, a field's text checked as it is typed,
 * enum and boolean fields cycled in place. It is the Schedule screen while
 * open; Esc goes back to the tree. */
#include "schedule.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "draw.h"

enum { TOP = 3, BOTTOM = 3 }; /* title, description, column heads; help under the rows */

static const ms_form_field *current(const schedule_state *s)
{
    return s->form_sel < s->form.count ? &s->form.fields[s->form_sel] : NULL;
}

/* The schedule's diagnostic about this field, or NULL. */
static const ms_draft_diag *field_diag(const app *a, const schedule_state *s, const char *field)
{
    for (size_t i = 0; i < ms_draft_diag_count(a->draft); i++) {
        const ms_draft_diag *d = ms_draft_diag_at(a->draft, i);
        if (d->modifier == (int)s->form.modifier && !strcmp(d->field, field))
            return d;
    }
    return NULL;
}

/* The field a misspelt one means, NULL for a known field or no near name. */
static const char *meant_field(const app *a, const schedule_state *s, const ms_form_field *f)
{
    return f && !f->known ? ms_schema_field_nearest(a->schema, s->form.type, f->schema.name) : NULL;
}

static void check_edit(app *a, const schedule_state *s)
{
    const ms_form_field *f = current(s);
    ms_diag_clear(&a->edit_diag);
    if (f &&
        ms_form_check(a->schema, s->form.type, f->schema.name, a->edit, &a->edit_diag) == MS_OK)
        ms_diag_clear(&a->edit_diag);
}

void form_draw(app *a, schedule_state *s, WINDOW *w, int rows, int cols)
{
    size_t m = s->form.modifier;
    wattrset(w, ui_attr(a, ROLE_TITLE));
    ui_putf(w, 0, 1, cols - 2, "Form: %zu %s  (stage %s, group %s)%s", m, s->form.type,
            ms_draft_stage(a->draft, m), ms_draft_group(a->draft, m),
            ms_draft_dirty(a->draft) ? " [modified]" : "");
    const char *desc = ms_schema_modifier_description(a->schema, s->form.type);
    wattrset(w, ui_attr(a, ROLE_DIM));
    ui_put(w, 1, 1, cols - 2, desc ? desc : "not a modifier type the schema knows");
    int name_w = cols >= 80 ? 24 : cols / 3, value_w = (cols - name_w - 4) / 2;
    int hint_x = 3 + name_w + value_w + 1;
    ui_putf(w, 2, 3, cols - 4, "%-*s %-*s %s", name_w, "field", value_w, "value", "allowed");
    int visible = rows - TOP - BOTTOM;
    ui_scroll_to(&s->form_scroll, (int)s->form_sel, visible);
    for (int r = 0; r < visible && (size_t)(s->form_scroll + r) < s->form.count; r++) {
        size_t i = (size_t)(s->form_scroll + r);
        const ms_form_field *f = &s->form.fields[i];
        const ms_draft_diag *d = field_diag(a, s, f->schema.name);
        bool sel = i == s->form_sel, editing = sel && a->editing;
        int y = TOP + r;
        wattrset(w, ui_attr(a, d ? ROLE_ERROR : ROLE_NORMAL));
        ui_put(w, y, 1, 1, d ? "!" : " ");
        wattrset(w, ui_attr(a, sel ? ROLE_SELECTED : f->set ? ROLE_NORMAL : ROLE_DIM));
        ui_putf(w, y, 3, name_w, "%-*s", name_w, f->schema.name);
        wattrset(w, ui_attr(a, ROLE_NORMAL));
        if (editing) {
            /* the end of what is typed stays visible */
            size_t len = strlen(a->edit);
            const char *tail = a->edit;
            while (len + 2 > (size_t)value_w && *tail) {
                tail++;
                len--;
            }
            wattrset(w, ui_attr(a, ROLE_CURSOR));
            ui_putf(w, y, 4 + name_w, value_w - 1, "%s_", tail);
        } else {
            ui_put(w, y, 4 + name_w, value_w - 1, f->value);
        }
        if (editing && a->edit_diag.code[0]) {
            wattrset(w, ui_attr(a, ROLE_ERROR));
            ui_putf(w, y, hint_x, cols - hint_x - 1, "%s %s", a->utf8 ? "\u2717" : "x",
                    a->edit_diag.message);
        } else if (editing) {
            wattrset(w, ui_attr(a, ROLE_FLAG));
            ui_putf(w, y, hint_x, cols - hint_x - 1, "%s %s", a->utf8 ? "\u2713" : "ok", f->hint);
        } else if (d) {
            wattrset(w, ui_attr(a, ROLE_ERROR));
            ui_put(w, y, hint_x, cols - hint_x - 1, d->diag.message);
        } else {
            wattrset(w, ui_attr(a, ROLE_DIM));
            ui_put(w, y, hint_x, cols - hint_x - 1, f->hint);
        }
        wattrset(w, ui_attr(a, ROLE_NORMAL));
    }
    /* under the rows: what is wrong with the text typed, or what the field is */
    const ms_form_field *f = current(s);
    int y = rows - BOTTOM;
    wattrset(w, ui_attr(a, ROLE_DIM));
    ui_hline(a, w, y++, 0, cols);
    if (a->editing && a->edit_diag.code[0]) {
        wattrset(w, ui_attr(a, ROLE_ERROR));
        y += ui_wrap(w, y, 1, cols - 2, 1, a->edit_diag.message);
        wattrset(w, ui_attr(a, ROLE_NORMAL));
        ui_wrap(w, y, 1, cols - 2, 1, a->edit_diag.hint);
    } else if (f && !f->known) {
        const char *meant = meant_field(a, s, f);
        wattrset(w, ui_attr(a, ROLE_ERROR));
        ui_putf(w, y++, 1, cols - 2, "%s: not a field of %s", f->schema.name, s->form.type);
        wattrset(w, ui_attr(a, ROLE_NORMAL));
        if (meant)
            ui_putf(w, y, 1, cols - 2, "R renames it to '%s', keeping the value; x removes it",
                    meant);
        else
            ui_put(w, y, 1, cols - 2, "x removes it");
    } else if (f) {
        wattrset(w, ui_attr(a, ROLE_NORMAL));
        ui_putf(w, y++, 1, cols - 2, "%s: %s", f->schema.name, f->hint);
        wattrset(w, ui_attr(a, ROLE_DIM));
        ui_wrap(w, y, 1, cols - 2, 1,
                f->schema.description ? f->schema.description
                : a->editing          ? "Enter keeps the value, Esc drops it"
                                      : "e edits, Space cycles enums, x unsets");
    }
    wattrset(w, ui_attr(a, ROLE_NORMAL));
}

/* Sets the selected field to `text` as one undoable edit. */
static bool set_field(app *a, schedule_state *s, const char *text)
{
    const ms_form_field *f = current(s);
    if (!f)
        return false;
    char name[128];
    snprintf(name, sizeof name, "%s", f->schema.name);
    bool changed = strcmp(f->value, text) != 0;
    ms_diag d;
    ms_diag_clear(&d);
    ms_status st = ms_draft_set_field(a->draft, s->form.modifier, name, text, &d);
    if (st != MS_OK) {
        app_message(a, true, "%s%s%s", d.message[0] ? d.message : ms_status_str(st),
                    d.hint[0] ? ": " : "", d.hint);
        return false;
    }
    if (!changed)
        return true;
    size_t m = s->form.modifier;
    char done[256];
    snprintf(done, sizeof done, "%s (u undoes)", ms_draft_undo_label(a->draft));
    schedule_changed(a, s, m, done);
    form_open(a, s, m, name);
    const ms_draft_diag *bad = field_diag(a, s, name);
    if (bad && bad->diag.severity == MS_SEV_ERROR)
        app_message(a, true, "%s: %s", ms_draft_undo_label(a->draft), bad->diag.message);
    return true;
}

/* A misspelt field renamed to the one meant, its value kept: one key for
 * what validate's "did you mean" suggests. */
static void rename_to_meant(app *a, schedule_state *s)
{
    const ms_form_field *f = current(s);
    if (!f)
        return;
    const char *to = meant_field(a, s, f);
    if (f->known || !to) {
        app_message(a, true,
                    f->known ? "%s is a field of %s: R renames only unknown fields"
                             : "no field of %s is close to '%s': x removes it",
                    f->known ? f->schema.name : s->form.type,
                    f->known ? s->form.type : f->schema.name);
        return;
    }
    char from[128], meant[128];
    snprintf(from, sizeof from, "%s", f->schema.name);
    snprintf(meant, sizeof meant, "%s", to);
    ms_diag d;
    ms_diag_clear(&d);
    if (ms_draft_rename_field(a->draft, s->form.modifier, from, meant, &d) != MS_OK) {
        app_message(a, true, "%s", d.message[0] ? d.message : "out of memory");
        return;
    }
    size_t m = s->form.modifier;
    char done[256];
    snprintf(done, sizeof done, "%s (u undoes)", ms_draft_undo_label(a->draft));
    schedule_changed(a, s, m, done);
    form_open(a, s, m, meant);
}

/* Enum values in the schema's order; booleans flip. */
static void cycle(app *a, schedule_state *s, int step)
{
    const ms_form_field *f = current(s);
    char next[256];
    if (!f)
        return;
    if (ms_form_enum_cycle(f, f->value, step, next, sizeof next)) {
        set_field(a, s, next);
    } else if (!strncmp(f->schema.types, "boolean", 7)) {
        set_field(a, s, strcmp(f->value, "true") ? "true" : "false");
    } else {
        app_message(a, false, "%s is not an enum or boolean: e edits its value", f->schema.name);
    }
}

ui_result form_command(app *a, schedule_state *s, ms_cmd cmd)
{
    size_t n = s->form.count;
    int page = a->body_rows > TOP + BOTTOM + 1 ? a->body_rows - TOP - BOTTOM - 1 : 1;
    if (ui_list_move(cmd, &s->form_sel, n, (size_t)page))
        return UI_REDRAW;
    switch (cmd) {
    case MS_CMD_CANCEL:
        if (a->job != JOB_NONE)
            return UI_UNHANDLED;
        form_close(a, s);
        return UI_REDRAW_ALL;
    case MS_CMD_EDIT_FIELD:
        if (!current(s))
            return UI_HANDLED;
        a->editing = true;
        snprintf(a->edit, sizeof a->edit, "%s", current(s)->value);
        check_edit(a, s);
        app_message(a, false, "editing %s: Enter keeps it, Esc drops it", current(s)->schema.name);
        return UI_REDRAW;
    case MS_CMD_VALUE_NEXT:
    case MS_CMD_VALUE_PREV:
        cycle(a, s, cmd == MS_CMD_VALUE_NEXT ? 1 : -1);
        return UI_REDRAW_ALL;
    case MS_CMD_UNSET_FIELD:
        set_field(a, s, "");
        return UI_REDRAW_ALL;
    case MS_CMD_RENAME_FIELD:
        rename_to_meant(a, s);
        return UI_REDRAW_ALL;
    case MS_CMD_UNDO:
    case MS_CMD_REDO:
    case MS_CMD_SAVE:
        return schedule_edit_command(a, s, cmd);
    default:
        return UI_UNHANDLED;
    }
}

/* Appends character `c` in the locale's encoding, if it fits. */
static void append_char(char *buf, size_t cap, int c)
{
    char enc[MB_LEN_MAX];
    mbstate_t st;
    memset(&st, 0, sizeof st);
    size_t n = wcrtomb(enc, (wchar_t)c, &st), len = strlen(buf);
    if (n != (size_t)-1 && len + n < cap) {
        memcpy(buf + len, enc, n);
        buf[len + n] = '\0';
    }
}

void form_edit_key(app *a, schedule_state *s, int key)
{
    size_t len = strlen(a->edit);
    a->dirty |= DIRTY_BODY | DIRTY_MSG;
    if (key == MS_KEY_ESC) {
        a->editing = false;
        app_message(a, false, "not changed");
        return;
    }
    if (key == MS_KEY_ENTER) {
        a->editing = false;
        if (!set_field(a, s, a->edit))
            a->editing = true; /* not a YAML value: keep typing */
        return;
    }
    if (key == MS_KEY_BACKSPACE) {
        while (len && ((unsigned char)a->edit[len - 1] & 0xC0) == 0x80)
            len--; /* continuation bytes of the last character */
        a->edit[len ? len - 1 : 0] = '\0';
    } else if (key == MS_KEY_CTRL('u')) {
        a->edit[0] = '\0';
    } else if (key >= 32 && key != 127 && key < MS_KEY_BASE) {
        append_char(a->edit, sizeof a->edit, key);
    } else {
        return;
    }
    check_edit(a, s);
}

void form_open(app *a, schedule_state *s, size_t m, const char *field)
{
    ms_form_free(&s->form);
    a->form_open = false;
    a->editing = false;
    if (!a->draft || ms_draft_form(a->draft, m, &s->form) != MS_OK)
        return;
    a->form_open = true;
    /* on the field asked for, else the first the modifier sets */
    s->form_sel = SIZE_MAX;
    for (size_t i = 0; i < s->form.count && s->form_sel == SIZE_MAX; i++)
        if (field ? !strcmp(s->form.fields[i].schema.name, field) : s->form.fields[i].set)
            s->form_sel = i;
    if (s->form_sel == SIZE_MAX)
        s->form_sel = 0;
    a->dirty = DIRTY_ALL;
}

void form_close(app *a, schedule_state *s)
{
    ms_form_free(&s->form);
    a->form_open = false;
    a->editing = false;
    a->dirty = DIRTY_ALL;
}
