/* Strict JSON syntax as json.loads accepts it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/json.h"

static ms_json_error check_bad(const char *text)
{
    ms_json_error err;
    assert_false(ms_json_check(text, strlen(text), 8, &err));
    return err;
}

static void json_accepts_what_json_loads_accepts(void **state)
{
    (void)state;
    static const char *const good[] = {
        "{}",
        " [ ] ",
        "{\"a\": [1, -0.5, 2e3, 1E-2, true, false, null]}",
        "{\"a\": \"\\u00e9\\n\\\"\\/\"}",
        "[NaN, Infinity, -Infinity]",
        "\"x\"",
        "0",
    };
    ms_json_error err;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(ms_json_check(good[i], strlen(good[i]), 8, &err));
}

static void json_names_what_yaml_flow_style_allows(void **state)
{
    (void)state;
    ms_json_error err = check_bad("{\"a\": 1, // note\n}");
    assert_int_equal(err.offset, 9);
    assert_non_null(strstr(err.message, "comments"));
    err = check_bad("{\"a\": [1, 2,]}");
    assert_int_equal(err.offset, 11); /* at the comma */
    assert_non_null(strstr(err.message, "trailing comma before ']'"));
    err = check_bad("{\"a\": 1,}");
    assert_int_equal(err.offset, 7);
    err = check_bad("{'a': 1}");
    assert_int_equal(err.offset, 1);
    assert_non_null(strstr(err.message, "single-quoted"));
    err = check_bad("{\"a\": yes}");
    assert_non_null(strstr(err.message, "'yes' must be quoted"));
    err = check_bad("{a: 1}");
    assert_non_null(strstr(err.message, "'a' must be quoted"));
}

static void json_refuses_bad_numbers_strings_and_structure(void **state)
{
    (void)state;
    assert_non_null(strstr(check_bad("[01]").message, "not a JSON number"));
    assert_non_null(strstr(check_bad("[.5]").message, "must be quoted"));
    assert_non_null(strstr(check_bad("[\"a\tb\"]").message, "control character"));
    assert_non_null(strstr(check_bad("[\"\\x\"]").message, "invalid escape"));
    assert_non_null(strstr(check_bad("[\"\\u12\"]").message, "invalid escape"));
    assert_int_equal(check_bad("[\"abc").offset, 1);
    assert_non_null(strstr(check_bad("{\"a\" 1}").message, "':'"));
    assert_non_null(strstr(check_bad("[1 2]").message, "',' or ']'"));
    assert_non_null(strstr(check_bad("{} {}").message, "end of the text"));
    assert_non_null(strstr(check_bad("{\"a\": ").message, "text ends"));
    assert_non_null(strstr(check_bad("\xEF\xBB\xBF{}").message, "byte order mark"));
}

static void json_leaves_deep_nesting_to_the_parser(void **state)
{
    (void)state;
    ms_json_error err;
    const char *deep = "[[[[[[[[[[[[1,]]]]]]]]]]]]";
    assert_true(ms_json_check(deep, strlen(deep), 8, &err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_accepts_what_json_loads_accepts),
        cmocka_unit_test(json_names_what_yaml_flow_style_allows),
        cmocka_unit_test(json_refuses_bad_numbers_strings_and_structure),
        cmocka_unit_test(json_leaves_deep_nesting_to_the_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
