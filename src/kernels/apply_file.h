/* One kernel over the tensors of a safetensors file: which tensors it takes,
 * where each one's calibration inputs are, the per-tensor loop with its
 * sparsity and error figures, and the output file (the weights under their
 * names, NAME.mask / .scale / .zero_point / .codes / .g_idx beside them).
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
    double ms;         /* wall time in the kernel */
    double sparsity;   /* fraction of exact zeros in the new weight */
    double rel_error;  /* ||W' - W|| / ||W|| (Frobenius; absolute when W = 0) */
    char side[5][600]; /* names of NAME.mask etc., alive until the write */
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

/* Sparsity and relative error of `result` against the original weight `w`. */
void ms_apply_measure(const ms_apply_result *result, const float *w, double *sparsity,
                      double *rel_error);

/* Applies the checked `opts` to every job, in order, stopping at the first
 * failure (its diagnostic names `in_path` when the kernel gave no file).
 * `calib` (named `calib_path`) is required by the ops that need inputs. */
ms_status ms_apply_run(ms_pool *pool, const ms_apply_opts *opts, const ms_st_file *in,
                       const char *in_path, const ms_st_file *calib, const char *calib_path,
                       ms_apply_job *jobs, size_t count, ms_diag *diag);

/* Whether tensor `t` of the input is one of the jobs'. */
bool ms_apply_selected(const ms_apply_job *jobs, size_t count, const ms_st_tensor *t);

/* Writes the results to `path`, with `provenance` as metadata "modsim_kernel".
 * With `rest` (the input file, or NULL), every tensor of it no job took is
 * written too, unchanged, so the output is a complete checkpoint. */
ms_status ms_apply_write(ms_apply_job *jobs, size_t count, const ms_st_file *rest,
                         const char *provenance, const char *path, ms_diag *diag);

#endif
