/* GPTQ (llm-compressor modifiers/gptq/gptq_quantize.py quantize_weight).
 *
 * Columns are quantized left to right in blocks of block_size; each column's
 * error, divided by the diagonal of U (U^T U = (H + damp I)^-1, see hessian.h),
 * is spread over the rest of its block at once and over the later blocks in
 * one lazy matrix multiply. Scales and zero points come from a min/max
 * observer on the weight before GPTQ changes it, as upstream's
 * observer.get_qparams(); with actorder group they are observed on the
 * column-permuted weight.
 *
 * actorder: columns are processed in order of decreasing diag(H) (a stable
 * sort: equal diagonals keep their column order; torch.argsort gives no such
 * promise). WEIGHT (alias "static") keeps the column groups of the original
 * order; GROUP (alias "dynamic") forms groups in the permuted order and
 * returns g_idx mapping each original column to its group. Columns whose
 * Hessian diagonal is 0 are zeroed before quantization.
 *
 * A weight with at least 5% exact zeros (pruned before) keeps them, as
 * upstream's preserve_zeros: no column's error is spread onto an entry with
 * |w| <= 1e-8, so it quantizes to zero again (symmetric, or an integer zero
 * point). */
#ifndef MS_GPTQ_H
#define MS_GPTQ_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/pool.h"
#include "kernels/quant.h"
#include "util/status.h"

typedef enum {
    MS_ACTORDER_NONE,
    MS_ACTORDER_GROUP,  /* "group" / "dynamic" */
    MS_ACTORDER_WEIGHT, /* "weight" / "static" */
} ms_actorder;

typedef struct ms_gptq_args {
    ms_quant_args quant;   /* strategy tensor, channel, group or block */
    ms_actorder actorder;  /* GROUP needs the group strategy */
    size_t block_size;     /* upstream default 128 */
    double dampening_frac; /* upstream default 0.01 */
} ms_gptq_args;

typedef struct ms_gptq_result {
    double loss;   /* sum over rows and columns of (w - q)^2 / d^2, halved */
    int fell_back; /* H + damp I was not positive definite: plain rounding */
} ms_gptq_result;

/* Quantizes the rows x cols weight w in place (w becomes the dequantized
 * weight, original column order). hessian is cols x cols (the finished
 * average, e.g. ms_hessian.data) and is not modified. scales and zero_points
 * get the shape of ms_quant_param_shape. g_idx (cols entries, may be NULL) is
 * filled for the group strategy: the group of each column. Fails with
 * MS_ERR_INVALID for unsupported arguments or NaN/inf in w or hessian
 * (w is then unchanged), MS_ERR_NOMEM when out of memory. */
ms_status ms_gptq_quantize(ms_pool *pool, const ms_gptq_args *args, float *w, size_t rows,
                           size_t cols, const float *hessian, float *scales, float *zero_points,
                           int32_t *g_idx, ms_gptq_result *result, ms_diag *diag);

#endif
