#include "doc.h"

#include <stdarg.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

static const size_t MAX_ALIAS_EXPANSION = 1000000;

/* Nodes are allocated in chunks owned by the document; freeing is one pass. */
typedef struct node_chunk {
    struct node_chunk *next;
    size_t used;
    ms_node nodes[1024];
} node_chunk;

typedef struct anchor {
    char *name;
    ms_node *node;
    size_t weight; /* nodes below it, counting aliases as what they expand to */
    int height;    /* levels from it down, aliases expanded (a scalar is 1) */
} anchor;

struct ms_doc {
    char *file;
    ms_node *root;
    node_chunk *chunks;
};

typedef struct builder {
    ms_doc *doc;
    const char *text; /* the input, for pointing at a tag behind an anchor */
    size_t len;
    bool keep_local_tags;
    anchor *anchors;
    size_t n_anchors, cap_anchors;
    /* Open addressing over `anchors` by name, each slot the index + 1 of the
     * latest definition of its name: a file of 100,000 anchors and aliases
     * would otherwise take minutes looking them up. */
    size_t *anchor_slots;
    size_t anchor_cap; /* a power of two, at least twice n_anchors */
    size_t alias_expansion;
    ms_diag *diag;
} builder;

static ms_node *node_new(builder *b, ms_node_kind kind, const yaml_mark_t *mark)
{
    node_chunk *c = b->doc->chunks;
    if (!c || c->used == sizeof c->nodes / sizeof c->nodes[0]) {
        c = calloc(1, sizeof *c);
        if (!c)
            return NULL;
        c->next = b->doc->chunks;
        b->doc->chunks = c;
    }
    ms_node *n = &c->nodes[c->used++];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->line = (int)mark->line + 1;
    n->col = (int)mark->column + 1;
    return n;
}

static bool push_item(ms_node *parent, ms_node *key, ms_node *value, size_t *cap)
{
    if (parent->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        ms_node **items = realloc(parent->items, ncap * sizeof *items);
        if (!items)
            return false;
        parent->items = items;
        if (parent->kind == MS_NODE_MAP) {
            ms_node **keys = realloc(parent->keys, ncap * sizeof *keys);
            if (!keys)
                return false;
            parent->keys = keys;
        }
        *cap = ncap;
    }
    if (parent->kind == MS_NODE_MAP)
        parent->keys[parent->count] = key;
    parent->items[parent->count++] = value;
    return true;
}

static ms_status fail(builder *b, ms_status st, const char *code, const yaml_mark_t *mark,
                      const char *fmt, const char *arg)
{
    return ms_diag_set(b->diag, st, code, b->doc->file, mark ? (int)mark->line + 1 : 0,
                       mark ? (int)mark->column + 1 : 0, fmt, arg);
}

static size_t name_hash(const char *name)
{
    size_t h = 14695981039346656037u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return h;
}

/* The slot of `name`: the one holding its latest definition, or the empty one it would take. */
static size_t *anchor_slot(const builder *b, const char *name)
{
    size_t i = name_hash(name) & (b->anchor_cap - 1);
    while (b->anchor_slots[i] && strcmp(b->anchors[b->anchor_slots[i] - 1].name, name) != 0)
        i = (i + 1) & (b->anchor_cap - 1);
    return &b->anchor_slots[i];
}

static bool anchor_slots_grow(builder *b)
{
    size_t cap = b->anchor_cap ? b->anchor_cap * 2 : 16;
    size_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    free(b->anchor_slots);
    b->anchor_slots = slots;
    b->anchor_cap = cap;
    /* in definition order, so a redefined name ends at its latest definition */
    for (size_t i = 0; i < b->n_anchors; i++)
        *anchor_slot(b, b->anchors[i].name) = i + 1;
    return true;
}

static ms_status remember_anchor(builder *b, const yaml_char_t *name, ms_node *node, size_t weight,
                                 int height)
{
    if (!name)
        return MS_OK;
    if (b->n_anchors == b->cap_anchors) {
        size_t ncap = b->cap_anchors ? b->cap_anchors * 2 : 8;
        anchor *a = realloc(b->anchors, ncap * sizeof *a);
        if (!a)
            return MS_ERR_NOMEM;
        b->anchors = a;
        b->cap_anchors = ncap;
    }
    if (2 * (b->n_anchors + 1) > b->anchor_cap && !anchor_slots_grow(b))
        return MS_ERR_NOMEM;
    char *copy = strdup((const char *)name);
    if (!copy)
        return MS_ERR_NOMEM;
    b->anchors[b->n_anchors++] = (anchor){copy, node, weight, height};
    /* the latest definition wins, as in YAML */
    *anchor_slot(b, copy) = b->n_anchors;
    return MS_OK;
}

static const anchor *find_anchor(const builder *b, const yaml_char_t *name)
{
    if (!b->anchor_cap)
        return NULL;
    size_t i = *anchor_slot(b, (const char *)name);
    return i ? &b->anchors[i - 1] : NULL;
}

static bool scalar_equal(const ms_node *a, const ms_node *b)
{
    return a->kind == MS_NODE_SCALAR && b->kind == MS_NODE_SCALAR && a->quoted == b->quoted &&
           strcmp(a->value, b->value) == 0;
}

/* The keys of one map being built, for finding a duplicate in constant time:
 * small maps are scanned, larger ones get an open-addressing table of indices
 * into map->keys (a 100,000-key map would otherwise take minutes). */
typedef struct keyset {
    size_t *slots; /* index + 1 into map->keys; 0 for an empty slot */
    size_t cap;    /* a power of two, at least twice the keys held */
} keyset;

enum { KEYSET_SCAN = 16 };

static size_t key_hash(const ms_node *key)
{
    return name_hash(key->value) ^ key->quoted;
}

/* The slot of `key` in the table: where an equal key is, or the empty one it would take. */
static size_t *keyset_slot(const keyset *ks, const ms_node *map, const ms_node *key)
{
    size_t i = key_hash(key) & (ks->cap - 1);
    while (ks->slots[i] && !scalar_equal(map->keys[ks->slots[i] - 1], key))
        i = (i + 1) & (ks->cap - 1);
    return &ks->slots[i];
}

static bool keyset_grow(keyset *ks, const ms_node *map)
{
    size_t cap = ks->cap ? ks->cap * 2 : 4 * KEYSET_SCAN;
    size_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    free(ks->slots);
    ks->slots = slots;
    ks->cap = cap;
    for (size_t k = 0; k < map->count; k++)
        *keyset_slot(ks, map, map->keys[k]) = k + 1;
    return true;
}

/* Sets `dup` to 1 + the index of the earlier key equal to `key`, or 0; `key`
 * is then remembered as the map's next key (index map->count). False when
 * out of memory. */
static bool keyset_add(keyset *ks, const ms_node *map, const ms_node *key, size_t *dup)
{
    *dup = 0;
    if (map->count < KEYSET_SCAN) {
        for (size_t i = 0; i < map->count && !*dup; i++)
            if (scalar_equal(map->keys[i], key))
                *dup = i + 1;
        return true;
    }
    if (2 * (map->count + 1) > ks->cap && !keyset_grow(ks, map))
        return false;
    size_t *slot = keyset_slot(ks, map, key);
    if (*slot)
        *dup = *slot;
    else
        *slot = map->count + 1;
    return true;
}

/* Refuses `key` if `map` already has it; the key is added by push_item next. */
static ms_status check_key(builder *b, keyset *keys, const ms_node *map, const ms_node *key)
{
    size_t dup;
    if (!keyset_add(keys, map, key, &dup))
        return MS_ERR_NOMEM;
    if (!dup)
        return MS_OK;
    yaml_mark_t m = {0, (size_t)key->line - 1, (size_t)key->col - 1};
    ms_status st = fail(b, MS_ERR_INVALID, "E-DUPKEY", &m, "duplicate key '%s'", key->value);
    ms_diag_hint(b->diag, "the key is already set at line %d; keep one", map->keys[dup - 1]->line);
    return st;
}

static bool is_merge_key(const ms_node *key)
{
    return !key->quoted && !key->tag && strcmp(key->value, "<<") == 0;
}

/* Adds key/value to `out` (sized for it), replacing the value of an equal key already there. */
static bool merge_pair(keyset *ks, ms_node *out, ms_node *key, ms_node *value)
{
    size_t dup;
    if (!keyset_add(ks, out, key, &dup))
        return false;
    if (dup) {
        out->items[dup - 1] = value;
    } else {
        out->keys[out->count] = key;
        out->items[out->count++] = value;
    }
    return true;
}

/* Applies the map's merge key (`<<: *base`, `<<: [*a, *b]`) as PyYAML's
 * SafeConstructor.flatten_mapping and construct_mapping do: the merged pairs
 * come first (the maps of a list last to first, so an earlier map wins), then
 * the map's own pairs, which win over merged ones; a key keeps the place it
 * first took. A key both merged and written is therefore not a duplicate. */
static ms_status apply_merge(builder *b, ms_node *n)
{
    size_t at = n->count;
    for (size_t i = 0; i < n->count && at == n->count; i++)
        if (is_merge_key(n->keys[i]))
            at = i;
    if (at == n->count)
        return MS_OK;
    const ms_node *with = n->items[at];
    size_t total = n->count;
    const ms_node *const *maps = (const ms_node *const *)&n->items[at];
    size_t n_maps = 1;
    if (with->kind == MS_NODE_SEQ) {
        maps = (const ms_node *const *)with->items;
        n_maps = with->count;
    }
    for (size_t i = 0; i < n_maps; i++) {
        if (maps[i]->kind != MS_NODE_MAP) {
            yaml_mark_t m = {0, (size_t)maps[i]->line - 1, (size_t)maps[i]->col - 1};
            ms_status st =
                fail(b, MS_ERR_SYNTAX, "E-YAML", &m,
                     "'<<' merges a map or a list of maps, not a %s", ms_node_type_name(maps[i]));
            ms_diag_hint(b->diag, "write '<<: *anchor' or '<<: [*a, *b]' with anchors of maps, "
                                  "or quote '\"<<\"' for a key named <<");
            return st;
        }
        total += maps[i]->count;
    }
    ms_node out = {.kind = MS_NODE_MAP};
    out.keys = malloc((total ? total : 1) * sizeof *out.keys);
    out.items = malloc((total ? total : 1) * sizeof *out.items);
    keyset ks = {0};
    bool ok = out.keys && out.items;
    for (size_t i = n_maps; ok && i-- > 0;)
        for (size_t k = 0; ok && k < maps[i]->count; k++)
            ok = merge_pair(&ks, &out, maps[i]->keys[k], maps[i]->items[k]);
    for (size_t k = 0; ok && k < n->count; k++)
        if (k != at)
            ok = merge_pair(&ks, &out, n->keys[k], n->items[k]);
    free(ks.slots);
    if (!ok) {
        free(out.keys);
        free(out.items);
        return MS_ERR_NOMEM;
    }
    free(n->keys);
    free(n->items);
    n->keys = out.keys;
    n->items = out.items;
    n->count = out.count;
    return MS_OK;
}

/* Where the tag of the node starting at `mark` is written: after its anchor, if any. */
static yaml_mark_t tag_mark(const builder *b, const yaml_mark_t *mark)
{
    yaml_mark_t m = *mark;
    size_t i = m.index;
    if (i < b->len && b->text[i] == '&') {
        while (i < b->len && !strchr(" \t\r\n", b->text[i]))
            i++;
        while (i < b->len && (b->text[i] == ' ' || b->text[i] == '\t'))
            i++;
        if (i < b->len && b->text[i] == '!') {
            m.column += i - m.index;
            m.index = i;
        }
    }
    return m;
}

#define YAML_TAG_PREFIX "tag:yaml.org,2002:"

static ms_status tag_error(builder *b, const yaml_mark_t *mark, const char *tag, const char *why)
{
    yaml_mark_t m = tag_mark(b, mark);
    bool standard = strncmp(tag, YAML_TAG_PREFIX, strlen(YAML_TAG_PREFIX)) == 0;
    char shown[160];
    snprintf(shown, sizeof shown, "%s%s", standard ? "!!" : "",
             standard ? tag + strlen(YAML_TAG_PREFIX) : tag);
    ms_status st = ms_diag_set(b->diag, MS_ERR_INVALID, "E-YAML-TAG", b->doc->file, (int)m.line + 1,
                               (int)m.column + 1, "tag '%s' %s", shown, why);
    size_t n = strlen(tag);
    if (tag[0] == '!' && n > 8 && strcmp(tag + n - 8, "Modifier") == 0)
        ms_diag_hint(b->diag,
                     "a SparseML-era recipe: 'modsim migrate %s -o NEW.yaml' rewrites it "
                     "in llm-compressor's layout",
                     b->doc->file[0] ? b->doc->file : "OLD.yaml");
    else
        ms_diag_hint(b->diag, "remove the tag; recipes take plain maps, lists, strings, numbers, "
                              "booleans and null (!!str, !!int, !!float, !!bool, !!null, !!map "
                              "and !!seq are read as yaml.safe_load reads them)");
    return st;
}

/* The shortest text that reads back as `v`, as Python's repr writes it (a
 * dot always; an exponent below 1e-4 and from 1e16), so YAML 1.1 reads a float. */
static void float_text(double v, char *buf, size_t cap)
{
    if (isnan(v) || isinf(v)) {
        snprintf(buf, cap, "%s", isnan(v) ? ".nan" : v < 0 ? "-.inf" : ".inf");
        return;
    }
    char sci[40];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    snprintf(sci, sizeof sci, "%.*e", prec - 1, v);
    char *e = strchr(sci, 'e');
    int exp = atoi(e + 1);
    if (v != 0 && (exp < -4 || exp >= 16)) {
        if (strchr(sci, '.'))
            snprintf(buf, cap, "%s", sci);
        else
            snprintf(buf, cap, "%.*s.0%s", (int)(e - sci), sci, e);
        return;
    }
    int decimals = prec - 1 - exp;
    snprintf(buf, cap, "%.*f%s", decimals > 0 ? decimals : 0, v, decimals > 0 ? "" : ".0");
}

/* Python's float() of PyYAML's construct_yaml_float input (underscores
 * dropped, lower case): decimal and exponent forms, inf and nan. */
static bool python_float(const char *s, double *out)
{
    char buf[128];
    size_t n = 0;
    for (; *s && n + 1 < sizeof buf; s++)
        if (*s != '_')
            buf[n++] = (char)tolower((unsigned char)*s);
    if (*s)
        return false;
    buf[n] = '\0';
    const char *p = buf + (buf[0] == '+' || buf[0] == '-');
    if (!strcmp(p, ".inf") || !strcmp(p, ".nan")) {
        *out = !strcmp(p, ".nan") ? NAN : buf[0] == '-' ? -INFINITY : INFINITY;
        return true;
    }
    if (!*p || strchr(p, 'x') || strchr(p, ':'))
        return false;
    char *end;
    *out = strtod(buf, &end); /* out of range gives inf or 0, as float() does */
    return !*end;
}

static bool set_value(ms_node *n, const char *text)
{
    char *copy = strdup(text);
    if (!copy)
        return false;
    free(n->value);
    n->value = copy;
    n->count = strlen(copy);
    n->quoted = n->block = false;
    return true;
}

/* Gives a node its explicit tag as yaml.safe_load reads it: !!str makes a
 * string of any scalar, !!int/!!float/!!bool/!!null a value of that type
 * (quoted or not, "3" included), !!map and !!seq only check the kind. Every
 * other tag is E-YAML-TAG at the tag: safe_load has no constructor for a
 * local tag (ConstructorError "could not determine a constructor"), and
 * !!binary, !!timestamp, !!set, !!omap and !!pairs make Python values no
 * recipe field takes. `!` alone is no tag (PyYAML resolves the value). */
static ms_status apply_tag(builder *b, const yaml_char_t *tag_text, const yaml_mark_t *mark,
                           ms_node *n)
{
    const char *tag = (const char *)tag_text;
    if (!tag || !strcmp(tag, "!"))
        return MS_OK;
    const char *std = strncmp(tag, YAML_TAG_PREFIX, strlen(YAML_TAG_PREFIX)) == 0
                          ? tag + strlen(YAML_TAG_PREFIX)
                          : NULL;
    if (!std) {
        if (b->keep_local_tags && tag[0] == '!' && tag[1] != '!') {
            n->tag = strdup(tag);
            return n->tag ? MS_OK : MS_ERR_NOMEM;
        }
        return tag_error(b, mark, tag, "is not one yaml.safe_load reads (no constructor for it)");
    }
    static const char *const scalars[] = {"str", "int", "float", "bool", "null"};
    bool scalar_tag = false;
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++)
        scalar_tag |= !strcmp(std, scalars[i]);
    const char *want = scalar_tag            ? "scalar"
                       : !strcmp(std, "map") ? "map"
                       : !strcmp(std, "seq") ? "seq"
                                             : NULL;
    if (!want)
        return tag_error(b, mark, tag,
                         "makes a value (bytes, date, set or ordered pairs) no recipe field takes");
    ms_node_kind kind = scalar_tag ? MS_NODE_SCALAR : want[0] == 'm' ? MS_NODE_MAP : MS_NODE_SEQ;
    if (n->kind != kind) {
        char why[96];
        snprintf(why, sizeof why, "needs a %s, but the value is a %s",
                 kind == MS_NODE_SCALAR ? "scalar"
                 : kind == MS_NODE_MAP  ? "map"
                                        : "sequence",
                 ms_node_type_name(n));
        return tag_error(b, mark, tag, why);
    }
    if (!scalar_tag)
        return MS_OK;
    if (!strcmp(std, "str")) {
        n->quoted = true;
        return MS_OK;
    }
    if (!strcmp(std, "null"))
        return set_value(n, "null") ? MS_OK : MS_ERR_NOMEM;
    if (!strcmp(std, "bool")) {
        static const char *const yes[] = {"yes", "true", "on"}, *const no[] = {"no", "false",
                                                                               "off"};
        for (size_t i = 0; i < 3; i++) {
            if (!strcasecmp(n->value, yes[i]) || !strcasecmp(n->value, no[i]))
                return set_value(n, !strcasecmp(n->value, yes[i]) ? "true" : "false")
                           ? MS_OK
                           : MS_ERR_NOMEM;
        }
        return tag_error(b, mark, tag, "needs yes/no, true/false or on/off");
    }
    if (!strcmp(std, "int")) {
        bool quoted = n->quoted, block = n->block;
        long long v;
        n->quoted = n->block = false;
        if (ms_node_as_int(n, &v))
            return MS_OK;
        n->quoted = quoted;
        n->block = block;
        return tag_error(b, mark, tag, "needs an integer (such as 3, 0x1f or 1_000)");
    }
    double v;
    char text[48];
    if (!python_float(n->value, &v))
        return tag_error(b, mark, tag, "needs a number (such as 3, 0.5, 1e-3 or .inf)");
    float_text(v, text, sizeof text);
    return set_value(n, text) ? MS_OK : MS_ERR_NOMEM;
}

/* Builds the node that starts with `ev` (already taken from the parser) at
 * nesting `depth`; `weight` and `height` get its nodes and levels, aliases
 * expanded. The depth bound holds for the tree as readers walk it: an alias
 * counts as the levels of what it refers to, so a chain of anchors, each
 * nesting the one before, cannot make it deeper than text could. */
static ms_status build_node(builder *b, yaml_parser_t *p, yaml_event_t *ev, int depth,
                            ms_node **out, size_t *weight, int *height)
{
    if (depth > MS_DOC_MAX_DEPTH)
        return fail(b, MS_ERR_LIMIT, "E-DEPTH", &ev->start_mark, "nesting is deeper than %s levels",
                    "256");
    *weight = 1;
    *height = 1;
    switch (ev->type) {
    case YAML_ALIAS_EVENT: {
        const anchor *a = find_anchor(b, ev->data.alias.anchor);
        if (!a)
            return fail(b, MS_ERR_SYNTAX, "E-YAML", &ev->start_mark,
                        "alias *%s refers to no anchor defined before it",
                        (const char *)ev->data.alias.anchor);
        b->alias_expansion += a->weight;
        if (b->alias_expansion > MAX_ALIAS_EXPANSION)
            return fail(b, MS_ERR_LIMIT, "E-ALIAS", &ev->start_mark,
                        "aliases expand to more than %s nodes (recursive or exponential anchors)",
                        "1000000");
        if (depth + a->height - 1 > MS_DOC_MAX_DEPTH)
            return fail(b, MS_ERR_LIMIT, "E-DEPTH", &ev->start_mark,
                        "nesting is deeper than 256 levels with alias *%s expanded",
                        (const char *)ev->data.alias.anchor);
        *out = a->node;
        *weight = a->weight;
        *height = a->height;
        return MS_OK;
    }
    case YAML_SCALAR_EVENT: {
        ms_node *n = node_new(b, MS_NODE_SCALAR, &ev->start_mark);
        if (!n)
            return MS_ERR_NOMEM;
        n->value = malloc(ev->data.scalar.length + 1);
        if (!n->value)
            return MS_ERR_NOMEM;
        memcpy(n->value, ev->data.scalar.value, ev->data.scalar.length);
        n->value[ev->data.scalar.length] = '\0';
        n->count = ev->data.scalar.length;
        n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE &&
                    ev->data.scalar.style != YAML_ANY_SCALAR_STYLE;
        n->block = ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
                   ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
        *out = n;
        ms_status st = apply_tag(b, ev->data.scalar.tag, &ev->start_mark, n);
        return st != MS_OK ? st : remember_anchor(b, ev->data.scalar.anchor, n, 1, 1);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool is_map = ev->type == YAML_MAPPING_START_EVENT;
        yaml_event_type_t end_type = is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
        ms_node *n = node_new(b, is_map ? MS_NODE_MAP : MS_NODE_SEQ, &ev->start_mark);
        if (!n)
            return MS_ERR_NOMEM;
        const yaml_char_t *anchor_name =
            is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
        ms_status st =
            apply_tag(b, is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag,
                      &ev->start_mark, n);
        if (st != MS_OK)
            return st;
        char *anchor_copy = anchor_name ? strdup((const char *)anchor_name) : NULL;
        if (anchor_name && !anchor_copy)
            return MS_ERR_NOMEM;
        size_t cap = 0;
        keyset keys = {0};
        for (;;) {
            yaml_event_t child;
            if (!yaml_parser_parse(p, &child)) {
                st = MS_ERR_SYNTAX;
                break;
            }
            if (child.type == end_type) {
                yaml_event_delete(&child);
                break;
            }
            ms_node *key = NULL, *value = NULL;
            size_t w = 0;
            int h = 0;
            st = build_node(b, p, &child, depth + 1, is_map ? &key : &value, &w, &h);
            yaml_event_delete(&child);
            if (st != MS_OK)
                break;
            *weight += w;
            if (h + 1 > *height)
                *height = h + 1;
            if (is_map) {
                if (key->kind != MS_NODE_SCALAR) {
                    yaml_mark_t m = {0, (size_t)key->line - 1, (size_t)key->col - 1};
                    st = fail(b, MS_ERR_SYNTAX, "E-KEY", &m, "a map key must be a %s",
                              "plain or quoted scalar, not a map or a sequence");
                    break;
                }
                if ((st = check_key(b, &keys, n, key)) != MS_OK)
                    break;
                if (!yaml_parser_parse(p, &child)) {
                    st = MS_ERR_SYNTAX;
                    break;
                }
                st = build_node(b, p, &child, depth + 1, &value, &w, &h);
                yaml_event_delete(&child);
                if (st != MS_OK)
                    break;
                *weight += w;
                if (h + 1 > *height)
                    *height = h + 1;
            }
            if (!push_item(n, key, value, &cap)) {
                st = MS_ERR_NOMEM;
                break;
            }
        }
        free(keys.slots);
        if (st == MS_OK && is_map)
            st = apply_merge(b, n);
        if (st == MS_OK && anchor_copy)
            st = remember_anchor(b, (const yaml_char_t *)anchor_copy, n, *weight, *height);
        free(anchor_copy);
        *out = n;
        return st;
    }
    default:
        return fail(b, MS_ERR_SYNTAX, "E-YAML", &ev->start_mark, "unexpected %s", "YAML structure");
    }
}

/* The 1-based line and column (in characters) of byte `offset` of `text`. */
static void text_position(const char *text, size_t len, size_t offset, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset && i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n' || (c == '\r' && (i + 1 >= len || text[i + 1] != '\n'))) {
            ++*line;
            *col = 1;
        } else if ((c & 0xc0) != 0x80 && c != '\r') {
            ++*col;
        }
    }
}

static ms_status syntax_error(builder *b, const yaml_parser_t *p, const char *text, size_t len)
{
    const yaml_mark_t *mark = p->problem ? &p->problem_mark : &p->context_mark;
    int line = (int)mark->line + 1, col = (int)mark->column + 1;
    /* libyaml's reader gives a byte offset, not a mark: a bad byte is
     * reported where it is, not at 1:1 */
    if (p->error == YAML_READER_ERROR) {
        size_t off = p->problem_offset;
        /* of a sequence cut short, the offset is the byte that does not
         * continue it: the character that is not UTF-8 starts at its lead byte */
        if (p->problem && !strcmp(p->problem, "invalid trailing UTF-8 octet") && off > 0 &&
            off <= len) {
            while (off > 1 && ((unsigned char)text[off - 1] & 0xc0) == 0x80)
                off--;
            off--;
        }
        text_position(text, len, off, &line, &col);
    }
    /* libyaml says "found character that cannot start any token" of a tab
     * too, which does not say the character is one */
    size_t at = mark->index;
    if (p->error == YAML_SCANNER_ERROR && at < len && text[at] == '\t') {
        size_t start = at;
        while (start > 0 && text[start - 1] != '\n' && text[start - 1] != '\r')
            start--;
        bool indents = strspn(text + start, " \t") >= at - start;
        ms_diag_set(b->diag, MS_ERR_SYNTAX, "E-YAML", b->doc->file, line, col,
                    indents ? "YAML syntax: a tab indents this line: YAML indents with spaces"
                            : "YAML syntax: a tab where YAML expects a value or a key");
        ms_diag_hint(b->diag, "replace the tab with spaces");
        return MS_ERR_SYNTAX;
    }
    /* an unclosed bracket is found only where the next key is: point at
     * the bracket, where the mistake is, and say where libyaml gave up */
    bool flow = p->error == YAML_PARSER_ERROR && p->context && p->problem &&
                (!strcmp(p->context, "while parsing a flow sequence") ||
                 !strcmp(p->context, "while parsing a flow mapping")) &&
                p->context_mark.line < p->problem_mark.line;
    if (flow) {
        bool seq = !strcmp(p->context, "while parsing a flow sequence");
        int below = (int)(p->problem_mark.line - p->context_mark.line);
        ms_diag_set(b->diag, MS_ERR_SYNTAX, "E-YAML", b->doc->file, (int)p->context_mark.line + 1,
                    (int)p->context_mark.column + 1,
                    "YAML syntax: the '%c' here is not closed (parsing stopped %d line%s "
                    "below: %s)",
                    seq ? '[' : '{', below, below == 1 ? "" : "s", p->problem);
        ms_diag_hint(b->diag, "close it with '%c' after its last item", seq ? ']' : '}');
        return MS_ERR_SYNTAX;
    }
    ms_diag_set(b->diag, MS_ERR_SYNTAX, "E-YAML", b->doc->file, line, col, "YAML syntax: %s%s%s",
                p->problem ? p->problem : "error", p->context ? " " : "",
                p->context ? p->context : "");
    if (p->error == YAML_READER_ERROR)
        ms_diag_hint(b->diag, "the file must be UTF-8 (or UTF-16 with a byte order mark) text");
    else
        ms_diag_hint(b->diag, "check indentation, colons and brackets at this position");
    return MS_ERR_SYNTAX;
}

static ms_status parse_yaml(const char *text, size_t len, const char *file, bool keep_local_tags,
                            ms_doc **out, ms_diag *diag)
{
    *out = NULL;
    ms_doc *doc = calloc(1, sizeof *doc);
    if (!doc)
        return MS_ERR_NOMEM;
    doc->file = strdup(file ? file : "");
    if (!doc->file) {
        free(doc);
        return MS_ERR_NOMEM;
    }
    builder b = {
        .doc = doc, .text = text, .len = len, .keep_local_tags = keep_local_tags, .diag = diag};
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        ms_doc_free(doc);
        return MS_ERR_NOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

    ms_status st = MS_OK;
    int documents = 0;
    for (bool done = false; !done && st == MS_OK;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            st = MS_ERR_SYNTAX;
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1)
                st = fail(&b, MS_ERR_SYNTAX, "E-YAML", &ev.start_mark,
                          "the file holds several YAML documents; %s",
                          "keep one (remove the extra '---')");
            break;
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        default: {
            size_t w;
            int h;
            st = build_node(&b, &parser, &ev, 0, &doc->root, &w, &h);
            break;
        }
        }
        yaml_event_delete(&ev);
    }
    if (st == MS_ERR_SYNTAX && parser.error != YAML_NO_ERROR)
        syntax_error(&b, &parser, text, len);
    else if (st == MS_ERR_NOMEM)
        ms_diag_set(diag, st, "E-NOMEM", doc->file, 0, 0, "out of memory while parsing");
    yaml_parser_delete(&parser);
    for (size_t i = 0; i < b.n_anchors; i++)
        free(b.anchors[i].name);
    free(b.anchors);
    free(b.anchor_slots);
    if (st != MS_OK) {
        ms_doc_free(doc);
        return st;
    }
    *out = doc;
    return MS_OK;
}

ms_status ms_doc_parse(const char *text, size_t len, const char *file, ms_doc **out, ms_diag *diag)
{
    return parse_yaml(text, len, file, false, out, diag);
}

ms_status ms_doc_parse_tagged(const char *text, size_t len, const char *file, ms_doc **out,
                              ms_diag *diag)
{
    return parse_yaml(text, len, file, true, out, diag);
}

/* ---- strict JSON --------------------------------------------------------- */

/* A JSON reader (RFC 8259, as serde_json and Python's json module without its
 * NaN extension read it) that builds the same nodes as the YAML reader: for
 * inputs that must be JSON, where libyaml would accept YAML and refuse long
 * keys (it caps an implicit key at 1024 characters). */
typedef struct jparser {
    builder *b;
    const unsigned char *s;
    size_t len, pos;
    size_t line, col; /* 0-based, of `pos`; the column counts characters */
} jparser;

static void jstep(jparser *j, size_t n)
{
    for (; n > 0 && j->pos < j->len; n--, j->pos++) {
        unsigned char c = j->s[j->pos];
        if (c == '\n') {
            j->line++;
            j->col = 0;
        } else if ((c & 0xc0) != 0x80) {
            j->col++;
        }
    }
}

static yaml_mark_t jmark(const jparser *j)
{
    return (yaml_mark_t){j->pos, j->line, j->col};
}

static ms_status jfail(jparser *j, const char *hint, const char *fmt, const char *arg)
{
    yaml_mark_t m = jmark(j);
    char msg[256];
    snprintf(msg, sizeof msg, fmt, arg);
    fail(j->b, MS_ERR_SYNTAX, "E-JSON", &m, "JSON syntax: %s", msg);
    ms_diag_hint(j->b->diag, "%s", hint);
    return MS_ERR_SYNTAX;
}

static void jskip_ws(jparser *j)
{
    while (j->pos < j->len && strchr(" \t\n\r", j->s[j->pos]) && j->s[j->pos])
        jstep(j, 1);
}

/* What stands at the position, for a message: "'x'", "byte 0xff" or "the end". */
static ms_status junexpected(jparser *j, const char *what)
{
    char found[32];
    if (j->pos >= j->len)
        snprintf(found, sizeof found, "the end of the text");
    else if (j->s[j->pos] >= 0x20 && j->s[j->pos] < 0x7f)
        snprintf(found, sizeof found, "'%c'", j->s[j->pos]);
    else
        snprintf(found, sizeof found, "byte 0x%02x", j->s[j->pos]);
    char msg[160];
    snprintf(msg, sizeof msg, "%s is expected, not %s", what, found);
    return jfail(j,
                 "the text must be strict JSON: double-quoted strings, no comments, no "
                 "trailing commas",
                 "%s", msg);
}

/* Length of the UTF-8 sequence at `p` (at most `n` bytes), 0 if it is not one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t k;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        k = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        k = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        k = 4, min = 0x10000;
    else
        return 0;
    if (n < k)
        return 0;
    unsigned cp = c & (0x7f >> k);
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}

static unsigned hex4(const unsigned char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 4 | (unsigned)(isdigit(p[i]) ? p[i] - '0' : (tolower(p[i]) - 'a' + 10));
    return v;
}

static bool is_hex4(const jparser *j, size_t at)
{
    if (at + 4 > j->len)
        return false;
    for (int i = 0; i < 4; i++)
        if (!isxdigit(j->s[at + i]))
            return false;
    return true;
}

static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A string at the opening quote: a quoted scalar with its escapes decoded. */
static ms_status jstring(jparser *j, ms_node **out)
{
    static const char hint[] = "JSON strings are UTF-8 with escapes \\\" \\\\ \\/ \\b \\f \\n \\r "
                               "\\t \\uXXXX; control characters must be escaped";
    yaml_mark_t start = jmark(j);
    jstep(j, 1);
    /* the decoded text is never longer than the source: one allocation */
    size_t begin = j->pos, end = begin;
    while (end < j->len && j->s[end] != '"')
        end += j->s[end] == '\\' ? 2 : 1;
    char *buf = malloc((end > j->len ? j->len : end) - begin + 1);
    if (!buf)
        return MS_ERR_NOMEM;
    size_t n = 0;
    ms_status st = MS_OK;
    for (;;) {
        if (j->pos >= j->len) {
            j->pos = start.index, j->line = start.line, j->col = start.column;
            st = jfail(j, "close the string with '\"'", "%s", "unterminated string");
            break;
        }
        unsigned char c = j->s[j->pos];
        if (c == '"') {
            jstep(j, 1);
            break;
        }
        if (c < 0x20) {
            char what[48];
            snprintf(what, sizeof what, "control character 0x%02x inside a string", c);
            st = jfail(j, hint, "%s", what);
            break;
        }
        if (c == '\\') {
            unsigned char e = j->pos + 1 < j->len ? j->s[j->pos + 1] : 0;
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                buf[n++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
                jstep(j, 2);
                continue;
            }
            unsigned cp = 0;
            size_t used = 6;
            bool ok = e == 'u' && is_hex4(j, j->pos + 2);
            if (ok) {
                cp = hex4(j->s + j->pos + 2);
                if (cp >= 0xd800 && cp <= 0xdbff) { /* a surrogate pair */
                    ok = j->pos + 8 <= j->len && j->s[j->pos + 6] == '\\' &&
                         j->s[j->pos + 7] == 'u' && is_hex4(j, j->pos + 8);
                    unsigned lo = ok ? hex4(j->s + j->pos + 8) : 0;
                    ok = ok && lo >= 0xdc00 && lo <= 0xdfff;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    used = 12;
                } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                    ok = false;
                }
            }
            if (!ok || cp == 0) {
                st = jfail(j, hint, "%s",
                           cp == 0 && ok ? "\\u0000 (a NUL character) inside a string"
                           : e == 'u'    ? "invalid \\u escape (or a lone surrogate)"
                                         : "invalid escape in a string");
                break;
            }
            n += put_utf8(buf + n, cp);
            jstep(j, used);
            continue;
        }
        size_t k = utf8_len(j->s + j->pos, j->len - j->pos);
        if (!k) {
            char what[48];
            snprintf(what, sizeof what, "byte 0x%02x is not UTF-8", c);
            st = jfail(j, hint, "%s", what);
            break;
        }
        memcpy(buf + n, j->s + j->pos, k);
        n += k;
        jstep(j, k);
    }
    if (st != MS_OK) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    ms_node *node = node_new(j->b, MS_NODE_SCALAR, &start);
    if (!node) {
        free(buf);
        return MS_ERR_NOMEM;
    }
    node->value = buf;
    node->count = n;
    node->quoted = true;
    *out = node;
    return MS_OK;
}

/* A number or true/false/null: a plain scalar with the text as written, so
 * ms_node_as_int and friends read it. */
static ms_status jword(jparser *j, ms_node **out)
{
    const unsigned char *p = j->s + j->pos;
    size_t left = j->len - j->pos, n = 0;
    static const char *const literals[] = {"true", "false", "null"};
    for (size_t i = 0; i < 3 && !n; i++) {
        size_t l = strlen(literals[i]);
        if (left >= l && !memcmp(p, literals[i], l))
            n = l;
    }
    if (!n) {
        size_t i = 0;
        if (i < left && p[i] == '-')
            i++;
        if (i < left && p[i] == '0')
            i++;
        else if (i < left && p[i] >= '1' && p[i] <= '9')
            while (i < left && isdigit(p[i]))
                i++;
        else
            return junexpected(j, "a value");
        if (i + 1 < left && p[i] == '.' && isdigit(p[i + 1]))
            for (i++; i < left && isdigit(p[i]); i++)
                ;
        if (i < left && (p[i] == 'e' || p[i] == 'E')) {
            size_t e = i + 1;
            if (e < left && (p[e] == '+' || p[e] == '-'))
                e++;
            if (e < left && isdigit(p[e]))
                for (i = e; i < left && isdigit(p[i]); i++)
                    ;
        }
        n = i;
    }
    if (n < left && (isalnum(p[n]) || p[n] == '.' || p[n] == '_')) {
        jstep(j, n);
        return junexpected(j, "',', ']' or '}' after the value");
    }
    yaml_mark_t m = jmark(j);
    ms_node *node = node_new(j->b, MS_NODE_SCALAR, &m);
    if (!node || !(node->value = strndup((const char *)p, n)))
        return MS_ERR_NOMEM;
    node->count = n;
    jstep(j, n);
    *out = node;
    return MS_OK;
}

static ms_status jvalue(jparser *j, int depth, ms_node **out)
{
    jskip_ws(j);
    if (j->pos >= j->len)
        return junexpected(j, "a value");
    unsigned char c = j->s[j->pos];
    if (c == '"')
        return jstring(j, out);
    if (c != '{' && c != '[')
        return jword(j, out);
    yaml_mark_t m = jmark(j);
    if (depth >= MS_DOC_MAX_DEPTH)
        return fail(j->b, MS_ERR_LIMIT, "E-DEPTH", &m, "nesting is deeper than %s levels", "256");
    bool is_map = c == '{';
    char close = is_map ? '}' : ']';
    ms_node *n = node_new(j->b, is_map ? MS_NODE_MAP : MS_NODE_SEQ, &m);
    if (!n)
        return MS_ERR_NOMEM;
    *out = n;
    jstep(j, 1);
    jskip_ws(j);
    if (j->pos < j->len && j->s[j->pos] == (unsigned char)close) {
        jstep(j, 1);
        return MS_OK;
    }
    size_t cap = 0;
    keyset keys = {0};
    ms_status st = MS_OK;
    for (;;) {
        ms_node *key = NULL, *value = NULL;
        if (is_map) {
            jskip_ws(j);
            if (j->pos >= j->len || j->s[j->pos] != '"') {
                st = junexpected(j, "a key in double quotes");
                break;
            }
            if ((st = jstring(j, &key)) != MS_OK || (st = check_key(j->b, &keys, n, key)) != MS_OK)
                break;
            jskip_ws(j);
            if (j->pos >= j->len || j->s[j->pos] != ':') {
                st = junexpected(j, "':' after the key");
                break;
            }
            jstep(j, 1);
        }
        if ((st = jvalue(j, depth + 1, &value)) != MS_OK)
            break;
        if (!push_item(n, key, value, &cap)) {
            st = MS_ERR_NOMEM;
            break;
        }
        jskip_ws(j);
        if (j->pos < j->len && j->s[j->pos] == ',') {
            jstep(j, 1);
            continue;
        }
        if (j->pos < j->len && j->s[j->pos] == (unsigned char)close) {
            jstep(j, 1);
            break;
        }
        st = junexpected(j, is_map ? "',' or '}'" : "',' or ']'");
        break;
    }
    free(keys.slots);
    return st;
}

ms_status ms_doc_parse_json(const char *text, size_t len, const char *file, ms_doc **out,
                            ms_diag *diag)
{
    *out = NULL;
    ms_doc *doc = calloc(1, sizeof *doc);
    if (doc)
        doc->file = strdup(file ? file : "");
    if (!doc || !doc->file) {
        free(doc);
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", file, 0, 0, "out of memory");
    }
    builder b = {.doc = doc, .diag = diag};
    jparser j = {.b = &b, .s = (const unsigned char *)text, .len = len};
    ms_status st = jvalue(&j, 0, &doc->root);
    if (st == MS_OK) {
        jskip_ws(&j);
        if (j.pos < j.len)
            st = junexpected(&j, "the end of the text after the value");
    }
    if (st == MS_ERR_NOMEM)
        ms_diag_set(diag, st, "E-NOMEM", doc->file, 0, 0, "out of memory while parsing");
    if (st != MS_OK) {
        ms_doc_free(doc);
        return st;
    }
    *out = doc;
    return MS_OK;
}

static ms_status is_a_directory(const char *name, ms_diag *diag)
{
    return ms_diag_set(diag, MS_ERR_IO, "E-IO", name, 0, 0,
                       "is a directory: give the path of a file in it");
}

ms_status ms_open_input(const char *path, int *fd, size_t *size, ms_diag *diag)
{
    *fd = -1;
    *size = 0;
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer */
    int f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (f < 0)
        return ms_diag_set(diag, MS_ERR_IO, "E-IO", path, 0, 0, "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(f, &sb) != 0) {
        ms_status st =
            ms_diag_set(diag, MS_ERR_IO, "E-IO", path, 0, 0, "cannot open: %s", strerror(errno));
        close(f);
        return st;
    }
    if (S_ISDIR(sb.st_mode)) {
        close(f);
        return is_a_directory(path, diag);
    }
    if (!S_ISREG(sb.st_mode)) {
        close(f);
        return ms_diag_set(diag, MS_ERR_IO, "E-IO", path, 0, 0,
                           "not a regular file (it is %s): give the path of a file",
                           S_ISFIFO(sb.st_mode)   ? "a FIFO"
                           : S_ISSOCK(sb.st_mode) ? "a socket"
                                                  : "a device");
    }
    int flags = fcntl(f, F_GETFL);
    if (flags >= 0)
        fcntl(f, F_SETFL, flags & ~O_NONBLOCK);
    *fd = f;
    *size = (size_t)sb.st_size;
    return MS_OK;
}

static ms_status too_large(const char *path, size_t max_bytes, ms_diag *diag)
{
    return ms_diag_set(diag, MS_ERR_LIMIT, "E-SIZE", path, 0, 0, "file is larger than %zu bytes",
                       max_bytes);
}

/* Reads `fd` to its end, `size` (what fstat said) the first guess of its
 * length; `name` names it in diagnostics. */
static ms_status read_all(int fd, const char *name, size_t size, size_t max_bytes, char **out,
                          size_t *len, ms_diag *diag)
{
    /* The size fstat gives is a first guess (files in /proc say 0, a file may
     * grow): reading goes on to the end, but never past the limit. */
    size_t cap = size < 4096 ? 4096 : size + 1, n = 0;
    char *buf = malloc(cap + 1);
    ms_status st = buf ? MS_OK : MS_ERR_NOMEM;
    while (st == MS_OK) {
        if (n == cap) {
            size_t ncap = cap > max_bytes / 2 ? max_bytes + 1 : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                st = MS_ERR_NOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - n;
        if (want > max_bytes + 1 - n)
            want = max_bytes + 1 - n;
        ssize_t got = read(fd, buf + n, want);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            st =
                ms_diag_set(diag, MS_ERR_IO, "E-IO", name, 0, 0, "read error: %s", strerror(errno));
            break;
        }
        n += (size_t)got;
        if (n > max_bytes) {
            st = too_large(name, max_bytes, diag);
            break;
        }
        if (got == 0)
            break;
    }
    if (st != MS_OK) {
        if (st == MS_ERR_NOMEM)
            ms_diag_set(diag, st, "E-NOMEM", name, 0, 0, "out of memory reading the file");
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return MS_OK;
}

ms_status ms_read_file(const char *path, size_t max_bytes, char **out, size_t *len, ms_diag *diag)
{
    *out = NULL;
    *len = 0;
    int fd;
    size_t size;
    ms_status st = ms_open_input(path, &fd, &size, diag);
    if (st != MS_OK)
        return st;
    if (size > max_bytes) {
        close(fd);
        return too_large(path, max_bytes, diag);
    }
    st = read_all(fd, path, size, max_bytes, out, len, diag);
    close(fd);
    return st;
}

ms_status ms_read_stdin(size_t max_bytes, char **out, size_t *len, ms_diag *diag)
{
    *out = NULL;
    *len = 0;
    struct stat sb;
    if (fstat(STDIN_FILENO, &sb) != 0)
        return ms_diag_set(diag, MS_ERR_IO, "E-IO", MS_STDIN_NAME, 0, 0, "cannot read: %s",
                           strerror(errno));
    /* `< folder` opens a directory, which read() refuses with EISDIR */
    if (S_ISDIR(sb.st_mode))
        return is_a_directory(MS_STDIN_NAME, diag);
    if (S_ISREG(sb.st_mode) && (size_t)sb.st_size > max_bytes)
        return too_large(MS_STDIN_NAME, max_bytes, diag);
    return read_all(STDIN_FILENO, MS_STDIN_NAME, S_ISREG(sb.st_mode) ? (size_t)sb.st_size : 0,
                    max_bytes, out, len, diag);
}

ms_status ms_doc_load_file(const char *path, size_t max_bytes, ms_doc **out, ms_diag *diag)
{
    char *text;
    size_t len;
    *out = NULL;
    ms_status st = ms_read_file(path, max_bytes, &text, &len, diag);
    if (st != MS_OK)
        return st;
    st = ms_doc_parse(text, len, path, out, diag);
    free(text);
    return st;
}

void ms_doc_free(ms_doc *doc)
{
    if (!doc)
        return;
    for (node_chunk *c = doc->chunks, *next; c; c = next) {
        next = c->next;
        for (size_t i = 0; i < c->used; i++) {
            free(c->nodes[i].value);
            free(c->nodes[i].items);
            free(c->nodes[i].keys);
            free(c->nodes[i].tag);
        }
        free(c);
    }
    free(doc->file);
    free(doc);
}

void ms_doc_shift(ms_doc *doc, int lines, int cols)
{
    for (node_chunk *c = doc->chunks; c; c = c->next)
        for (size_t i = 0; i < c->used; i++) {
            c->nodes[i].line += lines;
            c->nodes[i].col += cols;
        }
}

const ms_node *ms_doc_root(const ms_doc *doc)
{
    return doc->root;
}

const char *ms_doc_file(const ms_doc *doc)
{
    return doc->file;
}

const ms_node *ms_node_key(const ms_node *map, const char *key)
{
    if (!map || map->kind != MS_NODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->count; i++)
        if (strcmp(map->keys[i]->value, key) == 0)
            return map->keys[i];
    return NULL;
}

const ms_node *ms_node_get(const ms_node *map, const char *key)
{
    if (!map || map->kind != MS_NODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->count; i++)
        if (strcmp(map->keys[i]->value, key) == 0)
            return map->items[i];
    return NULL;
}

static bool plain_scalar(const ms_node *n)
{
    return n && n->kind == MS_NODE_SCALAR && !n->quoted;
}

bool ms_node_is_null(const ms_node *n)
{
    if (!plain_scalar(n))
        return false;
    const char *v = n->value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

bool ms_node_as_bool(const ms_node *n, bool *out)
{
    static const char *const yes[] = {"yes",  "Yes", "YES", "true", "True",
                                      "TRUE", "on",  "On",  "ON"};
    static const char *const no[] = {"no",    "No",  "NO",  "false", "False",
                                     "FALSE", "off", "Off", "OFF"};
    if (!plain_scalar(n))
        return false;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!strcmp(n->value, yes[i])) {
            *out = true;
            return true;
        }
        if (!strcmp(n->value, no[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Copies `s` without '_' separators (YAML 1.1 allows them in numbers). */
static bool strip_underscores(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    for (; *s; s++) {
        if (*s == '_')
            continue;
        if (n + 1 >= cap)
            return false;
        buf[n++] = *s;
    }
    buf[n] = '\0';
    return n > 0;
}

/* YAML 1.1 base 60, [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+: PyYAML reads "2:4" as 124. */
static bool sexagesimal(const char *s, long long *out)
{
    int sign = 1;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    if (*s < '1' || *s > '9' || !strchr(s, ':'))
        return false;
    long long v = 0;
    char *end;
    v = strtoll(s, &end, 10);
    while (*end == ':') {
        const char *d = end + 1;
        long long part = strtoll(d, &end, 10);
        if (end == d || end - d > 2 || part > 59 || !isdigit((unsigned char)*d))
            return false;
        if (v > LLONG_MAX / 60)
            return false;
        v = v * 60 + part;
    }
    if (*end)
        return false;
    *out = sign * v;
    return true;
}

bool ms_node_as_int(const ms_node *n, long long *out)
{
    char buf[128];
    if (!plain_scalar(n) || !strip_underscores(n->value, buf, sizeof buf))
        return false;
    if (sexagesimal(buf, out))
        return true;
    const char *s = buf;
    int sign = 1;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
        base = 2, s += 2;
    else if (s[0] == '0' && s[1])
        base = 8, s += 1;
    if (!*s)
        return false;
    for (const char *c = s; *c; c++) {
        int d = isdigit((unsigned char)*c)    ? *c - '0'
                : isxdigit((unsigned char)*c) ? tolower((unsigned char)*c) - 'a' + 10
                                              : 99;
        if (d >= base)
            return false;
    }
    errno = 0;
    long long v = strtoll(s, NULL, base);
    if (errno)
        return false;
    *out = sign * v;
    return true;
}

/* PyYAML's YAML 1.1 float: a dot is required, an exponent needs its sign. */
static bool yaml11_float(const char *s, double *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) {
        *out = s[0] == '-' ? -INFINITY : INFINITY;
        return true;
    }
    if (p == s && (!strcmp(p, ".nan") || !strcmp(p, ".NaN") || !strcmp(p, ".NAN"))) {
        *out = NAN;
        return true;
    }
    const char *digits = p;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p != '.')
        return false;
    if (p == digits && !isdigit((unsigned char)p[1]))
        return false;
    p++;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p != '+' && *p != '-')
            return false;
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p)
        return false;
    *out = strtod(s, NULL);
    return true;
}

/* JSON-style numbers ("1e-3", "2E5") that PyYAML reads as strings but
 * json.loads reads as numbers: accepted where a number is expected. */
static bool json_number(const char *s, double *out)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno)
        return false;
    *out = v;
    return true;
}

bool ms_node_as_double(const ms_node *n, double *out)
{
    char buf[128];
    long long i;
    if (ms_node_as_int(n, &i)) {
        *out = (double)i;
        return true;
    }
    if (!plain_scalar(n) || !strip_underscores(n->value, buf, sizeof buf))
        return false;
    return yaml11_float(buf, out) || json_number(buf, out);
}

bool ms_node_is_string(const ms_node *n)
{
    if (!n || n->kind != MS_NODE_SCALAR)
        return false;
    if (n->quoted)
        return true;
    bool b;
    double d;
    return !ms_node_is_null(n) && !ms_node_as_bool(n, &b) && !ms_node_as_double(n, &d);
}

/* Digits with single '_' between them, as Python's int() and float() take
 * them; copied without the separators. Returns the characters consumed. */
static size_t lax_digits(const char *s, char *buf, size_t *n, size_t cap)
{
    size_t i = 0;
    while (isdigit((unsigned char)s[i]) ||
           (s[i] == '_' && i > 0 && isdigit((unsigned char)s[i - 1]) &&
            isdigit((unsigned char)s[i + 1]))) {
        if (s[i] != '_' && *n + 1 < cap)
            buf[(*n)++] = s[i];
        i++;
    }
    return i;
}

/* The string of a node that pydantic would convert: trimmed, no separators.
 * pydantic strips surrounding whitespace before it parses a number. */
static bool lax_text(const ms_node *n, const char **begin, size_t *len)
{
    if (!ms_node_is_string(n))
        return false;
    const char *s = n->value, *e = s + strlen(s);
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    *begin = s;
    *len = (size_t)(e - s);
    return *len > 0 && *len < 128;
}

bool ms_node_lax_int(const ms_node *n, double *out)
{
    const char *s;
    size_t len, k = 0;
    char buf[128];
    if (!lax_text(n, &s, &len))
        return false;
    size_t i = s[0] == '+' || s[0] == '-' ? 1 : 0;
    if (s[0] == '-')
        buf[k++] = '-';
    size_t digits = lax_digits(s + i, buf, &k, sizeof buf);
    if (!digits)
        return false;
    i += digits;
    if (i < len && s[i] == '.') /* "128.0": pydantic drops a zero fraction */
        for (i++; i < len && s[i] == '0'; i++)
            ;
    if (i != len)
        return false;
    buf[k] = '\0';
    *out = strtod(buf, NULL);
    return true;
}

bool ms_node_lax_float(const ms_node *n, double *out)
{
    const char *s;
    size_t len, k = 0;
    char buf[128];
    if (!lax_text(n, &s, &len))
        return false;
    size_t i = s[0] == '+' || s[0] == '-' ? 1 : 0;
    static const char *const special[] = {"inf", "infinity", "nan"};
    for (size_t j = 0; j < 3; j++) {
        if (len - i == strlen(special[j]) && !strncasecmp(s + i, special[j], len - i)) {
            *out = j == 2 ? NAN : s[0] == '-' ? -INFINITY : INFINITY;
            return true;
        }
    }
    if (s[0] == '-' || s[0] == '+')
        buf[k++] = s[0];
    size_t mantissa = lax_digits(s + i, buf, &k, sizeof buf);
    i += mantissa;
    if (i < len && s[i] == '.') {
        buf[k++] = '.';
        size_t frac = lax_digits(s + i + 1, buf, &k, sizeof buf);
        mantissa += frac;
        i += 1 + frac;
    }
    if (!mantissa)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        buf[k++] = 'e';
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            buf[k++] = s[i++];
        size_t exp = lax_digits(s + i, buf, &k, sizeof buf);
        if (!exp)
            return false;
        i += exp;
    }
    if (i != len)
        return false;
    buf[k] = '\0';
    *out = strtod(buf, NULL);
    return true;
}

bool ms_node_lax_bool(const ms_node *n, bool *out)
{
    static const char *const yes[] = {"1", "on", "t", "true", "y", "yes"};
    static const char *const no[] = {"0", "off", "f", "false", "n", "no"};
    long long i;
    if (ms_node_as_int(n, &i) && (i == 0 || i == 1)) {
        *out = i == 1;
        return true;
    }
    if (!ms_node_is_string(n))
        return false;
    for (size_t j = 0; j < sizeof yes / sizeof yes[0]; j++) {
        if (!strcasecmp(n->value, yes[j]) || !strcasecmp(n->value, no[j])) {
            *out = !strcasecmp(n->value, yes[j]);
            return true;
        }
    }
    return false;
}

bool ms_node_as_pydantic_number(const ms_node *n, bool integer, double *out)
{
    if (ms_node_as_double(n, out))
        return !integer || (isfinite(*out) && floor(*out) == *out);
    return integer ? ms_node_lax_int(n, out) : ms_node_lax_float(n, out);
}

const char *ms_node_type_name(const ms_node *n)
{
    if (!n)
        return "nothing";
    if (n->kind == MS_NODE_MAP)
        return "map";
    if (n->kind == MS_NODE_SEQ)
        return "sequence";
    bool b;
    long long i;
    double d;
    if (ms_node_is_null(n))
        return "null";
    if (ms_node_as_bool(n, &b))
        return "boolean";
    if (ms_node_as_int(n, &i))
        return "integer";
    if (ms_node_as_double(n, &d))
        return "number";
    return "string";
}
