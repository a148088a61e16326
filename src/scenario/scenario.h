/* Scenario files: a recipe, a clock, an index mode and a list of calls on the
 * lifecycle or on single modifiers (../shared/spec/scenario-and-trace.md). */
#ifndef MS_SCENARIO_H
#define MS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/call.h"
#include "../core/lifecycle.h"
#include "../recipe/recipe.h"
#include "../util/status.h"

typedef enum {
    MS_INDEX_STEP,    /* events carry global_step and the clock */
    MS_INDEX_UPSTREAM /* events carry only their type, as upstream builds them: index 0 */
} ms_index_mode;

typedef struct ms_scenario ms_scenario;

/* Loads and checks a scenario and its recipe, which is checked as modsim
 * validate checks it (ms_recipe_load_checked): an error there refuses the
 * scenario. Diagnostics point at the scenario (or recipe) file: on failure
 * the errors (a problem of the scenario itself is one), and the recipe's
 * warnings also when it loads. */
ms_status ms_scenario_load(const char *path, ms_scenario **out, ms_diag_list *diags);
/* The same from text in memory (NUL-terminated at `len`); `path` names it in
 * diagnostics and is where a `recipe_file` is looked up from. */
ms_status ms_scenario_parse(const char *text, size_t len, const char *path, ms_scenario **out,
                            ms_diag_list *diags);
void ms_scenario_free(ms_scenario *sc);

ms_index_mode ms_scenario_index_mode(const ms_scenario *sc);
const ms_recipe *ms_scenario_recipe(const ms_scenario *sc);
size_t ms_scenario_call_count(const ms_scenario *sc);
const ms_call *ms_scenario_call_at(const ms_scenario *sc, size_t i);

#endif
