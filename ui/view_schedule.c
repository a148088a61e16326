/* Schedule: the recipe as a tree of stages, groups and modifiers, edited in
 * place (add, delete, duplicate, move, undo, save) with the diagnostics of
 * the schedule in a pane below; the form of one modifier (view_form.c)
 * takes the screen while it is open. A recipe that did not load shows its
 * diagnostic instead. */
#include "schedule.h"

#include <stdio.h>
#include <string.h>

#include "draw.h"

/* One line of the tree: a stage, a group, or a modifier (m >= 0). */
typedef struct tree_row {
    int depth;
    int modifier;
    const char *text;
} tree_row;

/* Builds the tree rows in schedule (recipe) order; a stage or group row
 * appears where its name changes. Returns the count. */
static int tree_rows(const app *a, tree_row *rows, int cap)
{
    int n = 0;
    const char *stage = NULL, *group = NULL;
    size_t count = a->draft ? ms_draft_count(a->draft) : ms_recipe_count(a->rec);
    for (size_t i = 0; i < count && n + 3 <= cap; i++) {
        const ms_recipe_entry *e = a->draft ? NULL : ms_recipe_entry_at(a->rec, i);
        const char *st = e ? e->stage : ms_draft_stage(a->draft, i);
        const char *gr = e ? e->group : ms_draft_group(a->draft, i);
        if (!stage || strcmp(stage, st)) {
            rows[n++] = (tree_row){0, -1, st};
            stage = st;
            group = NULL;
        }
        if (!group || strcmp(group, gr)) {
            rows[n++] = (tree_row){1, -1, gr};
            group = gr;
        }
        rows[n++] = (tree_row){2, (int)i, e ? e->type_key->value : ms_draft_type(a->draft, i)};
    }
    return n;
}

enum { MAX_ROWS = 4096, HEADER = 2 };

static void bound(char *buf, size_t cap, const char *name, ms_opt_double v)
{
    if (v.set)
        snprintf(buf, cap, "%s %g", name, v.value);
    else
        buf[0] = '\0';
}

static void draw_diagnostics(app *a, WINDOW *w, int y, int rows, int cols)
{
    const ms_diag *d = &a->load_diag;
    wattrset(w, ui_attr(a, ROLE_ERROR));
    /* a problem of the file as a whole (missing, a directory, an option
     * that selects nothing) has no position: no made-up 0:0 */
    const char *file = d->file[0] ? d->file : a->source;
    if (d->line > 0)
        ui_putf(w, y++, 1, cols - 2, "%s:%d:%d: error %s", file, d->line, d->col, d->code);
    else
        ui_putf(w, y++, 1, cols - 2, "%s: error %s", file, d->code);
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    y += ui_wrap(w, y, 3, cols - 4, rows - y - 3, d->message);
    if (d->hint[0])
        y += ui_wrap(w, y, 3, cols - 4, rows - y - 2, d->hint);
    if (a->diag_line[0] && y + 2 < rows) {
        /* the offending line with a caret under the column */
        wattrset(w, ui_attr(a, ROLE_DIM));
        ui_putf(w, ++y, 1, cols - 2, "%5d | ", d->line);
        wattrset(w, ui_attr(a, ROLE_NORMAL));
        ui_put(w, y, 9, cols - 10, a->diag_line);
        if (d->col > 0 && 8 + d->col < cols) {
            wattrset(w, ui_attr(a, ROLE_ERROR));
            ui_put(w, y + 1, 8 + d->col, 1, "^");
        }
    }
    wattrset(w, ui_attr(a, ROLE_NORMAL));
}

/* "start 0.25" from the schedule (what is being edited) or the session. */
static void bound_of(const app *a, size_t m, const char *name, ms_opt_double v, char *buf,
                     size_t cap)
{
    if (!a->draft) {
        bound(buf, cap, name, v);
        return;
    }
    const ms_node *n = ms_node_get(ms_draft_args(a->draft, m), name);
    if (n && n->kind == MS_NODE_SCALAR && !ms_node_is_null(n))
        snprintf(buf, cap, "%s %s", name, n->value);
    else
        buf[0] = '\0';
}

static size_t diag_count(const app *a)
{
    return a->draft ? ms_draft_diag_count(a->draft) : 0;
}

/* "0 MagnitudePruningModifier.start" or "the recipe" */
static void diag_where(const app *a, const ms_draft_diag *d, char *buf, size_t cap)
{
    if (d->modifier < 0)
        snprintf(buf, cap, "recipe");
    else
        snprintf(buf, cap, "%d %s%s%s", d->modifier, ms_draft_type(a->draft, (size_t)d->modifier),
                 d->field[0] ? "." : "", d->field);
}

/* The pane under the tree: every diagnostic of the schedule. */
static void draw_pane(app *a, schedule_state *s, WINDOW *w, int y, int rows, int cols)
{
    size_t n = diag_count(a), errors = 0;
    for (size_t i = 0; i < n; i++)
        errors += ms_draft_diag_at(a->draft, i)->diag.severity == MS_SEV_ERROR;
    char title[128];
    snprintf(title, sizeof title, " Diagnostics: %zu error%s, %zu warning%s%s ", errors,
             errors == 1 ? "" : "s", n - errors, n - errors == 1 ? "" : "s",
             s->diag_focus ? " (Enter: go to the field, E: back)" : " (E)");
    wattrset(w, ui_attr(a, ROLE_DIM));
    ui_hline(a, w, y, 0, cols);
    wattrset(w, ui_attr(a, s->diag_focus ? ROLE_TITLE : ROLE_DIM));
    ui_put(w, y, 2, cols - 4, title);
    int visible = rows - 1;
    /* the selected diagnostic in full, wrapped under the list, when its row
     * cuts it: a long message is never lost at the screen's edge */
    char full[1536] = "";
    const ms_draft_diag *sel_d = s->diag_focus ? ms_draft_diag_at(a->draft, s->diag_sel) : NULL;
    int detail = 0;
    if (sel_d) {
        char where[160];
        diag_where(a, sel_d, where, sizeof where);
        snprintf(full, sizeof full, "%s %s: %s%s%s", sel_d->diag.code, where, sel_d->diag.message,
                 sel_d->diag.hint[0] ? " (hint: " : "", sel_d->diag.hint);
        if (sel_d->diag.hint[0])
            snprintf(full + strlen(full), sizeof full - strlen(full), ")");
        int need = ui_wrap(NULL, 0, 0, cols - 4, 8, full);
        if ((int)strlen(full) + 20 > cols - 2 && visible - need - 1 >= 1)
            detail = need + 1;
    }
    visible -= detail;
    ui_scroll_to(&s->diag_scroll, (int)s->diag_sel, visible);
    for (int r = 0; r < visible && (size_t)(s->diag_scroll + r) < n; r++) {
        size_t i = (size_t)(s->diag_scroll + r);
        const ms_draft_diag *d = ms_draft_diag_at(a->draft, i);
        char where[160];
        diag_where(a, d, where, sizeof where);
        bool sel = s->diag_focus && i == s->diag_sel;
        wattrset(w, ui_attr(a, sel                                ? ROLE_SELECTED
                               : d->diag.severity == MS_SEV_ERROR ? ROLE_ERROR
                                                                  : ROLE_NORMAL));
        ui_putf(w, y + 1 + r, 1, cols - 2, "%-18s %s: %s", d->diag.code, where, d->diag.message);
    }
    if (detail) {
        int top = y + 1 + visible;
        wattrset(w, ui_attr(a, ROLE_DIM));
        ui_hline(a, w, top, 2, cols - 4);
        wattrset(w, ui_attr(a, sel_d->diag.severity == MS_SEV_ERROR ? ROLE_ERROR : ROLE_NORMAL));
        ui_wrap(w, top + 1, 2, cols - 4, detail - 1, full);
    }
    wattrset(w, ui_attr(a, ROLE_NORMAL));
}

enum { MAX_PICK = 64 };

/* The types one can add: those the run's llm-compressor release has. */
static size_t pickable(const app *a, const char **types)
{
    size_t n = 0;
    for (size_t i = 0; i < ms_schema_modifier_count(a->schema) && n < MAX_PICK; i++) {
        const char *type = ms_schema_modifier_name(a->schema, i);
        if (ms_schema_modifier_exists(a->schema, type))
            types[n++] = type;
    }
    return n;
}

/* The list of modifier types to add from, with the schema's descriptions. */
static void draw_picker(app *a, schedule_state *s, WINDOW *w, int rows, int cols)
{
    const char *types[MAX_PICK];
    size_t n = pickable(a, types);
    wattrset(w, ui_attr(a, ROLE_TITLE));
    const char *after = ms_draft_type(a->draft, a->selected);
    if (after)
        ui_putf(w, 0, 1, cols - 2, "Add a modifier after %zu %s: Enter adds, Esc cancels",
                a->selected, after);
    else
        ui_put(w, 0, 1, cols - 2, "Add a modifier: Enter adds, Esc cancels");
    int visible = rows - HEADER;
    ui_scroll_to(&s->pick_scroll, (int)s->pick_sel, visible);
    for (int r = 0; r < visible && (size_t)(s->pick_scroll + r) < n; r++) {
        size_t i = (size_t)(s->pick_scroll + r);
        const char *type = types[i];
        const char *desc = ms_schema_modifier_description(a->schema, type);
        wattrset(w, ui_attr(a, i == s->pick_sel ? ROLE_SELECTED : ROLE_NORMAL));
        ui_putf(w, HEADER + r, 1, cols - 2, " %-32s", type);
        wattrset(w, ui_attr(a, ROLE_DIM));
        if (cols > 40)
            ui_put(w, HEADER + r, 35, cols - 36, desc ? desc : "");
    }
    wattrset(w, ui_attr(a, ROLE_NORMAL));
}

static void schedule_draw(app *a, void *state, WINDOW *w, int rows, int cols)
{
    schedule_state *s = state;
    if (a->form_open) {
        form_draw(a, s, w, rows, cols);
        return;
    }
    wattrset(w, ui_attr(a, ROLE_TITLE));
    if (!a->rec || (!a->sim && !a->draft)) {
        ui_putf(w, 0, 1, cols - 2, "%s did not load (fix it, then R reloads it):", a->source);
        draw_diagnostics(a, w, HEADER, rows, cols);
        return;
    }
    if (s->picking) {
        draw_picker(a, s, w, rows, cols);
        return;
    }
    size_t n = a->draft ? ms_draft_count(a->draft) : ms_recipe_count(a->rec);
    ui_putf(w, 0, 1, cols - 2, "Recipe %s: %zu modifier%s%s%s%s%s", a->source, n, n == 1 ? "" : "s",
            a->draft && ms_draft_dirty(a->draft) ? " [modified]" : "",
            a->sim_stale ? " (errors: not simulated)" : "", a->read_only[0] ? "  " : "",
            a->read_only);
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    size_t nd = diag_count(a);
    /* focused, the pane takes up to half of the rows: room for the selected one in full */
    size_t share = (size_t)rows / (s->diag_focus ? 2 : 3), want = nd + 1 + (s->diag_focus ? 5 : 0);
    int pane = nd ? (int)(want < share ? want : share) : 0;
    if (pane == 1)
        pane = 2;
    static tree_row tree[MAX_ROWS];
    int count = tree_rows(a, tree, MAX_ROWS), sel = 0;
    for (int i = 0; i < count; i++)
        if (tree[i].modifier == (int)a->selected)
            sel = i;
    int visible = rows - HEADER - pane;
    ui_scroll_to(&s->scroll, sel, visible);
    int name_w = cols > 70 ? 26 : cols / 3;
    for (int r = 0; r < visible && s->scroll + r < count; r++) {
        const tree_row *t = &tree[s->scroll + r];
        int y = HEADER + r;
        if (t->modifier < 0) {
            wattrset(w, ui_attr(a, t->depth ? ROLE_NORMAL : ROLE_TITLE));
            ui_putf(w, y, 1 + 2 * t->depth, cols - 2, "%s %s", t->text,
                    t->depth ? "(group)" : "(stage)");
            continue;
        }
        size_t m = (size_t)t->modifier;
        bool live = !a->sim_stale && m < ms_sim_modifier_count(a->sim);
        const ms_modifier *mod = live ? ms_sim_modifier(a->sim, m) : NULL;
        bool has_break = false;
        for (size_t i = 0; live && i < ms_sim_break_count(a->sim); i++) {
            const ms_breakpoint *b = ms_sim_break_at(a->sim, i);
            has_break |= b->modifier == t->modifier && b->hook == -1 && !b->has_index;
        }
        wattrset(w, ui_attr(a, m == a->selected && !s->diag_focus ? ROLE_SELECTED : ROLE_NORMAL));
        ui_putf(w, y, 1, cols - 2, "%s %3zu %-*.*s", has_break ? "*" : " ", m, name_w, name_w,
                t->text);
        wattrset(w, ui_attr(a, ROLE_NORMAL));
        char s[48], e[48], u[48], bounds[160];
        static const ms_opt_double none;
        bound_of(a, m, "start", mod ? ms_modifier_start(mod) : none, s, sizeof s);
        bound_of(a, m, "end", mod ? ms_modifier_end(mod) : none, e, sizeof e);
        bound_of(a, m, "update", mod ? ms_modifier_update(mod) : none, u, sizeof u);
        snprintf(bounds, sizeof bounds, "%s %s %s", s, e, u);
        int x = 7 + name_w;
        ui_putf(w, y, x, cols - x - 1, "%-31s", bounds);
        x += 32;
        static const struct {
            unsigned bit;
            const char *name;
        } flags[] = {{MS_FLAG_INITIALIZED, "init"},
                     {MS_FLAG_STARTED, "start"},
                     {MS_FLAG_ENDED, "end"},
                     {MS_FLAG_FINALIZED, "final"}};
        wattrset(w, ui_attr(a, ROLE_FLAG));
        for (size_t i = 0; live && i < 4 && x < cols - 1; i++)
            if (ms_sim_flags(a->sim, m) & flags[i].bit) {
                ui_put(w, y, x, cols - x - 1, flags[i].name);
                x += (int)strlen(flags[i].name) + 1;
            }
        wattrset(w, ui_attr(a, ROLE_NORMAL));
    }
    if (pane)
        draw_pane(a, s, w, rows - pane, pane, cols);
}

static ui_result schedule_click(app *a, void *state, int y, int x)
{
    schedule_state *s = state;
    (void)x;
    if (!a->rec || !a->sim || a->form_open || s->picking)
        return UI_UNHANDLED;
    static tree_row tree[MAX_ROWS];
    int count = tree_rows(a, tree, MAX_ROWS), r = s->scroll + y - HEADER;
    if (y < HEADER || r >= count || tree[r].modifier < 0)
        return UI_UNHANDLED;
    s->diag_focus = false;
    app_select(a, (size_t)tree[r].modifier);
    return UI_REDRAW;
}

/* ---- editing ---- */

/* An edit's outcome: re-simulate and select `m`, or say why it failed. */
static ui_result edited(app *a, schedule_state *s, ms_status st, const ms_diag *d, size_t m,
                        const char *done)
{
    if (st != MS_OK) {
        app_message(a, true, "%s%s%s", d->message[0] ? d->message : ms_status_str(st),
                    d->hint[0] ? ": " : "", d->hint);
        return UI_REDRAW;
    }
    schedule_changed(a, s, m, done);
    return UI_REDRAW_ALL;
}

void schedule_changed(app *a, schedule_state *s, size_t m, const char *done)
{
    if (s->diag_sel >= ms_draft_diag_count(a->draft))
        s->diag_sel = 0;
    app_schedule_changed(a, m, done);
}

ui_result schedule_edit_command(app *a, schedule_state *s, ms_cmd cmd)
{
    ms_diag d;
    ms_diag_clear(&d);
    size_t at = a->selected;
    char what[200];
    ms_status st;
    switch (cmd) {
    case MS_CMD_UNDO:
    case MS_CMD_REDO: {
        bool undo = cmd == MS_CMD_UNDO;
        snprintf(what, sizeof what, "%s: %s", undo ? "undone" : "redone",
                 undo ? ms_draft_undo_label(a->draft) : ms_draft_redo_label(a->draft));
        st = undo ? ms_draft_undo(a->draft, &at, &d) : ms_draft_redo(a->draft, &at, &d);
        ui_result r = edited(a, s, st, &d, at, what);
        if (st == MS_OK && a->form_open) {
            if (at < ms_draft_count(a->draft))
                form_open(a, s, at,
                          s->form_sel < s->form.count ? s->form.fields[s->form_sel].schema.name
                                                      : NULL);
            else
                form_close(a, s);
        }
        return r;
    }
    case MS_CMD_SAVE:
        a->prompting = PROMPT_SAVE_PATH;
        snprintf(a->prompt, sizeof a->prompt, "%s", a->save_path);
        a->dirty |= DIRTY_MSG;
        return UI_HANDLED;
    default:
        return UI_UNHANDLED;
    }
}

static bool is_edit_command(ms_cmd cmd)
{
    return cmd >= MS_CMD_ADD && cmd <= MS_CMD_DIAGNOSTICS;
}

static ui_result picker_command(app *a, schedule_state *s, ms_cmd cmd)
{
    const char *types[MAX_PICK];
    size_t n = pickable(a, types);
    if (ui_list_move(cmd, &s->pick_sel, n, (size_t)(a->body_rows > 4 ? a->body_rows - 4 : 1)))
        return UI_REDRAW;
    switch (cmd) {
    case MS_CMD_CANCEL:
        if (a->job != JOB_NONE)
            return UI_UNHANDLED;
        s->picking = false;
        return UI_REDRAW_ALL;
    case MS_CMD_EDIT: {
        ms_diag d;
        ms_diag_clear(&d);
        size_t at = 0;
        if (s->pick_sel >= n)
            return UI_REDRAW;
        const char *type = types[s->pick_sel];
        ms_status st = ms_draft_add(a->draft, a->selected, type, &at, &d);
        s->picking = false;
        char what[160];
        snprintf(what, sizeof what, "added %zu %s (u undoes)", at, type);
        ui_result r = edited(a, s, st, &d, at, what);
        if (st == MS_OK)
            form_open(a, s, at, NULL);
        return r;
    }
    default:
        return is_edit_command(cmd) ? UI_HANDLED : UI_UNHANDLED;
    }
}

static ui_result pane_command(app *a, schedule_state *s, ms_cmd cmd)
{
    size_t n = diag_count(a);
    switch (cmd) {
    case MS_CMD_UP:
        s->diag_sel = s->diag_sel ? s->diag_sel - 1 : 0;
        return UI_REDRAW;
    case MS_CMD_DOWN:
        s->diag_sel = s->diag_sel + 1 < n ? s->diag_sel + 1 : s->diag_sel;
        return UI_REDRAW;
    case MS_CMD_CANCEL:
    case MS_CMD_DIAGNOSTICS:
        if (a->job != JOB_NONE)
            return UI_UNHANDLED;
        s->diag_focus = false;
        return UI_REDRAW;
    case MS_CMD_EDIT: {
        const ms_draft_diag *d = ms_draft_diag_at(a->draft, s->diag_sel);
        if (!d || d->modifier < 0) {
            app_message(a, false, "this diagnostic is about the recipe, not one modifier");
            return UI_REDRAW;
        }
        s->diag_focus = false;
        app_select(a, (size_t)d->modifier);
        form_open(a, s, (size_t)d->modifier, d->field[0] ? d->field : NULL);
        app_message(a, d->diag.severity == MS_SEV_ERROR, "%s%s%s", d->diag.message,
                    d->diag.hint[0] ? ": " : "", d->diag.hint);
        return UI_REDRAW_ALL;
    }
    case MS_CMD_UNDO:
    case MS_CMD_REDO:
    case MS_CMD_SAVE:
        return schedule_edit_command(a, s, cmd);
    default:
        return is_edit_command(cmd) ? UI_HANDLED : UI_UNHANDLED;
    }
}

static ui_result schedule_command(app *a, void *state, ms_cmd cmd)
{
    schedule_state *s = state;
    if (a->form_open)
        return form_command(a, s, cmd);
    if (!is_edit_command(cmd) && !(s->picking || s->diag_focus))
        return UI_UNHANDLED;
    if (!a->draft) {
        if (!is_edit_command(cmd))
            return UI_UNHANDLED;
        app_message(a, true, "%s",
                    a->read_only[0] ? a->read_only : "nothing to edit: the recipe did not load");
        return UI_REDRAW;
    }
    if (s->picking)
        return picker_command(a, s, cmd);
    if (s->diag_focus)
        return pane_command(a, s, cmd);
    size_t n = ms_draft_count(a->draft), m = a->selected, at = m;
    if (!n && cmd != MS_CMD_ADD && cmd != MS_CMD_UNDO && cmd != MS_CMD_REDO && cmd != MS_CMD_SAVE &&
        cmd != MS_CMD_DIAGNOSTICS) {
        app_message(a, true, "no modifier: a adds one");
        return UI_REDRAW;
    }
    ms_diag d;
    ms_diag_clear(&d);
    char what[200];
    ms_status st;
    switch (cmd) {
    case MS_CMD_EDIT:
        form_open(a, s, m, NULL);
        return UI_REDRAW_ALL;
    case MS_CMD_ADD:
        s->picking = true;
        return UI_REDRAW_ALL;
    case MS_CMD_DELETE:
        snprintf(what, sizeof what, "deleted %zu %s (u undoes)", m, ms_draft_type(a->draft, m));
        st = ms_draft_delete(a->draft, m, &d);
        return edited(a, s, st, &d, m, what);
    case MS_CMD_DUPLICATE:
        st = ms_draft_duplicate(a->draft, m, &at, &d);
        snprintf(what, sizeof what, "duplicated %zu %s as %zu, group %s", m,
                 ms_draft_type(a->draft, m), at, st == MS_OK ? ms_draft_group(a->draft, at) : "");
        return edited(a, s, st, &d, at, what);
    case MS_CMD_MOVE_UP:
    case MS_CMD_MOVE_DOWN:
        st = ms_draft_move(a->draft, m, cmd == MS_CMD_MOVE_UP, &at, &d);
        snprintf(what, sizeof what, "moved %s: now %zu in group %s",
                 st == MS_OK ? ms_draft_type(a->draft, at) : "", at,
                 st == MS_OK ? ms_draft_group(a->draft, at) : "");
        return edited(a, s, st, &d, at, what);
    case MS_CMD_DIAGNOSTICS:
        if (!diag_count(a)) {
            app_message(a, false, "no diagnostics: the schema and the lint find nothing");
            return UI_REDRAW;
        }
        s->diag_focus = true;
        return UI_REDRAW;
    default:
        return schedule_edit_command(a, s, cmd);
    }
}

/* Text being typed into a form field goes there before the keymap. */
static ui_result schedule_input(app *a, void *state, int key)
{
    if (!a->editing)
        return UI_UNHANDLED;
    form_edit_key(a, state, key);
    return UI_HANDLED;
}

static ms_scope schedule_scope(const app *a, const void *state)
{
    (void)state;
    return a->form_open ? MS_SCOPE_FORM : MS_SCOPE_SCHEDULE;
}

static void schedule_close(app *a, void *state)
{
    (void)a;
    ms_form_free(&((schedule_state *)state)->form);
}

const view_ops schedule_view = {
    .private_size = sizeof(schedule_state),
    .close = schedule_close,
    .draw = schedule_draw,
    .input = schedule_input,
    .command = schedule_command,
    .click = schedule_click,
    .scope = schedule_scope,
    .enter = &timeline_view,
};
