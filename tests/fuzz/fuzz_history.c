/* libFuzzer: a history file as `modsim trace --history FILE` and `modsim
 * history` find it: opened as an existing history (its schema version read,
 * the schema migrated forward), and when that succeeds, read as `history
 * list/show/diff/export` read it, then a run recorded into it. A damaged or
 * foreign file must be refused or worked around, never crash. */
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "fuzz.h"
#include "core/lifecycle.h"
#include "history/history.h"

static void remove_history(const char *path)
{
    char side[96];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* SQLite reads a file, not memory: one per process, so parallel jobs do not meet */
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/modsim-fuzz-history-%ld.db", (long)getpid());
    remove_history(path);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    bool written = fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0 || !written) {
        remove_history(path);
        return 0;
    }
    ms_history *h;
    ms_diag diag;
    ms_lifecycle *lc;
    if (ms_history_open(path, false, &h, &diag) == MS_OK) {
        FILE *sink = fopen("/dev/null", "w");
        if (sink) {
            ms_history_filter all = {0};
            bool differs;
            ms_history_list(h, &all, false, sink, &diag);
            ms_history_list(h, &all, true, sink, &diag);
            for (long long id = 1; id <= 2; id++) {
                ms_history_show(h, id, sink, &diag);
                ms_history_export_jsonl(h, id, sink, &diag);
                ms_history_export_scenario(h, id, sink, &diag);
            }
            ms_history_diff(h, 1, 2, sink, &differs, &diag);
            fclose(sink);
        }
        if (ms_lifecycle_new(NULL, 0, &lc) == MS_OK) {
            ms_history_settings s = {.profile = "0.12",
                                     .recipe_text = "train_stage: {}\n",
                                     .recipe_path = "fuzz.yaml",
                                     .pipeline = "scenario"};
            ms_history_run *run;
            if (ms_history_run_begin(h, &s, lc, &run, &diag) == MS_OK)
                ms_history_run_end(run, MS_HISTORY_COMPLETED, &diag);
            ms_lifecycle_free(lc);
        }
        ms_history_close(h);
    }
    remove_history(path);
    return 0;
}
