/* Calibration token files: JSON Lines and safetensors ids read exactly, the
 * unsigned and signed integer dtypes decoded as little-endian, the id past
 * the vocabulary named with its line and column or tensor index, ragged
 * lines refused at the line that differs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "world/calib.h"

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "/tmp/ms_calib_%d_%s", (int)getpid(), name);
    return p;
}

static void jsonl_reads_every_line(void **state)
{
    (void)state;
    const char *text = "[1, 2, 3]\n\n  [4,5,6] \r\n[7, 8, 9]";
    char *p = tmp_path("ok.jsonl");
    write_file(p, text, strlen(text));
    ms_tokens t;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_calib_read_ids(p, 10, &t, &d), MS_OK);
    assert_int_equal(t.batch, 3);
    assert_int_equal(t.seq, 3);
    for (int i = 0; i < 9; i++)
        assert_int_equal(t.ids[i], i + 1);
    ms_tokens_free(&t);
    unlink(p);
}

static void jsonl_names_line_and_id(void **state)
{
    (void)state;
    const char *text = "[1, 2]\n[3, 10]\n";
    char *p = tmp_path("bad.jsonl");
    write_file(p, text, strlen(text));
    ms_tokens t;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_calib_read_ids(p, 10, &t, &d), MS_ERR_INVALID);
    assert_int_equal(d.line, 2);
    assert_int_equal(d.col, 5);
    assert_non_null(strstr(d.message, "token id 10"));
    assert_non_null(strstr(d.hint, "0 to 9"));
    const char *ragged = "[1, 2]\n[3]\n";
    write_file(p, ragged, strlen(ragged));
    ms_diag_clear(&d);
    assert_int_equal(ms_calib_read_ids(p, 10, &t, &d), MS_ERR_INVALID);
    assert_int_equal(d.line, 2);
    assert_non_null(strstr(d.message, "line 2 has 1 token ids, line 1 has 2"));
    /* a number too long for any id is out of the vocabulary, not wrapped */
    const char *huge = "[99999999999999999999999999]\n";
    write_file(p, huge, strlen(huge));
    ms_diag_clear(&d);
    assert_int_equal(ms_calib_read_ids(p, 10, &t, &d), MS_ERR_INVALID);
    assert_non_null(strstr(d.message, "outside the model's vocabulary"));
    unlink(p);
}

/* A safetensors file with one tensor `name` of `dtype` [2, 2]. */
static void write_st(const char *path, const char *name, const char *dtype, const void *data,
                     size_t n)
{
    char header[256];
    int len = snprintf(header, sizeof header,
                       "{\"%s\":{\"dtype\":\"%s\",\"shape\":[2,2],\"data_offsets\":[0,%zu]}}", name,
                       dtype, n);
    while (len % 8)
        header[len++] = ' ';
    unsigned char buf[512];
    for (int b = 0; b < 8; b++)
        buf[b] = (unsigned char)((uint64_t)len >> (8 * b));
    memcpy(buf + 8, header, (size_t)len);
    memcpy(buf + 8 + len, data, n);
    write_file(path, buf, 8 + (size_t)len + n);
}

static void safetensors_dtypes(void **state)
{
    (void)state;
    char *p = tmp_path("ids.safetensors");
    ms_tokens t;
    ms_diag d;
    ms_diag_clear(&d);
    const unsigned char u16[] = {1, 0, 2, 0, 0xff, 0, 0, 1}; /* 1, 2, 255, 256 */
    write_st(p, "input_ids", "U16", u16, sizeof u16);
    assert_int_equal(ms_calib_read_ids(p, 257, &t, &d), MS_OK);
    assert_int_equal(t.batch, 2);
    assert_int_equal(t.ids[2], 255);
    assert_int_equal(t.ids[3], 256);
    ms_tokens_free(&t);
    /* -1 as I64 is not id 2^64 - 1 */
    unsigned char i64[32] = {0};
    memset(i64 + 16, 0xff, 8);
    write_st(p, "ids", "I64", i64, sizeof i64);
    ms_diag_clear(&d);
    assert_int_equal(ms_calib_read_ids(p, 10, &t, &d), MS_ERR_INVALID);
    assert_non_null(strstr(d.message, "tensor 'ids' [1, 0]: token id -1"));
    unlink(p);
}

static void random_is_seeded(void **state)
{
    (void)state;
    ms_calib c = {.source = MS_CALIB_RANDOM, .batch = 2, .seq = 5, .seed = 3};
    ms_tokens a, b;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_calib_tokens(&c, 50, &a, &d), MS_OK);
    assert_int_equal(ms_tokens_random(3, 2, 5, 50, &b, &d), MS_OK);
    assert_memory_equal(a.ids, b.ids, 10 * sizeof *a.ids);
    ms_tokens_free(&a);
    ms_tokens_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jsonl_reads_every_line),
        cmocka_unit_test(jsonl_names_line_and_id),
        cmocka_unit_test(safetensors_dtypes),
        cmocka_unit_test(random_is_seeded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
