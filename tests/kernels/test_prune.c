/* Magnitude pruning: upstream's threshold, ties and structures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "helpers.h"
#include "kernels/prune.h"

static void prune_unstructured(float *w, size_t n, double sparsity, uint8_t *mask)
{
    ms_prune_args a = {.structure = MS_PRUNE_UNSTRUCTURED, .sparsity = sparsity};
    assert_int_equal(ms_prune_magnitude(NULL, &a, w, 1, n, mask, NULL), MS_OK);
}

static void prune_threshold_is_kth_smallest_magnitude(void **state)
{
    (void)state;
    float w[8] = {3, -1, 4, -1.5f, 5, 9, -2, 6}, t;
    size_t k;
    assert_int_equal(ms_prune_threshold(NULL, w, 8, 0.5, &t, &k, NULL), MS_OK);
    assert_int_equal(k, 4);
    assert_true(t == 3.0f);
    uint8_t mask[8], want[8] = {0, 0, 1, 0, 1, 1, 0, 1};
    prune_unstructured(w, 8, 0.5, mask);
    assert_memory_equal(mask, want, 8);
    assert_true(w[0] == 0.0f && w[2] == 4.0f);
}

static void prune_count_truncates_like_python_int(void **state)
{
    (void)state;
    float w[8] = {3, -1, 4, -1.5f, 5, 9, -2, 6}, t;
    size_t k;
    assert_int_equal(ms_prune_threshold(NULL, w, 8, 0.49, &t, &k, NULL), MS_OK);
    assert_int_equal(k, 3); /* int(3.92) */
    assert_true(t == 2.0f);
}

static void prune_sparsity_zero_keeps_all_and_one_prunes_all(void **state)
{
    (void)state;
    float w[5] = {0, 1, -2, 3, 0};
    uint8_t mask[5], ones[5] = {1, 1, 1, 1, 1}, zeros[5] = {0};
    prune_unstructured(w, 5, 0.0, mask);
    assert_memory_equal(mask, ones, 5);
    assert_true(w[3] == 3.0f);
    prune_unstructured(w, 5, 1.0, mask);
    assert_memory_equal(mask, zeros, 5);
    for (int i = 0; i < 5; i++)
        assert_true(w[i] == 0.0f);
}

static void prune_ties_with_threshold_are_all_pruned(void **state)
{
    (void)state;
    float w[6] = {2, 2, 2, 2, 2, 2};
    uint8_t mask[6], zeros[6] = {0};
    prune_unstructured(w, 6, 0.2, mask); /* k = 1, threshold 2, 2 > 2 is false */
    assert_memory_equal(mask, zeros, 6);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void prune_threshold_matches_sorting_on_large_input(void **state)
{
    (void)state;
    size_t n = 300007;
    float *w = test_random(n, 21), *a = malloc(n * sizeof *a);
    for (size_t i = 0; i < n; i += 7)
        w[i] = w[i / 2]; /* plenty of ties */
    for (size_t i = 0; i < n; i++)
        a[i] = fabsf(w[i]);
    qsort(a, n, sizeof *a, cmp_float);
    ms_pool *pool = test_pool(2);
    double sp[] = {0.001, 0.3, 0.5, 0.77, 0.999, 1.0};
    for (int i = 0; i < 6; i++) {
        float t;
        size_t k;
        assert_int_equal(ms_prune_threshold(pool, w, n, sp[i], &t, &k, NULL), MS_OK);
        assert_int_equal(k, (size_t)(sp[i] * (double)n));
        assert_true(t == a[k - 1]);
    }
    ms_pool_free(pool);
    free(w);
    free(a);
}

/* Past 2^20 values the threshold is first bracketed from a sample; check it
 * against sorting on data where the sample is representative, where it is
 * misleading (the sampled positions hold zeros) and where one value fills
 * the bracket, with both the serial and the pooled runs. */
static void prune_threshold_matches_sorting_past_the_sample_size(void **state)
{
    (void)state;
    size_t n = (1u << 20) + 12345;
    float *w = malloc(n * sizeof *w), *a = malloc(n * sizeof *a);
    ms_pool *pool = test_pool(2);
    for (int data = 0; data < 3; data++) {
        float *r = test_random(n, 31 + (uint64_t)data);
        memcpy(w, r, n * sizeof *w);
        free(r);
        for (size_t i = 0; i < n; i++) {
            if (data == 0 && i % 5 == 0)
                w[i] = w[i / 3]; /* ties */
            if (data == 1 && i % 1031 < 16)
                w[i] = 0.0f; /* exactly the sampled runs */
            if (data == 2 && i % 100 != 0)
                w[i] = -2.0f;
        }
        for (size_t i = 0; i < n; i++)
            a[i] = fabsf(w[i]);
        qsort(a, n, sizeof *a, cmp_float);
        double sp[] = {0.001, 0.5, 0.999};
        for (int i = 0; i < 3; i++) {
            float t1, t2, score;
            size_t k;
            assert_int_equal(ms_prune_threshold(NULL, w, n, sp[i], &t1, &k, NULL), MS_OK);
            assert_int_equal(ms_prune_threshold(pool, w, n, sp[i], &t2, &k, NULL), MS_OK);
            assert_true(t1 == a[k - 1] && t2 == a[k - 1]);
            assert_int_equal(ms_select_kth(pool, a, n, k, &score, NULL), MS_OK);
            assert_true(score == a[k - 1]);
        }
    }
    ms_pool_free(pool);
    free(w);
    free(a);
}

static void prune_2_4_keeps_two_largest_per_group(void **state)
{
    (void)state;
    float w[8] = {0.1f, -3, 2, 0.5f, 1, 1, 1, 1};
    uint8_t mask[8], want[8] = {0, 1, 1, 0, 0, 0, 1, 1};
    ms_prune_args a = {.structure = MS_PRUNE_NM, .n = 2, .m = 4};
    assert_int_equal(ms_prune_magnitude(NULL, &a, w, 2, 4, mask, NULL), MS_OK);
    assert_memory_equal(mask, want, 8); /* ties: lower columns pruned first */
    assert_true(w[0] == 0.0f && w[1] == -3.0f && w[4] == 0.0f && w[7] == 1.0f);
}

/* The vectorized 2:4 path against the rank definition, on values full of ties
 * (signed zeros included), for every n, with a group count that leaves a tail. */
static void prune_n_of_4_matches_ranks_with_ties(void **state)
{
    (void)state;
    enum { ROWS = 7, COLS = 12, N = ROWS * COLS };
    const float vals[6] = {0.0f, -0.0f, 1, -1, 2, -2};
    float src[N], w[N], want[N];
    uint8_t mask[N], want_mask[N];
    uint64_t seed = 7;
    for (size_t i = 0; i < N; i++)
        src[i] = vals[(size_t)(test_uniform(&seed) * 6)];
    for (size_t n = 1; n <= 4; n++) {
        for (size_t i = 0; i < N; i++) {
            size_t g = i - i % 4, rank = 0;
            for (size_t j = g; j < g + 4; j++)
                rank += fabsf(src[j]) < fabsf(src[i]) || (fabsf(src[j]) == fabsf(src[i]) && j < i);
            want_mask[i] = rank >= n;
            want[i] = src[i] * (float)want_mask[i];
        }
        memcpy(w, src, sizeof w);
        ms_prune_args a = {.structure = MS_PRUNE_NM, .n = n, .m = 4};
        assert_int_equal(ms_prune_magnitude(NULL, &a, w, ROWS, COLS, mask, NULL), MS_OK);
        assert_memory_equal(mask, want_mask, N);
        assert_memory_equal(w, want, sizeof w);
    }
}

static void prune_nm_handles_other_patterns(void **state)
{
    (void)state;
    float w[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    uint8_t mask[8], want[8] = {1, 1, 1, 1, 1, 0, 0, 0};
    ms_prune_args a = {.structure = MS_PRUNE_NM, .n = 3, .m = 8};
    assert_int_equal(ms_prune_magnitude(NULL, &a, w, 1, 8, mask, NULL), MS_OK);
    assert_memory_equal(mask, want, 8);
    float v[6] = {1, 2, 3, 3, 2, 1};
    uint8_t m3[6], want3[6] = {0, 1, 1, 1, 1, 0};
    ms_prune_args b = {.structure = MS_PRUNE_NM, .n = 1, .m = 3};
    assert_int_equal(ms_prune_magnitude(NULL, &b, v, 2, 3, m3, NULL), MS_OK);
    assert_memory_equal(m3, want3, 6);
}

static void prune_nm_rejects_columns_not_divisible(void **state)
{
    (void)state;
    float w[6] = {0};
    ms_diag d;
    ms_prune_args a = {.structure = MS_PRUNE_NM, .n = 2, .m = 4};
    assert_int_equal(ms_prune_magnitude(NULL, &a, w, 1, 6, NULL, &d), MS_ERR_INVALID);
    assert_string_equal(d.code, "E-PRUNE-NM");
}

static void prune_channel_and_filter_remove_smallest_lines(void **state)
{
    (void)state;
    float w[6] = {1, 1, 1, 5, -5, 0.1f}; /* rows sums 3, 10.1; column sums 6, 6, 1.1 */
    uint8_t mask[6], rows[6] = {0, 0, 0, 1, 1, 1}, cols[6] = {0, 1, 0, 0, 1, 0};
    ms_prune_args a = {.structure = MS_PRUNE_CHANNEL, .sparsity = 0.5};
    float c[6];
    memcpy(c, w, sizeof c);
    assert_int_equal(ms_prune_magnitude(NULL, &a, c, 2, 3, mask, NULL), MS_OK);
    assert_memory_equal(mask, rows, 6);
    a.structure = MS_PRUNE_FILTER;
    a.sparsity = 0.67; /* int(2.01) = 2 columns: 2 (1.1) then the tie 0 before 1 */
    memcpy(c, w, sizeof c);
    assert_int_equal(ms_prune_magnitude(NULL, &a, c, 2, 3, mask, NULL), MS_OK);
    assert_memory_equal(mask, cols, 6);
}

static void prune_constant_mask_keeps_current_zeros(void **state)
{
    (void)state;
    float w[5] = {0, 1.5f, 0, -2, 3};
    uint8_t mask[5], want[5] = {0, 1, 0, 1, 1};
    ms_prune_mask_nonzero(NULL, w, 5, mask);
    assert_memory_equal(mask, want, 5);
    float grown[5] = {0.1f, 1, 2, 3, 4};
    ms_prune_apply_mask(NULL, grown, mask, 5);
    assert_true(grown[0] == 0.0f && grown[2] == 0.0f && grown[1] == 1.0f && grown[4] == 4.0f);
}

static void prune_nan_rejected_with_position(void **state)
{
    (void)state;
    float w[8] = {1, 2, 3, 4, 5, NAN, 7, 8};
    ms_diag d;
    ms_prune_args a = {.structure = MS_PRUNE_UNSTRUCTURED, .sparsity = 0.5};
    assert_int_equal(ms_prune_magnitude(NULL, &a, w, 2, 4, NULL, &d), MS_ERR_INVALID);
    assert_non_null(strstr(d.message, "weight[5]"));
    a.structure = MS_PRUNE_NM;
    a.n = 2;
    a.m = 4;
    assert_int_equal(ms_prune_magnitude(NULL, &a, w, 2, 4, NULL, &d), MS_ERR_INVALID);
    assert_string_equal(d.message, "weight[1, 1] is NaN");
    a.structure = MS_PRUNE_UNSTRUCTURED;
    a.sparsity = 1.5;
    w[5] = 0;
    assert_int_equal(ms_prune_magnitude(NULL, &a, w, 2, 4, NULL, &d), MS_ERR_INVALID);
}

static void prune_same_bits_with_one_and_two_threads(void **state)
{
    (void)state;
    size_t n = 1 << 18;
    float *w = test_random(n, 22), *a = malloc(n * 4), *b = malloc(n * 4);
    uint8_t *ma = malloc(n), *mb = malloc(n);
    ms_pool *p1 = test_pool(1), *p2 = test_pool(2);
    ms_prune_args args[2] = {{.structure = MS_PRUNE_UNSTRUCTURED, .sparsity = 0.6},
                             {.structure = MS_PRUNE_NM, .n = 2, .m = 4}};
    for (int i = 0; i < 2; i++) {
        memcpy(a, w, n * 4);
        memcpy(b, w, n * 4);
        assert_int_equal(ms_prune_magnitude(p1, &args[i], a, 512, n / 512, ma, NULL), MS_OK);
        assert_int_equal(ms_prune_magnitude(p2, &args[i], b, 512, n / 512, mb, NULL), MS_OK);
        assert_memory_equal(a, b, n * 4);
        assert_memory_equal(ma, mb, n);
    }
    ms_pool_free(p1);
    ms_pool_free(p2);
    free(w);
    free(a);
    free(b);
    free(ma);
    free(mb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prune_threshold_is_kth_smallest_magnitude),
        cmocka_unit_test(prune_count_truncates_like_python_int),
        cmocka_unit_test(prune_sparsity_zero_keeps_all_and_one_prunes_all),
        cmocka_unit_test(prune_ties_with_threshold_are_all_pruned),
        cmocka_unit_test(prune_threshold_matches_sorting_on_large_input),
        cmocka_unit_test(prune_threshold_matches_sorting_past_the_sample_size),
        cmocka_unit_test(prune_2_4_keeps_two_largest_per_group),
        cmocka_unit_test(prune_n_of_4_matches_ranks_with_ties),
        cmocka_unit_test(prune_nm_handles_other_patterns),
        cmocka_unit_test(prune_nm_rejects_columns_not_divisible),
        cmocka_unit_test(prune_channel_and_filter_remove_smallest_lines),
        cmocka_unit_test(prune_constant_mask_keeps_current_zeros),
        cmocka_unit_test(prune_nan_rejected_with_position),
        cmocka_unit_test(prune_same_bits_with_one_and_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
