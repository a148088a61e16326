#include "world_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../kernels/apply.h"
#include "../kernels/awq.h"
#include "../kernels/matrix.h"
#include "../kernels/owl.h"
#include "../kernels/pool.h"
#include "../kernels/smoothquant.h"
#include "../model/forward.h"
#include "../util/quant_words.h"
#include "model_errors.h"

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

/* The weights and input activations of a compressed-tensors preset name,
 * for the presets whose weights are int or fp8 (quant_scheme.py). */
static bool preset_scheme(const char *name, wm_group *g)
{
    enum { NONE, TOK8, FP8_TENSOR, FP8_TOK, FP8_GRP };
    static const struct {
        const char *name;
        ms_quant_args args;
        int input;
    } presets[] = {
        {"W4A16", {4, MS_QUANT_INT, true, MS_QUANT_GROUP, 128, {0, 0}}, NONE},
        {"W4A16_ASYM", {4, MS_QUANT_INT, false, MS_QUANT_GROUP, 128, {0, 0}}, NONE},
        {"W8A16", {8, MS_QUANT_INT, true, MS_QUANT_GROUP, 128, {0, 0}}, NONE},
        {"W8A8", {8, MS_QUANT_INT, true, MS_QUANT_CHANNEL, 0, {0, 0}}, TOK8},
        {"INT8", {8, MS_QUANT_INT, true, MS_QUANT_CHANNEL, 0, {0, 0}}, TOK8},
        {"W4A8", {4, MS_QUANT_INT, true, MS_QUANT_GROUP, 128, {0, 0}}, TOK8},
        {"FP8", {8, MS_QUANT_FLOAT, true, MS_QUANT_TENSOR, 0, {0, 0}}, FP8_TENSOR},
        {"FP8_DYNAMIC", {8, MS_QUANT_FLOAT, true, MS_QUANT_CHANNEL, 0, {0, 0}}, FP8_TOK},
        {"FP8_BLOCK", {8, MS_QUANT_FLOAT, true, MS_QUANT_BLOCK, 0, {128, 128}}, FP8_GRP},
    };
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (strcasecmp(name, presets[i].name))
            continue;
        *g = (wm_group){.has_weights = true, .weights = presets[i].args};
        int in = presets[i].input;
        g->has_input = in != NONE;
        g->input = (ms_act_args){.q = {8,
                                       in == TOK8 ? MS_QUANT_INT : MS_QUANT_FLOAT,
                                       true,
                                       in == FP8_TENSOR ? MS_QUANT_TENSOR
                                       : in == FP8_GRP  ? MS_QUANT_GROUP
                                                        : MS_QUANT_TOKEN,
                                       in == FP8_GRP ? 128 : 0,
                                       {0, 0}},
                                 .dynamic = in != FP8_TENSOR,
                                 /* FP8's input observer is static_minmax (quant_scheme.py FP8) */
                                 .observer = MS_ACT_OBS_STATIC_MINMAX,
                                 .averaging_constant = 0.01f};
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

/* One QuantizationScheme map (a config group, or `scheme` written out):
 * its weights, input_activations and output_activations. */
static ms_status group_args(const ms_node *g, const char *file, wm_group *out,
                            const ms_node **actorder, ms_diag *diag)
{
    *out = (wm_group){0};
    const ms_node *w = ms_node_get(g, "weights");
    const ms_node *in = ms_node_get(g, "input_activations");
    const ms_node *o = ms_node_get(g, "output_activations");
    ms_status st = MS_OK;
    if (w && w->kind == MS_NODE_MAP) {
        out->has_weights = true;
        st = weights_args(w, file, &out->weights, diag);
        if (actorder && !*actorder)
            *actorder = ms_node_get(w, "actorder");
    }
    if (st == MS_OK && in && !ms_node_is_null(in)) {
        out->has_input = true;
        st = ms_act_args_read(in, file, "input_activations", &out->input, diag);
    }
    if (st == MS_OK && o && !ms_node_is_null(o)) {
        out->has_output = true;
        st = ms_act_args_read(o, file, "output_activations", &out->output, diag);
        /* a static output observer's qparams are only read in the
         * calibration hook, which quantizes with the scale as initialized
         * (calibration.py calibrate_output_hook); the world refuses it */
        if (st == MS_OK && !out->output.dynamic)
            st = ms_diag_set(diag, MS_ERR_INVALID, "E-WORLD-SCHEME", file, o->line, o->col,
                             "output_activations: static output activations are not applied "
                             "by the model-backed world (dynamic: true is)");
    }
    return st;
}

/* The config groups of a quantizing modifier, as mixin.py
 * resolve_quantization_config builds them (715e1166c~1:
 * src/llmcompressor/modifiers/quantization/quantization/mixin.py:308-359):
 * a preset `scheme` is one group on the modifier's targets, {PRESET:
 * targets, ...} one group per preset, a written-out scheme one group on the
 * modifier's targets, `config_groups` one group per entry on its own
 * targets. `gtargets[k]` is group k's targets (NULL: the modifier's);
 * weights.actorder of the first group with one goes to `actorder` (may be
 * NULL). */
static ms_status read_groups(const ms_node *args, const char *file, wm_modifier *wmod,
                             const ms_node ***gtargets, const ms_node **actorder, ms_diag *diag)
{
    const ms_node *scheme = ms_node_get(args, "scheme");
    const ms_node *groups = ms_node_get(args, "config_groups");
    const ms_node *kv = ms_node_get(args, "kv_cache_scheme");
    if (kv && !ms_node_is_null(kv)) {
        /* mixin.py resolve_quantization_config passes it to the config;
         * apply.py _apply_kv_cache_scheme puts it on every attention */
        ms_status st = ms_act_args_read(kv, file, "kv_cache_scheme", &wmod->kv, diag);
        if (st != MS_OK)
            return st;
        wmod->has_kv = true;
    }
    size_t n = 0;
    if (scheme && ms_node_is_string(scheme))
        n = 1;
    else if (scheme && scheme->kind == MS_NODE_MAP &&
             (ms_node_get(scheme, "weights") || ms_node_get(scheme, "input_activations")))
        n = 1;
    else if (scheme && scheme->kind == MS_NODE_MAP)
        n = scheme->count;
    else if (!scheme && groups && groups->kind == MS_NODE_MAP)
        n = groups->count;
    if (!n)
        return MS_OK;
    wmod->groups = calloc(n, sizeof *wmod->groups);
    *gtargets = calloc(n, sizeof **gtargets);
    if (!wmod->groups || !*gtargets)
        return MS_ERR_NOMEM;
    wmod->ngroups = n;
    ms_status st = MS_OK;
    for (size_t k = 0; st == MS_OK && k < n; k++) {
        wm_group *g = &wmod->groups[k];
        const char *preset = NULL;
        const ms_node *at = scheme;
        if (scheme && ms_node_is_string(scheme)) {
            preset = scheme->value;
        } else if (scheme && n == 1 && scheme->kind == MS_NODE_MAP &&
                   (ms_node_get(scheme, "weights") || ms_node_get(scheme, "input_activations"))) {
            st = group_args(scheme, file, g, actorder, diag);
        } else if (scheme) {
            preset = scheme->keys[k]->value;
            (*gtargets)[k] = scheme->items[k];
            at = scheme->keys[k];
        } else {
            const ms_node *gn = groups->items[k];
            if (gn->kind != MS_NODE_MAP)
                return ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE", file, gn->line, gn->col,
                                   "config group '%s' must be a map", groups->keys[k]->value);
            st = group_args(gn, file, g, actorder, diag);
            (*gtargets)[k] = ms_node_get(gn, "targets");
        }
        if (preset && !preset_scheme(preset, g)) {
            st = ms_diag_set(diag, MS_ERR_INVALID, "E-WORLD-SCHEME", file, at->line, at->col,
                             "the model-backed world does not apply scheme '%s'", preset);
            ms_diag_hint(diag, "it applies W4A16, W4A16_ASYM, W8A16, W8A8, INT8, W4A8, FP8, "
                               "FP8_DYNAMIC, FP8_BLOCK and written-out int/fp8 weights");
        }
        if (g->has_weights && !wmod->quantizes) {
            wmod->quantizes = true;
            wmod->opts.quant = g->weights;
        }
        wmod->static_inputs = wmod->static_inputs || (g->has_input && !g->input.dynamic);
    }
    return st;
}

/* One distinct target of a modifier's config groups. */
typedef struct group_target {
    const char *name;
    size_t group; /* the last group naming it: target_to_scheme's value */
    ms_match hits;
} group_target;

static int target_order(const void *a, const void *b)
{
    /* match.py match_targets: sorted by ("re:" in x, x) */
    const group_target *x = *(const group_target *const *)a, *y = *(const group_target *const *)b;
    bool rx = strstr(x->name, "re:") != NULL, ry = strstr(y->name, "re:") != NULL;
    return rx != ry ? (rx ? 1 : -1) : strcmp(x->name, y->name);
}

static bool hit(const ms_match *m, size_t module)
{
    for (size_t i = 0; i < m->count; i++)
        if (m->modules[i] == module)
            return true;
    return false;
}

/* apply.py apply_quantization_config: every module a group's targets
 * select (the modifier's ignore applied) gets the scheme of the first of
 * its matching targets in match_targets' order (exact names, then regexes,
 * each sorted as strings, then class names; compressed-tensors HEAD
 * src/compressed_tensors/utils/match.py:116-151 and
 * quantization/lifecycle/apply.py:130-150, 239-246), the scheme being the
 * last group that lists the target. Fills wmod->match and module_group. */
static ms_status resolve_groups(ms_world_model *wm, wm_modifier *wmod, const ms_node **gtargets,
                                const char *const *mod_t, size_t mod_nt, const char *file,
                                const ms_node *ignore, ms_diag *diag)
{
    const char **all = NULL, **ig = NULL;
    size_t nall = 0, ni = 0;
    group_target *tg = NULL;
    group_target **sorted = NULL;
    ms_status st = read_names(ignore, file, "ignore", &ig, &ni, diag);
    for (size_t k = 0; st == MS_OK && k < wmod->ngroups; k++) {
        const char **t = NULL;
        size_t nt = 0;
        if (gtargets[k])
            st = read_names(gtargets[k], file, "targets", &t, &nt, diag);
        const char *const *names = gtargets[k] ? t : mod_t;
        size_t count = gtargets[k] ? nt : mod_nt;
        for (size_t j = 0; st == MS_OK && j < count; j++) {
            size_t u = 0;
            while (u < nall && strcmp(tg[u].name, names[j]))
                u++;
            if (u == nall) {
                group_target *grown = realloc(tg, (nall + 1) * sizeof *grown);
                const char **ga = realloc(all, (nall + 1) * sizeof *ga);
                if (grown)
                    tg = grown;
                if (ga)
                    all = ga;
                if (!grown || !ga) {
                    st = MS_ERR_NOMEM;
                    break;
                }
                tg[nall] = (group_target){.name = names[j]};
                all[nall++] = names[j];
            }
            tg[u].group = k;
        }
        free(t);
    }
    ms_diag md;
    ms_diag_clear(&md);
    if (st == MS_OK)
        st = ms_model_match(wm->model, all, nall, ig, ni, &wmod->match, &md);
    for (size_t u = 0; st == MS_OK && u < nall; u++) {
        ms_diag quiet;
        ms_diag_clear(&quiet);
        st = ms_model_match(wm->model, &tg[u].name, 1, NULL, 0, &tg[u].hits, &quiet);
    }
    if (st == MS_OK) {
        sorted = malloc((nall ? nall : 1) * sizeof *sorted);
        wmod->module_group = calloc(wm->nmodules ? wm->nmodules : 1, sizeof *wmod->module_group);
        if (!sorted || !wmod->module_group)
            st = MS_ERR_NOMEM;
    }
    if (st == MS_OK) {
        for (size_t u = 0; u < nall; u++)
            sorted[u] = &tg[u];
        qsort(sorted, nall, sizeof *sorted, target_order);
    }
    for (size_t j = 0; st == MS_OK && j < wmod->match.count; j++) {
        size_t i = wmod->match.modules[j];
        const ms_module *mod = ms_model_module(wm->model, i);
        const group_target *first = NULL;
        /* names first (exact or regex), then classes */
        for (size_t u = 0; !first && u < nall; u++) {
            const char *t = sorted[u]->name;
            bool name = !strncmp(t, "re:", 3) ? hit(&sorted[u]->hits, i) : !strcmp(t, mod->name);
            if (name)
                first = sorted[u];
        }
        for (size_t u = 0; !first && u < nall; u++)
            if (strncmp(sorted[u]->name, "re:", 3) && hit(&sorted[u]->hits, i))
                first = sorted[u];
        if (first && mod->kind == MS_MOD_LINEAR)
            wmod->module_group[i] = &wmod->groups[first->group];
    }
    if (st != MS_OK && md.message[0])
        *diag = md;
    for (size_t u = 0; u < nall; u++)
        ms_match_free(&tg[u].hits);
    free(tg);
    free(sorted);
    free(all);
    free(ig);
    return st;
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

/* awq/mappings.py default_mappings: what get_layer_mappings_from_model gives
 * LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM. */
static const char *const awq_default_smooth[] = {"re:.*input_layernorm$", "re:.*v_proj$",
                                                 "re:.*post_attention_layernorm$", "re:.*up_proj$"};
static const char *const awq_default_balance[][3] = {
    {"re:.*q_proj$", "re:.*k_proj$", "re:.*v_proj$"},
    {"re:.*o_proj$", NULL, NULL},
    {"re:.*gate_proj$", "re:.*up_proj$", NULL},
    {"re:.*down_proj$", NULL, NULL},
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* Resolves one mapping layer by layer as _set_resolved_mappings does: one
 * smooth module per layer (more is upstream's ValueError), the balance
 * Linears of that layer in pattern order; a layer without balance layers,
 * and v_proj -> o_proj where the widths differ (GQA), are skipped. */
static ms_status awq_resolve(ms_world_model *wm, wm_modifier *wmod, const char *smooth,
                             const char *const *balance, size_t nb, const char *file,
                             const ms_node *at, ms_diag *diag)
{
    ms_match sm = {0}, bm[AWQ_MAX_BALANCE] = {{0}};
    ms_diag md;
    ms_diag_clear(&md);
    ms_status st = nb <= AWQ_MAX_BALANCE ? MS_OK : MS_ERR_INVALID;
    if (st != MS_OK)
        ms_diag_set(&md, st, "E-WORLD-AWQ", NULL, 0, 0,
                    "a mapping with %zu balance layers; the model-backed world takes up to %d", nb,
                    AWQ_MAX_BALANCE);
    if (st == MS_OK)
        st = ms_model_match(wm->model, &smooth, 1, NULL, 0, &sm, &md);
    for (size_t j = 0; st == MS_OK && j < nb; j++)
        st = ms_model_match(wm->model, &balance[j], 1, NULL, 0, &bm[j], &md);
    long long nlayers = ms_model_get_spec(wm->model)->num_layers;
    for (long long l = 0; st == MS_OK && l < nlayers; l++) {
        awq_map map = {.layer = (int)l};
        size_t found = 0;
        for (size_t i = 0; i < sm.count; i++)
            if (ms_model_module(wm->model, sm.modules[i])->layer == (int)l) {
                if (found++ && st == MS_OK)
                    st = ms_diag_set(
                        &md, MS_ERR_INVALID, "E-WORLD-AWQ", NULL, 0, 0,
                        "AWQ needs to match a single smoothlayer for each mapping but got "
                        "['%s', '%s'] for mapping smooth_layer='%s'",
                        ms_model_module(wm->model, map.smooth)->name,
                        ms_model_module(wm->model, sm.modules[i])->name, smooth);
                else
                    map.smooth = sm.modules[i];
            }
        for (size_t j = 0; st == MS_OK && j < nb; j++)
            for (size_t i = 0; i < bm[j].count; i++) {
                const ms_module *b = ms_model_module(wm->model, bm[j].modules[i]);
                if (b->layer != (int)l)
                    continue;
                if (map.nbalance == AWQ_MAX_BALANCE) {
                    st = ms_diag_set(&md, MS_ERR_INVALID, "E-WORLD-AWQ", NULL, 0, 0,
                                     "mapping smooth_layer='%s' has more than %d balance layers "
                                     "in layer %lld; the model-backed world takes up to %d",
                                     smooth, AWQ_MAX_BALANCE, l, AWQ_MAX_BALANCE);
                    break;
                }
                map.balance[map.nbalance++] = bm[j].modules[i];
            }
        if (st != MS_OK || !found || !map.nbalance)
            continue;
        const ms_module *s = ms_model_module(wm->model, map.smooth);
        bool compatible = true;
        for (size_t j = 0; j < map.nbalance; j++) {
            const ms_module *b = ms_model_module(wm->model, map.balance[j]);
            if (s->kind == MS_MOD_LINEAR && b->kind == MS_MOD_LINEAR &&
                ends_with(b->name, ".o_proj") && ends_with(s->name, ".v_proj") &&
                s->shape[0] != b->shape[1])
                compatible = false;
        }
        if (!compatible)
            continue;
        awq_map *grown = realloc(wmod->maps, (wmod->nmaps + 1) * sizeof *grown);
        if (!grown) {
            st = MS_ERR_NOMEM;
            break;
        }
        wmod->maps = grown;
        wmod->maps[wmod->nmaps++] = map;
    }
    ms_match_free(&sm);
    for (size_t j = 0; j < nb && j < AWQ_MAX_BALANCE; j++)
        ms_match_free(&bm[j]);
    if (st == MS_ERR_INVALID)
        return ms_diag_set(diag, st, md.code, file, at->line, at->col, "AWQModifier: %s",
                           md.message);
    return st;
}

/* AWQModifier: duo_scaling, n_grid and its mappings (default: Llama's). */
static ms_status read_awq(ms_world_model *wm, const ms_recipe_entry *e, const char *file,
                          wm_modifier *wmod, ms_diag *diag)
{
    const ms_node *args = e->args;
    double d;
    wmod->kind = KIND_AWQ;
    wmod->duo = MS_AWQ_DUO_ON;
    wmod->n_grid = MS_AWQ_DEFAULT_GRID;
    const ms_node *duo = ms_node_get(args, "duo_scaling");
    bool b;
    if (duo && ms_node_as_bool(duo, &b))
        wmod->duo = b ? MS_AWQ_DUO_ON : MS_AWQ_DUO_OFF;
    else if (duo && ms_node_is_string(duo) && !strcmp(duo->value, "both"))
        wmod->duo = MS_AWQ_DUO_BOTH;
    const ms_node *grid = ms_node_get(args, "n_grid");
    if (grid && ms_node_as_double(grid, &d) && d >= 0)
        wmod->n_grid = (size_t)d;
    ms_diag gd;
    ms_diag_clear(&gd);
    size_t npoints = 0;
    if (ms_awq_grid(wmod->duo, wmod->n_grid, NULL, NULL, &npoints, &gd) != MS_OK) {
        const ms_node *at = grid ? grid : e->type_key;
        return ms_diag_set(diag, MS_ERR_INVALID, "E-WORLD-AWQ", file, at->line, at->col,
                           "AWQModifier: %s", gd.message);
    }
    const ms_node *maps = ms_node_get(args, "mappings");
    ms_status st = MS_OK;
    if (!maps || ms_node_is_null(maps)) {
        for (size_t k = 0; st == MS_OK && k < 4; k++) {
            size_t nb = 0;
            while (nb < 3 && awq_default_balance[k][nb])
                nb++;
            st = awq_resolve(wm, wmod, awq_default_smooth[k], awq_default_balance[k], nb, file,
                             e->type_key, diag);
        }
    } else if (maps->kind == MS_NODE_SEQ) {
        for (size_t k = 0; st == MS_OK && k < maps->count; k++) {
            const ms_node *mp = maps->items[k];
            const ms_node *sl = ms_node_get(mp, "smooth_layer");
            const ms_node *hook = ms_node_get(mp, "activation_hook_target");
            const char **bl = NULL;
            size_t nb = 0;
            if (!sl || !ms_node_is_string(sl))
                return ms_diag_set(diag, MS_ERR_INVALID, "E-WORLD-AWQ", file, mp->line, mp->col,
                                   "AWQModifier mapping %zu needs a smooth_layer name", k);
            if (hook && !ms_node_is_null(hook))
                return ms_diag_set(diag, MS_ERR_INVALID, "E-WORLD-AWQ", file, hook->line, hook->col,
                                   "AWQModifier: the model-backed world hooks balance_layers[0] "
                                   "(activation_hook_target must be null); Llama-family blocks "
                                   "need no other");
            st = read_names(ms_node_get(mp, "balance_layers"), file, "balance_layers", &bl, &nb,
                            diag);
            if (st == MS_OK)
                st = awq_resolve(wm, wmod, sl->value, bl, nb, file, mp, diag);
            free(bl);
        }
    }
    if (st != MS_OK)
        return st;
    /* the match is the smooth modules, one per resolved mapping, so that
     * `done` marks mappings */
    wmod->match.modules = malloc((wmod->nmaps ? wmod->nmaps : 1) * sizeof *wmod->match.modules);
    wmod->done = calloc(wmod->nmaps ? wmod->nmaps : 1, sizeof *wmod->done);
    if (!wmod->match.modules || !wmod->done)
        return MS_ERR_NOMEM;
    for (size_t j = 0; j < wmod->nmaps; j++)
        wmod->match.modules[j] = wmod->maps[j].smooth;
    wmod->match.count = wmod->nmaps;
    return MS_OK;
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

/* sgpt_base.py on_initialize / on_start: the sparsity of the target layer
 * holding each selected Linear: one list entry per target layer, or per
 * decoder layer from OWL (filled at calibration start). A Linear inside two
 * target layers takes the later one's, as the later hook registration
 * overwrites it. NULL sparsities: `sparsity` is one number for all. */
static ms_status layer_sparsities(ms_world_model *wm, const ms_recipe_entry *e, const char *file,
                                  wm_modifier *wmod, const char *const *t, size_t nt, ms_diag *diag)
{
    const ms_node *args = e->args;
    const ms_node *sparsity = ms_node_get(args, "sparsity");
    const ms_node *profile = ms_node_get(args, "sparsity_profile");
    double d;
    wmod->owl = profile && ms_node_is_string(profile) && !strcasecmp(profile->value, "owl");
    wmod->owl_m = number(args, "owl_m", &d) ? d : 0;
    wmod->owl_lmbda = number(args, "owl_lmbda", &d) ? d : 0;
    bool listed = sparsity && sparsity->kind == MS_NODE_SEQ;
    if (!listed && !wmod->owl)
        return MS_OK;
    ms_match layers = {0};
    ms_diag md;
    ms_diag_clear(&md);
    ms_status st = ms_model_match(wm->model, t, nt, NULL, 0, &layers, &md);
    long long nlayers = ms_model_get_spec(wm->model)->num_layers;
    size_t want = wmod->owl ? (size_t)nlayers : sparsity->count;
    if (st == MS_OK && layers.count != want) {
        /* upstream's ValueError at initialize (the sparsity_mismatch op):
         * the run stops there, so nothing is pruned at these sparsities */
        ms_match_free(&layers);
        return MS_OK;
    }
    for (size_t k = 0; st == MS_OK && wmod->owl && k < layers.count; k++) {
        const ms_module *lm = ms_model_module(wm->model, layers.modules[k]);
        if (lm->kind != MS_MOD_DECODER_LAYER)
            /* OWL's sparsities are keyed by decoder layer (sgpt_base.py:149 at 0.12) */
            st = ms_diag_set(diag, MS_ERR_INVALID, "E-WORLD-SPARSITY", file, profile->line,
                             profile->col,
                             "KeyError: '%s' (OWL gives a sparsity per decoder layer, and the "
                             "target layers must be those)",
                             lm->name);
    }
    if (st == MS_OK) {
        wmod->slot_sparsity = malloc((wmod->match.count ? wmod->match.count : 1) * sizeof(double));
        if (!wmod->slot_sparsity)
            st = MS_ERR_NOMEM;
    }
    for (size_t j = 0; st == MS_OK && j < wmod->match.count; j++) {
        const char *name = ms_model_module(wm->model, wmod->match.modules[j])->name;
        wmod->slot_sparsity[j] = wmod->opts.prune.sparsity;
        for (size_t k = 0; listed && st == MS_OK && k < layers.count; k++) {
            const char *ln = ms_model_module(wm->model, layers.modules[k])->name;
            size_t len = strlen(ln);
            if (strcmp(name, ln) && len && (strncmp(name, ln, len) || name[len] != '.'))
                continue;
            if (!ms_node_as_double(sparsity->items[k], &wmod->slot_sparsity[j]))
                st = ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE", file, sparsity->items[k]->line,
                                 sparsity->items[k]->col, "sparsity %zu must be a number", k);
        }
    }
    if (st == MS_ERR_INVALID && !diag->message[0])
        ms_diag_set(diag, st, md.code, file, e->type_key->line, e->type_key->col, "%s: %s",
                    e->type_key->value, md.message);
    ms_match_free(&layers);
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
    const ms_node **gtargets = NULL; /* per config group: its targets */
    double d;
    wmod->how = MS_WORLD_LAYERWISE;
    if (!strcmp(type, "MagnitudePruningModifier")) {
        wmod->kind = KIND_MAGNITUDE;
        ms_apply_opts_init(&wmod->opts, MS_APPLY_PRUNE);
        pruning_names = true;
    } else if (!strcmp(type, "ConstantPruningModifier")) {
        wmod->kind = KIND_CONSTANT;
        pruning_names = true;
    } else if (!strcmp(type, "GPTQModifier")) {
        wmod->kind = KIND_GPTQ;
        ms_apply_opts_init(&wmod->opts, MS_APPLY_GPTQ);
        if (number(args, "block_size", &d) && d >= 1)
            wmod->opts.block_size = (size_t)d;
        if (number(args, "dampening_frac", &d))
            wmod->opts.dampening_frac = d;
        const ms_node *scheme_actorder = NULL;
        ms_status st = read_groups(args, file, wmod, &gtargets, &scheme_actorder, diag);
        if (st != MS_OK) {
            free(gtargets);
            return st;
        }
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
        ms_status st = read_groups(args, file, wmod, &gtargets, NULL, diag);
        if (st != MS_OK) {
            free(gtargets);
            return st;
        }
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
        ms_world_sparsity_counts(wm->model, args, &wmod->sparsities, &wmod->sparsity_targets);
        /* sgpt_base.py: targets default to every Linear (lm_head too) */
        sparsity_layers = true;
    } else if (!strcmp(type, "AWQModifier")) {
        return read_awq(wm, e, file, wmod, diag);
    } else if (!strcmp(type, "SmoothQuantModifier") ||
               !strcmp(type, "LogarithmicEqualizationModifier")) {
        wmod->kind = KIND_SMOOTHQUANT;
        wmod->alpha = number(args, "smoothing_strength", &d) ? d : 0.5;
        /* LogarithmicEqualizationModifier is SmoothQuantModifier with
         * algorithm defaulting to log_equalization
         * (logarithmic_equalization/base.py, smoothquant/base.py:108) */
        const ms_node *alg = ms_node_get(args, "algorithm");
        wmod->log_equalization = alg && ms_node_is_string(alg)
                                     ? !strcmp(alg->value, "log_equalization")
                                     : type[0] == 'L';
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
    if (st == MS_OK && wmod->ngroups) {
        st = resolve_groups(wm, wmod, gtargets, t, nt, file, ms_node_get(args, "ignore"), &mdiag);
        if (st != MS_OK && mdiag.message[0])
            ms_diag_set(diag, st, mdiag.code, file, e->type_key->line, e->type_key->col, "%s: %s",
                        type, mdiag.message);
    } else if (st == MS_OK) {
        st = ms_model_match(wm->model, t, nt, ig, sparsity_layers ? 0 : ni, &wmod->match, &mdiag);
        if (st == MS_OK && sparsity_layers)
            st = linears_within(wm->model, ig, ni, &wmod->match, &mdiag);
        if (st != MS_OK)
            /* the match names the target; the recipe's place is the entry's */
            ms_diag_set(diag, st, mdiag.code, file, e->type_key->line, e->type_key->col, "%s: %s",
                        type, mdiag.message);
    }
    if (st == MS_OK && sparsity_layers)
        st = layer_sparsities(wm, e, file, wmod, t, nt, diag);
    if (owned)
        for (size_t i = 0; i < nt; i++)
            free(owned[i]);
    free(owned);
    free(t);
    free(ig);
    free(gtargets);
    if (st == MS_OK && wmod->match.count) {
        wmod->done = calloc(wmod->match.count, sizeof *wmod->done);
        if (!wmod->done)
            st = MS_ERR_NOMEM;
    }
    return st;
}

/* ---- the model and its copy ---- */

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
    wm->stream_layer = -1;
    wm->nmodules = ms_model_module_count(model);
    wm->nmods = ms_recipe_count(recipe);
    wm->owner = malloc(wm->nmodules * sizeof *wm->owner);
    wm->bits = calloc(wm->nmodules, sizeof *wm->bits);
    wm->scheme = calloc(wm->nmodules, sizeof *wm->scheme);
    wm->group = calloc(wm->nmodules, sizeof *wm->group);
    wm->in_scale = calloc(wm->nmodules, sizeof *wm->in_scale);
    wm->in_zp = calloc(wm->nmodules, sizeof *wm->in_zp);
    wm->in_ready = calloc(wm->nmodules, sizeof *wm->in_ready);
    size_t nl = (size_t)ms_model_get_spec(model)->num_layers + 1;
    wm->kv_scale = calloc(2 * nl, sizeof *wm->kv_scale);
    wm->kv_zp = calloc(2 * nl, sizeof *wm->kv_zp);
    wm->kv_ready = calloc(nl, sizeof *wm->kv_ready);
    wm->kv_inputs = calloc(nl, sizeof *wm->kv_inputs);
    wm->note = calloc(wm->nmodules, sizeof *wm->note);
    wm->mask = calloc(wm->nmodules ? wm->nmodules : 1, sizeof *wm->mask);
    wm->qparams = calloc(wm->nmodules ? wm->nmodules : 1, sizeof *wm->qparams);
    wm->inputs = calloc(wm->nmodules, sizeof *wm->inputs);
    wm->want = calloc(wm->nmodules, sizeof *wm->want);
    wm->mods = calloc(wm->nmods ? wm->nmods : 1, sizeof *wm->mods);
    ms_status st = MS_OK;
    if (!wm->owner || !wm->bits || !wm->scheme || !wm->group || !wm->in_scale || !wm->in_zp ||
        !wm->in_ready || !wm->kv_scale || !wm->kv_zp || !wm->kv_ready || !wm->kv_inputs ||
        !wm->note || !wm->mask || !wm->qparams || !wm->inputs || !wm->want || !wm->mods)
        st = MS_ERR_NOMEM;
    for (size_t i = 0; st == MS_OK && i < wm->nmodules; i++)
        wm->owner[i] = -1;
    if (st == MS_OK)
        st = ms_model_clone(model, &wm->base, diag);
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

void ms_world_model_drop_inputs(ms_world_model *wm)
{
    for (size_t i = 0; i < wm->nmodules; i++) {
        float *x = wm->inputs[i];
        if (!x)
            continue;
        for (size_t j = i; j < wm->nmodules; j++)
            if (wm->inputs[j] == x)
                wm->inputs[j] = NULL;
        free(x);
    }
    for (long long l = 0; wm->kv_inputs && l < ms_model_get_spec(wm->model)->num_layers; l++) {
        free(wm->kv_inputs[l]);
        wm->kv_inputs[l] = NULL;
    }
    wm->seen = NULL;
    wm->seen_copy = NULL;
    wm->cached_layer = -2;
}

static void drop_inputs(ms_world_model *wm)
{
    ms_world_model_drop_inputs(wm);
}

void ms_world_model_free(ms_world_model *wm)
{
    if (!wm)
        return;
    for (size_t i = 0; i < wm->nmods; i++) {
        ms_match_free(&wm->mods[i].match);
        free(wm->mods[i].done);
        free(wm->mods[i].maps);
        free(wm->mods[i].slot_sparsity);
        free(wm->mods[i].groups);
        free(wm->mods[i].module_group);
    }
    if (wm->inputs)
        drop_inputs(wm);
    for (size_t i = 0; wm->note && i < wm->nmodules; i++)
        free(wm->note[i]);
    free(wm->mods);
    free(wm->owner);
    free(wm->bits);
    free(wm->scheme);
    free(wm->group);
    free(wm->in_scale);
    free(wm->in_zp);
    free(wm->in_ready);
    free(wm->kv_scale);
    free(wm->kv_zp);
    free(wm->kv_ready);
    free(wm->kv_inputs);
    free(wm->act_buf);
    free(wm->note);
    free(wm->mask);
    free(wm->qparams);
    for (size_t i = 0; i < wm->nkept; i++)
        free(wm->kept[i]);
    free(wm->kept);
    free(wm->inputs);
    free(wm->want);
    free(wm->stream);
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
void wm_report_change(ms_world_model *wm, size_t m, size_t module, const float *w)
{
    wm->changes++;
    wm->qparams[module] = NULL;
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

void ms_world_model_set_stop(ms_world_model *wm, const atomic_bool *stop)
{
    wm->stop = stop;
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
    if (o >= 0 && wm->mods[o].module_group && wm->mods[o].module_group[module])
        return &wm->mods[o].module_group[module]->weights;
    return o >= 0 && wm->mods[o].quantizes ? &wm->mods[o].opts.quant : wm->scheme[module];
}

size_t ms_world_model_input_qparam_bytes(const ms_world_model *wm, size_t module, size_t elem)
{
    const wm_group *g = module < wm->nmodules ? wm->group[module] : NULL;
    if (!g || !g->has_input || g->input.dynamic)
        return 0;
    return elem + (g->input.q.symmetric ? 0 : 1);
}

size_t ms_world_model_kv_qparam_bytes(const ms_world_model *wm, size_t elem)
{
    if (!wm->kv || wm->kv->dynamic)
        return 0;
    /* k_scale and v_scale per attention, (1,) each; zero points when
     * asymmetric */
    size_t per = 2 * (elem + (wm->kv->q.symmetric ? 0 : 1));
    return per * (size_t)ms_model_get_spec(wm->model)->num_layers;
}

bool ms_world_model_kv_scale(const ms_world_model *wm, size_t layer, double *k, double *v)
{
    if (!wm->kv || wm->kv->dynamic || layer >= (size_t)ms_model_get_spec(wm->model)->num_layers ||
        !wm->kv_ready[layer])
        return false;
    *k = wm->kv_scale[2 * layer];
    *v = wm->kv_scale[2 * layer + 1];
    return true;
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
    /* Linears observed one after the other on the same buffer see the same
     * values (the forward writes their outputs elsewhere): one copy */
    if (inputs != wm->seen)
        wm->seen_copy = NULL;
    wm->seen = inputs;
    if (!wm->want[module] || wm->inputs[module])
        return MS_OK;
    if (!wm->seen_copy) {
        wm->seen_copy = malloc(rows * cols * sizeof(float));
        if (!wm->seen_copy)
            return MS_ERR_NOMEM;
        memcpy(wm->seen_copy, inputs, rows * cols * sizeof(float));
    }
    wm->inputs[module] = wm->seen_copy;
    return MS_OK;
}

/* The keys and values of a layer after RoPE, as the kv observers see them
 * (calibration.py calibrate_key_hook, calibrate_value_hook). */
static ms_status keep_kv(void *user, size_t layer, float *k, float *v, size_t rows, size_t cols,
                         ms_diag *diag)
{
    (void)diag;
    ms_world_model *wm = user;
    if (!wm->want_kv || wm->kv_inputs[layer])
        return MS_OK;
    wm->kv_inputs[layer] = malloc(2 * rows * cols * sizeof(float));
    if (!wm->kv_inputs[layer])
        return MS_ERR_NOMEM;
    memcpy(wm->kv_inputs[layer], k, rows * cols * sizeof(float));
    memcpy(wm->kv_inputs[layer] + rows * cols, v, rows * cols * sizeof(float));
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
    /* SmoothQuant observes the norm outputs (the inputs of q_proj and
     * gate_proj), AWQ the inputs of each mapping's first balance layer */
    for (size_t i = 0; i < wm->nmodules; i++) {
        const ms_module *mod = ms_model_module(wm->model, i);
        if (mod->kind == MS_MOD_LINEAR && (layer < 0 || mod->layer == layer))
            for (size_t m = 0; m < wm->nmods; m++)
                if (wm->mods[m].observing &&
                    (wm->mods[m].kind == KIND_SMOOTHQUANT || wm->mods[m].kind == KIND_AWQ))
                    wm->want[i] = true;
    }
    wm->want_kv = false;
    for (size_t m = 0; m < wm->nmods; m++)
        wm->want_kv =
            wm->want_kv || (wm->mods[m].observing && wm->mods[m].has_kv && !wm->mods[m].kv.dynamic);
    ms_forward_quant kvq = {.kv = keep_kv, .user = wm};
    ms_forward *fw = NULL;
    long long first = 0, last = layer < 0 ? nlayers - 1 : layer;
    bool resume = layer >= 0 && wm->stream_layer >= 0 && wm->stream_layer <= layer &&
                  ms_model_input_version(wm->model, (size_t)wm->stream_layer) == wm->stream_version;
    ms_status st = resume ? ms_forward_resume(wm->model, &wm->calib, wm->pool,
                                              (size_t)wm->stream_layer, wm->stream, &fw, diag)
                          : ms_forward_new(wm->model, &wm->calib, wm->pool, &fw, diag);
    if (resume)
        first = wm->stream_layer;
    if (st == MS_OK && wm->want_kv)
        ms_forward_set_quant(fw, &kvq);
    size_t stream_n =
        wm->calib.batch * wm->calib.seq * (size_t)ms_model_get_spec(wm->model)->hidden_size;
    for (long long l = first; st == MS_OK && l <= last; l++) {
        if (l == layer) {
            /* the next layer's collect resumes from this layer's input */
            if (!wm->stream)
                wm->stream = malloc(stream_n * sizeof *wm->stream);
            wm->stream_layer = -1;
            if (wm->stream) {
                memcpy(wm->stream, ms_forward_hidden(fw), stream_n * sizeof *wm->stream);
                wm->stream_layer = layer;
                wm->stream_version = ms_model_input_version(wm->model, (size_t)layer);
            }
        }
        st = ms_forward_layer(fw, (size_t)l, l >= (layer < 0 ? 0 : layer) ? keep_inputs : NULL, wm,
                              diag);
    }
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
    if (wm->stop && atomic_load(wm->stop)) {
        ms_diag d;
        ms_diag_clear(&d);
        ms_diag_set(&d, MS_ERR_LIMIT, "E-WORLD-STOPPED", NULL, 0, 0, "stopped before %s",
                    mod->name);
        fail(wm, MS_ERR_LIMIT, &d);
        return MS_ERR_LIMIT;
    }
    size_t rows = mod->shape[0], cols = mod->shape[1];
    ms_apply_opts opts = wmod->opts;
    if (wmod->kind == KIND_GPTQ && !wmod->quantizes) {
        /* gptq/base.py on_start: the modules a scheme was attached to, by
         * this modifier or one before it */
        if (!wm->scheme[module])
            return MS_OK;
        opts.quant = *wm->scheme[module];
    } else if (wmod->module_group) {
        const wm_group *g = wmod->module_group[module];
        if (!g || !g->has_weights)
            return MS_OK; /* its group quantizes only activations */
        opts.quant = g->weights;
        if (opts.actorder == MS_ACTORDER_GROUP && opts.quant.strategy != MS_QUANT_GROUP)
            opts.actorder = MS_ACTORDER_NONE;
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
    wm_report_change(wm, m, module, res.weight);
    wm->owner[module] = (int)m;
    if (wmod->quantizes || wmod->kind == KIND_GPTQ)
        wm->bits[module] = opts.quant.num_bits;
    st = res.scales ? wm_keep_qparams(wm, module, &opts.quant, &res) : MS_OK;
    ms_apply_result_free(&res);
    if (st != MS_OK)
        fail(wm, st, NULL);
    return st;
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

/* smoothquant/base.py _calculate_smoothing_scales with log_equalization:
 * s = range / log2(2 + range) in float32, then clamped below at 1e-5 as
 * _apply_smoothing clamps every algorithm's scales. */
static ms_status log_equalization_scales(const float *mn, const float *mx, size_t ch, float *s)
{
    for (size_t j = 0; j < ch; j++) {
        float range = mx[j] - mn[j];
        float v = range / log2f(2.0f + range);
        s[j] = v > MS_SMOOTHQUANT_MIN_SCALE ? v : MS_SMOOTHQUANT_MIN_SCALE;
    }
    return MS_OK;
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
        st = wmod->log_equalization
                 ? log_equalization_scales(mn, mx, ch, s)
                 : ms_smoothquant_scales(mn, mx, ch, bal, nlin, wm->mods[m].alpha, s, &d);
    if (st == MS_OK) {
        ms_model_weight_read(wm->model, norm, nw);
        st = ms_smoothquant_fold(s, ch, nw, NULL, bal, nlin, &d);
    }
    if (st == MS_OK) {
        ms_model_weight_write(wm->model, norm, nw);
        wm_report_change(wm, m, norm, nw);
        wm->owner[norm] = (int)m;
        for (size_t k = 0; k < nlin; k++) {
            ms_model_weight_write(wm->model, lin[k], bal[k].data);
            wm_report_change(wm, m, lin[k], bal[k].data);
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

/* ---- AWQ ---- */

static bool same_scheme(const ms_quant_args *a, const ms_quant_args *b)
{
    return a->num_bits == b->num_bits && a->type == b->type && a->symmetric == b->symmetric &&
           a->strategy == b->strategy && a->group_size == b->group_size &&
           a->block_structure[0] == b->block_structure[0] &&
           a->block_structure[1] == b->block_structure[1];
}

/* The module a mapping's balance layers share (get_lowest_common_ancestor_name:
 * the balance Linear itself when there is one), by name. */
static bool awq_parent(const ms_world_model *wm, const awq_map *map, size_t *out)
{
    const char *first = ms_model_module(wm->model, map->balance[0])->name;
    size_t len = strlen(first);
    for (size_t j = 1; j < map->nbalance; j++) {
        const char *name = ms_model_module(wm->model, map->balance[j])->name;
        size_t k = 0;
        while (k < len && first[k] == name[k])
            k++;
        bool whole = (first[k] == 0 || first[k] == '.') && (name[k] == 0 || name[k] == '.');
        if (!whole) {
            /* back before the last dot: the last whole name component */
            while (k > 0 && first[k - 1] != '.')
                k--;
            k -= k > 0;
        }
        len = k;
    }
    char *prefix = strndup(first, len);
    bool found = prefix && ms_model_find(wm->model, prefix, out);
    free(prefix);
    return found;
}

/* The outputs of a mapping's parent for candidate balance weights. */
typedef struct awq_parent_ctx {
    const ms_model *model;
    bool linear; /* the parent is the one balance Linear */
    size_t layer;
    ms_forward_part part;
    int slot[AWQ_MAX_BALANCE]; /* which of the part's Linears each balance layer is */
    const float *x;
    size_t batch, seq;
} awq_parent_ctx;

static ms_status awq_parent_forward(void *ctx, ms_pool *pool, const ms_matrix *balance,
                                    size_t nbalance, float *out, size_t n_out, ms_diag *diag)
{
    const awq_parent_ctx *p = ctx;
    if (p->linear) {
        ms_awq_linear lin = {p->x, p->batch * p->seq};
        return ms_awq_linear_forward(&lin, pool, balance, nbalance, out, n_out, diag);
    }
    const float *w[4] = {NULL, NULL, NULL, NULL};
    for (size_t b = 0; b < nbalance; b++)
        w[p->slot[b]] = balance[b].data;
    return ms_forward_block(p->model, p->layer, p->part, p->x, p->batch, p->seq, w, pool, out,
                            diag);
}

static void awq_note(ms_world_model *wm, size_t module, const char *fmt, const char *arg)
{
    ms_diag d;
    ms_diag_clear(&d);
    ms_diag_set(&d, MS_OK, "E-WORLD-AWQ", NULL, 0, 0, fmt, arg);
    set_note(wm, module, "AWQModifier", &d);
}

/* _apply_smoothing for one resolved mapping: the grid search over the
 * parent's outputs on the subgraph's calibration inputs, then the best
 * scales folded into the balance and smooth weights. */
static ms_status awq_smooth(ms_world_model *wm, size_t m, const awq_map *map)
{
    const wm_modifier *wmod = &wm->mods[m];
    const ms_module *sm = ms_model_module(wm->model, map->smooth);
    /* "no layers are targeted for quantization": skipped with a warning */
    bool targeted = wm->scheme[map->smooth] != NULL;
    for (size_t j = 0; j < map->nbalance; j++)
        targeted = targeted || wm->scheme[map->balance[j]];
    if (!targeted)
        return MS_OK;
    const ms_quant_args *scheme = wm->scheme[map->balance[0]];
    for (size_t j = 0; j < map->nbalance; j++)
        if (!wm->scheme[map->balance[j]] || !scheme ||
            !same_scheme(wm->scheme[map->balance[j]], scheme)) {
            awq_note(wm, map->smooth,
                     "balance layers of %s differ in their weight schemes (or lack one); the "
                     "model-backed world leaves it unsmoothed",
                     sm->name);
            return MS_OK;
        }
    for (size_t j = 0; j < map->nbalance; j++) {
        const ms_module *b = ms_model_module(wm->model, map->balance[j]);
        size_t sr, sc;
        ms_diag d;
        ms_diag_clear(&d);
        /* the quantizing modifier notes the module its scheme does not fit */
        if (ms_quant_param_shape(scheme, b->shape[0], b->shape[1], &sr, &sc, &d) != MS_OK)
            return MS_OK;
    }
    if (sm->bias) {
        awq_note(wm, map->smooth, "%s has a bias; the model-backed world leaves it unsmoothed",
                 sm->name);
        return MS_OK;
    }
    size_t parent;
    awq_parent_ctx ctx = {.model = wm->model,
                          .layer = (size_t)map->layer,
                          .x = wm->inputs[map->balance[0]],
                          .batch = wm->calib.batch,
                          .seq = wm->calib.seq};
    if (!ctx.x)
        return MS_OK; /* no activations reached it: upstream skips it too */
    if (!awq_parent(wm, map, &parent)) {
        awq_note(wm, map->smooth, "the balance layers of %s share no module", sm->name);
        return MS_OK;
    }
    const ms_module *pm = ms_model_module(wm->model, parent);
    static const char *const attn[] = {".q_proj", ".k_proj", ".v_proj", ".o_proj"};
    static const char *const mlp[] = {".gate_proj", ".up_proj", ".down_proj"};
    ctx.linear = pm->kind == MS_MOD_LINEAR;
    ctx.part = pm->kind == MS_MOD_MLP ? MS_FORWARD_MLP : MS_FORWARD_ATTENTION;
    if (!ctx.linear && pm->kind != MS_MOD_ATTENTION && pm->kind != MS_MOD_MLP) {
        awq_note(wm, map->smooth,
                 "the parent of %s's balance layers is not a Linear, self_attn or mlp: the "
                 "model-backed world runs only those",
                 sm->name);
        return MS_OK;
    }
    for (size_t j = 0; !ctx.linear && j < map->nbalance; j++) {
        const char *const *names = ctx.part == MS_FORWARD_MLP ? mlp : attn;
        size_t nn = ctx.part == MS_FORWARD_MLP ? 3 : 4;
        ctx.slot[j] = -1;
        for (size_t k = 0; k < nn; k++) {
            size_t i;
            if (find_in_layer(wm, map->layer, names[k], &i) && i == map->balance[j])
                ctx.slot[j] = (int)k;
        }
        if (ctx.slot[j] < 0) {
            awq_note(wm, map->smooth, "a balance layer of %s is not one of its parent's Linears",
                     sm->name);
            return MS_OK;
        }
    }
    size_t ch = ms_model_module(wm->model, map->balance[0])->shape[1];
    size_t rows = wm->calib.batch * wm->calib.seq;
    size_t nb = map->nbalance;
    size_t n_out = ctx.linear ? 0 : rows * (size_t)ms_model_get_spec(wm->model)->hidden_size;
    ms_matrix bal[AWQ_MAX_BALANCE] = {{0}}, smooth = {0};
    ms_diag d;
    ms_diag_clear(&d);
    ms_status st = MS_OK;
    for (size_t j = 0; st == MS_OK && j < nb; j++) {
        const ms_module *b = ms_model_module(wm->model, map->balance[j]);
        st = ms_matrix_init(&bal[j], b->shape[0], b->shape[1], &d);
        if (st == MS_OK)
            ms_model_weight_read(wm->model, map->balance[j], bal[j].data);
    }
    if (ctx.linear)
        n_out = ms_awq_linear_outputs(rows, bal, nb);
    float *sum = calloc(ch, sizeof *sum), *x_mean = malloc(ch * sizeof *x_mean);
    double *w_mean = calloc(ch, sizeof *w_mean), *scales = malloc(ch * sizeof *scales);
    float *ref = ms_alloc_floats(n_out ? n_out : 1);
    if (st == MS_OK && (!sum || !x_mean || !w_mean || !scales || !ref))
        st = ms_diag_set(&d, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory for AWQ");
    size_t count = 0;
    /* the hook adds each calibration batch (one sequence) in turn */
    for (size_t b = 0; st == MS_OK && b < wm->calib.batch; b++)
        st = ms_awq_observe(ctx.x + b * wm->calib.seq * ch, wm->calib.seq, ch, sum, &count, &d);
    for (size_t j = 0; st == MS_OK && j < ch; j++)
        x_mean[j] = sum[j] / (float)count;
    if (st == MS_OK && wmod->duo != MS_AWQ_DUO_OFF)
        st = ms_awq_weight_means(scheme, bal, nb, w_mean, &d);
    if (st == MS_OK)
        st = awq_parent_forward(&ctx, wm->pool, bal, nb, ref, n_out, &d);
    bool finite = true;
    for (size_t i = 0; st == MS_OK && i < n_out && finite; i++)
        finite = isfinite(ref[i]);
    if (st == MS_OK && !finite)
        awq_note(wm, map->smooth, "NaN or inf outputs of %s's parent: skipped, as upstream does",
                 sm->name);
    ms_awq_result res = {.scales = scales};
    if (st == MS_OK && finite) {
        ms_awq_problem prob = {.x_mean = x_mean,
                               .w_mean = w_mean,
                               .channels = ch,
                               .balance = bal,
                               .nbalance = nb,
                               .weights = scheme,
                               .duo = wmod->duo,
                               .n_grid = wmod->n_grid,
                               .forward = awq_parent_forward,
                               .forward_ctx = &ctx,
                               .reference = ref,
                               .n_out = n_out};
        st = ms_awq_search(wm->pool, &prob, &res, &d);
        if (st == MS_OK)
            st = ms_matrix_init(&smooth, sm->shape[0], sm->ndim == 2 ? sm->shape[1] : 1, &d);
        if (st == MS_OK) {
            ms_model_weight_read(wm->model, map->smooth, smooth.data);
            st = ms_awq_fold(scales, ch, &smooth, NULL, bal, nb, &d);
        }
        if (st == MS_OK) {
            for (size_t j = 0; j < nb; j++) {
                ms_model_weight_write(wm->model, map->balance[j], bal[j].data);
                wm_report_change(wm, m, map->balance[j], bal[j].data);
                wm->owner[map->balance[j]] = (int)m;
            }
            ms_model_weight_write(wm->model, map->smooth, smooth.data);
            wm_report_change(wm, m, map->smooth, smooth.data);
            wm->owner[map->smooth] = (int)m;
        }
    }
    for (size_t j = 0; j < nb; j++)
        free(bal[j].data);
    free(smooth.data);
    free(sum);
    free(x_mean);
    free(w_mean);
    free(scales);
    free(ref);
    if (st != MS_OK)
        fail(wm, st, &d);
    return st;
}

/* calibration.py calibrate_input_hook and update_qparams at
 * sequential_epoch_end (quantization/base.py:81-86, gptq/base.py:242-247 at
 * 715e1166c~1): the static input scales of the modules modifier `m`
 * selects in `layer` (-1: everywhere), from the inputs that subgraph's
 * calibration forward gave them, one calibration batch (sequence) at a
 * time. The forward runs under DisableQuantization (pipelines/sequential/
 * pipeline.py:117), so those inputs are unquantized. */
static void observe_activations(ms_world_model *wm, size_t m, int layer)
{
    wm_modifier *wmod = &wm->mods[m];
    bool kv = wmod->has_kv && !wmod->kv.dynamic;
    if ((!wmod->static_inputs && !kv) || wmod->how == MS_WORLD_NO_DATA || wm->error != MS_OK)
        return;
    long long nlayers = ms_model_get_spec(wm->model)->num_layers;
    bool tail = layer < 0 || layer == nlayers - 1, any = kv;
    for (size_t j = 0; j < wmod->match.count && !any && wmod->module_group; j++) {
        size_t i = wmod->match.modules[j];
        const wm_group *g = wmod->module_group[i];
        int at = ms_model_module(wm->model, i)->layer;
        any = g && g->has_input && !g->input.dynamic &&
              (layer < 0 || at == layer || (tail && at < 0));
    }
    if (!any)
        return;
    ms_diag d;
    ms_diag_clear(&d);
    ms_status st = collect(wm, layer, &d);
    if (st != MS_OK) {
        fail(wm, st, &d);
        return;
    }
    for (size_t j = 0; j < wmod->match.count && wmod->module_group; j++) {
        size_t i = wmod->match.modules[j];
        const wm_group *g = wmod->module_group[i];
        const ms_module *mod = ms_model_module(wm->model, i);
        if (!g || !g->has_input || g->input.dynamic || !wm->inputs[i] ||
            !(layer < 0 || mod->layer == layer || (tail && mod->layer < 0)))
            continue;
        ms_act_observe(&g->input, wm->inputs[i], wm->calib.batch, wm->calib.seq, mod->shape[1],
                       &wm->in_scale[i], &wm->in_zp[i]);
        wm->in_ready[i] = true;
    }
    /* k_scale and v_scale of each attention in the subgraph */
    const ms_model_spec *spec = ms_model_get_spec(wm->model);
    size_t kvd = (size_t)(spec->hidden_size / spec->num_heads * spec->num_kv_heads);
    size_t n = wm->calib.batch * wm->calib.seq * kvd;
    for (long long l = 0; kv && l < nlayers; l++) {
        if ((layer >= 0 && l != layer) || !wm->kv_inputs[l])
            continue;
        for (size_t h = 0; h < 2; h++)
            ms_act_observe(&wmod->kv, wm->kv_inputs[l] + h * n, wm->calib.batch, wm->calib.seq, kvd,
                           &wm->kv_scale[2 * l + h], &wm->kv_zp[2 * l + h]);
        wm->kv_ready[l] = true;
    }
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
        bool works_on =
            mod->kind == MS_MOD_LINEAR || wmod->kind == KIND_SMOOTHQUANT || wmod->kind == KIND_AWQ;
        /* an AWQ mapping belongs to its balance layers' decoder layer */
        int at = wmod->kind == KIND_AWQ ? wmod->maps[j].layer : mod->layer;
        left = works_on && !wmod->done[j] &&
               (layer < 0 || at == layer || (layer == nlayers - 1 && at < 0));
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
    if (wmod->kind == KIND_AWQ) {
        for (size_t j = 0; j < wmod->nmaps; j++) {
            if (wmod->done[j] || (layer >= 0 && wmod->maps[j].layer != layer))
                continue;
            wmod->done[j] = true;
            if (awq_smooth(wm, m, &wmod->maps[j]) != MS_OK)
                return;
        }
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
        int o = wm->owner[i];
        if (wmod->kind == KIND_QUANT && o >= 0 && wm->mods[o].kind == KIND_GPTQ &&
            wm->mods[o].observing)
            /* GPTQ sharing this calibration wrote its codes and replaced
             * weight_scale (gptq/base.py compress_modules): the forward's
             * qdq then gives its weight back */
            continue;
        wmod->done[j] = true;
        if (wmod->slot_sparsity)
            wmod->opts.prune.sparsity = wmod->slot_sparsity[j];
        if (compress_module(wm, m, i, what) != MS_OK)
            return;
    }
}

/* ---- OWL ---- */

typedef struct owl_probe {
    const ms_world_model *wm;
    float **norms; /* per module, NULL for those not observed */
} owl_probe;

static ms_status owl_observe(size_t module, const char *name, const float *x, size_t rows,
                             size_t cols, void *user, ms_diag *diag)
{
    (void)name;
    (void)rows;
    const owl_probe *p = user;
    float *norms = p->norms[module];
    ms_status st = MS_OK;
    /* one calibration batch (sequence) at a time, as the hook sees them */
    for (size_t b = 0; norms && st == MS_OK && b < p->wm->calib.batch; b++)
        st = ms_owl_observe(x + b * p->wm->calib.seq * cols, p->wm->calib.seq, cols, norms, diag);
    return st;
}

/* _infer_owl_layer_sparsity: input norms of the decoder layers' Linears from
 * a forward over the calibration batches (the model as it is when the
 * modifier starts), each layer's outlier ratio, the layer sparsities. */
static ms_status owl_sparsities(ms_world_model *wm, wm_modifier *wmod, ms_diag *diag)
{
    size_t nl = (size_t)ms_model_get_spec(wm->model)->num_layers;
    float **norms = calloc(wm->nmodules, sizeof *norms);
    float **weights = calloc(wm->nmodules, sizeof *weights);
    double *ratios = malloc((nl ? nl : 1) * sizeof *ratios);
    double *layer_sp = malloc((nl ? nl : 1) * sizeof *layer_sp);
    ms_owl_linear *lins = malloc(wm->nmodules * sizeof *lins);
    ms_status st = norms && weights && ratios && layer_sp && lins ? MS_OK : MS_ERR_NOMEM;
    for (size_t i = 0; st == MS_OK && i < wm->nmodules; i++) {
        const ms_module *mod = ms_model_module(wm->model, i);
        if (mod->kind != MS_MOD_LINEAR || mod->layer < 0)
            continue;
        norms[i] = calloc(mod->shape[1], sizeof **norms);
        weights[i] = malloc(ms_module_numel(mod) * sizeof **weights);
        if (!norms[i] || !weights[i])
            st = MS_ERR_NOMEM;
        else
            ms_model_weight_read(wm->model, i, weights[i]);
    }
    owl_probe probe = {wm, norms};
    if (st == MS_OK)
        st = ms_forward_run(wm->model, &wm->calib, wm->pool, owl_observe, &probe, NULL, diag);
    for (size_t l = 0; st == MS_OK && l < nl; l++) {
        size_t n = 0;
        for (size_t i = 0; i < wm->nmodules; i++) {
            const ms_module *mod = ms_model_module(wm->model, i);
            if (norms[i] && mod->layer == (int)l)
                lins[n++] = (ms_owl_linear){weights[i], mod->shape[0], mod->shape[1], norms[i]};
        }
        st = ms_owl_outlier_ratio(wm->pool, lins, n, wmod->owl_m, &ratios[l], diag);
    }
    if (st == MS_OK)
        st = ms_owl_sparsities(ratios, nl, wmod->opts.prune.sparsity, wmod->owl_lmbda, layer_sp,
                               diag);
    for (size_t j = 0; st == MS_OK && j < wmod->match.count; j++) {
        int layer = ms_model_module(wm->model, wmod->match.modules[j])->layer;
        wmod->slot_sparsity[j] = layer >= 0 ? layer_sp[layer] : wmod->opts.prune.sparsity;
    }
    for (size_t i = 0; i < wm->nmodules && norms && weights; i++) {
        free(norms[i]);
        free(weights[i]);
    }
    free(norms);
    free(weights);
    free(ratios);
    free(layer_sp);
    free(lins);
    return st;
}

/* ---- the ops ---- */

static void op_attach(void *self, void *state, size_t modifier)
{
    ms_world_model *wm = self;
    if (modifier < wm->nmods && wm->mods[modifier].has_kv) {
        wm->kv = &wm->mods[modifier].kv;
        memset(wm->kv_ready, 0,
               (size_t)ms_model_get_spec(wm->model)->num_layers * sizeof *wm->kv_ready);
    }
    if (modifier < wm->nmods && wm->mods[modifier].module_group) {
        /* apply_quantization_config: the module's scheme replaces any
         * earlier one (initialize_quantization resets the status first) */
        const wm_modifier *wmod = &wm->mods[modifier];
        for (size_t j = 0; j < wmod->match.count; j++) {
            size_t i = wmod->match.modules[j];
            const wm_group *g = wmod->module_group[i];
            if (!g)
                continue;
            wm->group[i] = g;
            wm->scheme[i] = g->has_weights ? &g->weights : NULL;
            wm->in_ready[i] = false;
        }
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

/* The modules GPTQ's own targets select with a weight scheme attached
 * (schemes go to Linears only, so no Embedding is among them). */
static size_t op_quant_modules(const void *self, const void *state, size_t modifier)
{
    (void)state;
    const ms_world_model *wm = self;
    if (modifier >= wm->nmods)
        return 0;
    const wm_modifier *wmod = &wm->mods[modifier];
    size_t n = 0;
    for (size_t j = 0; j < wmod->match.count; j++)
        n += wm->scheme[wmod->match.modules[j]] != NULL;
    return n;
}

static bool op_sparsity_mismatch(const void *self, size_t modifier, size_t *given, size_t *layers)
{
    const ms_world_model *wm = self;
    if (modifier >= wm->nmods)
        return false;
    const wm_modifier *wmod = &wm->mods[modifier];
    *given = wmod->sparsities;
    *layers = (size_t)ms_model_get_spec(wm->model)->num_layers;
    return wmod->sparsities && wmod->sparsities != wmod->sparsity_targets;
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
    wmod->hooked = true;
    wmod->sequential = 0;
    if (wmod->owl && wmod->slot_sparsity && wm->error == MS_OK) {
        ms_diag d;
        ms_diag_clear(&d);
        ms_status st = owl_sparsities(wm, wmod, &d);
        if (st != MS_OK)
            fail(wm, st, &d);
    }
    if (wmod->kind == KIND_AWQ && wmod->duo != MS_AWQ_DUO_OFF)
        /* awq/base.py on_start (0.12) / on_calibration_start (0.13) */
        for (size_t j = 0; j < wmod->nmaps && wm->error == MS_OK; j++)
            for (size_t b = 0; b < wmod->maps[j].nbalance; b++) {
                size_t i = wmod->maps[j].balance[b];
                if (wm->scheme[i] && wm->scheme[i]->strategy == MS_QUANT_TENSOR) {
                    ms_diag d;
                    ms_diag_set(&d, MS_ERR_INVALID, "E-WORLD-AWQ", NULL, 0, 0,
                                "duo_scaling is only supported with per-channel quantization "
                                "strategies (group or channel), but found TENSOR strategy on "
                                "layer %s. Please set duo_scaling=False or use a per-channel "
                                "quantization strategy.",
                                ms_model_module(wm->model, i)->name);
                    fail(wm, MS_ERR_INVALID, &d);
                    break;
                }
            }
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
                                        "SmoothQuantModifier",
                                        "AWQModifier",
                                        "ConstantPruningModifier"};
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
    /* the first subgraph ends before decoder layer 0 */
    long long layer = wmod->how != MS_WORLD_LAYERWISE ? -1 : (long long)wmod->sequential - 2;
    if (layer < -1 || layer >= ms_model_get_spec(wm->model)->num_layers ||
        (wmod->how == MS_WORLD_LAYERWISE && layer < 0))
        return;
    observe_activations(wm, modifier, (int)layer);
    /* QuantizationModifier keeps the float weight during calibration and
     * quantizes it in the forward once quantization is enabled
     * (compressed-tensors lifecycle/forward.py set_forward_quantized; the
     * calibration forwards run under DisableQuantization): later layers'
     * and later modifiers' calibration in this pass see the float weights,
     * and the world writes the qdq weights at its calibration end */
    if (wmod->kind != KIND_QUANT)
        compress_layer(wm, modifier, (int)layer, kind_name(wmod->kind));
}

static void op_compress(void *self, void *state, size_t modifier)
{
    (void)state;
    ms_world_model *wm = self;
    if (modifier >= wm->nmods || !wm->mods[modifier].observing)
        return;
    /* AWQ's on_end smooths nothing: its sequential_epoch_ends did
     * (awq/base.py on_end at 0.12, on_calibration_end at 0.13); GPTQ's,
     * SparseGPT's and Wanda's only remove their hooks (world.h) */
    mod_kind k = wm->mods[modifier].kind;
    if (wm->error == MS_OK && k != KIND_AWQ && k != KIND_GPTQ && k != KIND_SPARSEGPT &&
        k != KIND_WANDA)
        compress_layer(wm, modifier, -1, kind_name(k));
    wm->mods[modifier].observing = false;
    drop_inputs(wm);
}

static const ms_world_ops model_ops = {
    .name = "model",
    .state_size = sizeof(size_t),
    .attach_quant_scheme = op_attach,
    .quant_schemes_attached = op_attached,
    .quant_modules = op_quant_modules,
    .sparsity_mismatch = op_sparsity_mismatch,
    .apply_mask = op_apply_mask,
    .observe_inputs = op_observe,
    .sequential_epoch_end = op_sequential,
    .compress = op_compress,
    .update_masks = wm_op_update_masks,
    .apply_masks = wm_op_apply_masks,
    .remove_masks = wm_op_remove_masks,
    .finalize = wm_op_finalize,
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
        const wm_group *g = wm->group[i];
        ms_world_module_row *row = &out[r - 1];
        snprintf(row->act, sizeof row->act, "-");
        if (g && g->has_input)
            ms_act_label(&g->input, row->act, sizeof row->act);
        if (g && g->has_output) {
            char o[16];
            ms_act_label(&g->output, o, sizeof o);
            size_t len = g->has_input ? strlen(row->act) : 0;
            snprintf(row->act + len, sizeof row->act - len, "%so%s", len ? "," : "", o);
        }
        size_t nlen = strlen(mod->name);
        bool is_k = nlen > 7 && !strcmp(mod->name + nlen - 7, ".k_proj");
        bool is_v = nlen > 7 && !strcmp(mod->name + nlen - 7, ".v_proj");
        if (wm->kv && (is_k || is_v)) {
            /* the cache quantizes k_proj's and v_proj's outputs after RoPE */
            char kvl[16];
            ms_act_label(wm->kv, kvl, sizeof kvl);
            size_t len = strcmp(row->act, "-") ? strlen(row->act) : 0;
            snprintf(row->act + len, sizeof row->act - len, "%skv%s", len ? "," : "", kvl);
        }
        row->input_scale =
            g && g->has_input && !g->input.dynamic && wm->in_ready[i] ? wm->in_scale[i] : 0;
    }
    free(w);
    free(w0);
    *rows = out;
    *n = count;
    return MS_OK;
}

/* The evaluation forward's activations, as compressed-tensors' quantized
 * Linear forward gives them once quantization is enabled: the attached
 * scheme's input (static scales where calibrated) and output. */
static ms_status eval_qdq(ms_world_model *wm, const ms_act_args *a, size_t module, const float *x,
                          size_t rows, size_t cols, float *out, ms_diag *diag)
{
    size_t seq = wm->calib.seq;
    return ms_act_apply(wm->pool, a, x, rows / seq, seq, cols, wm->in_scale[module],
                        wm->in_zp[module], out, diag);
}

static ms_status eval_input(void *user, size_t module, const float *x, size_t rows, size_t cols,
                            const float **out, ms_diag *diag)
{
    ms_world_model *wm = user;
    const wm_group *g = wm->group[module];
    if (!g || !g->has_input || (!g->input.dynamic && !wm->in_ready[module]))
        return MS_OK;
    if (wm->act_cap < rows * cols) {
        free(wm->act_buf);
        wm->act_buf = malloc(rows * cols * sizeof *wm->act_buf);
        wm->act_cap = wm->act_buf ? rows * cols : 0;
        if (!wm->act_buf)
            return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    }
    *out = wm->act_buf;
    return eval_qdq(wm, &g->input, module, x, rows, cols, wm->act_buf, diag);
}

static ms_status eval_output(void *user, size_t module, float *y, size_t rows, size_t cols,
                             ms_diag *diag)
{
    ms_world_model *wm = user;
    const wm_group *g = wm->group[module];
    if (!g || !g->has_output)
        return MS_OK;
    return eval_qdq(wm, &g->output, module, y, rows, cols, y, diag);
}

/* QuantizedKVCache.forward (compressed-tensors modeling/kvcache.py): the
 * keys and values after RoPE, before attention, with k_scale and v_scale. */
static ms_status eval_kv(void *user, size_t layer, float *k, float *v, size_t rows, size_t cols,
                         ms_diag *diag)
{
    ms_world_model *wm = user;
    const ms_act_args *a = wm->kv;
    if (!a || (!a->dynamic && !wm->kv_ready[layer]))
        return MS_OK;
    size_t seq = wm->calib.seq;
    ms_status st = ms_act_apply(wm->pool, a, k, rows / seq, seq, cols, wm->kv_scale[2 * layer],
                                wm->kv_zp[2 * layer], k, diag);
    if (st == MS_OK)
        st = ms_act_apply(wm->pool, a, v, rows / seq, seq, cols, wm->kv_scale[2 * layer + 1],
                          wm->kv_zp[2 * layer + 1], v, diag);
    return st;
}

/* The figures' work on the held-out tokens: the final norm's outputs (the
 * lm_head inputs) of both models, then the logits by blocks of rows, so that
 * two whole batch x vocab logit arrays never exist at once. */
enum { EVAL_ROWS = 512 };

typedef struct {
    float *x; /* rows x cols, lm_head's input */
    size_t module, rows, cols;
} head_input;

static ms_status keep_head_input(size_t module, const char *name, const float *inputs, size_t rows,
                                 size_t cols, void *user, ms_diag *diag)
{
    (void)name;
    (void)diag;
    head_input *h = user;
    h->x = malloc(rows * cols * sizeof *h->x);
    if (!h->x)
        return MS_ERR_NOMEM;
    memcpy(h->x, inputs, rows * cols * sizeof *h->x);
    *h = (head_input){.x = h->x, .module = module, .rows = rows, .cols = cols};
    return MS_OK;
}

/* lm_head's input over `tokens`, with the activations quantized as the
 * evaluation forward quantizes them when `quant` is given. */
static ms_status head_input_of(const ms_model *model, const ms_tokens *tokens, ms_pool *pool,
                               const ms_forward_quant *quant, head_input *h, ms_diag *diag)
{
    ms_forward *fw = NULL;
    ms_status st = ms_forward_new(model, tokens, pool, &fw, diag);
    if (st == MS_OK && quant)
        ms_forward_set_quant(fw, quant);
    for (long long l = 0; st == MS_OK && l < ms_model_get_spec(model)->num_layers; l++)
        st = ms_forward_layer(fw, (size_t)l, NULL, NULL, diag);
    if (st == MS_OK)
        st = ms_forward_logits(fw, keep_head_input, h, NULL, diag);
    ms_forward_free(fw);
    return st;
}

/* Both models' lm_head weights packed for the logits; one packing when they
 * are equal (a recipe that leaves lm_head alone), *base then NULL. */
static ms_status pack_heads(const ms_world_model *wm, const head_input *h, ms_packed_b **model,
                            ms_packed_b **base, ms_diag *diag)
{
    const ms_module *mod = ms_model_module(wm->model, h->module);
    size_t n = ms_module_numel(mod);
    float *w = malloc(n * sizeof *w), *w0 = malloc(n * sizeof *w0);
    ms_status st = w && w0 ? MS_OK : MS_ERR_NOMEM;
    if (st == MS_OK) {
        ms_model_weight_read(wm->model, h->module, w);
        ms_model_weight_read(wm->base, h->module, w0);
        bool same = !memcmp(w, w0, n * sizeof *w);
        free(w0);
        w0 = NULL;
        st = ms_pack_b(wm->pool, MS_TRANS, h->cols, mod->shape[0], w, h->cols, model, diag);
        if (st == MS_OK && !same) {
            ms_model_weight_read(wm->base, h->module, w);
            st = ms_pack_b(wm->pool, MS_TRANS, h->cols, mod->shape[0], w, h->cols, base, diag);
        }
    }
    free(w);
    free(w0);
    return st;
}

typedef struct {
    const float *lc, *lb; /* logits of a block of rows: compressed, base */
    size_t row0, vocab, seq;
    const int32_t *ids;
    double *nll, *nll_base, *kl; /* per token */
    uint8_t *agree, *predicted;  /* per token */
    double *eb;                  /* per worker: vocab values */
} eval_job;

/* One token's figures: they depend on its logits only, so the sums over
 * tokens (taken in token order afterwards) do not depend on the threads. */
static void eval_task(void *ctx, size_t task, size_t worker)
{
    const eval_job *j = ctx;
    size_t vocab = j->vocab, t = j->row0 + task;
    const float *c = j->lc + task * vocab, *b = j->lb + task * vocab;
    double *eb = j->eb + worker * vocab;
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
        eb[v] = exp(b[v] - mb);
        zb += eb[v];
    }
    double lzc = mc + log(zc), lzb = mb + log(zb), kl = 0;
    for (size_t v = 0; v < vocab; v++)
        kl += eb[v] / zb * ((b[v] - lzb) - (c[v] - lzc));
    j->kl[t] = kl;
    j->agree[t] = ac == ab;
    /* next-token loss within each sequence */
    j->predicted[t] = (t + 1) % j->seq != 0;
    if (j->predicted[t]) {
        size_t next = (size_t)j->ids[t + 1];
        j->nll[t] = lzc - c[next];
        j->nll_base[t] = lzb - b[next];
    }
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
    /* whole sequences a block: dynamic activation scales are per sequence */
    size_t tokens = held.batch * held.seq, per = EVAL_ROWS / held.seq ? EVAL_ROWS / held.seq : 1;
    size_t block = tokens < per * held.seq ? tokens : per * held.seq;
    head_input hc = {0}, hb = {0};
    ms_packed_b *pc = NULL, *pb = NULL;
    ms_forward_quant q = {.input = eval_input, .output = eval_output, .kv = eval_kv, .user = wm};
    st = head_input_of(wm->model, &held, wm->pool, &q, &hc, diag);
    const float *qx = hc.x;
    if (st == MS_OK)
        st = eval_input(wm, hc.module, hc.x, hc.rows, hc.cols, &qx, diag);
    if (st == MS_OK && qx != hc.x)
        memcpy(hc.x, qx, hc.rows * hc.cols * sizeof *hc.x);
    if (st == MS_OK)
        st = head_input_of(wm->base, &held, wm->pool, NULL, &hb, diag);
    if (st == MS_OK)
        st = pack_heads(wm, &hc, &pc, &pb, diag);
    eval_job j = {.vocab = vocab, .seq = held.seq, .ids = held.ids};
    float *lc = NULL, *lb = NULL;
    if (st == MS_OK) {
        lc = malloc(block * vocab * sizeof *lc);
        lb = malloc(block * vocab * sizeof *lb);
        j.nll = calloc(tokens, sizeof *j.nll);
        j.nll_base = calloc(tokens, sizeof *j.nll_base);
        j.kl = calloc(tokens, sizeof *j.kl);
        j.agree = calloc(tokens, 1);
        j.predicted = calloc(tokens, 1);
        j.eb = malloc(ms_pool_threads(wm->pool) * vocab * sizeof *j.eb);
        if (!lc || !lb || !j.nll || !j.nll_base || !j.kl || !j.agree || !j.predicted || !j.eb)
            st = MS_ERR_NOMEM;
    }
    for (size_t r0 = 0; st == MS_OK && r0 < tokens; r0 += block) {
        size_t rows = tokens - r0 < block ? tokens - r0 : block, h = hc.cols;
        st = ms_gemm_packed(wm->pool, MS_NOTRANS, rows, 1.0f, hc.x + r0 * h, h, pc, 0.0f, lc, vocab,
                            diag);
        if (st == MS_OK)
            st = eval_output(wm, hc.module, lc, rows, vocab, diag);
        if (st == MS_OK)
            st = ms_gemm_packed(wm->pool, MS_NOTRANS, rows, 1.0f, hb.x + r0 * h, h, pb ? pb : pc,
                                0.0f, lb, vocab, diag);
        if (st == MS_OK) {
            j.lc = lc;
            j.lb = lb;
            j.row0 = r0;
            ms_pool_run(wm->pool, rows, eval_task, &j);
        }
    }
    if (st == MS_OK) {
        double nll = 0, nll_base = 0, kl = 0;
        size_t agree = 0, predicted = 0;
        for (size_t t = 0; t < tokens; t++) {
            kl += j.kl[t];
            agree += j.agree[t];
            if (j.predicted[t]) {
                nll += j.nll[t];
                nll_base += j.nll_base[t];
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
    free(j.nll);
    free(j.nll_base);
    free(j.kl);
    free(j.agree);
    free(j.predicted);
    free(j.eb);
    free(hc.x);
    free(hb.x);
    ms_packed_b_free(pc);
    ms_packed_b_free(pb);
    ms_tokens_free(&held);
    return st;
}
