/* The size of a model as compressed-tensors would store it
 * (compressed_tensors/compressors/): which format each Linear's weight
 * takes after a run, and the bytes of its tensors, against the dense size.
 *
 *   pack-quantized   int weights: codes packed 32 / num_bits to an int32
 *                    along the columns (weight_packed [rows, ceil(cols /
 *                    pack)]), weight_scale in the weight's dtype
 *                    [scale rows, scale cols], weight_zero_point when
 *                    asymmetric (int32, packed along the rows), and
 *                    weight_shape (2 x int32)
 *   float-quantized  fp8 weights: one byte a value, weight_scale
 *   sparse-24-bitmask  2:4 sparse weights not quantized: the kept half of
 *                    the values [rows, cols / 2] in the weight's dtype, the
 *                    bitmask packed 8 to a byte [rows, ceil(cols / 8)] and
 *                    shape (2 x int64)
 *   dense            everything else, as it is
 * Biases, norms and embeddings stay dense; tied embeddings count once. A
 * Linear with static input activations adds input_scale (one value in the
 * weight's dtype) and, when asymmetric, input_zero_point (one byte). */
#ifndef MS_WORLD_SIZE_H
#define MS_WORLD_SIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "../kernels/quant.h"
#include "../util/status.h"
#include "world_model.h"

typedef enum {
    MS_CT_DENSE,
    MS_CT_PACK_QUANTIZED,
    MS_CT_FLOAT_QUANTIZED,
    MS_CT_SPARSE_24_BITMASK,
} ms_ct_format;

/* compressed-tensors' name of the format ("pack-quantized", ...). */
const char *ms_ct_format_name(ms_ct_format format);

/* The bytes of one rows x cols weight stored as `format` (`q` for the
 * quantized formats), its values `elem` bytes each in the dense form. A
 * scheme that does not fit the shape is MS_ERR_INVALID. */
ms_status ms_ct_weight_bytes(ms_ct_format format, const ms_quant_args *q, size_t rows, size_t cols,
                             size_t elem, size_t *bytes, ms_diag *diag);

/* True when every run of 4 values along each row holds at least 2 zeros. */
bool ms_ct_is_24(const float *w, size_t rows, size_t cols);

typedef struct ms_world_size {
    size_t dense_bytes, compressed_bytes;              /* the whole model's parameters */
    size_t pack_quantized, float_quantized, sparse_24; /* Linears stored so */
} ms_world_size;

/* The model after the run, as compressed-tensors would store it. */
ms_status ms_world_model_size(const ms_world_model *wm, ms_world_size *out, ms_diag *diag);

#endif
