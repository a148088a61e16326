#include "array.h"

#include <stdint.h>
#include <stdlib.h>

bool ms_array_reserve(void *data_ptr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap <= n)
        ncap = n + 1;
    if (elem && ncap > SIZE_MAX / elem)
        return false;
    void **data = data_ptr;
    void *p = realloc(*data, ncap * elem);
    if (!p)
        return false;
    *data = p;
    *cap = ncap;
    return true;
}
