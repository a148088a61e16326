#include "size.h"

#include <stdlib.h>
#include <string.h>

const char *ms_ct_format_name(ms_ct_format format)
{
    static const char *const names[] = {"dense", "pack-quantized", "float-quantized",
                                        "sparse-24-bitmask"};
    return names[format];
}

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

ms_status ms_ct_weight_bytes(ms_ct_format format, const ms_quant_args *q, size_t rows, size_t cols,
                             size_t elem, size_t *bytes, ms_diag *diag)
{
    size_t srows = 0, scols = 0;
    if (format == MS_CT_PACK_QUANTIZED || format == MS_CT_FLOAT_QUANTIZED) {
        ms_status st = ms_quant_param_shape(q, rows, cols, &srows, &scols, diag);
        if (st != MS_OK)
            return st;
    }
    switch (format) {
    case MS_CT_PACK_QUANTIZED: {
        /* pack_quantized.py: pack_to_int32 pads to whole int32s */
        size_t pack = 32 / (size_t)q->num_bits;
        *bytes = rows * ceil_div(cols, pack) * 4 + srows * scols * elem + 2 * 4;
        if (!q->symmetric)
            *bytes += ceil_div(srows, pack) * scols * 4;
        break;
    }
    case MS_CT_FLOAT_QUANTIZED:
        *bytes = rows * cols + srows * scols * elem;
        break;
    case MS_CT_SPARSE_24_BITMASK:
        /* sparse_24_bitmask.py: compressed, bitmask, shape (an int64 [2, 1]) */
        *bytes = rows * (cols / 2) * elem + rows * ceil_div(cols, 8) + 2 * 8;
        break;
    default:
        *bytes = rows * cols * elem;
        break;
    }
    return MS_OK;
}

bool ms_ct_is_24(const float *w, size_t rows, size_t cols)
{
    if (cols % 4)
        return false;
    for (size_t i = 0; i < rows * cols; i += 4) {
        int zeros = (w[i] == 0) + (w[i + 1] == 0) + (w[i + 2] == 0) + (w[i + 3] == 0);
        if (zeros < 2)
            return false;
    }
    return true;
}

static size_t dtype_bytes(const char *name)
{
    return !strcmp(name, "F32") ? 4 : 2;
}

ms_status ms_world_model_size(const ms_world_model *wm, ms_world_size *out, ms_diag *diag)
{
    memset(out, 0, sizeof *out);
    const ms_model *model = ms_world_model_model(wm);
    size_t n = ms_model_module_count(model), max = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = ms_module_numel(ms_model_module(model, i));
        max = k > max ? k : max;
    }
    float *w = malloc((max ? max : 1) * sizeof *w);
    if (!w)
        return MS_ERR_NOMEM;
    const float *embed = NULL;
    ms_status st = MS_OK;
    for (size_t i = 0; st == MS_OK && i < n; i++) {
        const ms_module *mod = ms_model_module(model, i);
        if (!mod->weight)
            continue;
        size_t elem = dtype_bytes(ms_model_weight_dtype(model, i));
        if (mod->bias) {
            out->dense_bytes += mod->shape[0] * elem;
            out->compressed_bytes += mod->shape[0] * elem;
        }
        if (mod->kind == MS_MOD_EMBEDDING)
            embed = mod->weight;
        else if (mod->weight == embed)
            continue; /* tied: stored once, as the embedding */
        size_t rows = mod->shape[0], cols = mod->ndim == 2 ? mod->shape[1] : 1;
        out->dense_bytes += rows * cols * elem;
        ms_ct_format format = MS_CT_DENSE;
        const ms_quant_args *q = NULL;
        if (mod->kind == MS_MOD_LINEAR) {
            q = ms_world_model_quant(wm, i);
            if (q)
                format = q->type == MS_QUANT_FLOAT ? MS_CT_FLOAT_QUANTIZED : MS_CT_PACK_QUANTIZED;
            else {
                ms_model_weight_read(model, i, w);
                if (ms_ct_is_24(w, rows, cols))
                    format = MS_CT_SPARSE_24_BITMASK;
            }
        }
        size_t bytes;
        st = ms_ct_weight_bytes(format, q, rows, cols, elem, &bytes, diag);
        out->compressed_bytes += bytes;
        if (mod->kind == MS_MOD_LINEAR) {
            /* initialize.py initialize_qparams: a static input's scale is
             * (1,) in the weight's dtype, its zero point (1,) of zp_dtype
             * (a byte for int8 and fp8) */
            out->compressed_bytes += ms_world_model_input_qparam_bytes(wm, i, elem);
        }
        out->pack_quantized += format == MS_CT_PACK_QUANTIZED;
        out->float_quantized += format == MS_CT_FLOAT_QUANTIZED;
        out->sparse_24 += format == MS_CT_SPARSE_24_BITMASK;
    }
    free(w);
    if (st == MS_OK && n)
        out->compressed_bytes +=
            ms_world_model_kv_qparam_bytes(wm, dtype_bytes(ms_model_weight_dtype(model, 0)));
    return st;
}
