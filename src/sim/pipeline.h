/* Runs: the ordered list of lifecycle calls a run of upstream makes, so a
 * recipe can be simulated without writing a scenario by hand.
 *
 * The default is the run llm-compressor's oneshot() makes: initialize, the
 * independent calibration pipeline (each modifier alone, in recipe order,
 * through the pipeline upstream infers for it, with the lifecycle's list
 * narrowed to it), finalize; every event built as upstream builds it, with
 * index 0. Other runs are offered and labelled as what they are: oneshot
 * with pipeline=sequential|basic|datafree, a training loop of the user's own
 * calling LifecycleCallbacks (epochs × steps_per_epoch × batch_start,
 * loss_calculated, optim_pre_step, optim_post_step, batch_end), and the
 * intended index (global step or fractional epoch), which upstream does not
 * send. */
#ifndef MS_PIPELINE_H
#define MS_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/upstream.h"
#include "../recipe/lint.h"
#include "../recipe/recipe.h"
#include "../scenario/scenario.h"

#define MS_PIPELINE_LIST(X)                                                                        \
    X(MS_PIPELINE_NONE, "none", "no calibration: the training loop only")                          \
    X(MS_PIPELINE_SEQUENTIAL, "sequential",                                                        \
      "calibration_epoch_start, one sequential_epoch_end per subgraph (the one before the "        \
      "first decoder layer, then one per layer), calibration_epoch_end")                           \
    X(MS_PIPELINE_BASIC, "basic",                                                                  \
      "calibration_epoch_start, one sequential_epoch_end after all batches, "                      \
      "calibration_epoch_end")                                                                     \
    X(MS_PIPELINE_DATAFREE, "datafree",                                                            \
      "calibration_epoch_start, sequential_epoch_end, calibration_epoch_end, no data")             \
    X(MS_PIPELINE_INDEPENDENT, "independent",                                                      \
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
    long long epochs;           /* training loop epochs; 0: none (oneshot) */
    long long steps_per_epoch;  /* optimizer steps per epoch, > 0 */
    long long batches_per_step; /* 0: not set */
    bool epoch_index;           /* events carry steps_per_epoch: index = fractional epoch */
    ms_index_mode index_mode;   /* upstream: events carry only their type (index 0) */
    ms_pipeline calibration;
    long long layers;     /* decoder layers: the sequential pipeline has layers + 1 subgraphs */
    ms_upstream upstream; /* the llm-compressor release whose lifecycle runs */
} ms_pipeline_config;

/* oneshot() as llm-compressor 0.12 runs it: no training loop, the
 * independent pipeline, index 0 (upstream), 4 decoder layers; 4 steps per
 * epoch, epoch index, for when a training loop or the intended index is
 * turned on. */
ms_pipeline_config ms_pipeline_defaults(void);

/* A user's training loop calling LifecycleCallbacks, as upstream runs one
 * (index 0), long enough for the recipe's training schedule as intended:
 * epochs past the largest start or end (at least 2), no calibration. */
ms_pipeline_config ms_pipeline_training(const ms_recipe *recipe);

/* The same run with the index as the recipe intends it: events carry the
 * global step and the clock (fractional epochs); with a training loop as
 * long as the schedule when the recipe has training-driven modifiers with a
 * schedule and the run has none. Upstream does not run this. */
ms_pipeline_config ms_pipeline_intended(const ms_pipeline_config *cfg, const ms_recipe *recipe);

/* A run as a user asks for it, before the recipe is known: a configuration,
 * plus "a training loop as long as the schedule" and "the intended index",
 * which depend on the recipe. */
typedef struct ms_pipeline_request {
    ms_pipeline_config cfg;
    bool training;       /* a training loop as long as the schedule, no calibration */
    bool epochs_given;   /* cfg.epochs was chosen: keep it */
    bool intended;       /* the intended index (a loop as long as the schedule) */
    bool upstream_given; /* cfg.upstream was chosen (it then wins over a scenario's) */
} ms_pipeline_request;

/* The run `req` asks for over `recipe` (NULL: no schedule). */
ms_pipeline_config ms_pipeline_resolve(const ms_pipeline_request *req, const ms_recipe *recipe);

/* Whether upstream makes this run: index 0, and oneshot (no training loop)
 * or a training loop without a calibration pipeline. */
bool ms_pipeline_is_upstream(const ms_pipeline_config *cfg);

/* Whether the run gives modifiers a calibration dataset (state.data.calib):
 * oneshot(pipeline="datafree") is the run made without one. */
bool ms_pipeline_has_calibration_data(const ms_pipeline_config *cfg);

/* The run as the lint's lifecycle warnings need to know it. */
ms_lint_run ms_pipeline_lint_run(const ms_pipeline_config *cfg);

/* What the run is, in one line: "oneshot(): independent pipeline, index 0,
 * as upstream runs it", "training loop then calibration: not a run upstream
 * makes; intended index (upstream sends index 0)", ... */
void ms_pipeline_describe(const ms_pipeline_config *cfg, char *buf, size_t cap);

/* Most calls a generated pipeline may have. */
#define MS_PIPELINE_MAX_CALLS 50000000ULL

/* The calls for `cfg` over `recipe` (the independent pipeline needs its
 * modifiers). `*out` is malloc'd; MS_ERR_INVALID or MS_ERR_LIMIT with `diag`
 * when the configuration is unusable. */
ms_status ms_pipeline_generate(const ms_pipeline_config *cfg, const ms_recipe *recipe,
                               ms_call **out, size_t *n, ms_diag *diag);

/* The pipeline upstream's CalibrationPipeline._infer_pipeline picks for one
 * modifier as the recipe writes it, at release `upstream`: sequential when it
 * needs calibration data (ms_modifier_type_requires_calibration), datafree
 * otherwise. */
ms_pipeline ms_pipeline_infer(const ms_recipe_entry *entry, ms_upstream upstream);

#endif
