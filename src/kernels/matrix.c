#include "kernels/matrix.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/simd.h"

/* Register tile MR x NR, cache blocks: a packed A block (MC x KC) stays in L2,
 * a packed B micro-panel (KC x NR) in L1. */
#define MR 6
#define NR MS_VLEN
#define KC 256
#define MC 96
#define NC 512
#define NB 128 /* block size of the Cholesky and triangular inverse */

float *ms_alloc_floats(size_t count)
{
    if (count == 0)
        count = 1;
    if (count > SIZE_MAX / sizeof(float) - 64)
        return NULL;
    size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes);
}

ms_status ms_matrix_init(ms_matrix *m, size_t rows, size_t cols, ms_diag *diag)
{
    m->data = NULL;
    m->rows = m->cols = 0;
    if (cols != 0 && rows > SIZE_MAX / sizeof(float) / cols)
        return ms_diag_set(diag, MS_ERR_LIMIT, "E-SIZE", NULL, 0, 0,
                           "matrix %zu x %zu is too large", rows, cols);
    float *data = ms_alloc_floats(rows * cols);
    if (!data)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "cannot allocate a %zu x %zu matrix", rows, cols);
    memset(data, 0, rows * cols * sizeof *data);
    *m = (ms_matrix){.data = data, .rows = rows, .cols = cols};
    return MS_OK;
}

ms_status ms_check_finite(const float *x, size_t rows, size_t cols, size_t ld, const char *what,
                          ms_diag *diag)
{
    for (size_t i = 0; i < rows; i++) {
        const float *r = x + i * ld;
        int bad = 0;
        for (size_t j = 0; j < cols; j++)
            bad |= !(fabsf(r[j]) <= 3.402823466e38f);
        if (!bad)
            continue;
        for (size_t j = 0; j < cols; j++)
            if (!isfinite(r[j]))
                return ms_diag_set(diag, MS_ERR_INVALID, "E-NONFINITE", NULL, 0, 0,
                                   "%s[%zu, %zu] is %s", what, i, j,
                                   isnan(r[j]) ? "NaN" : "infinite");
    }
    return MS_OK;
}

typedef struct {
    ms_trans ta, tb;
    ms_part part;
    size_t m, n, k;
    float alpha, beta;
    const float *a, *b;
    size_t lda, ldb, ldc;
    float *c;
    size_t tiles_n; /* C tiles per row of tiles */
    float *scratch; /* per worker: MC * KC + KC * NC floats */
} gemm_job;

#define GEMM_SCRATCH (MC * KC + KC * NC)

static void pack_a(const gemm_job *g, size_t i0, size_t mc, size_t p0, size_t kc, float *dst)
{
    for (size_t ir = 0; ir < mc; ir += MR) {
        size_t mr = mc - ir < MR ? mc - ir : MR;
        for (size_t p = 0; p < kc; p++) {
            for (size_t i = 0; i < mr; i++) {
                size_t row = i0 + ir + i, col = p0 + p;
                float v = g->ta == MS_NOTRANS ? g->a[row * g->lda + col] : g->a[col * g->lda + row];
                dst[p * MR + i] = g->alpha * v;
            }
            for (size_t i = mr; i < MR; i++)
                dst[p * MR + i] = 0.0f;
        }
        dst += kc * MR;
    }
}

static void pack_b(const gemm_job *g, size_t p0, size_t kc, size_t j0, size_t nc, float *dst)
{
    for (size_t jr = 0; jr < nc; jr += NR) {
        size_t nr = nc - jr < NR ? nc - jr : NR;
        for (size_t p = 0; p < kc; p++) {
            float *d = dst + p * NR;
            if (g->tb == MS_NOTRANS) {
                memcpy(d, g->b + (p0 + p) * g->ldb + j0 + jr, nr * sizeof *d);
            } else {
                for (size_t j = 0; j < nr; j++)
                    d[j] = g->b[(j0 + jr + j) * g->ldb + p0 + p];
            }
            for (size_t j = nr; j < NR; j++)
                d[j] = 0.0f;
        }
        dst += kc * NR;
    }
}

/* C tile (mr x nr at c) = acc (+ beta * C on the first K block, + C after). */
static inline void store_tile(const ms_v16f acc[MR], float *c, size_t ldc, size_t mr, size_t nr,
                              int first, float beta)
{
    for (size_t i = 0; i < mr; i++) {
        float *row = c + i * ldc;
        if (nr == NR) {
            ms_v16f v = acc[i];
            if (!first)
                v += ms_load16(row);
            else if (beta != 0.0f)
                v += beta * ms_load16(row);
            ms_store16(row, v);
        } else {
            for (size_t j = 0; j < nr; j++) {
                float v = acc[i][j];
                if (!first)
                    v += row[j];
                else if (beta != 0.0f)
                    v += beta * row[j];
                row[j] = v;
            }
        }
    }
}

MS_CLONES
static void gemm_tile(const gemm_job *g, size_t tile, float *scratch)
{
    size_t i0 = tile / g->tiles_n * MC, j0 = tile % g->tiles_n * NC;
    size_t mc = g->m - i0 < MC ? g->m - i0 : MC;
    size_t nc = g->n - j0 < NC ? g->n - j0 : NC;
    if (g->part == MS_PART_LOWER && j0 >= i0 + mc)
        return;
    float *pa = scratch, *pb = scratch + MC * KC;
    for (size_t p0 = 0; p0 < g->k; p0 += KC) {
        size_t kc = g->k - p0 < KC ? g->k - p0 : KC;
        pack_b(g, p0, kc, j0, nc, pb);
        pack_a(g, i0, mc, p0, kc, pa);
        for (size_t jr = 0; jr < nc; jr += NR) {
            const float *bp = pb + jr * kc;
            size_t nr = nc - jr < NR ? nc - jr : NR;
            for (size_t ir = 0; ir < mc; ir += MR) {
                const float *ap = pa + ir * kc;
                size_t mr = mc - ir < MR ? mc - ir : MR;
                ms_v16f acc[MR] = {{0}};
                for (size_t p = 0; p < kc; p++) {
                    ms_v16f bv = ms_load16(bp + p * NR);
                    const float *av = ap + p * MR;
                    acc[0] += av[0] * bv;
                    acc[1] += av[1] * bv;
                    acc[2] += av[2] * bv;
                    acc[3] += av[3] * bv;
                    acc[4] += av[4] * bv;
                    acc[5] += av[5] * bv;
                }
                store_tile(acc, g->c + (i0 + ir) * g->ldc + j0 + jr, g->ldc, mr, nr, p0 == 0,
                           g->beta);
            }
        }
    }
}

static void gemm_task(void *ctx, size_t task, size_t worker)
{
    const gemm_job *g = ctx;
    gemm_tile(g, task, g->scratch + worker * GEMM_SCRATCH);
}

static void scale_c(float *c, size_t ldc, size_t m, size_t n, float beta)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

/* Runs the multiply; with scratch != NULL serially on that scratch (for
 * callers already inside a pool task), else on the pool. */
static ms_status gemm_run(ms_pool *pool, float *scratch, ms_trans ta, ms_trans tb, ms_part part,
                          size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                          const float *b, size_t ldb, float beta, float *c, size_t ldc,
                          ms_diag *diag)
{
    if (m == 0 || n == 0)
        return MS_OK;
    if (k == 0) {
        scale_c(c, ldc, m, n, beta);
        return MS_OK;
    }
    gemm_job g = {.ta = ta,
                  .tb = tb,
                  .part = part,
                  .m = m,
                  .n = n,
                  .k = k,
                  .alpha = alpha,
                  .beta = beta,
                  .a = a,
                  .b = b,
                  .lda = lda,
                  .ldb = ldb,
                  .ldc = ldc,
                  .c = c,
                  .tiles_n = (n + NC - 1) / NC};
    size_t tiles = (m + MC - 1) / MC * g.tiles_n;
    if (scratch) {
        for (size_t t = 0; t < tiles; t++)
            gemm_tile(&g, t, scratch);
        return MS_OK;
    }
    g.scratch = ms_alloc_floats(GEMM_SCRATCH * ms_pool_threads(pool));
    if (!g.scratch)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "cannot allocate matrix multiply scratch");
    ms_pool_run(pool, tiles, gemm_task, &g);
    free(g.scratch);
    return MS_OK;
}

ms_status ms_gemm(ms_pool *pool, ms_trans ta, ms_trans tb, ms_part part, size_t m, size_t n,
                  size_t k, float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                  float beta, float *c, size_t ldc, ms_diag *diag)
{
    return gemm_run(pool, NULL, ta, tb, part, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, diag);
}

/* Unblocked lower Cholesky of the b x b block at a (row stride ld), sums in
 * double; `base` is the block's offset, for the diagnostic. */
static ms_status cholesky_small(float *a, size_t b, size_t ld, size_t base, ms_diag *diag)
{
    for (size_t j = 0; j < b; j++) {
        double d = a[j * ld + j];
        for (size_t p = 0; p < j; p++)
            d -= (double)a[j * ld + p] * a[j * ld + p];
        if (!(d > 0.0))
            return ms_diag_set(diag, MS_ERR_INVALID, "E-NOT-SPD", NULL, 0, 0,
                               "matrix is not positive definite: pivot %zu is %g", base + j, d);
        double ljj = sqrt(d);
        a[j * ld + j] = (float)ljj;
        for (size_t i = j + 1; i < b; i++) {
            double s = a[i * ld + j];
            for (size_t p = 0; p < j; p++)
                s -= (double)a[i * ld + p] * a[j * ld + p];
            a[i * ld + j] = (float)(s / ljj);
        }
    }
    return MS_OK;
}

/* x = l^-1 for a small lower-triangular b x b block (row strides ldl, ldx),
 * strict upper triangle of x zeroed; sums in double. */
static void tri_inverse_small(const float *l, size_t ldl, float *x, size_t ldx, size_t b)
{
    for (size_t j = 0; j < b; j++) {
        for (size_t i = 0; i < j; i++)
            x[i * ldx + j] = 0.0f;
        x[j * ldx + j] = (float)(1.0 / l[j * ldl + j]);
        for (size_t i = j + 1; i < b; i++) {
            double s = 0.0;
            for (size_t p = j; p < i; p++)
                s += (double)l[i * ldl + p] * x[p * ldx + j];
            x[i * ldx + j] = (float)(-s / l[i * ldl + i]);
        }
    }
}

ms_status ms_cholesky(ms_pool *pool, float *a, size_t n, ms_diag *diag)
{
    float *t = ms_alloc_floats(NB * NB), *panel = ms_alloc_floats(n * NB);
    ms_status st = MS_OK;
    if (!t || !panel) {
        st = ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                         "cannot allocate Cholesky scratch for n = %zu", n);
        goto done;
    }
    for (size_t k0 = 0; k0 < n; k0 += NB) {
        size_t b = n - k0 < NB ? n - k0 : NB, rest = n - k0 - b;
        float *akk = a + k0 * n + k0;
        st = cholesky_small(akk, b, n, k0, diag);
        if (st != MS_OK)
            break;
        if (rest == 0)
            continue;
        /* Panel solve as a multiply by the small inverse, then the trailing
         * update of the lower triangle only. */
        tri_inverse_small(akk, n, t, b, b);
        float *p = akk + b * n;
        st = ms_gemm(pool, MS_NOTRANS, MS_TRANS, MS_PART_FULL, rest, b, b, 1.0f, p, n, t, b, 0.0f,
                     panel, b, diag);
        if (st != MS_OK)
            break;
        for (size_t i = 0; i < rest; i++)
            memcpy(p + i * n, panel + i * b, b * sizeof *p);
        st = ms_gemm(pool, MS_NOTRANS, MS_TRANS, MS_PART_LOWER, rest, rest, b, -1.0f, panel, b,
                     panel, b, 1.0f, p + b, n, diag);
        if (st != MS_OK)
            break;
    }
    if (st == MS_OK)
        for (size_t i = 0; i < n; i++)
            memset(a + i * n + i + 1, 0, (n - i - 1) * sizeof *a);
done:
    free(t);
    free(panel);
    return st;
}

typedef struct {
    const float *l;
    float *x;
    size_t n, nblocks;
    float *scratch; /* per worker: GEMM_SCRATCH + NB * NB floats */
} triinv_job;

static void triinv_diag_task(void *ctx, size_t blk, size_t worker)
{
    (void)worker;
    const triinv_job *j = ctx;
    size_t i0 = blk * NB, b = j->n - i0 < NB ? j->n - i0 : NB;
    tri_inverse_small(j->l + i0 * j->n + i0, j->n, j->x + i0 * j->n + i0, j->n, b);
}

/* Block column c of X by forward substitution down the rows:
 * X_ic = -X_ii (L[i, c:i] X[c:i, c]). Columns are independent. */
static void triinv_column_task(void *ctx, size_t cblk, size_t worker)
{
    const triinv_job *j = ctx;
    size_t n = j->n, c0 = cblk * NB, bc = n - c0 < NB ? n - c0 : NB;
    float *scratch = j->scratch + worker * (GEMM_SCRATCH + NB * NB), *y = scratch + GEMM_SCRATCH;
    for (size_t i0 = c0 + NB; i0 < n; i0 += NB) {
        size_t bi = n - i0 < NB ? n - i0 : NB;
        gemm_run(NULL, scratch, MS_NOTRANS, MS_NOTRANS, MS_PART_FULL, bi, bc, i0 - c0, 1.0f,
                 j->l + i0 * n + c0, n, j->x + c0 * n + c0, n, 0.0f, y, NB, NULL);
        gemm_run(NULL, scratch, MS_NOTRANS, MS_NOTRANS, MS_PART_FULL, bi, bc, bi, -1.0f,
                 j->x + i0 * n + i0, n, y, NB, 0.0f, j->x + i0 * n + c0, n, NULL);
    }
}

ms_status ms_tri_inverse(ms_pool *pool, const float *l, float *x, size_t n, ms_diag *diag)
{
    for (size_t i = 0; i < n; i++)
        if (!(l[i * n + i] != 0.0f) || !isfinite(l[i * n + i]))
            return ms_diag_set(diag, MS_ERR_INVALID, "E-SINGULAR", NULL, 0, 0,
                               "triangular matrix has diagonal %g at %zu", l[i * n + i], i);
    triinv_job j = {.l = l, .x = x, .n = n, .nblocks = (n + NB - 1) / NB};
    j.scratch = ms_alloc_floats((GEMM_SCRATCH + NB * NB) * ms_pool_threads(pool));
    if (!j.scratch)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "cannot allocate triangular inverse scratch");
    for (size_t i = 0; i < n; i++)
        memset(x + i * n, 0, n * sizeof *x);
    ms_pool_run(pool, j.nblocks, triinv_diag_task, &j);
    ms_pool_run(pool, j.nblocks, triinv_column_task, &j);
    free(j.scratch);
    return MS_OK;
}
