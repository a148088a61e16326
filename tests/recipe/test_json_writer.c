/* The one JSON string writer: what `validate --format json` and the
 * safetensors header write, and what a buffered writer can call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

typedef struct buf {
    char text[256];
    size_t len, calls;
} buf;

static void put(void *user, const char *bytes, size_t len)
{
    buf *b = user;
    assert_true(b->len + len < sizeof b->text);
    memcpy(b->text + b->len, bytes, len);
    b->len += len;
    b->text[b->len] = '\0';
    b->calls++;
}

static void escapes_quotes_backslashes_and_control_characters(void **state)
{
    (void)state;
    buf b = {0};
    ms_json_put_string(put, &b, "a\"b\\c\nd\x01é");
    assert_string_equal(b.text, "\"a\\\"b\\\\c\\u000ad\\u0001é\"");
    assert_true(ms_json_check(b.text, b.len, 8, &(ms_json_error){0}));
}

static void plain_text_goes_out_in_one_call(void **state)
{
    (void)state;
    buf b = {0};
    ms_json_put_string(put, &b, "layer.0.weight");
    assert_string_equal(b.text, "\"layer.0.weight\"");
    assert_int_equal(b.calls, 3); /* quote, text, quote */
}

static void stream_writer_writes_the_same_bytes(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    ms_json_fput_string(f, "tab\there");
    fclose(f);
    assert_string_equal(text, "\"tab\\u0009here\"");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escapes_quotes_backslashes_and_control_characters),
        cmocka_unit_test(plain_text_goes_out_in_one_call),
        cmocka_unit_test(stream_writer_writes_the_same_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
