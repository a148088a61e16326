/* The built-in modifier types: each is a table of the hooks it overrides.
 *
 * Training-driven types (pruning, distillation) use the base start/end rules.
 * Calibration-driven types start on calibration_epoch_start, end on
 * calibration_epoch_end, and end from on_finalize if still running (0.12);
 * their 0.13 hooks are tables of their own (see "0.13" below). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/quant_words.h"
#include "modifier_impl.h"
#include "scheduler.h"

/* ---- shared argument readers ---- */

static ms_status require_field(const ms_modifier *m, const ms_node *args, const char *field,
                               const char *file, const ms_node **out, ms_diag *diag)
{
    *out = ms_node_get(args, field);
    if (*out)
        return MS_OK;
    ms_status st = ms_diag_set(diag, MS_ERR_INVALID, "E-REQUIRED", file, args ? args->line : 0,
                               args ? args->col : 0, "%s is missing the required field '%s'",
                               m->type->name, field);
    ms_diag_hint(diag, "add '%s:' to the modifier's arguments", field);
    return st;
}

static ms_status read_number(const ms_modifier *m, const ms_node *v, const char *field,
                             const char *file, double *out, ms_diag *diag)
{
    if (ms_node_as_pydantic_number(v, false, out))
        return MS_OK;
    return ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE", file, v->line, v->col,
                       "%s.%s must be a number, not %s '%s'", m->type->name, field,
                       ms_node_type_name(v), v->value ? v->value : "");
}

static bool read_flag(const ms_node *args, const char *field)
{
    bool b = false;
    const ms_node *v = ms_node_get(args, field);
    return v && (ms_node_as_bool(v, &b) || ms_node_lax_bool(v, &b)) && b;
}

/* ---- pruning (training-driven) ---- */

static ms_status constant_configure(ms_modifier *m, const ms_node *args, const char *file,
                                    ms_diag *diag)
{
    const ms_node *targets;
    return require_field(m, args, "targets", file, &targets, diag);
}

/* pruning/constant/base.py at 0.12 and 0.13: on_start makes the masks
 * (:50-56), on_update re-applies them at optim_post_step (:58-73; without
 * use_hooks, never given by a recipe), on_finalize removes them (:44-48).
 * on_end's disable_masks only stops the hooks use_hooks adds. */
static ms_status constant_on_start(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    (void)ev;
    if (ctx->world->ops->update_masks)
        ctx->world->ops->update_masks(ctx->world->self, ctx->world_state, m->position);
    return MS_OK;
}

static ms_status constant_on_update(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    if (ev->type == MS_EV_OPTIM_POST_STEP && ctx->world->ops->apply_masks)
        ctx->world->ops->apply_masks(ctx->world->self, ctx->world_state, m->position);
    return MS_OK;
}

static ms_status constant_on_finalize(ms_modifier *m, ms_hook_ctx *ctx, bool *result)
{
    *result = true;
    if (ctx->world->ops->remove_masks)
        ctx->world->ops->remove_masks(ctx->world->self, ctx->world_state, m->position);
    return MS_OK;
}

typedef struct magnitude_config {
    ms_scheduler *scheduler;
    ms_raise scheduler_error; /* raised at on_initialize, as upstream builds it there */
    ms_raise mask_error;      /* likewise PruningMaskFactory.create_mask_creator's */
    bool apply_globally;
} magnitude_config;

/* Python's int() of one block dimension: optional blanks and sign, digits
 * with single underscores between them. */
static bool py_int_text(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n && (*s == '+' || *s == '-'))
        s++, n--;
    if (!n || s[0] == '_' || s[n - 1] == '_')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] >= '0' && s[i] <= '9') && !(s[i] == '_' && s[i + 1] != '_'))
            return false;
    return true;
}

/* upstream mask_factory.py at 0.12, create_mask_creator (:47-57): a pattern
 * equal to the name calls its creator; otherwise a pattern that re.match-es
 * calls it inside try/except, so a creator that raises (a block_ dimension
 * int() refuses, :136; "unstructured_x" matching "unstructured", :60) is
 * skipped; nothing left is "Invalid mask_structure". Valid: unstructured,
 * channel, filter, block_ with int() dimensions. */
static void check_mask_structure(const char *name, ms_raise *out)
{
    memset(out, 0, sizeof *out);
    if (!strcmp(name, "unstructured") || !strcmp(name, "channel") || !strcmp(name, "filter"))
        return;
    bool valid = !strncmp(name, "block_", 6);
    for (const char *p = name + 6; valid;) {
        size_t n = strcspn(p, ",");
        valid = py_int_text(p, n);
        p += n;
        if (!*p)
            break;
        p++;
    }
    if (!valid) {
        out->kind = MS_RAISE_VALUE_ERROR;
        snprintf(out->message, sizeof out->message, "Invalid mask_structure: %s", name);
    }
}

typedef struct magnitude_state {
    bool has_sparsity;
    double sparsity; /* what the scheduler last produced */
} magnitude_state;

static ms_status magnitude_configure(ms_modifier *m, const ms_node *args, const char *file,
                                     ms_diag *diag)
{
    magnitude_config *cfg = m->config;
    const ms_node *targets, *init, *final;
    ms_scheduler_settings set = {.start = m->start, .end = m->end, .update = m->update};
    ms_status st = require_field(m, args, "targets", file, &targets, diag);
    if (st == MS_OK)
        st = require_field(m, args, "init_sparsity", file, &init, diag);
    if (st == MS_OK)
        st = read_number(m, init, "init_sparsity", file, &set.init_sparsity, diag);
    if (st == MS_OK)
        st = require_field(m, args, "final_sparsity", file, &final, diag);
    if (st == MS_OK)
        st = read_number(m, final, "final_sparsity", file, &set.final_sparsity, diag);
    if (st != MS_OK)
        return st;
    cfg->apply_globally = read_flag(args, "apply_globally");
    const ms_node *mask = ms_node_get(args, "mask_structure");
    if (mask && !ms_node_is_string(mask))
        return ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE", file, mask->line, mask->col,
                           "mask_structure must be a string, not %s", ms_node_type_name(mask));
    check_mask_structure(mask ? mask->value : "unstructured", &cfg->mask_error);
    set.args = ms_node_get(args, "scheduler_args");
    const ms_node *sched = ms_node_get(args, "update_scheduler");
    const char *name = "cubic";
    if (sched) {
        if (!ms_node_is_string(sched))
            return ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE", file, sched->line, sched->col,
                               "update_scheduler must be a string, not %s",
                               ms_node_type_name(sched));
        name = sched->value;
    }
    st = ms_scheduler_new(name, &set, file, sched ? sched->line : 0, sched ? sched->col : 0,
                          &cfg->scheduler, &cfg->scheduler_error, diag);
    return st == MS_ERR_RAISED ? MS_OK : st;
}

static void magnitude_free_config(void *config)
{
    ms_scheduler_free(((magnitude_config *)config)->scheduler);
}

static ms_status magnitude_on_initialize(ms_modifier *m, ms_hook_ctx *ctx, bool *result)
{
    const magnitude_config *cfg = m->config;
    *result = true;
    if (cfg->apply_globally)
        return ms_raise_set(ctx, m, MS_RAISE_NOT_IMPLEMENTED_ERROR,
                            "global pruning not implemented yet for PyTorch");
    if (!cfg->scheduler)
        return ms_raise_set(ctx, m, cfg->scheduler_error.kind, "%s", cfg->scheduler_error.message);
    if (cfg->mask_error.kind != MS_RAISE_NONE)
        return ms_raise_set(ctx, m, cfg->mask_error.kind, "%s", cfg->mask_error.message);
    return MS_OK;
}

static ms_status magnitude_schedule(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    magnitude_config *cfg = m->config;
    magnitude_state *state = m->state;
    double sparsity;
    ms_status st = ms_scheduler_eval(cfg->scheduler, ev, &sparsity, ctx->raised);
    if (st != MS_OK) {
        ctx->raised->modifier = (int)m->position;
        return st;
    }
    state->sparsity = sparsity;
    state->has_sparsity = true;
    ctx->world->ops->apply_mask(ctx->world->self, ctx->world_state, m->position, sparsity);
    return MS_OK;
}

static ms_status magnitude_on_update(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    return ev->type == MS_EV_BATCH_START ? magnitude_schedule(m, ctx, ev) : MS_OK;
}

static bool magnitude_metric(const ms_modifier *m, double *value)
{
    const magnitude_state *state = m->state;
    *value = state->sparsity;
    return state->has_sparsity;
}

/* ---- calibration-driven ---- */

typedef struct quant_config {
    bool has_config; /* upstream QuantizationMixin.has_config */
    /* what QuantizationMixin.resolve_quantization_config raises, or NULL:
     * upstream resolves the config in on_initialize, not at load */
    const char *resolve_error;
    char actorder_error[320]; /* GPTQ's, which resolve_error may point to */
} quant_config;

/* True unless config_groups, scheme and kv_cache_scheme are unset, targets is
 * ["Linear"] and ignore is empty: upstream's test, field by field. */
static bool quantization_fields_given(const ms_node *args)
{
    static const char *const schemes[] = {"config_groups", "scheme", "kv_cache_scheme"};
    for (size_t i = 0; i < 3; i++) {
        const ms_node *v = ms_node_get(args, schemes[i]);
        if (v && !ms_node_is_null(v))
            return true;
    }
    /* validate_targets (mixin.py:145) turns the string "Linear" into ["Linear"] */
    const ms_node *targets = ms_node_get(args, "targets");
    const ms_node *only = targets && targets->kind == MS_NODE_SEQ && targets->count == 1
                              ? targets->items[0]
                              : targets;
    if (targets && !(only->kind == MS_NODE_SCALAR && ms_node_is_string(only) &&
                     !strcmp(only->value, "Linear")))
        return true;
    const ms_node *ignore = ms_node_get(args, "ignore");
    return ignore && !(ignore->kind == MS_NODE_SEQ && ignore->count == 0);
}

static bool given(const ms_node *args, const char *field)
{
    const ms_node *v = ms_node_get(args, field);
    return v && !ms_node_is_null(v);
}

/* resolve_quantization_config's checks, in its order (mixin.py:318, then
 * _apply_observer_overrides at :377, which runs for every scheme it builds). */
static const char *resolve_error(const ms_node *args)
{
    if (given(args, "scheme") && given(args, "config_groups"))
        return "Please specify either `scheme` or `config_groups`";
    if (given(args, "observer") &&
        (given(args, "weight_observer") || given(args, "input_observer") ||
         given(args, "output_observer")))
        return "Cannot specify both individual observer parameters (weight_observer, "
               "input_observer, output_observer) and observer dict. Please use either "
               "individual parameters or the observer dict.";
    return NULL;
}

static ms_status quant_configure(ms_modifier *m, const ms_node *args, const char *file,
                                 ms_diag *diag)
{
    (void)file;
    (void)diag;
    quant_config *cfg = m->config;
    cfg->has_config = quantization_fields_given(args);
    cfg->resolve_error = resolve_error(args);
    return MS_OK;
}

/* The weight strategy a config group's QuantizationArgs resolve to: as
 * given, else inferred from group_size as compressed-tensors does; -1 when
 * unknown. */
static int weight_strategy(const ms_node *w)
{
    const ms_node *st = ms_node_get(w, "strategy"), *gs = ms_node_get(w, "group_size");
    double g;
    if (st && !ms_node_is_null(st))
        return ms_node_is_string(st) ? ms_qstrategy_parse(st->value, true) : -1;
    if (!gs || ms_node_is_null(gs))
        return MS_QSTRAT_TENSOR;
    if (!ms_node_as_double(gs, &g))
        return -1;
    return g > 0 ? MS_QSTRAT_GROUP : g == -1 ? MS_QSTRAT_CHANNEL : -1;
}

/* GPTQModifier.resolve_quantization_config's resolve_actorder (gptq/base.py:
 * 138-154 at 0.12): an actorder the recipe writes (null included; the
 * default "static" yields) must equal the one a config group's weights give,
 * for weights of strategy group, tensor_group, channel, tensor or block. The
 * words are compared as the recipe lint does (E-ACTORDER-CONFLICT); the
 * message shows them as str-valued enums format on Python 3.10 and 3.11. */
static void gptq_actorder_error(const ms_node *args, char *buf, size_t cap)
{
    const ms_node *a = ms_node_get(args, "actorder");
    const ms_node *groups = ms_node_get(args, "config_groups");
    buf[0] = '\0';
    if (!a || !(ms_node_is_string(a) || ms_node_is_null(a)) || !groups ||
        groups->kind != MS_NODE_MAP)
        return;
    const char *mine = ms_node_is_null(a) ? "null" : a->value;
    for (size_t g = 0; g < groups->count; g++) {
        const ms_node *w = ms_node_get(groups->items[g], "weights");
        const ms_node *wa = ms_node_get(w, "actorder");
        const char *theirs = NULL;
        bool b;
        int strategy = w && w->kind == MS_NODE_MAP ? weight_strategy(w) : -1;
        if (strategy < 0 || strategy == MS_QSTRAT_TOKEN || strategy == MS_QSTRAT_ATTN_HEAD || !wa ||
            ms_node_is_null(wa))
            continue;
        if (ms_node_as_bool(wa, &b))
            theirs = b ? "group" : NULL;
        else if (ms_node_is_string(wa))
            ms_qactorder_parse(wa->value, true, &theirs);
        if (!theirs || !strcmp(mine, theirs))
            continue;
        snprintf(buf, cap,
                 "Cannot resolve activation ordering when both `GPTQModifier.actorder` and "
                 "`QuantizationScheme.actorder` are provided and differ (%s, %s). Either unset "
                 "`GPTQModifier.actorder` or remove `actorder` from config groups.",
                 ms_node_is_null(a) ? "None" : mine, theirs);
        return;
    }
}

static ms_status gptq_configure(ms_modifier *m, const ms_node *args, const char *file,
                                ms_diag *diag)
{
    quant_config *cfg = m->config;
    ms_status st = quant_configure(m, args, file, diag);
    gptq_actorder_error(args, cfg->actorder_error, sizeof cfg->actorder_error);
    if (!cfg->resolve_error && cfg->actorder_error[0])
        cfg->resolve_error = cfg->actorder_error;
    return st;
}

static ms_status raise_resolve_error(ms_modifier *m, ms_hook_ctx *ctx)
{
    const quant_config *cfg = m->config;
    return cfg->resolve_error ? ms_raise_set(ctx, m, MS_RAISE_VALUE_ERROR, "%s", cfg->resolve_error)
                              : MS_OK;
}

static ms_status calibration_on_start(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    (void)ev;
    m->started = true;
    ctx->world->ops->observe_inputs(ctx->world->self, ctx->world_state, m->position);
    return MS_OK;
}

static ms_status calibration_on_end(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    (void)ev;
    m->ended = true;
    ctx->world->ops->compress(ctx->world->self, ctx->world_state, m->position);
    return MS_OK;
}

static ms_status calibration_on_event(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    if (ev->type == MS_EV_CALIBRATION_EPOCH_START && !m->started)
        return ms_hook_start(m, ctx, NULL);
    if (ev->type == MS_EV_SEQUENTIAL_EPOCH_END && ctx->world->ops->sequential_epoch_end)
        ctx->world->ops->sequential_epoch_end(ctx->world->self, ctx->world_state, m->position);
    if (ev->type == MS_EV_CALIBRATION_EPOCH_END && !m->ended)
        return ms_hook_end(m, ctx, NULL);
    return MS_OK;
}

static ms_status calibration_on_finalize(ms_modifier *m, ms_hook_ctx *ctx, bool *result)
{
    *result = true;
    return m->ended ? MS_OK : ms_hook_end(m, ctx, NULL);
}

/* GPTQ, SparseGPT and Wanda end from on_finalize if still running (their
 * profile's on_end), then raise when modules their hooks calibrated were
 * never compressed (gptq/base.py:395-405, pruning/sparsegpt/base.py:160-166,
 * wanda/base.py:129-135 at 0.12; gptq/base.py:372-382 and the same lines of
 * the others at 0.13): the modifier stays unfinalized. */
static ms_status compressor_on_finalize(ms_modifier *m, ms_hook_ctx *ctx, bool *result)
{
    ms_status st = calibration_on_finalize(m, ctx, result);
    const ms_world *w = ctx->world;
    size_t left = st == MS_OK && w->ops->finalize
                      ? w->ops->finalize(w->self, ctx->world_state, m->position)
                      : 0;
    if (left)
        return ms_raise_set(ctx, m, MS_RAISE_VALUE_ERROR, "Failed to compress %zu modules", left);
    return st;
}

static ms_status quantization_on_initialize(ms_modifier *m, ms_hook_ctx *ctx, bool *result)
{
    *result = true;
    if (!((quant_config *)m->config)->has_config)
        return ms_raise_set(ctx, m, MS_RAISE_VALUE_ERROR,
                            "QuantizationModifier requires that quantization fields be "
                            "specified");
    if (raise_resolve_error(m, ctx) != MS_OK)
        return MS_ERR_RAISED;
    ctx->world->ops->attach_quant_scheme(ctx->world->self, ctx->world_state, m->position);
    return MS_OK;
}

/* upstream's QuantizationModifier.on_finalize returns None, so the modifier
 * never counts as finalized: a second finalize runs again instead of raising. */
static ms_status quantization_on_finalize(ms_modifier *m, ms_hook_ctx *ctx, bool *result)
{
    ms_status st = calibration_on_finalize(m, ctx, result);
    *result = false;
    return st;
}

/* GPTQ resolves the config even without one: its on_initialize reads
 * resolved_targets (gptq/base.py:200 at 0.12). */
static ms_status gptq_on_initialize(ms_modifier *m, ms_hook_ctx *ctx, bool *result)
{
    *result = true;
    if (raise_resolve_error(m, ctx) != MS_OK)
        return MS_ERR_RAISED;
    if (((quant_config *)m->config)->has_config)
        ctx->world->ops->attach_quant_scheme(ctx->world->self, ctx->world_state, m->position);
    return MS_OK;
}

/* Whether GPTQ finds modules to hook: with a model, its own targets'
 * modules that carry a weight scheme; without one, any scheme attached. */
static bool gptq_finds_modules(const ms_modifier *m, const ms_hook_ctx *ctx)
{
    const ms_world *w = ctx->world;
    if (w->ops->quant_modules)
        return w->ops->quant_modules(w->self, ctx->world_state, m->position) > 0;
    return w->ops->quant_schemes_attached(w->self, ctx->world_state) > 0;
}

static ms_status gptq_on_start(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    (void)ev;
    m->started = true; /* set before the check, as upstream does */
    if (!gptq_finds_modules(m, ctx))
        return ms_raise_set(ctx, m, MS_RAISE_VALUE_ERROR,
                            "GPTQModifier was unable to find any modules to quantize. Please "
                            "check quantization `config_groups` and `targets` in recipe");
    ctx->world->ops->observe_inputs(ctx->world->self, ctx->world_state, m->position);
    return MS_OK;
}

/* SparseGPT and Wanda check their sparsity list against the modules their
 * targets select, and say the decoder layers' number instead
 * (sgpt_base.py:132-139 at 0.12, 134-141 at 0.13). */
static ms_status sparsity_on_initialize(ms_modifier *m, ms_hook_ctx *ctx, bool *result)
{
    *result = true;
    size_t given, layers;
    const ms_world *w = ctx->world;
    if (w->ops->sparsity_mismatch &&
        w->ops->sparsity_mismatch(w->self, m->position, &given, &layers))
        return ms_raise_set(ctx, m, MS_RAISE_VALUE_ERROR,
                            "%s was initialized with %zu sparsities values, but model has %zu "
                            "target layers",
                            m->type->name, given, layers);
    return MS_OK;
}

/* SmoothQuant and LogarithmicEqualization refuse a training schedule, with
 * upstream's messages (the start message prints `end`, as upstream's does). */
static ms_status smoothquant_on_initialize(ms_modifier *m, ms_hook_ctx *ctx, bool *result)
{
    char end_text[64];
    *result = true;
    if (m->end.set)
        ms_py_float_repr(m->end.value, end_text, sizeof end_text);
    else
        strcpy(end_text, "None");
    if (m->end.set && m->end.value != 0 && m->end.value != -1)
        return ms_raise_set(ctx, m, MS_RAISE_VALUE_ERROR,
                            "%s can only be applied during one-shot.  Expected end to be None "
                            "or -1, got %s",
                            m->type->name, end_text);
    if (m->start.set && m->start.value != 0 && m->start.value != -1)
        return ms_raise_set(ctx, m, MS_RAISE_VALUE_ERROR,
                            "%s can only be applied during one-shot. Expected start to be None "
                            "or -1, got %s",
                            m->type->name, end_text);
    /* smoothquant/base.py:133: state.data.calib is None without a dataset */
    if (!ctx->calibration_data)
        return ms_raise_set(ctx, m, MS_RAISE_VALUE_ERROR,
                            "%s requires a calibration dataset to be provided", m->type->name);
    return MS_OK;
}

/* ---- 0.13 (upstream ab1ba3eff) ----
 *
 * The calibration types lost their on_event, on_start and on_end: the base
 * update_event calls on_calibration_start / on_sequential_epoch_end /
 * on_calibration_end instead (modifiers/modifier.py:136-150), and those set
 * no flags themselves. The hooks act on the world where 0.12's on_start and
 * on_end did. */

static ms_status v013_calibration_start(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    (void)ev;
    ctx->world->ops->observe_inputs(ctx->world->self, ctx->world_state, m->position);
    return MS_OK;
}

static ms_status v013_calibration_end(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    (void)ev;
    ctx->world->ops->compress(ctx->world->self, ctx->world_state, m->position);
    return MS_OK;
}

/* The overrides compress the subgraph just calibrated (gptq/base.py:240,
 * sgpt_base.py:176, smoothquant/base.py:152 at 0.13), as 0.12's on_event did. */
static ms_status v013_sequential_epoch_end(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    (void)ev;
    if (ctx->world->ops->sequential_epoch_end)
        ctx->world->ops->sequential_epoch_end(ctx->world->self, ctx->world_state, m->position);
    return MS_OK;
}

/* gptq/base.py:216-238: raised before the base sets started_, so it stays false */
static ms_status v013_gptq_calibration_start(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    if (!gptq_finds_modules(m, ctx))
        return ms_raise_set(ctx, m, MS_RAISE_VALUE_ERROR,
                            "GPTQModifier was unable to find any modules to quantize. Please "
                            "check quantization `config_groups` and `targets` in recipe");
    return v013_calibration_start(m, ctx, ev);
}

/* GPTQ, SparseGPT, Wanda, SmoothQuant, AWQ keep 0.12's "if not self.ended_:
 * self.on_end(state, None)" (e.g. gptq/base.py:378-379), but on_end is now
 * the base no-op: it is reported, ends nothing and leaves ended false. */
static ms_status v013_calibration_finalize(ms_modifier *m, ms_hook_ctx *ctx, bool *result)
{
    *result = true;
    return m->ended ? MS_OK : ms_hook_end(m, ctx, NULL);
}

#define V013_CALIBRATION_HOOKS                                                                     \
    .on_calibration_start = v013_calibration_start,                                                \
    .on_sequential_epoch_end = v013_sequential_epoch_end,                                          \
    .on_calibration_end = v013_calibration_end

/* QuantizationModifier has no on_finalize at 0.13 (quantization/base.py): the
 * base one returns True, so it finalizes, and nothing ends it there. Its
 * on_sequential_epoch_end takes `modules` (quantization/base.py:83-85). */
static const ms_modifier_type v013_quantization = {
    .on_initialize = quantization_on_initialize,
    .on_calibration_start = v013_calibration_start,
    .on_sequential_epoch_end = v013_sequential_epoch_end,
    .on_calibration_end = v013_calibration_end,
    .sequential_owner = "QuantizationModifier",
};

static const ms_modifier_type v013_gptq = {
    .on_initialize = gptq_on_initialize,
    .on_calibration_start = v013_gptq_calibration_start,
    .on_sequential_epoch_end = v013_sequential_epoch_end,
    .on_calibration_end = v013_calibration_end,
    .on_finalize = compressor_on_finalize,
    .sequential_owner = "GPTQModifier", /* gptq/base.py:240-242 takes `modules` */
};

/* SparsityModifierBase (sgpt_base.py:176), SmoothQuant (smoothquant/base.py:152)
 * and AWQ (awq/base.py:249, no sparsity check) override on_sequential_epoch_end without `modules`
 */
static const ms_modifier_type v013_sparsity = {
    V013_CALIBRATION_HOOKS,
    .on_initialize = sparsity_on_initialize,
    .on_finalize = compressor_on_finalize,
    .sequential_without_modules = true,
};

static const ms_modifier_type v013_awq = {
    V013_CALIBRATION_HOOKS,
    .on_finalize = v013_calibration_finalize,
    .sequential_without_modules = true,
};

static const ms_modifier_type v013_smoothquant = {
    V013_CALIBRATION_HOOKS,
    .on_initialize = smoothquant_on_initialize,
    .on_finalize = v013_calibration_finalize,
    .sequential_without_modules = true,
};

/* Whether a scheme map (a config group, or `scheme` written out) makes the
 * config need calibration data: compressed-tensors
 * QuantizationConfig.requires_calibration_data, which llm-compressor 0.13's
 * QuantizationMixin._set_requires_calibration_data restates (mixin.py:299-321).
 * `weight_observer` is the modifier's override of the weights' observer. */
static bool scheme_requires_calibration(const ms_node *scheme, const char *weight_observer)
{
    const ms_node *weights = ms_node_get(scheme, "weights");
    if (weights && weights->kind == MS_NODE_MAP) {
        const ms_node *obs = ms_node_get(weights, "observer");
        const char *name = weight_observer                 ? weight_observer
                           : obs && ms_node_is_string(obs) ? obs->value
                                                           : NULL;
        if (name && !strcmp(name, "imatrix_mse"))
            return true;
    }
    bool dynamic = false;
    const ms_node *input = ms_node_get(scheme, "input_activations");
    if (input && input->kind == MS_NODE_MAP) {
        /* QuantizationArgs.dynamic defaults to False */
        const ms_node *d = ms_node_get(input, "dynamic");
        if (!d || (ms_node_as_bool(d, &dynamic) && !dynamic) ||
            (ms_node_is_string(d) && !strcmp(d->value, "local")))
            return true;
    }
    const ms_node *output = ms_node_get(scheme, "output_activations");
    if (output && output->kind == MS_NODE_MAP) {
        const ms_node *d = ms_node_get(output, "dynamic");
        if (!d || (ms_node_as_bool(d, &dynamic) && !dynamic))
            return true;
    }
    return false;
}

/* The preset schemes with static (FP8) or locally dynamic (NVFP4) input
 * activations: compressed-tensors quantization/quant_scheme.py; the other
 * presets have no activations or dynamic ones. */
static bool preset_requires_calibration(const char *name)
{
    return !strcasecmp(name, "FP8") || !strcasecmp(name, "NVFP4");
}

/* Under both profiles the same test on the resolved config (0.12 asks
 * compressed-tensors from pipelines/registry.py, 0.13 the mixin's validator). */
static bool quantization_requires_calibration(ms_upstream profile, const ms_node *args)
{
    (void)profile;
    const ms_node *kv = ms_node_get(args, "kv_cache_scheme");
    if (kv && !ms_node_is_null(kv))
        return true;
    const char *weight_observer = NULL;
    const ms_node *wo = ms_node_get(args, "weight_observer");
    const ms_node *observers = ms_node_get(args, "observer");
    const ms_node *ow = observers ? ms_node_get(observers, "weights") : NULL;
    if (ow && ms_node_is_string(ow)) /* the observer dict wins (mixin.py:416-419) */
        weight_observer = ow->value;
    else if (wo && ms_node_is_string(wo))
        weight_observer = wo->value;
    const ms_node *groups = ms_node_get(args, "config_groups");
    if (groups && groups->kind == MS_NODE_MAP)
        for (size_t i = 0; i < groups->count; i++)
            if (scheme_requires_calibration(groups->items[i], weight_observer))
                return true;
    const ms_node *scheme = ms_node_get(args, "scheme");
    if (scheme && ms_node_is_string(scheme))
        return preset_requires_calibration(scheme->value);
    if (scheme && scheme->kind == MS_NODE_MAP) {
        /* {PRESET: targets, ...} or one scheme written out */
        if (ms_node_get(scheme, "weights") || ms_node_get(scheme, "input_activations") ||
            ms_node_get(scheme, "output_activations"))
            return scheme_requires_calibration(scheme, weight_observer);
        for (size_t i = 0; i < scheme->count; i++)
            if (preset_requires_calibration(scheme->keys[i]->value))
                return true;
    }
    return false;
}

/* on_start and on_finalize are listed per type: GPTQ and Quantization differ there */
#define CALIBRATION_HOOKS                                                                          \
    .drive = MS_DRIVE_CALIBRATION, .on_end = calibration_on_end, .on_event = calibration_on_event
#define CALIBRATION_START_FINALIZE                                                                 \
    .on_start = calibration_on_start, .on_finalize = calibration_on_finalize

static const ms_modifier_type constant_pruning = {
    .name = "ConstantPruningModifier",
    .drive = MS_DRIVE_TRAINING,
    .configure = constant_configure,
    .on_start = constant_on_start,
    .on_update = constant_on_update,
    .on_finalize = constant_on_finalize,
};

static const ms_modifier_type magnitude_pruning = {
    .name = "MagnitudePruningModifier",
    .drive = MS_DRIVE_TRAINING,
    .config_size = sizeof(magnitude_config),
    .state_size = sizeof(magnitude_state),
    .configure = magnitude_configure,
    .free_config = magnitude_free_config,
    .on_initialize = magnitude_on_initialize,
    .on_start = magnitude_schedule,
    .on_update = magnitude_on_update,
    .metric_name = "sparsity",
    .metric = magnitude_metric,
};

static const ms_modifier_type output_distillation = {
    .name = "OutputDistillationModifier",
    .drive = MS_DRIVE_TRAINING,
};

static const ms_modifier_type quantization = {
    .name = "QuantizationModifier",
    CALIBRATION_HOOKS,
    .config_size = sizeof(quant_config),
    .configure = quant_configure,
    .on_initialize = quantization_on_initialize,
    .on_start = calibration_on_start,
    .on_finalize = quantization_on_finalize,
    .v013 = &v013_quantization,
    .requires_calibration = quantization_requires_calibration,
};

static const ms_modifier_type gptq = {
    .name = "GPTQModifier",
    CALIBRATION_HOOKS,
    .config_size = sizeof(quant_config),
    .configure = gptq_configure,
    .on_initialize = gptq_on_initialize,
    .on_start = gptq_on_start,
    .on_finalize = compressor_on_finalize,
    .v013 = &v013_gptq,
    .requires_calibration_data = true,
};

static const ms_modifier_type sparsegpt = {.name = "SparseGPTModifier",
                                           CALIBRATION_HOOKS,
                                           .on_start = calibration_on_start,
                                           .on_finalize = compressor_on_finalize,
                                           .on_initialize = sparsity_on_initialize,
                                           .v013 = &v013_sparsity,
                                           .requires_calibration_data = true};
static const ms_modifier_type wanda = {.name = "WandaPruningModifier",
                                       CALIBRATION_HOOKS,
                                       .on_start = calibration_on_start,
                                       .on_finalize = compressor_on_finalize,
                                       .on_initialize = sparsity_on_initialize,
                                       .v013 = &v013_sparsity,
                                       .requires_calibration_data = true};
static const ms_modifier_type awq = {.name = "AWQModifier",
                                     CALIBRATION_HOOKS,
                                     CALIBRATION_START_FINALIZE,
                                     .v013 = &v013_awq,
                                     .requires_calibration_data = true};

static const ms_modifier_type smoothquant = {
    .name = "SmoothQuantModifier",
    CALIBRATION_HOOKS,
    CALIBRATION_START_FINALIZE,
    .on_initialize = smoothquant_on_initialize,
    .v013 = &v013_smoothquant,
    .requires_calibration_data = true,
};

static const ms_modifier_type logarithmic_equalization = {
    .name = "LogarithmicEqualizationModifier",
    CALIBRATION_HOOKS,
    CALIBRATION_START_FINALIZE,
    .on_initialize = smoothquant_on_initialize,
    .v013 = &v013_smoothquant,
    .requires_calibration_data = true,
};

/* ---- transforms, AutoRound, IMatrixGatherer, REAP (llm-compressor 0.12/0.13) ----
 *
 * Calibration-driven like the others: on_event starts them on
 * calibration_epoch_start and ends them on calibration_epoch_end, and
 * on_finalize ends one still running (quip/base.py, spinquant/base.py,
 * autoround/base.py, imatrix/base.py at 0.12). What they do to the model
 * (rotations, observers, rounding) the world does not model, except that
 * AutoRound quantizes like GPTQ. */

static ms_status flag_on_start(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    (void)ctx;
    (void)ev;
    m->started = true;
    return MS_OK;
}

static ms_status flag_on_end(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    (void)ctx;
    (void)ev;
    m->ended = true;
    return MS_OK;
}

/* AutoRound resolves the config only when it has one (autoround/base.py:
 * on_initialize calls initialize_quantization under has_config), and its
 * on_start never raises for a model without quantized modules. */
static ms_status autoround_on_initialize(ms_modifier *m, ms_hook_ctx *ctx, bool *result)
{
    *result = true;
    if (!((quant_config *)m->config)->has_config)
        return MS_OK;
    if (raise_resolve_error(m, ctx) != MS_OK)
        return MS_ERR_RAISED;
    ctx->world->ops->attach_quant_scheme(ctx->world->self, ctx->world_state, m->position);
    return MS_OK;
}

/* REAP's base class at 0.13 sets started_/ended_ around its calibration
 * hooks, and its on_finalize returns True without ending it
 * (pruning/reap/base.py:222 at 0.13). */
static ms_status reap_on_event(ms_modifier *m, ms_hook_ctx *ctx, const ms_event *ev)
{
    (void)ctx;
    if (ev->type == MS_EV_CALIBRATION_EPOCH_START)
        m->started = true;
    else if (ev->type == MS_EV_CALIBRATION_EPOCH_END)
        m->ended = true;
    return MS_OK;
}

#define FLAG_HOOKS                                                                                 \
    .drive = MS_DRIVE_CALIBRATION, .on_event = calibration_on_event, .on_start = flag_on_start,    \
    .on_end = flag_on_end, .on_finalize = calibration_on_finalize

/* 0.13 (ab1ba3eff): QuIP and SpinQuant override only on_calibration_start
 * (transform/quip/base.py:108, spinquant/base.py:151); on_finalize and
 * on_sequential_epoch_end (which takes `modules`) are the base class's. */
static const ms_modifier_type v013_transform = {.on_calibration_start = v013_calibration_start};
/* autoround/base.py:168-367 at 0.13: needs data; its on_sequential_epoch_end
 * takes `modules`; no on_finalize of its own */
static const ms_modifier_type v013_autoround = {
    .on_initialize = autoround_on_initialize,
    V013_CALIBRATION_HOOKS,
    .sequential_owner = "AutoRoundModifier",
};
/* pruning/reap/base.py:178-244 at 0.13: on_sequential_epoch_end takes no
 * `modules`; on_finalize returns True without ending it */
static const ms_modifier_type v013_reap = {
    V013_CALIBRATION_HOOKS,
    .sequential_without_modules = true,
};

static const ms_modifier_type quip = {.name = "QuIPModifier", FLAG_HOOKS, .v013 = &v013_transform};
static const ms_modifier_type spinquant = {
    .name = "SpinQuantModifier", FLAG_HOOKS, .v013 = &v013_transform};
static const ms_modifier_type imatrix_gatherer = {.name = "IMatrixGatherer", FLAG_HOOKS};

static const ms_modifier_type autoround = {
    .name = "AutoRoundModifier",
    CALIBRATION_HOOKS,
    CALIBRATION_START_FINALIZE,
    .config_size = sizeof(quant_config),
    .configure = quant_configure,
    .on_initialize = autoround_on_initialize,
    .v013 = &v013_autoround,
    .requires_calibration_data = true,
};

static const ms_modifier_type reap = {
    .name = "REAPPruningModifier",
    .drive = MS_DRIVE_CALIBRATION,
    .on_event = reap_on_event,
    .v013 = &v013_reap,
    .requires_calibration_data = true,
};

const ms_modifier_type *const ms_builtin_types[] = {
    &constant_pruning,
    &magnitude_pruning,
    &output_distillation,
    &quantization,
    &gptq,
    &sparsegpt,
    &wanda,
    &smoothquant,
    &logarithmic_equalization,
    &awq,
    &quip,
    &spinquant,
    &autoround,
    &imatrix_gatherer,
    &reap,
};
const size_t ms_builtin_type_count = sizeof ms_builtin_types / sizeof ms_builtin_types[0];
