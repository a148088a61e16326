/* Explain: for the selected modifier and call, the rule of the lifecycle
 * that decided what happened, with its numbers, and what then ran. */
#include "app.h"
#include "draw.h"

#include <stdio.h>
#include <string.h>

static void bound(char *buf, size_t cap, ms_opt_double v)
{
    if (v.set)
        snprintf(buf, cap, "%g", v.value);
    else
        snprintf(buf, cap, "None");
}

static void explain_draw(app *a, void *state, WINDOW *w, int rows, int cols)
{
    (void)state; /* the call it explains is the selection the screens share */
    if (!a->sim || !ms_sim_modifier_count(a->sim) || !ms_sim_call_count(a->sim)) {
        ui_put(w, 0, 1, cols - 2, "Nothing to explain: no modifier or no call.");
        return;
    }
    size_t m = a->selected, call = a->call_sel;
    if (call >= ms_sim_call_count(a->sim))
        call = ms_sim_call_count(a->sim) - 1;
    const ms_modifier *mod = ms_sim_modifier(a->sim, m);
    const ms_recipe_entry *e = ms_recipe_entry_at(a->rec, m);
    ms_sim_explanation ex;
    if (ms_sim_explain(a->sim, m, call, &ex) != MS_OK) {
        ui_put(w, 0, 1, cols - 2, "out of memory");
        return;
    }
    char s[32], en[32], u[32], text[256], before[96], after[96];
    bound(s, sizeof s, ms_modifier_start(mod));
    bound(en, sizeof en, ms_modifier_end(mod));
    bound(u, sizeof u, ms_modifier_update(mod));
    ui_call_text(a, call, text, sizeof text);
    ui_flags_text(ex.flags_before, before, sizeof before);
    ui_flags_text(ex.flags_after, after, sizeof after);

    int y = 0, x = 12, width = cols - x - 1;
    wattrset(w, ui_attr(a, ROLE_TITLE));
    ui_put(w, y, 1, 10, "Modifier");
    ui_put(w, y + 2, 1, 10, "Call");
    wattrset(w, ui_attr(a, ROLE_NORMAL));
    ui_putf(w, y, x, width, "%zu %s  (stage %s, group %s)", m, app_modifier_type(a, m),
            e ? e->stage : "", ms_modifier_group(mod));
    ui_putf(w, y + 1, x, width, "start %s  end %s  update %s  (%s-driven)", s, en, u,
            ms_modifier_type_drive(ms_modifier_type_of(mod)) == MS_DRIVE_CALIBRATION ? "calibration"
                                                                                     : "training");
    /* where the call lies against the run's position: Explain re-simulates
     * calls not run yet, and says so */
    size_t pos = ms_sim_position(a->sim);
    const char *where = call >= pos ? "  (not run yet: Explain shows what it would do)"
                        : a->call_follows && call + 1 == pos ? "  (the last call run)"
                                                             : "  (already run)";
    ui_putf(w, y + 2, x, width, "%s%s", text, where);
    y += 3;
    ui_hline(a, w, y++, 0, cols);

    static const char *const labels[] = {"Before", "Rule", "", "Outcome", "After"};
    for (int i = 0; i < 5 && y < rows; i++) {
        wattrset(w, ui_attr(a, ROLE_TITLE));
        ui_put(w, y, 1, 10, labels[i]);
        wattrset(w, ui_attr(a, ROLE_NORMAL));
        switch (i) {
        case 0:
            ui_put(w, y++, x, width, before);
            break;
        case 1:
            wattrset(w, ui_attr(a, ex.rule == MS_RULE_RAISES ? ROLE_ERROR : ROLE_START));
            ui_put(w, y++, x, width, ms_rule_name(ex.rule));
            break;
        case 2:
            y += ui_wrap(w, y, x, width, rows - y, ex.text);
            break;
        case 3:
            wattrset(w, ui_attr(a, ex.reached ? ROLE_NORMAL : ROLE_ERROR));
            y += ui_wrap(w, y, x, width, rows - y, ex.outcome);
            break;
        case 4:
            ui_put(w, y++, x, width, after);
            break;
        }
        wattrset(w, ui_attr(a, ROLE_NORMAL));
    }
    if (y + 2 < rows) {
        wattrset(w, ui_attr(a, ROLE_DIM));
        ui_wrap(w, y + 1, 1, cols - 2, rows - y - 1,
                "j/k: another modifier   h/l: another call   .: back to the last call run   "
                "5: the lifecycle primer");
        wattrset(w, ui_attr(a, ROLE_NORMAL));
    }
}

static ui_result explain_command(app *a, void *state, ms_cmd cmd)
{
    (void)state;
    if (!a->sim)
        return UI_UNHANDLED;
    size_t n = ms_sim_call_count(a->sim), pos = ms_sim_position(a->sim);
    switch (cmd) {
    case MS_CMD_CALL_PREV:
        if (a->call_sel)
            a->call_sel--;
        a->call_follows = false;
        return UI_REDRAW;
    case MS_CMD_CALL_NEXT:
        if (a->call_sel + 1 < n)
            a->call_sel++;
        a->call_follows = false;
        return UI_REDRAW;
    case MS_CMD_CALL_CURSOR:
        a->call_sel = pos ? pos - 1 : 0;
        a->call_follows = true;
        return UI_REDRAW;
    default:
        return UI_UNHANDLED;
    }
}

const view_ops explain_view = {
    .draw = explain_draw,
    .command = explain_command,
};
