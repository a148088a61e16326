/* Which llm-compressor release the engine follows. A lifecycle has one
 * profile for its whole run (ms_lifecycle_set_upstream); 0.12 is the default.
 *
 * 0.12: upstream before commit 715e1166c (revision 715e1166c~1).
 * 0.13: upstream at ab1ba3eff: calibration events renamed (calibration_start,
 *       calibration_end), the base Modifier.update_event handles them for
 *       every type, and the hooks on_calibration_start, on_sequential_epoch_end
 *       and on_calibration_end exist. */
#ifndef MS_UPSTREAM_H
#define MS_UPSTREAM_H

#include <stdbool.h>

typedef enum { MS_UPSTREAM_0_12, MS_UPSTREAM_0_13, MS_UPSTREAM_COUNT } ms_upstream;

#define MS_UPSTREAM_DEFAULT MS_UPSTREAM_0_12
/* For diagnostics: the values ms_upstream_parse accepts. */
#define MS_UPSTREAM_VALID "\"0.12\" (default), \"0.13\""

/* "0.12", "0.13" */
const char *ms_upstream_name(ms_upstream profile);
/* Parses "0.12" or "0.13"; false otherwise. */
bool ms_upstream_parse(const char *text, ms_upstream *out);

#endif
