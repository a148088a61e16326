#include "doc.h"

#include <stdarg.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
} anchor;

struct ms_doc {
    char *file;
    ms_node *root;
    node_chunk *chunks;
};

typedef struct builder {
    ms_doc *doc;
    anchor *anchors;
    size_t n_anchors, cap_anchors;
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

static ms_status remember_anchor(builder *b, const yaml_char_t *name, ms_node *node, size_t weight)
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
    char *copy = strdup((const char *)name);
    if (!copy)
        return MS_ERR_NOMEM;
    b->anchors[b->n_anchors++] = (anchor){copy, node, weight};
    return MS_OK;
}

static const anchor *find_anchor(const builder *b, const yaml_char_t *name)
{
    /* the latest definition wins, as in YAML */
    for (size_t i = b->n_anchors; i-- > 0;)
        if (strcmp(b->anchors[i].name, (const char *)name) == 0)
            return &b->anchors[i];
    return NULL;
}

static bool scalar_equal(const ms_node *a, const ms_node *b)
{
    return a->kind == MS_NODE_SCALAR && b->kind == MS_NODE_SCALAR && a->quoted == b->quoted &&
           strcmp(a->value, b->value) == 0;
}

/* Builds the node that starts with `ev` (already taken from the parser). */
static ms_status build_node(builder *b, yaml_parser_t *p, yaml_event_t *ev, int depth,
                            ms_node **out, size_t *weight)
{
    if (depth > MS_DOC_MAX_DEPTH)
        return fail(b, MS_ERR_LIMIT, "E-DEPTH", &ev->start_mark, "nesting is deeper than %s levels",
                    "256");
    *weight = 1;
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
        *out = a->node;
        *weight = a->weight;
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
        return remember_anchor(b, ev->data.scalar.anchor, n, 1);
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
        char *anchor_copy = anchor_name ? strdup((const char *)anchor_name) : NULL;
        if (anchor_name && !anchor_copy)
            return MS_ERR_NOMEM;
        size_t cap = 0;
        ms_status st = MS_OK;
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
            st = build_node(b, p, &child, depth + 1, is_map ? &key : &value, &w);
            yaml_event_delete(&child);
            if (st != MS_OK)
                break;
            *weight += w;
            if (is_map) {
                if (key->kind != MS_NODE_SCALAR) {
                    yaml_mark_t m = {0, (size_t)key->line - 1, (size_t)key->col - 1};
                    st = fail(b, MS_ERR_SYNTAX, "E-KEY", &m, "a map key must be a %s",
                              "plain or quoted scalar, not a map or a sequence");
                    break;
                }
                for (size_t i = 0; i < n->count; i++) {
                    if (scalar_equal(n->keys[i], key)) {
                        yaml_mark_t m = {0, (size_t)key->line - 1, (size_t)key->col - 1};
                        st = fail(b, MS_ERR_INVALID, "E-DUPKEY", &m, "duplicate key '%s'",
                                  key->value);
                        ms_diag_hint(b->diag, "the key is already set at line %d; keep one",
                                     n->keys[i]->line);
                        break;
                    }
                }
                if (st != MS_OK)
                    break;
                if (!yaml_parser_parse(p, &child)) {
                    st = MS_ERR_SYNTAX;
                    break;
                }
                st = build_node(b, p, &child, depth + 1, &value, &w);
                yaml_event_delete(&child);
                if (st != MS_OK)
                    break;
                *weight += w;
            }
            if (!push_item(n, key, value, &cap)) {
                st = MS_ERR_NOMEM;
                break;
            }
        }
        if (st == MS_OK && anchor_copy)
            st = remember_anchor(b, (const yaml_char_t *)anchor_copy, n, *weight);
        free(anchor_copy);
        *out = n;
        return st;
    }
    default:
        return fail(b, MS_ERR_SYNTAX, "E-YAML", &ev->start_mark, "unexpected %s", "YAML structure");
    }
}

static ms_status syntax_error(builder *b, const yaml_parser_t *p)
{
    const yaml_mark_t *mark = p->problem ? &p->problem_mark : &p->context_mark;
    ms_diag_set(b->diag, MS_ERR_SYNTAX, "E-YAML", b->doc->file, (int)mark->line + 1,
                (int)mark->column + 1, "YAML syntax: %s%s%s", p->problem ? p->problem : "error",
                p->context ? " " : "", p->context ? p->context : "");
    if (p->error == YAML_READER_ERROR)
        ms_diag_hint(b->diag, "the file must be UTF-8 (or UTF-16 with a byte order mark) text");
    else
        ms_diag_hint(b->diag, "check indentation, colons and brackets at this position");
    return MS_ERR_SYNTAX;
}

ms_status ms_doc_parse(const char *text, size_t len, const char *file, ms_doc **out, ms_diag *diag)
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
    builder b = {.doc = doc, .diag = diag};
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
            st = build_node(&b, &parser, &ev, 0, &doc->root, &w);
            break;
        }
        }
        yaml_event_delete(&ev);
    }
    if (st == MS_ERR_SYNTAX && parser.error != YAML_NO_ERROR)
        syntax_error(&b, &parser);
    else if (st == MS_ERR_NOMEM)
        ms_diag_set(diag, st, "E-NOMEM", doc->file, 0, 0, "out of memory while parsing");
    yaml_parser_delete(&parser);
    for (size_t i = 0; i < b.n_anchors; i++)
        free(b.anchors[i].name);
    free(b.anchors);
    if (st != MS_OK) {
        ms_doc_free(doc);
        return st;
    }
    *out = doc;
    return MS_OK;
}

ms_status ms_read_file(const char *path, size_t max_bytes, char **out, size_t *len, ms_diag *diag)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ms_diag_set(diag, MS_ERR_IO, "E-IO", path, 0, 0, "cannot open: %s", strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    ms_status st = buf ? MS_OK : MS_ERR_NOMEM;
    while (st == MS_OK) {
        if (n == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                st = MS_ERR_NOMEM;
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n > max_bytes) {
            st = ms_diag_set(diag, MS_ERR_LIMIT, "E-SIZE", path, 0, 0,
                             "file is larger than %zu bytes", max_bytes);
            break;
        }
        if (got == 0) {
            if (ferror(f))
                st = ms_diag_set(diag, MS_ERR_IO, "E-IO", path, 0, 0, "read error: %s",
                                 strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st != MS_OK) {
        if (st == MS_ERR_NOMEM)
            ms_diag_set(diag, st, "E-NOMEM", path, 0, 0, "out of memory reading the file");
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return MS_OK;
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

ms_diag *ms_diag_at(ms_diag_sink *sink, ms_severity severity, const char *code, const ms_node *at,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ms_diag *d = ms_diag_list_addv(sink->out, severity, code, sink->file, at ? at->line : 0,
                                   at ? at->col : 0, fmt, ap);
    va_end(ap);
    if (!d)
        sink->st = MS_ERR_NOMEM;
    return d;
}
