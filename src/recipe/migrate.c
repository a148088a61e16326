#include "migrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/doc.h"
#include "../util/text.h"
#include "renames.h"

/* A replacement of text[start, end) by `ins`. */
typedef struct edit {
    size_t start, end;
    char *ins;
} edit;

typedef struct mctx {
    const ms_schema *schema;
    const char *text;
    size_t len;
    const char *file;
    size_t *lines; /* byte offset of each line's start; lines[n_lines] == len */
    int n_lines;
    edit *edits;
    size_t n_edits, cap_edits;
    ms_migration *m;
    size_t cap_notes;
    const ms_node *root;
    const ms_node **vars; /* SparseML recipe variables: top-level scalar keys and values */
    size_t n_vars;
    ms_status st;
} mctx;

/* ---- positions and text ---------------------------------------------------- */

static size_t line_start(const mctx *c, int line)
{
    if (line < 1)
        return 0;
    return line > c->n_lines ? c->len : c->lines[line - 1];
}

/* The byte offset of 1-based `line`:`col` (columns count characters). */
static size_t offset_of(const mctx *c, int line, int col)
{
    size_t p = line_start(c, line);
    for (int i = 1; i < col && p < c->len && c->text[p] != '\n'; i++) {
        p++;
        while (p < c->len && ((unsigned char)c->text[p] & 0xc0) == 0x80)
            p++;
    }
    return p;
}

static size_t node_offset(const mctx *c, const ms_node *n)
{
    return offset_of(c, n->line, n->col);
}

static int indent_of(const mctx *c, int line, bool *blank_or_comment)
{
    size_t p = line_start(c, line), end = line_start(c, line + 1);
    int n = 0;
    while (p < end && c->text[p] == ' ')
        p++, n++;
    *blank_or_comment = p >= end || c->text[p] == '\n' || c->text[p] == '\r' || c->text[p] == '#';
    return n;
}

/* End of a quoted scalar starting at `p` (at its quote), just past the closing quote. */
static size_t quoted_end(const mctx *c, size_t p)
{
    char q = c->text[p++];
    while (p < c->len) {
        if (q == '"' && c->text[p] == '\\') {
            p += 2;
        } else if (c->text[p] == q) {
            if (q == '\'' && p + 1 < c->len && c->text[p + 1] == '\'')
                p += 2;
            else
                return p + 1;
        } else {
            p++;
        }
    }
    return c->len;
}

/* End of the value (or key: value pair) starting at `p` inside flow
 * brackets, or of a flow collection starting at `p`: the offset of the ',',
 * '}' or ']' that ends it (or of the end of the line outside brackets). */
static size_t flow_end(const mctx *c, size_t p, bool in_flow)
{
    int depth = 0;
    while (p < c->len) {
        char ch = c->text[p];
        if (ch == '"' || ch == '\'') {
            p = quoted_end(c, p);
            continue;
        }
        if (ch == '#' && p > 0 && (c->text[p - 1] == ' ' || c->text[p - 1] == '\t')) {
            while (p < c->len && c->text[p] != '\n')
                p++;
            continue;
        }
        if (ch == '[' || ch == '{') {
            depth++;
        } else if (ch == ']' || ch == '}') {
            if (depth == 0)
                return p;
            if (--depth == 0 && !in_flow)
                return p + 1;
        } else if (depth == 0 && (ch == ',' ? in_flow : ch == '\n')) {
            return p;
        }
        p++;
    }
    return p;
}

/* End of the scalar starting at `p` on one line (a plain one stops before
 * " #", ": " and, in flow, before ',', ']', '}'). */
static size_t scalar_end(const mctx *c, size_t p, bool in_flow)
{
    if (p < c->len && (c->text[p] == '"' || c->text[p] == '\''))
        return quoted_end(c, p);
    size_t end = p;
    while (end < c->len && c->text[end] != '\n' && c->text[end] != '\r') {
        char ch = c->text[end];
        if (ch == '#' && end > p && c->text[end - 1] == ' ')
            break;
        if (ch == ':' && (end + 1 >= c->len || strchr(" \t\r\n", c->text[end + 1])))
            break;
        if (in_flow && strchr(",]}", ch))
            break;
        end++;
    }
    while (end > p && (c->text[end - 1] == ' ' || c->text[end - 1] == '\t'))
        end--;
    return end;
}

/* The last line a node's text takes (a block scalar counts its lines). */
static int last_line(const ms_node *n, int depth)
{
    int last = n->line;
    if (n->kind == MS_NODE_SCALAR) {
        if (n->block)
            for (const char *s = n->value; *s; s++)
                last += *s == '\n';
        return last;
    }
    for (size_t i = 0; i < n->count && depth < MS_DOC_MAX_DEPTH; i++) {
        int l = last_line(n->items[i], depth + 1);
        if (n->items[i]->line >= n->line && l > last)
            last = l;
        if (n->keys && n->keys[i]->line > last)
            last = n->keys[i]->line;
    }
    return last;
}

static bool is_flow(const mctx *c, const ms_node *collection)
{
    size_t p = node_offset(c, collection);
    if (collection->tag) /* the node starts at its tag: look past it */
        while (p < c->len && !strchr(" \t\r\n", c->text[p]))
            p++;
    while (p < c->len && (c->text[p] == ' ' || c->text[p] == '\t'))
        p++;
    return p < c->len && (c->text[p] == '{' || c->text[p] == '[');
}

/* ---- notes and edits ------------------------------------------------------- */

static void note(mctx *c, const ms_node *at, bool carried, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void note(mctx *c, const ms_node *at, bool carried, const char *fmt, ...)
{
    ms_migration *m = c->m;
    if (m->count == c->cap_notes) {
        size_t cap = c->cap_notes ? 2 * c->cap_notes : 16;
        ms_migrate_note *notes = realloc(m->notes, cap * sizeof *notes);
        if (!notes) {
            c->st = MS_ERR_NOMEM;
            return;
        }
        m->notes = notes;
        c->cap_notes = cap;
    }
    ms_migrate_note *n = &m->notes[m->count++];
    n->line = at->line;
    n->col = at->col;
    n->carried = carried;
    n->seq = m->count;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->text, sizeof n->text, fmt, ap);
    va_end(ap);
    if (!carried)
        m->not_carried++;
}

/* Forgets the notes after the first `count` (of a modifier dropped as a whole). */
static void drop_notes(mctx *c, size_t count)
{
    for (size_t i = count; i < c->m->count; i++)
        c->m->not_carried -= !c->m->notes[i].carried;
    c->m->count = count;
}

static void add_edit(mctx *c, size_t start, size_t end, const char *ins)
{
    if (c->n_edits == c->cap_edits) {
        size_t cap = c->cap_edits ? 2 * c->cap_edits : 16;
        edit *e = realloc(c->edits, cap * sizeof *e);
        if (!e) {
            c->st = MS_ERR_NOMEM;
            return;
        }
        c->edits = e;
        c->cap_edits = cap;
    }
    char *copy = strdup(ins);
    if (!copy) {
        c->st = MS_ERR_NOMEM;
        return;
    }
    c->edits[c->n_edits++] = (edit){start, end, copy};
}

/* Removes pair `i` of `map` from the text: its lines in block style, the
 * pair and one comma in flow style. */
static void delete_pair(mctx *c, const ms_node *map, size_t i)
{
    const ms_node *key = map->keys[i], *value = map->items[i];
    size_t start = node_offset(c, key);
    if (is_flow(c, map)) {
        size_t end = flow_end(c, start, true);
        if (end < c->len && c->text[end] == ',') {
            end++;
            while (end < c->len && (c->text[end] == ' ' || c->text[end] == '\t'))
                end++;
        } else {
            size_t p = start;
            while (p > 0 && strchr(" \t\r\n", c->text[p - 1]))
                p--;
            if (p > 0 && c->text[p - 1] == ',')
                start = p - 1;
        }
        add_edit(c, start, end, "");
        return;
    }
    int last = key->line;
    if (value->line >= key->line) {
        int l = last_line(value, 0);
        if (l > last)
            last = l;
    }
    bool prefix = false; /* something (such as "- ") before the key on its line */
    for (size_t p = line_start(c, key->line); p < start; p++)
        prefix |= c->text[p] != ' ';
    add_edit(c, prefix ? start : line_start(c, key->line), line_start(c, last + 1), "");
}

/* Renames a key where it is written. */
static void rename_key(mctx *c, const ms_node *key, const char *name)
{
    size_t start = node_offset(c, key);
    add_edit(c, start, scalar_end(c, start, false), name);
}

/* ---- llm-compressor layout: renamed fields and types ------------------------ */

static bool map_has(const ms_node *map, const char *key)
{
    return ms_node_get(map, key) != NULL;
}

static void migrate_fields(mctx *c, const char *type, const ms_node *fields)
{
    for (size_t i = 0; i < fields->count; i++) {
        const ms_node *key = fields->keys[i], *value = fields->items[i];
        const ms_rename *r = ms_rename_field(type, key->value);
        if (!r)
            continue;
        char change[400];
        ms_rename_describe(r, change, sizeof change);
        if (r->new_name && map_has(fields, r->new_name)) {
            note(c, key, false, "not carried: %s (%s is also set, and wins)", change, r->new_name);
            delete_pair(c, fields, i);
        } else if (r->new_name) {
            note(c, key, true, "renamed %s -> %s in %s (llm-compressor %s)", key->value,
                 r->new_name, type, r->release);
            rename_key(c, key, r->new_name);
        } else if (ms_rename_value_droppable(r, value)) {
            note(c, key, true, "removed %s from %s: %s", key->value, type, change);
            delete_pair(c, fields, i);
        } else {
            note(c, key, false, "not carried: %s: %s", key->value, change);
            delete_pair(c, fields, i);
        }
    }
}

static void migrate_group(mctx *c, const ms_node *group)
{
    for (size_t i = 0; i < group->count; i++) {
        const ms_node *key = group->keys[i];
        const char *type = key->value;
        const ms_rename *r = ms_rename_type(type);
        if (r && r->new_name && !map_has(group, r->new_name)) {
            note(c, key, true, "renamed %s -> %s (llm-compressor %s)", type, r->new_name,
                 r->release);
            rename_key(c, key, r->new_name);
            type = r->new_name;
        }
        if (group->items[i]->kind == MS_NODE_MAP)
            migrate_fields(c, type, group->items[i]);
    }
}

/* ---- SparseML-era modifier lists --------------------------------------------- */

static bool is_sparseml_list(const ms_node *v)
{
    if (!v || v->kind != MS_NODE_SEQ)
        return false;
    for (size_t i = 0; i < v->count; i++)
        if (v->items[i]->tag)
            return true;
    return false;
}

/* One field of a converted modifier: its new name and its value's text
 * (NULL: the source text, re-indented). */
typedef struct out_field {
    const ms_node *key;
    const char *name;
    char *value;
} out_field;

static void put_quoted(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20) {
            fprintf(o, "\\x%02x", (unsigned char)*s);
            continue;
        }
        if (*s == '"' || *s == '\\')
            fputc('\\', o);
        fputc(*s, o);
    }
    fputc('"', o);
}

/* SparseML's `params` named parameters ("model.layers.0.mlp.down_proj.weight",
 * "re:.*weight", __ALL_PRUNABLE__); upstream's targets name modules whose
 * weight is pruned (build_parameterized_layers), and expands
 * __ALL_PRUNABLE__ itself (utils/pytorch/module.py, expand_special_targets).
 * False, with `why` set, for a name that is not a weight. */
static bool module_target(const char *param, char *out, size_t cap, const char **why)
{
    size_t n = strlen(param);
    if (n + 1 >= cap) {
        *why = "the name is too long";
        return false;
    }
    if (!strcmp(param, "__ALL__")) {
        *why = "__ALL__ is refused by upstream (\"no longer supported\")";
        return false;
    }
    if (!strncmp(param, "re:", 3)) {
        char pat[300];
        if (n - 3 + 1 > sizeof pat || cap < sizeof pat + 8) {
            *why = "the pattern is too long";
            return false;
        }
        memcpy(pat, param + 3, n - 3 + 1);
        size_t len = strlen(pat);
        bool anchored = len && pat[len - 1] == '$';
        if (anchored)
            pat[--len] = '\0';
        static const char *const tails[] = {"\\.weight", ".weight", "weight"};
        bool found = false;
        for (size_t i = 0; i < 3 && !found; i++)
            if (ms_ends_with(pat, tails[i])) {
                pat[len - strlen(tails[i])] = '\0';
                found = true;
            }
        if (!found) {
            *why = "the pattern does not select weights";
            return false;
        }
        len = strlen(pat);
        if (len >= 2 && !strcmp(pat + len - 2, "\\."))
            pat[len - 2] = '\0';
        else if (len && pat[len - 1] == '.' && !(len >= 2 && pat[len - 2] == '\\'))
            pat[len - 1] = '\0';
        snprintf(out, cap, "re:%s%s", pat[0] ? pat : ".*", anchored ? "$" : "");
        return true;
    }
    if (n > 7 && !strcmp(param + n - 7, ".weight")) {
        snprintf(out, cap, "%.*s", (int)(n - 7), param);
        return true;
    }
    *why = "it names no weight parameter";
    return false;
}

static char *targets_text(mctx *c, const ms_node *params, const ms_node *key, bool *changed)
{
    const ms_node *const *items = &params;
    size_t count = 1;
    if (params->kind == MS_NODE_SEQ) {
        items = (const ms_node *const *)params->items;
        count = params->count;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&text, &len);
    if (!o) {
        c->st = MS_ERR_NOMEM;
        return NULL;
    }
    fputc('[', o);
    bool ok = count > 0;
    if (!ok)
        note(c, key, false, "not carried: params is empty");
    *changed = params->kind != MS_NODE_SEQ;
    for (size_t i = 0; ok && i < count; i++) {
        if (items[i]->kind != MS_NODE_SCALAR) {
            note(c, key, false, "not carried: params holds a %s, not a name",
                 ms_node_type_name(items[i]));
            ok = false;
            break;
        }
        const char *p = items[i]->value, *why = NULL;
        char target[320];
        if (!strcmp(p, "__ALL_PRUNABLE__")) {
            fprintf(o, "%s\"Linear\", \"Conv1d\", \"Conv2d\", \"Conv3d\"", i ? ", " : "");
            *changed = true;
            continue;
        }
        if (!module_target(p, target, sizeof target, &why)) {
            note(c, key, false, "not carried: params '%s': %s", p, why);
            ok = false;
            break;
        }
        *changed |= strcmp(target, p) != 0;
        fputs(i ? ", " : "", o);
        put_quoted(o, target);
    }
    fputc(']', o);
    if (fclose(o) != 0) {
        c->st = MS_ERR_NOMEM;
        ok = false;
    }
    if (!ok) {
        free(text);
        return NULL;
    }
    return text;
}

/* `eval(name)` of a SparseML recipe variable: the variable's text, or NULL. */
static const ms_node *eval_variable(const mctx *c, const ms_node *v)
{
    if (!v || v->kind != MS_NODE_SCALAR || strncmp(v->value, "eval(", 5) != 0)
        return NULL;
    char name[128];
    const char *s = v->value + 5;
    while (*s == ' ')
        s++;
    size_t n = 0;
    while ((s[n] == '_' || (s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
            (n && s[n] >= '0' && s[n] <= '9')) &&
           n + 1 < sizeof name)
        n++;
    memcpy(name, s, n);
    name[n] = '\0';
    s += n;
    while (*s == ' ')
        s++;
    if (!n || strcmp(s, ")") != 0)
        return NULL;
    for (size_t i = 0; i < c->n_vars; i++) {
        double d;
        if (!strcmp(c->vars[2 * i]->value, name) && ms_node_as_double(c->vars[2 * i + 1], &d))
            return c->vars[2 * i + 1];
    }
    return NULL;
}

static bool schema_has_field(const mctx *c, const char *type, const char *name, bool *required)
{
    size_t n = ms_schema_field_count(c->schema, type);
    for (size_t i = 0; i < n; i++) {
        ms_schema_field f;
        if (ms_schema_field_at(c->schema, type, i, &f) && !strcmp(f.name, name)) {
            *required = f.required;
            return true;
        }
    }
    return false;
}

/* The fields of SparseML modifier `item` in upstream's names, or false when
 * the modifier as a whole cannot be carried. */
static bool convert_item(mctx *c, const ms_node *item, const char *type, out_field *out,
                         size_t *n_out)
{
    *n_out = 0;
    bool magnitude = !strcmp(type, "MagnitudePruningModifier"), saw_leave = false;
    for (size_t i = 0; i < item->count; i++) {
        const ms_node *key = item->keys[i], *v = item->items[i];
        const char *name = key->value;
        char *value = NULL;
        bool required;
        const ms_rename *r = ms_rename_field(type, name);
        if (r && !r->new_name) {
            char change[400];
            ms_rename_describe(r, change, sizeof change);
            if (ms_rename_value_droppable(r, v))
                note(c, key, true, "removed %s: %s", name, change);
            else
                note(c, key, false, "not carried: %s: %s", name, change);
            continue;
        }
        const char *new_name = r ? r->new_name : name;
        char how[320] = ""; /* how the value changed, if it did */
        if (!schema_has_field(c, type, new_name, &required)) {
            note(c, key, false, "not carried: %s: %s has no such field", name, type);
            continue;
        }
        if (v->kind == MS_NODE_SCALAR && !strncmp(v->value, "eval(", 5)) {
            const ms_node *var = eval_variable(c, v);
            if (!var) {
                note(c, key, false,
                     "not carried: %s: %s (only eval(NAME) of a top-level number is carried)", name,
                     v->value);
                continue;
            }
            snprintf(how, sizeof how, "; %s -> %s", v->value, var->value);
            value = strdup(var->value);
            if (!value) {
                c->st = MS_ERR_NOMEM;
                return false;
            }
            v = var;
        }
        double d;
        if (!strcmp(new_name, "end") && ms_node_as_double(v, &d) && d == -1) {
            /* SparseML's -1 ran to the end of training; upstream's end -1 never starts */
            note(c, key, true, "%s: -1 -> no end (SparseML's -1 meant until training ends)", name);
            free(value);
            continue;
        }
        if (!strcmp(new_name, "targets")) {
            bool changed = false;
            free(value);
            value = targets_text(c, v, key, &changed);
            if (!value)
                return false;
            if (changed)
                snprintf(how + strlen(how), sizeof how - strlen(how),
                         "; value %s (targets name modules, not parameters)", value);
            if (!changed) {
                free(value);
                value = NULL;
            }
        } else if (!strcmp(new_name, "update_scheduler") &&
                   (v->kind != MS_NODE_SCALAR ||
                    (strcmp(v->value, "linear") && strcmp(v->value, "cubic")))) {
            note(c, key, false,
                 "not carried: %s: %s (upstream has linear and cubic, default cubic)", name,
                 v->kind == MS_NODE_SCALAR ? v->value : ms_node_type_name(v));
            free(value);
            continue;
        } else if (!strcmp(new_name, "mask_structure")) {
            int a, b;
            char end;
            if (v->kind != MS_NODE_SCALAR || (strcmp(v->value, "unstructured") &&
                                              sscanf(v->value, "%d:%d%c", &a, &b, &end) != 2)) {
                note(c, key, false,
                     "not carried: %s: %s (upstream takes \"unstructured\" or \"N:M\")", name,
                     v->kind == MS_NODE_SCALAR ? v->value : ms_node_type_name(v));
                free(value);
                continue;
            }
        } else if (magnitude && !strcmp(new_name, "leave_enabled")) {
            bool on = true;
            saw_leave = true;
            /* magnitude/base.py: validate_leave_enabled warns and forces False */
            if (!ms_node_as_bool(v, &on) || on)
                note(c, key, false,
                     "not carried: leave_enabled: true (upstream forces it to false: masks are "
                     "not kept after end)");
            else
                note(c, key, true, "removed leave_enabled: false (upstream's only value)");
            free(value);
            continue;
        }
        if (r)
            note(c, key, true, "renamed %s -> %s (llm-compressor %s)%s", name, new_name, r->release,
                 how);
        else if (how[0])
            note(c, key, true, "%s%s", name, how);
        out[(*n_out)++] = (out_field){key, new_name, value};
    }
    if (magnitude && !saw_leave)
        note(c, item, false,
             "not carried: SparseML kept masks after end_epoch (leave_enabled defaulted to "
             "true); upstream forces leave_enabled to false");
    size_t n_fields = ms_schema_field_count(c->schema, type);
    for (size_t f = 0; f < n_fields; f++) {
        ms_schema_field field;
        if (!ms_schema_field_at(c->schema, type, f, &field) || !field.required)
            continue;
        bool present = false;
        for (size_t i = 0; i < *n_out; i++)
            present |= !strcmp(out[i].name, field.name);
        if (!present) {
            note(c, item, false, "not carried: %s without %s", type, field.name);
            return false;
        }
    }
    return true;
}

/* The modifier types with a faithful equivalent, by their upstream names:
 * 1 or 2 (an index into a per-type count), 0 for the others. */
static int carried_type(const char *type)
{
    return !strcmp(type, "MagnitudePruningModifier")  ? 1
           : !strcmp(type, "ConstantPruningModifier") ? 2
                                                      : 0;
}

static void put_indent(FILE *o, int n)
{
    for (int i = 0; i < n; i++)
        fputc(' ', o);
}

/* Copies text[from, to) re-indenting each line after the first: `shift`
 * columns more (or fewer) than it had, never less than `floor`. */
static void put_lines(const mctx *c, FILE *o, size_t from, size_t to, int shift, int floor)
{
    bool line_begin = false;
    for (size_t p = from; p < to; p++) {
        if (line_begin) {
            int n = 0;
            while (p < to && c->text[p] == ' ')
                p++, n++;
            if (p < to && c->text[p] != '\n') {
                int want = n + shift;
                put_indent(o, want < floor ? floor : want);
            }
            line_begin = false;
            if (p >= to)
                break;
        }
        fputc(c->text[p], o);
        line_begin = c->text[p] == '\n';
    }
}

/* The lines of `item`'s leading comments: comment lines right above it. */
static int leading_comments(const mctx *c, int item_line, int floor_line)
{
    int first = item_line;
    for (int l = item_line - 1; l > floor_line; l--) {
        bool bc;
        indent_of(c, l, &bc);
        size_t p = line_start(c, l);
        while (p < c->len && c->text[p] == ' ')
            p++;
        if (!bc || p >= c->len || c->text[p] != '#')
            break;
        first = l;
    }
    return first;
}

/* Writes one converted modifier at `indent`: leading comments, the type (with
 * the comment of the tag's line), then each field from its source text. */
static void put_modifier(mctx *c, FILE *o, const ms_node *item, const char *type, out_field *f,
                         size_t n, int indent, int comments_from, int end_line)
{
    for (int l = comments_from; l < item->line; l++) {
        size_t p = line_start(c, l);
        while (p < c->len && c->text[p] == ' ')
            p++;
        put_indent(o, indent);
        put_lines(c, o, p, line_start(c, l + 1), 0, 0);
    }
    put_indent(o, indent);
    fprintf(o, "%s:", type);
    size_t tag_at = node_offset(c, item), p = tag_at;
    while (p < c->len && !strchr(" \t\r\n", c->text[p]))
        p++;
    while (p < c->len && (c->text[p] == ' ' || c->text[p] == '\t'))
        p++;
    if (p < c->len && c->text[p] == '#')
        fputs("  ", o), put_lines(c, o, p, scalar_end(c, p, false), 0, 0);
    fputc('\n', o);
    bool flow = is_flow(c, item);
    for (size_t i = 0; i < n; i++) {
        const ms_node *key = f[i].key;
        size_t k0 = node_offset(c, key), k1 = scalar_end(c, k0, flow);
        size_t v0 = k1;
        while (v0 < c->len && (c->text[v0] == ' ' || c->text[v0] == ':'))
            v0++;
        size_t pair_end;
        if (flow) {
            pair_end = flow_end(c, k0, true);
        } else {
            int next = end_line + 1;
            for (size_t j = 0; j < item->count; j++)
                if (item->keys[j]->line > key->line && item->keys[j]->line < next)
                    next = item->keys[j]->line;
            int last = next - 1;
            for (bool bc = true; last > key->line; last--) { /* trailing comments stay */
                indent_of(c, last, &bc);
                if (!bc)
                    break;
            }
            pair_end = line_start(c, last + 1);
            while (pair_end > k0 && strchr("\r\n", c->text[pair_end - 1]))
                pair_end--;
        }
        put_indent(o, indent + 2);
        fputs(f[i].name, o);
        if (f[i].value) {
            size_t v1 = v0 < c->len && strchr("[{", c->text[v0]) ? flow_end(c, v0, false)
                                                                 : scalar_end(c, v0, flow);
            bool inline_value = v0 < c->len && !strchr("#\r\n", c->text[v0]);
            fprintf(o, ": %s", f[i].value);
            if (inline_value && !flow) /* keep the line's comment and what follows */
                put_lines(c, o, v1, pair_end, indent + 4 - (key->col - 1), indent + 4);
        } else {
            put_lines(c, o, k1, pair_end, indent + 2 - (key->col - 1), indent + 4);
        }
        fputc('\n', o);
    }
}

/* Converts the SparseML list `list` (the value of `key`) into groups written
 * at `indent`, named after `base` ("train" gives train_modifiers,
 * train_2_modifiers, ...: a group holds one modifier of each type). */
typedef struct slot {
    int group;
    size_t item;
} slot;

static int slot_order(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

static void put_groups(mctx *c, FILE *o, const ms_node *list, int indent, const char *base,
                       int end_line)
{
    size_t n = list->count, n_slots = 0;
    slot *slots = calloc(n ? n : 1, sizeof *slots);
    const char **types = calloc(n ? n : 1, sizeof *types);
    out_field *fields = NULL;
    if (!slots || !types) {
        c->st = MS_ERR_NOMEM;
        goto done;
    }
    int seen[2] = {0, 0}; /* modifiers of each carried type so far: the group of the next */
    for (size_t i = 0; i < n; i++) {
        const ms_node *it = list->items[i];
        const char *old = it->tag ? it->tag + 1 : NULL;
        const ms_rename *r = old ? ms_rename_type(old) : NULL;
        types[i] = r && r->new_name ? r->new_name : old;
        if (!old || it->kind != MS_NODE_MAP) {
            note(c, it, false, "not carried: a list item that is not a tagged SparseML modifier");
            continue;
        }
        if (!carried_type(types[i])) {
            note(c, it, false, "not carried: %s (SparseML; llm-compressor has no equivalent)", old);
            continue;
        }
        if (r)
            note(c, it, true, "renamed %s -> %s (llm-compressor %s)", old, types[i], r->release);
        slots[n_slots++] = (slot){seen[carried_type(types[i]) - 1]++, i};
    }
    if (n_slots)
        qsort(slots, n_slots, sizeof *slots, slot_order);
    int header = -1; /* the group whose header is written */
    for (size_t s = 0; s < n_slots && c->st == MS_OK; s++) {
        size_t i = slots[s].item;
        int g = slots[s].group;
        const ms_node *it = list->items[i];
        size_t nf = 0, before = c->m->count;
        free(fields);
        fields = calloc(it->count ? it->count : 1, sizeof *fields);
        if (!fields) {
            c->st = MS_ERR_NOMEM;
            break;
        }
        bool ok = convert_item(c, it, types[i], fields, &nf);
        if (c->st != MS_OK) {
            ok = false;
        } else if (!ok) {
            /* keep only the reason it was dropped */
            ms_migrate_note reason = c->m->notes[c->m->count - 1];
            drop_notes(c, before);
            note(c, it, false, "not carried: %s: %s", it->tag + 1,
                 strncmp(reason.text, "not carried: ", 13) ? reason.text : reason.text + 13);
        } else {
            if (header != g) {
                put_indent(o, indent);
                if (g)
                    fprintf(o, "%s_%d_modifiers:\n", base, g + 1);
                else
                    fprintf(o, "%s_modifiers:\n", base);
                header = g;
            }
            int next = i + 1 < n ? list->items[i + 1]->line : end_line + 1;
            int from = leading_comments(c, it->line, i ? list->items[i - 1]->line : 0);
            put_modifier(c, o, it, types[i], fields, nf, indent + 2, from,
                         leading_comments(c, next, it->line) - 1);
        }
        for (size_t k = 0; k < nf; k++)
            free(fields[k].value);
    }
done:
    free(fields);
    free(slots);
    free(types);
}

/* The group name a SparseML list key gives: "pruning_modifiers" -> "pruning". */
static void group_base(const char *key, char *out, size_t cap)
{
    size_t n = strlen(key);
    if (ms_ends_with(key, "_modifiers") && n > 10)
        snprintf(out, cap, "%.*s", (int)(n - 10), key);
    else
        snprintf(out, cap, "train");
}

/* The last line of a top-level pair: its subtree, without the blank lines
 * and unindented comments before the next top-level key. */
static int pair_last_line(const mctx *c, const ms_node *map, size_t i)
{
    int end = i + 1 < map->count ? map->keys[i + 1]->line - 1 : c->n_lines;
    int last = last_line(map->items[i], 0);
    if (last < map->keys[i]->line)
        last = map->keys[i]->line;
    for (int l = last + 1; l <= end; l++) {
        bool bc;
        int ind = indent_of(c, l, &bc);
        if (bc)
            continue;
        if (ind <= map->keys[i]->col - 1)
            break;
        last = l;
    }
    while (last > map->keys[i]->line) {
        bool bc;
        indent_of(c, last, &bc);
        if (!bc)
            break;
        last--;
    }
    return last;
}

/* Closes a memory stream: its buffer, or NULL (out of memory). */
static char *finish_stream(mctx *c, FILE *o, char **buf)
{
    if (fclose(o) != 0) {
        c->st = MS_ERR_NOMEM;
        free(*buf);
        *buf = NULL;
    }
    return *buf;
}

static void migrate_sparseml_in_stage(mctx *c, const ms_node *stage, size_t i)
{
    const ms_node *key = stage->keys[i];
    char base[128], *buf = NULL;
    size_t len = 0;
    group_base(key->value, base, sizeof base);
    FILE *o = open_memstream(&buf, &len);
    if (!o) {
        c->st = MS_ERR_NOMEM;
        return;
    }
    int last = pair_last_line(c, stage, i);
    put_groups(c, o, stage->items[i], key->col - 1, base, last);
    buf = finish_stream(c, o, &buf);
    if (buf)
        add_edit(c, line_start(c, key->line), line_start(c, last + 1), buf);
    free(buf);
}

/* Top-level SparseML lists become one train_stage where the first was. */
static void migrate_sparseml_top(mctx *c)
{
    const ms_node *root = c->root;
    char *buf = NULL;
    size_t len = 0, first = root->count;
    FILE *o = open_memstream(&buf, &len);
    if (!o) {
        c->st = MS_ERR_NOMEM;
        return;
    }
    fputs(ms_node_get(root, "train_stage") ? "sparseml_stage:\n" : "train_stage:\n", o);
    for (size_t i = 0; i < root->count && c->st == MS_OK; i++) {
        if (!is_sparseml_list(root->items[i]))
            continue;
        const ms_node *key = root->keys[i];
        int last = pair_last_line(c, root, i);
        char base[128];
        group_base(key->value, base, sizeof base);
        if (first == root->count)
            first = i;
        else
            note(c, key, true, "moved the modifiers of %s into the stage of line %d", key->value,
                 root->keys[first]->line);
        put_groups(c, o, root->items[i], 2, base, last);
        if (first != i)
            add_edit(c, line_start(c, key->line), line_start(c, last + 1), "");
    }
    buf = finish_stream(c, o, &buf);
    if (buf && first < root->count)
        add_edit(c, line_start(c, root->keys[first]->line),
                 line_start(c, pair_last_line(c, root, first) + 1), buf);
    free(buf);
}

/* SparseML recipe variables (`num_epochs: 10`, `version: 1.1.0`): upstream
 * reads only `args` and `*_stage`; eval(NAME) uses were substituted. */
static void drop_variables(mctx *c)
{
    const ms_node *root = c->root;
    for (size_t i = 0; i < root->count; i++) {
        const ms_node *key = root->keys[i];
        if (root->items[i]->kind != MS_NODE_SCALAR || ms_ends_with(key->value, "_stage") ||
            !strcmp(key->value, "args"))
            continue;
        note(c, key, true, "removed top-level %s: %s (upstream reads only args and *_stage keys)",
             key->value, root->items[i]->value);
        add_edit(c, line_start(c, key->line), line_start(c, pair_last_line(c, root, i) + 1), "");
    }
}

/* A tag left where no modifier list is: safe_load refuses it. */
static void tags_left(mctx *c, const ms_node *n, int depth)
{
    if (!n || depth > MS_DOC_MAX_DEPTH)
        return;
    if (n->tag) {
        note(c, n, false, "not carried: tag %s here (yaml.safe_load refuses it); removed it",
             n->tag);
        size_t p = node_offset(c, n), e = p;
        while (e < c->len && !strchr(" \t\r\n", c->text[e]))
            e++;
        while (e < c->len && (c->text[e] == ' ' || c->text[e] == '\t'))
            e++;
        add_edit(c, p, e, "");
    }
    for (size_t i = 0; n->kind != MS_NODE_SCALAR && i < n->count; i++) {
        if (n->keys)
            tags_left(c, n->keys[i], depth + 1);
        tags_left(c, n->items[i], depth + 1);
    }
}

static int edit_order(const void *a, const void *b)
{
    const edit *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int note_order(const void *a, const void *b)
{
    const ms_migrate_note *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static ms_status apply_edits(mctx *c)
{
    if (c->n_edits)
        qsort(c->edits, c->n_edits, sizeof *c->edits, edit_order);
    char *buf = NULL;
    size_t len = 0, at = 0;
    FILE *o = open_memstream(&buf, &len);
    if (!o)
        return MS_ERR_NOMEM;
    /* generated lines end as the file's first line does */
    const char *nl = memchr(c->text, '\n', c->len);
    bool crlf = nl && nl > c->text && nl[-1] == '\r';
    for (size_t i = 0; i < c->n_edits; i++) {
        const edit *e = &c->edits[i];
        /* inside text an earlier edit replaced, or the same edit again: a
         * merged map is met once per merge */
        if (e->start < at)
            continue;
        fwrite(c->text + at, 1, e->start - at, o);
        for (const char *p = e->ins; *p; p++) {
            if (*p == '\n' && crlf && (p == e->ins || p[-1] != '\r'))
                fputc('\r', o);
            fputc(*p, o);
        }
        at = e->end;
    }
    fwrite(c->text + at, 1, c->len - at, o);
    if (fclose(o) != 0) {
        free(buf);
        return MS_ERR_NOMEM;
    }
    c->m->text = buf;
    c->m->len = len;
    return MS_OK;
}

static void walk(mctx *c)
{
    const ms_node *root = c->root;
    bool sparseml = false;
    for (size_t i = 0; i < root->count; i++)
        sparseml |= is_sparseml_list(root->items[i]);
    if (sparseml) {
        size_t n = 0;
        c->vars = calloc(2 * root->count, sizeof *c->vars);
        if (!c->vars) {
            c->st = MS_ERR_NOMEM;
            return;
        }
        for (size_t i = 0; i < root->count; i++)
            if (root->items[i]->kind == MS_NODE_SCALAR) {
                c->vars[2 * n] = root->keys[i];
                c->vars[2 * n + 1] = root->items[i];
                n++;
            }
        c->n_vars = n;
        migrate_sparseml_top(c);
        drop_variables(c);
    }
    for (size_t i = 0; i < root->count && c->st == MS_OK; i++) {
        const ms_node *stage = root->items[i];
        tags_left(c, root->keys[i], 0);
        if (is_sparseml_list(stage))
            continue;
        if (!ms_ends_with(root->keys[i]->value, "_stage") || stage->kind != MS_NODE_MAP) {
            tags_left(c, stage, 0);
            continue;
        }
        for (size_t g = 0; g < stage->count && c->st == MS_OK; g++) {
            const ms_node *group = stage->items[g];
            if (is_sparseml_list(group)) {
                migrate_sparseml_in_stage(c, stage, g);
            } else {
                if (group->kind == MS_NODE_MAP && ms_ends_with(stage->keys[g]->value, "_modifiers"))
                    migrate_group(c, group);
                tags_left(c, group, 0);
            }
        }
    }
}

ms_status ms_migrate(const ms_schema *schema, const char *text, size_t len, const char *file,
                     ms_migration **out, ms_diag *diag)
{
    *out = NULL;
    ms_doc *doc = NULL;
    ms_status st = ms_doc_parse_tagged(text, len, file, &doc, diag);
    if (st != MS_OK)
        return st;
    const ms_node *root = ms_doc_root(doc);
    if (!root || root->kind != MS_NODE_MAP) {
        st = ms_diag_set(diag, MS_ERR_INVALID, root ? "E-LAYOUT" : "E-EMPTY", file,
                         root ? root->line : 0, root ? root->col : 0, "%s",
                         root ? "the recipe is not a map of stages or SparseML modifier lists"
                              : "the recipe is empty");
        ms_doc_free(doc);
        return st;
    }
    mctx c = {.schema = schema, .text = text, .len = len, .file = file, .root = root};
    c.m = calloc(1, sizeof *c.m);
    int n_lines = 1;
    for (size_t i = 0; i < len; i++)
        n_lines += text[i] == '\n';
    c.lines = malloc(((size_t)n_lines + 1) * sizeof *c.lines);
    if (!c.m || !c.lines) {
        c.st = MS_ERR_NOMEM;
    } else {
        c.lines[0] = 0;
        for (size_t i = 0, l = 1; i < len; i++)
            if (text[i] == '\n')
                c.lines[l++] = i + 1;
        c.n_lines = n_lines;
        c.lines[n_lines] = len;
        walk(&c);
    }
    if (c.st == MS_OK)
        c.st = apply_edits(&c);
    for (size_t i = 0; i < c.n_edits; i++)
        free(c.edits[i].ins);
    free(c.edits);
    free(c.lines);
    free(c.vars);
    ms_doc_free(doc);
    if (c.st != MS_OK) {
        ms_migration_free(c.m);
        return ms_diag_set(diag, c.st, "E-NOMEM", file, 0, 0, "out of memory while migrating");
    }
    if (c.m->count)
        qsort(c.m->notes, c.m->count, sizeof *c.m->notes, note_order);
    size_t kept = 0; /* a merged map's notes come once per merge: keep one */
    for (size_t i = 0; i < c.m->count; i++) {
        const ms_migrate_note *n = &c.m->notes[i], *prev = kept ? &c.m->notes[kept - 1] : NULL;
        if (prev && prev->line == n->line && prev->col == n->col && !strcmp(prev->text, n->text)) {
            c.m->not_carried -= !n->carried;
            continue;
        }
        c.m->notes[kept++] = *n;
    }
    c.m->count = kept;
    *out = c.m;
    return MS_OK;
}

void ms_migration_free(ms_migration *m)
{
    if (!m)
        return;
    free(m->text);
    free(m->notes);
    free(m);
}
