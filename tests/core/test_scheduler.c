/* Pruning schedulers as upstream's pruning/helpers.py computes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "core/scheduler.h"

typedef struct sched_fixture {
    ms_doc *doc;
    ms_scheduler *s;
    ms_raise raised;
    ms_diag diag;
} sched_fixture;

/* Builds a scheduler over [start, end] from 0.1 to 0.5 with `args_yaml`. */
static ms_status build(sched_fixture *f, const char *type, double start, double end,
                       const char *args_yaml)
{
    memset(f, 0, sizeof *f);
    const char *text = args_yaml ? args_yaml : "{}";
    assert_int_equal(ms_doc_parse(text, strlen(text), "t", &f->doc, &f->diag), MS_OK);
    ms_scheduler_settings set = {.start = MS_SOME(start),
                                 .end = MS_SOME(end),
                                 .update = MS_NONE,
                                 .init_sparsity = 0.1,
                                 .final_sparsity = 0.5,
                                 .args = ms_doc_root(f->doc)};
    return ms_scheduler_new(type, &set, "t", 1, 1, &f->s, &f->raised, &f->diag);
}

static void release(sched_fixture *f)
{
    ms_scheduler_free(f->s);
    ms_doc_free(f->doc);
}

static double at(sched_fixture *f, long long step)
{
    ms_event ev = ms_event_plain(MS_EV_BATCH_START);
    ev.global_step = step;
    double v = NAN;
    assert_int_equal(ms_scheduler_eval(f->s, &ev, &v, &f->raised), MS_OK);
    return v;
}

static void scheduler_linear_interpolates(void **state)
{
    (void)state;
    sched_fixture f;
    assert_int_equal(build(&f, "linear", 0, 4, NULL), MS_OK);
    assert_true(at(&f, 0) == 0.1);
    assert_true(at(&f, 2) == 0.1 + 0.4 * 0.5);
    assert_true(at(&f, 4) == 0.1 + 0.4 * 1.0);
    release(&f);
}

static void scheduler_cubic_ignores_scheduler_args(void **state)
{
    (void)state;
    sched_fixture f;
    assert_int_equal(build(&f, "cubic", 0, 4, "{exponent: 2}"), MS_OK);
    assert_true(at(&f, 2) == 0.1 + 0.4 * (pow(-0.5, 3) + 1));
    release(&f);
}

static void scheduler_polynomial_decay_overshoots_for_even_exponent(void **state)
{
    (void)state;
    sched_fixture f;
    assert_int_equal(build(&f, "polynomial_decay", 0, 4, NULL), MS_OK); /* exponent 2 */
    assert_true(fabs(at(&f, 0) - 0.9) < 1e-12);                         /* 2 * final - init */
    assert_true(at(&f, 4) == 0.5);
    release(&f);
}

static void scheduler_polynomial_uses_exponent(void **state)
{
    (void)state;
    sched_fixture f;
    assert_int_equal(build(&f, "polynomial", 0, 4, "{exponent: 3}"), MS_OK);
    assert_true(at(&f, 2) == 0.1 + 0.4 * 0.125);
    release(&f);
}

static void scheduler_multi_step_sorts_steps(void **state)
{
    (void)state;
    sched_fixture f;
    assert_int_equal(build(&f, "multi_step", 0, 4, "{steps: [[3, 0.4], [1, 0.2]]}"), MS_OK);
    assert_true(at(&f, 0) == 0.1);
    assert_true(at(&f, 1) == 0.2);
    assert_true(at(&f, 2) == 0.2);
    assert_true(at(&f, 5) == 0.4);
    release(&f);
}

static void scheduler_calc_sees_upstream_variables(void **state)
{
    (void)state;
    sched_fixture f;
    assert_int_equal(build(&f, "calc(init_sparsity + k * index / end)", 0, 4, "{k: 0.2}"), MS_OK);
    assert_true(at(&f, 2) == 0.1 + 0.2 * 2 / 4.0);
    release(&f);
}

static void scheduler_calc_with_parentheses_raises_invalid(void **state)
{
    (void)state;
    sched_fixture f;
    assert_int_equal(build(&f, "calc(math.sqrt(index))", 0, 4, NULL), MS_ERR_RAISED);
    assert_int_equal(f.raised.kind, MS_RAISE_VALUE_ERROR);
    assert_string_equal(f.raised.message, "invalid calc string calc(math.sqrt(index))");
    release(&f);
}

static void scheduler_unknown_type_raises(void **state)
{
    (void)state;
    sched_fixture f;
    assert_int_equal(build(&f, "quadratic", 0, 4, NULL), MS_ERR_RAISED);
    assert_string_equal(f.raised.message, "Unknown scheduler type: quadratic");
    release(&f);
}

static void scheduler_zero_span_raises_zero_division(void **state)
{
    (void)state;
    sched_fixture f;
    assert_int_equal(build(&f, "linear", 2, 2, NULL), MS_OK);
    ms_event ev = ms_event_plain(MS_EV_BATCH_START);
    double v;
    assert_int_equal(ms_scheduler_eval(f.s, &ev, &v, &f.raised), MS_ERR_RAISED);
    assert_int_equal(f.raised.kind, MS_RAISE_ZERO_DIVISION_ERROR);
    release(&f);
}

static void scheduler_malformed_steps_is_a_diagnostic(void **state)
{
    (void)state;
    sched_fixture f;
    assert_int_equal(build(&f, "multi_step", 0, 4, "{steps: [[1, 0.2], [3]]}"), MS_ERR_INVALID);
    assert_non_null(strstr(f.diag.message, "steps[1]"));
    release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scheduler_linear_interpolates),
        cmocka_unit_test(scheduler_cubic_ignores_scheduler_args),
        cmocka_unit_test(scheduler_polynomial_decay_overshoots_for_even_exponent),
        cmocka_unit_test(scheduler_polynomial_uses_exponent),
        cmocka_unit_test(scheduler_multi_step_sorts_steps),
        cmocka_unit_test(scheduler_calc_sees_upstream_variables),
        cmocka_unit_test(scheduler_calc_with_parentheses_raises_invalid),
        cmocka_unit_test(scheduler_unknown_type_raises),
        cmocka_unit_test(scheduler_zero_span_raises_zero_division),
        cmocka_unit_test(scheduler_malformed_steps_is_a_diagnostic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
