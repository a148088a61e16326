#include "kernels/quant.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matrix.h"
#include "kernels/simd.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_STREAM 1
#else
#define HAVE_STREAM 0
#endif

/* Outputs above this many bytes bypass the cache with streaming stores: a
 * normal store first reads the line it writes (write-allocate), so a
 * quantize pass would move 14 bytes per weight instead of 9. */
#define STREAM_MIN_BYTES (16u << 20)

/* Adding and subtracting 1.5 * 2^23 rounds a float of magnitude below 2^22 to
 * an integer, half to even, in the default rounding mode; unlike rintf it
 * vectorizes on every x86-64 level. Inputs are clamped to the code range. */
#define RNE_MAGIC 12582912.0f
#define FP8_MAX 448.0f
#define FP8_MIN_NORMAL 0.015625f /* 2^-6 */

static inline float clampf(float x, float lo, float hi)
{
    x = x > lo ? x : lo;
    return x < hi ? x : hi;
}

static inline uint32_t f2u(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline float u2f(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

float ms_fp8_round(float x)
{
    x = clampf(x, -FP8_MAX, FP8_MAX);
    uint32_t u = f2u(x), sign = u & 0x80000000u;
    float a = u2f(u & 0x7fffffffu), r;
    if (a < FP8_MIN_NORMAL) {
        /* subnormals are multiples of 2^-9 */
        r = ((a * 512.0f + RNE_MAGIC) - RNE_MAGIC) * (1.0f / 512.0f);
    } else {
        uint32_t b = f2u(a);
        b = (b + 0x7ffffu + ((b >> 20) & 1u)) & 0xfff00000u;
        r = u2f(b);
    }
    return u2f(f2u(r) | sign);
}

uint8_t ms_fp8_bits(float x)
{
    float r = ms_fp8_round(x);
    uint32_t u = f2u(r);
    uint8_t sign = (uint8_t)((u >> 24) & 0x80u);
    float a = fabsf(r);
    if (a < FP8_MIN_NORMAL)
        return (uint8_t)(sign | (uint8_t)(a * 512.0f));
    uint32_t exp = ((u >> 23) & 0xffu) - 127u + 7u;
    return (uint8_t)(sign | (exp << 3) | ((u >> 20) & 7u));
}

float ms_fp8_value(uint8_t bits)
{
    float sign = (bits & 0x80u) ? -1.0f : 1.0f;
    unsigned exp = (bits >> 3) & 15u, man = bits & 7u;
    if (exp == 15 && man == 7)
        return NAN;
    if (exp == 0)
        return sign * (float)man / 512.0f;
    return sign * ldexpf(1.0f + (float)man / 8.0f, (int)exp - 7);
}

void ms_quant_range(const ms_quant_args *args, float *q_min, float *q_max)
{
    if (args->type == MS_QUANT_FLOAT) {
        *q_min = -FP8_MAX;
        *q_max = FP8_MAX;
        return;
    }
    float half = (float)(1 << (args->num_bits - 1));
    *q_min = -half;
    *q_max = half - 1.0f;
}

ms_status ms_quant_param_shape(const ms_quant_args *args, size_t rows, size_t cols, size_t *srows,
                               size_t *scols, ms_diag *diag)
{
    if (args->type == MS_QUANT_INT && (args->num_bits < 2 || args->num_bits > 8))
        return ms_diag_set(diag, MS_ERR_INVALID, "E-QUANT-BITS", NULL, 0, 0,
                           "num_bits %d is not supported for int", args->num_bits);
    if (args->type == MS_QUANT_FLOAT && args->num_bits != 8)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-QUANT-BITS", NULL, 0, 0,
                           "num_bits %d is not supported for float (only fp8 E4M3)",
                           args->num_bits);
    if (args->type != MS_QUANT_INT && args->type != MS_QUANT_FLOAT)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-QUANT-TYPE", NULL, 0, 0,
                           "unknown quantization type %d", (int)args->type);
    switch (args->strategy) {
    case MS_QUANT_TENSOR:
        *srows = *scols = 1;
        return MS_OK;
    case MS_QUANT_CHANNEL:
    case MS_QUANT_TOKEN:
        *srows = rows;
        *scols = 1;
        return MS_OK;
    case MS_QUANT_GROUP:
        if (args->group_size == 0 || cols % args->group_size != 0) {
            ms_diag_set(diag, MS_ERR_INVALID, "E-QUANT-GROUP", NULL, 0, 0,
                        "group_size %zu does not divide the %zu columns", args->group_size, cols);
            ms_diag_hint(diag, "use a group size that divides in_features");
            return MS_ERR_INVALID;
        }
        *srows = rows;
        *scols = cols / args->group_size;
        return MS_OK;
    case MS_QUANT_BLOCK:
        if (args->block_structure[0] == 0 || args->block_structure[1] == 0)
            return ms_diag_set(diag, MS_ERR_INVALID, "E-QUANT-BLOCK", NULL, 0, 0,
                               "block_structure %zu x %zu has a zero side",
                               args->block_structure[0], args->block_structure[1]);
        *srows = (rows + args->block_structure[0] - 1) / args->block_structure[0];
        *scols = (cols + args->block_structure[1] - 1) / args->block_structure[1];
        return MS_OK;
    }
    return ms_diag_set(diag, MS_ERR_INVALID, "E-QUANT-STRATEGY", NULL, 0, 0,
                       "unknown quantization strategy %d", (int)args->strategy);
}

void ms_quant_qparams(const ms_quant_args *args, float min, float max, float *scale,
                      float *zero_point)
{
    float q_min, q_max;
    ms_quant_range(args, &q_min, &q_max);
    float mn = min < 0.0f ? min : 0.0f, mx = max > 0.0f ? max : 0.0f;
    float range = q_max - q_min, s, zp = 0.0f;
    if (args->symmetric) {
        float amax = fabsf(mn) > fabsf(mx) ? fabsf(mn) : fabsf(mx);
        s = amax / (float)((double)range / 2.0);
    } else {
        s = (mx - mn) / range;
        zp = s == 0.0f ? 0.0f : clampf(q_min - mn / s, q_min, q_max);
        zp = args->type == MS_QUANT_FLOAT ? ms_fp8_round(zp)
                                          : (clampf(zp, -128.0f, 127.0f) + RNE_MAGIC) - RNE_MAGIC;
    }
    *scale = s == 0.0f ? FLT_EPSILON : s;
    *zero_point = zp;
}

float ms_quant_value(const ms_quant_args *args, float x, float scale, float zero_point,
                     int8_t *code)
{
    float q_min, q_max;
    ms_quant_range(args, &q_min, &q_max);
    float v = clampf(x / scale + zero_point, q_min, q_max);
    if (args->type == MS_QUANT_FLOAT) {
        v = ms_fp8_round(v);
        if (code)
            *code = (int8_t)ms_fp8_bits(v);
    } else {
        v = (v + RNE_MAGIC) - RNE_MAGIC;
        if (code)
            *code = (int8_t)v;
    }
    return (v - zero_point) * scale;
}

/* Min and max of x[0, n); returns nonzero when x holds a NaN or infinity. */
MS_CLONES
static int minmax(const float *restrict x, size_t n, float *mn_out, float *mx_out)
{
    size_t i = 0;
    float mn = INFINITY, mx = -INFINITY;
    int bad = 0;
    if (n >= MS_VLEN) {
        ms_v16f vmn = ms_load16(x), vmx = vmn, lim = (ms_v16f){0} + FLT_MAX;
        ms_v16i vbad = {0};
        for (; i + MS_VLEN <= n; i += MS_VLEN) {
            ms_v16f v = ms_load16(x + i);
            vmn = ms_min16(v, vmn);
            vmx = ms_max16(v, vmx);
            /* NaN compares false, so !(|v| <= FLT_MAX) flags NaN and inf */
            ms_v16f a = (ms_v16f)((ms_v16i)v & 0x7fffffff);
            vbad |= ~(a <= lim);
        }
        /* tree reductions: a lane-by-lane loop costs as much as the data */
        vmn = ms_min16(vmn, __builtin_shufflevector(vmn, vmn, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2,
                                                    3, 4, 5, 6, 7));
        vmx = ms_max16(vmx, __builtin_shufflevector(vmx, vmx, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2,
                                                    3, 4, 5, 6, 7));
        vbad |= __builtin_shufflevector(vbad, vbad, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5,
                                        6, 7);
        vmn = ms_min16(
            vmn, __builtin_shufflevector(vmn, vmn, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
        vmx = ms_max16(
            vmx, __builtin_shufflevector(vmx, vmx, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
        vbad |= __builtin_shufflevector(vbad, vbad, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3);
        for (int l = 0; l < 4; l++) {
            mn = vmn[l] < mn ? vmn[l] : mn;
            mx = vmx[l] > mx ? vmx[l] : mx;
            bad |= vbad[l] != 0;
        }
    }
    for (; i < n; i++) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
        bad |= !(fabsf(x[i]) <= FLT_MAX);
    }
    *mn_out = mn;
    *mx_out = mx;
    return bad;
}

/* Stores 16 results (and 16 codes) bypassing the cache; both 16-byte aligned. */
static inline void stream16(float *out, ms_v16f v, int8_t *codes, const void *c16)
{
#if HAVE_STREAM
    for (int k = 0; k < 4; k++) {
        __m128 part;
        memcpy(&part, (const char *)&v + 16 * k, sizeof part);
        _mm_stream_ps(out + 4 * k, part);
    }
    if (codes) {
        __m128i c;
        memcpy(&c, c16, sizeof c);
        _mm_stream_si128((__m128i *)(void *)codes, c);
    }
#else
    (void)out, (void)v, (void)codes, (void)c16;
#endif
}

/* Integer fake quantization of one segment sharing a scale and zero point. */
MS_CLONES
static void qdq_int(const float *x, size_t n, float s, float zp, float q_min, float q_max,
                    float *out, int8_t *codes, int stream)
{
    size_t i = 0;
    stream = HAVE_STREAM && stream && ((uintptr_t)out & 15) == 0 && ((uintptr_t)codes & 15) == 0;
    for (; stream && i + MS_VLEN <= n; i += MS_VLEN) {
        typedef int8_t v16c __attribute__((vector_size(16)));
        ms_v16f zero = {0}, v = ms_load16(x + i) / s + zp;
        v = ms_min16(ms_max16(v, zero + q_min), zero + q_max);
        v = (v + RNE_MAGIC) - RNE_MAGIC;
        v16c c = __builtin_convertvector(__builtin_convertvector(v, ms_v16i), v16c);
        stream16(out + i, (v - zp) * s, codes ? codes + i : NULL, &c);
    }
    for (; i + MS_VLEN <= n; i += MS_VLEN) {
        ms_v16f zero = {0}, v = ms_load16(x + i) / s + zp;
        v = ms_min16(ms_max16(v, zero + q_min), zero + q_max);
        v = (v + RNE_MAGIC) - RNE_MAGIC;
        if (codes) {
            typedef int8_t v16c __attribute__((vector_size(16)));
            v16c c = __builtin_convertvector(__builtin_convertvector(v, ms_v16i), v16c);
            memcpy(codes + i, &c, sizeof c);
        }
        ms_store16(out + i, (v - zp) * s);
    }
    for (; i < n; i++) {
        float v = clampf(x[i] / s + zp, q_min, q_max);
        v = (v + RNE_MAGIC) - RNE_MAGIC;
        if (codes)
            codes[i] = (int8_t)v;
        out[i] = (v - zp) * s;
    }
}

static void qdq_segment(const ms_quant_args *args, const float *x, size_t n, float s, float zp,
                        float *out, int8_t *codes, int stream)
{
    if (args->type == MS_QUANT_INT) {
        float q_min, q_max;
        ms_quant_range(args, &q_min, &q_max);
        qdq_int(x, n, s, zp, q_min, q_max, out, codes, stream);
        return;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = ms_quant_value(args, x[i], s, zp, codes ? codes + i : NULL);
}

static inline ms_v16f pick(ms_v16f a, ms_v16f b, int is_max)
{
    return is_max ? ms_max16(a, b) : ms_min16(a, b);
}

static inline ms_v16f reduce_groups(ms_v16f *v, int is_max)
{
    for (int i = 0; i < 8; i++)
        v[i] = pick(__builtin_shufflevector(v[2 * i], v[2 * i + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17,
                                            18, 19, 20, 21, 22, 23),
                    __builtin_shufflevector(v[2 * i], v[2 * i + 1], 8, 9, 10, 11, 12, 13, 14, 15,
                                            24, 25, 26, 27, 28, 29, 30, 31),
                    is_max);
    for (int i = 0; i < 4; i++)
        v[i] = pick(__builtin_shufflevector(v[2 * i], v[2 * i + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16,
                                            17, 18, 19, 24, 25, 26, 27),
                    __builtin_shufflevector(v[2 * i], v[2 * i + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20,
                                            21, 22, 23, 28, 29, 30, 31),
                    is_max);
    for (int i = 0; i < 2; i++)
        v[i] = pick(__builtin_shufflevector(v[2 * i], v[2 * i + 1], 0, 1, 4, 5, 8, 9, 12, 13, 16,
                                            17, 20, 21, 24, 25, 28, 29),
                    __builtin_shufflevector(v[2 * i], v[2 * i + 1], 2, 3, 6, 7, 10, 11, 14, 15, 18,
                                            19, 22, 23, 26, 27, 30, 31),
                    is_max);
    return pick(__builtin_shufflevector(v[0], v[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24,
                                        26, 28, 30),
                __builtin_shufflevector(v[0], v[1], 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25,
                                        27, 29, 31),
                is_max);
}

/* Integer group quantization of one row whose group width is a multiple of
 * 16: observes 16 groups at once (a min/max vector per group, reduced across
 * groups, scales and zero points computed lane-wise exactly as
 * ms_quant_qparams does), then quantizes those groups while they are in L1.
 * Replaces a reduction, a scalar division chain and a call per group. Returns
 * nonzero when x holds a NaN or infinity. */
MS_CLONES
static int group_row_int(const ms_quant_args *args, const float *x, size_t ngroups, size_t width,
                         float *scales, float *zps, float *out, int8_t *codes, int stream)
{
    float q_min, q_max;
    ms_quant_range(args, &q_min, &q_max);
    const ms_v16f zero = {0}, lim = zero + FLT_MAX, range = zero + (q_max - q_min);
    ms_v16i vbad = {0};
    for (size_t g0 = 0; g0 < ngroups; g0 += MS_VLEN) {
        size_t nb = ngroups - g0 < MS_VLEN ? ngroups - g0 : MS_VLEN;
        ms_v16f vmn[MS_VLEN], vmx[MS_VLEN];
        for (size_t g = 0; g < MS_VLEN; g++) {
            /* lanes past the last group repeat it; their results are dropped */
            const float *xg = x + (g0 + (g < nb ? g : 0)) * width;
            ms_v16f mn = ms_load16(xg), mx = mn;
            for (size_t i = 0; i < width; i += MS_VLEN) {
                ms_v16f v = ms_load16(xg + i);
                mn = ms_min16(v, mn);
                mx = ms_max16(v, mx);
                vbad |= ~((ms_v16f)((ms_v16i)v & 0x7fffffff) <= lim);
            }
            vmn[g] = mn;
            vmx[g] = mx;
        }
        ms_v16f mn = ms_min16(reduce_groups(vmn, 0), zero);
        ms_v16f mx = ms_max16(reduce_groups(vmx, 1), zero);
        ms_v16f s, zp = zero;
        if (args->symmetric) {
            ms_v16f amax = ms_max16((ms_v16f)((ms_v16i)mn & 0x7fffffff), mx);
            s = amax / (float)((double)(q_max - q_min) / 2.0);
        } else {
            s = (mx - mn) / range;
            ms_v16i nonzero = s != zero;
            zp = ms_min16(ms_max16(q_min - mn / s, zero + q_min), zero + q_max);
            zp = ms_min16(ms_max16(zp, zero - 128.0f), zero + 127.0f);
            zp = (ms_v16f)((ms_v16i)((zp + RNE_MAGIC) - RNE_MAGIC) & nonzero);
        }
        ms_v16i is_zero = s == zero;
        s = (ms_v16f)(((ms_v16i)s & ~is_zero) | ((ms_v16i)(zero + FLT_EPSILON) & is_zero));
        /* the next 16 groups (or the next row's): the quantize pass below
         * keeps the memory system busy with stores, so ask for the loads now
         * (integer addresses: past the last row there is no array to point in) */
        uintptr_t next = (uintptr_t)(x + g0 * width) + MS_VLEN * width * sizeof *x;
        for (size_t i = 0; i < MS_VLEN * width * sizeof *x; i += 64)
            __builtin_prefetch((const void *)(next + i));
        for (size_t g = 0; g < nb; g++) {
            size_t c0 = (g0 + g) * width;
            scales[g0 + g] = s[g];
            zps[g0 + g] = zp[g];
            qdq_int(x + c0, width, s[g], zp[g], q_min, q_max, out + c0, codes ? codes + c0 : NULL,
                    stream);
        }
    }
    int bad = 0;
    for (int l = 0; l < MS_VLEN; l++)
        bad |= vbad[l] != 0;
    return bad;
}

typedef struct {
    const ms_quant_args *args;
    const float *w;
    size_t rows, cols, srows, scols;
    size_t band;   /* rows per task */
    int observe;   /* compute scales from the data (else use the given ones) */
    int quantize;  /* write out/codes */
    float *scales; /* srows x scols */
    float *zps;
    float *out;
    int8_t *codes;
    int stream;  /* bypass the cache for out and codes */
    int *bad;    /* per task: input had NaN/inf */
    float *mins; /* tensor observe: per task */
    float *maxs;
} quant_job;

/* Columns sharing one scale within a row. */
static size_t seg_width(const quant_job *q)
{
    switch (q->args->strategy) {
    case MS_QUANT_GROUP:
        return q->args->group_size;
    case MS_QUANT_BLOCK:
        return q->args->block_structure[1];
    default:
        return q->cols;
    }
}

static size_t scale_row(const quant_job *q, size_t r)
{
    switch (q->args->strategy) {
    case MS_QUANT_TENSOR:
        return 0;
    case MS_QUANT_BLOCK:
        return r / q->args->block_structure[0];
    default:
        return r;
    }
}

static void quant_task(void *ctx, size_t task, size_t worker)
{
    (void)worker;
    quant_job *q = ctx;
    size_t r0 = task * q->band, r1 = r0 + q->band < q->rows ? r0 + q->band : q->rows;
    size_t width = seg_width(q);
    ms_quant_strategy st = q->args->strategy;

    if (q->observe && st == MS_QUANT_TENSOR) {
        float mn = INFINITY, mx = -INFINITY;
        for (size_t r = r0; r < r1; r++) {
            float a, b;
            q->bad[task] |= minmax(q->w + r * q->cols, q->cols, &a, &b);
            mn = a < mn ? a : mn;
            mx = b > mx ? b : mx;
        }
        q->mins[task] = mn;
        q->maxs[task] = mx;
        return;
    }
    if (q->observe && st == MS_QUANT_BLOCK) {
        /* a band is one block row: reduce each block over its rows first */
        size_t sr = scale_row(q, r0);
        for (size_t sc = 0; sc < q->scols; sc++) {
            size_t c0 = sc * width, n = q->cols - c0 < width ? q->cols - c0 : width;
            float mn = INFINITY, mx = -INFINITY;
            for (size_t r = r0; r < r1; r++) {
                float a, b;
                q->bad[task] |= minmax(q->w + r * q->cols + c0, n, &a, &b);
                mn = a < mn ? a : mn;
                mx = b > mx ? b : mx;
            }
            ms_quant_qparams(q->args, mn, mx, &q->scales[sr * q->scols + sc],
                             &q->zps[sr * q->scols + sc]);
        }
        if (q->bad[task])
            return;
    }
    int int_groups = q->observe && q->quantize && st == MS_QUANT_GROUP &&
                     q->args->type == MS_QUANT_INT && width % MS_VLEN == 0;
    for (size_t r = r0; r < r1; r++) {
        size_t sr = scale_row(q, r);
        if (int_groups) {
            if (group_row_int(q->args, q->w + r * q->cols, q->scols, width,
                              q->scales + sr * q->scols, q->zps + sr * q->scols,
                              q->out + r * q->cols, q->codes ? q->codes + r * q->cols : NULL,
                              q->stream)) {
                q->bad[task] = 1;
                return;
            }
            continue;
        }
        for (size_t sc = 0, c0 = 0; c0 < q->cols; sc++, c0 += width) {
            size_t n = q->cols - c0 < width ? q->cols - c0 : width, idx = sr * q->scols + sc;
            const float *x = q->w + r * q->cols + c0;
            if (q->observe &&
                (st == MS_QUANT_CHANNEL || st == MS_QUANT_TOKEN || st == MS_QUANT_GROUP)) {
                float mn, mx;
                if (minmax(x, n, &mn, &mx)) {
                    q->bad[task] = 1;
                    return;
                }
                ms_quant_qparams(q->args, mn, mx, &q->scales[idx], &q->zps[idx]);
            }
            if (q->quantize) {
                if (st == MS_QUANT_TENSOR)
                    idx = 0;
                qdq_segment(q->args, x, n, q->scales[idx], q->zps[idx], q->out + r * q->cols + c0,
                            q->codes ? q->codes + r * q->cols + c0 : NULL, q->stream);
            }
        }
    }
#if HAVE_STREAM
    if (q->stream)
        _mm_sfence(); /* streamed data visible before the task counts as done */
#endif
}

/* Runs the job over bands of rows. */
static ms_status quant_run(ms_pool *pool, quant_job *q, ms_diag *diag)
{
    ms_status st = ms_quant_param_shape(q->args, q->rows, q->cols, &q->srows, &q->scols, diag);
    if (st != MS_OK)
        return st;
    if (q->rows == 0 || q->cols == 0)
        return MS_OK;
    if (q->args->strategy == MS_QUANT_BLOCK)
        q->band = q->args->block_structure[0];
    else /* about 256 tasks of at least 8 KiB each, fixed by the shape alone */
        q->band = ms_max_size((q->rows + 255) / 256, (2048 + q->cols - 1) / q->cols);
    size_t ntasks = (q->rows + q->band - 1) / q->band;
    q->stream = q->rows * q->cols * sizeof(float) >= STREAM_MIN_BYTES;
    q->bad = calloc(ntasks, sizeof *q->bad);
    q->mins = malloc(ntasks * sizeof *q->mins);
    q->maxs = malloc(ntasks * sizeof *q->maxs);
    if (!q->bad || !q->mins || !q->maxs) {
        st = ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0,
                         "cannot allocate quantization bookkeeping");
        goto done;
    }
    int quantize = q->quantize;
    if (q->observe && q->args->strategy == MS_QUANT_TENSOR) {
        /* the scale needs the whole tensor before anything is quantized */
        q->quantize = 0;
        ms_pool_run(pool, ntasks, quant_task, q);
        float mn = INFINITY, mx = -INFINITY;
        for (size_t t = 0; t < ntasks; t++) {
            mn = q->mins[t] < mn ? q->mins[t] : mn;
            mx = q->maxs[t] > mx ? q->maxs[t] : mx;
        }
        ms_quant_qparams(q->args, mn, mx, q->scales, q->zps);
        q->observe = 0;
        for (size_t t = 0; t < ntasks; t++)
            if (q->bad[t])
                goto bad;
    }
    q->quantize = quantize;
    if (q->quantize || q->observe)
        ms_pool_run(pool, ntasks, quant_task, q);
    for (size_t t = 0; t < ntasks; t++)
        if (q->bad[t])
            goto bad;
    goto done;
bad:
    st = ms_check_finite(q->w, q->rows, q->cols, q->cols, "weight", diag);
done:
    free(q->bad);
    free(q->mins);
    free(q->maxs);
    return st;
}

ms_status ms_quant_observe(ms_pool *pool, const ms_quant_args *args, const float *w, size_t rows,
                           size_t cols, float *scales, float *zero_points, ms_diag *diag)
{
    quant_job q = {.args = args,
                   .w = w,
                   .rows = rows,
                   .cols = cols,
                   .observe = 1,
                   .scales = scales,
                   .zps = zero_points};
    return quant_run(pool, &q, diag);
}

ms_status ms_quant_apply(ms_pool *pool, const ms_quant_args *args, const float *w, size_t rows,
                         size_t cols, const float *scales, const float *zero_points, float *out,
                         int8_t *codes, ms_diag *diag)
{
    ms_status st = ms_check_finite(w, rows, cols, cols, "weight", diag);
    if (st != MS_OK)
        return st;
    quant_job q = {.args = args,
                   .w = w,
                   .rows = rows,
                   .cols = cols,
                   .quantize = 1,
                   .scales = (float *)scales,
                   .zps = (float *)zero_points,
                   .out = out,
                   .codes = codes};
    return quant_run(pool, &q, diag);
}

ms_status ms_quant_fake(ms_pool *pool, const ms_quant_args *args, const float *w, size_t rows,
                        size_t cols, float *out, int8_t *codes, float *scales, float *zero_points,
                        ms_diag *diag)
{
    quant_job q = {.args = args,
                   .w = w,
                   .rows = rows,
                   .cols = cols,
                   .observe = 1,
                   .quantize = 1,
                   .scales = scales,
                   .zps = zero_points,
                   .out = out,
                   .codes = codes};
    return quant_run(pool, &q, diag);
}
