/* The terminal UI: Schedule, Timeline, Stepper, Explain and Help screens
 * over a simulation session. */
#ifndef MS_TUI_H
#define MS_TUI_H

#include <stdbool.h>

#include "sim/pipeline.h"
#include "world/world_model.h"

/* Runs the UI on `path`, a recipe or a scenario file (NULL: the bundled
 * demo recipe), until the user quits. A recipe runs as `run` asks (NULL:
 * oneshot() as upstream runs it). Returns the process exit status. */
/* `stage` (NULL: every stage) selects one stage as oneshot(..., stage=NAME)
 * does; the recipe is then shown read-only (editing needs the whole file). */
/* `model` (NULL: tiny) is what stepping acts on (--model; "none" for no model);
 * `world` (NULL: the defaults) its calibration tokens and threads (--calib,
 * --calib-tokens, --threads, --seed as modsim run takes them). */
/* What the session does with the history of runs. */
typedef struct ms_tui_history {
    const char *path; /* --history PATH; NULL: the default file */
    bool off;         /* --no-history: nothing is recorded */
    long long replay; /* > 0: the session is this run of the history (history replay) */
} ms_tui_history;

/* `history` NULL: the session's runs are recorded to the default file. A
 * replay that cannot be made is said on stderr, exit status 2, before the
 * terminal is touched. */
int ms_tui_main(const char *path, const ms_pipeline_request *run, const char *stage,
                const char *model, const ms_world_model_config *world,
                const ms_tui_history *history);

#endif
