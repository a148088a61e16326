#include "kernels/measure.h"

#include <math.h>
#include <stdlib.h>

#include "kernels/simd.h"

#define CHUNK (1u << 16)

typedef struct measure_ctx {
    const float *now, *was;
    size_t n;
    size_t *zeros;
    double *diff, *norm;
} measure_ctx;

/* Eight interleaved sums (an order fixed by the index, so the result is
 * too), which the compiler turns into vector lanes. */
MS_CLONES
static void measure_range(const float *now, const float *was, size_t n, size_t *zeros, double *diff,
                          double *norm)
{
    double d8[8] = {0}, n8[8] = {0};
    size_t z8[8] = {0}, i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++) {
            double d = (double)now[i + k] - (double)was[i + k];
            d8[k] += d * d;
            n8[k] += (double)was[i + k] * (double)was[i + k];
            z8[k] += now[i + k] == 0.0f;
        }
    for (; i < n; i++) {
        double d = (double)now[i] - (double)was[i];
        d8[0] += d * d;
        n8[0] += (double)was[i] * (double)was[i];
        z8[0] += now[i] == 0.0f;
    }
    *zeros = 0;
    *diff = *norm = 0.0;
    for (size_t k = 0; k < 8; k++) {
        *zeros += z8[k];
        *diff += d8[k];
        *norm += n8[k];
    }
}

static void measure_chunk(void *p, size_t task, size_t worker)
{
    (void)worker;
    measure_ctx *c = p;
    size_t lo = task * CHUNK, hi = lo + CHUNK < c->n ? lo + CHUNK : c->n;
    measure_range(c->now + lo, c->was + lo, hi - lo, &c->zeros[task], &c->diff[task],
                  &c->norm[task]);
}

ms_status ms_measure_change(ms_pool *pool, const float *now, const float *was, size_t n,
                            double *sparsity, double *rel_error)
{
    size_t tasks = (n + CHUNK - 1) / CHUNK, cap = tasks ? tasks : 1;
    size_t *zeros = malloc(cap * sizeof *zeros);
    double *diff = malloc(cap * sizeof *diff), *norm = malloc(cap * sizeof *norm);
    ms_status st = zeros && diff && norm ? MS_OK : MS_ERR_NOMEM;
    if (st == MS_OK) {
        measure_ctx c = {now, was, n, zeros, diff, norm};
        ms_pool_run(pool, tasks, measure_chunk, &c);
        size_t z = 0;
        double d = 0.0, nn = 0.0;
        for (size_t t = 0; t < tasks; t++) {
            z += zeros[t];
            d += diff[t];
            nn += norm[t];
        }
        *sparsity = n ? (double)z / (double)n : 0.0;
        *rel_error = nn > 0.0 ? sqrt(d / nn) : sqrt(d);
    }
    free(zeros);
    free(diff);
    free(norm);
    return st;
}
