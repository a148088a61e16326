#include "scenario.h"

#include "../util/text.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../recipe/lint.h"

enum { MAX_SCENARIO_BYTES = 1024 * 1024 * 1024 };

struct ms_scenario {
    ms_index_mode index_mode;
    ms_upstream upstream;
    bool no_calibration_data;
    ms_recipe *recipe;
    ms_call *calls;
    size_t n_calls;
    char *model; /* `model:`, a path relative to the scenario made whole; NULL: none */
    int model_line, model_col;
};

typedef struct loader {
    const char *file;
    ms_diag *diag;
    ms_diag_list *diags; /* the recipe's diagnostics go here, warnings too */
    bool recipe_listed;  /* the recipe's errors are in `diags` already */
    bool epoch_based;
    long long steps_per_epoch, batches_per_step;
    size_t n_modifiers;
    ms_index_mode index_mode;
    ms_upstream upstream;
} loader;

static ms_status bad(const loader *ld, const ms_node *at, const char *hint, const char *fmt,
                     const char *a, const char *b)
{
    ms_status st = ms_diag_set(ld->diag, MS_ERR_INVALID, "E-SCENARIO", ld->file, at ? at->line : 0,
                               at ? at->col : 0, fmt, a, b);
    if (hint)
        ms_diag_hint(ld->diag, "%s", hint);
    return st;
}

static const char *text_of(const ms_node *n)
{
    return n && n->kind == MS_NODE_SCALAR ? n->value : ms_node_type_name(n);
}

static ms_status check_keys(const loader *ld, const ms_node *map, const char *const *allowed,
                            const char *what, const char *hint)
{
    for (size_t i = 0; i < map->count; i++) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = !strcmp(map->keys[i]->value, *a);
        if (!ok)
            return bad(ld, map->keys[i], hint, "unknown key '%s' in %s", map->keys[i]->value, what);
    }
    return MS_OK;
}

static ms_status read_count(const loader *ld, const ms_node *v, const char *field, bool positive,
                            long long *out)
{
    if (!ms_node_as_int(v, out) || (positive ? *out <= 0 : *out < 0))
        return bad(ld, v,
                   positive ? "use a whole number greater than 0, or null"
                            : "use a whole number, 0 or more",
                   "'%s' must be a %s integer", field, positive ? "positive" : "non-negative");
    return MS_OK;
}

static ms_status load_clock(loader *ld, const ms_node *clock)
{
    if (!clock || ms_node_is_null(clock))
        return MS_OK;
    if (clock->kind != MS_NODE_MAP)
        return bad(ld, clock, "e.g. clock: {steps_per_epoch: 4, batches_per_step: 1}",
                   "'clock' must be a map, not a %s%s", ms_node_type_name(clock), "");
    static const char *const keys[] = {"steps_per_epoch", "batches_per_step", NULL};
    ms_status st =
        check_keys(ld, clock, keys, "clock", "valid keys: steps_per_epoch, batches_per_step");
    const ms_node *spe = ms_node_get(clock, "steps_per_epoch");
    if (st == MS_OK && spe && !ms_node_is_null(spe)) {
        st = read_count(ld, spe, "steps_per_epoch", true, &ld->steps_per_epoch);
        ld->epoch_based = true;
    }
    const ms_node *bps = ms_node_get(clock, "batches_per_step");
    if (st == MS_OK && bps && !ms_node_is_null(bps))
        st = read_count(ld, bps, "batches_per_step", true, &ld->batches_per_step);
    return st;
}

/* An event name the profile does not know; when the other profile knows it,
 * the hint says what this one calls that event. */
static ms_status unknown_event(const loader *ld, const ms_node *at, const char *name)
{
    char hint[512];
    ms_event_type type;
    ms_upstream other = ld->upstream == MS_UPSTREAM_0_12 ? MS_UPSTREAM_0_13 : MS_UPSTREAM_0_12;
    if (name && ms_event_type_parse_in(name, other, &type))
        snprintf(hint, sizeof hint,
                 "%s is the upstream %s name; %s calls it %s (the profile is set by "
                 "'upstream:' or modsim trace --upstream)",
                 name, ms_upstream_name(other), ms_upstream_name(ld->upstream),
                 ms_event_type_name_in(type, ld->upstream));
    else
        snprintf(hint, sizeof hint, "valid events: %s (upstream %s)",
                 ms_event_type_names_in(ld->upstream), ms_upstream_name(ld->upstream));
    char what[64];
    snprintf(what, sizeof what, " at upstream %s", ms_upstream_name(ld->upstream));
    return bad(ld, at, hint, "unknown event '%s'%s", name ? name : "(missing)", what);
}

/* `modules: [NAME, ...]` or `layer: K` on a sequential_epoch_end: upstream's
 * pipelines pass the subgraph's modules with it. */
static ms_status load_modules(const loader *ld, const ms_node *call, ms_call *out)
{
    const ms_node *modules = ms_node_get(call, "modules");
    const ms_node *layer = ms_node_get(call, "layer");
    if (!modules && !layer)
        return MS_OK;
    const ms_node *key = ms_node_key(call, modules ? "modules" : "layer");
    if (modules && layer)
        return bad(ld, ms_node_key(call, "layer"), "keep one of them",
                   "both 'modules' and 'layer' are given%s%s", "", "");
    if (out->event.type != MS_EV_SEQUENTIAL_EPOCH_END)
        return bad(ld, key, "only sequential_epoch_end carries the modules of a subgraph",
                   "'%s' on a %s event", key->value,
                   ms_event_type_name_in(out->event.type, ld->upstream));
    static const char *const modules_hint = "e.g. modules: [model.layers.0.mlp.down_proj]";
    if (modules && modules->kind != MS_NODE_SEQ)
        return bad(ld, modules, modules_hint,
                   "'modules' must be a list of module names, not a %s%s",
                   ms_node_type_name(modules), "");
    if (modules) {
        for (size_t i = 0; i < modules->count; i++)
            if (!ms_node_is_string(modules->items[i])) {
                const ms_node *item = modules->items[i];
                return item->kind == MS_NODE_SCALAR
                           ? bad(ld, item, modules_hint,
                                 "a module name must be a string, not %s '%s'",
                                 ms_node_type_name(item), item->value)
                           : bad(ld, item, modules_hint,
                                 "a module name must be a string, not a %s%s",
                                 ms_node_type_name(item), "");
            }
    } else {
        long long k;
        ms_status st = read_count(ld, layer, "layer", false, &k);
        if (st != MS_OK)
            return st;
    }
    out->event.has_modules = true;
    return MS_OK;
}

static ms_status load_event_fields(const loader *ld, const ms_node *call, ms_call *out)
{
    const ms_node *name = ms_node_get(call, "event");
    if (!name || name->kind != MS_NODE_SCALAR ||
        !ms_event_type_parse_in(name->value, ld->upstream, &out->event.type))
        return unknown_event(ld, name ? name : call, name ? text_of(name) : NULL);
    long long step = 0, batch = 0;
    const ms_node *v = ms_node_get(call, "global_step");
    ms_status st = MS_OK;
    if (v && !ms_node_is_null(v) && (st = read_count(ld, v, "global_step", false, &step)) != MS_OK)
        return st;
    v = ms_node_get(call, "global_batch");
    if (v && !ms_node_is_null(v) &&
        (st = read_count(ld, v, "global_batch", false, &batch)) != MS_OK)
        return st;
    v = ms_node_get(call, "loss");
    if (v && !ms_node_is_null(v)) {
        if (!ms_node_as_double(v, &out->loss))
            return bad(ld, v, "write the loss as a number, e.g. loss: 1.25",
                       "'loss' must be a number, not %s '%s'", ms_node_type_name(v), text_of(v));
        out->has_loss = true;
    }
    if (ld->index_mode == MS_INDEX_STEP) {
        out->event.global_step = step;
        out->event.global_batch = batch;
        out->event.epoch_based = ld->epoch_based;
        out->event.steps_per_epoch = ld->steps_per_epoch;
        out->event.batches_per_step = ld->batches_per_step;
    }
    return load_modules(ld, call, out);
}

static ms_status read_modifier(const loader *ld, const ms_node *mod, size_t *out)
{
    long long index;
    if (!ms_node_as_int(mod, &index) || index < 0 || (size_t)index >= ld->n_modifiers) {
        char range[64];
        snprintf(range, sizeof range, "the recipe has %zu modifier%s: use 0 to %zu",
                 ld->n_modifiers, ld->n_modifiers == 1 ? "" : "s",
                 ld->n_modifiers ? ld->n_modifiers - 1 : 0);
        return bad(ld, mod, ld->n_modifiers ? range : "the recipe has no modifiers",
                   "modifier index %s is out of range%s", text_of(mod), "");
    }
    *out = (size_t)index;
    return MS_OK;
}

static ms_status load_call(const loader *ld, const ms_node *call, ms_call *out)
{
    memset(out, 0, sizeof *out);
    out->line = call->line;
    out->col = call->col;
    out->event = ms_event_plain(MS_EV_BATCH_START);
    static const char *const call_hint =
        "a call is 'initialize', 'finalize', {event: NAME, global_step: N, loss: X} or "
        "{modifier: I, call: initialize|update_event|finalize, event: NAME}; "
        "{event: NAME, only: I} narrows the lifecycle to modifier I; a "
        "sequential_epoch_end may add modules: [NAME, ...] or layer: K";
    if (call->kind == MS_NODE_SCALAR) {
        if (!strcmp(call->value, "initialize"))
            out->kind = MS_CALL_INITIALIZE;
        else if (!strcmp(call->value, "finalize"))
            out->kind = MS_CALL_FINALIZE;
        else
            return bad(ld, call, call_hint, "unknown call '%s'%s", call->value, "");
        return MS_OK;
    }
    if (call->kind != MS_NODE_MAP)
        return bad(ld, call, call_hint, "a call must be a name or a map, not a %s%s",
                   ms_node_type_name(call), "");
    static const char *const keys[] = {"event", "global_step", "global_batch", "loss",  "modifier",
                                       "call",  "only",        "modules",      "layer", NULL};
    ms_status st = check_keys(ld, call, keys, "a call", call_hint);
    if (st != MS_OK)
        return st;
    const ms_node *mod = ms_node_get(call, "modifier");
    if (!mod) {
        out->kind = MS_CALL_EVENT;
        if (ms_node_get(call, "call"))
            return bad(ld, ms_node_key(call, "call"), call_hint,
                       "'call' needs 'modifier' (which modifier to call)%s%s", "", "");
        const ms_node *only = ms_node_get(call, "only");
        if (only) {
            out->narrowed = true;
            if ((st = read_modifier(ld, only, &out->modifier)) != MS_OK)
                return st;
        }
        return load_event_fields(ld, call, out);
    }
    if (ms_node_get(call, "only"))
        return bad(ld, ms_node_key(call, "only"), call_hint,
                   "'only' narrows a lifecycle event; a direct modifier call reaches one "
                   "modifier already%s%s",
                   "", "");
    if ((st = read_modifier(ld, mod, &out->modifier)) != MS_OK)
        return st;
    const ms_node *kind = ms_node_get(call, "call");
    const char *name = kind && kind->kind == MS_NODE_SCALAR ? kind->value : "";
    if (!strcmp(name, "initialize"))
        out->kind = MS_CALL_MODIFIER_INITIALIZE;
    else if (!strcmp(name, "finalize"))
        out->kind = MS_CALL_MODIFIER_FINALIZE;
    else if (!strcmp(name, "update_event")) {
        out->kind = MS_CALL_MODIFIER_UPDATE_EVENT;
        return load_event_fields(ld, call, out);
    } else
        return bad(ld, kind ? kind : call, "valid calls: initialize, update_event, finalize",
                   "unknown modifier call '%s'%s", kind ? text_of(kind) : "(missing)", "");
    return MS_OK;
}

/* Where the first character of a block scalar's text stands in the file:
 * the line after the indicator, at the block's indentation. */
static void block_origin(const char *text, const ms_node *n, int *line_off, int *col_off)
{
    *line_off = n->line;
    *col_off = 0;
    const char *p = text;
    for (int line = 1; *p && line < n->line + 1; p++)
        if (*p == '\n')
            line++;
    while (*p == ' ')
        p++, (*col_off)++;
}

/* The recipe is loaded as upstream's Recipe loads it, with every check of
 * modsim validate (ms_recipe_load_checked): what validate reports as an
 * error refuses the scenario. */
static ms_status load_recipe(ms_scenario *sc, loader *ld, const char *text, const ms_node *root)
{
    /* a scenario's calls are its own run: of the lifecycle warnings, only
     * what holds for any calls at this index and release */
    ms_lint_run run = {.training_loop = true,
                       .calibration = true,
                       .intended_index = ld->index_mode == MS_INDEX_STEP,
                       .upstream = ld->upstream};
    const ms_node *inline_recipe = ms_node_get(root, "recipe");
    const ms_node *recipe_file = ms_node_get(root, "recipe_file");
    if (inline_recipe && recipe_file)
        return bad(ld, ms_node_key(root, "recipe_file"), "keep one of them",
                   "both 'recipe' and 'recipe_file' are given%s%s", "", "");
    if (!inline_recipe && !recipe_file)
        return bad(ld, root, "add 'recipe: |' with the recipe text, or 'recipe_file: PATH'",
                   "the scenario has no recipe%s%s", "", "");
    if (recipe_file) {
        if (!ms_node_is_string(recipe_file))
            return bad(ld, recipe_file, "give a path relative to the scenario file",
                       "'recipe_file' must be a path, not %s%s", ms_node_type_name(recipe_file),
                       "");
        char path[4096];
        const char *slash = strrchr(ld->file, '/');
        if (recipe_file->value[0] == '/' || !slash)
            snprintf(path, sizeof path, "%s", recipe_file->value);
        else
            snprintf(path, sizeof path, "%.*s/%s", (int)(slash - ld->file), ld->file,
                     recipe_file->value);
        ld->recipe_listed = true;
        return ms_recipe_load_checked_for(NULL, path, NULL, MS_CHECK_RUN, &run, &sc->recipe,
                                          ld->diags);
    }
    if (inline_recipe->kind != MS_NODE_SCALAR || !ms_node_is_string(inline_recipe))
        return bad(ld, inline_recipe, "write the recipe as a block: 'recipe: |' then the text",
                   "'recipe' must be text, not a %s%s", ms_node_type_name(inline_recipe), "");
    int line_off = inline_recipe->line - 1, col_off = inline_recipe->col - 1;
    if (inline_recipe->block)
        block_origin(text, inline_recipe, &line_off, &col_off);
    ld->recipe_listed = true;
    return ms_recipe_parse_checked_for(NULL, inline_recipe->value, strlen(inline_recipe->value),
                                       ld->file, line_off, col_off, &run, &sc->recipe, ld->diags);
}

/* `upstream: "0.12"|"0.13"`; the caller's choice, when given, wins. */
static ms_status load_upstream(loader *ld, const ms_node *root, const ms_upstream *chosen)
{
    const ms_node *v = ms_node_get(root, "upstream");
    ld->upstream = MS_UPSTREAM_DEFAULT;
    if (v && !ms_node_is_null(v) && v->kind != MS_NODE_SCALAR)
        return bad(ld, v, "valid: " MS_UPSTREAM_VALID,
                   "'upstream' must be a version string, not a %s%s", ms_node_type_name(v), "");
    if (v && !ms_node_is_null(v) && !ms_upstream_parse(v->value, &ld->upstream))
        return bad(ld, v, "valid: " MS_UPSTREAM_VALID, "unknown upstream version '%s'%s", v->value,
                   "");
    if (chosen)
        ld->upstream = *chosen;
    return MS_OK;
}

static ms_status load(ms_scenario *sc, loader *ld_out, const char *text, const ms_node *root,
                      const ms_upstream *upstream)
{
    loader ld = *ld_out;
    if (!root || root->kind != MS_NODE_MAP)
        return bad(&ld, root, "see the scenario format in README.md",
                   "a scenario must be a map with 'recipe' and 'calls', not %s%s",
                   root ? ms_node_type_name(root) : "an empty file", "");
    static const char *const keys[] = {"index", "clock", "recipe",   "recipe_file",
                                       "model", "calls", "upstream", "calibration_data",
                                       NULL};
    ms_status st = check_keys(&ld, root, keys, "the scenario",
                              "valid keys: index, clock, recipe, recipe_file, model, calls, "
                              "upstream, calibration_data");
    if (st == MS_OK)
        st = load_upstream(&ld, root, upstream);
    if (st != MS_OK)
        return st;
    sc->upstream = ld.upstream;
    /* calibration_data: false, a run given no dataset (state.data.calib None) */
    const ms_node *data = ms_node_get(root, "calibration_data");
    bool given = true;
    if (data && !ms_node_is_null(data) && !ms_node_as_bool(data, &given))
        return bad(&ld, data, "write calibration_data: true or false",
                   "'calibration_data' must be a boolean, not %s '%s'", ms_node_type_name(data),
                   text_of(data));
    sc->no_calibration_data = !given;
    const ms_node *index = ms_node_get(root, "index");
    if (index && !ms_node_is_null(index)) {
        if (index->kind == MS_NODE_SCALAR && !strcmp(index->value, "upstream"))
            ld.index_mode = MS_INDEX_UPSTREAM;
        else if (!(index->kind == MS_NODE_SCALAR && !strcmp(index->value, "step")))
            return bad(&ld, index, "valid: step (default), upstream", "unknown index mode '%s'%s",
                       text_of(index), "");
    }
    sc->index_mode = ld.index_mode;
    if ((st = load_clock(&ld, ms_node_get(root, "clock"))) != MS_OK)
        return st;
    const ms_node *model = ms_node_get(root, "model");
    if (model && !ms_node_is_null(model) && !ms_node_is_string(model))
        return bad(&ld, model, "give the path of a model spec, e.g. samples/models/tiny.yaml",
                   "'model' must be a path, not %s%s", ms_node_type_name(model), "");
    if (model && !ms_node_is_null(model)) {
        /* tiny and small are names; a path is relative to the scenario file */
        const char *v = model->value, *slash = strrchr(ld.file, '/');
        bool named = !strcmp(v, "tiny") || !strcmp(v, "small");
        size_t len = strlen(v) + strlen(ld.file) + 2;
        sc->model = malloc(len);
        if (!sc->model)
            return MS_ERR_NOMEM;
        if (named || v[0] == '/' || !slash)
            snprintf(sc->model, len, "%s", v);
        else
            snprintf(sc->model, len, "%.*s/%s", (int)(slash - ld.file), ld.file, v);
        sc->model_line = model->line;
        sc->model_col = model->col;
    }
    st = load_recipe(sc, &ld, text, root);
    ld_out->recipe_listed = ld.recipe_listed;
    if (st != MS_OK)
        return st;
    ld_out->recipe_listed = false; /* later problems are the scenario's own */
    ld.n_modifiers = ms_recipe_count(sc->recipe);
    const ms_node *calls = ms_node_get(root, "calls");
    if (!calls || ms_node_is_null(calls))
        return MS_OK;
    if (calls->kind != MS_NODE_SEQ)
        return bad(&ld, calls, "write calls as a list: calls: [initialize, finalize]",
                   "'calls' must be a list, not a %s%s", ms_node_type_name(calls), "");
    sc->calls = calloc(calls->count ? calls->count : 1, sizeof *sc->calls);
    if (!sc->calls)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < calls->count; i++) {
        if ((st = load_call(&ld, calls->items[i], &sc->calls[i])) != MS_OK)
            return st;
        sc->n_calls = i + 1;
    }
    return MS_OK;
}

ms_status ms_scenario_parse_as(const char *text, size_t len, const char *path,
                               const ms_upstream *upstream, ms_scenario **out, ms_diag_list *diags)
{
    *out = NULL;
    ms_doc *doc = NULL;
    ms_diag diag;
    ms_diag_clear(&diag);
    loader ld = {.file = path, .diag = &diag, .diags = diags};
    ms_scenario *sc = calloc(1, sizeof *sc);
    ms_status st = sc ? MS_OK : MS_ERR_NOMEM;
    if (st == MS_OK)
        st = ms_doc_parse(text, len, path, &doc, &diag);
    if (st == MS_OK)
        st = load(sc, &ld, text, ms_doc_root(doc), upstream);
    /* the recipe keeps its own document; the scenario's is no longer needed */
    ms_doc_free(doc);
    if (st != MS_OK) {
        if (!ld.recipe_listed && diag.message[0] && ms_diag_list_add(diags, &diag) != MS_OK)
            st = MS_ERR_NOMEM;
        ms_scenario_free(sc);
        return st;
    }
    *out = sc;
    return MS_OK;
}

ms_status ms_scenario_parse(const char *text, size_t len, const char *path, ms_scenario **out,
                            ms_diag_list *diags)
{
    return ms_scenario_parse_as(text, len, path, NULL, out, diags);
}

ms_status ms_scenario_load_as(const char *path, const ms_upstream *upstream, ms_scenario **out,
                              ms_diag_list *diags)
{
    *out = NULL;
    char *text;
    size_t len;
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_status st = ms_read_file(path, MAX_SCENARIO_BYTES, &text, &len, &diag);
    if (st != MS_OK)
        return ms_diag_list_add(diags, &diag) == MS_OK ? st : MS_ERR_NOMEM;
    st = ms_scenario_parse_as(text, len, path, upstream, out, diags);
    free(text);
    return st;
}

ms_status ms_scenario_load(const char *path, ms_scenario **out, ms_diag_list *diags)
{
    return ms_scenario_load_as(path, NULL, out, diags);
}

void ms_scenario_free(ms_scenario *sc)
{
    if (!sc)
        return;
    ms_recipe_free(sc->recipe);
    free(sc->calls);
    free(sc->model);
    free(sc);
}

ms_index_mode ms_scenario_index_mode(const ms_scenario *sc)
{
    return sc->index_mode;
}

bool ms_scenario_calibration_data(const ms_scenario *sc)
{
    return !sc->no_calibration_data;
}

ms_upstream ms_scenario_upstream(const ms_scenario *sc)
{
    return sc->upstream;
}

const char *ms_scenario_model(const ms_scenario *sc, int *line, int *col)
{
    if (line)
        *line = sc->model_line;
    if (col)
        *col = sc->model_col;
    return sc->model;
}

const ms_recipe *ms_scenario_recipe(const ms_scenario *sc)
{
    return sc->recipe;
}

size_t ms_scenario_call_count(const ms_scenario *sc)
{
    return sc->n_calls;
}

const ms_call *ms_scenario_call_at(const ms_scenario *sc, size_t i)
{
    return i < sc->n_calls ? &sc->calls[i] : NULL;
}

/* The kind the top-level keys of a block-style YAML text say, from its
 * first bytes: lines that start in column 0 with `key:`. */
static ms_file_kind kind_of_keys(const char *text)
{
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *colon = memchr(line, ':', len);
        if (colon && colon > line && !strchr(" \t#-[{%'\"?", line[0])) {
            size_t klen = (size_t)(colon - line);
            if ((klen == 5 && !memcmp(line, "calls", 5)) ||
                (klen == 6 && !memcmp(line, "recipe", 6)) ||
                (klen == 11 && !memcmp(line, "recipe_file", 11)))
                return MS_FILE_SCENARIO;
            if (klen > 6 && !memcmp(colon - 6, "_stage", 6))
                return MS_FILE_RECIPE;
        }
        if (!end)
            break;
        line = end + 1;
    }
    return MS_FILE_UNKNOWN;
}

ms_file_kind ms_scenario_sniff(const char *path)
{
    ms_recipe_format format = ms_recipe_format_of(path);
    if (format == MS_FORMAT_JSON || format == MS_FORMAT_MARKDOWN)
        return MS_FILE_RECIPE;
    /* the first 64 KiB tell for block-style files, without parsing a 50 MB
     * scenario twice */
    enum { PREFIX = 64 * 1024, PARSE_WHOLE = 1024 * 1024 };
    int fd;
    size_t size;
    ms_diag diag;
    if (ms_open_input(path, &fd, &size, &diag) != MS_OK)
        return MS_FILE_UNKNOWN;
    char *head = malloc(PREFIX + 1);
    ssize_t got = head ? read(fd, head, PREFIX) : -1;
    close(fd);
    ms_file_kind kind = MS_FILE_UNKNOWN;
    if (got > 0) {
        head[got] = '\0';
        kind = kind_of_keys(head);
    }
    free(head);
    if (kind != MS_FILE_UNKNOWN || size > PARSE_WHOLE)
        return kind;
    /* flow style, or keys past the prefix: what the parsed document says */
    ms_doc *doc = NULL;
    if (ms_doc_load_file(path, PARSE_WHOLE, &doc, &diag) != MS_OK)
        return MS_FILE_UNKNOWN;
    const ms_node *root = ms_doc_root(doc);
    if (root && root->kind == MS_NODE_MAP) {
        if (ms_node_get(root, "calls") || ms_node_get(root, "recipe") ||
            ms_node_get(root, "recipe_file"))
            kind = MS_FILE_SCENARIO;
        for (size_t i = 0; i < root->count && kind == MS_FILE_UNKNOWN; i++)
            if (root->keys[i]->kind == MS_NODE_SCALAR &&
                ms_ends_with(root->keys[i]->value, "_stage"))
                kind = MS_FILE_RECIPE;
    }
    ms_doc_free(doc);
    return kind;
}
