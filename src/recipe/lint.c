#include "lint.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/calc.h"
#include "../core/scheduler.h"
#include "../util/quant_words.h"
#include "../util/codes.h"
#include "../util/text.h"

typedef struct lctx {
    const ms_recipe *r;
    ms_lint_run run; /* the run whose outcomes the warnings predict */
    ms_report d;     /* where diagnostics go */
} lctx;

ms_lint_run ms_lint_default_run(void)
{
    return (ms_lint_run){.training_loop = false, .calibration = true, .intended_index = false};
}

/* ---- layout: keys upstream's Recipe.from_dict skips without a word ---- */

static void lint_layout(lctx *c, const ms_node *root, const char *filter)
{
    for (size_t s = 0; s < root->count; s++) {
        const ms_node *key = root->keys[s], *stage = root->items[s];
        if (filter && strncmp(key->value, filter, strlen(filter)) != 0)
            continue;
        if (!strcmp(key->value, "args"))
            continue;
        if (!ms_ends_with(key->value, "_stage")) {
            ms_diag *d =
                ms_report_at(&c->d, "W-IGNORED-KEY", key,
                             "top-level key '%s' is ignored upstream: only 'args' and keys "
                             "ending in '_stage' are read",
                             key->value);
            ms_diag_hint(d,
                         "if it holds modifiers, rename it so it ends in '_stage'; else remove it");
            continue;
        }
        if (stage->kind != MS_NODE_MAP) {
            ms_diag *d = ms_report_at(&c->d, "W-IGNORED-KEY", key,
                                      "stage '%s' is a %s, which upstream skips", key->value,
                                      ms_node_type_name(stage));
            ms_diag_hint(d, "a stage is a map of '*_modifiers' groups");
            continue;
        }
        for (size_t g = 0; g < stage->count; g++) {
            const ms_node *gk = stage->keys[g], *group = stage->items[g];
            if (!ms_ends_with(gk->value, "_modifiers")) {
                ms_diag *d =
                    ms_report_at(&c->d, "W-IGNORED-KEY", gk,
                                 "'%s' in stage '%s' is ignored upstream: only keys ending in "
                                 "'_modifiers' are read",
                                 gk->value, key->value);
                ms_diag_hint(d, "if it holds modifiers, rename it so it ends in '_modifiers'");
            } else if (group->kind != MS_NODE_MAP) {
                ms_diag *d = ms_report_at(&c->d, "W-IGNORED-KEY", gk,
                                          "group '%s' is a %s, which upstream skips", gk->value,
                                          ms_node_type_name(group));
                ms_diag_hint(d, "a group maps modifier types to their arguments");
            }
        }
    }
}

/* ---- one modifier ---- */

typedef struct mod_info {
    const ms_recipe_entry *e;
    const char *name;
    bool training;
    ms_opt_double start, end, update;
    const ms_node *start_n, *end_n, *update_n;
} mod_info;

static ms_opt_double number_field(const ms_node *args, const char *field, const ms_node **node)
{
    double d;
    *node = ms_node_get(args, field);
    return *node && ms_node_as_pydantic_number(*node, false, &d) ? MS_SOME(d) : MS_NONE;
}

static void lint_calc(lctx *c, const mod_info *m, const ms_node *sched, bool *uses_update)
{
    const char *text = sched->value;
    size_t len = strlen(text);
    if (len < 6 || strncmp(text, "calc(", 5) || text[len - 1] != ')')
        return;
    int col = sched->col + (sched->quoted ? 1 : 0);
    const char *inner;
    size_t n;
    bool upstream_finds = ms_scheduler_calc_inner(text, &inner, &n);
    if (!upstream_finds) {
        inner = text + 5;
        n = len - 6;
        ms_diag *d =
            ms_report_at(&c->d, "W-CALC-PARENS", sched,
                         "%s.update_scheduler: upstream extracts calc expressions with "
                         "calc\\(([^()]*)\\), so parentheses inside make it raise 'invalid "
                         "calc string' at initialize",
                         m->name);
        ms_diag_hint(d, "write the expression without parentheses: expand products; math.* calls "
                        "cannot be used");
    }
    char *expr = strndup(inner, n);
    if (!expr) {
        c->d.st = MS_ERR_NOMEM;
        return;
    }
    ms_calc *calc = NULL;
    ms_diag cd;
    ms_diag_clear(&cd);
    if (ms_calc_parse(expr, &calc, &cd) != MS_OK) {
        ms_diag d = cd;
        d.severity = MS_SEV_ERROR;
        snprintf(d.file, sizeof d.file, "%s", c->d.file);
        d.line = sched->line;
        d.col = col + (int)(inner - text) + (cd.col > 0 ? cd.col - 1 : 0);
        if (!d.code[0])
            snprintf(d.code, sizeof d.code, "E-CALC");
        if (ms_diag_list_add(c->d.out, &d) != MS_OK)
            c->d.st = MS_ERR_NOMEM;
    } else {
        for (size_t i = 0; i < ms_calc_var_count(calc); i++)
            *uses_update = *uses_update || !strcmp(ms_calc_var_name(calc, i), "update");
    }
    ms_calc_free(calc);
    free(expr);
}

/* Samples the schedule over [start, end] as upstream evaluates it: values
 * outside [0, 1] and Python errors are reported once, at the first index. */
static void lint_schedule_range(lctx *c, const mod_info *m, const char *sched_name,
                                const ms_node *at)
{
    const ms_node *args = m->e->args;
    const ms_node *in = ms_node_get(args, "init_sparsity"),
                  *fin = ms_node_get(args, "final_sparsity");
    ms_scheduler_settings set = {.start = m->start,
                                 .end = m->end,
                                 .update = m->update,
                                 .args = ms_node_get(args, "scheduler_args")};
    if (!ms_node_as_pydantic_number(in, false, &set.init_sparsity) ||
        !ms_node_as_pydantic_number(fin, false, &set.final_sparsity) || !m->start.set ||
        !m->end.set || m->end.value <= m->start.value)
        return;
    ms_scheduler *s = NULL;
    ms_raise raised;
    ms_diag ignored;
    if (ms_scheduler_new(sched_name, &set, c->d.file, at->line, at->col, &s, &raised, &ignored) !=
        MS_OK)
        return;
    enum { SAMPLES = 200 };
    const long long per_unit = 1LL << 20; /* index = step / per_unit: exact binary fractions */
    for (int i = 0; i <= SAMPLES; i++) {
        double x = m->start.value + (m->end.value - m->start.value) * i / SAMPLES;
        ms_event ev = ms_event_plain(MS_EV_BATCH_START);
        ev.epoch_based = true;
        ev.steps_per_epoch = per_unit;
        ev.global_step = llround(x * (double)per_unit);
        double v;
        char idx[32];
        snprintf(idx, sizeof idx, "%g", ms_event_current_index(&ev));
        if (ms_scheduler_eval(s, &ev, &v, &raised) != MS_OK) {
            ms_diag *d = ms_report_at(&c->d, "W-CALC-RAISES", at,
                                      "%s.update_scheduler raises %s at index %s: %s", m->name,
                                      ms_raise_kind_name(raised.kind), idx, raised.message);
            ms_diag_hint(d, "upstream evaluates the schedule at every batch_start; define every "
                            "variable (scheduler_args) and avoid division by zero");
            break;
        }
        if (!(v >= 0 && v <= 1)) {
            char val[32];
            snprintf(val, sizeof val, "%g", v);
            ms_diag *d =
                ms_report_at(&c->d, "W-SCHED-RANGE", at,
                             "%s.update_scheduler gives sparsity %s at index %s, outside [0, 1]",
                             m->name, val, idx);
            ms_diag_hint(d, "check init_sparsity, final_sparsity and the schedule's formula over "
                            "[start, end]");
            break;
        }
    }
    ms_scheduler_free(s);
}

static void lint_magnitude(lctx *c, const mod_info *m, bool *uses_update)
{
    const ms_node *sched = ms_node_get(m->e->args, "update_scheduler");
    const char *name = "cubic";
    if (sched) {
        if (!ms_node_is_string(sched))
            return;
        name = sched->value;
        lint_calc(c, m, sched, uses_update);
    }
    const ms_node *at = sched ? sched : m->e->type_key;
    if (m->start.set && m->end.set && m->start.value == m->end.value) {
        ms_diag *d =
            ms_report_at(&c->d, "W-ZERO-SPAN", m->start_n,
                         "%s has start == end (%g) with scheduler '%s': upstream divides by "
                         "end - start and raises ZeroDivisionError",
                         m->name, m->start.value, name);
        ms_diag_hint(d, "make end greater than start");
    }
    if (!strcmp(name, "polynomial_decay")) {
        double exponent = 2;
        const ms_node *e = ms_node_get(ms_node_get(m->e->args, "scheduler_args"), "exponent");
        if ((!e || ms_node_as_double(e, &exponent)) && floor(exponent) == exponent &&
            fmod(exponent, 2) == 0) {
            ms_diag *d =
                ms_report_at(&c->d, "W-POLY-EVEN", e ? e : at,
                             "%s: polynomial_decay with the even exponent %g leaves [init, "
                             "final]: sparsity starts at 2*final - init and falls to final",
                             m->name, exponent);
            ms_diag_hint(d, "use an odd exponent (cubic is polynomial_decay with 3)");
        }
    }
    lint_schedule_range(c, m, name, at);
}

/* Whether the run's calibration events flag every modifier started and
 * ended: llm-compressor 0.13's base update_event (ab1ba3eff
 * modifiers/modifier.py:136-150), whatever start and end say. */
static bool calibration_flags_all(const lctx *c)
{
    return c->run.calibration && c->run.upstream == MS_UPSTREAM_0_13;
}

static void lint_modifier(lctx *c, const mod_info *m)
{
    bool uses_update = false;
    if (!strcmp(m->name, "MagnitudePruningModifier"))
        lint_magnitude(c, m, &uses_update);
    /* "never starts" is not true where calibration_start flags it started */
    bool can_predict = !(m->training && calibration_flags_all(c));
    if (can_predict && m->training && m->end.set && m->end.value == -1) {
        ms_diag *d =
            ms_report_at(&c->d, "W-END-NEG", m->end_n,
                         "%s has end: -1, so it never starts: upstream starts a modifier only "
                         "while index < end (sparseml read -1 as 'until training ends')",
                         m->name);
        ms_diag_hint(d, "leave end out (null) to run until the end");
    } else if (can_predict && m->training && m->start.set && m->end.set &&
               (m->end.value < m->start.value ||
                (m->end.value == m->start.value && strcmp(m->name, "MagnitudePruningModifier")))) {
        ms_diag *d = ms_report_at(&c->d, "W-END-BEFORE-START", m->end_n,
                                  "%s has end (%g) <= start (%g): it never starts", m->name,
                                  m->end.value, m->start.value);
        ms_diag_hint(d, "make end greater than start, or leave end out");
    }
    if (m->update.set && !uses_update) {
        ms_diag *d =
            ms_report_at(&c->d, "W-UPDATE-IGNORED", m->update_n,
                         "%s ignores update: only a calc(...) scheduler that uses the variable "
                         "'update' reads it",
                         m->name);
        ms_diag_hint(d, "remove 'update:'");
    }
    /* upstream's lifecycle builds every event as Event(type_=...): index 0,
     * in oneshot and in a loop calling LifecycleCallbacks (core/lifecycle.py) */
    if (can_predict && m->training && m->start.set && m->start.value > 0 &&
        !c->run.intended_index) {
        ms_diag *d =
            ms_report_at(&c->d, "W-START-NEVER", m->start_n,
                         "%s never starts: start is %g but upstream's lifecycle builds its "
                         "events with index 0",
                         m->name, m->start.value);
        ms_diag_hint(d, "use start: 0 to start at initialize");
    } else if (can_predict && m->training && !m->start.set) {
        ms_diag *d = ms_report_at(&c->d, "W-START-NEVER", m->e->type_key,
                                  "%s never starts: it has no start, and upstream's "
                                  "should_start is false without one",
                                  m->name);
        ms_diag_hint(d, "add start: 0 to start at initialize");
    }
}

/* Whether initialize's start event (index 0) starts the modifier:
 * Modifier.should_start with start <= 0 < end. */
static bool starts_at_initialize(const mod_info *m)
{
    return m->start.set && m->start.value <= 0 && (!m->end.set || m->end.value > 0);
}

/* Whether the warnings just reported for a modifier say its initialize
 * raises, or that it sets the lifecycle's own flags: what the run then does
 * with it is for the trace to show, not for the lint to predict. */
static bool outcome_unknown(const lctx *c, const mod_info *m, size_t first_diag)
{
    static const char *const internal[] = {"initialized_", "started_", "ended_", "finalized_"};
    for (size_t i = 0; i < sizeof internal / sizeof internal[0]; i++)
        if (ms_node_get(m->e->args, internal[i]))
            return true;
    for (size_t i = first_diag; i < c->d.out->count; i++)
        if (!strcmp(c->d.out->items[i].code, "W-CALC-RAISES") ||
            !strcmp(c->d.out->items[i].code, "W-CALC-PARENS"))
            return true;
    return false;
}

static void lint_entries(lctx *c, const ms_schema *schema)
{
    size_t n = ms_recipe_count(c->r);
    mod_info *mods = calloc(n ? n : 1, sizeof *mods);
    if (!mods) {
        c->d.st = MS_ERR_NOMEM;
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const ms_recipe_entry *e = ms_recipe_entry_at(c->r, i);
        const char *drive = ms_schema_modifier_drive(schema, e->type_key->value);
        /* a type this release refuses never runs: nothing to predict */
        if (!drive || !e->args || e->args->kind != MS_NODE_MAP ||
            !ms_schema_modifier_exists(schema, e->type_key->value))
            continue;
        mod_info *m = &mods[k++];
        m->e = e;
        m->name = e->type_key->value;
        m->training = !strcmp(drive, "training");
        m->start = number_field(e->args, "start", &m->start_n);
        m->end = number_field(e->args, "end", &m->end_n);
        m->update = number_field(e->args, "update", &m->update_n);
    }
    for (size_t i = 0; i < k && c->d.st == MS_OK; i++) {
        size_t first_diag = c->d.out->count;
        lint_modifier(c, &mods[i]);
        const mod_info *m = &mods[i];
        const ms_node *at = m->e->type_key;
        if (outcome_unknown(c, m, first_diag))
            continue;
        if (m->training && calibration_flags_all(c)) {
            bool at_init = starts_at_initialize(m);
            ms_diag *d = ms_report_at(
                &c->d, "W-CALIB-MARKS", at,
                at_init ? "%s starts at initialize, then llm-compressor 0.13's calibration_end "
                          "marks it ended without running on_end: its end does not apply"
                        : "%s is marked started by llm-compressor 0.13's calibration_start and "
                          "ended by calibration_end without running on_start or on_end: its "
                          "start and end do not apply",
                m->name);
            ms_diag_hint(d, "at 0.13 oneshot() only flags training-driven modifiers: run it in a "
                            "training loop of your own calling LifecycleCallbacks");
        } else if (m->training && starts_at_initialize(m) && !c->run.training_loop) {
            ms_diag *d = ms_report_at(&c->d, "W-ONESHOT-TRAINING", at,
                                      "%s starts at initialize but never ends: it is driven by "
                                      "batch events, and oneshot() sends none (only "
                                      "calibration events, in its own pass)",
                                      m->name);
            ms_diag_hint(d, "upstream no longer has a training entrypoint: run it in a training "
                            "loop of your own calling LifecycleCallbacks");
        } else if (m->training && starts_at_initialize(m) && m->end.set && !c->run.intended_index) {
            ms_diag *d = ms_report_at(&c->d, "W-END-NEVER", m->end_n,
                                      "%s never ends: end is %g but upstream's lifecycle builds "
                                      "its events with index 0",
                                      m->name, m->end.value);
            ms_diag_hint(d, "leave end out: finalize is where a training run stops it");
        }
        if (!m->training && !starts_at_initialize(m) && c->run.training_loop &&
            !c->run.calibration) {
            /* at 0.13 on_finalize's "end if still running" calls the base
             * class's no-op on_end, which leaves it unended */
            ms_diag *d = ms_report_at(
                &c->d, "W-TRAINING-CALIB", at,
                "%s is driven by calibration events, which a training loop never sends: it "
                "never starts, and %s",
                m->name,
                c->run.upstream == MS_UPSTREAM_0_13 ? "finalize does not end it either"
                                                    : "finalize ends it");
            ms_diag_hint(d, "run it with oneshot(), which gives it a calibration pass of its own");
        }
    }
    free(mods);
}

/* ---- cross-field rules of upstream's validators ---- */

enum { DYN_UNKNOWN = -1, DYN_FALSE, DYN_TRUE, DYN_LOCAL };

/* One QuantizationArgs map as compressed-tensors reads it. Values of the
 * wrong type (already reported by the schema) leave their field unknown, and
 * the rules that need it are skipped. */
typedef struct qargs {
    const ms_node *strategy_n, *group_size_n, *block_n, *actorder_n, *dynamic_n, *type_n;
    int strategy; /* as given, or inferred from group_size as upstream does */
    bool inferred;
    bool group_size_known;
    double group_size; /* NAN when unset */
    int actorder;
    const char *actorder_value; /* what upstream stores: "group", "static", ... */
    int dynamic;
} qargs;

static bool set_node(const ms_node *map, const char *key, const ms_node **out)
{
    *out = ms_node_get(map, key);
    if (*out && ms_node_is_null(*out))
        *out = NULL;
    return *out != NULL;
}

static void read_qargs(const ms_node *a, qargs *q)
{
    memset(q, 0, sizeof *q);
    q->strategy = q->actorder = q->dynamic = -1;
    q->group_size = NAN;
    q->group_size_known = !set_node(a, "group_size", &q->group_size_n) ||
                          (ms_node_as_double(q->group_size_n, &q->group_size) &&
                           floor(q->group_size) == q->group_size);
    set_node(a, "block_structure", &q->block_n);
    set_node(a, "type", &q->type_n);
    if (set_node(a, "strategy", &q->strategy_n)) {
        if (ms_node_is_string(q->strategy_n))
            q->strategy = ms_qstrategy_parse(q->strategy_n->value, true);
    } else if (q->group_size_known) {
        q->inferred = true;
        q->strategy = isnan(q->group_size)  ? MS_QSTRAT_TENSOR
                      : q->group_size > 0   ? MS_QSTRAT_GROUP
                      : q->group_size == -1 ? MS_QSTRAT_CHANNEL
                                            : -1;
    }
    bool b;
    if (!set_node(a, "actorder", &q->actorder_n)) {
        q->actorder = MS_QACT_NONE;
    } else if (ms_node_as_bool(q->actorder_n, &b)) {
        q->actorder = b ? MS_QACT_GROUP : MS_QACT_NONE;
        q->actorder_value = b ? "group" : NULL;
    } else if (ms_node_is_string(q->actorder_n)) {
        q->actorder = ms_qactorder_parse(q->actorder_n->value, true, &q->actorder_value);
    }
    if (!set_node(a, "dynamic", &q->dynamic_n))
        q->dynamic = DYN_FALSE;
    else if (ms_node_as_bool(q->dynamic_n, &b))
        q->dynamic = b ? DYN_TRUE : DYN_FALSE;
    else if (ms_node_is_string(q->dynamic_n) && !strcasecmp(q->dynamic_n->value, "local"))
        q->dynamic = DYN_LOCAL;
}

static bool grouped(int strategy)
{
    return strategy == MS_QSTRAT_GROUP || strategy == MS_QSTRAT_TENSOR_GROUP;
}

/* "strategy channel", or "strategy tensor (inferred: none given)" */
static const char *strategy_text(const qargs *q, char *buf, size_t cap)
{
    snprintf(buf, cap, "strategy %s%s", ms_qstrategy_name(q->strategy),
             q->inferred ? " (inferred: none given)" : "");
    return buf;
}

/* compressed-tensors' QuantizationArgs.validate_model_after, which refuses
 * the recipe when the modifier is built. */
static void lint_qargs(lctx *c, const ms_node *a, const char *where)
{
    qargs q;
    read_qargs(a, &q);
    char st[80];
    ms_diag *d;
    if (q.group_size_known && !q.strategy_n && !isnan(q.group_size) && q.group_size == 0) {
        d = ms_report_at(&c->d, "E-QUANT-ARGS", q.group_size_n,
                         "%s: group_size 0 without a strategy: compressed-tensors cannot infer one",
                         where);
        ms_diag_hint(d, "use group_size > 0 for strategy group, or -1 for channel");
    }
    long long bits = 8;
    const ms_node *bits_n = ms_node_get(a, "num_bits");
    if (q.type_n && ms_node_is_string(q.type_n) && !strcasecmp(q.type_n->value, "float") &&
        !ms_node_get(a, "zp_dtype") && (!bits_n || ms_node_as_int(bits_n, &bits)) && bits != 4 &&
        bits != 8) {
        d = ms_report_at(
            &c->d, "E-QUANT-ARGS", bits_n,
            "%s: type float with num_bits %lld: compressed-tensors supports 4 and 8 only "
            "(NotImplementedError)",
            where, bits);
        ms_diag_hint(d, "use num_bits 8 (FP8) or 4 (FP4), or type int");
    }
    if (q.strategy == -1)
        return;
    strategy_text(&q, st, sizeof st);
    if (q.strategy == MS_QSTRAT_TOKEN && q.dynamic == DYN_FALSE) {
        d = ms_report_at(
            &c->d, "E-QUANT-ARGS", q.strategy_n,
            "%s: strategy token without dynamic: true: compressed-tensors refuses static "
            "token quantization",
            where);
        ms_diag_hint(d, "add 'dynamic: true', or use strategy tensor or channel");
    }
    if (grouped(q.strategy) && q.group_size_known && (isnan(q.group_size) || q.group_size <= 0)) {
        d = ms_report_at(&c->d, "E-QUANT-ARGS", q.group_size_n ? q.group_size_n : q.strategy_n,
                         "%s: %s needs a positive group_size", where, st);
        ms_diag_hint(d, "add 'group_size: 128' (columns per group)");
    }
    if (q.group_size_known && q.group_size > 0 && !grouped(q.strategy)) {
        d = ms_report_at(&c->d, "E-QUANT-ARGS", q.group_size_n,
                         "%s: group_size %g needs strategy group or tensor_group, not %s", where,
                         q.group_size, st);
        ms_diag_hint(d, "set 'strategy: group', or remove group_size");
    }
    if (q.strategy == MS_QSTRAT_BLOCK && !q.block_n) {
        d = ms_report_at(&c->d, "E-QUANT-ARGS", q.strategy_n,
                         "%s: strategy block needs block_structure", where);
        ms_diag_hint(d, "add 'block_structure: [128, 128]' ([rows, cols] of a block)");
    }
    if (q.block_n && q.strategy != MS_QSTRAT_BLOCK) {
        d = ms_report_at(&c->d, "E-QUANT-ARGS", q.block_n,
                         "%s: block_structure needs strategy block, not %s", where, st);
        ms_diag_hint(d, "set 'strategy: block', or remove block_structure");
    }
    if (q.actorder == MS_QACT_GROUP && !grouped(q.strategy)) {
        d = ms_report_at(
            &c->d, "E-QUANT-ARGS", q.actorder_n,
            "%s: actorder %s (group ordering) needs strategy group or tensor_group, not %s", where,
            q.actorder_n->value, st);
        ms_diag_hint(d, "use 'actorder: weight' (static), or strategy group with a group_size");
    }
    if ((q.dynamic == DYN_TRUE || q.dynamic == DYN_LOCAL) && q.strategy != MS_QSTRAT_TOKEN &&
        q.strategy != MS_QSTRAT_TENSOR && !grouped(q.strategy)) {
        d = ms_report_at(
            &c->d, "E-QUANT-ARGS", q.dynamic_n,
            "%s: dynamic quantization needs strategy token, tensor, group or tensor_group, "
            "not %s",
            where, st);
        ms_diag_hint(d, "use strategy token (per token) or tensor, or remove 'dynamic:'");
    } else if (q.dynamic == DYN_LOCAL && q.strategy != MS_QSTRAT_TENSOR_GROUP) {
        d = ms_report_at(&c->d, "E-QUANT-ARGS", q.dynamic_n,
                         "%s: dynamic: local needs strategy tensor_group, not %s", where, st);
        ms_diag_hint(d, "set 'strategy: tensor_group' (NVFP4), or use dynamic: true");
    }
}

/* compressed-tensors' QuantizationScheme.validate_model_after */
static void lint_scheme(lctx *c, const ms_node *scheme, const char *where)
{
    static const char *const kinds[] = {"weights", "input_activations", "output_activations"};
    char path[360];
    for (size_t i = 0; i < 3; i++) {
        const ms_node *a = ms_node_get(scheme, kinds[i]);
        if (!a || a->kind != MS_NODE_MAP)
            continue;
        snprintf(path, sizeof path, "%s.%s", where, kinds[i]);
        lint_qargs(c, a, path);
        if (i == 0)
            continue;
        qargs q;
        read_qargs(a, &q);
        ms_diag *d;
        if (q.actorder_n && q.actorder != MS_QACT_NONE) {
            d = ms_report_at(
                &c->d, "E-QUANT-SCHEME", q.actorder_n,
                "%s: actorder applies to weights only: compressed-tensors refuses it on %s", path,
                kinds[i]);
            ms_diag_hint(d, "move 'actorder:' to 'weights:' or remove it");
        }
        if (i == 1 && (q.strategy == MS_QSTRAT_CHANNEL || q.strategy == MS_QSTRAT_BLOCK)) {
            char st[80];
            d = ms_report_at(&c->d, "E-QUANT-SCHEME", q.strategy_n ? q.strategy_n : a,
                             "%s: %s is not supported for activation quantization "
                             "(NotImplementedError)",
                             path, strategy_text(&q, st, sizeof st));
            ms_diag_hint(d, "use strategy token, tensor, group, tensor_group or attn_head");
        }
    }
}

static bool lax_true(const ms_node *v);

/* Whether upstream resolves the modifier's config when the recipe loads:
 * llm-compressor 0.13's QuantizationMixin._set_requires_calibration_data, a
 * pydantic model validator (ab1ba3eff mixin.py:298-321), reads
 * resolved_config unless requires_calibration_data is already true (the
 * recipe's, or GPTQ's and AutoRound's class default) or a kv_cache_scheme
 * decides; a conflict is then a ValidationError at load, not a raise at
 * initialize. */
static bool resolved_at_load(const lctx *c, const char *name, const ms_node *args)
{
    if (c->run.upstream != MS_UPSTREAM_0_13 || strcmp(name, "QuantizationModifier"))
        return false;
    const ms_node *kv = ms_node_get(args, "kv_cache_scheme");
    return !lax_true(ms_node_get(args, "requires_calibration_data")) &&
           (!kv || ms_node_is_null(kv));
}

/* Rules of QuantizationMixin (mixin.py) and GPTQModifier that raise when
 * upstream resolves the quantization config, before any calibration (at
 * 0.13, for a QuantizationModifier, when the recipe loads: E-VALIDATION). */
static void lint_quant_modifier(lctx *c, const ms_recipe_entry *e)
{
    const ms_node *args = e->args, *scheme, *groups, *obs;
    const char *name = e->type_key->value;
    char where[320];
    ms_diag *d;
    bool at_load = resolved_at_load(c, name, args);
    if (set_node(args, "scheme", &scheme) && set_node(args, "config_groups", &groups)) {
        const ms_node *later = ms_node_key(args, "scheme"),
                      *other = ms_node_key(args, "config_groups");
        if (later->line < other->line || (later->line == other->line && later->col < other->col)) {
            const ms_node *t = later;
            later = other;
            other = t;
        }
        d = ms_report_at(
            &c->d, at_load ? "E-VALIDATION" : "E-SCHEME-CONFLICT", later,
            "%s sets both scheme and config_groups: upstream raises 'Please specify either "
            "`scheme` or `config_groups`' when it resolves the config%s",
            name, at_load ? ", which 0.13 does as it loads the recipe (ValidationError)" : "");
        ms_diag_hint(d, "keep one: '%s:' is at line %d", other->value, other->line);
    }
    if (set_node(args, "observer", &obs)) {
        static const char *const single[] = {"weight_observer", "input_observer",
                                             "output_observer"};
        for (size_t i = 0; i < 3; i++) {
            const ms_node *v;
            if (!set_node(args, single[i], &v))
                continue;
            d = ms_report_at(
                &c->d, at_load ? "E-VALIDATION" : "E-OBSERVER-CONFLICT",
                ms_node_key(args, single[i]),
                "%s sets both %s and the observer map: upstream raises ValueError when it "
                "applies observers%s",
                name, single[i],
                at_load ? ", which 0.13 does as it loads the recipe (ValidationError)" : "");
            ms_diag_hint(d, "use either the observer map (line %d) or the %s fields",
                         ms_node_key(args, "observer")->line, "*_observer");
        }
    }
    /* any value written, null included, overrides GPTQ's default "static" */
    const ms_node *actorder = ms_node_get(args, "actorder");
    bool gptq = !strcmp(name, "GPTQModifier") && actorder &&
                (ms_node_is_string(actorder) || ms_node_is_null(actorder));
    const char *gptq_value = actorder && !ms_node_is_null(actorder) ? actorder->value : "null";
    groups = ms_node_get(args, "config_groups");
    for (size_t g = 0; groups && groups->kind == MS_NODE_MAP && g < groups->count; g++) {
        const ms_node *scheme_n = groups->items[g];
        if (scheme_n->kind != MS_NODE_MAP)
            continue;
        snprintf(where, sizeof where, "%s.config_groups.%s", name, groups->keys[g]->value);
        lint_scheme(c, scheme_n, where);
        const ms_node *w = ms_node_get(scheme_n, "weights");
        qargs q;
        if (!gptq || !w || w->kind != MS_NODE_MAP)
            continue;
        read_qargs(w, &q);
        /* GPTQ sets actorder on these strategies only; an explicit value
         * (not the default) must equal the scheme's word for word */
        if (q.strategy == -1 || q.strategy == MS_QSTRAT_TOKEN ||
            q.strategy == MS_QSTRAT_ATTN_HEAD || !q.actorder_value ||
            !strcmp(gptq_value, q.actorder_value))
            continue;
        d = ms_report_at(
            &c->d, "E-ACTORDER-CONFLICT", actorder,
            "GPTQModifier.actorder '%s' differs from %s.weights.actorder '%s': upstream "
            "raises ValueError when it resolves the config",
            gptq_value, where, q.actorder_value);
        ms_diag_hint(d,
                     "remove one of them (line %d); upstream compares the words, so even "
                     "'static' and 'weight' differ",
                     q.actorder_n->line);
    }
    const ms_node *kv = ms_node_get(args, "kv_cache_scheme");
    if (kv && kv->kind == MS_NODE_MAP) {
        snprintf(where, sizeof where, "%s.kv_cache_scheme", name);
        lint_qargs(c, kv, where);
    }
}

/* SparsityModifierBase.validate_model_after: all OWL settings or none */
static void lint_owl(lctx *c, const ms_recipe_entry *e)
{
    static const char *const fields[] = {"sparsity_profile", "owl_m", "owl_lmbda"};
    const ms_node *v[3];
    size_t given = 0;
    for (size_t i = 0; i < 3; i++)
        given += set_node(e->args, fields[i], &v[i]);
    bool owl = v[0] && ms_node_is_string(v[0]) && !strcasecmp(v[0]->value, "owl");
    if (given == 0 || (given == 3 && owl) || (v[0] && !owl))
        return; /* a profile other than owl is E-ENUM already */
    char missing[64] = "";
    const ms_node *first = NULL;
    for (size_t i = 0; i < 3; i++) {
        if (v[i] && !first)
            first = ms_node_key(e->args, fields[i]);
        if (!v[i])
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s",
                     missing[0] ? " and " : "", fields[i]);
    }
    ms_diag *d =
        ms_report_at(&c->d, "E-OWL", first,
                     "%s sets OWL partly, without %s: upstream needs sparsity_profile: owl, "
                     "owl_m and owl_lmbda together, or none of them",
                     e->type_key->value, missing);
    ms_diag_hint(d, "add %s, or remove the OWL settings", missing);
}

static void lint_cross_fields(lctx *c)
{
    for (size_t i = 0; i < ms_recipe_count(c->r) && c->d.st == MS_OK; i++) {
        const ms_recipe_entry *e = ms_recipe_entry_at(c->r, i);
        const char *name = e->type_key->value;
        if (!e->args || e->args->kind != MS_NODE_MAP)
            continue;
        if (!strcmp(name, "QuantizationModifier") || !strcmp(name, "GPTQModifier"))
            lint_quant_modifier(c, e);
        else if (!strcmp(name, "SparseGPTModifier") || !strcmp(name, "WandaPruningModifier"))
            lint_owl(c, e);
    }
}

/* ---- what upstream raises from a modifier's hooks (E-INITIALIZE) ---- */

static bool is_quantization_mixin(const char *name)
{
    return !strcmp(name, "QuantizationModifier") || !strcmp(name, "GPTQModifier") ||
           !strcmp(name, "AutoRoundModifier");
}

/* QuantizationMixin.has_config (mixin.py:296 at 0.12), with validate_targets
 * having turned a string into a one-item list first. */
static bool has_quant_config(const ms_node *args)
{
    static const char *const schemes[] = {"config_groups", "scheme", "kv_cache_scheme"};
    const ms_node *v;
    for (size_t i = 0; i < 3; i++)
        if (set_node(args, schemes[i], &v))
            return true;
    const ms_node *t = ms_node_get(args, "targets");
    const ms_node *only = t && t->kind == MS_NODE_SEQ && t->count == 1 ? t->items[0] : t;
    if (t && !(only->kind == MS_NODE_SCALAR && ms_node_is_string(only) &&
               !strcmp(only->value, "Linear")))
        return true;
    const ms_node *ignore = ms_node_get(args, "ignore");
    return ignore && !(ignore->kind == MS_NODE_SEQ && ignore->count == 0);
}

/* Python truth of a value a `mode="before"` validator sees raw. */
static bool py_truthy(const ms_node *v)
{
    bool b;
    double d;
    if (!v || ms_node_is_null(v))
        return false;
    if (v->kind != MS_NODE_SCALAR)
        return v->count > 0;
    if (ms_node_as_bool(v, &b))
        return b;
    if (ms_node_as_double(v, &d))
        return d != 0;
    return v->value[0] != '\0';
}

static bool lax_true(const ms_node *v)
{
    bool b = false;
    return v && (ms_node_as_bool(v, &b) || ms_node_lax_bool(v, &b)) && b;
}

/* Weight strategy tensor in the scheme a quantization modifier resolves:
 * the preset FP8 (compressed-tensors' only preset with tensor weights), or
 * a config group whose weights say (or infer) tensor. */
static const ms_node *tensor_weights(const ms_node *args)
{
    const ms_node *scheme = ms_node_get(args, "scheme");
    if (scheme && ms_node_is_string(scheme) && !strcasecmp(scheme->value, "FP8"))
        return scheme;
    for (size_t i = 0; scheme && scheme->kind == MS_NODE_MAP && i < scheme->count; i++)
        if (!strcasecmp(scheme->keys[i]->value, "FP8"))
            return scheme->keys[i];
    const ms_node *groups = ms_node_get(args, "config_groups");
    for (size_t g = 0; groups && groups->kind == MS_NODE_MAP && g < groups->count; g++) {
        const ms_node *w = ms_node_get(groups->items[g], "weights");
        qargs q;
        if (!w || w->kind != MS_NODE_MAP)
            continue;
        read_qargs(w, &q);
        if (q.strategy == MS_QSTRAT_TENSOR)
            return q.strategy_n ? q.strategy_n : w;
    }
    return NULL;
}

static void lint_initialize(lctx *c)
{
    size_t n = ms_recipe_count(c->r);
    bool scheme_before = false; /* an earlier quantization modifier attaches schemes */
    for (size_t i = 0; i < n && c->d.st == MS_OK; i++) {
        const ms_recipe_entry *e = ms_recipe_entry_at(c->r, i);
        const char *name = e->type_key->value;
        const ms_node *args = e->args;
        if (!args || args->kind != MS_NODE_MAP)
            continue;
        ms_diag *d;
        if (!strcmp(name, "QuantizationModifier") && !has_quant_config(args)) {
            /* quantization/base.py:61 at 0.12 */
            d = ms_report_at(&c->d, "E-INITIALIZE", e->type_key,
                             "QuantizationModifier has no quantization config (targets "
                             "[\"Linear\"] is the default): on_initialize raises ValueError "
                             "\"QuantizationModifier requires that quantization fields be "
                             "specified\"");
            ms_diag_hint(d, "add 'scheme:' (e.g. W8A8) or 'config_groups:'");
        }
        if (!strcmp(name, "GPTQModifier") && !has_quant_config(args) && !scheme_before) {
            /* gptq/base.py:231 at 0.12: no module got a scheme with weights */
            d = ms_report_at(&c->d, "E-INITIALIZE", e->type_key,
                             "GPTQModifier has no quantization config and no quantization "
                             "modifier before it attaches one: on_start raises ValueError "
                             "\"GPTQModifier was unable to find any modules to quantize. "
                             "Please check quantization `config_groups` and `targets` in "
                             "recipe\"");
            ms_diag_hint(d, "add 'scheme:' (e.g. W4A16) or 'config_groups:'");
        }
        if ((!strcmp(name, "SmoothQuantModifier") ||
             !strcmp(name, "LogarithmicEqualizationModifier")) &&
            c->run.no_calibration_data) {
            /* smoothquant/base.py:133 at 0.12: state.data.calib is None */
            d = ms_report_at(&c->d, "E-INITIALIZE", e->type_key,
                             "%s in a run without calibration data (oneshot with the datafree "
                             "pipeline): on_initialize raises ValueError \"%s requires a "
                             "calibration dataset to be provided\"",
                             name, name);
            ms_diag_hint(d, "give oneshot() a calibration dataset (any pipeline but datafree)");
        }
        if (is_quantization_mixin(name) && has_quant_config(args))
            scheme_before = true;
        const ms_node *g = ms_node_get(args, "apply_globally");
        if (!strcmp(name, "MagnitudePruningModifier") && lax_true(g)) {
            /* magnitude/base.py:52 at 0.12 */
            d = ms_report_at(&c->d, "E-INITIALIZE", g,
                             "MagnitudePruningModifier.apply_globally: on_initialize raises "
                             "NotImplementedError \"global pruning not implemented yet for "
                             "PyTorch\"");
            ms_diag_hint(d, "remove 'apply_globally:' (layer-wise pruning is what runs)");
        }
        const ms_node *duo = ms_node_get(args, "duo_scaling");
        bool duo_off = false;
        if (strcmp(name, "AWQModifier") || (duo && ms_node_as_bool(duo, &duo_off) && !duo_off))
            continue;
        /* awq/base.py:224-238 at 0.12: checked at on_start against the schemes
         * the quantization modifiers after it attached at initialize */
        for (size_t j = i + 1; j < n; j++) {
            const ms_recipe_entry *q = ms_recipe_entry_at(c->r, j);
            const ms_node *t =
                is_quantization_mixin(q->type_key->value) && q->args && q->args->kind == MS_NODE_MAP
                    ? tensor_weights(q->args)
                    : NULL;
            if (!t)
                continue;
            d = ms_report_at(&c->d, "E-INITIALIZE", duo ? duo : e->type_key,
                             "AWQModifier.duo_scaling is %s with %s's tensor-strategy weights "
                             "(line %d): on_start raises ValueError \"duo_scaling is only "
                             "supported with per-channel quantization strategies (group or "
                             "channel), but found TENSOR strategy on layer ...\"",
                             duo ? duo->value : "true (the default)", q->type_key->value, t->line);
            ms_diag_hint(d, "set 'duo_scaling: false', or use a per-channel weight scheme");
            break;
        }
    }
}

/* QuIP's and SpinQuant's `mode="before"` validators raise NotImplementedError
 * for a truthy randomize or learnable (quip/base.py:93, spinquant/base.py:119
 * at 0.12); pydantic does not wrap it, so loading the recipe fails. */
static void lint_not_supported(lctx *c)
{
    static const char *const fields[] = {"randomize", "learnable"};
    for (size_t i = 0; i < ms_recipe_count(c->r) && c->d.st == MS_OK; i++) {
        const ms_recipe_entry *e = ms_recipe_entry_at(c->r, i);
        const char *name = e->type_key->value;
        if (strcmp(name, "QuIPModifier") && strcmp(name, "SpinQuantModifier"))
            continue;
        for (size_t f = 0; f < 2; f++) {
            const ms_node *v = ms_node_get(e->args, fields[f]);
            if (!py_truthy(v))
                continue;
            ms_diag *d = ms_report_at(&c->d, "E-NOT-SUPPORTED", v,
                                      "%s.%s is '%s': upstream's validator raises "
                                      "NotImplementedError \"%s is not supported %s\" when it "
                                      "loads the recipe",
                                      name, fields[f], v->value ? v->value : "set", fields[f],
                                      strcmp(name, "QuIPModifier") ? "as of now" : "right now");
            ms_diag_hint(d,
                         "remove '%s:' (only false is accepted; the validator sees the raw "
                         "value, so even the string \"false\" raises)",
                         fields[f]);
        }
    }
}

/* recipe.py:190-196 at 0.12 passes `group=` and then **mod_args to
 * ModifierFactory.create, so a `group` argument raises TypeError. */
static void lint_group_arguments(lctx *c)
{
    for (size_t i = 0; i < ms_recipe_count(c->r) && c->d.st == MS_OK; i++) {
        const ms_recipe_entry *e = ms_recipe_entry_at(c->r, i);
        const ms_node *key = ms_node_key(e->args, "group");
        if (!key)
            continue;
        ms_diag *d = ms_report_at(&c->d, "E-GROUP-ARG", key,
                                  "%s has a 'group' argument: upstream raises TypeError "
                                  "\"ModifierFactory.create() got multiple values for keyword "
                                  "argument 'group'\" when it loads the recipe",
                                  e->type_key->value);
        ms_diag_hint(d, "remove 'group:'; the group is the name of the '*_modifiers' key");
    }
}

/* A stage filter that selects no stage leaves nothing to run or export. */
static void lint_stage_filter(lctx *c, const ms_node *root, const char *filter)
{
    if (!filter || ms_recipe_stage_count(c->r) || root->kind != MS_NODE_MAP)
        return;
    char names[400] = "";
    size_t n = 0;
    for (size_t s = 0; s < root->count; s++) {
        const char *k = root->keys[s]->value;
        if (!ms_ends_with(k, "_stage") || root->items[s]->kind != MS_NODE_MAP)
            continue;
        size_t len = strlen(names);
        snprintf(names + len, sizeof names - len, "%s%s", n++ ? ", " : "", k);
    }
    ms_diag *d = ms_report_at(&c->d, "E-STAGE", NULL,
                              "--stage '%s' matches no stage of the recipe (upstream keeps the "
                              "top-level keys that start with it)",
                              filter);
    if (n)
        ms_diag_hint(d, "the recipe's stages: %s", names);
    else
        ms_diag_hint(d, "the recipe has no '*_stage' map; leave --stage out");
}

static void lint_awq_order(lctx *c)
{
    size_t n = ms_recipe_count(c->r);
    for (size_t i = ms_recipe_next_awq_unordered(c->r, 0); i < n;
         i = ms_recipe_next_awq_unordered(c->r, i + 1)) {
        ms_diag *d = ms_report_at(&c->d, "E-AWQ-ORDER", ms_recipe_entry_at(c->r, i)->type_key,
                                  MS_AWQ_ORDER_MESSAGE ": upstream refuses the recipe");
        ms_diag_hint(d, MS_AWQ_ORDER_HINT);
    }
}

static void lint_stages(lctx *c, const ms_node *root, const char *filter)
{
    if (ms_recipe_stage_count(c->r) < 2)
        return;
    size_t seen = 0;
    for (size_t s = 0; s < root->count; s++) {
        const ms_node *key = root->keys[s];
        if ((filter && strncmp(key->value, filter, strlen(filter))) ||
            !ms_ends_with(key->value, "_stage") || root->items[s]->kind != MS_NODE_MAP)
            continue;
        if (++seen == 2) {
            bool oneshot = c->run.calibration && !c->run.training_loop;
            ms_diag *d = ms_report_at(
                &c->d, "W-STAGES-FLAT", key,
                "%zu stages are flattened into one modifier list: %s initializes every "
                "modifier of every stage together, %s, and finalizes them together; stages do "
                "not run one after another",
                ms_recipe_stage_count(c->r), oneshot ? "oneshot()" : "the lifecycle",
                oneshot ? "gives each its own calibration pass in recipe order"
                        : "sends every event to all of them");
            ms_diag_hint(d, "select one stage (--stage NAME here, in the TUI too; upstream "
                            "oneshot(..., stage=NAME)) or merge them");
        }
    }
}

/* The document as upstream's filter_dict leaves it for a stage filter. */
static ms_status filtered_root(const ms_node *root, const char *filter, ms_node *view)
{
    *view = *root;
    if (!filter || root->kind != MS_NODE_MAP)
        return MS_OK;
    view->keys = calloc(root->count ? root->count : 1, sizeof *view->keys);
    view->items = calloc(root->count ? root->count : 1, sizeof *view->items);
    if (!view->keys || !view->items) {
        free(view->keys);
        free(view->items);
        return MS_ERR_NOMEM;
    }
    view->count = 0;
    for (size_t i = 0; i < root->count; i++) {
        if (strncmp(root->keys[i]->value, filter, strlen(filter)))
            continue;
        view->keys[view->count] = root->keys[i];
        view->items[view->count++] = root->items[i];
    }
    return MS_OK;
}

ms_status ms_lint_recipe(const ms_schema *schema, const ms_recipe *r, ms_diag_list *out)
{
    ms_lint_run run = ms_lint_default_run();
    return ms_lint_recipe_for(schema, r, &run, out);
}

ms_status ms_lint_recipe_for(const ms_schema *schema, const ms_recipe *r, const ms_lint_run *run,
                             ms_diag_list *out)
{
    const ms_doc *doc = ms_recipe_doc(r);
    const ms_node *root = ms_doc_root(doc);
    const char *filter = ms_recipe_stage_filter(r);
    lctx c = {.r = r, .run = *run, .d = {.out = out, .file = ms_doc_file(doc), .st = MS_OK}};
    if (!root)
        return MS_OK;
    ms_node view;
    if (filtered_root(root, filter, &view) != MS_OK)
        return MS_ERR_NOMEM;
    c.d.st = ms_schema_validate(schema, NULL, &view, c.d.file, out);
    if (c.d.st == MS_OK && root->kind == MS_NODE_MAP) {
        lint_layout(&c, root, filter);
        lint_stage_filter(&c, root, filter);
        lint_group_arguments(&c);
        lint_awq_order(&c);
        lint_not_supported(&c);
        lint_initialize(&c);
        lint_cross_fields(&c);
        lint_entries(&c, schema);
        lint_stages(&c, root, filter);
    }
    if (filter) {
        free(view.keys);
        free(view.items);
    }
    ms_diag_list_sort(out);
    return c.d.st;
}

void ms_lint_defer_raised(ms_diag_list *diags, size_t first)
{
    /* upstream loads the recipe and raises these from the modifier's hooks,
     * which the simulation does: a note here, the raise in the run */
    for (size_t i = first; i < diags->count; i++) {
        ms_diag *d = &diags->items[i];
        if (d->severity != MS_SEV_ERROR || !ms_lint_raised_later(d))
            continue;
        d->severity = MS_SEV_NOTE;
        size_t len = strlen(d->hint);
        snprintf(d->hint + len, sizeof d->hint - len,
                 "%s(upstream loads the recipe and raises this when the modifier runs)",
                 len ? " " : "");
    }
}

bool ms_lint_raised_later(const ms_diag *d)
{
    static const char *const codes[] = {"E-INITIALIZE", "E-SCHEME-CONFLICT", "E-OBSERVER-CONFLICT",
                                        "E-ACTORDER-CONFLICT"};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (!strcmp(d->code, codes[i]))
            return true;
    return false;
}

/* The shared end of every loader: the recipe of a parsed document (NULL
 * with the parse's diagnostic), checked; kept in `out` (when not NULL) only
 * without errors. Returns the parse's status, MS_ERR_INVALID for errors, or
 * MS_OK. */
/* `run` NULL: the default run. Without `schema`, the embedded one, for the
 * run's release (a type that exists only in another is refused). */
static ms_status check_doc(const ms_schema *schema, ms_status parsed, ms_doc *doc,
                           const ms_diag *parse_diag, const char *file, const char *stage,
                           bool for_run, const ms_lint_run *run, ms_recipe **out,
                           ms_diag_list *diags)
{
    ms_lint_run fallback = ms_lint_default_run();
    if (!run)
        run = &fallback;
    ms_diag diag = *parse_diag;
    ms_recipe *r = NULL;
    ms_schema *own = NULL;
    ms_status st = parsed;
    if (st == MS_OK)
        st = ms_recipe_from_doc(doc, stage, &r, &diag);
    if (st != MS_OK) {
        if (!diag.message[0])
            ms_diag_set(&diag, st, "E-IO", file, 0, 0, "%s", ms_status_str(st));
        return ms_diag_list_add(diags, &diag) == MS_OK ? st : MS_ERR_NOMEM;
    }
    size_t errors = ms_diag_list_count(diags, MS_SEV_ERROR);
    if (!schema && (st = ms_schema_new(&own, &diag)) == MS_OK)
        st = ms_schema_set_upstream(own, ms_upstream_name(run->upstream));
    if (st != MS_OK) {
        ms_schema_free(own);
        ms_recipe_free(r);
        return ms_diag_list_add(diags, &diag) == MS_OK ? st : MS_ERR_NOMEM;
    }
    size_t first = diags->count;
    st = ms_lint_recipe_for(schema ? schema : own, r, run, diags);
    ms_schema_free(own);
    size_t later = 0;
    for (size_t i = first; for_run && i < diags->count; i++)
        later += diags->items[i].severity == MS_SEV_ERROR && ms_lint_raised_later(&diags->items[i]);
    if (st == MS_OK && ms_diag_list_count(diags, MS_SEV_ERROR) - later > errors)
        st = MS_ERR_INVALID;
    if (for_run && st == MS_OK)
        ms_lint_defer_raised(diags, first);
    if (st == MS_OK && out)
        *out = r;
    else
        ms_recipe_free(r);
    return st;
}

ms_status ms_recipe_load_checked(const ms_schema *schema, const char *path, const char *stage,
                                 ms_check_mode mode, ms_recipe **out, ms_diag_list *diags)
{
    return ms_recipe_load_checked_for(schema, path, stage, mode, NULL, out, diags);
}

ms_status ms_recipe_load_checked_for(const ms_schema *schema, const char *path, const char *stage,
                                     ms_check_mode mode, const ms_lint_run *run, ms_recipe **out,
                                     ms_diag_list *diags)
{
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_doc *doc = NULL;
    if (out)
        *out = NULL;
    ms_status st = ms_recipe_read_doc(path, &doc, &diag);
    return check_doc(schema, st, doc, &diag, path, stage, mode == MS_CHECK_RUN, run, out, diags);
}

ms_status ms_recipe_parse_checked(const ms_schema *schema, const char *text, size_t len,
                                  const char *file, int line_offset, int col_offset,
                                  ms_recipe **out, ms_diag_list *diags)
{
    return ms_recipe_parse_checked_for(schema, text, len, file, line_offset, col_offset, NULL, out,
                                       diags);
}

ms_status ms_recipe_parse_checked_for(const ms_schema *schema, const char *text, size_t len,
                                      const char *file, int line_offset, int col_offset,
                                      const ms_lint_run *run, ms_recipe **out, ms_diag_list *diags)
{
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_doc *doc = NULL;
    if (out)
        *out = NULL;
    ms_status st = ms_recipe_parse_doc(text, len, file, MS_FORMAT_YAML, &doc, &diag);
    if (st == MS_OK) {
        ms_doc_shift(doc, line_offset, col_offset);
    } else if (diag.line > 0) {
        diag.line += line_offset;
        diag.col += col_offset;
    }
    return check_doc(schema, st, doc, &diag, file, NULL, true, run, out, diags);
}

ms_status ms_lint_first_error(const ms_diag_list *list, ms_diag *diag)
{
    size_t errors = ms_diag_list_count(list, MS_SEV_ERROR);
    for (size_t i = 0; i < list->count; i++) {
        if (list->items[i].severity != MS_SEV_ERROR)
            continue;
        *diag = list->items[i];
        if (errors > 1) {
            size_t len = strlen(diag->hint);
            snprintf(diag->hint + len, sizeof diag->hint - len, "%s(%zu more error%s)",
                     len ? " " : "", errors - 1, errors > 2 ? "s" : "");
        }
        return MS_ERR_INVALID;
    }
    return MS_OK;
}

ms_status ms_lint_file(const ms_schema *schema, const char *path, const char *stage,
                       ms_diag_list *out)
{
    ms_lint_run run = ms_lint_default_run();
    return ms_lint_file_for(schema, path, stage, &run, out);
}

ms_status ms_lint_file_for(const ms_schema *schema, const char *path, const char *stage,
                           const ms_lint_run *run, ms_diag_list *out)
{
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_doc *doc = NULL;
    ms_status st = ms_recipe_read_doc(path, &doc, &diag);
    st = check_doc(schema, st, doc, &diag, path, stage, false, run, NULL, out);
    return st == MS_ERR_INVALID && ms_diag_list_count(out, MS_SEV_ERROR) ? MS_OK : st;
}

ms_status ms_lint_text_for(const ms_schema *schema, const char *text, size_t len, const char *file,
                           ms_recipe_format format, const char *stage, const ms_lint_run *run,
                           ms_diag_list *out)
{
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_doc *doc = NULL;
    ms_status st = ms_recipe_parse_doc(text, len, file, format, &doc, &diag);
    st = check_doc(schema, st, doc, &diag, file, stage, false, run, NULL, out);
    return st == MS_ERR_INVALID && ms_diag_list_count(out, MS_SEV_ERROR) ? MS_OK : st;
}
