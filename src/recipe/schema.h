/* The recipe schema: schemas/recipe.schema.json (JSON Schema draft 2020-12),
 * embedded into the library at build time so an installed modsim needs no
 * file beside it.
 *
 * One file is the single source of truth for the recipe layout and every
 * modifier type's fields: the validator interprets it, editors with a YAML
 * language server read it, and the TUI builds its forms from the queries
 * below. The validator understands the keywords the schema uses: type,
 * properties, patternProperties, additionalProperties, propertyNames,
 * required, enum, const, minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, minItems, maxItems, items, prefixItems, pattern (POSIX
 * extended), anyOf, oneOf, $ref to "#" or "#/$defs/NAME", and deprecated.
 * Extensions, ignored by other tools:
 *   x-ignoreCase: true   enum and propertyNames compare without case (presets)
 *   x-misplaced: {PATTERN: WHERE}  unknown keys matching PATTERN belong in WHERE
 *   x-keyKind: TEXT      what the keys of this map are ("modifier type")
 *   x-drive: "training"|"calibration"  how a modifier type is driven
 *   x-strict: true       no pydantic lax conversion: a validator sees the raw value
 *   x-internal: {$ref}   fields outside `properties` that upstream accepts but
 *                        its lifecycle owns (initialized_, ...): a warning
 *   x-removed: TEXT      a modifier type upstream no longer has: an error
 *                        (E-TYPE-REMOVED), TEXT the hint
 *   x-since: "0.N", x-until: "0.N"  the releases a type exists in (until
 *                        excluded): outside them an error (E-TYPE-VERSION)
 *   x-raises: "Kind: text {value}"  a value of the right type the schema
 *                        refuses is one upstream loads, then raises at
 *                        initialize: one E-INITIALIZE error with that text
 * A string where an integer, number or boolean is expected is converted as
 * pydantic's lax mode does ("128", "yes") and reported as a warning
 * (W-QUOTED-NUMBER, W-LAX-BOOL), since upstream loads it. */
#ifndef MS_SCHEMA_H
#define MS_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/doc.h"
#include "../util/status.h"

typedef struct ms_schema ms_schema;

/* Parses the embedded schema. */
ms_status ms_schema_new(ms_schema **out, ms_diag *diag);
/* Parses a schema from JSON text (tests; other schema files). */
ms_status ms_schema_parse(const char *text, size_t len, ms_schema **out, ms_diag *diag);
void ms_schema_free(ms_schema *schema);

/* The llm-compressor release x-since/x-until are checked against: "0.12"
 * unless set. MS_ERR_INVALID for a version that is not "0.N". */
#define MS_SCHEMA_UPSTREAM_DEFAULT_MINOR 12
ms_status ms_schema_set_upstream(ms_schema *schema, const char *version);
int ms_schema_upstream_minor(const ms_schema *schema);

/* Validates `instance` against the whole schema (root NULL) or against
 * "#/$defs/NAME" (root "NAME"). Every problem is appended to `out`, errors and
 * warnings, pointing into `file`. Fails only when memory runs out. */
ms_status ms_schema_validate(const ms_schema *schema, const char *root, const ms_node *instance,
                             const char *file, ms_diag_list *out);

/* Validates one field's value as the form of an editor holds it: against
 * field `field` of modifier type `type`, problems named "TYPE.FIELD". Nothing
 * is reported for a field the schema does not list. */
ms_status ms_schema_validate_field(const ms_schema *schema, const char *type, const char *field,
                                   const ms_node *value, const char *file, ms_diag_list *out);

/* ---- queries for editors and generated forms ---- */

size_t ms_schema_modifier_count(const ms_schema *schema);
/* Modifier type names in schema order; NULL past the end. */
const char *ms_schema_modifier_name(const ms_schema *schema, size_t i);
/* NULL when `type` is not a modifier type the schema knows. */
const char *ms_schema_modifier_description(const ms_schema *schema, const char *type);
/* Whether upstream has `type` at the release checked against (not x-removed,
 * within x-since/x-until): what an editor should offer to add. */
bool ms_schema_modifier_exists(const ms_schema *schema, const char *type);
/* "training" or "calibration" (x-drive); NULL when unknown. */
const char *ms_schema_modifier_drive(const ms_schema *schema, const char *type);
/* The known modifier type closest to `name` (edit distance). */
const char *ms_schema_modifier_nearest(const ms_schema *schema, const char *name);

/* One field of a modifier type, with $ref and anyOf branches folded in. */
typedef struct ms_schema_field {
    const char *name;
    char types[96];               /* "integer", "number|null", "string|map|null", ... */
    const char *description;      /* may be NULL */
    const ms_node *default_value; /* NULL when the schema gives none */
    const ms_node *enum_values;   /* a sequence node, or NULL */
    bool has_minimum, has_maximum;
    bool exclusive_minimum, exclusive_maximum;
    double minimum, maximum;
    bool required, deprecated;
    const ms_node *schema; /* the field's own schema, for nested forms */
} ms_schema_field;

/* Number of fields of `type` (0 when unknown), base fields first. */
size_t ms_schema_field_count(const ms_schema *schema, const char *type);
/* The field of `type` that a misspelt `name` most plausibly means (what
 * validate's "did you mean" offers), or NULL. */
const char *ms_schema_field_nearest(const ms_schema *schema, const char *type, const char *name);
/* Fills `out` with field `i` of `type`; false past the end. */
bool ms_schema_field_at(const ms_schema *schema, const char *type, size_t i, ms_schema_field *out);
/* Follows "$ref" chains from a schema node; NULL for a dangling reference. */
const ms_node *ms_schema_resolve(const ms_schema *schema, const ms_node *node);

#endif
