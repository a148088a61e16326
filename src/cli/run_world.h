/* The model-backed world a command's run acts on: the model opened as
 * --model names it, each modifier calibrated as the run's pipeline
 * calibrates it (the independent pipeline: as upstream infers it per
 * modifier). Shared by modsim run and modsim trace --model. */
#ifndef MS_RUN_WORLD_H
#define MS_RUN_WORLD_H

#include <stdio.h>

#include "../recipe/recipe.h"
#include "../sim/pipeline.h"
#include "../world/world_model.h"

/* `cfg` NULL: a scenario's calls, where a sequential_epoch_end without
 * modules covers the whole model. On failure `diag` names the model. */
ms_status ms_run_world_new(const char *model, const ms_recipe *recipe,
                           const ms_pipeline_config *cfg, const ms_world_model_config *wcfg,
                           ms_world_model **out, ms_diag *diag);

/* The world options as a command line gives them. */
typedef struct ms_run_world_args {
    ms_world_model_config cfg;
    bool calib_given; /* --calib or --calib-tokens seen: one of them, once */
} ms_run_world_args;

/* Reads the world option at argv[*i] (and its value), moving *i past it:
 * --threads N, --seed N, --calib BxS|TEXTFILE, --calib-tokens FILE.
 * Returns 1 when it was one, 0 when argv[*i] is not one, -1 when its value
 * is bad (a message naming the option, the value and what is valid goes to
 * `err`, prefixed with `who`). */
int ms_run_world_option(ms_run_world_args *a, int argc, char **argv, int *i, const char *who,
                        FILE *err);

/* The usage lines of the world options. */
void ms_run_world_usage(FILE *out);

#endif
