#include "kernels/sparsegpt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/hessian.h"
#include "kernels/matrix.h"
#include "kernels/prune.h"

#define ROWS_PER_TASK 16

typedef struct {
    const ms_sparsegpt_args *args;
    float *w;
    size_t rows, cols;
    const float *u;
    float *err;     /* rows x block_size */
    float *scores;  /* rows x block_size, unstructured only */
    uint8_t *prune; /* rows x block_size: 1 = prune */
    double *losses;
    float thresh; /* unstructured: prune scores <= thresh */
    int prune_all;
    size_t i1, count;
} sgpt_job;

static void score_task(void *ctx, size_t task, size_t worker)
{
    (void)worker;
    sgpt_job *j = ctx;
    size_t r0 = task * ROWS_PER_TASK,
           r1 = r0 + ROWS_PER_TASK < j->rows ? r0 + ROWS_PER_TASK : j->rows;
    for (size_t r = r0; r < r1; r++)
        for (size_t i = 0; i < j->count; i++) {
            float x = j->w[r * j->cols + j->i1 + i], d = j->u[(j->i1 + i) * j->cols + j->i1 + i];
            j->scores[r * j->count + i] = x * x / (d * d);
        }
}

/* Marks the n smallest scores among s[0, m) (ties: lower index). */
static void mark_smallest(const float *s, size_t m, size_t n, uint8_t *prune)
{
    for (size_t i = 0; i < m; i++) {
        size_t rank = 0;
        for (size_t k = 0; k < m; k++)
            rank += (s[k] < s[i]) | ((s[k] == s[i]) & (k < i));
        prune[i] = rank < n;
    }
}

static void sweep_task(void *ctx, size_t task, size_t worker)
{
    (void)worker;
    sgpt_job *j = ctx;
    const ms_sparsegpt_args *a = j->args;
    size_t r0 = task * ROWS_PER_TASK,
           r1 = r0 + ROWS_PER_TASK < j->rows ? r0 + ROWS_PER_TASK : j->rows;
    size_t n = j->cols, bsz = a->block_size;
    float tmp[64];
    for (size_t r = r0; r < r1; r++) {
        float *w1 = j->w + r * n + j->i1, *e = j->err + r * bsz;
        uint8_t *prune = j->prune + r * bsz;
        if (a->prune_n == 0)
            for (size_t i = 0; i < j->count; i++)
                prune[i] = j->prune_all || j->scores[r * j->count + i] <= j->thresh;
        double loss = 0.0;
        for (size_t i = 0; i < j->count; i++) {
            const float *urow = j->u + (j->i1 + i) * n + j->i1;
            if (a->prune_n != 0 && i % a->prune_m == 0) {
                for (size_t k = 0; k < a->prune_m; k++) {
                    float d = j->u[(j->i1 + i + k) * n + j->i1 + i + k];
                    tmp[k] = w1[i + k] * w1[i + k] / (d * d);
                }
                mark_smallest(tmp, a->prune_m, a->prune_n, prune + i);
            }
            float x = w1[i], q = prune[i] ? 0.0f : x, d = urow[i], err = (x - q) / d;
            loss += (double)((x - q) * (x - q) / (d * d));
            w1[i] = q;
            e[i] = err;
            for (size_t k = i + 1; k < j->count; k++)
                w1[k] -= err * urow[k];
        }
        j->losses[r] += loss;
    }
}

static ms_status check_args(const ms_sparsegpt_args *a, size_t cols, ms_diag *diag)
{
    if (a->block_size == 0)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SGPT-BLOCK", NULL, 0, 0,
                           "block_size must be positive");
    if (!(a->dampening_frac >= 0.0))
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SGPT-DAMP", NULL, 0, 0,
                           "dampening_frac %g must be >= 0", a->dampening_frac);
    if (a->prune_n == 0 && !(a->sparsity >= 0.0 && a->sparsity <= 1.0))
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SPARSITY", NULL, 0, 0,
                           "sparsity %g is outside [0, 1]", a->sparsity);
    if (a->prune_n != 0 && (a->prune_m == 0 || a->prune_n > a->prune_m || a->prune_m > 64 ||
                            a->block_size % a->prune_m != 0 || cols % a->prune_m != 0)) {
        ms_diag_set(diag, MS_ERR_INVALID, "E-PRUNE-NM", NULL, 0, 0,
                    "N:M %zu:%zu does not fit %zu columns in blocks of %zu", a->prune_n, a->prune_m,
                    cols, a->block_size);
        ms_diag_hint(diag, "need N <= M <= 64 with M dividing block_size and the columns");
        return MS_ERR_INVALID;
    }
    return MS_OK;
}

ms_status ms_sparsegpt_prune(ms_pool *pool, const ms_sparsegpt_args *args, float *w, size_t rows,
                             size_t cols, const float *hessian, uint8_t *mask, double *loss,
                             int *fell_back, ms_diag *diag)
{
    size_t n = cols, bsz = args->block_size;
    *loss = 0.0;
    ms_status st = check_args(args, cols, diag);
    if (st == MS_OK)
        st = ms_check_finite(w, rows, cols, cols, "weight", diag);
    if (st == MS_OK)
        st = ms_check_finite(hessian, n, n, n, "hessian", diag);
    if (st != MS_OK || rows == 0 || cols == 0)
        return st;
    uint8_t *dead = malloc(n), *prune = malloc(rows * bsz);
    float *hp = ms_alloc_floats(n * n), *u = ms_alloc_floats(n * n);
    float *err = ms_alloc_floats(rows * bsz), *scores = ms_alloc_floats(rows * bsz);
    double *losses = calloc(rows, sizeof *losses);
    int fb = 0;
    if (!dead || !prune || !hp || !u || !err || !scores || !losses) {
        st =
            ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                        "cannot allocate SparseGPT work memory for a %zu x %zu weight", rows, cols);
        goto done;
    }
    memcpy(hp, hessian, n * n * sizeof *hp);
    st = ms_hessian_inverse_factor(pool, hp, n, args->dampening_frac, u, dead, &fb, diag);
    if (st != MS_OK)
        goto done;
    ms_hessian_zero_dead_columns(w, rows, n, dead);

    sgpt_job job = {.args = args,
                    .w = w,
                    .rows = rows,
                    .cols = n,
                    .u = u,
                    .err = err,
                    .scores = scores,
                    .prune = prune,
                    .losses = losses};
    size_t tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
    for (size_t i1 = 0; i1 < n; i1 += bsz) {
        size_t count = n - i1 < bsz ? n - i1 : bsz, i2 = i1 + count;
        job.i1 = i1;
        job.count = count;
        if (args->prune_n == 0) {
            size_t total = rows * count, k = (size_t)((double)total * args->sparsity);
            ms_pool_run(pool, tasks, score_task, &job);
            job.prune_all = k >= total;
            if (!job.prune_all) {
                st = ms_select_kth(pool, scores, total, k + 1, &job.thresh, diag);
                if (st != MS_OK)
                    goto done;
            }
        }
        ms_pool_run(pool, tasks, sweep_task, &job);
        if (mask)
            for (size_t r = 0; r < rows; r++)
                for (size_t i = 0; i < count; i++)
                    mask[r * n + i1 + i] = !prune[r * bsz + i];
        if (i2 < n) {
            st = ms_gemm(pool, MS_NOTRANS, MS_NOTRANS, MS_PART_FULL, rows, n - i2, count, -1.0f,
                         err, bsz, u + i1 * n + i2, n, 1.0f, w + i2, n, diag);
            if (st != MS_OK)
                goto done;
        }
    }
    for (size_t r = 0; r < rows; r++)
        *loss += losses[r] / 2.0;
    if (fell_back)
        *fell_back = fb;
done:
    free(dead);
    free(prune);
    free(hp);
    free(u);
    free(err);
    free(scores);
    free(losses);
    return st;
}
