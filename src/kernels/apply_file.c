#include "kernels/apply_file.h"

#include <math.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/measure.h"

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

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The weight as floats: the file's own bytes where they already are floats
 * (F32, aligned, on a little-endian host), else converted into *owned. */
static ms_status weight_floats(const ms_st_file *in, const ms_st_tensor *t, const float **w,
                               float **owned, const char *in_path, ms_diag *diag)
{
    *owned = NULL;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (t->dtype == MS_ST_F32 && (uintptr_t)t->data % _Alignof(float) == 0) {
        *w = t->data;
        return MS_OK;
    }
#endif
    *owned = malloc((t->numel ? t->numel : 1) * sizeof **owned);
    if (!*owned)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", in_path, 0, 0,
                           "out of memory for tensor '%s'", t->name);
    *w = *owned;
    return ms_st_to_float(in, t, *owned, diag);
}

static ms_status run_one(ms_pool *pool, const ms_apply_opts *opts, const ms_apply_io *io,
                         ms_apply_job *j, ms_diag *diag)
{
    const ms_st_tensor *t = j->tensor;
    size_t rows = t->shape[0], cols = t->shape[1], calib_rows = 0, samples = 0;
    const float *w = NULL;
    float *owned = NULL, *x = NULL;
    ms_status st = weight_floats(io->in, t, &w, &owned, io->in_path, diag);
    if (st == MS_OK && io->calib)
        st = ms_apply_find_calib(io->calib, io->calib_path, t, &x, &calib_rows, &samples, diag);
    if (st == MS_OK) {
        double t0 = now_ms();
        st = ms_apply_tensor(pool, opts, t->name, w, rows, cols, x, calib_rows, samples, &j->result,
                             diag);
        j->ms = now_ms() - t0;
    }
    if (st == MS_OK && ms_measure_change(pool, j->result.weight, w, rows * cols, &j->sparsity,
                                         &j->rel_error) != MS_OK)
        st = ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", io->in_path, 0, 0, "out of memory");
    if (st != MS_OK && !diag->file[0])
        snprintf(diag->file, sizeof diag->file, "%s", io->in_path);
    free(owned);
    free(x);
    return st;
}

/* Output k of a job: its name suffix, bit and dtype. */
static const struct {
    const char *suffix;
    unsigned bit;
    ms_st_dtype dtype;
    const char *name; /* in --outputs */
} outs[] = {
    {"", MS_APPLY_OUT_WEIGHT, MS_ST_F32, "weights"},
    {".mask", MS_APPLY_OUT_MASK, MS_ST_U8, "mask"},
    {".codes", MS_APPLY_OUT_CODES, MS_ST_I8, "codes"},
    {".scale", MS_APPLY_OUT_SCALE, MS_ST_F32, "scale"},
    {".zero_point", MS_APPLY_OUT_ZERO_POINT, MS_ST_F32, "zero_point"},
    {".g_idx", MS_APPLY_OUT_G_IDX, MS_ST_I32, "g_idx"},
};
#define N_OUTS (sizeof outs / sizeof outs[0])

unsigned ms_apply_outputs_default(const ms_apply_opts *opts)
{
    unsigned made = ms_apply_made(opts);
    if (!(made & MS_APPLY_OUT_CODES))
        return MS_APPLY_OUT_WEIGHT;
    unsigned keep = MS_APPLY_OUT_CODES | MS_APPLY_OUT_SCALE | (made & MS_APPLY_OUT_G_IDX);
    if (!opts->quant.symmetric)
        keep |= MS_APPLY_OUT_ZERO_POINT;
    return keep;
}

const char *ms_apply_output_suffix(unsigned bit)
{
    for (size_t k = 0; k < N_OUTS; k++)
        if (outs[k].bit == bit)
            return outs[k].suffix;
    return NULL;
}

ms_st_dtype ms_apply_output_dtype(unsigned bit)
{
    for (size_t k = 0; k < N_OUTS; k++)
        if (outs[k].bit == bit)
            return outs[k].dtype;
    return MS_ST_F32;
}

static void list_made(char *buf, size_t cap, unsigned made)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t k = 0; k < N_OUTS && used < cap; k++)
        if (made & outs[k].bit)
            used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? "," : "", outs[k].name);
}

ms_status ms_apply_outputs_parse(const char *list, const ms_apply_opts *opts, const char *option,
                                 unsigned *out, ms_diag *diag)
{
    unsigned made = ms_apply_made(opts), got = 0;
    char valid[128];
    list_made(valid, sizeof valid, made);
    const char *p = list;
    do {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        unsigned bit = 0;
        if (len == 3 && !strncmp(p, "all", 3))
            bit = made;
        for (size_t k = 0; k < N_OUTS && !bit; k++)
            if (strlen(outs[k].name) == len && !strncmp(p, outs[k].name, len))
                bit = outs[k].bit;
        if (!bit)
            ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-USAGE", NULL, 0, 0,
                        "%s: unknown output '%.*s'", option, (int)len, p);
        else if (!(bit & made))
            ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-USAGE", NULL, 0, 0, "%s: %s makes no %.*s",
                        option, ms_apply_op_name(opts->op), (int)len, p);
        if (!bit || !(bit & made)) {
            ms_diag_hint(diag, "%s takes a comma-separated list of %s, or all", option, valid);
            return MS_ERR_INVALID;
        }
        got |= bit;
        p = end ? end + 1 : NULL;
    } while (p);
    *out = got;
    return MS_OK;
}

bool ms_apply_selected(const ms_apply_job *jobs, size_t count, const ms_st_tensor *t)
{
    for (size_t i = 0; i < count; i++)
        if (jobs[i].tensor == t)
            return true;
    return false;
}

const void *ms_apply_result_array(const ms_apply_result *r, unsigned bit)
{
    switch (bit) {
    case MS_APPLY_OUT_WEIGHT:
        return r->weight;
    case MS_APPLY_OUT_MASK:
        return r->mask;
    case MS_APPLY_OUT_CODES:
        return r->codes;
    case MS_APPLY_OUT_SCALE:
        return r->scales;
    case MS_APPLY_OUT_ZERO_POINT:
        return r->zero_points;
    default:
        return r->g_idx;
    }
}

/* Declares every output of every job (their shapes follow from the options
 * alone) so the file's layout is fixed before the first result exists. */
static ms_status declare(ms_st_writer *wr, const ms_apply_opts *opts, const ms_apply_io *io,
                         const ms_apply_job *jobs, size_t count, ms_diag *diag)
{
    unsigned want = io->outputs & ms_apply_made(opts);
    ms_status st = ms_st_writer_metadata(wr, "modsim_kernel", io->provenance, diag);
    for (size_t i = 0; st == MS_OK && i < count; i++) {
        const ms_st_tensor *t = jobs[i].tensor;
        size_t shape[2] = {t->shape[0], t->shape[1]}, sshape[2] = {0, 0}, gshape[1] = {shape[1]};
        st = ms_apply_check_shape(opts, t->name, shape[0], shape[1], diag);
        if (st == MS_OK && want & (MS_APPLY_OUT_SCALE | MS_APPLY_OUT_ZERO_POINT))
            st = ms_quant_param_shape(&opts->quant, shape[0], shape[1], &sshape[0], &sshape[1],
                                      diag);
        for (size_t k = 0; st == MS_OK && k < N_OUTS; k++) {
            if (!(want & outs[k].bit))
                continue;
            char name[600];
            snprintf(name, sizeof name, "%s%s", t->name, outs[k].suffix);
            bool scales = outs[k].bit & (MS_APPLY_OUT_SCALE | MS_APPLY_OUT_ZERO_POINT);
            bool g_idx = outs[k].bit == MS_APPLY_OUT_G_IDX;
            st = ms_st_writer_add_later(wr, name, outs[k].dtype,
                                        scales  ? sshape
                                        : g_idx ? gshape
                                                : shape,
                                        g_idx ? 1 : 2, diag);
        }
        if (st != MS_OK && !diag->file[0])
            snprintf(diag->file, sizeof diag->file, "%s", io->in_path);
    }
    for (size_t i = 0; st == MS_OK && io->rest && i < ms_st_count(io->rest); i++)
        if (!ms_apply_selected(jobs, count, ms_st_at(io->rest, i)))
            st = ms_st_writer_add_stored(wr, ms_st_at(io->rest, i), diag);
    return st;
}

ms_status ms_apply_file(ms_pool *pool, const ms_apply_opts *opts, const ms_apply_io *io,
                        ms_apply_job *jobs, size_t count, ms_diag *diag)
{
    ms_st_writer *wr = NULL;
    if (ms_st_writer_new(&wr) != MS_OK)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    unsigned want = io->outputs & ms_apply_made(opts);
    ms_status st = declare(wr, opts, io, jobs, count, diag);
    if (st == MS_OK)
        st = ms_st_writer_begin(wr, io->out_path, diag);
    for (size_t i = 0; st == MS_OK && io->rest && i < ms_st_count(io->rest); i++)
        ms_st_release(io->rest, ms_st_at(io->rest, i)); /* written by begin */
    for (size_t i = 0; st == MS_OK && i < count; i++) {
        st = run_one(pool, opts, io, &jobs[i], diag);
        ms_st_release(io->in, jobs[i].tensor);
        for (size_t k = 0; st == MS_OK && k < N_OUTS; k++) {
            if (!(want & outs[k].bit))
                continue;
            char name[600];
            snprintf(name, sizeof name, "%s%s", jobs[i].tensor->name, outs[k].suffix);
            st = ms_st_writer_put(wr, name, ms_apply_result_array(&jobs[i].result, outs[k].bit),
                                  diag);
        }
        /* the figures stay; the arrays go, so memory holds one tensor's results */
        size_t rows = jobs[i].result.rows, cols = jobs[i].result.cols;
        ms_apply_result_free(&jobs[i].result);
        jobs[i].result.rows = rows;
        jobs[i].result.cols = cols;
    }
    if (st == MS_OK)
        st = ms_st_writer_finish(wr, diag);
    ms_st_writer_free(wr);
    return st;
}
