/* modsim run --save-weights: the model after the run, written as `modsim
 * kernel` writes a kernel's outputs (src/kernels/apply_file.h): each Linear
 * module's weight NAME with NAME.mask, .codes, .scale, .zero_point beside it,
 * the same names and dtypes, chosen with the same --outputs list; the other
 * parameters (embeddings, norms, biases) as they are, F32. */
#ifndef MS_RUN_SAVE_H
#define MS_RUN_SAVE_H

#include <stdio.h>

#include "../world/world_model.h"

/* What --outputs LIST asks of each module: `quant` of a quantized one, `prune`
 * of the others (MS_APPLY_OUT_* bits). Each name must be one `modsim kernel`
 * knows that quant or prune makes; a bad one is refused naming `option`. */
ms_status ms_run_save_outputs(const char *list, const char *option, unsigned *quant,
                              unsigned *prune, ms_diag *diag);

/* Writes the model of `wm` to `path` atomically. `outputs` NULL: what
 * compressed-tensors keeps of each module (ms_apply_outputs_default: a
 * quantized module's codes and scales, its zero points when asymmetric; the
 * pruned weight of the others); else the bits of ms_run_save_outputs. A
 * module that makes none of those it is asked for keeps its weight, so the
 * file always holds every module. `provenance` goes to metadata "modsim_run".
 * The run keeps a quantized module's weight, not its codes and scales: they
 * are that weight quantized again with its scheme, which gives it back
 * exactly unless a group's codes stop short of their range's end (GPTQ can
 * leave such groups); each such module is a warning on `warn` (NULL: none). */
ms_status ms_run_save(const ms_world_model *wm, const unsigned outputs[2], const char *path,
                      const char *provenance, FILE *warn, ms_diag *diag);

#endif
