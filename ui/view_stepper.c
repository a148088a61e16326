/* Stepper: the clock and pipeline that generate the calls, where the run
 * is, each modifier's flags, and the log of the hooks the last calls ran. */
#include "app.h"
#include "draw.h"

typedef struct stepper_state {
    int scroll; /* first row of the flags table shown */
} stepper_state;

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *index_mode_name(const app *a)
{
    if (a->cfg.index_mode == MS_INDEX_UPSTREAM)
        return "upstream (events carry no step: index 0)";
    return a->cfg.epoch_index ? "INTENDED epoch (step / steps per epoch; upstream sends 0)"
                              : "INTENDED step (upstream sends 0)";
}

static const char *short_hook(ms_hook h)
{
    static const char *const names[] = {"init",  "start",     "update",  "end",    "event",
                                        "final", "cal-start", "seq-end", "cal-end"};
    _Static_assert(sizeof names / sizeof names[0] == MS_HOOK_COUNT, "a short name per hook");
    return (unsigned)h < MS_HOOK_COUNT ? names[h] : "raised";
}

/* One log line per call: its label, then "m0 start,update  m2 update". */
static void draw_log(app *a, WINDOW *w, int y, int lines, int cols)
{
    size_t pos = ms_sim_position(a->sim);
    size_t first = pos > (size_t)lines ? pos - (size_t)lines : 0;
    ms_sim_hook *hooks = NULL;
    size_t n = 0;
    if (ms_sim_hooks(a->sim, first, pos, false, &hooks, &n) != MS_OK) {
        ui_put(w, y, 1, cols - 2, "(out of memory)");
        return;
    }
    size_t h = 0;
    for (size_t call = first; call < pos; call++, y++) {
        char line[1024], label[96];
        ms_sim_call_label(a->sim, call, label, sizeof label);
        int len = snprintf(line, sizeof line, "%6zu %-24s", call, label);
        int last_mod = -2;
        const ms_sim_error *err = NULL;
        for (; h < n && hooks[h].call == call; h++) {
            if (hooks[h].hook == MS_HOOK_COUNT) {
                err = ms_sim_error_at(a->sim, call);
                continue;
            }
            if (len >= (int)sizeof line - 40)
                continue;
            if (hooks[h].modifier != last_mod)
                len += snprintf(line + len, sizeof line - (size_t)len, "  m%d %s",
                                hooks[h].modifier, short_hook(hooks[h].hook));
            else
                len += snprintf(line + len, sizeof line - (size_t)len, ",%s",
                                short_hook(hooks[h].hook));
            last_mod = hooks[h].modifier;
        }
        wattrset(w, ui_attr(a, call + 1 == pos ? ROLE_TITLE : ROLE_NORMAL));
        ui_put(w, y, 1, cols - 2, line);
        if (err) {
            int x = 1 + len + 2;
            char who[32] = "the lifecycle";
            if (err->modifier >= 0)
                snprintf(who, sizeof who, "m%d", err->modifier);
            wattrset(w, ui_attr(a, ROLE_ERROR));
            if (x < cols - 1)
                ui_putf(w, y, x, cols - x - 1, "! %s from %s: %s", ms_raise_kind_name(err->kind),
                        who, err->message);
        }
        wattrset(w, ui_attr(a, ROLE_NORMAL));
    }
    free(hooks);
}

enum { TABLE_TOP = 4 }; /* three lines of settings and a rule above the table */

/* The flags table, heading included, takes up to half of the body. */
static int table_rows(const app *a, int rows)
{
    int n = (int)ms_sim_modifier_count(a->sim) + 1, half = (rows - TABLE_TOP - 1) / 2;
    int table = n < half ? n : half;
    return table < 2 ? 2 : table;
}

static void stepper_draw(app *a, void *state, WINDOW *w, int rows, int cols)
{
    stepper_state *s = state;
    if (!a->sim) {
        ui_put(w, 0, 1, cols - 2,
               a->rec ? "Not simulated: the recipe has errors (1: Schedule lists them)."
                      : "Nothing to run: the recipe did not load (1: Schedule).");
        return;
    }
    const ms_pipeline_config *c = &a->cfg;
    int y = 0;
    wattrset(w, ui_attr(a, ROLE_TITLE));
    ui_put(w, y, 1, 9, "Clock");
    ui_put(w, y + 1, 1, 9, "Pipeline");
    ui_put(w, y + 2, 1, 9, "Position");
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    if (a->fixed_calls) {
        ui_putf(w, y, 11, cols - 12, "from the scenario; index %s", index_mode_name(a));
        ui_putf(w, y + 1, 11, cols - 12, "the scenario's %zu calls", ms_sim_call_count(a->sim));
    } else {
        char bps[24] = "-";
        if (c->batches_per_step)
            snprintf(bps, sizeof bps, "%lld", c->batches_per_step);
        if (c->epochs)
            ui_putf(w, y, 11, cols - 12,
                    "loop of %lld epochs x %lld steps, batches/step %s; "
                    "index %s",
                    c->epochs, c->steps_per_epoch, bps, index_mode_name(a));
        else
            ui_putf(w, y, 11, cols - 12, "no training loop; index %s", index_mode_name(a));
        char run[200], layers[32] = "";
        ms_pipeline_describe(c, run, sizeof run);
        if (c->calibration == MS_PIPELINE_SEQUENTIAL || c->calibration == MS_PIPELINE_INDEPENDENT)
            snprintf(layers, sizeof layers, " (%lld layers)", c->layers);
        ui_putf(w, y + 1, 11, cols - 12, "%s%s", run, layers);
    }
    size_t pos = ms_sim_position(a->sim);
    char where[160] = "before the first call";
    if (pos)
        ui_call_text(a, pos - 1, where, sizeof where);
    ui_putf(w, y + 2, 11, cols - 12, "%zu/%zu run, %zu breakpoint%s; last %s", pos,
            ms_sim_call_count(a->sim), ms_sim_break_count(a->sim),
            ms_sim_break_count(a->sim) == 1 ? "" : "s", where);
    y += 3;
    ui_hline(a, w, y++, 0, cols);

    size_t n = ms_sim_modifier_count(a->sim);
    int table = table_rows(a, rows);
    int name_w = cols > 80 ? 32 : cols / 3;
    wattrset(w, ui_attr(a, ROLE_TITLE));
    ui_putf(w, y++, 1, cols - 2, "%3s %-*s %-5s %-5s %-5s %-5s %s", "#", name_w, "modifier", "init",
            "start", "end", "final", "metric");
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    int visible = table - 1;
    ui_scroll_to(&s->scroll, (int)a->selected, visible);
    for (int r = 0; r < visible && (size_t)(s->scroll + r) < n; r++, y++) {
        size_t m = (size_t)(s->scroll + r);
        unsigned f = ms_sim_flags(a->sim, m);
        wattrset(w, ui_attr(a, m == a->selected ? ROLE_SELECTED : ROLE_NORMAL));
        ui_putf(w, y, 1, name_w + 4, "%3zu %-*s", m, name_w, app_modifier_type(a, m));
        int x = name_w + 6;
        static const unsigned bits[] = {MS_FLAG_INITIALIZED, MS_FLAG_STARTED, MS_FLAG_ENDED,
                                        MS_FLAG_FINALIZED};
        for (int b = 0; b < 4; b++, x += 6) {
            wattrset(w, ui_attr(a, f & bits[b] ? ROLE_FLAG : ROLE_DIM));
            ui_put(w, y, x + 1, 1, ui_check(a, f & bits[b]));
        }
        wattrset(w, ui_attr(a, ROLE_NORMAL));
        double v;
        bool has = false;
        const char *metric = ms_modifier_metric(ms_sim_modifier(a->sim, m), &v, &has);
        if (metric && has)
            ui_putf(w, y, x, cols - x - 1, "%s %.4g", metric, v);
        else if (metric)
            ui_putf(w, y, x, cols - x - 1, "%s -", metric);
    }
    y = TABLE_TOP + table;
    if (y >= rows - 1)
        return;
    ui_hline(a, w, y, 0, cols);
    wattrset(w, ui_attr(a, ROLE_TITLE));
    ui_put(w, y++, 2, cols - 4, " Event log (hooks besides on_event) ");
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    draw_log(a, w, y, rows - y, cols);
}

static ui_result stepper_command(app *a, void *state, ms_cmd cmd)
{
    (void)state;
    ms_pipeline_config *c = &a->cfg;
    bool changed = true;
    switch (cmd) {
    case MS_CMD_PIPELINE:
        c->calibration = (ms_pipeline)((c->calibration + 1) % MS_PIPELINE_COUNT);
        break;
    case MS_CMD_INDEX_MODE:
        if (c->index_mode == MS_INDEX_UPSTREAM) {
            /* the intended index means the schedule: give it a loop to run in */
            ms_pipeline_config intended = ms_pipeline_intended(c, a->rec);
            a->intended_loop = intended.epochs != c->epochs;
            *c = intended;
            c->epoch_index = true;
        } else if (c->epoch_index) {
            c->epoch_index = false;
        } else {
            c->index_mode = MS_INDEX_UPSTREAM;
            if (a->intended_loop)
                c->epochs = 0;
            a->intended_loop = false;
        }
        break;
    case MS_CMD_UPSTREAM:
        c->upstream = (ms_upstream)((c->upstream + 1) % MS_UPSTREAM_COUNT);
        break;
    case MS_CMD_TRAINING:
        if (c->epochs && c->calibration == MS_PIPELINE_NONE) {
            ms_upstream upstream = c->upstream;
            *c = ms_pipeline_defaults();
            c->upstream = upstream;
        } else {
            ms_index_mode mode = c->index_mode;
            ms_upstream upstream = c->upstream;
            *c = ms_pipeline_training(a->rec);
            c->index_mode = mode;
            c->upstream = upstream;
        }
        a->intended_loop = false;
        break;
    case MS_CMD_EPOCHS_MORE:
        c->epochs++;
        break;
    case MS_CMD_EPOCHS_LESS:
        changed = c->epochs > 0;
        c->epochs -= changed;
        break;
    case MS_CMD_STEPS_MORE:
        c->steps_per_epoch++;
        break;
    case MS_CMD_STEPS_LESS:
        changed = c->steps_per_epoch > 1;
        c->steps_per_epoch -= changed;
        break;
    case MS_CMD_LAYERS_MORE:
        c->layers++;
        break;
    case MS_CMD_LAYERS_LESS:
        changed = c->layers > 1;
        c->layers -= changed;
        break;
    default:
        return UI_UNHANDLED;
    }
    if (a->fixed_calls) {
        app_message(a, true, "the calls come from the scenario file; open a recipe to change them");
        return UI_REDRAW;
    }
    if (changed) {
        app_rebuild(a);
        app_message(a, false, "%zu calls generated; %s", a->sim ? ms_sim_call_count(a->sim) : 0,
                    a->kept_note[0] ? a->kept_note : "at the start");
    }
    return UI_REDRAW_ALL;
}

static ui_result stepper_click(app *a, void *state, int y, int x)
{
    stepper_state *s = state;
    (void)x;
    if (!a->sim || y <= TABLE_TOP || y >= TABLE_TOP + table_rows(a, a->body_rows))
        return UI_UNHANDLED;
    size_t m = (size_t)(s->scroll + y - TABLE_TOP - 1);
    if (m >= ms_sim_modifier_count(a->sim))
        return UI_UNHANDLED;
    app_select(a, m);
    return UI_REDRAW;
}

const view_ops stepper_view = {
    .private_size = sizeof(stepper_state),
    .draw = stepper_draw,
    .command = stepper_command,
    .click = stepper_click,
    .enter = &explain_view,
};
