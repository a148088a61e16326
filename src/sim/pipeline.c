#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

static const char *const names[] = {
#define MS_PIPELINE_NAME(id, name, help) name,
    MS_PIPELINE_LIST(MS_PIPELINE_NAME)
#undef MS_PIPELINE_NAME
};

static const char *const helps[] = {
#define MS_PIPELINE_HELP(id, name, help) help,
    MS_PIPELINE_LIST(MS_PIPELINE_HELP)
#undef MS_PIPELINE_HELP
};

const char *ms_pipeline_name(ms_pipeline p)
{
    return (unsigned)p < MS_PIPELINE_COUNT ? names[p] : "unknown";
}

const char *ms_pipeline_help(ms_pipeline p)
{
    return (unsigned)p < MS_PIPELINE_COUNT ? helps[p] : "";
}

ms_pipeline_config ms_pipeline_defaults(void)
{
    return (ms_pipeline_config){.epochs = 2,
                                .steps_per_epoch = 4,
                                .epoch_index = true,
                                .index_mode = MS_INDEX_STEP,
                                .calibration = MS_PIPELINE_SEQUENTIAL,
                                .layers = 4};
}

/* upstream _infer_pipeline's list of types that require calibration data */
ms_pipeline ms_pipeline_infer(const ms_modifier_type *type)
{
    static const char *const need_data[] = {"SmoothQuantModifier", "WandaPruningModifier",
                                            "SparseGPTModifier", "GPTQModifier", "AWQModifier"};
    for (size_t i = 0; i < sizeof need_data / sizeof need_data[0]; i++)
        if (!strcmp(ms_modifier_type_name(type), need_data[i]))
            return MS_PIPELINE_SEQUENTIAL;
    return MS_PIPELINE_DATAFREE;
}

typedef struct builder {
    const ms_pipeline_config *cfg;
    ms_call *calls;
    size_t n;
} builder;

static void push(builder *b, ms_call_kind kind, ms_event_type type, long long step, int modifier)
{
    ms_call *c = &b->calls[b->n++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->modifier = modifier < 0 ? 0 : (size_t)modifier;
    c->event = ms_event_plain(type);
    if (b->cfg->index_mode == MS_INDEX_STEP) {
        c->event.global_step = step;
        c->event.batches_per_step = b->cfg->batches_per_step;
        c->event.global_batch = step * (b->cfg->batches_per_step ? b->cfg->batches_per_step : 1);
        c->event.epoch_based = b->cfg->epoch_index;
        c->event.steps_per_epoch = b->cfg->epoch_index ? b->cfg->steps_per_epoch : 0;
    }
}

/* One calibration pass of `kind`; `modifier` >= 0 sends the events to that
 * modifier alone, as the independent pipeline narrows the recipe to it. */
static void calibration(builder *b, ms_pipeline kind, int modifier)
{
    ms_call_kind call = modifier < 0 ? MS_CALL_EVENT : MS_CALL_MODIFIER_UPDATE_EVENT;
    long long ends = kind == MS_PIPELINE_SEQUENTIAL ? b->cfg->layers : 1;
    push(b, call, MS_EV_CALIBRATION_EPOCH_START, 0, modifier);
    for (long long i = 0; i < ends; i++)
        push(b, call, MS_EV_SEQUENTIAL_EPOCH_END, 0, modifier);
    push(b, call, MS_EV_CALIBRATION_EPOCH_END, 0, modifier);
}

static ms_status check(ms_diag *diag, const char *field, long long v, long long lo, long long hi)
{
    if (v >= lo && v <= hi)
        return MS_OK;
    return ms_diag_set(diag, MS_ERR_INVALID, "E-PIPELINE", NULL, 0, 0,
                       "%s must be between %lld and %lld, not %lld", field, lo, hi, v);
}

ms_status ms_pipeline_generate(const ms_pipeline_config *cfg, const ms_recipe *recipe,
                               ms_call **out, size_t *n, ms_diag *diag)
{
    *out = NULL;
    *n = 0;
    const long long big = (long long)MS_PIPELINE_MAX_CALLS;
    ms_status st = check(diag, "epochs", cfg->epochs, 0, big);
    if (st == MS_OK)
        st = check(diag, "steps_per_epoch", cfg->steps_per_epoch, 1, big);
    if (st == MS_OK)
        st = check(diag, "batches_per_step", cfg->batches_per_step, 0, big);
    if (st == MS_OK)
        st = check(diag, "layers", cfg->layers, 1, big);
    if (st == MS_OK && (unsigned)cfg->calibration >= MS_PIPELINE_COUNT)
        st = ms_diag_set(diag, MS_ERR_INVALID, "E-PIPELINE", NULL, 0, 0,
                         "unknown calibration pipeline %d", (int)cfg->calibration);
    if (st != MS_OK)
        return st;

    size_t mods = ms_recipe_count(recipe);
    unsigned long long total =
        2 + 5ULL * (unsigned long long)cfg->epochs * (unsigned long long)cfg->steps_per_epoch;
    unsigned long long one_pass = 2 + (unsigned long long)cfg->layers;
    if (cfg->calibration == MS_PIPELINE_INDEPENDENT)
        total += mods * one_pass;
    else if (cfg->calibration == MS_PIPELINE_SEQUENTIAL)
        total += one_pass;
    else if (cfg->calibration != MS_PIPELINE_NONE)
        total += 3;
    /* epochs × steps alone may overflow; each is bounded above, so test them first */
    if ((unsigned long long)cfg->epochs * (unsigned long long)cfg->steps_per_epoch >
            MS_PIPELINE_MAX_CALLS ||
        total > MS_PIPELINE_MAX_CALLS) {
        st = ms_diag_set(diag, MS_ERR_LIMIT, "E-PIPELINE", NULL, 0, 0,
                         "the pipeline would make more than %llu calls",
                         (unsigned long long)MS_PIPELINE_MAX_CALLS);
        ms_diag_hint(diag, "use fewer epochs, steps per epoch or layers");
        return st;
    }
    builder b = {.cfg = cfg, .calls = malloc(total * sizeof *b.calls)};
    if (!b.calls)
        return MS_ERR_NOMEM;
    push(&b, MS_CALL_INITIALIZE, MS_EV_INITIALIZE, 0, -1);
    static const ms_event_type step_events[] = {MS_EV_BATCH_START, MS_EV_LOSS_CALCULATED,
                                                MS_EV_OPTIM_PRE_STEP, MS_EV_OPTIM_POST_STEP,
                                                MS_EV_BATCH_END};
    long long steps = cfg->epochs * cfg->steps_per_epoch;
    for (long long step = 0; step < steps; step++)
        for (size_t e = 0; e < 5; e++) {
            push(&b, MS_CALL_EVENT, step_events[e], step, -1);
            if (step_events[e] == MS_EV_LOSS_CALCULATED) {
                /* a loss that falls as training goes on; only its presence matters */
                b.calls[b.n - 1].has_loss = true;
                b.calls[b.n - 1].loss = 2.5 / (1.0 + 0.1 * (double)step);
            }
        }
    if (cfg->calibration == MS_PIPELINE_INDEPENDENT) {
        for (size_t i = 0; i < mods; i++)
            calibration(&b, ms_pipeline_infer(ms_recipe_entry_at(recipe, i)->type), (int)i);
    } else if (cfg->calibration != MS_PIPELINE_NONE) {
        calibration(&b, cfg->calibration, -1);
    }
    push(&b, MS_CALL_FINALIZE, MS_EV_FINALIZE, 0, -1);
    *out = b.calls;
    *n = b.n;
    return MS_OK;
}
