/* Writes a recipe back in upstream's layout, for llm-compressor to load
 * unchanged: `args`, then each `*_stage` in source order, its `*_modifiers`
 * groups, each modifier's fields in the schema's order (base fields first,
 * as upstream serializes them) and nested values in source order. Only what
 * the recipe gives is written (no defaults filled in); preset names stay as
 * written; keys upstream ignores are dropped; aliases are expanded. The output
 * is a fixed point: exporting it again gives the same bytes. */
#ifndef MS_EXPORT_H
#define MS_EXPORT_H

#include <stdio.h>

#include "../util/status.h"
#include "recipe.h"
#include "schema.h"

/* Aliases are expanded, so a small file can stand for a huge export; past
 * this many bytes the export functions refuse with MS_ERR_LIMIT. */
#define MS_EXPORT_MAX_BYTES ((size_t)64 << 20)

/* Writes `recipe` (its stage filter applied) to `out` as YAML. */
ms_status ms_export_recipe(const ms_schema *schema, const ms_recipe *recipe, FILE *out);

/* The same for a document tree built in memory (the schedule editor's):
 * `root` is the recipe's top-level map; `stage_filter` may be NULL. */
ms_status ms_export_tree(const ms_schema *schema, const ms_node *root, const char *stage_filter,
                         FILE *out);

/* Writes one value on one line in flow style ("[Linear, lm_head]", "0.5",
 * "\"re:.*proj\""), as an editor shows it; parsing the text gives the value
 * back. */
ms_status ms_export_flow(const ms_node *value, FILE *out);

#endif
