#include "kernels/prune.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matrix.h"
#include "kernels/simd.h"

#define CHUNK 65536   /* elements per task of the streaming passes */
#define HIST_SHIFT 20 /* first radix pass: the top 11 of 31 bits */
#define HIST_BINS 2048
#define NONFINITE 0x7f800000u /* |x| bits at or above this: inf or NaN */

/* Non-negative floats order like their bit patterns, so selection works on
 * integers: one histogram pass over the data finds the bucket holding the k-th
 * value, a second gathers that bucket, and the rest runs on the candidates. */
typedef struct {
    const float *x;
    size_t count;
    int abs;         /* rank |x| instead of x (which must then be >= 0) */
    uint32_t *hists; /* per task: HIST_BINS counts */
    int *bad;        /* per task */
    uint32_t bucket;
    size_t *offsets; /* per task: where its candidates go */
    uint32_t *cand;
} select_job;

/* Keys of x[0, n): |x| bits, or the bits of x with -0.0 as 0; branch-free
 * so that the loops around it vectorize. */
static inline uint32_t key_at(const float *x, size_t i, uint32_t keep_bits)
{
    uint32_t u;
    memcpy(&u, &x[i], sizeof u);
    u &= keep_bits;
    return u == 0x80000000u ? 0 : u;
}

typedef uint32_t v16u __attribute__((vector_size(64)));

/* x < y as -1 / 0 for lanes below 2^31 (so x - y cannot overflow), from the
 * sign of x - y: plain arithmetic, which GCC splits into AVX2 halves, where
 * it turns compares of 16-lane vectors into scalar code. */
static inline ms_v16i lt31(v16u x, v16u y)
{
    return (ms_v16i)(x - y) >> 31;
}

/* key_at for 16 values at once. */
static inline v16u keys16(const float *x, uint32_t keep_bits)
{
    v16u u = (v16u)ms_load16(x) & keep_bits;
    return u & (v16u) ~(u == 0x80000000u);
}

/* Four interleaved histograms: data such as weights falls in a few bins, and
 * consecutive increments of one counter would wait on each other. */
MS_CLONES
static int hist_chunk(const float *restrict x, size_t n, uint32_t keep_bits, uint32_t *restrict out)
{
    /* padded: rows 8 KiB apart would alias in the 4 KiB store-forwarding check */
    uint32_t h[4][HIST_BINS + 16], worst = 0;
    memset(h, 0, sizeof h);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t k0 = key_at(x, i, keep_bits), k1 = key_at(x, i + 1, keep_bits);
        uint32_t k2 = key_at(x, i + 2, keep_bits), k3 = key_at(x, i + 3, keep_bits);
        uint32_t m01 = k0 > k1 ? k0 : k1, m23 = k2 > k3 ? k2 : k3, m = m01 > m23 ? m01 : m23;
        worst = m > worst ? m : worst;
        h[0][k0 >> HIST_SHIFT & (HIST_BINS - 1)]++;
        h[1][k1 >> HIST_SHIFT & (HIST_BINS - 1)]++;
        h[2][k2 >> HIST_SHIFT & (HIST_BINS - 1)]++;
        h[3][k3 >> HIST_SHIFT & (HIST_BINS - 1)]++;
    }
    for (; i < n; i++) {
        uint32_t k = key_at(x, i, keep_bits);
        worst = k > worst ? k : worst;
        h[0][k >> HIST_SHIFT & (HIST_BINS - 1)]++;
    }
    for (size_t b = 0; b < HIST_BINS; b++)
        out[b] = h[0][b] + h[1][b] + h[2][b] + h[3][b];
    /* a sign bit (when not taking |x|) or an all-ones exponent */
    return worst >= NONFINITE;
}

static void hist_task(void *ctx, size_t t, size_t worker)
{
    (void)worker;
    select_job *s = ctx;
    size_t i0 = t * CHUNK, n = s->count - i0 < CHUNK ? s->count - i0 : CHUNK;
    s->bad[t] =
        hist_chunk(s->x + i0, n, s->abs ? 0x7fffffffu : 0xffffffffu, s->hists + t * HIST_BINS);
}

/* Appends the keys in `bucket` to out without branches (a candidate is a few
 * percent of random data: branches would mispredict). Writes one slot past
 * the last candidate. Returns the count. */
MS_CLONES
static size_t gather_chunk(const float *restrict x, size_t n, uint32_t keep_bits, uint32_t bucket,
                           uint32_t *restrict out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = key_at(x, i, keep_bits);
        out[m] = k;
        m += k >> HIST_SHIFT == bucket;
    }
    return m;
}

static void gather_task(void *ctx, size_t t, size_t worker)
{
    (void)worker;
    select_job *s = ctx;
    size_t i0 = t * CHUNK, n = s->count - i0 < CHUNK ? s->count - i0 : CHUNK;
    gather_chunk(s->x + i0, n, s->abs ? 0x7fffffffu : 0xffffffffu, s->bucket,
                 s->cand + s->offsets[t]);
}

/* k-th smallest (1-based) of n keys that share their top bits; radix passes
 * of 10 bits, compacting the candidates in place. */
static uint32_t select_in(uint32_t *c, size_t n, size_t k)
{
    size_t hist[1024];
    for (int shift = 10; shift >= 0; shift -= 10) {
        memset(hist, 0, sizeof hist);
        for (size_t i = 0; i < n; i++)
            hist[(c[i] >> shift) & 1023]++;
        size_t b = 0;
        while (k > hist[b])
            k -= hist[b++];
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (((c[i] >> shift) & 1023) == b)
                c[m++] = c[i];
        n = m;
    }
    return c[0];
}

/* k-th smallest (1-based) of any n keys: a pass on the top 12 bits, then
 * select_in. */
static uint32_t select_any(uint32_t *c, size_t n, size_t k)
{
    size_t hist[4096] = {0};
    for (size_t i = 0; i < n; i++)
        hist[c[i] >> 20]++;
    size_t b = 0;
    while (k > hist[b])
        k -= hist[b++];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i] >> 20 == b)
            c[m++] = c[i];
    return select_in(c, m, k);
}

/* Large inputs first try to bracket the k-th key between two keys of a
 * sample, then count the keys below the bracket and gather those inside it
 * in one vectorized pass: no per-element histogram increments, and the
 * bracket holds about 1% of the data. The answer is exact whenever the
 * counts show that the bracket holds the k-th key; when they do not (a
 * misleading sample, or data piling up in the bracket, such as many equal or
 * sorted values, or a non-finite value), the histogram path runs. */
#define BRACKET_MIN (1u << 20) /* fewer values: the histogram path is cheap */
#define SAMPLE_STRIDE 1031     /* a run of 16 every 1031 values: prime, so */
#define SAMPLE_RUN 16          /* the runs fall on every column of a matrix */

typedef struct {
    const float *x;
    size_t count;
    uint32_t keep_bits;
    uint32_t lo, hi; /* the bracket, inclusive */
    size_t cap;      /* candidate slots per task */
    uint32_t *cand;  /* per task: cap slots */
    size_t *below;   /* per task: keys < lo */
    size_t *found;   /* per task: keys in [lo, hi] */
    int *fail;       /* per task: a non-finite key, or more than cap candidates */
} bracket_job;

static inline int any16(v16u m)
{
    m |= __builtin_shufflevector(m, m, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
    m |= __builtin_shufflevector(m, m, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3);
    m |= __builtin_shufflevector(m, m, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1);
    m |= __builtin_shufflevector(m, m, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0);
    return m[0] != 0;
}

MS_CLONES
static int bracket_chunk(const float *restrict x, size_t n, const bracket_job *b,
                         uint32_t *restrict out, size_t *below, size_t *found)
{
    v16u vbelow = {0}, vbad = {0}, lo = vbelow + b->lo, hi = vbelow + b->hi;
    const v16u finite_max = vbelow + (NONFINITE - 1);
    size_t m = 0, i = 0;
    for (; i + MS_VLEN <= n; i += MS_VLEN) {
        /* a key with the sign bit (a negative score) is bad; the rest, below
         * 2^31, compare with lt31 */
        v16u k = keys16(x + i, b->keep_bits), ka = k & 0x7fffffff;
        vbelow -= (v16u)lt31(ka, lo);
        vbad |= (k >> 31) | (v16u)lt31(finite_max, ka);
        v16u in = (v16u) ~(lt31(ka, lo) | lt31(hi, ka)) & 1; /* lo <= k <= hi */
        if (any16(in)) { /* rare: take all 16 without branches */
            if (m + MS_VLEN > b->cap)
                return 1;
            uint32_t key[MS_VLEN], take[MS_VLEN];
            memcpy(key, &k, sizeof key);
            memcpy(take, &in, sizeof take);
            for (int j = 0; j < MS_VLEN; j++) {
                out[m] = key[j];
                m += take[j];
            }
        }
    }
    size_t nb = 0;
    int bad = 0;
    for (int l = 0; l < MS_VLEN; l++) {
        nb += vbelow[l];
        bad |= vbad[l] != 0;
    }
    for (; i < n; i++) {
        uint32_t k = key_at(x, i, b->keep_bits);
        nb += k < b->lo;
        bad |= k >= NONFINITE;
        if (k >= b->lo && k <= b->hi) {
            if (m == b->cap)
                return 1;
            out[m++] = k;
        }
    }
    *below = nb;
    *found = m;
    return bad;
}

static void bracket_task(void *ctx, size_t t, size_t worker)
{
    (void)worker;
    bracket_job *b = ctx;
    size_t i0 = t * CHUNK, n = b->count - i0 < CHUNK ? b->count - i0 : CHUNK;
    b->fail[t] = bracket_chunk(b->x + i0, n, b, b->cand + t * b->cap, &b->below[t], &b->found[t]);
}

/* Returns 1 with *key set when the bracket held the k-th key, else 0. */
static int bracket_select(ms_pool *pool, const select_job *s, size_t k, uint32_t *key)
{
    size_t ntasks = (s->count + CHUNK - 1) / CHUNK, runs = (s->count - SAMPLE_RUN) / SAMPLE_STRIDE;
    size_t ns = runs * SAMPLE_RUN;
    bracket_job b = {.x = s->x, .count = s->count, .keep_bits = s->abs ? 0x7fffffffu : 0xffffffffu};
    uint32_t *smp = malloc(2 * ns * sizeof *smp);
    if (!smp)
        return 0;
    for (size_t r = 0; r < runs; r++)
        for (size_t j = 0; j < SAMPLE_RUN; j++)
            smp[r * SAMPLE_RUN + j] = key_at(s->x, r * SAMPLE_STRIDE + j, b.keep_bits);
    memcpy(smp + ns, smp, ns * sizeof *smp);
    /* about 5 standard deviations of the sample's rank either side */
    double p = (double)k / (double)s->count, center = p * (double)ns;
    double half = 5.0 * sqrt((double)ns * p * (1.0 - p)) + 32.0;
    size_t lo_rank = center - half > 1.0 ? (size_t)(center - half) : 1;
    size_t hi_rank = center + half < (double)ns ? (size_t)(center + half) + 1 : ns;
    b.lo = select_any(smp, ns, lo_rank);
    b.hi = select_any(smp + ns, ns, hi_rank);
    free(smp);
    /* room for twice the expected share of candidates in every task */
    b.cap = 2 * (size_t)((double)CHUNK * (double)(hi_rank - lo_rank + 1) / (double)ns) + 1024;
    b.cand = malloc(ntasks * b.cap * sizeof *b.cand);
    b.below = malloc(ntasks * sizeof *b.below);
    b.found = malloc(ntasks * sizeof *b.found);
    b.fail = malloc(ntasks * sizeof *b.fail);
    int ok = b.cand && b.below && b.found && b.fail;
    if (ok)
        ms_pool_run(pool, ntasks, bracket_task, &b);
    size_t below = 0, found = 0;
    for (size_t t = 0; ok && t < ntasks; t++) {
        if (b.fail[t]) {
            ok = 0;
            break;
        }
        memmove(b.cand + found, b.cand + t * b.cap, b.found[t] * sizeof *b.cand);
        below += b.below[t];
        found += b.found[t];
    }
    ok = ok && below < k && k <= below + found;
    if (ok)
        *key = select_any(b.cand, found, k - below);
    free(b.cand);
    free(b.below);
    free(b.found);
    free(b.fail);
    return ok;
}

static ms_status select_run(ms_pool *pool, select_job *s, size_t k, float *out, const char *what,
                            ms_diag *diag)
{
    size_t ntasks = (s->count + CHUNK - 1) / CHUNK;
    ms_status st = MS_OK;
    uint32_t key;
    if (s->count >= BRACKET_MIN && bracket_select(pool, s, k, &key)) {
        memcpy(out, &key, sizeof *out);
        return MS_OK;
    }
    s->hists = calloc(ntasks * HIST_BINS, sizeof *s->hists);
    s->bad = calloc(ntasks, sizeof *s->bad);
    s->offsets = malloc(ntasks * sizeof *s->offsets);
    s->cand = NULL;
    if (!s->hists || !s->bad || !s->offsets)
        goto nomem;
    ms_pool_run(pool, ntasks, hist_task, s);
    for (size_t t = 0; t < ntasks; t++) {
        if (!s->bad[t])
            continue;
        for (size_t i = t * CHUNK;; i++) {
            if (key_at(s->x, i, s->abs ? 0x7fffffffu : 0xffffffffu) >= NONFINITE) {
                st = ms_diag_set(diag, MS_ERR_INVALID, "E-NONFINITE", NULL, 0, 0, "%s[%zu] is %g",
                                 what, i, (double)s->x[i]);
                ms_diag_hint(diag, "scores must be finite%s", s->abs ? "" : " and non-negative");
                goto done;
            }
        }
    }
    size_t b = 0, kk = k;
    for (;; b++) {
        size_t total = 0;
        for (size_t t = 0; t < ntasks; t++)
            total += s->hists[t * HIST_BINS + b];
        if (kk <= total)
            break;
        kk -= total;
    }
    s->bucket = (uint32_t)b;
    /* each task's run gets a spare slot for gather_chunk's extra write */
    size_t n = 0;
    for (size_t t = 0; t < ntasks; t++) {
        s->offsets[t] = n + t;
        n += s->hists[t * HIST_BINS + b];
    }
    s->cand = malloc((n + ntasks) * sizeof *s->cand);
    if (!s->cand)
        goto nomem;
    ms_pool_run(pool, ntasks, gather_task, s);
    for (size_t t = 1, m = s->hists[b]; t < ntasks; t++) {
        size_t c = s->hists[t * HIST_BINS + b];
        memmove(s->cand + m, s->cand + s->offsets[t], c * sizeof *s->cand);
        m += c;
    }
    key = select_in(s->cand, n, kk);
    memcpy(out, &key, sizeof *out);
    goto done;
nomem:
    st = ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                     "cannot allocate selection scratch for %zu values", s->count);
done:
    free(s->hists);
    free(s->bad);
    free(s->offsets);
    free(s->cand);
    return st;
}

ms_status ms_select_kth(ms_pool *pool, const float *scores, size_t count, size_t k, float *out,
                        ms_diag *diag)
{
    if (k == 0 || k > count)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SELECT-K", NULL, 0, 0,
                           "rank %zu is outside [1, %zu]", k, count);
    select_job s = {.x = scores, .count = count, .abs = 0};
    return select_run(pool, &s, k, out, "score", diag);
}

static ms_status check_sparsity(double sparsity, ms_diag *diag)
{
    if (!(sparsity >= 0.0 && sparsity <= 1.0))
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SPARSITY", NULL, 0, 0,
                           "sparsity %g is outside [0, 1]", sparsity);
    return MS_OK;
}

ms_status ms_prune_threshold(ms_pool *pool, const float *w, size_t numel, double sparsity,
                             float *threshold, size_t *k, ms_diag *diag)
{
    ms_status st = check_sparsity(sparsity, diag);
    if (st != MS_OK)
        return st;
    *k = (size_t)(sparsity * (double)numel);
    *threshold = -INFINITY;
    if (*k == 0)
        return ms_check_finite(w, 1, numel, numel, "weight", diag);
    select_job s = {.x = w, .count = numel, .abs = 1};
    return select_run(pool, &s, *k, threshold, "weight", diag);
}

typedef struct {
    float *w;
    uint8_t *mask; /* may be NULL */
    size_t count;
    uint32_t above; /* keep |w| bits > above */
} mask_job;

/* Keeps |w| bits > above, 16 lanes at a time: the scalar form does not
 * vectorize (a conditional byte store per element). */
MS_CLONES
static void threshold_chunk(float *restrict w, uint8_t *restrict mask, size_t n, uint32_t above)
{
    typedef uint8_t v16c __attribute__((vector_size(16)));
    size_t i = 0;
    for (; i + MS_VLEN <= n; i += MS_VLEN) {
        /* |w| bits and above are below 2^31 */
        ms_v16f x = ms_load16(w + i);
        ms_v16i keep = lt31((v16u){0} + above, (v16u)x & 0x7fffffff);
        if (mask) {
            v16c k = __builtin_convertvector(keep & 1, v16c);
            memcpy(mask + i, &k, sizeof k);
        }
        ms_store16(w + i, x * (ms_v16f)(keep & 0x3f800000)); /* x * 1.0f or x * 0.0f */
    }
    for (; i < n; i++) {
        uint32_t u;
        memcpy(&u, &w[i], sizeof u);
        uint8_t keep = (u & 0x7fffffffu) > above;
        if (mask)
            mask[i] = keep;
        w[i] = w[i] * (float)keep;
    }
}

static void threshold_task(void *ctx, size_t t, size_t worker)
{
    (void)worker;
    mask_job *j = ctx;
    size_t i0 = t * CHUNK, n = j->count - i0 < CHUNK ? j->count - i0 : CHUNK;
    threshold_chunk(j->w + i0, j->mask ? j->mask + i0 : NULL, n, j->above);
}

/* Ranks of each of the m values of a group: smaller first, ties by index. */
static inline void nm_group(float *restrict w, uint8_t *restrict mask, size_t n, size_t m)
{
    float a[64];
    for (size_t i = 0; i < m; i++)
        a[i] = fabsf(w[i]);
    for (size_t i = 0; i < m; i++) {
        size_t rank = 0;
        for (size_t j = 0; j < m; j++)
            rank += (a[j] < a[i]) | ((a[j] == a[i]) & (j < i));
        uint8_t keep = rank >= n;
        if (mask)
            mask[i] = keep;
        w[i] = w[i] * (float)keep;
    }
}

/* 2:4 and friends (m = 4), four groups per 16-lane vector. Rotating the lanes
 * of each group by d = 1..3 compares every |w| with the other three of its
 * group at once, without branches. Column j = (i + d) % 4 ranks below column
 * i when its |w| is smaller, or equal with j < i (the lower column is pruned
 * first); j < i holds exactly in the lanes i >= 4 - d. The |w| are compared
 * as integers (same order for finite values), where "a_j <= a_i" is
 * "a_j < a_i + 1": one lt31 per rotation. Also checks that w is finite while
 * it reads it (one pass over memory); returns nonzero if not. */
MS_CLONES
static int nm4_chunk(float *restrict w, uint8_t *restrict mask, size_t groups, size_t n)
{
    typedef uint8_t v16c __attribute__((vector_size(16)));
    const v16u below1 = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    const v16u below2 = {0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1};
    const v16u below3 = {0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1};
    ms_v16i bad = {0};
    size_t g = 0;
    for (; g + 4 <= groups; g += 4) {
        ms_v16f x = ms_load16(w + 4 * g);
        v16u a = (v16u)x & 0x7fffffff; /* unsigned: a + 1 cannot overflow */
        v16u r1 =
            __builtin_shufflevector(a, a, 1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12);
        v16u r2 =
            __builtin_shufflevector(a, a, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
        v16u r3 =
            __builtin_shufflevector(a, a, 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
        /* -1 for true, so this is minus the rank, in [-3, 0] */
        ms_v16i neg_rank = lt31(r1, a + below1) + lt31(r2, a + below2) + lt31(r3, a + below3);
        ms_v16i keep = (neg_rank + (int32_t)n - 1) >> 31; /* rank >= n */
        bad |= lt31((v16u){0} + 0x7f7fffffu, a);          /* inf or NaN bits */
        if (mask) {
            v16c k = __builtin_convertvector(keep & 1, v16c);
            memcpy(mask + 4 * g, &k, sizeof k);
        }
        /* x * 1.0f or x * 0.0f, as the scalar path (a pruned -x gives -0.0) */
        ms_store16(w + 4 * g, x * (ms_v16f)(keep & 0x3f800000));
    }
    int any_bad = 0;
    for (int l = 0; l < MS_VLEN; l++)
        any_bad |= bad[l] != 0;
    for (; g < groups; g++) {
        float *x = w + 4 * g;
        float a0 = fabsf(x[0]), a1 = fabsf(x[1]), a2 = fabsf(x[2]), a3 = fabsf(x[3]);
        any_bad |= !(a0 <= FLT_MAX && a1 <= FLT_MAX && a2 <= FLT_MAX && a3 <= FLT_MAX);
        size_t r0 = (a1 < a0) + (a2 < a0) + (a3 < a0);
        size_t r1 = (a0 <= a1) + (a2 < a1) + (a3 < a1);
        size_t r2 = (a0 <= a2) + (a1 <= a2) + (a3 < a2);
        size_t r3 = (a0 <= a3) + (a1 <= a3) + (a2 <= a3);
        uint8_t k0 = r0 >= n, k1 = r1 >= n, k2 = r2 >= n, k3 = r3 >= n;
        if (mask) {
            mask[4 * g] = k0;
            mask[4 * g + 1] = k1;
            mask[4 * g + 2] = k2;
            mask[4 * g + 3] = k3;
        }
        x[0] *= (float)k0;
        x[1] *= (float)k1;
        x[2] *= (float)k2;
        x[3] *= (float)k3;
    }
    return any_bad;
}

typedef struct {
    float *w;
    uint8_t *mask;
    size_t count, n, m;
    int *bad; /* per task, m = 4 only: w had NaN/inf */
} nm_job;

static void nm_task(void *ctx, size_t t, size_t worker)
{
    (void)worker;
    nm_job *j = ctx;
    size_t i0 = t * CHUNK, len = j->count - i0 < CHUNK ? j->count - i0 : CHUNK;
    uint8_t *mask = j->mask ? j->mask + i0 : NULL;
    if (j->m == 4) {
        j->bad[t] = nm4_chunk(j->w + i0, mask, len / 4, j->n);
        return;
    }
    for (size_t g = 0; g < len; g += j->m)
        nm_group(j->w + i0 + g, mask ? mask + g : NULL, j->n, j->m);
}

typedef struct {
    double score;
    size_t index;
} ranked;

static int ranked_cmp(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score < b->score ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* Channel (rows) or filter (columns) pruning. */
static ms_status prune_lines(const ms_prune_args *args, float *w, size_t rows, size_t cols,
                             uint8_t *mask, ms_diag *diag)
{
    int by_row = args->structure == MS_PRUNE_CHANNEL;
    size_t lines = by_row ? rows : cols;
    ranked *r = calloc(lines ? lines : 1, sizeof *r);
    uint8_t *gone = calloc(lines ? lines : 1, 1);
    if (!r || !gone) {
        free(r);
        free(gone);
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                           "cannot allocate %zu line scores", lines);
    }
    for (size_t l = 0; l < lines; l++)
        r[l].index = l;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            r[by_row ? i : j].score += fabsf(w[i * cols + j]);
    qsort(r, lines, sizeof *r, ranked_cmp);
    size_t k = (size_t)(args->sparsity * (double)lines);
    for (size_t l = 0; l < k; l++)
        gone[r[l].index] = 1;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            uint8_t keep = !gone[by_row ? i : j];
            if (mask)
                mask[i * cols + j] = keep;
            w[i * cols + j] *= (float)keep;
        }
    free(r);
    free(gone);
    return MS_OK;
}

ms_status ms_prune_magnitude(ms_pool *pool, const ms_prune_args *args, float *w, size_t rows,
                             size_t cols, uint8_t *mask, ms_diag *diag)
{
    size_t numel = rows * cols, ntasks = (numel + CHUNK - 1) / CHUNK;
    ms_status st;
    switch (args->structure) {
    case MS_PRUNE_UNSTRUCTURED: {
        float t;
        size_t k;
        st = ms_prune_threshold(pool, w, numel, args->sparsity, &t, &k, diag);
        if (st != MS_OK)
            return st;
        uint32_t above = 0;
        if (k > 0)
            memcpy(&above, &t, sizeof above);
        mask_job j = {.w = w, .mask = mask, .count = numel, .above = k > 0 ? above : 0};
        if (k == 0) {
            /* keep everything, zeros included (|w| > -inf) */
            if (mask)
                memset(mask, 1, numel);
            return MS_OK;
        }
        ms_pool_run(pool, ntasks, threshold_task, &j);
        return MS_OK;
    }
    case MS_PRUNE_NM:
        if (args->m == 0 || args->n == 0 || args->n > args->m || args->m > 64 ||
            cols % args->m != 0) {
            ms_diag_set(diag, MS_ERR_INVALID, "E-PRUNE-NM", NULL, 0, 0,
                        "N:M %zu:%zu does not fit %zu columns", args->n, args->m, cols);
            ms_diag_hint(diag, "need 0 < N <= M <= 64 and M dividing the columns");
            return MS_ERR_INVALID;
        }
        if (args->m == 4) {
            /* checked while pruning: a separate pass would cost a third of the time */
            nm_job nj = {.w = w, .mask = mask, .count = numel, .n = args->n, .m = 4};
            nj.bad = calloc(ntasks ? ntasks : 1, sizeof *nj.bad);
            if (!nj.bad)
                return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                                   "cannot allocate %zu task flags", ntasks);
            ms_pool_run(pool, ntasks, nm_task, &nj);
            int bad = 0;
            for (size_t t = 0; t < ntasks; t++)
                bad |= nj.bad[t];
            free(nj.bad);
            return bad ? ms_check_finite(w, rows, cols, cols, "weight", diag) : MS_OK;
        }
        st = ms_check_finite(w, rows, cols, cols, "weight", diag);
        if (st != MS_OK)
            return st;
        /* CHUNK is a multiple of every m dividing it; other m get row-sized chunks */
        if (CHUNK % args->m != 0) {
            for (size_t i = 0; i < numel; i += args->m)
                nm_group(w + i, mask ? mask + i : NULL, args->n, args->m);
            return MS_OK;
        }
        nm_job nj = {.w = w, .mask = mask, .count = numel, .n = args->n, .m = args->m};
        ms_pool_run(pool, ntasks, nm_task, &nj);
        return MS_OK;
    case MS_PRUNE_CHANNEL:
    case MS_PRUNE_FILTER:
        st = check_sparsity(args->sparsity, diag);
        if (st == MS_OK)
            st = ms_check_finite(w, rows, cols, cols, "weight", diag);
        if (st != MS_OK)
            return st;
        return prune_lines(args, w, rows, cols, mask, diag);
    }
    return ms_diag_set(diag, MS_ERR_INVALID, "E-PRUNE-STRUCTURE", NULL, 0, 0,
                       "unknown mask structure %d", (int)args->structure);
}

static void nonzero_task(void *ctx, size_t t, size_t worker)
{
    (void)worker;
    mask_job *j = ctx;
    size_t i0 = t * CHUNK, n = j->count - i0 < CHUNK ? j->count - i0 : CHUNK;
    for (size_t i = i0; i < i0 + n; i++)
        j->mask[i] = j->w[i] != 0.0f;
}

void ms_prune_mask_nonzero(ms_pool *pool, const float *w, size_t numel, uint8_t *mask)
{
    mask_job j = {.w = (float *)w, .mask = mask, .count = numel};
    ms_pool_run(pool, (numel + CHUNK - 1) / CHUNK, nonzero_task, &j);
}

static void apply_task(void *ctx, size_t t, size_t worker)
{
    (void)worker;
    mask_job *j = ctx;
    size_t i0 = t * CHUNK, n = j->count - i0 < CHUNK ? j->count - i0 : CHUNK;
    for (size_t i = i0; i < i0 + n; i++)
        j->w[i] *= (float)j->mask[i];
}

void ms_prune_apply_mask(ms_pool *pool, float *w, const uint8_t *mask, size_t numel)
{
    mask_job j = {.w = w, .mask = (uint8_t *)mask, .count = numel};
    ms_pool_run(pool, (numel + CHUNK - 1) / CHUNK, apply_task, &j);
}
