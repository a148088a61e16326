#include "kernels/owl.h"

#include <math.h>
#include <stdlib.h>

#include "kernels/matrix.h"

ms_status ms_owl_observe(const float *x, size_t rows, size_t channels, float *norms, ms_diag *diag)
{
    ms_status st = ms_check_finite(x, rows, channels, channels, "activation", diag);
    if (st != MS_OK)
        return st;
    for (size_t j = 0; j < channels; j++) {
        double s = 0;
        for (size_t r = 0; r < rows; r++)
            s += (double)x[r * channels + j] * x[r * channels + j];
        norms[j] += sqrtf((float)s) * (1.0f / MS_OWL_NSAMPLES);
    }
    return MS_OK;
}

/* One task per row of one Linear: fixed partitions, so the per-row partial
 * sums and counts, added in row order, do not depend on the thread count. */
typedef struct owl_job {
    const ms_owl_linear *lin;
    size_t nlin;
    const size_t *first_row; /* global index of each Linear's first row */
    float threshold;
    double *sums;
    size_t *counts;
    int counting;
} owl_job;

static void owl_row_task(void *ctx, size_t task, size_t worker)
{
    (void)worker;
    const owl_job *j = ctx;
    size_t l = 0;
    while (l + 1 < j->nlin && j->first_row[l + 1] <= task)
        l++;
    const ms_owl_linear *lin = &j->lin[l];
    const float *w = lin->weight + (task - j->first_row[l]) * lin->cols;
    double s = 0;
    size_t c = 0;
    for (size_t k = 0; k < lin->cols; k++) {
        float z = fabsf(w[k]) * lin->norms[k];
        s += z;
        c += z > j->threshold;
    }
    if (j->counting)
        j->counts[task] = c;
    else
        j->sums[task] = s;
}

ms_status ms_owl_outlier_ratio(ms_pool *pool, const ms_owl_linear *linears, size_t nlinears,
                               double owl_m, double *ratio, ms_diag *diag)
{
    if (!isfinite(owl_m))
        return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-VALUE", NULL, 0, 0,
                           "owl_m %g is not a finite number", owl_m);
    size_t rows = 0, numel = 0;
    for (size_t l = 0; l < nlinears; l++) {
        ms_status st = ms_check_finite(linears[l].weight, linears[l].rows, linears[l].cols,
                                       linears[l].cols, "weight", diag);
        if (st == MS_OK)
            st = ms_check_finite(linears[l].norms, 1, linears[l].cols, linears[l].cols,
                                 "input norm", diag);
        if (st != MS_OK)
            return st;
        rows += linears[l].rows;
        numel += linears[l].rows * linears[l].cols;
    }
    if (numel == 0)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-SHAPE", NULL, 0, 0,
                           "an OWL layer without weights (%zu Linears)", nlinears);
    size_t *first = malloc(nlinears * sizeof *first), *counts = malloc(rows * sizeof *counts);
    double *sums = malloc(rows * sizeof *sums);
    if (!first || !counts || !sums) {
        free(first);
        free(counts);
        free(sums);
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "cannot allocate OWL partial sums for %zu rows", rows);
    }
    for (size_t l = 0, r = 0; l < nlinears; r += linears[l].rows, l++)
        first[l] = r;
    owl_job job = {linears, nlinears, first, 0.0f, sums, counts, 0};
    ms_pool_run(pool, rows, owl_row_task, &job);
    double total = 0;
    for (size_t r = 0; r < rows; r++)
        total += sums[r];
    /* torch: mean of a float32 tensor, times a python float, in float32. */
    float mean = (float)(total / (double)numel);
    job.threshold = mean * (float)owl_m;
    job.counting = 1;
    ms_pool_run(pool, rows, owl_row_task, &job);
    size_t above = 0;
    for (size_t r = 0; r < rows; r++)
        above += counts[r];
    *ratio = 100.0 * (double)above / (double)numel;
    free(first);
    free(counts);
    free(sums);
    return MS_OK;
}

ms_status ms_owl_sparsities(const double *ratios, size_t nlayers, double sparsity, double owl_lmbda,
                            double *sparsities, ms_diag *diag)
{
    if (!(sparsity >= 0 && sparsity <= 1))
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SPARSITY", NULL, 0, 0,
                           "OWL target sparsity %g is outside [0, 1]", sparsity);
    if (!(owl_lmbda >= 0) || !isfinite(owl_lmbda))
        return ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-VALUE", NULL, 0, 0,
                           "owl_lmbda %g is not a non-negative number", owl_lmbda);
    double mn = INFINITY, mx = -INFINITY;
    for (size_t k = 0; k < nlayers; k++) {
        if (!isfinite(ratios[k]))
            return ms_diag_set(diag, MS_ERR_INVALID, "E-NONFINITE", NULL, 0, 0,
                               "outlier ratio %zu is %g", k, ratios[k]);
        mn = ratios[k] < mn ? ratios[k] : mn;
        mx = ratios[k] > mx ? ratios[k] : mx;
    }
    if (nlayers == 0 || !(mx > mn)) {
        ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-VALUE", NULL, 0, 0,
                    "OWL needs layers with different outlier ratios (%zu layers, all %g)", nlayers,
                    nlayers ? mn : 0.0);
        ms_diag_hint(diag, "upstream divides by max - min = 0 here and gets NaN sparsities");
        return MS_ERR_INVALID;
    }
    /* The same operations in the same order as upstream's numpy float64. */
    double scale = 1.0 / (mx - mn) * owl_lmbda * 2, mean = 0;
    for (size_t k = 0; k < nlayers; k++) {
        sparsities[k] = (ratios[k] - mn) * scale;
        mean += sparsities[k];
    }
    mean /= (double)nlayers;
    for (size_t k = 0; k < nlayers; k++)
        sparsities[k] = 1 - (sparsities[k] - mean + (1 - sparsity));
    return MS_OK;
}
