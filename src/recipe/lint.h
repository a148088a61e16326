/* Recipe checks beyond one file's syntax: the schema (layout, types, fields,
 * bounds), the rules upstream enforces when it loads a recipe (AWQ order,
 * calc expressions), and lint warnings for lifecycle traps: recipes upstream
 * loads without complaint that do not do what they seem to. Every check
 * reports every problem it finds, pointing at the source. */
#ifndef MS_LINT_H
#define MS_LINT_H

#include <stddef.h>

#include "../util/status.h"
#include "recipe.h"
#include "schema.h"

/* Checks a recipe built with ms_recipe_from_doc against the schema and the
 * lint rules; appends errors and warnings to `out` in source order. Fails
 * only when memory runs out. */
ms_status ms_lint_recipe(const ms_schema *schema, const ms_recipe *recipe, ms_diag_list *out);

/* Reads, parses and checks one recipe file. Returns MS_OK when the file could
 * be checked (its problems are in `out`); otherwise the reason it could not
 * be read or parsed, whose diagnostic is also appended to `out`. */
ms_status ms_lint_file(const ms_schema *schema, const char *path, const char *stage,
                       ms_diag_list *out);

#endif
