/* libFuzzer: YAML text through modsim migrate (parse with local tags kept,
 * the SparseML and rename rewrites, the text edits), then the result through
 * the parser again, as `modsim migrate` and a later `validate` run them. */
#include "fuzz.h"
#include "recipe/migrate.h"
#include "recipe/schema.h"
#include "util/doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ms_schema *schema;
    ms_diag diag;
    if (!schema && ms_schema_new(&schema, &diag) != MS_OK)
        abort();
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    ms_migration *m = NULL;
    if (ms_migrate(schema, text, size, "fuzz.yaml", &m, &diag) == MS_OK) {
        ms_doc *doc = NULL;
        if (ms_doc_parse(m->text, m->len, "new.yaml", &doc, &diag) == MS_OK)
            ms_doc_free(doc);
    }
    ms_migration_free(m);
    free(text);
    return 0;
}
