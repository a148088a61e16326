/* Help: every key, generated from the keymap, and a lifecycle primer. */
#include "app.h"
#include "draw.h"

typedef struct help_state {
    int scroll; /* first line shown */
} help_state;

typedef struct help_draw {
    app *a;
    WINDOW *w;
    int line, first, rows, cols;
} help_draw;

static void emit(void *user, const char *text)
{
    help_draw *h = user;
    int y = h->line++ - h->first;
    if (y < 0 || y >= h->rows)
        return;
    /* headings are the lines that do not start with a space */
    bool heading = text[0] && text[0] != ' ';
    wattrset(h->w, ui_attr(h->a, heading ? ROLE_TITLE : ROLE_NORMAL));
    ui_put(h->w, y, 1, h->cols - 2, text);
    wattrset(h->w, ui_attr(h->a, ROLE_NORMAL));
}

static void count(void *user, const char *text)
{
    (void)text;
    (*(int *)user)++;
}

static int help_lines(void)
{
    int n = 0;
    ms_keymap_help(count, &n);
    return n;
}

static void help_draw_view(app *a, void *state, WINDOW *w, int rows, int cols)
{
    help_state *s = state;
    int max = help_lines() - rows;
    if (s->scroll > max)
        s->scroll = max > 0 ? max : 0;
    help_draw h = {.a = a, .w = w, .first = s->scroll, .rows = rows, .cols = cols};
    ms_keymap_help(emit, &h);
}

static ui_result help_command(app *a, void *state, ms_cmd cmd)
{
    int *first = &((help_state *)state)->scroll;
    int page = a->body_rows > 2 ? a->body_rows - 2 : 1;
    switch (cmd) {
    case MS_CMD_UP:
        *first -= *first > 0;
        return UI_REDRAW;
    case MS_CMD_DOWN:
        (*first)++;
        return UI_REDRAW;
    case MS_CMD_PAGE_UP:
        *first = *first > page ? *first - page : 0;
        return UI_REDRAW;
    case MS_CMD_PAGE_DOWN:
        *first += page;
        return UI_REDRAW;
    case MS_CMD_FIRST:
        *first = 0;
        return UI_REDRAW;
    case MS_CMD_LAST:
        *first = help_lines();
        return UI_REDRAW;
    default:
        return UI_UNHANDLED;
    }
}

const view_ops help_view = {
    .private_size = sizeof(help_state),
    .draw = help_draw_view,
    .command = help_command,
};
