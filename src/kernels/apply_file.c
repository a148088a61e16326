#include "kernels/apply_file.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

ms_status ms_apply_select(const ms_st_file *in, const regex_t *re, ms_apply_job **jobs,
                          size_t *count, ms_diag *diag)
{
    size_t n = ms_st_count(in);
    *count = 0;
    *jobs = calloc(n ? n : 1, sizeof **jobs);
    if (!*jobs)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const ms_st_tensor *t = ms_st_at(in, i);
        bool is_float = t->dtype == MS_ST_F32 || t->dtype == MS_ST_F16 || t->dtype == MS_ST_BF16;
        if (t->ndim == 2 && is_float && (!re || regexec(re, t->name, 0, NULL, 0) == 0))
            (*jobs)[(*count)++].tensor = t;
    }
    return MS_OK;
}

void ms_apply_jobs_free(ms_apply_job *jobs, size_t count)
{
    for (size_t i = 0; jobs && i < count; i++)
        ms_apply_result_free(&jobs[i].result);
    free(jobs);
}

ms_status ms_apply_find_calib(const ms_st_file *calib, const char *path, const ms_st_tensor *w,
                              float **x, size_t *rows, size_t *samples, ms_diag *diag)
{
    char key[600];
    snprintf(key, sizeof key, "%s.inputs", w->name);
    const ms_st_tensor *t = ms_st_find(calib, key);
    if (!t)
        t = ms_st_find(calib, "inputs");
    size_t cols = w->shape[1];
    if (!t) {
        ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-CALIB", path, 0, 0,
                    "no calibration inputs for %s: neither '%s' nor 'inputs' is in the file",
                    w->name, key);
        ms_diag_hint(diag, "add a [n, %zu] tensor named '%s' (or 'inputs' for all tensors)", cols,
                     key);
        return MS_ERR_INVALID;
    }
    if ((t->ndim != 2 && t->ndim != 3) || t->shape[t->ndim - 1] != cols || t->numel == 0) {
        char shape[96] = "";
        for (size_t d = 0, used = 0; d < t->ndim && used < sizeof shape; d++)
            used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%zu", d ? ", " : "",
                                     t->shape[d]);
        ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-CALIB", path, 0, 0,
                    "calibration tensor '%s' has shape [%s], but %s [%zu, %zu] needs [n, %zu]",
                    t->name, shape, w->name, w->shape[0], cols, cols);
        ms_diag_hint(diag, "inputs are [n, in_features] or [batch, seq, in_features], n > 0");
        return MS_ERR_INVALID;
    }
    *rows = t->numel / cols;
    *samples = t->ndim == 3 ? t->shape[0] : *rows;
    *x = malloc(t->numel * sizeof **x);
    if (!*x)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", path, 0, 0, "out of memory");
    ms_status st = ms_st_to_float(calib, t, *x, diag);
    if (st != MS_OK) {
        free(*x);
        *x = NULL;
    }
    return st;
}

void ms_apply_measure(const ms_apply_result *r, const float *w, double *sparsity, double *rel_error)
{
    size_t n = r->rows * r->cols, zeros = 0;
    double diff = 0.0, norm = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)r->weight[i] - (double)w[i];
        zeros += r->weight[i] == 0.0f;
        diff += d * d;
        norm += (double)w[i] * (double)w[i];
    }
    *sparsity = n ? (double)zeros / (double)n : 0.0;
    *rel_error = norm > 0.0 ? sqrt(diff / norm) : sqrt(diff);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static ms_status run_one(ms_pool *pool, const ms_apply_opts *opts, const ms_st_file *in,
                         const char *in_path, const ms_st_file *calib, const char *calib_path,
                         ms_apply_job *j, ms_diag *diag)
{
    const ms_st_tensor *t = j->tensor;
    size_t rows = t->shape[0], cols = t->shape[1], calib_rows = 0, samples = 0;
    float *w = malloc((t->numel ? t->numel : 1) * sizeof *w), *x = NULL;
    if (!w)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", in_path, 0, 0, "out of memory");
    ms_status st = ms_st_to_float(in, t, w, diag);
    if (st == MS_OK && calib)
        st = ms_apply_find_calib(calib, calib_path, t, &x, &calib_rows, &samples, diag);
    if (st == MS_OK) {
        double t0 = now_ms();
        st = ms_apply_tensor(pool, opts, t->name, w, rows, cols, x, calib_rows, samples, &j->result,
                             diag);
        j->ms = now_ms() - t0;
    }
    if (st == MS_OK)
        ms_apply_measure(&j->result, w, &j->sparsity, &j->rel_error);
    else if (!diag->file[0])
        snprintf(diag->file, sizeof diag->file, "%s", in_path);
    free(w);
    free(x);
    return st;
}

ms_status ms_apply_run(ms_pool *pool, const ms_apply_opts *opts, const ms_st_file *in,
                       const char *in_path, const ms_st_file *calib, const char *calib_path,
                       ms_apply_job *jobs, size_t count, ms_diag *diag)
{
    for (size_t i = 0; i < count; i++) {
        ms_status st = run_one(pool, opts, in, in_path, calib, calib_path, &jobs[i], diag);
        if (st != MS_OK)
            return st;
    }
    return MS_OK;
}

static ms_status add_outputs(ms_st_writer *wr, ms_apply_job *j, ms_diag *diag)
{
    const ms_apply_result *r = &j->result;
    size_t shape[2] = {r->rows, r->cols}, sshape[2] = {r->srows, r->scols}, gshape[1] = {r->cols};
    const struct {
        const char *suffix;
        ms_st_dtype dtype;
        const size_t *shape;
        size_t ndim;
        const void *data;
    } outs[] = {
        {".mask", MS_ST_U8, shape, 2, r->mask},
        {".scale", MS_ST_F32, sshape, 2, r->scales},
        {".zero_point", MS_ST_F32, sshape, 2, r->zero_points},
        {".codes", MS_ST_I8, shape, 2, r->codes},
        {".g_idx", MS_ST_I32, gshape, 1, r->g_idx},
    };
    ms_status st = ms_st_writer_add(wr, j->tensor->name, MS_ST_F32, shape, 2, r->weight, diag);
    for (size_t k = 0; st == MS_OK && k < sizeof outs / sizeof outs[0]; k++) {
        if (!outs[k].data)
            continue;
        snprintf(j->side[k], sizeof j->side[k], "%s%s", j->tensor->name, outs[k].suffix);
        st = ms_st_writer_add(wr, j->side[k], outs[k].dtype, outs[k].shape, outs[k].ndim,
                              outs[k].data, diag);
    }
    return st;
}

bool ms_apply_selected(const ms_apply_job *jobs, size_t count, const ms_st_tensor *t)
{
    for (size_t i = 0; i < count; i++)
        if (jobs[i].tensor == t)
            return true;
    return false;
}

ms_status ms_apply_write(ms_apply_job *jobs, size_t count, const ms_st_file *rest,
                         const char *provenance, const char *path, ms_diag *diag)
{
    ms_st_writer *wr = NULL;
    ms_status st = ms_st_writer_new(&wr);
    if (st != MS_OK)
        ms_diag_set(diag, st, "E-NOMEM", NULL, 0, 0, "out of memory");
    if (st == MS_OK)
        st = ms_st_writer_metadata(wr, "modsim_kernel", provenance, diag);
    for (size_t i = 0; st == MS_OK && i < count; i++)
        st = add_outputs(wr, &jobs[i], diag);
    for (size_t i = 0; st == MS_OK && rest && i < ms_st_count(rest); i++)
        if (!ms_apply_selected(jobs, count, ms_st_at(rest, i)))
            st = ms_st_writer_add_stored(wr, ms_st_at(rest, i), diag);
    if (st == MS_OK)
        st = ms_st_write(wr, path, diag);
    ms_st_writer_free(wr);
    return st;
}
