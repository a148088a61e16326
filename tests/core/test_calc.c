/* calc(...) expressions: evaluated safely, never executed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/calc.h"

static double eval_ok(const char *expr, const ms_calc_var *vars, size_t n)
{
    ms_calc *c;
    ms_diag diag;
    assert_int_equal(ms_calc_parse(expr, &c, &diag), MS_OK);
    double v = NAN;
    char msg[128];
    assert_int_equal(ms_calc_eval(c, vars, n, &v, msg, sizeof msg), MS_CALC_OK);
    ms_calc_free(c);
    return v;
}

static void calc_follows_python_precedence(void **state)
{
    (void)state;
    assert_true(eval_ok("1 + 2 * 3", NULL, 0) == 7);
    assert_true(eval_ok("-2 ** 2", NULL, 0) == -4);      /* ** binds tighter than unary - */
    assert_true(eval_ok("2 ** 3 ** 2", NULL, 0) == 512); /* right-associative */
    assert_true(eval_ok("(1 + 2) * 3", NULL, 0) == 9);
    assert_true(eval_ok("-7 % 3", NULL, 0) == 2); /* Python modulo */
    assert_true(eval_ok("7 // 2", NULL, 0) == 3);
    assert_true(eval_ok("3 > 2", NULL, 0) == 1);
}

static void calc_math_functions(void **state)
{
    (void)state;
    assert_true(eval_ok("math.sqrt(16) + math.floor(2.7) + math.ceil(0.2)", NULL, 0) == 7);
    assert_true(eval_ok("math.pow(2, 10)", NULL, 0) == 1024);
    assert_true(fabs(eval_ok("math.cos(0) + math.sin(0) + math.exp(0) + math.log(1)", NULL, 0) -
                     2) < 1e-12);
}

static void calc_variables(void **state)
{
    (void)state;
    ms_calc_var vars[] = {{"index", 2, false}, {"end", 4, false}};
    assert_true(eval_ok("index / end", vars, 2) == 0.5);
}

static void calc_refuses_anything_but_arithmetic(void **state)
{
    (void)state;
    const char *bad[] = {"__import__('os')", "open('x')", "index.real",
                         "math.system(1)",   "1 +",       "[1]",
                         "lambda: 1",        "1 2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ms_calc *c = NULL;
        ms_diag diag;
        ms_diag_clear(&diag);
        assert_int_not_equal(ms_calc_parse(bad[i], &c, &diag), MS_OK);
        assert_null(c);
        assert_string_equal(diag.code, "E-CALC");
        assert_true(diag.col >= 1);
    }
}

static void calc_reports_the_column_of_the_problem(void **state)
{
    (void)state;
    ms_calc *c;
    ms_diag diag;
    assert_int_equal(ms_calc_parse("index + math.tan(1)", &c, &diag), MS_ERR_SYNTAX);
    assert_int_equal(diag.col, 14);
    assert_non_null(strstr(diag.hint, "math.sqrt"));
}

static void calc_runtime_errors_as_python(void **state)
{
    (void)state;
    ms_calc *c;
    ms_diag diag;
    char msg[128];
    double v;
    assert_int_equal(ms_calc_parse("1 / x", &c, &diag), MS_OK);
    ms_calc_var zero = {"x", 0, false};
    assert_int_equal(ms_calc_eval(c, &zero, 1, &v, msg, sizeof msg), MS_CALC_ZERO_DIVISION);
    assert_int_equal(ms_calc_eval(c, NULL, 0, &v, msg, sizeof msg), MS_CALC_NAME_ERROR);
    assert_string_equal(msg, "name 'x' is not defined");
    ms_calc_var none = {"x", 0, true};
    assert_int_equal(ms_calc_eval(c, &none, 1, &v, msg, sizeof msg), MS_CALC_TYPE_ERROR);
    ms_calc_free(c);
    assert_int_equal(ms_calc_parse("math.sqrt(0 - 1)", &c, &diag), MS_OK);
    assert_int_equal(ms_calc_eval(c, NULL, 0, &v, msg, sizeof msg), MS_CALC_DOMAIN_ERROR);
    ms_calc_free(c);
}

static void calc_lists_its_variables(void **state)
{
    (void)state;
    ms_calc *c;
    ms_diag diag;
    assert_int_equal(ms_calc_parse("a + b * a", &c, &diag), MS_OK);
    assert_int_equal(ms_calc_var_count(c), 2);
    assert_string_equal(ms_calc_var_name(c, 0), "a");
    assert_string_equal(ms_calc_var_name(c, 1), "b");
    ms_calc_free(c);
}

static void calc_deep_nesting_is_refused_not_crashed(void **state)
{
    (void)state;
    char expr[2000];
    memset(expr, '-', 1000);
    strcpy(expr + 1000, "1");
    ms_calc *c = NULL;
    ms_diag diag;
    assert_int_not_equal(ms_calc_parse(expr, &c, &diag), MS_OK);
}

/* A left-associative chain nests one level per term: 100,000 terms used to
 * overflow the stack while evaluating and freeing. */
static void calc_long_chain_is_refused_at_the_depth_limit(void **state)
{
    (void)state;
    size_t terms = 100000;
    char *expr = malloc(terms * 2 + 16);
    assert_non_null(expr);
    char *p = expr + sprintf(expr, "x");
    for (size_t i = 1; i < terms; i++)
        p += sprintf(p, "+1");
    ms_calc *c = NULL;
    ms_diag diag;
    assert_int_equal(ms_calc_parse(expr, &c, &diag), MS_ERR_SYNTAX);
    assert_null(c);
    assert_non_null(strstr(diag.message, "more than 200 operations deep"));
    assert_int_equal(diag.col, 402); /* after the 200th operation: "x" then 200 "+1" */

    /* up to the limit a chain parses and evaluates */
    expr[200 * 2 - 1] = '\0';
    assert_int_equal(ms_calc_parse(expr, &c, &diag), MS_OK);
    ms_calc_var x = {"x", 0.5, false};
    double v;
    assert_int_equal(ms_calc_eval(c, &x, 1, &v, NULL, 0), MS_CALC_OK);
    assert_true(v == 199.5);
    ms_calc_free(c);
    free(expr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(calc_follows_python_precedence),
        cmocka_unit_test(calc_math_functions),
        cmocka_unit_test(calc_variables),
        cmocka_unit_test(calc_refuses_anything_but_arithmetic),
        cmocka_unit_test(calc_reports_the_column_of_the_problem),
        cmocka_unit_test(calc_runtime_errors_as_python),
        cmocka_unit_test(calc_lists_its_variables),
        cmocka_unit_test(calc_deep_nesting_is_refused_not_crashed),
        cmocka_unit_test(calc_long_chain_is_refused_at_the_depth_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
