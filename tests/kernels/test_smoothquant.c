/* SmoothQuant scales and folding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "kernels/smoothquant.h"

static void smoothquant_observe_tracks_channel_ranges(void **state)
{
    (void)state;
    float x[6] = {1, -2, 3, -4, 5, 0}, mn[3], mx[3];
    assert_int_equal(ms_smoothquant_observe(x, 2, 3, mn, mx, true, NULL), MS_OK);
    float y[3] = {10, -10, 1};
    assert_int_equal(ms_smoothquant_observe(y, 1, 3, mn, mx, false, NULL), MS_OK);
    assert_true(mn[0] == -4 && mx[0] == 10 && mn[1] == -10 && mx[1] == 5 && mn[2] == 0 &&
                mx[2] == 3);
    ms_diag d;
    y[1] = NAN;
    assert_int_equal(ms_smoothquant_observe(y, 1, 3, mn, mx, false, &d), MS_ERR_INVALID);
}

static void smoothquant_scales_balance_activation_and_weight_ranges(void **state)
{
    (void)state;
    float mn[3] = {-4, 0, 0}, mx[3] = {12, 0, 1e-12f};
    float w1[6] = {1, 0, 0, -2, 0, 0}, w2[3] = {0.5f, 0, 0};
    ms_matrix bal[2] = {{w1, 2, 3}, {w2, 1, 3}};
    float s[3];
    assert_int_equal(ms_smoothquant_scales(mn, mx, 3, bal, 2, 0.5, s, NULL), MS_OK);
    /* range 16, weight max 2 * 2 = 4: sqrt(16) / sqrt(4) */
    assert_true(fabsf(s[0] - 2.0f) < 1e-6f);
    assert_true(s[1] == MS_SMOOTHQUANT_MIN_SCALE); /* no weight: range 0, clamped */
    assert_true(s[2] == MS_SMOOTHQUANT_MIN_SCALE);
    ms_diag d;
    assert_int_equal(ms_smoothquant_scales(mn, mx, 3, bal, 2, 1.5, s, &d), MS_ERR_INVALID);
}

static void smoothquant_fold_preserves_the_layer_output(void **state)
{
    (void)state;
    float norm[2] = {1.5f, -0.5f}, bias[2] = {0.1f, 0.2f}, w[4] = {1, 2, 3, 4};
    float x[2] = {0.3f, -0.7f}, before[2], after[2], s[2] = {4, 0.25f};
    for (int r = 0; r < 2; r++)
        before[r] =
            w[r * 2] * (x[0] * norm[0] + bias[0]) + w[r * 2 + 1] * (x[1] * norm[1] + bias[1]);
    ms_matrix bal = {w, 2, 2};
    assert_int_equal(ms_smoothquant_fold(s, 2, norm, bias, &bal, 1, NULL), MS_OK);
    for (int r = 0; r < 2; r++)
        after[r] =
            w[r * 2] * (x[0] * norm[0] + bias[0]) + w[r * 2 + 1] * (x[1] * norm[1] + bias[1]);
    assert_true(fabsf(before[0] - after[0]) < 1e-6f && fabsf(before[1] - after[1]) < 1e-6f);
    assert_true(norm[0] == 1.5f / 4 && w[1] == 2 * 0.25f);
    s[0] = 0;
    ms_diag d;
    assert_int_equal(ms_smoothquant_fold(s, 2, norm, bias, &bal, 1, &d), MS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(smoothquant_observe_tracks_channel_ranges),
        cmocka_unit_test(smoothquant_scales_balance_activation_and_weight_ranges),
        cmocka_unit_test(smoothquant_fold_preserves_the_layer_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
