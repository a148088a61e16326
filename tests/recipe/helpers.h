/* Shared by the recipe tests: check recipe text held in a string. */
#ifndef MS_TEST_RECIPE_HELPERS_H
#define MS_TEST_RECIPE_HELPERS_H

#include <string.h>

#include "recipe/lint.h"

/* Parses and checks `text` for `run` (NULL: the default run); returns the
 * parse status, diagnostics in `out`. */
static inline ms_status check_text_for(const ms_schema *schema, const char *text, const char *file,
                                       const char *stage, const ms_lint_run *run, ms_diag_list *out)
{
    ms_diag diag;
    ms_doc *doc;
    ms_recipe *r;
    ms_status st =
        ms_recipe_parse_doc(text, strlen(text), file, ms_recipe_format_of(file), &doc, &diag);
    if (st == MS_OK)
        st = ms_recipe_from_doc(doc, stage, &r, &diag);
    if (st != MS_OK) {
        ms_diag_list_add(out, &diag);
        return st;
    }
    ms_lint_run fallback = ms_lint_default_run();
    st = ms_lint_recipe_for(schema, r, run ? run : &fallback, out);
    ms_recipe_free(r);
    return st;
}

static inline ms_status check_text(const ms_schema *schema, const char *text, const char *file,
                                   const char *stage, ms_diag_list *out)
{
    return check_text_for(schema, text, file, stage, NULL, out);
}

/* The first diagnostic with `code`, or NULL. */
static inline const ms_diag *find_code(const ms_diag_list *list, const char *code)
{
    for (size_t i = 0; i < list->count; i++)
        if (!strcmp(list->items[i].code, code))
            return &list->items[i];
    return NULL;
}

#endif
