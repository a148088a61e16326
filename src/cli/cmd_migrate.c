/* modsim migrate OLD -o NEW | -o - | --in-place: rewrites a SparseML-era
 * recipe, or one with fields llm-compressor renamed or removed, in upstream's
 * current names and layout, keeping comments and order. Prints each change
 * (to stderr when the recipe goes to stdout). Exit 0: everything carried;
 * 1: something could not be carried (NEW is still written); 2: unusable input
 * or a file that cannot be written. OLD is never overwritten without
 * --in-place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../recipe/migrate.h"
#include "../recipe/recipe.h"
#include "../util/atomic.h"
#include "args.h"
#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: modsim migrate OLD -o NEW     (NEW '-': standard output)\n"
                 "       modsim migrate OLD --in-place\n");
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int ms_cmd_migrate(int argc, char **argv)
{
    const char *who = "modsim migrate", *old = NULL, *output = NULL, *v;
    bool in_place = false, options_end = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_end || a[0] != '-' || !a[1]) {
            if (old) {
                fprintf(stderr, "%s: one recipe at a time ('%s' and '%s')\n", who, old, a);
                usage(stderr);
                return 2;
            }
            old = a;
        } else if (!strcmp(a, "--")) {
            options_end = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (ms_args_option(argc, argv, &i, "-o", &v, who, stderr)) {
            if (!v)
                return 2;
            if (output) {
                fprintf(stderr, "%s: -o is given twice ('%s' and '%s')\n", who, output, v);
                return 2;
            }
            output = v;
        } else if (!strcmp(a, "--in-place")) {
            in_place = true;
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", who, a);
            usage(stderr);
            return 2;
        }
    }
    if (!old || (!output && !in_place) || (output && in_place)) {
        if (old && !output && !in_place)
            fprintf(stderr,
                    "modsim migrate: give -o NEW (or -o - for standard output); "
                    "--in-place rewrites %s itself\n",
                    old);
        usage(stderr);
        return 2;
    }
    if (output && strcmp(output, "-") && same_file(old, output)) {
        fprintf(stderr, "modsim migrate: -o %s is %s itself; use --in-place to rewrite it\n",
                output, old);
        return 2;
    }
    if (in_place)
        output = old;
    ms_diag diag;
    ms_diag_clear(&diag);
    char *text = NULL;
    size_t len = 0;
    ms_schema *schema = NULL;
    ms_migration *m = NULL;
    ms_status st = ms_schema_new(&schema, &diag);
    if (st == MS_OK)
        st = ms_read_file(old, MS_RECIPE_MAX_BYTES, &text, &len, &diag);
    if (st == MS_OK)
        st = ms_migrate(schema, text, len, old, &m, &diag);
    int rc = 2;
    if (st != MS_OK) {
        ms_diag_print(&diag, stderr);
    } else {
        bool to_stdout = !strcmp(output, "-");
        FILE *log = to_stdout ? stderr : stdout;
        for (size_t i = 0; i < m->count; i++)
            fprintf(log, "%s:%d:%d: %s\n", old, m->notes[i].line, m->notes[i].col,
                    m->notes[i].text);
        if (to_stdout)
            st = fwrite(m->text, 1, m->len, stdout) == m->len && fflush(stdout) == 0 ? MS_OK
                                                                                     : MS_ERR_IO;
        else
            st = ms_atomic_write(output, m->text, m->len, &diag);
        if (st != MS_OK) {
            if (diag.message[0])
                ms_diag_print(&diag, stderr);
            else
                fprintf(stderr, "modsim migrate: cannot write the recipe to standard output\n");
        } else {
            size_t changes = m->count - m->not_carried;
            fprintf(log, "%s: %zu change%s, %zu not carried%s%s\n", old, changes,
                    changes == 1 ? "" : "s", m->not_carried, to_stdout ? "" : "; wrote ",
                    to_stdout ? "" : output);
            rc = m->not_carried ? 1 : 0;
        }
    }
    ms_migration_free(m);
    free(text);
    ms_schema_free(schema);
    return rc;
}
