/* AWQ scale search (llm-compressor modifiers/transform/awq/base.py, 0.12:
 * AWQModifier._compute_best_scale and its helpers).
 *
 * For one mapping (a smooth layer and the balance Linears that read its
 * output), each grid point (ratio r, duo flag) gives per-input-channel scales
 *   duo:   s = max(x_mean^r / (w_mean^(1-r) + 1e-4), 1e-4)
 *   plain: s = max(x_mean^r, 1e-4)
 *   s /= sqrt(max(s) * min(s)); infinities and NaNs become 1,
 * where x_mean is the mean |activation| per channel and w_mean the mean
 * normalized weight magnitude. Each balance weight becomes Q(W * s) / s (Q the
 * min/max fake quantization of the weight scheme, observed afresh each time),
 * the caller's forward pass turns those weights into outputs, and the loss is
 * the mean squared difference from the unquantized outputs. The first grid
 * point with the smallest loss wins (strict <, as upstream).
 *
 * Precision follows upstream's torch dtypes: x_mean is float32, w_mean float64
 * (get_high_precision), duo scales are float64 (float32 / float64 promotes),
 * plain scales float32; weights are float32. Scales are returned as double;
 * plain ones hold float32 values exactly. One deliberate difference: x_mean^r
 * is the correctly rounded float of the double power, where torch's
 * vectorized powf may be an ulp off. That ulp matters: with a symmetric
 * scheme each group's largest weight quantizes exactly on a tie (amax /
 * scale = 7.5 for 4 bits), so the last bit of a scale can move a code. Results do not depend on the
 * pool's thread count as long as the forward callback's do not. Every balance layer is taken to
 * carry the weight scheme (upstream leaves layers without one unscaled during the search). */
#ifndef MS_AWQ_H
#define MS_AWQ_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/matrix.h"
#include "kernels/pool.h"
#include "kernels/quant.h"
#include "util/status.h"

/* AWQModifier.duo_scaling: false, true or "both". */
typedef enum {
    MS_AWQ_DUO_OFF,
    MS_AWQ_DUO_ON,
    MS_AWQ_DUO_BOTH,
} ms_awq_duo;

#define MS_AWQ_DEFAULT_GRID 20

/* Grid points for n_grid (_get_grid_search_params): OFF gives i / (n - 1) for
 * i < n; ON gives (0, plain) then i / (n - 2) with duo for i < n - 1; BOTH
 * gives i / (h - 1), h = n / 2, each plain then duo. Writes up to *count
 * points (ratios and duo may be NULL to only count) and sets *count to the
 * number of points. Fails with MS_ERR_INVALID when n_grid leaves a zero
 * divisor (upstream divides by zero): OFF needs n >= 2, ON n >= 3, BOTH
 * n >= 4. */
ms_status ms_awq_grid(ms_awq_duo duo, size_t n_grid, double *ratios, bool *duo_flags, size_t *count,
                      ms_diag *diag);

/* Adds one batch of activations x [rows, channels] to the running per-channel
 * sums of |x| and the row count. NaN/inf refused. x_mean is then sum / count,
 * in float32. The batch's sum is taken in double and rounded once (torch sums
 * float32 in an order it does not fix), then added to the float32 total as
 * upstream's hook does. */
ms_status ms_awq_observe(const float *x, size_t rows, size_t channels, float *sum, size_t *count,
                         ms_diag *diag);

/* _compute_layer_means: every weight [out, channels] is cut into the chunks
 * the scheme quantizes together (tensor, channel row, group, block), each
 * chunk's |w| divided by its max + 1e-6 (float32), and w_mean[j] is the sum of
 * column j over all layers' rows divided by the total row count (float64).
 * The token strategy, and block sides that do not divide the weight (upstream's
 * unflatten fails there), are refused with MS_ERR_INVALID. */
ms_status ms_awq_weight_means(const ms_quant_args *args, const ms_matrix *layers, size_t nlayers,
                              double *w_mean, ms_diag *diag);

/* The scales of one grid point. w_mean is read only when duo is true. */
void ms_awq_scales(const float *x_mean, const double *w_mean, size_t channels, double ratio,
                   bool duo, double *scales);

/* Produces the outputs of the mapping's parent for candidate balance weights
 * (same order and shapes as the problem's), n_out floats into out. May use
 * the pool (the search does not run tasks while it is called). */
typedef ms_status (*ms_awq_forward_fn)(void *ctx, ms_pool *pool, const ms_matrix *balance,
                                       size_t nbalance, float *out, size_t n_out, ms_diag *diag);

typedef struct ms_awq_problem {
    const float *x_mean;      /* channels values */
    const double *w_mean;     /* channels values; only needed when duo is not OFF */
    size_t channels;          /* the balance layers' input width */
    const ms_matrix *balance; /* unquantized weights [out_b, channels] */
    size_t nbalance;
    const ms_quant_args *weights; /* the following quantization modifier's scheme */
    ms_awq_duo duo;
    size_t n_grid;
    ms_awq_forward_fn forward;
    void *forward_ctx;
    const float *reference; /* unquantized outputs, n_out values */
    size_t n_out;
} ms_awq_problem;

typedef struct ms_awq_result {
    double *scales;      /* caller's buffer of channels values: the best scales */
    double ratio;        /* the best grid point's ratio */
    bool duo;            /* and whether it used duo scaling */
    size_t index;        /* its position in the grid */
    double loss;         /* its loss */
    double initial_loss; /* the first grid point's loss (upstream's initial_error) */
} ms_awq_result;

/* Runs the grid search. Fails with MS_ERR_INVALID on shapes that disagree,
 * non-finite inputs, a bad grid, or when no grid point has a finite loss
 * (upstream raises "No finite loss was found"). */
ms_status ms_awq_search(ms_pool *pool, const ms_awq_problem *problem, ms_awq_result *result,
                        ms_diag *diag);

/* A forward callback for mappings whose parent is the balance Linears
 * themselves: the outputs are x @ W_b^T for each balance layer in turn
 * ([rows, out_b] blocks, one after the other). ctx is an ms_awq_linear. */
typedef struct ms_awq_linear {
    const float *x; /* calibration inputs [rows, channels] */
    size_t rows;
} ms_awq_linear;

ms_status ms_awq_linear_forward(void *ctx, ms_pool *pool, const ms_matrix *balance, size_t nbalance,
                                float *out, size_t n_out, ms_diag *diag);

/* Output size of ms_awq_linear_forward: rows * the sum of out_b. */
size_t ms_awq_linear_outputs(size_t rows, const ms_matrix *balance, size_t nbalance);

/* Applies best scales as _apply_smoothing does: balance[:, j] *= s[j]; the
 * smooth layer's last `channels` rows (all of a norm weight given as
 * [channels, 1]; the tail of a fused projection) and bias entries (may be
 * NULL; smooth->rows values) are divided by s. */
ms_status ms_awq_fold(const double *scales, size_t channels, ms_matrix *smooth, float *smooth_bias,
                      ms_matrix *balance, size_t nbalance, ms_diag *diag);

#endif
