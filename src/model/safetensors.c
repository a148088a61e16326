#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/array.h"
#include "../util/atomic.h"
#include "../util/doc.h"
#include "../util/json.h"

/* The reference implementation's limit: a larger header is not a real file. */
enum { MAX_HEADER_BYTES = 100000000 };

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
#define MS_ST_DTYPE_INFO(id, name, size) {name, size},
    MS_ST_DTYPE_LIST(MS_ST_DTYPE_INFO)
#undef MS_ST_DTYPE_INFO
};
enum { N_DTYPES = sizeof dtypes / sizeof dtypes[0] };

const char *ms_st_dtype_name(ms_st_dtype dtype)
{
    return (size_t)dtype < N_DTYPES ? dtypes[dtype].name : "?";
}

size_t ms_st_dtype_size(ms_st_dtype dtype)
{
    return (size_t)dtype < N_DTYPES ? dtypes[dtype].size : 0;
}

struct ms_st_file {
    char *path;
    void *map;
    size_t map_len;
    ms_doc *header;
    ms_st_tensor *tensors;
    size_t count;
    const ms_st_tensor **by_name; /* sorted by name, for ms_st_find */
    const ms_node *metadata;
};

/* ---- conversions --------------------------------------------------------- */

float ms_f16_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0x1f) /* infinity or NaN, payload kept */
        bits = sign | 0xff << 23 | mant << 13;
    else if (exp != 0)
        bits = sign | (exp + 127 - 15) << 23 | mant << 13;
    else if (mant == 0)
        bits = sign;
    else { /* subnormal: shift the leading 1 up to the implicit bit */
        uint32_t e = 127 - 15 + 1;
        while (!(mant & 0x400))
            mant <<= 1, e--;
        bits = sign | e << 23 | (mant & 0x3ff) << 13;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float ms_bf16_to_float(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* As torch's c10::BFloat16 rounds: nearest, ties to even; NaN becomes the
 * quiet NaN 0x7fc0. */
uint16_t ms_float_to_bf16(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u)
        return 0x7fc0;
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1)) >> 16);
}

/* As torch's c10::Half rounds: nearest, ties to even, subnormals kept,
 * beyond 65520 infinity; NaN becomes the quiet NaN 0x7e00 with its sign. */
uint16_t ms_float_to_f16(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    uint32_t x = bits & 0x7fffffffu;
    if (x > 0x7f800000u)
        return sign | 0x7e00;
    if (x >= 0x477ff000u) /* 65520, halfway past the largest half 65504: rounds up */
        return sign | 0x7c00;
    if (x >= 0x38800000u) { /* normal halves: rebias, round off 13 mantissa bits */
        uint32_t r = x - ((uint32_t)(127 - 15) << 23);
        return sign | (uint16_t)((r + 0xfffu + ((r >> 13) & 1)) >> 13);
    }
    uint32_t e = x >> 23;
    if (e < 102) /* below 2^-25, half the smallest subnormal: zero */
        return sign;
    /* subnormal: the value in units of 2^-24, rounded to an integer */
    uint32_t mant = (x & 0x7fffffu) | 0x800000u, shift = 126 - e;
    uint32_t q = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    q += rem > half || (rem == half && (q & 1));
    return sign | (uint16_t)q;
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

ms_status ms_st_to_float(const ms_st_file *file, const ms_st_tensor *t, float *out, ms_diag *diag)
{
    const unsigned char *p = t->data;
    size_t n = t->numel;
    switch (t->dtype) {
    case MS_ST_F32:
        for (size_t i = 0; i < n; i++, p += 4) {
            uint32_t bits =
                (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            memcpy(&out[i], &bits, sizeof bits);
        }
        return MS_OK;
    case MS_ST_F16:
        for (size_t i = 0; i < n; i++, p += 2)
            out[i] = ms_f16_to_float((uint16_t)(p[0] | p[1] << 8));
        return MS_OK;
    case MS_ST_BF16:
        for (size_t i = 0; i < n; i++, p += 2)
            out[i] = ms_bf16_to_float((uint16_t)(p[0] | p[1] << 8));
        return MS_OK;
    case MS_ST_U8:
        for (size_t i = 0; i < n; i++)
            out[i] = p[i];
        return MS_OK;
    case MS_ST_I8:
        for (size_t i = 0; i < n; i++)
            out[i] = (int8_t)p[i];
        return MS_OK;
    case MS_ST_I32:
        for (size_t i = 0; i < n; i++, p += 4)
            out[i] = (float)(int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                                      (uint32_t)p[3] << 24);
        return MS_OK;
    default:
        ms_diag_set(diag, MS_ERR_INVALID, "E-SAFETENSORS", file->path, 0, 0,
                    "tensor '%s' has dtype %s, which modsim cannot convert to float", t->name,
                    ms_st_dtype_name(t->dtype));
        ms_diag_hint(diag, "supported: F32, F16, BF16, U8, I8, I32");
        return MS_ERR_INVALID;
    }
}

/* ---- reader -------------------------------------------------------------- */

typedef struct reader {
    const char *path;
    ms_diag *diag;
} reader;

static ms_status bad(const reader *r, const ms_node *at, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static ms_status bad(const reader *r, const ms_node *at, const char *hint, const char *fmt, ...)
{
    char msg[sizeof r->diag->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ms_diag_set(r->diag, MS_ERR_INVALID, "E-SAFETENSORS", r->path, at ? at->line : 0,
                at ? at->col : 0, "%s", msg);
    if (hint)
        ms_diag_hint(r->diag, "%s", hint);
    return MS_ERR_INVALID;
}

static ms_status read_size(const reader *r, const ms_node *v, const char *tensor, const char *what,
                           size_t *out)
{
    long long x;
    if (!ms_node_as_int(v, &x) || x < 0 || (unsigned long long)x > SIZE_MAX)
        return bad(r, v, NULL, "tensor '%s': %s must be a non-negative integer, not '%s'", tensor,
                   what, v->kind == MS_NODE_SCALAR ? v->value : ms_node_type_name(v));
    *out = (size_t)x;
    return MS_OK;
}

static ms_status read_tensor(const reader *r, const char *name, const ms_node *info,
                             const unsigned char *data, size_t data_len, ms_st_tensor *t,
                             size_t *begin)
{
    static const char shape_hint[] = "each tensor is {\"dtype\": \"F32\", \"shape\": [rows, cols], "
                                     "\"data_offsets\": [begin, end]}";
    if (info->kind != MS_NODE_MAP)
        return bad(r, info, shape_hint, "tensor '%s' must be an object, not a %s", name,
                   ms_node_type_name(info));
    for (size_t i = 0; i < info->count; i++) {
        const char *k = info->keys[i]->value;
        if (strcmp(k, "dtype") && strcmp(k, "shape") && strcmp(k, "data_offsets"))
            return bad(r, info->keys[i], shape_hint, "tensor '%s' has an unknown key '%s'", name,
                       k);
    }
    const ms_node *dtype = ms_node_get(info, "dtype"), *shape = ms_node_get(info, "shape");
    const ms_node *offsets = ms_node_get(info, "data_offsets");
    if (!dtype || !shape || !offsets)
        return bad(r, info, shape_hint, "tensor '%s' has no '%s'", name,
                   !dtype   ? "dtype"
                   : !shape ? "shape"
                            : "data_offsets");
    t->name = name;
    size_t d = 0;
    while (d < N_DTYPES &&
           !(dtype->kind == MS_NODE_SCALAR && !strcmp(dtype->value, dtypes[d].name)))
        d++;
    if (d == N_DTYPES)
        return bad(r, dtype,
                   "known dtypes: BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, "
                   "I32, U32, F32, F64, I64, U64",
                   "tensor '%s' has an unknown dtype '%s'", name,
                   dtype->kind == MS_NODE_SCALAR ? dtype->value : ms_node_type_name(dtype));
    t->dtype = (ms_st_dtype)d;
    if (shape->kind != MS_NODE_SEQ || shape->count > MS_ST_MAX_DIMS)
        return bad(r, shape, shape_hint, "tensor '%s': shape must be a list of at most %d sizes",
                   name, MS_ST_MAX_DIMS);
    t->ndim = shape->count;
    t->numel = 1;
    for (size_t i = 0; i < shape->count; i++) {
        ms_status st = read_size(r, shape->items[i], name, "a shape size", &t->shape[i]);
        if (st != MS_OK)
            return st;
        if (t->shape[i] && t->numel > SIZE_MAX / t->shape[i])
            return bad(r, shape, NULL, "tensor '%s': shape has more elements than memory holds",
                       name);
        t->numel *= t->shape[i];
    }
    if (offsets->kind != MS_NODE_SEQ || offsets->count != 2)
        return bad(r, offsets, shape_hint, "tensor '%s': data_offsets must be [begin, end]", name);
    size_t end;
    ms_status st = read_size(r, offsets->items[0], name, "data_offsets begin", begin);
    if (st == MS_OK)
        st = read_size(r, offsets->items[1], name, "data_offsets end", &end);
    if (st != MS_OK)
        return st;
    if (end < *begin)
        return bad(r, offsets, NULL, "tensor '%s': data_offsets end %zu is before begin %zu", name,
                   end, *begin);
    size_t elem = dtypes[t->dtype].size;
    if (t->numel > SIZE_MAX / elem || t->numel * elem != end - *begin)
        return bad(
            r, offsets, "the byte count must be the product of the shape times the dtype size",
            "tensor '%s': %s of shape with %zu elements needs %zu bytes, but data_offsets "
            "[%zu, %zu] hold %zu",
            name, dtypes[t->dtype].name, t->numel,
            t->numel > SIZE_MAX / elem ? SIZE_MAX : t->numel * elem, *begin, end, end - *begin);
    if (end > data_len)
        return bad(r, offsets, "the file is truncated, or the header belongs to another file",
                   "tensor '%s': data_offsets end %zu is past the end of the data (%zu bytes)",
                   name, end, data_len);
    t->data = data + *begin;
    t->nbytes = end - *begin;
    return MS_OK;
}

/* Sorts tensors by offset, carrying the begin offsets along. */
typedef struct placed {
    size_t begin;
    ms_st_tensor t;
    const ms_node *at;
} placed;

static int by_begin(const void *a, const void *b)
{
    const placed *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->t.nbytes < y->t.nbytes ? -1 : x->t.nbytes > y->t.nbytes;
}

static int by_name(const void *a, const void *b)
{
    const ms_st_tensor *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* Names are unique (the header's keys are): sorted, they are found by bisection. */
static ms_status index_names(const reader *r, ms_st_file *f)
{
    f->by_name = malloc((f->count ? f->count : 1) * sizeof *f->by_name);
    if (!f->by_name)
        return ms_diag_set(r->diag, MS_ERR_NOMEM, "E-NOMEM", r->path, 0, 0, "out of memory");
    for (size_t i = 0; i < f->count; i++)
        f->by_name[i] = &f->tensors[i];
    if (f->count)
        qsort(f->by_name, f->count, sizeof *f->by_name, by_name);
    return MS_OK;
}

static ms_status read_header(const reader *r, ms_st_file *f, const unsigned char *data,
                             size_t data_len)
{
    const ms_node *root = ms_doc_root(f->header);
    if (!root || root->kind != MS_NODE_MAP)
        return bad(r, root, "a safetensors header is a JSON object of tensors",
                   "the header is not a JSON object");
    size_t n = root->count - (ms_node_get(root, "__metadata__") != NULL);
    placed *p = calloc(n ? n : 1, sizeof *p);
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    if (!p || !f->tensors) {
        free(p);
        return ms_diag_set(r->diag, MS_ERR_NOMEM, "E-NOMEM", r->path, 0, 0, "out of memory");
    }
    ms_status st = MS_OK;
    size_t k = 0;
    for (size_t i = 0; i < root->count && st == MS_OK; i++) {
        const ms_node *key = root->keys[i], *v = root->items[i];
        if (!strcmp(key->value, "__metadata__")) {
            f->metadata = v;
            if (v->kind != MS_NODE_MAP)
                st = bad(r, v, NULL, "__metadata__ must be an object of strings, not a %s",
                         ms_node_type_name(v));
            for (size_t j = 0; st == MS_OK && j < v->count; j++)
                if (v->items[j]->kind != MS_NODE_SCALAR)
                    st = bad(r, v->items[j], NULL, "__metadata__ '%s' must be a string",
                             v->keys[j]->value);
            continue;
        }
        p[k].at = v;
        st = read_tensor(r, key->value, v, data, data_len, &p[k].t, &p[k].begin);
        k++;
    }
    if (st == MS_OK) {
        if (n)
            qsort(p, n, sizeof *p, by_begin);
        size_t expect = 0;
        for (size_t i = 0; i < n && st == MS_OK; i++) {
            if (p[i].begin != expect)
                st = bad(r, p[i].at, "tensors must be stored back to back from offset 0",
                         p[i].begin < expect ? "tensor '%s' at offset %zu overlaps the tensor "
                                               "before it (which ends at %zu)"
                                             : "tensor '%s' at offset %zu leaves a gap after "
                                               "offset %zu",
                         p[i].t.name, p[i].begin, expect);
            expect = p[i].begin + p[i].t.nbytes;
            f->tensors[i] = p[i].t;
        }
        if (st == MS_OK && expect != data_len)
            st = bad(r, NULL, "the file has extra bytes after its last tensor",
                     "the tensors end at data offset %zu but the file holds %zu data bytes", expect,
                     data_len);
        f->count = n;
    }
    free(p);
    if (st == MS_OK)
        st = index_names(r, f);
    return st;
}

ms_status ms_st_open(const char *path, ms_st_file **out, ms_diag *diag)
{
    reader r = {path, diag};
    int fd;
    size_t size;
    ms_status st = ms_open_input(path, &fd, &size, diag);
    if (st != MS_OK)
        return st;
    if (size < 8) {
        close(fd);
        return bad(&r, NULL, "a safetensors file starts with an 8-byte header length",
                   "the file is %zu bytes long: too short for a safetensors file", size);
    }
    ms_st_file *f = calloc(1, sizeof *f);
    if (!f) {
        close(fd);
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", path, 0, 0, "out of memory");
    }
    f->path = strdup(path);
    f->map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f->map == MAP_FAILED || !f->path) {
        if (f->map != MAP_FAILED)
            munmap(f->map, size);
        free(f->path);
        free(f);
        return ms_diag_set(diag, MS_ERR_IO, "E-IO", path, 0, 0, "cannot map: %s", strerror(errno));
    }
    f->map_len = size;
    const unsigned char *bytes = f->map;
    uint64_t hlen = le64(bytes);
    if (hlen > size - 8)
        st = bad(&r, NULL, "the file is truncated, or it is not a safetensors file",
                 "the header length %llu runs past the end of the file (%zu bytes)",
                 (unsigned long long)hlen, size);
    else if (hlen > MAX_HEADER_BYTES)
        st = bad(&r, NULL, NULL, "the header is %llu bytes, more than the limit of %d",
                 (unsigned long long)hlen, MAX_HEADER_BYTES);
    else if (hlen < 2 || bytes[8] != '{')
        st = bad(&r, NULL, "a safetensors header is a JSON object",
                 "the header does not start with '{': not a safetensors file");
    if (st == MS_OK) {
        st = ms_doc_parse_json((const char *)bytes + 8, hlen, path, &f->header, diag);
        if (st != MS_OK)
            ms_diag_hint(diag, "the JSON header (line and column count from its first byte) "
                               "is malformed");
    }
    if (st == MS_OK)
        st = read_header(&r, f, bytes + 8 + hlen, size - 8 - hlen);
    if (st != MS_OK) {
        ms_st_close(f);
        return st;
    }
    *out = f;
    return MS_OK;
}

void ms_st_close(ms_st_file *f)
{
    if (!f)
        return;
    if (f->map)
        munmap(f->map, f->map_len);
    ms_doc_free(f->header);
    free(f->path);
    free(f->tensors);
    free(f->by_name);
    free(f);
}

void ms_st_release(const ms_st_file *f, const ms_st_tensor *t)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)t->data, hi = lo + t->nbytes, base = (uintptr_t)f->map;
    if (page <= 0 || lo < base || hi > base + f->map_len)
        return;
    /* whole pages only: the neighbours' bytes on a shared page stay */
    lo = (lo + (uintptr_t)page - 1) / (uintptr_t)page * (uintptr_t)page;
    hi = hi / (uintptr_t)page * (uintptr_t)page;
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

size_t ms_st_count(const ms_st_file *f)
{
    return f->count;
}

const ms_st_tensor *ms_st_at(const ms_st_file *f, size_t i)
{
    return &f->tensors[i];
}

const ms_st_tensor *ms_st_find(const ms_st_file *f, const char *name)
{
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->by_name[mid]->name, name);
        if (!c)
            return f->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *ms_st_metadata(const ms_st_file *f, const char *key)
{
    const ms_node *v = ms_node_get(f->metadata, key);
    return v && v->kind == MS_NODE_SCALAR ? v->value : NULL;
}

/* ---- writer -------------------------------------------------------------- */

typedef struct entry {
    char *name;
    ms_st_dtype dtype;
    size_t ndim, shape[MS_ST_MAX_DIMS], nbytes;
    const void *data;
    size_t order;  /* insertion order, to keep the sort stable */
    size_t offset; /* in the data section, once begun */
    bool stored;   /* bytes as a file stores them (little-endian already) */
    bool later;    /* the data comes with ms_st_writer_put */
    bool written;
} entry;

struct ms_st_writer {
    entry *entries;
    size_t count, cap;
    char **meta; /* key, value, key, value... */
    size_t n_meta, cap_meta;
    /* names seen, for refusing a repeat in constant time: an open-addressing
     * table of index + 1 into entries (0: empty), at most half full */
    size_t *names, n_names;
    /* between ms_st_writer_begin and ms_st_writer_finish */
    ms_atomic_file *file;
    int fd;
    off_t data_start;
    char *path;
};

ms_status ms_st_writer_new(ms_st_writer **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? MS_OK : MS_ERR_NOMEM;
}

void ms_st_writer_free(ms_st_writer *w)
{
    if (!w)
        return;
    ms_atomic_abort(w->file);
    free(w->path);
    for (size_t i = 0; i < w->count; i++)
        free(w->entries[i].name);
    for (size_t i = 0; i < w->n_meta; i++)
        free(w->meta[i]);
    free(w->entries);
    free(w->meta);
    free(w->names);
    free(w);
}

static size_t name_hash(const char *s)
{
    size_t h = 14695981039346656037u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* The table slot of `name`: where the entry with that name is, or the empty
 * slot it would take. */
static size_t *name_slot(const ms_st_writer *w, const char *name)
{
    size_t i = name_hash(name) & (w->n_names - 1);
    while (w->names[i] && strcmp(w->entries[w->names[i] - 1].name, name))
        i = (i + 1) & (w->n_names - 1);
    return &w->names[i];
}

/* Makes room for one more name, rebuilding the table from the entries. */
static bool names_reserve(ms_st_writer *w)
{
    if (w->names && 2 * (w->count + 1) <= w->n_names)
        return true;
    size_t n = 64;
    while (n < 2 * (w->count + 1))
        n *= 2;
    size_t *names = calloc(n, sizeof *names);
    if (!names)
        return false;
    free(w->names);
    w->names = names;
    w->n_names = n;
    for (size_t i = 0; i < w->count; i++)
        *name_slot(w, w->entries[i].name) = i + 1;
    return true;
}

static ms_status add_entry(ms_st_writer *w, const char *name, ms_st_dtype dtype,
                           const size_t *shape, size_t ndim, const void *data, bool stored,
                           ms_diag *diag);

ms_status ms_st_writer_add(ms_st_writer *w, const char *name, ms_st_dtype dtype,
                           const size_t *shape, size_t ndim, const void *data, ms_diag *diag)
{
    if (dtype != MS_ST_F32 && dtype != MS_ST_F16 && dtype != MS_ST_BF16 && dtype != MS_ST_U8 &&
        dtype != MS_ST_I8 && dtype != MS_ST_I32)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SAFETENSORS", NULL, 0, 0,
                           "cannot write tensor '%s' as %s: only F32, F16, BF16, U8, I8 and I32",
                           name, ms_st_dtype_name(dtype));
    return add_entry(w, name, dtype, shape, ndim, data, false, diag);
}

ms_status ms_st_writer_add_stored(ms_st_writer *w, const ms_st_tensor *t, ms_diag *diag)
{
    return add_entry(w, t->name, t->dtype, t->shape, t->ndim, t->data, true, diag);
}

ms_status ms_st_writer_add_later(ms_st_writer *w, const char *name, ms_st_dtype dtype,
                                 const size_t *shape, size_t ndim, ms_diag *diag)
{
    ms_status st = ms_st_writer_add(w, name, dtype, shape, ndim, NULL, diag);
    if (st == MS_OK)
        w->entries[w->count - 1].later = true;
    return st;
}

static ms_status add_entry(ms_st_writer *w, const char *name, ms_st_dtype dtype,
                           const size_t *shape, size_t ndim, const void *data, bool stored,
                           ms_diag *diag)
{
    if (w->file)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SAFETENSORS", w->path, 0, 0,
                           "cannot add tensor '%s': the file is already being written", name);
    if (!*name || !strcmp(name, "__metadata__") || ndim > MS_ST_MAX_DIMS)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SAFETENSORS", NULL, 0, 0,
                           "cannot write a tensor named '%s' with %zu dimensions", name, ndim);
    size_t nbytes = ms_st_dtype_size(dtype);
    for (size_t d = 0; d < ndim; d++) {
        if (shape[d] && nbytes > SIZE_MAX / shape[d])
            return ms_diag_set(diag, MS_ERR_LIMIT, "E-SAFETENSORS", NULL, 0, 0,
                               "tensor '%s' is too large", name);
        nbytes *= shape[d];
    }
    if (!names_reserve(w) || !ms_array_reserve(&w->entries, &w->cap, w->count, sizeof *w->entries))
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    size_t *slot = name_slot(w, name);
    if (*slot)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SAFETENSORS", NULL, 0, 0,
                           "tensor '%s' is added twice", name);
    entry *e = &w->entries[w->count];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    if (!e->name)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    e->dtype = dtype;
    e->ndim = ndim;
    memcpy(e->shape, shape, ndim * sizeof *shape);
    e->nbytes = nbytes;
    e->data = data;
    e->stored = stored;
    e->order = w->count++;
    *slot = w->count;
    return MS_OK;
}

ms_status ms_st_writer_metadata(ms_st_writer *w, const char *key, const char *value, ms_diag *diag)
{
    if (!ms_array_reserve(&w->meta, &w->cap_meta, w->n_meta + 1, sizeof *w->meta))
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    }
    w->meta[w->n_meta++] = k;
    w->meta[w->n_meta++] = v;
    return MS_OK;
}

/* Wider elements first, so that every tensor's data stays aligned to its size. */
static int by_alignment(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    size_t sx = ms_st_dtype_size(x->dtype), sy = ms_st_dtype_size(y->dtype);
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static char *build_header(ms_st_writer *w, size_t *len)
{
    char *buf = NULL;
    FILE *out = open_memstream(&buf, len);
    if (!out)
        return NULL;
    fputc('{', out);
    bool first = true;
    if (w->n_meta) {
        fputs("\"__metadata__\":{", out);
        for (size_t i = 0; i < w->n_meta; i += 2) {
            fputs(i ? "," : "", out);
            ms_json_fput_string(out, w->meta[i]);
            fputc(':', out);
            ms_json_fput_string(out, w->meta[i + 1]);
        }
        fputc('}', out);
        first = false;
    }
    size_t offset = 0;
    for (size_t i = 0; i < w->count; i++) {
        const entry *e = &w->entries[i];
        fputs(first ? "" : ",", out);
        first = false;
        ms_json_fput_string(out, e->name);
        fprintf(out, ":{\"dtype\":\"%s\",\"shape\":[", ms_st_dtype_name(e->dtype));
        for (size_t d = 0; d < e->ndim; d++)
            fprintf(out, "%s%zu", d ? "," : "", e->shape[d]);
        fprintf(out, "],\"data_offsets\":[%zu,%zu]}", offset, offset + e->nbytes);
        w->entries[i].offset = offset;
        offset += e->nbytes;
    }
    fputc('}', out);
    while ((ftell(out) % 8) != 0) /* so that the data starts 8-byte aligned */
        fputc(' ', out);
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* All of buf at `offset` of fd, through short writes and signals. */
static bool write_all_at(int fd, const void *buf, size_t len, off_t offset)
{
    const char *p = buf;
    while (len) {
        /* at most 1 GiB per call: Linux writes no more than ~2 GiB at once */
        ssize_t n = pwrite(fd, p, len < (1u << 23) ? len : (1u << 23), offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return false;
        }
        p += n;
        len -= (size_t)n;
        offset += n;
    }
    return true;
}

/* Writes e's elements (from `data`) as little-endian bytes whatever the
 * host's byte order: one large write where the bytes already are. */
static bool write_entry(const ms_st_writer *w, const entry *e, const void *data)
{
    off_t at = w->data_start + (off_t)e->offset;
    size_t size = ms_st_dtype_size(e->dtype);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    size = 1;
#endif
    if (e->stored || size == 1)
        return write_all_at(w->fd, data, e->nbytes, at);
    unsigned char buf[1 << 16];
    const unsigned char *src = data;
    for (size_t i = 0; i < e->nbytes;) {
        size_t k = 0;
        for (; i < e->nbytes && k + size <= sizeof buf; i += size, k += size) {
            uint32_t v;
            if (size == 2) {
                uint16_t v16;
                memcpy(&v16, src + i, 2);
                v = v16;
            } else
                memcpy(&v, src + i, 4);
            for (size_t b = 0; b < size; b++)
                buf[k + b] = (unsigned char)(v >> (8 * b));
        }
        if (!write_all_at(w->fd, buf, k, at))
            return false;
        at += (off_t)k;
    }
    return true;
}

static ms_status write_failed(ms_st_writer *w, ms_diag *diag)
{
    ms_status st = ms_diag_set(diag, MS_ERR_IO, "E-IO", w->path, 0, 0, "cannot write %s: %s",
                               w->path, strerror(errno ? errno : EIO));
    ms_atomic_abort(w->file);
    w->file = NULL;
    return st;
}

ms_status ms_st_writer_begin(ms_st_writer *w, const char *path, ms_diag *diag)
{
    if (w->file)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SAFETENSORS", w->path, 0, 0,
                           "%s is already being written", w->path);
    if (w->count) { /* qsort's pointer must be valid even for no elements */
        qsort(w->entries, w->count, sizeof *w->entries, by_alignment);
        free(w->names); /* its indices are stale: rebuilt for ms_st_writer_put */
        w->names = NULL;
        if (!names_reserve(w))
            return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    }
    free(w->path);
    w->path = strdup(path);
    size_t hlen;
    char *header = w->path ? build_header(w, &hlen) : NULL;
    if (!header)
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    FILE *out;
    ms_status st = ms_atomic_open(path, &w->file, &out, diag);
    if (st != MS_OK) {
        free(header);
        return st;
    }
    /* everything goes through pwrite on the descriptor; the stream stays empty */
    w->fd = fileno(out);
    w->data_start = (off_t)(8 + hlen);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    errno = 0;
    bool ok = write_all_at(w->fd, len8, 8, 0) && write_all_at(w->fd, header, hlen, 8);
    free(header);
    for (size_t i = 0; ok && i < w->count; i++) {
        entry *e = &w->entries[i];
        if (!e->later) {
            ok = write_entry(w, e, e->data);
            e->written = true;
        }
    }
    return ok ? MS_OK : write_failed(w, diag);
}

ms_status ms_st_writer_put(ms_st_writer *w, const char *name, const void *data, ms_diag *diag)
{
    entry *e = NULL;
    if (w->file && w->names) {
        size_t slot = *name_slot(w, name);
        e = slot ? &w->entries[slot - 1] : NULL;
    }
    if (!e || e->written)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SAFETENSORS", w->path, 0, 0,
                           "tensor '%s' was not declared to be given later, or was given twice",
                           name);
    errno = 0;
    if (!write_entry(w, e, data))
        return write_failed(w, diag);
    e->written = true;
    return MS_OK;
}

ms_status ms_st_writer_finish(ms_st_writer *w, ms_diag *diag)
{
    if (!w->file)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-SAFETENSORS", NULL, 0, 0,
                           "the file was not begun, or its writing failed");
    for (size_t i = 0; i < w->count; i++)
        if (!w->entries[i].written) {
            ms_status st = ms_diag_set(diag, MS_ERR_INVALID, "E-SAFETENSORS", w->path, 0, 0,
                                       "tensor '%s' was declared but never given; %s is not "
                                       "written",
                                       w->entries[i].name, w->path);
            ms_atomic_abort(w->file);
            w->file = NULL;
            return st;
        }
    ms_status st = ms_atomic_commit(w->file, diag);
    w->file = NULL;
    return st;
}

ms_status ms_st_write(ms_st_writer *w, const char *path, ms_diag *diag)
{
    ms_status st = ms_st_writer_begin(w, path, diag);
    return st == MS_OK ? ms_st_writer_finish(w, diag) : st;
}
