/* YAML documents: positions, PyYAML scalar typing, refusal of bad input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/doc.h"

static ms_doc *parse_ok(const char *text)
{
    ms_doc *doc;
    ms_diag diag;
    assert_int_equal(ms_doc_parse(text, strlen(text), "t.yaml", &doc, &diag), MS_OK);
    return doc;
}

static void doc_nodes_keep_line_and_column(void **state)
{
    (void)state;
    ms_doc *doc = parse_ok("a:\n  b: [1, 2]\n  c: x\n");
    const ms_node *b = ms_node_get(ms_node_get(ms_doc_root(doc), "a"), "b");
    assert_int_equal(b->line, 2);
    assert_int_equal(b->col, 6);
    assert_int_equal(b->items[1]->col, 10);
    ms_doc_free(doc);
}

static void doc_scalars_typed_as_pyyaml(void **state)
{
    (void)state;
    ms_doc *doc = parse_ok("{a: 1, b: 1.5, c: 1e-3, d: yes, e: ~, f: '1', g: 0x10, h: .inf}");
    const ms_node *r = ms_doc_root(doc);
    long long i;
    double d;
    bool b;
    assert_true(ms_node_as_int(ms_node_get(r, "a"), &i) && i == 1);
    assert_true(ms_node_as_double(ms_node_get(r, "b"), &d) && d == 1.5);
    assert_string_equal(ms_node_type_name(ms_node_get(r, "c")), "number");
    assert_true(ms_node_as_bool(ms_node_get(r, "d"), &b) && b);
    assert_true(ms_node_is_null(ms_node_get(r, "e")));
    assert_true(ms_node_is_string(ms_node_get(r, "f"))); /* quoted: a string */
    assert_true(ms_node_as_int(ms_node_get(r, "g"), &i) && i == 16);
    assert_true(ms_node_as_double(ms_node_get(r, "h"), &d) && d > 1e308);
    ms_doc_free(doc);
}

static void doc_lax_numbers_and_booleans_as_pydantic(void **state)
{
    (void)state;
    ms_doc *doc = parse_ok("{a: '128', b: ' 1.0 ', c: '1.5', d: '1_000', e: '1e-3', f: 'Yes',"
                           " g: 1, h: 2, i: '0x10', j: 128, k: y, l: '-inf', m: '1__0'}");
    const ms_node *r = ms_doc_root(doc);
    double d;
    bool b;
    assert_true(ms_node_lax_int(ms_node_get(r, "a"), &d) && d == 128);
    assert_true(ms_node_lax_int(ms_node_get(r, "b"), &d) && d == 1);
    assert_false(ms_node_lax_int(ms_node_get(r, "c"), &d)); /* an int field refuses "1.5" */
    assert_true(ms_node_lax_float(ms_node_get(r, "c"), &d) && d == 1.5);
    assert_true(ms_node_lax_int(ms_node_get(r, "d"), &d) && d == 1000);
    assert_false(ms_node_lax_int(ms_node_get(r, "e"), &d));
    assert_true(ms_node_lax_float(ms_node_get(r, "e"), &d) && d == 1e-3);
    assert_false(ms_node_lax_float(ms_node_get(r, "i"), &d));
    assert_false(ms_node_lax_int(ms_node_get(r, "m"), &d));
    assert_true(ms_node_lax_float(ms_node_get(r, "l"), &d) && d < 0 && isinf(d));
    assert_false(ms_node_lax_int(ms_node_get(r, "j"), &d)); /* a YAML number is no string */
    assert_true(ms_node_lax_bool(ms_node_get(r, "f"), &b) && b);
    assert_true(ms_node_lax_bool(ms_node_get(r, "g"), &b) && b);
    assert_false(ms_node_lax_bool(ms_node_get(r, "h"), &b));
    assert_true(ms_node_lax_bool(ms_node_get(r, "k"), &b) && b);
    assert_true(ms_node_as_pydantic_number(ms_node_get(r, "j"), true, &d) && d == 128);
    assert_false(ms_node_as_pydantic_number(ms_node_get(r, "c"), true, &d));
    assert_true(ms_node_as_pydantic_number(ms_node_get(r, "c"), false, &d) && d == 1.5);
    ms_doc_free(doc);
}

static void doc_duplicate_keys_rejected_with_both_lines(void **state)
{
    (void)state;
    ms_doc *doc;
    ms_diag diag;
    const char *text = "a: 1\nb: 2\na: 3\n";
    assert_int_equal(ms_doc_parse(text, strlen(text), "t.yaml", &doc, &diag), MS_ERR_INVALID);
    assert_string_equal(diag.code, "E-DUPKEY");
    assert_int_equal(diag.line, 3);
    assert_non_null(strstr(diag.hint, "line 1"));
}

static void doc_syntax_error_points_at_position(void **state)
{
    (void)state;
    ms_doc *doc;
    ms_diag diag;
    const char *text = "a: [1, 2\nb: 3\n";
    assert_int_equal(ms_doc_parse(text, strlen(text), "t.yaml", &doc, &diag), MS_ERR_SYNTAX);
    assert_string_equal(diag.code, "E-YAML");
    assert_string_equal(diag.file, "t.yaml");
    assert_true(diag.line >= 1);
}

static void doc_recursive_alias_rejected(void **state)
{
    (void)state;
    ms_doc *doc;
    ms_diag diag;
    const char *text = "a: &x [1, *x]\n";
    assert_int_not_equal(ms_doc_parse(text, strlen(text), "t.yaml", &doc, &diag), MS_OK);
}

static void doc_deep_nesting_rejected(void **state)
{
    (void)state;
    static char text[4000];
    memset(text, '[', 1000);
    memset(text + 1000, ']', 1000);
    ms_doc *doc;
    ms_diag diag;
    assert_int_equal(ms_doc_parse(text, 2000, "t.yaml", &doc, &diag), MS_ERR_LIMIT);
    assert_string_equal(diag.code, "E-DEPTH");
}

static void doc_binary_input_rejected(void **state)
{
    (void)state;
    const char text[] = "a: \xff\xfe\x00\x01";
    ms_doc *doc;
    ms_diag diag;
    assert_int_equal(ms_doc_parse(text, sizeof text - 1, "t.yaml", &doc, &diag), MS_ERR_SYNTAX);
    assert_non_null(strstr(diag.hint, "UTF-8"));
}

static void doc_empty_input_has_no_root(void **state)
{
    (void)state;
    ms_doc *doc = parse_ok("");
    assert_null(ms_doc_root(doc));
    ms_doc_free(doc);
}

static void doc_missing_file_names_the_path(void **state)
{
    (void)state;
    ms_doc *doc;
    ms_diag diag;
    assert_int_equal(ms_doc_load_file("/nonexistent/x.yaml", 1024, &doc, &diag), MS_ERR_IO);
    assert_string_equal(diag.file, "/nonexistent/x.yaml");
}

static void doc_shift_moves_positions(void **state)
{
    (void)state;
    ms_doc *doc = parse_ok("a: 1\n");
    ms_doc_shift(doc, 4, 2);
    const ms_node *a = ms_node_get(ms_doc_root(doc), "a");
    assert_int_equal(a->line, 5);
    assert_int_equal(a->col, 6);
    ms_doc_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doc_nodes_keep_line_and_column),
        cmocka_unit_test(doc_scalars_typed_as_pyyaml),
        cmocka_unit_test(doc_lax_numbers_and_booleans_as_pydantic),
        cmocka_unit_test(doc_duplicate_keys_rejected_with_both_lines),
        cmocka_unit_test(doc_syntax_error_points_at_position),
        cmocka_unit_test(doc_recursive_alias_rejected),
        cmocka_unit_test(doc_deep_nesting_rejected),
        cmocka_unit_test(doc_binary_input_rejected),
        cmocka_unit_test(doc_empty_input_has_no_root),
        cmocka_unit_test(doc_missing_file_names_the_path),
        cmocka_unit_test(doc_shift_moves_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
