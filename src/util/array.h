/* Growable arrays: a malloc'd pointer, a count and a capacity that the
 * owner keeps side by side; this makes room, doubling. */
#ifndef MS_ARRAY_H
#define MS_ARRAY_H

#include <stdbool.h>
#include <stddef.h>

/* Makes room for `n + 1` elements of `elem` bytes in `*data_ptr` (a `T **`
 * holding `*cap` elements); false, with the array unchanged, when out of
 * memory or when the size would overflow. */
bool ms_array_reserve(void *data_ptr, size_t *cap, size_t n, size_t elem);

#endif
