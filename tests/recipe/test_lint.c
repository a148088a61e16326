/* Reading recipes as upstream does, and the lint rules for lifecycle traps. */
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

#define PRUNING(extra)                                                                             \
    "train_stage:\n  pruning_modifiers:\n    MagnitudePruningModifier:\n"                          \
    "      targets: [w]\n      init_sparsity: 0.1\n      final_sparsity: 0.5\n" extra

static void lint_end_minus_one_warns_never_starts(void **state)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state,
               "t_stage:\n  p_modifiers:\n    ConstantPruningModifier:\n      targets: [w]\n"
               "      start: 0\n      end: -1\n",
               "r.yaml", NULL, &out);
    const ms_diag *d = find_code(&out, "W-END-NEG");
    assert_non_null(d);
    assert_int_equal(d->line, 6);
    assert_int_equal(d->severity, MS_SEV_WARNING);
    ms_diag_list_free(&out);
}

static void lint_polynomial_decay_default_exponent_is_even(void **state)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state,
               PRUNING("      start: 0\n      end: 4\n      update_scheduler: polynomial_decay\n"),
               "r.yaml", NULL, &out);
    assert_non_null(find_code(&out, "W-POLY-EVEN"));
    assert_null(find_code(&out, "W-SCHED-RANGE")); /* 2*0.5 - 0.1 = 0.9 stays in range */
    ms_diag_list_free(&out);
}

static void lint_linear_schedule_in_range_is_clean(void **state)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state, PRUNING("      start: 0\n      end: 4\n      update_scheduler: linear\n"),
               "r.yaml", NULL, &out);
    assert_int_equal(out.count, 0);
    ms_diag_list_free(&out);
}

static void lint_calc_syntax_error_points_into_the_expression(void **state)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state,
               PRUNING("      start: 0\n      end: 4\n      update_scheduler: calc(index ^ 2)\n"),
               "r.yaml", NULL, &out);
    const ms_diag *d = find_code(&out, "E-CALC");
    assert_non_null(d);
    assert_int_equal(d->line, 9);
    /* "      update_scheduler: calc(index ^ 2)": '^' is column 36 */
    assert_int_equal(d->col, 36);
    ms_diag_list_free(&out);
}

static void lint_awq_without_quantization_after_it_is_an_error(void **state)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state, "q_stage:\n  q_modifiers:\n    AWQModifier: {}\n", "r.yaml", NULL, &out);
    const ms_diag *d = find_code(&out, "E-AWQ-ORDER");
    assert_non_null(d);
    assert_int_equal(d->severity, MS_SEV_ERROR);
    ms_diag_list_free(&out);
}

static void lint_stage_filter_keeps_keys_starting_with_it(void **state)
{
    const char *text = "a_stage:\n  q_modifiers:\n    GPTQModifier: {scheme: W8A8}\n"
                       "b_stage:\n  q_modifiers:\n    GPTQModifiers: {}\n";
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state, text, "r.yaml", NULL, &out);
    assert_non_null(find_code(&out, "W-STAGES-FLAT"));
    assert_non_null(find_code(&out, "E-TYPE-UNKNOWN"));
    ms_diag_list_free(&out);
    check_text(*state, text, "r.yaml", "a", &out);
    assert_int_equal(out.count, 0);
    ms_diag_list_free(&out);
}

static void lint_markdown_front_matter_keeps_file_lines(void **state)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state,
               "# title\n\n---\nq_stage:\n  q_modifiers:\n    GPTQModifier: {blok_size: 1}\n"
               "---\ntext\n",
               "card.md", NULL, &out);
    const ms_diag *d = find_code(&out, "E-FIELD-UNKNOWN");
    assert_non_null(d);
    assert_int_equal(d->line, 6);
    ms_diag_list_free(&out);
}

static void recipe_bad_input_is_a_clear_error(void **state)
{
    static const struct {
        const char *text, *file, *code;
    } cases[] = {
        {"", "r.yaml", "E-EMPTY"},
        {"# only a comment\n", "r.yaml", "E-EMPTY"},
        {"a: \xff\n", "r.yaml", "E-ENCODING"},
        {"{\"a_stage\": {\"b_modifiers\": {\"GPTQModifier\": {\"scheme\": W8A8}}}}", "r.json",
         "E-JSON"},
        {"no front matter\n", "r.md", "E-FRONTMATTER"},
        {"a: &x [*x]\n", "r.yaml", "E-YAML"},
        {"a: 1\na: 2\n", "r.yaml", "E-DUPKEY"},
        {"- a\n", "r.yaml", "E-LAYOUT"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ms_diag_list out;
        ms_diag_list_init(&out);
        assert_int_not_equal(check_text(*state, cases[i].text, cases[i].file, NULL, &out), MS_OK);
        assert_int_equal(out.count, 1);
        assert_string_equal(out.items[0].code, cases[i].code);
        ms_diag_list_free(&out);
    }
}

static void recipe_format_follows_the_extension(void **state)
{
    (void)state;
    assert_int_equal(ms_recipe_format_of("a/b.JSON"), MS_FORMAT_JSON);
    assert_int_equal(ms_recipe_format_of("b.yml"), MS_FORMAT_YAML);
    assert_int_equal(ms_recipe_format_of("card.md"), MS_FORMAT_MARKDOWN);
    assert_int_equal(ms_recipe_format_of("dir.d/recipe"), MS_FORMAT_AUTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lint_end_minus_one_warns_never_starts),
        cmocka_unit_test(lint_polynomial_decay_default_exponent_is_even),
        cmocka_unit_test(lint_linear_schedule_in_range_is_clean),
        cmocka_unit_test(lint_calc_syntax_error_points_into_the_expression),
        cmocka_unit_test(lint_awq_without_quantization_after_it_is_an_error),
        cmocka_unit_test(lint_stage_filter_keeps_keys_starting_with_it),
        cmocka_unit_test(lint_markdown_front_matter_keeps_file_lines),
        cmocka_unit_test(recipe_bad_input_is_a_clear_error),
        cmocka_unit_test(recipe_format_follows_the_extension),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
