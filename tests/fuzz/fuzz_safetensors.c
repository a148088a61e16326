/* libFuzzer: a safetensors file opened, every tensor found by name and
 * converted to float, as `modsim kernel` and weight loading read them; the
 * tensors the writer takes are written again, and the written file must open
 * with the same bytes. The input goes through a memory file so that
 * ms_st_open reads a real path. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "model/safetensors.h"

static bool writable(ms_st_dtype dtype)
{
    return dtype == MS_ST_F32 || dtype == MS_ST_U8 || dtype == MS_ST_I8 || dtype == MS_ST_I32;
}

/* Writes the tensors of `f` the writer takes (the host is little-endian, as
 * the file) and checks that the file it writes reads back the same. */
static void round_trip(const ms_st_file *f)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/modsim-fuzz-%ld.safetensors", (long)getpid());
    ms_st_writer *w;
    ms_diag diag;
    if (ms_st_writer_new(&w) != MS_OK)
        return;
    size_t written = 0;
    for (size_t i = 0; i < ms_st_count(f); i++) {
        const ms_st_tensor *t = ms_st_at(f, i);
        if (writable(t->dtype) &&
            ms_st_writer_add(w, t->name, t->dtype, t->shape, t->ndim, t->data, &diag) == MS_OK)
            written++;
    }
    ms_st_file *back = NULL;
    if (ms_st_write(w, path, &diag) != MS_OK || ms_st_open(path, &back, &diag) != MS_OK ||
        ms_st_count(back) != written)
        abort();
    for (size_t i = 0; i < ms_st_count(f); i++) {
        const ms_st_tensor *t = ms_st_at(f, i), *u = ms_st_find(back, t->name);
        if (writable(t->dtype) && (!u || u->dtype != t->dtype || u->nbytes != t->nbytes ||
                                   u->ndim != t->ndim || memcmp(u->data, t->data, t->nbytes) ||
                                   memcmp(u->shape, t->shape, t->ndim * sizeof *t->shape)))
            abort();
    }
    ms_st_close(back);
    ms_st_writer_free(w);
    unlink(path);
}

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
    round_trip(f);
    ms_st_close(f);
    return 0;
}
