/* Bytes a module's weight takes as compressed-tensors stores it, against its
 * dense size. Tensor data only (no safetensors header).
 *
 * Quantized formats (compressed-tensors 0.17.1, the release llm-compressor
 * 0.12 pins; compressors/pack_quantized/):
 *  - pack-quantized (int weights, 1..8 bits): weight_packed int32
 *    [rows, ceil(cols / (32 / bits))], each int32 holding 32 / bits codes
 *    (3 bits: 10, the last 2 bits wasted); weight_shape int64 [2];
 *    weight_scale in the weight's dtype, one per group; weight_zero_point only
 *    when asymmetric: packed the same way along the rows for group and channel
 *    ([ceil(rows / (32 / bits)), groups] int32), int8 for tensor; weight_g_idx
 *    int32 [cols] with actorder group.
 *  - int-quantized (naive): int8 codes, scales, int8 zero points when
 *    asymmetric. float-quantized (fp8): one byte per weight, scales, one-byte
 *    zero points when asymmetric.
 * Sparse formats (compressed-tensors before 0.15, whose commit 927f6d5f
 * removed them: sparse_compressors/): the values are the weight's elements
 * (quantized: one byte each) and
 *  - sparse-24-bitmask: values [rows, cols / 2], bitmask uint8
 *    [rows, ceil(cols / 8)], shape int64 [2, 1]; needs exactly 2 of every 4
 *    kept, so cols divisible by 4 and nonzeros = rows * cols / 2;
 *  - sparse-bitmask: the nonzero values, bitmask uint8 [rows, ceil(cols / 8)],
 *    row_offsets int64 [rows], shape int64 [2, 1].
 * Packed int weights with a sparse format are refused (upstream has no such
 * combination outside marlin-24). */
#ifndef MS_PACK_H
#define MS_PACK_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/quant.h"
#include "util/status.h"

typedef enum {
    MS_PACK_DENSE,  /* not quantized: the weight in its dtype */
    MS_PACK_PACKED, /* pack-quantized */
    MS_PACK_NAIVE,  /* int-quantized / float-quantized: a byte per code */
} ms_pack_format;

typedef enum {
    MS_PACK_SPARSE_NONE,
    MS_PACK_SPARSE_BITMASK,
    MS_PACK_SPARSE_24,
} ms_pack_sparse;

typedef struct ms_pack_module {
    size_t rows, cols;
    size_t dtype_bytes; /* the weight's (and scales') dtype: 2 for BF16/F16, 4 F32 */
    ms_pack_format format;
    const ms_quant_args *weights; /* the weight scheme; read unless format is DENSE */
    bool g_idx;                   /* actorder group: weight_g_idx is stored */
    ms_pack_sparse sparse;
    size_t nonzeros; /* kept weights, for the sparse formats */
} ms_pack_module;

typedef struct ms_pack_size {
    size_t dense;  /* rows * cols * dtype_bytes */
    size_t weight; /* codes or values */
    size_t scales, zero_points, g_idx;
    size_t metadata; /* weight_shape / shape tensors */
    size_t bitmask;  /* bitmask and row_offsets */
    size_t total;
} ms_pack_size;

/* Fills *out. Fails with MS_ERR_INVALID for a scheme the shape does not fit
 * (ms_quant_param_shape), a packed format with fp8 or a sparse format,
 * nonzeros above rows * cols, or a 2:4 layout the counts cannot be. */
ms_status ms_pack_size_of(const ms_pack_module *module, ms_pack_size *out, ms_diag *diag);

#endif
