/* Scenario files: a recipe, a clock, an index mode and a list of calls on the
 * lifecycle or on single modifiers (../shared/spec/scenario-and-trace.md). */
#ifndef MS_SCENARIO_H
#define MS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/lifecycle.h"
#include "../recipe/recipe.h"
#include "../util/status.h"

typedef enum {
    MS_INDEX_STEP,    /* events carry global_step and the clock */
    MS_INDEX_UPSTREAM /* events carry only their type, as upstream builds them: index 0 */
} ms_index_mode;

typedef enum {
    MS_CALL_INITIALIZE,          /* lifecycle initialize */
    MS_CALL_EVENT,               /* lifecycle event */
    MS_CALL_FINALIZE,            /* lifecycle finalize */
    MS_CALL_MODIFIER_INITIALIZE, /* direct calls on one modifier */
    MS_CALL_MODIFIER_UPDATE_EVENT,
    MS_CALL_MODIFIER_FINALIZE
} ms_call_kind;

typedef struct ms_scenario_call {
    ms_call_kind kind;
    size_t modifier; /* direct calls */
    ms_event event;  /* MS_CALL_EVENT, MS_CALL_MODIFIER_UPDATE_EVENT */
    bool has_loss;
    double loss;
    int line, col; /* where the call is written */
} ms_scenario_call;

typedef struct ms_scenario ms_scenario;

/* Loads and checks a scenario and its recipe. Every problem in either is a
 * diagnostic pointing at the scenario (or recipe) file. */
ms_status ms_scenario_load(const char *path, ms_scenario **out, ms_diag *diag);
void ms_scenario_free(ms_scenario *sc);

ms_index_mode ms_scenario_index_mode(const ms_scenario *sc);
const ms_recipe *ms_scenario_recipe(const ms_scenario *sc);
size_t ms_scenario_call_count(const ms_scenario *sc);
const ms_scenario_call *ms_scenario_call_at(const ms_scenario *sc, size_t i);

/* A fresh lifecycle over the scenario's recipe. */
ms_status ms_scenario_new_lifecycle(const ms_scenario *sc, ms_lifecycle **out, ms_diag *diag);

/* Runs one call; MS_ERR_RAISED with `raised` when the lifecycle raised. */
ms_status ms_scenario_run_call(const ms_scenario_call *call, ms_lifecycle *lc,
                               ms_raise *raised);

#endif
