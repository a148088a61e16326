#include "export.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../util/text.h"

/* Whether `s` reads back as the same plain scalar, in block or flow context. */
static bool plain_safe(const char *s, bool flow)
{
    size_t len = strlen(s);
    if (!len || s[0] == ' ' || s[len - 1] == ' ' || s[len - 1] == ':')
        return false;
    if (strchr("?:-", s[0]) && (len == 1 || s[1] == ' '))
        return false;
    if (strchr(",[]{}#&*!|>'\"%@`", s[0]))
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch < 0x20 || ch == 0x7f)
            return false;
        if ((ch == ':' && p[1] == ' ') || (ch == ' ' && p[1] == '#'))
            return false;
        if (flow && strchr(",[]{}", ch))
            return false;
        if (flow && ch == ':') /* old PyYAML refuses ":" in flow plain scalars */
            return false;
    }
    return true;
}

static void write_quoted(FILE *o, const char *s)
{
    fputc('"', o);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(o, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", o);
        else if (*p == '\t')
            fputs("\\t", o);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(o, "\\x%02x", *p);
        else
            fputc(*p, o);
    }
    fputc('"', o);
}

/* Conservative: YAML 1.1 reads some unquoted text as other types (2:4 is
 * 124 in base 60, 2024-01-01 a date), so only word-like strings lose quotes. */
static bool plain_word(const char *s)
{
    return (isalpha((unsigned char)s[0]) || s[0] == '_') && !strchr(s, ':');
}

/* Plain scalars keep their text, so they resolve to the same value (presets,
 * numbers, booleans as written). A quoted string is written plain when that
 * still reads as the same string, so JSON and YAML recipes export alike. */
static void write_scalar(FILE *o, const ms_node *n, bool flow)
{
    ms_node plain = *n;
    plain.quoted = false;
    if (!n->quoted && !n->value[0])
        fputs("null", o);
    else if (plain_safe(n->value, flow) &&
             (!n->quoted || (plain_word(n->value) && ms_node_is_string(&plain))))
        fputs(n->value, o);
    else
        write_quoted(o, n->value);
}

static bool flowable(const ms_node *n)
{
    size_t width = 0;
    for (size_t i = 0; i < n->count; i++) {
        if (n->items[i]->kind != MS_NODE_SCALAR)
            return false;
        width += strlen(n->items[i]->value) + 4;
    }
    return width <= 72;
}

static void pad(FILE *o, int n)
{
    fprintf(o, "%*s", n, "");
}

/* The cursor is just after "key:" or "-"; block content goes at column `ind`. */
static void write_node(FILE *o, const ms_node *n, int ind, bool after_dash, const size_t *order)
{
    if (n->kind == MS_NODE_SCALAR) {
        fputc(' ', o);
        write_scalar(o, n, false);
        fputc('\n', o);
        return;
    }
    if (n->count == 0) {
        fputs(n->kind == MS_NODE_MAP ? " {}\n" : " []\n", o);
        return;
    }
    if (n->kind == MS_NODE_SEQ && flowable(n)) {
        fputs(" [", o);
        for (size_t i = 0; i < n->count; i++) {
            if (i)
                fputs(", ", o);
            write_scalar(o, n->items[i], true);
        }
        fputs("]\n", o);
        return;
    }
    for (size_t k = 0; k < n->count; k++) {
        size_t i = order ? order[k] : k;
        if (k == 0 && after_dash) {
            fputc(' ', o);
        } else {
            if (k == 0)
                fputc('\n', o);
            pad(o, ind);
        }
        if (n->kind == MS_NODE_MAP) {
            write_scalar(o, n->keys[i], false);
            fputc(':', o);
            write_node(o, n->items[i], ind + 2, false, NULL);
        } else {
            fputc('-', o);
            write_node(o, n->items[i], ind + 2, true, NULL);
        }
    }
}

/* Field order: the schema's, then anything it does not list in source order.
 * A `group` argument is left out: upstream's Recipe.from_dict passes group=
 * itself, so the argument would make it raise TypeError (recipe.py:190-196
 * at 0.12); `*count` is the number of fields written. */
static ms_status modifier_order(const ms_schema *s, const char *type, const ms_node *args,
                                size_t **out, size_t *count)
{
    size_t *order = malloc((args->count ? args->count : 1) * sizeof *order);
    bool *used = calloc(args->count ? args->count : 1, sizeof *used);
    if (!order || !used) {
        free(order);
        free(used);
        return MS_ERR_NOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < args->count; i++)
        used[i] = !strcmp(args->keys[i]->value, "group");
    ms_schema_field f;
    for (size_t fi = 0; ms_schema_field_at(s, type, fi, &f); fi++)
        for (size_t i = 0; i < args->count; i++)
            if (!used[i] && !strcmp(args->keys[i]->value, f.name)) {
                used[i] = true;
                order[k++] = i;
            }
    for (size_t i = 0; i < args->count; i++)
        if (!used[i])
            order[k++] = i;
    free(used);
    *out = order;
    *count = k;
    return MS_OK;
}

/* Pydantic converts a quoted number or boolean in a field that takes no
 * string (validate warns W-QUOTED-NUMBER or W-LAX-BOOL), so the export writes
 * the value upstream reads, as the warning's hint says to. */
typedef struct lax_value {
    ms_node node;
    char text[40];
} lax_value;

static bool pydantic_value(const ms_schema_field *f, const ms_node *n, lax_value *out)
{
    if (n->kind != MS_NODE_SCALAR || !ms_node_is_string(n) || strstr(f->types, "string") ||
        (f->schema && ms_node_get(f->schema, "x-strict")))
        return false;
    double d;
    bool b;
    if ((strstr(f->types, "integer") && ms_node_lax_int(n, &d)) ||
        (strstr(f->types, "number") && ms_node_lax_float(n, &d))) {
        if (!isfinite(d))
            return false;
        snprintf(out->text, sizeof out->text, "%.15g", d);
    } else if (strstr(f->types, "boolean") && ms_node_lax_bool(n, &b)) {
        snprintf(out->text, sizeof out->text, "%s", b ? "true" : "false");
    } else {
        return false;
    }
    out->node = *n;
    out->node.quoted = false;
    out->node.value = out->text;
    return true;
}

/* The modifier's arguments with pydantic's conversions applied: `items`
 * (args->count) points into `args` or into `values`. */
static ms_status converted_args(const ms_schema *s, const char *type, const ms_node *args,
                                ms_node ***items, lax_value **values)
{
    size_t n = args->count ? args->count : 1;
    *items = malloc(n * sizeof **items);
    *values = malloc(n * sizeof **values);
    if (!*items || !*values) {
        free(*items);
        free(*values);
        return MS_ERR_NOMEM;
    }
    for (size_t i = 0; i < args->count; i++)
        (*items)[i] = args->items[i];
    ms_schema_field f;
    for (size_t fi = 0; ms_schema_field_at(s, type, fi, &f); fi++)
        for (size_t i = 0; i < args->count; i++)
            if (!strcmp(args->keys[i]->value, f.name) &&
                pydantic_value(&f, args->items[i], &(*values)[i]))
                (*items)[i] = &(*values)[i].node;
    return MS_OK;
}

static ms_status write_stage(const ms_schema *s, FILE *o, const ms_node *key, const ms_node *stage)
{
    write_scalar(o, key, false);
    fputs(":", o);
    bool any = false;
    for (size_t g = 0; g < stage->count; g++) {
        const ms_node *gk = stage->keys[g], *group = stage->items[g];
        if (!ms_ends_with(gk->value, "_modifiers") || group->kind != MS_NODE_MAP)
            continue;
        fputs(any ? "  " : "\n  ", o);
        any = true;
        write_scalar(o, gk, false);
        fputc(':', o);
        if (!group->count) {
            fputs(" {}\n", o);
            continue;
        }
        fputc('\n', o);
        for (size_t m = 0; m < group->count; m++) {
            const ms_node *args = group->items[m];
            pad(o, 4);
            write_scalar(o, group->keys[m], false);
            fputc(':', o);
            size_t *order = NULL;
            ms_node fields = *args;
            ms_node **items = NULL;
            lax_value *values = NULL;
            if (args->kind == MS_NODE_MAP) {
                const char *type = group->keys[m]->value;
                if (modifier_order(s, type, args, &order, &fields.count) != MS_OK)
                    return MS_ERR_NOMEM;
                if (converted_args(s, type, args, &items, &values) != MS_OK) {
                    free(order);
                    return MS_ERR_NOMEM;
                }
                fields.items = items;
            }
            write_node(o, &fields, 6, false, order);
            free(order);
            free(items);
            free(values);
        }
    }
    if (!any)
        fputs(" {}\n", o);
    return MS_OK;
}

ms_status ms_export_recipe(const ms_schema *s, const ms_recipe *r, FILE *out)
{
    return ms_export_tree(s, ms_doc_root(ms_recipe_doc(r)), ms_recipe_stage_filter(r), out);
}

/* At least the bytes `n` takes once aliases are expanded (each node counts
 * its text plus a few bytes of layout), counted until `budget` is passed:
 * the walk stops there, so an alias bomb costs no more than the budget. */
static size_t expanded_size(const ms_node *n, size_t budget)
{
    size_t size = 4 + (n->kind == MS_NODE_SCALAR ? n->count : 0);
    for (size_t i = 0; n->kind != MS_NODE_SCALAR && i < n->count && size <= budget; i++) {
        if (n->keys)
            size += expanded_size(n->keys[i], budget - size);
        if (size <= budget)
            size += expanded_size(n->items[i], budget - size);
    }
    return size;
}

ms_status ms_export_tree(const ms_schema *s, const ms_node *root, const char *filter, FILE *out)
{
    if (!root || root->kind != MS_NODE_MAP)
        return MS_ERR_INVALID;
    if (expanded_size(root, MS_EXPORT_MAX_BYTES) > MS_EXPORT_MAX_BYTES)
        return MS_ERR_LIMIT;
    char *text = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&text, &len);
    if (!o)
        return MS_ERR_NOMEM;
    ms_status st = MS_OK;
    const ms_node *args = ms_node_get(root, "args");
    if (args && (!filter || !strncmp("args", filter, strlen(filter)))) {
        fputs("args:", o);
        write_node(o, args, 2, false, NULL);
    }
    for (size_t i = 0; i < root->count && st == MS_OK; i++) {
        const ms_node *key = root->keys[i];
        if ((filter && strncmp(key->value, filter, strlen(filter))) ||
            !ms_ends_with(key->value, "_stage") || root->items[i]->kind != MS_NODE_MAP)
            continue;
        st = write_stage(s, o, key, root->items[i]);
    }
    if (fclose(o) != 0 && st == MS_OK)
        st = MS_ERR_NOMEM;
    if (st == MS_OK && len && fwrite(text, 1, len, out) != len)
        st = MS_ERR_IO;
    free(text);
    return st;
}

static void write_flow(FILE *o, const ms_node *n)
{
    if (n->kind == MS_NODE_SCALAR) {
        write_scalar(o, n, true);
        return;
    }
    fputc(n->kind == MS_NODE_MAP ? '{' : '[', o);
    for (size_t i = 0; i < n->count; i++) {
        if (i)
            fputs(", ", o);
        if (n->kind == MS_NODE_MAP) {
            write_scalar(o, n->keys[i], true);
            fputs(": ", o);
        }
        write_flow(o, n->items[i]);
    }
    fputc(n->kind == MS_NODE_MAP ? '}' : ']', o);
}

ms_status ms_export_flow(const ms_node *value, FILE *out)
{
    if (!value)
        return MS_ERR_INVALID;
    write_flow(out, value);
    return ferror(out) ? MS_ERR_IO : MS_OK;
}
