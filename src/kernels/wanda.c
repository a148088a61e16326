#include "kernels/wanda.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matrix.h"
#include "kernels/prune.h"

ms_status ms_wanda_stats_init(ms_wanda_stats *s, size_t dim, ms_diag *diag)
{
    *s = (ms_wanda_stats){0};
    s->row_scalars = calloc(dim ? dim : 1, sizeof *s->row_scalars);
    if (!s->row_scalars)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "cannot allocate %zu row scalars", dim);
    s->dim = dim;
    return MS_OK;
}

void ms_wanda_stats_free(ms_wanda_stats *s)
{
    free(s->row_scalars);
    *s = (ms_wanda_stats){0};
}

ms_status ms_wanda_stats_add(ms_wanda_stats *s, const float *x, size_t rows, size_t samples,
                             ms_diag *diag)
{
    if (samples == 0)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-WANDA-SAMPLES", NULL, 0, 0,
                           "a batch must count at least one sample");
    ms_status st = ms_check_finite(x, rows, s->dim, s->dim, "x", diag);
    if (st != MS_OK)
        return st;
    double *sq = calloc(s->dim ? s->dim : 1, sizeof *sq);
    if (!sq)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "cannot allocate %zu sums",
                           s->dim);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < s->dim; j++)
            sq[j] += (double)x[r * s->dim + j] * x[r * s->dim + j];
    size_t n = s->num_samples + samples;
    float keep = (float)((double)s->num_samples / (double)n);
    for (size_t j = 0; j < s->dim; j++)
        s->row_scalars[j] = s->row_scalars[j] * keep + (float)(sq[j] / (double)n);
    s->num_samples = n;
    free(sq);
    return MS_OK;
}

typedef struct {
    const float *scalars;
    float *w;
    size_t rows, cols, k, n, m;
    uint8_t *mask;
    float *scratch; /* per worker: cols */
} wanda_job;

static void wanda_row(void *ctx, size_t r, size_t worker)
{
    wanda_job *j = ctx;
    float *w = j->w + r * j->cols, *metric = j->scratch + worker * j->cols;
    uint8_t *mask = j->mask ? j->mask + r * j->cols : NULL;
    for (size_t c = 0; c < j->cols; c++)
        metric[c] = fabsf(w[c]) * sqrtf(j->scalars[c]);
    if (j->n == 0) {
        if (j->k == 0) {
            if (mask)
                memset(mask, 1, j->cols);
            return;
        }
        float t;
        ms_select_kth(NULL, metric, j->cols, j->k, &t, NULL);
        size_t below = 0;
        for (size_t c = 0; c < j->cols; c++)
            below += metric[c] < t;
        size_t ties = j->k - below; /* equal to t, pruned lowest column first */
        for (size_t c = 0; c < j->cols; c++) {
            int prune = metric[c] < t || (metric[c] == t && ties > 0 && ties--);
            if (mask)
                mask[c] = !prune;
            w[c] *= (float)!prune;
        }
        return;
    }
    for (size_t g = 0; g < j->cols; g += j->m)
        for (size_t i = g; i < g + j->m; i++) {
            size_t rank = 0;
            for (size_t k = g; k < g + j->m; k++)
                rank += (metric[k] < metric[i]) | ((metric[k] == metric[i]) & (k < i));
            int prune = rank < j->n;
            if (mask)
                mask[i] = !prune;
            w[i] *= (float)!prune;
        }
}

ms_status ms_wanda_prune(ms_pool *pool, const ms_wanda_stats *stats, float *w, size_t rows,
                         size_t cols, double sparsity, size_t prune_n, size_t prune_m,
                         uint8_t *mask, ms_diag *diag)
{
    if (cols != stats->dim)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-WANDA-SHAPE", NULL, 0, 0,
                           "weight has %zu columns but the statistics %zu", cols, stats->dim);
    if (prune_n == 0 && !(sparsity >= 0.0 && sparsity <= 1.0))
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SPARSITY", NULL, 0, 0,
                           "sparsity %g is outside [0, 1]", sparsity);
    if (prune_n != 0 && (prune_m == 0 || prune_n > prune_m || cols % prune_m != 0))
        return ms_diag_set(diag, MS_ERR_INVALID, "E-PRUNE-NM", NULL, 0, 0,
                           "N:M %zu:%zu does not fit %zu columns", prune_n, prune_m, cols);
    ms_status st = ms_check_finite(w, rows, cols, cols, "weight", diag);
    if (st != MS_OK || rows == 0 || cols == 0)
        return st;
    wanda_job j = {.scalars = stats->row_scalars,
                   .w = w,
                   .rows = rows,
                   .cols = cols,
                   .k = (size_t)((double)cols * sparsity),
                   .n = prune_n,
                   .m = prune_m,
                   .mask = mask};
    j.scratch = ms_alloc_floats(cols * ms_pool_threads(pool));
    if (!j.scratch)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "cannot allocate Wanda scratch");
    ms_pool_run(pool, rows, wanda_row, &j);
    free(j.scratch);
    return MS_OK;
}
