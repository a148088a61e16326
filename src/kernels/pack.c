#include "kernels/pack.h"

#include <string.h>

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

ms_status ms_pack_size_of(const ms_pack_module *m, ms_pack_size *out, ms_diag *diag)
{
    memset(out, 0, sizeof *out);
    size_t n = m->rows * m->cols;
    if (m->dtype_bytes != 1 && m->dtype_bytes != 2 && m->dtype_bytes != 4 && m->dtype_bytes != 8)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-VALUE", NULL, 0, 0,
                           "a weight dtype of %zu bytes; valid: 1, 2, 4 or 8", m->dtype_bytes);
    if (m->sparse != MS_PACK_SPARSE_NONE && m->nonzeros > n)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SPARSITY", NULL, 0, 0,
                           "%zu nonzeros in a %zux%zu weight", m->nonzeros, m->rows, m->cols);
    out->dense = n * m->dtype_bytes;
    size_t elem = m->dtype_bytes;
    if (m->format != MS_PACK_DENSE) {
        const ms_quant_args *q = m->weights;
        size_t sr = 0, sc = 0;
        ms_status st = q ? ms_quant_param_shape(q, m->rows, m->cols, &sr, &sc, diag)
                         : ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-VALUE", NULL, 0, 0,
                                       "a quantized format without a weight scheme");
        if (st != MS_OK)
            return st;
        out->scales = sr * sc * m->dtype_bytes;
        out->g_idx = m->g_idx ? m->cols * 4 : 0;
        if (m->format == MS_PACK_PACKED) {
            if (q->type != MS_QUANT_INT)
                return ms_diag_set(diag, MS_ERR_INVALID, "E-QUANT-TYPE", NULL, 0, 0,
                                   "pack-quantized packs int codes, not fp8");
            if (m->sparse != MS_PACK_SPARSE_NONE)
                return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-OPTIONS", NULL, 0, 0,
                                   "pack-quantized weights have no sparse format");
            size_t per = 32 / (size_t)q->num_bits;
            out->weight = m->rows * ceil_div(m->cols, per) * 4;
            out->metadata = 2 * 8; /* weight_shape */
            if (!q->symmetric)
                out->zero_points = q->strategy == MS_QUANT_GROUP || q->strategy == MS_QUANT_CHANNEL
                                       ? ceil_div(sr, per) * sc * 4
                                       : sr * sc;
        } else {
            elem = 1;
            out->weight = n;
            out->zero_points = q->symmetric ? 0 : sr * sc;
        }
    } else {
        out->weight = n * elem;
    }
    if (m->sparse == MS_PACK_SPARSE_24) {
        if (m->cols % 4 || m->nonzeros != n / 2)
            return ms_diag_set(diag, MS_ERR_INVALID, "E-PRUNE-NM", NULL, 0, 0,
                               "sparse-24-bitmask needs 2 of every 4 kept: %zu columns, %zu of "
                               "%zu kept",
                               m->cols, m->nonzeros, n);
        out->weight = m->rows * (m->cols / 2) * elem;
        out->bitmask = m->rows * ceil_div(m->cols, 8);
        out->metadata = 2 * 8;
    } else if (m->sparse == MS_PACK_SPARSE_BITMASK) {
        out->weight = m->nonzeros * elem;
        out->bitmask = m->rows * ceil_div(m->cols, 8) + m->rows * 8;
        out->metadata = 2 * 8;
    }
    out->total =
        out->weight + out->scales + out->zero_points + out->g_idx + out->metadata + out->bitmask;
    return MS_OK;
}
