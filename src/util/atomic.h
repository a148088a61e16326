/* Files written whole or not at all. The data goes to a file in the target's
 * folder that has no name yet (O_TMPFILE; a named temporary file where the
 * file system has no such files), is flushed to disk, and only then takes the
 * target's name in one rename. Killed midway, out of space, or refused, the
 * previous file is intact and nothing is left behind (with O_TMPFILE, not even
 * after kill -9). Only a regular file, or nothing, is ever replaced; a link is
 * followed to the file it names. */
#ifndef MS_ATOMIC_H
#define MS_ATOMIC_H

#include <stddef.h>
#include <stdio.h>

#include "status.h"

typedef struct ms_atomic_file ms_atomic_file;

/* Starts writing `path`: `*stream` takes the data. Errors (E-IO) name the
 * file and the reason. */
ms_status ms_atomic_open(const char *path, ms_atomic_file **out, FILE **stream, ms_diag *diag);

/* Flushes, syncs and names the file `path`, replacing the old one; frees `f`
 * whatever happens (on failure the old file stays as it was). */
ms_status ms_atomic_commit(ms_atomic_file *f, ms_diag *diag);

/* Drops what was written; the old file stays. Frees `f`; NULL is a no-op. */
void ms_atomic_abort(ms_atomic_file *f);

/* All of `data` as the new content of `path`. */
ms_status ms_atomic_write(const char *path, const void *data, size_t len, ms_diag *diag);

#endif
