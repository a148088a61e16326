/* Magnitude pruning and masks, as llm-compressor's MagnitudePruningModifier
 * (pruning/utils/pytorch/mask_factory.py) and ConstantPruningModifier.
 *
 * A mask holds one byte per weight: 1 keeps it, 0 prunes it. Applying a mask
 * multiplies (w * mask, as upstream), so a pruned negative weight becomes -0.0.
 *
 * Unstructured: k = (size_t)(sparsity * numel) (Python's int() truncation);
 * threshold = the k-th smallest |w| (np.partition(np.abs(w).ravel(), k-1)[k-1]);
 * keep |w| > threshold. Ties with the threshold are all pruned, as upstream, so
 * all-equal weights at any sparsity > 0 lose every element; k = 0 keeps all.
 * N:M: in every run of m consecutive weights along a row, the n smallest |w|
 * are pruned (upstream's "2:4" passes prune_n = 2, prune_m = 4); ties prune
 * the lower column first. Channel / filter: whole rows (output channels, dim 0)
 * or whole columns (input channels, dim 1) ranked by the sum of |w| (in
 * double); the (size_t)(sparsity * count) smallest go, ties lower index first.
 *
 * NaN or infinite weights are refused with MS_ERR_INVALID; N:M with m = 4
 * checks while it prunes, so w and the mask are then partly pruned (other
 * structures leave them unchanged). Results do not depend on the pool's
 * thread count. */
#ifndef MS_PRUNE_H
#define MS_PRUNE_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/pool.h"
#include "util/status.h"

typedef enum {
    MS_PRUNE_UNSTRUCTURED,
    MS_PRUNE_NM,
    MS_PRUNE_CHANNEL, /* rows */
    MS_PRUNE_FILTER,  /* columns */
} ms_prune_structure;

typedef struct ms_prune_args {
    ms_prune_structure structure;
    double sparsity; /* in [0, 1]; unused for N:M */
    size_t n, m;     /* N:M only: prune n of every m, 0 < n <= m, m divides cols */
} ms_prune_args;

/* The k-th smallest (1-based) of `count` non-negative finite scores, k in
 * [1, count]. Exact: equals np.partition(scores, k-1)[k-1]. Fails with
 * MS_ERR_INVALID (naming the index) for a negative, NaN or infinite score. */
ms_status ms_select_kth(ms_pool *pool, const float *scores, size_t count, size_t k, float *out,
                        ms_diag *diag);

/* Unstructured magnitude threshold of w (numel values): sets *k and, when
 * k > 0, *threshold to the k-th smallest |w|; when k == 0 *threshold is -inf. */
ms_status ms_prune_threshold(ms_pool *pool, const float *w, size_t numel, double sparsity,
                             float *threshold, size_t *k, ms_diag *diag);

/* Prunes the rows x cols weight w in place and, when mask is not NULL, stores
 * the mask (rows * cols bytes). */
ms_status ms_prune_magnitude(ms_pool *pool, const ms_prune_args *args, float *w, size_t rows,
                             size_t cols, uint8_t *mask, ms_diag *diag);

/* ConstantPruning: mask = (w != 0), keeping the current zeros. */
void ms_prune_mask_nonzero(ms_pool *pool, const float *w, size_t numel, uint8_t *mask);

/* w *= mask, element-wise. */
void ms_prune_apply_mask(ms_pool *pool, float *w, const uint8_t *mask, size_t numel);

#endif
