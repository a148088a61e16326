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
    ms_apply_result r = {.weight = out, .rows = 2, .cols = 2};
    double sparsity, err;
    ms_apply_measure(&r, w, &sparsity, &err);
    assert_float_equal(sparsity, 0.75, 1e-12);
    assert_float_equal(err, 4.0 / 5.0, 1e-12); /* ||(0,-4)|| / ||(3,4)|| */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(select_takes_2d_float_tensors_matching_the_regex),
        cmocka_unit_test(calib_prefers_name_inputs_and_checks_the_width),
        cmocka_unit_test(measure_counts_zeros_and_relative_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
