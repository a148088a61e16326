/* safetensors files: an 8-byte little-endian header length, a JSON header
 * mapping tensor names to {dtype, shape, data_offsets}, then the raw data.
 *
 * The reader maps the file and validates the whole header before anything is
 * returned: every offset, size and shape is checked, so a tensor handed out
 * can be read without further checks. It converts F32, F16, BF16, U8, I8 and
 * I32 to float; other dtypes are listed but cannot be converted. The writer
 * writes F32, F16, BF16, U8 and I8 (masks, codes) and I32. */
#ifndef MS_SAFETENSORS_H
#define MS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "../util/status.h"

#define MS_ST_DTYPE_LIST(X)                                                                        \
    X(MS_ST_BOOL, "BOOL", 1)                                                                       \
    X(MS_ST_U8, "U8", 1)                                                                           \
    X(MS_ST_I8, "I8", 1)                                                                           \
    X(MS_ST_F8_E5M2, "F8_E5M2", 1)                                                                 \
    X(MS_ST_F8_E4M3, "F8_E4M3", 1)                                                                 \
    X(MS_ST_I16, "I16", 2)                                                                         \
    X(MS_ST_U16, "U16", 2)                                                                         \
    X(MS_ST_F16, "F16", 2)                                                                         \
    X(MS_ST_BF16, "BF16", 2)                                                                       \
    X(MS_ST_I32, "I32", 4)                                                                         \
    X(MS_ST_U32, "U32", 4)                                                                         \
    X(MS_ST_F32, "F32", 4)                                                                         \
    X(MS_ST_F64, "F64", 8)                                                                         \
    X(MS_ST_I64, "I64", 8)                                                                         \
    X(MS_ST_U64, "U64", 8)

typedef enum {
#define MS_ST_DTYPE_ENUM(id, name, size) id,
    MS_ST_DTYPE_LIST(MS_ST_DTYPE_ENUM)
#undef MS_ST_DTYPE_ENUM
} ms_st_dtype;

const char *ms_st_dtype_name(ms_st_dtype dtype);
size_t ms_st_dtype_size(ms_st_dtype dtype);

enum { MS_ST_MAX_DIMS = 8 };

typedef struct ms_st_tensor {
    const char *name;
    ms_st_dtype dtype;
    size_t ndim;
    size_t shape[MS_ST_MAX_DIMS];
    size_t numel;     /* product of shape (1 for a scalar) */
    const void *data; /* numel * dtype size bytes, little-endian, maybe unaligned */
    size_t nbytes;
} ms_st_tensor;

typedef struct ms_st_file ms_st_file;

/* Opens and validates a file. Rejects, naming the file, the tensor and the
 * bad value: a file shorter than its header, a header that is not a JSON
 * object of tensors, unknown dtypes, shapes whose size differs from their
 * data_offsets, offsets past the end of the file (a truncated file), and
 * tensors that overlap or leave gaps. */
ms_status ms_st_open(const char *path, ms_st_file **out, ms_diag *diag);
void ms_st_close(ms_st_file *file);

size_t ms_st_count(const ms_st_file *file);
/* Tensors in the order of their data in the file. */
const ms_st_tensor *ms_st_at(const ms_st_file *file, size_t i);
/* The tensor called `name`, or NULL. */
const ms_st_tensor *ms_st_find(const ms_st_file *file, const char *name);
/* Lets the memory holding `tensor`'s bytes go (the mapping reads them from
 * the file again if they are used later): a pass over a file larger than
 * memory then holds about one tensor at a time. */
void ms_st_release(const ms_st_file *file, const ms_st_tensor *tensor);

/* A value of the header's __metadata__ map, or NULL. */
const char *ms_st_metadata(const ms_st_file *file, const char *key);

/* Converts a tensor to `numel` floats. F16 and BF16 convert exactly
 * (subnormals, infinities and NaNs included). */
ms_status ms_st_to_float(const ms_st_file *file, const ms_st_tensor *tensor, float *out,
                         ms_diag *diag);

/* Exact conversions of one value, for callers with their own buffers. */
float ms_f16_to_float(uint16_t bits);
float ms_bf16_to_float(uint16_t bits);
/* f32 to F16/BF16 bits rounded as torch's .to(dtype): nearest, ties to even. */
uint16_t ms_float_to_f16(float value);
uint16_t ms_float_to_bf16(float value);

/* A file to write: tensors and metadata are added, then written. The data
 * pointers are not copied and must stay valid until the write. Either all at
 * once (ms_st_write), or tensor by tensor so that a caller holds one tensor
 * at a time: tensors declared with ms_st_writer_add_later, ms_st_writer_begin
 * (the header and every tensor added with data), ms_st_writer_put for each
 * declared one in any order, ms_st_writer_finish. Freeing a writer that was
 * begun and not finished drops the file. */
typedef struct ms_st_writer ms_st_writer;

ms_status ms_st_writer_new(ms_st_writer **out);
void ms_st_writer_free(ms_st_writer *writer);

/* Adds a tensor of dtype F32, F16, BF16 (uint16_t bits), U8, I8 or I32
 * (native-endian `data`). Names
 * must be unique and non-empty. */
ms_status ms_st_writer_add(ms_st_writer *writer, const char *name, ms_st_dtype dtype,
                           const size_t *shape, size_t ndim, const void *data, ms_diag *diag);
/* Adds a tensor of an open file as it is stored there (any dtype, bytes
 * unchanged); the file must stay open until the write. */
ms_status ms_st_writer_add_stored(ms_st_writer *writer, const ms_st_tensor *tensor, ms_diag *diag);
/* Declares a tensor as ms_st_writer_add does, its data to come with
 * ms_st_writer_put. */
ms_status ms_st_writer_add_later(ms_st_writer *writer, const char *name, ms_st_dtype dtype,
                                 const size_t *shape, size_t ndim, ms_diag *diag);
ms_status ms_st_writer_metadata(ms_st_writer *writer, const char *key, const char *value,
                                ms_diag *diag);

/* Starts `path`'s temporary file (src/util/atomic.h): the header and the
 * tensors added with data, each in one large write. */
ms_status ms_st_writer_begin(ms_st_writer *writer, const char *path, ms_diag *diag);
/* The data of declared tensor `name`, written at its place in the file. */
ms_status ms_st_writer_put(ms_st_writer *writer, const char *name, const void *data, ms_diag *diag);
/* Syncs the file and gives it its name; refused (and nothing written) when
 * a declared tensor was never given. */
ms_status ms_st_writer_finish(ms_st_writer *writer, ms_diag *diag);

/* begin + finish: writes to `path` through a temporary file renamed over
 * it, so a failed write never leaves a half-written file under that name. */
ms_status ms_st_write(ms_st_writer *writer, const char *path, ms_diag *diag);

#endif
