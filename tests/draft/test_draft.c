/* The draft editor's model without a terminal: every edit and its
 * undo/redo, dirty tracking, diagnostics placed on modifiers and fields,
 * forms and their validation, and save → load round trips. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "recipe/export.h"
#include "recipe/lint.h"
#include "draft/draft.h"

static const char *samples_dir = "samples/recipes";

static const char demo[] = "train_stage:\n"
                           "  pruning_modifiers:\n"
                           "    MagnitudePruningModifier:\n"
                           "      start: 0.25\n"
                           "      end: 1.5\n"
                           "      init_sparsity: 0.05\n"
                           "      final_sparsity: 0.6\n"
                           "      targets: [\"re:.*q_proj.weight\"]\n"
                           "    ConstantPruningModifier:\n"
                           "      start: 1.5\n"
                           "      end: 1.75\n"
                           "      targets: [w]\n"
                           "oneshot_stage:\n"
                           "  smoothing_modifiers:\n"
                           "    SmoothQuantModifier:\n"
                           "      smoothing_strength: 0.8\n"
                           "  quant_modifiers:\n"
                           "    GPTQModifier:\n"
                           "      scheme: W4A16\n"
                           "      targets: [Linear]\n";

typedef struct fixture {
    ms_schema *schema;
    ms_recipe *recipe;
    ms_draft *s;
} fixture;

static ms_draft *draft_of(fixture *f, const char *text)
{
    ms_diag diag;
    ms_recipe_free(f->recipe);
    ms_draft_free(f->s);
    assert_int_equal(
        ms_recipe_parse(text, strlen(text), "test.yaml", 0, 0, NULL, &f->recipe, &diag), MS_OK);
    assert_int_equal(ms_draft_new(f->schema, f->recipe, "test.yaml", &f->s, &diag), MS_OK);
    return f->s;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    ms_diag diag;
    if (!f || ms_schema_new(&f->schema, &diag) != MS_OK)
        return -1;
    draft_of(f, demo);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ms_draft_free(f->s);
    ms_recipe_free(f->recipe);
    ms_schema_free(f->schema);
    free(f);
    return 0;
}

static char *text_of(const ms_draft *s)
{
    char *text;
    size_t len;
    assert_int_equal(ms_draft_text(s, &text, &len), MS_OK);
    assert_int_equal(strlen(text), len);
    return text;
}

/* The flow text of field `field` of modifier `i`, or "" when unset. */
static const char *field_text(const ms_draft *s, size_t i, const char *field)
{
    static char buf[256];
    const ms_node *v = ms_node_get(ms_draft_args(s, i), field);
    buf[0] = '\0';
    if (v) {
        FILE *f = fmemopen(buf, sizeof buf, "w");
        assert_int_equal(ms_export_flow(v, f), MS_OK);
        fclose(f);
    }
    return buf;
}

static size_t errors(const ms_draft *s)
{
    size_t n = 0;
    for (size_t i = 0; i < ms_draft_diag_count(s); i++)
        n += ms_draft_diag_at(s, i)->diag.severity == MS_SEV_ERROR;
    return n;
}

/* The first diagnostic with `code`. */
static const ms_draft_diag *find(const ms_draft *s, const char *code)
{
    for (size_t i = 0; i < ms_draft_diag_count(s); i++)
        if (!strcmp(ms_draft_diag_at(s, i)->diag.code, code))
            return ms_draft_diag_at(s, i);
    return NULL;
}

static void draft_builds_the_tree_of_the_recipe(void **state)
{
    ms_draft *s = ((fixture *)*state)->s;
    assert_int_equal(ms_draft_count(s), 4);
    assert_string_equal(ms_draft_type(s, 0), "MagnitudePruningModifier");
    assert_string_equal(ms_draft_stage(s, 0), "train");
    assert_string_equal(ms_draft_group(s, 0), "pruning");
    assert_string_equal(ms_draft_stage(s, 3), "oneshot");
    assert_string_equal(ms_draft_group(s, 3), "quant");
    assert_string_equal(field_text(s, 0, "start"), "0.25");
    assert_false(ms_draft_dirty(s));
    assert_false(ms_draft_can_undo(s));
    assert_int_equal(errors(s), 0);
    /* the lint's warnings, placed on modifiers and fields */
    const ms_draft_diag *d = find(s, "W-START-NEVER");
    assert_non_null(d);
    assert_int_equal(d->modifier, 0);
    assert_string_equal(d->field, "start");
    d = find(s, "W-STAGES-FLAT");
    assert_int_equal(d->modifier, -1);
    assert_null(ms_draft_type(s, 4));
}

/* The draft writes what `modsim export` writes, for every sample. */
static void draft_text_is_the_export_of_every_sample(void **state)
{
    fixture *f = *state;
    DIR *dir = opendir(samples_dir);
    assert_non_null(dir);
    int checked = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 5, ".yaml"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", samples_dir, de->d_name);
        ms_doc *doc;
        ms_recipe *r;
        ms_diag diag;
        if (ms_recipe_read_doc(path, &doc, &diag) != MS_OK)
            continue;
        assert_int_equal(ms_recipe_from_doc(doc, NULL, &r, &diag), MS_OK);
        char *want = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&want, &len);
        ms_status exported = ms_export_recipe(f->schema, r, out);
        fclose(out);
        ms_draft *s;
        assert_int_equal(ms_draft_new(f->schema, r, path, &s, &diag), MS_OK);
        if (exported == MS_OK) {
            char *got = text_of(s);
            /* stages without modifiers are not part of a draft */
            if (!strstr(want, "_stage: {}"))
                assert_string_equal(got, want);
            free(got);
            checked++;
        }
        ms_draft_free(s);
        ms_recipe_free(r);
        free(want);
    }
    closedir(dir);
    assert_true(checked >= 30);
}

static void draft_set_field_undo_redo(void **state)
{
    ms_draft *s = ((fixture *)*state)->s;
    char *before = text_of(s);
    ms_diag diag;
    assert_int_equal(ms_draft_set_field(s, 0, "start", "0.5", &diag), MS_OK);
    assert_string_equal(field_text(s, 0, "start"), "0.5");
    assert_true(ms_draft_dirty(s));
    assert_string_equal(ms_draft_undo_label(s), "set start of 0 MagnitudePruningModifier");
    size_t at = 99;
    assert_int_equal(ms_draft_undo(s, &at, &diag), MS_OK);
    assert_int_equal(at, 0);
    assert_string_equal(field_text(s, 0, "start"), "0.25");
    assert_false(ms_draft_dirty(s));
    char *after = text_of(s);
    assert_string_equal(after, before);
    free(after);
    assert_true(ms_draft_can_redo(s));
    assert_int_equal(ms_draft_redo(s, &at, &diag), MS_OK);
    assert_string_equal(field_text(s, 0, "start"), "0.5");
    assert_true(ms_draft_dirty(s));
    assert_false(ms_draft_can_redo(s));
    assert_int_equal(ms_draft_redo(s, &at, &diag), MS_ERR_INVALID);
    free(before);
}

static void draft_set_field_adds_unsets_and_ignores_no_change(void **state)
{
    ms_draft *s = ((fixture *)*state)->s;
    ms_diag diag;
    assert_int_equal(ms_draft_set_field(s, 0, "start", "0.25", &diag), MS_OK);
    assert_false(ms_draft_can_undo(s));
    assert_int_equal(ms_draft_set_field(s, 3, "block_size", "64", &diag), MS_OK);
    assert_string_equal(field_text(s, 3, "block_size"), "64");
    assert_int_equal(ms_draft_set_field(s, 0, "end", "", &diag), MS_OK);
    assert_string_equal(field_text(s, 0, "end"), "");
    assert_string_equal(ms_draft_undo_label(s), "unset end of 0 MagnitudePruningModifier");
    assert_int_equal(ms_draft_set_field(s, 3, "targets", "[Linear, Embedding]", &diag), MS_OK);
    assert_string_equal(field_text(s, 3, "targets"), "[Linear, Embedding]");
    /* the field keeps its place among the others */
    assert_string_equal(ms_draft_args(s, 3)->keys[1]->value, "targets");
    assert_int_equal(ms_draft_set_field(s, 3, "targets", "[a, ", &diag), MS_ERR_SYNTAX);
    assert_string_equal(diag.code, "E-YAML");
    assert_int_equal(ms_draft_set_field(s, 9, "start", "1", &diag), MS_ERR_INVALID);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ms_draft_undo(s, NULL, &diag), MS_OK);
    assert_false(ms_draft_dirty(s));
    assert_int_equal(ms_draft_undo(s, NULL, &diag), MS_ERR_INVALID);
}

/* The form's one-key fix of a misspelt field: the value and place stay,
 * the error goes, undo brings the misspelling back. */
static void draft_rename_field_keeps_value_and_place(void **state)
{
    ms_draft *s = ((fixture *)*state)->s;
    ms_diag diag;
    assert_int_equal(ms_draft_set_field(s, 3, "blocksize", "64", &diag), MS_OK);
    assert_non_null(find(s, "E-FIELD-UNKNOWN"));
    size_t place = 0;
    while (strcmp(ms_draft_args(s, 3)->keys[place]->value, "blocksize"))
        place++;
    assert_int_equal(ms_draft_rename_field(s, 3, "blocksize", "block_size", &diag), MS_OK);
    assert_string_equal(field_text(s, 3, "block_size"), "64");
    assert_string_equal(ms_draft_args(s, 3)->keys[place]->value, "block_size");
    assert_null(find(s, "E-FIELD-UNKNOWN"));
    assert_string_equal(ms_draft_undo_label(s), "rename blocksize to block_size of 3 GPTQModifier");
    /* a name already given is refused, and so is a field that is not there */
    assert_int_equal(ms_draft_rename_field(s, 3, "block_size", "scheme", &diag), MS_ERR_INVALID);
    assert_non_null(strstr(diag.message, "already given"));
    assert_int_equal(ms_draft_rename_field(s, 3, "nosuch", "start", &diag), MS_ERR_INVALID);
    assert_int_equal(ms_draft_undo(s, NULL, &diag), MS_OK);
    assert_string_equal(field_text(s, 3, "blocksize"), "64");
}

static void draft_add_joins_the_group_or_opens_one(void **state)
{
    ms_draft *s = ((fixture *)*state)->s;
    ms_diag diag;
    size_t at;
    assert_int_equal(ms_draft_add(s, 3, "QuantizationModifier", &at, &diag), MS_OK);
    assert_int_equal(at, 4);
    assert_string_equal(ms_draft_group(s, 4), "quant");
    assert_int_equal(ms_draft_args(s, 4)->kind, MS_NODE_MAP);
    /* the pruning group already has a ConstantPruningModifier */
    assert_int_equal(ms_draft_add(s, 0, "ConstantPruningModifier", &at, &diag), MS_OK);
    assert_int_equal(at, 2);
    assert_string_equal(ms_draft_group(s, 2), "pruning_2");
    assert_string_equal(ms_draft_stage(s, 2), "train");
    /* a ConstantPruningModifier needs targets */
    const ms_draft_diag *d = find(s, "E-REQUIRED");
    assert_non_null(d);
    assert_int_equal(d->modifier, 2);
    assert_string_equal(d->field, "targets");
    assert_int_equal(ms_draft_add(s, 0, "GPTQModifer", &at, &diag), MS_ERR_INVALID);
    assert_string_equal(diag.code, "E-TYPE-UNKNOWN");
    assert_string_equal(diag.hint, "did you mean 'GPTQModifier'?");
    assert_int_equal(ms_draft_undo(s, &at, &diag), MS_OK);
    assert_int_equal(ms_draft_count(s), 5);
    assert_int_equal(ms_draft_undo(s, &at, &diag), MS_OK);
    assert_int_equal(ms_draft_count(s), 4);
    assert_false(ms_draft_dirty(s));
}

static void draft_add_to_an_empty_schedule(void **state)
{
    fixture *f = *state;
    ms_draft *s = draft_of(f, "args: {}\n");
    ms_diag diag;
    size_t at;
    assert_int_equal(ms_draft_count(s), 0);
    assert_int_equal(ms_draft_add(s, SIZE_MAX, "GPTQModifier", &at, &diag), MS_OK);
    assert_int_equal(at, 0);
    assert_string_equal(ms_draft_stage(s, 0), "oneshot");
    char *text = text_of(s);
    assert_string_equal(text, "args: {}\noneshot_stage:\n  default_modifiers:\n"
                              "    GPTQModifier: {}\n");
    free(text);
}

static void draft_delete_and_undo(void **state)
{
    ms_draft *s = ((fixture *)*state)->s;
    char *before = text_of(s);
    ms_diag diag;
    assert_int_equal(ms_draft_delete(s, 2, &diag), MS_OK);
    assert_int_equal(ms_draft_count(s), 3);
    assert_string_equal(ms_draft_type(s, 2), "GPTQModifier");
    char *text = text_of(s);
    assert_null(strstr(text, "smoothing_modifiers"));
    free(text);
    assert_int_equal(ms_draft_delete(s, 3, &diag), MS_ERR_INVALID);
    size_t at;
    assert_int_equal(ms_draft_undo(s, &at, &diag), MS_OK);
    assert_int_equal(at, 2);
    text = text_of(s);
    assert_string_equal(text, before);
    free(text);
    free(before);
}

static void draft_duplicate_goes_to_a_new_group(void **state)
{
    ms_draft *s = ((fixture *)*state)->s;
    ms_diag diag;
    size_t at;
    assert_int_equal(ms_draft_duplicate(s, 0, &at, &diag), MS_OK);
    assert_int_equal(at, 2);
    assert_string_equal(ms_draft_type(s, 2), "MagnitudePruningModifier");
    assert_string_equal(ms_draft_group(s, 2), "pruning_2");
    assert_string_equal(field_text(s, 2, "start"), "0.25");
    assert_int_equal(ms_draft_duplicate(s, 0, &at, &diag), MS_OK);
    assert_string_equal(ms_draft_group(s, at), "pruning_3");
    assert_int_equal(errors(s), 0);
    assert_int_equal(ms_draft_undo(s, NULL, &diag), MS_OK);
    assert_int_equal(ms_draft_undo(s, NULL, &diag), MS_OK);
    assert_int_equal(ms_draft_count(s), 4);
}

static void draft_move_swaps_inside_a_group_and_crosses_edges(void **state)
{
    ms_draft *s = ((fixture *)*state)->s;
    char *before = text_of(s);
    ms_diag diag;
    size_t at;
    assert_int_equal(ms_draft_move(s, 1, true, &at, &diag), MS_OK);
    assert_int_equal(at, 0);
    assert_string_equal(ms_draft_type(s, 0), "ConstantPruningModifier");
    assert_string_equal(ms_draft_type(s, 1), "MagnitudePruningModifier");
    assert_int_equal(ms_draft_move(s, 0, true, &at, &diag), MS_ERR_INVALID);
    assert_string_equal(diag.code, "E-MOVE");
    /* SmoothQuant down: joins the quant group, keeps its place */
    assert_int_equal(ms_draft_move(s, 2, false, &at, &diag), MS_OK);
    assert_int_equal(at, 2);
    assert_string_equal(ms_draft_group(s, 2), "quant");
    assert_int_equal(ms_draft_move(s, 2, false, &at, &diag), MS_OK);
    assert_int_equal(at, 3);
    assert_string_equal(ms_draft_type(s, 3), "SmoothQuantModifier");
    assert_int_equal(ms_draft_move(s, 3, false, &at, &diag), MS_ERR_INVALID);
    /* GPTQ up out of the oneshot stage into the pruning group */
    assert_int_equal(ms_draft_move(s, 2, true, &at, &diag), MS_OK);
    assert_string_equal(ms_draft_stage(s, 2), "train");
    assert_string_equal(ms_draft_group(s, 2), "pruning");
    for (int i = 0; i < 4; i++)
        assert_int_equal(ms_draft_undo(s, NULL, &diag), MS_OK);
    char *text = text_of(s);
    assert_string_equal(text, before);
    free(text);
    free(before);
}

static void draft_move_refuses_a_second_modifier_of_a_type(void **state)
{
    fixture *f = *state;
    ms_draft *s = draft_of(f, "a_stage:\n  x_modifiers:\n    GPTQModifier: {scheme: W8A8}\n"
                              "  y_modifiers:\n    GPTQModifier: {scheme: W4A16}\n");
    ms_diag diag;
    size_t at;
    assert_int_equal(ms_draft_move(s, 1, true, &at, &diag), MS_ERR_INVALID);
    assert_string_equal(diag.message, "group x of stage a already has a GPTQModifier");
    assert_false(ms_draft_can_undo(s));
}

static void draft_dirty_follows_the_saved_state(void **state)
{
    ms_draft *s = ((fixture *)*state)->s;
    ms_diag diag;
    char path[] = "/tmp/modsim-draft-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ms_draft_set_field(s, 0, "start", "0.5", &diag), MS_OK);
    assert_int_equal(ms_draft_save(s, path, &diag), MS_OK);
    assert_false(ms_draft_dirty(s));
    assert_int_equal(ms_draft_set_field(s, 0, "end", "1.25", &diag), MS_OK);
    assert_true(ms_draft_dirty(s));
    assert_int_equal(ms_draft_undo(s, NULL, &diag), MS_OK);
    assert_false(ms_draft_dirty(s)); /* back at the saved state */
    assert_int_equal(ms_draft_undo(s, NULL, &diag), MS_OK);
    assert_true(ms_draft_dirty(s)); /* before it */
    assert_int_equal(ms_draft_redo(s, NULL, &diag), MS_OK);
    assert_false(ms_draft_dirty(s));
    /* a new edit after an undo makes the saved state unreachable */
    assert_int_equal(ms_draft_undo(s, NULL, &diag), MS_OK);
    assert_int_equal(ms_draft_set_field(s, 0, "start", "0.5", &diag), MS_OK);
    assert_false(ms_draft_can_redo(s));
    assert_true(ms_draft_dirty(s));
    unlink(path);
    assert_int_equal(ms_draft_save(s, "/nonexistent-dir/x.yaml", &diag), MS_ERR_IO);
    assert_string_equal(diag.code, "E-IO");
    assert_true(ms_draft_dirty(s));
}

static void draft_save_and_load_round_trip(void **state)
{
    fixture *f = *state;
    ms_draft *s = f->s;
    ms_diag diag;
    char path[] = "/tmp/modsim-draft-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ms_draft_set_field(s, 1, "start", "1.25", &diag), MS_OK);
    assert_int_equal(ms_draft_duplicate(s, 3, NULL, &diag), MS_OK);
    assert_int_equal(ms_draft_save(s, path, &diag), MS_OK);
    ms_diag_list list;
    ms_diag_list_init(&list);
    assert_int_equal(ms_lint_file(f->schema, path, NULL, &list), MS_OK);
    assert_int_equal(ms_diag_list_count(&list, MS_SEV_ERROR), 0);
    ms_diag_list_free(&list);
    ms_recipe *r;
    assert_int_equal(ms_recipe_load_file(path, NULL, &r, &diag), MS_OK);
    ms_draft *again;
    assert_int_equal(ms_draft_new(f->schema, r, path, &again, &diag), MS_OK);
    char *a = text_of(s), *b = text_of(again);
    assert_string_equal(a, b);
    assert_string_equal(field_text(again, 1, "start"), "1.25");
    assert_int_equal(ms_draft_count(again), 5);
    free(a);
    free(b);
    ms_draft_free(again);
    ms_recipe_free(r);
    unlink(path);
}

static void draft_recipe_carries_the_edits(void **state)
{
    ms_draft *s = ((fixture *)*state)->s;
    ms_diag diag;
    assert_int_equal(ms_draft_set_field(s, 1, "start", "1.25", &diag), MS_OK);
    ms_recipe *r;
    assert_int_equal(ms_draft_recipe(s, &r, &diag), MS_OK);
    ms_modifier **mods;
    size_t n;
    assert_int_equal(ms_recipe_build_modifiers(r, &mods, &n, &diag), MS_OK);
    assert_int_equal(n, 4);
    assert_true(ms_modifier_start(mods[1]).set);
    assert_true(ms_modifier_start(mods[1]).value == 1.25);
    for (size_t i = 0; i < n; i++)
        ms_modifier_free(mods[i]);
    free(mods);
    ms_recipe_free(r);
}

static void draft_diagnostics_name_modifier_and_field(void **state)
{
    ms_draft *s = ((fixture *)*state)->s;
    ms_diag diag;
    assert_int_equal(ms_draft_set_field(s, 0, "final_sparsity", "2", &diag), MS_OK);
    assert_int_equal(ms_draft_set_field(s, 3, "scheme", "W9A9", &diag), MS_OK);
    assert_int_equal(errors(s), 2);
    const ms_draft_diag *d = find(s, "E-BOUNDS");
    assert_non_null(d);
    assert_int_equal(d->modifier, 0);
    assert_string_equal(d->field, "final_sparsity");
    d = find(s, "E-ENUM");
    assert_non_null(d);
    assert_int_equal(d->modifier, 3);
    assert_string_equal(d->field, "scheme");
    assert_int_equal(ms_draft_undo(s, NULL, &diag), MS_OK);
    assert_int_equal(ms_draft_undo(s, NULL, &diag), MS_OK);
    assert_int_equal(errors(s), 0);
    assert_null(ms_draft_diag_at(s, ms_draft_diag_count(s)));
}

/* What upstream raises from a hook is a note in the draft, as when the
 * recipe was opened: an edit does not stop the simulation; the warnings
 * follow the run they are given */
static void draft_keeps_raises_at_initialize_as_notes_and_follows_the_run(void **state)
{
    fixture *f = *state;
    ms_draft *s = draft_of(f, "q_stage:\n  q_modifiers:\n    QuantizationModifier: {}\n");
    const ms_draft_diag *d = find(s, "E-INITIALIZE");
    assert_non_null(d);
    assert_int_equal(d->diag.severity, MS_SEV_NOTE);
    assert_int_equal(errors(s), 0);
    s = draft_of(f, demo);
    assert_non_null(find(s, "W-START-NEVER"));
    ms_lint_run intended = {.training_loop = true, .calibration = true, .intended_index = true};
    assert_int_equal(ms_draft_set_run(s, &intended), MS_OK);
    assert_null(find(s, "W-START-NEVER"));
}

static void form_lists_schema_fields_with_values_and_hints(void **state)
{
    fixture *f = *state;
    ms_draft *s = f->s;
    ms_diag diag;
    assert_int_equal(ms_draft_set_field(s, 0, "mystery", "7", &diag), MS_OK);
    ms_form form;
    assert_int_equal(ms_draft_form(s, 0, &form), MS_OK);
    assert_string_equal(form.type, "MagnitudePruningModifier");
    assert_int_equal(form.count, ms_schema_field_count(f->schema, form.type) + 1);
    const ms_form_field *start = NULL, *final = NULL, *sched = NULL;
    for (size_t i = 0; i < form.count; i++) {
        const char *name = form.fields[i].schema.name;
        if (!strcmp(name, "start"))
            start = &form.fields[i];
        else if (!strcmp(name, "final_sparsity"))
            final = &form.fields[i];
        else if (!strcmp(name, "update_scheduler"))
            sched = &form.fields[i];
    }
    assert_non_null(start);
    assert_string_equal(start->value, "0.25");
    assert_true(start->set);
    assert_string_equal(start->hint, "number|null, default null");
    assert_string_equal(final->hint, "number, 0 <= x <= 1, required");
    assert_false(sched->set);
    assert_string_equal(sched->value, "");
    assert_non_null(strstr(sched->hint, "linear|cubic"));
    assert_non_null(strstr(sched->hint, "default cubic"));
    const ms_form_field *last = &form.fields[form.count - 1];
    assert_string_equal(last->schema.name, "mystery");
    assert_false(last->known);
    assert_string_equal(last->value, "7");
    char next[64];
    assert_true(ms_form_enum_cycle(sched, "cubic", 1, next, sizeof next));
    assert_string_equal(next, "polynomial_decay");
    assert_true(ms_form_enum_cycle(sched, "linear", -1, next, sizeof next));
    assert_string_equal(next, "multi_step");
    assert_true(ms_form_enum_cycle(sched, "", 1, next, sizeof next));
    assert_string_equal(next, "linear");
    assert_false(ms_form_enum_cycle(start, "0.25", 1, next, sizeof next));
    ms_form_free(&form);
    assert_int_equal(ms_draft_form(s, 9, &form), MS_ERR_INVALID);
}

static void form_check_reports_what_would_be_valid(void **state)
{
    const ms_schema *schema = ((fixture *)*state)->schema;
    const char *mp = "MagnitudePruningModifier";
    ms_diag d;
    assert_int_equal(ms_form_check(schema, mp, "final_sparsity", "0.7", &d), MS_OK);
    assert_int_equal(ms_form_check(schema, mp, "start", "", &d), MS_OK);
    /* out of bounds */
    assert_int_equal(ms_form_check(schema, mp, "final_sparsity", "1.5", &d), MS_ERR_INVALID);
    assert_string_equal(d.code, "E-BOUNDS");
    assert_string_equal(d.message,
                        "MagnitudePruningModifier.final_sparsity must be at most 1, not 1.5");
    assert_string_equal(d.hint, "use a value at most 1");
    /* wrong type */
    assert_int_equal(ms_form_check(schema, mp, "start", "soon", &d), MS_ERR_INVALID);
    assert_string_equal(d.code, "E-TYPE");
    assert_non_null(strstr(d.message, "must be number or null"));
    /* enum */
    assert_int_equal(ms_form_check(schema, "GPTQModifier", "scheme", "W9A9", &d), MS_ERR_INVALID);
    assert_int_equal(ms_form_check(schema, "GPTQModifier", "scheme", "w4a16", &d), MS_OK);
    assert_int_equal(ms_form_check(schema, "QuantizationModifier", "scheme", "W4A61", &d),
                     MS_ERR_INVALID);
    /* required and empty */
    assert_int_equal(ms_form_check(schema, mp, "targets", "  ", &d), MS_ERR_INVALID);
    assert_string_equal(d.code, "E-REQUIRED");
    assert_string_equal(d.message, "MagnitudePruningModifier.targets is required");
    /* not YAML */
    assert_int_equal(ms_form_check(schema, mp, "targets", "[a, b", &d), MS_ERR_SYNTAX);
    assert_string_equal(d.code, "E-YAML");
    /* fields the schema does not know are left to the lint */
    assert_int_equal(ms_form_check(schema, mp, "mystery", "1", &d), MS_OK);
}

/* A save writes the edited spans into the text the user wrote: comments,
 * blank lines, quoting and the order of untouched keys stay; an edited value
 * keeps its line and inline comment, an unset field loses its lines, a new
 * one goes after the last, a rename keeps its place; nested maps are edited
 * inside. Adding a modifier falls back to the exporter's layout, saying so. */
static const char commented[] = "# my recipe\n"
                                "train_stage:\n"
                                "  pruning_modifiers:\n"
                                "    MagnitudePruningModifier:\n"
                                "      end: 1.5   # stop here\n"
                                "      start: 0.25\n"
                                "\n"
                                "      # the sparsity ramp\n"
                                "      init_sparsity: 0.05\n"
                                "      final_sparsity: 0.6\n"
                                "      targets:\n"
                                "      - 're:.*q_proj.weight'\n"
                                "\n"
                                "oneshot_stage:   # after training\n"
                                "  quant_modifiers:\n"
                                "    GPTQModifier: {}\n"
                                "    QuantizationModifier:\n"
                                "      config_groups:\n"
                                "        group_0:\n"
                                "          targets: [Linear]   # all of them\n"
                                "          weights: {num_bits: 4, type: int}\n";

static char *saved_text(ms_draft *s, char *why, size_t cap)
{
    char *text;
    size_t len;
    assert_int_equal(ms_draft_save_text(s, &text, &len, why, cap), MS_OK);
    assert_int_equal(strlen(text), len);
    return text;
}

static void draft_save_keeps_what_the_user_wrote(void **state)
{
    fixture *f = *state;
    ms_draft *s = draft_of(f, commented);
    ms_diag diag;
    char why[160], *text;
    assert_int_equal(ms_draft_set_source(s, commented, strlen(commented)), MS_OK);
    text = saved_text(s, why, sizeof why);
    assert_string_equal(why, "");
    assert_string_equal(text, commented); /* nothing edited: the text as written */
    free(text);
    assert_int_equal(ms_draft_set_field(s, 0, "end", "1.75", &diag), MS_OK);
    assert_int_equal(ms_draft_set_field(s, 0, "init_sparsity", "", &diag), MS_OK);
    assert_int_equal(ms_draft_set_field(s, 0, "update", "0.5", &diag), MS_OK);
    assert_int_equal(ms_draft_rename_field(s, 0, "final_sparsity", "finalsparsity", &diag), MS_OK);
    assert_int_equal(ms_draft_set_field(s, 1, "ignore", "[lm_head]", &diag), MS_OK);
    assert_int_equal(
        ms_draft_set_field(s, 2, "config_groups",
                           "{group_0: {targets: [Linear], weights: {num_bits: 8, type: int}}}",
                           &diag),
        MS_OK);
    text = saved_text(s, why, sizeof why);
    assert_string_equal(why, "");
    assert_string_equal(text, "# my recipe\n"
                              "train_stage:\n"
                              "  pruning_modifiers:\n"
                              "    MagnitudePruningModifier:\n"
                              "      end: 1.75   # stop here\n"
                              "      start: 0.25\n"
                              "\n"
                              "      # the sparsity ramp\n"
                              "      finalsparsity: 0.6\n"
                              "      targets:\n"
                              "      - 're:.*q_proj.weight'\n"
                              "      update: 0.5\n"
                              "\n"
                              "oneshot_stage:   # after training\n"
                              "  quant_modifiers:\n"
                              "    GPTQModifier:\n"
                              "      ignore: [lm_head]\n"
                              "    QuantizationModifier:\n"
                              "      config_groups:\n"
                              "        group_0:\n"
                              "          targets: [Linear]   # all of them\n"
                              "          weights: {num_bits: 8, type: int}\n");
    /* and it reads back as the draft */
    ms_recipe *r;
    ms_draft *again;
    assert_int_equal(ms_recipe_parse(text, strlen(text), "saved.yaml", 0, 0, NULL, &r, &diag),
                     MS_OK);
    assert_int_equal(ms_draft_new(f->schema, r, "saved.yaml", &again, &diag), MS_OK);
    char *a = text_of(s), *b = text_of(again);
    assert_string_equal(a, b);
    free(a);
    free(b);
    ms_draft_free(again);
    ms_recipe_free(r);
    free(text);
    /* a structural edit is spliced too: the new modifier after its sibling,
     * in its indentation, the field edits and every comment kept */
    assert_int_equal(ms_draft_add(s, 0, "ConstantPruningModifier", NULL, &diag), MS_OK);
    text = saved_text(s, why, sizeof why);
    assert_string_equal(why, "");
    assert_non_null(strstr(text, "# my recipe\n"));
    assert_non_null(strstr(text, "      update: 0.5\n"
                                 "    ConstantPruningModifier: {}\n"
                                 "\n"
                                 "oneshot_stage:   # after training\n"));
    free(text);
}

/* A draft of `text` with `text` as its source. */
static ms_draft *sourced(fixture *f, const char *text)
{
    ms_draft *s = draft_of(f, text);
    assert_int_equal(ms_draft_set_source(s, text, strlen(text)), MS_OK);
    return s;
}

/* What a save writes now, checked to have been spliced (`why` empty) and
 * to read back as the draft. */
static char *spliced(fixture *f, ms_draft *s)
{
    char why[160];
    char *text = saved_text(s, why, sizeof why);
    assert_string_equal(why, "");
    ms_recipe *r;
    ms_draft *again;
    ms_diag diag;
    assert_int_equal(ms_recipe_parse(text, strlen(text), "saved.yaml", 0, 0, NULL, &r, &diag),
                     MS_OK);
    assert_int_equal(ms_draft_new(f->schema, r, "saved.yaml", &again, &diag), MS_OK);
    char *a = text_of(s), *b = text_of(again);
    assert_string_equal(a, b);
    free(a);
    free(b);
    ms_draft_free(again);
    ms_recipe_free(r);
    return text;
}

static const char blocks[] = "# my recipe\n"
                             "train_stage:\n"
                             "  pruning_modifiers:\n"
                             "    # the ramp\n"
                             "    MagnitudePruningModifier:\n"
                             "      start: 0.25\n"
                             "      end: 1.5   # stop here\n"
                             "      targets: ['re:.*q_proj.weight']\n"
                             "      # init_sparsity: 0.1\n"
                             "\n"
                             "    # hold it\n"
                             "    ConstantPruningModifier:\n"
                             "      start: 1.5\n"
                             "      targets: [w]\n"
                             "\n"
                             "oneshot_stage:   # after training\n"
                             "  smoothing_modifiers:\n"
                             "    SmoothQuantModifier:\n"
                             "      smoothing_strength: 0.8\n"
                             "  quant_modifiers:\n"
                             "    # quantize\n"
                             "    GPTQModifier:\n"
                             "      scheme: W4A16\n"
                             "      targets: [Linear]\n";

static void draft_save_deletes_a_block_with_its_comments(void **state)
{
    fixture *f = *state;
    ms_draft *s = sourced(f, blocks);
    ms_diag diag;
    assert_int_equal(ms_draft_delete(s, 1, &diag), MS_OK); /* ConstantPruningModifier */
    char *text = spliced(f, s);
    assert_string_equal(text, "# my recipe\n"
                              "train_stage:\n"
                              "  pruning_modifiers:\n"
                              "    # the ramp\n"
                              "    MagnitudePruningModifier:\n"
                              "      start: 0.25\n"
                              "      end: 1.5   # stop here\n"
                              "      targets: ['re:.*q_proj.weight']\n"
                              "      # init_sparsity: 0.1\n"
                              "\n"
                              "oneshot_stage:   # after training\n"
                              "  smoothing_modifiers:\n"
                              "    SmoothQuantModifier:\n"
                              "      smoothing_strength: 0.8\n"
                              "  quant_modifiers:\n"
                              "    # quantize\n"
                              "    GPTQModifier:\n"
                              "      scheme: W4A16\n"
                              "      targets: [Linear]\n");
    free(text);
    /* the last modifier of a group: the group goes with it */
    assert_int_equal(ms_draft_delete(s, 1, &diag), MS_OK); /* SmoothQuantModifier */
    text = spliced(f, s);
    assert_non_null(strstr(text, "oneshot_stage:   # after training\n"
                                 "  quant_modifiers:\n"
                                 "    # quantize\n"));
    assert_null(strstr(text, "smoothing"));
    free(text);
    /* every modifier of a stage: the stage goes */
    assert_int_equal(ms_draft_delete(s, 0, &diag), MS_OK);
    text = spliced(f, s);
    assert_string_equal(text, "# my recipe\n"
                              "\n"
                              "oneshot_stage:   # after training\n"
                              "  quant_modifiers:\n"
                              "    # quantize\n"
                              "    GPTQModifier:\n"
                              "      scheme: W4A16\n"
                              "      targets: [Linear]\n");
    free(text);
    /* and the last one: the file's own comments stay */
    assert_int_equal(ms_draft_delete(s, 0, &diag), MS_OK);
    text = spliced(f, s);
    assert_string_equal(text, "# my recipe\n\n");
    free(text);
}

static void draft_save_moves_blocks_with_their_comments(void **state)
{
    fixture *f = *state;
    ms_draft *s = sourced(f, blocks);
    ms_diag diag;
    size_t at;
    const char *moved = "# my recipe\n"
                        "train_stage:\n"
                        "  pruning_modifiers:\n"
                        "    # hold it\n"
                        "    ConstantPruningModifier:\n"
                        "      start: 1.25\n"
                        "      targets: [w]\n"
                        "\n"
                        "    # the ramp\n"
                        "    MagnitudePruningModifier:\n"
                        "      start: 0.25\n"
                        "      end: 1.5   # stop here\n"
                        "      targets: ['re:.*q_proj.weight']\n"
                        "      # init_sparsity: 0.1\n"
                        "\n"
                        "oneshot_stage:";
    /* up, and a field edit inside the moved block still splices */
    assert_int_equal(ms_draft_move(s, 1, true, &at, &diag), MS_OK);
    assert_int_equal(ms_draft_set_field(s, 0, "start", "1.25", &diag), MS_OK);
    char *text = spliced(f, s);
    assert_memory_equal(text, moved, strlen(moved));
    assert_string_equal(text + strlen(moved),
                        strstr(blocks, "\noneshot_stage:") + strlen("\noneshot_stage:"));
    free(text);
    /* and down again: the file as written but for the edit */
    assert_int_equal(ms_draft_move(s, 0, false, &at, &diag), MS_OK);
    text = spliced(f, s);
    char want[sizeof blocks + 8];
    const char *at15 = strstr(blocks, "start: 1.5");
    snprintf(want, sizeof want, "%.*sstart: 1.25%s", (int)(at15 - blocks), blocks,
             at15 + strlen("start: 1.5"));
    assert_string_equal(text, want);
    free(text);
    /* across a stage's edge, into the neighbouring group, comments along */
    assert_int_equal(ms_draft_set_field(s, 1, "start", "1.5", &diag), MS_OK);
    assert_int_equal(ms_draft_move(s, 1, false, &at, &diag), MS_OK);
    assert_string_equal(ms_draft_stage(s, 1), "oneshot");
    text = spliced(f, s);
    assert_non_null(strstr(text, "      # init_sparsity: 0.1\n"
                                 "\n"
                                 "oneshot_stage:   # after training\n"
                                 "  smoothing_modifiers:\n"
                                 "    # hold it\n"
                                 "    ConstantPruningModifier:\n"
                                 "      start: 1.5\n"
                                 "      targets: [w]\n"
                                 "\n"
                                 "    SmoothQuantModifier:\n"
                                 "      smoothing_strength: 0.8\n"
                                 "  quant_modifiers:\n"));
    free(text);
    /* out of a stage it was the last of (which goes), with a field edit,
     * to its new group's indentation */
    s = sourced(f, "train_stage:\n"
                   "    pruning_modifiers:\n"
                   "        ConstantPruningModifier:\n"
                   "            start: 1.5   # hold\n"
                   "            targets: [w]\n"
                   "oneshot_stage:\n"
                   "  quant_modifiers:\n"
                   "    GPTQModifier:\n"
                   "      scheme: W4A16\n");
    assert_int_equal(ms_draft_set_field(s, 0, "start", "1.0", &diag), MS_OK);
    assert_int_equal(ms_draft_move(s, 0, false, &at, &diag), MS_OK);
    text = spliced(f, s);
    assert_string_equal(text, "oneshot_stage:\n"
                              "  quant_modifiers:\n"
                              "    ConstantPruningModifier:\n"
                              "        start: 1.0   # hold\n"
                              "        targets: [w]\n"
                              "    GPTQModifier:\n"
                              "      scheme: W4A16\n");
    free(text);
}

static void draft_save_writes_a_copy_in_its_siblings_style(void **state)
{
    fixture *f = *state;
    const char *wide = "oneshot_stage:\n"
                       "    quant_modifiers:   # four spaces a level\n"
                       "        GPTQModifier:\n"
                       "            scheme: W4A16\n"
                       "            config_groups: {g: {targets: [Linear]}}\n"
                       "            ignore: [lm_head]\n";
    ms_draft *s = sourced(f, wide);
    ms_diag diag;
    size_t at;
    assert_int_equal(ms_draft_duplicate(s, 0, &at, &diag), MS_OK);
    assert_int_equal(ms_draft_set_field(s, at, "scheme", "W8A8", &diag), MS_OK);
    char *text = spliced(f, s);
    char want[1024];
    snprintf(want, sizeof want, "%s%s", wide,
             "    quant_2_modifiers:\n"
             "        GPTQModifier:\n"
             "            scheme: W8A8\n"
             "            config_groups:\n"
             "                g:\n"
             "                    targets: [Linear]\n"
             "            ignore: [lm_head]\n");
    assert_string_equal(text, want);
    free(text);
}

static void draft_save_adds_to_an_empty_group(void **state)
{
    fixture *f = *state;
    const char *empty = "# to be filled in\n"
                        "oneshot_stage:\n"
                        "  # the quantizers go here\n"
                        "  default_modifiers: {}   # none yet\n";
    ms_draft *s = sourced(f, empty);
    ms_diag diag;
    assert_int_equal(ms_draft_add(s, SIZE_MAX, "GPTQModifier", NULL, &diag), MS_OK);
    assert_int_equal(ms_draft_set_field(s, 0, "scheme", "W4A16", &diag), MS_OK);
    assert_int_equal(ms_draft_add(s, 0, "SmoothQuantModifier", NULL, &diag), MS_OK);
    char *text = spliced(f, s);
    assert_string_equal(text, "# to be filled in\n"
                              "oneshot_stage:\n"
                              "  # the quantizers go here\n"
                              "  default_modifiers:   # none yet\n"
                              "    GPTQModifier:\n"
                              "      scheme: W4A16\n"
                              "    SmoothQuantModifier: {}\n");
    free(text);
    /* a file without stages gets one after what it has */
    s = sourced(f, "# nothing yet\nargs:\n  x: 1\n");
    assert_int_equal(ms_draft_add(s, SIZE_MAX, "GPTQModifier", NULL, &diag), MS_OK);
    text = spliced(f, s);
    assert_string_equal(text, "# nothing yet\nargs:\n  x: 1\n"
                              "oneshot_stage:\n  default_modifiers:\n    GPTQModifier: {}\n");
    free(text);
}

/* `text` with "\r\n" line ends (malloc'd). */
static char *crlf(const char *text)
{
    char *out = malloc(2 * strlen(text) + 1), *o = out;
    for (const char *p = text; *p; p++) {
        if (*p == '\n')
            *o++ = '\r';
        *o++ = *p;
    }
    *o = '\0';
    return out;
}

static void draft_save_keeps_crlf_line_ends(void **state)
{
    fixture *f = *state;
    char *source = crlf(blocks);
    ms_draft *s = sourced(f, source);
    ms_diag diag;
    size_t at;
    assert_int_equal(ms_draft_move(s, 1, true, &at, &diag), MS_OK);
    assert_int_equal(ms_draft_set_field(s, 0, "start", "1.25", &diag), MS_OK);
    assert_int_equal(ms_draft_set_field(s, 0, "end", "1.75", &diag), MS_OK);
    assert_int_equal(ms_draft_add(s, 2, "QuantizationModifier", NULL, &diag), MS_OK);
    char *text = spliced(f, s);
    char *want = crlf("# my recipe\n"
                      "train_stage:\n"
                      "  pruning_modifiers:\n"
                      "    # hold it\n"
                      "    ConstantPruningModifier:\n"
                      "      start: 1.25\n"
                      "      targets: [w]\n"
                      "      end: 1.75\n"
                      "\n"
                      "    # the ramp\n"
                      "    MagnitudePruningModifier:\n"
                      "      start: 0.25\n"
                      "      end: 1.5   # stop here\n"
                      "      targets: ['re:.*q_proj.weight']\n"
                      "      # init_sparsity: 0.1\n"
                      "\n"
                      "oneshot_stage:   # after training\n"
                      "  smoothing_modifiers:\n"
                      "    SmoothQuantModifier:\n"
                      "      smoothing_strength: 0.8\n"
                      "\n"
                      "    QuantizationModifier: {}\n"
                      "  quant_modifiers:\n"
                      "    # quantize\n"
                      "    GPTQModifier:\n"
                      "      scheme: W4A16\n"
                      "      targets: [Linear]\n");
    assert_string_equal(text, want);
    free(want);
    free(text);
    free(source);
}

static void draft_save_keeps_a_missing_final_newline(void **state)
{
    fixture *f = *state;
    const char *source = "oneshot_stage:\n"
                         "  quant_modifiers:\n"
                         "    GPTQModifier:\n"
                         "      scheme: W4A16\n"
                         "    SmoothQuantModifier:\n"
                         "      smoothing_strength: 0.5";
    ms_draft *s = sourced(f, source);
    ms_diag diag;
    size_t at;
    /* the last block moves up: it gets a newline, the new last one loses it */
    assert_int_equal(ms_draft_move(s, 1, true, &at, &diag), MS_OK);
    char *text = spliced(f, s);
    assert_string_equal(text, "oneshot_stage:\n"
                              "  quant_modifiers:\n"
                              "    SmoothQuantModifier:\n"
                              "      smoothing_strength: 0.5\n"
                              "    GPTQModifier:\n"
                              "      scheme: W4A16");
    free(text);
    assert_int_equal(ms_draft_undo(s, NULL, &diag), MS_OK);
    assert_int_equal(ms_draft_add(s, 1, "QuantizationModifier", NULL, &diag), MS_OK);
    text = spliced(f, s);
    assert_string_equal(text, "oneshot_stage:\n"
                              "  quant_modifiers:\n"
                              "    GPTQModifier:\n"
                              "      scheme: W4A16\n"
                              "    SmoothQuantModifier:\n"
                              "      smoothing_strength: 0.5\n"
                              "    QuantizationModifier: {}");
    free(text);
}

static void draft_save_keeps_list_form_groups(void **state)
{
    fixture *f = *state;
    /* upstream's Recipe.from_dict reads a group only as a map of modifiers:
     * a list is not loaded, and saving leaves it as written */
    const char *source = "oneshot_stage:\n"
                         "  # not loaded: a list\n"
                         "  old_modifiers:\n"
                         "    - GPTQModifier:\n"
                         "        scheme: W8A8\n"
                         "  quant_modifiers:\n"
                         "    GPTQModifier:\n"
                         "      scheme: W4A16\n";
    ms_draft *s = sourced(f, source);
    assert_int_equal(ms_draft_count(s), 1);
    ms_diag diag;
    assert_int_equal(ms_draft_add(s, 0, "SmoothQuantModifier", NULL, &diag), MS_OK);
    char *text = spliced(f, s);
    char want[512];
    snprintf(want, sizeof want, "%s    SmoothQuantModifier: {}\n", source);
    assert_string_equal(text, want);
    free(text);
    assert_int_equal(ms_draft_delete(s, 0, &diag), MS_OK);
    text = spliced(f, s);
    assert_non_null(strstr(text, "  old_modifiers:\n    - GPTQModifier:\n        scheme: W8A8\n"
                                 "  quant_modifiers:\n    SmoothQuantModifier: {}\n"));
    free(text);
}

static void draft_save_falls_back_for_flow_style(void **state)
{
    fixture *f = *state;
    const char *source = "# flow\n"
                         "{oneshot_stage: {quant_modifiers: {GPTQModifier: {scheme: W4A16},\n"
                         "                                   SmoothQuantModifier: {}}}}\n";
    ms_draft *s = sourced(f, source);
    ms_diag diag;
    char why[160], *text = saved_text(s, why, sizeof why);
    assert_string_equal(why, "");
    assert_string_equal(text, source);
    free(text);
    assert_int_equal(ms_draft_delete(s, 1, &diag), MS_OK);
    text = saved_text(s, why, sizeof why);
    assert_string_equal(why, "group quant_modifiers is written in flow style ({...})");
    char *layout = text_of(s);
    assert_string_equal(text, layout);
    free(layout);
    free(text);
    /* a field edit in it too */
    assert_int_equal(ms_draft_undo(s, NULL, &diag), MS_OK);
    assert_int_equal(ms_draft_set_field(s, 0, "scheme", "W8A8", &diag), MS_OK);
    text = saved_text(s, why, sizeof why);
    assert_string_equal(why, "group quant_modifiers is written in flow style ({...})");
    free(text);
    /* a source whose modifiers are not the draft's is not spliced */
    ms_draft *other = draft_of(f, demo);
    assert_int_equal(ms_draft_set_source(other, source, strlen(source)), MS_OK);
    text = saved_text(other, why, sizeof why);
    assert_string_equal(why, "the file's modifiers are not the draft's");
    free(text);
}

static void draft_save_adds_a_field_after_a_value_over_lines(void **state)
{
    fixture *f = *state;
    /* as sparsity__sparsegpt__recipes__test_tiny2.yaml writes its targets */
    const char *source = "test_stage:\n"
                         "  obcq_modifiers:\n"
                         "    SparseGPTModifier:\n"
                         "      sparsity: 0.5\n"
                         "      targets: [\n"
                         "        \"model.layers.0\",\n"
                         "        \"model.layers.1\"\n"
                         "      ]\n"
                         "    QuantizationModifier:\n"
                         "      targets: [Linear]\n";
    ms_draft *s = sourced(f, source);
    ms_diag diag;
    size_t at;
    assert_int_equal(ms_draft_set_field(s, 0, "block_size", "64", &diag), MS_OK);
    assert_int_equal(ms_draft_move(s, 0, false, &at, &diag), MS_OK);
    char *text = spliced(f, s);
    assert_string_equal(text, "test_stage:\n"
                              "  obcq_modifiers:\n"
                              "    QuantizationModifier:\n"
                              "      targets: [Linear]\n"
                              "    SparseGPTModifier:\n"
                              "      sparsity: 0.5\n"
                              "      targets: [\n"
                              "        \"model.layers.0\",\n"
                              "        \"model.layers.1\"\n"
                              "      ]\n"
                              "      block_size: 64\n");
    free(text);
}

static void draft_save_maps_the_saved_text_for_the_next_save(void **state)
{
    fixture *f = *state;
    ms_draft *s = sourced(f, blocks);
    ms_diag diag;
    char path[] = "/tmp/modsim-draft-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ms_draft_delete(s, 0, &diag), MS_OK);
    assert_int_equal(ms_draft_save(s, path, &diag), MS_OK);
    assert_string_equal(ms_draft_save_layout(s), "");
    /* the saved text is the next save's source: an undo brings the deleted
     * modifier back as a new one, in its siblings' style (no blank line
     * between them now) */
    assert_int_equal(ms_draft_undo(s, NULL, &diag), MS_OK);
    char *text = spliced(f, s);
    assert_non_null(strstr(text, "  pruning_modifiers:\n"
                                 "    MagnitudePruningModifier:\n"
                                 "      start: 0.25\n"
                                 "      end: 1.5\n"
                                 "      targets: [\"re:.*q_proj.weight\"]\n"
                                 "    # hold it\n"));
    free(text);
    unlink(path);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        samples_dir = argv[1];
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(draft_builds_the_tree_of_the_recipe),
        T(draft_text_is_the_export_of_every_sample),
        T(draft_set_field_undo_redo),
        T(draft_set_field_adds_unsets_and_ignores_no_change),
        T(draft_rename_field_keeps_value_and_place),
        T(draft_add_joins_the_group_or_opens_one),
        T(draft_add_to_an_empty_schedule),
        T(draft_delete_and_undo),
        T(draft_duplicate_goes_to_a_new_group),
        T(draft_move_swaps_inside_a_group_and_crosses_edges),
        T(draft_move_refuses_a_second_modifier_of_a_type),
        T(draft_dirty_follows_the_saved_state),
        T(draft_save_and_load_round_trip),
        T(draft_save_keeps_what_the_user_wrote),
        T(draft_save_deletes_a_block_with_its_comments),
        T(draft_save_moves_blocks_with_their_comments),
        T(draft_save_writes_a_copy_in_its_siblings_style),
        T(draft_save_adds_to_an_empty_group),
        T(draft_save_keeps_crlf_line_ends),
        T(draft_save_keeps_a_missing_final_newline),
        T(draft_save_keeps_list_form_groups),
        T(draft_save_falls_back_for_flow_style),
        T(draft_save_adds_a_field_after_a_value_over_lines),
        T(draft_save_maps_the_saved_text_for_the_next_save),
        T(draft_recipe_carries_the_edits),
        T(draft_diagnostics_name_modifier_and_field),
        T(draft_keeps_raises_at_initialize_as_notes_and_follows_the_run),
        T(form_lists_schema_fields_with_values_and_hints),
        T(form_check_reports_what_would_be_valid),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
