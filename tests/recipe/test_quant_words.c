/* The quantization and N:M words that recipes and kernel options share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/quant_words.h"

static void strategies_read_as_compressed_tensors_writes_them(void **state)
{
    (void)state;
    assert_int_equal(ms_qstrategy_parse("tensor_group", false), MS_QSTRAT_TENSOR_GROUP);
    assert_int_equal(ms_qstrategy_parse("GROUP", true), MS_QSTRAT_GROUP);
    assert_int_equal(ms_qstrategy_parse("GROUP", false), -1);
    assert_int_equal(ms_qstrategy_parse("grop", true), -1);
    assert_string_equal(ms_qstrategy_name(MS_QSTRAT_ATTN_HEAD), "attn_head");
}

static void actorder_aliases_are_one_value(void **state)
{
    (void)state;
    const char *word = NULL;
    assert_int_equal(ms_qactorder_parse("Dynamic", true, &word), MS_QACT_GROUP);
    assert_string_equal(word, "dynamic");
    assert_int_equal(ms_qactorder_parse("static", false, NULL), MS_QACT_WEIGHT);
    assert_int_equal(ms_qactorder_parse("none", false, NULL), -1);
}

static void nm_is_two_counts_with_n_at_most_m(void **state)
{
    (void)state;
    size_t n = 0, m = 0;
    assert_true(ms_nm_parse("2:4", 64, &n, &m));
    assert_int_equal(n, 2);
    assert_int_equal(m, 4);
    assert_false(ms_nm_parse("4:2", 64, &n, &m));
    assert_false(ms_nm_parse("2/4", 64, &n, &m));
    assert_false(ms_nm_parse("2:4:8", 64, &n, &m));
    assert_false(ms_nm_parse("0:4", 64, &n, &m));
    assert_false(ms_nm_parse("2:128", 64, &n, &m));
    assert_false(ms_nm_parse(" 2:4", 64, &n, &m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strategies_read_as_compressed_tensors_writes_them),
        cmocka_unit_test(actorder_aliases_are_one_value),
        cmocka_unit_test(nm_is_two_counts_with_n_at_most_m),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
