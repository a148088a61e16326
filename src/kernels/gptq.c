#include "kernels/gptq.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/hessian.h"
#include "kernels/matrix.h"

#define ROWS_PER_TASK 16

/* gptq_quantize.py preserve_zeros: a weight with at least this fraction of
 * exact zeros (modifiers/utils/constants.py SPARSITY_THRESHOLD) keeps them */
#define SPARSITY_THRESHOLD 0.05

typedef struct {
    const ms_gptq_args *args;
    float *w; /* rows x cols work copy, permuted columns */
    size_t rows, cols, scols;
    const float *u;
    const float *scales, *zps;
    const int32_t *col_group; /* permuted column -> scale column */
    const uint8_t *nz;        /* rows x cols: 0 where a zero is kept; NULL: none kept */
    const float *kept;        /* rows x cols: the kept zeros' values */
    float *err;               /* rows x block_size */
    double *losses;           /* per row */
    size_t i1, count;
} sweep_job;

/* One block for a band of rows: rows are independent within a block. */
static void sweep_task(void *ctx, size_t task, size_t worker)
{
    (void)worker;
    sweep_job *j = ctx;
    const ms_quant_args *qa = &j->args->quant;
    size_t r0 = task * ROWS_PER_TASK,
           r1 = r0 + ROWS_PER_TASK < j->rows ? r0 + ROWS_PER_TASK : j->rows;
    size_t n = j->cols, bsz = j->args->block_size;
    for (size_t r = r0; r < r1; r++) {
        float *w1 = j->w + r * n + j->i1, *e = j->err + r * bsz;
        size_t sr = qa->strategy == MS_QUANT_TENSOR  ? 0
                    : qa->strategy == MS_QUANT_BLOCK ? r / qa->block_structure[0]
                                                     : r;
        double loss = 0.0;
        for (size_t i = 0; i < j->count; i++) {
            size_t col = j->i1 + i, si = sr * j->scols + (size_t)j->col_group[col];
            float x = w1[i], q = ms_quant_value(qa, x, j->scales[si], j->zps[si], NULL);
            const float *urow = j->u + col * n + j->i1;
            float d = urow[i], err = (x - q) / d;
            loss += (double)((x - q) * (x - q) / (d * d));
            w1[i] = q;
            e[i] = err;
            const uint8_t *nz = j->nz ? j->nz + r * n + j->i1 : NULL;
            for (size_t k = i + 1; k < j->count; k++)
                if (!nz || nz[k])
                    w1[k] -= err * urow[k];
        }
        j->losses[r] += loss;
    }
}

/* After the lazy update of the columns from `i1` on: the kept zeros get
 * their values back, as upstream multiplies the update by the mask. */
static void restore_task(void *ctx, size_t task, size_t worker)
{
    (void)worker;
    const sweep_job *j = ctx;
    size_t r0 = task * ROWS_PER_TASK,
           r1 = r0 + ROWS_PER_TASK < j->rows ? r0 + ROWS_PER_TASK : j->rows;
    for (size_t r = r0; r < r1; r++)
        for (size_t c = j->i1; c < j->cols; c++)
            if (!j->nz[r * j->cols + c])
                j->w[r * j->cols + c] = j->kept[r * j->cols + c];
}

static ms_status check_args(const ms_gptq_args *a, size_t rows, size_t cols, size_t *srows,
                            size_t *scols, ms_diag *diag)
{
    ms_status st = ms_quant_param_shape(&a->quant, rows, cols, srows, scols, diag);
    if (st != MS_OK)
        return st;
    if (a->quant.strategy == MS_QUANT_TOKEN)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-GPTQ-STRATEGY", NULL, 0, 0,
                           "GPTQ does not support the token strategy");
    if (a->actorder == MS_ACTORDER_GROUP && a->quant.strategy != MS_QUANT_GROUP)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-GPTQ-ACTORDER", NULL, 0, 0,
                           "actorder group needs the group strategy");
    if (a->block_size == 0)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-GPTQ-BLOCK", NULL, 0, 0,
                           "block_size must be positive");
    if (!(a->dampening_frac >= 0.0))
        return ms_diag_set(diag, MS_ERR_INVALID, "E-GPTQ-DAMP", NULL, 0, 0,
                           "dampening_frac %g must be >= 0", a->dampening_frac);
    return MS_OK;
}

typedef struct {
    float key;
    size_t index;
} keyed;

static int by_key_desc(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key > b->key ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* Stable argsort of diag(h), descending. */
static int activation_order(const float *h, size_t n, size_t *perm)
{
    keyed *k = malloc(n * sizeof *k);
    if (!k)
        return 0;
    for (size_t i = 0; i < n; i++)
        k[i] = (keyed){.key = h[i * n + i], .index = i};
    qsort(k, n, sizeof *k, by_key_desc);
    for (size_t i = 0; i < n; i++)
        perm[i] = k[i].index;
    free(k);
    return 1;
}

ms_status ms_gptq_quantize(ms_pool *pool, const ms_gptq_args *args, float *w, size_t rows,
                           size_t cols, const float *hessian, float *scales, float *zero_points,
                           int32_t *g_idx, ms_gptq_result *result, ms_diag *diag)
{
    size_t srows, scols, n = cols;
    *result = (ms_gptq_result){0};
    ms_status st = check_args(args, rows, cols, &srows, &scols, diag);
    if (st == MS_OK)
        st = ms_check_finite(w, rows, cols, cols, "weight", diag);
    if (st == MS_OK)
        st = ms_check_finite(hessian, n, n, n, "hessian", diag);
    if (st != MS_OK || rows == 0 || cols == 0)
        return st;

    const ms_quant_args *qa = &args->quant;
    size_t *perm = malloc(n * sizeof *perm);
    int32_t *col_group = malloc(n * sizeof *col_group);
    uint8_t *dead = malloc(n);
    float *wp = ms_alloc_floats(rows * n), *hp = ms_alloc_floats(n * n);
    float *u = ms_alloc_floats(n * n), *err = ms_alloc_floats(rows * args->block_size);
    double *losses = calloc(rows, sizeof *losses);
    size_t zeros = 0;
    for (size_t i = 0; i < rows * n; i++)
        zeros += w[i] == 0.0f;
    bool preserve = (double)zeros / (double)(rows * n) >= SPARSITY_THRESHOLD;
    uint8_t *nz = preserve ? malloc(rows * n) : NULL;
    float *kept = preserve ? ms_alloc_floats(rows * n) : NULL;
    if (!perm || !col_group || !dead || !wp || !hp || !u || !err || !losses ||
        (preserve && (!nz || !kept))) {
        st = ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                         "cannot allocate GPTQ work memory for a %zu x %zu weight", rows, cols);
        goto done;
    }
    if (args->actorder != MS_ACTORDER_NONE) {
        if (!activation_order(hessian, n, perm)) {
            st = ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                             "cannot allocate the activation order");
            goto done;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++)
            wp[r * n + j] = w[r * n + perm[j]];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            hp[i * n + j] = hessian[perm[i] * n + perm[j]];

    /* Group of each permuted column: its original group unless the groups are
     * formed in activation order. */
    size_t width = qa->strategy == MS_QUANT_GROUP   ? qa->group_size
                   : qa->strategy == MS_QUANT_BLOCK ? qa->block_structure[1]
                                                    : 0;
    for (size_t j = 0; j < n; j++) {
        size_t c = args->actorder == MS_ACTORDER_GROUP ? j : perm[j];
        col_group[j] = width ? (int32_t)(c / width) : 0;
    }
    st = args->actorder == MS_ACTORDER_GROUP
             ? ms_quant_observe(pool, qa, wp, rows, n, scales, zero_points, diag)
             : ms_quant_observe(pool, qa, w, rows, n, scales, zero_points, diag);
    if (st != MS_OK)
        goto done;

    st = ms_hessian_inverse_factor(pool, hp, n, args->dampening_frac, u, dead, &result->fell_back,
                                   diag);
    if (st != MS_OK)
        goto done;
    if (preserve)
        /* torch.isclose(W, 0): |w| <= 1e-8, before the dead columns are zeroed */
        for (size_t i = 0; i < rows * n; i++)
            nz[i] = fabsf(wp[i]) > 1e-8f;
    ms_hessian_zero_dead_columns(wp, rows, n, dead);
    if (preserve)
        memcpy(kept, wp, rows * n * sizeof *kept);

    sweep_job job = {.args = args,
                     .w = wp,
                     .rows = rows,
                     .cols = n,
                     .scols = scols,
                     .u = u,
                     .scales = scales,
                     .zps = zero_points,
                     .col_group = col_group,
                     .nz = nz,
                     .kept = kept,
                     .err = err,
                     .losses = losses};
    size_t bsz = args->block_size;
    for (size_t i1 = 0; i1 < n; i1 += bsz) {
        size_t count = n - i1 < bsz ? n - i1 : bsz, i2 = i1 + count;
        job.i1 = i1;
        job.count = count;
        ms_pool_run(pool, (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK, sweep_task, &job);
        if (i2 < n) {
            st = ms_gemm(pool, MS_NOTRANS, MS_NOTRANS, MS_PART_FULL, rows, n - i2, count, -1.0f,
                         err, bsz, u + i1 * n + i2, n, 1.0f, wp + i2, n, diag);
            if (st != MS_OK)
                goto done;
            if (preserve) {
                job.i1 = i2;
                ms_pool_run(pool, (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK, restore_task, &job);
            }
        }
    }
    double loss = 0.0;
    for (size_t r = 0; r < rows; r++)
        loss += losses[r] / 2.0;
    result->loss = loss;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++)
            w[r * n + perm[j]] = wp[r * n + j];
    if (g_idx && qa->strategy == MS_QUANT_GROUP)
        for (size_t j = 0; j < n; j++)
            g_idx[perm[j]] = col_group[j];
done:
    free(perm);
    free(col_group);
    free(dead);
    free(wp);
    free(hp);
    free(u);
    free(err);
    free(losses);
    free(nz);
    free(kept);
    return st;
}
