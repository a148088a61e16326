/* Fake quantization: compressed-tensors' scales, zero points and rounding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <string.h>

#include "helpers.h"
#include "kernels/matrix.h"
#include "kernels/quant.h"

static ms_quant_args int_args(int bits, bool sym, ms_quant_strategy st, size_t group)
{
    return (ms_quant_args){.num_bits = bits,
                           .type = MS_QUANT_INT,
                           .symmetric = sym,
                           .strategy = st,
                           .group_size = group};
}

static void quant_int8_symmetric_channel_hand_checked(void **state)
{
    (void)state;
    ms_quant_args a = int_args(8, true, MS_QUANT_CHANNEL, 0);
    float w[8] = {-1, 0.5f, 0.25f, 2, 1, 1, 1, 1}, out[8], s[2], zp[2];
    int8_t codes[8];
    assert_int_equal(ms_quant_fake(NULL, &a, w, 2, 4, out, codes, s, zp, NULL), MS_OK);
    assert_true(s[0] == 2.0f / 127.5f); /* amax / ((127 - -128) / 2) */
    assert_true(zp[0] == 0.0f);
    /* -63.75 -> -64, 31.875 -> 32, 15.9375 -> 16, 127.5 clamps to 127 */
    int8_t want[4] = {-64, 32, 16, 127};
    assert_memory_equal(codes, want, 4);
    assert_true(out[3] == 127.0f * s[0]);
    assert_true(s[1] == 1.0f / 127.5f);
}

static void quant_rounds_half_to_even(void **state)
{
    (void)state;
    ms_quant_args a = int_args(8, true, MS_QUANT_TENSOR, 0);
    float w[6] = {0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 3.5f}, s = 1.0f, zp = 0.0f, out[6];
    int8_t codes[6], want[6] = {0, 2, 2, 0, -2, 4};
    assert_int_equal(ms_quant_apply(NULL, &a, w, 1, 6, &s, &zp, out, codes, NULL), MS_OK);
    assert_memory_equal(codes, want, 6);
}

static void quant_asymmetric_int4_zero_point_is_signed(void **state)
{
    (void)state;
    ms_quant_args a = int_args(4, false, MS_QUANT_CHANNEL, 0);
    float w[4] = {0, 1, 2, 3}, out[4], s, zp;
    int8_t codes[4], want[4] = {-8, -3, 2, 7};
    assert_int_equal(ms_quant_fake(NULL, &a, w, 1, 4, out, codes, &s, &zp, NULL), MS_OK);
    assert_true(s == 3.0f / 15.0f);
    assert_true(zp == -8.0f); /* q_min - 0 / s */
    assert_memory_equal(codes, want, 4);
    for (int i = 0; i < 4; i++)
        assert_true(out[i] == ((float)want[i] - zp) * s);
}

static void quant_group_scales_follow_each_group(void **state)
{
    (void)state;
    ms_quant_args a = int_args(4, true, MS_QUANT_GROUP, 2);
    float w[8] = {7, -1, 0.7f, 0.1f, 1, 1, -14, 0}, out[8], s[4], zp[4];
    size_t sr, sc;
    assert_int_equal(ms_quant_param_shape(&a, 2, 4, &sr, &sc, NULL), MS_OK);
    assert_int_equal(sr, 2);
    assert_int_equal(sc, 2);
    assert_int_equal(ms_quant_fake(NULL, &a, w, 2, 4, out, NULL, s, zp, NULL), MS_OK);
    assert_true(s[0] == 7.0f / 7.5f);
    assert_true(s[1] == 0.7f / 7.5f);
    assert_true(s[2] == 1.0f / 7.5f);
    assert_true(s[3] == 14.0f / 7.5f);
    /* 7 / (7 / 7.5) = 7.5 clamps to 7 */
    assert_true(out[0] == 7.0f * s[0]);
}

/* Groups go 16 at a time through a vectorized observer; compare with the
 * scalar twins on 20 groups (a partial batch) holding zero, one-signed and
 * constant groups, for several bit widths and group sizes. */
static void quant_groups_match_scalar_qparams_and_values(void **state)
{
    (void)state;
    const size_t sizes[3] = {16, 128, 24};
    for (size_t si = 0; si < 3; si++)
        for (int bits = 2; bits <= 8; bits += 3)
            for (int sym = 0; sym < 2; sym++) {
                size_t gs = sizes[si], rows = 3, cols = 20 * gs, n = rows * cols;
                ms_quant_args a = int_args(bits, sym, MS_QUANT_GROUP, gs);
                float *w = test_random(n, 40 + (uint64_t)bits), *out = malloc(n * 4);
                float s[60], zp[60];
                int8_t *codes = malloc(n);
                for (size_t i = 0; i < gs; i++) {
                    w[i] = 0.0f;                           /* group 0: all zero */
                    w[gs + i] = fabsf(w[gs + i]);          /* group 1: positive */
                    w[2 * gs + i] = -fabsf(w[2 * gs + i]); /* group 2: negative */
                    w[3 * gs + i] = -0.75f;                /* group 3: constant */
                }
                assert_int_equal(ms_quant_fake(NULL, &a, w, rows, cols, out, codes, s, zp, NULL),
                                 MS_OK);
                for (size_t g = 0; g < n / gs; g++) {
                    float mn = w[g * gs], mx = mn, rs, rz;
                    for (size_t i = g * gs; i < (g + 1) * gs; i++) {
                        mn = w[i] < mn ? w[i] : mn;
                        mx = w[i] > mx ? w[i] : mx;
                    }
                    ms_quant_qparams(&a, mn, mx, &rs, &rz);
                    assert_memory_equal(&s[g], &rs, 4);
                    assert_memory_equal(&zp[g], &rz, 4);
                    for (size_t i = g * gs; i < (g + 1) * gs; i++) {
                        int8_t c;
                        float v = ms_quant_value(&a, w[i], rs, rz, &c);
                        assert_memory_equal(&out[i], &v, 4);
                        assert_int_equal(codes[i], c);
                    }
                }
                free(w);
                free(out);
                free(codes);
            }
}

static void quant_group_size_not_dividing_is_invalid(void **state)
{
    (void)state;
    ms_quant_args a = int_args(4, true, MS_QUANT_GROUP, 3);
    float w[8] = {0}, out[8], s[8], zp[8];
    ms_diag d;
    assert_int_equal(ms_quant_fake(NULL, &a, w, 2, 4, out, NULL, s, zp, &d), MS_ERR_INVALID);
    assert_string_equal(d.code, "E-QUANT-GROUP");
    a.group_size = 0;
    assert_int_equal(ms_quant_fake(NULL, &a, w, 2, 4, out, NULL, s, zp, &d), MS_ERR_INVALID);
}

static void quant_all_zero_group_gets_epsilon_scale(void **state)
{
    (void)state;
    for (int sym = 0; sym < 2; sym++) {
        ms_quant_args a = int_args(8, sym, MS_QUANT_CHANNEL, 0);
        float w[4] = {0}, out[4] = {1, 1, 1, 1}, s, zp;
        assert_int_equal(ms_quant_fake(NULL, &a, w, 1, 4, out, NULL, &s, &zp, NULL), MS_OK);
        assert_true(s == FLT_EPSILON);
        assert_true(zp == 0.0f);
        for (int i = 0; i < 4; i++)
            assert_true(out[i] == 0.0f);
    }
}

static void quant_all_equal_weights_round_trip(void **state)
{
    (void)state;
    ms_quant_args a = int_args(8, true, MS_QUANT_TENSOR, 0);
    float w[64], out[64], s, zp;
    for (int i = 0; i < 64; i++)
        w[i] = 0.75f;
    assert_int_equal(ms_quant_fake(NULL, &a, w, 4, 16, out, NULL, &s, &zp, NULL), MS_OK);
    for (int i = 0; i < 64; i++) /* 0.75 / s = 127.5 -> 127 */
        assert_true(out[i] == 127.0f * (0.75f / 127.5f));
}

static void quant_nan_and_inf_rejected_with_position(void **state)
{
    (void)state;
    float w[40] = {0}, out[40], s[40], zp[40];
    ms_diag d;
    w[37] = NAN;
    ms_quant_strategy strategies[] = {MS_QUANT_TENSOR, MS_QUANT_CHANNEL, MS_QUANT_GROUP,
                                      MS_QUANT_BLOCK};
    for (int i = 0; i < 4; i++) {
        ms_quant_args a = int_args(8, false, strategies[i], 4);
        a.block_structure[0] = a.block_structure[1] = 2;
        assert_int_equal(ms_quant_fake(NULL, &a, w, 2, 20, out, NULL, s, zp, &d), MS_ERR_INVALID);
        assert_string_equal(d.message, "weight[1, 17] is NaN");
    }
    w[37] = -INFINITY;
    ms_quant_args a = int_args(8, false, MS_QUANT_CHANNEL, 0);
    assert_int_equal(ms_quant_fake(NULL, &a, w, 2, 20, out, NULL, s, zp, &d), MS_ERR_INVALID);
    assert_string_equal(d.message, "weight[1, 17] is infinite");
}

static void quant_fp8_rounds_to_nearest_even_and_saturates(void **state)
{
    (void)state;
    assert_true(ms_fp8_round(500.0f) == 448.0f);
    assert_true(ms_fp8_round(-1e30f) == -448.0f);
    assert_true(ms_fp8_round(0.3f) == 0.3125f);  /* 1.2 * 2^-2 -> 1.25 * 2^-2 */
    assert_true(ms_fp8_round(1.0625f) == 1.0f);  /* tie: even mantissa 000 */
    assert_true(ms_fp8_round(1.1875f) == 1.25f); /* tie: even mantissa 010 */
    assert_true(ms_fp8_round(-1.1875f) == -1.25f);
    assert_true(ms_fp8_round(1.5f / 512) == 2.0f / 512); /* subnormal tie */
    assert_true(ms_fp8_round(0.5f / 512) == 0.0f);
    assert_int_equal(ms_fp8_bits(448.0f), 0x7e);
    assert_int_equal(ms_fp8_bits(-2.0f / 512), 0x82);
    assert_int_equal(ms_fp8_bits(1.0f), 0x38);
    for (int b = 0; b < 256; b++) {
        if ((b & 0x7f) == 0x7f)
            continue; /* NaN */
        float v = ms_fp8_value((uint8_t)b);
        assert_true(ms_fp8_round(v) == v);
        if (b != 0x80) /* -0 */
            assert_int_equal(ms_fp8_bits(v), b);
    }
}

static void quant_fp8_tensor_scale_maps_max_to_448(void **state)
{
    (void)state;
    ms_quant_args a = {
        .num_bits = 8, .type = MS_QUANT_FLOAT, .symmetric = true, .strategy = MS_QUANT_TENSOR};
    float w[4] = {-3, 1, 0.3f, 2}, out[4], s, zp;
    int8_t codes[4];
    assert_int_equal(ms_quant_fake(NULL, &a, w, 1, 4, out, codes, &s, &zp, NULL), MS_OK);
    assert_true(s == 3.0f / 448.0f);
    assert_true(out[0] == -448.0f * s);
    assert_int_equal((uint8_t)codes[0], 0xfe);
    assert_true(out[2] == ms_fp8_round(0.3f / s) * s);
}

static void quant_block_allows_ragged_edges(void **state)
{
    (void)state;
    ms_quant_args a = int_args(8, true, MS_QUANT_BLOCK, 0);
    a.block_structure[0] = 2;
    a.block_structure[1] = 2;
    float w[15] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, out[15], s[6], zp[6];
    size_t sr, sc;
    assert_int_equal(ms_quant_param_shape(&a, 3, 5, &sr, &sc, NULL), MS_OK);
    assert_int_equal(sr, 2);
    assert_int_equal(sc, 3);
    assert_int_equal(ms_quant_fake(NULL, &a, w, 3, 5, out, NULL, s, zp, NULL), MS_OK);
    float want[6] = {7, 9, 10, 12, 14, 15}; /* max of each block */
    for (int i = 0; i < 6; i++)
        assert_true(s[i] == want[i] / 127.5f);
}

static void quant_apply_matches_fused_and_scalar(void **state)
{
    (void)state;
    size_t rows = 64, cols = 384;
    float *w = test_random(rows * cols, 11), *o1 = malloc(rows * cols * 4);
    float *o2 = malloc(rows * cols * 4), s[64 * 3], zp[64 * 3];
    ms_quant_args a = int_args(4, false, MS_QUANT_GROUP, 128);
    assert_int_equal(ms_quant_fake(NULL, &a, w, rows, cols, o1, NULL, s, zp, NULL), MS_OK);
    assert_int_equal(ms_quant_apply(NULL, &a, w, rows, cols, s, zp, o2, NULL, NULL), MS_OK);
    assert_memory_equal(o1, o2, rows * cols * 4);
    for (size_t i = 0; i < rows * cols; i++) {
        size_t g = i / cols * 3 + i % cols / 128;
        assert_true(ms_quant_value(&a, w[i], s[g], zp[g], NULL) == o1[i]);
    }
    free(w);
    free(o1);
    free(o2);
}

static void quant_large_tensor_streams_the_same_results(void **state)
{
    (void)state;
    size_t rows = 2048, cols = 2048, n = rows * cols; /* above the streaming size */
    float *w = test_random(n, 13), *out = ms_alloc_floats(n);
    int8_t *codes = malloc(n);
    float *s = malloc(rows * 16 * 4), *zp = malloc(rows * 16 * 4);
    ms_pool *pool = test_pool(2);
    ms_quant_args a = int_args(4, false, MS_QUANT_GROUP, 128);
    assert_int_equal(ms_quant_fake(pool, &a, w, rows, cols, out, codes, s, zp, NULL), MS_OK);
    for (size_t i = 0; i < n; i++) {
        size_t g = i / cols * 16 + i % cols / 128;
        int8_t c;
        assert_true(ms_quant_value(&a, w[i], s[g], zp[g], &c) == out[i]);
        assert_int_equal(c, codes[i]);
    }
    ms_pool_free(pool);
    free(w);
    free(out);
    free(codes);
    free(s);
    free(zp);
}

static void quant_same_bits_with_one_and_two_threads(void **state)
{
    (void)state;
    size_t rows = 300, cols = 256, n = rows * cols;
    float *w = test_random(n, 12), *o1 = malloc(n * 4), *o2 = malloc(n * 4);
    int8_t *c1 = malloc(n), *c2 = malloc(n);
    float s1[600], s2[600], z1[600], z2[600];
    ms_pool *p1 = test_pool(1), *p2 = test_pool(2);
    ms_quant_strategy st[] = {MS_QUANT_TENSOR, MS_QUANT_CHANNEL, MS_QUANT_GROUP};
    for (int i = 0; i < 3; i++) {
        ms_quant_args a = int_args(4, false, st[i], 128);
        assert_int_equal(ms_quant_fake(p1, &a, w, rows, cols, o1, c1, s1, z1, NULL), MS_OK);
        assert_int_equal(ms_quant_fake(p2, &a, w, rows, cols, o2, c2, s2, z2, NULL), MS_OK);
        assert_memory_equal(o1, o2, n * 4);
        assert_memory_equal(c1, c2, n);
    }
    ms_pool_free(p1);
    ms_pool_free(p2);
    free(w);
    free(o1);
    free(o2);
    free(c1);
    free(c2);
}

static void quant_rejects_unsupported_bits(void **state)
{
    (void)state;
    ms_quant_args a = int_args(9, true, MS_QUANT_TENSOR, 0);
    size_t sr, sc;
    assert_int_equal(ms_quant_param_shape(&a, 1, 1, &sr, &sc, NULL), MS_ERR_INVALID);
    a.type = MS_QUANT_FLOAT;
    a.num_bits = 4;
    assert_int_equal(ms_quant_param_shape(&a, 1, 1, &sr, &sc, NULL), MS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quant_int8_symmetric_channel_hand_checked),
        cmocka_unit_test(quant_rounds_half_to_even),
        cmocka_unit_test(quant_asymmetric_int4_zero_point_is_signed),
        cmocka_unit_test(quant_group_scales_follow_each_group),
        cmocka_unit_test(quant_groups_match_scalar_qparams_and_values),
        cmocka_unit_test(quant_group_size_not_dividing_is_invalid),
        cmocka_unit_test(quant_all_zero_group_gets_epsilon_scale),
        cmocka_unit_test(quant_all_equal_weights_round_trip),
        cmocka_unit_test(quant_nan_and_inf_rejected_with_position),
        cmocka_unit_test(quant_fp8_rounds_to_nearest_even_and_saturates),
        cmocka_unit_test(quant_fp8_tensor_scale_maps_max_to_448),
        cmocka_unit_test(quant_block_allows_ragged_edges),
        cmocka_unit_test(quant_apply_matches_fused_and_scalar),
        cmocka_unit_test(quant_large_tensor_streams_the_same_results),
        cmocka_unit_test(quant_same_bits_with_one_and_two_threads),
        cmocka_unit_test(quant_rejects_unsupported_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
