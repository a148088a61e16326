/* compressed-tensors sizes of one weight, worked out by hand from the
 * formats (compressed_tensors at 3739ac98: pack_quantized.py
 * compression_param_info, sparse_24_bitmask.py sparse24_bitmask_compress):
 * int4 packs 8 codes an int32 with padding, zero points pack along the
 * rows, 2:4 keeps half the values plus one bit each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "world/size.h"

static size_t bytes(ms_ct_format f, const ms_quant_args *q, size_t rows, size_t cols, size_t elem)
{
    size_t b = 0;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_ct_weight_bytes(f, q, rows, cols, elem, &b, &d), MS_OK);
    return b;
}

static void pack_quantized(void **state)
{
    (void)state;
    ms_quant_args w4 = {4, MS_QUANT_INT, true, MS_QUANT_GROUP, 128, {0, 0}};
    /* 10 x 256: 10 x 32 int32, 10 x 2 bf16 scales, weight_shape */
    assert_int_equal(bytes(MS_CT_PACK_QUANTIZED, &w4, 10, 256, 2), 10 * 32 * 4 + 10 * 2 * 2 + 8);
    /* asymmetric: zero points [ceil(10 / 8), 2] int32 */
    w4.symmetric = false;
    assert_int_equal(bytes(MS_CT_PACK_QUANTIZED, &w4, 10, 256, 2),
                     10 * 32 * 4 + 10 * 2 * 2 + 8 + 2 * 2 * 4);
    /* 8 bits per channel, 6 columns: padded to 2 int32 a row */
    ms_quant_args w8 = {8, MS_QUANT_INT, true, MS_QUANT_CHANNEL, 0, {0, 0}};
    assert_int_equal(bytes(MS_CT_PACK_QUANTIZED, &w8, 3, 6, 4), 3 * 2 * 4 + 3 * 4 + 8);
    /* a group that does not divide the columns is refused */
    w4.group_size = 100;
    size_t b;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_ct_weight_bytes(MS_CT_PACK_QUANTIZED, &w4, 10, 256, 2, &b, &d),
                     MS_ERR_INVALID);
}

static void float_and_sparse(void **state)
{
    (void)state;
    ms_quant_args fp8 = {8, MS_QUANT_FLOAT, true, MS_QUANT_TENSOR, 0, {0, 0}};
    assert_int_equal(bytes(MS_CT_FLOAT_QUANTIZED, &fp8, 4, 8, 2), 32 + 2);
    /* 2:4 over 4 x 12 f32: 4 x 6 values, 4 x 2 mask bytes, an int64 shape [2, 1] */
    assert_int_equal(bytes(MS_CT_SPARSE_24_BITMASK, NULL, 4, 12, 4), 4 * 6 * 4 + 4 * 2 + 16);
    assert_int_equal(bytes(MS_CT_DENSE, NULL, 4, 12, 2), 96);
    const float w24[8] = {0, 1, 0, 2, 3, 0, 0, 0};
    const float w31[8] = {0, 1, 5, 2, 3, 0, 0, 0};
    assert_true(ms_ct_is_24(w24, 2, 4));
    assert_false(ms_ct_is_24(w31, 2, 4));
    assert_false(ms_ct_is_24(w24, 1, 6)); /* not whole groups of 4 */
    assert_string_equal(ms_ct_format_name(MS_CT_SPARSE_24_BITMASK), "sparse-24-bitmask");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pack_quantized),
        cmocka_unit_test(float_and_sparse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
