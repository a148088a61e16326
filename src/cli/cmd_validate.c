/* modsim validate RECIPE... (`-`: standard input): every problem of every recipe, as
 * "file:line:col: error|warning CODE: message" plus a hint line, or one JSON
 * document with --format json. Exit 0 clean, 1 errors, 2 unusable input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../recipe/lint.h"
#include "../util/codes.h"
#include "../util/json.h"
#include "../world/model_errors.h"
#include "args.h"
#include "cli.h"
#include "run_options.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: modsim validate [--format text|json] [--stage NAME] [--model M]\n"
                 "                       [RUN OPTIONS] RECIPE...\n"
                 "       modsim validate --explain [CODE] [--format text|json]\n"
                 "RECIPE '-' is standard input; options may follow the recipes, and take\n"
                 "--name=value too. The lifecycle warnings (never starts, never ends, finalize\n"
                 "ends it) are true of the run the options choose.\n"
                 "  --model M            the model targets are matched against (default tiny):\n"
                 "                       a target matching no module warns\n"
                 "                       (W-TARGET-UNMATCHED)\n");
    ms_run_options_usage(out);
}

/* Writes `text` word-wrapped to lines of at most `width` columns, each
 * indented by `indent`. */
static void print_wrapped(const char *text, int indent, int width)
{
    int col = 0;
    for (const char *p = text; *p;) {
        p += strspn(p, " ");
        int len = (int)strcspn(p, " ");
        if (!len)
            break;
        if (col > indent && col + 1 + len > width) {
            putchar('\n');
            col = 0;
        }
        col += col ? printf(" ") : printf("%*s", indent, "");
        col += printf("%.*s", len, p);
        p += len;
    }
    if (col)
        putchar('\n');
}

static void json_code(const ms_code_info *c)
{
    printf("{\"code\": ");
    ms_json_fput_string(stdout, c->code);
    printf(", \"severity\": \"%s\", \"area\": ", ms_severity_name(c->severity));
    ms_json_fput_string(stdout, c->area);
    printf(", \"summary\": ");
    ms_json_fput_string(stdout, c->summary);
    printf(", \"explanation\": ");
    if (c->explanation)
        ms_json_fput_string(stdout, c->explanation);
    else
        printf("null");
    printf("}");
}

/* --explain CODE: the registry's entry; --explain alone: every code. */
static int explain(const char *code, bool json)
{
    if (!code) {
        if (json)
            printf("[");
        for (size_t i = 0; i < ms_code_count(); i++) {
            const ms_code_info *c = ms_code_at(i);
            if (json) {
                printf("%s\n  ", i ? "," : "");
                json_code(c);
            } else {
                printf("%-20s %-7s %-8s %s\n", c->code, ms_severity_name(c->severity), c->area,
                       c->summary);
            }
        }
        if (json)
            printf("\n]\n");
        return 0;
    }
    const ms_code_info *c = ms_code_find(code);
    if (!c) {
        fprintf(stderr,
                "modsim validate: no diagnostic code '%s'\n  hint: did you mean '%s'? "
                "(modsim validate --explain lists them all)\n",
                code, ms_code_nearest(code));
        return 2;
    }
    if (json) {
        json_code(c);
        printf("\n");
        return 0;
    }
    printf("%s (%s, %s): %s\n", c->code, ms_severity_name(c->severity), c->area, c->summary);
    if (c->explanation) {
        putchar('\n');
        print_wrapped(c->explanation, 2, 78);
    }
    return 0;
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

/* The targets of a recipe that loads without errors, against `model`. */
static ms_status check_targets(const ms_model *model, const char *model_name, const char *path,
                               const char *text, size_t len, const char *stage, ms_diag_list *out)
{
    if (ms_diag_list_count(out, MS_SEV_ERROR))
        return MS_OK;
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_recipe *r = NULL;
    ms_status st = text ? ms_recipe_parse(text, len, path, 0, 0, stage, &r, &diag)
                        : ms_recipe_load_file(path, stage, &r, &diag);
    size_t before = out->count;
    if (st == MS_OK)
        st = ms_world_check_targets(model, model_name, r, out);
    if (out->count != before)
        ms_diag_list_sort(out); /* in line order with the lint's */
    ms_recipe_free(r);
    /* what does not load was reported by the lint */
    return st == MS_ERR_NOMEM ? st : MS_OK;
}

/* Checks one recipe, `-` standard input. */
static ms_status validate_one(ms_schema *schema, const char *path, const char *stage,
                              const ms_run_options *opts, const ms_model *model,
                              const char *model_name, ms_diag_list *out)
{
    if (strcmp(path, "-")) {
        ms_lint_run run = ms_run_options_lint_run(opts, path, stage);
        ms_status st = ms_schema_set_upstream(schema, ms_upstream_name(run.upstream));
        if (st == MS_OK)
            st = ms_lint_file_for(schema, path, stage, &run, out);
        if (st == MS_OK)
            st = check_targets(model, model_name, path, NULL, 0, stage, out);
        return st;
    }
    ms_diag diag;
    ms_diag_clear(&diag);
    char *text;
    size_t len;
    ms_status st = ms_read_stdin(MS_RECIPE_MAX_BYTES, &text, &len, &diag);
    if (st != MS_OK)
        return ms_diag_list_add(out, &diag) == MS_OK ? st : MS_ERR_NOMEM;
    ms_lint_run run = ms_run_options_lint_run_text(opts, text, len, MS_STDIN_NAME, stage);
    st = ms_schema_set_upstream(schema, ms_upstream_name(run.upstream));
    /* no extension: read as upstream reads a recipe string, JSON then YAML */
    if (st == MS_OK)
        st = ms_lint_text_for(schema, text, len, MS_STDIN_NAME, MS_FORMAT_AUTO, stage, &run, out);
    if (st == MS_OK)
        st = check_targets(model, model_name, MS_STDIN_NAME, text, len, stage, out);
    free(text);
    return st;
}

int ms_cmd_validate(int argc, char **argv)
{
    const char *who = "modsim validate";
    bool json = false, explaining = false, options_end = false;
    const char *stage = NULL, *code = NULL, *model_name = "tiny", *v;
    ms_model *model = NULL;
    ms_run_options opts = ms_run_options_defaults();
    /* the recipes, in the order given, with the options anywhere among them */
    const char **files = malloc((size_t)argc * sizeof *files);
    int nfiles = 0, r, rc = 2;
    if (!files) {
        fprintf(stderr, "%s: out of memory\n", who);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_end || a[0] != '-' || !strcmp(a, "-")) {
            files[nfiles++] = a;
        } else if (!strcmp(a, "--")) {
            options_end = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            rc = 0;
            goto done;
        } else if (ms_args_option(argc, argv, &i, "--format", &v, who, stderr)) {
            if (!v)
                goto done;
            if (strcmp(v, "json") && strcmp(v, "text")) {
                fprintf(stderr, "%s: --format takes text or json, not '%s'\n", who, v);
                goto done;
            }
            json = !strcmp(v, "json");
        } else if (ms_args_option(argc, argv, &i, "--stage", &v, who, stderr)) {
            if (!v)
                goto done;
            stage = v;
        } else if (ms_args_option(argc, argv, &i, "--model", &v, who, stderr)) {
            if (!v)
                goto done;
            model_name = v;
        } else if ((r = ms_run_options_parse(&opts, argc, argv, &i, who, stderr)) != 0) {
            if (r < 0)
                goto done;
        } else if (!strncmp(a, "--explain=", 10)) {
            explaining = true;
            code = a + 10;
        } else if (!strcmp(a, "--explain")) {
            explaining = true;
            if (i + 1 < argc && argv[i + 1][0] != '-')
                code = argv[++i];
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", who, a);
            usage(stderr);
            goto done;
        }
    }
    if (explaining && nfiles) {
        usage(stderr);
        goto done;
    }
    if (explaining) {
        rc = explain(code, json);
        goto done;
    }
    if (!nfiles) {
        usage(stderr);
        goto done;
    }
    ms_diag diag;
    ms_diag_clear(&diag);
    if (ms_model_open(model_name, &model, &diag) != MS_OK) {
        ms_diag_print(&diag, stderr);
        goto done;
    }
    ms_schema *schema;
    if (ms_schema_new(&schema, &diag) != MS_OK) {
        ms_diag_print(&diag, stderr);
        goto done;
    }
    ms_diag_list all;
    ms_diag_list_init(&all);
    bool bad_input = false;
    for (int i = 0; i < nfiles; i++) {
        ms_diag_list one;
        ms_diag_list_init(&one);
        ms_status st = validate_one(schema, files[i], stage, &opts, model, model_name, &one);
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
        printf("%s]", all.count ? "\n  " : "");
        if (ms_diag_list_dropped(&all))
            printf(",\n  \"not_shown\": %zu", ms_diag_list_dropped(&all));
        printf("\n}\n");
    } else {
        for (size_t i = 0; i < all.count; i++)
            ms_diag_print(&all.items[i], stdout);
        if (ms_diag_list_dropped(&all))
            printf("... and %zu more diagnostics, not shown (only the first %d are kept)\n",
                   ms_diag_list_dropped(&all), MS_DIAG_LIST_MAX);
    }
    ms_diag_list_free(&all);
    ms_schema_free(schema);
    rc = bad_input ? 2 : errors ? 1 : 0;
done:
    free(files);
    ms_model_free(model);
    return rc;
}
