/* SparseGPT (llm-compressor pruning/sparsegpt/sgpt_sparsify.py sparsify_weight,
 * without preserve_sparsity_mask).
 *
 * Same sweep as GPTQ (see gptq.h, hessian.h) with pruning instead of rounding.
 * Unstructured: per block, score = w^2 / d^2 over the block's columns, t = the
 * score at sorted index (size_t)(sparsity * block elements) (0-based, as
 * upstream), and every score <= t is pruned (so at least one element even at
 * sparsity 0, as upstream); sparsity 1 prunes all (upstream indexes past the
 * end there). N:M (prune_n > 0): at every prune_m-th column of a block, the
 * prune_n smallest scores of the next prune_m columns of each row, using the
 * updated weights; ties prune the lower column. */
#ifndef MS_SPARSEGPT_H
#define MS_SPARSEGPT_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/pool.h"
#include "util/status.h"

typedef struct ms_sparsegpt_args {
    double sparsity;       /* unstructured only, in [0, 1] */
    size_t prune_n;        /* 0 for unstructured */
    size_t prune_m;        /* N:M: must divide block_size and cols */
    size_t block_size;     /* upstream default 128 */
    double dampening_frac; /* upstream default 0.01 */
} ms_sparsegpt_args;

/* Prunes the rows x cols weight w in place using the cols x cols hessian (not
 * modified). *loss gets the summed, halved (w - q)^2 / d^2; *fell_back (may be
 * NULL) whether H + damp I was not positive definite (then U = I). mask (may
 * be NULL, rows * cols bytes) gets 1 for kept weights. */
ms_status ms_sparsegpt_prune(ms_pool *pool, const ms_sparsegpt_args *args, float *w, size_t rows,
                             size_t cols, const float *hessian, uint8_t *mask, double *loss,
                             int *fell_back, ms_diag *diag);

#endif
