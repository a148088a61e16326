#include "recipe.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_RECIPE_BYTES = 64 * 1024 * 1024 };

struct ms_recipe {
    ms_doc *doc;
    ms_recipe_entry *entries;
    size_t count;
    char **names; /* stage and group names the entries point to */
    size_t n_names;
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Python's str.replace(old, ""): every occurrence goes. */
static char *remove_all(const char *s, const char *old)
{
    char *out = malloc(strlen(s) + 1);
    if (!out)
        return NULL;
    size_t lo = strlen(old), n = 0;
    while (*s) {
        if (!strncmp(s, old, lo)) {
            s += lo;
            continue;
        }
        out[n++] = *s++;
    }
    out[n] = '\0';
    return out;
}

static const char *keep_name(ms_recipe *r, char *name)
{
    if (!name)
        return NULL;
    char **names = realloc(r->names, (r->n_names + 1) * sizeof *names);
    if (!names) {
        free(name);
        return NULL;
    }
    r->names = names;
    names[r->n_names++] = name;
    return name;
}

static ms_status add_entry(ms_recipe *r, const ms_recipe_entry *e, size_t *cap)
{
    if (r->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        ms_recipe_entry *entries = realloc(r->entries, ncap * sizeof *entries);
        if (!entries)
            return MS_ERR_NOMEM;
        r->entries = entries;
        *cap = ncap;
    }
    r->entries[r->count++] = *e;
    return MS_OK;
}

static ms_status collect(ms_recipe *r, const char *stage_filter, ms_diag *diag)
{
    const ms_node *root = ms_doc_root(r->doc);
    const char *file = ms_doc_file(r->doc);
    if (!root)
        return MS_OK;
    if (root->kind != MS_NODE_MAP)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-LAYOUT", file, root->line, root->col,
                           "a recipe must be a map of stages, not a %s", ms_node_type_name(root));
    size_t cap = 0;
    for (size_t s = 0; s < root->count; s++) {
        const char *stage_key = root->keys[s]->value;
        const ms_node *stage = root->items[s];
        if (stage_filter && strncmp(stage_key, stage_filter, strlen(stage_filter)) != 0)
            continue;
        /* upstream skips what is not a `*_stage` map; lint reports it */
        if (!ends_with(stage_key, "_stage") || stage->kind != MS_NODE_MAP)
            continue;
        const char *stage_name = keep_name(r, remove_all(stage_key, "_stage"));
        if (!stage_name)
            return MS_ERR_NOMEM;
        for (size_t g = 0; g < stage->count; g++) {
            const char *group_key = stage->keys[g]->value;
            const ms_node *group = stage->items[g];
            if (!ends_with(group_key, "_modifiers") || group->kind != MS_NODE_MAP)
                continue;
            const char *group_name = keep_name(r, remove_all(group_key, "_modifiers"));
            if (!group_name)
                return MS_ERR_NOMEM;
            for (size_t m = 0; m < group->count; m++) {
                const ms_node *key = group->keys[m], *args = group->items[m];
                ms_recipe_entry e = {.stage = stage_name, .group = group_name,
                                     .type_key = key, .args = args,
                                     .type = ms_modifier_type_find(key->value)};
                if (!e.type) {
                    ms_status st = ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE-UNKNOWN", file,
                                               key->line, key->col,
                                               "unknown modifier type '%s'", key->value);
                    ms_diag_hint(diag, "did you mean '%s'?",
                                 ms_modifier_type_nearest(key->value));
                    return st;
                }
                if (args && args->kind != MS_NODE_MAP && !ms_node_is_null(args))
                    return ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE", file, args->line,
                                       args->col, "the arguments of %s must be a map, not a %s",
                                       key->value, ms_node_type_name(args));
                const ms_node *g_arg = ms_node_get(args, "group");
                if (g_arg && g_arg->kind == MS_NODE_SCALAR && !ms_node_is_null(g_arg))
                    e.group = g_arg->value;
                ms_status st = add_entry(r, &e, &cap);
                if (st != MS_OK)
                    return st;
            }
        }
    }
    return MS_OK;
}

/* upstream refuses AWQ without a quantization modifier after it */
static ms_status check_awq_order(const ms_recipe *r, ms_diag *diag)
{
    for (size_t i = 0; i < r->count; i++) {
        if (strcmp(r->entries[i].type_key->value, "AWQModifier") != 0)
            continue;
        bool followed = false;
        for (size_t j = i + 1; j < r->count && !followed; j++) {
            const char *name = r->entries[j].type_key->value;
            followed = !strcmp(name, "QuantizationModifier") || !strcmp(name, "GPTQModifier");
        }
        if (!followed) {
            const ms_node *k = r->entries[i].type_key;
            ms_status st = ms_diag_set(diag, MS_ERR_INVALID, "E-AWQ-ORDER", ms_doc_file(r->doc),
                                       k->line, k->col,
                                       "AWQModifier has no quantization modifier after it");
            ms_diag_hint(diag, "add a QuantizationModifier or GPTQModifier after the AWQModifier");
            return st;
        }
    }
    return MS_OK;
}

ms_status ms_recipe_parse(const char *text, size_t len, const char *file, int line_offset,
                          int col_offset, const char *stage, ms_recipe **out, ms_diag *diag)
{
    *out = NULL;
    ms_recipe *r = calloc(1, sizeof *r);
    if (!r)
        return MS_ERR_NOMEM;
    ms_status st = ms_doc_parse(text, len, file, &r->doc, diag);
    if (st == MS_OK) {
        ms_doc_shift(r->doc, line_offset, col_offset);
        st = collect(r, stage, diag);
    } else if (diag && diag->line > 0) {
        diag->line += line_offset;
        diag->col += col_offset;
    }
    if (st == MS_OK)
        st = check_awq_order(r, diag);
    if (st != MS_OK) {
        ms_recipe_free(r);
        return st;
    }
    *out = r;
    return MS_OK;
}

ms_status ms_recipe_load_file(const char *path, const char *stage, ms_recipe **out,
                              ms_diag *diag)
{
    char *text;
    size_t len;
    *out = NULL;
    ms_status st = ms_read_file(path, MAX_RECIPE_BYTES, &text, &len, diag);
    if (st != MS_OK)
        return st;
    st = ms_recipe_parse(text, len, path, 0, 0, stage, out, diag);
    free(text);
    return st;
}

void ms_recipe_free(ms_recipe *r)
{
    if (!r)
        return;
    ms_doc_free(r->doc);
    for (size_t i = 0; i < r->n_names; i++)
        free(r->names[i]);
    free(r->names);
    free(r->entries);
    free(r);
}

size_t ms_recipe_count(const ms_recipe *r)
{
    return r->count;
}

const ms_recipe_entry *ms_recipe_entry_at(const ms_recipe *r, size_t i)
{
    return i < r->count ? &r->entries[i] : NULL;
}

ms_status ms_recipe_build_modifiers(const ms_recipe *r, ms_modifier ***out, size_t *count,
                                    ms_diag *diag)
{
    *out = NULL;
    *count = 0;
    ms_modifier **mods = calloc(r->count ? r->count : 1, sizeof *mods);
    if (!mods)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < r->count; i++) {
        const ms_recipe_entry *e = &r->entries[i];
        ms_status st = ms_modifier_new(e->type, e->args, e->group, ms_doc_file(r->doc), &mods[i],
                                       diag);
        if (st != MS_OK) {
            for (size_t j = 0; j < i; j++)
                ms_modifier_free(mods[j]);
            free(mods);
            return st;
        }
    }
    *out = mods;
    *count = r->count;
    return MS_OK;
}
