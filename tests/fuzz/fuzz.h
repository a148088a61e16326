/* What every harness shares: libFuzzer's entry point, and the input as the
 * NUL-terminated text the readers get from ms_read_file. */
#ifndef MS_FUZZ_H
#define MS_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (to free), or NULL without memory. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
    }
    return text;
}

#endif
