/* modsim migrate's text edits (src/recipe/migrate.c) and the rename table
 * (src/recipe/renames.c): exact output for the layouts that are easy to get
 * wrong (flow maps, merged anchors, items at column 1), what counts as
 * carried, and input that is not a recipe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "recipe/migrate.h"
#include "recipe/renames.h"
#include "util/doc.h"

static ms_schema *schema;

static int setup(void **state)
{
    (void)state;
    ms_diag diag;
    return ms_schema_new(&schema, &diag) == MS_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ms_schema_free(schema);
    return 0;
}

/* Migrates `in`, expects `out` exactly and `not_carried` notes not carried. */
static void expect(const char *in, const char *out, size_t not_carried)
{
    ms_migration *m;
    ms_diag diag;
    assert_int_equal(ms_migrate(schema, in, strlen(in), "t.yaml", &m, &diag), MS_OK);
    assert_string_equal(m->text, out);
    assert_int_equal(m->not_carried, not_carried);
    ms_migration_free(m);
}

static void flow_pairs_removed_with_their_comma(void **state)
{
    (void)state;
    const char *head = "s_stage:\n  g_modifiers:\n    GPTQModifier: ";
    char in[256], out[256];
    /* first, middle and last pair; and the only one */
    const char *cases[][2] = {
        {"{sequential_update: true, scheme: W4A16}", "{scheme: W4A16}"},
        {"{scheme: W4A16, sequential_update: true, block_size: 64}",
         "{scheme: W4A16, block_size: 64}"},
        {"{scheme: W4A16, sequential_update: [a, {b: c}]}", "{scheme: W4A16}"},
        {"{sequential_update: 'x, y'}", "{}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(in, sizeof in, "%s%s\n", head, cases[i][0]);
        snprintf(out, sizeof out, "%s%s\n", head, cases[i][1]);
        expect(in, out, 0);
    }
}

static void renames_keep_comments_and_quotes(void **state)
{
    (void)state;
    expect("s_stage:\n  g_modifiers:\n    GPTQModifier:\n      \"percdamp\": 0.1  # damp\n"
           "      scheme: W4A16\n",
           "s_stage:\n  g_modifiers:\n    GPTQModifier:\n      dampening_frac: 0.1  # damp\n"
           "      scheme: W4A16\n",
           0);
}

/* The anchor's text is edited once, however many modifiers merge it. */
static void merged_anchor_edited_once(void **state)
{
    (void)state;
    ms_migration *m;
    ms_diag diag;
    const char *in = "b: &b {percdamp: 0.1, sequential_targets: [x]}\n"
                     "s_stage:\n  g_modifiers:\n    GPTQModifier: {<<: *b, scheme: W4A16}\n"
                     "t_stage:\n  g_modifiers:\n    GPTQModifier: {<<: *b, scheme: W8A8}\n";
    assert_int_equal(ms_migrate(schema, in, strlen(in), "t.yaml", &m, &diag), MS_OK);
    assert_non_null(strstr(m->text, "b: &b {dampening_frac: 0.1}\n"));
    assert_int_equal(m->count, 2);
    assert_int_equal(m->not_carried, 1);
    ms_migration_free(m);
}

static void sparseml_items_at_column_one(void **state)
{
    (void)state;
    expect("# keep\nmodifiers:\n- !ConstantPruningModifier  # held\n  params: [a.weight]\n"
           "  start_epoch: 0\nafter_stage:\n  x_modifiers: {}\n",
           "# keep\ntrain_stage:\n  train_modifiers:\n    ConstantPruningModifier:  # held\n"
           "      targets: [\"a\"]\n      start: 0\nafter_stage:\n  x_modifiers: {}\n",
           0);
}

static void sparseml_params_that_are_no_weights_drop_the_modifier(void **state)
{
    (void)state;
    ms_migration *m;
    ms_diag diag;
    const char *in = "modifiers:\n  - !GMPruningModifier\n    params: __ALL__\n"
                     "    init_sparsity: 0.1\n    final_sparsity: 0.5\n    leave_enabled: false\n";
    assert_int_equal(ms_migrate(schema, in, strlen(in), "t.yaml", &m, &diag), MS_OK);
    assert_string_equal(m->text, "train_stage:\n");
    assert_int_equal(m->not_carried, 1);
    assert_non_null(strstr(m->notes[m->count - 1].text, "__ALL__"));
    ms_migration_free(m);
}

static void input_that_is_not_a_recipe_fails(void **state)
{
    (void)state;
    ms_migration *m;
    ms_diag diag;
    const char *bad[] = {"a: [1\n", "- a\n", "", "a: !!int x\n"};
    const char *codes[] = {"E-YAML", "E-LAYOUT", "E-EMPTY", "E-YAML-TAG"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_not_equal(ms_migrate(schema, bad[i], strlen(bad[i]), "t.yaml", &m, &diag),
                             MS_OK);
        assert_null(m);
        assert_string_equal(diag.code, codes[i]);
    }
}

static void rename_table_lookups(void **state)
{
    (void)state;
    const ms_rename *r = ms_rename_field("GPTQModifier", "percdamp");
    assert_non_null(r);
    assert_string_equal(r->new_name, "dampening_frac");
    assert_null(ms_rename_field("GPTQModifier", "dampening_frac"));
    assert_null(ms_rename_field("WandaPruningModifier", "percdamp"));
    assert_string_equal(ms_rename_type("vLLMQuantizationModifier")->new_name,
                        "QuantizationModifier");
    char text[400];
    ms_rename_describe(ms_rename_field("GPTQModifier", "sequential_update"), text, sizeof text);
    assert_non_null(strstr(text, "removed in llm-compressor 0.8.0"));
    /* quantize: only its old default may be dropped */
    ms_doc *doc;
    ms_diag diag;
    const char *yaml = "[true, 'true', false, yes, 'x']";
    assert_int_equal(ms_doc_parse(yaml, strlen(yaml), "t.yaml", &doc, &diag), MS_OK);
    const ms_node *v = ms_doc_root(doc);
    r = ms_rename_field("GPTQModifier", "quantize");
    assert_true(ms_rename_value_droppable(r, v->items[0]));
    assert_true(ms_rename_value_droppable(r, v->items[1])); /* pydantic reads "true" so */
    assert_false(ms_rename_value_droppable(r, v->items[2]));
    assert_true(ms_rename_value_droppable(r, v->items[3]));
    assert_false(ms_rename_value_droppable(r, v->items[4]));
    ms_doc_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flow_pairs_removed_with_their_comma),
        cmocka_unit_test(renames_keep_comments_and_quotes),
        cmocka_unit_test(merged_anchor_edited_once),
        cmocka_unit_test(sparseml_items_at_column_one),
        cmocka_unit_test(sparseml_params_that_are_no_weights_drop_the_modifier),
        cmocka_unit_test(input_that_is_not_a_recipe_fails),
        cmocka_unit_test(rename_table_lookups),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
