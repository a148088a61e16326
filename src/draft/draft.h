/* A draft: the editable recipe, as a list of modifiers (each in a stage and
 * a group, with its arguments as a tree of values) that can be edited,
 * undone, redone, checked and saved.
 *
 * Every edit is one command on an undo stack; a new edit clears the redo
 * stack. The draft is dirty when its state differs from the last one
 * saved (or loaded), also after undoing past the save. After every edit the
 * draft is written through the exporter, parsed back and checked with the
 * schema and the lint rules; the diagnostics name the modifier and field.
 *
 * Stages and groups keep their keys ("train_stage", "pruning_modifiers") and
 * stay contiguous: a modifier moved past the edge of its group joins the
 * neighbouring group. A group holds at most one modifier of each type (a
 * YAML map has unique keys), so a copy or an added modifier whose type the
 * group already has goes into a new group beside it. */
#ifndef MS_DRAFT_H
#define MS_DRAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../recipe/lint.h"
#include "../recipe/recipe.h"
#include "../recipe/schema.h"
#include "../util/status.h"

typedef struct ms_draft ms_draft;

/* A draft holding a copy of what `recipe` selects (the schema is
 * borrowed: keep it alive). `file` names the text in diagnostics. */
ms_status ms_draft_new(const ms_schema *schema, const ms_recipe *recipe, const char *file,
                       ms_draft **out, ms_diag *diag);
void ms_draft_free(ms_draft *s);

size_t ms_draft_count(const ms_draft *s);
const char *ms_draft_type(const ms_draft *s, size_t i);
/* The stage and group as named in the tree: keys without "_stage" and
 * "_modifiers". */
const char *ms_draft_stage(const ms_draft *s, size_t i);
const char *ms_draft_group(const ms_draft *s, size_t i);
/* The arguments (usually a map; NULL past the end). */
const ms_node *ms_draft_args(const ms_draft *s, size_t i);

/* ---- edits: each is one undoable command; `*index` (may be NULL) is where
 * the modifier edited now is ---- */

/* Adds a modifier of `type` (a schema modifier type) with no arguments after
 * modifier `after` (SIZE_MAX or past the end: at the end). */
ms_status ms_draft_add(ms_draft *s, size_t after, const char *type, size_t *index, ms_diag *diag);
ms_status ms_draft_delete(ms_draft *s, size_t i, ms_diag *diag);
ms_status ms_draft_duplicate(ms_draft *s, size_t i, size_t *index, ms_diag *diag);
/* `up` true moves towards the start. */
ms_status ms_draft_move(ms_draft *s, size_t i, bool up, size_t *index, ms_diag *diag);
/* Sets field `field` of modifier `i` to the YAML value `text` ("0.5",
 * "[Linear]", "W4A16"); empty text removes the field (its default applies).
 * Refuses text that is not one YAML value; schema problems do not stop the
 * edit (they show in the diagnostics). */
/* Renames field `field` of modifier `i` to `to`, keeping its value and place,
 * as one undoable edit; refused when `to` is already given. */
ms_status ms_draft_rename_field(ms_draft *s, size_t i, const char *field, const char *to,
                                ms_diag *diag);
ms_status ms_draft_set_field(ms_draft *s, size_t i, const char *field, const char *text,
                             ms_diag *diag);

bool ms_draft_can_undo(const ms_draft *s);
bool ms_draft_can_redo(const ms_draft *s);
/* What undo (redo) would revert (repeat): "set start of 0 MagnitudePruningModifier". */
const char *ms_draft_undo_label(const ms_draft *s);
const char *ms_draft_redo_label(const ms_draft *s);
/* MS_ERR_INVALID when there is nothing to undo (redo). `*index`: the
 * modifier the command touched. */
ms_status ms_draft_undo(ms_draft *s, size_t *index, ms_diag *diag);
ms_status ms_draft_redo(ms_draft *s, size_t *index, ms_diag *diag);

bool ms_draft_dirty(const ms_draft *s);

/* ---- text, saving, checking ---- */

/* The draft as recipe text (the exporter's layout); `*text` is malloc'd. */
ms_status ms_draft_text(const ms_draft *s, char **text, size_t *len);
/* The text the draft was read from (YAML), holding the draft's modifiers as
 * they are now: saving then writes the edits back into it and keeps
 * everything else as written (comments, blank lines, the order and quoting
 * of untouched keys). Each modifier keeps its block of the text through
 * moves; a copy or an added one has none. Text that does not parse is
 * ignored (saving writes the exporter's layout). */
ms_status ms_draft_set_source(ms_draft *s, const char *text, size_t len);
/* What a save writes: the source with the edited fields rewritten and the
 * modifiers' blocks deleted, moved or added where the draft has them (only
 * the groups that changed are rebuilt; line ends and a missing final newline
 * kept), provided the text reads back as the draft. Otherwise (no source,
 * flow style where it changed, a source that is not the draft's) the
 * exporter's layout, with `why` (cap bytes) saying why ("" when the source
 * was kept). `*text` is malloc'd. */
ms_status ms_draft_save_text(const ms_draft *s, char **text, size_t *len, char *why, size_t cap);
/* Writes that text to `path` (through a temporary file beside it, so a
 * failed write leaves the old file), marks the state saved, and makes the
 * saved text the source of the next save. */
ms_status ms_draft_save(ms_draft *s, const char *path, ms_diag *diag);
/* Why the last save wrote the exporter's layout; "" when it kept the text. */
const char *ms_draft_save_layout(const ms_draft *s);
/* A recipe parsed from the text as `modsim` loads files (strict), for a
 * simulation of the edited draft. */
ms_status ms_draft_recipe(const ms_draft *s, ms_recipe **out, ms_diag *diag);

/* One problem of the current draft, at a modifier (-1: outside one) and
 * a field ("" when the modifier as a whole). */
typedef struct ms_draft_diag {
    ms_diag diag;
    int modifier;
    char field[64];
} ms_draft_diag;

/* The run the lifecycle warnings speak of (default: oneshot() as upstream
 * runs it); checks the draft again for it. */
ms_status ms_draft_set_run(ms_draft *s, const ms_lint_run *run);

/* The diagnostics of the draft as it is now (re-checked after every
 * edit), errors and warnings in draft order. */
size_t ms_draft_diag_count(const ms_draft *s);
const ms_draft_diag *ms_draft_diag_at(const ms_draft *s, size_t i);

/* ---- forms ---- */

/* One row of a modifier's form: the schema's fields in order, then any
 * field the modifier gives that the schema does not know. */
typedef struct ms_form_field {
    ms_schema_field schema; /* zeroed but for the name when unknown */
    bool known;             /* listed by the schema */
    bool set;               /* given by the modifier */
    char *value;            /* the value in flow YAML; "" when not set */
    char hint[192];         /* "number|null, 0 <= x <= 1, default 0.8" or "W4A16|W8A8|..." */
} ms_form_field;

typedef struct ms_form {
    char type[96];
    size_t modifier;
    ms_form_field *fields;
    size_t count;
} ms_form;

/* The form of modifier `i`; free with ms_form_free. */
ms_status ms_draft_form(const ms_draft *s, size_t i, ms_form *out);
void ms_form_free(ms_form *form);

/* Checks `text` typed for field `field` of modifier type `type`: MS_OK, or
 * an error whose message says what is wrong and hint what would be valid
 * (not a YAML value, wrong type, out of bounds, not in the enum, required
 * and empty). */
ms_status ms_form_check(const ms_schema *schema, const char *type, const char *field,
                        const char *text, ms_diag *diag);

/* The enum value after (`step` 1) or before (-1) `current` in the field's
 * list, the first (last) when `current` is not in it; false when the field
 * has no enum. */
bool ms_form_enum_cycle(const ms_form_field *field, const char *current, int step, char *out,
                        size_t cap);

#endif
