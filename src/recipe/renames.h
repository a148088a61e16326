/* Names llm-compressor (and SparseML before it) renamed or removed: one table
 * that `modsim migrate` rewrites recipes with and that the schema validator
 * names in its unknown-field and unknown-type errors. */
#ifndef MS_RENAMES_H
#define MS_RENAMES_H

#include <stdbool.h>

#include "../util/doc.h"

/* What becomes of a value under its old name. */
typedef enum {
    MS_CARRY_SAME,     /* renamed: the value means the same under the new name */
    MS_CARRY_IGNORED,  /* removed; it did nothing by then, so dropping it is faithful */
    MS_CARRY_IF_VALUE, /* removed; faithful to drop only when it is `value` (else not carried) */
    MS_CARRY_NOT,      /* removed; what it did has no recipe equivalent */
} ms_carry;

typedef struct ms_rename {
    const char *type;     /* the (new) modifier type the field belongs to; NULL for a type rename */
    const char *old_name; /* a field, or for a type rename the old type */
    const char *new_name; /* NULL when removed */
    const char *release;  /* first llm-compressor release with the change ("0.8.0") */
    ms_carry carry;
    const char *value; /* MS_CARRY_IF_VALUE: the value that may be dropped ("true") */
    const char *note;  /* why, or where the setting went; may be NULL */
} ms_rename;

/* The entry for field `name` of modifier `type`, or NULL. */
const ms_rename *ms_rename_field(const char *type, const char *name);

/* The entry for modifier type `name` (an old type name), or NULL. */
const ms_rename *ms_rename_type(const char *name);

/* Whether `value` is the one a MS_CARRY_IF_VALUE entry may drop (booleans
 * as pydantic reads them); always true for MS_CARRY_IGNORED. */
bool ms_rename_value_droppable(const ms_rename *r, const ms_node *value);

/* The message naming the change, for diagnostics and migrate:
 * "percdamp was renamed dampening_frac in llm-compressor 0.1.0". */
void ms_rename_describe(const ms_rename *r, char *buf, size_t cap);

#endif
