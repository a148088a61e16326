/* Hessian accumulation, the inverse factor and GPTQ. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "helpers.h"
#include "kernels/gptq.h"
#include "kernels/hessian.h"

static void hessian_add_keeps_running_average(void **state)
{
    (void)state;
    ms_hessian h;
    assert_int_equal(ms_hessian_init(&h, 2, NULL), MS_OK);
    float x1[2] = {1, 2}, x2[2] = {3, 0};
    assert_int_equal(ms_hessian_add(NULL, &h, x1, 1, 1, NULL), MS_OK);
    float want1[4] = {2, 4, 4, 8}; /* 2 x^T x / 1 */
    assert_memory_equal(h.data, want1, sizeof want1);
    assert_int_equal(ms_hessian_add(NULL, &h, x2, 1, 1, NULL), MS_OK);
    float want2[4] = {10, 2, 2, 4}; /* (2 x1^T x1 + 2 x2^T x2) / 2 */
    for (int i = 0; i < 4; i++)
        assert_true(fabsf(h.data[i] - want2[i]) < 1e-6f);
    assert_int_equal(h.num_samples, 2);
    ms_diag d;
    float bad[2] = {1, NAN};
    assert_int_equal(ms_hessian_add(NULL, &h, bad, 1, 1, &d), MS_ERR_INVALID);
    assert_string_equal(d.message, "x[0, 1] is NaN");
    ms_hessian_free(&h);
}

/* A width that is not a multiple of the 64-wide mirror tiles nor of the
 * multiply's bands: H is exactly symmetric, matches 2/n X^T X and has the
 * same bits on 1 and 2 threads. */
static void hessian_add_is_symmetric_and_thread_independent(void **state)
{
    (void)state;
    size_t n = 450, k = 70;
    float *x = test_random(k * n, 41);
    ms_hessian h1, h2;
    ms_hessian_init(&h1, n, NULL);
    ms_hessian_init(&h2, n, NULL);
    ms_pool *p1 = test_pool(1), *p2 = test_pool(2);
    assert_int_equal(ms_hessian_add(p1, &h1, x, k, 1, NULL), MS_OK);
    assert_int_equal(ms_hessian_add(p2, &h2, x, k, 1, NULL), MS_OK);
    assert_memory_equal(h1.data, h2.data, n * n * sizeof *h1.data);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            assert_true(h1.data[i * n + j] == h1.data[j * n + i]);
            if ((i + j) % 13)
                continue;
            double s = 0;
            for (size_t p = 0; p < k; p++)
                s += 2.0 * x[p * n + i] * x[p * n + j];
            assert_true(fabs(h1.data[i * n + j] - s) <= 1e-4 * (1 + fabs(s)));
        }
    ms_pool_free(p1);
    ms_pool_free(p2);
    ms_hessian_free(&h1);
    ms_hessian_free(&h2);
    free(x);
}

static void hessian_inverse_factor_is_upper_cholesky_of_inverse(void **state)
{
    (void)state;
    size_t n = 200, k = 300;
    float *x = test_random(k * n, 31);
    ms_hessian h;
    ms_hessian_init(&h, n, NULL);
    ms_pool *pool = test_pool(2);
    assert_int_equal(ms_hessian_add(pool, &h, x, k, 4, NULL), MS_OK);
    float *hd = malloc(n * n * 4), *u = malloc(n * n * 4);
    memcpy(hd, h.data, n * n * 4);
    int fb;
    assert_int_equal(ms_hessian_inverse_factor(pool, hd, n, 0.01, u, NULL, &fb, NULL), MS_OK);
    assert_false(fb);
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += h.data[i * n + i] / (double)n;
    /* (U^T U) (H + damp I) = I */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (i > j)
                assert_true(u[i * n + j] == 0.0f);
            double s = 0;
            for (size_t p = 0; p < n; p++) {
                double hinv = 0;
                for (size_t q = 0; q <= (p < i ? p : i); q++)
                    hinv += (double)u[q * n + i] * u[q * n + p];
                s += hinv * (h.data[p * n + j] + (p == j ? 0.01 * mean : 0.0));
            }
            assert_true(fabs(s - (i == j)) < 2e-3);
        }
    ms_pool_free(pool);
    ms_hessian_free(&h);
    free(x);
    free(hd);
    free(u);
}

static ms_gptq_args group_args(size_t group, ms_actorder order)
{
    return (ms_gptq_args){.quant = {.num_bits = 4,
                                    .type = MS_QUANT_INT,
                                    .symmetric = true,
                                    .strategy = MS_QUANT_GROUP,
                                    .group_size = group},
                          .actorder = order,
                          .block_size = 32,
                          .dampening_frac = 0.01};
}

static void gptq_identity_hessian_is_round_to_nearest(void **state)
{
    (void)state;
    size_t rows = 8, cols = 64;
    float *w = test_random(rows * cols, 32), *rtn = malloc(rows * cols * 4);
    float h[64 * 64] = {0}, s[16], zp[16], s2[16], zp2[16];
    for (size_t i = 0; i < cols; i++)
        h[i * cols + i] = 1.0f;
    ms_gptq_args a = group_args(32, MS_ACTORDER_NONE);
    assert_int_equal(ms_quant_fake(NULL, &a.quant, w, rows, cols, rtn, NULL, s2, zp2, NULL), MS_OK);
    double want = 0;
    for (size_t i = 0; i < rows * cols; i++) /* d^2 = 1 / 1.01 */
        want += (double)((w[i] - rtn[i]) * (w[i] - rtn[i])) * 1.01 / 2;
    ms_gptq_result r;
    assert_int_equal(ms_gptq_quantize(NULL, &a, w, rows, cols, h, s, zp, NULL, &r, NULL), MS_OK);
    assert_memory_equal(w, rtn, rows * cols * 4);
    assert_memory_equal(s, s2, sizeof s);
    assert_true(fabs(r.loss - want) < 1e-4 * want);
    free(w);
    free(rtn);
}

/* ||X (W - Q)^T||^2, the output error GPTQ minimizes. */
static double output_error(const float *x, size_t n, const float *w, const float *q, size_t rows,
                           size_t cols)
{
    double e = 0;
    for (size_t t = 0; t < n; t++)
        for (size_t r = 0; r < rows; r++) {
            double s = 0;
            for (size_t c = 0; c < cols; c++)
                s += (double)x[t * cols + c] * (w[r * cols + c] - q[r * cols + c]);
            e += s * s;
        }
    return e;
}

static void gptq_beats_round_to_nearest_on_correlated_inputs(void **state)
{
    (void)state;
    size_t rows = 32, cols = 128, n = 256;
    float *x = test_random(n * cols, 33), *w = test_random(rows * cols, 34);
    for (size_t t = 0; t < n; t++) /* correlate neighbouring input features */
        for (size_t c = 1; c < cols; c++)
            x[t * cols + c] = 0.7f * x[t * cols + c - 1] + 0.3f * x[t * cols + c];
    ms_hessian h;
    ms_hessian_init(&h, cols, NULL);
    ms_hessian_add(NULL, &h, x, n, n, NULL);
    float *rtn = malloc(rows * cols * 4), *g = malloc(rows * cols * 4), s[128], zp[128];
    ms_gptq_args a = group_args(32, MS_ACTORDER_NONE);
    ms_quant_fake(NULL, &a.quant, w, rows, cols, rtn, NULL, s, zp, NULL);
    ms_actorder orders[] = {MS_ACTORDER_NONE, MS_ACTORDER_WEIGHT, MS_ACTORDER_GROUP};
    for (int i = 0; i < 3; i++) {
        memcpy(g, w, rows * cols * 4);
        a.actorder = orders[i];
        ms_gptq_result r;
        int32_t gidx[128];
        assert_int_equal(ms_gptq_quantize(NULL, &a, g, rows, cols, h.data, s, zp, gidx, &r, NULL),
                         MS_OK);
        assert_true(output_error(x, n, w, g, rows, cols) <
                    0.8 * output_error(x, n, w, rtn, rows, cols));
        int count[4] = {0};
        for (size_t c = 0; c < cols; c++)
            count[gidx[c]]++;
        for (int k = 0; k < 4; k++)
            assert_int_equal(count[k], 32);
    }
    ms_hessian_free(&h);
    free(x);
    free(w);
    free(rtn);
    free(g);
}

static void gptq_same_bits_with_one_and_two_threads(void **state)
{
    (void)state;
    size_t rows = 200, cols = 256, n = 300;
    float *x = test_random(n * cols, 35), *w = test_random(rows * cols, 36);
    float *w2 = malloc(rows * cols * 4), s[400], zp[400], s2[400], zp2[400];
    memcpy(w2, w, rows * cols * 4);
    ms_pool *p1 = test_pool(1), *p2 = test_pool(2);
    ms_hessian h;
    ms_hessian_init(&h, cols, NULL);
    ms_hessian_add(p2, &h, x, n, 1, NULL);
    ms_gptq_args a = group_args(128, MS_ACTORDER_WEIGHT);
    a.block_size = 128;
    ms_gptq_result r1, r2;
    assert_int_equal(ms_gptq_quantize(p1, &a, w, rows, cols, h.data, s, zp, NULL, &r1, NULL),
                     MS_OK);
    assert_int_equal(ms_gptq_quantize(p2, &a, w2, rows, cols, h.data, s2, zp2, NULL, &r2, NULL),
                     MS_OK);
    assert_memory_equal(w, w2, rows * cols * 4);
    assert_true(r1.loss == r2.loss);
    ms_pool_free(p1);
    ms_pool_free(p2);
    ms_hessian_free(&h);
    free(x);
    free(w);
    free(w2);
}

static void gptq_zeroes_dead_columns_and_rejects_bad_input(void **state)
{
    (void)state;
    float w[8] = {1, 2, 3, 4, 5, 6, 7, 8}, h[16] = {0}, s[2], zp[2];
    h[0] = h[5] = h[15] = 1.0f; /* column 2 never saw input */
    ms_gptq_args a = {.quant = {.num_bits = 8,
                                .type = MS_QUANT_INT,
                                .symmetric = true,
                                .strategy = MS_QUANT_CHANNEL},
                      .block_size = 128,
                      .dampening_frac = 0.01};
    ms_gptq_result r;
    assert_int_equal(ms_gptq_quantize(NULL, &a, w, 2, 4, h, s, zp, NULL, &r, NULL), MS_OK);
    assert_true(w[2] == 0.0f && w[6] == 0.0f);
    assert_true(s[0] == 4.0f / 127.5f); /* observed before the dead column went */
    ms_diag d;
    h[3] = NAN;
    assert_int_equal(ms_gptq_quantize(NULL, &a, w, 2, 4, h, s, zp, NULL, &r, &d), MS_ERR_INVALID);
    assert_string_equal(d.message, "hessian[0, 3] is NaN");
    h[3] = 0;
    a.actorder = MS_ACTORDER_GROUP;
    assert_int_equal(ms_gptq_quantize(NULL, &a, w, 2, 4, h, s, zp, NULL, &r, &d), MS_ERR_INVALID);
}

static void gptq_falls_back_when_hessian_is_indefinite(void **state)
{
    (void)state;
    float w[4] = {0.3f, -0.2f, 0.1f, 0.7f}, h[4] = {1, 2, 2, 1}, s[2], zp[2];
    ms_gptq_args a = {.quant = {.num_bits = 8,
                                .type = MS_QUANT_INT,
                                .symmetric = true,
                                .strategy = MS_QUANT_CHANNEL},
                      .block_size = 128,
                      .dampening_frac = 0.0};
    ms_gptq_result r;
    assert_int_equal(ms_gptq_quantize(NULL, &a, w, 2, 2, h, s, zp, NULL, &r, NULL), MS_OK);
    assert_true(r.fell_back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hessian_add_keeps_running_average),
        cmocka_unit_test(hessian_add_is_symmetric_and_thread_independent),
        cmocka_unit_test(hessian_inverse_factor_is_upper_cholesky_of_inverse),
        cmocka_unit_test(gptq_identity_hessian_is_round_to_nearest),
        cmocka_unit_test(gptq_beats_round_to_nearest_on_correlated_inputs),
        cmocka_unit_test(gptq_same_bits_with_one_and_two_threads),
        cmocka_unit_test(gptq_zeroes_dead_columns_and_rejects_bad_input),
        cmocka_unit_test(gptq_falls_back_when_hessian_is_indefinite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
