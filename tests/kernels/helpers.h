/* Shared fixtures for the kernel tests: a deterministic random source and
 * 1- and 2-thread pools. */
#ifndef MS_TEST_KERNEL_HELPERS_H
#define MS_TEST_KERNEL_HELPERS_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "kernels/pool.h"

/* xorshift64*: reproducible across platforms, unlike rand(). */
static inline double test_uniform(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static inline float test_normal(uint64_t *s)
{
    double u = test_uniform(s) + 1e-12, v = test_uniform(s);
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static inline float *test_random(size_t n, uint64_t seed)
{
    float *x = malloc(n * sizeof *x);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++)
        x[i] = test_normal(&s);
    return x;
}

static inline ms_pool *test_pool(size_t threads)
{
    ms_pool *p = NULL;
    ms_pool_create(threads, &p, NULL);
    return p;
}

#endif
