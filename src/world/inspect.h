/* What the Model screen shows of a model-backed world beyond its rows
 * (world_model.h): each Linear's output error on the calibration inputs and
 * the weight scheme attached to it. */
#ifndef MS_WORLD_INSPECT_H
#define MS_WORLD_INSPECT_H

#include "../model/model.h"
#include "../kernels/quant.h"
#include "world_model.h"

/* Per module (indexed as the model's modules): ||X W^T - X0 W0^T|| /
 * ||X0 W0^T|| (Frobenius) over the calibration tokens, X the module's input
 * in a forward of the model as it is now and W its weight, X0 and W0 the
 * same in the uncompressed model: the error of its output with what the
 * layers before it changed (a smoothing, which keeps each layer's function,
 * adds next to none); NAN for modules that are not Linear. `out` holds the
 * model's module count. */
ms_status ms_world_model_output_errors(ms_world_model *wm, double *out, ms_diag *diag);

/* The weight scheme a modifier attached to module `module` at initialize,
 * or NULL. */
const ms_quant_args *ms_world_model_scheme(const ms_world_model *wm, size_t module);

#endif
