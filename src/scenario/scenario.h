/* Scenario files: a recipe, a clock, an index mode and a list of calls on the
 * lifecycle or on single modifiers (../shared/spec/scenario-and-trace.md). */
#ifndef MS_SCENARIO_H
#define MS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../core/call.h"
#include "../core/lifecycle.h"
#include "../core/upstream.h"
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
/* The same under a profile chosen by the caller (`modsim trace --upstream`),
 * which wins over the scenario's `upstream:` key; NULL: the scenario's own.
 * Event names are checked against the profile in force. */
ms_status ms_scenario_load_as(const char *path, const ms_upstream *upstream, ms_scenario **out,
                              ms_diag_list *diags);
ms_status ms_scenario_parse_as(const char *text, size_t len, const char *path,
                               const ms_upstream *upstream, ms_scenario **out, ms_diag_list *diags);
void ms_scenario_free(ms_scenario *sc);

ms_index_mode ms_scenario_index_mode(const ms_scenario *sc);
/* The profile in force: the caller's, else the `upstream:` key, else 0.12.
 * Lifecycles that run the scenario's calls take it (ms_lifecycle_set_upstream). */
ms_upstream ms_scenario_upstream(const ms_scenario *sc);
/* Whether the run has a calibration dataset (`calibration_data:`, default
 * true); lifecycles take it (ms_lifecycle_set_calibration_data). */
bool ms_scenario_calibration_data(const ms_scenario *sc);
/* The `model:` key (tiny, small, or a path made relative to the scenario's
 * folder), where it is written; NULL when the scenario names no model. */
const char *ms_scenario_model(const ms_scenario *sc, int *line, int *col);
const ms_recipe *ms_scenario_recipe(const ms_scenario *sc);
size_t ms_scenario_call_count(const ms_scenario *sc);
const ms_call *ms_scenario_call_at(const ms_scenario *sc, size_t i);

/* What a file given to trace or the UI is: a scenario (a map with `calls`,
 * `recipe` or `recipe_file` at the top), a recipe (a .json or .md file, or a
 * map with a `*_stage` key), or neither that can be told (unreadable, not
 * YAML, empty): then the caller's loader says what is wrong with it. */
typedef enum { MS_FILE_UNKNOWN, MS_FILE_SCENARIO, MS_FILE_RECIPE } ms_file_kind;
ms_file_kind ms_scenario_sniff(const char *path);

/* What a written scenario says besides its recipe and calls. */
typedef struct ms_scenario_header {
    const char *comment; /* the first line, a YAML comment */
    ms_index_mode index_mode;
    long long steps_per_epoch;  /* 0: the index is the global step */
    long long batches_per_step; /* 0: not set */
    ms_upstream upstream;
    bool no_calibration_data;
} ms_scenario_header;

/* Writes a scenario that runs `calls` (of a generated run: their events
 * carry the header's clock) over the recipe `recipe_yaml`. */
ms_status ms_scenario_write(FILE *out, const ms_scenario_header *h, const char *recipe_yaml,
                            const ms_call *calls, size_t n);

#endif
