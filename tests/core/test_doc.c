/* YAML documents: positions, PyYAML scalar typing, refusal of bad input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
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

/* Tags as yaml.safe_load reads them (checked with PyYAML 6: `!!str 3` is '3',
 * `!!int '3'` 3, `!!float 3` 3.0, `!!bool 'YeS'` True, `!!null foo` None). */
static void doc_standard_tags_read_as_safe_load(void **state)
{
    (void)state;
    ms_doc *doc = parse_ok("a: !!str 3\nb: !!int '3'\nc: !!float 3\nd: !!bool 'YeS'\n"
                           "e: !!null foo\nf: !!float '1e3'\ng: !!int 0x1F\nh: ! 3\n"
                           "i: !<tag:yaml.org,2002:str> yes\nj: !!seq [1]\nk: !!map {x: 1}\n"
                           "l: !!float 1e400\n");
    const ms_node *r = ms_doc_root(doc);
    long long i;
    double d;
    bool b;
    assert_true(ms_node_is_string(ms_node_get(r, "a")));
    assert_string_equal(ms_node_get(r, "a")->value, "3");
    assert_true(ms_node_as_int(ms_node_get(r, "b"), &i) && i == 3);
    assert_false(ms_node_as_int(ms_node_get(r, "c"), &i));
    assert_true(ms_node_as_double(ms_node_get(r, "c"), &d) && d == 3.0);
    assert_string_equal(ms_node_get(r, "c")->value, "3.0");
    assert_true(ms_node_as_bool(ms_node_get(r, "d"), &b) && b);
    assert_true(ms_node_is_null(ms_node_get(r, "e")));
    assert_string_equal(ms_node_get(r, "f")->value, "1000.0");
    assert_true(ms_node_as_int(ms_node_get(r, "g"), &i) && i == 31);
    assert_true(ms_node_as_int(ms_node_get(r, "h"), &i) && i == 3);
    assert_true(ms_node_is_string(ms_node_get(r, "i")));
    assert_int_equal(ms_node_get(r, "j")->kind, MS_NODE_SEQ);
    assert_null(ms_node_get(r, "k")->tag);
    assert_true(ms_node_as_double(ms_node_get(r, "l"), &d) && isinf(d)); /* float('1e400') */
    ms_doc_free(doc);
}

static void expect_tag_error(const char *text, int line, int col, const char *in_message,
                             const char *in_hint)
{
    ms_doc *doc;
    ms_diag diag;
    assert_int_not_equal(ms_doc_parse(text, strlen(text), "t.yaml", &doc, &diag), MS_OK);
    assert_string_equal(diag.code, "E-YAML-TAG");
    assert_int_equal(diag.line, line);
    assert_int_equal(diag.col, col);
    assert_non_null(strstr(diag.message, in_message));
    assert_non_null(strstr(diag.hint, in_hint));
}

static void doc_other_tags_refused_at_the_tag(void **state)
{
    (void)state;
    expect_tag_error("m:\n  - !GMPruningModifier\n    end_epoch: 2\n", 2, 5, "'!GMPruningModifier'",
                     "modsim migrate");
    expect_tag_error("a: &x !Foo {x: 1}\n", 1, 7, "'!Foo'", "remove the tag");
    expect_tag_error("a: !int 3\n", 1, 4, "'!int'", "remove the tag");
    expect_tag_error("a: !!python/tuple [1]\n", 1, 4, "'!!python/tuple'", "remove the tag");
    expect_tag_error("a: !!binary aGk=\n", 1, 4, "'!!binary'", "remove the tag");
    expect_tag_error("a: !!int 3.0\n", 1, 4, "integer", "remove the tag");
    expect_tag_error("a: !!bool maybe\n", 1, 4, "yes/no", "remove the tag");
    expect_tag_error("a: !!str {x: 1}\n", 1, 4, "needs a scalar", "remove the tag");
    expect_tag_error("a: !!merge 3\n", 1, 4, "'!!merge'", "remove the tag");
}

static void doc_local_tags_kept_when_asked(void **state)
{
    (void)state;
    ms_doc *doc;
    ms_diag diag;
    const char *text = "m:\n  - !GMPruningModifier\n    end_epoch: 2\n  - !!str 3\n";
    assert_int_equal(ms_doc_parse_tagged(text, strlen(text), "t.yaml", &doc, &diag), MS_OK);
    const ms_node *m = ms_node_get(ms_doc_root(doc), "m");
    assert_string_equal(m->items[0]->tag, "!GMPruningModifier");
    assert_int_equal(m->items[0]->kind, MS_NODE_MAP);
    assert_true(ms_node_is_string(m->items[1]));
    ms_doc_free(doc);
}

/* PyYAML's flatten_mapping: merged pairs first, a list's maps last to first,
 * then the map's own pairs; {<<: [*b, *c], z: 9} is {y: 2, z: 9, x: 1}. */
static void doc_merge_keys_applied_as_pyyaml(void **state)
{
    (void)state;
    ms_doc *doc = parse_ok("b: &b {x: 1, y: 2}\nc: &c {y: 3, z: 4}\na: {<<: [*b, *c], z: 9}\n"
                           "d: {<<: *b, x: 5}\ne: {'<<': 1}\n");
    const ms_node *r = ms_doc_root(doc), *a = ms_node_get(r, "a"), *d = ms_node_get(r, "d");
    long long i;
    assert_int_equal(a->count, 3);
    assert_string_equal(a->keys[0]->value, "y");
    assert_string_equal(a->keys[1]->value, "z");
    assert_string_equal(a->keys[2]->value, "x");
    assert_true(ms_node_as_int(a->items[0], &i) && i == 2);
    assert_true(ms_node_as_int(a->items[1], &i) && i == 9);
    assert_int_equal(d->count, 2);
    assert_true(ms_node_as_int(ms_node_get(d, "x"), &i) && i == 5);
    assert_non_null(ms_node_get(ms_node_get(r, "e"), "<<"));
    ms_doc_free(doc);
}

static void doc_merge_keeps_duplicate_check_and_refuses_scalars(void **state)
{
    (void)state;
    ms_doc *doc;
    ms_diag diag;
    const char *dup = "b: &b {x: 1}\na:\n  <<: *b\n  y: 1\n  y: 2\n";
    assert_int_equal(ms_doc_parse(dup, strlen(dup), "t.yaml", &doc, &diag), MS_ERR_INVALID);
    assert_string_equal(diag.code, "E-DUPKEY");
    assert_int_equal(diag.line, 5);
    const char *scalar = "a: {<<: 3}\n";
    assert_int_equal(ms_doc_parse(scalar, strlen(scalar), "t.yaml", &doc, &diag), MS_ERR_SYNTAX);
    assert_string_equal(diag.code, "E-YAML");
    assert_int_equal(diag.col, 9);
    const char *list = "b: &b {x: 1}\na: {<<: [*b, 2]}\n";
    assert_int_equal(ms_doc_parse(list, strlen(list), "t.yaml", &doc, &diag), MS_ERR_SYNTAX);
    assert_non_null(strstr(diag.message, "integer"));
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
    /* libyaml notices the unclosed '[' only at "b:" on line 2 (PyYAML says
     * "while parsing a flow sequence in line 1, column 4" too): the
     * diagnostic points at the bracket and names where parsing stopped */
    assert_int_equal(diag.line, 1);
    assert_int_equal(diag.col, 4);
    assert_non_null(
        strstr(diag.message, "the '[' here is not closed (parsing stopped 1 line below"));
    assert_string_equal(diag.hint, "close it with ']' after its last item");
}

/* libyaml reports a tab as "found character that cannot start any token";
 * the message says it is a tab, at the tab's own line and column. */
static void doc_tab_named_where_it_is(void **state)
{
    (void)state;
    ms_doc *doc;
    ms_diag diag;
    const char *indent = "stage:\n  mods:\n   \t  Q: {}\n";
    assert_int_equal(ms_doc_parse(indent, strlen(indent), "t.yaml", &doc, &diag), MS_ERR_SYNTAX);
    assert_string_equal(diag.code, "E-YAML");
    assert_int_equal(diag.line, 3);
    assert_int_equal(diag.col, 4);
    assert_non_null(strstr(diag.message, "a tab indents this line: YAML indents with spaces"));
    assert_non_null(strstr(diag.hint, "spaces"));
    const char *inner = "a:\n  - 1\n  -\t- 2\n";
    assert_int_equal(ms_doc_parse(inner, strlen(inner), "t.yaml", &doc, &diag), MS_ERR_SYNTAX);
    assert_int_equal(diag.line, 3);
    assert_int_equal(diag.col, 4);
    assert_non_null(strstr(diag.message, "a tab where YAML expects"));
    /* another character that cannot start a token keeps libyaml's words */
    const char *at = "a: @x\n";
    assert_int_equal(ms_doc_parse(at, strlen(at), "t.yaml", &doc, &diag), MS_ERR_SYNTAX);
    assert_non_null(strstr(diag.message, "cannot start any token"));
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

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

/* 100,000 keys in one map took 19 s (each compared with all before it). */
static void doc_100k_keys_are_checked_in_linear_time(void **state)
{
    (void)state;
    size_t n = 100000, cap = n * 24 + 64, len = 0;
    char *yaml = malloc(cap), *json = malloc(cap);
    assert_true(yaml && json);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(yaml + len, cap - len, "key%zu: %zu\n", i, i);
    size_t jlen = (size_t)snprintf(json, cap, "{");
    for (size_t i = 0; i < n; i++)
        jlen += (size_t)snprintf(json + jlen, cap - jlen, "%s\"key%zu\": %zu", i ? "," : "", i, i);
    jlen += (size_t)snprintf(json + jlen, cap - jlen, "}");
    struct timespec t0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    ms_doc *doc;
    ms_diag diag;
    assert_int_equal(ms_doc_parse(yaml, len, "t.yaml", &doc, &diag), MS_OK);
    assert_int_equal(ms_doc_root(doc)->count, n);
    ms_doc_free(doc);
    assert_int_equal(ms_doc_parse_json(json, jlen, "t.json", &doc, &diag), MS_OK);
    assert_int_equal(ms_doc_root(doc)->count, n);
    ms_doc_free(doc);
    double s = seconds_since(&t0);
    /* CPU seconds: 0.1 s (all of test_doc: 0.8 s under ASan); quadratic took minutes */
    if (s > 3.0)
        fail_msg("100,000 keys took %.2f s", s);

    /* a repeat of the 50,000th key, found in the hashed part of the map */
    len += (size_t)snprintf(yaml + len, cap - len, "key49999: again\n");
    assert_int_equal(ms_doc_parse(yaml, len, "t.yaml", &doc, &diag), MS_ERR_INVALID);
    assert_string_equal(diag.code, "E-DUPKEY");
    assert_int_equal(diag.line, (int)n + 1);
    assert_non_null(strstr(diag.hint, "line 50000"));
    /* and a repeat in a small (scanned) map */
    const char *small = "{\"a\": 1, \"b\": 2, \"a\": 3}";
    assert_int_equal(ms_doc_parse_json(small, strlen(small), "t.json", &doc, &diag),
                     MS_ERR_INVALID);
    assert_string_equal(diag.code, "E-DUPKEY");
    assert_int_equal(diag.col, 18);
    free(yaml);
    free(json);
}

/* Anchors each nesting the one before: 300 levels once expanded, in a file
 * only 3 levels deep. Readers walk the expanded tree, so the bound counts it. */
static void doc_depth_counts_aliases_expanded(void **state)
{
    (void)state;
    static char text[16000];
    int len = snprintf(text, sizeof text, "l0: &a0 [1]\n");
    for (int i = 1; i < 300; i++)
        len += snprintf(text + len, sizeof text - (size_t)len, "l%d: &a%d [*a%d]\n", i, i, i - 1);
    ms_doc *doc;
    ms_diag diag;
    assert_int_equal(ms_doc_parse(text, (size_t)len, "t.yaml", &doc, &diag), MS_ERR_LIMIT);
    assert_string_equal(diag.code, "E-DEPTH");
    /* anchor aN has N + 2 levels; l255's sequence (depth 1) holds *a254
     * (depth 2), whose 256 levels would end at depth 257 */
    assert_int_equal(diag.line, 256);
    assert_int_equal(diag.col, 14);
    assert_non_null(strstr(diag.message, "*a254"));

    /* 250 levels expanded are within the bound */
    len = snprintf(text, sizeof text, "l0: &a0 [1]\n");
    for (int i = 1; i < 250; i++)
        len += snprintf(text + len, sizeof text - (size_t)len, "l%d: &a%d [*a%d]\n", i, i, i - 1);
    ms_doc_free(parse_ok(text));
}

/* Each alias looked its anchor up among all defined before it: 100,000
 * anchors and 100,000 aliases of the first one took minutes. */
static void doc_100k_anchors_are_found_in_linear_time(void **state)
{
    (void)state;
    size_t n = 100000, cap = n * 20 + 64, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text + len, cap - len, "a: [");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "&x%zu %zu, ", i, i);
    len += (size_t)snprintf(text + len, cap - len, "&x7 redefined]\nb: [");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "*x0, ");
    len += (size_t)snprintf(text + len, cap - len, "*x99999, *x7]\n");
    struct timespec t0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    ms_doc *doc;
    ms_diag diag;
    assert_int_equal(ms_doc_parse(text, len, "t.yaml", &doc, &diag), MS_OK);
    double s = seconds_since(&t0);
    if (s > 3.0) /* CPU seconds: 0.1 s without sanitizers; the linear scan took minutes */
        fail_msg("100,000 anchors and aliases took %.2f s", s);
    const ms_node *b = ms_node_get(ms_doc_root(doc), "b");
    assert_int_equal(b->count, n + 2);
    assert_string_equal(b->items[0]->value, "0");
    assert_string_equal(b->items[n]->value, "99999");
    /* the latest definition of a name wins, as in YAML */
    assert_string_equal(b->items[n + 1]->value, "redefined");
    ms_doc_free(doc);
    free(text);
}

/* The JSON reader takes what json.loads and serde_json take, nothing more. */
static void doc_json_is_strict(void **state)
{
    (void)state;
    const char *good = "{\"a\": [1, -2.5e3, true, false, null, \"\\u00e9\\ud83d\\ude00\\n\"],"
                       " \"b\": {}, \"c\": []}";
    ms_doc *doc;
    ms_diag diag;
    assert_int_equal(ms_doc_parse_json(good, strlen(good), "t.json", &doc, &diag), MS_OK);
    const ms_node *a = ms_node_get(ms_doc_root(doc), "a");
    long long i;
    double d;
    assert_true(ms_node_as_int(a->items[0], &i) && i == 1);
    assert_true(ms_node_as_double(a->items[1], &d) && d == -2500);
    assert_true(ms_node_is_null(a->items[4]));
    assert_string_equal(a->items[5]->value, "\xc3\xa9\xf0\x9f\x98\x80\n");
    assert_true(a->items[5]->quoted);
    ms_doc_free(doc);

    static const struct {
        const char *text;
        int col;
        const char *says;
    } bad[] = {
        {"{a: 1}", 2, "a key in double quotes"},
        {"{\"a\": 1,}", 9, "a key in double quotes"},
        {"[1, 2,]", 7, "a value"},
        {"{\"a\": 'x'}", 7, "a value"},
        {"{\"a\": NaN}", 7, "a value"},
        {"{\"a\": 01}", 8, "after the value"},
        {"[1] // c", 5, "the end of the text"},
        {"\"\\ud800\"", 2, "lone surrogate"},
        {"\"\\u0000\"", 2, "NUL"},
        {"\"a\tb\"", 3, "control character 0x09"},
        {"[\"\xc3\x28\"]", 3, "0xc3 is not UTF-8"},
        {"[\"abc", 2, "unterminated string"},
        {"", 1, "a value"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ms_status st = ms_doc_parse_json(bad[k].text, strlen(bad[k].text), "t.json", &doc, &diag);
        if (st != MS_ERR_SYNTAX || diag.line != 1 || diag.col != bad[k].col ||
            !strstr(diag.message, bad[k].says))
            fail_msg("'%s': status %d at %d:%d '%s'", bad[k].text, st, diag.line, diag.col,
                     diag.message);
        assert_string_equal(diag.code, "E-JSON");
    }
    char deep[600];
    memset(deep, '[', 300);
    memset(deep + 300, ']', 300);
    assert_int_equal(ms_doc_parse_json(deep, 600, "t.json", &doc, &diag), MS_ERR_LIMIT);
    assert_string_equal(diag.code, "E-DEPTH");
}

/* libyaml reports a bad byte by offset: it is shown at its line and column. */
static void doc_bad_bytes_are_reported_where_they_are(void **state)
{
    (void)state;
    const char text[] = "a: 1\nbb: x\x01y\n";
    ms_doc *doc;
    ms_diag diag;
    assert_int_equal(ms_doc_parse(text, sizeof text - 1, "t.yaml", &doc, &diag), MS_ERR_SYNTAX);
    assert_int_equal(diag.line, 2);
    assert_int_equal(diag.col, 6);
    const char nul[] = "a: 1\r\n\xc3\xa9: \0\n";
    assert_int_equal(ms_doc_parse(nul, sizeof nul - 1, "t.yaml", &doc, &diag), MS_ERR_SYNTAX);
    assert_int_equal(diag.line, 2);
    assert_int_equal(diag.col, 4);
    /* a sequence cut short (Latin-1 \xe9, then a 2-byte character cut after
     * its first continuation): at its first byte, not at the one after */
    const char cut[] = "x: 1\nab\xe9: 1\n";
    assert_int_equal(ms_doc_parse(cut, sizeof cut - 1, "t.yaml", &doc, &diag), MS_ERR_SYNTAX);
    assert_int_equal(diag.line, 2);
    assert_int_equal(diag.col, 3);
    const char cut3[] = "x: 1\n\xc3\xa9"
                        "a\xe2\x82: 1\n";
    assert_int_equal(ms_doc_parse(cut3, sizeof cut3 - 1, "t.yaml", &doc, &diag), MS_ERR_SYNTAX);
    assert_int_equal(diag.line, 2);
    assert_int_equal(diag.col, 3);
}

/* Anything but a regular file is refused at once, and a file over the limit
 * is refused without reading it all. */
static void doc_read_file_refuses_what_is_not_a_regular_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/modsim-doc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[64], big[64];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(big, sizeof big, "%s/big.yaml", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char *text;
    size_t len;
    ms_diag diag;
    assert_int_equal(ms_read_file(fifo, 1024, &text, &len, &diag), MS_ERR_IO);
    assert_non_null(strstr(diag.message, "it is a FIFO"));
    assert_int_equal(ms_read_file(dir, 1024, &text, &len, &diag), MS_ERR_IO);
    assert_non_null(strstr(diag.message, "is a directory: give the path of a file"));
    assert_int_equal(ms_read_file("/dev/zero", 1024, &text, &len, &diag), MS_ERR_IO);
    assert_non_null(strstr(diag.message, "it is a device"));
    FILE *f = fopen(big, "w");
    for (int i = 0; i < 1000; i++)
        fputs("a: 1\n", f);
    fclose(f);
    assert_int_equal(ms_read_file(big, 4999, &text, &len, &diag), MS_ERR_LIMIT);
    assert_string_equal(diag.code, "E-SIZE");
    assert_int_equal(ms_read_file(big, 5000, &text, &len, &diag), MS_OK);
    assert_int_equal(len, 5000);
    free(text);
    unlink(fifo);
    unlink(big);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doc_nodes_keep_line_and_column),
        cmocka_unit_test(doc_scalars_typed_as_pyyaml),
        cmocka_unit_test(doc_lax_numbers_and_booleans_as_pydantic),
        cmocka_unit_test(doc_duplicate_keys_rejected_with_both_lines),
        cmocka_unit_test(doc_syntax_error_points_at_position),
        cmocka_unit_test(doc_tab_named_where_it_is),
        cmocka_unit_test(doc_recursive_alias_rejected),
        cmocka_unit_test(doc_deep_nesting_rejected),
        cmocka_unit_test(doc_depth_counts_aliases_expanded),
        cmocka_unit_test(doc_100k_anchors_are_found_in_linear_time),
        cmocka_unit_test(doc_binary_input_rejected),
        cmocka_unit_test(doc_empty_input_has_no_root),
        cmocka_unit_test(doc_missing_file_names_the_path),
        cmocka_unit_test(doc_shift_moves_positions),
        cmocka_unit_test(doc_100k_keys_are_checked_in_linear_time),
        cmocka_unit_test(doc_json_is_strict),
        cmocka_unit_test(doc_standard_tags_read_as_safe_load),
        cmocka_unit_test(doc_other_tags_refused_at_the_tag),
        cmocka_unit_test(doc_local_tags_kept_when_asked),
        cmocka_unit_test(doc_merge_keys_applied_as_pyyaml),
        cmocka_unit_test(doc_merge_keeps_duplicate_check_and_refuses_scalars),
        cmocka_unit_test(doc_bad_bytes_are_reported_where_they_are),
        cmocka_unit_test(doc_read_file_refuses_what_is_not_a_regular_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
