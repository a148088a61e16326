/* Matrix multiply, Cholesky and triangular inverse against naive double math. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "helpers.h"
#include "kernels/matrix.h"

static double op(const float *a, size_t ld, ms_trans t, size_t i, size_t j)
{
    return t == MS_NOTRANS ? a[i * ld + j] : a[j * ld + i];
}

static void check_gemm(ms_pool *pool, ms_trans ta, ms_trans tb, size_t m, size_t n, size_t k)
{
    size_t lda = (ta == MS_NOTRANS ? k : m) + 3, ldb = (tb == MS_NOTRANS ? n : k) + 1;
    size_t ldc = n + 2;
    float *a = test_random((ta == MS_NOTRANS ? m : k) * lda, 1);
    float *b = test_random((tb == MS_NOTRANS ? k : n) * ldb, 2);
    float *c = test_random(m * ldc, 3), *c0 = malloc(m * ldc * sizeof *c0);
    memcpy(c0, c, m * ldc * sizeof *c);
    assert_int_equal(
        ms_gemm(pool, ta, tb, MS_PART_FULL, m, n, k, 0.5f, a, lda, b, ldb, -2.0f, c, ldc, NULL),
        MS_OK);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t p = 0; p < k; p++)
                s += op(a, lda, ta, i, p) * op(b, ldb, tb, p, j);
            double want = 0.5 * s - 2.0 * c0[i * ldc + j];
            assert_true(fabs(c[i * ldc + j] - want) <= 1e-4 * (1.0 + fabs(want)));
        }
    free(a);
    free(b);
    free(c);
    free(c0);
}

static void gemm_matches_naive_for_all_transposes(void **state)
{
    (void)state;
    ms_pool *pool = test_pool(2);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            check_gemm(pool, (ms_trans)ta, (ms_trans)tb, 37, 53, 29);
            check_gemm(pool, (ms_trans)ta, (ms_trans)tb, 101, 530, 300);
        }
    ms_pool_free(pool);
}

static void gemm_beta_zero_ignores_nan_in_c(void **state)
{
    (void)state;
    float a[4] = {1, 2, 3, 4}, b[4] = {1, 0, 0, 1}, c[4] = {NAN, NAN, NAN, NAN};
    assert_int_equal(ms_gemm(NULL, MS_NOTRANS, MS_NOTRANS, MS_PART_FULL, 2, 2, 2, 1.0f, a, 2, b, 2,
                             0.0f, c, 2, NULL),
                     MS_OK);
    for (int i = 0; i < 4; i++)
        assert_true(c[i] == a[i]);
}

static void gemm_same_bits_with_one_and_two_threads(void **state)
{
    (void)state;
    size_t m = 300, n = 700, k = 520;
    float *a = test_random(m * k, 4), *b = test_random(k * n, 5);
    float *c1 = calloc(m * n, sizeof *c1), *c2 = calloc(m * n, sizeof *c2);
    ms_pool *p1 = test_pool(1), *p2 = test_pool(2);
    ms_gemm(p1, MS_NOTRANS, MS_NOTRANS, MS_PART_FULL, m, n, k, 1, a, k, b, n, 0, c1, n, NULL);
    ms_gemm(p2, MS_NOTRANS, MS_NOTRANS, MS_PART_FULL, m, n, k, 1, a, k, b, n, 0, c2, n, NULL);
    assert_memory_equal(c1, c2, m * n * sizeof *c1);
    ms_pool_free(p1);
    ms_pool_free(p2);
    free(a);
    free(b);
    free(c1);
    free(c2);
}

/* Lower-part products span several 384-row bands and 512-column panels with
 * ragged edges, in every transpose; the lower triangle matches the naive sum
 * and 1 and 2 threads give the same bits. */
static void gemm_lower_part_across_bands(void **state)
{
    (void)state;
    size_t m = 790, k = 270;
    ms_pool *p1 = test_pool(1), *p2 = test_pool(2);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            float *a = test_random(m * k, 11 + ta), *b = test_random(k * m, 13 + tb);
            float *c1 = test_random(m * m, 17), *c2 = malloc(m * m * sizeof *c2);
            float *c0 = malloc(m * m * sizeof *c0);
            memcpy(c0, c1, m * m * sizeof *c1);
            memcpy(c2, c1, m * m * sizeof *c1);
            size_t lda = ta == MS_NOTRANS ? k : m, ldb = tb == MS_NOTRANS ? m : k;
            assert_int_equal(ms_gemm(p1, (ms_trans)ta, (ms_trans)tb, MS_PART_LOWER, m, m, k, 0.5f,
                                     a, lda, b, ldb, 1.0f, c1, m, NULL),
                             MS_OK);
            assert_int_equal(ms_gemm(p2, (ms_trans)ta, (ms_trans)tb, MS_PART_LOWER, m, m, k, 0.5f,
                                     a, lda, b, ldb, 1.0f, c2, m, NULL),
                             MS_OK);
            for (size_t i = 0; i < m; i++) {
                assert_memory_equal(c1 + i * m, c2 + i * m, (i + 1) * sizeof *c1);
                for (size_t j = 0; j <= i; j += 7) {
                    double s = 0;
                    for (size_t p = 0; p < k; p++)
                        s += op(a, lda, (ms_trans)ta, i, p) * op(b, ldb, (ms_trans)tb, p, j);
                    double want = 0.5 * s + c0[i * m + j];
                    assert_true(fabs(c1[i * m + j] - want) <= 1e-4 * (1.0 + fabs(want)));
                }
            }
            free(a);
            free(b);
            free(c0);
            free(c1);
            free(c2);
        }
    ms_pool_free(p1);
    ms_pool_free(p2);
}

/* GPTQ's block update shape (k = 128, n not a multiple of the register tile)
 * and the forward's NT shape: same bits on 1 and 2 threads. */
static void gemm_run_shapes_same_bits_with_one_and_two_threads(void **state)
{
    (void)state;
    ms_pool *p1 = test_pool(1), *p2 = test_pool(2);
    size_t shapes[2][3] = {{520, 1000, 128}, {130, 400, 300}};
    for (int s = 0; s < 2; s++) {
        size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        ms_trans tb = s ? MS_TRANS : MS_NOTRANS;
        float *a = test_random(m * k, 21), *b = test_random(k * n, 22);
        float *c1 = test_random(m * n, 23), *c2 = malloc(m * n * sizeof *c2);
        memcpy(c2, c1, m * n * sizeof *c1);
        size_t ldb = tb == MS_NOTRANS ? n : k;
        ms_gemm(p1, MS_NOTRANS, tb, MS_PART_FULL, m, n, k, -1, a, k, b, ldb, 1, c1, n, NULL);
        ms_gemm(p2, MS_NOTRANS, tb, MS_PART_FULL, m, n, k, -1, a, k, b, ldb, 1, c2, n, NULL);
        assert_memory_equal(c1, c2, m * n * sizeof *c1);
        free(a);
        free(b);
        free(c1);
        free(c2);
    }
    ms_pool_free(p1);
    ms_pool_free(p2);
}

/* A = B B^T / k + I: symmetric positive definite. */
static float *spd(size_t n, uint64_t seed)
{
    size_t k = n + 5;
    float *b = test_random(n * k, seed), *a = calloc(n * n, sizeof *a);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = i == j ? 1.0 : 0.0;
            for (size_t p = 0; p < k; p++)
                s += (double)b[i * k + p] * b[j * k + p] / (double)k;
            a[i * n + j] = (float)s;
        }
    free(b);
    return a;
}

/* B packed once (the figures' lm_head) gives ms_gemm's bits, whatever the
 * rows, the transposes, beta and the threads; and a many-band multiply
 * (which packs B once inside ms_gemm) matches naive math. */
static void gemm_packed_same_bits_as_gemm(void **state)
{
    (void)state;
    ms_pool *p1 = test_pool(1), *p2 = test_pool(2);
    size_t shapes[][3] = {{1000, 700, 300}, {37, 53, 29}, {385, 1100, 257}};
    for (size_t s = 0; s < 3; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                size_t lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 3, ldc = n + 2;
                float *a = test_random((ta ? k : m) * lda, 11),
                      *b = test_random((tb ? n : k) * ldb, 12);
                float *c0 = test_random(m * ldc, 13), *c1 = malloc(m * ldc * sizeof *c1);
                float *c2 = malloc(m * ldc * sizeof *c2);
                memcpy(c1, c0, m * ldc * sizeof *c1);
                memcpy(c2, c0, m * ldc * sizeof *c2);
                float beta = ta ? 0.0f : tb ? 1.0f : 0.37f;
                ms_packed_b *pb = NULL;
                assert_int_equal(ms_pack_b(p2, (ms_trans)tb, k, n, b, ldb, &pb, NULL), MS_OK);
                assert_int_equal(ms_gemm(p1, (ms_trans)ta, (ms_trans)tb, MS_PART_FULL, m, n, k,
                                         -0.5f, a, lda, b, ldb, beta, c1, ldc, NULL),
                                 MS_OK);
                assert_int_equal(
                    ms_gemm_packed(p2, (ms_trans)ta, m, -0.5f, a, lda, pb, beta, c2, ldc, NULL),
                    MS_OK);
                assert_memory_equal(c1, c2, m * ldc * sizeof *c1);
                ms_packed_b_free(pb);
                free(a);
                free(b);
                free(c0);
                free(c1);
                free(c2);
            }
    check_gemm(p2, MS_NOTRANS, MS_TRANS, 1200, 70, 300);
    check_gemm(p2, MS_TRANS, MS_NOTRANS, 900, 33, 40);
    ms_pool_free(p1);
    ms_pool_free(p2);
}

static void cholesky_reconstructs_spd_matrix(void **state)
{
    (void)state;
    size_t n = 300; /* several 128-blocks and a ragged one */
    float *a = spd(n, 7), *l = malloc(n * n * sizeof *l), *l2 = malloc(n * n * sizeof *l2);
    memcpy(l, a, n * n * sizeof *a);
    memcpy(l2, a, n * n * sizeof *a);
    ms_pool *p1 = test_pool(1), *p2 = test_pool(2);
    assert_int_equal(ms_cholesky(p1, l, n, NULL), MS_OK);
    assert_int_equal(ms_cholesky(p2, l2, n, NULL), MS_OK);
    assert_memory_equal(l, l2, n * n * sizeof *l);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (j > i)
                assert_true(l[i * n + j] == 0.0f);
            double s = 0;
            for (size_t p = 0; p < n; p++)
                s += (double)l[i * n + p] * l[j * n + p];
            assert_true(fabs(s - a[i * n + j]) < 1e-4 * (1 + fabs(a[i * n + j])));
        }
    ms_pool_free(p1);
    ms_pool_free(p2);
    free(a);
    free(l);
    free(l2);
}

static void cholesky_rejects_indefinite_matrix(void **state)
{
    (void)state;
    float a[4] = {1, 2, 2, 1};
    ms_diag d;
    assert_int_equal(ms_cholesky(NULL, a, 2, &d), MS_ERR_INVALID);
    assert_string_equal(d.code, "E-NOT-SPD");
    assert_non_null(strstr(d.message, "pivot 1"));
}

static void tri_inverse_times_matrix_is_identity(void **state)
{
    (void)state;
    size_t n = 300;
    float *l = spd(n, 9), *x = malloc(n * n * sizeof *x);
    float *x1 = malloc(n * n * sizeof *x1);
    ms_pool *pool = test_pool(2), *p1 = test_pool(1);
    assert_int_equal(ms_cholesky(pool, l, n, NULL), MS_OK);
    assert_int_equal(ms_tri_inverse(pool, l, x, n, NULL), MS_OK);
    assert_int_equal(ms_tri_inverse(p1, l, x1, n, NULL), MS_OK);
    assert_memory_equal(x, x1, n * n * sizeof *x);
    ms_pool_free(p1);
    free(x1);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t p = 0; p < n; p++)
                s += (double)x[i * n + p] * l[p * n + j];
            assert_true(fabs(s - (i == j)) < 1e-4);
        }
    ms_pool_free(pool);
    free(l);
    free(x);
}

static void check_finite_names_position(void **state)
{
    (void)state;
    float x[6] = {0, 1, 2, 3, INFINITY, 5};
    ms_diag d;
    assert_int_equal(ms_check_finite(x, 2, 3, 3, "weight", &d), MS_ERR_INVALID);
    assert_string_equal(d.message, "weight[1, 1] is infinite");
    x[4] = 4;
    assert_int_equal(ms_check_finite(x, 2, 3, 3, "weight", &d), MS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gemm_matches_naive_for_all_transposes),
        cmocka_unit_test(gemm_beta_zero_ignores_nan_in_c),
        cmocka_unit_test(gemm_same_bits_with_one_and_two_threads),
        cmocka_unit_test(gemm_lower_part_across_bands),
        cmocka_unit_test(gemm_run_shapes_same_bits_with_one_and_two_threads),
        cmocka_unit_test(gemm_packed_same_bits_as_gemm),
        cmocka_unit_test(cholesky_reconstructs_spd_matrix),
        cmocka_unit_test(cholesky_rejects_indefinite_matrix),
        cmocka_unit_test(tri_inverse_times_matrix_is_identity),
        cmocka_unit_test(check_finite_names_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
