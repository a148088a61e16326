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
    cfg.index_mode = MS_INDEX_STEP;
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

/* upstream's sequential pipeline: a subgraph before the first decoder layer,
 * then one per layer (pipelines/sequential/helpers.py topological_partition) */
static void pipeline_sequential_ends_one_epoch_per_subgraph(void **state)
{
    ms_pipeline_config cfg = ms_pipeline_defaults();
    cfg.calibration = MS_PIPELINE_SEQUENTIAL;
    cfg.layers = 5;
    size_t n;
    ms_call *calls = generate(*state, &cfg, &n);
    assert_int_equal(n, 2 + 1 + 6 + 1);
    assert_int_equal(calls[1].event.type, MS_EV_CALIBRATION_EPOCH_START);
    for (size_t i = 2; i < 8; i++) {
        assert_int_equal(calls[i].event.type, MS_EV_SEQUENTIAL_EPOCH_END);
        assert_false(calls[i].narrowed);
    }
    assert_int_equal(calls[8].event.type, MS_EV_CALIBRATION_EPOCH_END);
    free(calls);
}

static void pipeline_basic_and_datafree_end_one_epoch(void **state)
{
    ms_pipeline_config cfg = ms_pipeline_defaults();
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

/* oneshot's default: initialize, each modifier's own pass through the
 * lifecycle narrowed to it (pipelines/independent/pipeline.py), finalize */
static void pipeline_default_is_oneshot_independent(void **state)
{
    ms_pipeline_config cfg = ms_pipeline_defaults();
    assert_int_equal(cfg.epochs, 0);
    assert_int_equal(cfg.calibration, MS_PIPELINE_INDEPENDENT);
    assert_int_equal(cfg.index_mode, MS_INDEX_UPSTREAM);
    assert_true(ms_pipeline_is_upstream(&cfg));
    cfg.layers = 2;
    size_t n;
    ms_call *calls = generate(*state, &cfg, &n);
    /* pruning modifiers: datafree (3 calls); GPTQ: sequential (2 + 3 subgraphs) */
    assert_int_equal(n, 2 + 3 + 3 + 5);
    assert_int_equal(calls[0].kind, MS_CALL_INITIALIZE);
    for (size_t i = 1; i + 1 < n; i++) {
        assert_int_equal(calls[i].kind, MS_CALL_EVENT);
        assert_true(calls[i].narrowed);
    }
    assert_int_equal(calls[1].modifier, 0);
    assert_int_equal(calls[4].modifier, 1);
    assert_int_equal(calls[7].modifier, 2);
    assert_int_equal(calls[10].event.type, MS_EV_SEQUENTIAL_EPOCH_END);
    assert_int_equal(calls[11].event.type, MS_EV_CALIBRATION_EPOCH_END);
    assert_int_equal(calls[n - 1].kind, MS_CALL_FINALIZE);
    free(calls);
}

static void pipeline_runs_are_labelled(void **state)
{
    char text[200];
    ms_pipeline_config cfg = ms_pipeline_defaults();
    ms_pipeline_describe(&cfg, text, sizeof text);
    assert_non_null(strstr(text, "as upstream runs it"));
    ms_pipeline_config intended = ms_pipeline_intended(&cfg, *state);
    assert_false(ms_pipeline_is_upstream(&intended));
    ms_pipeline_describe(&intended, text, sizeof text);
    assert_non_null(strstr(text, "INTENDED"));
    /* the fixture's pruning schedule reaches epoch 2: a loop of 3 covers it */
    assert_int_equal(intended.epochs, 3);
    cfg.epochs = 2;
    cfg.calibration = MS_PIPELINE_SEQUENTIAL;
    assert_false(ms_pipeline_is_upstream(&cfg));
    ms_pipeline_describe(&cfg, text, sizeof text);
    assert_non_null(strstr(text, "not a run upstream makes"));
    ms_pipeline_config training = ms_pipeline_training(*state);
    assert_true(ms_pipeline_is_upstream(&training));
    assert_int_equal(training.calibration, MS_PIPELINE_NONE);
    ms_pipeline_describe(&training, text, sizeof text);
    assert_non_null(strstr(text, "LifecycleCallbacks"));
}

static void pipeline_upstream_index_carries_no_step(void **state)
{
    ms_pipeline_config cfg = ms_pipeline_defaults();
    cfg.epochs = 3;
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

static ms_pipeline infer_in(const char *recipe_text, ms_upstream upstream)
{
    ms_recipe *r = parse_recipe(recipe_text);
    assert_non_null(r);
    ms_pipeline p = ms_pipeline_infer(ms_recipe_entry_at(r, 0), upstream);
    ms_recipe_free(r);
    return p;
}

static ms_pipeline infer_one(const char *recipe_text)
{
    ms_recipe *r = parse_recipe(recipe_text);
    assert_non_null(r);
    ms_pipeline p = ms_pipeline_infer(ms_recipe_entry_at(r, 0), MS_UPSTREAM_0_12);
    ms_recipe_free(r);
    return p;
}

/* pipelines/registry.py _infer_pipeline at 715e1166c~1 */
static void pipeline_infers_like_upstream(void **state)
{
    (void)state;
    assert_int_equal(infer_one("s_stage:\n  m_modifiers:\n    GPTQModifier: {scheme: W4A16}\n"),
                     MS_PIPELINE_SEQUENTIAL);
    assert_int_equal(infer_one("s_stage:\n  m_modifiers:\n    SmoothQuantModifier: {}\n"),
                     MS_PIPELINE_SEQUENTIAL);
    /* a class-name list: the SmoothQuant subclass is not in it */
    assert_int_equal(
        infer_one("s_stage:\n  m_modifiers:\n    LogarithmicEqualizationModifier: {}\n"),
        MS_PIPELINE_DATAFREE);
    assert_int_equal(
        infer_one("s_stage:\n  m_modifiers:\n    ConstantPruningModifier: {targets: [a]}\n"),
        MS_PIPELINE_DATAFREE);
    /* QuantizationModifier: its config decides */
    assert_int_equal(infer_one("s_stage:\n  m_modifiers:\n    QuantizationModifier: "
                               "{targets: [Linear], scheme: W4A16}\n"),
                     MS_PIPELINE_DATAFREE);
    assert_int_equal(infer_one("s_stage:\n  m_modifiers:\n    QuantizationModifier: "
                               "{targets: [Linear], scheme: FP8_DYNAMIC}\n"),
                     MS_PIPELINE_DATAFREE);
    assert_int_equal(infer_one("s_stage:\n  m_modifiers:\n    QuantizationModifier: "
                               "{targets: [Linear], scheme: fp8}\n"),
                     MS_PIPELINE_SEQUENTIAL);
    assert_int_equal(infer_one("s_stage:\n  m_modifiers:\n    QuantizationModifier: "
                               "{scheme: {NVFP4: [Linear]}}\n"),
                     MS_PIPELINE_SEQUENTIAL);
    assert_int_equal(infer_one("s_stage:\n  m_modifiers:\n    QuantizationModifier: "
                               "{targets: [Linear], scheme: W4A16, kv_cache_scheme: "
                               "{num_bits: 8, type: float}}\n"),
                     MS_PIPELINE_SEQUENTIAL);
    assert_int_equal(infer_one("s_stage:\n  m_modifiers:\n    QuantizationModifier:\n"
                               "      config_groups:\n        g:\n          targets: [Linear]\n"
                               "          input_activations: {num_bits: 8}\n"),
                     MS_PIPELINE_SEQUENTIAL);
    assert_int_equal(infer_one("s_stage:\n  m_modifiers:\n    QuantizationModifier:\n"
                               "      config_groups:\n        g:\n          targets: [Linear]\n"
                               "          input_activations: {num_bits: 8, dynamic: true}\n"),
                     MS_PIPELINE_DATAFREE);
    /* 0.13: the requires_calibration_data field, which LogEq inherits */
    assert_int_equal(infer_in("s_stage:\n  m_modifiers:\n    LogarithmicEqualizationModifier: {}\n",
                              MS_UPSTREAM_0_13),
                     MS_PIPELINE_SEQUENTIAL);
    assert_string_equal(ms_pipeline_name(MS_PIPELINE_INDEPENDENT), "independent");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pipeline_training_sends_five_events_per_step),
        cmocka_unit_test(pipeline_sequential_ends_one_epoch_per_subgraph),
        cmocka_unit_test(pipeline_basic_and_datafree_end_one_epoch),
        cmocka_unit_test(pipeline_default_is_oneshot_independent),
        cmocka_unit_test(pipeline_runs_are_labelled),
        cmocka_unit_test(pipeline_upstream_index_carries_no_step),
        cmocka_unit_test(pipeline_refuses_bad_and_huge_configs),
        cmocka_unit_test(pipeline_infers_like_upstream),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
