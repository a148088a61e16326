/* The world backed by a model: the hooks' world ops (src/core/world.h) prune,
 * quantize and smooth the weights of an ms_model at the points where
 * upstream's modifiers do, with the layer inputs of a calibration forward
 * over random tokens.
 *
 * What each modifier does (its recipe arguments, read when the world is made):
 *   MagnitudePruningModifier  apply_mask: unstructured magnitude pruning of
 *                             its targets to the scheduled sparsity
 *   ConstantPruningModifier   masks |w| > 1e-8 made at its start, applied
 *                             at each optim_post_step (masks.c)
 *   GPTQModifier, SparseGPTModifier, WandaPruningModifier
 *                             at each sequential_epoch_end, the Linear
 *                             targets of the subgraph just calibrated, from
 *                             the inputs that subgraph saw (Hessians or
 *                             Wanda's norms); nothing at calibration end:
 *                             what no subgraph end compressed is counted
 *                             at finalize (upstream's "Failed to compress").
 *                             SparseGPT/Wanda: the Linears inside `targets`
 *                             at a sparsity per target layer (a list, OWL)
 *   QuantizationModifier      fake-quantized weights (min/max observer),
 *                             subgraph by subgraph as GPTQ
 *   SmoothQuantModifier,      smooths input_layernorm into q/k/v and
 *   LogarithmicEqualization-  post_attention_layernorm into gate/up (the
 *   Modifier                  latter: algorithm log_equalization's scales)
 *   AWQModifier               at each sequential_epoch_end, its mappings
 *                             in that layer (default: Llama's): scale grid
 *                             search on the parent's outputs with the
 *                             scheme the following modifier attached, then
 *                             the scales folded (awq/base.py)
 * Other types leave the weights alone.
 *
 * Subgraphs: a modifier calibrated by the sequential pipeline sees one
 * sequential_epoch_end before the first decoder layer, then one per layer
 * (the last one holds the model's tail, lm_head); the layer's inputs are the
 * outputs of the layers before it as compressed so far. Under the basic
 * pipeline its one sequential_epoch_end covers the whole model; under
 * datafree there is no data, so only data-free work (quantization) happens. */
#ifndef MS_WORLD_MODEL_H
#define MS_WORLD_MODEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/record.h"
#include "../core/world.h"
#include "../kernels/quant.h"
#include "../model/model.h"
#include "../recipe/recipe.h"
#include "../util/status.h"
#include "calib.h"

typedef struct ms_world_model ms_world_model;

typedef struct ms_world_model_config {
    size_t calib_batch, calib_seq; /* calibration tokens (default 16 x 128) */
    uint64_t seed;                 /* of the calibration tokens; held-out ones use seed + 1 */
    size_t threads;                /* pool threads, caller included; 0: one per CPU */
    ms_calib_source calib_source;  /* random (default), a text file or token ids (calib.h) */
    const char *calib_path;        /* the file of a text or token-id source */
} ms_world_model_config;

ms_world_model_config ms_world_model_defaults(void);

/* How a modifier is calibrated: what its sequential_epoch_ends cover. */
typedef enum {
    MS_WORLD_LAYERWISE, /* sequential: the subgraph before layer 0, then each layer */
    MS_WORLD_WHOLE,     /* basic: one sequential_epoch_end after the whole model */
    MS_WORLD_NO_DATA,   /* datafree: no calibration inputs */
} ms_world_calibration;

/* Takes ownership of `model` (also on failure). Reads each recipe entry's
 * arguments (modifier i is entry i) and matches its targets; an argument
 * the world cannot act on (an unknown scheme, a bad regex) is MS_ERR_INVALID
 * naming the entry's file, line and value. */
ms_status ms_world_model_new(ms_model *model, const ms_recipe *recipe,
                             const ms_world_model_config *cfg, ms_world_model **out, ms_diag *diag);
void ms_world_model_free(ms_world_model *wm);

/* The world for ms_lifecycle_set_world; valid while `wm` lives. */
ms_world ms_world_model_world(ms_world_model *wm);

/* How modifier `modifier` is calibrated (default: layerwise). */
void ms_world_model_set_calibration(ms_world_model *wm, size_t modifier, ms_world_calibration how);

const ms_model *ms_world_model_model(const ms_world_model *wm);

/* After each module a hook changes, a METRIC record ("sparsity", the module,
 * its fraction of exact zeros) goes to `sink` (NULL: none), as call `call`;
 * the caller sets the call before running it. */
void ms_world_model_set_sink(ms_world_model *wm, const ms_sink *sink);
void ms_world_model_set_call(ms_world_model *wm, size_t call);

/* The first failure of a world op (they return nothing to the hooks): a
 * kernel refusing a weight, out of memory. MS_OK when there was none. */
ms_status ms_world_model_error(const ms_world_model *wm, ms_diag *diag);

/* One Linear module after the run. */
typedef struct ms_world_module_row {
    const char *name, *class_name;
    int owner;        /* the modifier that last changed its weight, -1 for none */
    double sparsity;  /* fraction of exact zeros */
    int bits;         /* bits of its quantized weight, 0 when not quantized */
    double rel_error; /* ||W - W0|| / ||W0|| against the uncompressed weight */
    const char *note; /* why a modifier left it alone, or NULL */
} ms_world_module_row;

/* The Linear modules, in module order; `*rows` is malloc'd. */
ms_status ms_world_model_rows(const ms_world_model *wm, ms_world_module_row **rows, size_t *n,
                              ms_diag *diag);

/* The model against the uncompressed one on held-out random tokens. */
typedef struct ms_world_metrics {
    double perplexity, perplexity_base; /* exp(mean next-token NLL), compressed and uncompressed */
    double kl;                          /* mean KL(base || compressed) per token, in nats */
    double top1;                        /* fraction of tokens whose argmax agrees */
} ms_world_metrics;

ms_status ms_world_model_evaluate(ms_world_model *wm, ms_world_metrics *out, ms_diag *diag);

/* While `*stop` is true the hooks compress no further module and the world
 * fails (E-WORLD-STOPPED): a front end cancelling a long call, which then
 * restores the world from a snapshot (snapshot.h). NULL: never. */
void ms_world_model_set_stop(ms_world_model *wm, const atomic_bool *stop);

/* How many module weights the hooks have written so far: a call that
 * leaves it unchanged left the model as it was. */
size_t ms_world_model_changes(const ms_world_model *wm);

/* The scheme module `module`'s weight was quantized with, or NULL when it
 * is not quantized. */
const ms_quant_args *ms_world_model_quant(const ms_world_model *wm, size_t module);

/* A quantized module's parameters as the modifier's kernel computed them
 * (GPTQ's per-group scales, the min/max observer's), its weight being
 * (code - zero_point) * scale with the codes of ms_apply_codes. */
typedef struct ms_world_qparams {
    ms_quant_args scheme;
    size_t srows, scols;               /* ms_quant_param_shape's */
    const float *scales, *zero_points; /* srows x scols */
    const int32_t *g_idx;              /* per column its group: GPTQ's actorder group; or NULL */
} ms_world_qparams;

/* Module `module`'s, or NULL when it is not quantized or a modifier after
 * the quantizing one changed its weight (smoothing, pruning's updates). */
const ms_world_qparams *ms_world_model_qparams(const ms_world_model *wm, size_t module);

#endif
