/* modsim validate RECIPE...: every problem of every recipe, as
 * "file:line:col: error|warning CODE: message" plus a hint line, or one JSON
 * document with --format json. Exit 0 clean, 1 errors, 2 unusable input. */
#include <stdio.h>
#include <string.h>

#include "../recipe/codes.h"
#include "../recipe/lint.h"
#include "../util/json.h"
#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: modsim validate [--format text|json] [--stage NAME] RECIPE...\n"
                 "       modsim validate --explain CODE   what a diagnostic code means\n");
}

static void json_diag(FILE *o, const ms_diag *d, bool first)
{
    fprintf(o, "%s\n    {\"file\": ", first ? "" : ",");
    ms_json_fput_string(o, d->file);
    fprintf(o, ", \"line\": %d, \"col\": %d, \"severity\": \"%s\", \"code\": ", d->line, d->col,
            ms_severity_name(d->severity));
    ms_json_fput_string(o, d->code);
    fputs(", \"message\": ", o);
    ms_json_fput_string(o, d->message);
    fputs(", \"hint\": ", o);
    ms_json_fput_string(o, d->hint);
    fputc('}', o);
}

/* Input that is not a readable text file, rather than a recipe with problems. */
static bool unusable(ms_status st, const ms_diag_list *list)
{
    if (st == MS_ERR_IO || st == MS_ERR_LIMIT || st == MS_ERR_NOMEM)
        return true;
    const char *code = list->count ? list->items[list->count - 1].code : "";
    return st != MS_OK && (!strcmp(code, "E-BINARY") || !strcmp(code, "E-ENCODING"));
}

/* Prints a code's summary and paragraph from the registry; 2 for an unknown code. */
static int explain(const char *code)
{
    const ms_code_info *c = ms_code_find(code);
    if (!c) {
        const char *near = ms_code_nearest(code);
        fprintf(stderr, "modsim validate: unknown diagnostic code '%s'", code);
        if (near)
            fprintf(stderr, "; did you mean '%s'?\n", near);
        else
            fprintf(stderr, "; codes are listed in README.md, Recipes: Diagnostics\n");
        return 2;
    }
    printf("%s (%s): %s\n\n%s\n", c->code, ms_severity_name(c->severity), c->summary, c->text);
    return 0;
}

int ms_cmd_validate(int argc, char **argv)
{
    bool json = false;
    const char *stage = NULL;
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        const char *a = argv[first];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--format") && first + 1 < argc) {
            const char *f = argv[++first];
            if (strcmp(f, "json") && strcmp(f, "text")) {
                fprintf(stderr, "modsim validate: --format takes text or json, not '%s'\n", f);
                return 2;
            }
            json = !strcmp(f, "json");
        } else if (!strcmp(a, "--explain") && first + 1 < argc) {
            return explain(argv[first + 1]);
        } else if (!strcmp(a, "--stage") && first + 1 < argc) {
            stage = argv[++first];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (first >= argc) {
        usage(stderr);
        return 2;
    }
    ms_diag diag;
    ms_schema *schema;
    if (ms_schema_new(&schema, &diag) != MS_OK) {
        ms_diag_print(&diag, stderr);
        return 2;
    }
    ms_diag_list all;
    ms_diag_list_init(&all);
    bool bad_input = false;
    for (int i = first; i < argc; i++) {
        ms_diag_list one;
        ms_diag_list_init(&one);
        ms_status st = ms_lint_file(schema, argv[i], stage, &one);
        bad_input = bad_input || unusable(st, &one);
        if (ms_diag_list_move(&all, &one) != MS_OK)
            bad_input = true;
    }
    size_t errors = ms_diag_list_count(&all, MS_SEV_ERROR);
    size_t warnings = ms_diag_list_count(&all, MS_SEV_WARNING);
    if (json) {
        printf("{\n  \"errors\": %zu,\n  \"warnings\": %zu,\n  \"diagnostics\": [", errors,
               warnings);
        for (size_t i = 0; i < all.count; i++)
            json_diag(stdout, &all.items[i], i == 0);
        printf("%s]\n}\n", all.count ? "\n  " : "");
    } else {
        for (size_t i = 0; i < all.count; i++)
            ms_diag_print(&all.items[i], stdout);
    }
    ms_diag_list_free(&all);
    ms_schema_free(schema);
    return bad_input ? 2 : errors ? 1 : 0;
}
