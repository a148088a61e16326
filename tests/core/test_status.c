/* Diagnostic lists: the cap that keeps a million problems from exhausting memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/status.h"

static ms_diag *add(ms_diag_list *list, ms_severity sev, int line, ...)
{
    va_list ap;
    va_start(ap, line);
    ms_diag *d = ms_diag_list_addv(list, sev, "E-TEST", "t.yaml", line, 1, "item %d", ap);
    va_end(ap);
    return d;
}

static void diag_list_keeps_the_first_1000_and_counts_the_rest(void **state)
{
    (void)state;
    ms_diag_list list;
    ms_diag_list_init(&list);
    for (int i = 0; i < 1500; i++) {
        ms_diag *d = add(&list, i % 2 ? MS_SEV_WARNING : MS_SEV_ERROR, i + 1, i);
        assert_non_null(d); /* past the cap too: callers set the hint of what they added */
        ms_diag_hint(d, "hint %d", i);
    }
    assert_int_equal(list.count, MS_DIAG_LIST_MAX);
    assert_int_equal(ms_diag_list_dropped(&list), 500);
    assert_string_equal(list.items[999].message, "item 999");
    assert_string_equal(list.items[999].hint, "hint 999");
    /* counts include what was dropped, so exit codes and totals stay right */
    assert_int_equal(ms_diag_list_count(&list, MS_SEV_ERROR), 750);
    assert_int_equal(ms_diag_list_count(&list, MS_SEV_WARNING), 750);

    ms_diag_list all;
    ms_diag_list_init(&all);
    ms_diag one;
    ms_diag_set(&one, MS_ERR_INVALID, "E-TEST", "a.yaml", 1, 1, "first");
    assert_int_equal(ms_diag_list_add(&all, &one), MS_OK);
    assert_int_equal(ms_diag_list_move(&all, &list), MS_OK);
    assert_int_equal(all.count, MS_DIAG_LIST_MAX);
    assert_int_equal(ms_diag_list_dropped(&all), 501);
    assert_int_equal(ms_diag_list_count(&all, MS_SEV_ERROR), 751);
    assert_int_equal(list.count, 0);
    ms_diag_list_free(&all);
    assert_int_equal(ms_diag_list_dropped(&all), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(diag_list_keeps_the_first_1000_and_counts_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
