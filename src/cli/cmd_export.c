/* modsim export RECIPE [--stage S] [-o OUT]: the recipe in upstream's layout.
 * A recipe with errors is not exported: its diagnostics go to stderr (exit 1,
 * or 2 for unusable input); warnings go to stderr and the export proceeds. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../recipe/export.h"
#include "../recipe/lint.h"
#include "../util/atomic.h"
#include "args.h"
#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: modsim export RECIPE [--stage NAME] [-o OUT [--force]]\n"
                 "The export is normalised to upstream's layout: comments, blank lines, key\n"
                 "order and quoting are not kept. -o naming RECIPE itself needs --force.\n");
}

static const char *limit_text(ms_status st)
{
    return st == MS_ERR_LIMIT ? "with its aliases expanded, the export would be larger than 64 MiB"
                              : ms_status_str(st);
}

/* To stdout, or to `path` through a temporary file renamed over it when
 * complete, so a failed export leaves the old file as it was. */
static int export_to(const ms_schema *schema, const ms_recipe *r, const char *path)
{
    ms_diag diag;
    ms_diag_clear(&diag);
    if (!path) {
        ms_status st = ms_export_recipe(schema, r, stdout);
        if (st == MS_OK && fflush(stdout) != 0)
            st = MS_ERR_IO;
        if (st != MS_OK) {
            fprintf(stderr, "modsim export: cannot write the recipe to standard output: %s\n",
                    st == MS_ERR_IO ? strerror(errno) : limit_text(st));
            return 2;
        }
        return 0;
    }
    ms_atomic_file *f;
    FILE *out;
    ms_status st = ms_atomic_open(path, &f, &out, &diag);
    if (st == MS_OK) {
        st = ms_export_recipe(schema, r, out);
        if (st == MS_OK)
            st = ms_atomic_commit(f, &diag);
        else
            ms_atomic_abort(f);
    }
    if (st != MS_OK) {
        if (!diag.message[0])
            ms_diag_set(&diag, st, st == MS_ERR_LIMIT ? "E-SIZE" : "E-IO", path, 0, 0,
                        "cannot write %s: %s", path,
                        st == MS_ERR_IO ? strerror(errno) : limit_text(st));
        ms_diag_print(&diag, stderr);
        return 2;
    }
    return 0;
}

int ms_cmd_export(int argc, char **argv)
{
    const char *who = "modsim export", *recipe = NULL, *stage = NULL, *output = NULL, *v;
    bool options_end = false, force = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_end || a[0] != '-') {
            if (recipe) {
                fprintf(stderr, "%s: one recipe at a time ('%s' and '%s')\n", who, recipe, a);
                usage(stderr);
                return 2;
            }
            recipe = a;
        } else if (!strcmp(a, "--")) {
            options_end = true;
        } else if (!strcmp(a, "--force")) {
            force = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (ms_args_option(argc, argv, &i, "--stage", &v, who, stderr)) {
            if (!v)
                return 2;
            stage = v;
        } else if (ms_args_option(argc, argv, &i, "-o", &v, who, stderr)) {
            if (!v)
                return 2;
            output = v;
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", who, a);
            usage(stderr);
            return 2;
        }
    }
    if (!recipe) {
        usage(stderr);
        return 2;
    }
    struct stat in_st, out_st;
    bool overwrites_input = output && stat(recipe, &in_st) == 0 && stat(output, &out_st) == 0 &&
                            in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino;
    if (overwrites_input && !force) {
        fprintf(stderr,
                "%s: -o %s is the recipe itself: the export would replace it with upstream's "
                "layout, dropping its comments, blank lines, key order and quoting\n"
                "  hint: write elsewhere, or add --force to overwrite it\n",
                who, output);
        return 2;
    }
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_schema *schema = NULL;
    ms_recipe *r = NULL;
    ms_diag_list list;
    ms_diag_list_init(&list);
    ms_status st = ms_schema_new(&schema, &diag);
    if (st != MS_OK) {
        ms_diag_print(&diag, stderr);
        return 2;
    }
    st = ms_recipe_load_checked(schema, recipe, stage, MS_CHECK_EXPORT, &r, &list);
    if (st == MS_OK && ms_recipe_count(r) == 0) {
        /* upstream would load an empty modifier list; an empty export is a mistake */
        if (stage)
            ms_diag_set(&diag, MS_ERR_INVALID, "E-NO-MODIFIERS", recipe, 0, 0,
                        "nothing to export: the stages --stage '%s' selects have no modifiers",
                        stage);
        else
            ms_diag_set(&diag, MS_ERR_INVALID, "E-NO-MODIFIERS", recipe, 0, 0,
                        "nothing to export: the recipe has no modifiers");
        ms_diag_hint(&diag, "add a '*_modifiers' group with a modifier to a '*_stage' map");
        st = ms_diag_list_add(&list, &diag) == MS_OK ? MS_ERR_INVALID : MS_ERR_NOMEM;
    }
    for (size_t i = 0; i < list.count; i++)
        ms_diag_print(&list.items[i], stderr);
    if (ms_diag_list_dropped(&list))
        fprintf(stderr, "... and %zu more diagnostics, not shown (only the first %d are kept)\n",
                ms_diag_list_dropped(&list), MS_DIAG_LIST_MAX);
    const char *code = list.count ? list.items[list.count - 1].code : "";
    int rc = st == MS_OK ? export_to(schema, r, output)
             : st == MS_ERR_IO || st == MS_ERR_LIMIT || st == MS_ERR_NOMEM ||
                     !strcmp(code, "E-BINARY") || !strcmp(code, "E-ENCODING")
                 ? 2
                 : 1;
    if (rc == 0 && overwrites_input)
        fprintf(stderr, "%s: %s rewritten in upstream's layout (comments and key order not kept)\n",
                who, output);
    ms_diag_list_free(&list);
    ms_recipe_free(r);
    ms_schema_free(schema);
    return rc;
}
