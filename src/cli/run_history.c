/* Recording a command's run in the history. */
#include "run_history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../recipe/export.h"
#include "../recipe/schema.h"

int (*ms_history_replay_hook)(const char *path, long long id);

void ms_recording_choose(ms_recording *rec, const char *path, bool record, bool no_history,
                         const char *who)
{
    rec->path = NULL;
    if (no_history || !record)
        return;
    if (path)
        rec->path = path;
    else if (ms_history_default_path(rec->buf, sizeof rec->buf))
        rec->path = rec->buf;
    else
        fprintf(stderr,
                "%s: warning: no history file (set MODSIM_HISTORY, XDG_STATE_HOME or HOME, or "
                "use --history PATH): the run goes on without history\n",
                who);
}

/* A history that cannot be used turns recording off for this run, with one
 * warning: the run itself goes on. */
static void history_warning(const ms_diag *diag, const char *who)
{
    ms_diag w = *diag;
    w.severity = MS_SEV_WARNING;
    ms_diag_print(&w, stderr);
    fprintf(stderr, "%s: the run goes on without history\n", who);
}

ms_history_run *ms_recording_begin(const ms_recording *rec, const ms_history_settings *s,
                                   const ms_lifecycle *lc, const char *who, ms_history **h)
{
    *h = NULL;
    if (!rec || !rec->path)
        return NULL;
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_history_run *run = NULL;
    ms_status st = ms_history_open(rec->path, true, h, &diag);
    if (st == MS_OK)
        st = ms_history_run_begin(*h, s, lc, &run, &diag);
    if (st != MS_OK) {
        history_warning(&diag, who);
        ms_history_close(*h);
        *h = NULL;
    }
    return run;
}

void ms_recording_end(ms_history *h, ms_history_run *run, ms_history_status status, const char *who)
{
    if (run) {
        ms_diag diag;
        ms_diag_clear(&diag);
        if (ms_history_run_end(run, status, &diag) != MS_OK) {
            diag.severity = MS_SEV_WARNING;
            ms_diag_print(&diag, stderr);
            fprintf(stderr,
                    "%s: the history keeps the run as interrupted, with the calls written "
                    "before this\n",
                    who);
        }
    }
    ms_history_close(h);
}

char *ms_recording_read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    char buf[8192];
    size_t got;
    while (mem && (got = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, got, mem);
    bool ok = mem && !ferror(f);
    if (mem && fclose(mem) != 0)
        ok = false;
    fclose(f);
    if (!ok || strlen(text) != len) {
        free(text);
        return NULL;
    }
    return text;
}

ms_status ms_recording_upstream_text(const ms_recipe *r, char **text, ms_diag *diag)
{
    ms_schema *schema;
    ms_status st = ms_schema_new(&schema, diag);
    if (st != MS_OK)
        return st;
    size_t len;
    FILE *mem = open_memstream(text, &len);
    if (!mem) {
        ms_schema_free(schema);
        return MS_ERR_NOMEM;
    }
    st = ms_export_recipe(schema, r, mem);
    if (fclose(mem) != 0 && st == MS_OK)
        st = MS_ERR_NOMEM;
    ms_schema_free(schema);
    return st;
}
