/* Recipes in llm-compressor's layout: top-level `args`, stage keys ending in
 * `_stage`, group keys ending in `_modifiers`, and inside a group a modifier
 * type mapped to its arguments. Every stage selected loads into one ordered
 * list of modifiers, as upstream's Recipe.from_dict does. */
#ifndef MS_RECIPE_H
#define MS_RECIPE_H

#include <stddef.h>

#include "../core/lifecycle.h"
#include "../core/modifier.h"
#include "../util/doc.h"
#include "../util/status.h"

typedef struct ms_recipe ms_recipe;

/* Largest recipe file read; larger inputs are refused with E-SIZE. */
#define MS_RECIPE_MAX_BYTES ((size_t)8 * 1024 * 1024)

/* How upstream's Recipe.create_instance reads a file: by extension. */
typedef enum {
    MS_FORMAT_AUTO,    /* no known extension: JSON first, then YAML */
    MS_FORMAT_YAML,    /* .yaml, .yml */
    MS_FORMAT_JSON,    /* .json */
    MS_FORMAT_MARKDOWN /* .md: YAML front matter between --- or +++ lines */
} ms_recipe_format;

ms_recipe_format ms_recipe_format_of(const char *path);

/* One modifier as the recipe writes it. Nodes point into the recipe's document. */
typedef struct ms_recipe_entry {
    const char *stage;       /* stage name: the key without "_stage" */
    const char *group;       /* the group key without "_modifiers", or the `group` argument */
    const ms_node *type_key; /* the modifier type as written (its position too) */
    const ms_node *args;     /* the arguments map, or NULL */
    const ms_modifier_type *type;
} ms_recipe_entry;

/* Parses recipe text. `file` names it in diagnostics; `line_offset` and
 * `col_offset` shift positions when the text is embedded in another file.
 * `stage` (NULL for all) keeps only top-level keys that start with it. */
ms_status ms_recipe_parse(const char *text, size_t len, const char *file, int line_offset,
                          int col_offset, const char *stage, ms_recipe **out, ms_diag *diag);

ms_status ms_recipe_load_file(const char *path, const char *stage, ms_recipe **out, ms_diag *diag);

/* Parses recipe text of a given format into a document. Refuses what upstream
 * cannot load as a recipe: empty input (E-EMPTY), NUL bytes (E-BINARY),
 * invalid UTF-8 (E-ENCODING), a Markdown card without front matter
 * (E-FRONTMATTER), a .json file json.loads refuses (E-JSON), syntax errors,
 * duplicate keys, deep nesting and alias bombs. */
ms_status ms_recipe_parse_doc(const char *text, size_t len, const char *file,
                              ms_recipe_format format, ms_doc **out, ms_diag *diag);

/* Reads and parses a recipe file (at most MS_RECIPE_MAX_BYTES), the format
 * taken from its extension. */
ms_status ms_recipe_read_doc(const char *path, ms_doc **out, ms_diag *diag);

/* Builds the modifier list of a parsed document, which the recipe takes over
 * (also on failure). Lenient, for checks that report every problem: an unknown
 * type gets entry type NULL, and arguments that are not a map are kept as
 * written. Fails only for a root that is not a map (E-LAYOUT). */
ms_status ms_recipe_from_doc(ms_doc *doc, const char *stage, ms_recipe **out, ms_diag *diag);

/* The document the recipe was read from. */
const ms_doc *ms_recipe_doc(const ms_recipe *recipe);
/* The stage filter given at load time, or NULL. */
const char *ms_recipe_stage_filter(const ms_recipe *recipe);
/* Number of `*_stage` maps selected (upstream flattens them into one list). */
size_t ms_recipe_stage_count(const ms_recipe *recipe);

void ms_recipe_free(ms_recipe *recipe);

size_t ms_recipe_count(const ms_recipe *recipe);
const ms_recipe_entry *ms_recipe_entry_at(const ms_recipe *recipe, size_t i);

/* Upstream's Recipe validator refuses an AWQModifier with no quantization
 * modifier (QuantizationModifier, GPTQModifier) after it: the index of the
 * first such entry at or after `from`, or the entry count when there is none.
 * ms_recipe_parse and ms_recipe_load_file refuse the first (E-AWQ-ORDER). */
size_t ms_recipe_next_awq_unordered(const ms_recipe *recipe, size_t from);

#define MS_AWQ_ORDER_MESSAGE "AWQModifier has no quantization modifier after it"
#define MS_AWQ_ORDER_HINT "add a QuantizationModifier or GPTQModifier after the AWQModifier"

/* Creates the modifiers in recipe order; the caller owns the array and each
 * modifier (ms_lifecycle_new takes both). */
ms_status ms_recipe_build_modifiers(const ms_recipe *recipe, ms_modifier ***out, size_t *count,
                                    ms_diag *diag);

/* A lifecycle over the recipe's modifiers, in recipe order. */
ms_status ms_recipe_build_lifecycle(const ms_recipe *recipe, ms_lifecycle **out, ms_diag *diag);

#endif
