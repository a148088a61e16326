/* Benchmark driver for tests/bench/linalg.py: times modsim's dense linear
 * algebra on the shapes a run uses and prints one JSON line with the time of
 * each repetition. Not a test; built only as a meson benchmark target.
 *
 *   bench_linalg gemm THREADS REPS TA TB M N K   (TA, TB: n or t)
 *   bench_linalg hessian THREADS REPS DIM ROWS   (ms_hessian_add of ROWS x DIM)
 *   bench_linalg cholesky THREADS REPS N
 *   bench_linalg trinv THREADS REPS N            (L^-1 of a Cholesky factor)
 *
 * Inputs are fixed pseudo-random values (the timings do not depend on them);
 * Cholesky factors a well-conditioned X^T X / rows + I. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/hessian.h"
#include "kernels/matrix.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float *random_floats(size_t count, uint64_t seed)
{
    float *x = ms_alloc_floats(count);
    if (!x) {
        fprintf(stderr, "bench: cannot allocate %zu floats\n", count);
        exit(2);
    }
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < count; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(s >> 40) / (double)(1u << 24) - 0.5);
    }
    return x;
}

static int fail(ms_status st, const ms_diag *d)
{
    fprintf(stderr, "bench: %s: %s\n", ms_status_str(st), d->message);
    return 1;
}

/* An SPD n x n matrix: X^T X / rows + I for a random rows x n X. */
static float *spd(ms_pool *pool, size_t n)
{
    size_t rows = n;
    float *x = random_floats(rows * n, 7), *a = ms_alloc_floats(n * n);
    ms_diag d;
    if (!a || ms_gemm(pool, MS_TRANS, MS_NOTRANS, MS_PART_FULL, n, n, rows, 1.0f / (float)rows, x,
                      n, x, n, 0.0f, a, n, &d) != MS_OK) {
        fprintf(stderr, "bench: cannot build the SPD matrix\n");
        exit(2);
    }
    for (size_t i = 0; i < n; i++)
        a[i * n + i] += 1.0f;
    free(x);
    return a;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s gemm|hessian|cholesky|trinv THREADS REPS ARGS...\n", argv[0]);
        return 2;
    }
    const char *op = argv[1];
    size_t threads = strtoul(argv[2], NULL, 10), reps = strtoul(argv[3], NULL, 10);
    ms_diag d;
    ms_pool *pool;
    ms_status st = ms_pool_create(threads, &pool, &d);
    if (st != MS_OK)
        return fail(st, &d);
    int is_gemm = !strcmp(op, "gemm"), is_hess = !strcmp(op, "hessian");
    int is_chol = !strcmp(op, "cholesky"), is_inv = !strcmp(op, "trinv");
    if ((is_gemm && argc != 9) || (is_hess && argc != 6) || ((is_chol || is_inv) && argc != 5) ||
        !(is_gemm || is_hess || is_chol || is_inv)) {
        fprintf(stderr, "bench: bad arguments for %s\n", op);
        return 2;
    }
    size_t m = 0, n = 0, k = 0;
    ms_trans ta = MS_NOTRANS, tb = MS_NOTRANS;
    float *a = NULL, *b = NULL, *c = NULL, *src = NULL;
    if (is_gemm) {
        ta = argv[4][0] == 't' ? MS_TRANS : MS_NOTRANS;
        tb = argv[5][0] == 't' ? MS_TRANS : MS_NOTRANS;
        m = strtoul(argv[6], NULL, 10);
        n = strtoul(argv[7], NULL, 10);
        k = strtoul(argv[8], NULL, 10);
        a = random_floats(m * k, 1);
        b = random_floats(k * n, 2);
        c = random_floats(m * n, 3);
    } else if (is_hess) {
        n = strtoul(argv[4], NULL, 10);
        k = strtoul(argv[5], NULL, 10);
        a = random_floats(k * n, 1);
    } else {
        n = strtoul(argv[4], NULL, 10);
        src = spd(pool, n);
        a = ms_alloc_floats(n * n);
        c = ms_alloc_floats(n * n);
        if (!a || !c)
            return fprintf(stderr, "bench: out of memory\n"), 2;
        if (is_inv) {
            memcpy(a, src, n * n * sizeof *a);
            st = ms_cholesky(pool, a, n, &d);
            if (st != MS_OK)
                return fail(st, &d);
            memcpy(src, a, n * n * sizeof *a);
        }
    }
    printf("{\"op\": \"%s\", \"threads\": %zu, \"times\": [", op, threads);
    for (size_t r = 0; r < reps; r++) {
        ms_hessian h = {0};
        if (is_hess && (st = ms_hessian_init(&h, n, &d)) != MS_OK)
            return fail(st, &d);
        if (is_chol)
            memcpy(a, src, n * n * sizeof *a);
        double t0 = now();
        if (is_gemm)
            st = ms_gemm(pool, ta, tb, MS_PART_FULL, m, n, k, 1.0f, a, ta == MS_NOTRANS ? k : m, b,
                         tb == MS_NOTRANS ? n : k, 0.0f, c, n, &d);
        else if (is_hess)
            st = ms_hessian_add(pool, &h, a, k, 1, &d);
        else if (is_chol)
            st = ms_cholesky(pool, a, n, &d);
        else
            st = ms_tri_inverse(pool, src, c, n, &d);
        double t = now() - t0;
        ms_hessian_free(&h);
        if (st != MS_OK)
            return fail(st, &d);
        printf("%s%.6f", r ? ", " : "", t);
        fflush(stdout);
    }
    printf("]}\n");
    ms_pool_free(pool);
    free(a);
    free(b);
    free(c);
    free(src);
    return 0;
}
