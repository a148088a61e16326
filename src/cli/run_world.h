/* The model-backed world a command's run acts on: the model opened as
 * --model names it, each modifier calibrated as the run's pipeline
 * calibrates it (the independent pipeline: as upstream infers it per
 * modifier). Shared by modsim run and modsim trace --model. */
#ifndef MS_RUN_WORLD_H
#define MS_RUN_WORLD_H

#include "../recipe/recipe.h"
#include "../sim/pipeline.h"
#include "../world/world_model.h"

/* `cfg` NULL: a scenario's calls, where a sequential_epoch_end without
 * modules covers the whole model. On failure `diag` names the model. */
ms_status ms_run_world_new(const char *model, const ms_recipe *recipe,
                           const ms_pipeline_config *cfg, const ms_world_model_config *wcfg,
                           ms_world_model **out, ms_diag *diag);

#endif
