/* OWL input norms, outlier ratios and layer sparsities on hand-computed cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "helpers.h"
#include "kernels/owl.h"

static void owl_observe_adds_batch_norms_over_128(void **state)
{
    (void)state;
    float x[4] = {3, 0, 4, 1}, n[2] = {0, 0};
    assert_int_equal(ms_owl_observe(x, 2, 2, n, NULL), MS_OK);
    assert_true(n[0] == 5.0f / 128 && n[1] == 1.0f / 128);
    /* A second batch adds its own norm (not a norm over both batches). */
    assert_int_equal(ms_owl_observe(x, 2, 2, n, NULL), MS_OK);
    assert_true(n[0] == 10.0f / 128);
    x[1] = NAN;
    ms_diag d;
    assert_int_equal(ms_owl_observe(x, 2, 2, n, &d), MS_ERR_INVALID);
}

static void owl_outlier_ratio_counts_products_above_m_times_the_mean(void **state)
{
    (void)state;
    /* z = {1, 1, 1, 10}: mean 3.25, owl_m 2 -> threshold 6.5, one of four. */
    float w[4] = {1, -1, 1, 1}, a[4] = {1, 1, 1, 10};
    ms_owl_linear lin = {w, 1, 4, a};
    double r;
    assert_int_equal(ms_owl_outlier_ratio(NULL, &lin, 1, 2.0, &r, NULL), MS_OK);
    assert_true(r == 25.0);
    /* Two Linears form one group: a second {1, 1} row lowers the mean to
     * 15 / 6 and the threshold to 5; still one outlier, now among six. */
    float w2[2] = {1, 1}, a2[2] = {1, 1};
    ms_owl_linear two[2] = {lin, {w2, 1, 2, a2}};
    assert_int_equal(ms_owl_outlier_ratio(NULL, two, 2, 2.0, &r, NULL), MS_OK);
    assert_true(fabs(r - 100.0 / 6) < 1e-12);
    ms_diag d;
    assert_int_equal(ms_owl_outlier_ratio(NULL, &lin, 0, 2.0, &r, &d), MS_ERR_INVALID);
    assert_int_equal(ms_owl_outlier_ratio(NULL, &lin, 1, NAN, &r, &d), MS_ERR_INVALID);
}

static void owl_outlier_ratio_is_the_same_on_any_thread_count(void **state)
{
    (void)state;
    float *w = test_random(96 * 80, 3), *a = test_random(80, 4);
    for (int j = 0; j < 80; j++)
        a[j] = fabsf(a[j]) * (j % 9 == 0 ? 20 : 1);
    ms_owl_linear lins[2] = {{w, 64, 80, a}, {w + 64 * 80, 32, 80, a}};
    ms_pool *p = test_pool(2);
    double r1, r2;
    assert_int_equal(ms_owl_outlier_ratio(NULL, lins, 2, 5.0, &r1, NULL), MS_OK);
    assert_int_equal(ms_owl_outlier_ratio(p, lins, 2, 5.0, &r2, NULL), MS_OK);
    assert_true(r1 == r2 && r1 > 0 && r1 < 100);
    ms_pool_free(p);
    free(w);
    free(a);
}

static void owl_sparsities_center_on_the_target(void **state)
{
    (void)state;
    /* Ratios {0, 5, 10}, lmbda 0.08: {0, 0.08, 0.16}, mean 0.08; target 0.7. */
    double r[3] = {0, 5, 10}, s[3];
    assert_int_equal(ms_owl_sparsities(r, 3, 0.7, 0.08, s, NULL), MS_OK);
    assert_true(fabs(s[0] - 0.78) < 1e-12 && fabs(s[1] - 0.7) < 1e-12 && fabs(s[2] - 0.62) < 1e-12);
    ms_diag d;
    double same[2] = {3, 3};
    assert_int_equal(ms_owl_sparsities(same, 2, 0.7, 0.08, s, &d), MS_ERR_INVALID);
    assert_string_equal(d.code, "E-KERNEL-VALUE");
    assert_int_equal(ms_owl_sparsities(r, 1, 0.7, 0.08, s, &d), MS_ERR_INVALID);
    assert_int_equal(ms_owl_sparsities(r, 3, 1.5, 0.08, s, &d), MS_ERR_INVALID);
    assert_string_equal(d.code, "E-SPARSITY");
    assert_int_equal(ms_owl_sparsities(r, 3, 0.5, -1, s, &d), MS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(owl_observe_adds_batch_norms_over_128),
        cmocka_unit_test(owl_outlier_ratio_counts_products_above_m_times_the_mean),
        cmocka_unit_test(owl_outlier_ratio_is_the_same_on_any_thread_count),
        cmocka_unit_test(owl_sparsities_center_on_the_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
