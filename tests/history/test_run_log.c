/* The in-memory history of a run, fed by the record stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "history/run_log.h"

static void hook(ms_run_log *log, size_t call, size_t m, ms_hook h)
{
    ms_sink_emit(ms_run_log_sink(log),
                 &(ms_record){.kind = MS_REC_HOOK, .call = call, .modifier = m, .hook = h});
}

static void flags(ms_run_log *log, size_t call, size_t m, unsigned before, unsigned after)
{
    ms_sink_emit(ms_run_log_sink(log), &(ms_record){.kind = MS_REC_FLAGS,
                                                    .call = call,
                                                    .modifier = m,
                                                    .flags_before = before,
                                                    .flags_after = after});
}

static void marks_spans_and_flags_by_position(void **state)
{
    (void)state;
    bool has_metric[2] = {false, false};
    ms_run_log *log;
    assert_int_equal(ms_run_log_new(2, has_metric, 1, 10, &log), MS_OK);
    hook(log, 0, 0, MS_HOOK_ON_INITIALIZE);
    flags(log, 0, 0, 0, MS_REC_INITIALIZED);
    for (size_t call = 1; call <= 3; call++) {
        hook(log, call, 0, MS_HOOK_ON_EVENT);
        hook(log, call, 0, MS_HOOK_ON_UPDATE);
    }
    hook(log, 5, 0, MS_HOOK_ON_UPDATE);

    size_t n;
    const ms_run_mark *marks = ms_run_log_marks(log, 0, &n);
    assert_int_equal(n, 1); /* on_event and on_update are not marks */
    assert_int_equal(marks[0].call, 0);
    assert_int_equal(marks[0].hook, MS_HOOK_ON_INITIALIZE);
    const ms_run_span *spans = ms_run_log_updates(log, 0, &n);
    assert_int_equal(n, 2); /* consecutive calls merge */
    assert_int_equal(spans[0].first, 1);
    assert_int_equal(spans[0].last, 3);
    assert_int_equal(spans[1].first, 5);
    assert_int_equal(ms_run_log_flags_at(log, 0, 0), 0);
    assert_int_equal(ms_run_log_flags_at(log, 0, 1), MS_REC_INITIALIZED);
    assert_int_equal(ms_run_log_flags_at(log, 0, 9), MS_REC_INITIALIZED);
    assert_null(ms_run_log_marks(log, 1, &n));
    assert_int_equal(n, 0);
    ms_run_log_free(log);
}

static void errors_intern_messages_and_mark_the_modifier(void **state)
{
    (void)state;
    bool has_metric[1] = {false};
    ms_run_log *log;
    assert_int_equal(ms_run_log_new(1, has_metric, 1, 10, &log), MS_OK);
    ms_raise raised = {.kind = MS_RAISE_VALUE_ERROR, .modifier = 0};
    strcpy(raised.message, "no scheme");
    ms_raise lifecycle = {.kind = MS_RAISE_VALUE_ERROR, .modifier = -1};
    strcpy(lifecycle.message, "no scheme");
    ms_sink_emit(ms_run_log_sink(log),
                 &(ms_record){.kind = MS_REC_ERROR, .call = 2, .raised = &raised});
    ms_sink_emit(ms_run_log_sink(log),
                 &(ms_record){.kind = MS_REC_ERROR, .call = 4, .raised = &lifecycle});
    const ms_run_error *a = ms_run_log_error_at(log, 2), *b = ms_run_log_error_at(log, 4);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(ms_run_log_error_at(log, 3));
    assert_int_equal(a->modifier, 0);
    assert_int_equal(b->modifier, -1);
    assert_ptr_equal(a->message, b->message); /* one copy of a repeated text */
    assert_string_equal(a->message, "no scheme");
    size_t n;
    const ms_run_mark *marks = ms_run_log_marks(log, 0, &n);
    assert_int_equal(n, 1);
    assert_int_equal(marks[0].hook, MS_HOOK_COUNT);
    ms_run_log_free(log);
}

static void metric_is_sampled_every_stride(void **state)
{
    (void)state;
    bool has_metric[1] = {true};
    ms_run_log *log;
    assert_int_equal(ms_run_log_new(1, has_metric, 2, 5, &log), MS_OK);
    for (size_t call = 0; call < 4; call++)
        ms_sink_emit(ms_run_log_sink(log), &(ms_record){.kind = MS_REC_METRIC,
                                                        .call = call,
                                                        .metric = "sparsity",
                                                        .module = "",
                                                        .value = (double)call / 10,
                                                        .has_value = call > 0});
    double v;
    assert_false(ms_run_log_metric_at(log, 0, 1, &v)); /* sample of call 0: no value yet */
    assert_true(ms_run_log_metric_at(log, 0, 3, &v));
    assert_true(v == 0.2); /* sample of call 2 covers call 3 */
    assert_false(ms_run_log_metric_at(log, 0, 4, &v));
    ms_run_log_free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(marks_spans_and_flags_by_position),
        cmocka_unit_test(errors_intern_messages_and_mark_the_modifier),
        cmocka_unit_test(metric_is_sampled_every_stride),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
