/* The run upstream makes beside the run the recipe intends: each modifier's
 * outcome in both, and the differences in words (the Timeline's compare). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fixtures.h"
#include "sim/compare.h"

static ms_comparison *compare(const char *recipe_text, ms_recipe **r)
{
    *r = parse_recipe(recipe_text);
    assert_non_null(*r);
    ms_pipeline_config cfg = ms_pipeline_defaults();
    ms_comparison *c = NULL;
    ms_diag diag;
    assert_int_equal(ms_comparison_new(*r, &cfg, &c, &diag), MS_OK);
    return c;
}

/* The fixture's pruning (start 0.5 / 1.5) never starts upstream (index 0);
 * GPTQ runs in its own calibration pass in both runs. */
static void compare_demo_marks_what_upstream_never_runs(void **state)
{
    (void)state;
    ms_recipe *r;
    ms_comparison *c = compare(demo_recipe, &r);
    assert_int_equal(c->n_modifiers, 3);
    assert_true(ms_pipeline_is_upstream(&c->upstream_cfg));
    assert_false(ms_pipeline_is_upstream(&c->intended_cfg));
    char text[320];
    assert_true(ms_outcome_differs(&c->upstream_out[0], &c->intended_out[0]));
    ms_outcome_describe(&c->upstream_out[0], &c->intended_out[0], text, sizeof text);
    assert_string_equal(text, "starts at 0.5 as intended; never starts upstream; ends at 1.5 as "
                              "intended; never ends upstream");
    ms_outcome_describe(&c->upstream_out[1], &c->intended_out[1], text, sizeof text);
    assert_non_null(strstr(text, "starts at 1.5 as intended; never starts upstream"));
    assert_false(ms_outcome_differs(&c->upstream_out[2], &c->intended_out[2]));
    ms_outcome_describe(&c->upstream_out[2], &c->intended_out[2], text, sizeof text);
    assert_string_equal(text, "the same in both runs: starts at 0, ends at 0");
    assert_int_equal(c->n_different, 2);
    ms_comparison_free(c);
    ms_recipe_free(r);
}

/* start 0 starts at initialize in both; with an end, only the intended
 * index reaches it */
static void compare_start_zero_ends_only_as_intended(void **state)
{
    (void)state;
    ms_recipe *r;
    ms_comparison *c = compare("s_stage:\n  p_modifiers:\n    ConstantPruningModifier:\n"
                               "      start: 0\n      end: 2\n      targets: [w]\n",
                               &r);
    char text[320];
    ms_outcome_describe(&c->upstream_out[0], &c->intended_out[0], text, sizeof text);
    assert_string_equal(text, "ends at 2 as intended; never ends upstream");
    assert_int_equal(c->upstream_out[0].start_call, 0);
    assert_int_equal(c->intended_out[0].start_call, 0);
    ms_comparison_free(c);
    ms_recipe_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compare_demo_marks_what_upstream_never_runs),
        cmocka_unit_test(compare_start_zero_ends_only_as_intended),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
