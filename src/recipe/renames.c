#include "renames.h"

#include <stdio.h>
#include <string.h>

/* From llm-compressor's history (/work/.mirror/vllm-project+llm-compressor):
 * the release is the first tag without the old name. SparseML's names
 * (percdamp, start_epoch, params, ...) were gone by 0.1.0, the first
 * llm-compressor release. */
static const char seq_targets_note[] =
    "pass sequential_targets to oneshot (DatasetArguments) instead; removed from modifiers "
    "by upstream #1559";
static const char calib_note[] = "oneshot's num_calibration_samples sets how much data calibrates";

static const ms_rename renames[] = {
    /* modifier types */
    {NULL, "vLLMQuantizationModifier", "QuantizationModifier", "0.1.0", MS_CARRY_SAME, NULL,
     "SparseML's name for it"},
    {NULL, "GMPruningModifier", "MagnitudePruningModifier", "0.1.0", MS_CARRY_SAME, NULL,
     "SparseML's gradual magnitude pruning"},
    /* GPTQModifier (gptq/base.py) */
    {"GPTQModifier", "percdamp", "dampening_frac", "0.1.0", MS_CARRY_SAME, NULL, NULL},
    {"GPTQModifier", "sequential_update", NULL, "0.8.0", MS_CARRY_IGNORED, NULL,
     "deprecated and ignored since 0.3.0: layers are always updated in sequence"},
    {"GPTQModifier", "quantize", NULL, "0.6.0", MS_CARRY_IF_VALUE, "true",
     "GPTQModifier always quantizes, with its own scheme or config_groups"},
    {"GPTQModifier", "num_calibration_steps", NULL, "0.6.0", MS_CARRY_NOT, NULL, calib_note},
    {"GPTQModifier", "disable_quantization_observer_epoch", NULL, "0.6.0", MS_CARRY_NOT, NULL,
     "observers are no longer frozen at an epoch"},
    {"GPTQModifier", "sequential_targets", NULL, "0.11.0", MS_CARRY_NOT, NULL, seq_targets_note},
    /* QuantizationModifier (quantization/base.py became a mixin in 0.6.0) */
    {"QuantizationModifier", "num_calibration_steps", NULL, "0.6.0", MS_CARRY_NOT, NULL,
     calib_note},
    {"QuantizationModifier", "disable_quantization_observer_epoch", NULL, "0.6.0", MS_CARRY_NOT,
     NULL, "observers are no longer frozen at an epoch"},
    /* SparseGPTModifier (SparseML's obcq/base.py, renamed in its 6c3f054b8) */
    {"SparseGPTModifier", "percdamp", "dampening_frac", "0.1.0", MS_CARRY_SAME, NULL, NULL},
    {"SparseGPTModifier", "quantize", NULL, "0.1.0", MS_CARRY_IF_VALUE, "false",
     "quantize with a QuantizationModifier or GPTQModifier of its own"},
    {"SparseGPTModifier", "sequential_targets", NULL, "0.11.0", MS_CARRY_NOT, NULL,
     seq_targets_note},
    {"WandaPruningModifier", "sequential_targets", NULL, "0.11.0", MS_CARRY_NOT, NULL,
     seq_targets_note},
    {"AWQModifier", "sequential_targets", NULL, "0.11.0", MS_CARRY_NOT, NULL, seq_targets_note},
    /* SparseML's GMPruningModifier / MagnitudePruningModifier arguments
     * (sparseml/pytorch/sparsification/pruning/modifier_pruning_magnitude.py) */
    {"MagnitudePruningModifier", "start_epoch", "start", "0.1.0", MS_CARRY_SAME, NULL, NULL},
    {"MagnitudePruningModifier", "end_epoch", "end", "0.1.0", MS_CARRY_SAME, NULL, NULL},
    {"MagnitudePruningModifier", "update_frequency", NULL, "0.1.0", MS_CARRY_NOT, NULL,
     "upstream recomputes the sparsity at every batch; update is read only by a calc(...) "
     "scheduler"},
    {"MagnitudePruningModifier", "params", "targets", "0.1.0", MS_CARRY_SAME, NULL,
     "targets name modules (their weight is pruned), not parameters"},
    {"MagnitudePruningModifier", "inter_func", "update_scheduler", "0.1.0", MS_CARRY_SAME, NULL,
     NULL},
    {"MagnitudePruningModifier", "mask_type", "mask_structure", "0.1.0", MS_CARRY_SAME, NULL, NULL},
    {"MagnitudePruningModifier", "global_sparsity", NULL, "0.1.0", MS_CARRY_IF_VALUE, "false",
     "apply_globally replaced it, and upstream does not implement it"},
    {"MagnitudePruningModifier", "phased", NULL, "0.1.0", MS_CARRY_IF_VALUE, "false", NULL},
    {"MagnitudePruningModifier", "score_type", NULL, "0.1.0", MS_CARRY_IF_VALUE, "magnitude",
     "only magnitude scores remain"},
    {"MagnitudePruningModifier", "log_types", NULL, "0.1.0", MS_CARRY_IGNORED, NULL,
     "it only chose loggers"},
    {"ConstantPruningModifier", "start_epoch", "start", "0.1.0", MS_CARRY_SAME, NULL, NULL},
    {"ConstantPruningModifier", "end_epoch", "end", "0.1.0", MS_CARRY_SAME, NULL, NULL},
    {"ConstantPruningModifier", "update_frequency", NULL, "0.1.0", MS_CARRY_IGNORED, NULL,
     "constant pruning holds masks at every batch"},
    {"ConstantPruningModifier", "params", "targets", "0.1.0", MS_CARRY_SAME, NULL,
     "targets name modules (their weight is held), not parameters"},
    {"ConstantPruningModifier", "log_types", NULL, "0.1.0", MS_CARRY_IGNORED, NULL,
     "it only chose loggers"},
};

const ms_rename *ms_rename_field(const char *type, const char *name)
{
    if (!type || !name)
        return NULL;
    for (size_t i = 0; i < sizeof renames / sizeof renames[0]; i++)
        if (renames[i].type && !strcmp(renames[i].type, type) && !strcmp(renames[i].old_name, name))
            return &renames[i];
    return NULL;
}

const ms_rename *ms_rename_type(const char *name)
{
    for (size_t i = 0; name && i < sizeof renames / sizeof renames[0]; i++)
        if (!renames[i].type && !strcmp(renames[i].old_name, name))
            return &renames[i];
    return NULL;
}

bool ms_rename_value_droppable(const ms_rename *r, const ms_node *value)
{
    if (r->carry == MS_CARRY_IGNORED)
        return true;
    if (r->carry != MS_CARRY_IF_VALUE || !value || value->kind != MS_NODE_SCALAR)
        return false;
    if (!strcmp(r->value, "true") || !strcmp(r->value, "false")) {
        /* a boolean field: as pydantic reads it, "true" included */
        bool b;
        return (ms_node_as_bool(value, &b) || ms_node_lax_bool(value, &b)) &&
               b == !strcmp(r->value, "true");
    }
    return !strcmp(value->value, r->value);
}

void ms_rename_describe(const ms_rename *r, char *buf, size_t cap)
{
    if (r->new_name)
        snprintf(buf, cap, "%s was renamed %s in llm-compressor %s%s%s", r->old_name, r->new_name,
                 r->release, r->note ? " (" : "", r->note ? r->note : "");
    else
        snprintf(buf, cap, "%s was removed in llm-compressor %s%s%s", r->old_name, r->release,
                 r->note ? " (" : "", r->note ? r->note : "");
    if (r->note)
        snprintf(buf + strlen(buf), cap - strlen(buf), ")");
}
