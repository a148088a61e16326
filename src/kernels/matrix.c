#include "kernels/matrix.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/simd.h"

/* Cache blocks: a packed A block (MC x KC) stays in L2, a packed B
 * micro-panel (KC x nr) in L1. A task is a band of MB rows by NC columns of C,
 * so each packed B panel serves MB / MC A blocks; the sizes depend only on the
 * shape, never on the thread count. */
#define KC 256
#define MC 96
#define MB (4 * MC)
#define NC 512
#define NB 128 /* block size of the Cholesky and triangular inverse */

/* Register tiles: 6 x 16 (12 accumulators of 8 lanes with AVX2, 6 of 16 on
 * the baseline), 12 x 32 with AVX-512 (24 of its 32 registers: enough
 * independent sums to keep both FMA units busy, which 6 x 16 is not). Both
 * sum every element of C in the same order. */
#define MR_MAX 12
#define NR_MAX 32

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
    size_t tiles_n; /* C tasks per band of rows */
    size_t nc;      /* columns of a C task */
    size_t mr, nr;  /* register tile of the micro-kernel in use */
    int wide;       /* the AVX-512 12 x 32 micro-kernel */
    /* all of op(B), packed before the multiply: for each block of KC rows
     * (p0), `panels` nr-wide panels of kc x nr, i.e. panel j of block p0 at
     * packed + p0 * panels * nr + j * kc * nr; NULL: packed per task */
    const float *packed;
    size_t panels;
    float *scratch; /* per worker: GEMM_SCRATCH floats */
} gemm_job;

#define GEMM_SCRATCH (MC * KC + KC * NC)
/* Columns of a C task when B is packed beforehand and there are 8 bands or
 * more (NC below, for enough tasks): wide, so that each band's A block is
 * packed once for many panels. */
#define NC_PACKED 1024

#if MS_HAVE_V4
/* Rows a and b of a 16 x 16 transpose round: blocks of w lanes interleaved. */
#define TRANSPOSE_ROUND(d, lo, hi)                                                                 \
    for (int j = 0; j < 16; j++)                                                                   \
        if (!(j & d)) {                                                                            \
            ms_v16f x = r[j], y = r[j + d];                                                        \
            r[j] = __builtin_shuffle(x, y, lo);                                                    \
            r[j + d] = __builtin_shuffle(x, y, hi);                                                \
        }
/* 16 columns of 12 rows of A (rows lda apart), times alpha, as 16 packed
 * columns of 12: a 16 x 16 transpose (rows 12 to 15 zero) in four rounds of
 * two-vector shuffles instead of 192 scalar stores. The same products as the
 * scalar packing. */
MS_TARGET_V4
static void pack_a_12x16(const float *a, size_t lda, float alpha, float *dst)
{
    ms_v16f r[16];
    for (int i = 0; i < 12; i++)
        r[i] = alpha * ms_load16(a + (size_t)i * lda);
    for (int i = 12; i < 16; i++)
        r[i] = (ms_v16f){0};
    const ms_v16i lo8 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
                  hi8 = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31},
                  lo4 = {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
                  hi4 = {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31},
                  lo2 = {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
                  hi2 = {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31},
                  lo1 = {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30},
                  hi1 = {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31};
    TRANSPOSE_ROUND(8, lo8, hi8)
    TRANSPOSE_ROUND(4, lo4, hi4)
    TRANSPOSE_ROUND(2, lo2, hi2)
    TRANSPOSE_ROUND(1, lo1, hi1)
    for (int q = 0; q < 16; q++)
        memcpy(dst + q * 12, &r[q], 12 * sizeof *dst);
}
#undef TRANSPOSE_ROUND
#endif

static void pack_a(const gemm_job *g, size_t i0, size_t mc, size_t p0, size_t kc, float *dst)
{
    size_t mrt = g->mr;
    for (size_t ir = 0; ir < mc; ir += mrt) {
        size_t mr = mc - ir < mrt ? mc - ir : mrt;
        if (g->ta == MS_TRANS) {
            for (size_t p = 0; p < kc; p++) {
                const float *src = g->a + (p0 + p) * g->lda + i0 + ir;
                for (size_t i = 0; i < mr; i++)
                    dst[p * mrt + i] = g->alpha * src[i];
                for (size_t i = mr; i < mrt; i++)
                    dst[p * mrt + i] = 0.0f;
            }
        } else {
            size_t p1 = 0;
#if MS_HAVE_V4
            if (g->wide && mr == 12)
                for (; p1 + 16 <= kc; p1 += 16)
                    pack_a_12x16(g->a + (i0 + ir) * g->lda + p0 + p1, g->lda, g->alpha,
                                 dst + p1 * 12);
#endif
            for (size_t i = 0; i < mr; i++) {
                const float *src = g->a + (i0 + ir + i) * g->lda + p0;
                for (size_t p = p1; p < kc; p++)
                    dst[p * mrt + i] = g->alpha * src[p];
            }
            for (size_t i = mr; i < mrt; i++)
                for (size_t p = 0; p < kc; p++)
                    dst[p * mrt + i] = 0.0f;
        }
        dst += kc * mrt;
    }
}

static void pack_b(const gemm_job *g, size_t p0, size_t kc, size_t j0, size_t nc, float *dst)
{
    size_t nrt = g->nr;
    for (size_t jr = 0; jr < nc; jr += nrt) {
        size_t nr = nc - jr < nrt ? nc - jr : nrt;
        if (g->tb == MS_NOTRANS) {
            for (size_t p = 0; p < kc; p++) {
                float *d = dst + p * nrt;
                memcpy(d, g->b + (p0 + p) * g->ldb + j0 + jr, nr * sizeof *d);
                for (size_t j = nr; j < nrt; j++)
                    d[j] = 0.0f;
            }
        } else {
            /* rows of B are read along their length, the writes stay in cache */
            for (size_t j = 0; j < nr; j++) {
                const float *src = g->b + (j0 + jr + j) * g->ldb + p0;
                for (size_t p = 0; p < kc; p++)
                    dst[p * nrt + j] = src[p];
            }
            for (size_t j = nr; j < nrt; j++)
                for (size_t p = 0; p < kc; p++)
                    dst[p * nrt + j] = 0.0f;
        }
        dst += kc * nrt;
    }
}

/* C tile (mr x nr at c) = acc, or C + acc when `add`; acc holds rows of
 * NR_MAX floats. (beta is applied to C before the multiply.) */
static inline void store_tile(const float *acc, float *c, size_t ldc, size_t mr, size_t nr, int add)
{
    for (size_t i = 0; i < mr; i++) {
        float *row = c + i * ldc;
        const float *a = acc + i * NR_MAX;
        if (add)
            for (size_t j = 0; j < nr; j++)
                row[j] += a[j];
        else
            memcpy(row, a, nr * sizeof *row);
    }
}

/* The 6 x 16 product of packed panels, into C (rows ldc apart; C + the
 * product when `add`) when c is not NULL, else into acc (rows of NR_MAX). */
MS_CLONES
static void micro_6x16(size_t kc, const float *ap, const float *bp, float *c, size_t ldc, int add,
                       float *acc)
{
    ms_v16f c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0}, c4 = {0}, c5 = {0};
    for (size_t p = 0; p < kc; p++) {
        ms_v16f bv = ms_load16(bp + p * 16);
        const float *av = ap + p * 6;
        c0 += av[0] * bv;
        c1 += av[1] * bv;
        c2 += av[2] * bv;
        c3 += av[3] * bv;
        c4 += av[4] * bv;
        c5 += av[5] * bv;
    }
    size_t ld = NR_MAX;
    if (c) {
        ld = ldc;
        if (add) {
            c0 += ms_load16(c + 0 * ld);
            c1 += ms_load16(c + 1 * ld);
            c2 += ms_load16(c + 2 * ld);
            c3 += ms_load16(c + 3 * ld);
            c4 += ms_load16(c + 4 * ld);
            c5 += ms_load16(c + 5 * ld);
        }
    } else {
        c = acc;
    }
    ms_store16(c + 0 * ld, c0);
    ms_store16(c + 1 * ld, c1);
    ms_store16(c + 2 * ld, c2);
    ms_store16(c + 3 * ld, c3);
    ms_store16(c + 4 * ld, c4);
    ms_store16(c + 5 * ld, c5);
}

#if MS_HAVE_V4
#define ROW2(i)                                                                                    \
    do {                                                                                           \
        c##i##a += av[i] * b0;                                                                     \
        c##i##b += av[i] * b1;                                                                     \
    } while (0)
#define ADD2(i)                                                                                    \
    do {                                                                                           \
        c##i##a += ms_load16(c + (i)*ld);                                                          \
        c##i##b += ms_load16(c + (i)*ld + 16);                                                     \
    } while (0)
#define OUT2(i)                                                                                    \
    do {                                                                                           \
        ms_store16(c + (i)*ld, c##i##a);                                                           \
        ms_store16(c + (i)*ld + 16, c##i##b);                                                      \
    } while (0)
/* As micro_6x16, 12 x 32. */
MS_TARGET_V4
static void micro_12x32(size_t kc, const float *ap, const float *bp, float *c, size_t ldc, int add,
                        float *acc)
{
    ms_v16f c0a = {0}, c0b = {0}, c1a = {0}, c1b = {0}, c2a = {0}, c2b = {0}, c3a = {0}, c3b = {0},
            c4a = {0}, c4b = {0}, c5a = {0}, c5b = {0}, c6a = {0}, c6b = {0}, c7a = {0}, c7b = {0},
            c8a = {0}, c8b = {0}, c9a = {0}, c9b = {0}, c10a = {0}, c10b = {0}, c11a = {0},
            c11b = {0};
    for (size_t p = 0; p < kc; p++) {
        ms_v16f b0 = ms_load16(bp + p * 32), b1 = ms_load16(bp + p * 32 + 16);
        const float *av = ap + p * 12;
        ROW2(0);
        ROW2(1);
        ROW2(2);
        ROW2(3);
        ROW2(4);
        ROW2(5);
        ROW2(6);
        ROW2(7);
        ROW2(8);
        ROW2(9);
        ROW2(10);
        ROW2(11);
    }
    size_t ld = NR_MAX;
    if (c) {
        ld = ldc;
        if (add) {
            ADD2(0);
            ADD2(1);
            ADD2(2);
            ADD2(3);
            ADD2(4);
            ADD2(5);
            ADD2(6);
            ADD2(7);
            ADD2(8);
            ADD2(9);
            ADD2(10);
            ADD2(11);
        }
    } else {
        c = acc;
    }
    OUT2(0);
    OUT2(1);
    OUT2(2);
    OUT2(3);
    OUT2(4);
    OUT2(5);
    OUT2(6);
    OUT2(7);
    OUT2(8);
    OUT2(9);
    OUT2(10);
    OUT2(11);
}
#undef ROW2
#undef ADD2
#undef OUT2
#endif

/* One register tile of C (mr x nr at c): written in place when whole, else
 * through a buffer. Either way each element is the product summed over the
 * block in order, then added to C (`add`) or stored. */
static void micro(const gemm_job *g, size_t kc, const float *ap, const float *bp, float *c,
                  size_t ldc, size_t mr, size_t nr, int add)
{
    float acc[MR_MAX * NR_MAX] __attribute__((aligned(64)));
    int whole = mr == g->mr && nr == g->nr;
#if MS_HAVE_V4
    if (g->wide) {
        micro_12x32(kc, ap, bp, whole ? c : NULL, ldc, add, acc);
        if (!whole)
            store_tile(acc, c, ldc, mr, nr, add);
        return;
    }
#endif
    micro_6x16(kc, ap, bp, whole ? c : NULL, ldc, add, acc);
    if (!whole)
        store_tile(acc, c, ldc, mr, nr, add);
}

/* A C task, B packed here: a band of MB rows by NC columns. */
static void gemm_tile(const gemm_job *g, size_t tile, float *scratch)
{
    size_t b0 = tile / g->tiles_n * MB, j0 = tile % g->tiles_n * NC;
    size_t b1 = g->m - b0 < MB ? g->m : b0 + MB;
    size_t nc = g->n - j0 < NC ? g->n - j0 : NC;
    if (g->part == MS_PART_LOWER && j0 >= b1)
        return;
    float *pa = scratch, *pb = scratch + MC * KC;
    for (size_t p0 = 0; p0 < g->k; p0 += KC) {
        size_t kc = g->k - p0 < KC ? g->k - p0 : KC;
        int add = p0 > 0 || g->beta != 0.0f;
        /* the lower part needs no column right of the band's last row */
        size_t ncb = g->part == MS_PART_LOWER && b1 - j0 < nc ? b1 - j0 : nc;
        pack_b(g, p0, kc, j0, ncb, pb);
        for (size_t i0 = b0; i0 < b1; i0 += MC) {
            size_t mc = b1 - i0 < MC ? b1 - i0 : MC;
            size_t ncs = g->part == MS_PART_LOWER && i0 + mc - j0 < ncb ? i0 + mc - j0 : ncb;
            if (g->part == MS_PART_LOWER && j0 >= i0 + mc)
                continue;
            pack_a(g, i0, mc, p0, kc, pa);
            for (size_t jr = 0; jr < ncs; jr += g->nr) {
                const float *bp = pb + jr * kc;
                size_t nr = ncs - jr < g->nr ? ncs - jr : g->nr;
                for (size_t ir = 0; ir < mc; ir += g->mr) {
                    size_t mr = mc - ir < g->mr ? mc - ir : g->mr;
                    micro(g, kc, pa + ir * kc, bp, g->c + (i0 + ir) * g->ldc + j0 + jr, g->ldc, mr,
                          nr, add);
                }
            }
        }
    }
}

/* A C task, B packed beforehand: a band of MB rows by nc columns. Each
 * block of A is packed once for the band; each B panel, kept in L1, serves
 * the whole band. */
static void gemm_tile_packed(const gemm_job *g, size_t tile, float *pa)
{
    size_t b0 = tile / g->tiles_n * MB, j0 = tile % g->tiles_n * g->nc;
    size_t mb = g->m - b0 < MB ? g->m - b0 : MB;
    size_t nc = g->n - j0 < g->nc ? g->n - j0 : g->nc;
    for (size_t p0 = 0; p0 < g->k; p0 += KC) {
        size_t kc = g->k - p0 < KC ? g->k - p0 : KC;
        int add = p0 > 0 || g->beta != 0.0f;
        pack_a(g, b0, mb, p0, kc, pa);
        const float *pb = g->packed + p0 * g->panels * g->nr + j0 * kc;
        for (size_t jr = 0; jr < nc; jr += g->nr) {
            const float *bp = pb + jr * kc;
            size_t nr = nc - jr < g->nr ? nc - jr : g->nr;
            for (size_t ir = 0; ir < mb; ir += g->mr) {
                size_t mr = mb - ir < g->mr ? mb - ir : g->mr;
                micro(g, kc, pa + ir * kc, bp, g->c + (b0 + ir) * g->ldc + j0 + jr, g->ldc, mr, nr,
                      add);
            }
        }
    }
}

static void gemm_task(void *ctx, size_t task, size_t worker)
{
    const gemm_job *g = ctx;
    if (g->packed)
        gemm_tile_packed(g, task, g->scratch + worker * GEMM_SCRATCH);
    else
        gemm_tile(g, task, g->scratch + worker * GEMM_SCRATCH);
}

/* Packing all of op(B): one task per block of KC rows and NC columns. */
static void pack_task(void *ctx, size_t task, size_t worker)
{
    (void)worker;
    const gemm_job *g = ctx;
    size_t tiles = (g->n + NC - 1) / NC;
    size_t p0 = task / tiles * KC, j0 = task % tiles * NC;
    size_t kc = g->k - p0 < KC ? g->k - p0 : KC, nc = g->n - j0 < NC ? g->n - j0 : NC;
    pack_b(g, p0, kc, j0, nc, (float *)g->packed + p0 * g->panels * g->nr + j0 * kc);
}

static void scale_c(float *c, size_t ldc, size_t m, size_t n, float beta)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

/* Scratch of `count` floats: the pool's slot when it has one, else
 * allocated (then *owned is set and the caller frees it). */
static float *scratch_floats(ms_pool *pool, size_t slot, size_t count, int *owned)
{
    *owned = 0;
    float *p = count <= SIZE_MAX / sizeof(float)
                   ? ms_pool_scratch(pool, slot, count * sizeof(float))
                   : NULL;
    if (!p) {
        p = ms_alloc_floats(count);
        *owned = p != NULL;
    }
    return p;
}

static gemm_job job_init(ms_trans ta, ms_trans tb, ms_part part, size_t m, size_t n, size_t k,
                         float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                         float beta, float *c, size_t ldc)
{
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
                  .tiles_n = (n + NC - 1) / NC,
                  .nc = NC,
                  .mr = 6,
                  .nr = 16};
#if MS_HAVE_V4
    if (ms_cpu_has_v4())
        g.wide = 1, g.mr = 12, g.nr = 32;
#endif
    g.panels = (n + g.nr - 1) / g.nr;
    return g;
}

/* C + the product, in the same bits as beta * C + the product summed in
 * place: beta * C rounds once either way. */
static void apply_beta(float *c, size_t ldc, size_t m, size_t n, size_t k, float beta)
{
    if (k == 0 || (beta != 0.0f && beta != 1.0f))
        scale_c(c, ldc, m, n, beta);
}

/* The multiply over B packed in g->packed, on the pool. */
static ms_status gemm_packed_run(ms_pool *pool, gemm_job *g, ms_diag *diag)
{
    int owned;
    g->scratch = scratch_floats(pool, 0, GEMM_SCRATCH * ms_pool_threads(pool), &owned);
    if (!g->scratch)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "cannot allocate matrix multiply scratch");
    size_t bands = (g->m + MB - 1) / MB;
    g->nc = bands >= 8 ? NC_PACKED : NC;
    g->tiles_n = (g->n + g->nc - 1) / g->nc;
    ms_pool_run(pool, bands * g->tiles_n, gemm_task, g);
    if (owned)
        free(g->scratch);
    return MS_OK;
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
    apply_beta(c, ldc, m, n, k, beta);
    if (k == 0)
        return MS_OK;
    gemm_job g = job_init(ta, tb, part, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    size_t bands = (m + MB - 1) / MB;
    if (scratch) {
        for (size_t t = 0; t < bands * g.tiles_n; t++)
            gemm_tile(&g, t, scratch);
        return MS_OK;
    }
    if (part == MS_PART_FULL && bands > 1) {
        /* B would be packed again for every band: pack it once */
        int owned;
        float *packed = scratch_floats(pool, 1, k * g.panels * g.nr, &owned);
        if (!packed)
            return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                               "cannot allocate matrix multiply scratch");
        g.packed = packed;
        ms_pool_run(pool, (k + KC - 1) / KC * g.tiles_n, pack_task, &g);
        ms_status st = gemm_packed_run(pool, &g, diag);
        if (owned)
            free(packed);
        return st;
    }
    int owned;
    g.scratch = scratch_floats(pool, 0, GEMM_SCRATCH * ms_pool_threads(pool), &owned);
    if (!g.scratch)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "cannot allocate matrix multiply scratch");
    ms_pool_run(pool, bands * g.tiles_n, gemm_task, &g);
    if (owned)
        free(g.scratch);
    return MS_OK;
}

ms_status ms_gemm(ms_pool *pool, ms_trans ta, ms_trans tb, ms_part part, size_t m, size_t n,
                  size_t k, float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                  float beta, float *c, size_t ldc, ms_diag *diag)
{
    return gemm_run(pool, NULL, ta, tb, part, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, diag);
}

struct ms_packed_b {
    gemm_job g; /* tb, b, k, n, the register tile and the packed panels */
    float *data;
};

ms_status ms_pack_b(ms_pool *pool, ms_trans tb, size_t k, size_t n, const float *b, size_t ldb,
                    ms_packed_b **out, ms_diag *diag)
{
    *out = NULL;
    ms_packed_b *p = calloc(1, sizeof *p);
    if (p) {
        p->g =
            job_init(MS_NOTRANS, tb, MS_PART_FULL, 0, n, k, 1.0f, NULL, 0, b, ldb, 0.0f, NULL, 0);
        size_t count = k * p->g.panels * p->g.nr;
        p->data = p->g.panels && count / p->g.panels / p->g.nr == k ? ms_alloc_floats(count) : NULL;
    }
    if (!p || !p->data) {
        free(p);
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "cannot allocate a packed %zu x %zu matrix", k, n);
    }
    p->g.packed = p->data;
    ms_pool_run(pool, (k + KC - 1) / KC * p->g.tiles_n, pack_task, &p->g);
    p->g.b = NULL; /* B may go now */
    *out = p;
    return MS_OK;
}

void ms_packed_b_free(ms_packed_b *p)
{
    if (!p)
        return;
    free(p->data);
    free(p);
}

ms_status ms_gemm_packed(ms_pool *pool, ms_trans ta, size_t m, float alpha, const float *a,
                         size_t lda, const ms_packed_b *b, float beta, float *c, size_t ldc,
                         ms_diag *diag)
{
    size_t n = b->g.n, k = b->g.k;
    if (m == 0 || n == 0)
        return MS_OK;
    apply_beta(c, ldc, m, n, k, beta);
    if (k == 0)
        return MS_OK;
    gemm_job g = job_init(ta, b->g.tb, MS_PART_FULL, m, n, k, alpha, a, lda, NULL, 0, beta, c, ldc);
    g.packed = b->data;
    return gemm_packed_run(pool, &g, diag);
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
