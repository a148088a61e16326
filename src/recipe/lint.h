/* Recipe checks beyond one file's syntax: the schema (layout, types, fields,
 * bounds), the rules upstream enforces when it loads a recipe (AWQ order,
 * calc expressions), and lint warnings for lifecycle traps: recipes upstream
 * loads without complaint that do not do what they seem to. Every check
 * reports every problem it finds, pointing at the source. */
#ifndef MS_LINT_H
#define MS_LINT_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/status.h"
#include "recipe.h"
#include "schema.h"

/* The run whose outcomes the lifecycle warnings ("never starts", "never
 * ends", "finalize ends it") predict: they are true of that run. */
typedef struct ms_lint_run {
    bool training_loop;   /* batch events: a training loop calling LifecycleCallbacks */
    bool calibration;     /* calibration events: oneshot()'s pipeline */
    bool intended_index;  /* events carry the intended index, not upstream's 0 */
    ms_upstream upstream; /* the release whose lifecycle runs */
} ms_lint_run;

/* oneshot() as upstream runs it: calibration events only, index 0. */
ms_lint_run ms_lint_default_run(void);

/* Checks a recipe built with ms_recipe_from_doc against the schema and the
 * lint rules, for the default run; appends errors and warnings to `out` in
 * source order. Fails only when memory runs out. */
ms_status ms_lint_recipe(const ms_schema *schema, const ms_recipe *recipe, ms_diag_list *out);
/* The same for another run. */
ms_status ms_lint_recipe_for(const ms_schema *schema, const ms_recipe *recipe,
                             const ms_lint_run *run, ms_diag_list *out);

/* Reads, parses and checks one recipe file. Returns MS_OK when the file could
 * be checked (its problems are in `out`); otherwise the reason it could not
 * be read or parsed, whose diagnostic is also appended to `out`. */
ms_status ms_lint_file(const ms_schema *schema, const char *path, const char *stage,
                       ms_diag_list *out);
/* The same for another run. */
ms_status ms_lint_file_for(const ms_schema *schema, const char *path, const char *stage,
                           const ms_lint_run *run, ms_diag_list *out);

#endif
