/* One kernel over a safetensors file: which tensors are taken, where their
 * calibration inputs come from, and the figures reported per tensor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/apply_file.h"
#include "kernels/measure.h"

/* Writes a file with a 2x4 weight "a.weight", a 4-vector "bias", a [3, 4]
 * "a.weight.inputs" and a [5, 2] "inputs"; returns its path. */
static const char *write_fixture(char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/test_apply_file_%d.safetensors", (int)getpid());
    static const float w[8] = {1, 0, -2, 2, 0, 0, 3, 4}, bias[4] = {0};
    static const float in4[12] = {1}, in2[10] = {1};
    size_t ws[2] = {2, 4}, bs[1] = {4}, i4[2] = {3, 4}, i2[2] = {5, 2};
    ms_st_writer *wr;
    ms_diag d;
    assert_int_equal(ms_st_writer_new(&wr), MS_OK);
    assert_int_equal(ms_st_writer_add(wr, "a.weight", MS_ST_F32, ws, 2, w, &d), MS_OK);
    assert_int_equal(ms_st_writer_add(wr, "bias", MS_ST_F32, bs, 1, bias, &d), MS_OK);
    assert_int_equal(ms_st_writer_add(wr, "a.weight.inputs", MS_ST_F32, i4, 2, in4, &d), MS_OK);
    assert_int_equal(ms_st_writer_add(wr, "inputs", MS_ST_F32, i2, 2, in2, &d), MS_OK);
    assert_int_equal(ms_st_write(wr, path, &d), MS_OK);
    ms_st_writer_free(wr);
    return path;
}

static void select_takes_2d_float_tensors_matching_the_regex(void **state)
{
    (void)state;
    char path[128];
    ms_st_file *f;
    ms_diag d;
    assert_int_equal(ms_st_open(write_fixture(path, sizeof path), &f, &d), MS_OK);
    ms_apply_job *jobs;
    size_t n;
    assert_int_equal(ms_apply_select(f, NULL, &jobs, &n, &d), MS_OK);
    assert_int_equal(n, 3); /* bias is 1-D */
    ms_apply_jobs_free(jobs, n);
    regex_t re;
    assert_int_equal(regcomp(&re, "weight$", REG_EXTENDED | REG_NOSUB), 0);
    assert_int_equal(ms_apply_select(f, &re, &jobs, &n, &d), MS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(jobs[0].tensor->name, "a.weight");
    regfree(&re);
    ms_apply_jobs_free(jobs, n);
    ms_st_close(f);
    unlink(path);
}

static void calib_prefers_name_inputs_and_checks_the_width(void **state)
{
    (void)state;
    char path[128];
    ms_st_file *f;
    ms_diag d;
    assert_int_equal(ms_st_open(write_fixture(path, sizeof path), &f, &d), MS_OK);
    const ms_st_tensor *w = ms_st_find(f, "a.weight");
    float *x = NULL;
    size_t rows = 0, samples = 0;
    assert_int_equal(ms_apply_find_calib(f, path, w, &x, &rows, &samples, &d), MS_OK);
    assert_int_equal(rows, 3);
    assert_int_equal(samples, 3);
    free(x);
    /* "inputs" ([5, 2]) is the fallback for a weight without NAME.inputs: too narrow for 4 columns
     */
    ms_st_tensor other = *w;
    other.name = "b.weight";
    assert_int_equal(ms_apply_find_calib(f, path, &other, &x, &rows, &samples, &d), MS_ERR_INVALID);
    assert_string_equal(d.code, "E-KERNEL-CALIB");
    assert_non_null(strstr(d.message, "'inputs' has shape [5, 2]"));
    ms_st_close(f);
    unlink(path);
}

static void measure_counts_zeros_and_relative_error(void **state)
{
    (void)state;
    float w[4] = {3, 4, 0, 0}, out[4] = {3, 0, 0, 0};
    double sparsity, err;
    assert_int_equal(ms_measure_change(NULL, out, w, 4, &sparsity, &err), MS_OK);
    assert_float_equal(sparsity, 0.75, 1e-12);
    assert_float_equal(err, 4.0 / 5.0, 1e-12); /* ||(0,-4)|| / ||(3,4)|| */
}

/* Chunks of 2^16 summed in order: the figures do not depend on the pool. */
static void measure_is_the_same_for_every_thread_count(void **state)
{
    (void)state;
    size_t n = 3 * 65536 + 13;
    float *was = malloc(n * sizeof *was), *now = malloc(n * sizeof *now);
    assert_non_null(was);
    assert_non_null(now);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        was[i] = (float)(x >> 8) / 16777216.0f - 0.5f;
        now[i] = i % 3 ? was[i] * 0.9f : 0.0f;
    }
    double s1, e1, s2, e2;
    ms_pool *pool;
    ms_diag d;
    assert_int_equal(ms_pool_create(2, &pool, &d), MS_OK);
    assert_int_equal(ms_measure_change(NULL, now, was, n, &s1, &e1), MS_OK);
    assert_int_equal(ms_measure_change(pool, now, was, n, &s2, &e2), MS_OK);
    ms_pool_free(pool);
    assert_true(s1 == s2 && e1 == e2);
    assert_float_equal(s1, (double)((n + 2) / 3) / (double)n, 1e-12);
    free(was);
    free(now);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(select_takes_2d_float_tensors_matching_the_regex),
        cmocka_unit_test(calib_prefers_name_inputs_and_checks_the_width),
        cmocka_unit_test(measure_counts_zeros_and_relative_error),
        cmocka_unit_test(measure_is_the_same_for_every_thread_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
