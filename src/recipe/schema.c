#include "schema.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/codes.h"
#include "../util/text.h"
#include "../util/array.h"
#include "renames.h"

/* generated from schemas/recipe.schema.json by scripts/embed_schema.py */
extern const char ms_schema_json[];
extern const size_t ms_schema_json_len;

enum { MAX_SCHEMA_DEPTH = 64 };

typedef struct compiled {
    const char *source;
    regex_t re;
} compiled;

struct ms_schema {
    ms_doc *doc;
    const ms_node *root, *defs;
    const ms_node *modifiers; /* properties of $defs.modifierGroup: type -> $ref */
    compiled *res;
    size_t n_res, cap_res;
    int upstream_minor; /* the llm-compressor release checked against: 0.MINOR */
};

/* ---- loading ---- */

static ms_status add_pattern(ms_schema *s, const char *source, const ms_node *at, ms_diag *diag)
{
    for (size_t i = 0; i < s->n_res; i++)
        if (!strcmp(s->res[i].source, source))
            return MS_OK;
    if (!ms_array_reserve(&s->res, &s->cap_res, s->n_res, sizeof *s->res))
        return MS_ERR_NOMEM;
    compiled *c = &s->res[s->n_res];
    c->source = source;
    if (regcomp(&c->re, source, REG_EXTENDED | REG_NOSUB) != 0)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SCHEMA", ms_doc_file(s->doc), at->line, at->col,
                           "the schema's pattern '%s' is not a POSIX extended regex", source);
    s->n_res++;
    return MS_OK;
}

/* Patterns are compiled once, so validation never compiles. */
static ms_status compile_patterns(ms_schema *s, const ms_node *n, int depth, ms_diag *diag)
{
    if (!n || n->kind == MS_NODE_SCALAR || depth > MAX_SCHEMA_DEPTH)
        return MS_OK; /* a scalar's count is its length, not a number of children */
    ms_status st = MS_OK;
    for (size_t i = 0; i < n->count && st == MS_OK; i++) {
        const ms_node *v = n->items[i];
        if (n->kind == MS_NODE_MAP) {
            const char *k = n->keys[i]->value;
            if (!strcmp(k, "pattern") && v->kind == MS_NODE_SCALAR)
                st = add_pattern(s, v->value, v, diag);
            else if ((!strcmp(k, "patternProperties") || !strcmp(k, "x-misplaced")) &&
                     v->kind == MS_NODE_MAP)
                for (size_t j = 0; j < v->count && st == MS_OK; j++)
                    st = add_pattern(s, v->keys[j]->value, v->keys[j], diag);
        }
        if (st == MS_OK)
            st = compile_patterns(s, v, depth + 1, diag);
    }
    return st;
}

ms_status ms_schema_parse(const char *text, size_t len, ms_schema **out, ms_diag *diag)
{
    *out = NULL;
    ms_schema *s = calloc(1, sizeof *s);
    if (!s)
        return MS_ERR_NOMEM;
    ms_status st = ms_doc_parse(text, len, "recipe.schema.json", &s->doc, diag);
    if (st == MS_OK) {
        s->root = ms_doc_root(s->doc);
        if (!s->root || s->root->kind != MS_NODE_MAP)
            st = ms_diag_set(diag, MS_ERR_INVALID, "E-SCHEMA", "recipe.schema.json", 1, 1,
                             "the schema is not a JSON object");
    }
    if (st == MS_OK) {
        s->upstream_minor = MS_SCHEMA_UPSTREAM_DEFAULT_MINOR;
        s->defs = ms_node_get(s->root, "$defs");
        s->modifiers = ms_node_get(ms_node_get(s->defs, "modifierGroup"), "properties");
        st = compile_patterns(s, s->root, 0, diag);
    }
    if (st != MS_OK) {
        ms_schema_free(s);
        return st;
    }
    *out = s;
    return MS_OK;
}

ms_status ms_schema_new(ms_schema **out, ms_diag *diag)
{
    return ms_schema_parse(ms_schema_json, ms_schema_json_len, out, diag);
}

void ms_schema_free(ms_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_res; i++)
        regfree(&s->res[i].re);
    free(s->res);
    ms_doc_free(s->doc);
    free(s);
}

/* "0.MINOR" (a patch part is ignored), or -1. */
static int minor_of(const char *version)
{
    char *end;
    if (!version || strncmp(version, "0.", 2) || !(version[2] >= '0' && version[2] <= '9'))
        return -1;
    long minor = strtol(version + 2, &end, 10);
    return (*end && *end != '.') || minor > 1000 ? -1 : (int)minor;
}

ms_status ms_schema_set_upstream(ms_schema *s, const char *version)
{
    int minor = minor_of(version);
    if (minor < 0)
        return MS_ERR_INVALID;
    s->upstream_minor = minor;
    return MS_OK;
}

int ms_schema_upstream_minor(const ms_schema *s)
{
    return s->upstream_minor;
}

const ms_node *ms_schema_resolve(const ms_schema *s, const ms_node *node)
{
    for (int hops = 0; node && hops < MAX_SCHEMA_DEPTH; hops++) {
        const ms_node *ref = ms_node_get(node, "$ref");
        if (!ref || ref->kind != MS_NODE_SCALAR)
            return node;
        if (!strcmp(ref->value, "#"))
            node = s->root;
        else if (!strncmp(ref->value, "#/$defs/", 8))
            node = ms_node_get(s->defs, ref->value + 8);
        else
            return NULL;
    }
    return node;
}

static bool re_match(const ms_schema *s, const char *pattern, const char *text)
{
    for (size_t i = 0; i < s->n_res; i++)
        if (!strcmp(s->res[i].source, pattern))
            return regexec(&s->res[i].re, text, 0, NULL, 0) == 0;
    return false;
}

/* ---- instance types as PyYAML resolves them ---- */

static bool is_type(const ms_node *n, const char *t)
{
    double d;
    if (!strcmp(t, "object"))
        return n->kind == MS_NODE_MAP;
    if (!strcmp(t, "array"))
        return n->kind == MS_NODE_SEQ;
    if (!strcmp(t, "string"))
        return ms_node_is_string(n);
    if (!strcmp(t, "number"))
        return ms_node_as_double(n, &d);
    if (!strcmp(t, "integer")) /* 128.0 passes, as pydantic's lax int does */
        return ms_node_as_double(n, &d) && isfinite(d) && floor(d) == d;
    if (!strcmp(t, "boolean")) {
        bool b;
        return ms_node_as_bool(n, &b);
    }
    if (!strcmp(t, "null"))
        return ms_node_is_null(n);
    return false;
}

static const char *type_word(const char *t)
{
    if (!strcmp(t, "object"))
        return "map";
    if (!strcmp(t, "array"))
        return "sequence";
    return t;
}

static bool matches_type(const ms_node *type, const ms_node *n)
{
    if (type->kind == MS_NODE_SCALAR)
        return is_type(n, type->value);
    for (size_t i = 0; i < type->count; i++)
        if (type->items[i]->kind == MS_NODE_SCALAR && is_type(n, type->items[i]->value))
            return true;
    return false;
}

/* "integer or null", "string, map or null" */
static void types_text(const ms_node *type, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (type->kind == MS_NODE_SCALAR) {
        snprintf(buf, cap, "%s", type_word(type->value));
        return;
    }
    size_t len = 0;
    for (size_t i = 0; i < type->count && len < cap; i++) {
        const char *sep = i == 0 ? "" : i + 1 == type->count ? " or " : ", ";
        len +=
            (size_t)snprintf(buf + len, cap - len, "%s%s", sep, type_word(type->items[i]->value));
    }
}

/* Short flow-style text of a node for messages: 'x', 3, [Linear], a map. */
static void node_text(const ms_node *n, char *buf, size_t cap)
{
    if (!n) {
        snprintf(buf, cap, "nothing");
    } else if (n->kind == MS_NODE_SCALAR) {
        snprintf(buf, cap, ms_node_is_string(n) ? "'%.80s'" : "%.80s", n->value);
    } else if (n->kind == MS_NODE_SEQ && n->count <= 4) {
        size_t len = (size_t)snprintf(buf, cap, "[");
        for (size_t i = 0; i < n->count && len < cap; i++) {
            char item[100];
            node_text(n->items[i], item, sizeof item);
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", item);
        }
        if (len < cap)
            snprintf(buf + len, cap - len, "]");
    } else {
        snprintf(buf, cap, "a %s of %zu", n->kind == MS_NODE_MAP ? "map" : "sequence", n->count);
    }
}

static bool same_value(const ms_node *e, const ms_node *n, bool nocase)
{
    if (e->kind != MS_NODE_SCALAR || n->kind != MS_NODE_SCALAR)
        return false;
    if (ms_node_is_null(e))
        return ms_node_is_null(n);
    bool b1, b2;
    if (ms_node_as_bool(e, &b1))
        return ms_node_as_bool(n, &b2) && b1 == b2;
    double d1, d2;
    if (ms_node_as_double(e, &d1))
        return ms_node_as_double(n, &d2) && d1 == d2;
    if (!ms_node_is_string(n))
        return false;
    return nocase ? !strcasecmp(e->value, n->value) : !strcmp(e->value, n->value);
}

static bool flag(const ms_node *schema, const char *key)
{
    bool b = false;
    const ms_node *v = ms_node_get(schema, key);
    return v && ms_node_as_bool(v, &b) && b;
}

/* The candidate closest to `word`, or NULL when none is plausibly meant. Ties
 * go to a candidate of the same length (a transposition), and a candidate
 * that starts the word ("int" for "integer") counts as close. */
static const char *nearest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX, len = strlen(word);
    for (size_t i = 0; i < n; i++) {
        size_t cl = strlen(cands[i]);
        size_t d = ms_edit_distance(word, cands[i]);
        if (!strcasecmp(word, cands[i]) ||
            (cl >= 3 && cl < len && !strncasecmp(word, cands[i], cl)))
            d = 0;
        if (d < best_d || (d == best_d && best && cl == len && strlen(best) != len)) {
            best_d = d;
            best = cands[i];
        }
    }
    return best && best_d <= (len > 9 ? len / 3 : 3) ? best : NULL;
}

/* ---- validation ---- */

typedef struct vctx {
    const ms_schema *s;
    ms_report d;        /* where diagnostics go */
    char path[256];     /* where the instance sits: "GPTQModifier.config_groups.group_0" */
    const ms_node *key; /* the key node the instance is the value of, or NULL */
    int depth;
} vctx;

static const char *where(const vctx *c)
{
    return c->path[0] ? c->path : "the recipe";
}

static void validate(vctx *c, const ms_node *schema, const ms_node *n);

static void descend(vctx *c, const ms_node *schema, const ms_node *key, const ms_node *value,
                    const char *component, bool index)
{
    size_t len = strlen(c->path);
    const ms_node *saved_key = c->key;
    /* a modifier renames the path to its type (validate): restore all of it */
    char saved[sizeof c->path];
    memcpy(saved, c->path, len + 1);
    if (index)
        snprintf(c->path + len, sizeof c->path - len, "[%s]", component);
    else
        snprintf(c->path + len, sizeof c->path - len, "%s%s", len ? "." : "", component);
    c->key = key;
    validate(c, schema, value);
    memcpy(c->path, saved, len + 1);
    c->key = saved_key;
}

static int minor_of(const char *version);

/* Whether the modifier type (or field) `def` exists at the release checked
 * against: not x-removed, and within x-since/x-until. */
static bool exists_upstream(const ms_schema *s, const ms_node *def)
{
    def = ms_schema_resolve(s, def);
    const ms_node *since = ms_node_get(def, "x-since"), *until = ms_node_get(def, "x-until");
    int from = since && ms_node_is_string(since) ? minor_of(since->value) : -1;
    int to = until && ms_node_is_string(until) ? minor_of(until->value) : -1;
    return !ms_node_get(def, "x-removed") && !(from >= 0 && s->upstream_minor < from) &&
           !(to >= 0 && s->upstream_minor >= to);
}

/* Names the keys of `props` that exist upstream as valid alternatives. */
static void hint_names(const vctx *c, ms_diag *d, const char *word, const ms_node *props,
                       const char *what)
{
    if (!d || !props || props->kind != MS_NODE_MAP)
        return;
    const char *names[128] = {NULL};
    size_t n = 0;
    for (size_t i = 0; i < props->count && n < 128; i++)
        if (exists_upstream(c->s, props->items[i]))
            names[n++] = props->keys[i]->value;
    const char *near = nearest(word, names, n);
    size_t len = 0;
    if (near)
        len = (size_t)snprintf(d->hint, sizeof d->hint, "did you mean '%s'? ", near);
    len += (size_t)snprintf(d->hint + len, sizeof d->hint - len, "valid %s: ", what);
    for (size_t i = 0; i < n && len < sizeof d->hint; i++)
        len +=
            (size_t)snprintf(d->hint + len, sizeof d->hint - len, "%s%s", i ? ", " : "", names[i]);
}

static void unknown_key(vctx *c, const ms_node *schema, const ms_node *key)
{
    const ms_node *misplaced = ms_node_get(schema, "x-misplaced");
    for (size_t i = 0; misplaced && misplaced->kind == MS_NODE_MAP && i < misplaced->count; i++) {
        if (re_match(c->s, misplaced->keys[i]->value, key->value)) {
            ms_diag *d = ms_report_at(&c->d, "E-MISPLACED", key,
                                      "'%s' is not allowed in %s: it belongs under %s", key->value,
                                      where(c), misplaced->items[i]->value);
            ms_diag_hint(d, "indent '%s:' under 'config_groups:'", key->value);
            return;
        }
    }
    const ms_node *props = ms_node_get(schema, "properties");
    const ms_node *kind = ms_node_get(schema, "x-keyKind");
    bool is_type = kind && kind->kind == MS_NODE_SCALAR;
    /* an old name: say what became of it rather than list every valid name */
    const ms_rename *old =
        is_type ? ms_rename_type(key->value) : ms_rename_field(c->path, key->value);
    if (old) {
        char change[400];
        ms_rename_describe(old, change, sizeof change);
        ms_diag *d = ms_report_at(&c->d, is_type ? "E-TYPE-UNKNOWN" : "E-FIELD-UNKNOWN", key,
                                  "unknown %s '%s' in %s: %s", is_type ? kind->value : "field",
                                  key->value, where(c), change);
        if (d && old->new_name)
            ms_diag_hint(d, "write '%s:' instead; 'modsim migrate' rewrites it", old->new_name);
        else if (d)
            ms_diag_hint(d,
                         "remove '%s:'; 'modsim migrate' removes it and says whether anything "
                         "is lost",
                         key->value);
        return;
    }
    if (is_type) {
        ms_diag *d = ms_report_at(&c->d, "E-TYPE-UNKNOWN", key, "unknown %s '%s' in %s",
                                  kind->value, key->value, where(c));
        hint_names(c, d, key->value, props, "types");
        return;
    }
    ms_diag *d = ms_report_at(&c->d, "E-FIELD-UNKNOWN", key, "unknown field '%s' in %s", key->value,
                              where(c));
    hint_names(c, d, key->value, props, "fields");
}

/* Modifier fields ending in '_' are lifecycle state that pydantic accepts
 * from a recipe (x-internal): warn with what the value does, check its type. */
static bool internal_field(vctx *c, const ms_node *schema, const ms_node *key, const ms_node *value)
{
    const ms_node *fields = ms_schema_resolve(c->s, ms_node_get(schema, "x-internal"));
    const ms_node *fs = ms_node_get(ms_node_get(fields, "properties"), key->value);
    if (!fs)
        return false;
    const ms_node *desc = ms_node_get(fs, "description");
    ms_diag *d = ms_report_at(&c->d, "W-INTERNAL-FIELD", key,
                              "'%s' sets internal state of %s: upstream accepts it; %s", key->value,
                              where(c), desc ? desc->value : "its lifecycle overwrites it");
    ms_diag_hint(d, "remove '%s:': the lifecycle manages it", key->value);
    descend(c, fs, key, value, key->value, false);
    return true;
}

static void validate_object(vctx *c, const ms_node *schema, const ms_node *n)
{
    const ms_node *props = ms_node_get(schema, "properties");
    const ms_node *pprops = ms_node_get(schema, "patternProperties");
    const ms_node *addl = ms_node_get(schema, "additionalProperties");
    const ms_node *names = ms_node_get(schema, "propertyNames");
    for (size_t i = 0; i < n->count && c->d.st == MS_OK; i++) {
        const ms_node *key = n->keys[i], *value = n->items[i];
        bool matched = false;
        if (names)
            descend(c, names, key, key, key->value, false);
        const ms_node *ps = ms_node_get(props, key->value);
        if (ps) {
            matched = true;
            descend(c, ps, key, value, key->value, false);
        }
        for (size_t j = 0; pprops && pprops->kind == MS_NODE_MAP && j < pprops->count; j++) {
            if (re_match(c->s, pprops->keys[j]->value, key->value)) {
                matched = true;
                descend(c, pprops->items[j], key, value, key->value, false);
            }
        }
        if (matched || !addl || internal_field(c, schema, key, value))
            continue;
        bool allowed = true;
        if (addl->kind == MS_NODE_SCALAR && ms_node_as_bool(addl, &allowed) && !allowed)
            unknown_key(c, schema, key);
        else if (addl->kind == MS_NODE_MAP)
            descend(c, addl, key, value, key->value, false);
    }
    const ms_node *required = ms_node_get(schema, "required");
    for (size_t i = 0; required && required->kind == MS_NODE_SEQ && i < required->count; i++) {
        const char *name = required->items[i]->value;
        if (!name || ms_node_get(n, name))
            continue;
        const ms_node *at = c->key ? c->key : n;
        ms_diag *d = ms_report_at(&c->d, "E-REQUIRED", at, "%s is missing the required field '%s'",
                                  where(c), name);
        const ms_node *fs = ms_schema_resolve(c->s, ms_node_get(props, name));
        const ms_node *desc = ms_node_get(ms_node_get(props, name), "description");
        if (!desc)
            desc = ms_node_get(fs, "description");
        ms_diag_hint(d, "add '%s:'%s%s", name, desc ? " - " : "", desc ? desc->value : "");
    }
}

static void validate_array(vctx *c, const ms_node *schema, const ms_node *n)
{
    double lim;
    const ms_node *min = ms_node_get(schema, "minItems"), *max = ms_node_get(schema, "maxItems");
    if (min && ms_node_as_double(min, &lim) && (double)n->count < lim) {
        ms_diag *d = ms_report_at(&c->d, "E-BOUNDS", n, "%s needs at least %g items, not %zu",
                                  where(c), lim, n->count);
        ms_diag_hint(d, "add the missing items");
    }
    if (max && ms_node_as_double(max, &lim) && (double)n->count > lim) {
        ms_diag *d = ms_report_at(&c->d, "E-BOUNDS", n, "%s takes at most %g items, not %zu",
                                  where(c), lim, n->count);
        ms_diag_hint(d, "remove the extra items");
    }
    const ms_node *prefix = ms_node_get(schema, "prefixItems");
    const ms_node *items = ms_node_get(schema, "items");
    size_t np = prefix && prefix->kind == MS_NODE_SEQ ? prefix->count : 0;
    for (size_t i = 0; i < n->count && c->d.st == MS_OK; i++) {
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        const ms_node *is = i < np ? prefix->items[i] : items;
        if (is)
            descend(c, is, c->key, n->items[i], idx, true);
    }
}

static void validate_number(vctx *c, const ms_node *schema, const ms_node *n)
{
    double v, lim;
    if (!ms_node_as_double(n, &v))
        return;
    static const struct {
        const char *key, *text;
        bool below, strict;
    } bounds[] = {
        {"minimum", "at least", true, false},
        {"exclusiveMinimum", "greater than", true, true},
        {"maximum", "at most", false, false},
        {"exclusiveMaximum", "less than", false, true},
    };
    for (size_t i = 0; i < 4; i++) {
        const ms_node *b = ms_node_get(schema, bounds[i].key);
        if (!b || !ms_node_as_double(b, &lim))
            continue;
        bool bad = bounds[i].below ? (bounds[i].strict ? v <= lim : v < lim)
                                   : (bounds[i].strict ? v >= lim : v > lim);
        if (bad) {
            ms_diag *d = ms_report_at(&c->d, "E-BOUNDS", n, "%s must be %s %g, not %s", where(c),
                                      bounds[i].text, lim, n->value);
            ms_diag_hint(d, "use a value %s %g", bounds[i].text, lim);
        }
    }
}

static void validate_enum(vctx *c, const ms_node *schema, const ms_node *n)
{
    const ms_node *values = ms_node_get(schema, "enum");
    const ms_node *cnst = ms_node_get(schema, "const");
    bool nocase = flag(schema, "x-ignoreCase");
    if (cnst && !same_value(cnst, n, nocase)) {
        char want[128], got[128];
        node_text(cnst, want, sizeof want);
        node_text(n, got, sizeof got);
        ms_diag *d = ms_report_at(&c->d, "E-ENUM", n, "%s must be %s, not %s", where(c), want, got);
        ms_diag_hint(d, "write %s", want);
    }
    if (!values || values->kind != MS_NODE_SEQ)
        return;
    for (size_t i = 0; i < values->count; i++)
        if (same_value(values->items[i], n, nocase))
            return;
    char got[128];
    node_text(n, got, sizeof got);
    ms_diag *d =
        ms_report_at(&c->d, "E-ENUM", n, "%s: %s is not one of the allowed values", where(c), got);
    if (!d)
        return;
    const char *names[64];
    size_t k = 0;
    for (size_t i = 0; i < values->count && k < 64; i++)
        if (values->items[i]->kind == MS_NODE_SCALAR)
            names[k++] = ms_node_is_null(values->items[i]) ? "null" : values->items[i]->value;
    const char *near = n->kind == MS_NODE_SCALAR ? nearest(n->value, names, k) : NULL;
    size_t len = 0;
    if (near)
        len = (size_t)snprintf(d->hint, sizeof d->hint, "did you mean '%s'? ", near);
    len += (size_t)snprintf(d->hint + len, sizeof d->hint - len, "valid: ");
    for (size_t i = 0; i < k && len < sizeof d->hint; i++)
        len +=
            (size_t)snprintf(d->hint + len, sizeof d->hint - len, "%s%s", i ? ", " : "", names[i]);
}

static void validate_pattern(vctx *c, const ms_node *schema, const ms_node *n)
{
    const ms_node *pattern = ms_node_get(schema, "pattern");
    if (!pattern || pattern->kind != MS_NODE_SCALAR || !ms_node_is_string(n) ||
        re_match(c->s, pattern->value, n->value))
        return;
    ms_diag *d = ms_report_at(&c->d, "E-PATTERN", n, "%s: '%s' does not match %s", where(c),
                              n->value, pattern->value);
    const ms_node *ex = ms_node_get(schema, "examples");
    if (!d || !ex || ex->kind != MS_NODE_SEQ)
        return;
    size_t len = (size_t)snprintf(d->hint, sizeof d->hint, "for example: ");
    for (size_t i = 0; i < ex->count && len < sizeof d->hint; i++)
        len += (size_t)snprintf(d->hint + len, sizeof d->hint - len, "%s%s", i ? ", " : "",
                                ex->items[i]->value ? ex->items[i]->value : "");
}

static bool branch_fits(const vctx *c, const ms_node *branch, const ms_node *n)
{
    const ms_node *b = ms_schema_resolve(c->s, branch);
    const ms_node *type = ms_node_get(b, "type");
    return !type || matches_type(type, n);
}

/* anyOf/oneOf: on failure, report the branch whose type fits with the fewest
 * errors, so the message speaks of what the user evidently meant. */
static void validate_alternatives(vctx *c, const ms_node *branches, bool one, const ms_node *n)
{
    ms_diag_list *saved = c->d.out, best;
    size_t best_errors = SIZE_MAX, passed = 0;
    ms_diag_list_init(&best);
    for (size_t i = 0; i < branches->count && c->d.st == MS_OK; i++) {
        ms_diag_list tmp;
        ms_diag_list_init(&tmp);
        c->d.out = &tmp;
        validate(c, branches->items[i], n);
        c->d.out = saved;
        size_t errors = ms_diag_list_count(&tmp, MS_SEV_ERROR);
        if (errors == 0 && passed++ == 0) {
            ms_diag_list_free(&best);
            best_errors = 0;
            best = tmp;
            continue;
        }
        if (best_errors > 0 && errors < best_errors && branch_fits(c, branches->items[i], n)) {
            ms_diag_list_free(&best);
            best = tmp;
            best_errors = errors;
            continue;
        }
        ms_diag_list_free(&tmp);
    }
    if (passed > 1 && one) {
        ms_diag_list_free(&best);
        ms_diag *d = ms_report_at(&c->d, "E-TYPE", n, "%s matches several alternatives", where(c));
        ms_diag_hint(d, "make the value unambiguous");
        return;
    }
    if (best_errors == SIZE_MAX) {
        char types[160] = "", got[128];
        size_t len = 0;
        for (size_t i = 0; i < branches->count && len < sizeof types; i++) {
            const ms_node *t = ms_node_get(ms_schema_resolve(c->s, branches->items[i]), "type");
            char one_type[64];
            if (!t)
                continue;
            types_text(t, one_type, sizeof one_type);
            len += (size_t)snprintf(types + len, sizeof types - len, "%s%s", len ? " or " : "",
                                    one_type);
        }
        node_text(n, got, sizeof got);
        ms_diag *d = ms_report_at(&c->d, "E-TYPE", n, "%s must be %s, not %s %s", where(c),
                                  types[0] ? types : "something else", ms_node_type_name(n), got);
        ms_diag_hint(d, "write a %s", types[0] ? types : "valid value");
        return;
    }
    if (ms_diag_list_move(c->d.out, &best) != MS_OK)
        c->d.st = MS_ERR_NOMEM;
}

/* "8" where an integer is expected: the quotes are the mistake. */
static bool quoted_would_fit(const ms_node *n, const ms_node *type)
{
    if (n->kind != MS_NODE_SCALAR || !n->quoted)
        return false;
    ms_node plain = *n;
    plain.quoted = false;
    return matches_type(type, &plain);
}

static bool type_listed(const ms_node *type, const char *t)
{
    if (type->kind == MS_NODE_SCALAR)
        return !strcmp(type->value, t);
    for (size_t i = 0; i < type->count; i++)
        if (type->items[i]->kind == MS_NODE_SCALAR && !strcmp(type->items[i]->value, t))
            return true;
    return false;
}

/* pydantic's lax mode converts a string for an int, float or bool field, so
 * upstream loads "128": a warning, and the checks go on with the converted
 * value in `plain` (its text in `buf`). Not for x-strict fields, whose
 * validators see the raw string first, nor for values of dict[str, Any]. */
static bool lax_convert(vctx *c, const ms_node *type, const ms_node *n, ms_node *plain, char *buf,
                        size_t cap)
{
    double d;
    bool b;
    *plain = *n;
    plain->quoted = false;
    plain->value = buf;
    if ((type_listed(type, "integer") && ms_node_lax_int(n, &d)) ||
        (type_listed(type, "number") && ms_node_lax_float(n, &d))) {
        if (isnan(d))
            snprintf(buf, cap, ".nan");
        else if (isinf(d))
            snprintf(buf, cap, "%s.inf", d < 0 ? "-" : "");
        else
            snprintf(buf, cap, "%.15g", d);
        ms_diag *w =
            ms_report_at(&c->d, "W-QUOTED-NUMBER", n,
                         "%s: %s '%s' is read as %s by upstream (pydantic converts it)", where(c),
                         n->quoted ? "quoted number" : "the string", n->value, buf);
        ms_diag_hint(w, "write it unquoted: %s", buf);
        return true;
    }
    if (type_listed(type, "boolean") && ms_node_lax_bool(n, &b)) {
        char got[100];
        node_text(n, got, sizeof got);
        snprintf(buf, cap, "%s", b ? "true" : "false");
        ms_diag *w = ms_report_at(&c->d, "W-LAX-BOOL", n,
                                  "%s: %s %s is read as %s by upstream (pydantic converts it)",
                                  where(c), ms_node_type_name(n), got, buf);
        ms_diag_hint(w, "write %s", buf);
        return true;
    }
    return false;
}

/* x-removed and x-since/x-until: a modifier type upstream's ModifierFactory
 * does not have at the release checked against refuses the recipe, with
 * "No modifier of type '...' found." (factory.py:133 at 0.12); its fields are
 * not checked further. */
static bool available(vctx *c, const ms_node *schema, const ms_node *n)
{
    const ms_node *removed = ms_node_get(schema, "x-removed");
    const ms_node *at = c->key ? c->key : n;
    if (removed && ms_node_is_string(removed)) {
        ms_diag *d = ms_report_at(&c->d, "E-TYPE-REMOVED", at,
                                  "%s was removed from llm-compressor: upstream raises ValueError "
                                  "\"No modifier of type '%s' found.\"",
                                  where(c), where(c));
        ms_diag_hint(d, "%s", removed->value);
        return false;
    }
    const ms_node *since = ms_node_get(schema, "x-since"), *until = ms_node_get(schema, "x-until");
    int from = since && ms_node_is_string(since) ? minor_of(since->value) : -1;
    int to = until && ms_node_is_string(until) ? minor_of(until->value) : -1;
    if (from >= 0 && c->s->upstream_minor < from) {
        ms_diag *d =
            ms_report_at(&c->d, "E-TYPE-VERSION", at,
                         "%s exists from llm-compressor %s (use --upstream %s); "
                         "0.%d raises ValueError \"No modifier of type '%s' found.\"",
                         where(c), since->value, since->value, c->s->upstream_minor, where(c));
        ms_diag_hint(d, "check against llm-compressor %s, or use another modifier type",
                     since->value);
        return false;
    }
    if (to >= 0 && c->s->upstream_minor >= to) {
        ms_diag *d = ms_report_at(&c->d, "E-TYPE-VERSION", at,
                                  "%s was removed in llm-compressor %s (use --upstream 0.%d); "
                                  "0.%d raises ValueError \"No modifier of type '%s' found.\"",
                                  where(c), until->value, to - 1, c->s->upstream_minor, where(c));
        ms_diag_hint(d, "remove it, or check against an earlier llm-compressor");
        return false;
    }
    return true;
}

/* x-raises: "Kind: message with {value}": a value of the right type that
 * the rest of the schema refuses loads upstream (a plain str field) and
 * raises when the modifier initializes. The errors found for it since
 * `before` become one E-INITIALIZE error with upstream's exception, keeping
 * the first one's hint (the valid values). */
static void raised_at_initialize(vctx *c, const char *raises, const ms_node *n, size_t before)
{
    ms_diag_list *out = c->d.out;
    size_t first = out->count;
    for (size_t i = before; i < out->count && first == out->count; i++)
        if (out->items[i].severity == MS_SEV_ERROR)
            first = i;
    if (first == out->count)
        return;
    ms_diag d = out->items[first];
    size_t k = before;
    for (size_t i = before; i < out->count; i++)
        if (out->items[i].severity != MS_SEV_ERROR)
            out->items[k++] = out->items[i];
    out->count = k;
    const char *value = n->kind == MS_NODE_SCALAR ? n->value : ms_node_type_name(n);
    const char *colon = strstr(raises, ": ");
    const char *text = colon ? colon + 2 : raises, *at = strstr(text, "{value}");
    int kind = colon ? (int)(colon - raises) : 0, head = at ? (int)(at - text) : (int)strlen(text);
    ms_diag *e =
        ms_report_at(&c->d, "E-INITIALIZE", n,
                     "%s: upstream loads the recipe, then on_initialize raises %.*s "
                     "\"%.*s%s%s\"",
                     where(c), kind, raises, head, text, at ? value : "", at ? at + 7 : "");
    ms_diag_hint(e, "%s", d.hint);
}

static void validate(vctx *c, const ms_node *schema, const ms_node *n)
{
    if (!schema || c->d.st != MS_OK || c->depth >= MAX_SCHEMA_DEPTH)
        return;
    c->depth++;
    bool allowed = true;
    if (schema->kind == MS_NODE_SCALAR && ms_node_as_bool(schema, &allowed) && !allowed)
        ms_report_at(&c->d, "E-FIELD-UNKNOWN", c->key ? c->key : n, "%s is not allowed", where(c));
    if (schema->kind != MS_NODE_MAP) {
        c->depth--;
        return;
    }
    const ms_node *ref = ms_node_get(schema, "$ref");
    if (ref) {
        const ms_node *target = ms_schema_resolve(c->s, schema);
        if (target && target != schema)
            validate(c, target, n);
    }
    if (ms_node_get(schema, "x-drive") && c->key) /* a modifier: name fields from its type */
        snprintf(c->path, sizeof c->path, "%s", c->key->value);
    if (!available(c, schema, n)) {
        c->depth--;
        return;
    }
    if (flag(schema, "deprecated")) {
        const ms_node *desc = ms_node_get(schema, "description");
        ms_diag *d = ms_report_at(&c->d, "W-DEPRECATED", c->key ? c->key : n,
                                  "%s is deprecated upstream", where(c));
        ms_diag_hint(d, "%s", desc ? desc->value : "remove it");
    }
    const ms_node *type = ms_node_get(schema, "type");
    ms_node plain;
    char plain_text[40];
    if (type && !matches_type(type, n) && !flag(schema, "x-strict") &&
        lax_convert(c, type, n, &plain, plain_text, sizeof plain_text))
        n = &plain;
    if (type && ms_node_is_null(n) && ms_node_get(schema, "x-drive") && c->key) {
        /* recipe.py:190 at 0.12 reads the arguments with mod_args.get(...) */
        ms_diag *d = ms_report_at(&c->d, "E-TYPE", c->key,
                                  "%s has null arguments: upstream's Recipe.from_dict raises "
                                  "AttributeError \"'NoneType' object has no attribute 'get'\"",
                                  where(c));
        ms_diag_hint(d, "write '%s: {}' for no arguments, or give its fields", c->key->value);
        c->depth--;
        return;
    }
    if (type && !matches_type(type, n)) {
        char want[96], got[128];
        types_text(type, want, sizeof want);
        node_text(n, got, sizeof got);
        ms_diag *d = ms_report_at(&c->d, "E-TYPE", n, "%s must be %s, not %s %s", where(c), want,
                                  ms_node_type_name(n), got);
        ms_node quoted = *n;
        quoted.quoted = true;
        if (quoted_would_fit(n, type) && flag(schema, "x-strict"))
            ms_diag_hint(d, "remove the quotes: upstream's validator reads the string before "
                            "pydantic could convert it");
        else if (quoted_would_fit(n, type))
            ms_diag_hint(d, "remove the quotes: a quoted value is always a string");
        else if (n->kind == MS_NODE_SCALAR && matches_type(type, &quoted))
            ms_diag_hint(d, "quote it: unquoted, YAML reads %s as type %s", n->value,
                         ms_node_type_name(n));
        else
            ms_diag_hint(d, "write %s %s", strchr("aeiou", want[0]) ? "an" : "a", want);
        c->depth--;
        return;
    }
    size_t before = c->d.out->count;
    validate_enum(c, schema, n);
    if (n->kind == MS_NODE_SCALAR) {
        validate_number(c, schema, n);
        validate_pattern(c, schema, n);
    } else if (n->kind == MS_NODE_SEQ) {
        validate_array(c, schema, n);
    } else {
        validate_object(c, schema, n);
    }
    const ms_node *any = ms_node_get(schema, "anyOf");
    if (any && any->kind == MS_NODE_SEQ)
        validate_alternatives(c, any, false, n);
    const ms_node *one = ms_node_get(schema, "oneOf");
    if (one && one->kind == MS_NODE_SEQ)
        validate_alternatives(c, one, true, n);
    const ms_node *raises = ms_node_get(schema, "x-raises");
    if (raises && ms_node_is_string(raises))
        raised_at_initialize(c, raises->value, n, before);
    c->depth--;
}

ms_status ms_schema_validate(const ms_schema *s, const char *root, const ms_node *instance,
                             const char *file, ms_diag_list *out)
{
    vctx c = {.s = s, .d = {.out = out, .file = file, .st = MS_OK}};
    const ms_node *schema = root ? ms_node_get(s->defs, root) : s->root;
    if (instance && schema)
        validate(&c, schema, instance);
    return c.d.st;
}

static const ms_node *modifier_def(const ms_schema *s, const char *type);

ms_status ms_schema_validate_field(const ms_schema *s, const char *type, const char *field,
                                   const ms_node *value, const char *file, ms_diag_list *out)
{
    vctx c = {.s = s, .d = {.out = out, .file = file, .st = MS_OK}};
    const ms_node *own = ms_node_get(ms_node_get(modifier_def(s, type), "properties"), field);
    snprintf(c.path, sizeof c.path, "%s.%s", type, field);
    if (own && value)
        validate(&c, own, value);
    return c.d.st;
}

/* ---- queries ---- */

size_t ms_schema_modifier_count(const ms_schema *s)
{
    return s->modifiers ? s->modifiers->count : 0;
}

const char *ms_schema_modifier_name(const ms_schema *s, size_t i)
{
    return i < ms_schema_modifier_count(s) ? s->modifiers->keys[i]->value : NULL;
}

static const ms_node *modifier_def(const ms_schema *s, const char *type)
{
    return ms_schema_resolve(s, ms_node_get(s->modifiers, type));
}

static const char *scalar_of(const ms_node *map, const char *key)
{
    const ms_node *v = ms_node_get(map, key);
    return v && v->kind == MS_NODE_SCALAR ? v->value : NULL;
}

const char *ms_schema_modifier_description(const ms_schema *s, const char *type)
{
    return scalar_of(modifier_def(s, type), "description");
}

bool ms_schema_modifier_exists(const ms_schema *s, const char *type)
{
    const ms_node *def = modifier_def(s, type);
    return def && exists_upstream(s, def);
}

const char *ms_schema_modifier_drive(const ms_schema *s, const char *type)
{
    return scalar_of(modifier_def(s, type), "x-drive");
}

const char *ms_schema_modifier_nearest(const ms_schema *s, const char *name)
{
    const char *names[128];
    size_t n = 0;
    for (size_t i = 0; i < ms_schema_modifier_count(s) && n < 128; i++)
        names[n++] = ms_schema_modifier_name(s, i);
    return nearest(name, names, n);
}

const char *ms_schema_field_nearest(const ms_schema *s, const char *type, const char *name)
{
    const char *names[128];
    size_t n = 0;
    ms_schema_field f;
    for (size_t i = 0; n < 128 && ms_schema_field_at(s, type, i, &f); i++)
        names[n++] = f.name;
    return nearest(name, names, n);
}

size_t ms_schema_field_count(const ms_schema *s, const char *type)
{
    const ms_node *props = ms_node_get(modifier_def(s, type), "properties");
    return props ? props->count : 0;
}

/* A keyword from the field's own node, else from what its $ref points to,
 * else from the first anyOf branch that has it. */
static const ms_node *field_keyword(const ms_schema *s, const ms_node *own, const char *key)
{
    const ms_node *v = ms_node_get(own, key);
    const ms_node *target = ms_schema_resolve(s, own);
    if (!v)
        v = ms_node_get(target, key);
    const ms_node *any = ms_node_get(target, "anyOf");
    for (size_t i = 0; !v && any && i < any->count; i++)
        v = ms_node_get(ms_schema_resolve(s, any->items[i]), key);
    return v;
}

static void append_types(const ms_node *type, char *buf, size_t cap)
{
    for (size_t i = 0; type && i < (type->kind == MS_NODE_SEQ ? type->count : 1); i++) {
        const char *t = type_word(type->kind == MS_NODE_SEQ ? type->items[i]->value : type->value);
        char padded[40];
        snprintf(padded, sizeof padded, "|%s|", t);
        char bars[100];
        snprintf(bars, sizeof bars, "|%s|", buf);
        if (strstr(bars, padded))
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", len ? "|" : "", t);
    }
}

bool ms_schema_field_at(const ms_schema *s, const char *type, size_t i, ms_schema_field *out)
{
    const ms_node *def = modifier_def(s, type);
    const ms_node *props = ms_node_get(def, "properties");
    if (!props || i >= props->count)
        return false;
    memset(out, 0, sizeof *out);
    const ms_node *own = props->items[i];
    const ms_node *target = ms_schema_resolve(s, own);
    out->name = props->keys[i]->value;
    out->schema = target;
    const ms_node *t = ms_node_get(own, "type");
    if (!t)
        t = ms_node_get(target, "type");
    append_types(t, out->types, sizeof out->types);
    const ms_node *any = ms_node_get(target, "anyOf");
    for (size_t b = 0; !t && any && b < any->count; b++)
        append_types(ms_node_get(ms_schema_resolve(s, any->items[b]), "type"), out->types,
                     sizeof out->types);
    out->description = scalar_of(own, "description");
    if (!out->description)
        out->description = scalar_of(target, "description");
    out->default_value = field_keyword(s, own, "default");
    out->enum_values = field_keyword(s, own, "enum");
    const ms_node *v;
    if ((v = field_keyword(s, own, "minimum")) && ms_node_as_double(v, &out->minimum))
        out->has_minimum = true;
    else if ((v = field_keyword(s, own, "exclusiveMinimum")) && ms_node_as_double(v, &out->minimum))
        out->has_minimum = out->exclusive_minimum = true;
    if ((v = field_keyword(s, own, "maximum")) && ms_node_as_double(v, &out->maximum))
        out->has_maximum = true;
    else if ((v = field_keyword(s, own, "exclusiveMaximum")) && ms_node_as_double(v, &out->maximum))
        out->has_maximum = out->exclusive_maximum = true;
    const ms_node *req = ms_node_get(def, "required");
    for (size_t r = 0; req && r < req->count; r++)
        out->required = out->required || !strcmp(req->items[r]->value, out->name);
    out->deprecated = flag(own, "deprecated") || flag(target, "deprecated");
    return true;
}
