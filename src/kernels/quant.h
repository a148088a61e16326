/* Fake quantization (quantize then dequantize) with compressed-tensors'
 * semantics, plus the integer codes, scales and zero points.
 *
 * Rules (compressed-tensors quantization/utils/helpers.py and
 * lifecycle/forward_helpers.py):
 *  - int with b bits: codes in [-2^(b-1), 2^(b-1) - 1], for symmetric and
 *    asymmetric alike (zero points are signed). fp8 E4M3: [-448, 448].
 *  - Min/max observer: mn = min(min(x), 0), mx = max(max(x), 0).
 *    symmetric: scale = max(|mn|, |mx|) / ((q_max - q_min) / 2), zero point 0;
 *    asymmetric: scale = (mx - mn) / (q_max - q_min), zero point =
 *    round(clamp(q_min - mn / scale, q_min, q_max)) (an fp8 zero point is
 *    rounded to E4M3 instead). A scale of 0 becomes FLT_EPSILON; the zero point
 *    of such an all-zero group is 0 (upstream computes 0/0 there, which its
 *    int8 cast turns into 0).
 *  - code = round(clamp(x / scale + zp, q_min, q_max)) with round half to even
 *    (torch.round), or E4M3 round-to-nearest-even for fp8 (saturating: values
 *    are clamped to +-448 first); dequantized = (code - zp) * scale. All in
 *    float32, the same operations in the same order as upstream, so results
 *    match torch bit for bit.
 *
 * Shapes of scales and zero points (row-major, srows x scols) for a rows x cols
 * weight:
 *    tensor          1 x 1
 *    channel, token  rows x 1
 *    group           rows x (cols / group_size)     group_size must divide cols
 *    block           ceil(rows / bh) x ceil(cols / bw)   ragged edge blocks are
 *                    allowed (upstream pads with zeros, which the observer's
 *                    clamp to 0 makes harmless)
 *
 * Inputs containing NaN or infinity are refused with MS_ERR_INVALID and a diag
 * naming the position; outputs are then unspecified. Results do not depend on
 * the pool's thread count. */
#ifndef MS_QUANT_H
#define MS_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/pool.h"
#include "util/status.h"

typedef enum {
    MS_QUANT_INT,
    MS_QUANT_FLOAT, /* fp8 E4M3 (num_bits 8) */
} ms_quant_type;

typedef enum {
    MS_QUANT_TENSOR,
    MS_QUANT_CHANNEL, /* one scale per output row */
    MS_QUANT_GROUP,   /* one scale per row and group of group_size columns */
    MS_QUANT_BLOCK,   /* one scale per block_structure[0] x [1] tile */
    MS_QUANT_TOKEN,   /* activations [tokens, hidden]: one scale per row */
} ms_quant_strategy;

/* Mirrors compressed-tensors QuantizationArgs (the fields that change numbers). */
typedef struct ms_quant_args {
    int num_bits; /* int: 2..8; float: 8 */
    ms_quant_type type;
    bool symmetric;
    ms_quant_strategy strategy;
    size_t group_size;         /* group strategy only */
    size_t block_structure[2]; /* block strategy only: rows, cols of a block */
} ms_quant_args;

/* Checks args against a rows x cols input and gives the scale shape. Fails
 * with MS_ERR_INVALID for unsupported bits/types, a zero group or block size,
 * or a group size that does not divide cols. */
ms_status ms_quant_param_shape(const ms_quant_args *args, size_t rows, size_t cols, size_t *srows,
                               size_t *scols, ms_diag *diag);

/* The code range [q_min, q_max] of args (assumed valid). */
void ms_quant_range(const ms_quant_args *args, float *q_min, float *q_max);

/* Scale and zero point of one group from its minimum and maximum. */
void ms_quant_qparams(const ms_quant_args *args, float min, float max, float *scale,
                      float *zero_point);

/* Fake-quantizes one value; stores its code when `code` is not NULL (for fp8,
 * the E4M3 bit pattern). The scalar twin of the array kernels, same bits. */
float ms_quant_value(const ms_quant_args *args, float x, float scale, float zero_point,
                     int8_t *code);

/* Min/max observer: fills scales and zero_points (shape above) from w. */
ms_status ms_quant_observe(ms_pool *pool, const ms_quant_args *args, const float *w, size_t rows,
                           size_t cols, float *scales, float *zero_points, ms_diag *diag);

/* Fake-quantizes w into out (which may be w) with the given parameters; codes
 * (rows * cols, may be NULL) receives the codes. */
ms_status ms_quant_apply(ms_pool *pool, const ms_quant_args *args, const float *w, size_t rows,
                         size_t cols, const float *scales, const float *zero_points, float *out,
                         int8_t *codes, ms_diag *diag);

/* Observe and apply in one pass where the strategy allows (channel, token,
 * group, block work band by band while the data is in cache). scales and
 * zero_points are required; out may be w; codes may be NULL. */
ms_status ms_quant_fake(ms_pool *pool, const ms_quant_args *args, const float *w, size_t rows,
                        size_t cols, float *out, int8_t *codes, float *scales, float *zero_points,
                        ms_diag *diag);

/* fp8 E4M3 (the "fn" variant: no infinities, max 448) helpers. round gives the
 * nearest representable value, ties to even, saturating at +-448. */
float ms_fp8_round(float x);
uint8_t ms_fp8_bits(float x);
float ms_fp8_value(uint8_t bits);

#endif
