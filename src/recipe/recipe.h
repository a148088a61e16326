/* Recipes in llm-compressor's layout: top-level `args`, stage keys ending in
 * `_stage`, group keys ending in `_modifiers`, and inside a group a modifier
 * type mapped to its arguments. Every stage selected loads into one ordered
 * list of modifiers, as upstream's Recipe.from_dict does. */
#ifndef MS_RECIPE_H
#define MS_RECIPE_H

#include <stddef.h>

#include "../core/modifier.h"
#include "../util/doc.h"
#include "../util/status.h"

typedef struct ms_recipe ms_recipe;

/* One modifier as the recipe writes it. Nodes point into the recipe's document. */
typedef struct ms_recipe_entry {
    const char *stage;      /* stage name: the key without "_stage" */
    const char *group;      /* the group key without "_modifiers", or the `group` argument */
    const ms_node *type_key; /* the modifier type as written (its position too) */
    const ms_node *args;    /* the arguments map, or NULL */
    const ms_modifier_type *type;
} ms_recipe_entry;

/* Parses recipe text. `file` names it in diagnostics; `line_offset` and
 * `col_offset` shift positions when the text is embedded in another file.
 * `stage` (NULL for all) keeps only top-level keys that start with it. */
ms_status ms_recipe_parse(const char *text, size_t len, const char *file, int line_offset,
                          int col_offset, const char *stage, ms_recipe **out, ms_diag *diag);

ms_status ms_recipe_load_file(const char *path, const char *stage, ms_recipe **out,
                              ms_diag *diag);

void ms_recipe_free(ms_recipe *recipe);

size_t ms_recipe_count(const ms_recipe *recipe);
const ms_recipe_entry *ms_recipe_entry_at(const ms_recipe *recipe, size_t i);

/* Creates the modifiers in recipe order; the caller owns the array and each
 * modifier (ms_lifecycle_new takes both). */
ms_status ms_recipe_build_modifiers(const ms_recipe *recipe, ms_modifier ***out, size_t *count,
                                    ms_diag *diag);

#endif
