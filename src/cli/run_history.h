/* Recording a command's run in the history, as modsim trace --record and
 * modsim run do it: which file (--history PATH, --no-history, the default),
 * the recipe texts a run is kept with, and a history that cannot be used
 * turning recording off with one warning while the run goes on. */
#ifndef MS_RUN_HISTORY_H
#define MS_RUN_HISTORY_H

#include <stdbool.h>

#include "../history/history.h"
#include "../recipe/recipe.h"

/* The history file a run is recorded to; path NULL: none. */
typedef struct ms_recording {
    const char *path;
    char buf[1024];
} ms_recording;

/* Sets rec->path from what the options said: nothing when `no_history` or
 * not `record`, else `path`, else the default file (a warning from `who`
 * when there is none). */
void ms_recording_choose(ms_recording *rec, const char *path, bool record, bool no_history,
                         const char *who);

/* Opens the history and starts the run; NULL (with *h NULL) when recording
 * is off or the history cannot be used, which is said once on stderr. */
ms_history_run *ms_recording_begin(const ms_recording *rec, const ms_history_settings *s,
                                   const ms_lifecycle *lc, const char *who, ms_history **h);

/* Ends the run with `status` and closes the history; a write that failed is
 * said as a warning. Both may be NULL. */
void ms_recording_end(ms_history *h, ms_history_run *run, ms_history_status status,
                      const char *who);

/* The file as the user wrote it; NULL when it cannot be read again (the run
 * is then kept without it). */
char *ms_recording_read_text(const char *path);

/* The recipe in upstream layout, malloc'd in *text. */
ms_status ms_recording_upstream_text(const ms_recipe *r, char **text, ms_diag *diag);

/* What `modsim history replay ID` runs: the terminal UI on run `id` of the
 * history at `path` (the program sets it; NULL: a modsim without the UI).
 * Returns the exit status. */
extern int (*ms_history_replay_hook)(const char *path, long long id);

#endif
