/* One kernel applied to one weight with options given as text: the shared
 * layer under `modsim kernel`, and for any front end (TUI, modifier hooks)
 * that lets a user pick an op and its options.
 *
 * Options have names ("sparsity", "group-size"); ms_apply_set parses and
 * range-checks one, ms_apply_check the combination once all are set. Every
 * refusal is MS_ERR_INVALID with a diag naming the option (after the
 * front end's option_prefix, e.g. "--"), the bad value and what would be
 * valid. Defaults are
 * upstream's (llm-compressor / compressed-tensors) where it has one. */
#ifndef MS_APPLY_H
#define MS_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/gptq.h"
#include "kernels/pool.h"
#include "kernels/prune.h"
#include "kernels/quant.h"
#include "util/status.h"

/* X(id, name, needs_calib, summary) */
#define MS_APPLY_OP_LIST(X)                                                                        \
    X(MS_APPLY_PRUNE, "prune", false, "magnitude pruning")                                         \
    X(MS_APPLY_QUANT, "quant", false, "fake quantization with a min/max observer")                 \
    X(MS_APPLY_GPTQ, "gptq", true, "GPTQ quantization")                                            \
    X(MS_APPLY_SPARSEGPT, "sparsegpt", true, "SparseGPT pruning")                                  \
    X(MS_APPLY_WANDA, "wanda", true, "Wanda pruning")

typedef enum {
#define MS_APPLY_OP_ENUM(id, name, calib, summary) id,
    MS_APPLY_OP_LIST(MS_APPLY_OP_ENUM)
#undef MS_APPLY_OP_ENUM
        MS_APPLY_OP_COUNT
} ms_apply_op;

const char *ms_apply_op_name(ms_apply_op op);
const char *ms_apply_op_summary(ms_apply_op op);
/* Whether the op needs layer inputs (a Hessian or Wanda's statistics). */
bool ms_apply_op_needs_calib(ms_apply_op op);
/* The op called `name`; MS_ERR_INVALID listing the ops when there is none. */
ms_status ms_apply_op_parse(const char *name, ms_apply_op *op, ms_diag *diag);

/* Option bits, for the per-op lists below. */
#define MS_APPLY_OPTION_LIST(X)                                                                    \
    X(SPARSITY, "sparsity", "S", "fraction pruned, in [0, 1] (default 0.5)")                       \
    X(STRUCTURE, "structure", "unstructured|N:M|channel|filter",                                   \
      "what is pruned together: channel = rows, filter = columns (default unstructured)")          \
    X(BITS, "bits", "B", "bits per code: 2..8 for int, 8 for fp8 (default 8)")                     \
    X(TYPE, "type", "int|fp8", "code type (default int)")                                          \
    X(STRATEGY, "strategy", "tensor|channel|group", "scale granularity (default channel)")         \
    X(GROUP_SIZE, "group-size", "G", "columns per scale for --strategy group")                     \
    X(ASYM, "asym", NULL, "asymmetric: a zero point per scale (default symmetric)")                \
    X(BLOCK_SIZE, "block-size", "N", "columns per lazy update block (default 128)")                \
    X(DAMPENING_FRAC, "dampening-frac", "F", "Hessian dampening, times mean(diag H) (0.01)")       \
    X(ACTORDER, "actorder", "none|group|weight|dynamic|static",                                    \
      "activation ordering; dynamic = group, static = weight (default none)")

typedef enum {
#define MS_APPLY_OPTION_ENUM(id, name, metavar, help) MS_APPLY_OPT_##id,
    MS_APPLY_OPTION_LIST(MS_APPLY_OPTION_ENUM)
#undef MS_APPLY_OPTION_ENUM
        MS_APPLY_OPT_COUNT
} ms_apply_option;

typedef struct ms_apply_option_info {
    const char *name;    /* "group-size" */
    const char *metavar; /* NULL for a flag that takes no value */
    const char *help;
} ms_apply_option_info;

const ms_apply_option_info *ms_apply_option_get(ms_apply_option opt);
/* Whether `op` takes option `opt`. */
bool ms_apply_op_takes(ms_apply_op op, ms_apply_option opt);

/* Everything that changes the numbers. Fill with ms_apply_opts_init. */
typedef struct ms_apply_opts {
    ms_apply_op op;
    ms_prune_args prune;   /* prune, sparsegpt, wanda */
    ms_quant_args quant;   /* quant, gptq */
    ms_actorder actorder;  /* gptq */
    size_t block_size;     /* gptq, sparsegpt */
    double dampening_frac; /* gptq, sparsegpt */
    /* Written before option names in diagnostics: NULL (default) for none,
     * "--" where options are command-line flags. Changes no number. */
    const char *option_prefix;
} ms_apply_opts;

void ms_apply_opts_init(ms_apply_opts *opts, ms_apply_op op);

/* Sets option `name` from text (value NULL for a flag). Refuses an unknown
 * option, one the op does not take, a missing value and a value out of range. */
ms_status ms_apply_set(ms_apply_opts *opts, const char *name, const char *value, ms_diag *diag);

/* Checks the options together (e.g. --strategy group without --group-size,
 * --bits 4 with --type fp8, a structure the op cannot do). */
ms_status ms_apply_check(const ms_apply_opts *opts, ms_diag *diag);

/* What one application produced. Arrays the op does not make are NULL. */
typedef struct ms_apply_result {
    float *weight; /* rows x cols, the new weight */
    size_t rows, cols;
    uint8_t *mask;      /* rows x cols, 1 = kept: prune, sparsegpt, wanda */
    int8_t *codes;      /* rows x cols: quant, gptq (fp8: the E4M3 bits) */
    float *scales;      /* srows x scols: quant, gptq */
    float *zero_points; /* srows x scols */
    size_t srows, scols;
    int32_t *g_idx; /* cols: group of each column, gptq with --actorder group */
    double loss;    /* gptq, sparsegpt: upstream's summed loss */
    int fell_back;  /* gptq, sparsegpt: H + damp I was singular, U = I used */
} ms_apply_result;

/* Whether the checked `opts` suit a rows x cols weight (a group size or N:M
 * that divides its columns, ...), naming tensor `name`; ms_apply_tensor
 * checks this too, a caller may check every tensor before running any. */
ms_status ms_apply_check_shape(const ms_apply_opts *opts, const char *name, size_t rows,
                               size_t cols, ms_diag *diag);

/* The arrays of an ms_apply_result, as bits. */
typedef enum {
    MS_APPLY_OUT_WEIGHT = 1 << 0,
    MS_APPLY_OUT_MASK = 1 << 1,
    MS_APPLY_OUT_CODES = 1 << 2,
    MS_APPLY_OUT_SCALE = 1 << 3,
    MS_APPLY_OUT_ZERO_POINT = 1 << 4,
    MS_APPLY_OUT_G_IDX = 1 << 5,
} ms_apply_out;

/* The arrays ms_apply_tensor makes under `opts` (scale and zero point have
 * ms_quant_param_shape's shape, g_idx one entry per column, the others the
 * weight's): known before a weight is seen, so a writer can lay out a file
 * before the first result exists. */
unsigned ms_apply_made(const ms_apply_opts *opts);

/* Applies the checked `opts` to the rows x cols weight `w` (not modified).
 * calib is the layer inputs, calib_rows x cols holding calib_samples samples,
 * for the ops that need them (else ignored, may be NULL). `name` only labels
 * diagnostics: NaN/inf in w or calib, a group size or N:M that does not fit
 * the shape. On failure the result is left empty. */
ms_status ms_apply_tensor(ms_pool *pool, const ms_apply_opts *opts, const char *name,
                          const float *w, size_t rows, size_t cols, const float *calib,
                          size_t calib_rows, size_t calib_samples, ms_apply_result *out,
                          ms_diag *diag);

/* Frees the arrays and zeroes the struct; safe on a zeroed result. */
void ms_apply_result_free(ms_apply_result *result);

/* The codes of a rows x cols weight `w` already dequantized under scheme
 * `q` with these scales and zero points (scols per row) and g_idx (NULL:
 * groups in column order), into `codes`: re-quantizing (code - zp) * scale
 * with the same scale gives the code back. */
void ms_apply_codes(const ms_quant_args *q, const float *w, size_t rows, size_t cols,
                    const float *scales, const float *zero_points, size_t scols,
                    const int32_t *g_idx, int8_t *codes);

#endif
