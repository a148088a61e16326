/* Compressed sizes as compressed-tensors stores them, computed by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/pack.h"

static void pack_w4a16_group_packs_eight_codes_per_int32(void **state)
{
    (void)state;
    ms_quant_args q = {
        .num_bits = 4, .symmetric = true, .strategy = MS_QUANT_GROUP, .group_size = 128};
    ms_pack_module m = {
        .rows = 4096, .cols = 4096, .dtype_bytes = 2, .format = MS_PACK_PACKED, .weights = &q};
    ms_pack_size s;
    assert_int_equal(ms_pack_size_of(&m, &s, NULL), MS_OK);
    assert_int_equal(s.dense, 4096u * 4096 * 2);
    assert_int_equal(s.weight, 4096u * 512 * 4);       /* 8 codes per int32 */
    assert_int_equal(s.scales, 4096u * 32 * 2);        /* bf16, one per group */
    assert_int_equal(s.zero_points, 0);                /* symmetric: dropped */
    assert_int_equal(s.total, 8388608u + 262144 + 16); /* + weight_shape int64[2] */
    /* Asymmetric: zero points packed along the rows, ceil(100 / 8) = 13. */
    q.symmetric = false;
    m.rows = 100;
    m.cols = 256;
    assert_int_equal(ms_pack_size_of(&m, &s, NULL), MS_OK);
    assert_true(s.weight == 100 * 32 * 4 && s.scales == 100 * 2 * 2 && s.zero_points == 13 * 2 * 4);
    assert_int_equal(s.total, 12800 + 400 + 104 + 16);
    /* actorder group adds g_idx int32 [cols]. */
    m.g_idx = true;
    assert_int_equal(ms_pack_size_of(&m, &s, NULL), MS_OK);
    assert_int_equal(s.g_idx, 256 * 4);
}

static void pack_three_bits_fit_ten_codes_per_int32(void **state)
{
    (void)state;
    ms_quant_args q = {.num_bits = 3, .symmetric = false, .strategy = MS_QUANT_TENSOR};
    ms_pack_module m = {
        .rows = 2, .cols = 25, .dtype_bytes = 4, .format = MS_PACK_PACKED, .weights = &q};
    ms_pack_size s;
    assert_int_equal(ms_pack_size_of(&m, &s, NULL), MS_OK);
    /* ceil(25 / 10) = 3 int32 per row; a tensor zero point stays one int8. */
    assert_true(s.weight == 2 * 3 * 4 && s.scales == 4 && s.zero_points == 1);
    assert_int_equal(s.total, 24 + 4 + 1 + 16);
}

static void pack_naive_int8_and_fp8_take_a_byte_per_weight(void **state)
{
    (void)state;
    ms_quant_args q = {.num_bits = 8, .symmetric = true, .strategy = MS_QUANT_CHANNEL};
    ms_pack_module m = {
        .rows = 8, .cols = 16, .dtype_bytes = 4, .format = MS_PACK_NAIVE, .weights = &q};
    ms_pack_size s;
    assert_int_equal(ms_pack_size_of(&m, &s, NULL), MS_OK);
    assert_true(s.weight == 128 && s.scales == 32 && s.total == 160 && s.dense == 512);
    ms_quant_args f = {
        .num_bits = 8, .type = MS_QUANT_FLOAT, .symmetric = true, .strategy = MS_QUANT_TENSOR};
    m.weights = &f;
    m.format = MS_PACK_PACKED; /* fp8 is not packed */
    ms_diag d;
    assert_int_equal(ms_pack_size_of(&m, &s, &d), MS_ERR_INVALID);
    assert_string_equal(d.code, "E-QUANT-TYPE");
}

static void pack_sparse_formats_store_values_and_bitmasks(void **state)
{
    (void)state;
    ms_pack_module m = {
        .rows = 4, .cols = 8, .dtype_bytes = 2, .sparse = MS_PACK_SPARSE_24, .nonzeros = 16};
    ms_pack_size s;
    assert_int_equal(ms_pack_size_of(&m, &s, NULL), MS_OK);
    /* values [4, 4] bf16, bitmask [4, 1] uint8, shape int64 [2, 1]. */
    assert_true(s.weight == 32 && s.bitmask == 4 && s.metadata == 16 && s.total == 52);
    /* 2:4 with int8 codes: a byte per value. */
    ms_quant_args q = {.num_bits = 8, .symmetric = true, .strategy = MS_QUANT_CHANNEL};
    m.format = MS_PACK_NAIVE;
    m.weights = &q;
    assert_int_equal(ms_pack_size_of(&m, &s, NULL), MS_OK);
    assert_true(s.weight == 16 && s.scales == 4 * 2 && s.total == 16 + 8 + 4 + 16);
    ms_diag d;
    m.nonzeros = 15;
    assert_int_equal(ms_pack_size_of(&m, &s, &d), MS_ERR_INVALID);
    assert_string_equal(d.code, "E-PRUNE-NM");
    /* Bitmask: 7 float32 values, bitmask [3, 2], row_offsets int64 [3], shape. */
    ms_pack_module b = {
        .rows = 3, .cols = 10, .dtype_bytes = 4, .sparse = MS_PACK_SPARSE_BITMASK, .nonzeros = 7};
    assert_int_equal(ms_pack_size_of(&b, &s, NULL), MS_OK);
    assert_true(s.weight == 28 && s.bitmask == 6 + 24 && s.total == 28 + 30 + 16);
    b.nonzeros = 31;
    assert_int_equal(ms_pack_size_of(&b, &s, &d), MS_ERR_INVALID);
    /* Packed codes have no sparse format. */
    q.num_bits = 4;
    b.nonzeros = 7;
    b.format = MS_PACK_PACKED;
    b.weights = &q;
    b.cols = 16;
    assert_int_equal(ms_pack_size_of(&b, &s, &d), MS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pack_w4a16_group_packs_eight_codes_per_int32),
        cmocka_unit_test(pack_three_bits_fit_ten_codes_per_int32),
        cmocka_unit_test(pack_naive_int8_and_fp8_take_a_byte_per_weight),
        cmocka_unit_test(pack_sparse_formats_store_values_and_bitmasks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
