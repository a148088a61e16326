/* libFuzzer: recipe text through parse, modifier list and every check, as
 * `modsim validate` runs them. Built once per format: RECIPE_FORMAT is
 * MS_FORMAT_YAML, MS_FORMAT_JSON or MS_FORMAT_MARKDOWN (tests/fuzz/meson.build). */
#include "fuzz.h"
#include "recipe/lint.h"
#include "recipe/recipe.h"
#include "recipe/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ms_schema *schema;
    ms_diag diag;
    if (!schema && ms_schema_new(&schema, &diag) != MS_OK)
        abort();
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    ms_doc *doc = NULL;
    ms_recipe *recipe = NULL;
    if (ms_recipe_parse_doc(text, size, "fuzz.recipe", RECIPE_FORMAT, &doc, &diag) == MS_OK &&
        ms_recipe_from_doc(doc, NULL, &recipe, &diag) == MS_OK) {
        ms_diag_list list;
        ms_diag_list_init(&list);
        ms_lint_recipe(schema, recipe, &list);
        ms_diag_list_sort(&list);
        ms_diag_list_free(&list);
    }
    ms_recipe_free(recipe);
    free(text);
    return 0;
}
