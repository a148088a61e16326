/* modsim trace [--upstream 0.12|0.13] SCENARIO: scenario in, JSON Lines trace
 * out. A bad scenario is one message on stderr and exit status 2, before any
 * trace is written. --upstream wins over the scenario's `upstream:` key. */
#include <stdio.h>
#include <string.h>

#include "../scenario/scenario.h"
#include "../trace/trace.h"
#include "cli.h"

static int usage(void)
{
    fprintf(stderr, "usage: modsim trace SCENARIO.yaml [--upstream 0.12|0.13]\n");
    return 2;
}

int ms_cmd_trace(int argc, char **argv)
{
    const char *path = NULL;
    ms_upstream chosen;
    bool has_upstream = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return 0;
        }
        if (!strcmp(argv[i], "--upstream")) {
            if (i + 1 == argc)
                return usage();
            if (!ms_upstream_parse(argv[++i], &chosen)) {
                fprintf(stderr, "modsim trace: unknown upstream version '%s'\n  hint: valid: %s\n",
                        argv[i], MS_UPSTREAM_VALID);
                return 2;
            }
            has_upstream = true;
        } else if (argv[i][0] == '-' || path) {
            return usage();
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return usage();
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_scenario *sc = NULL;
    ms_lifecycle *lc = NULL;
    ms_status st = ms_scenario_load_as(path, has_upstream ? &chosen : NULL, &sc, &diag);
    if (st == MS_OK)
        st = ms_recipe_build_lifecycle(ms_scenario_recipe(sc), &lc, &diag);
    if (st != MS_OK) {
        if (!diag.message[0])
            ms_diag_set(&diag, st, "E-LOAD", path, 0, 0, "%s", ms_status_str(st));
        ms_diag_print(&diag, stderr);
        ms_scenario_free(sc);
        return 2;
    }
    ms_lifecycle_set_upstream(lc, ms_scenario_upstream(sc));
    ms_trace *trace;
    if (ms_trace_new(stdout, &trace) != MS_OK) {
        fprintf(stderr, "modsim: out of memory\n");
        ms_lifecycle_free(lc);
        ms_scenario_free(sc);
        return 2;
    }
    ms_trace_set_upstream(trace, ms_scenario_upstream(sc));
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
