/* modsim migrate: rewrites a SparseML-era recipe, or one with fields
 * llm-compressor later renamed or removed (src/recipe/renames.c), into the
 * layout and names upstream reads now. The rewrite edits the YAML text where
 * the parsed document's positions point, so comments and order stay. */
#ifndef MS_MIGRATE_H
#define MS_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/status.h"
#include "schema.h"

typedef struct ms_migrate_note {
    int line, col; /* in the old file */
    bool carried;  /* false: something the new recipe does not do as the old one did */
    size_t seq;    /* order of finding, after line and column */
    char text[512];
} ms_migrate_note;

typedef struct ms_migration {
    char *text; /* the new recipe, NUL-terminated */
    size_t len;
    ms_migrate_note *notes; /* every change, in the old file's order */
    size_t count;
    size_t not_carried; /* notes with carried == false */
} ms_migration;

/* Migrates `len` bytes of YAML named `file`. Input that is not YAML (or not
 * a map) fails with its diagnostic; anything else yields a migration, maybe
 * with nothing changed. */
ms_status ms_migrate(const ms_schema *schema, const char *text, size_t len, const char *file,
                     ms_migration **out, ms_diag *diag);

void ms_migration_free(ms_migration *m);

#endif
