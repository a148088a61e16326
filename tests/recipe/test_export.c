/* Export: upstream layout, stable order, a fixed point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "recipe/export.h"

static int setup(void **state)
{
    ms_diag diag;
    return ms_schema_new((ms_schema **)state, &diag) == MS_OK ? 0 : -1;
}

static int teardown(void **state)
{
    ms_schema_free(*state);
    return 0;
}

/* Exports `text`; the caller frees the result. */
static char *export_text(const ms_schema *s, const char *text, const char *file, const char *stage)
{
    ms_diag diag;
    ms_doc *doc;
    ms_recipe *r;
    assert_int_equal(
        ms_recipe_parse_doc(text, strlen(text), file, ms_recipe_format_of(file), &doc, &diag),
        MS_OK);
    assert_int_equal(ms_recipe_from_doc(doc, stage, &r, &diag), MS_OK);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    assert_int_equal(ms_export_recipe(s, r, f), MS_OK);
    fclose(f);
    ms_recipe_free(r);
    return out;
}

static void export_orders_fields_as_the_schema_and_drops_ignored_keys(void **state)
{
    char *out = export_text(*state,
                            "notes: hi\nq_stage:\n  q_modifiers:\n    GPTQModifier:\n"
                            "      scheme: W4A16\n      end: 3\n      start: 1\n  misc: 1\n",
                            "r.yaml", NULL);
    assert_string_equal(out, "q_stage:\n  q_modifiers:\n    GPTQModifier:\n      start: 1\n"
                             "      end: 3\n      scheme: W4A16\n");
    free(out);
}

static void export_is_a_fixed_point(void **state)
{
    const char *text =
        "{\"args\": {\"n\": 1}, \"s_stage\": {\"g_modifiers\": {\"SmoothQuantModifier\":"
        " {\"mappings\": [[[\"re:.*q\", \"k\"], \"re:.*norm\"]], "
        "\"smoothing_strength\": 0.5}}}}";
    char *once = export_text(*state, text, "r.json", NULL);
    char *twice = export_text(*state, once, "r.yaml", NULL);
    assert_string_equal(once, twice);
    free(once);
    free(twice);
}

static void export_keeps_values_that_yaml_would_retype_quoted(void **state)
{
    char *out = export_text(*state,
                            "s_stage:\n  g_modifiers:\n    SparseGPTModifier:\n"
                            "      sparsity: 0.5\n      mask_structure: \"2:4\"\n"
                            "      ignore: ['yes', \"a: b\", lm_head]\n",
                            "r.yaml", NULL);
    assert_non_null(strstr(out, "mask_structure: \"2:4\"\n"));
    assert_non_null(strstr(out, "ignore: [\"yes\", \"a: b\", lm_head]\n"));
    free(out);
}

/* validate's W-QUOTED-NUMBER hint says to write block_size: 128; pydantic
 * reads "128" as 128 for an int field, so the export writes what it reads.
 * A string field keeps the quotes (scheme "4" stays a string upstream). */
static void export_writes_quoted_numbers_as_upstream_reads_them(void **state)
{
    char *out =
        export_text(*state,
                    "q_stage:\n  q_modifiers:\n    GPTQModifier:\n      block_size: \"128\"\n"
                    "      dampening_frac: \"0.01\"\n      offload_hessians: \"true\"\n"
                    "      scheme: W4A16\n",
                    "r.yaml", NULL);
    assert_non_null(strstr(out, "block_size: 128\n"));
    assert_non_null(strstr(out, "dampening_frac: 0.01\n"));
    assert_non_null(strstr(out, "offload_hessians: true\n"));
    free(out);
}

static void export_applies_the_stage_filter(void **state)
{
    char *out =
        export_text(*state,
                    "args: {a: 1}\na_stage:\n  g_modifiers:\n    GPTQModifier: {scheme: FP8}\n"
                    "b_stage:\n  g_modifiers:\n    GPTQModifier: {scheme: W8A8}\n",
                    "r.yaml", "b");
    assert_string_equal(out, "b_stage:\n  g_modifiers:\n    GPTQModifier:\n      scheme: W8A8\n");
    free(out);
}

/* upstream raises TypeError for a `group` argument (recipe.py:190-196 at
 * 0.12): the editor's draft may hold one, the export never writes it */
static void export_never_writes_a_group_argument(void **state)
{
    char *out = export_text(*state,
                            "q_stage:\n  q_modifiers:\n    GPTQModifier:\n"
                            "      group: attention\n      scheme: W4A16\n"
                            "    QuantizationModifier: {group: x}\n",
                            "r.yaml", NULL);
    assert_string_equal(out, "q_stage:\n  q_modifiers:\n    GPTQModifier:\n      scheme: W4A16\n"
                             "    QuantizationModifier: {}\n");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(export_orders_fields_as_the_schema_and_drops_ignored_keys),
        cmocka_unit_test(export_is_a_fixed_point),
        cmocka_unit_test(export_keeps_values_that_yaml_would_retype_quoted),
        cmocka_unit_test(export_writes_quoted_numbers_as_upstream_reads_them),
        cmocka_unit_test(export_applies_the_stage_filter),
        cmocka_unit_test(export_never_writes_a_group_argument),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
