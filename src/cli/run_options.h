/* The options that choose the run a recipe is simulated with, read the same
 * way by `modsim trace RECIPE`, `modsim validate` and the terminal UI:
 * --pipeline, --epochs, --training, --index, --clock, --layers. Without any,
 * the run is oneshot() as upstream runs it. */
#ifndef MS_RUN_OPTIONS_H
#define MS_RUN_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "../recipe/recipe.h"
#include "../sim/pipeline.h"

typedef ms_pipeline_request ms_run_options;

ms_run_options ms_run_options_defaults(void);

/* Reads the run option at argv[*i] (and its value, the next word or after
 * `=`), moving *i past it.
 * Returns 1 when it was one, 0 when argv[*i] is not a run option, -1 when
 * its value is bad (a message naming the option, the value and what is
 * valid is printed to `err`, prefixed with `who`). */
int ms_run_options_parse(ms_run_options *opts, int argc, char **argv, int *i, const char *who,
                         FILE *err);

/* The run the lifecycle warnings of the recipe at `path` speak of: the
 * options resolved against the recipe (whose schedule lengthens a training
 * loop), or without it when it does not load (its errors are reported
 * anyway). */
ms_lint_run ms_run_options_lint_run(const ms_run_options *opts, const char *path,
                                    const char *stage);
/* The same for recipe text read elsewhere (standard input), `file` its name. */
ms_lint_run ms_run_options_lint_run_text(const ms_run_options *opts, const char *text, size_t len,
                                         const char *file, const char *stage);

/* The usage lines of the run options. */
void ms_run_options_usage(FILE *out);

#endif
