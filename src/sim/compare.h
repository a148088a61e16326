/* Two runs of one recipe side by side: what each modifier did in each
 * (when it started, ended, finalized, whether it raised), and the
 * differences in words ("starts at 2 as intended; never starts upstream").
 * The Timeline shows the run upstream makes above the run the recipe
 * intends; this is the part that does not need a screen. */
#ifndef MS_COMPARE_H
#define MS_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "pipeline.h"
#include "sim.h"

/* What one modifier did in a whole run. Calls are SIZE_MAX when it never
 * happened; indexes are NAN for initialize and finalize. */
typedef struct ms_outcome {
    size_t start_call, end_call, final_call, error_call;
    double start_index, end_index;
} ms_outcome;

/* Runs `sim` to its end and reads each modifier's outcome into `out`
 * (ms_sim_modifier_count entries). */
void ms_outcome_read(ms_sim *sim, ms_outcome *out);

/* Whether two outcomes differ in what a user sees: starting, ending,
 * finalizing or raising at all, or at another index. */
bool ms_outcome_differs(const ms_outcome *upstream, const ms_outcome *intended);

/* "starts at 0.25 as intended; never starts upstream", or, when they agree,
 * "the same in both runs: ...". */
void ms_outcome_describe(const ms_outcome *upstream, const ms_outcome *intended, char *buf,
                         size_t cap);

/* Both runs of `recipe`: the upstream one (`cfg` with index 0) and the
 * intended one (ms_pipeline_intended), each a session run to its end. */
typedef struct ms_comparison {
    ms_pipeline_config upstream_cfg, intended_cfg;
    ms_sim *upstream, *intended;
    ms_outcome *upstream_out, *intended_out;
    size_t n_modifiers;
    size_t n_different;
} ms_comparison;

ms_status ms_comparison_new(const ms_recipe *recipe, const ms_pipeline_config *cfg,
                            ms_comparison **out, ms_diag *diag);
void ms_comparison_free(ms_comparison *c);

#endif
