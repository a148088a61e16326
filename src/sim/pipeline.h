/* Pipeline generators: the ordered list of lifecycle calls that upstream's
 * training loop and calibration pipelines make, so a recipe can be simulated
 * without writing a scenario by hand.
 *
 * initialize comes first and finalize last. In between: the training loop
 * (epochs × steps_per_epoch × batch_start, loss_calculated, optim_pre_step,
 * optim_post_step, batch_end), then the calibration pipeline in the order
 * llm-compressor's pipelines/{sequential,basic,data_free,independent} send
 * their events. */
#ifndef MS_PIPELINE_H
#define MS_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "../recipe/recipe.h"
#include "../scenario/scenario.h"

#define MS_PIPELINE_LIST(X)                                                                       \
    X(MS_PIPELINE_NONE, "none", "no calibration: the training loop only")                         \
    X(MS_PIPELINE_SEQUENTIAL, "sequential",                                                       \
      "calibration_epoch_start, one sequential_epoch_end per layer, calibration_epoch_end")       \
    X(MS_PIPELINE_BASIC, "basic",                                                                 \
      "calibration_epoch_start, one sequential_epoch_end after all batches, "                     \
      "calibration_epoch_end")                                                                    \
    X(MS_PIPELINE_DATAFREE, "datafree",                                                           \
      "calibration_epoch_start, sequential_epoch_end, calibration_epoch_end, no data")            \
    X(MS_PIPELINE_INDEPENDENT, "independent",                                                     \
      "each modifier alone through the pipeline upstream infers for it")

typedef enum {
#define MS_PIPELINE_ENUM(id, name, help) id,
    MS_PIPELINE_LIST(MS_PIPELINE_ENUM)
#undef MS_PIPELINE_ENUM
        MS_PIPELINE_COUNT
} ms_pipeline;

const char *ms_pipeline_name(ms_pipeline p);
const char *ms_pipeline_help(ms_pipeline p);

typedef struct ms_pipeline_config {
    long long epochs;           /* training epochs; 0: no training loop */
    long long steps_per_epoch;  /* optimizer steps per epoch, > 0 */
    long long batches_per_step; /* 0: not set */
    bool epoch_index;           /* events carry steps_per_epoch: index = fractional epoch */
    ms_index_mode index_mode;   /* upstream: events carry only their type (index 0) */
    ms_pipeline calibration;
    long long layers; /* sequential: subgraphs, one sequential_epoch_end each */
} ms_pipeline_config;

/* 2 epochs × 4 steps, epoch index, sequential calibration over 4 layers. */
ms_pipeline_config ms_pipeline_defaults(void);

/* Most calls a generated pipeline may have. */
#define MS_PIPELINE_MAX_CALLS 50000000ULL

/* The calls for `cfg` over `recipe` (the independent pipeline needs its
 * modifiers). `*out` is malloc'd; MS_ERR_INVALID or MS_ERR_LIMIT with `diag`
 * when the configuration is unusable. */
ms_status ms_pipeline_generate(const ms_pipeline_config *cfg, const ms_recipe *recipe,
                               ms_call **out, size_t *n, ms_diag *diag);

/* The pipeline upstream's CalibrationPipeline._infer_pipeline picks for one
 * modifier type: sequential for types that need calibration data, else
 * datafree. QuantizationModifier counts as datafree (weight-only schemes;
 * static activation schemes would need sequential). */
ms_pipeline ms_pipeline_infer(const ms_modifier_type *type);

#endif
