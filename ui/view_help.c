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

/* What the screens show, after the keys and the lifecycle primer. */
static const char *const guide[] = {
    "",
    "Reading the screens",
    "",
    "  call N/M      N calls run of the M the run makes (initialize, each event,",
    "                finalize; per-modifier calls count too); b goes back one.",
    "  pipelines     oneshot() runs the independent pipeline by default: each",
    "                calibration modifier in its own calibration pass. sequential",
    "                runs one pass over the model's layers (subgraphs), basic one",
    "                pass over the whole model, datafree none (no calibration data).",
    "                A training loop (epochs x steps) runs batch_start ... batch_end",
    "                each step. The intended index gives events their step (or",
    "                fractional epoch), which upstream's oneshot does not: index 0.",
    "  Timeline      I init  S start  E end  F final  ! error  s/e calibration",
    "                start/end (0.13)  \u2501 (=) on_update ran  \u2500 (-) active",
    "                \u00b7 (.) waiting  [ ] the index reaches start / end.",
    "                \u25c6 (*) the column holds several transitions: the line under",
    "                the rows lists them for the selected row at the cursor's column.",
    "                The call that ran on_end shows E only, though on_update ran",
    "                in it too; nothing is drawn after F.",
    "  event log     the Stepper's log follows the position; PgUp/PgDn scroll it,",
    "                / searches its calls (labels, hooks, errors), e types the clock.",
    "  Model         one row per Linear: the modifier that changed it last,",
    "                sparsity, bits, w.err ||W - W0|| / ||W0||, out.err its output",
    "                against the uncompressed model's on the calibration tokens; the",
    "                selected row's mask (# kept . zero) and scale histogram. After a",
    "                step back, checksum = when first reached: the same weights.",
    "                A long step shows its progress in the status line; Esc puts",
    "                the model back where the step began.",
    "  History       one line per run kept (newest first); Enter replays it and",
    "                stops where today's modsim disagrees with the record; d",
    "                diffs the selected run against the session's run; / filters.",
    "  diagnostics   each code (E-..., W-...) is explained by",
    "                modsim validate --explain CODE",
};

static void emit_guide(void (*emit)(void *user, const char *line), void *user)
{
    ms_keymap_help(emit, user);
    for (size_t i = 0; i < sizeof guide / sizeof guide[0]; i++)
        emit(user, guide[i]);
}

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
    emit_guide(count, &n);
    return n;
}

static void help_draw_view(app *a, void *state, WINDOW *w, int rows, int cols)
{
    help_state *s = state;
    int max = help_lines() - rows;
    if (s->scroll > max)
        s->scroll = max > 0 ? max : 0;
    help_draw h = {.a = a, .w = w, .first = s->scroll, .rows = rows, .cols = cols};
    emit_guide(emit, &h);
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
