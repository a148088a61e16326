/* The embedded schema: what the validator and generated forms rely on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "helpers.h"

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

static void schema_lists_every_builtin_modifier_type(void **state)
{
    const ms_schema *s = *state;
    static const char *const types[] = {"ConstantPruningModifier",
                                        "MagnitudePruningModifier",
                                        "QuantizationModifier",
                                        "GPTQModifier",
                                        "SparseGPTModifier",
                                        "WandaPruningModifier",
                                        "SmoothQuantModifier",
                                        "LogarithmicEqualizationModifier",
                                        "AWQModifier",
                                        "QuIPModifier",
                                        "SpinQuantModifier",
                                        "AutoRoundModifier",
                                        "IMatrixGatherer",
                                        "REAPPruningModifier",
                                        "OutputDistillationModifier"};
    size_t n = sizeof types / sizeof *types;
    assert_int_equal(ms_schema_modifier_count(s), n);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(ms_schema_modifier_description(s, types[i]));
        assert_int_equal(ms_modifier_type_find(types[i]) != NULL, 1);
        /* the schema's drive agrees with the simulated type's */
        const char *drive = ms_schema_modifier_drive(s, types[i]);
        assert_string_equal(drive, ms_modifier_type_drive(ms_modifier_type_find(types[i])) ==
                                           MS_DRIVE_TRAINING
                                       ? "training"
                                       : "calibration");
    }
}

static void schema_field_query_gives_type_default_and_bounds(void **state)
{
    const ms_schema *s = *state;
    ms_schema_field f;
    bool found = false;
    for (size_t i = 0; ms_schema_field_at(s, "GPTQModifier", i, &f); i++) {
        if (strcmp(f.name, "block_size"))
            continue;
        found = true;
        assert_string_equal(f.types, "integer");
        assert_string_equal(f.default_value->value, "128");
        assert_true(f.has_minimum && f.minimum == 1);
        assert_false(f.required);
    }
    assert_true(found);
    assert_true(ms_schema_field_at(s, "GPTQModifier", 0, &f));
    assert_string_equal(f.name, "index"); /* base fields first */
}

static void schema_field_query_folds_enum_and_alternatives(void **state)
{
    const ms_schema *s = *state;
    ms_schema_field f;
    for (size_t i = 0; ms_schema_field_at(s, "QuantizationModifier", i, &f); i++) {
        if (!strcmp(f.name, "scheme")) {
            assert_string_equal(f.types, "string|map|null");
            assert_non_null(f.enum_values);
            assert_true(f.enum_values->count >= 30);
        }
    }
    size_t n = ms_schema_field_count(s, "MagnitudePruningModifier");
    size_t required = 0;
    for (size_t i = 0; i < n && ms_schema_field_at(s, "MagnitudePruningModifier", i, &f); i++)
        required += f.required;
    assert_int_equal(required, 3);
}

static void schema_reports_every_problem_not_the_first(void **state)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(
        *state,
        "q_stage:\n  q_modifiers:\n    GPTQModifier:\n      scheme: W4A16\n      block_size: 0\n"
        "      dampening_fraction: 0.1\n      actorder: sideways\n",
        "r.yaml", NULL, &out);
    assert_int_equal(ms_diag_list_count(&out, MS_SEV_ERROR), 3);
    assert_non_null(find_code(&out, "E-BOUNDS"));
    const ms_diag *d = find_code(&out, "E-FIELD-UNKNOWN");
    assert_int_equal(d->line, 6);
    assert_int_equal(d->col, 7);
    assert_non_null(strstr(d->hint, "did you mean 'dampening_frac'?"));
    assert_non_null(find_code(&out, "E-ENUM"));
    ms_diag_list_free(&out);
}

static void schema_preset_names_ignore_case_as_upstream(void **state)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state, "q_stage:\n  q_modifiers:\n    QuantizationModifier:\n      scheme: w4a16\n",
               "r.yaml", NULL, &out);
    assert_int_equal(out.count, 0);
    ms_diag_list_free(&out);
}

static void schema_quoted_number_is_a_warning_checked_as_converted(void **state)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state,
               "q_stage:\n  q_modifiers:\n    GPTQModifier:\n      scheme: W4A16\n      "
               "block_size: \"64\"\n"
               "      dampening_frac: \"-1\"\n      offload_hessians: \"no\"\n",
               "r.yaml", NULL, &out);
    assert_int_equal(ms_diag_list_count(&out, MS_SEV_ERROR), 1);
    const ms_diag *d = find_code(&out, "W-QUOTED-NUMBER");
    assert_non_null(d);
    assert_int_equal(d->line, 5);
    assert_non_null(strstr(d->hint, "unquoted: 64"));
    assert_non_null(find_code(&out, "E-BOUNDS")); /* "-1" is checked as -1 */
    assert_non_null(find_code(&out, "W-LAX-BOOL"));
    ms_diag_list_free(&out);
}

static void schema_quoted_number_in_strict_field_is_an_error(void **state)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state,
               "q_stage:\n  q_modifiers:\n    GPTQModifier:\n      block_size: \"1.5\"\n"
               "      config_groups:\n        group_0:\n          targets: [Linear]\n"
               "          weights: {group_size: \"64\", strategy: group}\n",
               "r.yaml", NULL, &out);
    assert_int_equal(ms_diag_list_count(&out, MS_SEV_ERROR), 2);
    assert_int_equal(ms_diag_list_count(&out, MS_SEV_WARNING), 0);
    const ms_diag *d = &out.items[1];
    assert_string_equal(d->code, "E-TYPE");
    assert_non_null(strstr(d->message, "group_size"));
    assert_non_null(strstr(d->hint, "remove the quotes"));
    ms_diag_list_free(&out);
}

static void schema_internal_state_fields_are_warnings(void **state)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(
        *state,
        "q_stage:\n  q_modifiers:\n    GPTQModifier:\n      scheme: W4A16\n      started_: maybe\n"
        "      ended_: false\n      other_: 1\n",
        "r.yaml", NULL, &out);
    assert_int_equal(out.count, 4);
    assert_string_equal(out.items[0].code, "W-INTERNAL-FIELD");
    assert_string_equal(out.items[1].code, "E-TYPE"); /* the value is still checked */
    assert_string_equal(out.items[2].code, "W-INTERNAL-FIELD");
    assert_string_equal(out.items[3].code, "E-FIELD-UNKNOWN");
    ms_schema_field f;
    for (size_t i = 0; ms_schema_field_at(*state, "GPTQModifier", i, &f); i++)
        assert_string_not_equal(f.name, "started_"); /* not a form field */
    ms_diag_list_free(&out);
}

static void schema_config_group_at_modifier_level_is_misplaced(void **state)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state,
               "q_stage:\n  q_modifiers:\n    GPTQModifier:\n      scheme: W4A16\n      group_0:\n"
               "        targets: [Linear]\n",
               "r.yaml", NULL, &out);
    assert_int_equal(out.count, 1);
    assert_string_equal(out.items[0].code, "E-MISPLACED");
    ms_diag_list_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(schema_lists_every_builtin_modifier_type),
        cmocka_unit_test(schema_field_query_gives_type_default_and_bounds),
        cmocka_unit_test(schema_field_query_folds_enum_and_alternatives),
        cmocka_unit_test(schema_reports_every_problem_not_the_first),
        cmocka_unit_test(schema_preset_names_ignore_case_as_upstream),
        cmocka_unit_test(schema_quoted_number_is_a_warning_checked_as_converted),
        cmocka_unit_test(schema_quoted_number_in_strict_field_is_an_error),
        cmocka_unit_test(schema_internal_state_fields_are_warnings),
        cmocka_unit_test(schema_config_group_at_modifier_level_is_misplaced),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
