#include "world_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../kernels/apply.h"
#include "../kernels/pool.h"
#include "../kernels/smoothquant.h"
#include "../model/forward.h"
#include "../util/quant_words.h"

#include "world_model_impl.h"

ms_world_model_config ms_world_model_defaults(void)
{
    return (ms_world_model_config){.calib_batch = 16, .calib_seq = 128, .seed = 0, .threads = 1};
}

/* ---- recipe arguments ---- */

/* A string or a list of strings; `*out` is malloc'd (NULL when absent). */
static ms_status read_names(const ms_node *v, const char *file, const char *field,
                            const char ***out, size_t *n, ms_diag *diag)
{
    *out = NULL;
    *n = 0;
    if (!v || ms_node_is_null(v))
        return MS_OK;
    size_t count = v->kind == MS_NODE_SEQ ? v->count : 1;
    const char **names = calloc(count ? count : 1, sizeof *names);
    if (!names)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < count; i++) {
        const ms_node *item = v->kind == MS_NODE_SEQ ? v->items[i] : v;
        if (!ms_node_is_string(item)) {
            free(names);
            return ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE", file, item->line, item->col,
                               "%s must name modules (strings), not %s", field,
                               ms_node_type_name(item));
        }
        names[i] = item->value;
    }
    *out = names;
    *n = count;
    return MS_OK;
}

/* Pruning modifiers name parameters ("re:.*q_proj.weight"); modules are
 * matched, so the parameter suffix goes. */
static char *module_target(const char *t)
{
    size_t len = strlen(t);
    const char *suffix = ".weight";
    size_t sl = strlen(suffix);
    char *s = strdup(t);
    if (s && len > sl && !strcmp(t + len - sl, suffix))
        s[len - sl] = 0;
    return s;
}

static bool number(const ms_node *args, const char *field, double *out)
{
    const ms_node *v = ms_node_get(args, field);
    return v && ms_node_as_double(v, out);
}

/* The weight scheme of a compressed-tensors preset name, for the presets
 * whose weights are int or fp8 (quant_scheme.py). */
static bool preset_weights(const char *name, ms_quant_args *q)
{
    static const struct {
        const char *name;
        ms_quant_args args;
    } presets[] = {
        {"W4A16", {4, MS_QUANT_INT, true, MS_QUANT_GROUP, 128, {0, 0}}},
        {"W4A16_ASYM", {4, MS_QUANT_INT, false, MS_QUANT_GROUP, 128, {0, 0}}},
        {"W8A16", {8, MS_QUANT_INT, true, MS_QUANT_GROUP, 128, {0, 0}}},
        {"W8A8", {8, MS_QUANT_INT, true, MS_QUANT_CHANNEL, 0, {0, 0}}},
        {"INT8", {8, MS_QUANT_INT, true, MS_QUANT_CHANNEL, 0, {0, 0}}},
        {"W4A8", {4, MS_QUANT_INT, true, MS_QUANT_GROUP, 128, {0, 0}}},
        {"FP8", {8, MS_QUANT_FLOAT, true, MS_QUANT_TENSOR, 0, {0, 0}}},
        {"FP8_DYNAMIC", {8, MS_QUANT_FLOAT, true, MS_QUANT_CHANNEL, 0, {0, 0}}},
        {"FP8_BLOCK", {8, MS_QUANT_FLOAT, true, MS_QUANT_BLOCK, 0, {128, 128}}},
    };
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (!strcasecmp(name, presets[i].name)) {
            *q = presets[i].args;
            return true;
        }
    return false;
}

/* A written-out `weights:` map (QuantizationArgs). */
static ms_status weights_args(const ms_node *w, const char *file, ms_quant_args *q, ms_diag *diag)
{
    *q = (ms_quant_args){8, MS_QUANT_INT, true, MS_QUANT_TENSOR, 0, {0, 0}};
    double d;
    if (number(w, "num_bits", &d))
        q->num_bits = (int)d;
    const ms_node *type = ms_node_get(w, "type");
    if (type && ms_node_is_string(type) && !strcasecmp(type->value, "float"))
        q->type = MS_QUANT_FLOAT;
    const ms_node *sym = ms_node_get(w, "symmetric");
    bool b;
    if (sym && ms_node_as_bool(sym, &b))
        q->symmetric = b;
    const ms_node *strat = ms_node_get(w, "strategy");
    if (strat && ms_node_is_string(strat)) {
        int s = ms_qstrategy_parse(strat->value, true);
        if (s == MS_QSTRAT_TENSOR || s == MS_QSTRAT_CHANNEL || s == MS_QSTRAT_GROUP ||
            s == MS_QSTRAT_BLOCK)
            q->strategy = s == MS_QSTRAT_TENSOR    ? MS_QUANT_TENSOR
                          : s == MS_QSTRAT_CHANNEL ? MS_QUANT_CHANNEL
                          : s == MS_QSTRAT_GROUP   ? MS_QUANT_GROUP
                                                   : MS_QUANT_BLOCK;
        else
            return ms_diag_set(diag, MS_ERR_INVALID, "E-WORLD-SCHEME", file, strat->line,
                               strat->col,
                               "weight strategy '%s' is not one the model-backed world applies "
                               "(tensor, channel, group, block)",
                               strat->value);
    }
    if (number(w, "group_size", &d) && d > 0)
        q->group_size = (size_t)d;
    const ms_node *bs = ms_node_get(w, "block_structure");
    if (bs && bs->kind == MS_NODE_SEQ && bs->count == 2) {
        double r, c;
        if (ms_node_as_double(bs->items[0], &r) && ms_node_as_double(bs->items[1], &c)) {
            q->block_structure[0] = (size_t)r;
            q->block_structure[1] = (size_t)c;
        }
    }
    return MS_OK;
}

/* The weight scheme and, when the scheme brings them, the targets and its
 * weights.actorder (`actorder` may be NULL): `scheme` (a preset,
 * {PRESET: targets} or written out) or the first config group. */
static ms_status read_scheme(const ms_node *args, const char *file, wm_modifier *wmod,
                             const ms_node **targets, const ms_node **actorder, ms_diag *diag)
{
    const ms_node *scheme = ms_node_get(args, "scheme");
    const ms_node *groups = ms_node_get(args, "config_groups");
    const ms_node *at = scheme;
    const char *preset = NULL;
    const ms_node *weights = NULL;
    if (scheme && ms_node_is_string(scheme)) {
        preset = scheme->value;
    } else if (scheme && scheme->kind == MS_NODE_MAP && ms_node_get(scheme, "weights")) {
        weights = ms_node_get(scheme, "weights");
    } else if (scheme && scheme->kind == MS_NODE_MAP && scheme->count) {
        preset = scheme->keys[0]->value;
        *targets = scheme->items[0];
        at = scheme->keys[0];
    } else if (groups && groups->kind == MS_NODE_MAP && groups->count) {
        const ms_node *g = groups->items[0];
        weights = ms_node_get(g, "weights");
        if (ms_node_get(g, "targets"))
            *targets = ms_node_get(g, "targets");
        at = g;
    } else {
        return MS_OK;
    }
    if (preset && !preset_weights(preset, &wmod->opts.quant)) {
        ms_status st = ms_diag_set(diag, MS_ERR_INVALID, "E-WORLD-SCHEME", file, at->line, at->col,
                                   "the model-backed world does not apply scheme '%s'", preset);
        ms_diag_hint(diag, "it applies W4A16, W4A16_ASYM, W8A16, W8A8, INT8, W4A8, FP8, "
                           "FP8_DYNAMIC, FP8_BLOCK and written-out int/fp8 weights");
        return st;
    }
    if (weights && weights->kind == MS_NODE_MAP) {
        ms_status st = weights_args(weights, file, &wmod->opts.quant, diag);
        if (st != MS_OK)
            return st;
        if (actorder)
            *actorder = ms_node_get(weights, "actorder");
    } else if (!preset) {
        return MS_OK; /* activations only: the weights stay */
    }
    wmod->quantizes = true;
    return MS_OK;
}

/* mask_structure "N:M" (SparseGPT, Wanda) or unstructured. */
static void read_structure(const ms_node *args, ms_apply_opts *o)
{
    const ms_node *v = ms_node_get(args, "mask_structure");
    size_t n, m;
    if (v && ms_node_is_string(v) && ms_nm_parse(v->value, 1024, &n, &m) && n > 0) {
        o->prune.structure = MS_PRUNE_NM;
        o->prune.n = n;
        o->prune.m = m;
    }
}

/* sgpt_base.py on_initialize/on_start: a sparsity modifier's targets select
 * layers, and it prunes the Linears inside each (the layer itself when it is
 * one); its ignore is matched against those Linears. `match` holds the
 * layers (ignore not applied) and is replaced by the Linears. */
static ms_status linears_within(const ms_model *model, const char *const *ignore, size_t n_ignore,
                                ms_match *match, ms_diag *diag)
{
    size_t count = ms_model_module_count(model);
    bool *take = calloc(count ? count : 1, sizeof *take);
    ms_match ignored = {0};
    ms_diag d;
    ms_diag_clear(&d);
    /* an ignore entry matching nothing is not a target matching nothing */
    ms_status st =
        take ? ms_model_match(model, ignore, n_ignore, NULL, 0, &ignored, &d) : MS_ERR_NOMEM;
    if (st != MS_OK)
        *diag = d;
    for (size_t j = 0; st == MS_OK && j < match->count; j++) {
        const char *layer = ms_model_module(model, match->modules[j])->name;
        size_t len = strlen(layer);
        for (size_t i = 0; i < count; i++) {
            const ms_module *mod = ms_model_module(model, i);
            if (mod->kind == MS_MOD_LINEAR &&
                (i == match->modules[j] || !len ||
                 (!strncmp(mod->name, layer, len) && mod->name[len] == '.')))
                take[i] = true;
        }
    }
    for (size_t j = 0; st == MS_OK && j < ignored.count; j++)
        take[ignored.modules[j]] = false;
    if (st == MS_OK) {
        /* ms_model_match sized `modules` for every module */
        match->count = 0;
        for (size_t i = 0; i < count; i++)
            if (take[i])
                match->modules[match->count++] = i;
    }
    ms_match_free(&ignored);
    free(take);
    return st;
}

static ms_status read_modifier(ms_world_model *wm, const ms_recipe_entry *e, const char *file,
                               wm_modifier *wmod, ms_diag *diag)
{
    const char *type = e->type_key->value;
    const ms_node *args = e->args;
    const ms_node *targets = ms_node_get(args, "targets");
    bool pruning_names = false, sparsity_layers = false;
    const char *default_target = "Linear";
    double d;
    wmod->how = MS_WORLD_LAYERWISE;
    if (!strcmp(type, "MagnitudePruningModifier")) {
        wmod->kind = KIND_MAGNITUDE;
        ms_apply_opts_init(&wmod->opts, MS_APPLY_PRUNE);
        pruning_names = true;
    } else if (!strcmp(type, "GPTQModifier")) {
        wmod->kind = KIND_GPTQ;
        ms_apply_opts_init(&wmod->opts, MS_APPLY_GPTQ);
        if (number(args, "block_size", &d) && d >= 1)
            wmod->opts.block_size = (size_t)d;
        if (number(args, "dampening_frac", &d))
            wmod->opts.dampening_frac = d;
        const ms_node *scheme_actorder = NULL;
        ms_status st = read_scheme(args, file, wmod, &targets, &scheme_actorder, diag);
        if (st != MS_OK)
            return st;
        /* gptq/base.py resolve_actorder: an actorder neither the modifier nor
         * its own scheme sets is static ("actorder: null" is none) */
        const ms_node *ao = ms_node_get(args, "actorder");
        if (!ao)
            ao = scheme_actorder;
        int a = ao && ms_node_is_string(ao) ? ms_qactorder_parse(ao->value, true, NULL)
                : !ao && wmod->quantizes    ? MS_QACT_WEIGHT
                                            : -1;
        wmod->opts.actorder = a == MS_QACT_GROUP    ? MS_ACTORDER_GROUP
                              : a == MS_QACT_WEIGHT ? MS_ACTORDER_WEIGHT
                                                    : MS_ACTORDER_NONE;
        if (wmod->opts.actorder == MS_ACTORDER_GROUP && wmod->opts.quant.strategy != MS_QUANT_GROUP)
            wmod->opts.actorder = MS_ACTORDER_NONE;
    } else if (!strcmp(type, "QuantizationModifier")) {
        wmod->kind = KIND_QUANT;
        ms_apply_opts_init(&wmod->opts, MS_APPLY_QUANT);
        ms_status st = read_scheme(args, file, wmod, &targets, NULL, diag);
        if (st != MS_OK)
            return st;
    } else if (!strcmp(type, "SparseGPTModifier") || !strcmp(type, "WandaPruningModifier")) {
        bool sgpt = type[0] == 'S';
        wmod->kind = sgpt ? KIND_SPARSEGPT : KIND_WANDA;
        ms_apply_opts_init(&wmod->opts, sgpt ? MS_APPLY_SPARSEGPT : MS_APPLY_WANDA);
        if (number(args, "sparsity", &d))
            wmod->opts.prune.sparsity = d;
        if (number(args, "block_size", &d) && d >= 1)
            wmod->opts.block_size = (size_t)d;
        if (number(args, "dampening_frac", &d))
            wmod->opts.dampening_frac = d;
        read_structure(args, &wmod->opts);
        /* sgpt_base.py: targets default to every Linear (lm_head too) */
        sparsity_layers = true;
    } else if (!strcmp(type, "SmoothQuantModifier")) {
        wmod->kind = KIND_SMOOTHQUANT;
        wmod->alpha = number(args, "smoothing_strength", &d) ? d : 0.5;
        targets = NULL; /* its mappings name the norms and Linears; the default is Llama's */
        default_target = "re:.*(input_layernorm|post_attention_layernorm)$";
    } else {
        wmod->kind = KIND_NONE;
        return MS_OK;
    }
    const char **t = NULL, **ig = NULL;
    size_t nt = 0, ni = 0;
    ms_status st = read_names(targets, file, "targets", &t, &nt, diag);
    if (st == MS_OK)
        st = read_names(ms_node_get(args, "ignore"), file, "ignore", &ig, &ni, diag);
    char **owned = NULL;
    if (st == MS_OK && !nt) {
        free(t);
        t = malloc(sizeof *t);
        if (!t)
            st = MS_ERR_NOMEM;
        else {
            t[0] = default_target;
            nt = 1;
        }
    } else if (st == MS_OK && pruning_names) {
        owned = calloc(nt, sizeof *owned);
        if (!owned)
            st = MS_ERR_NOMEM;
        for (size_t i = 0; st == MS_OK && i < nt; i++) {
            owned[i] = module_target(t[i]);
            if (!owned[i])
                st = MS_ERR_NOMEM;
            t[i] = owned[i];
        }
    }
    ms_diag mdiag;
    ms_diag_clear(&mdiag);
    if (st == MS_OK) {
        st = ms_model_match(wm->model, t, nt, ig, sparsity_layers ? 0 : ni, &wmod->match, &mdiag);
        if (st == MS_OK && sparsity_layers)
            st = linears_within(wm->model, ig, ni, &wmod->match, &mdiag);
        if (st != MS_OK)
            /* the match names the target; the recipe's place is the entry's */
            ms_diag_set(diag, st, mdiag.code, file, e->type_key->line, e->type_key->col, "%s: %s",
                        type, mdiag.message);
    }
    if (owned)
        for (size_t i = 0; i < nt; i++)
            free(owned[i]);
    free(owned);
    free(t);
    free(ig);
    if (st == MS_OK && wmod->match.count) {
        wmod->done = calloc(wmod->match.count, sizeof *wmod->done);
        if (!wmod->done)
            st = MS_ERR_NOMEM;
    }
    return st;
}

/* ---- the model and its copy ---- */

static ms_status copy_model(const ms_model *from, ms_model **out, ms_diag *diag)
{
    ms_status st = ms_model_new(ms_model_get_spec(from), out, diag);
    if (st != MS_OK)
        return st;
    size_t max = 0;
    for (size_t i = 0; i < ms_model_module_count(from); i++) {
        size_t n = ms_module_numel(ms_model_module(from, i));
        max = n > max ? n : max;
    }
    float *buf = malloc((max ? max : 1) * sizeof *buf);
    if (!buf) {
        ms_model_free(*out);
        *out = NULL;
        return MS_ERR_NOMEM;
    }
    for (size_t i = 0; i < ms_model_module_count(from); i++)
        if (ms_module_numel(ms_model_module(from, i))) {
            ms_model_weight_read(from, i, buf);
            ms_model_weight_write(*out, i, buf);
        }
    free(buf);
    return MS_OK;
}

ms_status ms_world_model_new(ms_model *model, const ms_recipe *recipe,
                             const ms_world_model_config *cfg, ms_world_model **out, ms_diag *diag)
{
    *out = NULL;
    ms_world_model *wm = calloc(1, sizeof *wm);
    if (!wm) {
        ms_model_free(model);
        return MS_ERR_NOMEM;
    }
    wm->model = model;
    wm->seed = cfg->seed;
    wm->cached_layer = -2;
    wm->nmodules = ms_model_module_count(model);
    wm->nmods = ms_recipe_count(recipe);
    wm->owner = malloc(wm->nmodules * sizeof *wm->owner);
    wm->bits = calloc(wm->nmodules, sizeof *wm->bits);
    wm->scheme = calloc(wm->nmodules, sizeof *wm->scheme);
    wm->note = calloc(wm->nmodules, sizeof *wm->note);
    wm->inputs = calloc(wm->nmodules, sizeof *wm->inputs);
    wm->want = calloc(wm->nmodules, sizeof *wm->want);
    wm->mods = calloc(wm->nmods ? wm->nmods : 1, sizeof *wm->mods);
    ms_status st = MS_OK;
    if (!wm->owner || !wm->bits || !wm->scheme || !wm->note || !wm->inputs || !wm->want ||
        !wm->mods)
        st = MS_ERR_NOMEM;
    for (size_t i = 0; st == MS_OK && i < wm->nmodules; i++)
        wm->owner[i] = -1;
    if (st == MS_OK)
        st = copy_model(model, &wm->base, diag);
    if (st == MS_OK)
        st = ms_pool_create(cfg->threads, &wm->pool, diag);
    if (st == MS_OK)
        st = ms_calib_tokens(&(ms_calib){cfg->calib_source, cfg->calib_path, cfg->calib_batch,
                                         cfg->calib_seq, cfg->seed},
                             (size_t)ms_model_get_spec(model)->vocab_size, &wm->calib, diag);
    const char *file = ms_doc_file(ms_recipe_doc(recipe));
    for (size_t i = 0; st == MS_OK && i < wm->nmods; i++)
        st = read_modifier(wm, ms_recipe_entry_at(recipe, i), file, &wm->mods[i], diag);
    if (st != MS_OK) {
        ms_world_model_free(wm);
        return st;
    }
    *out = wm;
    return MS_OK;
}

static void drop_inputs(ms_world_model *wm)
{
    for (size_t i = 0; i < wm->nmodules; i++) {
        free(wm->inputs[i]);
        wm->inputs[i] = NULL;
    }
    wm->cached_layer = -2;
}

void ms_world_model_free(ms_world_model *wm)
{
    if (!wm)
        return;
    for (size_t i = 0; i < wm->nmods; i++) {
        ms_match_free(&wm->mods[i].match);
        free(wm->mods[i].done);
    }
    if (wm->inputs)
        drop_inputs(wm);
    for (size_t i = 0; wm->note && i < wm->nmodules; i++)
        free(wm->note[i]);
    free(wm->mods);
    free(wm->owner);
    free(wm->bits);
    free(wm->scheme);
    free(wm->note);
    free(wm->inputs);
    free(wm->want);
    ms_tokens_free(&wm->calib);
    ms_pool_free(wm->pool);
    ms_model_free(wm->base);
    ms_model_free(wm->model);
    free(wm);
}

void ms_world_model_set_calibration(ms_world_model *wm, size_t modifier, ms_world_calibration how)
{
    if (modifier < wm->nmods)
        wm->mods[modifier].how = how;
}

void ms_world_model_set_sink(ms_world_model *wm, const ms_sink *sink)
{
    wm->sink = sink;
}

void ms_world_model_set_call(ms_world_model *wm, size_t call)
{
    wm->call = call;
}

/* What a hook did to one module, for the sink. */
static void report_change(ms_world_model *wm, size_t m, size_t module, const float *w)
{
    wm->changes++;
    if (!wm->sink)
        return;
    const ms_module *mod = ms_model_module(wm->model, module);
    size_t n = ms_module_numel(mod), zeros = 0;
    for (size_t i = 0; i < n; i++)
        zeros += w[i] == 0;
    ms_record rec = {.kind = MS_REC_METRIC,
                     .call = wm->call,
                     .modifier = m,
                     .metric = "sparsity",
                     .module = mod->name,
                     .value = n ? (double)zeros / (double)n : 0,
                     .has_value = true};
    ms_sink_emit(wm->sink, &rec);
}

size_t ms_world_model_changes(const ms_world_model *wm)
{
    return wm->changes;
}

const ms_quant_args *ms_world_model_quant(const ms_world_model *wm, size_t module)
{
    if (module >= wm->nmodules || !wm->bits[module])
        return NULL;
    /* a later modifier (SparseGPT after GPTQ) may own it now */
    int o = wm->owner[module];
    return o >= 0 && wm->mods[o].quantizes ? &wm->mods[o].opts.quant : wm->scheme[module];
}

const ms_model *ms_world_model_model(const ms_world_model *wm)
{
    return wm->model;
}

ms_status ms_world_model_error(const ms_world_model *wm, ms_diag *diag)
{
    if (wm->error != MS_OK && diag)
        *diag = wm->error_diag;
    return wm->error;
}

/* Keeps the first failure: the ops cannot return one to the hooks. */
static void fail(ms_world_model *wm, ms_status st, const ms_diag *diag)
{
    if (wm->error != MS_OK || st == MS_OK)
        return;
    wm->error = st;
    if (diag && diag->message[0])
        wm->error_diag = *diag;
    else
        ms_diag_set(&wm->error_diag, st, "E-WORLD", NULL, 0, 0, "%s", ms_status_str(st));
}

/* ---- the calibration forward ---- */

static ms_status keep_inputs(size_t module, const char *name, const float *inputs, size_t rows,
                             size_t cols, void *user, ms_diag *diag)
{
    (void)name;
    (void)diag;
    ms_world_model *wm = user;
    if (!wm->want[module] || wm->inputs[module])
        return MS_OK;
    wm->inputs[module] = malloc(rows * cols * sizeof(float));
    if (!wm->inputs[module])
        return MS_ERR_NOMEM;
    memcpy(wm->inputs[module], inputs, rows * cols * sizeof(float));
    return MS_OK;
}

/* The inputs of the modules the observing modifiers select in `layer` (-1:
 * every layer and the tail), from a forward over the weights as they are
 * now; kept until another layer is asked for or a calibration starts, so
 * modifiers sharing a subgraph see the same inputs, as they share upstream's
 * one forward. */
static ms_status collect(ms_world_model *wm, int layer, ms_diag *diag)
{
    if (wm->cached_layer == layer)
        return MS_OK;
    drop_inputs(wm);
    long long nlayers = ms_model_get_spec(wm->model)->num_layers;
    bool tail = layer < 0 || layer == nlayers - 1;
    memset(wm->want, 0, wm->nmodules * sizeof *wm->want);
    for (size_t m = 0; m < wm->nmods; m++) {
        const wm_modifier *wmod = &wm->mods[m];
        if (!wmod->observing)
            continue;
        for (size_t j = 0; j < wmod->match.count; j++) {
            size_t i = wmod->match.modules[j];
            const ms_module *mod = ms_model_module(wm->model, i);
            if (mod->kind != MS_MOD_LINEAR)
                continue;
            if (layer < 0 || mod->layer == layer || (tail && mod->layer < 0))
                wm->want[i] = true;
        }
    }
    /* SmoothQuant observes the norm outputs: the inputs of q_proj and gate_proj */
    for (size_t i = 0; i < wm->nmodules; i++) {
        const ms_module *mod = ms_model_module(wm->model, i);
        if (mod->kind == MS_MOD_LINEAR && (layer < 0 || mod->layer == layer))
            for (size_t m = 0; m < wm->nmods; m++)
                if (wm->mods[m].observing && wm->mods[m].kind == KIND_SMOOTHQUANT)
                    wm->want[i] = true;
    }
    ms_forward *fw = NULL;
    ms_status st = ms_forward_new(wm->model, &wm->calib, wm->pool, &fw, diag);
    long long last = layer < 0 ? nlayers - 1 : layer;
    for (long long l = 0; st == MS_OK && l <= last; l++)
        st = ms_forward_layer(fw, (size_t)l, l >= (layer < 0 ? 0 : layer) ? keep_inputs : NULL, wm,
                              diag);
    if (st == MS_OK && tail)
        st = ms_forward_logits(fw, keep_inputs, wm, NULL, diag);
    ms_forward_free(fw);
    if (st != MS_OK) {
        drop_inputs(wm);
        return st;
    }
    wm->cached_layer = layer;
    return MS_OK;
}

/* ---- compression ---- */

static void set_note(ms_world_model *wm, size_t module, const char *what, const ms_diag *d)
{
    free(wm->note[module]);
    size_t len = strlen(what) + strlen(d->message) + 3;
    wm->note[module] = malloc(len);
    if (wm->note[module])
        snprintf(wm->note[module], len, "%s: %s", what, d->message);
}

/* Runs the modifier's kernel on one module's weight and writes the result. */
static ms_status compress_module(ms_world_model *wm, size_t m, size_t module, const char *what)
{
    wm_modifier *wmod = &wm->mods[m];
    const ms_module *mod = ms_model_module(wm->model, module);
    size_t rows = mod->shape[0], cols = mod->shape[1];
    ms_apply_opts opts = wmod->opts;
    if (wmod->kind == KIND_GPTQ && !wmod->quantizes) {
        /* gptq/base.py on_start: the modules a scheme was attached to, by
         * this modifier or one before it */
        if (!wm->scheme[module])
            return MS_OK;
        opts.quant = *wm->scheme[module];
    }
    bool needs = ms_apply_op_needs_calib(opts.op);
    if (needs && !wm->inputs[module])
        return MS_OK; /* no calibration input reached it: upstream skips it too */
    float *w = malloc(rows * cols * sizeof *w);
    if (!w)
        return MS_ERR_NOMEM;
    ms_model_weight_read(wm->model, module, w);
    ms_apply_result res = {0};
    ms_diag d;
    ms_diag_clear(&d);
    ms_status st = ms_apply_check(&opts, &d);
    if (st == MS_OK)
        st = ms_apply_tensor(wm->pool, &opts, mod->name, w, rows, cols,
                             needs ? wm->inputs[module] : NULL, wm->calib.batch * wm->calib.seq,
                             wm->calib.batch, &res, &d);
    free(w);
    if (st == MS_ERR_INVALID) {
        /* a scheme that does not fit this module's shape leaves it as it is */
        set_note(wm, module, what, &d);
        return MS_OK;
    }
    if (st != MS_OK) {
        fail(wm, st, &d);
        return st;
    }
    ms_model_weight_write(wm->model, module, res.weight);
    report_change(wm, m, module, res.weight);
    wm->owner[module] = (int)m;
    if (wmod->quantizes || wmod->kind == KIND_GPTQ)
        wm->bits[module] = opts.quant.num_bits;
    ms_apply_result_free(&res);
    return MS_OK;
}

static bool find_in_layer(const ms_world_model *wm, int layer, const char *suffix, size_t *out)
{
    for (size_t i = 0; i < wm->nmodules; i++) {
        const ms_module *mod = ms_model_module(wm->model, i);
        size_t n = strlen(mod->name), s = strlen(suffix);
        if (mod->layer == layer && n > s && !strcmp(mod->name + n - s, suffix)) {
            *out = i;
            return true;
        }
    }
    return false;
}

/* Smooths `norm` into the Linears that read its output (the first of them
 * carries the observed inputs). */
static ms_status smooth(ms_world_model *wm, size_t m, int layer, const char *norm_name,
                        const char *const *linears, size_t nlin)
{
    size_t norm, lin[3];
    wm_modifier *wmod = &wm->mods[m];
    if (!find_in_layer(wm, layer, norm_name, &norm))
        return MS_OK;
    /* each norm once per calibration: calibration end smooths only the rest */
    size_t slot = 0;
    while (slot < wmod->match.count && wmod->match.modules[slot] != norm)
        slot++;
    if (slot == wmod->match.count || wmod->done[slot])
        return MS_OK;
    wmod->done[slot] = true;
    for (size_t k = 0; k < nlin; k++)
        if (!find_in_layer(wm, layer, linears[k], &lin[k]))
            return MS_OK;
    const float *x = wm->inputs[lin[0]];
    if (!x)
        return MS_OK;
    size_t ch = ms_model_module(wm->model, norm)->shape[0];
    size_t rows = wm->calib.batch * wm->calib.seq;
    float *mn = malloc(ch * sizeof *mn), *mx = malloc(ch * sizeof *mx);
    float *s = malloc(ch * sizeof *s), *nw = malloc(ch * sizeof *nw);
    ms_matrix bal[3] = {{0}};
    ms_status st = mn && mx && s && nw ? MS_OK : MS_ERR_NOMEM;
    ms_diag d;
    ms_diag_clear(&d);
    for (size_t k = 0; st == MS_OK && k < nlin; k++) {
        const ms_module *mod = ms_model_module(wm->model, lin[k]);
        st = ms_matrix_init(&bal[k], mod->shape[0], mod->shape[1], &d);
        if (st == MS_OK)
            ms_model_weight_read(wm->model, lin[k], bal[k].data);
    }
    if (st == MS_OK)
        st = ms_smoothquant_observe(x, rows, ch, mn, mx, true, &d);
    if (st == MS_OK)
        st = ms_smoothquant_scales(mn, mx, ch, bal, nlin, wm->mods[m].alpha, s, &d);
    if (st == MS_OK) {
        ms_model_weight_read(wm->model, norm, nw);
        st = ms_smoothquant_fold(s, ch, nw, NULL, bal, nlin, &d);
    }
    if (st == MS_OK) {
        ms_model_weight_write(wm->model, norm, nw);
        report_change(wm, m, norm, nw);
        wm->owner[norm] = (int)m;
        for (size_t k = 0; k < nlin; k++) {
            ms_model_weight_write(wm->model, lin[k], bal[k].data);
            report_change(wm, m, lin[k], bal[k].data);
            wm->owner[lin[k]] = (int)m;
        }
    }
    for (size_t k = 0; k < nlin; k++)
        free(bal[k].data);
    free(mn);
    free(mx);
    free(s);
    free(nw);
    if (st != MS_OK)
        fail(wm, st, &d);
    return st;
}

/* Compresses what modifier `m` selects in `layer` (-1: everywhere) and has
 * not compressed yet in this calibration. */
static void compress_layer(ms_world_model *wm, size_t m, int layer, const char *what)
{
    wm_modifier *wmod = &wm->mods[m];
    long long nlayers = ms_model_get_spec(wm->model)->num_layers;
    bool data = wmod->how != MS_WORLD_NO_DATA;
    if (wmod->kind == KIND_NONE || wmod->kind == KIND_MAGNITUDE)
        return;
    bool left = false;
    for (size_t j = 0; j < wmod->match.count && !left; j++) {
        const ms_module *mod = ms_model_module(wm->model, wmod->match.modules[j]);
        bool works_on = mod->kind == MS_MOD_LINEAR || wmod->kind == KIND_SMOOTHQUANT;
        left = works_on && !wmod->done[j] &&
               (layer < 0 || mod->layer == layer || (layer == nlayers - 1 && mod->layer < 0));
    }
    if (!left)
        return; /* calibration end after a layerwise run: no forward needed */
    if (data && wmod->kind != KIND_QUANT) {
        ms_diag d;
        ms_diag_clear(&d);
        ms_status st = collect(wm, layer, &d);
        if (st != MS_OK) {
            fail(wm, st, &d);
            return;
        }
    } else if (wmod->kind != KIND_QUANT) {
        return; /* no data: nothing observed, nothing to compress */
    }
    if (wmod->kind == KIND_SMOOTHQUANT) {
        static const char *const attn[] = {".q_proj", ".k_proj", ".v_proj"};
        static const char *const mlp[] = {".gate_proj", ".up_proj"};
        for (long long l = 0; l < nlayers; l++) {
            if (layer >= 0 && l != layer)
                continue;
            if (smooth(wm, m, (int)l, ".input_layernorm", attn, 3) != MS_OK ||
                smooth(wm, m, (int)l, ".post_attention_layernorm", mlp, 2) != MS_OK)
                return;
        }
        /* the inputs stay: a modifier after it in this subgraph compresses
         * with what the subgraph's one forward saw, as upstream's hooks did */
        return;
    }
    if (wmod->kind == KIND_QUANT && !wmod->quantizes)
        return;
    bool tail = layer < 0 || layer == nlayers - 1;
    for (size_t j = 0; j < wmod->match.count; j++) {
        size_t i = wmod->match.modules[j];
        const ms_module *mod = ms_model_module(wm->model, i);
        if (wmod->done[j] || mod->kind != MS_MOD_LINEAR)
            continue;
        if (!(layer < 0 || mod->layer == layer || (tail && mod->layer < 0)))
            continue;
        wmod->done[j] = true;
        if (compress_module(wm, m, i, what) != MS_OK)
            return;
    }
}

/* ---- the ops ---- */

static void op_attach(void *self, void *state, size_t modifier)
{
    ms_world_model *wm = self;
    if (modifier < wm->nmods && wm->mods[modifier].quantizes) {
        const wm_modifier *wmod = &wm->mods[modifier];
        for (size_t j = 0; j < wmod->match.count; j++)
            if (ms_model_module(wm->model, wmod->match.modules[j])->kind == MS_MOD_LINEAR)
                wm->scheme[wmod->match.modules[j]] = &wmod->opts.quant;
    }
    size_t n;
    memcpy(&n, state, sizeof n);
    n++;
    memcpy(state, &n, sizeof n);
}

static size_t op_attached(const void *self, const void *state)
{
    (void)self;
    size_t n;
    memcpy(&n, state, sizeof n);
    return n;
}

static void op_apply_mask(void *self, void *state, size_t modifier, double sparsity)
{
    (void)state;
    ms_world_model *wm = self;
    if (modifier >= wm->nmods || wm->mods[modifier].kind != KIND_MAGNITUDE)
        return;
    wm_modifier *wmod = &wm->mods[modifier];
    wmod->opts.prune.sparsity = sparsity < 0 ? 0 : sparsity > 1 ? 1 : sparsity;
    for (size_t j = 0; j < wmod->match.count; j++) {
        size_t i = wmod->match.modules[j];
        if (ms_model_module(wm->model, i)->ndim == 2 &&
            compress_module(wm, modifier, i, "MagnitudePruningModifier") != MS_OK)
            return;
    }
}

static void op_observe(void *self, void *state, size_t modifier)
{
    (void)state;
    ms_world_model *wm = self;
    if (modifier >= wm->nmods)
        return;
    wm_modifier *wmod = &wm->mods[modifier];
    wmod->observing = true;
    wmod->sequential = 0;
    if (wmod->done)
        memset(wmod->done, 0, wmod->match.count * sizeof *wmod->done);
    drop_inputs(wm);
}

static const char *kind_name(mod_kind k)
{
    static const char *const names[] = {"",
                                        "MagnitudePruningModifier",
                                        "GPTQModifier",
                                        "SparseGPTModifier",
                                        "WandaPruningModifier",
                                        "QuantizationModifier",
                                        "SmoothQuantModifier"};
    return names[k];
}

static void op_sequential(void *self, void *state, size_t modifier)
{
    (void)state;
    ms_world_model *wm = self;
    if (modifier >= wm->nmods || !wm->mods[modifier].observing || wm->error != MS_OK)
        return;
    wm_modifier *wmod = &wm->mods[modifier];
    wmod->sequential++;
    if (wmod->how != MS_WORLD_LAYERWISE) {
        compress_layer(wm, modifier, -1, kind_name(wmod->kind));
        return;
    }
    /* the first subgraph ends before decoder layer 0 */
    long long layer = (long long)wmod->sequential - 2;
    if (layer >= 0 && layer < ms_model_get_spec(wm->model)->num_layers)
        compress_layer(wm, modifier, (int)layer, kind_name(wmod->kind));
}

static void op_compress(void *self, void *state, size_t modifier)
{
    (void)state;
    ms_world_model *wm = self;
    if (modifier >= wm->nmods || !wm->mods[modifier].observing)
        return;
    if (wm->error == MS_OK)
        compress_layer(wm, modifier, -1, kind_name(wm->mods[modifier].kind));
    wm->mods[modifier].observing = false;
    drop_inputs(wm);
}

static const ms_world_ops model_ops = {
    .name = "model",
    .state_size = sizeof(size_t),
    .attach_quant_scheme = op_attach,
    .quant_schemes_attached = op_attached,
    .apply_mask = op_apply_mask,
    .observe_inputs = op_observe,
    .sequential_epoch_end = op_sequential,
    .compress = op_compress,
};

ms_world ms_world_model_world(ms_world_model *wm)
{
    return (ms_world){.ops = &model_ops, .self = wm};
}

/* ---- results ---- */

ms_status ms_world_model_rows(const ms_world_model *wm, ms_world_module_row **rows, size_t *n,
                              ms_diag *diag)
{
    (void)diag;
    *rows = NULL;
    *n = 0;
    size_t count = 0, max = 0;
    for (size_t i = 0; i < wm->nmodules; i++) {
        const ms_module *mod = ms_model_module(wm->model, i);
        if (mod->kind == MS_MOD_LINEAR) {
            count++;
            size_t k = ms_module_numel(mod);
            max = k > max ? k : max;
        }
    }
    ms_world_module_row *out = calloc(count ? count : 1, sizeof *out);
    float *w = malloc((max ? max : 1) * sizeof *w), *w0 = malloc((max ? max : 1) * sizeof *w0);
    if (!out || !w || !w0) {
        free(out);
        free(w);
        free(w0);
        return MS_ERR_NOMEM;
    }
    size_t r = 0;
    for (size_t i = 0; i < wm->nmodules; i++) {
        const ms_module *mod = ms_model_module(wm->model, i);
        if (mod->kind != MS_MOD_LINEAR)
            continue;
        size_t k = ms_module_numel(mod);
        ms_model_weight_read(wm->model, i, w);
        ms_model_weight_read(wm->base, i, w0);
        double diff = 0, norm = 0;
        size_t zeros = 0;
        for (size_t j = 0; j < k; j++) {
            double e = (double)w[j] - w0[j];
            diff += e * e;
            norm += (double)w0[j] * w0[j];
            zeros += w[j] == 0;
        }
        out[r++] = (ms_world_module_row){
            .name = mod->name,
            .class_name = mod->class_name,
            .owner = wm->owner[i],
            .sparsity = k ? (double)zeros / (double)k : 0,
            .bits = wm->bits[i],
            .rel_error = norm > 0 ? sqrt(diff / norm) : sqrt(diff),
            .note = wm->note[i],
        };
    }
    free(w);
    free(w0);
    *rows = out;
    *n = count;
    return MS_OK;
}

ms_status ms_world_model_evaluate(ms_world_model *wm, ms_world_metrics *out, ms_diag *diag)
{
    memset(out, 0, sizeof *out);
    size_t vocab = (size_t)ms_model_get_spec(wm->model)->vocab_size;
    ms_tokens held;
    ms_status st =
        ms_tokens_random(wm->seed + 1, wm->calib.batch, wm->calib.seq, vocab, &held, diag);
    if (st != MS_OK)
        return st;
    size_t tokens = held.batch * held.seq;
    float *lc = malloc(tokens * vocab * sizeof *lc), *lb = malloc(tokens * vocab * sizeof *lb);
    st = lc && lb ? MS_OK : MS_ERR_NOMEM;
    if (st == MS_OK)
        st = ms_forward_run(wm->model, &held, wm->pool, NULL, NULL, lc, diag);
    if (st == MS_OK)
        st = ms_forward_run(wm->base, &held, wm->pool, NULL, NULL, lb, diag);
    if (st == MS_OK) {
        double nll = 0, nll_base = 0, kl = 0;
        size_t agree = 0, predicted = 0;
        for (size_t t = 0; t < tokens; t++) {
            const float *c = lc + t * vocab, *b = lb + t * vocab;
            double mc = c[0], mb = b[0];
            size_t ac = 0, ab = 0;
            for (size_t v = 1; v < vocab; v++) {
                if (c[v] > mc)
                    mc = c[v], ac = v;
                if (b[v] > mb)
                    mb = b[v], ab = v;
            }
            double zc = 0, zb = 0;
            for (size_t v = 0; v < vocab; v++) {
                zc += exp(c[v] - mc);
                zb += exp(b[v] - mb);
            }
            double lzc = mc + log(zc), lzb = mb + log(zb);
            for (size_t v = 0; v < vocab; v++) {
                double pb = exp(b[v] - lzb);
                kl += pb * ((b[v] - lzb) - (c[v] - lzc));
            }
            agree += ac == ab;
            /* next-token loss within each sequence */
            if ((t + 1) % held.seq) {
                size_t next = (size_t)held.ids[t + 1];
                nll += lzc - c[next];
                nll_base += lzb - b[next];
                predicted++;
            }
        }
        out->perplexity = exp(nll / (double)(predicted ? predicted : 1));
        out->perplexity_base = exp(nll_base / (double)(predicted ? predicted : 1));
        out->kl = kl / (double)tokens;
        out->top1 = (double)agree / (double)tokens;
    }
    free(lc);
    free(lb);
    ms_tokens_free(&held);
    return st;
}
