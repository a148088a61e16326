/* Model: the model the run acts on, as it is at the session's position: one
 * row per Linear (owner, sparsity, bits, weight and output error), the
 * selected row's mask and scale histogram, the model against the
 * uncompressed one, and the checksum that shows a step back restored it. */
#include "app.h"
#include "draw.h"
#include "model_track.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct model_state {
    size_t sel; /* in the shown order */
    int first;  /* first row shown */
    ui_model_sort sort;
    bool reverse;
    bool filtering; /* keys go into `filter` */
    char filter[64];
    size_t *order; /* row indices shown, nrows of room */
    size_t cap, shown;
} model_state;

enum { DETAIL_ROWS = UI_MASK_ROWS + 2 };

#define MIB(bytes) ((double)(bytes) / (1024.0 * 1024.0))

static const char *owner_type(void *user, int m)
{
    return app_modifier_type(user, (size_t)m);
}

/* The rows in the screen's order; false when there is no report. */
static const ui_model_report *ordered(app *a, model_state *s)
{
    const ui_model_report *r = a->model ? ui_model_last(a->model) : NULL;
    if (!r || !r->valid)
        return NULL;
    if (s->cap < r->nrows) {
        size_t *o = realloc(s->order, r->nrows * sizeof *o);
        if (!o)
            return NULL;
        s->order = o;
        s->cap = r->nrows;
    }
    s->shown = ui_model_order(r, s->sort, s->reverse, s->filter, owner_type, a, s->order);
    if (s->sel >= s->shown)
        s->sel = s->shown ? s->shown - 1 : 0;
    return r;
}

static void owner_text(app *a, int owner, char *buf, size_t cap)
{
    if (owner < 0)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%d %s", owner, app_modifier_type(a, (size_t)owner));
}

static void draw_detail(app *a, const ui_model_row *row, WINDOW *w, int y, int cols)
{
    ui_hline(a, w, y++, 0, cols);
    wattrset(w, ui_attr(a, ROLE_TITLE));
    bool act = strcmp(row->act, "-") != 0;
    ui_putf(w, y, 1, cols - 2, "%s [%zu, %zu]%s%s%s%s", row->name, row->shape[0], row->shape[1],
            act ? "  act " : "", act ? row->act : "", row->note ? "  left alone: " : "",
            row->note ? row->note : "");
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    y++;
    int mask_w = UI_MASK_COLS + 2;
    for (int r = 0; r < UI_MASK_ROWS; r++)
        if (row->mask[r][0])
            ui_put(w, y + r, 1, cols - 2 < mask_w ? cols - 2 : mask_w, row->mask[r]);
    int hx = mask_w + 2, hw = cols - hx - 1;
    if (hw < 20)
        return;
    if (!row->groups) {
        wattrset(w, ui_attr(a, ROLE_DIM));
        ui_put(w, y, hx, hw, "not quantized: no scales");
        ui_put(w, y + 1, hx, hw, "# kept  . zero (top-left corner)");
        wattrset(w, ui_attr(a, ROLE_NORMAL));
        return;
    }
    ui_putf(w, y, hx, hw, "scales of %zu groups:", row->groups);
    size_t max = 1;
    for (int b = 0; b < UI_HIST_BINS; b++)
        max = row->hist[b] > max ? row->hist[b] : max;
    int bar_w = hw - 18;
    double width = (row->hist_hi - row->hist_lo) / UI_HIST_BINS;
    /* two bins a line, so the histogram fits beside the mask */
    for (int b = 0; b < UI_HIST_BINS && b / 2 + 1 < UI_MASK_ROWS; b += 2) {
        size_t count = row->hist[b] + (b + 1 < UI_HIST_BINS ? row->hist[b + 1] : 0);
        int len = bar_w > 0 ? (int)((double)bar_w * (double)count / (double)(2 * max)) : 0;
        char bar[128];
        int k = 0;
        for (; k < len && k < (int)sizeof bar - 1; k++)
            bar[k] = '#';
        bar[k] = '\0';
        ui_putf(w, y + 1 + b / 2, hx, hw, "%9.3g %5zu %s", row->hist_lo + width * b, count, bar);
    }
}

static void model_draw(app *a, void *state, WINDOW *w, int rows, int cols)
{
    model_state *s = state;
    /* shown, the screen wants the figures (and a session after an edit
     * opens its track now) */
    if (a->model)
        ui_model_want_figures(a->model, true);
    app_model_follow(a);
    if (!a->model) {
        ui_put(w, 0, 1, cols - 2,
               a->model_error[0] ? a->model_error : "No model: nothing is simulated.");
        return;
    }
    ui_model_progress p;
    ui_model_progress_get(a->model, &p);
    const ui_model_report *r = ordered(a, s);
    if (!r) {
        ui_putf(w, 0, 1, cols - 2, "Model %s: measuring the model at call %zu ...",
                app_model_name(a), p.pos);
        return;
    }
    char sum[160];
    bool same = r->checksum == r->first;
    snprintf(sum, sizeof sum, "checksum %016llx %s", (unsigned long long)r->checksum,
             same ? (r->back ? "= when first reached" : "(first reached)")
                  : "DIFFERS from when first reached");
    wattrset(w, ui_attr(a, ROLE_TITLE));
    ui_putf(w, 0, 1, cols - 2, "Model %s at call %zu%s", app_model_name(a), r->pos,
            p.busy ? " (the worker moves it)" : "");
    wattrset(w, ui_attr(a, same ? ROLE_NORMAL : ROLE_ERROR));
    char size[96] = "";
    if (r->has_size)
        snprintf(size, sizeof size, "  stored %.2f of %.2f MiB", MIB(r->size.compressed_bytes),
                 MIB(r->size.dense_bytes));
    ui_putf(w, 1, 1, cols - 2, "%s  snapshots %.1f MiB", sum, MIB(r->snapshot_bytes));
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    const ms_world_metrics *mt = &r->metrics;
    if (r->figures)
        ui_putf(w, 2, 1, cols - 2,
                "perplexity %.4g (uncompressed %.4g)  KL %.4g nats/token  top-1 %.4f",
                mt->perplexity, mt->perplexity_base, mt->kl, mt->top1);
    else
        ui_put(w, 2, 1, cols - 2, "measuring perplexity, KL, top-1 ...");
    wattrset(w, ui_attr(a, ROLE_DIM));
    ui_putf(w, 3, 1, cols - 2, "sort: %s%s (o, O reverses)  filter: %s%s (f)%s%s",
            ui_model_sort_name(s->sort), s->reverse ? ", reversed" : "",
            s->filter[0] || s->filtering ? s->filter : "none", s->filtering ? "_" : "",
            r->error[0] ? "  STOPPED" : "", size);
    /* narrow: no class column (a Linear, every row), and a long name shows
     * its end, which tells the modules apart */
    bool wide = cols >= 110;
    int owner_w = wide ? 26 : 22, fixed = (wide ? 8 : 0) + owner_w + 35;
    int name_w = cols - fixed > 20 ? cols - fixed : 20;
    wattrset(w, ui_attr(a, ROLE_TITLE));
    ui_putf(w, 4, 1, cols - 2, "%-*s %s%-*s %8s %4s %8s %8s", name_w, "module",
            wide ? "class   " : "", owner_w, "modifier", "sparsity", "bits", "w.err", "out.err");
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    int top = 5, list = rows - top - (rows - top > DETAIL_ROWS + 3 ? DETAIL_ROWS : 0);
    ui_scroll_to(&s->first, (int)s->sel, list);
    for (int i = 0; i < list && (size_t)(s->first + i) < s->shown; i++) {
        size_t k = (size_t)s->first + (size_t)i;
        const ui_model_row *row = &r->rows[s->order[k]];
        char owner[64], bits[8] = "-", out[16] = "-", name[160], cls[16] = "";
        owner_text(a, row->owner, owner, sizeof owner);
        if (row->bits)
            snprintf(bits, sizeof bits, "%d", row->bits);
        if (!isnan(row->out_error))
            snprintf(out, sizeof out, "%8.5f", row->out_error);
        size_t len = strlen(row->name);
        if ((int)len > name_w)
            snprintf(name, sizeof name, "~%s", row->name + len - (size_t)(name_w - 1));
        else
            snprintf(name, sizeof name, "%s", row->name);
        if (wide)
            snprintf(cls, sizeof cls, "%-7.7s ", row->class_name);
        wattrset(w, ui_attr(a, k == s->sel ? ROLE_SELECTED : ROLE_NORMAL));
        ui_putf(w, top + i, 1, cols - 2, "%-*s %s%-*.*s %8.4f %4s %8.5f %8s", name_w, name, cls,
                owner_w, owner_w, owner, row->sparsity, bits, row->rel_error, out);
    }
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    if (!s->shown)
        ui_putf(w, top, 1, cols - 2, "no module matches '%s' (f, Esc clears)", s->filter);
    if (list < rows - top && s->shown)
        draw_detail(a, &r->rows[s->order[s->sel]], w, top + list, cols);
}

static ui_result model_input(app *a, void *state, int key)
{
    (void)a;
    model_state *s = state;
    if (!s->filtering)
        return UI_UNHANDLED;
    size_t len = strlen(s->filter);
    if (key == MS_KEY_ESC) {
        s->filter[0] = '\0';
        s->filtering = false;
    } else if (key == MS_KEY_ENTER) {
        s->filtering = false;
    } else if (key == MS_KEY_BACKSPACE) {
        if (len)
            s->filter[len - 1] = '\0';
    } else if (key >= 32 && key < 127 && len + 1 < sizeof s->filter) {
        s->filter[len] = (char)key;
        s->filter[len + 1] = '\0';
    }
    s->sel = 0;
    a->dirty |= DIRTY_BODY;
    return UI_REDRAW;
}

static ui_result model_command(app *a, void *state, ms_cmd cmd)
{
    model_state *s = state;
    int page = a->body_rows > DETAIL_ROWS + 8 ? a->body_rows - DETAIL_ROWS - 8 : 1;
    if (ui_list_move(cmd, &s->sel, s->shown, (size_t)page))
        return UI_REDRAW;
    switch (cmd) {
    case MS_CMD_MODEL_SORT:
        s->sort = (ui_model_sort)((s->sort + 1) % UI_SORT_COUNT);
        s->sel = 0;
        return UI_REDRAW;
    case MS_CMD_MODEL_REVERSE:
        s->reverse = !s->reverse;
        s->sel = 0;
        return UI_REDRAW;
    case MS_CMD_MODEL_FILTER:
        s->filtering = true;
        return UI_REDRAW;
    default:
        return UI_UNHANDLED;
    }
}

static void model_close(app *a, void *state)
{
    (void)a;
    free(((model_state *)state)->order);
}

const view_ops model_view = {
    .private_size = sizeof(model_state),
    .close = model_close,
    .draw = model_draw,
    .input = model_input,
    .command = model_command,
};
