/* The simulation session: stepping, going back, breakpoints, history and the
 * explanations, on a two-stage recipe whose transitions are known. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fixtures.h"

/* The intended schedule (not a run upstream makes, which is the point here:
 * it exercises every kind of transition): epochs 2 × 2 steps (index 0, 0.5,
 * 1, 1.5), then sequential calibration over 1 layer (2 subgraphs):
 * 0 initialize, step s at calls 1+5s..5+5s, 21 calibration_epoch_start,
 * 22-23 sequential_epoch_end, 24 calibration_epoch_end, 25 finalize */
static ms_pipeline_config demo_config(void)
{
    ms_pipeline_config cfg = ms_pipeline_defaults();
    cfg.epochs = 2;
    cfg.steps_per_epoch = 2;
    cfg.index_mode = MS_INDEX_STEP;
    cfg.calibration = MS_PIPELINE_SEQUENTIAL;
    cfg.layers = 1; /* two subgraphs */
    return cfg;
}

typedef struct fixture {
    ms_recipe *recipe;
    ms_sim *sim;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->recipe = parse_recipe(demo_recipe);
    ms_pipeline_config cfg = demo_config();
    f->sim = f->recipe ? new_sim(f->recipe, &cfg) : NULL;
    *state = f;
    return f->sim ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ms_sim_free(f->sim);
    ms_recipe_free(f->recipe);
    free(f);
    return 0;
}

static void sim_transitions_stop_where_flags_change(void **state)
{
    ms_sim *sim = ((fixture *)*state)->sim;
    assert_int_equal(ms_sim_call_count(sim), 26);
    static const struct {
        size_t pos;
        int modifier;
        unsigned flags;
    } expect[] = {
        {1, 0, MS_FLAG_INITIALIZED},
        {7, 0, MS_FLAG_INITIALIZED | MS_FLAG_STARTED},
        {17, 1, MS_FLAG_INITIALIZED | MS_FLAG_STARTED},
        {21, 0, MS_FLAG_INITIALIZED | MS_FLAG_STARTED | MS_FLAG_ENDED},
        {22, 2, MS_FLAG_INITIALIZED | MS_FLAG_STARTED},
        {25, 2, MS_FLAG_INITIALIZED | MS_FLAG_STARTED | MS_FLAG_ENDED},
        {26, 0, MS_FLAG_INITIALIZED | MS_FLAG_STARTED | MS_FLAG_ENDED | MS_FLAG_FINALIZED},
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        ms_sim_stop stop = ms_sim_run(sim, MS_GOAL_TRANSITION, 0);
        assert_int_equal(stop.reason, MS_STOP_TRANSITION);
        assert_int_equal(ms_sim_position(sim), expect[i].pos);
        assert_int_equal(stop.modifier, expect[i].modifier);
        assert_int_equal(ms_sim_flags(sim, (size_t)expect[i].modifier), expect[i].flags);
    }
    assert_int_equal(ms_sim_run(sim, MS_GOAL_TRANSITION, 0).reason, MS_STOP_END);
    /* ConstantPruning never reaches end 2: still running when finalized */
    assert_int_equal(ms_sim_flags(sim, 1),
                     MS_FLAG_INITIALIZED | MS_FLAG_STARTED | MS_FLAG_FINALIZED);
}

static void sim_next_step_stops_after_batch_end(void **state)
{
    ms_sim *sim = ((fixture *)*state)->sim;
    assert_int_equal(ms_sim_run(sim, MS_GOAL_STEP, 0).reason, MS_STOP_REACHED);
    assert_int_equal(ms_sim_position(sim), 1); /* initialize is a step of its own */
    ms_sim_run(sim, MS_GOAL_STEP, 0);
    assert_int_equal(ms_sim_position(sim), 6);
    ms_sim_run(sim, MS_GOAL_EVENT, 0);
    assert_int_equal(ms_sim_position(sim), 7);
    ms_sim_run(sim, MS_GOAL_END, 0);
    assert_int_equal(ms_sim_position(sim), 26);
    assert_int_equal(ms_sim_run(sim, MS_GOAL_EVENT, 0).reason, MS_STOP_END);
}

static void sim_step_back_matches_running_forward(void **state)
{
    fixture *f = *state;
    ms_sim *sim = f->sim;
    ms_sim_run(sim, MS_GOAL_END, 0);
    ms_pipeline_config cfg = demo_config();
    for (size_t target = 26; target-- > 0;) {
        ms_sim_run(sim, MS_GOAL_BACK, 0);
        assert_int_equal(ms_sim_position(sim), target);
        ms_sim *fresh = new_sim(f->recipe, &cfg);
        ms_sim_run(fresh, MS_GOAL_SEEK, target);
        for (size_t m = 0; m < 3; m++) {
            assert_int_equal(ms_sim_flags(sim, m), ms_sim_flags(fresh, m));
            assert_int_equal(ms_sim_flags(sim, m), ms_sim_flags_at(sim, m, target));
        }
        ms_sim_free(fresh);
    }
    assert_int_equal(ms_sim_explored(sim), 26);
    ms_sim_run(sim, MS_GOAL_SEEK, 22);
    ms_sim_run(sim, MS_GOAL_RESTART, 0);
    assert_int_equal(ms_sim_position(sim), 0);
    assert_int_equal(ms_sim_flags(sim, 0), 0);
}

static void sim_long_runs_go_back_from_snapshots(void **state)
{
    fixture *f = *state;
    ms_pipeline_config cfg = demo_config();
    cfg.epochs = 200;
    cfg.steps_per_epoch = 100; /* 100,000 training events */
    ms_sim *sim = new_sim(f->recipe, &cfg);
    assert_non_null(sim);
    ms_sim_stop stop;
    ms_sim_begin(sim, MS_GOAL_END, 0);
    size_t slices = 0;
    while (!ms_sim_work(sim, 5000, &stop))
        slices++;
    assert_true(slices >= 19);
    assert_int_equal(stop.reason, MS_STOP_END);
    /* back one call: restores a snapshot at most MS_SIM_SNAPSHOT_EVERY calls back */
    ms_sim_begin(sim, MS_GOAL_BACK, 0);
    size_t done, total;
    ms_sim_progress(sim, &done, &total);
    assert_true(total <= MS_SIM_SNAPSHOT_EVERY);
    while (!ms_sim_work(sim, SIZE_MAX, &stop))
        ;
    assert_int_equal(ms_sim_position(sim), ms_sim_call_count(sim) - 1);
    assert_int_equal(ms_sim_flags(sim, 2), MS_FLAG_INITIALIZED | MS_FLAG_STARTED | MS_FLAG_ENDED);
    /* the pruning curve was sampled: final sparsity 0.5 at the end */
    double v;
    assert_true(ms_sim_metric_at(sim, 0, ms_sim_call_count(sim) - 2, &v));
    assert_true(fabs(v - 0.5) < 1e-12);
    assert_false(ms_sim_metric_at(sim, 1, 0, &v));
    ms_sim_free(sim);
}

static void sim_cancel_stops_a_run_where_it_is(void **state)
{
    ms_sim *sim = ((fixture *)*state)->sim;
    ms_sim_stop stop;
    ms_sim_begin(sim, MS_GOAL_END, 0);
    assert_false(ms_sim_work(sim, 3, &stop));
    assert_true(ms_sim_busy(sim));
    ms_sim_cancel(sim, &stop);
    assert_int_equal(stop.reason, MS_STOP_CANCELLED);
    assert_int_equal(ms_sim_position(sim), 3);
    assert_false(ms_sim_busy(sim));
}

static void sim_breakpoints_on_hook_modifier_and_index(void **state)
{
    ms_sim *sim = ((fixture *)*state)->sim;
    ms_breakpoint on_end = {.modifier = -1, .hook = MS_HOOK_ON_END};
    ms_breakpoint gptq = {.modifier = 2, .hook = -1};
    ms_breakpoint index = {.modifier = -1, .hook = -1, .has_index = true, .index = 1.0};
    ms_breakpoint none = {.modifier = -1, .hook = -1};
    assert_int_equal(ms_sim_break_add(sim, &none), MS_ERR_INVALID);
    assert_int_equal(ms_sim_break_add(sim, &index), MS_OK);
    assert_int_equal(ms_sim_break_add(sim, &index), MS_OK);
    assert_int_equal(ms_sim_break_count(sim), 1);

    ms_sim_stop stop = ms_sim_run(sim, MS_GOAL_BREAKPOINT, 0);
    assert_int_equal(stop.reason, MS_STOP_BREAKPOINT);
    assert_int_equal(ms_sim_position(sim), 12); /* step 2's batch_start, index 1 */
    assert_int_equal(ms_sim_run(sim, MS_GOAL_BREAKPOINT, 0).reason, MS_STOP_END);

    assert_true(ms_sim_break_remove(sim, &index));
    ms_sim_break_add(sim, &on_end);
    ms_sim_break_add(sim, &gptq);
    ms_sim_run(sim, MS_GOAL_RESTART, 0);
    stop = ms_sim_run(sim, MS_GOAL_BREAKPOINT, 0);
    assert_int_equal(ms_sim_position(sim), 1); /* GPTQ initialized */
    assert_int_equal(stop.breakpoint, 1);
    ms_sim_run(sim, MS_GOAL_BREAKPOINT, 0);
    assert_int_equal(ms_sim_position(sim), 21); /* MagnitudePruning on_end */
    ms_sim_run(sim, MS_GOAL_BREAKPOINT, 0);
    assert_int_equal(ms_sim_position(sim), 22); /* GPTQ started */

    char text[64];
    ms_breakpoint_describe(&on_end, text, sizeof text);
    assert_string_equal(text, "any modifier on_end");
    ms_breakpoint_describe(&index, text, sizeof text);
    assert_string_equal(text, "index >= 1");
}

static void sim_records_errors_as_the_lifecycle_raises_them(void **state)
{
    fixture *f = *state;
    ms_call calls[2] = {{.kind = MS_CALL_EVENT}, {.kind = MS_CALL_INITIALIZE}};
    calls[0].event = ms_event_plain(MS_EV_BATCH_START);
    ms_sim *sim;
    ms_diag diag;
    assert_int_equal(ms_sim_new(f->recipe, calls, 2, &sim, &diag), MS_OK);
    ms_sim_stop stop = ms_sim_run(sim, MS_GOAL_TRANSITION, 0);
    assert_int_equal(stop.reason, MS_STOP_ERROR);
    assert_int_equal(ms_sim_last_raise(sim)->kind, MS_RAISE_VALUE_ERROR);
    assert_string_equal(ms_sim_last_raise(sim)->message, "Cannot invoke event before initializing");
    const ms_sim_error *e = ms_sim_error_at(sim, 0);
    assert_non_null(e);
    assert_int_equal(e->modifier, -1);
    assert_null(ms_sim_error_at(sim, 1));
    ms_sim_run(sim, MS_GOAL_EVENT, 0);
    assert_int_equal(ms_sim_last_raise(sim)->kind, MS_RAISE_NONE);
    ms_sim_run(sim, MS_GOAL_BACK, 0);
    assert_int_equal(ms_sim_last_raise(sim)->kind, MS_RAISE_VALUE_ERROR);

    ms_sim_explanation ex;
    assert_int_equal(ms_sim_explain(sim, 0, 0, &ex), MS_OK);
    assert_int_equal(ex.rule, MS_RULE_RAISES);
    assert_false(ex.reached);
    assert_non_null(strstr(ex.outcome, "ValueError: Cannot invoke event before initializing"));
    ms_sim_free(sim);

    calls[0].kind = MS_CALL_MODIFIER_FINALIZE;
    calls[0].modifier = 3;
    assert_int_equal(ms_sim_new(f->recipe, calls, 2, &sim, &diag), MS_ERR_INVALID);
}

static void sim_history_keeps_hooks_spans_and_marks(void **state)
{
    ms_sim *sim = ((fixture *)*state)->sim;
    ms_sim_run(sim, MS_GOAL_END, 0);
    size_t n;
    const ms_sim_mark *marks = ms_sim_marks(sim, 0, &n);
    /* on_initialize, on_start, on_end, on_finalize */
    assert_int_equal(n, 4);
    assert_int_equal(marks[1].call, 6);
    assert_int_equal(marks[1].hook, MS_HOOK_ON_START);
    assert_int_equal(marks[2].call, 20);
    assert_int_equal(marks[2].hook, MS_HOOK_ON_END);
    const ms_sim_span *spans = ms_sim_updates(sim, 0, &n);
    assert_int_equal(n, 1);
    assert_int_equal(spans[0].first, 6);
    assert_int_equal(spans[0].last, 20);
    assert_int_equal(ms_sim_start_call(sim, 0), 6);
    assert_int_equal(ms_sim_end_call(sim, 0), 20);
    assert_int_equal(ms_sim_end_call(sim, 1), SIZE_MAX);
    assert_string_equal(ms_sim_metric_name(sim, 0), "sparsity");

    ms_sim_hook *hooks;
    assert_int_equal(ms_sim_hooks(sim, 6, 7, true, &hooks, &n), MS_OK);
    assert_int_equal(n, 5);
    assert_int_equal(hooks[0].hook, MS_HOOK_ON_EVENT);
    assert_int_equal(hooks[1].hook, MS_HOOK_ON_START);
    assert_int_equal(hooks[2].hook, MS_HOOK_ON_UPDATE);
    assert_int_equal(hooks[4].modifier, 2);
    free(hooks);
    assert_int_equal(ms_sim_hooks(sim, 21, 22, false, &hooks, &n), MS_OK);
    assert_int_equal(n, 3); /* ConstantPruning, still active: on_update; GPTQ on_start, on_update */
    free(hooks);
    char label[64];
    ms_sim_call_label(sim, 21, label, sizeof label);
    assert_string_equal(label, "calibration_epoch_start");
    assert_true(ms_sim_call_index(sim, 16) == 1.5);
    assert_true(isnan(ms_sim_call_index(sim, 0)));
}

static void sim_explains_start_rules_with_numbers(void **state)
{
    ms_sim *sim = ((fixture *)*state)->sim;
    ms_sim_explanation ex;
    assert_int_equal(ms_sim_explain(sim, 1, 11, &ex), MS_OK);
    assert_int_equal(ex.rule, MS_RULE_NO_START);
    assert_string_equal(ex.text, "did not start: start 1.5 > index 1");
    assert_int_equal(ms_sim_explain(sim, 0, 6, &ex), MS_OK);
    assert_int_equal(ex.rule, MS_RULE_START);
    assert_non_null(strstr(ex.text, "start 0.5 <= index 0.5 < end 1.5"));
    /* in the order they ran: update_event calls on_event first
     * (modifiers/modifier.py:122 at 0.12), then on_start and on_update */
    assert_string_equal(ex.outcome, "ran on_event, on_start, on_update");
    assert_int_equal(ex.flags_before, MS_FLAG_INITIALIZED);
    assert_int_equal(ex.flags_after, MS_FLAG_INITIALIZED | MS_FLAG_STARTED);
    assert_int_equal(ms_sim_explain(sim, 2, 21, &ex), MS_OK);
    assert_int_equal(ex.rule, MS_RULE_START);
    assert_non_null(strstr(ex.text, "calibration_epoch_start"));
    assert_int_equal(ms_sim_explain(sim, 0, 0, &ex), MS_OK);
    assert_int_equal(ex.rule, MS_RULE_INITIALIZE);
    assert_non_null(strstr(ex.text, "start 0.5 > index 0"));
    /* explaining never moves the session */
    assert_int_equal(ms_sim_position(sim), 0);
}

static void sim_explains_ending_without_starting(void **state)
{
    (void)state;
    ms_recipe *r = parse_recipe("s_stage:\n  m_modifiers:\n    ConstantPruningModifier:\n"
                                "      start: 3\n      end: 1\n      targets: [w]\n");
    ms_pipeline_config cfg = demo_config();
    ms_sim *sim = new_sim(r, &cfg);
    ms_sim_explanation ex;
    /* step 2's batch_end: index 1 >= end 1 */
    assert_int_equal(ms_sim_explain(sim, 0, 15, &ex), MS_OK);
    assert_int_equal(ex.rule, MS_RULE_END_UNSTARTED);
    assert_non_null(strstr(ex.text, "ended without starting: index 1 >= end 1"));
    assert_int_equal(ex.flags_after, MS_FLAG_INITIALIZED | MS_FLAG_ENDED);
    ms_sim_free(sim);
    ms_recipe_free(r);
}

/* The explanation predicts what the engine then does, for every modifier and call. */
static void sim_explanations_agree_with_the_engine(void **state)
{
    ms_sim *sim = ((fixture *)*state)->sim;
    for (size_t call = 0; call < ms_sim_call_count(sim); call++)
        for (size_t m = 0; m < 3; m++) {
            ms_sim_explanation ex;
            assert_int_equal(ms_sim_explain(sim, m, call, &ex), MS_OK);
            bool started = ex.hooks & (1u << MS_HOOK_ON_START);
            bool ended = ex.hooks & (1u << MS_HOOK_ON_END);
            bool updated = ex.hooks & (1u << MS_HOOK_ON_UPDATE);
            switch (ex.rule) {
            case MS_RULE_START:
            case MS_RULE_INITIALIZE_START:
                assert_true(started);
                break;
            case MS_RULE_END:
            case MS_RULE_END_UNSTARTED:
                assert_true(ended);
                break;
            case MS_RULE_UPDATE:
                assert_true(updated && !started && !ended);
                break;
            case MS_RULE_NO_START:
            case MS_RULE_IDLE:
                assert_false(started || ended || updated);
                break;
            default:
                break;
            }
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sim_transitions_stop_where_flags_change, setup, teardown),
        cmocka_unit_test_setup_teardown(sim_next_step_stops_after_batch_end, setup, teardown),
        cmocka_unit_test_setup_teardown(sim_step_back_matches_running_forward, setup, teardown),
        cmocka_unit_test_setup_teardown(sim_long_runs_go_back_from_snapshots, setup, teardown),
        cmocka_unit_test_setup_teardown(sim_cancel_stops_a_run_where_it_is, setup, teardown),
        cmocka_unit_test_setup_teardown(sim_breakpoints_on_hook_modifier_and_index, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(sim_records_errors_as_the_lifecycle_raises_them, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(sim_history_keeps_hooks_spans_and_marks, setup, teardown),
        cmocka_unit_test_setup_teardown(sim_explains_start_rules_with_numbers, setup, teardown),
        cmocka_unit_test(sim_explains_ending_without_starting),
        cmocka_unit_test_setup_teardown(sim_explanations_agree_with_the_engine, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
