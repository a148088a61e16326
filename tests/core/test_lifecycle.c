/* The modifier and lifecycle rules of upstream's modifier.py and
 * lifecycle.py, one test per rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lifecycle_fixture.h"

static fixture *make(const char *recipe_text)
{
    return fixture_make(recipe_text, MS_UPSTREAM_0_12, true);
}

static ms_event step_event(ms_event_type type, long long step)
{
    ms_event ev = ms_event_plain(type);
    ev.global_step = step;
    return ev;
}

static ms_status send(fixture *f, ms_event_type type, long long step)
{
    ms_event ev = step_event(type, step);
    double loss = 1.0;
    f->log.text[0] = '\0';
    return ms_lifecycle_event(f->lc, &ev, type == MS_EV_LOSS_CALCULATED ? &loss : NULL, &f->raised);
}

#define CONSTANT(start_end)                                                                        \
    "s_stage:\n  g_modifiers:\n    ConstantPruningModifier: {" start_end ", targets: [x]}\n"
#define QUANT "s_stage:\n  g_modifiers:\n    QuantizationModifier: {scheme: W8A8}\n"

static void modifier_initialize_starts_at_index_zero_without_update(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    assert_int_equal(ms_lifecycle_initialize(f->lc, &f->raised), MS_OK);
    assert_string_equal(f->log.text, "0:on_initialize:- 0:on_start:batch_start ");
    assert_true(ms_modifier_started(ms_lifecycle_modifier(f->lc, 0)));
    done(f);
}

static void modifier_initialize_twice_raises_runtime_error(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    assert_int_equal(ms_lifecycle_modifier_initialize(f->lc, 0, &f->raised), MS_OK);
    assert_int_equal(ms_lifecycle_modifier_initialize(f->lc, 0, &f->raised), MS_ERR_RAISED);
    assert_int_equal(f->raised.kind, MS_RAISE_RUNTIME_ERROR);
    assert_int_equal(f->raised.modifier, 0);
    assert_string_equal(f->raised.message,
                        "Cannot initialize a modifier that has already been initialized");
    done(f);
}

static void modifier_update_uninitialized_raises(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    ms_event ev = step_event(MS_EV_BATCH_START, 0);
    assert_int_equal(ms_lifecycle_modifier_update_event(f->lc, 0, &ev, &f->raised), MS_ERR_RAISED);
    assert_string_equal(f->raised.message, "Cannot update an uninitialized modifier");
    done(f);
}

static void modifier_update_finalized_raises(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    ms_event ev = step_event(MS_EV_BATCH_START, 0);
    assert_int_equal(ms_lifecycle_modifier_initialize(f->lc, 0, &f->raised), MS_OK);
    assert_int_equal(ms_lifecycle_modifier_finalize(f->lc, 0, &f->raised), MS_OK);
    assert_int_equal(ms_lifecycle_modifier_update_event(f->lc, 0, &ev, &f->raised), MS_ERR_RAISED);
    assert_string_equal(f->raised.message, "Cannot update a finalized modifier");
    done(f);
}

static void modifier_finalize_uninitialized_raises(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    assert_int_equal(ms_lifecycle_modifier_finalize(f->lc, 0, &f->raised), MS_ERR_RAISED);
    assert_string_equal(f->raised.message, "cannot finalize an uninitialized modifier");
    done(f);
}

static void modifier_finalize_twice_raises(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    assert_int_equal(ms_lifecycle_modifier_initialize(f->lc, 0, &f->raised), MS_OK);
    assert_int_equal(ms_lifecycle_modifier_finalize(f->lc, 0, &f->raised), MS_OK);
    assert_int_equal(ms_lifecycle_modifier_finalize(f->lc, 0, &f->raised), MS_ERR_RAISED);
    assert_string_equal(f->raised.message, "cannot finalize a modifier twice");
    done(f);
}

static void modifier_on_event_runs_before_start(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 1, end: 3"));
    ms_lifecycle_initialize(f->lc, &f->raised);
    assert_int_equal(send(f, MS_EV_BATCH_START, 1), MS_OK);
    assert_string_equal(f->log.text,
                        "0:on_event:batch_start 0:on_start:batch_start 0:on_update:batch_start ");
    done(f);
}

static void modifier_starts_only_on_batch_start(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 1, end: 3"));
    ms_lifecycle_initialize(f->lc, &f->raised);
    send(f, MS_EV_BATCH_START, 0);
    send(f, MS_EV_BATCH_END, 1); /* index 1 is due, but batch_end never starts */
    assert_false(ms_modifier_started(ms_lifecycle_modifier(f->lc, 0)));
    done(f);
}

static void modifier_ends_on_batch_end_without_starting(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 3, end: 1"));
    ms_lifecycle_initialize(f->lc, &f->raised);
    send(f, MS_EV_BATCH_START, 1);
    assert_int_equal(send(f, MS_EV_BATCH_END, 1), MS_OK);
    assert_string_equal(f->log.text,
                        "0:on_event:batch_end 0:on_end:batch_end 0:on_update:batch_end ");
    const ms_modifier *m = ms_lifecycle_modifier(f->lc, 0);
    assert_false(ms_modifier_started(m));
    assert_true(ms_modifier_ended(m));
    done(f);
}

static void modifier_updates_only_while_started_and_not_ended(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 1, end: 2"));
    ms_lifecycle_initialize(f->lc, &f->raised);
    send(f, MS_EV_BATCH_START, 0);
    send(f, MS_EV_OPTIM_POST_STEP, 0);
    assert_string_equal(f->log.text, "0:on_event:optim_post_step ");
    send(f, MS_EV_BATCH_START, 1);
    send(f, MS_EV_OPTIM_POST_STEP, 1);
    assert_string_equal(f->log.text, "0:on_event:optim_post_step 0:on_update:optim_post_step ");
    send(f, MS_EV_BATCH_END, 2);
    send(f, MS_EV_BATCH_START, 3);
    assert_string_equal(f->log.text, "0:on_event:batch_start ");
    done(f);
}

static void modifier_should_start_needs_start_and_index_before_end(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 1, end: 3"));
    const ms_modifier *m = ms_lifecycle_modifier(f->lc, 0);
    ms_event at0 = step_event(MS_EV_BATCH_START, 0), at1 = step_event(MS_EV_BATCH_START, 1),
             at3 = step_event(MS_EV_BATCH_START, 3);
    assert_false(ms_modifier_should_start(m, &at0));
    assert_true(ms_modifier_should_start(m, &at1));
    assert_false(ms_modifier_should_start(m, &at3));
    assert_true(ms_modifier_should_end(m, &at3));
    assert_false(ms_modifier_should_end(m, &at1));
    done(f);
    f = make(CONSTANT("end: 3"));
    assert_false(ms_modifier_should_start(ms_lifecycle_modifier(f->lc, 0), &at1));
    done(f);
}

static void modifier_reads_quoted_numbers_as_pydantic(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: '1', end: ' 2.0 '"));
    const ms_modifier *m = ms_lifecycle_modifier(f->lc, 0);
    assert_true(ms_modifier_start(m).set && ms_modifier_start(m).value == 1);
    assert_true(ms_modifier_end(m).set && ms_modifier_end(m).value == 2);
    done(f);
}

static void modifier_starts_in_the_state_the_recipe_sets(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2, initialized_: 'true'"));
    assert_int_equal(ms_lifecycle_initialize(f->lc, &f->raised), MS_ERR_RAISED);
    assert_string_equal(f->raised.message,
                        "Cannot initialize a modifier that has already been initialized");
    ms_lifecycle_reset(f->lc);
    assert_true(ms_modifier_initialized(ms_lifecycle_modifier(f->lc, 0)));
    done(f);
}

static void calibration_modifier_starts_on_calibration_epoch_start(void **state)
{
    (void)state;
    fixture *f = make(QUANT);
    ms_lifecycle_initialize(f->lc, &f->raised);
    assert_int_equal(send(f, MS_EV_CALIBRATION_EPOCH_START, 0), MS_OK);
    assert_string_equal(f->log.text, "0:on_event:calibration_epoch_start 0:on_start:- "
                                     "0:on_update:calibration_epoch_start ");
    assert_int_equal(send(f, MS_EV_CALIBRATION_EPOCH_END, 0), MS_OK);
    assert_string_equal(f->log.text, "0:on_event:calibration_epoch_end 0:on_end:- ");
    assert_true(ms_modifier_ended(ms_lifecycle_modifier(f->lc, 0)));
    done(f);
}

static void calibration_modifier_ends_from_finalize(void **state)
{
    (void)state;
    fixture *f = make("s_stage:\n  g_modifiers:\n    SparseGPTModifier: {sparsity: 0.5}\n");
    ms_lifecycle_initialize(f->lc, &f->raised);
    send(f, MS_EV_CALIBRATION_EPOCH_START, 0);
    f->log.text[0] = '\0';
    assert_int_equal(ms_lifecycle_finalize(f->lc, &f->raised), MS_OK);
    assert_string_equal(f->log.text, "0:on_finalize:- 0:on_end:- ");
    assert_true(ms_modifier_finalized(ms_lifecycle_modifier(f->lc, 0)));
    done(f);
}

static void quantization_modifier_never_counts_as_finalized(void **state)
{
    (void)state;
    fixture *f = make(QUANT);
    ms_lifecycle_initialize(f->lc, &f->raised);
    assert_int_equal(ms_lifecycle_finalize(f->lc, &f->raised), MS_OK);
    assert_false(ms_modifier_finalized(ms_lifecycle_modifier(f->lc, 0)));
    assert_int_equal(ms_lifecycle_modifier_finalize(f->lc, 0, &f->raised), MS_OK);
    done(f);
}

static void lifecycle_initialize_twice_does_nothing(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    assert_int_equal(ms_lifecycle_initialize(f->lc, &f->raised), MS_OK);
    f->log.text[0] = '\0';
    assert_int_equal(ms_lifecycle_initialize(f->lc, &f->raised), MS_OK);
    assert_string_equal(f->log.text, "");
    done(f);
}

static void lifecycle_event_before_initialize_raises(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    assert_int_equal(send(f, MS_EV_BATCH_START, 0), MS_ERR_RAISED);
    assert_int_equal(f->raised.kind, MS_RAISE_VALUE_ERROR);
    assert_int_equal(f->raised.modifier, -1);
    assert_string_equal(f->raised.message, "Cannot invoke event before initializing");
    done(f);
}

static void lifecycle_event_after_finalize_raises(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    ms_lifecycle_initialize(f->lc, &f->raised);
    ms_lifecycle_finalize(f->lc, &f->raised);
    assert_int_equal(send(f, MS_EV_BATCH_START, 0), MS_ERR_RAISED);
    assert_string_equal(f->raised.message, "Cannot invoke event after finalizing");
    done(f);
}

static void lifecycle_rejects_initialize_and_finalize_events(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    ms_lifecycle_initialize(f->lc, &f->raised);
    assert_int_equal(send(f, MS_EV_INITIALIZE, 0), MS_ERR_RAISED);
    assert_string_equal(f->raised.message,
                        "Cannot invoke EventType.INITIALIZE event. Use the corresponding method "
                        "instead.");
    assert_int_equal(send(f, MS_EV_FINALIZE, 0), MS_ERR_RAISED);
    done(f);
}

static void lifecycle_order_starts_as_if_after_batch_end(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    ms_lifecycle_initialize(f->lc, &f->raised);
    assert_int_equal(send(f, MS_EV_LOSS_CALCULATED, 0), MS_ERR_RAISED);
    assert_non_null(strstr(f->raised.message, "Instead, EventType.BATCH_END was called before "
                                              "EventType.LOSS_CALCULATED"));
    assert_string_equal(f->log.text, ""); /* no modifier saw it */
    assert_int_equal(send(f, MS_EV_BATCH_START, 0), MS_OK);
    done(f);
}

static void lifecycle_order_rejects_batch_start_twice(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    ms_lifecycle_initialize(f->lc, &f->raised);
    assert_int_equal(send(f, MS_EV_BATCH_START, 0), MS_OK);
    assert_int_equal(send(f, MS_EV_BATCH_START, 0), MS_ERR_RAISED);
    assert_int_equal(send(f, MS_EV_OPTIM_PRE_STEP, 0), MS_OK); /* the failed one was not kept */
    assert_int_equal(send(f, MS_EV_LOSS_CALCULATED, 0), MS_ERR_RAISED);
    assert_int_equal(send(f, MS_EV_OPTIM_PRE_STEP, 0), MS_OK); /* repeats are fine */
    assert_int_equal(send(f, MS_EV_BATCH_START, 1), MS_OK);
    done(f);
}

static void lifecycle_calibration_events_are_not_order_checked(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    ms_lifecycle_initialize(f->lc, &f->raised);
    send(f, MS_EV_BATCH_START, 0);
    assert_int_equal(send(f, MS_EV_CALIBRATION_EPOCH_END, 0), MS_OK);
    assert_int_equal(send(f, MS_EV_LOSS_CALCULATED, 0), MS_OK);
    done(f);
}

static void lifecycle_missing_loss_checked_after_order(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    ms_lifecycle_initialize(f->lc, &f->raised);
    send(f, MS_EV_BATCH_START, 0);
    ms_event ev = step_event(MS_EV_LOSS_CALCULATED, 0);
    assert_int_equal(ms_lifecycle_event(f->lc, &ev, NULL, &f->raised), MS_ERR_RAISED);
    assert_string_equal(f->raised.message, "Loss must be provided for loss calculated event");
    /* the order moved on to loss_calculated: batch_start is fine, optim steps too */
    assert_int_equal(send(f, MS_EV_OPTIM_PRE_STEP, 0), MS_OK);
    done(f);
}

static void lifecycle_finalize_before_initialize_raises(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    assert_int_equal(ms_lifecycle_finalize(f->lc, &f->raised), MS_ERR_RAISED);
    assert_string_equal(f->raised.message, "Cannot finalize before initializing");
    done(f);
}

static void lifecycle_finalize_twice_raises(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    ms_lifecycle_initialize(f->lc, &f->raised);
    assert_int_equal(ms_lifecycle_finalize(f->lc, &f->raised), MS_OK);
    assert_int_equal(ms_lifecycle_finalize(f->lc, &f->raised), MS_ERR_RAISED);
    assert_string_equal(f->raised.message, "Cannot finalize more than once");
    done(f);
}

static void lifecycle_error_stops_at_raising_modifier(void **state)
{
    (void)state;
    fixture *f = make("s_stage:\n  a_modifiers:\n    ConstantPruningModifier: {start: 0, end: 5, "
                      "targets: [a]}\n  b_modifiers:\n    ConstantPruningModifier: {start: 0, "
                      "end: 5, targets: [b]}\n  c_modifiers:\n    ConstantPruningModifier: "
                      "{start: 0, end: 5, targets: [c]}\n");
    ms_lifecycle_initialize(f->lc, &f->raised);
    ms_lifecycle_modifier_finalize(f->lc, 1, &f->raised);
    assert_int_equal(send(f, MS_EV_BATCH_START, 1), MS_ERR_RAISED);
    assert_int_equal(f->raised.modifier, 1);
    assert_string_equal(f->log.text, "0:on_event:batch_start 0:on_update:batch_start ");
    done(f);
}

static void lifecycle_failed_initialize_stays_uninitialized(void **state)
{
    (void)state;
    fixture *f = make("s_stage:\n  g_modifiers:\n    QuantizationModifier: {targets: [Linear]}\n");
    assert_int_equal(ms_lifecycle_initialize(f->lc, &f->raised), MS_ERR_RAISED);
    assert_int_equal(f->raised.kind, MS_RAISE_VALUE_ERROR);
    assert_int_equal(f->raised.modifier, 0);
    assert_false(ms_lifecycle_initialized(f->lc));
    done(f);
}

static void lifecycle_reset_forgets_progress(void **state)
{
    (void)state;
    fixture *f = make(CONSTANT("start: 0, end: 2"));
    ms_lifecycle_initialize(f->lc, &f->raised);
    send(f, MS_EV_BATCH_START, 0);
    ms_lifecycle_reset(f->lc);
    assert_false(ms_lifecycle_initialized(f->lc));
    assert_false(ms_modifier_initialized(ms_lifecycle_modifier(f->lc, 0)));
    assert_int_equal(send(f, MS_EV_BATCH_START, 0), MS_ERR_RAISED);
    assert_int_equal(ms_lifecycle_initialize(f->lc, &f->raised), MS_OK);
    assert_int_equal(send(f, MS_EV_BATCH_START, 0), MS_OK);
    done(f);
}

static void magnitude_pruning_reports_scheduler_sparsity(void **state)
{
    (void)state;
    fixture *f = make("s_stage:\n  g_modifiers:\n    MagnitudePruningModifier: {start: 0, end: 4, "
                      "init_sparsity: 0.1, final_sparsity: 0.5, update_scheduler: linear, "
                      "targets: [x]}\n");
    const ms_modifier *m = ms_lifecycle_modifier(f->lc, 0);
    double v;
    bool has;
    assert_string_equal(ms_modifier_metric(m, &v, &has), "sparsity");
    assert_false(has);
    ms_lifecycle_initialize(f->lc, &f->raised);
    ms_modifier_metric(m, &v, &has);
    assert_true(has);
    assert_true(v == 0.1);
    send(f, MS_EV_BATCH_START, 2);
    ms_modifier_metric(m, &v, &has);
    assert_true(v == 0.1 + 0.4 * 0.5);
    send(f, MS_EV_OPTIM_POST_STEP, 3); /* only batch_start recomputes */
    ms_modifier_metric(m, &v, &has);
    assert_true(v == 0.1 + 0.4 * 0.5);
    done(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(modifier_initialize_starts_at_index_zero_without_update),
        cmocka_unit_test(modifier_initialize_twice_raises_runtime_error),
        cmocka_unit_test(modifier_update_uninitialized_raises),
        cmocka_unit_test(modifier_update_finalized_raises),
        cmocka_unit_test(modifier_finalize_uninitialized_raises),
        cmocka_unit_test(modifier_finalize_twice_raises),
        cmocka_unit_test(modifier_on_event_runs_before_start),
        cmocka_unit_test(modifier_starts_only_on_batch_start),
        cmocka_unit_test(modifier_ends_on_batch_end_without_starting),
        cmocka_unit_test(modifier_updates_only_while_started_and_not_ended),
        cmocka_unit_test(modifier_should_start_needs_start_and_index_before_end),
        cmocka_unit_test(modifier_reads_quoted_numbers_as_pydantic),
        cmocka_unit_test(modifier_starts_in_the_state_the_recipe_sets),
        cmocka_unit_test(calibration_modifier_starts_on_calibration_epoch_start),
        cmocka_unit_test(calibration_modifier_ends_from_finalize),
        cmocka_unit_test(quantization_modifier_never_counts_as_finalized),
        cmocka_unit_test(lifecycle_initialize_twice_does_nothing),
        cmocka_unit_test(lifecycle_event_before_initialize_raises),
        cmocka_unit_test(lifecycle_event_after_finalize_raises),
        cmocka_unit_test(lifecycle_rejects_initialize_and_finalize_events),
        cmocka_unit_test(lifecycle_order_starts_as_if_after_batch_end),
        cmocka_unit_test(lifecycle_order_rejects_batch_start_twice),
        cmocka_unit_test(lifecycle_calibration_events_are_not_order_checked),
        cmocka_unit_test(lifecycle_missing_loss_checked_after_order),
        cmocka_unit_test(lifecycle_finalize_before_initialize_raises),
        cmocka_unit_test(lifecycle_finalize_twice_raises),
        cmocka_unit_test(lifecycle_error_stops_at_raising_modifier),
        cmocka_unit_test(lifecycle_failed_initialize_stays_uninitialized),
        cmocka_unit_test(lifecycle_reset_forgets_progress),
        cmocka_unit_test(magnitude_pruning_reports_scheduler_sparsity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
