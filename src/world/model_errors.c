#include "model_errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/text.h"

/* How many modules one target selects; (size_t)-1 when it does not parse. */
static size_t hits(const ms_model *model, const char *target, ms_match *m)
{
    ms_diag d;
    ms_diag_clear(&d);
    memset(m, 0, sizeof *m);
    if (ms_model_match(model, &target, 1, NULL, 0, m, &d) != MS_OK) {
        memset(m, 0, sizeof *m);
        return (size_t)-1;
    }
    return m->count;
}

/* Whether a near-miss target parses and selects something. */
static bool selects(const ms_model *model, const char *target, ms_match *m)
{
    size_t n = hits(model, target, m);
    return n && n != (size_t)-1;
}

/* `text` with regex metacharacters escaped, after `prefix`; false if it
 * does not fit. */
static bool escaped(const char *prefix, const char *text, const char *suffix, char *out,
                    size_t size)
{
    size_t n = (size_t)snprintf(out, size, "%s", prefix);
    for (const char *p = text; *p && n + 2 < size; p++) {
        if (strchr(".^$*+?()[]{}|\\", *p))
            out[n++] = '\\';
        out[n++] = *p;
    }
    out[n] = 0;
    return n + strlen(suffix) + 1 < size && strcat(out, suffix);
}

/* A module name or class within two edits of `t`, or in another case:
 * the target that names it. */
static bool close_name(const ms_model *model, const char *t, char *out, size_t size)
{
    size_t best = 3;
    for (size_t i = 0; i < ms_model_module_count(model); i++) {
        const ms_module *mod = ms_model_module(model, i);
        const char *names[2] = {mod->name, mod->class_name};
        for (int k = 0; k < 2; k++) {
            if (!names[k][0])
                continue;
            size_t d = !strcasecmp(names[k], t) ? 0 : ms_edit_distance(names[k], t);
            if (d < best) {
                best = d;
                snprintf(out, size, "%s", names[k]);
            }
        }
    }
    return best < 3;
}

/* The first near miss of `t` that selects modules: `variant` gets it. */
static size_t near_miss(const ms_model *model, const char *t, char *variant, size_t size,
                        ms_match *m)
{
    bool re = !strncmp(t, "re:", 3);
    const char *body = re ? t + 3 : t;
    char base[512];
    snprintf(base, sizeof base, "%s", body);
    size_t len = strlen(base);
    static const char *const params[] = {".weight", ".bias", "\\.weight", "\\.bias"};
    for (size_t k = 0; k < 4; k++) {
        size_t pl = strlen(params[k]);
        if (len > pl && !strcmp(base + len - pl, params[k])) {
            base[len - pl] = 0;
            snprintf(variant, size, "%s%s", re ? "re:" : "", base);
            if (selects(model, variant, m))
                return m->count;
            ms_match_free(m);
            break;
        }
    }
    if (re) {
        /* upstream matches at the start of the name (re.match) */
        snprintf(variant, size, "re:.*%s", base);
        if (selects(model, variant, m))
            return m->count;
        ms_match_free(m);
        return 0;
    }
    if (escaped("re:.*\\.", base, "$", variant, size) && selects(model, variant, m))
        return m->count;
    ms_match_free(m);
    if (close_name(model, base, variant, size) && selects(model, variant, m))
        return m->count;
    ms_match_free(m);
    return 0;
}

static ms_status check_one(const ms_model *model, const char *model_name, const char *file,
                           const char *type, const char *field, const ms_node *t, ms_diag_list *out)
{
    if (!t || !ms_node_is_string(t))
        return MS_OK;
    ms_match m;
    size_t n = hits(model, t->value, &m);
    ms_match_free(&m);
    /* a regex that does not parse is the run's error, not a miss */
    if (n)
        return MS_OK;
    char variant[600];
    n = near_miss(model, t->value, variant, sizeof variant, &m);
    ms_diag w;
    ms_diag_clear(&w);
    ms_diag_set(&w, MS_OK, "W-TARGET-UNMATCHED", file, t->line, t->col,
                "%s %s '%s' matches no module of %s: upstream selects nothing with it", type, field,
                t->value, model_name);
    if (n) {
        char names[400] = "";
        for (size_t k = 0; k < m.count && k < 3; k++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "",
                     ms_model_module(model, m.modules[k])->name);
        ms_diag_hint(&w, "'%s' would match %zu: %s%s", variant, n, names, n > 3 ? ", ..." : "");
    } else {
        ms_diag_hint(&w,
                     "targets are module names (model.layers.0.mlp.up_proj), class names "
                     "(Linear, LlamaDecoderLayer) or re:<regex> matched at the start of the "
                     "name; modsim model show %s lists them",
                     model_name);
    }
    ms_match_free(&m);
    w.severity = MS_SEV_WARNING;
    return ms_diag_list_add(out, &w);
}

static ms_status check_list(const ms_model *model, const char *model_name, const char *file,
                            const char *type, const char *field, const ms_node *v,
                            ms_diag_list *out)
{
    if (!v)
        return MS_OK;
    if (v->kind != MS_NODE_SEQ)
        return check_one(model, model_name, file, type, field, v, out);
    ms_status st = MS_OK;
    for (size_t i = 0; st == MS_OK && i < v->count; i++)
        st = check_one(model, model_name, file, type, field, v->items[i], out);
    return st;
}

ms_status ms_world_check_targets(const ms_model *model, const char *model_name,
                                 const ms_recipe *recipe, ms_diag_list *out)
{
    const char *file = ms_doc_file(ms_recipe_doc(recipe));
    ms_status st = MS_OK;
    for (size_t i = 0; st == MS_OK && i < ms_recipe_count(recipe); i++) {
        const ms_recipe_entry *e = ms_recipe_entry_at(recipe, i);
        const ms_node *args = e->args;
        if (!args || args->kind != MS_NODE_MAP)
            continue;
        const char *type = e->type_key->value;
        st = check_list(model, model_name, file, type, "target", ms_node_get(args, "targets"), out);
        const ms_node *groups = ms_node_get(args, "config_groups");
        for (size_t g = 0;
             st == MS_OK && groups && groups->kind == MS_NODE_MAP && g < groups->count; g++)
            if (groups->items[g]->kind == MS_NODE_MAP)
                st = check_list(model, model_name, file, type, "target",
                                ms_node_get(groups->items[g], "targets"), out);
        const ms_node *scheme = ms_node_get(args, "scheme");
        if (st == MS_OK && scheme && scheme->kind == MS_NODE_MAP && scheme->count &&
            !ms_node_get(scheme, "weights"))
            for (size_t k = 0; st == MS_OK && k < scheme->count; k++)
                st = check_list(model, model_name, file, type, "target", scheme->items[k], out);
    }
    return st;
}

void ms_world_sparsity_counts(const ms_model *model, const ms_node *args, size_t *given,
                              size_t *targets)
{
    *given = *targets = 0;
    const ms_node *sp = ms_node_get(args, "sparsity");
    const ms_node *profile = ms_node_get(args, "sparsity_profile");
    if (profile && ms_node_is_string(profile) && !strcasecmp(profile->value, "owl"))
        *given = (size_t)ms_model_get_spec(model)->num_layers; /* one per decoder layer */
    else if (sp && (sp->kind == MS_NODE_SEQ || sp->kind == MS_NODE_MAP))
        *given = sp->count;
    else
        return;
    const ms_node *t = ms_node_get(args, "targets");
    size_t n = t && t->kind == MS_NODE_SEQ ? t->count : 1;
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (!names)
        return;
    size_t k = 0;
    if (!t || ms_node_is_null(t))
        names[k++] = "Linear";
    else
        for (size_t i = 0; i < n; i++) {
            const ms_node *item = t->kind == MS_NODE_SEQ ? t->items[i] : t;
            if (ms_node_is_string(item))
                names[k++] = item->value;
        }
    ms_match m;
    ms_diag d;
    ms_diag_clear(&d);
    if (ms_model_match(model, names, k, NULL, 0, &m, &d) == MS_OK) {
        *targets = m.count;
        ms_match_free(&m);
    }
    free(names);
}
