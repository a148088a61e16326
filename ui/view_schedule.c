/* Schedule: the recipe as a tree of stages, groups and modifiers, and the
 * diagnostics of a recipe that did not load. Read-only until the recipe
 * schema lands; a form view for editing slots in beside it. */
#include "app.h"

#include <stdio.h>
#include <string.h>

/* One line of the tree: a stage, a group, or a modifier (m >= 0). */
typedef struct tree_row {
    int depth;
    int modifier;
    const char *text;
} tree_row;

/* Builds the tree rows from the recipe's entries, in recipe order; a stage
 * or group row appears where its name changes. Returns the count. */
static int tree_rows(const app *a, tree_row *rows, int cap)
{
    int n = 0;
    const char *stage = NULL, *group = NULL;
    for (size_t i = 0; i < ms_recipe_count(a->rec) && n + 3 <= cap; i++) {
        const ms_recipe_entry *e = ms_recipe_entry_at(a->rec, i);
        if (!stage || strcmp(stage, e->stage)) {
            rows[n++] = (tree_row){0, -1, e->stage};
            stage = e->stage;
            group = NULL;
        }
        if (!group || strcmp(group, e->group)) {
            rows[n++] = (tree_row){1, -1, e->group};
            group = e->group;
        }
        rows[n++] = (tree_row){2, (int)i, e->type_key->value};
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
    ui_putf(w, y++, 1, cols - 2, "%s:%d:%d: error %s", d->file[0] ? d->file : a->source, d->line,
            d->col, d->code);
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

static void schedule_draw(app *a, WINDOW *w, int rows, int cols)
{
    wattrset(w, ui_attr(a, ROLE_TITLE));
    if (!a->rec || !a->sim) {
        ui_putf(w, 0, 1, cols - 2, "%s did not load:", a->source);
        draw_diagnostics(a, w, HEADER, rows, cols);
        return;
    }
    size_t n = ms_recipe_count(a->rec);
    ui_putf(w, 0, 1, cols - 2, "Recipe %s: %zu modifier%s", a->source, n, n == 1 ? "" : "s");
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    static tree_row tree[MAX_ROWS];
    int count = tree_rows(a, tree, MAX_ROWS), sel = 0;
    for (int i = 0; i < count; i++)
        if (tree[i].modifier == (int)a->selected)
            sel = i;
    int visible = rows - HEADER;
    ui_scroll_to(&a->scroll[VIEW_SCHEDULE], sel, visible);
    int name_w = cols > 70 ? 26 : cols / 3;
    for (int r = 0; r < visible && a->scroll[VIEW_SCHEDULE] + r < count; r++) {
        const tree_row *t = &tree[a->scroll[VIEW_SCHEDULE] + r];
        int y = HEADER + r;
        if (t->modifier < 0) {
            wattrset(w, ui_attr(a, t->depth ? ROLE_NORMAL : ROLE_TITLE));
            ui_putf(w, y, 1 + 2 * t->depth, cols - 2, "%s %s", t->text,
                    t->depth ? "(group)" : "(stage)");
            continue;
        }
        size_t m = (size_t)t->modifier;
        const ms_modifier *mod = ms_sim_modifier(a->sim, m);
        bool has_break = false;
        for (size_t i = 0; i < ms_sim_break_count(a->sim); i++) {
            const ms_breakpoint *b = ms_sim_break_at(a->sim, i);
            has_break |= b->modifier == t->modifier && b->hook == -1 && !b->has_index;
        }
        wattrset(w, ui_attr(a, m == a->selected ? ROLE_SELECTED : ROLE_NORMAL));
        ui_putf(w, y, 1, cols - 2, "%s %3zu %-*.*s", has_break ? "*" : " ", m, name_w, name_w,
                t->text);
        wattrset(w, ui_attr(a, ROLE_NORMAL));
        char s[32], e[32], u[32], bounds[100];
        bound(s, sizeof s, "start", ms_modifier_start(mod));
        bound(e, sizeof e, "end", ms_modifier_end(mod));
        bound(u, sizeof u, "update", ms_modifier_update(mod));
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
        for (size_t i = 0; i < 4 && x < cols - 1; i++)
            if (ms_sim_flags(a->sim, m) & flags[i].bit) {
                ui_put(w, y, x, cols - x - 1, flags[i].name);
                x += (int)strlen(flags[i].name) + 1;
            }
        wattrset(w, ui_attr(a, ROLE_NORMAL));
    }
}

static ui_result schedule_click(app *a, int y, int x)
{
    (void)x;
    if (!a->rec || !a->sim)
        return UI_UNHANDLED;
    static tree_row tree[MAX_ROWS];
    int count = tree_rows(a, tree, MAX_ROWS), r = a->scroll[VIEW_SCHEDULE] + y - HEADER;
    if (y < HEADER || r >= count || tree[r].modifier < 0)
        return UI_UNHANDLED;
    app_select(a, (size_t)tree[r].modifier);
    return UI_REDRAW;
}

const view_ops schedule_view = {
    .name = "Schedule",
    .scope = MS_SCOPE_SCHEDULE,
    .draw = schedule_draw,
    .click = schedule_click,
};
