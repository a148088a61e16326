/* libFuzzer: a safetensors file opened, every tensor found by name and
 * converted to float, as `modsim kernel` and weight loading read them. The
 * input goes through a memory file so that ms_st_open reads a real path. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "model/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz.safetensors", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    ms_st_file *f = NULL;
    ms_diag diag;
    if (ms_st_open(path, &f, &diag) != MS_OK)
        return 0;
    for (size_t i = 0; i < ms_st_count(f); i++) {
        const ms_st_tensor *t = ms_st_at(f, i);
        if (ms_st_find(f, t->name) != t)
            abort();
        if (t->numel > (1u << 20))
            continue;
        float *out = malloc((t->numel ? t->numel : 1) * sizeof *out);
        if (out)
            ms_st_to_float(f, t, out, &diag);
        free(out);
    }
    ms_st_metadata(f, "format");
    ms_st_close(f);
    return 0;
}
