/* Wanda (llm-compressor pruning/wanda/wanda_sparsify.py): prune by
 * |W| * sqrt(S) where S[j] is the running mean over samples of the squared
 * norm of input column j.
 *
 * Unstructured: in each row, the (size_t)(cols * sparsity) smallest metrics
 * are pruned, ties lower column first (upstream's stable sort). N:M: in each
 * run of m columns of a row, the n smallest (ties lower column first). */
#ifndef MS_WANDA_H
#define MS_WANDA_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/pool.h"
#include "util/status.h"

typedef struct ms_wanda_stats {
    float *row_scalars; /* dim values: the S above */
    size_t dim;         /* in_features */
    size_t num_samples;
} ms_wanda_stats;

ms_status ms_wanda_stats_init(ms_wanda_stats *s, size_t dim, ms_diag *diag);
void ms_wanda_stats_free(ms_wanda_stats *s);

/* Adds the batch x [rows, dim] holding `samples` samples (> 0), as upstream's
 * accumulate_row_scalars: S = S * n / (n + s) + sum_rows(x^2) / (n + s), with
 * the squares summed in double. NaN/inf in x is refused, S unchanged. */
ms_status ms_wanda_stats_add(ms_wanda_stats *s, const float *x, size_t rows, size_t samples,
                             ms_diag *diag);

/* Prunes the rows x cols weight w in place (cols == stats->dim). prune_n 0
 * selects unstructured pruning at `sparsity`; otherwise prune_n of every
 * prune_m columns (prune_m must divide cols). mask (may be NULL) gets 1 for
 * kept weights. */
ms_status ms_wanda_prune(ms_pool *pool, const ms_wanda_stats *stats, float *w, size_t rows,
                         size_t cols, double sparsity, size_t prune_n, size_t prune_m,
                         uint8_t *mask, ms_diag *diag);

#endif
