/* SparseGPT: patterns, sparsity and determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "helpers.h"
#include "kernels/hessian.h"
#include "kernels/sparsegpt.h"

typedef struct {
    size_t rows, cols;
    float *w;
    ms_hessian h;
} fixture;

static fixture make(size_t rows, size_t cols, uint64_t seed)
{
    fixture f = {.rows = rows, .cols = cols, .w = test_random(rows * cols, seed)};
    float *x = test_random(256 * cols, seed + 1);
    ms_hessian_init(&f.h, cols, NULL);
    ms_hessian_add(NULL, &f.h, x, 256, 256, NULL);
    free(x);
    return f;
}

static void drop(fixture *f)
{
    free(f->w);
    ms_hessian_free(&f->h);
}

static void sparsegpt_2_4_pattern_holds_in_every_group(void **state)
{
    (void)state;
    fixture f = make(16, 128, 41);
    ms_sparsegpt_args a = {.prune_n = 2, .prune_m = 4, .block_size = 32, .dampening_frac = 0.01};
    uint8_t *mask = malloc(16 * 128);
    double loss;
    assert_int_equal(ms_sparsegpt_prune(NULL, &a, f.w, 16, 128, f.h.data, mask, &loss, NULL, NULL),
                     MS_OK);
    for (size_t g = 0; g < 16 * 128; g += 4) {
        int kept = 0;
        for (int i = 0; i < 4; i++) {
            kept += mask[g + i];
            if (!mask[g + i])
                assert_true(f.w[g + i] == 0.0f);
        }
        assert_int_equal(kept, 2);
    }
    assert_true(loss > 0);
    free(mask);
    drop(&f);
}

static void sparsegpt_unstructured_reaches_target_sparsity(void **state)
{
    (void)state;
    fixture f = make(32, 128, 42);
    ms_sparsegpt_args a = {.sparsity = 0.5, .block_size = 64, .dampening_frac = 0.01};
    double loss;
    assert_int_equal(ms_sparsegpt_prune(NULL, &a, f.w, 32, 128, f.h.data, NULL, &loss, NULL, NULL),
                     MS_OK);
    size_t zeros = 0;
    for (size_t i = 0; i < 32 * 128; i++)
        zeros += f.w[i] == 0.0f;
    /* per block: every score <= the one at index int(0.5 * 2048) */
    assert_int_equal(zeros, 2 * (1024 + 1));
    drop(&f);
}

static void sparsegpt_sparsity_one_prunes_everything(void **state)
{
    (void)state;
    fixture f = make(4, 32, 43);
    ms_sparsegpt_args a = {.sparsity = 1.0, .block_size = 16, .dampening_frac = 0.01};
    double loss;
    assert_int_equal(ms_sparsegpt_prune(NULL, &a, f.w, 4, 32, f.h.data, NULL, &loss, NULL, NULL),
                     MS_OK);
    for (size_t i = 0; i < 4 * 32; i++)
        assert_true(f.w[i] == 0.0f);
    drop(&f);
}

static void sparsegpt_same_bits_with_one_and_two_threads(void **state)
{
    (void)state;
    fixture f = make(100, 256, 44);
    float *w2 = malloc(100 * 256 * 4);
    memcpy(w2, f.w, 100 * 256 * 4);
    ms_pool *p1 = test_pool(1), *p2 = test_pool(2);
    ms_sparsegpt_args a = {.sparsity = 0.6, .block_size = 128, .dampening_frac = 0.01};
    double l1, l2;
    ms_sparsegpt_prune(p1, &a, f.w, 100, 256, f.h.data, NULL, &l1, NULL, NULL);
    ms_sparsegpt_prune(p2, &a, w2, 100, 256, f.h.data, NULL, &l2, NULL, NULL);
    assert_memory_equal(f.w, w2, 100 * 256 * 4);
    assert_true(l1 == l2);
    ms_pool_free(p1);
    ms_pool_free(p2);
    free(w2);
    drop(&f);
}

static void sparsegpt_rejects_bad_arguments(void **state)
{
    (void)state;
    fixture f = make(4, 32, 45);
    ms_diag d;
    double loss;
    ms_sparsegpt_args a = {.prune_n = 2, .prune_m = 3, .block_size = 16};
    assert_int_equal(ms_sparsegpt_prune(NULL, &a, f.w, 4, 32, f.h.data, NULL, &loss, NULL, &d),
                     MS_ERR_INVALID);
    a = (ms_sparsegpt_args){.sparsity = -0.1, .block_size = 16};
    assert_int_equal(ms_sparsegpt_prune(NULL, &a, f.w, 4, 32, f.h.data, NULL, &loss, NULL, &d),
                     MS_ERR_INVALID);
    a.sparsity = 0.5;
    f.w[33] = INFINITY;
    assert_int_equal(ms_sparsegpt_prune(NULL, &a, f.w, 4, 32, f.h.data, NULL, &loss, NULL, &d),
                     MS_ERR_INVALID);
    assert_string_equal(d.message, "weight[1, 1] is infinite");
    drop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sparsegpt_2_4_pattern_holds_in_every_group),
        cmocka_unit_test(sparsegpt_unstructured_reaches_target_sparsity),
        cmocka_unit_test(sparsegpt_sparsity_one_prunes_everything),
        cmocka_unit_test(sparsegpt_same_bits_with_one_and_two_threads),
        cmocka_unit_test(sparsegpt_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
