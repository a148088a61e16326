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
    bool training_loop;       /* batch events: a training loop calling LifecycleCallbacks */
    bool calibration;         /* calibration events: oneshot()'s pipeline */
    bool intended_index;      /* events carry the intended index, not upstream's 0 */
    ms_upstream upstream;     /* the release whose lifecycle runs */
    bool no_calibration_data; /* oneshot(pipeline="datafree"): no dataset */
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
/* The same for recipe text read elsewhere (standard input): `file` names it
 * in diagnostics, `format` is how it is read. */
ms_status ms_lint_text_for(const ms_schema *schema, const char *text, size_t len, const char *file,
                           ms_recipe_format format, const char *stage, const ms_lint_run *run,
                           ms_diag_list *out);

/* What the loaders below do with errors upstream raises only when a modifier
 * runs (ms_lint_raised_later): a run keeps the recipe and reports them as
 * notes, since the simulated modifier raises them; an export refuses them as
 * modsim validate does. */
typedef enum { MS_CHECK_RUN, MS_CHECK_EXPORT } ms_check_mode;

/* Loads a recipe for a run (trace, the TUI) or an export with the checks of
 * modsim validate: what it reports as an error, upstream refuses at load, so
 * the recipe is refused. Every diagnostic, warnings too, is appended to
 * `diags`; `*out` is set (when `out` is not NULL) only when there is no
 * error. Returns MS_OK, MS_ERR_INVALID for errors, or why the file could not
 * be read or parsed. `schema` NULL: the embedded one. */
ms_status ms_recipe_load_checked(const ms_schema *schema, const char *path, const char *stage,
                                 ms_check_mode mode, ms_recipe **out, ms_diag_list *diags);
/* The same, the warnings for `run` (NULL: the default run) and, without
 * `schema`, the types of its release. */
ms_status ms_recipe_load_checked_for(const ms_schema *schema, const char *path, const char *stage,
                                     ms_check_mode mode, const ms_lint_run *run, ms_recipe **out,
                                     ms_diag_list *diags);

/* The same for a run of YAML text embedded in another file: `file` names it
 * and positions are shifted by `line_offset` and `col_offset`. */
ms_status ms_recipe_parse_checked(const ms_schema *schema, const char *text, size_t len,
                                  const char *file, int line_offset, int col_offset,
                                  ms_recipe **out, ms_diag_list *diags);
ms_status ms_recipe_parse_checked_for(const ms_schema *schema, const char *text, size_t len,
                                      const char *file, int line_offset, int col_offset,
                                      const ms_lint_run *run, ms_recipe **out, ms_diag_list *diags);

/* Whether error `d` is one upstream raises from a modifier's hooks
 * (on_initialize, on_start) rather than when it loads the recipe:
 * E-INITIALIZE and the conflicts QuantizationMixin.resolve_quantization_config
 * raises (mixin.py:319, :378; gptq/base.py:148 at 0.12). modsim validate
 * reports them as errors; the loaders above keep the recipe and turn them
 * into notes for a run (MS_CHECK_RUN), and the simulated modifier raises
 * them. */
bool ms_lint_raised_later(const ms_diag *d);
/* Turns those among diags[first..] into notes, as a run keeps them. */
void ms_lint_defer_raised(ms_diag_list *diags, size_t first);

/* For callers that show one diagnostic: the first error of `list` in
 * `diag`, its hint noting how many more there are. MS_ERR_INVALID when there
 * is one, else MS_OK (`diag` untouched). */
ms_status ms_lint_first_error(const ms_diag_list *list, ms_diag *diag);

#endif
