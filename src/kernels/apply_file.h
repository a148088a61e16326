/* One kernel over the tensors of a safetensors file: which tensors it takes,
 * where each one's calibration inputs are, the per-tensor loop with its
 * sparsity and error figures, and the output file (the weights under their
 * names, NAME.mask / .scale / .zero_point / .codes / .g_idx beside them).
 * Tensor by tensor: a weight is read from the mapped file where its bytes
 * already are floats, its results are written as soon as they exist and then
 * freed, so memory holds about one tensor's results whatever the file's size.
 * `modsim kernel` is this plus argument parsing and the summary table. */
#ifndef MS_APPLY_FILE_H
#define MS_APPLY_FILE_H

#include <regex.h>
#include <stddef.h>

#include "kernels/apply.h"
#include "model/safetensors.h"

/* One tensor's application. */
typedef struct ms_apply_job {
    const ms_st_tensor *tensor;
    ms_apply_result result;
    double ms;        /* wall time in the kernel */
    double sparsity;  /* fraction of exact zeros in the new weight */
    double rel_error; /* ||W' - W|| / ||W|| (Frobenius; absolute when W = 0) */
} ms_apply_job;

/* The 2-D F32/F16/BF16 tensors of `in` whose name matches `re` (NULL: all),
 * in file order; *count may be 0. Free with ms_apply_jobs_free. */
ms_status ms_apply_select(const ms_st_file *in, const regex_t *re, ms_apply_job **jobs,
                          size_t *count, ms_diag *diag);
void ms_apply_jobs_free(ms_apply_job *jobs, size_t count);

/* The layer inputs of weight `w` in `calib` (named by `path` in diagnostics):
 * NAME.inputs, else `inputs`, [n, in_features] or [batch, seq, in_features],
 * as *rows x in_features floats (malloc'd) holding *samples samples (upstream
 * counts the batch dimension; a 2-D tensor's rows each count). */
ms_status ms_apply_find_calib(const ms_st_file *calib, const char *path, const ms_st_tensor *w,
                              float **x, size_t *rows, size_t *samples, ms_diag *diag);

/* What upstream keeps of a result (MS_APPLY_OUT_* bits): a pruned weight (its
 * mask is its zeros); for quantization the codes and scales, zero points
 * only when asymmetric and g_idx with activation ordering, as
 * compressed-tensors stores them (compression_param_names). */
unsigned ms_apply_outputs_default(const ms_apply_opts *opts);

/* `list`: comma-separated weights, mask, codes, scale, zero_point, g_idx, or
 * all (every array the op makes). Refuses an unknown name and an output the
 * op does not make, naming `option` and what is valid. */
ms_status ms_apply_outputs_parse(const char *list, const ms_apply_opts *opts, const char *option,
                                 unsigned *out, ms_diag *diag);

/* Output `bit` (one MS_APPLY_OUT_* bit) as this file writes it: its name is
 * the weight's name and this suffix ("" for the weight itself), its dtype
 * this; its array in a result. For another writer of the same outputs
 * (modsim run --save-weights). */
const char *ms_apply_output_suffix(unsigned bit);
ms_st_dtype ms_apply_output_dtype(unsigned bit);
const void *ms_apply_result_array(const ms_apply_result *r, unsigned bit);

/* Whether tensor `t` of the input is one of the jobs'. */
bool ms_apply_selected(const ms_apply_job *jobs, size_t count, const ms_st_tensor *t);

/* Where a run reads and writes. */
typedef struct ms_apply_io {
    const ms_st_file *in;
    const char *in_path;
    const ms_st_file *calib; /* layer inputs, for the ops that need them; else NULL */
    const char *calib_path;
    /* the input again to write every tensor no job took, unchanged, so the
     * output is a complete checkpoint; NULL: only the jobs' outputs */
    const ms_st_file *rest;
    const char *out_path;
    const char *provenance; /* metadata "modsim_kernel" */
    unsigned outputs;       /* MS_APPLY_OUT_* bits to write */
} ms_apply_io;

/* Applies the checked `opts` to every job, in order, writing each one's
 * outputs to io->out_path as soon as they exist; the file gets its name only
 * when every job succeeded (src/util/atomic.h), else the first failure is
 * returned (naming io->in_path when the kernel gave no file) and an old file
 * of that name stays as it was. The jobs keep their figures and shape; their
 * arrays are freed. */
ms_status ms_apply_file(ms_pool *pool, const ms_apply_opts *opts, const ms_apply_io *io,
                        ms_apply_job *jobs, size_t count, ms_diag *diag);

#endif
