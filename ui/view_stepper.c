/* Stepper: the clock and pipeline that generate the calls, where the run
 * is, each modifier's flags, and the log of the hooks the last calls ran. */
#include "app.h"
#include "draw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct stepper_state {
    int scroll;  /* first row of the flags table shown */
    size_t back; /* the log's last line is this many calls before the position (0: follows it) */
    bool marked; /* a search found `mark`, highlighted */
    size_t mark;
    bool entering; /* keys go into `entry`: the clock being typed */
    char entry[160];
} stepper_state;

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

/* The log's line for `call`: its label, then "m0 start,update  m2 update";
 * `*h` walks `hooks` (in call order) past the call's. Returns the length of
 * the hooks part; `*err` is the call's error, if it raised one. */
static int log_line(app *a, size_t call, const ms_sim_hook *hooks, size_t n, size_t *h, char *line,
                    size_t cap, const ms_sim_error **err)
{
    char label[96];
    ms_sim_call_label(a->sim, call, label, sizeof label);
    int len = snprintf(line, cap, "%6zu %-24s", call, label);
    int last_mod = -2;
    *err = NULL;
    for (; *h < n && hooks[*h].call == call; (*h)++) {
        const ms_sim_hook *k = &hooks[*h];
        if (k->hook == MS_HOOK_COUNT) {
            *err = ms_sim_error_at(a->sim, call);
            continue;
        }
        if (len >= (int)cap - 40)
            continue;
        if (k->modifier != last_mod)
            len += snprintf(line + len, cap - (size_t)len, "  m%d %s", k->modifier,
                            short_hook(k->hook));
        else
            len += snprintf(line + len, cap - (size_t)len, ",%s", short_hook(k->hook));
        last_mod = k->modifier;
    }
    return len;
}

static void error_text(const ms_sim_error *err, char *buf, size_t cap)
{
    char who[32] = "the lifecycle";
    if (err->modifier >= 0)
        snprintf(who, sizeof who, "m%d", err->modifier);
    snprintf(buf, cap, "! %s from %s: %s", ms_raise_kind_name(err->kind), who, err->message);
}

/* The last call the log shows, one past it: `back` calls before the position. */
static size_t log_end(const app *a, stepper_state *s)
{
    size_t pos = ms_sim_position(a->sim);
    if (s->back > pos)
        s->back = pos;
    return pos - s->back;
}

static void draw_log(app *a, stepper_state *s, WINDOW *w, int y, int lines, int cols)
{
    size_t pos = ms_sim_position(a->sim), end = log_end(a, s);
    size_t first = end > (size_t)lines ? end - (size_t)lines : 0;
    ms_sim_hook *hooks = NULL;
    size_t n = 0;
    if (ms_sim_hooks(a->sim, first, end, false, &hooks, &n) != MS_OK) {
        ui_put(w, y, 1, cols - 2, "(out of memory)");
        return;
    }
    size_t h = 0;
    for (size_t call = first; call < end; call++, y++) {
        char line[1024];
        const ms_sim_error *err;
        int len = log_line(a, call, hooks, n, &h, line, sizeof line, &err);
        role r = s->marked && call == s->mark ? ROLE_CURSOR
                 : call + 1 == pos            ? ROLE_TITLE
                                              : ROLE_NORMAL;
        wattrset(w, ui_attr(a, r));
        ui_put(w, y, 1, cols - 2, line);
        int x = 1 + len + 2;
        if (err && x < cols - 1) {
            char text[512];
            error_text(err, text, sizeof text);
            wattrset(w, ui_attr(a, ROLE_ERROR));
            ui_put(w, y, x, cols - x - 1, text);
        }
        wattrset(w, ui_attr(a, ROLE_NORMAL));
    }
    free(hooks);
}

static bool contains_folded(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return true;
    return !n;
}

/* `/` on the Stepper: the next call in the log (after the one found last,
 * wrapping) whose line (label, hooks, error) contains the text. */
static void stepper_search(app *a, void *state, const char *text)
{
    stepper_state *s = state;
    size_t pos = a->sim ? ms_sim_position(a->sim) : 0;
    ms_sim_hook *hooks = NULL;
    size_t n = 0;
    if (!pos) {
        app_message(a, true, "/%s: the log is empty: nothing has run yet", text);
        return;
    }
    if (ms_sim_hooks(a->sim, 0, pos, false, &hooks, &n) != MS_OK) {
        app_message(a, true, "out of memory searching the log");
        return;
    }
    size_t from = s->marked && s->mark < pos ? s->mark + 1 : 0, h = 0, found = pos;
    /* two rounds over the log: from `from` to the end, then from the start */
    for (int round = 0; round < 2 && found == pos; round++) {
        h = 0;
        for (size_t call = 0; call < pos; call++) {
            char line[1024], err_text[512] = "";
            const ms_sim_error *err;
            log_line(a, call, hooks, n, &h, line, sizeof line, &err);
            if ((round == 0 && call < from) || (round == 1 && call >= from))
                continue;
            if (err)
                error_text(err, err_text, sizeof err_text);
            if (contains_folded(line, text) || contains_folded(err_text, text)) {
                found = call;
                break;
            }
        }
        if (found != pos && round == 1)
            from = SIZE_MAX; /* wrapped */
    }
    free(hooks);
    if (found == pos) {
        app_message(a, true, "/%s: no call in the log (0 to %zu) matches", text, pos - 1);
        return;
    }
    s->marked = true;
    s->mark = found;
    s->back = pos - found - 1; /* the call found is the log's last line */
    char label[96];
    ms_sim_call_label(a->sim, found, label, sizeof label);
    app_message(a, false, "/%s: call %zu %s%s (PgUp/PgDn scroll the log)", text, found, label,
                from == SIZE_MAX ? " (search wrapped)" : "");
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
    if (s->entering) {
        wmove(w, y, 11);
        wclrtoeol(w);
        wattrset(w, ui_attr(a, ROLE_CURSOR));
        ui_putf(w, y, 11, cols - 12, "%s_", s->entry);
        wattrset(w, ui_attr(a, ROLE_NORMAL));
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
    size_t end = log_end(a, s);
    if (s->back)
        ui_putf(w, y++, 2, cols - 4,
                " Event log (hooks besides on_event): up to call %zu of %zu (PgDn: newer) ",
                end - 1, pos);
    else
        ui_put(w, y++, 2, cols - 4, " Event log (hooks besides on_event; PgUp: older, / search) ");
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    draw_log(a, s, w, y, rows - y, cols);
}

/* The clock typed as "epochs=3 steps=100 batches=- layers=4": the names in
 * any order, any left out unchanged; a name with no value fits the recipe
 * (epochs past its largest start or end, the default steps, the model's
 * layers, no batches per step). False, with the reason shown, when a value is wrong. */
static bool parse_clock(app *a, const char *text, ms_pipeline_config *c)
{
    /* the bounds keep a run one the screens simulate at once (a few million
     * calls at most); modsim trace takes longer runs */
    static const struct {
        const char *name, *alias, *what;
        long long min, max;
    } names[] = {
        {"epochs", "e", "training epochs, 0 to 10000", 0, 10000},
        {"steps", "steps_per_epoch", "optimizer steps per epoch, 1 to 100000", 1, 100000},
        {"batches", "batches_per_step", "batches per step, 0 to 100000 ('-' or 0: not set)", 0,
         100000},
        {"layers", "l", "decoder layers, 1 to 1000", 1, 1000},
    };
    ms_pipeline_config fit = ms_pipeline_training(a->rec), def = ms_pipeline_defaults();
    long long *fields[] = {&c->epochs, &c->steps_per_epoch, &c->batches_per_step, &c->layers};
    const long long fitted[] = {fit.epochs, def.steps_per_epoch, 0, app_model_fitted_layers(a)};
    char buf[sizeof((stepper_state *)0)->entry];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *tok = strtok_r(buf, " ,", &save); tok;
         tok = strtok_r(NULL, " ,", &save)) {
        char *eq = strchr(tok, '=');
        if (eq)
            *eq = '\0';
        size_t k = 0;
        while (k < 4 && strcmp(tok, names[k].name) && strcmp(tok, names[k].alias))
            k++;
        if (k == 4 || !eq) {
            app_message(a, true,
                        "'%s' is not name=value: the clock has epochs=, steps=, "
                        "batches=, layers=",
                        tok);
            return false;
        }
        const char *v = eq + 1;
        if (!*v || (k == 2 && !strcmp(v, "-"))) {
            *fields[k] = fitted[k];
            continue;
        }
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (*end || errno || n < names[k].min || n > names[k].max) {
            app_message(a, true, "%s=%s: %s is a whole number of %s", names[k].name, v,
                        names[k].name, names[k].what);
            return false;
        }
        *fields[k] = n;
    }
    if (c->epochs * c->steps_per_epoch > 400000) {
        app_message(a, true,
                    "%lld epochs x %lld steps is more than the screens simulate at once (400000 "
                    "steps): modsim trace runs it",
                    c->epochs, c->steps_per_epoch);
        return false;
    }
    return true;
}

static void open_clock_entry(app *a, stepper_state *s)
{
    const ms_pipeline_config *c = &a->cfg;
    char bps[24] = "-";
    if (c->batches_per_step)
        snprintf(bps, sizeof bps, "%lld", c->batches_per_step);
    s->entering = true;
    snprintf(s->entry, sizeof s->entry, "epochs=%lld steps=%lld batches=%s layers=%lld", c->epochs,
             c->steps_per_epoch, bps, c->layers);
    app_message(a, false,
                "type the clock (Enter applies, Esc cancels, ^U clears); a name with no value "
                "fits the run: epochs= runs to past its last start/end (%lld), layers= takes "
                "the model's (%lld)",
                ms_pipeline_training(a->rec).epochs, app_model_fitted_layers(a));
}

static void rebuilt(app *a)
{
    app_message(a, false, "%s", ""); /* what app_rebuild reports, if anything */
    app_rebuild(a);
    if (!a->message_error)
        app_message(a, false, "%zu calls generated; %s", a->sim ? ms_sim_call_count(a->sim) : 0,
                    a->kept_note[0] ? a->kept_note : "at the start");
}

static ui_result stepper_input(app *a, void *state, int key)
{
    stepper_state *s = state;
    if (!s->entering)
        return UI_UNHANDLED;
    size_t len = strlen(s->entry);
    a->dirty |= DIRTY_BODY | DIRTY_MSG;
    if (key == MS_KEY_ESC) {
        s->entering = false;
        app_message(a, false, "clock unchanged");
    } else if (key == MS_KEY_BACKSPACE) {
        if (len)
            s->entry[len - 1] = '\0';
    } else if (key == MS_KEY_CTRL('u')) {
        s->entry[0] = '\0';
    } else if (key == MS_KEY_ENTER) {
        ms_pipeline_config c = a->cfg;
        if (!parse_clock(a, s->entry, &c))
            return UI_HANDLED;
        s->entering = false;
        bool same = !memcmp(&c, &a->cfg, sizeof c);
        a->cfg = c;
        if (same)
            app_message(a, false, "clock unchanged");
        else
            rebuilt(a);
        a->dirty = DIRTY_ALL;
    } else if (key >= 32 && key < 127 && len + 1 < sizeof s->entry) {
        s->entry[len] = (char)key;
        s->entry[len + 1] = '\0';
    }
    return UI_HANDLED;
}

static void stepper_changed(app *a, void *state, ui_change what)
{
    (void)a;
    stepper_state *s = state;
    s->back = 0; /* the log follows the position again */
    if (what == UI_SESSION_NEW)
        s->marked = false;
}

static ui_result stepper_command(app *a, void *state, ms_cmd cmd)
{
    stepper_state *s = state;
    ms_pipeline_config *c = &a->cfg;
    bool changed = true;
    int page = a->body_rows > 8 ? a->body_rows / 2 - 2 : 1;
    switch (cmd) {
    case MS_CMD_PAGE_UP:
        if (!a->sim)
            return UI_UNHANDLED;
        s->back += (size_t)page;
        log_end(a, s);
        return UI_REDRAW;
    case MS_CMD_PAGE_DOWN:
        if (!a->sim)
            return UI_UNHANDLED;
        s->back = s->back > (size_t)page ? s->back - (size_t)page : 0;
        return UI_REDRAW;
    case MS_CMD_CLOCK_EDIT:
        if (a->fixed_calls)
            break;
        if (!a->sim) {
            app_message(a, true, "not simulated: the recipe has errors (1: Schedule)");
            return UI_REDRAW;
        }
        open_clock_entry(a, s);
        return UI_REDRAW_ALL;
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
        c->layers = app_model_fitted_layers(a); /* the model's, whichever run */
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
    if (changed)
        rebuilt(a);
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
    .input = stepper_input,
    .changed = stepper_changed,
    .click = stepper_click,
    .enter = &explain_view,
    .search = stepper_search,
    .searches = "calls in the event log",
};
