/* Activation quantization as compressed-tensors applies it in a quantized
 * Linear's forward (quantization/lifecycle/forward.py set_forward_quantized:
 * input qdq before the matmul, output qdq after it, only while quantization
 * is enabled) and as llm-compressor calibrates the static scales
 * (modifiers/quantization/calibration.py: an observer per Linear fed one
 * calibration batch at a time, the qparams updated at sequential_epoch_end).
 *
 *   static   input_scale / input_zero_point from the observer: tensor
 *            strategy; memoryless_minmax (compressed-tensors' default,
 *            quant_args.py validate_model_after) keeps the last batch's
 *            min/max, static_minmax the min/max of all, minmax a moving
 *            average with averaging_constant (0.01)
 *   dynamic  the scale is computed in the forward from the value itself:
 *            token (per row), tensor (per forward call, i.e. per sequence),
 *            group (per row and group of columns) */
#ifndef MS_ACT_QUANT_H
#define MS_ACT_QUANT_H

#include <stdbool.h>
#include <stddef.h>

#include "../kernels/pool.h"
#include "../kernels/quant.h"
#include "../util/doc.h"
#include "../util/status.h"

typedef enum {
    MS_ACT_OBS_MEMORYLESS_MINMAX,
    MS_ACT_OBS_STATIC_MINMAX,
    MS_ACT_OBS_MINMAX,
} ms_act_observer;

typedef struct ms_act_args {
    ms_quant_args q; /* strategy MS_QUANT_TOKEN for per-token */
    bool dynamic;
    ms_act_observer observer; /* static only */
    float averaging_constant; /* minmax only */
} ms_act_args;

/* A written-out QuantizationArgs for activations (`input_activations`,
 * `output_activations`, `kv_cache_scheme`), defaults as compressed-tensors'
 * (8-bit int, symmetric, tensor, static). What QuantizationArgs refuses
 * (static token, dynamic channel) and what the world does not apply are
 * MS_ERR_INVALID naming the file and line. */
ms_status ms_act_args_read(const ms_node *n, const char *file, const char *field, ms_act_args *out,
                           ms_diag *diag);

/* The static observer over `batches` calibration batches of `rows` rows of
 * `cols` values each (x holds them one after another): the scale and zero
 * point update_qparams gives. */
void ms_act_observe(const ms_act_args *a, const float *x, size_t batches, size_t rows, size_t cols,
                    float *scale, float *zero_point);

/* out = qdq(x) for `seqs` sequences of `rows` rows of `cols` values: the
 * static scale and zero point, or the dynamic ones computed from x (a
 * tensor-strategy scale per sequence, one forward call upstream). */
ms_status ms_act_apply(ms_pool *pool, const ms_act_args *a, const float *x, size_t seqs,
                       size_t rows, size_t cols, float scale, float zero_point, float *out,
                       ms_diag *diag);

/* "8/dyn", "8/tok", "8/st", "fp8/st": bits and how its scale comes, for
 * the run table. */
void ms_act_label(const ms_act_args *a, char *buf, size_t n);

#endif
