/* SmoothQuant (llm-compressor modifiers/transform/smoothquant/base.py).
 *
 * Activation ranges are the per-channel max - min of the smoothed layer's
 * outputs (e.g. a norm) seen during calibration. With w[j] = 2 * the largest
 * |W[:, j]| over all balance Linears:
 *   s[j] = range[j]^alpha / w[j]^(1 - alpha)   (range[j] when w[j] == 0),
 *   clamped below at 1e-5.
 * Folding divides the norm weight and bias by s and multiplies every balance
 * Linear's input column j by s[j], so the network's function is unchanged. */
#ifndef MS_SMOOTHQUANT_H
#define MS_SMOOTHQUANT_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/matrix.h"
#include "util/status.h"

#define MS_SMOOTHQUANT_MIN_SCALE 1e-5f

/* Folds the activations x [rows, channels] into the running per-channel
 * min/max (first: start from x alone). NaN/inf refused. */
ms_status ms_smoothquant_observe(const float *x, size_t rows, size_t channels, float *min,
                                 float *max, bool first, ms_diag *diag);

/* Scales s (channels values) from the observed min/max and the balance
 * Linears (each [out, channels]); alpha (smoothing_strength) in [0, 1]. */
ms_status ms_smoothquant_scales(const float *min, const float *max, size_t channels,
                                const ms_matrix *balance, size_t nbalance, double alpha,
                                float *scales, ms_diag *diag);

/* norm_weight /= s, norm_bias /= s (may be NULL), balance[:, j] *= s[j]. */
ms_status ms_smoothquant_fold(const float *scales, size_t channels, float *norm_weight,
                              float *norm_bias, ms_matrix *balance, size_t nbalance, ms_diag *diag);

#endif
