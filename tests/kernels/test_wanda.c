/* Wanda: |W| * sqrt(S) with S the mean squared input norm per column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "helpers.h"
#include "kernels/wanda.h"

static void wanda_stats_are_mean_squared_column_norms(void **state)
{
    (void)state;
    ms_wanda_stats s;
    assert_int_equal(ms_wanda_stats_init(&s, 2, NULL), MS_OK);
    float x1[4] = {1, 2, 3, 4}, x2[2] = {0, 2};
    assert_int_equal(ms_wanda_stats_add(&s, x1, 2, 1, NULL), MS_OK);
    assert_true(s.row_scalars[0] == 10.0f && s.row_scalars[1] == 20.0f);
    assert_int_equal(ms_wanda_stats_add(&s, x2, 1, 1, NULL), MS_OK);
    assert_true(s.row_scalars[0] == 5.0f && s.row_scalars[1] == 12.0f);
    ms_wanda_stats_free(&s);
}

static void wanda_prunes_by_weight_times_input_norm(void **state)
{
    (void)state;
    ms_wanda_stats s;
    ms_wanda_stats_init(&s, 4, NULL);
    float x[4] = {10, 1, 1, 0.1f};
    ms_wanda_stats_add(&s, x, 1, 1, NULL); /* S = {100, 1, 1, 0.01} */
    float w[8] = {0.1f, 2, -3, 50, 1, 1, 1, 1};
    uint8_t mask[8];
    /* metrics row 0: 1, 2, 3, 5; row 1: 10, 1, 1, 0.1 */
    assert_int_equal(ms_wanda_prune(NULL, &s, w, 2, 4, 0.5, 0, 0, mask, NULL), MS_OK);
    uint8_t want[8] = {0, 0, 1, 1, 1, 0, 1, 0}; /* tie 1 = 1: column 1 goes first */
    assert_memory_equal(mask, want, 8);
    assert_true(w[0] == 0.0f && w[3] == 50.0f && w[6] == 1.0f);
    ms_wanda_stats_free(&s);
}

static void wanda_nm_and_edge_sparsities(void **state)
{
    (void)state;
    ms_wanda_stats s;
    ms_wanda_stats_init(&s, 4, NULL);
    float x[4] = {1, 1, 1, 1};
    ms_wanda_stats_add(&s, x, 1, 1, NULL);
    float w[4] = {4, 3, 2, 1};
    uint8_t mask[4], nm[4] = {1, 1, 0, 0}, all[4] = {1, 1, 1, 1}, none[4] = {0};
    assert_int_equal(ms_wanda_prune(NULL, &s, w, 1, 4, 0, 2, 4, mask, NULL), MS_OK);
    assert_memory_equal(mask, nm, 4);
    float v[4] = {4, 3, 2, 1};
    assert_int_equal(ms_wanda_prune(NULL, &s, v, 1, 4, 0.0, 0, 0, mask, NULL), MS_OK);
    assert_memory_equal(mask, all, 4);
    assert_int_equal(ms_wanda_prune(NULL, &s, v, 1, 4, 1.0, 0, 0, mask, NULL), MS_OK);
    assert_memory_equal(mask, none, 4);
    ms_diag d;
    v[2] = NAN;
    assert_int_equal(ms_wanda_prune(NULL, &s, v, 1, 4, 0.5, 0, 0, mask, &d), MS_ERR_INVALID);
    assert_int_equal(ms_wanda_prune(NULL, &s, w, 1, 4, 0, 2, 3, mask, &d), MS_ERR_INVALID);
    ms_wanda_stats_free(&s);
}

static void wanda_same_bits_with_one_and_two_threads(void **state)
{
    (void)state;
    size_t rows = 64, cols = 512;
    ms_wanda_stats s;
    ms_wanda_stats_init(&s, cols, NULL);
    float *x = test_random(32 * cols, 51);
    ms_wanda_stats_add(&s, x, 32, 2, NULL);
    float *a = test_random(rows * cols, 52), *b = malloc(rows * cols * 4);
    memcpy(b, a, rows * cols * 4);
    ms_pool *p1 = test_pool(1), *p2 = test_pool(2);
    ms_wanda_prune(p1, &s, a, rows, cols, 0.7, 0, 0, NULL, NULL);
    ms_wanda_prune(p2, &s, b, rows, cols, 0.7, 0, 0, NULL, NULL);
    assert_memory_equal(a, b, rows * cols * 4);
    size_t zeros = 0;
    for (size_t i = 0; i < cols; i++)
        zeros += a[i] == 0.0f;
    assert_int_equal(zeros, (size_t)(0.7 * cols));
    ms_pool_free(p1);
    ms_pool_free(p2);
    ms_wanda_stats_free(&s);
    free(x);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wanda_stats_are_mean_squared_column_norms),
        cmocka_unit_test(wanda_prunes_by_weight_times_input_norm),
        cmocka_unit_test(wanda_nm_and_edge_sparsities),
        cmocka_unit_test(wanda_same_bits_with_one_and_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
