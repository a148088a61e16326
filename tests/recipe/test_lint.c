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
    /* in the run it is written for: a training loop with the intended index */
    ms_lint_run run = {.training_loop = true, .intended_index = true};
    check_text_for(*state,
                   PRUNING("      start: 0\n      end: 4\n      update_scheduler: linear\n"),
                   "r.yaml", NULL, &run, &out);
    assert_int_equal(out.count, 0);
    ms_diag_list_free(&out);
}

/* The lifecycle warnings speak of the run: oneshot() never ends a started
 * training modifier; a loop at index 0 never reaches its end; the intended
 * index reaches both; a loop never starts a calibration modifier. */
static void lint_lifecycle_warnings_follow_the_run(void **state)
{
    static const char text[] = "t_stage:\n  p_modifiers:\n    ConstantPruningModifier:\n"
                               "      targets: [w]\n      start: 0\n      end: 3\n"
                               "  q_modifiers:\n    GPTQModifier: {scheme: W4A16}\n";
    static const struct {
        ms_lint_run run;
        bool oneshot_training, end_never, training_calib;
    } cases[] = {
        {{.calibration = true}, true, false, false},
        {{.training_loop = true}, false, true, true},
        {{.training_loop = true, .intended_index = true}, false, false, true},
        {{.training_loop = true, .calibration = true}, false, true, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ms_diag_list out;
        ms_diag_list_init(&out);
        check_text_for(*state, text, "r.yaml", NULL, &cases[i].run, &out);
        assert_int_equal(find_code(&out, "W-ONESHOT-TRAINING") != NULL, cases[i].oneshot_training);
        assert_int_equal(find_code(&out, "W-END-NEVER") != NULL, cases[i].end_never);
        assert_int_equal(find_code(&out, "W-TRAINING-CALIB") != NULL, cases[i].training_calib);
        ms_diag_list_free(&out);
    }
}

/* the path of a diagnostic after a valid modifier is the group's again */
static void lint_unknown_type_after_a_valid_one_names_its_group(void **state)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state,
               "quant_stage:\n  quant_modifiers:\n    GPTQModifier: {scheme: W4A16}\n"
               "    GPTQModifer: {scheme: W4A16}\n",
               "r.yaml", NULL, &out);
    const ms_diag *d = find_code(&out, "E-TYPE-UNKNOWN");
    assert_non_null(d);
    assert_non_null(strstr(d->message, "in quant_stage.quant_modifiers"));
    ms_diag_list_free(&out);
}

static void lint_start_never_is_about_index_zero(void **state)
{
    static const char text[] = "t_stage:\n  p_modifiers:\n    ConstantPruningModifier:\n"
                               "      targets: [w]\n      start: 2\n"
                               "    MagnitudePruningModifier:\n      targets: [w]\n"
                               "      init_sparsity: 0.1\n      final_sparsity: 0.5\n"
                               "      end: 3\n";
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state, text, "r.yaml", NULL, &out);
    const ms_diag *d = find_code(&out, "W-START-NEVER");
    assert_non_null(d);
    assert_int_equal(d->line, 5);
    /* no start at all: should_start is false without one */
    assert_non_null(strstr(out.items[out.count - 1].message, "it has no start"));
    ms_diag_list_free(&out);
    ms_lint_run intended = {.training_loop = true, .intended_index = true};
    ms_diag_list_init(&out);
    check_text_for(*state, text, "r.yaml", NULL, &intended, &out);
    d = find_code(&out, "W-START-NEVER");
    assert_non_null(d); /* the missing start, whatever the index */
    assert_non_null(strstr(d->message, "it has no start"));
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

#define QUANT_ARGS(weights)                                                                        \
    "q_stage:\n  q_modifiers:\n    QuantizationModifier:\n      config_groups:\n"                  \
    "        group_0:\n          targets: [Linear]\n          weights: " weights "\n"

/* Errors of one recipe with `code`; every other diagnostic must be absent. */
static size_t only_errors(void **state, const char *text, const char *code)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state, text, "r.yaml", NULL, &out);
    size_t n = 0;
    for (size_t i = 0; i < out.count; i++) {
        if (strcmp(out.items[i].code, code))
            fail_msg("unexpected %s: %s", out.items[i].code, out.items[i].message);
        n++;
    }
    ms_diag_list_free(&out);
    return n;
}

static void lint_quant_args_cross_field_rules_as_compressed_tensors(void **state)
{
    static const char *const good[] = {
        QUANT_ARGS("{strategy: group, group_size: 128, actorder: group}"),
        QUANT_ARGS("{group_size: 128, actorder: dynamic}"), /* group inferred */
        QUANT_ARGS("{group_size: -1, actorder: weight}"),   /* channel inferred */
        QUANT_ARGS("{strategy: token, dynamic: true}"),
        QUANT_ARGS("{strategy: block, block_structure: [128, 128]}"),
        QUANT_ARGS("{strategy: tensor_group, group_size: 16, dynamic: local, type: float, "
                   "num_bits: 4}"),
        QUANT_ARGS("{strategy: tensor, group_size: -1}"),
        QUANT_ARGS("{strategy: channel, actorder: false}"),
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(only_errors(state, good[i], "E-QUANT-ARGS"), 0);
    static const char *const bad[] = {
        QUANT_ARGS("{strategy: GROUP}"),
        QUANT_ARGS("{strategy: group, group_size: -1}"),
        QUANT_ARGS("{strategy: channel, group_size: 64}"),
        QUANT_ARGS("{group_size: 0}"),
        QUANT_ARGS("{strategy: token}"),
        QUANT_ARGS("{strategy: block}"),
        QUANT_ARGS("{block_structure: [128, 128]}"),
        QUANT_ARGS("{strategy: channel, actorder: true}"),
        QUANT_ARGS("{strategy: channel, dynamic: true}"),
        QUANT_ARGS("{strategy: group, group_size: 16, dynamic: local}"),
        QUANT_ARGS("{type: float, num_bits: 6}"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(only_errors(state, bad[i], "E-QUANT-ARGS"), 1);
    /* a value of the wrong type is E-TYPE alone: the rules that need it wait */
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state, QUANT_ARGS("{strategy: group, group_size: \"128\"}"), "r.yaml", NULL, &out);
    assert_int_equal(out.count, 1);
    assert_string_equal(out.items[0].code, "E-TYPE");
    ms_diag_list_free(&out);
}

#define GPTQ(actorder, weights)                                                                    \
    "q_stage:\n  q_modifiers:\n    GPTQModifier:\n" actorder "      config_groups:\n"              \
    "        group_0:\n          targets: [Linear]\n          weights: " weights "\n"

static void lint_gptq_actorder_must_equal_the_schemes_word_for_word(void **state)
{
    assert_int_equal(only_errors(state,
                                 GPTQ("", "{strategy: group, group_size: 128, actorder: group}"),
                                 "E-ACTORDER-CONFLICT"),
                     0); /* the default "static" yields to the scheme */
    assert_int_equal(only_errors(state,
                                 GPTQ("      actorder: weight\n",
                                      "{strategy: group, group_size: 128, actorder: weight}"),
                                 "E-ACTORDER-CONFLICT"),
                     0);
    assert_int_equal(
        only_errors(state, GPTQ("      actorder: static\n", "{strategy: group, group_size: 128}"),
                    "E-ACTORDER-CONFLICT"),
        0);
    assert_int_equal(only_errors(state,
                                 GPTQ("      actorder: static\n",
                                      "{strategy: group, group_size: 128, actorder: weight}"),
                                 "E-ACTORDER-CONFLICT"),
                     1);
    assert_int_equal(only_errors(state,
                                 GPTQ("      actorder: null\n",
                                      "{strategy: group, group_size: 128, actorder: weight}"),
                                 "E-ACTORDER-CONFLICT"),
                     1);
    /* token strategies are left alone */
    assert_int_equal(only_errors(state,
                                 GPTQ("      actorder: weight\n",
                                      "{strategy: token, dynamic: true, actorder: static}"),
                                 "E-ACTORDER-CONFLICT"),
                     0);
}

static void lint_quant_modifier_conflicts_and_owl_all_or_none(void **state)
{
    const char *q = "q_stage:\n  q_modifiers:\n    QuantizationModifier:\n";
    char text[512];
    snprintf(text, sizeof text, "%s      scheme: W8A8\n      config_groups: {}\n", q);
    assert_int_equal(only_errors(state, text, "E-SCHEME-CONFLICT"), 1);
    snprintf(text, sizeof text, "%s      scheme: W8A8\n      config_groups: null\n", q);
    assert_int_equal(only_errors(state, text, "E-SCHEME-CONFLICT"), 0);
    snprintf(text, sizeof text,
             "%s      scheme: W8A8\n      observer: {input: mse}\n      weight_observer: mse\n"
             "      output_observer: minmax\n      input_observer: null\n",
             q);
    assert_int_equal(only_errors(state, text, "E-OBSERVER-CONFLICT"), 2);
    const char *w = "s_stage:\n  s_modifiers:\n    WandaPruningModifier:\n      sparsity: 0.5\n";
    snprintf(text, sizeof text,
             "%s      sparsity_profile: OWL\n      owl_m: 5\n      owl_lmbda: 0.1\n", w);
    assert_int_equal(only_errors(state, text, "E-OWL"), 0);
    snprintf(text, sizeof text, "%s      owl_lmbda: 0.1\n", w);
    assert_int_equal(only_errors(state, text, "E-OWL"), 1);
    snprintf(text, sizeof text, "%s      sparsity_profile: null\n      owl_m: null\n", w);
    assert_int_equal(only_errors(state, text, "E-OWL"), 0);
}

/* The loader trace and the TUI use: errors refuse the recipe, at their place
 * in the embedding file; warnings stay; run-time raises become notes. */
static void checked_loading_refuses_errors_and_keeps_warnings(void **state)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    ms_recipe *r = (ms_recipe *)1;
    const char *bad = "s_stage:\n  m_modifiers:\n    GPTQModifier:\n      scheme: W4A16\n"
                      "      group: g\n      blocksize: 1\n";
    assert_int_equal(ms_recipe_parse_checked(*state, bad, strlen(bad), "sc.yaml", 10, 2, &r, &out),
                     MS_ERR_INVALID);
    assert_null(r);
    const ms_diag *d = find_code(&out, "E-GROUP-ARG");
    assert_non_null(d);
    assert_string_equal(d->file, "sc.yaml");
    assert_int_equal(d->line, 15);
    assert_int_equal(d->col, 9);
    assert_non_null(find_code(&out, "E-FIELD-UNKNOWN"));
    ms_diag first;
    assert_int_equal(ms_lint_first_error(&out, &first), MS_ERR_INVALID);
    assert_string_equal(first.code, "E-GROUP-ARG");
    assert_non_null(strstr(first.hint, "(1 more error)"));
    ms_diag_list_free(&out);

    ms_diag_list_init(&out);
    const char *late = "s_stage:\n  m_modifiers:\n    ConstantPruningModifier:\n"
                       "      targets: [a]\n      end: -1\n"
                       "    QuantizationModifier: {targets: Linear}\n";
    assert_int_equal(ms_recipe_parse_checked(*state, late, strlen(late), "sc.yaml", 0, 0, &r, &out),
                     MS_OK);
    assert_non_null(r);
    assert_int_equal(ms_recipe_count(r), 2);
    assert_int_equal(find_code(&out, "W-END-NEG")->severity, MS_SEV_WARNING);
    d = find_code(&out, "E-INITIALIZE");
    assert_int_equal(d->severity, MS_SEV_NOTE);
    assert_non_null(strstr(d->message, "QuantizationModifier requires that quantization fields"));
    assert_int_equal(ms_lint_first_error(&out, &first), MS_OK);
    ms_recipe_free(r);
    ms_diag_list_free(&out);
}

/* x-since/x-until follow the release the schema checks against. */
static void types_exist_from_and_until_their_release(void **state)
{
    (void)state;
    ms_schema *s;
    ms_diag diag;
    assert_int_equal(ms_schema_new(&s, &diag), MS_OK);
    assert_int_equal(ms_schema_upstream_minor(s), 12);
    const char *text = "p_stage:\n  p_modifiers:\n    REAPPruningModifier: {sparsity: 0.5}\n"
                       "    IMatrixGatherer: {}\n";
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(s, text, "r.yaml", NULL, &out);
    const ms_diag *d = find_code(&out, "E-TYPE-VERSION");
    assert_non_null(d);
    assert_int_equal(d->line, 3);
    assert_non_null(strstr(d->message, "exists from llm-compressor 0.13 (use --upstream 0.13)"));
    assert_int_equal(ms_diag_list_count(&out, MS_SEV_ERROR), 1);
    ms_diag_list_free(&out);

    assert_int_equal(ms_schema_set_upstream(s, "0.13"), MS_OK);
    ms_diag_list_init(&out);
    check_text(s, text, "r.yaml", NULL, &out);
    d = find_code(&out, "E-TYPE-VERSION");
    assert_non_null(d);
    assert_int_equal(d->line, 4);
    assert_non_null(strstr(d->message, "IMatrixGatherer was removed in llm-compressor 0.13"));
    assert_int_equal(ms_diag_list_count(&out, MS_SEV_ERROR), 1);
    ms_diag_list_free(&out);
    assert_true(ms_schema_modifier_exists(s, "REAPPruningModifier"));
    assert_false(ms_schema_modifier_exists(s, "IMatrixGatherer"));
    assert_false(ms_schema_modifier_exists(s, "OutputDistillationModifier"));
    assert_true(ms_schema_modifier_exists(s, "GPTQModifier"));
    assert_int_equal(ms_schema_set_upstream(s, "1.x"), MS_ERR_INVALID);
    assert_int_equal(ms_schema_set_upstream(s, "0.12.1"), MS_OK);
    ms_schema_free(s);
}

/* E-INITIALIZE: what upstream loads and then raises from a modifier's hooks. */
static void lint_initialize_time_raises(void **state)
{
    ms_diag_list out;
    ms_diag_list_init(&out);
    check_text(*state,
               "s_stage:\n  m_modifiers:\n    MagnitudePruningModifier:\n      targets: [x]\n"
               "      init_sparsity: 0.1\n      final_sparsity: 0.5\n"
               "      update_scheduler: quadratic\n      mask_structure: channel\n"
               "      apply_globally: \"yes\"\n",
               "r.yaml", NULL, &out);
    assert_int_equal(ms_diag_list_count(&out, MS_SEV_ERROR), 2);
    const ms_diag *d = find_code(&out, "E-INITIALIZE");
    assert_int_equal(d->line, 7);
    assert_non_null(strstr(d->message, "ValueError \"Unknown scheduler type: quadratic\""));
    assert_non_null(strstr(d->hint, "linear, cubic"));
    assert_non_null(strstr(out.items[out.count - 1].message, "global pruning not implemented"));
    ms_diag_list_free(&out);

    /* GPTQ without a config raises at start unless an earlier modifier attached one */
    ms_diag_list_init(&out);
    check_text(*state,
               "q_stage:\n  q_modifiers:\n    QuantizationModifier: {scheme: W8A8}\n"
               "    GPTQModifier: {}\n",
               "r.yaml", NULL, &out);
    assert_int_equal(out.count, 0);
    check_text(*state, "q_stage:\n  q_modifiers:\n    GPTQModifier: {targets: [Linear]}\n",
               "r.yaml", NULL, &out);
    assert_non_null(strstr(find_code(&out, "E-INITIALIZE")->message, "unable to find any"));
    ms_diag_list_free(&out);

    /* AWQ's duo_scaling (default true) with tensor weights; false is fine */
    ms_diag_list_init(&out);
    check_text(*state,
               "q_stage:\n  q_modifiers:\n    AWQModifier: {duo_scaling: both}\n"
               "    GPTQModifier:\n      config_groups:\n        g:\n          targets: [Linear]\n"
               "          weights: {num_bits: 8, strategy: tensor}\n",
               "r.yaml", NULL, &out);
    d = find_code(&out, "E-INITIALIZE");
    assert_non_null(d);
    assert_int_equal(d->line, 3);
    assert_non_null(strstr(d->message, "(line 8)"));
    ms_diag_list_free(&out);
    ms_diag_list_init(&out);
    check_text(*state,
               "q_stage:\n  q_modifiers:\n    AWQModifier: {duo_scaling: false}\n"
               "    GPTQModifier: {scheme: FP8}\n",
               "r.yaml", NULL, &out);
    assert_int_equal(out.count, 0);
    ms_diag_list_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lint_end_minus_one_warns_never_starts),
        cmocka_unit_test(lint_polynomial_decay_default_exponent_is_even),
        cmocka_unit_test(lint_linear_schedule_in_range_is_clean),
        cmocka_unit_test(lint_lifecycle_warnings_follow_the_run),
        cmocka_unit_test(lint_start_never_is_about_index_zero),
        cmocka_unit_test(lint_unknown_type_after_a_valid_one_names_its_group),
        cmocka_unit_test(lint_calc_syntax_error_points_into_the_expression),
        cmocka_unit_test(lint_awq_without_quantization_after_it_is_an_error),
        cmocka_unit_test(lint_stage_filter_keeps_keys_starting_with_it),
        cmocka_unit_test(lint_markdown_front_matter_keeps_file_lines),
        cmocka_unit_test(recipe_bad_input_is_a_clear_error),
        cmocka_unit_test(recipe_format_follows_the_extension),
        cmocka_unit_test(lint_quant_args_cross_field_rules_as_compressed_tensors),
        cmocka_unit_test(lint_gptq_actorder_must_equal_the_schemes_word_for_word),
        cmocka_unit_test(lint_quant_modifier_conflicts_and_owl_all_or_none),
        cmocka_unit_test(checked_loading_refuses_errors_and_keeps_warnings),
        cmocka_unit_test(types_exist_from_and_until_their_release),
        cmocka_unit_test(lint_initialize_time_raises),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
