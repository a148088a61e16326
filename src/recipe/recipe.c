#include "recipe.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/json.h"
#include "../util/text.h"
#include "../util/array.h"

struct ms_recipe {
    ms_doc *doc;
    ms_recipe_entry *entries;
    size_t count;
    char **names; /* stage and group names the entries point to */
    size_t n_names;
    char *stage_filter;
    size_t n_stages;
};

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
    if (!ms_array_reserve(&r->entries, cap, r->count, sizeof *r->entries))
        return MS_ERR_NOMEM;
    r->entries[r->count++] = *e;
    return MS_OK;
}

/* Strict (ms_recipe_parse) stops at an unknown type or arguments that are not
 * a map; lenient (ms_recipe_from_doc) keeps them for the checks to report. */
static ms_status collect(ms_recipe *r, const char *stage_filter, bool lenient, ms_diag *diag)
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
        if (!ms_ends_with(stage_key, "_stage") || stage->kind != MS_NODE_MAP)
            continue;
        const char *stage_name = keep_name(r, remove_all(stage_key, "_stage"));
        if (!stage_name)
            return MS_ERR_NOMEM;
        r->n_stages++;
        for (size_t g = 0; g < stage->count; g++) {
            const char *group_key = stage->keys[g]->value;
            const ms_node *group = stage->items[g];
            if (!ms_ends_with(group_key, "_modifiers") || group->kind != MS_NODE_MAP)
                continue;
            const char *group_name = keep_name(r, remove_all(group_key, "_modifiers"));
            if (!group_name)
                return MS_ERR_NOMEM;
            for (size_t m = 0; m < group->count; m++) {
                const ms_node *key = group->keys[m], *args = group->items[m];
                ms_recipe_entry e = {.stage = stage_name,
                                     .group = group_name,
                                     .type_key = key,
                                     .args = args,
                                     .type = ms_modifier_type_find(key->value)};
                if (!e.type && !lenient) {
                    ms_status st =
                        ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE-UNKNOWN", file, key->line,
                                    key->col, "unknown modifier type '%s'", key->value);
                    ms_diag_hint(diag, "did you mean '%s'?", ms_modifier_type_nearest(key->value));
                    return st;
                }
                if (!lenient && args && args->kind != MS_NODE_MAP && !ms_node_is_null(args))
                    return ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE", file, args->line, args->col,
                                       "the arguments of %s must be a map, not a %s", key->value,
                                       ms_node_type_name(args));
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

static bool is_quantization(const ms_recipe_entry *e)
{
    const char *name = e->type_key->value;
    return !strcmp(name, "QuantizationModifier") || !strcmp(name, "GPTQModifier");
}

size_t ms_recipe_next_awq_unordered(const ms_recipe *r, size_t from)
{
    size_t last_quant = r->count; /* none */
    for (size_t i = r->count; i-- > from;) {
        if (is_quantization(&r->entries[i])) {
            last_quant = i;
            break;
        }
    }
    for (size_t i = from; i < r->count; i++)
        if (!strcmp(r->entries[i].type_key->value, "AWQModifier") &&
            (last_quant == r->count || last_quant < i))
            return i;
    return r->count;
}

static ms_status check_awq_order(const ms_recipe *r, ms_diag *diag)
{
    size_t i = ms_recipe_next_awq_unordered(r, 0);
    if (i == r->count)
        return MS_OK;
    const ms_node *k = r->entries[i].type_key;
    ms_status st = ms_diag_set(diag, MS_ERR_INVALID, "E-AWQ-ORDER", ms_doc_file(r->doc), k->line,
                               k->col, MS_AWQ_ORDER_MESSAGE);
    ms_diag_hint(diag, MS_AWQ_ORDER_HINT);
    return st;
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
        st = collect(r, stage, false, diag);
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

ms_status ms_recipe_load_file(const char *path, const char *stage, ms_recipe **out, ms_diag *diag)
{
    *out = NULL;
    ms_doc *doc;
    ms_status st = ms_recipe_read_doc(path, &doc, diag);
    if (st != MS_OK)
        return st;
    ms_recipe *r = calloc(1, sizeof *r);
    if (!r) {
        ms_doc_free(doc);
        return MS_ERR_NOMEM;
    }
    r->doc = doc;
    st = collect(r, stage, false, diag);
    if (st == MS_OK)
        st = check_awq_order(r, diag);
    if (st != MS_OK) {
        ms_recipe_free(r);
        return st;
    }
    *out = r;
    return MS_OK;
}

ms_status ms_recipe_from_doc(ms_doc *doc, const char *stage, ms_recipe **out, ms_diag *diag)
{
    *out = NULL;
    ms_recipe *r = calloc(1, sizeof *r);
    if (!r) {
        ms_doc_free(doc);
        return MS_ERR_NOMEM;
    }
    r->doc = doc;
    ms_status st = MS_OK;
    if (stage && !(r->stage_filter = strdup(stage)))
        st = MS_ERR_NOMEM;
    if (st == MS_OK)
        st = collect(r, stage, true, diag);
    if (st != MS_OK) {
        ms_recipe_free(r);
        return st;
    }
    *out = r;
    return MS_OK;
}

const ms_doc *ms_recipe_doc(const ms_recipe *r)
{
    return r->doc;
}

const char *ms_recipe_stage_filter(const ms_recipe *r)
{
    return r->stage_filter;
}

size_t ms_recipe_stage_count(const ms_recipe *r)
{
    return r->n_stages;
}

/* ---- reading files as upstream does ---- */

ms_recipe_format ms_recipe_format_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return MS_FORMAT_AUTO;
    if (!strcasecmp(dot, ".json"))
        return MS_FORMAT_JSON;
    if (!strcasecmp(dot, ".yaml") || !strcasecmp(dot, ".yml"))
        return MS_FORMAT_YAML;
    if (!strcasecmp(dot, ".md"))
        return MS_FORMAT_MARKDOWN;
    return MS_FORMAT_AUTO;
}

static void position_of(const char *text, size_t offset, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            ++*line;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            ++*col;
        }
    }
}

/* Length of the UTF-8 sequence at `p` (1..4), or 0 when it is invalid. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    size_t n = p[0] < 0x80             ? 1
               : (p[0] & 0xE0) == 0xC0 ? 2
               : (p[0] & 0xF0) == 0xE0 ? 3
               : (p[0] & 0xF8) == 0xF0 ? 4
                                       : 0;
    if (!n || n > left || (n == 2 && p[0] < 0xC2))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((n == 3 && p[0] == 0xE0 && p[1] < 0xA0) || (n == 4 && p[0] == 0xF0 && p[1] < 0x90) ||
        (n == 4 && p[0] > 0xF4) || (n == 3 && p[0] == 0xED && p[1] >= 0xA0))
        return 0;
    return n;
}

/* upstream opens recipes as UTF-8 text: refuse binary and other encodings
 * with the position of the first offending byte. */
static ms_status check_text(const char *text, size_t len, const char *file, ms_diag *diag)
{
    const unsigned char *p = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        int line, col;
        if (p[i] == 0) {
            position_of(text, i, &line, &col);
            ms_status st = ms_diag_set(diag, MS_ERR_SYNTAX, "E-BINARY", file, line, col,
                                       "the file holds a NUL byte: it is binary, not a recipe");
            ms_diag_hint(diag, "give a YAML, JSON or Markdown recipe file");
            return st;
        }
        size_t n = utf8_len(p + i, len - i);
        if (!n) {
            position_of(text, i, &line, &col);
            ms_status st = ms_diag_set(diag, MS_ERR_SYNTAX, "E-ENCODING", file, line, col,
                                       "byte 0x%02x is not valid UTF-8", p[i]);
            ms_diag_hint(diag, "save the file as UTF-8 (upstream reads recipes as UTF-8 text)");
            return st;
        }
        i += n;
    }
    return MS_OK;
}

/* upstream: re.search(r"^\s*(?:---|\+\+\+)(.*?)(?:---|\+\+\+)", re.S | re.M) */
static bool front_matter(const char *text, size_t len, size_t *start, size_t *end)
{
    for (size_t line = 0; line < len;) {
        size_t p = line;
        while (p < len && (text[p] == ' ' || text[p] == '\t' || text[p] == '\n' ||
                           text[p] == '\r' || text[p] == '\f' || text[p] == '\v'))
            p++;
        if (p + 3 <= len && (!strncmp(text + p, "---", 3) || !strncmp(text + p, "+++", 3))) {
            *start = p + 3;
            for (size_t q = *start; q + 3 <= len; q++) {
                if (!strncmp(text + q, "---", 3) || !strncmp(text + q, "+++", 3)) {
                    *end = q;
                    return true;
                }
            }
            return false;
        }
        const char *nl = memchr(text + line, '\n', len - line);
        if (!nl)
            break;
        line = (size_t)(nl - text) + 1;
    }
    return false;
}

/* json.loads refuses what libyaml reads as flow style (comments, single
 * quotes, trailing commas, unquoted words): check the JSON syntax first. */
static ms_status check_json(const char *text, size_t len, const char *file, ms_diag *diag)
{
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", text[i]))
        i++;
    ms_json_error err;
    if (i == len || ms_json_check(text, len, MS_DOC_MAX_DEPTH, &err))
        return MS_OK; /* nothing but whitespace: E-EMPTY says it better */
    int line, col;
    position_of(text, err.offset, &line, &col);
    ms_status st = ms_diag_set(diag, MS_ERR_SYNTAX, "E-JSON", file, line, col, "%s", err.message);
    ms_diag_hint(diag, "%s", err.hint);
    return st;
}

ms_status ms_recipe_parse_doc(const char *text, size_t len, const char *file,
                              ms_recipe_format format, ms_doc **out, ms_diag *diag)
{
    *out = NULL;
    ms_status st = check_text(text, len, file, diag);
    if (st != MS_OK)
        return st;
    size_t start = 0, end = len;
    if (format == MS_FORMAT_MARKDOWN && !front_matter(text, len, &start, &end)) {
        st = ms_diag_set(diag, MS_ERR_SYNTAX, "E-FRONTMATTER", file, 1, 1,
                         "no YAML front matter in this recipe card");
        ms_diag_hint(diag, "put the recipe between two '---' lines at the top of the file");
        return st;
    }
    if (format == MS_FORMAT_JSON && (st = check_json(text, len, file, diag)) != MS_OK)
        return st;
    ms_doc *doc;
    st = ms_doc_parse(text + start, end - start, file, &doc, diag);
    int line, col;
    position_of(text, start, &line, &col);
    if (st != MS_OK) {
        if (diag && diag->line > 0)
            diag->line += line - 1;
        return st;
    }
    ms_doc_shift(doc, line - 1, 0);
    const ms_node *root = ms_doc_root(doc);
    if (!root) {
        ms_doc_free(doc);
        st = ms_diag_set(diag, MS_ERR_SYNTAX, "E-EMPTY", file, line, 1, "the recipe is empty");
        ms_diag_hint(diag, "a recipe is a map of '*_stage' keys; upstream fails on an empty one");
        return st;
    }
    *out = doc;
    return MS_OK;
}

ms_status ms_recipe_read_doc(const char *path, ms_doc **out, ms_diag *diag)
{
    char *text;
    size_t len;
    *out = NULL;
    ms_status st = ms_read_file(path, MS_RECIPE_MAX_BYTES, &text, &len, diag);
    if (st != MS_OK)
        return st;
    st = ms_recipe_parse_doc(text, len, path, ms_recipe_format_of(path), out, diag);
    free(text);
    return st;
}

void ms_recipe_free(ms_recipe *r)
{
    if (!r)
        return;
    ms_doc_free(r->doc);
    free(r->stage_filter);
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
        ms_status st =
            ms_modifier_new(e->type, e->args, e->group, ms_doc_file(r->doc), &mods[i], diag);
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

ms_status ms_recipe_build_lifecycle(const ms_recipe *r, ms_lifecycle **out, ms_diag *diag)
{
    ms_modifier **mods;
    size_t n;
    *out = NULL;
    ms_status st = ms_recipe_build_modifiers(r, &mods, &n, diag);
    if (st != MS_OK)
        return st;
    st = ms_lifecycle_new(mods, n, out);
    if (st != MS_OK) {
        for (size_t i = 0; i < n; i++)
            ms_modifier_free(mods[i]);
        free(mods);
    }
    return st;
}
