/* Pipeline generators against the event orders of upstream's training loop
 * and calibration pipelines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fixtures.h"

static int setup(void **state)
{
    *state = parse_recipe(demo_recipe);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    ms_recipe_free(*state);
    return 0;
}

static ms_call *generate(const ms_recipe *r, const ms_pipeline_config *cfg, size_t *n)
{
    ms_call *calls = NULL;
    ms_diag diag;
    ms_diag_clear(&diag);
    assert_int_equal(ms_pipeline_generate(cfg, r, &calls, n, &diag), MS_OK);
    return calls;
}

static void pipeline_training_sends_five_events_per_step(void **state)
{
    ms_pipeline_config cfg = ms_pipeline_defaults();
    cfg.epochs = 2;
    cfg.steps_per_epoch = 3;
    cfg.calibration = MS_PIPELINE_NONE;
    size_t n;
    ms_call *calls = generate(*state, &cfg, &n);
    assert_int_equal(n, 2 + 2 * 3 * 5);
    assert_int_equal(calls[0].kind, MS_CALL_INITIALIZE);
    assert_int_equal(calls[n - 1].kind, MS_CALL_FINALIZE);
    static const ms_event_type order[] = {MS_EV_BATCH_START, MS_EV_LOSS_CALCULATED,
                                          MS_EV_OPTIM_PRE_STEP, MS_EV_OPTIM_POST_STEP,
                                          MS_EV_BATCH_END};
    for (size_t i = 1; i + 1 < n; i++) {
        assert_int_equal(calls[i].kind, MS_CALL_EVENT);
        assert_int_equal(calls[i].event.type, order[(i - 1) % 5]);
        assert_int_equal(calls[i].event.global_step, (long long)((i - 1) / 5));
        assert_true(calls[i].event.epoch_based);
        assert_int_equal(calls[i].has_loss, calls[i].event.type == MS_EV_LOSS_CALCULATED);
    }
    /* step 4 of 3 per epoch is epoch 1.333.. */
    assert_true(ms_event_current_index(&calls[1 + 4 * 5].event) == 4.0 / 3.0);
    free(calls);
}

static void pipeline_sequential_ends_one_epoch_per_layer(void **state)
{
    ms_pipeline_config cfg = ms_pipeline_defaults();
    cfg.epochs = 0;
    cfg.layers = 5;
    size_t n;
    ms_call *calls = generate(*state, &cfg, &n);
    assert_int_equal(n, 2 + 1 + 5 + 1);
    assert_int_equal(calls[1].event.type, MS_EV_CALIBRATION_EPOCH_START);
    for (size_t i = 2; i < 7; i++)
        assert_int_equal(calls[i].event.type, MS_EV_SEQUENTIAL_EPOCH_END);
    assert_int_equal(calls[7].event.type, MS_EV_CALIBRATION_EPOCH_END);
    free(calls);
}

static void pipeline_basic_and_datafree_end_one_epoch(void **state)
{
    ms_pipeline_config cfg = ms_pipeline_defaults();
    cfg.epochs = 0;
    cfg.layers = 7;
    for (ms_pipeline p = MS_PIPELINE_BASIC; p <= MS_PIPELINE_DATAFREE; p++) {
        cfg.calibration = p;
        size_t n;
        ms_call *calls = generate(*state, &cfg, &n);
        assert_int_equal(n, 5);
        assert_int_equal(calls[2].event.type, MS_EV_SEQUENTIAL_EPOCH_END);
        free(calls);
    }
}

static void pipeline_independent_runs_each_modifier_alone(void **state)
{
    ms_pipeline_config cfg = ms_pipeline_defaults();
    cfg.epochs = 0;
    cfg.layers = 2;
    cfg.calibration = MS_PIPELINE_INDEPENDENT;
    size_t n;
    ms_call *calls = generate(*state, &cfg, &n);
    /* pruning modifiers: datafree (3 calls); GPTQ: sequential (2 + 2 layers) */
    assert_int_equal(n, 2 + 3 + 3 + 4);
    assert_int_equal(calls[1].kind, MS_CALL_MODIFIER_UPDATE_EVENT);
    assert_int_equal(calls[1].modifier, 0);
    assert_int_equal(calls[4].modifier, 1);
    assert_int_equal(calls[7].modifier, 2);
    assert_int_equal(calls[9].event.type, MS_EV_SEQUENTIAL_EPOCH_END);
    free(calls);
}

static void pipeline_upstream_index_carries_no_step(void **state)
{
    ms_pipeline_config cfg = ms_pipeline_defaults();
    cfg.index_mode = MS_INDEX_UPSTREAM;
    size_t n;
    ms_call *calls = generate(*state, &cfg, &n);
    for (size_t i = 0; i < n; i++)
        assert_true(ms_event_current_index(&calls[i].event) == 0.0);
    free(calls);
}

static void pipeline_refuses_bad_and_huge_configs(void **state)
{
    ms_pipeline_config cfg = ms_pipeline_defaults();
    ms_call *calls;
    size_t n;
    ms_diag diag;
    cfg.steps_per_epoch = 0;
    assert_int_equal(ms_pipeline_generate(&cfg, *state, &calls, &n, &diag), MS_ERR_INVALID);
    assert_non_null(strstr(diag.message, "steps_per_epoch"));
    cfg = ms_pipeline_defaults();
    cfg.epochs = 40000000;
    cfg.steps_per_epoch = 40000000;
    assert_int_equal(ms_pipeline_generate(&cfg, *state, &calls, &n, &diag), MS_ERR_LIMIT);
    assert_null(calls);
}

static void pipeline_infers_like_upstream(void **state)
{
    (void)state;
    assert_int_equal(ms_pipeline_infer(ms_modifier_type_find("GPTQModifier")),
                     MS_PIPELINE_SEQUENTIAL);
    assert_int_equal(ms_pipeline_infer(ms_modifier_type_find("SmoothQuantModifier")),
                     MS_PIPELINE_SEQUENTIAL);
    assert_int_equal(ms_pipeline_infer(ms_modifier_type_find("ConstantPruningModifier")),
                     MS_PIPELINE_DATAFREE);
    assert_string_equal(ms_pipeline_name(MS_PIPELINE_INDEPENDENT), "independent");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pipeline_training_sends_five_events_per_step),
        cmocka_unit_test(pipeline_sequential_ends_one_epoch_per_layer),
        cmocka_unit_test(pipeline_basic_and_datafree_end_one_epoch),
        cmocka_unit_test(pipeline_independent_runs_each_modifier_alone),
        cmocka_unit_test(pipeline_upstream_index_carries_no_step),
        cmocka_unit_test(pipeline_refuses_bad_and_huge_configs),
        cmocka_unit_test(pipeline_infers_like_upstream),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
