#include "compare.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first position after which `bit` is set; flags only ever gain bits
 * in a run, so a binary search over the recorded history finds it. */
static size_t first_with(const ms_sim *sim, size_t m, unsigned bit)
{
    size_t n = ms_sim_explored(sim);
    if (!(ms_sim_flags_at(sim, m, n) & bit))
        return SIZE_MAX;
    size_t lo = 1, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ms_sim_flags_at(sim, m, mid) & bit)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo - 1; /* the call that set it */
}

static size_t first_error(const ms_sim *sim, size_t m)
{
    size_t n;
    const ms_sim_mark *marks = ms_sim_marks(sim, m, &n);
    for (size_t i = 0; i < n; i++)
        if (marks[i].hook == MS_HOOK_COUNT)
            return marks[i].call;
    return SIZE_MAX;
}

void ms_outcome_read(ms_sim *sim, ms_outcome *out)
{
    ms_sim_run(sim, MS_GOAL_END, 0);
    for (size_t m = 0; m < ms_sim_modifier_count(sim); m++) {
        ms_outcome *o = &out[m];
        o->start_call = first_with(sim, m, MS_FLAG_STARTED);
        o->end_call = first_with(sim, m, MS_FLAG_ENDED);
        o->final_call = first_with(sim, m, MS_FLAG_FINALIZED);
        o->error_call = first_error(sim, m);
        o->start_index = o->start_call == SIZE_MAX ? NAN : ms_sim_call_index(sim, o->start_call);
        o->end_index = o->end_call == SIZE_MAX ? NAN : ms_sim_call_index(sim, o->end_call);
    }
}

static bool same_index(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

bool ms_outcome_differs(const ms_outcome *u, const ms_outcome *i)
{
    return (u->start_call == SIZE_MAX) != (i->start_call == SIZE_MAX) ||
           (u->end_call == SIZE_MAX) != (i->end_call == SIZE_MAX) ||
           (u->final_call == SIZE_MAX) != (i->final_call == SIZE_MAX) ||
           (u->error_call == SIZE_MAX) != (i->error_call == SIZE_MAX) ||
           !same_index(u->start_index, i->start_index) || !same_index(u->end_index, i->end_index);
}

/* "starts at 0.25", "starts at initialize", "ends at finalize", "never ends":
 * in a generated run the calls without an index are initialize (call 0)
 * and finalize */
static void when(char *buf, size_t cap, const char *verb, size_t call, double index)
{
    if (call == SIZE_MAX)
        snprintf(buf, cap, "never %ss", verb);
    else if (isnan(index))
        snprintf(buf, cap, "%ss at %s", verb, call == 0 ? "initialize" : "finalize");
    else
        snprintf(buf, cap, "%ss at %g", verb, index);
}

static void append(char *buf, size_t cap, const char *text)
{
    size_t len = strlen(buf);
    snprintf(buf + len, cap > len ? cap - len : 0, "%s%s", len ? "; " : "", text);
}

void ms_outcome_describe(const ms_outcome *u, const ms_outcome *i, char *buf, size_t cap)
{
    buf[0] = '\0';
    char a[64], b[64], part[160];
    when(a, sizeof a, "start", i->start_call, i->start_index);
    when(b, sizeof b, "start", u->start_call, u->start_index);
    bool starts_differ = strcmp(a, b) != 0;
    if (starts_differ) {
        snprintf(part, sizeof part, "%s as intended; %s upstream", a, b);
        append(buf, cap, part);
    }
    when(a, sizeof a, "end", i->end_call, i->end_index);
    when(b, sizeof b, "end", u->end_call, u->end_index);
    if (strcmp(a, b)) {
        snprintf(part, sizeof part, "%s as intended; %s upstream", a, b);
        append(buf, cap, part);
    }
    if ((u->final_call == SIZE_MAX) != (i->final_call == SIZE_MAX)) {
        snprintf(part, sizeof part, "%s as intended; %s upstream",
                 i->final_call == SIZE_MAX ? "never finalized" : "finalized",
                 u->final_call == SIZE_MAX ? "never finalized" : "finalized");
        append(buf, cap, part);
    }
    if ((u->error_call == SIZE_MAX) != (i->error_call == SIZE_MAX)) {
        snprintf(part, sizeof part, "%s as intended; %s upstream",
                 i->error_call == SIZE_MAX ? "no error" : "raises",
                 u->error_call == SIZE_MAX ? "no error" : "raises");
        append(buf, cap, part);
    }
    if (!buf[0]) {
        when(a, sizeof a, "start", u->start_call, u->start_index);
        when(b, sizeof b, "end", u->end_call, u->end_index);
        snprintf(buf, cap, "the same in both runs: %s, %s", a, b);
    }
}

static ms_status one_run(const ms_recipe *recipe, const ms_pipeline_config *cfg, ms_sim **sim,
                         ms_outcome **out, ms_diag *diag)
{
    ms_call *calls;
    size_t n;
    ms_status st = ms_pipeline_generate(cfg, recipe, &calls, &n, diag);
    if (st != MS_OK)
        return st;
    st = ms_sim_new_as(recipe, cfg->upstream, calls, n, sim, diag);
    free(calls);
    if (st != MS_OK)
        return st;
    ms_sim_set_calibration_data(*sim, ms_pipeline_has_calibration_data(cfg));
    size_t mods = ms_sim_modifier_count(*sim);
    *out = calloc(mods ? mods : 1, sizeof **out);
    if (!*out)
        return MS_ERR_NOMEM;
    ms_outcome_read(*sim, *out);
    return MS_OK;
}

ms_status ms_comparison_new(const ms_recipe *recipe, const ms_pipeline_config *cfg,
                            ms_comparison **out, ms_diag *diag)
{
    ms_comparison *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c)
        return MS_ERR_NOMEM;
    c->upstream_cfg = *cfg;
    c->upstream_cfg.index_mode = MS_INDEX_UPSTREAM;
    c->intended_cfg = ms_pipeline_intended(&c->upstream_cfg, recipe);
    ms_status st = one_run(recipe, &c->upstream_cfg, &c->upstream, &c->upstream_out, diag);
    if (st == MS_OK)
        st = one_run(recipe, &c->intended_cfg, &c->intended, &c->intended_out, diag);
    if (st != MS_OK) {
        ms_comparison_free(c);
        return st;
    }
    c->n_modifiers = ms_sim_modifier_count(c->upstream);
    for (size_t m = 0; m < c->n_modifiers; m++)
        c->n_different += ms_outcome_differs(&c->upstream_out[m], &c->intended_out[m]);
    *out = c;
    return MS_OK;
}

void ms_comparison_free(ms_comparison *c)
{
    if (!c)
        return;
    ms_sim_free(c->upstream);
    ms_sim_free(c->intended);
    free(c->upstream_out);
    free(c->intended_out);
    free(c);
}
