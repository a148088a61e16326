/* Benchmark driver for tests/bench/compare.py: runs one kernel over matrices
 * read from a raw float32 file and prints one JSON line with the time of each
 * repetition. Not a test; built only as a meson benchmark target.
 *
 *   bench_kernels OP THREADS REPS COUNT ROWS COLS DATA [CALIB CALIB_ROWS] [OUT]
 *
 * OP: copy, quant_int8_channel, quant_int4_g128_sym, quant_int4_g128_asym,
 * prune_2_4, prune_unstructured, gptq. DATA holds COUNT rows x cols matrices;
 * gptq uses the first and CALIB (CALIB_ROWS x cols). OUT, when given, receives
 * the result for the first matrix (float32, then for gptq the loss as double). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gptq.h"
#include "kernels/hessian.h"
#include "kernels/matrix.h"
#include "kernels/prune.h"
#include "kernels/quant.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float *read_floats(const char *path, size_t count)
{
    FILE *f = fopen(path, "rb");
    float *x = f ? ms_alloc_floats(count) : NULL;
    if (!x || fread(x, sizeof *x, count, f) != count) {
        fprintf(stderr, "bench: cannot read %zu floats from %s\n", count, path);
        exit(2);
    }
    fclose(f);
    return x;
}

static int fail(ms_status st, const ms_diag *d)
{
    fprintf(stderr, "bench: %s: %s\n", ms_status_str(st), d->message);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: %s OP THREADS REPS COUNT ROWS COLS DATA [CALIB CALIB_ROWS] [OUT]\n",
                argv[0]);
        return 2;
    }
    const char *op = argv[1];
    size_t threads = strtoul(argv[2], NULL, 10), reps = strtoul(argv[3], NULL, 10);
    size_t count = strtoul(argv[4], NULL, 10), rows = strtoul(argv[5], NULL, 10);
    size_t cols = strtoul(argv[6], NULL, 10), n = rows * cols;
    int gptq = strcmp(op, "gptq") == 0;
    const char *out_path = argc > (gptq ? 10 : 8) ? argv[gptq ? 10 : 8] : NULL;
    ms_diag d;
    ms_pool *pool;
    ms_status st = ms_pool_create(threads, &pool, &d);
    if (st != MS_OK)
        return fail(st, &d);
    float *src = read_floats(argv[7], count * n), *work = ms_alloc_floats(count * n);
    int8_t *codes = malloc(count * n);
    uint8_t *mask = malloc(count * n);
    float *scales = ms_alloc_floats(rows * cols), *zps = ms_alloc_floats(rows * cols);
    double loss = 0.0;
    ms_quant_args qa = {
        .num_bits = 8, .type = MS_QUANT_INT, .symmetric = true, .strategy = MS_QUANT_CHANNEL};
    if (strncmp(op, "quant_int4", 10) == 0)
        qa = (ms_quant_args){.num_bits = 4,
                             .type = MS_QUANT_INT,
                             .symmetric = strcmp(op, "quant_int4_g128_sym") == 0,
                             .strategy = MS_QUANT_GROUP,
                             .group_size = 128};
    memcpy(work, src, count * n * sizeof *work); /* fault the pages in */
    printf("{\"op\": \"%s\", \"threads\": %zu, \"times\": [", op, threads);
    for (size_t r = 0; r < reps; r++) {
        if (strncmp(op, "prune", 5) == 0 || gptq)
            memcpy(work, src, count * n * sizeof *work);
        double t0 = now();
        if (strcmp(op, "copy") == 0) {
            for (size_t m = 0; m < count; m++)
                memcpy(work + m * n, src + m * n, n * sizeof *work);
        } else if (strncmp(op, "quant", 5) == 0) {
            for (size_t m = 0; m < count && st == MS_OK; m++)
                st = ms_quant_fake(pool, &qa, src + m * n, rows, cols, work + m * n, codes + m * n,
                                   scales, zps, &d);
        } else if (strncmp(op, "prune", 5) == 0) {
            ms_prune_args pa = {.structure = MS_PRUNE_NM, .n = 2, .m = 4};
            if (strcmp(op, "prune_unstructured") == 0)
                pa = (ms_prune_args){.structure = MS_PRUNE_UNSTRUCTURED, .sparsity = 0.5};
            for (size_t m = 0; m < count && st == MS_OK; m++)
                st = ms_prune_magnitude(pool, &pa, work + m * n, rows, cols, mask + m * n, &d);
        } else if (gptq) {
            size_t calib_rows = strtoul(argv[9], NULL, 10);
            static float *calib;
            if (!calib)
                calib = read_floats(argv[8], calib_rows * cols);
            t0 = now();
            ms_hessian h;
            st = ms_hessian_init(&h, cols, &d);
            if (st == MS_OK)
                st = ms_hessian_add(pool, &h, calib, calib_rows, 1, &d);
            ms_gptq_args ga = {.quant = {.num_bits = 4,
                                         .type = MS_QUANT_INT,
                                         .symmetric = true,
                                         .strategy = MS_QUANT_GROUP,
                                         .group_size = 128},
                               .block_size = 128,
                               .dampening_frac = 0.01};
            ms_gptq_result res;
            if (st == MS_OK)
                st = ms_gptq_quantize(pool, &ga, work, rows, cols, h.data, scales, zps, NULL, &res,
                                      &d);
            loss = res.loss;
            ms_hessian_free(&h);
        } else {
            fprintf(stderr, "bench: unknown op %s\n", op);
            return 2;
        }
        if (st != MS_OK)
            return fail(st, &d);
        printf("%s%.6f", r ? ", " : "", now() - t0);
        fflush(stdout);
    }
    printf("], \"loss\": %.17g}\n", loss);
    if (out_path) {
        FILE *f = fopen(out_path, "wb");
        if (!f || fwrite(work, sizeof *work, n, f) != n)
            return fprintf(stderr, "bench: cannot write %s\n", out_path), 1;
        fclose(f);
    }
    ms_pool_free(pool);
    free(src);
    free(work);
    free(codes);
    free(mask);
    free(scales);
    free(zps);
    return 0;
}
