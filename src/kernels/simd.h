/* Internal: portable SIMD helpers for the kernels (GCC/Clang vector extensions,
 * no intrinsics). MS_CLONES compiles a hot function for AVX-512, AVX2+FMA and
 * the baseline, picked at load time, so the build needs no -march. */
#ifndef MS_SIMD_H
#define MS_SIMD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MS_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
/* For kernels whose register blocking differs per instruction set (more
 * vector registers on AVX-512): MS_TARGET_V4 compiles one function for
 * x86-64-v4 only, and ms_cpu_has_v4() tells at run time whether it may run. */
#define MS_HAVE_V4 1
#define MS_TARGET_V4 __attribute__((target("arch=x86-64-v4")))
static inline int ms_cpu_has_v4(void)
{
    return __builtin_cpu_supports("x86-64-v4");
}
#else
#define MS_CLONES
#define MS_HAVE_V4 0
#endif

static inline size_t ms_max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

#define MS_VLEN 16
typedef float ms_v16f __attribute__((vector_size(64)));
typedef int32_t ms_v16i __attribute__((vector_size(64)));

static inline ms_v16f ms_load16(const float *p)
{
    ms_v16f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void ms_store16(float *p, ms_v16f v)
{
    memcpy(p, &v, sizeof v);
}

/* Lane-wise a < b ? a : b (and the max twin) without ternaries, which C does
 * not allow on vectors; compiles to a compare and a blend, or to vminps. */
static inline ms_v16f ms_min16(ms_v16f a, ms_v16f b)
{
    ms_v16i m = a < b;
    return (ms_v16f)(((ms_v16i)a & m) | ((ms_v16i)b & ~m));
}

static inline ms_v16f ms_max16(ms_v16f a, ms_v16f b)
{
    ms_v16i m = a > b;
    return (ms_v16f)(((ms_v16i)a & m) | ((ms_v16i)b & ~m));
}

#endif
