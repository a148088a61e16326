/* OWL layer sparsities (llm-compressor modifiers/pruning/sparsegpt/
 * sgpt_base.py, 0.12: sparsity_profile "owl" with owl_m and owl_lmbda,
 * _infer_owl_layer_sparsity and _get_activations), shared by SparseGPT and
 * Wanda.
 *
 *  - Each Linear's input norms: for every calibration batch,
 *    a[j] += sqrt(sum of x[:, j]^2 over the batch's tokens) / 128 (upstream's
 *    nsamples is fixed at 128, whatever the number of batches).
 *  - A layer (decoder block) groups |W| * a of all its Linears; its outlier
 *    ratio is 100 * count(z > mean(z) * owl_m) / count(z).
 *  - Ratios are mapped to [0, 2 * owl_lmbda] by (r - min) / (max - min), and
 *    sparsity_k = 1 - (r_k - mean(r) + (1 - sparsity)), so the mean is the
 *    target and layers with more outliers are pruned less.
 * Float32 where upstream's tensors are (norms, products, mean, threshold);
 * the mean is summed in double and rounded once. Results do not depend on
 * the pool's thread count. */
#ifndef MS_OWL_H
#define MS_OWL_H

#include <stddef.h>

#include "kernels/pool.h"
#include "util/status.h"

#define MS_OWL_NSAMPLES 128

/* Adds one batch x [rows, channels] (its tokens) to a Linear's input norms
 * (channels floats, start at 0). NaN/inf refused. */
ms_status ms_owl_observe(const float *x, size_t rows, size_t channels, float *norms, ms_diag *diag);

/* One Linear of a layer: its weight [rows, cols] and input norms [cols]. */
typedef struct ms_owl_linear {
    const float *weight;
    size_t rows, cols;
    const float *norms;
} ms_owl_linear;

/* The outlier ratio (percent) of a layer made of `nlinears` Linears. Fails
 * with MS_ERR_INVALID for no weights, owl_m not finite or NaN/inf inputs. */
ms_status ms_owl_outlier_ratio(ms_pool *pool, const ms_owl_linear *linears, size_t nlinears,
                               double owl_m, double *ratio, ms_diag *diag);

/* Layer sparsities from the layers' outlier ratios. Fails with
 * MS_ERR_INVALID when sparsity is outside [0, 1], owl_lmbda is negative or
 * not finite, or all ratios are equal (one layer included): upstream divides
 * by max - min = 0 there and gets NaN sparsities. Results may leave [0, 1]
 * for large owl_lmbda, as upstream's do. */
ms_status ms_owl_sparsities(const double *ratios, size_t nlayers, double sparsity, double owl_lmbda,
                            double *sparsities, ms_diag *diag);

#endif
