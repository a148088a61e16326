#include "inspect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/matrix.h"
#include "world_model_impl.h"

/* Token rows multiplied at a time: bounds the scratch for lm_head's wide
 * output. */
enum { ROW_BLOCK = 256 };

typedef struct output_error {
    ms_world_model *wm;
    double *out;
    float **kept;          /* per module: its input in the uncompressed forward */
    float *w, *w0, *y, *e; /* scratch */
} output_error;

/* The uncompressed model's forward: each Linear's input is kept until the
 * compressed forward reaches the same module. */
static ms_status keep(size_t module, const char *name, const float *x, size_t rows, size_t cols,
                      void *user, ms_diag *diag)
{
    (void)name;
    (void)diag;
    output_error *oe = user;
    if (oe->kept[module])
        return MS_OK;
    oe->kept[module] = malloc(rows * cols * sizeof(float));
    if (!oe->kept[module])
        return MS_ERR_NOMEM;
    memcpy(oe->kept[module], x, rows * cols * sizeof(float));
    return MS_OK;
}

/* The compressed model's forward: the module's output against the
 * uncompressed one's, over the same tokens. */
static ms_status compare(size_t module, const char *name, const float *x, size_t rows, size_t cols,
                         void *user, ms_diag *diag)
{
    (void)name;
    output_error *oe = user;
    const ms_world_model *wm = oe->wm;
    const ms_module *mod = ms_model_module(wm->model, module);
    const float *x0 = oe->kept[module];
    size_t out_f = mod->shape[0];
    if (!x0 || mod->kind != MS_MOD_LINEAR || cols != mod->shape[1])
        return MS_OK;
    ms_model_weight_read(wm->model, module, oe->w);
    ms_model_weight_read(wm->base, module, oe->w0);
    double num = 0, den = 0;
    ms_status st = MS_OK;
    for (size_t r0 = 0; st == MS_OK && r0 < rows; r0 += ROW_BLOCK) {
        size_t nr = rows - r0 < ROW_BLOCK ? rows - r0 : ROW_BLOCK;
        st = ms_gemm(wm->pool, MS_NOTRANS, MS_TRANS, MS_PART_FULL, nr, out_f, cols, 1.0f,
                     x0 + r0 * cols, cols, oe->w0, cols, 0.0f, oe->y, out_f, diag);
        if (st == MS_OK)
            st = ms_gemm(wm->pool, MS_NOTRANS, MS_TRANS, MS_PART_FULL, nr, out_f, cols, 1.0f,
                         x + r0 * cols, cols, oe->w, cols, 0.0f, oe->e, out_f, diag);
        for (size_t i = 0; st == MS_OK && i < nr * out_f; i++) {
            double e = (double)oe->e[i] - oe->y[i];
            num += e * e;
            den += (double)oe->y[i] * oe->y[i];
        }
    }
    oe->out[module] = den > 0 ? sqrt(num / den) : sqrt(num);
    free(oe->kept[module]);
    oe->kept[module] = NULL;
    return st;
}

ms_status ms_world_model_output_errors(ms_world_model *wm, double *out, ms_diag *diag)
{
    size_t max_w = 1, max_out = 1;
    for (size_t i = 0; i < wm->nmodules; i++) {
        const ms_module *mod = ms_model_module(wm->model, i);
        out[i] = NAN;
        if (mod->kind != MS_MOD_LINEAR)
            continue;
        size_t n = ms_module_numel(mod);
        max_w = n > max_w ? n : max_w;
        max_out = mod->shape[0] > max_out ? mod->shape[0] : max_out;
    }
    output_error oe = {.wm = wm, .out = out};
    oe.kept = calloc(wm->nmodules ? wm->nmodules : 1, sizeof *oe.kept);
    oe.w = malloc(max_w * sizeof *oe.w);
    oe.w0 = malloc(max_w * sizeof *oe.w0);
    oe.y = malloc(ROW_BLOCK * max_out * sizeof *oe.y);
    oe.e = malloc(ROW_BLOCK * max_out * sizeof *oe.e);
    ms_status st = oe.kept && oe.w && oe.w0 && oe.y && oe.e ? MS_OK : MS_ERR_NOMEM;
    ms_forward *base = NULL, *now = NULL;
    if (st == MS_OK)
        st = ms_forward_new(wm->base, &wm->calib, wm->pool, &base, diag);
    if (st == MS_OK)
        st = ms_forward_new(wm->model, &wm->calib, wm->pool, &now, diag);
    /* layer by layer, both models in step: one layer's inputs are kept */
    size_t layers = (size_t)ms_model_get_spec(wm->model)->num_layers;
    for (size_t l = 0; st == MS_OK && l < layers; l++) {
        st = ms_forward_layer(base, l, keep, &oe, diag);
        if (st == MS_OK)
            st = ms_forward_layer(now, l, compare, &oe, diag);
    }
    if (st == MS_OK)
        st = ms_forward_logits(base, keep, &oe, NULL, diag);
    if (st == MS_OK)
        st = ms_forward_logits(now, compare, &oe, NULL, diag);
    ms_forward_free(base);
    ms_forward_free(now);
    for (size_t i = 0; oe.kept && i < wm->nmodules; i++)
        free(oe.kept[i]);
    free(oe.kept);
    free(oe.w);
    free(oe.w0);
    free(oe.y);
    free(oe.e);
    return st;
}

const ms_quant_args *ms_world_model_scheme(const ms_world_model *wm, size_t module)
{
    return module < wm->nmodules ? wm->scheme[module] : NULL;
}
