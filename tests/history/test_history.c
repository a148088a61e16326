/* The SQLite history: schema, recording a run through the record stream,
 * and the refusals (newer schema, not a database), on :memory: and
 * temporary files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "core/call.h"
#include "history/history.h"
#include "scenario/scenario.h"

static const char scenario_text[] = "index: step\n"
                                    "clock: {steps_per_epoch: 2}\n"
                                    "recipe: |\n"
                                    "  train_stage:\n"
                                    "    pruning_modifiers:\n"
                                    "      ConstantPruningModifier:\n"
                                    "        start: 1\n"
                                    "        end: 2\n"
                                    "        targets: [\"re:.*q_proj$\"]\n"
                                    "calls:\n"
                                    "  - initialize\n"
                                    "  - {event: batch_start, global_step: 0}\n"
                                    "  - {event: batch_end, global_step: 0}\n"
                                    "  - {event: batch_start, global_step: 2}\n"
                                    "  - {event: batch_end, global_step: 2}\n"
                                    "  - {event: batch_start, global_step: 4}\n"
                                    "  - {event: batch_start, global_step: 5}\n"
                                    "  - finalize\n";

/* Records the scenario's run into `h`; returns the run id. */
static long long record(ms_history *h, ms_history_status status)
{
    ms_diag_list diags;
    ms_diag_list_init(&diags);
    ms_scenario *sc;
    assert_int_equal(
        ms_scenario_parse(scenario_text, sizeof scenario_text - 1, "t.yaml", &sc, &diags), MS_OK);
    ms_diag_list_free(&diags);
    ms_diag d;
    ms_diag_clear(&d);
    ms_lifecycle *lc;
    assert_int_equal(ms_recipe_build_lifecycle(ms_scenario_recipe(sc), &lc, &d), MS_OK);
    ms_history_settings s = {.profile = "0.12",
                             .recipe_text = "train_stage: {}\n",
                             .recipe_path = "t.yaml",
                             .pipeline = "scenario"};
    ms_history_run *run;
    assert_int_equal(ms_history_run_begin(h, &s, lc, &run, &d), MS_OK);
    long long id = ms_history_run_id(run);
    ms_sink sink = ms_history_run_sink(run);
    ms_runner *runner;
    assert_int_equal(ms_runner_new(lc, &sink, &runner), MS_OK);
    for (size_t i = 0; i < ms_scenario_call_count(sc); i++) {
        ms_raise raised;
        ms_runner_call(runner, ms_scenario_call_at(sc, i), i, &raised);
    }
    ms_runner_free(runner);
    assert_int_equal(ms_history_run_end(run, status, &d), MS_OK);
    ms_lifecycle_free(lc);
    ms_scenario_free(sc);
    return id;
}

static long long query_int(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    long long v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

static void memory_history_records_a_run(void **state)
{
    (void)state;
    ms_history *h;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_history_open(":memory:", true, &h, &d), MS_OK);
    assert_true(record(h, MS_HISTORY_COMPLETED) > 0);
    ms_history_close(h);
}

static void file_history_keeps_calls_transitions_and_one_recipe(void **state)
{
    (void)state;
    char path[] = "/tmp/modsim-history-XXXXXX";
    assert_non_null(mkdtemp(path));
    char db[600];
    snprintf(db, sizeof db, "%s/sub/history.db", path);
    ms_history *h;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_history_open(db, true, &h, &d), MS_OK);
    long long a = record(h, MS_HISTORY_COMPLETED);
    long long b = record(h, MS_HISTORY_FAILED);
    ms_history_close(h);
    assert_int_equal(b, a + 1);
    assert_int_equal(query_int(db, "PRAGMA user_version"), MS_HISTORY_SCHEMA);
    assert_int_equal(query_int(db, "SELECT count(*) FROM recipe"), 1); /* once per hash */
    assert_int_equal(query_int(db, "SELECT calls FROM run WHERE id = 1"), 8);
    assert_int_equal(query_int(db, "SELECT sum(calls) FROM chunk WHERE run = 1"), 8);
    assert_int_equal(query_int(db, "SELECT status = 'failed' FROM run WHERE id = 2"), 1);
    /* started at global_step 2 (epoch 1), call 3; never ended: at epoch 2 the
     * next batch_start raises before any modifier sees it */
    assert_int_equal(query_int(db, "SELECT call FROM transitions WHERE run = 1 AND what = "
                                   "'started'"),
                     3);
    assert_int_equal(query_int(db, "SELECT count(*) FROM transitions WHERE run = 1 AND what = "
                                   "'ended'"),
                     0);
    /* batch_start twice in a row raises, with upstream's message */
    assert_int_equal(query_int(db, "SELECT call FROM errors WHERE run = 1"), 6);
    assert_int_equal(query_int(db, "SELECT count(*) FROM errors WHERE run = 1 AND kind = "
                                   "'ValueError' AND message LIKE '%must appear following%'"),
                     1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM never_started"), 0);
    /* opening again migrates nothing and keeps the runs, hooks included */
    assert_int_equal(ms_history_open(db, false, &h, &d), MS_OK);
    char *jl = NULL;
    size_t jl_len = 0;
    FILE *mem = open_memstream(&jl, &jl_len);
    assert_int_equal(ms_history_export_jsonl(h, 1, mem, &d), MS_OK);
    fclose(mem);
    const char *on_start = strstr(jl, "\"hook\": \"on_start\"");
    assert_non_null(on_start);
    assert_null(strstr(on_start + 1, "\"hook\": \"on_start\""));
    free(jl);
    ms_history_close(h);
    assert_int_equal(query_int(db, "SELECT count(*) FROM run"), 2);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", path);
    assert_int_equal(system(cmd), 0);
}

static void newer_schema_and_garbage_are_refused_untouched(void **state)
{
    (void)state;
    char path[] = "/tmp/modsim-history-XXXXXX";
    assert_non_null(mkdtemp(path));
    char db[600];
    snprintf(db, sizeof db, "%s/newer.db", path);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    ms_history *h;
    ms_diag d;
    ms_diag_clear(&d);
    assert_int_equal(ms_history_open(db, true, &h, &d), MS_ERR_INVALID);
    assert_null(h);
    assert_string_equal(d.code, "E-HISTORY-NEWER");
    assert_non_null(strstr(d.message, "newer.db"));
    assert_non_null(strstr(d.message, "schema 99"));
    assert_int_equal(query_int(db, "PRAGMA user_version"), 99);

    snprintf(db, sizeof db, "%s/garbage.db", path);
    FILE *f = fopen(db, "wb");
    assert_non_null(f);
    for (int i = 0; i < 4096; i++)
        fputc("not a database"[i % 14], f);
    fclose(f);
    ms_diag_clear(&d);
    assert_int_equal(ms_history_open(db, true, &h, &d), MS_ERR_IO);
    assert_non_null(strstr(d.message, "is not a usable history"));
    assert_non_null(strstr(d.hint, "--history PATH"));

    snprintf(db, sizeof db, "%s/none.db", path);
    ms_diag_clear(&d);
    assert_int_equal(ms_history_open(db, false, &h, &d), MS_ERR_IO);
    assert_non_null(strstr(d.message, "no history at"));
    assert_int_equal(access(db, F_OK), -1); /* reading never creates it */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", path);
    assert_int_equal(system(cmd), 0);
}

static void default_path_follows_the_environment(void **state)
{
    (void)state;
    char buf[512];
    unsetenv("MODSIM_HISTORY");
    setenv("XDG_STATE_HOME", "/x/state", 1);
    assert_true(ms_history_default_path(buf, sizeof buf));
    assert_string_equal(buf, "/x/state/modsim/history.db");
    unsetenv("XDG_STATE_HOME");
    setenv("HOME", "/home/u", 1);
    assert_true(ms_history_default_path(buf, sizeof buf));
    assert_string_equal(buf, "/home/u/.local/state/modsim/history.db");
    setenv("MODSIM_HISTORY", "/elsewhere.db", 1);
    assert_true(ms_history_default_path(buf, sizeof buf));
    assert_string_equal(buf, "/elsewhere.db");
    unsetenv("MODSIM_HISTORY");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(memory_history_records_a_run),
        cmocka_unit_test(file_history_keeps_calls_transitions_and_one_recipe),
        cmocka_unit_test(newer_schema_and_garbage_are_refused_untouched),
        cmocka_unit_test(default_path_follows_the_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
