/* modsim trace SCENARIO: scenario in, JSON Lines trace out. A bad scenario
 * (or a recipe modsim validate finds errors in) is its diagnostics on stderr
 * and exit status 2, before any trace is written; the recipe's warnings go
 * to stderr and the trace proceeds. */
#include <stdio.h>
#include <string.h>

#include "../scenario/scenario.h"
#include "../trace/trace.h"
#include "cli.h"

int ms_cmd_trace(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: modsim trace SCENARIO.yaml\n");
        return argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? 0 : 2;
    }
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_diag_list diags;
    ms_diag_list_init(&diags);
    ms_scenario *sc = NULL;
    ms_lifecycle *lc = NULL;
    ms_status st = ms_scenario_load(argv[1], &sc, &diags);
    if (st == MS_OK)
        st = ms_recipe_build_lifecycle(ms_scenario_recipe(sc), &lc, &diag);
    if (st != MS_OK && diag.message[0])
        ms_diag_list_add(&diags, &diag);
    if (st != MS_OK && !diags.count) {
        ms_diag_set(&diag, st, "E-LOAD", argv[1], 0, 0, "%s", ms_status_str(st));
        ms_diag_list_add(&diags, &diag);
    }
    /* the recipe's warnings, and on failure every error, before any trace */
    for (size_t i = 0; i < diags.count; i++)
        ms_diag_print(&diags.items[i], stderr);
    if (ms_diag_list_dropped(&diags))
        fprintf(stderr, "... and %zu more diagnostics, not shown\n", ms_diag_list_dropped(&diags));
    ms_diag_list_free(&diags);
    if (st != MS_OK) {
        ms_scenario_free(sc);
        return 2;
    }
    ms_trace *trace;
    if (ms_trace_new(stdout, &trace) != MS_OK) {
        fprintf(stderr, "modsim: out of memory\n");
        ms_lifecycle_free(lc);
        ms_scenario_free(sc);
        return 2;
    }
    ms_runner *runner;
    if (ms_runner_new(lc, ms_trace_sink(trace), &runner) != MS_OK) {
        fprintf(stderr, "modsim: out of memory\n");
        ms_trace_free(trace);
        ms_lifecycle_free(lc);
        ms_scenario_free(sc);
        return 2;
    }
    for (size_t i = 0; i < ms_scenario_call_count(sc); i++) {
        ms_raise raised;
        ms_runner_call(runner, ms_scenario_call_at(sc, i), i, &raised);
    }
    ms_runner_free(runner);
    st = ms_trace_free(trace);
    ms_lifecycle_free(lc);
    ms_scenario_free(sc);
    if (st != MS_OK) {
        fprintf(stderr, "modsim: writing the trace failed\n");
        return 1;
    }
    return 0;
}
