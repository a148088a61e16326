#include "draft.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../recipe/export.h"
#include "../recipe/lint.h"
#include "../util/array.h"
#include "../util/atomic.h"
#include "../util/text.h"

/* ---- owned value trees (the document's nodes belong to its arena) ---- */

static void node_free(ms_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; n->kind != MS_NODE_SCALAR && i < n->count; i++) {
        if (n->keys)
            node_free(n->keys[i]);
        node_free(n->items[i]);
    }
    free(n->keys);
    free(n->items);
    free(n->value);
    free(n);
}

static ms_node *node_scalar(const char *value)
{
    ms_node *n = calloc(1, sizeof *n);
    if (n && !(n->value = strdup(value))) {
        free(n);
        return NULL;
    }
    if (n)
        n->count = strlen(value); /* a scalar's count is its length, as in ms_doc */
    return n;
}

static ms_node *node_map(void)
{
    ms_node *n = calloc(1, sizeof *n);
    if (n)
        n->kind = MS_NODE_MAP;
    return n;
}

/* Appends a pair (or an item when `key` is NULL); takes both, also on failure. */
static bool node_add(ms_node *parent, ms_node *key, ms_node *value)
{
    ms_node **items = value ? realloc(parent->items, (parent->count + 1) * sizeof *items) : NULL;
    if (items)
        parent->items = items;
    ms_node **keys =
        items && key ? realloc(parent->keys, (parent->count + 1) * sizeof *keys) : NULL;
    if (keys)
        parent->keys = keys;
    if (!items || (key && !keys) || (parent->kind == MS_NODE_MAP && !key)) {
        node_free(key);
        node_free(value);
        return false;
    }
    if (key)
        parent->keys[parent->count] = key;
    parent->items[parent->count++] = value;
    return true;
}

static ms_node *node_copy(const ms_node *n)
{
    if (!n)
        return NULL;
    ms_node *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->kind = n->kind;
    c->line = n->line;
    c->col = n->col;
    c->quoted = n->quoted;
    c->block = n->block;
    if (n->kind == MS_NODE_SCALAR) {
        c->count = n->count;
        if (!(c->value = malloc(n->count + 1))) {
            free(c);
            return NULL;
        }
        memcpy(c->value, n->value, n->count + 1);
        return c;
    }
    for (size_t i = 0; i < n->count; i++) {
        ms_node *k = n->keys ? node_copy(n->keys[i]) : NULL;
        ms_node *v = node_copy(n->items[i]);
        if ((n->keys && !k) || !v) {
            node_free(k);
            node_free(v);
            node_free(c);
            return NULL;
        }
        if (!node_add(c, k, v)) {
            node_free(c);
            return NULL;
        }
    }
    return c;
}

/* ---- the model ---- */

typedef struct mod {
    char *stage_key, *group_key, *type;
    char *stage, *group; /* the keys without their suffix */
    ms_node *args;
    unsigned uid; /* who it is: kept through edits and moves, new for an added or copied one */
} mod;

/* Replaces the `n_in` modifiers at `at` with `other`; applying it again
 * swaps them back, so one record serves undo and redo. */
typedef struct cmd {
    char what[160];
    size_t at, n_in, n_other;
    mod *other;
    unsigned id;
} cmd;

typedef struct cmd_stack {
    cmd *items;
    size_t count, cap;
} cmd_stack;

struct ms_draft {
    const ms_schema *schema;
    char *file;
    ms_node *top_args; /* the recipe's `args`, or NULL */
    mod *mods;
    size_t count, cap;
    cmd_stack undo, redo;
    unsigned next_id, saved_id; /* id of the last command applied when saved; 0: none */
    unsigned next_uid;
    ms_draft_diag *diags;
    size_t n_diags;
    ms_lint_run run; /* the run the lifecycle warnings speak of */
    /* the text the draft was read from and its tree: a save writes the edited
     * spans back into it (ms_draft_set_source) */
    char *source;
    size_t source_len;
    ms_doc *source_doc;
    unsigned *source_uid; /* the draft modifier each of the source's is, in source order */
    size_t n_source;
    bool source_matched; /* the source had the draft's modifiers when it was set */
    char layout[160]; /* why the last save wrote the exporter's layout; "" when it kept the text */
};

static void mod_clear(mod *m)
{
    free(m->stage_key);
    free(m->group_key);
    free(m->type);
    free(m->stage);
    free(m->group);
    node_free(m->args);
    memset(m, 0, sizeof *m);
}

static void mods_free(mod *mods, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mod_clear(&mods[i]);
    free(mods);
}

static char *strip(const char *key, const char *suffix)
{
    size_t lk = strlen(key), ls = strlen(suffix);
    size_t keep = lk > ls && !strcmp(key + lk - ls, suffix) ? lk - ls : lk;
    return strndup(key, keep);
}

/* Takes `args`, also on failure. */
static bool mod_init(mod *m, const char *stage_key, const char *group_key, const char *type,
                     ms_node *args)
{
    memset(m, 0, sizeof *m);
    m->args = args;
    m->stage_key = strdup(stage_key);
    m->group_key = strdup(group_key);
    m->type = strdup(type);
    m->stage = strip(stage_key, "_stage");
    m->group = strip(group_key, "_modifiers");
    if (!args || !m->stage_key || !m->group_key || !m->type || !m->stage || !m->group) {
        mod_clear(m);
        return false;
    }
    return true;
}

static bool mod_copy(mod *dst, const mod *src, const char *stage_key, const char *group_key)
{
    if (!mod_init(dst, stage_key ? stage_key : src->stage_key,
                  group_key ? group_key : src->group_key, src->type, node_copy(src->args)))
        return false;
    dst->uid = src->uid;
    return true;
}

static bool same_group(const mod *a, const mod *b)
{
    return !strcmp(a->stage_key, b->stage_key) && !strcmp(a->group_key, b->group_key);
}

static bool group_has(const ms_draft *s, const char *stage_key, const char *group_key,
                      const char *type)
{
    for (size_t i = 0; i < s->count; i++)
        if (!strcmp(s->mods[i].stage_key, stage_key) && !strcmp(s->mods[i].group_key, group_key) &&
            !strcmp(s->mods[i].type, type))
            return true;
    return false;
}

/* The last modifier of modifier i's group. */
static size_t group_end(const ms_draft *s, size_t i)
{
    while (i + 1 < s->count && same_group(&s->mods[i], &s->mods[i + 1]))
        i++;
    return i;
}

/* A group key the stage does not use yet: "quant_2_modifiers", ... */
static void fresh_group(const ms_draft *s, const mod *m, char *buf, size_t cap)
{
    for (unsigned n = 2;; n++) {
        snprintf(buf, cap, "%s_%u_modifiers", m->group, n);
        bool used = false;
        for (size_t i = 0; i < s->count && !used; i++)
            used =
                !strcmp(s->mods[i].stage_key, m->stage_key) && !strcmp(s->mods[i].group_key, buf);
        if (!used)
            return;
    }
}

/* ---- text and checks ---- */

static ms_node *build_tree(const ms_draft *s)
{
    ms_node *root = node_map();
    if (!root)
        return NULL;
    if (s->top_args && !node_add(root, node_scalar("args"), node_copy(s->top_args)))
        goto fail;
    ms_node *stage = NULL, *group = NULL;
    for (size_t i = 0; i < s->count; i++) {
        const mod *m = &s->mods[i];
        bool new_stage = !i || strcmp(m->stage_key, s->mods[i - 1].stage_key);
        if (new_stage) {
            if (!node_add(root, node_scalar(m->stage_key), stage = node_map()))
                goto fail;
        }
        if (new_stage || strcmp(m->group_key, s->mods[i - 1].group_key)) {
            if (!node_add(stage, node_scalar(m->group_key), group = node_map()))
                goto fail;
        }
        if (!node_add(group, node_scalar(m->type), node_copy(m->args)))
            goto fail;
    }
    return root;
fail:
    node_free(root);
    return NULL;
}

ms_status ms_draft_text(const ms_draft *s, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    ms_node *root = build_tree(s);
    if (!root)
        return MS_ERR_NOMEM;
    FILE *f = open_memstream(text, len);
    if (!f) {
        node_free(root);
        return MS_ERR_NOMEM;
    }
    ms_status st = ms_export_tree(s->schema, root, NULL, f);
    if (fclose(f) != 0 && st == MS_OK)
        st = MS_ERR_NOMEM;
    node_free(root);
    if (st != MS_OK) {
        free(*text);
        *text = NULL;
        *len = 0;
    }
    return st;
}

static int last_line(const ms_node *n)
{
    int line = n ? n->line : 0;
    for (size_t i = 0; n && n->kind != MS_NODE_SCALAR && i < n->count; i++) {
        int l = last_line(n->items[i]);
        line = l > line ? l : line;
    }
    return line;
}

/* Which modifier and field of the parsed text a diagnostic points into. */
static void place(const ms_recipe *r, ms_draft_diag *sd)
{
    int line = sd->diag.line;
    sd->modifier = -1;
    sd->field[0] = '\0';
    for (size_t i = 0; i < ms_recipe_count(r); i++) {
        const ms_recipe_entry *e = ms_recipe_entry_at(r, i);
        int last = last_line(e->args);
        if (line < e->type_key->line ||
            line > (last > e->type_key->line ? last : e->type_key->line))
            continue;
        sd->modifier = (int)i;
        const ms_node *args = e->args;
        for (size_t k = 0; args && args->kind == MS_NODE_MAP && k < args->count; k++)
            if (args->keys[k]->line <= line)
                snprintf(sd->field, sizeof sd->field, "%s", args->keys[k]->value);
        /* a missing field has no line of its own: the message names it */
        const char *named = strstr(sd->diag.message, "required field '");
        if (!strcmp(sd->diag.code, "E-REQUIRED") && named) {
            named += strlen("required field '");
            snprintf(sd->field, sizeof sd->field, "%.*s", (int)strcspn(named, "'"), named);
        }
        return;
    }
}

static ms_status add_diag(ms_draft *s, const ms_diag *d, const ms_recipe *r)
{
    ms_draft_diag *items = realloc(s->diags, (s->n_diags + 1) * sizeof *items);
    if (!items)
        return MS_ERR_NOMEM;
    s->diags = items;
    ms_draft_diag *sd = &items[s->n_diags++];
    memset(sd, 0, sizeof *sd);
    sd->diag = *d;
    sd->modifier = -1;
    if (r)
        place(r, sd);
    return MS_OK;
}

/* Writes the draft out, reads it back as `modsim validate` would and
 * keeps what the schema and lint find. */
static ms_status recheck(ms_draft *s)
{
    free(s->diags);
    s->diags = NULL;
    s->n_diags = 0;
    char *text;
    size_t len;
    ms_status st = ms_draft_text(s, &text, &len);
    if (st != MS_OK)
        return st;
    ms_diag d;
    ms_diag_clear(&d);
    ms_doc *doc;
    st = ms_recipe_parse_doc(text, len, s->file, MS_FORMAT_YAML, &doc, &d);
    free(text);
    if (st != MS_OK)
        return st == MS_ERR_NOMEM ? st : add_diag(s, &d, NULL);
    ms_recipe *r;
    st = ms_recipe_from_doc(doc, NULL, &r, &d);
    if (st != MS_OK)
        return st == MS_ERR_NOMEM ? st : add_diag(s, &d, NULL);
    ms_diag_list list;
    ms_diag_list_init(&list);
    st = ms_lint_recipe_for(s->schema, r, &s->run, &list);
    /* the draft is simulated: what upstream raises from a hook is the run's to show */
    ms_lint_defer_raised(&list, 0);
    for (size_t i = 0; i < list.count && st == MS_OK; i++)
        st = add_diag(s, &list.items[i], r);
    ms_diag_list_free(&list);
    ms_recipe_free(r);
    return st;
}

ms_status ms_draft_set_run(ms_draft *s, const ms_lint_run *run)
{
    s->run = *run;
    return recheck(s);
}

size_t ms_draft_diag_count(const ms_draft *s)
{
    return s->n_diags;
}

const ms_draft_diag *ms_draft_diag_at(const ms_draft *s, size_t i)
{
    return i < s->n_diags ? &s->diags[i] : NULL;
}

/* ---- building ---- */

static bool push_mod(ms_draft *s, mod *m)
{
    if (!ms_array_reserve(&s->mods, &s->cap, s->count, sizeof *s->mods))
        return false;
    s->mods[s->count++] = *m;
    return true;
}

ms_status ms_draft_new(const ms_schema *schema, const ms_recipe *recipe, const char *file,
                       ms_draft **out, ms_diag *diag)
{
    *out = NULL;
    ms_draft *s = calloc(1, sizeof *s);
    if (!s || !(s->file = strdup(file ? file : ""))) {
        free(s);
        return MS_ERR_NOMEM;
    }
    s->schema = schema;
    s->next_id = 1;
    s->next_uid = 1;
    s->run = ms_lint_default_run();
    const ms_node *root = ms_doc_root(ms_recipe_doc(recipe));
    const char *filter = ms_recipe_stage_filter(recipe);
    ms_status st = MS_OK;
    if (root && root->kind != MS_NODE_MAP)
        st = ms_diag_set(diag, MS_ERR_INVALID, "E-LAYOUT", file, root->line, root->col,
                         "a recipe must be a map of stages, not a %s", ms_node_type_name(root));
    const ms_node *args = st == MS_OK ? ms_node_get(root, "args") : NULL;
    if (args && !(s->top_args = node_copy(args)))
        st = MS_ERR_NOMEM;
    for (size_t i = 0; st == MS_OK && root && i < root->count; i++) {
        const ms_node *stage = root->items[i];
        const char *stage_key = root->keys[i]->value;
        if ((filter && strncmp(stage_key, filter, strlen(filter))) ||
            !ms_ends_with(stage_key, "_stage") || stage->kind != MS_NODE_MAP)
            continue;
        for (size_t g = 0; st == MS_OK && g < stage->count; g++) {
            const ms_node *group = stage->items[g];
            if (!ms_ends_with(stage->keys[g]->value, "_modifiers") || group->kind != MS_NODE_MAP)
                continue;
            for (size_t k = 0; st == MS_OK && k < group->count; k++) {
                mod m;
                bool made = mod_init(&m, stage_key, stage->keys[g]->value, group->keys[k]->value,
                                     node_copy(group->items[k]));
                m.uid = s->next_uid++;
                if (!made || !push_mod(s, &m)) {
                    mod_clear(&m);
                    st = MS_ERR_NOMEM;
                }
            }
        }
    }
    if (st == MS_OK)
        st = recheck(s);
    if (st != MS_OK) {
        ms_draft_free(s);
        return st;
    }
    *out = s;
    return MS_OK;
}

static void stack_clear(cmd_stack *k)
{
    for (size_t i = 0; i < k->count; i++)
        mods_free(k->items[i].other, k->items[i].n_other);
    k->count = 0;
}

void ms_draft_free(ms_draft *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++)
        mod_clear(&s->mods[i]);
    free(s->mods);
    stack_clear(&s->undo);
    stack_clear(&s->redo);
    free(s->undo.items);
    free(s->redo.items);
    node_free(s->top_args);
    free(s->diags);
    free(s->file);
    free(s->source);
    ms_doc_free(s->source_doc);
    free(s->source_uid);
    free(s);
}

size_t ms_draft_count(const ms_draft *s)
{
    return s->count;
}

const char *ms_draft_type(const ms_draft *s, size_t i)
{
    return i < s->count ? s->mods[i].type : NULL;
}

const char *ms_draft_stage(const ms_draft *s, size_t i)
{
    return i < s->count ? s->mods[i].stage : NULL;
}

const char *ms_draft_group(const ms_draft *s, size_t i)
{
    return i < s->count ? s->mods[i].group : NULL;
}

const ms_node *ms_draft_args(const ms_draft *s, size_t i)
{
    return i < s->count ? s->mods[i].args : NULL;
}

/* ---- commands ---- */

static ms_status swap(ms_draft *s, cmd *c)
{
    size_t count = s->count - c->n_in + c->n_other;
    if (count > s->cap) {
        mod *mods = realloc(s->mods, count * sizeof *mods);
        if (!mods)
            return MS_ERR_NOMEM;
        s->mods = mods;
        s->cap = count;
    }
    mod *removed = malloc((c->n_in ? c->n_in : 1) * sizeof *removed);
    if (!removed)
        return MS_ERR_NOMEM;
    if (c->n_in)
        memcpy(removed, s->mods + c->at, c->n_in * sizeof *removed);
    memmove(s->mods + c->at + c->n_other, s->mods + c->at + c->n_in,
            (s->count - c->at - c->n_in) * sizeof *s->mods);
    if (c->n_other)
        memcpy(s->mods + c->at, c->other, c->n_other * sizeof *s->mods);
    s->count = count;
    free(c->other);
    c->other = removed;
    size_t n = c->n_in;
    c->n_in = c->n_other;
    c->n_other = n;
    return MS_OK;
}

static bool stack_push(cmd_stack *k, const cmd *c)
{
    if (!ms_array_reserve(&k->items, &k->cap, k->count, sizeof *k->items))
        return false;
    k->items[k->count++] = *c;
    return true;
}

/* Replaces `n_in` modifiers at `at` with `repl` (taken, also on failure) as
 * one undoable command. */
static ms_status run(ms_draft *s, size_t at, size_t n_in, mod *repl, size_t n_repl,
                     const char *what)
{
    cmd c = {.at = at, .n_in = n_in, .other = repl, .n_other = n_repl, .id = s->next_id};
    snprintf(c.what, sizeof c.what, "%s", what);
    /* room on the stack first, so a command applied is always recorded */
    cmd spare = {0};
    if (!stack_push(&s->undo, &spare)) {
        mods_free(repl, n_repl);
        return MS_ERR_NOMEM;
    }
    s->undo.count--;
    ms_status st = swap(s, &c);
    if (st != MS_OK) {
        mods_free(repl, n_repl);
        return st;
    }
    s->next_id++;
    stack_push(&s->undo, &c);
    stack_clear(&s->redo);
    return recheck(s);
}

static mod *one(void)
{
    return calloc(1, sizeof(mod));
}

static const char *label(const ms_draft *s, size_t i, char *buf, size_t cap)
{
    snprintf(buf, cap, "%zu %s", i, s->mods[i].type);
    return buf;
}

static bool known_type(const ms_schema *schema, const char *type)
{
    for (size_t i = 0; i < ms_schema_modifier_count(schema); i++)
        if (!strcmp(ms_schema_modifier_name(schema, i), type))
            return true;
    return false;
}

static ms_status bad_index(const ms_draft *s, size_t i, ms_diag *diag)
{
    return ms_diag_set(diag, MS_ERR_INVALID, "E-INDEX", NULL, 0, 0,
                       "no modifier %zu: the draft has %zu", i, s->count);
}

ms_status ms_draft_add(ms_draft *s, size_t after, const char *type, size_t *index, ms_diag *diag)
{
    if (!known_type(s->schema, type)) {
        ms_status st = ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE-UNKNOWN", NULL, 0, 0,
                                   "unknown modifier type '%s'", type);
        const char *near = ms_schema_modifier_nearest(s->schema, type);
        if (near)
            ms_diag_hint(diag, "did you mean '%s'?", near);
        return st;
    }
    mod *m = one();
    if (!m)
        return MS_ERR_NOMEM;
    size_t at;
    bool ok;
    if (!s->count) {
        const char *drive = ms_schema_modifier_drive(s->schema, type);
        at = 0;
        ok = mod_init(m, drive && !strcmp(drive, "training") ? "train_stage" : "oneshot_stage",
                      "default_modifiers", type, node_map());
    } else {
        size_t j = after < s->count ? after : s->count - 1;
        const mod *near = &s->mods[j];
        if (!group_has(s, near->stage_key, near->group_key, type)) {
            at = j + 1;
            ok = mod_init(m, near->stage_key, near->group_key, type, node_map());
        } else {
            char group[160];
            fresh_group(s, near, group, sizeof group);
            at = group_end(s, j) + 1;
            ok = mod_init(m, near->stage_key, group, type, node_map());
        }
    }
    if (!ok) {
        free(m);
        return MS_ERR_NOMEM;
    }
    m->uid = s->next_uid++;
    char what[160];
    snprintf(what, sizeof what, "add %s", type);
    ms_status st = run(s, at, 0, m, 1, what);
    if (index)
        *index = at;
    return st;
}

ms_status ms_draft_delete(ms_draft *s, size_t i, ms_diag *diag)
{
    if (i >= s->count)
        return bad_index(s, i, diag);
    char name[128], what[160];
    snprintf(what, sizeof what, "delete %s", label(s, i, name, sizeof name));
    return run(s, i, 1, NULL, 0, what);
}

ms_status ms_draft_duplicate(ms_draft *s, size_t i, size_t *index, ms_diag *diag)
{
    if (i >= s->count)
        return bad_index(s, i, diag);
    char group[160], name[128], what[160];
    fresh_group(s, &s->mods[i], group, sizeof group);
    mod *m = one();
    if (!m || !mod_copy(m, &s->mods[i], NULL, group)) {
        free(m);
        return MS_ERR_NOMEM;
    }
    m->uid = s->next_uid++; /* a copy is a new modifier: its text is written anew */
    size_t at = group_end(s, i) + 1;
    snprintf(what, sizeof what, "duplicate %s", label(s, i, name, sizeof name));
    ms_status st = run(s, at, 0, m, 1, what);
    if (index)
        *index = at;
    return st;
}

ms_status ms_draft_move(ms_draft *s, size_t i, bool up, size_t *index, ms_diag *diag)
{
    if (i >= s->count)
        return bad_index(s, i, diag);
    if (up ? i == 0 : i + 1 == s->count)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-MOVE", NULL, 0, 0, "%zu %s is already %s", i,
                           s->mods[i].type, up ? "first" : "last");
    const mod *m = &s->mods[i], *near = &s->mods[up ? i - 1 : i + 1];
    char name[128], what[160];
    snprintf(what, sizeof what, "move %s %s", label(s, i, name, sizeof name), up ? "up" : "down");
    if (same_group(m, near)) {
        /* swap with the neighbour inside the group */
        size_t at = up ? i - 1 : i;
        mod *pair = calloc(2, sizeof *pair);
        if (!pair || !mod_copy(&pair[0], &s->mods[at + 1], NULL, NULL)) {
            free(pair);
            return MS_ERR_NOMEM;
        }
        if (!mod_copy(&pair[1], &s->mods[at], NULL, NULL)) {
            mods_free(pair, 1);
            return MS_ERR_NOMEM;
        }
        if (index)
            *index = up ? i - 1 : i + 1;
        return run(s, at, 2, pair, 2, what);
    }
    if (group_has(s, near->stage_key, near->group_key, m->type)) {
        ms_status st =
            ms_diag_set(diag, MS_ERR_INVALID, "E-MOVE", NULL, 0, 0,
                        "group %s of stage %s already has a %s", near->group, near->stage, m->type);
        ms_diag_hint(diag, "a group holds one modifier of each type; delete or move the other");
        return st;
    }
    /* at the edge of its group: join the neighbouring group */
    mod *moved = one();
    if (!moved || !mod_copy(moved, m, near->stage_key, near->group_key)) {
        free(moved);
        return MS_ERR_NOMEM;
    }
    if (index)
        *index = i;
    return run(s, i, 1, moved, 1, what);
}

/* The text as one value; NULL with the reason in `diag` when it is not. */
static ms_status parse_value(const char *text, const char *field, ms_node **out, ms_diag *diag)
{
    *out = NULL;
    ms_doc *doc;
    ms_diag d;
    ms_diag_clear(&d);
    ms_status st = ms_doc_parse(text, strlen(text), field, &doc, &d);
    if (st != MS_OK) {
        if (st == MS_ERR_NOMEM)
            return st;
        st = ms_diag_set(diag, MS_ERR_SYNTAX, "E-YAML", NULL, 0, 0,
                         "%s: '%s' is not a YAML value: %s", field, text, d.message);
        ms_diag_hint(diag, "quote text with special characters; lists as [a, b]");
        return st;
    }
    const ms_node *root = ms_doc_root(doc);
    if (root && !(*out = node_copy(root)))
        st = MS_ERR_NOMEM;
    ms_doc_free(doc);
    return st;
}

static bool only_space(const char *text)
{
    return text[strspn(text, " \t\r\n")] == '\0';
}

static ms_status flow_text(const ms_node *value, char **out)
{
    size_t len;
    *out = NULL;
    FILE *f = open_memstream(out, &len);
    if (!f)
        return MS_ERR_NOMEM;
    ms_status st = value ? ms_export_flow(value, f) : MS_OK;
    if (fclose(f) != 0 && st == MS_OK)
        st = MS_ERR_NOMEM;
    if (st != MS_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

ms_status ms_draft_set_field(ms_draft *s, size_t i, const char *field, const char *text,
                             ms_diag *diag)
{
    if (i >= s->count)
        return bad_index(s, i, diag);
    if (!field[0])
        return ms_diag_set(diag, MS_ERR_INVALID, "E-FIELD", NULL, 0, 0, "no field name");
    ms_node *value = NULL;
    ms_status st = only_space(text) ? MS_OK : parse_value(text, field, &value, diag);
    if (st != MS_OK)
        return st;
    const ms_node *args = s->mods[i].args;
    const ms_node *old = ms_node_get(args, field);
    char *before = NULL, *after = NULL;
    if ((st = flow_text(old, &before)) == MS_OK)
        st = flow_text(value, &after);
    bool same = st == MS_OK && !strcmp(before, after);
    free(before);
    free(after);
    if (st != MS_OK || same) {
        node_free(value);
        return st;
    }
    /* the new arguments: the old pairs but this field, which keeps its place */
    mod *m = one();
    ms_node *map = node_map();
    bool ok = m && map;
    bool placed = false;
    for (size_t k = 0; ok && args && args->kind == MS_NODE_MAP && k < args->count; k++) {
        bool here = !strcmp(args->keys[k]->value, field);
        if (here && !value)
            continue;
        ok = node_add(map, node_copy(args->keys[k]), here ? value : node_copy(args->items[k]));
        placed |= here;
    }
    if (ok && value && !placed)
        ok = node_add(map, node_scalar(field), value);
    else if (!ok && value && !placed)
        node_free(value);
    if (!ok || !mod_init(m, s->mods[i].stage_key, s->mods[i].group_key, s->mods[i].type, map)) {
        if (!ok)
            node_free(map);
        free(m);
        return MS_ERR_NOMEM;
    }
    m->uid = s->mods[i].uid;
    char name[128], what[200];
    snprintf(what, sizeof what, "%s %s of %s", value ? "set" : "unset", field,
             label(s, i, name, sizeof name));
    return run(s, i, 1, m, 1, what);
}

ms_status ms_draft_rename_field(ms_draft *s, size_t i, const char *field, const char *to,
                                ms_diag *diag)
{
    if (i >= s->count)
        return bad_index(s, i, diag);
    const ms_node *args = s->mods[i].args;
    if (!ms_node_get(args, field))
        return ms_diag_set(diag, MS_ERR_INVALID, "E-FIELD", NULL, 0, 0,
                           "%s has no field '%s' to rename", s->mods[i].type, field);
    if (!to[0] || ms_node_get(args, to))
        return ms_diag_set(
            diag, MS_ERR_INVALID, "E-FIELD", NULL, 0, 0, "cannot rename '%s' to '%s': %s", field,
            to, to[0] ? "that field is already given (x unsets one of them)" : "no new name");
    mod *m = one();
    ms_node *map = node_map();
    bool ok = m && map;
    for (size_t k = 0; ok && k < args->count; k++) {
        bool here = !strcmp(args->keys[k]->value, field);
        ok = node_add(map, here ? node_scalar(to) : node_copy(args->keys[k]),
                      node_copy(args->items[k]));
    }
    if (!ok || !mod_init(m, s->mods[i].stage_key, s->mods[i].group_key, s->mods[i].type, map)) {
        if (!ok)
            node_free(map);
        free(m);
        return MS_ERR_NOMEM;
    }
    m->uid = s->mods[i].uid;
    char name[128], what[200];
    snprintf(what, sizeof what, "rename %s to %s of %s", field, to, label(s, i, name, sizeof name));
    return run(s, i, 1, m, 1, what);
}

bool ms_draft_can_undo(const ms_draft *s)
{
    return s->undo.count > 0;
}

bool ms_draft_can_redo(const ms_draft *s)
{
    return s->redo.count > 0;
}

const char *ms_draft_undo_label(const ms_draft *s)
{
    return s->undo.count ? s->undo.items[s->undo.count - 1].what : "";
}

const char *ms_draft_redo_label(const ms_draft *s)
{
    return s->redo.count ? s->redo.items[s->redo.count - 1].what : "";
}

static ms_status replay(ms_draft *s, cmd_stack *from, cmd_stack *to, size_t *index, ms_diag *diag,
                        const char *verb)
{
    if (!from->count)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-UNDO", NULL, 0, 0, "nothing to %s", verb);
    if (to->count == to->cap) {
        cmd spare = {0};
        if (!stack_push(to, &spare))
            return MS_ERR_NOMEM;
        to->count--;
    }
    cmd c = from->items[from->count - 1];
    ms_status st = swap(s, &c);
    if (st != MS_OK)
        return st;
    from->count--;
    stack_push(to, &c);
    if (index)
        *index = c.at < s->count ? c.at : s->count ? s->count - 1 : 0;
    return recheck(s);
}

ms_status ms_draft_undo(ms_draft *s, size_t *index, ms_diag *diag)
{
    return replay(s, &s->undo, &s->redo, index, diag, "undo");
}

ms_status ms_draft_redo(ms_draft *s, size_t *index, ms_diag *diag)
{
    return replay(s, &s->redo, &s->undo, index, diag, "redo");
}

bool ms_draft_dirty(const ms_draft *s)
{
    unsigned now = s->undo.count ? s->undo.items[s->undo.count - 1].id : 0;
    return now != s->saved_id;
}

/* ---- saving ---- */

/* Writing the edited spans back into the text the user wrote, the way
 * round-trip YAML editors do: the source's modifiers are matched to the
 * draft's by identity (uid), only the fields whose values differ are
 * rewritten, each on the lines it took, and only the groups whose modifiers
 * changed are rebuilt; every other byte (comments, blank lines, key order,
 * quoting) stays. The spans are whole lines: a block entry runs from its
 * key's line to its last line indented deeper (or a `- ` item or a closing
 * bracket at the key's indent), not counting the blank and comment lines
 * after it. */

#define NONE SIZE_MAX

typedef struct splice {
    size_t from, to; /* lines [from, to) replaced; from == to inserts */
    char *text;      /* whole lines, each ending as the source's lines end */
    size_t owner;    /* the source modifier whose fields it edits, or NONE */
    size_t seq;      /* insertions at one line keep their order */
} splice;

typedef struct splicer {
    const char *text;
    size_t len;
    size_t *line_at; /* offset of each line's start, and one past the end */
    size_t lines;
    bool crlf;   /* its lines end in "\r\n" */
    size_t step; /* the indentation one level adds */
    splice *edits;
    size_t count, cap;
    bool failed;
    char why[160]; /* why it failed; "" when out of memory */
} splicer;

static bool blank_or_comment(const splicer *sp, size_t l)
{
    for (size_t i = sp->line_at[l]; i < sp->line_at[l + 1]; i++) {
        char c = sp->text[i];
        if (c == '#')
            return true;
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            return false;
    }
    return true;
}

static size_t indent_of(const splicer *sp, size_t l)
{
    size_t i = sp->line_at[l];
    while (i < sp->line_at[l + 1] && sp->text[i] == ' ')
        i++;
    return i - sp->line_at[l];
}

/* The lines [*from, *to) of the entry whose key is `key`. */
static void entry_lines(const splicer *sp, const ms_node *key, size_t *from, size_t *to)
{
    size_t first = key->line > 0 ? (size_t)key->line - 1 : 0, indent = (size_t)key->col - 1;
    size_t last = first;
    for (size_t l = first + 1; l < sp->lines; l++) {
        if (blank_or_comment(sp, l))
            continue;
        size_t in = indent_of(sp, l);
        const char *p = sp->text + sp->line_at[l] + in;
        bool item = in == indent && *p == '-' && (p[1] == ' ' || p[1] == '\n' || p[1] == '\r');
        /* the bracket closing a flow value written over several lines */
        bool closing = *p == ']' || *p == '}';
        if (in <= indent && !item && !closing)
            break;
        last = l;
    }
    *from = first;
    *to = last + 1;
}

/* The comment at the end of line `l` ("  # why"), or "". */
static void line_comment(const splicer *sp, size_t l, char *out, size_t cap)
{
    out[0] = '\0';
    char quote = 0;
    size_t a = sp->line_at[l], b = sp->line_at[l + 1];
    for (size_t i = a; i < b; i++) {
        char c = sp->text[i];
        if (quote) {
            if (c == '\\' && quote == '"')
                i++;
            else if (c == quote)
                quote = 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '#' && i > a && (sp->text[i - 1] == ' ' || sp->text[i - 1] == '\t')) {
            size_t start = i;
            while (start > a && (sp->text[start - 1] == ' ' || sp->text[start - 1] == '\t'))
                start--;
            size_t end = b;
            while (end > i && (sp->text[end - 1] == '\n' || sp->text[end - 1] == '\r'))
                end--;
            snprintf(out, cap, "%.*s", (int)(end - start), sp->text + start);
            return;
        }
    }
}

/* Takes `text`, also on failure. */
static void push(splicer *sp, size_t from, size_t to, char *text)
{
    if (!text || !ms_array_reserve(&sp->edits, &sp->cap, sp->count, sizeof *sp->edits)) {
        free(text);
        sp->failed = true;
        return;
    }
    sp->edits[sp->count] = (splice){from, to, text, NONE, sp->count};
    sp->count++;
}

/* `text` (taken) with "\r\n" line ends when the source has them. */
static char *with_eol(const splicer *sp, char *text)
{
    if (!text || !sp->crlf)
        return text;
    size_t n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    char *out = malloc(strlen(text) + n + 1), *o = out;
    for (const char *p = text; out && *p; p++) {
        if (*p == '\n' && (p == text || p[-1] != '\r'))
            *o++ = '\r';
        *o++ = *p;
    }
    if (out)
        *o = '\0';
    free(text);
    return out;
}

/* A generated edit, its lines ending as the source's do. */
static void add_splice(splicer *sp, size_t from, size_t to, char *text)
{
    push(sp, from, to, with_eol(sp, text));
}

/* "key: value" at `indent`, in flow style, keeping `comment`. */
static char *entry_text(size_t indent, const ms_node *key, const ms_node *value,
                        const char *comment)
{
    char *k = NULL, *v = NULL, *out = NULL;
    if (flow_text(key, &k) == MS_OK && flow_text(value, &v) == MS_OK) {
        size_t n = indent + strlen(k) + strlen(v) + strlen(comment) + 4;
        if ((out = malloc(n)))
            snprintf(out, n, "%*s%s:%s%s%s\n", (int)indent, "", k, v[0] ? " " : "", v, comment);
    }
    free(k);
    free(v);
    return out;
}

static bool same_value(const ms_node *a, const ms_node *b)
{
    char *x = NULL, *y = NULL;
    bool same = flow_text(a, &x) == MS_OK && flow_text(b, &y) == MS_OK && !strcmp(x, y);
    free(x);
    free(y);
    return same;
}

/* A map written in block style, its keys on lines below `under`. */
static bool block_map(const ms_node *n, int under)
{
    return n && n->kind == MS_NODE_MAP && n->count && n->keys[0]->line > under;
}

/* Rewrites entry `k` of `map` (source) as `key: value`. */
static void replace_entry(splicer *sp, const ms_node *map, size_t k, const ms_node *key,
                          const ms_node *value)
{
    size_t from, to;
    entry_lines(sp, map->keys[k], &from, &to);
    char comment[256] = "";
    if (to == from + 1)
        line_comment(sp, from, comment, sizeof comment);
    add_splice(sp, from, to, entry_text((size_t)map->keys[k]->col - 1, key, value, comment));
}

static ssize_t key_index(const ms_node *map, const char *key)
{
    for (size_t i = 0; map && map->kind == MS_NODE_MAP && i < map->count; i++)
        if (!strcmp(map->keys[i]->value, key))
            return (ssize_t)i;
    return -1;
}

/* The block map `was` (source) becomes `now`: changed values are rewritten
 * (maps written in block style recursively), a field gone is deleted, a new
 * one goes after the last entry, and a field gone whose value a new field
 * has is a rename, which keeps its place. */
static void splice_map(splicer *sp, const ms_node *was, const ms_node *now)
{
    size_t gone[64], added[64], n_gone = 0, n_added = 0;
    for (size_t k = 0; k < was->count; k++)
        if (key_index(now, was->keys[k]->value) < 0 && n_gone < 64)
            gone[n_gone++] = k;
    for (size_t k = 0; k < now->count; k++) {
        ssize_t at = key_index(was, now->keys[k]->value);
        if (at < 0) {
            if (n_added < 64)
                added[n_added++] = k;
            else
                sp->failed = true;
            continue;
        }
        const ms_node *old = was->items[at], *value = now->items[k];
        if (same_value(old, value))
            continue;
        if (block_map(old, was->keys[at]->line) && value->kind == MS_NODE_MAP && value->count)
            splice_map(sp, old, value);
        else
            replace_entry(sp, was, (size_t)at, now->keys[k], value);
    }
    /* a field gone whose value a new one has was renamed: it keeps its place */
    bool paired[64] = {false};
    for (size_t i = 0; i < n_gone; i++) {
        size_t from, to;
        size_t j = 0;
        while (j < n_added && (paired[j] || !same_value(was->items[gone[i]], now->items[added[j]])))
            j++;
        if (j < n_added) {
            paired[j] = true;
            replace_entry(sp, was, gone[i], now->keys[added[j]], now->items[added[j]]);
            continue;
        }
        entry_lines(sp, was->keys[gone[i]], &from, &to);
        add_splice(sp, from, to, strdup(""));
    }
    size_t from, end;
    entry_lines(sp, was->keys[was->count - 1], &from, &end);
    for (size_t i = 0; i < n_added; i++)
        if (!paired[i])
            add_splice(sp, end, end,
                       entry_text((size_t)was->keys[0]->col - 1, now->keys[added[i]],
                                  now->items[added[i]], ""));
}

/* Modifier `type` (key `key` of `group`, source) now has arguments `now`. */
static void splice_modifier(splicer *sp, const ms_node *group, size_t k, const ms_node *now)
{
    const ms_node *key = group->keys[k], *was = group->items[k];
    if (same_value(was, now))
        return;
    if (block_map(was, key->line) && now->kind == MS_NODE_MAP && now->count) {
        splice_map(sp, was, now);
        return;
    }
    /* `Type: {}`, `Type:` or flow arguments: the entry written anew, in block style */
    size_t from, to, indent = (size_t)key->col - 1;
    entry_lines(sp, key, &from, &to);
    char comment[256] = "";
    if (to == from + 1)
        line_comment(sp, from, comment, sizeof comment);
    if (now->kind != MS_NODE_MAP || !now->count) {
        add_splice(sp, from, to, entry_text(indent, key, now, comment));
        return;
    }
    char *text = NULL, *type = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f && flow_text(key, &type) == MS_OK) {
        fprintf(f, "%*s%s:%s\n", (int)indent, "", type, comment);
        for (size_t i = 0; i < now->count; i++) {
            char *line = entry_text(indent + sp->step, now->keys[i], now->items[i], "");
            if (!line)
                sp->failed = true;
            else
                fputs(line, f);
            free(line);
        }
    }
    free(type);
    if (!f || fclose(f) != 0) {
        free(text);
        text = NULL;
    }
    add_splice(sp, from, to, text);
}

static int splice_order(const void *x, const void *y)
{
    const splice *a = x, *b = y;
    if (a->from != b->from)
        return a->from < b->from ? -1 : 1;
    /* at one line, insertions go before a span replaced from there */
    bool ia = a->from == a->to, ib = b->from == b->to;
    if (ia != ib)
        return ia ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* ---- structural edits: the source's stages, groups and modifiers as
 * spans of lines. A modifier's block is its entry with the comment lines
 * right above it (not indented deeper than its key) and the comments indented
 * deeper after it; the blank lines after a block separate it from the next
 * one. A group that lost, gained or reordered modifiers is rebuilt from its
 * blocks (copied byte for byte, field edits spliced in) and, for an added or
 * copied modifier, a block written in its siblings' indentation. ---- */

typedef struct sblock {
    const ms_node *key, *args;
    size_t group;                             /* its sgroup */
    size_t start, body_end, content_end, end; /* lines; [content_end, end) are blank */
    unsigned uid;
} sblock;

typedef struct sgroup {
    const ms_node *key, *value;
    size_t stage, first, n; /* its sstage and blocks */
    size_t lead, to;        /* the entry, its leading comments included */
    size_t mod_col;         /* its modifiers' column */
    bool flow;              /* a flow map ({...}): not ours to rebuild */
    bool empty;             /* `{}` or no value */
    bool rebuilt, drafted;  /* drafted: the draft still has it */
} sgroup;

typedef struct sstage {
    const ms_node *key, *value;
    size_t lead, to;
    bool flow, only_groups, drafted;
} sstage;

typedef struct layout {
    sstage *stages;
    sgroup *groups;
    sblock *blocks;
    size_t n_stages, n_groups, n_blocks, cap_stages, cap_groups, cap_blocks;
    bool root_flow;
} layout;

static void layout_free(layout *lo)
{
    free(lo->stages);
    free(lo->groups);
    free(lo->blocks);
}

static void fail(splicer *sp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(splicer *sp, const char *fmt, ...)
{
    if (sp->failed)
        return;
    sp->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sp->why, sizeof sp->why, fmt, ap);
    va_end(ap);
}

static size_t row(const ms_node *n)
{
    return n->line > 0 ? (size_t)n->line - 1 : 0;
}

/* The byte where node `n` starts (its column counts characters). */
static char char_at(const splicer *sp, const ms_node *n)
{
    size_t l = row(n);
    if (l >= sp->lines)
        return '\0';
    size_t i = sp->line_at[l], end = sp->line_at[l + 1];
    for (int c = 1; i < end; i++)
        if (((unsigned char)sp->text[i] & 0xC0) != 0x80 && c++ == n->col)
            return sp->text[i];
    return '\0';
}

static bool is_flow(const splicer *sp, const ms_node *n)
{
    char c = char_at(sp, n);
    return n->kind != MS_NODE_SCALAR && (c == '{' || c == '[');
}

static bool blank_line(const splicer *sp, size_t l)
{
    return blank_or_comment(sp, l) && sp->text[sp->line_at[l] + indent_of(sp, l)] != '#';
}

/* The first of the comment lines right above line `l` that are not indented
 * deeper than `col`, not going above `floor`. */
static size_t lead_start(const splicer *sp, size_t l, size_t col, size_t floor)
{
    while (l > floor && !blank_line(sp, l - 1) && blank_or_comment(sp, l - 1) &&
           indent_of(sp, l - 1) <= col)
        l--;
    return l;
}

static size_t entry_end(const splicer *sp, const ms_node *key)
{
    size_t from, to;
    entry_lines(sp, key, &from, &to);
    return to;
}

static bool scan_group(splicer *sp, layout *lo, const ms_node *key, const ms_node *value,
                       size_t floor)
{
    if (!ms_array_reserve(&lo->groups, &lo->cap_groups, lo->n_groups, sizeof *lo->groups))
        return false;
    sgroup *g = &lo->groups[lo->n_groups];
    size_t col = (size_t)key->col - 1;
    *g = (sgroup){.key = key,
                  .value = value,
                  .stage = lo->n_stages - 1,
                  .first = lo->n_blocks,
                  .lead = lead_start(sp, row(key), col, floor),
                  .to = entry_end(sp, key)};
    g->empty = value->kind == MS_NODE_SCALAR || !value->count;
    /* `{}` written on a line of its own, or inside a flow stage, is left alone */
    g->flow = (value->kind == MS_NODE_MAP && is_flow(sp, value) &&
               (value->count || value->line != key->line)) ||
              lo->stages[lo->n_stages - 1].flow;
    g->empty &= !g->flow;
    for (size_t k = 0; value->kind == MS_NODE_MAP && k < value->count; k++) {
        if (!ms_array_reserve(&lo->blocks, &lo->cap_blocks, lo->n_blocks, sizeof *lo->blocks))
            return false;
        const ms_node *mkey = value->keys[k];
        sblock *b = &lo->blocks[lo->n_blocks++];
        *b = (sblock){.key = mkey, .args = value->items[k], .group = lo->n_groups};
        size_t mcol = (size_t)mkey->col - 1;
        g->mod_col = mcol;
        if (g->flow)
            continue;
        b->start = lead_start(sp, row(mkey), mcol, k ? b[-1].body_end : row(key) + 1);
        b->body_end = entry_end(sp, mkey);
        if (k) {
            sblock *prev = b - 1;
            prev->end = b->start;
            prev->content_end = prev->end;
            while (prev->content_end > prev->start && blank_line(sp, prev->content_end - 1))
                prev->content_end--;
        }
    }
    g->n = lo->n_blocks - g->first;
    if (g->n && !g->flow) {
        /* the last block takes the comments indented deeper after it */
        sblock *last = &lo->blocks[lo->n_blocks - 1];
        size_t mcol = g->mod_col, ce = last->body_end;
        for (size_t l = ce; l < sp->lines && blank_or_comment(sp, l); l++) {
            if (blank_line(sp, l))
                continue;
            if (indent_of(sp, l) <= mcol)
                break;
            ce = l + 1;
        }
        last->content_end = last->end = ce;
        g->to = g->to > ce ? g->to : ce;
    }
    lo->n_groups++;
    return true;
}

/* The stages (`*_stage` maps) and groups (`*_modifiers` maps, or empty) of
 * the source, in the order ms_draft_new reads them. */
static bool scan(splicer *sp, const ms_node *root, layout *lo)
{
    lo->root_flow = root && is_flow(sp, root);
    for (size_t st = 0; root && st < root->count; st++) {
        const ms_node *skey = root->keys[st], *stage = root->items[st];
        if (!ms_ends_with(skey->value, "_stage") || stage->kind != MS_NODE_MAP)
            continue;
        if (!ms_array_reserve(&lo->stages, &lo->cap_stages, lo->n_stages, sizeof *lo->stages))
            return false;
        sstage *S = &lo->stages[lo->n_stages++];
        /* the comments above the first key are the file's, not its first stage's */
        *S = (sstage){
            .key = skey,
            .value = stage,
            .lead = lead_start(sp, row(skey), 0, st ? row(root->keys[st - 1]) + 1 : row(skey)),
            .to = entry_end(sp, skey),
            .flow = is_flow(sp, stage),
            .only_groups = true};
        for (size_t g = 0; g < stage->count; g++) {
            const ms_node *gkey = stage->keys[g], *group = stage->items[g];
            bool is_group = ms_ends_with(gkey->value, "_modifiers") &&
                            (group->kind == MS_NODE_MAP || ms_node_is_null(group));
            S->only_groups &= is_group;
            if (!is_group)
                continue;
            if (!scan_group(sp, lo, gkey, group, g ? row(stage->keys[g - 1]) + 1 : row(skey) + 1))
                return false;
            S = &lo->stages[lo->n_stages - 1];
            size_t to = lo->groups[lo->n_groups - 1].to;
            S->to = S->to > to ? S->to : to;
        }
    }
    return true;
}

/* The indentation one level adds, as the source writes it (in stage `st`
 * when it says, else anywhere). */
static size_t indent_step(const layout *lo, const sstage *st)
{
    for (int pass = st ? 0 : 1; pass < 2; pass++)
        for (size_t i = 0; i < lo->n_groups; i++) {
            const sgroup *g = &lo->groups[i];
            size_t col = (size_t)g->key->col - 1;
            if ((pass || &lo->stages[g->stage] == st) && !g->flow && g->n && g->mod_col > col)
                return g->mod_col - col;
        }
    return 2;
}

/* Copies lines [a, b) of the source into `f` with the edits `keep` takes. */
static void emit_lines(splicer *sp, FILE *f, size_t a, size_t b,
                       bool (*keep)(const splicer *, const splice *, const void *), const void *arg)
{
    size_t at = a;
    for (size_t e = 0; e < sp->count && !sp->failed; e++) {
        const splice *ed = &sp->edits[e];
        if (ed->from < a || ed->from > b || !keep(sp, ed, arg))
            continue;
        if (ed->from < at || ed->to > b) { /* overlapping spans: not ours to merge */
            fail(sp, "edits overlap");
            return;
        }
        fwrite(sp->text + sp->line_at[at], 1, sp->line_at[ed->from] - sp->line_at[at], f);
        /* a last line without its newline gets one before an insertion */
        if (ed->from == sp->lines && sp->len && sp->text[sp->len - 1] != '\n' && ed->text[0])
            fputs(sp->crlf ? "\r\n" : "\n", f);
        fputs(ed->text, f);
        at = ed->to;
    }
    fwrite(sp->text + sp->line_at[at], 1, sp->line_at[b] - sp->line_at[at], f);
}

static bool owned_by(const splicer *sp, const splice *ed, const void *arg)
{
    (void)sp;
    return ed->owner == *(const size_t *)arg;
}

/* The text with every line moved from column `from` to `to`. */
static char *reindent(splicer *sp, char *text, size_t from, size_t to)
{
    if (!text || from == to)
        return text;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    for (const char *p = text; f && *p;) {
        size_t n = strcspn(p, "\n"), in = strspn(p, " ");
        bool blank = in >= n || p[in] == '\r';
        bool comment = !blank && p[in] == '#';
        if (blank) {
            fwrite(p, 1, n, f);
        } else if (to > from) {
            fprintf(f, "%*s%.*s", (int)(to - from), "", (int)n, p);
        } else if (in >= from - to || comment) {
            size_t cut = in < from - to ? in : from - to;
            fwrite(p + cut, 1, n - cut, f);
        } else {
            fail(sp, "a moved modifier's lines do not fit its new indentation");
        }
        p += n;
        if (*p == '\n')
            fputc(*p++, f);
    }
    free(text);
    if (!f || fclose(f) != 0 || sp->failed) {
        free(out);
        return NULL;
    }
    return out;
}

static void write_block_map(FILE *f, const ms_node *map, size_t indent, size_t step, splicer *sp)
{
    for (size_t k = 0; k < map->count; k++) {
        const ms_node *v = map->items[k];
        char *key = NULL, *value = NULL;
        if (flow_text(map->keys[k], &key) != MS_OK) {
            sp->failed = true;
            return;
        }
        if (v->kind == MS_NODE_MAP && v->count) {
            fprintf(f, "%*s%s:\n", (int)indent, "", key);
            write_block_map(f, v, indent + step, step, sp);
        } else if (flow_text(v, &value) == MS_OK) {
            fprintf(f, "%*s%s:%s%s\n", (int)indent, "", key, value[0] ? " " : "", value);
        } else {
            sp->failed = true;
        }
        free(key);
        free(value);
    }
}

/* An added or copied modifier, at column `col`: maps in block style, the
 * rest of its values in flow style, as the field edits write them. */
static char *new_block(splicer *sp, const mod *m, size_t col, size_t step)
{
    char *text = NULL, *value = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    if (m->args->kind == MS_NODE_MAP && m->args->count) {
        fprintf(f, "%*s%s:\n", (int)col, "", m->type);
        write_block_map(f, m->args, col + step, step, sp);
    } else if (flow_text(m->args, &value) == MS_OK) {
        fprintf(f, "%*s%s:%s%s\n", (int)col, "", m->type, value[0] ? " " : "", value);
    } else {
        sp->failed = true;
    }
    free(value);
    if (fclose(f) != 0 || sp->failed) {
        free(text);
        return NULL;
    }
    return with_eol(sp, text);
}

static size_t find_block(const layout *lo, unsigned uid)
{
    for (size_t k = 0; k < lo->n_blocks; k++)
        if (lo->blocks[k].uid == uid)
            return k;
    return NONE;
}

/* The blank lines a block in the middle of group `g` is followed by: those
 * the group (else the file) writes between its modifiers. */
static void default_gap(const layout *lo, const sgroup *g, size_t *from, size_t *to)
{
    *from = *to = 0;
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < lo->n_blocks; k++) {
            const sblock *b = &lo->blocks[k];
            const sgroup *bg = &lo->groups[b->group];
            if ((pass || bg == g) && !bg->flow && k + 1 < bg->first + bg->n) {
                *from = b->content_end;
                *to = b->end;
                return;
            }
        }
}

/* The blocks of the draft's modifiers [a, b) at column `col`: a source
 * block copied with its field edits, a new one written in the style of its
 * siblings. */
static void write_blocks(splicer *sp, FILE *f, const layout *lo, const sgroup *g, const ms_draft *s,
                         size_t a, size_t b, size_t col, size_t step)
{
    size_t gap_from, gap_to;
    default_gap(lo, g, &gap_from, &gap_to);
    for (size_t i = a; i < b && !sp->failed; i++) {
        size_t k = find_block(lo, s->mods[i].uid);
        const sblock *blk = k == NONE ? NULL : &lo->blocks[k];
        const sgroup *from = blk ? &lo->groups[blk->group] : NULL;
        char *text = NULL;
        if (blk && !from->flow) {
            size_t len = 0;
            FILE *m = open_memstream(&text, &len);
            if (!m) {
                sp->failed = true;
                return;
            }
            emit_lines(sp, m, blk->start, blk->content_end, owned_by, &k);
            /* a block moved off the file's last line gets the newline that line lacked */
            if (fflush(m) == 0 && len && text[len - 1] != '\n')
                fputs(sp->crlf ? "\r\n" : "\n", m);
            if (fclose(m) != 0)
                sp->failed = true;
            text = reindent(sp, text, from->mod_col, col);
        } else {
            text = new_block(sp, &s->mods[i], col, step);
        }
        if (!text) {
            sp->failed = true;
            return;
        }
        fputs(text, f);
        free(text);
        if (i + 1 == b)
            break;
        /* the blank lines after it: its own, or its siblings' */
        bool own = blk && !from->flow && k + 1 < from->first + from->n;
        size_t l0 = own ? blk->content_end : gap_from, l1 = own ? blk->end : gap_to;
        fwrite(sp->text + sp->line_at[l0], 1, sp->line_at[l1] - sp->line_at[l0], f);
    }
}

/* `key:` at `col` with the modifiers [a, b) below it. */
static char *group_text(splicer *sp, const layout *lo, const ms_draft *s, const char *key,
                        size_t col, size_t a, size_t b, size_t step, const char *comment)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fprintf(f, "%*s%s:%s%s", (int)col, "", key, comment, sp->crlf ? "\r\n" : "\n");
    write_blocks(sp, f, lo, NULL, s, a, b, col + step, step);
    if (fclose(f) != 0 || sp->failed) {
        free(text);
        return NULL;
    }
    return text;
}

static sstage *find_stage(layout *lo, const char *key)
{
    for (size_t i = 0; i < lo->n_stages; i++)
        if (!strcmp(lo->stages[i].key->value, key))
            return &lo->stages[i];
    return NULL;
}

static sgroup *find_group(layout *lo, const sstage *st, const char *key)
{
    for (size_t i = 0; st && i < lo->n_groups; i++)
        if (&lo->stages[lo->groups[i].stage] == st && !strcmp(lo->groups[i].key->value, key))
            return &lo->groups[i];
    return NULL;
}

/* The end of draft modifier i's group (stage when `stage`). */
static size_t run_end(const ms_draft *s, size_t i, bool stage)
{
    size_t j = i + 1;
    while (j < s->count && !strcmp(s->mods[j].stage_key, s->mods[i].stage_key) &&
           (stage || !strcmp(s->mods[j].group_key, s->mods[i].group_key)))
        j++;
    return j;
}

static bool same_uids(const ms_draft *s, const layout *lo, const sgroup *g, size_t a, size_t b)
{
    if (b - a != g->n)
        return false;
    for (size_t i = a; i < b; i++)
        if (lo->blocks[g->first + i - a].uid != s->mods[i].uid)
            return false;
    return true;
}

/* The splices that rebuild the groups whose modifiers changed, add new
 * groups and stages, and delete those the draft no longer has. */
static void restructure(splicer *sp, layout *lo, const ms_draft *s)
{
    size_t file_step = indent_step(lo, NULL);
    size_t stage_anchor = lo->n_stages ? lo->stages[0].lead : sp->lines;
    const sstage *last_stage = NULL;
    const sgroup *last_group = NULL;
    for (size_t a = 0; a < s->count && !sp->failed;) {
        size_t b = run_end(s, a, true);
        sstage *st = find_stage(lo, s->mods[a].stage_key);
        if (!st) {
            if (lo->root_flow) {
                fail(sp, "the recipe is written in flow style ({...})");
                return;
            }
            char *text = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&text, &len);
            if (!f) {
                sp->failed = true;
                return;
            }
            fprintf(f, "%s:%s", s->mods[a].stage_key, sp->crlf ? "\r\n" : "\n");
            for (size_t c = a; c < b; c = run_end(s, c, false)) {
                char *g = group_text(sp, lo, s, s->mods[c].group_key, file_step, c,
                                     run_end(s, c, false), file_step, "");
                if (g)
                    fputs(g, f);
                free(g);
            }
            if (fclose(f) != 0)
                sp->failed = true;
            push(sp, stage_anchor, stage_anchor, text);
            a = b;
            continue;
        }
        if (st < last_stage) {
            fail(sp, "stages reordered");
            return;
        }
        last_stage = st;
        st->drafted = true;
        stage_anchor = st->to;
        size_t step = indent_step(lo, st);
        /* a new group goes after the one before it, the first before the stage's first */
        size_t group_anchor = st->to, gcol = (size_t)st->key->col - 1 + step;
        for (size_t g = 0; g < lo->n_groups; g++)
            if (&lo->stages[lo->groups[g].stage] == st) {
                group_anchor = lo->groups[g].lead;
                gcol = (size_t)lo->groups[g].key->col - 1;
                break;
            }
        for (size_t c = a; c < b && !sp->failed;) {
            size_t d = run_end(s, c, false);
            sgroup *g = find_group(lo, st, s->mods[c].group_key);
            if (!g) {
                if (st->flow) {
                    fail(sp, "stage %s is written in flow style ({...})", st->key->value);
                    return;
                }
                push(sp, group_anchor, group_anchor,
                     group_text(sp, lo, s, s->mods[c].group_key, gcol, c, d, step, ""));
                c = d;
                continue;
            }
            if (g < last_group) {
                fail(sp, "groups reordered");
                return;
            }
            last_group = g;
            g->drafted = true;
            group_anchor = g->to;
            if (!same_uids(s, lo, g, c, d)) {
                if (g->flow) {
                    fail(sp, "group %s is written in flow style ({...})", g->key->value);
                    return;
                }
                g->rebuilt = true;
                if (g->empty) {
                    /* `key: {}` (or `key:`) becomes `key:` with the modifiers below it */
                    char comment[256] = "";
                    line_comment(sp, row(g->key), comment, sizeof comment);
                    push(sp, row(g->key), row(g->key) + 1,
                         group_text(sp, lo, s, g->key->value, (size_t)g->key->col - 1, c, d, step,
                                    comment));
                } else {
                    char *text = NULL;
                    size_t len = 0;
                    FILE *f = open_memstream(&text, &len);
                    if (f)
                        write_blocks(sp, f, lo, g, s, c, d, g->mod_col, step);
                    if (!f || fclose(f) != 0)
                        sp->failed = true;
                    push(sp, lo->blocks[g->first].start,
                         lo->blocks[g->first + g->n - 1].content_end, text);
                }
            }
            c = d;
        }
        a = b;
    }
    /* what the draft no longer has goes, with its leading comments */
    for (size_t i = 0; i < lo->n_stages; i++) {
        sstage *st = &lo->stages[i];
        bool had = false;
        for (size_t g = 0; g < lo->n_groups; g++)
            had |= lo->groups[g].stage == i && lo->groups[g].n;
        bool whole = !st->drafted && had && st->only_groups && !st->flow;
        if (whole)
            push(sp, st->lead, st->to, strdup(""));
        for (size_t g = 0; g < lo->n_groups; g++) {
            sgroup *gr = &lo->groups[g];
            if (gr->stage != i || gr->drafted || gr->empty)
                continue;
            /* the field edits of a block moved out of it go with the block */
            gr->rebuilt = true;
            if (whole)
                continue;
            if (gr->flow || st->flow)
                fail(sp, "group %s is written in flow style ({...})", gr->key->value);
            else
                push(sp, gr->lead, gr->to, strdup(""));
        }
    }
}

static bool skip_rebuilt(const splicer *sp, const splice *ed, const void *arg)
{
    const layout *lo = arg;
    (void)sp;
    return ed->owner == NONE || !lo->groups[lo->blocks[ed->owner].group].rebuilt;
}

typedef struct src_entry {
    const char *stage, *group, *type;
    const ms_node *args;
} src_entry;

/* The modifiers of `root` as ms_draft_new reads them; false when out of memory. */
static bool entries_of(const ms_node *root, src_entry **out, size_t *n)
{
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    for (size_t st = 0; root && root->kind == MS_NODE_MAP && st < root->count; st++) {
        const ms_node *stage = root->items[st];
        if (!ms_ends_with(root->keys[st]->value, "_stage") || stage->kind != MS_NODE_MAP)
            continue;
        for (size_t g = 0; g < stage->count; g++) {
            const ms_node *group = stage->items[g];
            if (!ms_ends_with(stage->keys[g]->value, "_modifiers") || group->kind != MS_NODE_MAP)
                continue;
            for (size_t k = 0; k < group->count; k++) {
                if (!ms_array_reserve(out, &cap, *n, sizeof **out)) {
                    free(*out);
                    *out = NULL;
                    return false;
                }
                (*out)[(*n)++] = (src_entry){root->keys[st]->value, stage->keys[g]->value,
                                             group->keys[k]->value, group->items[k]};
            }
        }
    }
    return true;
}

/* The safety net: the text loads (as `modsim` reads a YAML file) as the
 * recipe the draft holds. */
static bool reads_back(const ms_draft *s, const char *text, size_t len)
{
    ms_doc *doc;
    ms_diag d;
    ms_diag_clear(&d);
    if (ms_recipe_parse_doc(text, len, s->file, MS_FORMAT_YAML, &doc, &d) != MS_OK) {
        /* no modifiers left: the comments stay, as empty as the exporter's text */
        bool empty =
            !s->count && !s->top_args && ms_doc_parse(text, len, s->file, &doc, &d) == MS_OK;
        if (empty) {
            empty = !ms_doc_root(doc);
            ms_doc_free(doc);
        }
        return empty;
    }
    const ms_node *root = ms_doc_root(doc);
    src_entry *e = NULL;
    size_t n;
    bool same = entries_of(root, &e, &n) && n == s->count;
    const ms_node *args = root && root->kind == MS_NODE_MAP ? ms_node_get(root, "args") : NULL;
    same = same && !args == !s->top_args && (!args || same_value(args, s->top_args));
    for (size_t i = 0; same && i < n; i++)
        same = !strcmp(e[i].stage, s->mods[i].stage_key) &&
               !strcmp(e[i].group, s->mods[i].group_key) && !strcmp(e[i].type, s->mods[i].type) &&
               same_value(e[i].args, s->mods[i].args);
    free(e);
    ms_doc_free(doc);
    return same;
}

/* The source with the draft's edits written into it; NULL (`why` says why)
 * when that cannot be done safely. */
static char *spliced_text(const ms_draft *s, size_t *len, char *why, size_t cap)
{
    const ms_node *root = ms_doc_root(s->source_doc);
    if (!s->source_matched) {
        snprintf(why, cap, "the file's modifiers are not the draft's");
        return NULL;
    }
    if (root && root->kind != MS_NODE_MAP) {
        snprintf(why, cap, "the file is not a map of stages");
        return NULL;
    }
    splicer sp = {.text = s->source, .len = s->source_len};
    layout lo = {0};
    char *out = NULL;
    size_t lines = 0;
    for (size_t b = 0; b < sp.len; b++)
        lines += sp.text[b] == '\n';
    lines += sp.len && sp.text[sp.len - 1] != '\n';
    sp.line_at = malloc((lines + 2) * sizeof *sp.line_at);
    if (!sp.line_at) {
        sp.failed = true;
        goto done;
    }
    size_t l = 0;
    sp.line_at[l++] = 0;
    for (size_t b = 0; b < sp.len; b++)
        if (sp.text[b] == '\n' && b + 1 < sp.len)
            sp.line_at[l++] = b + 1;
    sp.line_at[l] = sp.len;
    sp.lines = sp.len ? l : 0;
    const char *nl = memchr(sp.text, '\n', sp.len);
    sp.crlf = nl && nl > sp.text && nl[-1] == '\r';
    if (!scan(&sp, root, &lo)) {
        sp.failed = true;
        goto done;
    }
    if (lo.n_blocks != s->n_source) {
        fail(&sp, "the file's modifiers are not the draft's");
        goto done;
    }
    for (size_t k = 0; k < lo.n_blocks; k++)
        lo.blocks[k].uid = s->source_uid[k];
    sp.step = indent_step(&lo, NULL);
    /* field edits first, each owned by its block, so a rebuilt group can take them along */
    for (size_t i = 0; i < s->count && !sp.failed; i++) {
        size_t k = find_block(&lo, s->mods[i].uid);
        if (k == NONE)
            continue;
        const sblock *b = &lo.blocks[k];
        const sgroup *g = &lo.groups[b->group];
        if (g->flow) {
            if (!same_value(b->args, s->mods[i].args))
                fail(&sp, "group %s is written in flow style ({...})", g->key->value);
            continue;
        }
        size_t before = sp.count;
        splice_modifier(&sp, g->value, k - g->first, s->mods[i].args);
        for (size_t e = before; e < sp.count; e++)
            sp.edits[e].owner = k;
    }
    if (!sp.failed) {
        if (sp.count)
            qsort(sp.edits, sp.count, sizeof *sp.edits, splice_order);
        restructure(&sp, &lo, s);
    }
    if (sp.failed)
        goto done;
    if (sp.count) /* qsort's pointer must be valid even for no elements */
        qsort(sp.edits, sp.count, sizeof *sp.edits, splice_order);
    FILE *f = open_memstream(&out, len);
    if (!f) {
        sp.failed = true;
        goto done;
    }
    emit_lines(&sp, f, 0, sp.lines, skip_rebuilt, &lo);
    if (fclose(f) != 0)
        sp.failed = true;
    /* the file ends as it did: with its last newline or without */
    bool final = sp.len && sp.text[sp.len - 1] == '\n';
    if (!sp.failed && !final && sp.len && *len && out[*len - 1] == '\n') {
        out[--*len] = '\0';
        if (*len && out[*len - 1] == '\r')
            out[--*len] = '\0';
    }
    if (!sp.failed && !reads_back(s, out, *len))
        fail(&sp, "the spliced text does not read back as the draft");
done:
    for (size_t e = 0; e < sp.count; e++)
        free(sp.edits[e].text);
    free(sp.edits);
    free(sp.line_at);
    layout_free(&lo);
    if (sp.failed) {
        snprintf(why, cap, "%s", sp.why[0] ? sp.why : "out of memory");
        free(out);
        return NULL;
    }
    why[0] = '\0';
    return out;
}

ms_status ms_draft_set_source(ms_draft *s, const char *text, size_t len)
{
    free(s->source);
    ms_doc_free(s->source_doc);
    free(s->source_uid);
    s->source = NULL;
    s->source_doc = NULL;
    s->source_len = 0;
    s->source_uid = NULL;
    s->n_source = 0;
    s->source_matched = false;
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_doc *doc = NULL;
    ms_status st = ms_doc_parse(text, len, s->file, &doc, &diag);
    if (st != MS_OK)
        return st == MS_ERR_NOMEM ? st : MS_OK; /* saving then writes the exporter's layout */
    /* the source's modifiers are the draft's as they are now, in order */
    src_entry *e = NULL;
    size_t n = 0;
    if (!(s->source = malloc(len + 1)) || !entries_of(ms_doc_root(doc), &e, &n) ||
        (n && !(s->source_uid = malloc(n * sizeof *s->source_uid)))) {
        free(s->source);
        s->source = NULL;
        free(e);
        ms_doc_free(doc);
        return MS_ERR_NOMEM;
    }
    bool same = n == s->count;
    for (size_t i = 0; same && i < n; i++)
        same = !strcmp(e[i].stage, s->mods[i].stage_key) &&
               !strcmp(e[i].group, s->mods[i].group_key) && !strcmp(e[i].type, s->mods[i].type);
    for (size_t i = 0; same && i < n; i++)
        s->source_uid[i] = s->mods[i].uid;
    s->source_matched = same;
    if (same) {
        s->n_source = n;
    } else {
        free(s->source_uid);
        s->source_uid = NULL;
    }
    free(e);
    memcpy(s->source, text, len);
    s->source[len] = '\0';
    s->source_len = len;
    s->source_doc = doc;
    return MS_OK;
}

ms_status ms_draft_save_text(const ms_draft *s, char **text, size_t *len, char *why, size_t cap)
{
    snprintf(why, cap, "no source text");
    if (s->source_doc && (*text = spliced_text(s, len, why, cap)))
        return MS_OK;
    return ms_draft_text(s, text, len);
}

ms_status ms_draft_save(ms_draft *s, const char *path, ms_diag *diag)
{
    char *text;
    size_t len;
    ms_status st = ms_draft_save_text(s, &text, &len, s->layout, sizeof s->layout);
    if (st != MS_OK)
        return st;
    st = ms_atomic_write(path, text, len, diag);
    if (st == MS_OK) {
        s->saved_id = s->undo.count ? s->undo.items[s->undo.count - 1].id : 0;
        /* the next save edits the text as saved */
        st = ms_draft_set_source(s, text, len);
    }
    free(text);
    return st;
}

const char *ms_draft_save_layout(const ms_draft *s)
{
    return s->layout;
}

ms_status ms_draft_recipe(const ms_draft *s, ms_recipe **out, ms_diag *diag)
{
    char *text;
    size_t len;
    *out = NULL;
    ms_status st = ms_draft_text(s, &text, &len);
    if (st != MS_OK)
        return st;
    st = ms_recipe_parse(text, len, s->file, 0, 0, NULL, out, diag);
    free(text);
    return st;
}

/* ---- forms ---- */

static void append(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
}

static void field_hint(const ms_schema_field *f, char *buf, size_t cap)
{
    buf[0] = '\0';
    const ms_node *e = f->enum_values;
    if (e && e->kind == MS_NODE_SEQ) {
        for (size_t i = 0; i < e->count; i++)
            append(buf, cap, "%s%s", i ? "|" : "", e->items[i]->value ? e->items[i]->value : "?");
    } else {
        append(buf, cap, "%s", f->types);
    }
    if (f->has_minimum || f->has_maximum) {
        append(buf, cap, ", ");
        if (f->has_minimum)
            append(buf, cap, "%g %s ", f->minimum, f->exclusive_minimum ? "<" : "<=");
        append(buf, cap, "x");
        if (f->has_maximum)
            append(buf, cap, " %s %g", f->exclusive_maximum ? "<" : "<=", f->maximum);
    }
    if (f->default_value && f->default_value->kind == MS_NODE_SCALAR)
        append(buf, cap, ", default %s",
               ms_node_is_null(f->default_value) ? "null" : f->default_value->value);
    if (f->required)
        append(buf, cap, ", required");
}

static bool form_add(ms_form *form, const ms_schema_field *sf, bool known, const ms_node *value)
{
    ms_form_field *fields = realloc(form->fields, (form->count + 1) * sizeof *fields);
    if (!fields)
        return false;
    form->fields = fields;
    ms_form_field *f = &fields[form->count];
    memset(f, 0, sizeof *f);
    f->schema = *sf;
    f->known = known;
    f->set = value != NULL;
    if (flow_text(value, &f->value) != MS_OK)
        return false;
    form->count++;
    if (known)
        field_hint(sf, f->hint, sizeof f->hint);
    else
        snprintf(f->hint, sizeof f->hint, "not a field of %s", form->type);
    return true;
}

ms_status ms_draft_form(const ms_draft *s, size_t i, ms_form *out)
{
    memset(out, 0, sizeof *out);
    if (i >= s->count)
        return MS_ERR_INVALID;
    const mod *m = &s->mods[i];
    const ms_node *args = m->args && m->args->kind == MS_NODE_MAP ? m->args : NULL;
    snprintf(out->type, sizeof out->type, "%s", m->type);
    out->modifier = i;
    ms_schema_field f;
    for (size_t k = 0; ms_schema_field_at(s->schema, m->type, k, &f); k++)
        if (!form_add(out, &f, true, ms_node_get(args, f.name)))
            goto fail;
    for (size_t k = 0; args && k < args->count; k++) {
        bool known = false;
        for (size_t j = 0; j < out->count && !known; j++)
            known = !strcmp(out->fields[j].schema.name, args->keys[k]->value);
        ms_schema_field unknown = {.name = args->keys[k]->value};
        if (!known && !form_add(out, &unknown, false, args->items[k]))
            goto fail;
    }
    return MS_OK;
fail:
    ms_form_free(out);
    return MS_ERR_NOMEM;
}

void ms_form_free(ms_form *form)
{
    for (size_t i = 0; i < form->count; i++)
        free(form->fields[i].value);
    free(form->fields);
    memset(form, 0, sizeof *form);
}

ms_status ms_form_check(const ms_schema *schema, const char *type, const char *field,
                        const char *text, ms_diag *diag)
{
    ms_schema_field f = {0};
    bool known = false;
    for (size_t k = 0; !known && ms_schema_field_at(schema, type, k, &f); k++)
        known = !strcmp(f.name, field);
    ms_node *value = NULL;
    ms_status st = only_space(text) ? MS_OK : parse_value(text, field, &value, diag);
    if (st != MS_OK)
        return st;
    if (!value) {
        if (!known || !f.required)
            return MS_OK;
        st = ms_diag_set(diag, MS_ERR_INVALID, "E-REQUIRED", NULL, 0, 0, "%s.%s is required", type,
                         field);
        ms_diag_hint(diag, "write a %s", f.types);
        return st;
    }
    ms_diag_list list;
    ms_diag_list_init(&list);
    st = ms_schema_validate_field(schema, type, field, value, NULL, &list);
    for (size_t i = 0; st == MS_OK && i < list.count; i++)
        if (list.items[i].severity == MS_SEV_ERROR) {
            if (diag)
                *diag = list.items[i];
            st = MS_ERR_INVALID;
        }
    ms_diag_list_free(&list);
    node_free(value);
    return st;
}

bool ms_form_enum_cycle(const ms_form_field *field, const char *current, int step, char *out,
                        size_t cap)
{
    const ms_node *e = field->schema.enum_values;
    if (!e || e->kind != MS_NODE_SEQ || !e->count)
        return false;
    size_t n = e->count, at = SIZE_MAX;
    for (size_t i = 0; i < n && at == SIZE_MAX; i++)
        if (e->items[i]->value && !strcmp(e->items[i]->value, current))
            at = i;
    size_t next = at == SIZE_MAX ? (step > 0 ? 0 : n - 1) : (at + n + (step > 0 ? 1 : n - 1)) % n;
    const ms_node *v = e->items[next];
    snprintf(out, cap, "%s", v->value ? (ms_node_is_null(v) ? "null" : v->value) : "");
    return true;
}
