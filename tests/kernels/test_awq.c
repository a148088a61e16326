/* AWQ grid, statistics, scales, search and folding on small known cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "helpers.h"
#include "kernels/awq.h"

static void awq_grid_follows_get_grid_search_params(void **state)
{
    (void)state;
    double r[32];
    bool d[32];
    size_t n = 32;
    /* duo true: (0, plain) first, then 19 duo points i / 18 (base.py:802). */
    assert_int_equal(ms_awq_grid(MS_AWQ_DUO_ON, 20, r, d, &n, NULL), MS_OK);
    assert_int_equal(n, 20);
    assert_true(r[0] == 0.0 && !d[0] && r[1] == 0.0 && d[1] && r[10] == 0.5 && r[19] == 1.0);
    assert_true(d[19] && r[2] == 1.0 / 18);
    n = 32;
    assert_int_equal(ms_awq_grid(MS_AWQ_DUO_OFF, 20, r, d, &n, NULL), MS_OK);
    assert_true(n == 20 && r[19] == 1.0 && r[1] == 1.0 / 19 && !d[5]);
    /* "both": 10 ratios i / 9, each plain then duo. */
    n = 32;
    assert_int_equal(ms_awq_grid(MS_AWQ_DUO_BOTH, 21, r, d, &n, NULL), MS_OK);
    assert_true(n == 20 && r[2] == 1.0 / 9 && !d[2] && r[3] == 1.0 / 9 && d[3] && r[19] == 1.0);
    ms_diag diag;
    n = 32;
    assert_int_equal(ms_awq_grid(MS_AWQ_DUO_ON, 2, r, d, &n, &diag), MS_ERR_INVALID);
    assert_string_equal(diag.code, "E-KERNEL-VALUE");
    assert_int_equal(ms_awq_grid(MS_AWQ_DUO_BOTH, 3, r, d, &n, &diag), MS_ERR_INVALID);
    n = 0; /* counting only */
    assert_int_equal(ms_awq_grid(MS_AWQ_DUO_ON, 5, NULL, NULL, &n, NULL), MS_OK);
    assert_int_equal(n, 5);
}

static void awq_observe_accumulates_mean_magnitudes(void **state)
{
    (void)state;
    float x[4] = {1, -2, -3, 4}, sum[2] = {0, 0};
    size_t count = 0;
    assert_int_equal(ms_awq_observe(x, 2, 2, sum, &count, NULL), MS_OK);
    assert_int_equal(ms_awq_observe(x, 1, 2, sum, &count, NULL), MS_OK);
    assert_true(sum[0] == 5 && sum[1] == 8 && count == 3);
    x[3] = INFINITY;
    ms_diag d;
    assert_int_equal(ms_awq_observe(x, 2, 2, sum, &count, &d), MS_ERR_INVALID);
}

static void awq_weight_means_normalize_per_quantization_chunk(void **state)
{
    (void)state;
    /* One 2x4 weight, groups of 2: chunks {2,-1} {0,4} / {1,1} {-8,2}. */
    float w[8] = {2, -1, 0, 4, 1, 1, -8, 2};
    ms_matrix m = {w, 2, 4};
    ms_quant_args g = {
        .num_bits = 4, .symmetric = true, .strategy = MS_QUANT_GROUP, .group_size = 2};
    double mean[4];
    assert_int_equal(ms_awq_weight_means(&g, &m, 1, mean, NULL), MS_OK);
    double e = 1e-6;
    assert_true(fabs(mean[0] - (2 / (2 + e) + 1 / (1 + e)) / 2) < 1e-6);
    assert_true(fabs(mean[1] - (1 / (2 + e) + 1 / (1 + e)) / 2) < 1e-6);
    assert_true(fabs(mean[3] - (4 / (4 + e) + 2 / (8 + e)) / 2) < 1e-6);
    /* Channel: one chunk per row (max 4, then 8). */
    ms_quant_args c = g;
    c.strategy = MS_QUANT_CHANNEL;
    assert_int_equal(ms_awq_weight_means(&c, &m, 1, mean, NULL), MS_OK);
    assert_true(fabs(mean[2] - (0 / (4 + e) + 8 / (8 + e)) / 2) < 1e-6);
    /* Two layers: rows are pooled (w and w again give the same mean). */
    ms_matrix two[2] = {m, m};
    double mean2[4];
    assert_int_equal(ms_awq_weight_means(&c, two, 2, mean2, NULL), MS_OK);
    assert_true(fabs(mean2[2] - mean[2]) < 1e-12);
    /* A block that does not divide the weight cannot be reshaped upstream. */
    ms_quant_args b = {.num_bits = 8,
                       .type = MS_QUANT_FLOAT,
                       .symmetric = true,
                       .strategy = MS_QUANT_BLOCK,
                       .block_structure = {2, 3}};
    ms_diag d;
    assert_int_equal(ms_awq_weight_means(&b, &m, 1, mean, &d), MS_ERR_INVALID);
    assert_string_equal(d.code, "E-QUANT-BLOCK");
}

static void awq_scales_are_normalized_by_the_geometric_mid_range(void **state)
{
    (void)state;
    float x[2] = {1, 4};
    double w[2] = {1, 1}, s[2];
    ms_awq_scales(x, w, 2, 0.5, false, s);
    /* sqrt(x) = {1, 2}, divided by sqrt(1 * 2). */
    assert_true(fabs(s[0] - 1 / sqrt(2.0)) < 1e-7 && fabs(s[1] - sqrt(2.0)) < 1e-6);
    ms_awq_scales(x, w, 2, 0.0, false, s);
    assert_true(s[0] == 1 && s[1] == 1);
    /* Duo at ratio 1: x / (1 + 1e-4), the denominator cancels in the normalization. */
    ms_awq_scales(x, w, 2, 1.0, true, s);
    assert_true(fabs(s[0] - 0.5) < 1e-12 && fabs(s[1] - 2) < 1e-12);
    /* A zero activation is clamped to 1e-4 before normalizing. */
    float z[2] = {0, 1};
    ms_awq_scales(z, w, 2, 1.0, false, s);
    assert_true(fabs(s[0] - 1e-2) < 1e-7 && fabs(s[1] - 1e2) < 1e-3);
}

/* A problem over random data through the Linear forward pass. */
typedef struct awq_case {
    float *w, *x, *ref;
    float x_mean[64];
    double w_mean[64];
    ms_matrix bal[2];
    ms_awq_linear lin;
    ms_quant_args args;
    ms_awq_problem p;
} awq_case;

static void awq_case_init(awq_case *c, ms_awq_duo duo)
{
    size_t ch = 64, rows = 48;
    c->w = test_random(2 * 32 * ch, 7);
    c->x = test_random(rows * ch, 8);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < ch; j++)
            c->x[r * ch + j] *= 0.2f + (float)(j % 7); /* salient channels */
    c->bal[0] = (ms_matrix){c->w, 32, ch};
    c->bal[1] = (ms_matrix){c->w + 32 * ch, 32, ch};
    c->args = (ms_quant_args){
        .num_bits = 4, .symmetric = false, .strategy = MS_QUANT_GROUP, .group_size = 16};
    float sum[64] = {0};
    size_t count = 0;
    assert_int_equal(ms_awq_observe(c->x, rows, ch, sum, &count, NULL), MS_OK);
    for (size_t j = 0; j < ch; j++)
        c->x_mean[j] = sum[j] / (float)count;
    assert_int_equal(ms_awq_weight_means(&c->args, c->bal, 2, c->w_mean, NULL), MS_OK);
    c->lin = (ms_awq_linear){c->x, rows};
    size_t n_out = ms_awq_linear_outputs(rows, c->bal, 2);
    c->ref = ms_alloc_floats(n_out);
    assert_int_equal(ms_awq_linear_forward(&c->lin, NULL, c->bal, 2, c->ref, n_out, NULL), MS_OK);
    c->p = (ms_awq_problem){c->x_mean,
                            c->w_mean,
                            ch,
                            c->bal,
                            2,
                            &c->args,
                            duo,
                            MS_AWQ_DEFAULT_GRID,
                            ms_awq_linear_forward,
                            &c->lin,
                            c->ref,
                            n_out};
}

static void awq_case_free(awq_case *c)
{
    free(c->w);
    free(c->x);
    free(c->ref);
}

static void awq_search_picks_the_smallest_loss_identically_on_any_thread_count(void **state)
{
    (void)state;
    awq_case c;
    awq_case_init(&c, MS_AWQ_DUO_ON);
    double s1[64], s2[64];
    ms_awq_result r1 = {.scales = s1}, r2 = {.scales = s2};
    ms_pool *p2 = test_pool(2);
    assert_int_equal(ms_awq_search(NULL, &c.p, &r1, NULL), MS_OK);
    assert_int_equal(ms_awq_search(p2, &c.p, &r2, NULL), MS_OK);
    assert_memory_equal(s1, s2, sizeof s1);
    assert_true(r1.loss == r2.loss && r1.index == r2.index && r1.initial_loss == r2.initial_loss);
    /* Salient channels make scaling worth it: not the identity point. */
    assert_true(r1.index > 0 && r1.duo && r1.loss < r1.initial_loss);
    double want[64];
    ms_awq_scales(c.x_mean, c.w_mean, 64, r1.ratio, true, want);
    assert_memory_equal(s1, want, sizeof want);
    ms_pool_free(p2);
    awq_case_free(&c);
}

/* A parent whose output does not depend on the balance weights. */
static ms_status constant_forward(void *ctx, ms_pool *pool, const ms_matrix *balance,
                                  size_t nbalance, float *out, size_t n_out, ms_diag *diag)
{
    (void)pool, (void)balance, (void)nbalance, (void)diag;
    memcpy(out, ctx, n_out * sizeof *out);
    return MS_OK;
}

static void awq_search_keeps_the_first_of_equal_losses(void **state)
{
    (void)state;
    /* Every point's loss is 0: strict < keeps the first, the identity (0, plain). */
    awq_case c;
    awq_case_init(&c, MS_AWQ_DUO_ON);
    c.p.forward = constant_forward;
    c.p.forward_ctx = c.ref;
    double s[64];
    ms_awq_result r = {.scales = s};
    assert_int_equal(ms_awq_search(NULL, &c.p, &r, NULL), MS_OK);
    assert_true(r.index == 0 && r.loss == 0 && r.ratio == 0 && !r.duo);
    for (int j = 0; j < 64; j++)
        assert_true(s[j] == 1);
    /* Reference outputs of the wrong size are refused by the Linear forward pass. */
    c.p.forward = ms_awq_linear_forward;
    c.p.forward_ctx = &c.lin;
    c.p.n_out--;
    ms_diag d;
    assert_int_equal(ms_awq_search(NULL, &c.p, &r, &d), MS_ERR_INVALID);
    assert_string_equal(d.code, "E-KERNEL-SHAPE");
    /* A group size that does not divide the channels is the scheme's error. */
    c.p.n_out++;
    c.args.group_size = 24;
    assert_int_equal(ms_awq_search(NULL, &c.p, &r, &d), MS_ERR_INVALID);
    assert_string_equal(d.code, "E-QUANT-GROUP");
    /* Duo scaling without the weights' means. */
    c.args.group_size = 16;
    c.p.w_mean = NULL;
    assert_int_equal(ms_awq_search(NULL, &c.p, &r, &d), MS_ERR_INVALID);
    awq_case_free(&c);
}

static ms_status nan_forward(void *ctx, ms_pool *pool, const ms_matrix *balance, size_t nbalance,
                             float *out, size_t n_out, ms_diag *diag)
{
    (void)ctx, (void)pool, (void)balance, (void)nbalance, (void)diag;
    for (size_t i = 0; i < n_out; i++)
        out[i] = NAN;
    return MS_OK;
}

static void awq_search_without_a_finite_loss_fails(void **state)
{
    (void)state;
    awq_case c;
    awq_case_init(&c, MS_AWQ_DUO_OFF);
    c.p.forward = nan_forward;
    double s[64];
    ms_awq_result r = {.scales = s};
    ms_diag d;
    assert_int_equal(ms_awq_search(NULL, &c.p, &r, &d), MS_ERR_INVALID);
    assert_string_equal(d.code, "E-NONFINITE");
    awq_case_free(&c);
}

static void awq_fold_preserves_the_function(void **state)
{
    (void)state;
    /* norm weight n, balance W: W (n * x) = (W s) ((n / s) * x). */
    float n[2] = {1.5f, -0.5f}, w[4] = {1, 2, 3, 4}, x[2] = {0.3f, -0.7f}, before[2], after[2];
    double s[2] = {4, 0.25};
    for (int r = 0; r < 2; r++)
        before[r] = w[r * 2] * n[0] * x[0] + w[r * 2 + 1] * n[1] * x[1];
    ms_matrix norm = {n, 2, 1}, bal = {w, 2, 2};
    assert_int_equal(ms_awq_fold(s, 2, &norm, NULL, &bal, 1, NULL), MS_OK);
    for (int r = 0; r < 2; r++)
        after[r] = w[r * 2] * n[0] * x[0] + w[r * 2 + 1] * n[1] * x[1];
    assert_true(fabsf(before[0] - after[0]) < 1e-6f && fabsf(before[1] - after[1]) < 1e-6f);
    /* A fused smooth projection: only its last rows (the v part) change. */
    float qkv[3 * 2] = {1, 1, 2, 2, 4, 4}, bias[3] = {1, 2, 4};
    ms_matrix fused = {qkv, 3, 2};
    double s1[1] = {2};
    float w1[1] = {1};
    ms_matrix b1 = {w1, 1, 1};
    assert_int_equal(ms_awq_fold(s1, 1, &fused, bias, &b1, 1, NULL), MS_OK);
    assert_true(qkv[0] == 1 && qkv[2] == 2 && qkv[4] == 2 && qkv[5] == 2 && bias[2] == 2 &&
                bias[1] == 2 && w1[0] == 2);
    s[0] = 0;
    ms_diag d;
    assert_int_equal(ms_awq_fold(s, 2, &norm, NULL, &bal, 1, &d), MS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(awq_grid_follows_get_grid_search_params),
        cmocka_unit_test(awq_observe_accumulates_mean_magnitudes),
        cmocka_unit_test(awq_weight_means_normalize_per_quantization_chunk),
        cmocka_unit_test(awq_scales_are_normalized_by_the_geometric_mid_range),
        cmocka_unit_test(awq_search_picks_the_smallest_loss_identically_on_any_thread_count),
        cmocka_unit_test(awq_search_keeps_the_first_of_equal_losses),
        cmocka_unit_test(awq_search_without_a_finite_loss_fails),
        cmocka_unit_test(awq_fold_preserves_the_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
