#include "pipeline.h"

#include <math.h>
#include <stdio.h>
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
    return (ms_pipeline_config){.epochs = 0,
                                .steps_per_epoch = 4,
                                .epoch_index = true,
                                .index_mode = MS_INDEX_UPSTREAM,
                                .calibration = MS_PIPELINE_INDEPENDENT,
                                .layers = 4,
                                .upstream = MS_UPSTREAM_DEFAULT};
}

static bool is_training(const ms_recipe_entry *e)
{
    return e->type && ms_modifier_type_drive(e->type) == MS_DRIVE_TRAINING;
}

/* The largest start or end a training-driven modifier writes; 0 when none
 * (or no recipe). */
static double schedule_reach(const ms_recipe *recipe)
{
    double reach = 0;
    for (size_t i = 0; recipe && i < ms_recipe_count(recipe); i++) {
        const ms_recipe_entry *e = ms_recipe_entry_at(recipe, i);
        if (!is_training(e) || !e->args || e->args->kind != MS_NODE_MAP)
            continue;
        static const char *const keys[] = {"start", "end"};
        for (size_t k = 0; k < 2; k++) {
            double v;
            const ms_node *n = ms_node_get(e->args, keys[k]);
            if (n && ms_node_as_double(n, &v) && v > reach && v < 1e6)
                reach = v;
        }
    }
    return reach;
}

static long long epochs_for(const ms_recipe *recipe)
{
    long long epochs = (long long)ceil(schedule_reach(recipe)) + 1;
    return epochs < 2 ? 2 : epochs;
}

ms_pipeline_config ms_pipeline_training(const ms_recipe *recipe)
{
    ms_pipeline_config cfg = ms_pipeline_defaults();
    cfg.epochs = epochs_for(recipe);
    cfg.calibration = MS_PIPELINE_NONE;
    return cfg;
}

ms_pipeline_config ms_pipeline_intended(const ms_pipeline_config *cfg, const ms_recipe *recipe)
{
    ms_pipeline_config out = *cfg;
    out.index_mode = MS_INDEX_STEP;
    if (out.epochs == 0 && schedule_reach(recipe) > 0)
        out.epochs = epochs_for(recipe);
    return out;
}

ms_pipeline_config ms_pipeline_resolve(const ms_pipeline_request *req, const ms_recipe *recipe)
{
    ms_pipeline_config c = req->cfg;
    if (req->training) {
        if (!req->epochs_given)
            c.epochs = ms_pipeline_training(recipe).epochs;
        if (c.calibration == MS_PIPELINE_INDEPENDENT)
            c.calibration = MS_PIPELINE_NONE;
    }
    if (req->intended && !req->epochs_given)
        c = ms_pipeline_intended(&c, recipe);
    return c;
}

bool ms_pipeline_is_upstream(const ms_pipeline_config *cfg)
{
    return cfg->index_mode == MS_INDEX_UPSTREAM &&
           (cfg->epochs == 0 || cfg->calibration == MS_PIPELINE_NONE);
}

bool ms_pipeline_has_calibration_data(const ms_pipeline_config *cfg)
{
    return cfg->calibration != MS_PIPELINE_DATAFREE;
}

ms_lint_run ms_pipeline_lint_run(const ms_pipeline_config *cfg)
{
    return (ms_lint_run){.training_loop = cfg->epochs > 0,
                         .calibration = cfg->calibration != MS_PIPELINE_NONE,
                         .intended_index = cfg->index_mode == MS_INDEX_STEP,
                         .upstream = cfg->upstream,
                         .no_calibration_data = !ms_pipeline_has_calibration_data(cfg)};
}

void ms_pipeline_describe(const ms_pipeline_config *cfg, char *buf, size_t cap)
{
    char run[160];
    if (cfg->epochs == 0 && cfg->calibration == MS_PIPELINE_INDEPENDENT)
        snprintf(run, sizeof run, "oneshot(): independent pipeline, as upstream runs it");
    else if (cfg->epochs == 0 && cfg->calibration == MS_PIPELINE_NONE)
        snprintf(run, sizeof run, "initialize and finalize only");
    else if (cfg->epochs == 0)
        snprintf(run, sizeof run, "oneshot(pipeline=\"%s\")", ms_pipeline_name(cfg->calibration));
    else if (cfg->calibration == MS_PIPELINE_NONE)
        snprintf(run, sizeof run, "a training loop of your own calling LifecycleCallbacks");
    else
        snprintf(run, sizeof run, "a training loop then %s calibration: not a run upstream makes",
                 ms_pipeline_name(cfg->calibration));
    snprintf(buf, cap, "%s; %s; llm-compressor %s", run,
             cfg->index_mode == MS_INDEX_UPSTREAM
                 ? "index 0, as upstream builds events"
                 : "INTENDED index (the schedule as written; upstream sends index 0)",
             ms_upstream_name(cfg->upstream));
}

ms_pipeline ms_pipeline_infer(const ms_recipe_entry *entry, ms_upstream upstream)
{
    return entry->type && ms_modifier_type_requires_calibration(entry->type, upstream, entry->args)
               ? MS_PIPELINE_SEQUENTIAL
               : MS_PIPELINE_DATAFREE;
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

/* One calibration pass of `kind`; `modifier` >= 0 narrows the lifecycle to
 * that modifier, as the independent pipeline does around each pass. */
static void calibration(builder *b, ms_pipeline kind, int modifier)
{
    /* pipelines/sequential/helpers.py topological_partition: the nodes before
     * the first target are a subgraph of their own, then one per target */
    long long ends = kind == MS_PIPELINE_SEQUENTIAL ? b->cfg->layers + 1 : 1;
    static const ms_event_type pass[] = {MS_EV_CALIBRATION_EPOCH_START, MS_EV_SEQUENTIAL_EPOCH_END,
                                         MS_EV_CALIBRATION_EPOCH_END};
    for (long long i = -1; i <= ends; i++) {
        push(b, MS_CALL_EVENT, pass[i < 0 ? 0 : i < ends ? 1 : 2], 0, modifier);
        b->calls[b->n - 1].narrowed = modifier >= 0;
        /* upstream's pipelines pass the subgraph's (or the model's) modules */
        b->calls[b->n - 1].event.has_modules = i >= 0 && i < ends;
    }
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
    unsigned long long one_pass = 3 + (unsigned long long)cfg->layers;
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
            calibration(&b, ms_pipeline_infer(ms_recipe_entry_at(recipe, i), cfg->upstream),
                        (int)i);
    } else if (cfg->calibration != MS_PIPELINE_NONE) {
        calibration(&b, cfg->calibration, -1);
    }
    push(&b, MS_CALL_FINALIZE, MS_EV_FINALIZE, 0, -1);
    *out = b.calls;
    *n = b.n;
    return MS_OK;
}
