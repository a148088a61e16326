/* What a kernel did to a weight: the fraction of exact zeros in the new
 * weight and ||new - old|| / ||old|| (Frobenius; absolute when old = 0). In
 * fixed chunks combined in order, so the figures are the same for every
 * thread count. */
#ifndef MS_MEASURE_H
#define MS_MEASURE_H

#include <stddef.h>

#include "kernels/pool.h"
#include "util/status.h"

/* MS_ERR_NOMEM is the only failure. */
ms_status ms_measure_change(ms_pool *pool, const float *now, const float *was, size_t n,
                            double *sparsity, double *rel_error);

#endif
