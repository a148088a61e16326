/* Event index arithmetic, as upstream's core/events/event.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/event.h"

static ms_event epoch_event(long long step, long long spe)
{
    ms_event ev = ms_event_plain(MS_EV_BATCH_START);
    ev.global_step = step;
    ev.steps_per_epoch = spe;
    ev.epoch_based = true;
    return ev;
}

static void event_index_is_global_step_without_clock(void **state)
{
    (void)state;
    ms_event ev = ms_event_plain(MS_EV_BATCH_START);
    ev.global_step = 7;
    assert_true(ms_event_current_index(&ev) == 7.0);
}

static void event_index_is_fractional_epoch_with_steps_per_epoch(void **state)
{
    (void)state;
    ms_event ev = epoch_event(5, 4);
    assert_true(ms_event_current_index(&ev) == 1.25);
}

static void event_plain_event_has_index_zero(void **state)
{
    (void)state;
    ms_event ev = ms_event_plain(MS_EV_BATCH_END);
    assert_true(ms_event_current_index(&ev) == 0.0);
    assert_false(ev.epoch_based);
}

static void event_epoch_fields_follow_python_division(void **state)
{
    (void)state;
    ms_event ev = epoch_event(10, 4);
    ev.global_batch = 21;
    ev.batches_per_step = 2;
    long long epoch, step, batch;
    double full;
    assert_true(ms_event_epoch(&ev, &epoch));
    assert_int_equal(epoch, 2);
    assert_true(ms_event_epoch_full(&ev, &full));
    assert_true(full == 2.5);
    assert_true(ms_event_epoch_step(&ev, &step));
    assert_int_equal(step, 2);
    assert_true(ms_event_epoch_batch(&ev, &batch));
    assert_int_equal(batch, 21 % 8);
}

static void event_epoch_fields_refused_when_not_epoch_based(void **state)
{
    (void)state;
    ms_event ev = ms_event_plain(MS_EV_BATCH_START);
    long long v;
    double d;
    assert_false(ms_event_epoch(&ev, &v));
    assert_false(ms_event_epoch_full(&ev, &d));
    assert_false(ms_event_epoch_step(&ev, &v));
    assert_false(ms_event_epoch_batch(&ev, &v));
}

static void event_should_update_respects_start_end_and_modulo(void **state)
{
    (void)state;
    ms_event ev = ms_event_plain(MS_EV_BATCH_START);
    ev.global_step = 6;
    assert_true(ms_event_should_update(&ev, MS_NONE, MS_NONE, MS_NONE));
    assert_false(ms_event_should_update(&ev, MS_SOME(7), MS_NONE, MS_NONE));
    assert_false(ms_event_should_update(&ev, MS_NONE, MS_SOME(5), MS_NONE));
    assert_true(ms_event_should_update(&ev, MS_SOME(6), MS_SOME(6), MS_NONE)); /* inclusive */
    assert_true(ms_event_should_update(&ev, MS_NONE, MS_NONE, MS_SOME(3)));
    assert_false(ms_event_should_update(&ev, MS_NONE, MS_NONE, MS_SOME(4)));
    assert_true(ms_event_should_update(&ev, MS_NONE, MS_NONE, MS_SOME(0))); /* 0: always */
    assert_true(ms_event_should_update(&ev, MS_NONE, MS_NONE, MS_SOME(-1)));
}

static void event_should_update_uses_float_modulo(void **state)
{
    (void)state;
    ms_event ev = epoch_event(3, 2); /* index 1.5 */
    assert_true(ms_event_should_update(&ev, MS_NONE, MS_NONE, MS_SOME(0.5)));
    assert_false(ms_event_should_update(&ev, MS_NONE, MS_NONE, MS_SOME(0.4)));
}

static void event_python_modulo_takes_sign_of_divisor(void **state)
{
    (void)state;
    assert_true(ms_py_fmod(-1.0, 4.0) == 3.0);
    assert_true(ms_py_fmod(1.0, -4.0) == -3.0);
    assert_true(ms_py_fmod(5.5, 2.0) == 1.5);
}

static void event_names_parse_and_print(void **state)
{
    (void)state;
    ms_event_type t;
    assert_true(ms_event_type_parse("calibration_epoch_start", &t));
    assert_int_equal(t, MS_EV_CALIBRATION_EPOCH_START);
    assert_string_equal(ms_event_type_member(t), "CALIBRATION_EPOCH_START");
    assert_false(ms_event_type_parse("calibration_start", &t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_index_is_global_step_without_clock),
        cmocka_unit_test(event_index_is_fractional_epoch_with_steps_per_epoch),
        cmocka_unit_test(event_plain_event_has_index_zero),
        cmocka_unit_test(event_epoch_fields_follow_python_division),
        cmocka_unit_test(event_epoch_fields_refused_when_not_epoch_based),
        cmocka_unit_test(event_should_update_respects_start_end_and_modulo),
        cmocka_unit_test(event_should_update_uses_float_modulo),
        cmocka_unit_test(event_python_modulo_takes_sign_of_divisor),
        cmocka_unit_test(event_names_parse_and_print),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
