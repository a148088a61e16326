/* What a recipe's targets select in a given model, checked before any run:
 * a target that matches no module is a warning at its line
 * (upstream selects nothing with it, silently), naming the modules a near
 * miss would have matched — the name without a parameter suffix, a regex
 * searched rather than matched at the start, a name anywhere in the tree,
 * another case, a one- or two-letter typo — so the fix is plain. */
#ifndef MS_WORLD_MODEL_ERRORS_H
#define MS_WORLD_MODEL_ERRORS_H

#include "../model/model.h"
#include "../recipe/recipe.h"
#include "../util/status.h"

/* Appends a W-TARGET-UNMATCHED warning per unmatched entry of `targets`,
 * `config_groups.*.targets` and `scheme: {PRESET: targets}` of every
 * modifier; `model_name` names the model in the messages. An `ignore`
 * entry matching nothing is not reported: recipes list other families'
 * modules there on purpose (re:.*vision_tower.*). */
ms_status ms_world_check_targets(const ms_model *model, const char *model_name,
                                 const ms_recipe *recipe, ms_diag_list *out);

/* What SparseGPT's and Wanda's initialize compares (sgpt_base.py:116-139
 * at 0.12): `*given` the per-layer sparsities of `args` (a list's or map's
 * length, the decoder layers' number with sparsity_profile owl, 0 for one
 * sparsity) and `*targets` the modules `targets` (default Linear) selects,
 * ignore not applied. A target that does not parse counts nothing. */
void ms_world_sparsity_counts(const ms_model *model, const ms_node *args, size_t *given,
                              size_t *targets);

#endif
