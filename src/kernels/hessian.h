/* Hessians of Linear inputs for GPTQ and SparseGPT, and the factor of their
 * inverse that both algorithms sweep.
 *
 * ms_hessian_add keeps upstream's running average (sgpt_sparsify.py
 * accumulate_hessian): H = H * n / (n + s) + (2 / (n + s)) * X^T X, n += s,
 * where s counts dataset samples in the batch (upstream counts the batch
 * dimension, not tokens). GPTQ's sum-then-divide by n is the same matrix up to
 * float rounding. */
#ifndef MS_HESSIAN_H
#define MS_HESSIAN_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/pool.h"
#include "util/status.h"

typedef struct ms_hessian {
    float *data; /* dim x dim, symmetric */
    size_t dim;  /* in_features */
    size_t num_samples;
} ms_hessian;

/* A zero dim x dim Hessian with no samples. */
ms_status ms_hessian_init(ms_hessian *h, size_t dim, ms_diag *diag);
void ms_hessian_free(ms_hessian *h);

/* Adds the batch x [rows, dim] holding `samples` samples (samples > 0).
 * NaN/inf in x is refused (MS_ERR_INVALID naming x[row, col]); h is then
 * unchanged. */
ms_status ms_hessian_add(ms_pool *pool, ms_hessian *h, const float *x, size_t rows, size_t samples,
                         ms_diag *diag);

/* The upper-triangular U with U^T U = (H + damp I)^-1, what upstream gets from
 * cholesky -> cholesky_inverse -> cholesky(upper=True). Columns whose diagonal
 * is 0 are "dead": their diagonal becomes 1 and dead[i] is set (dead may be
 * NULL). damp = dampening_frac * mean(diag(H)) after that fix. h (n x n) is
 * used as workspace and clobbered; u is n x n. When H + damp I is not positive
 * definite, u becomes the identity and *fell_back is set (upstream's
 * round-to-nearest fallback); the status is still MS_OK. */
ms_status ms_hessian_inverse_factor(ms_pool *pool, float *h, size_t n, double dampening_frac,
                                    float *u, uint8_t *dead, int *fell_back, ms_diag *diag);

/* Zeroes the columns of w (rows x n) that ms_hessian_inverse_factor marked
 * dead: no calibration input ever reached them, so upstream zeroes them too. */
void ms_hessian_zero_dead_columns(float *w, size_t rows, size_t n, const uint8_t *dead);

#endif
