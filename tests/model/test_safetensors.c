/* safetensors: round trips, exact F16/BF16 decoding, and refusal of broken
 * files with a message that says what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "model/safetensors.h"

static char tmp_dir[64];

static const char *tmp_file(const char *name)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    return path;
}

/* Writes an 8-byte length, `header`, and `data_len` bytes of `data`. */
static const char *write_raw(const char *header, const void *data, size_t data_len)
{
    const char *path = tmp_file("raw.safetensors");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t n = strlen(header);
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(n >> (8 * i));
    fwrite(len, 1, 8, f);
    fwrite(header, 1, n, f);
    if (data_len)
        fwrite(data, 1, data_len, f);
    fclose(f);
    return path;
}

static void expect_refused(const char *path, ms_status status, const char *text)
{
    ms_st_file *f = NULL;
    ms_diag d;
    assert_int_equal(ms_st_open(path, &f, &d), status);
    assert_null(f);
    if (!strstr(d.message, text))
        fail_msg("message '%s' does not contain '%s'", d.message, text);
    assert_string_equal(d.file, path);
}

static void safetensors_round_trip_keeps_values_shapes_and_metadata(void **state)
{
    (void)state;
    float w[6] = {1.5f, -2.25f, 0.0f, -0.0f, INFINITY, 1e-40f};
    uint8_t mask[5] = {0, 1, 1, 0, 255};
    int8_t codes[3] = {-128, 0, 127};
    int32_t ids[2] = {-7, 2147483647};
    size_t s23[2] = {2, 3}, s5[1] = {5}, s3[1] = {3}, s2[1] = {2};
    ms_st_writer *wr;
    ms_diag d;
    assert_int_equal(ms_st_writer_new(&wr), MS_OK);
    assert_int_equal(ms_st_writer_add(wr, "mask", MS_ST_U8, s5, 1, mask, &d), MS_OK);
    assert_int_equal(ms_st_writer_add(wr, "layer.weight", MS_ST_F32, s23, 2, w, &d), MS_OK);
    assert_int_equal(ms_st_writer_add(wr, "codes", MS_ST_I8, s3, 1, codes, &d), MS_OK);
    assert_int_equal(ms_st_writer_add(wr, "ids \"quoted\"", MS_ST_I32, s2, 1, ids, &d), MS_OK);
    assert_int_equal(ms_st_writer_add(wr, "mask", MS_ST_U8, s5, 1, mask, &d), MS_ERR_INVALID);
    assert_int_equal(ms_st_writer_add(wr, "h", MS_ST_F64, s5, 1, mask, &d), MS_ERR_INVALID);
    assert_int_equal(ms_st_writer_metadata(wr, "format", "pt", &d), MS_OK);
    assert_int_equal(ms_st_write(wr, tmp_file("rt.safetensors"), &d), MS_OK);
    ms_st_writer_free(wr);

    ms_st_file *f;
    assert_int_equal(ms_st_open(tmp_file("rt.safetensors"), &f, &d), MS_OK);
    assert_int_equal(ms_st_count(f), 4);
    assert_string_equal(ms_st_metadata(f, "format"), "pt");
    assert_null(ms_st_metadata(f, "missing"));
    const ms_st_tensor *t = ms_st_find(f, "layer.weight");
    assert_non_null(t);
    assert_int_equal(t->dtype, MS_ST_F32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 3);
    assert_true(((uintptr_t)t->data & 3) == 0); /* wide dtypes first: aligned */
    float back[6];
    assert_int_equal(ms_st_to_float(f, t, back, &d), MS_OK);
    assert_memory_equal(back, w, sizeof w);
    float fl[5];
    assert_int_equal(ms_st_to_float(f, ms_st_find(f, "mask"), fl, &d), MS_OK);
    assert_true(fl[4] == 255.0f && fl[1] == 1.0f);
    assert_memory_equal(ms_st_find(f, "codes")->data, codes, 3);
    assert_int_equal(ms_st_to_float(f, ms_st_find(f, "ids \"quoted\""), fl, &d), MS_OK);
    assert_true(fl[0] == -7.0f);
    ms_st_close(f);
    unlink(tmp_file("rt.safetensors"));
}

/* Reference: the value by its definition, sign * mantissa * 2^exponent. */
static float f16_reference(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double v;
    if (exp == 0x1f)
        v = mant ? NAN : INFINITY;
    else if (exp == 0)
        v = ldexp(mant, -24);
    else
        v = ldexp(1024 + mant, exp - 25);
    return (float)(sign ? -v : v);
}

static void safetensors_f16_decodes_every_value_exactly(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        float got = ms_f16_to_float((uint16_t)h), want = f16_reference((uint16_t)h);
        if (isnan(want))
            assert_true(isnan(got));
        else if (memcmp(&got, &want, sizeof got))
            fail_msg("F16 0x%04x: got %a, want %a", h, (double)got, (double)want);
    }
}

/* Every finite value encodes to itself; between two neighbours, the midpoint
 * goes to the one with the even bits and anything off it to the nearer one,
 * as torch's .to(torch.float16 / torch.bfloat16) rounds. */
static void check_encoding(float (*decode)(uint16_t), uint16_t (*encode)(float), uint16_t inf)
{
    size_t wrong = 0; /* counted, one assertion at the end: 2^16 values */
    for (uint32_t h = 0; h < inf; h++) {
        for (int sign = 0; sign < 2; sign++) {
            uint16_t s = sign ? 0x8000 : 0;
            float x = decode((uint16_t)(h | s));
            /* past the largest finite value, infinity is the next one up
             * from the point one of its steps further */
            double next = h + 1 < inf ? decode((uint16_t)((h + 1) | s))
                                      : 2.0 * x - decode((uint16_t)((h - 1) | s));
            float mid = (float)(((double)x + next) / 2);
            wrong += encode(x) != (h | s);
            wrong += (double)mid != ((double)x + next) / 2;
            wrong += encode(mid) != ((h & 1 ? h + 1 : h) | s);
            wrong += encode(nextafterf(mid, (float)next)) != ((h + 1) | s);
            wrong += encode(nextafterf(mid, x)) != (h | s);
        }
    }
    assert_int_equal(wrong, 0);
    assert_int_equal(encode(INFINITY), inf);
    assert_int_equal(encode(-INFINITY), inf | 0x8000);
    assert_true(isnan(decode(encode(NAN))));
}

static void safetensors_f16_and_bf16_encode_to_nearest_even(void **state)
{
    (void)state;
    check_encoding(ms_f16_to_float, ms_float_to_f16, 0x7c00);
    check_encoding(ms_bf16_to_float, ms_float_to_bf16, 0x7f80);
}

static void safetensors_bf16_decodes_every_value_exactly(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        int sign = h >> 15, exp = (h >> 7) & 0xff, mant = h & 0x7f;
        double v = exp == 0xff ? (mant ? NAN : INFINITY)
                   : exp == 0  ? ldexp(mant, -133)
                               : ldexp(128 + mant, exp - 134);
        float want = (float)(sign ? -v : v), got = ms_bf16_to_float((uint16_t)h);
        if (isnan(want))
            assert_true(isnan(got));
        else if (memcmp(&got, &want, sizeof got))
            fail_msg("BF16 0x%04x: got %a, want %a", h, (double)got, (double)want);
    }
}

static void safetensors_reads_f16_and_bf16_tensors(void **state)
{
    (void)state;
    /* 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal) as F16; 1.0, -3.0 as BF16 */
    const unsigned char data[] = {0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b,
                                  0x01, 0x00, 0x80, 0x3f, 0x40, 0xc0};
    const char *path =
        write_raw("{\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],"
                  "\"data_offsets\":[8,12]}}",
                  data, sizeof data);
    ms_st_file *f;
    ms_diag d;
    assert_int_equal(ms_st_open(path, &f, &d), MS_OK);
    float v[4];
    assert_int_equal(ms_st_to_float(f, ms_st_find(f, "h"), v, &d), MS_OK);
    assert_true(v[0] == 1.0f && v[1] == -2.0f && v[2] == 65504.0f && v[3] == ldexpf(1, -24));
    assert_int_equal(ms_st_to_float(f, ms_st_find(f, "b"), v, &d), MS_OK);
    assert_true(v[0] == 1.0f && v[1] == -3.0f);
    ms_st_close(f);
}

static void safetensors_refuses_malformed_headers(void **state)
{
    (void)state;
    const unsigned char data[16] = {0};
    expect_refused(write_raw("[1, 2]", data, 0), MS_ERR_INVALID, "does not start with '{'");
    expect_refused(write_raw("", data, 0), MS_ERR_INVALID, "does not start with '{'");
    expect_refused(write_raw("{\"a\": {\"dtype\": \"F32\",", data, 0), MS_ERR_SYNTAX, "");
    expect_refused(
        write_raw("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", data, 4),
        MS_ERR_INVALID, "unknown dtype 'F33'");
    expect_refused(
        write_raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", data, 4),
        MS_ERR_INVALID, "non-negative integer");
    expect_refused(
        write_raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", data, 4),
        MS_ERR_INVALID, "data_offsets must be [begin, end]");
    expect_refused(write_raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", data, 4), MS_ERR_INVALID,
                   "no 'data_offsets'");
    expect_refused(write_raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],"
                             "\"extra\":1}}",
                             data, 4),
                   MS_ERR_INVALID, "unknown key 'extra'");
    expect_refused(write_raw("{\"a\":[1]}", data, 0), MS_ERR_INVALID, "must be an object");
    expect_refused(write_raw("{\"__metadata__\":{\"k\":[1]}}", data, 0), MS_ERR_INVALID,
                   "__metadata__ 'k'");
    expect_refused(write_raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                             "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                             data, 8),
                   MS_ERR_INVALID, "duplicate key 'a'");
    /* A shape whose element count overflows must not wrap around. */
    expect_refused(write_raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
                             "\"data_offsets\":[0,0]}}",
                             data, 0),
                   MS_ERR_INVALID, "more elements than memory holds");
}

static void safetensors_refuses_wrong_sizes_and_offsets(void **state)
{
    (void)state;
    const unsigned char data[16] = {0};
    expect_refused(
        write_raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", data, 12),
        MS_ERR_INVALID, "needs 16 bytes, but data_offsets [0, 12] hold 12");
    expect_refused(
        write_raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", data, 8),
        MS_ERR_INVALID, "past the end of the data (8 bytes)");
    expect_refused(
        write_raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", data, 8),
        MS_ERR_INVALID, "before begin");
    expect_refused(write_raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                             "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                             data, 12),
                   MS_ERR_INVALID, "overlaps");
    expect_refused(
        write_raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data, 8),
        MS_ERR_INVALID, "leaves a gap");
    expect_refused(
        write_raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data, 8),
        MS_ERR_INVALID, "holds 8 data bytes");
}

static void safetensors_refuses_truncated_files_at_every_length(void **state)
{
    (void)state;
    float w[64];
    for (int i = 0; i < 64; i++)
        w[i] = (float)i;
    size_t shape[2] = {8, 8};
    ms_st_writer *wr;
    ms_diag d;
    assert_int_equal(ms_st_writer_new(&wr), MS_OK);
    assert_int_equal(ms_st_writer_add(wr, "w", MS_ST_F32, shape, 2, w, &d), MS_OK);
    const char *path = tmp_file("whole.safetensors");
    assert_int_equal(ms_st_write(wr, path, &d), MS_OK);
    ms_st_writer_free(wr);
    FILE *f = fopen(path, "rb");
    unsigned char whole[1024];
    size_t len = fread(whole, 1, sizeof whole, f);
    fclose(f);
    unlink(path);

    for (size_t cut = 0; cut < len; cut++) {
        const char *p = tmp_file("cut.safetensors");
        f = fopen(p, "wb");
        fwrite(whole, 1, cut, f);
        fclose(f);
        ms_st_file *st = NULL;
        ms_status s = ms_st_open(p, &st, &d);
        assert_int_not_equal(s, MS_OK);
        assert_null(st);
        if (cut < 8)
            assert_non_null(strstr(d.message, "too short"));
        else if (cut < 8 + (size_t)whole[0])
            assert_non_null(strstr(d.message, "runs past the end of the file"));
        else
            assert_non_null(strstr(d.message, "past the end of the data"));
    }
    unlink(tmp_file("cut.safetensors"));
    expect_refused(tmp_file("missing.safetensors"), MS_ERR_IO, "cannot open");
}

static void safetensors_refuses_to_convert_unsupported_dtypes(void **state)
{
    (void)state;
    const unsigned char data[8] = {1};
    const char *path =
        write_raw("{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", data, 8);
    ms_st_file *f;
    ms_diag d;
    assert_int_equal(ms_st_open(path, &f, &d), MS_OK);
    float v;
    assert_int_equal(ms_st_to_float(f, ms_st_at(f, 0), &v, &d), MS_ERR_INVALID);
    assert_non_null(strstr(d.message, "I64"));
    ms_st_close(f);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

/* A header of `n` one-byte U8 tensors "t0".."tN", in reverse offset order so
 * that sorting has work to do. */
static const char *write_many(size_t n)
{
    size_t cap = n * 96 + 16, len = 0;
    char *h = malloc(cap);
    unsigned char *data = calloc(n ? n : 1, 1);
    assert_true(h && data);
    h[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(
            h + len, cap - len,
            "%s\"t%zu\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%zu,%zu]}", i ? "," : "",
            i, n - 1 - i, n - i);
    snprintf(h + len, cap - len, "}");
    const char *path = write_raw(h, data, n);
    free(h);
    free(data);
    return path;
}

/* 20k tensors took 4.6 s, 100k more than a minute (duplicate keys were found
 * by comparing each key with all others): now linear. */
static void safetensors_opens_100k_tensors_in_linear_time(void **state)
{
    (void)state;
    static const size_t sizes[] = {20000, 40000, 100000};
    for (size_t k = 0; k < 3; k++) {
        const char *path = write_many(sizes[k]);
        struct timespec t0;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
        ms_st_file *f = NULL;
        ms_diag d;
        assert_int_equal(ms_st_open(path, &f, &d), MS_OK);
        assert_int_equal(ms_st_count(f), sizes[k]);
        for (size_t i = 0; i < sizes[k]; i += 997) {
            char name[32];
            snprintf(name, sizeof name, "t%zu", i);
            const ms_st_tensor *t = ms_st_find(f, name);
            assert_non_null(t);
            assert_string_equal(t->name, name);
        }
        assert_null(ms_st_find(f, "t"));
        ms_st_close(f);
        double s = seconds_since(&t0);
        if (s > 5.0) /* CPU seconds: quadratic took minutes; ASan is slow */
            fail_msg("%zu tensors took %.2f s to open", sizes[k], s);
    }
}

/* The header is JSON: YAML-only syntax is refused, and a name longer than
 * libyaml's 1024-character implicit key limit is read. */
static void safetensors_header_is_strict_json(void **state)
{
    (void)state;
    const unsigned char data[4] = {0};
    expect_refused(write_raw("{a: {dtype: F32, shape: [1], data_offsets: [0, 4]}}", data, 4),
                   MS_ERR_SYNTAX, "a key in double quotes is expected, not 'a'");
    expect_refused(
        write_raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],}}", data, 4),
        MS_ERR_SYNTAX, "JSON syntax");
    expect_refused(
        write_raw("{\"a\":{'dtype':\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data, 4),
        MS_ERR_SYNTAX, "JSON syntax");

    char name[5001], header[5200];
    memset(name, 'n', 5000);
    name[5000] = '\0';
    snprintf(header, sizeof header,
             "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", name);
    ms_st_file *f = NULL;
    ms_diag d;
    assert_int_equal(ms_st_open(write_raw(header, data, 4), &f, &d), MS_OK);
    assert_non_null(ms_st_find(f, name));
    ms_st_close(f);
}

/* A bad byte is reported at its line and column in the header, not at 1:1. */
static void safetensors_bad_bytes_are_reported_where_they_are(void **state)
{
    (void)state;
    const unsigned char data[4] = {0};
    const char *path = write_raw("{\n \"a\": {\"dtype\": \"F\xff\"}}", data, 4);
    ms_st_file *f = NULL;
    ms_diag d;
    assert_int_equal(ms_st_open(path, &f, &d), MS_ERR_SYNTAX);
    assert_string_equal(d.code, "E-JSON");
    assert_int_equal(d.line, 2);
    assert_int_equal(d.col, 19);
    assert_non_null(strstr(d.message, "0xff"));

    /* write_raw stops at a NUL: write the header by hand */
    static const char nul[] = "{\"a\":\"x\0y\"}";
    FILE *out = fopen(path, "wb");
    unsigned char len8[8] = {sizeof nul - 1};
    fwrite(len8, 1, 8, out);
    fwrite(nul, 1, sizeof nul - 1, out);
    fclose(out);
    assert_int_equal(ms_st_open(path, &f, &d), MS_ERR_SYNTAX);
    assert_int_equal(d.line, 1);
    assert_int_equal(d.col, 8);
    assert_non_null(strstr(d.message, "control character 0x00"));
}

/* A FIFO is refused at once (open used to wait for a writer forever). */
static void safetensors_refuses_a_fifo_without_blocking(void **state)
{
    (void)state;
    const char *path = tmp_file("fifo.safetensors");
    assert_int_equal(mkfifo(path, 0600), 0);
    expect_refused(path, MS_ERR_IO, "not a regular file (it is a FIFO)");
    unlink(path);
    expect_refused(tmp_dir, MS_ERR_IO, "is a directory: give the path of a file");
}

/* A writer with no tensors writes "{}" (it sorted a NULL array: UBSan). */
static void safetensors_writes_a_file_without_tensors(void **state)
{
    (void)state;
    ms_st_writer *w;
    ms_diag d;
    assert_int_equal(ms_st_writer_new(&w), MS_OK);
    const char *path = tmp_file("raw.safetensors");
    assert_int_equal(ms_st_write(w, path, &d), MS_OK);
    ms_st_writer_free(w);
    ms_st_file *f = NULL;
    assert_int_equal(ms_st_open(path, &f, &d), MS_OK);
    assert_int_equal(ms_st_count(f), 0);
    assert_null(ms_st_find(f, "a"));
    ms_st_close(f);
}

/* Adding 100,000 tensors compared each name with all before it: now hashed;
 * a repeated name is still refused, also after a write reordered them. */
static void safetensors_writer_takes_100k_tensors_in_linear_time(void **state)
{
    (void)state;
    size_t n = 100000;
    static uint8_t byte[1];
    ms_st_writer *w;
    ms_diag d;
    assert_int_equal(ms_st_writer_new(&w), MS_OK);
    struct timespec t0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    size_t shape[1] = {1};
    char name[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "t%zu", i);
        assert_int_equal(ms_st_writer_add(w, name, MS_ST_U8, shape, 1, byte, &d), MS_OK);
    }
    double s = seconds_since(&t0);
    if (s > 5.0) /* CPU seconds: quadratic took minutes; ASan is slow */
        fail_msg("adding %zu tensors took %.2f s", n, s);
    assert_int_equal(ms_st_writer_add(w, "t4242", MS_ST_U8, shape, 1, byte, &d), MS_ERR_INVALID);
    assert_non_null(strstr(d.message, "'t4242' is added twice"));
    int32_t wide[1] = {7};
    assert_int_equal(ms_st_writer_add(w, "wide", MS_ST_I32, shape, 1, wide, &d), MS_OK);
    const char *path = tmp_file("raw.safetensors");
    assert_int_equal(ms_st_write(w, path, &d), MS_OK); /* sorts "wide" first */
    assert_int_equal(ms_st_writer_add(w, "t99999", MS_ST_U8, shape, 1, byte, &d), MS_ERR_INVALID);
    assert_int_equal(ms_st_writer_add(w, "wide", MS_ST_U8, shape, 1, byte, &d), MS_ERR_INVALID);
    assert_int_equal(ms_st_writer_add(w, "new", MS_ST_U8, shape, 1, byte, &d), MS_OK);
    ms_st_writer_free(w);
    ms_st_file *f = NULL;
    assert_int_equal(ms_st_open(path, &f, &d), MS_OK);
    assert_int_equal(ms_st_count(f), n + 1);
    ms_st_close(f);
}

static int make_tmp(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/modsim-st-XXXXXX");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp(void **state)
{
    (void)state;
    unlink(tmp_file("raw.safetensors"));
    return rmdir(tmp_dir);
}

static size_t files_in(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* Tensor by tensor: declared first, given in any order, laid out as the
 * one-shot writer lays them out (wider dtypes first). */
static void safetensors_writer_takes_tensors_one_at_a_time(void **state)
{
    (void)state;
    float a[4] = {1, 2, 3, 4}, b[2] = {-1, 0.5f};
    uint8_t m[3] = {1, 0, 1};
    size_t s4[1] = {4}, s2[1] = {2}, s3[1] = {3};
    ms_st_writer *wr;
    ms_diag d;
    const char *path = tmp_file("stream.safetensors");
    assert_int_equal(ms_st_writer_new(&wr), MS_OK);
    assert_int_equal(ms_st_writer_add_later(wr, "m", MS_ST_U8, s3, 1, &d), MS_OK);
    assert_int_equal(ms_st_writer_add_later(wr, "a", MS_ST_F32, s4, 1, &d), MS_OK);
    assert_int_equal(ms_st_writer_add(wr, "b", MS_ST_F32, s2, 1, b, &d), MS_OK);
    assert_int_equal(ms_st_writer_begin(wr, path, &d), MS_OK);
    assert_int_equal(ms_st_writer_add(wr, "late", MS_ST_F32, s2, 1, b, &d), MS_ERR_INVALID);
    assert_int_equal(ms_st_writer_put(wr, "b", b, &d), MS_ERR_INVALID); /* given with add */
    assert_int_equal(ms_st_writer_put(wr, "nope", b, &d), MS_ERR_INVALID);
    assert_int_equal(ms_st_writer_put(wr, "m", m, &d), MS_OK);
    assert_int_equal(ms_st_writer_put(wr, "m", m, &d), MS_ERR_INVALID); /* twice */
    assert_int_equal(access(path, F_OK), -1); /* not named before finish */
    assert_int_equal(ms_st_writer_put(wr, "a", a, &d), MS_OK);
    assert_int_equal(ms_st_writer_finish(wr, &d), MS_OK);
    ms_st_writer_free(wr);
    ms_st_file *f;
    assert_int_equal(ms_st_open(path, &f, &d), MS_OK);
    assert_int_equal(ms_st_count(f), 3);
    assert_string_equal(ms_st_at(f, 0)->name, "a");
    assert_string_equal(ms_st_at(f, 1)->name, "b");
    assert_string_equal(ms_st_at(f, 2)->name, "m");
    float back[4];
    assert_int_equal(ms_st_to_float(f, ms_st_find(f, "a"), back, &d), MS_OK);
    assert_memory_equal(back, a, sizeof a);
    assert_memory_equal(ms_st_find(f, "m")->data, m, sizeof m);
    ms_st_close(f);
    unlink(path);
}

/* A tensor declared and never given, or a writer dropped midway: the old
 * file stays as it was and nothing is left beside it. */
static void safetensors_unfinished_stream_leaves_the_old_file(void **state)
{
    (void)state;
    char dir[96];
    snprintf(dir, sizeof dir, "%s/keep", tmp_dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    char path[128];
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    FILE *old = fopen(path, "w");
    assert_non_null(old);
    fputs("old", old);
    fclose(old);
    float a[2] = {1, 2};
    size_t s2[1] = {2};
    ms_diag d;
    for (int drop = 0; drop < 2; drop++) {
        ms_st_writer *wr;
        assert_int_equal(ms_st_writer_new(&wr), MS_OK);
        assert_int_equal(ms_st_writer_add_later(wr, "a", MS_ST_F32, s2, 1, &d), MS_OK);
        assert_int_equal(ms_st_writer_add_later(wr, "b", MS_ST_F32, s2, 1, &d), MS_OK);
        assert_int_equal(ms_st_writer_begin(wr, path, &d), MS_OK);
        assert_int_equal(ms_st_writer_put(wr, "a", a, &d), MS_OK);
        if (!drop) {
            assert_int_equal(ms_st_writer_finish(wr, &d), MS_ERR_INVALID);
            assert_non_null(strstr(d.message, "tensor 'b' was declared but never given"));
        }
        ms_st_writer_free(wr);
        char buf[8] = {0};
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        assert_int_equal(fread(buf, 1, sizeof buf, f), 3);
        fclose(f);
        assert_string_equal(buf, "old");
        assert_int_equal(files_in(dir), 1);
    }
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(safetensors_round_trip_keeps_values_shapes_and_metadata),
        cmocka_unit_test(safetensors_f16_decodes_every_value_exactly),
        cmocka_unit_test(safetensors_bf16_decodes_every_value_exactly),
        cmocka_unit_test(safetensors_f16_and_bf16_encode_to_nearest_even),
        cmocka_unit_test(safetensors_reads_f16_and_bf16_tensors),
        cmocka_unit_test(safetensors_refuses_malformed_headers),
        cmocka_unit_test(safetensors_refuses_wrong_sizes_and_offsets),
        cmocka_unit_test(safetensors_refuses_truncated_files_at_every_length),
        cmocka_unit_test(safetensors_refuses_to_convert_unsupported_dtypes),
        cmocka_unit_test(safetensors_opens_100k_tensors_in_linear_time),
        cmocka_unit_test(safetensors_header_is_strict_json),
        cmocka_unit_test(safetensors_bad_bytes_are_reported_where_they_are),
        cmocka_unit_test(safetensors_refuses_a_fifo_without_blocking),
        cmocka_unit_test(safetensors_writes_a_file_without_tensors),
        cmocka_unit_test(safetensors_writer_takes_100k_tensors_in_linear_time),
        cmocka_unit_test(safetensors_writer_takes_tensors_one_at_a_time),
        cmocka_unit_test(safetensors_unfinished_stream_leaves_the_old_file),
    };
    return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
